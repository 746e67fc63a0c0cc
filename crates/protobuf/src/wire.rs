//! The protobuf wire format at its lowest level: varints, tags and
//! length-delimited payloads, read from a borrowed byte slice. It knows
//! nothing about Kubernetes types. It must never panic, never read past the
//! slice and never allocate in proportion to a length the input claims;
//! every defect becomes [`ProtobufError::Malformed`].

use crate::error::ProtobufError;

/// One field occurrence as it appears on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1 (eight little-endian bytes).
    Fixed64(u64),
    /// Wire type 2: strings, bytes, embedded messages, packed repeated fields.
    Len(&'a [u8]),
    /// Wire type 5 (four little-endian bytes).
    Fixed32(u32),
}

impl Wire<'_> {
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Wire::Varint(_) => "varint",
            Wire::Fixed64(_) => "fixed64",
            Wire::Len(_) => "length-delimited",
            Wire::Fixed32(_) => "fixed32",
        }
    }
}

/// Iterates over the fields of one encoded message.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// The next `(field number, value)`, or `None` at the end of the message.
    pub(crate) fn next_field(&mut self) -> Result<Option<(u32, Wire<'a>)>, ProtobufError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 || number > u64::from(u32::MAX >> 3) {
            return Err(ProtobufError::malformed(format!(
                "invalid field number {number}"
            )));
        }
        let number = number as u32;
        let value = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => Wire::Fixed64(u64::from_le_bytes(self.array::<8>()?)),
            2 => {
                let len = self.varint()?;
                let len = usize::try_from(len)
                    .ok()
                    .filter(|len| *len <= self.buf.len() - self.pos)
                    .ok_or_else(|| {
                        ProtobufError::malformed(format!(
                            "field {number}: length {len} runs past the end of the message"
                        ))
                    })?;
                let payload = &self.buf[self.pos..self.pos + len];
                self.pos += len;
                Wire::Len(payload)
            }
            5 => Wire::Fixed32(u32::from_le_bytes(self.array::<4>()?)),
            other => {
                // 3 and 4 are proto2 groups, which no Kubernetes type uses.
                return Err(ProtobufError::malformed(format!(
                    "field {number}: unsupported wire type {other}"
                )));
            }
        };
        Ok(Some((number, value)))
    }

    /// Reads one varint (at most ten bytes).
    pub(crate) fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err(ProtobufError::malformed("truncated varint"));
            };
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(ProtobufError::malformed("varint longer than ten bytes"))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ProtobufError> {
        let bytes = self
            .buf
            .get(self.pos..self.pos + N)
            .and_then(|b| <[u8; N]>::try_from(b).ok())
            .ok_or_else(|| ProtobufError::malformed("truncated fixed-width field"))?;
        self.pos += N;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(buf: &[u8]) -> Result<Vec<(u32, Wire<'_>)>, ProtobufError> {
        let mut r = Reader::new(buf);
        let mut out = Vec::new();
        while let Some(f) = r.next_field()? {
            out.push(f);
        }
        Ok(out)
    }

    #[test]
    fn reads_each_wire_type() {
        let buf = [
            0x08, 0x96, 0x01, // 1: varint 150
            0x12, 0x02, b'h', b'i', // 2: "hi"
            0x19, 1, 0, 0, 0, 0, 0, 0, 0, // 3: fixed64 1
            0x25, 2, 0, 0, 0, // 4: fixed32 2
        ];
        assert_eq!(
            fields(&buf).unwrap(),
            vec![
                (1, Wire::Varint(150)),
                (2, Wire::Len(b"hi")),
                (3, Wire::Fixed64(1)),
                (4, Wire::Fixed32(2)),
            ]
        );
    }

    #[test]
    fn negative_int32_is_a_ten_byte_varint() {
        let buf = [
            0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ];
        assert_eq!(fields(&buf).unwrap(), vec![(1, Wire::Varint(u64::MAX))]);
    }

    #[test]
    fn rejects_defects() {
        for bad in [
            &[0x08][..],                           // varint missing
            &[0x08, 0x80],                         // truncated varint
            &[0x12, 0x05, b'a'],                   // length past the end
            &[0x12, 0xff, 0xff, 0xff, 0xff, 0x0f], // huge length
            &[0x00, 0x01],                         // field number 0
            &[0x0b],                               // group start
            &[0x19, 0, 0],                         // truncated fixed64
            &[
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
        ] {
            assert!(
                matches!(fields(bad), Err(ProtobufError::Malformed(_))),
                "{bad:?}"
            );
        }
    }
}

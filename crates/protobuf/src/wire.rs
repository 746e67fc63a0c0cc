//! The protobuf wire format at its lowest level: varints, tags and
//! length-delimited payloads, read from a borrowed byte slice ([`Reader`])
//! or appended to a buffer ([`Writer`]). It knows nothing about Kubernetes
//! types. The reader must never panic, never read past the slice and never
//! allocate in proportion to a length the input claims; every defect becomes
//! [`ProtobufError::Malformed`]. The writer writes exactly the fields it is
//! given: leaving out proto3 zero values is the caller's decision.

use crate::error::ProtobufError;

/// One field occurrence as it appears on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire<'a> {
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
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader of the message encoded in `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// The next `(field number, value)`, or `None` at the end of the message.
    pub fn next_field(&mut self) -> Result<Option<(u32, Wire<'a>)>, ProtobufError> {
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

/// Appends fields to one encoded message, in the order they are written.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty message.
    pub fn new() -> Self {
        Self::default()
    }

    /// The encoded message.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// A field of wire type 0 (`int64`, `uint64`, `bool`, enums; a negative
    /// `int32`/`int64` is its two's complement as `u64`, ten bytes).
    pub fn varint(&mut self, number: u32, value: u64) {
        self.key(number, 0);
        self.raw_varint(value);
    }

    /// A `bool` field.
    pub fn bool(&mut self, number: u32, value: bool) {
        self.varint(number, u64::from(value));
    }

    /// An `int64` field.
    pub fn int64(&mut self, number: u32, value: i64) {
        self.varint(number, value as u64);
    }

    /// A `double` field (wire type 1, little-endian).
    pub fn double(&mut self, number: u32, value: f64) {
        self.key(number, 1);
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    /// A length-delimited field: `bytes`, or an already encoded message.
    pub fn bytes(&mut self, number: u32, value: &[u8]) {
        self.key(number, 2);
        self.raw_varint(value.len() as u64);
        self.buf.extend_from_slice(value);
    }

    /// A `string` field.
    pub fn string(&mut self, number: u32, value: &str) {
        self.bytes(number, value.as_bytes());
    }

    /// An embedded message field whose fields `fill` writes; written even
    /// when `fill` writes nothing (an empty message is not an absent one).
    pub fn message(&mut self, number: u32, fill: impl FnOnce(&mut Writer)) {
        let mut inner = Writer::new();
        fill(&mut inner);
        self.bytes(number, &inner.buf);
    }

    fn key(&mut self, number: u32, wire_type: u8) {
        self.raw_varint((u64::from(number) << 3) | u64::from(wire_type));
    }

    fn raw_varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.buf.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.buf.push(value as u8);
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

    #[test]
    fn writes_what_the_reader_reads() {
        let mut w = Writer::new();
        w.varint(1, 150);
        w.string(2, "hi");
        w.double(3, 1.5);
        w.int64(4, -1);
        w.bool(5, false);
        w.message(6, |m| m.string(1, "x"));
        w.message(7, |_| {});
        let bytes = w.into_bytes();
        assert_eq!(&bytes[..7], &[0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i']);
        assert_eq!(
            fields(&bytes).unwrap(),
            vec![
                (1, Wire::Varint(150)),
                (2, Wire::Len(b"hi")),
                (3, Wire::Fixed64(1.5f64.to_bits())),
                (4, Wire::Varint(u64::MAX)),
                (5, Wire::Varint(0)),
                (6, Wire::Len(&[0x0a, 0x01, b'x'])),
                (7, Wire::Len(&[])),
            ]
        );
    }
}

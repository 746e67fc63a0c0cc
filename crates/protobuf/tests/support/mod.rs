//! A tiny protobuf encoder for building request bodies in tests, so that
//! the tests need no protobuf library. It writes what Go's generated
//! marshalling writes: tags, varints, length-delimited payloads.

#![allow(dead_code)]

/// One message under construction; fields are appended in call order.
#[derive(Debug, Default, Clone)]
pub struct Msg(pub Vec<u8>);

impl Msg {
    pub fn new() -> Self {
        Self::default()
    }

    fn key(mut self, field: u32, wire: u8) -> Self {
        put_varint(&mut self.0, (u64::from(field) << 3) | u64::from(wire));
        self
    }

    pub fn varint(self, field: u32, value: u64) -> Self {
        let mut m = self.key(field, 0);
        put_varint(&mut m.0, value);
        m
    }

    /// int32/int64 the way Go sends them: negatives sign-extended to 64 bits.
    pub fn int(self, field: u32, value: i64) -> Self {
        self.varint(field, value as u64)
    }

    pub fn bool(self, field: u32, value: bool) -> Self {
        self.varint(field, u64::from(value))
    }

    pub fn bytes(self, field: u32, value: &[u8]) -> Self {
        let mut m = self.key(field, 2);
        put_varint(&mut m.0, value.len() as u64);
        m.0.extend_from_slice(value);
        m
    }

    pub fn str(self, field: u32, value: &str) -> Self {
        self.bytes(field, value.as_bytes())
    }

    pub fn msg(self, field: u32, value: Msg) -> Self {
        self.bytes(field, &value.0)
    }

    /// One entry of a `map<string, string>` field.
    pub fn entry(self, field: u32, key: &str, value: &str) -> Self {
        self.msg(field, Msg::new().str(1, key).str(2, value))
    }

    /// One entry of a map whose values are messages or bytes.
    pub fn entry_msg(self, field: u32, key: &str, value: Msg) -> Self {
        self.msg(field, Msg::new().str(1, key).msg(2, value))
    }

    /// Several strings of a repeated field.
    pub fn strs(mut self, field: u32, values: &[&str]) -> Self {
        for v in values {
            self = self.str(field, v);
        }
        self
    }

    /// Raw bytes appended as they are (for malformed input).
    pub fn raw(mut self, bytes: &[u8]) -> Self {
        self.0.extend_from_slice(bytes);
        self
    }
}

pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A complete body: `k8s\0` + runtime.Unknown{typeMeta, raw, "", ""} as
/// client-go writes it.
pub fn envelope(api_version: &str, kind: &str, object: Msg) -> Vec<u8> {
    let unknown = Msg::new()
        .msg(1, Msg::new().str(1, api_version).str(2, kind))
        .msg(2, object)
        .str(3, "")
        .str(4, "");
    let mut body = b"k8s\x00".to_vec();
    body.extend_from_slice(&unknown.0);
    body
}

/// ObjectMeta with a name and, optionally, a namespace.
pub fn meta(name: &str, namespace: &str) -> Msg {
    let m = Msg::new().str(1, name);
    if namespace.is_empty() {
        m
    } else {
        m.str(3, namespace)
    }
}

/// A Quantity message.
pub fn quantity(text: &str) -> Msg {
    Msg::new().str(1, text)
}

/// IntOrString holding a number.
pub fn int_or_string_int(value: i32) -> Msg {
    Msg::new().int(1, 0).int(2, i64::from(value)).str(3, "")
}

/// IntOrString holding a string.
pub fn int_or_string_str(value: &str) -> Msg {
    Msg::new().int(1, 1).int(2, 0).str(3, value)
}

//! Schema-driven decoding of one message into Kubernetes JSON. For each field
//! of the table it does what upstream does in two steps, protobuf -> Go
//! struct -> encoding/json, in one: a field that was sent takes its value
//! from the wire, a Go value field that was not sent takes its zero value,
//! and the field's rule decides whether the JSON shows it (see
//! [`Rule`]). Fields the table does not know are skipped, as protobuf
//! requires. It must never panic or recurse without bound on any input.
//!
//! [`decode`] is the entry point: it reads the envelope ([`crate::envelope`]),
//! looks the kind up in the table and decodes the object's message; a
//! RawExtension holding another protobuf object comes back here through
//! [`decode_at`] one level deeper.

use serde_json::{Map, Value};

use crate::envelope::{CONTENT_TYPE, MAGIC, Unknown};
use crate::error::ProtobufError;
use crate::schema::{self, Body, Field, MessageId, Rule, Scalar, Schema, Type};
use crate::special::{self, wrong_wire};
use crate::wire::{Reader, Wire};

/// Decodes a Kubernetes protobuf body (`k8s\0` + `runtime.Unknown`) into the
/// object's Kubernetes JSON, with `apiVersion` and `kind` set.
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    decode_at(body, 0)
}

/// [`decode`] for a body nested `depth` levels deep (a RawExtension may
/// embed another protobuf object).
pub(crate) fn decode_at(body: &[u8], depth: usize) -> Result<Value, ProtobufError> {
    let envelope = body.strip_prefix(MAGIC).ok_or(ProtobufError::NotProtobuf)?;
    let unknown = Unknown::read(envelope)?;
    if !unknown.content_encoding.is_empty() {
        return Err(ProtobufError::malformed(format!(
            "unsupported contentEncoding {:?}",
            unknown.content_encoding
        )));
    }
    if !unknown.content_type.is_empty() && unknown.content_type != CONTENT_TYPE {
        return Err(ProtobufError::malformed(format!(
            "the envelope's contentType is {:?}, not {CONTENT_TYPE}",
            unknown.content_type
        )));
    }
    if unknown.kind.is_empty() {
        return Err(ProtobufError::malformed("the envelope has no kind"));
    }
    let schema = schema::schema()?;
    let Some(id) = schema.kind(&unknown.api_version, &unknown.kind) else {
        return Err(ProtobufError::UnknownKind {
            api_version: unknown.api_version,
            kind: unknown.kind,
        });
    };
    let mut object = Decoder::new(schema).object(id, unknown.raw, depth)?;
    object.insert("apiVersion".to_owned(), Value::String(unknown.api_version));
    object.insert("kind".to_owned(), Value::String(unknown.kind));
    Ok(Value::Object(object))
}

/// Far deeper than any built-in type nests; bounds the recursion.
pub(crate) const MAX_DEPTH: usize = 100;

#[derive(Debug)]
pub(crate) struct Decoder<'s> {
    schema: &'s Schema,
}

impl<'s> Decoder<'s> {
    pub(crate) fn new(schema: &'s Schema) -> Self {
        Self { schema }
    }

    /// The JSON object for an ordinary message (a kind's top-level message).
    pub(crate) fn object(
        &self,
        id: MessageId,
        payload: &[u8],
        depth: usize,
    ) -> Result<Map<String, Value>, ProtobufError> {
        match self.message(id, &[payload], depth)? {
            Some(Value::Object(object)) => Ok(object),
            _ => Err(ProtobufError::malformed(
                "a kind's message is not an object",
            )),
        }
    }

    /// JSON for message `id` encoded as the concatenation of `chunks`
    /// (protobuf merges a singular message field sent more than once).
    /// `None` is Go's `null`, which callers leave out.
    fn message(
        &self,
        id: MessageId,
        chunks: &[&[u8]],
        depth: usize,
    ) -> Result<Option<Value>, ProtobufError> {
        if depth > MAX_DEPTH {
            return Err(ProtobufError::malformed("objects nested too deeply"));
        }
        let message = self
            .schema
            .messages
            .get(id)
            .ok_or_else(|| ProtobufError::InvalidSchema(format!("no message {id}")))?;
        match &message.body {
            Body::Special(s) => special::decode(*s, chunks, depth, decode_at),
            Body::Fields(fields) => self.fields(fields, chunks, depth).map(|o| Some(o.into())),
        }
    }

    fn fields(
        &self,
        fields: &[Field],
        chunks: &[&[u8]],
        depth: usize,
    ) -> Result<Map<String, Value>, ProtobufError> {
        let mut sent: Vec<Vec<Wire<'_>>> = vec![Vec::new(); fields.len()];
        for chunk in chunks {
            let mut reader = Reader::new(chunk);
            while let Some((number, wire)) = reader.next_field()? {
                if let Ok(i) = fields.binary_search_by_key(&number, |f| f.number) {
                    sent[i].push(wire);
                }
            }
        }

        let mut out = Map::new();
        let mut inlined = Vec::new();
        for (field, wires) in fields.iter().zip(&sent) {
            let name = field.json.as_deref().unwrap_or("(inline)");
            let value = match field.rule {
                Rule::Keep => self.value(&field.ty, wires, depth),
                Rule::Omit | Rule::Ptr | Rule::InlinePtr if wires.is_empty() => continue,
                Rule::Omit | Rule::Ptr | Rule::Inline | Rule::InlinePtr => {
                    self.value(&field.ty, wires, depth)
                }
            }
            .map_err(|e| at(name, e))?;
            let Some(value) = value else { continue };
            match (&field.json, field.rule) {
                (None, _) => inlined.push(value),
                (Some(_), Rule::Omit) if is_zero(&value) => {}
                (Some(json), _) => {
                    out.insert(json.clone(), value);
                }
            }
        }
        // Go's encoder lets a field of the struct itself win over a promoted
        // field of the same name.
        for value in inlined {
            if let Value::Object(members) = value {
                for (k, v) in members {
                    out.entry(k).or_insert(v);
                }
            }
        }
        Ok(out)
    }

    /// The value of one field from its occurrences (none: the Go zero value).
    fn value(
        &self,
        ty: &Type,
        wires: &[Wire<'_>],
        depth: usize,
    ) -> Result<Option<Value>, ProtobufError> {
        match ty {
            Type::Scalar(s) => Ok(Some(match wires.last() {
                Some(w) => scalar(*s, *w)?,
                None => zero(*s),
            })),
            Type::Message(id) => self.message(*id, &payloads(wires)?, depth + 1),
            Type::Repeated(elem) => {
                let mut items = Vec::new();
                for wire in wires {
                    self.elements(elem, *wire, depth, &mut items)?;
                }
                Ok(Some(Value::Array(items)))
            }
            Type::List(elem) => {
                let mut items = Vec::new();
                for chunk in payloads(wires)? {
                    let mut reader = Reader::new(chunk);
                    while let Some((number, wire)) = reader.next_field()? {
                        if number == 1 {
                            self.elements(elem, wire, depth, &mut items)?;
                        }
                    }
                }
                Ok(Some(Value::Array(items)))
            }
            Type::Map(value_type) => {
                let mut map = Map::new();
                for entry in payloads(wires)? {
                    let mut reader = Reader::new(entry);
                    let mut key = String::new();
                    let mut values = Vec::new();
                    while let Some((number, wire)) = reader.next_field()? {
                        match (number, wire) {
                            (1, Wire::Len(k)) => key = String::from_utf8_lossy(k).into_owned(),
                            (1, other) => return Err(wrong_wire("a string key", other)),
                            (2, wire) => values.push(wire),
                            _ => {}
                        }
                    }
                    let value = self
                        .value(value_type, &values, depth + 1)
                        .map_err(|e| at(&key, e))?;
                    map.insert(key, value.unwrap_or(Value::Null));
                }
                Ok(Some(Value::Object(map)))
            }
        }
    }

    /// Appends the element(s) of one occurrence of a repeated field: one
    /// element, or several for a packed run of varints.
    fn elements(
        &self,
        elem: &Type,
        wire: Wire<'_>,
        depth: usize,
        items: &mut Vec<Value>,
    ) -> Result<(), ProtobufError> {
        match (elem, wire) {
            (
                Type::Scalar(s @ (Scalar::Bool | Scalar::Int32 | Scalar::Int64)),
                Wire::Len(packed),
            ) => {
                let mut reader = Reader::new(packed);
                while !reader.is_empty() {
                    items.push(scalar(*s, Wire::Varint(reader.varint()?))?);
                }
            }
            (Type::Scalar(s), wire) => items.push(scalar(*s, wire)?),
            (Type::Message(id), Wire::Len(payload)) => {
                items.push(
                    self.message(*id, &[payload], depth + 1)?
                        .unwrap_or(Value::Null),
                );
            }
            (Type::Message(_), other) => return Err(wrong_wire("a message", other)),
            (Type::Repeated(_) | Type::List(_) | Type::Map(_), _) => {
                return Err(ProtobufError::InvalidSchema(
                    "a repeated field of collections".to_owned(),
                ));
            }
        }
        Ok(())
    }
}

fn scalar(s: Scalar, wire: Wire<'_>) -> Result<Value, ProtobufError> {
    Ok(match (s, wire) {
        (Scalar::Bool, Wire::Varint(v)) => Value::Bool(v != 0),
        // Go keeps the low 32 bits, so a sign-extended negative int32 (the
        // standard ten-byte encoding) comes back negative.
        (Scalar::Int32, Wire::Varint(v)) => Value::from(v as i32),
        (Scalar::Int64, Wire::Varint(v)) => Value::from(v as i64),
        (Scalar::String, Wire::Len(b)) => Value::String(String::from_utf8_lossy(b).into_owned()),
        (Scalar::Bytes, Wire::Len(b)) => Value::String(special::base64(b)),
        (Scalar::Bool | Scalar::Int32 | Scalar::Int64, other) => {
            return Err(wrong_wire("varint", other));
        }
        (Scalar::String | Scalar::Bytes, other) => {
            return Err(wrong_wire("length-delimited", other));
        }
    })
}

fn zero(s: Scalar) -> Value {
    match s {
        Scalar::Bool => Value::Bool(false),
        Scalar::Int32 | Scalar::Int64 => Value::from(0),
        Scalar::String | Scalar::Bytes => Value::String(String::new()),
    }
}

/// What `omitempty` leaves out: false, 0, "", and empty arrays and maps
/// (structs are never `omitempty` in the table).
fn is_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

fn payloads<'a>(wires: &[Wire<'a>]) -> Result<Vec<&'a [u8]>, ProtobufError> {
    wires
        .iter()
        .map(|w| match w {
            Wire::Len(b) => Ok(*b),
            other => Err(wrong_wire("a message", *other)),
        })
        .collect()
}

/// Prefixes a malformed-input reason with the JSON path it was found at.
fn at(name: &str, err: ProtobufError) -> ProtobufError {
    match err {
        ProtobufError::Malformed(reason) => {
            ProtobufError::Malformed(match reason.strip_prefix("at ") {
                Some(rest) => format!("at {name}.{rest}"),
                None => format!("at {name}: {reason}"),
            })
        }
        other => other,
    }
}

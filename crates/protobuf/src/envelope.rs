//! The envelope every Kubernetes protobuf body comes in: the 4-byte magic
//! `k8s\0` and a `runtime.Unknown` message (typeMeta {apiVersion, kind},
//! raw, contentEncoding, contentType) whose `raw` is the object's own
//! message. This module only reads the envelope; it knows nothing about the
//! object inside.

use crate::error::ProtobufError;
use crate::wire::{Reader, Wire};

/// The Content-Type of Kubernetes protobuf bodies.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The four bytes every Kubernetes protobuf body starts with.
pub const MAGIC: &[u8; 4] = b"k8s\x00";

/// `runtime.Unknown`: {1: typeMeta {1: apiVersion, 2: kind}, 2: raw,
/// 3: contentEncoding, 4: contentType}.
#[derive(Debug, Default)]
pub(crate) struct Unknown<'a> {
    pub(crate) api_version: String,
    pub(crate) kind: String,
    pub(crate) raw: &'a [u8],
    pub(crate) content_encoding: String,
    pub(crate) content_type: String,
}

impl<'a> Unknown<'a> {
    pub(crate) fn read(buf: &'a [u8]) -> Result<Self, ProtobufError> {
        let mut unknown = Unknown::default();
        let mut reader = Reader::new(buf);
        while let Some((number, wire)) = reader.next_field()? {
            let Wire::Len(payload) = wire else {
                if (1..=4).contains(&number) {
                    return Err(ProtobufError::malformed(format!(
                        "envelope field {number} is not length-delimited"
                    )));
                }
                continue;
            };
            match number {
                1 => {
                    let mut type_meta = Reader::new(payload);
                    while let Some((n, w)) = type_meta.next_field()? {
                        match (n, w) {
                            (1, Wire::Len(v)) => unknown.api_version = text(v)?,
                            (2, Wire::Len(k)) => unknown.kind = text(k)?,
                            (1 | 2, _) => {
                                return Err(ProtobufError::malformed(
                                    "the envelope's typeMeta is not two strings",
                                ));
                            }
                            _ => {}
                        }
                    }
                }
                2 => unknown.raw = payload,
                3 => unknown.content_encoding = text(payload)?,
                4 => unknown.content_type = text(payload)?,
                _ => {}
            }
        }
        Ok(unknown)
    }
}

/// Envelope strings name things; unlike object fields they must be UTF-8.
fn text(bytes: &[u8]) -> Result<String, ProtobufError> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| ProtobufError::malformed("envelope string is not UTF-8"))
}

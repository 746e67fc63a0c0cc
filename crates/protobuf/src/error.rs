//! The one error type of this crate. Each variant maps to exactly one HTTP
//! answer in the server (see [`ProtobufError`]); this module must never carry
//! HTTP types itself, so that the decoder stays free of the server.

use thiserror::Error;

/// Why a protobuf request body could not be turned into a JSON object.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtobufError {
    /// The body does not start with the 4-byte `k8s\0` magic of Kubernetes'
    /// protobuf envelope, so it is not a Kubernetes protobuf object at all.
    /// The server answers 400 BadRequest ("the body of the request was in an
    /// unknown format").
    #[error(
        "the body is not a Kubernetes protobuf object: it does not start with the k8s\\0 magic"
    )]
    NotProtobuf,

    /// The envelope is well formed but names a kind this decoder has no
    /// schema for (a custom resource, an aggregated API, or a built-in of a
    /// group/version skewless does not serve). The server answers
    /// 415 UnsupportedMediaType naming the kind; the client may retry as JSON.
    #[error("protobuf is not supported for {api_version}, Kind={kind}")]
    UnknownKind {
        /// `apiVersion` from the envelope's type meta, e.g. `apps/v1`.
        api_version: String,
        /// `kind` from the envelope's type meta, e.g. `Deployment`.
        kind: String,
    },

    /// The bytes are not a valid encoding of the named kind: truncated or
    /// invalid wire data, a field sent with the wrong wire type, an
    /// impossible value (such as an IntOrString of unknown type), or nesting
    /// deeper than any built-in type needs. The server answers 400 BadRequest.
    #[error("malformed protobuf body: {0}")]
    Malformed(String),

    /// The field table compiled into this crate (`data/schema.txt`) could
    /// not be read. That is a build defect guarded by a unit test, never a
    /// property of the request; the server answers 500.
    #[error("the protobuf schema table is invalid: {0}")]
    InvalidSchema(String),
}

impl ProtobufError {
    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        Self::Malformed(reason.into())
    }
}

//! Protobuf request bodies (kubectl's imperative commands send them),
//! decoded by `skewless-protobuf` into the JSON a JSON client would have
//! sent. Responses are always JSON.

use serde_json::Value;
use skewless_apimachinery::status::ApiError;
use skewless_protobuf::ProtobufError;

pub(crate) fn decode(body: &[u8]) -> Result<Value, ApiError> {
    skewless_protobuf::decode(body).map_err(|e| match e {
        ProtobufError::UnknownKind { .. } => ApiError::UnsupportedMediaType {
            accepted: vec!["application/json".into(), "application/yaml".into()],
        },
        ProtobufError::InvalidSchema(m) => ApiError::InternalError(m),
        e @ (ProtobufError::NotProtobuf | ProtobufError::Malformed(_)) => ApiError::BadRequest(
            format!("the protobuf request body could not be decoded: {e}"),
        ),
    })
}

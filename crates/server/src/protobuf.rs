//! Protobuf request bodies (kubectl's imperative commands send them).
//! Decoding is not wired in yet: such bodies get 415 naming what is accepted.

use serde_json::Value;
use skewless_apimachinery::status::ApiError;

pub fn decode(_body: &[u8]) -> Result<Value, ApiError> {
    Err(ApiError::UnsupportedMediaType {
        accepted: vec!["application/json".into(), "application/yaml".into()],
    })
}

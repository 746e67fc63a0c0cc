//! PATCH bodies: which patch types exist and applying them to an object.
//! (Being wired to the patch engines in `skewless_apimachinery::patch`.)

use serde_json::Value;
use skewless_apimachinery::catalog::ResourceInfo;
use skewless_apimachinery::status::ApiError;

pub const ACCEPTED: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Json,
    Merge,
    StrategicMerge,
    Apply,
}

impl PatchKind {
    pub fn from_content_type(ct: &str) -> Option<Self> {
        match ct.split(';').next().unwrap_or("").trim() {
            "application/json-patch+json" => Some(Self::Json),
            "application/merge-patch+json" => Some(Self::Merge),
            "application/strategic-merge-patch+json" => Some(Self::StrategicMerge),
            "application/apply-patch+yaml" => Some(Self::Apply),
            _ => None,
        }
    }
}

pub fn apply(_r: &ResourceInfo, _base: &Value, _kind: PatchKind, _body: &[u8]) -> Result<Value, ApiError> {
    Err(ApiError::UnsupportedMediaType {
        accepted: ACCEPTED.iter().map(|s| (*s).to_owned()).collect(),
    })
}

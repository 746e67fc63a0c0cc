//! GET of one object (and of its `status` subresource).

use crate::http_util::Body;
use http::{Response, StatusCode};
use serde_json::Value;
use skewless_apimachinery::list_options::parse_resource_version;
use skewless_apimachinery::status::ApiError;

use super::codec::decode_for;
use super::request::{Request, respond, subresource_not_found};
use super::scale::scale_of;

pub(crate) async fn get(req: &Request<'_>) -> Result<Response<Body>, ApiError> {
    check_resource_version(req)?;
    let obj = get_object(req, &req.info.name).await?;
    match req.info.subresource.as_str() {
        "" | "status" => Ok(respond(StatusCode::OK, &obj)),
        "scale" => Ok(respond(StatusCode::OK, &scale_of(req, &obj)?)),
        other => Err(subresource_not_found(req, other)),
    }
}

/// The addressed object itself (for Table output).
pub(crate) async fn get_value(req: &Request<'_>) -> Result<Value, ApiError> {
    check_resource_version(req)?;
    get_object(req, &req.info.name).await
}

/// A GET's `resourceVersion` must be a number (400 as upstream); the
/// newest object satisfies any that is not in the future.
fn check_resource_version(req: &Request<'_>) -> Result<(), ApiError> {
    parse_resource_version(req.query.get("resourceVersion").unwrap_or("")).map(drop)
}

pub(super) async fn get_object(req: &Request<'_>, name: &str) -> Result<Value, ApiError> {
    decode_for(req, &req.stored(name).await?).await
}

// ---------------------------------------------------------------------------
// list

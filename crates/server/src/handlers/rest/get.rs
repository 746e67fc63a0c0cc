//! GET of one object (and of its `status` subresource).

use crate::http_util::Body;
use http::{Response, StatusCode};
use serde_json::Value;
use skewless_apimachinery::list_options::parse_resource_version;
use skewless_apimachinery::status::ApiError;
use skewless_store::Revision;

use super::codec::decode_for;
use super::request::{Request, respond, subresource_not_found};
use super::scale::scale_of;

pub(crate) async fn get(req: &Request<'_>) -> Result<Response<Body>, ApiError> {
    let rv = check_resource_version(req)?;
    let obj = read_object(req, rv).await?;
    match req.info.subresource.as_str() {
        "" | "status" => Ok(respond(StatusCode::OK, &obj)),
        "scale" => Ok(respond(StatusCode::OK, &scale_of(req, &obj)?)),
        other => Err(subresource_not_found(req, other)),
    }
}

/// The addressed object itself (for Table output).
pub(crate) async fn get_value(req: &Request<'_>) -> Result<Value, ApiError> {
    let rv = check_resource_version(req)?;
    read_object(req, rv).await
}

/// A GET's `resourceVersion` must be a number (400 as upstream); the
/// newest object satisfies any that is not in the future. `None`: unset
/// (the read must be current).
fn check_resource_version(req: &Request<'_>) -> Result<Option<u64>, ApiError> {
    match req.query.get("resourceVersion").unwrap_or("") {
        "" => Ok(None),
        rv => parse_resource_version(rv).map(Some),
    }
}

/// The addressed object, from the watch cache when it is current enough
/// (unset `resourceVersion`: caught up with storage; `0`: anything it
/// holds; `N`: at least `N`), else from storage.
async fn read_object(req: &Request<'_>, rv: Option<u64>) -> Result<Value, ApiError> {
    let name = &req.info.name;
    if let Some(cache) = req.watch_cache().await {
        let current = match rv {
            None => cache.wait_fresh(req.api.watch_cache.store()).await,
            Some(0) => true,
            Some(n) => {
                cache
                    .wait_for(Revision::try_from(n).unwrap_or(Revision::MAX))
                    .await
            }
        };
        if current {
            let kv = cache
                .get(&req.key(name))
                .ok_or_else(|| req.not_found(name))?;
            return decode_for(req, &kv).await;
        }
    }
    get_object(req, name).await
}

pub(super) async fn get_object(req: &Request<'_>, name: &str) -> Result<Value, ApiError> {
    decode_for(req, &req.stored(name).await?).await
}

// ---------------------------------------------------------------------------
// list

//! GET of one object (and of its `status` subresource).

use std::sync::Arc;

use crate::http_util::{self, Body};
use crate::watch_cache::CachedObject;
use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::Value;
use skewless_apimachinery::list_options::parse_resource_version;
use skewless_apimachinery::status::ApiError;
use skewless_store::Revision;

use super::codec::{decode_at, decode_for};
use super::request::{Request, respond, subresource_not_found};
use super::scale::scale_of;

pub(crate) async fn get(req: &Request<'_>) -> Result<Response<Body>, ApiError> {
    let rv = check_resource_version(req)?;
    let sub = req.info.subresource.as_str();
    // A built-in's object read from the cache is served as the bytes the
    // first such GET encoded (custom resources: their schema's defaults
    // and conversion webhook may change what a client sees).
    if matches!(sub, "" | "status") && req.crd.is_none() {
        if let Some(cached) = cached(req, rv).await? {
            let r = req.resource;
            let json = cached.json(&r.group, &r.version, |kv| {
                decode_at(r, None, kv, kv.mod_revision)
                    .map(|obj| Bytes::from(http_util::json_bytes(&obj)))
            })?;
            return Ok(http_util::json_encoded(StatusCode::OK, json));
        }
        return Ok(respond(
            StatusCode::OK,
            &get_object(req, &req.info.name).await?,
        ));
    }
    let obj = read_object(req, rv).await?;
    match sub {
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

/// The addressed object, from the watch cache when it is current enough,
/// else from storage.
async fn read_object(req: &Request<'_>, rv: Option<u64>) -> Result<Value, ApiError> {
    match cached(req, rv).await? {
        Some(cached) => decode_for(req, &cached.kv).await,
        None => get_object(req, &req.info.name).await,
    }
}

/// The addressed object from the watch cache when it is current enough
/// (unset `resourceVersion`: caught up with storage; `0`: anything it
/// holds; `N`: at least `N`); `None`: read storage instead. 404 when the
/// cache is current and lacks it.
async fn cached(req: &Request<'_>, rv: Option<u64>) -> Result<Option<Arc<CachedObject>>, ApiError> {
    let Some(cache) = req.watch_cache().await else {
        return Ok(None);
    };
    let current = match rv {
        None => cache.wait_fresh(req.api.watch_cache.store()).await,
        Some(0) => true,
        Some(n) => {
            cache
                .wait_for(Revision::try_from(n).unwrap_or(Revision::MAX))
                .await
        }
    };
    if !current {
        return Ok(None);
    }
    let name = &req.info.name;
    cache
        .get(&req.key(name))
        .map(Some)
        .ok_or_else(|| req.not_found(name))
}

pub(super) async fn get_object(req: &Request<'_>, name: &str) -> Result<Value, ApiError> {
    decode_for(req, &req.stored(name).await?).await
}

// ---------------------------------------------------------------------------
// list

//! The request as every REST handler sees it, and the small pieces they
//! all share: `apiVersion` of a resource, storage errors as API errors, a
//! JSON response.

use crate::http_util::{self, Body, Query};
use crate::state::State;
use crate::storage;
use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use serde_json::Value;
use skewless_apimachinery::catalog::ResourceInfo;
use skewless_apimachinery::request_info::{GroupKind, GroupResource, RequestInfo};
use skewless_apimachinery::status::ApiError;
use skewless_store::{KeyValue, StoreError};

/// Everything a handler needs to know about the request.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    pub(crate) api: &'a State,
    pub(crate) user: &'a crate::authn::UserInfo,
    pub(crate) info: &'a RequestInfo,
    pub(crate) resource: &'a ResourceInfo,
    /// Set when the resource is a custom resource.
    pub(crate) crd: Option<&'a crate::registry::ServedCrd>,
    pub(crate) query: &'a Query,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: Bytes,
}

impl<'a> Request<'a> {
    /// The same request, for handlers that adjust one field of it.
    pub(crate) fn clone_shallow(&self) -> Request<'a> {
        Request {
            api: self.api,
            user: self.user,
            info: self.info,
            resource: self.resource,
            crd: self.crd,
            query: self.query,
            headers: self.headers,
            body: self.body.clone(),
        }
    }

    pub(super) fn group_resource(&self) -> GroupResource {
        GroupResource::new(self.resource.group.clone(), self.resource.resource.clone())
    }

    pub(super) fn group_kind(&self) -> GroupKind {
        GroupKind::new(self.resource.group.clone(), self.resource.kind.clone())
    }

    pub(super) fn api_version(&self) -> String {
        api_version(self.resource)
    }

    pub(crate) fn namespace(&self) -> &str {
        if self.resource.namespaced {
            &self.info.namespace
        } else {
            ""
        }
    }

    pub(super) fn key(&self, name: &str) -> String {
        storage::key(self.resource, self.namespace(), name)
    }

    pub(super) fn not_found(&self, name: &str) -> ApiError {
        ApiError::not_found(self.group_resource(), name)
    }

    pub(super) fn has_subresource(&self, name: &str) -> bool {
        self.resource.subresource(name).is_some()
    }
}

pub(super) fn is_crd_resource(r: &ResourceInfo) -> bool {
    r.group == skewless_apimachinery::crd::GROUP && r.resource == "customresourcedefinitions"
}

pub(crate) fn api_version(r: &ResourceInfo) -> String {
    if r.group.is_empty() {
        r.version.clone()
    } else {
        format!("{}/{}", r.group, r.version)
    }
}

/// Maps a storage failure to the API error a client expects.
pub(crate) fn store_error(e: StoreError, gr: &GroupResource, name: &str) -> ApiError {
    match e {
        StoreError::NotFound(_) => ApiError::not_found(gr.clone(), name),
        StoreError::Exists(_) => ApiError::AlreadyExists {
            resource: gr.clone(),
            name: name.to_owned(),
        },
        StoreError::Conflict { .. } => ApiError::conflict_modified(gr.clone(), name),
        StoreError::Compacted {
            requested,
            compacted,
        } => ApiError::too_old_resource_version(requested.max(0) as u64, compacted.max(0) as u64),
        StoreError::FutureRevision { requested, current } => ApiError::Timeout {
            message: format!("Too large resource version: {requested}, current: {current}"),
            retry_after_seconds: Some(1),
        },
        StoreError::Invalid(m) => ApiError::BadRequest(m),
        StoreError::Unavailable(m) => ApiError::ServiceUnavailable {
            message: format!("storage is unavailable: {m}"),
            retry_after_seconds: Some(1),
        },
        // etcd refuses writes over its --max-request-bytes.
        StoreError::Internal(m) if m.contains("request is too large") => {
            ApiError::RequestEntityTooLarge(m)
        }
        StoreError::Internal(m) => ApiError::InternalError(m),
    }
}
pub(super) fn respond(status: StatusCode, obj: &Value) -> Response<Body> {
    http_util::json(status, obj)
}

// ---------------------------------------------------------------------------
// get

pub(super) fn subresource_not_found(req: &Request<'_>, sub: &str) -> ApiError {
    ApiError::NotFound {
        resource: GroupResource::new(
            req.resource.group.clone(),
            format!("{}/{sub}", req.resource.resource),
        ),
        name: req.info.name.clone(),
    }
}

impl Request<'_> {
    /// The stored value of the object `name`: 404 when absent.
    pub(super) async fn stored(&self, name: &str) -> Result<KeyValue, ApiError> {
        self.api
            .store
            .get(&self.key(name))
            .await
            .map_err(|e| store_error(e, &self.group_resource(), name))?
            .ok_or_else(|| self.not_found(name))
    }
}

impl Request<'_> {
    /// The watch cache of this request's resource, when caching is on and
    /// the cache could be built. A custom resource's cache ends when the
    /// resource stops being served.
    pub(crate) async fn watch_cache(
        &self,
    ) -> Option<std::sync::Arc<crate::watch_cache::ResourceCache>> {
        let prefix = storage::prefix(self.resource, "");
        if self.crd.is_none() {
            return self.api.watch_cache.resource(&prefix, || true, None).await;
        }
        let registry = std::sync::Arc::clone(&self.api.registry);
        let r = self.resource.clone();
        let served = move || {
            registry
                .snapshot()
                .resource(&r.group, &r.version, &r.resource)
                .is_some()
        };
        let changed = self.api.registry.subscribe();
        self.api
            .watch_cache
            .resource(&prefix, served, Some(changed))
            .await
    }
}

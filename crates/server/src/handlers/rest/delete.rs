//! DELETE of one object and of a collection: preconditions, propagation
//! options, finalizers holding an object back, and dry runs.

use crate::handlers::admission;
use crate::http_util::Body;
use crate::object;
use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::{Value, json};
use skewless_apimachinery::catalog::returns_deleted_object;
use skewless_apimachinery::request_info::RequestInfo;
use skewless_apimachinery::status::{ApiError, Status};
use skewless_store::{StoreError, WriteOptions};

use super::codec::{decode_for, encode_for_storage};
use super::list::{Selection, list_page};
use super::request::{Request, respond, store_error};

#[derive(Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeleteOptions {
    #[serde(default)]
    preconditions: Option<Preconditions>,
    #[serde(default)]
    propagation_policy: Option<String>,
    #[serde(default)]
    dry_run: Option<Vec<String>>,
}

#[derive(Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Preconditions {
    uid: Option<String>,
    resource_version: Option<String>,
}

impl DeleteOptions {
    /// Whether this delete is a dry run (`?dryRun=All` or `dryRun` in the
    /// body's DeleteOptions).
    fn dry_run(&self, req: &Request<'_>) -> Result<bool, ApiError> {
        Ok(req.query.dry_run()?
            || self
                .dry_run
                .as_ref()
                .is_some_and(|d| d.iter().any(|v| v == "All")))
    }
}

pub(super) fn delete_options(req: &Request<'_>) -> Result<DeleteOptions, ApiError> {
    let opts: DeleteOptions = if req.body.iter().all(u8::is_ascii_whitespace) {
        DeleteOptions::default()
    } else {
        serde_json::from_slice(&req.body)
            .map_err(|e| ApiError::BadRequest(format!("invalid DeleteOptions: {e}")))?
    };
    if let Some(p) = &opts.propagation_policy
        && !matches!(p.as_str(), "Orphan" | "Background" | "Foreground")
    {
        return Err(ApiError::BadRequest(format!(
            "propagationPolicy {p:?} is not one of Orphan, Background, Foreground"
        )));
    }
    Ok(opts)
}

pub(crate) async fn delete(req: &Request<'_>) -> Result<Response<Body>, ApiError> {
    if !req.info.subresource.is_empty() {
        return Err(ApiError::MethodNotSupported {
            resource: req.group_resource(),
            action: "delete".into(),
        });
    }
    let opts = delete_options(req)?;
    let dry_run = opts.dry_run(req)?;
    let name = req.info.name.clone();
    let (status, body) = delete_one(req, &name, opts.preconditions.as_ref(), dry_run).await?;
    Ok(respond(status, &body))
}

/// Deletes one object, or marks it for deletion when finalizers hold it.
pub(super) async fn delete_one(
    req: &Request<'_>,
    name: &str,
    pre: Option<&Preconditions>,
    dry_run: bool,
) -> Result<(StatusCode, Value), ApiError> {
    loop {
        let kv = req.stored(name).await?;
        let current = decode_for(req, &kv).await?;
        admission::identity_lease(req, &[Some(&current)])?;
        if let Some(pre) = pre {
            if let Some(uid) = &pre.uid
                && uid != object::meta_str(&current, "uid")
            {
                return Err(ApiError::Conflict {
                    resource: req.group_resource(),
                    name: name.to_owned(),
                    message: format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                        object::meta_str(&current, "uid")
                    ),
                });
            }
            if let Some(rv) = &pre.resource_version
                && *rv != kv.mod_revision.to_string()
            {
                return Err(ApiError::Conflict {
                    resource: req.group_resource(),
                    name: name.to_owned(),
                    message: format!(
                        "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                        kv.mod_revision
                    ),
                });
            }
        }
        if crate::handlers::special::has_finalizers(req.resource, &current) {
            // Graceful: mark it; whoever owns the finalizers finishes.
            if object::is_deleting(&current) {
                return Ok((StatusCode::OK, current));
            }
            let mut next = current.clone();
            {
                let meta = object::meta_mut(&mut next);
                meta.insert("deletionTimestamp".into(), json!(object::now_rfc3339()));
                meta.insert("deletionGracePeriodSeconds".into(), json!(0));
            }
            crate::handlers::special::prepare_delete(req.resource, &mut next);
            if dry_run {
                return Ok((StatusCode::OK, next));
            }
            match req
                .api
                .store
                .update(
                    &req.key(name),
                    encode_for_storage(req, &next).await?,
                    kv.mod_revision,
                    WriteOptions::default(),
                )
                .await
            {
                Ok(kv) => return Ok((StatusCode::OK, decode_for(req, &kv).await?)),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(store_error(e, &req.group_resource(), name)),
            }
        }
        if !dry_run {
            match req
                .api
                .store
                .delete(&req.key(name), Some(kv.mod_revision))
                .await
            {
                Ok(_) => {
                    if super::write::is_services(req) {
                        crate::service_alloc::release_all(req.api.store.as_ref(), &current).await;
                    }
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(store_error(e, &req.group_resource(), name)),
            }
        }
        // As upstream's registry: the object for resources whose storage
        // returns it (pods, services, ...), a Status for the rest and for
        // every custom resource.
        if req.crd.is_none() && returns_deleted_object(&req.resource.group, &req.resource.resource)
        {
            return Ok((StatusCode::OK, current));
        }
        let gr = req.group_resource();
        let status = Status::deleted(&gr, name, object::meta_str(&current, "uid"));
        return Ok((
            StatusCode::OK,
            serde_json::to_value(status).map_err(|e| ApiError::InternalError(e.to_string()))?,
        ));
    }
}

pub(crate) async fn delete_collection(req: &Request<'_>) -> Result<Response<Body>, ApiError> {
    let opts = delete_options(req)?;
    let dry_run = opts.dry_run(req)?;
    let sel = Selection::from_request(req)?;
    let page = list_page(req, &sel).await?;
    let mut deleted = Vec::new();
    for obj in &page.items {
        let name = object::name(obj).to_owned();
        let inner = Request {
            api: req.api,
            user: req.user,
            crd: req.crd,
            info: &RequestInfo {
                namespace: object::namespace(obj).to_owned(),
                ..req.info.clone()
            },
            resource: req.resource,
            query: req.query,
            headers: req.headers,
            body: Bytes::new(),
        };
        match delete_one(&inner, &name, None, dry_run).await {
            Ok(_) | Err(ApiError::NotFound { .. }) => deleted.push(obj.clone()),
            Err(e) => return Err(e),
        }
    }
    Ok(respond(
        StatusCode::OK,
        &object::list(
            &req.api_version(),
            &req.resource.kind,
            page.revision,
            None,
            None,
            deleted,
        ),
    ))
}

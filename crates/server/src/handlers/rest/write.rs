//! Create, update and patch (every patch type, apply included), and the
//! `status` subresource: optimistic concurrency, generation, finalizers,
//! dry runs and warnings.

use crate::handlers::admission;
use crate::http_util::Body;
use crate::object;
use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::{Value, json};
use skewless_apimachinery::status::ApiError;
use skewless_store::{StoreError, WriteOptions};

use super::codec::{
    admit, apply_patch, check_namespace, check_type_meta, decode_body, decode_for,
    encode_for_storage, validate_meta,
};
use super::managed::{self, Options, Tracking};
use super::request::{Request, is_crd_resource, respond, store_error, subresource_not_found};
use super::scale::{apply_scale, replicas_field, scale_of};
use crate::patching::PatchKind;
use crate::service_alloc;
use skewless_apimachinery::defaults;

pub(crate) async fn create(req: &Request<'_>) -> Result<Response<Body>, ApiError> {
    if !req.info.subresource.is_empty() {
        return Err(ApiError::MethodNotSupported {
            resource: req.group_resource(),
            action: "create".into(),
        });
    }
    let obj = decode_body(req.headers, &req.body).await?;
    if let Some(resp) = crate::handlers::special::create(req, &obj)? {
        return Ok(resp);
    }
    let tracking = Tracking::new(req, Options::Create)?;
    create_object(req, obj, &tracking, false).await
}

/// Creates `obj`; `applied`: its managedFields come from an apply,
/// otherwise the create is recorded as an Update by `tracking`'s manager.
async fn create_object(
    req: &Request<'_>,
    mut obj: Value,
    tracking: &Tracking,
    applied: bool,
) -> Result<Response<Body>, ApiError> {
    check_type_meta(
        req,
        &mut obj,
        &req.resource.kind.clone(),
        &req.api_version(),
    )?;
    object::drop_empty_metadata(&mut obj);
    let ns_in_body = object::namespace(&obj).to_owned();
    if req.resource.namespaced {
        if !ns_in_body.is_empty() && ns_in_body != req.info.namespace {
            return Err(ApiError::BadRequest(
                "the namespace of the provided object does not match the namespace sent on the request"
                    .into(),
            ));
        }
        object::meta_mut(&mut obj).insert("namespace".into(), json!(req.info.namespace));
    } else {
        object::meta_mut(&mut obj).remove("namespace");
    }
    if object::name(&obj).is_empty()
        && let Some(prefix) = obj["metadata"]["generateName"].as_str().map(str::to_owned)
        && !prefix.is_empty()
    {
        let entropy = u64::from_le_bytes(
            uuid::Uuid::new_v4().as_bytes()[..8]
                .try_into()
                .unwrap_or([0; 8]),
        );
        let generated = skewless_apimachinery::validation::generate_name(
            &prefix,
            &skewless_apimachinery::validation::random_suffix(entropy),
        );
        object::meta_mut(&mut obj).insert("name".into(), json!(generated));
    }
    validate_meta(req, &obj, true)?;
    if req.crd.is_some_and(|c| c.terminating) {
        return Err(ApiError::MethodNotSupported {
            resource: req.group_resource(),
            action: "create (the custom resource definition is terminating)".into(),
        });
    }
    if is_crd_resource(req.resource) {
        crate::handlers::crd::prepare(&mut obj, None)?;
    }
    let warnings = admit(req, &mut obj, None).await?;
    admission::identity_lease(req, &[Some(&obj)])?;
    admission::rbac_escalation(req, &obj).await?;
    check_namespace(req, true).await?;

    let name = object::name(&obj).to_owned();
    {
        let meta = object::meta_mut(&mut obj);
        meta.insert("uid".into(), json!(object::new_uid()));
        meta.insert("creationTimestamp".into(), json!(object::now_rfc3339()));
        if tracks_generation(req) {
            meta.insert("generation".into(), json!(1));
        } else {
            meta.remove("generation");
        }
        for owned in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            meta.remove(owned);
        }
    }
    // A CRD's status was just prepared as upstream's strategy does on
    // create (`storedVersions` holds the storage version).
    if req.has_subresource("status")
        && !is_crd_resource(req.resource)
        && let Value::Object(map) = &mut obj
    {
        map.remove("status");
    }
    crate::handlers::special::prepare_create(req.resource, &mut obj);
    if !applied {
        // A create is an update from the type's zero object.
        tracking.record_update(req, &json!({}), &mut obj)?;
    }
    // What the registry sets after the fields are recorded: no manager
    // owns a new Pod's status or a Service's allocated addresses.
    if req.crd.is_none() {
        defaults::prepare_for_create(&req.resource.group, &req.resource.kind, &mut obj);
        if let Some(status) =
            defaults::status_on_create(&req.resource.group, &req.resource.kind, &obj)
        {
            obj["status"] = status;
        }
    }
    let dry_run = req.query.dry_run()?;
    let claims = if is_services(req) {
        Some(
            service_alloc::allocate(
                req.api.store.as_ref(),
                &req.api.service_ranges,
                &mut obj,
                None,
                dry_run,
            )
            .await?,
        )
    } else {
        None
    };

    let mut resp = if dry_run {
        respond(StatusCode::CREATED, &obj)
    } else {
        let created = match encode_for_storage(req, &obj).await {
            Ok(value) => req
                .api
                .store
                .create(&req.key(&name), value, WriteOptions::default())
                .await
                .map_err(|e| store_error(e, &req.group_resource(), &name)),
            Err(e) => Err(e),
        };
        let kv = match created {
            Ok(kv) => kv,
            Err(e) => {
                if let Some(claims) = claims {
                    service_alloc::release(req.api.store.as_ref(), claims).await;
                }
                return Err(e);
            }
        };
        respond(StatusCode::CREATED, &decode_for(req, &kv).await?)
    };
    crate::openapi::add_warnings(&mut resp, &warnings);
    Ok(resp)
}

// ---------------------------------------------------------------------------
// update and patch

/// How a new version of an object was produced.
pub(super) enum Change {
    /// PUT: the client's object, with its own resourceVersion precondition.
    Replace(Value),
    /// PATCH: applied to the current object on every attempt.
    Patch(crate::patching::PatchKind, Bytes),
}

pub(crate) async fn update(req: &Request<'_>) -> Result<Response<Body>, ApiError> {
    let obj = decode_body(req.headers, &req.body).await?;
    write_existing(req, Change::Replace(obj)).await
}

pub(crate) async fn patch(req: &Request<'_>) -> Result<Response<Body>, ApiError> {
    let content_type = req
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let kind = crate::patching::PatchKind::from_content_type(content_type).ok_or_else(|| {
        ApiError::UnsupportedMediaType {
            accepted: crate::patching::accepted(true),
        }
    })?;
    write_existing(req, Change::Patch(kind, req.body.clone())).await
}

pub(super) async fn write_existing(
    req: &Request<'_>,
    change: Change,
) -> Result<Response<Body>, ApiError> {
    let mut warnings = Vec::new();
    let mut resp = write_existing_warned(req, change, &mut warnings).await?;
    crate::openapi::add_warnings(&mut resp, &warnings);
    Ok(resp)
}

pub(super) async fn write_existing_warned(
    req: &Request<'_>,
    change: Change,
    warnings: &mut Vec<String>,
) -> Result<Response<Body>, ApiError> {
    let name = req.info.name.clone();
    let sub = req.info.subresource.as_str();
    if !matches!(sub, "" | "status" | "scale" | "finalize")
        || (sub == "finalize" && req.resource.resource != "namespaces")
    {
        return Err(subresource_not_found(req, sub));
    }
    let dry_run = req.query.dry_run()?;
    let tracking = Tracking::new(
        req,
        match &change {
            Change::Replace(_) => Options::Update,
            Change::Patch(kind, _) => Options::Patch {
                apply: *kind == PatchKind::Apply,
            },
        },
    )?;
    loop {
        let kv = req
            .api
            .store
            .get(&req.key(&name))
            .await
            .map_err(|e| store_error(e, &req.group_resource(), &name))?;
        let Some(kv) = kv else {
            if let Change::Patch(PatchKind::Apply, body) = &change
                && sub.is_empty()
            {
                return apply_create(req, body, &tracking).await;
            }
            return Err(req.not_found(&name));
        };
        let current = decode_for(req, &kv).await?;
        // What the client sent, as a whole object of this subresource's shape.
        // An apply's managedFields, computed with the merge.
        let mut applied_fields: Option<Value> = None;
        let (mut incoming, precondition) = match &change {
            Change::Replace(obj) => {
                let rv = object::meta_str(obj, "resourceVersion").to_owned();
                (obj.clone(), rv)
            }
            Change::Patch(kind, body) => {
                let base = if sub == "scale" {
                    scale_of(req, &current)?
                } else {
                    current.clone()
                };
                let mut patched = apply_patch(req, &name, &base, *kind, body).await?;
                if *kind == PatchKind::Apply {
                    let config_rv = object::meta_str(&patched, "resourceVersion").to_owned();
                    let mut merged = if sub == "scale" {
                        // A Scale has no managedFields of its own: its
                        // replicas' owners come from the parent, and go
                        // back to it.
                        let (merged, parent_fields) = tracking.apply_scale(
                            &current,
                            &base,
                            &patched,
                            managed::force(req),
                            &replicas_field(req),
                        )?;
                        applied_fields = Some(parent_fields);
                        merged
                    } else {
                        let merged = tracking.apply(&base, &patched, managed::force(req))?.object;
                        applied_fields = Some(
                            merged
                                .pointer("/metadata/managedFields")
                                .cloned()
                                .unwrap_or(Value::Null),
                        );
                        merged
                    };
                    // The configuration's resourceVersion is a precondition.
                    let meta = object::meta_mut(&mut merged);
                    if config_rv.is_empty() {
                        meta.insert(
                            "resourceVersion".into(),
                            json!(object::meta_str(&base, "resourceVersion")),
                        );
                    } else {
                        meta.insert("resourceVersion".into(), json!(config_rv));
                    }
                    patched = merged;
                }
                let rv = object::meta_str(&patched, "resourceVersion").to_owned();
                // A patch that leaves resourceVersion as it was does not ask
                // for a precondition.
                let rv = if rv == object::meta_str(&base, "resourceVersion") {
                    String::new()
                } else {
                    rv
                };
                (patched, rv)
            }
        };
        if !precondition.is_empty() && precondition != kv.mod_revision.to_string() {
            return Err(ApiError::conflict_modified(req.group_resource(), &name));
        }
        let mut next = match sub {
            "scale" => apply_scale(req, &current, &incoming)?,
            _ => {
                if sub.is_empty() {
                    check_type_meta(
                        req,
                        &mut incoming,
                        &req.resource.kind.clone(),
                        &req.api_version(),
                    )?;
                    *warnings = admit(req, &mut incoming, Some(&current)).await?;
                }
                let body_name = object::name(&incoming);
                if !body_name.is_empty() && body_name != name {
                    return Err(ApiError::BadRequest(format!(
                        "the name of the object ({body_name}) does not match the name on the URL ({name})"
                    )));
                }
                merge_for_subresource(req, &current, incoming)
            }
        };
        object::drop_empty_metadata(&mut next);
        {
            let meta = object::meta_mut(&mut next);
            meta.insert("name".into(), json!(name));
            if req.resource.namespaced {
                meta.insert("namespace".into(), json!(req.info.namespace));
            } else {
                meta.remove("namespace");
            }
        }
        object::keep_immutable_metadata(&mut next, &current);
        admission::identity_lease(req, &[Some(&current), Some(&next)])?;
        if sub.is_empty() {
            admission::rbac_escalation(req, &next).await?;
        }
        if sub.is_empty() && is_crd_resource(req.resource) {
            crate::handlers::crd::prepare(&mut next, Some(&current))?;
            object::prepare_for_output(
                &mut next,
                &req.api_version(),
                &req.resource.kind,
                kv.mod_revision,
            );
        }
        if sub.is_empty() {
            validate_meta(req, &next, false)?;
            if tracks_generation(req) && object::spec_differs(&current, &next) {
                let generation = current["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
                object::meta_mut(&mut next).insert("generation".into(), json!(generation));
            }
        }
        match &applied_fields {
            Some(Value::Null) => {
                object::meta_mut(&mut next).remove("managedFields");
            }
            Some(fields) => {
                object::meta_mut(&mut next).insert("managedFields".into(), fields.clone());
            }
            None => tracking.record_update(req, &current, &mut next)?,
        }
        object::prepare_for_output(
            &mut next,
            &req.api_version(),
            &req.resource.kind,
            kv.mod_revision,
        );
        let claims = if sub.is_empty() && is_services(req) {
            service_alloc::allocate(
                req.api.store.as_ref(),
                &req.api.service_ranges,
                &mut next,
                Some(&current),
                dry_run,
            )
            .await?
        } else {
            service_alloc::Claims::default()
        };
        let store = req.api.store.as_ref();
        if next == current {
            // Nothing changed: no write, same resourceVersion (as upstream).
            service_alloc::release(store, claims).await;
            return Ok(respond(StatusCode::OK, &output_for(req, &current)?));
        }
        if dry_run {
            return Ok(respond(StatusCode::OK, &output_for(req, &next)?));
        }
        // An object being deleted whose last finalizer just went away is gone.
        if object::is_deleting(&next)
            && !crate::handlers::special::has_finalizers(req.resource, &next)
        {
            return match req
                .api
                .store
                .delete(&req.key(&name), Some(kv.mod_revision))
                .await
            {
                Ok(_) => {
                    service_alloc::release(store, claims).await;
                    if is_services(req) {
                        service_alloc::release_all(store, &current).await;
                    }
                    Ok(respond(StatusCode::OK, &output_for(req, &next)?))
                }
                Err(StoreError::Conflict { .. }) if precondition.is_empty() => {
                    service_alloc::release(store, claims).await;
                    continue;
                }
                Err(e) => {
                    service_alloc::release(store, claims).await;
                    Err(store_error(e, &req.group_resource(), &name))
                }
            };
        }
        let value = match encode_for_storage(req, &next).await {
            Ok(value) => value,
            Err(e) => {
                service_alloc::release(store, claims).await;
                return Err(e);
            }
        };
        match store
            .update(
                &req.key(&name),
                value,
                kv.mod_revision,
                WriteOptions::default(),
            )
            .await
        {
            Ok(kv) => {
                let stored = decode_for(req, &kv).await?;
                if is_services(req) {
                    service_alloc::release_unused(store, &current, &stored).await;
                }
                return Ok(respond(StatusCode::OK, &output_for(req, &stored)?));
            }
            // Someone else wrote in between: an unconditional write retries
            // against the new current object.
            Err(StoreError::Conflict { .. }) if precondition.is_empty() => {
                service_alloc::release(store, claims).await;
                continue;
            }
            Err(e) => {
                service_alloc::release(store, claims).await;
                return Err(store_error(e, &req.group_resource(), &name));
            }
        }
    }
}

/// Whether the resource keeps `metadata.generation`: custom resources
/// always, built-ins as upstream's strategies.
fn tracks_generation(req: &Request<'_>) -> bool {
    req.crd.is_some() || defaults::tracks_generation(&req.resource.group, &req.resource.resource)
}

/// Core v1 Services: their cluster IPs and node ports are allocated.
pub(super) fn is_services(req: &Request<'_>) -> bool {
    req.crd.is_none() && req.resource.group.is_empty() && req.resource.resource == "services"
}

pub(super) fn output_for(req: &Request<'_>, obj: &Value) -> Result<Value, ApiError> {
    if req.info.subresource == "scale" {
        scale_of(req, obj)
    } else {
        Ok(obj.clone())
    }
}

/// The main resource ignores `status` when a status subresource exists;
/// the status subresource changes nothing but `status`.
pub(super) fn merge_for_subresource(req: &Request<'_>, current: &Value, incoming: Value) -> Value {
    let has_status = req.has_subresource("status");
    match req.info.subresource.as_str() {
        "status" => {
            let mut next = current.clone();
            copy_status(&mut next, &incoming);
            next
        }
        "finalize" => {
            let mut next = current.clone();
            if let Value::Object(map) = &mut next {
                let finalizers = incoming
                    .get("spec")
                    .and_then(|s| s.get("finalizers"))
                    .cloned()
                    .unwrap_or(json!([]));
                let spec = map.entry("spec").or_insert_with(|| json!({}));
                if let Value::Object(spec) = spec {
                    spec.insert("finalizers".into(), finalizers);
                }
            }
            next
        }
        _ => {
            let mut next = incoming;
            if has_status {
                copy_status(&mut next, current);
            }
            next
        }
    }
}

/// Makes `target`'s `status` that of `source` (absent when `source` has none).
pub(super) fn copy_status(target: &mut Value, source: &Value) {
    if let Value::Object(map) = target {
        match source.get("status") {
            Some(s) => {
                map.insert("status".into(), s.clone());
            }
            None => {
                map.remove("status");
            }
        }
    }
}

/// Server-side apply of an object that does not exist yet creates it: the
/// configuration merged into nothing, owned by the applier.
async fn apply_create(
    req: &Request<'_>,
    body: &Bytes,
    tracking: &Tracking,
) -> Result<Response<Body>, ApiError> {
    let empty = json!({"apiVersion": req.api_version(), "kind": req.resource.kind});
    let config = apply_patch(req, &req.info.name, &empty, PatchKind::Apply, body).await?;
    if !object::meta_str(&config, "resourceVersion").is_empty() {
        // A precondition on an object that does not exist cannot hold.
        return Err(req.not_found(&req.info.name));
    }
    let applied = tracking.apply(&Value::Null, &config, managed::force(req))?;
    let mut obj = applied.object;
    let body_name = object::name(&obj);
    if body_name.is_empty() {
        object::meta_mut(&mut obj).insert("name".into(), json!(req.info.name));
    } else if body_name != req.info.name {
        return Err(ApiError::BadRequest(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({})",
            req.info.name
        )));
    }
    create_object(req, obj, tracking, true).await
}

// ---------------------------------------------------------------------------
// scale

//! Objects in and out: request bodies decoded by Content-Type and patches
//! applied (both through [`parse_off_thread`], so a large body never
//! occupies an async worker), stored values decoded for the client,
//! incoming objects admitted (type meta, metadata, field validation, custom
//! resource schemas) and encoded for storage, and the namespace a write
//! goes to checked. The only two places that convert between versions are
//! here: [`decode_at`]/[`finish`] (stored version → the request's) and
//! [`encode_for_storage`] (the request's → the storage version).

use std::sync::LazyLock;

use crate::object;
use crate::storage;
use http::HeaderMap;
use serde_json::{Value, json};
use skewless_apimachinery::catalog::ResourceInfo;
use skewless_apimachinery::conversion;
use skewless_apimachinery::crd::ConversionWebhook;
use skewless_apimachinery::limits::{MAX_NESTING_DEPTH, check_nesting};
use skewless_apimachinery::negotiate::{BodyFormat, request_body_format};
use skewless_apimachinery::request_info::GroupResource;
use skewless_apimachinery::status::ApiError;
use skewless_apimachinery::validation::{
    FieldError, validate_core_limits, validate_object_meta_name,
};
use skewless_store::KeyValue;
use tokio::sync::Semaphore;

use super::request::{Request, api_version, store_error};

/// Decodes a stored value, converts it from the version it was stored in
/// (its `apiVersion`: any server of the control plane may have written it,
/// in its release's storage version) to `r`'s version, and stamps what the
/// client sees, with `revision` as its `resourceVersion` (a watch's delete
/// event carries the delete's revision). An object of a CRD with a
/// conversion `hook` stored in another version keeps its stored
/// `apiVersion`: [`finish`] converts it (the network is not for here).
pub(crate) fn decode_at(
    r: &ResourceInfo,
    hook: Option<&ConversionWebhook>,
    kv: &KeyValue,
    revision: i64,
) -> Result<Value, ApiError> {
    let mut obj: Value = serde_json::from_slice(&kv.value).map_err(|e| {
        ApiError::InternalError(format!("stored object {} is corrupt: {e}", kv.key))
    })?;
    if hook.is_some() {
        let stored = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        if conversion::version_of(&r.group, stored).is_some_and(|v| v != r.version) {
            object::meta_mut(&mut obj).insert(
                "resourceVersion".into(),
                Value::String(revision.to_string()),
            );
            return Ok(obj);
        }
    }
    let mut obj =
        conversion::convert(&r.group, &r.kind, obj, &r.version, &r.version).map_err(|e| {
            ApiError::InternalError(format!("stored object {} cannot be converted: {e}", kv.key))
        })?;
    object::prepare_for_output(&mut obj, &api_version(r), &r.kind, revision);
    Ok(obj)
}

/// Converts what [`decode_at`] left in another version through the CRD's
/// conversion webhook, all of `objs` in one review.
pub(crate) async fn finish(
    store: &dyn skewless_store::Store,
    r: &ResourceInfo,
    hook: Option<&ConversionWebhook>,
    objs: &mut [Value],
) -> Result<(), ApiError> {
    let Some(hook) = hook else {
        return Ok(());
    };
    let want = api_version(r);
    let pending: Vec<usize> = (0..objs.len())
        .filter(|i| objs[*i].get("apiVersion").and_then(Value::as_str) != Some(want.as_str()))
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    let batch = pending.iter().map(|i| objs[*i].clone()).collect();
    let converted = crate::conversion_webhook::convert(store, hook, &r.kind, batch, &want).await?;
    for (i, obj) in pending.into_iter().zip(converted) {
        objs[i] = obj;
    }
    Ok(())
}

/// A stored object as this request's client sees it.
pub(super) async fn decode_for(req: &Request<'_>, kv: &KeyValue) -> Result<Value, ApiError> {
    decode_all(req, std::slice::from_ref(kv))
        .await?
        .pop()
        .ok_or_else(|| ApiError::InternalError("no object decoded".into()))
}

/// Stored objects as this request's client sees them (converted in one
/// review when a webhook converts): custom resources get their schema's
/// defaults on read, as upstream applies them.
pub(super) async fn decode_all<K: std::borrow::Borrow<KeyValue>>(
    req: &Request<'_>,
    kvs: &[K],
) -> Result<Vec<Value>, ApiError> {
    let hook = req.crd.and_then(|c| c.webhook.as_ref());
    let mut objs = kvs
        .iter()
        .map(|kv| {
            let kv = kv.borrow();
            decode_at(req.resource, hook, kv, kv.mod_revision)
        })
        .collect::<Result<Vec<_>, _>>()?;
    finish(req.api.store.as_ref(), req.resource, hook, &mut objs).await?;
    if let Some(schema) = req.crd.and_then(|c| c.schema.as_ref()) {
        for obj in &mut objs {
            skewless_apimachinery::structural::apply_defaults(schema, obj);
        }
    }
    Ok(objs)
}

/// Checks an incoming object against its schema: unknown fields per
/// `fieldValidation` (Strict → 400, Warn → dropped with warnings, Ignore →
/// dropped), then defaults and validation (422 listing every failing
/// field): a built-in's defaults (on update also what it keeps from, or
/// drops because of, the stored `old`) and its defaulted fields, a custom
/// resource's schema. Returns the warnings. The walk over a
/// large object runs off the async workers, as its decoding did.
pub(super) async fn admit(
    req: &Request<'_>,
    obj: &mut Value,
    old: Option<&Value>,
) -> Result<Vec<String>, ApiError> {
    parse_off_thread(req.body.len(), || admit_now(req, obj, old)).await
}

fn admit_now(
    req: &Request<'_>,
    obj: &mut Value,
    old: Option<&Value>,
) -> Result<Vec<String>, ApiError> {
    let Some(crd) = req.crd else {
        let warnings = crate::openapi::validate_fields(
            &crate::handlers::derived::openapi(req.api),
            req.resource,
            req.query,
            obj,
        )?;
        if req.resource.group.is_empty() {
            crate::handlers::special::prepare_write(req.resource, obj);
        }
        let (group, kind) = (&req.resource.group, &req.resource.kind);
        skewless_apimachinery::defaults::apply(group, kind, obj);
        if let Some(old) = old {
            skewless_apimachinery::defaults::prepare_for_update(group, kind, obj, old);
        }
        let mut errors = skewless_apimachinery::defaults::validate(group, kind, obj);
        if group.is_empty() {
            errors.extend(validate_core_limits(kind, obj));
        }
        if !errors.is_empty() {
            return Err(ApiError::Invalid {
                kind: req.group_kind(),
                name: object::name(obj).to_owned(),
                causes: errors,
            });
        }
        return Ok(warnings);
    };
    let Some(schema) = crd.schema.as_ref() else {
        return Ok(Vec::new());
    };
    let mode = req.query.get("fieldValidation").unwrap_or("Warn");
    if !matches!(mode, "Strict" | "Warn" | "Ignore") {
        return Err(ApiError::BadRequest(format!(
            "fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got {mode:?}"
        )));
    }
    let pruned = skewless_apimachinery::structural::prune(schema, obj);
    let unknown: Vec<String> = pruned
        .iter()
        .map(|f| format!("unknown field {f:?}"))
        .collect();
    if mode == "Strict" && !unknown.is_empty() {
        return Err(ApiError::BadRequest(format!(
            ".{} in version {:?} cannot be handled as a {}: strict decoding error: {}",
            req.resource.kind,
            req.resource.version,
            req.resource.kind,
            unknown.join(", ")
        )));
    }
    skewless_apimachinery::structural::apply_defaults(schema, obj);
    let errors = skewless_apimachinery::structural::validate(schema, obj);
    if !errors.is_empty() {
        return Err(ApiError::Invalid {
            kind: req.group_kind(),
            name: object::name(obj).to_owned(),
            causes: errors,
        });
    }
    Ok(if mode == "Warn" { unknown } else { Vec::new() })
}

/// The version this server stores the request's resource in: its
/// release's storage version for built-ins, the `storage: true` version for
/// custom resources.
pub(super) fn storage_version(req: &Request<'_>) -> String {
    if let Some(crd) = req.crd {
        return crd.storage_version.clone();
    }
    conversion::storage_version(
        &req.resource.group,
        &req.resource.resource,
        req.api.registry.builtin().emulated_version(),
        &req.resource.version,
    )
}

/// `obj`, in the request's version, as stored: converted to the storage
/// version (the one place a write converts), without `resourceVersion`.
/// A CRD's conversion webhook converts when the storage version differs;
/// when it fails nothing is stored.
pub(super) async fn encode_for_storage(
    req: &Request<'_>,
    obj: &Value,
) -> Result<Vec<u8>, ApiError> {
    let r = req.resource;
    let target = storage_version(req);
    let mut obj = match req.crd.and_then(|c| c.webhook.as_ref()) {
        Some(hook) if target != r.version => {
            let desired = conversion::api_version(&r.group, &target);
            let converted = crate::conversion_webhook::convert(
                req.api.store.as_ref(),
                hook,
                &r.kind,
                vec![obj.clone()],
                &desired,
            )
            .await?;
            converted
                .into_iter()
                .next()
                .ok_or_else(|| ApiError::InternalError("no object converted".into()))?
        }
        _ => conversion::convert(&r.group, &r.kind, obj.clone(), &r.version, &target)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?,
    };
    object::meta_mut(&mut obj).remove("resourceVersion");
    let bytes = serde_json::to_vec(&obj).map_err(|e| ApiError::InternalError(e.to_string()))?;
    // The same limit on every engine (etcd's default request limit), so
    // SQLite and etcd answer an oversize object alike.
    if bytes.len() > MAX_STORED_OBJECT_BYTES {
        return Err(ApiError::RequestEntityTooLarge(format!(
            "limit is {MAX_STORED_OBJECT_BYTES}"
        )));
    }
    Ok(bytes)
}

/// The largest object stored (etcd's default `--max-request-bytes`).
pub(crate) const MAX_STORED_OBJECT_BYTES: usize = 1536 * 1024;

/// Bodies up to this size are decoded, patched and admitted on the async
/// worker that read them: that costs well under a millisecond. Larger ones
/// go through [`parse_off_thread`].
pub(crate) const INLINE_PARSE_BYTES: usize = 64 * 1024;

/// At most this many large bodies are worked on at once (one per CPU, at
/// least two); more wait their turn without holding a thread.
static LARGE_PARSES: LazyLock<Semaphore> = LazyLock::new(|| {
    let cpus = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    Semaphore::new(cpus.max(2))
});

/// Runs `work`, the CPU-bound part of handling a request body of `size`
/// bytes (decoding it, applying a patch, admitting the object): inline when
/// `size` is at most [`INLINE_PARSE_BYTES`], otherwise at most
/// [`LARGE_PARSES`] at once and off the async workers, so that however much
/// CPU a hostile body costs, other requests (`/readyz` among them) keep
/// being answered.
///
/// Off the workers means `tokio::task::block_in_place`: this worker hands
/// its queued tasks to the others (a new one is started when needed) and
/// runs `work` itself. Unlike `spawn_blocking` it can borrow the request,
/// so neither the body nor the current object is copied. On a
/// current-thread runtime (unit tests) `work` runs inline.
pub(crate) async fn parse_off_thread<T>(
    size: usize,
    work: impl FnOnce() -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if size <= INLINE_PARSE_BYTES || !multi_thread {
        return work();
    }
    let _turn = LARGE_PARSES
        .acquire()
        .await
        .map_err(|_| ApiError::InternalError("the body parser pool is closed".into()))?;
    tokio::task::block_in_place(work)
}

/// Parses a request body into a JSON object according to its Content-Type
/// (large bodies off the async workers).
pub(crate) async fn decode_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let format = request_body_format(content_type);
    parse_off_thread(body.len(), || decode_as(format, body)).await
}

/// Applies a PATCH body to `base` (see [`crate::patching::apply`]), large
/// bodies off the async workers.
pub(super) async fn apply_patch(
    req: &Request<'_>,
    name: &str,
    base: &Value,
    kind: crate::patching::PatchKind,
    body: &[u8],
) -> Result<Value, ApiError> {
    parse_off_thread(body.len(), || {
        crate::patching::apply(
            req.resource,
            req.crd.is_none(),
            name,
            base,
            kind,
            body,
            req.api.max_body,
        )
    })
    .await
}

/// The nesting guard, then the decoder of `format`.
fn decode_as(format: BodyFormat, body: &[u8]) -> Result<Value, ApiError> {
    if matches!(format, BodyFormat::Json | BodyFormat::Yaml) {
        check_nesting(body, MAX_NESTING_DEPTH).map_err(ApiError::BadRequest)?;
    }
    let value: Value = match format {
        BodyFormat::Json => serde_json::from_slice(body).map_err(|e| {
            ApiError::BadRequest(format!("the request body is not valid JSON: {e}"))
        })?,
        BodyFormat::Yaml => serde_norway::from_slice(body).map_err(|e| {
            ApiError::BadRequest(format!("the request body is not valid YAML: {e}"))
        })?,
        BodyFormat::Protobuf => crate::protobuf::decode(body)?,
        _ => {
            return Err(ApiError::UnsupportedMediaType {
                accepted: vec![
                    "application/json".into(),
                    "application/yaml".into(),
                    "application/vnd.kubernetes.protobuf".into(),
                ],
            });
        }
    };
    if !value.is_object() {
        return Err(ApiError::BadRequest(
            "the request body must be a JSON object".into(),
        ));
    }
    Ok(value)
}

/// Checks `apiVersion`/`kind` of a body against the URL (filling them in
/// when absent), and `metadata` being an object.
pub(super) fn check_type_meta(
    req: &Request<'_>,
    obj: &mut Value,
    kind: &str,
    api_version: &str,
) -> Result<(), ApiError> {
    let Value::Object(map) = obj else {
        return Err(ApiError::BadRequest(
            "the request body must be a JSON object".into(),
        ));
    };
    match map.get("kind").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("kind".into(), json!(kind));
        }
        Some(k) if k == kind => {}
        Some(k) => {
            return Err(ApiError::BadRequest(format!(
                "the kind {k:?} of the object does not match the kind {kind:?} the URL addresses ({})",
                req.info.path
            )));
        }
    }
    match map.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("apiVersion".into(), json!(api_version));
        }
        Some(v) if v == api_version => {}
        Some(v) => {
            // Another served version of the same group is fine: it is
            // this version's object (upstream decodes the body into the
            // URL's version).
            let same_group = v.rsplit_once('/').map(|(g, _)| g).unwrap_or("") == req.resource.group;
            if !same_group {
                return Err(ApiError::BadRequest(format!(
                    "the API version {v:?} of the object does not match {api_version:?} in the URL ({})",
                    req.info.path
                )));
            }
            map.insert("apiVersion".into(), json!(api_version));
        }
    }
    if let Some(m) = map.get("metadata")
        && !m.is_object()
        && !m.is_null()
    {
        return Err(ApiError::BadRequest("metadata must be an object".into()));
    }
    Ok(())
}

pub(super) fn validate_meta(
    req: &Request<'_>,
    obj: &Value,
    creating: bool,
) -> Result<(), ApiError> {
    let name = object::name(obj);
    let generate = object::meta_str(obj, "generateName");
    let mut errors: Vec<FieldError> = Vec::new();
    if creating || !name.is_empty() {
        errors.extend(validate_object_meta_name(
            name,
            generate,
            storage::name_rule(req.resource),
        ));
    }
    if let Some(meta) = obj.get("metadata") {
        for field in ["labels", "annotations"] {
            if let Some(v) = meta.get(field)
                && !v.is_null()
                && !v
                    .as_object()
                    .is_some_and(|m| m.values().all(Value::is_string))
            {
                errors.push(FieldError::invalid(
                    format!("metadata.{field}"),
                    v.clone(),
                    "must be a map of strings",
                ));
            }
        }
    }
    let labels = object::labels(obj);
    errors.extend(skewless_apimachinery::validation::validate_labels(
        &labels,
        "metadata.labels",
    ));
    errors.extend(skewless_apimachinery::validation::validate_annotations(
        &object::annotations(obj),
        "metadata.annotations",
    ));
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid {
            kind: req.group_kind(),
            name: if name.is_empty() {
                generate.to_owned()
            } else {
                name.to_owned()
            },
            causes: errors,
        })
    }
}

/// The namespace a namespaced write goes to must exist and not be terminating.
pub(super) async fn check_namespace(req: &Request<'_>, for_create: bool) -> Result<(), ApiError> {
    if !req.resource.namespaced {
        return Ok(());
    }
    let ns = req.namespace();
    if ns.is_empty() {
        return Err(ApiError::BadRequest(
            "a namespace must be specified for a namespaced resource".into(),
        ));
    }
    let kv = req
        .api
        .store
        .get(&storage::namespace_key(ns))
        .await
        .map_err(|e| store_error(e, &GroupResource::new("", "namespaces"), ns))?;
    let Some(kv) = kv else {
        return Err(ApiError::not_found(
            GroupResource::new("", "namespaces"),
            ns,
        ));
    };
    if for_create {
        let ns_obj: Value = serde_json::from_slice(&kv.value).unwrap_or(Value::Null);
        if object::is_deleting(&ns_obj) {
            return Err(ApiError::Forbidden {
                resource: req.group_resource(),
                name: String::new(),
                message: format!(
                    "unable to create new content in namespace {ns} because it is being terminated"
                ),
            });
        }
    }
    Ok(())
}

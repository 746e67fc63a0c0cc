//! Generic REST handling for every served resource: get, list, create,
//! update, patch, delete, deletecollection, and the `status` and `scale`
//! subresources, with kube-apiserver's semantics for resource versions,
//! optimistic concurrency, finalizers, generation and dry runs.
//!
//! Objects are JSON; nothing here knows a resource's schema beyond what the
//! catalog says (kind, scope, subresources). Handlers return `Result` and
//! never build error bodies themselves.

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use serde_json::{Map, Value, json};
use skewless_apimachinery::catalog::ResourceInfo;
use skewless_apimachinery::negotiate::{BodyFormat, request_body_format};
use skewless_apimachinery::request_info::{GroupKind, GroupResource, RequestInfo};
use skewless_apimachinery::selector::{FieldSelector, LabelSelector};
use skewless_apimachinery::status::{ApiError, CONTINUE_EXPIRED_MSG, Status};
use skewless_apimachinery::validation::{FieldError, validate_object_meta_name};
use skewless_store::{KeyValue, ListOptions, Revision, StoreError, WriteOptions};

use crate::api::{self, Api};
use crate::http_util::{self, Body, Query};
use crate::object;

/// Everything a handler needs to know about the request.
#[derive(Debug)]
pub struct Request<'a> {
    pub api: &'a Api,
    pub user: &'a crate::authn::UserInfo,
    pub info: &'a RequestInfo,
    pub resource: &'a ResourceInfo,
    /// Set when the resource is a custom resource.
    pub crd: Option<&'a crate::crds::ServedCrd>,
    pub query: &'a Query,
    pub headers: &'a HeaderMap,
    pub body: Bytes,
}

impl<'a> Request<'a> {
    /// The same request, for handlers that adjust one field of it.
    pub fn clone_shallow(&self) -> Request<'a> {
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

    fn group_resource(&self) -> GroupResource {
        GroupResource::new(self.resource.group.clone(), self.resource.resource.clone())
    }

    fn group_kind(&self) -> GroupKind {
        GroupKind::new(self.resource.group.clone(), self.resource.kind.clone())
    }

    fn api_version(&self) -> String {
        api_version(self.resource)
    }

    fn namespace(&self) -> &str {
        if self.resource.namespaced {
            &self.info.namespace
        } else {
            ""
        }
    }

    fn key(&self, name: &str) -> String {
        api::key(self.resource, self.namespace(), name)
    }

    fn not_found(&self, name: &str) -> ApiError {
        ApiError::not_found(self.group_resource(), name)
    }

    fn has_subresource(&self, name: &str) -> bool {
        self.resource.subresource(name).is_some()
    }
}

fn is_crd_resource(r: &ResourceInfo) -> bool {
    r.group == skewless_apimachinery::crd::GROUP && r.resource == "customresourcedefinitions"
}

pub fn api_version(r: &ResourceInfo) -> String {
    if r.group.is_empty() {
        r.version.clone()
    } else {
        format!("{}/{}", r.group, r.version)
    }
}

/// Maps a storage failure to the API error a client expects.
pub fn store_error(e: StoreError, gr: &GroupResource, name: &str) -> ApiError {
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
        StoreError::Internal(m) => ApiError::InternalError(m),
    }
}

/// Decodes a stored value and stamps what the client sees.
pub fn decode_stored(r: &ResourceInfo, kv: &KeyValue) -> Result<Value, ApiError> {
    let mut obj: Value = serde_json::from_slice(&kv.value).map_err(|e| {
        ApiError::InternalError(format!("stored object {} is corrupt: {e}", kv.key))
    })?;
    object::prepare_for_output(&mut obj, &api_version(r), &r.kind, kv.mod_revision);
    Ok(obj)
}

/// A stored object as this request's client sees it: custom resources get
/// their schema's defaults on read, as upstream applies them.
fn decode_for(req: &Request<'_>, kv: &KeyValue) -> Result<Value, ApiError> {
    let mut obj = decode_stored(req.resource, kv)?;
    if let Some(schema) = req.crd.and_then(|c| c.schema.as_ref()) {
        skewless_apimachinery::structural::apply_defaults(schema, &mut obj);
    }
    Ok(obj)
}

/// Checks an incoming object against its schema: unknown fields per
/// `fieldValidation` (Strict → 400, Warn → dropped with warnings, Ignore →
/// dropped), then (custom resources) defaults and schema validation (422
/// listing every failing field). Returns the warnings.
fn admit(req: &Request<'_>, obj: &mut Value) -> Result<Vec<String>, ApiError> {
    let Some(crd) = req.crd else {
        return crate::openapi::validate_fields(&req.api.openapi(), req.resource, req.query, obj);
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

fn encode_for_storage(obj: &Value) -> Result<Vec<u8>, ApiError> {
    let mut obj = obj.clone();
    object::meta_mut(&mut obj).remove("resourceVersion");
    serde_json::to_vec(&obj).map_err(|e| ApiError::InternalError(e.to_string()))
}

/// Parses a request body into a JSON object according to its Content-Type.
pub fn decode_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let value: Value = match request_body_format(content_type) {
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
fn check_type_meta(
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
            // Another served version of the same group is fine: versions share
            // storage without conversion.
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

fn validate_meta(req: &Request<'_>, obj: &Value, creating: bool) -> Result<(), ApiError> {
    let name = object::name(obj);
    let generate = object::meta_str(obj, "generateName");
    let mut errors: Vec<FieldError> = Vec::new();
    if creating || !name.is_empty() {
        errors.extend(validate_object_meta_name(
            name,
            generate,
            api::name_rule(req.resource),
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
async fn check_namespace(req: &Request<'_>, for_create: bool) -> Result<(), ApiError> {
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
        .get(&api::namespace_key(ns))
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

fn respond(status: StatusCode, obj: &Value) -> Response<Body> {
    http_util::json(status, obj)
}

// ---------------------------------------------------------------------------
// get

pub async fn get(req: &Request<'_>) -> Result<Response<Body>, ApiError> {
    let obj = get_object(req, &req.info.name).await?;
    match req.info.subresource.as_str() {
        "" | "status" => Ok(respond(StatusCode::OK, &obj)),
        "scale" => Ok(respond(StatusCode::OK, &scale_of(req, &obj)?)),
        other => Err(subresource_not_found(req, other)),
    }
}

fn subresource_not_found(req: &Request<'_>, sub: &str) -> ApiError {
    ApiError::NotFound {
        resource: GroupResource::new(
            req.resource.group.clone(),
            format!("{}/{sub}", req.resource.resource),
        ),
        name: req.info.name.clone(),
    }
}

/// The addressed object itself (for Table output).
pub async fn get_value(req: &Request<'_>) -> Result<Value, ApiError> {
    get_object(req, &req.info.name).await
}

async fn get_object(req: &Request<'_>, name: &str) -> Result<Value, ApiError> {
    let kv = req
        .api
        .store
        .get(&req.key(name))
        .await
        .map_err(|e| store_error(e, &req.group_resource(), name))?
        .ok_or_else(|| req.not_found(name))?;
    decode_for(req, &kv)
}

// ---------------------------------------------------------------------------
// list

/// The continue token: where the previous page stopped, at which revision.
#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    rv: Revision,
    start: String,
}

fn encode_continue(rv: Revision, start: &str) -> String {
    let raw = serde_json::to_vec(&ContinueToken {
        rv,
        start: start.to_owned(),
    })
    .unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_continue(token: &str) -> Result<ContinueToken, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|raw| serde_json::from_slice(&raw).ok())
        .ok_or_else(|| ApiError::BadRequest(format!("invalid continue token {token:?}")))
}

/// Parsed list options shared by list, watch and deletecollection.
#[derive(Debug)]
pub struct Selection {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Selection {
    pub fn from_query(query: &Query) -> Result<Self, ApiError> {
        Ok(Self {
            labels: LabelSelector::parse(query.get("labelSelector").unwrap_or(""))?,
            fields: FieldSelector::parse(query.get("fieldSelector").unwrap_or(""))?,
        })
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.labels.matches(&object::labels(obj)) && self.fields.matches(obj)
    }

    pub fn is_everything(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }
}

/// One page of matching objects.
#[derive(Debug)]
pub struct Page {
    pub items: Vec<Value>,
    pub revision: Revision,
    pub continue_token: Option<String>,
}

pub async fn list_page(req: &Request<'_>, sel: &Selection) -> Result<Page, ApiError> {
    let limit = req
        .query
        .number("limit")?
        .filter(|l| *l > 0)
        .map(|l| l as usize);
    let (mut revision, mut start) = match req.query.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            let t = decode_continue(token)?;
            (t.rv, Some(t.start))
        }
        None => (list_revision(req).await?, None),
    };
    let prefix = api::prefix(req.resource, req.namespace());
    let continuing = start.is_some();
    let mut items = Vec::new();
    loop {
        let want = limit.map(|l| l - items.len());
        let page = req
            .api
            .store
            .list(
                &prefix,
                ListOptions {
                    revision,
                    limit: want.map(|w| w.max(1)).unwrap_or(0),
                    start_after: start.clone(),
                },
            )
            .await
            .map_err(|e| match e {
                StoreError::Compacted { .. } if continuing => {
                    ApiError::Expired(CONTINUE_EXPIRED_MSG.to_owned())
                }
                e => store_error(e, &req.group_resource(), ""),
            })?;
        revision = page.revision;
        let last_key = page.items.last().map(|kv| kv.key.clone());
        for kv in &page.items {
            let obj = decode_for(req, kv)?;
            if sel.matches(&obj) {
                items.push(obj);
            }
        }
        let full = limit.is_some_and(|l| items.len() >= l);
        if !page.more {
            return Ok(Page {
                items,
                revision,
                continue_token: None,
            });
        }
        if full {
            return Ok(Page {
                items,
                revision,
                continue_token: last_key.map(|k| encode_continue(revision, &k)),
            });
        }
        start = last_key;
    }
}

/// The revision a list is served at, from `resourceVersion` and
/// `resourceVersionMatch`.
async fn list_revision(req: &Request<'_>) -> Result<Revision, ApiError> {
    let rv = req.query.get("resourceVersion").unwrap_or("");
    let matching = req.query.get("resourceVersionMatch").unwrap_or("");
    if rv.is_empty() || rv == "0" {
        if matching == "Exact" {
            return Err(ApiError::BadRequest(
                "resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"0\"".into(),
            ));
        }
        return Ok(0);
    }
    let n: Revision = rv
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("invalid resource version {rv:?}")))?;
    match matching {
        "Exact" => Ok(n),
        "" | "NotOlderThan" => {
            let current = req
                .api
                .store
                .current_revision()
                .await
                .map_err(|e| store_error(e, &req.group_resource(), ""))?;
            if n > current {
                return Err(ApiError::Timeout {
                    message: format!("Too large resource version: {n}, current: {current}"),
                    retry_after_seconds: Some(1),
                });
            }
            Ok(0)
        }
        other => Err(ApiError::BadRequest(format!(
            "invalid resourceVersionMatch {other:?}: supported values: \"Exact\", \"NotOlderThan\""
        ))),
    }
}

pub async fn list(req: &Request<'_>) -> Result<Value, ApiError> {
    let sel = Selection::from_query(req.query)?;
    let page = list_page(req, &sel).await?;
    Ok(object::list(
        &req.api_version(),
        &req.resource.kind,
        page.revision,
        page.continue_token,
        None,
        page.items,
    ))
}

// ---------------------------------------------------------------------------
// create

pub async fn create(req: &Request<'_>) -> Result<Response<Body>, ApiError> {
    if !req.info.subresource.is_empty() {
        return Err(ApiError::MethodNotSupported {
            resource: req.group_resource(),
            action: "create".into(),
        });
    }
    let mut obj = decode_body(req.headers, &req.body)?;
    if let Some(resp) = crate::special::create(req, &obj)? {
        return Ok(resp);
    }
    check_type_meta(
        req,
        &mut obj,
        &req.resource.kind.clone(),
        &req.api_version(),
    )?;
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
        crate::crds::prepare(&mut obj, None)?;
    }
    let warnings = admit(req, &mut obj)?;
    check_namespace(req, true).await?;

    let name = object::name(&obj).to_owned();
    {
        let meta = object::meta_mut(&mut obj);
        meta.insert("uid".into(), json!(object::new_uid()));
        meta.insert("creationTimestamp".into(), json!(object::now_rfc3339()));
        meta.insert("generation".into(), json!(1));
        for owned in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            meta.remove(owned);
        }
    }
    if req.has_subresource("status")
        && let Value::Object(map) = &mut obj
    {
        map.remove("status");
    }
    crate::special::prepare_create(req.resource, &mut obj);

    let mut resp = if req.query.dry_run()? {
        respond(StatusCode::CREATED, &obj)
    } else {
        let kv = req
            .api
            .store
            .create(
                &req.key(&name),
                encode_for_storage(&obj)?,
                WriteOptions::default(),
            )
            .await
            .map_err(|e| store_error(e, &req.group_resource(), &name))?;
        respond(StatusCode::CREATED, &decode_for(req, &kv)?)
    };
    crate::openapi::add_warnings(&mut resp, &warnings);
    Ok(resp)
}

// ---------------------------------------------------------------------------
// update and patch

/// How a new version of an object was produced.
enum Change {
    /// PUT: the client's object, with its own resourceVersion precondition.
    Replace(Value),
    /// PATCH: applied to the current object on every attempt.
    Patch(crate::patching::PatchKind, Bytes),
}

pub async fn update(req: &Request<'_>) -> Result<Response<Body>, ApiError> {
    let obj = decode_body(req.headers, &req.body)?;
    write_existing(req, Change::Replace(obj)).await
}

pub async fn patch(req: &Request<'_>) -> Result<Response<Body>, ApiError> {
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

async fn write_existing(req: &Request<'_>, change: Change) -> Result<Response<Body>, ApiError> {
    let mut warnings = Vec::new();
    let mut resp = write_existing_warned(req, change, &mut warnings).await?;
    crate::openapi::add_warnings(&mut resp, &warnings);
    Ok(resp)
}

async fn write_existing_warned(
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
    loop {
        let kv = req
            .api
            .store
            .get(&req.key(&name))
            .await
            .map_err(|e| store_error(e, &req.group_resource(), &name))?;
        let Some(kv) = kv else {
            if let Change::Patch(crate::patching::PatchKind::Apply, body) = &change
                && sub.is_empty()
            {
                return apply_create(req, body).await;
            }
            return Err(req.not_found(&name));
        };
        let current = decode_for(req, &kv)?;
        // What the client sent, as a whole object of this subresource's shape.
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
                let patched = crate::patching::apply(
                    req.resource,
                    req.crd.is_none(),
                    &name,
                    &base,
                    *kind,
                    body,
                )?;
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
                    *warnings = admit(req, &mut incoming)?;
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
        if sub.is_empty() && is_crd_resource(req.resource) {
            crate::crds::prepare(&mut next, Some(&current))?;
            object::prepare_for_output(
                &mut next,
                &req.api_version(),
                &req.resource.kind,
                kv.mod_revision,
            );
        }
        if sub.is_empty() {
            validate_meta(req, &next, false)?;
            if object::spec_differs(&current, &next) {
                let generation = current["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
                object::meta_mut(&mut next).insert("generation".into(), json!(generation));
            }
        }
        object::prepare_for_output(
            &mut next,
            &req.api_version(),
            &req.resource.kind,
            kv.mod_revision,
        );
        if next == current {
            // Nothing changed: no write, same resourceVersion (as upstream).
            return Ok(respond(StatusCode::OK, &output_for(req, &current)?));
        }
        if dry_run {
            return Ok(respond(StatusCode::OK, &output_for(req, &next)?));
        }
        // An object being deleted whose last finalizer just went away is gone.
        if object::is_deleting(&next) && !crate::special::has_finalizers(req.resource, &next) {
            return match req
                .api
                .store
                .delete(&req.key(&name), Some(kv.mod_revision))
                .await
            {
                Ok(_) => Ok(respond(StatusCode::OK, &output_for(req, &next)?)),
                Err(StoreError::Conflict { .. }) if precondition.is_empty() => continue,
                Err(e) => Err(store_error(e, &req.group_resource(), &name)),
            };
        }
        match req
            .api
            .store
            .update(
                &req.key(&name),
                encode_for_storage(&next)?,
                kv.mod_revision,
                WriteOptions::default(),
            )
            .await
        {
            Ok(kv) => {
                let stored = decode_for(req, &kv)?;
                return Ok(respond(StatusCode::OK, &output_for(req, &stored)?));
            }
            // Someone else wrote in between: an unconditional write retries
            // against the new current object.
            Err(StoreError::Conflict { .. }) if precondition.is_empty() => continue,
            Err(e) => return Err(store_error(e, &req.group_resource(), &name)),
        }
    }
}

fn output_for(req: &Request<'_>, obj: &Value) -> Result<Value, ApiError> {
    if req.info.subresource == "scale" {
        scale_of(req, obj)
    } else {
        Ok(obj.clone())
    }
}

/// The main resource ignores `status` when a status subresource exists;
/// the status subresource changes nothing but `status`.
fn merge_for_subresource(req: &Request<'_>, current: &Value, incoming: Value) -> Value {
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
fn copy_status(target: &mut Value, source: &Value) {
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

/// Server-side apply of an object that does not exist yet creates it.
async fn apply_create(req: &Request<'_>, body: &Bytes) -> Result<Response<Body>, ApiError> {
    let empty = json!({"apiVersion": req.api_version(), "kind": req.resource.kind});
    let applied = crate::patching::apply(
        req.resource,
        req.crd.is_none(),
        &req.info.name,
        &empty,
        crate::patching::PatchKind::Apply,
        body,
    )?;
    let inner = Request {
        api: req.api,
        user: req.user,
        info: req.info,
        resource: req.resource,
        crd: req.crd,
        query: req.query,
        headers: &HeaderMap::new(),
        body: Bytes::from(serde_json::to_vec(&applied).unwrap_or_default()),
    };
    create(&inner).await
}

// ---------------------------------------------------------------------------
// scale

/// JSON pointers of (spec replicas, status replicas) of built-in scale
/// subresources (custom resources use their CRD's paths).
const SCALE_PATHS: (&str, &str) = ("/spec/replicas", "/status/replicas");

fn scale_of(req: &Request<'_>, obj: &Value) -> Result<Value, ApiError> {
    let sub = req
        .resource
        .subresource("scale")
        .ok_or_else(|| subresource_not_found(req, "scale"))?;
    if let Some(scale) = req.crd.and_then(|c| c.scale.as_ref()) {
        return skewless_apimachinery::crd::scale_from_object(scale, obj)
            .map_err(ApiError::InternalError);
    }
    let (spec, status) = SCALE_PATHS;
    let selector = obj
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .or_else(|| {
            obj.pointer("/spec/selector")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter(|(_, v)| v.is_string())
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(",")
                })
        })
        .unwrap_or_default();
    let meta = obj.get("metadata").cloned().unwrap_or(json!({}));
    let mut scale_meta = Map::new();
    for f in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = meta.get(f) {
            scale_meta.insert(f.into(), v.clone());
        }
    }
    let mut status_obj =
        json!({"replicas": obj.pointer(status).and_then(Value::as_i64).unwrap_or(0)});
    if !selector.is_empty() {
        status_obj["selector"] = json!(selector);
    }
    Ok(json!({
        "kind": sub.kind,
        "apiVersion": if sub.group.is_empty() { sub.version.clone() } else { format!("{}/{}", sub.group, sub.version) },
        "metadata": scale_meta,
        "spec": {"replicas": obj.pointer(spec).and_then(Value::as_i64).unwrap_or(0)},
        "status": status_obj,
    }))
}

fn apply_scale(req: &Request<'_>, current: &Value, scale: &Value) -> Result<Value, ApiError> {
    let replicas = scale
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::Invalid {
            kind: GroupKind::new("autoscaling", "Scale"),
            name: req.info.name.clone(),
            causes: vec![FieldError::required("spec.replicas", "")],
        })?;
    if replicas < 0 {
        return Err(ApiError::Invalid {
            kind: GroupKind::new("autoscaling", "Scale"),
            name: req.info.name.clone(),
            causes: vec![FieldError::invalid(
                "spec.replicas",
                json!(replicas),
                "must be greater than or equal to 0",
            )],
        });
    }
    let mut next = current.clone();
    match req.crd.and_then(|c| c.scale.as_ref()) {
        Some(scale) => skewless_apimachinery::crd::set_spec_replicas(scale, &mut next, replicas)
            .map_err(ApiError::InternalError)?,
        None => set_pointer(&mut next, SCALE_PATHS.0, json!(replicas)),
    }
    Ok(next)
}

/// Sets the value at a JSON pointer, creating objects on the way.
fn set_pointer(obj: &mut Value, pointer: &str, value: Value) {
    let mut cur = obj;
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    let Some((last, parents)) = parts.split_last() else {
        return;
    };
    for p in parents {
        if !cur.is_object() {
            *cur = json!({});
        }
        let Value::Object(map) = cur else {
            return;
        };
        cur = map.entry((*p).to_owned()).or_insert_with(|| json!({}));
    }
    if !cur.is_object() {
        *cur = json!({});
    }
    if let Value::Object(map) = cur {
        map.insert((*last).to_owned(), value);
    }
}

// ---------------------------------------------------------------------------
// delete

#[derive(Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteOptions {
    #[serde(default)]
    preconditions: Option<Preconditions>,
    #[serde(default)]
    propagation_policy: Option<String>,
    #[serde(default)]
    dry_run: Option<Vec<String>>,
}

#[derive(Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Preconditions {
    uid: Option<String>,
    resource_version: Option<String>,
}

fn delete_options(req: &Request<'_>) -> Result<DeleteOptions, ApiError> {
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

pub async fn delete(req: &Request<'_>) -> Result<Response<Body>, ApiError> {
    if !req.info.subresource.is_empty() {
        return Err(ApiError::MethodNotSupported {
            resource: req.group_resource(),
            action: "delete".into(),
        });
    }
    let opts = delete_options(req)?;
    let dry_run = req.query.dry_run()?
        || opts
            .dry_run
            .as_ref()
            .is_some_and(|d| d.iter().any(|v| v == "All"));
    let name = req.info.name.clone();
    let (status, body) = delete_one(req, &name, opts.preconditions.as_ref(), dry_run).await?;
    Ok(respond(status, &body))
}

/// Deletes one object, or marks it for deletion when finalizers hold it.
async fn delete_one(
    req: &Request<'_>,
    name: &str,
    pre: Option<&Preconditions>,
    dry_run: bool,
) -> Result<(StatusCode, Value), ApiError> {
    loop {
        let kv = req
            .api
            .store
            .get(&req.key(name))
            .await
            .map_err(|e| store_error(e, &req.group_resource(), name))?
            .ok_or_else(|| req.not_found(name))?;
        let current = decode_for(req, &kv)?;
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
        if crate::special::has_finalizers(req.resource, &current) {
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
            crate::special::prepare_delete(req.resource, &mut next);
            if dry_run {
                return Ok((StatusCode::OK, next));
            }
            match req
                .api
                .store
                .update(
                    &req.key(name),
                    encode_for_storage(&next)?,
                    kv.mod_revision,
                    WriteOptions::default(),
                )
                .await
            {
                Ok(kv) => return Ok((StatusCode::OK, decode_for(req, &kv)?)),
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
                Ok(_) => {}
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(store_error(e, &req.group_resource(), name)),
            }
        }
        let gr = req.group_resource();
        let status = Status::deleted(&gr, name, object::meta_str(&current, "uid"));
        return Ok((
            StatusCode::OK,
            serde_json::to_value(status).map_err(|e| ApiError::InternalError(e.to_string()))?,
        ));
    }
}

pub async fn delete_collection(req: &Request<'_>) -> Result<Response<Body>, ApiError> {
    let opts = delete_options(req)?;
    let dry_run = req.query.dry_run()?
        || opts
            .dry_run
            .as_ref()
            .is_some_and(|d| d.iter().any(|v| v == "All"));
    let sel = Selection::from_query(req.query)?;
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

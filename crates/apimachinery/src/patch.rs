//! The PATCH engines: JSON patch (RFC 6902), JSON merge patch (RFC 7386),
//! strategic merge patch as kube-apiserver applies it, and an approximation
//! of server-side apply, each a pure function from (live object, patch body)
//! to the patched object. The strategic merge engine reads the
//! `patchStrategy`/`patchMergeKey` knowledge of the built-in types from a
//! static table ([`merge_keys_for`]) rather than from Go struct tags.
//!
//! This module must never do I/O, look at storage, validate the patched
//! object (name, kind, schema) or build HTTP responses: it returns the patched
//! JSON or a [`PatchError`] that knows kube-apiserver's status code, and the
//! server decides what happens next. It must never guess merge keys for a
//! type it does not know: strategic merge patch on such a type (a custom
//! resource) is refused with 415, as upstream does.

use std::collections::{HashMap, HashSet};

use serde_json::map::Entry;
use serde_json::{Map, Value};

/// `Content-Type` of an RFC 6902 JSON patch.
pub const JSON_PATCH_CONTENT_TYPE: &str = "application/json-patch+json";
/// `Content-Type` of an RFC 7386 JSON merge patch.
pub const MERGE_PATCH_CONTENT_TYPE: &str = "application/merge-patch+json";
/// `Content-Type` of a Kubernetes strategic merge patch.
pub const STRATEGIC_MERGE_PATCH_CONTENT_TYPE: &str = "application/strategic-merge-patch+json";
/// `Content-Type` of a server-side apply request.
pub const APPLY_PATCH_CONTENT_TYPE: &str = "application/apply-patch+yaml";

/// kube-apiserver refuses JSON patches with more operations than this (413).
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// The media types kube-apiserver accepts for PATCH of a built-in type, in
/// the order its 415 message lists them.
const BUILT_IN_PATCH_TYPES: &[&str] = &[
    JSON_PATCH_CONTENT_TYPE,
    MERGE_PATCH_CONTENT_TYPE,
    STRATEGIC_MERGE_PATCH_CONTENT_TYPE,
    APPLY_PATCH_CONTENT_TYPE,
];

/// The media types accepted for PATCH of a custom resource: no strategic
/// merge patch, since there are no merge keys to merge by.
const CUSTOM_RESOURCE_PATCH_TYPES: &[&str] = &[
    JSON_PATCH_CONTENT_TYPE,
    MERGE_PATCH_CONTENT_TYPE,
    APPLY_PATCH_CONTENT_TYPE,
];

/// The status message kube-apiserver sends with a 422 for a patch that is
/// well-formed but cannot be applied (it hides the cause).
const UNPROCESSABLE_MESSAGE: &str =
    "the server rejected our request due to an error in our request";

/// The four kinds of PATCH request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatchType {
    /// RFC 6902 JSON patch: a JSON array of operations.
    Json,
    /// RFC 7386 JSON merge patch: a JSON object merged key by key.
    Merge,
    /// Kubernetes strategic merge patch: a merge patch that merges lists by
    /// key and understands `$patch` directives. Built-in types only.
    StrategicMerge,
    /// Server-side apply: a YAML (or JSON) object, the applier's full intent.
    Apply,
}

impl PatchType {
    /// The patch type for a request's `Content-Type`, ignoring parameters
    /// such as `; charset=utf-8` and letter case. `None` for anything else
    /// (the server answers 415 with [`accepted_patch_types`]).
    pub fn from_content_type(content_type: &str) -> Option<PatchType> {
        let essence = content_type
            .split_once(';')
            .map_or(content_type, |(essence, _)| essence)
            .trim();
        [
            PatchType::Json,
            PatchType::Merge,
            PatchType::StrategicMerge,
            PatchType::Apply,
        ]
        .into_iter()
        .find(|patch_type| patch_type.content_type().eq_ignore_ascii_case(essence))
    }

    /// The canonical `Content-Type` of this patch type.
    pub fn content_type(self) -> &'static str {
        match self {
            PatchType::Json => JSON_PATCH_CONTENT_TYPE,
            PatchType::Merge => MERGE_PATCH_CONTENT_TYPE,
            PatchType::StrategicMerge => STRATEGIC_MERGE_PATCH_CONTENT_TYPE,
            PatchType::Apply => APPLY_PATCH_CONTENT_TYPE,
        }
    }
}

/// The PATCH media types a resource accepts, in upstream's order: with
/// strategic merge patch for built-in types, without it for custom
/// resources. This is the `accepted` list of a 415 answer.
pub fn accepted_patch_types(strategic_merge: bool) -> &'static [&'static str] {
    if strategic_merge {
        BUILT_IN_PATCH_TYPES
    } else {
        CUSTOM_RESOURCE_PATCH_TYPES
    }
}

/// Why a patch could not be applied. `Display` is the `metav1.Status`
/// message kube-apiserver sends for the same failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// 400 BadRequest: the body cannot be read as a patch of its type (not
    /// JSON or YAML, not an array of operations, not an object), a strategic
    /// merge directive is malformed or unknown, a list element lacks its
    /// merge key, or an apply patch names the wrong `apiVersion`/`kind` or
    /// sets `metadata.managedFields`. (For the strategic-merge cases that
    /// upstream's merge library does not classify it answers 500 with the
    /// same text; a client error is a 400 here.)
    #[error("{0}")]
    BadRequest(String),
    /// 422 Invalid: the patch is well-formed but does not apply to this
    /// object: a JSON patch `test` failed, a path does not exist, an
    /// operation is unknown, or a strategic merge patch holds a list of
    /// lists. Upstream hides the cause from the client; `detail` keeps it
    /// for logs.
    #[error("{}", UNPROCESSABLE_MESSAGE)]
    Unprocessable {
        /// What went wrong, for logs only.
        detail: String,
    },
    /// 413 RequestEntityTooLarge: a JSON patch with more than
    /// [`MAX_JSON_PATCH_OPERATIONS`] operations.
    #[error(
        "The allowed maximum operations in a JSON patch is {max}, got {0}",
        max = MAX_JSON_PATCH_OPERATIONS
    )]
    TooManyOperations(usize),
    /// 415 UnsupportedMediaType: strategic merge patch on a type without
    /// patch merge keys (a custom resource). [`accepted_patch_types`]`(false)`
    /// lists what the client may send instead.
    #[error(
        "the body of the request was in an unknown format - accepted media types include: {}",
        CUSTOM_RESOURCE_PATCH_TYPES.join(", ")
    )]
    StrategicMergeUnsupported,
}

impl PatchError {
    /// The HTTP status code kube-apiserver answers with.
    pub fn http_code(&self) -> u16 {
        match self {
            PatchError::BadRequest(_) => 400,
            PatchError::Unprocessable { .. } => 422,
            PatchError::TooManyOperations(_) => 413,
            PatchError::StrategicMergeUnsupported => 415,
        }
    }

    /// The `metav1.StatusReason` of the answer.
    pub fn reason(&self) -> &'static str {
        match self {
            PatchError::BadRequest(_) => "BadRequest",
            PatchError::Unprocessable { .. } => "Invalid",
            PatchError::TooManyOperations(_) => "RequestEntityTooLarge",
            PatchError::StrategicMergeUnsupported => "UnsupportedMediaType",
        }
    }
}

fn bad_request(message: impl Into<String>) -> PatchError {
    PatchError::BadRequest(message.into())
}

/// Applies `patch_body` of type `patch_type` to `original` and returns the
/// patched object; `original` is left untouched.
///
/// `merge_keys` is the patch metadata of the object's type: the server
/// passes [`built_in_merge_keys`] for a built-in type and `None` for a
/// custom resource, which refuses strategic merge patch (415) and applies
/// apply patches as merge patches.
///
/// For an apply patch that creates the object, pass as `original` an object
/// holding only the request's `apiVersion` and `kind`: the applied object
/// must name the same ones, as upstream requires.
pub fn apply_patch(
    original: &Value,
    patch_body: &[u8],
    patch_type: PatchType,
    merge_keys: Option<&TypeMergeKeys>,
) -> Result<Value, PatchError> {
    match patch_type {
        PatchType::Json => apply_json_patch(original, patch_body),
        PatchType::Merge => apply_merge_patch(original, patch_body),
        PatchType::StrategicMerge => {
            let schema = merge_keys.ok_or(PatchError::StrategicMergeUnsupported)?;
            strategic_merge_patch(original, patch_body, schema)
        }
        PatchType::Apply => apply_configuration(original, patch_body, merge_keys),
    }
}

// ---------------------------------------------------------------------------
// JSON patch and JSON merge patch: the `json-patch` crate does the work; this
// layer gives its failures upstream's status codes.
// ---------------------------------------------------------------------------

fn apply_json_patch(original: &Value, body: &[u8]) -> Result<Value, PatchError> {
    let document: Value = serde_json::from_slice(body).map_err(|e| bad_request(e.to_string()))?;
    let Value::Array(operations) = document else {
        return Err(bad_request(
            "a JSON patch must be a JSON array of operations",
        ));
    };
    // Upstream decodes the body as a list of JSON objects (400 otherwise) and
    // only interprets each operation while applying it (422 on failure).
    if operations
        .iter()
        .any(|op| !(op.is_object() || op.is_null()))
    {
        return Err(bad_request(
            "a JSON patch must be a JSON array of operation objects",
        ));
    }
    if operations.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(PatchError::TooManyOperations(operations.len()));
    }
    let operations = operations
        .into_iter()
        .enumerate()
        .map(|(index, op)| {
            serde_json::from_value::<json_patch::PatchOperation>(op).map_err(|e| {
                PatchError::Unprocessable {
                    detail: format!("operation {index}: {e}"),
                }
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut patched = original.clone();
    json_patch::patch(&mut patched, &operations).map_err(|e| PatchError::Unprocessable {
        detail: e.to_string(),
    })?;
    Ok(patched)
}

/// Upstream's message for a merge patch body that is not a JSON object.
const BAD_MERGE_PATCH_MESSAGE: &str = "Invalid JSON Patch";

fn apply_merge_patch(original: &Value, body: &[u8]) -> Result<Value, PatchError> {
    let patch: Value =
        serde_json::from_slice(body).map_err(|_| bad_request(BAD_MERGE_PATCH_MESSAGE))?;
    // RFC 7386 lets a non-object patch replace the whole document; an API
    // object must stay an object, and upstream refuses such bodies too.
    if !patch.is_object() {
        return Err(bad_request(BAD_MERGE_PATCH_MESSAGE));
    }
    let mut patched = original.clone();
    json_patch::merge(&mut patched, &patch);
    Ok(patched)
}

// ---------------------------------------------------------------------------
// Server-side apply, approximated.
// ---------------------------------------------------------------------------

/// Applies an apply configuration (`application/apply-patch+yaml`) the way
/// this server approximates server-side apply: the applied object is merged
/// onto the live one as a strategic merge patch for built-in types and as a
/// JSON merge patch for custom resources.
///
/// What real server-side apply does and this does not:
/// - It records field ownership per field manager in `metadata.managedFields`
///   and updates it on every write; here `managedFields` is left as it was.
/// - It removes fields the same manager applied before and has now dropped
///   from its configuration; here omitted fields are kept (only an explicit
///   `null` removes a field, with merge patch semantics).
/// - It answers 409 Conflict when the configuration changes a field another
///   manager owns, unless `force=true`; here the applied value always wins.
/// - It merges lists by their OpenAPI `x-kubernetes-list-type`/`-map-keys`
///   (for example container ports keyed by `containerPort` *and* `protocol`,
///   custom resource lists keyed by their schema); here lists merge by the
///   strategic merge keys, and custom resource lists are replaced whole.
/// - It validates the configuration against the type's schema (unknown or
///   duplicate fields are errors); here that is left to the server's
///   validation of the result.
pub fn apply_configuration(
    original: &Value,
    body: &[u8],
    merge_keys: Option<&TypeMergeKeys>,
) -> Result<Value, PatchError> {
    let applied = match decode_yaml_or_json(body)? {
        Value::Object(applied) => applied,
        Value::Null => Map::new(),
        other => {
            return Err(bad_request(format!(
                "error decoding YAML: the apply configuration must be an object, not {}",
                json_type_name(&other)
            )));
        }
    };
    // Upstream checks the version against the request's group/version; the
    // live object (or the create stub, see `apply_patch`) carries it.
    if let Some(expected) = original.get("apiVersion").and_then(Value::as_str) {
        let specified = applied
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        if specified != expected {
            return Err(bad_request(format!(
                "Incorrect version specified in apply patch. Specified patch version: {specified}, expected: {expected}"
            )));
        }
    }
    if let Some(expected) = original.get("kind").and_then(Value::as_str) {
        let specified = applied.get("kind").and_then(Value::as_str).unwrap_or("");
        if specified != expected {
            return Err(bad_request(format!(
                "Incorrect kind specified in apply patch. Specified patch kind: {specified}, expected: {expected}"
            )));
        }
    }
    let managed_fields = applied
        .get("metadata")
        .and_then(|metadata| metadata.get("managedFields"));
    if managed_fields.is_some_and(|value| !value.is_null()) {
        return Err(bad_request("metadata.managedFields must be nil"));
    }
    match merge_keys {
        Some(schema) => Ok(Value::Object(merge_map(
            object_or_empty(original),
            applied,
            Some(schema),
        )?)),
        None => {
            let mut patched = original.clone();
            json_patch::merge(&mut patched, &Value::Object(applied));
            Ok(patched)
        }
    }
}

/// Reads an apply body: JSON as it is, anything else as a single YAML
/// document.
fn decode_yaml_or_json(body: &[u8]) -> Result<Value, PatchError> {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        return Ok(value);
    }
    serde_norway::from_slice::<Value>(body)
        .map_err(|e| bad_request(format!("error decoding YAML: {e}")))
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn object_or_empty(value: &Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    }
}

// ---------------------------------------------------------------------------
// Strategic merge patch.
//
// The semantics follow upstream's `strategicpatch.StrategicMergeMapPatch`
// with `MergeParallelList` and `IgnoreUnmatchedNulls`, as the patch handler
// uses it. One deliberate difference: where upstream copies a patch value
// verbatim because there is nothing to merge it into (a new field, a new
// list element, a `$patch: replace` map, a replaced list), this engine merges
// it into an empty value instead, so directives and `null`s never reach the
// stored object. Upstream relies on decoding into Go structs to drop them;
// this server stores JSON as it is.
// ---------------------------------------------------------------------------

/// `$patch: replace|delete|merge`.
const DIRECTIVE_MARKER: &str = "$patch";
/// `$retainKeys: [field, ...]`: drop every other field of the live map.
const RETAIN_KEYS_DIRECTIVE: &str = "$retainKeys";
/// `$deleteFromPrimitiveList/<field>: [value, ...]`.
const DELETE_FROM_PRIMITIVE_LIST_PREFIX: &str = "$deleteFromPrimitiveList";
/// `$setElementOrder/<field>: [...]`: the order of the merged list.
const SET_ELEMENT_ORDER_PREFIX: &str = "$setElementOrder";

const BAD_RETAIN_KEYS: &str = "invalid patch format of retainKeys";
const BAD_PRIMITIVE_LIST: &str = "invalid patch format of primitive list";
const BAD_SET_ELEMENT_ORDER: &str = "invalid patch format of setElementOrder list";

fn strategic_merge_patch(
    original: &Value,
    body: &[u8],
    schema: &TypeMergeKeys,
) -> Result<Value, PatchError> {
    let patch = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(patch)) => patch,
        Ok(Value::Null) => Map::new(),
        Ok(other) => {
            return Err(bad_request(format!(
                "a strategic merge patch must be a JSON object, not {}",
                json_type_name(&other)
            )));
        }
        Err(e) => return Err(bad_request(e.to_string())),
    };
    Ok(Value::Object(merge_map(
        object_or_empty(original),
        patch,
        Some(schema),
    )?))
}

/// The patch metadata the merge needs for one field; the default for a
/// field the table does not know (maps merged, lists replaced).
#[derive(Debug, Clone, Copy)]
struct FieldInfo {
    strategy: PatchStrategy,
    merge_key: Option<&'static str>,
    value_type: Option<&'static TypeMergeKeys>,
}

impl FieldInfo {
    const UNKNOWN: FieldInfo = FieldInfo {
        strategy: PatchStrategy::Default,
        merge_key: None,
        value_type: None,
    };

    fn of(schema: Option<&TypeMergeKeys>, name: &str) -> FieldInfo {
        schema
            .and_then(|schema| schema.field(name))
            .map_or(FieldInfo::UNKNOWN, |field| FieldInfo {
                strategy: field.strategy,
                merge_key: field.merge_key,
                value_type: field.value_type,
            })
    }
}

/// `<prefix>/<field>` -> `<field>`.
fn directive_target<'k>(key: &'k str, prefix: &str) -> Option<&'k str> {
    key.strip_prefix(prefix)?.strip_prefix('/')
}

fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: Option<&TypeMergeKeys>,
) -> Result<Map<String, Value>, PatchError> {
    if let Some(directive) = patch.remove(DIRECTIVE_MARKER) {
        return match directive.as_str() {
            Some("replace") => merge_map(Map::new(), patch, schema),
            Some("delete") => Ok(Map::new()),
            _ => Err(bad_request(format!(
                "unknown patch type: {directive} in map: {}",
                Value::Object(patch)
            ))),
        };
    }

    apply_retain_keys(&mut original, &mut patch)?;
    apply_set_element_order(&mut original, &mut patch, schema)?;

    for (key, value) in patch {
        let (key, is_delete_list) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX) {
            let target = directive_target(&key, DELETE_FROM_PRIMITIVE_LIST_PREFIX)
                .ok_or_else(|| bad_request(BAD_PRIMITIVE_LIST))?;
            (target.to_owned(), true)
        } else {
            (key, false)
        };
        if value.is_null() {
            original.remove(&key);
            continue;
        }
        let field = FieldInfo::of(schema, &key);
        match original.entry(key) {
            Entry::Vacant(slot) => {
                if !is_delete_list {
                    slot.insert(clean(value, &field)?);
                }
            }
            Entry::Occupied(mut slot) => {
                let live = slot.get_mut();
                match (live, value) {
                    (Value::Object(live), Value::Object(patch)) => {
                        let base = if field.strategy == PatchStrategy::Replace {
                            Map::new()
                        } else {
                            std::mem::take(live)
                        };
                        *live = merge_map(base, patch, field.value_type)?;
                    }
                    (Value::Array(live), Value::Array(patch)) => {
                        let taken = std::mem::take(live);
                        *live = merge_list_field(taken, patch, &field, is_delete_list)?;
                    }
                    (live, value) => {
                        if !is_delete_list {
                            *live = clean(value, &field)?;
                        }
                    }
                }
            }
        }
    }
    Ok(original)
}

/// `$retainKeys`: every field of the patch must be listed, and live fields
/// not listed are dropped before the merge.
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), PatchError> {
    let Some(retain) = patch.remove(RETAIN_KEYS_DIRECTIVE) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(bad_request(BAD_RETAIN_KEYS));
    };
    let retained: HashSet<&str> = retain.iter().filter_map(Value::as_str).collect();
    for (key, value) in patch.iter() {
        let exempt = value.is_null()
            || key.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX)
            || key.starts_with(SET_ELEMENT_ORDER_PREFIX);
        if !exempt && !retained.contains(key.as_str()) {
            return Err(bad_request(BAD_RETAIN_KEYS));
        }
    }
    original.retain(|key, _| retained.contains(key.as_str()));
    Ok(())
}

/// `$setElementOrder/<field>`: merges the list named by each directive
/// (removing it from the patch) and orders the result: listed items in the
/// directive's order, live items not listed kept near their live neighbours.
fn apply_set_element_order(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    schema: Option<&TypeMergeKeys>,
) -> Result<(), PatchError> {
    let directives: Vec<String> = patch
        .keys()
        .filter(|key| key.starts_with(SET_ELEMENT_ORDER_PREFIX))
        .cloned()
        .collect();
    for directive in directives {
        let Some(order) = patch.remove(&directive) else {
            continue;
        };
        let target = directive_target(&directive, SET_ELEMENT_ORDER_PREFIX)
            .ok_or_else(|| bad_request(BAD_SET_ELEMENT_ORDER))?
            .to_owned();
        let Value::Array(order) = order else {
            return Err(bad_request(BAD_SET_ELEMENT_ORDER));
        };
        let field = FieldInfo::of(schema, &target);
        let live = take_list(original, &target)?;
        let patch_list = take_list(patch, &target)?;
        if let Some(patch_list) = &patch_list {
            validate_set_element_order(patch_list, &order, field.merge_key)?;
        }
        // Identify items by merge key only in lists of objects.
        let sample = live.iter().chain(&patch_list).flatten().next();
        let key = field
            .merge_key
            .filter(|_| sample.is_some_and(Value::is_object));
        let live_positions = positions(live.as_deref().unwrap_or_default(), key)?;
        let merged = match (live, patch_list) {
            (None, None) => continue,
            (Some(live), None) => live,
            (live, Some(patch_list)) => {
                merge_list_field(live.unwrap_or_default(), patch_list, &field, false)?
            }
        };
        let ordered = order_elements(merged, &positions(&order, key)?, &live_positions, key)?;
        original.insert(target, Value::Array(ordered));
    }
    Ok(())
}

/// Removes and returns the list at `key`; an error if something else is
/// there.
fn take_list(map: &mut Map<String, Value>, key: &str) -> Result<Option<Vec<Value>>, PatchError> {
    match map.remove(key) {
        None => Ok(None),
        Some(Value::Array(list)) => Ok(Some(list)),
        Some(other) => Err(bad_request(format!(
            "expected a list for {key}, but received {}",
            json_type_name(&other)
        ))),
    }
}

/// Upstream's check that the patch list's items appear in the
/// `$setElementOrder` list and in the same relative order.
fn validate_set_element_order(
    patch_list: &[Value],
    order: &[Value],
    merge_key: Option<&str>,
) -> Result<(), PatchError> {
    if patch_list.is_empty() || order.is_empty() {
        return Ok(());
    }
    let items: Vec<&Value> = patch_list
        .iter()
        .filter(|item| merge_key.is_none() || !is_delete_directive(item))
        .collect();
    let (mut p, mut o) = (0, 0);
    while p < items.len() && o < order.len() {
        if has_directive_marker(items[p]) {
            p += 1;
            continue;
        }
        if identity(items[p], merge_key)? == identity(&order[o], merge_key)? {
            p += 1;
        }
        o += 1;
    }
    if p < items.len() {
        return Err(bad_request(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER_PREFIX} list:\n{}\n",
            Value::Array(patch_list.to_vec()),
            Value::Array(order.to_vec())
        )));
    }
    Ok(())
}

fn has_directive_marker(item: &Value) -> bool {
    item.get(DIRECTIVE_MARKER).is_some()
}

fn is_delete_directive(item: &Value) -> bool {
    item.get(DIRECTIVE_MARKER).and_then(Value::as_str) == Some("delete")
}

/// Merges a list field by its strategy. Delete lists
/// (`$deleteFromPrimitiveList`) are merged whatever the strategy says.
fn merge_list_field(
    live: Vec<Value>,
    patch: Vec<Value>,
    field: &FieldInfo,
    is_delete_list: bool,
) -> Result<Vec<Value>, PatchError> {
    if field.strategy == PatchStrategy::Merge || is_delete_list {
        merge_list(
            live,
            patch,
            field.merge_key,
            field.value_type,
            is_delete_list,
        )
    } else {
        let element = FieldInfo {
            value_type: field.value_type,
            ..FieldInfo::UNKNOWN
        };
        patch
            .into_iter()
            .map(|item| clean(item, &element))
            .collect()
    }
}

/// A patch value with nothing to merge into, merged into an empty value of
/// its kind: directives are carried out and `null`s dropped.
fn clean(value: Value, field: &FieldInfo) -> Result<Value, PatchError> {
    match value {
        Value::Object(map) => Ok(Value::Object(merge_map(Map::new(), map, field.value_type)?)),
        Value::Array(list) => Ok(Value::Array(merge_list_field(
            Vec::new(),
            list,
            field,
            false,
        )?)),
        scalar => Ok(scalar),
    }
}

/// The JSON kind of a list's elements, which must all be alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ElementKind {
    Null,
    Bool,
    Number,
    String,
    List,
    Object,
}

fn element_kind(value: &Value) -> ElementKind {
    match value {
        Value::Null => ElementKind::Null,
        Value::Bool(_) => ElementKind::Bool,
        Value::Number(_) => ElementKind::Number,
        Value::String(_) => ElementKind::String,
        Value::Array(_) => ElementKind::List,
        Value::Object(_) => ElementKind::Object,
    }
}

fn list_element_kind(live: &[Value], patch: &[Value]) -> Result<Option<ElementKind>, PatchError> {
    let mut kind = None;
    for item in live.iter().chain(patch) {
        let item_kind = element_kind(item);
        match kind {
            None if item_kind == ElementKind::List => {
                return Err(PatchError::Unprocessable {
                    detail: "lists of lists are not supported".to_owned(),
                });
            }
            None => kind = Some(item_kind),
            Some(kind) if kind != item_kind => {
                return Err(bad_request(format!(
                    "list element types are not identical: {} and {}",
                    Value::Array(live.to_vec()),
                    Value::Array(patch.to_vec())
                )));
            }
            Some(_) => {}
        }
    }
    Ok(kind)
}

/// What identifies a list element: its merge key's value, or itself.
fn identity<'v>(item: &'v Value, merge_key: Option<&str>) -> Result<&'v Value, PatchError> {
    match merge_key {
        None => Ok(item),
        Some(key) => item.get(key).ok_or_else(|| missing_merge_key(item, key)),
    }
}

/// A hashable stand-in for an identity (JSON values are not `Hash`), so
/// that ordering and de-duplicating a long list stays linear.
fn identity_key(item: &Value, merge_key: Option<&str>) -> Result<String, PatchError> {
    identity(item, merge_key).map(Value::to_string)
}

/// Identity -> index of its first occurrence in `list`.
fn positions(
    list: &[Value],
    merge_key: Option<&str>,
) -> Result<HashMap<String, usize>, PatchError> {
    let mut positions = HashMap::with_capacity(list.len());
    for (index, item) in list.iter().enumerate() {
        positions
            .entry(identity_key(item, merge_key)?)
            .or_insert(index);
    }
    Ok(positions)
}

fn missing_merge_key(item: &Value, key: &str) -> PatchError {
    bad_request(format!(
        "map: {item} does not contain declared merge key: {key}"
    ))
}

/// Merges two lists of a `patchStrategy: merge` field: objects by merge key,
/// scalars as a set (or, for a delete list, by removing the patch's values).
fn merge_list(
    mut live: Vec<Value>,
    patch: Vec<Value>,
    merge_key: Option<&str>,
    element_type: Option<&'static TypeMergeKeys>,
    is_delete_list: bool,
) -> Result<Vec<Value>, PatchError> {
    let Some(kind) = list_element_kind(&live, &patch)? else {
        return Ok(live);
    };

    if kind != ElementKind::Object {
        if is_delete_list {
            let doomed = positions(&patch, None)?;
            let mut kept = Vec::with_capacity(live.len());
            for item in live {
                if !doomed.contains_key(&identity_key(&item, None)?) {
                    kept.push(item);
                }
            }
            return Ok(kept);
        }
        let live_positions = positions(&live, None)?;
        let patch_positions = positions(&patch, None)?;
        let mut seen = HashSet::with_capacity(live.len() + patch.len());
        let mut merged = Vec::with_capacity(live.len() + patch.len());
        for item in live.into_iter().chain(patch) {
            if seen.insert(identity_key(&item, None)?) {
                merged.push(item);
            }
        }
        return order_elements(merged, &patch_positions, &live_positions, None);
    }

    let Some(key) = merge_key else {
        return Err(bad_request(
            "cannot merge lists without merge key for type map",
        ));
    };

    // Items with a `$patch` directive act on the live list; the rest merge.
    let mut doomed = HashSet::new();
    let mut replace = false;
    let mut items = Vec::with_capacity(patch.len());
    for item in patch {
        let Some(directive) = item.get(DIRECTIVE_MARKER) else {
            items.push(item);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                doomed.insert(identity_key(&item, Some(key))?);
            }
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(bad_request(
                    "merging lists cannot yet be specified in the patch",
                ));
            }
            _ => {
                return Err(bad_request(format!(
                    "unknown patch type: {directive} in map: {item}"
                )));
            }
        }
    }
    if !doomed.is_empty() {
        live.retain(|existing| {
            existing
                .get(key)
                .is_none_or(|id| !doomed.contains(&id.to_string()))
        });
    }
    if replace {
        // `$patch: replace` in a list: the other items are the whole list.
        let element = FieldInfo {
            value_type: element_type,
            ..FieldInfo::UNKNOWN
        };
        live = items
            .into_iter()
            .map(|item| clean(item, &element))
            .collect::<Result<_, _>>()?;
        items = Vec::new();
    }

    let live_positions = positions(&live, Some(key))?;
    let patch_positions = positions(&items, Some(key))?;
    let mut merged = live;
    let mut index = live_positions.clone();
    for item in items {
        let Value::Object(item) = item else {
            // `list_element_kind` saw only objects.
            continue;
        };
        let id = item.get(key).map(Value::to_string).unwrap_or_default();
        match index.get(&id) {
            Some(&at) => {
                let existing = match std::mem::take(&mut merged[at]) {
                    Value::Object(existing) => existing,
                    _ => Map::new(),
                };
                merged[at] = Value::Object(merge_map(existing, item, element_type)?);
            }
            None => {
                index.insert(id, merged.len());
                merged.push(Value::Object(merge_map(Map::new(), item, element_type)?));
            }
        }
    }
    order_elements(merged, &patch_positions, &live_positions, Some(key))
}

/// Upstream's list order after a merge: items the patch names come in the
/// patch's order; live items it does not name keep their live order and are
/// slotted in before the first patch item that follows them in the live
/// list. Items new to the list therefore come before the live items the
/// patch does not name, as upstream puts them (unless `$setElementOrder`
/// says otherwise).
fn order_elements(
    merged: Vec<Value>,
    patch_positions: &HashMap<String, usize>,
    live_positions: &HashMap<String, usize>,
    merge_key: Option<&str>,
) -> Result<Vec<Value>, PatchError> {
    // (position in the patch or in the live list, position in the live list, item)
    let mut from_patch = Vec::new();
    let mut live_only = Vec::new();
    for item in merged {
        let id = identity_key(&item, merge_key)?;
        let live_position = live_positions.get(&id).copied();
        match patch_positions.get(&id) {
            Some(&patch_position) => from_patch.push((patch_position, live_position, item)),
            None => live_only.push((live_position.unwrap_or(usize::MAX), live_position, item)),
        }
    }
    from_patch.sort_by_key(|(position, ..)| *position);
    live_only.sort_by_key(|(position, ..)| *position);

    let mut ordered = Vec::with_capacity(from_patch.len() + live_only.len());
    let mut live_only = live_only.into_iter().peekable();
    let mut from_patch = from_patch.into_iter().peekable();
    loop {
        let take_live = match (live_only.peek(), from_patch.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((_, live, _)), Some((_, patched, _))) => {
                matches!((live, patched), (Some(l), Some(p)) if l < p)
            }
        };
        let next = if take_live {
            live_only.next()
        } else {
            from_patch.next()
        };
        ordered.extend(next.map(|(_, _, item)| item));
    }
    Ok(ordered)
}

// ---------------------------------------------------------------------------
// Merge-key knowledge of the built-in types.
// ---------------------------------------------------------------------------

/// How a field's value is combined with the live value, upstream's
/// `patchStrategy` struct tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchStrategy {
    /// No tag: maps are merged key by key, lists are replaced whole.
    Default,
    /// `patchStrategy:"merge"`: lists of objects are merged by the merge
    /// key, lists of scalars as sets.
    Merge,
    /// `patchStrategy:"replace"`: the value is replaced whole, maps too.
    Replace,
}

/// The patch metadata of one field of a built-in type.
#[derive(Debug)]
pub struct FieldMergeKeys {
    /// The JSON field name.
    pub name: &'static str,
    /// The `patchStrategy` (without `retainKeys`, see below).
    pub strategy: PatchStrategy,
    /// The `patchMergeKey` of a list of objects, e.g. `name` for containers.
    pub merge_key: Option<&'static str>,
    /// Whether the strategy also says `retainKeys` (a union type whose
    /// clients send `$retainKeys`). The merge honours a `$retainKeys`
    /// directive wherever it appears; the flag is for OpenAPI publishing.
    pub retain_keys: bool,
    /// The type of the value (of each element, for a list), when it has
    /// fields with patch metadata of its own.
    pub value_type: Option<&'static TypeMergeKeys>,
}

/// The patch metadata of a built-in type: its fields whose strategy is not
/// the default or whose value type has such fields. Fields not listed merge
/// by default: maps key by key, lists replaced whole (for example `args`,
/// `envFrom`, `tolerations`, node `taints`, Endpoints `subsets`).
#[derive(Debug)]
pub struct TypeMergeKeys {
    /// The upstream Go type name, for messages and tests.
    pub name: &'static str,
    /// The fields with patch metadata.
    pub fields: &'static [FieldMergeKeys],
}

impl TypeMergeKeys {
    /// The patch metadata of one field.
    pub fn field(&self, name: &str) -> Option<&FieldMergeKeys> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// The patch metadata at a dotted field path, list elements being
    /// transparent: `spec.template.spec.containers.env`.
    pub fn field_at(&self, path: &str) -> Option<&FieldMergeKeys> {
        let mut segments = path.split('.');
        let mut field = self.field(segments.next()?)?;
        for segment in segments {
            field = field.value_type?.field(segment)?;
        }
        Some(field)
    }
}

const fn nested(name: &'static str, value_type: &'static TypeMergeKeys) -> FieldMergeKeys {
    FieldMergeKeys {
        name,
        strategy: PatchStrategy::Default,
        merge_key: None,
        retain_keys: false,
        value_type: Some(value_type),
    }
}

const fn merge_by(
    name: &'static str,
    merge_key: &'static str,
    element_type: Option<&'static TypeMergeKeys>,
) -> FieldMergeKeys {
    FieldMergeKeys {
        name,
        strategy: PatchStrategy::Merge,
        merge_key: Some(merge_key),
        retain_keys: false,
        value_type: element_type,
    }
}

const fn merge_set(name: &'static str) -> FieldMergeKeys {
    FieldMergeKeys {
        name,
        strategy: PatchStrategy::Merge,
        merge_key: None,
        retain_keys: false,
        value_type: None,
    }
}

const fn retain_keys(mut field: FieldMergeKeys) -> FieldMergeKeys {
    field.retain_keys = true;
    field
}

// The data below restates upstream's `patchStrategy`/`patchMergeKey` tags of
// k8s.io/api (core/v1, apps/v1, batch/v1) and k8s.io/apimachinery meta/v1.

static OBJECT_META: TypeMergeKeys = TypeMergeKeys {
    name: "ObjectMeta",
    fields: &[
        merge_set("finalizers"),
        merge_by("ownerReferences", "uid", None),
    ],
};

/// `Container` and `EphemeralContainer` carry the same tags.
static CONTAINER: TypeMergeKeys = TypeMergeKeys {
    name: "Container",
    fields: &[
        merge_by("ports", "containerPort", None),
        merge_by("env", "name", None),
        merge_by("volumeMounts", "mountPath", None),
        merge_by("volumeDevices", "devicePath", None),
    ],
};

static POD_SPEC: TypeMergeKeys = TypeMergeKeys {
    name: "PodSpec",
    fields: &[
        retain_keys(merge_by("volumes", "name", None)),
        merge_by("initContainers", "name", Some(&CONTAINER)),
        merge_by("containers", "name", Some(&CONTAINER)),
        merge_by("ephemeralContainers", "name", Some(&CONTAINER)),
        merge_by("imagePullSecrets", "name", None),
        merge_by("hostAliases", "ip", None),
        merge_by("topologySpreadConstraints", "topologyKey", None),
        merge_by("schedulingGates", "name", None),
        retain_keys(merge_by("resourceClaims", "name", None)),
    ],
};

static POD_STATUS: TypeMergeKeys = TypeMergeKeys {
    name: "PodStatus",
    fields: &[
        merge_by("conditions", "type", None),
        merge_by("podIPs", "ip", None),
        merge_by("hostIPs", "ip", None),
        retain_keys(merge_by("resourceClaimStatuses", "name", None)),
    ],
};

static POD: TypeMergeKeys = TypeMergeKeys {
    name: "Pod",
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("spec", &POD_SPEC),
        nested("status", &POD_STATUS),
    ],
};

static POD_TEMPLATE_SPEC: TypeMergeKeys = TypeMergeKeys {
    name: "PodTemplateSpec",
    fields: &[nested("metadata", &OBJECT_META), nested("spec", &POD_SPEC)],
};

static POD_TEMPLATE: TypeMergeKeys = TypeMergeKeys {
    name: "PodTemplate",
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("template", &POD_TEMPLATE_SPEC),
    ],
};

/// The status of every workload whose only tagged status list is
/// `conditions` (merged by `type`).
static CONDITIONS_STATUS: TypeMergeKeys = TypeMergeKeys {
    name: "Status",
    fields: &[merge_by("conditions", "type", None)],
};

/// The spec of a workload whose only tagged field is its pod template
/// (ReplicationController, ReplicaSet, StatefulSet, DaemonSet, Job).
static TEMPLATED_SPEC: TypeMergeKeys = TypeMergeKeys {
    name: "Spec",
    fields: &[nested("template", &POD_TEMPLATE_SPEC)],
};

/// ReplicationController, ReplicaSet, StatefulSet, DaemonSet and Job.
static TEMPLATED_WORKLOAD: TypeMergeKeys = TypeMergeKeys {
    name: "Workload",
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("spec", &TEMPLATED_SPEC),
        nested("status", &CONDITIONS_STATUS),
    ],
};

static DEPLOYMENT_SPEC: TypeMergeKeys = TypeMergeKeys {
    name: "DeploymentSpec",
    fields: &[
        nested("template", &POD_TEMPLATE_SPEC),
        FieldMergeKeys {
            name: "strategy",
            strategy: PatchStrategy::Default,
            merge_key: None,
            retain_keys: true,
            value_type: None,
        },
    ],
};

static DEPLOYMENT: TypeMergeKeys = TypeMergeKeys {
    name: "Deployment",
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("spec", &DEPLOYMENT_SPEC),
        nested("status", &CONDITIONS_STATUS),
    ],
};

static JOB_TEMPLATE_SPEC: TypeMergeKeys = TypeMergeKeys {
    name: "JobTemplateSpec",
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("spec", &TEMPLATED_SPEC),
    ],
};

static CRON_JOB_SPEC: TypeMergeKeys = TypeMergeKeys {
    name: "CronJobSpec",
    fields: &[nested("jobTemplate", &JOB_TEMPLATE_SPEC)],
};

static CRON_JOB: TypeMergeKeys = TypeMergeKeys {
    name: "CronJob",
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("spec", &CRON_JOB_SPEC),
    ],
};

static SERVICE_SPEC: TypeMergeKeys = TypeMergeKeys {
    name: "ServiceSpec",
    fields: &[merge_by("ports", "port", None)],
};

static SERVICE: TypeMergeKeys = TypeMergeKeys {
    name: "Service",
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("spec", &SERVICE_SPEC),
        nested("status", &CONDITIONS_STATUS),
    ],
};

static NODE_SPEC: TypeMergeKeys = TypeMergeKeys {
    name: "NodeSpec",
    fields: &[merge_set("podCIDRs")],
};

static NODE_STATUS: TypeMergeKeys = TypeMergeKeys {
    name: "NodeStatus",
    fields: &[
        merge_by("conditions", "type", None),
        merge_by("addresses", "type", None),
    ],
};

static NODE: TypeMergeKeys = TypeMergeKeys {
    name: "Node",
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("spec", &NODE_SPEC),
        nested("status", &NODE_STATUS),
    ],
};

/// Namespace and PersistentVolumeClaim: metadata and status conditions.
static WITH_STATUS_CONDITIONS: TypeMergeKeys = TypeMergeKeys {
    name: "ObjectWithStatusConditions",
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("status", &CONDITIONS_STATUS),
    ],
};

static SERVICE_ACCOUNT: TypeMergeKeys = TypeMergeKeys {
    name: "ServiceAccount",
    fields: &[
        nested("metadata", &OBJECT_META),
        merge_by("secrets", "name", None),
    ],
};

/// The patch metadata every built-in object has: `metadata` alone. Use it
/// (through [`built_in_merge_keys`]) for built-in kinds the table does not
/// list, such as ConfigMap, Secret or Endpoints (whose `subsets` have no
/// merge key and are replaced whole).
pub static BUILT_IN_OBJECT: TypeMergeKeys = TypeMergeKeys {
    name: "Object",
    fields: &[nested("metadata", &OBJECT_META)],
};

/// (API group, kind) -> patch metadata, for the built-in kinds with tagged
/// fields beyond `metadata`.
static BUILT_IN_KINDS: &[(&str, &str, &TypeMergeKeys)] = &[
    ("", "Pod", &POD),
    ("", "PodTemplate", &POD_TEMPLATE),
    ("", "ReplicationController", &TEMPLATED_WORKLOAD),
    ("", "Service", &SERVICE),
    ("", "Endpoints", &BUILT_IN_OBJECT),
    ("", "Node", &NODE),
    ("", "Namespace", &WITH_STATUS_CONDITIONS),
    ("", "PersistentVolumeClaim", &WITH_STATUS_CONDITIONS),
    ("", "ServiceAccount", &SERVICE_ACCOUNT),
    ("apps", "Deployment", &DEPLOYMENT),
    ("apps", "ReplicaSet", &TEMPLATED_WORKLOAD),
    ("apps", "StatefulSet", &TEMPLATED_WORKLOAD),
    ("apps", "DaemonSet", &TEMPLATED_WORKLOAD),
    ("batch", "Job", &TEMPLATED_WORKLOAD),
    ("batch", "CronJob", &CRON_JOB),
];

/// The patch metadata of a built-in kind this table describes, `None` for
/// any other kind. (Core group is `""`.)
pub fn merge_keys_for(group: &str, kind: &str) -> Option<&'static TypeMergeKeys> {
    BUILT_IN_KINDS
        .iter()
        .find(|(g, k, _)| *g == group && *k == kind)
        .map(|(_, _, keys)| *keys)
}

/// The patch metadata to use for a kind the server knows to be built in:
/// the table's entry, or [`BUILT_IN_OBJECT`] for kinds without tagged
/// fields beyond `metadata`. Never use it for custom resources.
pub fn built_in_merge_keys(group: &str, kind: &str) -> &'static TypeMergeKeys {
    merge_keys_for(group, kind).unwrap_or(&BUILT_IN_OBJECT)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "web",
                "namespace": "default",
                "labels": {"app": "web", "tier": "front"},
                "finalizers": ["a", "b"],
            },
            "spec": {
                "replicas": 2,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": "app:1",
                                "args": ["--a", "--b"],
                                "env": [
                                    {"name": "A", "value": "1"},
                                    {"name": "B", "value": "2"},
                                ],
                                "ports": [{"containerPort": 8080, "name": "http"}],
                                "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "100m"}},
                            },
                            {"name": "sidecar", "image": "sidecar:1"},
                        ],
                        "tolerations": [{"key": "k1", "operator": "Exists"}],
                        "volumes": [{"name": "data", "emptyDir": {}}],
                    },
                },
            },
        })
    }

    fn smp(original: &Value, patch: Value, keys: &TypeMergeKeys) -> Result<Value, PatchError> {
        apply_patch(
            original,
            patch.to_string().as_bytes(),
            PatchType::StrategicMerge,
            Some(keys),
        )
    }

    fn smp_deployment(patch: Value) -> Value {
        smp(&deployment(), patch, &DEPLOYMENT).unwrap()
    }

    fn containers(object: &Value) -> &Vec<Value> {
        object["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
    }

    fn names(list: &Value, key: &str) -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|item| item[key].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn patch_type_from_content_type() {
        let cases = [
            ("application/json-patch+json", Some(PatchType::Json)),
            ("application/merge-patch+json", Some(PatchType::Merge)),
            (
                "application/strategic-merge-patch+json",
                Some(PatchType::StrategicMerge),
            ),
            ("application/apply-patch+yaml", Some(PatchType::Apply)),
            (
                "application/merge-patch+json; charset=utf-8",
                Some(PatchType::Merge),
            ),
            ("Application/JSON-Patch+JSON", Some(PatchType::Json)),
            ("application/json", None),
            ("application/apply-patch+cbor", None),
            ("", None),
        ];
        for (content_type, want) in cases {
            assert_eq!(
                PatchType::from_content_type(content_type),
                want,
                "{content_type}"
            );
        }
        for patch_type in [
            PatchType::Json,
            PatchType::Merge,
            PatchType::StrategicMerge,
            PatchType::Apply,
        ] {
            assert_eq!(
                PatchType::from_content_type(patch_type.content_type()),
                Some(patch_type)
            );
        }
    }

    #[test]
    fn json_patch_operations() {
        let original = json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "data": {"k": "v"}});
        let cases = [
            (
                json!([{"op": "add", "path": "/metadata/labels/b", "value": "2"}]),
                json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}, "data": {"k": "v"}}),
            ),
            (
                json!([{"op": "remove", "path": "/data/k"}]),
                json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "data": {}}),
            ),
            (
                json!([
                    {"op": "test", "path": "/data/k", "value": "v"},
                    {"op": "replace", "path": "/data/k", "value": "w"},
                ]),
                json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "data": {"k": "w"}}),
            ),
            (
                json!([{"op": "add", "path": "/list", "value": []}, {"op": "add", "path": "/list/-", "value": 1}]),
                json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "data": {"k": "v"}, "list": [1]}),
            ),
            (
                json!([{"op": "move", "from": "/data/k", "path": "/data/m"}, {"op": "copy", "from": "/data/m", "path": "/data/n"}]),
                json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "data": {"m": "v", "n": "v"}}),
            ),
        ];
        for (patch, want) in cases {
            let got = apply_patch(
                &original,
                patch.to_string().as_bytes(),
                PatchType::Json,
                None,
            )
            .unwrap();
            assert_eq!(got, want, "{patch}");
        }
    }

    #[test]
    fn json_patch_failures() {
        let original = json!({"data": {"k": "v"}});
        let unprocessable = 422;
        let cases: [(&[u8], u16); 9] = [
            (
                br#"[{"op":"test","path":"/data/k","value":"other"}]"#,
                unprocessable,
            ),
            (
                br#"[{"op":"remove","path":"/data/missing"}]"#,
                unprocessable,
            ),
            (
                br#"[{"op":"replace","path":"/nope/k","value":1}]"#,
                unprocessable,
            ),
            (
                br#"[{"op":"add","path":"/a/b/c","value":1}]"#,
                unprocessable,
            ),
            (br#"[{"op":"frobnicate","path":"/data"}]"#, unprocessable),
            (br#"[null]"#, unprocessable),
            (b"not json", 400),
            (br#"{"op":"add","path":"/x","value":1}"#, 400),
            (br#"["add"]"#, 400),
        ];
        for (body, code) in cases {
            let err = apply_patch(&original, body, PatchType::Json, None).unwrap_err();
            assert_eq!(
                err.http_code(),
                code,
                "{}: {err:?}",
                String::from_utf8_lossy(body)
            );
        }
        let err = apply_patch(
            &original,
            br#"[{"op":"test","path":"/data/k","value":"other"}]"#,
            PatchType::Json,
            None,
        )
        .unwrap_err();
        assert_eq!(err.reason(), "Invalid");
        assert_eq!(
            err.to_string(),
            "the server rejected our request due to an error in our request"
        );
        let PatchError::Unprocessable { detail } = err else {
            panic!("want Unprocessable");
        };
        assert!(detail.contains("did not match"), "{detail}");
    }

    #[test]
    fn json_patch_operation_limit() {
        let ops =
            vec![json!({"op": "test", "path": "/a", "value": 1}); MAX_JSON_PATCH_OPERATIONS + 1];
        let body = Value::Array(ops).to_string();
        let err =
            apply_patch(&json!({"a": 1}), body.as_bytes(), PatchType::Json, None).unwrap_err();
        assert_eq!(
            err,
            PatchError::TooManyOperations(MAX_JSON_PATCH_OPERATIONS + 1)
        );
        assert_eq!(err.http_code(), 413);
        assert_eq!(
            err.to_string(),
            "The allowed maximum operations in a JSON patch is 10000, got 10001"
        );
    }

    #[test]
    fn merge_patch_semantics() {
        let original = json!({
            "metadata": {"name": "x", "labels": {"a": "1", "b": "2"}},
            "spec": {"list": [1, 2, 3], "nested": {"keep": true, "drop": 1}},
        });
        let cases = [
            (
                json!({"metadata": {"labels": {"a": null, "c": "3"}}}),
                json!({"metadata": {"name": "x", "labels": {"b": "2", "c": "3"}},
                       "spec": {"list": [1, 2, 3], "nested": {"keep": true, "drop": 1}}}),
            ),
            (
                json!({"spec": {"list": [9]}}),
                json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}},
                       "spec": {"list": [9], "nested": {"keep": true, "drop": 1}}}),
            ),
            (
                json!({"spec": {"nested": null, "new": {"x": 1, "gone": null}}}),
                json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}},
                       "spec": {"list": [1, 2, 3], "new": {"x": 1}}}),
            ),
            (json!({}), original.clone()),
        ];
        for (patch, want) in cases {
            let got = apply_patch(
                &original,
                patch.to_string().as_bytes(),
                PatchType::Merge,
                None,
            )
            .unwrap();
            assert_eq!(got, want, "{patch}");
        }
        for body in [&b"{not json"[..], b"[1]", b"null", b"\"x\""] {
            let err = apply_patch(&original, body, PatchType::Merge, None).unwrap_err();
            assert_eq!(err, PatchError::BadRequest("Invalid JSON Patch".to_owned()));
        }
    }

    #[test]
    fn smp_merges_containers_and_env_by_name() {
        let got = smp_deployment(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "app:2", "env": [{"name": "B", "value": "20"}]},
        ]}}}}));
        let list = containers(&got);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["name"], "app");
        assert_eq!(list[0]["image"], "app:2");
        assert_eq!(list[0]["args"], json!(["--a", "--b"]));
        assert_eq!(
            list[0]["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "20"}])
        );
        assert_eq!(list[1], json!({"name": "sidecar", "image": "sidecar:1"}));
        // Untouched fields survive.
        assert_eq!(got["spec"]["replicas"], 2);
        assert_eq!(got["metadata"]["labels"]["tier"], "front");
    }

    #[test]
    fn smp_new_list_items_come_first_as_upstream() {
        // Upstream puts items the patch adds before live items it does not
        // name (kubectl sends `$setElementOrder` when order matters).
        let got = smp_deployment(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "env": [{"name": "C", "value": "3"}]},
            {"name": "new", "image": "new:1"},
        ]}}}}));
        assert_eq!(
            names(&got["spec"]["template"]["spec"]["containers"], "name"),
            ["app", "new", "sidecar"]
        );
        assert_eq!(names(&containers(&got)[0]["env"], "name"), ["C", "A", "B"]);
    }

    #[test]
    fn smp_null_deletes_fields() {
        let got = smp_deployment(json!({
            "metadata": {"labels": {"tier": null, "absent": null}},
            "spec": {"strategy": null, "template": {"spec": {"containers": [
                {"name": "app", "resources": {"limits": null}, "ports": null},
            ]}}},
        }));
        assert_eq!(got["metadata"]["labels"], json!({"app": "web"}));
        assert!(got["spec"].get("strategy").is_none());
        let app = &containers(&got)[0];
        assert_eq!(app["resources"], json!({"requests": {"cpu": "100m"}}));
        assert!(app.get("ports").is_none());
    }

    #[test]
    fn smp_primitive_sets() {
        // (patch finalizers, expected) against live ["a", "b"].
        let cases = [
            (json!(["b", "c"]), json!(["a", "b", "c"])),
            (json!(["c"]), json!(["c", "a", "b"])),
            (json!(["a"]), json!(["a", "b"])),
            (json!([]), json!(["a", "b"])),
        ];
        for (finalizers, want) in cases {
            let got = smp_deployment(json!({"metadata": {"finalizers": finalizers}}));
            assert_eq!(got["metadata"]["finalizers"], want, "{finalizers}");
        }
    }

    #[test]
    fn smp_delete_from_primitive_list() {
        let got = smp_deployment(json!({"metadata": {
            "$deleteFromPrimitiveList/finalizers": ["a", "zzz"],
        }}));
        assert_eq!(got["metadata"]["finalizers"], json!(["b"]));
        // Nothing to delete from: nothing appears.
        let got = smp_deployment(json!({"metadata": {
            "$deleteFromPrimitiveList/absent": ["a"],
        }}));
        assert!(got["metadata"].get("absent").is_none());
        let err = smp(
            &deployment(),
            json!({"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}}),
            &DEPLOYMENT,
        )
        .unwrap_err();
        assert_eq!(err, PatchError::BadRequest(BAD_PRIMITIVE_LIST.to_owned()));
    }

    #[test]
    fn smp_owner_references_by_uid() {
        let original = json!({"metadata": {"ownerReferences": [
            {"uid": "1", "kind": "ReplicaSet", "name": "a"},
            {"uid": "2", "kind": "ReplicaSet", "name": "b"},
        ]}});
        let got = smp(
            &original,
            json!({"metadata": {"ownerReferences": [{"uid": "2", "controller": true}]}}),
            &POD,
        )
        .unwrap();
        assert_eq!(
            got["metadata"]["ownerReferences"],
            json!([
                {"uid": "1", "kind": "ReplicaSet", "name": "a"},
                {"uid": "2", "kind": "ReplicaSet", "name": "b", "controller": true},
            ])
        );
    }

    #[test]
    fn smp_service_ports_by_port() {
        let service = json!({"apiVersion": "v1", "kind": "Service", "spec": {"ports": [
            {"name": "http", "port": 80, "targetPort": 8080},
            {"name": "https", "port": 443, "targetPort": 8443},
        ]}});
        let got = smp(
            &service,
            json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}),
            merge_keys_for("", "Service").unwrap(),
        )
        .unwrap();
        assert_eq!(
            got["spec"]["ports"],
            json!([
                {"name": "http", "port": 80, "targetPort": 9090},
                {"name": "https", "port": 443, "targetPort": 8443},
            ])
        );
    }

    #[test]
    fn smp_container_ports_volumes_mounts_and_pull_secrets() {
        let pod = json!({"spec": {
            "containers": [{"name": "c", "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "volumeMounts": [{"mountPath": "/data", "name": "data"}]}],
            "volumes": [{"name": "data", "emptyDir": {}}],
            "imagePullSecrets": [{"name": "one"}],
        }});
        let got = smp(
            &pod,
            json!({"spec": {
                "containers": [{"name": "c",
                    "ports": [{"containerPort": 80, "name": "web"}],
                    "volumeMounts": [{"mountPath": "/data", "readOnly": true}]}],
                "volumes": [{"name": "cache", "emptyDir": {"medium": "Memory"}}],
                "imagePullSecrets": [{"name": "two"}],
            }}),
            &POD,
        )
        .unwrap();
        let c = &got["spec"]["containers"][0];
        assert_eq!(
            c["ports"],
            json!([{"containerPort": 80, "protocol": "TCP", "name": "web"}])
        );
        assert_eq!(
            c["volumeMounts"],
            json!([{"mountPath": "/data", "name": "data", "readOnly": true}])
        );
        assert_eq!(names(&got["spec"]["volumes"], "name"), ["cache", "data"]);
        assert_eq!(
            names(&got["spec"]["imagePullSecrets"], "name"),
            ["two", "one"]
        );
    }

    #[test]
    fn smp_lists_without_merge_strategy_are_replaced() {
        let got = smp_deployment(json!({"spec": {"template": {"spec": {
            "tolerations": [{"key": "k2", "operator": "Exists"}],
            "containers": [{"name": "app", "args": ["--c"]}],
        }}}}));
        assert_eq!(
            got["spec"]["template"]["spec"]["tolerations"],
            json!([{"key": "k2", "operator": "Exists"}])
        );
        assert_eq!(containers(&got)[0]["args"], json!(["--c"]));
    }

    #[test]
    fn smp_patch_directive_in_maps() {
        // `$patch: replace` replaces the map, `$patch: delete` empties it.
        let got = smp_deployment(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "resources": {"$patch": "replace", "limits": {"memory": "1Gi"}}},
        ]}}}}));
        assert_eq!(
            containers(&got)[0]["resources"],
            json!({"limits": {"memory": "1Gi"}})
        );

        let got = smp_deployment(json!({"metadata": {"labels": {"$patch": "delete"}}}));
        assert_eq!(got["metadata"]["labels"], json!({}));

        let err = smp(
            &deployment(),
            json!({"metadata": {"labels": {"$patch": "merge"}}}),
            &DEPLOYMENT,
        )
        .unwrap_err();
        assert_eq!(err.http_code(), 400);
        assert!(
            err.to_string().starts_with("unknown patch type: \"merge\""),
            "{err}"
        );
    }

    #[test]
    fn smp_patch_directive_in_lists() {
        let got = smp_deployment(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "sidecar", "$patch": "delete"},
        ]}}}}));
        assert_eq!(
            names(&got["spec"]["template"]["spec"]["containers"], "name"),
            ["app"]
        );

        let got = smp_deployment(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "only", "image": "only:1", "env": [{"name": "X", "value": null}]},
            {"$patch": "replace"},
        ]}}}}));
        assert_eq!(
            got["spec"]["template"]["spec"]["containers"],
            json!([{"name": "only", "image": "only:1", "env": [{"name": "X"}]}])
        );

        let cases = [
            (
                json!({"$patch": "merge"}),
                "merging lists cannot yet be specified in the patch",
            ),
            (
                json!({"$patch": "delete"}),
                "does not contain declared merge key: name",
            ),
            (
                json!({"name": "x", "$patch": "frobnicate"}),
                "unknown patch type",
            ),
        ];
        for (item, message) in cases {
            let err = smp(
                &deployment(),
                json!({"spec": {"template": {"spec": {"containers": [item]}}}}),
                &DEPLOYMENT,
            )
            .unwrap_err();
            assert_eq!(err.http_code(), 400, "{err}");
            assert!(err.to_string().contains(message), "{err}");
        }
    }

    #[test]
    fn smp_set_element_order() {
        let got = smp_deployment(json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "new"}, {"name": "app"}],
            "containers": [{"name": "new", "image": "new:1"}],
        }}}}));
        assert_eq!(
            names(&got["spec"]["template"]["spec"]["containers"], "name"),
            ["sidecar", "new", "app"]
        );

        let got = smp_deployment(json!({"metadata": {
            "$setElementOrder/finalizers": ["c", "b", "a"],
            "finalizers": ["c"],
        }}));
        assert_eq!(got["metadata"]["finalizers"], json!(["c", "b", "a"]));

        // The order list alone reorders live items.
        let got = smp_deployment(json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
        }}}}));
        assert_eq!(
            names(&got["spec"]["template"]["spec"]["containers"], "name"),
            ["sidecar", "app"]
        );

        let err = smp(
            &deployment(),
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "app"}],
                "containers": [{"name": "other", "image": "o:1"}],
            }}}}),
            &DEPLOYMENT,
        )
        .unwrap_err();
        assert_eq!(err.http_code(), 400);
        assert!(
            err.to_string()
                .contains("doesn't match $setElementOrder list"),
            "{err}"
        );
    }

    #[test]
    fn smp_as_kubectl_apply_sends_it() {
        // The shape of `kubectl apply` (client side) after the manifest
        // changed the image and dropped env var B.
        let got = smp_deployment(json!({
            "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}],
                "containers": [{
                    "$setElementOrder/env": [{"name": "A"}],
                    "env": [{"$patch": "delete", "name": "B"}],
                    "image": "app:2",
                    "name": "app",
                }],
            }}},
        }));
        let list = containers(&got);
        assert_eq!(
            names(&got["spec"]["template"]["spec"]["containers"], "name"),
            ["app", "sidecar"]
        );
        assert_eq!(list[0]["image"], "app:2");
        assert_eq!(list[0]["env"], json!([{"name": "A", "value": "1"}]));
        assert_eq!(
            got["metadata"]["annotations"],
            json!({"kubectl.kubernetes.io/last-applied-configuration": "{}"})
        );
    }

    #[test]
    fn smp_long_lists_stay_linear() {
        // A quadratic merge of lists this long would take minutes.
        let live: Vec<String> = (0..100_000).map(|i| format!("live-{i}")).collect();
        let patch: Vec<String> = (0..100_000).map(|i| format!("new-{i}")).collect();
        let got = smp(
            &json!({"metadata": {"finalizers": live}}),
            json!({"metadata": {"finalizers": patch}}),
            &POD,
        )
        .unwrap();
        let finalizers = got["metadata"]["finalizers"].as_array().unwrap();
        assert_eq!(finalizers.len(), 200_000);
        assert_eq!(finalizers[0], "new-0");
        assert_eq!(finalizers[199_999], "live-99999");
    }

    #[test]
    fn smp_retain_keys() {
        let got = smp_deployment(json!({"spec": {"strategy": {
            "$retainKeys": ["type"],
            "type": "Recreate",
        }}}));
        assert_eq!(got["spec"]["strategy"], json!({"type": "Recreate"}));

        for retain in [json!(["rollingUpdate"]), json!("type")] {
            let err = smp(
                &deployment(),
                json!({"spec": {"strategy": {"$retainKeys": retain, "type": "Recreate"}}}),
                &DEPLOYMENT,
            )
            .unwrap_err();
            assert_eq!(err, PatchError::BadRequest(BAD_RETAIN_KEYS.to_owned()));
        }
    }

    #[test]
    fn smp_cron_job_nested_pod_template() {
        let cron = json!({"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}],
        }}}}}});
        let got = smp(
            &cron,
            json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {
                "containers": [{"name": "b", "image": "b:2"}],
            }}}}}}),
            merge_keys_for("batch", "CronJob").unwrap(),
        )
        .unwrap();
        assert_eq!(
            got["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"],
            json!([{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:2"}])
        );
    }

    #[test]
    fn smp_new_values_carry_no_directives_or_nulls() {
        let got = smp(
            &json!({"metadata": {"name": "p"}}),
            json!({"metadata": {"labels": {"a": "1", "b": null}},
                   "spec": {"containers": [
                       {"name": "c", "env": [{"name": "X", "value": "1"}, {"name": "Y", "$patch": "delete"}],
                        "resources": {"$patch": "replace", "limits": {"cpu": null}}},
                   ]}}),
            &POD,
        )
        .unwrap();
        assert_eq!(
            got,
            json!({"metadata": {"name": "p", "labels": {"a": "1"}},
            "spec": {"containers": [
                {"name": "c", "env": [{"name": "X", "value": "1"}], "resources": {"limits": {}}},
            ]}})
        );
    }

    #[test]
    fn smp_structural_errors() {
        let cases = [
            (
                json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
                400,
            ),
            (
                json!({"spec": {"template": {"metadata": {"finalizers": [["a"]]}}}}),
                422,
            ),
            (json!({"metadata": {"finalizers": ["a", 1]}}), 400),
            (
                json!({"spec": {"template": {"spec": {"$setElementOrder/containers": "x"}}}}),
                400,
            ),
        ];
        for (patch, code) in cases {
            let err = smp(&deployment(), patch.clone(), &DEPLOYMENT).unwrap_err();
            assert_eq!(err.http_code(), code, "{patch}: {err:?}");
        }
        for body in [&b"not json"[..], b"[]", b"\"x\""] {
            let err = apply_patch(
                &deployment(),
                body,
                PatchType::StrategicMerge,
                Some(&DEPLOYMENT),
            )
            .unwrap_err();
            assert_eq!(err.http_code(), 400, "{err}");
        }
    }

    #[test]
    fn smp_refused_without_merge_keys() {
        let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"a": 1}});
        assert!(merge_keys_for("example.com", "Widget").is_none());
        let err = apply_patch(
            &widget,
            br#"{"spec":{"a":2}}"#,
            PatchType::StrategicMerge,
            merge_keys_for("example.com", "Widget"),
        )
        .unwrap_err();
        assert_eq!(err, PatchError::StrategicMergeUnsupported);
        assert_eq!(err.http_code(), 415);
        assert_eq!(err.reason(), "UnsupportedMediaType");
        assert_eq!(
            err.to_string(),
            "the body of the request was in an unknown format - accepted media types include: \
             application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
        );
        // The other patch types still work on it.
        let got = apply_patch(&widget, br#"{"spec":{"a":2}}"#, PatchType::Merge, None).unwrap();
        assert_eq!(got["spec"]["a"], 2);
    }

    #[test]
    fn apply_yaml_onto_deployment() {
        let body = b"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: app
        image: app:3
        env:
        - name: A
          value: \"10\"
";
        let got = apply_patch(&deployment(), body, PatchType::Apply, Some(&DEPLOYMENT)).unwrap();
        assert_eq!(got["spec"]["replicas"], 3);
        let list = containers(&got);
        assert_eq!(
            names(&got["spec"]["template"]["spec"]["containers"], "name"),
            ["app", "sidecar"]
        );
        assert_eq!(list[0]["image"], "app:3");
        assert_eq!(
            list[0]["env"],
            json!([{"name": "A", "value": "10"}, {"name": "B", "value": "2"}])
        );
        // Fields the configuration omits are kept (see the doc comment).
        assert_eq!(got["metadata"]["labels"]["tier"], "front");
    }

    #[test]
    fn apply_json_body_and_custom_resources() {
        let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget",
                            "metadata": {"name": "w"}, "spec": {"items": [1, 2], "keep": true}});
        let got = apply_patch(
            &widget,
            br#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"items":[3]}}"#,
            PatchType::Apply,
            None,
        )
        .unwrap();
        assert_eq!(got["spec"], json!({"items": [3], "keep": true}));

        // Creating through apply: the stub carries the request's apiVersion/kind.
        let stub = json!({"apiVersion": "example.com/v1", "kind": "Widget"});
        let got = apply_patch(
            &stub,
            b"apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
            PatchType::Apply,
            None,
        )
        .unwrap();
        assert_eq!(got["metadata"]["name"], "w");
    }

    #[test]
    fn apply_failures() {
        let cases: [(&[u8], &str); 5] = [
            (
                b"apiVersion: apps/v1beta1\nkind: Deployment\n",
                "Incorrect version specified in apply patch. Specified patch version: apps/v1beta1, expected: apps/v1",
            ),
            (
                b"kind: Deployment\n",
                "Incorrect version specified in apply patch. Specified patch version: , expected: apps/v1",
            ),
            (
                b"apiVersion: apps/v1\nkind: StatefulSet\n",
                "Incorrect kind specified in apply patch. Specified patch kind: StatefulSet, expected: Deployment",
            ),
            (
                b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  managedFields: []\n",
                "metadata.managedFields must be nil",
            ),
            (b"- a\n- b\n", "error decoding YAML"),
        ];
        for (body, message) in cases {
            let err =
                apply_patch(&deployment(), body, PatchType::Apply, Some(&DEPLOYMENT)).unwrap_err();
            assert_eq!(err.http_code(), 400);
            assert!(err.to_string().starts_with(message), "{err}");
        }
        let err = apply_patch(
            &deployment(),
            b"a: [unclosed",
            PatchType::Apply,
            Some(&DEPLOYMENT),
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("error decoding YAML: "),
            "{err}"
        );
    }

    #[test]
    fn merge_key_table() {
        // "group kind path mergeKey" ("-": no merge key, a set); all merge.
        let cases = [
            "apps Deployment spec.template.spec.containers name",
            "apps Deployment spec.template.spec.containers.env name",
            "apps StatefulSet spec.template.spec.containers.ports containerPort",
            "apps DaemonSet spec.template.spec.initContainers.volumeMounts mountPath",
            "apps ReplicaSet spec.template.spec.volumes name",
            "batch Job spec.template.spec.imagePullSecrets name",
            "batch CronJob spec.jobTemplate.spec.template.spec.ephemeralContainers.volumeDevices devicePath",
            "core ReplicationController spec.template.spec.hostAliases ip",
            "core PodTemplate template.spec.containers.env name",
            "core Pod metadata.finalizers -",
            "core Pod metadata.ownerReferences uid",
            "core Pod status.conditions type",
            "core Service spec.ports port",
            "core Node status.addresses type",
            "core Node spec.podCIDRs -",
            "core ServiceAccount secrets name",
        ];
        for case in cases {
            let [group, kind, path, merge_key] = case.split(' ').collect::<Vec<_>>()[..] else {
                panic!("bad case {case}");
            };
            let group = if group == "core" { "" } else { group };
            let merge_key = (merge_key != "-").then_some(merge_key);
            let field = merge_keys_for(group, kind)
                .and_then(|keys| keys.field_at(path))
                .unwrap_or_else(|| panic!("{case}"));
            assert_eq!(field.merge_key, merge_key, "{case}");
            assert_eq!(field.strategy, PatchStrategy::Merge, "{case}");
        }
        // Untagged lists have no entry: they are replaced.
        for path in [
            "spec.template.spec.tolerations",
            "spec.template.spec.containers.envFrom",
            "spec.template.spec.containers.args",
        ] {
            assert!(DEPLOYMENT.field_at(path).is_none(), "{path}");
        }
        assert!(DEPLOYMENT.field_at("spec.strategy").unwrap().retain_keys);
        assert!(POD.field_at("spec.volumes").unwrap().retain_keys);
        assert!(merge_keys_for("apps", "Widget").is_none());
        assert!(merge_keys_for("", "Deployment").is_none());
        let config_map = built_in_merge_keys("", "ConfigMap");
        assert_eq!(config_map.name, "Object");
        assert!(config_map.field_at("metadata.finalizers").is_some());
    }

    #[test]
    fn error_codes_and_reasons() {
        let cases = [
            (PatchError::BadRequest("x".to_owned()), 400, "BadRequest"),
            (
                PatchError::Unprocessable {
                    detail: "x".to_owned(),
                },
                422,
                "Invalid",
            ),
            (
                PatchError::TooManyOperations(1),
                413,
                "RequestEntityTooLarge",
            ),
            (
                PatchError::StrategicMergeUnsupported,
                415,
                "UnsupportedMediaType",
            ),
        ];
        for (err, code, reason) in cases {
            assert_eq!(err.http_code(), code);
            assert_eq!(err.reason(), reason);
        }
        assert_eq!(accepted_patch_types(true).len(), 4);
        assert!(!accepted_patch_types(false).contains(&STRATEGIC_MERGE_PATCH_CONTENT_TYPE));
    }
}

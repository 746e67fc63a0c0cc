//! Strategic merge patch as kube-apiserver applies it, driven by the
//! merge-key table of `merge_keys`.

use std::collections::{HashMap, HashSet};

use super::excerpt::{excerpt, excerpt_json};
use super::limits::{check_patch_depth, unprocessable};
use super::merge_keys::{PatchStrategy, TypeMergeKeys};
use super::types::{PatchError, bad_request};
use serde_json::map::Entry;
use serde_json::{Map, Value};

pub(crate) fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn object_or_empty(value: &Value) -> Map<String, Value> {
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

pub(crate) const BAD_RETAIN_KEYS: &str = "invalid patch format of retainKeys";
pub(crate) const BAD_PRIMITIVE_LIST: &str = "invalid patch format of primitive list";
const BAD_SET_ELEMENT_ORDER: &str = "invalid patch format of setElementOrder list";

pub(crate) fn strategic_merge_patch(
    original: &Value,
    body: &[u8],
    schema: &TypeMergeKeys,
) -> Result<Value, PatchError> {
    let patch = serde_json::from_slice::<Value>(body);
    if let Ok(patch) = &patch {
        check_patch_depth(patch)?;
    }
    let patch = match patch {
        Ok(Value::Object(patch)) => patch,
        Ok(Value::Null) => Map::new(),
        Ok(other) => {
            return Err(bad_request(format!(
                "a strategic merge patch must be a JSON object, not {}",
                json_type_name(&other)
            )));
        }
        Err(e) => return Err(bad_request(excerpt(&e.to_string()))),
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

pub(crate) fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: Option<&TypeMergeKeys>,
) -> Result<Map<String, Value>, PatchError> {
    if let Some(directive) = patch.remove(DIRECTIVE_MARKER) {
        return match directive.as_str() {
            Some("replace") => merge_map(Map::new(), patch, schema),
            Some("delete") => Ok(Map::new()),
            _ => Err(bad_request(format!(
                "unknown patch type: {} in map: {}",
                excerpt_json(&directive),
                excerpt_json(&patch)
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
            "expected a list for {}, but received {}",
            excerpt(key),
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
            excerpt_json(patch_list),
            excerpt_json(order)
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
                return Err(unprocessable("lists of lists are not supported"));
            }
            None => kind = Some(item_kind),
            Some(kind) if kind != item_kind => {
                return Err(bad_request(format!(
                    "list element types are not identical: {} and {}",
                    excerpt_json(live),
                    excerpt_json(patch)
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
        "map: {} does not contain declared merge key: {}",
        excerpt_json(item),
        excerpt(key)
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
                    "unknown patch type: {} in map: {}",
                    excerpt_json(directive),
                    excerpt_json(&item)
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

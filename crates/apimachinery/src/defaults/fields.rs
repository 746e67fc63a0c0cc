//! Small helpers over JSON objects for the defaulters: "set when unset"
//! with Go's three notions of unset (a missing or null pointer, an empty
//! string, a zero number), and walks over lists of objects.

use serde_json::{Map, Value};

/// Sets `key` unless it holds a value (a pointer field: only a missing or
/// null value is unset).
pub(super) fn or_ptr(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.to_owned(), value);
    }
}

/// Sets a string field that is missing, null or empty.
pub(super) fn or_str(map: &mut Map<String, Value>, key: &str, value: &str) {
    let unset = match map.get(key) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(_) => false,
    };
    if unset {
        map.insert(key.to_owned(), Value::String(value.to_owned()));
    }
}

/// Sets a number field that is missing, null or zero.
pub(super) fn or_zero(map: &mut Map<String, Value>, key: &str, value: i64) {
    let unset = match map.get(key) {
        None | Some(Value::Null) => true,
        Some(Value::Number(n)) => n.as_f64() == Some(0.0),
        Some(_) => false,
    };
    if unset {
        map.insert(key.to_owned(), Value::from(value));
    }
}

/// The object at `key`, created (as `{}`) when missing or null. `None`
/// when it holds something else: validation reports that, defaulting
/// leaves it alone.
pub(super) fn child<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> Option<&'a mut Map<String, Value>> {
    let v = map.entry(key.to_owned()).or_insert(Value::Null);
    if v.is_null() {
        *v = Value::Object(Map::new());
    }
    v.as_object_mut()
}

/// The object at `key` when there is one (never created).
pub(super) fn existing<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> Option<&'a mut Map<String, Value>> {
    map.get_mut(key).and_then(Value::as_object_mut)
}

/// Each object in the list at `key`.
pub(super) fn each<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = &'a mut Map<String, Value>> {
    map.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

/// A string field, or `""`.
pub(super) fn str_of<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

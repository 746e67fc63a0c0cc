//! `x-kubernetes-list-type: set | map`: the uniqueness of list elements
//! (upstream's schema/listtype).

use serde_json::{Map, Value};

use super::path::index;
use super::schema::Schema;
use super::values::first_repeats;
use crate::validation::FieldError;

// ---------------------------------------------------------------------------
// x-kubernetes-list-type: set | map (upstream's schema/listtype)
// ---------------------------------------------------------------------------

pub(crate) fn validate_lists(s: &Schema, v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                if let Some((p, field)) = s.field_schema(path, k) {
                    validate_lists(p, val, &field, errs);
                }
            }
        }
        Value::Array(items) => {
            match s.list_type.as_deref() {
                Some("set") => {
                    for i in first_repeats(items) {
                        errs.push(FieldError::duplicate(index(path, i), items[i].clone()));
                    }
                }
                Some("map") => validate_list_map(s, items, path, errs),
                _ => {}
            }
            if let Some(item_schema) = &s.items {
                for (i, item) in items.iter().enumerate() {
                    validate_lists(item_schema, item, &index(path, i), errs);
                }
            }
        }
        _ => {}
    }
}

/// Items must be objects (or null); their key tuples must be unique. The
/// reported value is the key map (`{"name":"http"}`; `{}` when the keys are
/// missing).
fn validate_list_map(s: &Schema, items: &[Value], path: &str, errs: &mut Vec<FieldError>) {
    if let Some((i, item)) = items
        .iter()
        .enumerate()
        .find(|(_, x)| !x.is_null() && !x.is_object())
    {
        errs.push(FieldError::invalid(
            index(path, i),
            item.clone(),
            "must be an object for an array of list-type map",
        ));
        return;
    }
    let keys: Vec<Value> = items
        .iter()
        .map(|item| {
            let mut key_map = Map::new();
            if let Some(obj) = item.as_object() {
                for k in &s.list_map_keys {
                    if let Some(v) = obj.get(k) {
                        key_map.insert(k.clone(), v.clone());
                    }
                }
            }
            Value::Object(key_map)
        })
        .collect();
    for i in first_repeats(&keys) {
        errs.push(FieldError::duplicate(index(path, i), keys[i].clone()));
    }
}

//! Defaulting: filling in the `default`s of a schema (upstream's structural
//! defaulting).

use serde_json::Value;

use super::schema::{AdditionalProperties, Schema};

// ---------------------------------------------------------------------------
// Defaulting
// ---------------------------------------------------------------------------

/// Applies `default` values as upstream's structural defaulting: a property
/// that is missing (or `null` without `nullable`) gets its default when its
/// parent object exists; defaults nest (a defaulted object gets its own
/// properties' defaults); `null` array items and map values take the items'
/// or `additionalProperties`' default. Nothing happens where the schema
/// says nothing (inside `x-kubernetes-preserve-unknown-fields` without
/// properties). Used on create, update and every read.
pub fn apply_defaults(schema: &Schema, obj: &mut Value) {
    default_node(obj, schema);
}

fn default_node(x: &mut Value, s: &Schema) {
    match x {
        Value::Object(map) => {
            for (k, p) in &s.properties {
                let Some(default) = &p.default else {
                    continue;
                };
                let missing = match map.get(k) {
                    None => true,
                    Some(Value::Null) => !p.nullable,
                    Some(_) => false,
                };
                if missing {
                    map.insert(k.clone(), default.clone());
                }
            }
            let extra = s
                .additional_properties
                .as_ref()
                .and_then(AdditionalProperties::schema);
            for (k, v) in map.iter_mut() {
                if let Some(p) = s.properties.get(k) {
                    default_node(v, p);
                } else if let Some(extra) = extra {
                    if v.is_null() && !extra.nullable {
                        *v = extra.default.clone().unwrap_or(Value::Null);
                    }
                    default_node(v, extra);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = &s.items {
                for v in items {
                    if v.is_null() && !item_schema.nullable {
                        *v = item_schema.default.clone().unwrap_or(Value::Null);
                    }
                    default_node(v, item_schema);
                }
            }
        }
        _ => {}
    }
}

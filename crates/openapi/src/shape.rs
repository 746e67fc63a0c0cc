//! Whether two versions of a kind hold the same data: their schemas compared
//! after dropping what does not change an object's content (descriptions,
//! `required`, group/version/kind claims, list and map merge hints) and
//! following every reference into the kind's own package, so
//! `io.k8s.api.networking.v1.IPAddressSpec` and `...v1beta1.IPAddressSpec`
//! compare by their contents. The conversion table of
//! `skewless-apimachinery` is checked against this.
//!
//! Pure and bounded: recursive references are compared by name.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::definitions::{Definitions, GroupVersionKind, Release};

/// Whether `a` and `b` (looked up for `release`, falling back to other
/// releases as every lookup does) have the same shape; `None` when either
/// has no schema.
pub fn same_shape(release: Release, a: &GroupVersionKind, b: &GroupVersionKind) -> Option<bool> {
    Some(shape_of(release, a)? == shape_of(release, b)?)
}

fn shape_of(release: Release, gvk: &GroupVersionKind) -> Option<Value> {
    let defs = Definitions::get();
    let name = defs.name_for(release, gvk)?;
    let package = name.strip_suffix(gvk.kind.as_str())?;
    let schema = defs.schema(release, name)?;
    Some(normalize(defs, release, package, schema, &BTreeSet::new()))
}

fn normalize(
    defs: &Definitions,
    release: Release,
    package: &str,
    schema: &Value,
    seen: &BTreeSet<String>,
) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    if let Some(target) = map.get("$ref").and_then(Value::as_str) {
        let name = target.rsplit('/').next().unwrap_or(target);
        let Some(local) = name.strip_prefix(package) else {
            return Value::String(name.to_owned());
        };
        if seen.contains(local) {
            return Value::String(format!("recursive {local}"));
        }
        let mut seen = seen.clone();
        seen.insert(local.to_owned());
        return match defs.schema(release, name) {
            Some(s) => normalize(defs, release, package, s, &seen),
            None => Value::String(format!("missing {local}")),
        };
    }
    let mut out = Map::new();
    for (key, value) in map {
        match key.as_str() {
            "type" | "format" => {
                out.insert(key.clone(), value.clone());
            }
            "items" | "additionalProperties" => {
                out.insert(key.clone(), normalize(defs, release, package, value, seen));
            }
            "properties" => {
                let props = value
                    .as_object()
                    .map(|p| {
                        p.iter()
                            .map(|(k, v)| (k.clone(), normalize(defs, release, package, v, seen)))
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert(key.clone(), Value::Object(props));
            }
            _ => {}
        }
    }
    Value::Object(out)
}

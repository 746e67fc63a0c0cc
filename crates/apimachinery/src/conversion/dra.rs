//! Dynamic resource allocation (`resource.k8s.io`): `v1beta1` ↔ `v1`
//! (`v1beta2` has `v1`'s schema), as upstream converts them. Two shapes
//! differ, everything else is the same:
//!
//! - a ResourceClaim's (and a ResourceClaimTemplate's `spec.spec`)
//!   `devices.requests[]`: `v1beta1` holds an exact request's fields
//!   (`deviceClassName`, `selectors`, `allocationMode`, `count`,
//!   `adminAccess`, `tolerations`, `capacity`) in the request itself, `v1`
//!   under `exactly`. A `v1beta1` request with `firstAvailable` has no
//!   exact part;
//! - a ResourceSlice's `spec.devices[]`: `v1beta1` holds everything but the
//!   name under `basic`, `v1` in the device itself.
//!
//! Pure; fields of the wrong type are left as they are.

use serde_json::{Map, Value};

/// Whether `version` has `v1beta1`'s shapes (`v1alpha3`, served until
/// 1.33, is the version `v1beta1` was copied from).
fn is_beta1(version: &str) -> bool {
    version == "v1beta1" || version == "v1alpha3"
}

pub(super) fn convert(kind: &str, from: &str, to: &str, mut obj: Value) -> Value {
    if is_beta1(from) == is_beta1(to) {
        return obj;
    }
    let to_beta1 = is_beta1(to);
    match kind {
        "ResourceClaim" => {
            if let Some(Value::Array(requests)) = obj.pointer_mut("/spec/devices/requests") {
                requests.iter_mut().for_each(|r| request(r, to_beta1));
            }
        }
        "ResourceClaimTemplate" => {
            if let Some(Value::Array(requests)) = obj.pointer_mut("/spec/spec/devices/requests") {
                requests.iter_mut().for_each(|r| request(r, to_beta1));
            }
        }
        "ResourceSlice" => {
            if let Some(Value::Array(devices)) = obj.pointer_mut("/spec/devices") {
                devices.iter_mut().for_each(|d| device(d, to_beta1));
            }
        }
        _ => {}
    }
    obj
}

/// One `DeviceRequest`: `exactly` flattened into it (to `v1beta1`) or its
/// exact fields gathered under `exactly` (from `v1beta1`, unless it has
/// `firstAvailable`).
fn request(r: &mut Value, to_beta1: bool) {
    let Value::Object(map) = r else {
        return;
    };
    if to_beta1 {
        if let Some(Value::Object(exact)) = map.remove("exactly") {
            map.extend(exact);
        }
        return;
    }
    let has_subrequests = map
        .get("firstAvailable")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if has_subrequests {
        return;
    }
    let keys: Vec<String> = map
        .keys()
        .filter(|k| !matches!(k.as_str(), "name" | "firstAvailable"))
        .cloned()
        .collect();
    let mut exact = Map::new();
    for k in keys {
        if let Some(v) = map.remove(&k) {
            exact.insert(k, v);
        }
    }
    map.insert("exactly".into(), Value::Object(exact));
}

/// One `Device`: everything but `name` moved under `basic` (to
/// `v1beta1`) or out of it (from `v1beta1`).
fn device(d: &mut Value, to_beta1: bool) {
    let Value::Object(map) = d else {
        return;
    };
    if to_beta1 {
        let keys: Vec<String> = map.keys().filter(|k| *k != "name").cloned().collect();
        let mut basic = Map::new();
        for k in keys {
            if let Some(v) = map.remove(&k) {
                basic.insert(k, v);
            }
        }
        map.insert("basic".into(), Value::Object(basic));
    } else if let Some(Value::Object(basic)) = map.remove("basic") {
        map.extend(basic);
    }
}

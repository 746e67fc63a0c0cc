//! `scheduling.k8s.io` Workload `v1alpha1` (served by 1.35 only) ↔
//! `v1alpha2` (1.36 only). Upstream replaced the alpha version without a
//! conversion (a 1.36 server cannot read what 1.35 stored); servers of both
//! releases share one storage here, so this maps what both express:
//! `spec.podGroups[] {name, policy}` ↔ `spec.podGroupTemplates[] {name,
//! schedulingPolicy}`. What only `v1alpha2` has (a template's
//! `disruptionMode`, `priority`, `priorityClassName`, `resourceClaims`,
//! `schedulingConstraints`) does not reach `v1alpha1` clients, and an update
//! through `v1alpha1` drops it. `v1alpha3` and `v1beta1` (1.37, one
//! schema) are not converted to or from the older alphas: 1.37 serves
//! neither of those, and no conversion is known to map them.
//!
//! Pure; fields of the wrong type are left as they are.

use serde_json::{Map, Value};

pub(super) fn convert(from: &str, to: &str, mut obj: Value) -> Value {
    let Some(Value::Object(spec)) = obj.get_mut("spec") else {
        return obj;
    };
    match (from, to) {
        ("v1alpha1", "v1alpha2") => {
            if let Some(Value::Array(groups)) = spec.remove("podGroups") {
                let templates = groups
                    .into_iter()
                    .map(|g| rename_policy(g, "policy", "schedulingPolicy"));
                spec.insert(
                    "podGroupTemplates".into(),
                    Value::Array(templates.collect()),
                );
            }
        }
        ("v1alpha2", "v1alpha1") => {
            if let Some(Value::Array(templates)) = spec.remove("podGroupTemplates") {
                let groups = templates.into_iter().map(|t| {
                    let Value::Object(t) = rename_policy(t, "schedulingPolicy", "policy") else {
                        return Value::Null;
                    };
                    let kept: Map<String, Value> = t
                        .into_iter()
                        .filter(|(k, _)| k == "name" || k == "policy")
                        .collect();
                    Value::Object(kept)
                });
                spec.insert("podGroups".into(), Value::Array(groups.collect()));
            }
        }
        _ => {}
    }
    obj
}

fn rename_policy(mut group: Value, from: &str, to: &str) -> Value {
    if let Value::Object(map) = &mut group
        && let Some(policy) = map.remove(from)
    {
        map.insert(to.to_owned(), policy);
    }
    group
}

//! Reconciliation of bootstrap ClusterRoles and ClusterRoleBindings against
//! what is stored, with upstream's `rbac.authorization.kubernetes.io/autoupdate`
//! semantics in the mode the API server's bootstrap hook uses (add what is
//! missing, never remove extra permissions).
//!
//! Functions of their inputs; they answer what to write and never write.
//! Everything in the stored object that reconciliation does not own is kept
//! byte for byte (resourceVersion, extra rules, extra labels).

use serde_json::{Map, Value};

use crate::escalation::covers;
use crate::objects::{BindingObject, RoleObject};
use crate::rule::Subject;

/// The object to write so `existing` holds what `desired` asks, or `None`
/// when nothing needs writing.
///
/// - missing: `desired` is created as is;
/// - annotated `autoupdate: "false"`: left alone;
/// - otherwise: missing labels and annotations are added (stored values
///   win), rules the stored ones do not cover are appended (broken down per
///   verb/group/resource, as upstream appends them), missing aggregation
///   selectors are appended, and an aggregation rule `desired` does not have
///   is removed (as upstream does). Aggregated bootstrap roles carry no
///   rules, so their rules stay owned by the aggregation controller.
///
/// A stored object that does not decode is left alone.
pub fn reconcile_cluster_role(existing: Option<&Value>, desired: &Value) -> Option<Value> {
    let Some(existing) = existing else {
        return Some(desired.clone());
    };
    let current = RoleObject::parse(existing)?;
    if current.metadata.autoupdate_disabled() {
        return None;
    }
    let wanted = RoleObject::parse(desired)?;
    let mut result = existing.clone();
    let mut changed = merge_metadata(&mut result, desired);

    let missing = covers(&current.rules, &wanted.rules);
    if !missing.is_empty() {
        let mut rules = current.rules.clone();
        rules.extend(missing);
        changed |= set_field(&mut result, "rules", serde_json::to_value(rules).ok()?);
    }

    match (&wanted.aggregation_rule, &current.aggregation_rule) {
        (None, Some(_)) => {
            if let Some(object) = result.as_object_mut() {
                object.remove("aggregationRule");
                changed = true;
            }
        }
        (Some(want), have) => {
            let mut selectors = have
                .as_ref()
                .map(|h| h.cluster_role_selectors.clone())
                .unwrap_or_default();
            let before = selectors.len();
            for selector in &want.cluster_role_selectors {
                if !selectors.contains(selector) {
                    selectors.push(selector.clone());
                }
            }
            if selectors.len() != before || have.is_none() {
                let rule = serde_json::json!({ "clusterRoleSelectors": selectors });
                changed |= set_field(&mut result, "aggregationRule", rule);
            }
        }
        (None, None) => {}
    }

    changed.then_some(result)
}

/// The binding to write so `existing` holds what `desired` asks, or `None`
/// when nothing needs writing.
///
/// - missing: `desired` is created as is;
/// - annotated `autoupdate: "false"`: left alone;
/// - otherwise: missing labels and annotations are added, subjects of
///   `desired` not already present (same kind, name and namespace) are
///   appended, and a different `roleRef` is replaced by the desired one.
///   `roleRef` is immutable, so when the returned object's `roleRef`
///   differs from the stored one the caller must delete and recreate the
///   binding (upstream's "recreate"), see [`role_ref_changed`].
///
/// A stored object that does not decode is left alone.
pub fn reconcile_cluster_role_binding(existing: Option<&Value>, desired: &Value) -> Option<Value> {
    let Some(existing) = existing else {
        return Some(desired.clone());
    };
    let current = BindingObject::parse(existing)?;
    if current.metadata.autoupdate_disabled() {
        return None;
    }
    let wanted = BindingObject::parse(desired)?;
    let mut result = existing.clone();
    let mut changed = merge_metadata(&mut result, desired);

    if current.role_ref != wanted.role_ref {
        let role_ref = desired.get("roleRef").cloned().unwrap_or(Value::Null);
        changed |= set_field(&mut result, "roleRef", role_ref);
    }

    let desired_subjects = desired
        .get("subjects")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut subjects: Vec<Value> = existing
        .get("subjects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let before = subjects.len();
    for (raw, subject) in desired_subjects.iter().zip(&wanted.subjects) {
        if !current.subjects.iter().any(|s| same_subject(s, subject)) {
            subjects.push(raw.clone());
        }
    }
    if subjects.len() != before {
        changed |= set_field(&mut result, "subjects", Value::Array(subjects));
    }

    changed.then_some(result)
}

/// Whether writing `updated` over `existing` changes the binding's immutable
/// `roleRef`, so it must be deleted and created instead of updated.
pub fn role_ref_changed(existing: &Value, updated: &Value) -> bool {
    existing.get("roleRef") != updated.get("roleRef")
}

/// Subjects are the same when kind, name and namespace agree; `apiGroup` is
/// a defaulted field and does not distinguish subjects in practice.
fn same_subject(a: &Subject, b: &Subject) -> bool {
    a.kind == b.kind && a.name == b.name && a.namespace == b.namespace
}

/// Adds to `target`'s labels and annotations every key of `desired`'s that
/// is missing; existing values win. Returns whether anything was added.
fn merge_metadata(target: &mut Value, desired: &Value) -> bool {
    let mut changed = false;
    for field in ["labels", "annotations"] {
        let Some(wanted) = desired
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Value::as_object)
            .filter(|w| !w.is_empty())
        else {
            continue;
        };
        let Some(metadata) = target
            .as_object_mut()
            .map(|o| {
                o.entry("metadata")
                    .or_insert_with(|| Value::Object(Map::new()))
            })
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        let slot = metadata
            .entry(field)
            .or_insert_with(|| Value::Object(Map::new()));
        if slot.is_null() {
            *slot = Value::Object(Map::new());
        }
        let Some(have) = slot.as_object_mut() else {
            continue;
        };
        for (key, value) in wanted {
            if !have.contains_key(key) {
                have.insert(key.clone(), value.clone());
                changed = true;
            }
        }
    }
    changed
}

/// Sets a top-level field; returns whether the value changed.
fn set_field(target: &mut Value, field: &str, value: Value) -> bool {
    match target.as_object_mut() {
        Some(object) if object.get(field) != Some(&value) => {
            object.insert(field.to_owned(), value);
            true
        }
        _ => false,
    }
}

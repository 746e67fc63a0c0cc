//! Conversion of built-in objects between the served versions of their
//! resource, and the version each resource is stored in.
//!
//! Every object in storage records the version it was encoded in (its
//! `apiVersion`); a server reading it converts to the version the client
//! asked for, and a write converts the client's version to the storage
//! version of the writing server's release. Which versions need more than a
//! new `apiVersion` is data ([`MULTI_VERSION`]): versions in one
//! [`MultiVersion::same_schema`] class have identical schemas (a test
//! proves it from the embedded OpenAPI schemas), the others are converted by
//! the pure functions of this module (HorizontalPodAutoscaler `v1` ↔ `v2`
//! in `hpa`, `resource.k8s.io` `v1beta1` ↔ `v1` in `dra`, Workload
//! `v1alpha1` ↔ `v1alpha2` in `workload`).
//!
//! This module never does I/O and never panics on what it converts: stored
//! objects and request bodies may be malformed, and a field of the wrong
//! type is treated as absent.

mod dra;
mod hpa;
mod table;
mod workload;

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests;

use serde_json::Value;

use crate::catalog::EmulatedVersion;
pub use table::{Between, MULTI_VERSION, MultiVersion};

/// Why an object could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversionError {
    /// The object is not a JSON object.
    #[error("the object to convert is not a JSON object")]
    NotAnObject,
    /// The object's `apiVersion` names another group.
    #[error("apiVersion {api_version:?} is not a version of group {group:?}")]
    OtherGroup {
        /// The object's `apiVersion`.
        api_version: String,
        /// The group of the resource.
        group: String,
    },
}

/// The multi-version entry of `group`/`kind`, if its resource is served in
/// more than one version.
pub fn multi_version(group: &str, kind: &str) -> Option<&'static MultiVersion> {
    MULTI_VERSION
        .iter()
        .find(|m| m.group == group && m.kind == kind)
}

/// The version `group`/`resource` is stored in by a server emulating
/// `release`; `served` (the version of the request) for resources served in
/// one version only.
pub fn storage_version(
    group: &str,
    resource: &str,
    release: EmulatedVersion,
    served: &str,
) -> String {
    MULTI_VERSION
        .iter()
        .find(|m| m.group == group && m.resource == resource)
        .map(|m| m.storage_version(release.version().minor).to_owned())
        .unwrap_or_else(|| served.to_owned())
}

/// Whether converting `group`/`kind` from version `from` to `to` changes
/// more than `apiVersion`.
pub fn needs_conversion(group: &str, kind: &str, from: &str, to: &str) -> bool {
    from != to
        && multi_version(group, kind)
            .is_some_and(|m| !m.same_class(from, to) && m.between != Between::Unconverted)
}

/// The version part of an `apiVersion` of `group` (`autoscaling/v2` → `v2`,
/// core `v1` → `v1`); `None` when it names another group.
pub fn version_of<'a>(group: &str, api_version: &'a str) -> Option<&'a str> {
    match api_version.split_once('/') {
        Some((g, v)) if g == group => Some(v),
        None if group.is_empty() => Some(api_version),
        _ => None,
    }
}

/// `apiVersion` of `version` in `group`.
pub fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}

/// Converts `obj` of `group`/`kind` to version `to`. The version it is in
/// is its `apiVersion`; without one (or an empty one), `assumed`. The result
/// carries `apiVersion` of `to`; `kind` and every field the conversion does
/// not concern are kept.
pub fn convert(
    group: &str,
    kind: &str,
    obj: Value,
    assumed: &str,
    to: &str,
) -> Result<Value, ConversionError> {
    let Value::Object(map) = &obj else {
        return Err(ConversionError::NotAnObject);
    };
    let from = match map.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => assumed.to_owned(),
        Some(av) => version_of(group, av)
            .ok_or_else(|| ConversionError::OtherGroup {
                api_version: av.to_owned(),
                group: group.to_owned(),
            })?
            .to_owned(),
    };
    let mut out = if needs_conversion(group, kind, &from, to) {
        match multi_version(group, kind).map(|m| m.between) {
            Some(Between::HorizontalPodAutoscaler) => hpa::convert(&from, to, obj),
            Some(Between::ResourceV1beta1) => dra::convert(kind, &from, to, obj),
            Some(Between::Workload) => workload::convert(&from, to, obj),
            _ => obj,
        }
    } else {
        obj
    };
    if let Value::Object(map) = &mut out {
        map.insert("apiVersion".into(), Value::String(api_version(group, to)));
    }
    Ok(out)
}

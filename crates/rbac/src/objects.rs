//! Typed views of the stored Role, ClusterRole, RoleBinding and
//! ClusterRoleBinding JSON: only the fields RBAC decisions read.
//!
//! Decoding never panics; an object that does not decode (or has no name) is
//! reported as `None` and the callers skip it.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use skewless_apimachinery::selector::MetaLabelSelector;

use crate::rule::{PolicyRule, Subject, null_as_default};

/// The annotation whose value `"false"` stops reconciliation of a
/// bootstrap object.
pub(crate) const AUTOUPDATE_ANNOTATION: &str = "rbac.authorization.kubernetes.io/autoupdate";

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Meta {
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) namespace: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(crate) labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(crate) annotations: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AggregationRule {
    #[serde(default, deserialize_with = "null_as_default")]
    pub(crate) cluster_role_selectors: Vec<MetaLabelSelector>,
}

/// A Role or ClusterRole.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RoleObject {
    #[serde(default)]
    pub(crate) metadata: Meta,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(crate) rules: Vec<PolicyRule>,
    #[serde(default)]
    pub(crate) aggregation_rule: Option<AggregationRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RoleRef {
    #[serde(default)]
    pub(crate) api_group: String,
    pub(crate) kind: String,
    pub(crate) name: String,
}

/// A RoleBinding or ClusterRoleBinding.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BindingObject {
    #[serde(default)]
    pub(crate) metadata: Meta,
    pub(crate) role_ref: RoleRef,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(crate) subjects: Vec<Subject>,
}

impl RoleObject {
    /// Decodes a role; `None` if it is malformed or unnamed.
    pub(crate) fn parse(value: &Value) -> Option<Self> {
        Self::deserialize(value)
            .ok()
            .filter(|role| !role.metadata.name.is_empty())
    }
}

impl BindingObject {
    /// Decodes a binding; `None` if it is malformed or unnamed.
    pub(crate) fn parse(value: &Value) -> Option<Self> {
        Self::deserialize(value)
            .ok()
            .filter(|binding| !binding.metadata.name.is_empty())
    }
}

impl Meta {
    /// Whether the object opted out of reconciliation.
    pub(crate) fn autoupdate_disabled(&self) -> bool {
        self.annotations
            .get(AUTOUPDATE_ANNOTATION)
            .is_some_and(|v| v == "false")
    }
}

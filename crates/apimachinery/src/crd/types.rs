//! The wire types of `apiextensions.k8s.io/v1` CustomResourceDefinitions,
//! their constants, and the status conditions the server sets.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The API group of CustomResourceDefinitions.
pub const GROUP: &str = "apiextensions.k8s.io";
/// The kind.
pub const KIND: &str = "CustomResourceDefinition";
/// The finalizer that keeps a deleted CRD until its objects are gone.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";
/// The annotation protected groups (`*.k8s.io`, `*.kubernetes.io`) need.
pub(crate) const API_APPROVAL_ANNOTATION: &str = "api-approved.kubernetes.io";

/// Condition type: the resource is served.
pub(crate) const ESTABLISHED: &str = "Established";
/// Condition type: the names are free of conflicts.
pub(crate) const NAMES_ACCEPTED: &str = "NamesAccepted";
/// Condition type: the CRD is being deleted with its objects.
#[cfg(test)]
pub(crate) const TERMINATING: &str = "Terminating";

/// The verbs of every custom resource, sorted.
pub(crate) const RESOURCE_VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// The verbs of the `status` and `scale` subresources.
pub(crate) const SUBRESOURCE_VERBS: [&str; 3] = ["get", "patch", "update"];

// ---------------------------------------------------------------------------
// Wire types
// ---------------------------------------------------------------------------

/// A CustomResourceDefinition. Decoding and re-encoding keeps every field
/// upstream's v1 type has (schemas stay raw JSON).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomResourceDefinition {
    /// `apiextensions.k8s.io/v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `CustomResourceDefinition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// ObjectMeta, untouched.
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// What the user asks for.
    #[serde(default)]
    pub spec: CustomResourceDefinitionSpec,
    /// What the server decided.
    #[serde(default)]
    pub status: CustomResourceDefinitionStatus,
}

/// `spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomResourceDefinitionSpec {
    /// API group, a DNS subdomain with at least one dot.
    #[serde(default)]
    pub group: String,
    /// Resource and kind names.
    #[serde(default)]
    pub names: CustomResourceDefinitionNames,
    /// `Namespaced` or `Cluster`.
    #[serde(default)]
    pub scope: String,
    /// The versions, each with its own schema and subresources.
    #[serde(default)]
    pub versions: Vec<CustomResourceDefinitionVersion>,
    /// Conversion between versions; only `None` is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion: Option<CustomResourceConversion>,
    /// Must not be true in v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_unknown_fields: Option<bool>,
}

/// Names of a custom resource (`spec.names`, `status.acceptedNames`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomResourceDefinitionNames {
    /// Plural resource name (the URL segment).
    #[serde(default)]
    pub plural: String,
    /// Singular name; defaults to the lowercased kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub singular: String,
    /// Short names for kubectl.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub short_names: Vec<String>,
    /// Kind.
    #[serde(default)]
    pub kind: String,
    /// List kind; defaults to `<kind>List`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub list_kind: String,
    /// Categories such as `all`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
}

/// One entry of `spec.versions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomResourceDefinitionVersion {
    /// Version name, a DNS-1035 label (`v1`, `v2beta1`).
    #[serde(default)]
    pub name: String,
    /// Whether the REST API serves it.
    #[serde(default)]
    pub served: bool,
    /// Whether objects are stored in it (exactly one).
    #[serde(default)]
    pub storage: bool,
    /// Requests get a `Warning` header.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deprecated: bool,
    /// Replaces the default deprecation warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecation_warning: Option<String>,
    /// The schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<CustomResourceValidation>,
    /// `status` and `scale`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subresources: Option<CustomResourceSubresources>,
    /// Table columns for `kubectl get`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_printer_columns: Vec<CustomResourceColumnDefinition>,
    /// Fields usable in field selectors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub selectable_fields: Vec<SelectableField>,
}

/// `schema`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomResourceValidation {
    /// The OpenAPI v3 schema, raw.
    #[serde(
        rename = "openAPIV3Schema",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub open_api_v3_schema: Option<Value>,
}

/// `subresources`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomResourceSubresources {
    /// Present (as `{}`) when `/status` is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Map<String, Value>>,
    /// Present when `/scale` is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<CustomResourceSubresourceScale>,
}

/// `subresources.scale`: where replicas and the selector live.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomResourceSubresourceScale {
    /// e.g. `.spec.replicas`.
    #[serde(default)]
    pub spec_replicas_path: String,
    /// e.g. `.status.replicas`.
    #[serde(default)]
    pub status_replicas_path: String,
    /// e.g. `.status.selector` (a label selector string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector_path: Option<String>,
}

/// `additionalPrinterColumns[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomResourceColumnDefinition {
    /// Column header.
    #[serde(default)]
    pub name: String,
    /// `integer`, `number`, `string`, `boolean` or `date`.
    #[serde(rename = "type", default)]
    pub type_: String,
    /// Optional OpenAPI format (`name` marks the primary column).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub format: String,
    /// Column description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// 0 shows by default, higher only with `-o wide`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: i32,
    /// Simple JSONPath evaluated against each object.
    #[serde(default)]
    pub json_path: String,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

/// `selectableFields[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectableField {
    /// e.g. `.spec.color`.
    #[serde(default)]
    pub json_path: String,
}

/// `conversion`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomResourceConversion {
    /// `None` (or `Webhook`, which this server rejects).
    #[serde(default)]
    pub strategy: String,
    /// Webhook settings, kept raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Value>,
}

/// `status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomResourceDefinitionStatus {
    /// `NamesAccepted`, `Established`, `Terminating`, ...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<CustomResourceDefinitionCondition>,
    /// The names actually served.
    #[serde(default)]
    pub accepted_names: CustomResourceDefinitionNames,
    /// Every version objects were ever stored in.
    #[serde(default)]
    pub stored_versions: Vec<String>,
}

/// One status condition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomResourceDefinitionCondition {
    /// Condition type.
    #[serde(rename = "type", default)]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// RFC 3339 time of the last status change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// Machine-readable reason.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The generation the condition describes, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl CustomResourceDefinitionCondition {
    /// A condition without a transition time (set by
    /// [`CustomResourceDefinitionStatus::set_condition`]).
    pub(crate) fn new(type_: &str, status: &str, reason: &str, message: &str) -> Self {
        Self {
            type_: type_.to_owned(),
            status: status.to_owned(),
            reason: reason.to_owned(),
            message: message.to_owned(),
            ..Self::default()
        }
    }
}

impl CustomResourceDefinitionStatus {
    /// The condition of `type_`, if present.
    pub(crate) fn condition(&self, type_: &str) -> Option<&CustomResourceDefinitionCondition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }

    /// Sets a condition as upstream's `SetCRDCondition`: the transition time
    /// (`now`, RFC 3339) changes only when the status does (or was unset);
    /// reason and message always follow.
    pub fn set_condition(&mut self, new: CustomResourceDefinitionCondition, now: &str) {
        match self.conditions.iter_mut().find(|c| c.type_ == new.type_) {
            None => self.conditions.push(CustomResourceDefinitionCondition {
                last_transition_time: Some(now.to_owned()),
                ..new
            }),
            Some(existing) => {
                if existing.status != new.status || existing.last_transition_time.is_none() {
                    existing.status = new.status;
                    existing.last_transition_time = Some(now.to_owned());
                }
                existing.reason = new.reason;
                existing.message = new.message;
                existing.observed_generation = new.observed_generation;
            }
        }
    }

    /// Removes the condition of `type_`.
    #[cfg(test)]
    pub(crate) fn remove_condition(&mut self, type_: &str) {
        self.conditions.retain(|c| c.type_ != type_);
    }
}

/// `Established=True` as upstream's establishing controller sets it.
pub fn established_condition() -> CustomResourceDefinitionCondition {
    CustomResourceDefinitionCondition::new(
        ESTABLISHED,
        "True",
        "InitialNamesAccepted",
        "the initial names have been accepted",
    )
}

/// `Terminating=True` when a delete request arrives.
#[cfg(test)]
pub(crate) fn terminating_pending_condition() -> CustomResourceDefinitionCondition {
    CustomResourceDefinitionCondition::new(
        TERMINATING,
        "True",
        "InstanceDeletionPending",
        "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
    )
}

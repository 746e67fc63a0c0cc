//! CustomResourceDefinitions (`apiextensions.k8s.io/v1`) as data: the wire
//! types, the validation of a CRD with upstream's field paths and messages,
//! the `NamesAccepted` decision of upstream's naming controller, and what the
//! server derives from an accepted CRD to serve it (catalog entries per served
//! version, schemas, printer columns and cells, scale and deprecation
//! warnings). The schema keywords themselves live in [`crate::structural`].
//!
//! Only conversion strategy `None` is accepted: all versions share the stored
//! objects and only `apiVersion` is rewritten. This module must never do I/O,
//! read the clock (callers pass timestamps), or panic on user input.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::catalog::{ResourceInfo, SubresourceInfo, compare_kube_aware_versions};
use crate::structural::{self, Schema, child, go_float, index, key};
use crate::validation::{
    FieldError, aggregate_messages, go_quote, is_dns1035_label, is_dns1123_subdomain,
};

/// The API group of CustomResourceDefinitions.
pub const GROUP: &str = "apiextensions.k8s.io";
/// The served version of CustomResourceDefinitions.
pub const VERSION: &str = "v1";
/// The kind.
pub const KIND: &str = "CustomResourceDefinition";
/// The finalizer that keeps a deleted CRD until its objects are gone.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";
/// The annotation protected groups (`*.k8s.io`, `*.kubernetes.io`) need.
pub const API_APPROVAL_ANNOTATION: &str = "api-approved.kubernetes.io";

/// Condition type: the resource is served.
pub const ESTABLISHED: &str = "Established";
/// Condition type: the names are free of conflicts.
pub const NAMES_ACCEPTED: &str = "NamesAccepted";
/// Condition type: the CRD is being deleted with its objects.
pub const TERMINATING: &str = "Terminating";

/// The verbs of every custom resource, sorted.
const RESOURCE_VERBS: [&str; 8] = [
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
const SUBRESOURCE_VERBS: [&str; 3] = ["get", "patch", "update"];

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
    pub fn new(type_: &str, status: &str, reason: &str, message: &str) -> Self {
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
    pub fn condition(&self, type_: &str) -> Option<&CustomResourceDefinitionCondition> {
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
    pub fn remove_condition(&mut self, type_: &str) {
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
pub fn terminating_pending_condition() -> CustomResourceDefinitionCondition {
    CustomResourceDefinitionCondition::new(
        TERMINATING,
        "True",
        "InstanceDeletionPending",
        "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
    )
}

/// `Terminating=True` while the objects are being deleted.
pub fn terminating_in_progress_condition() -> CustomResourceDefinitionCondition {
    CustomResourceDefinitionCondition::new(
        TERMINATING,
        "True",
        "InstanceDeletionInProgress",
        "CustomResource deletion is in progress",
    )
}

/// `Terminating=True` when deleting the objects failed (`detail` is the
/// cause).
pub fn terminating_failed_condition(detail: &str) -> CustomResourceDefinitionCondition {
    CustomResourceDefinitionCondition::new(
        TERMINATING,
        "True",
        "InstanceDeletionFailed",
        &format!("could not issue all deletes: {detail}"),
    )
}

/// `Terminating=False` once every object is gone (just before the finalizer
/// is removed).
pub fn terminating_completed_condition() -> CustomResourceDefinitionCondition {
    CustomResourceDefinitionCondition::new(
        TERMINATING,
        "False",
        "InstanceDeletionCompleted",
        "removed all instances",
    )
}

// ---------------------------------------------------------------------------
// Reading a CRD
// ---------------------------------------------------------------------------

impl CustomResourceDefinition {
    /// Decodes a CRD. A failure is a `400 Bad Request` (upstream: "...
    /// cannot be handled as a CustomResourceDefinition: ..."), not a 422.
    pub fn from_value(value: &Value) -> Result<Self, serde_json::Error> {
        Self::deserialize(value)
    }

    /// Encodes the CRD as JSON.
    pub fn to_value(&self) -> Value {
        // Only string-keyed maps and plain values: encoding cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        self.metadata
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata
            .get("annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
    }

    /// Whether objects live in namespaces.
    pub fn namespaced(&self) -> bool {
        self.spec.scope == "Namespaced"
    }

    /// The version called `name`.
    pub fn version(&self, name: &str) -> Option<&CustomResourceDefinitionVersion> {
        self.spec.versions.iter().find(|v| v.name == name)
    }

    /// Served versions, highest priority first (`v2 > v1 > v1beta1`), the
    /// order discovery lists them in.
    pub fn served_versions(&self) -> Vec<&CustomResourceDefinitionVersion> {
        let mut served: Vec<_> = self.spec.versions.iter().filter(|v| v.served).collect();
        served.sort_by(|a, b| compare_kube_aware_versions(&b.name, &a.name));
        served
    }

    /// The preferred version: the highest-priority served one.
    pub fn preferred_version(&self) -> Option<&str> {
        self.served_versions().first().map(|v| v.name.as_str())
    }

    /// The storage version.
    pub fn storage_version(&self) -> Option<&str> {
        self.spec
            .versions
            .iter()
            .find(|v| v.storage)
            .map(|v| v.name.as_str())
    }

    /// The raw `openAPIV3Schema` of a version.
    pub fn schema(&self, version: &str) -> Option<&Value> {
        self.version(version)?
            .schema
            .as_ref()?
            .open_api_v3_schema
            .as_ref()
    }

    /// The parsed schema of a version, to validate, prune and default its
    /// objects with. Parse once per CRD change and keep it.
    pub fn structural_schema(&self, version: &str) -> Option<Schema> {
        self.schema(version).map(Schema::from_json)
    }

    /// Whether a version has the `status` subresource.
    pub fn has_status_subresource(&self, version: &str) -> bool {
        self.version(version)
            .and_then(|v| v.subresources.as_ref())
            .is_some_and(|s| s.status.is_some())
    }

    /// A version's `scale` subresource.
    pub fn scale(&self, version: &str) -> Option<&CustomResourceSubresourceScale> {
        self.version(version)?.subresources.as_ref()?.scale.as_ref()
    }

    /// The table columns of a version after NAME (which is always first):
    /// its `additionalPrinterColumns`, or upstream's default `Age` column.
    pub fn printer_columns(&self, version: &str) -> Vec<CustomResourceColumnDefinition> {
        match self.version(version) {
            Some(v) if !v.additional_printer_columns.is_empty() => {
                v.additional_printer_columns.clone()
            }
            _ => vec![CustomResourceColumnDefinition {
                name: "Age".to_owned(),
                type_: "date".to_owned(),
                description: CREATION_TIMESTAMP_DESCRIPTION.to_owned(),
                json_path: ".metadata.creationTimestamp".to_owned(),
                ..CustomResourceColumnDefinition::default()
            }],
        }
    }

    /// `meta.k8s.io/v1` Table column definitions for a version, as
    /// upstream's table convertor builds them: `Name` (format `name`) first,
    /// then [`Self::printer_columns`] (a missing description becomes
    /// `Custom resource definition column (in JSONPath format): <path>`).
    pub fn table_column_definitions(&self, version: &str) -> Vec<Value> {
        let mut cols = vec![json!({
            "name": "Name",
            "type": "string",
            "format": "name",
            "description": OBJECT_META_NAME_DESCRIPTION,
            "priority": 0,
        })];
        cols.extend(self.printer_columns(version).into_iter().map(|c| {
            let description = if c.description.is_empty() {
                format!(
                    "Custom resource definition column (in JSONPath format): {}",
                    c.json_path
                )
            } else {
                c.description
            };
            json!({
                "name": c.name,
                "type": c.type_,
                "format": c.format,
                "description": description,
                "priority": c.priority,
            })
        }));
        cols
    }

    /// The cells of one Table row, matching
    /// [`Self::table_column_definitions`]: the object's name, then
    /// [`printer_cell`] for each column (`date` cells are raw timestamps for
    /// the server to render as ages).
    pub fn table_row_cells(&self, version: &str, obj: &Value) -> Vec<Value> {
        let name = obj
            .get("metadata")
            .and_then(|m| m.get("name"))
            .cloned()
            .unwrap_or(Value::Null);
        std::iter::once(name)
            .chain(
                self.printer_columns(version)
                    .iter()
                    .map(|c| printer_cell(c, obj)),
            )
            .collect()
    }

    /// The `Warning` header for requests to a deprecated version: its
    /// `deprecationWarning`, else upstream's default (`<group>/<version>
    /// <Kind> is deprecated; use <group>/<newer> <Kind>`).
    pub fn deprecation_warning(&self, version: &str) -> Option<String> {
        let v = self.version(version)?;
        if !v.deprecated {
            return None;
        }
        if let Some(w) = &v.deprecation_warning {
            return Some(w.clone());
        }
        let kind = &self.spec.names.kind;
        let group = &self.spec.group;
        let mut msg = format!("{group}/{version} {kind} is deprecated");
        let newer = self
            .spec
            .versions
            .iter()
            .filter(|o| {
                o.served && !o.deprecated && compare_kube_aware_versions(version, &o.name).is_lt()
            })
            .max_by(|a, b| compare_kube_aware_versions(&a.name, &b.name));
        if let Some(newer) = newer {
            msg.push_str(&format!("; use {group}/{} {kind}", newer.name));
        }
        Some(msg)
    }

    /// Whether the condition of `type_` is `True`.
    pub fn condition_true(&self, type_: &str) -> bool {
        self.status
            .condition(type_)
            .is_some_and(|c| c.status == "True")
    }

    /// Whether the resource is served (`Established=True`).
    pub fn is_established(&self) -> bool {
        self.condition_true(ESTABLISHED)
    }

    /// Catalog entries for the served versions (see [`resource_infos`]).
    pub fn resource_infos(&self) -> Vec<ResourceInfo> {
        resource_infos(self)
    }

    /// Upstream's create-time defaults: `singular` = lowercased kind,
    /// `listKind` = kind + `List`, conversion `None`, and `storedVersions`
    /// seeded with the storage version.
    pub fn set_defaults(&mut self) {
        let names = &mut self.spec.names;
        if names.singular.is_empty() {
            names.singular = names.kind.to_lowercase();
        }
        if names.list_kind.is_empty() && !names.kind.is_empty() {
            names.list_kind = format!("{}List", names.kind);
        }
        if self.spec.conversion.is_none() {
            self.spec.conversion = Some(CustomResourceConversion {
                strategy: "None".to_owned(),
                webhook: None,
            });
        }
        if self.status.stored_versions.is_empty()
            && let Some(storage) = self.storage_version()
        {
            self.status.stored_versions = vec![storage.to_owned()];
        }
    }

    /// On create, as upstream's strategy: the status starts empty except for
    /// the storage version in `storedVersions`.
    pub fn prepare_for_create(&mut self) {
        self.status = CustomResourceDefinitionStatus::default();
        self.add_storage_version_to_stored();
    }

    /// On update (not of `/status`), as upstream's strategy: the status is
    /// the old one, plus the (possibly new) storage version.
    pub fn prepare_for_update(&mut self, old: &CustomResourceDefinition) {
        self.status = old.status.clone();
        self.add_storage_version_to_stored();
    }

    /// Adds every version marked `storage` (one, once valid) that is not
    /// yet recorded.
    fn add_storage_version_to_stored(&mut self) {
        for v in &self.spec.versions {
            if v.storage && !self.status.stored_versions.contains(&v.name) {
                self.status.stored_versions.push(v.name.clone());
            }
        }
    }
}

/// ObjectMeta's `name` description, which upstream gives the `Name` column.
const OBJECT_META_NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";

/// ObjectMeta's `creationTimestamp` description, which upstream gives the
/// default `Age` column.
const CREATION_TIMESTAMP_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// One catalog entry per served version (highest priority first), with
/// upstream's discovery shape: the accepted names (`status.acceptedNames`;
/// nothing before names are accepted), scope, all eight verbs, and the
/// subresources `scale` (`autoscaling/v1` `Scale`) and `status` (the CRD's
/// own kind in its own group/version) where enabled. The server decides
/// whether to serve at all ([`CustomResourceDefinition::is_established`]).
pub fn resource_infos(crd: &CustomResourceDefinition) -> Vec<ResourceInfo> {
    let names = &crd.status.accepted_names;
    if names.plural.is_empty() || names.kind.is_empty() {
        return Vec::new();
    }
    let singular = if names.singular.is_empty() {
        names.kind.to_lowercase()
    } else {
        names.singular.clone()
    };
    let verbs = |vs: &[&str]| vs.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>();
    crd.served_versions()
        .into_iter()
        .map(|v| {
            let mut subresources = Vec::new();
            if let Some(sub) = &v.subresources {
                if sub.scale.is_some() {
                    subresources.push(SubresourceInfo {
                        name: "scale".to_owned(),
                        group: "autoscaling".to_owned(),
                        version: "v1".to_owned(),
                        kind: "Scale".to_owned(),
                        verbs: verbs(&SUBRESOURCE_VERBS),
                    });
                }
                if sub.status.is_some() {
                    subresources.push(SubresourceInfo {
                        name: "status".to_owned(),
                        group: crd.spec.group.clone(),
                        version: v.name.clone(),
                        kind: names.kind.clone(),
                        verbs: verbs(&SUBRESOURCE_VERBS),
                    });
                }
            }
            ResourceInfo {
                group: crd.spec.group.clone(),
                version: v.name.clone(),
                resource: names.plural.clone(),
                singular: singular.clone(),
                kind: names.kind.clone(),
                namespaced: crd.namespaced(),
                verbs: verbs(&RESOURCE_VERBS),
                short_names: names.short_names.clone(),
                categories: names.categories.clone(),
                subresources,
                since: None,
                until: None,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Validation of a CRD
// ---------------------------------------------------------------------------

/// Decodes and validates a CRD for create (see
/// [`CustomResourceDefinition::validate`]). A body that does not decode
/// yields one error at the root; servers should decode first and answer 400.
pub fn validate_crd(crd: &Value) -> Vec<FieldError> {
    match CustomResourceDefinition::from_value(crd) {
        Ok(crd) => crd.validate(),
        Err(e) => vec![FieldError::invalid(
            "",
            "",
            format!("cannot be handled as a CustomResourceDefinition: {e}"),
        )],
    }
}

impl CustomResourceDefinition {
    /// Validates a CRD for create, after [`Self::set_defaults`], with
    /// upstream's field paths: `metadata.name` is `<plural>.<group>`; the
    /// group is a DNS subdomain with a dot; scope, versions (unique DNS-1035
    /// names, exactly one storage version, a schema each), names, schemas
    /// ([`structural::validate_schema`]), subresources, printer columns,
    /// selectable fields, conversion (`None` only), protected-group approval.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let name = self.name();
        if name.is_empty() {
            errs.push(FieldError::required(
                "metadata.name",
                "name or generateName is required",
            ));
        } else {
            let mut msgs = is_dns1123_subdomain(name);
            if name != format!("{}.{}", self.spec.names.plural, self.spec.group) {
                msgs.push(r#"must be spec.names.plural+"."+spec.group"#.to_owned());
            }
            for msg in msgs {
                errs.push(FieldError::invalid("metadata.name", name, msg));
            }
        }
        self.validate_common(None, &mut errs);
        errs
    }

    /// Validates an update (after [`Self::prepare_for_update`]): everything
    /// [`Self::validate`] checks except the name rule, plus upstream's
    /// immutability (`spec.group`, `spec.names.plural`; `spec.scope` and
    /// `spec.names.kind` once established) and `status.storedVersions`.
    pub fn validate_update(&self, old: &CustomResourceDefinition) -> Vec<FieldError> {
        let mut errs = Vec::new();
        self.validate_common(Some(old), &mut errs);
        let mut immutable = |path: &str, new: &str, old: &str| {
            if new != old {
                errs.push(FieldError::invalid(path, new, "field is immutable"));
            }
        };
        if old.is_established() {
            immutable("spec.scope", &self.spec.scope, &old.spec.scope);
            immutable(
                "spec.names.kind",
                &self.spec.names.kind,
                &old.spec.names.kind,
            );
        }
        immutable("spec.group", &self.spec.group, &old.spec.group);
        immutable(
            "spec.names.plural",
            &self.spec.names.plural,
            &old.spec.names.plural,
        );
        errs.extend(validate_stored_versions(
            &self.status.stored_versions,
            &self.spec.versions,
        ));
        errs
    }

    fn validate_common(&self, old: Option<&CustomResourceDefinition>, errs: &mut Vec<FieldError>) {
        validate_spec(&self.spec, errs);
        validate_names(&self.status.accepted_names, "status.acceptedNames", errs);
        if old.is_none() && !self.status.stored_versions.is_empty() {
            errs.extend(validate_stored_versions(
                &self.status.stored_versions,
                &self.spec.versions,
            ));
        }
        errs.extend(self.validate_api_approval(old));
        let old_preserves = old.is_some_and(|o| o.spec.preserve_unknown_fields == Some(true));
        if !old_preserves && self.spec.preserve_unknown_fields == Some(true) {
            errs.push(FieldError::invalid(
                "spec.preserveUnknownFields",
                true,
                "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
            ));
        }
    }

    /// Protected groups need `api-approved.kubernetes.io` set to a URL or a
    /// reason starting with `unapproved`; unchanged states pass on update.
    fn validate_api_approval(&self, old: Option<&CustomResourceDefinition>) -> Vec<FieldError> {
        if !is_protected_group(&self.spec.group) {
            return Vec::new();
        }
        let state = approval_state(self.annotation(API_APPROVAL_ANNOTATION));
        if old.is_some_and(|o| approval_state(o.annotation(API_APPROVAL_ANNOTATION)) == state) {
            return Vec::new();
        }
        let path = key("metadata.annotations", API_APPROVAL_ANNOTATION);
        match state {
            Approval::Missing => vec![FieldError::required(
                path,
                format!(
                    "protected groups must have approval annotation {}, see https://github.com/kubernetes/enhancements/pull/1111",
                    go_quote(API_APPROVAL_ANNOTATION)
                ),
            )],
            Approval::Invalid => vec![FieldError::invalid(
                path,
                self.annotation(API_APPROVAL_ANNOTATION).unwrap_or(""),
                format!(
                    "protected groups must have approval annotation {} with either a URL or a reason starting with \"unapproved\", see https://github.com/kubernetes/enhancements/pull/1111",
                    go_quote(API_APPROVAL_ANNOTATION)
                ),
            )],
            Approval::Approved | Approval::Bypassed => Vec::new(),
        }
    }
}

fn is_protected_group(group: &str) -> bool {
    group == "k8s.io"
        || group.ends_with(".k8s.io")
        || group == "kubernetes.io"
        || group.ends_with(".kubernetes.io")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Approval {
    Missing,
    Bypassed,
    Approved,
    Invalid,
}

fn approval_state(value: Option<&str>) -> Approval {
    match value.unwrap_or("") {
        "" => Approval::Missing,
        v if v.starts_with("unapproved") => Approval::Bypassed,
        v if is_absolute_url(v) => Approval::Approved,
        _ => Approval::Invalid,
    }
}

/// `scheme://host...` with a non-empty host (Go's `ParseRequestURI` with a
/// scheme and host).
fn is_absolute_url(v: &str) -> bool {
    let Some((scheme, rest)) = v.split_once("://") else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    scheme_ok && !host.is_empty() && !v.contains(char::is_whitespace)
}

fn validate_spec(spec: &CustomResourceDefinitionSpec, errs: &mut Vec<FieldError>) {
    if spec.group.is_empty() {
        errs.push(FieldError::required("spec.group", ""));
    } else {
        let msgs = is_dns1123_subdomain(&spec.group);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(
                "spec.group",
                spec.group.as_str(),
                msgs.join(","),
            ));
        } else if !spec.group.contains('.') {
            errs.push(FieldError::invalid(
                "spec.group",
                spec.group.as_str(),
                "should be a domain with at least one dot",
            ));
        }
    }
    match spec.scope.as_str() {
        "" => errs.push(FieldError::required("spec.scope", "")),
        "Cluster" | "Namespaced" => {}
        other => errs.push(FieldError::not_supported(
            "spec.scope",
            other,
            &["Cluster", "Namespaced"],
        )),
    }
    for (i, v) in spec.versions.iter().enumerate() {
        if v.schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .is_none()
        {
            errs.push(FieldError::required(
                format!("spec.versions[{i}].schema.openAPIV3Schema"),
                "schemas are required",
            ));
        }
    }

    let mut seen = BTreeSet::new();
    let mut unique = true;
    let mut storage = 0;
    for (i, v) in spec.versions.iter().enumerate() {
        let path = index("spec.versions", i);
        if v.storage {
            storage += 1;
        }
        if !seen.insert(v.name.as_str()) {
            unique = false;
        }
        let msgs = is_dns1035_label(&v.name);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(
                child(&path, "name"),
                v.name.as_str(),
                msgs.join(","),
            ));
        }
        validate_version(v, &path, errs);
    }
    // Upstream echoes the whole versions list; the names are what matters.
    let version_names = || {
        Value::from(
            spec.versions
                .iter()
                .map(|v| v.name.clone())
                .collect::<Vec<_>>(),
        )
    };
    if !unique {
        errs.push(FieldError::invalid(
            "spec.versions",
            version_names(),
            "must contain unique version names",
        ));
    }
    if storage != 1 {
        errs.push(FieldError::invalid(
            "spec.versions",
            version_names(),
            "must have exactly one version marked as storage version",
        ));
    }

    for (field, value) in [
        ("plural", &spec.names.plural),
        ("singular", &spec.names.singular),
        ("kind", &spec.names.kind),
        ("listKind", &spec.names.list_kind),
    ] {
        if value.is_empty() {
            errs.push(FieldError::required(child("spec.names", field), ""));
        }
    }
    validate_names(&spec.names, "spec.names", errs);
    validate_conversion(spec.conversion.as_ref(), errs);
}

/// Upstream's `ValidateCustomResourceDefinitionNames` (for `spec.names` and
/// `status.acceptedNames`): DNS-1035 labels, mixed-case kinds.
fn validate_names(names: &CustomResourceDefinitionNames, path: &str, errs: &mut Vec<FieldError>) {
    let label = |errs: &mut Vec<FieldError>, field: String, value: &str| {
        let msgs = is_dns1035_label(value);
        if !value.is_empty() && !msgs.is_empty() {
            errs.push(FieldError::invalid(field, value, msgs.join(",")));
        }
    };
    let kind_like = |errs: &mut Vec<FieldError>, field: String, value: &str| {
        let msgs = is_dns1035_label(&value.to_lowercase());
        if !value.is_empty() && !msgs.is_empty() {
            errs.push(FieldError::invalid(
                field,
                value,
                format!(
                    "may have mixed case, but should otherwise match: {}",
                    msgs.join(",")
                ),
            ));
        }
    };
    label(errs, child(path, "plural"), &names.plural);
    label(errs, child(path, "singular"), &names.singular);
    kind_like(errs, child(path, "kind"), &names.kind);
    kind_like(errs, child(path, "listKind"), &names.list_kind);
    for (i, short) in names.short_names.iter().enumerate() {
        let msgs = is_dns1035_label(short);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(
                index(&child(path, "shortNames"), i),
                short.as_str(),
                msgs.join(","),
            ));
        }
    }
    if !names.kind.is_empty() && names.kind == names.list_kind {
        errs.push(FieldError::invalid(
            child(path, "listKind"),
            names.list_kind.as_str(),
            "kind and listKind may not be the same",
        ));
    }
    for (i, category) in names.categories.iter().enumerate() {
        let msgs = is_dns1035_label(category);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(
                index(&child(path, "categories"), i),
                category.as_str(),
                msgs.join(","),
            ));
        }
    }
}

fn validate_version(v: &CustomResourceDefinitionVersion, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(warning) = &v.deprecation_warning {
        for msg in deprecation_warning_errors(v.deprecated, warning) {
            errs.push(FieldError::invalid(
                child(path, "deprecationWarning"),
                warning.as_str(),
                msg,
            ));
        }
    }
    let status_enabled = v.subresources.as_ref().is_some_and(|s| s.status.is_some());
    let schema = v
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref());
    if let Some(schema) = schema {
        errs.extend(structural::validate_schema(
            schema,
            &child(path, "schema.openAPIV3Schema"),
            status_enabled,
        ));
    }
    if let Some(scale) = v.subresources.as_ref().and_then(|s| s.scale.as_ref()) {
        validate_scale_paths(scale, &child(path, "subresources"), errs);
    }
    for (i, col) in v.additional_printer_columns.iter().enumerate() {
        validate_column(
            col,
            &index(&child(path, "additionalPrinterColumns"), i),
            errs,
        );
    }
    if !v.selectable_fields.is_empty() {
        let sf_path = child(path, "selectableFields");
        match schema {
            None => errs.push(FieldError::invalid(
                sf_path,
                "",
                "selectableFields may only be set when version.schema.openAPIV3Schema is not included",
            )),
            Some(schema) => {
                validate_selectable_fields(&v.selectable_fields, &Schema::from_json(schema), &sf_path, errs);
            }
        }
    }
}

fn deprecation_warning_errors(deprecated: bool, warning: &str) -> Vec<String> {
    if !deprecated {
        return vec!["can only be set for deprecated versions".to_owned()];
    }
    let mut msgs = Vec::new();
    if warning.len() > 256 {
        msgs.push("must be <= 256 characters long".to_owned());
    }
    if warning.is_empty() {
        msgs.push("must not be an empty string".to_owned());
    }
    for (i, c) in warning.char_indices() {
        if c.is_control() {
            msgs.push(format!(
                "must only contain printable UTF-8 characters; control character found at index {i}"
            ));
            break;
        }
        if c != ' ' && c.is_whitespace() {
            msgs.push(format!(
                "must only contain printable UTF-8 characters; non-printable character found at index {i}"
            ));
            break;
        }
    }
    msgs
}

const PRINTER_COLUMN_TYPES: &str = "boolean,date,integer,number,string";
const PRINTER_COLUMN_FORMATS: [&str; 8] = [
    "byte",
    "date",
    "date-time",
    "double",
    "float",
    "int32",
    "int64",
    "password",
];

fn validate_column(col: &CustomResourceColumnDefinition, path: &str, errs: &mut Vec<FieldError>) {
    if col.name.is_empty() {
        errs.push(FieldError::required(child(path, "name"), ""));
    }
    let type_msg = format!("must be one of {PRINTER_COLUMN_TYPES}");
    if col.type_.is_empty() {
        errs.push(FieldError::required(child(path, "type"), type_msg));
    } else if !PRINTER_COLUMN_TYPES.split(',').any(|t| t == col.type_) {
        errs.push(FieldError::invalid(
            child(path, "type"),
            col.type_.as_str(),
            type_msg,
        ));
    }
    if !col.format.is_empty() && !PRINTER_COLUMN_FORMATS.contains(&col.format.as_str()) {
        errs.push(FieldError::invalid(
            child(path, "format"),
            col.format.as_str(),
            format!("must be one of {}", PRINTER_COLUMN_FORMATS.join(",")),
        ));
    }
    // Upstream reports the internal field name here.
    let json_path = child(path, "JSONPath");
    if col.json_path.is_empty() {
        errs.push(FieldError::required(json_path, ""));
    } else {
        errs.extend(simple_json_path_errors(&col.json_path, &json_path));
    }
}

fn simple_json_path_errors(s: &str, path: &str) -> Option<FieldError> {
    if s.is_empty() {
        Some(FieldError::invalid(path, s, "must not be empty"))
    } else if !s.starts_with('.') {
        Some(FieldError::invalid(
            path,
            s,
            "must be a simple json path starting with .",
        ))
    } else {
        None
    }
}

fn validate_scale_paths(
    scale: &CustomResourceSubresourceScale,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let checks = [
        (
            "scale.specReplicasPath",
            Some(&scale.spec_replicas_path),
            &[".spec."][..],
            "should be a json path under .spec",
        ),
        (
            "scale.statusReplicasPath",
            Some(&scale.status_replicas_path),
            &[".status."][..],
            "should be a json path under .status",
        ),
        (
            "scale.labelSelectorPath",
            scale.label_selector_path.as_ref(),
            &[".spec.", ".status."][..],
            "should be a json path under either .spec or .status",
        ),
    ];
    for (field, value, prefixes, msg) in checks {
        let p = child(path, field);
        match value.map(String::as_str) {
            None | Some("") if field == "scale.labelSelectorPath" => {}
            None | Some("") => errs.push(FieldError::required(p, "")),
            Some(v) => {
                if let Some(e) = simple_json_path_errors(v, &p) {
                    errs.push(e);
                } else if !prefixes.iter().any(|pre| v.starts_with(pre)) {
                    errs.push(FieldError::invalid(p, v, msg));
                }
            }
        }
    }
}

/// At most this many selectable fields per version.
const MAX_SELECTABLE_FIELDS: usize = 8;

fn validate_selectable_fields(
    fields: &[SelectableField],
    schema: &Schema,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let mut unique = BTreeSet::new();
    for (i, f) in fields.iter().enumerate() {
        let p = child(&index(path, i), "jsonPath");
        if f.json_path.is_empty() {
            errs.push(FieldError::required(p, ""));
            continue;
        }
        let Some(segments) = simple_field_path(&f.json_path) else {
            errs.push(FieldError::invalid(
                p,
                f.json_path.as_str(),
                "is an invalid path: must be a simple field path starting with .",
            ));
            continue;
        };
        let Some(target) = resolve_schema(schema, &segments) else {
            errs.push(FieldError::invalid(
                p,
                f.json_path.as_str(),
                "is an invalid path: does not refer to a valid field",
            ));
            continue;
        };
        if segments.first().map(String::as_str) == Some("metadata") {
            errs.push(FieldError::invalid(
                p.clone(),
                f.json_path.as_str(),
                "must not point to fields in metadata",
            ));
        }
        if !matches!(target.type_name(), Some("string" | "boolean" | "integer")) {
            errs.push(FieldError::invalid(
                p.clone(),
                f.json_path.as_str(),
                "must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed.",
            ));
        }
        if !unique.insert(segments.join(".")) {
            errs.push(FieldError::duplicate(p, f.json_path.as_str()));
        }
    }
    if unique.len() > MAX_SELECTABLE_FIELDS {
        errs.push(FieldError::too_many(
            path,
            Some(unique.len()),
            MAX_SELECTABLE_FIELDS,
        ));
    }
}

/// `.a.b.c` as segments; `None` for anything fancier.
fn simple_field_path(path: &str) -> Option<Vec<String>> {
    let rest = path.strip_prefix('.')?;
    let segments: Vec<String> = rest.split('.').map(str::to_owned).collect();
    segments
        .iter()
        .all(|s| !s.is_empty() && !s.contains(['[', ']']))
        .then_some(segments)
}

fn resolve_schema<'a>(schema: &'a Schema, segments: &[String]) -> Option<&'a Schema> {
    segments.iter().try_fold(schema, |s, seg| s.property(seg))
}

/// `status.storedVersions` on update: non-empty, holding the storage
/// version, and every entry still in `spec.versions`.
fn validate_stored_versions(
    stored: &[String],
    versions: &[CustomResourceDefinitionVersion],
) -> Vec<FieldError> {
    let path = "status.storedVersions";
    if stored.is_empty() {
        return vec![FieldError::invalid(
            path,
            Value::Array(Vec::new()),
            "must have at least one stored version",
        )];
    }
    let mut errs = Vec::new();
    for v in versions {
        if v.storage && !stored.contains(&v.name) {
            errs.push(FieldError::invalid(
                path,
                Value::from(stored.to_vec()),
                format!("must have the storage version {}", v.name),
            ));
        }
    }
    for (i, s) in stored.iter().enumerate() {
        if !versions.iter().any(|v| &v.name == s) {
            errs.push(FieldError::invalid(
                index(path, i),
                s.as_str(),
                format!(
                    "missing from spec.versions; {s} was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in {s} and removes {s} from status.storedVersions"
                ),
            ));
        }
    }
    errs
}

fn validate_conversion(conversion: Option<&CustomResourceConversion>, errs: &mut Vec<FieldError>) {
    let Some(conversion) = conversion else {
        return;
    };
    let path = "spec.conversion.strategy";
    match conversion.strategy.as_str() {
        "" => errs.push(FieldError::required(path, "")),
        "None" => {
            let webhook = conversion.webhook.as_ref();
            let set = |k: &str| webhook.and_then(|w| w.get(k)).is_some_and(|v| !v.is_null());
            if set("clientConfig") {
                errs.push(FieldError::forbidden(
                    "spec.conversion.webhookClientConfig",
                    "should not be set when strategy is not set to Webhook",
                ));
            }
            if webhook
                .and_then(|w| w.get("conversionReviewVersions"))
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
            {
                errs.push(FieldError::forbidden(
                    "spec.conversion.conversionReviewVersions",
                    "should not be set when strategy is not set to Webhook",
                ));
            }
        }
        "Webhook" => errs.push(FieldError::invalid(
            path,
            "Webhook",
            "Webhook conversion is not supported by this server; use \"None\" (all versions share the stored objects and only apiVersion differs)",
        )),
        other => errs.push(FieldError::not_supported(path, other, &["None"])),
    }
}

// ---------------------------------------------------------------------------
// Names: the NamesAccepted decision
// ---------------------------------------------------------------------------

/// The outcome of upstream's naming controller for one CRD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamesDecision {
    /// The names to record in `status.acceptedNames`: each requested name
    /// that is free (or already ours), the old accepted one otherwise.
    pub accepted_names: CustomResourceDefinitionNames,
    /// `NamesAccepted`: `True`/`NoConflicts`, or `False` with
    /// `PluralConflict`, `SingularConflict`, `ShortNamesConflict`,
    /// `KindConflict` or `ListKindConflict` and `"<name>" is already in use`.
    pub names_accepted: CustomResourceDefinitionCondition,
    /// `Established` to record alongside: kept if already `True`, else
    /// `False` with `Installing` (names accepted) or `NotAccepted`.
    pub established: CustomResourceDefinitionCondition,
}

/// Computes `status.acceptedNames` and the `NamesAccepted`/`Established`
/// conditions as upstream's naming controller does, against the accepted
/// names of the other CRDs of the same group (`existing`; the CRD itself may
/// be among them) and, beyond upstream, against built-in resources:
/// `built_in(group, name)` says whether a built-in resource of `group` uses
/// `name` as plural, singular or short name. Kinds are checked against CRDs
/// only.
pub fn calculate_names(
    crd: &CustomResourceDefinition,
    existing: &[&CustomResourceDefinition],
    built_in: impl Fn(&str, &str) -> bool,
) -> NamesDecision {
    let group = crd.spec.group.as_str();
    let mut resources: BTreeSet<&str> = BTreeSet::new();
    let mut kinds: BTreeSet<&str> = BTreeSet::new();
    for other in existing.iter().filter(|o| o.spec.group == group) {
        let a = &other.status.accepted_names;
        resources.insert(&a.plural);
        resources.insert(&a.singular);
        resources.extend(a.short_names.iter().map(String::as_str));
        kinds.insert(&a.kind);
        kinds.insert(&a.list_kind);
    }
    let resource_used = |name: &str| resources.contains(name) || built_in(group, name);
    let kind_used = |name: &str| kinds.contains(name);
    let fresh = |requested: &str, accepted: &str, used: &dyn Fn(&str) -> bool| {
        if requested == accepted || !used(requested) {
            Ok(())
        } else {
            Err(format!("{} is already in use", go_quote(requested)))
        }
    };

    let requested = &crd.spec.names;
    let accepted = &crd.status.accepted_names;
    let mut names = accepted.clone();
    let mut condition = CustomResourceDefinitionCondition::new(NAMES_ACCEPTED, "Unknown", "", "");
    let mut conflict = |reason: &str, message: String| {
        condition.status = "False".to_owned();
        condition.reason = reason.to_owned();
        condition.message = message;
    };

    match fresh(&requested.plural, &accepted.plural, &resource_used) {
        Ok(()) => names.plural = requested.plural.clone(),
        Err(m) => conflict("PluralConflict", m),
    }
    match fresh(&requested.singular, &accepted.singular, &resource_used) {
        Ok(()) => names.singular = requested.singular.clone(),
        Err(m) => conflict("SingularConflict", m),
    }
    if requested.short_names != accepted.short_names {
        let errors: Vec<String> = requested
            .short_names
            .iter()
            .filter(|s| !accepted.short_names.contains(s))
            .filter_map(|s| fresh(s, "", &resource_used).err())
            .collect();
        if errors.is_empty() {
            names.short_names = requested.short_names.clone();
        } else {
            conflict("ShortNamesConflict", aggregate_messages(errors));
        }
    }
    match fresh(&requested.kind, &accepted.kind, &kind_used) {
        Ok(()) => names.kind = requested.kind.clone(),
        Err(m) => conflict("KindConflict", m),
    }
    match fresh(&requested.list_kind, &accepted.list_kind, &kind_used) {
        Ok(()) => names.list_kind = requested.list_kind.clone(),
        Err(m) => conflict("ListKindConflict", m),
    }
    names.categories = requested.categories.clone();

    if condition.status == "Unknown" {
        condition.status = "True".to_owned();
        condition.reason = "NoConflicts".to_owned();
        condition.message = "no conflicts found".to_owned();
    }

    let mut established = crd
        .status
        .condition(ESTABLISHED)
        .cloned()
        .unwrap_or_else(|| {
            CustomResourceDefinitionCondition::new(
                ESTABLISHED,
                "False",
                "NotAccepted",
                "not all names are accepted",
            )
        });
    if established.status != "True" && condition.status == "True" {
        established = CustomResourceDefinitionCondition::new(
            ESTABLISHED,
            "False",
            "Installing",
            "the initial names have been accepted",
        );
    }
    NamesDecision {
        accepted_names: names,
        names_accepted: condition,
        established,
    }
}

/// The `NamesAccepted=False` decision alone: `(reason, message)` of the
/// last conflict found (as upstream reports it), or `None` when every name
/// is free. See [`calculate_names`].
pub fn names_conflict(
    crd: &CustomResourceDefinition,
    existing: &[&CustomResourceDefinition],
    built_in: impl Fn(&str, &str) -> bool,
) -> Option<(String, String)> {
    let decision = calculate_names(crd, existing, built_in);
    let c = decision.names_accepted;
    (c.status == "False").then_some((c.reason, c.message))
}

// ---------------------------------------------------------------------------
// JSONPath for printer columns
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Field(String),
    Index(i64),
    Wildcard,
    Filter(Filter),
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    path: Vec<Segment>,
    test: Option<(Op, Value)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Evaluates a printer-column JSONPath (kubectl's dialect, the subset CRDs
/// use) and returns the first match: `.spec.replicas`,
/// `.metadata.labels['app.kubernetes.io/name']`, `.status.items[0].name`,
/// `.status.items[-1]`, `.spec.list[*].name`,
/// `.status.conditions[?(@.type=="Ready")].status`; an optional `{...}`
/// wrapper and `$` root are accepted. `None` when nothing matches or the
/// path does not parse.
pub fn json_path_eval(obj: &Value, path: &str) -> Option<Value> {
    let segments = parse_json_path(path)?;
    let mut current: Vec<&Value> = vec![obj];
    for seg in &segments {
        current = apply_segment(&current, seg);
        if current.is_empty() {
            return None;
        }
    }
    current.first().map(|v| (*v).clone())
}

fn apply_segment<'a>(values: &[&'a Value], seg: &Segment) -> Vec<&'a Value> {
    let mut out = Vec::new();
    for v in values {
        match seg {
            Segment::Field(name) => out.extend(v.get(name.as_str())),
            Segment::Index(i) => {
                if let Some(items) = v.as_array() {
                    let idx = if *i < 0 {
                        i64::try_from(items.len()).ok().map(|len| len + i)
                    } else {
                        Some(*i)
                    };
                    if let Some(item) = idx
                        .and_then(|i| usize::try_from(i).ok())
                        .and_then(|i| items.get(i))
                    {
                        out.push(item);
                    }
                }
            }
            Segment::Wildcard => match v {
                Value::Array(items) => out.extend(items.iter()),
                Value::Object(m) => out.extend(m.values()),
                _ => {}
            },
            Segment::Filter(f) => {
                if let Some(items) = v.as_array() {
                    out.extend(items.iter().filter(|item| filter_matches(f, item)));
                }
            }
        }
    }
    out
}

fn filter_matches(f: &Filter, item: &Value) -> bool {
    let mut current = vec![item];
    for seg in &f.path {
        current = apply_segment(&current, seg);
    }
    let Some(subject) = current.first() else {
        return false;
    };
    let Some((op, literal)) = &f.test else {
        return true;
    };
    let ordering = match (subject, literal) {
        (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    };
    match op {
        Op::Eq => structural::json_eq(subject, literal),
        Op::Ne => !structural::json_eq(subject, literal),
        Op::Lt => ordering.is_some_and(|o| o.is_lt()),
        Op::Le => ordering.is_some_and(|o| o.is_le()),
        Op::Gt => ordering.is_some_and(|o| o.is_gt()),
        Op::Ge => ordering.is_some_and(|o| o.is_ge()),
    }
}

fn parse_json_path(path: &str) -> Option<Vec<Segment>> {
    let mut p = path.trim();
    if let Some(inner) = p.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        p = inner.trim();
    }
    p = p.strip_prefix('$').unwrap_or(p);
    let mut parser = PathParser {
        chars: p.chars().collect(),
        pos: 0,
    };
    let segments = parser.segments(false)?;
    (parser.pos == parser.chars.len()).then_some(segments)
}

struct PathParser {
    chars: Vec<char>,
    pos: usize,
}

impl PathParser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// Segments until the end, or (inside a filter) until an operator or `)`.
    fn segments(&mut self, in_filter: bool) -> Option<Vec<Segment>> {
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Some(out),
                Some('.') => {
                    self.pos += 1;
                    if self.eat('*') {
                        out.push(Segment::Wildcard);
                        continue;
                    }
                    let name = self.name(in_filter);
                    if name.is_empty() {
                        // A lone `.` selects the current value.
                        if self.peek().is_none() || in_filter {
                            continue;
                        }
                        return None;
                    }
                    out.push(Segment::Field(name));
                }
                Some('[') => {
                    self.pos += 1;
                    out.push(self.bracket()?);
                }
                Some(_) if in_filter => return Some(out),
                Some(_) => return None,
            }
        }
    }

    fn name(&mut self, in_filter: bool) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c == '\\'
                && let Some(next) = self.chars.get(self.pos + 1)
            {
                name.push(*next);
                self.pos += 2;
                continue;
            }
            let stop =
                c == '.' || c == '[' || (in_filter && (c.is_whitespace() || "=!<>)".contains(c)));
            if stop {
                break;
            }
            name.push(c);
            self.pos += 1;
        }
        name
    }

    fn bracket(&mut self) -> Option<Segment> {
        self.skip_ws();
        let seg = match self.peek()? {
            '\'' | '"' => Segment::Field(self.quoted()?),
            '*' => {
                self.pos += 1;
                Segment::Wildcard
            }
            '?' => {
                self.pos += 1;
                self.skip_ws();
                if !self.eat('(') {
                    return None;
                }
                let f = self.filter()?;
                self.skip_ws();
                if !self.eat(')') {
                    return None;
                }
                Segment::Filter(f)
            }
            _ => {
                let start = self.pos;
                self.eat('-');
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                Segment::Index(text.parse().ok()?)
            }
        };
        self.skip_ws();
        self.eat(']').then_some(seg)
    }

    fn quoted(&mut self) -> Option<String> {
        let quote = self.peek()?;
        self.pos += 1;
        let mut s = String::new();
        loop {
            let c = self.peek()?;
            self.pos += 1;
            if c == quote {
                return Some(s);
            }
            if c == '\\'
                && let Some(next) = self.peek()
            {
                self.pos += 1;
                s.push(next);
                continue;
            }
            s.push(c);
        }
    }

    fn filter(&mut self) -> Option<Filter> {
        self.skip_ws();
        if !self.eat('@') {
            return None;
        }
        let path = self.segments(true)?;
        self.skip_ws();
        let op = if self.eat('=') {
            self.eat('=');
            Some(Op::Eq)
        } else if self.eat('!') {
            if !self.eat('=') {
                return None;
            }
            Some(Op::Ne)
        } else if self.eat('<') {
            Some(if self.eat('=') { Op::Le } else { Op::Lt })
        } else if self.eat('>') {
            Some(if self.eat('=') { Op::Ge } else { Op::Gt })
        } else {
            None
        };
        let test = match op {
            None => None,
            Some(op) => {
                self.skip_ws();
                Some((op, self.literal()?))
            }
        };
        Some(Filter { path, test })
    }

    fn literal(&mut self) -> Option<Value> {
        match self.peek()? {
            '\'' | '"' => self.quoted().map(Value::String),
            _ => {
                let start = self.pos;
                while self.peek().is_some_and(|c| !c.is_whitespace() && c != ')') {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                match text.as_str() {
                    "true" => Some(Value::Bool(true)),
                    "false" => Some(Value::Bool(false)),
                    "null" => Some(Value::Null),
                    t => serde_json::from_str::<serde_json::Number>(t)
                        .ok()
                        .map(Value::Number),
                }
            }
        }
    }
}

/// The cell of one printer column for one object, as upstream's table
/// convertor renders it: `string` columns print the value (objects and lists
/// as compact JSON), `integer`/`number`/`boolean` convert or give `null`;
/// `date` returns the timestamp string unchanged, for the server to render
/// as an age (this module never reads the clock). No match gives `null`.
pub fn printer_cell(column: &CustomResourceColumnDefinition, obj: &Value) -> Value {
    let Some(v) = json_path_eval(obj, &column.json_path) else {
        return Value::Null;
    };
    match column.type_.as_str() {
        "string" => match v {
            Value::Null => Value::Null,
            Value::String(s) => Value::String(s),
            Value::Number(n) => Value::String(match n.as_i64() {
                Some(i) => i.to_string(),
                None => go_float(n.as_f64().unwrap_or(f64::NAN)),
            }),
            Value::Bool(b) => Value::String(b.to_string()),
            other => Value::String(other.to_string()),
        },
        "integer" => match v {
            Value::Number(n) => match n.as_i64() {
                Some(i) => Value::from(i),
                None => n
                    .as_f64()
                    .map_or(Value::Null, |f| Value::from(f.trunc() as i64)),
            },
            _ => Value::Null,
        },
        "number" => match v {
            Value::Number(n) => n.as_f64().map_or(Value::Null, Value::from),
            _ => Value::Null,
        },
        "boolean" => match v {
            Value::Bool(b) => Value::Bool(b),
            _ => Value::Null,
        },
        "date" => match v {
            Value::String(s) => Value::String(s),
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

// ---------------------------------------------------------------------------
// Scale
// ---------------------------------------------------------------------------

/// The segments of a scale path (`.spec.replicas` → `["spec", "replicas"]`).
fn scale_fields(path: &str) -> Vec<&str> {
    path.strip_prefix('.').unwrap_or(path).split('.').collect()
}

/// Go's `%v` and `%T` for an unstructured value, for accessor errors.
fn go_value_and_type(v: &Value) -> (String, &'static str) {
    match v {
        Value::Null => ("<nil>".to_owned(), "<nil>"),
        Value::Bool(b) => (b.to_string(), "bool"),
        Value::Number(n) => match n.as_i64() {
            Some(i) => (i.to_string(), "int64"),
            None => (go_float(n.as_f64().unwrap_or(f64::NAN)), "float64"),
        },
        Value::String(s) => (s.clone(), "string"),
        Value::Array(_) => (v.to_string(), "[]interface {}"),
        Value::Object(_) => (v.to_string(), "map[string]interface {}"),
    }
}

/// Upstream's `NestedFieldNoCopy`: the value at `fields`, `Ok(None)` when
/// missing, an accessor error when an intermediate is not an object.
fn nested<'a>(obj: &'a Value, fields: &[&str]) -> Result<Option<&'a Value>, String> {
    let mut current = obj;
    for (i, f) in fields.iter().enumerate() {
        match current {
            Value::Object(m) => match m.get(*f) {
                Some(v) => current = v,
                None => return Ok(None),
            },
            other => {
                let (shown, ty) = go_value_and_type(other);
                return Err(format!(
                    ".{} accessor error: {shown} is of the type {ty}, expected map[string]interface{{}}",
                    fields[..i].join(".")
                ));
            }
        }
    }
    Ok(Some(current))
}

/// Upstream's `NestedInt64`: missing is 0.
fn nested_int64(obj: &Value, path: &str) -> Result<i64, String> {
    let fields = scale_fields(path);
    match nested(obj, &fields)? {
        None => Ok(0),
        Some(v) => v.as_i64().filter(|_| v.is_i64()).ok_or_else(|| {
            let (shown, ty) = go_value_and_type(v);
            format!(
                ".{} accessor error: {shown} is of the type {ty}, expected int64",
                fields.join(".")
            )
        }),
    }
}

/// Upstream's `NestedString`: missing is empty.
fn nested_string(obj: &Value, path: &str) -> Result<String, String> {
    let fields = scale_fields(path);
    match nested(obj, &fields)? {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => {
            let (shown, ty) = go_value_and_type(v);
            Err(format!(
                ".{} accessor error: {shown} is of the type {ty}, expected string",
                fields.join(".")
            ))
        }
    }
}

/// The `autoscaling/v1` `Scale` of a custom object (GET `/scale`): name,
/// namespace, uid, resourceVersion and creationTimestamp of the object,
/// `spec.replicas` and `status.replicas`/`status.selector` read at the
/// scale paths (missing counts as 0). An error (a value of the wrong type)
/// is upstream's accessor message, a 500 upstream.
pub fn scale_from_object(
    scale: &CustomResourceSubresourceScale,
    obj: &Value,
) -> Result<Value, String> {
    let spec_replicas = nested_int64(obj, &scale.spec_replicas_path)?;
    let status_replicas = nested_int64(obj, &scale.status_replicas_path)?;
    let selector = match scale.label_selector_path.as_deref() {
        Some(p) if !p.is_empty() => nested_string(obj, p)?,
        _ => String::new(),
    };
    let mut metadata = Map::new();
    for k in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = obj.get("metadata").and_then(|m| m.get(k)) {
            metadata.insert(k.to_owned(), v.clone());
        }
    }
    let mut spec = Map::new();
    if spec_replicas != 0 {
        spec.insert("replicas".to_owned(), Value::from(spec_replicas));
    }
    let mut status = json!({"replicas": status_replicas});
    if !selector.is_empty() {
        status["selector"] = Value::String(selector);
    }
    Ok(json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": spec,
        "status": status,
    }))
}

/// Writes `replicas` at the spec replicas path (PUT/PATCH `/scale`),
/// creating missing objects on the way; fails when something on the way is
/// not an object.
pub fn set_spec_replicas(
    scale: &CustomResourceSubresourceScale,
    obj: &mut Value,
    replicas: i64,
) -> Result<(), String> {
    let fields = scale_fields(&scale.spec_replicas_path);
    let Some((last, parents)) = fields.split_last() else {
        return Err("empty specReplicasPath".to_owned());
    };
    let mut current = obj;
    for (i, f) in parents.iter().enumerate() {
        let Value::Object(m) = current else {
            return Err(format!(
                "value cannot be set because .{} is not a map[string]interface{{}}",
                fields[..i].join(".")
            ));
        };
        current = m
            .entry((*f).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    let Value::Object(m) = current else {
        return Err(format!(
            "value cannot be set because .{} is not a map[string]interface{{}}",
            parents.join(".")
        ));
    };
    m.insert((*last).to_owned(), Value::from(replicas));
    Ok(())
}

/// Upstream's scale checks on every write of an object with the scale
/// subresource: replicas at the spec and status paths are integers in
/// `0..=2147483647` and the selector a string. Field paths are the
/// configured JSON paths (`.spec.replicas`), as upstream.
pub fn validate_scale(scale: &CustomResourceSubresourceScale, obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for path in [&scale.spec_replicas_path, &scale.status_replicas_path] {
        match nested_int64(obj, path) {
            Err(e) => errs.push(FieldError::invalid(path.as_str(), 0, e)),
            Ok(n) if n < 0 => {
                errs.push(FieldError::invalid(
                    path.as_str(),
                    n,
                    "should be a non-negative integer",
                ));
            }
            Ok(n) if n > i64::from(i32::MAX) => errs.push(FieldError::invalid(
                path.as_str(),
                n,
                format!("should be less than or equal to {}", i32::MAX),
            )),
            Ok(_) => {}
        }
    }
    if let Some(path) = scale.label_selector_path.as_deref()
        && !path.is_empty()
        && let Err(e) = nested_string(obj, path)
    {
        errs.push(FieldError::invalid(path, "", e));
    }
    errs
}

/// Checks `apiVersion` and `kind` of a custom object against the CRD and the
/// version addressed, with upstream's messages (`kind: Invalid value: "X":
/// must be Widget`).
pub fn validate_type_meta(
    crd: &CustomResourceDefinition,
    version: &str,
    obj: &Value,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let want_kind = &crd.status.accepted_names.kind;
    if kind != want_kind {
        errs.push(FieldError::invalid(
            "kind",
            kind,
            format!("must be {want_kind}"),
        ));
    }
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let want = format!("{}/{version}", crd.spec.group);
    if api_version != want {
        errs.push(FieldError::invalid(
            "apiVersion",
            api_version,
            format!("must be {want}"),
        ));
    }
    errs
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn widget_crd() -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"], "categories": ["all"]},
                "versions": [
                    {
                        "name": "v1beta1", "served": true, "storage": false, "deprecated": true,
                        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}
                    },
                    {
                        "name": "v1", "served": true, "storage": true,
                        "schema": {"openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {"type": "object", "properties": {
                                    "replicas": {"type": "integer", "minimum": 0},
                                    "color": {"type": "string"}
                                }},
                                "status": {"type": "object", "properties": {
                                    "replicas": {"type": "integer"}, "selector": {"type": "string"}
                                }}
                            }
                        }},
                        "subresources": {
                            "status": {},
                            "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas",
                                      "labelSelectorPath": ".status.selector"}
                        },
                        "additionalPrinterColumns": [
                            {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                            {"name": "Color", "type": "string", "jsonPath": ".spec.color", "priority": 1}
                        ],
                        "selectableFields": [{"jsonPath": ".spec.color"}]
                    },
                    {
                        "name": "v2alpha1", "served": false, "storage": false,
                        "schema": {"openAPIV3Schema": {"type": "object"}}
                    }
                ]
            }
        })
    }

    /// Decoded the way the server handles a create: defaults, then the
    /// create-time status.
    fn decoded(v: &Value) -> CustomResourceDefinition {
        let mut crd = CustomResourceDefinition::from_value(v).unwrap();
        crd.set_defaults();
        crd.prepare_for_create();
        crd
    }

    fn errors_after(mutate: impl Fn(&mut Value)) -> Vec<String> {
        let mut v = widget_crd();
        mutate(&mut v);
        decoded(&v)
            .validate()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn valid_crd_and_defaults() {
        let crd = decoded(&widget_crd());
        assert_eq!(crd.validate(), []);
        assert_eq!(crd.spec.names.singular, "widget");
        assert_eq!(crd.spec.names.list_kind, "WidgetList");
        assert_eq!(crd.spec.conversion.as_ref().unwrap().strategy, "None");
        assert_eq!(crd.status.stored_versions, ["v1"]);
        assert_eq!(crd.storage_version(), Some("v1"));
        let served: Vec<&str> = crd
            .served_versions()
            .iter()
            .map(|v| v.name.as_str())
            .collect();
        assert_eq!(served, ["v1", "v1beta1"]);
        assert_eq!(crd.preferred_version(), Some("v1"));
        assert!(crd.has_status_subresource("v1"));
        assert!(!crd.has_status_subresource("v1beta1"));
        assert!(crd.structural_schema("v1").is_some());
        assert!(crd.schema("v9").is_none());
    }

    #[test]
    fn round_trip_keeps_fields() {
        let v = widget_crd();
        let crd = CustomResourceDefinition::from_value(&v).unwrap();
        let again = crd.to_value();
        assert_eq!(again["spec"]["versions"][1], v["spec"]["versions"][1]);
        assert_eq!(again["metadata"], v["metadata"]);
        assert_eq!(CustomResourceDefinition::from_value(&again).unwrap(), crd);
        let errs = validate_crd(&json!({"spec": {"versions": [{"served": "yes"}]}}));
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0]
                .detail
                .starts_with("cannot be handled as a CustomResourceDefinition: invalid type"),
            "{errs:?}"
        );
    }

    #[test]
    fn validation_table() {
        type Mutation = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(Mutation, Vec<String>)> = vec![
            (
                Box::new(|v| v["metadata"]["name"] = json!("widget.example.com")),
                vec![r#"metadata.name: Invalid value: "widget.example.com": must be spec.names.plural+"."+spec.group"#.to_owned()],
            ),
            (
                Box::new(|v| {
                    v["spec"]["group"] = json!("example");
                    v["metadata"]["name"] = json!("widgets.example");
                }),
                vec![r#"spec.group: Invalid value: "example": should be a domain with at least one dot"#.to_owned()],
            ),
            (
                Box::new(|v| {
                    v["spec"]["group"] = json!("");
                    v["metadata"]["name"] = json!("widgets.");
                }),
                vec![
                    "metadata.name: Invalid value: \"widgets.\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_owned(),
                    "spec.group: Required value".to_owned(),
                ],
            ),
            (
                Box::new(|v| v["spec"]["scope"] = json!("Global")),
                vec![r#"spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced""#.to_owned()],
            ),
            (
                Box::new(|v| v["spec"]["versions"] = json!([])),
                vec!["spec.versions: Invalid value: []: must have exactly one version marked as storage version".to_owned()],
            ),
            (
                Box::new(|v| v["spec"]["versions"][0]["storage"] = json!(true)),
                vec![r#"spec.versions: Invalid value: ["v1beta1","v1","v2alpha1"]: must have exactly one version marked as storage version"#.to_owned()],
            ),
            (
                Box::new(|v| v["spec"]["versions"][2]["name"] = json!("v1")),
                vec![r#"spec.versions: Invalid value: ["v1beta1","v1","v1"]: must contain unique version names"#.to_owned()],
            ),
            (
                Box::new(|v| v["spec"]["versions"][2]["name"] = json!("V2")),
                vec!["spec.versions[2].name: Invalid value: \"V2\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".to_owned()],
            ),
            (
                Box::new(|v| {
                    v["spec"]["versions"][2].as_object_mut().unwrap().remove("schema");
                }),
                vec!["spec.versions[2].schema.openAPIV3Schema: Required value: schemas are required".to_owned()],
            ),
            (
                Box::new(|v| {
                    v["spec"]["versions"][1]["schema"]["openAPIV3Schema"]["properties"]["spec"]
                        .as_object_mut()
                        .unwrap()
                        .remove("type");
                }),
                vec!["spec.versions[1].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields".to_owned()],
            ),
            (
                Box::new(|v| {
                    v["spec"]["versions"][1]["schema"]["openAPIV3Schema"]["anyOf"] = json!([{"required": ["spec"]}]);
                }),
                vec!["spec.versions[1].schema.openAPIV3Schema: Invalid value: {\"anyOf\":[{\"required\":[\"spec\"]}],\"properties\":{\"spec\":{\"properties\":{\"color\":{\"type\":\"string\"},\"replicas\":{\"minimum\":0,\"type\":\"integer\"}},\"type\":\"object\"},\"status\":{\"properties\":{\"replicas\":{\"type\":\"integer\"},\"selector\":{\"type\":\"string\"}},\"type\":\"object\"}},\"type\":\"object\"}: only [Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields XValidations] fields are allowed at the root of the schema if the status subresource is enabled".to_owned()],
            ),
            (
                Box::new(|v| {
                    v["spec"]["names"]["plural"] = json!("Widgets");
                    v["metadata"]["name"] = json!("Widgets.example.com");
                }),
                vec![
                    "metadata.name: Invalid value: \"Widgets.example.com\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_owned(),
                    "spec.names.plural: Invalid value: \"Widgets\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".to_owned(),
                ],
            ),
            (
                Box::new(|v| {
                    v["spec"]["names"]["kind"] = json!("Wid_get");
                    v["spec"]["names"]["listKind"] = json!("WidgetList");
                    v["spec"]["names"]["singular"] = json!("widget");
                }),
                vec!["spec.names.kind: Invalid value: \"Wid_get\": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".to_owned()],
            ),
            (
                Box::new(|v| v["spec"]["names"]["listKind"] = json!("Widget")),
                vec![r#"spec.names.listKind: Invalid value: "Widget": kind and listKind may not be the same"#.to_owned()],
            ),
            (
                Box::new(|v| {
                    v["spec"]["names"]["kind"] = json!("");
                    v["spec"]["names"]["singular"] = json!("widget");
                    v["spec"]["names"]["listKind"] = json!("WidgetList");
                }),
                vec!["spec.names.kind: Required value".to_owned()],
            ),
            (
                Box::new(|v| v["spec"]["names"]["shortNames"] = json!(["ok", "Not_OK"])),
                vec!["spec.names.shortNames[1]: Invalid value: \"Not_OK\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".to_owned()],
            ),
            (
                Box::new(|v| v["spec"]["conversion"] = json!({"strategy": "Webhook", "webhook": {"clientConfig": {"url": "https://x"}}})),
                vec![r#"spec.conversion.strategy: Invalid value: "Webhook": Webhook conversion is not supported by this server; use "None" (all versions share the stored objects and only apiVersion differs)"#.to_owned()],
            ),
            (
                Box::new(|v| v["spec"]["conversion"] = json!({"strategy": "Magic"})),
                vec![r#"spec.conversion.strategy: Unsupported value: "Magic": supported values: "None""#.to_owned()],
            ),
            (
                Box::new(|v| v["spec"]["conversion"] = json!({"strategy": "None", "webhook": {"clientConfig": {"url": "https://x"}}})),
                vec!["spec.conversion.webhookClientConfig: Forbidden: should not be set when strategy is not set to Webhook".to_owned()],
            ),
            (
                Box::new(|v| v["spec"]["preserveUnknownFields"] = json!(true)),
                vec!["spec.preserveUnknownFields: Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead".to_owned()],
            ),
            (
                Box::new(|v| {
                    v["spec"]["versions"][1]["additionalPrinterColumns"] = json!([
                        {"name": "", "type": "int", "format": "hex", "jsonPath": "spec.replicas"},
                        {"name": "X", "jsonPath": ""}
                    ]);
                }),
                vec![
                    "spec.versions[1].additionalPrinterColumns[0].name: Required value".to_owned(),
                    r#"spec.versions[1].additionalPrinterColumns[0].type: Invalid value: "int": must be one of boolean,date,integer,number,string"#.to_owned(),
                    r#"spec.versions[1].additionalPrinterColumns[0].format: Invalid value: "hex": must be one of byte,date,date-time,double,float,int32,int64,password"#.to_owned(),
                    r#"spec.versions[1].additionalPrinterColumns[0].JSONPath: Invalid value: "spec.replicas": must be a simple json path starting with ."#.to_owned(),
                    "spec.versions[1].additionalPrinterColumns[1].type: Required value: must be one of boolean,date,integer,number,string".to_owned(),
                    "spec.versions[1].additionalPrinterColumns[1].JSONPath: Required value".to_owned(),
                ],
            ),
            (
                Box::new(|v| {
                    v["spec"]["versions"][1]["subresources"]["scale"] = json!({
                        "specReplicasPath": ".status.replicas", "statusReplicasPath": "", "labelSelectorPath": ".metadata.labels"
                    });
                }),
                vec![
                    r#"spec.versions[1].subresources.scale.specReplicasPath: Invalid value: ".status.replicas": should be a json path under .spec"#.to_owned(),
                    "spec.versions[1].subresources.scale.statusReplicasPath: Required value".to_owned(),
                    r#"spec.versions[1].subresources.scale.labelSelectorPath: Invalid value: ".metadata.labels": should be a json path under either .spec or .status"#.to_owned(),
                ],
            ),
            (
                Box::new(|v| v["spec"]["versions"][1]["deprecationWarning"] = json!("old")),
                vec![r#"spec.versions[1].deprecationWarning: Invalid value: "old": can only be set for deprecated versions"#.to_owned()],
            ),
            (
                Box::new(|v| {
                    v["spec"]["versions"][1]["selectableFields"] =
                        json!([{"jsonPath": ".spec.nope"}, {"jsonPath": ".spec"}, {"jsonPath": ".spec.color"}, {"jsonPath": ".spec.color"}]);
                }),
                vec![
                    r#"spec.versions[1].selectableFields[0].jsonPath: Invalid value: ".spec.nope": is an invalid path: does not refer to a valid field"#.to_owned(),
                    r#"spec.versions[1].selectableFields[1].jsonPath: Invalid value: ".spec": must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed."#.to_owned(),
                    r#"spec.versions[1].selectableFields[3].jsonPath: Duplicate value: ".spec.color""#.to_owned(),
                ],
            ),
        ];
        for (i, (mutate, expected)) in cases.into_iter().enumerate() {
            assert_eq!(errors_after(mutate), expected, "case {i}");
        }
    }

    #[test]
    fn api_approval() {
        let protected = |annotation: Option<&str>| {
            errors_after(move |v| {
                v["spec"]["group"] = json!("widgets.k8s.io");
                v["metadata"]["name"] = json!("widgets.widgets.k8s.io");
                if let Some(a) = annotation {
                    v["metadata"]["annotations"] = json!({"api-approved.kubernetes.io": a});
                }
            })
        };
        assert_eq!(
            protected(None),
            [
                r#"metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111"#
            ]
        );
        assert_eq!(
            protected(Some("invalid")),
            [
                r#"metadata.annotations[api-approved.kubernetes.io]: Invalid value: "invalid": protected groups must have approval annotation "api-approved.kubernetes.io" with either a URL or a reason starting with "unapproved", see https://github.com/kubernetes/enhancements/pull/1111"#
            ]
        );
        assert!(protected(Some("https://github.com/kubernetes/kubernetes/pull/78458")).is_empty());
        assert!(protected(Some("unapproved, experimental")).is_empty());
    }

    #[test]
    fn update_rules() {
        let mut old = decoded(&widget_crd());
        old.prepare_for_create();
        let mut new = old.clone();
        new.spec.group = "other.example.com".to_owned();
        new.spec.names.plural = "gadgets".to_owned();
        new.spec.scope = "Cluster".to_owned();
        new.prepare_for_update(&old);
        let errs: Vec<String> = new
            .validate_update(&old)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            [
                r#"spec.group: Invalid value: "other.example.com": field is immutable"#,
                r#"spec.names.plural: Invalid value: "gadgets": field is immutable"#,
            ]
        );
        // Once established, scope and kind are frozen too.
        old.status
            .set_condition(established_condition(), "2024-01-01T00:00:00Z");
        let mut new = old.clone();
        new.spec.scope = "Cluster".to_owned();
        new.prepare_for_update(&old);
        let errs: Vec<String> = new
            .validate_update(&old)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            [r#"spec.scope: Invalid value: "Cluster": field is immutable"#]
        );

        // Moving storage to v1beta1 keeps v1 in storedVersions; dropping v1 then fails.
        let mut new = old.clone();
        new.spec.versions[0].storage = true;
        new.spec.versions[1].storage = false;
        new.prepare_for_update(&old);
        assert_eq!(new.status.stored_versions, ["v1", "v1beta1"]);
        assert!(new.validate_update(&old).is_empty());
        let mut dropped = new.clone();
        dropped.spec.versions.remove(1);
        let errs: Vec<String> = dropped
            .validate_update(&new)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            [
                r#"status.storedVersions[0]: Invalid value: "v1": missing from spec.versions; v1 was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in v1 and removes v1 from status.storedVersions"#
            ]
        );
    }

    fn with_accepted(v: Value, name: &str, names: Value) -> CustomResourceDefinition {
        let mut crd = decoded(&v);
        crd.metadata.insert("name".to_owned(), json!(name));
        crd.status.accepted_names = serde_json::from_value(names).unwrap();
        crd
    }

    #[test]
    fn names_conflicts() {
        let crd = decoded(&widget_crd());
        let other = with_accepted(
            widget_crd(),
            "gizmos.example.com",
            json!({"plural": "gizmos", "singular": "gizmo", "shortNames": ["gz", "wd"], "kind": "Gizmo", "listKind": "WidgetList"}),
        );
        let elsewhere = {
            let mut c = with_accepted(
                widget_crd(),
                "widgets.other.com",
                json!({"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"}),
            );
            c.spec.group = "other.com".to_owned();
            c
        };
        let none = |_: &str, _: &str| false;

        assert_eq!(names_conflict(&crd, &[&elsewhere], none), None);
        let decision = calculate_names(&crd, &[&elsewhere], none);
        assert_eq!(decision.names_accepted.reason, "NoConflicts");
        assert_eq!(decision.names_accepted.message, "no conflicts found");
        assert_eq!(decision.names_accepted.status, "True");
        assert_eq!(decision.accepted_names, crd.spec.names);
        assert_eq!(
            (
                decision.established.status.as_str(),
                decision.established.reason.as_str()
            ),
            ("False", "Installing")
        );

        // Upstream reports the last conflict; accepted names keep the free ones.
        let decision = calculate_names(&crd, &[&other], none);
        assert_eq!(decision.names_accepted.status, "False");
        assert_eq!(decision.names_accepted.reason, "ListKindConflict");
        assert_eq!(
            decision.names_accepted.message,
            r#""WidgetList" is already in use"#
        );
        assert_eq!(decision.accepted_names.plural, "widgets");
        assert_eq!(decision.accepted_names.kind, "Widget");
        assert!(decision.accepted_names.short_names.is_empty());
        assert!(decision.accepted_names.list_kind.is_empty());
        assert_eq!(decision.established.reason, "NotAccepted");

        let mut two_short = crd.clone();
        two_short.spec.names.short_names = vec!["gz".to_owned(), "wd".to_owned()];
        two_short.spec.names.list_kind = "WidgetItems".to_owned();
        assert_eq!(
            names_conflict(&two_short, &[&other], none),
            Some((
                "ShortNamesConflict".to_owned(),
                r#"["gz" is already in use, "wd" is already in use]"#.to_owned()
            ))
        );

        let mut singular = crd.clone();
        singular.spec.names.singular = "gizmo".to_owned();
        singular.spec.names.short_names.clear();
        singular.spec.names.list_kind = "WidgetItems".to_owned();
        assert_eq!(
            names_conflict(&singular, &[&other], none),
            Some((
                "SingularConflict".to_owned(),
                r#""gizmo" is already in use"#.to_owned()
            ))
        );

        let mut kind = singular.clone();
        kind.spec.names.singular = "widget".to_owned();
        kind.spec.names.kind = "Gizmo".to_owned();
        assert_eq!(
            names_conflict(&kind, &[&other], none),
            Some((
                "KindConflict".to_owned(),
                r#""Gizmo" is already in use"#.to_owned()
            ))
        );

        // A built-in resource of the same group takes the plural.
        let built_in = |group: &str, name: &str| group == "example.com" && name == "widgets";
        assert_eq!(
            names_conflict(&crd, &[], built_in),
            Some((
                "PluralConflict".to_owned(),
                r#""widgets" is already in use"#.to_owned()
            ))
        );

        // Names already accepted for this CRD stay accepted.
        let mut accepted = crd.clone();
        accepted.status.accepted_names = accepted.spec.names.clone();
        accepted
            .status
            .set_condition(established_condition(), "2024-01-01T00:00:00Z");
        let decision = calculate_names(&accepted, &[&accepted], built_in);
        assert_eq!(decision.names_accepted.reason, "NoConflicts");
        assert_eq!(decision.established.status, "True");
        assert_eq!(decision.established.reason, "InitialNamesAccepted");
    }

    #[test]
    fn catalog_entries() {
        let mut crd = decoded(&widget_crd());
        assert!(
            resource_infos(&crd).is_empty(),
            "nothing before names are accepted"
        );
        crd.status.accepted_names = crd.spec.names.clone();
        let infos = crd.resource_infos();
        let versions: Vec<&str> = infos.iter().map(|r| r.version.as_str()).collect();
        assert_eq!(versions, ["v1", "v1beta1"]);
        let v1 = &infos[0];
        assert_eq!(
            (
                v1.group.as_str(),
                v1.resource.as_str(),
                v1.singular.as_str(),
                v1.kind.as_str()
            ),
            ("example.com", "widgets", "widget", "Widget")
        );
        assert!(v1.namespaced);
        assert_eq!(v1.verbs, RESOURCE_VERBS);
        assert_eq!(v1.short_names, ["wd"]);
        assert_eq!(v1.categories, ["all"]);
        let subs: Vec<(&str, &str, &str, &str)> = v1
            .subresources
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.group.as_str(),
                    s.version.as_str(),
                    s.kind.as_str(),
                )
            })
            .collect();
        assert_eq!(
            subs,
            [
                ("scale", "autoscaling", "v1", "Scale"),
                ("status", "example.com", "v1", "Widget")
            ]
        );
        assert!(v1.subresource("status").unwrap().verbs == SUBRESOURCE_VERBS);
        assert!(infos[1].subresources.is_empty());
    }

    #[test]
    fn columns_and_cells() {
        let crd = decoded(&widget_crd());
        let cols = crd.printer_columns("v1");
        assert_eq!(cols.len(), 2);
        let default = crd.printer_columns("v1beta1");
        assert_eq!(default.len(), 1);
        assert_eq!(
            (
                default[0].name.as_str(),
                default[0].type_.as_str(),
                default[0].json_path.as_str()
            ),
            ("Age", "date", ".metadata.creationTimestamp")
        );
        let obj = json!({
            "metadata": {"name": "w", "creationTimestamp": "2024-01-01T00:00:00Z",
                         "labels": {"app.kubernetes.io/name": "web"}},
            "spec": {"replicas": 3, "color": "blue", "ratio": 1.5, "on": true, "list": [{"n": "a"}, {"n": "b"}]},
            "status": {"conditions": [
                {"type": "Progressing", "status": "True", "count": 2},
                {"type": "Ready", "status": "False", "count": 7}
            ]}
        });
        let cell = |type_: &str, path: &str| {
            printer_cell(
                &CustomResourceColumnDefinition {
                    name: "c".to_owned(),
                    type_: type_.to_owned(),
                    json_path: path.to_owned(),
                    ..CustomResourceColumnDefinition::default()
                },
                &obj,
            )
        };
        let defs = crd.table_column_definitions("v1");
        let names: Vec<&str> = defs.iter().filter_map(|d| d["name"].as_str()).collect();
        assert_eq!(names, ["Name", "Replicas", "Color"]);
        assert_eq!(defs[0]["format"], "name");
        assert_eq!(
            defs[1]["description"],
            "Custom resource definition column (in JSONPath format): .spec.replicas"
        );
        assert_eq!(defs[2]["priority"], 1);
        assert_eq!(
            crd.table_row_cells("v1", &obj),
            [json!("w"), json!(3), json!("blue")]
        );
        assert_eq!(
            crd.table_row_cells("v1beta1", &obj),
            [json!("w"), json!("2024-01-01T00:00:00Z")]
        );
        assert_eq!(cell("integer", ".spec.replicas"), json!(3));
        assert_eq!(cell("integer", ".spec.ratio"), json!(1));
        assert_eq!(cell("number", ".spec.replicas"), json!(3.0));
        assert_eq!(cell("string", ".spec.replicas"), json!("3"));
        assert_eq!(
            cell("string", ".spec.list"),
            json!(r#"[{"n":"a"},{"n":"b"}]"#)
        );
        assert_eq!(cell("boolean", ".spec.on"), json!(true));
        assert_eq!(cell("boolean", ".spec.color"), Value::Null);
        assert_eq!(
            cell("date", ".metadata.creationTimestamp"),
            json!("2024-01-01T00:00:00Z")
        );
        assert_eq!(cell("string", ".spec.missing"), Value::Null);

        let paths = [
            (".spec.color", Some(json!("blue"))),
            ("{.spec.color}", Some(json!("blue"))),
            ("$.spec.color", Some(json!("blue"))),
            (
                ".metadata.labels['app.kubernetes.io/name']",
                Some(json!("web")),
            ),
            (
                ".metadata.labels[\"app.kubernetes.io/name\"]",
                Some(json!("web")),
            ),
            (
                ".metadata.labels.app\\.kubernetes\\.io/name",
                Some(json!("web")),
            ),
            (".spec.list[1].n", Some(json!("b"))),
            (".spec.list[-1].n", Some(json!("b"))),
            (".spec.list[*].n", Some(json!("a"))),
            (
                ".status.conditions[?(@.type==\"Ready\")].status",
                Some(json!("False")),
            ),
            (
                ".status.conditions[?(@.type == 'Ready')].status",
                Some(json!("False")),
            ),
            (
                ".status.conditions[?(@.type!=\"Ready\")].type",
                Some(json!("Progressing")),
            ),
            (
                ".status.conditions[?(@.count > 5)].type",
                Some(json!("Ready")),
            ),
            (".status.conditions[?(@.missing)].type", None),
            (".spec.list[5]", None),
            (".spec[", None),
            ("spec.color", None),
        ];
        for (path, expected) in paths {
            assert_eq!(json_path_eval(&obj, path), expected, "{path}");
        }
    }

    #[test]
    fn scale_subresource() {
        let crd = decoded(&widget_crd());
        let scale = crd.scale("v1").unwrap();
        let mut obj = json!({
            "apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "namespace": "ns", "uid": "u", "resourceVersion": "7", "labels": {"x": "y"}},
            "spec": {"replicas": 3},
            "status": {"replicas": 2, "selector": "app=w"}
        });
        assert_eq!(
            scale_from_object(scale, &obj).unwrap(),
            json!({
                "kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": "w", "namespace": "ns", "uid": "u", "resourceVersion": "7"},
                "spec": {"replicas": 3},
                "status": {"replicas": 2, "selector": "app=w"}
            })
        );
        set_spec_replicas(scale, &mut obj, 5).unwrap();
        assert_eq!(obj["spec"]["replicas"], json!(5));
        let mut empty = json!({"metadata": {"name": "e"}});
        assert_eq!(
            scale_from_object(scale, &empty).unwrap()["status"],
            json!({"replicas": 0})
        );
        set_spec_replicas(scale, &mut empty, 1).unwrap();
        assert_eq!(empty["spec"], json!({"replicas": 1}));
        let mut bad = json!({"spec": "nope"});
        assert_eq!(
            set_spec_replicas(scale, &mut bad, 1),
            Err("value cannot be set because .spec is not a map[string]interface{}".to_owned())
        );

        assert!(validate_scale(scale, &obj).is_empty());
        let wrong = json!({"spec": {"replicas": "3"}, "status": {"replicas": -1, "selector": 5}});
        let errs: Vec<String> = validate_scale(scale, &wrong)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            [
                ".spec.replicas: Invalid value: 0: .spec.replicas accessor error: 3 is of the type string, expected int64",
                ".status.replicas: Invalid value: -1: should be a non-negative integer",
                r#".status.selector: Invalid value: "": .status.selector accessor error: 5 is of the type int64, expected string"#,
            ]
        );
        assert_eq!(
            scale_from_object(scale, &wrong),
            Err(
                ".spec.replicas accessor error: 3 is of the type string, expected int64".to_owned()
            )
        );
        let huge = json!({"spec": {"replicas": 2_147_483_648_i64}});
        assert_eq!(
            validate_scale(scale, &huge)[0].to_string(),
            ".spec.replicas: Invalid value: 2147483648: should be less than or equal to 2147483647"
        );
    }

    #[test]
    fn deprecation_and_type_meta() {
        let mut crd = decoded(&widget_crd());
        assert_eq!(
            crd.deprecation_warning("v1beta1").as_deref(),
            Some("example.com/v1beta1 Widget is deprecated; use example.com/v1 Widget")
        );
        assert_eq!(crd.deprecation_warning("v1"), None);
        crd.spec.versions[0].deprecation_warning = Some("v1beta1 is going away".to_owned());
        assert_eq!(
            crd.deprecation_warning("v1beta1").as_deref(),
            Some("v1beta1 is going away")
        );

        crd.status.accepted_names = crd.spec.names.clone();
        let ok = json!({"apiVersion": "example.com/v1", "kind": "Widget"});
        assert!(validate_type_meta(&crd, "v1", &ok).is_empty());
        let errs: Vec<String> = validate_type_meta(
            &crd,
            "v1beta1",
            &json!({"apiVersion": "example.com/v1", "kind": "Gadget"}),
        )
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            errs,
            [
                r#"kind: Invalid value: "Gadget": must be Widget"#,
                r#"apiVersion: Invalid value: "example.com/v1": must be example.com/v1beta1"#,
            ]
        );
    }

    /// A kubebuilder-style CRD (metav1.Condition list, quantities, CEL
    /// rules, embedded template) through the whole create path of a server.
    #[test]
    fn kubebuilder_style_end_to_end() {
        let condition = json!({
            "type": "object",
            "required": ["lastTransitionTime", "message", "reason", "status", "type"],
            "properties": {
                "lastTransitionTime": {"type": "string", "format": "date-time"},
                "message": {"type": "string", "maxLength": 32768},
                "observedGeneration": {"type": "integer", "format": "int64", "minimum": 0},
                "reason": {"type": "string", "maxLength": 1024, "minLength": 1,
                           "pattern": "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"},
                "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
                "type": {"type": "string", "maxLength": 316,
                         "pattern": "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"}
            }
        });
        let quantity = json!({
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "pattern": "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$",
            "x-kubernetes-int-or-string": true
        });
        let mut v = widget_crd();
        v["spec"]["versions"][1]["schema"]["openAPIV3Schema"] = json!({
            "type": "object",
            "description": "Widget is the Schema for the widgets API",
            "x-kubernetes-validations": [{"rule": "self.metadata.name.size() < 50", "message": "short names"}],
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object"},
                "spec": {"type": "object", "required": ["size"], "properties": {
                    "replicas": {"type": "integer", "format": "int32", "default": 1, "minimum": 0},
                    "size": quantity,
                    "mode": {"type": "string", "enum": ["Fast", "Safe"], "default": "Safe"},
                    "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                                 "x-kubernetes-preserve-unknown-fields": true},
                    "selector": {"type": "object", "x-kubernetes-map-type": "atomic", "properties": {
                        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}
                    }}
                }},
                "status": {"type": "object", "properties": {
                    "replicas": {"type": "integer"},
                    "selector": {"type": "string"},
                    "conditions": {"type": "array", "items": condition,
                                   "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]}
                }}
            }
        });
        v["spec"]["versions"][1]["selectableFields"] = json!([{"jsonPath": ".spec.mode"}]);
        let crd = decoded(&v);
        assert_eq!(crd.validate(), []);
        let schema = crd.structural_schema("v1").unwrap();

        let mut obj = json!({
            "apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "namespace": "default", "labels": {"app": "w"}, "bogus": 1},
            "spec": {
                "size": "1.5Gi", "color": "red",
                "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}},
                "selector": {"matchLabels": {"app": "w"}}
            },
            "status": {"conditions": [
                {"type": "Ready", "status": "True", "reason": "Up", "message": "", "lastTransitionTime": "2024-05-01T10:00:00Z"}
            ]}
        });
        let unknown = structural::prune(&schema, &mut obj);
        assert_eq!(unknown, ["metadata.bogus", "spec.color"]);
        structural::apply_defaults(&schema, &mut obj);
        assert_eq!(obj["spec"]["replicas"], json!(1));
        assert_eq!(obj["spec"]["mode"], json!("Safe"));
        assert_eq!(structural::validate(&schema, &obj), []);
        assert!(validate_scale(crd.scale("v1").unwrap(), &obj).is_empty());

        obj["spec"]["size"] = json!("lots");
        obj["spec"]["mode"] = json!("Turbo");
        obj["status"]["conditions"] = json!([
            {"type": "Ready", "status": "Maybe", "reason": "Up", "message": "", "lastTransitionTime": "now"},
            {"type": "Ready", "status": "True", "reason": "Up", "message": "", "lastTransitionTime": "2024-05-01T10:00:00Z"}
        ]);
        let errs: Vec<String> = structural::validate(&schema, &obj)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            [
                r#"spec.mode: Unsupported value: "Turbo": supported values: "Fast", "Safe""#,
                r#"spec.size: Invalid value: "lots": spec.size in body should match '^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$'"#,
                r#"status.conditions[0].lastTransitionTime: Invalid value: "now": status.conditions[0].lastTransitionTime in body must be of type date-time: "now""#,
                r#"status.conditions[0].status: Unsupported value: "Maybe": supported values: "True", "False", "Unknown""#,
                r#"status.conditions[1]: Duplicate value: {"type":"Ready"}"#,
            ]
        );
    }

    #[test]
    fn conditions() {
        let mut status = CustomResourceDefinitionStatus::default();
        status.set_condition(
            CustomResourceDefinitionCondition::new(NAMES_ACCEPTED, "False", "PluralConflict", "x"),
            "t1",
        );
        status.set_condition(
            CustomResourceDefinitionCondition::new(NAMES_ACCEPTED, "False", "KindConflict", "y"),
            "t2",
        );
        let c = status.condition(NAMES_ACCEPTED).unwrap();
        assert_eq!(c.last_transition_time.as_deref(), Some("t1"));
        assert_eq!(c.reason, "KindConflict");
        status.set_condition(
            CustomResourceDefinitionCondition::new(
                NAMES_ACCEPTED,
                "True",
                "NoConflicts",
                "no conflicts found",
            ),
            "t3",
        );
        assert_eq!(
            status
                .condition(NAMES_ACCEPTED)
                .unwrap()
                .last_transition_time
                .as_deref(),
            Some("t3")
        );
        status.set_condition(terminating_pending_condition(), "t4");
        assert_eq!(status.conditions.len(), 2);
        status.remove_condition(TERMINATING);
        assert_eq!(status.conditions.len(), 1);
    }
}

//! What the server derives from an accepted CRD to serve it: the decoded CRD
//! and its versions, schemas and columns, the catalog entries per served
//! version ([`resource_infos`]), and printer-column cells ([`printer_cell`]).

use serde::Deserialize;
use serde_json::Value;
#[cfg(test)]
use serde_json::json;

use super::types::{
    CustomResourceColumnDefinition, CustomResourceConversion, CustomResourceDefinition,
    CustomResourceDefinitionStatus, CustomResourceDefinitionVersion,
    CustomResourceSubresourceScale, ESTABLISHED, RESOURCE_VERBS, SUBRESOURCE_VERBS,
};
use crate::catalog::{ResourceInfo, SubresourceInfo, compare_kube_aware_versions};
use crate::jsonpath::json_path_eval;
use crate::structural::{Schema, go_float};

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

    pub(crate) fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata
            .get("annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
    }

    /// Whether objects live in namespaces.
    pub(crate) fn namespaced(&self) -> bool {
        self.spec.scope == "Namespaced"
    }

    /// The version called `name`.
    pub(crate) fn version(&self, name: &str) -> Option<&CustomResourceDefinitionVersion> {
        self.spec.versions.iter().find(|v| v.name == name)
    }

    /// Served versions, highest priority first (`v2 > v1 > v1beta1`), the
    /// order discovery lists them in.
    pub(crate) fn served_versions(&self) -> Vec<&CustomResourceDefinitionVersion> {
        let mut served: Vec<_> = self.spec.versions.iter().filter(|v| v.served).collect();
        served.sort_by(|a, b| compare_kube_aware_versions(&b.name, &a.name));
        served
    }

    /// The preferred version: the highest-priority served one.
    #[cfg(test)]
    pub(crate) fn preferred_version(&self) -> Option<&str> {
        self.served_versions().first().map(|v| v.name.as_str())
    }

    /// The storage version (`storage: true`): objects of every served
    /// version are stored in it.
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
    #[cfg(test)]
    pub(crate) fn has_status_subresource(&self, version: &str) -> bool {
        self.version(version)
            .and_then(|v| v.subresources.as_ref())
            .is_some_and(|s| s.status.is_some())
    }

    /// A version's `scale` subresource.
    /// A version's `selectableFields` as field selector labels
    /// (`.spec.color` is selected as `spec.color`).
    pub fn selectable_fields(&self, version: &str) -> Vec<String> {
        self.version(version).map_or_else(Vec::new, |v| {
            v.selectable_fields
                .iter()
                .map(|f| f.json_path.trim_start_matches('.').to_owned())
                .collect()
        })
    }

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
    #[cfg(test)]
    pub(crate) fn table_column_definitions(&self, version: &str) -> Vec<Value> {
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
    #[cfg(test)]
    pub(crate) fn table_row_cells(&self, version: &str, obj: &Value) -> Vec<Value> {
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
    pub(crate) fn condition_true(&self, type_: &str) -> bool {
        self.status
            .condition(type_)
            .is_some_and(|c| c.status == "True")
    }

    /// Whether the resource is served (`Established=True`).
    pub(crate) fn is_established(&self) -> bool {
        self.condition_true(ESTABLISHED)
    }

    /// Catalog entries for the served versions (see [`resource_infos`]).
    #[cfg(test)]
    pub(crate) fn resource_infos(&self) -> Vec<ResourceInfo> {
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
#[cfg(test)]
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
                subresource_since: Vec::new(),
            }
        })
        .collect()
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

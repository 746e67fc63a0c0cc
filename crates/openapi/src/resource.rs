//! What the server tells this crate about the resources it serves: a
//! [`ResourceRef`] per group/version/resource (built-in or custom) and, for
//! custom resources, a [`CustomResourceSchema`] carrying the CRD's
//! `openAPIV3Schema`. The types are deliberately independent of the
//! catalog's own types so the two crates can evolve apart; the server
//! converts. This module holds plain data and must never validate or
//! interpret schemas.

use serde_json::Value;

use crate::definitions::GroupVersionKind;

/// A served resource: the input that decides which paths a document has.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceRef {
    /// API group, `""` for core.
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind of the objects, e.g. `Deployment`.
    pub kind: String,
    /// Plural resource name, e.g. `deployments`.
    pub plural: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Verbs of the resource itself (`get`, `list`, `watch`, `create`,
    /// `update`, `patch`, `delete`, `deletecollection`).
    pub verbs: Vec<String>,
    /// Subresources (`status`, `scale`, ...).
    pub subresources: Vec<SubresourceRef>,
}

impl ResourceRef {
    /// A resource without subresources.
    pub fn new(
        group: &str,
        version: &str,
        kind: &str,
        plural: &str,
        namespaced: bool,
        verbs: &[&str],
    ) -> Self {
        ResourceRef {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            plural: plural.to_string(),
            namespaced,
            verbs: verbs.iter().map(|v| v.to_string()).collect(),
            subresources: Vec::new(),
        }
    }

    /// Adds a subresource.
    pub fn with_subresource(mut self, subresource: SubresourceRef) -> Self {
        self.subresources.push(subresource);
        self
    }

    /// The kind's group/version/kind.
    pub(crate) fn gvk(&self) -> GroupVersionKind {
        GroupVersionKind::new(&self.group, &self.version, &self.kind)
    }

    pub(crate) fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }
}

/// A subresource of a [`ResourceRef`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubresourceRef {
    /// Subresource name, e.g. `scale`.
    pub name: String,
    /// Group of the kind it takes and returns (`autoscaling` for `scale`).
    pub group: String,
    /// Version of that kind (`v1` for `scale`).
    pub version: String,
    /// That kind (`Scale`; the parent's kind for `status`; an `*Options`
    /// kind for connect subresources such as `pods/exec`).
    pub kind: String,
    /// Verbs of the subresource.
    pub verbs: Vec<String>,
}

impl SubresourceRef {
    /// Builds a subresource.
    pub fn new(name: &str, group: &str, version: &str, kind: &str, verbs: &[&str]) -> Self {
        SubresourceRef {
            name: name.to_string(),
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            verbs: verbs.iter().map(|v| v.to_string()).collect(),
        }
    }

    pub(crate) fn gvk(&self) -> GroupVersionKind {
        GroupVersionKind::new(&self.group, &self.version, &self.kind)
    }

    pub(crate) fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }
}

/// The schema of one served version of a custom resource, as the CRD states
/// it (`spec.versions[].schema.openAPIV3Schema`).
#[derive(Debug, Clone, PartialEq)]
pub struct CustomResourceSchema {
    /// `spec.group`.
    pub group: String,
    /// `spec.versions[].name`.
    pub version: String,
    /// `spec.names.kind`.
    pub kind: String,
    /// `spec.names.listKind` (`<Kind>List` when the CRD leaves it empty).
    pub list_kind: String,
    /// The structural `openAPIV3Schema` of that version; `None` when the
    /// version has no schema (the object is then published as accepting any
    /// fields, as upstream does).
    pub schema: Option<Value>,
}

//! The catalog entries: groups, versions, resources and subresources as one
//! server serves them.

use serde::Deserialize;

use super::version::{KubeVersion, Maturity};
use crate::discovery::ResourceScope;

// ---------------------------------------------------------------------------
// Catalog entries
// ---------------------------------------------------------------------------

/// A subresource such as `status` or `scale`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubresourceInfo {
    /// Subresource name, e.g. `scale`.
    pub name: String,
    /// Group of the kind it returns (`autoscaling` for `scale`).
    pub group: String,
    /// Version of the kind it returns (`v1` for `scale`).
    pub version: String,
    /// Kind it returns (`Scale`).
    pub kind: String,
    /// Supported verbs, sorted.
    pub verbs: Vec<String>,
}

/// A built-in resource of one group/version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    /// API group (`""` for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// Plural resource name, e.g. `deployments`.
    pub resource: String,
    /// Singular name, e.g. `deployment`.
    pub singular: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Supported verbs, sorted.
    pub verbs: Vec<String>,
    /// Short names, e.g. `deploy`.
    pub short_names: Vec<String>,
    /// Categories, e.g. `all`.
    pub categories: Vec<String>,
    /// Subresources, sorted by name.
    pub subresources: Vec<SubresourceInfo>,
    /// First release that serves it; `None` when older than every supported one.
    pub since: Option<KubeVersion>,
    /// Last release that serves it; `None` when still served by the newest.
    pub until: Option<KubeVersion>,
    /// Subresources first served by a release later than the resource's
    /// first (such as `csinodes/status` in 1.37), with that release.
    pub(crate) subresource_since: Vec<(String, KubeVersion)>,
}

impl ResourceInfo {
    /// Whether release `version` serves this resource (if its group/version
    /// is enabled).
    pub(crate) fn served_in(&self, version: KubeVersion) -> bool {
        self.since.is_none_or(|s| s <= version) && self.until.is_none_or(|u| version <= u)
    }

    /// This resource as release `version` serves it: without the
    /// subresources that arrived after it.
    pub(crate) fn as_served_in(&self, version: KubeVersion) -> Self {
        let mut out = self.clone();
        out.subresources.retain(|s| {
            !self
                .subresource_since
                .iter()
                .any(|(name, since)| *name == s.name && version < *since)
        });
        out
    }

    /// The subresource called `name`.
    pub fn subresource(&self, name: &str) -> Option<&SubresourceInfo> {
        self.subresources.iter().find(|s| s.name == name)
    }

    /// Whether the resource itself supports `verb`.
    #[cfg(test)]
    pub(crate) fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// Cluster or namespaced.
    pub(crate) fn scope(&self) -> ResourceScope {
        ResourceScope::from_namespaced(self.namespaced)
    }
}

/// A served group/version with its served resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupVersionInfo {
    /// API group (`""` for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// GA, beta or alpha.
    pub maturity: Maturity,
    /// Served resources, sorted by name.
    pub resources: Vec<ResourceInfo>,
}

impl GroupVersionInfo {
    /// `group/version`, or just `version` for core (as in `apiVersion`).
    pub(crate) fn group_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The resource with plural name `plural`.
    pub fn resource(&self, plural: &str) -> Option<&ResourceInfo> {
        self.resources.iter().find(|r| r.resource == plural)
    }
}

/// A served API group and its served versions, highest priority first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    /// Group name (`""` for core).
    pub name: String,
    /// Served versions in priority order; never empty.
    pub versions: Vec<GroupVersionInfo>,
}

impl GroupInfo {
    /// The preferred version: the highest-priority served one.
    pub fn preferred_version(&self) -> Option<&GroupVersionInfo> {
        self.versions.first()
    }
}

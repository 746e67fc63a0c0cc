//! The [`Catalog`] of one server: what an emulated release serves after
//! `--runtime-config`, lookups for request routing, and the discovery
//! documents of [`crate::discovery`] built from it.

use super::data::DATA;
use super::entries::{GroupInfo, GroupVersionInfo, ResourceInfo, SubresourceInfo};
use super::runtime_config::RuntimeConfig;
#[cfg(test)]
use super::version::Maturity;
use super::version::{EmulatedVersion, compare_kube_aware_versions};
use crate::discovery::{
    APIGroup, APIGroupDiscovery, APIGroupDiscoveryList, APIGroupList, APIResource,
    APIResourceDiscovery, APIResourceList, APISubresourceDiscovery, APIVersionDiscovery,
    APIVersions, Freshness, GroupVersionForDiscovery, GroupVersionKind, ObjectMeta,
};

// ---------------------------------------------------------------------------
// The catalog
// ---------------------------------------------------------------------------

/// What one server serves: the built-in groups, versions and resources of an
/// emulated release after `--runtime-config`, in upstream's discovery order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    pub(crate) emulated_version: EmulatedVersion,
    /// Served groups, core first, then by upstream's group priority.
    pub(crate) groups: Vec<GroupInfo>,
}

impl Catalog {
    /// The catalog of release `version` with `runtime_config` applied. A
    /// group/version is served when it is enabled and the release serves at
    /// least one of its resources.
    pub fn new(version: EmulatedVersion, runtime_config: &RuntimeConfig) -> Self {
        let release = version.version();
        let data = &*DATA;
        let groups = data
            .group_order
            .iter()
            .filter_map(|group| {
                let mut versions: Vec<GroupVersionInfo> = data
                    .group_versions
                    .iter()
                    .filter(|gv| &gv.group == group)
                    .filter(|gv| runtime_config.is_enabled(&gv.group, &gv.version, gv.maturity))
                    .filter_map(|gv| {
                        let mut resources: Vec<ResourceInfo> = data
                            .resources
                            .iter()
                            .filter(|r| r.group == gv.group && r.version == gv.version)
                            .filter(|r| r.served_in(release))
                            .map(|r| r.as_served_in(release))
                            .collect();
                        resources.sort_by(|a, b| a.resource.cmp(&b.resource));
                        (!resources.is_empty()).then(|| GroupVersionInfo {
                            group: gv.group.clone(),
                            version: gv.version.clone(),
                            maturity: gv.maturity,
                            resources,
                        })
                    })
                    .collect();
                versions.sort_by(|a, b| compare_kube_aware_versions(&b.version, &a.version));
                (!versions.is_empty()).then(|| GroupInfo {
                    name: group.clone(),
                    versions,
                })
            })
            .collect();
        Self {
            emulated_version: version,
            groups,
        }
    }

    /// This catalog plus `extra` groups (custom resources), served after the
    /// built-in ones as their lower discovery priority puts them. A group
    /// that already exists gains the extra versions it does not have.
    pub fn with_extra_groups(&self, extra: Vec<GroupInfo>) -> Catalog {
        let mut out = self.clone();
        for group in extra {
            match out.groups.iter_mut().find(|g| g.name == group.name) {
                Some(existing) => {
                    for v in group.versions {
                        if !existing.versions.iter().any(|e| e.version == v.version) {
                            existing.versions.push(v);
                        }
                    }
                    existing
                        .versions
                        .sort_by(|a, b| compare_kube_aware_versions(&b.version, &a.version));
                }
                None => out.groups.push(group),
            }
        }
        out
    }

    /// Every group/version some supported release knows, with its maturity,
    /// whether or not it is served here (e.g. for `--help` or validation).
    #[cfg(test)]
    pub(crate) fn known_group_versions()
    -> impl Iterator<Item = (&'static str, &'static str, Maturity)> {
        DATA.group_versions
            .iter()
            .map(|gv| (gv.group.as_str(), gv.version.as_str(), gv.maturity))
    }

    /// The emulated release.
    pub fn emulated_version(&self) -> EmulatedVersion {
        self.emulated_version
    }

    /// Served groups: core (`""`) first, then upstream's `/apis` order.
    pub fn groups(&self) -> &[GroupInfo] {
        &self.groups
    }

    /// The served group called `name` (`""` for core).
    pub fn group(&self, name: &str) -> Option<&GroupInfo> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// Served group/versions in discovery order: core first, groups by
    /// priority, versions by priority within a group.
    pub fn group_versions(&self) -> impl Iterator<Item = &GroupVersionInfo> {
        self.groups.iter().flat_map(|g| g.versions.iter())
    }

    /// The served `group/version`.
    pub(crate) fn group_version(&self, group: &str, version: &str) -> Option<&GroupVersionInfo> {
        self.group(group)?
            .versions
            .iter()
            .find(|v| v.version == version)
    }

    /// Whether `group/version` is served.
    pub fn serves(&self, group: &str, version: &str) -> bool {
        self.group_version(group, version).is_some()
    }

    /// The preferred (highest-priority served) version of `group`.
    #[cfg(test)]
    pub(crate) fn preferred_version(&self, group: &str) -> Option<&str> {
        Some(self.group(group)?.preferred_version()?.version.as_str())
    }

    /// The served resource `plural` of `group/version`.
    pub fn resource(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceInfo> {
        self.group_version(group, version)?.resource(plural)
    }

    /// The served top-level resource of `group/version` whose kind is `kind`.
    #[cfg(test)]
    pub(crate) fn by_kind(&self, group: &str, version: &str, kind: &str) -> Option<&ResourceInfo> {
        self.group_version(group, version)?
            .resources
            .iter()
            .find(|r| r.kind == kind)
    }

    /// Aggregated discovery for `/apis`: every served named group.
    pub fn aggregated_apis(&self) -> APIGroupDiscoveryList {
        APIGroupDiscoveryList::new(
            self.groups
                .iter()
                .filter(|g| !g.name.is_empty())
                .map(group_discovery)
                .collect(),
        )
    }

    /// Aggregated discovery for `/api`: the core group, with an empty name
    /// (no items if core is disabled).
    pub fn aggregated_core(&self) -> APIGroupDiscoveryList {
        APIGroupDiscoveryList::new(self.group("").map(group_discovery).into_iter().collect())
    }

    /// Legacy discovery for `/api`. The server fills in
    /// `serverAddressByClientCIDRs`, which the catalog cannot know.
    pub fn legacy_api_versions(&self) -> APIVersions {
        APIVersions {
            kind: "APIVersions".to_owned(),
            api_version: String::new(),
            versions: self
                .group("")
                .map(|g| g.versions.iter().map(|v| v.version.clone()).collect())
                .unwrap_or_default(),
            server_address_by_client_cidrs: Vec::new(),
        }
    }

    /// Legacy discovery for `/apis`: every served named group.
    pub fn legacy_group_list(&self) -> APIGroupList {
        APIGroupList {
            kind: "APIGroupList".to_owned(),
            api_version: "v1".to_owned(),
            groups: self
                .groups
                .iter()
                .filter(|g| !g.name.is_empty())
                .map(legacy_group)
                .collect(),
        }
    }

    /// Legacy discovery for `/apis/<group>`; `None` for core or an unserved
    /// group.
    pub fn legacy_group(&self, group: &str) -> Option<APIGroup> {
        if group.is_empty() {
            return None;
        }
        Some(APIGroup {
            kind: "APIGroup".to_owned(),
            api_version: "v1".to_owned(),
            ..legacy_group(self.group(group)?)
        })
    }

    /// Legacy discovery for `/api/v1` (group `""`) or `/apis/<group>/<version>`:
    /// resources and `resource/subresource` entries sorted by name.
    pub fn legacy_resource_list(&self, group: &str, version: &str) -> Option<APIResourceList> {
        let gv = self.group_version(group, version)?;
        let mut resources = Vec::new();
        for r in &gv.resources {
            resources.push(APIResource {
                name: r.resource.clone(),
                singular_name: r.singular.clone(),
                namespaced: r.namespaced,
                kind: r.kind.clone(),
                verbs: r.verbs.clone(),
                short_names: r.short_names.clone(),
                categories: r.categories.clone(),
                ..Default::default()
            });
            for s in &r.subresources {
                let (group, version) = kind_group_version(r, s);
                resources.push(APIResource {
                    name: format!("{}/{}", r.resource, s.name),
                    namespaced: r.namespaced,
                    group,
                    version,
                    kind: s.kind.clone(),
                    verbs: s.verbs.clone(),
                    ..Default::default()
                });
            }
        }
        resources.sort_by(|a, b| a.name.cmp(&b.name));
        Some(APIResourceList {
            kind: "APIResourceList".to_owned(),
            // Upstream writes no apiVersion on /api/v1, and "v1" under /apis.
            api_version: if group.is_empty() {
                String::new()
            } else {
                "v1".to_owned()
            },
            group_version: gv.group_version(),
            resources,
        })
    }
}

/// The group/version of a subresource's kind as discovery writes it: empty
/// when it is the parent's own.
fn kind_group_version(parent: &ResourceInfo, sub: &SubresourceInfo) -> (String, String) {
    if sub.group == parent.group && sub.version == parent.version {
        (String::new(), String::new())
    } else {
        (sub.group.clone(), sub.version.clone())
    }
}

fn group_discovery(group: &GroupInfo) -> APIGroupDiscovery {
    APIGroupDiscovery {
        metadata: ObjectMeta {
            name: group.name.clone(),
            creation_timestamp: None,
        },
        versions: group.versions.iter().map(version_discovery).collect(),
        ..Default::default()
    }
}

fn version_discovery(gv: &GroupVersionInfo) -> APIVersionDiscovery {
    APIVersionDiscovery {
        version: gv.version.clone(),
        resources: gv.resources.iter().map(resource_discovery).collect(),
        freshness: Some(Freshness::Current),
    }
}

fn resource_discovery(r: &ResourceInfo) -> APIResourceDiscovery {
    APIResourceDiscovery {
        resource: r.resource.clone(),
        // Top-level kinds always belong to the enclosing group/version.
        response_kind: Some(GroupVersionKind {
            group: String::new(),
            version: String::new(),
            kind: r.kind.clone(),
        }),
        scope: r.scope(),
        singular_resource: r.singular.clone(),
        verbs: r.verbs.clone(),
        short_names: r.short_names.clone(),
        categories: r.categories.clone(),
        subresources: r
            .subresources
            .iter()
            .map(|s| {
                let (group, version) = kind_group_version(r, s);
                APISubresourceDiscovery {
                    subresource: s.name.clone(),
                    response_kind: Some(GroupVersionKind {
                        group,
                        version,
                        kind: s.kind.clone(),
                    }),
                    accepted_types: Vec::new(),
                    verbs: s.verbs.clone(),
                }
            })
            .collect(),
    }
}

fn legacy_group(group: &GroupInfo) -> APIGroup {
    let entry = |gv: &GroupVersionInfo| GroupVersionForDiscovery::new(&gv.group, &gv.version);
    APIGroup {
        name: group.name.clone(),
        versions: group.versions.iter().map(entry).collect(),
        preferred_version: group.preferred_version().map(entry).unwrap_or_default(),
        ..Default::default()
    }
}

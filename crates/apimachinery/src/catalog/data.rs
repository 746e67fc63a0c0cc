//! The embedded catalog data (`data/catalog.json`), parsed once.

use std::sync::LazyLock;

use serde::Deserialize;

use super::entries::{ResourceInfo, SubresourceInfo};
use super::version::{EmulatedVersion, KubeVersion, Maturity};

/// The embedded catalog, compiled into the binary.
pub(crate) const CATALOG_JSON: &str = include_str!("../../data/catalog.json");

/// Parsed once; a failure is a build defect, not a runtime condition.
pub(crate) static DATA: LazyLock<CatalogData> = LazyLock::new(|| {
    CatalogData::from_json(CATALOG_JSON)
        .unwrap_or_else(|e| panic!("embedded data/catalog.json is invalid: {e}"))
});

// ---------------------------------------------------------------------------
// The embedded data
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCatalog {
    emulated_versions: Vec<String>,
    default_version: String,
    group_order: Vec<String>,
    group_versions: Vec<RawGroupVersion>,
    resources: Vec<RawResource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroupVersion {
    group: String,
    version: String,
    maturity: Maturity,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawResource {
    group: String,
    version: String,
    resource: String,
    singular: String,
    kind: String,
    namespaced: bool,
    verbs: Vec<String>,
    #[serde(default)]
    short_names: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    subresources: Vec<RawSubresource>,
    since: Option<String>,
    until: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubresource {
    name: String,
    group: String,
    version: String,
    kind: String,
    verbs: Vec<String>,
    /// First release serving the subresource when later than its resource's.
    since: Option<String>,
}

/// A group/version known to the data, served or not.
#[derive(Debug)]
pub(crate) struct KnownGroupVersion {
    pub(crate) group: String,
    pub(crate) version: String,
    pub(crate) maturity: Maturity,
}

#[derive(Debug)]
pub(crate) struct CatalogData {
    pub(crate) supported: Vec<EmulatedVersion>,
    pub(crate) default: EmulatedVersion,
    /// Group names in discovery priority order, core first.
    pub(crate) group_order: Vec<String>,
    pub(crate) group_versions: Vec<KnownGroupVersion>,
    pub(crate) resources: Vec<ResourceInfo>,
}

impl CatalogData {
    pub(crate) fn from_json(json: &str) -> Result<Self, String> {
        let raw: RawCatalog = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let version = |s: &str| KubeVersion::parse(s).ok_or_else(|| format!("bad version {s:?}"));
        let mut supported = raw
            .emulated_versions
            .iter()
            .map(|s| version(s).map(EmulatedVersion))
            .collect::<Result<Vec<_>, _>>()?;
        supported.sort();
        let default = EmulatedVersion(version(&raw.default_version)?);
        if !supported.contains(&default) {
            return Err(format!("default version {default} is not supported"));
        }
        let group_versions: Vec<KnownGroupVersion> = raw
            .group_versions
            .into_iter()
            .map(|gv| KnownGroupVersion {
                group: gv.group,
                version: gv.version,
                maturity: gv.maturity,
            })
            .collect();
        for gv in &group_versions {
            if !raw.group_order.contains(&gv.group) {
                return Err(format!("group {:?} has no discovery position", gv.group));
            }
        }
        let mut resources = Vec::with_capacity(raw.resources.len());
        for r in raw.resources {
            if !group_versions
                .iter()
                .any(|gv| gv.group == r.group && gv.version == r.version)
            {
                return Err(format!(
                    "resource {} of undeclared group/version {}/{}",
                    r.resource, r.group, r.version
                ));
            }
            let mut subresource_since = Vec::new();
            let mut subresources = Vec::with_capacity(r.subresources.len());
            for s in r.subresources {
                if let Some(since) = &s.since {
                    subresource_since.push((s.name.clone(), version(since)?));
                }
                subresources.push(SubresourceInfo {
                    name: s.name,
                    group: s.group,
                    version: s.version,
                    kind: s.kind,
                    verbs: s.verbs,
                });
            }
            resources.push(ResourceInfo {
                since: r.since.as_deref().map(version).transpose()?,
                until: r.until.as_deref().map(version).transpose()?,
                group: r.group,
                version: r.version,
                resource: r.resource,
                singular: r.singular,
                kind: r.kind,
                namespaced: r.namespaced,
                verbs: r.verbs,
                short_names: r.short_names,
                categories: r.categories,
                subresources,
                subresource_since,
            });
        }
        Ok(Self {
            supported,
            default,
            group_order: raw.group_order,
            group_versions,
            resources,
        })
    }

    pub(crate) fn knows(&self, group: &str, version: &str) -> bool {
        self.group_versions
            .iter()
            .any(|gv| gv.group == group && gv.version == version)
    }
}

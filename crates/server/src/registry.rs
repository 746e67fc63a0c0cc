//! What this server serves right now: the built-in catalog of its emulated
//! release plus the custom resources established in storage. Handlers take
//! a [`Snapshot`] (one `Arc` clone) and see one consistent view; a change
//! of custom resources swaps the snapshot and bumps the generation, which
//! invalidates every cache derived from it (merged discovery, OpenAPI).

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde_json::Value;
use skewless_apimachinery::catalog::{
    Catalog, GroupInfo, GroupVersionInfo, Maturity, ResourceInfo,
};
use skewless_apimachinery::crd::{CustomResourceColumnDefinition, CustomResourceSubresourceScale};
use skewless_apimachinery::structural::Schema;

/// One served version of one custom resource.
#[derive(Debug)]
pub(crate) struct ServedCrd {
    /// The CRD's name (`<plural>.<group>`).
    pub(crate) crd_name: String,
    pub(crate) info: ResourceInfo,
    /// The version's structural schema (validation, pruning, defaults).
    pub(crate) schema: Option<Schema>,
    /// The raw schema (published in OpenAPI).
    pub(crate) raw_schema: Option<Value>,
    /// Printer columns (NAME and AGE when none are declared).
    pub(crate) columns: Vec<CustomResourceColumnDefinition>,
    pub(crate) scale: Option<CustomResourceSubresourceScale>,
    pub(crate) deprecation_warning: Option<String>,
    /// `selectableFields` as field selector labels.
    pub(crate) selectable_fields: Vec<String>,
    /// The CRD is being deleted: no new objects.
    pub(crate) terminating: bool,
    /// The version marked `storage: true`, which objects of every served
    /// version are written in.
    pub(crate) storage_version: String,
    /// The conversion webhook (`strategy: Webhook`).
    pub(crate) webhook: Option<skewless_apimachinery::crd::ConversionWebhook>,
}

type GvrKey = (String, String, String);

/// One consistent view of what is served.
#[derive(Debug)]
pub(crate) struct Snapshot {
    catalog: Catalog,
    index: HashMap<GvrKey, Arc<ResourceInfo>>,
    crds: HashMap<GvrKey, Arc<ServedCrd>>,
}

impl Deref for Snapshot {
    type Target = Catalog;

    fn deref(&self) -> &Catalog {
        &self.catalog
    }
}

fn key(group: &str, version: &str, plural: &str) -> GvrKey {
    (group.to_owned(), version.to_owned(), plural.to_owned())
}

impl Snapshot {
    fn build(builtin: &Catalog, crds: &[Arc<ServedCrd>]) -> Self {
        let mut groups: Vec<GroupInfo> = Vec::new();
        for crd in crds {
            let r = &crd.info;
            let gv = GroupVersionInfo {
                group: r.group.clone(),
                version: r.version.clone(),
                maturity: Maturity::of_version(&r.version),
                resources: vec![r.clone()],
            };
            match groups.iter_mut().find(|g| g.name == r.group) {
                Some(g) => match g.versions.iter_mut().find(|v| v.version == r.version) {
                    Some(v) => {
                        v.resources.push(r.clone());
                        v.resources.sort_by(|a, b| a.resource.cmp(&b.resource));
                    }
                    None => g.versions.push(gv),
                },
                None => groups.push(GroupInfo {
                    name: r.group.clone(),
                    versions: vec![gv],
                }),
            }
        }
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        let catalog = if groups.is_empty() {
            builtin.clone()
        } else {
            builtin.with_extra_groups(groups)
        };
        let index = catalog
            .group_versions()
            .flat_map(|gv| gv.resources.iter())
            .map(|r| (key(&r.group, &r.version, &r.resource), Arc::new(r.clone())))
            .collect();
        let crds = crds
            .iter()
            .map(|c| {
                (
                    key(&c.info.group, &c.info.version, &c.info.resource),
                    Arc::clone(c),
                )
            })
            .collect();
        Self {
            catalog,
            index,
            crds,
        }
    }

    /// The served resource `group/version/plural`.
    pub(crate) fn resource(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Option<Arc<ResourceInfo>> {
        self.index.get(&key(group, version, plural)).cloned()
    }

    /// The custom resource behind `group/version/plural`, if it is one.
    pub(crate) fn crd(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ServedCrd>> {
        self.crds.get(&key(group, version, plural)).cloned()
    }

    /// Every served resource: for each group/resource the preferred
    /// version's entry.
    pub(crate) fn preferred_resources(&self) -> Vec<ResourceInfo> {
        let mut out = Vec::new();
        for group in self.groups() {
            let mut seen = std::collections::BTreeSet::new();
            let versions: Vec<_> = group
                .preferred_version()
                .into_iter()
                .chain(group.versions.iter())
                .collect();
            for gv in versions {
                for r in &gv.resources {
                    if seen.insert(r.resource.clone()) {
                        out.push(r.clone());
                    }
                }
            }
        }
        out
    }
}

/// The current snapshot, swapped as custom resources come and go.
#[derive(Debug)]
pub(crate) struct Registry {
    builtin: Catalog,
    current: RwLock<Arc<Snapshot>>,
    generation: AtomicU64,
    changed: tokio::sync::watch::Sender<u64>,
}

impl Registry {
    pub(crate) fn new(builtin: Catalog) -> Self {
        let snapshot = Snapshot::build(&builtin, &[]);
        Self {
            builtin,
            current: RwLock::new(Arc::new(snapshot)),
            generation: AtomicU64::new(0),
            changed: tokio::sync::watch::channel(0).0,
        }
    }

    /// The built-in catalog alone.
    pub(crate) fn builtin(&self) -> &Catalog {
        &self.builtin
    }

    /// Every served custom resource version.
    pub(crate) fn crds(&self) -> Vec<Arc<ServedCrd>> {
        self.snapshot().crds.values().cloned().collect()
    }

    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(s) => Arc::clone(&s),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the served custom resources.
    pub(crate) fn set_crds(&self, crds: &[Arc<ServedCrd>]) {
        let snapshot = Arc::new(Snapshot::build(&self.builtin, crds));
        match self.current.write() {
            Ok(mut s) => *s = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        let _ = self.changed.send(generation);
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Notified on every change (watches of removed resources end).
    pub(crate) fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

//! The state every request handler shares: storage, the catalog of what this
//! server serves, authentication, metrics. Also where a resource's objects
//! live in storage.
//!
//! Storage keys are `/<group>/<resource>/<namespace>/<name>` (`core` for the
//! core group; no namespace segment for cluster-scoped resources). They
//! depend on group and resource only, never on the version, so every
//! version of a resource shares its objects.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use skewless_apimachinery::catalog::ResourceInfo;
use skewless_apimachinery::validation::NameRule;
use skewless_store::Store;

use crate::authn::Authenticator;
use crate::metrics::Metrics;

/// Shared by every request and background task of one server.
pub struct Api {
    pub store: Arc<dyn Store>,
    /// What this server serves (built-ins and custom resources).
    pub registry: crate::registry::Registry,
    /// The OpenAPI documents of the catalog, and field validation.
    pub openapi: crate::openapi::OpenApiCache,
    pub authn: Authenticator,
    pub metrics: Metrics,
    /// Request bodies larger than this are refused with 413.
    pub max_body: usize,
    /// Set once start-up work (bootstrap namespaces) is done.
    pub bootstrapped: AtomicBool,
    /// Set when shutdown begins: `/readyz` fails from then on.
    pub shutting_down: AtomicBool,
    /// This server's identity.
    pub server_id: String,
    /// Flips to `true` when shutdown begins: watches and controllers end.
    pub shutdown: tokio::sync::watch::Sender<bool>,
    /// What `/version` reports and discovery advertises.
    pub version_info: serde_json::Value,
    /// `host:port` clients reach this server at (for `/api`'s
    /// `serverAddressByClientCIDRs`).
    pub advertise: String,
    /// The Mixed Version Proxy, when active (gate on and `--peer-ca-file`).
    pub proxy: Option<std::sync::Arc<skewless_peerproxy::proxy::PeerProxy>>,
    /// Peer-aggregated discovery (cache and counters).
    pub merged: crate::merged::MergedDiscovery,
    /// This `Api` itself, for tasks that must not keep the server alive.
    pub me: std::sync::Weak<Api>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("server_id", &self.server_id)
            .finish_non_exhaustive()
    }
}

impl Api {
    /// A handle to this `Api` that does not keep it alive.
    pub fn self_ref(&self) -> std::sync::Weak<Api> {
        self.me.clone()
    }

    /// Replaces the JSON object at `key` if it is still at `revision`
    /// (the compare-and-swap every in-process controller writes with).
    pub async fn update_json(
        &self,
        key: &str,
        value: &serde_json::Value,
        revision: skewless_store::Revision,
    ) -> Result<skewless_store::KeyValue, skewless_store::StoreError> {
        self.store
            .update(
                key,
                serde_json::to_vec(value).unwrap_or_default(),
                revision,
                skewless_store::WriteOptions::default(),
            )
            .await
    }

    /// What is served right now.
    pub fn catalog(&self) -> Arc<crate::registry::Snapshot> {
        self.registry.snapshot()
    }

    /// The served resource for a request's group/version/resource.
    pub fn resource(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceInfo>> {
        self.registry.snapshot().resource(group, version, plural)
    }

    /// Every served resource: for each group/resource the preferred version's entry.
    pub fn preferred_resources(&self) -> Vec<ResourceInfo> {
        let catalog = self.catalog();
        let mut out = Vec::new();
        for group in catalog.groups() {
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

    /// The OpenAPI documents: the local catalog plus resources only peers
    /// serve, rebuilt when either changes.
    pub fn openapi(&self) -> std::sync::Arc<crate::openapi::OpenApiDocs> {
        let peer_generation = self.proxy.as_ref().map_or(0, |p| p.generation());
        self.openapi
            .get((self.local_generation(), peer_generation), || {
                let extra = if self.proxy.is_some() {
                    crate::openapi::peer_only_resources(
                        &self.catalog(),
                        &self.merged.get(self).groups,
                    )
                } else {
                    Vec::new()
                };
                crate::openapi::OpenApiDocs::build(&self.catalog(), extra, &self.registry.crds())
            })
            .0
    }

    /// A number that changes whenever what this server serves changes.
    pub fn local_generation(&self) -> u64 {
        self.registry.generation()
    }

    pub fn is_ready(&self) -> bool {
        self.bootstrapped.load(Ordering::Acquire)
            && !self.shutting_down.load(Ordering::Acquire)
            && self.proxy_synced()
    }

    /// Whether the proxy (if any) has finished its first peer discovery round.
    pub fn proxy_synced(&self) -> bool {
        self.proxy.as_ref().is_none_or(|p| p.synced())
    }
}

fn storage_group(group: &str) -> &str {
    if group.is_empty() { "core" } else { group }
}

/// The prefix holding a resource's objects: in one namespace, or all of
/// them (`namespace` empty, or a cluster-scoped resource).
pub fn prefix(r: &ResourceInfo, namespace: &str) -> String {
    let base = format!("/{}/{}/", storage_group(&r.group), r.resource);
    if r.namespaced && !namespace.is_empty() {
        format!("{base}{namespace}/")
    } else {
        base
    }
}

/// The key of one object.
pub fn key(r: &ResourceInfo, namespace: &str, name: &str) -> String {
    if r.namespaced {
        format!("{}{namespace}/{name}", prefix(r, ""))
    } else {
        format!("{}{name}", prefix(r, ""))
    }
}

/// The key of a namespace object.
pub fn namespace_key(name: &str) -> String {
    format!("/core/namespaces/{name}")
}

/// How names of a resource are validated, as upstream's per-type rules.
pub fn name_rule(r: &ResourceInfo) -> NameRule {
    match (r.group.as_str(), r.resource.as_str()) {
        ("", "namespaces") => NameRule::Dns1123Label,
        ("", "services") => NameRule::Dns1035Label,
        (
            "rbac.authorization.k8s.io",
            "roles" | "clusterroles" | "rolebindings" | "clusterrolebindings",
        ) => NameRule::PathSegment,
        _ => NameRule::Dns1123Subdomain,
    }
}

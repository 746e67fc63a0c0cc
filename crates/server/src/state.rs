//! The state every request handler and controller of one server shares:
//! options, storage, what is served (registry snapshots), the peer proxy and
//! its routing snapshot, derived-document caches, metrics. Data only: the
//! logic that reads it lives in `handlers`, `controllers` and `pipeline`.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use skewless_peerproxy::PeerProxy;
use skewless_store::Store;

use crate::authn::Authenticator;
use crate::authz::Chain;
use crate::merged::MergedDiscovery;
use crate::metrics::Metrics;
use crate::openapi::OpenApiCache;
use crate::rbac::Rbac;
use crate::registry::{Registry, Snapshot};

/// Shared by every request and background task of one server.
pub(crate) struct State {
    pub(crate) store: Arc<dyn Store>,
    /// Each resource's objects and recent events in memory (`--watch-cache`).
    pub(crate) watch_cache: crate::watch_cache::WatchCaches,
    /// What this server serves (built-ins and custom resources).
    pub(crate) registry: Arc<Registry>,
    /// The OpenAPI documents of what is served, and field validation.
    pub(crate) openapi: OpenApiCache,
    /// Peer-aggregated discovery (cache and counters).
    pub(crate) merged: MergedDiscovery,
    pub(crate) authn: Authenticator,
    /// The audit policy and log, when `--audit-*` turn auditing on.
    pub(crate) audit: Option<Arc<crate::audit::Audit>>,
    /// `--anonymous-auth`.
    pub(crate) anonymous_auth: bool,
    /// Decides whether a request may proceed (`--authorization-mode`).
    pub(crate) authz: Chain,
    /// The RBAC policy in storage, kept current by its controller whatever
    /// the modes (rules reviews and escalation checks read it).
    pub(crate) rbac: Arc<Rbac>,
    pub(crate) metrics: Metrics,
    /// Seats for requests in flight.
    pub(crate) inflight: crate::inflight::InFlight,
    /// Request bodies larger than this are refused with 413.
    pub(crate) max_body: usize,
    /// `--min-request-timeout`: the server's bound on watches.
    pub(crate) min_request_timeout: std::time::Duration,
    /// Set once start-up work (bootstrap namespaces) is done.
    pub(crate) bootstrapped: AtomicBool,
    /// Set when shutdown begins: `/readyz` fails from then on.
    pub(crate) shutting_down: AtomicBool,
    /// This server's identity.
    pub(crate) server_id: String,
    /// Flips to `true` when shutdown begins: watches and controllers end.
    pub(crate) shutdown: tokio::sync::watch::Sender<bool>,
    /// What `/version` reports and discovery advertises.
    pub(crate) version_info: serde_json::Value,
    /// `host:port` clients reach this server at (for `/api`'s
    /// `serverAddressByClientCIDRs`).
    pub(crate) advertise: String,
    /// The Mixed Version Proxy, when active (gate on and `--peer-ca-file`).
    pub(crate) proxy: Option<Arc<PeerProxy>>,
    /// APIServices served by extension API servers, and how to reach them.
    pub(crate) aggregator: crate::aggregator::Aggregator,
    /// Where Services' cluster IPs and node ports come from.
    pub(crate) service_ranges: crate::service_alloc::ServiceRanges,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("server_id", &self.server_id)
            .finish_non_exhaustive()
    }
}

impl State {
    /// What is served right now.
    pub(crate) fn catalog(&self) -> Arc<Snapshot> {
        self.registry.snapshot()
    }

    /// The generations derived documents are keyed on: what this server
    /// serves, what its peers serve, and what extension servers serve.
    pub(crate) fn generations(&self) -> crate::cache::Generations {
        (
            self.registry.generation(),
            self.proxy.as_ref().map_or(0, |p| p.generation()),
            self.aggregator.generation(),
        )
    }
}

//! The Mixed Version Proxy at run time: the table of live peers (who they
//! are, where they listen, what they serve, whether they answer) and the
//! immutable [`RoutingTable`] snapshot built from it, swapped whenever any
//! of that changes, so deciding a request reads one `Arc` and rebuilds
//! nothing.
//!
//! The local server feeds it peers ([`PeerProxy::set_peers`], from the
//! identity Leases and endpoints it watches in storage) and the
//! group/versions to ignore in peers' data ([`PeerProxy::set_excluded`]);
//! the discovery sync (`sync.rs`) fills in what peers serve, and forwarding
//! (`forward.rs`) reports which peers answer. This module never reads
//! storage and never decides what the local server serves.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use skewless_apimachinery::discovery::APIGroupDiscovery;
use skewless_apimachinery::request_info::GroupVersionResource;
use skewless_apimachinery::status::ApiError;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::merge;
use crate::metrics::ProxyMetrics;
use crate::routing::{
    self, Decision, Discovery, Link, NO_ENDPOINT_MESSAGE, PeerId, PeerView, RouteRequest,
    RoutingTable, Target,
};
use crate::transport::Transport;

/// A live peer as the local server knows it from storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// Server ID (the identity Lease's name).
    pub id: String,
    /// The Lease's `holderIdentity` (changes when the peer restarts).
    pub holder: String,
    /// `host:port` from the peer endpoint key, when known.
    pub endpoint: Option<String>,
}

/// What a peer serves, from its no-peer discovery.
#[derive(Debug, Clone, Default)]
pub(crate) struct PeerDiscovery {
    pub(crate) gvrs: BTreeSet<GroupVersionResource>,
    /// `/apis` groups.
    pub(crate) groups: Vec<APIGroupDiscovery>,
    /// `/api`: the core group (merged into legacy `/api/v<n>` only; the
    /// aggregated `/api` is never peer-aggregated, as upstream).
    pub(crate) core: Vec<APIGroupDiscovery>,
    pub(crate) api_etag: Option<String>,
    pub(crate) apis_etag: Option<String>,
}

/// One row of the peer table.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) info: PeerInfo,
    pub(crate) link: Link,
    /// The last discovery fetched since the peer (re)started.
    pub(crate) discovery: Option<PeerDiscovery>,
    /// Why the last discovery fetch failed, while it does.
    pub(crate) discovery_error: Option<String>,
    /// When discovery was last fetched (or confirmed unchanged).
    pub(crate) discovery_at: Option<Instant>,
}

impl Entry {
    fn new(info: PeerInfo) -> Self {
        Self {
            info,
            link: Link::Up,
            discovery: None,
            discovery_error: None,
            discovery_at: None,
        }
    }
}

/// What is known about one live peer.
#[derive(Debug, Clone)]
pub struct PeerReport {
    /// Server ID.
    pub id: String,
    /// `host:port`, when known.
    pub endpoint: Option<String>,
    /// How it answers.
    pub link: Link,
    /// Whether its discovery was fetched since it (re)started.
    pub discovery_known: bool,
    /// Why its discovery fetches fail, while they do.
    pub discovery_error: Option<String>,
    /// Time since its discovery was last fetched or confirmed.
    pub discovery_age: Option<Duration>,
}

impl std::fmt::Display for PeerReport {
    /// One line: `<id> <address> link=<up|suspect|down> discovery=<known|unknown> age=<s> [cause=<...>]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (link, link_cause) = match &self.link {
            Link::Up => ("up", None),
            Link::Suspect { cause } => ("suspect", Some(cause)),
            Link::Down { cause } => ("down", Some(cause)),
        };
        write!(
            f,
            "{} {} link={link} discovery={} age={}",
            self.id,
            self.endpoint.as_deref().unwrap_or("-"),
            if self.discovery_known {
                "known"
            } else {
                "unknown"
            },
            self.discovery_age
                .map_or("-".to_owned(), |a| format!("{:.1}s", a.as_secs_f64()))
        )?;
        if let Some(cause) = link_cause.or(self.discovery_error.as_ref()) {
            write!(f, " cause={cause:?} check={:?}", hint(cause))?;
        }
        Ok(())
    }
}

/// Timing of the peer proxy.
#[derive(Debug, Clone, Copy)]
pub struct ProxyTiming {
    /// How often every peer's discovery is re-checked (`If-None-Match`).
    pub resync: Duration,
    /// How long after start readiness waits at most for the first round.
    pub first_round_deadline: Duration,
    /// How long a peer may take to send response headers (for requests
    /// and discovery fetches).
    pub hop_timeout: Duration,
}

impl Default for ProxyTiming {
    fn default() -> Self {
        Self {
            resync: Duration::from_secs(1),
            first_round_deadline: Duration::from_secs(10),
            hop_timeout: Duration::from_secs(60),
        }
    }
}

/// Why a peer whose endpoint disappeared cannot be reached.
const ENDPOINT_LOST: &str =
    "its address is not known any more: its peer endpoint expired (is it hung or cut off?)";

/// The peer table, its routing snapshot and the transport.
pub struct PeerProxy {
    pub(crate) self_id: String,
    pub(crate) transport: Arc<Transport>,
    pub(crate) entries: Mutex<BTreeMap<String, Entry>>,
    /// Group/versions of custom resources (and recently deleted ones):
    /// peers' views of them are ignored, only the local view counts.
    excluded: Mutex<BTreeSet<(String, String)>>,
    snapshot: RwLock<Arc<RoutingTable>>,
    /// Round-robin position over capable peers.
    turn: AtomicUsize,
    /// Wakes the discovery sync (a peer appeared, restarted or moved).
    pub(crate) changed: Notify,
    /// Bumped on every change of peer discovery data.
    generation: AtomicU64,
    pub(crate) first_round: AtomicBool,
    started: Instant,
    pub(crate) timing: ProxyTiming,
    /// The proxy's metrics, with upstream's names.
    pub metrics: ProxyMetrics,
}

impl std::fmt::Debug for PeerProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerProxy")
            .field("self_id", &self.self_id)
            .finish_non_exhaustive()
    }
}

impl PeerProxy {
    /// A proxy for the server `self_id` with no peers yet.
    pub fn new(self_id: String, transport: Transport, timing: ProxyTiming) -> Arc<Self> {
        Arc::new(Self {
            self_id,
            transport: Arc::new(transport),
            entries: Mutex::new(BTreeMap::new()),
            excluded: Mutex::new(BTreeSet::new()),
            snapshot: RwLock::new(Arc::new(RoutingTable::default())),
            turn: AtomicUsize::new(0),
            changed: Notify::new(),
            generation: AtomicU64::new(0),
            first_round: AtomicBool::new(false),
            started: Instant::now(),
            timing,
            metrics: ProxyMetrics::default(),
        })
    }

    /// Where a request goes: the routing decision over the current
    /// snapshot, with the next round-robin turn.
    pub fn route(&self, request: &RouteRequest<'_>) -> Decision {
        let turn = self.turn.fetch_add(1, Ordering::Relaxed);
        let decision = routing::decide(request, &self.snapshot(), turn);
        if let (
            Decision::Refuse(ApiError::ServiceUnavailable { message, .. }),
            Target::Resource {
                group,
                version,
                resource,
            },
        ) = (&decision, request.target)
            && message == NO_ENDPOINT_MESSAGE
        {
            self.metrics
                .proxy_errors
                .inc(&["endpoint_resolution", group, version, resource]);
        }
        decision
    }

    /// The current routing snapshot.
    pub fn snapshot(&self) -> Arc<RoutingTable> {
        match self.snapshot.read() {
            Ok(s) => Arc::clone(&s),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// A number that changes whenever peer discovery data changes.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether the first discovery round finished (or its deadline passed):
    /// readiness waits for this so a fresh server does not 404 what a peer serves.
    pub fn synced(&self) -> bool {
        self.first_round.load(Ordering::Acquire)
            || self.started.elapsed() > self.timing.first_round_deadline
    }

    /// Sets the group/versions whose peer data is ignored (custom resources,
    /// including ones deleted within the grace period): every server serves
    /// them from shared storage itself, and a peer's snapshot of them may be
    /// stale.
    pub fn set_excluded(&self, excluded: BTreeSet<(String, String)>) {
        let changed = match self.excluded.lock() {
            Ok(mut e) if *e != excluded => {
                *e = excluded;
                true
            }
            _ => false,
        };
        if changed {
            self.publish(true);
        }
    }

    /// Replaces the set of live peers (the caller filters valid identity
    /// leases; our own ID is ignored). A new peer or a restarted one (new
    /// holder) triggers a discovery round at once and is routed as
    /// "discovery unknown" until it is fetched; a peer whose endpoint
    /// changes or disappears keeps its last known discovery; one whose
    /// endpoint disappears is down until it has one again.
    pub fn set_peers(&self, peers: Vec<PeerInfo>) {
        let mut changed = false;
        if let Ok(mut table) = self.entries.lock() {
            let incoming: BTreeMap<String, PeerInfo> = peers
                .into_iter()
                .filter(|p| p.id != self.self_id)
                .map(|p| (p.id.clone(), p))
                .collect();
            let before = table.len();
            table.retain(|id, _| incoming.contains_key(id));
            changed |= table.len() != before;
            for (id, info) in incoming {
                match table.get_mut(&id) {
                    Some(entry) if entry.info == info => {}
                    Some(entry) => {
                        if entry.info.holder != info.holder {
                            *entry = Entry::new(info);
                        } else {
                            if entry.info.endpoint != info.endpoint {
                                // A new address is tried afresh; a lost one
                                // (its endpoint expired: the peer stopped
                                // refreshing it) leaves no way to reach it.
                                entry.link = match info.endpoint {
                                    Some(_) => Link::Up,
                                    None => Link::Down {
                                        cause: ENDPOINT_LOST.to_owned(),
                                    },
                                };
                            }
                            entry.info = info;
                        }
                        changed = true;
                    }
                    None => {
                        table.insert(id, Entry::new(info));
                        changed = true;
                    }
                }
            }
        }
        if changed {
            self.publish(true);
            self.changed.notify_one();
        }
    }

    /// Forgets what peer `id` serves: it answered a request its discovery
    /// said it serves with "not served here" (it restarted at another
    /// version since the last fetch). Until the discovery sync, woken now,
    /// fetches it again, it counts as unknown, so what only it seemed to
    /// serve answers 503, never 404.
    pub(crate) fn discovery_stale(&self, id: &str) {
        let forgotten = match self.entries.lock() {
            Ok(mut t) => t.get_mut(id).is_some_and(|e| e.discovery.take().is_some()),
            Err(_) => false,
        };
        if forgotten {
            self.publish(true);
        }
        self.changed.notify_one();
    }

    /// Rebuilds the routing snapshot from the table; `discovery_changed`
    /// also bumps the generation that discovery caches key on.
    pub(crate) fn publish(&self, discovery_changed: bool) {
        let excluded = self.excluded.lock().map(|e| e.clone()).unwrap_or_default();
        let table = match self.entries.lock() {
            Ok(entries) => RoutingTable::new(
                &self.self_id,
                entries.values().map(|e| {
                    let served: Vec<&GroupVersionResource> = e
                        .discovery
                        .iter()
                        .flat_map(|d| d.gvrs.iter())
                        .filter(|g| !excluded.contains(&(g.group.clone(), g.version.clone())))
                        .collect();
                    (view(e), served)
                }),
            ),
            Err(_) => return,
        };
        if let Ok(mut s) = self.snapshot.write() {
            *s = Arc::new(table);
        }
        if discovery_changed {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// What is known about every live peer, for readiness output, metrics
    /// and `skewless cluster status`.
    pub fn report(&self) -> Vec<PeerReport> {
        match self.entries.lock() {
            Ok(t) => t
                .values()
                .map(|e| PeerReport {
                    id: e.info.id.clone(),
                    endpoint: e.info.endpoint.clone(),
                    link: e.link.clone(),
                    discovery_known: e.discovery.is_some(),
                    discovery_error: e.discovery_error.clone(),
                    discovery_age: e.discovery_at.map(|at| at.elapsed()),
                })
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Whether some live peer's discovery is unknown: documents merged from
    /// peers' data then lack its part.
    pub fn missing_peer_data(&self) -> Vec<String> {
        self.snapshot()
            .peers()
            .iter()
            .filter(|p| matches!(p.discovery, Discovery::Unknown { .. }))
            .map(|p| p.id.to_string())
            .collect()
    }

    /// Appends per-peer gauges in the Prometheus text format.
    pub fn render_peers(&self, out: &mut String) {
        let peers = self.report();
        out.push_str("# HELP skewless_peer_link_up Whether the peer API server answers (1), or is suspect or down (0).\n# TYPE skewless_peer_link_up gauge\n");
        for p in &peers {
            out.push_str(&format!(
                "skewless_peer_link_up{{peer=\"{}\",address=\"{}\"}} {}\n",
                p.id,
                p.endpoint.as_deref().unwrap_or(""),
                u8::from(p.link == Link::Up)
            ));
        }
        out.push_str("# HELP skewless_peer_discovery_age_seconds Seconds since the peer's discovery was last fetched or confirmed unchanged; -1 if never.\n# TYPE skewless_peer_discovery_age_seconds gauge\n");
        for p in &peers {
            out.push_str(&format!(
                "skewless_peer_discovery_age_seconds{{peer=\"{}\"}} {}\n",
                p.id,
                p.discovery_age.map_or(-1.0, |a| a.as_secs_f64())
            ));
        }
        self.transport.render(out);
    }

    /// Every peer's `/apis` groups, by server ID (for merged discovery).
    pub fn peer_groups(&self) -> BTreeMap<String, Vec<APIGroupDiscovery>> {
        let excluded = self.excluded.lock().map(|e| e.clone()).unwrap_or_default();
        match self.entries.lock() {
            Ok(t) => t
                .iter()
                .filter_map(|(id, e)| {
                    e.discovery
                        .as_ref()
                        .map(|d| (id.clone(), merge::filter_excluded(&d.groups, &excluded)))
                })
                .collect(),
            Err(_) => BTreeMap::new(),
        }
    }

    /// Every peer's core group (`/api`), by server ID (for merged legacy
    /// `/api/<version>`).
    pub fn peer_core(&self) -> BTreeMap<String, Vec<APIGroupDiscovery>> {
        match self.entries.lock() {
            Ok(t) => t
                .iter()
                .filter_map(|(id, e)| e.discovery.as_ref().map(|d| (id.clone(), d.core.clone())))
                .collect(),
            Err(_) => BTreeMap::new(),
        }
    }

    /// Records how a peer answered. Each change of a link's state (up,
    /// suspect, down) is logged once, with the cause and the flag to check;
    /// a peer that stops answering is probed in the background until it
    /// answers again.
    pub(crate) fn set_link(self: &Arc<Self>, id: &PeerId, addr: &str, link: Link) {
        let start_probe = match self.entries.lock() {
            Ok(mut t) => match t.get_mut(id.as_str()) {
                Some(e)
                    if e.info.endpoint.as_deref() == Some(addr)
                        && std::mem::discriminant(&e.link) != std::mem::discriminant(&link) =>
                {
                    let was_up = e.link == Link::Up;
                    e.link = link.clone();
                    was_up
                }
                _ => return,
            },
            Err(_) => return,
        };
        match &link {
            Link::Up => tracing::info!(peer = %id, %addr, "peer API server link is up again"),
            Link::Suspect { cause } => {
                self.transport.forget(addr);
                tracing::warn!(peer = %id, %addr, %cause, check = hint(cause), "peer API server link is suspect: it took a request and did not answer in time; probing it");
            }
            Link::Down { cause } => {
                self.transport.forget(addr);
                tracing::warn!(peer = %id, %addr, %cause, check = hint(cause), "peer API server link is down; probing it");
            }
        }
        self.publish(false);
        if start_probe && link != Link::Up {
            let proxy = Arc::clone(self);
            let id = id.clone();
            let addr = addr.to_owned();
            tokio::spawn(async move { proxy.probe_until_up(id, addr).await });
        }
    }

    /// Dials a peer that stopped answering until it answers again (or
    /// leaves the table or moves).
    async fn probe_until_up(self: Arc<Self>, id: PeerId, addr: String) {
        let mut delay = Duration::from_millis(100);
        loop {
            tokio::time::sleep(delay).await;
            let still_out = self.entries.lock().is_ok_and(|t| {
                t.get(id.as_str()).is_some_and(|e| {
                    e.info.endpoint.as_deref() == Some(addr.as_str()) && e.link != Link::Up
                })
            });
            if !still_out {
                return;
            }
            if self.transport.probe(&addr).await.is_ok() {
                self.set_link(&id, &addr, Link::Up);
                return;
            }
            delay = (delay * 2).min(PROBE_INTERVAL_MAX);
        }
    }
}

/// What an operator should check for a link failure with this cause.
pub(crate) fn hint(cause: &str) -> &'static str {
    let c = cause.to_ascii_lowercase();
    if c.contains("unknownissuer") || c.contains("unknown issuer") || c.contains("badsignature") {
        "--peer-ca-file must hold the CA that signed the peer's serving certificate"
    } else if c.contains("notvalidforname") || c.contains("not valid for name") {
        "the peer's serving certificate must be valid for kubernetes.default.svc"
    } else if c.contains("expired") || c.contains("notvalidyet") {
        "the peer's serving certificate is outside its validity period"
    } else if c.contains("certificaterequired")
        || c.contains("certificate required")
        || c.contains("bad certificate")
        || c.contains("badcertificate")
        || c.contains("unknown ca")
        || c.contains("unknownca")
    {
        "the peer rejected our client certificate: --proxy-client-cert-file/--proxy-client-key-file must be signed by a CA in the peer's --requestheader-client-ca-file"
    } else if c.contains("refused") {
        "nothing listens at the peer's advertised address: its --peer-advertise-ip/--peer-advertise-port, or it is not running"
    } else if c.contains("timed out")
        || c.contains("no response headers")
        || c.contains("no answer")
    {
        "the peer accepts connections but does not answer: is it hung or overloaded? (--peer-proxy-hop-timeout)"
    } else {
        "the peer's address (--peer-advertise-ip/--peer-advertise-port) and certificates (--peer-ca-file, --proxy-client-cert-file)"
    }
}

/// The longest wait between two probes of a peer that does not answer.
const PROBE_INTERVAL_MAX: Duration = Duration::from_secs(1);

fn view(e: &Entry) -> PeerView {
    PeerView {
        id: PeerId::new(e.info.id.clone()),
        endpoint: e.info.endpoint.clone(),
        link: e.link.clone(),
        discovery: match (&e.discovery, &e.discovery_error) {
            (Some(_), _) => Discovery::Known,
            (None, Some(cause)) => Discovery::Unknown {
                cause: cause.clone(),
            },
            (None, None) => Discovery::Unknown {
                cause: "not fetched yet".to_owned(),
            },
        },
    }
}

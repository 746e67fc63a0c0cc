//! The Mixed Version Proxy at run time: the table of peers (who they are,
//! where they listen, what they serve, whether they answer), the discovery
//! sync that keeps it current, and forwarding a request to a peer.
//!
//! The local server feeds it peers ([`PeerProxy::set_peers`], from identity
//! leases and endpoints it watches in storage) and asks it where a request
//! goes ([`PeerProxy::route`]). This module never reads storage and never
//! decides what the local server serves.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, Uri, header};
use http_body_util::{BodyExt, Empty};
use skewless_apimachinery::discovery::{APIGroupDiscovery, APIGroupDiscoveryList};
use skewless_apimachinery::metrics::{CounterVec, HistogramVec};
use skewless_apimachinery::request_info::GroupVersionResource;
use tokio::sync::Notify;

use crate::merge;
use crate::routing::{self, PeerTable, RouteRequest, RoutingDecision};
use crate::transport::{BoxError, PeerBody, ProxyBody, SendError, Transport};

/// The header that marks a request already proxied once.
pub const PEER_PROXIED_HEADER: &str = "x-kubernetes-peer-proxied";

/// The Accept header peer discovery sends: no-peer aggregated first.
pub const DISCOVERY_ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;profile=nopeer,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";

/// A peer as the local server knows it from storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// Server ID (the identity lease's name).
    pub id: String,
    /// The lease's `holderIdentity` (changes when the peer restarts).
    pub holder: String,
    /// `host:port` from the peer endpoint key, when known.
    pub endpoint: Option<String>,
}

/// The user a request is forwarded as.
#[derive(Debug, Clone, Default)]
pub struct ForwardedUser {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

/// What a peer serves, from its no-peer discovery.
#[derive(Debug, Clone, Default)]
struct PeerDiscovery {
    gvrs: BTreeSet<GroupVersionResource>,
    /// `/apis` groups (the core group is routable but never merged).
    groups: Vec<APIGroupDiscovery>,
    api_etag: Option<String>,
    apis_etag: Option<String>,
}

#[derive(Debug)]
struct PeerState {
    info: PeerInfo,
    healthy: Arc<AtomicBool>,
    discovery: Option<PeerDiscovery>,
}

/// Timing of the discovery sync.
#[derive(Debug, Clone, Copy)]
pub struct SyncTiming {
    /// How often every peer's discovery is re-checked (`If-None-Match`).
    pub resync: Duration,
    /// How long after start readiness waits at most for the first round.
    pub first_round_deadline: Duration,
    /// How long a response may take to start (the request deadline).
    pub request_timeout: Duration,
}

impl Default for SyncTiming {
    fn default() -> Self {
        Self {
            resync: Duration::from_secs(1),
            first_round_deadline: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// The proxy's metrics, with upstream's names.
#[derive(Debug)]
pub struct ProxyMetrics {
    pub rerouted: CounterVec,
    pub proxy_errors: CounterVec,
    pub sync_errors: CounterVec,
    pub hop: HistogramVec,
}

impl Default for ProxyMetrics {
    fn default() -> Self {
        Self {
            rerouted: CounterVec::new(
                "apiserver_rerouted_request_total",
                "Total number of requests that were proxied to a peer kube-apiserver because the local apiserver was not capable of serving it, broken down by 'group', 'version', and 'resource' indicating the GVR of the request. If all three are empty (\"\"), the request is a discovery request.",
                &["code", "group", "version", "resource"],
            ),
            proxy_errors: CounterVec::new(
                "apiserver_peer_proxy_errors_total",
                "Total number of errors encountered while proxying requests to a peer kube apiserver",
                &["type", "group", "version", "resource"],
            ),
            sync_errors: CounterVec::new(
                "apiserver_peer_discovery_sync_errors_total",
                "Total number of errors encountered while syncing discovery information from a peer kube-apiserver",
                &["type"],
            ),
            hop: HistogramVec::new(
                "skewless_peer_proxy_response_seconds",
                "Time from handing a request to a peer until the peer's response headers arrived, by group, version and resource.",
                &["group", "version", "resource"],
                &[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0, 30.0, 60.0,
                ],
            ),
        }
    }
}

impl ProxyMetrics {
    pub fn render(&self, out: &mut String) {
        self.rerouted.render(out);
        self.proxy_errors.render(out);
        self.sync_errors.render(out);
        self.hop.render(out);
    }
}

/// Why forwarding failed; the server turns these into 503 Status answers.
#[derive(Debug)]
pub enum ForwardError {
    /// Every capable peer was unreachable (or none is healthy).
    Unreachable { tried: Vec<String>, last: String },
    /// Peers serve it, but none has a known endpoint.
    NoEndpoint,
    /// The peer took the request but failed before answering.
    PeerFailed(String),
    /// The peer did not answer within the request deadline.
    Timeout,
    /// Connection upgrades are not proxied.
    Upgrade,
}

/// The peer table and the transport.
pub struct PeerProxy {
    self_id: String,
    transport: Arc<Transport>,
    peers: RwLock<BTreeMap<String, PeerState>>,
    changed: Notify,
    /// Bumped on every change of peer discovery data.
    generation: AtomicU64,
    first_round: AtomicBool,
    started: Instant,
    timing: SyncTiming,
    pub metrics: ProxyMetrics,
    on_change: RwLock<Vec<Box<dyn Fn() + Send + Sync>>>,
    /// Group/versions of custom resources (and recently deleted ones):
    /// peers' views of them are ignored, only the local view counts.
    excluded: RwLock<BTreeSet<(String, String)>>,
}

impl std::fmt::Debug for PeerProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerProxy")
            .field("self_id", &self.self_id)
            .finish_non_exhaustive()
    }
}

impl PeerProxy {
    pub fn new(self_id: String, transport: Transport, timing: SyncTiming) -> Arc<Self> {
        Arc::new(Self {
            self_id,
            transport: Arc::new(transport),
            peers: RwLock::new(BTreeMap::new()),
            changed: Notify::new(),
            generation: AtomicU64::new(0),
            first_round: AtomicBool::new(false),
            started: Instant::now(),
            timing,
            metrics: ProxyMetrics::default(),
            on_change: RwLock::new(Vec::new()),
            excluded: RwLock::new(BTreeSet::new()),
        })
    }

    /// Registers a callback run whenever peer discovery data changes (the
    /// merged discovery cache invalidates itself through it).
    pub fn on_change(&self, f: impl Fn() + Send + Sync + 'static) {
        if let Ok(mut cbs) = self.on_change.write() {
            cbs.push(Box::new(f));
        }
    }

    fn notify_change(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(cbs) = self.on_change.read() {
            for cb in cbs.iter() {
                cb();
            }
        }
    }

    /// Sets the group/versions whose peer data is ignored (custom resources,
    /// including ones deleted within the grace period): every server serves
    /// them from shared storage itself, and a peer's snapshot of them may be
    /// stale.
    pub fn set_excluded(&self, excluded: BTreeSet<(String, String)>) {
        let changed = match self.excluded.write() {
            Ok(mut e) if *e != excluded => {
                *e = excluded;
                true
            }
            _ => false,
        };
        if changed {
            self.notify_change();
        }
    }

    fn is_excluded(&self, group: &str, version: &str) -> bool {
        self.excluded
            .read()
            .is_ok_and(|e| e.contains(&(group.to_owned(), version.to_owned())))
    }

    /// A number that changes whenever peer discovery data changes.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Replaces the set of peers (the caller filters valid identity leases;
    /// our own ID is ignored). A new peer, a peer gone, a new holder (a
    /// restart) or a new endpoint triggers a discovery round at once.
    pub fn set_peers(&self, peers: Vec<PeerInfo>) {
        let mut changed = false;
        if let Ok(mut table) = self.peers.write() {
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
                    Some(state) if state.info == info => {}
                    Some(state) => {
                        if state.info.holder != info.holder || state.info.endpoint != info.endpoint
                        {
                            state.discovery = None;
                            state.healthy.store(true, Ordering::Release);
                        }
                        state.info = info;
                        changed = true;
                    }
                    None => {
                        table.insert(
                            id,
                            PeerState {
                                info,
                                healthy: Arc::new(AtomicBool::new(true)),
                                discovery: None,
                            },
                        );
                        changed = true;
                    }
                }
            }
        }
        if changed {
            self.notify_change();
            self.changed.notify_one();
        }
    }

    /// Whether the first discovery round finished (or its deadline passed):
    /// readiness waits for this so a fresh server does not 404 what a peer serves.
    pub fn synced(&self) -> bool {
        self.first_round.load(Ordering::Acquire)
            || self.started.elapsed() > self.timing.first_round_deadline
    }

    /// Where a request for `gvr` goes (subresources route as their parent).
    pub fn route(
        &self,
        already_proxied: bool,
        gvr: &GroupVersionResource,
        served_locally: bool,
    ) -> RoutingDecision {
        let gvr = base(gvr);
        let excluded = self.is_excluded(&gvr.group, &gvr.version);
        // Only the one GVR matters to this decision: each peer's view holds
        // it or nothing, which keeps per-request work small.
        let table: PeerTable = match self.peers.read() {
            Ok(t) => t
                .values()
                .map(|s| {
                    let serves =
                        !excluded && s.discovery.as_ref().is_some_and(|d| d.gvrs.contains(&gvr));
                    (
                        routing::PeerId::new(s.info.id.clone()),
                        routing::PeerState {
                            served: if serves {
                                BTreeSet::from([gvr.clone()])
                            } else {
                                BTreeSet::new()
                            },
                            healthy: s.healthy.load(Ordering::Acquire),
                            endpoint_known: s.info.endpoint.is_some(),
                        },
                    )
                })
                .collect(),
            Err(_) => PeerTable::new(),
        };
        routing::route(
            &RouteRequest {
                is_resource_request: true,
                peer_proxied: already_proxied,
                gvr: &gvr,
                served_locally,
            },
            &self.self_id,
            &table,
        )
    }

    /// Every peer's `/apis` groups, by server ID (for merged discovery).
    pub fn peer_groups(&self) -> BTreeMap<String, Vec<APIGroupDiscovery>> {
        let excluded = self.excluded.read().map(|e| e.clone()).unwrap_or_default();
        match self.peers.read() {
            Ok(t) => t
                .iter()
                .filter_map(|(id, s)| {
                    s.discovery
                        .as_ref()
                        .map(|d| (id.clone(), merge::filter_excluded(&d.groups, &excluded)))
                })
                .collect(),
            Err(_) => BTreeMap::new(),
        }
    }

    /// Group/versions only peers serve, with a peer that serves each.
    pub fn peer_served_group_versions(&self) -> BTreeMap<(String, String), Vec<String>> {
        let mut out: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        if let Ok(t) = self.peers.read() {
            for (id, s) in t.iter() {
                for gvr in s.discovery.iter().flat_map(|d| d.gvrs.iter()) {
                    if self.is_excluded(&gvr.group, &gvr.version) {
                        continue;
                    }
                    let entry = out
                        .entry((gvr.group.clone(), gvr.version.clone()))
                        .or_default();
                    if !entry.contains(id) {
                        entry.push(id.clone());
                    }
                }
            }
        }
        out
    }

    /// The endpoint of a peer.
    pub fn endpoint(&self, id: &str) -> Option<String> {
        self.peers.read().ok()?.get(id)?.info.endpoint.clone()
    }

    /// Runs the discovery sync until `stop` fires.
    pub async fn run_sync(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            let complete = self.sync_round().await;
            if complete {
                self.first_round.store(true, Ordering::Release);
            }
            tokio::select! {
                _ = stop.changed() => return,
                () = self.changed.notified() => {}
                () = tokio::time::sleep(self.timing.resync) => {}
            }
        }
    }

    /// One pass over every peer; returns whether every peer was reached at
    /// a known endpoint (a peer whose endpoint is not written yet makes
    /// the round incomplete: readiness keeps waiting for it, within the
    /// first-round deadline).
    async fn sync_round(&self) -> bool {
        let peers: Vec<(PeerInfo, Option<PeerDiscovery>)> = match self.peers.read() {
            Ok(t) => t
                .values()
                .map(|s| (s.info.clone(), s.discovery.clone()))
                .collect(),
            Err(_) => return false,
        };
        let complete = peers.iter().all(|(info, _)| info.endpoint.is_some());
        let fetches = peers.into_iter().map(|(info, old)| async move {
            let result = self.fetch(&info, old.as_ref()).await;
            (info, result)
        });
        let results = futures::future::join_all(fetches).await;
        let mut changed = false;
        if let Ok(mut table) = self.peers.write() {
            for (info, result) in results {
                let Some(state) = table.get_mut(&info.id) else {
                    continue;
                };
                if state.info != info {
                    continue; // changed meanwhile; the next round refetches
                }
                if let Some(new) = result {
                    changed = true;
                    state.discovery = Some(new);
                }
            }
        }
        if changed {
            self.notify_change();
        }
        complete
    }

    /// Fetches a peer's `/api` and `/apis`; `None` when nothing changed (or
    /// it failed: the old data stays until the peer's lease goes away).
    async fn fetch(&self, info: &PeerInfo, old: Option<&PeerDiscovery>) -> Option<PeerDiscovery> {
        let Some(addr) = info.endpoint.as_deref() else {
            self.metrics.sync_errors.inc(&["hostport_resolution"]);
            return None;
        };
        let mut next = old.cloned().unwrap_or_default();
        let mut any_changed = old.is_none();
        let mut core = BTreeSet::new();
        for path in ["/api", "/apis"] {
            let etag = if path == "/api" {
                next.api_etag.clone()
            } else {
                next.apis_etag.clone()
            };
            match self.get_discovery(addr, path, etag.as_deref()).await {
                Ok(None) => {}
                Ok(Some((list, etag))) => {
                    any_changed = true;
                    if path == "/api" {
                        next.api_etag = etag;
                        core = merge::gvrs(&list.items);
                    } else {
                        next.apis_etag = etag;
                        next.groups = list
                            .items
                            .into_iter()
                            .filter(|g| !g.name().is_empty())
                            .collect();
                    }
                }
                Err(e) => {
                    tracing::debug!(peer = %info.id, path, error = %e, "peer discovery failed");
                    self.metrics.sync_errors.inc(&["fetch_discovery"]);
                    return None;
                }
            }
        }
        if !any_changed {
            return None;
        }
        if core.is_empty() {
            core = old
                .map(|o| {
                    o.gvrs
                        .iter()
                        .filter(|g| g.group.is_empty())
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
        }
        next.gvrs = core;
        next.gvrs.extend(merge::gvrs(&next.groups));
        Some(next)
    }

    async fn get_discovery(
        &self,
        addr: &str,
        path: &str,
        etag: Option<&str>,
    ) -> Result<Option<(APIGroupDiscoveryList, Option<String>)>, BoxError> {
        let uri: Uri = format!("https://{addr}{path}").parse()?;
        let mut req = Request::builder()
            .method("GET")
            .uri(uri)
            .header(header::ACCEPT, DISCOVERY_ACCEPT)
            .header(PEER_PROXIED_HEADER, "true")
            .header("x-remote-user", "system:apiserver")
            .header("x-remote-uid", "system:apiserver")
            .header("x-remote-group", "system:authenticated");
        if let Some(tag) = etag {
            req = req.header(header::IF_NONE_MATCH, tag);
        }
        let req = req.body(
            Empty::<Bytes>::new()
                .map_err(|never| match never {})
                .boxed_unsync(),
        )?;
        let resp =
            match tokio::time::timeout(self.timing.request_timeout, self.transport.send(addr, req))
                .await
            {
                Err(_) => return Err("peer discovery timed out".into()),
                Ok(Err(SendError::NotSent { cause, .. })) => return Err(cause),
                Ok(Err(SendError::Failed(e))) => return Err(e),
                Ok(Ok(r)) => r,
            };
        let status = resp.status().as_u16();
        self.metrics
            .rerouted
            .inc(&[&status.to_string(), "", "", ""]);
        if status == 304 {
            return Ok(None);
        }
        if status != 200 {
            return Err(format!("{path} answered {status}").into());
        }
        let new_etag = resp
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = tokio::time::timeout(self.timing.request_timeout, resp.into_body().collect())
            .await
            .map_err(|_| -> BoxError { "peer discovery body timed out".into() })??
            .to_bytes();
        let list: APIGroupDiscoveryList = serde_json::from_slice(&body)?;
        Ok(Some((list, new_etag)))
    }

    /// Forwards a request to the first reachable candidate, marking peers
    /// that cannot be reached as down (and re-probing them in the
    /// background). The response streams back unchanged.
    pub async fn forward(
        &self,
        candidates: &[String],
        gvr: &GroupVersionResource,
        parts: &http::request::Parts,
        body: ProxyBody,
        user: &ForwardedUser,
    ) -> Result<Response<PeerBody>, ForwardError> {
        if parts.headers.contains_key(header::UPGRADE) {
            return Err(ForwardError::Upgrade);
        }
        let labels = [
            gvr.group.as_str(),
            gvr.version.as_str(),
            gvr.resource.as_str(),
        ];
        let mut tried = Vec::new();
        let mut last = String::new();
        let mut body = Some(body);
        let mut pending: Option<Request<ProxyBody>> = None;
        for id in candidates {
            let Some(addr) = self.endpoint(id) else {
                continue;
            };
            let req = match pending.take() {
                Some(mut r) => {
                    match rewrite_uri(&addr, r.uri()) {
                        Ok(u) => *r.uri_mut() = u,
                        Err(_) => continue,
                    }
                    r
                }
                None => match build_request(&addr, parts, body.take(), user) {
                    Ok(r) => r,
                    Err(e) => {
                        last = e.to_string();
                        continue;
                    }
                },
            };
            tried.push(id.clone());
            let started = Instant::now();
            match tokio::time::timeout(self.timing.request_timeout, self.transport.send(&addr, req))
                .await
            {
                Err(_) => {
                    self.metrics.proxy_errors.inc(&[
                        "proxy_transport",
                        labels[0],
                        labels[1],
                        labels[2],
                    ]);
                    return Err(ForwardError::Timeout);
                }
                Ok(Ok(resp)) => {
                    self.metrics.hop.observe(&labels, started.elapsed());
                    let code = resp.status().as_u16().to_string();
                    self.metrics
                        .rerouted
                        .inc(&[&code, labels[0], labels[1], labels[2]]);
                    return Ok(resp);
                }
                Ok(Err(SendError::NotSent { request, cause })) => {
                    self.metrics.proxy_errors.inc(&[
                        "proxy_transport",
                        labels[0],
                        labels[1],
                        labels[2],
                    ]);
                    last = cause.to_string();
                    tracing::warn!(peer = %id, error = %last, "peer unreachable; trying another");
                    self.mark_down(id, &addr);
                    pending = Some(*request);
                }
                Ok(Err(SendError::Failed(e))) => {
                    self.metrics.proxy_errors.inc(&[
                        "proxy_transport",
                        labels[0],
                        labels[1],
                        labels[2],
                    ]);
                    return Err(ForwardError::PeerFailed(e.to_string()));
                }
            }
        }
        if tried.is_empty() && last.is_empty() {
            self.metrics.proxy_errors.inc(&[
                "endpoint_resolution",
                labels[0],
                labels[1],
                labels[2],
            ]);
            return Err(ForwardError::NoEndpoint);
        }
        self.metrics
            .rerouted
            .inc(&["503", labels[0], labels[1], labels[2]]);
        Err(ForwardError::Unreachable { tried, last })
    }

    fn mark_down(&self, id: &str, addr: &str) {
        let Some(flag) = self
            .peers
            .read()
            .ok()
            .and_then(|t| t.get(id).map(|s| Arc::clone(&s.healthy)))
        else {
            return;
        };
        self.transport.forget(addr);
        if !flag.swap(false, Ordering::AcqRel) {
            return; // already down; a probe is running
        }
        let transport = Arc::clone(&self.transport);
        let addr = addr.to_owned();
        let id = id.to_owned();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(200);
            loop {
                tokio::time::sleep(delay).await;
                if transport.probe(&addr).await.is_ok() {
                    flag.store(true, Ordering::Release);
                    tracing::info!(peer = %id, "peer reachable again");
                    return;
                }
                delay = (delay * 2).min(Duration::from_secs(5));
                if Arc::strong_count(&flag) == 1 {
                    return; // the peer left the table
                }
            }
        });
    }
}

/// Discovery and routing work on the parent resource: `pods/log` routes as `pods`.
fn base(gvr: &GroupVersionResource) -> GroupVersionResource {
    GroupVersionResource::new(gvr.group.clone(), gvr.version.clone(), gvr.resource.clone())
}

fn rewrite_uri(addr: &str, uri: &Uri) -> Result<Uri, http::Error> {
    let pq = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    Ok(format!("https://{addr}{pq}").parse::<Uri>()?)
}

/// Headers that describe one connection, not the request.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
];

/// The request as the peer receives it: same method, path and query; the
/// client's headers minus hop-by-hop ones, credentials and any identity
/// claims; our identity headers for the authenticated user; the loop guard.
pub fn build_request(
    addr: &str,
    parts: &http::request::Parts,
    body: Option<ProxyBody>,
    user: &ForwardedUser,
) -> Result<Request<ProxyBody>, http::Error> {
    let uri = rewrite_uri(addr, &parts.uri)?;
    let mut headers = HeaderMap::new();
    for (name, value) in &parts.headers {
        let n = name.as_str();
        if HOP_BY_HOP.contains(&n)
            || n == "host"
            || n == "authorization"
            || n == "upgrade"
            || n.starts_with("x-remote-")
            || n == PEER_PROXIED_HEADER
        {
            continue;
        }
        headers.append(name.clone(), value.clone());
    }
    let mut add = |name: String, value: &str| {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(n, v);
        }
    };
    add("x-remote-user".into(), &user.name);
    if !user.uid.is_empty() {
        add("x-remote-uid".into(), &user.uid);
    }
    for g in &user.groups {
        add("x-remote-group".into(), g);
    }
    for (key, values) in &user.extra {
        for v in values {
            add(format!("x-remote-extra-{}", escape_extra_key(key)), v);
        }
    }
    add(PEER_PROXIED_HEADER.into(), "true");
    let mut req = Request::builder().method(parts.method.clone()).uri(uri);
    if let Some(h) = req.headers_mut() {
        *h = headers;
    }
    req.body(body.unwrap_or_else(|| {
        Empty::<Bytes>::new()
            .map_err(|never| match never {})
            .boxed_unsync()
    }))
}

/// Percent-encodes every byte of an extra key that is not an RFC 7230 token
/// character (and `%` itself), uppercase hex, as upstream.
pub fn escape_extra_key(key: &str) -> String {
    fn token(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b"!#$&'*+-.^_`|~".contains(&b)
    }
    let mut out = String::new();
    for b in key.bytes() {
        if token(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The values of one header of a request (tests inspect forwarded requests).
pub fn header_values(req: &Request<ProxyBody>, name: &str) -> Vec<String> {
    req.headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn extra_keys_escape_like_upstream() {
        assert_eq!(escape_extra_key("scopes"), "scopes");
        assert_eq!(escape_extra_key("example.com/scope"), "example.com%2Fscope");
        assert_eq!(escape_extra_key("100%"), "100%25");
    }

    #[test]
    fn forwarded_requests_carry_only_our_identity() {
        let req = Request::builder()
            .method("GET")
            .uri("/apis/batch/v1/jobs?limit=5")
            .header("authorization", "Bearer secret")
            .header("x-remote-user", "mallory")
            .header("x-remote-extra-foo", "bar")
            .header("connection", "keep-alive")
            .header("accept", "application/json")
            .header(PEER_PROXIED_HEADER, "false")
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        let user = ForwardedUser {
            name: "alice".into(),
            uid: "42".into(),
            groups: vec!["devs".into(), "system:authenticated".into()],
            extra: BTreeMap::from([("example.com/scope".into(), vec!["x".into()])]),
        };
        let out = build_request("10.0.0.1:6443", &parts, None, &user).unwrap();
        assert_eq!(
            out.uri().to_string(),
            "https://10.0.0.1:6443/apis/batch/v1/jobs?limit=5"
        );
        assert_eq!(header_values(&out, "x-remote-user"), ["alice"]);
        assert_eq!(header_values(&out, "x-remote-uid"), ["42"]);
        assert_eq!(
            header_values(&out, "x-remote-group"),
            ["devs", "system:authenticated"]
        );
        assert_eq!(
            header_values(&out, "x-remote-extra-example.com%2Fscope"),
            ["x"]
        );
        assert!(header_values(&out, "x-remote-extra-foo").is_empty());
        assert!(header_values(&out, "authorization").is_empty());
        assert!(header_values(&out, "connection").is_empty());
        assert_eq!(header_values(&out, "accept"), ["application/json"]);
        assert_eq!(header_values(&out, PEER_PROXIED_HEADER), ["true"]);
    }
}

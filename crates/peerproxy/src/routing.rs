//! The Mixed Version Proxy's one routing decision, as a pure function: given
//! what a request addresses, whether it was proxied already, whether this
//! server serves it, and an immutable snapshot of what is known about every
//! peer, say whether to serve it here, which peers to try in which order, or
//! which error to answer.
//!
//! It decides for resource requests and for legacy discovery of a group or
//! group/version (`/apis/<group>[/<version>]`) that only peers serve. A
//! request that already carries `x-kubernetes-peer-proxied: true` is always
//! served here, so a request makes at most one hop; subresources and verbs
//! follow their parent resource.
//!
//! Beyond upstream:
//! - a peer that cannot be reached is not a candidate, and "every capable
//!   peer is unreachable" is a 503 naming the peers and the cause;
//! - **uncertainty is never absence**: while some live peer's discovery is
//!   unknown (never fetched since it started, or its fetches fail), a
//!   resource no known peer serves answers 503, not 404, because that peer
//!   may serve it.
//!
//! Everything the decision depends on is an argument, including the
//! round-robin `turn` that spreads load over capable peers; this module
//! never opens connections, reads clocks or draws random numbers. Candidate
//! order, the retry policy and every message live here.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use skewless_apimachinery::request_info::{GroupVersionResource, RequestInfo};
use skewless_apimachinery::status::ApiError;

/// The header a server adds when it proxies a request to a peer
/// (upstream's `PeerProxiedHeader`).
pub const PEER_PROXIED_HEADER: &str = "x-kubernetes-peer-proxied";

/// The header naming the server that proxied a request (for the serving
/// peer's audit log); replaced on every hop, never taken from a client.
pub const PROXIED_BY_HEADER: &str = "x-skewless-proxied-by";

/// The header on a 503 a server answers to a peer-proxied request for what
/// it does not serve: the proxying server's view of it was stale (it
/// restarted at another version a moment ago). The proxying server then
/// refetches this server's discovery and tries another candidate, so the
/// client never sees a 404 for a resource another server serves.
pub const NOT_SERVED_HERE_HEADER: &str = "x-skewless-not-served-here";

/// Set on a proxied response's extensions: the peer that answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedBy(pub String);

/// Upstream's message when peers serve the resource but no peer address is
/// known (HTTP 503, reason `ServiceUnavailable`), word for word.
pub const NO_ENDPOINT_MESSAGE: &str =
    "Error getting ip and port info of the remote server while proxying";

/// `Retry-After` of every 503 the proxy answers: peers come and go within
/// seconds, so clients retry soon.
pub const RETRY_AFTER_SECONDS: u32 = 1;

/// The most header bytes a request may carry to a peer, counted as HTTP/2
/// counts a header list (name, value and 32 bytes per field). Every server
/// accepts 1 MiB of request head (Go's default, as kube-apiserver); the
/// rest is room for the identity headers the first hop adds. A larger
/// request is answered 431 at the first hop and never reaches the
/// connection other users' requests share.
pub const MAX_FORWARDED_HEADER_BYTES: usize = (1 << 20) - 64 * 1024;

/// The size of a header list as HTTP/2 counts it.
pub fn header_list_size(headers: &http::HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 32)
        .sum()
}

/// Whether the value of [`PEER_PROXIED_HEADER`] (its first value, as Go's
/// `Header.Get` reads it) marks the request as already proxied. Only the
/// exact value `true` does, as upstream.
pub fn is_peer_proxied(header_value: Option<&[u8]>) -> bool {
    header_value == Some(b"true".as_slice())
}

/// The stable ID of an API server (its identity Lease name, e.g.
/// `apiserver-<hash>`), which names a peer.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PeerId(String);

impl PeerId {
    /// Wraps a server ID.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The server ID as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for PeerId {
    fn from(id: &str) -> Self {
        Self(id.to_owned())
    }
}

impl Borrow<str> for PeerId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a peer answers right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// It answered its last request (or nothing failed yet).
    Up,
    /// It took a request and did not answer in time: tried after every
    /// peer that is up, probed in the background.
    Suspect {
        /// What happened, for messages and logs.
        cause: String,
    },
    /// It could not be reached: not a candidate until a probe succeeds.
    Down {
        /// What happened, for messages and logs.
        cause: String,
    },
}

/// What is known about what a peer serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discovery {
    /// Its discovery was fetched at least once since it (re)started; the
    /// snapshot routes by the last document even while later fetches fail.
    Known,
    /// Nothing is known yet, with the reason (not fetched yet, or why the
    /// fetches fail).
    Unknown {
        /// Why nothing is known.
        cause: String,
    },
}

/// One live peer as routing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerView {
    /// Its server ID.
    pub id: PeerId,
    /// `host:port` to dial, when its endpoint is known.
    pub endpoint: Option<String>,
    /// Whether it answers.
    pub link: Link,
    /// Whether its discovery is known.
    pub discovery: Discovery,
}

impl PeerView {
    /// A peer that is up, with a known endpoint and known discovery.
    pub fn up(id: &str, endpoint: &str) -> Self {
        Self {
            id: PeerId::from(id),
            endpoint: Some(endpoint.to_owned()),
            link: Link::Up,
            discovery: Discovery::Known,
        }
    }
}

type Index = HashMap<String, HashMap<String, HashMap<String, Vec<usize>>>>;

/// An immutable snapshot of every live peer and what each serves, indexed
/// for the decision. The proxy builds a new one whenever peers, their
/// discovery, their links or the exclusions change, and swaps it in; a
/// request only reads it.
#[derive(Debug, Default)]
pub struct RoutingTable {
    peers: Vec<Arc<PeerView>>,
    /// group → version → resource → indexes into `peers`, ascending by ID.
    resources: Index,
}

impl RoutingTable {
    /// Builds the snapshot. `local_id`'s own entry, if present, is left
    /// out; each peer comes with the resources its last known discovery
    /// lists (after exclusions).
    pub fn new<'a>(
        local_id: &str,
        peers: impl IntoIterator<Item = (PeerView, Vec<&'a GroupVersionResource>)>,
    ) -> Self {
        let mut peers: Vec<(PeerView, Vec<&GroupVersionResource>)> = peers
            .into_iter()
            .filter(|(p, _)| p.id.as_str() != local_id)
            .collect();
        peers.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        let mut resources = Index::new();
        for (i, (_, served)) in peers.iter().enumerate() {
            for gvr in served {
                let list = resources
                    .entry(gvr.group.clone())
                    .or_default()
                    .entry(gvr.version.clone())
                    .or_default()
                    .entry(gvr.resource.clone())
                    .or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        Self {
            peers: peers.into_iter().map(|(p, _)| Arc::new(p)).collect(),
            resources,
        }
    }

    /// Every live peer, ascending by ID.
    pub fn peers(&self) -> &[Arc<PeerView>] {
        &self.peers
    }

    fn serving(&self, group: &str, version: Option<&str>, resource: Option<&str>) -> Vec<usize> {
        let Some(versions) = self.resources.get(group) else {
            return Vec::new();
        };
        let mut out: Vec<usize> = versions
            .iter()
            .filter(|(v, _)| version.is_none_or(|want| want == v.as_str()))
            .flat_map(|(_, rs)| {
                rs.iter()
                    .filter(|(r, _)| resource.is_none_or(|want| want == r.as_str()))
                    .flat_map(|(_, peers)| peers.iter().copied())
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// What a request addresses, as far as routing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// A resource (or one of its subresources, or any verb on it): routed
    /// by the parent resource.
    Resource {
        /// API group (`""` for core).
        group: &'a str,
        /// API version.
        version: &'a str,
        /// Plural resource name.
        resource: &'a str,
    },
    /// Legacy discovery of a group (`GET /apis/<group>`) or group/version
    /// (`GET /apis/<group>/<version>`).
    GroupDiscovery {
        /// The group.
        group: &'a str,
        /// The version, for `/apis/<group>/<version>`.
        version: Option<&'a str>,
    },
    /// Anything else (`/apis`, `/api`, health, metrics, OpenAPI…): served here.
    Other,
}

impl<'a> Target<'a> {
    /// What a parsed request addresses.
    pub fn of(method: &http::Method, info: &'a RequestInfo) -> Self {
        if info.is_resource_request {
            return Self::Resource {
                group: &info.api_group,
                version: &info.api_version,
                resource: &info.resource,
            };
        }
        if *method != http::Method::GET && *method != http::Method::HEAD {
            return Self::Other;
        }
        let mut segments = info.path.trim_matches('/').split('/');
        match (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) {
            (Some("apis"), Some(group), version, None) if !group.is_empty() => {
                Self::GroupDiscovery {
                    group,
                    version: version.filter(|v| !v.is_empty()),
                }
            }
            _ => Self::Other,
        }
    }
}

/// The facts about one request that routing depends on.
#[derive(Debug, Clone, Copy)]
pub struct RouteRequest<'a> {
    /// What it addresses.
    pub target: Target<'a>,
    /// Whether it carries `x-kubernetes-peer-proxied: true` (see
    /// [`is_peer_proxied`]).
    pub peer_proxied: bool,
    /// Whether this server serves the target itself.
    pub served_locally: bool,
}

impl<'a> RouteRequest<'a> {
    /// The routing facts of a parsed request: its target, its
    /// [`PEER_PROXIED_HEADER`], and whether `serves_locally` says this
    /// server serves the target.
    pub fn new(
        method: &http::Method,
        info: &'a RequestInfo,
        headers: &http::HeaderMap,
        serves_locally: impl FnOnce(&Target<'_>) -> bool,
    ) -> Self {
        let target = Target::of(method, info);
        Self {
            peer_proxied: is_peer_proxied(
                headers
                    .get(PEER_PROXIED_HEADER)
                    .map(http::HeaderValue::as_bytes),
            ),
            served_locally: serves_locally(&target),
            target,
        }
    }
}

/// Where a request goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Serve it here: not routable, already proxied, or served here.
    Local,
    /// Nobody serves it and every live peer's discovery is known: serve it
    /// here, which answers 404 (or finds a CRD created a moment ago).
    NotServed,
    /// Try these peers in this order (never empty): every capable peer that
    /// is up, rotated by the turn, then the suspect ones.
    Proxy {
        /// The peers to try, first choice first.
        candidates: Vec<Arc<PeerView>>,
    },
    /// Answer this error (a 503 naming the peers and the cause).
    Refuse(ApiError),
    /// A peer proxied this request here, and this server does not serve
    /// it: answer this 503 with [`NOT_SERVED_HERE_HEADER`], never a 404,
    /// because the peer routed on stale data and another server may serve
    /// it.
    NotServedHere(ApiError),
}

impl Decision {
    /// The candidates' IDs, for logs and tests.
    pub fn candidate_ids(&self) -> Vec<&str> {
        match self {
            Self::Proxy { candidates } => candidates.iter().map(|p| p.id.as_str()).collect(),
            _ => Vec::new(),
        }
    }
}

/// A 503 the client should retry soon.
pub(crate) fn unavailable_error(message: String) -> ApiError {
    ApiError::ServiceUnavailable {
        message,
        retry_after_seconds: Some(RETRY_AFTER_SECONDS),
    }
}

/// A 504: a peer took the request and did not answer in time.
pub(crate) fn timeout_error(message: String) -> ApiError {
    ApiError::Timeout {
        message,
        retry_after_seconds: Some(RETRY_AFTER_SECONDS),
    }
}

fn unavailable(message: String) -> Decision {
    Decision::Refuse(unavailable_error(message))
}

fn describe(target: &Target<'_>) -> String {
    match target {
        Target::Resource {
            group,
            version,
            resource,
        } => GroupVersionResource::new(*group, *version, *resource).to_string(),
        Target::GroupDiscovery {
            group,
            version: Some(v),
        } => format!("{group}/{v}"),
        Target::GroupDiscovery {
            group,
            version: None,
        } => (*group).to_owned(),
        Target::Other => String::new(),
    }
}

fn list(peers: &[&PeerView], cause: impl Fn(&PeerView) -> String) -> String {
    peers
        .iter()
        .map(|p| format!("{} ({})", p.id, cause(p)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Decides where `request` goes.
pub fn decide(request: &RouteRequest<'_>, table: &RoutingTable, turn: usize) -> Decision {
    if request.served_locally || matches!(request.target, Target::Other) {
        return Decision::Local;
    }
    if request.peer_proxied {
        return Decision::NotServedHere(unavailable_error(format!(
            "{} is not served by this API server; the peer API server that proxied the request had stale discovery of it",
            describe(&request.target)
        )));
    }
    let capable = match request.target {
        Target::Other => return Decision::Local,
        Target::Resource {
            group,
            version,
            resource,
        } => table.serving(group, Some(version), Some(resource)),
        Target::GroupDiscovery { group, version } => table.serving(group, version, None),
    };
    let what = describe(&request.target);
    if capable.is_empty() {
        let unknown: Vec<&PeerView> = table
            .peers
            .iter()
            .map(AsRef::as_ref)
            .filter(|p| matches!(p.discovery, Discovery::Unknown { .. }))
            .collect();
        if unknown.is_empty() {
            return Decision::NotServed;
        }
        return unavailable(format!(
            "{what} is not served by this API server, and whether a peer API server serves it is not known yet: discovery of {} is unknown",
            list(&unknown, |p| match &p.discovery {
                Discovery::Unknown { cause } => cause.clone(),
                Discovery::Known => String::new(),
            })
        ));
    }
    let capable: Vec<&Arc<PeerView>> = capable.iter().map(|&i| &table.peers[i]).collect();
    let mut up: Vec<Arc<PeerView>> = Vec::with_capacity(capable.len());
    let mut suspect = Vec::new();
    for peer in &capable {
        match (&peer.endpoint, &peer.link) {
            (Some(_), Link::Up) => up.push(Arc::clone(peer)),
            (Some(_), Link::Suspect { .. }) => suspect.push(Arc::clone(peer)),
            _ => {}
        }
    }
    if !up.is_empty() {
        let n = up.len();
        up.rotate_left(turn % n);
    }
    up.extend(suspect);
    if !up.is_empty() {
        return Decision::Proxy { candidates: up };
    }
    if capable.iter().all(|p| p.endpoint.is_none()) {
        return unavailable(NO_ENDPOINT_MESSAGE.to_owned());
    }
    let capable: Vec<&PeerView> = capable.iter().map(|p| p.as_ref()).collect();
    unavailable(format!(
        "{what} is served only by peer API servers, and none can be reached right now: {}",
        list(&capable, |p| match (&p.endpoint, &p.link) {
            (None, _) => "its address is not known".to_owned(),
            (_, Link::Down { cause } | Link::Suspect { cause }) => cause.clone(),
            (_, Link::Up) => "up".to_owned(),
        })
    ))
}

/// How a hop to a peer failed, for the retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HopFailure {
    /// The request never left: no connection, TLS refused, or the peer
    /// refused the stream before reading it.
    NotSent,
    /// The peer took the request and sent no response headers in time.
    NoAnswer,
    /// The peer took the request and the exchange broke before headers.
    Broken,
    /// The peer answered that it does not serve what the request addresses
    /// ([`NOT_SERVED_HERE_HEADER`]): it did not act on it, but the body
    /// was sent.
    NotServedThere,
}

/// Whether a request whose hop failed this way may be sent to the next
/// candidate: one that never left always may; one the peer may have acted
/// on only when repeating it cannot change anything (reads and the start of
/// a watch).
pub fn may_retry(method: &http::Method, failure: HopFailure) -> bool {
    match failure {
        HopFailure::NotSent => true,
        HopFailure::NoAnswer | HopFailure::Broken | HopFailure::NotServedThere => {
            matches!(
                *method,
                http::Method::GET | http::Method::HEAD | http::Method::OPTIONS
            )
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests;

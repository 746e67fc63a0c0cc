//! The Mixed Version Proxy's routing decision as a pure function: given what
//! a request addresses, whether it has already been proxied, whether this
//! server serves it, and what is known about the peers, say whether to serve
//! it here, which peers may serve it, or why it cannot be served
//! (`reference/mvp-upstream.md` §1.2, SPEC §4 item 3 and §5).
//!
//! Only resource requests are candidates; a request that already carries
//! `x-kubernetes-peer-proxied: true` is always served locally, so a request
//! makes at most one hop. Requests route by group/version/resource alone:
//! subresources and verbs follow their parent resource. Unlike upstream, a
//! peer that is known to be down is not a candidate, and "every capable peer
//! is down" is its own outcome.
//!
//! This module must never open connections, read clocks or pick a peer at
//! random: it returns every acceptable peer in a fixed order and leaves the
//! choice (and retries) to the transport.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use skewless_apimachinery::request_info::GroupVersionResource;

use crate::Error;

/// The header a server adds when it proxies a request to a peer
/// (upstream's `PeerProxiedHeader`).
pub const PEER_PROXIED_HEADER: &str = "x-kubernetes-peer-proxied";

/// Upstream's message when peers serve the resource but no peer address is
/// known (HTTP 503, reason `ServiceUnavailable`).
pub const NO_ENDPOINT_MESSAGE: &str =
    "Error getting ip and port info of the remote server while proxying";

/// Our message when peers serve the resource, their addresses are known, but
/// all of them are marked down (HTTP 503, reason `ServiceUnavailable`).
pub const ALL_PEERS_DOWN_MESSAGE: &str =
    "Error proxying to the remote server: every server that serves this resource is unreachable";

/// Whether the value of [`PEER_PROXIED_HEADER`] (its first value, as Go's
/// `Header.Get` reads it) marks the request as already proxied. Only the
/// exact value `true` does, as upstream.
pub fn is_peer_proxied(header_value: Option<&[u8]>) -> bool {
    header_value == Some(b"true".as_slice())
}

/// The stable ID of an API server (its identity Lease name, e.g.
/// `apiserver-<hash>`), which names a peer in the peer table.
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

impl From<String> for PeerId {
    fn from(id: String) -> Self {
        Self(id)
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

/// What routing needs to know about one peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerState {
    /// The group/version/resources the peer's (filtered) discovery lists.
    pub served: BTreeSet<GroupVersionResource>,
    /// False while the peer is marked down (a connection to it failed and
    /// the background probe has not succeeded since).
    pub healthy: bool,
    /// Whether the peer's endpoint (host and port to dial) is known.
    pub endpoint_known: bool,
}

/// Every known peer by server ID. It should not contain the local server;
/// if it does, that entry is ignored.
pub type PeerTable = BTreeMap<PeerId, PeerState>;

/// The facts about one request that routing depends on.
#[derive(Debug, Clone, Copy)]
pub struct RouteRequest<'a> {
    /// Whether the request addresses a resource (`RequestInfo`'s
    /// `is_resource_request`); discovery, health, metrics, OpenAPI and other
    /// paths are not.
    pub is_resource_request: bool,
    /// Whether the request carries `x-kubernetes-peer-proxied: true` (see
    /// [`is_peer_proxied`]).
    pub peer_proxied: bool,
    /// The addressed resource, without subresource; ignored for
    /// non-resource requests.
    pub gvr: &'a GroupVersionResource,
    /// Whether the local registry serves `gvr`.
    pub served_locally: bool,
}

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoutingDecision {
    /// Serve it here: not a resource request, already proxied, or a resource
    /// this server serves.
    Local,
    /// Proxy it to one of these peers: each serves the resource, has a known
    /// endpoint and is not marked down. Never empty; sorted by ID, so the
    /// caller chooses (e.g. at random) and may retry another.
    Proxy {
        /// The acceptable peers, in ascending ID order.
        candidates: Vec<PeerId>,
    },
    /// Peers serve the resource but none has a known endpoint: 503 with
    /// [`NO_ENDPOINT_MESSAGE`].
    NoEndpoint,
    /// Peers serve the resource and have known endpoints, but every one of
    /// them is marked down: 503 with [`ALL_PEERS_DOWN_MESSAGE`].
    AllPeersDown,
    /// Neither this server nor any peer serves the resource: serve it here,
    /// which normally answers 404 (or finds a CRD created a moment ago).
    NotServed,
}

impl RoutingDecision {
    /// Whether the request is handled by this server's own handlers
    /// ([`Local`](Self::Local) and [`NotServed`](Self::NotServed)).
    pub fn serves_locally(&self) -> bool {
        matches!(self, Self::Local | Self::NotServed)
    }

    /// The error to answer with, for the two outcomes that are errors
    /// ([`NoEndpoint`](Self::NoEndpoint) and
    /// [`AllPeersDown`](Self::AllPeersDown)); `gvr` is the request's.
    pub fn error(&self, gvr: &GroupVersionResource) -> Option<Error> {
        match self {
            Self::NoEndpoint => Some(Error::NoPeerEndpoint { gvr: gvr.clone() }),
            Self::AllPeersDown => Some(Error::AllPeersDown { gvr: gvr.clone() }),
            Self::Local | Self::Proxy { .. } | Self::NotServed => None,
        }
    }
}

/// Decides where `request` goes, in upstream's order: non-resource and
/// already-proxied requests and locally served resources stay here; then the
/// peers (other than `local_id`) that serve the resource are considered.
pub fn route(request: &RouteRequest<'_>, local_id: &str, peers: &PeerTable) -> RoutingDecision {
    if !request.is_resource_request || request.peer_proxied || request.served_locally {
        return RoutingDecision::Local;
    }
    let capable: Vec<(&PeerId, &PeerState)> = peers
        .iter()
        .filter(|(id, peer)| id.as_str() != local_id && peer.served.contains(request.gvr))
        .collect();
    if capable.is_empty() {
        return RoutingDecision::NotServed;
    }
    if !capable.iter().any(|(_, peer)| peer.endpoint_known) {
        return RoutingDecision::NoEndpoint;
    }
    let candidates: Vec<PeerId> = capable
        .into_iter()
        .filter(|(_, peer)| peer.endpoint_known && peer.healthy)
        .map(|(id, _)| id.clone())
        .collect();
    if candidates.is_empty() {
        RoutingDecision::AllPeersDown
    } else {
        RoutingDecision::Proxy { candidates }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests;

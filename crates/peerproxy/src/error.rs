//! The one error type of the peer proxy. Each variant says *why* a request
//! cannot be answered through a peer; the server's single error-to-HTTP place
//! turns it into a `metav1.Status` (all of today's variants are
//! `503 ServiceUnavailable`).
//!
//! This module must never build HTTP responses or pick status codes itself;
//! it only names what went wrong and keeps what the caller needs to report it.

use skewless_apimachinery::request_info::GroupVersionResource;

use crate::routing::{ALL_PEERS_DOWN_MESSAGE, NO_ENDPOINT_MESSAGE};

/// Why the peer proxy could not serve a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Peers serve the resource but none of them has a known endpoint
    /// (upstream's `endpoint_resolution` failure). The message is upstream's,
    /// word for word, because clients and tests match on it.
    #[error("{}", NO_ENDPOINT_MESSAGE)]
    NoPeerEndpoint {
        /// The resource the request was for.
        gvr: GroupVersionResource,
    },
    /// Peers serve the resource and their endpoints are known, but every one
    /// of them is currently marked down (a skewless addition: upstream would
    /// still pick one at random and fail).
    #[error("{}", ALL_PEERS_DOWN_MESSAGE)]
    AllPeersDown {
        /// The resource the request was for.
        gvr: GroupVersionResource,
    },
}

impl Error {
    /// The resource the failed request was for (for metric labels such as
    /// `apiserver_peer_proxy_errors_total{group,version,resource}`).
    pub fn gvr(&self) -> &GroupVersionResource {
        match self {
            Self::NoPeerEndpoint { gvr } | Self::AllPeersDown { gvr } => gvr,
        }
    }
}

//! The Mixed Version Proxy (KEP-4020) and peer-aggregated discovery: how a
//! server in a control plane whose members run different versions answers
//! for the whole control plane instead of only for itself.
//!
//! This crate sees the local server only through what it serves and who it
//! is, and its peers only through their discovery documents and whether
//! they answer; it never knows how the server stores objects, so everything
//! here can be tested with fake peers alone.
//!
//! - [`routing`]: the one routing decision (serve here, proxy to these
//!   peers in this order, or answer this error), a pure function over an
//!   immutable [`routing::RoutingTable`] snapshot, with the retry policy.
//! - [`peers`]: the live peer table and its snapshot ([`PeerProxy`]).
//! - `sync`: peer discovery sync (`PeerProxy::run_sync`).
//! - [`forward`]: forwarding a request along the decision's candidates.
//! - [`transport`]: verified HTTPS to peers, pooled HTTP/2.
//! - [`merge`]: upstream's deterministic merge of aggregated discovery
//!   documents (the body of peer-aggregated `/apis`).
//! - [`metrics`]: upstream's metric families.

pub mod forward;
pub mod merge;
pub mod metrics;
pub mod peers;
pub mod routing;
mod sync;
pub mod transport;

pub use forward::ForwardedUser;
pub use peers::{PeerInfo, PeerProxy, PeerReport, ProxyTiming};
pub use routing::{Decision, PeerId, RouteRequest, Target};

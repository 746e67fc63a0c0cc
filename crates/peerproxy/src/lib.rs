//! The Mixed Version Proxy (KEP-4020) and peer-aggregated discovery: how a
//! server in a control plane whose members run different versions answers
//! for the whole control plane instead of only for itself.
//!
//! This crate sees the local server only through what it serves and who it
//! is, and its peers only through their aggregated discovery documents; it
//! never knows how the server stores objects, so everything here can be
//! tested with fake peers alone. Today it holds the pure core:
//!
//! - [`merge`]: upstream's deterministic merge of aggregated discovery
//!   documents from several servers (the body of peer-aggregated `/apis`),
//!   plus the exclusion filter and GVR listing applied to peer documents.
//! - [`routing`]: the decision, per request, between serving locally,
//!   proxying to a peer, or answering 503.
//!
//! The peer registry, discovery cache and transport will join them here.

pub mod error;
pub mod merge;
pub mod proxy;
pub mod routing;
pub mod transport;

pub use error::Error;
pub use routing::PeerId;

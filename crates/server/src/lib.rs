//! The Kubernetes-compatible API server behind `skewless serve`.
//!
//! Layers, each depending only on the ones above it:
//!
//! - leaves: [`options`], `tls`, `authn`, `authz`, `audit`, `http_util`, `object`,
//!   `patching`, `protobuf`, `rbac` (the policy as an authorizer, and the
//!   escalation checks), `metrics`, `cache`, `registry` (what is
//!   served), `openapi` and `merged` (derived-document caches), `storage`
//!   (keys and the controllers' compare-and-swap write), `watch_cache`
//!   (each resource's objects and recent events in memory);
//! - `state`: the data every request and controller shares;
//! - `handlers`: what answers a request here (REST verbs, watch, discovery,
//!   OpenAPI, tables, the resources that are not plain storage);
//! - `pipeline`: the request path, stage by stage, including the peer
//!   routing stage;
//! - `controllers`: background loops (identity Lease and endpoint, Lease
//!   GC, peers feed, namespace lifecycle, CRD establishment, RBAC policy
//!   and aggregation, compaction);
//! - `start`: start-up and shutdown.

mod aggregator;
mod audit;
mod authn;
mod authz;
mod cache;
mod controllers;
mod conversion_webhook;
mod fieldmanagers;
mod handlers;
mod http_util;
mod inflight;
mod merged;
mod metrics;
mod object;
mod openapi;
pub mod options;
mod patching;
mod pipeline;
mod protobuf;
mod rbac;
mod registry;
mod service_alloc;
mod service_dial;
mod start;
mod state;
mod storage;
pub mod tls;
mod watch_cache;

/// In-process measurements of the watch cache, for `skewless-bench`.
pub mod watch_cache_bench {
    pub use crate::watch_cache::fanout_latencies;
}

/// What tools and tests look for in storage to find API servers.
pub mod identity {
    pub use crate::controllers::identity::{
        IDENTITY_LABEL, IDENTITY_VALUE, LEASE_PREFIX, PEER_PROTOCOL_ANNOTATION,
        PEER_PROTOCOL_VERSION,
    };
    pub use crate::options::IdentityTiming;
}

pub use options::{RequestHeaderOptions, ServeOptions};
pub use start::{RunningServer, start};

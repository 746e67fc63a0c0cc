//! The Kubernetes-compatible API server behind `skewless serve`.
//!
//! The request path is accept → TLS → authenticate ([`authn`]) → request
//! info → authorize ([`authz`]) → handler ([`rest`], [`watch`],
//! [`discovery`]) → storage (`skewless-store`). [`server`] wires it together;
//! [`namespaces`] holds the in-process namespace controller.

pub mod api;
pub mod authn;
pub mod authz;
pub mod cache;
pub mod compaction;
pub mod crds;
pub mod discovery;
pub mod http_util;
pub mod identity;
pub mod merged;
pub mod metrics;
pub mod namespaces;
pub mod object;
pub mod openapi;
pub mod options;
pub mod patching;
pub mod peers;
pub mod protobuf;
pub mod registry;
pub mod rest;
pub mod server;
pub mod special;
pub mod table;
pub mod tls;
pub mod watch;

pub use options::{RequestHeaderOptions, ServeOptions};
pub use server::{RunningServer, start};

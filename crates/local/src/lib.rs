//! Running skewless servers on this machine, shared by `skewless cluster`,
//! the test kit and the benchmarks:
//!
//! - [`pki`]: the certificates a control plane needs (cluster CA, serving
//!   and admin certificates, front-proxy CA and proxy client certificate)
//!   and the `serve` flags that use them;
//! - [`kubeconfig`]: the kubeconfig writer;
//! - [`process`]: starting `skewless serve` with its output in a log,
//!   waiting until it listens and is ready, stopping it;
//! - [`client`]: the HTTPS client (HTTP/2 or HTTP/1.1, any client
//!   certificate or none);
//! - [`metrics_server`]: the sample extension API server (`skewless
//!   metrics-server`, and the tests' one).
//!
//! Library code: every failure is an error, never a panic.

pub mod client;
pub mod kubeconfig;
pub mod metrics_server;
pub mod pki;
pub mod process;

pub use client::{Client, Connection, Credentials, Endpoint, Protocol, Response};
pub use pki::Pki;

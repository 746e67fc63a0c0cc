//! Kubernetes API machinery as pure functions and wire types: no sockets, no
//! clocks, no storage. Everything here is a function of its inputs so table
//! tests can cover it; the server crate adds the I/O around it.

pub mod catalog;
pub mod crd;
pub mod discovery;
pub mod metrics;
pub mod negotiate;
pub mod patch;
pub mod request_info;
pub mod selector;
pub mod status;
pub mod structural;
pub mod validation;

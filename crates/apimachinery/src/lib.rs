//! Kubernetes API machinery as pure functions and wire types: no sockets, no
//! clocks, no storage. Everything here is a function of its inputs so table
//! tests can cover it; the server crate adds the I/O around it.

pub mod catalog;
pub mod conversion;
pub mod crd;
pub mod defaults;
pub mod discovery;
mod jsonpath;
pub mod limits;
pub mod list_options;
pub mod metrics;
pub mod negotiate;
pub mod partial;
pub mod patch;
pub mod request_info;
pub mod selector;
pub mod status;
pub mod structural;
pub mod validation;

/// One of upstream's discovery snapshots kept in `data/upstream-discovery`
/// (provenance in the README there), for tests that compare against them.
#[cfg(test)]
pub(crate) fn upstream_snapshot(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/upstream-discovery")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read snapshot {}: {e}", path.display()))
}

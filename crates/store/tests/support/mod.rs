//! What the store tests share: fixtures for both engines (a temporary
//! SQLite file; a real etcd server process) and the conformance suite.

#![allow(dead_code)]

#[macro_use]
pub mod conformance;

use std::sync::Arc;

use skewless_store::Store;

/// A store to test against, a key prefix no other test uses, and whatever
/// must live as long as the store (a temporary directory, a server process).
pub struct Fixture {
    pub store: Arc<dyn Store>,
    pub prefix: String,
    pub _keep: Box<dyn std::any::Any + Send>,
}

impl Fixture {
    pub fn key(&self, name: &str) -> String {
        format!("{}{}", self.prefix, name)
    }
}

/// A prefix unique to this test process and call.
pub fn unique_prefix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "/test-{}-{}-{}/",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

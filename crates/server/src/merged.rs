//! Peer-aggregated discovery: `/apis` (aggregated v2) as the union of what
//! this server and every peer serve, merged with upstream's deterministic
//! rules, so every server answers with the same bytes given the same inputs;
//! with the core group merged the same way, for legacy `/api/<version>`
//! (the aggregated `/api` itself stays local, as upstream).
//!
//! The merged document is cached with its ETag and rebuilt whenever the
//! local document or any peer's data changes: the cache key is the pair of
//! generations (local catalog, peer data), so a group disappearing or the
//! last peer leaving invalidates it like any other change.

use std::sync::Arc;

use skewless_apimachinery::discovery::{APIGroupDiscovery, APIGroupDiscoveryList};
use skewless_apimachinery::metrics::CounterVec;

use crate::cache::GenerationCache;

/// One built merged document.
#[derive(Debug)]
pub(crate) struct Merged {
    pub(crate) groups: Vec<APIGroupDiscovery>,
    /// The core group (`/api`), merged; empty when core is not served.
    pub(crate) core: Vec<APIGroupDiscovery>,
    pub(crate) bytes: Vec<u8>,
    pub(crate) etag: String,
}

/// The cache and upstream's counters.
#[derive(Debug)]
pub(crate) struct MergedDiscovery {
    cache: GenerationCache<Merged>,
    pub(crate) hits: CounterVec,
    pub(crate) misses: CounterVec,
    pub(crate) nopeer: CounterVec,
}

impl Default for MergedDiscovery {
    fn default() -> Self {
        Self {
            cache: GenerationCache::default(),
            hits: CounterVec::new(
                "aggregator_discovery_peer_aggregated_cache_hits_total",
                "Counter of number of times discovery was served from peer-aggregated cache",
                &[],
            ),
            misses: CounterVec::new(
                "aggregator_discovery_peer_aggregated_cache_misses_total",
                "Counter of number of times discovery was aggregated across all API servers",
                &[],
            ),
            nopeer: CounterVec::new(
                "aggregator_discovery_nopeer_requests_total",
                "Counter of number of times no-peer (non peer-aggregated) discovery was requested",
                &[],
            ),
        }
    }
}

/// A quoted ETag over a document's bytes.
pub(crate) fn etag(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    format!("\"{hex}\"")
}

impl MergedDiscovery {
    pub(crate) fn render(&self, out: &mut String) {
        self.hits.render(out);
        self.misses.render(out);
        self.nopeer.render(out);
    }

    /// The merged `/apis` document (and core group) for these generations,
    /// from the cache when nothing changed, else built by `build`.
    pub(crate) fn get(
        &self,
        generations: crate::cache::Generations,
        build: impl FnOnce() -> (Vec<APIGroupDiscovery>, Vec<APIGroupDiscovery>),
    ) -> Arc<Merged> {
        let (merged, hit) = self.cache.get(generations, || {
            let (groups, core) = build();
            let bytes = crate::http_util::json_bytes(&APIGroupDiscoveryList::new(groups.clone()));
            Merged {
                etag: etag(&bytes),
                groups,
                core,
                bytes,
            }
        });
        if hit {
            self.hits.inc(&[]);
        } else {
            self.misses.inc(&[]);
        }
        merged
    }
}

//! What the probe counts per phase.

use std::time::Instant;

use serde::Serialize;

/// Counts for one phase.
#[derive(Debug, Clone, Default)]
pub struct PhaseStats {
    pub name: String,
    pub started: Option<Instant>,
    pub ended: Option<Instant>,
    pub requests: u64,
    pub by_server: Vec<u64>,
    pub false_404: u64,
    pub expected_404: u64,
    pub unexpected_5xx: u64,
    pub expected_5xx: u64,
    pub errors: u64,
    pub latencies_ms: Vec<f64>,
    pub watches_opened: u64,
    pub watch_events: u64,
    /// The slowest answers, slowest first.
    pub slowest: Vec<Slow>,
}

/// One slow answer.
#[derive(Debug, Clone, Serialize)]
pub struct Slow {
    pub ms: f64,
    pub server: String,
    pub method: String,
    pub path: String,
    pub status: Option<u16>,
}

/// How many of the slowest answers each phase keeps.
pub(super) const SLOWEST: usize = 3;

/// What the probe saw in one second (for the report's timelines).
#[derive(Debug, Clone, Default)]
pub struct Bucket {
    pub requests: u64,
    pub false_404: u64,
    pub unexpected_5xx: u64,
    pub expected_5xx: u64,
    pub errors: u64,
    pub latencies_ms: Vec<f64>,
}

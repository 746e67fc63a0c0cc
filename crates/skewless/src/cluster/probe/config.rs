//! The probe's fixed settings, shared by the orchestrator and its lanes.

use std::time::Duration;

/// The namespace the probe's ConfigMaps live in.
pub const NAMESPACE: &str = "skewless-probe";
/// The label every probe object carries (its value: the run's id).
pub(super) const LABEL: &str = "skewless.io/probe";
/// How long one probe request may take.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// The most incidents a probe records in detail.
pub(super) const MAX_INCIDENTS: usize = 200;

//! The proxy's metrics: upstream's names and labels, plus the hop latency.

use skewless_apimachinery::metrics::{CounterVec, HistogramVec};

/// The proxy's metrics, with upstream's names.
#[derive(Debug)]
pub struct ProxyMetrics {
    /// `apiserver_rerouted_request_total`.
    pub rerouted: CounterVec,
    /// `apiserver_peer_proxy_errors_total`.
    pub proxy_errors: CounterVec,
    /// `apiserver_peer_discovery_sync_errors_total`.
    pub sync_errors: CounterVec,
    /// `skewless_peer_proxy_response_seconds`.
    pub hop: HistogramVec,
}

impl Default for ProxyMetrics {
    fn default() -> Self {
        Self {
            rerouted: CounterVec::new(
                "apiserver_rerouted_request_total",
                "Total number of requests that were proxied to a peer kube-apiserver because the local apiserver was not capable of serving it, broken down by 'group', 'version', and 'resource' indicating the GVR of the request. If all three are empty (\"\"), the request is a discovery request.",
                &["code", "group", "version", "resource"],
            ),
            proxy_errors: CounterVec::new(
                "apiserver_peer_proxy_errors_total",
                "Total number of errors encountered while proxying requests to a peer kube apiserver",
                &["type", "group", "version", "resource"],
            ),
            sync_errors: CounterVec::new(
                "apiserver_peer_discovery_sync_errors_total",
                "Total number of errors encountered while syncing discovery information from a peer kube-apiserver",
                &["type"],
            ),
            hop: HistogramVec::new(
                "skewless_peer_proxy_response_seconds",
                "Time from handing a request to a peer until the peer's response headers arrived, by group, version and resource.",
                &["group", "version", "resource"],
                &[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0, 30.0, 60.0,
                ],
            ),
        }
    }
}

impl ProxyMetrics {
    /// Appends the families in the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        self.rerouted.render(out);
        self.proxy_errors.render(out);
        self.sync_errors.render(out);
        self.hop.render(out);
    }
}

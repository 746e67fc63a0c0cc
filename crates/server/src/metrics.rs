//! The API server's own metrics, with kube-apiserver's names, labels and
//! help strings, on the metric families of `skewless_apimachinery::metrics`.

use skewless_apimachinery::metrics::{CounterVec, HistogramVec};

const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
    10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
];

/// Every metric the server exports.
#[derive(Debug)]
pub(crate) struct Metrics {
    pub(crate) requests: CounterVec,
    pub(crate) request_duration: HistogramVec,
    /// Requests that arrived from a peer's Mixed Version Proxy (skewless's
    /// own: upstream counts only the sending side, as rerouted requests).
    pub(crate) peer_proxied_received: CounterVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            requests: CounterVec::new(
                "apiserver_request_total",
                "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
                &[
                    "verb",
                    "group",
                    "version",
                    "resource",
                    "subresource",
                    "code",
                ],
            ),
            request_duration: HistogramVec::new(
                "apiserver_request_duration_seconds",
                "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.",
                &["verb", "group", "version", "resource", "subresource"],
                LATENCY_BUCKETS,
            ),
            peer_proxied_received: CounterVec::new(
                "skewless_peer_proxied_requests_received_total",
                "Total number of requests received from a peer API server's Mixed Version Proxy (carrying x-kubernetes-peer-proxied: true), broken down by HTTP response code, group, version and resource.",
                &["code", "group", "version", "resource"],
            ),
        }
    }
}

impl Metrics {
    /// The whole registry in Prometheus text format.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        self.requests.render(&mut out);
        self.request_duration.render(&mut out);
        self.peer_proxied_received.render(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.requests.inc(&["get", "", "v1", "pods", "", "200"]);
        m.requests.inc(&["get", "", "v1", "pods", "", "200"]);
        m.request_duration
            .observe(&["get", "", "v1", "pods", ""], Duration::from_millis(3));
        let text = m.render();
        assert!(text.contains(
            "apiserver_request_total{verb=\"get\",group=\"\",version=\"v1\",resource=\"pods\",subresource=\"\",code=\"200\"} 2"
        ));
        assert!(text.contains("apiserver_request_duration_seconds_bucket{verb=\"get\",group=\"\",version=\"v1\",resource=\"pods\",subresource=\"\",le=\"0.005\"} 1"));
        assert!(text.contains("# TYPE apiserver_request_duration_seconds histogram"));
        assert_eq!(m.requests.get(&["get", "", "v1", "pods", "", "200"]), 2);
    }
}

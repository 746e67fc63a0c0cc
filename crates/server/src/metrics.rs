//! Prometheus metrics in the text exposition format (0.0.4), with
//! kube-apiserver's names, labels and help strings.
//!
//! A deliberately small registry: counters and histograms keyed by label
//! values, rendered on demand. Recording must stay cheap (one short lock)
//! and must never fail a request.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// A counter family: label values → count.
#[derive(Debug)]
pub struct CounterVec {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    values: Mutex<BTreeMap<Vec<String>, u64>>,
}

impl CounterVec {
    pub const fn new(
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> Self {
        Self {
            name,
            help,
            labels,
            values: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn inc(&self, label_values: &[&str]) {
        self.add(label_values, 1);
    }

    pub fn add(&self, label_values: &[&str], n: u64) {
        if let Ok(mut v) = self.values.lock() {
            *v.entry(label_values.iter().map(|s| (*s).to_owned()).collect())
                .or_default() += n;
        }
    }

    /// The current value for these labels (tests assert on it).
    pub fn get(&self, label_values: &[&str]) -> u64 {
        let key: Vec<String> = label_values.iter().map(|s| (*s).to_owned()).collect();
        self.values
            .lock()
            .ok()
            .and_then(|v| v.get(&key).copied())
            .unwrap_or(0)
    }

    fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} [ALPHA] {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} counter", self.name);
        if let Ok(values) = self.values.lock() {
            for (labels, v) in values.iter() {
                let _ = writeln!(
                    out,
                    "{}{} {v}",
                    self.name,
                    label_set(self.labels, labels, None)
                );
            }
        }
    }
}

/// A histogram family with fixed buckets (seconds).
#[derive(Debug)]
pub struct HistogramVec {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    buckets: &'static [f64],
    values: Mutex<BTreeMap<Vec<String>, Histogram>>,
}

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl HistogramVec {
    pub const fn new(
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
        buckets: &'static [f64],
    ) -> Self {
        Self {
            name,
            help,
            labels,
            buckets,
            values: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn observe(&self, label_values: &[&str], d: Duration) {
        let secs = d.as_secs_f64();
        if let Ok(mut v) = self.values.lock() {
            let h = v
                .entry(label_values.iter().map(|s| (*s).to_owned()).collect())
                .or_insert_with(|| Histogram {
                    counts: vec![0; self.buckets.len()],
                    ..Histogram::default()
                });
            for (i, b) in self.buckets.iter().enumerate() {
                if secs <= *b {
                    h.counts[i] += 1;
                }
            }
            h.sum += secs;
            h.count += 1;
        }
    }

    fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} [STABLE] {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} histogram", self.name);
        if let Ok(values) = self.values.lock() {
            for (labels, h) in values.iter() {
                for (i, b) in self.buckets.iter().enumerate() {
                    let le = format!("{b}");
                    let _ = writeln!(
                        out,
                        "{}_bucket{} {}",
                        self.name,
                        label_set(self.labels, labels, Some(&le)),
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "{}_bucket{} {}",
                    self.name,
                    label_set(self.labels, labels, Some("+Inf")),
                    h.count
                );
                let set = label_set(self.labels, labels, None);
                let _ = writeln!(out, "{}_sum{set} {}", self.name, h.sum);
                let _ = writeln!(out, "{}_count{set} {}", self.name, h.count);
            }
        }
    }
}

fn label_set(names: &[&str], values: &[String], le: Option<&str>) -> String {
    let mut parts: Vec<String> = names
        .iter()
        .zip(values)
        .map(|(n, v)| format!("{n}=\"{}\"", escape(v)))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
    10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
];

/// Every metric the server exports.
#[derive(Debug)]
pub struct Metrics {
    pub requests: CounterVec,
    pub request_duration: HistogramVec,
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
        }
    }
}

impl Metrics {
    /// The whole registry in Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.requests.render(&mut out);
        self.request_duration.render(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

//! Prometheus metric families rendered in the text exposition format
//! (0.0.4): counters and histograms keyed by label values. Small on purpose:
//! recording is one short lock and can never fail a request; nothing here
//! does I/O.

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

    pub(crate) fn add(&self, label_values: &[&str], n: u64) {
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

    /// Appends this family in Prometheus text format.
    pub fn render(&self, out: &mut String) {
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

    /// Appends this family in Prometheus text format.
    pub fn render(&self, out: &mut String) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let c = CounterVec::new("x_total", "help", &["a"]);
        c.inc(&["1"]);
        c.add(&["1"], 2);
        assert_eq!(c.get(&["1"]), 3);
        let mut out = String::new();
        c.render(&mut out);
        assert!(out.contains("x_total{a=\"1\"} 3"), "{out}");
        let h = HistogramVec::new("y_seconds", "help", &[], &[0.1, 1.0]);
        h.observe(&[], Duration::from_millis(50));
        let mut out = String::new();
        h.render(&mut out);
        assert!(out.contains("y_seconds_bucket{le=\"0.1\"} 1"), "{out}");
        assert!(out.contains("y_seconds_count 1"), "{out}");
    }
}

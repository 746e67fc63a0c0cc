//! Prometheus metric families rendered in the text exposition format
//! (0.0.4): counters and histograms keyed by label values. Small on purpose:
//! recording is one short lock and can never fail a request; nothing here
//! does I/O.
//!
//! A series is keyed by its label values joined with [`SEP`] into one
//! string, built in a per-thread buffer: recording into an existing series
//! allocates nothing (it runs several times per request).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Joins label values in a series key. It sorts below every printable
/// character, so keys sort as their label lists do.
const SEP: char = '\u{1}';

thread_local! {
    static KEY: RefCell<String> = const { RefCell::new(String::new()) };
}

fn push_key(key: &mut String, label_values: &[&str]) {
    key.clear();
    for (i, v) in label_values.iter().enumerate() {
        if i > 0 {
            key.push(SEP);
        }
        if v.contains(SEP) {
            key.push_str(&v.replace(SEP, "\u{fffd}"));
        } else {
            key.push_str(v);
        }
    }
}

/// Calls `f` with the series key of `label_values`.
fn with_key<R>(label_values: &[&str], f: impl FnOnce(&str) -> R) -> R {
    KEY.with(|buf| match buf.try_borrow_mut() {
        Ok(mut key) => {
            push_key(&mut key, label_values);
            f(&key)
        }
        Err(_) => {
            let mut key = String::new();
            push_key(&mut key, label_values);
            f(&key)
        }
    })
}

/// A counter family: label values → count.
#[derive(Debug)]
pub struct CounterVec {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    values: Mutex<BTreeMap<String, u64>>,
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
        with_key(label_values, |key| {
            if let Ok(mut v) = self.values.lock() {
                match v.get_mut(key) {
                    Some(count) => *count += n,
                    None => {
                        v.insert(key.to_owned(), n);
                    }
                }
            }
        });
    }

    /// The current value for these labels (tests assert on it).
    pub fn get(&self, label_values: &[&str]) -> u64 {
        with_key(label_values, |key| {
            self.values
                .lock()
                .ok()
                .and_then(|v| v.get(key).copied())
                .unwrap_or(0)
        })
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
    values: Mutex<BTreeMap<String, Histogram>>,
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
        with_key(label_values, |key| {
            let Ok(mut v) = self.values.lock() else {
                return;
            };
            if !v.contains_key(key) {
                v.insert(
                    key.to_owned(),
                    Histogram {
                        counts: vec![0; self.buckets.len()],
                        ..Histogram::default()
                    },
                );
            }
            let Some(h) = v.get_mut(key) else {
                return;
            };
            for (i, b) in self.buckets.iter().enumerate() {
                if secs <= *b {
                    h.counts[i] += 1;
                }
            }
            h.sum += secs;
            h.count += 1;
        });
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

fn label_set(names: &[&str], key: &str, le: Option<&str>) -> String {
    let mut parts: Vec<String> = names
        .iter()
        .zip(key.split(SEP))
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
        let two = CounterVec::new("z_total", "help", &["a", "b"]);
        two.inc(&["x", ""]);
        two.inc(&["x", "y"]);
        two.inc(&["x", "y"]);
        two.inc(&["", "y"]);
        assert_eq!(two.get(&["x", "y"]), 2);
        assert_eq!(two.get(&["x", ""]), 1);
        assert_eq!(two.get(&["", "x"]), 0);
        let mut out = String::new();
        two.render(&mut out);
        assert!(out.contains("z_total{a=\"x\",b=\"y\"} 2"), "{out}");
        assert!(out.contains("z_total{a=\"\",b=\"y\"} 1"), "{out}");
        assert!(out.contains("z_total{a=\"x\",b=\"\"} 1"), "{out}");
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

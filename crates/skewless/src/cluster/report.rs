//! The upgrade rehearsal's report: per phase (before, each server's
//! replacement, after) and in total, requests, false 404s, 5xx (and how
//! many were unexpected), other errors, p50/p99 latency, and the share of
//! requests the servers rerouted to a peer; then the first incidents and
//! the verdict. As a table for people, or JSON for scripts.

use std::collections::BTreeMap;

use serde::Serialize;

use super::probe::{Bucket, Finished, Incident, PhaseStats, Slow};
use super::workload::WorkloadReport;

/// What the orchestrator measured around a phase.
#[derive(Debug, Clone, Default)]
pub struct PhaseExtra {
    /// Sum of `apiserver_rerouted_request_total` increases.
    pub rerouted: u64,
    /// Sum of `skewless_peer_proxied_requests_received_total` increases.
    pub received: u64,
    /// Servers stopped in the phase.
    pub stops: Vec<StopRecord>,
    /// What happened to servers in the phase.
    pub notes: Vec<String>,
    /// The rolling step the phase belongs to (`1.35->1.36`, `abort`), if any.
    pub step: String,
}

/// A server going down or coming up (at a version), for the timelines.
#[derive(Debug, Clone, Serialize)]
pub struct ServerEvent {
    /// Seconds since the probe started.
    pub at: f64,
    pub server: String,
    pub version: String,
    pub up: bool,
}

/// One second of the probe's traffic.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesPoint {
    /// Seconds since the probe started (the bucket's start).
    pub t: u64,
    pub requests: u64,
    pub false_404: u64,
    pub unexpected_5xx: u64,
    pub expected_5xx: u64,
    pub errors: u64,
    pub p99_ms: f64,
}

/// How a server stopped during a replacement.
#[derive(Debug, Clone, Serialize)]
pub struct StopRecord {
    pub server: String,
    /// From SIGTERM to exit.
    pub seconds: f64,
    /// Needed SIGKILL after the timeout.
    pub killed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    pub name: String,
    /// The rolling step (`1.35->1.36`); empty for before/after.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub step: String,
    /// Seconds since the probe started, when the phase began and ended.
    pub start: f64,
    pub end: f64,
    pub seconds: f64,
    pub requests: u64,
    /// Requests sent through each server.
    pub by_server: BTreeMap<String, u64>,
    pub false_404: u64,
    pub expected_404: u64,
    pub unexpected_5xx: u64,
    pub expected_5xx: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub rerouted: u64,
    pub received_from_peers: u64,
    /// `rerouted / requests`.
    pub proxied_share: f64,
    pub watches_opened: u64,
    pub watch_events: u64,
    pub slowest: Vec<Slow>,
    pub stops: Vec<StopRecord>,
    pub notes: Vec<String>,
    /// Runs of the `--run` command that started in the phase, and how
    /// many failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload_runs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload_failures: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub target: String,
    pub rate: f64,
    pub proxy_enabled: bool,
    pub passed: bool,
    pub phases: Vec<PhaseReport>,
    pub total: PhaseReport,
    /// The first answers that were not plain successes.
    pub incidents: Vec<Incident>,
    /// Probe objects that could not be deleted at the end.
    pub left_behind: usize,
    /// The label the probe's objects carry.
    pub probe_label: String,
    /// Per second: the probe's requests, wrong answers and p99 latency.
    pub series: Vec<SeriesPoint>,
    /// Each server going down and coming back, with its version.
    pub servers: Vec<ServerEvent>,
    /// The `--run` command's runs and failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload: Option<WorkloadReport>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn phase_report(
    p: &PhaseStats,
    servers: &[String],
    extra: &PhaseExtra,
    origin: std::time::Instant,
) -> PhaseReport {
    let mut lat = p.latencies_ms.clone();
    lat.sort_by(f64::total_cmp);
    let seconds = match (p.started, p.ended) {
        (Some(s), Some(e)) => e.duration_since(s).as_secs_f64(),
        _ => 0.0,
    };
    let since = |t: Option<std::time::Instant>| {
        t.map_or(0.0, |t| t.saturating_duration_since(origin).as_secs_f64())
    };
    PhaseReport {
        name: p.name.clone(),
        step: extra.step.clone(),
        start: since(p.started),
        end: since(p.ended),
        seconds,
        requests: p.requests,
        by_server: servers
            .iter()
            .cloned()
            .zip(p.by_server.iter().copied())
            .collect(),
        false_404: p.false_404,
        expected_404: p.expected_404,
        unexpected_5xx: p.unexpected_5xx,
        expected_5xx: p.expected_5xx,
        errors: p.errors,
        p50_ms: percentile(&lat, 0.50),
        p99_ms: percentile(&lat, 0.99),
        rerouted: extra.rerouted,
        received_from_peers: extra.received,
        proxied_share: if p.requests == 0 {
            0.0
        } else {
            (extra.rerouted as f64 / p.requests as f64).min(1.0)
        },
        watches_opened: p.watches_opened,
        watch_events: p.watch_events,
        slowest: p.slowest.clone(),
        stops: extra.stops.clone(),
        notes: extra.notes.clone(),
        workload_runs: None,
        workload_failures: None,
    }
}

fn series(buckets: &[Bucket]) -> Vec<SeriesPoint> {
    buckets
        .iter()
        .enumerate()
        .map(|(t, b)| {
            let mut lat = b.latencies_ms.clone();
            lat.sort_by(f64::total_cmp);
            SeriesPoint {
                t: t as u64,
                requests: b.requests,
                false_404: b.false_404,
                unexpected_5xx: b.unexpected_5xx,
                expected_5xx: b.expected_5xx,
                errors: b.errors,
                p99_ms: percentile(&lat, 0.99),
            }
        })
        .collect()
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        target: &str,
        rate: f64,
        proxy_enabled: bool,
        servers: &[String],
        finished: Finished,
        extras: &[PhaseExtra],
        events: Vec<ServerEvent>,
        workload: Option<WorkloadReport>,
    ) -> Self {
        let phases = &finished.phases;
        let origin = finished.started;
        let none = PhaseExtra::default();
        let mut reports: Vec<PhaseReport> = phases
            .iter()
            .enumerate()
            .map(|(i, p)| phase_report(p, servers, extras.get(i).unwrap_or(&none), origin))
            .collect();
        if let Some(w) = &workload {
            for r in &mut reports {
                let counts = w.by_phase.get(&r.name);
                r.workload_runs = Some(counts.map_or(0, |c| c.runs));
                r.workload_failures = Some(counts.map_or(0, |c| c.failures));
            }
        }
        let mut all = PhaseStats {
            name: "total".into(),
            by_server: vec![0; servers.len()],
            started: phases.first().and_then(|p| p.started),
            ended: phases.last().and_then(|p| p.ended),
            ..PhaseStats::default()
        };
        for p in phases {
            all.requests += p.requests;
            for (a, b) in all.by_server.iter_mut().zip(&p.by_server) {
                *a += b;
            }
            all.false_404 += p.false_404;
            all.expected_404 += p.expected_404;
            all.unexpected_5xx += p.unexpected_5xx;
            all.expected_5xx += p.expected_5xx;
            all.errors += p.errors;
            all.latencies_ms.extend_from_slice(&p.latencies_ms);
            all.watches_opened += p.watches_opened;
            all.watch_events += p.watch_events;
            all.slowest.extend(p.slowest.iter().cloned());
        }
        all.slowest.sort_by(|a, b| b.ms.total_cmp(&a.ms));
        all.slowest.truncate(3);
        let total_extra = PhaseExtra {
            rerouted: extras.iter().map(|e| e.rerouted).sum(),
            received: extras.iter().map(|e| e.received).sum(),
            stops: extras
                .iter()
                .flat_map(|e| e.stops.iter().cloned())
                .collect(),
            notes: Vec::new(),
            step: String::new(),
        };
        let mut total = phase_report(&all, servers, &total_extra, origin);
        if let Some(w) = &workload {
            total.workload_runs = Some(w.runs);
            total.workload_failures = Some(w.failed);
        }
        let workload_ok = workload.as_ref().is_none_or(|w| w.failed == 0);
        Self {
            target: target.to_owned(),
            rate,
            proxy_enabled,
            passed: total.false_404 == 0
                && total.unexpected_5xx == 0
                && total.errors == 0
                && workload_ok,
            phases: reports,
            total,
            incidents: finished.incidents,
            left_behind: finished.left_behind,
            probe_label: finished.label,
            series: series(&finished.series),
            servers: events,
            workload,
        }
    }

    pub fn print_text(&self) {
        let mut header = vec![
            "PHASE",
            "SECONDS",
            "REQUESTS",
            "FALSE 404",
            "5XX",
            "UNEXPECTED 5XX",
            "ERRORS",
            "P50",
            "P99",
            "PROXIED",
        ];
        if self.workload.is_some() {
            header.push("RUN FAILED");
        }
        let row = |p: &PhaseReport| -> Vec<String> {
            let mut cells = vec![
                p.name.clone(),
                format!("{:.1}", p.seconds),
                p.requests.to_string(),
                p.false_404.to_string(),
                (p.unexpected_5xx + p.expected_5xx).to_string(),
                p.unexpected_5xx.to_string(),
                p.errors.to_string(),
                format!("{:.1}ms", p.p50_ms),
                format!("{:.1}ms", p.p99_ms),
                format!("{:.0}%", p.proxied_share * 100.0),
            ];
            if let (Some(runs), Some(failed)) = (p.workload_runs, p.workload_failures) {
                cells.push(format!("{failed}/{runs}"));
            }
            cells
        };
        let mut rows: Vec<Vec<String>> = self.phases.iter().map(row).collect();
        rows.push(row(&self.total));
        let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.len());
            }
        }
        let print = |cells: &[String]| {
            let line: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == 0 {
                        format!("{c:<w$}", w = widths[i])
                    } else {
                        format!("{c:>w$}", w = widths[i])
                    }
                })
                .collect();
            println!("{}", line.join("  "));
        };
        print(&header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>());
        for r in &rows {
            print(r);
        }
        println!();
        for p in &self.phases {
            let through: Vec<String> = p
                .by_server
                .iter()
                .map(|(s, n)| format!("{s} {n}"))
                .collect();
            println!(
                "{}: through {}; watches opened {}, events {}; rerouted {}, received from peers {}; 404 expected {}, 503 expected {}",
                p.name,
                through.join(", "),
                p.watches_opened,
                p.watch_events,
                p.rerouted,
                p.received_from_peers,
                p.expected_404,
                p.expected_5xx
            );
            for n in &p.notes {
                println!("  {n}");
            }
            if let Some(s) = p.slowest.first() {
                println!(
                    "  slowest: {:.0}ms {} {} via {} ({})",
                    s.ms,
                    s.method,
                    s.path,
                    s.server,
                    s.status
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "no answer".into())
                );
            }
        }
        let bad: Vec<&Incident> = self
            .incidents
            .iter()
            .filter(|i| {
                !matches!(
                    i.verdict,
                    super::probe::Verdict::Expected404 | super::probe::Verdict::Expected5xx
                )
            })
            .collect();
        if !bad.is_empty() {
            println!();
            println!("first wrong answers:");
            for i in bad.iter().take(10) {
                println!(
                    "  +{:.1}s [{}] {} {} {} via {} -> {}: {}",
                    i.at,
                    i.phase,
                    i.verdict.label(),
                    i.method,
                    i.path,
                    i.server,
                    i.status
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "no answer".into()),
                    summary(&i.detail)
                );
            }
        }
        if let Some(w) = &self.workload {
            w.print_failures();
        }
        if self.left_behind > 0 {
            println!();
            println!(
                "note: {} probe objects ({}) could not be deleted: no server serves their resource any more",
                self.left_behind, self.probe_label
            );
        }
        println!();
        let workload = self
            .workload
            .as_ref()
            .map(|w| format!("; --run: {} of {} runs failed", w.failed, w.runs))
            .unwrap_or_default();
        if self.passed {
            println!(
                "PASS: {} requests, no false 404, no unexpected 5xx, no errors{workload}",
                self.total.requests
            );
        } else {
            println!(
                "FAIL: {} false 404, {} unexpected 5xx, {} errors in {} requests{workload}{}",
                self.total.false_404,
                self.total.unexpected_5xx,
                self.total.errors,
                self.total.requests,
                if self.proxy_enabled {
                    ""
                } else {
                    " (the Mixed Version Proxy is off)"
                }
            );
        }
    }
}

/// A `metav1.Status` answer's message, or the first line of anything else.
fn summary(detail: &str) -> String {
    serde_json::from_str::<serde_json::Value>(detail)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| {
            detail
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(160)
                .collect()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
    }

    #[test]
    fn incidents_show_the_status_message() {
        let status = r#"{"kind":"Status","message":"the server could not find the requested resource","code":404}"#;
        assert_eq!(
            summary(status),
            "the server could not find the requested resource"
        );
        assert_eq!(summary("connection refused\nmore"), "connection refused");
    }
}

//! Measuring: drives a number of requests from concurrent clients, records
//! each request's latency and the CPU the processes involved spent, and
//! turns several runs into Markdown tables of min / median / max.
//!
//! It only times and counts; what a request does is the caller's closure,
//! and any failed request fails the whole measurement.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::client::Connection;
use crate::procfs;

/// The processes whose CPU time a measurement accounts for.
#[derive(Debug, Clone, Copy)]
pub struct Processes {
    /// The server under test.
    pub server: u32,
    /// A second process (and its children) whose CPU is reported: the
    /// server's own storage (etcd), or the proxy in front of the server
    /// (another skewless server, nginx).
    pub storage: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
struct CpuSnapshot {
    server: Duration,
    storage: Option<Duration>,
    bench: Duration,
}

impl Processes {
    fn snapshot(&self) -> anyhow::Result<CpuSnapshot> {
        Ok(CpuSnapshot {
            server: procfs::cpu_time(Some(self.server))?,
            storage: self
                .storage
                .map(procfs::cpu_time_with_children)
                .transpose()?,
            bench: procfs::cpu_time(None)?,
        })
    }
}

/// One measurement: `ops` requests from some clients.
#[derive(Debug, Clone)]
pub struct Phase {
    pub ops: usize,
    pub elapsed: Duration,
    /// Per-request latencies, sorted.
    pub latencies: Vec<Duration>,
    pub server_cpu: Duration,
    pub storage_cpu: Option<Duration>,
    pub bench_cpu: Duration,
}

/// The `p` quantile (0..=1) of sorted values, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

impl Phase {
    /// An empty phase, to [`Phase::absorb`] blocks into.
    pub fn empty() -> Self {
        Self {
            ops: 0,
            elapsed: Duration::ZERO,
            latencies: Vec::new(),
            server_cpu: Duration::ZERO,
            storage_cpu: None,
            bench_cpu: Duration::ZERO,
        }
    }

    /// Adds another block of the same measurement (interleaved runs):
    /// counts, times and CPU add up, latencies merge.
    pub fn absorb(&mut self, other: Phase) {
        self.ops += other.ops;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        self.latencies.sort();
        self.server_cpu += other.server_cpu;
        self.storage_cpu = match (self.storage_cpu, other.storage_cpu) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.bench_cpu += other.bench_cpu;
    }

    /// The `p` quantile of this phase's latencies.
    pub fn quantile(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }

    pub fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }

    fn per_request(&self, cpu: Duration) -> Duration {
        cpu / u32::try_from(self.ops.max(1)).unwrap_or(u32::MAX)
    }
}

/// Runs `ops` requests spread over `clients` concurrent clients, client `w`
/// using `conns[w]` and sending requests `w`, `w + clients`, … Each client
/// waits for a response before sending its next request.
pub async fn drive(
    conns: &mut [Connection],
    clients: usize,
    ops: usize,
    processes: Processes,
    op: impl AsyncFn(&mut Connection, usize) -> anyhow::Result<()>,
) -> anyhow::Result<Phase> {
    anyhow::ensure!(
        clients <= conns.len(),
        "{clients} clients but {} connections",
        conns.len()
    );
    let op = &op;
    let before = processes.snapshot()?;
    let started = Instant::now();
    let per_client = conns[..clients]
        .iter_mut()
        .enumerate()
        .map(|(w, conn)| async move {
            let mut latencies = Vec::with_capacity(ops / clients + 1);
            for i in (w..ops).step_by(clients) {
                let t = Instant::now();
                op(conn, i).await?;
                latencies.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        });
    let per_client = futures::future::try_join_all(per_client).await?;
    let elapsed = started.elapsed();
    let after = processes.snapshot()?;
    let mut latencies: Vec<Duration> = per_client.into_iter().flatten().collect();
    latencies.sort();
    Ok(Phase {
        ops,
        elapsed,
        latencies,
        server_cpu: after.server.saturating_sub(before.server),
        storage_cpu: after
            .storage
            .zip(before.storage)
            .map(|(a, b)| a.saturating_sub(b)),
        bench_cpu: after.bench.saturating_sub(before.bench),
    })
}

/// The figures of one run of one row.
#[derive(Debug, Clone, Copy)]
struct RunFigures {
    rate: f64,
    p50: Duration,
    p99: Duration,
    server_cpu: Duration,
    storage_cpu: Option<Duration>,
    bench_cpu: Duration,
}

/// Results of several runs of one scenario, printed as Markdown.
#[derive(Debug)]
pub struct Report {
    title: String,
    /// What the CPU column calls the server and the second process.
    cpu_names: (String, String),
    rows: Vec<(String, Vec<RunFigures>)>,
    memory: Vec<(String, Vec<u64>)>,
}

fn entry<'a, T>(rows: &'a mut Vec<(String, Vec<T>)>, name: &str) -> &'a mut Vec<T> {
    let idx = match rows.iter().position(|(n, _)| n == name) {
        Some(idx) => idx,
        None => {
            rows.push((name.to_owned(), Vec::new()));
            rows.len() - 1
        }
    };
    &mut rows[idx].1
}

/// Sorts and returns (min, median, max); the median of an even count is
/// the upper middle value, as in the storage benchmark.
pub fn spread<T: Copy>(
    mut values: Vec<T>,
    cmp: impl Fn(&T, &T) -> std::cmp::Ordering,
) -> (T, T, T) {
    values.sort_by(cmp);
    (
        values[0],
        values[values.len() / 2],
        values[values.len() - 1],
    )
}

pub fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

/// `min / median / max` of some values, each formatted by `f`.
pub fn spread_text<T: Copy>(
    values: &[T],
    cmp: impl Fn(&T, &T) -> std::cmp::Ordering,
    f: impl Fn(T) -> String,
) -> String {
    if values.is_empty() {
        return "—".to_owned();
    }
    let (min, median, max) = spread(values.to_vec(), cmp);
    format!("{} / {} / {}", f(min), f(median), f(max))
}

fn micros(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1e6)
}

impl Report {
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            cpu_names: ("server".into(), "etcd".into()),
            rows: Vec::new(),
            memory: Vec::new(),
        }
    }

    /// Names the server and the second process in the CPU column (the
    /// peer-hop benchmark measures a destination and a front server).
    pub fn with_cpu_names(mut self, server: &str, other: &str) -> Self {
        self.cpu_names = (server.to_owned(), other.to_owned());
        self
    }

    pub fn record(&mut self, name: &str, phase: &Phase) {
        entry(&mut self.rows, name).push(RunFigures {
            rate: phase.rate(),
            p50: percentile(&phase.latencies, 0.5),
            p99: percentile(&phase.latencies, 0.99),
            server_cpu: phase.per_request(phase.server_cpu),
            storage_cpu: phase.storage_cpu.map(|c| phase.per_request(c)),
            bench_cpu: phase.per_request(phase.bench_cpu),
        });
    }

    pub fn record_memory(&mut self, name: &str, kib: u64) {
        entry(&mut self.memory, name).push(kib);
    }

    /// The request table, then the memory table.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let has_storage = self
            .rows
            .iter()
            .any(|(_, runs)| runs.iter().any(|r| r.storage_cpu.is_some()));
        let (server_name, other_name) = &self.cpu_names;
        let cpu_header = if has_storage {
            format!("CPU µs/req, median ({server_name} / {other_name} / bench)")
        } else {
            format!("CPU µs/req, median ({server_name} / bench)")
        };
        let _ = writeln!(
            out,
            "| {} | req/s (min / median / max) | p50 ms (min / median / max) | p99 ms (min / median / max) | {cpu_header} |",
            self.title
        );
        let _ = writeln!(out, "|---|---|---|---|---|");
        for (name, runs) in &self.rows {
            if runs.is_empty() {
                continue;
            }
            let cmp_d = |a: &Duration, b: &Duration| a.cmp(b);
            let rate = spread(runs.iter().map(|r| r.rate).collect(), f64::total_cmp);
            let p50 = spread(runs.iter().map(|r| r.p50).collect(), cmp_d);
            let p99 = spread(runs.iter().map(|r| r.p99).collect(), cmp_d);
            let server = spread(runs.iter().map(|r| r.server_cpu).collect(), cmp_d).1;
            let bench = spread(runs.iter().map(|r| r.bench_cpu).collect(), cmp_d).1;
            let cpu = if has_storage {
                let storage: Vec<Duration> = runs.iter().filter_map(|r| r.storage_cpu).collect();
                let storage = if storage.is_empty() {
                    "—".to_owned()
                } else {
                    micros(spread(storage, cmp_d).1)
                };
                format!("{} / {storage} / {}", micros(server), micros(bench))
            } else {
                format!("{} / {}", micros(server), micros(bench))
            };
            let _ = writeln!(
                out,
                "| {name} | {:.0} / {:.0} / {:.0} | {} / {} / {} | {} / {} / {} | {cpu} |",
                rate.0,
                rate.1,
                rate.2,
                ms(p50.0),
                ms(p50.1),
                ms(p50.2),
                ms(p99.0),
                ms(p99.1),
                ms(p99.2),
            );
        }
        if !self.memory.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "| {} | server RSS MiB (min / median / max) |",
                self.title
            );
            let _ = writeln!(out, "|---|---|");
            for (name, runs) in &self.memory {
                if runs.is_empty() {
                    continue;
                }
                let (min, median, max) = spread(runs.clone(), u64::cmp);
                let mib = |kib: u64| format!("{:.1}", kib as f64 / 1024.0);
                let _ = writeln!(
                    out,
                    "| {name} | {} / {} / {} |",
                    mib(min),
                    mib(median),
                    mib(max)
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 0.5), Duration::from_millis(51));
        assert_eq!(percentile(&v, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn report_prints_min_median_max() {
        let mut r = Report::new("sqlite");
        for (rate_ms, rss) in [(2, 30_000), (1, 10_240), (4, 20_480)] {
            let phase = Phase {
                ops: 1000,
                elapsed: Duration::from_secs(rate_ms),
                latencies: vec![Duration::from_millis(rate_ms)],
                server_cpu: Duration::from_millis(100),
                storage_cpu: None,
                bench_cpu: Duration::from_millis(50),
            };
            r.record("GET, 1 client", &phase);
            r.record_memory("idle", rss);
        }
        let md = r.markdown();
        assert!(
            md.contains("| GET, 1 client | 250 / 500 / 1000 | 1.000 / 2.000 / 4.000 |"),
            "{md}"
        );
        assert!(md.contains("| 100 / 50 |"), "{md}");
        assert!(md.contains("| idle | 10.0 / 20.0 / 29.3 |"), "{md}");
    }
}

//! `skewless-bench watch`: watch event latency directly from the server
//! that serves a resource and through a peer that proxies the watch, with
//! 1 and 1,000 concurrent watchers; and the event-latency machinery the
//! growth benchmark shares.
//!
//! Two servers on one shared SQLite file: A with `batch/v1` disabled, B
//! serving it. Jobs are created through B at a fixed interval; N watchers
//! watch the Jobs of one namespace either on B (direct) or on A (each watch
//! proxied to B, events relayed by A). An event's latency is the time from
//! just before its create was sent until a watcher read the event's line,
//! both taken from this process's monotonic clock. Watchers multiplex over
//! HTTP/2 connections, `--per-connection` streams each. Every watcher must
//! see every event: a missing one fails the run.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use http::Method;
use http_body_util::BodyExt;
use serde::Deserialize;
use skewless_testkit::Pki;

use crate::client::{Connection, Endpoint, Protocol};
use crate::cluster::{self, Pair};
use crate::measure::{ms, percentile, spread_text};
use crate::procfs;

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Rounds; each starts fresh servers.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// The `skewless` binary (default: target/release/skewless).
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// Watcher counts (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [1, 1000])]
    pub watchers: Vec<usize>,
    /// Watch streams per HTTP/2 connection (servers allow 200).
    #[arg(long, default_value_t = 100)]
    pub per_connection: usize,
    /// Events per measurement (default: 200 for up to 10 watchers, else 40).
    #[arg(long)]
    pub events: Option<usize>,
    /// Milliseconds between events (default: 10 for up to 10 watchers,
    /// else one per 10 watchers, at least 20).
    #[arg(long)]
    pub interval_ms: Option<u64>,
}

/// How many events, how far apart, for `watchers` watchers: every event
/// costs the server one encode-and-send per watcher, and this machine has
/// two cores for servers and bench together.
pub fn pacing(
    watchers: usize,
    events: Option<usize>,
    interval_ms: Option<u64>,
) -> (usize, Duration) {
    let events = events.unwrap_or(if watchers <= 10 { 200 } else { 40 });
    let interval = interval_ms.unwrap_or(if watchers <= 10 {
        10
    } else {
        (watchers as u64 / 10).max(20)
    });
    (events, Duration::from_millis(interval))
}

/// What one measurement of event latency found.
#[derive(Debug, Clone)]
pub struct EventLatency {
    /// One per (event, watcher), sorted.
    pub latencies: Vec<Duration>,
    /// RSS (KiB) of each watched process after the events, watches still open.
    pub rss_after: Vec<u64>,
    /// How long opening every watch took.
    pub open_time: Duration,
}

/// One measurement: `watchers` watches of `collection` on `endpoint`, then
/// `events` creates through `writer`, `interval` apart, named `{tag}{i}`.
/// `body(name)` is the object to create. `pids` are the processes whose
/// RSS is read.
#[allow(clippy::too_many_arguments)]
pub async fn measure_events(
    endpoint: &Endpoint,
    writer: &mut Connection,
    collection: &str,
    body: &dyn Fn(&str) -> Bytes,
    watchers: usize,
    per_connection: usize,
    events: usize,
    interval: Duration,
    tag: &str,
    pids: &[u32],
) -> anyhow::Result<EventLatency> {
    anyhow::ensure!(per_connection > 0, "--per-connection must be positive");
    #[derive(Deserialize)]
    struct List {
        metadata: ListMeta,
    }
    #[derive(Deserialize)]
    struct ListMeta {
        #[serde(rename = "resourceVersion")]
        resource_version: String,
    }
    let list = writer
        .expect(&Method::GET, &format!("{collection}?limit=1"), None, 200)
        .await?;
    let rv = serde_json::from_slice::<List>(&list)
        .context("LIST response")?
        .metadata
        .resource_version;
    let watch_path = format!("{collection}?watch=1&resourceVersion={rv}");

    // Open every watch before any event.
    let opened = Instant::now();
    let mut conns = Vec::with_capacity(watchers);
    let mut remaining = watchers;
    while remaining > 0 {
        let n = remaining.min(per_connection);
        conns.extend(endpoint.connect(n).await?);
        remaining -= n;
    }
    let streams = futures::future::try_join_all(conns.iter_mut().map(|c| c.stream(&watch_path)));
    let streams = tokio::time::timeout(Duration::from_secs(60), streams)
        .await
        .with_context(|| format!("{watchers} watches of {collection} not open within 60 s"))??;
    let open_time = opened.elapsed();

    let sent: Arc<Vec<OnceLock<Instant>>> =
        Arc::new((0..events).map(|_| OnceLock::new()).collect());
    let readers: Vec<_> = streams
        .into_iter()
        .map(|body| {
            let sent = Arc::clone(&sent);
            let tag = tag.to_owned();
            tokio::spawn(read_events(body, sent, tag, events))
        })
        .collect();
    // Let the servers finish setting the watches up.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for (i, slot) in sent.iter().enumerate() {
        ticker.tick().await;
        let name = format!("{tag}{i:05}");
        let _ = slot.set(Instant::now());
        writer
            .expect(&Method::POST, collection, Some(body(&name)), 201)
            .await?;
    }
    let deadline = Duration::from_secs(30);
    let mut latencies = Vec::with_capacity(events * watchers);
    let mut short = 0usize;
    for reader in readers {
        match tokio::time::timeout(deadline, reader).await {
            Ok(Ok(Ok(mut l))) => {
                if l.len() < events {
                    short += 1;
                }
                latencies.append(&mut l);
            }
            Ok(Ok(Err(e))) => return Err(e.context("a watcher failed")),
            Ok(Err(e)) => bail!("a watcher task failed: {e}"),
            Err(_) => short += 1,
        }
    }
    if short > 0 {
        bail!(
            "{short} of {watchers} watchers did not receive all {events} events within {deadline:?} after the last write"
        );
    }
    let rss_after = pids
        .iter()
        .map(|&p| procfs::rss_kib(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    drop(conns);
    latencies.sort();
    Ok(EventLatency {
        latencies,
        rss_after,
        open_time,
    })
}

#[derive(Deserialize)]
struct WatchEvent {
    #[serde(rename = "type")]
    kind: String,
    object: EventObject,
}

#[derive(Deserialize)]
struct EventObject {
    metadata: EventMeta,
}

#[derive(Deserialize)]
struct EventMeta {
    #[serde(default)]
    name: String,
}

/// Reads one watch stream until it has seen `events` ADDED events named
/// `{tag}<index>`; returns their latencies.
async fn read_events(
    mut body: hyper::body::Incoming,
    sent: Arc<Vec<OnceLock<Instant>>>,
    tag: String,
    events: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(events);
    let mut buf: Vec<u8> = Vec::new();
    while latencies.len() < events {
        let Some(frame) = body.frame().await else {
            bail!("the watch ended after {} events", latencies.len());
        };
        let frame = frame.context("reading the watch stream")?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let now = Instant::now();
        buf.extend_from_slice(&data);
        let mut start = 0;
        while let Some(pos) = buf[start..].iter().position(|&b| b == b'\n') {
            let line = &buf[start..start + pos];
            start += pos + 1;
            if line.is_empty() {
                continue;
            }
            let event: WatchEvent = serde_json::from_slice(line).context("a watch event")?;
            match event.kind.as_str() {
                "ADDED" => {}
                "ERROR" => bail!("watch error: {}", String::from_utf8_lossy(line)),
                _ => continue,
            }
            let Some(index) = event
                .object
                .metadata
                .name
                .strip_prefix(tag.as_str())
                .and_then(|i| i.parse::<usize>().ok())
            else {
                continue;
            };
            if let Some(at) = sent.get(index).and_then(OnceLock::get) {
                latencies.push(now.saturating_duration_since(*at));
            }
        }
        buf.drain(..start);
    }
    Ok(latencies)
}

const NS: &str = "bench-watch";

/// Where the watches go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Direct,
    Proxied,
}

impl Path {
    fn label(self) -> &'static str {
        match self {
            Self::Direct => "direct to B",
            Self::Proxied => "via A (proxied to B)",
        }
    }
}

struct Sample {
    watchers: usize,
    path: Path,
    p50: Duration,
    p99: Duration,
    max: Duration,
    /// RSS of A and B (KiB) with every watch open, after the events.
    rss: Vec<u64>,
    open_time: Duration,
}

pub async fn run(args: WatchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.runs > 0, "--runs must be at least 1");
    let binary = cluster::binary(args.binary.as_deref())?;
    let pki = Pki::generate();
    let mut samples = Vec::new();
    for run in 0..args.runs {
        let pair = Pair::start(&binary, &pki, &["--runtime-config=batch/v1=false"], &[]).await?;
        match one_round(&args, &pki, &pair, run).await {
            Ok(mut s) => samples.append(&mut s),
            Err(e) => bail!("round {}: {e:#}\n{}", run + 1, pair.logs()),
        }
        eprintln!("watch round {}/{} done", run + 1, args.runs);
    }
    print!("{}", markdown(&args, &samples));
    Ok(())
}

async fn one_round(
    args: &WatchArgs,
    pki: &Pki,
    pair: &Pair,
    run: usize,
) -> anyhow::Result<Vec<Sample>> {
    let pids = [
        pair.a.pid().context("server A exited")?,
        pair.b.pid().context("server B exited")?,
    ];
    let direct = Endpoint::new(&pair.b.url, pki, Protocol::H2)?;
    let proxied = Endpoint::new(&pair.a.url, pki, Protocol::H2)?;
    let mut writer = direct.connect(1).await?.pop().context("no connection")?;
    writer
        .expect(
            &Method::POST,
            "/api/v1/namespaces",
            Some(cluster::namespace(NS)),
            201,
        )
        .await?;
    let collection = format!("/apis/batch/v1/namespaces/{NS}/jobs");
    cluster::wait_for_200(&pair.a.url, pki, &collection, Duration::from_secs(15)).await?;
    let body = |name: &str| cluster::job(name, None);
    let mut samples = Vec::new();
    for (level, &watchers) in args.watchers.iter().enumerate() {
        let (events, interval) = pacing(watchers, args.events, args.interval_ms);
        // Alternate which path goes first.
        let order = if (run + level).is_multiple_of(2) {
            [Path::Direct, Path::Proxied]
        } else {
            [Path::Proxied, Path::Direct]
        };
        for path in order {
            let endpoint = match path {
                Path::Direct => &direct,
                Path::Proxied => &proxied,
            };
            let tag = format!("r{run}-w{watchers}-{}-", path == Path::Proxied);
            let m = measure_events(
                endpoint,
                &mut writer,
                &collection,
                &body,
                watchers,
                args.per_connection,
                events,
                interval,
                &tag,
                &pids,
            )
            .await
            .with_context(|| format!("{watchers} watchers {}", path.label()))?;
            samples.push(Sample {
                watchers,
                path,
                p50: percentile(&m.latencies, 0.5),
                p99: percentile(&m.latencies, 0.99),
                max: m.latencies.last().copied().unwrap_or_default(),
                rss: m.rss_after,
                open_time: m.open_time,
            });
        }
    }
    Ok(samples)
}

fn watchers_label(n: usize) -> String {
    if n == 1 {
        "1 watcher".into()
    } else {
        format!("{n} watchers")
    }
}

fn markdown(args: &WatchArgs, samples: &[Sample]) -> String {
    let mut out = String::new();
    let dur = |d: &Duration, e: &Duration| d.cmp(e);
    let _ = writeln!(
        out,
        "| watch of Jobs, writes through B | events × watchers | p50 ms (min / median / max) | p99 ms (min / median / max) | max ms (median) | opening the watches, ms (median) | RSS MiB A / B with the watches open (median) |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for &watchers in &args.watchers {
        let (events, interval) = pacing(watchers, args.events, args.interval_ms);
        for path in [Path::Direct, Path::Proxied] {
            let s: Vec<&Sample> = samples
                .iter()
                .filter(|s| s.watchers == watchers && s.path == path)
                .collect();
            if s.is_empty() {
                continue;
            }
            let p50: Vec<Duration> = s.iter().map(|s| s.p50).collect();
            let p99: Vec<Duration> = s.iter().map(|s| s.p99).collect();
            let max: Vec<Duration> = s.iter().map(|s| s.max).collect();
            let open: Vec<Duration> = s.iter().map(|s| s.open_time).collect();
            let median = |v: &[Duration]| {
                let mut v = v.to_vec();
                v.sort();
                v[v.len() / 2]
            };
            let rss = |i: usize| {
                let mut v: Vec<u64> = s.iter().filter_map(|s| s.rss.get(i).copied()).collect();
                v.sort_unstable();
                v.get(v.len() / 2)
                    .map(|k| format!("{:.1}", *k as f64 / 1024.0))
                    .unwrap_or_else(|| "—".into())
            };
            let _ = writeln!(
                out,
                "| {}, {} | {events} × {watchers}, {} ms apart | {} | {} | {} | {} | {} / {} |",
                watchers_label(watchers),
                path.label(),
                interval.as_millis(),
                spread_text(&p50, dur, ms),
                spread_text(&p99, dur, ms),
                ms(median(&max)),
                ms(median(&open)),
                rss(0),
                rss(1),
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| added by the proxy (proxied − direct, per round) | p50 ms (min / median / max) | p99 ms (min / median / max) |"
    );
    let _ = writeln!(out, "|---|---|---|");
    let f = |v: f64| format!("{v:.3}");
    for &watchers in &args.watchers {
        let rounds: Vec<(&Sample, &Sample)> = samples
            .iter()
            .filter(|s| s.watchers == watchers && s.path == Path::Direct)
            .zip(
                samples
                    .iter()
                    .filter(|s| s.watchers == watchers && s.path == Path::Proxied),
            )
            .collect();
        let added = |pick: fn(&Sample) -> Duration| {
            rounds
                .iter()
                .map(|(d, p)| (pick(p).as_secs_f64() - pick(d).as_secs_f64()) * 1000.0)
                .collect::<Vec<f64>>()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            watchers_label(watchers),
            spread_text(&added(|s| s.p50), f64::total_cmp, f),
            spread_text(&added(|s| s.p99), f64::total_cmp, f),
        );
    }
    out
}

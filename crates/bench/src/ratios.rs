//! `skewless-bench ratios`: every figure of the performance issue from one
//! run, each as min / median / max over rounds, ratios taken inside a round.
//!
//! Per round:
//! 1. *wrk* (`-t2 -c16 -d6s --latency`, HTTP/1.1 keep-alive over TLS, a
//!    bearer token): two servers on one shared SQLite file, A with
//!    `batch/v1` off so it proxies Jobs to B, one Job, and one nginx in
//!    front of B that also serves the Job's bytes (as B returned them) as a
//!    static file. Four paths, the order rotating per round: nginx's static
//!    file, B directly, A (proxied to B), nginx proxying to B. CPU per
//!    request of B and of the front (A, or nginx's master and workers) from
//!    `/proc`. With `--baseline-binary`, the same again on servers of that
//!    binary, the two binaries taking turns going first.
//! 2. *LIST*: one fresh server (embedded SQLite) with `--list-objects`
//!    ConfigMaps of about 0.5 KB; full LISTs and LISTs walked in
//!    `--page`-sized pages, from `--list-clients` concurrent clients over
//!    one HTTP/2 connection. With `--baseline-binary`, the same on a server
//!    of that binary in the same round, for the ratio; otherwise the ratio is
//!    to `--list-baseline` (the recorded figures).
//! 3. *Memory and watchers* on that same server: RSS idle, then with the
//!    objects stored and `--watchers` watches of one namespace's ConfigMaps
//!    open (HTTP/2, 100 streams per connection); event fan-out latency from
//!    just before each create was sent until each watcher read the event,
//!    end to end over HTTP (the server exposes no in-process hook).
//! 4. *Large LIST*: the server grown to `--big-list` objects; the peak RSS
//!    (sampled from `/proc` every millisecond) above the RSS before, during
//!    one full LIST and during one paged walk.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use http::Method;
use serde::Deserialize;
use serde::de::IgnoredAny;
use skewless_testkit::{Pki, ServerProcess, Storage, TOKEN};

use crate::client::{Connection, Endpoint, Protocol};
use crate::cluster::{self, LOG, Pair};
use crate::measure::{Processes, drive, percentile, spread_text};
use crate::nginx::{Nginx, STATIC_PATH};
use crate::procfs;
use crate::watch;
use crate::wrk::{Load, WrkRun};

#[derive(Debug, clap::Args)]
pub struct RatiosArgs {
    /// Rounds; each starts fresh servers (and nginx).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// The `skewless` binary (default: target/release/skewless).
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// Another `skewless` binary (an older build) whose wrk paths and LIST
    /// throughput are measured in the same rounds (taking turns with
    /// `--binary`), for before/after ratios.
    #[arg(long)]
    pub baseline_binary: Option<PathBuf>,
    /// The LIST throughput to compare with when there is no
    /// `--baseline-binary`: full LISTs/s and paged walks/s. Default: the
    /// figures recorded at commit 73bf6ce (docs/BENCHMARKS.md), which apply
    /// only to the default objects, page size and clients.
    #[arg(long, value_delimiter = ',')]
    pub list_baseline: Option<Vec<f64>>,
    /// A flag for every `skewless serve` started (repeatable), e.g.
    /// `--server-arg=--watch-cache=false`.
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    pub server_args: Vec<String>,
    /// The wrk binary.
    #[arg(long, default_value = "wrk")]
    pub wrk: String,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// wrk connections.
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// Seconds wrk loads each path.
    #[arg(long, default_value_t = 6)]
    pub seconds: u64,
    /// The nginx binary.
    #[arg(long, default_value = "nginx")]
    pub nginx: String,
    /// Objects listed.
    #[arg(long, default_value_t = 10_000)]
    pub list_objects: usize,
    /// Page size of the paged LISTs.
    #[arg(long, default_value_t = 500)]
    pub page: usize,
    /// Full LISTs per round (paged walks: the same number).
    #[arg(long, default_value_t = 24)]
    pub lists: usize,
    /// Concurrent LIST clients.
    #[arg(long, default_value_t = 4)]
    pub list_clients: usize,
    /// Watchers of one resource.
    #[arg(long, default_value_t = 1000)]
    pub watchers: usize,
    /// Events the watchers receive.
    #[arg(long, default_value_t = 40)]
    pub events: usize,
    /// Objects for the large LIST's memory (0: leave it out).
    #[arg(long, default_value_t = 100_000)]
    pub big_list: usize,
    /// Seconds the fresh server idles before its idle RSS is read.
    #[arg(long, default_value_t = 5)]
    pub idle_seconds: u64,
}

/// Full LISTs/s of 10,000 ConfigMaps at 73bf6ce (4 clients; median of 3
/// rounds, 2026-12-03 14:03 UTC, load average 13-16: docs/BENCHMARKS.md).
const BASELINE_FULL: f64 = 1.70;
/// Paged walks/s (limit=500) of the same, same run.
const BASELINE_PAGED: f64 = 3.90;

const NS_HOP: &str = "bench-ratios";
const JOB: &str = "/apis/batch/v1/namespaces/bench-ratios/jobs/target";
const NS_LIST: &str = "bench-list";
const NS_WATCH: &str = "bench-watch";
/// Concurrent creates while filling.
const FILL_CLIENTS: usize = 16;

/// The wrk paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WrkPath {
    Static,
    Direct,
    Proxied,
    NginxProxy,
}

const WRK_PATHS: [WrkPath; 4] = [
    WrkPath::Static,
    WrkPath::Direct,
    WrkPath::Proxied,
    WrkPath::NginxProxy,
];

impl WrkPath {
    fn label(self) -> &'static str {
        match self {
            Self::Static => "nginx, the same bytes as a static file",
            Self::Direct => "skewless B, directly",
            Self::Proxied => "via A (proxied to B)",
            Self::NginxProxy => "via nginx (proxied to B)",
        }
    }
}

/// LIST throughput of one binary in one round.
#[derive(Debug, Clone, Copy)]
struct ListFigures {
    full: f64,
    paged: f64,
    full_p50: Duration,
    paged_p50: Duration,
}

/// Memory and watch figures of one round (KiB, latencies).
#[derive(Debug, Clone, Default)]
struct Memory {
    idle_kib: u64,
    objects_kib: u64,
    watchers_kib: u64,
    fanout_p50: Duration,
    fanout_p99: Duration,
    /// In-process: from an event entering the watch cache to each
    /// watcher's stream yielding it.
    inprocess_p99: Duration,
    big_before_kib: Option<u64>,
    big_full_kib: Option<u64>,
    big_paged_kib: Option<u64>,
}

struct Round {
    wrk: Vec<(WrkPath, WrkRun)>,
    /// The same paths with `--baseline-binary`'s servers.
    baseline_wrk: Option<Vec<(WrkPath, WrkRun)>>,
    list: ListFigures,
    baseline_list: Option<ListFigures>,
    memory: Memory,
    load: String,
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

pub async fn run(args: RatiosArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.runs > 0, "--runs must be at least 1");
    anyhow::ensure!(
        args.list_objects > 0 && args.page > 0 && args.lists > 0 && args.list_clients > 0,
        "--list-objects, --page, --lists and --list-clients must be positive"
    );
    anyhow::ensure!(
        args.list_baseline.as_ref().is_none_or(|b| b.len() == 2),
        "--list-baseline takes two numbers: full,paged"
    );
    let binary = cluster::binary(args.binary.as_deref())?;
    let baseline = args
        .baseline_binary
        .as_deref()
        .map(|b| cluster::binary(Some(b)))
        .transpose()?;
    let pki = Pki::generate();
    let mut rounds = Vec::new();
    for run in 0..args.runs {
        let started_load = load_average();
        // With a baseline binary, the two take turns going first.
        let mut wrk = None;
        let mut baseline_wrk = None;
        for turn in 0..2 {
            let baseline_turn = (turn + run) % 2 == 1;
            match (&baseline, baseline_turn) {
                (Some(b), true) => {
                    baseline_wrk = Some(
                        wrk_round(&args, b, &pki, run)
                            .await
                            .with_context(|| format!("round {}: wrk, baseline", run + 1))?,
                    );
                }
                (_, false) => {
                    wrk = Some(
                        wrk_round(&args, &binary, &pki, run)
                            .await
                            .with_context(|| format!("round {}: wrk", run + 1))?,
                    );
                }
                (None, true) => {}
            }
        }
        let wrk = wrk.unwrap_or_default();
        // The baseline's LIST server goes first in odd rounds, so neither
        // binary always follows the other's load.
        let baseline_first = run % 2 == 1;
        let mut baseline_list = None;
        if let (Some(b), true) = (&baseline, baseline_first) {
            baseline_list = Some(baseline_lists(&args, b, &pki, run).await?);
        }
        let (list, memory) = server_round(&args, &binary, &pki, true)
            .await
            .with_context(|| format!("round {}: LIST and memory", run + 1))?;
        if let (Some(b), false) = (&baseline, baseline_first) {
            baseline_list = Some(baseline_lists(&args, b, &pki, run).await?);
        }
        let load = format!("{started_load} → {}", load_average());
        eprintln!("ratios round {}/{} done (load {load})", run + 1, args.runs);
        rounds.push(Round {
            wrk,
            baseline_wrk,
            list,
            baseline_list,
            memory,
            load,
        });
    }
    print!("{}", markdown(&args, &rounds));
    Ok(())
}

/// The LIST figures of the baseline binary's server.
async fn baseline_lists(
    args: &RatiosArgs,
    binary: &Path,
    pki: &Pki,
    run: usize,
) -> anyhow::Result<ListFigures> {
    Ok(server_round(args, binary, pki, false)
        .await
        .with_context(|| format!("round {}: baseline LIST", run + 1))?
        .0)
}

fn server_args(args: &RatiosArgs) -> Vec<&str> {
    args.server_args.iter().map(String::as_str).collect()
}

/// The four wrk paths, the order rotated by `run`.
async fn wrk_round(
    args: &RatiosArgs,
    binary: &Path,
    pki: &Pki,
    run: usize,
) -> anyhow::Result<Vec<(WrkPath, WrkRun)>> {
    let extra = server_args(args);
    let mut a_extra = vec!["--runtime-config=batch/v1=false"];
    a_extra.extend(&extra);
    let pair = Pair::start(binary, pki, &a_extra, &extra).await?;
    match wrk_paths(args, pki, &pair, run).await {
        Ok(r) => Ok(r),
        Err(e) => bail!("{e:#}\n{}", pair.logs()),
    }
}

async fn wrk_paths(
    args: &RatiosArgs,
    pki: &Pki,
    pair: &Pair,
    run: usize,
) -> anyhow::Result<Vec<(WrkPath, WrkRun)>> {
    let a_pid = pair.a.pid().context("server A exited")?;
    let b_pid = pair.b.pid().context("server B exited")?;
    let mut setup = Endpoint::new(&pair.b.url, pki, Protocol::Http1)?
        .connect(1)
        .await?
        .pop()
        .context("no connection")?;
    setup
        .expect(
            &Method::POST,
            "/api/v1/namespaces",
            Some(cluster::namespace(NS_HOP)),
            201,
        )
        .await?;
    setup
        .expect(
            &Method::POST,
            &format!("/apis/batch/v1/namespaces/{NS_HOP}/jobs"),
            Some(cluster::job("target", None)),
            201,
        )
        .await?;
    cluster::wait_for_200(&pair.a.url, pki, JOB, Duration::from_secs(15)).await?;
    // The bytes B answers with, for nginx to serve as a file.
    let body = setup.expect(&Method::GET, JOB, None, 200).await?;
    let dir = tempfile::tempdir().context("a directory for the static file")?;
    let file = dir.path().join("job.json");
    std::fs::write(&file, &body).context("writing the static file")?;
    let upstream = pair.b.url.trim_start_matches("https://");
    let nginx = Nginx::start_with_static(&args.nginx, pki, upstream, Some(&file)).await?;
    let load = Load {
        binary: args.wrk.clone(),
        threads: args.threads,
        connections: args.connections,
        duration: Duration::from_secs(args.seconds),
    };
    let auth = format!("Authorization: Bearer {TOKEN}");
    let headers = [auth.as_str(), "Accept: application/json"];
    let mut out = Vec::new();
    for k in 0..WRK_PATHS.len() {
        let path = WRK_PATHS[(run + k) % WRK_PATHS.len()];
        let (url, pids) = match path {
            WrkPath::Static => (format!("{}{STATIC_PATH}", nginx.url), [None, nginx.pid()]),
            WrkPath::Direct => (format!("{}{JOB}", pair.b.url), [Some(b_pid), None]),
            WrkPath::Proxied => (format!("{}{JOB}", pair.a.url), [Some(b_pid), Some(a_pid)]),
            WrkPath::NginxProxy => (format!("{}{JOB}", nginx.url), [Some(b_pid), nginx.pid()]),
        };
        // A short warm-up: connections, TLS sessions, the peer connection.
        let warm = Load {
            duration: Duration::from_secs(1),
            ..load.clone()
        };
        warm.run(&url, &headers, [None, None])
            .await
            .with_context(|| path.label())?;
        let r = load
            .run(&url, &headers, pids)
            .await
            .with_context(|| path.label())?;
        out.push((path, r));
    }
    let log = nginx.error_log();
    if log.contains("[error]") || log.contains("[crit]") {
        eprintln!("nginx reported errors:\n{log}");
    }
    Ok(out)
}

/// One fresh single server: LIST throughput, and (if `memory`) RSS idle,
/// with objects and watchers, and during a large LIST.
async fn server_round(
    args: &RatiosArgs,
    binary: &Path,
    pki: &Pki,
    memory: bool,
) -> anyhow::Result<(ListFigures, Memory)> {
    let server =
        ServerProcess::start_with_log(binary, pki, &Storage::Sqlite, &server_args(args), LOG).await;
    match server_measure(args, pki, &server, memory).await {
        Ok(r) => Ok(r),
        Err(e) => bail!("{e:#}\nserver log:\n{}", server.log_text()),
    }
}

async fn server_measure(
    args: &RatiosArgs,
    pki: &Pki,
    server: &ServerProcess,
    memory: bool,
) -> anyhow::Result<(ListFigures, Memory)> {
    let pid = server.pid().context("the server exited")?;
    let processes = Processes {
        server: pid,
        storage: None,
    };
    let mut figures = Memory::default();
    if memory {
        tokio::time::sleep(Duration::from_secs(args.idle_seconds)).await;
        figures.idle_kib = procfs::rss_kib(pid)?;
    }
    let endpoint = Endpoint::new(&server.url, pki, Protocol::H2)?;
    let mut conns = endpoint
        .connect(FILL_CLIENTS.max(args.list_clients))
        .await?;
    for ns in [NS_LIST, NS_WATCH] {
        conns[0]
            .expect(
                &Method::POST,
                "/api/v1/namespaces",
                Some(cluster::namespace(ns)),
                201,
            )
            .await?;
    }
    let collection = format!("/api/v1/namespaces/{NS_LIST}/configmaps");
    fill(&mut conns, processes, &collection, 0, args.list_objects).await?;
    let list = list_throughput(args, &mut conns, processes, &collection).await?;
    if !memory {
        return Ok((list, figures));
    }
    figures.objects_kib = procfs::rss_kib(pid)?;

    let mut writer = endpoint.connect(1).await?.pop().context("no connection")?;
    let (_, interval) = watch::pacing(args.watchers, None, None);
    let m = watch::measure_events(
        &endpoint,
        &mut writer,
        &format!("/api/v1/namespaces/{NS_WATCH}/configmaps"),
        &crate::growth::configmap,
        args.watchers,
        100,
        args.events,
        interval,
        "w-",
        &[pid],
    )
    .await
    .with_context(|| format!("{} watchers", args.watchers))?;
    figures.watchers_kib = m.rss_after.first().copied().unwrap_or_default();
    figures.fanout_p50 = percentile(&m.latencies, 0.5);
    figures.fanout_p99 = percentile(&m.latencies, 0.99);
    let mut inprocess =
        skewless_server::watch_cache_bench::fanout_latencies(args.watchers, args.events, 500).await;
    inprocess.sort_unstable();
    figures.inprocess_p99 = percentile(&inprocess, 0.99);

    if args.big_list > args.list_objects {
        fill(
            &mut conns,
            processes,
            &collection,
            args.list_objects,
            args.big_list,
        )
        .await?;
        let before = procfs::rss_kib(pid)?;
        figures.big_before_kib = Some(before);
        let full = collection.clone();
        let (n, peak) =
            while_sampling(pid, walk(&mut conns[0], &full, None, args.big_list)).await?;
        anyhow::ensure!(n == args.big_list, "the large LIST returned {n} items");
        figures.big_full_kib = Some(peak.saturating_sub(before));
        let before = procfs::rss_kib(pid)?;
        let (n, peak) = while_sampling(
            pid,
            walk(&mut conns[0], &collection, Some(args.page), args.big_list),
        )
        .await?;
        anyhow::ensure!(
            n == args.big_list,
            "the large paged LIST returned {n} items"
        );
        figures.big_paged_kib = Some(peak.saturating_sub(before));
    }
    Ok((list, figures))
}

/// Creates ConfigMaps `cm-<from>` .. `cm-<to - 1>` in `collection`.
async fn fill(
    conns: &mut [Connection],
    processes: Processes,
    collection: &str,
    from: usize,
    to: usize,
) -> anyhow::Result<()> {
    let create = async |c: &mut Connection, i: usize| {
        let name = format!("cm-{:06}", from + i);
        c.expect(
            &Method::POST,
            collection,
            Some(crate::growth::configmap(&name)),
            201,
        )
        .await
        .map(drop)
    };
    let clients = FILL_CLIENTS.min(conns.len());
    drive(conns, clients, to - from, processes, create)
        .await
        .with_context(|| format!("creating {} ConfigMaps", to - from))?;
    Ok(())
}

#[derive(Deserialize)]
struct ListPage {
    metadata: ListMeta,
    items: Vec<IgnoredAny>,
}

#[derive(Deserialize)]
struct ListMeta {
    #[serde(rename = "continue", default)]
    continue_token: Option<String>,
}

/// One LIST of `collection` walked to its end (`page`: the limit), checking
/// the count (`expected`); returns the items seen.
async fn walk(
    conn: &mut Connection,
    collection: &str,
    page: Option<usize>,
    expected: usize,
) -> anyhow::Result<usize> {
    let mut seen = 0;
    let mut token: Option<String> = None;
    loop {
        let path = match (page, &token) {
            (None, _) => collection.to_owned(),
            (Some(limit), None) => format!("{collection}?limit={limit}"),
            (Some(limit), Some(t)) => format!("{collection}?limit={limit}&continue={t}"),
        };
        let body = conn.expect(&Method::GET, &path, None, 200).await?;
        let list: ListPage = serde_json::from_slice(&body).context("a LIST response")?;
        seen += list.items.len();
        match list.metadata.continue_token.filter(|t| !t.is_empty()) {
            Some(t) if page.is_some() => token = Some(t),
            _ => break,
        }
        anyhow::ensure!(seen <= expected, "more than {expected} items listed");
    }
    anyhow::ensure!(
        seen == expected,
        "LIST {collection} saw {seen} items, expected {expected}"
    );
    Ok(seen)
}

async fn list_throughput(
    args: &RatiosArgs,
    conns: &mut [Connection],
    processes: Processes,
    collection: &str,
) -> anyhow::Result<ListFigures> {
    let n = args.list_objects;
    let clients = args.list_clients.min(conns.len());
    let full = async |c: &mut Connection, _| walk(c, collection, None, n).await.map(drop);
    let paged =
        async |c: &mut Connection, _| walk(c, collection, Some(args.page), n).await.map(drop);
    // Warm-up: one of each per client.
    drive(conns, clients, clients, processes, full).await?;
    drive(conns, clients, clients, processes, paged).await?;
    let f = drive(conns, clients, args.lists, processes, full).await?;
    let p = drive(conns, clients, args.lists, processes, paged).await?;
    Ok(ListFigures {
        full: f.rate(),
        paged: p.rate(),
        full_p50: f.quantile(0.5),
        paged_p50: p.quantile(0.5),
    })
}

/// Runs `work` while a thread samples `pid`'s RSS every millisecond;
/// returns its result and the highest RSS (KiB) seen.
async fn while_sampling<T>(
    pid: u32,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<(T, u64)> {
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(procfs::rss_kib(pid)?));
    let sampler = {
        let (stop, peak) = (Arc::clone(&stop), Arc::clone(&peak));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(kib) = procfs::rss_kib(pid) {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let result = work.await;
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    if let Ok(kib) = procfs::rss_kib(pid) {
        peak.fetch_max(kib, Ordering::Relaxed);
    }
    Ok((result?, peak.load(Ordering::Relaxed)))
}

fn find(runs: &[(WrkPath, WrkRun)], path: WrkPath) -> Option<&WrkRun> {
    runs.iter().find(|(p, _)| *p == path).map(|(_, r)| r)
}

/// The four wrk ratios of one binary's runs, as summary rows.
fn wrk_ratio_rows(out: &mut String, sets: &[&[(WrkPath, WrkRun)]], suffix: &str) {
    let ratio = |a: WrkPath, b: WrkPath, f: fn(&WrkRun) -> f64| -> Vec<f64> {
        sets.iter()
            .filter_map(|w| Some(f(find(w, a)?) / f(find(w, b)?).max(f64::MIN_POSITIVE)))
            .filter(|v| v.is_finite())
            .collect()
    };
    let rate = |w: &WrkRun| w.rate;
    let p50 = |w: &WrkRun| us(w.p50);
    let front_cpu = |w: &WrkRun| w.cpu_per_request[1].map(us).unwrap_or(f64::NAN);
    // Each ratio with its target (none for the yardstick rows: the same
    // hop with nginx as the proxy, on the same cores, in the same round).
    type Target = Option<(&'static str, fn(f64) -> bool)>;
    type Ratio = (&'static str, WrkPath, WrkPath, fn(&WrkRun) -> f64, Target);
    let rows: [Ratio; 8] = [
        (
            "direct GET / nginx static file, req/s",
            WrkPath::Direct,
            WrkPath::Static,
            rate,
            Some(("≥ 0.6", |m| m >= 0.6)),
        ),
        (
            "peer hop / direct, p50",
            WrkPath::Proxied,
            WrkPath::Direct,
            p50,
            Some(("≤ 1.25", |m| m <= 1.25)),
        ),
        (
            "peer hop / direct, req/s",
            WrkPath::Proxied,
            WrkPath::Direct,
            rate,
            Some(("≥ 0.8", |m| m >= 0.8)),
        ),
        (
            "A's CPU per proxied request / nginx's per proxied request",
            WrkPath::Proxied,
            WrkPath::NginxProxy,
            front_cpu,
            Some(("≤ 1", |m| m <= 1.0)),
        ),
        (
            "nginx as the proxy / direct, p50",
            WrkPath::NginxProxy,
            WrkPath::Direct,
            p50,
            None,
        ),
        (
            "nginx as the proxy / direct, req/s",
            WrkPath::NginxProxy,
            WrkPath::Direct,
            rate,
            None,
        ),
        (
            "peer hop / nginx as the proxy, p50",
            WrkPath::Proxied,
            WrkPath::NginxProxy,
            p50,
            None,
        ),
        (
            "peer hop / nginx as the proxy, req/s",
            WrkPath::Proxied,
            WrkPath::NginxProxy,
            rate,
            None,
        ),
    ];
    for (name, a, b, f, target) in rows {
        let v = ratio(a, b, f);
        let (text, met) = match (target, median(&v)) {
            (Some((text, met)), Some(m)) => (text, met(m)),
            (Some((text, _)), None) => (text, false),
            (None, _) => ("", false),
        };
        row(out, &format!("{name}{suffix}"), &v, 2, text, met);
    }
}

/// The wrk table's rows for one binary's runs.
fn wrk_rows(out: &mut String, sets: &[&[(WrkPath, WrkRun)]], prefix: &str) {
    for path in WRK_PATHS {
        let runs: Vec<&WrkRun> = sets.iter().filter_map(|w| find(w, path)).collect();
        if runs.is_empty() {
            continue;
        }
        let f = |g: fn(&WrkRun) -> f64, d: usize| {
            let v: Vec<f64> = runs.iter().map(|w| g(w)).collect();
            spread_text(&v, f64::total_cmp, |v| format!("{v:.d$}"))
        };
        let cpu = |i: usize| {
            let v: Vec<f64> = runs
                .iter()
                .filter_map(|w| w.cpu_per_request[i].map(us))
                .collect();
            median(&v).map_or("—".to_owned(), |v| format!("{v:.0}"))
        };
        let _ = writeln!(
            out,
            "| {prefix}{} | {} | {} | {} | {} / {} |",
            path.label(),
            f(|w| w.rate, 0),
            f(|w| w.p50.as_secs_f64() * 1e3, 3),
            f(|w| w.p99.as_secs_f64() * 1e3, 3),
            cpu(0),
            cpu(1),
        );
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// One row of the summary: `values` (one per round) as min / median /
/// max, against a target.
fn row(out: &mut String, name: &str, values: &[f64], decimals: usize, target: &str, met: bool) {
    let text = spread_text(values, f64::total_cmp, |v| format!("{v:.decimals$}"));
    let verdict = if values.is_empty() {
        "—"
    } else if target.is_empty() {
        ""
    } else if met {
        "met"
    } else {
        "**missed**"
    };
    let _ = writeln!(out, "| {name} | {text} | {target} | {verdict} |");
}

fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

fn markdown(args: &RatiosArgs, rounds: &[Round]) -> String {
    let mut out = String::new();
    let per_round = |f: &dyn Fn(&Round) -> Option<f64>| rounds.iter().filter_map(f).collect();

    let _ = writeln!(
        out,
        "| ratio ({} rounds) | min / median / max | target | median |",
        rounds.len()
    );
    let _ = writeln!(out, "|---|---|---|---|");
    let sets: Vec<&[(WrkPath, WrkRun)]> = rounds.iter().map(|r| r.wrk.as_slice()).collect();
    wrk_ratio_rows(&mut out, &sets, "");
    let baseline_sets: Vec<&[(WrkPath, WrkRun)]> = rounds
        .iter()
        .filter_map(|r| r.baseline_wrk.as_deref())
        .collect();
    if !baseline_sets.is_empty() {
        wrk_ratio_rows(&mut out, &baseline_sets, " (baseline binary)");
        let mut versus = |name: &str, path: WrkPath, f: fn(&WrkRun) -> f64| {
            let v: Vec<f64> = rounds
                .iter()
                .filter_map(|r| {
                    let base = find(r.baseline_wrk.as_deref()?, path)?;
                    Some(f(find(&r.wrk, path)?) / f(base).max(f64::MIN_POSITIVE))
                })
                .collect();
            row(&mut out, name, &v, 2, "", true);
        };
        versus(
            "direct GET req/s, this binary / baseline binary",
            WrkPath::Direct,
            |w| w.rate,
        );
        versus(
            "proxied GET req/s, this binary / baseline binary",
            WrkPath::Proxied,
            |w| w.rate,
        );
        versus(
            "A's CPU per proxied request, this binary / baseline binary",
            WrkPath::Proxied,
            |w| w.cpu_per_request[1].map(us).unwrap_or(f64::NAN),
        );
    }
    let has_baseline = rounds.iter().any(|r| r.baseline_list.is_some());
    let recorded_applies =
        args.list_objects == 10_000 && args.page == 500 && args.list_clients == 4;
    let (base_full, base_paged) = match args.list_baseline.as_deref() {
        Some(&[full, paged]) => (full, paged),
        _ if recorded_applies => (BASELINE_FULL, BASELINE_PAGED),
        _ => (0.0, 0.0),
    };
    let list_ratio = |f: fn(&ListFigures) -> f64, recorded: f64| {
        move |r: &Round| match &r.baseline_list {
            Some(b) => Some(f(&r.list) / f(b).max(f64::MIN_POSITIVE)),
            None if recorded > 0.0 => Some(f(&r.list) / recorded),
            None => None,
        }
    };
    let against = if has_baseline {
        "the baseline binary, same round"
    } else {
        "the recorded baseline"
    };
    for (name, f, recorded) in [
        (
            "full",
            (|l: &ListFigures| l.full) as fn(&ListFigures) -> f64,
            base_full,
        ),
        ("paged", |l: &ListFigures| l.paged, base_paged),
    ] {
        let v: Vec<f64> = per_round(&list_ratio(f, recorded));
        let m = median(&v).unwrap_or(0.0);
        let label = if name == "full" {
            format!("LIST {} objects / {against}, lists/s", args.list_objects)
        } else {
            format!(
                "LIST {} objects in pages of {} / {against}, walks/s",
                args.list_objects, args.page
            )
        };
        row(&mut out, &label, &v, 2, "≥ 3", m >= 3.0);
    }
    let _ = writeln!(out);

    let _ = writeln!(
        out,
        "| figure ({} rounds) | min / median / max | target | median |",
        rounds.len()
    );
    let _ = writeln!(out, "|---|---|---|---|");
    let inprocess: Vec<f64> = per_round(&|r| Some(r.memory.inprocess_p99.as_secs_f64() * 1e3));
    let m = median(&inprocess).unwrap_or(f64::INFINITY);
    row(
        &mut out,
        &format!(
            "{} watchers, event fan-out p99 ms in-process (watch cache to each watch stream)",
            args.watchers
        ),
        &inprocess,
        3,
        "≤ 5",
        m <= 5.0,
    );
    let fanout: Vec<f64> = per_round(&|r| Some(r.memory.fanout_p99.as_secs_f64() * 1e3));
    row(
        &mut out,
        "the same, p99 ms end to end over HTTP/2 (create sent until each watcher read it)",
        &fanout,
        2,
        "",
        true,
    );
    let v: Vec<f64> = per_round(&|r| Some(r.memory.fanout_p50.as_secs_f64() * 1e3));
    row(&mut out, "the same, p50 ms", &v, 2, "", true);
    let v: Vec<f64> = per_round(&|r| Some(mib(r.memory.watchers_kib)));
    let m = median(&v).unwrap_or(f64::INFINITY);
    row(
        &mut out,
        &format!(
            "RSS MiB, {} objects and {} watchers",
            args.list_objects, args.watchers
        ),
        &v,
        1,
        "≤ 60",
        m <= 60.0,
    );
    let v: Vec<f64> = per_round(&|r| Some(mib(r.memory.objects_kib)));
    row(
        &mut out,
        &format!("RSS MiB, {} objects, after the LISTs", args.list_objects),
        &v,
        1,
        "",
        true,
    );
    let v: Vec<f64> = per_round(&|r| Some(mib(r.memory.idle_kib)));
    let m = median(&v).unwrap_or(f64::INFINITY);
    row(
        &mut out,
        &format!("RSS MiB, idle {} s after start-up", args.idle_seconds),
        &v,
        1,
        "≤ 20",
        m <= 20.0,
    );
    if args.big_list > args.list_objects {
        let v: Vec<f64> = per_round(&|r| r.memory.big_before_kib.map(mib));
        row(
            &mut out,
            &format!(
                "RSS MiB, {} objects stored, before the large LISTs",
                args.big_list
            ),
            &v,
            1,
            "",
            true,
        );
        let v: Vec<f64> = per_round(&|r| r.memory.big_full_kib.map(mib));
        row(
            &mut out,
            &format!("peak RSS increase MiB, one full LIST of {}", args.big_list),
            &v,
            1,
            "",
            true,
        );
        let v: Vec<f64> = per_round(&|r| r.memory.big_paged_kib.map(mib));
        row(
            &mut out,
            &format!(
                "peak RSS increase MiB, one LIST of {} in pages of {}",
                args.big_list, args.page
            ),
            &v,
            1,
            "one page's worth",
            true,
        );
    }
    let _ = writeln!(out);

    let _ = writeln!(
        out,
        "| wrk -t{} -c{} -d{}s, HTTPS keep-alive | req/s (min / median / max) | p50 ms | p99 ms | CPU µs/req, median (B / front) |",
        args.threads, args.connections, args.seconds
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    wrk_rows(&mut out, &sets, "");
    wrk_rows(&mut out, &baseline_sets, "baseline binary: ");
    let _ = writeln!(out);

    let _ = writeln!(
        out,
        "| LIST of {} ConfigMaps, {} clients, HTTP/2 | per s (min / median / max) | p50 ms per LIST (median) |",
        args.list_objects, args.list_clients
    );
    let _ = writeln!(out, "|---|---|---|");
    type Pick = fn(&ListFigures) -> (f64, Duration);
    let list_rows: [(&str, Pick); 2] = [
        ("full", |l| (l.full, l.full_p50)),
        ("pages", |l| (l.paged, l.paged_p50)),
    ];
    for baseline in [false, true] {
        for (name, f) in list_rows {
            let figures: Vec<(f64, Duration)> = rounds
                .iter()
                .filter_map(|r| {
                    if baseline {
                        r.baseline_list.as_ref()
                    } else {
                        Some(&r.list)
                    }
                })
                .map(f)
                .collect();
            if figures.is_empty() {
                continue;
            }
            let rates: Vec<f64> = figures.iter().map(|x| x.0).collect();
            let p50s: Vec<f64> = figures.iter().map(|x| x.1.as_secs_f64() * 1e3).collect();
            let which = if baseline {
                "baseline binary"
            } else {
                "measured"
            };
            let label = if name == "full" {
                format!("{which}, full LISTs")
            } else {
                format!("{which}, walks in pages of {}", args.page)
            };
            let _ = writeln!(
                out,
                "| {label} | {} | {:.1} |",
                spread_text(&rates, f64::total_cmp, |v| format!("{v:.2}")),
                median(&p50s).unwrap_or(0.0),
            );
        }
    }
    if !has_baseline {
        let which = if args.list_baseline.is_some() {
            "baseline (--list-baseline)"
        } else if recorded_applies {
            "recorded baseline (73bf6ce)"
        } else {
            "no recorded baseline for these objects, page size and clients"
        };
        let _ = writeln!(
            out,
            "| {which} | {base_full:.2} full, {base_paged:.2} walks | |"
        );
    }
    let _ = writeln!(out);
    let loads: Vec<String> = rounds.iter().map(|r| r.load.clone()).collect();
    let _ = writeln!(
        out,
        "Load average (1, 5, 15 min) at the start → end of each round: {}.",
        loads.join("; ")
    );
    out
}

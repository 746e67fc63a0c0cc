//! `skewless-bench growth`: how one server's latency and memory change as
//! it holds more objects and serves more watchers.
//!
//! Objects: one fresh SQLite server per round; ConfigMaps (about 0.5 KB as
//! returned) are created with `--clients` concurrent clients up to each
//! checkpoint (1k, 2k, 5k, 10k, 20k, 50k, 100k, capped by
//! `--max-objects`), timing the creates on the way; at each checkpoint it
//! measures GETs of random objects, LISTs with `limit=100`, LISTs of the
//! whole namespace, and the server's RSS.
//!
//! Watchers: another fresh server per round; for 1, 10, 100, 1,000
//! watchers of ConfigMaps, the event latency (the watch benchmark's
//! machinery) and the RSS with every watch open.
//!
//! It prints Markdown tables and draws one PNG per curve (median over
//! rounds) into `--plots`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http::Method;
use skewless_testkit::{Pki, ServerProcess, Storage};

use crate::client::{Connection, Endpoint, Protocol};
use crate::cluster::{self, LOG};
use crate::measure::{Phase, Processes, drive, ms, spread, spread_text};
use crate::plot::{self, Labels, Series};
use crate::procfs;
use crate::watch;

#[derive(Debug, clap::Args)]
pub struct GrowthArgs {
    /// Rounds; each starts fresh servers.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// The `skewless` binary (default: target/release/skewless).
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// The largest object count (checkpoints above it are skipped).
    #[arg(long, default_value_t = 100_000)]
    pub max_objects: usize,
    /// Concurrent clients creating the objects.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// GETs per checkpoint.
    #[arg(long, default_value_t = 1000)]
    pub gets: usize,
    /// LISTs with limit=100 per checkpoint.
    #[arg(long, default_value_t = 100)]
    pub pages: usize,
    /// LISTs of every object per checkpoint.
    #[arg(long, default_value_t = 3)]
    pub full_lists: usize,
    /// Watcher counts (comma-separated; empty skips the watcher curve).
    #[arg(long, value_delimiter = ',', default_values_t = [1, 10, 100, 1000])]
    pub watchers: Vec<usize>,
    /// Watch streams per HTTP/2 connection.
    #[arg(long, default_value_t = 100)]
    pub per_connection: usize,
    /// Where the PNG plots go (default: docs/ in the workspace).
    #[arg(long)]
    pub plots: Option<PathBuf>,
    /// Skip the plots.
    #[arg(long)]
    pub no_plots: bool,
    /// TrueType font for the plots' text.
    #[arg(
        long,
        default_value = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    )]
    pub font: PathBuf,
}

const CHECKPOINTS: [usize; 7] = [1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000];
const NS: &str = "bench-growth";
const NS_WATCH: &str = "bench-watchers";

/// Figures at one object count in one round.
#[derive(Debug, Clone)]
struct ObjectPoint {
    objects: usize,
    create_rate: f64,
    get: Phase,
    page: Phase,
    full: Phase,
    /// Bytes of one whole-namespace LIST.
    full_bytes: usize,
    /// RSS right after the creates, before any GET or LIST.
    rss_created_kib: u64,
    /// RSS after the GETs and LISTs.
    rss_kib: u64,
}

/// Figures at one watcher count in one round.
#[derive(Debug, Clone)]
struct WatcherPoint {
    watchers: usize,
    p50: Duration,
    p99: Duration,
    rss_idle_kib: u64,
    rss_kib: u64,
}

/// A ConfigMap of about 0.5 KB as returned.
pub fn configmap(name: &str) -> Bytes {
    let obj = serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"app": "skewless-bench"}},
        "data": {"payload": "x".repeat(224)},
    });
    Bytes::from(obj.to_string())
}

fn checkpoints(max: usize) -> Vec<usize> {
    let mut c: Vec<usize> = CHECKPOINTS.into_iter().filter(|&c| c <= max).collect();
    if c.last() != Some(&max) {
        c.push(max);
    }
    c
}

pub async fn run(args: GrowthArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.runs > 0, "--runs must be at least 1");
    anyhow::ensure!(args.max_objects > 0, "--max-objects must be positive");
    anyhow::ensure!(args.clients > 0, "--clients must be positive");
    let binary = cluster::binary(args.binary.as_deref())?;
    let pki = Pki::generate();
    let mut objects = Vec::new();
    let mut watchers = Vec::new();
    for run in 0..args.runs {
        let server = ServerProcess::start_with_log(&binary, &pki, &Storage::Sqlite, &[], LOG).await;
        match object_curve(&args, &pki, &server).await {
            Ok(mut points) => objects.append(&mut points),
            Err(e) => bail!(
                "round {} (objects): {e:#}\nserver log:\n{}",
                run + 1,
                server.log_text()
            ),
        }
        drop(server);
        if !args.watchers.is_empty() {
            let server =
                ServerProcess::start_with_log(&binary, &pki, &Storage::Sqlite, &[], LOG).await;
            match watcher_curve(&args, &pki, &server).await {
                Ok(mut points) => watchers.append(&mut points),
                Err(e) => bail!(
                    "round {} (watchers): {e:#}\nserver log:\n{}",
                    run + 1,
                    server.log_text()
                ),
            }
        }
        eprintln!("growth round {}/{} done", run + 1, args.runs);
    }
    print!("{}", markdown(&args, &objects, &watchers));
    if !args.no_plots {
        let dir = args
            .plots
            .clone()
            .unwrap_or_else(|| skewless_testkit::workspace_root().join("docs"));
        plot::load_font(&args.font);
        let written = plots(&dir, &objects, &watchers)?;
        eprintln!("plots: {}", written.join(", "));
    }
    Ok(())
}

async fn object_curve(
    args: &GrowthArgs,
    pki: &Pki,
    server: &ServerProcess,
) -> anyhow::Result<Vec<ObjectPoint>> {
    let pid = server.pid().context("the server exited")?;
    let processes = Processes {
        server: pid,
        storage: None,
    };
    let endpoint = Endpoint::new(&server.url, pki, Protocol::H2)?;
    let mut conns = endpoint.connect(args.clients).await?;
    conns[0]
        .expect(
            &Method::POST,
            "/api/v1/namespaces",
            Some(cluster::namespace(NS)),
            201,
        )
        .await?;
    let collection = format!("/api/v1/namespaces/{NS}/configmaps");
    let mut created = 0;
    let mut points = Vec::new();
    for target in checkpoints(args.max_objects) {
        let base = created;
        let create = async |c: &mut Connection, i: usize| {
            let name = format!("cm-{:06}", base + i);
            c.expect(&Method::POST, &collection, Some(configmap(&name)), 201)
                .await
                .map(drop)
        };
        let phase = drive(
            &mut conns,
            args.clients,
            target - created,
            processes,
            create,
        )
        .await?;
        created = target;
        let rss_created_kib = procfs::rss_kib(pid)?;
        let n = created;
        // GETs of objects spread over the whole key space.
        let get = async |c: &mut Connection, i: usize| {
            let k = (i * 7919) % n;
            c.expect(&Method::GET, &format!("{collection}/cm-{k:06}"), None, 200)
                .await
                .map(drop)
        };
        let get_phase = drive(&mut conns, 1, args.gets, processes, get).await?;
        let page_path = format!("{collection}?limit=100");
        let page = async |c: &mut Connection, _| {
            c.expect(&Method::GET, &page_path, None, 200)
                .await
                .map(drop)
        };
        let page_phase = drive(&mut conns, 1, args.pages, processes, page).await?;
        let full_bytes = conns[0]
            .expect(&Method::GET, &collection, None, 200)
            .await?
            .len();
        let full = async |c: &mut Connection, _| {
            c.expect(&Method::GET, &collection, None, 200)
                .await
                .map(drop)
        };
        let full_phase = drive(&mut conns, 1, args.full_lists, processes, full).await?;
        let rss = procfs::rss_kib(pid)?;
        eprintln!(
            "{created} objects: {:.0} creates/s, GET p50 {} ms, LIST 100 p50 {} ms, LIST all p50 {} ms ({} bytes), RSS {:.1} MiB",
            phase.rate(),
            ms(get_phase.quantile(0.5)),
            ms(page_phase.quantile(0.5)),
            ms(full_phase.quantile(0.5)),
            full_bytes,
            rss as f64 / 1024.0
        );
        points.push(ObjectPoint {
            objects: created,
            create_rate: phase.rate(),
            get: get_phase,
            page: page_phase,
            full: full_phase,
            full_bytes,
            rss_created_kib,
            rss_kib: rss,
        });
    }
    Ok(points)
}

async fn watcher_curve(
    args: &GrowthArgs,
    pki: &Pki,
    server: &ServerProcess,
) -> anyhow::Result<Vec<WatcherPoint>> {
    let pid = server.pid().context("the server exited")?;
    let endpoint = Endpoint::new(&server.url, pki, Protocol::H2)?;
    let mut writer = endpoint.connect(1).await?.pop().context("no connection")?;
    writer
        .expect(
            &Method::POST,
            "/api/v1/namespaces",
            Some(cluster::namespace(NS_WATCH)),
            201,
        )
        .await?;
    let collection = format!("/api/v1/namespaces/{NS_WATCH}/configmaps");
    let mut points = Vec::new();
    for &watchers in &args.watchers {
        let (events, interval) = watch::pacing(watchers, None, None);
        let rss_idle_kib = procfs::rss_kib(pid)?;
        let m = watch::measure_events(
            &endpoint,
            &mut writer,
            &collection,
            &configmap,
            watchers,
            args.per_connection,
            events,
            interval,
            &format!("w{watchers}-"),
            &[pid],
        )
        .await
        .with_context(|| format!("{watchers} watchers"))?;
        let rss_kib = m.rss_after.first().copied().unwrap_or_default();
        points.push(WatcherPoint {
            watchers,
            p50: crate::measure::percentile(&m.latencies, 0.5),
            p99: crate::measure::percentile(&m.latencies, 0.99),
            rss_idle_kib,
            rss_kib,
        });
        // Let the closed watches' tasks end before the next level.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(points)
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn markdown(args: &GrowthArgs, objects: &[ObjectPoint], watchers: &[WatcherPoint]) -> String {
    let mut out = String::new();
    let dur = |a: &Duration, b: &Duration| a.cmp(b);
    let _ = writeln!(
        out,
        "| objects | creates/s on the way, {} clients (min / median / max) | GET p50 ms | GET p99 ms | LIST limit=100 p50 ms | LIST all p50 ms | LIST all, MiB | RSS MiB after the creates | RSS MiB after the LISTs |",
        args.clients
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    for target in checkpoints(args.max_objects) {
        let p: Vec<&ObjectPoint> = objects.iter().filter(|p| p.objects == target).collect();
        if p.is_empty() {
            continue;
        }
        let d = |f: fn(&ObjectPoint) -> Duration| p.iter().map(|p| f(p)).collect::<Vec<_>>();
        let rates: Vec<f64> = p.iter().map(|p| p.create_rate).collect();
        let rss: Vec<u64> = p.iter().map(|p| p.rss_kib).collect();
        let rss_created: Vec<u64> = p.iter().map(|p| p.rss_created_kib).collect();
        let bytes = p.first().map(|p| p.full_bytes).unwrap_or_default();
        let _ = writeln!(
            out,
            "| {target} | {} | {} | {} | {} | {} | {:.1} | {} | {} |",
            spread_text(&rates, f64::total_cmp, |v| format!("{v:.0}")),
            spread_text(&d(|p| p.get.quantile(0.5)), dur, ms),
            spread_text(&d(|p| p.get.quantile(0.99)), dur, ms),
            spread_text(&d(|p| p.page.quantile(0.5)), dur, ms),
            spread_text(&d(|p| p.full.quantile(0.5)), dur, ms),
            bytes as f64 / (1024.0 * 1024.0),
            spread_text(&rss_created, u64::cmp, mib),
            spread_text(&rss, u64::cmp, mib),
        );
    }
    if !watchers.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "| watchers | events × watchers | p50 ms (min / median / max) | p99 ms (min / median / max) | RSS MiB before the watches | RSS MiB with the watches open |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        for &n in &args.watchers {
            let p: Vec<&WatcherPoint> = watchers.iter().filter(|p| p.watchers == n).collect();
            if p.is_empty() {
                continue;
            }
            let (events, interval) = watch::pacing(n, None, None);
            let idle: Vec<u64> = p.iter().map(|p| p.rss_idle_kib).collect();
            let open: Vec<u64> = p.iter().map(|p| p.rss_kib).collect();
            let _ = writeln!(
                out,
                "| {n} | {events} × {n}, {} ms apart | {} | {} | {} | {} |",
                interval.as_millis(),
                spread_text(&p.iter().map(|p| p.p50).collect::<Vec<_>>(), dur, ms),
                spread_text(&p.iter().map(|p| p.p99).collect::<Vec<_>>(), dur, ms),
                spread_text(&idle, u64::cmp, mib),
                spread_text(&open, u64::cmp, mib),
            );
        }
    }
    out
}

/// The median over rounds of `f` at each x.
fn medians<T>(
    points: &[T],
    xs: &[usize],
    x: fn(&T) -> usize,
    f: impl Fn(&T) -> f64,
) -> Vec<(f64, f64)> {
    xs.iter()
        .filter_map(|&at| {
            let v: Vec<f64> = points.iter().filter(|p| x(p) == at).map(&f).collect();
            (!v.is_empty()).then(|| (at as f64, spread(v, f64::total_cmp).1))
        })
        .collect()
}

fn plots(
    dir: &Path,
    objects: &[ObjectPoint],
    watchers: &[WatcherPoint],
) -> anyhow::Result<Vec<String>> {
    let mut written = Vec::new();
    let ms_of = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut draw = |file: &str, labels: Labels<'_>, series: Vec<Series>| -> anyhow::Result<()> {
        if series.iter().all(|s| s.points.is_empty()) {
            return Ok(());
        }
        let path = dir.join(file);
        plot::line_chart(&path, labels, &series)?;
        written.push(path.display().to_string());
        Ok(())
    };
    let mut xs: Vec<usize> = objects.iter().map(|p| p.objects).collect();
    xs.sort_unstable();
    xs.dedup();
    let ox = |p: &ObjectPoint| p.objects;
    draw(
        "growth-objects-get.png",
        Labels {
            title: "GET of one ConfigMap vs objects stored (1 client, median of rounds)",
            x: "ConfigMaps stored",
            y: "latency, ms",
        },
        vec![
            Series {
                label: "GET p50".into(),
                points: medians(objects, &xs, ox, |p| ms_of(p.get.quantile(0.5))),
            },
            Series {
                label: "GET p99".into(),
                points: medians(objects, &xs, ox, |p| ms_of(p.get.quantile(0.99))),
            },
        ],
    )?;
    draw(
        "growth-objects-list-page.png",
        Labels {
            title: "LIST with limit=100 vs objects stored (1 client, median of rounds)",
            x: "ConfigMaps stored",
            y: "latency, ms",
        },
        vec![
            Series {
                label: "LIST limit=100 p50".into(),
                points: medians(objects, &xs, ox, |p| ms_of(p.page.quantile(0.5))),
            },
            Series {
                label: "LIST limit=100 p99".into(),
                points: medians(objects, &xs, ox, |p| ms_of(p.page.quantile(0.99))),
            },
        ],
    )?;
    draw(
        "growth-objects-list-all.png",
        Labels {
            title: "LIST of every ConfigMap vs objects stored (1 client, median of rounds)",
            x: "ConfigMaps stored",
            y: "latency, ms",
        },
        vec![Series {
            label: "LIST all p50".into(),
            points: medians(objects, &xs, ox, |p| ms_of(p.full.quantile(0.5))),
        }],
    )?;
    draw(
        "growth-objects-create.png",
        Labels {
            title: "CREATE throughput on the way to N objects (16 clients, median of rounds)",
            x: "ConfigMaps stored at the end of the step",
            y: "creates per second",
        },
        vec![Series {
            label: "creates/s".into(),
            points: medians(objects, &xs, ox, |p| p.create_rate),
        }],
    )?;
    draw(
        "growth-objects-rss.png",
        Labels {
            title: "Server RSS vs objects stored (median of rounds)",
            x: "ConfigMaps stored",
            y: "RSS, MiB",
        },
        vec![
            Series {
                label: "VmRSS after the creates".into(),
                points: medians(objects, &xs, ox, |p| p.rss_created_kib as f64 / 1024.0),
            },
            Series {
                label: "VmRSS after GETs, LISTs of 100 and 3 LISTs of all".into(),
                points: medians(objects, &xs, ox, |p| p.rss_kib as f64 / 1024.0),
            },
        ],
    )?;
    let mut ws: Vec<usize> = watchers.iter().map(|p| p.watchers).collect();
    ws.sort_unstable();
    ws.dedup();
    let wx = |p: &WatcherPoint| p.watchers;
    draw(
        "growth-watchers-latency.png",
        Labels {
            title: "Watch event latency vs watchers (median of rounds)",
            x: "concurrent watchers",
            y: "latency, ms",
        },
        vec![
            Series {
                label: "p50".into(),
                points: medians(watchers, &ws, wx, |p| ms_of(p.p50)),
            },
            Series {
                label: "p99".into(),
                points: medians(watchers, &ws, wx, |p| ms_of(p.p99)),
            },
        ],
    )?;
    draw(
        "growth-watchers-rss.png",
        Labels {
            title: "Server RSS vs watchers (watches open, median of rounds)",
            x: "concurrent watchers",
            y: "RSS, MiB",
        },
        vec![Series {
            label: "VmRSS".into(),
            points: medians(watchers, &ws, wx, |p| p.rss_kib as f64 / 1024.0),
        }],
    )?;
    Ok(written)
}

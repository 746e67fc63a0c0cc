//! `skewless-bench hop`: what the Mixed Version Proxy's peer hop costs.
//!
//! Two servers on one shared SQLite file: A with `batch/v1` disabled, B
//! serving it, and one Job. The same GET of that Job goes three ways:
//! directly to B, to A (which proxies it to B), and through a private
//! nginx in front of B (TLS on both sides, upstream keep-alive) as the
//! reference cost of a plain proxy hop. The three are interleaved in
//! blocks (the order rotating per block) so background load on this shared
//! machine hits them alike; each concurrency level (1, 16, 64 clients by
//! default) is measured on connections opened before timing.
//!
//! It reports each path's throughput and latency, the ratios to the direct
//! path with the microseconds the hop adds, and A's own view of the hop:
//! the mean of its `skewless_peer_proxy_response_seconds` histogram (time
//! from handing the request to B until B's response headers arrived).
//! It never changes the servers it measures.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use http::Method;
use skewless_testkit::Pki;

use crate::client::{Connection, Endpoint, Protocol};
use crate::cluster::{self, Pair};
use crate::measure::{Phase, Processes, Report, drive, spread_text};
use crate::nginx::Nginx;

#[derive(Debug, clap::Args)]
pub struct HopArgs {
    /// Rounds; each starts fresh servers (and nginx).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// The `skewless` binary (default: target/release/skewless).
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// HTTP/2 multiplexed on one connection per path (as client-go), or
    /// one HTTP/1.1 connection per client.
    #[arg(long, value_enum, default_value_t = Protocol::H2)]
    pub protocol: Protocol,
    /// Concurrency levels (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [1, 16, 64])]
    pub clients: Vec<usize>,
    /// GETs per path, per concurrency level, per round.
    #[arg(long, default_value_t = 4000)]
    pub requests: usize,
    /// Interleaved blocks the requests of each path are split into.
    #[arg(long, default_value_t = 8)]
    pub blocks: usize,
    /// The nginx binary.
    #[arg(long, default_value = "nginx")]
    pub nginx: String,
    /// Leave nginx out.
    #[arg(long)]
    pub no_nginx: bool,
}

const NS: &str = "bench-hop";
const JOB: &str = "/apis/batch/v1/namespaces/bench-hop/jobs/target";
const WARM_UP: usize = 300;

/// The ways a GET reaches B.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Direct,
    Proxied,
    Nginx,
}

impl Path {
    fn label(self) -> &'static str {
        match self {
            Self::Direct => "direct to B",
            Self::Proxied => "via A (proxied to B)",
            Self::Nginx => "via nginx to B",
        }
    }
}

/// One round's phases per (concurrency, path), and A's hop histogram mean
/// per concurrency.
struct Round {
    phases: Vec<(usize, Path, Phase)>,
    a_hop_mean: Vec<(usize, Option<Duration>)>,
}

/// Per-round figures of one hop compared with the direct path.
#[derive(Debug, Clone, Copy)]
struct Ratio {
    p50: f64,
    p99: f64,
    throughput: f64,
    added_p50: f64,
    added_p99: f64,
}

fn clients_label(n: usize) -> String {
    if n == 1 {
        "1 client".into()
    } else {
        format!("{n} clients")
    }
}

pub async fn run(args: HopArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.runs > 0, "--runs must be at least 1");
    anyhow::ensure!(args.blocks > 0, "--blocks must be at least 1");
    anyhow::ensure!(
        !args.clients.is_empty() && args.clients.iter().all(|&c| c > 0),
        "--clients needs positive numbers"
    );
    let binary = cluster::binary(args.binary.as_deref())?;
    let pki = Pki::generate();
    let mut rounds = Vec::new();
    for run in 0..args.runs {
        rounds.push(
            one_round(&args, &binary, &pki)
                .await
                .with_context(|| format!("round {}", run + 1))?,
        );
        eprintln!("hop round {}/{} done", run + 1, args.runs);
    }
    print!("{}", markdown(&args, &rounds));
    Ok(())
}

async fn one_round(args: &HopArgs, binary: &std::path::Path, pki: &Pki) -> anyhow::Result<Round> {
    let pair = Pair::start(binary, pki, &["--runtime-config=batch/v1=false"], &[]).await?;
    match measure(args, pki, &pair).await {
        Ok(r) => Ok(r),
        Err(e) => bail!("{e:#}\n{}", pair.logs()),
    }
}

async fn measure(args: &HopArgs, pki: &Pki, pair: &Pair) -> anyhow::Result<Round> {
    let a_pid = pair.a.pid().context("server A exited")?;
    let b_pid = pair.b.pid().context("server B exited")?;
    let max_clients = args.clients.iter().copied().max().unwrap_or(1);

    let direct = Endpoint::new(&pair.b.url, pki, args.protocol)?;
    let mut setup = direct.connect(1).await?;
    setup[0]
        .expect(
            &Method::POST,
            "/api/v1/namespaces",
            Some(cluster::namespace(NS)),
            201,
        )
        .await?;
    setup[0]
        .expect(
            &Method::POST,
            &format!("/apis/batch/v1/namespaces/{NS}/jobs"),
            Some(cluster::job("target", None)),
            201,
        )
        .await?;
    cluster::wait_for_200(&pair.a.url, pki, JOB, Duration::from_secs(15)).await?;

    let nginx = if args.no_nginx {
        None
    } else {
        let upstream = pair.b.url.trim_start_matches("https://");
        Some(Nginx::start(&args.nginx, pki, upstream).await?)
    };
    let mut paths: Vec<(Path, Vec<Connection>, Processes)> = vec![
        (
            Path::Direct,
            direct.connect(max_clients).await?,
            Processes {
                server: b_pid,
                storage: None,
            },
        ),
        (
            Path::Proxied,
            Endpoint::new(&pair.a.url, pki, args.protocol)?
                .connect(max_clients)
                .await?,
            Processes {
                server: b_pid,
                storage: Some(a_pid),
            },
        ),
    ];
    if let Some(n) = &nginx {
        paths.push((
            Path::Nginx,
            Endpoint::new(&n.url, pki, args.protocol)?
                .connect(max_clients)
                .await?,
            Processes {
                server: b_pid,
                storage: n.pid(),
            },
        ));
    }
    let get = async |c: &mut Connection, _| c.expect(&Method::GET, JOB, None, 200).await.map(drop);
    let mut round = Round {
        phases: Vec::new(),
        a_hop_mean: Vec::new(),
    };
    let per_block = (args.requests / args.blocks).max(1);
    for &clients in &args.clients {
        for (_, conns, processes) in &mut paths {
            drive(conns, clients, WARM_UP.max(clients), *processes, get).await?;
        }
        let before = hop_histogram(&mut setup_conn(&pair.a.url, pki).await?).await?;
        let mut totals: Vec<Phase> = paths.iter().map(|_| Phase::empty()).collect();
        for block in 0..args.blocks {
            for k in 0..paths.len() {
                let i = (block + k) % paths.len();
                let (_, conns, processes) = &mut paths[i];
                let phase = drive(conns, clients, per_block, *processes, get).await?;
                totals[i].absorb(phase);
            }
        }
        let after = hop_histogram(&mut setup_conn(&pair.a.url, pki).await?).await?;
        let mean = (after.1 > before.1)
            .then(|| Duration::from_secs_f64((after.0 - before.0) / (after.1 - before.1) as f64));
        round.a_hop_mean.push((clients, mean));
        for ((path, _, _), phase) in paths.iter().zip(totals) {
            round.phases.push((clients, *path, phase));
        }
    }
    if let Some(n) = &nginx {
        let log = n.error_log();
        if log.contains("[error]") || log.contains("[crit]") {
            eprintln!("nginx reported errors:\n{log}");
        }
    }
    Ok(round)
}

async fn setup_conn(url: &str, pki: &Pki) -> anyhow::Result<Connection> {
    Endpoint::new(url, pki, Protocol::Http1)?
        .connect(1)
        .await?
        .pop()
        .context("no connection")
}

/// Sum (seconds) and count of A's `skewless_peer_proxy_response_seconds`
/// for Jobs.
async fn hop_histogram(conn: &mut Connection) -> anyhow::Result<(f64, u64)> {
    let text = conn.expect(&Method::GET, "/metrics", None, 200).await?;
    let text = String::from_utf8_lossy(&text);
    let labels = "{group=\"batch\",version=\"v1\",resource=\"jobs\"}";
    let value = |name: &str| {
        let prefix = format!("skewless_peer_proxy_response_seconds_{name}{labels} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .map(str::trim)
            .and_then(|v| v.parse::<f64>().ok())
    };
    Ok((
        value("sum").unwrap_or(0.0),
        value("count").unwrap_or(0.0) as u64,
    ))
}

fn ratio(hop: &Phase, direct: &Phase) -> Ratio {
    let (h50, h99) = (hop.quantile(0.5), hop.quantile(0.99));
    let (d50, d99) = (direct.quantile(0.5), direct.quantile(0.99));
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    Ratio {
        p50: us(h50) / us(d50).max(f64::MIN_POSITIVE),
        p99: us(h99) / us(d99).max(f64::MIN_POSITIVE),
        throughput: hop.rate() / direct.rate(),
        added_p50: us(h50) - us(d50),
        added_p99: us(h99) - us(d99),
    }
}

fn markdown(args: &HopArgs, rounds: &[Round]) -> String {
    let mut report = Report::new(format!("GET of one Job, {}", args.protocol.label()))
        .with_cpu_names("B", "front");
    let mut paths = vec![Path::Direct, Path::Proxied];
    if !args.no_nginx {
        paths.push(Path::Nginx);
    }
    for &clients in &args.clients {
        for &path in &paths {
            for round in rounds {
                for (c, p, phase) in &round.phases {
                    if *c == clients && *p == path {
                        report.record(
                            &format!("{}, {}", clients_label(clients), path.label()),
                            phase,
                        );
                    }
                }
            }
        }
    }
    let mut out = report.markdown();
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| hop vs direct | p50 ratio (min / median / max) | p99 ratio | throughput ratio | added p50 µs | added p99 µs | A's wait for B's headers, mean µs |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    let f2 = |v: f64| format!("{v:.2}");
    let f0 = |v: f64| format!("{v:.0}");
    for &clients in &args.clients {
        for &path in &paths[1..] {
            let ratios: Vec<Ratio> = rounds
                .iter()
                .filter_map(|round| {
                    let find = |want: Path| {
                        round
                            .phases
                            .iter()
                            .find(|(c, p, _)| *c == clients && *p == want)
                            .map(|(_, _, phase)| phase)
                    };
                    Some(ratio(find(path)?, find(Path::Direct)?))
                })
                .collect();
            let pick = |f: fn(&Ratio) -> f64| ratios.iter().map(f).collect::<Vec<f64>>();
            let hop_mean = if path == Path::Proxied {
                let means: Vec<f64> = rounds
                    .iter()
                    .flat_map(|r| &r.a_hop_mean)
                    .filter(|(c, _)| *c == clients)
                    .filter_map(|(_, m)| m.map(|m| m.as_secs_f64() * 1e6))
                    .collect();
                spread_text(&means, f64::total_cmp, f0)
            } else {
                "—".into()
            };
            let _ = writeln!(
                out,
                "| {}, {} | {} | {} | {} | {} | {} | {hop_mean} |",
                clients_label(clients),
                path.label(),
                spread_text(&pick(|r| r.p50), f64::total_cmp, f2),
                spread_text(&pick(|r| r.p99), f64::total_cmp, f2),
                spread_text(&pick(|r| r.throughput), f64::total_cmp, f2),
                spread_text(&pick(|r| r.added_p50), f64::total_cmp, f0),
                spread_text(&pick(|r| r.added_p99), f64::total_cmp, f0),
            );
        }
    }
    out
}

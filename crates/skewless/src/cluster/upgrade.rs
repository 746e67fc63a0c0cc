//! `skewless cluster upgrade --to <version>`: a rolling upgrade (or
//! rollback) rehearsed under live traffic.
//!
//! Phases: `before` (all servers up), one per replaced server, `after`.
//! Replacing a server: the probe stops sending through it and its
//! in-flight requests drain; SIGTERM; wait for it to exit (it deletes its
//! identity lease); start it again with the same ID, port, data and
//! runtime config at the target version; wait for `/readyz`; send traffic
//! through it again; once every live server's merged discovery lists what
//! it serves (with the proxy on), count its resources as existing; settle.
//!
//! The exit code is non-zero when the probe saw any false 404, unexpected
//! 5xx or other error (see [`super::probe`] for what counts). Ctrl-C
//! finishes the replacement under way, then reports what was seen.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use skewless_apimachinery::catalog::EmulatedVersion;

use super::discovery::{self, ProxyCounters, Served, wait_merged};
use super::probe::{Probe, ProbeTarget};
use super::process::{self, Stopped};
use super::report::{PhaseExtra, Report, StopRecord};
use super::state::{Layout, proxy_enabled};
use skewless_local::Client;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// The version every server ends at (1.36 to upgrade, 1.35 to roll back).
    #[arg(long)]
    to: String,
    /// Probe requests per second, across all servers.
    #[arg(long, default_value_t = 40.0)]
    rate: f64,
    /// How long the probe runs before the first replacement and after the last.
    #[arg(long, default_value = "5s", value_parser = crate::duration::parse_duration)]
    phase_duration: Duration,
    /// How long the probe keeps going after a replaced server is back,
    /// before the next replacement.
    #[arg(long, default_value = "2s", value_parser = crate::duration::parse_duration)]
    settle: Duration,
    /// Report format (progress always goes to stderr).
    #[arg(long, value_enum, default_value = "text")]
    report: ReportFormat,
    /// How long a server may take to stop, and to become ready again.
    #[arg(long, default_value = "60s", value_parser = crate::duration::parse_duration)]
    timeout: Duration,
    /// Stop each replaced server with SIGKILL instead of SIGTERM: no clean
    /// shutdown, its identity Lease stays until it expires.
    #[arg(long, conflicts_with = "hang")]
    kill: bool,
    /// Hang each replaced server (SIGSTOP) for this long before killing it
    /// (SIGKILL): peers see a server that accepts connections and answers
    /// nothing.
    #[arg(long, value_parser = crate::duration::parse_duration)]
    hang: Option<Duration>,
}

/// How long every server's merged discovery may take to list a restarted
/// server's resources.
const CONVERGENCE_TIMEOUT: Duration = Duration::from_secs(20);

/// Proxy counter readings, to turn into per-phase increases.
struct Counters {
    last: Vec<Option<ProxyCounters>>,
}

impl Counters {
    /// Adds what server `i` counted since the last reading to `extra`.
    async fn sample(&mut self, i: usize, client: &Client, extra: &mut PhaseExtra) {
        let Ok(now) = discovery::proxy_counters(client).await else {
            return;
        };
        if let Some(before) = self.last[i] {
            extra.rerouted += now.rerouted_out.saturating_sub(before.rerouted_out);
            extra.received += now.proxied_in.saturating_sub(before.proxied_in);
        }
        self.last[i] = Some(now);
    }
}

async fn local_view(client: &Client) -> anyhow::Result<(Served, Served)> {
    Ok((
        discovery::served(client, discovery::NOPEER).await?,
        discovery::served_with(client, discovery::NOPEER, Some("list")).await?,
    ))
}

pub async fn run(layout: &Layout, args: UpgradeArgs) -> anyhow::Result<ExitCode> {
    let target = EmulatedVersion::parse(&args.to)
        .map_err(|e| anyhow::anyhow!("--to: {e}"))?
        .to_string();
    if !(args.rate > 0.0 && args.rate <= 10_000.0) {
        bail!("--rate must be between 0 and 10000 requests per second");
    }
    let _lock = layout.lock()?;
    let mut state = layout.load_existing()?;
    let creds = layout.credentials()?;
    let clients: Vec<Client> = state.servers.iter().map(|s| creds.client(s.port)).collect();
    for (s, c) in state.servers.iter().zip(&clients) {
        if process::running_pid(s).is_none() {
            bail!(
                "{} is not running: start the cluster first (`skewless cluster up`)",
                s.id
            );
        }
        let ready = c.get("/readyz", Duration::from_secs(5)).await;
        if !ready.as_ref().is_ok_and(|r| r.status == 200) {
            bail!(
                "{} ({}) is not ready; see `skewless cluster status`",
                s.id,
                s.url()
            );
        }
    }
    let to_replace: Vec<usize> = (0..state.servers.len())
        .filter(|i| state.servers[*i].version != target)
        .collect();
    if to_replace.is_empty() {
        eprintln!("every server is already at {target}: nothing to replace");
    }
    let proxy = proxy_enabled(&state.feature_gates);
    let ids: Vec<String> = state.servers.iter().map(|s| s.id.clone()).collect();

    let mut targets = Vec::new();
    for (s, c) in state.servers.iter().zip(&clients) {
        let (served, listable) = local_view(c)
            .await
            .with_context(|| format!("reading {}'s discovery", s.id))?;
        targets.push(ProbeTarget {
            id: s.id.clone(),
            client: c.clone(),
            served,
            listable,
        });
    }
    let union: Served = targets
        .iter()
        .flat_map(|t| t.served.iter().cloned())
        .collect();
    if proxy
        && wait_merged(&clients, &union, CONVERGENCE_TIMEOUT)
            .await
            .is_none()
    {
        eprintln!("warning: the servers' merged discovery does not agree yet");
    }

    let interrupted = tokio::sync::watch::Sender::new(false);
    {
        let tx = interrupted.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("interrupted: finishing the replacement under way, then reporting");
                tx.send_replace(true);
            }
        });
    }

    let mut counters = Counters {
        last: vec![None; clients.len()],
    };
    for (i, c) in clients.iter().enumerate() {
        counters.sample(i, c, &mut PhaseExtra::default()).await;
    }
    let mut extras: Vec<PhaseExtra> = Vec::new();
    let mut current = PhaseExtra::default();
    eprintln!(
        "probe: {} requests/s through {} servers (reads, writes and watches); phase before for {:?}",
        args.rate,
        clients.len(),
        args.phase_duration
    );
    let probe = Probe::start(targets, args.rate, "before").await?;
    tokio::time::sleep(args.phase_duration).await;

    let mut failure: Option<anyhow::Error> = None;
    for &i in &to_replace {
        if *interrupted.borrow() {
            break;
        }
        let from = state.servers[i].version.clone();
        let id = state.servers[i].id.clone();
        for (j, c) in clients.iter().enumerate() {
            if process::running_pid(&state.servers[j]).is_some() {
                counters.sample(j, c, &mut current).await;
            }
        }
        extras.push(std::mem::take(&mut current));
        probe.begin_phase(&format!("replace {id} {from}->{target}"));
        eprintln!("replacing {id} ({from} -> {target})");
        match replace(
            layout,
            &mut state,
            i,
            &target,
            &clients,
            &probe,
            &mut counters,
            &mut current,
            &args,
            proxy,
        )
        .await
        {
            Ok(()) => {}
            Err(e) => {
                failure = Some(e.context(format!("replacing {id}")));
                break;
            }
        }
        tokio::time::sleep(args.settle).await;
    }
    if failure.is_none() && !*interrupted.borrow() {
        for (j, c) in clients.iter().enumerate() {
            counters.sample(j, c, &mut current).await;
        }
        extras.push(std::mem::take(&mut current));
        probe.begin_phase("after");
        eprintln!("phase after for {:?}", args.phase_duration);
        tokio::time::sleep(args.phase_duration).await;
    }
    for (j, c) in clients.iter().enumerate() {
        if process::running_pid(&state.servers[j]).is_some() {
            counters.sample(j, c, &mut current).await;
        }
    }
    extras.push(current);
    let finished = probe.finish().await;
    let report = Report::build(&target, args.rate, proxy, &ids, finished, &extras);
    match args.report {
        ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        ReportFormat::Text => report.print_text(),
    }
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Replaces server `i` with one at `target`, as the module doc says. When
/// the new server does not become ready, starts the old version again so
/// the cluster stays whole, and fails.
#[allow(clippy::too_many_arguments)]
async fn replace(
    layout: &Layout,
    state: &mut super::state::ClusterState,
    i: usize,
    target: &str,
    clients: &[Client],
    probe: &Probe,
    counters: &mut Counters,
    extra: &mut PhaseExtra,
    args: &UpgradeArgs,
    proxy: bool,
) -> anyhow::Result<()> {
    let id = state.servers[i].id.clone();
    let from = state.servers[i].version.clone();
    probe.mark_down(i).await;
    counters.sample(i, &clients[i], extra).await;
    let pid = process::running_pid(&state.servers[i])
        .with_context(|| format!("{id} is no longer running"))?;
    state.servers[i].restarting = true;
    layout.save(state)?;
    let stopping = Instant::now();
    let stopped = if let Some(hang) = args.hang {
        eprintln!("  hanging {id} (SIGSTOP) for {:.1}s", hang.as_secs_f64());
        process::signal(pid, process::Signal::STOP)?;
        tokio::time::sleep(hang).await;
        process::stop_now(pid).await?
    } else if args.kill {
        process::stop_now(pid).await?
    } else {
        process::stop(pid, args.timeout).await?
    };
    let seconds = stopping.elapsed().as_secs_f64();
    extra.stops.push(StopRecord {
        server: id.clone(),
        seconds,
        killed: stopped == Stopped::Killed,
    });
    if stopped == Stopped::Killed && (args.kill || args.hang.is_some()) {
        eprintln!("  killed (SIGKILL) after {seconds:.1}s");
        extra.notes.push(format!(
            "{id} was killed after {seconds:.1}s{} (its identity lease remains until it expires or it restarts)",
            if args.hang.is_some() { ", hung until then" } else { "" }
        ));
    } else if stopped == Stopped::Killed {
        eprintln!("  did not stop within {:?}; killed", args.timeout);
        extra.notes.push(format!(
            "{id} did not stop within {:?} and was killed (its identity lease remains until it expires)",
            args.timeout
        ));
    } else {
        eprintln!("  stopped in {seconds:.1}s");
        extra
            .notes
            .push(format!("{id} stopped cleanly in {seconds:.1}s"));
    }
    state.servers[i].pid = None;

    let took = match start(layout, state, i, target, &clients[i], args.timeout).await {
        Ok(took) => took,
        Err(e) => {
            eprintln!("  {id} did not start at {target}; starting it again at {from}");
            let restored = start(layout, state, i, &from, &clients[i], args.timeout).await;
            state.servers[i].restarting = false;
            layout.save(state)?;
            if restored.is_ok() {
                counters.last[i] = Some(ProxyCounters::default());
                probe.mark_up(i).await;
                if let Ok((served, listable)) = local_view(&clients[i]).await {
                    probe.adopt(i, served, listable);
                }
                extra.notes.push(format!(
                    "{id} failed to start at {target}; restored at {from}"
                ));
            }
            return Err(e.context(format!("starting {id} at {target}")));
        }
    };
    counters.last[i] = Some(ProxyCounters::default());
    eprintln!(
        "  {id} is ready at {target} after {:.1}s",
        took.as_secs_f64()
    );
    extra.notes.push(format!(
        "{id} ready at {target} after {:.1}s",
        took.as_secs_f64()
    ));
    probe.mark_up(i).await;

    let (served, listable) = local_view(&clients[i]).await?;
    if proxy {
        let live: Vec<Client> = (0..clients.len())
            .filter(|j| process::running_pid(&state.servers[*j]).is_some())
            .map(|j| clients[j].clone())
            .collect();
        let mut union = served.clone();
        for c in &live {
            if let Ok(s) = discovery::served(c, discovery::NOPEER).await {
                union.extend(s);
            }
        }
        let begun = Instant::now();
        match wait_merged(&live, &union, CONVERGENCE_TIMEOUT).await {
            Some(took) => extra.notes.push(format!(
                "merged discovery on every server listed {id}'s resources {:.1}s after it was ready",
                took.as_secs_f64()
            )),
            None => extra.notes.push(format!(
                "merged discovery did not list {id}'s resources on every server within {:.0}s",
                begun.elapsed().as_secs_f64()
            )),
        }
    }
    probe.adopt(i, served, listable);
    Ok(())
}

/// Starts server `i` at `version` on its port and data, and waits until it
/// is ready; records the process in the state file.
async fn start(
    layout: &Layout,
    state: &mut super::state::ClusterState,
    i: usize,
    version: &str,
    client: &Client,
    timeout: Duration,
) -> anyhow::Result<Duration> {
    state.servers[i].version = version.to_owned();
    let server = state.servers[i].clone();
    let started = process::spawn(layout, state, &server, server.port)?;
    state.servers[i].pid = Some(started.pid);
    layout.save(state)?;
    let ready = process::wait_ready(client, started.pid, &layout.log(&server.id), timeout).await;
    if ready.is_err() && process::alive(started.pid) {
        let _ = process::stop(started.pid, Duration::from_secs(10)).await;
    }
    if ready.is_err() {
        state.servers[i].pid = None;
        layout.save(state)?;
    } else {
        state.servers[i].restarting = false;
        layout.save(state)?;
    }
    ready
}

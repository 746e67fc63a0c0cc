//! `skewless cluster upgrade --to <version>`: a rolling upgrade (or
//! rollback) rehearsed under live traffic.
//!
//! An upgrade goes one minor version at a time ([`super::skew`]): each step
//! replaces every server before the next step begins. `--binary` replaces
//! the servers with another skewless build. `--canary N` replaces only N
//! servers of the first step and holds (recorded in the state file) until
//! `--continue` (the rest, every step) or `--abort` (the canaries go back
//! to what they ran). `--run CMD` runs the user's command through it all
//! ([`super::workload`]).
//!
//! Phases: `before` (all servers up), one per replaced server, then
//! `after` (or the held canary phase).
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

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use skewless_apimachinery::catalog::EmulatedVersion;

use super::discovery::{self, ProxyCounters, Served, wait_merged};
use super::probe::{Probe, ProbeTarget};
use super::process::{self, Stopped};
use super::report::{PhaseExtra, Report, ServerEvent, StopRecord};
use super::skew;
use super::state::{Canary, ClusterState, HeldUpgrade, Layout, ServerState, proxy_enabled};
use super::workload::Workload;
use skewless_local::Client;

/// Where the report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportFormat {
    Text,
    Json,
    /// The text report on stdout, and a self-contained HTML page at this
    /// path (`<state-dir>/upgrade-report.html` when none is given).
    Html(Option<PathBuf>),
}

fn parse_report(s: &str) -> Result<ReportFormat, String> {
    match s {
        "text" => Ok(ReportFormat::Text),
        "json" => Ok(ReportFormat::Json),
        "html" => Ok(ReportFormat::Html(None)),
        _ => match s.strip_prefix("html=") {
            Some(path) if !path.is_empty() => Ok(ReportFormat::Html(Some(PathBuf::from(path)))),
            _ => Err(format!(
                "{s:?} is not a report format: text, json, html or html=PATH"
            )),
        },
    }
}

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// The version every server ends at: newer to upgrade, older to roll
    /// back; either goes one minor version at a time [default with
    /// --binary: each server keeps its version].
    #[arg(long, required_unless_present_any = ["binary", "resume", "abort"])]
    to: Option<String>,
    /// Replace the servers with this skewless build (another release of
    /// skewless) instead of keeping each server's binary.
    #[arg(long, value_name = "PATH")]
    binary: Option<String>,
    /// Replace only this many servers (of the first step), then hold: the
    /// command ends leaving the cluster mixed, until `--continue` or
    /// `--abort`.
    #[arg(long, value_name = "N")]
    canary: Option<usize>,
    /// Finish an upgrade held after its canaries.
    #[arg(long = "continue", conflicts_with_all = ["to", "binary", "canary", "abort"])]
    resume: bool,
    /// Roll the canaries of a held upgrade back to what they ran before.
    #[arg(long, conflicts_with_all = ["to", "binary", "canary"])]
    abort: bool,
    /// Run this command (with `sh -c`) over and over through the upgrade,
    /// with KUBECONFIG set to a kubeconfig whose current context is the
    /// next live server in turn; its failures are reported per phase.
    #[arg(long, value_name = "CMD")]
    run: Option<String>,
    /// How long one run of `--run` may take before it is killed (and
    /// counted as failed); the rehearsal waits for the last run to end.
    #[arg(long, default_value = "2m", value_parser = crate::duration::parse_duration)]
    run_timeout: Duration,
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
    /// Report format: text, json, html or html=PATH (progress always goes
    /// to stderr).
    #[arg(long, default_value = "text", value_parser = parse_report)]
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

/// One server replaced: with which version and which binary (`None`: the
/// binary running `cluster`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Replacement {
    server: usize,
    version: String,
    binary: Option<PathBuf>,
}

/// A rolling step: every replacement it makes, in order.
#[derive(Debug, Clone)]
struct Step {
    /// As phases show it: `1.35->1.36`, `abort`, ...
    name: String,
    replacements: Vec<Replacement>,
}

/// What the command does, from its flags and the held upgrade.
#[derive(Debug)]
struct Plan {
    /// The version the report names as the target.
    target: String,
    steps: Vec<Step>,
    /// Hold after the first step's first N replacements.
    canary: Option<usize>,
    /// The binary a held upgrade switches to.
    binary: Option<PathBuf>,
    /// Whether the held upgrade ends here (continue, abort).
    clears_hold: bool,
}

/// The steps from the servers' versions and binaries to `target` (each
/// server keeping its version when `None`) with `binary` (each keeping its
/// binary when `None`): one minor version at a time, as [`skew::steps`].
fn rolling_steps(
    servers: &[ServerState],
    target: Option<&str>,
    binary: Option<&PathBuf>,
) -> anyhow::Result<Vec<Step>> {
    let versions: Vec<&str> = servers.iter().map(|s| s.version.as_str()).collect();
    let path: Vec<Option<String>> = match target {
        Some(t) => skew::steps(&versions, t)?.into_iter().map(Some).collect(),
        None => vec![None],
    };
    let mut now: Vec<(String, Option<PathBuf>)> = servers
        .iter()
        .map(|s| (s.version.clone(), s.binary.clone()))
        .collect();
    let mut steps = Vec::new();
    for version in path {
        let mut replacements = Vec::new();
        let mut from = BTreeSet::new();
        for (i, (v, b)) in now.iter_mut().enumerate() {
            let want_v = version.clone().unwrap_or_else(|| v.clone());
            let want_b = binary.cloned().or_else(|| b.clone());
            if *v != want_v || *b != want_b {
                from.insert(v.clone());
                replacements.push(Replacement {
                    server: i,
                    version: want_v.clone(),
                    binary: want_b.clone(),
                });
                *v = want_v;
                *b = want_b;
            }
        }
        let name = match &version {
            Some(v) => format!("{}->{v}", from.into_iter().collect::<Vec<_>>().join(",")),
            None => "binary".to_owned(),
        };
        steps.push(Step { name, replacements });
    }
    Ok(steps)
}

fn plan(state: &ClusterState, args: &UpgradeArgs) -> anyhow::Result<Plan> {
    let held = state.upgrade.as_ref();
    if args.abort {
        let held = held.context("no upgrade is held: `--abort` rolls back the canaries of an upgrade held with `--canary`")?;
        let mut replacements = Vec::new();
        for c in &held.canaries {
            let i = state.server_index(&c.id)?;
            replacements.push(Replacement {
                server: i,
                version: c.version.clone(),
                binary: c.binary.clone(),
            });
        }
        let target = held
            .canaries
            .first()
            .map(|c| c.version.clone())
            .unwrap_or_else(|| held.to.clone());
        return Ok(Plan {
            target,
            steps: vec![Step {
                name: "abort".into(),
                replacements,
            }],
            canary: None,
            binary: None,
            clears_hold: true,
        });
    }
    if args.resume {
        let held = held
            .context("no upgrade is held: `--continue` finishes an upgrade held with `--canary`")?;
        return Ok(Plan {
            target: held.to.clone(),
            steps: rolling_steps(&state.servers, Some(&held.to), held.binary.as_ref())?,
            canary: None,
            binary: held.binary.clone(),
            clears_hold: true,
        });
    }
    if let Some(held) = held {
        bail!(
            "an upgrade to {} is held after its canaries ({}): finish it with `skewless cluster upgrade --continue` or roll them back with `--abort` first",
            held.to,
            held.canaries
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let target = args
        .to
        .as_deref()
        .map(|t| {
            EmulatedVersion::parse(t)
                .map(|v| v.to_string())
                .map_err(|e| anyhow::anyhow!("--to: {e}"))
        })
        .transpose()?;
    let binary = args
        .binary
        .as_deref()
        .map(super::up::executable)
        .transpose()
        .context("--binary")?;
    let steps = rolling_steps(&state.servers, target.as_deref(), binary.as_ref())?;
    if let Some(n) = args.canary {
        let first = steps.first().map_or(0, |s| s.replacements.len());
        if n == 0 || n >= first {
            bail!(
                "--canary {n}: the first step replaces {first} server(s); canary between 1 and {}",
                first.saturating_sub(1)
            );
        }
    }
    let report_target = target.clone().unwrap_or_else(|| {
        state
            .servers
            .iter()
            .map(|s| s.version.clone())
            .max()
            .unwrap_or_default()
    });
    Ok(Plan {
        target: report_target,
        steps,
        canary: args.canary,
        binary,
        clears_hold: false,
    })
}

pub async fn run(layout: &Layout, args: UpgradeArgs) -> anyhow::Result<ExitCode> {
    if !(args.rate > 0.0 && args.rate <= 10_000.0) {
        bail!("--rate must be between 0 and 10000 requests per second");
    }
    let _lock = layout.lock()?;
    let mut state = layout.load_existing()?;
    let plan = plan(&state, &args)?;
    let target = plan.target.clone();
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
    if plan.steps.iter().all(|s| s.replacements.is_empty()) {
        eprintln!("every server is already at {target}: nothing to replace");
    } else {
        let names: Vec<String> = plan
            .steps
            .iter()
            .filter(|s| !s.replacements.is_empty())
            .map(|s| s.name.clone())
            .collect();
        eprintln!("steps: {}", names.join(", then "));
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
    let mut timeline = Timeline::default();
    for s in &state.servers {
        timeline.record(&probe, s, true);
    }
    let workload = match &args.run {
        Some(cmd) => Some(Workload::start(
            layout,
            &state,
            cmd,
            args.run_timeout,
            probe.view(),
        )?),
        None => None,
    };
    tokio::time::sleep(args.phase_duration).await;

    let mut failure: Option<anyhow::Error> = None;
    let mut canaries: Vec<Canary> = Vec::new();
    'steps: for (k, step) in plan.steps.iter().enumerate() {
        for (n, r) in step.replacements.iter().enumerate() {
            if *interrupted.borrow() {
                break 'steps;
            }
            if k == 0 && plan.canary.is_some_and(|c| n >= c) {
                break 'steps;
            }
            let i = r.server;
            let from = state.servers[i].version.clone();
            let from_binary = state.servers[i].binary.clone();
            let id = state.servers[i].id.clone();
            for (j, c) in clients.iter().enumerate() {
                if process::running_pid(&state.servers[j]).is_some() {
                    counters.sample(j, c, &mut current).await;
                }
            }
            extras.push(std::mem::take(&mut current));
            current.step = step.name.clone();
            let phase = if step.name == "abort" {
                format!("abort: replace {id} {from}->{}", r.version)
            } else {
                format!("replace {id} {from}->{}", r.version)
            };
            probe.begin_phase(&phase);
            eprintln!(
                "step {}: replacing {id} ({from} -> {})",
                step.name, r.version
            );
            if r.binary != from_binary {
                current.notes.push(format!(
                    "{id} switches binary: {} -> {}",
                    binary_name(from_binary.as_deref()),
                    binary_name(r.binary.as_deref())
                ));
            }
            let mut ctx = ReplaceCtx {
                layout,
                state: &mut state,
                clients: &clients,
                probe: &probe,
                counters: &mut counters,
                extra: &mut current,
                timeline: &mut timeline,
                args: &args,
                proxy,
            };
            match replace(&mut ctx, r).await {
                Ok(()) => canaries.push(Canary {
                    id: id.clone(),
                    version: from,
                    binary: from_binary,
                }),
                Err(e) => {
                    failure = Some(e.context(format!("replacing {id}")));
                    break 'steps;
                }
            }
            tokio::time::sleep(args.settle).await;
        }
    }
    // Canaries that were replaced stay held even when a later one failed,
    // so `--abort` can roll them back.
    let held = plan.canary.is_some() && !canaries.is_empty();
    if failure.is_none() && !*interrupted.borrow() {
        for (j, c) in clients.iter().enumerate() {
            counters.sample(j, c, &mut current).await;
        }
        extras.push(std::mem::take(&mut current));
        let name = if held {
            format!("canary: {} of {} held", canaries.len(), state.servers.len())
        } else {
            "after".to_owned()
        };
        probe.begin_phase(&name);
        eprintln!("phase {name} for {:?}", args.phase_duration);
        tokio::time::sleep(args.phase_duration).await;
    }
    for (j, c) in clients.iter().enumerate() {
        if process::running_pid(&state.servers[j]).is_some() {
            counters.sample(j, c, &mut current).await;
        }
    }
    extras.push(current);
    let workload = match workload {
        Some(w) => Some(w.finish().await),
        None => None,
    };
    let finished = probe.finish().await;
    if held {
        state.upgrade = Some(HeldUpgrade {
            to: target.clone(),
            binary: plan.binary.clone(),
            canaries,
        });
        layout.save(&state)?;
        eprintln!(
            "holding: the upgrade to {target} continues with `skewless cluster upgrade --continue`, or its canaries roll back with `--abort`"
        );
    } else if plan.clears_hold && failure.is_none() && !*interrupted.borrow() {
        state.upgrade = None;
        layout.save(&state)?;
    }
    let report = Report::build(
        &target,
        args.rate,
        proxy,
        &ids,
        finished,
        &extras,
        timeline.events,
        workload,
    );
    match &args.report {
        ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        ReportFormat::Text => report.print_text(),
        ReportFormat::Html(path) => {
            let path = path
                .clone()
                .unwrap_or_else(|| layout.dir.join("upgrade-report.html"));
            std::fs::write(&path, super::html::render(&report))
                .with_context(|| format!("writing {}", path.display()))?;
            report.print_text();
            eprintln!("report written to {}", path.display());
        }
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

/// A binary as notes name it.
fn binary_name(b: Option<&std::path::Path>) -> String {
    b.map_or_else(|| "this skewless".to_owned(), |p| p.display().to_string())
}

/// Each server's version and whether it runs, over time.
#[derive(Debug, Default)]
struct Timeline {
    events: Vec<ServerEvent>,
}

impl Timeline {
    fn record(&mut self, probe: &Probe, server: &ServerState, up: bool) {
        self.events.push(ServerEvent {
            at: probe.elapsed(),
            server: server.id.clone(),
            version: server.version.clone(),
            up,
        });
    }
}

/// What a replacement works with.
struct ReplaceCtx<'a> {
    layout: &'a Layout,
    state: &'a mut ClusterState,
    clients: &'a [Client],
    probe: &'a Probe,
    counters: &'a mut Counters,
    extra: &'a mut PhaseExtra,
    timeline: &'a mut Timeline,
    args: &'a UpgradeArgs,
    proxy: bool,
}

/// Replaces a server as [`Replacement`] says, as the module doc says. When
/// the new server does not become ready, starts the old version and binary
/// again so the cluster stays whole, and fails.
async fn replace(ctx: &mut ReplaceCtx<'_>, r: &Replacement) -> anyhow::Result<()> {
    let i = r.server;
    let target = r.version.as_str();
    let (layout, args, clients, probe) = (ctx.layout, ctx.args, ctx.clients, ctx.probe);
    let id = ctx.state.servers[i].id.clone();
    let from = ctx.state.servers[i].version.clone();
    let from_binary = ctx.state.servers[i].binary.clone();
    probe.mark_down(i).await;
    ctx.counters.sample(i, &clients[i], ctx.extra).await;
    let pid = process::running_pid(&ctx.state.servers[i])
        .with_context(|| format!("{id} is no longer running"))?;
    ctx.state.servers[i].restarting = true;
    layout.save(ctx.state)?;
    ctx.timeline.record(probe, &ctx.state.servers[i], false);
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
    let extra = &mut *ctx.extra;
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
    ctx.state.servers[i].pid = None;

    let started = start(
        layout,
        ctx.state,
        i,
        target,
        r.binary.clone(),
        &clients[i],
        args.timeout,
    )
    .await;
    let took = match started {
        Ok(took) => took,
        Err(e) => {
            eprintln!("  {id} did not start at {target}; starting it again at {from}");
            let restored = start(
                layout,
                ctx.state,
                i,
                &from,
                from_binary,
                &clients[i],
                args.timeout,
            )
            .await;
            ctx.state.servers[i].restarting = false;
            layout.save(ctx.state)?;
            if restored.is_ok() {
                ctx.counters.last[i] = Some(ProxyCounters::default());
                probe.mark_up(i).await;
                ctx.timeline.record(probe, &ctx.state.servers[i], true);
                if let Ok((served, listable)) = local_view(&clients[i]).await {
                    probe.adopt(i, served, listable);
                }
                ctx.extra.notes.push(format!(
                    "{id} failed to start at {target}; restored at {from}"
                ));
            }
            return Err(e.context(format!("starting {id} at {target}")));
        }
    };
    ctx.counters.last[i] = Some(ProxyCounters::default());
    eprintln!(
        "  {id} is ready at {target} after {:.1}s",
        took.as_secs_f64()
    );
    ctx.extra.notes.push(format!(
        "{id} ready at {target} after {:.1}s",
        took.as_secs_f64()
    ));
    probe.mark_up(i).await;
    ctx.timeline.record(probe, &ctx.state.servers[i], true);

    let (served, listable) = local_view(&clients[i]).await?;
    if ctx.proxy {
        let live: Vec<Client> = (0..clients.len())
            .filter(|j| process::running_pid(&ctx.state.servers[*j]).is_some())
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
            Some(took) => ctx.extra.notes.push(format!(
                "merged discovery on every server listed {id}'s resources {:.1}s after it was ready",
                took.as_secs_f64()
            )),
            None => ctx.extra.notes.push(format!(
                "merged discovery did not list {id}'s resources on every server within {:.0}s",
                begun.elapsed().as_secs_f64()
            )),
        }
    }
    probe.adopt(i, served, listable);
    Ok(())
}

/// Starts server `i` at `version` with `binary` on its port and data, and
/// waits until it is ready; records the process in the state file.
async fn start(
    layout: &Layout,
    state: &mut ClusterState,
    i: usize,
    version: &str,
    binary: Option<PathBuf>,
    client: &Client,
    timeout: Duration,
) -> anyhow::Result<Duration> {
    state.servers[i].version = version.to_owned();
    state.servers[i].binary = binary;
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn server(id: &str, version: &str, binary: Option<&str>) -> ServerState {
        ServerState {
            id: id.into(),
            version: version.into(),
            runtime_config: String::new(),
            port: 0,
            pid: None,
            restarting: false,
            binary: binary.map(PathBuf::from),
        }
    }

    fn replaced(step: &Step) -> Vec<(usize, &str, Option<&str>)> {
        step.replacements
            .iter()
            .map(|r| {
                (
                    r.server,
                    r.version.as_str(),
                    r.binary.as_deref().and_then(|b| b.to_str()),
                )
            })
            .collect()
    }

    #[test]
    fn steps_replace_only_what_differs_and_binaries_switch_once() {
        let all: Vec<String> = EmulatedVersion::supported()
            .iter()
            .map(ToString::to_string)
            .collect();
        let (old, new) = (all[0].as_str(), all[1].as_str());
        let servers = [
            server("a", old, None),
            server("b", old, Some("/old")),
            server("c", new, None),
        ];
        let steps = rolling_steps(&servers, Some(new), None).unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].name, format!("{old}->{new}"));
        // Each keeps its binary.
        assert_eq!(
            replaced(&steps[0]),
            [(0, new, None), (1, new, Some("/old"))]
        );
        // A new binary: every server, once, at its own version.
        let bin = PathBuf::from("/new");
        let steps = rolling_steps(&servers, None, Some(&bin)).unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(
            replaced(&steps[0]),
            [
                (0, old, Some("/new")),
                (1, old, Some("/new")),
                (2, new, Some("/new"))
            ]
        );
        // Across every release: each step replaces every server.
        let newest = all[all.len() - 1].as_str();
        let steps = rolling_steps(&servers, Some(newest), Some(&bin)).unwrap();
        assert_eq!(steps.len(), all.len() - 1);
        for later in &steps[1..] {
            assert_eq!(later.replacements.len(), 3);
            assert!(
                later
                    .replacements
                    .iter()
                    .all(|r| r.binary == Some(bin.clone()))
            );
        }
    }

    #[test]
    fn report_formats() {
        assert_eq!(parse_report("json"), Ok(ReportFormat::Json));
        assert_eq!(parse_report("html"), Ok(ReportFormat::Html(None)));
        assert_eq!(
            parse_report("html=/tmp/r.html"),
            Ok(ReportFormat::Html(Some("/tmp/r.html".into())))
        );
        assert!(parse_report("html=").is_err());
        assert!(parse_report("yaml").is_err());
    }
}

//! `skewless cluster up`: resolve what to run (flags over the previous
//! run's settings over defaults), generate or reuse the PKI, start every
//! server, wait until all are ready and their merged discovery agrees,
//! write the kubeconfig, start the metrics server (`--with-metrics`), say
//! what to try, then either return (`--detach`)
//! or supervise until Ctrl-C/SIGTERM and stop everything cleanly.
//!
//! It refuses to start a second cluster on a state directory whose servers
//! still run, and never leaves a half-started cluster behind: when a
//! server fails to start, the ones already started are stopped.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use skewless_apimachinery::catalog::{EmulatedVersion, RuntimeConfig};
use skewless_local::Credentials;
use skewless_local::pki::{DEV_NAMESPACE, DEV_USER, Ensured, Pki};
use skewless_server::options::FeatureGates;

use super::discovery::{self, Served, wait_merged};
use super::display::Display;
use super::down;
use super::metrics;
use super::process;
use super::state::{
    ClusterState, FORMAT, Layout, MetricsState, ServerState, Storage, proxy_enabled,
};

/// The first server's port when none is given (kube-apiserver's).
const DEFAULT_BASE_PORT: u16 = 6443;
const DEFAULT_SERVERS: usize = 3;

#[derive(Debug, Args)]
pub struct UpArgs {
    /// How many servers [default: 3, or the previous run's].
    #[arg(long)]
    servers: Option<usize>,
    /// Each server's emulated version, comma-separated; one version applies
    /// to all; servers more than one minor apart are refused (the
    /// version-skew policy) [default: the default `--emulated-version` for
    /// the last, the release before it for the others].
    #[arg(long)]
    versions: Option<String>,
    /// `--runtime-config` of server N (1 is the first), as
    /// N=<group/version>=<bool>[,...]; without `N=`, of every server.
    /// Repeatable. Example: --runtime-config 2=batch/v1=false
    #[arg(long = "runtime-config", value_name = "[N=]CONFIG")]
    runtime_config: Vec<String>,
    /// Use etcd at these comma-separated endpoints instead of the embedded
    /// SQLite store (an empty value goes back to SQLite).
    #[arg(long)]
    etcd_servers: Option<String>,
    /// The etcd key prefix [default: /skewless/<random>, one per state directory].
    #[arg(long)]
    etcd_prefix: Option<String>,
    /// The first server's port; server N listens on base+N-1. 0 picks free
    /// ports below the ephemeral range, so a restarted server gets its port
    /// back [default: 6443, or the previous run's ports].
    #[arg(long)]
    base_port: Option<u16>,
    /// Feature gates for every server, e.g.
    /// UnknownVersionInteroperabilityProxy=false to turn the proxy off.
    #[arg(long)]
    feature_gates: Option<String>,
    /// Return once the cluster is ready, leaving it running; stop it with
    /// `skewless cluster down`.
    #[arg(long)]
    detach: bool,
    /// Also run the sample metrics server (`skewless metrics-server`) and
    /// register it as APIService v1beta1.metrics.k8s.io, so `kubectl top`
    /// works [default: the previous run's choice, else false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    with_metrics: Option<bool>,
    /// How long each server may take to become ready.
    #[arg(long, default_value = "60s", value_parser = crate::duration::parse_duration)]
    timeout: Duration,
    /// The skewless build server N runs (1 is the first), as N=PATH;
    /// without `N=`, of every server. Repeatable. Servers without one run
    /// this binary [default: the previous run's].
    #[arg(long = "binary", value_name = "[N=]PATH")]
    binary: Vec<String>,
}

/// The default versions for `n` servers: the release before the default
/// `--emulated-version` for all but the last, the default for the last
/// (one server: the default): one minor of skew, whatever releases the
/// catalog supports besides.
fn default_versions(n: usize) -> Vec<String> {
    let default = EmulatedVersion::default();
    let previous = release_before(default).unwrap_or(default);
    let (oldest, newest) = (previous.to_string(), default.to_string());
    (0..n)
        .map(|i| {
            if i + 1 == n {
                newest.clone()
            } else {
                oldest.clone()
            }
        })
        .collect()
}

/// The newest supported release older than `version`, if any.
fn release_before(version: EmulatedVersion) -> Option<EmulatedVersion> {
    EmulatedVersion::supported()
        .iter()
        .copied()
        .filter(|v| *v < version)
        .max()
}

fn parse_versions(list: &str) -> anyhow::Result<Vec<String>> {
    let versions: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| {
            EmulatedVersion::parse(v)
                .map(|v| v.to_string())
                .map_err(|e| anyhow::anyhow!("--versions: {e}"))
        })
        .collect::<anyhow::Result<_>>()?;
    if versions.is_empty() {
        bail!("--versions is empty: give at least one version, e.g. --versions 1.35,1.36");
    }
    Ok(versions)
}

/// Splits one value of a per-server `flag` given `n` servers: `i=rest`
/// targets server `i` (0-based index returned), a value without a number
/// prefix targets every server.
fn server_target<'a>(
    flag: &str,
    value: &'a str,
    n: usize,
) -> anyhow::Result<(Option<usize>, &'a str)> {
    match value.split_once('=') {
        Some((i, rest)) if !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()) => {
            let index: usize = i
                .parse()
                .with_context(|| format!("{flag} {value}: bad server number"))?;
            if !(1..=n).contains(&index) {
                bail!("{flag} {value}: there is no server {index} (servers are 1 to {n})");
            }
            Ok((Some(index - 1), rest))
        }
        _ => Ok((None, value)),
    }
}

/// Splits the repeated `--runtime-config` values into one config per server.
fn runtime_configs(values: &[String], n: usize) -> anyhow::Result<Vec<String>> {
    let mut per_server: Vec<Vec<String>> = vec![Vec::new(); n];
    for value in values {
        let (target, config) = server_target("--runtime-config", value, n)?;
        RuntimeConfig::parse(config)
            .map_err(|e| anyhow::anyhow!("--runtime-config {value}: {e}"))?;
        match target {
            Some(i) => per_server[i].push(config.to_owned()),
            None => per_server
                .iter_mut()
                .for_each(|c| c.push(config.to_owned())),
        }
    }
    Ok(per_server.into_iter().map(|c| c.join(",")).collect())
}

/// Splits the repeated `--binary` values into one binary per server
/// (`None`: this one); each must be an executable file.
fn binaries(values: &[String], n: usize) -> anyhow::Result<Vec<Option<PathBuf>>> {
    let mut per_server = vec![None; n];
    for value in values {
        let (target, path) = server_target("--binary", value, n)?;
        let path = executable(path).with_context(|| format!("--binary {value}"))?;
        match target {
            Some(i) => per_server[i] = Some(path),
            None => per_server.iter_mut().for_each(|b| *b = Some(path.clone())),
        }
    }
    Ok(per_server)
}

/// `path` made absolute, when it is an executable file.
pub fn executable(path: &str) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = std::path::absolute(path).with_context(|| format!("resolving {path}"))?;
    let meta = std::fs::metadata(&path).with_context(|| format!("{}", path.display()))?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        bail!("{} is not an executable file", path.display());
    }
    Ok(path)
}

/// Flags over the previous run's settings over defaults.
fn resolve(args: &UpArgs, previous: Option<&ClusterState>) -> anyhow::Result<ClusterState> {
    let versions_flag = args.versions.as_deref().map(parse_versions).transpose()?;
    let n = args
        .servers
        .or_else(|| versions_flag.as_ref().filter(|v| v.len() > 1).map(Vec::len))
        .or_else(|| previous.map(|p| p.servers.len()))
        .unwrap_or(DEFAULT_SERVERS);
    if n == 0 || n > 32 {
        bail!("--servers must be between 1 and 32, not {n}");
    }
    let same_count = previous.filter(|p| p.servers.len() == n);
    let versions = match versions_flag {
        Some(v) if v.len() == 1 => vec![v[0].clone(); n],
        Some(v) if v.len() == n => v,
        Some(v) => bail!(
            "--versions lists {} versions for {n} servers: give one per server, or one for all",
            v.len()
        ),
        None => match same_count {
            Some(p) if args.servers.is_none() => {
                p.servers.iter().map(|s| s.version.clone()).collect()
            }
            _ => default_versions(n),
        },
    };
    let ids: Vec<String> = (0..n).map(|i| format!("skewless-{}", i + 1)).collect();
    let pairs: Vec<(&str, &str)> = ids
        .iter()
        .zip(&versions)
        .map(|(i, v)| (i.as_str(), v.as_str()))
        .collect();
    super::skew::check(&pairs).context("--versions")?;
    let binaries = if args.binary.is_empty() {
        match same_count {
            Some(p) => p.servers.iter().map(|s| s.binary.clone()).collect(),
            None => vec![None; n],
        }
    } else {
        binaries(&args.binary, n)?
    };
    let runtime = if args.runtime_config.is_empty() {
        match same_count {
            Some(p) => p.servers.iter().map(|s| s.runtime_config.clone()).collect(),
            None => vec![String::new(); n],
        }
    } else {
        runtime_configs(&args.runtime_config, n)?
    };
    let ports: Vec<u16> = match args.base_port {
        Some(0) => free_ports(n),
        Some(base) => (0..n)
            .map(|i| {
                u16::try_from(usize::from(base) + i).map_err(|_| {
                    anyhow::anyhow!("--base-port {base} leaves no room for {n} servers")
                })
            })
            .collect::<anyhow::Result<_>>()?,
        None => match same_count {
            Some(p) => p.servers.iter().map(|s| s.port).collect(),
            None => (0..n).map(|i| DEFAULT_BASE_PORT + i as u16).collect(),
        },
    };
    let previous_prefix = previous.and_then(|p| match &p.storage {
        Storage::Etcd { prefix, .. } => Some(prefix.clone()),
        Storage::Sqlite => None,
    });
    let prefix = || {
        args.etcd_prefix
            .clone()
            .or_else(|| previous_prefix.clone())
            .unwrap_or_else(|| {
                format!(
                    "/skewless/{}",
                    &uuid::Uuid::new_v4().simple().to_string()[..12]
                )
            })
    };
    let storage = match &args.etcd_servers {
        Some(list) => {
            let servers: Vec<String> = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            if servers.is_empty() {
                Storage::Sqlite
            } else {
                Storage::Etcd {
                    servers,
                    prefix: prefix(),
                }
            }
        }
        None => match previous.map(|p| &p.storage) {
            Some(Storage::Etcd { servers, .. }) => Storage::Etcd {
                servers: servers.clone(),
                prefix: prefix(),
            },
            _ => Storage::Sqlite,
        },
    };
    if args.etcd_prefix.is_some() && storage == Storage::Sqlite {
        bail!("--etcd-prefix needs --etcd-servers");
    }
    if let Storage::Etcd { prefix, .. } = &storage
        && !prefix.starts_with('/')
    {
        bail!("--etcd-prefix must start with '/', not {prefix:?}");
    }
    let feature_gates = args
        .feature_gates
        .clone()
        .or_else(|| previous.map(|p| p.feature_gates.clone()))
        .unwrap_or_default();
    FeatureGates::parse(&feature_gates).map_err(|e| {
        anyhow::anyhow!("invalid argument {feature_gates:?} for --feature-gates: {e}")
    })?;
    let previous_metrics = previous.and_then(|p| p.metrics.clone());
    let metrics = match args.with_metrics {
        Some(false) => None,
        Some(true) => Some(previous_metrics.unwrap_or_default()),
        None => previous_metrics,
    }
    .map(|m| MetricsState { pid: None, ..m });
    Ok(ClusterState {
        format: FORMAT,
        storage,
        feature_gates,
        servers: (0..n)
            .map(|i| ServerState {
                id: ids[i].clone(),
                version: versions[i].clone(),
                runtime_config: runtime[i].clone(),
                port: ports[i],
                pid: None,
                restarting: false,
                binary: binaries[i].clone(),
            })
            .collect(),
        supervisor_pid: None,
        upgrade: previous.and_then(|p| p.upgrade.clone()),
        metrics,
    })
}

/// Servers of the state that still run, as "id (pid N)".
fn running(state: &ClusterState) -> Vec<String> {
    state
        .servers
        .iter()
        .filter_map(|s| {
            process::running_pid(s).map(|pid| format!("{} (pid {pid}, {})", s.id, s.url()))
        })
        .collect()
}

pub async fn run(layout: &Layout, display: &Display, args: UpArgs) -> anyhow::Result<ExitCode> {
    layout.create()?;
    let lock = layout.lock()?;
    let previous = layout.load()?;
    if let Some(p) = &previous {
        let live = running(p);
        if !live.is_empty() || process::supervisor_alive(p).is_some() {
            bail!(
                "a cluster is already running in {}: {}\n  see it with:  {}\n  stop it with: {}",
                layout.dir.display(),
                if live.is_empty() {
                    "its servers are starting".to_owned()
                } else {
                    live.join(", ")
                },
                display.command("status"),
                display.command("down"),
            );
        }
    }
    let mut state = resolve(&args, previous.as_ref())?;
    for s in &state.servers {
        if s.port != 0 && std::net::TcpListener::bind(("127.0.0.1", s.port)).is_err() {
            bail!(
                "port {} (for {}) is in use on 127.0.0.1: choose other ports with --base-port, or --base-port 0 for free ones",
                s.port,
                s.id
            );
        }
    }
    match Pki::ensure(&layout.pki())?.1 {
        Ensured::Generated => eprintln!("generated certificates in {}", layout.pki().display()),
        Ensured::Reused => eprintln!("reusing certificates in {}", layout.pki().display()),
    }
    eprintln!(
        "starting {} servers on {}{}",
        state.servers.len(),
        state.storage_description(layout),
        if previous.is_some() {
            " (existing data kept)"
        } else {
            ""
        }
    );
    if !args.detach {
        state.supervisor_pid = Some(std::process::id());
    }
    let creds = layout.credentials()?;
    // A metrics server left behind (its servers were killed) goes first.
    if let Some(p) = &previous
        && let Some(pid) = metrics::running_pid(layout, p)
    {
        process::stop(pid, down::DEFAULT_TIMEOUT).await?;
    }
    let mut children = match start_all(layout, &mut state, &creds, args.timeout).await {
        Ok(children) => children,
        Err(e) => {
            eprintln!("stopping the servers that started");
            state.supervisor_pid = None;
            let _ = down::stop_all(layout, &mut state, down::DEFAULT_TIMEOUT, false).await;
            return Err(e);
        }
    };
    layout.write_kubeconfig(&state)?;
    if let Some(first) = state.servers.first() {
        grant_dev(&creds.client(first.port))
            .await
            .context("letting the dev user edit its namespace")?;
    }
    if state.metrics.is_some() {
        match start_metrics(layout, &mut state, &creds, args.timeout).await {
            Ok(child) => children.push((usize::MAX, child)),
            Err(e) => {
                eprintln!("stopping the cluster");
                state.supervisor_pid = None;
                let _ = down::stop_all(layout, &mut state, down::DEFAULT_TIMEOUT, false).await;
                return Err(e);
            }
        }
    }

    // Let every server learn every other before telling the user to try
    // the proxy (readiness waits for one discovery round, not for peers
    // that started later).
    let clients: Vec<skewless_local::Client> =
        state.servers.iter().map(|s| creds.client(s.port)).collect();
    let mut served = Vec::new();
    for c in &clients {
        served.push(
            discovery::served(c, discovery::NOPEER)
                .await
                .unwrap_or_default(),
        );
    }
    let union: Served = served.iter().flatten().cloned().collect();
    if proxy_enabled(&state.feature_gates)
        && wait_merged(&clients, &union, Duration::from_secs(20))
            .await
            .is_none()
    {
        eprintln!("warning: the servers' merged discovery did not agree within 20 s");
    }
    drop(lock);
    print_summary(layout, display, &state, &served, args.detach);
    if args.detach {
        return Ok(ExitCode::SUCCESS);
    }
    supervise(layout, children).await
}

/// The first port of the kernel's ephemeral range.
fn ephemeral_low() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768)
}

/// `n` ports free now, below the kernel's ephemeral range: a server that
/// `upgrade` restarts (or that was killed) gets its port back, where a
/// port from the ephemeral range may meanwhile be taken by any outgoing
/// connection or any program that asked for port 0. Port 0 (the kernel
/// picks at start) for those not found.
fn free_ports(n: usize) -> Vec<u16> {
    let (low, high) = (10_000u16, ephemeral_low().max(10_001));
    let span = u32::from(high - low);
    // A varying starting point, so clusters started side by side do not
    // all try the same ports first.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() ^ std::process::id());
    let mut ports = Vec::with_capacity(n);
    for step in 0..span {
        if ports.len() == n {
            break;
        }
        let offset =
            u16::try_from((seed.wrapping_add(step.wrapping_mul(7919))) % span).unwrap_or(0);
        let port = low + offset;
        if !ports.contains(&port) && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            ports.push(port);
        }
    }
    ports.resize(n, 0);
    ports
}

/// Creates namespace `dev` and binds the ordinary user `dev` to `edit`
/// there (idempotent: a restarted cluster keeps them).
async fn grant_dev(admin: &skewless_local::Client) -> anyhow::Result<()> {
    let namespace = serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": DEV_NAMESPACE},
    });
    let binding = serde_json::json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "dev-edit", "namespace": DEV_NAMESPACE},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": DEV_USER}],
    });
    for (path, body) in [
        ("/api/v1/namespaces".to_owned(), namespace),
        (
            format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{DEV_NAMESPACE}/rolebindings"),
            binding,
        ),
    ] {
        let r = admin
            .request(
                "POST",
                &path,
                &[("Content-Type", "application/json")],
                Some(serde_json::to_vec(&body)?),
                Duration::from_secs(10),
            )
            .await?;
        if r.status != 201 && r.status != 409 {
            bail!("POST {path}: {} {}", r.status, r.text());
        }
    }
    Ok(())
}

/// Starts the metrics server, registers it, and waits (20 s at most) until
/// every server serves its API.
async fn start_metrics(
    layout: &Layout,
    state: &mut ClusterState,
    creds: &Credentials,
    timeout: Duration,
) -> anyhow::Result<tokio::process::Child> {
    let clients: Vec<skewless_local::Client> =
        state.servers.iter().map(|s| creds.client(s.port)).collect();
    let Some(admin) = clients.first() else {
        bail!("no server to register the metrics server with");
    };
    let free = free_ports(1).first().copied().unwrap_or(0);
    let child = metrics::start(layout, state, admin, free, timeout).await?;
    let port = state.metrics.as_ref().map_or(0, |m| m.port);
    eprintln!("  {:<12} {:<6} https://127.0.0.1:{port}", metrics::NAME, "");
    let path = "/apis/metrics.k8s.io/v1beta1/nodes";
    let deadline = Instant::now() + Duration::from_secs(20);
    for c in &clients {
        loop {
            if c.get(path, Duration::from_secs(5))
                .await
                .is_ok_and(|r| r.status == 200)
            {
                break;
            }
            if Instant::now() > deadline {
                eprintln!(
                    "warning: {} does not serve metrics.k8s.io yet (see {})",
                    c.url(),
                    layout.log(metrics::NAME).display()
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(child)
}

/// Starts every server and waits until each is ready, printing progress.
async fn start_all(
    layout: &Layout,
    state: &mut ClusterState,
    creds: &Credentials,
    timeout: Duration,
) -> anyhow::Result<Vec<(usize, tokio::process::Child)>> {
    let mut started = Vec::new();
    let mut waits = tokio::task::JoinSet::new();
    for i in 0..state.servers.len() {
        let server = state.servers[i].clone();
        let s = match process::spawn(layout, state, &server, server.port) {
            Ok(s) => s,
            Err(e) => {
                layout.save(state)?;
                return Err(e);
            }
        };
        state.servers[i].pid = Some(s.pid);
        let log = layout.log(&server.id);
        let creds = creds.clone();
        let (pid, offset) = (s.pid, s.log_offset);
        waits.spawn(async move {
            let begun = Instant::now();
            let port = if server.port == 0 {
                process::wait_for_port(&log, offset, pid, timeout).await?
            } else {
                server.port
            };
            let client = creds.client(port);
            process::wait_ready(&client, pid, &log, timeout)
                .await
                .with_context(|| format!("{} did not start", server.id))?;
            anyhow::Ok((i, port, begun.elapsed()))
        });
        started.push((i, s.child));
    }
    layout.save(state)?;
    let mut pending: BTreeSet<usize> = (0..state.servers.len()).collect();
    let mut ticker = tokio::time::interval(Duration::from_secs(5));
    ticker.tick().await;
    while !pending.is_empty() {
        tokio::select! {
            done = waits.join_next() => {
                let Some(done) = done else { break };
                let (i, port, took) = done.context("waiting for a server")??;
                pending.remove(&i);
                let s = &mut state.servers[i];
                s.port = port;
                eprintln!("  {:<12} v{:<5} {:<24} ready in {:.1}s", s.id, s.version, s.url(), took.as_secs_f64());
            }
            _ = ticker.tick() => {
                let names: Vec<&str> = pending.iter().map(|i| state.servers[*i].id.as_str()).collect();
                eprintln!("  waiting for {} (logs in {})", names.join(", "), layout.logs().display());
            }
        }
    }
    layout.save(state)?;
    Ok(started)
}

/// A resource some servers lack, the first server lacking it, and the
/// servers that serve it: what the "try this" hint proxies.
fn proxied_example(
    state: &ClusterState,
    served: &[Served],
) -> Option<(discovery::Gvr, usize, Vec<usize>)> {
    let union: BTreeSet<&discovery::Gvr> = served.iter().flatten().collect();
    let partial: Vec<&discovery::Gvr> = union
        .into_iter()
        .filter(|gvr| served.iter().any(|s| !s.contains(*gvr)))
        .collect();
    let pick = partial
        .iter()
        .find(|(g, _, r)| g == "admissionregistration.k8s.io" && r == "mutatingadmissionpolicies")
        .or_else(|| partial.first())?;
    let lacking = served.iter().position(|s| !s.contains(*pick))?;
    let owners = (0..state.servers.len())
        .filter(|i| served[*i].contains(*pick))
        .collect();
    Some(((*pick).clone(), lacking, owners))
}

fn print_summary(
    layout: &Layout,
    display: &Display,
    state: &ClusterState,
    served: &[Served],
    detach: bool,
) {
    println!();
    println!(
        "skewless cluster is up: {} servers on {}",
        state.servers.len(),
        state.storage_description(layout)
    );
    println!();
    println!("  {:<12} {:<8} {:<24} PID", "SERVER", "VERSION", "ADDRESS");
    for s in &state.servers {
        println!(
            "  {:<12} {:<8} {:<24} {}",
            s.id,
            s.version,
            s.url(),
            s.pid.map(|p| p.to_string()).unwrap_or_default()
        );
    }
    println!();
    let kubeconfig = layout.kubeconfig();
    println!(
        "Try it (contexts: {}, and `skewless` = {}):",
        state
            .servers
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        state.servers.first().map(|s| s.id.as_str()).unwrap_or("")
    );
    println!("  export KUBECONFIG={}", kubeconfig.display());
    let proxy = proxy_enabled(&state.feature_gates);
    match proxied_example(state, served) {
        Some(((group, version, resource), lacking, owners)) => {
            let l = &state.servers[lacking];
            let owner_names: Vec<&str> = owners
                .iter()
                .map(|i| state.servers[*i].id.as_str())
                .collect();
            let qualified = if group.is_empty() {
                resource.clone()
            } else {
                format!("{resource}.{group}")
            };
            println!(
                "  # {} (v{}) does not serve {} {resource}; {} does{}:",
                l.id,
                l.version,
                discovery::group_version(&group, &version),
                owner_names.join(", "),
                if proxy {
                    ", so the request is proxied there"
                } else {
                    " (the proxy is off: expect a 404)"
                }
            );
            println!(
                "  kubectl --context {} get {qualified} -v=6 2>&1 | grep /{resource}",
                l.id
            );
            if proxy {
                println!(
                    "  kubectl --context {} get --raw /metrics | grep 'apiserver_rerouted_request_total{{.*{resource}'",
                    l.id
                );
            }
        }
        None => {
            println!("  kubectl get namespaces");
            println!(
                "  # every server serves the same APIs; for a mixed control plane try `up --versions 1.35,1.36`"
            );
        }
    }
    println!(
        "  # context `{DEV_USER}` is an ordinary user who may edit namespace {DEV_NAMESPACE} and nothing else:"
    );
    println!("  kubectl --context {DEV_USER} create configmap hello --from-literal=a=b");
    println!("  kubectl --context {DEV_USER} get secrets -n kube-system    # Forbidden");
    if state.metrics.is_some() {
        println!("  # metrics.k8s.io is served by `skewless metrics-server` through every server:");
        println!("  kubectl top pod -A");
    }
    println!("  {}", display.command("status"));
    println!(
        "  {}",
        display.command(&format!("upgrade --to {}", EmulatedVersion::latest()))
    );
    println!("  {}", display.command("logs 1"));
    if detach {
        println!("  {}", display.command("down"));
    } else {
        println!();
        println!("Running in the foreground: Ctrl-C stops every server.");
    }
}

/// Foreground: reaps the children, reports unexpected exits, stops
/// everything on Ctrl-C/SIGTERM, and returns once no server runs (also
/// when `down` stopped them from another terminal).
async fn supervise(
    layout: &Layout,
    children: Vec<(usize, tokio::process::Child)>,
) -> anyhow::Result<ExitCode> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing a SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing a SIGINT handler")?;
    let (tx, mut exits) = tokio::sync::mpsc::unbounded_channel();
    for (i, mut child) in children {
        let tx = tx.clone();
        let pid = child.id();
        tokio::spawn(async move {
            let status = child.wait().await;
            let _ = tx.send((i, pid, status));
        });
    }
    drop(tx);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            Some((i, pid, status)) = exits.recv() => {
                let Some(mut state) = layout.load()? else { return Ok(ExitCode::SUCCESS) };
                if i == usize::MAX && !status.as_ref().is_ok_and(|s| s.success()) {
                    eprintln!(
                        "{} exited unexpectedly; the end of its log:\n{}",
                        metrics::NAME,
                        process::tail(&layout.log(metrics::NAME), 10)
                    );
                }
                let Some(server) = state.servers.get_mut(i) else { continue };
                // A server exits 0 only when asked to stop (by `down`,
                // `upgrade` or a signal): anything else is a crash.
                let crashed = !status.as_ref().is_ok_and(|s| s.success());
                if crashed && pid.is_some() && server.pid == pid && !server.restarting {
                    let how = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                    eprintln!(
                        "{} exited unexpectedly ({how}); the end of its log:\n{}",
                        server.id,
                        process::tail(&layout.log(&server.id), 10)
                    );
                    server.pid = None;
                    // Only when no other command is changing the state.
                    if let Ok(_lock) = layout.lock() {
                        layout.save(&state)?;
                    }
                }
            }
            _ = tick.tick() => {
                let state = layout.load()?;
                let any = state.as_ref().is_some_and(|s| {
                    s.servers.iter().any(|s| s.restarting || process::running_pid(s).is_some())
                });
                if !any {
                    eprintln!("no server is running any more; exiting");
                    if let Some(mut state) = state {
                        state.supervisor_pid = None;
                        let _ = layout.save(&state);
                    }
                    return Ok(ExitCode::SUCCESS);
                }
            }
        }
    }
    eprintln!("stopping the cluster (Ctrl-C again to kill the servers at once)");
    let mut state = layout.load_existing()?;
    state.supervisor_pid = None;
    let stop = down::stop_all(layout, &mut state, down::DEFAULT_TIMEOUT, true);
    tokio::pin!(stop);
    let result = tokio::select! {
        r = &mut stop => r,
        _ = async { tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} } } => {
            let state = layout.load_existing()?;
            for s in &state.servers {
                if let Some(pid) = process::running_pid(s) {
                    let _ = process::signal(pid, rustix::process::Signal::KILL);
                }
            }
            stop.await
        }
    };
    result?;
    eprintln!(
        "stopped; certificates and data stay in {} for the next `up`",
        layout.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn args(f: impl FnOnce(&mut UpArgs)) -> UpArgs {
        let mut a = UpArgs {
            servers: None,
            versions: None,
            runtime_config: Vec::new(),
            etcd_servers: None,
            etcd_prefix: None,
            base_port: None,
            feature_gates: None,
            detach: false,
            with_metrics: None,
            timeout: Duration::from_secs(60),
            binary: Vec::new(),
        };
        f(&mut a);
        a
    }

    #[test]
    fn free_ports_are_distinct_bindable_and_below_the_ephemeral_range() {
        let ports = free_ports(3);
        assert_eq!(ports.len(), 3);
        let high = ephemeral_low();
        assert!(ports.iter().all(|p| *p >= 10_000 && *p < high), "{ports:?}");
        let mut unique = ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 3);
    }

    #[test]
    fn defaults_are_three_servers_with_the_default_release_last() {
        let s = resolve(&args(|_| {}), None).unwrap();
        let v: Vec<&str> = s.servers.iter().map(|s| s.version.as_str()).collect();
        let default = EmulatedVersion::default();
        let previous = release_before(default).unwrap();
        let (previous, default) = (previous.to_string(), default.to_string());
        assert_eq!(v, [&previous, &previous, &default]);
        let ports: Vec<u16> = s.servers.iter().map(|s| s.port).collect();
        assert_eq!(ports, [6443, 6444, 6445]);
        assert_eq!(s.servers[2].id, "skewless-3");
        assert_eq!(s.storage, Storage::Sqlite);
    }

    #[test]
    fn versions_and_counts_must_agree() {
        let s = resolve(&args(|a| a.versions = Some("1.35,1.36".into())), None).unwrap();
        assert_eq!(s.servers.len(), 2);
        let s = resolve(
            &args(|a| {
                a.versions = Some("1.36".into());
                a.servers = Some(4);
            }),
            None,
        )
        .unwrap();
        assert!(s.servers.iter().all(|s| s.version == "1.36") && s.servers.len() == 4);
        let e = resolve(
            &args(|a| {
                a.versions = Some("1.35,1.36".into());
                a.servers = Some(3);
            }),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("2 versions for 3 servers"), "{e}");
        let e = resolve(&args(|a| a.versions = Some("1.20".into())), None).unwrap_err();
        assert!(e.to_string().contains("--versions"), "{e}");
    }

    #[test]
    fn runtime_config_targets_one_server_or_all() {
        let s = resolve(
            &args(|a| {
                a.runtime_config = vec!["2=batch/v1=false".into(), "api/alpha=false".into()];
            }),
            None,
        )
        .unwrap();
        assert_eq!(s.servers[0].runtime_config, "api/alpha=false");
        assert_eq!(
            s.servers[1].runtime_config,
            "batch/v1=false,api/alpha=false"
        );
        let e = resolve(
            &args(|a| a.runtime_config = vec!["4=batch/v1=false".into()]),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("no server 4"), "{e}");
        let e = resolve(
            &args(|a| a.runtime_config = vec!["batch/v1=maybe".into()]),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("--runtime-config"), "{e}");
    }

    #[test]
    fn binary_targets_one_server_or_all() {
        let exe = std::env::current_exe().unwrap();
        let exe = exe.to_str().unwrap();
        let one = binaries(&[format!("2={exe}")], 3).unwrap();
        assert_eq!(
            one.iter().map(Option::is_some).collect::<Vec<_>>(),
            [false, true, false]
        );
        let all = binaries(&[exe.to_owned()], 2).unwrap();
        assert!(all.iter().all(Option::is_some));
        let e = binaries(&[format!("4={exe}")], 3).unwrap_err();
        assert!(
            e.to_string().starts_with("--binary 4=")
                && e.to_string()
                    .ends_with("there is no server 4 (servers are 1 to 3)"),
            "{e}"
        );
    }

    #[test]
    fn a_rerun_keeps_the_previous_settings_unless_flags_change_them() {
        let mut first = resolve(
            &args(|a| {
                a.versions = Some("1.36,1.36".into());
                a.etcd_servers = Some("http://127.0.0.1:2379".into());
                a.base_port = Some(7000);
            }),
            None,
        )
        .unwrap();
        first.servers[0].port = 7100;
        let again = resolve(&args(|_| {}), Some(&first)).unwrap();
        assert_eq!(again.servers.len(), 2);
        assert_eq!(again.servers[0].version, "1.36");
        assert_eq!(again.servers[0].port, 7100);
        assert_eq!(again.storage, first.storage);
        let sqlite = resolve(
            &args(|a| a.etcd_servers = Some(String::new())),
            Some(&first),
        )
        .unwrap();
        assert_eq!(sqlite.storage, Storage::Sqlite);
        let e = resolve(&args(|a| a.etcd_prefix = Some("/x".into())), None).unwrap_err();
        assert!(e.to_string().contains("--etcd-servers"), "{e}");
    }

    #[test]
    fn with_metrics_is_remembered_until_turned_off() {
        let mut first = resolve(&args(|a| a.with_metrics = Some(true)), None).unwrap();
        assert_eq!(first.metrics.as_ref().map(|m| m.port), Some(0));
        first.metrics = Some(MetricsState {
            port: 12_345,
            pid: Some(7),
        });
        let again = resolve(&args(|_| {}), Some(&first)).unwrap();
        let m = again.metrics.expect("remembered");
        assert_eq!((m.port, m.pid), (12_345, None));
        let off = resolve(&args(|a| a.with_metrics = Some(false)), Some(&first)).unwrap();
        assert!(off.metrics.is_none());
        assert!(resolve(&args(|_| {}), None).unwrap().metrics.is_none());
    }

    #[test]
    fn bad_feature_gates_are_refused() {
        let e = resolve(&args(|a| a.feature_gates = Some("Nope=true".into())), None).unwrap_err();
        assert!(e.to_string().contains("--feature-gates"), "{e}");
        assert!(!proxy_enabled("UnknownVersionInteroperabilityProxy=false"));
        assert!(proxy_enabled(""));
    }
}

//! Server processes: the `skewless serve` command line of a cluster member,
//! starting one (re-executing this binary), waiting until it is ready, and
//! stopping one cleanly (SIGTERM, wait, SIGKILL only after a timeout).
//!
//! A recorded process id is never trusted on its own: a process counts as a
//! cluster member only while `/proc` shows it alive (a zombie is dead) and
//! running `serve` with that server's `--apiserver-id`, so a reused id is
//! never signalled.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rustix::process::{Pid, Signal};

use super::client::ApiClient;
use super::state::{ClusterState, Layout, ServerState, Storage};

/// Names the cluster's certificates inside `<state-dir>/pki`.
pub mod pki_files {
    pub const CA: &str = "ca.crt";
    pub const SERVING_CERT: &str = "apiserver.crt";
    pub const SERVING_KEY: &str = "apiserver.key";
    pub const ADMIN_CERT: &str = "admin.crt";
    pub const ADMIN_KEY: &str = "admin.key";
    pub const FRONT_PROXY_CA: &str = "front-proxy-ca.crt";
    pub const PROXY_CERT: &str = "front-proxy-client.crt";
    pub const PROXY_KEY: &str = "front-proxy-client.key";
    /// The proxy client certificate's common name, which every server
    /// allows to assert users (`--requestheader-allowed-names`).
    pub const PROXY_CN: &str = "front-proxy-client";
}

/// The `serve` flags of `server` in `state`. `port` overrides the recorded
/// port (0 lets the server pick one).
pub fn serve_args(
    layout: &Layout,
    state: &ClusterState,
    server: &ServerState,
    port: u16,
) -> Vec<String> {
    use pki_files::*;
    let pki = |name: &str| layout.pki().join(name).display().to_string();
    let mut args: Vec<String> = vec![
        "serve".into(),
        "--bind-address=127.0.0.1".into(),
        format!("--secure-port={port}"),
        format!("--tls-cert-file={}", pki(SERVING_CERT)),
        format!("--tls-private-key-file={}", pki(SERVING_KEY)),
        format!("--client-ca-file={}", pki(CA)),
        format!("--requestheader-client-ca-file={}", pki(FRONT_PROXY_CA)),
        format!("--requestheader-allowed-names={PROXY_CN}"),
        format!("--apiserver-id={}", server.id),
        format!("--emulated-version={}", server.version),
        format!("--data-dir={}", layout.data().display()),
    ];
    // The peer flags turn the proxy on; with its gate off a server refuses
    // them (as kube-apiserver does).
    if super::up::proxy_enabled(&state.feature_gates) {
        args.extend([
            format!("--peer-ca-file={}", pki(CA)),
            format!("--proxy-client-cert-file={}", pki(PROXY_CERT)),
            format!("--proxy-client-key-file={}", pki(PROXY_KEY)),
        ]);
    }
    if !server.runtime_config.is_empty() {
        args.push(format!("--runtime-config={}", server.runtime_config));
    }
    if !state.feature_gates.is_empty() {
        args.push(format!("--feature-gates={}", state.feature_gates));
    }
    if let Storage::Etcd { servers, prefix } = &state.storage {
        args.push(format!("--etcd-servers={}", servers.join(",")));
        args.push(format!("--etcd-prefix={prefix}"));
    }
    args
}

/// This binary, to re-execute as `serve`. When it was replaced on disk
/// since this process started (a rebuild), `/proc/self/exe` still runs the
/// very binary this command is.
fn binary() -> anyhow::Result<std::path::PathBuf> {
    let exe =
        std::env::current_exe().context("finding the skewless binary to start servers with")?;
    if exe.exists() {
        return Ok(exe);
    }
    let proc_exe = std::path::PathBuf::from("/proc/self/exe");
    if proc_exe.exists() {
        return Ok(proc_exe);
    }
    bail!("the skewless binary {} is gone", exe.display())
}

/// A started server process.
#[derive(Debug)]
pub struct Started {
    pub child: tokio::process::Child,
    pub pid: u32,
    /// Where this start's output begins in the log.
    pub log_offset: u64,
}

/// Starts `server` as a child process in its own process group (so a
/// Ctrl-C meant for the `skewless cluster` command does not reach it),
/// appending its output to its log.
pub fn spawn(
    layout: &Layout,
    state: &ClusterState,
    server: &ServerState,
    port: u16,
) -> anyhow::Result<Started> {
    use std::io::Write as _;
    let exe = binary()?;
    let args = serve_args(layout, state, server, port);
    let log_path = layout.log(&server.id);
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    writeln!(
        log,
        "==> skewless cluster: starting {} (v{}): {} {}",
        server.id,
        server.version,
        exe.display(),
        args.join(" ")
    )
    .with_context(|| format!("writing {}", log_path.display()))?;
    let log_offset = log
        .metadata()
        .with_context(|| format!("reading {}", log_path.display()))?
        .len();
    let stderr = log
        .try_clone()
        .with_context(|| format!("opening {}", log_path.display()))?;
    let child = tokio::process::Command::new(&exe)
        .args(&args)
        // The log is a file: no colour codes in it.
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {} serve", exe.display()))?;
    let pid = child.id().context("the server exited at once")?;
    Ok(Started {
        child,
        pid,
        log_offset,
    })
}

/// Whether `pid` is a live process (a zombie is not).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // "pid (comm) S ...": the state follows the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| !matches!(state, 'Z' | 'X')),
        Err(_) if Path::new("/proc/self").exists() => false,
        Err(_) => {
            Pid::from_raw(pid as i32).is_some_and(|p| rustix::process::test_kill_process(p).is_ok())
        }
    }
}

/// Whether `pid` is alive and is the `serve` process of server `id`.
pub fn is_server(pid: u32, id: &str) -> bool {
    if !alive(pid) {
        return false;
    }
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmdline) => {
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            let flag = format!("--apiserver-id={id}");
            args.contains(&b"serve".as_slice()) && args.contains(&flag.as_bytes())
        }
        // Without /proc, trust the recorded id.
        Err(_) => !Path::new("/proc/self").exists(),
    }
}

/// The process recorded for `server`, if it is still that server.
pub fn running_pid(server: &ServerState) -> Option<u32> {
    server.pid.filter(|pid| is_server(*pid, &server.id))
}

/// Whether the foreground `up` recorded in the state is still running.
pub fn supervisor_alive(state: &ClusterState) -> Option<u32> {
    state.supervisor_pid.filter(|pid| {
        alive(*pid)
            && std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| c.split(|b| *b == 0).any(|a| a == b"cluster"))
                .unwrap_or(true)
    })
}

pub fn signal(pid: u32, sig: Signal) -> anyhow::Result<()> {
    let p = Pid::from_raw(pid as i32).with_context(|| format!("invalid process id {pid}"))?;
    match rustix::process::kill_process(p, sig) {
        Ok(()) | Err(rustix::io::Errno::SRCH) => Ok(()),
        Err(e) => Err(e).with_context(|| format!("signalling process {pid}")),
    }
}

/// How a server stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Exited after SIGTERM, within the timeout.
    Cleanly(Duration),
    /// Needed SIGKILL: its identity lease may outlive it.
    Killed,
}

/// SIGTERM, wait up to `timeout` for the process to exit, then SIGKILL.
pub async fn stop(pid: u32, timeout: Duration) -> anyhow::Result<Stopped> {
    let started = Instant::now();
    signal(pid, Signal::TERM)?;
    while alive(pid) {
        if started.elapsed() > timeout {
            signal(pid, Signal::KILL)?;
            let killed = Instant::now();
            while alive(pid) {
                if killed.elapsed() > Duration::from_secs(10) {
                    bail!("process {pid} survived SIGKILL for 10 s");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            return Ok(Stopped::Killed);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Stopped::Cleanly(started.elapsed()))
}

/// The last `n` lines of a file, for error messages.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Waits for the "serving on https://host:port" line a server prints once
/// it listens, and returns the port.
pub async fn wait_for_port(
    log: &Path,
    offset: u64,
    pid: u32,
    timeout: Duration,
) -> anyhow::Result<u16> {
    let started = Instant::now();
    loop {
        let text = std::fs::read(log).with_context(|| format!("reading {}", log.display()))?;
        let fresh = String::from_utf8_lossy(text.get(offset as usize..).unwrap_or_default());
        if let Some(port) = fresh.lines().find_map(|l| {
            l.strip_prefix("serving on https://")
                .and_then(|addr| addr.rsplit(':').next())
                .and_then(|p| p.trim().parse::<u16>().ok())
        }) {
            return Ok(port);
        }
        if !alive(pid) {
            bail!(
                "the server exited while starting; the end of {}:\n{}",
                log.display(),
                tail(log, 15)
            );
        }
        if started.elapsed() > timeout {
            bail!(
                "the server did not listen within {timeout:?}; the end of {}:\n{}",
                log.display(),
                tail(log, 15)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `/readyz` until it answers 200; fails early when the process
/// exits. Returns how long it took.
pub async fn wait_ready(
    client: &ApiClient,
    pid: u32,
    log: &Path,
    timeout: Duration,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get("/readyz", Duration::from_secs(2)).await
            && r.status == 200
        {
            return Ok(started.elapsed());
        }
        if !alive(pid) {
            bail!(
                "the server exited while starting; the end of {}:\n{}",
                log.display(),
                tail(log, 15)
            );
        }
        if started.elapsed() > timeout {
            bail!(
                "{} was not ready within {timeout:?}; the end of {}:\n{}",
                client.url(),
                log.display(),
                tail(log, 15)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_not_a_server() {
        let me = std::process::id();
        assert!(alive(me));
        assert!(!is_server(me, "skewless-1"));
        assert!(!alive(u32::MAX / 2));
    }
}

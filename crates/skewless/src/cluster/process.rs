//! Server processes: the `skewless serve` command line of a cluster member,
//! starting one (re-executing this binary), waiting until it is ready, and
//! stopping one cleanly (SIGTERM, wait, SIGKILL only after a timeout).
//!
//! A recorded process id is never trusted on its own: a process counts as a
//! cluster member only while `/proc` shows it alive (a zombie is dead) and
//! running `serve` with that server's `--apiserver-id`, so a reused id is
//! never signalled.

use std::path::Path;

use anyhow::{Context, bail};
use skewless_local::process::{Launch, wait_listening};
pub use skewless_local::process::{
    Signal, Started, Stopped, alive, signal, stop, stop_now, tail, wait_ready,
};

use super::state::{ClusterState, Layout, ServerState, Storage, proxy_enabled};

/// The `serve` flags (after `serve`) of `server` in `state`. `port` overrides the recorded
/// port (0 lets the server pick one).
pub fn serve_args(
    layout: &Layout,
    state: &ClusterState,
    server: &ServerState,
    port: u16,
) -> Vec<String> {
    let pki = layout.pki_files();
    let mut args: Vec<String> = vec![
        "--bind-address=127.0.0.1".into(),
        format!("--secure-port={port}"),
    ];
    args.extend(pki.serve_args());
    args.extend([
        format!("--apiserver-id={}", server.id),
        format!("--emulated-version={}", server.version),
        format!("--data-dir={}", layout.data().display()),
        // As kube-apiserver deployments run (skewless has no Node
        // authorizer): the admin is system:masters, `dev` gets RBAC.
        "--authorization-mode=RBAC".into(),
    ]);
    // The peer flags turn the proxy on; with its gate off a server refuses
    // them (as kube-apiserver does).
    if proxy_enabled(&state.feature_gates) {
        args.extend(pki.peer_args());
    } else {
        // What the aggregator presents to extension servers.
        args.push(format!(
            "--proxy-client-cert-file={}",
            pki.proxy_cert.display()
        ));
        args.push(format!(
            "--proxy-client-key-file={}",
            pki.proxy_key.display()
        ));
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

/// Starts `server` as a child process in its own process group (so a
/// Ctrl-C meant for the `skewless cluster` command does not reach it),
/// appending its output to its log.
pub fn spawn(
    layout: &Layout,
    state: &ClusterState,
    server: &ServerState,
    port: u16,
) -> anyhow::Result<Started> {
    let exe = match &server.binary {
        Some(b) => b.clone(),
        None => binary()?,
    };
    let mut launch = Launch::serve(
        &exe,
        serve_args(layout, state, server, port),
        &layout.log(&server.id),
    );
    launch.banner = Some(format!(
        "==> skewless cluster: starting {} (v{}): {} {}",
        server.id,
        server.version,
        exe.display(),
        launch.args.join(" ")
    ));
    launch.own_process_group = true;
    launch.spawn()
}

/// Waits until a server started with port 0 listens, and returns its port.
pub async fn wait_for_port(
    log: &Path,
    offset: u64,
    pid: u32,
    timeout: std::time::Duration,
) -> anyhow::Result<u16> {
    Ok(wait_listening(log, offset, pid, timeout).await?.port())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_not_a_server() {
        assert!(!is_server(std::process::id(), "skewless-1"));
    }
}

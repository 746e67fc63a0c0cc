//! `skewless serve` processes: starting one with its output appended to a
//! log, waiting until it listens (its `serving on https://…` line) and
//! until `/readyz` passes, and stopping one cleanly (SIGTERM, wait,
//! SIGKILL only after a timeout).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rustix::process::Pid;
pub use rustix::process::Signal;

use crate::client::Client;

/// How to start one server process.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The `skewless` binary.
    pub binary: PathBuf,
    /// Its arguments, `serve` first.
    pub args: Vec<String>,
    /// The log both its outputs are appended to.
    pub log: PathBuf,
    /// Extra environment (e.g. `SKEWLESS_LOG`).
    pub env: Vec<(String, String)>,
    /// A line written to the log before the process starts.
    pub banner: Option<String>,
    /// Runs the process in its own process group, so a Ctrl-C meant for
    /// the starting command does not reach it.
    pub own_process_group: bool,
    /// Kills the process when its handle is dropped.
    pub kill_on_drop: bool,
}

impl Launch {
    /// `binary serve <args>` logging to `log`, in the caller's process
    /// group, left running when dropped.
    pub fn serve(binary: &Path, args: Vec<String>, log: &Path) -> Self {
        let mut all = vec!["serve".to_owned()];
        all.extend(args);
        Self {
            binary: binary.to_path_buf(),
            args: all,
            log: log.to_path_buf(),
            env: Vec::new(),
            banner: None,
            own_process_group: false,
            kill_on_drop: false,
        }
    }

    /// Starts the process.
    pub fn spawn(&self) -> anyhow::Result<Started> {
        use std::io::Write as _;
        let log_path = &self.log;
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        if let Some(banner) = &self.banner {
            writeln!(log, "{banner}").with_context(|| format!("writing {}", log_path.display()))?;
        }
        let log_offset = log
            .metadata()
            .with_context(|| format!("reading {}", log_path.display()))?
            .len();
        let stderr = log
            .try_clone()
            .with_context(|| format!("opening {}", log_path.display()))?;
        let mut command = tokio::process::Command::new(&self.binary);
        command
            .args(&self.args)
            // The log is a file: no colour codes in it.
            .env("NO_COLOR", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .kill_on_drop(self.kill_on_drop);
        if self.own_process_group {
            command.process_group(0);
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {} serve", self.binary.display()))?;
        let pid = child.id().context("the server exited at once")?;
        Ok(Started {
            child,
            pid,
            log_offset,
        })
    }
}

/// A started server process.
#[derive(Debug)]
pub struct Started {
    pub child: tokio::process::Child,
    pub pid: u32,
    /// Where this start's output begins in the log.
    pub log_offset: u64,
}

/// Whether `pid` is a live process (a zombie whose threads are all gone is
/// not).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // "pid (comm) S ...": the state follows the last ')'. A zombie
        // leader whose other threads are still exiting still holds the
        // process's files (its listening socket: a restart on the same
        // port would fail), so it counts as alive until they are gone.
        Ok(stat) => match stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
        {
            Some('Z' | 'X') => std::fs::read_dir(format!("/proc/{pid}/task"))
                .map(|tasks| tasks.count() > 1)
                .unwrap_or(false),
            Some(_) => true,
            None => false,
        },
        Err(_) if Path::new("/proc/self").exists() => false,
        Err(_) => {
            Pid::from_raw(pid as i32).is_some_and(|p| rustix::process::test_kill_process(p).is_ok())
        }
    }
}

/// Sends `sig` to `pid`; a process already gone is not an error.
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
            return stop_now(pid).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Stopped::Cleanly(started.elapsed()))
}

/// SIGKILL, then waits (at most 10 s) until the process is gone.
pub async fn stop_now(pid: u32) -> anyhow::Result<Stopped> {
    signal(pid, Signal::KILL)?;
    let killed = Instant::now();
    while alive(pid) {
        if killed.elapsed() > Duration::from_secs(10) {
            bail!("process {pid} survived SIGKILL for 10 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Stopped::Killed)
}

/// The last `n` lines of a file, for error messages.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Fails when `pid` exited, or when `started` is more than `timeout` ago
/// (then saying it did not `what` in time), with the end of the log.
fn check_starting(
    pid: u32,
    log: &Path,
    started: Instant,
    timeout: Duration,
    what: &str,
) -> anyhow::Result<()> {
    if !alive(pid) {
        bail!(
            "the server exited while starting; the end of {}:\n{}",
            log.display(),
            tail(log, 15)
        );
    }
    if started.elapsed() > timeout {
        bail!(
            "{what} within {timeout:?}; the end of {}:\n{}",
            log.display(),
            tail(log, 15)
        );
    }
    Ok(())
}

/// Waits for the "serving on https://host:port" line a server prints once
/// it listens, after `offset` in its log, and returns the address.
pub async fn wait_listening(
    log: &Path,
    offset: u64,
    pid: u32,
    timeout: Duration,
) -> anyhow::Result<SocketAddr> {
    let started = Instant::now();
    loop {
        let text = std::fs::read(log).with_context(|| format!("reading {}", log.display()))?;
        let fresh = String::from_utf8_lossy(text.get(offset as usize..).unwrap_or_default());
        if let Some(addr) = fresh.lines().find_map(|l| {
            l.strip_prefix("serving on https://")
                .and_then(|addr| addr.trim().parse::<SocketAddr>().ok())
        }) {
            return Ok(addr);
        }
        check_starting(pid, log, started, timeout, "the server did not listen")?;
        // Often: benchmarks time from this moment.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Polls `/readyz` until it answers 200; fails early when the process
/// exits. Returns how long it took.
pub async fn wait_ready(
    client: &Client,
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
        let what = format!("{} was not ready", client.url());
        check_starting(pid, log, started, timeout, &what)?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive() {
        assert!(alive(std::process::id()));
        assert!(!alive(u32::MAX / 2));
    }
}

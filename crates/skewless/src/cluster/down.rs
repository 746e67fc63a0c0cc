//! `skewless cluster down`: stops every server of the cluster (SIGTERM to
//! all at once, so each deletes its identity lease; SIGKILL for any still
//! running after the timeout) and the metrics server, and records that
//! none runs. Certificates,
//! data and logs stay for the next `up`.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::metrics;
use super::process::{self, Stopped};
use super::state::{ClusterState, Layout};

/// The servers' own shutdown grace (30 s) plus a margin.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(40);

#[derive(Debug, Args)]
pub struct DownArgs {
    /// How long a server may take to stop after SIGTERM before it is killed.
    #[arg(long, default_value = "40s", value_parser = crate::duration::parse_duration)]
    timeout: Duration,
}

/// Stops every running server of `state` concurrently, prints how each
/// stopped when `verbose`, and saves the state with no process recorded.
pub async fn stop_all(
    layout: &Layout,
    state: &mut ClusterState,
    timeout: Duration,
    verbose: bool,
) -> anyhow::Result<usize> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, s) in state.servers.iter().enumerate() {
        if let Some(pid) = process::running_pid(s) {
            tasks.spawn(async move { (i, pid, process::stop(pid, timeout).await) });
        }
    }
    let mut stopped = 0;
    let mut failures = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let Ok((i, pid, outcome)) = done else {
            continue;
        };
        let id = &state.servers[i].id;
        match outcome {
            Ok(Stopped::Cleanly(took)) => {
                stopped += 1;
                if verbose {
                    eprintln!("  {id:<12} stopped in {:.1}s", took.as_secs_f64());
                }
            }
            Ok(Stopped::Killed) => {
                stopped += 1;
                eprintln!(
                    "  {id:<12} did not stop within {timeout:?} of SIGTERM and was killed; its identity lease may remain until it expires"
                );
            }
            Err(e) => failures.push(format!("{id} (pid {pid}): {e:#}")),
        }
    }
    match metrics::stop(layout, state, timeout).await {
        Ok(true) if verbose => eprintln!("  {:<12} stopped", metrics::NAME),
        Ok(_) => {}
        Err(e) => failures.push(format!("{} : {e:#}", metrics::NAME)),
    }
    for s in &mut state.servers {
        if s.pid.is_some_and(|pid| !process::alive(pid)) || s.pid.is_none() {
            s.pid = None;
        }
        s.restarting = false;
    }
    layout.save(state)?;
    if !failures.is_empty() {
        anyhow::bail!("could not stop {}", failures.join("; "));
    }
    Ok(stopped)
}

pub async fn run(layout: &Layout, args: DownArgs) -> anyhow::Result<ExitCode> {
    let mut state = layout.load_existing()?;
    let _lock = layout.lock()?;
    let supervisor = process::supervisor_alive(&state);
    let stopped = stop_all(layout, &mut state, args.timeout, true).await?;
    // A foreground `up` exits by itself once its servers are gone.
    if let Some(pid) = supervisor {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while process::alive(pid) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if process::alive(pid) {
            let _ = process::signal(pid, rustix::process::Signal::TERM);
        }
    }
    if stopped == 0 {
        eprintln!("no server of {} was running", layout.dir.display());
    } else {
        eprintln!(
            "stopped {stopped} servers; data and certificates stay in {}",
            layout.dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

//! `skewless cluster`: a local mixed-version, highly available control
//! plane in one command, and a rolling-upgrade rehearsal under live traffic.
//!
//! - `up` generates a PKI, starts N `skewless serve` processes (this binary
//!   re-executed) on one storage with the Mixed Version Proxy wired, waits
//!   until they are ready and writes a kubeconfig;
//! - `status` shows each server's version, readiness, what only it serves
//!   and how many requests it rerouted;
//! - `upgrade` replaces servers one at a time while [`probe`] drives
//!   traffic through every server, and reports every wrong answer;
//! - `down` stops the servers; `logs` prints one server's log.
//!
//! Everything a command needs to find the cluster again lives in the state
//! directory ([`state`]). This module never signals a process it has not
//! verified to be one of the cluster's servers.

mod discovery;
mod display;
mod down;
mod html;
mod metrics;
mod probe;
mod process;
mod report;
mod skew;
mod state;
mod status;
mod up;
mod upgrade;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use display::Display;
use state::Layout;

/// `skewless cluster ...`
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// The cluster's directory: certificates, data, logs, kubeconfig, and
    /// which processes run it.
    #[arg(long, global = true, default_value = ".skewless")]
    state_dir: PathBuf,
    #[command(subcommand)]
    command: ClusterCommand,
}

#[derive(Debug, Subcommand)]
enum ClusterCommand {
    /// Start a local mixed-version control plane (foreground unless --detach).
    Up(up::UpArgs),
    /// Stop the cluster's servers (SIGTERM, then SIGKILL after a timeout).
    Down(down::DownArgs),
    /// Show each server's version, readiness, what only it serves, and how
    /// many requests it rerouted.
    Status(status::StatusArgs),
    /// Replace servers one at a time with another version under live
    /// traffic, and report every wrong answer.
    Upgrade(upgrade::UpgradeArgs),
    /// Print one server's log.
    Logs(LogsArgs),
}

#[derive(Debug, Args)]
struct LogsArgs {
    /// The server: its number (1 is the first) or its ID.
    server: String,
    /// Keep printing what the server writes.
    #[arg(long, short)]
    follow: bool,
}

/// Runs a `skewless cluster` command; the exit code says whether it
/// succeeded (for `upgrade`: whether the rehearsal found no wrong answer).
pub async fn run(args: ClusterArgs) -> anyhow::Result<ExitCode> {
    let layout = Layout::new(&args.state_dir)?;
    let display = Display {
        state_dir: args.state_dir.clone(),
    };
    match args.command {
        ClusterCommand::Up(a) => up::run(&layout, &display, a).await,
        ClusterCommand::Down(a) => down::run(&layout, a).await,
        ClusterCommand::Status(a) => status::run(&layout, a).await,
        ClusterCommand::Upgrade(a) => upgrade::run(&layout, a).await,
        ClusterCommand::Logs(a) => logs(&layout, a).await,
    }
}

async fn logs(layout: &Layout, args: LogsArgs) -> anyhow::Result<ExitCode> {
    use std::io::Write as _;
    let state = layout.load_existing()?;
    let i = state.server_index(&args.server)?;
    let path = layout.log(&state.servers[i].id);
    let mut offset = 0usize;
    let mut out = std::io::stdout().lock();
    loop {
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && args.follow => Vec::new(),
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "reading {} (has {} ever started?)",
                        path.display(),
                        state.servers[i].id
                    )
                });
            }
        };
        if data.len() < offset {
            offset = 0;
        }
        out.write_all(&data[offset..])
            .context("writing to stdout")?;
        out.flush().context("writing to stdout")?;
        offset = data.len();
        if !args.follow {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

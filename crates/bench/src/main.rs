//! `skewless-bench`: measures running `skewless serve` processes over
//! HTTPS, the way clients see them, and prints Markdown tables for
//! `docs/BENCHMARKS.md`.
//!
//! ```text
//! skewless-bench single [--engine sqlite|etcd|both] [--runs N] [--binary PATH]
//!                       [--protocol h2|http1] [--clients N] [--idle-seconds S] [--scale F]
//! ```
//!
//! ```text
//! skewless-bench hop      [--runs N] [--clients 1,16,64] [--requests N] [--protocol h2|http1] [--no-nginx]
//! skewless-bench watch    [--runs N] [--watchers 1,1000] [--per-connection N]
//! skewless-bench converge [--trials N] [--skip-crd]
//! skewless-bench growth   [--runs N] [--max-objects N] [--watchers 1,10,100,1000] [--plots DIR]
//! skewless-bench ratios   [--runs N] [--baseline-binary PATH] [--server-arg FLAG]... [--big-list N]
//! ```
//!
//! Each scenario is a subcommand. It never builds anything:
//! `scripts/bench-server.sh` (single) and `scripts/bench-mvp.sh` (hop,
//! watch, converge, growth) build the release binaries and run it.

mod client;
mod cluster;
mod converge;
mod growth;
mod hop;
mod measure;
mod nginx;
mod plot;
mod procfs;
mod ratios;
mod rbac;
mod single;
mod watch;
mod wrk;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "skewless-bench",
    about = "Benchmarks of running skewless servers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// One server per storage engine: GET, LIST, CREATE, UPDATE latency and
    /// throughput, and its resident memory.
    Single(single::SingleArgs),
    /// The peer hop: a GET proxied by one server to another against the
    /// same GET direct and through nginx.
    Hop(hop::HopArgs),
    /// Watch event latency direct and through the peer proxy, with 1 and
    /// 1,000 watchers.
    Watch(watch::WatchArgs),
    /// How fast a peer's newly served group/version becomes listed and
    /// routable on another server.
    Converge(converge::ConvergeArgs),
    /// One server from 1k to 100k objects and from 1 to 1,000 watchers:
    /// latency, create throughput, RSS, and PNG plots.
    Growth(growth::GrowthArgs),
    /// What RBAC costs a GET with 1,000 roles and 1,000 bindings: the same
    /// GET by system:masters and by an RBAC-authorized user.
    Rbac(rbac::RbacArgs),
    /// Every ratio of the performance issue from one run: direct GET vs
    /// nginx's static file, the peer hop vs direct and vs nginx's proxy
    /// (wrk), LIST throughput, memory, and 1,000 watchers' fan-out.
    Ratios(ratios::RatiosArgs),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Single(args) => single::run(args).await,
        Command::Hop(args) => hop::run(args).await,
        Command::Watch(args) => watch::run(args).await,
        Command::Converge(args) => converge::run(args).await,
        Command::Growth(args) => growth::run(args).await,
        Command::Rbac(args) => rbac::run(args).await,
        Command::Ratios(args) => ratios::run(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("skewless-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

//! `skewless-bench`: measures running `skewless serve` processes over
//! HTTPS, the way clients see them, and prints Markdown tables for
//! `docs/BENCHMARKS.md`.
//!
//! ```text
//! skewless-bench single [--engine sqlite|etcd|both] [--runs N] [--binary PATH]
//!                       [--protocol h2|http1] [--clients N] [--idle-seconds S] [--scale F]
//! ```
//!
//! Each scenario is a subcommand (`single` now; peer hops through a second
//! server later). It never builds anything: `scripts/bench-server.sh`
//! builds the release binaries and runs it.

mod client;
mod measure;
mod procfs;
mod single;

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
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Single(args) => single::run(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("skewless-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

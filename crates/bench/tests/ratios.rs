//! `skewless-bench ratios` end to end in a tiny configuration: real
//! servers (the debug `skewless` binary built next to this one), real wrk
//! and nginx, every table printed with a figure in each row it measures.

use std::path::PathBuf;
use std::process::Command;

/// The `skewless` binary of the same build as the bench (a workspace
/// test run builds both into one directory).
fn skewless_binary() -> PathBuf {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_skewless-bench"));
    let binary = bench.with_file_name("skewless");
    assert!(
        binary.exists(),
        "{} is missing: build it first (`cargo build -p skewless`; the workspace test run does)",
        binary.display()
    );
    binary
}

#[test]
fn ratios_prints_every_figure_from_one_tiny_run() {
    let out = Command::new(env!("CARGO_BIN_EXE_skewless-bench"))
        .args(["ratios", "--runs", "1", "--seconds", "1"])
        .args(["--list-objects", "120", "--page", "50", "--lists", "2"])
        .args(["--list-clients", "2", "--watchers", "20", "--events", "3"])
        .args(["--big-list", "300", "--idle-seconds", "0"])
        .args(["--list-baseline", "1,1"])
        .arg("--binary")
        .arg(skewless_binary())
        .output()
        .expect("running skewless-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}\n{stdout}\n{stderr}", out.status);
    for row in [
        "| direct GET / nginx static file, req/s | ",
        "| peer hop / direct, p50 | ",
        "| peer hop / direct, req/s | ",
        "| A's CPU per proxied request / nginx's per proxied request | ",
        "| nginx as the proxy / direct, p50 | ",
        "| nginx as the proxy / direct, req/s | ",
        "| peer hop / nginx as the proxy, p50 | ",
        "| peer hop / nginx as the proxy, req/s | ",
        "| LIST 120 objects / the recorded baseline, lists/s | ",
        "| LIST 120 objects in pages of 50 / the recorded baseline, walks/s | ",
        "| 20 watchers, event fan-out p99 ms in-process (watch cache to each watch stream) | ",
        "| the same, p99 ms end to end over HTTP/2 (create sent until each watcher read it) | ",
        "| RSS MiB, 120 objects and 20 watchers | ",
        "| RSS MiB, idle 0 s after start-up | ",
        "| peak RSS increase MiB, one full LIST of 300 | ",
        "| peak RSS increase MiB, one LIST of 300 in pages of 50 | ",
        "| nginx, the same bytes as a static file | ",
        "| skewless B, directly | ",
        "| via A (proxied to B) | ",
        "| via nginx (proxied to B) | ",
        "| measured, full LISTs | ",
        "| measured, walks in pages of 50 | ",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("no row {row:?} in:\n{stdout}"));
        // A measured figure, not the empty-row dash.
        let figures = &line[row.len()..];
        assert!(
            figures.chars().next().is_some_and(|c| c.is_ascii_digit()),
            "row without a figure: {line}\n{stdout}"
        );
    }
    assert!(stdout.contains("Load average"), "{stdout}");
}

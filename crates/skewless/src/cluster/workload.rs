//! `cluster upgrade --run CMD`: the user's own workload as a probe.
//!
//! CMD runs with `sh -c`, one run after another, for the whole rehearsal.
//! Each run gets `KUBECONFIG` pointing at a kubeconfig (under
//! `<state-dir>/run/`) whose current context is the next live server in
//! turn — kubectl has no round robin of its own — plus `SKEWLESS_SERVER`
//! and `SKEWLESS_PHASE` naming that server and the phase. A server being
//! replaced gets no new runs, as it gets no new probe requests.
//!
//! A run that exits non-zero is a failure, recorded in the phase it began
//! in with its exit code, the tail of its output and every server's log
//! lines from a few seconds before it began until it ended.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use skewless_local::kubeconfig::Kubeconfig;
use tokio::sync::watch;

use super::probe::ProbeView;
use super::state::{ClusterState, DEFAULT_CONTEXT, Layout};

/// The least time between the starts of two runs.
const MIN_PERIOD: Duration = Duration::from_millis(200);
/// Failures recorded in detail (all are counted).
const MAX_FAILURES: usize = 50;
/// Log lines kept per server and failure.
const LOG_LINES: usize = 20;
/// Output lines kept per failure.
const OUTPUT_LINES: usize = 10;
/// How far before a failed run its servers' log lines go back.
const LOG_BEFORE: Duration = Duration::from_secs(10);

/// Runs and failures in one phase.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PhaseRuns {
    pub runs: u64,
    pub failures: u64,
}

/// One failed run.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadFailure {
    /// Seconds since the probe started, when the run began.
    pub at: f64,
    pub phase: String,
    /// The server its kubeconfig's current context named.
    pub server: String,
    /// `None` when it was killed (by a signal, or after the timeout).
    pub exit_code: Option<i32>,
    pub seconds: f64,
    /// The last lines of its stderr (stdout when stderr is empty).
    pub output: String,
    /// Per server, the last log lines it wrote from a few seconds before
    /// the run until it ended.
    pub server_logs: BTreeMap<String, Vec<String>>,
}

/// What the `--run` command did through the rehearsal.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadReport {
    pub command: String,
    pub runs: u64,
    pub failed: u64,
    pub by_phase: BTreeMap<String, PhaseRuns>,
    /// The first failures, in detail.
    pub failures: Vec<WorkloadFailure>,
}

impl WorkloadReport {
    pub fn print_failures(&self) {
        if self.failures.is_empty() {
            return;
        }
        println!();
        println!(
            "--run {:?}: {} of {} runs failed; the first:",
            self.command, self.failed, self.runs
        );
        for f in self.failures.iter().take(5) {
            println!(
                "  +{:.1}s [{}] via {}: {} after {:.1}s",
                f.at,
                f.phase,
                f.server,
                f.exit_code
                    .map_or_else(|| "killed".to_owned(), |c| format!("exit {c}")),
                f.seconds
            );
            for l in f.output.lines() {
                println!("    | {l}");
            }
            for (server, lines) in &f.server_logs {
                for l in lines {
                    println!("    {server}: {l}");
                }
            }
        }
    }
}

/// The command running beside the probe.
pub struct Workload {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<WorkloadReport>,
    timeout: Duration,
    command: String,
}

/// What each run needs, per server.
struct Server {
    id: String,
    kubeconfig: PathBuf,
    log: PathBuf,
}

impl Workload {
    /// Writes one kubeconfig per server and starts running `command`.
    /// A run taking longer than `timeout` is killed and counted failed.
    pub fn start(
        layout: &Layout,
        state: &ClusterState,
        command: &str,
        timeout: Duration,
        view: ProbeView,
    ) -> anyhow::Result<Self> {
        let dir = layout.dir.join("run");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let urls: Vec<(String, String)> = state
            .servers
            .iter()
            .map(|s| (s.id.clone(), s.url()))
            .collect();
        let mut servers = Vec::new();
        for s in &state.servers {
            let mut config = Kubeconfig::admin(&layout.pki_files(), &urls, DEFAULT_CONTEXT);
            config.current_context = s.id.clone();
            let path = dir.join(format!("{}.kubeconfig", s.id));
            config.write(&path)?;
            servers.push(Server {
                id: s.id.clone(),
                kubeconfig: path,
                log: layout.log(&s.id),
            });
        }
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run_loop(
            command.to_owned(),
            timeout,
            servers,
            view,
            stopped,
        ));
        Ok(Self {
            stop,
            task,
            timeout,
            command: command.to_owned(),
        })
    }

    /// Lets the run under way finish (bounded) and reports. When the runs
    /// cannot be collected (the loop did not stop in time, or failed), the
    /// report says so as one failed run, never as a clean pass.
    pub async fn finish(self) -> WorkloadReport {
        self.stop.send_replace(true);
        let abort = self.task.abort_handle();
        let bound = self.timeout + Duration::from_secs(5);
        let why = match tokio::time::timeout(bound, self.task).await {
            Ok(Ok(report)) => return report,
            Ok(Err(e)) => format!("the --run loop failed: {e}"),
            Err(_) => {
                abort.abort();
                format!("the --run loop did not stop within {bound:?} after the rehearsal ended")
            }
        };
        WorkloadReport {
            command: self.command,
            runs: 1,
            failed: 1,
            by_phase: BTreeMap::new(),
            failures: vec![WorkloadFailure {
                at: 0.0,
                phase: "end".to_owned(),
                server: String::new(),
                exit_code: None,
                seconds: bound.as_secs_f64(),
                output: format!("{why}; the results of its runs were lost"),
                server_logs: BTreeMap::new(),
            }],
        }
    }
}

fn log_len(path: &PathBuf) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The last `max` lines `path` gained past `offset`.
fn log_since(path: &PathBuf, offset: u64, max: usize) -> Vec<String> {
    let Ok(data) = std::fs::read(path) else {
        return Vec::new();
    };
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(data.len());
    let text = String::from_utf8_lossy(&data[start..]);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(max)..]
        .iter()
        .map(|l| (*l).to_owned())
        .collect()
}

fn tail(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(max)..].join("\n")
}

async fn run_loop(
    command: String,
    timeout: Duration,
    servers: Vec<Server>,
    view: ProbeView,
    stop: watch::Receiver<bool>,
) -> WorkloadReport {
    let mut report = WorkloadReport {
        command: command.clone(),
        runs: 0,
        failed: 0,
        by_phase: BTreeMap::new(),
        failures: Vec::new(),
    };
    let n = servers.len();
    let mut next = 0;
    // Each server's log length at recent instants, oldest first: where a
    // failure's log lines begin.
    let mut marks: std::collections::VecDeque<(Instant, Vec<u64>)> = Default::default();
    while !*stop.borrow() {
        let Some(i) = (0..n).map(|k| (next + k) % n).find(|i| view.live(*i)) else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        next = i + 1;
        let server = &servers[i];
        let phase = view.phase();
        let at = view.elapsed();
        let began = Instant::now();
        marks.push_back((began, servers.iter().map(|s| log_len(&s.log)).collect()));
        while marks
            .get(1)
            .is_some_and(|(t, _)| began.duration_since(*t) >= LOG_BEFORE)
        {
            marks.pop_front();
        }
        let offsets = marks.front().map(|(_, o)| o.clone()).unwrap_or_default();
        let child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .env("KUBECONFIG", &server.kubeconfig)
            .env("SKEWLESS_SERVER", &server.id)
            .env("SKEWLESS_PHASE", &phase)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output();
        let result = tokio::time::timeout(timeout, child).await;
        let seconds = began.elapsed().as_secs_f64();
        report.runs += 1;
        let counts = report.by_phase.entry(phase.clone()).or_default();
        counts.runs += 1;
        let failure = match result {
            Ok(Ok(out)) if out.status.success() => None,
            Ok(Ok(out)) => Some((
                out.status.code(),
                if out.stderr.iter().all(u8::is_ascii_whitespace) {
                    tail(&out.stdout, OUTPUT_LINES)
                } else {
                    tail(&out.stderr, OUTPUT_LINES)
                },
            )),
            Ok(Err(e)) => Some((None, format!("could not run sh: {e}"))),
            Err(_) => Some((None, format!("killed after {timeout:?} (--run-timeout)"))),
        };
        if let Some((exit_code, output)) = failure {
            counts.failures += 1;
            report.failed += 1;
            if report.failures.len() < MAX_FAILURES {
                let server_logs = servers
                    .iter()
                    .zip(&offsets)
                    .map(|(s, off)| (s.id.clone(), log_since(&s.log, *off, LOG_LINES)))
                    .filter(|(_, lines)| !lines.is_empty())
                    .collect();
                report.failures.push(WorkloadFailure {
                    at,
                    phase,
                    server: server.id.clone(),
                    exit_code,
                    seconds,
                    output,
                    server_logs,
                });
            }
        }
        if let Some(rest) = MIN_PERIOD.checked_sub(began.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
    report
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_since_an_offset_and_output_tails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.log");
        std::fs::write(&path, "old\n").unwrap();
        let offset = log_len(&path);
        std::fs::write(&path, "old\nnew 1\n\nnew 2\n").unwrap();
        assert_eq!(log_since(&path, offset, 10), ["new 1", "new 2"]);
        assert_eq!(log_since(&path, offset, 1), ["new 2"]);
        assert!(log_since(&dir.path().join("none"), 0, 5).is_empty());
        assert_eq!(tail(b"a\nb\nc\n", 2), "b\nc");
    }
}

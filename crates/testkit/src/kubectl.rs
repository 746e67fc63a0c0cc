//! Driving the pinned kubectl against a test server: its own kubeconfig,
//! discovery cache and home directory (so runs never share state), and
//! helpers for the common shapes of a kubectl step.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use skewless_local::kubeconfig::{KubeContext, Kubeconfig, User};

use crate::paths::kubectl_path;
use crate::pki::{Pki, TOKEN};

/// How long one kubectl run may take (on a loaded two-core machine).
pub const RUN_LIMIT: Duration = Duration::from_secs(120);

/// kubectl configured for one test server.
#[derive(Debug)]
pub struct Kubectl {
    binary: PathBuf,
    kubeconfig: std::path::PathBuf,
    cache: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl Kubectl {
    /// kubectl for the server at `url`, with contexts `admin` (default),
    /// `token` and `nobody` (an invalid token).
    pub fn new(url: &str, pki: &Pki) -> Self {
        Self::with_binary(kubectl_path(), url, pki)
    }

    /// As [`Kubectl::new`], running the kubectl at `binary` (another
    /// release, see [`crate::client_path`]).
    pub fn with_binary(binary: PathBuf, url: &str, pki: &Pki) -> Self {
        let home = tempfile::tempdir().unwrap();
        Self {
            binary,
            kubeconfig: kubeconfig(home.path(), url, pki),
            cache: tempfile::tempdir().unwrap(),
            home,
        }
    }

    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// A scratch directory that lives as long as this kubectl.
    pub fn dir(&self) -> &Path {
        self.home.path()
    }

    /// The command, not yet run.
    pub fn command(&self, context: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.env("KUBECONFIG", &self.kubeconfig)
            .env("KUBECACHEDIR", self.cache.path())
            .env("HOME", self.home.path())
            .arg("--context")
            .arg(context)
            .args(args);
        cmd
    }

    /// Runs kubectl in `context` with optional standard input; kills it
    /// and panics when it runs longer than [`RUN_LIMIT`].
    pub fn run_as(&self, context: &str, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = self
            .command(context, args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.binary.display()));
        if let Some(input) = stdin {
            use std::io::Write as _;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        drop(child.stdin.take());
        // Drain both pipes while waiting, so a chatty kubectl never blocks.
        use std::io::Read as _;
        let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                if let Some(mut p) = pipe {
                    let _ = p.read_to_end(&mut buf);
                }
                buf
            })
        };
        let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
        let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
        let deadline = Instant::now() + RUN_LIMIT;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "kubectl {} ran longer than {RUN_LIMIT:?}: killed",
                    args.join(" ")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Output {
            status,
            stdout: stdout.join().unwrap(),
            stderr: stderr.join().unwrap(),
        }
    }

    /// Runs kubectl as admin.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        self.run_as("admin", args, stdin)
    }

    /// Runs kubectl as admin, asserts success, returns standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, None)
    }

    pub fn ok_with(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "kubectl {} failed:\nstdout: {}\nstderr: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl as admin, asserts failure, returns standard error.
    pub fn fails(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert!(
            !out.status.success(),
            "kubectl {} should have failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Starts `kubectl <args>` (a watch), lets it settle, runs `change`,
    /// and returns the lines it printed up to one equal to `until` (or
    /// whatever it printed within 20 s).
    pub fn watch_until(&self, args: &[&str], until: &str, change: impl FnOnce()) -> Vec<String> {
        let mut watch = self
            .command("admin", args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = watch.stdout.take().unwrap();
        let until = until.to_owned();
        // The watch prints the current state first: once that line is
        // out, kubectl watches from the list's resourceVersion, so the
        // change cannot be missed.
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let seen = std::thread::spawn(move || {
            use std::io::BufRead as _;
            let mut lines = Vec::new();
            for line in std::io::BufReader::new(stdout).lines() {
                let line = line.unwrap_or_default();
                let _ = started_tx.send(());
                let done = line == until;
                lines.push(line);
                if done {
                    break;
                }
            }
            lines
        });
        let started = started_rx.recv_timeout(Duration::from_secs(20)).is_ok();
        if started {
            change();
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while started && !seen.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = watch.kill();
        let _ = watch.wait();
        let lines = seen.join().unwrap();
        assert!(started, "the watch printed nothing within 20 s");
        lines
    }
}

/// Writes a kubeconfig for the server at `url`: contexts `admin` (the
/// admin certificate, current), `token` (the static token) and `nobody`
/// (a token no server knows).
pub fn kubeconfig(dir: &Path, url: &str, pki: &Pki) -> PathBuf {
    let path = dir.join("kubeconfig");
    let context = |name: &str| KubeContext::new(name, "test", name);
    Kubeconfig {
        ca: pki.ca.clone(),
        clusters: vec![("test".to_owned(), url.to_owned())],
        users: vec![
            (
                "admin".to_owned(),
                User::Certificate {
                    cert: pki.admin_cert.clone(),
                    key: pki.admin_key.clone(),
                },
            ),
            ("token".to_owned(), User::Token(TOKEN.to_owned())),
            (
                "nobody".to_owned(),
                User::Token("not-a-valid-token".to_owned()),
            ),
        ],
        contexts: vec![context("admin"), context("token"), context("nobody")],
        current_context: "admin".to_owned(),
    }
    .write(&path)
    .unwrap();
    path
}

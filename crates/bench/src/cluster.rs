//! Two `skewless serve` processes with the Mixed Version Proxy on, sharing
//! one SQLite file, as the peer-hop, watch and convergence benchmarks need
//! them: server A does not serve what B serves, so A proxies it to B.
//!
//! Bench harness: setup failures inside the test kit panic with the
//! server's log; everything else is an error.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use http::Method;
use skewless_testkit::{Pki, ServerProcess, Storage, start_peer_with_log};

use crate::client::{Endpoint, Protocol};

/// The log filter benchmarks run servers with: the binary's default
/// (debug logs a line per request).
pub const LOG: &str = "info";

/// The `skewless` binary to run: `--binary`, else the workspace's release
/// build, which must exist (the bench never builds).
pub fn binary(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    let binary = flag
        .map(Path::to_path_buf)
        .unwrap_or_else(|| skewless_testkit::workspace_root().join("target/release/skewless"));
    if !binary.exists() {
        bail!(
            "{} does not exist: build it with `cargo build --release -p skewless` (scripts/bench-mvp.sh does)",
            binary.display()
        );
    }
    Ok(binary)
}

/// Two peers on one shared SQLite database.
#[derive(Debug)]
pub struct Pair {
    /// The front server, which lacks what `b` serves.
    pub a: ServerProcess,
    /// The server that serves it.
    pub b: ServerProcess,
    _dir: tempfile::TempDir,
}

impl Pair {
    /// Starts A with `a_extra` and B with `b_extra` flags.
    pub async fn start(
        binary: &Path,
        pki: &Pki,
        a_extra: &[&str],
        b_extra: &[&str],
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("a directory for the shared database")?;
        let storage = Storage::SharedSqlite(dir.path().to_path_buf());
        let a = start_peer_with_log(binary, pki, &storage, "server-a", a_extra, LOG).await;
        let b = start_peer_with_log(binary, pki, &storage, "server-b", b_extra, LOG).await;
        Ok(Self { a, b, _dir: dir })
    }

    /// Both servers' logs, for an error report.
    pub fn logs(&self) -> String {
        format!(
            "server A log:\n{}\nserver B log:\n{}",
            self.a.log_text(),
            self.b.log_text()
        )
    }
}

/// Polls `path` on `url` until it answers 200 (the proxy has learnt that
/// a peer serves it), for at most `timeout`.
pub async fn wait_for_200(
    url: &str,
    pki: &Pki,
    path: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let endpoint = Endpoint::new(url, pki, Protocol::Http1)?;
    let mut conn = endpoint.connect(1).await?.pop().context("no connection")?;
    let deadline = Instant::now() + timeout;
    loop {
        let reply = conn.send(&Method::GET, path, None).await?;
        if reply.status == 200 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "GET {path} on {url} still answers {} after {timeout:?}",
                reply.status
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The JSON of a Job named `name` (batch/v1), about 0.5 KB.
pub fn job(name: &str, annotations: Option<serde_json::Value>) -> bytes::Bytes {
    let mut meta = serde_json::json!({"name": name});
    if let Some(a) = annotations {
        meta["annotations"] = a;
    }
    let obj = serde_json::json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {"template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "c", "image": "busybox", "command": ["true"]}],
        }}},
    });
    bytes::Bytes::from(obj.to_string())
}

/// The JSON of a Namespace.
pub fn namespace(name: &str) -> bytes::Bytes {
    bytes::Bytes::from(
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
            .to_string(),
    )
}

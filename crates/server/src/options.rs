//! What `skewless serve` is told on its command line, as plain data. The
//! binary parses flags (named as kube-apiserver names them) into this; the
//! server never reads the environment or argv itself.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything a server needs to start.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// `--bind-address`.
    pub bind_address: IpAddr,
    /// `--secure-port`; `0` picks a free port (tests).
    pub secure_port: u16,
    /// `--tls-cert-file` / `--tls-private-key-file`; when absent a
    /// self-signed pair is generated into `cert_dir` (and reused).
    pub tls_cert_file: Option<PathBuf>,
    pub tls_private_key_file: Option<PathBuf>,
    /// `--cert-dir`.
    pub cert_dir: PathBuf,
    /// `--data-dir`: where the embedded SQLite database lives.
    pub data_dir: PathBuf,
    /// `--etcd-servers`: use etcd instead of the embedded store.
    pub etcd_servers: Vec<String>,
    /// `--etcd-prefix`.
    pub etcd_prefix: String,
    /// `--client-ca-file`: client certificates signed by it authenticate
    /// as CN (user) and O (groups).
    pub client_ca_file: Option<PathBuf>,
    /// `--token-auth-file`: kube-apiserver's static token CSV.
    pub token_auth_file: Option<PathBuf>,
    /// Front-proxy (request-header) authentication.
    pub requestheader: RequestHeaderOptions,
    /// `--emulated-version`, e.g. `1.35`.
    pub emulated_version: String,
    /// `--runtime-config`.
    pub runtime_config: String,
    /// `--apiserver-id`: this server's identity (defaults from the hostname).
    pub apiserver_id: Option<String>,
    /// How long in-flight requests may take to finish on SIGTERM.
    pub shutdown_grace: Duration,
    /// `--max-request-body-bytes`-like limit (3 MiB as kube-apiserver).
    pub max_request_body_bytes: usize,
    /// How often in-process controllers re-check their work.
    pub controller_resync: Duration,
    /// `--etcd-compaction-interval` (applies to both engines); zero disables.
    pub compaction_interval: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            bind_address: IpAddr::from([127, 0, 0, 1]),
            secure_port: 6443,
            tls_cert_file: None,
            tls_private_key_file: None,
            cert_dir: PathBuf::from("skewless-data/certs"),
            data_dir: PathBuf::from("skewless-data"),
            etcd_servers: Vec::new(),
            etcd_prefix: "/registry".to_owned(),
            client_ca_file: None,
            token_auth_file: None,
            requestheader: RequestHeaderOptions::default(),
            emulated_version: "1.36".to_owned(),
            runtime_config: String::new(),
            apiserver_id: None,
            shutdown_grace: Duration::from_secs(30),
            max_request_body_bytes: 3 * 1024 * 1024,
            controller_resync: Duration::from_secs(5),
            compaction_interval: Duration::from_secs(300),
        }
    }
}

/// `--requestheader-*`: who may assert a user in headers, and which headers.
#[derive(Debug, Clone)]
pub struct RequestHeaderOptions {
    pub client_ca_file: Option<PathBuf>,
    /// Common names allowed to assert users; empty allows any certificate
    /// signed by `client_ca_file`.
    pub allowed_names: Vec<String>,
    pub username_headers: Vec<String>,
    pub uid_headers: Vec<String>,
    pub group_headers: Vec<String>,
    pub extra_headers_prefix: Vec<String>,
}

impl Default for RequestHeaderOptions {
    fn default() -> Self {
        Self {
            client_ca_file: None,
            allowed_names: Vec::new(),
            username_headers: vec!["X-Remote-User".to_owned()],
            uid_headers: vec!["X-Remote-Uid".to_owned()],
            group_headers: vec!["X-Remote-Group".to_owned()],
            extra_headers_prefix: vec!["X-Remote-Extra-".to_owned()],
        }
    }
}

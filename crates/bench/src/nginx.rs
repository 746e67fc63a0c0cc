//! A private nginx reverse proxy in front of one skewless server: the
//! reference cost of a plain proxy hop for the peer-hop benchmark.
//!
//! TLS on both sides, as our peer hop: nginx terminates the client's TLS
//! with the test PKI's serving certificate (valid for `localhost`) and
//! proxies over HTTPS to the server with upstream keep-alive, presenting
//! the admin client certificate (which the server trusts through
//! `--client-ca-file`) and verifying the server against the test CA.
//! Clients may speak HTTP/2 to it; nginx speaks HTTP/1.1 upstream (it has
//! no HTTP/2 upstream). It listens on a free loopback port, writes
//! everything under its own temporary directory, and is stopped (SIGTERM
//! to the master, which stops its workers) when dropped.
//!
//! It can also serve one file as a static response at [`STATIC_PATH`] (the
//! reference cost of answering with bytes already in hand).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use skewless_testkit::Pki;

/// A running nginx.
#[derive(Debug)]
pub struct Nginx {
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    child: Option<std::process::Child>,
    dir: tempfile::TempDir,
}

/// Where [`Nginx::start_with_static`] serves its file.
pub const STATIC_PATH: &str = "/static.json";

fn config(dir: &Path, port: u16, upstream: &str, pki: &Pki, static_file: Option<&Path>) -> String {
    let d = dir.display();
    let p = |p: &Path| p.display().to_string();
    let static_location = static_file
        .map(|f| {
            format!(
                "location = {STATIC_PATH} {{\n            default_type application/json;\n            alias {};\n        }}",
                f.display()
            )
        })
        .unwrap_or_default();
    format!(
        r#"worker_processes auto;
error_log {d}/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    # One client connection carries every request of a run.
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    upstream skewless {{
        server {upstream};
        keepalive 64;
        keepalive_requests 100000000;
        keepalive_timeout 300s;
    }}
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {serving_cert};
        ssl_certificate_key {serving_key};
        ssl_protocols TLSv1.2 TLSv1.3;
        {static_location}
        location / {{
            proxy_pass https://skewless;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_ssl_certificate {admin_cert};
            proxy_ssl_certificate_key {admin_key};
            proxy_ssl_trusted_certificate {ca};
            proxy_ssl_verify on;
            proxy_ssl_name localhost;
            proxy_ssl_server_name on;
            proxy_ssl_session_reuse on;
            proxy_read_timeout 300s;
        }}
    }}
}}
"#,
        serving_cert = p(&pki.serving_cert),
        serving_key = p(&pki.serving_key),
        admin_cert = p(&pki.admin_cert),
        admin_key = p(&pki.admin_key),
        ca = p(&pki.ca),
    )
}

impl Nginx {
    /// Starts `binary` (e.g. `nginx`) proxying to `upstream` (`host:port`)
    /// and waits until it accepts connections.
    pub async fn start(binary: &str, pki: &Pki, upstream: &str) -> anyhow::Result<Self> {
        Self::start_with_static(binary, pki, upstream, None).await
    }

    /// As [`Nginx::start`], also serving `static_file` at [`STATIC_PATH`].
    pub async fn start_with_static(
        binary: &str,
        pki: &Pki,
        upstream: &str,
        static_file: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("nginx directory")?;
        // A free port: the kernel picks one, nginx binds it right after.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("finding a free port")?
            .port();
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, config(dir.path(), port, upstream, pki, static_file))
            .context("writing nginx.conf")?;
        let child = std::process::Command::new(binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off;"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .with_context(|| {
                format!("starting {binary} (Debian: apt-get install nginx, or --no-nginx)")
            })?;
        let nginx = Self {
            url: format!("https://127.0.0.1:{port}"),
            child: Some(child),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                bail!("nginx did not listen within 10 s: {}", nginx.error_log());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(nginx)
    }

    /// The master process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(std::process::Child::id)
    }

    /// nginx's error log, for an error report.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SIGTERM: the master stops its workers (SIGKILL would orphan them).
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

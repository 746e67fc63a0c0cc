//! The one HTTPS client `skewless cluster` talks to its servers with:
//! readiness, discovery, metrics, and the upgrade probe's traffic.
//!
//! One HTTP/2 connection per server, reused across requests and re-dialled
//! when it breaks (a server restarted), trusting only the cluster CA and
//! presenting the admin client certificate. It never follows redirects and
//! never retries: the probe must see exactly what a client would see.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::ServerName;
use skewless_server::tls::{install_crypto_provider, load_certs, load_key};

/// How long dialling a server (TCP + TLS + HTTP/2 handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A complete response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Bytes,
}

impl Response {
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.body).context("the response is not JSON")
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A client for one server.
#[derive(Clone)]
pub struct ApiClient {
    authority: String,
    server_name: ServerName<'static>,
    connector: tokio_rustls::TlsConnector,
    conn: Arc<tokio::sync::Mutex<Option<SendRequest<Full<Bytes>>>>>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

/// The TLS settings every client of one cluster shares: the cluster CA
/// and the admin certificate.
#[derive(Clone)]
pub struct Credentials {
    connector: tokio_rustls::TlsConnector,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").finish_non_exhaustive()
    }
}

impl Credentials {
    /// Trusts `ca` and presents `cert`/`key`.
    pub fn load(ca: &Path, cert: &Path, key: &Path) -> anyhow::Result<Self> {
        install_crypto_provider();
        let mut roots = rustls::RootCertStore::empty();
        for c in load_certs(ca)? {
            roots
                .add(c)
                .with_context(|| format!("using {} as a CA", ca.display()))?;
        }
        let mut config = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_client_auth_cert(load_certs(cert)?, load_key(key)?)
            .with_context(|| format!("using {} as a client certificate", cert.display()))?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Self {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
        })
    }

    /// A client for `https://127.0.0.1:<port>`.
    pub fn client(&self, port: u16) -> ApiClient {
        ApiClient {
            authority: format!("127.0.0.1:{port}"),
            server_name: ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()),
            connector: self.connector.clone(),
            conn: Arc::new(tokio::sync::Mutex::new(None)),
        }
    }
}

impl ApiClient {
    /// `https://host:port`.
    pub fn url(&self) -> String {
        format!("https://{}", self.authority)
    }

    async fn dial(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let tcp = tokio::net::TcpStream::connect(&self.authority)
            .await
            .with_context(|| format!("connecting to {}", self.authority))?;
        let _ = tcp.set_nodelay(true);
        let tls = self
            .connector
            .connect(self.server_name.clone(), tcp)
            .await
            .with_context(|| format!("TLS handshake with {}", self.authority))?;
        let (sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
                .await
                .with_context(|| format!("HTTP/2 handshake with {}", self.authority))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// The shared connection, dialled when there is none or it closed.
    async fn sender(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let mut guard = self.conn.lock().await;
        if let Some(s) = guard.as_ref()
            && !s.is_closed()
        {
            return Ok(s.clone());
        }
        *guard = None;
        let s = tokio::time::timeout(CONNECT_TIMEOUT, self.dial())
            .await
            .map_err(|_| anyhow!("connecting to {} timed out", self.authority))??;
        *guard = Some(s.clone());
        Ok(s)
    }

    /// Drops the connection; the next request dials a new one.
    pub async fn reset(&self) {
        *self.conn.lock().await = None;
    }

    fn build(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<http::Request<Full<Bytes>>> {
        let uri = format!("https://{}{path}", self.authority);
        let mut req = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if body.is_some()
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            req = req.header("content-type", "application/json");
        }
        req.body(Full::new(Bytes::from(body.unwrap_or_default())))
            .with_context(|| format!("building {method} {path}"))
    }

    /// Sends a request and reads the whole answer within `timeout`.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> anyhow::Result<Response> {
        let req = self.build(method, path, headers, body)?;
        let work = async {
            let mut sender = self.sender().await?;
            let resp = sender
                .send_request(req)
                .await
                .with_context(|| format!("{method} {path} on {}", self.authority))?;
            let status = resp.status().as_u16();
            let body = resp
                .into_body()
                .collect()
                .await
                .with_context(|| format!("reading the answer to {method} {path}"))?
                .to_bytes();
            anyhow::Ok(Response { status, body })
        };
        tokio::time::timeout(timeout, work).await.map_err(|_| {
            anyhow!(
                "{method} {path} on {}: no answer within {timeout:?}",
                self.authority
            )
        })?
    }

    /// `GET` with a deadline.
    pub async fn get(&self, path: &str, timeout: Duration) -> anyhow::Result<Response> {
        self.request("GET", path, &[], None, timeout).await
    }

    /// Opens a streaming `GET` (a watch): the status once the headers
    /// arrived, and the body to read events from.
    pub async fn stream(&self, path: &str, timeout: Duration) -> anyhow::Result<(u16, Incoming)> {
        let req = self.build("GET", path, &[], None)?;
        let work = async {
            let mut sender = self.sender().await?;
            let resp = sender
                .send_request(req)
                .await
                .with_context(|| format!("GET {path} on {}", self.authority))?;
            anyhow::Ok((resp.status().as_u16(), resp.into_body()))
        };
        tokio::time::timeout(timeout, work).await.map_err(|_| {
            anyhow!(
                "GET {path} on {}: no answer within {timeout:?}",
                self.authority
            )
        })?
    }
}

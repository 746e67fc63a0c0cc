//! The one HTTPS client for skewless servers: hyper 1 over tokio-rustls,
//! trusting one CA and presenting a client certificate or none.
//!
//! - [`Credentials`]: the trust root and the identity;
//! - [`Endpoint`]: where a server listens and which protocol to speak
//!   ([`Protocol::H2`] or [`Protocol::Http1`], chosen by ALPN);
//! - [`Connection`]: one kept-alive connection; requests on it never
//!   follow redirects and never retry, so callers see exactly what a
//!   client would see;
//! - [`Client`]: one HTTP/2 connection shared by every request, re-dialled
//!   when it breaks (a server restarted).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::ServerName;
use skewless_server::tls::{install_crypto_provider, load_certs, load_key};

use crate::pki::Pki;

/// How long dialling a server (TCP + TLS + HTTP/2 handshake) may take in
/// a [`Client`].
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The HTTP version spoken on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Protocol {
    /// HTTP/2: one connection carries concurrent requests as streams.
    H2,
    /// HTTP/1.1: one request at a time on a keep-alive connection.
    Http1,
}

impl Protocol {
    /// How tables and messages name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::H2 => "HTTP/2",
            Self::Http1 => "HTTP/1.1",
        }
    }

    fn alpn(self) -> &'static [u8] {
        match self {
            Self::H2 => b"h2",
            Self::Http1 => b"http/1.1",
        }
    }
}

/// The TLS settings of every client of one cluster: the CA to trust and
/// the client certificate to present, if any.
#[derive(Clone)]
pub struct Credentials {
    h2: tokio_rustls::TlsConnector,
    http1: tokio_rustls::TlsConnector,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").finish_non_exhaustive()
    }
}

impl Credentials {
    /// Trusts `ca` and presents `identity` (a certificate and its key), or
    /// no certificate.
    pub fn load(ca: &Path, identity: Option<(&Path, &Path)>) -> anyhow::Result<Self> {
        install_crypto_provider();
        let mut roots = rustls::RootCertStore::empty();
        for c in load_certs(ca)? {
            roots
                .add(c)
                .with_context(|| format!("using {} as a CA", ca.display()))?;
        }
        let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
        let config = match identity {
            Some((cert, key)) => builder
                .with_client_auth_cert(load_certs(cert)?, load_key(key)?)
                .with_context(|| format!("using {} as a client certificate", cert.display()))?,
            None => builder.with_no_client_auth(),
        };
        let connector = |protocol: Protocol| {
            let mut config = config.clone();
            config.alpn_protocols = vec![protocol.alpn().to_vec()];
            tokio_rustls::TlsConnector::from(Arc::new(config))
        };
        Ok(Self {
            h2: connector(Protocol::H2),
            http1: connector(Protocol::Http1),
        })
    }

    /// Trusts the PKI's CA and presents its admin certificate.
    pub fn admin(pki: &Pki) -> anyhow::Result<Self> {
        Self::load(&pki.ca, Some((&pki.admin_cert, &pki.admin_key)))
    }

    /// The server at `url` (`https://host:port`), spoken to in `protocol`.
    /// Its certificate must name `host`.
    pub fn endpoint(&self, url: &str, protocol: Protocol) -> anyhow::Result<Endpoint> {
        let authority = url
            .strip_prefix("https://")
            .with_context(|| format!("{url:?} is not an https:// URL"))?
            .trim_end_matches('/')
            .to_owned();
        let host = match authority.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => authority.as_str(),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let server_name = ServerName::try_from(host.to_owned())
            .with_context(|| format!("{host:?} is not a host name"))?;
        let connector = match protocol {
            Protocol::H2 => self.h2.clone(),
            Protocol::Http1 => self.http1.clone(),
        };
        Ok(Endpoint {
            authority,
            server_name,
            connector,
            protocol,
        })
    }

    /// A shared-connection client for `https://127.0.0.1:<port>`.
    pub fn client(&self, port: u16) -> Client {
        let endpoint = Endpoint {
            authority: format!("127.0.0.1:{port}"),
            server_name: ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()),
            connector: self.h2.clone(),
            protocol: Protocol::H2,
        };
        Client::new(endpoint)
    }
}

/// Where a server listens and how to speak to it.
#[derive(Clone)]
pub struct Endpoint {
    authority: String,
    server_name: ServerName<'static>,
    connector: tokio_rustls::TlsConnector,
    protocol: Protocol,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("authority", &self.authority)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// `https://host:port`.
    pub fn url(&self) -> String {
        format!("https://{}", self.authority)
    }

    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// A new TCP connection (no Nagle delay) with TLS set up on it.
    async fn dial(&self) -> anyhow::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
        let tcp = tokio::net::TcpStream::connect(&self.authority)
            .await
            .with_context(|| format!("connecting to {}", self.authority))?;
        let _ = tcp.set_nodelay(true);
        self.connector
            .connect(self.server_name.clone(), tcp)
            .await
            .with_context(|| format!("TLS handshake with {}", self.authority))
    }

    /// Dials a new connection: TCP (no Nagle delay), TLS, then the
    /// protocol's handshake. Fails when the server chose another protocol.
    pub async fn connect(&self) -> anyhow::Result<Connection> {
        let tls = self.dial().await?;
        let negotiated = tls.get_ref().1.alpn_protocol();
        if negotiated.is_some_and(|p| p != self.protocol.alpn()) {
            bail!("{} chose ALPN {negotiated:?}", self.authority);
        }
        let io = TokioIo::new(tls);
        let sender = match self.protocol {
            Protocol::H2 => {
                let (sender, conn) = http2::handshake(TokioExecutor::new(), io)
                    .await
                    .with_context(|| format!("HTTP/2 handshake with {}", self.authority))?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                Sender::H2(sender)
            }
            Protocol::Http1 => {
                let (sender, conn) = http1::handshake(io)
                    .await
                    .with_context(|| format!("HTTP/1.1 handshake with {}", self.authority))?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                Sender::Http1(sender)
            }
        };
        Ok(Connection {
            sender,
            authority: self.authority.clone(),
        })
    }
}

impl Endpoint {
    /// Sends an upgrade request (`Connection: Upgrade`, `Upgrade:
    /// protocol`) on a new HTTP/1.1 connection of its own: the response
    /// head, and after a `101 Switching Protocols` the upgraded stream
    /// (else the body is still unread in the response).
    pub async fn upgrade(
        &self,
        method: &str,
        path: &str,
        protocol: &str,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<(
        http::Response<Incoming>,
        Option<TokioIo<hyper::upgrade::Upgraded>>,
    )> {
        if self.protocol != Protocol::Http1 {
            bail!("upgrades need HTTP/1.1");
        }
        let tls = self.dial().await?;
        let (mut sender, conn) = http1::handshake(TokioIo::new(tls))
            .await
            .with_context(|| format!("HTTP/1.1 handshake with {}", self.authority))?;
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, &self.authority)
            .header(http::header::CONNECTION, "Upgrade")
            .header(http::header::UPGRADE, protocol);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(Bytes::new()))
            .with_context(|| format!("building {method} {path}"))?;
        let mut response = sender
            .send_request(req)
            .await
            .with_context(|| format!("{method} {path} on {}", self.authority))?;
        if response.status() != http::StatusCode::SWITCHING_PROTOCOLS {
            return Ok((response, None));
        }
        let upgraded = hyper::upgrade::on(&mut response)
            .await
            .with_context(|| format!("upgrading {method} {path}"))?;
        Ok((response, Some(TokioIo::new(upgraded))))
    }
}

enum Sender {
    H2(http2::SendRequest<Full<Bytes>>),
    Http1(http1::SendRequest<Full<Bytes>>),
}

/// One kept-alive connection to a server.
pub struct Connection {
    sender: Sender,
    authority: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

/// A complete response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.body).context("the response is not JSON")
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first `n` characters of the body, for error messages.
    pub fn excerpt(&self, n: usize) -> String {
        String::from_utf8_lossy(&self.body)
            .chars()
            .take(n)
            .collect()
    }
}

impl Connection {
    /// Another handle on the same connection (HTTP/2 only: its requests
    /// run as concurrent streams); `None` for HTTP/1.1.
    pub fn share(&self) -> Option<Connection> {
        match &self.sender {
            Sender::H2(s) => Some(Connection {
                sender: Sender::H2(s.clone()),
                authority: self.authority.clone(),
            }),
            Sender::Http1(_) => None,
        }
    }

    /// Whether the connection is closed (the next request would fail).
    pub fn is_closed(&self) -> bool {
        match &self.sender {
            Sender::H2(s) => s.is_closed(),
            Sender::Http1(s) => s.is_closed(),
        }
    }

    /// Sends a request and returns the response head with the body
    /// unread. A body without a `content-type` header is sent as JSON.
    pub async fn start(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Bytes>,
    ) -> anyhow::Result<http::Response<Incoming>> {
        let mut req = http::Request::builder().method(method);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if body.is_some()
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            req = req.header(http::header::CONTENT_TYPE, "application/json");
        }
        let body = Full::new(body.unwrap_or_default());
        let building = || format!("building {method} {path}");
        let sent = match &mut self.sender {
            // HTTP/2 needs the scheme and authority for its pseudo-headers.
            Sender::H2(sender) => {
                let req = req
                    .uri(format!("https://{}{path}", self.authority))
                    .body(body)
                    .with_context(building)?;
                sender.ready().await.context("HTTP/2 connection lost")?;
                sender.send_request(req).await
            }
            Sender::Http1(sender) => {
                let req = req
                    .uri(path)
                    .header(http::header::HOST, &self.authority)
                    .body(body)
                    .with_context(building)?;
                sender.ready().await.context("HTTP/1.1 connection lost")?;
                sender.send_request(req).await
            }
        };
        sent.with_context(|| format!("{method} {path} on {}", self.authority))
    }

    /// Sends a request and reads the whole response; the head and the
    /// body each have `timeout`.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Bytes>,
        timeout: Duration,
    ) -> anyhow::Result<Response> {
        let response = tokio::time::timeout(timeout, self.start(method, path, headers, body))
            .await
            .map_err(|_| anyhow!("{method} {path}: no response within {timeout:?}"))??;
        read(method, path, response, timeout).await
    }
}

/// Reads a response's whole body within `timeout`.
pub async fn read(
    method: &str,
    path: &str,
    response: http::Response<Incoming>,
    timeout: Duration,
) -> anyhow::Result<Response> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = tokio::time::timeout(timeout, response.into_body().collect())
        .await
        .map_err(|_| anyhow!("{method} {path}: body not read within {timeout:?}"))?
        .with_context(|| format!("{method} {path}: reading the body"))?
        .to_bytes();
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// A client for one server: one HTTP/2 connection, reused across requests
/// and re-dialled when it breaks.
#[derive(Clone)]
pub struct Client {
    endpoint: Endpoint,
    conn: Arc<tokio::sync::Mutex<Option<Connection>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("authority", &self.endpoint.authority)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            conn: Arc::new(tokio::sync::Mutex::new(None)),
        }
    }

    /// `https://host:port`.
    pub fn url(&self) -> String {
        self.endpoint.url()
    }

    /// The shared connection, dialled when there is none or it closed.
    async fn connection(&self) -> anyhow::Result<Connection> {
        let mut guard = self.conn.lock().await;
        if let Some(c) = guard.as_ref()
            && !c.is_closed()
            && let Some(shared) = c.share()
        {
            return Ok(shared);
        }
        *guard = None;
        let c = tokio::time::timeout(CONNECT_TIMEOUT, self.endpoint.connect())
            .await
            .map_err(|_| anyhow!("connecting to {} timed out", self.endpoint.authority))??;
        *guard = c.share();
        Ok(c)
    }

    /// Drops the connection; the next request dials a new one.
    pub async fn reset(&self) {
        *self.conn.lock().await = None;
    }

    /// Sends a request and reads the whole answer within `timeout`
    /// (dialling included).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> anyhow::Result<Response> {
        let work = async {
            let mut conn = self.connection().await?;
            let response = conn
                .start(method, path, headers, body.map(Bytes::from))
                .await?;
            read(method, path, response, timeout).await
        };
        tokio::time::timeout(timeout, work).await.map_err(|_| {
            anyhow!(
                "{method} {path} on {}: no answer within {timeout:?}",
                self.endpoint.authority
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
        let work = async {
            let mut conn = self.connection().await?;
            let response = conn.start("GET", path, &[], None).await?;
            anyhow::Ok((response.status().as_u16(), response.into_body()))
        };
        tokio::time::timeout(timeout, work).await.map_err(|_| {
            anyhow!(
                "GET {path} on {}: no answer within {timeout:?}",
                self.endpoint.authority
            )
        })?
    }
}

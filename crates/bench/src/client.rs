//! A keep-alive HTTPS client for benchmarks: hyper 1 over tokio-rustls,
//! presenting the test PKI's admin client certificate.
//!
//! Connections are opened before a measurement starts and reused for every
//! request after that; the client never opens a connection per request, so
//! TLS handshakes stay out of the figures. Two shapes:
//!
//! - [`Protocol::H2`] (the default): **one** HTTP/2 connection, every worker
//!   multiplexing its requests over it as concurrent streams. This is what
//!   client-go does (one connection per host, shared by all goroutines),
//!   so it is the load a real API server sees from kubectl and controllers.
//! - [`Protocol::Http1`]: one HTTP/1.1 keep-alive connection **per worker**,
//!   like independent clients without HTTP/2.
//!
//! It must never hide a failure: a refused connection or an unexpected
//! status is an error, not a data point.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use skewless_testkit::Pki;

/// How long one request may take before the benchmark gives up.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The HTTP version and connection layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// One HTTP/2 connection shared by all workers.
    H2,
    /// One HTTP/1.1 keep-alive connection per worker.
    Http1,
}

impl Protocol {
    /// How table titles name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::H2 => "HTTP/2",
            Self::Http1 => "HTTP/1.1",
        }
    }
}

/// Where a server listens and how to reach it.
#[derive(Clone)]
pub struct Endpoint {
    authority: String,
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
    /// An endpoint for `url` (`https://host:port`) trusting the PKI's CA and
    /// presenting its admin client certificate.
    pub fn new(url: &str, pki: &Pki, protocol: Protocol) -> anyhow::Result<Self> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&pki.ca).context("reading the CA")? {
            roots.add(cert.context("parsing the CA")?)?;
        }
        let chain = CertificateDer::pem_file_iter(&pki.admin_cert)
            .context("reading the admin certificate")?
            .collect::<Result<Vec<_>, _>>()
            .context("parsing the admin certificate")?;
        let key = PrivateKeyDer::from_pem_file(&pki.admin_key).context("reading the admin key")?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)?;
        config.alpn_protocols = match protocol {
            Protocol::H2 => vec![b"h2".to_vec()],
            Protocol::Http1 => vec![b"http/1.1".to_vec()],
        };
        let authority = url
            .strip_prefix("https://")
            .with_context(|| format!("{url:?} is not an https:// URL"))?
            .trim_end_matches('/')
            .to_owned();
        Ok(Self {
            authority,
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            protocol,
        })
    }

    /// `n` client handles: clones of one HTTP/2 connection, or `n` HTTP/1.1
    /// connections.
    pub async fn connect(&self, n: usize) -> anyhow::Result<Vec<Connection>> {
        match self.protocol {
            Protocol::H2 => {
                let io = self.tls().await?;
                let (sender, conn) = http2::handshake(TokioExecutor::new(), io)
                    .await
                    .context("HTTP/2 handshake")?;
                tokio::spawn(conn);
                Ok((0..n)
                    .map(|_| Connection {
                        sender: Sender::H2(sender.clone()),
                        authority: self.authority.clone(),
                    })
                    .collect())
            }
            Protocol::Http1 => {
                let mut conns = Vec::with_capacity(n);
                for _ in 0..n {
                    let (sender, conn) = http1::handshake(self.tls().await?)
                        .await
                        .context("HTTP/1.1 handshake")?;
                    tokio::spawn(conn);
                    conns.push(Connection {
                        sender: Sender::Http1(sender),
                        authority: self.authority.clone(),
                    });
                }
                Ok(conns)
            }
        }
    }

    async fn tls(
        &self,
    ) -> anyhow::Result<TokioIo<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>> {
        let tcp = tokio::net::TcpStream::connect(&self.authority)
            .await
            .with_context(|| format!("connecting to {}", self.authority))?;
        tcp.set_nodelay(true)?;
        let tls = self
            .connector
            .connect(ServerName::try_from("localhost")?, tcp)
            .await
            .context("TLS handshake")?;
        let negotiated = tls.get_ref().1.alpn_protocol();
        let wanted: &[u8] = match self.protocol {
            Protocol::H2 => b"h2",
            Protocol::Http1 => b"http/1.1",
        };
        if negotiated.is_some_and(|p| p != wanted) {
            bail!("the server chose ALPN {negotiated:?}");
        }
        Ok(TokioIo::new(tls))
    }
}

enum Sender {
    H2(http2::SendRequest<Full<Bytes>>),
    Http1(http1::SendRequest<Full<Bytes>>),
}

/// One client's handle on a kept-alive connection.
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

/// A response: status and the whole body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

impl Connection {
    /// Sends one request and reads the whole response body.
    pub async fn send(
        &mut self,
        method: &http::Method,
        path: &str,
        body: Option<Bytes>,
    ) -> anyhow::Result<Reply> {
        let response = self.start(method, path, "application/json", body).await?;
        let status = response.status().as_u16();
        let body = tokio::time::timeout(REQUEST_TIMEOUT, response.into_body().collect())
            .await
            .with_context(|| format!("{method} {path}: body not read within {REQUEST_TIMEOUT:?}"))?
            .with_context(|| format!("{method} {path}: reading the body"))?
            .to_bytes();
        Ok(Reply { status, body })
    }

    /// A GET with this `Accept` header (discovery content negotiation);
    /// reads the whole body.
    pub async fn get_accept(&mut self, path: &str, accept: &str) -> anyhow::Result<Reply> {
        let response = self.start(&http::Method::GET, path, accept, None).await?;
        let status = response.status().as_u16();
        let body = tokio::time::timeout(REQUEST_TIMEOUT, response.into_body().collect())
            .await
            .with_context(|| format!("GET {path}: body not read within {REQUEST_TIMEOUT:?}"))?
            .with_context(|| format!("GET {path}: reading the body"))?
            .to_bytes();
        Ok(Reply { status, body })
    }

    /// Opens a streaming GET (a watch): fails unless the status is 200, and
    /// returns the body still streaming.
    pub async fn stream(&mut self, path: &str) -> anyhow::Result<hyper::body::Incoming> {
        let response = self
            .start(&http::Method::GET, path, "application/json", None)
            .await?;
        if response.status() != http::StatusCode::OK {
            let status = response.status();
            let body = tokio::time::timeout(REQUEST_TIMEOUT, response.into_body().collect())
                .await
                .map(|b| b.map(|b| b.to_bytes()).unwrap_or_default())
                .unwrap_or_default();
            let excerpt: String = String::from_utf8_lossy(&body).chars().take(300).collect();
            bail!("GET {path}: status {status} (expected 200): {excerpt}");
        }
        Ok(response.into_body())
    }

    /// Sends a request and returns the response head with the body unread.
    async fn start(
        &mut self,
        method: &http::Method,
        path: &str,
        accept: &str,
        body: Option<Bytes>,
    ) -> anyhow::Result<http::Response<hyper::body::Incoming>> {
        let mut req = http::Request::builder()
            .method(method)
            .header(http::header::ACCEPT, accept)
            .header(http::header::USER_AGENT, "skewless-bench");
        if body.is_some() {
            req = req.header(http::header::CONTENT_TYPE, "application/json");
        }
        let body = Full::new(body.unwrap_or_default());
        let response = match &mut self.sender {
            // HTTP/2 needs the scheme and authority for its pseudo-headers.
            Sender::H2(sender) => {
                let req = req
                    .uri(format!("https://{}{path}", self.authority))
                    .body(body)?;
                sender.ready().await.context("HTTP/2 connection lost")?;
                tokio::time::timeout(REQUEST_TIMEOUT, sender.send_request(req)).await
            }
            Sender::Http1(sender) => {
                let req = req
                    .uri(path)
                    .header(http::header::HOST, &self.authority)
                    .body(body)?;
                sender.ready().await.context("HTTP/1.1 connection lost")?;
                tokio::time::timeout(REQUEST_TIMEOUT, sender.send_request(req)).await
            }
        };
        response
            .with_context(|| format!("{method} {path}: no response within {REQUEST_TIMEOUT:?}"))?
            .with_context(|| format!("{method} {path}"))
    }

    /// Sends a request and fails unless the status is `expected`.
    pub async fn expect(
        &mut self,
        method: &http::Method,
        path: &str,
        body: Option<Bytes>,
        expected: u16,
    ) -> anyhow::Result<Bytes> {
        let reply = self.send(method, path, body).await?;
        if reply.status != expected {
            let text = String::from_utf8_lossy(&reply.body);
            let excerpt: String = text.chars().take(300).collect();
            bail!(
                "{method} {path}: status {} (expected {expected}): {excerpt}",
                reply.status
            );
        }
        Ok(reply.body)
    }
}

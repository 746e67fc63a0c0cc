//! The benchmarks' view of `skewless-local`'s HTTPS client: keep-alive
//! connections presenting the test PKI's admin client certificate.
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
use skewless_testkit::Pki;

pub use skewless_local::Protocol;

/// How long one request may take before the benchmark gives up.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Where a server listens and how to reach it.
#[derive(Debug, Clone)]
pub struct Endpoint(skewless_local::Endpoint, Option<Arc<str>>);

impl Endpoint {
    /// An endpoint for `url` (`https://host:port`) trusting the PKI's CA and
    /// presenting its admin client certificate.
    pub fn new(url: &str, pki: &Pki, protocol: Protocol) -> anyhow::Result<Self> {
        let credentials = skewless_local::Credentials::admin(pki)?;
        Ok(Self(credentials.endpoint(url, protocol)?, None))
    }

    /// An endpoint for `url` that presents no client certificate and
    /// authenticates with a bearer token instead.
    pub fn with_token(
        url: &str,
        pki: &Pki,
        protocol: Protocol,
        token: &str,
    ) -> anyhow::Result<Self> {
        let credentials = skewless_local::Credentials::load(&pki.ca, None)?;
        Ok(Self(
            credentials.endpoint(url, protocol)?,
            Some(format!("Bearer {token}").into()),
        ))
    }

    /// `n` client handles: clones of one HTTP/2 connection, or `n` HTTP/1.1
    /// connections.
    pub async fn connect(&self, n: usize) -> anyhow::Result<Vec<Connection>> {
        let mut conns = Vec::with_capacity(n);
        while conns.len() < n {
            let first = self.0.connect().await?;
            while conns.len() + 1 < n {
                let Some(shared) = first.share() else { break };
                conns.push(Connection(shared, self.1.clone()));
            }
            conns.push(Connection(first, self.1.clone()));
        }
        Ok(conns)
    }
}

/// One client's handle on a kept-alive connection.
#[derive(Debug)]
pub struct Connection(skewless_local::Connection, Option<Arc<str>>);

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
        self.send_accept(method, path, "application/json", body)
            .await
    }

    /// A GET with this `Accept` header (discovery content negotiation);
    /// reads the whole body.
    pub async fn get_accept(&mut self, path: &str, accept: &str) -> anyhow::Result<Reply> {
        self.send_accept(&http::Method::GET, path, accept, None)
            .await
    }

    async fn send_accept(
        &mut self,
        method: &http::Method,
        path: &str,
        accept: &str,
        body: Option<Bytes>,
    ) -> anyhow::Result<Reply> {
        let r = self
            .0
            .send(
                method.as_str(),
                path,
                &headers(accept, self.1.as_deref()),
                body,
                REQUEST_TIMEOUT,
            )
            .await?;
        Ok(Reply {
            status: r.status,
            body: r.body,
        })
    }

    /// Opens a streaming GET (a watch): fails unless the status is 200, and
    /// returns the body still streaming.
    pub async fn stream(&mut self, path: &str) -> anyhow::Result<hyper::body::Incoming> {
        let response = tokio::time::timeout(
            REQUEST_TIMEOUT,
            self.0.start(
                "GET",
                path,
                &headers("application/json", self.1.as_deref()),
                None,
            ),
        )
        .await
        .with_context(|| format!("GET {path}: no response within {REQUEST_TIMEOUT:?}"))??;
        if response.status() != http::StatusCode::OK {
            let status = response.status();
            let excerpt = skewless_local::client::read("GET", path, response, REQUEST_TIMEOUT)
                .await
                .map(|r| r.excerpt(300))
                .unwrap_or_default();
            bail!("GET {path}: status {status} (expected 200): {excerpt}");
        }
        Ok(response.into_body())
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
            let excerpt: String = String::from_utf8_lossy(&reply.body)
                .chars()
                .take(300)
                .collect();
            bail!(
                "{method} {path}: status {} (expected {expected}): {excerpt}",
                reply.status
            );
        }
        Ok(reply.body)
    }
}

/// What every benchmark request says about itself (and its bearer token,
/// if it has one).
fn headers<'a>(accept: &'a str, authorization: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut h = vec![
        (http::header::ACCEPT.as_str(), accept),
        (http::header::USER_AGENT.as_str(), "skewless-bench"),
    ];
    if let Some(a) = authorization {
        h.push((http::header::AUTHORIZATION.as_str(), a));
    }
    h
}

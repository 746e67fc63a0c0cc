//! The connection to peers: HTTPS only, the peer's certificate verified
//! against `--peer-ca-file` with server name `kubernetes.default.svc`
//! (whatever IP is dialled), our proxy client certificate presented.
//!
//! One pooled connection set per peer address: an HTTP/2 connection is
//! shared by all requests (multiplexed); with HTTP/1.1 idle connections are
//! reused. Requests and responses stream; nothing buffers whole bodies.
//!
//! A failure before the request left this process (connect refused, TLS
//! refused, a connection that closed before taking the request) is reported
//! as [`SendError::NotSent`] with the request intact, so the caller can try
//! another peer. Anything after that is [`SendError::Failed`]: the request
//! may have reached the peer and must not be repeated. There is never a
//! plaintext or unverified fallback.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::TlsConnector;

/// Errors a streamed body may carry.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// A request or response body on the peer hop.
pub type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

/// The name every peer's serving certificate must carry.
pub const PEER_SERVER_NAME: &str = "kubernetes.default.svc";

/// How the transport authenticates both ends.
#[derive(Debug)]
pub struct TransportConfig {
    /// CAs that sign peers' serving certificates (`--peer-ca-file`).
    pub peer_ca: Vec<CertificateDer<'static>>,
    /// Our client certificate chain and key (`--proxy-client-cert-file`/`-key-file`).
    pub client_chain: Vec<CertificateDer<'static>>,
    pub client_key: PrivateKeyDer<'static>,
    /// How long dialling (TCP + TLS) may take.
    pub connect_timeout: Duration,
}

/// Why a request to a peer failed.
#[derive(Debug)]
pub enum SendError {
    /// Nothing reached the peer; the request is returned for a retry.
    NotSent {
        request: Box<Request<ProxyBody>>,
        cause: BoxError,
    },
    /// The request may have reached the peer.
    Failed(BoxError),
}

enum Conn {
    H2(hyper::client::conn::http2::SendRequest<ProxyBody>),
    H1(hyper::client::conn::http1::SendRequest<ProxyBody>),
}

/// Pooled, verified connections to peers.
pub struct Transport {
    tls: TlsConnector,
    connect_timeout: Duration,
    pool: Mutex<HashMap<String, Vec<Conn>>>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport").finish_non_exhaustive()
    }
}

impl Transport {
    pub fn new(config: TransportConfig) -> Result<Self, BoxError> {
        let mut roots = rustls::RootCertStore::empty();
        for c in config.peer_ca {
            roots.add(c)?;
        }
        let mut tls = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_client_auth_cert(config.client_chain, config.client_key)?;
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            tls: TlsConnector::from(Arc::new(tls)),
            connect_timeout: config.connect_timeout,
            pool: Mutex::new(HashMap::new()),
        })
    }

    /// Sends `request` to the peer at `addr` (`host:port`) and returns the
    /// response head with its body still streaming.
    pub async fn send(
        &self,
        addr: &str,
        request: Request<ProxyBody>,
    ) -> Result<Response<Incoming>, SendError> {
        let mut request = request;
        // A pooled connection first; a dead one is discarded and we dial.
        for _ in 0..2 {
            let conn = match self.checkout(addr) {
                Some(c) => c,
                None => match self.dial(addr).await {
                    Ok(c) => c,
                    Err(cause) => {
                        return Err(SendError::NotSent {
                            request: Box::new(request),
                            cause,
                        });
                    }
                },
            };
            match conn {
                Conn::H2(mut sender) => {
                    // An HTTP/2 connection serves many requests at once: it
                    // goes back to the pool before the response arrives.
                    self.checkin(addr, Conn::H2(sender.clone()));
                    match sender.try_send_request(request).await {
                        Ok(resp) => return Ok(resp),
                        Err(mut e) => match e.take_message() {
                            Some(req) => {
                                self.forget(addr);
                                request = req;
                            }
                            None => return Err(SendError::Failed(Box::new(e.into_error()))),
                        },
                    }
                }
                Conn::H1(mut sender) => {
                    if sender.ready().await.is_err() {
                        continue;
                    }
                    let fut = sender.try_send_request(request);
                    // The connection is reusable once this response is read;
                    // checkout() skips it until then.
                    self.checkin(addr, Conn::H1(sender));
                    match fut.await {
                        Ok(resp) => return Ok(resp),
                        Err(mut e) => match e.take_message() {
                            Some(req) => request = req,
                            None => return Err(SendError::Failed(Box::new(e.into_error()))),
                        },
                    }
                }
            }
        }
        Err(SendError::NotSent {
            request: Box::new(request),
            cause: "no usable connection to the peer".into(),
        })
    }

    /// Dials the peer without sending anything: whether it is reachable and
    /// presents a valid certificate (used to re-probe peers marked down).
    pub async fn probe(&self, addr: &str) -> Result<(), BoxError> {
        let conn = self.dial(addr).await?;
        self.checkin(addr, conn);
        Ok(())
    }

    fn checkout(&self, addr: &str) -> Option<Conn> {
        let mut pool = self.pool.lock().ok()?;
        let conns = pool.get_mut(addr)?;
        conns.retain(|c| match c {
            Conn::H2(s) => !s.is_closed(),
            Conn::H1(s) => !s.is_closed(),
        });
        if let Some(i) = conns
            .iter()
            .position(|c| matches!(c, Conn::H2(s) if s.is_ready()))
        {
            return Some(conns.swap_remove(i));
        }
        let i = conns
            .iter()
            .position(|c| matches!(c, Conn::H1(s) if s.is_ready()))?;
        Some(conns.swap_remove(i))
    }

    fn checkin(&self, addr: &str, conn: Conn) {
        if let Ok(mut pool) = self.pool.lock() {
            let conns = pool.entry(addr.to_owned()).or_default();
            if conns.len() < 64 {
                conns.push(conn);
            }
        }
    }

    /// Drops every pooled connection to `addr`.
    pub fn forget(&self, addr: &str) {
        if let Ok(mut pool) = self.pool.lock() {
            pool.remove(addr);
        }
    }

    async fn dial(&self, addr: &str) -> Result<Conn, BoxError> {
        let connect = async {
            let tcp = tokio::net::TcpStream::connect(addr).await?;
            let _ = tcp.set_nodelay(true);
            let name = ServerName::try_from(PEER_SERVER_NAME)?;
            let tls = self.tls.connect(name, tcp).await?;
            let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
            let io = TokioIo::new(tls);
            Ok::<_, BoxError>(if h2 {
                let (sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
                    .handshake(io)
                    .await?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                Conn::H2(sender)
            } else {
                let (sender, conn) = hyper::client::conn::http1::handshake(io).await?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                Conn::H1(sender)
            })
        };
        tokio::time::timeout(self.connect_timeout, connect)
            .await
            .map_err(|_| -> BoxError { format!("connecting to {addr} timed out").into() })?
    }
}

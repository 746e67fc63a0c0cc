//! The connection to peers: HTTPS only, the peer's certificate verified
//! against `--peer-ca-file` with server name `kubernetes.default.svc`
//! (whatever IP is dialled), our proxy client certificate presented. The
//! server also reaches CRD conversion webhooks through it
//! ([`Transport::without_client_auth`]: the CRD's `caBundle`, the
//! webhook's name, no client certificate).
//!
//! One pooled connection set per peer address: an HTTP/2 connection is
//! shared by up to [`MAX_STREAMS_PER_CONNECTION`] requests at once
//! (multiplexed), and another is dialled when every pooled one is that busy;
//! with HTTP/1.1 idle connections are reused. Requests and responses
//! stream; nothing buffers whole bodies.
//!
//! A failure before the request left this process (connect refused, TLS
//! refused, a connection that closed before taking the request) is reported
//! as [`SendError::NotSent`] with the request intact, so the caller can try
//! another peer. Anything after that is [`SendError::Failed`]: the request
//! may have reached the peer and must not be repeated. There is never a
//! plaintext or unverified fallback.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

mod inline;
pub mod upgrade;

use inline::{InlineBody, InlineConn, InlinePool, SendFailure, Taken};

/// Errors a streamed body may carry.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// A request or response body on the peer hop.
pub type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

/// The name every peer's serving certificate must carry.
pub const PEER_SERVER_NAME: &str = "kubernetes.default.svc";

/// Requests (streams) we keep open at once on one HTTP/2 connection to a
/// peer before dialling another. A peer refuses streams beyond its
/// `SETTINGS_MAX_CONCURRENT_STREAMS` (200 for skewless, hyper's default;
/// 250 for Go servers), and a request over that limit waits for a stream
/// to end: behind long-lived watches it would wait until its deadline. So
/// we stay well below any peer's limit.
pub const MAX_STREAMS_PER_CONNECTION: usize = 100;

/// How often an HTTP/2 connection to a peer is pinged.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
/// How long a ping may go unanswered before the connection is closed.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);

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

/// A pooled connection.
enum Conn {
    H2 {
        sender: hyper::client::conn::http2::SendRequest<ProxyBody>,
        /// Streams open on it now.
        in_flight: Arc<AtomicUsize>,
    },
    H1(hyper::client::conn::http1::SendRequest<ProxyBody>),
}

/// A connection taken for one request.
enum Checked {
    H2(
        hyper::client::conn::http2::SendRequest<ProxyBody>,
        StreamSlot,
    ),
    H1(hyper::client::conn::http1::SendRequest<ProxyBody>),
}

/// One stream of an HTTP/2 connection, counted until the response body
/// is dropped (or the request failed).
struct StreamSlot(Arc<AtomicUsize>);

impl StreamSlot {
    fn take(in_flight: &Arc<AtomicUsize>) -> Self {
        in_flight.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(in_flight))
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A peer's response body, streaming. On HTTP/2 it holds its stream's
/// place in the connection's count until dropped; on a connection of the
/// inline pool it drives that connection.
pub struct PeerBody {
    inner: PeerInner,
    _slot: Option<StreamSlot>,
}

enum PeerInner {
    Pooled(Incoming),
    Inline(InlineBody<ProxyBody>),
}

impl PeerBody {
    fn pooled(inner: Incoming, slot: Option<StreamSlot>) -> Self {
        Self {
            inner: PeerInner::Pooled(inner),
            _slot: slot,
        }
    }

    fn incoming(&self) -> &Incoming {
        match &self.inner {
            PeerInner::Pooled(b) => b,
            PeerInner::Inline(b) => b.inner(),
        }
    }
}

impl std::fmt::Debug for PeerBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerBody").finish_non_exhaustive()
    }
}

impl Body for PeerBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match &mut self.inner {
            PeerInner::Pooled(b) => Pin::new(b).poll_frame(cx),
            PeerInner::Inline(b) => b.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming().is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming().size_hint()
    }
}

/// Pooled, verified connections to peers.
pub struct Transport {
    tls: TlsConnector,
    /// The same, offering only HTTP/1.1 (the inline pool's connections).
    tls_h1: TlsConnector,
    inline: Arc<InlinePool<ProxyBody>>,
    /// Connections dialled: multiplexed (HTTP/2, or HTTP/1.1 when the
    /// server offers only that) and the inline pool's.
    dialled: [AtomicU64; 2],
    /// The name the server's certificate must carry.
    server_name: ServerName<'static>,
    connect_timeout: Duration,
    pool: Mutex<HashMap<String, Vec<Conn>>>,
    /// One dial at a time per peer address, so a burst of requests that
    /// finds every connection busy opens one new connection, not one each.
    /// Holds when the last dial to that address failed.
    dialing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Instant>>>>>,
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
        let tls = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_client_auth_cert(config.client_chain, config.client_key)?;
        Ok(Self::with_tls(
            tls,
            ServerName::try_from(PEER_SERVER_NAME)?,
            config.connect_timeout,
        ))
    }

    /// A transport to a server that is not a peer (a CRD's conversion
    /// webhook): its certificate verified against `roots` for
    /// `server_name` (a DNS name or an IP address), no client certificate.
    pub fn without_client_auth(
        roots: Vec<CertificateDer<'static>>,
        server_name: &str,
        connect_timeout: Duration,
    ) -> Result<Self, BoxError> {
        let mut store = rustls::RootCertStore::empty();
        for c in roots {
            store.add(c)?;
        }
        let tls = rustls::ClientConfig::builder()
            .with_root_certificates(store)
            .with_no_client_auth();
        Ok(Self::with_tls(
            tls,
            ServerName::try_from(server_name.to_owned())?,
            connect_timeout,
        ))
    }

    /// A transport to a server that is not a peer (an aggregated API
    /// server): its certificate verified against `roots` for
    /// `server_name`, presenting `client_chain` (the front-proxy client
    /// certificate).
    pub fn with_roots_and_client(
        roots: Vec<CertificateDer<'static>>,
        server_name: &str,
        client_chain: Vec<CertificateDer<'static>>,
        client_key: PrivateKeyDer<'static>,
        connect_timeout: Duration,
    ) -> Result<Self, BoxError> {
        let mut store = rustls::RootCertStore::empty();
        for c in roots {
            store.add(c)?;
        }
        let tls = rustls::ClientConfig::builder()
            .with_root_certificates(store)
            .with_client_auth_cert(client_chain, client_key)?;
        Ok(Self::with_tls(
            tls,
            ServerName::try_from(server_name.to_owned())?,
            connect_timeout,
        ))
    }

    /// A transport that accepts any certificate the server presents (an
    /// APIService with `insecureSkipTLSVerify`); the handshake's signatures
    /// are still checked. Presents `client` when given.
    pub fn insecure(
        server_name: &str,
        client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
        connect_timeout: Duration,
    ) -> Result<Self, BoxError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServerCertificate(provider)));
        let tls = match client {
            Some((chain, key)) => builder.with_client_auth_cert(chain, key)?,
            None => builder.with_no_client_auth(),
        };
        Ok(Self::with_tls(
            tls,
            ServerName::try_from(server_name.to_owned())?,
            connect_timeout,
        ))
    }

    fn with_tls(
        mut tls: rustls::ClientConfig,
        server_name: ServerName<'static>,
        connect_timeout: Duration,
    ) -> Self {
        let mut tls_h1 = tls.clone();
        tls_h1.alpn_protocols = vec![b"http/1.1".to_vec()];
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Self {
            tls: TlsConnector::from(Arc::new(tls)),
            tls_h1: TlsConnector::from(Arc::new(tls_h1)),
            inline: Arc::default(),
            dialled: Default::default(),
            server_name,
            connect_timeout,
            pool: Mutex::new(HashMap::new()),
            dialing: Mutex::new(HashMap::new()),
        }
    }

    /// Sends `request` to the peer at `addr` (`host:port`) and returns the
    /// response head with its body still streaming.
    pub async fn send(
        &self,
        addr: &str,
        request: Request<ProxyBody>,
    ) -> Result<Response<PeerBody>, SendError> {
        let mut request = request;
        // A pooled connection first; a dead one is discarded and we dial.
        for _ in 0..2 {
            let conn = match self.checkout(addr) {
                Some(c) => c,
                None => match self.dial_or_reuse(addr).await {
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
                Checked::H2(mut sender, slot) => {
                    // The connection stays pooled for other requests; the
                    // slot counts this stream until its body is dropped.
                    match sender.try_send_request(request).await {
                        Ok(resp) => {
                            return Ok(resp.map(|inner| PeerBody::pooled(inner, Some(slot))));
                        }
                        Err(mut e) => match e.take_message() {
                            Some(req) => {
                                self.forget(addr);
                                request = req;
                            }
                            None => return Err(SendError::Failed(Box::new(e.into_error()))),
                        },
                    }
                }
                Checked::H1(mut sender) => {
                    if sender.ready().await.is_err() {
                        continue;
                    }
                    let fut = sender.try_send_request(origin_form(request));
                    // The connection is reusable once this response is read;
                    // checkout() skips it until then.
                    self.checkin(addr, Conn::H1(sender));
                    match fut.await {
                        Ok(resp) => {
                            return Ok(resp.map(|inner| PeerBody::pooled(inner, None)));
                        }
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

    /// Sends a request that ends soon (not a watch) on an HTTP/1.1
    /// connection driven by this task and its response body (the inline
    /// pool: no connection task, no hand-off between threads); when the
    /// peer already has [`inline::MAX_BUSY`] such exchanges under way, on
    /// the multiplexed connection as [`Transport::send`] does.
    pub async fn send_short(
        &self,
        addr: &str,
        request: Request<ProxyBody>,
    ) -> Result<Response<PeerBody>, SendError> {
        let lease = match self.inline.take(addr) {
            Taken::Full => return self.send(addr, request).await,
            Taken::Idle(lease) | Taken::Dial(lease) => lease,
        };
        let inline = |resp: Response<InlineBody<ProxyBody>>| {
            resp.map(|b| PeerBody {
                inner: PeerInner::Inline(b),
                _slot: None,
            })
        };
        // A pooled connection (closed ones are skipped), else a new one.
        let (request, mut lease) = match lease.send(request).await {
            Ok(resp) => return Ok(inline(resp)),
            Err(SendFailure::Failed(e)) => return Err(SendError::Failed(Box::new(e))),
            Err(SendFailure::NotSent(request, lease)) => (*request, lease),
        };
        let dialled = self
            .serialized_dial(addr, async {
                let io = self.connect(&self.tls_h1, addr).await?;
                self.dialled[1].fetch_add(1, Ordering::Relaxed);
                Ok(InlineConn::handshake(io).await?)
            })
            .await;
        match dialled {
            Ok(conn) => lease.attach(conn),
            Err(cause) => {
                return Err(SendError::NotSent {
                    request: Box::new(request),
                    cause,
                });
            }
        }
        match lease.send(request).await {
            Ok(resp) => Ok(inline(resp)),
            Err(SendFailure::Failed(e)) => Err(SendError::Failed(Box::new(e))),
            Err(SendFailure::NotSent(request, _)) => Err(SendError::NotSent {
                request,
                cause: "the peer closed a new connection before taking the request".into(),
            }),
        }
    }

    /// Runs `dial`, one dial at a time per peer address; a dial that failed
    /// while this one waited fails it too (see [`Transport::dial_or_reuse`]).
    async fn serialized_dial<T>(
        &self,
        addr: &str,
        dial: impl Future<Output = Result<T, BoxError>>,
    ) -> Result<T, BoxError> {
        let lock = self.dial_lock(addr);
        let waiting_since = Instant::now();
        let mut last_failure = lock.lock().await;
        if last_failure.is_some_and(|failed| failed >= waiting_since) {
            return Err(format!("dialling {addr} failed just now").into());
        }
        let dialled = tokio::time::timeout(self.connect_timeout, dial)
            .await
            .unwrap_or_else(|_| Err(format!("connecting to {addr} timed out").into()));
        if dialled.is_err() {
            *last_failure = Some(Instant::now());
        }
        dialled
    }

    fn dial_lock(&self, addr: &str) -> Arc<tokio::sync::Mutex<Option<Instant>>> {
        match self.dialing.lock() {
            Ok(mut d) => Arc::clone(d.entry(addr.to_owned()).or_default()),
            Err(_) => Arc::new(tokio::sync::Mutex::new(None)),
        }
    }

    /// When no pooled connection can take a request: waits for any dial to
    /// `addr` in progress, takes the connection it made if it has room,
    /// and otherwise dials. A dial that failed while this request waited
    /// fails it too, so requests queued behind an unreachable peer do not
    /// each wait out a connect timeout.
    async fn dial_or_reuse(&self, addr: &str) -> Result<Checked, BoxError> {
        let lock = self.dial_lock(addr);
        let waiting_since = Instant::now();
        let mut last_failure = lock.lock().await;
        if let Some(c) = self.checkout(addr) {
            return Ok(c);
        }
        if last_failure.is_some_and(|failed| failed >= waiting_since) {
            return Err(format!("dialling {addr} failed just now").into());
        }
        let conn = match self.dial(addr).await {
            Ok(c) => c,
            Err(e) => {
                *last_failure = Some(Instant::now());
                return Err(e);
            }
        };
        Ok(match conn {
            Conn::H2 { sender, in_flight } => {
                let slot = StreamSlot::take(&in_flight);
                self.checkin(
                    addr,
                    Conn::H2 {
                        sender: sender.clone(),
                        in_flight,
                    },
                );
                Checked::H2(sender, slot)
            }
            Conn::H1(sender) => Checked::H1(sender),
        })
    }

    /// Dials the peer without sending anything: whether it is reachable and
    /// presents a valid certificate (used to re-probe peers marked down).
    pub async fn probe(&self, addr: &str) -> Result<(), BoxError> {
        let conn = self.dial(addr).await?;
        self.checkin(addr, conn);
        Ok(())
    }

    fn checkout(&self, addr: &str) -> Option<Checked> {
        let mut pool = self.pool.lock().ok()?;
        let conns = pool.get_mut(addr)?;
        conns.retain(|c| match c {
            Conn::H2 { sender, .. } => !sender.is_closed(),
            Conn::H1(s) => !s.is_closed(),
        });
        // Counted under the pool lock, so two requests cannot both take
        // the last free stream of a connection.
        for c in conns.iter() {
            if let Conn::H2 { sender, in_flight } = c
                && sender.is_ready()
                && in_flight.load(Ordering::Acquire) < MAX_STREAMS_PER_CONNECTION
            {
                return Some(Checked::H2(sender.clone(), StreamSlot::take(in_flight)));
            }
        }
        let i = conns
            .iter()
            .position(|c| matches!(c, Conn::H1(s) if s.is_ready()))?;
        match conns.swap_remove(i) {
            Conn::H1(sender) => Some(Checked::H1(sender)),
            Conn::H2 { .. } => None,
        }
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
        self.inline.forget(addr);
    }

    /// Appends the count of connections dialled, by kind, in the
    /// Prometheus text format.
    pub fn render(&self, out: &mut String) {
        out.push_str("# HELP skewless_peer_connections_dialed_total Connections dialled to peer API servers: multiplexed (shared by concurrent requests), or inline (HTTP/1.1, one exchange at a time, for requests that end soon).\n# TYPE skewless_peer_connections_dialed_total counter\n");
        for (kind, n) in ["multiplexed", "inline"].iter().zip(&self.dialled) {
            out.push_str(&format!(
                "skewless_peer_connections_dialed_total{{kind=\"{kind}\"}} {}\n",
                n.load(Ordering::Relaxed)
            ));
        }
    }

    /// TCP and TLS to `addr` (the peer's certificate verified).
    async fn connect(
        &self,
        tls: &TlsConnector,
        addr: &str,
    ) -> Result<TokioIo<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>, BoxError> {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        let _ = tcp.set_nodelay(true);
        Ok(TokioIo::new(
            tls.connect(self.server_name.clone(), tcp).await?,
        ))
    }

    async fn dial(&self, addr: &str) -> Result<Conn, BoxError> {
        let connect = async {
            let io = self.connect(&self.tls, addr).await?;
            self.dialled[0].fetch_add(1, Ordering::Relaxed);
            let h2 = io.inner().get_ref().1.alpn_protocol() == Some(b"h2");
            Ok::<_, BoxError>(if h2 {
                // Pings find a peer that stopped answering (hung, or cut off
                // by the network) even while a long watch is all that runs
                // on the connection: its streams then end with an error.
                let (sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
                    .timer(hyper_util::rt::TokioTimer::new())
                    .keep_alive_interval(KEEPALIVE_INTERVAL)
                    .keep_alive_timeout(KEEPALIVE_TIMEOUT)
                    .keep_alive_while_idle(true)
                    .handshake(io)
                    .await?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                Conn::H2 {
                    sender,
                    in_flight: Arc::new(AtomicUsize::new(0)),
                }
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

/// Accepts every server certificate, checking only the handshake's
/// signatures (`insecureSkipTLSVerify`).
#[derive(Debug)]
struct AnyServerCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyServerCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A request as HTTP/1.1 sends it: the target in origin form (`/path?q`)
/// and the authority in a `Host` header (HTTP/2 carries it in
/// `:authority`; an HTTP/1.1 server may refuse a request without `Host`).
fn origin_form<B>(mut request: Request<B>) -> Request<B> {
    if !request.headers().contains_key(http::header::HOST)
        && let Some(authority) = request.uri().authority()
        && let Ok(host) = http::HeaderValue::from_str(authority.as_str())
    {
        request.headers_mut().insert(http::header::HOST, host);
    }
    if let Some(path) = request.uri().path_and_query() {
        let path = path.clone();
        *request.uri_mut() = http::Uri::from(path);
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http1_requests_carry_host_and_an_origin_form_target() {
        let request = Request::get("https://10.0.0.7:8443/apis/metrics.k8s.io/v1beta1?limit=5")
            .body(())
            .unwrap_or_default();
        let sent = origin_form(request);
        assert_eq!(sent.uri(), "/apis/metrics.k8s.io/v1beta1?limit=5");
        assert_eq!(sent.headers()[http::header::HOST], "10.0.0.7:8443");

        let mut named = Request::get("https://10.0.0.7:8443/x")
            .body(())
            .unwrap_or_default();
        named.headers_mut().insert(
            http::header::HOST,
            http::HeaderValue::from_static("metrics.kube-system.svc"),
        );
        let sent = origin_form(named);
        assert_eq!(
            sent.headers()[http::header::HOST],
            "metrics.kube-system.svc"
        );
        assert_eq!(sent.uri(), "/x");
    }
}

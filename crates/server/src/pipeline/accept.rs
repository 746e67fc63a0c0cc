//! Stage 1, accept: TCP connections (at most `--max-connections` at once),
//! TLS handshakes (bounded in time), the client certificate classified once
//! per connection, and one hyper connection (HTTP/1.1 with upgrades, or
//! HTTP/2) per client with bounded request heads, header-read and idle timeouts and HTTP/2
//! stream limits; then graceful shutdown.
//!
//! Connections that have not proven who they are (no verified client
//! certificate, no authenticated request yet) share nine tenths of the
//! cap; a full share makes room by closing its idlest member (`reserve.rs`),
//! so anonymous clients cannot lock authenticated ones out.
//!
//! Accept errors (out of file descriptors) back off instead of spinning and
//! are logged at most once per [`ACCEPT_ERROR_LOG_INTERVAL`], with a count.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use std::time::Duration;

use super::head::MAX_HEADER_BYTES;
use super::reserve::{UnprovenPool, unproven_cap};
use crate::state::State;
use crate::tls::ClientCertVerifiers;

/// hyper's own head limits, above ours so that `head::check` answers
/// first: hyper refuses larger heads itself with an empty 431 (and a URI
/// over the `http` crate's fixed 65,534 bytes with an empty 414 on
/// HTTP/1.1, a stream error on HTTP/2), which no Status can replace.
const HYPER_HEAD_BYTES: usize = 2 * MAX_HEADER_BYTES;
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's head, and how long an
/// HTTP/1.1 connection may sit idle between requests (kube-apiserver's
/// `ReadHeaderTimeout`).
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(32);
/// HTTP/2: ping an idle connection this often, and close it when a ping
/// goes unanswered this long.
const H2_KEEPALIVE: Duration = Duration::from_secs(30);
/// HTTP/2 streams one connection may have open at once (Go's default).
const H2_MAX_STREAMS: u32 = 250;
/// At most one log line per this interval about failing accepts.
pub(crate) const ACCEPT_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Accept failures since the last log line, logged at most once per
/// interval; the loop sleeps between retries (10 ms doubling to 1 s).
struct AcceptErrors {
    count: u64,
    logged: Option<tokio::time::Instant>,
    backoff: Duration,
}

impl AcceptErrors {
    fn new() -> Self {
        Self {
            count: 0,
            logged: None,
            backoff: Duration::from_millis(10),
        }
    }

    async fn failed(&mut self, e: &std::io::Error) {
        self.count += 1;
        let now = tokio::time::Instant::now();
        if self
            .logged
            .is_none_or(|at| now.duration_since(at) >= ACCEPT_ERROR_LOG_INTERVAL)
        {
            tracing::warn!(error = %e, failures = self.count, "accepting connections fails (out of file descriptors?); backing off");
            self.logged = Some(now);
            self.count = 0;
        }
        tokio::time::sleep(self.backoff).await;
        self.backoff = (self.backoff * 2).min(Duration::from_secs(1));
    }

    fn succeeded(&mut self) {
        self.backoff = Duration::from_millis(10);
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn accept_loop(
    listener: TcpListener,
    max_connections: usize,
    tls: TlsAcceptor,
    verifiers: ClientCertVerifiers,
    api: Arc<State>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    grace: std::time::Duration,
    controller: JoinHandle<()>,
) {
    let graceful = GracefulShutdown::new();
    let verifiers = Arc::new(verifiers);
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections));
    let unproven = UnprovenPool::new(unproven_cap(max_connections));
    let mut errors = AcceptErrors::new();
    loop {
        // A connection slot first: at the cap, new clients wait in the
        // kernel's queue instead of taking descriptors we need.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => break,
            },
            _ = stop.changed() => break,
        };
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => {
                    errors.succeeded();
                    c
                }
                Err(e) => {
                    errors.failed(&e).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        // Unproven until the certificate or a request says who it is.
        let Some(seat) = unproven.admit() else {
            tracing::debug!(%remote, "refused: every unauthenticated connection is busy");
            continue;
        };
        let seat = Arc::new(seat);
        let _ = tcp.set_nodelay(true);
        let tls = tls.clone();
        let api = Arc::clone(&api);
        let verifiers = Arc::clone(&verifiers);
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
            let handshake = tokio::select! {
                h = tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(tcp)) => h,
                () = seat.closed_for_room() => return,
            };
            let stream = match handshake {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%remote, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let chain: Vec<_> = stream
                .get_ref()
                .1
                .peer_certificates()
                .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default();
            let peer = Arc::new(verifiers.classify(&chain));
            if peer.client.is_some() || peer.front_proxy.is_some() {
                seat.prove();
            }
            let service_seat = Arc::clone(&seat);
            let service = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
                let api = Arc::clone(&api);
                let peer = Arc::clone(&peer);
                let busy = service_seat.busy();
                // `handle` proves the seat when the request authenticates.
                req.extensions_mut().insert(Arc::clone(&service_seat));
                req.extensions_mut().insert(super::ClientAddr(remote));
                // A `HEAD` is served as its `GET` and answered with the
                // headers alone, on every path and for errors too (an
                // HTTP/2 client treats a body after `HEAD` as a protocol
                // error).
                let head = req.method() == http::Method::HEAD;
                async move {
                    // Boxed: hyper keeps an HTTP/2 stream's task, sized for
                    // this future, for as long as the response body streams
                    // (a watch: up to an hour). Boxed, the request path's
                    // state (about 18 KB) is freed once the response head is
                    // ready instead of staying with each open watch.
                    let mut resp = Box::pin(super::handle(&api, &peer, req)).await;
                    if head {
                        *resp.body_mut() = crate::http_util::empty();
                    }
                    drop(busy);
                    Ok::<_, Infallible>(resp)
                }
            });
            let mut builder = auto::Builder::new(TokioExecutor::new());
            // Header limits as Go's net/http (kube-apiserver's) default,
            // the same on both protocols, so whatever one server accepts
            // its peers accept when it is proxied.
            builder
                .http1()
                .max_buf_size(HYPER_HEAD_BYTES)
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            builder
                .http2()
                .max_header_list_size(HYPER_HEAD_BYTES as u32)
                .max_concurrent_streams(H2_MAX_STREAMS)
                .timer(hyper_util::rt::TokioTimer::new())
                .keep_alive_interval(H2_KEEPALIVE)
                .keep_alive_timeout(H2_KEEPALIVE);
            // Upgrades (exec-style `Connection: Upgrade`) are HTTP/1.1 only: the
            // connection's stream goes to whoever handles the `101`.
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            tokio::select! {
                ended = watcher.watch(conn.into_owned()) => {
                    if let Err(e) = ended {
                        tracing::debug!(%remote, error = %e, "connection ended with an error");
                    }
                }
                () = seat.closed_for_room() => {
                    tracing::debug!(%remote, "closed an idle unauthenticated connection to make room");
                }
            }
        });
    }
    // Shutdown: fail readiness, end watches and controllers, then let
    // in-flight requests finish.
    api.shutting_down.store(true, Ordering::Release);
    let _ = api.shutdown.send(true);
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within the grace period");
    }
    let _ = controller.await;
    if let Some(audit) = &api.audit {
        audit.flush();
    }
    tracing::info!("stopped");
}

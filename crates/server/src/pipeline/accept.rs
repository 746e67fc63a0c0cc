//! Stage 1, accept: TCP connections, TLS handshakes (bounded in time), the
//! client certificate classified once per connection, and one hyper
//! connection (HTTP/1.1 or HTTP/2) per client; then graceful shutdown.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::state::State;

/// The largest request head accepted (Go's `DefaultMaxHeaderBytes`).
pub(crate) const MAX_HEADER_BYTES: usize = 1 << 20;
use crate::tls::ClientCertVerifiers;

pub(crate) async fn accept_loop(
    listener: TcpListener,
    tls: TlsAcceptor,
    verifiers: ClientCertVerifiers,
    api: Arc<State>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    grace: std::time::Duration,
    controller: JoinHandle<()>,
) {
    let graceful = GracefulShutdown::new();
    let verifiers = Arc::new(verifiers);
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = tcp.set_nodelay(true);
        let tls = tls.clone();
        let api = Arc::clone(&api);
        let verifiers = Arc::clone(&verifiers);
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let handshake =
                tokio::time::timeout(std::time::Duration::from_secs(10), tls.accept(tcp)).await;
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
            let service = hyper::service::service_fn(move |req| {
                let api = Arc::clone(&api);
                let peer = Arc::clone(&peer);
                async move { Ok::<_, Infallible>(super::handle(&api, &peer, req).await) }
            });
            let mut builder = auto::Builder::new(TokioExecutor::new());
            // Header limits as Go's net/http (kube-apiserver's) default,
            // the same on both protocols, so whatever one server accepts
            // its peers accept when it is proxied.
            builder.http1().max_buf_size(MAX_HEADER_BYTES);
            builder
                .http2()
                .max_header_list_size(MAX_HEADER_BYTES as u32);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            if let Err(e) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(%remote, error = %e, "connection ended with an error");
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
    tracing::info!("stopped");
}

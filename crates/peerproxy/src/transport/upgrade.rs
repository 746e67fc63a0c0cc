//! Connection upgrades (`Connection: Upgrade`, e.g. `SPDY/3.1` or
//! `websocket` for exec, attach and port-forward): sent on a connection of
//! their own, dialled for them over HTTP/1.1 only (HTTP/2 has no
//! `Upgrade`), with the transport's TLS identity and verification; never
//! pooled, since after a `101 Switching Protocols` the connection belongs
//! to the upgraded stream. [`join`] then copies bytes both ways between
//! the client's upgraded stream and the server's.
//!
//! Never buffers more than [`JOIN_BUFFER`] bytes per direction and never
//! outlives an idle bound or either side closing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::TlsConnector;

use super::{BoxError, ProxyBody, Transport};

/// Bytes read at once from each side of a joined upgrade.
pub const JOIN_BUFFER: usize = 32 * 1024;

impl Transport {
    /// Sends an upgrade `request` to the server at `addr` on a new
    /// HTTP/1.1 connection and returns its response head: a `101` carries
    /// the server's upgraded stream (`hyper::upgrade::on`), anything else
    /// is an ordinary response.
    pub async fn send_upgrade(
        &self,
        addr: &str,
        request: Request<ProxyBody>,
    ) -> Result<Response<Incoming>, BoxError> {
        let mut tls = (**self.tls.config()).clone();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let connector = TlsConnector::from(Arc::new(tls));
        let dial = async {
            let tcp = tokio::net::TcpStream::connect(addr).await?;
            let _ = tcp.set_nodelay(true);
            let stream = connector.connect(self.server_name.clone(), tcp).await?;
            Ok::<_, std::io::Error>(stream)
        };
        let stream = tokio::time::timeout(self.connect_timeout, dial)
            .await
            .map_err(|_| -> BoxError { format!("connecting to {addr} timed out").into() })??;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        // The connection task ends with the exchange, or hands its stream
        // to the upgrade and ends then.
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(error = %e, "upgrade connection ended with an error");
            }
        });
        Ok(sender.send_request(super::origin_form(request)).await?)
    }
}

/// Copies bytes both ways between `a` and `b` until either side closes
/// (end of stream or an error), or nothing moves either way for `idle`;
/// then both are shut down. Returns the bytes copied `a`→`b` and `b`→`a`.
///
/// The two directions run independently: one blocked on a side that does
/// not read (an echo-style peer writing its answer before it reads more)
/// never stops the other, which is what lets that side drain.
pub async fn join<A, B>(a: A, b: B, idle: Duration) -> (u64, u64)
where
    A: AsyncRead + AsyncWrite,
    B: AsyncRead + AsyncWrite,
{
    let (mut a_read, mut a_write) = tokio::io::split(a);
    let (mut b_read, mut b_write) = tokio::io::split(b);
    let started = tokio::time::Instant::now();
    // Milliseconds since `started` of the last byte moved either way.
    let last = AtomicU64::new(0);
    let (mut a_to_b, mut b_to_a) = (0u64, 0u64);
    {
        let forward = copy_until_closed(&mut a_read, &mut b_write, &mut a_to_b, started, &last);
        let backward = copy_until_closed(&mut b_read, &mut a_write, &mut b_to_a, started, &last);
        let watchdog = async {
            loop {
                let quiet_since = started + Duration::from_millis(last.load(Ordering::Relaxed));
                if tokio::time::Instant::now() >= quiet_since + idle {
                    return;
                }
                tokio::time::sleep_until(quiet_since + idle).await;
            }
        };
        tokio::select! {
            () = forward => {}
            () = backward => {}
            () = watchdog => {}
        }
    }
    let _ = a_write.shutdown().await;
    let _ = b_write.shutdown().await;
    (a_to_b, b_to_a)
}

/// Copies `from` to `to` through a [`JOIN_BUFFER`] until `from` ends or
/// either fails, counting bytes in `copied` and stamping `last` (ms since
/// `started`) whenever bytes move.
async fn copy_until_closed(
    from: &mut (impl AsyncRead + Unpin),
    to: &mut (impl AsyncWrite + Unpin),
    copied: &mut u64,
    started: tokio::time::Instant,
    last: &AtomicU64,
) {
    let stamp = || {
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        last.fetch_max(ms, Ordering::Relaxed);
    };
    let mut buf = vec![0u8; JOIN_BUFFER];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        stamp();
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
        stamp();
        *copied += n as u64;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[tokio::test]
    async fn join_copies_both_ways_and_ends_when_one_side_closes() {
        let (client, mut client_far) = tokio::io::duplex(64);
        let (server, mut server_far) = tokio::io::duplex(64);
        let joined = tokio::spawn(join(client, server, Duration::from_secs(30)));
        client_far.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        server_far.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        server_far.write_all(b"pong!").await.unwrap();
        let mut buf = [0u8; 5];
        client_far.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong!");
        drop(client_far);
        assert_eq!(joined.await.unwrap(), (4, 5));
        // The other side sees the end too.
        let mut rest = Vec::new();
        server_far.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    }

    /// Regression: the join read one side, then waited to write it to the
    /// other while reading nothing, so an echo-style peer (it writes its
    /// answer before reading more) and a client sending faster than the
    /// small buffers drain both waited on each other until the idle bound.
    #[tokio::test]
    async fn join_never_deadlocks_with_a_peer_that_answers_before_reading_more() {
        const TOTAL: usize = 1 << 20;
        // The client's bytes are all there at once; the peer's side holds
        // 64 bytes each way.
        let (client, client_far) = tokio::io::duplex(TOTAL);
        let (server, mut server_far) = tokio::io::duplex(64);
        let joined = tokio::spawn(join(client, server, Duration::from_secs(30)));
        let echo = tokio::spawn(async move {
            let mut buf = [0u8; 512];
            loop {
                let n = server_far.read(&mut buf).await.unwrap();
                if n == 0 {
                    return;
                }
                server_far.write_all(&buf[..n]).await.unwrap();
            }
        });
        let (mut client_read, mut client_write) = tokio::io::split(client_far);
        let sender = tokio::spawn(async move {
            client_write.write_all(&vec![7u8; TOTAL]).await.unwrap();
            client_write
        });
        let mut back = vec![0u8; TOTAL];
        tokio::time::timeout(Duration::from_secs(10), client_read.read_exact(&mut back))
            .await
            .expect("the echo came back whole, no deadlock")
            .unwrap();
        assert!(back.iter().all(|&b| b == 7));
        drop(sender.await.unwrap());
        drop(client_read);
        let (a_to_b, b_to_a) = joined.await.unwrap();
        assert_eq!((a_to_b, b_to_a), (TOTAL as u64, TOTAL as u64));
        echo.await.unwrap();
    }

    #[tokio::test]
    async fn join_ends_when_idle() {
        let (client, _client_far) = tokio::io::duplex(64);
        let (server, _server_far) = tokio::io::duplex(64);
        let copied = join(client, server, Duration::from_millis(200)).await;
        assert_eq!(copied, (0, 0));
    }
}

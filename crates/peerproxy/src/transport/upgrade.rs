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
pub async fn join<A, B>(a: A, b: B, idle: Duration) -> (u64, u64)
where
    A: AsyncRead + AsyncWrite,
    B: AsyncRead + AsyncWrite,
{
    let (mut a_read, mut a_write) = tokio::io::split(a);
    let (mut b_read, mut b_write) = tokio::io::split(b);
    let mut a_buf = vec![0u8; JOIN_BUFFER];
    let mut b_buf = vec![0u8; JOIN_BUFFER];
    let (mut a_to_b, mut b_to_a) = (0u64, 0u64);
    loop {
        // Reads are cancel-safe: the one not taken loses nothing.
        let moved = tokio::select! {
            n = a_read.read(&mut a_buf) => match n {
                Ok(0) | Err(_) => break,
                Ok(n) => write_within(&mut b_write, &a_buf[..n], idle)
                    .await
                    .map(|()| a_to_b += n as u64),
            },
            n = b_read.read(&mut b_buf) => match n {
                Ok(0) | Err(_) => break,
                Ok(n) => write_within(&mut a_write, &b_buf[..n], idle)
                    .await
                    .map(|()| b_to_a += n as u64),
            },
            () = tokio::time::sleep(idle) => None,
        };
        if moved.is_none() {
            break;
        }
    }
    let _ = a_write.shutdown().await;
    let _ = b_write.shutdown().await;
    (a_to_b, b_to_a)
}

/// Writes all of `bytes` to `to` within `idle`; `None` when the write
/// failed or stalled that long.
async fn write_within(
    to: &mut (impl AsyncWrite + Unpin),
    bytes: &[u8],
    idle: Duration,
) -> Option<()> {
    tokio::time::timeout(idle, to.write_all(bytes))
        .await
        .ok()
        .and_then(Result::ok)
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

    #[tokio::test]
    async fn join_ends_when_idle() {
        let (client, _client_far) = tokio::io::duplex(64);
        let (server, _server_far) = tokio::io::duplex(64);
        let copied = join(client, server, Duration::from_millis(200)).await;
        assert_eq!(copied, (0, 0));
    }
}

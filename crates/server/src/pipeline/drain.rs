//! The request body as the stages see it ([`RequestBody`]): when a request
//! is answered before its body was read to the end (401, 413, any early
//! error), the rest is read and thrown away in the background, at most
//! [`DRAIN_BYTES`] within [`DRAIN_TIME`], before the stream is let go.
//!
//! Why: dropping an unread HTTP/2 request body resets the stream at once,
//! often before the response went out, and clients (curl, Go) then report
//! a stream error instead of the 401/413 Status. Holding the stream open
//! until the response is sent and the client finished (or the bound
//! passed, after which the reset says NO_ERROR) lets them read the answer.
//! The bounds keep it from being a way to make the server read forever.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;

/// The most an unread request body is drained by.
pub(crate) const DRAIN_BYTES: usize = 4 << 20;
/// The longest an unread request body is drained for.
pub(crate) const DRAIN_TIME: Duration = Duration::from_secs(5);

/// A request body that drains what is left of it when dropped unread.
#[derive(Debug)]
pub(crate) struct RequestBody(Option<Incoming>);

impl RequestBody {
    pub(crate) fn new(body: Incoming) -> Self {
        Self(Some(body))
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.0.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.0
            .as_ref()
            .map_or_else(SizeHint::default, Body::size_hint)
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        let Some(body) = self.0.take() else { return };
        if body.is_end_stream() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(drain(body, DRAIN_BYTES, DRAIN_TIME));
        }
    }
}

/// Reads and discards `body` until it ends, `max_bytes` were read, it
/// fails, or `max_time` passed; returns the bytes read.
pub(crate) async fn drain<B>(mut body: B, max_bytes: usize, max_time: Duration) -> usize
where
    B: Body + Unpin,
    B::Data: bytes::Buf,
{
    let mut read = 0usize;
    let reading = async {
        while read <= max_bytes {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        read += bytes::Buf::remaining(data);
                    }
                }
                Some(Err(_)) | None => break,
            }
        }
    };
    let _ = tokio::time::timeout(max_time, reading).await;
    read
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::StreamBody;

    fn chunks(
        n: usize,
        size: usize,
    ) -> impl Body<Data = Bytes, Error = std::convert::Infallible> + Unpin {
        StreamBody::new(futures::stream::iter(
            (0..n).map(move |_| Ok(Frame::data(Bytes::from(vec![0u8; size])))),
        ))
    }

    #[tokio::test]
    async fn drains_a_short_body_to_its_end() {
        assert_eq!(drain(chunks(3, 10), 1000, DRAIN_TIME).await, 30);
    }

    #[tokio::test]
    async fn stops_after_the_byte_bound() {
        assert_eq!(drain(chunks(100, 10), 45, DRAIN_TIME).await, 50);
    }

    #[tokio::test]
    async fn stops_after_the_time_bound() {
        let never = StreamBody::new(futures::stream::pending::<
            Result<Frame<Bytes>, std::convert::Infallible>,
        >());
        assert_eq!(drain(never, 1000, Duration::from_millis(50)).await, 0);
    }
}

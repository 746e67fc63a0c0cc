//! HTTP/1.1 connections to a peer driven by the task that uses them.
//!
//! A pooled HTTP/2 connection is driven by its own task: every proxied
//! request then crosses from the client's task to that task and back, and
//! on a busy machine each crossing is a thread wake-up and a context
//! switch, which cost more than the proxying itself. A request that ends
//! soon (anything but a watch) takes one of these instead: an HTTP/1.1
//! keep-alive connection with no task of its own. The request's future
//! drives it until the response head arrives, and the response body drives
//! it while it streams, so the whole exchange runs wherever the client's
//! connection is served. When the body has been read to its end the
//! connection goes back to the pool; a body dropped early takes its
//! connection with it (closed).
//!
//! At most [`MAX_BUSY`] of these are in use per peer at once; beyond that
//! (a burst, or many long requests) the caller uses the multiplexed HTTP/2
//! connection instead, so the number of connections to a peer stays
//! bounded. An idle connection is not watched: one the peer closed is
//! found when it is next taken (it reports itself not ready) and dropped.

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use http::{Request, Response};
use hyper::body::{Body as _, Incoming};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// What a request body must be to go on one of these connections.
pub(crate) trait RequestBody:
    hyper::body::Body<Data = bytes::Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
    + Send
    + 'static
{
}

impl<B> RequestBody for B where
    B: hyper::body::Body<
            Data = bytes::Bytes,
            Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        > + Send
        + 'static
{
}

/// Connections to one peer in use at once, at most.
pub(crate) const MAX_BUSY: usize = 32;

type Driver<B> = Pin<Box<http1::Connection<TokioIo<TlsStream<TcpStream>>, B>>>;

/// One HTTP/1.1 connection: the side that sends requests and the state
/// machine that moves bytes, polled by whoever holds it.
pub(crate) struct InlineConn<B: RequestBody> {
    sender: http1::SendRequest<B>,
    driver: Driver<B>,
}

impl<B: RequestBody> InlineConn<B> {
    /// Handshakes over an established TLS stream (nothing is sent yet).
    pub(crate) async fn handshake(io: TokioIo<TlsStream<TcpStream>>) -> Result<Self, hyper::Error> {
        let (sender, driver) = http1::handshake(io).await?;
        Ok(Self {
            sender,
            driver: Box::pin(driver),
        })
    }

    /// Moves the connection's bytes; `true` while it is open.
    fn drive(&mut self, cx: &mut Context<'_>) -> bool {
        self.driver.as_mut().poll(cx).is_pending()
    }

    /// Whether the connection can take a request now (a pooled one the
    /// peer closed cannot).
    async fn ready(&mut self) -> bool {
        poll_fn(|cx| {
            if !self.drive(cx) {
                return Poll::Ready(false);
            }
            self.sender.poll_ready(cx).map(|r| r.is_ok())
        })
        .await
    }
}

/// Idle connections and the count in use, per peer address.
pub(crate) struct InlinePool<B: RequestBody> {
    peers: Mutex<HashMap<String, Peer<B>>>,
}

impl<B: RequestBody> Default for InlinePool<B> {
    fn default() -> Self {
        Self {
            peers: Mutex::default(),
        }
    }
}

struct Peer<B: RequestBody> {
    idle: Vec<InlineConn<B>>,
    busy: usize,
}

impl<B: RequestBody> Default for Peer<B> {
    fn default() -> Self {
        Self {
            idle: Vec::new(),
            busy: 0,
        }
    }
}

/// What [`InlinePool::take`] found.
pub(crate) enum Taken<B: RequestBody> {
    /// A pooled connection (it may turn out closed: see [`Lease::send`]).
    Idle(Lease<B>),
    /// Room for one more connection: dial it, then [`Lease::attach`].
    Dial(Lease<B>),
    /// [`MAX_BUSY`] in use: use the multiplexed connection.
    Full,
}

impl<B: RequestBody> InlinePool<B> {
    pub(crate) fn take(self: &Arc<Self>, addr: &str) -> Taken<B> {
        let mut peers = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
        let peer = match peers.get_mut(addr) {
            Some(p) => p,
            None => peers.entry(addr.to_owned()).or_default(),
        };
        if peer.busy >= MAX_BUSY {
            return Taken::Full;
        }
        peer.busy += 1;
        let conn = peer.idle.pop();
        let lease = Lease {
            pool: Arc::clone(self),
            addr: addr.to_owned(),
            conn,
        };
        if lease.conn.is_some() {
            Taken::Idle(lease)
        } else {
            Taken::Dial(lease)
        }
    }

    /// Drops every idle connection to `addr`.
    pub(crate) fn forget(&self, addr: &str) {
        let mut peers = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = peers.get_mut(addr) {
            p.idle.clear();
        }
    }
}

/// One place among a peer's busy connections, with its connection once
/// there is one. Dropped, it frees the place (and closes the connection);
/// [`Lease::give_back`] pools the connection instead.
pub(crate) struct Lease<B: RequestBody> {
    pool: Arc<InlinePool<B>>,
    addr: String,
    conn: Option<InlineConn<B>>,
}

impl<B: RequestBody> Lease<B> {
    pub(crate) fn attach(&mut self, conn: InlineConn<B>) {
        self.conn = Some(conn);
    }

    /// Takes the next pooled connection of this peer in place of a closed
    /// one, keeping the place; `false` when none is left.
    fn next_idle(&mut self) -> bool {
        let mut peers = self
            .pool
            .peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.conn = peers.get_mut(&self.addr).and_then(|p| p.idle.pop());
        self.conn.is_some()
    }

    /// Sends `request` on this lease's connection (or, if a pooled one
    /// turns out closed, on the next pooled one) and drives it until the
    /// response head arrives. `Err((request, cause))`: nothing was sent on
    /// any connection (the caller may dial, or try elsewhere); the lease
    /// then holds no connection.
    pub(crate) async fn send(
        mut self,
        request: Request<B>,
    ) -> Result<Response<InlineBody<B>>, SendFailure<B>> {
        let mut request = request;
        loop {
            let Some(conn) = self.conn.as_mut() else {
                return Err(SendFailure::NotSent(Box::new(request), self));
            };
            if !conn.ready().await {
                if self.next_idle() {
                    continue;
                }
                return Err(SendFailure::NotSent(Box::new(request), self));
            }
            let mut answer = std::pin::pin!(conn.sender.try_send_request(request));
            let mut open = true;
            let result = poll_fn(|cx| {
                if open {
                    open = conn.drive(cx);
                }
                answer.as_mut().poll(cx)
            })
            .await;
            match result {
                Ok(resp) => {
                    let lease = if open { Some(self) } else { None };
                    return Ok(resp.map(|inner| InlineBody { inner, lease }));
                }
                Err(mut e) => match e.take_message() {
                    Some(r) => {
                        request = r;
                        if !self.next_idle() {
                            return Err(SendFailure::NotSent(Box::new(request), self));
                        }
                    }
                    None => return Err(SendFailure::Failed(e.into_error())),
                },
            }
        }
    }

    /// Pools the connection (its exchange is complete).
    fn give_back(mut self) {
        if let Some(conn) = self.conn.take() {
            let mut peers = self
                .pool
                .peers
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(p) = peers.get_mut(&self.addr)
                && p.idle.len() < MAX_BUSY
            {
                p.idle.push(conn);
            }
        }
    }
}

impl<B: RequestBody> Drop for Lease<B> {
    fn drop(&mut self) {
        let mut peers = self
            .pool
            .peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = peers.get_mut(&self.addr) {
            p.busy = p.busy.saturating_sub(1);
        }
    }
}

/// Why [`Lease::send`] failed.
pub(crate) enum SendFailure<B: RequestBody> {
    /// Nothing was sent; the request and the (now empty) lease are back.
    NotSent(Box<Request<B>>, Lease<B>),
    /// The request may have reached the peer.
    Failed(hyper::Error),
}

/// A response body that drives its connection while it is read, and
/// pools the connection once read to its end.
pub(crate) struct InlineBody<B: RequestBody> {
    inner: Incoming,
    /// `None` once the connection closed (the body then ends as the
    /// connection left it).
    lease: Option<Lease<B>>,
}

impl<B: RequestBody> InlineBody<B> {
    pub(crate) fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, hyper::Error>>> {
        if let Some(lease) = self.lease.as_mut()
            && let Some(conn) = lease.conn.as_mut()
            && !conn.drive(cx)
        {
            self.lease = None;
        }
        let frame = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) = frame
            && let Some(lease) = self.lease.take()
        {
            lease.give_back();
        }
        frame
    }

    pub(crate) fn inner(&self) -> &Incoming {
        &self.inner
    }
}

impl<B: RequestBody> Drop for InlineBody<B> {
    /// A body whose length was known and fully read may be dropped before
    /// it was polled to its end: its connection is still reusable.
    fn drop(&mut self) {
        if self.inner.is_end_stream()
            && let Some(lease) = self.lease.take()
        {
            lease.give_back();
        }
    }
}

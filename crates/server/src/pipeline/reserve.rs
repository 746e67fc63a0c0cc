//! The part of `--max-connections` kept for authenticated clients.
//!
//! Every connection starts **unproven**: it counts against a smaller pool
//! ([`unproven_cap`]: the cap less a tenth) until its TLS handshake shows a
//! verified client certificate or it sends a request that authenticates
//! (a bearer token). So idle anonymous connections can hold at most nine
//! tenths of the cap and an authenticated client can always connect.
//!
//! When the unproven pool is full, a new connection takes the place of the
//! unproven connection that has been idle longest (no request in flight;
//! a connection still in its TLS handshake counts as idle), which is
//! closed at once. An admin's connection therefore gets in even while
//! anonymous clients keep the pool full, and leaves the pool as soon as
//! its handshake or first request proves who it is; only the anonymous
//! clients evict each other. When every unproven connection has a request
//! in flight, the new connection is refused (closed after accept).
//!
//! Never does I/O; closing is a signal the connection's task acts on.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// The unproven pool for a connection cap: the cap less a tenth (at least
/// one connection kept for authenticated clients when the cap allows it).
pub(crate) fn unproven_cap(max_connections: usize) -> usize {
    if max_connections <= 1 {
        return max_connections;
    }
    max_connections - (max_connections / 10).max(1)
}

/// The unproven connections of one listener.
#[derive(Debug)]
pub(crate) struct UnprovenPool {
    cap: usize,
    inner: Mutex<Pool>,
}

#[derive(Debug, Default)]
struct Pool {
    next_id: u64,
    /// Advances on every accept and every request's end: a connection's
    /// `last_active` is the value at its last request's end (or when it was
    /// accepted), so the smallest is the idlest.
    clock: u64,
    members: HashMap<u64, Member>,
}

#[derive(Debug)]
struct Member {
    in_flight: usize,
    last_active: u64,
    close: Arc<Notify>,
}

impl UnprovenPool {
    pub(crate) fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap,
            inner: Mutex::new(Pool::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Pool> {
        // A panic while holding the lock leaves consistent data: every
        // change is a single map operation.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Admits a just-accepted connection as unproven, closing the idlest
    /// unproven connection to make room when the pool is full. `None`: no
    /// room (every unproven connection is busy); close this one.
    pub(crate) fn admit(self: &Arc<Self>) -> Option<ConnectionSeat> {
        let mut pool = self.lock();
        if pool.members.len() >= self.cap {
            let idlest = pool
                .members
                .iter()
                .filter(|(_, m)| m.in_flight == 0)
                .min_by_key(|(_, m)| m.last_active)
                .map(|(id, _)| *id)?;
            if let Some(evicted) = pool.members.remove(&idlest) {
                evicted.close.notify_one();
            }
        }
        let id = pool.next_id;
        pool.next_id += 1;
        let close = Arc::new(Notify::new());
        pool.clock += 1;
        let last_active = pool.clock;
        pool.members.insert(
            id,
            Member {
                in_flight: 0,
                last_active,
                close: Arc::clone(&close),
            },
        );
        Some(ConnectionSeat {
            pool: Arc::clone(self),
            id,
            proven: AtomicBool::new(false),
            close,
        })
    }

    /// Unproven connections now (tests and logs).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().members.len()
    }
}

/// One connection's place: in the unproven pool until [`prove`](Self::prove)
/// is called, then outside it. Leaves the pool when dropped.
#[derive(Debug)]
pub(crate) struct ConnectionSeat {
    pool: Arc<UnprovenPool>,
    id: u64,
    proven: AtomicBool,
    close: Arc<Notify>,
}

impl ConnectionSeat {
    /// The client proved who it is (verified certificate, or a request
    /// that authenticated): the connection no longer counts as unproven
    /// and is never closed to make room.
    pub(crate) fn prove(&self) {
        if !self.proven.swap(true, Ordering::AcqRel) {
            self.pool.lock().members.remove(&self.id);
        }
    }

    /// A request started on this connection; it is busy (not closed to make
    /// room) until the returned guard drops.
    pub(crate) fn busy(self: &Arc<Self>) -> Busy {
        if !self.proven.load(Ordering::Acquire)
            && let Some(m) = self.pool.lock().members.get_mut(&self.id)
        {
            m.in_flight += 1;
        }
        Busy {
            seat: Arc::clone(self),
        }
    }

    /// Resolves when this connection was chosen to make room for another.
    pub(crate) async fn closed_for_room(&self) {
        self.close.notified().await;
    }
}

impl Drop for ConnectionSeat {
    fn drop(&mut self) {
        if !self.proven.load(Ordering::Acquire) {
            self.pool.lock().members.remove(&self.id);
        }
    }
}

/// A request in flight on a connection (see [`ConnectionSeat::busy`]).
#[derive(Debug)]
pub(crate) struct Busy {
    seat: Arc<ConnectionSeat>,
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut pool = self.seat.pool.lock();
        pool.clock += 1;
        let now = pool.clock;
        if let Some(m) = pool.members.get_mut(&self.seat.id) {
            m.in_flight = m.in_flight.saturating_sub(1);
            m.last_active = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenth_of_the_cap_is_kept_for_authenticated_clients() {
        assert_eq!(unproven_cap(0), 0);
        assert_eq!(unproven_cap(1), 1);
        assert_eq!(unproven_cap(2), 1);
        assert_eq!(unproven_cap(20), 18);
        assert_eq!(unproven_cap(1000), 900);
    }

    #[tokio::test]
    async fn a_full_pool_closes_its_idlest_connection_first() {
        let pool = UnprovenPool::new(2);
        let a = Arc::new(pool.admit().unwrap_or_else(|| panic!("room for a")));
        let b = Arc::new(pool.admit().unwrap_or_else(|| panic!("room for b")));
        // `a` was used after `b` was accepted: `b` is the idlest.
        drop(a.busy());
        let c = pool.admit().unwrap_or_else(|| panic!("room made for c"));
        assert_eq!(pool.len(), 2);
        tokio::time::timeout(std::time::Duration::from_secs(1), b.closed_for_room())
            .await
            .unwrap_or_else(|_| panic!("b was not closed"));
        // A busy connection is never chosen; with every member busy the
        // newcomer is refused.
        let _busy_a = a.busy();
        let c = Arc::new(c);
        let _busy_c = c.busy();
        assert!(pool.admit().is_none());
    }

    #[test]
    fn proven_connections_leave_the_pool() {
        let pool = UnprovenPool::new(1);
        let a = pool.admit().unwrap_or_else(|| panic!("room for a"));
        a.prove();
        assert_eq!(pool.len(), 0);
        let b = pool.admit().unwrap_or_else(|| panic!("room for b"));
        drop(a);
        assert_eq!(pool.len(), 1);
        drop(b);
        assert_eq!(pool.len(), 0);
    }
}

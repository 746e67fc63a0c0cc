//! The probe's state shared by its lanes: the servers it sends through,
//! what each serves, and the counts; sending one request and recording its
//! verdict.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use skewless_local::Client;
use tokio::sync::watch;

use super::config::{MAX_INCIDENTS, REQUEST_TIMEOUT};
use super::stats::{Bucket, PhaseStats, SLOWEST, Slow};
use super::verdict::{Incident, Verdict, judge};
use crate::cluster::discovery::{Gvr, Served};

/// A server the probe sends traffic through.
pub(super) struct Target {
    pub(super) id: String,
    pub(super) client: Client,
    /// Whether new requests may go through it.
    pub(super) live: watch::Sender<bool>,
    pub(super) inflight: AtomicUsize,
}

pub(super) struct Shared {
    pub(super) run: String,
    pub(super) targets: Vec<Target>,
    pub(super) next: AtomicUsize,
    /// Per server, what it serves while it is live (and adopted).
    pub(super) served: RwLock<Vec<Option<Served>>>,
    /// Per server, the resources it serves with the list verb.
    pub(super) listable: RwLock<Vec<Option<Served>>>,
    pub(super) phases: Mutex<Vec<PhaseStats>>,
    pub(super) incidents: Mutex<Vec<Incident>>,
    pub(super) started: Instant,
    /// Objects that may exist and should be removed at the end.
    pub(super) leftovers: Mutex<BTreeSet<String>>,
    /// Per second since `started`, what the probe saw.
    pub(super) series: Mutex<Vec<Bucket>>,
}

/// Marks a request in flight through a server until dropped.
pub(super) struct InFlight<'a>(pub(super) &'a Target);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.inflight.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub(super) fn is_served(&self, gvr: &Gvr) -> bool {
        self.served
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .flatten()
            .any(|s| s.contains(gvr))
    }

    /// Whether a server is being replaced right now (out of traffic).
    pub(super) fn replacing(&self) -> bool {
        self.targets.iter().any(|t| !*t.live.borrow())
    }

    /// The next live server, marked in flight.
    pub(super) fn pick(&self) -> Option<(usize, InFlight<'_>)> {
        let n = self.targets.len();
        for _ in 0..n {
            let i = self.next.fetch_add(1, Ordering::Relaxed) % n;
            let t = &self.targets[i];
            t.inflight.fetch_add(1, Ordering::SeqCst);
            let guard = InFlight(t);
            if *t.live.borrow() {
                return Some((i, guard));
            }
        }
        None
    }

    pub(super) fn phase_name(&self) -> String {
        lock(&self.phases)
            .last()
            .map(|p| p.name.clone())
            .unwrap_or_default()
    }

    pub(super) fn with_phase(&self, f: impl FnOnce(&mut PhaseStats)) {
        if let Some(p) = lock(&self.phases).last_mut() {
            f(p);
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn record(
        &self,
        server: usize,
        method: &str,
        path: &str,
        status: Option<u16>,
        verdict: Verdict,
        latency: Option<Duration>,
        detail: &str,
    ) {
        self.with_phase(|p| {
            p.requests += 1;
            if let Some(c) = p.by_server.get_mut(server) {
                *c += 1;
            }
            match verdict {
                Verdict::Ok => {}
                Verdict::Expected404 => p.expected_404 += 1,
                Verdict::False404 => p.false_404 += 1,
                Verdict::Expected5xx => p.expected_5xx += 1,
                Verdict::Unexpected5xx => p.unexpected_5xx += 1,
                Verdict::Error => p.errors += 1,
            }
            if let Some(l) = latency {
                let ms = l.as_secs_f64() * 1000.0;
                p.latencies_ms.push(ms);
                if p.slowest.len() < SLOWEST || p.slowest.last().is_some_and(|s| s.ms < ms) {
                    p.slowest.push(Slow {
                        ms,
                        server: self.targets[server].id.clone(),
                        method: method.to_owned(),
                        path: path.to_owned(),
                        status,
                    });
                    p.slowest.sort_by(|a, b| b.ms.total_cmp(&a.ms));
                    p.slowest.truncate(SLOWEST);
                }
            }
        });
        {
            let second = self.started.elapsed().as_secs() as usize;
            let mut series = lock(&self.series);
            if series.len() <= second {
                series.resize(second + 1, Bucket::default());
            }
            let b = &mut series[second];
            b.requests += 1;
            match verdict {
                Verdict::False404 => b.false_404 += 1,
                Verdict::Unexpected5xx => b.unexpected_5xx += 1,
                Verdict::Expected5xx => b.expected_5xx += 1,
                Verdict::Error => b.errors += 1,
                Verdict::Ok | Verdict::Expected404 => {}
            }
            if let Some(l) = latency {
                b.latencies_ms.push(l.as_secs_f64() * 1000.0);
            }
        }
        if verdict != Verdict::Ok {
            let mut incidents = lock(&self.incidents);
            if incidents.len() < MAX_INCIDENTS {
                incidents.push(Incident {
                    at: self.started.elapsed().as_secs_f64(),
                    phase: self.phase_name(),
                    server: self.targets[server].id.clone(),
                    method: method.to_owned(),
                    path: path.to_owned(),
                    status,
                    verdict,
                    detail: detail.chars().take(300).collect(),
                });
            }
        }
    }

    /// Sends one request through the next live server and judges it.
    /// Returns the status, if any answer came.
    pub(super) async fn call(
        &self,
        gvr: &Gvr,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Option<u16> {
        let Some((i, _inflight)) = self.pick() else {
            // Every server is down: nothing to send through.
            tokio::time::sleep(Duration::from_millis(100)).await;
            return None;
        };
        let served_before = self.is_served(gvr);
        let started = Instant::now();
        let body = body.and_then(|b| serde_json::to_vec(b).ok());
        let result = self.targets[i]
            .client
            .request(
                method,
                path,
                &[("accept", "application/json")],
                body,
                REQUEST_TIMEOUT,
            )
            .await;
        let latency = started.elapsed();
        let served_after = self.is_served(gvr);
        let served = served_before && served_after;
        match result {
            Ok(r) => {
                let verdict = judge(r.status, served);
                self.record(
                    i,
                    method,
                    path,
                    Some(r.status),
                    verdict,
                    Some(latency),
                    &r.text(),
                );
                Some(r.status)
            }
            Err(e) => {
                self.record(
                    i,
                    method,
                    path,
                    None,
                    Verdict::Error,
                    None,
                    &format!("{e:#}"),
                );
                None
            }
        }
    }
}

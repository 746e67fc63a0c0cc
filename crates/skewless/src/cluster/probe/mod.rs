//! The upgrade rehearsal's probe: steady traffic through every live server
//! (round robin) while servers are replaced, and a verdict on every answer.
//!
//! Traffic, at `--rate` requests per second in total:
//! - ConfigMap lanes: create, get, list, update, get, delete, one object at
//!   a time, each request through the next live server;
//! - MutatingAdmissionPolicy lanes: the same for
//!   `admissionregistration.k8s.io/v1 mutatingadmissionpolicies`, which
//!   only 1.36 serves;
//! - a read lane listing every resource some servers serve and others do
//!   not (whatever the versions and runtime configs make differ);
//! - watches of both kinds through every live server, reopened when they
//!   end. A server about to stop gets no new requests, but its watches stay
//!   open, as real clients' would: the server must end them when it stops.
//!
//! Verdicts: a **false 404** is a 404 for something that exists somewhere
//! in the cluster: a resource that some live server serves (before and
//! after the request), or an object the probe created and has not deleted.
//! A 503 is **expected** only when no live server served the resource at
//! the start or the end of the request (its only server was stopping);
//! every other 5xx is unexpected. Other failures (other 4xx, connection
//! errors to a live server) count as errors. The orchestrator tells the
//! probe when a server goes down (no new requests, in-flight ones drain
//! first) and when it is back, and which resources each live server serves.
//!
//! The probe never retries: it reports what a client would have seen.

mod config;
mod lanes;
mod shared;
mod stats;
mod verdict;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use skewless_local::Client;
use tokio::sync::watch;

use super::discovery::Served;
use config::{LABEL, REQUEST_TIMEOUT};
use lanes::{ensure_namespace, gvr_of, kinds, object_lane, read_lane, watch_lane};
use shared::{Shared, Target, lock};
pub use stats::{Bucket, PhaseStats, Slow};
pub use verdict::{Incident, Verdict};

/// A server as the orchestrator hands it to the probe.
#[derive(Debug, Clone)]
pub struct ProbeTarget {
    pub id: String,
    pub client: Client,
    pub served: Served,
    pub listable: Served,
}

/// A running probe.
pub struct Probe {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: tokio::task::JoinSet<()>,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probe")
            .field("run", &self.shared.run)
            .finish_non_exhaustive()
    }
}

impl Probe {
    /// Starts traffic at `rate` requests per second in total, in a first
    /// phase named `phase`.
    pub async fn start(targets: Vec<ProbeTarget>, rate: f64, phase: &str) -> anyhow::Result<Self> {
        let n = targets.len();
        let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let shared = Arc::new(Shared {
            run,
            served: RwLock::new(targets.iter().map(|t| Some(t.served.clone())).collect()),
            listable: RwLock::new(targets.iter().map(|t| Some(t.listable.clone())).collect()),
            targets: targets
                .into_iter()
                .map(|t| Target {
                    id: t.id,
                    client: t.client,
                    live: watch::Sender::new(true),
                    inflight: AtomicUsize::new(0),
                })
                .collect(),
            next: AtomicUsize::new(0),
            phases: Mutex::new(Vec::new()),
            incidents: Mutex::new(Vec::new()),
            started: Instant::now(),
            leftovers: Mutex::new(BTreeSet::new()),
            series: Mutex::new(Vec::new()),
        });
        ensure_namespace(&shared).await?;
        let (stop, _) = watch::channel(false);
        let mut probe = Self {
            shared,
            stop,
            tasks: tokio::task::JoinSet::new(),
        };
        probe.begin_phase(phase);
        let kinds = kinds();
        // Two lanes per kind, one read lane.
        let lanes = kinds.len() * 2 + 1;
        let period = Duration::from_secs_f64(lanes as f64 / rate.max(0.1));
        for (k, kind) in kinds.iter().enumerate() {
            for lane in 0..2 {
                let shared = Arc::clone(&probe.shared);
                let kind = kind.clone();
                let stop = probe.stop.subscribe();
                let name = format!("probe-{}-{}{lane}", shared.run, k);
                probe
                    .tasks
                    .spawn(async move { object_lane(shared, kind, name, period, stop).await });
            }
        }
        {
            let shared = Arc::clone(&probe.shared);
            let stop = probe.stop.subscribe();
            probe
                .tasks
                .spawn(async move { read_lane(shared, period, stop).await });
        }
        for i in 0..n {
            for kind in &kinds {
                let shared = Arc::clone(&probe.shared);
                let kind = kind.clone();
                let stop = probe.stop.subscribe();
                probe
                    .tasks
                    .spawn(async move { watch_lane(shared, i, kind, stop).await });
            }
        }
        Ok(probe)
    }

    /// Seconds since the probe started.
    pub fn elapsed(&self) -> f64 {
        self.shared.started.elapsed().as_secs_f64()
    }

    /// A handle that follows the probe's phases and live servers.
    pub fn view(&self) -> ProbeView {
        ProbeView(Arc::clone(&self.shared))
    }

    /// Ends the current phase and starts the next.
    pub fn begin_phase(&self, name: &str) {
        let mut phases = lock(&self.shared.phases);
        let now = Instant::now();
        if let Some(p) = phases.last_mut() {
            p.ended = Some(now);
        }
        phases.push(PhaseStats {
            name: name.to_owned(),
            started: Some(now),
            by_server: vec![0; self.shared.targets.len()],
            ..PhaseStats::default()
        });
    }

    /// Stops sending through server `i`, forgets what it serves, and waits
    /// (bounded) for its in-flight requests to finish.
    pub async fn mark_down(&self, i: usize) {
        let Some(t) = self.shared.targets.get(i) else {
            return;
        };
        t.live.send_replace(false);
        self.shared
            .served
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)[i] = None;
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        while t.inflight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Sends traffic through server `i` again (on a fresh connection).
    pub async fn mark_up(&self, i: usize) {
        let Some(t) = self.shared.targets.get(i) else {
            return;
        };
        t.client.reset().await;
        t.live.send_replace(true);
    }

    /// From now on, `served` counts as existing in the cluster.
    pub fn adopt(&self, i: usize, served: Served, listable: Served) {
        if let Some(s) = self
            .shared
            .served
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(i)
        {
            *s = Some(served);
        }
        if let Some(s) = self
            .shared
            .listable
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(i)
        {
            *s = Some(listable);
        }
    }

    /// Stops the traffic, removes the probe's objects (best effort) and
    /// returns every phase and the incidents.
    pub async fn finish(mut self) -> Finished {
        let _ = self.stop.send(true);
        let drained = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(20), drained)
            .await
            .is_err()
        {
            self.tasks.abort_all();
        }
        if let Some(p) = lock(&self.shared.phases).last_mut() {
            p.ended = Some(Instant::now());
        }
        let leftovers: Vec<String> = lock(&self.shared.leftovers).iter().cloned().collect();
        let mut left_behind = 0;
        for path in leftovers {
            let removed = match self.shared.pick() {
                Some((i, _inflight)) => self.shared.targets[i]
                    .client
                    .request("DELETE", &path, &[], None, REQUEST_TIMEOUT)
                    .await
                    .is_ok_and(|r| {
                        r.status < 300 || r.status == 404 && self.shared.is_served(&gvr_of(&path))
                    }),
                None => false,
            };
            if !removed {
                left_behind += 1;
            }
        }
        Finished {
            started: self.shared.started,
            series: std::mem::take(&mut *lock(&self.shared.series)),
            phases: std::mem::take(&mut *lock(&self.shared.phases)),
            incidents: std::mem::take(&mut *lock(&self.shared.incidents)),
            left_behind,
            label: format!("{LABEL}={}", self.shared.run),
        }
    }
}

/// The probe's phases and live servers, for what runs beside it.
#[derive(Clone)]
pub struct ProbeView(Arc<Shared>);

impl ProbeView {
    /// The current phase's name.
    pub fn phase(&self) -> String {
        self.0.phase_name()
    }

    /// Whether new requests may go through server `i`.
    pub fn live(&self, i: usize) -> bool {
        self.0.targets.get(i).is_some_and(|t| *t.live.borrow())
    }

    /// Seconds since the probe started.
    pub fn elapsed(&self) -> f64 {
        self.0.started.elapsed().as_secs_f64()
    }
}

/// What a finished probe saw.
#[derive(Debug)]
pub struct Finished {
    /// When the probe started: phases' instants are relative to it.
    pub started: Instant,
    /// Per second since `started`.
    pub series: Vec<Bucket>,
    pub phases: Vec<PhaseStats>,
    pub incidents: Vec<Incident>,
    /// Probe objects that could not be deleted (their resource is served
    /// by no server any more, after a rollback).
    pub left_behind: usize,
    /// The label selector of this run's objects.
    pub label: String,
}

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

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::discovery::{Gvr, Served};
use skewless_local::Client;

/// The namespace the probe's ConfigMaps live in.
pub const NAMESPACE: &str = "skewless-probe";
const LABEL: &str = "skewless.io/probe";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const MAX_INCIDENTS: usize = 200;

/// How an answer was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    #[serde(rename = "ok")]
    Ok,
    /// 404 for a resource no live server serves, as it should be.
    #[serde(rename = "expected_404")]
    Expected404,
    /// 404 for something that exists somewhere in the cluster.
    #[serde(rename = "false_404")]
    False404,
    /// 503 while the only servers of the resource were down.
    #[serde(rename = "expected_5xx")]
    Expected5xx,
    #[serde(rename = "unexpected_5xx")]
    Unexpected5xx,
    /// Any other failure: another 4xx, or no answer from a live server.
    #[serde(rename = "error")]
    Error,
}

impl Verdict {
    /// As the report prints it.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Expected404 => "expected 404",
            Verdict::False404 => "FALSE 404",
            Verdict::Expected5xx => "expected 5xx",
            Verdict::Unexpected5xx => "UNEXPECTED 5XX",
            Verdict::Error => "ERROR",
        }
    }
}

/// One answer worth a look.
#[derive(Debug, Clone, Serialize)]
pub struct Incident {
    /// Seconds since the probe started.
    pub at: f64,
    pub phase: String,
    pub server: String,
    pub method: String,
    pub path: String,
    pub status: Option<u16>,
    pub verdict: Verdict,
    pub detail: String,
}

/// Counts for one phase.
#[derive(Debug, Clone, Default)]
pub struct PhaseStats {
    pub name: String,
    pub started: Option<Instant>,
    pub ended: Option<Instant>,
    pub requests: u64,
    pub by_server: Vec<u64>,
    pub false_404: u64,
    pub expected_404: u64,
    pub unexpected_5xx: u64,
    pub expected_5xx: u64,
    pub errors: u64,
    pub latencies_ms: Vec<f64>,
    pub watches_opened: u64,
    pub watch_events: u64,
    /// The slowest answers, slowest first.
    pub slowest: Vec<Slow>,
}

/// One slow answer.
#[derive(Debug, Clone, Serialize)]
pub struct Slow {
    pub ms: f64,
    pub server: String,
    pub method: String,
    pub path: String,
    pub status: Option<u16>,
}

/// How many of the slowest answers each phase keeps.
const SLOWEST: usize = 3;

/// A server the probe sends traffic through.
struct Target {
    id: String,
    client: Client,
    /// Whether new requests may go through it.
    live: watch::Sender<bool>,
    inflight: AtomicUsize,
}

struct Shared {
    run: String,
    targets: Vec<Target>,
    next: AtomicUsize,
    /// Per server, what it serves while it is live (and adopted).
    served: RwLock<Vec<Option<Served>>>,
    /// Per server, the resources it serves with the list verb.
    listable: RwLock<Vec<Option<Served>>>,
    phases: Mutex<Vec<PhaseStats>>,
    incidents: Mutex<Vec<Incident>>,
    started: Instant,
    /// Objects that may exist and should be removed at the end.
    leftovers: Mutex<BTreeSet<String>>,
}

/// Marks a request in flight through a server until dropped.
struct InFlight<'a>(&'a Target);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.inflight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn is_served(&self, gvr: &Gvr) -> bool {
        self.served
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .flatten()
            .any(|s| s.contains(gvr))
    }

    /// The next live server, marked in flight.
    fn pick(&self) -> Option<(usize, InFlight<'_>)> {
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

    fn phase_name(&self) -> String {
        lock(&self.phases)
            .last()
            .map(|p| p.name.clone())
            .unwrap_or_default()
    }

    fn with_phase(&self, f: impl FnOnce(&mut PhaseStats)) {
        if let Some(p) = lock(&self.phases).last_mut() {
            f(p);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
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
    async fn call(&self, gvr: &Gvr, method: &str, path: &str, body: Option<&Value>) -> Option<u16> {
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

/// The verdict on an answer. `served`: some live server served the
/// resource for the whole request. The probe only asks for objects it knows
/// exist, so for a served resource every 404 is false.
fn judge(status: u16, served: bool) -> Verdict {
    match status {
        200..=299 => Verdict::Ok,
        404 if served => Verdict::False404,
        404 => Verdict::Expected404,
        503 if !served => Verdict::Expected5xx,
        500..=599 => Verdict::Unexpected5xx,
        _ => Verdict::Error,
    }
}

/// A kind of object the probe creates, reads, updates and deletes.
#[derive(Debug, Clone)]
struct Kind {
    gvr: Gvr,
    collection: String,
    body: fn(&str, &str, u32) -> Value,
}

fn configmap(name: &str, run: &str, step: u32) -> Value {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {LABEL: run}},
        "data": {"step": step.to_string()},
    })
}

fn mutating_admission_policy(name: &str, run: &str, step: u32) -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicy",
        "metadata": {"name": name, "labels": {LABEL: run}},
        "spec": {
            "failurePolicy": if step == 0 { "Fail" } else { "Ignore" },
            "reinvocationPolicy": "IfNeeded",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": ["apps"], "apiVersions": ["v1"],
                "operations": ["CREATE"], "resources": ["deployments"],
            }]},
            "mutations": [{"patchType": "ApplyConfiguration", "applyConfiguration": {
                "expression": "Object{metadata: Object.metadata{labels: {\"mutated\": \"true\"}}}",
            }}],
        },
    })
}

fn kinds() -> Vec<Kind> {
    vec![
        Kind {
            gvr: (String::new(), "v1".into(), "configmaps".into()),
            collection: format!("/api/v1/namespaces/{NAMESPACE}/configmaps"),
            body: configmap,
        },
        Kind {
            gvr: (
                "admissionregistration.k8s.io".into(),
                "v1".into(),
                "mutatingadmissionpolicies".into(),
            ),
            collection: "/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies".into(),
            body: mutating_admission_policy,
        },
    ]
}

fn collection_path(gvr: &Gvr) -> String {
    let (g, v, r) = gvr;
    if g.is_empty() {
        format!("/api/{v}/{r}")
    } else {
        format!("/apis/{g}/{v}/{r}")
    }
}

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
            phases: std::mem::take(&mut *lock(&self.shared.phases)),
            incidents: std::mem::take(&mut *lock(&self.shared.incidents)),
            left_behind,
            label: format!("{LABEL}={}", self.shared.run),
        }
    }
}

/// What a finished probe saw.
#[derive(Debug)]
pub struct Finished {
    pub phases: Vec<PhaseStats>,
    pub incidents: Vec<Incident>,
    /// Probe objects that could not be deleted (their resource is served
    /// by no server any more, after a rollback).
    pub left_behind: usize,
    /// The label selector of this run's objects.
    pub label: String,
}

/// The resource of one of the probe's object paths.
fn gvr_of(path: &str) -> Gvr {
    kinds()
        .into_iter()
        .find(|k| path.starts_with(&k.collection))
        .map(|k| k.gvr)
        .unwrap_or_default()
}

async fn ensure_namespace(shared: &Shared) -> anyhow::Result<()> {
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}});
    let body = serde_json::to_vec(&ns)?;
    let mut last = String::new();
    for t in &shared.targets {
        match t
            .client
            .request(
                "POST",
                "/api/v1/namespaces",
                &[],
                Some(body.clone()),
                REQUEST_TIMEOUT,
            )
            .await
        {
            Ok(r) if r.status == 201 || r.status == 409 => return Ok(()),
            Ok(r) => last = format!("{}: {}", r.status, r.text()),
            Err(e) => last = format!("{e:#}"),
        }
    }
    anyhow::bail!("creating the probe's namespace {NAMESPACE} failed: {last}")
}

/// Waits for the next tick; false once the probe stops.
async fn tick(interval: &mut tokio::time::Interval, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = interval.tick() => !*stop.borrow(),
        _ = stop.changed() => false,
    }
}

/// Create, get, list, update, get, delete; one object at a time.
async fn object_lane(
    shared: Arc<Shared>,
    kind: Kind,
    prefix: String,
    period: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let list = format!(
        "{}?labelSelector={}%3D{}&limit=20",
        kind.collection,
        LABEL.replace('/', "%2F"),
        shared.run
    );
    let mut n = 0u64;
    'objects: loop {
        n += 1;
        let name = format!("{prefix}-{n}");
        let item = format!("{}/{name}", kind.collection);
        if !tick(&mut interval, &mut stop).await {
            return;
        }
        let created = shared
            .call(
                &kind.gvr,
                "POST",
                &kind.collection,
                Some(&(kind.body)(&name, &shared.run, 0)),
            )
            .await;
        match created {
            Some(201) => {}
            // Not created, or perhaps created: remove it at the end.
            Some(s) if s >= 500 => {
                lock(&shared.leftovers).insert(item);
                continue;
            }
            None => {
                lock(&shared.leftovers).insert(item);
                continue;
            }
            Some(_) => continue,
        }
        lock(&shared.leftovers).insert(item.clone());
        let steps: [(&str, &str, Option<Value>); 4] = [
            ("GET", item.as_str(), None),
            ("GET", list.as_str(), None),
            (
                "PUT",
                item.as_str(),
                Some((kind.body)(&name, &shared.run, 1)),
            ),
            ("GET", item.as_str(), None),
        ];
        for (method, path, body) in &steps {
            if !tick(&mut interval, &mut stop).await {
                return;
            }
            shared.call(&kind.gvr, method, path, body.as_ref()).await;
        }
        if !tick(&mut interval, &mut stop).await {
            return;
        }
        if let Some(200..=299) = shared.call(&kind.gvr, "DELETE", &item, None).await {
            lock(&shared.leftovers).remove(&item);
        }
        continue 'objects;
    }
}

/// Lists, in turn, every resource some live servers serve and others do
/// not; with none, lists namespaces.
async fn read_lane(shared: Arc<Shared>, period: Duration, mut stop: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut turn = 0usize;
    let mut seen: BTreeSet<Gvr> = BTreeSet::new();
    loop {
        if !tick(&mut interval, &mut stop).await {
            return;
        }
        // Remember every listable resource ever served by only some servers,
        // so one that disappears keeps being asked for (and judged).
        {
            let listable = shared
                .listable
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let live: Vec<&Served> = listable.iter().flatten().collect();
            let union: BTreeSet<&Gvr> = live.iter().flat_map(|s| s.iter()).collect();
            for gvr in union {
                if live.iter().any(|s| !s.contains(gvr)) {
                    seen.insert(gvr.clone());
                }
            }
        }
        let gvr = if seen.is_empty() {
            (String::new(), "v1".to_owned(), "namespaces".to_owned())
        } else {
            turn += 1;
            seen.iter()
                .nth(turn % seen.len())
                .cloned()
                .unwrap_or_default()
        };
        let path = format!("{}?limit=5", collection_path(&gvr));
        shared.call(&gvr, "GET", &path, None).await;
    }
}

/// Keeps a watch of `kind` open through server `i` while it is live.
async fn watch_lane(shared: Arc<Shared>, i: usize, kind: Kind, mut stop: watch::Receiver<bool>) {
    let target = &shared.targets[i];
    let mut live = target.live.subscribe();
    let path = format!(
        "{}?watch=1&labelSelector={}%3D{}&timeoutSeconds=60",
        kind.collection,
        LABEL.replace('/', "%2F"),
        shared.run
    );
    loop {
        // Wait until the server is live (or the probe stops).
        tokio::select! {
            r = live.wait_for(|l| *l) => if r.is_err() { return },
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        target.inflight.fetch_add(1, Ordering::SeqCst);
        let inflight = InFlight(target);
        if !*target.live.borrow() {
            continue;
        }
        let served_before = shared.is_served(&kind.gvr);
        let started = Instant::now();
        let opened = target.client.stream(&path, REQUEST_TIMEOUT).await;
        // The watch is open: it must not hold up a server's shutdown.
        drop(inflight);
        let served = served_before && shared.is_served(&kind.gvr);
        let mut body = match opened {
            Ok((200, body)) => {
                shared.record(
                    i,
                    "WATCH",
                    &path,
                    Some(200),
                    Verdict::Ok,
                    Some(started.elapsed()),
                    "",
                );
                shared.with_phase(|p| p.watches_opened += 1);
                body
            }
            Ok((status, body)) => {
                let text = body
                    .collect()
                    .await
                    .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
                    .unwrap_or_default();
                let verdict = judge(status, served);
                shared.record(
                    i,
                    "WATCH",
                    &path,
                    Some(status),
                    verdict,
                    Some(started.elapsed()),
                    &text,
                );
                pause(&mut stop, Duration::from_secs(1)).await;
                continue;
            }
            Err(e) => {
                if *target.live.borrow() {
                    shared.record(
                        i,
                        "WATCH",
                        &path,
                        None,
                        Verdict::Error,
                        None,
                        &format!("{e:#}"),
                    );
                }
                pause(&mut stop, Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut buf: Vec<u8> = Vec::new();
        loop {
            tokio::select! {
                frame = body.frame() => match frame {
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            buf.extend_from_slice(&data);
                            while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                                let line: Vec<u8> = buf.drain(..=pos).collect();
                                if let Ok(event) = serde_json::from_slice::<Value>(&line) {
                                    watch_event(&shared, i, &path, &event, &kind);
                                }
                            }
                        }
                    }
                    // The watch ended (timeout, or a server shutting down):
                    // a client reopens it, and so does the probe.
                    Some(Err(_)) | None => break,
                },
                _ = stop.changed() => return,
            }
        }
    }
}

fn watch_event(shared: &Shared, i: usize, path: &str, event: &Value, kind: &Kind) {
    match event["type"].as_str() {
        Some("ADDED" | "MODIFIED" | "DELETED") => shared.with_phase(|p| p.watch_events += 1),
        Some("ERROR") => {
            let code = event["object"]["code"]
                .as_u64()
                .and_then(|c| u16::try_from(c).ok());
            let verdict = match code {
                // 410 Gone asks the client to list again: not an error.
                Some(410) => return,
                Some(c) => judge(c, shared.is_served(&kind.gvr)),
                None => Verdict::Error,
            };
            shared.record(
                i,
                "WATCH",
                path,
                code,
                verdict,
                None,
                &event["object"].to_string(),
            );
        }
        _ => {}
    }
}

async fn pause(stop: &mut watch::Receiver<bool>, d: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stop.changed() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        // Served somewhere: a 404 is a lie.
        assert_eq!(judge(404, true), Verdict::False404);
        // Served nowhere that is up: the truth.
        assert_eq!(judge(404, false), Verdict::Expected404);
        assert_eq!(judge(503, false), Verdict::Expected5xx);
        assert_eq!(judge(503, true), Verdict::Unexpected5xx);
        assert_eq!(judge(500, false), Verdict::Unexpected5xx);
        assert_eq!(judge(409, true), Verdict::Error);
        assert_eq!(judge(201, true), Verdict::Ok);
    }
}

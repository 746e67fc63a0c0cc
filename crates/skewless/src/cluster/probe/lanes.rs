//! The probe's traffic: object lanes (create, get, list, update, get,
//! delete), the read lane, and watches.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::config::{LABEL, NAMESPACE, REQUEST_TIMEOUT};
use super::shared::{InFlight, Shared, lock};
use super::verdict::{Verdict, judge};
use crate::cluster::discovery::{Gvr, Served};

/// A kind of object the probe creates, reads, updates and deletes.
#[derive(Debug, Clone)]
pub(super) struct Kind {
    pub(super) gvr: Gvr,
    pub(super) collection: String,
    pub(super) body: fn(&str, &str, u32) -> Value,
}

pub(super) fn configmap(name: &str, run: &str, step: u32) -> Value {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {LABEL: run}},
        "data": {"step": step.to_string()},
    })
}

pub(super) fn mutating_admission_policy(name: &str, run: &str, step: u32) -> Value {
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

pub(super) fn kinds() -> Vec<Kind> {
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

pub(super) fn collection_path(gvr: &Gvr) -> String {
    let (g, v, r) = gvr;
    if g.is_empty() {
        format!("/api/{v}/{r}")
    } else {
        format!("/apis/{g}/{v}/{r}")
    }
}

/// The resource of one of the probe's object paths.
pub(super) fn gvr_of(path: &str) -> Gvr {
    kinds()
        .into_iter()
        .find(|k| path.starts_with(&k.collection))
        .map(|k| k.gvr)
        .unwrap_or_default()
}

pub(super) async fn ensure_namespace(shared: &Shared) -> anyhow::Result<()> {
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
pub(super) async fn tick(
    interval: &mut tokio::time::Interval,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    tokio::select! {
        _ = interval.tick() => !*stop.borrow(),
        _ = stop.changed() => false,
    }
}

/// Create, get, list, update, get, delete; one object at a time.
pub(super) async fn object_lane(
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
pub(super) async fn read_lane(
    shared: Arc<Shared>,
    period: Duration,
    mut stop: watch::Receiver<bool>,
) {
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
pub(super) async fn watch_lane(
    shared: Arc<Shared>,
    i: usize,
    kind: Kind,
    mut stop: watch::Receiver<bool>,
) {
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

pub(super) fn watch_event(shared: &Shared, i: usize, path: &str, event: &Value, kind: &Kind) {
    match event["type"].as_str() {
        Some("ADDED" | "MODIFIED" | "DELETED") => shared.with_phase(|p| p.watch_events += 1),
        Some("ERROR") => {
            let code = event["object"]["code"]
                .as_u64()
                .and_then(|c| u16::try_from(c).ok());
            let verdict = match code {
                // 410 Gone asks the client to list again: not an error.
                Some(410) => return,
                // A relayed watch whose serving peer went away ends with a
                // 503 event (as a watch the server cannot continue): the
                // client watches again, through a server that can. Only a
                // stop the rehearsal caused explains it.
                Some(503) if shared.replacing() => return,
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

pub(super) async fn pause(stop: &mut watch::Receiver<bool>, d: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stop.changed() => {}
    }
}

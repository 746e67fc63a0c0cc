//! StorageVersion objects (`internal.apiserver.k8s.io/v1alpha1`
//! `storageversions`, alpha): each server records, per built-in resource it
//! stores, the version it writes (`encodingVersion`), the versions it can
//! read (`decodableVersions`) and the versions it serves, in the object named
//! `<group>.<resource>` (`core.<resource>` for the core group), keyed by its
//! server ID; `status.commonEncodingVersion` and the condition
//! `AllEncodingVersionsEqual` say whether every recorded server writes the
//! same version. Entries of servers whose identity Lease is gone or expired
//! are removed, and an object left without entries is deleted (upstream's
//! StorageVersion garbage collection).
//!
//! Runs only with the `StorageVersionAPI` feature gate on and the group
//! version enabled (`--runtime-config=internal.apiserver.k8s.io/v1alpha1=true`),
//! as upstream. Every server runs the loop (no leader): writes are
//! compare-and-swap on the revision read, and a lost race waits for the next
//! pass. Resources without `watch` (reviews, bindings, componentstatuses) have
//! no storage and get no object. CRDs are not recorded.
//!
//! The object logic ([`record`], [`collect`]) is pure; only [`run`] does I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use skewless_apimachinery::catalog::Catalog;
use skewless_apimachinery::conversion;
use skewless_store::{ListOptions, StoreError, WriteOptions};

use crate::controllers::identity;
use crate::object;
use crate::state::State;
use crate::storage;

/// The feature gate that turns the StorageVersion API on (alpha, off).
pub(crate) const GATE: &str = "StorageVersionAPI";
const GROUP: &str = "internal.apiserver.k8s.io";
const VERSION: &str = "v1alpha1";
const RESOURCE: &str = "storageversions";
const CONDITION: &str = "AllEncodingVersionsEqual";
const RECONCILE_EVERY: Duration = Duration::from_secs(2);

/// One server's entry for one resource (`status.storageVersions[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Object name, `<group>.<resource>`.
    pub(crate) name: String,
    pub(crate) encoding_version: String,
    pub(crate) decodable_versions: Vec<String>,
    pub(crate) served_versions: Vec<String>,
}

/// The object name of a resource: `apps.deployments`, `core.pods`.
pub(crate) fn name_of(group: &str, resource: &str) -> String {
    let group = if group.is_empty() { "core" } else { group };
    format!("{group}.{resource}")
}

/// This server's entries: every stored built-in resource it serves, with
/// its storage version at this release and every version it serves.
pub(crate) fn local_entries(catalog: &Catalog) -> Vec<Entry> {
    let release = catalog.emulated_version();
    let mut out: Vec<Entry> = Vec::new();
    for group in catalog.groups() {
        for gv in &group.versions {
            for r in gv
                .resources
                .iter()
                .filter(|r| r.verbs.iter().any(|v| v == "watch"))
            {
                let name = name_of(&group.name, &r.resource);
                let served = conversion::api_version(&group.name, &gv.version);
                if let Some(e) = out.iter_mut().find(|e| e.name == name) {
                    e.served_versions.push(served);
                    continue;
                }
                // Versions come highest priority first, so the first one is
                // what a resource outside the conversion table stores.
                let storage =
                    conversion::storage_version(&group.name, &r.resource, release, &gv.version);
                out.push(Entry {
                    name,
                    encoding_version: conversion::api_version(&group.name, &storage),
                    decodable_versions: Vec::new(),
                    served_versions: vec![served],
                });
            }
        }
    }
    for e in &mut out {
        let mut decodable: BTreeSet<String> = e.served_versions.iter().cloned().collect();
        decodable.insert(e.encoding_version.clone());
        e.decodable_versions = decodable.into_iter().collect();
    }
    out
}

fn entry_json(server_id: &str, e: &Entry) -> Value {
    json!({
        "apiServerID": server_id,
        "encodingVersion": e.encoding_version,
        "decodableVersions": e.decodable_versions,
        "servedVersions": e.served_versions,
    })
}

/// `status` with `entries` as its storage versions: the common encoding
/// version and the condition recomputed, the condition's transition time
/// kept unless its status or the common version changed.
fn with_entries(current: &Value, entries: Vec<Value>, now: &str) -> Value {
    let old_common = current
        .pointer("/status/commonEncodingVersion")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let encodings: BTreeSet<&str> = entries
        .iter()
        .filter_map(|e| e.get("encodingVersion").and_then(Value::as_str))
        .collect();
    let common = (encodings.len() == 1)
        .then(|| encodings.first().map(|s| (*s).to_owned()))
        .flatten();
    let (status, reason, message) = if common.is_some() {
        (
            "True",
            "CommonEncodingVersionSet",
            "Common encoding version set",
        )
    } else {
        (
            "False",
            "CommonEncodingVersionUnset",
            "Common encoding version unset",
        )
    };
    let mut conditions: Vec<Value> = current
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let previous = conditions
        .iter()
        .position(|c| c.get("type").and_then(Value::as_str) == Some(CONDITION));
    let keep_time = previous
        .and_then(|i| conditions.get(i))
        .filter(|c| c.get("status").and_then(Value::as_str) == Some(status))
        .filter(|_| old_common.is_none() || common.is_none() || old_common == common)
        .and_then(|c| c.get("lastTransitionTime").cloned());
    let generation = current
        .pointer("/metadata/generation")
        .cloned()
        .unwrap_or(json!(1));
    let condition = json!({
        "type": CONDITION,
        "status": status,
        "observedGeneration": generation,
        "lastTransitionTime": keep_time.unwrap_or_else(|| json!(now)),
        "reason": reason,
        "message": message,
    });
    match previous {
        Some(i) => conditions[i] = condition,
        None => conditions.push(condition),
    }
    let mut status = Map::new();
    status.insert("storageVersions".into(), Value::Array(entries));
    if let Some(c) = common {
        status.insert("commonEncodingVersion".into(), json!(c));
    }
    status.insert("conditions".into(), Value::Array(conditions));
    Value::Object(status)
}

/// The object `current` (or a new one named after `entry`) with this
/// server's entry recorded; `None` when nothing changes.
pub(crate) fn record(
    current: Option<&Value>,
    server_id: &str,
    entry: &Entry,
    now: &str,
) -> Option<Value> {
    let mut obj = current.cloned().unwrap_or_else(|| {
        json!({
            "apiVersion": format!("{GROUP}/{VERSION}"),
            "kind": "StorageVersion",
            "metadata": {"name": entry.name, "generation": 1},
            "spec": {},
        })
    });
    let mine = entry_json(server_id, entry);
    let mut entries: Vec<Value> = obj
        .pointer("/status/storageVersions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    match entries
        .iter()
        .position(|e| e.get("apiServerID").and_then(Value::as_str) == Some(server_id))
    {
        Some(i) if entries[i] == mine && current.is_some() => {}
        Some(i) => entries[i] = mine,
        None => entries.push(mine),
    }
    let status = with_entries(&obj, entries, now);
    if current.is_some() && obj.get("status") == Some(&status) {
        return None;
    }
    if let Value::Object(map) = &mut obj {
        map.insert("status".into(), status);
    }
    Some(obj)
}

/// What garbage collection does to one object, given the live server IDs.
#[derive(Debug, PartialEq)]
pub(crate) enum Collected {
    /// Every entry belongs to a live server.
    Unchanged,
    /// Entries of gone servers removed.
    Updated(Value),
    /// No entry left: the object goes.
    Delete,
}

/// Removes the entries of servers not in `live`.
pub(crate) fn collect(current: &Value, live: &BTreeSet<String>, now: &str) -> Collected {
    let entries: Vec<Value> = current
        .pointer("/status/storageVersions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let kept: Vec<Value> = entries
        .iter()
        .filter(|e| {
            e.get("apiServerID")
                .and_then(Value::as_str)
                .is_some_and(|id| live.contains(id))
        })
        .cloned()
        .collect();
    if kept.len() == entries.len() {
        return Collected::Unchanged;
    }
    if kept.is_empty() {
        return Collected::Delete;
    }
    let mut obj = current.clone();
    let status = with_entries(current, kept, now);
    if let Value::Object(map) = &mut obj {
        map.insert("status".into(), status);
    }
    Collected::Updated(obj)
}

/// The loop: record this server's entries and collect dead servers'
/// entries every pass, and whenever the served set changes.
pub(crate) async fn run(api: Arc<State>, enabled: bool) {
    if !enabled
        || api
            .registry
            .builtin()
            .resource(GROUP, VERSION, RESOURCE)
            .is_none()
    {
        return;
    }
    let mut shutdown = api.shutdown.subscribe();
    let mut catalog = api.registry.subscribe();
    let mut tick = tokio::time::interval(RECONCILE_EVERY);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => {}
            Ok(()) = catalog.changed() => {}
        }
        if let Err(e) = reconcile(&api).await {
            tracing::warn!(error = %e, "StorageVersion reconcile failed");
        }
    }
}

fn key_of(name: &str) -> String {
    storage::object_key(GROUP, RESOURCE, "", name)
}

/// IDs of servers with an unexpired identity Lease (this one included).
async fn live_servers(api: &State) -> Result<BTreeSet<String>, StoreError> {
    let mut out: BTreeSet<String> = identity::live_identities(api)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    out.insert(api.server_id.clone());
    Ok(out)
}

/// One pass: one listing of the StorageVersions, this server's entries
/// written where they differ, then the entries of gone servers collected
/// (from a second listing, so the revisions are those just written).
async fn reconcile(api: &State) -> Result<(), StoreError> {
    let now = object::now_rfc3339();
    let prefix = format!("{}{RESOURCE}/", storage::group_prefix(GROUP));
    let listed = api.store.list(&prefix, ListOptions::default()).await?;
    let existing: BTreeMap<&str, &skewless_store::KeyValue> = listed
        .items
        .iter()
        .map(|kv| (kv.key.as_str(), kv))
        .collect();
    for entry in local_entries(api.registry.builtin()) {
        let key = key_of(&entry.name);
        let current = existing.get(key.as_str()).copied();
        let parsed = current.and_then(|kv| serde_json::from_slice::<Value>(&kv.value).ok());
        if current.is_some() && parsed.is_none() {
            continue;
        }
        let Some(mut updated) = record(parsed.as_ref(), &api.server_id, &entry, &now) else {
            continue;
        };
        let result = match current {
            Some(kv) => storage::update_json(api.store.as_ref(), &key, &updated, kv.mod_revision)
                .await
                .map(|_| ()),
            None => {
                let meta = object::meta_mut(&mut updated);
                meta.insert("uid".into(), json!(object::new_uid()));
                meta.insert("creationTimestamp".into(), json!(now));
                let body = serde_json::to_vec(&updated).unwrap_or_default();
                api.store
                    .create(&key, body, WriteOptions::default())
                    .await
                    .map(|_| ())
            }
        };
        match result {
            Ok(()) | Err(StoreError::Exists(_) | StoreError::Conflict { .. }) => {}
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let live = live_servers(api).await?;
    let listed = api.store.list(&prefix, ListOptions::default()).await?;
    for kv in &listed.items {
        let Ok(obj) = serde_json::from_slice::<Value>(&kv.value) else {
            continue;
        };
        let result = match collect(&obj, &live, &now) {
            Collected::Unchanged => continue,
            Collected::Updated(obj) => {
                storage::update_json(api.store.as_ref(), &kv.key, &obj, kv.mod_revision)
                    .await
                    .map(|_| ())
            }
            Collected::Delete => api
                .store
                .delete(&kv.key, Some(kv.mod_revision))
                .await
                .map(|_| ()),
        };
        match result {
            Ok(()) => tracing::info!(
                storageversion = %object::name(&obj),
                "removed StorageVersion entries of servers whose identity lease is gone"
            ),
            Err(StoreError::NotFound(_) | StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use skewless_apimachinery::catalog::{EmulatedVersion, RuntimeConfig};

    fn catalog(version: &str) -> Catalog {
        let rc: RuntimeConfig = "internal.apiserver.k8s.io/v1alpha1=true".parse().unwrap();
        Catalog::new(EmulatedVersion::parse(version).unwrap(), &rc)
    }

    fn entry<'a>(entries: &'a [Entry], name: &str) -> &'a Entry {
        entries.iter().find(|e| e.name == name).unwrap()
    }

    #[test]
    fn entries_name_group_and_resource_and_skip_resources_without_storage() {
        let entries = local_entries(&catalog("1.36"));
        let pods = entry(&entries, "core.pods");
        assert_eq!(pods.encoding_version, "v1");
        assert_eq!(pods.served_versions, ["v1"]);
        let hpa = entry(&entries, "autoscaling.horizontalpodautoscalers");
        assert_eq!(hpa.encoding_version, "autoscaling/v2");
        assert_eq!(hpa.served_versions, ["autoscaling/v2", "autoscaling/v1"]);
        assert_eq!(hpa.decodable_versions, ["autoscaling/v1", "autoscaling/v2"]);
        assert!(
            entries
                .iter()
                .all(|e| e.name != "authentication.k8s.io.tokenreviews")
        );
        assert!(entries.iter().all(|e| e.name != "core.componentstatuses"));
        // MutatingAdmissionPolicy: v1 is served by default; 1.36 writes
        // v1beta1 (readable by 1.35), 1.37 writes v1.
        let map = "admissionregistration.k8s.io.mutatingadmissionpolicies";
        assert_eq!(
            entry(&entries, map).encoding_version,
            "admissionregistration.k8s.io/v1beta1"
        );
        assert_eq!(
            entry(&entries, map).decodable_versions,
            [
                "admissionregistration.k8s.io/v1",
                "admissionregistration.k8s.io/v1beta1"
            ]
        );
        let e137 = local_entries(&catalog("1.37"));
        assert_eq!(
            entry(&e137, map).encoding_version,
            "admissionregistration.k8s.io/v1"
        );
    }

    #[test]
    fn recording_two_servers_sets_the_condition_and_keeps_its_time() {
        let e136 = local_entries(&catalog("1.36"));
        let e137 = local_entries(&catalog("1.37"));
        let name = "admissionregistration.k8s.io.mutatingadmissionpolicies";
        let first = record(None, "a", entry(&e136, name), "t0").unwrap();
        assert_eq!(first["metadata"]["name"], name);
        assert_eq!(
            first["status"]["commonEncodingVersion"],
            "admissionregistration.k8s.io/v1beta1"
        );
        assert_eq!(first["status"]["conditions"][0]["status"], "True");
        assert_eq!(
            first["status"]["conditions"][0]["reason"],
            "CommonEncodingVersionSet"
        );
        // Recording the same entry again changes nothing.
        assert_eq!(record(Some(&first), "a", entry(&e136, name), "t1"), None);
        let both = record(Some(&first), "b", entry(&e137, name), "t2").unwrap();
        assert_eq!(
            both["status"]["storageVersions"].as_array().unwrap().len(),
            2
        );
        assert!(both["status"].get("commonEncodingVersion").is_none());
        let c = &both["status"]["conditions"][0];
        assert_eq!(
            (
                c["status"].as_str(),
                c["reason"].as_str(),
                c["message"].as_str()
            ),
            (
                Some("False"),
                Some("CommonEncodingVersionUnset"),
                Some("Common encoding version unset")
            )
        );
        assert_eq!(c["lastTransitionTime"], "t2");
        // Server b goes: its entry is collected and the versions agree again.
        let live = BTreeSet::from(["a".to_owned()]);
        let Collected::Updated(after) = collect(&both, &live, "t3") else {
            panic!("expected an update");
        };
        assert_eq!(
            after["status"]["storageVersions"].as_array().unwrap().len(),
            1
        );
        assert_eq!(after["status"]["conditions"][0]["status"], "True");
        assert_eq!(after["status"]["conditions"][0]["lastTransitionTime"], "t3");
        assert_eq!(collect(&after, &live, "t4"), Collected::Unchanged);
        assert_eq!(collect(&after, &BTreeSet::new(), "t4"), Collected::Delete);
    }
}

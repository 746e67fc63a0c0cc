//! Local APIServices: every group/version a server serves (built-in and
//! CRD) has its `apiregistration.k8s.io/v1` APIService with no
//! `spec.service`, named `<version>.<group>` (`v1` for core), labelled
//! `kube-aggregator.kubernetes.io/automanaged` = `onstart` for built-ins and
//! `true` for CRDs, with `status.conditions[Available]` True, reason
//! `Local`.
//!
//! In a mixed-version control plane these must not flap, so what may exist
//! is decided over all live servers, not this one:
//!
//! - each server creates (or repairs) the APIServices of what it serves
//!   itself; all servers want the same object for one group/version, so
//!   their writes agree, and nothing is written when the stored object
//!   already matches (the resourceVersion stays put);
//! - an automanaged APIService is deleted only after its group/version has
//!   been served by no live server (unexpired identity Leases: this server's
//!   catalog and CRDs, each peer's discovery as the peer proxy holds it) for
//!   the whole grace period (`--apiservice-removal-grace`). While a live
//!   peer's discovery is unknown (no proxy, not fetched yet, a restarted
//!   peer not re-fetched) nothing is deleted and the timers restart: not
//!   knowing is never taken for not serving;
//! - `onstart` and `true` follow the same rule (a built-in group/version
//!   leaves when the last server serving it leaves, a CRD's when its CRD
//!   is gone everywhere);
//! - APIServices without the automanaged label (user-created, e.g. with a
//!   service) are never written nor deleted.
//!
//! Every server runs the loop (no leader): creates tolerate `Exists`,
//! updates and deletes are compare-and-swap on the revision read, and a
//! lost race waits for the next pass.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use skewless_store::{ListOptions, StoreError, WriteOptions};
use tokio::time::Instant;

use crate::controllers::identity;
use crate::object;
use crate::state::State;
use crate::storage;

/// The label marking APIServices this controller manages.
pub(crate) const AUTOMANAGED_LABEL: &str = "kube-aggregator.kubernetes.io/automanaged";
/// Its value for built-in group/versions.
const ONSTART: &str = "onstart";
/// Its value for CRD group/versions.
const CRD: &str = "true";
const PREFIX: &str = "/apiregistration.k8s.io/apiservices/";
const RECONCILE_EVERY: Duration = Duration::from_secs(2);
const AVAILABLE_MESSAGE: &str = "Local APIServices are always available";
/// What CRD group/versions get, as upstream's CRD registration.
const CRD_PRIORITY: (i64, i64) = (1000, 100);

/// `(group, version)`; `""` is the core group.
type GroupVersion = (String, String);

/// A group, its `spec.groupPriorityMinimum`, and the `versionPriority`
/// of each of its versions the table knows.
type GroupPriority = (&'static str, i64, &'static [(&'static str, i64)]);

/// Group and version priorities of the built-ins, as kube-apiserver's
/// table.
const PRIORITIES: &[GroupPriority] = &[
    ("", 18000, &[("v1", 1)]),
    ("apiregistration.k8s.io", 18000, &[("v1", 15)]),
    ("apps", 17800, &[("v1", 15)]),
    ("events.k8s.io", 17750, &[("v1", 15), ("v1beta1", 5)]),
    (
        "authentication.k8s.io",
        17700,
        &[("v1", 15), ("v1beta1", 9), ("v1alpha1", 1)],
    ),
    ("authorization.k8s.io", 17600, &[("v1", 15)]),
    (
        "autoscaling",
        17500,
        &[("v1", 15), ("v2", 30), ("v2beta1", 9), ("v2beta2", 1)],
    ),
    (
        "batch",
        17400,
        &[("v1", 15), ("v1beta1", 9), ("v2alpha1", 9)],
    ),
    (
        "certificates.k8s.io",
        17300,
        &[("v1", 15), ("v1beta1", 9), ("v1alpha1", 1)],
    ),
    (
        "networking.k8s.io",
        17200,
        &[("v1", 15), ("v1beta1", 9), ("v1alpha1", 1)],
    ),
    ("policy", 17100, &[("v1", 15), ("v1beta1", 9)]),
    ("rbac.authorization.k8s.io", 17000, &[("v1", 15)]),
    (
        "storage.k8s.io",
        16800,
        &[("v1", 15), ("v1beta1", 9), ("v1alpha1", 1)],
    ),
    ("apiextensions.k8s.io", 16700, &[("v1", 15)]),
    (
        "admissionregistration.k8s.io",
        16700,
        &[("v1", 15), ("v1beta1", 12), ("v1alpha1", 9)],
    ),
    ("scheduling.k8s.io", 16600, &[("v1", 15)]),
    ("coordination.k8s.io", 16500, &[("v1", 15)]),
    (
        "node.k8s.io",
        16300,
        &[("v1", 15), ("v1beta1", 9), ("v1alpha1", 1)],
    ),
    ("discovery.k8s.io", 16200, &[("v1", 15), ("v1beta1", 12)]),
    (
        "flowcontrol.apiserver.k8s.io",
        16100,
        &[
            ("v1", 21),
            ("v1beta3", 18),
            ("v1beta2", 15),
            ("v1beta1", 12),
            ("v1alpha1", 9),
        ],
    ),
    ("internal.apiserver.k8s.io", 16000, &[("v1alpha1", 9)]),
    ("resource.k8s.io", 15900, &[]),
    ("storagemigration.k8s.io", 15800, &[]),
    // New in 1.37 and last in that release's discovery order: upstream's
    // rule for a new group (the lowest group priority minus 100, version 9);
    // inferred, not read from a 1.37 table.
    ("lifecycle.k8s.io", 15700, &[("v1alpha1", 9)]),
];

/// `(groupPriorityMinimum, versionPriority)` of a built-in group/version:
/// from the table, a version the table does not list by its maturity (GA
/// 15, beta 9, alpha 1), a group it does not list at 1000 (as CRDs).
fn builtin_priority(group: &str, version: &str) -> (i64, i64) {
    let Some((_, group_priority, versions)) = PRIORITIES.iter().find(|(g, _, _)| *g == group)
    else {
        return (CRD_PRIORITY.0, by_maturity(version));
    };
    let version_priority = versions
        .iter()
        .find(|(v, _)| *v == version)
        .map_or_else(|| by_maturity(version), |(_, p)| *p);
    (*group_priority, version_priority)
}

fn by_maturity(version: &str) -> i64 {
    if version.contains("alpha") {
        1
    } else if version.contains("beta") {
        9
    } else {
        15
    }
}

/// The APIService name of a group/version.
pub(crate) fn name_of(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{version}.{group}")
    }
}

/// One group/version this server serves.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Local {
    group: String,
    version: String,
    /// Served for a CRD (label `true`) rather than built in (`onstart`).
    crd: bool,
}

impl Local {
    fn spec(&self) -> Value {
        let (group_priority, version_priority) = if self.crd {
            CRD_PRIORITY
        } else {
            builtin_priority(&self.group, &self.version)
        };
        let mut spec = json!({
            "version": self.version,
            "groupPriorityMinimum": group_priority,
            "versionPriority": version_priority,
            "service": null,
        });
        if !self.group.is_empty() {
            spec["group"] = json!(self.group);
        }
        spec
    }

    fn label(&self) -> &'static str {
        if self.crd { CRD } else { ONSTART }
    }

    /// The whole object, as created.
    fn object(&self) -> Value {
        json!({
            "apiVersion": "apiregistration.k8s.io/v1",
            "kind": "APIService",
            "metadata": {
                "name": name_of(&self.group, &self.version),
                "labels": {AUTOMANAGED_LABEL: self.label()},
            },
            "spec": self.spec(),
            "status": {"conditions": [available(object::now_rfc3339())]},
        })
    }
}

fn available(since: String) -> Value {
    json!({
        "type": "Available",
        "status": "True",
        "lastTransitionTime": since,
        "reason": "Local",
        "message": AVAILABLE_MESSAGE,
    })
}

/// What this server serves: built-ins, then CRD group/versions not also
/// built in.
fn local_set(api: &State) -> Vec<Local> {
    let builtin = api.registry.builtin();
    let mut out: Vec<Local> = builtin
        .group_versions()
        .map(|gv| Local {
            group: gv.group.clone(),
            version: gv.version.clone(),
            crd: false,
        })
        .collect();
    for crd in api.registry.crds() {
        let (group, version) = (&crd.info.group, &crd.info.version);
        if !out
            .iter()
            .any(|l| &l.group == group && &l.version == version)
        {
            out.push(Local {
                group: group.clone(),
                version: version.clone(),
                crd: true,
            });
        }
    }
    out
}

/// What the live servers serve, as far as known.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Served {
    /// Every live server's group/versions are known: their union.
    Known(BTreeSet<GroupVersion>),
    /// Some live peer's are not (named): nothing may be taken as unserved.
    Uncertain(Vec<String>),
}

/// The union over live servers: `local` (this server), and each live peer
/// (`live_peers`, IDs other than this server's) from `peer_data` (ID → its
/// group/versions, for peers whose discovery is known).
fn served_union(
    local: &[Local],
    live_peers: &[String],
    peer_data: &BTreeMap<String, BTreeSet<GroupVersion>>,
) -> Served {
    let unknown: Vec<String> = live_peers
        .iter()
        .filter(|id| !peer_data.contains_key(*id))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Served::Uncertain(unknown);
    }
    let mut all: BTreeSet<GroupVersion> = local
        .iter()
        .map(|l| (l.group.clone(), l.version.clone()))
        .collect();
    for id in live_peers {
        if let Some(gvs) = peer_data.get(id) {
            all.extend(gvs.iter().cloned());
        }
    }
    Served::Known(all)
}

/// Which automanaged APIServices (`existing`: name → its group/version) to
/// delete now. `unserved_since` remembers, per name, since when no live
/// server was seen serving it; it is updated here (entries for served or
/// vanished names dropped, all of them while anything is uncertain).
fn to_delete(
    existing: &BTreeMap<String, GroupVersion>,
    served: &Served,
    unserved_since: &mut BTreeMap<String, Instant>,
    now: Instant,
    grace: Duration,
) -> Vec<String> {
    let Served::Known(served) = served else {
        unserved_since.clear();
        return Vec::new();
    };
    unserved_since.retain(|name, _| existing.get(name).is_some_and(|gv| !served.contains(gv)));
    let mut out = Vec::new();
    for (name, gv) in existing {
        if served.contains(gv) {
            continue;
        }
        let since = *unserved_since.entry(name.clone()).or_insert(now);
        if now.saturating_duration_since(since) >= grace {
            out.push(name.clone());
        }
    }
    out
}

/// The object `current` brought to what `want` manages (label, spec, the
/// Available condition), or `None` when it already agrees. The condition's
/// `lastTransitionTime` is kept while its status does not change.
fn repaired(current: &Value, want: &Local) -> Option<Value> {
    let spec = want.spec();
    let label_ok = object::labels(current)
        .get(AUTOMANAGED_LABEL)
        .map(String::as_str)
        == Some(want.label());
    let spec_ok = current.get("spec") == Some(&spec);
    let conditions: Vec<Value> = current
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let old = conditions
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("Available"));
    let condition_ok = old.is_some_and(|c| {
        c.get("status").and_then(Value::as_str) == Some("True")
            && c.get("reason").and_then(Value::as_str) == Some("Local")
            && c.get("message").and_then(Value::as_str) == Some(AVAILABLE_MESSAGE)
    });
    if label_ok && spec_ok && condition_ok {
        return None;
    }
    let mut out = current.clone();
    object::meta_mut(&mut out)
        .entry("labels")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .map(|l| l.insert(AUTOMANAGED_LABEL.to_owned(), json!(want.label())));
    out["spec"] = spec;
    let since = old
        .filter(|c| c.get("status").and_then(Value::as_str) == Some("True"))
        .and_then(|c| c.get("lastTransitionTime").and_then(Value::as_str))
        .map_or_else(object::now_rfc3339, str::to_owned);
    let mut conditions: Vec<Value> = conditions
        .into_iter()
        .filter(|c| c.get("type").and_then(Value::as_str) != Some("Available"))
        .collect();
    conditions.push(available(since));
    if !out.get("status").is_some_and(Value::is_object) {
        out["status"] = json!({});
    }
    out["status"]["conditions"] = Value::Array(conditions);
    Some(out)
}

/// Runs until shutdown.
pub(crate) async fn run(api: Arc<State>, grace: Duration) {
    let mut shutdown = api.shutdown.subscribe();
    let mut catalog = api.registry.subscribe();
    let mut tick = tokio::time::interval(RECONCILE_EVERY);
    let mut unserved_since = BTreeMap::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => {}
            Ok(()) = catalog.changed() => {}
        }
        if let Err(e) = reconcile(&api, &mut unserved_since, grace).await {
            tracing::warn!(error = %e, "local APIService reconcile failed");
        }
    }
}

/// The live servers other than this one: (ID, holder) pairs, so a peer
/// that restarted (same ID, new holder) reads as a change.
async fn live_peers(api: &State) -> Result<Vec<(String, String)>, StoreError> {
    let mut peers = identity::live_identities(api).await?;
    peers.retain(|(id, _)| *id != api.server_id);
    Ok(peers)
}

/// Each peer's group/versions, for peers whose discovery is known.
fn peer_data(api: &State) -> BTreeMap<String, BTreeSet<GroupVersion>> {
    let Some(proxy) = api.proxy.as_ref() else {
        return BTreeMap::new();
    };
    let mut out: BTreeMap<String, BTreeSet<GroupVersion>> = BTreeMap::new();
    for (id, groups) in proxy.peer_groups() {
        let gvs = out.entry(id).or_default();
        for g in groups {
            for v in &g.versions {
                gvs.insert((g.metadata.name.clone(), v.version.clone()));
            }
        }
    }
    for (id, core) in proxy.peer_core() {
        let gvs = out.entry(id).or_default();
        for g in core {
            for v in &g.versions {
                gvs.insert((String::new(), v.version.clone()));
            }
        }
    }
    out
}

/// One pass: ensure this server's own, then delete what no live server
/// served for the grace period.
async fn reconcile(
    api: &State,
    unserved_since: &mut BTreeMap<String, Instant>,
    grace: Duration,
) -> Result<(), StoreError> {
    let local = local_set(api);
    for want in &local {
        ensure(api, want).await?;
    }
    // Peers are read after the pass above and before the listing below:
    // a peer that appears later is seen by the next pass.
    let peers = live_peers(api).await?;
    let ids: Vec<String> = peers.iter().map(|(id, _)| id.clone()).collect();
    let served = served_union(&local, &ids, &peer_data(api));
    let listed = api.store.list(PREFIX, ListOptions::default()).await?;
    let mut existing = BTreeMap::new();
    let mut revisions = BTreeMap::new();
    for kv in &listed.items {
        let Ok(obj) = serde_json::from_slice::<Value>(&kv.value) else {
            continue;
        };
        if !object::labels(&obj).contains_key(AUTOMANAGED_LABEL) {
            continue;
        }
        let Some(version) = obj.pointer("/spec/version").and_then(Value::as_str) else {
            continue;
        };
        let group = obj
            .pointer("/spec/group")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = object::name(&obj).to_owned();
        existing.insert(name.clone(), (group.to_owned(), version.to_owned()));
        revisions.insert(name, (kv.key.clone(), kv.mod_revision));
    }
    if let Served::Uncertain(peers) = &served {
        tracing::debug!(
            ?peers,
            "peer discovery unknown; no local APIService is removed"
        );
    }
    let doomed = to_delete(&existing, &served, unserved_since, Instant::now(), grace);
    // A server that (re)started since the peers were read may serve what
    // is about to go: read them again, and leave it to the next pass when
    // they changed.
    if !doomed.is_empty() && live_peers(api).await? != peers {
        return Ok(());
    }
    for name in doomed {
        let Some((key, revision)) = revisions.get(&name) else {
            continue;
        };
        match api.store.delete(key, Some(*revision)).await {
            Ok(_) => {
                unserved_since.remove(&name);
                tracing::info!(apiservice = %name, "removed a local APIService no live server serves");
            }
            Err(StoreError::NotFound(_) | StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Creates `want`'s APIService, or repairs an automanaged one that differs;
/// leaves one without the automanaged label alone.
async fn ensure(api: &State, want: &Local) -> Result<(), StoreError> {
    let key = storage::object_key(
        "apiregistration.k8s.io",
        "apiservices",
        "",
        &name_of(&want.group, &want.version),
    );
    let Some(kv) = api.store.get(&key).await? else {
        let mut obj = want.object();
        let meta = object::meta_mut(&mut obj);
        meta.insert("uid".into(), json!(object::new_uid()));
        meta.insert("creationTimestamp".into(), json!(object::now_rfc3339()));
        let body = serde_json::to_vec(&obj).unwrap_or_default();
        return match api.store.create(&key, body, WriteOptions::default()).await {
            Ok(_) | Err(StoreError::Exists(_)) => Ok(()),
            Err(e) => Err(e),
        };
    };
    let Ok(current) = serde_json::from_slice::<Value>(&kv.value) else {
        return Ok(());
    };
    if !object::labels(&current).contains_key(AUTOMANAGED_LABEL) || object::is_deleting(&current) {
        return Ok(());
    }
    let Some(updated) = repaired(&current, want) else {
        return Ok(());
    };
    match storage::update_json(api.store.as_ref(), &key, &updated, kv.mod_revision).await {
        Ok(_) | Err(StoreError::Conflict { .. } | StoreError::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gv(g: &str, v: &str) -> GroupVersion {
        (g.to_owned(), v.to_owned())
    }

    fn local(g: &str, v: &str) -> Local {
        Local {
            group: g.to_owned(),
            version: v.to_owned(),
            crd: false,
        }
    }

    #[test]
    fn names_and_priorities() {
        assert_eq!(name_of("", "v1"), "v1");
        assert_eq!(name_of("apps", "v1"), "v1.apps");
        assert_eq!(builtin_priority("", "v1"), (18000, 1));
        assert_eq!(builtin_priority("autoscaling", "v2"), (17500, 30));
        assert_eq!(
            builtin_priority("scheduling.k8s.io", "v1alpha2"),
            (16600, 1)
        );
        assert_eq!(builtin_priority("resource.k8s.io", "v1beta2"), (15900, 9));
        assert_eq!(builtin_priority("example.com", "v1"), (1000, 15));
        let crd = Local {
            crd: true,
            ..local("example.com", "v1")
        };
        assert_eq!(
            crd.spec(),
            json!({"group": "example.com", "version": "v1", "groupPriorityMinimum": 1000, "versionPriority": 100, "service": null})
        );
        assert_eq!(crd.label(), "true");
        let core = local("", "v1").object();
        assert_eq!(core["metadata"]["name"], "v1");
        assert!(core["spec"].get("group").is_none());
        assert_eq!(core["spec"]["service"], Value::Null);
        assert_eq!(core["metadata"]["labels"][AUTOMANAGED_LABEL], "onstart");
        assert_eq!(core["status"]["conditions"][0]["reason"], "Local");
    }

    #[test]
    fn the_union_covers_every_live_server_and_unknown_peers_make_it_uncertain() {
        let own = [local("", "v1"), local("apps", "v1")];
        let mut data = BTreeMap::new();
        data.insert(
            "b".to_owned(),
            BTreeSet::from([gv("scheduling.k8s.io", "v1alpha2")]),
        );
        data.insert("gone".to_owned(), BTreeSet::from([gv("old.io", "v1")]));
        let served = served_union(&own, &["b".to_owned()], &data);
        assert_eq!(
            served,
            Served::Known(BTreeSet::from([
                gv("", "v1"),
                gv("apps", "v1"),
                gv("scheduling.k8s.io", "v1alpha2"),
            ])),
            "a peer that is not live adds nothing"
        );
        assert_eq!(
            served_union(&own, &["b".to_owned(), "c".to_owned()], &data),
            Served::Uncertain(vec!["c".to_owned()])
        );
    }

    #[test]
    fn removal_waits_for_the_grace_and_restarts_on_uncertainty_or_service() {
        let grace = Duration::from_secs(30);
        let t0 = Instant::now();
        let existing = BTreeMap::from([
            ("v1".to_owned(), gv("", "v1")),
            (
                "v1alpha2.scheduling.k8s.io".to_owned(),
                gv("scheduling.k8s.io", "v1alpha2"),
            ),
        ]);
        let without = Served::Known(BTreeSet::from([gv("", "v1")]));
        let with = Served::Known(BTreeSet::from([
            gv("", "v1"),
            gv("scheduling.k8s.io", "v1alpha2"),
        ]));
        let mut since = BTreeMap::new();
        assert!(to_delete(&existing, &without, &mut since, t0, grace).is_empty());
        let t = t0 + Duration::from_secs(29);
        assert!(to_delete(&existing, &without, &mut since, t, grace).is_empty());
        // Served again (a restarted server is back): the clock restarts.
        assert!(to_delete(&existing, &with, &mut since, t, grace).is_empty());
        assert!(since.is_empty());
        let t1 = t0 + Duration::from_secs(40);
        assert!(to_delete(&existing, &without, &mut since, t1, grace).is_empty());
        // Uncertain: nothing goes, and the clock restarts too.
        let later = t1 + Duration::from_secs(60);
        let uncertain = Served::Uncertain(vec!["b".to_owned()]);
        assert!(to_delete(&existing, &uncertain, &mut since, later, grace).is_empty());
        assert!(since.is_empty());
        assert!(to_delete(&existing, &without, &mut since, later, grace).is_empty());
        let done = later + grace;
        assert_eq!(
            to_delete(&existing, &without, &mut since, done, grace),
            ["v1alpha2.scheduling.k8s.io"]
        );
    }

    #[test]
    fn repair_writes_nothing_when_it_agrees_and_keeps_the_transition_time() {
        let want = local("apps", "v1");
        let mut stored = want.object();
        stored["metadata"]["uid"] = json!("u");
        assert_eq!(repaired(&stored, &want), None);
        stored["spec"]["versionPriority"] = json!(1);
        let since = stored["status"]["conditions"][0]["lastTransitionTime"].clone();
        let fixed = repaired(&stored, &want).unwrap_or_default();
        assert_eq!(fixed["spec"]["versionPriority"], 15);
        assert_eq!(
            fixed["status"]["conditions"][0]["lastTransitionTime"],
            since
        );
        assert_eq!(fixed["metadata"]["uid"], "u");
        assert_eq!(repaired(&fixed, &want), None);
        let mut unavailable = want.object();
        unavailable["status"] = json!({"conditions": [{"type": "Available", "status": "False", "reason": "ServiceNotFound"}]});
        let fixed = repaired(&unavailable, &want).unwrap_or_default();
        assert_eq!(fixed["status"]["conditions"][0]["status"], "True");
        assert_eq!(
            fixed["status"]["conditions"][0]["message"],
            AVAILABLE_MESSAGE
        );
    }
}

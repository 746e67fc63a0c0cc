//! CustomResourceDefinitions at run time.
//!
//! Every server lists and watches CRDs in storage and serves the ones whose
//! names are accepted, within a moment of their creation: the naming
//! decision is computed locally and deterministically (oldest CRD first),
//! so all servers agree without talking to each other. The server holding
//! the `kube-system/skewless-crd-controller` lease also writes the CRDs'
//! status (accepted names, `NamesAccepted`, `Established`) and carries out
//! deletions: every custom object of a terminating CRD is deleted, then the
//! cleanup finalizer is removed and the CRD goes.
//!
//! This module never serves a CRD whose names conflict with a built-in
//! resource or an older CRD.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use skewless_apimachinery::catalog::Catalog;
use skewless_apimachinery::crd::{self, CLEANUP_FINALIZER, CustomResourceDefinition};
use skewless_store::{Event, ListOptions, StoreError};

use crate::controllers::lease;
use crate::object;
use crate::registry::ServedCrd;
use crate::state::State;
use crate::storage;

/// A CRD as stored, with the revision that created it: names are handed
/// out oldest first, and the creation revision orders CRDs the same way on
/// every server (timestamps have one-second resolution).
#[derive(Debug, Clone)]
struct Stored {
    created: i64,
    crd: CustomResourceDefinition,
}

/// Where CRD objects live in storage.
pub(crate) const CRD_PREFIX: &str = "/apiextensions.k8s.io/customresourcedefinitions/";
const LEASE: &str = "skewless-crd-controller";
/// How long a deleted CRD's group/versions stay excluded from peer data
/// (upstream's grace period): a peer's older snapshot must not bring them back.
const EXCLUSION_GRACE: Duration = Duration::from_secs(300);

/// Group/versions of custom resources whose peer data is ignored: those of
/// every CRD in storage, and those deleted within the grace period.
#[derive(Debug, Default)]
struct Exclusions {
    active: BTreeSet<(String, String)>,
    deleted: BTreeMap<(String, String), tokio::time::Instant>,
}

impl Exclusions {
    fn update(&mut self, crds: &BTreeMap<String, Stored>) -> BTreeSet<(String, String)> {
        let now = tokio::time::Instant::now();
        let active: BTreeSet<(String, String)> = crds
            .values()
            .flat_map(|c| {
                c.crd
                    .spec
                    .versions
                    .iter()
                    .map(|v| (c.crd.spec.group.clone(), v.name.clone()))
            })
            .collect();
        for gone in self.active.difference(&active) {
            self.deleted.insert(gone.clone(), now);
        }
        self.deleted
            .retain(|gv, at| !active.contains(gv) && now.duration_since(*at) < EXCLUSION_GRACE);
        self.active = active;
        self.active
            .iter()
            .chain(self.deleted.keys())
            .cloned()
            .collect()
    }
}

/// Whether a built-in resource of `group` uses `name` (plural, singular or
/// short name): such names are never given to a CRD.
fn built_in_name(catalog: &Catalog, group: &str, name: &str) -> bool {
    catalog.group(group).is_some_and(|g| {
        g.versions.iter().any(|v| {
            v.resources.iter().any(|r| {
                r.resource == name || r.singular == name || r.short_names.iter().any(|s| s == name)
            })
        })
    })
}

/// The CRDs in the order names are handed out: oldest first.
fn in_creation_order(crds: &BTreeMap<String, Stored>) -> Vec<&CustomResourceDefinition> {
    let mut all: Vec<&Stored> = crds.values().collect();
    all.sort_by_key(|s| s.created);
    all.into_iter().map(|s| &s.crd).collect()
}

/// Each CRD with its accepted names computed as the naming controller would.
fn with_accepted_names(
    catalog: &Catalog,
    crds: &BTreeMap<String, Stored>,
) -> Vec<(CustomResourceDefinition, crd::NamesDecision)> {
    let mut accepted: Vec<CustomResourceDefinition> = Vec::new();
    let mut out = Vec::new();
    for c in in_creation_order(crds) {
        let others: Vec<&CustomResourceDefinition> = accepted.iter().collect();
        let decision = crd::calculate_names(c, &others, |g, n| built_in_name(catalog, g, n));
        let mut with_names = c.clone();
        with_names.status.accepted_names = decision.accepted_names.clone();
        if decision.names_accepted.status == "True" {
            accepted.push(with_names.clone());
        }
        out.push((with_names, decision));
    }
    out
}

/// What the CRDs make this server serve.
fn served(catalog: &Catalog, crds: &BTreeMap<String, Stored>) -> Vec<Arc<ServedCrd>> {
    let mut out = Vec::new();
    for (c, decision) in with_accepted_names(catalog, crds) {
        if decision.names_accepted.status != "True" {
            continue;
        }
        let terminating = c
            .metadata
            .get("deletionTimestamp")
            .is_some_and(|t| !t.is_null());
        for info in crd::resource_infos(&c) {
            let v = info.version.clone();
            out.push(Arc::new(ServedCrd {
                crd_name: c.name().to_owned(),
                schema: c.structural_schema(&v),
                raw_schema: c.schema(&v).cloned(),
                columns: c.printer_columns(&v),
                scale: c.scale(&v).cloned(),
                deprecation_warning: c.deprecation_warning(&v),
                selectable_fields: c.selectable_fields(&v),
                terminating,
                storage_version: c.storage_version().unwrap_or(&v).to_owned(),
                webhook: c.conversion_webhook(),
                info,
            }));
        }
    }
    out
}

/// Serves the CRDs in storage until shutdown; on the lease holder also
/// maintains their status and deletions.
pub(crate) async fn run(api: Arc<State>) {
    let mut shutdown = api.shutdown.subscribe();
    let builtin = api.registry.builtin().clone();
    let mut exclusions = Exclusions::default();
    let exclude = |exclusions: &mut Exclusions, crds: &BTreeMap<String, Stored>| {
        let set = exclusions.update(crds);
        if let Some(proxy) = &api.proxy {
            proxy.set_excluded(set);
        }
    };
    loop {
        let mut crds: BTreeMap<String, Stored> = BTreeMap::new();
        let listed = match api.store.list(CRD_PREFIX, ListOptions::default()).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "listing CRDs failed");
                tokio::select! {
                    _ = shutdown.changed() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        for kv in &listed.items {
            if let Some(crd) = parse(&kv.value) {
                crds.insert(
                    kv.key.clone(),
                    Stored {
                        created: kv.create_revision,
                        crd,
                    },
                );
            }
        }
        api.registry.set_crds(&served(&builtin, &crds));
        exclude(&mut exclusions, &crds);
        let mut watch = match api.store.watch(CRD_PREFIX, listed.revision).await {
            Ok(w) => w,
            Err(_) => continue,
        };
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                event = watch.next() => match event {
                    Some(Ok(Event::Put { kv, .. })) => {
                        match parse(&kv.value) {
                            Some(crd) => crds.insert(kv.key.clone(), Stored { created: kv.create_revision, crd }),
                            None => crds.remove(&kv.key),
                        };
                        api.registry.set_crds(&served(&builtin, &crds));
                        exclude(&mut exclusions, &crds);
                        // React at once to creations and deletions.
                        maintain(&api, &builtin, &crds).await;
                    }
                    Some(Ok(Event::Delete { prev, .. })) => {
                        crds.remove(&prev.key);
                        api.registry.set_crds(&served(&builtin, &crds));
                        exclude(&mut exclusions, &crds);
                    }
                    Some(Err(_)) | None => break,
                },
                _ = tick.tick() => {
                    exclude(&mut exclusions, &crds);
                    maintain(&api, &builtin, &crds).await;
                }
            }
        }
    }
}

fn parse(value: &[u8]) -> Option<CustomResourceDefinition> {
    let v: Value = serde_json::from_slice(value).ok()?;
    CustomResourceDefinition::from_value(&v).ok()
}

/// The lease holder's work: status conditions and deletions.
async fn maintain(api: &State, catalog: &Catalog, crds: &BTreeMap<String, Stored>) {
    if crds.is_empty() || !lease::hold(api, LEASE, lease::LEADER_LEASE_SECONDS).await {
        return;
    }
    for (c, decision) in with_accepted_names(catalog, crds) {
        let key = format!("{CRD_PREFIX}{}", c.name());
        let terminating = c
            .metadata
            .get("deletionTimestamp")
            .is_some_and(|t| !t.is_null());
        let result = if terminating {
            finish_deletion(api, &key, &c).await
        } else {
            write_status(api, &key, decision).await
        };
        if let Err(e) = result {
            tracing::debug!(crd = %c.name(), error = %e, "CRD controller step failed; retrying");
        }
    }
}

/// Records accepted names and the conditions, when they changed.
async fn write_status(
    api: &State,
    key: &str,
    decision: crd::NamesDecision,
) -> Result<(), StoreError> {
    let Some(kv) = api.store.get(key).await? else {
        return Ok(());
    };
    let Some(mut c) = parse(&kv.value) else {
        return Ok(());
    };
    let before = c.status.clone();
    let now = object::now_rfc3339();
    let accepted = decision.names_accepted.status == "True";
    c.status.accepted_names = decision.accepted_names;
    c.status.set_condition(decision.names_accepted, &now);
    c.status.set_condition(
        if accepted {
            crd::established_condition()
        } else {
            decision.established
        },
        &now,
    );
    if c.status == before {
        return Ok(());
    }
    let mut value = c.to_value();
    object::meta_mut(&mut value).remove("resourceVersion");
    storage::update_json(api.store.as_ref(), key, &value, kv.mod_revision)
        .await
        .map(drop)
}

/// Deletes every object of a terminating CRD, then lets the CRD go.
async fn finish_deletion(
    api: &State,
    key: &str,
    c: &CustomResourceDefinition,
) -> Result<(), StoreError> {
    let plural = &c.status.accepted_names.plural;
    if !plural.is_empty() {
        let prefix = format!("/{}/{}/", c.spec.group, plural);
        loop {
            let page = api
                .store
                .list(
                    &prefix,
                    ListOptions {
                        limit: 500,
                        ..ListOptions::default()
                    },
                )
                .await?;
            for kv in &page.items {
                match api.store.delete(&kv.key, Some(kv.mod_revision)).await {
                    Ok(_) | Err(StoreError::NotFound(_) | StoreError::Conflict { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            if !page.more {
                break;
            }
        }
    }
    let Some(kv) = api.store.get(key).await? else {
        return Ok(());
    };
    let mut value: Value = serde_json::from_slice(&kv.value).unwrap_or(Value::Null);
    if let Some(list) = value
        .pointer_mut("/metadata/finalizers")
        .and_then(Value::as_array_mut)
    {
        list.retain(|f| f.as_str() != Some(CLEANUP_FINALIZER));
    }
    if object::finalizers(&value).is_empty() {
        api.store.delete(key, Some(kv.mod_revision)).await.map(drop)
    } else {
        storage::update_json(api.store.as_ref(), key, &value, kv.mod_revision)
            .await
            .map(drop)
    }
}

//! The RBAC policy controller.
//!
//! At start-up every server reconciles the bootstrap policy into storage
//! (`cluster-admin`, `admin`/`edit`/`view`, `system:*` roles and their
//! bindings): missing objects are created and objects that allow automatic
//! updates get what they lack; servers racing on one storage converge
//! because every write is a compare-and-swap retried on conflict. Then it
//! lists and watches the four RBAC resources, rebuilds the in-memory
//! policy on every change, and keeps aggregated ClusterRoles' rules the
//! union of the roles their selectors pick.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use serde_json::{Value, json};
use skewless_store::{Event, ListOptions, StoreError, WriteOptions};

use crate::object;
use crate::rbac;
use crate::state::State;
use crate::storage;

/// Where RBAC objects live: `/rbac.authorization.k8s.io/<resource>/...`.
fn prefix() -> String {
    storage::group_prefix(rbac::GROUP)
}
/// Attempts at one compare-and-swap write before giving up for this round.
const ATTEMPTS: usize = 8;

fn key_of(resource: &str, obj: &Value) -> String {
    storage::object_key(rbac::GROUP, resource, "", object::name(obj))
}

/// Fills what the REST create path would: uid and creation time.
fn with_metadata(mut obj: Value) -> Value {
    let meta = object::meta_mut(&mut obj);
    meta.entry("uid")
        .or_insert_with(|| json!(object::new_uid()));
    meta.entry("creationTimestamp")
        .or_insert_with(|| json!(object::now_rfc3339()));
    obj
}

/// Creates or updates `key` until `reconcile` has nothing more to write.
async fn reconcile_one(
    api: &State,
    key: &str,
    desired: &Value,
    reconcile: fn(Option<&Value>, &Value) -> Option<Value>,
) -> Result<(), StoreError> {
    for _ in 0..ATTEMPTS {
        let existing = api.store.get(key).await?;
        let current = existing
            .as_ref()
            .and_then(|kv| serde_json::from_slice::<Value>(&kv.value).ok());
        let Some(next) = reconcile(current.as_ref(), desired) else {
            return Ok(());
        };
        let result = match &existing {
            None => api
                .store
                .create(
                    key,
                    serde_json::to_vec(&with_metadata(next)).unwrap_or_default(),
                    WriteOptions::default(),
                )
                .await
                .map(drop),
            Some(kv) => storage::update_json(api.store.as_ref(), key, &next, kv.mod_revision)
                .await
                .map(drop),
        };
        match result {
            Ok(()) => return Ok(()),
            Err(StoreError::Exists(_) | StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes the bootstrap policy (idempotent; safe when servers race).
pub(crate) async fn bootstrap(api: &State) -> Result<(), StoreError> {
    for role in skewless_rbac::bootstrap::cluster_roles() {
        let key = key_of("clusterroles", &role);
        reconcile_one(api, &key, &role, skewless_rbac::reconcile_cluster_role).await?;
    }
    for binding in skewless_rbac::bootstrap::cluster_role_bindings() {
        let key = key_of("clusterrolebindings", &binding);
        reconcile_one(
            api,
            &key,
            &binding,
            skewless_rbac::reconcile_cluster_role_binding,
        )
        .await?;
    }
    Ok(())
}

/// The four kinds as stored, by key.
#[derive(Debug, Default)]
struct Objects {
    roles: BTreeMap<String, Value>,
    cluster_roles: BTreeMap<String, Value>,
    role_bindings: BTreeMap<String, Value>,
    cluster_role_bindings: BTreeMap<String, Value>,
}

impl Objects {
    fn kind(&mut self, key: &str) -> Option<&mut BTreeMap<String, Value>> {
        let resource = key.strip_prefix(&prefix())?.split('/').next()?;
        match resource {
            "roles" => Some(&mut self.roles),
            "clusterroles" => Some(&mut self.cluster_roles),
            "rolebindings" => Some(&mut self.role_bindings),
            "clusterrolebindings" => Some(&mut self.cluster_role_bindings),
            _ => None,
        }
    }

    fn put(&mut self, key: &str, value: &[u8]) {
        let parsed = serde_json::from_slice::<Value>(value).ok();
        if let Some(map) = self.kind(key) {
            match parsed {
                Some(v) => map.insert(key.to_owned(), v),
                None => map.remove(key),
            };
        }
    }

    /// One watch event.
    fn apply(&mut self, event: &Event) {
        match event {
            Event::Put { kv, .. } => self.put(&kv.key, &kv.value),
            Event::Delete { prev, .. } => self.remove(&prev.key),
        }
    }

    fn remove(&mut self, key: &str) {
        if let Some(map) = self.kind(key) {
            map.remove(key);
        }
    }

    fn policy(&self) -> skewless_rbac::Policy {
        let all = |m: &BTreeMap<String, Value>| m.values().cloned().collect::<Vec<_>>();
        skewless_rbac::Policy::build(
            &all(&self.roles),
            &all(&self.cluster_roles),
            &all(&self.role_bindings),
            &all(&self.cluster_role_bindings),
        )
    }
}

/// Reads the whole policy once (start-up waits for it, so the first
/// request is already decided by it).
pub(crate) async fn load(api: &State) -> Result<i64, StoreError> {
    let (objects, revision) = list(api).await?;
    api.rbac.set(objects.policy());
    Ok(revision)
}

async fn list(api: &State) -> Result<(Objects, i64), StoreError> {
    let listed = api.store.list(&prefix(), ListOptions::default()).await?;
    let mut objects = Objects::default();
    for kv in &listed.items {
        objects.put(&kv.key, &kv.value);
    }
    Ok((objects, listed.revision))
}

/// Writes aggregated ClusterRoles whose rules are out of date.
async fn aggregate(api: &State, objects: &Objects) {
    let roles: Vec<Value> = objects.cluster_roles.values().cloned().collect();
    for (name, rules) in skewless_rbac::aggregate(&roles) {
        let key = storage::object_key(rbac::GROUP, "clusterroles", "", &name);
        let Ok(Some(kv)) = api.store.get(&key).await else {
            continue;
        };
        let Ok(mut role) = serde_json::from_slice::<Value>(&kv.value) else {
            continue;
        };
        role["rules"] = serde_json::to_value(&rules).unwrap_or_else(|_| json!([]));
        // A conflict means someone else wrote it: the watch brings that
        // version and the next round decides again.
        if let Err(e) = storage::update_json(api.store.as_ref(), &key, &role, kv.mod_revision).await
            && !matches!(e, StoreError::Conflict { .. })
        {
            tracing::warn!(error = %e, role = %name, "aggregating cluster role failed");
        }
    }
}

/// Keeps the policy current until shutdown.
pub(crate) async fn run(api: Arc<State>) {
    let mut shutdown = api.shutdown.subscribe();
    loop {
        let (mut objects, revision) = match list(&api).await {
            Ok(listed) => listed,
            Err(e) => {
                tracing::warn!(error = %e, "listing RBAC objects failed");
                tokio::select! {
                    _ = shutdown.changed() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        api.rbac.set(objects.policy());
        aggregate(&api, &objects).await;
        let Ok(mut watch) = api.store.watch(&prefix(), revision).await else {
            continue;
        };
        loop {
            let event = tokio::select! {
                _ = shutdown.changed() => return,
                event = watch.next() => event,
            };
            match event {
                Some(Ok(event)) => objects.apply(&event),
                Some(Err(_)) | None => break,
            }
            // Take whatever else is already there before rebuilding once.
            while let Some(Some(Ok(event))) = watch.next().now_or_never() {
                objects.apply(&event);
            }
            api.rbac.set(objects.policy());
            aggregate(&api, &objects).await;
        }
    }
}

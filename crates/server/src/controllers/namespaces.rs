//! Namespace lifecycle: the namespaces every cluster starts with, and the
//! controller that empties a terminating namespace and then removes it.
//!
//! Several servers share one storage, so the controller runs on one server
//! at a time: whoever holds the `coordination.k8s.io/v1` Lease
//! `kube-system/skewless-namespace-controller`. A server that loses or never
//! gets the lease does nothing; one that holds it renews it every 2 s.
//!
//! The controller works from storage through the [`State`]; it must never
//! remove a namespace while any object of a served resource remains in it.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use skewless_store::{ListOptions, StoreError, WriteOptions};

use skewless_apimachinery::request_info::RequestInfo;

use crate::authn::UserInfo;
use crate::controllers::lease;
use crate::handlers::special::NAMESPACE_FINALIZER;
use crate::object;
use crate::pipeline::route::{self, Routed};
use crate::state::State;
use crate::storage;

pub(crate) const INITIAL_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];

const LEASE_NAME: &str = "skewless-namespace-controller";
const RENEW_EVERY: Duration = Duration::from_secs(2);

fn namespace_object(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "uid": object::new_uid(),
            "creationTimestamp": object::now_rfc3339(),
            "labels": {"kubernetes.io/metadata.name": name},
        },
        "spec": {"finalizers": [NAMESPACE_FINALIZER]},
        "status": {"phase": "Active"},
    })
}

/// Creates the initial namespaces that do not exist yet.
pub(crate) async fn bootstrap(api: &State) -> Result<(), StoreError> {
    for name in INITIAL_NAMESPACES {
        let body = serde_json::to_vec(&namespace_object(name)).unwrap_or_default();
        match api
            .store
            .create(&storage::namespace_key(name), body, WriteOptions::default())
            .await
        {
            Ok(_) | Err(StoreError::Exists(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Runs the namespace controller until shutdown.
pub(crate) async fn run(api: Arc<State>) {
    let mut shutdown = api.shutdown.subscribe();
    let mut leader = false;
    let mut renew = tokio::time::interval(RENEW_EVERY);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = renew.tick() => {}
        }
        let was = leader;
        leader = lease::hold(&api, LEASE_NAME, lease::LEADER_LEASE_SECONDS).await;
        if leader != was {
            tracing::info!(leader, "namespace controller leadership changed");
        }
        if !leader {
            continue;
        }
        if let Err(e) = sweep(&api).await {
            tracing::warn!(error = %e, "namespace controller pass failed");
        }
    }
}

/// One pass: finish every terminating namespace that can be finished.
async fn sweep(api: &State) -> Result<(), StoreError> {
    let namespaces = api
        .store
        .list("/core/namespaces/", ListOptions::default())
        .await?;
    for kv in namespaces.items {
        let Ok(ns) = serde_json::from_slice::<Value>(&kv.value) else {
            continue;
        };
        if !object::is_deleting(&ns) {
            continue;
        }
        let name = object::name(&ns).to_owned();
        if empty_namespace(api, &name).await? {
            finalize(api, &name).await?;
        }
    }
    Ok(())
}

/// Deletes (or marks for deletion) every object in the namespace; returns
/// whether it is empty now.
async fn empty_namespace(api: &State, ns: &str) -> Result<bool, StoreError> {
    let mut empty = true;
    for r in api.catalog().preferred_resources() {
        if !r.namespaced {
            continue;
        }
        let listed = api
            .store
            .list(&storage::prefix(&r, ns), ListOptions::default())
            .await?;
        for kv in listed.items {
            empty = false;
            let Ok(mut obj) = serde_json::from_slice::<Value>(&kv.value) else {
                continue;
            };
            if object::finalizers(&obj).is_empty() {
                match api.store.delete(&kv.key, Some(kv.mod_revision)).await {
                    Ok(_) if r.group.is_empty() && r.resource == "services" => {
                        crate::service_alloc::release_all(api.store.as_ref(), &obj).await;
                    }
                    Ok(_) | Err(StoreError::NotFound(_) | StoreError::Conflict { .. }) => {}
                    Err(e) => return Err(e),
                }
            } else if !object::is_deleting(&obj) {
                let meta = object::meta_mut(&mut obj);
                meta.insert("deletionTimestamp".into(), json!(object::now_rfc3339()));
                meta.insert("deletionGracePeriodSeconds".into(), json!(0));
                let _ =
                    storage::update_json(api.store.as_ref(), &kv.key, &obj, kv.mod_revision).await;
            }
        }
    }
    if api.proxy.is_some() {
        for (group, version, resource) in peer_only_namespaced(api) {
            empty &= empty_via_peer(api, &group, &version, &resource, ns).await;
        }
    }
    Ok(empty)
}

/// Namespaced resources that only peers serve (in every version), from
/// merged discovery.
fn peer_only_namespaced(api: &State) -> Vec<(String, String, String)> {
    let merged = crate::handlers::derived::merged(api);
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for g in &merged.groups {
        for v in &g.versions {
            for r in &v.resources {
                let local = api.catalog().group(g.name()).is_some_and(|lg| {
                    lg.versions
                        .iter()
                        .any(|lv| lv.resource(&r.resource).is_some())
                });
                let deletable = r.verbs.iter().any(|v| v == "deletecollection")
                    && r.verbs.iter().any(|v| v == "list");
                if local || !r.scope.is_namespaced() || !deletable {
                    continue;
                }
                if seen.insert((g.name().to_owned(), r.resource.clone())) {
                    out.push((g.name().to_owned(), v.version.clone(), r.resource.clone()));
                }
            }
        }
    }
    out
}

/// Deletes a peer-only resource's objects in `ns` through a peer that
/// serves it (the request path's routing stage, as `system:apiserver`);
/// returns whether none are left.
async fn empty_via_peer(api: &State, group: &str, version: &str, resource: &str, ns: &str) -> bool {
    use http_body_util::BodyExt as _;
    let path = if group.is_empty() {
        format!("/api/{version}/namespaces/{ns}/{resource}")
    } else {
        format!("/apis/{group}/{version}/namespaces/{ns}/{resource}")
    };
    let user = UserInfo {
        name: "system:apiserver".into(),
        groups: vec!["system:masters".into(), "system:authenticated".into()],
        ..UserInfo::default()
    };
    for method in ["DELETE", "GET"] {
        let Ok(req) = http::Request::builder().method(method).uri(&path).body(()) else {
            return false;
        };
        let (parts, ()) = req.into_parts();
        let Ok(info) = RequestInfo::parse(method, &path, None) else {
            return false;
        };
        let body = http_body_util::Empty::<bytes::Bytes>::new();
        let resp = match route::stage(api, &user, &info, &parts, body).await {
            Routed::Answered(Ok(resp)) => resp,
            Routed::Answered(Err(_)) | Routed::Here(_) => return false,
        };
        let ok = resp.status().is_success();
        let Ok(body) = resp.into_body().collect().await else {
            return false;
        };
        if !ok {
            return false;
        }
        if method == "GET" {
            let list: Value = serde_json::from_slice(&body.to_bytes()).unwrap_or(Value::Null);
            return list["items"].as_array().is_some_and(Vec::is_empty);
        }
    }
    false
}

/// Drops the `kubernetes` finalizer and removes the namespace when nothing
/// else holds it.
async fn finalize(api: &State, name: &str) -> Result<(), StoreError> {
    let key = storage::namespace_key(name);
    let Some(kv) = api.store.get(&key).await? else {
        return Ok(());
    };
    let Ok(mut ns) = serde_json::from_slice::<Value>(&kv.value) else {
        return Ok(());
    };
    if let Some(list) = ns
        .pointer_mut("/spec/finalizers")
        .and_then(Value::as_array_mut)
    {
        list.retain(|f| f.as_str() != Some(NAMESPACE_FINALIZER));
    }
    let spec_clear = ns
        .pointer("/spec/finalizers")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if spec_clear && object::finalizers(&ns).is_empty() {
        match api.store.delete(&key, Some(kv.mod_revision)).await {
            Ok(_) | Err(StoreError::NotFound(_) | StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
        tracing::info!(namespace = name, "namespace deleted");
    } else {
        let _ = storage::update_json(api.store.as_ref(), &key, &ns, kv.mod_revision).await;
    }
    Ok(())
}

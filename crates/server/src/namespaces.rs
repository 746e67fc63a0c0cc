//! Namespace lifecycle: the namespaces every cluster starts with, and the
//! controller that empties a terminating namespace and then removes it.
//!
//! Several servers share one storage, so the controller runs on one server
//! at a time: whoever holds the `coordination.k8s.io/v1` Lease
//! `kube-system/skewless-namespace-controller`. A server that loses or never
//! gets the lease does nothing; one that holds it renews it every 2 s.
//!
//! The controller works from storage through the [`Api`]; it must never
//! remove a namespace while any object of a served resource remains in it.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use skewless_store::{ListOptions, StoreError, WriteOptions};

use crate::api::{self, Api};
use crate::object;
use crate::special::NAMESPACE_FINALIZER;

pub const INITIAL_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];

const LEASE_NAME: &str = "skewless-namespace-controller";
const LEASE_DURATION: i64 = 15;
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
pub async fn bootstrap(api: &Api) -> Result<(), StoreError> {
    for name in INITIAL_NAMESPACES {
        let body = serde_json::to_vec(&namespace_object(name)).unwrap_or_default();
        match api
            .store
            .create(&api::namespace_key(name), body, WriteOptions::default())
            .await
        {
            Ok(_) | Err(StoreError::Exists(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Tries to hold the controller lease; returns whether this server holds it.
pub async fn hold_lease(api: &Api, name: &str) -> bool {
    let key = format!("/coordination.k8s.io/leases/kube-system/{name}");
    let me = &api.server_id;
    let now = object::now_rfc3339();
    let fresh = || {
        json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-system", "uid": object::new_uid(), "creationTimestamp": now},
            "spec": {"holderIdentity": me, "leaseDurationSeconds": LEASE_DURATION, "acquireTime": now, "renewTime": now},
        })
    };
    match api.store.get(&key).await {
        Ok(None) => api
            .store
            .create(
                &key,
                serde_json::to_vec(&fresh()).unwrap_or_default(),
                WriteOptions::default(),
            )
            .await
            .is_ok(),
        Ok(Some(kv)) => {
            let Ok(mut lease) = serde_json::from_slice::<Value>(&kv.value) else {
                return false;
            };
            let holder = lease
                .pointer("/spec/holderIdentity")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let expired = crate::identity::lease_expired(&lease, now_secs());
            if holder != *me && !expired {
                return false;
            }
            if let Some(spec) = lease.get_mut("spec").and_then(Value::as_object_mut) {
                if holder != *me {
                    spec.insert("acquireTime".into(), json!(now));
                    spec.insert("holderIdentity".into(), json!(me));
                }
                spec.insert("renewTime".into(), json!(now));
            }
            api.update_json(&key, &lease, kv.mod_revision).await.is_ok()
        }
        Err(_) => false,
    }
}

/// Runs the namespace controller until shutdown.
pub async fn run(api: Arc<Api>) {
    let mut shutdown = api.shutdown.subscribe();
    let mut leader = false;
    let mut renew = tokio::time::interval(RENEW_EVERY);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = renew.tick() => {}
        }
        let was = leader;
        leader = hold_lease(&api, LEASE_NAME).await;
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
async fn sweep(api: &Api) -> Result<(), StoreError> {
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
async fn empty_namespace(api: &Api, ns: &str) -> Result<bool, StoreError> {
    let mut empty = true;
    for r in api.preferred_resources() {
        if !r.namespaced {
            continue;
        }
        let listed = api
            .store
            .list(&api::prefix(&r, ns), ListOptions::default())
            .await?;
        for kv in listed.items {
            empty = false;
            let Ok(mut obj) = serde_json::from_slice::<Value>(&kv.value) else {
                continue;
            };
            if object::finalizers(&obj).is_empty() {
                match api.store.delete(&kv.key, Some(kv.mod_revision)).await {
                    Ok(_) | Err(StoreError::NotFound(_) | StoreError::Conflict { .. }) => {}
                    Err(e) => return Err(e),
                }
            } else if !object::is_deleting(&obj) {
                let meta = object::meta_mut(&mut obj);
                meta.insert("deletionTimestamp".into(), json!(object::now_rfc3339()));
                meta.insert("deletionGracePeriodSeconds".into(), json!(0));
                let _ = api.update_json(&kv.key, &obj, kv.mod_revision).await;
            }
        }
    }
    if let Some(proxy) = &api.proxy {
        for (group, version, resource) in peer_only_namespaced(api) {
            empty &= empty_via_peer(proxy, &group, &version, &resource, ns).await;
        }
    }
    Ok(empty)
}

/// Namespaced resources that only peers serve (in every version), from
/// merged discovery.
fn peer_only_namespaced(api: &Api) -> Vec<(String, String, String)> {
    let merged = api.merged.get(api);
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
/// serves it; returns whether none are left.
async fn empty_via_peer(
    proxy: &skewless_peerproxy::proxy::PeerProxy,
    group: &str,
    version: &str,
    resource: &str,
    ns: &str,
) -> bool {
    use http_body_util::BodyExt as _;
    use skewless_peerproxy::routing::RoutingDecision;
    let gvr =
        skewless_apimachinery::request_info::GroupVersionResource::new(group, version, resource);
    let RoutingDecision::Proxy { candidates } = proxy.route(false, &gvr, false) else {
        return false;
    };
    let candidates: Vec<String> = candidates
        .into_iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    let path = if group.is_empty() {
        format!("/api/{version}/namespaces/{ns}/{resource}")
    } else {
        format!("/apis/{group}/{version}/namespaces/{ns}/{resource}")
    };
    let user = skewless_peerproxy::proxy::ForwardedUser {
        name: "system:apiserver".into(),
        uid: String::new(),
        groups: vec!["system:masters".into(), "system:authenticated".into()],
        extra: Default::default(),
    };
    let empty_body = || {
        http_body_util::Empty::<bytes::Bytes>::new()
            .map_err(|never| match never {})
            .boxed_unsync()
    };
    for method in ["DELETE", "GET"] {
        let Ok(req) = http::Request::builder().method(method).uri(&path).body(()) else {
            return false;
        };
        let (parts, ()) = req.into_parts();
        let Ok(resp) = proxy
            .forward(&candidates, &gvr, &parts, empty_body(), &user)
            .await
        else {
            return false;
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
async fn finalize(api: &Api, name: &str) -> Result<(), StoreError> {
    let key = api::namespace_key(name);
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
        let _ = api.update_json(&key, &ns, kv.mod_revision).await;
    }
    Ok(())
}

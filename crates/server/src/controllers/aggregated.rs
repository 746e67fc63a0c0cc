//! Keeps the aggregation layer's view current: the APIServices with
//! `spec.service` re-read every [`REFRESH`], and each one's resources
//! fetched from its extension server's legacy `/apis/<group>/<version>`
//! (kept, marked `Stale`, while it cannot be reached). Each pass also
//! records the APIService's `Available` condition: `False` with
//! `ServiceNotFound`, `EndpointsNotFound` or `FailedDiscoveryCheck`, else
//! `True` with `Passed`, written only when it changed.

use std::sync::Arc;
use std::time::Duration;

use http::Request;
use http_body_util::{BodyExt, Limited};
use serde_json::{Value, json};
use skewless_apimachinery::discovery::{
    APIResourceDiscovery, APIResourceList, APIVersionDiscovery, Freshness, GroupVersionKind,
    ResourceScope,
};
use skewless_store::StoreError;

use crate::aggregator::{Route, parse_routes};
use crate::state::State;
use crate::{object, service_dial, storage};

/// How often APIServices and extension servers' discovery are re-read.
const REFRESH: Duration = Duration::from_secs(1);

/// How long fetching an extension server's discovery may take.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Who the discovery checks are made as.
const DISCOVERY_USER: &str = "system:kube-aggregator";

/// The largest discovery document read from an extension server.
const MAX_DISCOVERY_BYTES: usize = 4 * 1024 * 1024;

/// Keeps the routes current until shutdown.
pub(crate) async fn run(state: Arc<State>) {
    let mut shutdown = state.shutdown.subscribe();
    loop {
        if let Err(e) = refresh(&state).await {
            tracing::debug!(error = %e, "reading APIServices");
        }
        tokio::select! {
            () = tokio::time::sleep(REFRESH) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

async fn refresh(state: &State) -> Result<(), String> {
    let listed = state
        .store
        .list(
            &storage::object_key("apiregistration.k8s.io", "apiservices", "", ""),
            skewless_store::ListOptions::default(),
        )
        .await
        .map_err(|e| e.to_string())?;
    let stored: Vec<(Value, String, i64)> = listed
        .items
        .iter()
        .filter_map(|kv| {
            let obj = serde_json::from_slice(&kv.value).ok()?;
            Some((obj, kv.key.clone(), kv.mod_revision))
        })
        .collect();
    let items: Vec<Value> = stored.iter().map(|(o, _, _)| o.clone()).collect();
    let mut routes = parse_routes(&items);
    let known = state.aggregator.routes();
    for ((group, version), route) in &mut routes {
        let previous = known
            .get(&(group.clone(), version.clone()))
            .filter(|p| {
                p.service == route.service
                    && p.ca_bundle == route.ca_bundle
                    && p.insecure == route.insecure
            })
            .and_then(|p| p.resources.clone());
        let checked = check(state, route, group, version).await;
        let condition = match &checked {
            Ok(_) => Condition::passed(),
            Err(c) => c.clone(),
        };
        if let Some((obj, key, revision)) = stored.iter().find(|(o, _, _)| {
            o.pointer("/spec/group")
                .and_then(Value::as_str)
                .unwrap_or("")
                == group
                && o.pointer("/spec/version").and_then(Value::as_str) == Some(version)
        }) && let Err(e) = record(state, obj, key, *revision, &condition).await
        {
            tracing::debug!(%group, %version, error = %e, "writing an APIService's availability");
        }
        route.resources = match checked {
            Ok(r) => Some(r),
            Err(c) => {
                tracing::debug!(%group, %version, reason = c.reason, message = %c.message, "extension server unavailable");
                previous.map(|mut r| {
                    r.freshness = Some(Freshness::Stale);
                    r
                })
            }
        };
    }
    state.aggregator.set_routes(routes);
    Ok(())
}

/// An APIService's `Available` condition as this server found it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Condition {
    status: &'static str,
    reason: &'static str,
    message: String,
}

impl Condition {
    fn passed() -> Self {
        Self {
            status: "True",
            reason: "Passed",
            message: "all checks passed".to_owned(),
        }
    }

    fn unavailable(reason: &'static str, message: String) -> Self {
        Self {
            status: "False",
            reason,
            message,
        }
    }
}

/// The availability checks of one extension server: its Service exists,
/// has a ready endpoint, and answers discovery for `group/version`
/// (whose resources are the result).
async fn check(
    state: &State,
    route: &Route,
    group: &str,
    version: &str,
) -> Result<APIVersionDiscovery, Condition> {
    let (ns, name) = (&route.service.namespace, &route.service.name);
    let service = service_dial::get_json(
        state.store.as_ref(),
        &storage::object_key("", "services", ns, name),
    )
    .await
    .map_err(|e| Condition::unavailable("ServiceNotFound", e))?;
    if service.is_none() {
        return Err(Condition::unavailable(
            "ServiceNotFound",
            format!("service/{name} in {ns:?} is not present"),
        ));
    }
    if service_dial::resolve_service(state.store.as_ref(), &route.service)
        .await
        .is_err()
    {
        return Err(Condition::unavailable(
            "EndpointsNotFound",
            format!("cannot find endpoints for service/{name} in {ns:?}"),
        ));
    }
    let url = format!(
        "https://{}/apis/{group}/{version}",
        route.service.server_name()
    );
    tokio::time::timeout(
        DISCOVERY_TIMEOUT,
        fetch_resources(state, route, group, version),
    )
    .await
    .map_err(|_| "no answer in time".to_owned())
    .and_then(|r| r)
    .map_err(|e| {
        Condition::unavailable(
            "FailedDiscoveryCheck",
            format!("failing or missing response from {url}: {e}"),
        )
    })
}

/// Writes `condition` as the APIService's `Available` condition when its
/// status or reason differ from the stored one (every server computes the
/// same, so they do not fight: a compare-and-swap on the revision read,
/// and a lost race is settled by the next pass).
async fn record(
    state: &State,
    obj: &Value,
    key: &str,
    revision: i64,
    condition: &Condition,
) -> Result<(), StoreError> {
    if object::is_deleting(obj) {
        return Ok(());
    }
    let conditions: Vec<Value> = obj
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let is_available = |c: &&Value| c.get("type").and_then(Value::as_str) == Some("Available");
    let old = conditions.iter().find(is_available);
    let field = |c: Option<&Value>, f: &str| {
        c.and_then(|c| c.get(f))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    if field(old, "status") == condition.status && field(old, "reason") == condition.reason {
        return Ok(());
    }
    let since = if field(old, "status") == condition.status {
        old.and_then(|c| c.get("lastTransitionTime").cloned())
            .unwrap_or_else(|| json!(object::now_rfc3339()))
    } else {
        json!(object::now_rfc3339())
    };
    let mut conditions: Vec<Value> = conditions
        .iter()
        .filter(|c| !is_available(c))
        .cloned()
        .collect();
    conditions.push(json!({
        "type": "Available",
        "status": condition.status,
        "lastTransitionTime": since,
        "reason": condition.reason,
        "message": condition.message,
    }));
    let mut updated = obj.clone();
    // Indexing a non-object would panic: storage written by anyone else
    // may hold any JSON there.
    if !updated.is_object() {
        return Ok(());
    }
    if !updated.get("status").is_some_and(Value::is_object) {
        updated["status"] = json!({});
    }
    updated["status"]["conditions"] = Value::Array(conditions);
    match storage::update_json(state.store.as_ref(), key, &updated, revision).await {
        Ok(_) | Err(StoreError::Conflict { .. } | StoreError::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The extension server's resources of `group/version`, from its legacy
/// `/apis/<group>/<version>`.
async fn fetch_resources(
    state: &State,
    route: &Route,
    group: &str,
    version: &str,
) -> Result<APIVersionDiscovery, String> {
    let path = format!("/apis/{group}/{version}");
    let request = Request::get(path.as_str())
        .header(http::header::ACCEPT, "application/json")
        .header("x-remote-user", DISCOVERY_USER)
        .header("x-remote-group", "system:masters")
        .body(crate::http_util::empty())
        .map_err(|e| e.to_string())?;
    let response = state
        .aggregator
        .send(state.store.as_ref(), route, request)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status();
    let bytes = Limited::new(response.into_body(), MAX_DISCOVERY_BYTES)
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    if !status.is_success() {
        return Err(format!("GET {path} answered {status}"));
    }
    let list: APIResourceList = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    let mut resources: Vec<APIResourceDiscovery> = list
        .resources
        .iter()
        .filter(|r| !r.name.contains('/'))
        .map(|r| APIResourceDiscovery {
            resource: r.name.clone(),
            response_kind: Some(GroupVersionKind {
                group: String::new(),
                version: String::new(),
                kind: r.kind.clone(),
            }),
            scope: if r.namespaced {
                ResourceScope::Namespaced
            } else {
                ResourceScope::Cluster
            },
            singular_resource: r.singular_name.clone(),
            verbs: r.verbs.clone(),
            short_names: r.short_names.clone(),
            categories: r.categories.clone(),
            subresources: Vec::new(),
        })
        .collect();
    resources.sort_by(|a, b| a.resource.cmp(&b.resource));
    Ok(APIVersionDiscovery {
        version: version.to_owned(),
        resources,
        freshness: Some(Freshness::Current),
    })
}

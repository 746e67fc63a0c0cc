//! Keeps the aggregation layer's view current: the APIServices with
//! `spec.service` re-read every [`REFRESH`] and published at once, then
//! every extension server checked concurrently (each within
//! [`DISCOVERY_TIMEOUT`]): its resources fetched from its aggregated
//! discovery (`/apis`, re-checked with `If-None-Match`), else its legacy
//! `/apis/<group>/<version>` (kept, marked `Stale`, while it cannot be
//! reached). Each check also records the APIService's `Available`
//! condition: `False` with `ServiceNotFound`, `EndpointsNotFound` or
//! `FailedDiscoveryCheck`, else `True` with `Passed`, written only when it
//! changed; only available APIServices are proxied.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use http::Request;
use http_body_util::{BodyExt, Limited};
use serde_json::{Value, json};
use skewless_apimachinery::discovery::{
    APIGroupDiscoveryList, APIResourceDiscovery, APIResourceList, APIVersionDiscovery, Freshness,
    GroupVersionKind, ResourceScope,
};
use skewless_store::StoreError;

use crate::aggregator::{ExtensionOpenApi, Route, parse_routes};
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

/// The checks running, one per group/version at most.
type InFlight = HashMap<(String, String), tokio::task::JoinHandle<()>>;

/// Keeps the routes current until shutdown.
pub(crate) async fn run(state: Arc<State>) {
    let mut shutdown = state.shutdown.subscribe();
    let mut in_flight = InFlight::new();
    loop {
        if let Err(e) = refresh(&state, &mut in_flight).await {
            tracing::debug!(error = %e, "reading APIServices");
        }
        tokio::select! {
            () = tokio::time::sleep(REFRESH) => {}
            _ = shutdown.changed() => break,
        }
        if *shutdown.borrow() {
            break;
        }
    }
    for (_, check) in in_flight.drain() {
        check.abort();
    }
}

/// One pass: re-read the APIServices, publish them (what earlier checks
/// learned about an unchanged target carries over), and start a check of
/// every extension server not being checked already. Each check is its
/// own task and publishes its own result: one extension server that hangs
/// delays none of the others.
async fn refresh(state: &Arc<State>, in_flight: &mut InFlight) -> Result<(), String> {
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
    let routes = state.aggregator.replace_routes(parse_routes(&items));
    in_flight.retain(|gv, check| !check.is_finished() && routes.contains_key(gv));
    for (gv, route) in routes.iter() {
        if in_flight.contains_key(gv) {
            continue;
        }
        let object = stored
            .iter()
            .find(|(o, _, _)| {
                o.pointer("/spec/group")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    == gv.0
                    && o.pointer("/spec/version").and_then(Value::as_str) == Some(gv.1.as_str())
            })
            .cloned();
        let (state, gv_owned, route) = (Arc::clone(state), gv.clone(), route.clone());
        in_flight.insert(
            gv.clone(),
            tokio::spawn(async move { check_and_publish(&state, gv_owned, route, object).await }),
        );
    }
    Ok(())
}

/// Checks one extension server, records its `Available` condition on
/// `object` (the stored APIService, its key and revision) and publishes
/// what it found on its route (unless the route changed meanwhile).
async fn check_and_publish(
    state: &State,
    gv: (String, String),
    route: Route,
    object: Option<(Value, String, i64)>,
) {
    let (group, version) = (&gv.0, &gv.1);
    let checked = check(state, &route, group, version).await;
    let openapi = match &checked {
        Ok(_) => Some(fetch_openapi(state, &route, group, version).await),
        Err(_) => None,
    };
    let condition = match &checked {
        Ok(_) => Condition::passed(),
        Err(c) => c.clone(),
    };
    if let Some((obj, key, revision)) = &object
        && let Err(e) = record(state, obj, key, *revision, &condition).await
    {
        tracing::debug!(%group, %version, error = %e, "writing an APIService's availability");
    }
    state.aggregator.update_route(&gv, &route, |r| {
        if let Some(o) = openapi {
            r.openapi = o;
        }
        match checked {
        Ok(Fetched::Document { resources, etag }) => {
            r.available = true;
            r.resources = Some(resources);
            r.etag = etag;
        }
        Ok(Fetched::NotModified) => r.available = true,
        Err(c) => {
            tracing::debug!(%group, %version, reason = c.reason, message = %c.message, "extension server unavailable");
            r.available = false;
            r.etag = None;
            if let Some(resources) = &mut r.resources {
                resources.freshness = Some(Freshness::Stale);
            }
        }
    }});
}

/// The extension server's `/openapi/v2` and its
/// `/openapi/v3/apis/<group>/<version>`, each re-checked with its ETag;
/// a document that cannot be fetched keeps what was held (OpenAPI does
/// not decide availability).
async fn fetch_openapi(
    state: &State,
    route: &Route,
    group: &str,
    version: &str,
) -> ExtensionOpenApi {
    let mut held = route.openapi.clone();
    let fetch = |path: String, etag: Option<String>| async move {
        tokio::time::timeout(
            DISCOVERY_TIMEOUT,
            get(state, route, &path, "application/json", etag.as_deref()),
        )
        .await
        .ok()
        .and_then(Result::ok)
        .filter(|(status, _, _)| status.is_success())
        .map(|(_, headers, bytes)| {
            let etag = headers
                .get(http::header::ETAG)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (bytes, etag)
        })
    };
    let v2_etag = held.v2.as_ref().and_then(|(_, e)| e.clone());
    if let Some((bytes, etag)) = fetch("/openapi/v2".to_owned(), v2_etag).await
        && let Ok(doc) = serde_json::from_slice::<Value>(&bytes)
        && doc.is_object()
    {
        held.v2 = Some((Arc::new(doc), etag));
    }
    let v3_etag = held.v3.as_ref().and_then(|(_, e)| e.clone());
    if let Some((bytes, etag)) = fetch(format!("/openapi/v3/apis/{group}/{version}"), v3_etag).await
        && serde_json::from_slice::<Value>(&bytes).is_ok_and(|d| d.is_object())
    {
        held.v3 = Some((bytes, etag));
    }
    held
}

/// What a discovery check fetched.
#[derive(Debug)]
enum Fetched {
    /// The group/version's resources, and the ETag of the aggregated
    /// document they came from (none from legacy discovery).
    Document {
        resources: APIVersionDiscovery,
        etag: Option<String>,
    },
    /// 304: the resources already held are current.
    NotModified,
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
/// (whose resources are the result, or `NotModified`).
async fn check(
    state: &State,
    route: &Route,
    group: &str,
    version: &str,
) -> Result<Fetched, Condition> {
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

/// The media type of aggregated discovery, asked of extension servers
/// first (legacy JSON as the fallback).
const AGGREGATED_ACCEPT: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";

/// The extension server's resources of `group/version`: from its
/// aggregated `/apis` (`If-None-Match` with the ETag held, so an unchanged
/// document is a 304), else from its legacy `/apis/<group>/<version>`.
async fn fetch_resources(
    state: &State,
    route: &Route,
    group: &str,
    version: &str,
) -> Result<Fetched, String> {
    let etag = route.etag.as_deref().filter(|_| route.resources.is_some());
    let (status, headers, bytes) = get(state, route, "/apis", AGGREGATED_ACCEPT, etag).await?;
    if status == http::StatusCode::NOT_MODIFIED && etag.is_some() {
        return Ok(Fetched::NotModified);
    }
    let aggregated = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("as=APIGroupDiscoveryList"));
    if status.is_success()
        && aggregated
        && let Ok(list) = serde_json::from_slice::<APIGroupDiscoveryList>(&bytes)
        && let Some(found) = list
            .items
            .iter()
            .filter(|g| g.name() == group)
            .flat_map(|g| g.versions.iter())
            .find(|v| v.version == version)
    {
        let mut resources = found.clone();
        resources.freshness = Some(Freshness::Current);
        resources
            .resources
            .sort_by(|a, b| a.resource.cmp(&b.resource));
        return Ok(Fetched::Document {
            resources,
            etag: headers
                .get(http::header::ETAG)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        });
    }
    legacy_resources(state, route, group, version)
        .await
        .map(|resources| Fetched::Document {
            resources,
            etag: None,
        })
}

/// A GET to the extension server as [`DISCOVERY_USER`]: status, headers
/// and at most [`MAX_DISCOVERY_BYTES`] of body.
async fn get(
    state: &State,
    route: &Route,
    path: &str,
    accept: &str,
    if_none_match: Option<&str>,
) -> Result<(http::StatusCode, http::HeaderMap, bytes::Bytes), String> {
    let mut request = Request::get(path)
        .header(http::header::ACCEPT, accept)
        .header("x-remote-user", DISCOVERY_USER)
        .header("x-remote-group", "system:masters");
    if let Some(etag) = if_none_match {
        request = request.header(http::header::IF_NONE_MATCH, etag);
    }
    let request = request
        .body(crate::http_util::empty())
        .map_err(|e| e.to_string())?;
    let response = state
        .aggregator
        .send(state.store.as_ref(), route, request)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let (parts, body) = response.into_parts();
    let bytes = Limited::new(body, MAX_DISCOVERY_BYTES)
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((parts.status, parts.headers, bytes))
}

/// The extension server's resources of `group/version`, from its legacy
/// `/apis/<group>/<version>`.
async fn legacy_resources(
    state: &State,
    route: &Route,
    group: &str,
    version: &str,
) -> Result<APIVersionDiscovery, String> {
    let path = format!("/apis/{group}/{version}");
    let (status, _, bytes) = get(state, route, &path, "application/json", None).await?;
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

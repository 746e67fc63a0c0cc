//! Keeps the aggregation layer's view current: the APIServices with
//! `spec.service` re-read every [`REFRESH`], and each one's resources
//! fetched from its extension server's legacy `/apis/<group>/<version>`
//! (kept, marked `Stale`, while it cannot be reached).

use std::sync::Arc;
use std::time::Duration;

use http::Request;
use http_body_util::{BodyExt, Limited};
use serde_json::Value;
use skewless_apimachinery::discovery::{
    APIResourceDiscovery, APIResourceList, APIVersionDiscovery, Freshness, GroupVersionKind,
    ResourceScope,
};

use crate::aggregator::{Route, parse_routes};
use crate::state::State;

/// How often APIServices and extension servers' discovery are re-read.
const REFRESH: Duration = Duration::from_secs(1);

/// How long fetching an extension server's discovery may take.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(5);

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
            &crate::storage::object_key("apiregistration.k8s.io", "apiservices", "", ""),
            skewless_store::ListOptions::default(),
        )
        .await
        .map_err(|e| e.to_string())?;
    let items: Vec<Value> = listed
        .items
        .iter()
        .filter_map(|kv| serde_json::from_slice(&kv.value).ok())
        .collect();
    let mut routes = parse_routes(&items);
    let known = state.aggregator.routes();
    for ((group, version), route) in &mut routes {
        let previous = known
            .get(&(group.clone(), version.clone()))
            .filter(|p| p.service == route.service && p.ca_bundle == route.ca_bundle)
            .and_then(|p| p.resources.clone());
        let fetched = tokio::time::timeout(
            DISCOVERY_TIMEOUT,
            fetch_resources(state, route, group, version),
        )
        .await
        .map_err(|_| "timed out".to_owned())
        .and_then(|r| r);
        route.resources = match fetched {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::debug!(%group, %version, error = %e, "discovery of an extension server");
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

//! The aggregation layer: APIServices with `spec.service` name an extension
//! API server, and requests under their `/apis/<group>/<version>` are
//! proxied to it (after authentication and authorization here), with the
//! user in `X-Remote-User`/`-Group`/`-Extra-*` and the front-proxy client
//! certificate. The extension server is reached at a ready endpoint of its
//! Service (EndpointSlices, else Endpoints: routing to endpoints, not the
//! ClusterIP) over TLS verified with the APIService's `caBundle` for
//! `<service>.<namespace>.svc`.
//!
//! This module holds the in-memory view of the APIServices and each one's
//! resources (kept current by `controllers::aggregated`) and sends requests
//! to extension servers; `pipeline::aggregate` proxies clients' requests.
//! Routing is a map lookup, and discovery adds those groups (every server
//! does it for itself, so peer data never carries them).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use http::{Request, Response};
use serde_json::Value;
use skewless_apimachinery::crd::ServiceReference;
use skewless_apimachinery::discovery::{APIGroupDiscovery, APIVersionDiscovery};
use skewless_peerproxy::transport::{PeerBody, SendError, Transport};
use skewless_store::Store;

use crate::http_util::Body;
use crate::service_dial::{self, ClientIdentity};

/// One APIService served by an extension server.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Route {
    pub(crate) service: ServiceReference,
    pub(crate) ca_bundle: String,
    /// `spec.insecureSkipTLSVerify`.
    pub(crate) insecure: bool,
    /// The extension server's resources, once fetched.
    pub(crate) resources: Option<APIVersionDiscovery>,
    /// The ETag of the aggregated discovery document `resources` came
    /// from, sent back as `If-None-Match` (a 304 keeps them).
    pub(crate) etag: Option<String>,
    /// Its `Available` condition is `True`: only then are requests proxied
    /// (else 503 `service unavailable`, as kube-aggregator).
    pub(crate) available: bool,
    /// The extension server's OpenAPI documents, once fetched.
    pub(crate) openapi: ExtensionOpenApi,
}

/// An extension server's OpenAPI documents with their ETags (sent back
/// as `If-None-Match`: a 304 keeps them).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ExtensionOpenApi {
    /// `/openapi/v2`: its paths and definitions join this server's.
    pub(crate) v2: Option<(Arc<Value>, Option<String>)>,
    /// `/openapi/v3/apis/<group>/<version>`, served as this server's.
    pub(crate) v3: Option<(bytes::Bytes, Option<String>)>,
}

impl Route {
    /// Whether `other` names the same extension server the same way (its
    /// fetched resources and availability may carry over).
    pub(crate) fn same_target(&self, other: &Self) -> bool {
        self.service == other.service
            && self.ca_bundle == other.ca_bundle
            && self.insecure == other.insecure
    }
}

/// The aggregation layer's state: the routes and how to dial them.
pub(crate) struct Aggregator {
    routes: RwLock<Arc<BTreeMap<(String, String), Route>>>,
    generation: AtomicU64,
    /// The front-proxy client certificate presented to extension servers.
    client: Option<ClientIdentity>,
    /// `--request-timeout`: how long a proxied non-watch request may wait
    /// for the extension server's answer.
    pub(crate) request_timeout: Duration,
}

impl std::fmt::Debug for Aggregator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aggregator").finish_non_exhaustive()
    }
}

impl Aggregator {
    pub(crate) fn new(client: Option<ClientIdentity>, request_timeout: Duration) -> Self {
        Self {
            routes: RwLock::default(),
            generation: AtomicU64::new(0),
            client,
            request_timeout,
        }
    }

    /// Bumped whenever the routes or their resources change.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn routes(&self) -> Arc<BTreeMap<(String, String), Route>> {
        self.routes
            .read()
            .map(|r| Arc::clone(&r))
            .unwrap_or_default()
    }

    /// Publishes `routes` (freshly parsed), keeping what checks learned
    /// (resources, ETag, availability) of each route whose target did not
    /// change; returns what is published. Atomic with
    /// [`Aggregator::update_route`], so no check's result is lost.
    pub(crate) fn replace_routes(
        &self,
        mut routes: BTreeMap<(String, String), Route>,
    ) -> Arc<BTreeMap<(String, String), Route>> {
        let Ok(mut current) = self.routes.write() else {
            return Arc::new(routes);
        };
        for (gv, route) in &mut routes {
            if let Some(previous) = current.get(gv).filter(|p| p.same_target(route)) {
                route.resources.clone_from(&previous.resources);
                route.etag.clone_from(&previous.etag);
                route.available = previous.available;
                route.openapi.clone_from(&previous.openapi);
            }
        }
        if **current != routes {
            *current = Arc::new(routes);
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
        Arc::clone(&current)
    }

    /// Applies `change` to the route of `gv` if it still has `checked`'s
    /// target (a check's result never lands on a route that changed).
    pub(crate) fn update_route(
        &self,
        gv: &(String, String),
        checked: &Route,
        change: impl FnOnce(&mut Route),
    ) {
        let Ok(mut current) = self.routes.write() else {
            return;
        };
        let Some(route) = current.get(gv).filter(|r| r.same_target(checked)) else {
            return;
        };
        let mut updated = route.clone();
        change(&mut updated);
        if updated != *route {
            let mut routes = (**current).clone();
            routes.insert(gv.clone(), updated);
            *current = Arc::new(routes);
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// `local` (this server's aggregated `/apis` groups) with every
    /// extension server's group/version whose resources are known, each
    /// version added to its group (the group created when new).
    pub(crate) fn add_to_discovery(&self, local: &mut Vec<APIGroupDiscovery>) {
        for ((group, _), route) in self.routes().iter() {
            let Some(resources) = &route.resources else {
                continue;
            };
            let at = match local.iter().position(|g| g.name() == group) {
                Some(i) => i,
                None => {
                    let mut g = APIGroupDiscovery::default();
                    g.metadata.name.clone_from(group);
                    local.push(g);
                    local.len() - 1
                }
            };
            let versions = &mut local[at].versions;
            if !versions.iter().any(|v| v.version == resources.version) {
                versions.push(resources.clone());
            }
        }
    }
}

/// The APIServices with `spec.service`, by group/version, available as
/// their stored `Available` condition says.
pub(crate) fn parse_routes(items: &[Value]) -> BTreeMap<(String, String), Route> {
    let mut routes = BTreeMap::new();
    for obj in items {
        let spec = &obj["spec"];
        let (Some(service), Some(version)) = (
            spec.get("service").filter(|s| s.is_object()),
            spec.get("version").and_then(Value::as_str),
        ) else {
            continue;
        };
        let group = spec.get("group").and_then(Value::as_str).unwrap_or("");
        let port = service
            .get("port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(443);
        routes.insert(
            (group.to_owned(), version.to_owned()),
            Route {
                service: ServiceReference {
                    namespace: service["namespace"].as_str().unwrap_or("").to_owned(),
                    name: service["name"].as_str().unwrap_or("").to_owned(),
                    path: String::new(),
                    port,
                },
                ca_bundle: spec
                    .get("caBundle")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                insecure: spec.get("insecureSkipTLSVerify").and_then(Value::as_bool) == Some(true),
                resources: None,
                etag: None,
                available: stored_available(obj),
                openapi: ExtensionOpenApi::default(),
            },
        );
    }
    routes
}

impl Aggregator {
    /// Sends `request` (path and query only in its URI) to the route's
    /// extension server.
    pub(crate) async fn send(
        &self,
        store: &dyn Store,
        route: &Route,
        request: Request<Body>,
    ) -> Result<Response<PeerBody>, Unreachable> {
        let (transport, addr, request, url) = self.target(store, route, request).await?;
        transport.send(&addr, request).await.map_err(|e| match e {
            SendError::NotSent { cause, .. } | SendError::Failed(cause) => {
                Unreachable::Failed(format!("{url}: {cause}"))
            }
        })
    }

    /// Sends an upgrade `request` (path and query only in its URI) to the
    /// route's extension server on a connection of its own (HTTP/1.1): a
    /// `101` answer carries the extension server's upgraded stream.
    pub(crate) async fn send_upgrade(
        &self,
        store: &dyn Store,
        route: &Route,
        request: Request<Body>,
    ) -> Result<Response<hyper::body::Incoming>, Unreachable> {
        let (transport, addr, request, url) = self.target(store, route, request).await?;
        transport
            .send_upgrade(&addr, request)
            .await
            .map_err(|cause| Unreachable::Failed(format!("{url}: {cause}")))
    }

    /// The transport, endpoint address and full URL for `request` to the
    /// route's extension server.
    async fn target(
        &self,
        store: &dyn Store,
        route: &Route,
        request: Request<Body>,
    ) -> Result<(Arc<Transport>, String, Request<Body>, String), Unreachable> {
        let addr = service_dial::resolve_service(store, &route.service)
            .await
            .map_err(Unreachable::Unavailable)?;
        let verify = if route.insecure {
            service_dial::Verify::Insecure
        } else {
            service_dial::Verify::CaBundle(&route.ca_bundle)
        };
        let transport: Arc<Transport> =
            service_dial::transport(verify, &route.service.server_name(), self.client.as_ref())
                .map_err(Unreachable::Unavailable)?;
        let (mut parts, body) = request.into_parts();
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", http::uri::PathAndQuery::as_str);
        let url = format!("https://{addr}{path}");
        parts.uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| Unreachable::Failed(e.to_string()))?;
        Ok((transport, addr, Request::from_parts(parts, body), url))
    }
}

/// Why a request could not be sent to an extension server.
#[derive(Debug)]
pub(crate) enum Unreachable {
    /// No endpoint, no usable `caBundle`: the APIService is unavailable.
    Unavailable(String),
    /// Dialling, TLS or the exchange failed.
    Failed(String),
}

/// Whether the APIService's stored `Available` condition is `True`.
fn stored_available(obj: &Value) -> bool {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| {
            c.get("type").and_then(Value::as_str) == Some("Available")
                && c.get("status").and_then(Value::as_str) == Some("True")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_apiservices_with_a_service_route() {
        let items = vec![
            serde_json::json!({"spec": {"group": "apps", "version": "v1"}}),
            serde_json::json!({"spec": {"group": "metrics.k8s.io", "version": "v1beta1",
                "service": {"namespace": "kube-system", "name": "metrics-server"}, "caBundle": "Zm9v"}}),
        ];
        let routes = parse_routes(&items);
        assert_eq!(routes.len(), 1);
        let r = &routes[&("metrics.k8s.io".to_owned(), "v1beta1".to_owned())];
        assert_eq!(r.service.port, 443);
        assert_eq!(r.service.server_name(), "metrics-server.kube-system.svc");
        assert!(!r.available, "no condition yet: unavailable");
    }

    #[test]
    fn availability_comes_from_the_stored_condition() {
        let with = |status: &str| {
            serde_json::json!({"spec": {"group": "g", "version": "v1",
                "service": {"namespace": "n", "name": "s"}},
                "status": {"conditions": [{"type": "Available", "status": status}]}})
        };
        let key = ("g".to_owned(), "v1".to_owned());
        assert!(parse_routes(&[with("True")])[&key].available);
        assert!(!parse_routes(&[with("False")])[&key].available);
    }
}

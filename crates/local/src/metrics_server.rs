//! The sample extension API server, one implementation for `skewless
//! metrics-server` and the tests: `metrics.k8s.io/v1beta1` `PodMetrics` and
//! `NodeMetrics` (get, list, and a watch of pod metrics) with synthetic
//! usage for the pods and nodes the API server has (read through it with
//! the credentials it was given), its discovery (legacy and aggregated,
//! with ETags), a minimal `/openapi/v2` and `/openapi/v3`, over HTTPS with
//! its own serving certificate.
//!
//! It serves only clients presenting a certificate of the request-header
//! CA whose common name is allowed (an API server's front-proxy client
//! certificate); the user is whatever that client asserts in
//! `X-Remote-User`/`X-Remote-Group`, logged per request and recorded.
//! Everything else gets a `Status` error. For tests of upgrades through
//! the aggregator, any path under its group/version ending in `/echo`
//! switches protocols (`websocket`, `SPDY/3.1` or `skewless-echo`), says
//! `user=<X-Remote-User>` and echoes bytes back. Tests can make it hang (never
//! answer), fail its discovery, stop (connections refused) and restart on
//! the same port.
//!
//! Never panics on what a client or the API server sends.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use skewless_server::tls::ClientCertVerifiers;

use crate::Client;

/// The Service an APIService names for it: `metrics-server` in `kube-system`.
pub const SERVICE_NAMESPACE: &str = "kube-system";
pub const SERVICE_NAME: &str = "metrics-server";
/// The APIService that registers it.
pub const APISERVICE_NAME: &str = "v1beta1.metrics.k8s.io";

const GROUP: &str = "metrics.k8s.io";
const VERSION: &str = "v1beta1";
const GROUP_VERSION: &str = "metrics.k8s.io/v1beta1";

/// How long one read from the API server may take.
const API_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a watch re-reads the pods.
const WATCH_PERIOD: Duration = Duration::from_secs(1);
/// A watch without `timeoutSeconds` ends after this.
const WATCH_DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// The protocols `…/echo` switches to.
const ECHO_PROTOCOLS: [&str; 3] = ["websocket", "SPDY/3.1", "skewless-echo"];
/// An echo stream with nothing to read for this long is closed.
const ECHO_IDLE: Duration = Duration::from_secs(60);

type Body = BoxBody<Bytes, Infallible>;

/// What a metrics server is started with.
pub struct Config {
    /// The serving certificate chain and its key.
    pub serving_chain: Vec<CertificateDer<'static>>,
    pub serving_key: PrivateKeyDer<'static>,
    /// `--requestheader-client-ca-file`: the CA of the clients allowed to
    /// assert users.
    pub requestheader_client_ca: std::path::PathBuf,
    /// `--requestheader-allowed-names` (empty: any common name).
    pub allowed_names: Vec<String>,
    /// Where pods and nodes are read.
    pub api: Client,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("allowed_names", &self.allowed_names)
            .finish_non_exhaustive()
    }
}

/// One request a client with an allowed certificate made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// `X-Remote-User`.
    pub user: String,
    pub path: String,
    /// The status answered.
    pub status: u16,
}

/// What the handlers share.
struct Shared {
    api: Client,
    verifiers: ClientCertVerifiers,
    allowed_names: Vec<String>,
    seen: Mutex<Vec<Seen>>,
    hang: AtomicBool,
    fail_discovery: AtomicBool,
    redirect: AtomicBool,
}

/// A running metrics server.
pub struct MetricsServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: tokio_rustls::TlsAcceptor,
    task: Option<tokio::task::JoinHandle<()>>,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl std::fmt::Debug for MetricsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl MetricsServer {
    /// Serves on `listener` until stopped or dropped.
    pub fn start(listener: tokio::net::TcpListener, config: Config) -> anyhow::Result<Self> {
        skewless_server::tls::install_crypto_provider();
        let verifiers = ClientCertVerifiers::new(None, Some(&config.requestheader_client_ca))
            .context("--requestheader-client-ca-file")?;
        let tls = verifiers.server_config(config.serving_chain, config.serving_key)?;
        let mut server = Self {
            addr: listener
                .local_addr()
                .context("reading the listening address")?,
            shared: Arc::new(Shared {
                api: config.api,
                verifiers,
                allowed_names: config.allowed_names,
                seen: Mutex::default(),
                hang: AtomicBool::new(false),
                fail_discovery: AtomicBool::new(false),
                redirect: AtomicBool::new(false),
            }),
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(tls)),
            task: None,
            conns: Arc::default(),
        };
        server.serve(listener);
        Ok(server)
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let (acceptor, shared, open) = (
            self.acceptor.clone(),
            Arc::clone(&self.shared),
            Arc::clone(&self.conns),
        );
        self.task = Some(tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    // Out of file descriptors, say: try again shortly.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let (acceptor, shared) = (acceptor.clone(), Arc::clone(&shared));
                let handle = tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let chain: Vec<CertificateDer<'static>> = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
                        .unwrap_or_default();
                    let front_proxy = shared.verifiers.classify(&chain).front_proxy;
                    let client = Arc::new(front_proxy);
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (shared, client) = (Arc::clone(&shared), Arc::clone(&client));
                        async move { Ok::<_, Infallible>(answer(&shared, client.as_deref(), req).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection_with_upgrades(TokioIo::new(tls), service)
                        .await;
                });
                let mut conns = open.lock().unwrap_or_else(PoisonError::into_inner);
                conns.retain(|h| !h.is_finished());
                conns.push(handle);
            }
        }));
    }

    /// The users API servers asserted, in order (of answered requests).
    pub fn users(&self) -> Vec<String> {
        self.seen().into_iter().map(|s| s.user).collect()
    }

    /// The requests answered, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// From now on requests get no answer (until [`MetricsServer::unhang`]).
    pub fn hang(&self) {
        self.shared.hang.store(true, Ordering::SeqCst);
    }

    pub fn unhang(&self) {
        self.shared.hang.store(false, Ordering::SeqCst);
    }

    /// While true, discovery (`/apis`, `/apis/metrics.k8s.io/v1beta1`)
    /// answers 500 while the metrics themselves are still served.
    pub fn fail_discovery(&self, fail: bool) {
        self.shared.fail_discovery.store(fail, Ordering::SeqCst);
    }

    /// While true, metrics requests (not discovery) answer a redirect.
    pub fn redirect(&self, redirect: bool) {
        self.shared.redirect.store(redirect, Ordering::SeqCst);
    }

    /// Stops listening and drops every open connection.
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        for h in self
            .conns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            h.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .with_context(|| format!("listening on {} again", self.addr))?;
        self.serve(listener);
        Ok(())
    }
}

/// The Service (port 443 to `port`), its EndpointSlice (127.0.0.1) and the
/// APIService (`caBundle` as given, base64) that register a metrics server
/// listening on `127.0.0.1:<port>`.
pub fn registration(port: u16, ca_bundle: &str) -> [Value; 3] {
    [
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": SERVICE_NAME, "namespace": SERVICE_NAMESPACE},
            "spec": {"ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}]}}),
        json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": format!("{SERVICE_NAME}-1"), "namespace": SERVICE_NAMESPACE,
                "labels": {"kubernetes.io/service-name": SERVICE_NAME}},
            "addressType": "IPv4",
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
            "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": true}}]}),
        json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": {"name": APISERVICE_NAME},
            "spec": {"group": GROUP, "version": VERSION,
                "service": {"namespace": SERVICE_NAMESPACE, "name": SERVICE_NAME, "port": 443},
                "caBundle": ca_bundle, "groupPriorityMinimum": 100, "versionPriority": 100}}),
    ]
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut response = Response::new(full(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response<Body> {
    json_response(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code.as_u16()}),
    )
}

fn not_found(what: &str) -> Response<Body> {
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("{what} not found"),
    )
}

/// A document served with a strong ETag: 304 when the client has it.
fn with_etag(req_etag: Option<&str>, body: &Value) -> Response<Body> {
    let text = body.to_string();
    let etag = format!("\"{:016x}\"", fnv(text.as_bytes()));
    if req_etag == Some(etag.as_str()) {
        let mut r = Response::new(full(Bytes::new()));
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        if let Ok(v) = HeaderValue::from_str(&etag) {
            r.headers_mut().insert(http::header::ETAG, v);
        }
        return r;
    }
    let mut r = json_response(StatusCode::OK, body);
    if let Ok(v) = HeaderValue::from_str(&etag) {
        r.headers_mut().insert(http::header::ETAG, v);
    }
    r
}

/// FNV-1a: a stable hash for ETags.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Synthetic usage, stable per name.
fn usage(name: &str) -> Value {
    let n: u32 = name.bytes().map(u32::from).sum();
    json!({"cpu": format!("{}m", 5 + n % 200), "memory": format!("{}Ki", 10_240 + (n % 64) * 1024)})
}

fn pod_metrics(pod: &Value) -> Value {
    let meta = &pod["metadata"];
    let name = meta["name"].as_str().unwrap_or("");
    let containers: Vec<Value> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            let cname = c["name"].as_str().unwrap_or("");
            json!({"name": cname, "usage": usage(&format!("{name}/{cname}"))})
        })
        .collect();
    json!({"kind": "PodMetrics", "apiVersion": GROUP_VERSION,
        "metadata": {"name": name, "namespace": meta["namespace"],
            "labels": meta.get("labels").cloned().unwrap_or(json!({})),
            "creationTimestamp": meta["creationTimestamp"]},
        "timestamp": meta["creationTimestamp"], "window": "30s", "containers": containers})
}

fn node_metrics(node: &Value) -> Value {
    let name = node
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    json!({"kind": "NodeMetrics", "apiVersion": GROUP_VERSION,
        "metadata": {"name": name, "creationTimestamp": node["metadata"]["creationTimestamp"]},
        "timestamp": node["metadata"]["creationTimestamp"], "window": "30s", "usage": usage(name)})
}

fn items(list: &Value) -> impl Iterator<Item = &Value> {
    list.get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The resources of `metrics.k8s.io/v1beta1` (legacy discovery).
fn resource_list() -> Value {
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GROUP_VERSION,
        "resources": [
            {"name": "nodes", "singularName": "", "namespaced": false, "kind": "NodeMetrics", "verbs": ["get", "list"]},
            {"name": "pods", "singularName": "", "namespaced": true, "kind": "PodMetrics", "verbs": ["get", "list", "watch"]}]})
}

/// `/apis` as aggregated discovery (`apidiscovery.k8s.io/v2`).
fn aggregated_discovery() -> Value {
    let resource = |name: &str, kind: &str, scope: &str, verbs: &[&str]| {
        json!({"resource": name, "responseKind": {"group": "", "version": "", "kind": kind},
            "scope": scope, "singularResource": "", "verbs": verbs})
    };
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": [{"metadata": {"name": GROUP}, "versions": [{"version": VERSION,
            "resources": [
                resource("nodes", "NodeMetrics", "Cluster", &["get", "list"]),
                resource("pods", "PodMetrics", "Namespaced", &["get", "list", "watch"])],
            "freshness": "Current"}]}]})
}

fn group_list() -> Value {
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [{"name": GROUP,
        "versions": [{"groupVersion": GROUP_VERSION, "version": VERSION}],
        "preferredVersion": {"groupVersion": GROUP_VERSION, "version": VERSION}}]})
}

/// The OpenAPI v2 definitions of the two kinds.
fn openapi_definitions() -> Value {
    let usage = json!({"type": "object", "additionalProperties":
        {"$ref": "#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"}});
    // Both kinds: type meta, object meta, `timestamp` and `window`, then
    // their own `readings` field (required).
    let definition = |kind: &str, description: &str, readings: &str, schema: Value| {
        json!({
            "description": description,
            "type": "object",
            "required": ["timestamp", "window", readings],
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                "metadata": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
                "timestamp": {"type": "string", "format": "date-time"},
                "window": {"type": "string"}, readings: schema},
            "x-kubernetes-group-version-kind": [{"group": GROUP, "version": VERSION, "kind": kind}]})
    };
    json!({
        "io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics": definition(
            "NodeMetrics",
            "NodeMetrics sets resource usage metrics of a node.",
            "usage",
            usage.clone(),
        ),
        "io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics": definition(
            "PodMetrics",
            "PodMetrics sets resource usage metrics of a pod.",
            "containers",
            json!({"type": "array", "items": {"type": "object",
                "required": ["name", "usage"],
                "properties": {"name": {"type": "string"}, "usage": usage}}}),
        ),
    })
}

/// The get operations, with the GVK kubectl explain looks for; `v3`
/// writes OpenAPI v3 responses.
fn openapi_paths(v3: bool) -> Value {
    let get = |kind: &str, id: &str| {
        let reference = if v3 {
            format!("#/components/schemas/io.k8s.metrics.pkg.apis.metrics.v1beta1.{kind}")
        } else {
            format!("#/definitions/io.k8s.metrics.pkg.apis.metrics.v1beta1.{kind}")
        };
        let ok = if v3 {
            json!({"description": "OK", "content": {"application/json": {"schema": {"$ref": reference}}}})
        } else {
            json!({"description": "OK", "schema": {"$ref": reference}})
        };
        json!({"get": {"operationId": id, "responses": {"200": ok},
            "x-kubernetes-action": "get",
            "x-kubernetes-group-version-kind": {"group": GROUP, "version": VERSION, "kind": kind}}})
    };
    json!({
        "/apis/metrics.k8s.io/v1beta1/nodes/{name}": get("NodeMetrics", "readMetricsV1beta1NodeMetrics"),
        "/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/{name}": get("PodMetrics", "readMetricsV1beta1NamespacedPodMetrics"),
    })
}

fn openapi_v2() -> Value {
    json!({"swagger": "2.0", "info": {"title": "skewless metrics-server", "version": VERSION},
        "paths": openapi_paths(false), "definitions": openapi_definitions()})
}

fn openapi_v3_document() -> Value {
    // Self-contained: the meta types it refers to in v2 are inlined.
    let text = openapi_definitions()
        .to_string()
        .replace(
            r##"{"$ref":"#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}"##,
            r#"{"type":"object"}"#,
        )
        .replace(
            r##"{"$ref":"#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"}"##,
            r#"{"type":"string"}"#,
        );
    let schemas: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    json!({"openapi": "3.0.0", "info": {"title": "skewless metrics-server", "version": VERSION},
        "paths": openapi_paths(true), "components": {"schemas": schemas}})
}

fn openapi_v3_index() -> Value {
    let hash = format!("{:016X}", fnv(openapi_v3_document().to_string().as_bytes()));
    json!({"paths": {format!("apis/{GROUP_VERSION}"): {
        "serverRelativeURL": format!("/openapi/v3/apis/{GROUP_VERSION}?hash={hash}")}}})
}

/// Whether the request asks for aggregated discovery.
fn wants_aggregated(req: &Request<Incoming>) -> bool {
    req.headers()
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next()
        .is_some_and(|first| first.contains("as=APIGroupDiscoveryList"))
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

async fn answer(shared: &Shared, client: Option<&str>, req: Request<Incoming>) -> Response<Body> {
    // Only an allowed front proxy may assert a user.
    let allowed = client.is_some_and(|cn| {
        shared.allowed_names.is_empty() || shared.allowed_names.iter().any(|n| n == cn)
    });
    if !allowed {
        tracing::info!(client = ?client, path = %req.uri().path(), "refused: no allowed request-header client certificate");
        return status(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Unauthorized: a client certificate of the request-header CA with an allowed name is required",
        );
    }
    let header = |name: &str| -> Vec<String> {
        req.headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    };
    let Some(user) = header("x-remote-user").into_iter().next() else {
        return status(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Unauthorized: no X-Remote-User",
        );
    };
    let groups = header("x-remote-group");
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let response = respond(shared, &user, req).await;
    let status = response.status().as_u16();
    tracing::info!(user = %user, groups = %groups.join(","), %method, %path, status, "request");
    shared
        .seen
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Seen { user, path, status });
    response
}

/// The answer to an authenticated request.
async fn respond(shared: &Shared, user: &str, req: Request<Incoming>) -> Response<Body> {
    while shared.hang.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let path = req.uri().path().trim_end_matches('/').to_owned();
    if path.starts_with(&format!("/apis/{GROUP_VERSION}/")) && path.ends_with("/echo") {
        return echo(req, user);
    }
    let query = req.uri().query().unwrap_or("").to_owned();
    let etag = req
        .headers()
        .get(http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let discovery_failing = shared.fail_discovery.load(Ordering::SeqCst);
    let broken = || {
        status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "discovery is failing on purpose",
        )
    };
    match path.as_str() {
        "/apis" if discovery_failing => return broken(),
        "/apis" if wants_aggregated(&req) => {
            let mut r = with_etag(etag.as_deref(), &aggregated_discovery());
            r.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                ),
            );
            return r;
        }
        "/apis" => return json_response(StatusCode::OK, &group_list()),
        "/openapi/v2" => return with_etag(etag.as_deref(), &openapi_v2()),
        "/openapi/v3" => return json_response(StatusCode::OK, &openapi_v3_index()),
        p if p == format!("/openapi/v3/apis/{GROUP_VERSION}") => {
            return with_etag(etag.as_deref(), &openapi_v3_document());
        }
        _ => {}
    }
    let Some(rest) = path.strip_prefix(&format!("/apis/{GROUP_VERSION}")) else {
        return not_found(&path);
    };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    if shared.redirect.load(Ordering::SeqCst) && !segments.is_empty() {
        let mut r = Response::new(full(Bytes::new()));
        *r.status_mut() = StatusCode::FOUND;
        r.headers_mut().insert(
            http::header::LOCATION,
            HeaderValue::from_static("https://127.0.0.1:1/elsewhere"),
        );
        return r;
    }
    let watch = matches!(query_param(&query, "watch"), Some("true" | "1"));
    let selector = query_param(&query, "labelSelector")
        .map(|s| format!("?labelSelector={s}"))
        .unwrap_or_default();
    let list = |kind: &str, items: Vec<Value>| {
        json_response(
            StatusCode::OK,
            &json!({"kind": kind, "apiVersion": GROUP_VERSION, "metadata": {}, "items": items}),
        )
    };
    match segments.as_slice() {
        [] if discovery_failing => broken(),
        [] => json_response(StatusCode::OK, &resource_list()),
        ["pods"] | ["namespaces", _, "pods"] => {
            let pods_path = match segments.as_slice() {
                ["namespaces", ns, "pods"] => format!("/api/v1/namespaces/{ns}/pods{selector}"),
                _ => format!("/api/v1/pods{selector}"),
            };
            if watch {
                let timeout = query_param(&query, "timeoutSeconds")
                    .and_then(|s| s.parse::<u64>().ok())
                    .map_or(WATCH_DEFAULT_TIMEOUT, Duration::from_secs);
                return watch_pods(shared.api.clone(), pods_path, timeout);
            }
            match read(&shared.api, &pods_path).await {
                Ok(pods) => list("PodMetricsList", items(&pods).map(pod_metrics).collect()),
                Err(r) => r,
            }
        }
        ["namespaces", ns, "pods", name] => {
            match read(&shared.api, &format!("/api/v1/namespaces/{ns}/pods/{name}")).await {
                Ok(pod) if pod["kind"] == "Pod" => {
                    json_response(StatusCode::OK, &pod_metrics(&pod))
                }
                Ok(_) => not_found(&format!("podmetrics.metrics.k8s.io \"{name}\"")),
                Err(r) => r,
            }
        }
        ["nodes"] => match read(&shared.api, &format!("/api/v1/nodes{selector}")).await {
            Ok(nodes) => list("NodeMetricsList", items(&nodes).map(node_metrics).collect()),
            Err(r) => r,
        },
        ["nodes", name] => match read(&shared.api, &format!("/api/v1/nodes/{name}")).await {
            Ok(node) if node["kind"] == "Node" => {
                json_response(StatusCode::OK, &node_metrics(&node))
            }
            Ok(_) => not_found(&format!("nodemetrics.metrics.k8s.io \"{name}\"")),
            Err(r) => r,
        },
        _ => not_found(&path),
    }
}

/// An upgrade to one of [`ECHO_PROTOCOLS`]: `101`, then `user=<user>\n`
/// and every byte read written back, until the client closes or is idle
/// for [`ECHO_IDLE`]. Anything else is a 400 Status.
fn echo(mut req: Request<Incoming>, user: &str) -> Response<Body> {
    let asks = req
        .headers()
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    let protocol = req
        .headers()
        .get(http::header::UPGRADE)
        .filter(|p| {
            p.to_str()
                .is_ok_and(|p| ECHO_PROTOCOLS.iter().any(|k| k.eq_ignore_ascii_case(p)))
        })
        .cloned();
    let Some(protocol) = protocol.filter(|_| asks) else {
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "echo needs Connection: Upgrade and Upgrade: websocket, SPDY/3.1 or skewless-echo",
        );
    };
    let on = hyper::upgrade::on(&mut req);
    let greeting = format!("user={user}\n");
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let Ok(upgraded) = on.await else {
            return;
        };
        let mut io = TokioIo::new(upgraded);
        if io.write_all(greeting.as_bytes()).await.is_err() {
            return;
        }
        let mut buf = [0u8; 4096];
        while let Ok(Ok(n)) = tokio::time::timeout(ECHO_IDLE, io.read(&mut buf)).await {
            if n == 0 || io.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = io.shutdown().await;
    });
    let mut r = Response::new(full(Bytes::new()));
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    r.headers_mut().insert(
        http::header::CONNECTION,
        HeaderValue::from_static("Upgrade"),
    );
    r.headers_mut().insert(http::header::UPGRADE, protocol);
    r
}

/// A JSON document from the API server; an unreachable one is a 503 Status.
async fn read(api: &Client, path: &str) -> Result<Value, Response<Body>> {
    let unavailable = |e: String| {
        status(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            &format!("reading {path} from the API server: {e}"),
        )
    };
    let r = api
        .get(path, API_TIMEOUT)
        .await
        .map_err(|e| unavailable(format!("{e:#}")))?;
    r.json().map_err(|e| unavailable(format!("{e:#}")))
}

/// A watch of pod metrics: `ADDED` for each pod at first and for each pod
/// created later, `DELETED` for each that goes, until `timeout` or the
/// client leaves. The pods are re-read every [`WATCH_PERIOD`].
fn watch_pods(api: Client, pods_path: String, timeout: Duration) -> Response<Body> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut known: BTreeMap<String, Value> = BTreeMap::new();
        while tokio::time::Instant::now() < deadline {
            if let Ok(Ok(pods)) = api.get(&pods_path, API_TIMEOUT).await.map(|r| r.json()) {
                let now: BTreeMap<String, Value> = items(&pods)
                    .map(|p| {
                        let key = format!(
                            "{}/{}",
                            p["metadata"]["namespace"].as_str().unwrap_or(""),
                            p["metadata"]["name"].as_str().unwrap_or("")
                        );
                        (key, pod_metrics(p))
                    })
                    .collect();
                let mut events = Vec::new();
                for (k, m) in &now {
                    if !known.contains_key(k) {
                        events.push(json!({"type": "ADDED", "object": m}));
                    }
                }
                for (k, m) in &known {
                    if !now.contains_key(k) {
                        events.push(json!({"type": "DELETED", "object": m}));
                    }
                }
                for e in events {
                    let line = format!("{e}\n");
                    if tx.send(Bytes::from(line)).await.is_err() {
                        return;
                    }
                }
                known = now;
            }
            tokio::select! {
                () = tokio::time::sleep(WATCH_PERIOD) => {}
                () = tx.closed() => return,
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    let mut response = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_stable_per_name() {
        assert_eq!(usage("web/main"), usage("web/main"));
        assert!(usage("a")["cpu"].as_str().is_some_and(|c| c.ends_with('m')));
    }

    #[test]
    fn query_params_are_found() {
        assert_eq!(query_param("watch=true&x=1", "watch"), Some("true"));
        assert_eq!(query_param("watch", "watch"), Some(""));
        assert_eq!(query_param("x=1", "watch"), None);
    }

    #[test]
    fn the_openapi_v3_document_is_self_contained() {
        let doc = openapi_v3_document().to_string();
        assert!(!doc.contains("#/definitions/"), "{doc}");
        assert!(!doc.contains("apimachinery"), "{doc}");
        assert!(doc.contains("PodMetrics"));
    }

    #[test]
    fn the_openapi_v3_index_names_the_group_version() {
        let index = openapi_v3_index();
        assert!(
            index["paths"]["apis/metrics.k8s.io/v1beta1"]["serverRelativeURL"]
                .as_str()
                .is_some_and(|u| u.contains("hash="))
        );
    }
}

//! A sample extension API server for tests: `metrics.k8s.io/v1beta1`
//! `PodMetrics` and `NodeMetrics` (list and get) with synthetic usage for
//! the pods and nodes the API server has (read through it as admin), its
//! own discovery, HTTPS with its own CA (the APIService's `caBundle`), and
//! only clients presenting a certificate of the front-proxy CA. It records
//! the users the API server forwarded (`X-Remote-User`), can hang (never
//! answer) and be stopped (connections refused) and restarted on the same
//! port.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use skewless_server::tls::Ca;

use crate::{Client, Identity, Pki};

/// The Service the APIService names: `metrics-server` in `kube-system`.
pub const SERVICE_NAMESPACE: &str = "kube-system";
pub const SERVICE_NAME: &str = "metrics-server";

const GROUP_VERSION: &str = "metrics.k8s.io/v1beta1";

/// What the handlers share.
struct Shared {
    api: Client,
    users: Mutex<Vec<String>>,
    hang: AtomicBool,
}

/// A running sample metrics server.
pub struct MetricsServer {
    pub addr: SocketAddr,
    ca_pem: String,
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
    /// Starts it on `127.0.0.1`, on a free port; it reads pods and nodes
    /// from the API server at `api_url`.
    pub async fn start(pki: &Pki, api_url: &str) -> Self {
        let ca = Ca::generate("metrics-server-ca").unwrap();
        let issued = ca
            .issue_server(&[
                "127.0.0.1".into(),
                format!("{SERVICE_NAME}.{SERVICE_NAMESPACE}.svc"),
            ])
            .unwrap();
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(issued.cert_pem.as_bytes())
                .map(|c| c.unwrap())
                .collect();
        let key = PrivateKeyDer::from_pem_slice(issued.key_pem.as_bytes()).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(&pki.front_proxy_ca).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
            .build()
            .unwrap();
        let mut config = rustls::ServerConfig::builder()
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut server = Self {
            addr: listener.local_addr().unwrap(),
            ca_pem: ca.cert_pem().to_owned(),
            shared: Arc::new(Shared {
                api: Client::new(api_url, pki, Identity::Admin),
                users: Mutex::default(),
                hang: AtomicBool::new(false),
            }),
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            task: None,
            conns: Arc::default(),
        };
        server.serve(listener);
        server
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
                    return;
                };
                let (acceptor, shared) = (acceptor.clone(), Arc::clone(&shared));
                let handle = tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let shared = Arc::clone(&shared);
                        async move { Ok::<_, hyper::Error>(answer(&shared, &req).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
                let mut conns = open.lock().unwrap();
                conns.retain(|h| !h.is_finished());
                conns.push(handle);
            }
        }));
    }

    /// The APIService's `caBundle`: base64 of the server's CA certificate.
    pub fn ca_bundle(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.ca_pem.as_bytes())
    }

    /// The users the API server forwarded, in order.
    pub fn users(&self) -> Vec<String> {
        self.shared.users.lock().unwrap().clone()
    }

    /// From now on requests get no answer (until [`MetricsServer::unhang`]).
    pub fn hang(&self) {
        self.shared.hang.store(true, Ordering::SeqCst);
    }

    pub fn unhang(&self) {
        self.shared.hang.store(false, Ordering::SeqCst);
    }

    /// Stops listening and drops every open connection.
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        for h in self.conns.lock().unwrap().drain(..) {
            h.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        self.stop();
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    /// The Service, EndpointSlice and APIService that register it (the
    /// APIService with `ca_bundle`), as one `kubectl apply` document.
    pub fn registration(&self, ca_bundle: &str) -> String {
        let port = self.addr.port();
        let docs = [
            json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": SERVICE_NAME, "namespace": SERVICE_NAMESPACE},
                "spec": {"ports": [{"name": "https", "port": 443, "targetPort": port}]}}),
            json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": format!("{SERVICE_NAME}-1"), "namespace": SERVICE_NAMESPACE,
                    "labels": {"kubernetes.io/service-name": SERVICE_NAME}},
                "addressType": "IPv4",
                "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
                "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": true}}]}),
            json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                "metadata": {"name": "v1beta1.metrics.k8s.io"},
                "spec": {"group": "metrics.k8s.io", "version": "v1beta1",
                    "service": {"namespace": SERVICE_NAMESPACE, "name": SERVICE_NAME, "port": 443},
                    "caBundle": ca_bundle, "groupPriorityMinimum": 100, "versionPriority": 100}}),
        ];
        docs.iter()
            .map(|d| serde_json::to_string(d).unwrap())
            .collect::<Vec<_>>()
            .join("\n---\n")
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(body).unwrap())))
        .unwrap()
}

fn not_found(what: &str) -> Response<Full<Bytes>> {
    json_response(
        StatusCode::NOT_FOUND,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": format!("{what} not found"), "reason": "NotFound", "code": 404}),
    )
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
    json!({"metadata": {"name": name, "namespace": meta["namespace"],
            "labels": meta.get("labels").cloned().unwrap_or(json!({})),
            "creationTimestamp": meta["creationTimestamp"]},
        "timestamp": meta["creationTimestamp"], "window": "30s", "containers": containers})
}

fn node_metrics(node: &Value) -> Value {
    let name = node
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    json!({"metadata": {"name": name, "creationTimestamp": node["metadata"]["creationTimestamp"]},
        "timestamp": node["metadata"]["creationTimestamp"], "window": "30s", "usage": usage(name)})
}

async fn answer(shared: &Shared, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    if let Some(user) = req
        .headers()
        .get("x-remote-user")
        .and_then(|v| v.to_str().ok())
    {
        shared.users.lock().unwrap().push(user.to_owned());
    }
    while shared.hang.load(Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let path = req.uri().path().trim_end_matches('/');
    let query = req
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let Some(rest) = path.strip_prefix(&format!("/apis/{GROUP_VERSION}")) else {
        return not_found(path);
    };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let list = |kind: &str, items: Vec<Value>| {
        json_response(
            StatusCode::OK,
            &json!({"kind": kind, "apiVersion": GROUP_VERSION, "metadata": {}, "items": items}),
        )
    };
    let one = |kind: &str, mut item: Value| {
        item["kind"] = json!(kind);
        item["apiVersion"] = json!(GROUP_VERSION);
        json_response(StatusCode::OK, &item)
    };
    let fetch = |path: String| async move {
        let r = shared.api.get(&path).await;
        r.json()
    };
    match segments.as_slice() {
        [] => json_response(
            StatusCode::OK,
            &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GROUP_VERSION,
                "resources": [
                    {"name": "nodes", "singularName": "", "namespaced": false, "kind": "NodeMetrics", "verbs": ["get", "list"]},
                    {"name": "pods", "singularName": "", "namespaced": true, "kind": "PodMetrics", "verbs": ["get", "list"]}]}),
        ),
        ["pods"] => {
            let pods = fetch(format!("/api/v1/pods{query}")).await;
            list("PodMetricsList", items(&pods).map(pod_metrics).collect())
        }
        ["namespaces", ns, "pods"] => {
            let pods = fetch(format!("/api/v1/namespaces/{ns}/pods{query}")).await;
            list("PodMetricsList", items(&pods).map(pod_metrics).collect())
        }
        ["namespaces", ns, "pods", name] => {
            let pod = fetch(format!("/api/v1/namespaces/{ns}/pods/{name}")).await;
            if pod["kind"] == "Pod" {
                one("PodMetrics", pod_metrics(&pod))
            } else {
                not_found(&format!("podmetrics.metrics.k8s.io \"{name}\""))
            }
        }
        ["nodes"] => {
            let nodes = fetch(format!("/api/v1/nodes{query}")).await;
            list("NodeMetricsList", items(&nodes).map(node_metrics).collect())
        }
        ["nodes", name] => {
            let node = fetch(format!("/api/v1/nodes/{name}")).await;
            if node["kind"] == "Node" {
                one("NodeMetrics", node_metrics(&node))
            } else {
                not_found(&format!("nodemetrics.metrics.k8s.io \"{name}\""))
            }
        }
        _ => not_found(path),
    }
}

fn items(list: &Value) -> impl Iterator<Item = &Value> {
    list.get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

//! A sample CRD conversion webhook for tests: HTTPS with its own CA (the
//! CRD's `caBundle`), answering `ConversionReview`s for a `Widget` whose
//! `v1` has `spec.size` and whose `v2` has `spec.dimensions.size`. It counts
//! the reviews and the objects of the last one, and can be stopped (then
//! connections are refused) to test a webhook that is down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Map, Value, json};
use skewless_server::tls::Ca;

/// The DNS name its certificate carries besides `127.0.0.1`: the name of
/// a Service `widget-conversion` in `default`.
pub const SERVICE_NAME: &str = "widget-conversion.default.svc";

/// A running sample webhook.
pub struct ConversionWebhook {
    pub addr: SocketAddr,
    ca_pem: String,
    reviews: Arc<AtomicUsize>,
    last_batch: Arc<AtomicUsize>,
    task: Option<tokio::task::JoinHandle<()>>,
    conns: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl std::fmt::Debug for ConversionWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConversionWebhook")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for ConversionWebhook {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The widget conversion: `v1` `spec.size` ↔ `v2` `spec.dimensions.size`.
pub fn convert_widget(obj: &Value, desired: &str) -> Value {
    let mut out = obj.clone();
    let from = obj["apiVersion"].as_str().unwrap_or("");
    if from != desired
        && let Some(Value::Object(spec)) = out.get_mut("spec")
    {
        if desired.ends_with("/v2") {
            if let Some(size) = spec.remove("size") {
                spec.insert("dimensions".into(), json!({"size": size}));
            }
        } else if let Some(size) = spec
            .remove("dimensions")
            .and_then(|d| d.get("size").cloned())
        {
            spec.insert("size".into(), size);
        }
    }
    out["apiVersion"] = json!(desired);
    out
}

impl ConversionWebhook {
    /// Starts the webhook on `127.0.0.1`, on a free port.
    pub async fn start() -> Self {
        let ca = Ca::generate("widget-conversion-ca").unwrap();
        let issued = ca
            .issue_server(&["127.0.0.1".into(), SERVICE_NAME.into()])
            .unwrap();
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(issued.cert_pem.as_bytes())
                .map(|c| c.unwrap())
                .collect();
        let key = PrivateKeyDer::from_pem_slice(issued.key_pem.as_bytes()).unwrap();
        let mut config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reviews = Arc::new(AtomicUsize::new(0));
        let last_batch = Arc::new(AtomicUsize::new(0));
        let conns: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (counter, batch, open) = (
            Arc::clone(&reviews),
            Arc::clone(&last_batch),
            Arc::clone(&conns),
        );
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let (counter, batch) = (Arc::clone(&counter), Arc::clone(&batch));
                let handle = tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (counter, batch) = (Arc::clone(&counter), Arc::clone(&batch));
                        async move {
                            let body = req.into_body().collect().await?.to_bytes();
                            let review: Value =
                                serde_json::from_slice(&body).unwrap_or(Value::Null);
                            let objects = review
                                .pointer("/request/objects")
                                .and_then(Value::as_array)
                                .map_or(0, Vec::len);
                            batch.store(objects, Ordering::SeqCst);
                            counter.fetch_add(1, Ordering::SeqCst);
                            let answer = skewless_apimachinery::crd::review_response(
                                &review,
                                convert_widget,
                            );
                            Ok::<_, hyper::Error>(
                                Response::builder()
                                    .header("content-type", "application/json")
                                    .body(Full::new(Bytes::from(
                                        serde_json::to_vec(&answer).unwrap(),
                                    )))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
                let mut conns = open.lock().unwrap();
                conns.retain(|h| !h.is_finished());
                conns.push(handle);
            }
        });
        Self {
            addr,
            ca_pem: ca.cert_pem().to_owned(),
            reviews,
            last_batch,
            task: Some(task),
            conns,
        }
    }

    /// `clientConfig.caBundle`: base64 of the webhook's CA certificate.
    pub fn ca_bundle(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.ca_pem.as_bytes())
    }

    /// `clientConfig` with a `url`.
    pub fn url_client_config(&self) -> Value {
        json!({"url": format!("https://{}/convert", self.addr), "caBundle": self.ca_bundle()})
    }

    /// How many reviews it answered.
    pub fn reviews(&self) -> usize {
        self.reviews.load(Ordering::SeqCst)
    }

    /// How many objects the last review held.
    pub fn last_batch(&self) -> usize {
        self.last_batch.load(Ordering::SeqCst)
    }

    /// Stops listening and drops every open connection: from now on
    /// connections are refused.
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        for h in self.conns.lock().unwrap().drain(..) {
            h.abort();
        }
    }
}

/// A CRD `widgets.example.com` with `v1` (storage, `spec.size`) and `v2`
/// (`spec.dimensions.size`), converted by the webhook at `client_config`.
pub fn widget_crd(client_config: Value) -> Value {
    let mut v1_spec = Map::new();
    v1_spec.insert("size".into(), json!({"type": "integer"}));
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
      "metadata": {"name": "widgets.example.com"},
      "spec": {"group": "example.com", "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "conversion": {"strategy": "Webhook", "webhook": {
            "conversionReviewVersions": ["v1"], "clientConfig": client_config}},
        "versions": [
          {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object",
            "properties": {"spec": {"type": "object", "properties": v1_spec}}}}},
          {"name": "v2", "served": true, "storage": false, "schema": {"openAPIV3Schema": {"type": "object",
            "properties": {"spec": {"type": "object", "properties": {"dimensions": {"type": "object",
              "properties": {"size": {"type": "integer"}}}}}}}}}]}})
}

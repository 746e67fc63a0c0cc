//! A fake peer API server for failure tests: it answers discovery like a
//! real server that serves `batch/v1 jobs`, and misbehaves on resource
//! requests in a chosen way (never answers, redirects, or echoes the
//! headers it received). It can also switch to a serving certificate no CA
//! signed, dropping its connections, to test that a peer's certificate is
//! always verified.
//!
//! The identity lease and endpoint that make real servers treat it as a
//! peer are written by the test (see [`FakePeer::register`]).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;
use skewless_server::tls::Ca;
use skewless_store::{Store, WriteOptions};

use crate::pki::Pki;

/// How a fake peer answers resource requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Accepts the request and never answers.
    Hang,
    /// Answers `302 Found` with a `Location`.
    Redirect,
    /// Answers 200 with the request's headers as JSON.
    EchoHeaders,
    /// Answers 404 as a server that no longer serves the resource would
    /// (its discovery, as others last saw it, is stale).
    NotFound,
    /// Answers as a server of this build that no longer serves the
    /// resource does: a 503 with `x-skewless-not-served-here`.
    NotServedHere,
}

/// A running fake peer.
pub struct FakePeer {
    pub addr: SocketAddr,
    untrusted: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FakePeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakePeer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for FakePeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn tls_config(cert_pem: &str, key_pem: &str) -> Arc<rustls::ServerConfig> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .map(|c| c.unwrap())
        .collect();
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

fn discovery(path: &str) -> serde_json::Value {
    let items = if path == "/api" {
        json!([{"metadata": {}, "versions": [{"version": "v1", "resources": [], "freshness": "Current"}]}])
    } else {
        json!([{"metadata": {"name": "batch"}, "versions": [{"version": "v1", "resources": [{
            "resource": "jobs",
            "responseKind": {"group": "batch", "version": "v1", "kind": "Job"},
            "scope": "Namespaced",
            "singularResource": "job",
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        }], "freshness": "Current"}]}])
    };
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

impl FakePeer {
    /// Starts a fake peer with a serving certificate from the cluster CA.
    pub async fn start(pki: &Pki, behaviour: Behaviour) -> Self {
        let good = pki
            .cluster_ca
            .issue_server(&["kubernetes.default.svc".into(), "127.0.0.1".into()])
            .unwrap();
        let stranger = Ca::generate("not-the-peer-ca")
            .unwrap()
            .issue_server(&["kubernetes.default.svc".into(), "127.0.0.1".into()])
            .unwrap();
        let good = tls_config(&good.cert_pem, &good.key_pem);
        let bad = tls_config(&stranger.cert_pem, &stranger.key_pem);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let untrusted = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&untrusted);
        let conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let open = Arc::clone(&conns);
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let config = if flag.load(Ordering::Acquire) {
                    Arc::clone(&bad)
                } else {
                    Arc::clone(&good)
                };
                let handle = tokio::spawn(async move {
                    let Ok(tls) = tokio_rustls::TlsAcceptor::from(config).accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(
                        move |req: Request<Incoming>| async move {
                            let path = req.uri().path().to_owned();
                            if path == "/api" || path == "/apis" {
                                let body = serde_json::to_vec(&discovery(&path)).unwrap();
                                return Ok::<_, std::convert::Infallible>(
                                    Response::builder()
                                        .header("content-type", "application/json")
                                        .body(Full::new(Bytes::from(body)))
                                        .unwrap(),
                                );
                            }
                            match behaviour {
                                Behaviour::Hang => {
                                    std::future::pending::<()>().await;
                                    unreachable!()
                                }
                                Behaviour::NotFound => Ok(Response::builder()
                                .status(404)
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from_static(
                                    br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","details":{},"code":404}"#,
                                )))
                                .unwrap()),
                                Behaviour::NotServedHere => Ok(Response::builder()
                                .status(503)
                                .header("content-type", "application/json")
                                .header("x-skewless-not-served-here", "true")
                                .body(Full::new(Bytes::from_static(
                                    br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"not served here","reason":"ServiceUnavailable","details":{},"code":503}"#,
                                )))
                                .unwrap()),
                            Behaviour::Redirect => Ok(Response::builder()
                                    .status(302)
                                    .header("location", "https://example.invalid/elsewhere")
                                    .body(Full::new(Bytes::from_static(b"moved")))
                                    .unwrap()),
                                Behaviour::EchoHeaders => {
                                    let headers: serde_json::Map<String, serde_json::Value> = req
                                        .headers()
                                        .iter()
                                        .map(|(k, v)| {
                                            (k.to_string(), json!(v.to_str().unwrap_or("")))
                                        })
                                        .collect();
                                    Ok(Response::builder()
                                        .header("content-type", "application/json")
                                        .body(Full::new(Bytes::from(
                                            serde_json::to_vec(&headers).unwrap(),
                                        )))
                                        .unwrap())
                                }
                            }
                        },
                    );
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
            untrusted,
            conns,
            task,
        }
    }

    /// From now on, connections get a certificate no trusted CA signed;
    /// the open ones are dropped so clients must handshake again.
    pub fn use_untrusted_certificate(&self) {
        self.untrusted.store(true, Ordering::Release);
        for h in self.conns.lock().unwrap().drain(..) {
            h.abort();
        }
    }

    /// Makes servers sharing `store` see this fake as peer `id`: an identity
    /// lease and an endpoint, written straight to storage.
    pub async fn register(&self, store: &dyn Store, id: &str) {
        let lease = json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": id, "namespace": "kube-system", "uid": id,
                         "labels": {"apiserver.kubernetes.io/identity": "kube-apiserver"}},
            "spec": {"holderIdentity": format!("{id}_1"), "leaseDurationSeconds": 3600,
                     "renewTime": "2099-01-01T00:00:00.000000Z"},
        });
        store
            .create(
                &format!("/coordination.k8s.io/leases/kube-system/{id}"),
                serde_json::to_vec(&lease).unwrap(),
                WriteOptions::default(),
            )
            .await
            .unwrap();
        let endpoint = json!({"apiserverIdentity": id, "address": self.addr.to_string()});
        store
            .create(
                &format!("peerendpoints/{id}"),
                serde_json::to_vec(&endpoint).unwrap(),
                WriteOptions::default(),
            )
            .await
            .unwrap();
    }
}

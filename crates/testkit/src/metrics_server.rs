//! The sample extension API server for tests (`skewless_local::metrics_server`,
//! the code `skewless metrics-server` runs) started in the test process: its
//! own CA (the APIService's `caBundle`), a serving certificate for
//! `127.0.0.1` and `metrics-server.kube-system.svc`, the test PKI's
//! front-proxy CA for clients, and pods and nodes read as admin. It records
//! the users the API server forwarded, can hang, fail its discovery, stop
//! and restart on the same port.

use std::net::SocketAddr;

use base64::Engine as _;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use skewless_local::metrics_server::{self, Config};
use skewless_local::{Credentials, Protocol};
use skewless_server::tls::Ca;

use crate::Pki;

pub use skewless_local::metrics_server::{SERVICE_NAME, SERVICE_NAMESPACE};

/// A running sample metrics server.
#[derive(Debug)]
pub struct MetricsServer {
    pub addr: SocketAddr,
    ca_pem: String,
    server: metrics_server::MetricsServer,
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
        let serving_chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(issued.cert_pem.as_bytes())
                .map(|c| c.unwrap())
                .collect();
        let serving_key = PrivateKeyDer::from_pem_slice(issued.key_pem.as_bytes()).unwrap();
        let api = Credentials::admin(pki)
            .unwrap()
            .endpoint(api_url, Protocol::H2)
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = metrics_server::MetricsServer::start(
            listener,
            Config {
                serving_chain,
                serving_key,
                requestheader_client_ca: pki.front_proxy_ca.clone(),
                allowed_names: Vec::new(),
                api: skewless_local::Client::new(api),
            },
        )
        .unwrap();
        Self {
            addr: server.addr,
            ca_pem: ca.cert_pem().to_owned(),
            server,
        }
    }

    /// The APIService's `caBundle`: base64 of the server's CA certificate.
    pub fn ca_bundle(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.ca_pem.as_bytes())
    }

    /// The users the API server forwarded, in order.
    pub fn users(&self) -> Vec<String> {
        self.server.users()
    }

    /// The requests answered (user, path, status), in order.
    pub fn seen(&self) -> Vec<metrics_server::Seen> {
        self.server.seen()
    }

    /// From now on requests get no answer (until [`MetricsServer::unhang`]).
    pub fn hang(&self) {
        self.server.hang();
    }

    pub fn unhang(&self) {
        self.server.unhang();
    }

    /// Discovery answers 500 (metrics are still served) while `fail`.
    pub fn fail_discovery(&self, fail: bool) {
        self.server.fail_discovery(fail);
    }

    /// Metrics requests (not discovery) answer a redirect while `on`.
    pub fn redirect(&self, on: bool) {
        self.server.redirect(on);
    }

    /// Stops listening and drops every open connection.
    pub fn stop(&mut self) {
        self.server.stop();
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        self.server.restart().await.unwrap();
    }

    /// The Service, EndpointSlice and APIService that register it (the
    /// APIService with `ca_bundle`), as one `kubectl apply` document.
    pub fn registration(&self, ca_bundle: &str) -> String {
        metrics_server::registration(self.addr.port(), ca_bundle)
            .iter()
            .map(|d| serde_json::to_string(d).unwrap())
            .collect::<Vec<_>>()
            .join("\n---\n")
    }
}

//! Reaching a server behind a Service, as CRD conversion webhooks and
//! aggregated APIServices both do: a ready endpoint of the Service's port
//! from its EndpointSlices (else its Endpoints) in storage, and pooled
//! HTTPS transports verified against a `caBundle` for `<name>.<ns>.svc`,
//! with or without the front-proxy client certificate.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;
use skewless_apimachinery::crd::ServiceReference;
use skewless_peerproxy::transport::Transport;
use skewless_store::Store;

use crate::storage;

/// A client certificate chain and its key (`--proxy-client-cert-file`).
pub(crate) struct ClientIdentity {
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity").finish_non_exhaustive()
    }
}

/// The certificates of a base64 `caBundle`.
pub(crate) fn ca_roots(ca_bundle: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    use base64::Engine as _;
    let pem = base64::engine::general_purpose::STANDARD
        .decode(ca_bundle.trim())
        .map_err(|e| format!("caBundle is not base64: {e}"))?;
    let roots: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("caBundle holds no valid PEM certificates: {e}"))?;
    if roots.is_empty() {
        return Err("caBundle holds no certificates".to_owned());
    }
    Ok(roots)
}

pub(crate) async fn get_json(store: &dyn Store, key: &str) -> Result<Option<Value>, String> {
    let kv = store.get(key).await.map_err(|e| e.to_string())?;
    Ok(kv.and_then(|kv| serde_json::from_slice(&kv.value).ok()))
}

/// A ready endpoint of the Service port `service.port`, chosen at random
/// among all of them (load spreads; a dead one is not always the pick):
/// from the Service's EndpointSlices (the port of the same name), else its
/// Endpoints.
pub(crate) async fn resolve_service(
    store: &dyn Store,
    service: &ServiceReference,
) -> Result<String, String> {
    let (ns, name) = (&service.namespace, &service.name);
    let svc = get_json(store, &storage::object_key("", "services", ns, name))
        .await?
        .ok_or_else(|| format!("service \"{name}\" not found in namespace \"{ns}\""))?;
    let port = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .and_then(|ports| {
            ports
                .iter()
                .find(|p| p.get("port").and_then(Value::as_u64) == Some(u64::from(service.port)))
        })
        .ok_or_else(|| format!("service {ns}/{name} has no port {}", service.port))?;
    let port_name = port.get("name").and_then(Value::as_str).unwrap_or("");
    let join = |ip: &str, p: u64| {
        if ip.contains(':') {
            format!("[{ip}]:{p}")
        } else {
            format!("{ip}:{p}")
        }
    };
    let slices = store
        .list(
            &storage::object_key("discovery.k8s.io", "endpointslices", ns, ""),
            skewless_store::ListOptions::default(),
        )
        .await
        .map_err(|e| e.to_string())?;
    let mut ready = Vec::new();
    for kv in &slices.items {
        let Ok(slice) = serde_json::from_slice::<Value>(&kv.value) else {
            continue;
        };
        if slice
            .pointer("/metadata/labels/kubernetes.io~1service-name")
            .and_then(Value::as_str)
            != Some(name)
        {
            continue;
        }
        let Some(p) = slice
            .get("ports")
            .and_then(Value::as_array)
            .and_then(|ps| {
                ps.iter()
                    .find(|p| p.get("name").and_then(Value::as_str).unwrap_or("") == port_name)
            })
            .and_then(|p| p.get("port").and_then(Value::as_u64))
        else {
            continue;
        };
        ready.extend(
            slice
                .get("endpoints")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|e| e.pointer("/conditions/ready").and_then(Value::as_bool) != Some(false))
                .filter_map(|e| e.pointer("/addresses/0").and_then(Value::as_str))
                .map(|ip| join(ip, p)),
        );
    }
    if let Some(pick) = pick_one(&mut ready) {
        return Ok(pick);
    }
    if let Some(endpoints) =
        get_json(store, &storage::object_key("", "endpoints", ns, name)).await?
    {
        for subset in endpoints
            .get("subsets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let p = subset
                .get("ports")
                .and_then(Value::as_array)
                .and_then(|ps| {
                    ps.iter()
                        .find(|p| p.get("name").and_then(Value::as_str).unwrap_or("") == port_name)
                })
                .and_then(|p| p.get("port").and_then(Value::as_u64));
            let Some(p) = p else { continue };
            ready.extend(
                subset
                    .get("addresses")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.get("ip").and_then(Value::as_str))
                    .map(|ip| join(ip, p)),
            );
        }
    }
    if let Some(pick) = pick_one(&mut ready) {
        return Ok(pick);
    }
    Err(format!(
        "service {ns}/{name} has no ready endpoint for port {}",
        service.port
    ))
}

/// One of `candidates` at random.
fn pick_one(candidates: &mut Vec<String>) -> Option<String> {
    if candidates.is_empty() {
        return None;
    }
    let n = candidates.len() as u128;
    let i = usize::try_from(uuid::Uuid::new_v4().as_u128() % n).unwrap_or(0);
    Some(candidates.swap_remove(i.min(candidates.len() - 1)))
}

/// Transports kept per `caBundle`, server name and whether the client
/// certificate is presented, so callers reuse their connections; at most
/// [`MAX_TRANSPORTS`] (then all are dropped: configurations that changed
/// leave nothing behind for long).
static TRANSPORTS: LazyLock<Mutex<TransportCache>> = LazyLock::new(Mutex::default);

/// (`caBundle`, server name, with client certificate, insecure) → transport.
type TransportCache = HashMap<(String, String, bool, bool), Arc<Transport>>;

const MAX_TRANSPORTS: usize = 64;

/// How long dialling (TCP and TLS) a server behind a Service may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How a server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verify<'a> {
    /// Signed by a CA of this base64 `caBundle` for the server name.
    CaBundle(&'a str),
    /// Not at all (`insecureSkipTLSVerify`).
    Insecure,
}

/// A pooled transport to servers checked by `verify` for `server_name`,
/// presenting `client` when given.
pub(crate) fn transport(
    verify: Verify<'_>,
    server_name: &str,
    client: Option<&ClientIdentity>,
) -> Result<Arc<Transport>, String> {
    let (ca_bundle, insecure) = match verify {
        Verify::CaBundle(b) => (b, false),
        Verify::Insecure => ("", true),
    };
    let key = (
        ca_bundle.to_owned(),
        server_name.to_owned(),
        client.is_some(),
        insecure,
    );
    let mut cache = TRANSPORTS
        .lock()
        .map_err(|_| "transport cache poisoned".to_owned())?;
    if let Some(t) = cache.get(&key) {
        return Ok(Arc::clone(t));
    }
    let t = if insecure {
        Transport::insecure(
            server_name,
            client.map(|c| (c.chain.clone(), c.key.clone_key())),
            CONNECT_TIMEOUT,
        )
        .map_err(|e| e.to_string())?
    } else {
        with_roots(ca_roots(ca_bundle)?, server_name, client)?
    };
    let t = Arc::new(t);
    if cache.len() >= MAX_TRANSPORTS {
        cache.clear();
    }
    cache.insert(key, Arc::clone(&t));
    Ok(t)
}

fn with_roots(
    roots: Vec<CertificateDer<'static>>,
    server_name: &str,
    client: Option<&ClientIdentity>,
) -> Result<Transport, String> {
    match client {
        None => Transport::without_client_auth(roots, server_name, CONNECT_TIMEOUT),
        Some(c) => Transport::with_roots_and_client(
            roots,
            server_name,
            c.chain.clone(),
            c.key.clone_key(),
            CONNECT_TIMEOUT,
        ),
    }
    .map_err(|e| e.to_string())
}

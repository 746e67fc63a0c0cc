//! Who this server is to its peers: the identity Lease in `kube-system`
//! (what peers watch to find each other), the peer endpoint (where they
//! dial it), and garbage collection of identity leases whose servers died.
//!
//! The endpoint lives under a storage key outside every REST prefix (REST
//! keys all start with `/`), so no API request can read or write it: users
//! must never be able to point a server at an address.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use skewless_store::{ListOptions, Revision, StoreError, WriteOptions};

use crate::controllers::lease::{self, Lease};
use crate::object;
use crate::options::IdentityTiming;
use crate::state::State;
use crate::storage;

/// `apiserver.kubernetes.io/identity`.
pub const IDENTITY_LABEL: &str = "apiserver.kubernetes.io/identity";
/// Its value for API servers.
pub const IDENTITY_VALUE: &str = "kube-apiserver";
/// Where identity leases live.
pub const LEASE_PREFIX: &str = lease::KUBE_SYSTEM_PREFIX;
/// The annotation on an identity Lease naming where clients reach that
/// server (`ip:port`, the advertise address and the secure port): what the
/// `kubernetes` Service's endpoints list. Upstream keeps these in separate
/// master leases; skewless records them on the identity Lease it already
/// keeps.
pub const ADVERTISE_ANNOTATION: &str = "skewless.io/advertise-address";
/// The annotation on an identity Lease naming the version of the
/// peer-facing wire format the server speaks (docs/ARCHITECTURE.md, "The
/// peer wire format"); a Lease without it is version 1.
pub const PEER_PROTOCOL_ANNOTATION: &str = "skewless.io/peer-protocol";
/// The peer wire format this build speaks.
pub const PEER_PROTOCOL_VERSION: u32 = 1;
/// Where peer endpoints live (unreachable from REST).
pub(crate) const ENDPOINT_PREFIX: &str = "peerendpoints/";

/// Upstream's stable server ID: `apiserver-` + lowercase unpadded base32 of
/// the first 16 bytes of SHA-256 over the length-prefixed hostname and
/// `kube-apiserver`. The same hostname gives the same ID across restarts.
pub(crate) fn server_id_for_hostname(hostname: &str) -> String {
    let mut input = Vec::new();
    for part in [hostname, IDENTITY_VALUE] {
        input.extend_from_slice(&(part.len() as u16).to_be_bytes());
        input.extend_from_slice(part.as_bytes());
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, &input);
    format!("apiserver-{}", base32_lower(&digest.as_ref()[..16]))
}

fn base32_lower(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for byte in data {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The host's name, as the identity lease records it.
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The identity lease this server keeps.
pub(crate) fn lease_object(
    id: &str,
    holder: &str,
    advertise: &Advertised,
    timing: &IdentityTiming,
) -> Value {
    let now = lease::micro_now();
    let mut meta = json!({
        "name": id,
        "namespace": "kube-system",
        "uid": object::new_uid(),
        "creationTimestamp": object::now_rfc3339(),
        "labels": {IDENTITY_LABEL: IDENTITY_VALUE, "kubernetes.io/hostname": hostname()},
    });
    let mut annotations = serde_json::Map::new();
    annotations.insert(
        PEER_PROTOCOL_ANNOTATION.into(),
        json!(PEER_PROTOCOL_VERSION.to_string()),
    );
    if let Some(addr) = &advertise.peer {
        annotations.insert("kubernetes.io/peer-advertise-address".into(), json!(addr));
    }
    if let Some(addr) = &advertise.client {
        annotations.insert(ADVERTISE_ANNOTATION.into(), json!(addr));
    }
    meta["annotations"] = Value::Object(annotations);
    json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": meta,
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": timing.lease_duration.as_secs(),
            "acquireTime": now,
            "renewTime": now,
        },
    })
}

/// The addresses an identity Lease advertises.
#[derive(Debug, Clone, Default)]
pub(crate) struct Advertised {
    /// Where peers dial this server (only with the Mixed Version Proxy on).
    pub(crate) peer: Option<String>,
    /// Where clients reach it (`ip:port`), when an address is known.
    pub(crate) client: Option<String>,
}

pub(crate) fn endpoint_key(id: &str) -> String {
    format!("{ENDPOINT_PREFIX}{id}")
}

/// Runs the identity lease (delete stale, create fresh, renew) until
/// shutdown, then deletes it.
pub(crate) async fn run_lease(
    api: Arc<State>,
    holder: String,
    advertise: Advertised,
    timing: IdentityTiming,
) {
    let key = lease::key(&api.server_id);
    // A lease left by an earlier run of this server is stale: peers see
    // Delete then Add, and refetch our discovery.
    match api.store.delete(&key, None).await {
        Ok(_) | Err(StoreError::NotFound(_)) => {}
        Err(e) => tracing::warn!(error = %e, "deleting the stale identity lease failed"),
    }
    let mut shutdown = api.shutdown.subscribe();
    let mut revision: Option<Revision> = None;
    let mut tick = tokio::time::interval(timing.renew_interval);
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = tick.tick() => {}
        }
        revision = renew(&api, &key, &holder, &advertise, &timing, revision).await;
    }
    // Only while the lease is still this run's: a restart of this server
    // (same ID) may already have replaced both, and deleting its lease and
    // endpoint would hide it from its peers.
    let still_ours = match (api.store.get(&key).await, revision) {
        (Ok(Some(kv)), Some(r)) => kv.mod_revision == r,
        _ => false,
    };
    if !still_ours {
        tracing::info!("identity lease already replaced or gone; left as it is");
        return;
    }
    // Endpoint first: peers take a Lease deleted while its endpoint exists
    // for someone else's delete and keep routing to us for a while.
    let _ = api.store.delete(&endpoint_key(&api.server_id), None).await;
    match api.store.delete(&key, revision).await {
        Ok(_) | Err(StoreError::NotFound(_)) => tracing::info!("identity lease deleted"),
        Err(e) => tracing::warn!(error = %e, "deleting the identity lease on shutdown failed"),
    }
}

async fn renew(
    api: &State,
    key: &str,
    holder: &str,
    advertise: &Advertised,
    timing: &IdentityTiming,
    revision: Option<Revision>,
) -> Option<Revision> {
    let current = match api.store.get(key).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "reading the identity lease failed");
            return revision;
        }
    };
    let result = match current {
        None => {
            let lease = lease_object(&api.server_id, holder, advertise, timing);
            api.store
                .create(
                    key,
                    serde_json::to_vec(&lease).unwrap_or_default(),
                    WriteOptions::default(),
                )
                .await
        }
        Some(kv) => {
            let mut lease: Value = serde_json::from_slice(&kv.value).unwrap_or(Value::Null);
            if lease
                .pointer("/spec/holderIdentity")
                .and_then(Value::as_str)
                != Some(holder)
            {
                lease = lease_object(&api.server_id, holder, advertise, timing);
            }
            if let Some(spec) = lease.get_mut("spec").and_then(Value::as_object_mut) {
                spec.insert("renewTime".into(), json!(lease::micro_now()));
            }
            storage::update_json(api.store.as_ref(), key, &lease, kv.mod_revision).await
        }
    };
    match result {
        Ok(kv) => Some(kv.mod_revision),
        Err(e) => {
            tracing::warn!(error = %e, "renewing the identity lease failed");
            revision
        }
    }
}

/// Writes this server's peer endpoint with a time-to-live and refreshes
/// it, once the server is ready; deletes it on shutdown.
pub(crate) async fn run_endpoint(api: Arc<State>, address: String, timing: IdentityTiming) {
    let key = endpoint_key(&api.server_id);
    let value =
        serde_json::to_vec(&json!({"apiserverIdentity": api.server_id, "address": address}))
            .unwrap_or_default();
    let ttl = WriteOptions {
        ttl: Some(timing.endpoint_ttl),
    };
    let mut shutdown = api.shutdown.subscribe();
    // Wait (polling every 100 ms) until this server answers requests. Not
    // for full readiness, as upstream does: readiness waits for peers'
    // endpoints, and two servers starting together would wait for each
    // other.
    while !api.bootstrapped.load(std::sync::atomic::Ordering::Acquire) {
        tokio::select! {
            _ = shutdown.changed() => return,
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
    let mut tick = tokio::time::interval(timing.endpoint_refresh);
    // The revision of this run's last write: at shutdown the endpoint is
    // deleted only if it is still that one. A restart of this server (same
    // ID, e.g. during an upgrade) may already have written its own, and
    // deleting that would leave peers without its address until the next
    // refresh.
    let mut ours = None;
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = tick.tick() => {}
        }
        let written = match api.store.get(&key).await {
            Ok(Some(kv)) => {
                api.store
                    .update(&key, value.clone(), kv.mod_revision, ttl)
                    .await
            }
            Ok(None) => api.store.create(&key, value.clone(), ttl).await,
            Err(e) => Err(e),
        };
        match written {
            Ok(kv) => ours = Some(kv.mod_revision),
            Err(e) => tracing::warn!(error = %e, "writing the peer endpoint failed"),
        }
    }
    if let Some(revision) = ours {
        let _ = api.store.delete(&key, Some(revision)).await;
    }
}

/// Whether a Lease object carries the server identity label.
pub(crate) fn is_identity_lease(lease: &Value) -> bool {
    lease
        .pointer("/metadata/labels")
        .and_then(|labels| labels.get(IDENTITY_LABEL))
        .and_then(Value::as_str)
        == Some(IDENTITY_VALUE)
}

/// The servers holding an unexpired identity Lease (this one included, once
/// its Lease is written): (ID, holder) pairs in listing order.
pub(crate) async fn live_identities(api: &State) -> Result<Vec<(String, String)>, StoreError> {
    let listed = api.store.list(LEASE_PREFIX, ListOptions::default()).await?;
    let now = lease::now_secs();
    Ok(listed
        .items
        .iter()
        .filter_map(|kv| serde_json::from_slice::<Value>(&kv.value).ok())
        .filter(is_identity_lease)
        .filter_map(|l| {
            let lease = Lease::of(&l);
            (!lease.holder.is_empty() && !lease.expired(now))
                .then(|| (object::name(&l).to_owned(), lease.holder))
        })
        .collect())
}

/// Deletes identity leases whose holders stopped renewing them.
pub(crate) async fn run_gc(api: Arc<State>, period: Duration) {
    let mut shutdown = api.shutdown.subscribe();
    let mut tick = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => {}
        }
        let leases = match api.store.list(LEASE_PREFIX, ListOptions::default()).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "listing identity leases failed");
                continue;
            }
        };
        let now = lease::now_secs();
        for kv in leases.items {
            let Ok(value) = serde_json::from_slice::<Value>(&kv.value) else {
                continue;
            };
            if !is_identity_lease(&value) {
                continue;
            }
            let expired = Lease::of(&value).expired(now);
            if expired {
                // Guarded by revision: a renewal that raced us wins.
                if api
                    .store
                    .delete(&kv.key, Some(kv.mod_revision))
                    .await
                    .is_ok()
                {
                    tracing::info!(lease = %object::name(&value), "garbage-collected an expired identity lease");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32_lower(b"foobar"), "mzxw6ytboi");
        assert_eq!(base32_lower(b""), "");
        assert_eq!(base32_lower(b"f"), "my");
    }

    #[test]
    fn server_ids_are_stable_and_distinct() {
        let a = server_id_for_hostname("node-a");
        assert_eq!(a, server_id_for_hostname("node-a"));
        assert_ne!(a, server_id_for_hostname("node-b"));
        assert!(
            a.starts_with("apiserver-") && a.len() == "apiserver-".len() + 26,
            "{a}"
        );
    }
}

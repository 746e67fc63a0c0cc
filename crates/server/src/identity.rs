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

use crate::api::Api;
use crate::object;

/// `apiserver.kubernetes.io/identity`.
pub const IDENTITY_LABEL: &str = "apiserver.kubernetes.io/identity";
/// Its value for API servers.
pub const IDENTITY_VALUE: &str = "kube-apiserver";
/// Where identity leases live.
pub const LEASE_PREFIX: &str = "/coordination.k8s.io/leases/kube-system/";
/// Where peer endpoints live (unreachable from REST).
pub const ENDPOINT_PREFIX: &str = "peerendpoints/";

/// Timing of identity leases and endpoints; upstream's constants by default,
/// shorter in tests.
#[derive(Debug, Clone, Copy)]
pub struct IdentityTiming {
    pub lease_duration: Duration,
    pub renew_interval: Duration,
    pub gc_period: Duration,
    pub endpoint_ttl: Duration,
    pub endpoint_refresh: Duration,
}

impl Default for IdentityTiming {
    fn default() -> Self {
        Self {
            lease_duration: Duration::from_secs(3600),
            renew_interval: Duration::from_secs(10),
            gc_period: Duration::from_secs(3600),
            endpoint_ttl: Duration::from_secs(15),
            endpoint_refresh: Duration::from_secs(10),
        }
    }
}

/// Upstream's stable server ID: `apiserver-` + lowercase unpadded base32 of
/// the first 16 bytes of SHA-256 over the length-prefixed hostname and
/// `kube-apiserver`. The same hostname gives the same ID across restarts.
pub fn server_id_for_hostname(hostname: &str) -> String {
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
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// MicroTime, as a Lease's `renewTime` is serialised.
fn micro_now() -> String {
    let t = std::time::SystemTime::now();
    let micros = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_micros())
        .unwrap_or(0);
    let base = object::rfc3339(t);
    format!("{}.{micros:06}Z", base.trim_end_matches('Z'))
}

/// The identity lease this server keeps.
pub fn lease_object(
    id: &str,
    holder: &str,
    advertise: Option<&str>,
    timing: &IdentityTiming,
) -> Value {
    let now = micro_now();
    let mut meta = json!({
        "name": id,
        "namespace": "kube-system",
        "uid": object::new_uid(),
        "creationTimestamp": object::now_rfc3339(),
        "labels": {IDENTITY_LABEL: IDENTITY_VALUE, "kubernetes.io/hostname": hostname()},
    });
    if let Some(addr) = advertise {
        meta["annotations"] = json!({"kubernetes.io/peer-advertise-address": addr});
    }
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

fn lease_key(id: &str) -> String {
    format!("{LEASE_PREFIX}{id}")
}

pub fn endpoint_key(id: &str) -> String {
    format!("{ENDPOINT_PREFIX}{id}")
}

/// Runs the identity lease (delete stale, create fresh, renew) until
/// shutdown, then deletes it.
pub async fn run_lease(
    api: Arc<Api>,
    holder: String,
    advertise: Option<String>,
    timing: IdentityTiming,
) {
    let key = lease_key(&api.server_id);
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
        revision = renew(&api, &key, &holder, advertise.as_deref(), &timing, revision).await;
    }
    match api.store.delete(&key, None).await {
        Ok(_) | Err(StoreError::NotFound(_)) => tracing::info!("identity lease deleted"),
        Err(e) => tracing::warn!(error = %e, "deleting the identity lease on shutdown failed"),
    }
}

async fn renew(
    api: &Api,
    key: &str,
    holder: &str,
    advertise: Option<&str>,
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
                spec.insert("renewTime".into(), json!(micro_now()));
            }
            api.update_json(key, &lease, kv.mod_revision).await
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
pub async fn run_endpoint(api: Arc<Api>, address: String, timing: IdentityTiming) {
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
        if let Err(e) = written {
            tracing::warn!(error = %e, "writing the peer endpoint failed");
        }
    }
    let _ = api.store.delete(&key, None).await;
}

/// Whether a Lease has expired `now` (seconds since the epoch): its
/// `spec.renewTime` plus `spec.leaseDurationSeconds` has passed. A lease
/// missing either can never be renewed in time, so it counts as expired.
pub fn lease_expired(lease: &Value, now: i64) -> bool {
    let renewed = lease
        .pointer("/spec/renewTime")
        .and_then(Value::as_str)
        .and_then(object::parse_rfc3339);
    let duration = lease
        .pointer("/spec/leaseDurationSeconds")
        .and_then(Value::as_i64);
    match (renewed, duration) {
        (Some(r), Some(d)) => r + d < now,
        _ => true,
    }
}

/// Deletes identity leases whose holders stopped renewing them.
pub async fn run_gc(api: Arc<Api>, period: Duration) {
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
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        for kv in leases.items {
            let Ok(lease) = serde_json::from_slice::<Value>(&kv.value) else {
                continue;
            };
            if lease
                .pointer("/metadata/labels")
                .and_then(|l| l.get(IDENTITY_LABEL))
                .and_then(Value::as_str)
                != Some(IDENTITY_VALUE)
            {
                continue;
            }
            if lease_expired(&lease, now) {
                // Guarded by revision: a renewal that raced us wins.
                if api
                    .store
                    .delete(&kv.key, Some(kv.mod_revision))
                    .await
                    .is_ok()
                {
                    tracing::info!(lease = %object::name(&lease), "garbage-collected an expired identity lease");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_expires_after_its_duration_or_when_it_lacks_one() {
        let lease = json!({"spec": {"renewTime": "2026-01-01T00:00:00.000000Z", "leaseDurationSeconds": 15}});
        let renewed = object::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        assert!(!lease_expired(&lease, renewed + 15));
        assert!(lease_expired(&lease, renewed + 16));
        assert!(lease_expired(
            &json!({"spec": {"renewTime": "2026-01-01T00:00:00Z"}}),
            renewed
        ));
        assert!(lease_expired(
            &json!({"spec": {"leaseDurationSeconds": 15}}),
            0
        ));
    }

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

    #[test]
    fn micro_time_shape() {
        let t = micro_now();
        assert_eq!(t.len(), "2026-11-21T09:00:00.000000Z".len(), "{t}");
        assert!(object::parse_rfc3339(&t).is_some());
    }
}

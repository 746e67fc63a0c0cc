//! `coordination.k8s.io/v1` Leases as the controllers use them: one typed
//! view of a stored Lease (holder, renew time, duration, expiry), and
//! holding a leader-election Lease (acquire when free or expired, renew
//! while held). The identity Lease, the Lease GC and the peers feed read
//! expiry through the same [`Lease::expired`], so there is one rule.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use skewless_store::{StoreError, WriteOptions};

use crate::object;
use crate::state::State;
use crate::storage;

/// How long the controllers' leader-election Leases last unrenewed.
pub(crate) const LEADER_LEASE_SECONDS: i64 = 15;

/// Where Leases of `kube-system` live in storage.
pub(crate) const KUBE_SYSTEM_PREFIX: &str = "/coordination.k8s.io/leases/kube-system/";

/// The storage key of the Lease `kube-system/<name>`.
pub(crate) fn key(name: &str) -> String {
    format!("{KUBE_SYSTEM_PREFIX}{name}")
}

/// Seconds since the Unix epoch, as Lease times are compared.
pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// MicroTime, as a Lease's `acquireTime` and `renewTime` are serialised.
pub(crate) fn micro_now() -> String {
    let t = SystemTime::now();
    let micros = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_micros())
        .unwrap_or(0);
    let base = object::rfc3339(t);
    format!("{}.{micros:06}Z", base.trim_end_matches('Z'))
}

/// The fields of a stored Lease that controllers decide on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lease {
    /// `spec.holderIdentity` (empty when unset).
    pub(crate) holder: String,
    /// `spec.renewTime` in Unix seconds, when set and valid.
    pub(crate) renewed: Option<i64>,
    /// `spec.leaseDurationSeconds`, when set.
    pub(crate) duration: Option<i64>,
}

impl Lease {
    /// Reads the fields from a Lease object.
    pub(crate) fn of(value: &Value) -> Self {
        Self {
            holder: value
                .pointer("/spec/holderIdentity")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            renewed: value
                .pointer("/spec/renewTime")
                .and_then(Value::as_str)
                .and_then(object::parse_rfc3339),
            duration: value
                .pointer("/spec/leaseDurationSeconds")
                .and_then(Value::as_i64),
        }
    }

    /// Whether the Lease expired at `now` (Unix seconds): its renew time
    /// plus its duration lies in the past. A Lease without either never
    /// proves its holder alive, so it counts as expired.
    pub(crate) fn expired(&self, now: i64) -> bool {
        match (self.renewed, self.duration) {
            (Some(r), Some(d)) => r + d < now,
            _ => true,
        }
    }
}

/// Tries to hold the leader-election Lease `kube-system/<name>` for
/// `duration_seconds`: creates it when absent, takes it over when expired,
/// renews it when ours. Returns whether this server holds it now.
pub(crate) async fn hold(state: &State, name: &str, duration_seconds: i64) -> bool {
    let key = key(name);
    let me = &state.server_id;
    let now = object::now_rfc3339();
    match state.store.get(&key).await {
        Ok(None) => {
            let fresh = json!({
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": name, "namespace": "kube-system", "uid": object::new_uid(), "creationTimestamp": now},
                "spec": {"holderIdentity": me, "leaseDurationSeconds": duration_seconds, "acquireTime": now, "renewTime": now},
            });
            state
                .store
                .create(
                    &key,
                    serde_json::to_vec(&fresh).unwrap_or_default(),
                    WriteOptions::default(),
                )
                .await
                .is_ok()
        }
        Ok(Some(kv)) => {
            let Ok(mut value) = serde_json::from_slice::<Value>(&kv.value) else {
                return false;
            };
            let lease = Lease::of(&value);
            let ours = lease.holder == *me;
            if !ours && !lease.expired(now_secs()) {
                return false;
            }
            if let Some(spec) = value.get_mut("spec").and_then(Value::as_object_mut) {
                if !ours {
                    spec.insert("acquireTime".into(), json!(now));
                    spec.insert("holderIdentity".into(), json!(me));
                }
                spec.insert("renewTime".into(), json!(now));
                spec.entry("leaseDurationSeconds")
                    .or_insert(json!(duration_seconds));
            }
            storage::update_json(state.store.as_ref(), &key, &value, kv.mod_revision)
                .await
                .is_ok()
        }
        Err(StoreError::NotFound(_)) | Err(_) => false,
    }
}

/// Gives up the leader-election Lease `kube-system/<name>` if this server
/// holds it (upstream's `ReleaseOnCancel`), so another server takes over
/// at its next attempt instead of after the Lease expires. Guarded by the
/// revision read: a Lease taken over meanwhile is left alone.
pub(crate) async fn release(state: &State, name: &str) {
    let key = key(name);
    let Ok(Some(kv)) = state.store.get(&key).await else {
        return;
    };
    let ours = serde_json::from_slice::<Value>(&kv.value)
        .is_ok_and(|v| Lease::of(&v).holder == state.server_id);
    if ours {
        let _ = state.store.delete(&key, Some(kv.mod_revision)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_needs_a_renew_time_and_a_duration() {
        let lease = |spec: Value| Lease::of(&json!({ "spec": spec }));
        let renewed = object::parse_rfc3339("2026-01-01T00:00:00Z").unwrap_or(0);
        let l = lease(
            json!({"holderIdentity": "a", "renewTime": "2026-01-01T00:00:00.000000Z", "leaseDurationSeconds": 10}),
        );
        assert_eq!(l.holder, "a");
        assert!(!l.expired(renewed + 10));
        assert!(l.expired(renewed + 11));
        assert!(lease(json!({"holderIdentity": "a", "leaseDurationSeconds": 10})).expired(0));
        assert!(lease(json!({"renewTime": "2026-01-01T00:00:00Z"})).expired(0));
    }

    #[test]
    fn micro_time_shape() {
        let t = micro_now();
        assert_eq!(t.len(), "2026-11-21T09:00:00.000000Z".len(), "{t}");
        assert!(object::parse_rfc3339(&t).is_some());
    }
}

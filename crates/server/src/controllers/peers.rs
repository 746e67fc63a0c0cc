//! Feeds the peer proxy from storage: identity leases (who the peers are,
//! and a new `holderIdentity` when one restarts) and peer endpoints (where
//! they listen). Lists both, then watches both; on any error it lists again.
//!
//! Only this module reads peer state from storage; the proxy sees the
//! result as [`PeerInfo`] values.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use skewless_peerproxy::{PeerInfo, PeerProxy};
use skewless_store::{Event, ListOptions, Revision, Store};

use crate::controllers::identity::{ENDPOINT_PREFIX, IDENTITY_LABEL, IDENTITY_VALUE, LEASE_PREFIX};
use crate::state::State;

#[derive(Default)]
struct Feed {
    /// lease name → holderIdentity, for valid identity leases.
    leases: BTreeMap<String, String>,
    /// server ID → `host:port`.
    endpoints: BTreeMap<String, String>,
}

impl Feed {
    fn peers(&self) -> Vec<PeerInfo> {
        self.leases
            .iter()
            .map(|(id, holder)| PeerInfo {
                id: id.clone(),
                holder: holder.clone(),
                endpoint: self.endpoints.get(id).cloned(),
            })
            .collect()
    }

    fn apply_lease(&mut self, key: &str, value: Option<&[u8]>) {
        let name = key.trim_start_matches(LEASE_PREFIX).to_owned();
        match value.and_then(valid_lease_holder) {
            Some(holder) => {
                self.leases.insert(name, holder);
            }
            None => {
                self.leases.remove(&name);
            }
        }
    }

    fn apply_endpoint(&mut self, key: &str, value: Option<&[u8]>) {
        let id = key.trim_start_matches(ENDPOINT_PREFIX).to_owned();
        match value.and_then(endpoint_address) {
            Some(addr) => {
                self.endpoints.insert(id, addr);
            }
            None => {
                self.endpoints.remove(&id);
            }
        }
    }
}

/// A lease is a peer's identity when it carries the identity label and a
/// holder (upstream's `isValidPeerIdentityLease`).
fn valid_lease_holder(value: &[u8]) -> Option<String> {
    let lease: Value = serde_json::from_slice(value).ok()?;
    let label = lease
        .pointer("/metadata/labels")?
        .get(IDENTITY_LABEL)?
        .as_str()?;
    if label != IDENTITY_VALUE {
        return None;
    }
    lease
        .pointer("/spec/holderIdentity")
        .and_then(Value::as_str)
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
}

fn endpoint_address(value: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(value).ok()?;
    let addr = v.get("address")?.as_str()?;
    // host:port, as upstream validates with SplitHostPort.
    let (host, port) = addr.rsplit_once(':')?;
    (!host.is_empty() && port.parse::<u16>().is_ok()).then(|| addr.to_owned())
}

async fn list(
    store: &dyn Store,
    prefix: &str,
    state: &mut Feed,
    lease: bool,
) -> Result<Revision, skewless_store::StoreError> {
    let listed = store.list(prefix, ListOptions::default()).await?;
    for kv in &listed.items {
        if lease {
            state.apply_lease(&kv.key, Some(&kv.value));
        } else {
            state.apply_endpoint(&kv.key, Some(&kv.value));
        }
    }
    Ok(listed.revision)
}

/// Runs until shutdown. Starts the proxy's discovery sync once the first
/// list of peers is in, so readiness waits for a round over real peers.
pub(crate) async fn run(api: Arc<State>, proxy: Arc<PeerProxy>) {
    let mut shutdown = api.shutdown.subscribe();
    let mut sync_started = false;
    loop {
        let mut state = Feed::default();
        let listed = async {
            let l = list(api.store.as_ref(), LEASE_PREFIX, &mut state, true).await?;
            let e = list(api.store.as_ref(), ENDPOINT_PREFIX, &mut state, false).await?;
            let leases = api.store.watch(LEASE_PREFIX, l).await?;
            let endpoints = api.store.watch(ENDPOINT_PREFIX, e).await?;
            Ok::<_, skewless_store::StoreError>((leases, endpoints))
        }
        .await;
        let (mut leases, mut endpoints) = match listed {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "listing peers failed; retrying");
                proxy.metrics.sync_errors.inc(&["lease_list"]);
                tokio::select! {
                    _ = shutdown.changed() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        proxy.set_peers(state.peers());
        if !sync_started {
            sync_started = true;
            tokio::spawn(Arc::clone(&proxy).run_sync(api.shutdown.subscribe()));
        }
        loop {
            let (event, lease) = tokio::select! {
                _ = shutdown.changed() => return,
                e = leases.next() => (e, true),
                e = endpoints.next() => (e, false),
            };
            match event {
                Some(Ok(event)) => {
                    let (key, value) = match &event {
                        Event::Put { kv, .. } => (kv.key.clone(), Some(kv.value.clone())),
                        Event::Delete { prev, .. } => (prev.key.clone(), None),
                    };
                    if lease {
                        state.apply_lease(&key, value.as_deref());
                    } else {
                        state.apply_endpoint(&key, value.as_deref());
                    }
                    proxy.set_peers(state.peers());
                }
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "peer watch ended; listing again");
                    break;
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_labelled_leases_with_holders_are_peers() {
        let lease = |labels: &str, holder: &str| {
            format!(
                r#"{{"metadata":{{"labels":{labels}}},"spec":{{"holderIdentity":"{holder}"}}}}"#
            )
            .into_bytes()
        };
        assert_eq!(
            valid_lease_holder(&lease(
                r#"{"apiserver.kubernetes.io/identity":"kube-apiserver"}"#,
                "a_1"
            )),
            Some("a_1".into())
        );
        assert_eq!(
            valid_lease_holder(&lease(
                r#"{"apiserver.kubernetes.io/identity":"other"}"#,
                "a_1"
            )),
            None
        );
        assert_eq!(valid_lease_holder(&lease("{}", "a_1")), None);
        assert_eq!(
            valid_lease_holder(&lease(
                r#"{"apiserver.kubernetes.io/identity":"kube-apiserver"}"#,
                ""
            )),
            None
        );
        assert_eq!(
            endpoint_address(br#"{"address":"127.0.0.1:6443"}"#),
            Some("127.0.0.1:6443".into())
        );
        assert_eq!(endpoint_address(br#"{"address":"no-port"}"#), None);
    }
}

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
use crate::controllers::lease::{self, Lease};
use crate::state::State;

/// How long a peer whose identity Lease was deleted while its endpoint
/// still exists stays routable: its owner recreates the Lease within one
/// renew interval, so this is not a clean shutdown (which deletes the
/// endpoint first) but someone else's delete.
const FOREIGN_DELETE_GRACE: Duration = Duration::from_secs(30);

/// A valid identity Lease as the feed keeps it.
#[derive(Debug, Clone)]
struct Identity {
    lease: Lease,
    /// Set when the Lease was deleted while the endpoint existed: the peer
    /// stays until this instant unless the Lease comes back.
    deleted_until: Option<tokio::time::Instant>,
}

#[derive(Default)]
struct Feed {
    /// lease name → identity, for valid identity leases.
    leases: BTreeMap<String, Identity>,
    /// server ID → `host:port`.
    endpoints: BTreeMap<String, String>,
}

impl Feed {
    /// The live peers: Leases not expired (and not deleted, but for the
    /// grace of a delete by someone other than the owner).
    fn peers(&self) -> Vec<PeerInfo> {
        let now = lease::now_secs();
        let instant = tokio::time::Instant::now();
        self.leases
            .iter()
            .filter(|(_, i)| {
                !i.lease.expired(now) && i.deleted_until.is_none_or(|until| instant < until)
            })
            .map(|(id, i)| PeerInfo {
                id: id.clone(),
                holder: i.lease.holder.clone(),
                endpoint: self.endpoints.get(id).cloned(),
            })
            .collect()
    }

    fn apply_lease(&mut self, key: &str, value: Option<&[u8]>) {
        let name = key.trim_start_matches(LEASE_PREFIX).to_owned();
        match value.and_then(valid_lease) {
            Some(lease) => {
                self.leases.insert(
                    name,
                    Identity {
                        lease,
                        deleted_until: None,
                    },
                );
            }
            None if value.is_none() && self.endpoints.contains_key(&name) => {
                if let Some(identity) = self.leases.get_mut(&name) {
                    tracing::warn!(peer = %name, "the identity Lease of a running peer API server was deleted; routing keeps the peer while its owner recreates it");
                    identity.deleted_until =
                        Some(tokio::time::Instant::now() + FOREIGN_DELETE_GRACE);
                }
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
                // A deleted Lease whose endpoint goes too: the peer left.
                if self
                    .leases
                    .get(&id)
                    .is_some_and(|i| i.deleted_until.is_some())
                {
                    self.leases.remove(&id);
                }
            }
        }
    }
}

/// A lease is a peer's identity when it carries the identity label and a
/// holder (upstream's `isValidPeerIdentityLease`).
fn valid_lease(value: &[u8]) -> Option<Lease> {
    let lease: Value = serde_json::from_slice(value).ok()?;
    let label = lease
        .pointer("/metadata/labels")?
        .get(IDENTITY_LABEL)?
        .as_str()?;
    if label != IDENTITY_VALUE {
        return None;
    }
    let lease = Lease::of(&lease);
    (!lease.holder.is_empty()).then_some(lease)
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
        // Leases expire and delete graces end without an event: look again
        // every second.
        let mut recheck = tokio::time::interval(Duration::from_secs(1));
        loop {
            let (event, lease) = tokio::select! {
                _ = shutdown.changed() => return,
                e = leases.next() => (e, true),
                e = endpoints.next() => (e, false),
                _ = recheck.tick() => {
                    proxy.set_peers(state.peers());
                    continue;
                }
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
            valid_lease(&lease(
                r#"{"apiserver.kubernetes.io/identity":"kube-apiserver"}"#,
                "a_1"
            ))
            .map(|l| l.holder),
            Some("a_1".into())
        );
        assert_eq!(
            valid_lease(&lease(
                r#"{"apiserver.kubernetes.io/identity":"other"}"#,
                "a_1"
            )),
            None
        );
        assert_eq!(valid_lease(&lease("{}", "a_1")), None);
        assert_eq!(
            valid_lease(&lease(
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

//! Peer discovery sync: keeps what every peer serves current by fetching
//! its no-peer `/api` and `/apis` (aggregated v2) when it appears, restarts
//! or moves, and re-checking every [`ProxyTiming::resync`] with
//! `If-None-Match`. A failed fetch keeps the last known document (routing
//! keeps using it) and records the cause; a peer never fetched is routed as
//! "discovery unknown".

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http::{Request, Uri, header};
use http_body_util::{BodyExt, Empty};
use skewless_apimachinery::discovery::APIGroupDiscoveryList;
use tokio::time::Instant;

use crate::merge;
use crate::peers::{PeerDiscovery, PeerInfo, PeerProxy, hint};
use crate::routing::{Link, PEER_PROXIED_HEADER, PeerId};
use crate::transport::{BoxError, SendError};

#[cfg(doc)]
use crate::peers::ProxyTiming;

/// The Accept header peer discovery sends: no-peer aggregated first.
pub const DISCOVERY_ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;profile=nopeer,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";

/// What one fetch of a peer's discovery found.
enum Fetched {
    /// Nothing changed (both documents answered 304).
    Unchanged,
    /// New data.
    Changed(PeerDiscovery),
    /// The fetch failed, with why, and what that says about the link.
    Failed(String, Option<Link>),
}

impl PeerProxy {
    /// Runs the discovery sync until `stop` fires.
    pub async fn run_sync(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if self.sync_round().await {
                self.first_round.store(true, Ordering::Release);
            }
            tokio::select! {
                _ = stop.changed() => return,
                () = self.changed.notified() => {}
                () = tokio::time::sleep(self.timing.resync) => {}
            }
        }
    }

    /// One pass over every peer; returns whether every peer was reached at
    /// a known endpoint (a peer whose endpoint is not written yet makes
    /// the round incomplete: readiness keeps waiting for it, within the
    /// first-round deadline).
    async fn sync_round(self: &Arc<Self>) -> bool {
        let peers: Vec<(PeerInfo, Option<PeerDiscovery>)> = match self.entries.lock() {
            Ok(t) => t
                .values()
                .map(|e| (e.info.clone(), e.discovery.clone()))
                .collect(),
            Err(_) => return false,
        };
        let complete = peers.iter().all(|(info, _)| info.endpoint.is_some());
        let fetches = peers.into_iter().map(|(info, old)| async move {
            let result = self.fetch(&info, old.as_ref()).await;
            (info, result)
        });
        let results = futures::future::join_all(fetches).await;
        for (info, result) in &results {
            let link = match result {
                Fetched::Failed(_, link) => link.clone(),
                Fetched::Unchanged | Fetched::Changed(_) => Some(Link::Up),
            };
            if let (Some(link), Some(addr)) = (link, &info.endpoint) {
                self.set_link(&PeerId::new(info.id.clone()), addr, link);
            }
        }
        let mut discovery_changed = false;
        let mut errors_changed = false;
        if let Ok(mut table) = self.entries.lock() {
            for (info, result) in results {
                let Some(entry) = table.get_mut(&info.id) else {
                    continue;
                };
                if entry.info.holder != info.holder {
                    continue; // restarted meanwhile; the next round refetches
                }
                let error = match result {
                    Fetched::Unchanged => {
                        entry.discovery_at = Some(Instant::now());
                        None
                    }
                    Fetched::Changed(new) => {
                        discovery_changed = true;
                        entry.discovery = Some(new);
                        entry.discovery_at = Some(Instant::now());
                        None
                    }
                    Fetched::Failed(cause, _) => Some(cause),
                };
                if entry.discovery_error != error {
                    match (&entry.discovery_error, &error) {
                        // A peer whose endpoint is not written yet (it is
                        // starting) is not a broken link.
                        (_, Some(cause))
                            if entry.link == Link::Up && entry.info.endpoint.is_some() =>
                        {
                            tracing::warn!(peer = %info.id, %cause, check = hint(cause), "peer API server discovery failed; its last known discovery stays in use");
                        }
                        (Some(_), None) => {
                            tracing::info!(peer = %info.id, "peer API server discovery fetched again");
                        }
                        _ => {}
                    }
                    errors_changed = true;
                    entry.discovery_error = error;
                }
            }
        }
        if discovery_changed || errors_changed {
            self.publish(discovery_changed);
        }
        complete
    }

    /// Fetches a peer's `/api` and `/apis`.
    async fn fetch(&self, info: &PeerInfo, old: Option<&PeerDiscovery>) -> Fetched {
        let Some(addr) = info.endpoint.as_deref() else {
            self.metrics.sync_errors.inc(&["hostport_resolution"]);
            return Fetched::Failed("its address is not known".to_owned(), None);
        };
        let mut next = old.cloned().unwrap_or_default();
        let mut any_changed = old.is_none();
        let mut core = BTreeSet::new();
        for path in ["/api", "/apis"] {
            let etag = if path == "/api" {
                next.api_etag.clone()
            } else {
                next.apis_etag.clone()
            };
            match self.get_discovery(addr, path, etag.as_deref()).await {
                Ok(None) => {}
                Ok(Some((list, etag))) => {
                    any_changed = true;
                    if path == "/api" {
                        next.api_etag = etag;
                        core = merge::gvrs(&list.items);
                        next.core = list
                            .items
                            .into_iter()
                            .filter(|g| g.name().is_empty())
                            .collect();
                    } else {
                        next.apis_etag = etag;
                        next.groups = list
                            .items
                            .into_iter()
                            .filter(|g| !g.name().is_empty())
                            .collect();
                    }
                }
                Err((e, link)) => {
                    tracing::debug!(peer = %info.id, path, error = %e, "peer discovery failed");
                    self.metrics.sync_errors.inc(&["fetch_discovery"]);
                    return Fetched::Failed(format!("GET {path} at {addr}: {e}"), link);
                }
            }
        }
        if !any_changed {
            return Fetched::Unchanged;
        }
        if core.is_empty() {
            core = old
                .map(|o| {
                    o.gvrs
                        .iter()
                        .filter(|g| g.group.is_empty())
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
        }
        next.gvrs = core;
        next.gvrs.extend(merge::gvrs(&next.groups));
        Fetched::Changed(next)
    }

    async fn get_discovery(
        &self,
        addr: &str,
        path: &str,
        etag: Option<&str>,
    ) -> Result<Option<(APIGroupDiscoveryList, Option<String>)>, (BoxError, Option<Link>)> {
        let plain = |e: BoxError| (e, None);
        let uri: Uri = format!("https://{addr}{path}")
            .parse()
            .map_err(|e: http::uri::InvalidUri| plain(e.into()))?;
        let mut req = Request::builder()
            .method("GET")
            .uri(uri)
            .header(header::ACCEPT, DISCOVERY_ACCEPT)
            .header(PEER_PROXIED_HEADER, "true")
            .header("x-remote-user", "system:apiserver")
            .header("x-remote-uid", "system:apiserver")
            // The servers' own identity, in system:masters as upstream's
            // loopback client: allowed whatever the peer's policy says.
            .header("x-remote-group", "system:masters")
            .header("x-remote-group", "system:authenticated");
        if let Some(tag) = etag {
            req = req.header(header::IF_NONE_MATCH, tag);
        }
        let req = req
            .body(
                Empty::<Bytes>::new()
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            )
            .map_err(|e| plain(e.into()))?;
        let timeout = self.timing.hop_timeout;
        let resp = match tokio::time::timeout(timeout, self.transport.send(addr, req)).await {
            Err(_) => {
                let cause = format!("no response headers within {timeout:?}");
                return Err((cause.clone().into(), Some(Link::Suspect { cause })));
            }
            Ok(Err(SendError::NotSent { cause, .. })) => {
                let link = Link::Down {
                    cause: cause.to_string(),
                };
                return Err((cause, Some(link)));
            }
            Ok(Err(SendError::Failed(e))) => return Err(plain(e)),
            Ok(Ok(r)) => r,
        };
        let status = resp.status().as_u16();
        self.metrics
            .rerouted
            .inc(&[&status.to_string(), "", "", ""]);
        if status == 304 {
            return Ok(None);
        }
        if status != 200 {
            return Err(plain(format!("answered {status}").into()));
        }
        let new_etag = resp
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = tokio::time::timeout(timeout, resp.into_body().collect())
            .await
            .map_err(|_| plain(format!("body not complete within {timeout:?}").into()))?
            .map_err(|e| plain(e.into()))?
            .to_bytes();
        let list: APIGroupDiscoveryList =
            serde_json::from_slice(&body).map_err(|e| plain(e.into()))?;
        Ok(Some((list, new_etag)))
    }
}

//! Background loops of one server. Each depends on the shared state and
//! handlers' surface, never the reverse; [`spawn`] starts them all and they
//! end when shutdown begins.

pub(crate) mod aggregated;
pub(crate) mod apiservices;
pub(crate) mod compaction;
pub(crate) mod crds;
pub(crate) mod identity;
pub(crate) mod kubernetes_service;
pub(crate) mod lease;
pub(crate) mod namespaces;
pub(crate) mod peers;
pub(crate) mod rbac;
pub(crate) mod storage_versions;

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::options::IdentityTiming;
use crate::state::State;

/// What the controllers need beyond the shared state.
#[derive(Debug)]
pub(crate) struct Settings {
    /// `--etcd-compaction-interval`.
    pub(crate) compaction_interval: Duration,
    /// Identity Lease and endpoint timing.
    pub(crate) identity: IdentityTiming,
    /// This run's `holderIdentity` for the identity Lease.
    pub(crate) holder: String,
    /// Where peers dial this server, when the Mixed Version Proxy is on
    /// (the endpoint is written and advertised only then).
    pub(crate) peer_address: Option<String>,
    /// Where clients reach this server (`ip:port`), recorded on the
    /// identity Lease for the `kubernetes` Service's endpoints.
    pub(crate) client_address: Option<String>,
    /// `--apiservice-removal-grace`: how long no live server must serve a
    /// group/version before its local APIService is removed.
    pub(crate) apiservice_grace: Duration,
    /// Whether the `StorageVersionAPI` gate is on (the group/version must
    /// also be enabled for StorageVersions to be recorded).
    pub(crate) storage_versions: bool,
    /// The `kubernetes` Service's ClusterIP and this server's secure port.
    pub(crate) service: kubernetes_service::Settings,
}

/// Starts every controller; the task ends when all of them did (after
/// shutdown began).
pub(crate) fn spawn(state: Arc<State>, settings: Settings) -> JoinHandle<()> {
    tokio::spawn(async move {
        let timing = settings.identity;
        let endpoint = async {
            if let Some(address) = settings.peer_address.clone() {
                identity::run_endpoint(Arc::clone(&state), address, timing).await;
            }
        };
        let peers = async {
            if let Some(proxy) = state.proxy.clone() {
                peers::run(Arc::clone(&state), proxy).await;
            }
        };
        tokio::join!(
            namespaces::run(Arc::clone(&state)),
            crds::run(Arc::clone(&state)),
            rbac::run(Arc::clone(&state)),
            compaction::run(Arc::clone(&state), settings.compaction_interval),
            identity::run_lease(
                Arc::clone(&state),
                settings.holder.clone(),
                identity::Advertised {
                    peer: settings.peer_address.clone(),
                    client: settings.client_address.clone(),
                },
                timing
            ),
            kubernetes_service::run(Arc::clone(&state), settings.service),
            apiservices::run(Arc::clone(&state), settings.apiservice_grace),
            storage_versions::run(Arc::clone(&state), settings.storage_versions),
            identity::run_gc(Arc::clone(&state), timing.gc_period),
            endpoint,
            peers,
            aggregated::run(Arc::clone(&state)),
        );
    })
}

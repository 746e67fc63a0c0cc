//! Start-up and shutdown of `skewless serve`: flags checked, storage
//! opened, the catalog of the emulated release built, certificates loaded,
//! the peer proxy wired, initial namespaces created, controllers spawned,
//! and the accept loop started (`pipeline`). Shutdown stops accepting,
//! fails readiness, ends watches and controllers, and lets in-flight
//! requests finish within the grace period.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use skewless_apimachinery::catalog::{Catalog, EmulatedVersion, RuntimeConfig};
use skewless_peerproxy::transport::{Transport, TransportConfig};
use skewless_peerproxy::{PeerProxy, ProxyTiming};
use skewless_store::Store;
use skewless_store::etcd::{EtcdOptions, EtcdStore};
use skewless_store::sqlite::{SqliteOptions, SqliteStore};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::authn::Authenticator;
use crate::authz::{AlwaysAllow, AlwaysDeny, Authorizer, Chain};
use crate::controllers::{self, identity, namespaces};
use crate::handlers::discovery;
use crate::options::AuthorizationMode;
use crate::options::{ServeOptions, UVIP};
use crate::pipeline::accept::accept_loop;
use crate::rbac::Rbac;
use crate::state::State;
use crate::tls::ClientCertVerifiers;

/// A started server.
pub struct RunningServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// Begins graceful shutdown and waits for it to finish.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Waits until the server stops by itself (it only does on shutdown).
    pub async fn wait(self) {
        let _ = self.task.await;
    }

    /// A handle that begins graceful shutdown.
    pub fn stopper(&self) -> tokio::sync::watch::Sender<bool> {
        self.stop.clone()
    }
}

async fn open_store(opts: &ServeOptions) -> anyhow::Result<Arc<dyn Store>> {
    if opts.etcd_servers.is_empty() {
        let path = opts.data_dir.join("state.db");
        let store = SqliteStore::open(SqliteOptions::new(&path))
            .await
            .with_context(|| format!("opening the embedded store {}", path.display()))?;
        Ok(Arc::new(store))
    } else {
        let mut etcd = EtcdOptions::new(opts.etcd_servers.clone());
        etcd.prefix = opts.etcd_prefix.clone();
        let store = EtcdStore::connect(etcd)
            .await
            .context("connecting to etcd")?;
        store
            .current_revision()
            .await
            .context("etcd does not answer")?;
        Ok(Arc::new(store))
    }
}

/// The front-proxy client certificate presented to extension API servers
/// (`--proxy-client-cert-file`/`-key-file`), when configured.
fn proxy_client_identity(
    opts: &ServeOptions,
) -> anyhow::Result<Option<crate::service_dial::ClientIdentity>> {
    let (Some(cert), Some(key)) = (
        &opts.peer.proxy_client_cert_file,
        &opts.peer.proxy_client_key_file,
    ) else {
        return Ok(None);
    };
    Ok(Some(crate::service_dial::ClientIdentity {
        chain: crate::tls::load_certs(cert).context("--proxy-client-cert-file")?,
        key: crate::tls::load_key(key).context("--proxy-client-key-file")?,
    }))
}

/// Builds the peer proxy when the gate is on and `--peer-ca-file` is set.
fn build_proxy(opts: &ServeOptions, server_id: &str) -> anyhow::Result<Option<Arc<PeerProxy>>> {
    let (Some(ca), true) = (&opts.peer.ca_file, opts.feature_gates.enabled(UVIP)) else {
        return Ok(None);
    };
    let (Some(cert), Some(key)) = (
        &opts.peer.proxy_client_cert_file,
        &opts.peer.proxy_client_key_file,
    ) else {
        anyhow::bail!(
            "error building peer proxy handler: proxy client certificate and key are required"
        );
    };
    let peer_ca = crate::tls::load_certs(ca).context("--peer-ca-file")?;
    let client_chain = crate::tls::load_certs(cert).context("--proxy-client-cert-file")?;
    let client_key = crate::tls::load_key(key).context("--proxy-client-key-file")?;
    crate::tls::check_peer_certificates(&peer_ca, &client_chain, &client_key)?;
    let transport = Transport::new(TransportConfig {
        peer_ca,
        client_chain,
        client_key,
        connect_timeout: opts.peer.hop_timeout.min(std::time::Duration::from_secs(5)),
    })
    .map_err(|e| anyhow::anyhow!("building the peer transport: {e}"))?;
    let timing = ProxyTiming {
        resync: opts.peer.discovery_resync,
        hop_timeout: opts.peer.hop_timeout,
        ..ProxyTiming::default()
    };
    Ok(Some(PeerProxy::new(
        server_id.to_owned(),
        transport,
        timing,
    )))
}

/// Where peers dial this server, as upstream decides it: the IP from
/// `--peer-advertise-ip`, else `--advertise-address`, else the bind address,
/// and when that is unspecified (`0.0.0.0`/`::`) the address of the
/// interface of the default route (never loopback); the port from
/// `--peer-advertise-port`, else the bound port. IP and port fall back
/// independently.
fn peer_advertise_address(opts: &ServeOptions, bound: SocketAddr) -> anyhow::Result<SocketAddr> {
    let ip = opts
        .peer
        .advertise_ip
        .or(opts.advertise_address)
        .unwrap_or(bound.ip());
    let ip = if ip.is_unspecified() {
        default_route_address(ip.is_ipv6()).context(
            "no address to advertise to peers: bound to all interfaces and no default route; set --peer-advertise-ip or --advertise-address",
        )?
    } else {
        ip
    };
    Ok(SocketAddr::new(
        ip,
        opts.peer.advertise_port.unwrap_or(bound.port()),
    ))
}

/// Where clients reach this server, as upstream's `--advertise-address`
/// defaulting: that flag, else the bind address, and when that is
/// unspecified the default route's interface; with the bound port. `None`
/// (logged) when bound to all interfaces without a default route: the
/// server then is missing from the `kubernetes` Service's endpoints.
fn client_advertise_address(opts: &ServeOptions, bound: SocketAddr) -> Option<SocketAddr> {
    let ip = opts.advertise_address.unwrap_or(bound.ip());
    let ip = if ip.is_unspecified() {
        match default_route_address(ip.is_ipv6()) {
            Ok(ip) => ip,
            Err(e) => {
                tracing::warn!(error = %e, "no address to advertise to clients; set --advertise-address");
                return None;
            }
        }
    } else {
        ip
    };
    Some(SocketAddr::new(ip, bound.port()))
}

/// The local address the kernel picks for the default route (a UDP
/// "connect" sends nothing; it only selects a route).
fn default_route_address(v6: bool) -> anyhow::Result<std::net::IpAddr> {
    let (bind, target) = if v6 {
        ("[::]:0", "[2001:db8::1]:53")
    } else {
        ("0.0.0.0:0", "192.0.2.1:53")
    };
    let socket = std::net::UdpSocket::bind(bind)?;
    socket.connect(target)?;
    let ip = socket.local_addr()?.ip();
    if ip.is_loopback() || ip.is_unspecified() {
        anyhow::bail!("the default route leaves through {ip}");
    }
    Ok(ip)
}

/// Raises the soft limit of open files to the hard limit (as Go programs,
/// kube-apiserver among them, do at start) and returns how many client
/// connections to allow at once: `--max-connections`, or when 0 the open
/// file limit less a reserve for storage, peers and files.
fn connection_limit(flag: usize) -> usize {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        if let Err(e) = setrlimit(Resource::Nofile, limit) {
            tracing::debug!(error = %e, "could not raise the open file limit");
        }
    }
    let files = getrlimit(Resource::Nofile).current.unwrap_or(1 << 20);
    let derived = usize::try_from(files.saturating_sub(256))
        .unwrap_or(usize::MAX)
        .max(64);
    let limit = if flag == 0 { derived } else { flag };
    tracing::info!(max_connections = limit, "client connection limit");
    limit
}

/// The chain `--authorization-mode` names, in its order.
fn authorizers(modes: &[AuthorizationMode], rbac: &Arc<Rbac>) -> Chain {
    Chain::new(
        modes
            .iter()
            .map(|m| -> Box<dyn Authorizer> {
                match m {
                    AuthorizationMode::AlwaysAllow => Box::new(AlwaysAllow),
                    AuthorizationMode::AlwaysDeny => Box::new(AlwaysDeny),
                    AuthorizationMode::Rbac => Box::new(Arc::clone(rbac)),
                }
            })
            .collect(),
    )
}

/// Starts a server: binds, bootstraps, and serves in the background.
pub async fn start(opts: ServeOptions) -> anyhow::Result<RunningServer> {
    crate::tls::install_crypto_provider();
    opts.validate_peer_flags().map_err(anyhow::Error::msg)?;
    let emulated = EmulatedVersion::parse(&opts.emulated_version)
        .map_err(|e| anyhow::anyhow!("--emulated-version: {e}"))?;
    let runtime = RuntimeConfig::parse(&opts.runtime_config)
        .map_err(|e| anyhow::anyhow!("--runtime-config: {e}"))?;
    let catalog = Catalog::new(emulated, &runtime);
    let authn = Authenticator::new(opts.token_auth_file.as_deref(), opts.requestheader.clone())?;
    let verifiers = ClientCertVerifiers::new(
        opts.client_ca_file.as_deref(),
        opts.requestheader.client_ca_file.as_deref(),
    )?;
    let mut sans = vec![opts.bind_address.to_string()];
    sans.extend(
        std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty()),
    );
    let (chain, key) = crate::tls::serving_identity(
        opts.tls_cert_file.as_deref(),
        opts.tls_private_key_file.as_deref(),
        &opts.cert_dir,
        &sans,
    )?;
    let tls = TlsAcceptor::from(Arc::new(verifiers.server_config(chain, key)?));
    let store = open_store(&opts).await?;

    let listener = TcpListener::bind((opts.bind_address, opts.secure_port))
        .await
        .with_context(|| format!("binding {}:{}", opts.bind_address, opts.secure_port))?;
    let addr = listener.local_addr()?;
    let version = emulated.version();
    let (shutdown, _) = tokio::sync::watch::channel(false);
    let server_id = opts
        .apiserver_id
        .clone()
        .unwrap_or_else(|| identity::server_id_for_hostname(&identity::hostname()));
    let proxy = build_proxy(&opts, &server_id)?;
    let gate = opts.feature_gates.enabled(UVIP);
    let peer_address = if gate {
        peer_advertise_address(&opts, addr)?.to_string()
    } else {
        String::new()
    };
    let rbac = Arc::new(Rbac::default());
    let watch_cache = crate::watch_cache::WatchCaches::new(
        Arc::clone(&store),
        opts.watch_cache,
        opts.watch_cache_window,
        shutdown.subscribe(),
    );
    let api = Arc::new(State {
        store,
        watch_cache,
        openapi: crate::openapi::OpenApiCache::default(),
        registry: Arc::new(crate::registry::Registry::new(catalog)),
        authz: authorizers(&opts.authorization_modes, &rbac),
        rbac,
        anonymous_auth: opts.anonymous_auth,
        audit: crate::audit::Audit::open(&opts.audit)
            .context("starting the audit log")?
            .map(Arc::new),
        inflight: crate::inflight::InFlight::new(
            opts.max_requests_inflight,
            opts.max_mutating_requests_inflight,
        ),
        authn,
        metrics: crate::metrics::Metrics::default(),
        max_body: opts.max_request_body_bytes,
        min_request_timeout: opts.min_request_timeout,
        bootstrapped: AtomicBool::new(false),
        shutting_down: AtomicBool::new(false),
        server_id: server_id.clone(),
        shutdown,
        version_info: discovery::version_info(version.major, version.minor),
        advertise: SocketAddr::new(opts.advertise_address.unwrap_or(addr.ip()), addr.port())
            .to_string(),
        proxy: proxy.clone(),
        merged: crate::merged::MergedDiscovery::default(),
        aggregator: crate::aggregator::Aggregator::new(
            proxy_client_identity(&opts)?,
            opts.request_timeout,
        ),
        service_ranges: crate::service_alloc::ServiceRanges {
            cidr: opts.service_cluster_ip_range,
            node_ports: opts.service_node_port_range,
        },
    });

    namespaces::bootstrap(&api)
        .await
        .context("creating the initial namespaces")?;
    controllers::rbac::bootstrap(&api)
        .await
        .context("writing the bootstrap RBAC policy")?;
    controllers::rbac::load(&api)
        .await
        .context("reading the RBAC policy")?;
    api.bootstrapped.store(true, Ordering::Release);
    let controller = controllers::spawn(
        Arc::clone(&api),
        controllers::Settings {
            compaction_interval: opts.compaction_interval,
            apiservice_grace: opts.apiservice_removal_grace,
            identity: opts.identity,
            holder: format!("{server_id}_{}", uuid::Uuid::new_v4()),
            peer_address: gate.then_some(peer_address),
            client_address: client_advertise_address(&opts, addr).map(|a| a.to_string()),
            // As upstream: the StorageVersion manager needs server identity.
            storage_versions: opts
                .feature_gates
                .enabled(controllers::storage_versions::GATE)
                && opts.feature_gates.enabled("APIServerIdentity"),
            service: controllers::kubernetes_service::Settings {
                cluster_ip: opts.service_cluster_ip_range.first_address(),
                target_port: addr.port(),
                silence: controllers::kubernetes_service::silence_allowed(&opts.identity),
            },
        },
    );
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(accept_loop(
        listener,
        connection_limit(opts.max_connections),
        tls,
        verifiers,
        Arc::clone(&api),
        stop_rx,
        opts.shutdown_grace,
        controller,
    ));
    tracing::info!(%addr, %server_id, version = %emulated, "serving");
    Ok(RunningServer { addr, stop, task })
}

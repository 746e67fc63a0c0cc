//! Serving: the TLS listener, one hyper connection (HTTP/1.1 or HTTP/2)
//! per client, and the request path
//!
//! accept → TLS → authenticate → request info → authorize → handler → storage
//!
//! plus start-up (storage, catalog, certificates, bootstrap, controllers)
//! and graceful shutdown (stop accepting, end watches, let in-flight
//! requests finish within the grace period).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Context;
use http::{HeaderValue, Method, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use skewless_apimachinery::catalog::{Catalog, EmulatedVersion, RuntimeConfig};
use skewless_apimachinery::negotiate::{response_json_acceptable, wants_table};
use skewless_apimachinery::request_info::{GroupVersionResource, RequestInfo};
use skewless_apimachinery::status::ApiError;
use skewless_store::Store;
use skewless_store::etcd::{EtcdOptions, EtcdStore};
use skewless_store::sqlite::{SqliteOptions, SqliteStore};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::api::Api;
use crate::authn::{Authenticator, UserInfo};
use crate::authz::{AlwaysAllow, Authorizer};
use crate::http_util::{self, Body, Query};
use crate::options::ServeOptions;
use crate::options::UVIP;
use crate::tls::{ClientCertVerifiers, PeerCertificate};
use crate::{discovery, identity, namespaces, peers, rest, table, watch};
use skewless_peerproxy::proxy::{
    ForwardError, ForwardedUser, PEER_PROXIED_HEADER, PeerProxy, SyncTiming,
};
use skewless_peerproxy::routing::RoutingDecision as Decision;
use skewless_peerproxy::transport::{Transport, TransportConfig};

/// A started server.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub api: Arc<Api>,
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
    let transport = Transport::new(TransportConfig {
        peer_ca: crate::tls::load_certs(ca).context("--peer-ca-file")?,
        client_chain: crate::tls::load_certs(cert).context("--proxy-client-cert-file")?,
        client_key: crate::tls::load_key(key).context("--proxy-client-key-file")?,
        connect_timeout: std::time::Duration::from_secs(5),
    })
    .map_err(|e| anyhow::anyhow!("building the peer transport: {e}"))?;
    let timing = SyncTiming {
        resync: opts.peer.discovery_resync,
        request_timeout: opts.request_timeout,
        ..SyncTiming::default()
    };
    Ok(Some(PeerProxy::new(
        server_id.to_owned(),
        transport,
        timing,
    )))
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
    // Where peers dial us: --peer-advertise-ip/port when both are set, else
    // the bind address (loopback when bound to all) and the bound port.
    let peer_address = match (opts.peer.advertise_ip, opts.peer.advertise_port) {
        (Some(ip), Some(port)) => SocketAddr::new(ip, port).to_string(),
        _ => {
            let ip = if addr.ip().is_unspecified() {
                std::net::IpAddr::from([127, 0, 0, 1])
            } else {
                addr.ip()
            };
            SocketAddr::new(ip, addr.port()).to_string()
        }
    };
    let openapi = crate::openapi::OpenApiCache::default();
    let api = Arc::new_cyclic(|me| Api {
        me: me.clone(),
        store,
        openapi,
        registry: crate::registry::Registry::new(catalog),
        authn,
        metrics: crate::metrics::Metrics::default(),
        max_body: opts.max_request_body_bytes,
        bootstrapped: AtomicBool::new(false),
        shutting_down: AtomicBool::new(false),
        server_id: server_id.clone(),
        shutdown,
        version_info: discovery::version_info(version.major, version.minor),
        advertise: addr.to_string(),
        proxy: proxy.clone(),
        merged: crate::merged::MergedDiscovery::default(),
    });

    namespaces::bootstrap(&api)
        .await
        .context("creating the initial namespaces")?;
    api.bootstrapped.store(true, Ordering::Release);
    let controller = {
        let api = Arc::clone(&api);
        let interval = opts.compaction_interval;
        let timing = opts.identity;
        let holder = format!("{server_id}_{}", uuid::Uuid::new_v4());
        let advertise = gate.then(|| peer_address.clone());
        tokio::spawn(async move {
            let endpoint = async {
                if gate {
                    identity::run_endpoint(Arc::clone(&api), peer_address, timing).await;
                }
            };
            let peers = async {
                if let Some(proxy) = proxy {
                    peers::run(Arc::clone(&api), proxy).await;
                }
            };
            tokio::join!(
                namespaces::run(Arc::clone(&api)),
                crate::crds::run(Arc::clone(&api)),
                crate::compaction::run(Arc::clone(&api), interval),
                identity::run_lease(Arc::clone(&api), holder, advertise, timing),
                identity::run_gc(Arc::clone(&api), timing.gc_period),
                endpoint,
                peers,
            );
        })
    };

    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(accept_loop(
        listener,
        tls,
        verifiers,
        Arc::clone(&api),
        stop_rx,
        opts.shutdown_grace,
        controller,
    ));
    tracing::info!(%addr, server_id = %api.server_id, version = %emulated, "serving");
    Ok(RunningServer {
        addr,
        api,
        stop,
        task,
    })
}

async fn accept_loop(
    listener: TcpListener,
    tls: TlsAcceptor,
    verifiers: ClientCertVerifiers,
    api: Arc<Api>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    grace: std::time::Duration,
    controller: JoinHandle<()>,
) {
    let graceful = GracefulShutdown::new();
    let verifiers = Arc::new(verifiers);
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = tcp.set_nodelay(true);
        let tls = tls.clone();
        let api = Arc::clone(&api);
        let verifiers = Arc::clone(&verifiers);
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let handshake =
                tokio::time::timeout(std::time::Duration::from_secs(10), tls.accept(tcp)).await;
            let stream = match handshake {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%remote, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let chain: Vec<_> = stream
                .get_ref()
                .1
                .peer_certificates()
                .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default();
            let peer = Arc::new(verifiers.classify(&chain));
            let service = hyper::service::service_fn(move |req| {
                let api = Arc::clone(&api);
                let peer = Arc::clone(&peer);
                async move { Ok::<_, Infallible>(handle(&api, &peer, req).await) }
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            if let Err(e) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(%remote, error = %e, "connection ended with an error");
            }
        });
    }
    // Shutdown: fail readiness, end watches and controllers, then let
    // in-flight requests finish.
    api.shutting_down.store(true, Ordering::Release);
    let _ = api.shutdown.send(true);
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within the grace period");
    }
    let _ = controller.await;
    tracing::info!("stopped");
}

/// Canonical verb for metrics, as upstream labels it.
fn metric_verb(info: &RequestInfo, method: &Method) -> String {
    if !info.is_resource_request {
        return method.as_str().to_owned();
    }
    match info.verb.as_str() {
        "get" => "GET",
        "list" => "LIST",
        "watch" => "WATCH",
        "create" => "POST",
        "update" => "PUT",
        "patch" => "PATCH",
        "delete" | "deletecollection" => "DELETE",
        other => return other.to_ascii_uppercase(),
    }
    .to_owned()
}

async fn handle(api: &Api, peer: &PeerCertificate, req: http::Request<Incoming>) -> Response<Body> {
    let started = Instant::now();
    let (mut parts, body) = req.into_parts();
    let user = api.authn.authenticate(peer, &parts.headers);
    api.authn.strip_identity_headers(&mut parts.headers);
    let path = parts.uri.path().to_owned();
    let query_raw = parts.uri.query().map(str::to_owned);
    let info = match RequestInfo::parse(parts.method.as_str(), &path, query_raw.as_deref()) {
        Ok(info) => info,
        Err(e) => return http_util::error(&ApiError::from(e)),
    };
    let resp = match &user {
        None if !discovery::is_public(&path) => Err(ApiError::Unauthorized("Unauthorized".into())),
        _ => {
            let user = user.clone().unwrap_or_else(|| UserInfo {
                name: "system:anonymous".into(),
                groups: vec!["system:unauthenticated".into()],
                ..UserInfo::default()
            });
            match route(api, &user, &info, &parts) {
                Some(candidates) => {
                    let gvr = info
                        .group_version_resource()
                        .unwrap_or_else(|| GroupVersionResource::new("", "", ""));
                    proxy(api, &user, &parts, body, candidates, gvr).await
                }
                None => dispatch(api, &user, &info, &parts, query_raw.as_deref(), body).await,
            }
        }
    };
    let resp = resp.unwrap_or_else(|e| http_util::error(&e));
    let verb = metric_verb(&info, &parts.method);
    let code = resp.status().as_u16().to_string();
    let labels = [
        verb.as_str(),
        info.api_group.as_str(),
        info.api_version.as_str(),
        info.resource.as_str(),
        info.subresource.as_str(),
    ];
    api.metrics
        .requests
        .inc(&[labels[0], labels[1], labels[2], labels[3], labels[4], &code]);
    api.metrics
        .request_duration
        .observe(&labels, started.elapsed());
    if parts
        .headers
        .get(PEER_PROXIED_HEADER)
        .is_some_and(|v| v.as_bytes() == b"true")
    {
        api.metrics
            .peer_proxied_received
            .inc(&[&code, labels[1], labels[2], labels[3]]);
    }
    tracing::debug!(method = %parts.method, %path, status = %code, elapsed = ?started.elapsed(), user = user.as_ref().map(|u| u.name.as_str()).unwrap_or("anonymous"), "request");
    resp
}

/// Legacy discovery of a group or group/version that only peers serve is
/// answered by one of them (beyond upstream, where it is local-only), so
/// clients using legacy discovery see the whole control plane.
fn peer_discovery_route(api: &Api, path: &str) -> Option<Vec<String>> {
    let proxy = api.proxy.as_ref()?;
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version) = match segments.as_slice() {
        ["apis", g] => (*g, None),
        ["apis", g, v] => (*g, Some(*v)),
        _ => return None,
    };
    let local = match version {
        None => api.catalog().group(group).is_some(),
        Some(v) => api.catalog().serves(group, v),
    };
    if local {
        return None;
    }
    let mut candidates: Vec<String> = proxy
        .peer_served_group_versions()
        .into_iter()
        .filter(|((g, v), _)| g == group && version.is_none_or(|want| want == v))
        .flat_map(|(_, peers)| peers)
        .collect();
    candidates.sort();
    candidates.dedup();
    (!candidates.is_empty()).then_some(candidates)
}

/// The Mixed Version Proxy's decision for a request: `None` serves it
/// here (including "nobody serves it": the local 404 stands), `Some` lists
/// the peers that can.
fn route(
    api: &Api,
    _user: &UserInfo,
    info: &RequestInfo,
    parts: &http::request::Parts,
) -> Option<Result<Vec<String>, ApiError>> {
    let proxy = api.proxy.as_ref()?;
    let gvr = info.group_version_resource()?;
    let already_proxied = parts
        .headers
        .get(PEER_PROXIED_HEADER)
        .is_some_and(|v| v.as_bytes() == b"true");
    let local = api
        .resource(&gvr.group, &gvr.version, &gvr.resource)
        .is_some();
    match proxy.route(already_proxied, &gvr, local) {
        Decision::Local | Decision::NotServed => None,
        Decision::Proxy { candidates } => Some(Ok(candidates
            .into_iter()
            .map(|c| c.as_str().to_owned())
            .collect())),
        Decision::NoEndpoint => {
            proxy.metrics.proxy_errors.inc(&[
                "endpoint_resolution",
                &gvr.group,
                &gvr.version,
                &gvr.resource,
            ]);
            Some(Err(ApiError::ServiceUnavailable {
                message: "Error getting ip and port info of the remote server while proxying"
                    .into(),
                retry_after_seconds: Some(1),
            }))
        }
        Decision::AllPeersDown => Some(Err(ApiError::ServiceUnavailable {
            message: format!("no peer API server serving {gvr} is reachable right now"),
            retry_after_seconds: Some(1),
        })),
    }
}

/// Forwards the request to a peer that serves it and relays the answer.
async fn proxy(
    api: &Api,
    user: &UserInfo,
    parts: &http::request::Parts,
    body: Incoming,
    candidates: Result<Vec<String>, ApiError>,
    gvr: GroupVersionResource,
) -> Result<Response<Body>, ApiError> {
    let mut candidates = candidates?;
    let Some(proxy) = &api.proxy else {
        return Err(ApiError::InternalError(
            "no peer proxy for a proxied request".into(),
        ));
    };
    if user.name.is_empty() || user.name == "system:anonymous" {
        return Err(ApiError::InternalError(
            "no authenticated user to forward to the peer".into(),
        ));
    }
    // Spread load across the capable peers.
    if !candidates.is_empty() {
        // Round-robin start: spreads load like a random pick without a
        // random-number syscall per request.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let start = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % candidates.len();
        candidates.rotate_left(start);
    }
    let forwarded = ForwardedUser {
        name: user.name.clone(),
        uid: user.uid.clone(),
        groups: user.groups.clone(),
        extra: user.extra.clone(),
    };
    let body = http_body_util::BodyExt::boxed_unsync(http_body_util::BodyExt::map_err(
        body,
        |e| -> crate::http_util::BoxError { Box::new(e) },
    ));
    match proxy
        .forward(&candidates, &gvr, parts, body, &forwarded)
        .await
    {
        Ok(resp) => {
            let watch =
                RequestInfo::parse(parts.method.as_str(), parts.uri.path(), parts.uri.query())
                    .is_ok_and(|i| i.verb == "watch");
            let shutdown = api.shutdown.subscribe();
            Ok(resp.map(|b| {
                let b = http_body_util::BodyExt::map_err(b, |e| -> crate::http_util::BoxError {
                    Box::new(e)
                });
                if watch {
                    until_shutdown(b, shutdown)
                } else {
                    http_body_util::BodyExt::boxed_unsync(b)
                }
            }))
        }
        Err(ForwardError::Unreachable { tried, last }) => Err(ApiError::ServiceUnavailable {
            message: format!(
                "{gvr} is served only by peer API servers, and none could be reached (tried {}): {last}",
                tried.join(", ")
            ),
            retry_after_seconds: Some(1),
        }),
        Err(ForwardError::NoEndpoint) => Err(ApiError::ServiceUnavailable {
            message: "Error getting ip and port info of the remote server while proxying".into(),
            retry_after_seconds: Some(1),
        }),
        Err(ForwardError::PeerFailed(e)) => Err(ApiError::ServiceUnavailable {
            message: format!("error trying to reach the peer API server serving {gvr}: {e}"),
            retry_after_seconds: Some(1),
        }),
        Err(ForwardError::Timeout) => Err(ApiError::Timeout {
            message: format!("the peer API server serving {gvr} did not answer in time"),
            retry_after_seconds: Some(1),
        }),
        Err(ForwardError::Upgrade) => Err(ApiError::BadRequest(
            "connection upgrades cannot be proxied to a peer API server".into(),
        )),
    }
}

/// Ends a relayed watch once this server begins shutting down, as its own
/// watches end: the client re-establishes it through another server, and
/// graceful shutdown does not wait for the peer's watch to time out.
fn until_shutdown<B>(body: B, mut shutdown: tokio::sync::watch::Receiver<bool>) -> Body
where
    B: http_body::Body<Data = bytes::Bytes, Error = crate::http_util::BoxError> + Send + 'static,
{
    let stopping = async move {
        while !*shutdown.borrow_and_update() {
            if shutdown.changed().await.is_err() {
                return;
            }
        }
    };
    let frames = futures::StreamExt::take_until(http_body_util::BodyStream::new(body), stopping);
    http_body_util::BodyExt::boxed_unsync(http_body_util::StreamBody::new(frames))
}

async fn dispatch(
    api: &Api,
    user: &UserInfo,
    info: &RequestInfo,
    parts: &http::request::Parts,
    query_raw: Option<&str>,
    body: Incoming,
) -> Result<Response<Body>, ApiError> {
    AlwaysAllow.authorize(user, info)?;
    let query = Query::parse(query_raw);
    if !info.is_resource_request {
        if parts.method != Method::GET && parts.method != Method::HEAD {
            if discovery::handle(api, &info.path, &query, &parts.headers).is_some() {
                return Err(ApiError::MethodNotSupported {
                    resource: Default::default(),
                    action: parts.method.as_str().to_owned(),
                });
            }
            return Err(ApiError::not_found_path());
        }
        if let Some(candidates) = peer_discovery_route(api, &info.path) {
            return proxy(
                api,
                user,
                parts,
                body,
                Ok(candidates),
                GroupVersionResource::new("", "", ""),
            )
            .await;
        }
        // OpenAPI documents are built on first use only (they are large).
        if info.path.starts_with("/openapi/") {
            return api
                .openapi()
                .handle(&info.path, &query, &parts.headers)
                .unwrap_or_else(|| Err(ApiError::not_found_path()));
        }
        return discovery::handle(api, &info.path, &query, &parts.headers)
            .unwrap_or_else(|| Err(ApiError::not_found_path()));
    }
    let Some(resource) = api.resource(&info.api_group, &info.api_version, &info.resource) else {
        return Err(ApiError::not_found_path());
    };
    let resource: &skewless_apimachinery::catalog::ResourceInfo = &resource;
    let crd = api
        .catalog()
        .crd(&info.api_group, &info.api_version, &info.resource);
    let namespace_finalize = info.resource == "namespaces"
        && info.api_group.is_empty()
        && info.subresource == "finalize";
    let verbs = if info.subresource.is_empty() {
        &resource.verbs
    } else {
        match resource.subresource(&info.subresource) {
            Some(s) => &s.verbs,
            None if namespace_finalize => &resource.verbs,
            None => return Err(ApiError::not_found_path()),
        }
    };
    let verb_ok = match info.verb.as_str() {
        // The list verb covers watch only when listed; both must be served.
        v if namespace_finalize => v == "update",
        v => verbs.iter().any(|s| s == v),
    };
    if !verb_ok {
        return Err(ApiError::MethodNotSupported {
            resource: skewless_apimachinery::request_info::GroupResource::new(
                resource.group.clone(),
                resource.resource.clone(),
            ),
            action: info.verb.clone(),
        });
    }
    let accept = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if !response_json_acceptable(&accept) {
        return Err(ApiError::NotAcceptable {
            accepted: vec!["application/json".into(), "application/yaml".into()],
        });
    }
    let body = match info.verb.as_str() {
        "create" | "update" | "patch" | "delete" | "deletecollection" => {
            http_util::read_body(body, api.max_body).await?
        }
        _ => bytes::Bytes::new(),
    };
    let req = rest::Request {
        api,
        user,
        info,
        resource,
        crd: crd.as_deref(),
        query: &query,
        headers: &parts.headers,
        body,
    };
    let as_table = wants_table(&accept);
    let mut resp = match info.verb.as_str() {
        "get" if as_table && info.subresource.is_empty() => {
            let obj = rest::get_value(&req).await?;
            let meta = serde_json::json!({"resourceVersion": crate::object::meta_str(&obj, "resourceVersion")});
            http_util::json(
                StatusCode::OK,
                &table::table(
                    resource,
                    crd.as_deref(),
                    &[obj],
                    query.get("includeObject"),
                    meta,
                ),
            )
        }
        "get" => rest::get(&req).await?,
        "list" => {
            let list = rest::list(&req).await?;
            if as_table {
                let items = list["items"].as_array().cloned().unwrap_or_default();
                http_util::json(
                    StatusCode::OK,
                    &table::table(
                        resource,
                        crd.as_deref(),
                        &items,
                        query.get("includeObject"),
                        list["metadata"].clone(),
                    ),
                )
            } else {
                http_util::json(StatusCode::OK, &list)
            }
        }
        "watch" => watch::watch(&req, as_table).await?,
        "create" => rest::create(&req).await?,
        "update" => rest::update(&req).await?,
        "patch" => rest::patch(&req).await?,
        "delete" => rest::delete(&req).await?,
        "deletecollection" => rest::delete_collection(&req).await?,
        other => {
            return Err(ApiError::MethodNotSupported {
                resource: Default::default(),
                action: other.to_owned(),
            });
        }
    };
    if parts.method == Method::HEAD {
        *resp.body_mut() = http_util::empty();
    }
    if let Some(warning) = crd.as_ref().and_then(|c| c.deprecation_warning.clone()) {
        crate::openapi::add_warnings(&mut resp, &[warning]);
    }
    resp.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache, private"));
    Ok(resp)
}

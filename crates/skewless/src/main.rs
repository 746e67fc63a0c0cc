//! `skewless`: a Kubernetes-compatible API server for mixed-version control
//! planes. `skewless serve` runs one server; flags carry kube-apiserver's
//! names wherever kube-apiserver has the flag. `skewless cluster` runs a
//! local control plane of several servers and rehearses upgrades of it.
//! `skewless metrics-server` runs the sample extension API server.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use skewless_server::options::AuthorizationMode;
use skewless_server::{RequestHeaderOptions, ServeOptions};

mod cluster;
mod duration;
mod malloc;
mod metrics_server;
mod shutdown;

use duration::GoDuration;

#[derive(Parser)]
#[command(
    name = "skewless",
    version,
    // A flag given twice takes its last value, as kube-apiserver's do.
    args_override_self = true,
    about = "A Kubernetes-compatible API server whose control plane stays correct across versions"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one API server.
    Serve(Box<ServeArgs>),
    /// A local mixed-version control plane: up, status, upgrade, logs, down.
    Cluster(Box<cluster::ClusterArgs>),
    /// Run the sample extension API server (metrics.k8s.io/v1beta1 with synthetic usage).
    MetricsServer(Box<metrics_server::MetricsServerArgs>),
}

/// `serve`'s flag defaults: the server's own.
fn defaults() -> ServeOptions {
    ServeOptions::default()
}

fn comma_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[derive(Args)]
struct ServeArgs {
    /// The IP address on which to listen for the --secure-port port.
    #[arg(long, default_value_t = defaults().bind_address)]
    bind_address: IpAddr,
    /// The port on which to serve HTTPS (0 picks a free port).
    #[arg(long, default_value_t = defaults().secure_port)]
    secure_port: u16,
    /// File containing the default x509 certificate for HTTPS.
    #[arg(long)]
    tls_cert_file: Option<PathBuf>,
    /// File containing the default x509 private key matching --tls-cert-file.
    #[arg(long)]
    tls_private_key_file: Option<PathBuf>,
    /// The directory where a generated self-signed certificate is kept
    /// (default: <data-dir>/certs).
    #[arg(long)]
    cert_dir: Option<PathBuf>,
    /// Where the embedded store keeps its database.
    #[arg(long, default_value_os_t = defaults().data_dir)]
    data_dir: PathBuf,
    /// Comma-separated etcd servers (http://host:port); uses etcd instead of the embedded store.
    #[arg(long, default_value_t = defaults().etcd_servers.join(","))]
    etcd_servers: String,
    /// The prefix for all resource paths in etcd.
    #[arg(long, default_value_t = defaults().etcd_prefix)]
    etcd_prefix: String,
    /// Client certificates signed by this CA authenticate as CN (user) / O (groups).
    #[arg(long)]
    client_ca_file: Option<PathBuf>,
    /// Static bearer tokens: CSV token,user,uid[,"group1,group2"].
    #[arg(long)]
    token_auth_file: Option<PathBuf>,
    /// Requests without credentials are system:anonymous (authorization decides what they reach); false: 401.
    #[arg(long, default_value_t = defaults().anonymous_auth, action = clap::ArgAction::Set)]
    anonymous_auth: bool,
    /// Ordered authorizers: AlwaysAllow, AlwaysDeny, RBAC (system:masters is always allowed).
    #[arg(long, default_value = "RBAC")]
    authorization_mode: String,
    /// Where audit events are written as JSON lines ('-': standard output); needs --audit-policy-file.
    #[arg(long)]
    audit_log_path: Option<String>,
    /// The audit.k8s.io/v1 Policy deciding which requests are logged at which level.
    #[arg(long)]
    audit_policy_file: Option<PathBuf>,
    /// Megabytes an audit log file may reach before it is rotated (0: never).
    #[arg(long, default_value_t = defaults().audit.max_size_mb)]
    audit_log_maxsize: u64,
    /// Rotated audit log files to keep (0: all).
    #[arg(long, default_value_t = defaults().audit.max_backups)]
    audit_log_maxbackup: u32,
    /// Days to keep rotated audit log files (0: forever).
    #[arg(long, default_value_t = defaults().audit.max_age_days)]
    audit_log_maxage: u32,
    /// CA that signs front-proxy client certificates allowed to assert users in headers.
    #[arg(long)]
    requestheader_client_ca_file: Option<PathBuf>,
    /// Common names of front-proxy certificates allowed to assert users (empty: any).
    #[arg(long, default_value_t = defaults().requestheader.allowed_names.join(","))]
    requestheader_allowed_names: String,
    #[arg(long, default_value_t = defaults().requestheader.username_headers.join(","))]
    requestheader_username_headers: String,
    #[arg(long, default_value_t = defaults().requestheader.uid_headers.join(","))]
    requestheader_uid_headers: String,
    #[arg(long, default_value_t = defaults().requestheader.group_headers.join(","))]
    requestheader_group_headers: String,
    #[arg(long, default_value_t = defaults().requestheader.extra_headers_prefix.join(","))]
    requestheader_extra_headers_prefix: String,
    /// The Kubernetes version whose API this server serves (1.35 or 1.36).
    #[arg(long, default_value_t = defaults().emulated_version)]
    emulated_version: String,
    /// Enable or disable API group/versions: api/all, api/alpha, api/beta, <group>/<version>=true|false.
    #[arg(long, default_value_t = defaults().runtime_config)]
    runtime_config: String,
    /// This server's identity (default: the hostname).
    #[arg(long)]
    apiserver_id: Option<String>,
    /// How often old history is compacted (e.g. 5m, 30s; 0 disables).
    #[arg(long, default_value_t = GoDuration(defaults().compaction_interval))]
    etcd_compaction_interval: GoDuration,
    /// How long a group/version must be served by no live API server before its local APIService is removed (e.g. 30s).
    #[arg(long, default_value_t = GoDuration(defaults().apiservice_removal_grace))]
    apiservice_removal_grace: GoDuration,
    /// Feature gates: UnknownVersionInteroperabilityProxy=true|false (default true).
    #[arg(long, default_value = "")]
    feature_gates: String,
    /// CA bundle that signs peer API servers' serving certificates; turns the Mixed Version Proxy on.
    #[arg(long)]
    peer_ca_file: Option<PathBuf>,
    /// The IP peers use to reach this server (default: --advertise-address, else the bind address, else the default route's interface).
    #[arg(long)]
    peer_advertise_ip: Option<IpAddr>,
    /// The port peers use to reach this server (default: the bound port).
    #[arg(long)]
    peer_advertise_port: Option<u16>,
    /// Client certificate this server presents to peers when proxying.
    #[arg(long)]
    proxy_client_cert_file: Option<PathBuf>,
    /// Key of --proxy-client-cert-file.
    #[arg(long)]
    proxy_client_key_file: Option<PathBuf>,
    /// Deadline of non-watch requests.
    #[arg(long, default_value_t = GoDuration(defaults().request_timeout))]
    request_timeout: GoDuration,
    /// How long a peer may take to send the response headers of a proxied request before it is suspect and reads go to another peer.
    #[arg(long, default_value_t = GoDuration(defaults().peer.hop_timeout))]
    peer_proxy_hop_timeout: GoDuration,
    /// Non-mutating requests served at once (0: no limit); beyond it 429, except for watches and system:masters.
    #[arg(long, default_value_t = defaults().max_requests_inflight)]
    max_requests_inflight: usize,
    /// Mutating requests served at once (0: no limit); beyond it 429, except for system:masters.
    #[arg(long, default_value_t = defaults().max_mutating_requests_inflight)]
    max_mutating_requests_inflight: usize,
    /// Client connections served at once; 0 takes the open file limit (raised to its maximum) less a reserve.
    #[arg(long, default_value_t = defaults().max_connections)]
    max_connections: usize,
    /// Seconds a watch without timeoutSeconds stays open at least; it ends after a random time between this and twice this (0: until the client leaves).
    #[arg(long, default_value_t = defaults().min_request_timeout.as_secs())]
    min_request_timeout: u64,
    /// Serve GET, LIST and WATCH from an in-memory cache of each resource (false: from storage).
    #[arg(long, default_value_t = defaults().watch_cache, action = clap::ArgAction::Set)]
    watch_cache: bool,
    /// Recent events each resource's watch cache keeps; a watch resuming from an older revision the cache held gets 410 Expired.
    #[arg(long, default_value_t = defaults().watch_cache_window)]
    watch_cache_window: usize,
    /// The IP address clients (and peers, without --peer-advertise-ip) reach this server at.
    #[arg(long)]
    advertise_address: Option<IpAddr>,
    /// A CIDR range of IPs to assign to Services; the `kubernetes` Service gets its first address.
    #[arg(long, default_value_t = defaults().service_cluster_ip_range.to_string())]
    service_cluster_ip_range: String,
    /// A port range to reserve for services with NodePort visibility (e.g. '30000-32767'), inclusive at both ends.
    #[arg(long, default_value_t = defaults().service_node_port_range.to_string())]
    service_node_port_range: String,
    /// How long an identity lease is valid without renewal.
    #[arg(long, default_value_t = GoDuration(defaults().identity.lease_duration))]
    identity_lease_duration: GoDuration,
    /// How often the identity lease is renewed.
    #[arg(long, default_value_t = GoDuration(defaults().identity.renew_interval))]
    identity_lease_renew_interval: GoDuration,
    /// How often expired identity leases are garbage-collected.
    #[arg(long, default_value_t = GoDuration(defaults().identity.gc_period))]
    identity_lease_gc_period: GoDuration,
    /// Time-to-live of this server's peer endpoint (refreshed at two thirds of it).
    #[arg(long, default_value_t = GoDuration(defaults().identity.endpoint_ttl))]
    peer_endpoint_ttl: GoDuration,
    /// How often peers' discovery is re-checked (conditional requests).
    #[arg(long, default_value_t = GoDuration(defaults().peer.discovery_resync))]
    peer_discovery_resync: GoDuration,
    /// Seconds in-flight requests get to finish on SIGTERM.
    #[arg(long, default_value_t = defaults().shutdown_grace.as_secs())]
    shutdown_grace_seconds: u64,
}

impl ServeArgs {
    fn into_options(self) -> anyhow::Result<ServeOptions> {
        let cert_dir = self.cert_dir.unwrap_or_else(|| self.data_dir.join("certs"));
        Ok(ServeOptions {
            bind_address: self.bind_address,
            secure_port: self.secure_port,
            tls_cert_file: self.tls_cert_file,
            tls_private_key_file: self.tls_private_key_file,
            cert_dir,
            data_dir: self.data_dir,
            etcd_servers: comma_list(&self.etcd_servers),
            etcd_prefix: self.etcd_prefix,
            client_ca_file: self.client_ca_file,
            token_auth_file: self.token_auth_file,
            requestheader: RequestHeaderOptions {
                client_ca_file: self.requestheader_client_ca_file,
                allowed_names: comma_list(&self.requestheader_allowed_names),
                username_headers: comma_list(&self.requestheader_username_headers),
                uid_headers: comma_list(&self.requestheader_uid_headers),
                group_headers: comma_list(&self.requestheader_group_headers),
                extra_headers_prefix: comma_list(&self.requestheader_extra_headers_prefix),
            },
            anonymous_auth: self.anonymous_auth,
            audit: skewless_server::options::AuditOptions {
                log_path: self.audit_log_path,
                policy_file: self.audit_policy_file,
                max_size_mb: self.audit_log_maxsize,
                max_backups: self.audit_log_maxbackup,
                max_age_days: self.audit_log_maxage,
            },
            authorization_modes: AuthorizationMode::parse_list(&self.authorization_mode).map_err(
                |e| {
                    anyhow::anyhow!(
                        "invalid argument {:?} for \"--authorization-mode\" flag: {e}",
                        self.authorization_mode
                    )
                },
            )?,
            emulated_version: self.emulated_version,
            runtime_config: self.runtime_config,
            apiserver_id: self.apiserver_id,
            shutdown_grace: Duration::from_secs(self.shutdown_grace_seconds),
            compaction_interval: self.etcd_compaction_interval.0,
            apiservice_removal_grace: self.apiservice_removal_grace.0,
            feature_gates: skewless_server::options::FeatureGates::parse(&self.feature_gates)
                .map_err(|e| {
                    anyhow::anyhow!(
                        "invalid argument \"{}\" for \"--feature-gates\" flag: {e}",
                        self.feature_gates
                    )
                })?,
            peer: skewless_server::options::PeerOptions {
                ca_file: self.peer_ca_file,
                advertise_ip: self.peer_advertise_ip,
                advertise_port: self.peer_advertise_port,
                proxy_client_cert_file: self.proxy_client_cert_file,
                proxy_client_key_file: self.proxy_client_key_file,
                discovery_resync: self.peer_discovery_resync.0,
                hop_timeout: self.peer_proxy_hop_timeout.0,
            },
            advertise_address: self.advertise_address,
            service_cluster_ip_range: self.service_cluster_ip_range.parse().map_err(|e| {
                anyhow::anyhow!(
                    "invalid argument {:?} for \"--service-cluster-ip-range\" flag: {e}",
                    self.service_cluster_ip_range
                )
            })?,
            service_node_port_range: self.service_node_port_range.parse().map_err(|e| {
                anyhow::anyhow!(
                    "invalid argument {:?} for \"--service-node-port-range\" flag: {e}",
                    self.service_node_port_range
                )
            })?,
            max_connections: self.max_connections,
            min_request_timeout: Duration::from_secs(self.min_request_timeout),
            watch_cache: self.watch_cache,
            watch_cache_window: self.watch_cache_window,
            max_requests_inflight: self.max_requests_inflight,
            max_mutating_requests_inflight: self.max_mutating_requests_inflight,
            identity: skewless_server::identity::IdentityTiming {
                lease_duration: self.identity_lease_duration.0,
                renew_interval: self.identity_lease_renew_interval.0,
                gc_period: self.identity_lease_gc_period.0,
                endpoint_ttl: self.peer_endpoint_ttl.0,
                endpoint_refresh: self.peer_endpoint_ttl.0 * 2 / 3,
            },
            request_timeout: self.request_timeout.0,
            ..ServeOptions::default()
        })
    }
}

fn main() -> std::process::ExitCode {
    // Before the runtime starts its threads.
    malloc::tune();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("skewless: starting the runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SKEWLESS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => match args.into_options() {
            Ok(opts) => serve(opts).await,
            Err(e) => Err(e),
        },
        Command::MetricsServer(args) => metrics_server::run(*args).await,
        Command::Cluster(args) => match cluster::run(*args).await {
            Ok(code) => return code,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("skewless: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// How often `serve` gives free heap memory back to the kernel.
const MALLOC_TRIM_PERIOD: Duration = Duration::from_secs(1);

async fn serve(opts: ServeOptions) -> anyhow::Result<()> {
    let server = skewless_server::start(opts).await?;
    // Tests and scripts read the address from this line.
    println!("serving on https://{}", server.addr);
    let stop = server.stopper();
    tokio::spawn(async move {
        shutdown::terminated().await;
        tracing::info!("shutting down");
        let _ = stop.send(true);
    });
    let trim = tokio::spawn(malloc::trim_every(MALLOC_TRIM_PERIOD));
    server.wait().await;
    trim.abort();
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn flag_defaults_are_the_servers() {
        let cli = Cli::try_parse_from(["skewless", "serve"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        let parsed = args.into_options().unwrap();
        let d = ServeOptions::default();
        assert_eq!(format!("{parsed:?}"), format!("{d:?}"));
    }

    #[test]
    fn durations_show_in_their_largest_whole_unit() {
        for s in ["0", "1h", "5m", "15s", "500ms"] {
            assert_eq!(s.parse::<GoDuration>().unwrap().to_string(), s);
        }
        assert_eq!(GoDuration(Duration::from_secs(60)).to_string(), "1m");
    }
}

//! What `skewless serve` is told on its command line, as plain data. The
//! binary parses flags (named as kube-apiserver names them) into this; the
//! server never reads the environment or argv itself.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Everything a server needs to start.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// `--bind-address`.
    pub bind_address: IpAddr,
    /// `--secure-port`; `0` picks a free port (tests).
    pub secure_port: u16,
    /// `--tls-cert-file` / `--tls-private-key-file`; when absent a
    /// self-signed pair is generated into `cert_dir` (and reused).
    pub tls_cert_file: Option<PathBuf>,
    pub tls_private_key_file: Option<PathBuf>,
    /// `--cert-dir`.
    pub cert_dir: PathBuf,
    /// `--data-dir`: where the embedded SQLite database lives.
    pub data_dir: PathBuf,
    /// `--etcd-servers`: use etcd instead of the embedded store.
    pub etcd_servers: Vec<String>,
    /// `--etcd-prefix`.
    pub etcd_prefix: String,
    /// `--client-ca-file`: client certificates signed by it authenticate
    /// as CN (user) and O (groups).
    pub client_ca_file: Option<PathBuf>,
    /// `--token-auth-file`: kube-apiserver's static token CSV.
    pub token_auth_file: Option<PathBuf>,
    /// Front-proxy (request-header) authentication.
    pub requestheader: RequestHeaderOptions,
    /// `--anonymous-auth`: requests without credentials are
    /// `system:anonymous` (authorization decides what they reach); when
    /// off they get 401.
    pub anonymous_auth: bool,
    /// `--authorization-mode`, in order.
    pub authorization_modes: Vec<AuthorizationMode>,
    /// `--audit-*`.
    pub audit: AuditOptions,
    /// `--emulated-version`, e.g. `1.35`.
    pub emulated_version: String,
    /// `--runtime-config`.
    pub runtime_config: String,
    /// `--apiserver-id`: this server's identity (defaults from the hostname).
    pub apiserver_id: Option<String>,
    /// How long in-flight requests may take to finish on SIGTERM.
    pub shutdown_grace: Duration,
    /// `--max-request-body-bytes`-like limit (3 MiB as kube-apiserver).
    pub max_request_body_bytes: usize,
    /// `--etcd-compaction-interval` (applies to both engines); zero disables.
    pub compaction_interval: Duration,
    /// `--apiservice-removal-grace`: how long a group/version must be
    /// served by no live server before its local APIService is removed.
    pub apiservice_removal_grace: Duration,
    /// `--feature-gates`, parsed.
    pub feature_gates: FeatureGates,
    /// The Mixed Version Proxy's flags.
    pub peer: PeerOptions,
    /// Identity lease and peer endpoint timing.
    pub identity: IdentityTiming,
    /// `--request-timeout`: the deadline of non-watch requests.
    pub request_timeout: Duration,
    /// `--max-requests-inflight`: reads served at once (0: unbounded).
    pub max_requests_inflight: usize,
    /// `--max-mutating-requests-inflight`: writes served at once (0: unbounded).
    pub max_mutating_requests_inflight: usize,
    /// `--max-connections`: client connections served at once (0: the
    /// open file limit, raised to its maximum at start, less a reserve).
    pub max_connections: usize,
    /// `--min-request-timeout`: a watch without `timeoutSeconds` (or with
    /// 0) ends after a random time between this and twice this, as
    /// upstream; zero lets such watches run until the client leaves.
    pub min_request_timeout: Duration,
    /// `--watch-cache`: serve reads and watches from each resource's
    /// in-memory cache (on by default).
    pub watch_cache: bool,
    /// `--watch-cache-window`: recent events each resource's cache keeps
    /// for watches that resume from a past revision.
    pub watch_cache_window: usize,
    /// `--advertise-address`: the IP clients (and, without
    /// `--peer-advertise-ip`, peers) reach this server at.
    pub advertise_address: Option<IpAddr>,
    /// `--service-cluster-ip-range`: the `kubernetes` Service gets its
    /// first address.
    pub service_cluster_ip_range: ServiceCidr,
    /// `--service-node-port-range`: the ports NodePort and LoadBalancer
    /// Services get theirs from.
    pub service_node_port_range: NodePortRange,
}

/// `--service-node-port-range` (`30000-32767`, both ends included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodePortRange {
    pub base: u16,
    /// How many ports, from `base` on.
    pub size: u16,
}

impl NodePortRange {
    /// The last port of the range.
    pub fn last(&self) -> u16 {
        self.base.saturating_add(self.size.saturating_sub(1))
    }

    pub fn contains(&self, port: u16) -> bool {
        port >= self.base && port <= self.last()
    }
}

impl std::fmt::Display for NodePortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.base, self.last())
    }
}

impl FromStr for NodePortRange {
    type Err = String;

    /// `low-high`, `low+size` or a single port, as upstream's `PortRange`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("unable to parse port range: {s}");
        let s = s.trim();
        let (base, size) = if let Some((low, high)) = s.split_once('-') {
            let low: u16 = low.trim().parse().map_err(|_| bad())?;
            let high: u16 = high.trim().parse().map_err(|_| bad())?;
            if high < low {
                return Err(bad());
            }
            (low, high - low + 1)
        } else if let Some((low, offset)) = s.split_once('+') {
            let low: u16 = low.trim().parse().map_err(|_| bad())?;
            let offset: u16 = offset.trim().parse().map_err(|_| bad())?;
            if u32::from(low) + u32::from(offset) > u32::from(u16::MAX) {
                return Err(bad());
            }
            (low, offset + 1)
        } else {
            (s.parse().map_err(|_| bad())?, 1)
        };
        if base == 0 {
            return Err(bad());
        }
        Ok(Self { base, size })
    }
}

/// `--service-cluster-ip-range`, one CIDR (skewless is single-stack).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceCidr {
    /// The network address (host bits cleared, as Go's `net.ParseCIDR`).
    pub network: IpAddr,
    pub prefix_len: u8,
}

impl ServiceCidr {
    /// The first address after the network address: the `kubernetes`
    /// Service's ClusterIP (`10.0.0.1` for `10.0.0.0/24`).
    pub fn first_address(&self) -> IpAddr {
        match self.network {
            IpAddr::V4(n) => IpAddr::from(u32::from(n).wrapping_add(1).to_be_bytes()),
            IpAddr::V6(n) => IpAddr::from(u128::from(n).wrapping_add(1).to_be_bytes()),
        }
    }
}

impl std::fmt::Display for ServiceCidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

impl FromStr for ServiceCidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.contains(',') {
            return Err("dual-stack service CIDRs are not supported by skewless".into());
        }
        let (ip, len) = s
            .split_once('/')
            .ok_or_else(|| format!("invalid CIDR address: {s}"))?;
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| format!("invalid CIDR address: {s}"))?;
        let len: u8 = len
            .parse()
            .map_err(|_| format!("invalid CIDR address: {s}"))?;
        let bits: u8 = if ip.is_ipv4() { 32 } else { 128 };
        if len > bits {
            return Err(format!("invalid CIDR address: {s}"));
        }
        // Room for a network address and at least one Service.
        if bits - len < 2 {
            return Err(format!(
                "specified --service-cluster-ip-range {s} is too small"
            ));
        }
        let network = match ip {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(u32::from(32 - len)).unwrap_or(0);
                IpAddr::from((u32::from(a) & mask).to_be_bytes())
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX.checked_shl(u32::from(128 - len)).unwrap_or(0);
                IpAddr::from((u128::from(a) & mask).to_be_bytes())
            }
        };
        Ok(Self {
            network,
            prefix_len: len,
        })
    }
}

/// `--authorization-mode` values skewless implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizationMode {
    AlwaysAllow,
    AlwaysDeny,
    Rbac,
}

impl FromStr for AuthorizationMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "AlwaysAllow" => Ok(AuthorizationMode::AlwaysAllow),
            "AlwaysDeny" => Ok(AuthorizationMode::AlwaysDeny),
            "RBAC" => Ok(AuthorizationMode::Rbac),
            "Node" | "ABAC" | "Webhook" => Err(format!(
                "authorization mode {s:?} is not supported by skewless (supported: AlwaysAllow, AlwaysDeny, RBAC)"
            )),
            other => Err(format!("unknown authorization mode {other:?}")),
        }
    }
}

impl AuthorizationMode {
    /// Parses `--authorization-mode=RBAC,AlwaysAllow` (no duplicates, at
    /// least one mode, as kube-apiserver checks).
    pub fn parse_list(s: &str) -> Result<Vec<AuthorizationMode>, String> {
        let mut modes = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let mode: AuthorizationMode = part.parse()?;
            if modes.contains(&mode) {
                return Err(format!(
                    "authorization-mode {part:?} has been specified twice"
                ));
            }
            modes.push(mode);
        }
        if modes.is_empty() {
            return Err("at least one authorization-mode must be passed".into());
        }
        Ok(modes)
    }
}

/// The audit log's flags, as kube-apiserver's.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// `--audit-log-path` (`-`: standard output); no audit without it.
    pub log_path: Option<String>,
    /// `--audit-policy-file`; no audit without it.
    pub policy_file: Option<PathBuf>,
    /// `--audit-log-maxsize`: megabytes before the file is rotated (0: never).
    pub max_size_mb: u64,
    /// `--audit-log-maxbackup`: rotated files kept (0: all).
    pub max_backups: u32,
    /// `--audit-log-maxage`: days rotated files are kept (0: forever).
    pub max_age_days: u32,
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self {
            log_path: None,
            policy_file: None,
            // What kube-apiserver's writer does with its flag's 0.
            max_size_mb: 100,
            max_backups: 0,
            max_age_days: 0,
        }
    }
}

/// `--peer-*` and `--proxy-client-*`.
#[derive(Debug, Clone, Default)]
pub struct PeerOptions {
    /// `--peer-ca-file`: verifies peers' serving certificates; the proxy is
    /// active only when set.
    pub ca_file: Option<PathBuf>,
    /// `--peer-advertise-ip` / `--peer-advertise-port`.
    pub advertise_ip: Option<IpAddr>,
    pub advertise_port: Option<u16>,
    /// `--proxy-client-cert-file` / `--proxy-client-key-file`.
    pub proxy_client_cert_file: Option<PathBuf>,
    pub proxy_client_key_file: Option<PathBuf>,
    /// How often peers' discovery is re-checked.
    pub discovery_resync: Duration,
    /// `--peer-proxy-hop-timeout`: how long a peer may take to send the
    /// response headers of a proxied request or a discovery fetch before it
    /// is suspect (and a read goes to another peer).
    pub hop_timeout: Duration,
}

/// Feature gates this server knows, with kube-apiserver 1.36's defaults.
#[derive(Debug, Clone)]
pub struct FeatureGates {
    gates: BTreeMap<&'static str, bool>,
}

/// The Mixed Version Proxy's gate.
pub const UVIP: &str = "UnknownVersionInteroperabilityProxy";

impl Default for FeatureGates {
    fn default() -> Self {
        Self {
            gates: BTreeMap::from([
                (UVIP, true),
                ("APIServerIdentity", true),
                // Alpha, off: records StorageVersion objects.
                ("StorageVersionAPI", false),
            ]),
        }
    }
}

impl FeatureGates {
    /// Parses `--feature-gates=A=true,B=false`; unknown gates are errors.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut gates = Self::default();
        for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, value) = entry
                .split_once('=')
                .ok_or_else(|| format!("missing bool value for {entry}"))?;
            let value = match value.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "t" => true,
                "false" | "0" | "f" => false,
                other => return Err(format!("invalid value of {name}: {other}")),
            };
            let Some((known, _)) = gates.gates.iter().find(|(k, _)| **k == name.trim()) else {
                return Err(format!("unrecognized feature gate: {}", name.trim()));
            };
            let known: &'static str = known;
            gates.gates.insert(known, value);
        }
        Ok(gates)
    }

    pub fn enabled(&self, gate: &str) -> bool {
        self.gates.get(gate).copied().unwrap_or(false)
    }
}

impl ServeOptions {
    /// kube-apiserver's start-up checks of the peer flags, with its messages.
    pub fn validate_peer_flags(&self) -> Result<(), String> {
        let gate = self.feature_gates.enabled(UVIP);
        let p = &self.peer;
        if !gate {
            if p.ca_file.is_some() {
                return Err(format!(
                    "--peer-ca-file requires {UVIP} feature to be turned on"
                ));
            }
            if p.advertise_ip.is_some() {
                return Err(format!(
                    "--peer-advertise-ip requires {UVIP} feature to be turned on"
                ));
            }
            if p.advertise_port.is_some() {
                return Err(format!(
                    "--peer-advertise-port requires {UVIP} feature to be turned on"
                ));
            }
        }
        if gate && p.ca_file.is_some() {
            if p.proxy_client_cert_file.is_none() {
                return Err(
                    "error building peer proxy handler, proxy-cert-file not specified".into(),
                );
            }
            if p.proxy_client_key_file.is_none() {
                return Err(
                    "error building peer proxy handler, proxy-key-file not specified".into(),
                );
            }
        }
        Ok(())
    }
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            bind_address: IpAddr::from([127, 0, 0, 1]),
            secure_port: 6443,
            tls_cert_file: None,
            tls_private_key_file: None,
            cert_dir: PathBuf::from("skewless-data/certs"),
            data_dir: PathBuf::from("skewless-data"),
            etcd_servers: Vec::new(),
            etcd_prefix: "/registry".to_owned(),
            client_ca_file: None,
            token_auth_file: None,
            requestheader: RequestHeaderOptions::default(),
            anonymous_auth: true,
            authorization_modes: vec![AuthorizationMode::Rbac],
            audit: AuditOptions::default(),
            emulated_version: "1.36".to_owned(),
            runtime_config: String::new(),
            apiserver_id: None,
            shutdown_grace: Duration::from_secs(30),
            max_request_body_bytes: 3 * 1024 * 1024,
            compaction_interval: Duration::from_secs(300),
            apiservice_removal_grace: Duration::from_secs(30),
            feature_gates: FeatureGates::default(),
            peer: PeerOptions {
                discovery_resync: Duration::from_secs(1),
                hop_timeout: Duration::from_secs(5),
                ..PeerOptions::default()
            },
            advertise_address: None,
            service_cluster_ip_range: ServiceCidr {
                network: IpAddr::from([10, 0, 0, 0]),
                prefix_len: 24,
            },
            service_node_port_range: NodePortRange {
                base: 30000,
                size: 2768,
            },
            max_connections: 0,
            min_request_timeout: Duration::from_secs(1800),
            watch_cache: true,
            watch_cache_window: crate::watch_cache::DEFAULT_WINDOW,
            max_requests_inflight: 400,
            max_mutating_requests_inflight: 200,
            identity: IdentityTiming::default(),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// `--requestheader-*`: who may assert a user in headers, and which headers.
#[derive(Debug, Clone)]
pub struct RequestHeaderOptions {
    pub client_ca_file: Option<PathBuf>,
    /// Common names allowed to assert users; empty allows any certificate
    /// signed by `client_ca_file`.
    pub allowed_names: Vec<String>,
    pub username_headers: Vec<String>,
    pub uid_headers: Vec<String>,
    pub group_headers: Vec<String>,
    pub extra_headers_prefix: Vec<String>,
}

impl Default for RequestHeaderOptions {
    fn default() -> Self {
        Self {
            client_ca_file: None,
            allowed_names: Vec::new(),
            username_headers: vec!["X-Remote-User".to_owned()],
            uid_headers: vec!["X-Remote-Uid".to_owned()],
            group_headers: vec!["X-Remote-Group".to_owned()],
            extra_headers_prefix: vec!["X-Remote-Extra-".to_owned()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_as_kube_apiserver_checks_them() {
        assert_eq!(
            AuthorizationMode::parse_list("RBAC,AlwaysAllow"),
            Ok(vec![
                AuthorizationMode::Rbac,
                AuthorizationMode::AlwaysAllow
            ])
        );
        assert!(AuthorizationMode::parse_list("").is_err());
        assert!(AuthorizationMode::parse_list("RBAC,RBAC").is_err());
        assert!(
            AuthorizationMode::parse_list("Node,RBAC")
                .unwrap_err()
                .contains("not supported")
        );
        assert!(AuthorizationMode::parse_list("rbac").is_err());
    }

    #[test]
    fn node_port_ranges_parse() {
        let r: NodePortRange = "30000-32767".parse().unwrap();
        assert_eq!(r, ServeOptions::default().service_node_port_range);
        assert_eq!(r.to_string(), "30000-32767");
        assert!(r.contains(30000) && r.contains(32767) && !r.contains(32768));
        assert_eq!("30000+9".parse::<NodePortRange>().unwrap().last(), 30009);
        for bad in ["", "x", "3-1", "0-5", "65535+2"] {
            assert!(bad.parse::<NodePortRange>().is_err(), "{bad}");
        }
    }

    #[test]
    fn service_cidrs_parse_as_go_does() {
        let c: ServiceCidr = "10.0.0.0/24".parse().unwrap();
        assert_eq!(c, ServeOptions::default().service_cluster_ip_range);
        assert_eq!(c.first_address().to_string(), "10.0.0.1");
        let c: ServiceCidr = "10.96.7.9/12".parse().unwrap();
        assert_eq!(c.to_string(), "10.96.0.0/12");
        assert_eq!(c.first_address().to_string(), "10.96.0.1");
        let c: ServiceCidr = "fd00::/108".parse().unwrap();
        assert_eq!(c.first_address().to_string(), "fd00::1");
        for bad in [
            "10.0.0.0",
            "10.0.0.0/33",
            "x/8",
            "10.0.0.0/31",
            "10.0.0.0/24,fd00::/108",
        ] {
            assert!(bad.parse::<ServiceCidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn feature_gates_parse_like_kube_apiserver() {
        assert!(FeatureGates::default().enabled(UVIP));
        assert!(
            !FeatureGates::parse("UnknownVersionInteroperabilityProxy=false")
                .unwrap()
                .enabled(UVIP)
        );
        assert!(
            FeatureGates::parse("Nope=true")
                .unwrap_err()
                .contains("unrecognized feature gate: Nope")
        );
        assert!(FeatureGates::parse("UnknownVersionInteroperabilityProxy").is_err());
    }

    #[test]
    fn peer_flags_are_checked_with_upstream_messages() {
        let mut o = ServeOptions::default();
        o.peer.ca_file = Some("ca.crt".into());
        assert_eq!(
            o.validate_peer_flags().unwrap_err(),
            "error building peer proxy handler, proxy-cert-file not specified"
        );
        o.peer.proxy_client_cert_file = Some("c".into());
        assert_eq!(
            o.validate_peer_flags().unwrap_err(),
            "error building peer proxy handler, proxy-key-file not specified"
        );
        o.peer.proxy_client_key_file = Some("k".into());
        assert!(o.validate_peer_flags().is_ok());
        o.feature_gates = FeatureGates::parse("UnknownVersionInteroperabilityProxy=false").unwrap();
        assert_eq!(
            o.validate_peer_flags().unwrap_err(),
            "--peer-ca-file requires UnknownVersionInteroperabilityProxy feature to be turned on"
        );
        o.peer.ca_file = None;
        o.peer.advertise_port = Some(1);
        assert_eq!(
            o.validate_peer_flags().unwrap_err(),
            "--peer-advertise-port requires UnknownVersionInteroperabilityProxy feature to be turned on"
        );
    }
}

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

//! Cluster IPs and node ports for Services, claimed in storage so that
//! servers sharing one storage never hand out the same one.
//!
//! A cluster IP is claimed by creating its `networking.k8s.io/v1`
//! IPAddress object (named after the IP, `parentRef` the Service), as
//! kube-apiserver's allocator has done since 1.33: the create is the
//! atomic claim, `Exists` means another Service holds it. A node port is
//! claimed by creating the key `/skewless.io/nodeports/<port>` (the same
//! create-is-the-claim rule; upstream keeps a bitmap instead, which every
//! server would have to compare-and-swap as a whole). Free values are
//! found from a random start, probing upward around the range, as
//! upstream's allocators do, skipping what a list says is taken.
//!
//! Claims are given back when the write that needed them does not happen,
//! when an update stops using them, and when the Service is deleted. This
//! module never decides what a Service needs (that is
//! `skewless_apimachinery::defaults`), and it never writes the Service.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde_json::{Value, json};
use skewless_apimachinery::defaults::{set_ip_families, wants_cluster_ip, wants_node_ports};
use skewless_apimachinery::request_info::GroupKind;
use skewless_apimachinery::status::ApiError;
use skewless_apimachinery::validation::FieldError;
use skewless_store::{ListOptions, Store, StoreError, WriteOptions};

use crate::object;
use crate::options::{NodePortRange, ServiceCidr};
use crate::storage;

const IP_PREFIX: &str = "/networking.k8s.io/ipaddresses/";
const NODE_PORT_PREFIX: &str = "/skewless.io/nodeports/";
/// Upstream's labels on the IPAddresses its allocator creates.
const FAMILY_LABEL: &str = "ipaddress.kubernetes.io/ip-family";
const MANAGED_BY_LABEL: &str = "ipaddress.kubernetes.io/managed-by";
const MANAGED_BY: &str = "ipallocator.k8s.io";

/// `--service-cluster-ip-range` and `--service-node-port-range`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServiceRanges {
    pub(crate) cidr: ServiceCidr,
    pub(crate) node_ports: NodePortRange,
}

/// What one write claimed: given back if the write does not happen.
#[derive(Debug, Default)]
pub(crate) struct Claims {
    ips: Vec<IpAddr>,
    ports: Vec<u16>,
}

fn ip_key(ip: &IpAddr) -> String {
    storage::object_key("networking.k8s.io", "ipaddresses", "", &ip.to_string())
}

fn port_key(port: u16) -> String {
    format!("{NODE_PORT_PREFIX}{port}")
}

fn family(ip: &IpAddr) -> &'static str {
    if ip.is_ipv4() { "IPv4" } else { "IPv6" }
}

fn service_kind() -> GroupKind {
    GroupKind::new("", "Service")
}

fn invalid(svc: &Value, causes: Vec<FieldError>) -> ApiError {
    ApiError::Invalid {
        kind: service_kind(),
        name: object::name(svc).to_owned(),
        causes,
    }
}

/// The IPAddress object that claims `ip` for a Service.
pub(crate) fn ip_address(ip: &IpAddr, namespace: &str, name: &str) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IPAddress",
        "metadata": {
            "name": ip.to_string(),
            "uid": object::new_uid(),
            "creationTimestamp": object::now_rfc3339(),
            "labels": {FAMILY_LABEL: family(ip), MANAGED_BY_LABEL: MANAGED_BY},
        },
        "spec": {"parentRef": {"group": "", "resource": "services", "namespace": namespace, "name": name}},
    })
}

/// Claims `ip` for the Service `namespace/name` by creating its IPAddress
/// (the storage create is the atomic claim); says whether this call
/// created it, the Service holds it already, or another holds it.
pub(crate) async fn claim_ip(
    store: &dyn Store,
    ip: &IpAddr,
    namespace: &str,
    name: &str,
) -> Result<Claim, StoreError> {
    let value = serde_json::to_vec(&ip_address(ip, namespace, name))
        .map_err(|e| StoreError::Internal(e.to_string()))?;
    match store
        .create(&ip_key(ip), value, WriteOptions::default())
        .await
    {
        Ok(_) => Ok(Claim::Created),
        Err(StoreError::Exists(_)) => {
            let held = store.get(&ip_key(ip)).await?;
            Ok(
                if held.is_some_and(|kv| is_parent(&kv.value, namespace, name)) {
                    Claim::AlreadyOurs
                } else {
                    Claim::Taken
                },
            )
        }
        Err(e) => Err(e),
    }
}

/// What claiming an address found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    /// This call created the claim: a failed write must give it back.
    Created,
    /// A Service of this namespace and name holds it already (a duplicate
    /// create, or the same Service): usable, but never this write's to give
    /// back, or a failed duplicate create would free a live Service's IP.
    AlreadyOurs,
    /// Another Service holds it.
    Taken,
}

fn is_parent(value: &[u8], namespace: &str, name: &str) -> bool {
    serde_json::from_slice::<Value>(value).is_ok_and(|v| {
        v.pointer("/spec/parentRef/namespace")
            .and_then(Value::as_str)
            == Some(namespace)
            && v.pointer("/spec/parentRef/name").and_then(Value::as_str) == Some(name)
    })
}

/// The offsets from the network address that may be handed out: not the
/// network address, not an IPv4 broadcast address; at most 2^32 of them.
fn ip_offsets(cidr: &ServiceCidr) -> (u128, u128) {
    let bits: u32 = if cidr.network.is_ipv4() { 32 } else { 128 };
    let host_bits = (bits - u32::from(cidr.prefix_len)).min(32);
    let size = 1u128 << host_bits;
    let last = if cidr.network.is_ipv4() {
        size - 2
    } else {
        size - 1
    };
    (1, last)
}

fn ip_at(cidr: &ServiceCidr, offset: u128) -> IpAddr {
    match cidr.network {
        IpAddr::V4(n) => IpAddr::from((u32::from(n).wrapping_add(offset as u32)).to_be_bytes()),
        IpAddr::V6(n) => IpAddr::from(u128::from(n).wrapping_add(offset).to_be_bytes()),
    }
}

fn offset_of(cidr: &ServiceCidr, ip: &IpAddr) -> Option<u128> {
    let (first, last) = ip_offsets(cidr);
    let offset = match (cidr.network, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => u128::from(u32::from(*a).wrapping_sub(u32::from(n))),
        (IpAddr::V6(n), IpAddr::V6(a)) => u128::from(*a).wrapping_sub(u128::from(n)),
        _ => return None,
    };
    (first..=last).contains(&offset).then_some(offset)
}

fn random() -> u128 {
    uuid::Uuid::new_v4().as_u128()
}

/// The names under `prefix` (what is taken now).
async fn taken(store: &dyn Store, prefix: &str) -> Result<BTreeSet<String>, ApiError> {
    let listed = store
        .list(prefix, ListOptions::default())
        .await
        .map_err(|e| ApiError::InternalError(e.to_string()))?;
    Ok(listed
        .items
        .iter()
        .filter_map(|kv| kv.key.strip_prefix(prefix).map(str::to_owned))
        .collect())
}

/// Fills in what `svc` needs from the ranges (its IP family fields, a
/// cluster IP, node ports), keeping what `old` (an update) already holds,
/// and claims it unless `dry_run`. On error nothing stays claimed.
pub(crate) async fn allocate(
    store: &dyn Store,
    ranges: &ServiceRanges,
    svc: &mut Value,
    old: Option<&Value>,
    dry_run: bool,
) -> Result<Claims, ApiError> {
    let mut claims = Claims::default();
    match allocate_into(store, ranges, svc, old, dry_run, &mut claims).await {
        Ok(()) => Ok(claims),
        Err(e) => {
            release(store, claims).await;
            Err(e)
        }
    }
}

async fn allocate_into(
    store: &dyn Store,
    ranges: &ServiceRanges,
    svc: &mut Value,
    old: Option<&Value>,
    dry_run: bool,
    claims: &mut Claims,
) -> Result<(), ApiError> {
    if let Some(old) = old {
        check_immutable(svc, old)?;
    }
    set_ip_families(svc, family(&ranges.cidr.network));
    let namespace = object::namespace(svc).to_owned();
    let name = object::name(svc).to_owned();
    let spec_str = |svc: &Value, p: &str| {
        svc.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };

    if spec_str(svc, "/spec/clusterIP") == "None" {
        set_field(svc, "/spec", "clusterIPs", json!(["None"]));
    } else if wants_cluster_ip(svc) {
        let requested = match spec_str(svc, "/spec/clusterIP") {
            ip if !ip.is_empty() => ip,
            _ => spec_str(svc, "/spec/clusterIPs/0"),
        };
        let held = old
            .map(|o| spec_str(o, "/spec/clusterIP"))
            .unwrap_or_default();
        let ip = if !requested.is_empty() && requested == held {
            requested.parse::<IpAddr>().map_err(|_| {
                ApiError::InternalError(format!("stored clusterIP {requested} is not an IP"))
            })?
        } else if requested.is_empty() {
            let ip = allocate_ip(store, &ranges.cidr, &namespace, &name, dry_run).await?;
            if !dry_run {
                claims.ips.push(ip);
            }
            ip
        } else {
            let not_allocated = |why: String| {
                invalid(
                    svc,
                    vec![FieldError::from_message(&format!(
                        "spec.clusterIPs: Invalid value: []string{{{}}}: failed to allocate IP {requested}: {why}",
                        skewless_apimachinery::validation::go_quote(&requested)
                    ))],
                )
            };
            let ip: IpAddr = requested.parse().map_err(|_| {
                invalid(
                    svc,
                    vec![FieldError::invalid(
                        "spec.clusterIPs[0]",
                        requested.clone(),
                        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                    )],
                )
            })?;
            if offset_of(&ranges.cidr, &ip).is_none() {
                return Err(not_allocated(format!(
                    "the provided IP ({ip}) is not in the valid range. The range of valid IPs is {}",
                    ranges.cidr
                )));
            }
            let claim = if dry_run {
                let held = store
                    .get(&ip_key(&ip))
                    .await
                    .map_err(|e| ApiError::InternalError(e.to_string()))?;
                // A dry run claims nothing, so a free address is as
                // good as one this Service holds: nothing to give back.
                match held {
                    None => Claim::AlreadyOurs,
                    Some(kv) if is_parent(&kv.value, &namespace, &name) => Claim::AlreadyOurs,
                    Some(_) => Claim::Taken,
                }
            } else {
                claim_ip(store, &ip, &namespace, &name)
                    .await
                    .map_err(|e| ApiError::InternalError(e.to_string()))?
            };
            match claim {
                Claim::Taken => {
                    return Err(not_allocated("provided IP is already allocated".into()));
                }
                Claim::Created => claims.ips.push(ip),
                Claim::AlreadyOurs => {}
            }
            ip
        };
        set_field(svc, "/spec", "clusterIP", json!(ip.to_string()));
        set_field(svc, "/spec", "clusterIPs", json!([ip.to_string()]));
    }

    let held: BTreeSet<u16> = old.map(node_ports).unwrap_or_default();
    let mut wanted = PortRequest {
        store,
        range: &ranges.node_ports,
        namespace: &namespace,
        name: &name,
        held: &held,
        used_here: BTreeSet::new(),
        dry_run,
    };
    if wants_node_ports(svc) {
        let count = svc
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        for i in 0..count {
            let current = svc["spec"]["ports"][i]["nodePort"].as_i64().unwrap_or(0);
            let field = format!("spec.ports[{i}].nodePort");
            let port = wanted.port(svc, &field, current, claims).await?;
            set_field(svc, &format!("/spec/ports/{i}"), "nodePort", json!(port));
        }
    }
    // A load balancer that keeps traffic local gets a health check port.
    if spec_str(svc, "/spec/type") == "LoadBalancer"
        && spec_str(svc, "/spec/externalTrafficPolicy") == "Local"
    {
        let current = svc["spec"]["healthCheckNodePort"].as_i64().unwrap_or(0);
        let port = wanted
            .port(svc, "spec.healthCheckNodePort", current, claims)
            .await?;
        set_field(svc, "/spec", "healthCheckNodePort", json!(port));
    }
    Ok(())
}

/// Sets `key` of the object at `parent` (nothing when that is not an
/// object: validation has refused such a Service already).
fn set_field(svc: &mut Value, parent: &str, key: &str, value: Value) {
    if let Some(map) = svc.pointer_mut(parent).and_then(Value::as_object_mut) {
        map.insert(key.to_owned(), value);
    }
}

/// Node ports for one Service write: what it holds already, what this
/// write has taken so far.
struct PortRequest<'a> {
    store: &'a dyn Store,
    range: &'a NodePortRange,
    namespace: &'a str,
    name: &'a str,
    held: &'a BTreeSet<u16>,
    used_here: BTreeSet<u16>,
    dry_run: bool,
}

impl PortRequest<'_> {
    /// The port for `field` (`current`: what the client asked for, 0 for
    /// any), claimed unless the Service holds it already.
    async fn port(
        &mut self,
        svc: &Value,
        field: &str,
        current: i64,
        claims: &mut Claims,
    ) -> Result<u16, ApiError> {
        if current == 0 {
            let port = allocate_port(
                self.store,
                self.range,
                self.namespace,
                self.name,
                self.dry_run,
            )
            .await?;
            if !self.dry_run {
                claims.ports.push(port);
            }
            self.used_here.insert(port);
            return Ok(port);
        }
        // What the Service holds already stays, whatever this server's range.
        if let Ok(port) = u16::try_from(current)
            && self.held.contains(&port)
        {
            self.used_here.insert(port);
            return Ok(port);
        }
        let refuse = |why: String| invalid(svc, vec![FieldError::invalid(field, current, why)]);
        let Some(port) = u16::try_from(current)
            .ok()
            .filter(|p| self.range.contains(*p))
        else {
            return Err(refuse(format!(
                "provided port is not in the valid range. The range of valid ports is {}",
                self.range
            )));
        };
        if !self.used_here.contains(&port) {
            let free = if self.dry_run {
                self.store
                    .get(&port_key(port))
                    .await
                    .map_err(|e| ApiError::InternalError(e.to_string()))?
                    .is_none()
            } else {
                claim_port(self.store, port, self.namespace, self.name).await?
            };
            if !free {
                return Err(refuse("provided port is already allocated".into()));
            }
            if !self.dry_run {
                claims.ports.push(port);
            }
        }
        self.used_here.insert(port);
        Ok(port)
    }
}

/// A cluster IP may not change once set (what the client left out the
/// update already took from `old`, `defaults::prepare_for_update`).
fn check_immutable(svc: &Value, old: &Value) -> Result<(), ApiError> {
    let old_ip = old
        .pointer("/spec/clusterIP")
        .and_then(Value::as_str)
        .unwrap_or("");
    let new_ip = svc
        .pointer("/spec/clusterIP")
        .and_then(Value::as_str)
        .unwrap_or("");
    if wants_cluster_ip(svc) && !old_ip.is_empty() && old_ip != "None" && new_ip != old_ip {
        return Err(ApiError::Invalid {
            kind: service_kind(),
            name: object::name(old).to_owned(),
            causes: vec![FieldError::invalid(
                "spec.clusterIPs[0]",
                new_ip.to_owned(),
                "field is immutable",
            )],
        });
    }
    Ok(())
}

async fn allocate_ip(
    store: &dyn Store,
    cidr: &ServiceCidr,
    namespace: &str,
    name: &str,
    dry_run: bool,
) -> Result<IpAddr, ApiError> {
    // The first address is the `kubernetes` Service's, which its
    // controller claims; a Service created before it runs must not take it.
    let (first, last) = ip_offsets(cidr);
    let first = (first + 1).min(last);
    let count = last - first + 1;
    let taken = taken(store, IP_PREFIX).await?;
    let start = random() % count;
    for step in 0..count {
        let ip = ip_at(cidr, first + (start + step) % count);
        if taken.contains(&ip.to_string()) {
            continue;
        }
        if dry_run {
            return Ok(ip);
        }
        // Only a fresh claim: an address a same-named Service holds
        // belongs to that Service, not to this (duplicate) create.
        match claim_ip(store, &ip, namespace, name).await {
            Ok(Claim::Created) => return Ok(ip),
            Ok(Claim::AlreadyOurs | Claim::Taken) => continue,
            Err(e) => return Err(ApiError::InternalError(e.to_string())),
        }
    }
    Err(ApiError::InternalError(
        "failed to allocate a serviceIP: range is full".into(),
    ))
}

async fn claim_port(
    store: &dyn Store,
    port: u16,
    namespace: &str,
    name: &str,
) -> Result<bool, ApiError> {
    let value = serde_json::to_vec(&json!({
        "namespace": namespace,
        "name": name,
        "creationTimestamp": object::now_rfc3339(),
    }))
    .map_err(|e| ApiError::InternalError(e.to_string()))?;
    match store
        .create(&port_key(port), value, WriteOptions::default())
        .await
    {
        Ok(_) => Ok(true),
        Err(StoreError::Exists(_)) => Ok(false),
        Err(e) => Err(ApiError::InternalError(e.to_string())),
    }
}

async fn allocate_port(
    store: &dyn Store,
    range: &NodePortRange,
    namespace: &str,
    name: &str,
    dry_run: bool,
) -> Result<u16, ApiError> {
    let taken = taken(store, NODE_PORT_PREFIX).await?;
    let count = u32::from(range.size);
    let start = (random() % u128::from(count.max(1))) as u32;
    for step in 0..count {
        let port = range.base + ((start + step) % count) as u16;
        if taken.contains(&port.to_string()) {
            continue;
        }
        if dry_run || claim_port(store, port, namespace, name).await? {
            return Ok(port);
        }
    }
    Err(ApiError::InternalError(
        "failed to allocate a nodePort: range is full".into(),
    ))
}

/// The node ports a Service holds (its ports' and its health check's).
fn node_ports(svc: &Value) -> BTreeSet<u16> {
    svc.pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("nodePort").and_then(Value::as_u64))
        .chain(
            svc.pointer("/spec/healthCheckNodePort")
                .and_then(Value::as_u64),
        )
        .filter_map(|n| u16::try_from(n).ok())
        .filter(|n| *n != 0)
        .collect()
}

fn cluster_ip(svc: &Value) -> Option<IpAddr> {
    svc.pointer("/spec/clusterIP")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

/// Gives back what a write claimed and did not use.
pub(crate) async fn release(store: &dyn Store, claims: Claims) {
    for ip in claims.ips {
        let _ = store.delete(&ip_key(&ip), None).await;
    }
    for port in claims.ports {
        let _ = store.delete(&port_key(port), None).await;
    }
}

/// After an update: gives back what `old` held and `new` does not.
pub(crate) async fn release_unused(store: &dyn Store, old: &Value, new: &Value) {
    let mut unused = Claims::default();
    if let Some(ip) = cluster_ip(old)
        && cluster_ip(new) != Some(ip)
    {
        unused.ips.push(ip);
    }
    let kept = node_ports(new);
    unused.ports = node_ports(old).difference(&kept).copied().collect();
    release_owned(store, old, unused).await;
}

/// After a delete: gives back everything the Service held.
pub(crate) async fn release_all(store: &dyn Store, svc: &Value) {
    let all = Claims {
        ips: cluster_ip(svc).into_iter().collect(),
        ports: node_ports(svc).into_iter().collect(),
    };
    release_owned(store, svc, all).await;
}

/// Deletes the claims that belong to `svc` (a claim another Service
/// holds now is left alone).
async fn release_owned(store: &dyn Store, svc: &Value, claims: Claims) {
    let namespace = object::namespace(svc);
    let name = object::name(svc);
    let keys = claims
        .ips
        .iter()
        .map(ip_key)
        .chain(claims.ports.iter().map(|p| port_key(*p)));
    for key in keys {
        let Ok(Some(kv)) = store.get(&key).await else {
            continue;
        };
        let owned = serde_json::from_slice::<Value>(&kv.value).is_ok_and(|v| {
            let (ns, n) = match v.pointer("/spec/parentRef") {
                Some(parent) => (&parent["namespace"], &parent["name"]),
                None => (&v["namespace"], &v["name"]),
            };
            ns.as_str() == Some(namespace) && n.as_str() == Some(name)
        });
        if owned {
            let _ = store.delete(&key, Some(kv.mod_revision)).await;
        }
    }
}

/// Whether an IPAddress is one this allocator made for a Service.
fn is_service_allocation(ip_address: &Value) -> bool {
    ip_address
        .pointer("/metadata/labels")
        .and_then(|l| l.get(MANAGED_BY_LABEL))
        .and_then(Value::as_str)
        == Some(MANAGED_BY)
        && ip_address
            .pointer("/spec/parentRef/resource")
            .and_then(Value::as_str)
            == Some("services")
}

/// How long a claim no Service holds is left alone by the repair: a
/// create claims before it writes its Service, within its request timeout.
const REPAIR_GRACE_SECS: i64 = 120;

/// The claims among `claims` (name, creation time in Unix seconds) that
/// no Service holds and that are past the grace period.
fn stale_claims(claims: &[(String, i64)], held: &BTreeSet<String>, now: i64) -> Vec<String> {
    claims
        .iter()
        .filter(|(name, created)| !held.contains(name) && now - created > REPAIR_GRACE_SECS)
        .map(|(name, _)| name.clone())
        .collect()
}

/// One repair pass (upstream's IPAddress and node port repair loops):
/// gives back claims that no Service holds, left by a server that stopped
/// between claiming and writing its Service, or before releasing. Returns
/// how many it gave back.
pub(crate) async fn repair(store: &dyn Store, now: i64) -> Result<usize, StoreError> {
    let services = store
        .list(
            &format!("{}services/", storage::group_prefix("")),
            ListOptions::default(),
        )
        .await?;
    let mut held_ips = BTreeSet::new();
    let mut held_ports = BTreeSet::new();
    for kv in &services.items {
        let Ok(svc) = serde_json::from_slice::<Value>(&kv.value) else {
            continue;
        };
        held_ips.extend(
            svc.pointer("/spec/clusterIPs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .chain(svc.pointer("/spec/clusterIP"))
                .filter_map(Value::as_str)
                .map(str::to_owned),
        );
        held_ports.extend(node_ports(&svc).iter().map(u16::to_string));
    }
    let mut released = 0;
    for (prefix, held) in [(IP_PREFIX, &held_ips), (NODE_PORT_PREFIX, &held_ports)] {
        let listed = store.list(prefix, ListOptions::default()).await?;
        let claims: Vec<(String, i64)> = listed
            .items
            .iter()
            .filter_map(|kv| {
                let name = kv.key.strip_prefix(prefix)?.to_owned();
                let value: Value = serde_json::from_slice(&kv.value).ok()?;
                // Only the allocator's own IPAddresses: others (a user's,
                // another controller's) are not Service claims to repair.
                if prefix == IP_PREFIX && !is_service_allocation(&value) {
                    return None;
                }
                let created = value
                    .pointer("/metadata/creationTimestamp")
                    .or_else(|| value.get("creationTimestamp"))
                    .and_then(Value::as_str)
                    .and_then(object::parse_rfc3339)?;
                Some((name, created))
            })
            .collect();
        for name in stale_claims(&claims, held, now) {
            let Some(kv) = listed
                .items
                .iter()
                .find(|kv| kv.key == format!("{prefix}{name}"))
            else {
                continue;
            };
            match store.delete(&kv.key, Some(kv.mod_revision)).await {
                Ok(_) => released += 1,
                Err(StoreError::NotFound(_) | StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(released)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_old_claims_no_service_holds_are_stale() {
        let held: BTreeSet<String> = ["10.0.0.5".to_owned()].into();
        let claims = vec![
            ("10.0.0.5".to_owned(), 0),
            ("10.0.0.6".to_owned(), 0),
            ("10.0.0.7".to_owned(), 1000 - REPAIR_GRACE_SECS),
        ];
        assert_eq!(stale_claims(&claims, &held, 1000), ["10.0.0.6"]);
    }

    #[test]
    fn only_the_allocators_ip_addresses_are_repaired() {
        let ours = ip_address(&"10.0.0.5".parse().unwrap(), "default", "web");
        assert!(is_service_allocation(&ours));
        let mut users = ours.clone();
        users["metadata"]["labels"] = json!({});
        assert!(!is_service_allocation(&users));
        let mut gateway = ours;
        gateway["spec"]["parentRef"]["resource"] = json!("gateways");
        assert!(!is_service_allocation(&gateway));
    }

    #[test]
    fn offsets_leave_out_network_and_broadcast() {
        let cidr: ServiceCidr = "10.0.0.0/24".parse().unwrap();
        assert_eq!(ip_offsets(&cidr), (1, 254));
        assert_eq!(ip_at(&cidr, 254).to_string(), "10.0.0.254");
        assert_eq!(offset_of(&cidr, &"10.0.0.5".parse().unwrap()), Some(5));
        assert_eq!(offset_of(&cidr, &"10.0.0.255".parse().unwrap()), None);
        assert_eq!(offset_of(&cidr, &"10.0.1.5".parse().unwrap()), None);
        let v6: ServiceCidr = "fd00::/120".parse().unwrap();
        assert_eq!(ip_offsets(&v6), (1, 255));
    }
}

//! The `default/kubernetes` Service and its endpoints, as kube-apiserver's
//! bootstrap controller and lease endpoint reconciler keep them: the
//! Service (ClusterIP = the first address of `--service-cluster-ip-range`,
//! port 443 → the secure port), the `Endpoints` and the
//! `discovery.k8s.io/v1` EndpointSlices listing the client-facing addresses
//! of the live API servers.
//!
//! Who is live comes from the identity Leases (not expired, by
//! [`Lease::expired`], and renewed within the last [`silence_allowed`]
//! seconds, so a killed server leaves within about 15 s rather than when
//! its hour-long Lease expires) and where each is reached from their
//! [`ADVERTISE_ANNOTATION`]. Servers sharing one storage may listen on one
//! IP with different ports (`skewless cluster`): the Endpoints get one
//! subset per distinct port, and since an EndpointSlice has one port list
//! for all its endpoints, there is one slice per (address family, port),
//! all labelled `kubernetes.io/service-name: kubernetes` (as upstream's
//! EndpointSlice controller splits endpoints by port). The slice for the
//! Service's target port in the Service's family is named `kubernetes`, the
//! others `kubernetes-<port>` (`-ipv6` appended for IPv6).
//!
//! One server at a time writes: the holder of the Lease
//! `kube-system/skewless-kubernetes-service-controller` (released on clean
//! shutdown, so a stopped leader is replaced within one pass). It reconciles
//! every 2 s and whenever an identity Lease changes, and writes only what
//! differs (compare-and-swap; a lost race waits for the next pass), so the
//! objects stay at one resourceVersion while nothing changes. It never
//! touches fields it does not manage, nor slices it did not name. The
//! leader also creates the default ServiceCIDR, claims the Service's cluster
//! IP, and about once a minute gives back Service claims no Service holds
//! (`service_alloc::repair`).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use skewless_store::{Event, ListOptions, Revision, StoreError, Watch, WriteOptions};

use crate::controllers::identity::{self, ADVERTISE_ANNOTATION, LEASE_PREFIX};
use crate::controllers::lease::{self, Lease};
use crate::object;
use crate::state::State;
use crate::storage;

const LEASE_NAME: &str = "skewless-kubernetes-service-controller";
const RECONCILE_EVERY: Duration = Duration::from_secs(2);
/// The leader repairs Service claims (cluster IPs, node ports) every this
/// many passes (about a minute).
const REPAIR_EVERY_PASSES: u64 = 30;
const NAME: &str = "kubernetes";
const SERVICE_KEY: &str = "/core/services/default/kubernetes";
const ENDPOINTS_KEY: &str = "/core/endpoints/default/kubernetes";
const SLICES_PREFIX: &str = "/discovery.k8s.io/endpointslices/default/";
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
const SKIP_MIRROR_LABEL: &str = "endpointslice.kubernetes.io/skip-mirror";

/// What this server contributes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// The first address of `--service-cluster-ip-range`.
    pub(crate) cluster_ip: IpAddr,
    /// This server's secure port: the Service's `targetPort` when no live
    /// server listens on the one it has.
    pub(crate) target_port: u16,
    /// How long after its identity Lease's last renewal a server still
    /// counts as live (seconds): [`silence_allowed`].
    pub(crate) silence: i64,
}

/// How long a server may go without renewing its identity Lease before its
/// address leaves the endpoints: the peer endpoint's time-to-live (15 s by
/// default, as upstream's lease endpoint reconciler), and at least one and
/// a half renewal intervals. The identity Lease itself lasts an hour, so
/// without this a killed server would stay listed that long.
pub(crate) fn silence_allowed(timing: &crate::options::IdentityTiming) -> i64 {
    let secs = timing
        .endpoint_ttl
        .max(timing.renew_interval * 3 / 2)
        .as_secs_f64()
        .ceil();
    // Whole seconds; durations from flags are far below i64::MAX.
    secs as i64
}

/// Runs until shutdown.
pub(crate) async fn run(api: Arc<State>, settings: Settings) {
    let mut shutdown = api.shutdown.subscribe();
    let mut tick = tokio::time::interval(RECONCILE_EVERY);
    let mut leader = false;
    let mut passes: u64 = 0;
    let mut watch: Option<Watch> = None;
    loop {
        let wake = {
            let changed = async {
                match watch.as_mut() {
                    Some(w) => w.next().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.changed() => {
                    if leader {
                        lease::release(&api, LEASE_NAME).await;
                    }
                    return;
                }
                _ = tick.tick() => Wake::Tick,
                event = changed => match event {
                    Some(Ok(event)) if is_identity_event(&event) => Wake::IdentityChanged,
                    Some(Ok(_)) => Wake::Nothing,
                    Some(Err(_)) | None => Wake::WatchEnded,
                },
            }
        };
        match wake {
            Wake::Tick => {
                let was = leader;
                leader = lease::hold(&api, LEASE_NAME, lease::LEADER_LEASE_SECONDS).await;
                if leader != was {
                    tracing::info!(leader, "kubernetes service controller leadership changed");
                }
            }
            Wake::IdentityChanged => {}
            Wake::Nothing => continue,
            Wake::WatchEnded => {
                watch = None;
                continue;
            }
        }
        if !leader {
            watch = None;
            continue;
        }
        match reconcile(&api, settings).await {
            Ok(revision) => {
                if watch.is_none() {
                    watch = api.store.watch(LEASE_PREFIX, revision).await.ok();
                }
                passes += 1;
                if passes % REPAIR_EVERY_PASSES == 1 {
                    match crate::service_alloc::repair(api.store.as_ref(), lease::now_secs()).await
                    {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(
                            released = n,
                            "gave back Service claims no Service holds"
                        ),
                        Err(e) => tracing::warn!(error = %e, "Service claim repair failed"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "kubernetes service reconcile failed"),
        }
    }
}

/// Why the loop woke up.
enum Wake {
    /// The periodic pass (and leader Lease renewal).
    Tick,
    /// An identity Lease was written or deleted.
    IdentityChanged,
    /// Another Lease changed.
    Nothing,
    /// The watch failed; the next pass while leading starts another.
    WatchEnded,
}

/// Whether a change under `kube-system`'s Leases is an identity Lease's
/// (leader Leases, renewed every 2 s, are not).
fn is_identity_event(event: &Event) -> bool {
    let value = match event {
        Event::Put { kv, .. } => &kv.value,
        Event::Delete { prev, .. } => &prev.value,
    };
    serde_json::from_slice::<Value>(value).is_ok_and(|v| identity::is_identity_lease(&v))
}

/// The client-facing addresses of the live servers, sorted, deduplicated:
/// identity Leases that are neither expired nor unrenewed for longer than
/// `silence` seconds.
fn live_addresses(leases: &[Value], now: i64, silence: i64) -> Vec<SocketAddr> {
    let mut out: Vec<SocketAddr> = leases
        .iter()
        .filter(|l| identity::is_identity_lease(l))
        .filter(|l| {
            let lease = Lease::of(l);
            !lease.holder.is_empty()
                && !lease.expired(now)
                && lease.renewed.is_some_and(|r| r + silence >= now)
        })
        .filter_map(|l| {
            object::annotations(l)
                .get(ADVERTISE_ANNOTATION)?
                .parse::<SocketAddr>()
                .ok()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// One pass; returns the revision the identity Leases were read at.
async fn reconcile(api: &State, settings: Settings) -> Result<Revision, StoreError> {
    let listed = api.store.list(LEASE_PREFIX, ListOptions::default()).await?;
    let leases: Vec<Value> = listed
        .items
        .iter()
        .filter_map(|kv| serde_json::from_slice(&kv.value).ok())
        .collect();
    let live = live_addresses(&leases, lease::now_secs(), settings.silence);

    let existing = api
        .store
        .get(SERVICE_KEY)
        .await?
        .and_then(|kv| serde_json::from_slice::<Value>(&kv.value).ok());
    let current_target = existing
        .as_ref()
        .and_then(|svc| {
            svc.pointer("/spec/ports/0/targetPort")
                .and_then(Value::as_u64)
        })
        .and_then(|p| u16::try_from(p).ok());
    let target = target_port(current_target, &live, settings.target_port);
    // The address the Service has (a server with another range may have
    // created it), else this server's; claimed like any Service's.
    let held_ip = existing
        .as_ref()
        .and_then(|svc| svc.pointer("/spec/clusterIP").and_then(Value::as_str))
        .and_then(|ip| ip.parse::<IpAddr>().ok())
        .unwrap_or(settings.cluster_ip);
    if crate::service_alloc::claim_ip(api.store.as_ref(), &held_ip, "default", NAME).await?
        == crate::service_alloc::Claim::Taken
    {
        tracing::warn!(ip = %held_ip, "the kubernetes Service's cluster IP is held by another Service");
    }
    ensure_service_cidr(api).await?;
    ensure(
        api,
        SERVICE_KEY,
        service(settings.cluster_ip, target),
        SERVICE_MANAGED,
    )
    .await?;
    ensure(api, ENDPOINTS_KEY, endpoints(&live), ENDPOINTS_MANAGED).await?;

    let slices = endpoint_slices(&live, target, settings.cluster_ip.is_ipv6());
    for slice in &slices {
        let key = format!("{SLICES_PREFIX}{}", object::name(slice));
        ensure(api, &key, slice.clone(), SLICE_MANAGED).await?;
    }
    let ours = api
        .store
        .list(SLICES_PREFIX, ListOptions::default())
        .await?;
    for kv in ours.items {
        let Ok(slice) = serde_json::from_slice::<Value>(&kv.value) else {
            continue;
        };
        let name = object::name(&slice);
        let stale = is_our_extra_slice(name)
            && object::labels(&slice)
                .get(SERVICE_NAME_LABEL)
                .map(String::as_str)
                == Some(NAME)
            && !slices.iter().any(|s| object::name(s) == name);
        if stale {
            match api.store.delete(&kv.key, Some(kv.mod_revision)).await {
                Ok(_) | Err(StoreError::NotFound(_) | StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(listed.revision)
}

/// The Service's target port: kept while some live server listens on it
/// (so servers on different ports do not flip it), else the lowest live
/// port, else this server's.
fn target_port(current: Option<u16>, live: &[SocketAddr], own: u16) -> u16 {
    match current {
        Some(p) if live.iter().any(|a| a.port() == p) => p,
        _ => live.iter().map(SocketAddr::port).min().unwrap_or(own),
    }
}

/// Names `kubernetes-<port>` and `kubernetes-<port>-ipv6`.
fn is_our_extra_slice(name: &str) -> bool {
    name.strip_prefix("kubernetes-")
        .map(|rest| rest.strip_suffix("-ipv6").unwrap_or(rest))
        .is_some_and(|port| port.parse::<u16>().is_ok())
}

fn https_port(port: u16) -> Value {
    json!({"name": "https", "port": port, "protocol": "TCP"})
}

fn family(ip: &IpAddr) -> &'static str {
    if ip.is_ipv4() { "IPv4" } else { "IPv6" }
}

/// The default ServiceCIDR `kubernetes`: this server's
/// `--service-cluster-ip-range`, Ready, as kube-apiserver's default
/// ServiceCIDR controller creates it. Created when missing, never changed
/// (a server with another range leaves the first one's).
async fn ensure_service_cidr(api: &State) -> Result<(), StoreError> {
    let key = storage::object_key("networking.k8s.io", "servicecidrs", "", NAME);
    if api.store.get(&key).await?.is_some() {
        return Ok(());
    }
    let cidr = json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "ServiceCIDR",
        "metadata": {
            "name": NAME,
            "uid": object::new_uid(),
            "creationTimestamp": object::now_rfc3339(),
        },
        "spec": {"cidrs": [api.service_ranges.cidr.to_string()]},
        "status": {"conditions": [{
            "type": "Ready",
            "status": "True",
            "reason": "",
            "message": "Kubernetes default Service CIDR is ready",
            "lastTransitionTime": object::now_rfc3339(),
        }]},
    });
    let value = serde_json::to_vec(&cidr).map_err(|e| StoreError::Internal(e.to_string()))?;
    match api.store.create(&key, value, WriteOptions::default()).await {
        Ok(_) | Err(StoreError::Exists(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The Service as upstream's bootstrap controller creates it, with the
/// defaults its registry fills in.
fn service(cluster_ip: IpAddr, target_port: u16) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": NAME,
            "namespace": "default",
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": target_port}],
            "clusterIP": cluster_ip.to_string(),
            "clusterIPs": [cluster_ip.to_string()],
            "type": "ClusterIP",
            "sessionAffinity": "None",
            "ipFamilies": [family(&cluster_ip)],
            "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster",
        },
        "status": {"loadBalancer": {}},
    })
}

/// What the controller keeps as it wants it on an existing Service (the
/// bootstrap controller reconciles ports and type; the labels make it
/// findable). ClusterIPs are immutable and left alone.
const SERVICE_MANAGED: &[&str] = &[
    "/metadata/labels/component",
    "/metadata/labels/provider",
    "/spec/ports",
    "/spec/type",
];

/// Upstream's lease reconciler writes the Endpoints with
/// `endpointslice.kubernetes.io/skip-mirror: "true"` (it writes the slices
/// itself) and one subset; here one subset per distinct port.
fn endpoints(live: &[SocketAddr]) -> Value {
    let mut by_port: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    for a in live {
        by_port
            .entry(a.port())
            .or_default()
            .push(a.ip().to_string());
    }
    let subsets: Vec<Value> = by_port
        .into_iter()
        .map(|(port, mut ips)| {
            ips.sort();
            let addresses: Vec<Value> = ips.into_iter().map(|ip| json!({"ip": ip})).collect();
            json!({"addresses": addresses, "ports": [https_port(port)]})
        })
        .collect();
    let mut e = json!({
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {
            "name": NAME,
            "namespace": "default",
            "labels": {SKIP_MIRROR_LABEL: "true"},
        },
    });
    if !subsets.is_empty() {
        e["subsets"] = Value::Array(subsets);
    }
    e
}

const ENDPOINTS_MANAGED: &[&str] = &[
    "/metadata/labels/endpointslice.kubernetes.io~1skip-mirror",
    "/subsets",
];

/// The slices: one per (family, port). The `kubernetes` slice always
/// exists (empty while no server is live), as upstream's.
fn endpoint_slices(live: &[SocketAddr], target: u16, v6_service: bool) -> Vec<Value> {
    let mut groups: BTreeMap<(bool, u16), Vec<String>> = BTreeMap::new();
    groups.entry((v6_service, target)).or_default();
    for a in live {
        groups
            .entry((a.is_ipv6(), a.port()))
            .or_default()
            .push(a.ip().to_string());
    }
    groups
        .into_iter()
        .filter(|((v6, port), ips)| !ips.is_empty() || (*v6 == v6_service && *port == target))
        .map(|((v6, port), mut ips)| {
            ips.sort();
            let name = if v6 == v6_service && port == target {
                NAME.to_owned()
            } else if v6 {
                format!("{NAME}-{port}-ipv6")
            } else {
                format!("{NAME}-{port}")
            };
            let endpoints: Vec<Value> = ips
                .into_iter()
                .map(|ip| json!({"addresses": [ip], "conditions": {"ready": true}}))
                .collect();
            json!({
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": name,
                    "namespace": "default",
                    "labels": {SERVICE_NAME_LABEL: NAME},
                },
                "addressType": if v6 { "IPv6" } else { "IPv4" },
                "endpoints": endpoints,
                "ports": [https_port(port)],
            })
        })
        .collect()
}

const SLICE_MANAGED: &[&str] = &[
    "/metadata/labels/kubernetes.io~1service-name",
    "/addressType",
    "/endpoints",
    "/ports",
];

/// Creates `desired` at `key`, or brings the `managed` fields (JSON
/// pointers) of what is there to `desired`'s; writes nothing when they
/// already agree.
async fn ensure(
    api: &State,
    key: &str,
    mut desired: Value,
    managed: &[&str],
) -> Result<(), StoreError> {
    let Some(kv) = api.store.get(key).await? else {
        let meta = object::meta_mut(&mut desired);
        meta.insert("uid".into(), json!(object::new_uid()));
        meta.insert("creationTimestamp".into(), json!(object::now_rfc3339()));
        let body = serde_json::to_vec(&desired).unwrap_or_default();
        return match api.store.create(key, body, WriteOptions::default()).await {
            Ok(_) | Err(StoreError::Exists(_)) => Ok(()),
            Err(e) => Err(e),
        };
    };
    // An unreadable stored object is replaced whole.
    let mut current = serde_json::from_slice::<Value>(&kv.value).unwrap_or(Value::Null);
    if !current.is_object() {
        current = desired.clone();
    }
    let mut changed = false;
    for pointer in managed {
        let want = desired.pointer(pointer);
        if current.pointer(pointer) != want {
            set_pointer(&mut current, pointer, want.cloned());
            changed = true;
        }
    }
    if !changed {
        return Ok(());
    }
    match storage::update_json(api.store.as_ref(), key, &current, kv.mod_revision).await {
        Ok(_) | Err(StoreError::Conflict { .. } | StoreError::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Sets (or with `None` removes) the member a JSON pointer names, creating
/// the objects on the way.
fn set_pointer(target: &mut Value, pointer: &str, value: Option<Value>) {
    let segments: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((last, parents)) = segments.split_last() else {
        return;
    };
    let mut at = target;
    for segment in parents {
        if !at.is_object() {
            *at = json!({});
        }
        let Some(map) = at.as_object_mut() else {
            return;
        };
        at = map.entry(segment.clone()).or_insert_with(|| json!({}));
    }
    if !at.is_object() {
        *at = json!({});
    }
    if let Some(map) = at.as_object_mut() {
        match value {
            Some(v) => {
                map.insert(last.clone(), v);
            }
            None => {
                map.remove(last);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::identity::{IDENTITY_LABEL, IDENTITY_VALUE};

    fn identity(name: &str, addr: Option<&str>, renewed_ago: i64, now: i64) -> Value {
        identity_lasting(name, addr, renewed_ago, now, 60)
    }

    fn identity_lasting(
        name: &str,
        addr: Option<&str>,
        renewed_ago: i64,
        now: i64,
        duration: i64,
    ) -> Value {
        let renew = object::rfc3339(
            std::time::UNIX_EPOCH + Duration::from_secs((now - renewed_ago) as u64),
        );
        let mut l = json!({
            "metadata": {"name": name, "labels": {IDENTITY_LABEL: IDENTITY_VALUE}},
            "spec": {"holderIdentity": format!("{name}_1"), "renewTime": renew, "leaseDurationSeconds": duration},
        });
        if let Some(a) = addr {
            l["metadata"]["annotations"] = json!({ADVERTISE_ANNOTATION: a});
        }
        l
    }

    #[test]
    fn live_servers_are_unexpired_identity_leases_with_an_address() {
        let now = 2_000_000_000;
        let mut leader = identity("leader", Some("10.1.1.1:6443"), 0, now);
        leader["metadata"]["labels"] = json!({});
        let leases = [
            identity("b", Some("127.0.0.1:7000"), 5, now),
            identity("a", Some("127.0.0.1:6443"), 5, now),
            identity("dup", Some("127.0.0.1:6443"), 5, now),
            identity("old", Some("127.0.0.2:6443"), 120, now),
            identity("none", None, 0, now),
            identity("bad", Some("not-an-address"), 0, now),
            leader,
        ];
        let live: Vec<String> = live_addresses(&leases, now, 3600)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(live, ["127.0.0.1:6443", "127.0.0.1:7000"]);
    }

    /// A killed server's hour-long identity Lease does not keep it listed:
    /// it leaves once it has been silent for longer than allowed.
    #[test]
    fn a_silent_server_leaves_before_its_lease_expires() {
        let now = 2_000_000_000;
        let leases = [
            identity_lasting("fresh", Some("127.0.0.1:6443"), 9, now, 3600),
            identity_lasting("edge", Some("127.0.0.1:6444"), 15, now, 3600),
            identity_lasting("silent", Some("127.0.0.1:6445"), 16, now, 3600),
        ];
        let live: Vec<String> = live_addresses(&leases, now, 15)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(live, ["127.0.0.1:6443", "127.0.0.1:6444"]);
        let timing = crate::options::IdentityTiming::default();
        assert_eq!(silence_allowed(&timing), 15, "the peer endpoint's TTL");
        let slow = crate::options::IdentityTiming {
            renew_interval: Duration::from_secs(20),
            ..timing
        };
        assert_eq!(silence_allowed(&slow), 30, "one and a half renewals");
    }

    #[test]
    fn one_ip_with_two_ports_gives_two_subsets_and_two_slices() {
        let live: Vec<SocketAddr> = ["127.0.0.1:6443", "127.0.0.1:7000", "10.0.0.9:6443"]
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect();
        let e = endpoints(&live);
        assert_eq!(
            e["subsets"],
            json!([
                {"addresses": [{"ip": "10.0.0.9"}, {"ip": "127.0.0.1"}], "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]},
                {"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "https", "port": 7000, "protocol": "TCP"}]},
            ])
        );
        assert_eq!(e["metadata"]["labels"][SKIP_MIRROR_LABEL], "true");
        let target = target_port(Some(7000), &live, 1);
        assert_eq!(target, 7000, "a port a live server listens on stays");
        let slices = endpoint_slices(&live, target, false);
        let names: Vec<&str> = slices.iter().map(object::name).collect();
        assert_eq!(names, ["kubernetes-6443", "kubernetes"]);
        assert_eq!(
            slices[1]["endpoints"],
            json!([{"addresses": ["127.0.0.1"], "conditions": {"ready": true}}])
        );
        assert_eq!(slices[0]["addressType"], "IPv4");
        assert!(
            slices
                .iter()
                .all(|s| s["metadata"]["labels"][SERVICE_NAME_LABEL] == NAME)
        );
    }

    #[test]
    fn no_live_server_keeps_an_empty_kubernetes_slice_and_no_subsets() {
        assert_eq!(target_port(Some(7000), &[], 6443), 6443);
        let slices = endpoint_slices(&[], 6443, false);
        assert_eq!(slices.len(), 1);
        assert_eq!(slices[0]["metadata"]["name"], NAME);
        assert_eq!(slices[0]["endpoints"], json!([]));
        assert!(endpoints(&[]).get("subsets").is_none());
    }

    #[test]
    fn extra_slice_names() {
        assert!(is_our_extra_slice("kubernetes-6443"));
        assert!(is_our_extra_slice("kubernetes-6443-ipv6"));
        assert!(!is_our_extra_slice("kubernetes"));
        assert!(!is_our_extra_slice("kubernetes-abc"));
        assert!(!is_our_extra_slice("other-6443"));
    }

    #[test]
    fn the_service_has_upstreams_fields() {
        let s = service(
            "10.0.0.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
            6443,
        );
        assert_eq!(s["spec"]["clusterIPs"], json!(["10.0.0.1"]));
        assert_eq!(s["spec"]["ipFamilies"], json!(["IPv4"]));
        assert_eq!(s["spec"]["ports"][0]["targetPort"], 6443);
        assert_eq!(s["status"], json!({"loadBalancer": {}}));
    }

    #[test]
    fn set_pointer_creates_replaces_and_removes() {
        let mut v = json!({"metadata": {"name": "x"}});
        set_pointer(&mut v, "/metadata/labels/a~1b", Some(json!("c")));
        assert_eq!(v["metadata"]["labels"]["a/b"], "c");
        set_pointer(&mut v, "/subsets", Some(json!([1])));
        assert_eq!(v["subsets"], json!([1]));
        set_pointer(&mut v, "/subsets", None);
        assert!(v.get("subsets").is_none());
        assert_eq!(v["metadata"]["name"], "x");
    }
}

//! Services: the defaults of `SetDefaults_Service` (type, session
//! affinity, port protocol and target port, traffic policies, load
//! balancer node ports), the IP family fields a single-stack cluster
//! fills in, and the validation of the defaulted and allocated fields.
//! Addresses and node ports themselves are allocated by the server
//! (storage is the arbiter); this module only says what a Service needs.

use serde_json::{Map, Value, json};

use super::fields::{child, each, existing, or_ptr, or_str, str_of};
use super::pod::{PROTOCOLS, enum_field};
use crate::validation::FieldError;

const TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const AFFINITIES: &[&str] = &["ClientIP", "None"];
const FAMILY_POLICIES: &[&str] = &["PreferDualStack", "RequireDualStack", "SingleStack"];
const TRAFFIC_POLICIES: &[&str] = &["Cluster", "Local"];

/// `SetDefaults_Service`.
pub(super) fn service(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    or_str(spec, "sessionAffinity", "None");
    match spec.get("sessionAffinity").and_then(Value::as_str) {
        Some("None") => {
            spec.remove("sessionAffinityConfig");
        }
        Some("ClientIP") => {
            let has_timeout = spec
                .get("sessionAffinityConfig")
                .and_then(|c| c.pointer("/clientIP/timeoutSeconds"))
                .is_some_and(|t| !t.is_null());
            if !has_timeout {
                spec.insert(
                    "sessionAffinityConfig".into(),
                    json!({"clientIP": {"timeoutSeconds": 10800}}),
                );
            }
        }
        _ => {}
    }
    or_str(spec, "type", "ClusterIP");
    for p in each(spec, "ports") {
        or_str(p, "protocol", "TCP");
        let unset = match p.get("targetPort") {
            None | Some(Value::Null) => true,
            Some(Value::Number(n)) => n.as_i64() == Some(0),
            Some(Value::String(s)) => s.is_empty(),
            Some(_) => false,
        };
        if unset && let Some(port) = p.get("port").cloned() {
            p.insert("targetPort".into(), port);
        }
    }
    let kind = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let external = matches!(kind.as_str(), "NodePort" | "LoadBalancer")
        || spec
            .get("externalIPs")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
    if external {
        or_str(spec, "externalTrafficPolicy", "Cluster");
    }
    if matches!(kind.as_str(), "NodePort" | "LoadBalancer" | "ClusterIP") {
        or_ptr(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if kind == "LoadBalancer" {
        or_ptr(spec, "allocateLoadBalancerNodePorts", json!(true));
        if let Some(ingress) = existing(obj, "status")
            .and_then(|s| existing(s, "loadBalancer"))
            .and_then(|lb| lb.get_mut("ingress"))
            .and_then(Value::as_array_mut)
        {
            for i in ingress.iter_mut().filter_map(Value::as_object_mut) {
                if i.get("ip")
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty())
                {
                    or_ptr(i, "ipMode", json!("VIP"));
                }
            }
        }
    }
}

/// What an update keeps from the stored Service `old` and what it drops,
/// before validation (upstream's `patchAllocatedValues` and
/// `dropTypeDependentFields`): allocated values the client left out stay
/// while the type still needs them (node ports matched by port name); a
/// type that no longer needs them loses those the client did not change.
pub(super) fn prepare_for_update(svc: &mut Value, old: &Value) {
    let needs_cluster_ip = |s: &Value| str_of(s, "/spec/type") != "ExternalName";
    let needs_node_ports =
        |s: &Value| matches!(str_of(s, "/spec/type"), "NodePort" | "LoadBalancer");
    let needs_hc_node_port = |s: &Value| {
        str_of(s, "/spec/type") == "LoadBalancer"
            && str_of(s, "/spec/externalTrafficPolicy") == "Local"
    };
    let same = |new: &Value, field: &str| new.pointer(field) == old.pointer(field);
    let node_ports_of = |s: &Value| -> Vec<i64> {
        s.pointer("/spec/ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("nodePort").and_then(Value::as_i64))
            .filter(|n| *n != 0)
            .collect()
    };

    // Kept while needed.
    if needs_cluster_ip(old) && needs_cluster_ip(svc) {
        for field in ["clusterIP", "clusterIPs"] {
            let unset = match svc.pointer(&format!("/spec/{field}")) {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.is_empty(),
                Some(Value::Array(a)) => a.is_empty(),
                Some(_) => false,
            };
            if unset
                && let Some(v) = old.pointer(&format!("/spec/{field}")).cloned()
                && let Some(spec) = svc.get_mut("spec").and_then(Value::as_object_mut)
            {
                spec.insert(field.into(), v);
            }
        }
    }
    if needs_node_ports(old) && needs_node_ports(svc) {
        let in_use = node_ports_of(svc);
        let by_name: Vec<(String, i64)> = old
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    p.get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    p.get("nodePort").and_then(Value::as_i64).unwrap_or(0),
                )
            })
            .collect();
        if let Some(spec) = svc.get_mut("spec").and_then(Value::as_object_mut) {
            for p in each(spec, "ports") {
                if p.get("nodePort").and_then(Value::as_i64).unwrap_or(0) != 0 {
                    continue;
                }
                let name = p.get("name").and_then(Value::as_str).unwrap_or("");
                if let Some((_, n)) = by_name.iter().find(|(o, _)| o == name)
                    && *n != 0
                    && !in_use.contains(n)
                {
                    p.insert("nodePort".into(), json!(n));
                }
            }
        }
    }
    if needs_hc_node_port(old)
        && needs_hc_node_port(svc)
        && svc
            .pointer("/spec/healthCheckNodePort")
            .is_none_or(|v| v.as_i64() == Some(0))
        && let Some(v) = old.pointer("/spec/healthCheckNodePort").cloned()
        && let Some(spec) = svc.get_mut("spec").and_then(Value::as_object_mut)
    {
        spec.insert("healthCheckNodePort".into(), v);
    }

    // Dropped once not needed, unless the client changed them.
    let drop_cluster_ip = needs_cluster_ip(old) && !needs_cluster_ip(svc);
    let same_cluster_ips = same(svc, "/spec/clusterIP") && same(svc, "/spec/clusterIPs");
    let same_families = same(svc, "/spec/ipFamilies");
    let same_family_policy = same(svc, "/spec/ipFamilyPolicy");
    let drop_node_ports =
        needs_node_ports(old) && !needs_node_ports(svc) && node_ports_of(svc) == node_ports_of(old);
    let drop_hc = needs_hc_node_port(old)
        && !needs_hc_node_port(svc)
        && same(svc, "/spec/healthCheckNodePort");
    let was_lb = str_of(old, "/spec/type") == "LoadBalancer";
    let is_lb = str_of(svc, "/spec/type") == "LoadBalancer";
    let drop_allocate_lb = was_lb
        && !is_lb
        && svc.pointer("/spec/allocateLoadBalancerNodePorts").is_some()
        && same(svc, "/spec/allocateLoadBalancerNodePorts");
    let external = |s: &Value| matches!(str_of(s, "/spec/type"), "NodePort" | "LoadBalancer");
    let drop_etp = external(old) && !external(svc) && same(svc, "/spec/externalTrafficPolicy");
    if let Some(spec) = svc.get_mut("spec").and_then(Value::as_object_mut) {
        if drop_cluster_ip {
            if same_cluster_ips {
                spec.remove("clusterIP");
                spec.remove("clusterIPs");
            }
            if same_families {
                spec.remove("ipFamilies");
            }
            if same_family_policy {
                spec.remove("ipFamilyPolicy");
            }
        }
        if drop_node_ports {
            for p in each(spec, "ports") {
                p.remove("nodePort");
            }
        }
        if drop_hc {
            spec.remove("healthCheckNodePort");
        }
        if drop_allocate_lb {
            spec.remove("allocateLoadBalancerNodePorts");
        }
        if drop_etp {
            spec.remove("externalTrafficPolicy");
        }
    }
    if !is_lb && let Some(map) = svc.as_object_mut() {
        map.insert("status".into(), json!({"loadBalancer": {}}));
    }
}

/// Whether a Service gets a cluster IP: not ExternalName, not headless.
pub fn wants_cluster_ip(svc: &Value) -> bool {
    str_of(svc, "/spec/type") != "ExternalName" && str_of(svc, "/spec/clusterIP") != "None"
}

/// Whether a Service's ports get node ports (NodePort, and LoadBalancer
/// unless `allocateLoadBalancerNodePorts` is false).
pub fn wants_node_ports(svc: &Value) -> bool {
    match str_of(svc, "/spec/type") {
        "NodePort" => true,
        "LoadBalancer" => svc.pointer("/spec/allocateLoadBalancerNodePorts") != Some(&json!(false)),
        _ => false,
    }
}

/// The IP family fields of a single-stack cluster whose addresses are of
/// `family` (`IPv4`, `IPv6`), filled in where unset, as the registry does
/// when it allocates: ExternalName gets none, a headless Service without
/// selector may be dual-stack, everything else single-stack.
pub fn set_ip_families(svc: &mut Value, family: &str) {
    if str_of(svc, "/spec/type") == "ExternalName" {
        return;
    }
    let headless_without_selector = str_of(svc, "/spec/clusterIP") == "None"
        && svc
            .pointer("/spec/selector")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty);
    let Some(spec) = svc.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let policy = if headless_without_selector {
        "RequireDualStack"
    } else {
        "SingleStack"
    };
    or_ptr(spec, "ipFamilyPolicy", json!(policy));
    let empty = spec
        .get("ipFamilies")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if empty {
        spec.insert("ipFamilies".into(), json!([family]));
    }
}

/// The defaulted fields of a Service that hold values upstream refuses,
/// and node ports where the type allows none.
pub(super) fn validate(svc: &Value, errors: &mut Vec<FieldError>) {
    let Some(spec) = svc.get("spec") else {
        return;
    };
    enum_field(spec, "type", "spec", TYPES, errors);
    enum_field(spec, "sessionAffinity", "spec", AFFINITIES, errors);
    enum_field(spec, "ipFamilyPolicy", "spec", FAMILY_POLICIES, errors);
    enum_field(
        spec,
        "internalTrafficPolicy",
        "spec",
        TRAFFIC_POLICIES,
        errors,
    );
    enum_field(
        spec,
        "externalTrafficPolicy",
        "spec",
        TRAFFIC_POLICIES,
        errors,
    );
    let kind = str_of(spec, "/type");
    let ports = spec.get("ports").and_then(Value::as_array);
    if ports.is_none_or(Vec::is_empty)
        && kind != "ExternalName"
        && str_of(spec, "/clusterIP") != "None"
    {
        errors.push(FieldError::required("spec.ports", ""));
    }
    for (i, p) in ports.into_iter().flatten().enumerate() {
        let at = format!("spec.ports[{i}]");
        enum_field(p, "protocol", &at, PROTOCOLS, errors);
        let node_port = p.get("nodePort").and_then(Value::as_i64).unwrap_or(0);
        if node_port != 0 && kind == "ClusterIP" {
            errors.push(FieldError::forbidden(
                format!("{at}.nodePort"),
                "may not be used when `type` is 'ClusterIP'",
            ));
        }
    }
    if let Some(ip) = spec.get("clusterIP").and_then(Value::as_str)
        && !ip.is_empty()
        && ip != "None"
        && ip.parse::<std::net::IpAddr>().is_err()
    {
        errors.push(FieldError::invalid(
            "spec.clusterIPs[0]",
            ip,
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ));
    }
}

//! Pods and pod templates: the defaults of a PodSpec (every template gets
//! them), those only a Pod gets (requests from limits, service links, host
//! network ports), the status a new Pod starts with (phase `Pending`, its
//! QoS class), and the validation of the defaulted fields.

use serde_json::{Map, Value, json};

use super::fields::{child, each, existing, or_ptr, or_str, or_zero};
use super::quantity::parse_nanos;
use crate::validation::FieldError;

pub(super) const RESTART_POLICIES: &[&str] = &["Always", "Never", "OnFailure"];
const DNS_POLICIES: &[&str] = &["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"];
const PULL_POLICIES: &[&str] = &["Always", "IfNotPresent", "Never"];
const TERMINATION_MESSAGE_POLICIES: &[&str] = &["FallbackToLogsOnError", "File"];
pub(super) const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// The defaults of a PodSpec, wherever it appears (a Pod, any template).
pub(super) fn pod_spec(spec: &mut Map<String, Value>) {
    or_str(spec, "dnsPolicy", "ClusterFirst");
    or_str(spec, "restartPolicy", "Always");
    or_ptr(spec, "securityContext", json!({}));
    or_ptr(spec, "terminationGracePeriodSeconds", json!(30));
    or_str(spec, "schedulerName", "default-scheduler");
    for list in CONTAINER_LISTS {
        for c in each(spec, list) {
            container(c);
        }
    }
    for v in each(spec, "volumes") {
        volume(v);
    }
}

fn container(c: &mut Map<String, Value>) {
    let image = c.get("image").and_then(Value::as_str).unwrap_or("");
    let policy = if image_tag(image) == "latest" {
        "Always"
    } else {
        "IfNotPresent"
    };
    or_str(c, "imagePullPolicy", policy);
    or_str(c, "terminationMessagePath", "/dev/termination-log");
    or_str(c, "terminationMessagePolicy", "File");
    for p in each(c, "ports") {
        or_str(p, "protocol", "TCP");
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = existing(c, probe) {
            or_zero(p, "timeoutSeconds", 1);
            or_zero(p, "periodSeconds", 10);
            or_zero(p, "successThreshold", 1);
            or_zero(p, "failureThreshold", 3);
            http_get(p);
        }
    }
    if let Some(lifecycle) = existing(c, "lifecycle") {
        for hook in ["postStart", "preStop"] {
            if let Some(h) = existing(lifecycle, hook) {
                http_get(h);
            }
        }
    }
    for env in each(c, "env") {
        if let Some(field_ref) = existing(env, "valueFrom").and_then(|v| existing(v, "fieldRef")) {
            or_str(field_ref, "apiVersion", "v1");
        }
    }
}

fn http_get(handler: &mut Map<String, Value>) {
    if let Some(get) = existing(handler, "httpGet") {
        or_str(get, "path", "/");
        or_str(get, "scheme", "HTTP");
    }
}

/// Volume sources: none at all is an `emptyDir`; file modes default to
/// 0644 (420); a projected token lives an hour.
fn volume(v: &mut Map<String, Value>) {
    let has_source = v.iter().any(|(k, val)| k != "name" && !val.is_null());
    if !has_source {
        v.insert("emptyDir".into(), json!({}));
    }
    for source in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(s) = existing(v, source) {
            or_ptr(s, "defaultMode", json!(420));
        }
    }
    if let Some(items) = existing(v, "downwardAPI") {
        for item in each(items, "items") {
            if let Some(field_ref) = existing(item, "fieldRef") {
                or_str(field_ref, "apiVersion", "v1");
            }
        }
    }
    if let Some(projected) = existing(v, "projected") {
        for source in each(projected, "sources") {
            if let Some(token) = existing(source, "serviceAccountToken") {
                or_ptr(token, "expirationSeconds", json!(3600));
            }
            if let Some(d) = existing(source, "downwardAPI") {
                for item in each(d, "items") {
                    if let Some(field_ref) = existing(item, "fieldRef") {
                        or_str(field_ref, "apiVersion", "v1");
                    }
                }
            }
        }
    }
    if let Some(host_path) = existing(v, "hostPath") {
        or_ptr(host_path, "type", json!(""));
    }
}

/// The tag an image reference names: `latest` when it names none and no
/// digest either, `""` for a digest alone.
fn image_tag(image: &str) -> &str {
    if image.is_empty() {
        return "";
    }
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.split_once(':') {
        Some((_, tag)) => tag,
        None if digest.is_some() => "",
        None => "latest",
    }
}

/// What a Pod gets beyond its spec's defaults.
pub(super) fn pod(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    pod_spec(spec);
    for list in ["containers", "initContainers"] {
        for c in each(spec, list) {
            requests_from_limits(c);
        }
    }
    or_ptr(spec, "enableServiceLinks", json!(true));
    if spec.get("hostNetwork") == Some(&Value::Bool(true)) {
        for list in ["containers", "initContainers"] {
            for c in each(spec, list) {
                for p in each(c, "ports") {
                    if let Some(port) = p.get("containerPort").cloned() {
                        or_zero(p, "hostPort", port.as_i64().unwrap_or(0));
                    }
                }
            }
        }
    }
}

fn requests_from_limits(c: &mut Map<String, Value>) {
    let Some(resources) = existing(c, "resources") else {
        return;
    };
    let Some(limits) = resources.get("limits").and_then(Value::as_object).cloned() else {
        return;
    };
    let Some(requests) = child(resources, "requests") else {
        return;
    };
    for (name, q) in limits {
        requests.entry(name).or_insert(q);
    }
}

/// The priority classes every cluster has, and their values.
const SYSTEM_PRIORITY_CLASSES: [(&str, i64); 2] = [
    ("system-node-critical", 2_000_001_000),
    ("system-cluster-critical", 2_000_000_000),
];

/// What kube-apiserver's default admission plugins add to a new Pod:
/// its priority (Priority: 0 and `PreemptLowerPriority` without a class,
/// as a cluster with no default PriorityClass; a system class's value) and
/// the five-minute tolerations of not-ready and unreachable nodes
/// (DefaultTolerationSeconds) unless it tolerates those already.
pub(super) fn admit_on_create(obj: &mut Map<String, Value>) {
    let Some(spec) = existing(obj, "spec") else {
        return;
    };
    let class = spec
        .get("priorityClassName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let priority = if class.is_empty() {
        Some(0)
    } else {
        SYSTEM_PRIORITY_CLASSES
            .iter()
            .find(|(name, _)| *name == class)
            .map(|(_, value)| *value)
    };
    if let Some(priority) = priority {
        or_ptr(spec, "priority", json!(priority));
        or_ptr(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    }
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let tolerated = spec
            .get("tolerations")
            .and_then(Value::as_array)
            .is_some_and(|list| list.iter().any(|t| tolerates_no_execute(t, key)));
        if tolerated {
            continue;
        }
        let toleration = json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300});
        match spec.get_mut("tolerations") {
            Some(Value::Array(list)) => list.push(toleration),
            Some(Value::Null) | None => {
                spec.insert("tolerations".into(), json!([toleration]));
            }
            Some(_) => {}
        }
    }
}

/// Whether toleration `t` tolerates the NoExecute taint `key`.
fn tolerates_no_execute(t: &Value, key: &str) -> bool {
    let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
    let t_key = t.get("key").and_then(Value::as_str).unwrap_or("");
    let operator = t.get("operator").and_then(Value::as_str).unwrap_or("Equal");
    (effect.is_empty() || effect == "NoExecute")
        && (t_key == key || (t_key.is_empty() && operator == "Exists"))
}

/// The status a new Pod starts with, whatever the client sent.
pub(super) fn status_on_create(obj: &Value) -> Value {
    json!({"phase": "Pending", "qosClass": qos_class(obj)})
}

/// The QoS class of a Pod whose requests were already defaulted: only cpu
/// and memory count; none requested or limited anywhere is BestEffort;
/// every container limiting both, with requests equal to limits in sum,
/// Guaranteed; anything else Burstable. Pod-level resources, when set,
/// decide alone.
pub(super) fn qos_class(obj: &Value) -> &'static str {
    const COMPUTE: [&str; 2] = ["cpu", "memory"];
    let mut requests: Map<String, Value> = Map::new();
    let mut limits: Map<String, Value> = Map::new();
    let add = |sum: &mut Map<String, Value>, name: &str, nanos: i128| {
        let before = sum
            .get(name)
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<i128>().ok())
            .unwrap_or(0);
        sum.insert(
            name.to_owned(),
            Value::String(before.saturating_add(nanos).to_string()),
        );
    };
    let positive = |resources: Option<&Value>, field: &str| -> Vec<(String, i128)> {
        resources
            .and_then(|r| r.get(field))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| COMPUTE.contains(&k.as_str()))
                    .filter_map(|(k, v)| Some((k.clone(), parse_nanos(v.as_str()?)?)))
                    .filter(|(_, n)| *n > 0)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut guaranteed = true;
    let pod_level = obj.pointer("/spec/resources");
    let units: Vec<Option<&Value>> = if pod_level.is_some_and(|r| {
        ["requests", "limits"].iter().any(|f| {
            r.get(f)
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty())
        })
    }) {
        vec![pod_level]
    } else {
        ["containers", "initContainers"]
            .iter()
            .filter_map(|l| obj.pointer(&format!("/spec/{l}")).and_then(Value::as_array))
            .flatten()
            .map(|c| c.get("resources"))
            .collect()
    };
    for resources in units {
        for (name, n) in positive(resources, "requests") {
            add(&mut requests, &name, n);
        }
        let found = positive(resources, "limits");
        for (name, n) in &found {
            add(&mut limits, name, *n);
        }
        if !COMPUTE.iter().all(|c| found.iter().any(|(n, _)| n == c)) {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed
        && requests.len() == limits.len()
        && requests.iter().all(|(k, v)| limits.get(k) == Some(v))
    {
        return "Guaranteed";
    }
    "Burstable"
}

/// The defaulted fields of a PodSpec at `path` (`spec`,
/// `spec.template.spec`) that hold values upstream does not accept.
pub(super) fn validate_spec(spec: &Value, path: &str, errors: &mut Vec<FieldError>) {
    enum_field(spec, "restartPolicy", path, RESTART_POLICIES, errors);
    enum_field(spec, "dnsPolicy", path, DNS_POLICIES, errors);
    for list in CONTAINER_LISTS {
        let Some(containers) = spec.get(list).and_then(Value::as_array) else {
            continue;
        };
        for (i, c) in containers.iter().enumerate() {
            let at = format!("{path}.{list}[{i}]");
            enum_field(c, "imagePullPolicy", &at, PULL_POLICIES, errors);
            enum_field(
                c,
                "terminationMessagePolicy",
                &at,
                TERMINATION_MESSAGE_POLICIES,
                errors,
            );
            if let Some(ports) = c.get("ports").and_then(Value::as_array) {
                for (j, p) in ports.iter().enumerate() {
                    enum_field(
                        p,
                        "protocol",
                        &format!("{at}.ports[{j}]"),
                        PROTOCOLS,
                        errors,
                    );
                }
            }
        }
    }
}

/// `field` of `obj` (at `path`), when set, is one of `supported` (an
/// empty string counts as set: the defaulters have replaced it already).
pub(super) fn enum_field(
    obj: &Value,
    field: &str,
    path: &str,
    supported: &[&str],
    errors: &mut Vec<FieldError>,
) {
    match obj.get(field) {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if supported.contains(&s.as_str()) => {}
        Some(v) => errors.push(FieldError::not_supported(
            format!("{path}.{field}"),
            v.clone(),
            supported,
        )),
    }
}

//! Built-in objects' defaults as clients read them back, and the
//! validation of the defaulted fields with upstream's messages: what
//! kube-apiserver's defaulters (`SetDefaults_*` of each API group's v1)
//! and its registry strategies fill in before an object is validated and
//! stored. Pure functions of the object: no I/O, no clock, no randomness;
//! never panics on user input (fields of the wrong JSON type are left as
//! they are, for validation to report).
//!
//! Defaults apply to every write (create, update, and the object a patch
//! produces), in the request's version. No default of the fields here is
//! known to differ across the releases the catalog emulates (1.33 … 1.37;
//! not checked field by field against each release, see
//! `data/README.md`), so they take no version; a default that starts or
//! stops with a release belongs in a table keyed by it.
//!
//! What storage must arbitrate (cluster IPs, node ports) the server
//! allocates; [`wants_cluster_ip`], [`wants_node_ports`] and
//! [`set_ip_families`] say what a Service needs.

mod fields;
mod pod;
mod quantity;
mod service;
mod workloads;

#[cfg(test)]
mod tests;

use serde_json::{Value, json};

use crate::validation::FieldError;

pub use service::{set_ip_families, wants_cluster_ip, wants_node_ports};

/// Fills in the defaults of a built-in object of `group`/`kind` (any
/// other kind is left alone).
pub fn apply(group: &str, kind: &str, obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    match (group, kind) {
        ("", "Pod") => pod::pod(map),
        ("", "PodTemplate") => {
            if let Some(spec) =
                fields::existing(map, "template").and_then(|t| fields::existing(t, "spec"))
            {
                pod::pod_spec(spec);
            }
        }
        ("", "Service") => service::service(map),
        ("", "ReplicationController") => workloads::replication_controller(map),
        ("apps", "Deployment") => workloads::deployment(map),
        ("apps", "ReplicaSet") => workloads::replica_set(map),
        ("apps", "StatefulSet") => workloads::stateful_set(map),
        ("apps", "DaemonSet") => workloads::daemon_set(map),
        ("batch", "Job") => workloads::job(map),
        ("batch", "CronJob") => workloads::cron_job(map),
        _ => {}
    }
}

/// What an update of a built-in object keeps from, or drops because of,
/// the stored object `old`, after defaulting and before validation (for
/// Services: allocated values the client left out, fields the new type no
/// longer uses).
pub fn prepare_for_update(group: &str, kind: &str, obj: &mut Value, old: &Value) {
    if (group, kind) == ("", "Service") {
        service::prepare_for_update(obj, old);
    }
}

/// The defaulted fields of a built-in object that hold values upstream
/// refuses, as upstream words them (`spec.restartPolicy: Unsupported
/// value: "Bogus": supported values: "Always", "Never", "OnFailure"`).
pub fn validate(group: &str, kind: &str, obj: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match (group, kind) {
        ("", "Pod") => {
            if let Some(spec) = obj.get("spec") {
                pod::validate_spec(spec, "spec", &mut errors);
            }
        }
        ("", "Service") => service::validate(obj, &mut errors),
        ("", "ReplicationController") | ("apps", _) | ("batch", _) => {
            workloads::validate(kind, obj, &mut errors);
        }
        _ => {}
    }
    errors
}

/// What the registry and the default admission plugins set on a new
/// object once it has its name and UID (after the fields a create records
/// as its manager's): a Job's selector, a Pod's priority and tolerations.
pub fn prepare_for_create(group: &str, kind: &str, obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    match (group, kind) {
        ("batch", "Job") => workloads::job_selector(map),
        ("", "Pod") => pod::admit_on_create(map),
        _ => {}
    }
}

/// The status a new object of `group`/`kind` starts with whatever the
/// client sent (upstream's `PrepareForCreate`), or `None` to keep what
/// the caller has.
pub fn status_on_create(group: &str, kind: &str, obj: &Value) -> Option<Value> {
    match (group, kind) {
        ("", "Pod") => Some(pod::status_on_create(obj)),
        ("", "Service") => Some(json!({"loadBalancer": {}})),
        _ => None,
    }
}

/// Built-in resources whose strategies keep `metadata.generation` (1 on
/// create, bumped when the spec changes); every other built-in has none.
/// Custom resources always have one.
const GENERATION: &[(&str, &[&str])] = &[
    ("", &["pods", "replicationcontrollers"]),
    (
        "apps",
        &["deployments", "replicasets", "statefulsets", "daemonsets"],
    ),
    ("batch", &["jobs", "cronjobs"]),
    ("discovery.k8s.io", &["endpointslices"]),
    ("policy", &["poddisruptionbudgets"]),
    (
        "networking.k8s.io",
        &["ingresses", "ingressclasses", "networkpolicies"],
    ),
    (
        "admissionregistration.k8s.io",
        &[
            "validatingwebhookconfigurations",
            "mutatingwebhookconfigurations",
            "validatingadmissionpolicies",
            "validatingadmissionpolicybindings",
            "mutatingadmissionpolicies",
            "mutatingadmissionpolicybindings",
        ],
    ),
    ("apiextensions.k8s.io", &["customresourcedefinitions"]),
    (
        "flowcontrol.apiserver.k8s.io",
        &["flowschemas", "prioritylevelconfigurations"],
    ),
    ("resource.k8s.io", &["deviceclasses", "resourceslices"]),
];

/// Whether a built-in resource keeps `metadata.generation`.
pub fn tracks_generation(group: &str, resource: &str) -> bool {
    GENERATION
        .iter()
        .any(|(g, resources)| *g == group && resources.contains(&resource))
}

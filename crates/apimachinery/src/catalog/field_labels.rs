//! Which field labels each built-in resource can be selected by (upstream's
//! per-kind field label conversions and `GetAttrs`/`ToSelectableFields` in
//! `pkg/registry/*/strategy.go`), and where each label's value is read in
//! the object's JSON. Data and one pure lookup: no I/O, never panics.

use crate::selector::{FieldSelector, SelectorError};

/// One field label: its name in a selector, the JSON path its value is
/// read from, and the value a missing field reads as (Go's zero value as
/// upstream prints it: `"0"` for counts, `"false"` for flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldLabel {
    /// The label clients write, e.g. `spec.nodeName`.
    pub label: &'static str,
    /// Where its value is, e.g. `status.succeeded` for `status.successful`.
    pub path: &'static str,
    /// What a missing field reads as.
    pub missing: &'static str,
}

const fn same(label: &'static str) -> FieldLabel {
    FieldLabel {
        label,
        path: label,
        missing: "",
    }
}

const fn at(label: &'static str, path: &'static str, missing: &'static str) -> FieldLabel {
    FieldLabel {
        label,
        path,
        missing,
    }
}

const NAME: FieldLabel = same("metadata.name");
const NAMESPACE: FieldLabel = same("metadata.namespace");

const PODS: &[FieldLabel] = &[
    NAME,
    NAMESPACE,
    same("spec.nodeName"),
    same("spec.restartPolicy"),
    same("spec.schedulerName"),
    same("spec.serviceAccountName"),
    at("spec.hostNetwork", "spec.hostNetwork", "false"),
    same("status.phase"),
    same("status.podIP"),
    // Upstream selects on the primary address, which `status.podIP` holds.
    at("status.podIPs", "status.podIP", ""),
    same("status.nominatedNodeName"),
    // Old v1 clients' name for spec.nodeName.
    at("spec.host", "spec.nodeName", ""),
];

const EVENTS: &[FieldLabel] = &[
    NAME,
    NAMESPACE,
    same("involvedObject.kind"),
    same("involvedObject.namespace"),
    same("involvedObject.name"),
    same("involvedObject.uid"),
    same("involvedObject.apiVersion"),
    same("involvedObject.resourceVersion"),
    same("involvedObject.fieldPath"),
    same("reason"),
    same("reportingComponent"),
    at("source", "source.component", ""),
    same("type"),
];

/// `events.k8s.io` Events: the same fields under their new names.
const EVENTS_V1: &[FieldLabel] = &[
    NAME,
    NAMESPACE,
    same("regarding.kind"),
    same("regarding.namespace"),
    same("regarding.name"),
    same("regarding.uid"),
    same("regarding.apiVersion"),
    same("regarding.resourceVersion"),
    same("regarding.fieldPath"),
    same("reason"),
    same("reportingController"),
    same("type"),
];

const REPLICAS: &[FieldLabel] = &[
    NAME,
    NAMESPACE,
    at("status.replicas", "status.replicas", "0"),
];

/// Per (group, resource), for the kinds upstream registers a field label
/// conversion for; every other resource has only `metadata.name` and
/// `metadata.namespace`.
const TABLE: &[(&str, &str, &[FieldLabel])] = &[
    ("", "pods", PODS),
    ("", "events", EVENTS),
    (
        "",
        "nodes",
        &[
            NAME,
            at("spec.unschedulable", "spec.unschedulable", "false"),
        ],
    ),
    ("", "namespaces", &[NAME, same("status.phase")]),
    ("", "secrets", &[NAME, NAMESPACE, same("type")]),
    (
        "",
        "services",
        &[NAME, NAMESPACE, same("spec.clusterIP"), same("spec.type")],
    ),
    ("", "replicationcontrollers", REPLICAS),
    ("apps", "replicasets", REPLICAS),
    (
        "batch",
        "jobs",
        &[
            NAME,
            NAMESPACE,
            at("status.successful", "status.succeeded", "0"),
        ],
    ),
    (
        "certificates.k8s.io",
        "certificatesigningrequests",
        &[NAME, same("spec.signerName")],
    ),
    ("events.k8s.io", "events", EVENTS_V1),
    (
        "resource.k8s.io",
        "resourceslices",
        &[NAME, same("spec.nodeName"), same("spec.driver")],
    ),
];

/// The field labels of a built-in resource that has its own list, or
/// `None` when it has only `metadata.name` and `metadata.namespace`.
pub fn field_labels(group: &str, resource: &str) -> Option<&'static [FieldLabel]> {
    TABLE
        .iter()
        .find(|(g, r, _)| *g == group && *r == resource)
        .map(|(_, _, labels)| *labels)
}

/// Checks a field selector against what `group`/`resource` supports and
/// records where each label is read. `selectable` are a custom resource's
/// `selectableFields` (JSON paths without the leading dot). Unsupported
/// labels are refused with upstream's messages: `field label not
/// supported: <label>` for kinds with their own list, `"<label>" is not a
/// known field selector: only "metadata.name", "metadata.namespace"` for
/// the others.
pub fn resolve_field_selector(
    selector: FieldSelector,
    group: &str,
    resource: &str,
    selectable: &[String],
) -> Result<FieldSelector, SelectorError> {
    let own = field_labels(group, resource);
    selector.resolve(|label| {
        if let Some(labels) = own {
            return labels
                .iter()
                .find(|l| l.label == label)
                .map(|l| (l.path.to_owned(), l.missing.to_owned()))
                .ok_or_else(|| {
                    SelectorError::new(format!("field label not supported: {label}"))
                });
        }
        if label == NAME.label || label == NAMESPACE.label || selectable.iter().any(|s| s == label)
        {
            return Ok((label.to_owned(), String::new()));
        }
        Err(SelectorError::new(format!(
            "{label:?} is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
        )))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn resolve(selector: &str, group: &str, resource: &str) -> Result<FieldSelector, String> {
        let parsed = FieldSelector::parse(selector).map_err(|e| e.message().to_owned())?;
        resolve_field_selector(parsed, group, resource, &["spec.color".to_owned()])
            .map_err(|e| e.message().to_owned())
    }

    #[test]
    fn every_resource_has_name_and_namespace() {
        for (group, resource) in [("", "configmaps"), ("apps", "deployments"), ("", "pods")] {
            assert!(resolve("metadata.name=a,metadata.namespace!=b", group, resource).is_ok());
        }
    }

    #[test]
    fn unsupported_labels_are_refused_with_upstreams_messages() {
        assert_eq!(
            resolve("spec.nodeName=a", "", "configmaps")
                .err()
                .as_deref(),
            Some(
                "\"spec.nodeName\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
            )
        );
        for (selector, group, resource) in [
            ("foo=bar", "", "pods"),
            ("data.a=1", "", "secrets"),
            ("metadata.namespace=x", "", "nodes"),
        ] {
            let label = selector.split('=').next().unwrap_or_default();
            assert_eq!(
                resolve(selector, group, resource).err(),
                Some(format!("field label not supported: {label}")),
                "{selector} on {resource}"
            );
        }
        // A custom resource's selectable fields (passed as `selectable`).
        assert!(resolve("spec.color=red", "example.com", "widgets").is_ok());
    }

    #[test]
    fn per_resource_fields_read_where_upstream_reads_them() {
        let job = json!({"metadata": {"name": "j"}, "status": {}});
        let sel = resolve("status.successful=0", "batch", "jobs").unwrap_or_default();
        assert!(sel.matches(&job), "a missing count reads as 0");
        let done = json!({"metadata": {"name": "j"}, "status": {"succeeded": 2}});
        let sel = resolve("status.successful=2", "batch", "jobs").unwrap_or_default();
        assert!(sel.matches(&done) && !sel.matches(&job));

        let pod = json!({"spec": {"nodeName": "n1"}});
        let sel = resolve("spec.host=n1,spec.hostNetwork=false", "", "pods").unwrap_or_default();
        assert!(sel.matches(&pod));

        let event = json!({"source": {"component": "kubelet"}});
        let sel = resolve("source=kubelet", "", "events").unwrap_or_default();
        assert!(sel.matches(&event));
    }
}

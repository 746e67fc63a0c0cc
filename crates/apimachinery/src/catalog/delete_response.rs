//! What a DELETE of one built-in object answers when the object is gone:
//! the deleted object itself, or a `Status` of `Success`. Upstream decides
//! this per resource in its REST storage (`ReturnDeletedObject: true` in
//! `pkg/registry/<group>/<resource>/storage/storage.go`); every other
//! built-in resource, and every custom resource, answers a `Status`. (An
//! object that finalizers hold back is answered with the object on every
//! resource; that is the handler's business, not this table's.)
//!
//! Data and one pure lookup: no I/O, never panics.

/// `(group, resource)` of the built-in resources whose storage sets
/// `ReturnDeletedObject: true` upstream (checked against each storage.go).
const RETURNS_DELETED_OBJECT: &[(&str, &str)] = &[
    ("", "namespaces"),
    ("", "persistentvolumeclaims"),
    ("", "persistentvolumes"),
    ("", "pods"),
    ("", "serviceaccounts"),
    ("", "services"),
    ("resource.k8s.io", "deviceclasses"),
    ("resource.k8s.io", "resourceclaims"),
    ("resource.k8s.io", "resourceclaimtemplates"),
    ("resource.k8s.io", "resourceslices"),
    ("storage.k8s.io", "csidrivers"),
    ("storage.k8s.io", "csinodes"),
    ("storage.k8s.io", "storageclasses"),
    ("storage.k8s.io", "volumeattachments"),
    ("storage.k8s.io", "volumeattributesclasses"),
];

/// Whether a DELETE that removed an object of this built-in resource answers
/// with the object (`true`) or with a `Status` (`false`).
pub fn returns_deleted_object(group: &str, resource: &str) -> bool {
    RETURNS_DELETED_OBJECT
        .iter()
        .any(|(g, r)| *g == group && *r == resource)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::catalog::{Catalog, EmulatedVersion, RuntimeConfig};

    #[test]
    fn objects_for_pods_and_services_status_for_configmaps() {
        assert!(returns_deleted_object("", "pods"));
        assert!(returns_deleted_object("", "services"));
        assert!(returns_deleted_object("", "namespaces"));
        assert!(!returns_deleted_object("", "configmaps"));
        assert!(!returns_deleted_object("apps", "deployments"));
        assert!(!returns_deleted_object(
            "scheduling.k8s.io",
            "priorityclasses"
        ));
        assert!(!returns_deleted_object(
            "storage.k8s.io",
            "csistoragecapacities"
        ));
        // A custom resource reusing a plural in another group is not listed.
        assert!(!returns_deleted_object("example.com", "pods"));
    }

    /// Every entry names a resource some release serves (a typo would
    /// silently turn an answer into a Status).
    #[test]
    fn every_entry_is_a_served_resource() {
        let all = RuntimeConfig::parse("api/all=true").unwrap();
        for (group, resource) in RETURNS_DELETED_OBJECT {
            let served = EmulatedVersion::supported().iter().any(|v| {
                let catalog = Catalog::new(*v, &all);
                catalog
                    .group_versions()
                    .any(|gv| gv.group == *group && gv.resource(resource).is_some())
            });
            assert!(served, "{group}/{resource}");
        }
    }
}

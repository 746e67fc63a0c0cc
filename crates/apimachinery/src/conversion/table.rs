//! Every built-in resource the catalog serves in more than one version (at
//! any emulated release, counting versions that only one release serves:
//! servers of two releases share one storage), which of its versions share
//! one schema, how the others are converted, and its storage version per
//! release.
//!
//! Data only. The conversion tests check this table against the catalog
//! (every multi-version resource is here, with exactly its versions) and
//! the OpenAPI tests check `same_schema` against the embedded schemas.

/// How versions of different `same_schema` classes are converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Between {
    /// All versions share one schema: there is only one class.
    Nothing,
    /// HorizontalPodAutoscaler `autoscaling/v1` ↔ `v2` (`hpa`).
    HorizontalPodAutoscaler,
    /// `resource.k8s.io` `v1beta1` ↔ `v1`/`v1beta2` (`dra`).
    ResourceV1beta1,
    /// Workload `v1alpha1` ↔ `v1alpha2` (`workload`).
    Workload,
    /// Not converted: only `apiVersion` changes, fields one version lacks
    /// reach its clients as they were stored (PodCertificateRequest,
    /// PodGroup, StorageVersionMigration `v1alpha1`; each is listed in
    /// `docs/ARCHITECTURE.md`).
    Unconverted,
}

/// One resource served in several versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultiVersion {
    /// API group.
    pub group: &'static str,
    /// Plural resource name.
    pub resource: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// The versions, in classes whose schemas are identical apart from
    /// `apiVersion` (and descriptions and list/map merge hints, which do not
    /// change what an object holds).
    pub same_schema: &'static [&'static [&'static str]],
    /// How versions of different classes convert.
    pub between: Between,
    /// The storage version per minor release, oldest first; a release
    /// uses the entry of the newest minor not above it.
    pub storage: &'static [(u32, &'static str)],
}

impl MultiVersion {
    /// Every version, in class order.
    pub fn versions(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.same_schema.iter().flat_map(|c| c.iter().copied())
    }

    /// Whether `a` and `b` share one schema.
    pub fn same_class(&self, a: &str, b: &str) -> bool {
        a == b
            || self
                .same_schema
                .iter()
                .any(|class| class.contains(&a) && class.contains(&b))
    }

    /// The storage version of a server at minor release `minor`.
    pub fn storage_version(&self, minor: u32) -> &'static str {
        self.storage
            .iter()
            .rev()
            .find(|(m, _)| *m <= minor)
            .or_else(|| self.storage.first())
            .map_or("", |(_, v)| v)
    }
}

/// The storage versions follow upstream's rule for a mixed control plane:
/// a release stores a resource in a version the previous release can read,
/// so a version new in release N becomes the storage version in N+1
/// (MutatingAdmissionPolicy `v1`, new in 1.36, is stored as `v1beta1` by
/// 1.36 and as `v1` by 1.37; DeviceTaintRule `v1beta2` likewise). Where the
/// previous release serves no version of the resource (alpha versions
/// replaced outright), the release stores its own highest version.
pub static MULTI_VERSION: &[MultiVersion] = &[
    MultiVersion {
        group: "autoscaling",
        resource: "horizontalpodautoscalers",
        kind: "HorizontalPodAutoscaler",
        same_schema: &[&["v2"], &["v1"]],
        between: Between::HorizontalPodAutoscaler,
        storage: &[(33, "v2")],
    },
    MultiVersion {
        group: "certificates.k8s.io",
        resource: "clustertrustbundles",
        kind: "ClusterTrustBundle",
        same_schema: &[&["v1", "v1beta1", "v1alpha1"]],
        between: Between::Nothing,
        storage: &[(33, "v1alpha1"), (34, "v1beta1")],
    },
    MultiVersion {
        group: "certificates.k8s.io",
        resource: "podcertificaterequests",
        kind: "PodCertificateRequest",
        same_schema: &[&["v1"], &["v1beta1"], &["v1alpha1"]],
        between: Between::Unconverted,
        storage: &[(34, "v1alpha1"), (35, "v1beta1")],
    },
    MultiVersion {
        group: "networking.k8s.io",
        resource: "ipaddresses",
        kind: "IPAddress",
        same_schema: &[&["v1", "v1beta1"]],
        between: Between::Nothing,
        storage: &[(33, "v1")],
    },
    MultiVersion {
        group: "networking.k8s.io",
        resource: "servicecidrs",
        kind: "ServiceCIDR",
        same_schema: &[&["v1", "v1beta1"]],
        between: Between::Nothing,
        storage: &[(33, "v1")],
    },
    MultiVersion {
        group: "storage.k8s.io",
        resource: "volumeattributesclasses",
        kind: "VolumeAttributesClass",
        same_schema: &[&["v1", "v1beta1", "v1alpha1"]],
        between: Between::Nothing,
        storage: &[(33, "v1beta1"), (35, "v1")],
    },
    MultiVersion {
        group: "admissionregistration.k8s.io",
        resource: "mutatingadmissionpolicies",
        kind: "MutatingAdmissionPolicy",
        same_schema: &[&["v1", "v1beta1", "v1alpha1"]],
        between: Between::Nothing,
        storage: &[(33, "v1alpha1"), (35, "v1beta1"), (37, "v1")],
    },
    MultiVersion {
        group: "admissionregistration.k8s.io",
        resource: "mutatingadmissionpolicybindings",
        kind: "MutatingAdmissionPolicyBinding",
        same_schema: &[&["v1", "v1beta1", "v1alpha1"]],
        between: Between::Nothing,
        storage: &[(33, "v1alpha1"), (35, "v1beta1"), (37, "v1")],
    },
    MultiVersion {
        group: "admissionregistration.k8s.io",
        resource: "validatingadmissionpolicies",
        kind: "ValidatingAdmissionPolicy",
        same_schema: &[&["v1", "v1beta1"]],
        between: Between::Nothing,
        storage: &[(33, "v1")],
    },
    MultiVersion {
        group: "admissionregistration.k8s.io",
        resource: "validatingadmissionpolicybindings",
        kind: "ValidatingAdmissionPolicyBinding",
        same_schema: &[&["v1", "v1beta1"]],
        between: Between::Nothing,
        storage: &[(33, "v1")],
    },
    MultiVersion {
        group: "scheduling.k8s.io",
        resource: "workloads",
        kind: "Workload",
        same_schema: &[&["v1beta1", "v1alpha3"], &["v1alpha2"], &["v1alpha1"]],
        between: Between::Workload,
        storage: &[(35, "v1alpha1"), (36, "v1alpha2"), (37, "v1beta1")],
    },
    MultiVersion {
        group: "scheduling.k8s.io",
        resource: "podgroups",
        kind: "PodGroup",
        same_schema: &[&["v1beta1", "v1alpha3"], &["v1alpha2"]],
        between: Between::Unconverted,
        storage: &[(36, "v1alpha2"), (37, "v1beta1")],
    },
    MultiVersion {
        group: "coordination.k8s.io",
        resource: "leasecandidates",
        kind: "LeaseCandidate",
        same_schema: &[&["v1beta1", "v1alpha2"]],
        between: Between::Nothing,
        storage: &[(33, "v1alpha2"), (34, "v1beta1")],
    },
    MultiVersion {
        group: "resource.k8s.io",
        resource: "deviceclasses",
        kind: "DeviceClass",
        same_schema: &[&["v1", "v1beta2", "v1beta1", "v1alpha3"]],
        between: Between::Nothing,
        storage: &[(33, "v1beta1"), (34, "v1beta2"), (35, "v1")],
    },
    MultiVersion {
        group: "resource.k8s.io",
        resource: "resourceclaims",
        kind: "ResourceClaim",
        same_schema: &[&["v1", "v1beta2"], &["v1beta1", "v1alpha3"]],
        between: Between::ResourceV1beta1,
        storage: &[(33, "v1beta1"), (34, "v1beta2"), (35, "v1")],
    },
    MultiVersion {
        group: "resource.k8s.io",
        resource: "resourceclaimtemplates",
        kind: "ResourceClaimTemplate",
        same_schema: &[&["v1", "v1beta2"], &["v1beta1", "v1alpha3"]],
        between: Between::ResourceV1beta1,
        storage: &[(33, "v1beta1"), (34, "v1beta2"), (35, "v1")],
    },
    MultiVersion {
        group: "resource.k8s.io",
        resource: "resourceslices",
        kind: "ResourceSlice",
        same_schema: &[&["v1", "v1beta2"], &["v1beta1", "v1alpha3"]],
        between: Between::ResourceV1beta1,
        storage: &[(33, "v1beta1"), (34, "v1beta2"), (35, "v1")],
    },
    MultiVersion {
        group: "resource.k8s.io",
        resource: "devicetaintrules",
        kind: "DeviceTaintRule",
        same_schema: &[&["v1", "v1beta2", "v1alpha3"]],
        between: Between::Nothing,
        storage: &[(33, "v1alpha3"), (37, "v1beta2")],
    },
    MultiVersion {
        group: "storagemigration.k8s.io",
        resource: "storageversionmigrations",
        kind: "StorageVersionMigration",
        same_schema: &[&["v1", "v1beta1"], &["v1alpha1"]],
        between: Between::Unconverted,
        storage: &[(33, "v1alpha1"), (35, "v1beta1")],
    },
];

//! Merge-key knowledge of the built-in types: upstream's
//! `patchStrategy`/`patchMergeKey` struct tags restated as static tables
//! ([`merge_keys_for`]).

// ---------------------------------------------------------------------------
// Merge-key knowledge of the built-in types.
// ---------------------------------------------------------------------------

/// How a field's value is combined with the live value, upstream's
/// `patchStrategy` struct tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchStrategy {
    /// No tag: maps are merged key by key, lists are replaced whole.
    Default,
    /// `patchStrategy:"merge"`: lists of objects are merged by the merge
    /// key, lists of scalars as sets.
    Merge,
    /// `patchStrategy:"replace"`: the value is replaced whole, maps too.
    Replace,
}

/// The patch metadata of one field of a built-in type.
#[derive(Debug)]
pub struct FieldMergeKeys {
    /// The JSON field name.
    pub name: &'static str,
    /// The `patchStrategy` (without `retainKeys`, see below).
    pub strategy: PatchStrategy,
    /// The `patchMergeKey` of a list of objects, e.g. `name` for containers.
    pub merge_key: Option<&'static str>,
    /// Whether the strategy also says `retainKeys` (a union type whose
    /// clients send `$retainKeys`). The merge honours a `$retainKeys`
    /// directive wherever it appears; the flag is for OpenAPI publishing.
    pub retain_keys: bool,
    /// The type of the value (of each element, for a list), when it has
    /// fields with patch metadata of its own.
    pub value_type: Option<&'static TypeMergeKeys>,
}

/// The patch metadata of a built-in type: its fields whose strategy is not
/// the default or whose value type has such fields. Fields not listed merge
/// by default: maps key by key, lists replaced whole (for example `args`,
/// `envFrom`, `tolerations`, node `taints`, Endpoints `subsets`).
#[derive(Debug)]
pub struct TypeMergeKeys {
    /// The upstream Go type name, for messages and tests.
    pub name: &'static str,
    /// The fields with patch metadata.
    pub fields: &'static [FieldMergeKeys],
}

impl TypeMergeKeys {
    /// The patch metadata of one field.
    pub(crate) fn field(&self, name: &str) -> Option<&FieldMergeKeys> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// The patch metadata at a dotted field path, list elements being
    /// transparent: `spec.template.spec.containers.env`.
    #[cfg(test)]
    pub(crate) fn field_at(&self, path: &str) -> Option<&FieldMergeKeys> {
        let mut segments = path.split('.');
        let mut field = self.field(segments.next()?)?;
        for segment in segments {
            field = field.value_type?.field(segment)?;
        }
        Some(field)
    }
}

const fn nested(name: &'static str, value_type: &'static TypeMergeKeys) -> FieldMergeKeys {
    FieldMergeKeys {
        name,
        strategy: PatchStrategy::Default,
        merge_key: None,
        retain_keys: false,
        value_type: Some(value_type),
    }
}

const fn merge_by(
    name: &'static str,
    merge_key: &'static str,
    element_type: Option<&'static TypeMergeKeys>,
) -> FieldMergeKeys {
    FieldMergeKeys {
        name,
        strategy: PatchStrategy::Merge,
        merge_key: Some(merge_key),
        retain_keys: false,
        value_type: element_type,
    }
}

const fn merge_set(name: &'static str) -> FieldMergeKeys {
    FieldMergeKeys {
        name,
        strategy: PatchStrategy::Merge,
        merge_key: None,
        retain_keys: false,
        value_type: None,
    }
}

const fn retain_keys(mut field: FieldMergeKeys) -> FieldMergeKeys {
    field.retain_keys = true;
    field
}

// The data below restates upstream's `patchStrategy`/`patchMergeKey` tags of
// k8s.io/api (core/v1, apps/v1, batch/v1) and k8s.io/apimachinery meta/v1.

static OBJECT_META: TypeMergeKeys = TypeMergeKeys {
    name: "ObjectMeta",
    fields: &[
        merge_set("finalizers"),
        merge_by("ownerReferences", "uid", None),
    ],
};

/// `Container` and `EphemeralContainer` carry the same tags.
static CONTAINER: TypeMergeKeys = TypeMergeKeys {
    name: "Container",
    fields: &[
        merge_by("ports", "containerPort", None),
        merge_by("env", "name", None),
        merge_by("volumeMounts", "mountPath", None),
        merge_by("volumeDevices", "devicePath", None),
    ],
};

static POD_SPEC: TypeMergeKeys = TypeMergeKeys {
    name: "PodSpec",
    fields: &[
        retain_keys(merge_by("volumes", "name", None)),
        merge_by("initContainers", "name", Some(&CONTAINER)),
        merge_by("containers", "name", Some(&CONTAINER)),
        merge_by("ephemeralContainers", "name", Some(&CONTAINER)),
        merge_by("imagePullSecrets", "name", None),
        merge_by("hostAliases", "ip", None),
        merge_by("topologySpreadConstraints", "topologyKey", None),
        merge_by("schedulingGates", "name", None),
        retain_keys(merge_by("resourceClaims", "name", None)),
    ],
};

static POD_STATUS: TypeMergeKeys = TypeMergeKeys {
    name: "PodStatus",
    fields: &[
        merge_by("conditions", "type", None),
        merge_by("podIPs", "ip", None),
        merge_by("hostIPs", "ip", None),
        retain_keys(merge_by("resourceClaimStatuses", "name", None)),
    ],
};

pub(crate) static POD: TypeMergeKeys = TypeMergeKeys {
    name: "Pod",
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("spec", &POD_SPEC),
        nested("status", &POD_STATUS),
    ],
};

static POD_TEMPLATE_SPEC: TypeMergeKeys = TypeMergeKeys {
    name: "PodTemplateSpec",
    fields: &[nested("metadata", &OBJECT_META), nested("spec", &POD_SPEC)],
};

static POD_TEMPLATE: TypeMergeKeys = TypeMergeKeys {
    name: "PodTemplate",
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("template", &POD_TEMPLATE_SPEC),
    ],
};

/// The status of every workload whose only tagged status list is
/// `conditions` (merged by `type`).
static CONDITIONS_STATUS: TypeMergeKeys = TypeMergeKeys {
    name: "Status",
    fields: &[merge_by("conditions", "type", None)],
};

/// The spec of a workload whose only tagged field is its pod template
/// (ReplicationController, ReplicaSet, StatefulSet, DaemonSet, Job).
static TEMPLATED_SPEC: TypeMergeKeys = TypeMergeKeys {
    name: "Spec",
    fields: &[nested("template", &POD_TEMPLATE_SPEC)],
};

/// ReplicationController, ReplicaSet, StatefulSet, DaemonSet and Job.
static TEMPLATED_WORKLOAD: TypeMergeKeys = TypeMergeKeys {
    name: "Workload",
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("spec", &TEMPLATED_SPEC),
        nested("status", &CONDITIONS_STATUS),
    ],
};

static DEPLOYMENT_SPEC: TypeMergeKeys = TypeMergeKeys {
    name: "DeploymentSpec",
    fields: &[
        nested("template", &POD_TEMPLATE_SPEC),
        FieldMergeKeys {
            name: "strategy",
            strategy: PatchStrategy::Default,
            merge_key: None,
            retain_keys: true,
            value_type: None,
        },
    ],
};

pub(crate) static DEPLOYMENT: TypeMergeKeys = TypeMergeKeys {
    name: "Deployment",
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("spec", &DEPLOYMENT_SPEC),
        nested("status", &CONDITIONS_STATUS),
    ],
};

static JOB_TEMPLATE_SPEC: TypeMergeKeys = TypeMergeKeys {
    name: "JobTemplateSpec",
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("spec", &TEMPLATED_SPEC),
    ],
};

static CRON_JOB_SPEC: TypeMergeKeys = TypeMergeKeys {
    name: "CronJobSpec",
    fields: &[nested("jobTemplate", &JOB_TEMPLATE_SPEC)],
};

static CRON_JOB: TypeMergeKeys = TypeMergeKeys {
    name: "CronJob",
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("spec", &CRON_JOB_SPEC),
    ],
};

static SERVICE_SPEC: TypeMergeKeys = TypeMergeKeys {
    name: "ServiceSpec",
    fields: &[merge_by("ports", "port", None)],
};

static SERVICE: TypeMergeKeys = TypeMergeKeys {
    name: "Service",
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("spec", &SERVICE_SPEC),
        nested("status", &CONDITIONS_STATUS),
    ],
};

static NODE_SPEC: TypeMergeKeys = TypeMergeKeys {
    name: "NodeSpec",
    fields: &[merge_set("podCIDRs")],
};

static NODE_STATUS: TypeMergeKeys = TypeMergeKeys {
    name: "NodeStatus",
    fields: &[
        merge_by("conditions", "type", None),
        merge_by("addresses", "type", None),
    ],
};

static NODE: TypeMergeKeys = TypeMergeKeys {
    name: "Node",
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("spec", &NODE_SPEC),
        nested("status", &NODE_STATUS),
    ],
};

/// Namespace and PersistentVolumeClaim: metadata and status conditions.
static WITH_STATUS_CONDITIONS: TypeMergeKeys = TypeMergeKeys {
    name: "ObjectWithStatusConditions",
    fields: &[
        nested("metadata", &OBJECT_META),
        nested("status", &CONDITIONS_STATUS),
    ],
};

static SERVICE_ACCOUNT: TypeMergeKeys = TypeMergeKeys {
    name: "ServiceAccount",
    fields: &[
        nested("metadata", &OBJECT_META),
        merge_by("secrets", "name", None),
    ],
};

/// The patch metadata every built-in object has: `metadata` alone. Use it
/// (through [`built_in_merge_keys`]) for built-in kinds the table does not
/// list, such as ConfigMap, Secret or Endpoints (whose `subsets` have no
/// merge key and are replaced whole).
pub(crate) static BUILT_IN_OBJECT: TypeMergeKeys = TypeMergeKeys {
    name: "Object",
    fields: &[nested("metadata", &OBJECT_META)],
};

/// (API group, kind) -> patch metadata, for the built-in kinds with tagged
/// fields beyond `metadata`.
static BUILT_IN_KINDS: &[(&str, &str, &TypeMergeKeys)] = &[
    ("", "Pod", &POD),
    ("", "PodTemplate", &POD_TEMPLATE),
    ("", "ReplicationController", &TEMPLATED_WORKLOAD),
    ("", "Service", &SERVICE),
    ("", "Endpoints", &BUILT_IN_OBJECT),
    ("", "Node", &NODE),
    ("", "Namespace", &WITH_STATUS_CONDITIONS),
    ("", "PersistentVolumeClaim", &WITH_STATUS_CONDITIONS),
    ("", "ServiceAccount", &SERVICE_ACCOUNT),
    ("apps", "Deployment", &DEPLOYMENT),
    ("apps", "ReplicaSet", &TEMPLATED_WORKLOAD),
    ("apps", "StatefulSet", &TEMPLATED_WORKLOAD),
    ("apps", "DaemonSet", &TEMPLATED_WORKLOAD),
    ("batch", "Job", &TEMPLATED_WORKLOAD),
    ("batch", "CronJob", &CRON_JOB),
];

/// The patch metadata of a built-in kind this table describes, `None` for
/// any other kind. (Core group is `""`.)
pub(crate) fn merge_keys_for(group: &str, kind: &str) -> Option<&'static TypeMergeKeys> {
    BUILT_IN_KINDS
        .iter()
        .find(|(g, k, _)| *g == group && *k == kind)
        .map(|(_, _, keys)| *keys)
}

/// The patch metadata to use for a kind the server knows to be built in:
/// the table's entry, or [`BUILT_IN_OBJECT`] for kinds without tagged
/// fields beyond `metadata`. Never use it for custom resources.
pub fn built_in_merge_keys(group: &str, kind: &str) -> &'static TypeMergeKeys {
    merge_keys_for(group, kind).unwrap_or(&BUILT_IN_OBJECT)
}

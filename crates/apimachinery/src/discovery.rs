//! Wire types of Kubernetes API discovery: the aggregated
//! `apidiscovery.k8s.io/v2` documents (`APIGroupDiscoveryList` for `/api` and
//! `/apis`) and the legacy unaggregated documents (`APIVersions` for `/api`,
//! `APIGroupList` for `/apis`, `APIGroup` for `/apis/<group>`,
//! `APIResourceList` for `/api/v1` and `/apis/<group>/<version>`).
//!
//! Clients (client-go, kubectl) and peer servers parse these documents, and
//! the peer discovery merge compares them, so every field is emitted or
//! omitted exactly as upstream's JSON tags say (see
//! `reference/mvp-upstream.md` §5.1): required fields and `verbs` are always
//! written, `omitempty` fields are skipped when empty, and a `null` list is
//! read as empty. Parsing ignores fields it does not know, so newer servers
//! can add some.
//!
//! This module must never decide *what* is served (that is the catalog's job)
//! nor do any I/O; it only describes and (de)serialises documents.

use serde::{Deserialize, Deserializer, Serialize};

/// `apiVersion` of aggregated discovery documents.
pub(crate) const APIDISCOVERY_V2: &str = "apidiscovery.k8s.io/v2";
/// `kind` of the aggregated discovery list served at `/api` and `/apis`.
pub(crate) const API_GROUP_DISCOVERY_LIST_KIND: &str = "APIGroupDiscoveryList";

/// Reads `null` (which Go writes for a nil slice) as the type's default.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

// ---------------------------------------------------------------------------
// Aggregated discovery (apidiscovery.k8s.io/v2)
// ---------------------------------------------------------------------------

/// The list metadata of an aggregated discovery document. Servers leave it
/// empty (`"metadata":{}`); the fields exist so that a populated one parses
/// and round-trips.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListMeta {
    /// Deprecated upstream; kept for round-trips.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub self_link: String,
    /// Opaque resource version of the list.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    /// Continuation token of a paginated list.
    #[serde(default, rename = "continue", skip_serializing_if = "String::is_empty")]
    pub continue_token: String,
    /// Number of items not returned by a paginated list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_item_count: Option<i64>,
}

/// The part of `metav1.ObjectMeta` that discovery uses: the group's name.
///
/// Before apimachinery v0.34 servers also wrote `"creationTimestamp":null`;
/// it is accepted (and kept if a real timestamp is ever sent) but a zero
/// value is never written, as current upstream does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// The group name; empty for the legacy core group.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// RFC 3339 timestamp, normally absent or `null` in discovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
}

/// `APIGroupDiscoveryList`: every group (with its versions and resources) a
/// server serves under `/apis`, or the core group under `/api`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct APIGroupDiscoveryList {
    /// Always `APIGroupDiscoveryList` on documents a server writes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Always `apidiscovery.k8s.io/v2` on documents a server writes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// Empty list metadata, still written as `{}`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: ListMeta,
    /// The groups, in the server's priority order; always written.
    #[serde(default, deserialize_with = "null_as_default")]
    pub items: Vec<APIGroupDiscovery>,
}

impl APIGroupDiscoveryList {
    /// A list with `kind` and `apiVersion` set, as a server sends it.
    pub fn new(items: Vec<APIGroupDiscovery>) -> Self {
        Self {
            kind: API_GROUP_DISCOVERY_LIST_KIND.to_owned(),
            api_version: APIDISCOVERY_V2.to_owned(),
            metadata: ListMeta::default(),
            items,
        }
    }
}

/// `APIGroupDiscovery`: one API group with its versions, highest priority
/// first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct APIGroupDiscovery {
    /// Not set on list items; kept for round-trips.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Not set on list items; kept for round-trips.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// Carries the group name (empty for core), always written.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: ObjectMeta,
    /// Versions of the group, in priority order.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub versions: Vec<APIVersionDiscovery>,
}

impl APIGroupDiscovery {
    /// The group name (`""` for the legacy core group).
    pub fn name(&self) -> &str {
        &self.metadata.name
    }
}

/// Whether the data of a version could be fetched the last time it was asked
/// for (only aggregated APIServices can be `Stale`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Freshness {
    /// The data is current.
    Current,
    /// The extension server could not be reached; data may be old.
    Stale,
}

/// `APIVersionDiscovery`: one version of a group and its resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct APIVersionDiscovery {
    /// The version name, e.g. `v1beta1`.
    pub version: String,
    /// Top-level resources, sorted by name.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resources: Vec<APIResourceDiscovery>,
    /// `Current` for built-in and CRD versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freshness: Option<Freshness>,
}

/// Scope of a resource: cluster-wide or per namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResourceScope {
    /// Objects live outside namespaces.
    Cluster,
    /// Objects live in a namespace.
    Namespaced,
}

impl ResourceScope {
    /// `Namespaced` if `namespaced`, else `Cluster`.
    pub(crate) fn from_namespaced(namespaced: bool) -> Self {
        if namespaced {
            Self::Namespaced
        } else {
            Self::Cluster
        }
    }

    /// True for [`ResourceScope::Namespaced`].
    pub fn is_namespaced(self) -> bool {
        self == Self::Namespaced
    }
}

/// A group/version/kind triple. In discovery, an empty group and version
/// mean "the group/version of the enclosing document".
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GroupVersionKind {
    /// API group, `""` for core or "same as parent".
    #[serde(default)]
    pub group: String,
    /// API version, `""` for "same as parent".
    #[serde(default)]
    pub version: String,
    /// The kind, e.g. `Deployment`.
    #[serde(default)]
    pub kind: String,
}

/// `APIResourceDiscovery`: one top-level resource of a group version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct APIResourceDiscovery {
    /// Plural resource name, e.g. `deployments`.
    pub resource: String,
    /// Kind returned by the resource; group/version empty when they are the
    /// enclosing group version's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_kind: Option<GroupVersionKind>,
    /// Cluster or namespaced; always written.
    pub scope: ResourceScope,
    /// Singular name, e.g. `deployment`; always written.
    #[serde(default)]
    pub singular_resource: String,
    /// Supported verbs, sorted; always written.
    #[serde(default, deserialize_with = "null_as_default")]
    pub verbs: Vec<String>,
    /// Short names such as `deploy`.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub short_names: Vec<String>,
    /// Categories such as `all`.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub categories: Vec<String>,
    /// Subresources, sorted by name.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub subresources: Vec<APISubresourceDiscovery>,
}

/// `APISubresourceDiscovery`: a subresource such as `status` or `scale`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct APISubresourceDiscovery {
    /// Subresource name, e.g. `status`.
    pub subresource: String,
    /// Kind returned; group/version empty when they are the parent's (so
    /// `scale` says `autoscaling/v1 Scale` but `status` says `""/"" Deployment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_kind: Option<GroupVersionKind>,
    /// Kinds accepted in request bodies, when they differ from the response.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub accepted_types: Vec<GroupVersionKind>,
    /// Supported verbs, sorted; always written.
    #[serde(default, deserialize_with = "null_as_default")]
    pub verbs: Vec<String>,
}

// ---------------------------------------------------------------------------
// Legacy (unaggregated) discovery
// ---------------------------------------------------------------------------

/// Which address a client in a CIDR should use to reach the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerAddressByClientCIDR {
    /// Client network, e.g. `0.0.0.0/0`.
    #[serde(rename = "clientCIDR")]
    pub client_cidr: String,
    /// `host:port` of the server for those clients.
    #[serde(rename = "serverAddress")]
    pub server_address: String,
}

/// `APIVersions`, served at `/api`: the versions of the legacy core group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct APIVersions {
    /// Always `APIVersions` on documents a server writes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Not set by upstream on `/api`; kept for round-trips.
    #[serde(
        default,
        rename = "apiVersion",
        skip_serializing_if = "String::is_empty"
    )]
    pub api_version: String,
    /// Core versions, e.g. `["v1"]`; always written.
    #[serde(default, deserialize_with = "null_as_default")]
    pub versions: Vec<String>,
    /// Addresses by client network; always written (possibly empty).
    #[serde(
        default,
        rename = "serverAddressByClientCIDRs",
        deserialize_with = "null_as_default"
    )]
    pub server_address_by_client_cidrs: Vec<ServerAddressByClientCIDR>,
}

/// `APIGroupList`, served at `/apis`: every named group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct APIGroupList {
    /// Always `APIGroupList` on documents a server writes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Always `v1` on documents a server writes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// The groups, in priority order; always written.
    #[serde(default, deserialize_with = "null_as_default")]
    pub groups: Vec<APIGroup>,
}

/// `APIGroup`, served at `/apis/<group>` and as an item of [`APIGroupList`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct APIGroup {
    /// `APIGroup` at `/apis/<group>`, absent on list items.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// `v1` at `/apis/<group>`, absent on list items.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// The group name.
    pub name: String,
    /// Served versions, in priority order; always written.
    #[serde(default, deserialize_with = "null_as_default")]
    pub versions: Vec<GroupVersionForDiscovery>,
    /// The version clients should use; always written (a Go struct value).
    #[serde(default, deserialize_with = "null_as_default")]
    pub preferred_version: GroupVersionForDiscovery,
    /// Addresses by client network; omitted when empty.
    #[serde(
        default,
        rename = "serverAddressByClientCIDRs",
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub server_address_by_client_cidrs: Vec<ServerAddressByClientCIDR>,
}

/// One version of a group in legacy discovery.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupVersionForDiscovery {
    /// `group/version`, or just `version` for core.
    #[serde(default)]
    pub group_version: String,
    /// The version, e.g. `v1`.
    #[serde(default)]
    pub version: String,
}

impl GroupVersionForDiscovery {
    /// The entry for `version` of `group` (core when `group` is empty).
    pub fn new(group: &str, version: &str) -> Self {
        let group_version = if group.is_empty() {
            version.to_owned()
        } else {
            format!("{group}/{version}")
        };
        Self {
            group_version,
            version: version.to_owned(),
        }
    }
}

/// `APIResourceList`, served at `/api/v1` and `/apis/<group>/<version>`:
/// resources and subresources (as `pods/status`) of one group version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct APIResourceList {
    /// Always `APIResourceList` on documents a server writes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// `v1` under `/apis`; upstream leaves it out under `/api/v1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `group/version`, or `v1` for core.
    pub group_version: String,
    /// Resources then their subresources, sorted by name; always written.
    #[serde(default, deserialize_with = "null_as_default")]
    pub resources: Vec<APIResource>,
}

/// `APIResource`: one resource or subresource in legacy discovery.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct APIResource {
    /// Plural name, or `resource/subresource`.
    pub name: String,
    /// Singular name; `""` for subresources. Always written.
    #[serde(default)]
    pub singular_name: String,
    /// Whether the resource is namespaced; always written.
    #[serde(default)]
    pub namespaced: bool,
    /// Group of the kind, only when it differs from the list's.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// Version of the kind, only when it differs from the list's.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// The kind; always written.
    #[serde(default)]
    pub kind: String,
    /// Supported verbs, sorted; always written.
    #[serde(default, deserialize_with = "null_as_default")]
    pub verbs: Vec<String>,
    /// Short names such as `po`.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub short_names: Vec<String>,
    /// Categories such as `all`.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub categories: Vec<String>,
    /// Hash of the storage version; skewless does not compute it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub storage_version_hash: String,
}

// ---------------------------------------------------------------------------
// Legacy documents from aggregated data
// ---------------------------------------------------------------------------

impl APIGroup {
    /// The legacy description of a group (as an item of [`APIGroupList`]:
    /// no `kind`/`apiVersion`) from its aggregated form: its versions in the
    /// aggregated order, which is priority order, so the first is the
    /// preferred one. `None` for a group without versions.
    pub fn from_aggregated(group: &APIGroupDiscovery) -> Option<Self> {
        let versions: Vec<GroupVersionForDiscovery> = group
            .versions
            .iter()
            .map(|v| GroupVersionForDiscovery::new(group.name(), &v.version))
            .collect();
        Some(Self {
            name: group.name().to_owned(),
            preferred_version: versions.first()?.clone(),
            versions,
            ..Self::default()
        })
    }
}

impl APIResourceList {
    /// The legacy `APIResourceList` of one version of `group` from its
    /// aggregated form: each resource, then each subresource as
    /// `resource/subresource` with the kind's group/version only when it
    /// differs from the list's, sorted by name, as upstream writes them.
    /// `apiVersion` is `v1` under `/apis` and absent for the core group.
    pub fn from_aggregated(group: &str, version: &APIVersionDiscovery) -> Self {
        let kind_of = |k: &Option<GroupVersionKind>| k.as_ref().map(|k| k.kind.clone());
        let mut resources = Vec::new();
        for r in &version.resources {
            let namespaced = r.scope.is_namespaced();
            resources.push(APIResource {
                name: r.resource.clone(),
                singular_name: r.singular_resource.clone(),
                namespaced,
                kind: kind_of(&r.response_kind).unwrap_or_default(),
                verbs: r.verbs.clone(),
                short_names: r.short_names.clone(),
                categories: r.categories.clone(),
                ..APIResource::default()
            });
            for sub in &r.subresources {
                let (kind_group, kind_version) = match &sub.response_kind {
                    Some(k) if !(k.group == group && k.version == version.version) => {
                        (k.group.clone(), k.version.clone())
                    }
                    _ => (String::new(), String::new()),
                };
                resources.push(APIResource {
                    name: format!("{}/{}", r.resource, sub.subresource),
                    namespaced,
                    group: kind_group,
                    version: kind_version,
                    kind: kind_of(&sub.response_kind).unwrap_or_default(),
                    verbs: sub.verbs.clone(),
                    ..APIResource::default()
                });
            }
        }
        resources.sort_by(|a, b| a.name.cmp(&b.name));
        Self {
            kind: "APIResourceList".to_owned(),
            api_version: if group.is_empty() {
                String::new()
            } else {
                "v1".to_owned()
            },
            group_version: GroupVersionForDiscovery::new(group, &version.version).group_version,
            resources,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;
    use serde_json::{Value, json};

    use crate::upstream_snapshot as reference;

    fn round_trip<T: DeserializeOwned + Serialize>(name: &str) {
        let original: Value = serde_json::from_str(&reference(name)).unwrap();
        let typed: T = serde_json::from_value(original.clone()).unwrap();
        let back = serde_json::to_value(&typed).unwrap();
        assert_eq!(back, original, "{name} does not round-trip");
    }

    #[test]
    fn aggregated_snapshot_round_trips() {
        round_trip::<APIGroupDiscoveryList>("aggregated_v2.json");
    }

    #[test]
    fn legacy_snapshots_round_trip() {
        round_trip::<APIVersions>("api.json");
        round_trip::<APIGroupList>("apis.json");
        for name in [
            "api__v1.json",
            "apis__apps__v1.json",
            "apis__coordination.k8s.io__v1.json",
            "apis__apiextensions.k8s.io__v1.json",
            "apis__scheduling.k8s.io__v1alpha2.json",
            "apis__scheduling.k8s.io__v1alpha2.post-1.36-dev.json",
        ] {
            round_trip::<APIResourceList>(name);
        }
    }

    #[test]
    fn creation_timestamp_null_and_absent_both_parse() {
        let old = r#"{"metadata":{"creationTimestamp":null,"name":"apps"},"versions":[{"version":"v1","freshness":"Current"}]}"#;
        let new =
            r#"{"metadata":{"name":"apps"},"versions":[{"version":"v1","freshness":"Current"}]}"#;
        let old: APIGroupDiscovery = serde_json::from_str(old).unwrap();
        let new: APIGroupDiscovery = serde_json::from_str(new).unwrap();
        assert_eq!(old, new);
        assert_eq!(old.name(), "apps");
        // The zero timestamp is never written back.
        assert_eq!(
            serde_json::to_value(&old).unwrap(),
            json!({"metadata":{"name":"apps"},"versions":[{"version":"v1","freshness":"Current"}]})
        );
    }

    #[test]
    fn core_group_metadata_is_an_empty_object() {
        let core = APIGroupDiscovery {
            versions: vec![APIVersionDiscovery {
                version: "v1".into(),
                resources: vec![],
                freshness: Some(Freshness::Current),
            }],
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&core).unwrap(),
            json!({"metadata":{},"versions":[{"version":"v1","freshness":"Current"}]})
        );
    }

    #[test]
    fn empty_list_keeps_required_fields() {
        let list = APIGroupDiscoveryList::new(vec![]);
        assert_eq!(
            serde_json::to_string(&list).unwrap(),
            r#"{"kind":"APIGroupDiscoveryList","apiVersion":"apidiscovery.k8s.io/v2","metadata":{},"items":[]}"#
        );
        let parsed: APIGroupDiscoveryList =
            serde_json::from_str(r#"{"kind":"APIGroupDiscoveryList","items":null}"#).unwrap();
        assert!(parsed.items.is_empty());
    }

    #[test]
    fn resource_omits_only_omitempty_fields() {
        let r = APIResourceDiscovery {
            resource: "widgets".into(),
            response_kind: None,
            scope: ResourceScope::Cluster,
            singular_resource: String::new(),
            verbs: vec![],
            short_names: vec![],
            categories: vec![],
            subresources: vec![APISubresourceDiscovery {
                subresource: "status".into(),
                response_kind: None,
                accepted_types: vec![],
                verbs: vec![],
            }],
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({
                "resource": "widgets",
                "scope": "Cluster",
                "singularResource": "",
                "verbs": [],
                "subresources": [{"subresource": "status", "verbs": []}]
            })
        );
        let nulls: APIResourceDiscovery = serde_json::from_value(json!({
            "resource": "widgets", "scope": "Namespaced", "singularResource": "widget",
            "verbs": null, "shortNames": null, "categories": null, "subresources": null
        }))
        .unwrap();
        assert!(nulls.verbs.is_empty() && nulls.subresources.is_empty());
        assert!(nulls.scope.is_namespaced());
    }

    #[test]
    fn legacy_subresource_keeps_empty_singular_name_and_scope() {
        let r = APIResource {
            name: "pods/eviction".into(),
            namespaced: true,
            group: "policy".into(),
            version: "v1".into(),
            kind: "Eviction".into(),
            verbs: vec!["create".into()],
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"name":"pods/eviction","singularName":"","namespaced":true,"group":"policy",
                   "version":"v1","kind":"Eviction","verbs":["create"]})
        );
        let cluster = APIResource {
            name: "nodes/status".into(),
            kind: "Node".into(),
            ..Default::default()
        };
        let v = serde_json::to_value(&cluster).unwrap();
        assert_eq!(v["namespaced"], json!(false));
        assert_eq!(v["verbs"], json!([]));
    }

    #[test]
    fn api_versions_always_writes_addresses() {
        let v = APIVersions {
            kind: "APIVersions".into(),
            versions: vec!["v1".into()],
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[]}"#
        );
        let g = APIGroup {
            name: "apps".into(),
            versions: vec![GroupVersionForDiscovery::new("apps", "v1")],
            preferred_version: GroupVersionForDiscovery::new("apps", "v1"),
            ..Default::default()
        };
        let v = serde_json::to_value(&g).unwrap();
        assert!(v.get("serverAddressByClientCIDRs").is_none());
        assert_eq!(v["preferredVersion"]["groupVersion"], json!("apps/v1"));
        assert_eq!(GroupVersionForDiscovery::new("", "v1").group_version, "v1");
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let v: APIVersionDiscovery =
            serde_json::from_str(r#"{"version":"v1","somethingNew":{"a":1}}"#).unwrap();
        assert_eq!(v.version, "v1");
        assert_eq!(v.freshness, None);
    }
}

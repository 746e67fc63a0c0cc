//! The RBAC wire types a decision is made from ([`PolicyRule`], [`Subject`])
//! and the predicates that say whether one rule allows one request.
//!
//! The predicates mirror upstream's `rbac.RuleAllows` and its helpers
//! exactly; they are the facts every other module builds on. Nothing here
//! allocates on the request path or panics on any input.

use serde::{Deserialize, Deserializer, Serialize};

use crate::attributes::Attributes;

/// The wildcard that matches every verb, API group, resource or
/// non-resource URL.
pub(crate) const ALL: &str = "*";

/// One `rbac.authorization.k8s.io/v1` PolicyRule. Missing or `null` lists
/// decode as empty; empty lists other than `verbs` are left out when encoded,
/// as upstream's `omitempty` does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    /// Verbs the rule allows; `*` allows every verb.
    #[serde(default, deserialize_with = "null_as_default")]
    pub verbs: Vec<String>,
    /// API groups (`""` is the core group); `*` matches every group.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub api_groups: Vec<String>,
    /// Resources, `resource/subresource`, `*/subresource` or `*`.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resources: Vec<String>,
    /// Object names the rule is limited to; empty means every name.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resource_names: Vec<String>,
    /// Non-resource paths: exact, a prefix ending in `*`, or `*`.
    #[serde(
        default,
        rename = "nonResourceURLs",
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub non_resource_urls: Vec<String>,
}

/// One subject of a RoleBinding or ClusterRoleBinding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    /// `User`, `Group` or `ServiceAccount`; any other kind matches nobody.
    #[serde(default)]
    pub kind: String,
    /// `rbac.authorization.k8s.io` for users and groups, `""` for service
    /// accounts; not consulted when matching.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_group: String,
    /// The user, group or service account name.
    #[serde(default)]
    pub name: String,
    /// The service account's namespace; for a RoleBinding an empty one
    /// means the binding's own namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

/// Decodes `null` (as YAML and Go clients often write empty lists) the same
/// as a missing field.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl PolicyRule {
    /// Whether this rule allows the request, as upstream's `RuleAllows`:
    /// resource requests are matched on verb, group, resource (with
    /// subresource) and name; non-resource requests on verb and path.
    pub fn allows(&self, attributes: &Attributes<'_>) -> bool {
        if attributes.resource_request {
            self.verb_matches(attributes.verb)
                && self.api_group_matches(attributes.api_group)
                && self.resource_matches(attributes.resource, attributes.subresource)
                && self.resource_name_matches(attributes.name)
        } else {
            self.verb_matches(attributes.verb) && self.non_resource_url_matches(attributes.path)
        }
    }

    pub(crate) fn verb_matches(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == ALL || v == verb)
    }

    pub(crate) fn api_group_matches(&self, group: &str) -> bool {
        self.api_groups.iter().any(|g| g == ALL || g == group)
    }

    /// `*` matches everything, `res` only the resource itself, `res/sub`
    /// only that subresource, and `*/sub` subresource `sub` of any resource.
    pub(crate) fn resource_matches(&self, resource: &str, subresource: &str) -> bool {
        self.resources.iter().any(|rule| {
            if rule == ALL {
                return true;
            }
            if subresource.is_empty() {
                return rule == resource;
            }
            match rule.split_once('/') {
                Some((rule_resource, rule_sub)) => {
                    rule_sub == subresource && (rule_resource == ALL || rule_resource == resource)
                }
                None => false,
            }
        })
    }

    /// An empty list allows every name; otherwise the request's name must be
    /// listed, so a request without a name (list, create) is not allowed.
    pub(crate) fn resource_name_matches(&self, name: &str) -> bool {
        self.resource_names.is_empty() || self.resource_names.iter().any(|n| n == name)
    }

    pub(crate) fn non_resource_url_matches(&self, path: &str) -> bool {
        self.non_resource_urls
            .iter()
            .any(|url| url_covers(url, path))
    }
}

/// Whether a rule's non-resource URL covers a path: equal, or a prefix of it
/// when the rule ends in `*` (so `*` itself covers every path).
pub(crate) fn url_covers(rule_url: &str, path: &str) -> bool {
    if rule_url == path {
        return true;
    }
    match rule_url.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix.trim_end_matches('*')),
        None => false,
    }
}

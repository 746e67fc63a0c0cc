//! What the audit layer needs to know about a request: who made it and
//! what it addresses. The server fills this from its authentication result
//! and its RequestInfo; this crate only reads it.

use std::collections::BTreeMap;

use serde::Serialize;

/// A user as audit events show it (`authentication.k8s.io/v1` `UserInfo`).
/// Empty fields are left out of the JSON, as upstream's `omitempty` does.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct UserInfo {
    /// User name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Unique id of the user, if the authenticator knows one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// Groups the user belongs to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Further authenticator-provided attributes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
}

/// The attributes of one request that the policy matches on and the event
/// records (upstream's authorizer attributes plus HTTP details).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestAttributes {
    /// The authenticated user. The policy matches this user, not the
    /// impersonated one: upstream evaluates the policy before impersonation.
    pub user: UserInfo,
    /// The user being impersonated, if the request impersonates.
    pub impersonated_user: Option<UserInfo>,
    /// Kubernetes verb (`get`, `list`, `watch`, `create`, ...), or the
    /// lower-cased HTTP method for non-resource requests.
    pub verb: String,
    /// Whether the request addresses an API resource (as opposed to paths
    /// such as `/healthz` or `/version`).
    pub is_resource_request: bool,
    /// Namespace; empty for cluster-scoped resources and non-resource
    /// requests.
    pub namespace: String,
    /// API group; empty for the core group.
    pub api_group: String,
    /// API version (`v1`).
    pub api_version: String,
    /// Resource (`pods`).
    pub resource: String,
    /// Subresource (`log`, `status`), or empty.
    pub subresource: String,
    /// Object name, or empty for collection requests.
    pub name: String,
    /// URL path without the query; non-resource rules match on it.
    pub path: String,
    /// Path and query as the client sent them (the event's `requestURI`).
    pub request_uri: String,
    /// Client and proxy addresses, in upstream's order (X-Forwarded-For,
    /// X-Real-Ip, then the connection's remote address).
    pub source_ips: Vec<String>,
    /// The client's User-Agent header.
    pub user_agent: String,
}

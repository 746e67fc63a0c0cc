//! [`Attributes`]: what one request asks of the authorizer, borrowed from
//! the request so a decision allocates nothing to describe it.

/// What a request asks, as upstream's `authorizer.Attributes`. Empty strings
/// mean "not set" (no namespace, no subresource, no name).
#[derive(Debug, Clone, Copy, Default)]
pub struct Attributes<'a> {
    /// The authenticated user name.
    pub user: &'a str,
    /// The user's groups (including `system:authenticated` when the
    /// authenticator added it).
    pub groups: &'a [String],
    /// The Kubernetes verb (`get`, `list`, `create`, ...), or the lowercased
    /// HTTP method for non-resource requests.
    pub verb: &'a str,
    /// True for requests on API resources, false for non-resource paths.
    pub resource_request: bool,
    /// The request's namespace; empty for cluster-scoped requests.
    pub namespace: &'a str,
    /// The API group (`""` for the core group).
    pub api_group: &'a str,
    /// The resource (plural, lowercase).
    pub resource: &'a str,
    /// The subresource, if any.
    pub subresource: &'a str,
    /// The object name, if the request names one.
    pub name: &'a str,
    /// The URL path, for non-resource requests.
    pub path: &'a str,
}

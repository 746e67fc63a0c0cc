//! Classifies an HTTP request the way kube-apiserver's `RequestInfoFactory`
//! does: is it a resource request, which group/version/resource, namespace,
//! name and subresource does it address, and which Kubernetes verb is it
//! (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`,
//! `deletecollection`, or the lowercase HTTP method for non-resource paths).
//! Authorization, the peer proxy's routing decision and the REST handlers all
//! start from this one classification, so it must agree with upstream to the
//! letter.
//!
//! This module must never decide whether a resource *exists* or is served
//! (that is the catalog's job), and never reads headers, bodies or anything
//! beyond the method, the path and the query string it is given.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::selector::{FieldSelector, LabelSelector};
use crate::validation::is_valid_path_segment_name;

/// Path prefixes under which resource requests live.
const API_PREFIXES: [&str; 2] = ["api", "apis"];
/// The prefix whose paths carry no group segment (the legacy core group).
const GROUPLESS_API_PREFIX: &str = "api";
/// Deprecated verbs that may appear as a path segment right after the version.
const SPECIAL_VERBS: [&str; 2] = ["proxy", "watch"];
/// Special verbs after which the third part is a sub-path, not a subresource.
const SPECIAL_VERBS_NO_SUBRESOURCES: [&str; 1] = ["proxy"];
/// Segments after `namespaces/<name>` that address the namespace object itself.
const NAMESPACE_SUBRESOURCES: [&str; 2] = ["status", "finalize"];
/// Verbs for which the raw label and field selectors are recorded (upstream's
/// `AuthorizeWithSelectors`).
const VERBS_WITH_SELECTORS: [&str; 3] = ["list", "watch", "deletecollection"];

/// A group and resource, as in upstream's `schema.GroupResource`.
///
/// Displayed as `resource` for the core group and `resource.group` otherwise,
/// which is the form upstream uses in error messages (`configmaps "x" not
/// found`, `deployments.apps "x" not found`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GroupResource {
    /// API group; `""` is the core group.
    pub group: String,
    /// Plural lowercase resource name, e.g. `configmaps`.
    pub resource: String,
}

impl GroupResource {
    /// Builds a group/resource pair.
    pub fn new(group: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            resource: resource.into(),
        }
    }

    /// True when both group and resource are empty (a request that addresses
    /// no resource at all).
    pub(crate) fn is_empty(&self) -> bool {
        self.group.is_empty() && self.resource.is_empty()
    }
}

impl fmt::Display for GroupResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

/// A group and kind, as in upstream's `schema.GroupKind`.
///
/// Displayed as `Kind` for the core group and `Kind.group` otherwise
/// (`ConfigMap "x" is invalid`, `Deployment.apps "x" is invalid`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GroupKind {
    /// API group; `""` is the core group.
    pub group: String,
    /// CamelCase kind, e.g. `ConfigMap`.
    pub kind: String,
}

impl GroupKind {
    /// Builds a group/kind pair.
    pub fn new(group: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            kind: kind.into(),
        }
    }
}

impl fmt::Display for GroupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.kind)
        } else {
            write!(f, "{}.{}", self.kind, self.group)
        }
    }
}

/// A group, version and resource: the key the peer proxy routes on and the
/// catalog is indexed by. Subresources and verbs are deliberately not part of
/// it (they follow their parent resource).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GroupVersionResource {
    /// API group; `""` is the core group.
    pub group: String,
    /// API version, e.g. `v1`.
    pub version: String,
    /// Plural lowercase resource name.
    pub resource: String,
}

impl GroupVersionResource {
    /// Builds a group/version/resource triple.
    pub fn new(
        group: impl Into<String>,
        version: impl Into<String>,
        resource: impl Into<String>,
    ) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            resource: resource.into(),
        }
    }

    /// The group and resource without the version.
    #[cfg(test)]
    pub(crate) fn group_resource(&self) -> GroupResource {
        GroupResource::new(self.group.clone(), self.resource.clone())
    }
}

impl fmt::Display for GroupVersionResource {
    /// Upstream's `schema.GroupVersionResource.String()` form:
    /// `apps/v1, Resource=deployments`, and `/v1, Resource=pods` for core.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}, Resource={}",
            self.group, self.version, self.resource
        )
    }
}

/// Why a request could not be classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestInfoError {
    /// The path holds a malformed percent-escape or decodes to invalid UTF-8.
    /// Upstream's HTTP stack rejects such a request with 400 before any
    /// handler runs.
    #[error("invalid URL escape in path {path:?}")]
    InvalidPathEncoding {
        /// The raw path as received.
        path: String,
    },
    /// A deprecated verb path segment (`/api/v1/watch`) with nothing after
    /// it. Upstream answers 500 with this text.
    #[error("unable to determine kind and namespace from url, {path}")]
    MissingResourceAfterVerb {
        /// The decoded path.
        path: String,
    },
}

/// What a request addresses, as upstream's `request.RequestInfo`.
///
/// Empty strings mean "absent", as upstream (the core group is `""`, a
/// cluster-scoped or all-namespaces request has namespace `""`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// Whether this is a request for an API resource (as opposed to
    /// discovery, `/version`, `/healthz`, ...).
    pub is_resource_request: bool,
    /// The percent-decoded URL path.
    pub path: String,
    /// The Kubernetes verb for resource requests; the lowercase HTTP method
    /// for non-resource requests. Empty for a resource request with an HTTP
    /// method that maps to no verb (e.g. `OPTIONS`).
    pub verb: String,
    /// `api` or `apis` for resource requests.
    pub api_prefix: String,
    /// API group; `""` for the core group.
    pub api_group: String,
    /// API version, e.g. `v1`.
    pub api_version: String,
    /// Namespace; for `namespaces/<name>` paths (the namespace object itself)
    /// this is `<name>`, as upstream.
    pub namespace: String,
    /// Plural resource name.
    pub resource: String,
    /// Subresource such as `status` or `scale`.
    pub subresource: String,
    /// Object name; for list/watch it is taken from an exact
    /// `metadata.name=` field selector, as upstream does for authorization.
    pub name: String,
    /// The path segments from the resource onward.
    pub parts: Vec<String>,
    /// The raw `fieldSelector` query value for list, watch and
    /// deletecollection requests.
    pub field_selector: String,
    /// The raw `labelSelector` query value for list, watch and
    /// deletecollection requests.
    pub label_selector: String,
}

impl RequestInfo {
    /// Classifies a request from its HTTP method, raw (still percent-encoded)
    /// path and raw query string.
    ///
    /// Follows upstream's `RequestInfoFactory.NewRequestInfo`: the path is
    /// percent-decoded and then split on `/` (leading and trailing slashes
    /// ignored); fewer than three segments, an unknown prefix, or a named group
    /// path without a resource segment is a non-resource request.
    pub fn parse(method: &str, path: &str, query: Option<&str>) -> Result<Self, RequestInfoError> {
        let decoded =
            percent_decode(path, false).ok_or_else(|| RequestInfoError::InvalidPathEncoding {
                path: path.to_owned(),
            })?;
        let mut info = RequestInfo {
            path: decoded.clone(),
            verb: method.to_ascii_lowercase(),
            ..RequestInfo::default()
        };

        let segments = split_path(&decoded);
        let mut parts: &[&str] = &segments;
        let Some((&prefix, rest)) = parts.split_first() else {
            return Ok(info);
        };
        if segments.len() < 3 || !API_PREFIXES.contains(&prefix) {
            return Ok(info);
        }
        parts = rest;

        let mut group = "";
        if prefix != GROUPLESS_API_PREFIX {
            // A named group needs group, version and at least a resource.
            if parts.len() < 3 {
                return Ok(info);
            }
            group = parts[0];
            parts = &parts[1..];
        }
        let Some((&version, rest)) = parts.split_first() else {
            return Ok(info);
        };
        parts = rest;

        info.is_resource_request = true;
        info.api_prefix = prefix.to_owned();
        info.api_group = group.to_owned();
        info.api_version = version.to_owned();

        let Some(&first) = parts.first() else {
            // Unreachable given the length checks above, but a path must never
            // be able to panic the classifier.
            return Ok(info);
        };
        let verb_via_path_prefix = SPECIAL_VERBS.contains(&first);
        if verb_via_path_prefix {
            if parts.len() < 2 {
                return Err(RequestInfoError::MissingResourceAfterVerb { path: decoded });
            }
            info.verb = first.to_owned();
            parts = &parts[1..];
        } else {
            info.verb = match method.to_ascii_uppercase().as_str() {
                "POST" => "create",
                "GET" | "HEAD" => "get",
                "PUT" => "update",
                "PATCH" => "patch",
                "DELETE" => "delete",
                _ => "",
            }
            .to_owned();
        }

        if parts.first() == Some(&"namespaces") && parts.len() > 1 {
            info.namespace = parts[1].to_owned();
            // `namespaces/<ns>/<resource>...` addresses a namespaced resource;
            // `namespaces/<name>[/status|/finalize]` the namespace itself.
            if parts.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&parts[2]) {
                parts = &parts[2..];
            }
        }

        info.parts = parts.iter().map(|s| (*s).to_owned()).collect();
        if parts.len() >= 3 && !SPECIAL_VERBS_NO_SUBRESOURCES.contains(&info.verb.as_str()) {
            info.subresource = parts[2].to_owned();
        }
        if parts.len() >= 2 {
            info.name = parts[1].to_owned();
        }
        if let Some(resource) = parts.first() {
            info.resource = (*resource).to_owned();
        }

        let query = Query::parse(query.unwrap_or(""));
        if info.name.is_empty() && info.verb == "get" {
            info.verb = if query.watch() { "watch" } else { "list" }.to_owned();
            if let Some(name) = query.exact_name_from_list_options() {
                info.name = name;
            }
        }
        if info.name.is_empty() && info.verb == "delete" {
            info.verb = "deletecollection".to_owned();
        }

        // The deprecated `/watch/` form does not honour selectors consistently,
        // so upstream records none for it.
        if !verb_via_path_prefix && VERBS_WITH_SELECTORS.contains(&info.verb.as_str()) {
            info.field_selector = query.first("fieldSelector").unwrap_or_default().to_owned();
            info.label_selector = query.first("labelSelector").unwrap_or_default().to_owned();
        }
        Ok(info)
    }

    /// The group/version/resource this request addresses, or `None` for a
    /// non-resource request.
    pub fn group_version_resource(&self) -> Option<GroupVersionResource> {
        self.is_resource_request.then(|| {
            GroupVersionResource::new(
                self.api_group.clone(),
                self.api_version.clone(),
                self.resource.clone(),
            )
        })
    }

    /// The group and resource (empty for a non-resource request).
    pub(crate) fn group_resource(&self) -> GroupResource {
        GroupResource::new(self.api_group.clone(), self.resource.clone())
    }
}

/// Splits a decoded path into segments, ignoring leading and trailing
/// slashes; inner empty segments are kept, as upstream's `splitPath`.
fn split_path(path: &str) -> Vec<&str> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    }
}

/// Decodes `%XX` escapes (and `+` as space when `plus_is_space`, for query
/// strings). Returns `None` on a malformed escape or invalid UTF-8.
fn percent_decode(input: &str, plus_is_space: bool) -> Option<String> {
    let needs_decoding = input.contains('%') || (plus_is_space && input.contains('+'));
    if !needs_decoding {
        return Some(input.to_owned());
    }
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|b| hex_value(*b))?;
                let lo = bytes.get(i + 2).and_then(|b| hex_value(*b))?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A decoded query string, in order, with Go's `url.Query()` leniency: pairs
/// with a malformed escape or a `;` in the key are dropped, not fatal.
struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    fn parse(raw: &str) -> Self {
        let pairs = raw
            .split('&')
            .filter(|pair| !pair.is_empty())
            .filter_map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                if key.contains(';') {
                    return None;
                }
                Some((percent_decode(key, true)?, percent_decode(value, true)?))
            })
            .collect();
        Self { pairs }
    }

    fn first(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `watch` as upstream's bool conversion reads it: present and not `0` or
    /// `false` (any case) means true, even when empty.
    fn watch(&self) -> bool {
        self.first("watch")
            .is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"))
    }

    /// The name an exact `metadata.name` field selector pins a list or watch
    /// to. Upstream only takes it when the whole ListOptions decode, so a bad
    /// label selector or a non-integer `limit` loses it too.
    fn exact_name_from_list_options(&self) -> Option<String> {
        for int_param in ["limit", "timeoutSeconds"] {
            if let Some(v) = self.first(int_param)
                && !v.is_empty()
                && v.parse::<i64>().is_err()
            {
                return None;
            }
        }
        if let Some(labels) = self.first("labelSelector")
            && LabelSelector::parse(labels).is_err()
        {
            return None;
        }
        let fields = FieldSelector::parse(self.first("fieldSelector")?).ok()?;
        let name = fields.requires_exact_match("metadata.name")?;
        is_valid_path_segment_name(name)
            .is_empty()
            .then(|| name.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(method: &str, url: &str) -> RequestInfo {
        let (path, query) = match url.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (url, None),
        };
        RequestInfo::parse(method, path, query).expect("request info")
    }

    /// method, url, verb, prefix, group, version, namespace, resource,
    /// subresource, name, parts
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a [&'a str],
    );

    /// Upstream's `TestGetAPIRequestInfo` success table, plus the `/apis` prefix
    /// and group checks it leaves out.
    #[test]
    fn resource_requests() {
        #[rustfmt::skip]
        let cases: &[Case] = &[
            // method, url, verb, prefix, group, version, namespace, resource, subresource, name, parts
            ("GET", "/api/v1/namespaces", "list", "api", "", "v1", "", "namespaces", "", "", &["namespaces"]),
            ("GET", "/api/v1/namespaces/other", "get", "api", "", "v1", "other", "namespaces", "", "other", &["namespaces", "other"]),
            ("GET", "/api/v1/namespaces/other/pods", "list", "api", "", "v1", "other", "pods", "", "", &["pods"]),
            ("GET", "/api/v1/namespaces/other/pods/foo", "get", "api", "", "v1", "other", "pods", "", "foo", &["pods", "foo"]),
            ("HEAD", "/api/v1/namespaces/other/pods/foo", "get", "api", "", "v1", "other", "pods", "", "foo", &["pods", "foo"]),
            ("GET", "/api/v1/pods", "list", "api", "", "v1", "", "pods", "", "", &["pods"]),
            ("HEAD", "/api/v1/pods", "list", "api", "", "v1", "", "pods", "", "", &["pods"]),
            ("PATCH", "/api/v1/namespaces/new-namespace", "patch", "api", "", "v1", "new-namespace", "namespaces", "", "new-namespace", &["namespaces", "new-namespace"]),
            // special verbs
            ("GET", "/api/v1/proxy/namespaces/other/pods/foo", "proxy", "api", "", "v1", "other", "pods", "", "foo", &["pods", "foo"]),
            ("GET", "/api/v1/proxy/namespaces/other/pods/foo/subpath/not/a/subresource", "proxy", "api", "", "v1", "other", "pods", "", "foo", &["pods", "foo", "subpath", "not", "a", "subresource"]),
            ("GET", "/api/v1/watch/pods", "watch", "api", "", "v1", "", "pods", "", "", &["pods"]),
            ("GET", "/api/v1/pods?watch=true", "watch", "api", "", "v1", "", "pods", "", "", &["pods"]),
            ("GET", "/api/v1/pods?watch=false", "list", "api", "", "v1", "", "pods", "", "", &["pods"]),
            ("GET", "/api/v1/pods?watch=FALSE", "list", "api", "", "v1", "", "pods", "", "", &["pods"]),
            ("GET", "/api/v1/pods?watch=", "watch", "api", "", "v1", "", "pods", "", "", &["pods"]),
            ("GET", "/api/v1/pods?watch", "watch", "api", "", "v1", "", "pods", "", "", &["pods"]),
            ("GET", "/api/v1/watch/namespaces/other/pods", "watch", "api", "", "v1", "other", "pods", "", "", &["pods"]),
            ("GET", "/api/v1/watch/namespaces/other/pods/foo", "watch", "api", "", "v1", "other", "pods", "", "foo", &["pods", "foo"]),
            ("GET", "/api/v1/namespaces/other/pods?watch=1", "watch", "api", "", "v1", "other", "pods", "", "", &["pods"]),
            ("GET", "/api/v1/namespaces/other/pods?watch=0", "list", "api", "", "v1", "other", "pods", "", "", &["pods"]),
            // a named get ignores watch=true, as upstream
            ("GET", "/api/v1/namespaces/other/pods/foo?watch=true", "get", "api", "", "v1", "other", "pods", "", "foo", &["pods", "foo"]),
            // subresource identification
            ("GET", "/api/v1/namespaces/other/pods/foo/status", "get", "api", "", "v1", "other", "pods", "status", "foo", &["pods", "foo", "status"]),
            ("GET", "/api/v1/namespaces/other/pods/foo/proxy/subpath", "get", "api", "", "v1", "other", "pods", "proxy", "foo", &["pods", "foo", "proxy", "subpath"]),
            ("PUT", "/api/v1/namespaces/other/finalize", "update", "api", "", "v1", "other", "namespaces", "finalize", "other", &["namespaces", "other", "finalize"]),
            ("PUT", "/api/v1/namespaces/other/status", "update", "api", "", "v1", "other", "namespaces", "status", "other", &["namespaces", "other", "status"]),
            // verb identification
            ("PATCH", "/api/v1/namespaces/other/pods/foo", "patch", "api", "", "v1", "other", "pods", "", "foo", &["pods", "foo"]),
            ("DELETE", "/api/v1/namespaces/other/pods/foo", "delete", "api", "", "v1", "other", "pods", "", "foo", &["pods", "foo"]),
            ("POST", "/api/v1/namespaces/other/pods", "create", "api", "", "v1", "other", "pods", "", "", &["pods"]),
            ("OPTIONS", "/api/v1/namespaces/other/pods/foo", "", "api", "", "v1", "other", "pods", "", "foo", &["pods", "foo"]),
            // deletecollection verb identification
            ("DELETE", "/api/v1/nodes", "deletecollection", "api", "", "v1", "", "nodes", "", "", &["nodes"]),
            ("DELETE", "/api/v1/namespaces", "deletecollection", "api", "", "v1", "", "namespaces", "", "", &["namespaces"]),
            ("DELETE", "/api/v1/namespaces/other/pods", "deletecollection", "api", "", "v1", "other", "pods", "", "", &["pods"]),
            ("DELETE", "/apis/extensions/v1/namespaces/other/pods", "deletecollection", "apis", "extensions", "v1", "other", "pods", "", "", &["pods"]),
            // api group and version identification
            ("POST", "/apis/extensions/v1/namespaces/other/pods", "create", "apis", "extensions", "v1", "other", "pods", "", "", &["pods"]),
            ("POST", "/apis/extensions/v1beta3/namespaces/other/pods", "create", "apis", "extensions", "v1beta3", "other", "pods", "", "", &["pods"]),
            ("GET", "/apis/apps/v1/deployments", "list", "apis", "apps", "v1", "", "deployments", "", "", &["deployments"]),
            ("PUT", "/apis/apps/v1/namespaces/default/deployments/web/scale", "update", "apis", "apps", "v1", "default", "deployments", "scale", "web", &["deployments", "web", "scale"]),
            ("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases?watch=1&resourceVersion=5", "watch", "apis", "coordination.k8s.io", "v1", "kube-system", "leases", "", "", &["leases"]),
            // trailing slashes are tolerated
            ("GET", "/api/v1/namespaces/other/pods/", "list", "api", "", "v1", "other", "pods", "", "", &["pods"]),
            ("GET", "/apis/apps/v1/namespaces/ns/deployments/web/", "get", "apis", "apps", "v1", "ns", "deployments", "", "web", &["deployments", "web"]),
            // percent-decoding
            ("GET", "/api/v1/namespaces/default/configmaps/a%2Eb", "get", "api", "", "v1", "default", "configmaps", "", "a.b", &["configmaps", "a.b"]),
            ("GET", "/api/v1/namespaces/default/configmaps/a%3Ab", "get", "api", "", "v1", "default", "configmaps", "", "a:b", &["configmaps", "a:b"]),
            // method case does not matter
            ("get", "/api/v1/pods", "list", "api", "", "v1", "", "pods", "", "", &["pods"]),
        ];
        for &(method, url, verb, prefix, group, version, ns, resource, sub, name, parts) in cases {
            let info = parse(method, url);
            let ctx = format!("{method} {url}");
            assert!(info.is_resource_request, "{ctx}");
            assert_eq!(info.verb, verb, "verb for {ctx}");
            assert_eq!(info.api_prefix, prefix, "prefix for {ctx}");
            assert_eq!(info.api_group, group, "group for {ctx}");
            assert_eq!(info.api_version, version, "version for {ctx}");
            assert_eq!(info.namespace, ns, "namespace for {ctx}");
            assert_eq!(info.resource, resource, "resource for {ctx}");
            assert_eq!(info.subresource, sub, "subresource for {ctx}");
            assert_eq!(info.name, name, "name for {ctx}");
            assert_eq!(info.parts, parts, "parts for {ctx}");
        }
    }

    /// Upstream's `TestGetNonAPIRequestInfo` plus the discovery paths.
    #[test]
    fn resource_or_not() {
        let cases = [
            ("/api/version/resource", true),
            ("/apis/group/version/resource/name/subresource", true),
            ("/api/version/resource/name/subresource", true),
            ("/apis/batch/v1/job", true),
            ("/apis/batch/v1/job/foo", true),
            ("/apis/batch/v1/job/foo/scale", true),
            ("/not-api/version/resource", false),
            ("/apis/extensions/v1beta1", false),
            ("/apis/extensions/v1beta1/", false),
            ("/api/version", false),
            ("/api", false),
            ("/api/", false),
            ("/api/v1", false),
            ("/api/v1/", false),
            ("/apis", false),
            ("/apis/apps", false),
            ("/apis/apps/v1", false),
            ("/apis/version/resource", false),
            ("/badprefix/version/resource", false),
            ("/", false),
            ("", false),
            ("/healthz", false),
            ("/version", false),
            ("/openapi/v3/apis/apps/v1", false),
        ];
        for (path, expected) in cases {
            let info = parse("GET", path);
            assert_eq!(info.is_resource_request, expected, "{path}");
        }
    }

    #[test]
    fn non_resource_requests_keep_the_http_method_as_verb() {
        let info = parse("GET", "/apis");
        assert_eq!(info.verb, "get");
        assert_eq!(info.path, "/apis");
        assert!(info.api_prefix.is_empty() && info.resource.is_empty());
        assert_eq!(parse("POST", "/healthz").verb, "post");
        assert_eq!(parse("DELETE", "/api/v1").verb, "delete");
        assert_eq!(info.group_version_resource(), None);
    }

    #[test]
    fn special_verb_without_resource_is_an_error() {
        let err = RequestInfo::parse("GET", "/api/v1/watch", None).expect_err("error");
        assert_eq!(
            err.to_string(),
            "unable to determine kind and namespace from url, /api/v1/watch"
        );
        assert!(RequestInfo::parse("GET", "/apis/apps/v1/proxy/", None).is_err());
    }

    #[test]
    fn malformed_percent_escapes_are_rejected() {
        for path in [
            "/api/v1/namespaces/%zz/pods",
            "/api/v1/pods/%",
            "/api/v1/pods/%4",
            "/api/v1/pods/%ff",
        ] {
            assert!(
                matches!(
                    RequestInfo::parse("GET", path, None),
                    Err(RequestInfoError::InvalidPathEncoding { .. })
                ),
                "{path}"
            );
        }
    }

    #[test]
    fn encoded_slash_is_decoded_before_splitting_like_go() {
        let info = parse("GET", "/api/v1/namespaces/a%2Fb/pods");
        assert_eq!(info.path, "/api/v1/namespaces/a/b/pods");
        assert_eq!(info.namespace, "a");
        assert_eq!(info.resource, "b");
        assert_eq!(info.name, "pods");
    }

    /// Upstream's `TestSelectorParsing` table.
    #[test]
    fn selectors_and_names_from_query() {
        #[rustfmt::skip]
        let cases = [
            // method, url, name, verb, fieldSelector, labelSelector
            ("GET", "/apis/group/version/resource", "", "list", "", ""),
            ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1", "name1", "list", "metadata.name=name1", ""),
            ("GET", "/apis/group/version/resource?watch=true&fieldSelector=metadata.name=name1", "name1", "watch", "metadata.name=name1", ""),
            ("GET", "/apis/group/version/resource?fieldSelector=foo=bar&labelSelector=baz=qux", "", "list", "foo=bar", "baz=qux"),
            ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1,foo", "", "list", "metadata.name=name1,foo", ""),
            ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=true", "", "watch", "metadata.name=name1,foo", ""),
            ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=false", "", "list", "metadata.name=name1,foo", ""),
            ("DELETE", "/apis/group/version/resource?fieldSelector=foo=bar&labelSelector=baz=qux", "", "deletecollection", "foo=bar", "baz=qux"),
            ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=foo&fieldSelector=metadata.name=bar&labelSelector=foo=bar&labelSelector=foo=baz", "foo", "list", "metadata.name=foo", "foo=bar"),
            ("GET", "/apis/group/version/resource/name?fieldSelector=foo=bar&labelSelector=foo=bar", "name", "get", "", ""),
            ("GET", "/apis/group/version/watch/resource?fieldSelector=metadata.name=foo&labelSelector=foo=bar", "", "watch", "", ""),
            ("GET", "/apis/group/version/watch/resource/name?fieldSelector=metadata.name=foo&labelSelector=foo=bar", "name", "watch", "", ""),
            // percent-encoded query values
            ("GET", "/api/v1/pods?fieldSelector=metadata.name%3Dweb-0", "web-0", "list", "metadata.name=web-0", ""),
            ("GET", "/api/v1/pods?labelSelector=app+in+%28a%2Cb%29", "", "list", "", "app in (a,b)"),
            // a name that is not a valid path segment is not taken
            ("GET", "/api/v1/pods?fieldSelector=metadata.name=..", "", "list", "metadata.name=..", ""),
            // a != selector does not pin a name
            ("GET", "/api/v1/pods?fieldSelector=metadata.name!=x", "", "list", "metadata.name!=x", ""),
            // any undecodable list option loses the name, as upstream
            ("GET", "/api/v1/pods?fieldSelector=metadata.name=x&limit=ten", "", "list", "metadata.name=x", ""),
            ("GET", "/api/v1/pods?fieldSelector=metadata.name=x&labelSelector=a%20b", "", "list", "metadata.name=x", "a b"),
            ("GET", "/api/v1/pods?fieldSelector=metadata.name=x&limit=10&timeoutSeconds=5", "x", "list", "metadata.name=x", ""),
        ];
        for (method, url, name, verb, fields, labels) in cases {
            let info = parse(method, url);
            assert_eq!(info.name, name, "name for {url}");
            assert_eq!(info.verb, verb, "verb for {url}");
            assert_eq!(info.field_selector, fields, "fieldSelector for {url}");
            assert_eq!(info.label_selector, labels, "labelSelector for {url}");
        }
    }

    #[test]
    fn group_version_resource() {
        let info = parse("GET", "/apis/apps/v1/namespaces/ns/deployments/web/scale");
        let gvr = info.group_version_resource().expect("resource request");
        assert_eq!(gvr, GroupVersionResource::new("apps", "v1", "deployments"));
        assert_eq!(gvr.to_string(), "apps/v1, Resource=deployments");
        assert_eq!(gvr.group_resource().to_string(), "deployments.apps");

        let core = parse("GET", "/api/v1/pods").group_version_resource();
        let core = core.expect("resource request");
        assert_eq!(core.to_string(), "/v1, Resource=pods");
        assert_eq!(core.group_resource().to_string(), "pods");
    }

    #[test]
    fn group_kind_display() {
        assert_eq!(GroupKind::new("", "ConfigMap").to_string(), "ConfigMap");
        assert_eq!(
            GroupKind::new("apps", "Deployment").to_string(),
            "Deployment.apps"
        );
    }
}

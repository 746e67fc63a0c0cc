//! Impersonation (`Impersonate-User`, `-Group`, `-Uid`, `-Extra-<key>`):
//! an authenticated user acts as another, when authorized for the
//! `impersonate` verb on each thing asked for, as kube-apiserver does:
//! `users` (or `serviceaccounts` for a service account name) and `groups`
//! in the core group, `uids` and `userextras/<key>` in
//! `authentication.k8s.io`. The headers are removed either way, so a peer
//! sees only the resulting user.

use std::collections::BTreeMap;

use http::HeaderMap;
use skewless_apimachinery::request_info::RequestInfo;
use skewless_apimachinery::status::ApiError;

use crate::authn::{
    ANONYMOUS_USER, AUTHENTICATED_GROUP, UNAUTHENTICATED_GROUP, UserInfo, unescape_extra_key,
};
use crate::authz::{Chain, resource_request};

const USER: &str = "impersonate-user";
const GROUP: &str = "impersonate-group";
const UID: &str = "impersonate-uid";
const EXTRA_PREFIX: &str = "impersonate-extra-";
const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// What the impersonation headers ask for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Asked {
    user: Option<String>,
    groups: Vec<String>,
    uid: Option<String>,
    extra: BTreeMap<String, Vec<String>>,
}

impl Asked {
    fn is_empty(&self) -> bool {
        self.user.is_none() && self.groups.is_empty() && self.uid.is_none() && self.extra.is_empty()
    }
}

fn value(v: &http::HeaderValue) -> Result<String, ApiError> {
    v.to_str()
        .map(str::to_owned)
        .map_err(|_| ApiError::BadRequest("impersonation headers must be ASCII".into()))
}

/// Reads and removes the impersonation headers.
fn take(headers: &mut HeaderMap) -> Result<Asked, ApiError> {
    let mut asked = Asked::default();
    let mut doomed = Vec::new();
    for (name, v) in headers.iter() {
        let n = name.as_str();
        if n == USER {
            asked.user = Some(value(v)?);
        } else if n == GROUP {
            asked.groups.push(value(v)?);
        } else if n == UID {
            asked.uid = Some(value(v)?);
        } else if let Some(key) = n.strip_prefix(EXTRA_PREFIX) {
            let key = unescape_extra_key(key).to_ascii_lowercase();
            asked.extra.entry(key).or_default().push(value(v)?);
        } else {
            continue;
        }
        doomed.push(name.clone());
    }
    for name in doomed {
        headers.remove(name);
    }
    Ok(asked)
}

/// The attributes of "impersonate this": what the requester must be
/// allowed.
fn attributes(group: &str, resource: &str, sub: &str, namespace: &str, name: &str) -> RequestInfo {
    resource_request("impersonate", group, resource, sub, namespace, name)
}

/// The user the request acts as: `requester` itself without impersonation
/// headers; otherwise the impersonated user, once `requester` is allowed
/// each part of it (403 Status naming the first part that is not).
pub(crate) fn resolve(
    authz: &Chain,
    requester: &UserInfo,
    headers: &mut HeaderMap,
) -> Result<Option<UserInfo>, ApiError> {
    let asked = take(headers)?;
    if asked.is_empty() {
        return Ok(None);
    }
    let Some(name) = asked.user.clone() else {
        return Err(ApiError::BadRequest(
            "requested impersonation of groups, a uid or extra fields without impersonating a user"
                .into(),
        ));
    };
    let mut checks = Vec::new();
    match name
        .strip_prefix(SERVICE_ACCOUNT_PREFIX)
        .and_then(|rest| rest.split_once(':'))
    {
        Some((ns, sa)) => checks.push(attributes("", "serviceaccounts", "", ns, sa)),
        None => checks.push(attributes("", "users", "", "", &name)),
    }
    for g in &asked.groups {
        checks.push(attributes("", "groups", "", "", g));
    }
    if let Some(uid) = &asked.uid {
        checks.push(attributes("authentication.k8s.io", "uids", "", "", uid));
    }
    for (key, values) in &asked.extra {
        for v in values {
            checks.push(attributes(
                "authentication.k8s.io",
                "userextras",
                key,
                "",
                v,
            ));
        }
    }
    for check in &checks {
        authz.authorize(requester, check)?;
    }
    let mut groups = asked.groups;
    if let Some((ns, _)) = name
        .strip_prefix(SERVICE_ACCOUNT_PREFIX)
        .and_then(|rest| rest.split_once(':'))
    {
        for g in [
            "system:serviceaccounts".to_owned(),
            format!("system:serviceaccounts:{ns}"),
        ] {
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
    }
    let everyone = if name == ANONYMOUS_USER {
        UNAUTHENTICATED_GROUP
    } else {
        AUTHENTICATED_GROUP
    };
    if !groups.iter().any(|g| g == everyone) {
        groups.push(everyone.to_owned());
    }
    Ok(Some(UserInfo {
        name,
        uid: asked.uid.unwrap_or_default(),
        groups,
        extra: asked.extra,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authn::MASTERS_GROUP;
    use crate::authz::{AlwaysDeny, Authorizer, Verdict};

    /// Allows impersonating exactly what is listed, as `resource/name`.
    struct Only(Vec<&'static str>);

    impl Authorizer for Only {
        fn authorize(&self, _user: &UserInfo, info: &RequestInfo) -> Verdict {
            let what = if info.subresource.is_empty() {
                format!("{}/{}", info.resource, info.name)
            } else {
                format!("{}/{}/{}", info.resource, info.subresource, info.name)
            };
            if info.verb == "impersonate" && self.0.contains(&what.as_str()) {
                Verdict::Allow(String::new())
            } else {
                Verdict::NoOpinion
            }
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn alice() -> UserInfo {
        UserInfo {
            name: "alice".into(),
            groups: vec![AUTHENTICATED_GROUP.into()],
            ..UserInfo::default()
        }
    }

    #[test]
    fn no_headers_no_impersonation() {
        let chain = Chain::new(vec![Box::new(AlwaysDeny)]);
        let mut h = headers(&[("accept", "application/json")]);
        assert_eq!(resolve(&chain, &alice(), &mut h).unwrap(), None);
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn each_part_needs_its_own_permission() {
        let chain = Chain::new(vec![Box::new(Only(vec![
            "users/bob",
            "groups/devs",
            "uids/42",
            "userextras/scopes/view",
        ]))]);
        let mut h = headers(&[
            ("impersonate-user", "bob"),
            ("impersonate-group", "devs"),
            ("impersonate-uid", "42"),
            ("impersonate-extra-scopes", "view"),
        ]);
        let bob = resolve(&chain, &alice(), &mut h).unwrap().unwrap();
        assert!(h.is_empty(), "headers removed");
        assert_eq!(bob.name, "bob");
        assert_eq!(bob.uid, "42");
        assert_eq!(bob.groups, vec!["devs", AUTHENTICATED_GROUP]);
        assert_eq!(bob.extra["scopes"], vec!["view"]);

        let mut h = headers(&[("impersonate-user", "bob"), ("impersonate-group", "admins")]);
        let err = resolve(&chain, &alice(), &mut h).unwrap_err();
        assert_eq!(err.code(), 403);
        assert_eq!(
            err.to_string(),
            "groups \"admins\" is forbidden: User \"alice\" cannot impersonate resource \"groups\" in API group \"\" at the cluster scope"
        );
        let mut h = headers(&[("impersonate-user", "carol")]);
        assert_eq!(resolve(&chain, &alice(), &mut h).unwrap_err().code(), 403);
    }

    #[test]
    fn service_accounts_and_anonymous_get_their_groups() {
        let chain = Chain::new(vec![Box::new(AlwaysDeny)]);
        let admin = UserInfo {
            name: "admin".into(),
            groups: vec![MASTERS_GROUP.into()],
            ..UserInfo::default()
        };
        let mut h = headers(&[("impersonate-user", "system:serviceaccount:ns1:builder")]);
        let sa = resolve(&chain, &admin, &mut h).unwrap().unwrap();
        assert_eq!(
            sa.groups,
            vec![
                "system:serviceaccounts",
                "system:serviceaccounts:ns1",
                AUTHENTICATED_GROUP
            ]
        );
        let mut h = headers(&[("impersonate-user", ANONYMOUS_USER)]);
        let anon = resolve(&chain, &admin, &mut h).unwrap().unwrap();
        assert_eq!(anon.groups, vec![UNAUTHENTICATED_GROUP]);
        let sa_only = Chain::new(vec![Box::new(Only(vec!["serviceaccounts/builder"]))]);
        let mut h = headers(&[("impersonate-user", "system:serviceaccount:ns1:builder")]);
        assert!(resolve(&sa_only, &alice(), &mut h).is_ok());
    }

    #[test]
    fn groups_without_a_user_are_a_bad_request() {
        let chain = Chain::new(vec![Box::new(AlwaysDeny)]);
        let mut h = headers(&[("impersonate-group", "devs")]);
        assert_eq!(resolve(&chain, &alice(), &mut h).unwrap_err().code(), 400);
    }
}

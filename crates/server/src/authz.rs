//! Authorization: may this user do this?
//!
//! `--authorization-mode` names a chain of authorizers asked in order; the
//! first that allows or denies decides, and a request nobody allows is
//! denied (403). Before the chain, whatever the modes are, `system:masters`
//! is allowed everything (upstream's privileged group).

use skewless_apimachinery::request_info::RequestInfo;
use skewless_apimachinery::status::ApiError;

use crate::authn::{MASTERS_GROUP, UserInfo};

/// One authorizer's answer (none of skewless's authorizers denies
/// outright: RBAC only allows, as upstream's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Allowed, and why (shown in access reviews).
    Allow(String),
    /// Not allowed by this one: the next authorizer decides.
    NoOpinion,
}

/// Decides whether a request may proceed.
pub(crate) trait Authorizer: Send + Sync {
    fn authorize(&self, user: &UserInfo, info: &RequestInfo) -> Verdict;

    /// Whether it allows every request (rules reviews then list `*`).
    fn allows_everything(&self) -> bool {
        false
    }
}

/// Allows everything (`--authorization-mode=AlwaysAllow`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AlwaysAllow;

impl Authorizer for AlwaysAllow {
    fn authorize(&self, _user: &UserInfo, _info: &RequestInfo) -> Verdict {
        Verdict::Allow(String::new())
    }

    fn allows_everything(&self) -> bool {
        true
    }
}

/// Denies everything (`--authorization-mode=AlwaysDeny`): as upstream it
/// has no opinion, so the chain ends in a denial.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AlwaysDeny;

impl Authorizer for AlwaysDeny {
    fn authorize(&self, _user: &UserInfo, _info: &RequestInfo) -> Verdict {
        Verdict::NoOpinion
    }
}

/// A resource request the server asks about rather than serves (the
/// impersonation checks, the RBAC `escalate` and `bind` verbs), as the
/// authorizers see requests.
pub(crate) fn resource_request(
    verb: &str,
    group: &str,
    resource: &str,
    subresource: &str,
    namespace: &str,
    name: &str,
) -> RequestInfo {
    RequestInfo {
        is_resource_request: true,
        verb: verb.into(),
        api_group: group.into(),
        resource: resource.into(),
        subresource: subresource.into(),
        namespace: namespace.into(),
        name: name.into(),
        ..RequestInfo::default()
    }
}

/// The authorizers of `--authorization-mode`, behind the privileged group.
pub(crate) struct Chain {
    authorizers: Vec<Box<dyn Authorizer>>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("authorizers", &self.authorizers.len())
            .finish()
    }
}

impl Chain {
    pub(crate) fn new(authorizers: Vec<Box<dyn Authorizer>>) -> Self {
        Self { authorizers }
    }

    /// The verdict for a request: the privileged group, then each
    /// authorizer; `NoOpinion` when none allowed it (a denial).
    pub(crate) fn verdict(&self, user: &UserInfo, info: &RequestInfo) -> Verdict {
        if user.in_group(MASTERS_GROUP) {
            return Verdict::Allow(String::new());
        }
        for a in &self.authorizers {
            match a.authorize(user, info) {
                Verdict::NoOpinion => continue,
                decided => return decided,
            }
        }
        Verdict::NoOpinion
    }

    /// Whether some authorizer of the chain allows every request.
    pub(crate) fn allows_everything(&self) -> bool {
        self.authorizers.iter().any(|a| a.allows_everything())
    }

    /// `Ok` or the 403 Status kube-apiserver answers.
    pub(crate) fn authorize(&self, user: &UserInfo, info: &RequestInfo) -> Result<(), ApiError> {
        match self.verdict(user, info) {
            Verdict::Allow(_) => Ok(()),
            Verdict::NoOpinion => Err(ApiError::forbidden_request(&user.name, info, "")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authn::AUTHENTICATED_GROUP;

    fn info(method: &str, path: &str) -> RequestInfo {
        RequestInfo::parse(method, path, None).unwrap_or_else(|e| panic!("{e}"))
    }

    fn user(name: &str, groups: &[&str]) -> UserInfo {
        UserInfo {
            name: name.into(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            ..UserInfo::default()
        }
    }

    #[test]
    fn the_first_opinion_decides_and_silence_denies() {
        let alice = user("alice", &[AUTHENTICATED_GROUP]);
        let get = info("GET", "/api/v1/namespaces/default/pods");
        let deny = Chain::new(vec![Box::new(AlwaysDeny)]);
        let err = deny.authorize(&alice, &get).unwrap_err();
        assert_eq!(err.code(), 403);
        assert_eq!(
            err.to_string(),
            "pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
        );
        let allow = Chain::new(vec![Box::new(AlwaysDeny), Box::new(AlwaysAllow)]);
        assert!(allow.authorize(&alice, &get).is_ok());
        let masters = user("admin", &[MASTERS_GROUP]);
        assert!(deny.authorize(&masters, &get).is_ok());
    }
}

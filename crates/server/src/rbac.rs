//! RBAC as an authorizer: the policy in storage (Roles, ClusterRoles and
//! their bindings), indexed by `skewless-rbac` and swapped whole whenever
//! its controller sees a change, so each decision is a lookup in memory.
//!
//! Also the RBAC API's own guard, as upstream's: writing a role or a
//! binding must not grant more than the writer holds (unless allowed the
//! `escalate` / `bind` verbs).

use std::sync::{Arc, RwLock};

use serde_json::Value;
use skewless_apimachinery::request_info::{GroupResource, RequestInfo};
use skewless_apimachinery::status::ApiError;
use skewless_rbac::{Attributes, Policy, PolicyRule};

use crate::authn::{MASTERS_GROUP, UserInfo};
use crate::authz::{Authorizer, Chain, Verdict, resource_request};

/// The API group of the RBAC objects.
pub(crate) const GROUP: &str = "rbac.authorization.k8s.io";

/// The current policy.
#[derive(Debug, Default)]
pub(crate) struct Rbac {
    policy: RwLock<Arc<Policy>>,
}

/// The attributes `skewless-rbac` decides on, borrowed from a request.
pub(crate) fn attributes<'a>(user: &'a UserInfo, info: &'a RequestInfo) -> Attributes<'a> {
    Attributes {
        user: &user.name,
        groups: &user.groups,
        verb: &info.verb,
        resource_request: info.is_resource_request,
        namespace: &info.namespace,
        api_group: &info.api_group,
        resource: &info.resource,
        subresource: &info.subresource,
        name: &info.name,
        path: &info.path,
    }
}

impl Rbac {
    /// The policy now in force.
    pub(crate) fn policy(&self) -> Arc<Policy> {
        match self.policy.read() {
            Ok(p) => Arc::clone(&p),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Puts a freshly built policy in force.
    pub(crate) fn set(&self, policy: Policy) {
        let policy = Arc::new(policy);
        match self.policy.write() {
            Ok(mut p) => *p = policy,
            Err(poisoned) => *poisoned.into_inner() = policy,
        }
    }
}

impl Authorizer for Rbac {
    fn authorize(&self, user: &UserInfo, info: &RequestInfo) -> Verdict {
        let decision = self.policy().authorize(&attributes(user, info));
        if decision.allowed {
            Verdict::Allow(decision.reason)
        } else {
            Verdict::NoOpinion
        }
    }
}

/// `Arc<Rbac>` in the chain (the state keeps another handle).
impl Authorizer for Arc<Rbac> {
    fn authorize(&self, user: &UserInfo, info: &RequestInfo) -> Verdict {
        Rbac::authorize(self, user, info)
    }
}

fn rules_of(obj: &Value) -> Vec<PolicyRule> {
    obj.get("rules")
        .cloned()
        .and_then(|r| serde_json::from_value(r).ok())
        .unwrap_or_default()
}

/// Whether `user` may do `verb` on the RBAC object `resource/name` (in
/// `namespace`) by the authorizer chain: the `escalate` and `bind` checks.
fn may(
    authz: &Chain,
    user: &UserInfo,
    verb: &str,
    resource: &str,
    namespace: &str,
    name: &str,
) -> bool {
    let info = resource_request(verb, GROUP, resource, "", namespace, name);
    matches!(authz.verdict(user, &info), Verdict::Allow(_))
}

fn forbidden(resource: &str, name: &str, message: String) -> ApiError {
    ApiError::Forbidden {
        resource: GroupResource::new(GROUP, resource),
        name: name.into(),
        message,
    }
}

/// What a role or binding write is checked against: who writes, where,
/// and how to read a referenced role's rules.
pub(crate) struct Write<'a> {
    pub(crate) authz: &'a Chain,
    pub(crate) rbac: &'a Rbac,
    pub(crate) user: &'a UserInfo,
    /// `roles`, `clusterroles`, `rolebindings` or `clusterrolebindings`.
    pub(crate) resource: &'a str,
    pub(crate) namespace: &'a str,
    pub(crate) name: &'a str,
}

impl Write<'_> {
    fn escalation(&self, requested: &[PolicyRule]) -> Result<(), ApiError> {
        let held = self
            .rbac
            .policy()
            .rules(&self.user.name, &self.user.groups, self.namespace);
        let uncovered = skewless_rbac::covers(&held, requested);
        if uncovered.is_empty() {
            return Ok(());
        }
        Err(forbidden(
            self.resource,
            self.name,
            skewless_rbac::escalation_message(&self.user.name, &self.user.groups, &uncovered),
        ))
    }

    /// A Role or ClusterRole may be written when the writer holds every
    /// rule it grants, or may `escalate`; only such writers may give a
    /// ClusterRole an `aggregationRule` (whose rules it cannot know).
    pub(crate) fn check_role(&self, role: &Value) -> Result<(), ApiError> {
        if self.user.in_group(MASTERS_GROUP)
            || may(
                self.authz,
                self.user,
                "escalate",
                self.resource,
                self.namespace,
                self.name,
            )
        {
            return Ok(());
        }
        if role.get("aggregationRule").is_some_and(|r| !r.is_null()) {
            return Err(forbidden(
                self.resource,
                self.name,
                "must have cluster-admin privileges to use the aggregationRule".into(),
            ));
        }
        self.escalation(&rules_of(role))
    }

    /// A binding may be written when the writer may `bind` the role it
    /// references (`role_resource` `roles` or `clusterroles`, named
    /// `role_name`), or holds every rule of that role. `role` is the stored
    /// referenced role, if it exists (a binding to a missing role grants
    /// nothing and is allowed).
    pub(crate) fn check_binding(
        &self,
        role_resource: &str,
        role_name: &str,
        role: Option<&Value>,
    ) -> Result<(), ApiError> {
        if self.user.in_group(MASTERS_GROUP)
            || may(
                self.authz,
                self.user,
                "bind",
                role_resource,
                self.namespace,
                role_name,
            )
        {
            return Ok(());
        }
        match role {
            Some(role) => self.escalation(&rules_of(role)),
            None => Ok(()),
        }
    }
}

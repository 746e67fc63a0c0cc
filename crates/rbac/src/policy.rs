//! The authorizer: an immutable [`Policy`] built once from every Role,
//! ClusterRole, RoleBinding and ClusterRoleBinding, answering
//! [`Policy::authorize`] with a hash lookup per subject and a scan of only
//! the caller's own bindings' rules.
//!
//! Bindings are indexed by the subjects they name (users, groups, and
//! service accounts as their `system:serviceaccount:<ns>:<name>` user),
//! cluster-wide for ClusterRoleBindings and per namespace for RoleBindings.
//! Bindings are tried in upstream's order (ClusterRoleBindings first, then
//! the request namespace's RoleBindings, each sorted by name) so the allow
//! reason is deterministic. Building never panics: malformed objects are
//! skipped and a binding to a missing role grants nothing.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::attributes::Attributes;
use crate::objects::{BindingObject, RoleObject};
use crate::quote::go_quote;
use crate::rule::{PolicyRule, Subject};

/// The RBAC authorizer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether some bound rule allows the request.
    pub allowed: bool,
    /// On allow, which binding allowed it, in upstream's words; empty on
    /// deny (upstream tells users nothing from RBAC on deny).
    pub reason: String,
}

/// One usable binding: its rules resolved, its description prepared.
#[derive(Debug)]
struct Binding {
    /// `ClusterRoleBinding "x" of ClusterRole "y" to ` (the subject follows).
    source: String,
    /// Each subject described as upstream's `describeSubject`.
    subjects: Vec<String>,
    rules: Arc<[PolicyRule]>,
}

/// A binding reached through one of its subjects. Ordering by binding then
/// subject gives upstream's visiting order and its "first matching subject".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Grant {
    binding: u32,
    subject: u32,
}

#[derive(Debug, Default)]
struct SubjectIndex {
    users: HashMap<String, Vec<Grant>>,
    groups: HashMap<String, Vec<Grant>>,
}

impl SubjectIndex {
    fn collect(&self, user: &str, groups: &[String], into: &mut Vec<Grant>) {
        if let Some(grants) = self.users.get(user) {
            into.extend_from_slice(grants);
        }
        for group in groups {
            if let Some(grants) = self.groups.get(group.as_str()) {
                into.extend_from_slice(grants);
            }
        }
    }
}

/// An immutable RBAC policy index. Rebuild it (cheaply) when any RBAC object
/// changes; share it behind an `Arc` between request handlers.
#[derive(Debug, Default)]
pub struct Policy {
    bindings: Vec<Binding>,
    cluster: SubjectIndex,
    namespaced: HashMap<String, SubjectIndex>,
}

type RoleRules = Arc<[PolicyRule]>;

impl Policy {
    /// Builds the index from the stored JSON of all four RBAC kinds.
    /// Malformed objects are skipped; bindings to missing roles, to unknown
    /// role kinds, or (for ClusterRoleBindings) to a namespaced Role grant
    /// nothing.
    pub fn build(
        roles: &[Value],
        cluster_roles: &[Value],
        role_bindings: &[Value],
        cluster_role_bindings: &[Value],
    ) -> Policy {
        let mut role_rules: HashMap<(String, String), RoleRules> = HashMap::new();
        for role in roles.iter().filter_map(RoleObject::parse) {
            let key = (role.metadata.namespace, role.metadata.name);
            role_rules.insert(key, role.rules.into());
        }
        let mut cluster_role_rules: HashMap<String, RoleRules> = HashMap::new();
        for role in cluster_roles.iter().filter_map(RoleObject::parse) {
            cluster_role_rules.insert(role.metadata.name, role.rules.into());
        }

        let mut cluster_bindings: Vec<BindingObject> = cluster_role_bindings
            .iter()
            .filter_map(BindingObject::parse)
            .collect();
        cluster_bindings.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        let mut namespaced_bindings: Vec<BindingObject> = role_bindings
            .iter()
            .filter_map(BindingObject::parse)
            .filter(|b| !b.metadata.namespace.is_empty())
            .collect();
        namespaced_bindings.sort_by(|a, b| {
            (&a.metadata.namespace, &a.metadata.name)
                .cmp(&(&b.metadata.namespace, &b.metadata.name))
        });

        let mut policy = Policy::default();
        for binding in cluster_bindings {
            let rules = match binding.role_ref.kind.as_str() {
                "ClusterRole" => cluster_role_rules.get(&binding.role_ref.name).cloned(),
                _ => None,
            };
            if let Some(rules) = rules {
                policy.add_binding(binding, rules);
            }
        }
        for binding in namespaced_bindings {
            let rules = match binding.role_ref.kind.as_str() {
                "ClusterRole" => cluster_role_rules.get(&binding.role_ref.name).cloned(),
                "Role" => role_rules
                    .get(&(
                        binding.metadata.namespace.clone(),
                        binding.role_ref.name.clone(),
                    ))
                    .cloned(),
                _ => None,
            };
            if let Some(rules) = rules {
                policy.add_binding(binding, rules);
            }
        }
        policy
    }

    fn add_binding(&mut self, binding: BindingObject, rules: RoleRules) {
        let Ok(id) = u32::try_from(self.bindings.len()) else {
            return;
        };
        let namespace = binding.metadata.namespace.as_str();
        let source = if namespace.is_empty() {
            format!(
                "ClusterRoleBinding {} of {} {} to ",
                go_quote(&binding.metadata.name),
                binding.role_ref.kind,
                go_quote(&binding.role_ref.name)
            )
        } else {
            format!(
                "RoleBinding {} of {} {} to ",
                go_quote(&format!("{}/{}", binding.metadata.name, namespace)),
                binding.role_ref.kind,
                go_quote(&binding.role_ref.name)
            )
        };
        let index = if namespace.is_empty() {
            &mut self.cluster
        } else {
            self.namespaced.entry(namespace.to_owned()).or_default()
        };
        let mut subjects = Vec::with_capacity(binding.subjects.len());
        for (position, subject) in binding.subjects.iter().enumerate() {
            subjects.push(describe_subject(subject, namespace));
            let Ok(position) = u32::try_from(position) else {
                break;
            };
            let grant = Grant {
                binding: id,
                subject: position,
            };
            match subject.kind.as_str() {
                "User" => index
                    .users
                    .entry(subject.name.clone())
                    .or_default()
                    .push(grant),
                "Group" => index
                    .groups
                    .entry(subject.name.clone())
                    .or_default()
                    .push(grant),
                "ServiceAccount" => {
                    let sa_namespace = if subject.namespace.is_empty() {
                        namespace
                    } else {
                        subject.namespace.as_str()
                    };
                    if !sa_namespace.is_empty() {
                        let user = service_account_user(sa_namespace, &subject.name);
                        index.users.entry(user).or_default().push(grant);
                    }
                }
                _ => {}
            }
        }
        self.bindings.push(Binding {
            source,
            subjects,
            rules,
        });
    }

    /// The caller's bindings for a namespace in visiting order, one entry
    /// per binding naming its first matching subject.
    fn grants_for(&self, user: &str, groups: &[String], namespace: &str) -> Vec<Grant> {
        let mut grants = Vec::new();
        self.cluster.collect(user, groups, &mut grants);
        if !namespace.is_empty()
            && let Some(index) = self.namespaced.get(namespace)
        {
            index.collect(user, groups, &mut grants);
        }
        grants.sort_unstable();
        grants.dedup_by_key(|g| g.binding);
        grants
    }

    fn binding(&self, grant: Grant) -> Option<&Binding> {
        self.bindings.get(usize::try_from(grant.binding).ok()?)
    }

    /// Decides a request as upstream's RBAC authorizer: allowed if any rule
    /// of any binding that applies to the user (cluster-wide, or in the
    /// request's namespace) allows it.
    pub fn authorize(&self, attributes: &Attributes<'_>) -> Decision {
        for grant in self.grants_for(attributes.user, attributes.groups, attributes.namespace) {
            let Some(binding) = self.binding(grant) else {
                continue;
            };
            if binding.rules.iter().any(|rule| rule.allows(attributes)) {
                let subject = usize::try_from(grant.subject)
                    .ok()
                    .and_then(|i| binding.subjects.get(i))
                    .map_or("", String::as_str);
                return Decision {
                    allowed: true,
                    reason: format!("RBAC: allowed by {}{}", binding.source, subject),
                };
            }
        }
        Decision {
            allowed: false,
            reason: String::new(),
        }
    }

    /// Every rule bound to the user cluster-wide plus, when `namespace` is
    /// not empty, in that namespace (upstream's `RulesFor`, the owner's
    /// rules for an escalation check).
    pub fn rules(&self, user: &str, groups: &[String], namespace: &str) -> Vec<PolicyRule> {
        self.grants_for(user, groups, namespace)
            .into_iter()
            .filter_map(|grant| self.binding(grant))
            .flat_map(|binding| binding.rules.iter().cloned())
            .collect()
    }

    /// The rules a SelfSubjectRulesReview reports: resource rules (verbs,
    /// groups, resources, names) and non-resource rules (verbs, URLs), as
    /// upstream's `RulesFor` splits them.
    pub fn rules_for(
        &self,
        user: &str,
        groups: &[String],
        namespace: &str,
    ) -> (Vec<PolicyRule>, Vec<PolicyRule>) {
        let mut resource_rules = Vec::new();
        let mut non_resource_rules = Vec::new();
        for rule in self.rules(user, groups, namespace) {
            if !rule.resources.is_empty() {
                resource_rules.push(PolicyRule {
                    non_resource_urls: Vec::new(),
                    ..rule.clone()
                });
            }
            if !rule.non_resource_urls.is_empty() {
                non_resource_rules.push(PolicyRule {
                    verbs: rule.verbs,
                    non_resource_urls: rule.non_resource_urls,
                    ..PolicyRule::default()
                });
            }
        }
        (resource_rules, non_resource_rules)
    }
}

/// The user name a service account authenticates as.
pub fn service_account_user(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// A subject as upstream's allow reason names it. Upstream writes a service
/// account as `name/namespace` (in that order), and so do we.
fn describe_subject(subject: &Subject, binding_namespace: &str) -> String {
    if subject.kind == "ServiceAccount" {
        let namespace = if subject.namespace.is_empty() {
            binding_namespace
        } else {
            &subject.namespace
        };
        format!(
            "{} {}",
            subject.kind,
            go_quote(&format!("{}/{}", subject.name, namespace))
        )
    } else {
        format!("{} {}", subject.kind, go_quote(&subject.name))
    }
}

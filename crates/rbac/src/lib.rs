//! Kubernetes RBAC authorization as pure functions: rule matching, a
//! subject-indexed [`Policy`] that answers [`Policy::authorize`], the
//! escalation check ([`covers`], [`escalation_message`]), ClusterRole
//! [`aggregate`]ion, the [`bootstrap`] policy and its reconciliation.
//!
//! The server's flow: run [`aggregate`] over the stored ClusterRoles and
//! write back what it returns; [`Policy::build`] from all four kinds
//! whenever one changes; [`Policy::authorize`] each request; on a Role or
//! binding write, check [`covers`] against [`Policy::rules`] of the writer;
//! at start-up, write what [`reconcile_cluster_role`] and
//! [`reconcile_cluster_role_binding`] return for each [`bootstrap`] object.
//!
//! This crate never does I/O and never panics on the objects it is given:
//! the server reads and writes RBAC objects as stored JSON and hands them
//! here. Behaviour and message texts follow upstream's
//! `plugin/pkg/auth/authorizer/rbac` and `pkg/registry/rbac`.

mod aggregation;
mod attributes;
pub mod bootstrap;
mod escalation;
mod objects;
mod policy;
mod quote;
mod reconcile;
mod rule;

pub use aggregation::aggregate;
pub use attributes::Attributes;
pub use escalation::{compact_string, covers, escalation_message};
pub use policy::{Decision, Policy, service_account_user};
pub use reconcile::{reconcile_cluster_role, reconcile_cluster_role_binding, role_ref_changed};
pub use rule::{PolicyRule, Subject};

#[cfg(test)]
mod tests;

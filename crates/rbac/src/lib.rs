//! Kubernetes RBAC authorization as pure functions: rule matching, a
//! subject-indexed [`Policy`] that answers [`Policy::authorize`], the
//! escalation check ([`covers`], [`escalation_message`]), ClusterRole
//! [`aggregate`]ion, the [`bootstrap`] policy and its reconciliation.
//!
//! This crate never does I/O and never panics on the objects it is given:
//! the server reads and writes RBAC objects as stored JSON and hands them
//! here. Behaviour and message texts follow upstream's
//! `plugin/pkg/auth/authorizer/rbac` and `pkg/registry/rbac`.

mod aggregation;
pub mod bootstrap;
mod escalation;
mod objects;
mod policy;
mod quote;
mod reconcile;
mod rule;

pub use aggregation::aggregate;
pub use escalation::{compact_string, covers, escalation_message};
pub use policy::{Attributes, Decision, Policy, service_account_user};
pub use reconcile::{reconcile_cluster_role, reconcile_cluster_role_binding, role_ref_changed};
pub use rule::{PolicyRule, Subject};

#[cfg(test)]
mod tests;

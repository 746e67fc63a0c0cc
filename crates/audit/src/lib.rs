//! Kubernetes API audit logging (`audit.k8s.io/v1`) for skewless.
//!
//! The server asks the [`Policy`] for a request's [`Level`] and omitted
//! stages, starts an [`Event`] from the request's [`RequestAttributes`],
//! fills it in while handling the request, and hands it to the
//! [`AuditLog`] at each stage. The log writes one JSON line per event on
//! its own thread, rotating the file like kube-apiserver's
//! `--audit-log-max*` flags, and never makes a request wait on the disk.
//!
//! Policy matching and event shaping are pure; only [`Policy::load`] and
//! the [`AuditLog`] touch the file system.

mod attributes;
mod audit_id;
mod error;
mod event;
mod policy;
mod sink;
mod time;

pub use attributes::{RequestAttributes, UserInfo};
pub use audit_id::{HEADER_AUDIT_ID, audit_id};
pub use error::{Error, FieldError, PolicyError};
pub use event::{Event, ObjectReference, ResponseStatus};
pub use policy::{GroupResources, Level, Policy, PolicyRule, Stage, StageSet};
pub use sink::{AuditLog, DEFAULT_CAPACITY, Rotation};
pub use time::rfc3339_micros;

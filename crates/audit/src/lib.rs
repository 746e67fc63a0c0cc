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
//!
//! ```
//! use std::time::SystemTime;
//! use skewless_audit::{audit_id, AuditLog, Event, Policy, RequestAttributes, Rotation, Stage};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("audit.log");
//! # let path = path.to_str().ok_or("path")?;
//! let policy = Policy::parse("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n")?;
//! let log = AuditLog::open(path, Rotation { max_size_mb: 100, max_backups: 10, max_age_days: 30 })?;
//!
//! // When a request arrives (after authentication):
//! let attrs = RequestAttributes { verb: "get".into(), path: "/version".into(), ..Default::default() };
//! let (level, omit) = policy.level_for(&attrs);
//! let mut event = Event::new(audit_id(None), level, omit, &attrs, SystemTime::now());
//! log.log(&event); // RequestReceived
//!
//! // When the response is complete:
//! event.set_response(200, None).add_annotation("skewless.io/served-by", "node-a");
//! event.set_stage(Stage::ResponseComplete, SystemTime::now());
//! log.log(&event);
//! log.flush();
//! assert_eq!(std::fs::read_to_string(path)?.lines().count(), 2);
//! # Ok(())
//! # }
//! ```

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

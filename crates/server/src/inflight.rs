//! Bounds on requests in flight, as kube-apiserver's max-in-flight filter:
//! at most `--max-requests-inflight` reads and
//! `--max-mutating-requests-inflight` writes at once (0: unbounded); a
//! request beyond them answers 429 with `Retry-After: 1`. Long-running
//! requests (watches) are exempt, and so is `system:masters`, which must
//! always get an answer.

use std::sync::Arc;

use skewless_apimachinery::request_info::RequestInfo;
use skewless_apimachinery::status::ApiError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::authn::UserInfo;

/// The seats of both kinds.
#[derive(Debug)]
pub(crate) struct InFlight {
    reads: Option<Arc<Semaphore>>,
    writes: Option<Arc<Semaphore>>,
}

/// A taken seat, given back when dropped (or nothing, when exempt).
#[derive(Debug)]
pub(crate) struct Seat {
    _permit: Option<OwnedSemaphorePermit>,
}

fn seats(n: usize) -> Option<Arc<Semaphore>> {
    (n > 0).then(|| Arc::new(Semaphore::new(n)))
}

impl InFlight {
    pub(crate) fn new(max_reads: usize, max_writes: usize) -> Self {
        Self {
            reads: seats(max_reads),
            writes: seats(max_writes),
        }
    }

    /// A seat for this request, or 429.
    pub(crate) fn admit(&self, info: &RequestInfo, user: &UserInfo) -> Result<Seat, ApiError> {
        if info.verb == "watch" {
            return Ok(Seat { _permit: None });
        }
        let mutating = matches!(
            info.verb.as_str(),
            "create" | "update" | "patch" | "delete" | "deletecollection"
        ) || (!info.is_resource_request
            && !matches!(info.verb.as_str(), "get" | "head" | "list" | "options"));
        let Some(seats) = (if mutating { &self.writes } else { &self.reads }) else {
            return Ok(Seat { _permit: None });
        };
        match Arc::clone(seats).try_acquire_owned() {
            Ok(permit) => Ok(Seat {
                _permit: Some(permit),
            }),
            Err(_) if user.groups.iter().any(|g| g == "system:masters") => {
                Ok(Seat { _permit: None })
            }
            Err(_) => Err(ApiError::TooManyRequests {
                message: "Too many requests, please try again later.".into(),
                retry_after_seconds: Some(1),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(method: &str, path: &str) -> RequestInfo {
        let (path, query) = path
            .split_once('?')
            .map_or((path, None), |(p, q)| (p, Some(q)));
        RequestInfo::parse(method, path, query).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn seats_run_out_for_users_but_not_for_masters_or_watches() {
        let limits = InFlight::new(1, 1);
        let user = UserInfo {
            name: "alice".into(),
            ..UserInfo::default()
        };
        let admin = UserInfo {
            name: "admin".into(),
            groups: vec!["system:masters".into()],
            ..UserInfo::default()
        };
        let get = info("GET", "/api/v1/namespaces/default/configmaps/a");
        let post = info("POST", "/api/v1/namespaces/default/configmaps");
        let held = limits.admit(&get, &user);
        assert!(held.is_ok());
        let refused = limits.admit(&get, &user);
        assert!(matches!(refused, Err(ApiError::TooManyRequests { .. })));
        assert!(limits.admit(&get, &admin).is_ok());
        assert!(
            limits.admit(&post, &user).is_ok(),
            "writes have their own seats"
        );
        assert!(
            limits
                .admit(&info("GET", "/api/v1/configmaps?watch=true"), &user)
                .is_ok()
        );
        drop(held);
        assert!(limits.admit(&get, &user).is_ok());
        let unbounded = InFlight::new(0, 0);
        let _a = unbounded.admit(&get, &user);
        assert!(unbounded.admit(&get, &user).is_ok());
    }
}

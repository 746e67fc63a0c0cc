//! Audit logging (`--audit-log-path`, `--audit-policy-file`): one
//! `audit.k8s.io/v1` Event per stage of every request the policy selects,
//! written by `skewless-audit`'s log thread.
//!
//! Every request gets an audit ID: the client's `Audit-ID` header, or a
//! fresh one. It is returned in the response's `Audit-ID` header and, for a
//! proxied request, sent on to the peer, so both servers' events of one
//! request carry the same ID. Each event says which server served the
//! request (`skewless.io/served-by`) and, on the peer, which server proxied
//! it to it (`skewless.io/proxied-by`); on the first hop of a proxied
//! request `skewless.io/proxied-to` names the peer.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use bytes::Bytes;
use http::HeaderValue;
use serde_json::Value;
use skewless_apimachinery::request_info::RequestInfo;
use skewless_audit::{AuditLog, Event, Level, Policy, RequestAttributes, Rotation, Stage};

use crate::authn::UserInfo;
use crate::options::AuditOptions;

/// The request and response header carrying the audit ID.
pub(crate) const AUDIT_ID_HEADER: &str = "audit-id";
/// Annotation: the server that served the request.
pub(crate) const SERVED_BY: &str = "skewless.io/served-by";
/// Annotation on the serving peer: the server that proxied the request.
pub(crate) const PROXIED_BY: &str = "skewless.io/proxied-by";
/// Annotation on the first hop: the peer the request was proxied to.
pub(crate) const PROXIED_TO: &str = "skewless.io/proxied-to";

/// The policy and the log, when auditing is on.
pub(crate) struct Audit {
    policy: Policy,
    log: AuditLog,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit").finish_non_exhaustive()
    }
}

impl Audit {
    /// Auditing as the flags ask: on when both a log path and a policy
    /// file are given (as upstream, a path without a policy logs nothing).
    pub(crate) fn open(opts: &AuditOptions) -> anyhow::Result<Option<Audit>> {
        let (Some(path), Some(policy)) = (&opts.log_path, &opts.policy_file) else {
            return Ok(None);
        };
        let policy = Policy::load(policy)?;
        let log = AuditLog::open(
            path,
            Rotation {
                max_size_mb: opts.max_size_mb,
                max_backups: opts.max_backups,
                max_age_days: opts.max_age_days,
            },
        )?;
        Ok(Some(Audit { policy, log }))
    }

    /// Writes what is queued (shutdown).
    pub(crate) fn flush(&self) {
        self.log.flush();
    }
}

/// The request's audit ID (the client's, when sane, else fresh), set on
/// the request so a peer it is proxied to logs the same one.
pub(crate) fn audit_id(headers: &mut http::HeaderMap) -> HeaderValue {
    let given = headers.get(AUDIT_ID_HEADER).and_then(|v| v.to_str().ok());
    let id = skewless_audit::audit_id(given);
    let value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    headers.insert(AUDIT_ID_HEADER, value.clone());
    value
}

/// Where the REST handlers leave the request body, for an event that
/// records it.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestBody(pub(crate) Arc<OnceLock<Bytes>>);

fn audit_user(u: &UserInfo) -> skewless_audit::UserInfo {
    skewless_audit::UserInfo {
        username: u.name.clone(),
        uid: u.uid.clone(),
        groups: u.groups.clone(),
        extra: u.extra.clone(),
    }
}

/// One request's event, between its stages.
pub(crate) struct Record {
    event: Event,
    /// Set when the level keeps the request body.
    pub(crate) body: Option<RequestBody>,
    long_running: bool,
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("audit_id", &self.event.audit_id())
            .finish_non_exhaustive()
    }
}

/// What [`begin`] needs to know of the request.
pub(crate) struct Begin<'a> {
    pub(crate) id: &'a str,
    pub(crate) requester: &'a UserInfo,
    pub(crate) acting: Option<&'a UserInfo>,
    pub(crate) info: &'a RequestInfo,
    pub(crate) parts: &'a http::request::Parts,
    pub(crate) client: Option<SocketAddr>,
    pub(crate) received: SystemTime,
}

/// Starts the request's event and logs `RequestReceived`; `None` when the
/// policy's level for it is `None`.
pub(crate) fn begin(audit: &Audit, b: Begin<'_>) -> Option<Record> {
    let header = |name: http::header::HeaderName| {
        b.parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let attrs = RequestAttributes {
        user: audit_user(b.requester),
        impersonated_user: b.acting.map(audit_user),
        verb: b.info.verb.clone(),
        is_resource_request: b.info.is_resource_request,
        namespace: b.info.namespace.clone(),
        api_group: b.info.api_group.clone(),
        api_version: b.info.api_version.clone(),
        resource: b.info.resource.clone(),
        subresource: b.info.subresource.clone(),
        name: b.info.name.clone(),
        path: b.info.path.clone(),
        request_uri: b
            .parts
            .uri
            .path_and_query()
            .map_or_else(|| b.info.path.clone(), |p| p.as_str().to_owned()),
        source_ips: b.client.map(|a| a.ip().to_string()).into_iter().collect(),
        user_agent: header(http::header::USER_AGENT),
    };
    let (level, omit) = audit.policy.level_for(&attrs);
    if level == Level::None {
        return None;
    }
    let event = Event::new(b.id, level, omit, &attrs, b.received);
    audit.log.log(&event);
    Some(Record {
        event,
        body: (level >= Level::Request).then(RequestBody::default),
        long_running: b.info.verb == "watch",
    })
}

impl Record {
    /// Whether the response body belongs in the event.
    pub(crate) fn wants_response(&self) -> bool {
        self.event.level() >= Level::RequestResponse && !self.long_running
    }

    pub(crate) fn annotate(&mut self, key: &str, value: &str) {
        self.event.add_annotation(key, value);
    }

    /// Logs the response: `ResponseComplete`, or for a watch
    /// `ResponseStarted` now and `ResponseComplete` when the returned guard
    /// is dropped (the stream ended).
    pub(crate) fn respond(
        mut self,
        audit: &Arc<Audit>,
        code: u16,
        body: Option<&[u8]>,
    ) -> Option<Completion> {
        if let Some(bytes) = self.body.as_ref().and_then(|b| b.0.get())
            && let Ok(obj) = serde_json::from_slice::<Value>(bytes)
        {
            self.event.set_request_object(obj);
        }
        let json = body.and_then(|b| serde_json::from_slice::<Value>(b).ok());
        if self.wants_response()
            && let Some(obj) = &json
            && obj.get("kind").and_then(Value::as_str) != Some("Status")
        {
            self.event.set_response_object(obj.clone());
        }
        self.event.set_response(code, json);
        if self.long_running {
            self.event
                .set_stage(Stage::ResponseStarted, SystemTime::now());
            audit.log.log(&self.event);
            return Some(Completion {
                audit: Arc::clone(audit),
                event: self.event,
            });
        }
        self.event
            .set_stage(Stage::ResponseComplete, SystemTime::now());
        audit.log.log(&self.event);
        None
    }
}

/// Logs a long-running request's `ResponseComplete` when dropped.
pub(crate) struct Completion {
    audit: Arc<Audit>,
    event: Event,
}

impl std::fmt::Debug for Completion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Completion").finish_non_exhaustive()
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        self.event
            .set_stage(Stage::ResponseComplete, SystemTime::now());
        self.audit.log.log(&self.event);
    }
}

//! The audit event (`audit.k8s.io/v1` `Event`) and the rules for what each
//! level lets into it.
//!
//! An [`Event`] is started when a request arrives and filled in as the
//! request is handled; the server logs it once per stage. The level is
//! enforced here, not by callers: request bodies are kept only at
//! `Request` and above, response bodies only at `RequestResponse`, and
//! neither for non-resource requests, whatever the caller passes in.
//! Never does I/O.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::attributes::{RequestAttributes, UserInfo};
use crate::policy::{Level, Stage, StageSet};
use crate::time::rfc3339_micros;

/// Upstream cuts longer User-Agent headers to this many bytes.
const MAX_USER_AGENT_LEN: usize = 1024;
const USER_AGENT_TRUNCATED: &str = "...TRUNCATED";

/// The object a resource request addresses.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    /// Resource (`pods`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resource: String,
    /// Namespace, if namespaced.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Object name, if one object is addressed.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Object UID, when known from the request body.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// API group; empty for the core group.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_group: String,
    /// API version.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// Resource version, when known from the request body.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    /// Subresource (`status`, `log`), if any.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subresource: String,
}

/// The bounded part of a `metav1.Status` that events record as
/// `responseStatus`: for successes usually just the code, for failures
/// also `status`, `message`, `reason` and `details`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ResponseStatus {
    /// Always `{}` in events; present because upstream emits it.
    metadata: EmptyObject,
    /// `Success` or `Failure`, when the response was a Status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Human-readable description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Machine-readable reason (`NotFound`, `Forbidden`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `metav1.StatusDetails`, as the Status carried it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    /// HTTP status code.
    pub code: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
struct EmptyObject {}

impl ResponseStatus {
    /// Only the code, as upstream records responses that are not a Status
    /// object (ordinary successes).
    pub fn from_code(code: u16) -> ResponseStatus {
        ResponseStatus {
            code: i32::from(code),
            ..ResponseStatus::default()
        }
    }

    /// The bounded fields of a `metav1.Status` JSON object; `None` when
    /// `status` is not one (`kind` other than `Status`). `http_code` is used
    /// when the Status carries no `code`.
    pub fn from_status_json(status: &Value, http_code: u16) -> Option<ResponseStatus> {
        let obj = status.as_object()?;
        if obj.get("kind").and_then(Value::as_str) != Some("Status") {
            return None;
        }
        let text = |key: &str| {
            obj.get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let code = obj
            .get("code")
            .and_then(Value::as_i64)
            .and_then(|c| i32::try_from(c).ok())
            .filter(|c| *c != 0)
            .unwrap_or(i32::from(http_code));
        Some(ResponseStatus {
            metadata: EmptyObject {},
            status: text("status"),
            message: text("message"),
            reason: text("reason"),
            details: obj.get("details").filter(|d| !d.is_null()).cloned(),
            code,
        })
    }
}

fn micro_time<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339_micros(*t))
}

/// One audit event, serialized exactly in upstream's field order and with
/// upstream's omissions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    kind: &'static str,
    api_version: &'static str,
    level: Level,
    #[serde(rename = "auditID")]
    audit_id: String,
    stage: Stage,
    #[serde(rename = "requestURI")]
    request_uri: String,
    verb: String,
    user: UserInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    impersonated_user: Option<UserInfo>,
    #[serde(rename = "sourceIPs", skip_serializing_if = "Vec::is_empty")]
    source_ips: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    user_agent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    object_ref: Option<ObjectReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_status: Option<ResponseStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_object: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_object: Option<Value>,
    #[serde(serialize_with = "micro_time")]
    request_received_timestamp: SystemTime,
    #[serde(serialize_with = "micro_time")]
    stage_timestamp: SystemTime,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
    /// Stages the policy omits for this request; not part of the JSON.
    #[serde(skip)]
    omit_stages: StageSet,
}

impl Event {
    /// Starts the event for a request received at `received`, at stage
    /// `RequestReceived`. `level` and `omit_stages` are what
    /// [`Policy::level_for`](crate::Policy::level_for) answered; an event at
    /// [`Level::None`] is never written.
    pub fn new(
        audit_id: impl Into<String>,
        level: Level,
        omit_stages: StageSet,
        attrs: &RequestAttributes,
        received: SystemTime,
    ) -> Event {
        let object_ref = attrs.is_resource_request.then(|| ObjectReference {
            resource: attrs.resource.clone(),
            namespace: attrs.namespace.clone(),
            name: attrs.name.clone(),
            api_group: attrs.api_group.clone(),
            api_version: attrs.api_version.clone(),
            subresource: attrs.subresource.clone(),
            ..ObjectReference::default()
        });
        Event {
            kind: "Event",
            api_version: "audit.k8s.io/v1",
            level,
            audit_id: audit_id.into(),
            stage: Stage::RequestReceived,
            request_uri: attrs.request_uri.clone(),
            verb: attrs.verb.clone(),
            user: attrs.user.clone(),
            impersonated_user: attrs.impersonated_user.clone(),
            source_ips: attrs.source_ips.clone(),
            user_agent: truncate_user_agent(&attrs.user_agent),
            object_ref,
            response_status: None,
            request_object: None,
            response_object: None,
            request_received_timestamp: received,
            stage_timestamp: received,
            annotations: BTreeMap::new(),
            omit_stages,
        }
    }

    /// The level the event was started at.
    pub fn level(&self) -> Level {
        self.level
    }

    /// The stage set by the last [`Event::set_stage`].
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The request's audit ID.
    pub fn audit_id(&self) -> &str {
        &self.audit_id
    }

    /// The annotations added so far.
    pub fn annotations(&self) -> &BTreeMap<String, String> {
        &self.annotations
    }

    /// Whether the event is written at its current stage: its level is not
    /// `None` and the policy does not omit the stage.
    pub fn is_emitted(&self) -> bool {
        self.level > Level::None && !self.omit_stages.contains(self.stage)
    }

    /// Moves the event to `stage`, reached at `at`. At `RequestReceived` the
    /// stage timestamp is the receive time, as upstream sets it.
    pub fn set_stage(&mut self, stage: Stage, at: SystemTime) -> &mut Event {
        self.stage = stage;
        self.stage_timestamp = if stage == Stage::RequestReceived {
            self.request_received_timestamp
        } else {
            at
        };
        self
    }

    /// Records the request body, re-encoded as JSON. Kept only at `Request`
    /// and above, and only for resource requests.
    pub fn set_request_object(&mut self, object: Value) -> &mut Event {
        if self.level >= Level::Request && self.object_ref.is_some() {
            self.request_object = Some(object);
        }
        self
    }

    /// Records the response body as JSON. Kept only at `RequestResponse`,
    /// and only for resource requests.
    pub fn set_response_object(&mut self, object: Value) -> &mut Event {
        if self.level >= Level::RequestResponse && self.object_ref.is_some() {
            self.response_object = Some(object);
        }
        self
    }

    /// Records how the request ended.
    pub fn set_response_status(&mut self, status: ResponseStatus) -> &mut Event {
        self.response_status = Some(status);
        self
    }

    /// Records the response: its code, plus the bounded fields of the body
    /// when it is a `metav1.Status`; and the body itself when the level
    /// keeps response bodies. One call covers what upstream does when it
    /// writes a response.
    pub fn set_response(&mut self, code: u16, body: Option<Value>) -> &mut Event {
        let status = body
            .as_ref()
            .and_then(|b| ResponseStatus::from_status_json(b, code))
            .unwrap_or_else(|| ResponseStatus::from_code(code));
        self.set_response_status(status);
        if let Some(body) = body {
            self.set_response_object(body);
        }
        self
    }

    /// Adds (or replaces) an annotation: free-form key/value pairs recorded
    /// at every level, e.g. `authorization.k8s.io/decision` or
    /// `skewless.io/served-by`. Keys should be prefixed by the component
    /// that sets them.
    pub fn add_annotation(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> &mut Event {
        self.annotations.insert(key.into(), value.into());
        self
    }

    /// The event as one line of JSON, without the trailing newline.
    pub fn to_json_line(&self) -> String {
        // Serializing this struct cannot fail: every map key is a string and
        // every value a plain JSON value. Keep a well-formed fallback anyway
        // rather than panic in the request path.
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(
                "{{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"auditID\":{},\"annotations\":{{\"skewless.io/audit-encode-error\":{}}}}}",
                Value::from(self.audit_id.as_str()),
                Value::from(e.to_string())
            )
        })
    }
}

fn truncate_user_agent(ua: &str) -> String {
    if ua.len() <= MAX_USER_AGENT_LEN {
        return ua.to_owned();
    }
    let mut end = MAX_USER_AGENT_LEN;
    while !ua.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{USER_AGENT_TRUNCATED}", &ua[..end])
}

#[cfg(test)]
mod tests;

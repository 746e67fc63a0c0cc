//! The request path. [`handle`] is the whole chain, one stage per line:
//!
//! 1. **accept** (`accept.rs`): TCP accept, TLS handshake, the client
//!    certificate classified, one HTTP/1.1 or HTTP/2 connection;
//! 2. **authenticate**: who is asking (client certificate, bearer token or
//!    front-proxy headers; `system:anonymous` without credentials when
//!    `--anonymous-auth` allows); identity headers are stripped either way;
//!    then **impersonation** (`Impersonate-*`), if asked and allowed;
//! 3. **parse**: what is asked (`RequestInfo`: verb, group, version,
//!    resource, namespace, name, subresource);
//! 4. **authorize**: may this user do it; proxied requests are authorized
//!    here (the first hop) and again by the peer that serves them;
//!    **admit** then takes an in-flight seat (`--max-requests-inflight`,
//!    `--max-mutating-requests-inflight`; 429 when none is free; watches
//!    and `system:masters` exempt, as upstream);
//! 5. **aggregate** (`aggregate.rs`): a request under the group/version of
//!    an APIService with a service is proxied to its extension server;
//!    then **route** (`route.rs`): serve it here, proxy it to a peer that
//!    serves it, or refuse it (503) — the Mixed Version Proxy's one
//!    decision;
//! 6. **dispatch** (`dispatch.rs`): the handler for the verb;
//! 7. **encode and observe**: an error becomes a `metav1.Status`; metrics
//!    and the request log.

pub(crate) mod accept;
mod aggregate;
mod dispatch;
mod drain;
mod head;
mod impersonate;
mod reserve;
pub(crate) mod route;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use http::{HeaderValue, Method, Response};
use http_body::Body as _;
use hyper::body::Incoming;
use skewless_apimachinery::request_info::RequestInfo;
use skewless_apimachinery::status::ApiError;
use skewless_peerproxy::routing::{
    PEER_PROXIED_HEADER, PROXIED_BY_HEADER, ServedBy, is_peer_proxied,
};

use crate::audit;
use crate::authn::{Authenticated, UserInfo};
use crate::http_util::{self, Body};
use crate::state::State;
use crate::tls::PeerCertificate;

/// The client's address, set on each request by the accept stage.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub(crate) SocketAddr);

/// Answers one request: the stages in order.
pub(crate) async fn handle(
    state: &State,
    peer: &PeerCertificate,
    req: http::Request<Incoming>,
) -> Response<Body> {
    let started = Instant::now();
    let received = SystemTime::now();
    let (mut parts, body) = req.into_parts();
    // An early answer leaves the body unread: drained, not reset (drain.rs).
    let body = drain::RequestBody::new(body);
    if let Err(e) = head::check(&parts) {
        return http_util::error(&e);
    }
    let client = parts.extensions.get::<ClientAddr>().map(|c| c.0);
    let found = authenticate(state, peer, &mut parts.headers);
    if matches!(found, Authenticated::User(_))
        && let Some(seat) = parts.extensions.get::<Arc<reserve::ConnectionSeat>>()
    {
        seat.prove();
    }
    let audit_id = audit::audit_id(&mut parts.headers);
    let info = match parse(&parts) {
        Ok(info) => info,
        Err(e) => return with_audit_id(http_util::error(&e), &audit_id),
    };
    let mut user = None;
    let mut record = None;
    let answer = async {
        let requester = identify(state, found)?;
        let acting = impersonate::resolve(&state.authz, &requester, &mut parts.headers);
        if let Some(audit) = &state.audit {
            record = audit::begin(
                audit,
                audit::Begin {
                    id: audit_id.to_str().unwrap_or_default(),
                    requester: &requester,
                    acting: acting.as_ref().ok().and_then(Option::as_ref),
                    info: &info,
                    parts: &parts,
                    client,
                    received,
                },
            );
            if let Some(slot) = record.as_ref().and_then(|r| r.body.clone()) {
                parts.extensions.insert(slot);
            }
        }
        let user = &*user.insert(acting?.unwrap_or(requester));
        authorize(state, user, &info)?;
        let _seat = state.inflight.admit(&info, user)?;
        let body = match aggregate::stage(state, user, &parts, body).await {
            route::Routed::Answered(answer) => return answer,
            route::Routed::Here(body) => body,
        };
        match route::stage(state, user, &info, &parts, body).await {
            route::Routed::Answered(answer) => answer,
            route::Routed::Here(body) => {
                dispatch::dispatch(state, user, &info, &parts, parts.uri.query(), body).await
            }
        }
    }
    .await;
    let mut resp = answer.unwrap_or_else(|e| http_util::error(&e));
    if let (Some(audit), Some(record)) = (&state.audit, record) {
        let proxied_by = proxied_by(peer, &parts.headers);
        resp = audited(state, audit, record, proxied_by, resp).await;
    }
    observe(state, &info, &parts, &resp, started, user.as_ref());
    with_audit_id(resp, &audit_id)
}

fn with_audit_id(mut resp: Response<Body>, id: &HeaderValue) -> Response<Body> {
    resp.headers_mut()
        .insert(audit::AUDIT_ID_HEADER, id.clone());
    resp
}

/// The server that proxied this request here, as it says, believed only
/// from a peer (a front-proxy certificate on a peer-proxied request).
fn proxied_by(peer: &PeerCertificate, headers: &http::HeaderMap) -> Option<String> {
    let proxied = is_peer_proxied(headers.get(PEER_PROXIED_HEADER).map(HeaderValue::as_bytes));
    if peer.front_proxy.is_none() || !proxied {
        return None;
    }
    headers
        .get(PROXIED_BY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The most of a response body the audit log reads before sending it on
/// (a larger one is recorded without its object), and how long it waits
/// for it: a peer's or an extension server's answer may be any size and
/// arrive at any pace, and must neither be held whole nor waited for.
const AUDIT_READ_LIMIT: usize = 3 << 20;
const AUDIT_READ_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Logs the response stage(s) of an audited request: who served it, and
/// the response body when the level keeps it (its start, read here within
/// bounds; a watch's completion is logged when its stream ends).
async fn audited(
    state: &State,
    audit: &Arc<audit::Audit>,
    mut record: audit::Record,
    proxied_by: Option<String>,
    resp: Response<Body>,
) -> Response<Body> {
    match resp.extensions().get::<ServedBy>() {
        Some(ServedBy(peer)) => {
            record.annotate(audit::PROXIED_TO, peer);
            record.annotate(audit::SERVED_BY, peer);
        }
        None => record.annotate(audit::SERVED_BY, &state.server_id),
    }
    if let Some(by) = &proxied_by {
        record.annotate(audit::PROXIED_BY, by);
    }
    let code = resp.status().as_u16();
    // Failures are small Status documents; successes are read only when
    // the level keeps the response.
    if record.wants_response() || (code >= 400 && !resp.body().is_end_stream()) {
        let (parts, body) = resp.into_parts();
        let (start, body) = http_util::read_start(body, AUDIT_READ_LIMIT, AUDIT_READ_WAIT).await;
        record.respond(audit, code, Some(&start));
        return Response::from_parts(parts, body);
    }
    match record.respond(audit, code, None) {
        Some(completion) => resp.map(|b| http_util::with_guard(b, completion)),
        None => resp,
    }
}

/// Stage 2: who is asking; identity headers never pass.
fn authenticate(
    state: &State,
    peer: &PeerCertificate,
    headers: &mut http::HeaderMap,
) -> Authenticated {
    let found = state.authn.authenticate(peer, headers);
    state.authn.strip_identity_headers(headers);
    found
}

/// Stage 3: what the request asks for.
fn parse(parts: &http::request::Parts) -> Result<RequestInfo, ApiError> {
    Ok(RequestInfo::parse(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query(),
    )?)
}

/// A request without credentials is `system:anonymous` when
/// `--anonymous-auth` allows (authorization then decides what it may
/// reach); credentials that prove nothing are refused, as upstream.
fn identify(state: &State, found: Authenticated) -> Result<UserInfo, ApiError> {
    match found {
        Authenticated::User(user) => Ok(user),
        Authenticated::Anonymous if state.anonymous_auth => Ok(UserInfo::anonymous()),
        Authenticated::Anonymous | Authenticated::Rejected => {
            Err(ApiError::Unauthorized("Unauthorized".into()))
        }
    }
}

/// Stage 4: may this user do it (a denial is a 403 Status).
fn authorize(state: &State, user: &UserInfo, info: &RequestInfo) -> Result<(), ApiError> {
    state.authz.authorize(user, info)
}

/// Canonical verb for metrics, as upstream labels it.
fn metric_verb<'a>(info: &RequestInfo, method: &'a Method) -> std::borrow::Cow<'a, str> {
    if !info.is_resource_request {
        return method.as_str().into();
    }
    match info.verb.as_str() {
        "get" => "GET",
        "list" => "LIST",
        "watch" => "WATCH",
        "create" => "POST",
        "update" => "PUT",
        "patch" => "PATCH",
        "delete" | "deletecollection" => "DELETE",
        other => return other.to_ascii_uppercase().into(),
    }
    .into()
}

/// Stage 7: request metrics and the request log.
fn observe(
    state: &State,
    info: &RequestInfo,
    parts: &http::request::Parts,
    resp: &Response<Body>,
    started: Instant,
    user: Option<&UserInfo>,
) {
    let verb = metric_verb(info, &parts.method);
    let status = resp.status();
    let code = status.as_str();
    let labels = [
        &*verb,
        info.api_group.as_str(),
        info.api_version.as_str(),
        info.resource.as_str(),
        info.subresource.as_str(),
    ];
    state
        .metrics
        .requests
        .inc(&[labels[0], labels[1], labels[2], labels[3], labels[4], code]);
    state
        .metrics
        .request_duration
        .observe(&labels, started.elapsed());
    if is_peer_proxied(
        parts
            .headers
            .get(PEER_PROXIED_HEADER)
            .map(http::HeaderValue::as_bytes),
    ) {
        state
            .metrics
            .peer_proxied_received
            .inc(&[code, labels[1], labels[2], labels[3]]);
    }
    tracing::debug!(method = %parts.method, path = %info.path, status = %code, elapsed = ?started.elapsed(), user = user.map_or("anonymous", |u| u.name.as_str()), "request");
}

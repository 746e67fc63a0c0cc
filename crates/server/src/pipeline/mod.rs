//! The request path. [`handle`] is the whole chain, one stage per line:
//!
//! 1. **accept** (`accept.rs`): TCP accept, TLS handshake, the client
//!    certificate classified, one HTTP/1.1 or HTTP/2 connection;
//! 2. **authenticate**: who is asking (client certificate, bearer token or
//!    front-proxy headers); identity headers are stripped either way;
//! 3. **parse**: what is asked (`RequestInfo`: verb, group, version,
//!    resource, namespace, name, subresource);
//! 4. **authorize**: may this user do it; proxied requests are authorized
//!    here (the first hop) and again by the peer that serves them;
//!    **admit** then takes an in-flight seat (`--max-requests-inflight`,
//!    `--max-mutating-requests-inflight`; 429 when none is free; watches
//!    and `system:masters` exempt, as upstream);
//! 5. **route** (`route.rs`): serve it here, proxy it to a peer that
//!    serves it, or refuse it (503) — the Mixed Version Proxy's one
//!    decision;
//! 6. **dispatch** (`dispatch.rs`): the handler for the verb;
//! 7. **encode and observe**: an error becomes a `metav1.Status`; metrics
//!    and the request log.

pub(crate) mod accept;
mod dispatch;
mod reserve;
pub(crate) mod route;

use std::time::Instant;

use http::{Method, Response};
use hyper::body::Incoming;
use skewless_apimachinery::request_info::RequestInfo;
use skewless_apimachinery::status::ApiError;
use skewless_peerproxy::routing::{PEER_PROXIED_HEADER, is_peer_proxied};

use crate::authn::UserInfo;
use crate::handlers::discovery;
use crate::http_util::{self, Body};
use crate::state::State;
use crate::tls::PeerCertificate;

/// Answers one request: the stages in order.
pub(crate) async fn handle(
    state: &State,
    peer: &PeerCertificate,
    req: http::Request<Incoming>,
) -> Response<Body> {
    let started = Instant::now();
    let (mut parts, body) = req.into_parts();
    let user = authenticate(state, peer, &mut parts.headers);
    if user.is_some()
        && let Some(seat) = parts
            .extensions
            .get::<std::sync::Arc<reserve::ConnectionSeat>>()
    {
        seat.prove();
    }
    let info = match parse(&parts) {
        Ok(info) => info,
        Err(e) => return http_util::error(&e),
    };
    let answer = async {
        let user = identify(user.as_ref(), &info)?;
        authorize(state, &user, &info)?;
        let _seat = state.inflight.admit(&info, &user)?;
        match route::stage(state, &user, &info, &parts, body).await {
            route::Routed::Answered(answer) => answer,
            route::Routed::Here(body) => {
                dispatch::dispatch(state, &user, &info, &parts, parts.uri.query(), body).await
            }
        }
    }
    .await;
    let resp = answer.unwrap_or_else(|e| http_util::error(&e));
    observe(state, &info, &parts, &resp, started, user.as_ref());
    resp
}

/// Stage 2: the authenticated user, if any; identity headers never pass.
fn authenticate(
    state: &State,
    peer: &PeerCertificate,
    headers: &mut http::HeaderMap,
) -> Option<UserInfo> {
    let user = state.authn.authenticate(peer, headers);
    state.authn.strip_identity_headers(headers);
    user
}

/// Stage 3: what the request asks for.
fn parse(parts: &http::request::Parts) -> Result<RequestInfo, ApiError> {
    Ok(RequestInfo::parse(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query(),
    )?)
}

/// Unauthenticated requests reach only the public paths (health,
/// version), as `system:anonymous`.
fn identify(user: Option<&UserInfo>, info: &RequestInfo) -> Result<UserInfo, ApiError> {
    match user {
        Some(user) => Ok(user.clone()),
        None if discovery::is_public(&info.path) => Ok(UserInfo {
            name: "system:anonymous".into(),
            groups: vec!["system:unauthenticated".into()],
            ..UserInfo::default()
        }),
        None => Err(ApiError::Unauthorized("Unauthorized".into())),
    }
}

/// Stage 4: may this user do it (a denial is a 403 Status).
fn authorize(state: &State, user: &UserInfo, info: &RequestInfo) -> Result<(), ApiError> {
    state.authz.authorize(user, info)
}

/// Canonical verb for metrics, as upstream labels it.
fn metric_verb(info: &RequestInfo, method: &Method) -> String {
    if !info.is_resource_request {
        return method.as_str().to_owned();
    }
    match info.verb.as_str() {
        "get" => "GET",
        "list" => "LIST",
        "watch" => "WATCH",
        "create" => "POST",
        "update" => "PUT",
        "patch" => "PATCH",
        "delete" | "deletecollection" => "DELETE",
        other => return other.to_ascii_uppercase(),
    }
    .to_owned()
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
    let code = resp.status().as_u16().to_string();
    let labels = [
        verb.as_str(),
        info.api_group.as_str(),
        info.api_version.as_str(),
        info.resource.as_str(),
        info.subresource.as_str(),
    ];
    state
        .metrics
        .requests
        .inc(&[labels[0], labels[1], labels[2], labels[3], labels[4], &code]);
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
            .inc(&[&code, labels[1], labels[2], labels[3]]);
    }
    tracing::debug!(method = %parts.method, path = %info.path, status = %code, elapsed = ?started.elapsed(), user = user.map_or("anonymous", |u| u.name.as_str()), "request");
}

//! Stage 5, peer routing: the Mixed Version Proxy's decision for this
//! request (serve here, proxy to peers that serve it, or refuse with a
//! 503), and when proxied, forwarding and relaying the peer's answer.
//!
//! The decision itself is `skewless_peerproxy::routing::decide`; this is
//! the server's only call of it (through `PeerProxy::route`), also used by
//! the namespace controller to reach resources only peers serve.

use bytes::Bytes;
use http::Response;
use http_body_util::BodyExt;
use skewless_apimachinery::request_info::{GroupVersionResource, RequestInfo};
use skewless_apimachinery::status::ApiError;
use skewless_peerproxy::routing::{NOT_SERVED_HERE_HEADER, RETRY_AFTER_SECONDS};
use skewless_peerproxy::{Decision, ForwardedUser, RouteRequest, Target};

use crate::authn::UserInfo;
use crate::http_util::{Body, BoxError};
use crate::state::State;

/// What routing did with a request.
pub(crate) enum Routed<B> {
    /// Serve it here; the body is handed back untouched.
    Here(B),
    /// It was answered: a peer's response, or why it cannot be served.
    Answered(Result<Response<Body>, ApiError>),
}

/// Whether this server serves what a request addresses.
fn serves_locally(state: &State, target: &Target<'_>) -> bool {
    match *target {
        Target::Resource {
            group,
            version,
            resource,
        } => state.catalog().resource(group, version, resource).is_some(),
        Target::GroupDiscovery {
            group,
            version: None,
        } => state.catalog().group(group).is_some(),
        Target::GroupDiscovery {
            group,
            version: Some(version),
        } => state.catalog().serves(group, version),
        Target::Other => true,
    }
}

/// Routes a request: serve here, or answer it through a peer.
pub(crate) async fn stage<B>(
    state: &State,
    user: &UserInfo,
    info: &RequestInfo,
    parts: &http::request::Parts,
    body: B,
) -> Routed<B>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let Some(proxy) = &state.proxy else {
        return Routed::Here(body);
    };
    let request = RouteRequest::new(&parts.method, info, &parts.headers, |target| {
        serves_locally(state, target)
    });
    let candidates = match proxy.route(&request) {
        Decision::Local | Decision::NotServed => return Routed::Here(body),
        Decision::Refuse(e) => return Routed::Answered(Err(e)),
        Decision::NotServedHere(e) => {
            let mut resp = crate::http_util::error(&e);
            resp.headers_mut().insert(
                NOT_SERVED_HERE_HEADER,
                http::HeaderValue::from_static("true"),
            );
            return Routed::Answered(Ok(resp));
        }
        Decision::Proxy { candidates } => candidates,
    };
    if user.name.is_empty() {
        return Routed::Answered(Err(ApiError::InternalError(
            "no authenticated user to forward to the peer".into(),
        )));
    }
    let gvr = info
        .group_version_resource()
        .unwrap_or_else(|| GroupVersionResource::new("", "", ""));
    let forwarded = ForwardedUser {
        name: &user.name,
        uid: &user.uid,
        groups: &user.groups,
        extra: &user.extra,
    };
    let body = body.map_err(Into::into).boxed_unsync();
    let resp = match proxy
        .forward(&candidates, &gvr, parts, body, &forwarded)
        .await
    {
        Ok(resp) => resp,
        Err(e) => return Routed::Answered(Err(e)),
    };
    let watch = info.verb == "watch";
    let shutdown = state.shutdown.subscribe();
    Routed::Answered(Ok(resp.map(|b| {
        let b = b.map_err(|e| -> BoxError { Box::new(e) });
        if watch {
            relay_watch(b, shutdown, gvr.to_string())
        } else {
            b.boxed_unsync()
        }
    })))
}

/// Relays a proxied watch. It ends once this server begins shutting
/// down, as its own watches end (the client re-establishes it through
/// another server, and graceful shutdown does not wait for the peer's
/// watch to time out). When the peer's stream breaks (the peer died, hung
/// past the connection's pings, or was cut off), the client gets an
/// `ERROR` event carrying a 503 Status and a clean end of the response,
/// as for any watch the server cannot continue, instead of a cut body.
fn relay_watch<B>(body: B, mut shutdown: tokio::sync::watch::Receiver<bool>, what: String) -> Body
where
    B: http_body::Body<Data = Bytes, Error = BoxError> + Send + 'static,
{
    use futures::StreamExt;
    let stopping = async move {
        while !*shutdown.borrow_and_update() {
            if shutdown.changed().await.is_err() {
                return;
            }
        }
    };
    let frames = http_body_util::BodyStream::new(body)
        .take_until(stopping)
        .scan(false, move |failed, frame| {
            if *failed {
                return futures::future::ready(None);
            }
            let frame = match frame {
                Ok(frame) => frame,
                Err(e) => {
                    *failed = true;
                    tracing::warn!(%what, error = %e, "a proxied watch broke; ending it with an ERROR event");
                    let status = ApiError::ServiceUnavailable {
                        message: format!(
                            "the watch of {what} through a peer API server broke: {e}"
                        ),
                        retry_after_seconds: Some(RETRY_AFTER_SECONDS),
                    }
                    .status();
                    let mut line = serde_json::to_vec(&serde_json::json!({"type": "ERROR", "object": status}))
                        .unwrap_or_default();
                    line.push(b'\n');
                    http_body::Frame::data(Bytes::from(line))
                }
            };
            futures::future::ready(Some(Ok::<_, BoxError>(frame)))
        });
    http_body_util::StreamBody::new(frames).boxed_unsync()
}

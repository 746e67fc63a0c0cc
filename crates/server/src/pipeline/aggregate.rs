//! Stage 5a, aggregation: a request under the `/apis/<group>/<version>` of
//! an APIService served by an extension API server is proxied to it here,
//! after authentication and authorization, before the peer proxy decides
//! anything (every server serves APIServices itself). The user goes in
//! `X-Remote-User`/`-Group`/`-Extra-*` (what the client sent under those
//! names never passes), the front-proxy client certificate proves it.
//! Only an APIService whose `Available` condition is `True` is proxied
//! (else a 503 `service unavailable` Status, as kube-aggregator). Answers
//! stream (watches); an unreachable extension server is a 503 Status, one whose response head does not arrive within
//! `--request-timeout` a 504 (watches too: a hung server must not hold a
//! watching client forever); a redirect from it is a 502 (neither followed
//! nor passed on).
//!
//! Upgrades (`Connection: Upgrade` with `Upgrade: SPDY/3.1`, `websocket`,
//! …, on HTTP/1.1) go on a connection of their own to the extension
//! server, with the same identity headers; a `101` is relayed and then
//! the two upgraded streams are joined, bytes copied both ways until
//! either side closes, nothing moves for [`UPGRADE_IDLE`], or the server
//! shuts down. Any other answer is relayed as a normal response.

use bytes::Bytes;
use http::header::LOCATION;
use http::{HeaderName, HeaderValue, Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use skewless_apimachinery::status::ApiError;
use skewless_peerproxy::transport::upgrade;

use crate::aggregator::{Route, Unreachable};
use crate::authn::UserInfo;
use crate::http_util::{Body, BoxError};
use crate::pipeline::route::Routed;
use crate::state::State;

/// Where `Retry-After` sends clients of an unavailable extension server.
const RETRY_AFTER_SECONDS: u32 = 1;

/// How long a joined upgrade may sit with no byte moving either way
/// before both ends are closed (the kubelet's default streaming idle
/// timeout): an abandoned exec must not hold two connections forever.
const UPGRADE_IDLE: std::time::Duration = std::time::Duration::from_secs(4 * 60 * 60);

/// The protocol the request asks to switch to: an `Upgrade` header with
/// `upgrade` among the `Connection` tokens.
fn upgrade_requested(headers: &http::HeaderMap) -> Option<&HeaderValue> {
    let asks = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    asks.then(|| headers.get(http::header::UPGRADE)).flatten()
}

/// The group/version a path under `/apis/` addresses.
fn group_version(path: &str) -> Option<(&str, &str)> {
    let mut segments = path.strip_prefix("/apis/")?.split('/');
    let group = segments.next().filter(|s| !s.is_empty())?;
    let version = segments.next().filter(|s| !s.is_empty())?;
    Some((group, version))
}

/// Headers never passed to an extension server: hop-by-hop ones, the
/// client's credentials and identity claims (the identity forwarded is
/// the one established here).
fn forwardable(name: &HeaderName) -> bool {
    let n = name.as_str();
    !(matches!(
        n,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "upgrade"
            | "te"
            | "trailer"
            | "host"
            | "authorization"
            | "proxy-authorization"
    ) || n.starts_with("x-remote-")
        || n.starts_with("impersonate-"))
}

/// Proxies a request under an aggregated APIService's group/version to
/// its extension server; anything else is handed back.
pub(crate) async fn stage<B>(
    state: &State,
    user: &UserInfo,
    parts: &http::request::Parts,
    body: B,
) -> Routed<B>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let Some((group, version)) = group_version(parts.uri.path()) else {
        return Routed::Here(body);
    };
    let routes = state.aggregator.routes();
    let Some(route) = routes.get(&(group.to_owned(), version.to_owned())) else {
        return Routed::Here(body);
    };
    if !route.available {
        return Routed::Answered(Err(ApiError::ServiceUnavailable {
            message: "service unavailable".to_owned(),
            retry_after_seconds: Some(RETRY_AFTER_SECONDS),
        }));
    }
    Routed::Answered(proxy(state, route, user, parts, body).await)
}

async fn proxy<B>(
    state: &State,
    route: &Route,
    user: &UserInfo,
    parts: &http::request::Parts,
    body: B,
) -> Result<Response<Body>, ApiError>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let mut builder = Request::builder()
        .method(parts.method.clone())
        .uri(parts.uri.clone());
    for (name, value) in &parts.headers {
        if forwardable(name) {
            builder = builder.header(name, value);
        }
    }
    let value = |v: &str| {
        HeaderValue::from_str(v).map_err(|_| {
            ApiError::BadRequest(format!(
                "user information {v:?} is not a valid header value"
            ))
        })
    };
    builder = builder.header("x-remote-user", value(&user.name)?);
    for g in &user.groups {
        builder = builder.header("x-remote-group", value(g)?);
    }
    for (key, values) in &user.extra {
        let name = format!("x-remote-extra-{}", escape_extra_key(key));
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| ApiError::BadRequest(format!("user extra key {key:?}: {e}")))?;
        for v in values {
            builder = builder.header(name.clone(), value(v)?);
        }
    }
    // An upgrade the client's connection can carry out (HTTP/1.1).
    let upgrade = upgrade_requested(&parts.headers).and_then(|protocol| {
        let on_client = parts.extensions.get::<hyper::upgrade::OnUpgrade>()?;
        Some((protocol.clone(), on_client.clone()))
    });
    if let Some((protocol, on_client)) = upgrade {
        let request = builder
            .header(http::header::CONNECTION, "Upgrade")
            .header(http::header::UPGRADE, protocol)
            .body(crate::http_util::empty())
            .map_err(|e| ApiError::InternalError(e.to_string()))?;
        let sent = state
            .aggregator
            .send_upgrade(state.store.as_ref(), route, request);
        let response = reached(route, deadline(state, sent).await?)?;
        return relay_upgrade(state, response, on_client);
    }
    let request = builder
        .body(body.map_err(Into::into).boxed_unsync())
        .map_err(|e| ApiError::InternalError(e.to_string()))?;
    let sent = state.aggregator.send(state.store.as_ref(), route, request);
    let response = reached(route, deadline(state, sent).await?)?;
    not_redirected(&response)?;
    Ok(response.map(|b| b.map_err(|e| -> BoxError { Box::new(e) }).boxed_unsync()))
}

/// The extension server's answer within `--request-timeout` (its head:
/// the body streams), else a 504 Timeout Status.
async fn deadline<T>(state: &State, sent: impl Future<Output = T>) -> Result<T, ApiError> {
    tokio::time::timeout(state.aggregator.request_timeout, sent)
        .await
        .map_err(|_| ApiError::Timeout {
            message: "request did not complete within the allotted timeout".to_owned(),
            retry_after_seconds: Some(RETRY_AFTER_SECONDS),
        })
}

/// An extension server that could not be reached is a 503 Status.
fn reached<T>(route: &Route, answer: Result<T, Unreachable>) -> Result<T, ApiError> {
    answer.map_err(|e| {
        let message = match e {
            Unreachable::Unavailable(why) => {
                tracing::info!(service = %route.service.server_name(), %why, "extension server unavailable");
                "service unavailable".to_owned()
            }
            Unreachable::Failed(why) => format!("error trying to reach service: {why}"),
        };
        ApiError::ServiceUnavailable {
            message,
            retry_after_seconds: Some(RETRY_AFTER_SECONDS),
        }
    })
}

/// Redirects are neither followed nor passed on: the client would take
/// its credentials wherever the extension server points.
fn not_redirected<B>(response: &Response<B>) -> Result<(), ApiError> {
    if response.status().is_redirection() && response.headers().contains_key(LOCATION) {
        return Err(ApiError::BadGateway(
            "the backend attempted to redirect this request, which is not permitted".to_owned(),
        ));
    }
    Ok(())
}

/// Relays the extension server's answer to an upgrade request: a `101`
/// (its head, no body) and then, in a task that ends when either side
/// closes, the idle bound passes or this server shuts down, the client's
/// upgraded stream joined to the extension server's; anything else as a
/// normal response.
fn relay_upgrade(
    state: &State,
    mut response: Response<Incoming>,
    on_client: hyper::upgrade::OnUpgrade,
) -> Result<Response<Body>, ApiError> {
    not_redirected(&response)?;
    if response.status() != http::StatusCode::SWITCHING_PROTOCOLS {
        return Ok(response.map(|b| b.map_err(|e| -> BoxError { Box::new(e) }).boxed_unsync()));
    }
    let on_server = hyper::upgrade::on(&mut response);
    let mut stop = state.shutdown.subscribe();
    tokio::spawn(async move {
        let (client, server) = match tokio::join!(on_client, on_server) {
            (Ok(client), Ok(server)) => (client, server),
            (client, server) => {
                tracing::debug!(client = ?client.err(), server = ?server.err(), "an upgrade was not completed");
                return;
            }
        };
        let joined = upgrade::join(TokioIo::new(client), TokioIo::new(server), UPGRADE_IDLE);
        tokio::select! {
            (sent, received) = joined => {
                tracing::debug!(sent, received, "an upgraded stream to an extension server ended");
            }
            _ = stop.wait_for(|stopping| *stopping) => {}
        }
    });
    let (parts, _) = response.into_parts();
    Ok(Response::from_parts(parts, crate::http_util::empty()))
}

/// An extra key as a header name carries it: lower-case, with what a
/// header name cannot hold percent-encoded.
fn escape_extra_key(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-!#$&'*+.^_`|~".contains(&b) {
            out.push(char::from(b.to_ascii_lowercase()));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_group_versions() {
        assert_eq!(
            group_version("/apis/metrics.k8s.io/v1beta1/pods"),
            Some(("metrics.k8s.io", "v1beta1"))
        );
        assert_eq!(
            group_version("/apis/metrics.k8s.io/v1beta1"),
            Some(("metrics.k8s.io", "v1beta1"))
        );
        assert_eq!(group_version("/apis/metrics.k8s.io"), None);
        assert_eq!(group_version("/api/v1"), None);
    }

    #[test]
    fn identity_claims_are_never_forwarded() {
        for h in [
            "x-remote-user",
            "x-remote-extra-a",
            "authorization",
            "impersonate-user",
        ] {
            assert!(!forwardable(&HeaderName::from_static(h)), "{h}");
        }
        assert!(forwardable(&HeaderName::from_static("accept")));
    }

    #[test]
    fn upgrades_need_both_headers() {
        let mut headers = http::HeaderMap::new();
        headers.insert("upgrade", HeaderValue::from_static("SPDY/3.1"));
        assert_eq!(upgrade_requested(&headers), None, "no Connection: Upgrade");
        headers.insert(
            "connection",
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        assert_eq!(
            upgrade_requested(&headers),
            Some(&HeaderValue::from_static("SPDY/3.1"))
        );
        headers.remove("upgrade");
        assert_eq!(upgrade_requested(&headers), None, "no protocol");
    }

    #[test]
    fn extra_keys_are_escaped() {
        assert_eq!(escape_extra_key("Scopes/a b"), "scopes%2Fa%20b");
    }
}

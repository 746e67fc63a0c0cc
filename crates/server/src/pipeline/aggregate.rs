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

use bytes::Bytes;
use http::header::LOCATION;
use http::{HeaderName, HeaderValue, Request, Response};
use http_body_util::BodyExt;
use skewless_apimachinery::status::ApiError;

use crate::aggregator::{Route, Unreachable};
use crate::authn::UserInfo;
use crate::http_util::{Body, BoxError};
use crate::pipeline::route::Routed;
use crate::state::State;

/// Where `Retry-After` sends clients of an unavailable extension server.
const RETRY_AFTER_SECONDS: u32 = 1;

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
    let request = builder
        .body(body.map_err(Into::into).boxed_unsync())
        .map_err(|e| ApiError::InternalError(e.to_string()))?;
    let sent = state.aggregator.send(state.store.as_ref(), route, request);
    let answer = match tokio::time::timeout(state.aggregator.request_timeout, sent).await {
        Ok(answer) => answer,
        Err(_) => {
            return Err(ApiError::Timeout {
                message: "request did not complete within the allotted timeout".to_owned(),
                retry_after_seconds: Some(RETRY_AFTER_SECONDS),
            });
        }
    };
    let response = answer.map_err(|e| {
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
    })?;
    // Redirects are neither followed nor passed on: the client would take
    // its credentials wherever the extension server points.
    if response.status().is_redirection() && response.headers().contains_key(LOCATION) {
        return Err(ApiError::BadGateway(
            "the backend attempted to redirect this request, which is not permitted".to_owned(),
        ));
    }
    Ok(response.map(|b| b.map_err(|e| -> BoxError { Box::new(e) }).boxed_unsync()))
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
    fn extra_keys_are_escaped() {
        assert_eq!(escape_extra_key("Scopes/a b"), "scopes%2Fa%20b");
    }
}

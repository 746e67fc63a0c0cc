//! Forwarding a request to a peer: the request as the peer receives it
//! (our identity headers for the authenticated user, the loop guard, no
//! client credentials), the walk over the routing decision's candidates
//! with the retry policy of `routing.rs`, and the errors a client sees
//! when no peer answers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, Uri, header};
use http_body_util::{BodyExt, Empty};
use skewless_apimachinery::request_info::GroupVersionResource;
use skewless_apimachinery::status::ApiError;

use crate::peers::PeerProxy;
use crate::routing::{
    self, HopFailure, Link, MAX_FORWARDED_HEADER_BYTES, NOT_SERVED_HERE_HEADER,
    PEER_PROXIED_HEADER, PROXIED_BY_HEADER, PeerView, header_list_size, timeout_error,
    unavailable_error,
};
use crate::transport::{PeerBody, ProxyBody, SendError};

/// The user a request is forwarded as, borrowed from the request's own
/// (nothing is copied per proxied request).
#[derive(Debug, Clone, Copy)]
pub struct ForwardedUser<'a> {
    /// User name.
    pub name: &'a str,
    /// UID, when known.
    pub uid: &'a str,
    /// Groups.
    pub groups: &'a [String],
    /// Extra attributes.
    pub extra: &'a BTreeMap<String, Vec<String>>,
}

impl PeerProxy {
    /// Forwards a request to the first candidate that answers, in the
    /// decision's order (every candidate has a known endpoint: the decision
    /// answers peers without one itself). A peer that cannot be reached is marked down and
    /// the request goes to the next one; a peer that sends no response
    /// headers within the hop timeout is marked suspect, and the request
    /// goes to the next one when [`routing::may_retry`] allows. The
    /// response streams back unchanged.
    pub async fn forward(
        self: &Arc<Self>,
        candidates: &[Arc<PeerView>],
        gvr: &GroupVersionResource,
        parts: &http::request::Parts,
        body: ProxyBody,
        user: &ForwardedUser<'_>,
    ) -> Result<Response<PeerBody>, ApiError> {
        // Named only in errors: built when one is.
        let what = || {
            if gvr.resource.is_empty() {
                parts.uri.path().to_owned()
            } else {
                gvr.to_string()
            }
        };
        if parts.headers.contains_key(header::UPGRADE) {
            return Err(ApiError::BadRequest(
                "connection upgrades cannot be proxied to a peer API server".into(),
            ));
        }
        let labels = [
            gvr.group.as_str(),
            gvr.version.as_str(),
            gvr.resource.as_str(),
        ];
        let transport_error = || {
            self.metrics
                .proxy_errors
                .inc(&["proxy_transport", labels[0], labels[1], labels[2]]);
        };
        let timeout = self.timing.hop_timeout;
        // A watch (or a followed log) holds its exchange open: it goes on
        // the multiplexed connection, everything else on the inline pool.
        let long_running = is_long_running(&parts.uri);
        let mut tried: Vec<String> = Vec::new();
        let mut last = String::new();
        let mut body = Some(body);
        let mut pending: Option<Request<ProxyBody>> = None;
        let mut timed_out = false;
        for peer in candidates {
            let Some(addr) = peer.endpoint.as_deref() else {
                continue;
            };
            let req = match pending.take() {
                Some(mut r) => match rewrite_uri(addr, r.uri()) {
                    Ok(u) => {
                        *r.uri_mut() = u;
                        r
                    }
                    Err(_) => continue,
                },
                None => match build_request(addr, parts, body.take(), user, &self.self_id) {
                    Ok(r) if header_list_size(r.headers()) > MAX_FORWARDED_HEADER_BYTES => {
                        return Err(ApiError::RequestHeaderFieldsTooLarge(format!(
                            "{} bytes of header fields, at most {MAX_FORWARDED_HEADER_BYTES} reach a peer API server",
                            header_list_size(r.headers())
                        )));
                    }
                    Ok(r) => r,
                    Err(e) => {
                        last = e.to_string();
                        continue;
                    }
                },
            };
            tried.push(peer.id.to_string());
            let started = Instant::now();
            let sent = async {
                if long_running {
                    self.transport.send(addr, req).await
                } else {
                    self.transport.send_short(addr, req).await
                }
            };
            let failure = match tokio::time::timeout(timeout, sent).await {
                Ok(Ok(resp))
                    if resp.status() == http::StatusCode::SERVICE_UNAVAILABLE
                        && resp.headers().contains_key(NOT_SERVED_HERE_HEADER) =>
                {
                    self.metrics.hop.observe(&labels, started.elapsed());
                    last = format!("{} does not serve it any more", peer.id);
                    tracing::info!(peer = %peer.id, what = %what(), "a peer API server no longer serves what its discovery said; refetching it and trying the next candidate");
                    self.discovery_stale(peer.id.as_str());
                    HopFailure::NotServedThere
                }
                Ok(Ok(mut resp)) => {
                    resp.extensions_mut()
                        .insert(routing::ServedBy(peer.id.to_string()));
                    self.metrics.hop.observe(&labels, started.elapsed());
                    self.metrics.rerouted.inc(&[
                        resp.status().as_str(),
                        labels[0],
                        labels[1],
                        labels[2],
                    ]);
                    self.set_link(&peer.id, addr, Link::Up);
                    return Ok(resp);
                }
                Ok(Err(SendError::NotSent { request, cause })) => {
                    transport_error();
                    last = cause.to_string();
                    self.set_link(
                        &peer.id,
                        addr,
                        Link::Down {
                            cause: last.clone(),
                        },
                    );
                    pending = Some(*request);
                    HopFailure::NotSent
                }
                Err(_) => {
                    transport_error();
                    timed_out = true;
                    last = format!("no response headers within {timeout:?}");
                    self.set_link(
                        &peer.id,
                        addr,
                        Link::Suspect {
                            cause: last.clone(),
                        },
                    );
                    HopFailure::NoAnswer
                }
                Ok(Err(SendError::Failed(e))) => {
                    transport_error();
                    last = e.to_string();
                    HopFailure::Broken
                }
            };
            if !routing::may_retry(&parts.method, failure) {
                return Err(match failure {
                    HopFailure::NoAnswer => timeout_error(format!(
                        "the peer API server serving {} did not answer in time",
                        what()
                    )),
                    _ => unavailable_error(format!(
                        "error trying to reach the peer API server serving {}: {last}",
                        what()
                    )),
                });
            }
            if pending.is_none() && body.is_none() {
                // Only bodiless requests are retried after they left:
                // rebuild the request for the next peer.
                body = Some(empty_body());
            }
        }
        self.metrics
            .rerouted
            .inc(&["503", labels[0], labels[1], labels[2]]);
        let message = format!(
            "{} is served only by peer API servers, and none could be reached (tried {}): {last}",
            what(),
            tried.join(", ")
        );
        Err(if timed_out {
            timeout_error(message)
        } else {
            unavailable_error(message)
        })
    }
}

/// Whether a request streams for long: `watch` or `follow` set true (as
/// a client spells a boolean: `true`, `1`, `t`, …), or a `/watch/` path.
fn is_long_running(uri: &Uri) -> bool {
    let truthy = |v: &str| matches!(v, "1" | "t" | "T" | "true" | "TRUE" | "True");
    uri.path().contains("/watch/")
        || uri.query().is_some_and(|q| {
            q.split('&').any(|pair| match pair.split_once('=') {
                Some(("watch" | "follow", v)) => truthy(v),
                _ => false,
            })
        })
}

fn empty_body() -> ProxyBody {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn rewrite_uri(addr: &str, uri: &Uri) -> Result<Uri, http::Error> {
    let pq = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    Ok(format!("https://{addr}{pq}").parse::<Uri>()?)
}

/// Headers that describe one connection, not the request.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
];

/// The request as the peer receives it: same method, path and query; the
/// client's headers minus hop-by-hop ones, credentials and any identity
/// claims; our identity headers for the authenticated user; the loop guard.
pub(crate) fn build_request(
    addr: &str,
    parts: &http::request::Parts,
    body: Option<ProxyBody>,
    user: &ForwardedUser<'_>,
    proxied_by: &str,
) -> Result<Request<ProxyBody>, http::Error> {
    let uri = rewrite_uri(addr, &parts.uri)?;
    let mut headers =
        HeaderMap::with_capacity(parts.headers.len() + user.groups.len() + user.extra.len() + 4);
    for (name, value) in &parts.headers {
        let n = name.as_str();
        if HOP_BY_HOP.contains(&n)
            || n == "host"
            || n == "authorization"
            || n == "upgrade"
            || n.starts_with("x-remote-")
            || n == PEER_PROXIED_HEADER
            || n == PROXIED_BY_HEADER
        {
            continue;
        }
        headers.append(name.clone(), value.clone());
    }
    // Fixed names are parsed once; a value that is no valid header value
    // is left out.
    let mut add = |name: HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.append(name, v);
        }
    };
    add(HeaderName::from_static("x-remote-user"), user.name);
    if !user.uid.is_empty() {
        add(HeaderName::from_static("x-remote-uid"), user.uid);
    }
    let group = HeaderName::from_static("x-remote-group");
    for g in user.groups {
        add(group.clone(), g);
    }
    for (key, values) in user.extra {
        let name = format!("x-remote-extra-{}", escape_extra_key(key));
        let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
            continue;
        };
        for v in values {
            add(name.clone(), v);
        }
    }
    add(HeaderName::from_static(PEER_PROXIED_HEADER), "true");
    add(HeaderName::from_static(PROXIED_BY_HEADER), proxied_by);
    let mut req = Request::builder().method(parts.method.clone()).uri(uri);
    if let Some(h) = req.headers_mut() {
        *h = headers;
    }
    req.body(body.unwrap_or_else(empty_body))
}

/// Percent-encodes every byte of an extra key that is not an RFC 7230 token
/// character (and `%` itself), uppercase hex, as upstream.
pub fn escape_extra_key(key: &str) -> String {
    fn token(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b"!#$&'*+-.^_`|~".contains(&b)
    }
    let mut out = String::new();
    for b in key.bytes() {
        if token(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The values of one header of a request (tests inspect forwarded requests).
#[cfg(test)]
fn header_values(req: &Request<ProxyBody>, name: &str) -> Vec<String> {
    req.headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn extra_keys_escape_like_upstream() {
        assert_eq!(escape_extra_key("scopes"), "scopes");
        assert_eq!(escape_extra_key("example.com/scope"), "example.com%2Fscope");
        assert_eq!(escape_extra_key("100%"), "100%25");
    }

    #[test]
    fn forwarded_requests_carry_only_our_identity() {
        let req = Request::builder()
            .method("GET")
            .uri("/apis/batch/v1/jobs?limit=5")
            .header("authorization", "Bearer secret")
            .header("x-remote-user", "mallory")
            .header("x-remote-extra-foo", "bar")
            .header("connection", "keep-alive")
            .header("accept", "application/json")
            .header(PEER_PROXIED_HEADER, "false")
            .header(PROXIED_BY_HEADER, "forged")
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        let groups = vec!["devs".to_owned(), "system:authenticated".to_owned()];
        let extra = BTreeMap::from([("example.com/scope".to_owned(), vec!["x".to_owned()])]);
        let user = ForwardedUser {
            name: "alice",
            uid: "42",
            groups: &groups,
            extra: &extra,
        };
        let out = build_request("10.0.0.1:6443", &parts, None, &user, "server-a").unwrap();
        assert_eq!(
            out.uri().to_string(),
            "https://10.0.0.1:6443/apis/batch/v1/jobs?limit=5"
        );
        assert_eq!(header_values(&out, "x-remote-user"), ["alice"]);
        assert_eq!(header_values(&out, "x-remote-uid"), ["42"]);
        assert_eq!(
            header_values(&out, "x-remote-group"),
            ["devs", "system:authenticated"]
        );
        assert_eq!(
            header_values(&out, "x-remote-extra-example.com%2Fscope"),
            ["x"]
        );
        assert!(header_values(&out, "x-remote-extra-foo").is_empty());
        assert!(header_values(&out, "authorization").is_empty());
        assert!(header_values(&out, "connection").is_empty());
        assert_eq!(header_values(&out, "accept"), ["application/json"]);
        assert_eq!(header_values(&out, PEER_PROXIED_HEADER), ["true"]);
        assert_eq!(header_values(&out, PROXIED_BY_HEADER), ["server-a"]);
    }
}

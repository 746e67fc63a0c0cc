//! Non-resource endpoints: discovery (legacy and aggregated v2, with ETag
//! and 304), `/version`, the health checks and `/metrics`.
//!
//! Discovery describes what this server serves, merged with what its peers
//! serve (aggregated `/apis` and every legacy document but `/api`; the
//! aggregated `profile=nopeer` is the local view); it never reads storage,
//! so it answers even when storage is slow.

use std::sync::atomic::Ordering;

use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use serde::Serialize;
use serde_json::{Value, json};
use skewless_apimachinery::discovery::{APIGroup, APIGroupList, APIResourceList};
use skewless_apimachinery::negotiate::{DiscoveryFormat, discovery_kind};
use skewless_apimachinery::status::ApiError;

use crate::http_util::{self, Body, Query};
use crate::state::State;

const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// A discovery response with `ETag`, `Vary: Accept`, and 304 when the
/// client already has it.
fn cached(
    headers: &HeaderMap,
    value: &impl Serialize,
    content_type: &'static str,
) -> Response<Body> {
    let bytes = http_util::json_bytes(value);
    let tag = crate::merged::etag(&bytes);
    cached_bytes(headers, bytes, &tag, content_type)
}

fn cached_bytes(
    headers: &HeaderMap,
    bytes: Vec<u8>,
    tag: &str,
    content_type: &'static str,
) -> Response<Body> {
    let mut resp = if http_util::etag_matches(headers, tag) {
        let mut r = Response::new(http_util::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let mut r = Response::new(http_util::full(bytes));
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        r
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public"));
    resp
}

/// Adds a `Warning` to a document merged from peers' data when some live
/// peer's discovery is unknown: the document may lack what it serves.
fn warn_missing_peers(api: &State, mut resp: Response<Body>) -> Response<Body> {
    let missing = api
        .proxy
        .as_ref()
        .map(|p| p.missing_peer_data())
        .unwrap_or_default();
    if !missing.is_empty() {
        crate::openapi::add_warnings(
            &mut resp,
            &[format!(
                "discovery of peer API server(s) {} is not known: this document may lack what they serve",
                missing.join(", ")
            )],
        );
    }
    resp
}

/// Answers a non-resource GET, or `None` when the path is not one of ours.
pub(crate) fn handle(
    api: &State,
    path: &str,
    query: &Query,
    headers: &HeaderMap,
) -> Option<Result<Response<Body>, ApiError>> {
    let trimmed = path.trim_end_matches('/');
    let segments: Vec<&str> = trimmed.split('/').filter(|s| !s.is_empty()).collect();
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Some(match segments.as_slice() {
        ["version"] => Ok(http_util::raw_json(StatusCode::OK, &api.version_info)),
        ["healthz" | "livez" | "readyz", rest @ ..] => Ok(health(api, segments[0], rest, query)),
        ["metrics"] => {
            let mut text = api.metrics.render();
            api.watch_cache.render(&mut text);
            if let Some(proxy) = &api.proxy {
                proxy.metrics.render(&mut text);
                proxy.render_peers(&mut text);
                api.merged.render(&mut text);
            }
            let mut r = http_util::text(StatusCode::OK, text);
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            Ok(r)
        }
        ["api"] => match discovery_kind(accept) {
            DiscoveryFormat::Aggregated { profile } => {
                // `/api` is never peer-aggregated (as upstream).
                if profile.as_deref() == Some("nopeer") && api.proxy.is_some() {
                    api.merged.nopeer.inc(&[]);
                }
                Ok(cached(
                    headers,
                    &api.catalog().aggregated_core(),
                    AGGREGATED_CONTENT_TYPE,
                ))
            }
            DiscoveryFormat::Legacy => {
                let mut doc = serde_json::to_value(api.catalog().legacy_api_versions())
                    .unwrap_or(Value::Null);
                doc["serverAddressByClientCIDRs"] =
                    json!([{"clientCIDR": "0.0.0.0/0", "serverAddress": api.advertise}]);
                Ok(cached(headers, &doc, "application/json"))
            }
            DiscoveryFormat::NotAcceptable => Err(not_acceptable()),
        },
        ["apis"] => match discovery_kind(accept) {
            DiscoveryFormat::Aggregated { profile } => {
                if profile.as_deref() == Some("nopeer") && api.proxy.is_some() {
                    api.merged.nopeer.inc(&[]);
                    Ok(cached(
                        headers,
                        &api.catalog().aggregated_apis(),
                        AGGREGATED_CONTENT_TYPE,
                    ))
                } else {
                    let merged = crate::handlers::derived::merged(api);
                    Ok(warn_missing_peers(
                        api,
                        cached_bytes(
                            headers,
                            merged.bytes.clone(),
                            &merged.etag,
                            AGGREGATED_CONTENT_TYPE,
                        ),
                    ))
                }
            }
            DiscoveryFormat::Legacy => Ok(warn_missing_peers(
                api,
                cached(headers, &legacy_group_list(api), "application/json"),
            )),
            DiscoveryFormat::NotAcceptable => Err(not_acceptable()),
        },
        ["api", version] => legacy_resources(api, headers, "", version),
        ["apis", group] => match legacy_group(api, group) {
            Some(g) => Ok(warn_missing_peers(
                api,
                cached(headers, &g, "application/json"),
            )),
            None => Err(ApiError::not_found_path()),
        },
        ["apis", group, version] => legacy_resources(api, headers, group, version),
        _ => return None,
    })
}

// Legacy discovery (`/apis`, `/apis/<g>`, `/apis/<g>/<v>`, `/api/<v>`) is
// derived from the merged aggregated data (with the proxy off: this
// server's own, plus extension servers' groups), so a client that
// predates aggregated discovery sees what the whole control plane serves,
// with the same deterministic merge (and the same CRD exclusions) as
// `/apis`. For a server's own data the catalog's legacy documents are
// identical (a catalog test checks).

/// Legacy `/apis`: every group served anywhere, in the merged order.
fn legacy_group_list(api: &State) -> APIGroupList {
    let mut list = api.catalog().legacy_group_list();
    list.groups = crate::handlers::derived::merged(api)
        .groups
        .iter()
        .filter(|g| !g.name().is_empty())
        .filter_map(APIGroup::from_aggregated)
        .collect();
    list
}

/// Legacy `/apis/<group>`: the versions served anywhere, the preferred one
/// first (the merged document's order).
fn legacy_group(api: &State, group: &str) -> Option<APIGroup> {
    let merged = crate::handlers::derived::merged(api);
    let found = merged
        .groups
        .iter()
        .find(|g| !group.is_empty() && g.name() == group)?;
    Some(APIGroup {
        kind: "APIGroup".to_owned(),
        api_version: "v1".to_owned(),
        ..APIGroup::from_aggregated(found)?
    })
}

/// Legacy `/api/<version>` (group `""`) or `/apis/<group>/<version>`: every
/// resource served anywhere in that group/version.
fn legacy_resources(
    api: &State,
    headers: &HeaderMap,
    group: &str,
    version: &str,
) -> Result<Response<Body>, ApiError> {
    let merged = crate::handlers::derived::merged(api);
    let groups = if group.is_empty() {
        &merged.core
    } else {
        &merged.groups
    };
    let list = groups
        .iter()
        .filter(|g| g.name() == group)
        .flat_map(|g| &g.versions)
        .find(|v| v.version == version)
        .map(|v| APIResourceList::from_aggregated(group, v));
    match list {
        Some(list) => Ok(warn_missing_peers(
            api,
            cached(headers, &list, "application/json"),
        )),
        None => Err(ApiError::not_found_path()),
    }
}

fn not_acceptable() -> ApiError {
    ApiError::NotAcceptable {
        accepted: vec!["application/json".into(), AGGREGATED_CONTENT_TYPE.into()],
    }
}

fn health(api: &State, endpoint: &str, rest: &[&str], query: &Query) -> Response<Body> {
    let mut checks: Vec<(&str, bool)> = vec![("ping", true), ("log", true)];
    if endpoint != "livez" {
        checks.push((
            "poststarthook/bootstrap-namespaces",
            api.bootstrapped.load(Ordering::Acquire),
        ));
    }
    if endpoint == "readyz" {
        if api.proxy.is_some() {
            checks.push((
                "mixed-version-proxy",
                api.proxy.as_ref().is_some_and(|p| p.synced()),
            ));
        }
        checks.push(("shutdown", !api.shutting_down.load(Ordering::Acquire)));
    }
    if let Some(name) = (!rest.is_empty()).then(|| rest.join("/")) {
        return match checks.iter().find(|(n, _)| *n == name) {
            Some((_, true)) => http_util::text(StatusCode::OK, "ok"),
            Some((_, false)) => {
                http_util::text(StatusCode::INTERNAL_SERVER_ERROR, format!("{name} failed"))
            }
            None => http_util::text(StatusCode::NOT_FOUND, format!("no such check {name}")),
        };
    }
    let healthy = checks.iter().all(|(_, ok)| *ok);
    let verbose = query.get("verbose").is_some();
    let body = if verbose || !healthy {
        let mut out = String::new();
        for (name, ok) in &checks {
            out.push_str(&format!(
                "[{}]{name} {}\n",
                if *ok { "+" } else { "-" },
                if *ok { "ok" } else { "failed: reason withheld" }
            ));
        }
        out.push_str(&format!(
            "{endpoint} check {}\n",
            if healthy { "passed" } else { "failed" }
        ));
        if endpoint == "readyz"
            && let Some(proxy) = &api.proxy
        {
            // Peers are listed, not checked: one broken peer must not make
            // every server of the control plane unready.
            out.push_str("peers (informational, not part of readiness):\n");
            for peer in proxy.report() {
                out.push_str(&format!("  peer {peer}\n"));
            }
        }
        out
    } else {
        "ok".to_owned()
    };
    http_util::text(
        if healthy {
            StatusCode::OK
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        },
        body,
    )
}

/// The `/version` document for an emulated minor version.
pub(crate) fn version_info(major: u32, minor: u32) -> Value {
    json!({
        "major": major.to_string(),
        "minor": minor.to_string(),
        "emulationMajor": major.to_string(),
        "emulationMinor": minor.to_string(),
        "gitVersion": format!("v{major}.{minor}.0"),
        "gitCommit": "skewless",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": format!("skewless {}", env!("CARGO_PKG_VERSION")),
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, match std::env::consts::ARCH { "x86_64" => "amd64", "aarch64" => "arm64", other => other }),
    })
}

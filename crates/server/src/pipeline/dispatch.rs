//! Stage 6, dispatch: the handler for what was asked. Non-resource paths
//! go to discovery, OpenAPI, health and metrics; resource requests are
//! checked against the served resource's verbs and the acceptable
//! response types, their bodies read (bounded), and handed to the REST,
//! watch or table handlers.

use http::{HeaderValue, Method, Response, StatusCode, header};
use serde_json::Value;
use skewless_apimachinery::negotiate::{Output, resource_output};
use skewless_apimachinery::partial;
use skewless_apimachinery::request_info::RequestInfo;
use skewless_apimachinery::status::ApiError;

use crate::authn::UserInfo;
use crate::handlers::{derived, discovery, rest, table, watch};
use crate::http_util::{self, Body, Query};
use crate::state::State;

pub(super) async fn dispatch(
    api: &State,
    user: &UserInfo,
    info: &RequestInfo,
    parts: &http::request::Parts,
    query_raw: Option<&str>,
    body: super::drain::RequestBody,
) -> Result<Response<Body>, ApiError> {
    let query = Query::parse(query_raw);
    if !info.is_resource_request {
        if parts.method != Method::GET && parts.method != Method::HEAD {
            if discovery::handle(api, &info.path, &query, &parts.headers).is_some() {
                return Err(ApiError::MethodNotSupported {
                    resource: Default::default(),
                    action: parts.method.as_str().to_owned(),
                });
            }
            return Err(ApiError::not_found_path());
        }
        // OpenAPI documents are built on first use only (they are large).
        if info.path.starts_with("/openapi/") {
            return derived::openapi(api)
                .handle(&info.path, &query, &parts.headers)
                .unwrap_or_else(|| Err(ApiError::not_found_path()));
        }
        return discovery::handle(api, &info.path, &query, &parts.headers)
            .unwrap_or_else(|| Err(ApiError::not_found_path()));
    }
    let Some(resource) = api
        .catalog()
        .resource(&info.api_group, &info.api_version, &info.resource)
    else {
        return Err(ApiError::not_found_path());
    };
    let resource: &skewless_apimachinery::catalog::ResourceInfo = &resource;
    let crd = api
        .catalog()
        .crd(&info.api_group, &info.api_version, &info.resource);
    let namespace_finalize = info.resource == "namespaces"
        && info.api_group.is_empty()
        && info.subresource == "finalize";
    let verbs = if info.subresource.is_empty() {
        &resource.verbs
    } else {
        match resource.subresource(&info.subresource) {
            Some(s) => &s.verbs,
            None if namespace_finalize => &resource.verbs,
            None => return Err(ApiError::not_found_path()),
        }
    };
    let verb_ok = match info.verb.as_str() {
        // The list verb covers watch only when listed; both must be served.
        v if namespace_finalize => v == "update",
        v => verbs.iter().any(|s| s == v),
    };
    if !verb_ok {
        return Err(ApiError::MethodNotSupported {
            resource: skewless_apimachinery::request_info::GroupResource::new(
                resource.group.clone(),
                resource.resource.clone(),
            ),
            action: info.verb.clone(),
        });
    }
    let accept = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let Some(output) = resource_output(&accept) else {
        return Err(ApiError::NotAcceptable {
            accepted: vec!["application/json".into(), "application/yaml".into()],
        });
    };
    let body = match info.verb.as_str() {
        "create" | "update" | "patch" | "delete" | "deletecollection" => {
            let bytes = http_util::read_body(body, api.max_body).await?;
            if let Some(slot) = parts.extensions.get::<crate::audit::RequestBody>() {
                let _ = slot.0.set(bytes.clone());
            }
            bytes
        }
        _ => bytes::Bytes::new(),
    };
    let req = rest::Request {
        api,
        user,
        info,
        resource,
        crd: crd.as_deref(),
        query: &query,
        headers: &parts.headers,
        body,
    };
    let mut resp = match info.verb.as_str() {
        "get" if info.subresource.is_empty() && output != Output::Object => {
            let obj = rest::get_value(&req).await?;
            let body = match &output {
                Output::Table(_) => {
                    let meta = serde_json::json!({"resourceVersion": crate::object::meta_str(&obj, "resourceVersion")});
                    table::table(
                        resource,
                        crd.as_deref(),
                        &[obj],
                        query.get("includeObject"),
                        meta,
                    )
                }
                Output::PartialObjectMetadata(version) => partial::object_metadata(&obj, version),
                Output::PartialObjectMetadataList(_) => {
                    return Err(ApiError::ConversionNotAcceptable(format!(
                        "you requested PartialObjectMetadataList, but the requested object is not a list ({})",
                        resource.kind
                    )));
                }
                Output::Object => obj,
            };
            http_util::json(StatusCode::OK, &body)
        }
        "get" => rest::get(&req).await?,
        // Table and metadata-only lists are encoded a chunk at a time too.
        "list" => match &output {
            Output::Table(_) => {
                let include = query.get("includeObject");
                let crd = crd.as_deref();
                rest::list_encoded(
                    &req,
                    "rows",
                    |chunk| {
                        let mut table = table::table(resource, crd, &chunk, include, Value::Null);
                        match table.get_mut("rows").map(Value::take) {
                            Some(Value::Array(rows)) => rows,
                            _ => Vec::new(),
                        }
                    },
                    |list| table::table(resource, crd, &[], include, list["metadata"].clone()),
                )
                .await?
            }
            Output::PartialObjectMetadataList(version) => {
                rest::list_encoded(
                    &req,
                    "items",
                    |chunk| {
                        chunk
                            .iter()
                            .map(|o| partial::object_metadata(o, version))
                            .collect()
                    },
                    |list| partial::list_metadata(&list, version),
                )
                .await?
            }
            Output::PartialObjectMetadata(_) => {
                return Err(ApiError::ConversionNotAcceptable(format!(
                    "you requested PartialObjectMetadata, but the requested object is a list ({}List)",
                    resource.kind
                )));
            }
            Output::Object => rest::list_json(&req).await?,
        },
        "watch" => watch::watch(&req, &output).await?,
        "create" => rest::create(&req).await?,
        "update" => rest::update(&req).await?,
        "patch" => rest::patch(&req).await?,
        "delete" => rest::delete(&req).await?,
        "deletecollection" => rest::delete_collection(&req).await?,
        other => {
            return Err(ApiError::MethodNotSupported {
                resource: Default::default(),
                action: other.to_owned(),
            });
        }
    };
    if let Some(warning) = crd.as_ref().and_then(|c| c.deprecation_warning.clone()) {
        crate::openapi::add_warnings(&mut resp, &[warning]);
    }
    resp.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache, private"));
    Ok(resp)
}

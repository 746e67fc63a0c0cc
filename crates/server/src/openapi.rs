//! `/openapi/v3` and `/openapi/v2`, rendered once from the catalog by
//! `skewless-openapi`, and server-side field validation (`fieldValidation`
//! = `Strict` | `Warn` | `Ignore`) against the same schemas.
//!
//! `/openapi/v2` has two representations, negotiated from `Accept`: JSON and
//! gnostic's protobuf (the only one kubectl up to 1.28 asks for), the latter
//! always labelled with its valid spelling (client-go cannot parse the `@`
//! one it may have asked for). Each is rendered on first request and carries
//! its own ETag, so a client holding one never gets a 304 for the other; each
//! is gzip-compressed (once) for clients that accept it, as upstream does.
//!
//! kubectl's default `--validate=strict` looks for the `fieldValidation`
//! parameter in the v3 document and then relies on the server to reject
//! unknown fields, so both halves live here together.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use serde_json::Value;
use skewless_apimachinery::catalog::{Catalog, ResourceInfo};
use skewless_apimachinery::discovery::APIGroupDiscovery;
use skewless_apimachinery::negotiate::{
    OPENAPI_V2_PROTOBUF, OPENAPI_V2_PROTOBUF_DEPRECATED, OpenApiV2Format, openapi_v2_format,
};
use skewless_apimachinery::status::ApiError;
use skewless_openapi::{GroupVersionKind, OpenApi, Release, ResourceRef, SubresourceRef, V3Spec};

use crate::http_util::{self, Body, Query};

/// The rendered documents of one catalog.
pub(crate) struct OpenApiDocs {
    openapi: OpenApi,
    /// Rendered on the first `/openapi/v3` request: field validation
    /// needs only the schemas.
    v3: OnceLock<(V3Spec, Vec<u8>)>,
    v2_json: OnceLock<Rendition>,
    v2_protobuf: OnceLock<Rendition>,
    /// Extension servers' `/openapi/v2` documents (aggregated APIServices).
    extension_v2: Vec<Arc<Value>>,
    /// Extension servers' v3 documents by path (`apis/<group>/<version>`):
    /// body and hash.
    extension_v3: BTreeMap<String, (Bytes, String)>,
    /// Type information for server-side apply, built per kind on first use.
    field_managers: crate::fieldmanagers::FieldManagers,
}

impl std::fmt::Debug for OpenApiDocs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenApiDocs").finish_non_exhaustive()
    }
}

fn resource_ref(r: &ResourceInfo) -> ResourceRef {
    let verbs: Vec<&str> = r.verbs.iter().map(String::as_str).collect();
    let mut out = ResourceRef::new(
        &r.group,
        &r.version,
        &r.kind,
        &r.resource,
        r.namespaced,
        &verbs,
    );
    for s in &r.subresources {
        let verbs: Vec<&str> = s.verbs.iter().map(String::as_str).collect();
        out = out.with_subresource(SubresourceRef::new(
            &s.name, &s.group, &s.version, &s.kind, &verbs,
        ));
    }
    out
}

/// Resources only peers serve, from merged discovery: published here too so
/// that kubectl's validation and `explain` work against any server.
pub(crate) fn peer_only_resources(
    catalog: &Catalog,
    merged: &[APIGroupDiscovery],
) -> Vec<ResourceRef> {
    let mut out = Vec::new();
    for g in merged {
        for v in &g.versions {
            for r in &v.resources {
                if catalog
                    .resource(g.name(), &v.version, &r.resource)
                    .is_some()
                {
                    continue;
                }
                let Some(kind) = r.response_kind.as_ref().map(|k| k.kind.clone()) else {
                    continue;
                };
                let verbs: Vec<&str> = r.verbs.iter().map(String::as_str).collect();
                let mut rr = ResourceRef::new(
                    g.name(),
                    &v.version,
                    &kind,
                    &r.resource,
                    r.scope.is_namespaced(),
                    &verbs,
                );
                for sub in &r.subresources {
                    let (sg, sv, sk) = match &sub.response_kind {
                        Some(k) => (k.group.as_str(), k.version.as_str(), k.kind.as_str()),
                        None => (g.name(), v.version.as_str(), kind.as_str()),
                    };
                    let verbs: Vec<&str> = sub.verbs.iter().map(String::as_str).collect();
                    rr = rr.with_subresource(SubresourceRef::new(
                        &sub.subresource,
                        sg,
                        sv,
                        sk,
                        &verbs,
                    ));
                }
                out.push(rr);
            }
        }
    }
    out
}

/// The documents, rebuilt when what the control plane serves changes.
pub(crate) type OpenApiCache = crate::cache::GenerationCache<OpenApiDocs>;

impl OpenApiDocs {
    /// Documents for the served catalog (built-ins and custom resources),
    /// `extra` resources only peers serve, the custom resources' schemas,
    /// and the documents of extension servers behind `routes`.
    pub(crate) fn build(
        catalog: &Catalog,
        extra: Vec<ResourceRef>,
        crds: &[std::sync::Arc<crate::registry::ServedCrd>],
        routes: &BTreeMap<(String, String), crate::aggregator::Route>,
    ) -> Self {
        let mut resources: Vec<ResourceRef> = catalog
            .group_versions()
            .flat_map(|gv| gv.resources.iter().map(resource_ref))
            .collect();
        resources.extend(extra);
        let release = Release::parse(&catalog.emulated_version().to_string())
            .unwrap_or_else(|_| Release::latest());
        let mut openapi = OpenApi::new(release, &resources);
        for crd in crds {
            let schema = skewless_openapi::CustomResourceSchema {
                group: crd.info.group.clone(),
                version: crd.info.version.clone(),
                kind: crd.info.kind.clone(),
                list_kind: format!("{}List", crd.info.kind),
                schema: crd.raw_schema.clone(),
            };
            openapi = match openapi.clone().with_custom_resource(&schema) {
                Ok(with) => with,
                Err(e) => {
                    tracing::warn!(crd = %crd.crd_name, error = %e, "not publishing a custom resource schema");
                    openapi
                }
            };
        }

        let extension_v2 = routes
            .values()
            .filter_map(|r| r.openapi.v2.as_ref().map(|(doc, _)| Arc::clone(doc)))
            .collect();
        let extension_v3 = routes
            .iter()
            .filter_map(|((group, version), r)| {
                let (body, _) = r.openapi.v3.as_ref()?;
                let hash = skewless_openapi::content_hash(body);
                Some((format!("apis/{group}/{version}"), (body.clone(), hash)))
            })
            .collect();
        Self {
            openapi,
            v3: OnceLock::new(),
            v2_json: OnceLock::new(),
            v2_protobuf: OnceLock::new(),
            extension_v2,
            extension_v3,
            field_managers: Default::default(),
        }
    }

    /// The field manager of `r` for writes in `scope` (`crd`: the served
    /// custom resource behind `r`, if it is one).
    pub(crate) fn field_manager(
        &self,
        r: &ResourceInfo,
        crd: Option<&crate::registry::ServedCrd>,
        scope: crate::fieldmanagers::Scope,
    ) -> std::sync::Arc<skewless_fieldmanager::FieldManager> {
        self.field_managers
            .get(&self.openapi, r, crd.map(|c| c.raw_schema.as_ref()), scope)
    }

    fn v3(&self) -> &(V3Spec, Vec<u8>) {
        self.v3.get_or_init(|| {
            let v3 = self.openapi.v3();
            let mut index = v3.index();
            if let Some(paths) = index.get_mut("paths").and_then(Value::as_object_mut) {
                for (path, (_, hash)) in &self.extension_v3 {
                    paths.entry(path.clone()).or_insert_with(|| {
                        serde_json::json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}")})
                    });
                }
            }
            (v3, serde_json::to_vec(&index).unwrap_or_default())
        })
    }

    /// This server's `/openapi/v2` document with every extension server's
    /// paths and definitions added (this server's win on a clash).
    fn v2_document(&self) -> Value {
        let mut doc = self.openapi.v2();
        for ext in &self.extension_v2 {
            for key in ["paths", "definitions"] {
                let Some(from) = ext.get(key).and_then(Value::as_object) else {
                    continue;
                };
                if !doc.get(key).is_some_and(Value::is_object) && doc.is_object() {
                    doc[key] = Value::Object(serde_json::Map::new());
                }
                if let Some(into) = doc.get_mut(key).and_then(Value::as_object_mut) {
                    for (k, v) in from {
                        into.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
        }
        doc
    }

    /// Answers `/openapi/...` paths; `None` for other paths.
    pub(crate) fn handle(
        &self,
        path: &str,
        query: &Query,
        headers: &HeaderMap,
    ) -> Option<Result<Response<Body>, ApiError>> {
        let rest = path.trim_end_matches('/').strip_prefix("/openapi/")?;
        Some(match rest {
            "v3" => Ok(bytes_response(
                self.v3().1.clone(),
                "application/json",
                None,
            )),
            "v2" => self.v2(headers),
            other => match other.strip_prefix("v3/").and_then(|p| self.v3_document(p)) {
                None => Err(ApiError::not_found_path()),
                Some((body, hash, url)) => match query.get("hash") {
                    // A stale hash is redirected to the current document, as upstream.
                    Some(h) if h != hash => {
                        let mut r = Response::new(http_util::empty());
                        *r.status_mut() = StatusCode::MOVED_PERMANENTLY;
                        if let Ok(v) = HeaderValue::from_str(&url) {
                            r.headers_mut().insert(header::LOCATION, v);
                        }
                        Ok(r)
                    }
                    Some(_) => Ok(bytes_response(body, "application/json", Some(&hash))),
                    None => Ok(bytes_response(body, "application/json", None)),
                },
            },
        })
    }

    /// The v3 document at `path` (this server's, else an extension
    /// server's): body, hash, and its URL with the hash.
    fn v3_document(&self, path: &str) -> Option<(Vec<u8>, String, String)> {
        let path = path.trim_matches('/');
        if let Some(doc) = self.v3().0.document(path) {
            return Some((
                doc.body().to_vec(),
                doc.hash().to_owned(),
                doc.server_relative_url(),
            ));
        }
        let (body, hash) = self.extension_v3.get(path)?;
        Some((
            body.to_vec(),
            hash.clone(),
            format!("/openapi/v3/{path}?hash={hash}"),
        ))
    }

    /// `/openapi/v2` in the representation `Accept` asks for.
    fn v2(&self, headers: &HeaderMap) -> Result<Response<Body>, ApiError> {
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let (rendition, content_type) = match openapi_v2_format(accept) {
            Some(OpenApiV2Format::Json) => (
                self.v2_json.get_or_init(|| {
                    Rendition::new(serde_json::to_vec(&self.v2_document()).unwrap_or_default())
                }),
                "application/json",
            ),
            Some(OpenApiV2Format::Protobuf) => (
                self.v2_protobuf.get_or_init(|| {
                    Rendition::new(skewless_openapi::v2_protobuf(&self.v2_document()))
                }),
                OPENAPI_V2_PROTOBUF,
            ),
            None => {
                return Err(ApiError::NotAcceptable {
                    accepted: vec![
                        "application/json".into(),
                        OPENAPI_V2_PROTOBUF.into(),
                        OPENAPI_V2_PROTOBUF_DEPRECATED.into(),
                    ],
                });
            }
        };
        Ok(rendition.response(headers, content_type))
    }

    /// Field paths of `obj` that the schema of its kind does not know.
    pub(crate) fn unknown_fields(&self, r: &ResourceInfo, obj: &Value) -> Vec<String> {
        let gvk = GroupVersionKind::new(&r.group, &r.version, &r.kind);
        self.openapi.unknown_fields(&gvk, obj).unwrap_or_default()
    }

    /// The first type mismatch of `obj` against the built-in schema of its
    /// kind, in the words of Go's decoder.
    pub(crate) fn type_error(&self, r: &ResourceInfo, obj: &Value) -> Option<String> {
        let gvk = GroupVersionKind::new(&r.group, &r.version, &r.kind);
        self.openapi.type_error(&gvk, obj)
    }
}

/// One representation of a document, rendered once, with its ETag.
struct Rendition {
    bytes: Bytes,
    /// Upstream's: the quoted uppercase hex SHA-512 of the bytes.
    etag: String,
    /// The bytes gzip-compressed, made on the first request that accepts
    /// gzip.
    gzipped: OnceLock<Option<Bytes>>,
}

/// Smaller bodies go out uncompressed, as upstream's gzip wrapper of the
/// OpenAPI handler decides.
const GZIP_MIN_SIZE: usize = 1400;

impl Rendition {
    fn new(bytes: Vec<u8>) -> Self {
        let etag = format!("\"{}\"", skewless_openapi::content_hash(&bytes));
        Self {
            bytes: bytes.into(),
            etag,
            gzipped: OnceLock::new(),
        }
    }

    /// The document with its `ETag` (gzip-compressed when the client accepts
    /// it), or a 304 when `If-None-Match` names it.
    fn response(&self, headers: &HeaderMap, content_type: &'static str) -> Response<Body> {
        let mut r = if http_util::etag_matches(headers, &self.etag) {
            let mut r = Response::new(http_util::empty());
            *r.status_mut() = StatusCode::NOT_MODIFIED;
            r
        } else {
            let gzipped = (self.bytes.len() >= GZIP_MIN_SIZE && http_util::accepts_gzip(headers))
                .then(|| self.gzipped.get_or_init(|| gzip(&self.bytes)).clone())
                .flatten();
            let mut r = match gzipped {
                Some(body) => {
                    let mut r = Response::new(http_util::full(body));
                    r.headers_mut()
                        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                    r
                }
                None => Response::new(http_util::full(self.bytes.clone())),
            };
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            r
        };
        let h = r.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&self.etag) {
            h.insert(header::ETAG, v);
        }
        h.insert(header::VARY, HeaderValue::from_static("Accept"));
        h.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        r
    }
}

/// `bytes` gzip-compressed; `None` if the encoder fails (the document then
/// goes out uncompressed).
fn gzip(bytes: &[u8]) -> Option<Bytes> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok().map(Bytes::from)
}

fn bytes_response(
    body: Vec<u8>,
    content_type: &'static str,
    immutable_hash: Option<&str>,
) -> Response<Body> {
    let mut r = Response::new(http_util::full(body));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(hash) = immutable_hash {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, immutable"),
        );
        if let Ok(v) = HeaderValue::from_str(&format!("\"{hash}\"")) {
            h.insert(header::ETAG, v);
        }
    }
    r
}

/// Removes the field at an upstream-style path
/// (`spec.template.spec.containers[1].imagePullPolicyy`).
pub(crate) fn remove_path(obj: &mut Value, path: &str) {
    let mut tokens: Vec<Token> = Vec::new();
    for segment in path.split('.') {
        let (name, mut rest) = match segment.find('[') {
            Some(i) => (&segment[..i], &segment[i..]),
            None => (segment, ""),
        };
        if !name.is_empty() {
            tokens.push(Token::Key(name));
        }
        while let Some(close) = rest.find(']') {
            if let Ok(n) = rest[1..close].parse::<usize>() {
                tokens.push(Token::Index(n));
            }
            rest = &rest[close + 1..];
        }
    }
    let Some((last, parents)) = tokens.split_last() else {
        return;
    };
    let mut cur = obj;
    for t in parents {
        let next = match (t, cur) {
            (Token::Key(k), Value::Object(m)) => m.get_mut(*k),
            (Token::Index(i), Value::Array(a)) => a.get_mut(*i),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let (Token::Key(k), Value::Object(m)) = (last, cur) {
        m.remove(*k);
    }
}

enum Token<'a> {
    Key(&'a str),
    Index(usize),
}

/// Type-checks an incoming built-in object as upstream's typed decoding
/// does, whatever `fieldValidation` says (a mismatch is a 400), then applies
/// `fieldValidation`: `Strict` rejects unknown fields with 400; `Warn` (the
/// default) and `Ignore` drop them, `Warn` returning one warning per field.
pub(crate) fn validate_fields(
    docs: &OpenApiDocs,
    r: &ResourceInfo,
    query: &Query,
    obj: &mut Value,
) -> Result<Vec<String>, ApiError> {
    let mode = query.get("fieldValidation").unwrap_or("Warn");
    if !matches!(mode, "Strict" | "Warn" | "Ignore") {
        return Err(ApiError::BadRequest(format!(
            "fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got {mode:?}"
        )));
    }
    if let Some(error) = docs.type_error(r, obj) {
        return Err(ApiError::BadRequest(format!(
            "{kind} in version {version:?} cannot be handled as a {kind}: {error}",
            kind = r.kind,
            version = r.version,
        )));
    }
    let unknown = docs.unknown_fields(r, obj);
    if unknown.is_empty() {
        return Ok(Vec::new());
    }
    if mode == "Strict" {
        let list: Vec<String> = unknown
            .iter()
            .map(|f| format!("unknown field {f:?}"))
            .collect();
        return Err(ApiError::BadRequest(format!(
            "{kind} in version {version:?} cannot be handled as a {kind}: strict decoding error: {}",
            list.join(", "),
            kind = r.kind,
            version = r.version,
        )));
    }
    for f in &unknown {
        remove_path(obj, f);
    }
    Ok(if mode == "Warn" {
        unknown
            .iter()
            .map(|f| format!("unknown field {f:?}"))
            .collect()
    } else {
        Vec::new()
    })
}

/// Adds `Warning: 299 - "<text>"` headers.
pub(crate) fn add_warnings(resp: &mut Response<Body>, warnings: &[String]) {
    for w in warnings {
        let escaped = w.replace('\\', "\\\\").replace('"', "\\\"");
        if let Ok(v) = HeaderValue::from_str(&format!("299 - \"{escaped}\"")) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn removes_upstream_style_paths() {
        let mut v =
            json!({"spec": {"containers": [{"name": "a"}, {"name": "b", "bogus": 1}], "x": 2}});
        remove_path(&mut v, "spec.containers[1].bogus");
        remove_path(&mut v, "spec.x");
        remove_path(&mut v, "spec.nothere.deeper");
        assert_eq!(
            v,
            json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}})
        );
    }
}

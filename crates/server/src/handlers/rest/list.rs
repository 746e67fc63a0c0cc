//! LIST: pages over storage with continue tokens, label and field
//! selectors, and the resource version a list is served at.

use crate::http_util::{self, Body};
use crate::object;
use crate::storage;
use base64::Engine as _;
use http::{HeaderValue, Response, header};
use serde_json::Value;
use skewless_apimachinery::catalog::resolve_field_selector;
use skewless_apimachinery::list_options::{parse_resource_version, validate_list_options};
use skewless_apimachinery::selector::{FieldSelector, LabelSelector};
use skewless_apimachinery::status::ApiError;
use skewless_store::{KeyValue, ListOptions, Revision, StoreError};

use crate::watch_cache::ResourceCache;
use std::sync::Arc;

use super::codec::decode_all;
use super::request::{Request, store_error};

/// The continue token: where the previous page stopped, at which revision.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct ContinueToken {
    rv: Revision,
    start: String,
}

pub(super) fn encode_continue(rv: Revision, start: &str) -> String {
    let raw = serde_json::to_vec(&ContinueToken {
        rv,
        start: start.to_owned(),
    })
    .unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// Decodes a continue token of a list under `prefix`, refusing (400,
/// `invalid continue token: continue key is not valid: ...`, upstream's
/// words) one that is not base64url JSON, has revision 0 or no start key,
/// or starts outside the listed prefix or at a path that is not clean
/// (`..`, `.`, `//`). A negative revision means "the latest", as upstream's
/// tokens handed out with a 410 for a compacted revision.
pub(super) fn decode_continue(token: &str, prefix: &str) -> Result<ContinueToken, ApiError> {
    let invalid = |why: &str| {
        ApiError::BadRequest(format!(
            "invalid continue token: continue key is not valid{why}"
        ))
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|e| {
            invalid(&match e {
                base64::DecodeError::InvalidByte(at, _)
                | base64::DecodeError::InvalidLastSymbol(at, _) => {
                    format!(": illegal base64 data at input byte {at}")
                }
                other => format!(": {other}"),
            })
        })?;
    let t: ContinueToken = serde_json::from_slice(&raw).map_err(|e| invalid(&format!(": {e}")))?;
    if t.rv == 0 {
        return Err(invalid(
            ": incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        ));
    }
    if t.start.is_empty() {
        return Err(invalid(
            ": encoded start key empty (version meta.k8s.io/v1)",
        ));
    }
    let inside = t.start.strip_prefix(prefix).is_some_and(|rest| {
        !rest.is_empty() && rest.split('/').all(|s| !matches!(s, "" | "." | ".."))
    });
    if !inside {
        return Err(invalid(&format!(": {}", t.start)));
    }
    Ok(t)
}

/// Parsed list options shared by list, watch and deletecollection.
#[derive(Debug)]
pub(crate) struct Selection {
    pub(crate) labels: LabelSelector,
    pub(crate) fields: FieldSelector,
}

impl Selection {
    /// The selectors of a list, watch or deletecollection; field labels the
    /// resource does not support are refused (400) as upstream.
    pub(crate) fn from_request(req: &Request<'_>) -> Result<Self, ApiError> {
        let query = req.query;
        let fields = FieldSelector::parse(query.get("fieldSelector").unwrap_or(""))?;
        let selectable = req.crd.map_or(&[][..], |c| c.selectable_fields.as_slice());
        Ok(Self {
            labels: LabelSelector::parse(query.get("labelSelector").unwrap_or(""))?,
            fields: resolve_field_selector(
                fields,
                &req.resource.group,
                &req.resource.resource,
                selectable,
            )?,
        })
    }

    /// Whether every object matches (no selector).
    pub(crate) fn is_everything(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }

    pub(crate) fn matches(&self, obj: &Value) -> bool {
        self.labels.matches(&object::labels(obj)) && self.fields.matches(obj)
    }
}

/// One page of matching objects.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) items: Vec<Value>,
    pub(crate) revision: Revision,
}

pub(crate) async fn list_page(req: &Request<'_>, sel: &Selection) -> Result<Page, ApiError> {
    let mut items = Vec::new();
    let (revision, _) = scan(req, sel, |chunk| items.extend(chunk)).await?;
    Ok(Page { items, revision })
}

/// Decoded objects a list holds at once while it encodes its response
/// (also the read size of a list without `limit`).
const CHUNK: usize = 500;

/// Reads a list's matching objects at most [`CHUNK`] at a time, handing
/// each chunk to `on_chunk`; returns the list's revision and continue
/// token.
async fn scan(
    req: &Request<'_>,
    sel: &Selection,
    mut on_chunk: impl FnMut(Vec<Value>),
) -> Result<(Revision, Option<String>), ApiError> {
    let limit = req
        .query
        .number("limit")?
        .filter(|l| *l > 0)
        .map(|l| l as usize);
    let prefix = storage::prefix(req.resource, req.namespace());
    let (read_at, mut start) = match req.query.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            let t = decode_continue(token, &prefix)?;
            let rv = req.query.get("resourceVersion").unwrap_or("");
            if !rv.is_empty() && rv != "0" {
                return Err(ApiError::BadRequest(
                    "specifying resource version is not allowed when using continue".to_owned(),
                ));
            }
            // A negative revision: go on at the latest one.
            let at = if t.rv > 0 {
                ReadAt::Exact(t.rv)
            } else {
                ReadAt::Latest
            };
            (at, Some(t.start))
        }
        None => (list_revision(req).await?, None),
    };
    let continuing = start.is_some();
    let mut source = Source::choose(req, read_at).await;
    let mut matched = 0;
    loop {
        let want = limit.map_or(CHUNK, |l| (l - matched).clamp(1, CHUNK));
        let opts = ListOptions {
            revision: source.revision(),
            limit: want,
            start_after: start.clone(),
        };
        let page = source
            .list(req, &prefix, opts)
            .await
            .map_err(|e| match (e, &start) {
                // Upstream hands out a token that goes on after the same
                // key at the latest revision (an inconsistent list).
                (StoreError::Compacted { .. }, Some(key)) if continuing => {
                    ApiError::ContinueExpired(encode_continue(-1, key))
                }
                (e, _) => store_error(e, &req.group_resource(), ""),
            })?;
        let revision = page.revision;
        // The rest of this list is at the same revision, from wherever
        // holds it.
        source = source.at(revision);
        let last_key = page.items.last().map(|kv| kv.key.clone());
        // One conversion review per page when a webhook converts.
        let chunk: Vec<Value> = decode_all(req, &page.items)
            .await?
            .into_iter()
            .filter(|obj| sel.matches(obj))
            .collect();
        drop(page.items);
        matched += chunk.len();
        on_chunk(chunk);
        let full = limit.is_some_and(|l| matched >= l);
        if !page.more {
            return Ok((revision, None));
        }
        if full {
            return Ok((revision, last_key.map(|k| encode_continue(revision, &k))));
        }
        start = last_key;
    }
}

/// Which state a list reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReadAt {
    /// The current state (`resourceVersion` unset): from the cache once it
    /// has caught up with storage.
    Latest,
    /// Any state at least this new (`0`: whatever the cache holds).
    NotOlderThan(Revision),
    /// Exactly this revision (`resourceVersionMatch=Exact`, a continue
    /// token): from the cache only while its state is that snapshot.
    Exact(Revision),
}

/// Where the pages of one list come from.
enum Source {
    Cache(Arc<ResourceCache>, Option<Revision>),
    Storage(Revision),
}

/// One page, from the cache (shared) or storage.
struct SourcePage {
    items: Vec<Arc<KeyValue>>,
    revision: Revision,
    more: bool,
}

impl Source {
    async fn choose(req: &Request<'_>, at: ReadAt) -> Source {
        let storage = match at {
            ReadAt::Exact(rev) => rev,
            ReadAt::Latest | ReadAt::NotOlderThan(_) => 0,
        };
        let Some(cache) = req.watch_cache().await else {
            return Source::Storage(storage);
        };
        let usable = match at {
            ReadAt::Latest => cache.wait_fresh(req.api.watch_cache.store()).await,
            ReadAt::NotOlderThan(rev) => cache.wait_for(rev).await,
            ReadAt::Exact(_) => true,
        };
        match (usable, at) {
            (true, ReadAt::Exact(rev)) => Source::Cache(cache, Some(rev)),
            (true, _) => Source::Cache(cache, None),
            (false, _) => Source::Storage(storage),
        }
    }

    fn revision(&self) -> Revision {
        match self {
            Source::Cache(_, rev) => rev.unwrap_or(0),
            Source::Storage(rev) => *rev,
        }
    }

    fn at(self, revision: Revision) -> Source {
        match self {
            Source::Cache(cache, _) => Source::Cache(cache, Some(revision)),
            Source::Storage(_) => Source::Storage(revision),
        }
    }

    /// A page: from the cache while it holds the snapshot asked for, else
    /// from storage.
    async fn list(
        &self,
        req: &Request<'_>,
        prefix: &str,
        opts: ListOptions,
    ) -> Result<SourcePage, StoreError> {
        if let Source::Cache(cache, at) = self
            && let Some(page) = cache.list(prefix, *at, opts.start_after.as_deref(), opts.limit)
        {
            return Ok(SourcePage {
                items: page.items,
                revision: page.revision,
                more: page.more,
            });
        }
        let page = req.api.store.list(prefix, opts).await?;
        Ok(SourcePage {
            items: page.items.into_iter().map(Arc::new).collect(),
            revision: page.revision,
            more: page.more,
        })
    }
}

/// Which state a list reads, from `resourceVersion` and
/// `resourceVersionMatch` (validated as upstream's `ValidateListOptions`).
pub(super) async fn list_revision(req: &Request<'_>) -> Result<ReadAt, ApiError> {
    let rv = req.query.get("resourceVersion").unwrap_or("");
    let matching = req.query.get("resourceVersionMatch").unwrap_or("");
    validate_list_options(rv, matching, req.query.get("continue").unwrap_or(""))?;
    if rv.is_empty() {
        return Ok(ReadAt::Latest);
    }
    let n = parse_resource_version(rv)?;
    if n == 0 {
        return Ok(ReadAt::NotOlderThan(0));
    }
    let n = Revision::try_from(n).map_err(|_| {
        ApiError::BadRequest(format!("invalid resource version: {rv} is out of range"))
    })?;
    if matching == "Exact" {
        return Ok(ReadAt::Exact(n));
    }
    let current = req
        .api
        .store
        .current_revision()
        .await
        .map_err(|e| store_error(e, &req.group_resource(), ""))?;
    if n > current {
        return Err(ApiError::Timeout {
            message: format!("Too large resource version: {n}, current: {current}"),
            retry_after_seconds: Some(1),
        });
    }
    Ok(ReadAt::NotOlderThan(n))
}

/// A list as its JSON response, encoded chunk by chunk: never more than
/// [`CHUNK`] decoded objects at once, whatever the list's size.
pub(crate) async fn list_json(req: &Request<'_>) -> Result<Response<Body>, ApiError> {
    list_encoded(req, "items", |chunk| chunk, |list| list).await
}

/// A list response in any shape, encoded chunk by chunk as [`list_json`]:
/// `elements` turns each chunk of decoded objects into the elements of the
/// response's array named `array` (a list's `items`, a Table's `rows`),
/// encoded at once; `envelope` turns the list without items (kind, version
/// and list metadata) into the document around an empty `array`.
pub(crate) async fn list_encoded(
    req: &Request<'_>,
    array: &str,
    mut elements: impl FnMut(Vec<Value>) -> Vec<Value>,
    envelope: impl FnOnce(Value) -> Value,
) -> Result<Response<Body>, ApiError> {
    let sel = Selection::from_request(req)?;
    let mut items = Vec::new();
    let mut first = true;
    let mut failed = None;
    let (revision, continue_token) = scan(req, &sel, |chunk| {
        for element in elements(chunk) {
            if !first {
                items.push(b',');
            }
            first = false;
            if let Err(e) = serde_json::to_writer(&mut items, &element) {
                failed = Some(e);
            }
        }
    })
    .await?;
    if let Some(e) = failed {
        return Err(ApiError::InternalError(format!("encoding the list: {e}")));
    }
    // The envelope with an empty array, the elements spliced in.
    let envelope = envelope(object::list(
        &req.api_version(),
        &req.resource.kind,
        revision,
        continue_token,
        None,
        Vec::new(),
    ));
    let head = http_util::json_bytes(&envelope);
    let empty = format!("\"{array}\":[]");
    let at = head
        .windows(empty.len())
        .position(|w| w == empty.as_bytes())
        .ok_or_else(|| ApiError::InternalError(format!("list envelope without {array}")))?
        + empty.len()
        - 1;
    let mut body = Vec::with_capacity(head.len() + items.len());
    body.extend_from_slice(&head[..at]);
    body.extend_from_slice(&items);
    body.extend_from_slice(&head[at..]);
    let mut resp = Response::new(http_util::full(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

// ---------------------------------------------------------------------------
// create

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "/configmaps/default/";

    fn token(json: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    fn refused(token: &str) -> String {
        match decode_continue(token, PREFIX) {
            Err(e) => {
                assert_eq!(e.code(), 400, "{e}");
                e.to_string()
            }
            Ok(t) => panic!("accepted: rv {} start {}", t.rv, t.start),
        }
    }

    #[test]
    fn own_tokens_round_trip() {
        let t = decode_continue(&encode_continue(7, "/configmaps/default/a"), PREFIX);
        let t = t.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((t.rv, t.start.as_str()), (7, "/configmaps/default/a"));
        // A negative revision is "the latest" (the token of a 410).
        let t = decode_continue(&encode_continue(-1, "/configmaps/default/a"), PREFIX);
        assert_eq!(t.map(|t| t.rv).ok(), Some(-1));
    }

    #[test]
    fn forged_tokens_are_refused_with_upstreams_words() {
        let head = "invalid continue token: continue key is not valid";
        assert_eq!(
            refused("!!!"),
            format!("{head}: illegal base64 data at input byte 0")
        );
        assert!(refused(&token("not json")).starts_with(&format!("{head}: ")));
        assert_eq!(
            refused(&token(r#"{"rv":0,"start":"/configmaps/default/a"}"#)),
            format!("{head}: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
        );
        assert_eq!(
            refused(&token(r#"{"rv":5,"start":""}"#)),
            format!("{head}: encoded start key empty (version meta.k8s.io/v1)")
        );
        for start in [
            "x",
            "/secrets/default/a",
            "/configmaps/other/a",
            "/configmaps/default/",
            "/configmaps/default/../../secrets/kube-system/a",
            "/configmaps/default//a",
            "/configmaps/default/./a",
        ] {
            let json = format!(r#"{{"rv":-5,"start":"{start}"}}"#);
            assert_eq!(refused(&token(&json)), format!("{head}: {start}"));
        }
    }
}

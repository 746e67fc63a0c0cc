//! LIST: pages over storage with continue tokens, label and field
//! selectors, and the resource version a list is served at.

use crate::http_util::Query;
use crate::object;
use crate::storage;
use base64::Engine as _;
use serde_json::Value;
use skewless_apimachinery::selector::{FieldSelector, LabelSelector};
use skewless_apimachinery::status::{ApiError, CONTINUE_EXPIRED_MSG};
use skewless_store::{ListOptions, Revision, StoreError};

use super::codec::decode_for;
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

/// Decodes a continue token of a list under `prefix`: a token that does not
/// decode, names no revision, or starts outside the listed prefix is
/// refused (400) with upstream's message.
pub(super) fn decode_continue(token: &str, prefix: &str) -> Result<ContinueToken, ApiError> {
    let invalid = || ApiError::BadRequest("continue key is not valid".to_owned());
    let t: ContinueToken = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|raw| serde_json::from_slice(&raw).ok())
        .ok_or_else(invalid)?;
    if t.rv <= 0 || !t.start.starts_with(prefix) || t.start.contains("/../") {
        return Err(invalid());
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
    pub(crate) fn from_query(query: &Query) -> Result<Self, ApiError> {
        Ok(Self {
            labels: LabelSelector::parse(query.get("labelSelector").unwrap_or(""))?,
            fields: FieldSelector::parse(query.get("fieldSelector").unwrap_or(""))?,
        })
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
    pub(crate) continue_token: Option<String>,
}

pub(crate) async fn list_page(req: &Request<'_>, sel: &Selection) -> Result<Page, ApiError> {
    let limit = req
        .query
        .number("limit")?
        .filter(|l| *l > 0)
        .map(|l| l as usize);
    let prefix = storage::prefix(req.resource, req.namespace());
    let (mut revision, mut start) = match req.query.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            let t = decode_continue(token, &prefix)?;
            (t.rv, Some(t.start))
        }
        None => (list_revision(req).await?, None),
    };
    let continuing = start.is_some();
    let mut items = Vec::new();
    loop {
        let want = limit.map(|l| l - items.len());
        let page = req
            .api
            .store
            .list(
                &prefix,
                ListOptions {
                    revision,
                    limit: want.map(|w| w.max(1)).unwrap_or(0),
                    start_after: start.clone(),
                },
            )
            .await
            .map_err(|e| match e {
                StoreError::Compacted { .. } if continuing => {
                    ApiError::Expired(CONTINUE_EXPIRED_MSG.to_owned())
                }
                e => store_error(e, &req.group_resource(), ""),
            })?;
        revision = page.revision;
        let last_key = page.items.last().map(|kv| kv.key.clone());
        for kv in &page.items {
            let obj = decode_for(req, kv)?;
            if sel.matches(&obj) {
                items.push(obj);
            }
        }
        let full = limit.is_some_and(|l| items.len() >= l);
        if !page.more {
            return Ok(Page {
                items,
                revision,
                continue_token: None,
            });
        }
        if full {
            return Ok(Page {
                items,
                revision,
                continue_token: last_key.map(|k| encode_continue(revision, &k)),
            });
        }
        start = last_key;
    }
}

/// The revision a list is served at, from `resourceVersion` and
/// `resourceVersionMatch`.
pub(super) async fn list_revision(req: &Request<'_>) -> Result<Revision, ApiError> {
    let rv = req.query.get("resourceVersion").unwrap_or("");
    let matching = req.query.get("resourceVersionMatch").unwrap_or("");
    if rv.is_empty() || rv == "0" {
        if matching == "Exact" {
            return Err(ApiError::BadRequest(
                "resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"0\"".into(),
            ));
        }
        return Ok(0);
    }
    let n: Revision = rv
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("invalid resource version {rv:?}")))?;
    match matching {
        "Exact" => Ok(n),
        "" | "NotOlderThan" => {
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
            Ok(0)
        }
        other => Err(ApiError::BadRequest(format!(
            "invalid resourceVersionMatch {other:?}: supported values: \"Exact\", \"NotOlderThan\""
        ))),
    }
}

pub(crate) async fn list(req: &Request<'_>) -> Result<Value, ApiError> {
    let sel = Selection::from_query(req.query)?;
    let page = list_page(req, &sel).await?;
    Ok(object::list(
        &req.api_version(),
        &req.resource.kind,
        page.revision,
        page.continue_token,
        None,
        page.items,
    ))
}

// ---------------------------------------------------------------------------
// create

//! Watch: a stream of `{"type": ..., "object": ...}` lines, one JSON
//! document per event, flushed as each happens.
//!
//! `resourceVersion` unset or `0` first sends the current objects as ADDED;
//! a specific version resumes after it, or ends at once with an ERROR event
//! carrying `410 Expired` when that history is compacted. Label and field
//! selectors turn updates that enter or leave the selection into ADDED and
//! DELETED, as upstream. Bookmarks (with `allowWatchBookmarks`) carry the
//! newest revision seen. The stream ends at `timeoutSeconds` (unset or 0:
//! a random time in `[min, 2·min)` of `--min-request-timeout`, as
//! upstream; negative: at once, as upstream's timer), when the client goes
//! away, or when the server shuts down; it never hangs the server's
//! shutdown.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use serde_json::{Value, json};
use skewless_apimachinery::catalog::ResourceInfo;
use skewless_apimachinery::crd::ConversionWebhook;
use skewless_apimachinery::negotiate::Output;
use skewless_apimachinery::partial;
use skewless_apimachinery::status::ApiError;
use skewless_store::{Event, Revision, StoreError};
use tokio::sync::mpsc;

use crate::handlers::rest::{self, Request, Selection};
use crate::http_util::Body;
use crate::object;
use crate::storage;
use crate::watch_cache::EventStream;

/// How often a watch with `allowWatchBookmarks` gets a bookmark.
pub(crate) const BOOKMARK_INTERVAL: Duration = Duration::from_secs(5);

/// How long a watch stays open, as upstream's watch handler decides: the
/// client's `timeoutSeconds` when set and non-zero (a negative one ends the
/// watch at once, as Go's timer fires at once); otherwise the server's
/// `min_request_timeout` stretched by `spread` (in `[0, 1)`) so that
/// watches started together do not all end together. `None`: no bound
/// (`--min-request-timeout=0` and no client timeout).
fn watch_timeout(
    timeout_seconds: Option<i64>,
    min_request_timeout: Duration,
    spread: f64,
) -> Option<Duration> {
    match timeout_seconds {
        Some(t) if t < 0 => Some(Duration::ZERO),
        Some(t) if t > 0 => Some(Duration::from_secs(t.unsigned_abs())),
        _ if min_request_timeout.is_zero() => None,
        _ => Some(min_request_timeout.mul_f64(1.0 + spread.clamp(0.0, 1.0))),
    }
}

/// A number in `[0, 1)` that differs between calls (std's per-map random
/// hash keys; a watch's length needs no better randomness).
fn random_spread() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Output shape of a watch: plain objects, single-row Tables, or
/// `PartialObjectMetadata` of a `meta.k8s.io` version.
#[derive(Clone)]
enum Shape {
    Object,
    Table(Option<String>),
    Metadata(String),
}

pub(crate) async fn watch(req: &Request<'_>, output: &Output) -> Result<Response<Body>, ApiError> {
    let sel = Selection::from_request(req)?;
    let timeout = watch_timeout(
        req.query.number("timeoutSeconds")?,
        req.api.min_request_timeout,
        random_spread(),
    );
    let bookmarks = req.query.flag("allowWatchBookmarks");
    let send_initial = req.query.get("sendInitialEvents").map(|v| v == "true");
    let rv = req.query.get("resourceVersion").unwrap_or("");
    let shape = match output {
        Output::Object => Shape::Object,
        Output::Table(_) => Shape::Table(req.query.get("includeObject").map(str::to_owned)),
        // Event objects are single objects: a metadata client's watch asks
        // for `PartialObjectMetadata`; one asking for the list form gets
        // the same (upstream fails that conversion per event and sends the
        // whole object, which a metadata client does not expect).
        Output::PartialObjectMetadata(version) | Output::PartialObjectMetadataList(version) => {
            Shape::Metadata(version.clone())
        }
    };

    // Initial state, when asked for (RV unset or 0, or sendInitialEvents).
    let (initial, start) = if send_initial.unwrap_or(rv.is_empty() || rv == "0") {
        let page = rest::list_page(
            &Request {
                query: &crate::http_util::Query::default(),
                ..req.clone_shallow()
            },
            &sel,
        )
        .await?;
        (page.items, page.revision)
    } else {
        let n = skewless_apimachinery::list_options::parse_resource_version(rv)?;
        let n = Revision::try_from(n).map_err(|_| {
            ApiError::BadRequest(format!("invalid resource version: {rv} is out of range"))
        })?;
        (Vec::new(), n)
    };
    let initial_end_bookmark = send_initial == Some(true);

    let prefix = storage::prefix(
        req.resource,
        if req.resource.namespaced {
            &req.info.namespace
        } else {
            ""
        },
    );
    // From the resource's watch cache when it covers `start`, else from
    // storage.
    let cached = req
        .watch_cache()
        .await
        .and_then(|cache| cache.watch(&prefix, start));
    let store_watch = match cached {
        Some(w) => Ok(w),
        None => req
            .api
            .store
            .watch(&prefix, start)
            .await
            .map(EventStream::Store),
    };
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let resource = req.resource.clone();
    let mut shutdown = req.api.shutdown.subscribe();
    let mut registry_changed = req.api.registry.subscribe();
    let still_served = {
        let crd = req.crd.is_some();
        let registry = std::sync::Arc::clone(&req.api.registry);
        move |r: &ResourceInfo| {
            !crd || registry
                .snapshot()
                .resource(&r.group, &r.version, &r.resource)
                .is_some()
        }
    };
    // A built-in's watcher that filters nothing sends each event as the
    // line the first such watcher encoded (no decode or encode per watcher).
    let shared = matches!(shape, Shape::Object) && sel.is_everything() && req.crd.is_none();
    let defaults = req.crd.and_then(|c| c.schema.clone());
    let hook = req.crd.and_then(|c| c.webhook.clone());
    let store = std::sync::Arc::clone(&req.api.store);
    let crd_for_table = req.api.catalog().crd(
        &req.resource.group,
        &req.resource.version,
        &req.resource.resource,
    );
    tokio::spawn(async move {
        let emit = |kind: &str, obj: &Value| -> Bytes {
            let object = match &shape {
                Shape::Object => obj.clone(),
                Shape::Metadata(version) => partial::object_metadata(obj, version),
                Shape::Table(include) => crate::handlers::table::table(
                    &resource,
                    crd_for_table.as_deref(),
                    std::slice::from_ref(obj),
                    include.as_deref(),
                    json!({"resourceVersion": object::meta_str(obj, "resourceVersion")}),
                ),
            };
            let mut line =
                serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
            line.push(b'\n');
            Bytes::from(line)
        };
        for obj in &initial {
            if tx.send(emit("ADDED", obj)).await.is_err() {
                return;
            }
        }
        if initial_end_bookmark {
            let b = bookmark(&resource, start, true);
            if tx.send(emit("BOOKMARK", &b)).await.is_err() {
                return;
            }
        }
        let mut watch = match store_watch {
            Ok(w) => w,
            Err(e) => {
                let _ = tx.send(error_event(e)).await;
                return;
            }
        };
        // `changed` misses a shutdown signalled before this watch began,
        // and such a watch would hold the graceful shutdown for the whole
        // grace period.
        if *shutdown.borrow() {
            return;
        }
        let deadline = async {
            match timeout {
                Some(t) => tokio::time::sleep(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(BOOKMARK_INTERVAL);
        tick.tick().await;
        let mut last = start;
        loop {
            let event = tokio::select! {
                e = watch.next() => e,
                () = &mut deadline => return,
                // `wait_for`, not `changed`: a watch that began after
                // shutdown was signalled must end too, or it holds the
                // server's graceful shutdown for the whole grace period.
                () = async { let _ = shutdown.wait_for(|stopping| *stopping).await; } => return,
                () = tx.closed() => return,
                changed = registry_changed.changed() => {
                    // A custom resource whose CRD went away ends its watches.
                    let gone = changed.is_err() || !still_served(&resource);
                    if gone {
                        return;
                    }
                    continue;
                }
                _ = tick.tick(), if bookmarks => {
                    if tx.send(emit("BOOKMARK", &bookmark(&resource, last, false))).await.is_err() {
                        return;
                    }
                    continue;
                }
            };
            let event = match event {
                Some(Ok(e)) => e,
                Some(Err(e)) => {
                    let _ = tx.send(error_event(e)).await;
                    return;
                }
                None => return,
            };
            last = event.event.revision();
            if shared {
                let line = event.line(&resource.group, &resource.version, |e| {
                    let lines: Vec<u8> = translate(&resource, None, &sel, e)
                        .iter()
                        .flat_map(|(kind, obj)| emit(kind, obj))
                        .collect();
                    Ok::<_, std::convert::Infallible>(Bytes::from(lines))
                });
                if let Ok(line) = line
                    && !line.is_empty()
                    && tx.send(line).await.is_err()
                {
                    return;
                }
                continue;
            }
            let events = translate(&resource, hook.as_ref(), &sel, &event.event);
            let (kinds, mut objs): (Vec<&str>, Vec<Value>) = events.into_iter().unzip();
            // Only a conversion webhook has anything to do; its call is
            // boxed so that this task, which lives as long as the watch,
            // is not sized for it.
            if hook.is_some()
                && let Err(e) = Box::pin(rest::finish(
                    store.as_ref(),
                    &resource,
                    hook.as_ref(),
                    &mut objs,
                ))
                .await
            {
                let _ = tx.send(status_event(&e)).await;
                return;
            }
            for (kind, mut obj) in kinds.into_iter().zip(objs) {
                if let Some(schema) = &defaults {
                    skewless_apimachinery::structural::apply_defaults(schema, &mut obj);
                }
                if tx.send(emit(kind, &obj)).await.is_err() {
                    return;
                }
            }
        }
    });

    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, crate::http_util::BoxError>(Frame::data(b)), rx))
    });
    let mut resp = Response::new(StreamBody::new(stream).boxed_unsync());
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

fn bookmark(r: &ResourceInfo, revision: Revision, initial_events_end: bool) -> Value {
    let mut meta = json!({"resourceVersion": revision.to_string()});
    if initial_events_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    json!({"kind": r.kind, "apiVersion": rest::api_version(r), "metadata": meta})
}

fn error_event(e: StoreError) -> Bytes {
    let err = match e {
        StoreError::Compacted {
            requested,
            compacted,
        } => ApiError::too_old_resource_version(requested.max(0) as u64, compacted.max(0) as u64),
        other => ApiError::InternalError(other.to_string()),
    };
    status_event(&err)
}

/// An `ERROR` event carrying `err`'s Status.
fn status_event(err: &ApiError) -> Bytes {
    let status = serde_json::to_value(err.status()).unwrap_or(Value::Null);
    let mut line =
        serde_json::to_vec(&json!({"type": "ERROR", "object": status})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

/// The watch events one storage event becomes under a selection.
/// With a conversion `hook`, objects stored in another version come out as
/// stored, for [`rest::finish`].
fn translate(
    r: &ResourceInfo,
    hook: Option<&ConversionWebhook>,
    sel: &Selection,
    event: &Event,
) -> Vec<(&'static str, Value)> {
    let decode = |kv: &skewless_store::KeyValue, rev: Revision| -> Option<Value> {
        rest::decode_at(r, hook, kv, rev).ok()
    };
    match event {
        Event::Put { kv, prev } => {
            let Some(new) = decode(kv, kv.mod_revision) else {
                return Vec::new();
            };
            let now = sel.matches(&new);
            let before = prev
                .as_ref()
                .and_then(|p| decode(p, p.mod_revision))
                .map(|o| sel.matches(&o));
            match (before, now) {
                (Some(true), true) => vec![("MODIFIED", new)],
                (None | Some(false), true) => vec![("ADDED", new)],
                (Some(true), false) => vec![("DELETED", new)],
                (_, false) => Vec::new(),
            }
        }
        Event::Delete { prev, revision } => match decode(prev, *revision) {
            Some(old) if sel.matches(&old) => vec![("DELETED", old)],
            _ => Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(1800);

    #[test]
    fn client_timeout_wins_when_positive() {
        assert_eq!(
            watch_timeout(Some(7), MIN, 0.5),
            Some(Duration::from_secs(7))
        );
    }

    #[test]
    fn negative_timeout_ends_at_once_as_upstreams_timer() {
        assert_eq!(watch_timeout(Some(-5), MIN, 0.5), Some(Duration::ZERO));
    }

    #[test]
    fn zero_or_unset_takes_the_server_bound_spread_over_min_to_twice_min() {
        for t in [None, Some(0)] {
            assert_eq!(watch_timeout(t, MIN, 0.0), Some(MIN));
            assert_eq!(watch_timeout(t, MIN, 0.5), Some(Duration::from_secs(2700)));
            let longest = watch_timeout(t, MIN, 0.999_999).unwrap_or_default();
            assert!(longest < MIN * 2 && longest > MIN);
        }
    }

    #[test]
    fn no_server_bound_only_when_min_request_timeout_is_zero() {
        assert_eq!(watch_timeout(Some(0), Duration::ZERO, 0.3), None);
        assert_eq!(watch_timeout(None, Duration::ZERO, 0.3), None);
    }

    #[test]
    fn spread_stays_in_range() {
        for _ in 0..100 {
            let s = random_spread();
            assert!((0.0..1.0).contains(&s), "{s}");
        }
    }
}

//! The HTTP edges of request handling: the response body type, JSON
//! responses, the one place where an [`ApiError`] becomes a `metav1.Status`
//! response, query strings, and reading a request body within the size
//! limit.

use std::collections::HashMap;
use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use serde_json::Value;
use skewless_apimachinery::status::ApiError;

/// Errors a streamed body may end with (a peer that died mid-response).
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Every response body: whole, streamed (watches), or relayed from a peer.
pub(crate) type Body = UnsyncBoxBody<Bytes, BoxError>;

/// The start of a response body, read for a record (the audit log):
/// until the body ends, `limit` bytes were read, or `wait` passed. Returns
/// what was read and the body to send on: the read bytes followed by
/// whatever was left, so a large or slow body (a peer's or an extension
/// server's) is never held whole in memory nor waited for.
pub(crate) async fn read_start(
    mut body: Body,
    limit: usize,
    wait: std::time::Duration,
) -> (Bytes, Body) {
    let deadline = tokio::time::Instant::now() + wait;
    let mut read = bytes::BytesMut::new();
    let mut ended = http_body::Body::is_end_stream(&body);
    while !ended && read.len() < limit {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    read.extend_from_slice(&data);
                }
            }
            // The end, or a broken body: what was read is all it had.
            Ok(None | Some(Err(_))) => ended = true,
            Err(_) => break,
        }
    }
    let read = read.freeze();
    if ended {
        return (read.clone(), full(read));
    }
    let head = futures::stream::once(std::future::ready(Ok::<_, BoxError>(
        http_body::Frame::data(read.clone()),
    )));
    let rest = futures::stream::unfold(body, |mut body| async move {
        body.frame().await.map(|frame| (frame, body))
    });
    let relayed = http_body_util::StreamBody::new(futures::StreamExt::chain(head, rest));
    (read, relayed.boxed_unsync())
}

pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

pub(crate) fn empty() -> Body {
    full(Bytes::new())
}

/// `body`, holding `guard` until the body is dropped: when the response
/// ended, or the client went away.
pub(crate) fn with_guard<G: Send + Unpin + 'static>(body: Body, guard: G) -> Body {
    Guarded {
        inner: body,
        _guard: guard,
    }
    .boxed_unsync()
}

struct Guarded<G> {
    inner: Body,
    _guard: G,
}

impl<G: Unpin> http_body::Body for Guarded<G> {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Whether `If-None-Match` names `etag` (a quoted entity tag): one of its
/// comma-separated tags, compared weakly (`W/` ignored), or `*`.
pub(crate) fn etag_matches(headers: &http::HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// Whether `Accept-Encoding` lists `gzip` with a non-zero quality.
pub(crate) fn accepts_gzip(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .map(|q| q.trim().parse::<f32>().unwrap_or(0.0))
                .next()
                .unwrap_or(1.0);
            name.eq_ignore_ascii_case("gzip") && q > 0.0
        })
}

/// A value as upstream's JSON encoder writes an API object: compact, ending
/// with `\n` (Go's `json.Encoder` adds it; clients comparing bodies see it).
pub(crate) fn json_bytes(value: &impl serde::Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    bytes.push(b'\n');
    bytes
}

/// A JSON response with the given status.
pub(crate) fn json(status: StatusCode, value: &Value) -> Response<Body> {
    json_encoded(status, json_bytes(value).into())
}

/// A response of JSON already encoded (by [`json_bytes`]).
pub(crate) fn json_encoded(status: StatusCode, json: Bytes) -> Response<Body> {
    let mut resp = Response::new(full(json));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// A JSON document that is not an API object (`/version`), written as
/// upstream's `WriteRawJSON` does: indented by two spaces, no trailing
/// newline.
pub(crate) fn raw_json(status: StatusCode, value: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec_pretty(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = Response::new(full(bytes));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    let mut resp = Response::new(full(body.into()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// The only way errors leave the server: a `metav1.Status` with the code,
/// reason and details the error carries, and `Retry-After` when it has one.
pub(crate) fn error(err: &ApiError) -> Response<Body> {
    // Serialised from the struct, so fields keep upstream's order.
    let bytes = json_bytes(&err.status());
    let code = StatusCode::from_u16(err.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = Response::new(full(bytes));
    *resp.status_mut() = code;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(secs) = err.retry_after_seconds()
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// A parsed query string: first value per key, percent-decoded.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query(HashMap<String, String>);

impl Query {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let mut map = HashMap::new();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            map.entry(decode(k)).or_insert_with(|| decode(v));
        }
        Self(map)
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// A boolean parameter as Go's `strconv.ParseBool` reads it (absent is false).
    pub(crate) fn flag(&self, key: &str) -> bool {
        matches!(
            self.get(key),
            Some("1" | "t" | "T" | "true" | "TRUE" | "True")
        )
    }

    /// A non-negative integer parameter; a malformed one is a 400.
    pub(crate) fn number(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                ApiError::BadRequest(format!("invalid value {v:?} for query parameter {key}"))
            }),
        }
    }

    /// `dryRun=All` (the only value kube-apiserver accepts).
    pub(crate) fn dry_run(&self) -> Result<bool, ApiError> {
        match self.get("dryRun") {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::BadRequest(format!(
                "Invalid dryRun value {other:?}: supported values: \"All\""
            ))),
        }
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                match bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads a whole request body, refusing more than `limit` bytes with 413.
pub(crate) async fn read_body<B>(body: B, limit: usize) -> Result<Bytes, ApiError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(ApiError::RequestEntityTooLarge(format!("limit is {limit}")))
        }
        Err(e) => Err(ApiError::BadRequest(format!(
            "reading the request body: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: http::header::HeaderName, values: &[&str]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for v in values {
            h.append(name.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn streamed(chunks: Vec<&'static [u8]>, then_hang: bool) -> Body {
        let data = futures::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, BoxError>(http_body::Frame::data(Bytes::from_static(c)))),
        );
        let hang =
            futures::StreamExt::then(futures::stream::iter(then_hang.then_some(())), |()| async {
                std::future::pending::<Result<http_body::Frame<Bytes>, BoxError>>().await
            });
        http_body_util::StreamBody::new(futures::StreamExt::chain(data, hang)).boxed_unsync()
    }

    #[tokio::test]
    async fn read_start_reads_within_bounds_and_relays_everything() {
        use futures::StreamExt as _;
        let wait = std::time::Duration::from_secs(5);
        // A small body: read whole.
        let (start, body) = read_start(streamed(vec![b"ab", b"cd"], false), 100, wait).await;
        assert_eq!(&start[..], b"abcd");
        assert_eq!(&body.collect().await.unwrap().to_bytes()[..], b"abcd");
        // A larger one: its start is read, all of it is relayed.
        let (start, body) =
            read_start(streamed(vec![b"ab", b"cd", b"ef", b"gh"], false), 3, wait).await;
        assert_eq!(&start[..], b"abcd");
        assert_eq!(&body.collect().await.unwrap().to_bytes()[..], b"abcdefgh");
        // A body that stalls: what arrived within the wait, then the rest.
        let wait = std::time::Duration::from_millis(50);
        let (start, body) = read_start(streamed(vec![b"ab"], true), 100, wait).await;
        assert_eq!(&start[..], b"ab");
        let mut frames = body.into_data_stream();
        assert_eq!(&frames.next().await.unwrap().unwrap()[..], b"ab");
    }

    #[test]
    fn gzip_acceptance() {
        for (values, expected) in [
            (&[][..], false),
            (&["gzip"][..], true),
            (&["deflate, GZIP;q=0.5"][..], true),
            (&["br", "gzip"][..], true),
            (&["gzip;q=0, identity"][..], false),
            (&["identity"][..], false),
            (&["x-gzip"][..], false),
        ] {
            assert_eq!(
                accepts_gzip(&headers(header::ACCEPT_ENCODING, values)),
                expected,
                "{values:?}"
            );
        }
    }

    #[test]
    fn if_none_match() {
        let tag = "\"ABC\"";
        for (values, expected) in [
            (&[][..], false),
            (&["\"ABC\""][..], true),
            (&["W/\"ABC\""][..], true),
            (&["\"X\", \"ABC\""][..], true),
            (&["\"X\"", "\"ABC\""][..], true),
            (&["*"][..], true),
            (&["\"ABCD\""][..], false),
            (&["ABC"][..], false),
        ] {
            assert_eq!(
                etag_matches(&headers(header::IF_NONE_MATCH, values), tag),
                expected,
                "{values:?}"
            );
        }
    }

    #[test]
    fn query_decoding() {
        let q = Query::parse(Some(
            "labelSelector=a%3Db%2Cc+in+(x)&watch=true&limit=5&x=%zz",
        ));
        assert_eq!(q.get("labelSelector"), Some("a=b,c in (x)"));
        assert!(q.flag("watch"));
        assert_eq!(q.number("limit").unwrap(), Some(5));
        assert_eq!(q.get("x"), Some("%zz"));
        assert!(Query::parse(Some("limit=x")).number("limit").is_err());
        assert!(Query::parse(Some("dryRun=Some")).dry_run().is_err());
        assert!(Query::parse(Some("dryRun=All")).dry_run().unwrap());
    }
}

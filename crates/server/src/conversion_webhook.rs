//! Calling a CRD's conversion webhook: where it is (its `url`, or its
//! `service` resolved through the Service's EndpointSlices, else its
//! Endpoints, in storage), one `ConversionReview` for a batch of objects
//! over verified HTTPS (the CRD's `caBundle`, the peer proxy's transport),
//! and every failure as upstream's 500: "conversion webhook for
//! <apiVersion>, Kind=<kind> failed: <cause>".
//!
//! The review itself (request, checks of the answer) is
//! `skewless_apimachinery::crd`'s. Never retries: a conversion that failed
//! fails the request, and a write whose object could not be converted
//! stores nothing.

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Limited};
use serde_json::Value;
use skewless_apimachinery::crd::{
    ConversionWebhook, gvk_string, read_review_response, review_request,
};
use skewless_apimachinery::status::ApiError;
use skewless_peerproxy::transport::SendError;
use skewless_store::Store;

use crate::service_dial;

/// How long one review may take (upstream's conversion webhook timeout).
const TIMEOUT: Duration = Duration::from_secs(30);

/// The largest answer read from a webhook.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// `objects` (each of `kind`, in whatever version it was stored) converted
/// to `desired` (an `apiVersion`) by `hook`, in one review.
pub(crate) async fn convert(
    store: &dyn Store,
    hook: &ConversionWebhook,
    kind: &str,
    objects: Vec<Value>,
    desired: &str,
) -> Result<Vec<Value>, ApiError> {
    if objects.is_empty() {
        return Ok(objects);
    }
    let from = objects[0]
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    // `what` completes "conversion webhook for <gvk> ...": `failed: ...`
    // or `returned ...`, as upstream words it.
    let fail = |what: String| {
        ApiError::InternalError(format!(
            "conversion webhook for {} {what}",
            gvk_string(&from, kind)
        ))
    };
    let call = async {
        let failed = |e: String| format!("failed: {e}");
        let (addr, server_name, path) = locate(store, hook).await.map_err(failed)?;
        let uid = uuid::Uuid::new_v4().to_string();
        let review = review_request(&hook.review_version, &uid, desired, &objects);
        let body = serde_json::to_vec(&review).map_err(|e| failed(e.to_string()))?;
        let answer = post(hook, &addr, &server_name, &path, body)
            .await
            .map_err(failed)?;
        read_review_response(&answer, &hook.review_version, &uid, desired, &objects)
    };
    match tokio::time::timeout(TIMEOUT, call).await {
        Ok(Ok(converted)) => Ok(converted),
        Ok(Err(what)) => Err(fail(what)),
        Err(_) => Err(fail(format!(
            "failed: no answer within {}s",
            TIMEOUT.as_secs()
        ))),
    }
}

/// `host:port` to dial, the name the certificate must carry, the path.
async fn locate(
    store: &dyn Store,
    hook: &ConversionWebhook,
) -> Result<(String, String, String), String> {
    if let Some(url) = &hook.url {
        let rest = url
            .strip_prefix("https://")
            .ok_or_else(|| format!("{url:?} is not an https URL"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_owned()),
            None => (rest, "/".to_owned()),
        };
        let (host, port) = split_host_port(authority);
        let name = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        return Ok((format!("{host}:{}", port.unwrap_or("443")), name, path));
    }
    let service = hook
        .service
        .as_ref()
        .ok_or("the webhook has neither url nor service")?;
    let addr = service_dial::resolve_service(store, service).await?;
    Ok((addr, service.server_name(), service.path.clone()))
}

/// `host[:port]`, IPv6 hosts in brackets.
fn split_host_port(authority: &str) -> (&str, Option<&str>) {
    if authority.starts_with('[') {
        match authority.find("]:") {
            Some(i) => (&authority[..=i], Some(&authority[i + 2..])),
            None => (authority, None),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    }
}

/// POSTs the review and returns the answer's body (2xx only).
async fn post(
    hook: &ConversionWebhook,
    addr: &str,
    server_name: &str,
    path: &str,
    body: Vec<u8>,
) -> Result<Bytes, String> {
    let transport = service_dial::transport(
        service_dial::Verify::CaBundle(&hook.ca_bundle),
        server_name,
        None,
    )?;
    let request = Request::post(format!("https://{addr}{path}"))
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, "application/json")
        .body(crate::http_util::full(body))
        .map_err(|e| e.to_string())?;
    let url = format!("https://{addr}{path}");
    let response = transport.send(addr, request).await.map_err(|e| match e {
        SendError::NotSent { cause, .. } | SendError::Failed(cause) => {
            format!("Post {url:?}: {cause}")
        }
    })?;
    let status = response.status();
    let bytes = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|e| format!("reading the answer of {url:?}: {e}"))?
        .to_bytes();
    if !status.is_success() {
        return Err(format!(
            "{url:?} answered {status}: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(256)])
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::split_host_port;

    #[test]
    fn hosts_and_ports() {
        assert_eq!(split_host_port("a.b:8443"), ("a.b", Some("8443")));
        assert_eq!(split_host_port("a.b"), ("a.b", None));
        assert_eq!(split_host_port("[::1]:9"), ("[::1]", Some("9")));
        assert_eq!(split_host_port("[::1]"), ("[::1]", None));
    }
}

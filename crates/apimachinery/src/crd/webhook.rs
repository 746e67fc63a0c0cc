//! Conversion webhooks of CustomResourceDefinitions (`strategy: Webhook`)
//! without the network: the webhook's configuration as the server uses it,
//! the `ConversionReview` request for a batch of objects, and the checks of
//! the answer, with upstream's messages. The server sends the request and
//! turns an error here into a 500 naming the webhook.
//!
//! Never does I/O; never panics on what a webhook answers.

use serde_json::{Map, Value, json};

use super::types::CustomResourceDefinition;

/// The ConversionReview versions this server speaks, preferred first.
pub const REVIEW_VERSIONS: [&str; 2] = ["v1", "v1beta1"];

/// Where the webhook is and how to trust it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionWebhook {
    /// `clientConfig.url`, when given.
    pub url: Option<String>,
    /// `clientConfig.service`, when given.
    pub service: Option<ServiceReference>,
    /// `clientConfig.caBundle`, base64 of PEM certificates (empty: none).
    pub ca_bundle: String,
    /// The ConversionReview version to send: the first of the CRD's
    /// `conversionReviewVersions` this server speaks.
    pub review_version: String,
}

/// `clientConfig.service`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceReference {
    /// The Service's namespace.
    pub namespace: String,
    /// The Service's name.
    pub name: String,
    /// The URL path (`/` when absent).
    pub path: String,
    /// The Service port (443 when absent).
    pub port: u16,
}

impl ServiceReference {
    /// The name the webhook's certificate must carry: `<name>.<namespace>.svc`.
    pub fn server_name(&self) -> String {
        format!("{}.{}.svc", self.name, self.namespace)
    }
}

impl CustomResourceDefinition {
    /// The conversion webhook, when the strategy is `Webhook` and its
    /// configuration is usable (validation refuses the others).
    pub fn conversion_webhook(&self) -> Option<ConversionWebhook> {
        let conversion = self.spec.conversion.as_ref()?;
        if conversion.strategy != "Webhook" {
            return None;
        }
        let webhook = conversion.webhook.as_ref()?;
        let client = webhook.get("clientConfig")?;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let service = client
            .get("service")
            .filter(|s| s.is_object())
            .map(|s| ServiceReference {
                namespace: text(s.get("namespace")).unwrap_or_default(),
                name: text(s.get("name")).unwrap_or_default(),
                path: text(s.get("path")).unwrap_or_else(|| "/".to_owned()),
                port: s
                    .get("port")
                    .and_then(Value::as_u64)
                    .and_then(|p| u16::try_from(p).ok())
                    .unwrap_or(443),
            });
        let versions: Vec<String> = webhook
            .get("conversionReviewVersions")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let review_version = versions
            .iter()
            .find(|v| REVIEW_VERSIONS.contains(&v.as_str()))?
            .clone();
        Some(ConversionWebhook {
            url: text(client.get("url")),
            service,
            ca_bundle: text(client.get("caBundle")).unwrap_or_default(),
            review_version,
        })
    }
}

/// How upstream names an object's type in messages:
/// `example.com/v1, Kind=Widget`.
pub fn gvk_string(api_version: &str, kind: &str) -> String {
    format!("{api_version}, Kind={kind}")
}

/// The `ConversionReview` asking to convert `objects` to
/// `desired_api_version`.
pub fn review_request(
    review_version: &str,
    uid: &str,
    desired_api_version: &str,
    objects: &[Value],
) -> Value {
    json!({
        "apiVersion": format!("apiextensions.k8s.io/{review_version}"),
        "kind": "ConversionReview",
        "request": {"uid": uid, "desiredAPIVersion": desired_api_version, "objects": objects},
    })
}

/// The converted objects of a webhook's answer `body` to the review `uid`
/// of `originals`, each checked as upstream checks them: the answer must be
/// a ConversionReview for this uid with `result.status: Success`, as many
/// objects as were sent, each of `desired_api_version` and the same kind.
/// Of the metadata a webhook returns only labels and annotations are taken;
/// the rest is the original's. The error is the cause, for "conversion
/// webhook for ... failed: <cause>".
pub fn read_review_response(
    body: &[u8],
    uid: &str,
    desired_api_version: &str,
    originals: &[Value],
) -> Result<Vec<Value>, String> {
    let review: Value =
        serde_json::from_slice(body).map_err(|e| format!("the response is not JSON: {e}"))?;
    let response = review
        .get("response")
        .filter(|r| r.is_object())
        .ok_or("no response provided")?;
    let got_uid = response.get("uid").and_then(Value::as_str).unwrap_or("");
    if got_uid != uid {
        return Err(format!("expected response uid {uid:?}, got {got_uid:?}"));
    }
    let result = response.get("result");
    let status = result
        .and_then(|r| r.get("status"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if status != "Success" {
        let message = result
            .and_then(|r| r.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("");
        return Err(format!("conversion failed: {message:?}"));
    }
    let converted = response
        .get("convertedObjects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if converted.len() != originals.len() {
        return Err(format!(
            "expected {} converted objects, got {}",
            originals.len(),
            converted.len()
        ));
    }
    converted
        .into_iter()
        .zip(originals)
        .enumerate()
        .map(|(i, (out, original))| {
            checked(out, original, desired_api_version)
                .map_err(|e| format!("invalid converted object at index {i}: {e}"))
        })
        .collect()
}

fn checked(out: Value, original: &Value, desired: &str) -> Result<Value, String> {
    let Value::Object(mut out) = out else {
        return Err("not an object".to_owned());
    };
    let api_version = out.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if api_version != desired {
        return Err(format!(
            "invalid apiVersion {api_version:?}, expected {desired:?}"
        ));
    }
    let kind = out.get("kind").and_then(Value::as_str).unwrap_or("");
    let want = original.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind != want {
        return Err(format!("invalid kind {kind:?}, expected {want:?}"));
    }
    let mut meta = original
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let given = out
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for field in ["labels", "annotations"] {
        match given.get(field) {
            Some(Value::Object(m)) if m.values().all(Value::is_string) => {
                meta.insert(field.to_owned(), Value::Object(m.clone()));
            }
            None | Some(Value::Null) => {
                meta.remove(field);
            }
            Some(_) => return Err(format!("metadata.{field} must be a map of strings")),
        }
    }
    out.insert("metadata".into(), Value::Object(meta));
    Ok(Value::Object(out))
}

/// The answer of a sample webhook to `review`: each object converted by
/// `convert` (test support for the server's and the test kit's webhooks).
pub fn review_response(review: &Value, convert: impl Fn(&Value, &str) -> Value) -> Value {
    let request = review.get("request").cloned().unwrap_or(Value::Null);
    let desired = request
        .get("desiredAPIVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let objects: Vec<Value> = request
        .get("objects")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|o| convert(o, desired)).collect())
        .unwrap_or_default();
    let mut response = Map::new();
    response.insert(
        "uid".into(),
        request.get("uid").cloned().unwrap_or(Value::Null),
    );
    response.insert("result".into(), json!({"status": "Success"}));
    response.insert("convertedObjects".into(), Value::Array(objects));
    json!({
        "apiVersion": review.get("apiVersion").cloned().unwrap_or(json!("apiextensions.k8s.io/v1")),
        "kind": "ConversionReview",
        "response": response,
    })
}

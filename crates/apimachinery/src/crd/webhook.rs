//! Conversion webhooks of CustomResourceDefinitions (`strategy: Webhook`)
//! without the network: the webhook's configuration as the server uses it,
//! the `ConversionReview` request for a batch of objects, and the checks of
//! the answer, with upstream's messages. The server sends the request and
//! turns an error here into a 500 naming the webhook.
//!
//! Never does I/O; never panics on what a webhook answers.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::validation::{validate_annotations, validate_labels};

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
/// (sent as `review_version`) of `originals`, each checked as upstream
/// checks them: a `v1` answer must be a `v1` ConversionReview for this uid;
/// any answer must have `result.status: Success` and as many objects as
/// were sent, each of `desired_api_version`, the same kind, name,
/// namespace and uid. Of the metadata a webhook returns only labels and
/// annotations are taken; the rest is the original's. The error completes
/// upstream's message "conversion webhook for <apiVersion>, Kind=<kind>
/// <error>" (it starts with `failed:` or `returned`).
pub fn read_review_response(
    body: &[u8],
    review_version: &str,
    uid: &str,
    desired_api_version: &str,
    originals: &[Value],
) -> Result<Vec<Value>, String> {
    let review: Value = serde_json::from_slice(body)
        .map_err(|e| format!("failed: the response is not a ConversionReview: {e}"))?;
    if review_version == "v1" {
        let got = gvk_string(
            review
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or(""),
            review.get("kind").and_then(Value::as_str).unwrap_or(""),
        );
        let want = gvk_string("apiextensions.k8s.io/v1", "ConversionReview");
        if got != want {
            return Err(format!(
                "failed: expected webhook response of {want}, got {got}"
            ));
        }
    }
    let response = review
        .get("response")
        .filter(|r| r.is_object())
        .ok_or("failed: no response provided")?;
    if review_version == "v1" {
        let got_uid = response.get("uid").and_then(Value::as_str).unwrap_or("");
        if got_uid != uid {
            return Err(format!(
                "failed: expected response.uid={uid:?}, got {got_uid:?}"
            ));
        }
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
        return Err(if message.is_empty() {
            format!("failed: response.result.status was '{status}', not 'Success'")
        } else {
            format!("failed: {message}")
        });
    }
    let converted = response
        .get("convertedObjects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if converted.len() != originals.len() {
        return Err(format!(
            "returned {} objects, expected {}",
            converted.len(),
            originals.len()
        ));
    }
    let single = originals.len() == 1;
    converted
        .into_iter()
        .zip(originals)
        .enumerate()
        .map(|(i, (out, original))| {
            let (object, metadata) = if single {
                (
                    "returned invalid object at index 0".to_owned(),
                    "returned invalid metadata".to_owned(),
                )
            } else {
                (
                    format!("returned invalid converted object at index {i}"),
                    format!("returned invalid metadata in object at index {i}"),
                )
            };
            let out = checked(out, original, desired_api_version)
                .map_err(|e| format!("{object}: {e}"))?;
            restore_metadata(out, original).map_err(|e| format!("{metadata}: {e}"))
        })
        .collect()
}

fn text<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// Type and identity as upstream checks them.
fn checked(out: Value, original: &Value, desired: &str) -> Result<Value, String> {
    if !out.is_object() {
        return Err("not an object".to_owned());
    }
    let got = text(&out, "/apiVersion");
    if got != desired {
        return Err(format!(
            "invalid groupVersion (expected {desired}, received {got})"
        ));
    }
    let (want, got) = (text(original, "/kind"), text(&out, "/kind"));
    if got != want {
        return Err(format!("invalid kind (expected {want}, received {got})"));
    }
    for (field, pointer) in [
        ("name", "/metadata/name"),
        ("namespace", "/metadata/namespace"),
        ("UID", "/metadata/uid"),
    ] {
        let (want, got) = (text(original, pointer), text(&out, pointer));
        if want != got {
            return Err(format!("must have the same {field}: {want} != {got}"));
        }
    }
    Ok(out)
}

/// The original's metadata with the webhook's labels and annotations.
fn restore_metadata(mut out: Value, original: &Value) -> Result<Value, String> {
    let given = match out.get("metadata") {
        None => return Err("missing metadata in converted object".to_owned()),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            return Err(format!(
                "invalid metadata of type {} in converted object",
                json_type(other)
            ));
        }
    };
    let mut meta = original
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for field in ["labels", "annotations"] {
        match given.get(field) {
            None | Some(Value::Null) => {
                meta.remove(field);
            }
            Some(Value::Object(m)) => {
                if let Some((k, v)) = m.iter().find(|(_, v)| !v.is_string()) {
                    return Err(format!(
                        "metadata.{field}[{k}] must be a string, but is {} in converted object",
                        json_type(v)
                    ));
                }
                if meta.get(field) != Some(&Value::Object(m.clone())) {
                    check_changed(field, m)?;
                }
                meta.insert(field.to_owned(), Value::Object(m.clone()));
            }
            Some(other) => {
                return Err(format!(
                    "invalid metadata.{field} of type {} in converted object",
                    json_type(other)
                ));
            }
        }
    }
    if let Value::Object(map) = &mut out {
        map.insert("metadata".into(), Value::Object(meta));
    }
    Ok(out)
}

/// Labels or annotations a webhook changed must be valid (upstream's
/// aggregate: one error alone, several in brackets).
fn check_changed(field: &str, m: &Map<String, Value>) -> Result<(), String> {
    let map: BTreeMap<String, String> = m
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
        .collect();
    let errors = if field == "labels" {
        validate_labels(&map, "metadata.labels")
    } else {
        validate_annotations(&map, "metadata.annotation")
    };
    match errors.as_slice() {
        [] => Ok(()),
        [one] => Err(one.to_string()),
        many => Err(format!(
            "[{}]",
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
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

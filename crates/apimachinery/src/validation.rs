//! Validation of object names, label keys and values, and annotations, with
//! upstream's rules and upstream's message texts, plus the field-level error
//! type (`field.Error` upstream) that `422 Invalid` responses are built from.
//!
//! Kubernetes clients and humans compare these messages verbatim (tests,
//! scripts, `kubectl` output), so the texts here are facts to preserve, not
//! prose to improve. This module must never generate randomness or read the
//! clock: `generate_name` takes the random suffix from its caller.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// Maximum length of a DNS-1123 label (namespace names, many object names).
pub const DNS1123_LABEL_MAX_LENGTH: usize = 63;
/// Maximum length of a DNS-1123 subdomain (most object names).
pub const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;
/// Maximum length of a DNS-1035 label (service names).
pub const DNS1035_LABEL_MAX_LENGTH: usize = 63;
/// Maximum length of the name part of a qualified name (label keys).
pub const QUALIFIED_NAME_MAX_LENGTH: usize = 63;
/// Maximum length of a label value.
pub const LABEL_VALUE_MAX_LENGTH: usize = 63;
/// Maximum total size of all annotation keys and values of one object.
pub const TOTAL_ANNOTATION_SIZE_LIMIT_BYTES: usize = 256 * 1024;
/// Length of the random suffix appended to `metadata.generateName`.
pub const GENERATED_SUFFIX_LENGTH: usize = 5;
/// Longest `generateName` prefix kept before the suffix: upstream caps
/// generated names at 63 bytes regardless of the resource's naming rule.
pub const MAX_GENERATE_NAME_PREFIX_LENGTH: usize = 63 - GENERATED_SUFFIX_LENGTH;
/// Alphabet of generated suffixes: no vowels (no accidental words) and no
/// easily confused characters, as upstream's `utilrand.String`.
pub const GENERATED_SUFFIX_ALPHABET: &str = "bcdfghjklmnpqrstvwxz2456789";

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_ERR_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_ERR_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_ERR_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/// Upstream's `EmptyError()`.
fn empty_error() -> String {
    "must be non-empty".to_owned()
}

/// Upstream's `MaxLenError(n)`.
fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

/// Upstream's `RegexError(msg, fmt, examples...)`, including its doubled
/// space before `or` (`(e.g. 'MyName',  or 'my.name', ...`).
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let mut out = format!("{msg} (e.g. ");
    for (i, example) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push('\'');
        out.push_str(example);
        out.push_str("', ");
    }
    out.push_str("regex used for validation is '");
    out.push_str(fmt);
    out.push_str("')");
    out
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
fn matches_dns1123_label(value: &str) -> bool {
    let bytes = value.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            alnum(first) && alnum(last) && bytes.iter().all(|b| alnum(b) || *b == b'-')
        }
        _ => false,
    }
}

/// Dot-separated DNS-1123 labels (without the per-label length limit).
fn matches_dns1123_subdomain(value: &str) -> bool {
    value.split('.').all(matches_dns1123_label)
}

/// `[a-z]([-a-z0-9]*[a-z0-9])?`
fn matches_dns1035_label(value: &str) -> bool {
    value.as_bytes().first().is_some_and(u8::is_ascii_lowercase) && matches_dns1123_label(value)
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
fn matches_qualified_name(value: &str) -> bool {
    let bytes = value.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// Checks a DNS-1123 label (at most 63 characters, lowercase alphanumerics
/// and `-`, starting and ending alphanumeric). Returns upstream's messages;
/// empty means valid.
pub fn is_dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_LABEL_MAX_LENGTH));
    }
    if !matches_dns1123_label(value) {
        if matches_dns1123_subdomain(value) {
            // A valid subdomain that is not a valid label can only be
            // failing because of its dots.
            errs.push("must not contain dots".to_owned());
        } else {
            errs.push(regex_error(
                DNS1123_LABEL_ERR_MSG,
                DNS1123_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errs
}

/// Checks a DNS-1123 subdomain (at most 253 characters, dot-separated
/// DNS-1123 labels). Returns upstream's messages; empty means valid.
pub fn is_dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !matches_dns1123_subdomain(value) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_ERR_MSG,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// Checks a DNS-1035 label (like a DNS-1123 label but starting with a
/// letter; used for service names). Returns upstream's messages.
pub fn is_dns1035_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1035_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1035_LABEL_MAX_LENGTH));
    }
    if !matches_dns1035_label(value) {
        errs.push(regex_error(
            DNS1035_LABEL_ERR_MSG,
            DNS1035_LABEL_FMT,
            &["my-name", "abc-123"],
        ));
    }
    errs
}

/// Checks a qualified name (label and annotation keys): an optional DNS-1123
/// subdomain prefix and `/`, then a name of at most 63 alphanumerics, `-`,
/// `_` and `.`, starting and ending alphanumeric. Returns upstream's messages.
pub fn is_qualified_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push(format!("prefix part {}", empty_error()));
            } else {
                errs.extend(
                    is_dns1123_subdomain(prefix)
                        .into_iter()
                        .map(|msg| format!("prefix part {msg}")),
                );
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(
                    QUALIFIED_NAME_ERR_MSG,
                    QUALIFIED_NAME_FMT,
                    &["MyName", "my.name", "123-abc"]
                )
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push(format!("name part {}", empty_error()));
    } else if name.len() > QUALIFIED_NAME_MAX_LENGTH {
        errs.push(format!(
            "name part {}",
            max_len_error(QUALIFIED_NAME_MAX_LENGTH)
        ));
    }
    if !matches_qualified_name(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_ERR_MSG,
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

/// Checks a label value: empty, or at most 63 alphanumerics, `-`, `_` and
/// `.`, starting and ending alphanumeric. Returns upstream's messages.
pub fn is_valid_label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_VALUE_MAX_LENGTH {
        errs.push(max_len_error(LABEL_VALUE_MAX_LENGTH));
    }
    if !value.is_empty() && !matches_qualified_name(value) {
        errs.push(regex_error(
            LABEL_VALUE_ERR_MSG,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// Checks that a name can be used as one URL path segment: not `.` or `..`,
/// no `/` and no `%`. Every stored object name must pass this, whatever the
/// resource's own naming rule.
pub fn is_valid_path_segment_name(name: &str) -> Vec<String> {
    if name == "." || name == ".." {
        return vec![format!("may not be '{name}'")];
    }
    is_valid_path_segment_prefix(name)
}

/// Like [`is_valid_path_segment_name`] for a `generateName` prefix, which may
/// be `.` or `..` because a suffix follows.
pub fn is_valid_path_segment_prefix(name: &str) -> Vec<String> {
    ["/", "%"]
        .into_iter()
        .filter(|bad| name.contains(bad))
        .map(|bad| format!("may not contain '{bad}'"))
        .collect()
}

/// The naming rule a resource imposes on `metadata.name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameRule {
    /// DNS-1123 subdomain: most resources (ConfigMap, Deployment, ...).
    Dns1123Subdomain,
    /// DNS-1123 label: namespaces and a few others.
    Dns1123Label,
    /// DNS-1035 label: services.
    Dns1035Label,
    /// Only path-segment safety: resources without a stricter rule
    /// (custom resources' status-only checks, RBAC objects, ...).
    PathSegment,
}

impl NameRule {
    /// Validates a name, or a `generateName` prefix when `prefix` is true.
    ///
    /// As upstream, a prefix may end in `-` (the random suffix follows), so a
    /// trailing dash is masked before the DNS checks.
    pub fn validate(self, name: &str, prefix: bool) -> Vec<String> {
        let masked;
        let name = if prefix && self != NameRule::PathSegment {
            masked = mask_trailing_dash(name);
            masked.as_str()
        } else {
            name
        };
        match self {
            NameRule::Dns1123Subdomain => is_dns1123_subdomain(name),
            NameRule::Dns1123Label => is_dns1123_label(name),
            NameRule::Dns1035Label => is_dns1035_label(name),
            NameRule::PathSegment if prefix => is_valid_path_segment_prefix(name),
            NameRule::PathSegment => is_valid_path_segment_name(name),
        }
    }
}

/// Replaces a trailing `-` with `a` (only if something precedes it), as
/// upstream's `maskTrailingDash`.
fn mask_trailing_dash(name: &str) -> String {
    match name.strip_suffix('-') {
        Some(head) if !head.is_empty() => format!("{head}a"),
        _ => name.to_owned(),
    }
}

/// Validates `metadata.name` and `metadata.generateName` as upstream's
/// `ValidateObjectMeta` does. Call it after the server has expanded
/// `generateName` into `name`; an empty name is then "Required".
pub fn validate_object_meta_name(
    name: &str,
    generate_name: &str,
    rule: NameRule,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if !generate_name.is_empty() {
        errs.extend(
            rule.validate(generate_name, true)
                .into_iter()
                .map(|msg| FieldError::invalid("metadata.generateName", generate_name, msg)),
        );
    }
    if name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        errs.extend(
            rule.validate(name, false)
                .into_iter()
                .map(|msg| FieldError::invalid("metadata.name", name, msg)),
        );
    }
    errs
}

/// Validates label keys (qualified names) and values, reporting each problem
/// at `path` (normally `metadata.labels`), as upstream's `ValidateLabels`.
pub fn validate_labels(labels: &BTreeMap<String, String>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (key, value) in labels {
        errs.extend(
            is_qualified_name(key)
                .into_iter()
                .map(|msg| FieldError::invalid(path, key.as_str(), msg)),
        );
        errs.extend(
            is_valid_label_value(value)
                .into_iter()
                .map(|msg| FieldError::invalid(path, value.as_str(), msg)),
        );
    }
    errs
}

/// Validates annotation keys (qualified names, case-insensitive) and the
/// 256 KiB total size of keys plus values, as upstream's
/// `ValidateAnnotations`.
pub fn validate_annotations(annotations: &BTreeMap<String, String>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for key in annotations.keys() {
        errs.extend(
            is_qualified_name(&key.to_lowercase())
                .into_iter()
                .map(|msg| FieldError::invalid(path, key.as_str(), msg)),
        );
    }
    if annotations_size(annotations) > TOTAL_ANNOTATION_SIZE_LIMIT_BYTES {
        errs.push(FieldError::too_long(
            path,
            TOTAL_ANNOTATION_SIZE_LIMIT_BYTES,
        ));
    }
    errs
}

/// Total size in bytes of all annotation keys and values.
pub fn annotations_size(annotations: &BTreeMap<String, String>) -> usize {
    annotations.iter().map(|(k, v)| k.len() + v.len()).sum()
}

/// Builds a name from a `generateName` prefix and a random suffix the caller
/// drew (see [`random_suffix`]).
///
/// As upstream's `SimpleNameGenerator`, the prefix is cut to
/// [`MAX_GENERATE_NAME_PREFIX_LENGTH`] (58) bytes so that prefix plus a
/// 5-character suffix never exceeds 63, which satisfies every naming rule.
/// The cut backs off to a character boundary so a multi-byte character (which
/// validation rejects anyway) cannot be split.
pub fn generate_name(prefix: &str, random_suffix: &str) -> String {
    let mut end = prefix.len().min(MAX_GENERATE_NAME_PREFIX_LENGTH);
    while !prefix.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{}", &prefix[..end], random_suffix)
}

/// Turns caller-supplied entropy into a 5-character suffix over
/// [`GENERATED_SUFFIX_ALPHABET`]. Deterministic: the randomness is the
/// caller's (this module never reads a random source).
pub fn random_suffix(entropy: u64) -> String {
    let alphabet = GENERATED_SUFFIX_ALPHABET.as_bytes();
    let base = alphabet.len() as u64;
    let mut rest = entropy;
    (0..GENERATED_SUFFIX_LENGTH)
        .map(|_| {
            // `rest % base` is below the alphabet length, so the index is in
            // range and the cast cannot truncate.
            let c = alphabet[(rest % base) as usize];
            rest /= base;
            char::from(c)
        })
        .collect()
}

/// The kind of a field-level validation error; each has a machine-readable
/// cause type (sent as `details.causes[].reason`) and a human phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldErrorType {
    /// A referenced value was not found.
    NotFound,
    /// A required value is missing.
    Required,
    /// A value that must be unique is repeated.
    Duplicate,
    /// A value is malformed.
    Invalid,
    /// A value is not one of the supported enumeration values.
    NotSupported,
    /// A value is well-formed but not permitted here.
    Forbidden,
    /// A value is too long (the value itself is not echoed).
    TooLong,
    /// A value is too short.
    TooShort,
    /// A list has too many items.
    TooMany,
    /// A list has too few items.
    TooFew,
    /// A server-side problem unrelated to the input.
    Internal,
    /// A value has the wrong JSON type for its schema.
    TypeInvalid,
}

impl FieldErrorType {
    /// The `metav1.CauseType` string, e.g. `FieldValueInvalid`.
    pub fn cause_type(self) -> &'static str {
        match self {
            FieldErrorType::NotFound => "FieldValueNotFound",
            FieldErrorType::Required => "FieldValueRequired",
            FieldErrorType::Duplicate => "FieldValueDuplicate",
            FieldErrorType::Invalid => "FieldValueInvalid",
            FieldErrorType::NotSupported => "FieldValueNotSupported",
            FieldErrorType::Forbidden => "FieldValueForbidden",
            FieldErrorType::TooLong => "FieldValueTooLong",
            FieldErrorType::TooShort => "FieldValueTooShort",
            FieldErrorType::TooMany => "FieldValueTooMany",
            FieldErrorType::TooFew => "FieldValueTooFew",
            FieldErrorType::Internal => "InternalError",
            FieldErrorType::TypeInvalid => "FieldValueTypeInvalid",
        }
    }

    /// The phrase that starts the message, e.g. `Invalid value`.
    pub fn phrase(self) -> &'static str {
        match self {
            FieldErrorType::NotFound => "Not found",
            FieldErrorType::Required => "Required value",
            FieldErrorType::Duplicate => "Duplicate value",
            FieldErrorType::Invalid | FieldErrorType::TypeInvalid => "Invalid value",
            FieldErrorType::NotSupported => "Unsupported value",
            FieldErrorType::Forbidden => "Forbidden",
            FieldErrorType::TooLong => "Too long",
            FieldErrorType::TooShort => "Too short",
            FieldErrorType::TooMany => "Too many",
            FieldErrorType::TooFew => "Too few",
            FieldErrorType::Internal => "Internal error",
        }
    }

    /// Whether the offending value is left out of the message.
    fn omits_value(self) -> bool {
        matches!(
            self,
            FieldErrorType::Required
                | FieldErrorType::Forbidden
                | FieldErrorType::TooLong
                | FieldErrorType::TooShort
                | FieldErrorType::Internal
        )
    }
}

/// One field-level validation error, as upstream's `field.Error`.
///
/// Displays as `<field>: <body>`, e.g. `metadata.name: Invalid value: "A":
/// a lowercase RFC 1123 subdomain must ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// What went wrong.
    pub error_type: FieldErrorType,
    /// The JSON field path, e.g. `metadata.labels` or `spec.ports[0].name`.
    pub field: String,
    /// The offending value; `None` leaves it out of the message.
    pub bad_value: Option<Value>,
    /// Further explanation, appended after the value.
    pub detail: String,
}

impl FieldError {
    fn new(
        error_type: FieldErrorType,
        field: impl Into<String>,
        bad_value: Option<Value>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            error_type,
            field: field.into(),
            bad_value,
            detail: detail.into(),
        }
    }

    /// A malformed value.
    pub fn invalid(
        field: impl Into<String>,
        value: impl Into<Value>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(FieldErrorType::Invalid, field, Some(value.into()), detail)
    }

    /// A value of the wrong type.
    pub fn type_invalid(
        field: impl Into<String>,
        value: impl Into<Value>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(
            FieldErrorType::TypeInvalid,
            field,
            Some(value.into()),
            detail,
        )
    }

    /// A missing required value.
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Required, field, None, detail)
    }

    /// A value not permitted under current conditions.
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Forbidden, field, None, detail)
    }

    /// A referenced value that does not exist.
    pub fn not_found(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(FieldErrorType::NotFound, field, Some(value.into()), "")
    }

    /// A repeated value that must be unique.
    pub fn duplicate(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(FieldErrorType::Duplicate, field, Some(value.into()), "")
    }

    /// A value outside an enumeration; lists the supported values.
    pub fn not_supported(
        field: impl Into<String>,
        value: impl Into<Value>,
        supported: &[&str],
    ) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|v| go_quote(v)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(
            FieldErrorType::NotSupported,
            field,
            Some(value.into()),
            detail,
        )
    }

    /// A value longer than `max_bytes`.
    pub fn too_long(field: impl Into<String>, max_bytes: usize) -> Self {
        let unit = if max_bytes == 1 { "byte" } else { "bytes" };
        Self::new(
            FieldErrorType::TooLong,
            field,
            None,
            format!("may not be more than {max_bytes} {unit}"),
        )
    }

    /// A list with more than `max_items` items (`actual` is echoed if known).
    pub fn too_many(field: impl Into<String>, actual: Option<usize>, max_items: usize) -> Self {
        let unit = if max_items == 1 { "item" } else { "items" };
        Self::new(
            FieldErrorType::TooMany,
            field,
            actual.map(Value::from),
            format!("must have at most {max_items} {unit}"),
        )
    }

    /// A server-side failure while validating.
    pub fn internal(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Internal, field, None, detail)
    }

    /// The message without the field path (upstream's `ErrorBody`): the
    /// phrase, the quoted value where shown, then the detail.
    pub fn body(&self) -> String {
        let mut out = self.error_type.phrase().to_owned();
        if !self.error_type.omits_value()
            && let Some(value) = &self.bad_value
        {
            out.push_str(": ");
            out.push_str(&render_value(value));
        }
        if !self.detail.is_empty() {
            out.push_str(": ");
            out.push_str(&self.detail);
        }
        out
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

impl std::error::Error for FieldError {}

/// Joins error messages as upstream's aggregate error does: duplicates
/// dropped, one message alone, several as `[a, b]`.
pub fn aggregate_messages<I, S>(messages: I) -> String
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut seen: Vec<String> = Vec::new();
    for msg in messages {
        let msg = msg.into();
        if !seen.contains(&msg) {
            seen.push(msg);
        }
    }
    match seen.len() {
        0 => String::new(),
        1 => seen.swap_remove(0),
        _ => format!("[{}]", seen.join(", ")),
    }
}

/// Renders a bad value as upstream does: strings Go-quoted, numbers and
/// booleans bare, anything else as compact JSON.
fn render_value(value: &Value) -> String {
    match value {
        Value::String(s) => go_quote(s),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// Quotes a string like Go's `%q` for the characters that occur in practice.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\u{0b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    const NAME_PART_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

    #[test]
    fn dns1123_subdomain_table() {
        let valid = [
            "a",
            "ab",
            "abc",
            "a1",
            "a-1",
            "a--1--2--b",
            "0",
            "01",
            "0-1",
            "a.a",
            "ab.a",
            "a-1.a",
            "a--1--2--b.0",
            "0.a",
            "example.com",
            "kube-system",
            &"a".repeat(253),
            &format!("{}.{}", "a".repeat(63), "b".repeat(63)),
        ];
        for value in valid {
            assert!(is_dns1123_subdomain(value).is_empty(), "{value}");
        }
        let invalid = [
            "", "A", "ABC", "aBc", "A1", "a_1", "a..1", "-1", "1-", "a.", ".a", "a.-b", "a-.b",
            "_", "a b", "a/b", "é",
        ];
        for value in invalid {
            assert_eq!(is_dns1123_subdomain(value), vec![SUBDOMAIN_MSG], "{value}");
        }
        assert_eq!(
            is_dns1123_subdomain(&"a".repeat(254)),
            vec!["must be no more than 253 characters"]
        );
        assert_eq!(
            is_dns1123_subdomain(&format!("{}-", "a".repeat(254))),
            vec![
                "must be no more than 253 characters".to_owned(),
                SUBDOMAIN_MSG.to_owned()
            ]
        );
    }

    #[test]
    fn dns1123_label_table() {
        for value in ["a", "ab", "a-1", "0", "a--1--2--b", &"a".repeat(63)] {
            assert!(is_dns1123_label(value).is_empty(), "{value}");
        }
        for value in ["", "A", "a_b", "-a", "a-", "a b", "é"] {
            assert_eq!(is_dns1123_label(value), vec![LABEL_MSG], "{value}");
        }
        assert_eq!(is_dns1123_label("a.b"), vec!["must not contain dots"]);
        assert_eq!(
            is_dns1123_label(&"a".repeat(64)),
            vec!["must be no more than 63 characters"]
        );
    }

    #[test]
    fn dns1035_label_table() {
        for value in ["a", "my-name", "abc-123", &"a".repeat(63)] {
            assert!(is_dns1035_label(value).is_empty(), "{value}");
        }
        let msg = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
        for value in ["", "1a", "-a", "a-", "A", "a.b"] {
            assert_eq!(is_dns1035_label(value), vec![msg], "{value}");
        }
    }

    #[test]
    fn qualified_name_table() {
        let valid = [
            "simple",
            "now-with-dashes",
            "1-starts-with-num",
            "1234",
            "simple/simple",
            "now-with-dashes/simple",
            "now-with-dashes/now-with-dashes",
            "now.with.dots/simple",
            "now-with.dashes-and.dots/simple",
            "1-num.2-num/3-num",
            "1234/5678",
            "1.2.3.4/5678",
            "Uppercase_Is_OK_123",
            "example.com/Uppercase_Is_OK_123",
            "requests.storage-foo",
            &"a".repeat(63),
            &format!("{}/b", "a".repeat(253)),
        ];
        for value in valid {
            assert!(is_qualified_name(value).is_empty(), "{value}");
        }
        for value in [
            "nospecialchars%^=@",
            "cantendwithadash-",
            "-cantstartwithadash-",
            "only/one/slash",
            "Example.com/abc",
            "example_com/user",
            "example.com/",
            "/simple",
            &"a".repeat(64),
            &format!("{}/b", "a".repeat(254)),
        ] {
            assert!(!is_qualified_name(value).is_empty(), "{value}");
        }
        assert_eq!(is_qualified_name("a!b"), vec![NAME_PART_MSG]);
        assert_eq!(
            is_qualified_name(""),
            vec![
                "name part must be non-empty".to_owned(),
                NAME_PART_MSG.to_owned()
            ]
        );
        assert_eq!(
            is_qualified_name("/a"),
            vec!["prefix part must be non-empty"]
        );
        assert_eq!(
            is_qualified_name("Example.com/a"),
            vec![format!("prefix part {SUBDOMAIN_MSG}")]
        );
        assert_eq!(
            is_qualified_name(&"a".repeat(64)),
            vec!["name part must be no more than 63 characters"]
        );
        assert_eq!(
            is_qualified_name("a/b/c"),
            vec![
                "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            ]
        );
    }

    #[test]
    fn label_value_table() {
        for value in [
            "",
            "simple",
            "now-with-dashes",
            "1-starts-with-num",
            "end-with-num-1",
            "1234",
            "Uppercase_Is_OK_123",
            &"a".repeat(63),
        ] {
            assert!(is_valid_label_value(value).is_empty(), "{value}");
        }
        for value in [
            "nospecialchars%^=@",
            "Tama-nui-te-rā.is.Māori.sun",
            "\\backslashes\\are\\bad",
            "-starts-with-dash",
            "ends-with-dash-",
            ".starts.with.dot",
            "ends.with.dot.",
            "a/b",
        ] {
            assert_eq!(
                is_valid_label_value(value),
                vec![LABEL_VALUE_MSG],
                "{value}"
            );
        }
        assert_eq!(
            is_valid_label_value(&"a".repeat(64)),
            vec!["must be no more than 63 characters"]
        );
    }

    #[test]
    fn path_segment_names() {
        assert!(is_valid_path_segment_name("foo").is_empty());
        assert!(is_valid_path_segment_name("Foo_Bar:baz").is_empty());
        assert_eq!(is_valid_path_segment_name("."), vec!["may not be '.'"]);
        assert_eq!(is_valid_path_segment_name(".."), vec!["may not be '..'"]);
        assert_eq!(
            is_valid_path_segment_name("a/b"),
            vec!["may not contain '/'"]
        );
        assert_eq!(
            is_valid_path_segment_name("a%b"),
            vec!["may not contain '%'"]
        );
        assert_eq!(
            is_valid_path_segment_name("a/%b"),
            vec!["may not contain '/'", "may not contain '%'"]
        );
        assert!(is_valid_path_segment_prefix("..").is_empty());
        assert_eq!(
            is_valid_path_segment_prefix("a/"),
            vec!["may not contain '/'"]
        );
    }

    #[test]
    fn name_rules_with_prefix_masking() {
        let cases = [
            (NameRule::Dns1123Subdomain, "foo-", true, true),
            (NameRule::Dns1123Subdomain, "foo-", false, false),
            (NameRule::Dns1123Subdomain, "-", true, false),
            (NameRule::Dns1123Subdomain, "foo.bar-", true, true),
            (NameRule::Dns1123Label, "ns-", true, true),
            (NameRule::Dns1123Label, "a.b", false, false),
            (NameRule::Dns1035Label, "svc-", true, true),
            (NameRule::Dns1035Label, "1svc", false, false),
            (NameRule::PathSegment, "..", true, true),
            (NameRule::PathSegment, "..", false, false),
            (NameRule::PathSegment, "Any:Thing", false, true),
        ];
        for (rule, name, prefix, ok) in cases {
            assert_eq!(
                rule.validate(name, prefix).is_empty(),
                ok,
                "{rule:?} {name} {prefix}"
            );
        }
    }

    #[test]
    fn object_meta_name() {
        let errs = validate_object_meta_name("", "", NameRule::Dns1123Subdomain);
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].to_string(),
            "metadata.name: Required value: name or generateName is required"
        );
        assert_eq!(errs[0].error_type.cause_type(), "FieldValueRequired");

        let errs = validate_object_meta_name("Bad_Name", "", NameRule::Dns1123Subdomain);
        assert_eq!(
            errs[0].to_string(),
            format!("metadata.name: Invalid value: \"Bad_Name\": {SUBDOMAIN_MSG}")
        );

        let errs = validate_object_meta_name("web-abcde", "web-", NameRule::Dns1123Subdomain);
        assert!(errs.is_empty());

        let errs = validate_object_meta_name("Web-abcde", "Web-", NameRule::Dns1123Label);
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["metadata.generateName", "metadata.name"]);
    }

    #[test]
    fn labels_and_annotations() {
        let mut labels = BTreeMap::new();
        labels.insert("app".to_owned(), "web".to_owned());
        labels.insert("example.com/tier".to_owned(), "".to_owned());
        assert!(validate_labels(&labels, "metadata.labels").is_empty());

        labels.insert("bad key!".to_owned(), "bad value!".to_owned());
        let errs = validate_labels(&labels, "metadata.labels");
        assert_eq!(errs.len(), 2);
        assert_eq!(
            errs[0].to_string(),
            format!("metadata.labels: Invalid value: \"bad key!\": {NAME_PART_MSG}")
        );
        assert_eq!(
            errs[1].to_string(),
            format!("metadata.labels: Invalid value: \"bad value!\": {LABEL_VALUE_MSG}")
        );

        let mut annotations = BTreeMap::new();
        annotations.insert("Example.COM/Some-Key".to_owned(), "x".to_owned());
        assert!(validate_annotations(&annotations, "metadata.annotations").is_empty());

        // Exactly at the limit is fine; one byte over is not.
        annotations.clear();
        annotations.insert(
            "k".to_owned(),
            "v".repeat(TOTAL_ANNOTATION_SIZE_LIMIT_BYTES - 1),
        );
        assert!(validate_annotations(&annotations, "metadata.annotations").is_empty());
        annotations.insert(
            "k".to_owned(),
            "v".repeat(TOTAL_ANNOTATION_SIZE_LIMIT_BYTES),
        );
        let errs = validate_annotations(&annotations, "metadata.annotations");
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].to_string(),
            "metadata.annotations: Too long: may not be more than 262144 bytes"
        );
        assert_eq!(errs[0].error_type.cause_type(), "FieldValueTooLong");
    }

    #[test]
    fn generated_names() {
        assert_eq!(generate_name("web-", "x2b4c"), "web-x2b4c");
        let long = "a".repeat(100);
        let name = generate_name(&long, "bcdfg");
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("bcdfg"));
        assert!(is_dns1123_label(&name).is_empty());
        // Never splits a multi-byte character.
        let tricky = format!("{}é", "a".repeat(57));
        assert_eq!(
            generate_name(&tricky, "bcdfg"),
            format!("{}bcdfg", "a".repeat(57))
        );

        let suffix = random_suffix(0);
        assert_eq!(suffix, "bbbbb");
        for entropy in [1, 42, u64::MAX, 0xdead_beef] {
            let s = random_suffix(entropy);
            assert_eq!(s.len(), GENERATED_SUFFIX_LENGTH);
            assert!(s.chars().all(|c| GENERATED_SUFFIX_ALPHABET.contains(c)));
        }
        assert_ne!(random_suffix(1), random_suffix(2));
    }

    #[test]
    fn field_error_bodies() {
        let cases = [
            (
                FieldError::invalid("spec.x", "a\"b", "bad"),
                "spec.x: Invalid value: \"a\\\"b\": bad",
            ),
            (
                FieldError::invalid("spec.replicas", -1, "must be non-negative"),
                "spec.replicas: Invalid value: -1: must be non-negative",
            ),
            (
                FieldError::invalid("spec.flag", true, ""),
                "spec.flag: Invalid value: true",
            ),
            (
                FieldError::invalid("spec.list", serde_json::json!(["a", 1]), "nope"),
                "spec.list: Invalid value: [\"a\",1]: nope",
            ),
            (
                FieldError::invalid("spec.n", Value::Null, "x"),
                "spec.n: Invalid value: null: x",
            ),
            (
                FieldError::required("spec.containers", ""),
                "spec.containers: Required value",
            ),
            (
                FieldError::forbidden("spec.x", "may not be set"),
                "spec.x: Forbidden: may not be set",
            ),
            (
                FieldError::not_supported("spec.policy", "Sometimes", &["Always", "Never"]),
                "spec.policy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"Never\"",
            ),
            (
                FieldError::duplicate("spec.ports[1].name", "http"),
                "spec.ports[1].name: Duplicate value: \"http\"",
            ),
            (
                FieldError::not_found("spec.ref", "x"),
                "spec.ref: Not found: \"x\"",
            ),
            (
                FieldError::too_long("metadata.name", 1),
                "metadata.name: Too long: may not be more than 1 byte",
            ),
            (
                FieldError::too_many("spec.items", Some(11), 10),
                "spec.items: Too many: 11: must have at most 10 items",
            ),
            (
                FieldError::too_many("spec.items", None, 1),
                "spec.items: Too many: must have at most 1 item",
            ),
            (
                FieldError::internal("spec", "boom"),
                "spec: Internal error: boom",
            ),
            (
                FieldError::type_invalid("spec.n", "x", "must be integer"),
                "spec.n: Invalid value: \"x\": must be integer",
            ),
        ];
        for (err, expected) in cases {
            assert_eq!(err.to_string(), expected);
        }
    }

    #[test]
    fn aggregation_dedups_and_brackets() {
        assert_eq!(aggregate_messages(Vec::<String>::new()), "");
        assert_eq!(aggregate_messages(["a"]), "a");
        assert_eq!(aggregate_messages(["a", "a"]), "a");
        assert_eq!(aggregate_messages(["a", "b", "a"]), "[a, b]");
    }

    #[test]
    fn go_quoting() {
        assert_eq!(go_quote("plain"), "\"plain\"");
        assert_eq!(go_quote("tab\there"), "\"tab\\there\"");
        assert_eq!(go_quote("nul\u{0}"), "\"nul\\x00\"");
        assert_eq!(go_quote("rā"), "\"rā\"");
    }
}

//! The field-level error ([`FieldError`], upstream's `field.Error`) that
//! `422 Invalid` responses are built from, and its Go-compatible rendering.

use std::fmt;

use serde_json::Value;

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
    pub(crate) fn cause_type(self) -> &'static str {
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
    pub(crate) fn phrase(self) -> &'static str {
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
    pub(crate) fn type_invalid(
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
    pub(crate) fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Forbidden, field, None, detail)
    }

    /// A referenced value that does not exist.
    #[cfg(test)]
    pub(crate) fn not_found(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(FieldErrorType::NotFound, field, Some(value.into()), "")
    }

    /// A field error from its rendered text (`fieldManager: Too long: may
    /// not be more than 128 bytes`), as crates that validate without this
    /// one word them: the phrase gives the type, the rest is the detail.
    pub fn from_message(text: &str) -> Self {
        const TYPES: [FieldErrorType; 11] = [
            FieldErrorType::NotFound,
            FieldErrorType::Required,
            FieldErrorType::Duplicate,
            FieldErrorType::Invalid,
            FieldErrorType::NotSupported,
            FieldErrorType::Forbidden,
            FieldErrorType::TooLong,
            FieldErrorType::TooShort,
            FieldErrorType::TooMany,
            FieldErrorType::TooFew,
            FieldErrorType::Internal,
        ];
        let (field, body) = text.split_once(": ").unwrap_or(("", text));
        for t in TYPES {
            if let Some(rest) = body.strip_prefix(t.phrase()) {
                let detail = rest.strip_prefix(": ").unwrap_or(rest);
                return Self::new(t, field, None, detail);
            }
        }
        Self::new(FieldErrorType::Invalid, field, None, body)
    }

    /// A repeated value that must be unique.
    pub(crate) fn duplicate(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(FieldErrorType::Duplicate, field, Some(value.into()), "")
    }

    /// A value outside an enumeration; lists the supported values.
    pub(crate) fn not_supported(
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
    pub(crate) fn too_long(field: impl Into<String>, max_bytes: usize) -> Self {
        let unit = if max_bytes == 1 { "byte" } else { "bytes" };
        Self::new(
            FieldErrorType::TooLong,
            field,
            None,
            format!("may not be more than {max_bytes} {unit}"),
        )
    }

    /// A list with more than `max_items` items (`actual` is echoed if known).
    pub(crate) fn too_many(
        field: impl Into<String>,
        actual: Option<usize>,
        max_items: usize,
    ) -> Self {
        let unit = if max_items == 1 { "item" } else { "items" };
        Self::new(
            FieldErrorType::TooMany,
            field,
            actual.map(Value::from),
            format!("must have at most {max_items} {unit}"),
        )
    }

    /// A server-side failure while validating.
    #[cfg(test)]
    pub(crate) fn internal(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Internal, field, None, detail)
    }

    /// The message without the field path (upstream's `ErrorBody`): the
    /// phrase, the quoted value where shown, then the detail.
    pub(crate) fn body(&self) -> String {
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
pub(crate) fn aggregate_messages<I, S>(messages: I) -> String
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
/// The most characters of a bad value an error message repeats: enough
/// for any field a person reads, while a request that makes a huge value
/// invalid does not get it echoed back.
const MAX_RENDERED_VALUE: usize = 4096;

fn render_value(value: &Value) -> String {
    let mut out = match value {
        Value::String(s) => go_quote(s),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    };
    if out.len() > MAX_RENDERED_VALUE {
        let mut end = MAX_RENDERED_VALUE;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out.push_str("...");
    }
    out
}

/// Quotes a string like Go's `%q` (`strconv.Quote`): `"` and `\` escaped,
/// control characters escaped, printable text kept as is. Upstream builds
/// many messages clients compare verbatim with it.
pub fn go_quote(s: &str) -> String {
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
            c if c.is_control() => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

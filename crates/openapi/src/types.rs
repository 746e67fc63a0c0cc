//! Type checking of built-in objects against the published schemas, as
//! kube-apiserver's typed JSON decoding checks them: a value of the wrong
//! JSON type can never be stored, or typed clients (client-go, the Python
//! client) would fail to decode whole lists.
//!
//! The walk follows the same schemas as [`OpenApi::unknown_fields`] and
//! reports the first mismatch in the words of Go's decoder:
//!
//! - `json: cannot unmarshal <json type> into Go struct field
//!   <Struct>.<path> of type <Go type>`, where `<Struct>` is the innermost
//!   struct holding the field (the last segment of its definition name, e.g.
//!   `PodSpec`), `<path>` is the JSON path from the root without indexes or
//!   map keys (`spec.containers`), and `<Go type>` is derived from the
//!   schema: `string`, `bool`, `float64`, `int32`/`int64` (from the integer
//!   format; `int64` when absent), `[]uint8` (base64 bytes), `[]<T>`,
//!   `map[string]<T>`, and `<pkg>.<Name>` for a referenced struct (the last
//!   two segments of its definition name, e.g. `v1.Container`). Named string
//!   types (`v1.PullPolicy`) are not known to the schema and read `string`.
//!   A number that does not fit an integer is quoted: `number 1.5`.
//! - `illegal base64 data at input byte N` for `format: byte` strings, with
//!   Go's `base64.StdEncoding` rules (padding required, `\r`/`\n` skipped).
//! - Quantities accept a string or a number, IntOrString a string or an
//!   int32; anything else reads as upstream's custom decoders say.
//!
//! `null` is accepted everywhere, as Go's decoder accepts it (it leaves the
//! zero value). Schemas that describe no structure (RawExtension, FieldsV1,
//! JSON, objects without properties) accept anything. Only built-in (swagger
//! 2.0) schemas are checked; custom resources have their structural schema
//! validation. Linear in the size of the object, bounded in depth.

use serde_json::{Map, Value};

use crate::definitions::GroupVersionKind;
use crate::schema::{INT_OR_STRING, QUANTITY};
use crate::spec::{Form, OpenApi};
use crate::unknown::{MAX_DEPTH, follow_named};

/// Upstream's `resource.ErrFormatWrong`.
const QUANTITY_FORMAT: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

impl OpenApi {
    /// The first type mismatch of `object` against the built-in schema of
    /// `gvk`, worded as Go's decoder words it (see the module docs); `None`
    /// when the object type-checks or no built-in schema describes `gvk`.
    pub fn type_error(&self, gvk: &GroupVersionKind, object: &Value) -> Option<String> {
        let name = self.schema_name_for(gvk)?;
        let (_, form) = self.schema(name)?;
        if !matches!(form, Form::V2) {
            return None;
        }
        let root = json_ref(name);
        let mut checker = Checker {
            openapi: self,
            path: String::new(),
        };
        checker.check(&root, object, short_name(name), 0).err()
    }
}

fn json_ref(name: &str) -> Value {
    let mut map = Map::new();
    map.insert(
        "$ref".into(),
        Value::String(format!("{}{name}", crate::schema::V2_PREFIX)),
    );
    Value::Object(map)
}

struct Checker<'o> {
    openapi: &'o OpenApi,
    /// Go's field path: JSON names of struct fields, no indexes or keys.
    path: String,
}

impl Checker<'_> {
    fn check(
        &mut self,
        schema: &Value,
        value: &Value,
        owner: &str,
        depth: usize,
    ) -> Result<(), String> {
        if depth > MAX_DEPTH || value.is_null() {
            return Ok(());
        }
        let Some((schema, name)) = follow_named(self.openapi, schema) else {
            return Ok(());
        };
        match name.as_deref() {
            Some(QUANTITY) => {
                return match value {
                    Value::String(_) | Value::Number(_) => Ok(()),
                    _ => Err(QUANTITY_FORMAT.to_string()),
                };
            }
            Some(INT_OR_STRING) => {
                return match value {
                    Value::String(_) => Ok(()),
                    _ => self.integer(value, "int32", owner),
                };
            }
            _ => {}
        }
        let format = schema.get("format").and_then(Value::as_str);
        if format == Some("int-or-string") {
            return match value {
                Value::String(_) => Ok(()),
                _ => self.integer(value, "int32", owner),
            };
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("string") if format == Some("byte") => self.bytes(value, owner),
            Some("string") => self.expect(value.is_string(), value, "string", owner),
            Some("integer") => {
                let go = if format == Some("int32") {
                    "int32"
                } else {
                    "int64"
                };
                self.integer(value, go, owner)
            }
            Some("number") => self.expect(value.is_number(), value, "float64", owner),
            Some("boolean") => self.expect(value.is_boolean(), value, "bool", owner),
            Some("array") => {
                let Some(items_schema) = schema.get("items").filter(|i| i.is_object()) else {
                    return Ok(());
                };
                let Value::Array(items) = value else {
                    let go = format!("[]{}", self.go_type(items_schema, 0));
                    return Err(self.mismatch(value, &go, owner));
                };
                for item in items {
                    self.check(items_schema, item, owner, depth + 1)?;
                }
                Ok(())
            }
            Some("object") => self.object(&schema, name.as_deref(), value, owner, depth),
            _ => Ok(()),
        }
    }

    fn object(
        &mut self,
        schema: &Value,
        name: Option<&str>,
        value: &Value,
        owner: &str,
        depth: usize,
    ) -> Result<(), String> {
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties").filter(|a| a.is_object());
        if properties.is_none() && additional.is_none() {
            // Opaque (RawExtension, FieldsV1): Go accepts any JSON there.
            return Ok(());
        }
        let Value::Object(fields) = value else {
            let go = match (properties, name, additional) {
                (Some(_), Some(name), _) => go_name(name),
                (Some(_), None, _) => "struct".to_string(),
                (None, _, Some(additional)) => {
                    format!("map[string]{}", self.go_type(additional, 0))
                }
                (None, _, None) => "interface {}".to_string(),
            };
            return Err(self.mismatch(value, &go, owner));
        };
        // Fields of a struct are reported against that struct's Go name.
        let inner_owner = match (properties, name) {
            (Some(_), Some(name)) => short_name(name),
            _ => owner,
        };
        for (key, field) in fields {
            if let Some(sub) = properties.and_then(|p| p.get(key)) {
                let len = self.path.len();
                if !self.path.is_empty() {
                    self.path.push('.');
                }
                self.path.push_str(key);
                let result = self.check(sub, field, inner_owner, depth + 1);
                self.path.truncate(len);
                result?;
            } else if let Some(additional) = additional {
                // Map values: Go's error path names the map, not the key.
                self.check(additional, field, owner, depth + 1)?;
            }
        }
        Ok(())
    }

    fn expect(&self, ok: bool, value: &Value, go: &str, owner: &str) -> Result<(), String> {
        if ok {
            Ok(())
        } else {
            Err(self.mismatch(value, go, owner))
        }
    }

    fn integer(&self, value: &Value, go: &str, owner: &str) -> Result<(), String> {
        let Value::Number(number) = value else {
            return Err(self.mismatch(value, go, owner));
        };
        let fits = match number.as_i64() {
            Some(n) if go == "int32" => i32::try_from(n).is_ok(),
            Some(_) => true,
            None => false,
        };
        if fits {
            Ok(())
        } else {
            Err(self.message(&format!("number {number}"), go, owner))
        }
    }

    /// `[]byte`: a base64 string, or (as Go also decodes) an array of bytes.
    fn bytes(&self, value: &Value, owner: &str) -> Result<(), String> {
        match value {
            Value::String(text) => match base64_error(text.as_bytes()) {
                Some(at) => Err(format!("illegal base64 data at input byte {at}")),
                None => Ok(()),
            },
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::Null => {}
                        Value::Number(n) if n.as_u64().is_some_and(|b| b <= 255) => {}
                        Value::Number(n) => {
                            return Err(self.message(&format!("number {n}"), "uint8", owner));
                        }
                        other => return Err(self.mismatch(other, "uint8", owner)),
                    }
                }
                Ok(())
            }
            other => Err(self.mismatch(other, "[]uint8", owner)),
        }
    }

    fn mismatch(&self, value: &Value, go: &str, owner: &str) -> String {
        self.message(json_type(value), go, owner)
    }

    fn message(&self, what: &str, go: &str, owner: &str) -> String {
        if self.path.is_empty() {
            format!("json: cannot unmarshal {what} into Go value of type {go}")
        } else {
            format!(
                "json: cannot unmarshal {what} into Go struct field {owner}.{} of type {go}",
                self.path
            )
        }
    }

    /// The Go type a schema decodes into, as Go prints it (approximately:
    /// see the module docs).
    fn go_type(&self, schema: &Value, depth: usize) -> String {
        if depth > 8 {
            return "interface {}".to_string();
        }
        let Some((schema, name)) = follow_named(self.openapi, schema) else {
            return "interface {}".to_string();
        };
        if let Some(name) = name {
            return go_name(&name);
        }
        let format = schema.get("format").and_then(Value::as_str);
        let nested = |key: &str| schema.get(key).filter(|s| s.is_object());
        match schema.get("type").and_then(Value::as_str) {
            Some("string") if format == Some("byte") => "[]uint8".to_string(),
            Some("string") => "string".to_string(),
            Some("integer") if format == Some("int32") => "int32".to_string(),
            Some("integer") => "int64".to_string(),
            Some("number") => "float64".to_string(),
            Some("boolean") => "bool".to_string(),
            Some("array") => match nested("items") {
                Some(items) => format!("[]{}", self.go_type(items, depth + 1)),
                None => "[]interface {}".to_string(),
            },
            Some("object") => match nested("additionalProperties") {
                Some(values) => format!("map[string]{}", self.go_type(values, depth + 1)),
                None if schema.get("properties").is_some() => "struct".to_string(),
                None => "map[string]interface {}".to_string(),
            },
            _ => "interface {}".to_string(),
        }
    }
}

/// `io.k8s.api.core.v1.Container` → `Container`.
fn short_name(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// `io.k8s.api.core.v1.Container` → `v1.Container`.
fn go_name(name: &str) -> String {
    let mut parts = name.rsplit('.');
    match (parts.next(), parts.next()) {
        (Some(last), Some(package)) => format!("{package}.{last}"),
        _ => name.to_string(),
    }
}

/// How Go's decoder names a JSON value's type.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_base64_alphabet(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}

fn skip_newlines(src: &[u8], mut at: usize) -> usize {
    while src.get(at).is_some_and(|c| *c == b'\n' || *c == b'\r') {
        at += 1;
    }
    at
}

/// The offset Go's `base64.StdEncoding.DecodeString` reports as corrupt
/// (`illegal base64 data at input byte N`), or `None` when `src` decodes:
/// groups of four alphabet bytes, the last padded with `=`; `\r` and `\n`
/// are skipped anywhere; nothing may follow the padding.
fn base64_error(src: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        // One quantum of up to four alphabet bytes.
        let mut count = 0;
        while count < 4 {
            let Some(&c) = src.get(at) else {
                return if count == 0 { None } else { Some(at - count) };
            };
            at += 1;
            if is_base64_alphabet(c) {
                count += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' {
                return Some(at - 1);
            }
            match count {
                0 | 1 => return Some(at - 1),
                2 => {
                    // A second `=` must follow.
                    at = skip_newlines(src, at);
                    match src.get(at) {
                        None => return Some(src.len()),
                        Some(b'=') => at += 1,
                        Some(_) => return Some(at - 1),
                    }
                }
                _ => {}
            }
            at = skip_newlines(src, at);
            return if at < src.len() { Some(at) } else { None };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::base64_error;

    #[test]
    fn base64_errors_match_go_offsets() {
        for ok in [
            "",
            "AA==",
            "AAA=",
            "AAAA",
            "aGVsbG8=",
            "aGVs\nbG8=",
            "AA=\n=",
            "AA==\r\n",
        ] {
            assert_eq!(base64_error(ok.as_bytes()), None, "{ok:?}");
        }
        for (bad, at) in [
            ("not-base64!!", 3),
            ("A", 0),
            ("AA", 0),
            ("AAA", 0),
            ("AAAAA", 4),
            ("=AAA", 0),
            ("A=AA", 1),
            ("AA=", 3),
            ("AA=A", 2),
            ("AA==A", 4),
            ("AAA=A", 4),
            ("AAAA ", 4),
            ("aGVsbG8", 4),
        ] {
            assert_eq!(base64_error(bad.as_bytes()), Some(at), "{bad:?}");
        }
    }
}

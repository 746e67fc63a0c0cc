//! Validation of a custom object against its version's [`Schema`]: the
//! OpenAPI keywords (upstream's kube-openapi `SchemaValidator`).

use serde_json::{Map, Value};

use super::embedded::validate_embedded;
use super::formats::format_valid;
use super::list_type::validate_lists;
use super::path::{child, index, join};
use super::schema::{AdditionalProperties, Schema};
use super::values::{
    Num, first_repeats, go_float, in_body, is_json_integer, json_eq, kind_of, num_value,
};
use crate::validation::{FieldError, go_quote};

// ---------------------------------------------------------------------------
// Validation of objects
// ---------------------------------------------------------------------------

/// Validates a custom object against its version's schema, as the custom
/// resource strategy upstream does: the OpenAPI keywords, then the
/// `apiVersion`/`kind`/`metadata` of embedded resources, then the uniqueness
/// of `x-kubernetes-list-type: set|map` lists. Call it after [`prune`] and
/// [`apply_defaults`]. The root `metadata` itself is the server's (generic
/// object-meta validation), as are `apiVersion`/`kind` at the root.
///
/// Messages are upstream's (`spec.replicas: Invalid value: "string":
/// spec.replicas in body must be of type integer: "string"`). Upstream
/// reports a few errors without a field path (`<nil>`): failed
/// `anyOf`/`oneOf`/`allOf`/`not`; here they carry the path of the value.
pub fn validate(schema: &Schema, obj: &Value) -> Vec<FieldError> {
    let mut v = Validator::new("");
    v.validate(schema, obj, "");
    let mut errs = v.errs;
    validate_embedded(schema, obj, "", &mut errs);
    validate_lists(schema, obj, "", &mut errs);
    errs
}

/// The OpenAPI keyword validator (upstream's kube-openapi `SchemaValidator`).
/// `base` prefixes every field path; names in messages are relative to it.
pub(crate) struct Validator<'b> {
    pub(crate) base: &'b str,
    pub(crate) errs: Vec<FieldError>,
}

impl<'b> Validator<'b> {
    pub(crate) fn new(base: &'b str) -> Self {
        Self {
            base,
            errs: Vec::new(),
        }
    }

    fn field(&self, name: &str) -> String {
        join(self.base, name)
    }

    fn invalid(&mut self, name: &str, value: impl Into<Value>, detail: impl Into<String>) {
        let field = self.field(name);
        self.errs.push(FieldError::invalid(field, value, detail));
    }

    /// Validates `v` against `s` into a fresh error list (for `anyOf` etc.).
    fn sub(&self, s: &Schema, v: &Value, name: &str) -> Vec<FieldError> {
        let mut sub = Validator::new(self.base);
        sub.validate(s, v, name);
        sub.errs
    }

    pub(crate) fn validate(&mut self, s: &Schema, v: &Value, name: &str) {
        self.check_type(s, v, name);
        if v.is_null() {
            self.check_enum(s, v, name);
            return;
        }
        self.check_composition(s, v, name);
        if let Value::String(text) = v {
            self.check_string(s, text, name);
            self.check_format(s, text, name);
        }
        if let Value::Number(n) = v {
            self.check_number(s, Num::of(n), name);
        }
        if let Value::Array(items) = v {
            self.check_array(s, items, name);
        }
        self.check_enum(s, v, name);
        if let Value::Object(m) = v {
            self.check_object(s, m, name);
        }
    }

    /// Upstream's type validator, including its format-driven branch and its
    /// acceptance of integral floats for `integer`.
    fn check_type(&mut self, s: &Schema, v: &Value, name: &str) {
        let types: Vec<&str> = if s.int_or_string {
            vec!["integer", "string"]
        } else {
            s.type_.iter().map(String::as_str).collect()
        };
        let format = s.effective_format();
        if types.is_empty() && format.is_none() {
            return;
        }
        let joined = types.join(",");
        if v.is_null() {
            if !types.is_empty() && !types.contains(&"null") && !s.nullable {
                let field = self.field(name);
                self.errs.push(FieldError::type_invalid(
                    field,
                    "null",
                    in_body(name, &format!("must be of type {joined}: \"null\"")),
                ));
            }
            return;
        }
        let (json_type, go_format) = kind_of(v);
        let is_float_int = match v {
            Value::Number(n) => match Num::of(n) {
                Num::Float(f) => is_json_integer(f) && types.contains(&"integer"),
                Num::Int(_) => false,
            },
            _ => false,
        };
        let is_int_float = json_type == "integer" && types.contains(&"number");
        let string_or_array = v.is_string() || v.is_array();
        if let Some(format) = format
            && !string_or_array
            && !(types.contains(&json_type) || go_format == format || is_float_int || is_int_float)
        {
            let field = self.field(name);
            self.errs.push(FieldError::type_invalid(
                field,
                go_format,
                in_body(
                    name,
                    &format!("must be of type {format}: {}", go_quote(go_format)),
                ),
            ));
            return;
        }
        // Upstream lets any string or array through a formatted non-numeric
        // type here; the format itself is checked on strings only.
        if format.is_some()
            && string_or_array
            && !(types.contains(&"number") || types.contains(&"integer"))
        {
            return;
        }
        if !(types.contains(&json_type) || is_float_int || is_int_float) {
            let field = self.field(name);
            self.errs.push(FieldError::type_invalid(
                field,
                json_type,
                in_body(name, &format!("must be of type {joined}: \"{json_type}\"")),
            ));
        }
    }

    fn check_composition(&mut self, s: &Schema, v: &Value, name: &str) {
        if !s.any_of.is_empty() {
            let mut best: Option<Vec<FieldError>> = None;
            let mut succeeded = false;
            for branch in &s.any_of {
                let errs = self.sub(branch, v, name);
                if errs.is_empty() {
                    succeeded = true;
                    best = None;
                    break;
                }
                if best.as_ref().is_none_or(|b| errs.len() < b.len()) {
                    best = Some(errs);
                }
            }
            if !succeeded {
                self.invalid(
                    name,
                    "",
                    format!(
                        "{} must validate at least one schema (anyOf)",
                        go_quote(name)
                    ),
                );
            }
            self.errs.extend(best.unwrap_or_default());
        }
        if !s.one_of.is_empty() {
            let mut best: Option<Vec<FieldError>> = None;
            let mut validated = 0;
            for branch in &s.one_of {
                let errs = self.sub(branch, v, name);
                if errs.is_empty() {
                    validated += 1;
                    best = None;
                    continue;
                }
                if validated == 0 && best.as_ref().is_none_or(|b| errs.len() < b.len()) {
                    best = Some(errs);
                }
            }
            if validated != 1 {
                let found = if validated == 0 {
                    "Found none valid".to_owned()
                } else {
                    format!("Found {validated} valid alternatives")
                };
                self.invalid(
                    name,
                    "",
                    format!(
                        "{} must validate one and only one schema (oneOf). {found}",
                        go_quote(name)
                    ),
                );
                self.errs.extend(best.unwrap_or_default());
            }
        }
        if !s.all_of.is_empty() {
            let mut validated = 0;
            for branch in &s.all_of {
                let errs = self.sub(branch, v, name);
                if errs.is_empty() {
                    validated += 1;
                }
                self.errs.extend(errs);
            }
            if validated != s.all_of.len() {
                let none = if validated == 0 {
                    ". None validated"
                } else {
                    ""
                };
                self.invalid(
                    name,
                    "",
                    format!(
                        "{} must validate all the schemas (allOf){none}",
                        go_quote(name)
                    ),
                );
            }
        }
        if let Some(not) = &s.not
            && self.sub(not, v, name).is_empty()
        {
            self.invalid(
                name,
                "",
                format!("{} must not validate the schema (not)", go_quote(name)),
            );
        }
    }

    /// `maxLength`, `minLength`, `pattern`: the first failure only, as
    /// upstream. Lengths count characters, not bytes.
    fn check_string(&mut self, s: &Schema, text: &str, name: &str) {
        let len = i64::try_from(text.chars().count()).unwrap_or(i64::MAX);
        if let Some(max) = s.max_length
            && len > max
        {
            let field = self.field(name);
            self.errs.push(FieldError::too_long(
                field,
                usize::try_from(max).unwrap_or(0),
            ));
            return;
        }
        if let Some(min) = s.min_length
            && len < min
        {
            self.invalid(
                name,
                text,
                in_body(name, &format!("should be at least {min} chars long")),
            );
            return;
        }
        if let Some(pattern) = &s.pattern {
            match &pattern.regex {
                Ok(re) => {
                    if !re.is_match(text) {
                        self.invalid(
                            name,
                            text,
                            in_body(name, &format!("should match '{}'", pattern.source)),
                        );
                    }
                }
                Err(e) => self.invalid(
                    name,
                    text,
                    in_body(
                        name,
                        &format!(
                            "should match '{}, but pattern is invalid: {e}'",
                            pattern.source
                        ),
                    ),
                ),
            }
        }
    }

    fn check_format(&mut self, s: &Schema, text: &str, name: &str) {
        let Some(format) = s.effective_format() else {
            return;
        };
        if !format_valid(&format.replace('-', ""), text) {
            let field = self.field(name);
            self.errs.push(FieldError::type_invalid(
                field,
                text,
                in_body(
                    name,
                    &format!("must be of type {format}: {}", go_quote(text)),
                ),
            ));
        }
    }

    /// `multipleOf`, `maximum`, `minimum` (with the OpenAPI v3.0 boolean
    /// `exclusiveMaximum`/`exclusiveMinimum`). Integers are compared as
    /// integers against the truncated bound, as upstream does.
    fn check_number(&mut self, s: &Schema, n: Num, name: &str) {
        if let Some(factor) = s.multiple_of {
            self.check_multiple_of(factor, n, name);
        }
        if let Some(max) = s.maximum {
            let excl = s.exclusive_maximum;
            let cmp = if excl { "" } else { " or equal to" };
            let fail = match n {
                Num::Int(i) => {
                    let m = max as i64;
                    ((!excl && i > m) || (excl && i >= m)).then(|| m.to_string())
                }
                Num::Float(f) => ((!excl && f > max) || (excl && f >= max)).then(|| go_float(max)),
            };
            if let Some(bound) = fail {
                self.invalid(
                    name,
                    num_value(n),
                    in_body(name, &format!("should be less than{cmp} {bound}")),
                );
            }
        }
        if let Some(min) = s.minimum {
            let excl = s.exclusive_minimum;
            let cmp = if excl { "" } else { " or equal to" };
            let fail = match n {
                Num::Int(i) => {
                    let m = min as i64;
                    ((!excl && i < m) || (excl && i <= m)).then(|| m.to_string())
                }
                Num::Float(f) => ((!excl && f < min) || (excl && f <= min)).then(|| go_float(min)),
            };
            if let Some(bound) = fail {
                self.invalid(
                    name,
                    num_value(n),
                    in_body(name, &format!("should be greater than{cmp} {bound}")),
                );
            }
        }
    }

    fn check_multiple_of(&mut self, factor: f64, n: Num, name: &str) {
        if factor < 0.0 {
            let shown = match n {
                Num::Int(_) if factor.fract() == 0.0 => (factor as i64).to_string(),
                _ => go_float(factor),
            };
            self.invalid(
                name,
                factor,
                format!("factor MultipleOf declared for {name} must be positive: {shown}"),
            );
            return;
        }
        let failed = match n {
            Num::Int(i) if factor.fract() == 0.0 && factor >= 1.0 => {
                let f = factor as i64;
                (i % f != 0).then(|| f.to_string())
            }
            _ => {
                let d = n.as_f64();
                let mult = if factor < 1.0 {
                    1.0 / factor * d
                } else {
                    d / factor
                };
                (!is_json_integer(mult)).then(|| go_float(factor))
            }
        };
        if let Some(shown) = failed {
            self.invalid(
                name,
                num_value(n),
                in_body(name, &format!("should be a multiple of {shown}")),
            );
        }
    }

    fn check_array(&mut self, s: &Schema, items: &[Value], name: &str) {
        if let Some(item_schema) = &s.items {
            for (i, item) in items.iter().enumerate() {
                self.validate(item_schema, item, &index(name, i));
            }
        }
        let len = items.len();
        let len_i64 = i64::try_from(len).unwrap_or(i64::MAX);
        if let Some(min) = s.min_items
            && len_i64 < min
        {
            self.invalid(
                name,
                len_i64,
                in_body(name, &format!("should have at least {min} items")),
            );
        }
        if let Some(max) = s.max_items
            && len_i64 > max
        {
            let field = self.field(name);
            self.errs.push(FieldError::too_many(
                field,
                Some(len),
                usize::try_from(max).unwrap_or(0),
            ));
        }
        if s.unique_items && first_repeats(items).next().is_some() {
            self.invalid(name, "", in_body(name, "shouldn't contain duplicates"));
        }
    }

    /// `enum`. Numbers compare by value (`1` equals `1.0`). A `null` passes
    /// when the schema is `nullable` (upstream rejects it even then, which
    /// makes nullable enums unusable; this is a deliberate deviation).
    fn check_enum(&mut self, s: &Schema, v: &Value, name: &str) {
        let Some(values) = &s.enum_values else {
            return;
        };
        if values.is_empty() || values.iter().any(|e| json_eq(e, v)) {
            return;
        }
        if v.is_null() && s.nullable {
            return;
        }
        let supported: Vec<String> = values
            .iter()
            .map(|e| match e {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .collect();
        let supported: Vec<&str> = supported.iter().map(String::as_str).collect();
        let field = self.field(name);
        self.errs
            .push(FieldError::not_supported(field, v.clone(), &supported));
    }

    fn check_object(&mut self, s: &Schema, m: &Map<String, Value>, name: &str) {
        let count = i64::try_from(m.len()).unwrap_or(i64::MAX);
        if let Some(min) = s.min_properties
            && count < min
        {
            self.invalid(
                name,
                count,
                in_body(name, &format!("should have at least {min} properties")),
            );
            return;
        }
        if let Some(max) = s.max_properties
            && count > max
        {
            let field = self.field(name);
            self.errs.push(FieldError::too_many(
                field,
                Some(m.len()),
                usize::try_from(max).unwrap_or(0),
            ));
            return;
        }
        match &s.additional_properties {
            Some(AdditionalProperties::Allowed(false)) => {
                for k in m.keys().filter(|k| !s.properties.contains_key(*k)) {
                    self.invalid(
                        name,
                        k.as_str(),
                        format!("{name}.{k} in body is a forbidden property"),
                    );
                }
            }
            Some(AdditionalProperties::Schema(extra)) => {
                for (k, v) in m.iter().filter(|(k, _)| !s.properties.contains_key(*k)) {
                    self.validate(extra, v, &child(name, k));
                }
            }
            _ => {}
        }
        for (k, prop) in &s.properties {
            if let Some(v) = m.get(k) {
                self.validate(prop, v, &child(name, k));
            }
        }
        for r in &s.required {
            if !m.contains_key(r) {
                let field = self.field(&child(name, r));
                self.errs.push(FieldError::required(field, ""));
            }
        }
    }
}

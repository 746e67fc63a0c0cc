//! Structural OpenAPI v3 schemas as CustomResourceDefinitions use them: the
//! checks a CRD's `openAPIV3Schema` must pass ([`validate_schema`],
//! [`is_structural`]), and the four things the server does with a custom
//! object and the [`Schema`] of its version: [`validate`] it (422 with every
//! failing field), [`prune`] unknown fields (reported for `Warning` headers and
//! `fieldValidation=Strict`), and [`apply_defaults`] on create, update and read.
//!
//! Field paths and message texts are upstream's (kube-apiserver's schema
//! validator, its pruning, defaulting and list-type checks), because clients
//! and people compare them verbatim; where upstream's text is unreadable or
//! attached to no field at all, the deviation is documented at the function.
//! This module must never do I/O, read the clock, panic on user input (schemas
//! and objects are user input), or evaluate `x-kubernetes-validations` (CEL):
//! those rules are accepted and ignored.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Number, Value};

use crate::validation::{
    FieldError, NameRule, go_quote, is_dns1035_label, is_dns1123_label, is_dns1123_subdomain,
    validate_annotations, validate_labels, validate_object_meta_name,
};

// ---------------------------------------------------------------------------
// Field paths (upstream's `field.Path`)
// ---------------------------------------------------------------------------

/// `base.name` (upstream's `Child`); just `name` at the root.
pub(crate) fn child(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_owned()
    } else {
        format!("{base}.{name}")
    }
}

/// `base[i]` (upstream's `Index`).
pub(crate) fn index(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}

/// `base[key]` (upstream's `Key`, no quoting).
pub(crate) fn key(base: &str, k: &str) -> String {
    format!("{base}[{k}]")
}

/// Joins a field-path prefix and a data path relative to it.
fn join(base: &str, rel: &str) -> String {
    if base.is_empty() {
        rel.to_owned()
    } else if rel.is_empty() {
        base.to_owned()
    } else if rel.starts_with('[') {
        format!("{base}{rel}")
    } else {
        format!("{base}.{rel}")
    }
}

// ---------------------------------------------------------------------------
// The parsed schema
// ---------------------------------------------------------------------------

/// A parsed `openAPIV3Schema` node, ready to validate, prune and default
/// objects. Parse once per CRD version ([`Schema::from_json`]) and keep it:
/// parsing compiles the `pattern` regular expressions.
///
/// Parsing is lenient (a malformed keyword counts as absent); whether the
/// schema is acceptable at all is [`validate_schema`]'s job.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub(crate) type_: Option<String>,
    format: Option<String>,
    nullable: bool,
    pub(crate) properties: BTreeMap<String, Schema>,
    additional_properties: Option<AdditionalProperties>,
    pub(crate) items: Option<Box<Schema>>,
    required: Vec<String>,
    enum_values: Option<Vec<Value>>,
    pattern: Option<Pattern>,
    minimum: Option<f64>,
    exclusive_minimum: bool,
    maximum: Option<f64>,
    exclusive_maximum: bool,
    multiple_of: Option<f64>,
    min_length: Option<i64>,
    max_length: Option<i64>,
    min_items: Option<i64>,
    max_items: Option<i64>,
    min_properties: Option<i64>,
    max_properties: Option<i64>,
    unique_items: bool,
    default: Option<Value>,
    preserve_unknown_fields: bool,
    pub(crate) int_or_string: bool,
    embedded_resource: bool,
    list_type: Option<String>,
    list_map_keys: Vec<String>,
    all_of: Vec<Schema>,
    any_of: Vec<Schema>,
    one_of: Vec<Schema>,
    not: Option<Box<Schema>>,
}

/// `additionalProperties`: a boolean or a schema for every other key.
#[derive(Debug, Clone)]
enum AdditionalProperties {
    Allowed(bool),
    Schema(Box<Schema>),
}

impl AdditionalProperties {
    fn schema(&self) -> Option<&Schema> {
        match self {
            AdditionalProperties::Schema(s) => Some(s),
            AdditionalProperties::Allowed(_) => None,
        }
    }
}

/// A `pattern` with its compiled form (or why it does not compile).
#[derive(Debug, Clone)]
struct Pattern {
    source: String,
    regex: Result<Regex, String>,
}

/// Compiled patterns are capped so one schema cannot claim unbounded memory.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

fn compile_pattern(source: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(source)
        .size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|e| e.to_string())
}

impl Schema {
    /// Parses a schema node. Anything but a JSON object is the empty schema.
    pub fn from_json(value: &Value) -> Schema {
        match value.as_object() {
            Some(m) => Schema::from_map(m),
            None => Schema::default(),
        }
    }

    fn from_map(m: &Map<String, Value>) -> Schema {
        let string = |k: &str| {
            m.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let flag = |k: &str| m.get(k).and_then(Value::as_bool).unwrap_or(false);
        let int = |k: &str| m.get(k).and_then(Value::as_i64);
        let float = |k: &str| m.get(k).and_then(Value::as_f64);
        let strings = |k: &str| -> Vec<String> {
            m.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let schemas = |k: &str| -> Vec<Schema> {
            m.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().map(Schema::from_json).collect())
                .unwrap_or_default()
        };
        Schema {
            type_: string("type"),
            format: string("format"),
            nullable: flag("nullable"),
            properties: m
                .get("properties")
                .and_then(Value::as_object)
                .map(|p| {
                    p.iter()
                        .map(|(k, v)| (k.clone(), Schema::from_json(v)))
                        .collect()
                })
                .unwrap_or_default(),
            additional_properties: match m.get("additionalProperties") {
                Some(Value::Bool(b)) => Some(AdditionalProperties::Allowed(*b)),
                Some(v @ Value::Object(_)) => {
                    Some(AdditionalProperties::Schema(Box::new(Schema::from_json(v))))
                }
                _ => None,
            },
            items: m
                .get("items")
                .filter(|v| v.is_object())
                .map(|v| Box::new(Schema::from_json(v))),
            required: strings("required"),
            enum_values: m.get("enum").and_then(Value::as_array).cloned(),
            pattern: string("pattern").map(|source| Pattern {
                regex: compile_pattern(&source),
                source,
            }),
            minimum: float("minimum"),
            exclusive_minimum: flag("exclusiveMinimum"),
            maximum: float("maximum"),
            exclusive_maximum: flag("exclusiveMaximum"),
            multiple_of: float("multipleOf"),
            min_length: int("minLength"),
            max_length: int("maxLength"),
            min_items: int("minItems"),
            max_items: int("maxItems"),
            min_properties: int("minProperties"),
            max_properties: int("maxProperties"),
            unique_items: flag("uniqueItems"),
            default: m.get("default").filter(|v| !v.is_null()).cloned(),
            preserve_unknown_fields: flag("x-kubernetes-preserve-unknown-fields"),
            int_or_string: flag("x-kubernetes-int-or-string"),
            embedded_resource: flag("x-kubernetes-embedded-resource"),
            list_type: string("x-kubernetes-list-type"),
            list_map_keys: strings("x-kubernetes-list-map-keys"),
            all_of: schemas("allOf"),
            any_of: schemas("anyOf"),
            one_of: schemas("oneOf"),
            not: m
                .get("not")
                .filter(|v| v.is_object())
                .map(|v| Box::new(Schema::from_json(v))),
        }
    }

    /// The schema of property `name`, if declared.
    pub fn property(&self, name: &str) -> Option<&Schema> {
        self.properties.get(name)
    }

    /// The schema of array items, if declared.
    pub fn items(&self) -> Option<&Schema> {
        self.items.as_deref()
    }

    /// The declared `type`, if any.
    pub fn type_name(&self) -> Option<&str> {
        self.type_.as_deref()
    }

    /// The format that takes part in validation: upstream strips formats it
    /// does not know for the node's type before validating.
    fn effective_format(&self) -> Option<&str> {
        let format = self.format.as_deref()?;
        let ty = if self.int_or_string {
            ""
        } else {
            self.type_.as_deref().unwrap_or("")
        };
        let kept = match ty {
            "" | "string" => STRING_FORMATS.contains(&format.replace('-', "").as_str()),
            "integer" => format == "int32" || format == "int64",
            "number" => format == "float" || format == "double",
            _ => false,
        };
        kept.then_some(format)
    }
}

/// The string formats upstream recognises for CRDs (as of 1.34), with `-`
/// removed the way go-openapi normalises format names.
const STRING_FORMATS: &[&str] = &[
    "bsonobjectid",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
    "byte",
    "password",
    "date",
    "duration",
    "datetime",
    "quantity",
    "k8sshortname",
    "k8slongname",
];

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

/// A JSON number as the Go decoder produces it: `int64` when it fits, else
/// `float64`.
#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    fn of(n: &Number) -> Num {
        match n.as_i64() {
            Some(i) => Num::Int(i),
            None => Num::Float(n.as_f64().unwrap_or(f64::NAN)),
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            // Precision loss above 2^53 matches upstream's float64 bounds.
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

/// Whether a float is a whole number within JSON's exact integer range.
fn is_json_integer(f: f64) -> bool {
    f.is_finite() && f.abs() <= 9_007_199_254_740_992.0 && f.fract() == 0.0
}

/// The JSON type name of a value and the Go type name upstream's format
/// check prints for it.
fn kind_of(v: &Value) -> (&'static str, &'static str) {
    match v {
        Value::Null => ("null", ""),
        Value::Bool(_) => ("boolean", ""),
        Value::Number(n) => match Num::of(n) {
            Num::Int(_) => ("integer", "int64"),
            Num::Float(_) => ("number", "float64"),
        },
        Value::String(_) => ("string", ""),
        Value::Array(_) => ("array", ""),
        Value::Object(_) => ("object", ""),
    }
}

/// `<name> in body <rest>`, as go-openapi words its errors (without the
/// leading space when the value is the root of what is validated).
fn in_body(name: &str, rest: &str) -> String {
    if name.is_empty() {
        format!("in body {rest}")
    } else {
        format!("{name} in body {rest}")
    }
}

/// Formats a float the way Go's `%v` does (exponent below 1e-4 and from
/// 1e21 on).
pub(crate) fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e21).contains(&abs) {
        let s = format!("{f:e}");
        if let Some((mantissa, exp)) = s.split_once('e') {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            return format!("{mantissa}e{sign}{digits:0>2}");
        }
        return s;
    }
    format!("{f}")
}

fn num_value(n: Num) -> Value {
    match n {
        Num::Int(i) => Value::from(i),
        Num::Float(f) => Value::from(f),
    }
}

/// The OpenAPI keyword validator (upstream's kube-openapi `SchemaValidator`).
/// `base` prefixes every field path; names in messages are relative to it.
struct Validator<'b> {
    base: &'b str,
    errs: Vec<FieldError>,
}

impl<'b> Validator<'b> {
    fn new(base: &'b str) -> Self {
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

    fn validate(&mut self, s: &Schema, v: &Value, name: &str) {
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

/// Indices of the second occurrence of each repeated value (a third
/// occurrence is not reported again, as upstream's list-set check). Values
/// are compared by a canonical encoding, so this stays linear-ish on large
/// lists (upstream uses maps too).
fn first_repeats(items: &[Value]) -> impl Iterator<Item = usize> + '_ {
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(items.len());
    items.iter().enumerate().filter_map(move |(i, item)| {
        let mut key = String::new();
        canonical(item, &mut key);
        let count = seen.entry(key).or_insert(0);
        *count += 1;
        (*count == 2).then_some(i)
    })
}

/// A canonical JSON encoding: object keys sorted (serde_json's map is
/// ordered) and numbers by value, so `1` and `1.0` encode alike.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Number(n) => {
            let text = match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => i.to_string(),
                (None, Some(u), _) => u.to_string(),
                (None, None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.2e18 => {
                    (f as i64).to_string()
                }
                (None, None, Some(f)) => format!("{f:?}"),
                (None, None, None) => n.to_string(),
            };
            out.push_str(&text);
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(item, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// JSON equality with numbers compared by value (`1 == 1.0`).
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(i), Some(j)) = (x.as_i64(), y.as_i64()) {
                i == j
            } else if let (Some(i), Some(j)) = (x.as_u64(), y.as_u64()) {
                i == j
            } else {
                x.as_f64() == y.as_f64()
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

// ---------------------------------------------------------------------------
// Embedded resources (upstream's schema/objectmeta validation)
// ---------------------------------------------------------------------------

const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

fn is_meta_field(k: &str) -> bool {
    META_FIELDS.contains(&k)
}

fn validate_embedded(s: &Schema, v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    match v {
        Value::Object(m) => {
            if s.embedded_resource {
                validate_embedded_resource(path, m, errs);
            }
            for (k, val) in m {
                if let Some(p) = s.properties.get(k) {
                    validate_embedded(p, val, &child(path, k), errs);
                } else if let Some(extra) =
                    s.additional_properties.as_ref().and_then(|a| a.schema())
                {
                    validate_embedded(extra, val, &key(path, k), errs);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = &s.items {
                for (i, item) in items.iter().enumerate() {
                    validate_embedded(item_schema, item, &index(path, i), errs);
                }
            }
        }
        _ => {}
    }
}

/// `apiVersion` and `kind` are required (upstream does not require
/// `metadata`); all three are checked when present.
fn validate_embedded_resource(path: &str, m: &Map<String, Value>, errs: &mut Vec<FieldError>) {
    for required in ["apiVersion", "kind"] {
        if !m.contains_key(required) {
            errs.push(FieldError::required(
                child(path, required),
                "must not be empty",
            ));
        }
    }
    if let Some(v) = m.get("apiVersion") {
        let p = child(path, "apiVersion");
        match v {
            Value::String(gv) if gv.is_empty() => {
                errs.push(FieldError::invalid(p, gv.as_str(), "must not be empty"));
            }
            Value::String(gv) if gv.matches('/').count() > 1 => {
                errs.push(FieldError::invalid(
                    p,
                    gv.as_str(),
                    format!("unexpected GroupVersion string: {gv}"),
                ));
            }
            Value::String(_) => {}
            other => errs.push(FieldError::invalid(p, other.clone(), "must be a string")),
        }
    }
    if let Some(v) = m.get("kind") {
        let p = child(path, "kind");
        match v {
            Value::String(kind) if kind.is_empty() => {
                errs.push(FieldError::invalid(p, kind.as_str(), "must not be empty"));
            }
            Value::String(kind) => {
                let msgs = is_dns1035_label(&kind.to_lowercase());
                if !msgs.is_empty() {
                    errs.push(FieldError::invalid(
                        p,
                        kind.as_str(),
                        format!(
                            "may have mixed case, but should otherwise match: {}",
                            msgs.join(",")
                        ),
                    ));
                }
            }
            other => errs.push(FieldError::invalid(p, other.clone(), "must be a string")),
        }
    }
    if let Some(meta) = m.get("metadata") {
        validate_embedded_meta(&child(path, "metadata"), meta, errs);
    }
}

/// ObjectMeta of an embedded resource: name (path-segment rule; upstream
/// substitutes a fake name when empty), generateName, namespace, labels and
/// annotations.
fn validate_embedded_meta(path: &str, v: &Value, errs: &mut Vec<FieldError>) {
    let Some(meta) = v.as_object() else {
        errs.push(FieldError::invalid(path, v.clone(), "must be an object"));
        return;
    };
    let text = |k: &str| meta.get(k).and_then(Value::as_str).unwrap_or("");
    let name = match text("name") {
        "" => "fakename",
        n => n,
    };
    for mut e in validate_object_meta_name(name, text("generateName"), NameRule::PathSegment) {
        if let Some(rest) = e.field.strip_prefix("metadata") {
            e.field = format!("{path}{rest}");
        }
        errs.push(e);
    }
    let namespace = text("namespace");
    if !namespace.is_empty() {
        for msg in is_dns1123_label(namespace) {
            errs.push(FieldError::invalid(
                child(path, "namespace"),
                namespace,
                msg,
            ));
        }
    }
    for (field, check) in [
        (
            "labels",
            validate_labels as fn(&BTreeMap<String, String>, &str) -> Vec<FieldError>,
        ),
        ("annotations", validate_annotations),
    ] {
        let p = child(path, field);
        match meta.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                let strings: Option<BTreeMap<String, String>> = map
                    .iter()
                    .map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                    .collect();
                match strings {
                    Some(strings) => errs.extend(check(&strings, &p)),
                    None => errs.push(FieldError::invalid(
                        p,
                        Value::Object(map.clone()),
                        "must be a map of strings",
                    )),
                }
            }
            Some(other) => errs.push(FieldError::invalid(
                p,
                other.clone(),
                "must be a map of strings",
            )),
        }
    }
}

// ---------------------------------------------------------------------------
// x-kubernetes-list-type: set | map (upstream's schema/listtype)
// ---------------------------------------------------------------------------

fn validate_lists(s: &Schema, v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                if let Some(p) = s.properties.get(k) {
                    validate_lists(p, val, &child(path, k), errs);
                } else if let Some(extra) =
                    s.additional_properties.as_ref().and_then(|a| a.schema())
                {
                    validate_lists(extra, val, &key(path, k), errs);
                }
            }
        }
        Value::Array(items) => {
            match s.list_type.as_deref() {
                Some("set") => {
                    for i in first_repeats(items) {
                        errs.push(FieldError::duplicate(index(path, i), items[i].clone()));
                    }
                }
                Some("map") => validate_list_map(s, items, path, errs),
                _ => {}
            }
            if let Some(item_schema) = &s.items {
                for (i, item) in items.iter().enumerate() {
                    validate_lists(item_schema, item, &index(path, i), errs);
                }
            }
        }
        _ => {}
    }
}

/// Items must be objects (or null); their key tuples must be unique. The
/// reported value is the key map (`{"name":"http"}`; `{}` when the keys are
/// missing).
fn validate_list_map(s: &Schema, items: &[Value], path: &str, errs: &mut Vec<FieldError>) {
    if let Some((i, item)) = items
        .iter()
        .enumerate()
        .find(|(_, x)| !x.is_null() && !x.is_object())
    {
        errs.push(FieldError::invalid(
            index(path, i),
            item.clone(),
            "must be an object for an array of list-type map",
        ));
        return;
    }
    let keys: Vec<Value> = items
        .iter()
        .map(|item| {
            let mut key_map = Map::new();
            if let Some(obj) = item.as_object() {
                for k in &s.list_map_keys {
                    if let Some(v) = obj.get(k) {
                        key_map.insert(k.clone(), v.clone());
                    }
                }
            }
            Value::Object(key_map)
        })
        .collect();
    for i in first_repeats(&keys) {
        errs.push(FieldError::duplicate(index(path, i), keys[i].clone()));
    }
}

// ---------------------------------------------------------------------------
// Pruning
// ---------------------------------------------------------------------------

/// The fields of `metav1.ObjectMeta`; anything else under an object's
/// `metadata` is pruned.
const OBJECT_META_FIELDS: &[&str] = &[
    "annotations",
    "creationTimestamp",
    "deletionGracePeriodSeconds",
    "deletionTimestamp",
    "finalizers",
    "generateName",
    "generation",
    "labels",
    "managedFields",
    "name",
    "namespace",
    "ownerReferences",
    "resourceVersion",
    "selfLink",
    "uid",
];
const OWNER_REFERENCE_FIELDS: &[&str] = &[
    "apiVersion",
    "blockOwnerDeletion",
    "controller",
    "kind",
    "name",
    "uid",
];
const MANAGED_FIELDS_ENTRY_FIELDS: &[&str] = &[
    "apiVersion",
    "fieldsType",
    "fieldsV1",
    "manager",
    "operation",
    "subresource",
    "time",
];

/// Removes the fields the schema does not specify and returns their paths,
/// sorted (`spec.foo`, `spec.items[0].bar`, `metadata.foo`), for `Warning:
/// unknown field "spec.foo"` headers or a `fieldValidation=Strict` error.
///
/// As upstream: the object is treated as a resource root, so `apiVersion`,
/// `kind` and `metadata` are always kept and `metadata` is cut down to
/// ObjectMeta's fields (the same holds inside
/// `x-kubernetes-embedded-resource` objects); under
/// `x-kubernetes-preserve-unknown-fields` unknown fields stay while known
/// ones are still pruned inside. Afterwards `null` values of non-nullable
/// fields without a default are dropped silently
/// ([`prune_non_nullable_nulls`]).
pub fn prune(schema: &Schema, obj: &mut Value) -> Vec<String> {
    let mut out = Vec::new();
    prune_node(obj, Some(schema), "", true, &mut out);
    prune_non_nullable_nulls(schema, obj);
    out.sort();
    out
}

fn prune_node(
    x: &mut Value,
    s: Option<&Schema>,
    path: &str,
    resource_root: bool,
    out: &mut Vec<String>,
) {
    if let Some(s) = s
        && s.preserve_unknown_fields
    {
        skip_prune(x, s, path, resource_root, out);
        return;
    }
    match x {
        Value::Object(map) => {
            let Some(s) = s else {
                out.extend(map.keys().map(|k| child(path, k)));
                map.clear();
                return;
            };
            let embedded = resource_root || s.embedded_resource;
            let mut unknown = Vec::new();
            for (k, v) in map.iter_mut() {
                if embedded && is_meta_field(k) {
                    continue;
                }
                if let Some(p) = s.properties.get(k) {
                    prune_node(v, Some(p), &child(path, k), false, out);
                } else if let Some(extra) = &s.additional_properties {
                    prune_node(v, extra.schema(), &child(path, k), false, out);
                } else {
                    unknown.push(k.clone());
                }
            }
            for k in unknown {
                out.push(child(path, &k));
                map.remove(&k);
            }
            if embedded {
                coerce_metadata(map, path, out);
            }
        }
        Value::Array(items) => {
            let item_schema = s.and_then(|s| s.items.as_deref());
            for (i, v) in items.iter_mut().enumerate() {
                prune_node(v, item_schema, &index(path, i), false, out);
            }
        }
        _ => {}
    }
}

/// Under `x-kubernetes-preserve-unknown-fields`: keep unknown fields, still
/// prune inside the specified ones.
fn skip_prune(x: &mut Value, s: &Schema, path: &str, resource_root: bool, out: &mut Vec<String>) {
    match x {
        Value::Object(map) => {
            let embedded = resource_root || s.embedded_resource;
            for (k, v) in map.iter_mut() {
                if embedded && is_meta_field(k) {
                    continue;
                }
                if let Some(p) = s.properties.get(k) {
                    prune_node(v, Some(p), &child(path, k), false, out);
                } else if let Some(extra) = &s.additional_properties {
                    prune_node(v, extra.schema(), &child(path, k), false, out);
                }
            }
            if embedded {
                coerce_metadata(map, path, out);
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = &s.items {
                for (i, v) in items.iter_mut().enumerate() {
                    skip_prune(v, item_schema, &index(path, i), false, out);
                }
            }
        }
        _ => {}
    }
}

/// Cuts `metadata` of a resource (root or embedded) down to ObjectMeta.
/// A `metadata` that is not an object is left for validation to reject.
fn coerce_metadata(map: &mut Map<String, Value>, path: &str, out: &mut Vec<String>) {
    let Some(Value::Object(meta)) = map.get_mut("metadata") else {
        return;
    };
    let meta_path = child(path, "metadata");
    retain_fields(meta, OBJECT_META_FIELDS, &meta_path, out);
    for (list, allowed) in [
        ("ownerReferences", OWNER_REFERENCE_FIELDS),
        ("managedFields", MANAGED_FIELDS_ENTRY_FIELDS),
    ] {
        if let Some(Value::Array(entries)) = meta.get_mut(list) {
            let list_path = child(&meta_path, list);
            for (i, entry) in entries.iter_mut().enumerate() {
                if let Value::Object(entry) = entry {
                    retain_fields(entry, allowed, &index(&list_path, i), out);
                }
            }
        }
    }
}

fn retain_fields(
    map: &mut Map<String, Value>,
    allowed: &[&str],
    path: &str,
    out: &mut Vec<String>,
) {
    let unknown: Vec<String> = map
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .cloned()
        .collect();
    for k in unknown {
        out.push(child(path, &k));
        map.remove(&k);
    }
}

/// Drops `null` values of fields whose schema is neither `nullable` nor has
/// a `default` (upstream's `PruneNonNullableNullsWithoutDefaults`), so that
/// `replicas: null` means "unset". Nulls with a default are left for
/// [`apply_defaults`]. Called by [`prune`].
pub fn prune_non_nullable_nulls(schema: &Schema, obj: &mut Value) {
    nulls_node(obj, Some(schema));
}

fn nulls_node(x: &mut Value, s: Option<&Schema>) {
    match x {
        Value::Object(map) => {
            let mut drop = Vec::new();
            for (k, v) in map.iter_mut() {
                let sub = s.and_then(|s| {
                    s.properties.get(k).or_else(|| {
                        s.additional_properties
                            .as_ref()
                            .and_then(AdditionalProperties::schema)
                    })
                });
                if v.is_null() && sub.is_some_and(|p| !p.nullable && p.default.is_none()) {
                    drop.push(k.clone());
                } else {
                    nulls_node(v, sub);
                }
            }
            for k in drop {
                map.remove(&k);
            }
        }
        Value::Array(items) => {
            let item_schema = s.and_then(|s| s.items.as_deref());
            for v in items {
                nulls_node(v, item_schema);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// Defaulting
// ---------------------------------------------------------------------------

/// Applies `default` values as upstream's structural defaulting: a property
/// that is missing (or `null` without `nullable`) gets its default when its
/// parent object exists; defaults nest (a defaulted object gets its own
/// properties' defaults); `null` array items and map values take the items'
/// or `additionalProperties`' default. Nothing happens where the schema
/// says nothing (inside `x-kubernetes-preserve-unknown-fields` without
/// properties). Used on create, update and every read.
pub fn apply_defaults(schema: &Schema, obj: &mut Value) {
    default_node(obj, schema);
}

fn default_node(x: &mut Value, s: &Schema) {
    match x {
        Value::Object(map) => {
            for (k, p) in &s.properties {
                let Some(default) = &p.default else {
                    continue;
                };
                let missing = match map.get(k) {
                    None => true,
                    Some(Value::Null) => !p.nullable,
                    Some(_) => false,
                };
                if missing {
                    map.insert(k.clone(), default.clone());
                }
            }
            let extra = s
                .additional_properties
                .as_ref()
                .and_then(AdditionalProperties::schema);
            for (k, v) in map.iter_mut() {
                if let Some(p) = s.properties.get(k) {
                    default_node(v, p);
                } else if let Some(extra) = extra {
                    if v.is_null() && !extra.nullable {
                        *v = extra.default.clone().unwrap_or(Value::Null);
                    }
                    default_node(v, extra);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = &s.items {
                for v in items {
                    if v.is_null() && !item_schema.nullable {
                        *v = item_schema.default.clone().unwrap_or(Value::Null);
                    }
                    default_node(v, item_schema);
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// Formats
// ---------------------------------------------------------------------------

/// Whether `text` satisfies a (normalised) string format. Formats without a
/// checker here (email, uri, hostname-like network formats aside, isbn,
/// creditcard, duration, quantity, rgbcolor) accept everything.
fn format_valid(format: &str, text: &str) -> bool {
    match format {
        "date" => is_date(text),
        "datetime" => is_date_time(text),
        "byte" => is_base64(text),
        "uuid" => is_uuid(text, None),
        "uuid3" => is_uuid(text, Some('3')),
        "uuid4" => is_uuid(text, Some('4')),
        "uuid5" => is_uuid(text, Some('5')),
        "ipv4" => text.parse::<Ipv4Addr>().is_ok(),
        "ipv6" => text.contains(':') && text.parse::<IpAddr>().is_ok(),
        "cidr" => is_cidr(text),
        "mac" => is_mac(text),
        "hostname" => is_hostname(text),
        "hexcolor" => is_hex_color(text),
        "bsonobjectid" => text.len() == 24 && text.bytes().all(|b| b.is_ascii_hexdigit()),
        "ssn" => is_ssn(text),
        "k8sshortname" => is_dns1123_label(text).is_empty(),
        "k8slongname" => is_dns1123_subdomain(text).is_empty(),
        _ => true,
    }
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// RFC 3339 `full-date` with a real calendar day (Go's
/// `time.Parse("2006-01-02")`).
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(year), Some(month), Some(day)) = (
        s.get(0..4).and_then(digits),
        s.get(5..7).and_then(digits),
        s.get(8..10).and_then(digits),
    ) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// go-openapi's `IsDateTime`: a date, `T` (any case), `hh:mm:ss`, an
/// optional fraction, and a mandatory zone (`Z` or `±hh:mm`).
fn is_date_time(s: &str) -> bool {
    if s.len() < 4 {
        return false;
    }
    let lower = s.to_lowercase();
    let mut parts = lower.split('t');
    let (Some(date), Some(time)) = (parts.next(), parts.next()) else {
        return false;
    };
    if !is_date(date) {
        return false;
    }
    let b = time.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return false;
    }
    let (Some(h), Some(m), Some(sec)) = (
        time.get(0..2).and_then(digits),
        time.get(3..5).and_then(digits),
        time.get(6..8).and_then(digits),
    ) else {
        return false;
    };
    if h > 23 || m > 59 || sec > 59 {
        return false;
    }
    let rest = &time[8..];
    if is_zone(rest) {
        return true;
    }
    // `(.[0-9]+)?`: any one character, then digits, then the zone.
    let mut chars = rest.chars();
    match chars.next() {
        Some(c) if c != '\n' => {}
        _ => return false,
    }
    let after = chars.as_str();
    let zone_at = after
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(after.len());
    zone_at > 0 && is_zone(&after[zone_at..])
}

fn is_zone(s: &str) -> bool {
    if s == "z" {
        return true;
    }
    let b = s.as_bytes();
    b.len() == 6
        && (b[0] == b'+' || b[0] == b'-')
        && b[3] == b':'
        && [1, 2, 4, 5].iter().all(|&i| b[i].is_ascii_digit())
}

/// Standard base64 with padding, non-empty (govalidator's `IsBase64`).
fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !b.len().is_multiple_of(4) {
        return false;
    }
    let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
    if pad > 2 {
        return false;
    }
    b[..b.len() - pad]
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

/// `[0-9a-f]{8}-?[0-9a-f]{4}-?V[0-9a-f]{3}-?[89ab]?[0-9a-f]{3}-?[0-9a-f]{12}`,
/// any case, where V is the version digit for uuid3/4/5.
fn is_uuid(s: &str, version: Option<char>) -> bool {
    let lower = s.to_ascii_lowercase();
    let mut rest = lower.as_str();
    for (i, len) in [8usize, 4, 4, 4, 12].into_iter().enumerate() {
        let Some(group) = rest.get(..len) else {
            return false;
        };
        if !group.bytes().all(|b| b.is_ascii_hexdigit()) {
            return false;
        }
        if let Some(v) = version {
            if i == 2 && !group.starts_with(v) {
                return false;
            }
            if i == 3 && v != '3' && !group.starts_with(['8', '9', 'a', 'b']) {
                return false;
            }
        }
        rest = &rest[len..];
        if i < 4 {
            rest = rest.strip_prefix('-').unwrap_or(rest);
        }
    }
    rest.is_empty()
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, prefix)) = s.split_once('/') else {
        return false;
    };
    let Some(prefix) = digits(prefix) else {
        return false;
    };
    if let Ok(_v4) = ip.parse::<Ipv4Addr>() {
        prefix <= 32
    } else if let Ok(_v6) = ip.parse::<Ipv6Addr>() {
        prefix <= 128
    } else {
        false
    }
}

/// Go's `net.ParseMAC`: 6, 8 or 20 octets separated by `:` or `-`, or groups
/// of four hex digits separated by `.`.
fn is_mac(s: &str) -> bool {
    let hex = |g: &str, n: usize| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit());
    let octets_ok = |n: usize| matches!(n, 6 | 8 | 20);
    for sep in [':', '-'] {
        if s.contains(sep) {
            let groups: Vec<&str> = s.split(sep).collect();
            return octets_ok(groups.len()) && groups.iter().all(|g| hex(g, 2));
        }
    }
    let groups: Vec<&str> = s.split('.').collect();
    octets_ok(groups.len() * 2) && groups.iter().all(|g| hex(g, 4))
}

static HOSTNAME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z0-9\p{S}\p{L}])(-?[a-zA-Z0-9\p{S}\p{L}]){1,62})$",
    )
    .ok()
});

fn is_hostname(s: &str) -> bool {
    let Some(re) = HOSTNAME.as_ref() else {
        return true;
    };
    re.is_match(s) && s.len() <= 255 && s.split('.').all(|p| p.len() <= 63)
}

fn is_hex_color(s: &str) -> bool {
    let h = s.strip_prefix('#').unwrap_or(s);
    matches!(h.len(), 3 | 6) && h.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_ssn(s: &str) -> bool {
    let b = s.as_bytes();
    let d = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
    let sep = |c: u8| c == b'-' || c == b' ';
    match b.len() {
        9 => d(b),
        10 => (sep(b[3]) && d(&b[..3]) && d(&b[4..])) || (sep(b[5]) && d(&b[..5]) && d(&b[6..])),
        11 => sep(b[3]) && sep(b[6]) && d(&b[..3]) && d(&b[4..6]) && d(&b[7..]),
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Validation of the schema itself (part of CRD validation)
// ---------------------------------------------------------------------------

/// The `openAPIV3Schema` checks of CRD validation, reported under `path`
/// (e.g. `spec.versions[0].schema.openAPIV3Schema`), in upstream's order:
/// keyword types (upstream rejects those while decoding), the root
/// restrictions when the status subresource is enabled, `nullable` at the
/// root, the structural-schema rules ([`is_structural`]), then defaults
/// (pruned, and valid against their own schema), then the OpenAPI rules
/// (`$ref`, `uniqueItems: true`, `additionalProperties` with `properties`,
/// list and map types, defaults in metadata, ...).
pub fn validate_schema(schema: &Value, path: &str, status_subresource: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    check_keyword_types(schema, path, &mut errs);
    if !errs.is_empty() {
        return errs;
    }
    let Some(root) = schema.as_object() else {
        return errs;
    };
    if status_subresource {
        check_status_root(root, schema, path, &mut errs);
    }
    if root.get("nullable").and_then(Value::as_bool) == Some(true) {
        errs.push(FieldError::forbidden(
            child(path, "nullable"),
            "nullable cannot be true at the root",
        ));
    }
    let structural = is_structural(schema, path);
    if structural.is_empty() {
        validate_defaults(root, path, &mut errs);
    } else {
        errs.extend(structural);
    }
    openapi_rules(root, path, RuleContext::default(), true, &mut errs);
    errs
}

/// The only root keywords upstream allows when the status subresource is
/// enabled (so that `properties.status` carries all of status' validation).
const ROOT_KEYWORDS_WITH_STATUS: &[&str] = &[
    "description",
    "type",
    "format",
    "title",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
    "required",
    "items",
    "properties",
    "externalDocs",
    "example",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-validations",
];

fn check_status_root(
    root: &Map<String, Value>,
    schema: &Value,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    if let Some(ty) = root.get("type").and_then(Value::as_str)
        && !ty.is_empty()
        && ty != "object"
    {
        errs.push(FieldError::invalid(
            child(path, "type"),
            ty,
            "only \"object\" is allowed as the type at the root of the schema if the status subresource is enabled",
        ));
        return;
    }
    if root
        .iter()
        .any(|(k, v)| is_set(v) && !ROOT_KEYWORDS_WITH_STATUS.contains(&k.as_str()))
    {
        errs.push(FieldError::invalid(
            path,
            schema.clone(),
            "only [Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields XValidations] fields are allowed at the root of the schema if the status subresource is enabled",
        ));
    }
}

/// Whether a keyword value differs from Go's zero value (unset).
fn is_set(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        Value::Number(_) | Value::Bool(true) => true,
    }
}

fn str_of<'a>(m: &'a Map<String, Value>, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or("")
}

fn flag_of(m: &Map<String, Value>, k: &str) -> bool {
    m.get(k).and_then(Value::as_bool).unwrap_or(false)
}

fn obj_of<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a Map<String, Value>> {
    m.get(k).and_then(Value::as_object)
}

fn arr_of<'a>(m: &'a Map<String, Value>, k: &str) -> &'a [Value] {
    m.get(k)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Keyword value types, as decoding into upstream's `JSONSchemaProps` would
/// enforce them (upstream answers 400 with a decode error; here they are
/// field errors at the keyword).
fn check_keyword_types(v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let Some(m) = v.as_object() else {
        errs.push(FieldError::type_invalid(
            path,
            v.clone(),
            "must be an object",
        ));
        return;
    };
    for (k, val) in m {
        if val.is_null() {
            continue;
        }
        let p = child(path, k);
        if let Some((what, ok)) = scalar_expectation(k) {
            if !ok(val) {
                errs.push(FieldError::type_invalid(
                    p,
                    val.clone(),
                    format!("must be {what}"),
                ));
            }
            continue;
        }
        let bad = |what: &str| {
            FieldError::type_invalid(p.clone(), val.clone(), format!("must be {what}"))
        };
        match k.as_str() {
            "allOf" | "anyOf" | "oneOf" => match val.as_array() {
                Some(branches) => {
                    for (i, b) in branches.iter().enumerate() {
                        check_keyword_types(b, &index(&p, i), errs);
                    }
                }
                None => errs.push(bad("an array of schemas")),
            },
            "not" => check_keyword_types(val, &p, errs),
            "items" => match val {
                Value::Array(schemas) => {
                    for (i, s) in schemas.iter().enumerate() {
                        check_keyword_types(s, &index(&p, i), errs);
                    }
                }
                other => check_keyword_types(other, &p, errs),
            },
            "additionalProperties" | "additionalItems" => match val {
                Value::Bool(_) => {}
                Value::Object(_) => check_keyword_types(val, &p, errs),
                _ => errs.push(bad("a boolean or an object")),
            },
            "properties" | "patternProperties" | "definitions" => match val.as_object() {
                Some(schemas) => {
                    for (name, s) in schemas {
                        check_keyword_types(s, &key(&p, name), errs);
                    }
                }
                None => errs.push(bad("an object")),
            },
            "dependencies" => match val.as_object() {
                Some(deps) => {
                    for (name, d) in deps {
                        if d.is_object() {
                            check_keyword_types(d, &key(&p, name), errs);
                        } else if !is_string_array(d) {
                            errs.push(FieldError::type_invalid(
                                key(&p, name),
                                d.clone(),
                                "must be an object or an array of strings",
                            ));
                        }
                    }
                }
                None => errs.push(bad("an object")),
            },
            _ => {}
        }
    }
}

fn is_string_array(v: &Value) -> bool {
    v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
}

/// What a keyword's value must be: a description for the error, and the
/// check.
type Expectation = (&'static str, fn(&Value) -> bool);

/// The expected JSON type of a keyword that holds no schema.
fn scalar_expectation(keyword: &str) -> Option<Expectation> {
    let expectation: Expectation = match keyword {
        "id"
        | "$schema"
        | "$ref"
        | "description"
        | "type"
        | "format"
        | "title"
        | "pattern"
        | "x-kubernetes-list-type"
        | "x-kubernetes-map-type" => ("a string", Value::is_string),
        "maximum" | "minimum" | "multipleOf" => ("a number", Value::is_number),
        "maxLength" | "minLength" | "maxItems" | "minItems" | "maxProperties" | "minProperties" => {
            ("an integer", |v| v.as_i64().is_some())
        }
        "exclusiveMaximum"
        | "exclusiveMinimum"
        | "uniqueItems"
        | "nullable"
        | "x-kubernetes-preserve-unknown-fields"
        | "x-kubernetes-embedded-resource"
        | "x-kubernetes-int-or-string" => ("a boolean", Value::is_boolean),
        "required" | "x-kubernetes-list-map-keys" => ("an array of strings", is_string_array),
        "enum" | "x-kubernetes-validations" => ("an array", Value::is_array),
        "externalDocs" => ("an object", Value::is_object),
        _ => return None,
    };
    Some(expectation)
}

/// Where a structural node sits, for upstream's "must not be empty ..."
/// wording.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Item,
    Field,
}

/// Upstream's structural-schema rules (`ValidateStructural`): every
/// specified field and array item has a `type` (unless
/// `x-kubernetes-int-or-string` or `x-kubernetes-preserve-unknown-fields`),
/// arrays have `items`, the root is an object without
/// `additionalProperties`, root `metadata` restricts at most `name` and
/// `generateName`, embedded resources are objects, and value validations
/// (`allOf`/`anyOf`/`oneOf`/`not`) neither set generic keywords nor specify
/// fields the structural part does not. Errors are sorted by their text, as
/// upstream sorts them.
pub fn is_structural(schema: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(root) = schema.as_object() {
        structural_invariants(root, Level::Root, path, &mut errs);
        value_validation_completeness(root, Some(root), path, path, &mut errs);
    }
    errs.sort_by_cached_key(|e| e.to_string());
    errs
}

fn structural_invariants(
    m: &Map<String, Value>,
    lvl: Level,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let ty = str_of(m, "type");
    if ty == "array" && !m.get("items").is_some_and(is_set_or_object) {
        errs.push(FieldError::required(
            child(path, "items"),
            "must be specified",
        ));
    }
    if let Some(items) = obj_of(m, "items") {
        structural_invariants(items, Level::Item, &child(path, "items"), errs);
    }
    if let Some(props) = obj_of(m, "properties") {
        let base = child(path, "properties");
        for (k, p) in props {
            if let Some(p) = p.as_object() {
                structural_invariants(p, Level::Field, &key(&base, k), errs);
            }
        }
    }
    let additional = m.get("additionalProperties").filter(|v| !v.is_null());
    if let Some(additional) = additional {
        let p = child(path, "additionalProperties");
        if lvl == Level::Root {
            errs.push(FieldError::forbidden(
                p.clone(),
                "must not be used at the root",
            ));
        }
        if let Some(a) = additional.as_object() {
            structural_invariants(a, Level::Field, &p, errs);
        }
    }

    let int_or_string = flag_of(m, "x-kubernetes-int-or-string");
    let preserve = flag_of(m, "x-kubernetes-preserve-unknown-fields");
    let embedded = flag_of(m, "x-kubernetes-embedded-resource");
    if int_or_string && preserve {
        errs.push(FieldError::invalid(
            child(path, "x-kubernetes-preserve-unknown-fields"),
            true,
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if int_or_string && embedded {
        errs.push(FieldError::invalid(
            child(path, "x-kubernetes-embedded-resource"),
            true,
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }

    let skip_any_of = is_int_or_string_any_of(m);
    let skip_first_all_of_any_of = arr_of(m, "allOf")
        .first()
        .and_then(Value::as_object)
        .is_some_and(is_int_or_string_any_of);
    value_validation(m, skip_any_of, skip_first_all_of_any_of, lvl, path, errs);

    let type_path = child(path, "type");
    if embedded && ty != "object" {
        let msg = "must be object if x-kubernetes-embedded-resource is true";
        if ty.is_empty() {
            errs.push(FieldError::required(type_path.clone(), msg));
        } else {
            errs.push(FieldError::invalid(type_path.clone(), ty, msg));
        }
    } else if ty.is_empty() && !int_or_string && !preserve {
        let msg = match lvl {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        errs.push(FieldError::required(type_path.clone(), msg));
    }
    if embedded && additional.is_some() {
        errs.push(FieldError::forbidden(
            child(path, "additionalProperties"),
            "must not be used if x-kubernetes-embedded-resource is set",
        ));
    }
    if lvl == Level::Root && !ty.is_empty() && ty != "object" {
        errs.push(FieldError::invalid(
            type_path,
            ty,
            "must be object at the root",
        ));
    }

    let check_metadata = lvl == Level::Root || embedded;
    let props = obj_of(m, "properties");
    let props_path = child(path, "properties");
    if check_metadata {
        for name in ["kind", "apiVersion"] {
            if let Some(p) = props.and_then(|p| obj_of(p, name)) {
                let t = str_of(p, "type");
                if t != "string" {
                    errs.push(FieldError::invalid(
                        child(&key(&props_path, name), "type"),
                        t,
                        "must be string",
                    ));
                }
            }
        }
    }
    if let Some(metadata) = props.and_then(|p| obj_of(p, "metadata")) {
        let p = key(&props_path, "metadata");
        let t = str_of(metadata, "type");
        if check_metadata && t != "object" {
            errs.push(FieldError::invalid(child(&p, "type"), t, "must be object"));
        }
        if lvl == Level::Root && metadata_specifies_more_than_names(metadata) {
            errs.push(FieldError::forbidden(
                p,
                "must not specify anything other than name and generateName, but metadata is implicitly specified",
            ));
        }
    }
    if embedded && !preserve && props.is_none_or(Map::is_empty) {
        errs.push(FieldError::required(
            props_path,
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ));
    }
}

fn is_set_or_object(v: &Value) -> bool {
    v.is_object() || is_set(v)
}

/// Root `metadata` may only say `type` (and `default`, rejected elsewhere)
/// and restrict `name` and/or `generateName`.
fn metadata_specifies_more_than_names(metadata: &Map<String, Value>) -> bool {
    metadata.iter().any(|(k, v)| match k.as_str() {
        "type" | "default" => false,
        "properties" => v.as_object().is_some_and(|props| {
            props
                .keys()
                .any(|name| name != "name" && name != "generateName")
        }),
        _ => is_set(v),
    })
}

/// `anyOf: [{type: integer}, {type: string}]` and nothing else in either
/// branch: the one place a value validation may carry `type`.
fn is_int_or_string_any_of(m: &Map<String, Value>) -> bool {
    let any_of = arr_of(m, "anyOf");
    let only_type = |v: &Value, ty: &str| {
        v.as_object().is_some_and(|b| {
            b.iter()
                .all(|(k, v)| if k == "type" { v == ty } else { !is_set(v) })
        })
    };
    any_of.len() == 2 && only_type(&any_of[0], "integer") && only_type(&any_of[1], "string")
}

fn value_validation(
    m: &Map<String, Value>,
    skip_any_of: bool,
    skip_first_all_of_any_of: bool,
    lvl: Level,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    if !skip_any_of {
        for (i, b) in arr_of(m, "anyOf").iter().enumerate() {
            if let Some(b) = b.as_object() {
                nested_value_validation(
                    b,
                    false,
                    false,
                    lvl,
                    &index(&child(path, "anyOf"), i),
                    errs,
                );
            }
        }
    }
    for (i, b) in arr_of(m, "allOf").iter().enumerate() {
        if let Some(b) = b.as_object() {
            let skip = skip_first_all_of_any_of && i == 0;
            nested_value_validation(b, skip, false, lvl, &index(&child(path, "allOf"), i), errs);
        }
    }
    for (i, b) in arr_of(m, "oneOf").iter().enumerate() {
        if let Some(b) = b.as_object() {
            nested_value_validation(b, false, false, lvl, &index(&child(path, "oneOf"), i), errs);
        }
    }
    if let Some(not) = obj_of(m, "not") {
        nested_value_validation(not, false, false, lvl, &child(path, "not"), errs);
    }
    let pattern = str_of(m, "pattern");
    if !pattern.is_empty()
        && let Err(e) = compile_pattern(pattern)
    {
        errs.push(FieldError::invalid(
            child(path, "pattern"),
            pattern,
            format!("must be a valid regular expression, but isn't: {e}"),
        ));
    }
}

/// Inside `allOf`/`anyOf`/`oneOf`/`not`: only value validations, no generic
/// keywords or Kubernetes extensions, and no `metadata`.
fn nested_value_validation(
    m: &Map<String, Value>,
    skip_any_of: bool,
    skip_all_of_any_of: bool,
    lvl: Level,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    value_validation(m, skip_any_of, skip_all_of_any_of, lvl, path, errs);
    if let Some(items) = obj_of(m, "items") {
        nested_value_validation(items, false, false, lvl, &child(path, "items"), errs);
    }
    if let Some(props) = obj_of(m, "properties") {
        let base = child(path, "properties");
        for (k, p) in props {
            if let Some(p) = p.as_object() {
                nested_value_validation(p, false, false, Level::Field, &key(&base, k), errs);
            }
        }
    }
    let forbid = |errs: &mut Vec<FieldError>, k: &str, msg: &str| {
        errs.push(FieldError::forbidden(child(path, k), msg));
    };
    let set = |k: &str| m.get(k).is_some_and(is_set);
    let defined = |k: &str| m.get(k).is_some_and(|v| !v.is_null());
    if set("type") {
        forbid(errs, "type", "must be empty to be structural");
    }
    if defined("additionalProperties") {
        forbid(
            errs,
            "additionalProperties",
            "must be undefined to be structural",
        );
    }
    if defined("default") {
        forbid(errs, "default", "must be undefined to be structural");
    }
    if set("title") {
        forbid(errs, "title", "must be empty to be structural");
    }
    if set("description") {
        forbid(errs, "description", "must be empty to be structural");
    }
    if set("nullable") {
        forbid(errs, "nullable", "must be false to be structural");
    }
    if defined("externalDocs") {
        forbid(errs, "externalDocs", "must be undefined to be structural");
    }
    for k in [
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-embedded-resource",
        "x-kubernetes-int-or-string",
    ] {
        if set(k) {
            forbid(errs, k, "must be false to be structural");
        }
    }
    if set("x-kubernetes-list-map-keys") {
        forbid(
            errs,
            "x-kubernetes-list-map-keys",
            "must be empty to be structural",
        );
    }
    for k in ["x-kubernetes-list-type", "x-kubernetes-map-type"] {
        if defined(k) {
            forbid(errs, k, "must be undefined to be structural");
        }
    }
    if set("x-kubernetes-validations") {
        forbid(
            errs,
            "x-kubernetes-validations",
            "must be empty to be structural",
        );
    }
    if obj_of(m, "properties").is_some_and(|p| p.contains_key("metadata")) {
        errs.push(FieldError::forbidden(
            key(&child(path, "properties"), "metadata"),
            "must not be specified in a nested context",
        ));
    }
}

/// Every field or array a value validation mentions must also be specified
/// in the structural part (checked for the root's value validations, as
/// upstream).
fn value_validation_completeness(
    v: &Map<String, Value>,
    s: Option<&Map<String, Value>>,
    s_path: &str,
    v_path: &str,
    errs: &mut Vec<FieldError>,
) {
    let Some(s) = s else {
        errs.push(FieldError::required(
            s_path,
            format!("because it is defined in {v_path}"),
        ));
        return;
    };
    if let Some(not) = obj_of(v, "not") {
        nested_completeness(not, Some(s), s_path, &child(v_path, "not"), errs);
    }
    for junctor in ["allOf", "anyOf", "oneOf"] {
        for (i, b) in arr_of(v, junctor).iter().enumerate() {
            if let Some(b) = b.as_object() {
                nested_completeness(b, Some(s), s_path, &index(&child(v_path, junctor), i), errs);
            }
        }
    }
}

fn nested_completeness(
    v: &Map<String, Value>,
    s: Option<&Map<String, Value>>,
    s_path: &str,
    v_path: &str,
    errs: &mut Vec<FieldError>,
) {
    let Some(s) = s else {
        errs.push(FieldError::required(
            s_path,
            format!("because it is defined in {v_path}"),
        ));
        return;
    };
    value_validation_completeness(v, Some(s), s_path, v_path, errs);
    if let Some(items) = obj_of(v, "items") {
        nested_completeness(
            items,
            obj_of(s, "items"),
            &child(s_path, "items"),
            &child(v_path, "items"),
            errs,
        );
    }
    if let Some(props) = obj_of(v, "properties") {
        let s_props = obj_of(s, "properties");
        for (k, p) in props {
            let Some(p) = p.as_object() else {
                continue;
            };
            let sp = key(&child(s_path, "properties"), k);
            let vp = key(&child(v_path, "properties"), k);
            match s_props.and_then(|sp| obj_of(sp, k)) {
                Some(s_prop) => nested_completeness(p, Some(s_prop), &sp, &vp, errs),
                None => errs.push(FieldError::required(
                    sp,
                    format!("because it is defined in {vp}"),
                )),
            }
        }
    }
}

/// Defaults must survive pruning unchanged and validate against their own
/// schema (followed through `properties` and `items`, as upstream).
fn validate_defaults(m: &Map<String, Value>, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(default) = m.get("default").filter(|v| !v.is_null()) {
        let schema = Schema::from_map(m);
        let default_path = child(path, "default");
        let mut pruned = default.clone();
        prune_node(
            &mut pruned,
            Some(&schema),
            "",
            schema.embedded_resource,
            &mut Vec::new(),
        );
        if !json_eq(&pruned, default) {
            errs.push(FieldError::invalid(
                default_path,
                default.clone(),
                "must not have unknown fields",
            ));
        } else {
            let mut v = Validator::new(&default_path);
            v.validate(&schema, default, "");
            if v.errs.is_empty() {
                let mut more = Vec::new();
                validate_embedded(&schema, default, &default_path, &mut more);
                if more.is_empty() {
                    validate_lists(&schema, default, &default_path, &mut more);
                }
                errs.extend(more);
            } else {
                errs.extend(v.errs);
            }
        }
    }
    if let Some(props) = obj_of(m, "properties") {
        let base = child(path, "properties");
        for (k, p) in props {
            if let Some(p) = p.as_object() {
                validate_defaults(p, &key(&base, k), errs);
            }
        }
    }
    if let Some(items) = obj_of(m, "items") {
        validate_defaults(items, &child(path, "items"), errs);
    }
}

/// Upstream's validation context while walking the schema: whether
/// `default` is allowed here (and why not), and whether the walk is inside
/// an object's `apiVersion`/`kind`/`metadata`.
#[derive(Clone, Default)]
struct RuleContext {
    forbid_defaults: Option<String>,
    inside_resource_meta: bool,
}

const OPENAPI_V3_TYPES: [&str; 6] = ["array", "boolean", "integer", "number", "object", "string"];

/// `ValidateCustomResourceDefinitionOpenAPISchema` and the v3 standard
/// validator of upstream.
fn openapi_rules(
    m: &Map<String, Value>,
    path: &str,
    ctx: RuleContext,
    is_root: bool,
    errs: &mut Vec<FieldError>,
) {
    let p = |k: &str| child(path, k);
    let ty = str_of(m, "type");
    if !ty.is_empty() && !OPENAPI_V3_TYPES.contains(&ty) {
        errs.push(FieldError::not_supported(p("type"), ty, &OPENAPI_V3_TYPES));
    }
    if m.get("default").is_some_and(|v| !v.is_null())
        && let Some(reason) = &ctx.forbid_defaults
    {
        errs.push(FieldError::forbidden(
            p("default"),
            format!("must not be set {reason}"),
        ));
    }
    if !str_of(m, "id").is_empty() {
        errs.push(FieldError::forbidden(p("id"), "id is not supported"));
    }
    if m.get("additionalItems").is_some_and(|v| !v.is_null()) {
        errs.push(FieldError::forbidden(
            p("additionalItems"),
            "additionalItems is not supported",
        ));
    }
    if obj_of(m, "patternProperties").is_some_and(|pp| !pp.is_empty()) {
        errs.push(FieldError::forbidden(
            p("patternProperties"),
            "patternProperties is not supported",
        ));
    }
    if obj_of(m, "definitions").is_some_and(|d| !d.is_empty()) {
        errs.push(FieldError::forbidden(
            p("definitions"),
            "definitions is not supported",
        ));
    }
    if m.get("dependencies").is_some_and(|v| !v.is_null()) {
        errs.push(FieldError::forbidden(
            p("dependencies"),
            "dependencies is not supported",
        ));
    }
    if m.get("$ref").is_some_and(|v| !v.is_null()) {
        errs.push(FieldError::forbidden(p("$ref"), "$ref is not supported"));
    }
    if ty == "null" {
        errs.push(FieldError::forbidden(
            p("type"),
            "type cannot be set to null, use nullable as an alternative",
        ));
    }
    if m.get("items")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        errs.push(FieldError::forbidden(
            p("items"),
            "items must be a schema object and not an array",
        ));
    }
    let embedded = flag_of(m, "x-kubernetes-embedded-resource");
    if ctx.inside_resource_meta && embedded {
        errs.push(FieldError::forbidden(
            p("x-kubernetes-embedded-resource"),
            "must not be used inside of resource meta",
        ));
    }
    if flag_of(m, "uniqueItems") {
        errs.push(FieldError::forbidden(
            p("uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }

    let props = obj_of(m, "properties");
    if let Some(additional) = m.get("additionalProperties").filter(|v| !v.is_null()) {
        if props.is_some_and(|pr| !pr.is_empty())
            && matches!(additional, Value::Bool(false) | Value::Object(_))
        {
            errs.push(FieldError::forbidden(
                p("additionalProperties"),
                "additionalProperties and properties are mutual exclusive",
            ));
        }
        if let Some(a) = additional.as_object() {
            let mut sub = ctx.clone();
            if ctx.inside_resource_meta {
                sub.forbid_defaults =
                    Some("inside additionalProperties applying to object metadata".to_owned());
            }
            openapi_rules(a, &p("additionalProperties"), sub, false, errs);
        }
    }
    if let Some(props) = props {
        let base = p("properties");
        for (name, prop) in props {
            let Some(prop) = prop.as_object() else {
                continue;
            };
            let mut sub = ctx.clone();
            if (is_root || embedded) && is_meta_field(name) {
                sub.inside_resource_meta = true;
                if is_root {
                    sub.forbid_defaults = Some(format!("in top-level {name}"));
                }
            }
            openapi_rules(prop, &key(&base, name), sub, false, errs);
        }
    }
    if let Some(not) = obj_of(m, "not") {
        openapi_rules(not, &p("not"), ctx.clone(), false, errs);
    }
    for junctor in ["allOf", "oneOf", "anyOf"] {
        for (i, b) in arr_of(m, junctor).iter().enumerate() {
            if let Some(b) = b.as_object() {
                openapi_rules(b, &index(&p(junctor), i), ctx.clone(), false, errs);
            }
        }
    }
    if let Some(defs) = obj_of(m, "definitions") {
        for (name, d) in defs {
            if let Some(d) = d.as_object() {
                openapi_rules(d, &key(&p("definitions"), name), ctx.clone(), false, errs);
            }
        }
    }
    match m.get("items") {
        Some(Value::Object(items)) => openapi_rules(items, &p("items"), ctx.clone(), false, errs),
        Some(Value::Array(schemas)) => {
            for (i, s) in schemas.iter().enumerate() {
                if let Some(s) = s.as_object() {
                    openapi_rules(s, &index(&p("items"), i), ctx.clone(), false, errs);
                }
            }
        }
        _ => {}
    }
    if let Some(deps) = obj_of(m, "dependencies") {
        for (name, d) in deps {
            if let Some(d) = d.as_object() {
                openapi_rules(d, &key(&p("dependencies"), name), ctx.clone(), false, errs);
            }
        }
    }

    if m.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(false)) {
        errs.push(FieldError::invalid(
            p("x-kubernetes-preserve-unknown-fields"),
            false,
            "must be true or undefined",
        ));
    }
    list_and_map_rules(m, path, errs);
}

fn list_and_map_rules(m: &Map<String, Value>, path: &str, errs: &mut Vec<FieldError>) {
    let p = |k: &str| child(path, k);
    let ty = str_of(m, "type");
    let map_type = m.get("x-kubernetes-map-type").and_then(Value::as_str);
    let list_type = m.get("x-kubernetes-list-type").and_then(Value::as_str);
    let map_keys: Vec<&str> = arr_of(m, "x-kubernetes-list-map-keys")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let items = obj_of(m, "items");

    if let Some(mt) = map_type {
        let msg = "must be object if x-kubernetes-map-type is specified";
        if ty.is_empty() {
            errs.push(FieldError::required(p("type"), msg));
        } else if ty != "object" {
            errs.push(FieldError::invalid(p("type"), ty, msg));
        }
        if mt != "atomic" && mt != "granular" {
            errs.push(FieldError::not_supported(
                p("x-kubernetes-map-type"),
                mt,
                &["atomic", "granular"],
            ));
        }
    }
    if let Some(lt) = list_type {
        let msg = "must be array if x-kubernetes-list-type is specified";
        if ty.is_empty() {
            errs.push(FieldError::required(p("type"), msg));
        } else if ty != "array" {
            errs.push(FieldError::invalid(p("type"), ty, msg));
        } else if lt == "set"
            && let Some(items) = items
        {
            let msg = "must be atomic as item of a list with x-kubernetes-list-type=set";
            let inner_list = items.get("x-kubernetes-list-type").and_then(Value::as_str);
            let inner_map = items.get("x-kubernetes-map-type").and_then(Value::as_str);
            match (str_of(items, "type"), inner_list) {
                ("array", Some(inner)) if inner != "atomic" => errs.push(FieldError::invalid(
                    child(&p("items"), "x-kubernetes-list-type"),
                    inner,
                    msg,
                )),
                // Upstream reports the items' list type here (usually unset).
                ("object", _) if inner_map != Some("atomic") => errs.push(FieldError::invalid(
                    child(&p("items"), "x-kubernetes-map-type"),
                    inner_list.map_or(Value::Null, Value::from),
                    msg,
                )),
                _ => {}
            }
        }
        if !matches!(lt, "atomic" | "set" | "map") {
            errs.push(FieldError::not_supported(
                p("x-kubernetes-list-type"),
                lt,
                &["atomic", "set", "map"],
            ));
        }
    }
    if !map_keys.is_empty() {
        let msg = "must be map if x-kubernetes-list-map-keys is non-empty";
        match list_type {
            None => errs.push(FieldError::required(p("x-kubernetes-list-type"), msg)),
            Some(lt) if lt != "map" => {
                errs.push(FieldError::invalid(p("x-kubernetes-list-type"), lt, msg));
            }
            Some(_) => {}
        }
    }
    if list_type == Some("map") {
        if map_keys.is_empty() {
            errs.push(FieldError::required(
                p("x-kubernetes-list-map-keys"),
                "must not be empty if x-kubernetes-list-type is map",
            ));
        }
        match m.get("items") {
            None | Some(Value::Null) => errs.push(FieldError::required(
                p("items"),
                "must have a schema if x-kubernetes-list-type is map",
            )),
            Some(Value::Array(a)) => errs.push(FieldError::invalid(
                p("items"),
                Value::Array(a.clone()),
                "must only have a single schema if x-kubernetes-list-type is map",
            )),
            Some(_) => {}
        }
        if let Some(items) = items {
            let item_type = str_of(items, "type");
            if item_type != "object" {
                errs.push(FieldError::invalid(
                    child(&p("items"), "type"),
                    item_type,
                    "must be object if parent array's x-kubernetes-list-type is map",
                ));
            } else {
                let keys_value = Value::from(map_keys.clone());
                let item_props = obj_of(items, "properties");
                let mut seen: Vec<&str> = Vec::new();
                for k in &map_keys {
                    match item_props.and_then(|ip| obj_of(ip, k)) {
                        Some(prop) => {
                            let t = str_of(prop, "type");
                            if t == "array" || t == "object" {
                                errs.push(FieldError::invalid(
                                    child(&key(&child(&p("items"), "properties"), k), "type"),
                                    item_type,
                                    "must be a scalar type if parent array's x-kubernetes-list-type is map",
                                ));
                            }
                        }
                        None => errs.push(FieldError::invalid(
                            p("x-kubernetes-list-map-keys"),
                            keys_value.clone(),
                            "entries must all be names of item properties",
                        )),
                    }
                    if seen.contains(k) {
                        errs.push(FieldError::invalid(
                            p("x-kubernetes-list-map-keys"),
                            keys_value.clone(),
                            "must not contain duplicate entries",
                        ));
                    }
                    seen.push(k);
                }
            }
        }
    }
    // Set and map lists: items not nullable; map keys required or defaulted.
    if let (Some(lt @ ("set" | "map")), Some(items)) = (list_type, items) {
        if flag_of(items, "nullable") {
            errs.push(FieldError::forbidden(
                child(&p("items"), "nullable"),
                format!("cannot be nullable when x-kubernetes-list-type is {lt}"),
            ));
        }
        if lt == "map" {
            let required: Vec<&str> = arr_of(items, "required")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            for k in &map_keys {
                let Some(prop) = obj_of(items, "properties").and_then(|ip| obj_of(ip, k)) else {
                    continue;
                };
                let prop_path = key(&child(&p("items"), "properties"), k);
                if !required.contains(k) && prop.get("default").is_none_or(Value::is_null) {
                    errs.push(FieldError::required(
                        child(&prop_path, "default"),
                        "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
                    ));
                }
                if flag_of(prop, "nullable") {
                    errs.push(FieldError::forbidden(
                        child(&prop_path, "nullable"),
                        "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The CRD path prefix most schema tests report under.
    const P: &str = "spec.versions[0].schema.openAPIV3Schema";

    fn check(schema: &Value, obj: Value) -> Vec<String> {
        validate(&Schema::from_json(schema), &obj)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn spec_schema(spec_props: Value) -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {"type": "object", "properties": spec_props}
            }
        })
    }

    fn with_spec(spec: Value) -> Value {
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec})
    }

    #[test]
    fn keyword_table() {
        // (spec properties, spec value, expected errors)
        let cases: Vec<(Value, Value, Vec<&str>)> = vec![
            (
                json!({"replicas": {"type": "integer"}}),
                json!({"replicas": "3"}),
                vec![
                    r#"spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#,
                ],
            ),
            (
                json!({"replicas": {"type": "integer"}}),
                json!({"replicas": 3.0}),
                vec![],
            ),
            (
                json!({"replicas": {"type": "integer"}}),
                json!({"replicas": 3.5}),
                vec![
                    r#"spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number""#,
                ],
            ),
            (
                json!({"ratio": {"type": "number"}}),
                json!({"ratio": 3}),
                vec![],
            ),
            (
                json!({"on": {"type": "boolean"}}),
                json!({"on": "yes"}),
                vec![
                    r#"spec.on: Invalid value: "string": spec.on in body must be of type boolean: "string""#,
                ],
            ),
            (
                json!({"tags": {"type": "array", "items": {"type": "string"}}}),
                json!({"tags": {"a": 1}}),
                vec![
                    r#"spec.tags: Invalid value: "object": spec.tags in body must be of type array: "object""#,
                ],
            ),
            (
                json!({"name": {"type": "string"}}),
                json!({"name": null}),
                vec![
                    r#"spec.name: Invalid value: "null": spec.name in body must be of type string: "null""#,
                ],
            ),
            (
                json!({"name": {"type": "string", "nullable": true}}),
                json!({"name": null}),
                vec![],
            ),
            (
                json!({"mode": {"type": "string", "enum": ["a", "b"]}}),
                json!({"mode": "x"}),
                vec![r#"spec.mode: Unsupported value: "x": supported values: "a", "b""#],
            ),
            (
                json!({"level": {"type": "integer", "enum": [1, 2]}}),
                json!({"level": 3}),
                vec![r#"spec.level: Unsupported value: 3: supported values: "1", "2""#],
            ),
            (
                json!({"level": {"type": "number", "enum": [1, 2]}}),
                json!({"level": 2.0}),
                vec![],
            ),
            (
                json!({"mode": {"type": "string", "enum": ["a"], "nullable": true}}),
                json!({"mode": null}),
                vec![],
            ),
            (
                json!({"name": {"type": "string", "pattern": "^[a-z]+$"}}),
                json!({"name": "Abc"}),
                vec![
                    r#"spec.name: Invalid value: "Abc": spec.name in body should match '^[a-z]+$'"#,
                ],
            ),
            (
                json!({"name": {"type": "string", "minLength": 3}}),
                json!({"name": "ab"}),
                vec![
                    r#"spec.name: Invalid value: "ab": spec.name in body should be at least 3 chars long"#,
                ],
            ),
            (
                json!({"name": {"type": "string", "maxLength": 3}}),
                json!({"name": "abcd"}),
                vec!["spec.name: Too long: may not be more than 3 bytes"],
            ),
            // Characters, not bytes.
            (
                json!({"name": {"type": "string", "maxLength": 3}}),
                json!({"name": "äöü"}),
                vec![],
            ),
            // Only the first string failure, as upstream.
            (
                json!({"name": {"type": "string", "maxLength": 2, "pattern": "^x$"}}),
                json!({"name": "abc"}),
                vec!["spec.name: Too long: may not be more than 2 bytes"],
            ),
            (
                json!({"replicas": {"type": "integer", "minimum": 1}}),
                json!({"replicas": 0}),
                vec![
                    "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
                ],
            ),
            (
                json!({"replicas": {"type": "integer", "minimum": 1, "exclusiveMinimum": true}}),
                json!({"replicas": 1}),
                vec![
                    "spec.replicas: Invalid value: 1: spec.replicas in body should be greater than 1",
                ],
            ),
            (
                json!({"replicas": {"type": "integer", "maximum": 10}}),
                json!({"replicas": 11}),
                vec![
                    "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10",
                ],
            ),
            (
                json!({"replicas": {"type": "integer", "maximum": 10, "exclusiveMaximum": true}}),
                json!({"replicas": 10}),
                vec![
                    "spec.replicas: Invalid value: 10: spec.replicas in body should be less than 10",
                ],
            ),
            (
                json!({"ratio": {"type": "number", "maximum": 1.5}}),
                json!({"ratio": 1.75}),
                vec![
                    "spec.ratio: Invalid value: 1.75: spec.ratio in body should be less than or equal to 1.5",
                ],
            ),
            (
                json!({"n": {"type": "integer", "multipleOf": 5}}),
                json!({"n": 7}),
                vec!["spec.n: Invalid value: 7: spec.n in body should be a multiple of 5"],
            ),
            (
                json!({"n": {"type": "number", "multipleOf": 0.5}}),
                json!({"n": 2.5}),
                vec![],
            ),
            (
                json!({"items": {"type": "array", "minItems": 1, "items": {"type": "string"}}}),
                json!({"items": []}),
                vec![
                    "spec.items: Invalid value: 0: spec.items in body should have at least 1 items",
                ],
            ),
            (
                json!({"items": {"type": "array", "maxItems": 2, "items": {"type": "string"}}}),
                json!({"items": ["a", "b", "c"]}),
                vec!["spec.items: Too many: 3: must have at most 2 items"],
            ),
            (
                json!({"tags": {"type": "array", "uniqueItems": true, "items": {"type": "string"}}}),
                json!({"tags": ["a", "b", "a"]}),
                vec![
                    r#"spec.tags: Invalid value: "": spec.tags in body shouldn't contain duplicates"#,
                ],
            ),
            (
                json!({"labels": {"type": "object", "minProperties": 2, "additionalProperties": {"type": "string"}}}),
                json!({"labels": {"a": 1}}),
                // Upstream stops at minProperties: the bad value inside is not reported.
                vec![
                    "spec.labels: Invalid value: 1: spec.labels in body should have at least 2 properties",
                ],
            ),
            (
                json!({"labels": {"type": "object", "maxProperties": 1, "additionalProperties": {"type": "string"}}}),
                json!({"labels": {"a": "x", "b": "y"}}),
                vec!["spec.labels: Too many: 2: must have at most 1 item"],
            ),
            (
                json!({"labels": {"type": "object", "additionalProperties": {"type": "string"}}}),
                json!({"labels": {"a": "x", "b": 2}}),
                vec![
                    r#"spec.labels.b: Invalid value: "integer": spec.labels.b in body must be of type string: "integer""#,
                ],
            ),
            (
                json!({"empty": {"type": "object", "additionalProperties": false}}),
                json!({"empty": {"foo": 1}}),
                vec![
                    r#"spec.empty: Invalid value: "foo": spec.empty.foo in body is a forbidden property"#,
                ],
            ),
            (
                json!({"port": {"x-kubernetes-int-or-string": true}}),
                json!({"port": "http"}),
                vec![],
            ),
            (
                json!({"port": {"x-kubernetes-int-or-string": true}}),
                json!({"port": 80}),
                vec![],
            ),
            (
                json!({"port": {"x-kubernetes-int-or-string": true}}),
                json!({"port": true}),
                vec![
                    r#"spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean""#,
                ],
            ),
            (
                json!({"port": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]}}),
                json!({"port": 1.5}),
                vec![
                    r#"spec.port: Invalid value: "number": spec.port in body must be of type integer,string: "number""#,
                    r#"spec.port: Invalid value: "": "spec.port" must validate at least one schema (anyOf)"#,
                    r#"spec.port: Invalid value: "number": spec.port in body must be of type integer: "number""#,
                ],
            ),
            (
                json!({"raw": {"x-kubernetes-preserve-unknown-fields": true}}),
                json!({"raw": {"anything": [1, "two"]}}),
                vec![],
            ),
        ];
        for (props, spec, expected) in cases {
            let got = check(&spec_schema(props.clone()), with_spec(spec.clone()));
            assert_eq!(got, expected, "schema {props} value {spec}");
        }
    }

    #[test]
    fn formats() {
        let cases: Vec<(Value, Value, Vec<&str>)> = vec![
            (
                json!({"type": "integer", "format": "int32"}),
                json!(2_147_483_648_i64),
                vec![],
            ),
            (
                json!({"type": "integer", "format": "int32"}),
                json!(1.5),
                vec![
                    r#"spec.f: Invalid value: "float64": spec.f in body must be of type int32: "float64""#,
                ],
            ),
            (
                json!({"type": "integer", "format": "int64"}),
                json!(9_007_199_254_740_993_i64),
                vec![],
            ),
            (
                json!({"type": "integer", "format": "int64"}),
                json!(2.0),
                vec![],
            ),
            (
                json!({"type": "string", "format": "date-time"}),
                json!("2024-01-02T03:04:05Z"),
                vec![],
            ),
            (
                json!({"type": "string", "format": "date-time"}),
                json!("2024-01-02t03:04:05.123456+02:00"),
                vec![],
            ),
            (
                json!({"type": "string", "format": "date-time"}),
                json!("2024-01-02T03:04:05"),
                vec![
                    r#"spec.f: Invalid value: "2024-01-02T03:04:05": spec.f in body must be of type date-time: "2024-01-02T03:04:05""#,
                ],
            ),
            (
                json!({"type": "string", "format": "date-time"}),
                json!("2023-02-29T00:00:00Z"),
                vec![
                    r#"spec.f: Invalid value: "2023-02-29T00:00:00Z": spec.f in body must be of type date-time: "2023-02-29T00:00:00Z""#,
                ],
            ),
            (
                json!({"type": "string", "format": "date-time"}),
                json!(5),
                vec![
                    r#"spec.f: Invalid value: "int64": spec.f in body must be of type date-time: "int64""#,
                ],
            ),
            (
                json!({"type": "string", "format": "date"}),
                json!("2024-02-29"),
                vec![],
            ),
            (
                json!({"type": "string", "format": "date"}),
                json!("2024-13-01"),
                vec![
                    r#"spec.f: Invalid value: "2024-13-01": spec.f in body must be of type date: "2024-13-01""#,
                ],
            ),
            (
                json!({"type": "string", "format": "byte"}),
                json!("aGVsbG8="),
                vec![],
            ),
            (
                json!({"type": "string", "format": "byte"}),
                json!("hello!"),
                vec![
                    r#"spec.f: Invalid value: "hello!": spec.f in body must be of type byte: "hello!""#,
                ],
            ),
            (
                json!({"type": "string", "format": "uuid"}),
                json!("123E4567-e89b-12d3-a456-426614174000"),
                vec![],
            ),
            (
                json!({"type": "string", "format": "uuid"}),
                json!("123e4567e89b12d3a456426614174000"),
                vec![],
            ),
            (
                json!({"type": "string", "format": "uuid"}),
                json!("123e4567-e89b-12d3-a456"),
                vec![
                    r#"spec.f: Invalid value: "123e4567-e89b-12d3-a456": spec.f in body must be of type uuid: "123e4567-e89b-12d3-a456""#,
                ],
            ),
            (
                json!({"type": "string", "format": "ipv4"}),
                json!("10.0.0.1"),
                vec![],
            ),
            (
                json!({"type": "string", "format": "cidr"}),
                json!("10.0.0.0/8"),
                vec![],
            ),
            (
                json!({"type": "string", "format": "cidr"}),
                json!("10.0.0.0/33"),
                vec![
                    r#"spec.f: Invalid value: "10.0.0.0/33": spec.f in body must be of type cidr: "10.0.0.0/33""#,
                ],
            ),
            // Unknown formats are ignored, as upstream strips them.
            (
                json!({"type": "string", "format": "made-up"}),
                json!("anything"),
                vec![],
            ),
            (
                json!({"type": "integer", "format": "date"}),
                json!(3),
                vec![],
            ),
        ];
        for (schema, value, expected) in cases {
            let got = check(
                &spec_schema(json!({"f": schema})),
                with_spec(json!({"f": value})),
            );
            assert_eq!(got, expected, "schema {schema} value {value}");
        }
    }

    #[test]
    fn nested_paths_and_required() {
        let schema = spec_schema(json!({
            "items": {"type": "array", "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}, "size": {"type": "integer", "minimum": 0}}
            }},
            "replicas": {"type": "integer"}
        }));
        let mut schema = schema;
        schema["properties"]["spec"]["required"] = json!(["replicas"]);
        let got = check(
            &schema,
            with_spec(json!({"items": [{"name": "a"}, {"name": "b", "size": -1}, {"size": 1}]})),
        );
        assert_eq!(
            got,
            [
                "spec.items[1].size: Invalid value: -1: spec.items[1].size in body should be greater than or equal to 0",
                "spec.items[2].name: Required value",
                "spec.replicas: Required value",
            ]
        );
        let root_required = json!({"type": "object", "required": ["spec"], "properties": {"spec": {"type": "object"}}});
        assert_eq!(
            check(&root_required, json!({"apiVersion": "a/v1", "kind": "K"})),
            ["spec: Required value"]
        );
    }

    #[test]
    fn junctors() {
        let schema = spec_schema(json!({
            "a": {"type": "object", "properties": {"x": {"type": "string"}, "y": {"type": "string"}},
                  "oneOf": [{"required": ["x"]}, {"required": ["y"]}]},
            "b": {"type": "integer", "not": {"minimum": 5}},
            "c": {"type": "integer", "allOf": [{"minimum": 1}, {"maximum": 3}]}
        }));
        let got = check(
            &schema,
            with_spec(json!({"a": {"x": "1", "y": "2"}, "b": 7, "c": 9})),
        );
        assert_eq!(
            got,
            [
                r#"spec.a: Invalid value: "": "spec.a" must validate one and only one schema (oneOf). Found 2 valid alternatives"#,
                r#"spec.b: Invalid value: "": "spec.b" must not validate the schema (not)"#,
                "spec.c: Invalid value: 9: spec.c in body should be less than or equal to 3",
                r#"spec.c: Invalid value: "": "spec.c" must validate all the schemas (allOf)"#,
            ]
        );
        assert_eq!(
            check(&schema, with_spec(json!({"a": {}}))),
            [
                r#"spec.a: Invalid value: "": "spec.a" must validate one and only one schema (oneOf). Found none valid"#,
                "spec.a.x: Required value",
            ]
        );
    }

    #[test]
    fn embedded_resources() {
        let schema = spec_schema(json!({
            "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                          "x-kubernetes-preserve-unknown-fields": true},
            "objects": {"type": "array", "items": {"type": "object", "x-kubernetes-embedded-resource": true,
                          "x-kubernetes-preserve-unknown-fields": true}}
        }));
        let good = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "web"}}});
        assert!(
            check(
                &schema,
                with_spec(json!({"template": good, "objects": [good]}))
            )
            .is_empty()
        );
        let got = check(
            &schema,
            with_spec(json!({
                "template": {"metadata": {"name": "a/b", "labels": {"bad key!": "v"}}},
                "objects": [{"apiVersion": "a/b/c", "kind": "my_kind"}]
            })),
        );
        assert_eq!(
            got,
            [
                "spec.objects[0].apiVersion: Invalid value: \"a/b/c\": unexpected GroupVersion string: a/b/c",
                "spec.objects[0].kind: Invalid value: \"my_kind\": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
                "spec.template.apiVersion: Required value: must not be empty",
                "spec.template.kind: Required value: must not be empty",
                "spec.template.metadata.name: Invalid value: \"a/b\": may not contain '/'",
                "spec.template.metadata.labels: Invalid value: \"bad key!\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            ]
        );
    }

    #[test]
    fn list_types() {
        let schema = spec_schema(json!({
            "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                      "items": {"type": "object", "required": ["name"], "properties": {
                          "name": {"type": "string"}, "port": {"type": "integer"}}}},
            "routes": {"type": "array", "x-kubernetes-list-type": "map",
                       "x-kubernetes-list-map-keys": ["host", "path"],
                       "items": {"type": "object", "properties": {
                           "host": {"type": "string"}, "path": {"type": "string"}}}},
            "nested": {"type": "object", "additionalProperties": {
                "type": "array", "x-kubernetes-list-type": "set", "items": {"type": "integer"}}}
        }));
        let got = check(
            &schema,
            with_spec(json!({
                "tags": ["a", "b", "a", "a", "b"],
                "ports": [{"name": "http", "port": 80}, {"name": "http", "port": 8080}],
                "routes": [{"host": "h", "path": "/"}, {"host": "h", "path": "/x"}, {"path": "/", "host": "h"}],
                "nested": {"k": [1, 1.0]}
            })),
        );
        assert_eq!(
            got,
            [
                "spec.nested[k][1]: Duplicate value: 1.0",
                r#"spec.ports[1]: Duplicate value: {"name":"http"}"#,
                r#"spec.routes[2]: Duplicate value: {"host":"h","path":"/"}"#,
                r#"spec.tags[2]: Duplicate value: "a""#,
                r#"spec.tags[4]: Duplicate value: "b""#,
            ]
        );
        let got = check(&schema, with_spec(json!({"ports": [{"name": "a"}, "x"]})));
        assert_eq!(
            got,
            [
                r#"spec.ports[1]: Invalid value: "string": spec.ports[1] in body must be of type object: "string""#,
                r#"spec.ports[1]: Invalid value: "x": must be an object for an array of list-type map"#,
            ]
        );
    }

    #[test]
    fn large_sets_stay_fast() {
        let schema = spec_schema(json!({
            "ids": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "integer"}}
        }));
        let mut ids: Vec<Value> = (0..200_000).map(Value::from).collect();
        ids.push(json!(7.0));
        let got = check(&schema, with_spec(json!({"ids": ids})));
        assert_eq!(got, ["spec.ids[200000]: Duplicate value: 7.0"]);
    }

    #[test]
    fn pruning() {
        let schema = Schema::from_json(&json!({
            "type": "object",
            "properties": {
                "spec": {"type": "object", "properties": {
                    "replicas": {"type": "integer"},
                    "items": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
                    "labels": {"type": "object", "additionalProperties": {"type": "object", "properties": {"v": {"type": "string"}}}},
                    "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                            "properties": {"strict": {"type": "object", "properties": {"a": {"type": "string"}}}}},
                    "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                                 "properties": {"spec": {"type": "object", "properties": {"x": {"type": "string"}}}}},
                    "open": {"type": "object", "x-kubernetes-embedded-resource": true,
                             "x-kubernetes-preserve-unknown-fields": true},
                    "plain": {"type": "object"}
                }}
            }
        }));
        let mut obj = json!({
            "apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "foo": 1, "ownerReferences": [{"name": "o", "bogus": true}]},
            "top": 1,
            "spec": {
                "replicas": 1, "foo": "x",
                "items": [{"name": "a", "bar": 1}, {"name": "b"}],
                "labels": {"k": {"v": "1", "w": "2"}},
                "raw": {"keep": {"deep": 1}, "strict": {"a": "1", "b": "2"}},
                "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "junk": 1},
                             "spec": {"x": "1", "y": "2"}, "status": {}},
                "open": {"apiVersion": "v1", "kind": "Pod", "metadata": {"junk": 1}, "spec": {"any": 1}},
                "plain": {"gone": 1}
            }
        });
        let pruned = prune(&schema, &mut obj);
        assert_eq!(
            pruned,
            [
                "metadata.foo",
                "metadata.ownerReferences[0].bogus",
                "spec.foo",
                "spec.items[0].bar",
                "spec.labels.k.w",
                "spec.open.metadata.junk",
                "spec.plain.gone",
                "spec.raw.strict.b",
                "spec.template.metadata.junk",
                "spec.template.spec.y",
                "spec.template.status",
                "top",
            ]
        );
        assert_eq!(
            obj,
            json!({
                "apiVersion": "example.com/v1", "kind": "Widget",
                "metadata": {"name": "w", "ownerReferences": [{"name": "o"}]},
                "spec": {
                    "replicas": 1,
                    "items": [{"name": "a"}, {"name": "b"}],
                    "labels": {"k": {"v": "1"}},
                    "raw": {"keep": {"deep": 1}, "strict": {"a": "1"}},
                    "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": "1"}},
                    "open": {"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {"any": 1}},
                    "plain": {}
                }
            })
        );
    }

    #[test]
    fn pruning_nulls() {
        let schema = Schema::from_json(&spec_schema(json!({
            "a": {"type": "integer"},
            "b": {"type": "integer", "nullable": true},
            "c": {"type": "integer", "default": 3},
            "list": {"type": "array", "items": {"type": "string"}}
        })));
        let mut obj = with_spec(json!({"a": null, "b": null, "c": null, "list": [null]}));
        assert!(prune(&schema, &mut obj).is_empty());
        assert_eq!(obj["spec"], json!({"b": null, "c": null, "list": [null]}));
        apply_defaults(&schema, &mut obj);
        assert_eq!(obj["spec"], json!({"b": null, "c": 3, "list": [null]}));
    }

    #[test]
    fn defaulting() {
        let schema = Schema::from_json(&json!({
            "type": "object",
            "properties": {
                "spec": {"type": "object", "properties": {
                    "replicas": {"type": "integer", "default": 1},
                    "mode": {"type": "string", "nullable": true, "default": "auto"},
                    "strategy": {"type": "object", "default": {}, "properties": {
                        "type": {"type": "string", "default": "Rolling"},
                        "maxSurge": {"x-kubernetes-int-or-string": true, "default": "25%"}
                    }},
                    "ports": {"type": "array", "items": {"type": "object", "default": {"port": 80},
                        "properties": {"port": {"type": "integer"}, "protocol": {"type": "string", "default": "TCP"}}}},
                    "env": {"type": "object", "additionalProperties": {"type": "string", "default": "unset"}},
                    "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                }},
                "status": {"type": "object", "properties": {"phase": {"type": "string", "default": "New"}}}
            }
        }));
        let mut obj = json!({
            "apiVersion": "example.com/v1", "kind": "W",
            "spec": {"mode": null, "ports": [{"port": 1}, null], "env": {"A": null, "B": "b"},
                     "raw": {"replicas": null}}
        });
        apply_defaults(&schema, &mut obj);
        assert_eq!(
            obj,
            json!({
                "apiVersion": "example.com/v1", "kind": "W",
                "spec": {
                    "replicas": 1,
                    "mode": null,
                    "strategy": {"type": "Rolling", "maxSurge": "25%"},
                    "ports": [{"port": 1, "protocol": "TCP"}, {"port": 80, "protocol": "TCP"}],
                    "env": {"A": "unset", "B": "b"},
                    "raw": {"replicas": null}
                }
            })
        );
        // Defaults need an existing parent: no `status`, no `status.phase`.
        assert!(obj.get("status").is_none());
    }

    fn structural_errors(schema: Value) -> Vec<String> {
        is_structural(&schema, P)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn structural_table() {
        let cases: Vec<(Value, Vec<String>)> = vec![
            (
                json!({"type": "object", "properties": {"spec": {"type": "object"}}}),
                vec![],
            ),
            (
                json!({"type": "object", "properties": {"spec": {"properties": {"a": {"type": "string"}}}}}),
                vec![format!(
                    "{P}.properties[spec].type: Required value: must not be empty for specified object fields"
                )],
            ),
            (
                json!({"properties": {"a": {"type": "string"}}}),
                vec![format!(
                    "{P}.type: Required value: must not be empty at the root"
                )],
            ),
            (
                json!({"type": "string"}),
                vec![format!(
                    "{P}.type: Invalid value: \"string\": must be object at the root"
                )],
            ),
            (
                json!({"type": "object", "properties": {"l": {"type": "array"}}}),
                vec![format!(
                    "{P}.properties[l].items: Required value: must be specified"
                )],
            ),
            (
                json!({"type": "object", "properties": {"l": {"type": "array", "items": {"minLength": 1}}}}),
                vec![format!(
                    "{P}.properties[l].items.type: Required value: must not be empty for specified array items"
                )],
            ),
            (
                json!({"type": "object", "additionalProperties": {"type": "string"}}),
                vec![format!(
                    "{P}.additionalProperties: Forbidden: must not be used at the root"
                )],
            ),
            (
                json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}}}}}),
                vec![],
            ),
            (
                json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}}}),
                vec![format!(
                    "{P}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified"
                )],
            ),
            (
                json!({"type": "object", "properties": {"metadata": {"type": "string"}, "kind": {"type": "integer"}}}),
                vec![
                    format!(
                        "{P}.properties[kind].type: Invalid value: \"integer\": must be string"
                    ),
                    format!(
                        "{P}.properties[metadata].type: Invalid value: \"string\": must be object"
                    ),
                ],
            ),
            (
                json!({"type": "object", "properties": {"e": {"x-kubernetes-embedded-resource": true}}}),
                vec![
                    format!(
                        "{P}.properties[e].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields"
                    ),
                    format!(
                        "{P}.properties[e].type: Required value: must be object if x-kubernetes-embedded-resource is true"
                    ),
                ],
            ),
            (
                json!({"type": "object", "properties": {"p": {"x-kubernetes-int-or-string": true, "x-kubernetes-preserve-unknown-fields": true}}}),
                vec![format!(
                    "{P}.properties[p].x-kubernetes-preserve-unknown-fields: Invalid value: true: must be false if x-kubernetes-int-or-string is true"
                )],
            ),
            (
                json!({"type": "object", "properties": {"p": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]}}}),
                vec![],
            ),
            (
                json!({"type": "object", "properties": {"p": {"x-kubernetes-int-or-string": true, "allOf": [{"anyOf": [{"type": "integer"}, {"type": "string"}]}, {"pattern": "^[0-9]+%?$"}]}}}),
                vec![],
            ),
            (
                json!({"type": "object", "properties": {"p": {"type": "string", "anyOf": [{"type": "string", "description": "d", "nullable": true}]}}}),
                vec![
                    format!(
                        "{P}.properties[p].anyOf[0].description: Forbidden: must be empty to be structural"
                    ),
                    format!(
                        "{P}.properties[p].anyOf[0].nullable: Forbidden: must be false to be structural"
                    ),
                    format!(
                        "{P}.properties[p].anyOf[0].type: Forbidden: must be empty to be structural"
                    ),
                ],
            ),
            (
                json!({"type": "object", "properties": {"a": {"type": "string"}}, "anyOf": [{"required": ["a"]}, {"properties": {"b": {"minLength": 1}, "metadata": {}}}]}),
                vec![
                    format!(
                        "{P}.anyOf[1].properties[metadata]: Forbidden: must not be specified in a nested context"
                    ),
                    format!(
                        "{P}.properties[b]: Required value: because it is defined in {P}.anyOf[1].properties[b]"
                    ),
                    format!(
                        "{P}.properties[metadata]: Required value: because it is defined in {P}.anyOf[1].properties[metadata]"
                    ),
                ],
            ),
            (
                json!({"type": "object", "properties": {"a": {"type": "string", "pattern": "("}}}),
                vec![format!(
                    "{P}.properties[a].pattern: Invalid value: \"(\": must be a valid regular expression, but isn't: regex parse error:\n    (\n    ^\nerror: unclosed group"
                )],
            ),
        ];
        for (schema, expected) in cases {
            assert_eq!(structural_errors(schema.clone()), expected, "{schema}");
        }
    }

    fn schema_errors(schema: Value, status: bool) -> Vec<String> {
        validate_schema(&schema, P, status)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn schema_rules_table() {
        let obj = |props: Value| json!({"type": "object", "properties": props});
        let cases: Vec<(Value, Vec<String>)> = vec![
            (
                obj(json!({"a": {"type": "string", "$ref": "#/definitions/x"}})),
                vec![format!(
                    "{P}.properties[a].$ref: Forbidden: $ref is not supported"
                )],
            ),
            (
                obj(
                    json!({"a": {"type": "array", "uniqueItems": true, "items": {"type": "string"}}}),
                ),
                vec![format!(
                    "{P}.properties[a].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic"
                )],
            ),
            (
                obj(
                    json!({"a": {"type": "object", "properties": {"x": {"type": "string"}}, "additionalProperties": {"type": "string"}}}),
                ),
                vec![format!(
                    "{P}.properties[a].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive"
                )],
            ),
            (
                obj(json!({"a": {"type": "strin"}})),
                vec![format!(
                    "{P}.properties[a].type: Unsupported value: \"strin\": supported values: \"array\", \"boolean\", \"integer\", \"number\", \"object\", \"string\""
                )],
            ),
            (
                obj(
                    json!({"a": {"type": "string", "x-kubernetes-preserve-unknown-fields": false}}),
                ),
                vec![format!(
                    "{P}.properties[a].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined"
                )],
            ),
            (
                obj(json!({"metadata": {"type": "object", "default": {}}})),
                vec![format!(
                    "{P}.properties[metadata].default: Forbidden: must not be set in top-level metadata"
                )],
            ),
            (
                obj(
                    json!({"a": {"type": "object", "patternProperties": {"^x": {"type": "string"}}}}),
                ),
                vec![format!(
                    "{P}.properties[a].patternProperties: Forbidden: patternProperties is not supported"
                )],
            ),
            (
                obj(
                    json!({"l": {"type": "array", "x-kubernetes-list-type": "map", "items": {"type": "object", "properties": {"n": {"type": "string"}}}}}),
                ),
                vec![format!(
                    "{P}.properties[l].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map"
                )],
            ),
            (
                obj(
                    json!({"l": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["n"],
                    "items": {"type": "object", "properties": {"m": {"type": "string"}}}}}),
                ),
                vec![format!(
                    "{P}.properties[l].x-kubernetes-list-map-keys: Invalid value: [\"n\"]: entries must all be names of item properties"
                )],
            ),
            (
                obj(
                    json!({"l": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["n"],
                    "items": {"type": "object", "properties": {"n": {"type": "string", "nullable": true}}}}}),
                ),
                vec![
                    format!(
                        "{P}.properties[l].items.properties[n].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property"
                    ),
                    format!(
                        "{P}.properties[l].items.properties[n].nullable: Forbidden: this property is in x-kubernetes-list-map-keys, so it cannot be nullable"
                    ),
                ],
            ),
            (
                obj(
                    json!({"l": {"type": "array", "x-kubernetes-list-type": "bag", "items": {"type": "string"}}}),
                ),
                vec![format!(
                    "{P}.properties[l].x-kubernetes-list-type: Unsupported value: \"bag\": supported values: \"atomic\", \"set\", \"map\""
                )],
            ),
            (
                obj(json!({"l": {"type": "string", "x-kubernetes-list-type": "set"}})),
                vec![format!(
                    "{P}.properties[l].type: Invalid value: \"string\": must be array if x-kubernetes-list-type is specified"
                )],
            ),
            (
                obj(json!({"a": {"type": "integer", "default": "three"}})),
                vec![format!(
                    "{P}.properties[a].default: Invalid value: \"string\": in body must be of type integer: \"string\""
                )],
            ),
            (
                obj(
                    json!({"a": {"type": "object", "properties": {"x": {"type": "string"}}, "default": {"x": "1", "y": 2}}}),
                ),
                vec![format!(
                    "{P}.properties[a].default: Invalid value: {{\"x\":\"1\",\"y\":2}}: must not have unknown fields"
                )],
            ),
            (
                obj(
                    json!({"a": {"type": "object", "properties": {"x": {"type": "integer", "minimum": 5}}, "default": {"x": 1}}}),
                ),
                vec![format!(
                    "{P}.properties[a].default.x: Invalid value: 1: x in body should be greater than or equal to 5"
                )],
            ),
            (
                obj(json!({"a": {"type": 5}})),
                vec![format!(
                    "{P}.properties[a].type: Invalid value: 5: must be a string"
                )],
            ),
            (
                json!({"type": "object", "nullable": true}),
                vec![format!(
                    "{P}.nullable: Forbidden: nullable cannot be true at the root"
                )],
            ),
            (
                obj(
                    json!({"e": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true,
                    "properties": {"metadata": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}}}}),
                ),
                vec![format!(
                    "{P}.properties[e].properties[metadata].x-kubernetes-embedded-resource: Forbidden: must not be used inside of resource meta"
                )],
            ),
        ];
        for (schema, expected) in cases {
            assert_eq!(schema_errors(schema.clone(), false), expected, "{schema}");
        }
    }

    #[test]
    fn status_subresource_root() {
        let ok = json!({"type": "object", "description": "d", "properties": {"status": {"type": "object"}}});
        assert!(schema_errors(ok, true).is_empty());
        let bad = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true, "anyOf": [{"required": ["spec"]}], "properties": {"spec": {"type": "object"}}});
        let errs = schema_errors(bad.clone(), true);
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].starts_with(&format!("{P}: Invalid value: {{")),
            "{errs:?}"
        );
        assert!(errs[0].ends_with(
            "fields are allowed at the root of the schema if the status subresource is enabled"
        ));
        assert!(schema_errors(bad, false).is_empty());
    }

    #[test]
    fn go_float_formatting() {
        assert_eq!(go_float(1.0), "1");
        assert_eq!(go_float(1.5), "1.5");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(-2.5e-7), "-2.5e-07");
    }

    #[test]
    fn format_helpers() {
        assert!(is_date_time("2024-01-02T03:04:05.1Z"));
        assert!(is_date_time("2024-01-02T23:59:59-07:00"));
        assert!(!is_date_time("2024-01-02T24:00:00Z"));
        assert!(!is_date_time("2024-01-02T03:04:05.Z"));
        assert!(!is_date_time("2024-01-02"));
        assert!(is_mac("00:1a:2b:3c:4d:5e"));
        assert!(is_mac("001a.2b3c.4d5e"));
        assert!(!is_mac("00:1a:2b"));
        assert!(is_hostname("example.com"));
        assert!(!is_hostname("-bad-.com"));
        assert!(is_uuid("123e4567-e89b-42d3-a456-426614174000", Some('4')));
        assert!(!is_uuid("123e4567-e89b-12d3-a456-426614174000", Some('4')));
        assert!(is_ssn("123-45-6789"));
        assert!(is_hex_color("#fff"));
        assert!(!is_base64("abc"));
        assert!(is_base64("YWI="));
    }
}

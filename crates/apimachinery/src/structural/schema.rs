//! The parsed `openAPIV3Schema` node ([`Schema`]) that validation, pruning and
//! defaulting walk.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::{Map, Value};

use super::path::{child, key};

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
    pub(crate) format: Option<String>,
    pub(crate) nullable: bool,
    pub(crate) properties: BTreeMap<String, Schema>,
    pub(crate) additional_properties: Option<AdditionalProperties>,
    pub(crate) items: Option<Box<Schema>>,
    pub(crate) required: Vec<String>,
    pub(crate) enum_values: Option<Vec<Value>>,
    pub(crate) pattern: Option<Pattern>,
    pub(crate) minimum: Option<f64>,
    pub(crate) exclusive_minimum: bool,
    pub(crate) maximum: Option<f64>,
    pub(crate) exclusive_maximum: bool,
    pub(crate) multiple_of: Option<f64>,
    pub(crate) min_length: Option<i64>,
    pub(crate) max_length: Option<i64>,
    pub(crate) min_items: Option<i64>,
    pub(crate) max_items: Option<i64>,
    pub(crate) min_properties: Option<i64>,
    pub(crate) max_properties: Option<i64>,
    pub(crate) unique_items: bool,
    pub(crate) default: Option<Value>,
    pub(crate) preserve_unknown_fields: bool,
    pub(crate) int_or_string: bool,
    pub(crate) embedded_resource: bool,
    pub(crate) list_type: Option<String>,
    pub(crate) list_map_keys: Vec<String>,
    pub(crate) all_of: Vec<Schema>,
    pub(crate) any_of: Vec<Schema>,
    pub(crate) one_of: Vec<Schema>,
    pub(crate) not: Option<Box<Schema>>,
}

/// `additionalProperties`: a boolean or a schema for every other key.
#[derive(Debug, Clone)]
pub(crate) enum AdditionalProperties {
    Allowed(bool),
    Schema(Box<Schema>),
}

impl AdditionalProperties {
    pub(crate) fn schema(&self) -> Option<&Schema> {
        match self {
            AdditionalProperties::Schema(s) => Some(s),
            AdditionalProperties::Allowed(_) => None,
        }
    }
}

/// A `pattern` with its compiled form (or why it does not compile).
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    pub(crate) source: String,
    pub(crate) regex: Result<Regex, String>,
}

/// Compiled patterns are capped so one schema cannot claim unbounded memory.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

pub(crate) fn compile_pattern(source: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(source)
        .size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|e| e.to_string())
}

impl Schema {
    /// Parses a schema node. Anything but a JSON object is the empty schema.
    pub(crate) fn from_json(value: &Value) -> Schema {
        match value.as_object() {
            Some(m) => Schema::from_map(m),
            None => Schema::default(),
        }
    }

    pub(crate) fn from_map(m: &Map<String, Value>) -> Schema {
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
    pub(crate) fn property(&self, name: &str) -> Option<&Schema> {
        self.properties.get(name)
    }

    /// The declared `type`, if any.
    pub(crate) fn type_name(&self) -> Option<&str> {
        self.type_.as_deref()
    }

    /// The schema of field `k` of an object at `path`, with the field's path:
    /// a property (`path.k`), else the `additionalProperties` schema
    /// (`path[k]`).
    pub(crate) fn field_schema(&self, path: &str, k: &str) -> Option<(&Schema, String)> {
        if let Some(p) = self.properties.get(k) {
            Some((p, child(path, k)))
        } else {
            self.additional_properties
                .as_ref()
                .and_then(|a| a.schema())
                .map(|extra| (extra, key(path, k)))
        }
    }

    /// The format that takes part in validation: upstream strips formats it
    /// does not know for the node's type before validating.
    pub(crate) fn effective_format(&self) -> Option<&str> {
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

//! The validation of a CRD ([`validate_crd`]) with upstream's field paths and
//! messages, and the type meta of custom objects ([`validate_type_meta`]).

use std::collections::BTreeSet;

use serde_json::Value;

use super::types::{
    API_APPROVAL_ANNOTATION, CustomResourceColumnDefinition, CustomResourceConversion,
    CustomResourceDefinition, CustomResourceDefinitionNames, CustomResourceDefinitionSpec,
    CustomResourceDefinitionVersion, CustomResourceSubresourceScale, SelectableField,
};
use crate::structural::{self, Schema, child, index, key};
use crate::validation::{FieldError, go_quote, is_dns1035_label, is_dns1123_subdomain};

// ---------------------------------------------------------------------------
// Validation of a CRD
// ---------------------------------------------------------------------------

/// Decodes and validates a CRD for create (see
/// [`CustomResourceDefinition::validate`]). A body that does not decode
/// yields one error at the root; servers should decode first and answer 400.
#[cfg(test)]
pub(crate) fn validate_crd(crd: &Value) -> Vec<FieldError> {
    match CustomResourceDefinition::from_value(crd) {
        Ok(crd) => crd.validate(),
        Err(e) => vec![FieldError::invalid(
            "",
            "",
            format!("cannot be handled as a CustomResourceDefinition: {e}"),
        )],
    }
}

impl CustomResourceDefinition {
    /// Validates a CRD for create, after [`Self::set_defaults`], with
    /// upstream's field paths: `metadata.name` is `<plural>.<group>`; the
    /// group is a DNS subdomain with a dot; scope, versions (unique DNS-1035
    /// names, exactly one storage version, a schema each), names, schemas
    /// ([`structural::validate_schema`]), subresources, printer columns,
    /// selectable fields, conversion (`None` only), protected-group approval.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let name = self.name();
        if name.is_empty() {
            errs.push(FieldError::required(
                "metadata.name",
                "name or generateName is required",
            ));
        } else {
            let mut msgs = is_dns1123_subdomain(name);
            if name != format!("{}.{}", self.spec.names.plural, self.spec.group) {
                msgs.push(r#"must be spec.names.plural+"."+spec.group"#.to_owned());
            }
            for msg in msgs {
                errs.push(FieldError::invalid("metadata.name", name, msg));
            }
        }
        self.validate_common(None, &mut errs);
        errs
    }

    /// Validates an update (after [`Self::prepare_for_update`]): everything
    /// [`Self::validate`] checks except the name rule, plus upstream's
    /// immutability (`spec.group`, `spec.names.plural`; `spec.scope` and
    /// `spec.names.kind` once established) and `status.storedVersions`.
    pub fn validate_update(&self, old: &CustomResourceDefinition) -> Vec<FieldError> {
        let mut errs = Vec::new();
        self.validate_common(Some(old), &mut errs);
        let mut immutable = |path: &str, new: &str, old: &str| {
            if new != old {
                errs.push(FieldError::invalid(path, new, "field is immutable"));
            }
        };
        if old.is_established() {
            immutable("spec.scope", &self.spec.scope, &old.spec.scope);
            immutable(
                "spec.names.kind",
                &self.spec.names.kind,
                &old.spec.names.kind,
            );
        }
        immutable("spec.group", &self.spec.group, &old.spec.group);
        immutable(
            "spec.names.plural",
            &self.spec.names.plural,
            &old.spec.names.plural,
        );
        errs.extend(validate_stored_versions(
            &self.status.stored_versions,
            &self.spec.versions,
        ));
        errs
    }

    fn validate_common(&self, old: Option<&CustomResourceDefinition>, errs: &mut Vec<FieldError>) {
        validate_spec(&self.spec, errs);
        validate_names(&self.status.accepted_names, "status.acceptedNames", errs);
        if old.is_none() && !self.status.stored_versions.is_empty() {
            errs.extend(validate_stored_versions(
                &self.status.stored_versions,
                &self.spec.versions,
            ));
        }
        errs.extend(self.validate_api_approval(old));
        let old_preserves = old.is_some_and(|o| o.spec.preserve_unknown_fields == Some(true));
        if !old_preserves && self.spec.preserve_unknown_fields == Some(true) {
            errs.push(FieldError::invalid(
                "spec.preserveUnknownFields",
                true,
                "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
            ));
        }
    }

    /// Protected groups need `api-approved.kubernetes.io` set to a URL or a
    /// reason starting with `unapproved`; unchanged states pass on update.
    fn validate_api_approval(&self, old: Option<&CustomResourceDefinition>) -> Vec<FieldError> {
        if !is_protected_group(&self.spec.group) {
            return Vec::new();
        }
        let state = approval_state(self.annotation(API_APPROVAL_ANNOTATION));
        if old.is_some_and(|o| approval_state(o.annotation(API_APPROVAL_ANNOTATION)) == state) {
            return Vec::new();
        }
        let path = key("metadata.annotations", API_APPROVAL_ANNOTATION);
        match state {
            Approval::Missing => vec![FieldError::required(
                path,
                format!(
                    "protected groups must have approval annotation {}, see https://github.com/kubernetes/enhancements/pull/1111",
                    go_quote(API_APPROVAL_ANNOTATION)
                ),
            )],
            Approval::Invalid => vec![FieldError::invalid(
                path,
                self.annotation(API_APPROVAL_ANNOTATION).unwrap_or(""),
                format!(
                    "protected groups must have approval annotation {} with either a URL or a reason starting with \"unapproved\", see https://github.com/kubernetes/enhancements/pull/1111",
                    go_quote(API_APPROVAL_ANNOTATION)
                ),
            )],
            Approval::Approved | Approval::Bypassed => Vec::new(),
        }
    }
}

fn is_protected_group(group: &str) -> bool {
    group == "k8s.io"
        || group.ends_with(".k8s.io")
        || group == "kubernetes.io"
        || group.ends_with(".kubernetes.io")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Approval {
    Missing,
    Bypassed,
    Approved,
    Invalid,
}

fn approval_state(value: Option<&str>) -> Approval {
    match value.unwrap_or("") {
        "" => Approval::Missing,
        v if v.starts_with("unapproved") => Approval::Bypassed,
        v if is_absolute_url(v) => Approval::Approved,
        _ => Approval::Invalid,
    }
}

/// `scheme://host...` with a non-empty host (Go's `ParseRequestURI` with a
/// scheme and host).
fn is_absolute_url(v: &str) -> bool {
    let Some((scheme, rest)) = v.split_once("://") else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    scheme_ok && !host.is_empty() && !v.contains(char::is_whitespace)
}

fn validate_spec(spec: &CustomResourceDefinitionSpec, errs: &mut Vec<FieldError>) {
    if spec.group.is_empty() {
        errs.push(FieldError::required("spec.group", ""));
    } else {
        let msgs = is_dns1123_subdomain(&spec.group);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(
                "spec.group",
                spec.group.as_str(),
                msgs.join(","),
            ));
        } else if !spec.group.contains('.') {
            errs.push(FieldError::invalid(
                "spec.group",
                spec.group.as_str(),
                "should be a domain with at least one dot",
            ));
        }
    }
    match spec.scope.as_str() {
        "" => errs.push(FieldError::required("spec.scope", "")),
        "Cluster" | "Namespaced" => {}
        other => errs.push(FieldError::not_supported(
            "spec.scope",
            other,
            &["Cluster", "Namespaced"],
        )),
    }
    for (i, v) in spec.versions.iter().enumerate() {
        if v.schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .is_none()
        {
            errs.push(FieldError::required(
                format!("spec.versions[{i}].schema.openAPIV3Schema"),
                "schemas are required",
            ));
        }
    }

    let mut seen = BTreeSet::new();
    let mut unique = true;
    let mut storage = 0;
    for (i, v) in spec.versions.iter().enumerate() {
        let path = index("spec.versions", i);
        if v.storage {
            storage += 1;
        }
        if !seen.insert(v.name.as_str()) {
            unique = false;
        }
        let msgs = is_dns1035_label(&v.name);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(
                child(&path, "name"),
                v.name.as_str(),
                msgs.join(","),
            ));
        }
        validate_version(v, &path, errs);
    }
    // Upstream echoes the whole versions list; the names are what matters.
    let version_names = || {
        Value::from(
            spec.versions
                .iter()
                .map(|v| v.name.clone())
                .collect::<Vec<_>>(),
        )
    };
    if !unique {
        errs.push(FieldError::invalid(
            "spec.versions",
            version_names(),
            "must contain unique version names",
        ));
    }
    if storage != 1 {
        errs.push(FieldError::invalid(
            "spec.versions",
            version_names(),
            "must have exactly one version marked as storage version",
        ));
    }

    for (field, value) in [
        ("plural", &spec.names.plural),
        ("singular", &spec.names.singular),
        ("kind", &spec.names.kind),
        ("listKind", &spec.names.list_kind),
    ] {
        if value.is_empty() {
            errs.push(FieldError::required(child("spec.names", field), ""));
        }
    }
    validate_names(&spec.names, "spec.names", errs);
    validate_conversion(spec.conversion.as_ref(), errs);
}

/// Upstream's `ValidateCustomResourceDefinitionNames` (for `spec.names` and
/// `status.acceptedNames`): DNS-1035 labels, mixed-case kinds.
fn validate_names(names: &CustomResourceDefinitionNames, path: &str, errs: &mut Vec<FieldError>) {
    let label = |errs: &mut Vec<FieldError>, field: String, value: &str| {
        let msgs = is_dns1035_label(value);
        if !value.is_empty() && !msgs.is_empty() {
            errs.push(FieldError::invalid(field, value, msgs.join(",")));
        }
    };
    let kind_like = |errs: &mut Vec<FieldError>, field: String, value: &str| {
        let msgs = is_dns1035_label(&value.to_lowercase());
        if !value.is_empty() && !msgs.is_empty() {
            errs.push(FieldError::invalid(
                field,
                value,
                format!(
                    "may have mixed case, but should otherwise match: {}",
                    msgs.join(",")
                ),
            ));
        }
    };
    label(errs, child(path, "plural"), &names.plural);
    label(errs, child(path, "singular"), &names.singular);
    kind_like(errs, child(path, "kind"), &names.kind);
    kind_like(errs, child(path, "listKind"), &names.list_kind);
    for (i, short) in names.short_names.iter().enumerate() {
        let msgs = is_dns1035_label(short);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(
                index(&child(path, "shortNames"), i),
                short.as_str(),
                msgs.join(","),
            ));
        }
    }
    if !names.kind.is_empty() && names.kind == names.list_kind {
        errs.push(FieldError::invalid(
            child(path, "listKind"),
            names.list_kind.as_str(),
            "kind and listKind may not be the same",
        ));
    }
    for (i, category) in names.categories.iter().enumerate() {
        let msgs = is_dns1035_label(category);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(
                index(&child(path, "categories"), i),
                category.as_str(),
                msgs.join(","),
            ));
        }
    }
}

fn validate_version(v: &CustomResourceDefinitionVersion, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(warning) = &v.deprecation_warning {
        for msg in deprecation_warning_errors(v.deprecated, warning) {
            errs.push(FieldError::invalid(
                child(path, "deprecationWarning"),
                warning.as_str(),
                msg,
            ));
        }
    }
    let status_enabled = v.subresources.as_ref().is_some_and(|s| s.status.is_some());
    let schema = v
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref());
    if let Some(schema) = schema {
        errs.extend(structural::validate_schema(
            schema,
            &child(path, "schema.openAPIV3Schema"),
            status_enabled,
        ));
    }
    if let Some(scale) = v.subresources.as_ref().and_then(|s| s.scale.as_ref()) {
        validate_scale_paths(scale, &child(path, "subresources"), errs);
    }
    for (i, col) in v.additional_printer_columns.iter().enumerate() {
        validate_column(
            col,
            &index(&child(path, "additionalPrinterColumns"), i),
            errs,
        );
    }
    if !v.selectable_fields.is_empty() {
        let sf_path = child(path, "selectableFields");
        match schema {
            None => errs.push(FieldError::invalid(
                sf_path,
                "",
                "selectableFields may only be set when version.schema.openAPIV3Schema is not included",
            )),
            Some(schema) => {
                validate_selectable_fields(&v.selectable_fields, &Schema::from_json(schema), &sf_path, errs);
            }
        }
    }
}

fn deprecation_warning_errors(deprecated: bool, warning: &str) -> Vec<String> {
    if !deprecated {
        return vec!["can only be set for deprecated versions".to_owned()];
    }
    let mut msgs = Vec::new();
    if warning.len() > 256 {
        msgs.push("must be <= 256 characters long".to_owned());
    }
    if warning.is_empty() {
        msgs.push("must not be an empty string".to_owned());
    }
    for (i, c) in warning.char_indices() {
        if c.is_control() {
            msgs.push(format!(
                "must only contain printable UTF-8 characters; control character found at index {i}"
            ));
            break;
        }
        if c != ' ' && c.is_whitespace() {
            msgs.push(format!(
                "must only contain printable UTF-8 characters; non-printable character found at index {i}"
            ));
            break;
        }
    }
    msgs
}

const PRINTER_COLUMN_TYPES: &str = "boolean,date,integer,number,string";
const PRINTER_COLUMN_FORMATS: [&str; 8] = [
    "byte",
    "date",
    "date-time",
    "double",
    "float",
    "int32",
    "int64",
    "password",
];

fn validate_column(col: &CustomResourceColumnDefinition, path: &str, errs: &mut Vec<FieldError>) {
    if col.name.is_empty() {
        errs.push(FieldError::required(child(path, "name"), ""));
    }
    let type_msg = format!("must be one of {PRINTER_COLUMN_TYPES}");
    if col.type_.is_empty() {
        errs.push(FieldError::required(child(path, "type"), type_msg));
    } else if !PRINTER_COLUMN_TYPES.split(',').any(|t| t == col.type_) {
        errs.push(FieldError::invalid(
            child(path, "type"),
            col.type_.as_str(),
            type_msg,
        ));
    }
    if !col.format.is_empty() && !PRINTER_COLUMN_FORMATS.contains(&col.format.as_str()) {
        errs.push(FieldError::invalid(
            child(path, "format"),
            col.format.as_str(),
            format!("must be one of {}", PRINTER_COLUMN_FORMATS.join(",")),
        ));
    }
    // Upstream reports the internal field name here.
    let json_path = child(path, "JSONPath");
    if col.json_path.is_empty() {
        errs.push(FieldError::required(json_path, ""));
    } else {
        errs.extend(simple_json_path_errors(&col.json_path, &json_path));
    }
}

fn simple_json_path_errors(s: &str, path: &str) -> Option<FieldError> {
    if s.is_empty() {
        Some(FieldError::invalid(path, s, "must not be empty"))
    } else if !s.starts_with('.') {
        Some(FieldError::invalid(
            path,
            s,
            "must be a simple json path starting with .",
        ))
    } else {
        None
    }
}

fn validate_scale_paths(
    scale: &CustomResourceSubresourceScale,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let checks = [
        (
            "scale.specReplicasPath",
            Some(&scale.spec_replicas_path),
            &[".spec."][..],
            "should be a json path under .spec",
        ),
        (
            "scale.statusReplicasPath",
            Some(&scale.status_replicas_path),
            &[".status."][..],
            "should be a json path under .status",
        ),
        (
            "scale.labelSelectorPath",
            scale.label_selector_path.as_ref(),
            &[".spec.", ".status."][..],
            "should be a json path under either .spec or .status",
        ),
    ];
    for (field, value, prefixes, msg) in checks {
        let p = child(path, field);
        match value.map(String::as_str) {
            None | Some("") if field == "scale.labelSelectorPath" => {}
            None | Some("") => errs.push(FieldError::required(p, "")),
            Some(v) => {
                if let Some(e) = simple_json_path_errors(v, &p) {
                    errs.push(e);
                } else if !prefixes.iter().any(|pre| v.starts_with(pre)) {
                    errs.push(FieldError::invalid(p, v, msg));
                }
            }
        }
    }
}

/// At most this many selectable fields per version.
const MAX_SELECTABLE_FIELDS: usize = 8;

fn validate_selectable_fields(
    fields: &[SelectableField],
    schema: &Schema,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let mut unique = BTreeSet::new();
    for (i, f) in fields.iter().enumerate() {
        let p = child(&index(path, i), "jsonPath");
        if f.json_path.is_empty() {
            errs.push(FieldError::required(p, ""));
            continue;
        }
        let Some(segments) = simple_field_path(&f.json_path) else {
            errs.push(FieldError::invalid(
                p,
                f.json_path.as_str(),
                "is an invalid path: must be a simple field path starting with .",
            ));
            continue;
        };
        let Some(target) = resolve_schema(schema, &segments) else {
            errs.push(FieldError::invalid(
                p,
                f.json_path.as_str(),
                "is an invalid path: does not refer to a valid field",
            ));
            continue;
        };
        if segments.first().map(String::as_str) == Some("metadata") {
            errs.push(FieldError::invalid(
                p.clone(),
                f.json_path.as_str(),
                "must not point to fields in metadata",
            ));
        }
        if !matches!(target.type_name(), Some("string" | "boolean" | "integer")) {
            errs.push(FieldError::invalid(
                p.clone(),
                f.json_path.as_str(),
                "must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed.",
            ));
        }
        if !unique.insert(segments.join(".")) {
            errs.push(FieldError::duplicate(p, f.json_path.as_str()));
        }
    }
    if unique.len() > MAX_SELECTABLE_FIELDS {
        errs.push(FieldError::too_many(
            path,
            Some(unique.len()),
            MAX_SELECTABLE_FIELDS,
        ));
    }
}

/// `.a.b.c` as segments; `None` for anything fancier.
fn simple_field_path(path: &str) -> Option<Vec<String>> {
    let rest = path.strip_prefix('.')?;
    let segments: Vec<String> = rest.split('.').map(str::to_owned).collect();
    segments
        .iter()
        .all(|s| !s.is_empty() && !s.contains(['[', ']']))
        .then_some(segments)
}

fn resolve_schema<'a>(schema: &'a Schema, segments: &[String]) -> Option<&'a Schema> {
    segments.iter().try_fold(schema, |s, seg| s.property(seg))
}

/// `status.storedVersions` on update: non-empty, holding the storage
/// version, and every entry still in `spec.versions`.
fn validate_stored_versions(
    stored: &[String],
    versions: &[CustomResourceDefinitionVersion],
) -> Vec<FieldError> {
    let path = "status.storedVersions";
    if stored.is_empty() {
        return vec![FieldError::invalid(
            path,
            Value::Array(Vec::new()),
            "must have at least one stored version",
        )];
    }
    let mut errs = Vec::new();
    for v in versions {
        if v.storage && !stored.contains(&v.name) {
            errs.push(FieldError::invalid(
                path,
                Value::from(stored.to_vec()),
                format!("must have the storage version {}", v.name),
            ));
        }
    }
    for (i, s) in stored.iter().enumerate() {
        if !versions.iter().any(|v| &v.name == s) {
            errs.push(FieldError::invalid(
                index(path, i),
                s.as_str(),
                format!(
                    "missing from spec.versions; {s} was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in {s} and removes {s} from status.storedVersions"
                ),
            ));
        }
    }
    errs
}

fn validate_conversion(conversion: Option<&CustomResourceConversion>, errs: &mut Vec<FieldError>) {
    let Some(conversion) = conversion else {
        return;
    };
    let path = "spec.conversion.strategy";
    match conversion.strategy.as_str() {
        "" => errs.push(FieldError::required(path, "")),
        "None" => {
            let webhook = conversion.webhook.as_ref();
            let set = |k: &str| webhook.and_then(|w| w.get(k)).is_some_and(|v| !v.is_null());
            if set("clientConfig") {
                errs.push(FieldError::forbidden(
                    "spec.conversion.webhookClientConfig",
                    "should not be set when strategy is not set to Webhook",
                ));
            }
            if webhook
                .and_then(|w| w.get("conversionReviewVersions"))
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
            {
                errs.push(FieldError::forbidden(
                    "spec.conversion.conversionReviewVersions",
                    "should not be set when strategy is not set to Webhook",
                ));
            }
        }
        "Webhook" => validate_webhook(conversion.webhook.as_ref(), errs),
        other => errs.push(FieldError::not_supported(path, other, &["None", "Webhook"])),
    }
}

/// `strategy: Webhook`: a client config with exactly one of `url` (https,
/// a host, no user, query or fragment) and `service` (name, namespace, a
/// valid port), and review versions this server speaks.
fn validate_webhook(webhook: Option<&Value>, errs: &mut Vec<FieldError>) {
    let config_path = "spec.conversion.webhookClientConfig";
    let client = webhook
        .and_then(|w| w.get("clientConfig"))
        .filter(|c| c.is_object());
    match client {
        None => errs.push(FieldError::required(
            config_path,
            "required when strategy is set to Webhook",
        )),
        Some(c) => {
            let url = c.get("url").and_then(Value::as_str);
            let service = c.get("service").filter(|s| s.is_object());
            match (url, service) {
                (Some(url), None) => {
                    let path = format!("{config_path}.url");
                    match url.strip_prefix("https://") {
                        None => errs.push(FieldError::invalid(
                            path,
                            url,
                            "'https' is the only allowed URL scheme",
                        )),
                        Some(rest) => {
                            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
                            if host.is_empty() {
                                errs.push(FieldError::invalid(path, url, "host must be specified"));
                            } else if host.contains('@') {
                                errs.push(FieldError::invalid(
                                    path,
                                    url,
                                    "user information is not permitted in the URL",
                                ));
                            } else if rest.contains('#') {
                                errs.push(FieldError::invalid(
                                    path,
                                    url,
                                    "fragments are not permitted in the URL",
                                ));
                            } else if rest.contains('?') {
                                errs.push(FieldError::invalid(
                                    path,
                                    url,
                                    "query parameters are not permitted in the URL",
                                ));
                            }
                        }
                    }
                }
                (None, Some(s)) => {
                    let path = format!("{config_path}.service");
                    for field in ["name", "namespace"] {
                        if s.get(field)
                            .and_then(Value::as_str)
                            .is_none_or(str::is_empty)
                        {
                            errs.push(FieldError::required(
                                format!("{path}.{field}"),
                                format!("service {field} is required"),
                            ));
                        }
                    }
                    if let Some(port) = s.get("port").filter(|p| !p.is_null())
                        && !port.as_u64().is_some_and(|p| (1..=65535).contains(&p))
                    {
                        errs.push(FieldError::invalid(
                            format!("{path}.port"),
                            port.clone(),
                            "port is not valid: must be between 1 and 65535, inclusive",
                        ));
                    }
                }
                _ => errs.push(FieldError::required(
                    config_path,
                    "exactly one of url or service is required",
                )),
            }
        }
    }
    let path = "spec.conversion.conversionReviewVersions";
    let versions: Vec<&Value> = webhook
        .and_then(|w| w.get("conversionReviewVersions"))
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    if versions.is_empty() {
        errs.push(FieldError::required(path, ""));
    } else if !versions.iter().any(|v| {
        v.as_str()
            .is_some_and(|v| crate::crd::REVIEW_VERSIONS.contains(&v))
    }) {
        errs.push(FieldError::invalid(
            path,
            Value::Array(versions.into_iter().cloned().collect()),
            "must include at least one of v1, v1beta1",
        ));
    }
}

/// Checks `apiVersion` and `kind` of a custom object against the CRD and the
/// version addressed, with upstream's messages (`kind: Invalid value: "X":
/// must be Widget`).
#[cfg(test)]
pub(crate) fn validate_type_meta(
    crd: &CustomResourceDefinition,
    version: &str,
    obj: &Value,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let want_kind = &crd.status.accepted_names.kind;
    if kind != want_kind {
        errs.push(FieldError::invalid(
            "kind",
            kind,
            format!("must be {want_kind}"),
        ));
    }
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let want = format!("{}/{version}", crd.spec.group);
    if api_version != want {
        errs.push(FieldError::invalid(
            "apiVersion",
            api_version,
            format!("must be {want}"),
        ));
    }
    errs
}

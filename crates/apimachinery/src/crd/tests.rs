use serde_json::{Value, json};

use super::names::names_conflict;
use super::scale::{scale_from_object, set_spec_replicas, validate_scale};
use super::types::{
    CustomResourceDefinition, CustomResourceDefinitionCondition, CustomResourceDefinitionStatus,
    NAMES_ACCEPTED, RESOURCE_VERBS, SUBRESOURCE_VERBS, TERMINATING, terminating_pending_condition,
};
use super::validate::{validate_crd, validate_type_meta};
use crate::jsonpath::json_path_eval;
use crate::structural::{self};

use super::*;

fn widget_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"], "categories": ["all"]},
            "versions": [
                {
                    "name": "v1beta1", "served": true, "storage": false, "deprecated": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}
                },
                {
                    "name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "properties": {
                                "replicas": {"type": "integer", "minimum": 0},
                                "color": {"type": "string"}
                            }},
                            "status": {"type": "object", "properties": {
                                "replicas": {"type": "integer"}, "selector": {"type": "string"}
                            }}
                        }
                    }},
                    "subresources": {
                        "status": {},
                        "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas",
                                  "labelSelectorPath": ".status.selector"}
                    },
                    "additionalPrinterColumns": [
                        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                        {"name": "Color", "type": "string", "jsonPath": ".spec.color", "priority": 1}
                    ],
                    "selectableFields": [{"jsonPath": ".spec.color"}]
                },
                {
                    "name": "v2alpha1", "served": false, "storage": false,
                    "schema": {"openAPIV3Schema": {"type": "object"}}
                }
            ]
        }
    })
}

/// Decoded the way the server handles a create: defaults, then the
/// create-time status.
fn decoded(v: &Value) -> CustomResourceDefinition {
    let mut crd = CustomResourceDefinition::from_value(v).unwrap();
    crd.set_defaults();
    crd.prepare_for_create();
    crd
}

fn errors_after(mutate: impl Fn(&mut Value)) -> Vec<String> {
    let mut v = widget_crd();
    mutate(&mut v);
    decoded(&v)
        .validate()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn valid_crd_and_defaults() {
    let crd = decoded(&widget_crd());
    assert_eq!(crd.validate(), []);
    assert_eq!(crd.spec.names.singular, "widget");
    assert_eq!(crd.spec.names.list_kind, "WidgetList");
    assert_eq!(crd.spec.conversion.as_ref().unwrap().strategy, "None");
    assert_eq!(crd.status.stored_versions, ["v1"]);
    assert_eq!(crd.storage_version(), Some("v1"));
    let served: Vec<&str> = crd
        .served_versions()
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(served, ["v1", "v1beta1"]);
    assert_eq!(crd.preferred_version(), Some("v1"));
    assert!(crd.has_status_subresource("v1"));
    assert!(!crd.has_status_subresource("v1beta1"));
    assert!(crd.structural_schema("v1").is_some());
    assert!(crd.schema("v9").is_none());
}

#[test]
fn round_trip_keeps_fields() {
    let v = widget_crd();
    let crd = CustomResourceDefinition::from_value(&v).unwrap();
    let again = crd.to_value();
    assert_eq!(again["spec"]["versions"][1], v["spec"]["versions"][1]);
    assert_eq!(again["metadata"], v["metadata"]);
    assert_eq!(CustomResourceDefinition::from_value(&again).unwrap(), crd);
    let errs = validate_crd(&json!({"spec": {"versions": [{"served": "yes"}]}}));
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0]
            .detail
            .starts_with("cannot be handled as a CustomResourceDefinition: invalid type"),
        "{errs:?}"
    );
}

#[test]
fn validation_table() {
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Mutation, Vec<String>)> = vec![
        (
            Box::new(|v| v["metadata"]["name"] = json!("widget.example.com")),
            vec![r#"metadata.name: Invalid value: "widget.example.com": must be spec.names.plural+"."+spec.group"#.to_owned()],
        ),
        (
            Box::new(|v| {
                v["spec"]["group"] = json!("example");
                v["metadata"]["name"] = json!("widgets.example");
            }),
            vec![r#"spec.group: Invalid value: "example": should be a domain with at least one dot"#.to_owned()],
        ),
        (
            Box::new(|v| {
                v["spec"]["group"] = json!("");
                v["metadata"]["name"] = json!("widgets.");
            }),
            vec![
                "metadata.name: Invalid value: \"widgets.\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_owned(),
                "spec.group: Required value".to_owned(),
            ],
        ),
        (
            Box::new(|v| v["spec"]["scope"] = json!("Global")),
            vec![r#"spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced""#.to_owned()],
        ),
        (
            Box::new(|v| v["spec"]["versions"] = json!([])),
            vec!["spec.versions: Invalid value: []: must have exactly one version marked as storage version".to_owned()],
        ),
        (
            Box::new(|v| v["spec"]["versions"][0]["storage"] = json!(true)),
            vec![r#"spec.versions: Invalid value: ["v1beta1","v1","v2alpha1"]: must have exactly one version marked as storage version"#.to_owned()],
        ),
        (
            Box::new(|v| v["spec"]["versions"][2]["name"] = json!("v1")),
            vec![r#"spec.versions: Invalid value: ["v1beta1","v1","v1"]: must contain unique version names"#.to_owned()],
        ),
        (
            Box::new(|v| v["spec"]["versions"][2]["name"] = json!("V2")),
            vec!["spec.versions[2].name: Invalid value: \"V2\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".to_owned()],
        ),
        (
            Box::new(|v| {
                v["spec"]["versions"][2].as_object_mut().unwrap().remove("schema");
            }),
            vec!["spec.versions[2].schema.openAPIV3Schema: Required value: schemas are required".to_owned()],
        ),
        (
            Box::new(|v| {
                v["spec"]["versions"][1]["schema"]["openAPIV3Schema"]["properties"]["spec"]
                    .as_object_mut()
                    .unwrap()
                    .remove("type");
            }),
            vec!["spec.versions[1].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields".to_owned()],
        ),
        (
            Box::new(|v| {
                v["spec"]["versions"][1]["schema"]["openAPIV3Schema"]["anyOf"] = json!([{"required": ["spec"]}]);
            }),
            vec!["spec.versions[1].schema.openAPIV3Schema: Invalid value: {\"anyOf\":[{\"required\":[\"spec\"]}],\"properties\":{\"spec\":{\"properties\":{\"color\":{\"type\":\"string\"},\"replicas\":{\"minimum\":0,\"type\":\"integer\"}},\"type\":\"object\"},\"status\":{\"properties\":{\"replicas\":{\"type\":\"integer\"},\"selector\":{\"type\":\"string\"}},\"type\":\"object\"}},\"type\":\"object\"}: only [Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields XValidations] fields are allowed at the root of the schema if the status subresource is enabled".to_owned()],
        ),
        (
            Box::new(|v| {
                v["spec"]["names"]["plural"] = json!("Widgets");
                v["metadata"]["name"] = json!("Widgets.example.com");
            }),
            vec![
                "metadata.name: Invalid value: \"Widgets.example.com\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_owned(),
                "spec.names.plural: Invalid value: \"Widgets\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".to_owned(),
            ],
        ),
        (
            Box::new(|v| {
                v["spec"]["names"]["kind"] = json!("Wid_get");
                v["spec"]["names"]["listKind"] = json!("WidgetList");
                v["spec"]["names"]["singular"] = json!("widget");
            }),
            vec!["spec.names.kind: Invalid value: \"Wid_get\": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".to_owned()],
        ),
        (
            Box::new(|v| v["spec"]["names"]["listKind"] = json!("Widget")),
            vec![r#"spec.names.listKind: Invalid value: "Widget": kind and listKind may not be the same"#.to_owned()],
        ),
        (
            Box::new(|v| {
                v["spec"]["names"]["kind"] = json!("");
                v["spec"]["names"]["singular"] = json!("widget");
                v["spec"]["names"]["listKind"] = json!("WidgetList");
            }),
            vec!["spec.names.kind: Required value".to_owned()],
        ),
        (
            Box::new(|v| v["spec"]["names"]["shortNames"] = json!(["ok", "Not_OK"])),
            vec!["spec.names.shortNames[1]: Invalid value: \"Not_OK\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".to_owned()],
        ),
        (
            Box::new(|v| v["spec"]["conversion"] = json!({"strategy": "Webhook", "webhook": {"clientConfig": {"url": "https://x"}}})),
            vec!["spec.conversion.conversionReviewVersions: Required value".to_owned()],
        ),
        (
            Box::new(|v| v["spec"]["conversion"] = json!({"strategy": "Webhook", "webhook": {"clientConfig": {"url": "http://x"}, "conversionReviewVersions": ["v2"]}})),
            vec![
                r#"spec.conversion.webhookClientConfig.url: Invalid value: "http://x": 'https' is the only allowed URL scheme"#.to_owned(),
                r#"spec.conversion.conversionReviewVersions: Invalid value: ["v2"]: must include at least one of v1, v1beta1"#.to_owned(),
            ],
        ),
        (
            Box::new(|v| v["spec"]["conversion"] = json!({"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1"]}})),
            vec!["spec.conversion.webhookClientConfig: Required value: required when strategy is set to Webhook".to_owned()],
        ),
        (
            Box::new(|v| v["spec"]["conversion"] = json!({"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1"],
                "clientConfig": {"url": "https://x", "service": {"name": "a", "namespace": "b"}}}})),
            vec!["spec.conversion.webhookClientConfig: Required value: exactly one of url or service is required".to_owned()],
        ),
        (
            Box::new(|v| v["spec"]["conversion"] = json!({"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1"],
                "clientConfig": {"service": {"name": "a", "port": 0}}}})),
            vec![
                "spec.conversion.webhookClientConfig.service.namespace: Required value: service namespace is required".to_owned(),
                "spec.conversion.webhookClientConfig.service.port: Invalid value: 0: port is not valid: must be between 1 and 65535, inclusive".to_owned(),
            ],
        ),
        (
            Box::new(|v| v["spec"]["conversion"] = json!({"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1beta1", "v1"],
                "clientConfig": {"service": {"name": "a", "namespace": "b", "path": "/convert"}, "caBundle": "Zm9v"}}})),
            vec![],
        ),
        (
            Box::new(|v| v["spec"]["conversion"] = json!({"strategy": "Magic"})),
            vec![r#"spec.conversion.strategy: Unsupported value: "Magic": supported values: "None", "Webhook""#.to_owned()],
        ),
        (
            Box::new(|v| v["spec"]["conversion"] = json!({"strategy": "None", "webhook": {"clientConfig": {"url": "https://x"}}})),
            vec!["spec.conversion.webhookClientConfig: Forbidden: should not be set when strategy is not set to Webhook".to_owned()],
        ),
        (
            Box::new(|v| v["spec"]["preserveUnknownFields"] = json!(true)),
            vec!["spec.preserveUnknownFields: Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead".to_owned()],
        ),
        (
            Box::new(|v| {
                v["spec"]["versions"][1]["additionalPrinterColumns"] = json!([
                    {"name": "", "type": "int", "format": "hex", "jsonPath": "spec.replicas"},
                    {"name": "X", "jsonPath": ""}
                ]);
            }),
            vec![
                "spec.versions[1].additionalPrinterColumns[0].name: Required value".to_owned(),
                r#"spec.versions[1].additionalPrinterColumns[0].type: Invalid value: "int": must be one of boolean,date,integer,number,string"#.to_owned(),
                r#"spec.versions[1].additionalPrinterColumns[0].format: Invalid value: "hex": must be one of byte,date,date-time,double,float,int32,int64,password"#.to_owned(),
                r#"spec.versions[1].additionalPrinterColumns[0].JSONPath: Invalid value: "spec.replicas": must be a simple json path starting with ."#.to_owned(),
                "spec.versions[1].additionalPrinterColumns[1].type: Required value: must be one of boolean,date,integer,number,string".to_owned(),
                "spec.versions[1].additionalPrinterColumns[1].JSONPath: Required value".to_owned(),
            ],
        ),
        (
            Box::new(|v| {
                v["spec"]["versions"][1]["subresources"]["scale"] = json!({
                    "specReplicasPath": ".status.replicas", "statusReplicasPath": "", "labelSelectorPath": ".metadata.labels"
                });
            }),
            vec![
                r#"spec.versions[1].subresources.scale.specReplicasPath: Invalid value: ".status.replicas": should be a json path under .spec"#.to_owned(),
                "spec.versions[1].subresources.scale.statusReplicasPath: Required value".to_owned(),
                r#"spec.versions[1].subresources.scale.labelSelectorPath: Invalid value: ".metadata.labels": should be a json path under either .spec or .status"#.to_owned(),
            ],
        ),
        (
            Box::new(|v| v["spec"]["versions"][1]["deprecationWarning"] = json!("old")),
            vec![r#"spec.versions[1].deprecationWarning: Invalid value: "old": can only be set for deprecated versions"#.to_owned()],
        ),
        (
            Box::new(|v| {
                v["spec"]["versions"][1]["selectableFields"] =
                    json!([{"jsonPath": ".spec.nope"}, {"jsonPath": ".spec"}, {"jsonPath": ".spec.color"}, {"jsonPath": ".spec.color"}]);
            }),
            vec![
                r#"spec.versions[1].selectableFields[0].jsonPath: Invalid value: ".spec.nope": is an invalid path: does not refer to a valid field"#.to_owned(),
                r#"spec.versions[1].selectableFields[1].jsonPath: Invalid value: ".spec": must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed."#.to_owned(),
                r#"spec.versions[1].selectableFields[3].jsonPath: Duplicate value: ".spec.color""#.to_owned(),
            ],
        ),
    ];
    for (i, (mutate, expected)) in cases.into_iter().enumerate() {
        assert_eq!(errors_after(mutate), expected, "case {i}");
    }
}

#[test]
fn api_approval() {
    let protected = |annotation: Option<&str>| {
        errors_after(move |v| {
            v["spec"]["group"] = json!("widgets.k8s.io");
            v["metadata"]["name"] = json!("widgets.widgets.k8s.io");
            if let Some(a) = annotation {
                v["metadata"]["annotations"] = json!({"api-approved.kubernetes.io": a});
            }
        })
    };
    assert_eq!(
        protected(None),
        [
            r#"metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111"#
        ]
    );
    assert_eq!(
        protected(Some("invalid")),
        [
            r#"metadata.annotations[api-approved.kubernetes.io]: Invalid value: "invalid": protected groups must have approval annotation "api-approved.kubernetes.io" with either a URL or a reason starting with "unapproved", see https://github.com/kubernetes/enhancements/pull/1111"#
        ]
    );
    assert!(protected(Some("https://github.com/kubernetes/kubernetes/pull/78458")).is_empty());
    assert!(protected(Some("unapproved, experimental")).is_empty());
}

#[test]
fn update_rules() {
    let mut old = decoded(&widget_crd());
    old.prepare_for_create();
    let mut new = old.clone();
    new.spec.group = "other.example.com".to_owned();
    new.spec.names.plural = "gadgets".to_owned();
    new.spec.scope = "Cluster".to_owned();
    new.prepare_for_update(&old);
    let errs: Vec<String> = new
        .validate_update(&old)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        [
            r#"spec.group: Invalid value: "other.example.com": field is immutable"#,
            r#"spec.names.plural: Invalid value: "gadgets": field is immutable"#,
        ]
    );
    // Once established, scope and kind are frozen too.
    old.status
        .set_condition(established_condition(), "2024-01-01T00:00:00Z");
    let mut new = old.clone();
    new.spec.scope = "Cluster".to_owned();
    new.prepare_for_update(&old);
    let errs: Vec<String> = new
        .validate_update(&old)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        [r#"spec.scope: Invalid value: "Cluster": field is immutable"#]
    );

    // Moving storage to v1beta1 keeps v1 in storedVersions; dropping v1 then fails.
    let mut new = old.clone();
    new.spec.versions[0].storage = true;
    new.spec.versions[1].storage = false;
    new.prepare_for_update(&old);
    assert_eq!(new.status.stored_versions, ["v1", "v1beta1"]);
    assert!(new.validate_update(&old).is_empty());
    let mut dropped = new.clone();
    dropped.spec.versions.remove(1);
    let errs: Vec<String> = dropped
        .validate_update(&new)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        [
            r#"status.storedVersions[0]: Invalid value: "v1": missing from spec.versions; v1 was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in v1 and removes v1 from status.storedVersions"#
        ]
    );
}

fn with_accepted(v: Value, name: &str, names: Value) -> CustomResourceDefinition {
    let mut crd = decoded(&v);
    crd.metadata.insert("name".to_owned(), json!(name));
    crd.status.accepted_names = serde_json::from_value(names).unwrap();
    crd
}

#[test]
fn names_conflicts() {
    let crd = decoded(&widget_crd());
    let other = with_accepted(
        widget_crd(),
        "gizmos.example.com",
        json!({"plural": "gizmos", "singular": "gizmo", "shortNames": ["gz", "wd"], "kind": "Gizmo", "listKind": "WidgetList"}),
    );
    let elsewhere = {
        let mut c = with_accepted(
            widget_crd(),
            "widgets.other.com",
            json!({"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"}),
        );
        c.spec.group = "other.com".to_owned();
        c
    };
    let none = |_: &str, _: &str| false;

    assert_eq!(names_conflict(&crd, &[&elsewhere], none), None);
    let decision = calculate_names(&crd, &[&elsewhere], none);
    assert_eq!(decision.names_accepted.reason, "NoConflicts");
    assert_eq!(decision.names_accepted.message, "no conflicts found");
    assert_eq!(decision.names_accepted.status, "True");
    assert_eq!(decision.accepted_names, crd.spec.names);
    assert_eq!(
        (
            decision.established.status.as_str(),
            decision.established.reason.as_str()
        ),
        ("False", "Installing")
    );

    // Upstream reports the last conflict; accepted names keep the free ones.
    let decision = calculate_names(&crd, &[&other], none);
    assert_eq!(decision.names_accepted.status, "False");
    assert_eq!(decision.names_accepted.reason, "ListKindConflict");
    assert_eq!(
        decision.names_accepted.message,
        r#""WidgetList" is already in use"#
    );
    assert_eq!(decision.accepted_names.plural, "widgets");
    assert_eq!(decision.accepted_names.kind, "Widget");
    assert!(decision.accepted_names.short_names.is_empty());
    assert!(decision.accepted_names.list_kind.is_empty());
    assert_eq!(decision.established.reason, "NotAccepted");

    let mut two_short = crd.clone();
    two_short.spec.names.short_names = vec!["gz".to_owned(), "wd".to_owned()];
    two_short.spec.names.list_kind = "WidgetItems".to_owned();
    assert_eq!(
        names_conflict(&two_short, &[&other], none),
        Some((
            "ShortNamesConflict".to_owned(),
            r#"["gz" is already in use, "wd" is already in use]"#.to_owned()
        ))
    );

    let mut singular = crd.clone();
    singular.spec.names.singular = "gizmo".to_owned();
    singular.spec.names.short_names.clear();
    singular.spec.names.list_kind = "WidgetItems".to_owned();
    assert_eq!(
        names_conflict(&singular, &[&other], none),
        Some((
            "SingularConflict".to_owned(),
            r#""gizmo" is already in use"#.to_owned()
        ))
    );

    let mut kind = singular.clone();
    kind.spec.names.singular = "widget".to_owned();
    kind.spec.names.kind = "Gizmo".to_owned();
    assert_eq!(
        names_conflict(&kind, &[&other], none),
        Some((
            "KindConflict".to_owned(),
            r#""Gizmo" is already in use"#.to_owned()
        ))
    );

    // A built-in resource of the same group takes the plural.
    let built_in = |group: &str, name: &str| group == "example.com" && name == "widgets";
    assert_eq!(
        names_conflict(&crd, &[], built_in),
        Some((
            "PluralConflict".to_owned(),
            r#""widgets" is already in use"#.to_owned()
        ))
    );

    // Names already accepted for this CRD stay accepted.
    let mut accepted = crd.clone();
    accepted.status.accepted_names = accepted.spec.names.clone();
    accepted
        .status
        .set_condition(established_condition(), "2024-01-01T00:00:00Z");
    let decision = calculate_names(&accepted, &[&accepted], built_in);
    assert_eq!(decision.names_accepted.reason, "NoConflicts");
    assert_eq!(decision.established.status, "True");
    assert_eq!(decision.established.reason, "InitialNamesAccepted");
}

#[test]
fn catalog_entries() {
    let mut crd = decoded(&widget_crd());
    assert!(
        resource_infos(&crd).is_empty(),
        "nothing before names are accepted"
    );
    crd.status.accepted_names = crd.spec.names.clone();
    let infos = crd.resource_infos();
    let versions: Vec<&str> = infos.iter().map(|r| r.version.as_str()).collect();
    assert_eq!(versions, ["v1", "v1beta1"]);
    let v1 = &infos[0];
    assert_eq!(
        (
            v1.group.as_str(),
            v1.resource.as_str(),
            v1.singular.as_str(),
            v1.kind.as_str()
        ),
        ("example.com", "widgets", "widget", "Widget")
    );
    assert!(v1.namespaced);
    assert_eq!(v1.verbs, RESOURCE_VERBS);
    assert_eq!(v1.short_names, ["wd"]);
    assert_eq!(v1.categories, ["all"]);
    let subs: Vec<(&str, &str, &str, &str)> = v1
        .subresources
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.group.as_str(),
                s.version.as_str(),
                s.kind.as_str(),
            )
        })
        .collect();
    assert_eq!(
        subs,
        [
            ("scale", "autoscaling", "v1", "Scale"),
            ("status", "example.com", "v1", "Widget")
        ]
    );
    assert!(v1.subresource("status").unwrap().verbs == SUBRESOURCE_VERBS);
    assert!(infos[1].subresources.is_empty());
}

#[test]
fn columns_and_cells() {
    let crd = decoded(&widget_crd());
    let cols = crd.printer_columns("v1");
    assert_eq!(cols.len(), 2);
    let default = crd.printer_columns("v1beta1");
    assert_eq!(default.len(), 1);
    assert_eq!(
        (
            default[0].name.as_str(),
            default[0].type_.as_str(),
            default[0].json_path.as_str()
        ),
        ("Age", "date", ".metadata.creationTimestamp")
    );
    let obj = json!({
        "metadata": {"name": "w", "creationTimestamp": "2024-01-01T00:00:00Z",
                     "labels": {"app.kubernetes.io/name": "web"}},
        "spec": {"replicas": 3, "color": "blue", "ratio": 1.5, "on": true, "list": [{"n": "a"}, {"n": "b"}]},
        "status": {"conditions": [
            {"type": "Progressing", "status": "True", "count": 2},
            {"type": "Ready", "status": "False", "count": 7}
        ]}
    });
    let cell = |type_: &str, path: &str| {
        printer_cell(
            &CustomResourceColumnDefinition {
                name: "c".to_owned(),
                type_: type_.to_owned(),
                json_path: path.to_owned(),
                ..CustomResourceColumnDefinition::default()
            },
            &obj,
        )
    };
    let defs = crd.table_column_definitions("v1");
    let names: Vec<&str> = defs.iter().filter_map(|d| d["name"].as_str()).collect();
    assert_eq!(names, ["Name", "Replicas", "Color"]);
    assert_eq!(defs[0]["format"], "name");
    assert_eq!(
        defs[1]["description"],
        "Custom resource definition column (in JSONPath format): .spec.replicas"
    );
    assert_eq!(defs[2]["priority"], 1);
    assert_eq!(
        crd.table_row_cells("v1", &obj),
        [json!("w"), json!(3), json!("blue")]
    );
    assert_eq!(
        crd.table_row_cells("v1beta1", &obj),
        [json!("w"), json!("2024-01-01T00:00:00Z")]
    );
    assert_eq!(cell("integer", ".spec.replicas"), json!(3));
    assert_eq!(cell("integer", ".spec.ratio"), json!(1));
    assert_eq!(cell("number", ".spec.replicas"), json!(3.0));
    assert_eq!(cell("string", ".spec.replicas"), json!("3"));
    assert_eq!(
        cell("string", ".spec.list"),
        json!(r#"[{"n":"a"},{"n":"b"}]"#)
    );
    assert_eq!(cell("boolean", ".spec.on"), json!(true));
    assert_eq!(cell("boolean", ".spec.color"), Value::Null);
    assert_eq!(
        cell("date", ".metadata.creationTimestamp"),
        json!("2024-01-01T00:00:00Z")
    );
    assert_eq!(cell("string", ".spec.missing"), Value::Null);

    let paths = [
        (".spec.color", Some(json!("blue"))),
        ("{.spec.color}", Some(json!("blue"))),
        ("$.spec.color", Some(json!("blue"))),
        (
            ".metadata.labels['app.kubernetes.io/name']",
            Some(json!("web")),
        ),
        (
            ".metadata.labels[\"app.kubernetes.io/name\"]",
            Some(json!("web")),
        ),
        (
            ".metadata.labels.app\\.kubernetes\\.io/name",
            Some(json!("web")),
        ),
        (".spec.list[1].n", Some(json!("b"))),
        (".spec.list[-1].n", Some(json!("b"))),
        (".spec.list[*].n", Some(json!("a"))),
        (
            ".status.conditions[?(@.type==\"Ready\")].status",
            Some(json!("False")),
        ),
        (
            ".status.conditions[?(@.type == 'Ready')].status",
            Some(json!("False")),
        ),
        (
            ".status.conditions[?(@.type!=\"Ready\")].type",
            Some(json!("Progressing")),
        ),
        (
            ".status.conditions[?(@.count > 5)].type",
            Some(json!("Ready")),
        ),
        (".status.conditions[?(@.missing)].type", None),
        (".spec.list[5]", None),
        (".spec[", None),
        ("spec.color", None),
    ];
    for (path, expected) in paths {
        assert_eq!(json_path_eval(&obj, path), expected, "{path}");
    }
}

#[test]
fn scale_subresource() {
    let crd = decoded(&widget_crd());
    let scale = crd.scale("v1").unwrap();
    let mut obj = json!({
        "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w", "namespace": "ns", "uid": "u", "resourceVersion": "7", "labels": {"x": "y"}},
        "spec": {"replicas": 3},
        "status": {"replicas": 2, "selector": "app=w"}
    });
    assert_eq!(
        scale_from_object(scale, &obj).unwrap(),
        json!({
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": "w", "namespace": "ns", "uid": "u", "resourceVersion": "7"},
            "spec": {"replicas": 3},
            "status": {"replicas": 2, "selector": "app=w"}
        })
    );
    set_spec_replicas(scale, &mut obj, 5).unwrap();
    assert_eq!(obj["spec"]["replicas"], json!(5));
    let mut empty = json!({"metadata": {"name": "e"}});
    assert_eq!(
        scale_from_object(scale, &empty).unwrap()["status"],
        json!({"replicas": 0})
    );
    set_spec_replicas(scale, &mut empty, 1).unwrap();
    assert_eq!(empty["spec"], json!({"replicas": 1}));
    let mut bad = json!({"spec": "nope"});
    assert_eq!(
        set_spec_replicas(scale, &mut bad, 1),
        Err("value cannot be set because .spec is not a map[string]interface{}".to_owned())
    );

    assert!(validate_scale(scale, &obj).is_empty());
    let wrong = json!({"spec": {"replicas": "3"}, "status": {"replicas": -1, "selector": 5}});
    let errs: Vec<String> = validate_scale(scale, &wrong)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        [
            ".spec.replicas: Invalid value: 0: .spec.replicas accessor error: 3 is of the type string, expected int64",
            ".status.replicas: Invalid value: -1: should be a non-negative integer",
            r#".status.selector: Invalid value: "": .status.selector accessor error: 5 is of the type int64, expected string"#,
        ]
    );
    assert_eq!(
        scale_from_object(scale, &wrong),
        Err(".spec.replicas accessor error: 3 is of the type string, expected int64".to_owned())
    );
    let huge = json!({"spec": {"replicas": 2_147_483_648_i64}});
    assert_eq!(
        validate_scale(scale, &huge)[0].to_string(),
        ".spec.replicas: Invalid value: 2147483648: should be less than or equal to 2147483647"
    );
}

#[test]
fn deprecation_and_type_meta() {
    let mut crd = decoded(&widget_crd());
    assert_eq!(
        crd.deprecation_warning("v1beta1").as_deref(),
        Some("example.com/v1beta1 Widget is deprecated; use example.com/v1 Widget")
    );
    assert_eq!(crd.deprecation_warning("v1"), None);
    crd.spec.versions[0].deprecation_warning = Some("v1beta1 is going away".to_owned());
    assert_eq!(
        crd.deprecation_warning("v1beta1").as_deref(),
        Some("v1beta1 is going away")
    );

    crd.status.accepted_names = crd.spec.names.clone();
    let ok = json!({"apiVersion": "example.com/v1", "kind": "Widget"});
    assert!(validate_type_meta(&crd, "v1", &ok).is_empty());
    let errs: Vec<String> = validate_type_meta(
        &crd,
        "v1beta1",
        &json!({"apiVersion": "example.com/v1", "kind": "Gadget"}),
    )
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        errs,
        [
            r#"kind: Invalid value: "Gadget": must be Widget"#,
            r#"apiVersion: Invalid value: "example.com/v1": must be example.com/v1beta1"#,
        ]
    );
}

/// A kubebuilder-style CRD (metav1.Condition list, quantities, CEL
/// rules, embedded template) through the whole create path of a server.
#[test]
fn kubebuilder_style_end_to_end() {
    let condition = json!({
        "type": "object",
        "required": ["lastTransitionTime", "message", "reason", "status", "type"],
        "properties": {
            "lastTransitionTime": {"type": "string", "format": "date-time"},
            "message": {"type": "string", "maxLength": 32768},
            "observedGeneration": {"type": "integer", "format": "int64", "minimum": 0},
            "reason": {"type": "string", "maxLength": 1024, "minLength": 1,
                       "pattern": "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"},
            "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
            "type": {"type": "string", "maxLength": 316,
                     "pattern": "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"}
        }
    });
    let quantity = json!({
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "pattern": "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$",
        "x-kubernetes-int-or-string": true
    });
    let mut v = widget_crd();
    v["spec"]["versions"][1]["schema"]["openAPIV3Schema"] = json!({
        "type": "object",
        "description": "Widget is the Schema for the widgets API",
        "x-kubernetes-validations": [{"rule": "self.metadata.name.size() < 50", "message": "short names"}],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {"type": "object", "required": ["size"], "properties": {
                "replicas": {"type": "integer", "format": "int32", "default": 1, "minimum": 0},
                "size": quantity,
                "mode": {"type": "string", "enum": ["Fast", "Safe"], "default": "Safe"},
                "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                             "x-kubernetes-preserve-unknown-fields": true},
                "selector": {"type": "object", "x-kubernetes-map-type": "atomic", "properties": {
                    "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}
                }}
            }},
            "status": {"type": "object", "properties": {
                "replicas": {"type": "integer"},
                "selector": {"type": "string"},
                "conditions": {"type": "array", "items": condition,
                               "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]}
            }}
        }
    });
    v["spec"]["versions"][1]["selectableFields"] = json!([{"jsonPath": ".spec.mode"}]);
    let crd = decoded(&v);
    assert_eq!(crd.validate(), []);
    let schema = crd.structural_schema("v1").unwrap();

    let mut obj = json!({
        "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w", "namespace": "default", "labels": {"app": "w"}, "bogus": 1},
        "spec": {
            "size": "1.5Gi", "color": "red",
            "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}},
            "selector": {"matchLabels": {"app": "w"}}
        },
        "status": {"conditions": [
            {"type": "Ready", "status": "True", "reason": "Up", "message": "", "lastTransitionTime": "2024-05-01T10:00:00Z"}
        ]}
    });
    let unknown = structural::prune(&schema, &mut obj);
    assert_eq!(unknown, ["metadata.bogus", "spec.color"]);
    structural::apply_defaults(&schema, &mut obj);
    assert_eq!(obj["spec"]["replicas"], json!(1));
    assert_eq!(obj["spec"]["mode"], json!("Safe"));
    assert_eq!(structural::validate(&schema, &obj), []);
    assert!(validate_scale(crd.scale("v1").unwrap(), &obj).is_empty());

    obj["spec"]["size"] = json!("lots");
    obj["spec"]["mode"] = json!("Turbo");
    obj["status"]["conditions"] = json!([
        {"type": "Ready", "status": "Maybe", "reason": "Up", "message": "", "lastTransitionTime": "now"},
        {"type": "Ready", "status": "True", "reason": "Up", "message": "", "lastTransitionTime": "2024-05-01T10:00:00Z"}
    ]);
    let errs: Vec<String> = structural::validate(&schema, &obj)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        [
            r#"spec.mode: Unsupported value: "Turbo": supported values: "Fast", "Safe""#,
            r#"spec.size: Invalid value: "lots": spec.size in body should match '^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$'"#,
            r#"status.conditions[0].lastTransitionTime: Invalid value: "now": status.conditions[0].lastTransitionTime in body must be of type date-time: "now""#,
            r#"status.conditions[0].status: Unsupported value: "Maybe": supported values: "True", "False", "Unknown""#,
            r#"status.conditions[1]: Duplicate value: {"type":"Ready"}"#,
        ]
    );
}

#[test]
fn conditions() {
    let mut status = CustomResourceDefinitionStatus::default();
    status.set_condition(
        CustomResourceDefinitionCondition::new(NAMES_ACCEPTED, "False", "PluralConflict", "x"),
        "t1",
    );
    status.set_condition(
        CustomResourceDefinitionCondition::new(NAMES_ACCEPTED, "False", "KindConflict", "y"),
        "t2",
    );
    let c = status.condition(NAMES_ACCEPTED).unwrap();
    assert_eq!(c.last_transition_time.as_deref(), Some("t1"));
    assert_eq!(c.reason, "KindConflict");
    status.set_condition(
        CustomResourceDefinitionCondition::new(
            NAMES_ACCEPTED,
            "True",
            "NoConflicts",
            "no conflicts found",
        ),
        "t3",
    );
    assert_eq!(
        status
            .condition(NAMES_ACCEPTED)
            .unwrap()
            .last_transition_time
            .as_deref(),
        Some("t3")
    );
    status.set_condition(terminating_pending_condition(), "t4");
    assert_eq!(status.conditions.len(), 2);
    status.remove_condition(TERMINATING);
    assert_eq!(status.conditions.len(), 1);
}

#[test]
fn conversion_webhook_configuration() {
    let mut v = widget_crd();
    assert_eq!(decoded(&v).conversion_webhook(), None);
    v["spec"]["conversion"] = json!({"strategy": "Webhook", "webhook": {
        "conversionReviewVersions": ["v9", "v1beta1", "v1"],
        "clientConfig": {"service": {"name": "conv", "namespace": "hooks"}, "caBundle": "Q0E="}}});
    let hook = decoded(&v).conversion_webhook().unwrap();
    assert_eq!(hook.review_version, "v1beta1");
    assert_eq!(hook.ca_bundle, "Q0E=");
    let service = hook.service.unwrap();
    assert_eq!((service.path.as_str(), service.port), ("/", 443));
    assert_eq!(service.server_name(), "conv.hooks.svc");
}

#[test]
fn conversion_review_answers_are_checked() {
    let originals = vec![
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "a", "uid": "u1", "labels": {"x": "1"}}, "spec": {"n": 1}}),
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "b", "uid": "u2"}, "spec": {"n": 2}}),
    ];
    let review = review_request("v1", "id-1", "example.com/v2", &originals);
    assert_eq!(review["request"]["objects"].as_array().unwrap().len(), 2);
    assert_eq!(review["apiVersion"], "apiextensions.k8s.io/v1");
    let to_v2 = |o: &Value, desired: &str| {
        let mut o = o.clone();
        o["apiVersion"] = json!(desired);
        o["spec"] = json!({"count": o["spec"]["n"].clone()});
        // A webhook may change labels and annotations, nothing else of
        // metadata (the rest is restored).
        o["metadata"]["labels"] = json!({"converted": "yes"});
        o["metadata"]["generation"] = json!(99);
        o
    };
    let answer = review_response(&review, to_v2);
    let read = |a: &Value, sent: &[Value]| {
        read_review_response(
            &serde_json::to_vec(a).unwrap(),
            "v1",
            "id-1",
            "example.com/v2",
            sent,
        )
    };
    let out = read(&answer, &originals).unwrap();
    assert_eq!(out[0]["spec"], json!({"count": 1}));
    assert_eq!(
        out[0]["metadata"],
        json!({"name": "a", "uid": "u1", "labels": {"converted": "yes"}})
    );
    assert_eq!(out[1]["metadata"]["name"], "b");

    let bad = |mutate: &dyn Fn(&mut Value)| {
        let mut a = answer.clone();
        mutate(&mut a);
        read(&a, &originals).unwrap_err()
    };
    assert_eq!(
        bad(&|a| a["response"]["uid"] = json!("other")),
        r#"failed: expected response.uid="id-1", got "other""#
    );
    assert_eq!(
        bad(&|a| a["kind"] = json!("AdmissionReview")),
        "failed: expected webhook response of apiextensions.k8s.io/v1, Kind=ConversionReview, got apiextensions.k8s.io/v1, Kind=AdmissionReview"
    );
    assert_eq!(
        bad(&|a| a["response"]["result"] = json!({"status": "Failure", "message": "no way"})),
        "failed: no way"
    );
    assert_eq!(
        bad(&|a| a["response"]["result"] = json!({"status": "Failure"})),
        "failed: response.result.status was 'Failure', not 'Success'"
    );
    assert_eq!(
        bad(&|a| {
            a["response"]["convertedObjects"]
                .as_array_mut()
                .unwrap()
                .pop();
        }),
        "returned 1 objects, expected 2"
    );
    assert_eq!(
        bad(&|a| a["response"]["convertedObjects"][1]["apiVersion"] = json!("example.com/v1")),
        "returned invalid converted object at index 1: invalid groupVersion (expected example.com/v2, received example.com/v1)"
    );
    assert_eq!(
        bad(&|a| a["response"]["convertedObjects"][0]["kind"] = json!("Gadget")),
        "returned invalid converted object at index 0: invalid kind (expected Widget, received Gadget)"
    );
    assert_eq!(
        bad(&|a| a["response"]["convertedObjects"][0]["metadata"]["name"] = json!("renamed")),
        "returned invalid converted object at index 0: must have the same name: a != renamed"
    );
    assert_eq!(
        bad(&|a| a["response"]["convertedObjects"][1]["metadata"]["annotations"] = json!({"k": 1})),
        "returned invalid metadata in object at index 1: metadata.annotations[k] must be a string, but is number in converted object"
    );
    let invalid = bad(&|a| {
        a["response"]["convertedObjects"][0]["metadata"]["labels"] = json!({"bad key!": "v"})
    });
    assert!(
        invalid.starts_with("returned invalid metadata in object at index 0: metadata.labels: Invalid value: \"bad key!\""),
        "{invalid}"
    );
    // One object: upstream's single-object wording.
    let one = &originals[..1];
    let review = review_request("v1", "id-1", "example.com/v2", one);
    let mut answer = review_response(&review, to_v2);
    answer["response"]["convertedObjects"][0]["metadata"]["uid"] = json!("u9");
    assert_eq!(
        read(&answer, one).unwrap_err(),
        "returned invalid object at index 0: must have the same UID: u1 != u9"
    );
    // v1beta1 answers are not checked for uid (as upstream).
    let review = review_request("v1beta1", "id-1", "example.com/v2", one);
    let mut answer = review_response(&review, to_v2);
    answer["response"]["uid"] = json!("whatever");
    let body = serde_json::to_vec(&answer).unwrap();
    assert!(read_review_response(&body, "v1beta1", "id-1", "example.com/v2", one).is_ok());
    assert!(
        read(&json!("<html>"), one)
            .unwrap_err()
            .starts_with("failed: ")
    );
    assert_eq!(
        read_review_response(
            b"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"ConversionReview\"}",
            "v1",
            "id-1",
            "example.com/v2",
            one
        )
        .unwrap_err(),
        "failed: no response provided"
    );
    assert_eq!(
        gvk_string("example.com/v1", "Widget"),
        "example.com/v1, Kind=Widget"
    );
}

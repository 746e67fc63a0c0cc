use std::collections::BTreeMap;

use super::field_error::{FieldError, aggregate_messages, go_quote};
use super::meta::{
    generate_name, random_suffix, validate_annotations, validate_labels, validate_object_meta_name,
};
use super::names::{
    GENERATED_SUFFIX_ALPHABET, GENERATED_SUFFIX_LENGTH, NameRule,
    TOTAL_ANNOTATION_SIZE_LIMIT_BYTES, is_dns1035_label, is_dns1123_label, is_dns1123_subdomain,
    is_qualified_name, is_valid_label_value, is_valid_path_segment_name,
    is_valid_path_segment_prefix,
};
use serde_json::Value;

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
        "", "A", "ABC", "aBc", "A1", "a_1", "a..1", "-1", "1-", "a.", ".a", "a.-b", "a-.b", "_",
        "a b", "a/b", "é",
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

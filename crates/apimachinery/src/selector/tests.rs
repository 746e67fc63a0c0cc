use std::collections::BTreeMap;

use super::field::{FieldSelector, escape_field_value};
use super::label::{LabelSelector, MetaLabelSelector};

use serde_json::json;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Valid selectors and their canonical form (upstream's
/// `TestSelectorParse` and `TestLexerParser` cases).
#[test]
fn parse_and_print() {
    let cases = [
        ("", ""),
        ("   ", ""),
        ("x=a", "x=a"),
        ("x=a,y=b,z=c", "x=a,y=b,z=c"),
        ("x = a", "x=a"),
        ("x=a\t,\n y=b", "x=a,y=b"),
        ("x!=a,y!=b", "x!=a,y!=b"),
        ("x=", "x="),
        ("x= ", "x="),
        ("x=,z= ", "x=,z="),
        ("x!=", "x!="),
        ("x==", "x=="),
        ("x in (a)", "x in (a)"),
        ("x in (b,a)", "x in (a,b)"),
        ("x in(a,b)", "x in (a,b)"),
        ("x in (a,a)", "x in (a)"),
        ("x in ()", "x in ()"),
        ("x in (,)", "x in ()"),
        ("x in (a,)", "x in (,a)"),
        ("x in (,a)", "x in (,a)"),
        ("x in (a,,b)", "x in (,a,b)"),
        ("x notin (a)", "x notin (a)"),
        ("x notin ( a , b )", "x notin (a,b)"),
        ("x in (in,notin)", "x in (in,notin)"),
        ("x", "x"),
        ("!x", "!x"),
        ("! x", "!x"),
        ("x,!y", "x,!y"),
        ("x>1", "x>1"),
        ("x<1", "x<1"),
        ("z=b,y in (a),x", "x,y in (a),z=b"),
        ("example.com/app=web", "example.com/app=web"),
        (
            "app.kubernetes.io/name in (a, b),!kubernetes.io/legacy",
            "app.kubernetes.io/name in (a,b),!kubernetes.io/legacy",
        ),
    ];
    for (input, canonical) in cases {
        let selector =
            LabelSelector::parse(input).unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
        assert_eq!(selector.to_string(), canonical, "{input:?}");
        // The canonical form parses back to the same selector.
        assert_eq!(
            LabelSelector::parse(canonical).ok(),
            Some(selector),
            "{canonical:?}"
        );
    }
}

/// Invalid selectors and upstream's exact messages.
#[test]
fn parse_errors() {
    let name_part = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    let label_value = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
    let long_value = format!("x={}", "a".repeat(64));
    let cases: Vec<(&str, String)> = vec![
        ("x=a,", "found '', expected: identifier after ','".into()),
        ("x=a,,y=b", "found ',', expected: identifier after ','".into()),
        (",x=a", "found ',', expected: !, identifier, or 'end of string'".into()),
        ("=a", "found '=', expected: !, identifier, or 'end of string'".into()),
        ("x=a y=b", "found 'y', expected: ',' or 'end of string'".into()),
        ("x in (a", "unable to parse requirement: found '', expected: ',' or ')'".into()),
        ("x in a", "unable to parse requirement: found 'a' expected: '('".into()),
        ("x in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'".into()),
        ("x in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier".into()),
        ("x in (a,=)", "unable to parse requirement: found '=', expected: ',', or identifier".into()),
        ("x y", "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt".into()),
        ("x!y", "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt".into()),
        ("x=(", "unable to parse requirement: found '(', expected: identifier".into()),
        ("!", "unable to parse requirement: found '', expected: identifier".into()),
        ("!x=a", "found '=', expected: ',' or 'end of string'".into()),
        ("x>a", "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer".into()),
        ("x>", "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer".into()),
        ("x=a==b", "found '==', expected: ',' or 'end of string'".into()),
        ("x=a||y", format!("unable to parse requirement: values[0][x]: Invalid value: \"a||y\": {label_value}")),
        ("app:=x", format!("unable to parse requirement: <nil>: Invalid value: \"app:\": {name_part}")),
        ("a/b/c=d", "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')".into()),
        // Negative numbers are not valid label values, so `gt`/`lt` cannot use them.
        ("x>-1", format!("unable to parse requirement: values[0][x]: Invalid value: \"-1\": {label_value}")),
        ("x=-a", format!("unable to parse requirement: values[0][x]: Invalid value: \"-a\": {label_value}")),
        ("x in (a,-b)", format!("unable to parse requirement: values[0][x]: Invalid value: \"-b\": {label_value}")),
        (&long_value, format!("unable to parse requirement: values[0][x]: Invalid value: \"{}\": must be no more than 63 characters", "a".repeat(64))),
    ];
    for (input, message) in cases {
        let err = LabelSelector::parse(input).expect_err(input);
        assert_eq!(err.message(), message, "{input:?}");
    }
}

#[test]
fn matching_table() {
    let set = labels(&[("x", "a"), ("y", "b"), ("n", "5")]);
    let cases = [
        ("", true),
        ("x=a", true),
        ("x==a", true),
        ("x=b", false),
        ("x=a,y=b", true),
        ("x=a,y=c", false),
        ("x!=b", true),
        ("x!=a", false),
        ("z!=a", true),
        ("x in (a,b)", true),
        ("x in (b,c)", false),
        ("z in (a)", false),
        ("x notin (b)", true),
        ("x notin (a)", false),
        ("z notin (a)", true),
        ("x", true),
        ("z", false),
        ("!z", true),
        ("!x", false),
        ("x=", false),
        ("z=", false),
        ("z!=", true),
        ("n>4", true),
        ("n>5", false),
        ("n<6", true),
        ("n<5", false),
        ("x>1", false),
        ("z>1", false),
        ("n in (5)", true),
    ];
    for (selector, expected) in cases {
        let parsed = LabelSelector::parse(selector).expect(selector);
        assert_eq!(parsed.matches(&set), expected, "{selector:?}");
    }
    let with_empty = labels(&[("x", "")]);
    assert!(
        LabelSelector::parse("x=")
            .expect("parse")
            .matches(&with_empty)
    );
    assert!(
        LabelSelector::parse("x in ()")
            .expect("parse")
            .matches(&with_empty)
    );
    assert!(
        LabelSelector::parse("x")
            .expect("parse")
            .matches(&with_empty)
    );
}

#[test]
fn matching_object_json() {
    let object = json!({"metadata": {"name": "a", "labels": {"app": "web", "n": 3}}});
    let selector = LabelSelector::parse("app=web").expect("parse");
    assert!(selector.matches_object(&object));
    // Non-string label values count as absent.
    assert!(
        LabelSelector::parse("!n")
            .expect("parse")
            .matches_object(&object)
    );
    // Objects without labels.
    let bare = json!({"metadata": {"name": "a"}});
    assert!(
        LabelSelector::parse("!app")
            .expect("parse")
            .matches_object(&bare)
    );
    assert!(!selector.matches_object(&bare));
    assert!(LabelSelector::everything().matches_object(&bare));
    assert!(!LabelSelector::nothing().matches_object(&bare));
}

#[test]
fn exact_match_introspection() {
    let s = LabelSelector::parse("a=1,b in (2),c in (3,4),d!=5,e==6").expect("parse");
    assert_eq!(s.requires_exact_match("a"), Some("1"));
    assert_eq!(s.requires_exact_match("b"), Some("2"));
    assert_eq!(s.requires_exact_match("c"), None);
    assert_eq!(s.requires_exact_match("d"), None);
    assert_eq!(s.requires_exact_match("e"), Some("6"));
    assert_eq!(s.requires_exact_match("f"), None);
}

#[test]
fn structured_selectors() {
    let meta: MetaLabelSelector = serde_json::from_value(json!({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["front", "edge"]},
            {"key": "legacy", "operator": "DoesNotExist"},
            {"key": "env", "operator": "NotIn", "values": ["dev"]},
            {"key": "team", "operator": "Exists", "values": []}
        ]
    }))
    .expect("decode");
    let selector = LabelSelector::try_from(&meta).expect("convert");
    assert_eq!(
        selector.to_string(),
        "app=web,env notin (dev),!legacy,team,tier in (edge,front)"
    );
    assert!(selector.matches(&labels(&[("app", "web"), ("tier", "edge"), ("team", "x")])));
    assert!(!selector.matches(&labels(&[("app", "web"), ("tier", "edge")])));

    assert!(
        !LabelSelector::from_meta(None)
            .expect("nothing")
            .matches(&labels(&[]))
    );
    let empty = LabelSelector::from_meta(Some(&MetaLabelSelector::default())).expect("empty");
    assert!(empty.is_empty());
    assert!(empty.matches(&labels(&[("any", "thing")])));

    let round_trip = serde_json::to_value(&meta).expect("encode");
    assert_eq!(
        round_trip["matchExpressions"][1],
        json!({"key": "legacy", "operator": "DoesNotExist"})
    );
    assert_eq!(
        serde_json::to_value(MetaLabelSelector::default()).expect("encode"),
        json!({})
    );
}

#[test]
fn structured_selector_errors() {
    let cases = [
        (
            json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}),
            "\"Gt\" is not a valid label selector operator",
        ),
        (
            json!({"matchExpressions": [{"key": "a", "operator": "In"}]}),
            "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty",
        ),
        (
            json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
            "values: Invalid value: [\"x\"]: values set must be empty for exists and does not exist",
        ),
        (
            json!({"matchLabels": {"a": "-bad"}}),
            "values[0][a]: Invalid value: \"-bad\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ),
    ];
    for (input, message) in cases {
        let meta: MetaLabelSelector = serde_json::from_value(input.clone()).expect("decode");
        let err = LabelSelector::try_from(&meta).expect_err("invalid");
        assert_eq!(err.message(), message, "{input}");
    }
    // Several problems aggregate as a bracketed list.
    let meta: MetaLabelSelector =
        serde_json::from_value(json!({"matchExpressions": [{"key": "-k", "operator": "In"}]}))
            .expect("decode");
    let err = LabelSelector::try_from(&meta).expect_err("invalid");
    assert!(
        err.message()
            .starts_with("[key: Invalid value: \"-k\": name part"),
        "{err}"
    );
    assert!(
        err.message().ends_with(
            ", values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty]"
        ),
        "{err}"
    );
}

#[test]
fn field_selector_parse_and_print() {
    let cases = [
        ("", ""),
        ("metadata.name=foo", "metadata.name=foo"),
        ("metadata.name==foo", "metadata.name=foo"),
        ("status.phase!=Running", "status.phase!=Running"),
        ("b=2,a=1", "a=1,b=2"),
        ("a=1,,b=2", "a=1,b=2"),
        ("spec.nodeName=", "spec.nodeName="),
        ("x=a\\,b", "x=a\\,b"),
        ("x=a\\=b", "x=a\\=b"),
        ("x=a\\\\b", "x=a\\\\b"),
    ];
    for (input, canonical) in cases {
        let parsed = FieldSelector::parse(input).expect(input);
        assert_eq!(parsed.to_string(), canonical, "{input:?}");
    }
    let s = FieldSelector::parse("x=a\\,b").expect("parse");
    assert_eq!(s.requirements()[0].value, "a,b");
}

#[test]
fn field_selector_errors() {
    let cases = [
        ("foo", "invalid selector: 'foo'; can't understand 'foo'"),
        (
            "metadata.name=name1,foo",
            "invalid selector: 'metadata.name=name1,foo'; can't understand 'foo'",
        ),
        (
            "x=a=b",
            "invalid field selector: unescaped character in value: =",
        ),
        (
            "x!==a",
            "invalid field selector: unescaped character in value: =",
        ),
        (
            "x=a\\b",
            "invalid field selector: invalid escape sequence: \\b",
        ),
        (
            "x=a\\",
            "invalid field selector: invalid escape sequence: \\",
        ),
    ];
    for (input, message) in cases {
        let err = FieldSelector::parse(input).expect_err(input);
        assert_eq!(err.message(), message, "{input:?}");
    }
}

#[test]
fn field_selector_matching() {
    let pod = json!({
        "metadata": {"name": "web-0", "namespace": "default"},
        "spec": {"nodeName": "node-1", "replicas": 3, "paused": false, "ports": [1]},
        "status": {"phase": "Running", "message": null}
    });
    let cases = [
        ("", true),
        ("metadata.name=web-0", true),
        ("metadata.name==web-0", true),
        ("metadata.name=web-1", false),
        ("metadata.name!=web-1", true),
        ("metadata.namespace=default,status.phase=Running", true),
        ("metadata.namespace=default,status.phase=Pending", false),
        ("spec.nodeName=node-1", true),
        ("spec.nodeName!=", true),
        ("spec.schedulerName=", true),
        ("spec.schedulerName!=", false),
        ("status.message=", true),
        ("spec.replicas=3", true),
        ("spec.paused=false", true),
        ("spec.ports=", false),
        // Arrays and objects equal no value.
        ("spec.ports!=[1]", true),
        ("spec.ports!=x", true),
        ("nope.deeper=", true),
    ];
    for (selector, expected) in cases {
        let parsed = FieldSelector::parse(selector).expect(selector);
        assert_eq!(parsed.matches(&pod), expected, "{selector:?}");
    }
}

#[test]
fn field_selector_exact_match() {
    let s = FieldSelector::parse("metadata.name=b,metadata.name=a,status.phase!=x").expect("parse");
    assert_eq!(s.requires_exact_match("metadata.name"), Some("a"));
    assert_eq!(s.requires_exact_match("status.phase"), None);
    assert_eq!(escape_field_value("a,b=c\\d"), "a\\,b\\=c\\\\d");
}

use super::*;
use crate::UserInfo;

const DOCS_EXAMPLE: &str = include_str!("../../testdata/docs-example-policy.yaml");

/// A resource request by `user` in `groups`.
fn res(
    verb: &str,
    ns: &str,
    group: &str,
    resource: &str,
    sub: &str,
    name: &str,
) -> RequestAttributes {
    RequestAttributes {
        user: UserInfo {
            username: "alice".into(),
            groups: vec!["system:authenticated".into()],
            ..UserInfo::default()
        },
        verb: verb.into(),
        is_resource_request: true,
        namespace: ns.into(),
        api_group: group.into(),
        api_version: "v1".into(),
        resource: resource.into(),
        subresource: sub.into(),
        name: name.into(),
        ..RequestAttributes::default()
    }
}

fn non_res(verb: &str, path: &str) -> RequestAttributes {
    RequestAttributes {
        user: UserInfo {
            username: "alice".into(),
            groups: vec!["system:authenticated".into()],
            ..UserInfo::default()
        },
        verb: verb.into(),
        path: path.into(),
        request_uri: path.into(),
        ..RequestAttributes::default()
    }
}

fn as_user(mut a: RequestAttributes, name: &str, groups: &[&str]) -> RequestAttributes {
    a.user.username = name.into();
    a.user.groups = groups.iter().map(|g| (*g).to_owned()).collect();
    a
}

fn one_rule(yaml_rule: &str) -> Policy {
    let doc = format!("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n{yaml_rule}");
    match Policy::parse(&doc) {
        Ok(p) => p,
        Err(e) => panic!("{e}\n{doc}"),
    }
}

fn parse_err(doc: &str) -> String {
    match Policy::parse(doc) {
        Ok(p) => panic!("parsed: {p:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn docs_example_policy_parses() {
    let p = Policy::parse(DOCS_EXAMPLE).unwrap();
    assert_eq!(p.rules().len(), 9);
    let levels: Vec<Level> = p.rules().iter().map(|r| r.level).collect();
    assert_eq!(
        levels,
        [
            Level::RequestResponse,
            Level::Metadata,
            Level::None,
            Level::None,
            Level::None,
            Level::Request,
            Level::Metadata,
            Level::Request,
            Level::Metadata,
        ]
    );
    assert_eq!(
        p.rules()[2].resources[0].resource_names,
        ["controller-leader"]
    );
    assert_eq!(p.rules()[4].non_resource_urls, ["/api*", "/version"]);
    assert_eq!(p.rules()[7].resources.len(), 2);
    // The policy-wide omitStages reaches every rule.
    assert!(
        p.rules()
            .iter()
            .all(|r| r.omit_stages.contains(Stage::RequestReceived))
    );
}

#[test]
fn docs_example_policy_decisions() {
    let p = Policy::parse(DOCS_EXAMPLE).unwrap();
    let level = |a: RequestAttributes| p.level_for(&a).0;
    assert_eq!(
        level(res("create", "default", "", "pods", "", "web")),
        Level::RequestResponse
    );
    assert_eq!(
        level(res("get", "default", "", "pods", "log", "web")),
        Level::Metadata
    );
    assert_eq!(
        level(res("update", "default", "", "pods", "status", "web")),
        Level::Metadata
    );
    // pods/exec is not listed: falls through to the core-group rule.
    assert_eq!(
        level(res("create", "default", "", "pods", "exec", "web")),
        Level::Request
    );
    assert_eq!(
        level(res(
            "update",
            "kube-system",
            "",
            "configmaps",
            "",
            "controller-leader"
        )),
        Level::None
    );
    assert_eq!(
        level(res("update", "kube-system", "", "configmaps", "", "other")),
        Level::Request
    );
    assert_eq!(
        level(res("update", "default", "", "configmaps", "", "x")),
        Level::Metadata
    );
    assert_eq!(
        level(res("get", "default", "", "secrets", "", "x")),
        Level::Metadata
    );
    let proxy_watch = as_user(
        res("watch", "", "", "endpoints", "", ""),
        "system:kube-proxy",
        &[],
    );
    assert_eq!(level(proxy_watch), Level::None);
    let proxy_list = as_user(
        res("list", "", "", "endpoints", "", ""),
        "system:kube-proxy",
        &[],
    );
    assert_eq!(level(proxy_list), Level::Request);
    assert_eq!(level(non_res("get", "/apis")), Level::None);
    assert_eq!(level(non_res("get", "/version")), Level::None);
    assert_eq!(level(non_res("get", "/healthz")), Level::Metadata);
    assert_eq!(
        level(res("get", "", "apps", "deployments", "", "d")),
        Level::Metadata
    );
    assert_eq!(
        level(res("get", "", "extensions", "ingresses", "", "i")),
        Level::Request
    );
}

#[test]
fn json_policy_is_accepted() {
    let p = Policy::parse(
        r#"{"apiVersion":"audit.k8s.io/v1","kind":"Policy","omitManagedFields":true,
            "metadata":{"name":"x"},
            "rules":[{"level":"Metadata","omitManagedFields":false}]}"#,
    )
    .unwrap();
    assert_eq!(p.rules()[0].level, Level::Metadata);
}

#[test]
fn rule_matching_table() {
    struct Case {
        name: &'static str,
        rule: &'static str,
        attrs: RequestAttributes,
        matches: bool,
    }
    let cases = [
        Case {
            name: "empty rule matches everything",
            rule: "- level: Metadata",
            attrs: non_res("get", "/healthz"),
            matches: true,
        },
        Case {
            name: "users: listed user",
            rule: "- level: Metadata\n  users: [bob, alice]",
            attrs: res("get", "ns", "", "pods", "", "p"),
            matches: true,
        },
        Case {
            name: "users: other user",
            rule: "- level: Metadata\n  users: [bob]",
            attrs: res("get", "ns", "", "pods", "", "p"),
            matches: false,
        },
        Case {
            name: "userGroups: any one group is enough",
            rule: "- level: Metadata\n  userGroups: [admins, devs]",
            attrs: as_user(
                res("get", "ns", "", "pods", "", "p"),
                "carol",
                &["x", "devs"],
            ),
            matches: true,
        },
        Case {
            name: "userGroups: no shared group",
            rule: "- level: Metadata\n  userGroups: [admins]",
            attrs: as_user(res("get", "ns", "", "pods", "", "p"), "carol", &["devs"]),
            matches: false,
        },
        Case {
            name: "userGroups: user without groups",
            rule: "- level: Metadata\n  userGroups: [admins]",
            attrs: as_user(res("get", "ns", "", "pods", "", "p"), "carol", &[]),
            matches: false,
        },
        Case {
            name: "verbs: listed",
            rule: "- level: Metadata\n  verbs: [create, update]",
            attrs: res("update", "ns", "", "pods", "", "p"),
            matches: true,
        },
        Case {
            name: "verbs: not listed",
            rule: "- level: Metadata\n  verbs: [create]",
            attrs: res("get", "ns", "", "pods", "", "p"),
            matches: false,
        },
        Case {
            name: "resources: plain resource",
            rule: "- level: Metadata\n  resources: [{group: '', resources: [pods]}]",
            attrs: res("get", "ns", "", "pods", "", "p"),
            matches: true,
        },
        Case {
            name: "resources: plain resource does not cover subresources",
            rule: "- level: Metadata\n  resources: [{group: '', resources: [pods]}]",
            attrs: res("get", "ns", "", "pods", "log", "p"),
            matches: false,
        },
        Case {
            name: "resources: res/sub",
            rule: "- level: Metadata\n  resources: [{group: '', resources: [pods/log]}]",
            attrs: res("get", "ns", "", "pods", "log", "p"),
            matches: true,
        },
        Case {
            name: "resources: res/sub does not cover the resource",
            rule: "- level: Metadata\n  resources: [{group: '', resources: [pods/log]}]",
            attrs: res("get", "ns", "", "pods", "", "p"),
            matches: false,
        },
        Case {
            name: "resources: * covers subresources",
            rule: "- level: Metadata\n  resources: [{group: '', resources: ['*']}]",
            attrs: res("get", "ns", "", "pods", "log", "p"),
            matches: true,
        },
        Case {
            name: "resources: */sub",
            rule: "- level: Metadata\n  resources: [{group: apps, resources: ['*/scale']}]",
            attrs: res("update", "ns", "apps", "deployments", "scale", "d"),
            matches: true,
        },
        Case {
            name: "resources: */sub needs that subresource",
            rule: "- level: Metadata\n  resources: [{group: apps, resources: ['*/scale']}]",
            attrs: res("update", "ns", "apps", "deployments", "status", "d"),
            matches: false,
        },
        Case {
            name: "resources: */sub never matches the bare resource",
            rule: "- level: Metadata\n  resources: [{group: apps, resources: ['*/scale']}]",
            attrs: res("update", "ns", "apps", "deployments", "", "d"),
            matches: false,
        },
        Case {
            name: "resources: res/* covers subresources",
            rule: "- level: Metadata\n  resources: [{group: '', resources: ['pods/*']}]",
            attrs: res("get", "ns", "", "pods", "exec", "p"),
            matches: true,
        },
        Case {
            name: "resources: res/* also covers the resource itself, as upstream's checker",
            rule: "- level: Metadata\n  resources: [{group: '', resources: ['pods/*']}]",
            attrs: res("get", "ns", "", "pods", "", "p"),
            matches: true,
        },
        Case {
            name: "resources: res/* is only that resource",
            rule: "- level: Metadata\n  resources: [{group: '', resources: ['pods/*']}]",
            attrs: res("get", "ns", "", "services", "status", "s"),
            matches: false,
        },
        Case {
            name: "resources: group must match",
            rule: "- level: Metadata\n  resources: [{group: apps, resources: [pods]}]",
            attrs: res("get", "ns", "", "pods", "", "p"),
            matches: false,
        },
        Case {
            name: "resources: group without resources covers the group",
            rule: "- level: Metadata\n  resources: [{group: apps}]",
            attrs: res("get", "ns", "apps", "statefulsets", "status", "s"),
            matches: true,
        },
        Case {
            name: "resources: resourceNames listed",
            rule: "- level: Metadata\n  resources: [{group: '', resources: [configmaps], resourceNames: [a, b]}]",
            attrs: res("get", "ns", "", "configmaps", "", "b"),
            matches: true,
        },
        Case {
            name: "resources: resourceNames not listed",
            rule: "- level: Metadata\n  resources: [{group: '', resources: [configmaps], resourceNames: [a]}]",
            attrs: res("get", "ns", "", "configmaps", "", "c"),
            matches: false,
        },
        Case {
            name: "resources: resourceNames do not match collection requests",
            rule: "- level: Metadata\n  resources: [{group: '', resources: [configmaps], resourceNames: [a]}]",
            attrs: res("list", "ns", "", "configmaps", "", ""),
            matches: false,
        },
        Case {
            name: "resources: never match non-resource requests",
            rule: "- level: Metadata\n  resources: [{group: ''}]",
            attrs: non_res("get", "/api"),
            matches: false,
        },
        Case {
            name: "namespaces: listed",
            rule: "- level: Metadata\n  namespaces: [kube-system]",
            attrs: res("get", "kube-system", "", "pods", "", "p"),
            matches: true,
        },
        Case {
            name: "namespaces: not listed",
            rule: "- level: Metadata\n  namespaces: [kube-system]",
            attrs: res("get", "default", "", "pods", "", "p"),
            matches: false,
        },
        Case {
            name: "namespaces: '' selects cluster-scoped resources",
            rule: "- level: Metadata\n  namespaces: ['']",
            attrs: res("get", "", "", "nodes", "", "n1"),
            matches: true,
        },
        Case {
            name: "namespaces: '' does not select namespaced resources",
            rule: "- level: Metadata\n  namespaces: ['']",
            attrs: res("get", "default", "", "pods", "", "p"),
            matches: false,
        },
        Case {
            name: "namespaces: never match non-resource requests",
            rule: "- level: Metadata\n  namespaces: ['']",
            attrs: non_res("get", "/healthz"),
            matches: false,
        },
        Case {
            name: "nonResourceURLs: exact",
            rule: "- level: Metadata\n  nonResourceURLs: [/version]",
            attrs: non_res("get", "/version"),
            matches: true,
        },
        Case {
            name: "nonResourceURLs: exact is not a prefix",
            rule: "- level: Metadata\n  nonResourceURLs: [/version]",
            attrs: non_res("get", "/version/x"),
            matches: false,
        },
        Case {
            name: "nonResourceURLs: trailing * is a prefix",
            rule: "- level: Metadata\n  nonResourceURLs: ['/healthz*']",
            attrs: non_res("get", "/healthz/etcd"),
            matches: true,
        },
        Case {
            name: "nonResourceURLs: prefix mismatch",
            rule: "- level: Metadata\n  nonResourceURLs: ['/healthz*']",
            attrs: non_res("get", "/livez"),
            matches: false,
        },
        Case {
            name: "nonResourceURLs: * matches every path",
            rule: "- level: Metadata\n  nonResourceURLs: ['*']",
            attrs: non_res("get", "/anything"),
            matches: true,
        },
        Case {
            name: "nonResourceURLs: never match resource requests",
            rule: "- level: Metadata\n  nonResourceURLs: ['*']",
            attrs: res("get", "ns", "", "pods", "", "p"),
            matches: false,
        },
        Case {
            name: "fields intersect: user matches but verb does not",
            rule: "- level: Metadata\n  users: [alice]\n  verbs: [delete]",
            attrs: res("get", "ns", "", "pods", "", "p"),
            matches: false,
        },
    ];
    for case in cases {
        let policy = one_rule(case.rule);
        let level = policy.level_for(&case.attrs).0;
        let expected = if case.matches {
            Level::Metadata
        } else {
            Level::None
        };
        assert_eq!(level, expected, "{}", case.name);
    }
}

#[test]
fn first_matching_rule_wins() {
    let p = one_rule(
        "- level: None\n  users: [alice]\n- level: RequestResponse\n- level: Metadata\n  users: [alice]",
    );
    assert_eq!(
        p.level_for(&res("get", "ns", "", "pods", "", "p")).0,
        Level::None
    );
    let bob = as_user(res("get", "ns", "", "pods", "", "p"), "bob", &[]);
    assert_eq!(p.level_for(&bob).0, Level::RequestResponse);
}

#[test]
fn no_match_is_level_none_with_policy_stages() {
    let p = Policy::parse(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [Panic]\nrules:\n- level: Metadata\n  users: [bob]",
    )
    .unwrap();
    let (level, omit) = p.level_for(&res("get", "ns", "", "pods", "", "p"));
    assert_eq!(level, Level::None);
    assert_eq!(omit, StageSet::EMPTY.with(Stage::Panic));
}

#[test]
fn omit_stages_are_the_union_of_policy_and_rule() {
    let p = Policy::parse(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n\
         - level: Metadata\n  users: [alice]\n  omitStages: [ResponseStarted, RequestReceived]\n\
         - level: Request",
    )
    .unwrap();
    let (level, omit) = p.level_for(&res("get", "ns", "", "pods", "", "p"));
    assert_eq!(level, Level::Metadata);
    assert!(omit.contains(Stage::RequestReceived));
    assert!(omit.contains(Stage::ResponseStarted));
    assert!(!omit.contains(Stage::ResponseComplete));
    assert!(!omit.contains(Stage::Panic));

    let bob = as_user(res("get", "ns", "", "pods", "", "p"), "bob", &[]);
    let (level, omit) = p.level_for(&bob);
    assert_eq!(level, Level::Request);
    assert_eq!(omit, StageSet::EMPTY.with(Stage::RequestReceived));
}

#[test]
fn from_rules_unites_stages_too() {
    let p = Policy::from_rules(
        vec![PolicyRule {
            level: Level::Metadata,
            ..PolicyRule::default()
        }],
        StageSet::EMPTY.with(Stage::Panic),
    );
    let (_, omit) = p.level_for(&non_res("get", "/"));
    assert!(omit.contains(Stage::Panic));
}

#[test]
fn unknown_level_names_the_rule() {
    let err = parse_err(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n- level: Metadata\n- level: Foo",
    );
    assert!(
        err.starts_with("rules[2].level: unknown level \"Foo\""),
        "{err}"
    );
}

#[test]
fn load_prefixes_the_flag_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.yaml");
    std::fs::write(
        &path,
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n- level: None\n- level: Foo\n",
    )
    .unwrap();
    let err = Policy::load(&path).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "--audit-policy-file {}: rules[2].level: unknown level \"Foo\": supported values: None, Metadata, Request, RequestResponse",
            path.display()
        )
    );
}

#[test]
fn validation_errors() {
    let head = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n";
    let cases = [
        ("- users: [a]", "rules[0].level: required value"),
        (
            "- level: None\n  omitStages: [Sometime]",
            "rules[0].omitStages[0]: unknown stage \"Sometime\"",
        ),
        (
            "- level: None\n  nonResourceURLs: [healthz]",
            "rules[0].nonResourceURLs[0]: \"healthz\": non-resource URL rules must begin with a '/'",
        ),
        (
            "- level: None\n  nonResourceURLs: ['/a*/b']",
            "rules[0].nonResourceURLs[0]: \"/a*/b\": non-resource URL wildcards",
        ),
        (
            "- level: None\n  nonResourceURLs: [/a]\n  namespaces: [x]",
            "rules[0].nonResourceURLs: rules cannot apply to both",
        ),
        (
            "- level: None\n  resources: [{group: '', resourceNames: [x]}]",
            "rules[0].resources[0].resourceNames: using resourceNames requires at least one resource",
        ),
        (
            "- level: None\n  resources: [{group: apps/v1}]",
            "rules[0].resources[0].group: \"apps/v1\"",
        ),
    ];
    for (rules, want) in cases {
        let err = parse_err(&format!("{head}{rules}"));
        assert!(err.starts_with(want), "{rules}\n got: {err}\nwant: {want}");
    }
}

#[test]
fn all_field_errors_are_reported() {
    let err = parse_err(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [Never]\nrules:\n- level: X\n- level: Y",
    );
    assert!(err.contains("omitStages[0]"), "{err}");
    assert!(err.contains("rules[0].level"), "{err}");
    assert!(err.contains("rules[1].level"), "{err}");
}

#[test]
fn document_level_errors() {
    assert!(
        parse_err("kind: Policy\nrules:\n- level: None")
            .starts_with("apiVersion: unsupported value \"\"")
    );
    assert!(
        parse_err("apiVersion: audit.k8s.io/v2\nkind: Policy\nrules:\n- level: None")
            .starts_with("apiVersion: unsupported value \"audit.k8s.io/v2\"")
    );
    assert!(
        parse_err("apiVersion: audit.k8s.io/v1\nkind: Event\nrules:\n- level: None")
            .starts_with("kind: unsupported value \"Event\"")
    );
    assert_eq!(
        parse_err("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: []"),
        "rules: loaded illegal policy with 0 rules"
    );
    assert_eq!(
        parse_err("apiVersion: audit.k8s.io/v1\nkind: Policy"),
        "rules: loaded illegal policy with 0 rules"
    );
    assert!(
        parse_err("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- users: bob")
            .starts_with("failed decoding:")
    );
    assert!(parse_err(": : :\n\t-").starts_with("failed decoding:"));
}

#[test]
fn no_configured_policy_means_no_audit() {
    assert!(Policy::load_optional(None).unwrap().is_none());
    assert!(Policy::load_optional(Some("")).unwrap().is_none());
}

#[test]
fn configured_but_missing_policy_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.yaml");
    let err = Policy::load_optional(path.to_str()).unwrap_err();
    assert!(matches!(err, Error::PolicyRead { .. }), "{err}");
    assert!(err.to_string().starts_with("--audit-policy-file "), "{err}");
}

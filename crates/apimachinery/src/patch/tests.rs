use serde_json::Value;

use super::merge_keys::{
    DEPLOYMENT, POD, PatchStrategy, TypeMergeKeys, built_in_merge_keys, merge_keys_for,
};
use super::strategic::{BAD_PRIMITIVE_LIST, BAD_RETAIN_KEYS};
use super::types::{
    PatchError, PatchType, STRATEGIC_MERGE_PATCH_CONTENT_TYPE, accepted_patch_types,
};

use super::*;
use serde_json::json;

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "labels": {"app": "web", "tier": "front"},
            "finalizers": ["a", "b"],
        },
        "spec": {
            "replicas": 2,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "app:1",
                            "args": ["--a", "--b"],
                            "env": [
                                {"name": "A", "value": "1"},
                                {"name": "B", "value": "2"},
                            ],
                            "ports": [{"containerPort": 8080, "name": "http"}],
                            "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "100m"}},
                        },
                        {"name": "sidecar", "image": "sidecar:1"},
                    ],
                    "tolerations": [{"key": "k1", "operator": "Exists"}],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                },
            },
        },
    })
}

fn smp(original: &Value, patch: Value, keys: &TypeMergeKeys) -> Result<Value, PatchError> {
    apply_patch(
        original,
        patch.to_string().as_bytes(),
        PatchType::StrategicMerge,
        Some(keys),
    )
}

fn smp_deployment(patch: Value) -> Value {
    smp(&deployment(), patch, &DEPLOYMENT).unwrap()
}

fn containers(object: &Value) -> &Vec<Value> {
    object["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item[key].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn patch_type_from_content_type() {
    let cases = [
        ("application/json-patch+json", Some(PatchType::Json)),
        ("application/merge-patch+json", Some(PatchType::Merge)),
        (
            "application/strategic-merge-patch+json",
            Some(PatchType::StrategicMerge),
        ),
        ("application/apply-patch+yaml", Some(PatchType::Apply)),
        (
            "application/merge-patch+json; charset=utf-8",
            Some(PatchType::Merge),
        ),
        ("Application/JSON-Patch+JSON", Some(PatchType::Json)),
        ("application/json", None),
        ("application/apply-patch+cbor", None),
        ("", None),
    ];
    for (content_type, want) in cases {
        assert_eq!(
            PatchType::from_content_type(content_type),
            want,
            "{content_type}"
        );
    }
    for patch_type in [
        PatchType::Json,
        PatchType::Merge,
        PatchType::StrategicMerge,
        PatchType::Apply,
    ] {
        assert_eq!(
            PatchType::from_content_type(patch_type.content_type()),
            Some(patch_type)
        );
    }
}

#[test]
fn json_patch_operations() {
    let original = json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "data": {"k": "v"}});
    let cases = [
        (
            json!([{"op": "add", "path": "/metadata/labels/b", "value": "2"}]),
            json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}, "data": {"k": "v"}}),
        ),
        (
            json!([{"op": "remove", "path": "/data/k"}]),
            json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "data": {}}),
        ),
        (
            json!([
                {"op": "test", "path": "/data/k", "value": "v"},
                {"op": "replace", "path": "/data/k", "value": "w"},
            ]),
            json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "data": {"k": "w"}}),
        ),
        (
            json!([{"op": "add", "path": "/list", "value": []}, {"op": "add", "path": "/list/-", "value": 1}]),
            json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "data": {"k": "v"}, "list": [1]}),
        ),
        (
            json!([{"op": "move", "from": "/data/k", "path": "/data/m"}, {"op": "copy", "from": "/data/m", "path": "/data/n"}]),
            json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "data": {"m": "v", "n": "v"}}),
        ),
    ];
    for (patch, want) in cases {
        let got = apply_patch(
            &original,
            patch.to_string().as_bytes(),
            PatchType::Json,
            None,
        )
        .unwrap();
        assert_eq!(got, want, "{patch}");
    }
}

#[test]
fn json_patch_failures() {
    let original = json!({"data": {"k": "v"}});
    let unprocessable = 422;
    let cases: [(&[u8], u16); 9] = [
        (
            br#"[{"op":"test","path":"/data/k","value":"other"}]"#,
            unprocessable,
        ),
        (
            br#"[{"op":"remove","path":"/data/missing"}]"#,
            unprocessable,
        ),
        (
            br#"[{"op":"replace","path":"/nope/k","value":1}]"#,
            unprocessable,
        ),
        (
            br#"[{"op":"add","path":"/a/b/c","value":1}]"#,
            unprocessable,
        ),
        (br#"[{"op":"frobnicate","path":"/data"}]"#, unprocessable),
        (br#"[null]"#, unprocessable),
        (b"not json", 400),
        (br#"{"op":"add","path":"/x","value":1}"#, 400),
        (br#"["add"]"#, 400),
    ];
    for (body, code) in cases {
        let err = apply_patch(&original, body, PatchType::Json, None).unwrap_err();
        assert_eq!(
            err.http_code(),
            code,
            "{}: {err:?}",
            String::from_utf8_lossy(body)
        );
    }
    let err = apply_patch(
        &original,
        br#"[{"op":"test","path":"/data/k","value":"other"}]"#,
        PatchType::Json,
        None,
    )
    .unwrap_err();
    assert_eq!(err.reason(), "Invalid");
    assert_eq!(
        err.to_string(),
        "the server rejected our request due to an error in our request"
    );
    let PatchError::Unprocessable { detail } = err else {
        panic!("want Unprocessable");
    };
    assert!(detail.contains("did not match"), "{detail}");
}

#[test]
fn json_patch_operation_limit() {
    let ops = vec![json!({"op": "test", "path": "/a", "value": 1}); MAX_JSON_PATCH_OPERATIONS + 1];
    let body = Value::Array(ops).to_string();
    let err = apply_patch(&json!({"a": 1}), body.as_bytes(), PatchType::Json, None).unwrap_err();
    assert_eq!(
        err,
        PatchError::TooManyOperations {
            max: MAX_JSON_PATCH_OPERATIONS,
            got: MAX_JSON_PATCH_OPERATIONS + 1
        }
    );
    assert_eq!(err.http_code(), 413);
    assert_eq!(
        err.to_string(),
        "The allowed maximum operations in a JSON patch is 10000, got 10001"
    );
}

#[test]
fn merge_patch_semantics() {
    let original = json!({
        "metadata": {"name": "x", "labels": {"a": "1", "b": "2"}},
        "spec": {"list": [1, 2, 3], "nested": {"keep": true, "drop": 1}},
    });
    let cases = [
        (
            json!({"metadata": {"labels": {"a": null, "c": "3"}}}),
            json!({"metadata": {"name": "x", "labels": {"b": "2", "c": "3"}},
                   "spec": {"list": [1, 2, 3], "nested": {"keep": true, "drop": 1}}}),
        ),
        (
            json!({"spec": {"list": [9]}}),
            json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}},
                   "spec": {"list": [9], "nested": {"keep": true, "drop": 1}}}),
        ),
        (
            json!({"spec": {"nested": null, "new": {"x": 1, "gone": null}}}),
            json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}},
                   "spec": {"list": [1, 2, 3], "new": {"x": 1}}}),
        ),
        (json!({}), original.clone()),
    ];
    for (patch, want) in cases {
        let got = apply_patch(
            &original,
            patch.to_string().as_bytes(),
            PatchType::Merge,
            None,
        )
        .unwrap();
        assert_eq!(got, want, "{patch}");
    }
    for body in [&b"{not json"[..], b"[1]", b"null", b"\"x\""] {
        let err = apply_patch(&original, body, PatchType::Merge, None).unwrap_err();
        assert_eq!(err, PatchError::BadRequest("Invalid JSON Patch".to_owned()));
    }
}

#[test]
fn smp_merges_containers_and_env_by_name() {
    let got = smp_deployment(json!({"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "app:2", "env": [{"name": "B", "value": "20"}]},
    ]}}}}));
    let list = containers(&got);
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["name"], "app");
    assert_eq!(list[0]["image"], "app:2");
    assert_eq!(list[0]["args"], json!(["--a", "--b"]));
    assert_eq!(
        list[0]["env"],
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "20"}])
    );
    assert_eq!(list[1], json!({"name": "sidecar", "image": "sidecar:1"}));
    // Untouched fields survive.
    assert_eq!(got["spec"]["replicas"], 2);
    assert_eq!(got["metadata"]["labels"]["tier"], "front");
}

#[test]
fn smp_new_list_items_come_first_as_upstream() {
    // Upstream puts items the patch adds before live items it does not
    // name (kubectl sends `$setElementOrder` when order matters).
    let got = smp_deployment(json!({"spec": {"template": {"spec": {"containers": [
        {"name": "app", "env": [{"name": "C", "value": "3"}]},
        {"name": "new", "image": "new:1"},
    ]}}}}));
    assert_eq!(
        names(&got["spec"]["template"]["spec"]["containers"], "name"),
        ["app", "new", "sidecar"]
    );
    assert_eq!(names(&containers(&got)[0]["env"], "name"), ["C", "A", "B"]);
}

#[test]
fn smp_null_deletes_fields() {
    let got = smp_deployment(json!({
        "metadata": {"labels": {"tier": null, "absent": null}},
        "spec": {"strategy": null, "template": {"spec": {"containers": [
            {"name": "app", "resources": {"limits": null}, "ports": null},
        ]}}},
    }));
    assert_eq!(got["metadata"]["labels"], json!({"app": "web"}));
    assert!(got["spec"].get("strategy").is_none());
    let app = &containers(&got)[0];
    assert_eq!(app["resources"], json!({"requests": {"cpu": "100m"}}));
    assert!(app.get("ports").is_none());
}

#[test]
fn smp_primitive_sets() {
    // (patch finalizers, expected) against live ["a", "b"].
    let cases = [
        (json!(["b", "c"]), json!(["a", "b", "c"])),
        (json!(["c"]), json!(["c", "a", "b"])),
        (json!(["a"]), json!(["a", "b"])),
        (json!([]), json!(["a", "b"])),
    ];
    for (finalizers, want) in cases {
        let got = smp_deployment(json!({"metadata": {"finalizers": finalizers}}));
        assert_eq!(got["metadata"]["finalizers"], want, "{finalizers}");
    }
}

#[test]
fn smp_delete_from_primitive_list() {
    let got = smp_deployment(json!({"metadata": {
        "$deleteFromPrimitiveList/finalizers": ["a", "zzz"],
    }}));
    assert_eq!(got["metadata"]["finalizers"], json!(["b"]));
    // Nothing to delete from: nothing appears.
    let got = smp_deployment(json!({"metadata": {
        "$deleteFromPrimitiveList/absent": ["a"],
    }}));
    assert!(got["metadata"].get("absent").is_none());
    let err = smp(
        &deployment(),
        json!({"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}}),
        &DEPLOYMENT,
    )
    .unwrap_err();
    assert_eq!(err, PatchError::BadRequest(BAD_PRIMITIVE_LIST.to_owned()));
}

#[test]
fn smp_owner_references_by_uid() {
    let original = json!({"metadata": {"ownerReferences": [
        {"uid": "1", "kind": "ReplicaSet", "name": "a"},
        {"uid": "2", "kind": "ReplicaSet", "name": "b"},
    ]}});
    let got = smp(
        &original,
        json!({"metadata": {"ownerReferences": [{"uid": "2", "controller": true}]}}),
        &POD,
    )
    .unwrap();
    assert_eq!(
        got["metadata"]["ownerReferences"],
        json!([
            {"uid": "1", "kind": "ReplicaSet", "name": "a"},
            {"uid": "2", "kind": "ReplicaSet", "name": "b", "controller": true},
        ])
    );
}

#[test]
fn smp_service_ports_by_port() {
    let service = json!({"apiVersion": "v1", "kind": "Service", "spec": {"ports": [
        {"name": "http", "port": 80, "targetPort": 8080},
        {"name": "https", "port": 443, "targetPort": 8443},
    ]}});
    let got = smp(
        &service,
        json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}),
        merge_keys_for("", "Service").unwrap(),
    )
    .unwrap();
    assert_eq!(
        got["spec"]["ports"],
        json!([
            {"name": "http", "port": 80, "targetPort": 9090},
            {"name": "https", "port": 443, "targetPort": 8443},
        ])
    );
}

#[test]
fn smp_container_ports_volumes_mounts_and_pull_secrets() {
    let pod = json!({"spec": {
        "containers": [{"name": "c", "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "volumeMounts": [{"mountPath": "/data", "name": "data"}]}],
        "volumes": [{"name": "data", "emptyDir": {}}],
        "imagePullSecrets": [{"name": "one"}],
    }});
    let got = smp(
        &pod,
        json!({"spec": {
            "containers": [{"name": "c",
                "ports": [{"containerPort": 80, "name": "web"}],
                "volumeMounts": [{"mountPath": "/data", "readOnly": true}]}],
            "volumes": [{"name": "cache", "emptyDir": {"medium": "Memory"}}],
            "imagePullSecrets": [{"name": "two"}],
        }}),
        &POD,
    )
    .unwrap();
    let c = &got["spec"]["containers"][0];
    assert_eq!(
        c["ports"],
        json!([{"containerPort": 80, "protocol": "TCP", "name": "web"}])
    );
    assert_eq!(
        c["volumeMounts"],
        json!([{"mountPath": "/data", "name": "data", "readOnly": true}])
    );
    assert_eq!(names(&got["spec"]["volumes"], "name"), ["cache", "data"]);
    assert_eq!(
        names(&got["spec"]["imagePullSecrets"], "name"),
        ["two", "one"]
    );
}

#[test]
fn smp_lists_without_merge_strategy_are_replaced() {
    let got = smp_deployment(json!({"spec": {"template": {"spec": {
        "tolerations": [{"key": "k2", "operator": "Exists"}],
        "containers": [{"name": "app", "args": ["--c"]}],
    }}}}));
    assert_eq!(
        got["spec"]["template"]["spec"]["tolerations"],
        json!([{"key": "k2", "operator": "Exists"}])
    );
    assert_eq!(containers(&got)[0]["args"], json!(["--c"]));
}

#[test]
fn smp_patch_directive_in_maps() {
    // `$patch: replace` replaces the map, `$patch: delete` empties it.
    let got = smp_deployment(json!({"spec": {"template": {"spec": {"containers": [
        {"name": "app", "resources": {"$patch": "replace", "limits": {"memory": "1Gi"}}},
    ]}}}}));
    assert_eq!(
        containers(&got)[0]["resources"],
        json!({"limits": {"memory": "1Gi"}})
    );

    let got = smp_deployment(json!({"metadata": {"labels": {"$patch": "delete"}}}));
    assert_eq!(got["metadata"]["labels"], json!({}));

    let err = smp(
        &deployment(),
        json!({"metadata": {"labels": {"$patch": "merge"}}}),
        &DEPLOYMENT,
    )
    .unwrap_err();
    assert_eq!(err.http_code(), 400);
    assert!(
        err.to_string().starts_with("unknown patch type: \"merge\""),
        "{err}"
    );
}

#[test]
fn smp_patch_directive_in_lists() {
    let got = smp_deployment(json!({"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "$patch": "delete"},
    ]}}}}));
    assert_eq!(
        names(&got["spec"]["template"]["spec"]["containers"], "name"),
        ["app"]
    );

    let got = smp_deployment(json!({"spec": {"template": {"spec": {"containers": [
        {"name": "only", "image": "only:1", "env": [{"name": "X", "value": null}]},
        {"$patch": "replace"},
    ]}}}}));
    assert_eq!(
        got["spec"]["template"]["spec"]["containers"],
        json!([{"name": "only", "image": "only:1", "env": [{"name": "X"}]}])
    );

    let cases = [
        (
            json!({"$patch": "merge"}),
            "merging lists cannot yet be specified in the patch",
        ),
        (
            json!({"$patch": "delete"}),
            "does not contain declared merge key: name",
        ),
        (
            json!({"name": "x", "$patch": "frobnicate"}),
            "unknown patch type",
        ),
    ];
    for (item, message) in cases {
        let err = smp(
            &deployment(),
            json!({"spec": {"template": {"spec": {"containers": [item]}}}}),
            &DEPLOYMENT,
        )
        .unwrap_err();
        assert_eq!(err.http_code(), 400, "{err}");
        assert!(err.to_string().contains(message), "{err}");
    }
}

#[test]
fn smp_set_element_order() {
    let got = smp_deployment(json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "new"}, {"name": "app"}],
        "containers": [{"name": "new", "image": "new:1"}],
    }}}}));
    assert_eq!(
        names(&got["spec"]["template"]["spec"]["containers"], "name"),
        ["sidecar", "new", "app"]
    );

    let got = smp_deployment(json!({"metadata": {
        "$setElementOrder/finalizers": ["c", "b", "a"],
        "finalizers": ["c"],
    }}));
    assert_eq!(got["metadata"]["finalizers"], json!(["c", "b", "a"]));

    // The order list alone reorders live items.
    let got = smp_deployment(json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
    }}}}));
    assert_eq!(
        names(&got["spec"]["template"]["spec"]["containers"], "name"),
        ["sidecar", "app"]
    );

    let err = smp(
        &deployment(),
        json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "app"}],
            "containers": [{"name": "other", "image": "o:1"}],
        }}}}),
        &DEPLOYMENT,
    )
    .unwrap_err();
    assert_eq!(err.http_code(), 400);
    assert!(
        err.to_string()
            .contains("doesn't match $setElementOrder list"),
        "{err}"
    );
}

#[test]
fn smp_as_kubectl_apply_sends_it() {
    // The shape of `kubectl apply` (client side) after the manifest
    // changed the image and dropped env var B.
    let got = smp_deployment(json!({
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}],
            "containers": [{
                "$setElementOrder/env": [{"name": "A"}],
                "env": [{"$patch": "delete", "name": "B"}],
                "image": "app:2",
                "name": "app",
            }],
        }}},
    }));
    let list = containers(&got);
    assert_eq!(
        names(&got["spec"]["template"]["spec"]["containers"], "name"),
        ["app", "sidecar"]
    );
    assert_eq!(list[0]["image"], "app:2");
    assert_eq!(list[0]["env"], json!([{"name": "A", "value": "1"}]));
    assert_eq!(
        got["metadata"]["annotations"],
        json!({"kubectl.kubernetes.io/last-applied-configuration": "{}"})
    );
}

#[test]
fn smp_long_lists_stay_linear() {
    // A quadratic merge of lists this long would take minutes.
    let live: Vec<String> = (0..100_000).map(|i| format!("live-{i}")).collect();
    let patch: Vec<String> = (0..100_000).map(|i| format!("new-{i}")).collect();
    let got = smp(
        &json!({"metadata": {"finalizers": live}}),
        json!({"metadata": {"finalizers": patch}}),
        &POD,
    )
    .unwrap();
    let finalizers = got["metadata"]["finalizers"].as_array().unwrap();
    assert_eq!(finalizers.len(), 200_000);
    assert_eq!(finalizers[0], "new-0");
    assert_eq!(finalizers[199_999], "live-99999");
}

#[test]
fn smp_retain_keys() {
    let got = smp_deployment(json!({"spec": {"strategy": {
        "$retainKeys": ["type"],
        "type": "Recreate",
    }}}));
    assert_eq!(got["spec"]["strategy"], json!({"type": "Recreate"}));

    for retain in [json!(["rollingUpdate"]), json!("type")] {
        let err = smp(
            &deployment(),
            json!({"spec": {"strategy": {"$retainKeys": retain, "type": "Recreate"}}}),
            &DEPLOYMENT,
        )
        .unwrap_err();
        assert_eq!(err, PatchError::BadRequest(BAD_RETAIN_KEYS.to_owned()));
    }
}

#[test]
fn smp_cron_job_nested_pod_template() {
    let cron = json!({"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
        "containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}],
    }}}}}});
    let got = smp(
        &cron,
        json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"name": "b", "image": "b:2"}],
        }}}}}}),
        merge_keys_for("batch", "CronJob").unwrap(),
    )
    .unwrap();
    assert_eq!(
        got["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"],
        json!([{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:2"}])
    );
}

#[test]
fn smp_new_values_carry_no_directives_or_nulls() {
    let got = smp(
        &json!({"metadata": {"name": "p"}}),
        json!({"metadata": {"labels": {"a": "1", "b": null}},
        "spec": {"containers": [
            {"name": "c", "env": [{"name": "X", "value": "1"}, {"name": "Y", "$patch": "delete"}],
             "resources": {"$patch": "replace", "limits": {"cpu": null}}},
        ]}}),
        &POD,
    )
    .unwrap();
    assert_eq!(
        got,
        json!({"metadata": {"name": "p", "labels": {"a": "1"}},
        "spec": {"containers": [
            {"name": "c", "env": [{"name": "X", "value": "1"}], "resources": {"limits": {}}},
        ]}})
    );
}

#[test]
fn smp_structural_errors() {
    let cases = [
        (
            json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
            400,
        ),
        (
            json!({"spec": {"template": {"metadata": {"finalizers": [["a"]]}}}}),
            422,
        ),
        (json!({"metadata": {"finalizers": ["a", 1]}}), 400),
        (
            json!({"spec": {"template": {"spec": {"$setElementOrder/containers": "x"}}}}),
            400,
        ),
    ];
    for (patch, code) in cases {
        let err = smp(&deployment(), patch.clone(), &DEPLOYMENT).unwrap_err();
        assert_eq!(err.http_code(), code, "{patch}: {err:?}");
    }
    for body in [&b"not json"[..], b"[]", b"\"x\""] {
        let err = apply_patch(
            &deployment(),
            body,
            PatchType::StrategicMerge,
            Some(&DEPLOYMENT),
        )
        .unwrap_err();
        assert_eq!(err.http_code(), 400, "{err}");
    }
}

#[test]
fn smp_refused_without_merge_keys() {
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"a": 1}});
    assert!(merge_keys_for("example.com", "Widget").is_none());
    let err = apply_patch(
        &widget,
        br#"{"spec":{"a":2}}"#,
        PatchType::StrategicMerge,
        merge_keys_for("example.com", "Widget"),
    )
    .unwrap_err();
    assert_eq!(err, PatchError::StrategicMergeUnsupported);
    assert_eq!(err.http_code(), 415);
    assert_eq!(err.reason(), "UnsupportedMediaType");
    assert_eq!(
        err.to_string(),
        "the body of the request was in an unknown format - accepted media types include: \
             application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    );
    // The other patch types still work on it.
    let got = apply_patch(&widget, br#"{"spec":{"a":2}}"#, PatchType::Merge, None).unwrap();
    assert_eq!(got["spec"]["a"], 2);
}

#[test]
fn apply_returns_the_checked_configuration_unmerged() {
    // Merging is field management's job: the engine returns the
    // configuration as sent (YAML or JSON), whatever the live object holds.
    let body =
        b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n";
    let got = apply_patch(&deployment(), body, PatchType::Apply, Some(&DEPLOYMENT)).unwrap();
    assert_eq!(
        got,
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web"}, "spec": {"replicas": 3}})
    );
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget",
                        "metadata": {"name": "w"}, "spec": {"items": [1, 2], "keep": true}});
    let got = apply_patch(
        &widget,
        br#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"items":[3]}}"#,
        PatchType::Apply,
        None,
    )
    .unwrap();
    assert_eq!(got["spec"], json!({"items": [3]}));

    // Creating through apply: the stub carries the request's apiVersion/kind.
    let stub = json!({"apiVersion": "example.com/v1", "kind": "Widget"});
    let got = apply_patch(
        &stub,
        b"apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
        PatchType::Apply,
        None,
    )
    .unwrap();
    assert_eq!(got["metadata"]["name"], "w");
}

#[test]
fn apply_failures() {
    let cases: [(&[u8], &str); 5] = [
        (
            b"apiVersion: apps/v1beta1\nkind: Deployment\n",
            "Incorrect version specified in apply patch. Specified patch version: apps/v1beta1, expected: apps/v1",
        ),
        (
            b"kind: Deployment\n",
            "Incorrect version specified in apply patch. Specified patch version: , expected: apps/v1",
        ),
        (
            b"apiVersion: apps/v1\nkind: StatefulSet\n",
            "Incorrect kind specified in apply patch. Specified patch kind: StatefulSet, expected: Deployment",
        ),
        (
            b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  managedFields: []\n",
            "metadata.managedFields must be nil",
        ),
        (b"- a\n- b\n", "error decoding YAML"),
    ];
    for (body, message) in cases {
        let err =
            apply_patch(&deployment(), body, PatchType::Apply, Some(&DEPLOYMENT)).unwrap_err();
        assert_eq!(err.http_code(), 400);
        assert!(err.to_string().starts_with(message), "{err}");
    }
    let err = apply_patch(
        &deployment(),
        b"a: [unclosed",
        PatchType::Apply,
        Some(&DEPLOYMENT),
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with("error decoding YAML: "),
        "{err}"
    );
}

#[test]
fn merge_key_table() {
    // "group kind path mergeKey" ("-": no merge key, a set); all merge.
    let cases = [
        "apps Deployment spec.template.spec.containers name",
        "apps Deployment spec.template.spec.containers.env name",
        "apps StatefulSet spec.template.spec.containers.ports containerPort",
        "apps DaemonSet spec.template.spec.initContainers.volumeMounts mountPath",
        "apps ReplicaSet spec.template.spec.volumes name",
        "batch Job spec.template.spec.imagePullSecrets name",
        "batch CronJob spec.jobTemplate.spec.template.spec.ephemeralContainers.volumeDevices devicePath",
        "core ReplicationController spec.template.spec.hostAliases ip",
        "core PodTemplate template.spec.containers.env name",
        "core Pod metadata.finalizers -",
        "core Pod metadata.ownerReferences uid",
        "core Pod status.conditions type",
        "core Service spec.ports port",
        "core Node status.addresses type",
        "core Node spec.podCIDRs -",
        "core ServiceAccount secrets name",
    ];
    for case in cases {
        let [group, kind, path, merge_key] = case.split(' ').collect::<Vec<_>>()[..] else {
            panic!("bad case {case}");
        };
        let group = if group == "core" { "" } else { group };
        let merge_key = (merge_key != "-").then_some(merge_key);
        let field = merge_keys_for(group, kind)
            .and_then(|keys| keys.field_at(path))
            .unwrap_or_else(|| panic!("{case}"));
        assert_eq!(field.merge_key, merge_key, "{case}");
        assert_eq!(field.strategy, PatchStrategy::Merge, "{case}");
    }
    // Untagged lists have no entry: they are replaced.
    for path in [
        "spec.template.spec.tolerations",
        "spec.template.spec.containers.envFrom",
        "spec.template.spec.containers.args",
    ] {
        assert!(DEPLOYMENT.field_at(path).is_none(), "{path}");
    }
    assert!(DEPLOYMENT.field_at("spec.strategy").unwrap().retain_keys);
    assert!(POD.field_at("spec.volumes").unwrap().retain_keys);
    assert!(merge_keys_for("apps", "Widget").is_none());
    assert!(merge_keys_for("", "Deployment").is_none());
    let config_map = built_in_merge_keys("", "ConfigMap");
    assert_eq!(config_map.name, "Object");
    assert!(config_map.field_at("metadata.finalizers").is_some());
}

#[test]
fn error_codes_and_reasons() {
    let cases = [
        (PatchError::BadRequest("x".to_owned()), 400, "BadRequest"),
        (
            PatchError::Unprocessable {
                detail: "x".to_owned(),
            },
            422,
            "Invalid",
        ),
        (
            PatchError::TooManyOperations { max: 0, got: 1 },
            413,
            "RequestEntityTooLarge",
        ),
        (
            PatchError::StrategicMergeUnsupported,
            415,
            "UnsupportedMediaType",
        ),
    ];
    for (err, code, reason) in cases {
        assert_eq!(err.http_code(), code);
        assert_eq!(err.reason(), reason);
    }
    assert_eq!(accepted_patch_types(true).len(), 4);
    assert!(!accepted_patch_types(false).contains(&STRATEGIC_MERGE_PATCH_CONTENT_TYPE));
}

//! Table tests for field management, each named after the rule it checks;
//! expected texts and encodings are kube-apiserver's.

use serde_json::{Value, json};
use skewless_fieldmanager::{
    Error, FieldManager, FieldSet, ManagedFieldsEntry, Operation, PathElement, Schema, TypeRef,
    Writer, cap_update_managers, decode_managed_fields, encode_managed_fields, field_set,
    manager_from_user_agent, validate_manager,
};

const T0: &str = "2025-01-01T00:00:00Z";
const T1: &str = "2025-01-01T00:01:00Z";
const T2: &str = "2025-01-01T00:02:00Z";

fn w<'a>(manager: &'a str, time: &'a str) -> Writer<'a> {
    Writer {
        manager,
        api_version: "v1",
        subresource: "",
        time,
    }
}

fn fields(e: &[ManagedFieldsEntry], manager: &str) -> Option<String> {
    e.iter()
        .find(|e| e.manager == manager)
        .map(|e| e.fields.to_fields_v1_string())
}

fn configmap(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "default"}, "data": data})
}

fn configmap_schema() -> Schema {
    Schema::new(TypeRef::structure([
        ("apiVersion", TypeRef::Scalar),
        ("kind", TypeRef::Scalar),
        ("metadata", skewless_fieldmanager::object_meta()),
        ("data", TypeRef::map(TypeRef::Scalar)),
    ]))
}

/// A Deployment's structural schema, as a CRD would carry it.
fn deployment_structural() -> Value {
    json!({"type": "object", "properties": {
        "spec": {"type": "object", "properties": {
            "replicas": {"type": "integer"},
            "selector": {"type": "object", "x-kubernetes-map-type": "atomic",
                "properties": {"matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}}},
            "template": {"type": "object", "properties": {
                "metadata": {"type": "object", "properties": {
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}}}},
                "spec": {"type": "object", "properties": {
                    "containers": {"type": "array", "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["name"],
                        "items": {"type": "object", "properties": {
                            "name": {"type": "string"},
                            "image": {"type": "string"},
                            "args": {"type": "array", "items": {"type": "string"}},
                            "ports": {"type": "array", "x-kubernetes-list-type": "map",
                                "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
                                "items": {"type": "object", "properties": {
                                    "containerPort": {"type": "integer"},
                                    "hostPort": {"type": "integer"},
                                    "protocol": {"type": "string", "default": "TCP"}}}}}}},
                    "tolerations": {"type": "array", "items": {"type": "object"}}}}}},
            "finalizers": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "nodeSelector": {"type": "object", "additionalProperties": {"type": "string"}},
            "atomicSelector": {"type": "object", "x-kubernetes-map-type": "atomic",
                "additionalProperties": {"type": "string"}}}},
        "status": {"type": "object", "properties": {"ready": {"type": "integer"}}}}})
}

fn deployment(image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image, "ports": [{"containerPort": 80}]}]}}}})
}

#[test]
fn fields_v1_round_trips_upstream_encodings() {
    let cases = [
        // kubectl create configmap
        r#"{"f:data":{".":{},"f:key":{}}}"#,
        // kubectl create deployment (shape as kube-apiserver stores it)
        r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:progressDeadlineSeconds":{},"f:replicas":{},"f:selector":{},"f:strategy":{"f:rollingUpdate":{".":{},"f:maxSurge":{},"f:maxUnavailable":{}},"f:type":{}},"f:template":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:imagePullPolicy":{},"f:name":{},"f:resources":{},"f:terminationMessagePath":{},"f:terminationMessagePolicy":{}}},"f:dnsPolicy":{},"f:restartPolicy":{}}}}}"#,
        // keys with several fields, sorted by name
        r#"{"f:spec":{"f:ports":{"k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{},"f:port":{},"f:protocol":{},"f:targetPort":{}}}}}"#,
        // set values and indexes after fields and keys
        r#"{"f:metadata":{"f:finalizers":{".":{},"v:\"a\"":{},"v:\"b\"":{}}},"f:x":{"i:2":{},"i:10":{}}}"#,
        // HTML characters escaped as Go does
        r#"{"f:data":{"f:a\u003cb":{}}}"#,
    ];
    for case in cases {
        let parsed: Value = serde_json::from_str(case).unwrap();
        let set = FieldSet::from_fields_v1(&parsed).unwrap();
        assert_eq!(set.to_fields_v1_string(), case);
        assert_eq!(set.to_fields_v1(), parsed);
    }
}

#[test]
fn fields_v1_orders_fields_keys_values_indexes_and_numbers_before_strings() {
    let set = FieldSet::from_paths([
        vec![PathElement::Index(10)],
        vec![PathElement::Index(2)],
        vec![PathElement::Value(skewless_fieldmanager::OrderedValue(
            json!("a"),
        ))],
        vec![PathElement::Value(skewless_fieldmanager::OrderedValue(
            json!(1),
        ))],
        vec![PathElement::Value(skewless_fieldmanager::OrderedValue(
            json!(0.5),
        ))],
        vec![PathElement::key([("name", json!("x"))])],
        vec![PathElement::field("z")],
        vec![PathElement::field("a"), PathElement::field("b")],
    ]);
    assert_eq!(
        set.to_fields_v1_string(),
        r#"{"f:a":{"f:b":{}},"f:z":{},"k:{\"name\":\"x\"}":{},"v:0.5":{},"v:1":{},"v:\"a\"":{},"i:2":{},"i:10":{}}"#
    );
}

#[test]
fn fields_v1_rejects_malformed_documents() {
    for bad in [
        json!({"x:a": {}}),
        json!({"f": {}}),
        json!({"k:[1]": {}}),
        json!({"f:a": 1}),
        json!([]),
    ] {
        assert!(
            matches!(
                FieldSet::from_fields_v1(&bad),
                Err(Error::InvalidFieldsV1(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn set_operations_are_path_wise() {
    let p = |s: &str| s.split('.').map(PathElement::field).collect::<Vec<_>>();
    let a = FieldSet::from_paths([p("a.b"), p("a.c"), p("d")]);
    let b = FieldSet::from_paths([p("a.c"), p("e")]);
    assert_eq!(a.union(&b).paths().len(), 4);
    assert_eq!(a.intersection(&b), FieldSet::from_paths([p("a.c")]));
    assert_eq!(a.difference(&b), FieldSet::from_paths([p("a.b"), p("d")]));
    assert!(a.difference(&a).is_empty());
    assert_eq!(
        a.recursive_difference(&FieldSet::from_paths([p("a")])),
        FieldSet::from_paths([p("d")])
    );
}

#[test]
fn field_set_of_a_deployment_deduced_and_structural() {
    let obj = deployment("nginx");
    let deduced = field_set(&obj, &Schema::deduced(), &FieldSet::new()).unwrap();
    // Without types every object key is owned, and lists are atomic.
    assert_eq!(
        deduced.to_fields_v1_string(),
        r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{".":{},"f:replicas":{},"f:selector":{".":{},"f:matchLabels":{".":{},"f:app":{}}},"f:template":{".":{},"f:metadata":{".":{},"f:labels":{".":{},"f:app":{}}},"f:spec":{".":{},"f:containers":{}}}}}"#
    );
    let structural = Schema::from_structural_json(&deployment_structural());
    let typed = field_set(&obj, &structural, &FieldSet::new()).unwrap();
    assert_eq!(
        typed.to_fields_v1_string(),
        r#"{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}"#
    );
}

#[test]
fn field_set_leaves_out_ignored_fields_and_status() {
    let mut obj = deployment("nginx");
    obj["status"] = json!({"ready": 1});
    let ignored = FieldSet::from_paths([vec![PathElement::field("status")]]);
    let s = field_set(
        &obj,
        &Schema::from_structural_json(&deployment_structural()),
        &ignored,
    )
    .unwrap();
    assert!(!s.to_fields_v1_string().contains("status"));
}

#[test]
fn update_from_nothing_owns_every_field_with_dot_for_new_maps() {
    let fm = FieldManager::new(configmap_schema());
    let out = fm
        .update(
            &json!({}),
            &configmap(json!({"key": "a"})),
            &[],
            &w("kubectl-create", T0),
        )
        .unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].operation, Operation::Update);
    assert_eq!(out[0].time.as_deref(), Some(T0));
    assert_eq!(
        fields(&out, "kubectl-create").unwrap(),
        r#"{"f:data":{".":{},"f:key":{}}}"#
    );
}

#[test]
fn update_takes_changed_fields_from_others_without_conflict() {
    let fm = FieldManager::new(configmap_schema());
    let v1 = configmap(json!({"a": "1", "b": "1"}));
    let m = fm.update(&json!({}), &v1, &[], &w("creator", T0)).unwrap();
    let v2 = configmap(json!({"a": "2", "b": "1"}));
    let m = fm.update(&v1, &v2, &m, &w("editor", T1)).unwrap();
    assert_eq!(
        fields(&m, "creator").unwrap(),
        r#"{"f:data":{".":{},"f:b":{}}}"#
    );
    assert_eq!(fields(&m, "editor").unwrap(), r#"{"f:data":{"f:a":{}}}"#);
    // An unchanged write records nothing and keeps the time.
    let m2 = fm.update(&v2, &v2, &m, &w("editor", T2)).unwrap();
    assert_eq!(m2, m);
}

#[test]
fn update_removed_field_leaves_every_manager_and_empty_entries_go() {
    let fm = FieldManager::new(configmap_schema());
    let v1 = configmap(json!({"a": "1"}));
    let m = fm.update(&json!({}), &v1, &[], &w("creator", T0)).unwrap();
    let v2 = configmap(json!({}));
    let m = fm.update(&v1, &v2, &m, &w("editor", T1)).unwrap();
    assert_eq!(fields(&m, "creator").unwrap(), r#"{"f:data":{}}"#);
    assert!(fields(&m, "editor").is_none());
}

#[test]
fn apply_twice_is_unchanged() {
    let fm = FieldManager::new(configmap_schema());
    let cfg = configmap(json!({"key": "a"}));
    let first = fm
        .apply(&Value::Null, &cfg, &[], &w("kubectl", T0), false)
        .unwrap();
    assert!(first.changed);
    assert_eq!(first.object, cfg);
    assert_eq!(first.managed_fields[0].operation, Operation::Apply);
    assert_eq!(
        fields(&first.managed_fields, "kubectl").unwrap(),
        r#"{"f:data":{"f:key":{}}}"#
    );
    let second = fm
        .apply(
            &first.object,
            &cfg,
            &first.managed_fields,
            &w("kubectl", T1),
            false,
        )
        .unwrap();
    assert!(!second.changed);
    assert_eq!(second.object, first.object);
    assert_eq!(second.managed_fields, first.managed_fields);
}

#[test]
fn apply_conflict_with_one_manager_has_upstream_message() {
    let fm = FieldManager::new(configmap_schema());
    let cases = [
        // An applier is named alone, an updater with its version.
        (
            "applier",
            true,
            r#"Apply failed with 1 conflict: conflict with "kubectl": .data.key"#,
            r#"conflict with "kubectl""#,
        ),
        (
            "updater",
            false,
            r#"Apply failed with 1 conflict: conflict with "kubectl" using v1: .data.key"#,
            r#"conflict with "kubectl" using v1"#,
        ),
    ];
    for (name, by_apply, message, cause) in cases {
        let cfg = configmap(json!({"key": "a"}));
        let (live, m) = if by_apply {
            let a = fm
                .apply(&Value::Null, &cfg, &[], &w("kubectl", T0), false)
                .unwrap();
            (a.object, a.managed_fields)
        } else {
            (
                cfg.clone(),
                fm.update(&json!({}), &cfg, &[], &w("kubectl", T0)).unwrap(),
            )
        };
        let err = fm
            .apply(
                &live,
                &configmap(json!({"key": "b"})),
                &m,
                &w("other", T1),
                false,
            )
            .unwrap_err();
        let Error::Conflicts(c) = err else {
            panic!("{name}: {err:?}")
        };
        assert_eq!(c.to_string(), message, "{name}");
        assert_eq!(c.conflicts()[0].message(), cause, "{name}");
        assert_eq!(c.conflicts()[0].field(), ".data.key", "{name}");
    }
}

#[test]
fn apply_conflicts_with_several_managers_are_grouped_and_sorted() {
    let fm = FieldManager::new(configmap_schema());
    let a = fm
        .apply(
            &Value::Null,
            &configmap(json!({"a": "1", "b": "1"})),
            &[],
            &w("zeta", T0),
            false,
        )
        .unwrap();
    let live = configmap(json!({"a": "1", "b": "1", "c": "1"}));
    let m = fm
        .update(&a.object, &live, &a.managed_fields, &w("alpha", T1))
        .unwrap();
    let err = fm
        .apply(
            &live,
            &configmap(json!({"a": "2", "b": "2", "c": "2"})),
            &m,
            &w("me", T2),
            false,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 3 conflicts: conflicts with \"alpha\" using v1:\n- .data.c\nconflicts with \"zeta\":\n- .data.a\n- .data.b"
    );
}

#[test]
fn apply_force_takes_fields_from_other_managers() {
    let fm = FieldManager::new(configmap_schema());
    let a = fm
        .apply(
            &Value::Null,
            &configmap(json!({"key": "a", "x": "1"})),
            &[],
            &w("kubectl", T0),
            false,
        )
        .unwrap();
    let b = fm
        .apply(
            &a.object,
            &configmap(json!({"key": "b"})),
            &a.managed_fields,
            &w("other", T1),
            true,
        )
        .unwrap();
    assert_eq!(b.object["data"], json!({"key": "b", "x": "1"}));
    assert_eq!(
        fields(&b.managed_fields, "kubectl").unwrap(),
        r#"{"f:data":{"f:x":{}}}"#
    );
    assert_eq!(
        fields(&b.managed_fields, "other").unwrap(),
        r#"{"f:data":{"f:key":{}}}"#
    );
}

#[test]
fn apply_same_value_is_no_conflict_and_ownership_is_shared() {
    let fm = FieldManager::new(configmap_schema());
    let cfg = configmap(json!({"key": "a"}));
    let a = fm
        .apply(&Value::Null, &cfg, &[], &w("one", T0), false)
        .unwrap();
    let b = fm
        .apply(&a.object, &cfg, &a.managed_fields, &w("two", T1), false)
        .unwrap();
    assert_eq!(
        fields(&b.managed_fields, "one"),
        fields(&b.managed_fields, "two")
    );
}

#[test]
fn apply_prunes_a_field_the_applier_dropped() {
    let fm = FieldManager::new(configmap_schema());
    let a = fm
        .apply(
            &Value::Null,
            &configmap(json!({"a": "1", "b": "1"})),
            &[],
            &w("kubectl", T0),
            false,
        )
        .unwrap();
    let b = fm
        .apply(
            &a.object,
            &configmap(json!({"a": "1"})),
            &a.managed_fields,
            &w("kubectl", T1),
            false,
        )
        .unwrap();
    assert_eq!(b.object["data"], json!({"a": "1"}));
    assert_eq!(
        b.object["metadata"],
        json!({"name": "cm", "namespace": "default"})
    );
    // Without type information too.
    let fm = FieldManager::new(Schema::deduced());
    let a = fm
        .apply(
            &Value::Null,
            &configmap(json!({"a": "1", "b": "1"})),
            &[],
            &w("kubectl", T0),
            false,
        )
        .unwrap();
    let b = fm
        .apply(
            &a.object,
            &configmap(json!({"a": "1"})),
            &a.managed_fields,
            &w("kubectl", T1),
            false,
        )
        .unwrap();
    assert_eq!(b.object["data"], json!({"a": "1"}));
}

#[test]
fn apply_keeps_a_dropped_field_another_manager_owns() {
    let fm = FieldManager::new(configmap_schema());
    let cfg = configmap(json!({"a": "1", "b": "1"}));
    let a = fm
        .apply(&Value::Null, &cfg, &[], &w("kubectl", T0), false)
        .unwrap();
    let b = fm
        .apply(
            &a.object,
            &configmap(json!({"b": "1"})),
            &a.managed_fields,
            &w("helper", T1),
            false,
        )
        .unwrap();
    let c = fm
        .apply(
            &b.object,
            &configmap(json!({"a": "1"})),
            &b.managed_fields,
            &w("kubectl", T2),
            false,
        )
        .unwrap();
    assert_eq!(c.object["data"], json!({"a": "1", "b": "1"}));
    assert_eq!(
        fields(&c.managed_fields, "kubectl").unwrap(),
        r#"{"f:data":{"f:a":{}}}"#
    );
}

#[test]
fn apply_removes_a_dropped_map_list_element() {
    let fm = FieldManager::new(Schema::from_structural_json(&deployment_structural()));
    let mut two = deployment("nginx");
    two["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "sidecar", "image": "busybox"}));
    let a = fm
        .apply(&Value::Null, &two, &[], &w("kubectl", T0), false)
        .unwrap();
    let b = fm
        .apply(
            &a.object,
            &deployment("nginx"),
            &a.managed_fields,
            &w("kubectl", T1),
            false,
        )
        .unwrap();
    let names: Vec<&str> = b.object["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web"]);
}

#[test]
fn apply_merges_map_list_elements_by_key_and_conflicts_name_the_key() {
    let fm = FieldManager::new(Schema::from_structural_json(&deployment_structural()));
    let a = fm
        .apply(
            &Value::Null,
            &deployment("nginx"),
            &[],
            &w("kubectl", T0),
            false,
        )
        .unwrap();
    // Another manager adds a hostPort to the keyed port (protocol defaulted).
    let cfg = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "ports": [{"containerPort": 80, "hostPort": 8080}]}]}}}});
    let b = fm
        .apply(&a.object, &cfg, &a.managed_fields, &w("ports", T1), false)
        .unwrap();
    let port = &b.object["spec"]["template"]["spec"]["containers"][0]["ports"][0];
    assert_eq!(port, &json!({"containerPort": 80, "hostPort": 8080}));
    assert_eq!(
        b.object["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx"
    );
    assert_eq!(
        fields(&b.managed_fields, "ports").unwrap(),
        r#"{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{},"f:hostPort":{}}}}}}}}}"#
    );
    let mut clash = cfg.clone();
    clash["spec"]["template"]["spec"]["containers"][0]["image"] = json!("httpd");
    clash["spec"]["template"]["spec"]["containers"][0]["ports"][0]["hostPort"] = json!(9090);
    let err = fm
        .apply(&b.object, &clash, &b.managed_fields, &w("third", T2), false)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 2 conflicts: conflicts with \"kubectl\":\n- .spec.template.spec.containers[name=\"web\"].image\nconflicts with \"ports\":\n- .spec.template.spec.containers[name=\"web\"].ports[containerPort=80,protocol=\"TCP\"].hostPort"
    );
}

#[test]
fn apply_unions_set_lists_and_replaces_atomic_lists() {
    let fm = FieldManager::new(Schema::from_structural_json(&deployment_structural()));
    let base = |spec: Value| json!({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "n"}, "spec": spec});
    let a = fm.apply(&Value::Null, &base(json!({"finalizers": ["a", "b"], "template": {"spec": {"tolerations": [{"key": "x"}]}}})), &[], &w("one", T0), false).unwrap();
    let b = fm
        .apply(
            &a.object,
            &base(json!({"finalizers": ["c", "b"]})),
            &a.managed_fields,
            &w("two", T1),
            false,
        )
        .unwrap();
    assert_eq!(b.object["spec"]["finalizers"], json!(["a", "c", "b"]));
    assert_eq!(
        fields(&b.managed_fields, "two").unwrap(),
        r#"{"f:spec":{"f:finalizers":{"v:\"b\"":{},"v:\"c\"":{}}}}"#
    );
    // An atomic list is one field: replacing it conflicts as a whole.
    let err = fm
        .apply(
            &b.object,
            &base(json!({"template": {"spec": {"tolerations": [{"key": "y"}]}}})),
            &b.managed_fields,
            &w("two", T2),
            false,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"one\": .spec.template.spec.tolerations"
    );
    let c = fm
        .apply(
            &b.object,
            &base(json!({"template": {"spec": {"tolerations": [{"key": "y"}]}}})),
            &b.managed_fields,
            &w("two", T2),
            true,
        )
        .unwrap();
    assert_eq!(
        c.object["spec"]["template"]["spec"]["tolerations"],
        json!([{"key": "y"}])
    );
}

#[test]
fn granular_maps_merge_by_key_and_atomic_maps_are_replaced() {
    let fm = FieldManager::new(Schema::from_structural_json(&deployment_structural()));
    let base = |spec: Value| json!({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "n"}, "spec": spec});
    let a = fm
        .apply(
            &Value::Null,
            &base(json!({"nodeSelector": {"a": "1"}, "atomicSelector": {"a": "1"}})),
            &[],
            &w("one", T0),
            false,
        )
        .unwrap();
    let b = fm
        .apply(
            &a.object,
            &base(json!({"nodeSelector": {"b": "2"}})),
            &a.managed_fields,
            &w("two", T1),
            false,
        )
        .unwrap();
    assert_eq!(
        b.object["spec"]["nodeSelector"],
        json!({"a": "1", "b": "2"})
    );
    let err = fm
        .apply(
            &b.object,
            &base(json!({"atomicSelector": {"b": "2"}})),
            &b.managed_fields,
            &w("two", T2),
            false,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"one\": .spec.atomicSelector"
    );
    let c = fm
        .apply(
            &b.object,
            &base(json!({"atomicSelector": {"b": "2"}})),
            &b.managed_fields,
            &w("two", T2),
            true,
        )
        .unwrap();
    assert_eq!(c.object["spec"]["atomicSelector"], json!({"b": "2"}));
}

#[test]
fn ignored_fields_are_neither_owned_nor_conflicting() {
    let ignored = FieldSet::from_paths([vec![PathElement::field("status")]]);
    let fm = FieldManager::new(Schema::from_structural_json(&deployment_structural()))
        .with_ignored(ignored);
    let mut live = deployment("nginx");
    let m = fm
        .update(&json!({}), &live, &[], &w("creator", T0))
        .unwrap();
    let mut next = live.clone();
    next["status"] = json!({"ready": 3});
    let m = fm.update(&live, &next, &m, &w("controller", T1)).unwrap();
    assert!(fields(&m, "controller").is_none());
    live = next;
    assert!(fields(&m, "creator").is_some());
    let _ = live;
}

fn entry(manager: &str, version: &str, time: &str, field: &str) -> ManagedFieldsEntry {
    ManagedFieldsEntry {
        manager: manager.to_owned(),
        operation: Operation::Update,
        api_version: version.to_owned(),
        time: Some(time.to_owned()),
        fields: FieldSet::from_paths([vec![PathElement::field(field)]]),
        subresource: String::new(),
    }
}

#[test]
fn update_entries_beyond_ten_are_merged_into_ancient_changes_per_version() {
    let mut entries: Vec<ManagedFieldsEntry> = (0..12)
        .map(|i| {
            entry(
                &format!("m{i:02}"),
                "v1",
                &format!("2025-01-01T00:00:{i:02}Z"),
                &format!("f{i}"),
            )
        })
        .collect();
    entries.push(ManagedFieldsEntry {
        operation: Operation::Apply,
        ..entry("applier", "v1", T0, "a")
    });
    let capped = cap_update_managers(entries, 10);
    let updates: Vec<&ManagedFieldsEntry> = capped
        .iter()
        .filter(|e| e.operation == Operation::Update)
        .collect();
    assert_eq!(updates.len(), 10);
    let bucket = capped
        .iter()
        .find(|e| e.manager == "ancient-changes")
        .unwrap();
    // The three oldest (m00, m01, m02) went into the bucket, which took the
    // newest merged time.
    assert_eq!(
        bucket.fields.to_fields_v1_string(),
        r#"{"f:f0":{},"f:f1":{},"f:f2":{}}"#
    );
    assert_eq!(bucket.time.as_deref(), Some("2025-01-01T00:00:02Z"));
    assert!(capped.iter().any(|e| e.manager == "applier"));
    // At the cap nothing happens.
    let ten: Vec<_> = (0..10)
        .map(|i| entry(&format!("m{i}"), "v1", T0, "f"))
        .collect();
    assert_eq!(cap_update_managers(ten.clone(), 10), ten);
}

#[test]
fn managed_fields_round_trip_and_sort_as_the_apiserver_writes_them() {
    let list = json!([
        {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "v1", "time": T1, "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:b": {}}}},
        {"manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "time": T2, "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}},
        {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1", "time": T0, "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {"f:x": {}}}, "subresource": "status"}
    ]);
    let entries = decode_managed_fields(Some(&list)).unwrap();
    let encoded = encode_managed_fields(&entries);
    let managers: Vec<&str> = encoded
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["manager"].as_str().unwrap())
        .collect();
    assert_eq!(
        managers,
        ["kubectl", "kube-controller-manager", "kubectl-edit"]
    );
    assert_eq!(encoded[1], list[2]);
}

#[test]
fn invalid_managed_fields_entries_have_upstream_messages() {
    let long = "x".repeat(129);
    let list = json!([
        {"manager": "m", "operation": "Patch", "fieldsType": "FieldsV1", "fieldsV1": {}},
        {"manager": "m", "operation": "Update", "fieldsType": "FieldsV2"},
        {"manager": long, "operation": "Apply", "subresource": "s".repeat(257)},
        {"manager": "m", "operation": "Update", "fieldsV1": {"bad": {}}}
    ]);
    let Err(Error::InvalidManagedFields(errors)) = decode_managed_fields(Some(&list)) else {
        panic!()
    };
    assert_eq!(
        errors,
        [
            "metadata.managedFields[0].operation: Invalid value: \"Patch\": must be `Apply` or `Update`",
            "metadata.managedFields[1].fieldsType: Invalid value: \"FieldsV2\": must be `FieldsV1`",
            "metadata.managedFields[2].manager: Too long: may not be more than 128 bytes",
            "metadata.managedFields[2].subresource: Too long: may not be more than 256 bytes",
            "metadata.managedFields[3].fieldsV1: Invalid value: invalid FieldsV1: \"bad\": missing colon",
        ]
    );
    assert!(skewless_fieldmanager::is_reset_request(&json!([{}])));
    assert!(!skewless_fieldmanager::is_reset_request(&json!([])));
}

#[test]
fn manager_names_from_user_agents_and_their_validation() {
    let cases = [
        (
            "kubectl-client-side-apply/v1.35.0 (linux/amd64) kubernetes/abc",
            "kubectl-client-side-apply",
        ),
        ("kubectl/v1.35.0 (linux/amd64)", "kubectl"),
        ("Go-http-client/1.1", "Go-http-client"),
        ("no slash here", "no slash here"),
        ("tab\there/1", "tabhere"),
        ("", ""),
    ];
    for (ua, want) in cases {
        assert_eq!(manager_from_user_agent(ua), want, "{ua}");
    }
    assert_eq!(manager_from_user_agent(&"é".repeat(100)).len(), 128);
    assert_eq!(validate_manager("kubectl", true), Ok(()));
    assert_eq!(validate_manager("", false), Ok(()));
    assert_eq!(
        validate_manager("", true),
        Err(vec![
            "fieldManager: Required value: is required for apply patch".to_owned()
        ])
    );
    assert_eq!(
        validate_manager(&"x".repeat(129), false),
        Err(vec![
            "fieldManager: Too long: may not be more than 128 bytes".to_owned()
        ])
    );
    assert_eq!(
        validate_manager("a\u{7}", false),
        Err(vec![
            "fieldManager: Invalid value: \"a\\u0007\": invalid character U+0007 (at position 1)"
                .to_owned()
        ])
    );
}

#[test]
fn openapi_v3_components_follow_refs_all_of_and_patch_merge_keys() {
    let doc = json!({"components": {"schemas": {
        "io.k8s.api.core.v1.Pod": {"type": "object", "properties": {
            "apiVersion": {"type": "string"}, "kind": {"type": "string"},
            "metadata": {"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}], "default": {}},
            "spec": {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}]}}},
        "io.k8s.api.core.v1.PodSpec": {"type": "object", "properties": {
            "containers": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}]},
                "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"},
            "nodeSelector": {"type": "object", "additionalProperties": {"type": "string"}, "x-kubernetes-map-type": "atomic"}}},
        "io.k8s.api.core.v1.Container": {"type": "object", "properties": {
            "name": {"type": "string"}, "image": {"type": "string"},
            "args": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "atomic"}}},
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {"type": "object", "properties": {
            "name": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "finalizers": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge"}}}}}});
    let schema =
        Schema::from_openapi_v3(&doc, "#/components/schemas/io.k8s.api.core.v1.Pod").unwrap();
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}, "finalizers": ["x"]},
        "spec": {"containers": [{"name": "c", "image": "i", "args": ["1"]}], "nodeSelector": {"k": "v"}}});
    let s = field_set(&pod, &schema, &FieldSet::new()).unwrap();
    assert_eq!(
        s.to_fields_v1_string(),
        r#"{"f:metadata":{"f:finalizers":{"v:\"x\"":{}},"f:labels":{"f:a":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:args":{},"f:image":{},"f:name":{}}},"f:nodeSelector":{}}}"#
    );
    assert!(matches!(
        Schema::from_openapi_v3(&doc, "Missing"),
        Err(Error::Schema(_))
    ));
}

#[test]
fn map_list_element_without_its_key_is_rejected() {
    let fm = FieldManager::new(Schema::from_structural_json(&deployment_structural()));
    let cfg = json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}});
    let err = fm
        .apply(&Value::Null, &cfg, &[], &w("m", T0), false)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        ".spec.template.spec.containers: associative list with keys has an element that omits key field \"name\" (and doesn't have default value)"
    );
}

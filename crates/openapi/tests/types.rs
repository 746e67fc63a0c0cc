//! Type checking of built-in objects (`OpenApi::type_error`): each kind of
//! mismatch is reported in Go's words, and real valid objects pass in every
//! release.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::catalog_resources;
use serde_json::{Value, json};
use skewless_openapi::{CustomResourceSchema, GroupVersionKind, OpenApi, Release, ResourceRef};

fn openapi() -> OpenApi {
    OpenApi::new(Release::latest(), &[])
}

fn gvk_of(object: &Value) -> GroupVersionKind {
    let api_version = object["apiVersion"].as_str().unwrap();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    GroupVersionKind::new(group, version, object["kind"].as_str().unwrap())
}

fn error_of(object: &Value) -> Option<String> {
    openapi().type_error(&gvk_of(object), object)
}

fn pod_with_spec(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
}

fn container(extra: Value) -> Value {
    let mut c = json!({"name": "c", "image": "nginx"});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    pod_with_spec(json!({"containers": [c]}))
}

fn valid_objects() -> Vec<Value> {
    vec![
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "namespace": "default", "labels": {"app": "x"},
                "annotations": {"a": "b"}, "creationTimestamp": null, "generation": 3,
                "managedFields": [{"manager": "kubectl", "operation": "Apply",
                    "apiVersion": "apps/v1", "time": "2024-01-01T00:00:00Z",
                    "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]},
            "spec": {
                "replicas": 2,
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
                "selector": {"matchLabels": {"app": "x"},
                    "matchExpressions": [{"key": "a", "operator": "In", "values": ["b"]}]},
                "strategy": {"type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                "template": {
                    "metadata": {"labels": {"app": "x"}, "creationTimestamp": null},
                    "spec": {
                        "terminationGracePeriodSeconds": 30,
                        "containers": [{
                            "name": "c", "image": "nginx:1.25",
                            "args": ["--port", "80"],
                            "ports": [{"containerPort": 80, "protocol": "TCP", "name": "http"}],
                            "env": [{"name": "A", "value": "1"},
                                {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                            "resources": {"limits": {"cpu": "500m", "memory": "128Mi"},
                                "requests": {"cpu": 1, "memory": 1.5e9}},
                            "livenessProbe": {"httpGet": {"path": "/", "port": "http"},
                                "initialDelaySeconds": 3},
                            "readinessProbe": {"tcpSocket": {"port": 80}},
                            "securityContext": {"privileged": false, "runAsUser": 1000},
                        }],
                        "volumes": [{"name": "v", "emptyDir": {"sizeLimit": "1Gi"}},
                            {"name": "w", "configMap": {"name": "cm", "defaultMode": 420}}],
                    },
                },
            },
            "status": {},
        }),
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "ownerReferences": [{"apiVersion": "apps/v1",
                "kind": "ReplicaSet", "name": "rs", "uid": "u", "controller": true}]},
            "spec": {"containers": [{"name": "c", "image": "i",
                "resources": {"limits": {"cpu": "500m", "nvidia.com/gpu": 1},
                    "requests": {"cpu": 0.5, "memory": "64Mi"}}}],
                "nodeSelector": {"k": "v"}, "hostNetwork": false,
                "tolerations": [{"key": "k", "operator": "Exists", "tolerationSeconds": 30}],
                "overhead": null, "affinity": null},
            "status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False",
                "lastTransitionTime": null}]},
        }),
        json!({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"selector": {"app": "x"}, "type": "ClusterIP",
                "ports": [{"name": "a", "port": 80, "targetPort": 8080},
                    {"name": "b", "port": 81, "targetPort": "http", "nodePort": null}]},
        }),
        json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"k": "v", "empty": "", "n": null},
            "binaryData": {"b": "AAEC", "c": "aGVs\nbG8="}, "immutable": false,
        }),
        json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "type": "Opaque", "data": {"password": "cGFzc3dvcmQ=", "raw": [1, 2, 255]},
            "stringData": {"x": "not base64 at all!"},
        }),
        json!({
            "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj"},
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"backoffLimit": 2,
                "template": {"spec": {"restartPolicy": "Never",
                    "containers": [{"name": "c", "image": "i"}]}}}}},
        }),
        json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "crontabs.stable.example.com"},
            "spec": {"group": "stable.example.com", "scope": "Namespaced",
                "names": {"plural": "crontabs", "kind": "CronTab"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object",
                        "properties": {"spec": {"type": "object",
                            "x-kubernetes-preserve-unknown-fields": true,
                            "default": {"a": 1},
                            "properties": {"n": {"type": "integer", "minimum": 1}}},
                        "items": {"type": "array", "items": {"type": "string"}}},
                        "additionalProperties": false}}}]},
        }),
        json!({
            "apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"},
            "involvedObject": {"kind": "Pod", "name": "p"}, "count": 1,
            "eventTime": "2024-01-01T00:00:00.000000Z", "firstTimestamp": null,
        }),
        json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d"}, "maxReplicas": 3,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 50,
                        "averageValue": "100m"}}}]},
        }),
    ]
}

#[test]
fn valid_real_objects_type_check_in_every_release() {
    for release in Release::supported() {
        let openapi = OpenApi::new(release, &catalog_resources(release));
        for object in valid_objects() {
            assert_eq!(
                openapi.type_error(&gvk_of(&object), &object),
                None,
                "{release} {}",
                object["kind"]
            );
        }
    }
}

#[test]
fn string_fields_refuse_other_types() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "data": {"a": 1, "b": {}, "c": null}});
    assert_eq!(
        error_of(&cm).unwrap(),
        "json: cannot unmarshal number into Go struct field ConfigMap.data of type string"
    );
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "data": {"b": {}}});
    assert_eq!(
        error_of(&cm).unwrap(),
        "json: cannot unmarshal object into Go struct field ConfigMap.data of type string"
    );
    for (value, what) in [
        (json!(true), "bool"),
        (json!([]), "array"),
        (json!(1.5), "number"),
    ] {
        let pod = container(json!({"image": value}));
        assert_eq!(
            error_of(&pod).unwrap(),
            format!(
                "json: cannot unmarshal {what} into Go struct field \
                 Container.spec.containers.image of type string"
            )
        );
    }
    let labels = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"a": 1}}});
    assert_eq!(
        error_of(&labels).unwrap(),
        "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"
    );
}

#[test]
fn integers_numbers_and_booleans() {
    let deploy = |replicas: Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": replicas}})
    };
    assert_eq!(error_of(&deploy(json!(3))), None);
    assert_eq!(error_of(&deploy(json!(-3))), None);
    assert_eq!(
        error_of(&deploy(json!("3"))).unwrap(),
        "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
    );
    assert_eq!(
        error_of(&deploy(json!(1.5))).unwrap(),
        "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"
    );
    assert_eq!(
        error_of(&deploy(json!(3_000_000_000_i64))).unwrap(),
        "json: cannot unmarshal number 3000000000 into Go struct field DeploymentSpec.spec.replicas of type int32"
    );
    let grace = |v: Value| pod_with_spec(json!({"containers": [], "activeDeadlineSeconds": v}));
    assert_eq!(error_of(&grace(json!(3_000_000_000_i64))), None);
    assert_eq!(
        error_of(&grace(json!(true))).unwrap(),
        "json: cannot unmarshal bool into Go struct field PodSpec.spec.activeDeadlineSeconds of type int64"
    );
    assert_eq!(
        error_of(&grace(json!(u64::MAX))).unwrap(),
        format!(
            "json: cannot unmarshal number {} into Go struct field \
             PodSpec.spec.activeDeadlineSeconds of type int64",
            u64::MAX
        )
    );
    let host = |v: Value| pod_with_spec(json!({"containers": [], "hostNetwork": v}));
    assert_eq!(error_of(&host(json!(false))), None);
    assert_eq!(
        error_of(&host(json!("true"))).unwrap(),
        "json: cannot unmarshal string into Go struct field PodSpec.spec.hostNetwork of type bool"
    );
    let hpa = |v: Value| {
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h"},
            "spec": {"behavior": {"scaleUp": {"tolerance": v}}}})
    };
    // `number` (float64) takes integers and fractions alike, when the
    // release has the field at all.
    let with_tolerance = OpenApi::new(Release::latest(), &[]);
    let gvk = GroupVersionKind::new("autoscaling", "v2", "HorizontalPodAutoscaler");
    assert_eq!(with_tolerance.type_error(&gvk, &hpa(json!(0.1))), None);
    assert_eq!(with_tolerance.type_error(&gvk, &hpa(json!(1))), None);
}

#[test]
fn arrays_and_objects_have_their_shape() {
    let pod = pod_with_spec(json!({"containers": "notalist"}));
    assert_eq!(
        error_of(&pod).unwrap(),
        "json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container"
    );
    let pod = pod_with_spec(json!({"containers": ["c"]}));
    assert_eq!(
        error_of(&pod).unwrap(),
        "json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type v1.Container"
    );
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": []});
    assert_eq!(
        error_of(&pod).unwrap(),
        "json: cannot unmarshal array into Go struct field Pod.spec of type v1.PodSpec"
    );
    let pod = container(json!({"args": "a b"}));
    assert_eq!(
        error_of(&pod).unwrap(),
        "json: cannot unmarshal string into Go struct field Container.spec.containers.args of type []string"
    );
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "data": ["a"]});
    assert_eq!(
        error_of(&cm).unwrap(),
        "json: cannot unmarshal array into Go struct field ConfigMap.data of type map[string]string"
    );
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "data": "x"});
    assert_eq!(
        error_of(&secret).unwrap(),
        "json: cannot unmarshal string into Go struct field Secret.data of type map[string][]uint8"
    );
    let root = json!([1]);
    assert_eq!(
        openapi()
            .type_error(&GroupVersionKind::new("", "v1", "Pod"), &root)
            .unwrap(),
        "json: cannot unmarshal array into Go value of type v1.Pod"
    );
}

#[test]
fn base64_bytes() {
    let secret = |v: Value| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": v}});
    assert_eq!(error_of(&secret(json!("aGVsbG8="))), None);
    assert_eq!(error_of(&secret(json!(""))), None);
    assert_eq!(
        error_of(&secret(json!("not-base64!!"))).unwrap(),
        "illegal base64 data at input byte 3"
    );
    assert_eq!(
        error_of(&secret(json!("aGVsbG8"))).unwrap(),
        "illegal base64 data at input byte 4"
    );
    assert_eq!(
        error_of(&secret(json!(7))).unwrap(),
        "json: cannot unmarshal number into Go struct field Secret.data of type []uint8"
    );
    assert_eq!(
        error_of(&secret(json!([1, 256]))).unwrap(),
        "json: cannot unmarshal number 256 into Go struct field Secret.data of type uint8"
    );
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "binaryData": {"b": "AA=A"}});
    assert_eq!(
        error_of(&cm).unwrap(),
        "illegal base64 data at input byte 2"
    );
}

#[test]
fn int_or_string_and_quantities() {
    let service = |target: Value| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"ports": [{"port": 80, "targetPort": target}]}})
    };
    for ok in [json!(8080), json!("http"), json!("8080"), Value::Null] {
        assert_eq!(error_of(&service(ok.clone())), None, "{ok}");
    }
    for (bad, what) in [
        (json!(true), "bool"),
        (json!({}), "object"),
        (json!([80]), "array"),
        (json!(1.5), "number 1.5"),
    ] {
        assert_eq!(
            error_of(&service(bad)).unwrap(),
            format!(
                "json: cannot unmarshal {what} into Go struct field \
                 ServicePort.spec.ports.targetPort of type int32"
            )
        );
    }
    let limits = |v: Value| container(json!({"resources": {"limits": {"cpu": v}}}));
    for ok in [
        json!("500m"),
        json!(1),
        json!(0.5),
        json!("1Gi"),
        Value::Null,
    ] {
        assert_eq!(error_of(&limits(ok.clone())), None, "{ok}");
    }
    for bad in [json!(true), json!({}), json!(["1"])] {
        assert_eq!(
            error_of(&limits(bad)).unwrap(),
            "quantities must match the regular expression \
             '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
    }
}

#[test]
fn null_is_accepted_everywhere() {
    let objects = [
        pod_with_spec(Value::Null),
        pod_with_spec(json!({"containers": null, "hostNetwork": null,
            "activeDeadlineSeconds": null, "nodeSelector": null})),
        pod_with_spec(json!({"containers": [null, {"name": null, "args": [null],
            "resources": {"limits": {"cpu": null}}}]})),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": null,
            "data": {"a": null}, "binaryData": {"b": null}}),
    ];
    for object in objects {
        assert_eq!(error_of(&object), None, "{object}");
    }
}

#[test]
fn opaque_fields_unknown_fields_and_custom_resources_are_not_checked() {
    // RawExtension and FieldsV1 decode any JSON; unknown fields carry no type.
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "managedFields": [{"fieldsV1": "x"}], "bogus": 1},
        "extra": {"a": 1}});
    assert_eq!(error_of(&cm), None);
    let revision = json!({"apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {"name": "r"}, "revision": 1, "data": [1, "a"]});
    assert_eq!(error_of(&revision), None);
    assert_eq!(
        openapi().type_error(&GroupVersionKind::new("", "v1", "Nope"), &cm),
        None
    );

    let crd = CustomResourceSchema {
        group: "stable.example.com".into(),
        version: "v1".into(),
        kind: "CronTab".into(),
        list_kind: "CronTabList".into(),
        schema: Some(json!({"type": "object",
            "properties": {"spec": {"type": "object",
                "properties": {"n": {"type": "integer"}}}}})),
    };
    let resource = ResourceRef::new(
        "stable.example.com",
        "v1",
        "CronTab",
        "crontabs",
        true,
        &["get"],
    );
    let openapi = OpenApi::new(Release::latest(), &[resource])
        .with_custom_resource(&crd)
        .unwrap();
    let object = json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab",
        "metadata": {"name": "x"}, "spec": {"n": "not a number"}});
    assert_eq!(openapi.type_error(&gvk_of(&object), &object), None);
}

#[test]
fn hostile_nesting_does_not_overflow() {
    let mut props = json!({"type": "string"});
    for _ in 0..1000 {
        props = json!({"type": "object", "properties": {"x": props}});
    }
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "a.b.c"},
        "spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema": props}}]},
    });
    assert_eq!(error_of(&crd), None);
}

/// Real objects kubectl sends (the protobuf crate's captured fixtures, as
/// Go encoded them to JSON) all type-check.
#[test]
fn kubectl_fixtures_type_check() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../protobuf/tests/fixtures");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let object: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        if object.get("apiVersion").is_none() || object.get("kind").is_none() {
            continue;
        }
        assert_eq!(error_of(&object), None, "{}", path.display());
        checked += 1;
    }
    assert!(checked > 20, "only {checked} fixtures");
}

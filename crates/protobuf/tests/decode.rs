//! Hand-built protobuf bodies, covering what the kubectl fixtures do not:
//! full PodTemplateSpecs, every special type, Go's zero-value and pointer
//! rules, protobuf's merge rules, and each kind of bad input.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use skewless_protobuf::{ProtobufError, decode, is_supported_kind, supported_kinds};
use support::{Msg, envelope, int_or_string_int, int_or_string_str, meta, put_varint, quantity};

fn assert_decodes(body: &[u8], want: Value) {
    let got = decode(body).unwrap();
    assert_eq!(
        got,
        want,
        "got\n{}",
        serde_json::to_string_pretty(&got).unwrap()
    );
}

fn malformed(body: &[u8]) -> String {
    match decode(body) {
        Err(ProtobufError::Malformed(reason)) => reason,
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn namespace() {
    let body = envelope(
        "v1",
        "Namespace",
        Msg::new()
            .msg(1, meta("ns1", "").msg(8, Msg::new()))
            .msg(2, Msg::new().str(1, "kubernetes"))
            .msg(3, Msg::new().str(1, "Active")),
    );
    assert_decodes(
        &body,
        json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "ns1"},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }),
    );
}

#[test]
fn configmap_with_data_and_binary_data() {
    let body = envelope(
        "v1",
        "ConfigMap",
        Msg::new()
            .msg(1, meta("cm", "default"))
            .entry(2, "a", "b")
            .msg(2, Msg::new().str(1, "empty")) // value left out: ""
            .msg(3, Msg::new().str(1, "bin").bytes(2, &[0, 1, 2, 0xff]))
            .bool(4, true),
    );
    assert_decodes(
        &body,
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cm", "namespace": "default"},
            "data": {"a": "b", "empty": ""},
            "binaryData": {"bin": "AAEC/w=="},
            "immutable": true,
        }),
    );
}

#[test]
fn secret_bytes_become_base64() {
    let body = envelope(
        "v1",
        "Secret",
        Msg::new()
            .msg(1, meta("creds", "default"))
            .msg(2, Msg::new().str(1, "password").bytes(2, b"s3cret"))
            .msg(2, Msg::new().str(1, "empty").bytes(2, b""))
            .str(3, "kubernetes.io/basic-auth")
            .entry(4, "username", "admin"),
    );
    assert_decodes(
        &body,
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": "default"},
            "data": {"password": "czNjcmV0", "empty": ""},
            "type": "kubernetes.io/basic-auth",
            "stringData": {"username": "admin"},
        }),
    );
}

/// A Deployment with a full PodTemplateSpec, as client-go encodes it: every
/// value field present (zeros included), pointers only when set.
#[test]
fn deployment_with_full_pod_template() {
    let container = Msg::new()
        .str(1, "web")
        .str(2, "nginx:1.27")
        .strs(3, &["nginx"])
        .strs(4, &["-g", "daemon off;"])
        .str(5, "")
        .msg(
            6,
            Msg::new()
                .str(1, "http")
                .int(2, 0)
                .int(3, 80)
                .str(4, "TCP")
                .str(5, ""),
        )
        .msg(
            6,
            Msg::new()
                .str(1, "")
                .int(2, 0)
                .int(3, 443)
                .str(4, "")
                .str(5, ""),
        )
        .msg(7, Msg::new().str(1, "MODE").str(2, "production"))
        .msg(
            7,
            Msg::new().str(1, "PASSWORD").str(2, "").msg(
                3,
                Msg::new().msg(
                    4,
                    Msg::new()
                        .msg(1, Msg::new().str(1, "creds"))
                        .str(2, "password"),
                ),
            ),
        )
        .msg(
            8,
            Msg::new()
                .entry_msg(1, "cpu", quantity("500m"))
                .entry_msg(1, "memory", quantity("128Mi"))
                .entry_msg(2, "cpu", quantity("250m")),
        )
        .msg(
            9,
            Msg::new()
                .str(1, "config")
                .bool(2, true)
                .str(3, "/etc/web")
                .str(4, ""),
        )
        .str(13, "")
        .str(14, "IfNotPresent")
        .bool(16, false)
        .bool(17, false)
        .bool(18, false);
    let pod_spec = Msg::new()
        .msg(
            1,
            Msg::new().str(1, "config").msg(
                2,
                Msg::new().msg(
                    19,
                    Msg::new()
                        .msg(1, Msg::new().str(1, "web-config"))
                        .int(3, 420),
                ),
            ),
        )
        .msg(
            1,
            Msg::new()
                .str(1, "scratch")
                .msg(2, Msg::new().msg(2, Msg::new().str(1, ""))),
        )
        .msg(2, container)
        .str(3, "Always")
        .int(4, 30)
        .str(6, "ClusterFirst")
        .bool(11, false)
        .bool(30, false);
    let body = envelope(
        "apps/v1",
        "Deployment",
        Msg::new()
            .msg(
                1,
                meta("web", "prod")
                    .int(7, 0)
                    .msg(8, Msg::new().int(1, 1_700_000_000).int(2, 5))
                    .entry(11, "app", "web"),
            )
            .msg(
                2,
                Msg::new()
                    .int(1, 3)
                    .msg(2, Msg::new().entry(1, "app", "web"))
                    .msg(
                        3,
                        Msg::new()
                            .msg(1, Msg::new().entry(11, "app", "web").msg(8, Msg::new()))
                            .msg(2, pod_spec),
                    )
                    .msg(
                        4,
                        Msg::new().str(1, "RollingUpdate").msg(
                            2,
                            Msg::new()
                                .msg(1, int_or_string_int(0))
                                .msg(2, int_or_string_str("25%")),
                        ),
                    )
                    .int(5, 0)
                    .bool(7, false),
            )
            .msg(3, Msg::new().int(1, 0).int(2, 0)),
    );
    assert_decodes(
        &body,
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "web",
                "namespace": "prod",
                "creationTimestamp": "2023-11-14T22:13:20Z",
                "labels": {"app": "web"},
            },
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"},
                },
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "volumes": [
                            {"name": "config", "configMap": {"name": "web-config", "defaultMode": 420}},
                            {"name": "scratch", "emptyDir": {}},
                        ],
                        "containers": [{
                            "name": "web",
                            "image": "nginx:1.27",
                            "command": ["nginx"],
                            "args": ["-g", "daemon off;"],
                            "ports": [
                                {"name": "http", "containerPort": 80, "protocol": "TCP"},
                                {"containerPort": 443},
                            ],
                            "env": [
                                {"name": "MODE", "value": "production"},
                                {"name": "PASSWORD", "valueFrom": {
                                    "secretKeyRef": {"name": "creds", "key": "password"},
                                }},
                            ],
                            "resources": {
                                "limits": {"cpu": "500m", "memory": "128Mi"},
                                "requests": {"cpu": "250m"},
                            },
                            "volumeMounts": [
                                {"name": "config", "readOnly": true, "mountPath": "/etc/web"},
                            ],
                            "imagePullPolicy": "IfNotPresent",
                        }],
                        "restartPolicy": "Always",
                        "terminationGracePeriodSeconds": 30,
                        "dnsPolicy": "ClusterFirst",
                        "enableServiceLinks": false,
                    },
                },
            },
            "status": {},
        }),
    );
}

#[test]
fn service() {
    let body = envelope(
        "v1",
        "Service",
        Msg::new()
            .msg(1, meta("svc", "default"))
            .msg(
                2,
                Msg::new()
                    .msg(
                        1,
                        Msg::new()
                            .str(1, "http")
                            .str(2, "TCP")
                            .int(3, 80)
                            .msg(4, int_or_string_str("http"))
                            .int(5, 0),
                    )
                    .msg(
                        1,
                        Msg::new()
                            .str(1, "metrics")
                            .str(2, "TCP")
                            .int(3, 9090)
                            .msg(4, int_or_string_int(9091))
                            .int(5, 30090),
                    )
                    .entry(2, "app", "web")
                    .str(3, "10.0.0.10")
                    .str(4, "NodePort")
                    .strs(18, &["10.0.0.10"])
                    .str(22, "Cluster"),
            )
            .msg(3, Msg::new().msg(1, Msg::new())),
    );
    assert_decodes(
        &body,
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "svc", "namespace": "default"},
            "spec": {
                "ports": [
                    {"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http"},
                    {"name": "metrics", "protocol": "TCP", "port": 9090, "targetPort": 9091, "nodePort": 30090},
                ],
                "selector": {"app": "web"},
                "clusterIP": "10.0.0.10",
                "clusterIPs": ["10.0.0.10"],
                "type": "NodePort",
                "internalTrafficPolicy": "Cluster",
            },
            "status": {"loadBalancer": {}},
        }),
    );
}

/// A client that leaves out zero value fields (unlike client-go) still gets
/// the JSON Go would write for the same value: `port: 0`, `targetPort: 0`,
/// `status.loadBalancer: {}`.
#[test]
fn value_fields_missing_from_the_wire_take_go_zero_values() {
    let body = envelope(
        "v1",
        "Service",
        Msg::new()
            .msg(1, meta("svc", ""))
            .msg(2, Msg::new().msg(1, Msg::new().str(1, "p"))),
    );
    assert_decodes(
        &body,
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "svc"},
            "spec": {"ports": [{"name": "p", "port": 0, "targetPort": 0}]},
            "status": {"loadBalancer": {}},
        }),
    );
}

#[test]
fn job_keeps_zero_pointers() {
    let body = envelope(
        "batch/v1",
        "Job",
        Msg::new()
            .msg(1, meta("pi", "default"))
            .msg(
                2,
                Msg::new()
                    .int(2, 1)
                    .msg(
                        6,
                        Msg::new().msg(1, Msg::new().msg(8, Msg::new())).msg(
                            2,
                            Msg::new()
                                .msg(
                                    2,
                                    Msg::new()
                                        .str(1, "pi")
                                        .str(2, "perl:5.34")
                                        .strs(3, &["perl", "-Mbignum=bpi", "-wle", "print bpi(20)"])
                                        .msg(8, Msg::new()),
                                )
                                .str(3, "Never"),
                        ),
                    )
                    .int(7, 0)
                    .bool(10, false),
            )
            .msg(3, Msg::new()),
    );
    assert_decodes(
        &body,
        json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "pi", "namespace": "default"},
            "spec": {
                "completions": 1,
                "template": {
                    "metadata": {},
                    "spec": {
                        "containers": [{
                            "name": "pi",
                            "image": "perl:5.34",
                            "command": ["perl", "-Mbignum=bpi", "-wle", "print bpi(20)"],
                            "resources": {},
                        }],
                        "restartPolicy": "Never",
                    },
                },
                "backoffLimit": 0,
                "suspend": false,
            },
            "status": {},
        }),
    );
}

#[test]
fn role() {
    let body = envelope(
        "rbac.authorization.k8s.io/v1",
        "Role",
        Msg::new()
            .msg(1, meta("reader", "default"))
            .msg(
                2,
                Msg::new()
                    .strs(1, &["get", "list"])
                    .strs(2, &[""])
                    .strs(3, &["pods", "pods/log"]),
            )
            .msg(
                2,
                Msg::new()
                    .strs(1, &["get"])
                    .strs(2, &["apps"])
                    .strs(3, &["deployments"])
                    .strs(4, &["web"]),
            ),
    );
    assert_decodes(
        &body,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "reader", "namespace": "default"},
            "rules": [
                {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods", "pods/log"]},
                {"verbs": ["get"], "apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["web"]},
            ],
        }),
    );
}

#[test]
fn packed_repeated_and_negative_integers() {
    let mut packed = Vec::new();
    for v in [1000u64, 2000, 3000] {
        put_varint(&mut packed, v);
    }
    let body = envelope(
        "v1",
        "Pod",
        Msg::new().msg(1, meta("p", "")).msg(
            2,
            Msg::new()
                .msg(14, Msg::new().bytes(4, &packed).int(4, 4000))
                .int(25, -5),
        ),
    );
    assert_decodes(
        &body,
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {
                "securityContext": {"supplementalGroups": [1000, 2000, 3000, 4000]},
                "priority": -5,
            },
            "status": {},
        }),
    );
}

/// Protobuf rules: unknown fields are skipped, a scalar sent twice keeps
/// the last value, a message sent twice merges.
#[test]
fn unknown_fields_are_skipped_and_repeats_merge() {
    let body = envelope(
        "v1",
        "ConfigMap",
        Msg::new()
            .msg(1, meta("first", "").int(999, 7).str(1000, "future field"))
            .msg(1, Msg::new().str(1, "second").entry(11, "merged", "yes"))
            .msg(77, Msg::new().str(1, "unknown message"))
            .int(78, 1),
    );
    assert_decodes(
        &body,
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "second", "labels": {"merged": "yes"}},
        }),
    );
}

#[test]
fn times() {
    let body = envelope(
        "coordination.k8s.io/v1",
        "Lease",
        Msg::new()
            .msg(
                1,
                meta("l", "kube-system")
                    .msg(8, Msg::new().int(1, 0))
                    .msg(9, Msg::new().int(1, 951_782_400).int(2, 999)),
            )
            .msg(
                2,
                Msg::new()
                    .str(1, "holder")
                    .int(2, 15)
                    .msg(3, Msg::new())
                    .msg(4, Msg::new().int(1, 1_700_000_000).int(2, 123_456_789)),
            ),
    );
    assert_decodes(
        &body,
        json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": "l",
                "namespace": "kube-system",
                // Seconds 0 is the Unix epoch, not the zero Time.
                "creationTimestamp": "1970-01-01T00:00:00Z",
                // Time keeps whole seconds only.
                "deletionTimestamp": "2000-02-29T00:00:00Z",
            },
            "spec": {
                "holderIdentity": "holder",
                "leaseDurationSeconds": 15,
                // An empty acquireTime is the zero Time: null, left out.
                "renewTime": "2023-11-14T22:13:20.123456Z",
            },
        }),
    );
}

#[test]
fn raw_extension_and_map_of_lists() {
    let revision = envelope(
        "apps/v1",
        "ControllerRevision",
        Msg::new()
            .msg(1, meta("rev", ""))
            .msg(2, Msg::new().bytes(1, br#"{"spec":{"replicas":2}}"#))
            .int(3, 4),
    );
    assert_decodes(
        &revision,
        json!({
            "apiVersion": "apps/v1",
            "kind": "ControllerRevision",
            "metadata": {"name": "rev"},
            "data": {"spec": {"replicas": 2}},
            "revision": 4,
        }),
    );

    let review = envelope(
        "authentication.k8s.io/v1",
        "TokenReview",
        Msg::new()
            .msg(1, meta("", ""))
            .msg(2, Msg::new().str(1, "t"))
            .msg(
                3,
                Msg::new().bool(1, true).msg(
                    2,
                    Msg::new().str(1, "alice").strs(3, &["devs"]).entry_msg(
                        4,
                        "scopes",
                        Msg::new().strs(1, &["read", "write"]),
                    ),
                ),
            ),
    );
    assert_decodes(
        &review,
        json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "metadata": {},
            "spec": {"token": "t"},
            "status": {
                "authenticated": true,
                "user": {"username": "alice", "groups": ["devs"], "extra": {"scopes": ["read", "write"]}},
            },
        }),
    );
}

/// client-go sends DeleteOptions with the apiVersion of the resource's group.
#[test]
fn delete_options_under_any_group_version() {
    let body = envelope(
        "policy/v1",
        "Eviction",
        Msg::new()
            .msg(1, meta("web-1", "default"))
            .msg(2, Msg::new().int(1, 0).str(4, "Foreground")),
    );
    assert_decodes(
        &body,
        json!({
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": "web-1", "namespace": "default"},
            "deleteOptions": {"gracePeriodSeconds": 0, "propagationPolicy": "Foreground"},
        }),
    );
    let body = envelope("apps/v1", "DeleteOptions", Msg::new().strs(5, &["All"]));
    assert_decodes(
        &body,
        json!({"apiVersion": "apps/v1", "kind": "DeleteOptions", "dryRun": ["All"]}),
    );
}

#[test]
fn not_a_protobuf_envelope() {
    for body in [
        &b""[..],
        b"k8s",
        br#"{"apiVersion":"v1","kind":"ConfigMap"}"#,
        b"K8S\x00\x0a\x00",
    ] {
        assert_eq!(decode(body), Err(ProtobufError::NotProtobuf), "{body:?}");
    }
}

#[test]
fn unknown_kind_names_it() {
    let body = envelope("example.com/v1", "Widget", Msg::new().msg(1, meta("w", "")));
    let err = decode(&body).unwrap_err();
    assert_eq!(
        err,
        ProtobufError::UnknownKind {
            api_version: "example.com/v1".into(),
            kind: "Widget".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "protobuf is not supported for example.com/v1, Kind=Widget"
    );
    // A built-in kind under a group/version that does not have it.
    assert!(matches!(
        decode(&envelope("v1", "Deployment", Msg::new())),
        Err(ProtobufError::UnknownKind { .. })
    ));
}

#[test]
fn malformed_bodies() {
    let good = envelope("v1", "ConfigMap", Msg::new().msg(1, meta("cm", "")));

    // Truncated anywhere: never a panic. A cut between two fields leaves a
    // valid (shorter) message, a cut inside a field is malformed.
    for len in 4..good.len() {
        let _ = decode(&good[..len]);
    }
    malformed(&good[..good.len() - 1]);
    let raw_start = good.windows(2).position(|w| w == [0x12, 0x06]).unwrap();
    malformed(&good[..raw_start + 4]);

    let reason = malformed(&envelope(
        "v1",
        "ConfigMap",
        Msg::new().msg(1, Msg::new().int(1, 5)),
    ));
    assert_eq!(
        reason,
        "at metadata.name: expected length-delimited, got varint"
    );

    let reason = malformed(&envelope(
        "v1",
        "Service",
        Msg::new().msg(
            2,
            Msg::new().msg(1, Msg::new().msg(4, Msg::new().int(1, 7))),
        ),
    ));
    assert_eq!(
        reason,
        "at spec.ports.targetPort: IntOrString of unknown type 7"
    );

    let reason = malformed(&envelope(
        "apps/v1",
        "ControllerRevision",
        Msg::new().msg(2, Msg::new().bytes(1, b"{not json")),
    ));
    assert!(
        reason.starts_with("at data: embedded object is not JSON"),
        "{reason}"
    );

    let reason = malformed(&envelope(
        "v1",
        "Pod",
        Msg::new().msg(1, Msg::new().msg(8, Msg::new().int(1, i64::MAX))),
    ));
    assert!(reason.contains("outside years"), "{reason}");

    let reason = malformed(&envelope(
        "v1",
        "ResourceQuota",
        Msg::new().msg(2, Msg::new().entry_msg(1, "cpu", Msg::new().str(1, ""))),
    ));
    assert_eq!(reason, "at spec.hard.cpu: empty Quantity");

    let mut no_kind = b"k8s\x00".to_vec();
    no_kind.extend(Msg::new().msg(1, Msg::new().str(1, "v1")).0);
    assert_eq!(malformed(&no_kind), "the envelope has no kind");

    let mut gzip = b"k8s\x00".to_vec();
    gzip.extend(
        Msg::new()
            .msg(1, Msg::new().str(1, "v1").str(2, "ConfigMap"))
            .str(3, "gzip")
            .0,
    );
    assert!(malformed(&gzip).contains("contentEncoding"));

    let mut garbage = b"k8s\x00".to_vec();
    garbage.extend([0xff; 16]);
    malformed(&garbage);
}

/// RawExtensions may embed protobuf objects; nesting is bounded.
#[test]
fn nesting_is_bounded() {
    let inner = envelope("v1", "ConfigMap", Msg::new().msg(1, meta("inner", "")));
    let outer = envelope(
        "apps/v1",
        "ControllerRevision",
        Msg::new().msg(2, Msg::new().bytes(1, &inner)),
    );
    assert_decodes(
        &outer,
        json!({
            "apiVersion": "apps/v1",
            "kind": "ControllerRevision",
            "metadata": {},
            "data": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "inner"}},
            "revision": 0,
        }),
    );

    let mut body = inner;
    for _ in 0..500 {
        body = envelope(
            "apps/v1",
            "ControllerRevision",
            Msg::new().msg(2, Msg::new().bytes(1, &body)),
        );
    }
    assert!(malformed(&body).contains("nested too deeply"));
}

#[test]
fn lists_supported_kinds() {
    assert!(is_supported_kind("apps/v1", "Deployment"));
    assert!(is_supported_kind("batch/v1", "DeleteOptions"));
    assert!(!is_supported_kind("example.com/v1", "Widget"));
    let kinds = supported_kinds();
    assert!(kinds.contains(&("networking.k8s.io/v1".into(), "Ingress".into())));
    assert!(kinds.contains(&("*".into(), "DeleteOptions".into())));
}

use std::time::{Duration, UNIX_EPOCH};

use serde_json::json;

use super::*;

fn received() -> SystemTime {
    // 2021-09-13T10:00:06.493243Z
    UNIX_EPOCH + Duration::new(1_631_527_206, 493_243_000)
}

fn completed() -> SystemTime {
    received() + Duration::from_micros(88_602)
}

fn pod_create() -> RequestAttributes {
    RequestAttributes {
        user: UserInfo {
            username: "alice".into(),
            uid: "u-1".into(),
            groups: vec!["devs".into(), "system:authenticated".into()],
            extra: [("scopes".to_owned(), vec!["a".to_owned(), "b".to_owned()])].into(),
        },
        verb: "create".into(),
        is_resource_request: true,
        namespace: "default".into(),
        api_version: "v1".into(),
        resource: "pods".into(),
        path: "/api/v1/namespaces/default/pods".into(),
        request_uri: "/api/v1/namespaces/default/pods?fieldManager=kubectl".into(),
        source_ips: vec!["10.0.0.1".into(), "127.0.0.1".into()],
        user_agent: "kubectl/v1.34.0".into(),
        ..RequestAttributes::default()
    }
}

fn pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}})
}

/// The event a pod create ends with at `level`.
fn completed_event(level: Level) -> Value {
    let mut ev = Event::new("id-1", level, StageSet::EMPTY, &pod_create(), received());
    ev.set_request_object(pod())
        .set_response(201, Some(pod()))
        .add_annotation("skewless.io/served-by", "peer-a")
        .add_annotation("authorization.k8s.io/decision", "allow")
        .set_stage(Stage::ResponseComplete, completed());
    serde_json::from_str(&ev.to_json_line()).unwrap()
}

#[test]
fn metadata_level_shape() {
    let got = completed_event(Level::Metadata);
    let want = json!({
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": "id-1",
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/default/pods?fieldManager=kubectl",
        "verb": "create",
        "user": {
            "username": "alice",
            "uid": "u-1",
            "groups": ["devs", "system:authenticated"],
            "extra": {"scopes": ["a", "b"]}
        },
        "sourceIPs": ["10.0.0.1", "127.0.0.1"],
        "userAgent": "kubectl/v1.34.0",
        "objectRef": {"resource": "pods", "namespace": "default", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 201},
        "requestReceivedTimestamp": "2021-09-13T10:00:06.493243Z",
        "stageTimestamp": "2021-09-13T10:00:06.581845Z",
        "annotations": {
            "authorization.k8s.io/decision": "allow",
            "skewless.io/served-by": "peer-a"
        }
    });
    assert_eq!(got, want);
}

#[test]
fn request_level_adds_only_the_request_object() {
    let got = completed_event(Level::Request);
    assert_eq!(got["level"], "Request");
    assert_eq!(got["requestObject"], pod());
    assert!(got.get("responseObject").is_none());
}

#[test]
fn request_response_level_adds_both_objects() {
    let got = completed_event(Level::RequestResponse);
    assert_eq!(got["requestObject"], pod());
    assert_eq!(got["responseObject"], pod());
}

#[test]
fn field_order_matches_upstream() {
    let mut attrs = pod_create();
    attrs.impersonated_user = Some(UserInfo {
        username: "bob".into(),
        ..UserInfo::default()
    });
    let mut ev = Event::new(
        "id",
        Level::RequestResponse,
        StageSet::EMPTY,
        &attrs,
        received(),
    );
    ev.set_request_object(json!({}))
        .set_response(200, Some(json!({})))
        .add_annotation("a", "b");
    let line = ev.to_json_line();
    let order = [
        "\"kind\"",
        "\"apiVersion\"",
        "\"level\"",
        "\"auditID\"",
        "\"stage\"",
        "\"requestURI\"",
        "\"verb\"",
        "\"user\"",
        "\"impersonatedUser\"",
        "\"sourceIPs\"",
        "\"userAgent\"",
        "\"objectRef\"",
        "\"responseStatus\"",
        "\"requestObject\"",
        "\"responseObject\"",
        "\"requestReceivedTimestamp\"",
        "\"stageTimestamp\"",
        "\"annotations\"",
    ];
    let positions: Vec<usize> = order.iter().map(|k| line.find(k).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{line}");
    assert!(line.starts_with(
        "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"RequestResponse\","
    ));
}

#[test]
fn impersonated_user_is_recorded() {
    let mut attrs = pod_create();
    attrs.impersonated_user = Some(UserInfo {
        username: "system:serviceaccount:ns:sa".into(),
        groups: vec!["system:serviceaccounts".into()],
        ..UserInfo::default()
    });
    let ev = Event::new("id", Level::Metadata, StageSet::EMPTY, &attrs, received());
    let got: Value = serde_json::from_str(&ev.to_json_line()).unwrap();
    assert_eq!(
        got["impersonatedUser"],
        json!({"username": "system:serviceaccount:ns:sa", "groups": ["system:serviceaccounts"]})
    );
}

#[test]
fn non_resource_requests_have_no_object_ref_and_no_bodies() {
    let attrs = RequestAttributes {
        user: UserInfo {
            username: "alice".into(),
            ..UserInfo::default()
        },
        verb: "get".into(),
        path: "/healthz".into(),
        request_uri: "/healthz?verbose".into(),
        ..RequestAttributes::default()
    };
    let mut ev = Event::new(
        "id",
        Level::RequestResponse,
        StageSet::EMPTY,
        &attrs,
        received(),
    );
    ev.set_request_object(json!({"x": 1}))
        .set_response(200, Some(json!({"y": 2})));
    let got: Value = serde_json::from_str(&ev.to_json_line()).unwrap();
    assert!(got.get("objectRef").is_none());
    assert!(got.get("requestObject").is_none());
    assert!(got.get("responseObject").is_none());
    assert!(got.get("sourceIPs").is_none());
    assert!(got.get("userAgent").is_none());
    assert!(got.get("annotations").is_none());
    assert_eq!(got["user"], json!({"username": "alice"}));
    assert_eq!(got["requestURI"], "/healthz?verbose");
}

#[test]
fn failure_status_keeps_the_bounded_fields() {
    let status = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": "12"},
        "status": "Failure",
        "message": "pods \"web\" is forbidden: User \"alice\" cannot get resource",
        "reason": "Forbidden",
        "details": {"name": "web", "kind": "pods"},
        "code": 403
    });
    let mut ev = Event::new(
        "id",
        Level::Metadata,
        StageSet::EMPTY,
        &pod_create(),
        received(),
    );
    ev.set_response(403, Some(status));
    let got: Value = serde_json::from_str(&ev.to_json_line()).unwrap();
    assert_eq!(
        got["responseStatus"],
        json!({
            "metadata": {},
            "status": "Failure",
            "message": "pods \"web\" is forbidden: User \"alice\" cannot get resource",
            "reason": "Forbidden",
            "details": {"name": "web", "kind": "pods"},
            "code": 403
        })
    );
    assert!(
        got.get("responseObject").is_none(),
        "Metadata keeps no bodies"
    );
    let line = ev.to_json_line();
    let rs = &line[line.find("\"responseStatus\"").unwrap()..];
    assert!(
        rs.starts_with("\"responseStatus\":{\"metadata\":{},\"status\":\"Failure\",\"message\":"),
        "{rs}"
    );
}

#[test]
fn status_without_code_takes_the_http_code() {
    let s = ResponseStatus::from_status_json(&json!({"kind": "Status", "status": "Success"}), 200)
        .unwrap();
    assert_eq!(s.code, 200);
    assert_eq!(s.status.as_deref(), Some("Success"));
    assert!(ResponseStatus::from_status_json(&json!({"kind": "Pod"}), 200).is_none());
    assert!(ResponseStatus::from_status_json(&json!("Status"), 200).is_none());
}

#[test]
fn request_received_stage_uses_the_receive_time() {
    let mut ev = Event::new(
        "id",
        Level::Metadata,
        StageSet::EMPTY,
        &pod_create(),
        received(),
    );
    ev.set_stage(Stage::RequestReceived, completed());
    let got: Value = serde_json::from_str(&ev.to_json_line()).unwrap();
    assert_eq!(got["stage"], "RequestReceived");
    assert_eq!(got["stageTimestamp"], got["requestReceivedTimestamp"]);
    assert!(got.get("responseStatus").is_none());
}

#[test]
fn emission_follows_level_and_omitted_stages() {
    let omit = StageSet::EMPTY.with(Stage::RequestReceived);
    let mut ev = Event::new("id", Level::Metadata, omit, &pod_create(), received());
    assert!(!ev.is_emitted(), "RequestReceived is omitted");
    ev.set_stage(Stage::ResponseComplete, completed());
    assert!(ev.is_emitted());
    let mut none = Event::new(
        "id",
        Level::None,
        StageSet::EMPTY,
        &pod_create(),
        received(),
    );
    none.set_stage(Stage::ResponseComplete, completed());
    assert!(!none.is_emitted());
}

#[test]
fn long_user_agents_are_truncated() {
    let mut attrs = pod_create();
    attrs.user_agent = "é".repeat(600); // 1200 bytes; 1024 falls inside no char
    let ev = Event::new("id", Level::Metadata, StageSet::EMPTY, &attrs, received());
    let got: Value = serde_json::from_str(&ev.to_json_line()).unwrap();
    let ua = got["userAgent"].as_str().unwrap();
    assert!(ua.ends_with("...TRUNCATED"));
    assert_eq!(ua.len(), 1024 + "...TRUNCATED".len());
}

#[test]
fn annotations_replace_by_key() {
    let mut ev = Event::new(
        "id",
        Level::Metadata,
        StageSet::EMPTY,
        &pod_create(),
        received(),
    );
    ev.add_annotation("skewless.io/proxied-by", "a")
        .add_annotation("skewless.io/proxied-by", "b");
    assert_eq!(ev.annotations().len(), 1);
    assert_eq!(ev.annotations()["skewless.io/proxied-by"], "b");
}

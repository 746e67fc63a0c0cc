//! The audit log on real servers: one proxied request keeps one audit ID
//! on both servers, each event says who served and who proxied it, levels
//! decide what is recorded, and watches log their start and their end.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use skewless_testkit::{Identity, Pki, Storage, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");
const MAPS: &str = "/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies";

const POLICY: &str = "apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  nonResourceURLs: ['/readyz*', '/livez*', '/healthz*', '/apis*', '/api*', '/openapi*']
- level: None
  users: [system:apiserver]
- level: Metadata
  resources:
  - group: ''
    resources: [secrets]
- level: RequestResponse
";

fn events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn with_id<'a>(events: &'a [Value], id: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["auditID"] == id).collect()
}

#[tokio::test]
async fn one_proxied_request_has_one_audit_id_on_both_servers() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::SharedSqlite(dir.path().join("data"));
    let pki = Pki::generate();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, POLICY).unwrap();
    let log = |name: &str| -> PathBuf { dir.path().join(format!("{name}.log")) };
    let flags = |version: &str, name: &str| {
        vec![
            format!("--emulated-version={version}"),
            format!("--audit-policy-file={}", policy.display()),
            format!("--audit-log-path={}", log(name).display()),
        ]
    };
    let new_flags = flags("1.36", "new");
    let old_flags = flags("1.35", "old");
    let _new = skewless_testkit::start_peer(
        Path::new(BIN),
        &pki,
        &storage,
        "server-136",
        &new_flags.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    let old = skewless_testkit::start_peer(
        Path::new(BIN),
        &pki,
        &storage,
        "server-135",
        &old_flags.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    let admin = old.client(&pki, Identity::Admin);
    eventually(Duration::from_secs(15), "MAPs proxied", || async {
        admin.get(MAPS).await.status == 200
    })
    .await;

    // A create through the 1.35 server, served by the 1.36 peer.
    let map = json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicy",
        "metadata": {"name": "audited"},
        "spec": {"mutations": [], "reinvocationPolicy": "Never"},
    });
    let r = admin.post_json(MAPS, &map).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.headers["audit-id"].to_str().unwrap().to_owned();
    assert!(!id.is_empty());
    let mut first = Vec::new();
    let mut second = Vec::new();
    eventually(Duration::from_secs(5), "both servers log it", || {
        first = events(&log("old"));
        second = events(&log("new"));
        let done = !with_id(&first, &id).is_empty() && !with_id(&second, &id).is_empty();
        async move { done }
    })
    .await;
    let on_first = with_id(&first, &id);
    let on_second = with_id(&second, &id);
    assert_eq!(
        on_first.len(),
        1,
        "RequestReceived is omitted: {on_first:?}"
    );
    assert_eq!(on_second.len(), 1, "{on_second:?}");
    let (a, b) = (on_first[0], on_second[0]);
    for e in [a, b] {
        assert_eq!(e["kind"], "Event");
        assert_eq!(e["apiVersion"], "audit.k8s.io/v1");
        assert_eq!(e["stage"], "ResponseComplete");
        assert_eq!(e["level"], "RequestResponse");
        assert_eq!(e["verb"], "create");
        assert_eq!(e["user"]["username"], "admin");
        assert_eq!(e["objectRef"]["resource"], "mutatingadmissionpolicies");
        assert_eq!(e["responseStatus"]["code"], 201);
        assert_eq!(e["responseObject"]["metadata"]["name"], "audited");
        assert_eq!(e["annotations"]["skewless.io/served-by"], "server-136");
    }
    // The request body streams through the first hop unread; the server
    // that decodes it records it.
    assert!(a.get("requestObject").is_none());
    assert_eq!(b["requestObject"]["metadata"]["name"], "audited");
    assert_eq!(a["annotations"]["skewless.io/proxied-to"], "server-136");
    assert!(a["annotations"].get("skewless.io/proxied-by").is_none());
    assert_eq!(b["annotations"]["skewless.io/proxied-by"], "server-135");
    assert!(!a["sourceIPs"].as_array().unwrap().is_empty());

    // The client's own Audit-ID is kept, and a forged proxied-by is not.
    let r = admin
        .request(
            "GET",
            &format!("{MAPS}/audited"),
            &[
                ("Audit-ID", "my-trace-1"),
                ("X-Skewless-Proxied-By", "mallory"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["audit-id"], "my-trace-1");
    eventually(Duration::from_secs(5), "the traced GET on the peer", || {
        let found = !with_id(&events(&log("new")), "my-trace-1").is_empty();
        async move { found }
    })
    .await;
    let peer_events = events(&log("new"));
    let traced = with_id(&peer_events, "my-trace-1");
    assert_eq!(
        traced[0]["annotations"]["skewless.io/proxied-by"],
        "server-135"
    );

    // Levels: Secrets only at Metadata (no objects); the servers' own
    // requests and discovery not at all.
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "v"}});
    let r = admin
        .post_json("/api/v1/namespaces/default/secrets", &secret)
        .await;
    assert_eq!(r.status, 201);
    let sid = r.headers["audit-id"].to_str().unwrap().to_owned();
    eventually(Duration::from_secs(5), "the secret's event", || {
        let found = !with_id(&events(&log("old")), &sid).is_empty();
        async move { found }
    })
    .await;
    let all = events(&log("old"));
    let e = with_id(&all, &sid)[0];
    assert_eq!(e["level"], "Metadata");
    assert!(e.get("requestObject").is_none() && e.get("responseObject").is_none());
    assert!(
        all.iter()
            .all(|e| e["user"]["username"] != "system:apiserver")
    );
    assert!(all.iter().all(|e| e["requestURI"] != "/readyz"));

    // A denied request is audited with its 403.
    let r = old
        .client(&pki, Identity::Anonymous)
        .get("/api/v1/namespaces/default/configmaps")
        .await;
    assert_eq!(r.status, 403);
    let did = r.headers["audit-id"].to_str().unwrap().to_owned();
    eventually(Duration::from_secs(5), "the denial's event", || {
        let found = !with_id(&events(&log("old")), &did).is_empty();
        async move { found }
    })
    .await;
    let all = events(&log("old"));
    let e = with_id(&all, &did)[0];
    assert_eq!(e["responseStatus"]["code"], 403);
    assert_eq!(e["responseStatus"]["reason"], "Forbidden");
    assert_eq!(e["user"]["username"], "system:anonymous");
}

#[tokio::test]
async fn a_watch_logs_when_it_starts_and_when_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(
        &policy,
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  verbs: [watch]\n",
    )
    .unwrap();
    let log = dir.path().join("audit.log");
    let s = skewless_testkit::ServerProcess::start(
        Path::new(BIN),
        &pki,
        &Storage::Sqlite,
        &[
            &format!("--audit-policy-file={}", policy.display()),
            &format!("--audit-log-path={}", log.display()),
        ],
    )
    .await;
    let admin = s.client(&pki, Identity::Admin);
    let r = admin
        .get("/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1")
        .await;
    assert_eq!(r.status, 200);
    let id = r.headers["audit-id"].to_str().unwrap().to_owned();
    let mut stages = Vec::new();
    eventually(Duration::from_secs(5), "the watch's completion", || {
        stages = with_id(&events(&log), &id)
            .iter()
            .map(|e| e["stage"].as_str().unwrap().to_owned())
            .collect();
        let done = stages.iter().any(|s| s == "ResponseComplete");
        async move { done }
    })
    .await;
    assert_eq!(
        stages,
        ["RequestReceived", "ResponseStarted", "ResponseComplete"]
    );
}

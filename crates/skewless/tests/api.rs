//! `skewless serve` as a real process, driven over HTTPS: REST semantics,
//! authentication, and every kind of bad input (each answered with a
//! `metav1.Status` of the right code and reason, and nothing stored).

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use skewless_testkit::{Client, Identity, Pki, ServerProcess, Storage, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");

async fn server() -> (Pki, ServerProcess, Client) {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let client = server.client(&pki, Identity::Admin);
    (pki, server, client)
}

const CMS: &str = "/api/v1/namespaces/default/configmaps";

fn cm(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}})
}

/// Asserts a Status error with this code and reason.
fn assert_status(r: &skewless_testkit::Response, code: u16, reason: &str) -> Value {
    assert_eq!(r.status, code, "body: {}", r.text());
    let s = r.json();
    assert_eq!(s["kind"], "Status", "{s}");
    assert_eq!(s["status"], "Failure");
    assert_eq!(s["code"], code);
    assert_eq!(s["reason"], reason, "{s}");
    s
}

async fn count_configmaps(c: &Client) -> usize {
    c.get(CMS).await.json()["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn crud_and_optimistic_concurrency() {
    let (_pki, _s, c) = server().await;
    let r = c.post_json(CMS, &cm("one")).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    let rv = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!created["metadata"]["uid"].as_str().unwrap().is_empty());
    assert!(created["metadata"]["creationTimestamp"].is_string());

    let r = c.post_json(CMS, &cm("one")).await;
    assert_status(&r, 409, "AlreadyExists");

    let mut updated = created.clone();
    updated["data"]["a"] = json!("2");
    let r = c
        .request(
            "PUT",
            &format!("{CMS}/one"),
            &[],
            Some(serde_json::to_vec(&updated).unwrap()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let new_rv = r.json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_rv, rv);

    // The old resourceVersion no longer matches: 409 Conflict, nothing written.
    updated["data"]["a"] = json!("3");
    let r = c
        .request(
            "PUT",
            &format!("{CMS}/one"),
            &[],
            Some(serde_json::to_vec(&updated).unwrap()),
        )
        .await;
    let s = assert_status(&r, 409, "Conflict");
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .contains("the object has been modified")
    );
    assert_eq!(c.get(&format!("{CMS}/one")).await.json()["data"]["a"], "2");

    let r = c.request("DELETE", &format!("{CMS}/one"), &[], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "Success");
    let r = c.get(&format!("{CMS}/one")).await;
    let s = assert_status(&r, 404, "NotFound");
    assert_eq!(s["message"], "configmaps \"one\" not found");
}

#[tokio::test]
async fn malformed_bodies_are_400_and_store_nothing() {
    let (_pki, _s, c) = server().await;
    let r = c
        .request(
            "POST",
            CMS,
            &[],
            Some(b"{\"kind\": \"ConfigMap\", ".to_vec()),
        )
        .await;
    assert_status(&r, 400, "BadRequest");
    let r = c
        .request(
            "POST",
            CMS,
            &[("content-type", "application/yaml")],
            Some(b"kind: [unclosed".to_vec()),
        )
        .await;
    assert_status(&r, 400, "BadRequest");
    let r = c.request("POST", CMS, &[], Some(b"[1, 2]".to_vec())).await;
    assert_status(&r, 400, "BadRequest");
    let r = c
        .request(
            "POST",
            CMS,
            &[("content-type", "text/csv")],
            Some(b"a,b".to_vec()),
        )
        .await;
    assert_status(&r, 415, "UnsupportedMediaType");
    assert_eq!(count_configmaps(&c).await, 0);
}

#[tokio::test]
async fn missing_content_type_is_json_and_yaml_is_accepted() {
    let (_pki, _s, c) = server().await;
    // The Python client sends JSON without a Content-Type.
    let r = c
        .try_request(
            "POST",
            CMS,
            Some(&[]),
            Some(serde_json::to_vec(&cm("nocontenttype")).unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.text());
    let yaml = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fromyaml\ndata:\n  k: v\n";
    let r = c
        .request(
            "POST",
            CMS,
            &[("content-type", "application/yaml")],
            Some(yaml.to_vec()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["data"]["k"], "v");
}

#[tokio::test]
async fn invalid_names_are_422_with_the_field() {
    let (_pki, _s, c) = server().await;
    for name in ["../x", "UPPER", &"a".repeat(254), "with space", ""] {
        let r = c.post_json(CMS, &cm(name)).await;
        let s = assert_status(&r, 422, "Invalid");
        let causes = s["details"]["causes"].as_array().unwrap();
        assert!(
            causes.iter().any(|c| c["field"] == "metadata.name"),
            "name {name:?}: {s}"
        );
    }
    let mut bad_label = cm("badlabel");
    bad_label["metadata"]["labels"] = json!({"a/b/c": "x"});
    let s = assert_status(&c.post_json(CMS, &bad_label).await, 422, "Invalid");
    assert!(
        s["message"].as_str().unwrap().contains("metadata.labels"),
        "{s}"
    );
    assert_eq!(count_configmaps(&c).await, 0);
}

#[tokio::test]
async fn kind_or_version_not_matching_the_url_is_400() {
    let (_pki, _s, c) = server().await;
    let mut wrong_kind = cm("x");
    wrong_kind["kind"] = json!("Secret");
    assert_status(&c.post_json(CMS, &wrong_kind).await, 400, "BadRequest");
    let mut wrong_version = cm("x");
    wrong_version["apiVersion"] = json!("apps/v1");
    assert_status(&c.post_json(CMS, &wrong_version).await, 400, "BadRequest");
    let mut wrong_ns = cm("x");
    wrong_ns["metadata"]["namespace"] = json!("kube-system");
    assert_status(&c.post_json(CMS, &wrong_ns).await, 400, "BadRequest");
    assert_eq!(count_configmaps(&c).await, 0);
}

#[tokio::test]
async fn oversize_body_is_413() {
    let (_pki, _s, c) = server().await;
    let mut big = cm("big");
    big["data"]["a"] = json!("x".repeat(3 * 1024 * 1024 + 1));
    let r = c.post_json(CMS, &big).await;
    assert_status(&r, 413, "RequestEntityTooLarge");
    assert_eq!(count_configmaps(&c).await, 0);
}

#[tokio::test]
async fn unknown_paths_resources_and_verbs() {
    let (_pki, _s, c) = server().await;
    let s = assert_status(&c.get("/nonsense/path").await, 404, "NotFound");
    assert_eq!(
        s["message"],
        "the server could not find the requested resource"
    );
    assert_status(
        &c.get("/api/v1/namespaces/default/widgets").await,
        404,
        "NotFound",
    );
    assert_status(
        &c.get("/apis/nosuch.example.com/v1/things").await,
        404,
        "NotFound",
    );
    assert_status(
        &c.get("/api/v1/namespaces/default/configmaps/x/nosub").await,
        404,
        "NotFound",
    );
    // selfsubjectreviews only supports create.
    let r = c
        .get("/apis/authentication.k8s.io/v1/selfsubjectreviews")
        .await;
    assert_status(&r, 405, "MethodNotAllowed");
    let r = c
        .request("POST", "/version", &[], Some(b"{}".to_vec()))
        .await;
    assert_status(&r, 405, "MethodNotAllowed");
}

#[tokio::test]
async fn create_in_a_missing_namespace_is_404() {
    let (_pki, _s, c) = server().await;
    let r = c
        .post_json("/api/v1/namespaces/nope/configmaps", &cm("x"))
        .await;
    let s = assert_status(&r, 404, "NotFound");
    assert_eq!(s["message"], "namespaces \"nope\" not found");
}

#[tokio::test]
async fn anonymous_requests_reach_only_health_and_version() {
    let (pki, s, _c) = server().await;
    let anon = s.client(&pki, Identity::Anonymous);
    for path in [
        "/healthz",
        "/livez",
        "/readyz",
        "/version",
        "/version/",
        "/readyz?verbose",
    ] {
        assert_eq!(anon.get(path).await.status, 200, "{path}");
    }
    assert_eq!(anon.get("/version").await.json()["minor"], "36");
    assert!(
        anon.get("/readyz?verbose")
            .await
            .text()
            .contains("[+]ping ok")
    );
    // Anonymous requests are authorized like any other (upstream's
    // --anonymous-auth=true): the bootstrap policy lets them reach only
    // the public paths above.
    let s403 = assert_status(&anon.get("/api").await, 403, "Forbidden");
    assert_eq!(
        s403["message"],
        "forbidden: User \"system:anonymous\" cannot get path \"/api\""
    );
    for path in ["/apis", CMS, "/metrics"] {
        assert_status(&anon.get(path).await, 403, "Forbidden");
    }
    // A bearer token nobody issued is a failed login, not anonymous.
    let r = anon
        .request(
            "GET",
            "/version",
            &[("Authorization", "Bearer forged")],
            None,
        )
        .await;
    assert_status(&r, 401, "Unauthorized");
    let token = s.client(&pki, Identity::Token);
    assert_eq!(token.get(CMS).await.status, 200);
}

#[tokio::test]
async fn without_anonymous_auth_requests_without_credentials_get_401() {
    let pki = Pki::generate();
    let s = ServerProcess::start(
        Path::new(BIN),
        &pki,
        &Storage::Sqlite,
        &["--anonymous-auth=false"],
    )
    .await;
    let anon = s.client(&pki, Identity::Anonymous);
    for path in ["/version", "/api", CMS] {
        assert_status(&anon.get(path).await, 401, "Unauthorized");
    }
    let admin = s.client(&pki, Identity::Admin);
    assert_eq!(admin.get("/version").await.status, 200);
}

async fn whoami(c: &Client, headers: &[(&str, &str)]) -> Value {
    let body = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"});
    let r = c
        .request(
            "POST",
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            headers,
            Some(serde_json::to_vec(&body).unwrap()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["status"]["userInfo"].clone()
}

#[tokio::test]
async fn identity_headers_are_trusted_only_from_the_front_proxy() {
    let (pki, s, admin) = server().await;
    let forged = [
        ("X-Remote-User", "mallory"),
        ("X-Remote-Group", "system:masters"),
    ];

    let me = whoami(&admin, &forged).await;
    assert_eq!(me["username"], "admin");
    assert_eq!(
        me["groups"],
        json!(["system:masters", "system:authenticated"])
    );

    let token = s.client(&pki, Identity::Token);
    let me = whoami(&token, &forged).await;
    assert_eq!(me["username"], "token-user");
    assert_eq!(me["uid"], "1001");
    assert_eq!(
        me["groups"],
        json!(["team-a", "team-b", "system:authenticated"])
    );

    // Anonymous with forged headers gains nothing: still anonymous, and
    // the policy does not let anonymous users ask who they are.
    let anon = s.client(&pki, Identity::Anonymous);
    let r = anon
        .request(
            "POST",
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            &forged,
            Some(b"{}".to_vec()),
        )
        .await;
    let status = assert_status(&r, 403, "Forbidden");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("User \"system:anonymous\""),
        "{status}"
    );

    // A cluster-CA certificate with the front proxy's name cannot assert users.
    let lookalike = s.client(&pki, Identity::ClusterCertNamedLikeProxy);
    assert_eq!(
        whoami(&lookalike, &forged).await["username"],
        "front-proxy-client"
    );

    // The real front proxy can.
    let proxy = s.client(&pki, Identity::FrontProxy);
    let me = whoami(
        &proxy,
        &[
            ("X-Remote-User", "alice"),
            ("X-Remote-Group", "devs"),
            ("X-Remote-Extra-Scopes", "a"),
        ],
    )
    .await;
    assert_eq!(me["username"], "alice");
    assert_eq!(me["groups"], json!(["devs", "system:authenticated"]));
    assert_eq!(me["extra"]["scopes"], json!(["a"]));
}

#[tokio::test]
async fn selectors_pagination_and_dry_run() {
    let (_pki, _s, c) = server().await;
    for i in 0..5 {
        let mut o = cm(&format!("cm{i}"));
        o["metadata"]["labels"] =
            json!({"tier": if i % 2 == 0 { "even" } else { "odd" }, "n": i.to_string()});
        assert_eq!(c.post_json(CMS, &o).await.status, 201);
    }
    let names = |v: Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(
            c.get(&format!("{CMS}?labelSelector=tier%3Deven"))
                .await
                .json()
        ),
        ["cm0", "cm2", "cm4"]
    );
    assert_eq!(
        names(
            c.get(&format!("{CMS}?labelSelector=tier%20in%20(odd),n!%3D1"))
                .await
                .json()
        ),
        ["cm3"]
    );
    assert_eq!(
        names(
            c.get(&format!("{CMS}?fieldSelector=metadata.name%3Dcm2"))
                .await
                .json()
        ),
        ["cm2"]
    );
    assert_status(
        &c.get(&format!("{CMS}?labelSelector=a%20in%20")).await,
        400,
        "BadRequest",
    );

    // Pages of two, continuing at the first page's revision.
    let first = c.get(&format!("{CMS}?limit=2")).await.json();
    assert_eq!(names(first.clone()), ["cm0", "cm1"]);
    let token = first["metadata"]["continue"].as_str().unwrap().to_owned();
    assert_eq!(c.post_json(CMS, &cm("cm1a")).await.status, 201);
    let second = c
        .get(&format!("{CMS}?limit=2&continue={token}"))
        .await
        .json();
    assert_eq!(names(second.clone()), ["cm2", "cm3"]);
    let token = second["metadata"]["continue"].as_str().unwrap().to_owned();
    let third = c
        .get(&format!("{CMS}?limit=2&continue={token}"))
        .await
        .json();
    assert_eq!(names(third.clone()), ["cm4"]);
    assert!(third["metadata"].get("continue").is_none());
    assert_status(
        &c.get(&format!("{CMS}?limit=2&continue=garbage")).await,
        400,
        "BadRequest",
    );
    // Forged tokens: no revision, or a start outside the listed resource.
    for forged in [
        r#"{"rv":-5,"start":"x"}"#,
        r#"{"rv":5,"start":"/core/secrets/default/a"}"#,
    ] {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged);
        let r = c.get(&format!("{CMS}?limit=2&continue={token}")).await;
        assert_status(&r, 400, "BadRequest");
        let message = r.json()["message"].as_str().unwrap().to_owned();
        assert!(
            message.starts_with("invalid continue token: continue key is not valid"),
            "{forged}: {message}"
        );
    }

    // dryRun creates nothing.
    let r = c.post_json(&format!("{CMS}?dryRun=All"), &cm("dry")).await;
    assert_eq!(r.status, 201);
    assert_status(&c.get(&format!("{CMS}/dry")).await, 404, "NotFound");

    // generateName.
    let r = c
        .post_json(
            CMS,
            &json!({"metadata": {"generateName": "gen-"}, "data": {}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let name = r.json()["metadata"]["name"].as_str().unwrap().to_owned();
    assert!(name.starts_with("gen-") && name.len() == 9, "{name}");

    // deletecollection by label.
    let r = c
        .request(
            "DELETE",
            &format!("{CMS}?labelSelector=tier%3Dodd"),
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        names(c.get(CMS).await.json())
            .iter()
            .all(|n| n != "cm1" && n != "cm3")
    );
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    let (_pki, _s, c) = server().await;
    let mut o = cm("held");
    o["metadata"]["finalizers"] = json!(["example.com/hold"]);
    assert_eq!(c.post_json(CMS, &o).await.status, 201);
    let r = c.request("DELETE", &format!("{CMS}/held"), &[], None).await;
    assert_eq!(r.status, 200);
    let still = c.get(&format!("{CMS}/held")).await.json();
    assert!(still["metadata"]["deletionTimestamp"].is_string());
    let patch = json!({"metadata": {"finalizers": null}});
    let r = c
        .request(
            "PATCH",
            &format!("{CMS}/held"),
            &[("content-type", "application/merge-patch+json")],
            Some(serde_json::to_vec(&patch).unwrap()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_status(&c.get(&format!("{CMS}/held")).await, 404, "NotFound");
}

/// Empty `labels`/`annotations`/`finalizers`/`ownerReferences` are not
/// kept (upstream omits empty ObjectMeta fields): `kubectl diff`'s dry-run
/// patch sends `annotations: {}`, and an unchanged object showed as changed.
#[tokio::test]
async fn empty_metadata_maps_are_dropped_so_kubectl_diff_sees_no_change() {
    let (_pki, _s, c) = server().await;
    let mut body = cm("empty-meta");
    body["metadata"]["labels"] = json!({});
    body["metadata"]["annotations"] = json!({});
    body["metadata"]["finalizers"] = json!([]);
    body["metadata"]["ownerReferences"] = json!([]);
    let r = c.post_json(CMS, &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    for field in ["labels", "annotations", "finalizers", "ownerReferences"] {
        assert!(
            created["metadata"].get(field).is_none(),
            "{field}: {created}"
        );
    }
    let rv = created["metadata"]["resourceVersion"].clone();
    let path = format!("{CMS}/empty-meta");
    for dry_run in ["?dryRun=All", ""] {
        let r = c
            .request(
                "PATCH",
                &format!("{path}{dry_run}"),
                &[("content-type", "application/strategic-merge-patch+json")],
                Some(br#"{"metadata":{"annotations":{}}}"#.to_vec()),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let patched = r.json();
        assert!(
            patched["metadata"].get("annotations").is_none(),
            "{patched}"
        );
        // Nothing changed: nothing written.
        assert_eq!(patched["metadata"]["resourceVersion"], rv, "{patched}");
    }
}

#[tokio::test]
async fn status_subresource_and_generation() {
    let (_pki, _s, c) = server().await;
    let deploys = "/apis/apps/v1/namespaces/default/deployments";
    let d = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
        "status": {"replicas": 99},
    });
    let created = c.post_json(deploys, &d).await.json();
    assert_eq!(created["metadata"]["generation"], 1);
    assert!(
        created.get("status").is_none(),
        "status is dropped on create"
    );

    // Status writes change only status.
    let mut s = created.clone();
    s["status"] = json!({"replicas": 1, "readyReplicas": 1});
    s["spec"]["replicas"] = json!(5);
    let r = c
        .request(
            "PUT",
            &format!("{deploys}/web/status"),
            &[],
            Some(serde_json::to_vec(&s).unwrap()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let after = r.json();
    assert_eq!(after["status"]["readyReplicas"], 1);
    assert_eq!(after["spec"]["replicas"], 1);
    assert_eq!(after["metadata"]["generation"], 1);

    // Main writes ignore status and bump generation on spec changes.
    let mut m = after.clone();
    m["spec"]["replicas"] = json!(3);
    m["status"] = json!({"replicas": 0});
    let r = c
        .request(
            "PUT",
            &format!("{deploys}/web"),
            &[],
            Some(serde_json::to_vec(&m).unwrap()),
        )
        .await;
    let after = r.json();
    assert_eq!(after["spec"]["replicas"], 3);
    assert_eq!(after["status"]["readyReplicas"], 1);
    assert_eq!(after["metadata"]["generation"], 2);

    // Scale.
    let scale = c.get(&format!("{deploys}/web/scale")).await.json();
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["spec"]["replicas"], 3);
    assert_eq!(scale["status"]["selector"], "app=web");
}

#[tokio::test]
async fn watch_delivers_changes_in_order() {
    let (pki, s, c) = server().await;
    let list = c.get(CMS).await.json();
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let watcher = s.client(&pki, Identity::Admin);
    let mut events = watcher
        .stream_lines(&format!("{CMS}?watch=1&resourceVersion={rv}"))
        .await;
    let created = c.post_json(CMS, &cm("w")).await.json();
    let mut changed = created.clone();
    changed["data"]["a"] = json!("changed");
    c.request(
        "PUT",
        &format!("{CMS}/w"),
        &[],
        Some(serde_json::to_vec(&changed).unwrap()),
    )
    .await;
    c.request("DELETE", &format!("{CMS}/w"), &[], None).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        let e = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .unwrap()
            .unwrap();
        got.push((
            e["type"].as_str().unwrap().to_owned(),
            e["object"]["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse::<i64>()
                .unwrap(),
        ));
    }
    let kinds: Vec<_> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["ADDED", "MODIFIED", "DELETED"]);
    assert!(got.windows(2).all(|w| w[0].1 < w[1].1));

    // Without a resourceVersion a watch starts with the current objects.
    c.post_json(CMS, &cm("existing")).await;
    let mut events = watcher
        .stream_lines(&format!("{CMS}?watch=true&timeoutSeconds=2"))
        .await;
    let e = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e["type"], "ADDED");
    assert_eq!(e["object"]["metadata"]["name"], "existing");
    // timeoutSeconds ends the stream.
    assert!(
        tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn namespace_deletion_removes_its_contents() {
    let (_pki, _s, c) = server().await;
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}});
    assert_eq!(c.post_json("/api/v1/namespaces", &ns).await.status, 201);
    let in_ns = "/api/v1/namespaces/doomed/configmaps";
    assert_eq!(c.post_json(in_ns, &cm("a")).await.status, 201);
    let r = c
        .request("DELETE", "/api/v1/namespaces/doomed", &[], None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"]["phase"], "Terminating");
    // Creating content in a terminating namespace is forbidden.
    assert_status(&c.post_json(in_ns, &cm("b")).await, 403, "Forbidden");
    eventually(
        Duration::from_secs(20),
        "the namespace to go away",
        || async { c.get("/api/v1/namespaces/doomed").await.status == 404 },
    )
    .await;
    let r = c.get(&format!("{in_ns}/a")).await;
    assert_status(&r, 404, "NotFound");
}

#[tokio::test]
async fn discovery_etag_and_metrics() {
    let (_pki, _s, c) = server().await;
    let aggregated =
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
    let r = c
        .request("GET", "/apis", &[("accept", aggregated)], None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["kind"], "APIGroupDiscoveryList");
    assert_eq!(r.headers["vary"], "Accept");
    let etag = r.headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'));
    let r = c
        .request(
            "GET",
            "/apis",
            &[("accept", aggregated), ("if-none-match", &etag)],
            None,
        )
        .await;
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    let r = c.get("/apis").await;
    assert_eq!(r.json()["kind"], "APIGroupList");
    assert_eq!(c.get("/api").await.json()["kind"], "APIVersions");
    assert_eq!(
        c.get("/apis/apps/v1").await.json()["kind"],
        "APIResourceList"
    );
    assert_status(&c.get("/apis/apps/v9").await, 404, "NotFound");

    c.get(CMS).await;
    let metrics = c.get("/metrics").await.text();
    assert!(metrics.contains("apiserver_request_total{verb=\"LIST\",group=\"\",version=\"v1\",resource=\"configmaps\",subresource=\"\",code=\"200\"}"), "{metrics}");
    assert!(metrics.contains("apiserver_request_duration_seconds_bucket{verb=\"LIST\""));
}

#[tokio::test]
async fn sigterm_ends_watches_and_exits_cleanly() {
    let (pki, mut s, c) = server().await;
    let watcher = s.client(&pki, Identity::Admin);
    let mut events = watcher
        .stream_lines(&format!("{CMS}?watch=1&resourceVersion=1"))
        .await;
    c.post_json(CMS, &cm("x")).await;
    assert!(
        tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .unwrap()
            .is_some()
    );
    let status = s.terminate().await;
    assert!(status.success(), "exit status {status}");
    // The watch stream ended (no hang).
    assert!(
        tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn compacted_history_is_410_gone_and_bookmarks_arrive() {
    let pki = Pki::generate();
    let s = ServerProcess::start(
        Path::new(BIN),
        &pki,
        &Storage::Sqlite,
        &["--etcd-compaction-interval=500ms"],
    )
    .await;
    let c = s.client(&pki, Identity::Admin);
    let first = c.post_json(CMS, &cm("old")).await.json();
    let old_rv = first["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 0..3 {
        c.post_json(CMS, &cm(&format!("new{i}"))).await;
    }
    c.post_json(CMS, &cm("latest")).await;
    // A compaction tick (every 500 ms) makes the first revision history.
    let exact = format!("{CMS}?resourceVersion={old_rv}&resourceVersionMatch=Exact");
    eventually(
        Duration::from_secs(20),
        "the first revision to be compacted",
        || async { c.get(&exact).await.status == 410 },
    )
    .await;
    let r = c.get(&exact).await;
    assert_status(&r, 410, "Expired");

    let mut events = c
        .stream_lines(&format!("{CMS}?watch=1&resourceVersion={old_rv}"))
        .await;
    let e = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e["type"], "ERROR", "{e}");
    assert_eq!(e["object"]["code"], 410);
    assert_eq!(e["object"]["reason"], "Expired");

    // A fresh watch with bookmarks gets one within the bookmark interval.
    let rv = c.get(CMS).await.json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut events = c
        .stream_lines(&format!(
            "{CMS}?watch=1&resourceVersion={rv}&allowWatchBookmarks=true"
        ))
        .await;
    let e = tokio::time::timeout(Duration::from_secs(15), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e["type"], "BOOKMARK", "{e}");
    assert!(
        e["object"]["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            >= rv.parse::<i64>().unwrap()
    );
}

#[tokio::test]
async fn a_certificate_from_an_unknown_ca_is_refused_in_the_handshake() {
    let (pki, s, admin) = server().await;
    let stranger = s.client(&pki, Identity::Untrusted);
    // TLS 1.3 reports the rejected client certificate on the first read.
    match stranger.try_request("GET", CMS, None, None).await {
        Err(_) => {}
        Ok(r) => panic!(
            "an untrusted certificate got an HTTP answer: {} {}",
            r.status,
            r.text()
        ),
    }
    // The server is unaffected.
    assert_eq!(admin.get(CMS).await.status, 200);
}

#[tokio::test]
async fn bad_protobuf_bodies_are_refused_cleanly() {
    let (_pki, _s, c) = server().await;
    let pb = [("content-type", "application/vnd.kubernetes.protobuf")];
    // Not a protobuf envelope at all.
    let r = c
        .request("POST", CMS, &pb, Some(b"{\"kind\":\"ConfigMap\"}".to_vec()))
        .await;
    assert_status(&r, 400, "BadRequest");
    // The envelope magic followed by garbage.
    let r = c
        .request("POST", CMS, &pb, Some(b"k8s\x00\x0a\xff\xff\xff".to_vec()))
        .await;
    assert_status(&r, 400, "BadRequest");
    // A well-formed envelope naming a kind without a protobuf schema:
    // field 1 (typeMeta) = {apiVersion: "example.com/v1", kind: "Widget"}.
    let mut type_meta = vec![0x0a, 14];
    type_meta.extend_from_slice(b"example.com/v1");
    type_meta.extend_from_slice(&[0x12, 6]);
    type_meta.extend_from_slice(b"Widget");
    let mut body = b"k8s\x00".to_vec();
    body.push(0x0a);
    body.push(type_meta.len() as u8);
    body.extend_from_slice(&type_meta);
    let r = c.request("POST", CMS, &pb, Some(body)).await;
    assert_status(&r, 415, "UnsupportedMediaType");
    assert_eq!(count_configmaps(&c).await, 0);
}

#[tokio::test]
async fn delete_preconditions_and_options_are_honoured() {
    let (_pki, _s, c) = server().await;
    let created = c.post_json(CMS, &cm("guarded")).await.json();
    let uid = created["metadata"]["uid"].as_str().unwrap().to_owned();
    let body = |v: Value| Some(serde_json::to_vec(&v).unwrap());
    let r = c
        .request(
            "DELETE",
            &format!("{CMS}/guarded"),
            &[],
            body(json!({"preconditions": {"uid": "not-the-uid"}})),
        )
        .await;
    assert_status(&r, 409, "Conflict");
    let r = c
        .request(
            "DELETE",
            &format!("{CMS}/guarded"),
            &[],
            body(json!({"preconditions": {"resourceVersion": "1"}})),
        )
        .await;
    assert_status(&r, 409, "Conflict");
    let r = c
        .request(
            "DELETE",
            &format!("{CMS}/guarded"),
            &[],
            body(json!({"propagationPolicy": "Sideways"})),
        )
        .await;
    assert_status(&r, 400, "BadRequest");
    let r = c
        .request(
            "DELETE",
            &format!("{CMS}/guarded"),
            &[],
            body(json!({"dryRun": ["All"]})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        c.get(&format!("{CMS}/guarded")).await.status,
        200,
        "dry run deleted nothing"
    );
    let r = c
        .request(
            "DELETE",
            &format!("{CMS}/guarded"),
            &[],
            body(json!({"preconditions": {"uid": uid}, "propagationPolicy": "Foreground"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_status(&c.get(&format!("{CMS}/guarded")).await, 404, "NotFound");
}

/// Issue 15: DELETE answers what kube-apiserver's registry answers per
/// resource: the deleted object for pods and services (their storage sets
/// `ReturnDeletedObject`), a `Status` of `Success` for ConfigMaps.
#[tokio::test]
async fn delete_answers_the_object_or_a_status_per_resource() {
    let (_pki, _s, c) = server().await;
    let pods = "/api/v1/namespaces/default/pods";
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
    assert_eq!(c.post_json(pods, &pod).await.status, 201);
    let svcs = "/api/v1/namespaces/default/services";
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80}]}});
    assert_eq!(c.post_json(svcs, &svc).await.status, 201);
    assert_eq!(c.post_json(CMS, &cm("gone")).await.status, 201);

    for (path, kind) in [
        (format!("{pods}/p"), "Pod"),
        (format!("{svcs}/s"), "Service"),
    ] {
        let r = c.request("DELETE", &path, &[], None).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let body = r.json();
        assert_eq!(body["kind"], kind, "{body}");
        assert_eq!(body["apiVersion"], "v1");
        assert_eq!(c.get(&path).await.status, 404);
    }
    let r = c.request("DELETE", &format!("{CMS}/gone"), &[], None).await;
    assert_eq!(r.status, 200);
    let s = r.json();
    assert_eq!(s["kind"], "Status", "{s}");
    assert_eq!(s["status"], "Success");
    assert_eq!(s["details"]["name"], "gone");
    assert_eq!(s["details"]["kind"], "configmaps");
}

const POM: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
const POML: &str = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";

/// Issue 15: `as=PartialObjectMetadata[List]` answers metadata only, for
/// get, list and watch, in `v1` and `v1beta1`; a form that does not fit the
/// request, or a conversion nobody serves, is a 406.
#[tokio::test]
async fn metadata_only_reads() {
    let (_pki, _s, c) = server().await;
    let mut body = cm("meta");
    body["metadata"]["labels"] = json!({"app": "x"});
    assert_eq!(c.post_json(CMS, &body).await.status, 201);
    let get = |accept: &'static str| {
        let c = c.clone();
        async move {
            c.request("GET", &format!("{CMS}/meta"), &[("accept", accept)], None)
                .await
        }
    };

    let r = get(POM).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let partial = r.json();
    assert_eq!(partial["kind"], "PartialObjectMetadata");
    assert_eq!(partial["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(partial["metadata"]["name"], "meta");
    assert_eq!(partial["metadata"]["labels"]["app"], "x");
    assert!(partial["metadata"]["resourceVersion"].is_string());
    assert!(partial.get("data").is_none(), "{partial}");
    let beta = get("application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1")
        .await
        .json();
    assert_eq!(beta["apiVersion"], "meta.k8s.io/v1beta1");
    // client-go's metadata client: protobuf first, then JSON, then plain.
    let r = get("application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json").await;
    assert_eq!(r.json()["kind"], "PartialObjectMetadata");
    // An unserved conversion falls back to the next clause, or is a 406.
    let r =
        get("application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v2,application/json").await;
    assert_eq!(r.json()["kind"], "ConfigMap");
    assert_status(
        &get("application/json;as=Bogus;g=meta.k8s.io;v=v1").await,
        406,
        "NotAcceptable",
    );
    // The list form of one object is a 406, as upstream.
    assert_status(&get(POML).await, 406, "NotAcceptable");

    let r = c.request("GET", CMS, &[("accept", POML)], None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let list = r.json();
    assert_eq!(list["kind"], "PartialObjectMetadataList");
    assert_eq!(list["apiVersion"], "meta.k8s.io/v1");
    assert!(list["metadata"]["resourceVersion"].is_string());
    let item = &list["items"][0];
    assert_eq!(item["kind"], "PartialObjectMetadata");
    assert_eq!(item["metadata"]["name"], "meta");
    assert!(item.get("data").is_none(), "{item}");
    let r = c.request("GET", CMS, &[("accept", POM)], None).await;
    assert_status(&r, 406, "NotAcceptable");

    // A watch sends PartialObjectMetadata objects.
    let r = c
        .request(
            "GET",
            &format!("{CMS}?watch=true&timeoutSeconds=1"),
            &[("accept", POM)],
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let events: Vec<Value> = r
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!events.is_empty());
    for e in &events {
        assert_eq!(e["type"], "ADDED");
        assert_eq!(e["object"]["kind"], "PartialObjectMetadata", "{e}");
        assert!(e["object"].get("data").is_none(), "{e}");
    }
}

/// Issue 15: JSON bodies end with `\n` as upstream's encoder writes them:
/// objects, lists, Status errors, legacy and aggregated discovery; `/version`
/// is written as upstream's raw JSON (indented, no newline).
#[tokio::test]
async fn json_bodies_end_with_a_newline() {
    let (_pki, _s, c) = server().await;
    assert_eq!(c.post_json(CMS, &cm("nl")).await.status, 201);
    let aggregated =
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
    for (path, accept, status) in [
        (format!("{CMS}/nl"), "application/json", 200),
        (CMS.to_owned(), "application/json", 200),
        (format!("{CMS}/missing"), "application/json", 404),
        ("/api/v1".to_owned(), "application/json", 200),
        ("/apis".to_owned(), "application/json", 200),
        ("/apis/apps".to_owned(), "application/json", 200),
        ("/apis".to_owned(), aggregated, 200),
        (format!("{CMS}/nl"), POM, 200),
    ] {
        let r = c.request("GET", &path, &[("accept", accept)], None).await;
        assert_eq!(r.status, status, "{path}");
        assert!(r.body.ends_with(b"}\n"), "{path} {accept}: {:?}", r.text());
        assert!(!r.body[..r.body.len() - 1].contains(&b'\n'), "{path}");
    }
    let r = c.request("DELETE", &format!("{CMS}/nl"), &[], None).await;
    assert!(r.body.ends_with(b"}\n"), "{}", r.text());
    let version = c.get("/version").await;
    assert!(version.body.ends_with(b"}"), "{}", version.text());
    assert!(
        version.text().contains("\n  \"major\""),
        "{}",
        version.text()
    );
}

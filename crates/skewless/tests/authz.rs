//! Authorization as users meet it: RBAC on real servers (SQLite and etcd),
//! on both hops of the Mixed Version Proxy, impersonation, escalation
//! prevention, the servers' identity leases, and what `kubectl auth`
//! reports against what requests actually get.
//!
//! Users other than the admin are asserted through the front proxy
//! (`X-Remote-User`), as an authenticating proxy would.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use skewless_testkit::{
    Client, Identity, Kubectl, Pki, ServerProcess, Storage, etcd_endpoints, eventually,
};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");
const RBAC: &str = "/apis/rbac.authorization.k8s.io/v1";
const MAPS: &str = "/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies";

/// Requests as `user` through the front proxy.
struct As<'a> {
    proxy: &'a Client,
    user: &'a str,
}

impl As<'_> {
    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> skewless_testkit::Response {
        self.proxy
            .request(
                method,
                path,
                &[("X-Remote-User", self.user)],
                body.map(|b| serde_json::to_vec(b).unwrap()),
            )
            .await
    }

    async fn get(&self, path: &str) -> skewless_testkit::Response {
        self.send("GET", path, None).await
    }
}

fn assert_forbidden(r: &skewless_testkit::Response, what: &str) -> String {
    assert_eq!(r.status, 403, "{what}: {}", r.text());
    let s = r.json();
    assert_eq!(s["kind"], "Status", "{what}");
    assert_eq!(s["reason"], "Forbidden", "{what}");
    s["message"].as_str().unwrap().to_owned()
}

async fn create(admin: &Client, path: &str, body: Value) {
    let r = admin.post_json(path, &body).await;
    assert_eq!(r.status, 201, "POST {path}: {}", r.text());
}

/// A ClusterRole with `rules`, bound cluster-wide to `user`.
async fn grant(admin: &Client, role: &str, rules: Value, binding: &str, user: &str) {
    create(
        admin,
        &format!("{RBAC}/clusterroles"),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": role},
            "rules": rules,
        }),
    )
    .await;
    create(
        admin,
        &format!("{RBAC}/clusterrolebindings"),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": binding},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        }),
    )
    .await;
}

fn role_binding(ns: &str, name: &str, cluster_role: &str, user: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    })
}

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

/// Waits until `user`'s request answers other than 403 (the server's
/// policy caught up with a new binding).
async fn until_allowed(who: &As<'_>, path: &str) {
    eventually(
        Duration::from_secs(10),
        "the binding takes effect",
        || async { who.get(path).await.status != 403 },
    )
    .await;
}

async fn view_in_one_namespace(storage: Storage) {
    let pki = Pki::generate();
    let s = ServerProcess::start(Path::new(BIN), &pki, &storage, &[]).await;
    let admin = s.client(&pki, Identity::Admin);
    let proxy = s.client(&pki, Identity::FrontProxy);
    create(&admin, "/api/v1/namespaces", namespace("team")).await;
    create(
        &admin,
        "/api/v1/namespaces/team/configmaps",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
    )
    .await;
    create(
        &admin,
        &format!("{RBAC}/namespaces/team/rolebindings"),
        role_binding("team", "viewer-view", "view", "viewer"),
    )
    .await;
    let viewer = As {
        proxy: &proxy,
        user: "viewer",
    };
    until_allowed(&viewer, "/api/v1/namespaces/team/configmaps").await;
    let r = viewer.get("/api/v1/namespaces/team/configmaps").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        viewer
            .get("/api/v1/namespaces/team/configmaps/c")
            .await
            .status,
        200
    );
    // Not in another namespace, not Secrets (view excludes them), not
    // writes, not cluster-scoped resources.
    let message = assert_forbidden(
        &viewer.get("/api/v1/namespaces/default/configmaps").await,
        "other namespace",
    );
    assert_eq!(
        message,
        "configmaps is forbidden: User \"viewer\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"default\""
    );
    assert_forbidden(
        &viewer.get("/api/v1/namespaces/team/secrets").await,
        "secrets",
    );
    assert_forbidden(
        &viewer
            .send(
                "POST",
                "/api/v1/namespaces/team/configmaps",
                Some(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d"}})),
            )
            .await,
        "create",
    );
    assert_forbidden(&viewer.get("/api/v1/namespaces").await, "namespaces");
    assert_forbidden(
        &viewer.send("DELETE", "/api/v1/namespaces/team", None).await,
        "delete namespace",
    );
    assert_eq!(
        admin.get("/api/v1/namespaces/team/configmaps").await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing was written"
    );
    // Discovery and access reviews are open to every authenticated user.
    assert_eq!(viewer.get("/api").await.status, 200);
    let review = json!({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"namespace": "team", "verb": "list", "resource": "configmaps"}},
    });
    let r = viewer
        .send(
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            Some(&review),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["status"]["allowed"], true);
    let mut review = review;
    review["spec"]["resourceAttributes"]["resource"] = json!("secrets");
    let r = viewer
        .send(
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            Some(&review),
        )
        .await;
    assert_eq!(r.json()["status"]["allowed"], false);
}

#[tokio::test]
async fn a_viewer_in_one_namespace_reads_there_and_nothing_else_sqlite() {
    view_in_one_namespace(Storage::Sqlite).await;
}

#[tokio::test]
async fn a_viewer_in_one_namespace_reads_there_and_nothing_else_etcd() {
    let (endpoints, _cluster) = etcd_endpoints().await;
    view_in_one_namespace(Storage::Etcd(endpoints)).await;
}

#[tokio::test]
async fn kubectl_auth_agrees_with_what_requests_get() {
    let pki = Pki::generate();
    let s = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let admin = s.client(&pki, Identity::Admin);
    create(&admin, "/api/v1/namespaces", namespace("team")).await;
    create(
        &admin,
        &format!("{RBAC}/namespaces/team/rolebindings"),
        role_binding("team", "viewer-view", "view", "viewer"),
    )
    .await;
    let proxy = s.client(&pki, Identity::FrontProxy);
    let viewer = As {
        proxy: &proxy,
        user: "viewer",
    };
    until_allowed(&viewer, "/api/v1/namespaces/team/configmaps").await;
    let kubectl = Kubectl::new(&s.url, &pki);
    let can = |args: &[&str]| {
        let mut all = vec!["auth", "can-i"];
        all.extend(args);
        all.extend(["--as", "viewer"]);
        let out = kubectl.run(&all, None);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(can(&["list", "configmaps", "-n", "team"]), "yes");
    assert_eq!(can(&["list", "configmaps", "-n", "default"]), "no");
    assert_eq!(can(&["get", "secrets", "-n", "team"]), "no");
    assert_eq!(can(&["create", "deployments.apps", "-n", "team"]), "no");
    let list = can(&["--list", "-n", "team"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("configmaps ") && l.contains("[get list watch]")),
        "{list}"
    );
    assert!(!list.lines().any(|l| l.starts_with("secrets ")), "{list}");
    assert!(
        list.lines()
            .any(|l| l.starts_with("selfsubjectaccessreviews.authorization.k8s.io")),
        "{list}"
    );
    // The real requests agree.
    assert_eq!(
        viewer
            .get("/api/v1/namespaces/team/configmaps")
            .await
            .status,
        200
    );
    assert_eq!(
        viewer.get("/api/v1/namespaces/team/secrets").await.status,
        403
    );
    // whoami as the impersonated user.
    let who = kubectl.run(&["auth", "whoami", "--as", "viewer", "-o", "json"], None);
    let who: Value = serde_json::from_slice(&who.stdout).unwrap();
    assert_eq!(who["status"]["userInfo"]["username"], "viewer");
}

#[tokio::test]
async fn impersonation_needs_the_impersonate_verb() {
    let pki = Pki::generate();
    let s = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let admin = s.client(&pki, Identity::Admin);
    let proxy = s.client(&pki, Identity::FrontProxy);
    // `support` may impersonate user `viewer` only.
    grant(
        &admin,
        "impersonate-viewer",
        json!([{"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"], "resourceNames": ["viewer"]}]),
        "support-impersonates",
        "support",
    )
    .await;
    let whoami = |user: &'static str, headers: Vec<(&'static str, &'static str)>| {
        let proxy = &proxy;
        async move {
            let mut all = vec![("X-Remote-User", user)];
            all.extend(headers);
            let body =
                json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"});
            proxy
                .request(
                    "POST",
                    "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                    &all,
                    Some(serde_json::to_vec(&body).unwrap()),
                )
                .await
        }
    };
    eventually(
        Duration::from_secs(10),
        "the binding takes effect",
        || async {
            whoami("support", vec![("Impersonate-User", "viewer")])
                .await
                .status
                == 201
        },
    )
    .await;
    let r = whoami("support", vec![("Impersonate-User", "viewer")]).await;
    let info = &r.json()["status"]["userInfo"];
    assert_eq!(info["username"], "viewer");
    assert_eq!(info["groups"], json!(["system:authenticated"]));
    // Not another user, not a group.
    let message = assert_forbidden(
        &whoami("support", vec![("Impersonate-User", "admin")]).await,
        "impersonating admin",
    );
    assert_eq!(
        message,
        "users \"admin\" is forbidden: User \"support\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
    );
    assert_forbidden(
        &whoami(
            "support",
            vec![
                ("Impersonate-User", "viewer"),
                ("Impersonate-Group", "system:masters"),
            ],
        )
        .await,
        "impersonating system:masters",
    );
    // A user without the verb gets nothing; system:masters may.
    assert_forbidden(
        &whoami("viewer", vec![("Impersonate-User", "support")]).await,
        "viewer impersonating",
    );
    let r = admin
        .request(
            "GET",
            "/api/v1/namespaces/default/configmaps",
            &[("Impersonate-User", "viewer")],
            None,
        )
        .await;
    assert_forbidden(&r, "admin acting as viewer is viewer");
}

#[tokio::test]
async fn ordinary_users_cannot_escalate_or_remove_the_servers_identity_leases_sqlite() {
    escalation_and_identity_leases(Storage::Sqlite).await;
}

#[tokio::test]
async fn ordinary_users_cannot_escalate_or_remove_the_servers_identity_leases_etcd() {
    let (endpoints, _cluster) = etcd_endpoints().await;
    escalation_and_identity_leases(Storage::Etcd(endpoints)).await;
}

async fn escalation_and_identity_leases(storage: Storage) {
    let pki = Pki::generate();
    let s = ServerProcess::start(
        Path::new(BIN),
        &pki,
        &storage,
        &["--apiserver-id=apiserver-test"],
    )
    .await;
    let admin = s.client(&pki, Identity::Admin);
    let proxy = s.client(&pki, Identity::FrontProxy);
    create(&admin, "/api/v1/namespaces", namespace("team")).await;
    // `lead` may manage roles and bindings in `team` and read configmaps,
    // nothing more.
    create(
        &admin,
        &format!("{RBAC}/namespaces/team/roles"),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "lead", "namespace": "team"},
            "rules": [
                // Not `*`: that includes `escalate` and `bind`.
                {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"], "verbs": ["get", "list", "create", "update", "delete"]},
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]},
            ],
        }),
    )
    .await;
    create(
        &admin,
        &format!("{RBAC}/namespaces/team/rolebindings"),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "lead", "namespace": "team"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "lead"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "lead"}],
        }),
    )
    .await;
    let lead = As {
        proxy: &proxy,
        user: "lead",
    };
    until_allowed(&lead, &format!("{RBAC}/namespaces/team/roles")).await;
    // A role within what lead holds: fine.
    let r = lead
        .send(
            "POST",
            &format!("{RBAC}/namespaces/team/roles"),
            Some(&json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": "reader"},
                "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    // A role granting Secrets: escalation, refused with upstream's words.
    let r = lead
        .send(
            "POST",
            &format!("{RBAC}/namespaces/team/roles"),
            Some(&json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": "secrets"},
                "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
            })),
        )
        .await;
    let message = assert_forbidden(&r, "escalating role");
    assert!(
        message
            .starts_with("roles.rbac.authorization.k8s.io \"secrets\" is forbidden: user \"lead\""),
        "{message}"
    );
    assert!(
        message.contains("is attempting to grant RBAC permissions not currently held"),
        "{message}"
    );
    assert!(message.contains("Resources:[\"secrets\"]"), "{message}");
    // Binding oneself to `admin` (more than lead holds): refused.
    let r = lead
        .send(
            "POST",
            &format!("{RBAC}/namespaces/team/rolebindings"),
            Some(&role_binding("team", "grab-admin", "admin", "lead")),
        )
        .await;
    assert_forbidden(&r, "escalating binding");
    assert_eq!(
        admin
            .get(&format!("{RBAC}/namespaces/team/rolebindings/grab-admin"))
            .await
            .status,
        404
    );

    // The servers' identity lease: even an RBAC cluster-admin (the token
    // user) cannot delete or rewrite it; system:masters can read it.
    let lease = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/apiserver-test";
    eventually(Duration::from_secs(10), "the identity lease", || async {
        admin.get(lease).await.status == 200
    })
    .await;
    let token = s.client(&pki, Identity::Token);
    assert_eq!(token.get(lease).await.status, 200);
    let message = assert_forbidden(
        &token.request("DELETE", lease, &[], None).await,
        "deleting an identity lease",
    );
    assert!(message.contains("identity leases"), "{message}");
    let r = token
        .request(
            "PATCH",
            lease,
            &[("Content-Type", "application/merge-patch+json")],
            Some(br#"{"metadata":{"labels":{"apiserver.kubernetes.io/identity":null}}}"#.to_vec()),
        )
        .await;
    assert_forbidden(&r, "unlabelling an identity lease");
    let r = token
        .request(
            "DELETE",
            "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases",
            &[],
            None,
        )
        .await;
    assert_forbidden(&r, "deleting all leases");
    assert_eq!(
        admin.get(lease).await.status,
        200,
        "the lease is still there"
    );
}

#[tokio::test]
async fn both_hops_authorize_a_proxied_request_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    both_hops(Storage::SharedSqlite(dir.path().to_path_buf())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_hops_authorize_a_proxied_request_etcd() {
    let (endpoints, _cluster) = etcd_endpoints().await;
    // One prefix for the whole control plane.
    let prefix = format!("/skewless-authz-{}", std::process::id());
    both_hops(Storage::EtcdPrefix(endpoints, prefix)).await;
}

async fn both_hops(storage: Storage) {
    let pki = Pki::generate();
    let new =
        skewless_testkit::start_peer_at(Path::new(BIN), &pki, &storage, "server-136", "1.36", &[])
            .await;
    let old =
        skewless_testkit::start_peer_at(Path::new(BIN), &pki, &storage, "server-135", "1.35", &[])
            .await;
    let admin = old.client(&pki, Identity::Admin);
    grant(
        &admin,
        "map-reader",
        json!([{"apiGroups": ["admissionregistration.k8s.io"], "resources": ["mutatingadmissionpolicies"], "verbs": ["get", "list"]}]),
        "reader",
        "reader",
    )
    .await;
    let proxy = old.client(&pki, Identity::FrontProxy);
    let reader = As {
        proxy: &proxy,
        user: "reader",
    };
    let other = As {
        proxy: &proxy,
        user: "other",
    };
    // Proxied (1.35 does not serve MAPs) and allowed on both hops.
    eventually(
        Duration::from_secs(15),
        "reader lists MAPs via the peer",
        || async { reader.get(MAPS).await.status == 200 },
    )
    .await;
    // Denied at the first hop: the answer comes even while the peer is
    // stopped, so the peer was never asked.
    new.hang();
    let started = std::time::Instant::now();
    let message = assert_forbidden(&other.get(MAPS).await, "other, first hop");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(message.contains("User \"other\" cannot list resource \"mutatingadmissionpolicies\""));
    let r = other
        .send(
            "POST",
            MAPS,
            Some(&json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicy", "metadata": {"name": "m"}})),
        )
        .await;
    assert_forbidden(&r, "other creating, first hop");
    new.resume();
    // Allowed here, denied by the peer's own policy: a third server at 1.36
    // that allows nobody but system:masters; with the 1.36 server stopped,
    // it is the only one that serves MAPs.
    let strict = skewless_testkit::start_peer_at(
        Path::new(BIN),
        &pki,
        &storage,
        "server-136-strict",
        "1.36",
        &["--authorization-mode=AlwaysDeny"],
    )
    .await;
    let mut new = new;
    new.kill().await;
    // `writer` may create MAPs on the 1.35 server's policy (shared
    // storage: the same RBAC objects); only the strict peer refuses.
    grant(
        &admin,
        "map-writer",
        json!([{"apiGroups": ["admissionregistration.k8s.io"], "resources": ["mutatingadmissionpolicies"], "verbs": ["*"]}]),
        "writer",
        "writer",
    )
    .await;
    let writer = As {
        proxy: &proxy,
        user: "writer",
    };
    let map = json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicy",
        "metadata": {"name": "m"},
        "spec": {"mutations": [], "reinvocationPolicy": "Never"},
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let last = loop {
        let r = writer.send("POST", MAPS, Some(&map)).await;
        if r.status == 403 || std::time::Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let message = assert_forbidden(&last, "writer, denied by the peer");
    assert!(message.contains("User \"writer\""), "{message}");
    let strict_admin = strict.client(&pki, Identity::Admin);
    assert_eq!(
        strict_admin.get(&format!("{MAPS}/m")).await.status,
        404,
        "nothing was written"
    );
}

//! `skewless-bench rbac`: what RBAC costs a GET when the policy is large.
//!
//! One server (embedded SQLite) gets 1,000 ClusterRoles and 1,000
//! RoleBindings (each binding another user to another role, in namespace
//! `bench`), one of which lets the token user read ConfigMaps there. Then,
//! in alternating rounds on the same server, the same GET is sent by the
//! admin (`system:masters`: allowed before RBAC is asked) and by the token
//! user (every request decided by RBAC: the user's and its three groups'
//! bindings looked up, their rules matched). The difference in server CPU
//! per request is what authorization costs; reported as a share of the
//! admin's GET.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http::Method;
use serde_json::json;
use skewless_testkit::{Pki, ServerProcess, Storage, TOKEN, TOKEN_USER, TOKEN_USER_BINDING};

use crate::client::{Connection, Endpoint, Protocol};
use crate::measure::{Processes, Report, drive};

#[derive(Debug, clap::Args)]
pub struct RbacArgs {
    /// Roles and bindings in the policy (each).
    #[arg(long, default_value_t = 1000)]
    pub objects: usize,
    /// Alternating rounds (admin, then RBAC user) to take the median of.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// GETs per round and identity.
    #[arg(long, default_value_t = 20_000)]
    pub requests: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// The `skewless` binary (default: target/release/skewless).
    #[arg(long)]
    pub binary: Option<PathBuf>,
}

const NS: &str = "bench";
const RBAC: &str = "/apis/rbac.authorization.k8s.io/v1";

fn json_body(v: &serde_json::Value) -> Option<Bytes> {
    Some(Bytes::from(serde_json::to_vec(v).unwrap_or_default()))
}

async fn create(conn: &mut Connection, path: &str, v: &serde_json::Value) -> anyhow::Result<()> {
    conn.expect(&Method::POST, path, json_body(v), 201)
        .await
        .map(drop)
}

/// The large policy: `objects` ClusterRoles with a few rules each, and as
/// many RoleBindings in `bench` binding user `user-<i>` to role `role-<i>`;
/// binding `objects / 2` instead names the token user.
async fn fill(conn: &mut Connection, objects: usize) -> anyhow::Result<()> {
    create(
        conn,
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
    )
    .await?;
    create(
        conn,
        &format!("/api/v1/namespaces/{NS}/configmaps"),
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}),
    )
    .await?;
    // The token user is cluster-admin by the test kit's binding: remove it,
    // so only the large policy decides.
    conn.expect(
        &Method::DELETE,
        &format!("{RBAC}/clusterrolebindings/{TOKEN_USER_BINDING}"),
        None,
        200,
    )
    .await?;
    for i in 0..objects {
        create(
            conn,
            &format!("{RBAC}/clusterroles"),
            &json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": format!("role-{i}")},
                "rules": [
                    {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": ["get", "list", "watch"]},
                    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": [format!("s-{i}")]},
                    {"apiGroups": [""], "resources": ["configmaps", "pods"], "verbs": ["get", "list"]},
                ],
            }),
        )
        .await?;
        let user = if i == objects / 2 {
            TOKEN_USER.to_owned()
        } else {
            format!("user-{i}")
        };
        create(
            conn,
            &format!("{RBAC}/namespaces/{NS}/rolebindings"),
            &json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": format!("binding-{i}")},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": format!("role-{i}")},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
            }),
        )
        .await?;
    }
    Ok(())
}

pub async fn run(args: RbacArgs) -> anyhow::Result<()> {
    let binary = args
        .binary
        .clone()
        .unwrap_or_else(|| skewless_testkit::workspace_root().join("target/release/skewless"));
    anyhow::ensure!(
        binary.exists(),
        "{} does not exist: build it with `cargo build --release -p skewless`",
        binary.display()
    );
    let pki = Pki::generate();
    let server = ServerProcess::start_with_log(&binary, &pki, &Storage::Sqlite, &[], "info").await;
    let pid = server.pid().context("the server is not running")?;
    let admin = Endpoint::new(&server.url, &pki, Protocol::H2)?;
    let user = Endpoint::with_token(&server.url, &pki, Protocol::H2, TOKEN)?;
    let mut setup = admin.connect(1).await?;
    let conn = setup.first_mut().context("no connection")?;
    fill(conn, args.objects).await?;
    let path = format!("/api/v1/namespaces/{NS}/configmaps/c");
    // The policy is rebuilt from a watch: wait until the user is allowed.
    let mut users = user.connect(args.clients).await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let r = users[0].send(&Method::GET, &path, None).await?;
        if r.status == 200 {
            break;
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the token user is still refused ({})",
            r.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut admins = admin.connect(args.clients).await?;
    let processes = Processes {
        server: pid,
        storage: None,
    };
    let mut report = Report::new(format!(
        "GET of one ConfigMap, {} clients, policy of {} ClusterRoles and {} RoleBindings",
        args.clients, args.objects, args.objects
    ));
    let get = async |c: &mut Connection, _i: usize| {
        c.expect(&Method::GET, &path, None, 200).await.map(drop)
    };
    let mut per_request = (Vec::new(), Vec::new());
    for _ in 0..args.rounds {
        let a = drive(&mut admins, args.clients, args.requests, processes, get).await?;
        let u = drive(&mut users, args.clients, args.requests, processes, get).await?;
        per_request
            .0
            .push(a.server_cpu.as_secs_f64() / a.ops as f64);
        per_request
            .1
            .push(u.server_cpu.as_secs_f64() / u.ops as f64);
        report.record("admin (system:masters, RBAC not asked)", &a);
        report.record("token user (decided by RBAC)", &u);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let (a, u) = (median(&mut per_request.0), median(&mut per_request.1));
    println!("{}", report.markdown());
    println!(
        "server CPU per GET, median of {} rounds: admin {:.1} µs, RBAC user {:.1} µs: RBAC adds {:+.1}% of a GET",
        args.rounds,
        a * 1e6,
        u * 1e6,
        (u - a) / a * 100.0
    );
    Ok(())
}

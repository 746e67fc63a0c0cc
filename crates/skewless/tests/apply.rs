//! Server-side apply and managedFields against a real `skewless serve`,
//! with real clients: kubectl (`apply --server-side`, create, patch,
//! replace), kube-rs `Patch::Apply` and the Python client.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use serde_json::{Value, json};
use skewless_testkit::{Kubectl, Pki, ServerProcess, Storage};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");

fn get_json(k: &Kubectl, args: &[&str]) -> Value {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json", "--show-managed-fields"]);
    serde_json::from_str(&k.ok(&all)).unwrap()
}

/// `(manager, operation)` of each managedFields entry, in order.
fn managers(obj: &Value) -> Vec<(String, String)> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["manager"].as_str().unwrap_or("").to_owned(),
                        e["operation"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(m, o)| ((*m).to_owned(), (*o).to_owned()))
        .collect()
}

const CM_A: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  key: a\n  extra: x\n";
const CM_B: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  key: b\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_server_side_apply_owns_conflicts_forces_and_prunes() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let k = Kubectl::new(&server.url, &pki);

    let out = k.ok_with(&["apply", "--server-side", "-f", "-"], Some(CM_A));
    assert!(out.contains("configmap/ssa serverside-applied"), "{out}");
    let first = get_json(&k, &["configmap", "ssa"]);
    assert_eq!(managers(&first), pairs(&[("kubectl", "Apply")]));
    assert_eq!(
        first["metadata"]["managedFields"][0]["fieldsV1"],
        json!({"f:data": {"f:extra": {}, "f:key": {}}})
    );
    assert_eq!(first["metadata"]["managedFields"][0]["apiVersion"], "v1");
    assert_eq!(
        first["metadata"]["managedFields"][0]["fieldsType"],
        "FieldsV1"
    );

    // The same configuration again changes nothing.
    let out = k.ok_with(&["apply", "--server-side", "-f", "-"], Some(CM_A));
    assert!(out.contains("configmap/ssa serverside-applied"), "{out}");
    let again = get_json(&k, &["configmap", "ssa"]);
    assert_eq!(
        again["metadata"]["resourceVersion"],
        first["metadata"]["resourceVersion"]
    );

    // Another manager setting the same field differently conflicts.
    let err = k.fails(
        &["apply", "--server-side", "--field-manager=other", "-f", "-"],
        Some(CM_B),
    );
    assert!(
        err.contains("Apply failed with 1 conflict: conflict with \"kubectl\": .data.key"),
        "{err}"
    );

    // Forced, it takes the field over; the first manager keeps the rest.
    k.ok_with(
        &[
            "apply",
            "--server-side",
            "--field-manager=other",
            "--force-conflicts",
            "-f",
            "-",
        ],
        Some(CM_B),
    );
    let forced = get_json(&k, &["configmap", "ssa"]);
    assert_eq!(forced["data"], json!({"key": "b", "extra": "x"}));
    assert_eq!(
        managers(&forced),
        pairs(&[("kubectl", "Apply"), ("other", "Apply")])
    );
    assert_eq!(
        forced["metadata"]["managedFields"][0]["fieldsV1"],
        json!({"f:data": {"f:extra": {}}})
    );

    // kubectl drops `extra` from its configuration: nobody else owns it,
    // so it goes.
    k.ok_with(
        &["apply", "--server-side", "-f", "-"],
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata: {}\n"),
    );
    let pruned = get_json(&k, &["configmap", "ssa"]);
    assert_eq!(pruned["data"], json!({"key": "b"}), "{pruned}");

    // Table output carries no managedFields.
    let table = k.ok(&["get", "configmap", "ssa", "-o", "wide"]);
    assert!(!table.contains("managedFields"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_imperative_writes_record_their_managers() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let k = Kubectl::new(&server.url, &pki);

    k.ok(&["create", "configmap", "imp", "--from-literal=a=1"]);
    let created = get_json(&k, &["configmap", "imp"]);
    assert_eq!(managers(&created), pairs(&[("kubectl-create", "Update")]));
    assert_eq!(
        created["metadata"]["managedFields"][0]["fieldsV1"],
        json!({"f:data": {".": {}, "f:a": {}}})
    );

    k.ok(&["patch", "configmap", "imp", "-p", r#"{"data":{"b":"2"}}"#]);
    let patched = get_json(&k, &["configmap", "imp"]);
    assert_eq!(
        managers(&patched),
        pairs(&[("kubectl-create", "Update"), ("kubectl-patch", "Update")])
    );

    let mut obj = patched.clone();
    obj["data"]["c"] = json!("3");
    k.ok_with(
        &["replace", "-f", "-"],
        Some(&serde_json::to_string(&obj).unwrap()),
    );
    let replaced = get_json(&k, &["configmap", "imp"]);
    assert!(
        managers(&replaced).contains(&("kubectl-replace".to_owned(), "Update".to_owned())),
        "{replaced}"
    );

    // A client may clear managedFields with a single empty entry.
    k.ok(&[
        "patch",
        "configmap",
        "imp",
        "--type=merge",
        "-p",
        r#"{"metadata":{"managedFields":[{}]}}"#,
    ]);
    let cleared = get_json(&k, &["configmap", "imp"]);
    assert!(
        cleared["metadata"].get("managedFields").is_none(),
        "{cleared}"
    );

    // Invalid entries are a 422.
    let err = k.fails(
        &[
            "patch",
            "configmap",
            "imp",
            "--type=merge",
            "-p",
            r#"{"metadata":{"managedFields":[{"manager":"m","operation":"Bogus"}]}}"#,
        ],
        None,
    );
    assert!(err.contains("is invalid"), "{err}");
}

const DEPLOY: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: app:1
      - name: sidecar
        image: side:1
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_containers_merge_by_name() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let k = Kubectl::new(&server.url, &pki);
    k.ok_with(&["apply", "--server-side", "-f", "-"], Some(DEPLOY));
    // A second manager owns only the sidecar's image: no conflict with the
    // app container.
    let other = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: sidecar
        image: side:2
"#;
    let err = k.fails(
        &["apply", "--server-side", "--field-manager=ops", "-f", "-"],
        Some(other),
    );
    assert!(
        err.contains(
            r#"conflict with "kubectl": .spec.template.spec.containers[name="sidecar"].image"#
        ),
        "{err}"
    );
    k.ok_with(
        &[
            "apply",
            "--server-side",
            "--field-manager=ops",
            "--force-conflicts",
            "-f",
            "-",
        ],
        Some(other),
    );
    let d = get_json(&k, &["deployment", "web"]);
    let containers = &d["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers[0]["image"], "app:1", "{d}");
    assert_eq!(containers[1]["image"], "side:2", "{d}");
    let ops = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == "ops")
        .unwrap();
    assert!(
        ops["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
            .get(r#"k:{"name":"sidecar"}"#)
            .is_some(),
        "{ops}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_side_apply_migrates_to_server_side() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let k = Kubectl::new(&server.url, &pki);
    k.ok_with(&["apply", "-f", "-"], Some(CM_A));
    let csa = get_json(&k, &["configmap", "ssa"]);
    assert_eq!(
        managers(&csa),
        pairs(&[("kubectl-client-side-apply", "Update")])
    );
    // The first server-side apply changes a field client-side apply set
    // and drops another: no conflict, and the dropped field goes.
    let out = k.ok_with(&["apply", "--server-side", "-f", "-"], Some(CM_B));
    assert!(out.contains("serverside-applied"), "{out}");
    let ssa = get_json(&k, &["configmap", "ssa"]);
    assert_eq!(ssa["data"], json!({"key": "b"}), "{ssa}");
    // kubectl moves the client-side owner's fields to its Apply entry and
    // the annotation to `kubectl-last-applied`, as upstream's kubectl does.
    assert_eq!(
        managers(&ssa),
        pairs(&[("kubectl", "Apply"), ("kubectl-last-applied", "Apply")]),
        "{ssa}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_apply_edges_force_precondition_dry_run_and_status() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let k = Kubectl::new(&server.url, &pki);
    // fieldManager is required for apply; force only with apply.
    let err = k.fails(
        &[
            "patch",
            "configmap",
            "nope",
            "--type=merge",
            "-p",
            "{}",
            "--field-manager=",
        ],
        None,
    );
    assert!(
        err.contains("not found") || err.contains("fieldManager"),
        "{err}"
    );

    // Dry-run apply stores nothing.
    k.ok_with(
        &["apply", "--server-side", "--dry-run=server", "-f", "-"],
        Some(CM_A),
    );
    let err = k.fails(&["get", "configmap", "ssa"], None);
    assert!(err.contains("not found"), "{err}");

    // A resourceVersion in the configuration is a precondition.
    k.ok_with(&["apply", "--server-side", "-f", "-"], Some(CM_A));
    let stale = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  resourceVersion: \"1\"\ndata:\n  key: a\n";
    let err = k.fails(&["apply", "--server-side", "-f", "-"], Some(stale));
    assert!(err.contains("the object has been modified"), "{err}");
}

const PYTHON_APPLY: &str = r#"
import sys, json
from kubernetes import client, config, dynamic
from kubernetes.dynamic.exceptions import ConflictError

config.load_kube_config(config_file=sys.argv[1])
dyn = dynamic.DynamicClient(client.ApiClient())
cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "py-ssa"}, "data": {"k": "v"}}
out = dyn.server_side_apply(cms, body=body, namespace="default", field_manager="py")
mf = out.metadata.managedFields
assert [(e.manager, e.operation) for e in mf] == [("py", "Apply")], mf
body["data"]["k"] = "w"
try:
    dyn.server_side_apply(cms, body=body, namespace="default", field_manager="py2")
    raise SystemExit("expected 409")
except ConflictError as e:
    status = json.loads(e.body)
    assert status["reason"] == "Conflict", status
    assert status["details"]["causes"] == [{"reason": "FieldManagerConflict", "message": "conflict with \"py\"", "field": ".data.k"}], status
out = dyn.server_side_apply(cms, body=body, namespace="default", field_manager="py2", force_conflicts=True)
assert out.data.k == "w", out
print("python apply passed")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_applies_and_sees_conflicts() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    skewless_testkit::run_python(&server, &pki, PYTHON_APPLY, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_patch_apply_with_force() {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{Api, Patch, PatchParams};
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let path = skewless_testkit::kubeconfig(dir.path(), &server.url, &pki);
    let kc = kube::config::Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let cm = |v: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "rs-ssa"}, "data": {"k": v}})
    };
    cms.patch("rs-ssa", &PatchParams::apply("one"), &Patch::Apply(cm("1")))
        .await
        .unwrap();
    match cms
        .patch("rs-ssa", &PatchParams::apply("two"), &Patch::Apply(cm("2")))
        .await
    {
        Err(kube::Error::Api(s)) => {
            assert_eq!(s.code, 409);
            assert_eq!(s.reason, "Conflict");
            assert_eq!(
                s.message,
                "Apply failed with 1 conflict: conflict with \"one\": .data.k"
            );
        }
        other => panic!("expected 409, got {other:?}"),
    }
    let got = cms
        .patch(
            "rs-ssa",
            &PatchParams::apply("two").force(),
            &Patch::Apply(cm("2")),
        )
        .await
        .unwrap();
    assert_eq!(got.data.unwrap()["k"], "2");
    let owners: Vec<String> = got
        .metadata
        .managed_fields
        .unwrap()
        .iter()
        .filter_map(|e| e.manager.clone())
        .collect();
    assert!(owners.contains(&"two".to_owned()), "{owners:?}");
}

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              ports:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [port, protocol]
                items:
                  type: object
                  required: [port, protocol]
                  properties:
                    port: {type: integer}
                    protocol: {type: string}
                    name: {type: string}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_resource_list_map_keys_split_ownership() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let k = Kubectl::new(&server.url, &pki);
    k.ok_with(&["apply", "-f", "-"], Some(CRD));
    k.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/widgets.example.com",
        "--timeout=30s",
    ]);
    let mine = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  ports:\n  - {port: 80, protocol: TCP, name: http}\n";
    let theirs = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  ports:\n  - {port: 80, protocol: UDP, name: dns}\n";
    // kubectl may need a moment to discover the new kind.
    let mut tries = 0;
    loop {
        let out = k.run(&["apply", "--server-side", "-f", "-"], Some(mine));
        if out.status.success() {
            break;
        }
        tries += 1;
        assert!(tries < 20, "{}", String::from_utf8_lossy(&out.stderr));
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    // Another key (port 80/UDP) is another element: no conflict, both kept.
    k.ok_with(
        &["apply", "--server-side", "--field-manager=other", "-f", "-"],
        Some(theirs),
    );
    let w = get_json(&k, &["widgets.example.com", "w"]);
    assert_eq!(
        w["spec"]["ports"],
        json!([{"port": 80, "protocol": "TCP", "name": "http"},
               {"port": 80, "protocol": "UDP", "name": "dns"}]),
        "{w}"
    );
    let other = w["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == "other")
        .unwrap();
    assert!(
        other["fieldsV1"]["f:spec"]["f:ports"]
            .get(r#"k:{"port":80,"protocol":"UDP"}"#)
            .is_some(),
        "{other}"
    );
    // The same key with another value conflicts.
    let err = k.fails(
        &["apply", "--server-side", "--field-manager=other", "-f", "-"],
        Some(&mine.replace("http", "web")),
    );
    assert!(
        err.contains(r#"conflict with "kubectl": .spec.ports[port=80,protocol="TCP"].name"#),
        "{err}"
    );
}

const MAP: &str = "apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata:
  name: ssa-map
spec:
  failurePolicy: Fail
  reinvocationPolicy: Never
  mutations: []
";

/// A resource only the 1.36 peer serves, applied through the 1.35
/// server: the peer records ownership, conflicts come back through the
/// proxy, and both servers show the same object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_through_the_proxy_is_owned_where_it_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::SharedSqlite(dir.path().to_path_buf());
    let pki = Pki::generate();
    let new =
        skewless_testkit::start_peer_at(Path::new(BIN), &pki, &storage, "server-136", "1.36", &[])
            .await;
    let old =
        skewless_testkit::start_peer_at(Path::new(BIN), &pki, &storage, "server-135", "1.35", &[])
            .await;
    let via_old = Kubectl::new(&old.url, &pki);
    let direct = Kubectl::new(&new.url, &pki);
    let admin = old.client(&pki, skewless_testkit::Identity::Admin);
    skewless_testkit::eventually(
        std::time::Duration::from_secs(15),
        "MAPs proxied",
        || async {
            admin
                .get("/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies")
                .await
                .status
                == 200
        },
    )
    .await;
    let out = via_old.ok_with(&["apply", "--server-side", "-f", "-"], Some(MAP));
    assert!(out.contains("serverside-applied"), "{out}");
    let obj = get_json(&via_old, &["mutatingadmissionpolicies", "ssa-map"]);
    assert_eq!(managers(&obj), pairs(&[("kubectl", "Apply")]));
    assert_eq!(
        obj["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:failurePolicy"],
        json!({})
    );
    assert_eq!(
        get_json(&direct, &["mutatingadmissionpolicies", "ssa-map"]),
        obj,
        "the same object through the proxy and direct"
    );
    let err = via_old.fails(
        &["apply", "--server-side", "--field-manager=other", "-f", "-"],
        Some(&MAP.replace("failurePolicy: Fail", "failurePolicy: Ignore")),
    );
    assert!(
        err.contains(
            "Apply failed with 1 conflict: conflict with \"kubectl\": .spec.failurePolicy"
        ),
        "{err}"
    );
}

/// Apply to the `scale` subresource (an autoscaler's way): the parent's
/// owner of `spec.replicas` conflicts, `force` takes it over, and the
/// parent records the applier as an Apply entry of the scale subresource.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_to_scale_conflicts_with_the_replicas_owner_and_forces() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let k = Kubectl::new(&server.url, &pki);
    k.ok_with(
        &[
            "apply",
            "--server-side",
            "--field-manager=deployer",
            "-f",
            "-",
        ],
        Some(&DEPLOY.replace("spec:\n  selector:", "spec:\n  replicas: 2\n  selector:")),
    );
    let admin = server.client(&pki, skewless_testkit::Identity::Admin);
    let scale = "/apis/apps/v1/namespaces/default/deployments/web/scale";
    let body = br#"{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web"},"spec":{"replicas":5}}"#;
    let apply = |query: &'static str| {
        let admin = &admin;
        async move {
            admin
                .request(
                    "PATCH",
                    &format!("{scale}?fieldManager=hpa{query}"),
                    &[("Content-Type", "application/apply-patch+yaml")],
                    Some(body.to_vec()),
                )
                .await
        }
    };
    let r = apply("").await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "Apply failed with 1 conflict: conflict with \"deployer\": .spec.replicas"
    );
    let r = apply("&force=true").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["spec"]["replicas"], 5);
    let d = get_json(&k, &["deployment", "web"]);
    assert_eq!(d["spec"]["replicas"], 5);
    let entries = d["metadata"]["managedFields"].as_array().unwrap().clone();
    let deployer = entries.iter().find(|e| e["manager"] == "deployer").unwrap();
    assert!(
        deployer["fieldsV1"]["f:spec"].get("f:replicas").is_none(),
        "the deployer lost replicas: {deployer}"
    );
    let hpa = entries.iter().find(|e| e["manager"] == "hpa").unwrap();
    assert_eq!(hpa["operation"], "Apply");
    assert_eq!(hpa["subresource"], "scale");
    assert_eq!(hpa["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
}

/// `kubectl edit` records its change as manager `kubectl-edit` (Update).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_edit_records_its_manager() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let k = Kubectl::new(&server.url, &pki);
    k.ok(&["create", "configmap", "edited", "--from-literal=color=blue"]);
    let editor = k.dir().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/color: blue/color: green/' \"$1\"\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = k
        .command("admin", &["edit", "configmap", "edited"])
        .env("KUBE_EDITOR", &editor)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cm = get_json(&k, &["configmap", "edited"]);
    assert_eq!(cm["data"]["color"], "green");
    assert_eq!(
        managers(&cm),
        pairs(&[("kubectl-create", "Update"), ("kubectl-edit", "Update")])
    );
}

/// Ownership recorded through one served version of a CRD holds for an
/// apply through another (both versions share the stored object).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ownership_carries_across_served_versions_of_a_crd() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let k = Kubectl::new(&server.url, &pki);
    // The same CRD served at v1 (stored) and v2 (same schema).
    let (head, schema) = CRD.split_at(CRD.find("  - name: v1").unwrap());
    let v2 = schema
        .replace("  - name: v1", "  - name: v2")
        .replace("storage: true", "storage: false");
    k.ok_with(&["apply", "-f", "-"], Some(&format!("{head}{schema}{v2}")));
    k.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/widgets.example.com",
        "--timeout=30s",
    ]);
    let config = |version: &str, name: &str| {
        format!(
            "apiVersion: example.com/{version}\nkind: Widget\nmetadata:\n  name: w\nspec:\n  ports:\n  - {{port: 80, protocol: TCP, name: {name}}}\n"
        )
    };
    let mut tries = 0;
    loop {
        let out = k.run(
            &["apply", "--server-side", "-f", "-"],
            Some(&config("v1", "http")),
        );
        if out.status.success() {
            break;
        }
        tries += 1;
        assert!(tries < 20, "{}", String::from_utf8_lossy(&out.stderr));
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let err = k.fails(
        &["apply", "--server-side", "--field-manager=other", "-f", "-"],
        Some(&config("v2", "web")),
    );
    assert!(
        err.contains("conflict with \"kubectl\"") && err.contains(".name"),
        "{err}"
    );
    let w = get_json(&k, &["widgets.v2.example.com", "w"]);
    assert_eq!(w["spec"]["ports"][0]["name"], "http");
    assert_eq!(managers(&w), pairs(&[("kubectl", "Apply")]));
}

/// Apply to the `status` subresource: only status is taken from the
/// configuration, and the entry names the subresource.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_to_status_owns_status_fields() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let k = Kubectl::new(&server.url, &pki);
    k.ok_with(&["apply", "--server-side", "-f", "-"], Some(DEPLOY));
    let admin = server.client(&pki, skewless_testkit::Identity::Admin);
    let body = br#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"paused":true},"status":{"replicas":3,"observedGeneration":1}}"#;
    let r = admin
        .request(
            "PATCH",
            "/apis/apps/v1/namespaces/default/deployments/web/status?fieldManager=controller",
            &[("Content-Type", "application/apply-patch+yaml")],
            Some(body.to_vec()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let d = get_json(&k, &["deployment", "web"]);
    assert_eq!(d["status"]["replicas"], 3);
    assert!(
        d["spec"].get("paused").is_none(),
        "spec is not the status' to set: {d}"
    );
    let entries = d["metadata"]["managedFields"].as_array().unwrap().clone();
    let controller = entries
        .iter()
        .find(|e| e["manager"] == "controller")
        .unwrap();
    assert_eq!(controller["operation"], "Apply");
    assert_eq!(controller["subresource"], "status");
    assert!(
        controller["fieldsV1"]["f:status"]
            .get("f:replicas")
            .is_some(),
        "{controller}"
    );
    assert!(
        controller["fieldsV1"].get("f:spec").is_none(),
        "{controller}"
    );
}

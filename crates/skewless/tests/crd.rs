//! CustomResourceDefinitions against real `skewless serve` processes: kubectl
//! end to end, kube-rs dynamic objects, and a CRD created through one server
//! served by another.

#![allow(clippy::unwrap_used)]

mod support {
    pub mod kube_watch;
}

use std::path::Path;
use std::time::{Duration, Instant};

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
use serde_json::json;
use skewless_testkit::{Identity, Kubectl, Pki, ServerProcess, Storage, kubeconfig};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct], categories: [all]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema: &schema
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [cronSpec]
            properties:
              cronSpec: {type: string, pattern: '^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$'}
              image: {type: string}
              replicas: {type: integer, minimum: 1, maximum: 10, default: 1}
          status:
            type: object
            properties:
              replicas: {type: integer}
              phase: {type: string}
  - name: v1beta1
    served: true
    storage: false
    deprecated: true
    deprecationWarning: "stable.example.com/v1beta1 CronTab is deprecated; use v1"
    subresources:
      status: {}
    schema: *schema
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_drives_a_crd_end_to_end() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let k = Kubectl::new(&server.url, &pki);

    assert!(
        k.ok_with(&["apply", "-f", "-"], Some(CRD))
            .contains("created")
    );
    k.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/crontabs.stable.example.com",
        "--timeout=10s",
    ]);
    let ct = "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: nightly}\nspec: {cronSpec: '0 3 * * *', image: backup}\n";
    assert!(
        k.ok_with(&["apply", "-f", "-"], Some(ct))
            .contains("created")
    );

    // Printer columns, short names, categories; defaults applied.
    for what in ["crontabs", "ct", "all"] {
        let table = k.ok(&["get", what]);
        assert!(
            table.contains("SPEC") && table.contains("REPLICAS") && table.contains("0 3 * * *"),
            "{what}: {table}"
        );
    }
    assert_eq!(
        k.ok(&["get", "ct", "nightly", "-o", "jsonpath={.spec.replicas}"]),
        "1"
    );

    // explain reads the published schema.
    let explain = k.ok(&["explain", "crontab.spec"]);
    assert!(
        explain.contains("cronSpec") && explain.contains("required"),
        "{explain}"
    );

    // An invalid instance names the field.
    let bad = "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: bad}\nspec: {cronSpec: 'not a schedule', replicas: 50}\n";
    let err = k.fails(&["create", "-f", "-"], Some(bad));
    assert!(
        err.contains("spec.cronSpec") && err.contains("spec.replicas"),
        "{err}"
    );

    // Unknown fields: pruned by default, rejected with --validate=strict.
    let unknown = "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: extra}\nspec: {cronSpec: '* * * * *', colour: red}\n";
    let err = k.fails(&["create", "-f", "-", "--validate=strict"], Some(unknown));
    assert!(err.contains("unknown field \"spec.colour\""), "{err}");
    k.ok_with(&["create", "-f", "-", "--validate=false"], Some(unknown));
    assert_eq!(
        k.ok(&["get", "ct", "extra", "-o", "jsonpath={.spec}"]),
        r#"{"cronSpec":"* * * * *","replicas":1}"#
    );

    // The status subresource changes only status.
    k.ok(&[
        "patch",
        "ct",
        "nightly",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"phase":"Running"},"spec":{"image":"ignored"}}"#,
    ]);
    assert_eq!(
        k.ok(&[
            "get",
            "ct",
            "nightly",
            "-o",
            "jsonpath={.status.phase} {.spec.image}"
        ]),
        "Running backup"
    );

    // Scale.
    assert!(
        k.ok(&["scale", "ct", "nightly", "--replicas=3"])
            .contains("scaled")
    );
    assert_eq!(
        k.ok(&["get", "ct", "nightly", "-o", "jsonpath={.spec.replicas}"]),
        "3"
    );

    // Two served versions serve the same object; the deprecated one warns.
    let out = k.run(
        &[
            "get",
            "crontabs.v1beta1.stable.example.com",
            "nightly",
            "-o",
            "jsonpath={.apiVersion} {.spec.replicas}",
        ],
        None,
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout, "stable.example.com/v1beta1 3");
    assert!(stderr.contains("deprecated"), "{stderr}");

    // Deleting the CRD removes every instance, then the CRD.
    k.ok(&[
        "delete",
        "crd",
        "crontabs.stable.example.com",
        "--timeout=30s",
    ]);
    let c = server.client(&pki, Identity::Admin);
    let deadline = Instant::now() + Duration::from_secs(10);
    while c
        .get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/crontabs.stable.example.com")
        .await
        .status
        != 404
    {
        assert!(Instant::now() < deadline, "the CRD never went away");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        c.get("/apis/stable.example.com/v1/namespaces/default/crontabs")
            .await
            .status,
        404
    );
    let r = c
        .request(
            "GET",
            "/apis",
            &[(
                "accept",
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
            )],
            None,
        )
        .await;
    assert!(
        !r.text().contains("stable.example.com"),
        "discovery still lists the group"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_crds_are_refused_with_field_paths() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let c = server.client(&pki, Identity::Admin);
    let crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    let bad = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "wrong.example.com"},
        "spec": {"group": "example.com", "scope": "Sideways",
                 "names": {"plural": "widgets", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": true, "storage": false,
                               "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"properties": {"x": {"type": "string"}}}}}}}]},
    });
    let r = c.post_json(crds, &bad).await;
    assert_eq!(r.status, 422, "{}", r.text());
    let s = r.json();
    let fields: Vec<String> = s["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(fields.iter().any(|f| f == "metadata.name"), "{s}");
    assert!(fields.iter().any(|f| f == "spec.scope"), "{s}");
    assert!(fields.iter().any(|f| f.starts_with("spec.versions")), "{s}");
    assert_eq!(
        c.get(crds).await.json()["items"].as_array().unwrap().len(),
        0
    );

    // A CRD whose names collide with a built-in resource, or with an older
    // CRD, is stored but not served: NamesAccepted=False says why.
    let crd = |name: &str, group: &str, plural: &str, kind: &str, short: &[&str]| {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": name, "annotations": {"api-approved.kubernetes.io": "https://github.com/kubernetes/enhancements/pull/1111"}},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"plural": plural, "kind": kind, "shortNames": short},
                     "versions": [{"name": "v9", "served": true, "storage": true,
                                   "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]},
        })
    };
    let cases = [
        (
            crd(
                "ingresses.networking.k8s.io",
                "networking.k8s.io",
                "ingresses",
                "Ingress2",
                &[],
            ),
            "ingresses",
            "/apis/networking.k8s.io/v9/namespaces/default/ingresses",
        ),
        (
            crd(
                "widgets.example.com",
                "example.com",
                "widgets",
                "Widget",
                &["w"],
            ),
            "",
            "/apis/example.com/v9/namespaces/default/widgets",
        ),
        (
            crd(
                "gadgets.example.com",
                "example.com",
                "gadgets",
                "Gadget",
                &["w"],
            ),
            "w",
            "/apis/example.com/v9/namespaces/default/gadgets",
        ),
    ];
    for (body, conflict, path) in cases {
        let name = body["metadata"]["name"].as_str().unwrap().to_owned();
        let r = c.post_json(crds, &body).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let deadline = Instant::now() + Duration::from_secs(10);
        let cond = loop {
            let got = c.get(&format!("{crds}/{name}")).await.json();
            let cond = got["status"]["conditions"]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["type"] == "NamesAccepted").cloned());
            if let Some(cond) = cond {
                break cond;
            }
            assert!(
                Instant::now() < deadline,
                "NamesAccepted never set on {name}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        if conflict.is_empty() {
            assert_eq!(cond["status"], "True", "{name}: {cond}");
            assert_eq!(c.get(path).await.status, 200, "{name} is served");
        } else {
            assert_eq!(cond["status"], "False", "{name}: {cond}");
            assert!(
                cond["message"].as_str().unwrap().contains(conflict),
                "{name}: {cond}"
            );
            assert_eq!(c.get(path).await.status, 404, "{name} is not served");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crd_created_on_one_server_is_served_by_another_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::SharedSqlite(dir.path().to_path_buf());
    let pki = Pki::generate();
    let one =
        ServerProcess::start(Path::new(BIN), &pki, &storage, &["--apiserver-id", "one"]).await;
    let two =
        ServerProcess::start(Path::new(BIN), &pki, &storage, &["--apiserver-id", "two"]).await;
    Kubectl::new(&one.url, &pki).ok_with(&["apply", "-f", "-"], Some(CRD));
    let created = Instant::now();
    let c2 = two.client(&pki, Identity::Admin);
    let path = "/apis/stable.example.com/v1/namespaces/default/crontabs";
    while c2.get(path).await.status != 200 {
        assert!(
            created.elapsed() < Duration::from_secs(1),
            "server two did not serve the CRD within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let obj = json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab", "metadata": {"name": "from-two"}, "spec": {"cronSpec": "* * * * *"}});
    assert_eq!(c2.post_json(path, &obj).await.status, 201);
    let one_sees = one
        .client(&pki, Identity::Admin)
        .get(&format!("{path}/from-two"))
        .await;
    assert_eq!(one_sees.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_creates_and_watches_dynamic_objects() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let dir = tempfile::tempdir().unwrap();
    Kubectl::new(&server.url, &pki).ok_with(&["apply", "-f", "-"], Some(CRD));
    let path = kubeconfig(dir.path(), &server.url, &pki);
    let kc = kube::config::Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let gvk = GroupVersionKind::gvk("stable.example.com", "v1", "CronTab");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "crontabs");
    let api: Api<DynamicObject> = Api::namespaced_with(client, "default", &ar);
    let c = server.client(&pki, Identity::Admin);
    let deadline = Instant::now() + Duration::from_secs(5);
    while c
        .get("/apis/stable.example.com/v1/namespaces/default/crontabs")
        .await
        .status
        != 200
    {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut events = support::kube_watch::start(api.clone()).await;

    let mut obj = DynamicObject::new("dyn", &ar).within("default");
    obj.data = json!({"spec": {"cronSpec": "*/5 * * * *", "image": "x"}});
    let created = api.create(&PostParams::default(), &obj).await.unwrap();
    assert_eq!(created.data["spec"]["replicas"], 1, "defaults applied");
    api.delete("dyn", &Default::default()).await.unwrap();
    let mut kinds = Vec::new();
    while kinds.len() < 2 {
        let (kind, o) = tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(o.metadata.name.as_deref(), Some("dyn"));
        kinds.push(kind);
    }
    assert_eq!(kinds, ["apply", "delete"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_of_a_deleted_crds_resource_end_cleanly() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let k = Kubectl::new(&server.url, &pki);
    k.ok_with(&["apply", "-f", "-"], Some(CRD));
    let c = server.client(&pki, Identity::Admin);
    let path = "/apis/stable.example.com/v1/namespaces/default/crontabs";
    let deadline = Instant::now() + Duration::from_secs(5);
    while c.get(path).await.status != 200 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut events = c.stream_lines(&format!("{path}?watch=1")).await;
    k.ok(&["delete", "crd", "crontabs.stable.example.com"]);
    let ended = tokio::time::timeout(Duration::from_secs(15), async {
        while events.recv().await.is_some() {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the watch did not end after its CRD was deleted"
    );
}

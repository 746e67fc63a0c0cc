//! Issue 15 item 7: built-in objects read back with upstream's defaults
//! through every server of a mixed 1.35/1.36 pair (kubectl, the typed
//! Python client), invalid values get upstream's 422 messages, `metadata.generation` only where
//! upstream keeps it, and cluster IPs claimed through storage: 200
//! parallel Service creates spread over three servers sharing one storage
//! (SQLite, and etcd) get 200 distinct addresses; a delete frees its IP
//! and node port.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};
use skewless_testkit::{
    Client, Identity, Kubectl, Pki, ServerProcess, Storage, etcd_endpoints, start_peer_at,
};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");
const SERVICES: &str = "/api/v1/namespaces/default/services";

fn pod(name: &str) -> String {
    format!(
        r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "{name}"}},
            "spec": {{"containers": [
              {{"name": "web", "image": "nginx", "ports": [{{"containerPort": 80}}],
                "resources": {{"limits": {{"cpu": "100m", "memory": "64Mi"}}}}}},
              {{"name": "side", "image": "busybox:1.36",
                "resources": {{"limits": {{"cpu": "100m", "memory": "64Mi"}}}}}}]}}}}"#
    )
}

fn service(name: &str, kind: &str) -> String {
    format!(
        r#"{{"apiVersion": "v1", "kind": "Service", "metadata": {{"name": "{name}"}},
            "spec": {{"type": "{kind}", "selector": {{"app": "web"}}, "ports": [{{"port": 80}}]}}}}"#
    )
}

fn deployment(name: &str) -> String {
    format!(
        r#"{{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {{"name": "{name}"}},
            "spec": {{"selector": {{"matchLabels": {{"app": "web"}}}},
                      "template": {{"metadata": {{"labels": {{"app": "web"}}}},
                                    "spec": {{"containers": [{{"name": "web", "image": "nginx:1.27"}}]}}}}}}}}"#
    )
}

const PYTHON_READ_BACK: &str = r#"
import sys
from kubernetes import client, config

config.load_kube_config(config_file=sys.argv[1])
core, apps = client.CoreV1Api(), client.AppsV1Api()
container = client.V1Container(name="c", image="busybox",
    resources=client.V1ResourceRequirements(requests={"cpu": "10m"}))
core.create_namespaced_pod("default", client.V1Pod(
    metadata=client.V1ObjectMeta(name="py-pod"), spec=client.V1PodSpec(containers=[container])))
pod = core.read_namespaced_pod("py-pod", "default")
assert pod.spec.restart_policy == "Always" and pod.spec.dns_policy == "ClusterFirst", pod.spec
assert pod.spec.scheduler_name == "default-scheduler", pod.spec
assert pod.spec.termination_grace_period_seconds == 30 and pod.spec.enable_service_links is True
c = pod.spec.containers[0]
assert c.image_pull_policy == "Always" and c.termination_message_path == "/dev/termination-log", c
assert c.termination_message_policy == "File", c
assert pod.status.phase == "Pending" and pod.status.qos_class == "Burstable", pod.status

core.create_namespaced_service("default", client.V1Service(
    metadata=client.V1ObjectMeta(name="py-svc"),
    spec=client.V1ServiceSpec(type="NodePort", ports=[client.V1ServicePort(port=80)])))
svc = core.read_namespaced_service("py-svc", "default")
assert svc.spec.session_affinity == "None" and svc.spec.ip_families == ["IPv4"], svc.spec
assert svc.spec.ip_family_policy == "SingleStack" and svc.spec.internal_traffic_policy == "Cluster"
assert svc.spec.cluster_ip and svc.spec.cluster_ips == [svc.spec.cluster_ip], svc.spec
assert 30000 <= svc.spec.ports[0].node_port <= 32767, svc.spec
assert svc.metadata.generation is None, svc.metadata

apps.create_namespaced_deployment("default", client.V1Deployment(
    metadata=client.V1ObjectMeta(name="py-dep"),
    spec=client.V1DeploymentSpec(
        selector=client.V1LabelSelector(match_labels={"app": "py"}),
        template=client.V1PodTemplateSpec(
            metadata=client.V1ObjectMeta(labels={"app": "py"}),
            spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox:1")])))))
dep = apps.read_namespaced_deployment("py-dep", "default")
assert dep.spec.replicas == 1 and dep.spec.strategy.type == "RollingUpdate", dep.spec
assert dep.spec.strategy.rolling_update.max_surge == "25%", dep.spec
assert dep.spec.revision_history_limit == 10 and dep.spec.progress_deadline_seconds == 600
assert dep.metadata.generation == 1, dep.metadata
print("python read back passed")
"#;

fn get(k: &Kubectl, what: &str) -> Value {
    serde_json::from_str(&k.ok(&["get", what, "-o", "json"])).unwrap()
}

fn check_pod(p: &Value) {
    let spec = &p["spec"];
    assert_eq!(spec["restartPolicy"], "Always", "{p}");
    assert_eq!(spec["dnsPolicy"], "ClusterFirst");
    assert_eq!(spec["schedulerName"], "default-scheduler");
    assert_eq!(spec["terminationGracePeriodSeconds"], 30);
    assert_eq!(spec["enableServiceLinks"], true);
    assert_eq!(spec["securityContext"], json!({}));
    let web = &spec["containers"][0];
    assert_eq!(web["imagePullPolicy"], "Always");
    assert_eq!(web["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(web["terminationMessagePolicy"], "File");
    assert_eq!(web["ports"][0]["protocol"], "TCP");
    assert_eq!(
        web["resources"]["requests"],
        json!({"cpu": "100m", "memory": "64Mi"})
    );
    assert_eq!(spec["containers"][1]["imagePullPolicy"], "IfNotPresent");
    assert_eq!(spec["priority"], 0);
    assert_eq!(spec["preemptionPolicy"], "PreemptLowerPriority");
    assert_eq!(
        spec["tolerations"][0],
        json!({"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})
    );
    assert_eq!(p["status"]["phase"], "Pending");
    assert_eq!(p["status"]["qosClass"], "Guaranteed");
    assert_eq!(p["metadata"]["generation"], 1);
}

fn check_service(s: &Value, range: &str) {
    let spec = &s["spec"];
    assert_eq!(spec["sessionAffinity"], "None", "{s}");
    assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
    assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
    assert_eq!(spec["internalTrafficPolicy"], "Cluster");
    assert_eq!(spec["ports"][0]["protocol"], "TCP");
    assert_eq!(spec["ports"][0]["targetPort"], 80);
    let ip = spec["clusterIP"].as_str().unwrap();
    assert!(ip.starts_with(range), "{s}");
    assert_eq!(spec["clusterIPs"], json!([ip]));
    assert_eq!(s["status"], json!({"loadBalancer": {}}));
    assert!(s["metadata"].get("generation").is_none(), "{s}");
}

fn check_deployment(d: &Value) {
    let spec = &d["spec"];
    assert_eq!(spec["replicas"], 1, "{d}");
    assert_eq!(
        spec["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(spec["progressDeadlineSeconds"], 600);
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Always");
    assert_eq!(pod["dnsPolicy"], "ClusterFirst");
    assert_eq!(pod["containers"][0]["imagePullPolicy"], "IfNotPresent");
    assert_eq!(d["metadata"]["generation"], 1);
}

/// Defaults, messages and generation through each server of a mixed pair.
#[tokio::test]
async fn built_in_objects_read_back_with_upstreams_defaults_through_either_server() {
    let pki = Pki::generate();
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::SharedSqlite(dir.path().to_path_buf());
    let old = start_peer_at(Path::new(BIN), &pki, &storage, "def-135", "1.35", &[]).await;
    let new = start_peer_at(
        Path::new(BIN),
        &pki,
        &storage,
        "def-136",
        "1.36",
        &[
            "--service-cluster-ip-range=10.96.0.0/16",
            "--service-node-port-range=31000-31009",
        ],
    )
    .await;
    // Both servers share storage; each allocates from its own flags, as
    // kube-apiservers would.
    for (s, tag, range) in [(&old, "old", "10.0.0."), (&new, "new", "10.96.")] {
        let k = Kubectl::new(&s.url, &pki);
        k.ok_with(&["create", "-f", "-"], Some(&pod(&format!("pod-{tag}"))));
        k.ok_with(
            &["create", "-f", "-"],
            Some(&service(&format!("svc-{tag}"), "ClusterIP")),
        );
        k.ok_with(
            &["create", "-f", "-"],
            Some(&service(&format!("np-{tag}"), "NodePort")),
        );
        k.ok_with(
            &["create", "-f", "-"],
            Some(&deployment(&format!("dep-{tag}"))),
        );
        k.ok(&[
            "create",
            "configmap",
            &format!("cm-{tag}"),
            "--from-literal=a=b",
        ]);
        // Read back through both servers.
        for reader in [&old, &new] {
            let r = Kubectl::new(&reader.url, &pki);
            check_pod(&get(&r, &format!("pod/pod-{tag}")));
            check_service(&get(&r, &format!("service/svc-{tag}")), range);
            let np = get(&r, &format!("service/np-{tag}"));
            check_service(&np, range);
            assert_eq!(np["spec"]["externalTrafficPolicy"], "Cluster");
            let node_port = np["spec"]["ports"][0]["nodePort"].as_u64().unwrap();
            if tag == "new" {
                assert!((31000..=31009).contains(&node_port), "{np}");
            } else {
                assert!((30000..=32767).contains(&node_port), "{np}");
            }
            check_deployment(&get(&r, &format!("deployment/dep-{tag}")));
            let cm = get(&r, &format!("configmap/cm-{tag}"));
            assert!(cm["metadata"].get("generation").is_none(), "{cm}");
        }
    }

    // The typed Python client, through the 1.35 server, creates and reads
    // them back too.
    let out = skewless_testkit::run_python(&old, &pki, PYTHON_READ_BACK, &[]).await;
    assert!(out.contains("python read back passed"), "{out}");

    let admin = old.client(&pki, Identity::Admin);
    // Generation: bumped by a spec change, not by a label.
    let dep = "/apis/apps/v1/namespaces/default/deployments/dep-old";
    let merge = [("content-type", "application/merge-patch+json")];
    let patch = |body: Value| serde_json::to_vec(&body).unwrap();
    let r = admin
        .request(
            "PATCH",
            dep,
            &merge,
            Some(patch(json!({"metadata": {"labels": {"x": "y"}}}))),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["metadata"]["generation"], 1);
    let r = admin
        .request(
            "PATCH",
            dep,
            &merge,
            Some(patch(json!({"spec": {"replicas": 3}}))),
        )
        .await;
    assert_eq!(r.json()["metadata"]["generation"], 2);
    assert_eq!(r.json()["spec"]["strategy"]["type"], "RollingUpdate");
    // A Service update keeps its cluster IP and node port when the client
    // leaves them out (a PUT of what it first sent).
    let np = admin.get(&format!("{SERVICES}/np-old")).await.json();
    let mut replace: Value = serde_json::from_str(&service("np-old", "NodePort")).unwrap();
    replace["metadata"]["resourceVersion"] = np["metadata"]["resourceVersion"].clone();
    let r = admin
        .request(
            "PUT",
            &format!("{SERVICES}/np-old"),
            &[("content-type", "application/json")],
            Some(serde_json::to_vec(&replace).unwrap()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["spec"]["clusterIP"], np["spec"]["clusterIP"]);
    assert_eq!(
        r.json()["spec"]["ports"][0]["nodePort"],
        np["spec"]["ports"][0]["nodePort"]
    );

    // Invalid values: upstream's 422s, through both servers.
    for s in [&old, &new] {
        let c = s.client(&pki, Identity::Admin);
        let mut bad: Value = serde_json::from_str(&pod("bad")).unwrap();
        bad["spec"]["restartPolicy"] = json!("Bogus");
        let r = c.post_json("/api/v1/namespaces/default/pods", &bad).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert_eq!(
            r.json()["message"],
            r#"Pod "bad" is invalid: spec.restartPolicy: Unsupported value: "Bogus": supported values: "Always", "Never", "OnFailure""#
        );
        let mut bad: Value = serde_json::from_str(&service("bad", "Bogus")).unwrap();
        bad["spec"]["sessionAffinity"] = json!("Sticky");
        let r = c.post_json(SERVICES, &bad).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert_eq!(
            r.json()["message"],
            r#"Service "bad" is invalid: [spec.type: Unsupported value: "Bogus": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort", spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"]"#
        );
    }
    // A node port outside the range, and one already taken.
    let c = new.client(&pki, Identity::Admin);
    let mut bad: Value = serde_json::from_str(&service("np-far", "NodePort")).unwrap();
    bad["spec"]["ports"][0]["nodePort"] = json!(31010);
    let r = c.post_json(SERVICES, &bad).await;
    assert_eq!(
        r.json()["message"],
        r#"Service "np-far" is invalid: spec.ports[0].nodePort: Invalid value: 31010: provided port is not in the valid range. The range of valid ports is 31000-31009"#
    );
    let k = Kubectl::new(&new.url, &pki);
    let taken = get(&k, "service/np-new")["spec"]["ports"][0]["nodePort"].clone();
    bad["spec"]["ports"][0]["nodePort"] = taken.clone();
    let r = c.post_json(SERVICES, &bad).await;
    assert_eq!(
        r.json()["message"],
        format!(
            r#"Service "np-far" is invalid: spec.ports[0].nodePort: Invalid value: {taken}: provided port is already allocated"#
        )
    );
    // Switching the type to ClusterIP drops the node port (the merge patch
    // leaves it in the ports) and gives it back.
    k.ok(&[
        "patch",
        "service",
        "np-new",
        "-p",
        r#"{"spec":{"type":"ClusterIP"}}"#,
    ]);
    let svc = get(&k, "service/np-new");
    assert!(svc["spec"]["ports"][0].get("nodePort").is_none(), "{svc}");
    assert!(svc["spec"].get("externalTrafficPolicy").is_none(), "{svc}");
    let r = c.post_json(SERVICES, &bad).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["spec"]["ports"][0]["nodePort"], taken);
    // The other nine ports of the range, then none left.
    for i in 0..9 {
        let svc: Value = serde_json::from_str(&service(&format!("fill-{i}"), "NodePort")).unwrap();
        let r = c.post_json(SERVICES, &svc).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let svc: Value = serde_json::from_str(&service("one-too-many", "NodePort")).unwrap();
    let r = c.post_json(SERVICES, &svc).await;
    assert_eq!(r.status, 500, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "Internal error occurred: failed to allocate a nodePort: range is full"
    );
    // The failed create kept no cluster IP: only the Services hold one.
    let services = c.get(SERVICES).await.json();
    let addresses = c.get("/apis/networking.k8s.io/v1/ipaddresses").await.json();
    let with_ip = services["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["spec"]["clusterIP"]
                .as_str()
                .is_some_and(|ip| ip != "None")
        })
        .count();
    assert_eq!(
        addresses["items"].as_array().unwrap().len(),
        with_ip,
        "{addresses}"
    );

    // A Job selects its pods by its UID.
    k.ok(&["create", "job", "pi", "--image=busybox"]);
    let job = get(&k, "job/pi");
    let uid = job["metadata"]["uid"].as_str().unwrap();
    assert_eq!(
        job["spec"]["selector"],
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
    );
    assert_eq!(job["metadata"]["labels"]["job-name"], "pi");
    assert_eq!(job["spec"]["backoffLimit"], 6);
    assert_eq!(job["spec"]["completionMode"], "NonIndexed");
    assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");
    assert_eq!(job["metadata"]["generation"], 1);
}

async fn create_service(c: &Client, name: String, cluster_ip: Option<&str>) -> (u16, Value) {
    let mut svc: Value = serde_json::from_str(&service(&name, "ClusterIP")).unwrap();
    if let Some(ip) = cluster_ip {
        svc["spec"]["clusterIP"] = json!(ip);
    }
    let r = c.post_json(SERVICES, &svc).await;
    (r.status, r.json())
}

async fn parallel_creates(storage: Storage) {
    let pki = Pki::generate();
    let mut servers: Vec<ServerProcess> = Vec::new();
    for (i, version) in ["1.35", "1.36", "1.36"].iter().enumerate() {
        servers.push(
            start_peer_at(
                Path::new(BIN),
                &pki,
                &storage,
                &format!("alloc-{i}"),
                version,
                &[],
            )
            .await,
        );
    }
    let clients: Vec<Client> = servers
        .iter()
        .map(|s| s.client(&pki, Identity::Admin))
        .collect();
    let creates = (0..200).map(|i| create_service(&clients[i % 3], format!("s{i}"), None));
    let answers = futures::future::join_all(creates).await;
    let mut ips = BTreeSet::new();
    for (status, svc) in &answers {
        assert_eq!(*status, 201, "{svc}");
        ips.insert(svc["spec"]["clusterIP"].as_str().unwrap().to_owned());
    }
    assert_eq!(ips.len(), 200, "duplicate cluster IPs handed out");
    assert!(
        !ips.contains("10.0.0.1"),
        "the kubernetes Service's IP was handed out"
    );
    // The default ServiceCIDR names the range.
    skewless_testkit::eventually(
        std::time::Duration::from_secs(30),
        "the default ServiceCIDR",
        || async {
            let r = clients[0]
                .get("/apis/networking.k8s.io/v1/servicecidrs/kubernetes")
                .await;
            r.status == 200 && r.json()["spec"]["cidrs"] == json!(["10.0.0.0/24"])
        },
    )
    .await;

    // Each address is claimed by an IPAddress naming its Service.
    let listed = clients[1]
        .get("/apis/networking.k8s.io/v1/ipaddresses")
        .await
        .json();
    let claimed: BTreeSet<(String, String)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["metadata"]["name"].as_str().unwrap().to_owned(),
                a["spec"]["parentRef"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (_, svc) in &answers {
        let ip = svc["spec"]["clusterIP"].as_str().unwrap().to_owned();
        let name = svc["metadata"]["name"].as_str().unwrap().to_owned();
        assert!(claimed.contains(&(ip, name)), "{svc}");
    }

    // An address in use cannot be asked for; once its Service is deleted
    // it can.
    let ip = answers[7].1["spec"]["clusterIP"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = create_service(&clients[2], "wants-ip".into(), Some(&ip)).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["message"],
        format!(
            r#"Service "wants-ip" is invalid: spec.clusterIPs: Invalid value: []string{{"{ip}"}}: failed to allocate IP {ip}: provided IP is already allocated"#
        )
    );
    let r = clients[0]
        .request("DELETE", &format!("{SERVICES}/s7"), &[], None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = clients[1]
        .get(&format!("/apis/networking.k8s.io/v1/ipaddresses/{ip}"))
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    let (status, body) = create_service(&clients[2], "wants-ip".into(), Some(&ip)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["spec"]["clusterIP"], ip.as_str());
    // The same create again is a 409, and the live Service keeps its
    // address (a failed duplicate create gives back only what it claimed).
    for via in [&clients[0], &clients[2]] {
        let (status, body) = create_service(via, "wants-ip".into(), Some(&ip)).await;
        assert_eq!(status, 409, "{body}");
        let (status, body) = create_service(via, "wants-ip".into(), None).await;
        assert_eq!(status, 409, "{body}");
    }
    let r = clients[1]
        .get(&format!("/apis/networking.k8s.io/v1/ipaddresses/{ip}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["spec"]["parentRef"]["name"], "wants-ip");

    // Outside the range.
    let (status, body) = create_service(&clients[0], "far".into(), Some("10.1.0.5")).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["message"],
        r#"Service "far" is invalid: spec.clusterIPs: Invalid value: []string{"10.1.0.5"}: failed to allocate IP 10.1.0.5: the provided IP (10.1.0.5) is not in the valid range. The range of valid IPs is 10.0.0.0/24"#
    );
}

#[tokio::test]
async fn parallel_service_creates_through_three_servers_get_distinct_cluster_ips_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    parallel_creates(Storage::SharedSqlite(dir.path().to_path_buf())).await;
}

#[tokio::test]
async fn parallel_service_creates_through_three_servers_get_distinct_cluster_ips_on_etcd() {
    let (endpoints, _guard) = etcd_endpoints().await;
    let prefix = skewless_testkit::etcd_prefix("alloc");
    parallel_creates(Storage::EtcdPrefix(endpoints, prefix)).await;
}

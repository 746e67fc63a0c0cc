//! Table tests of the defaulters and validators against what upstream's
//! API server answers for the same objects.

use serde_json::{Value, json};

use super::*;

fn defaulted(group: &str, kind: &str, mut obj: Value) -> Value {
    apply(group, kind, &mut obj);
    obj
}

#[test]
fn a_pod_gets_upstreams_defaults() {
    let pod = defaulted(
        "",
        "Pod",
        json!({"spec": {"containers": [
            {"name": "a", "image": "nginx", "ports": [{"containerPort": 80}],
             "livenessProbe": {"httpGet": {"port": 80}}},
            {"name": "b", "image": "nginx:1.27"},
            {"name": "c", "image": "nginx:latest"},
            {"name": "d", "image": "registry.local:5000/nginx@sha256:abc"},
            {"name": "e", "image": "registry.local:5000/nginx"},
        ], "volumes": [{"name": "v"}, {"name": "s", "secret": {"secretName": "x"}}]}}),
    );
    let spec = &pod["spec"];
    assert_eq!(spec["restartPolicy"], "Always");
    assert_eq!(spec["dnsPolicy"], "ClusterFirst");
    assert_eq!(spec["schedulerName"], "default-scheduler");
    assert_eq!(spec["terminationGracePeriodSeconds"], 30);
    assert_eq!(spec["enableServiceLinks"], true);
    assert_eq!(spec["securityContext"], json!({}));
    let pulls: Vec<&str> = spec["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["imagePullPolicy"].as_str().unwrap())
        .collect();
    assert_eq!(
        pulls,
        ["Always", "IfNotPresent", "Always", "IfNotPresent", "Always"]
    );
    let a = &spec["containers"][0];
    assert_eq!(a["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(a["terminationMessagePolicy"], "File");
    assert_eq!(a["ports"][0]["protocol"], "TCP");
    assert_eq!(
        a["livenessProbe"],
        json!({"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
               "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
    );
    assert_eq!(spec["volumes"][0]["emptyDir"], json!({}));
    assert_eq!(spec["volumes"][1]["secret"]["defaultMode"], 420);
}

#[test]
fn set_values_are_kept() {
    let pod = defaulted(
        "",
        "Pod",
        json!({"spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                        "enableServiceLinks": false,
                        "containers": [{"name": "a", "image": "x", "imagePullPolicy": "Never"}]}}),
    );
    assert_eq!(pod["spec"]["restartPolicy"], "Never");
    assert_eq!(pod["spec"]["terminationGracePeriodSeconds"], 0);
    assert_eq!(pod["spec"]["enableServiceLinks"], false);
    assert_eq!(pod["spec"]["containers"][0]["imagePullPolicy"], "Never");
}

#[test]
fn qos_classes() {
    let with = |resources: Vec<Value>| {
        let containers: Vec<Value> = resources
            .into_iter()
            .enumerate()
            .map(|(i, r)| json!({"name": format!("c{i}"), "image": "x", "resources": r}))
            .collect();
        let pod = defaulted("", "Pod", json!({"spec": {"containers": containers}}));
        status_on_create("", "Pod", &pod).unwrap()["qosClass"].clone()
    };
    for (resources, want) in [
        (vec![json!({})], "BestEffort"),
        (vec![json!({"requests": {"cpu": "0"}})], "BestEffort"),
        (vec![json!({"requests": {"cpu": "100m"}})], "Burstable"),
        (
            vec![json!({"limits": {"cpu": "1", "memory": "1Gi"}})],
            "Guaranteed",
        ),
        (
            vec![json!({"limits": {"cpu": "1", "memory": "1Gi"},
                        "requests": {"cpu": "1000m", "memory": "1024Mi"}})],
            "Guaranteed",
        ),
        (
            vec![json!({"limits": {"cpu": "1", "memory": "1Gi"},
                        "requests": {"cpu": "500m"}})],
            "Burstable",
        ),
        (vec![json!({"limits": {"cpu": "1"}})], "Burstable"),
        (
            vec![json!({"limits": {"cpu": "1", "memory": "1Gi"}}), json!({})],
            "Burstable",
        ),
    ] {
        assert_eq!(with(resources.clone()), want, "{resources:?}");
    }
}

#[test]
fn a_new_pod_starts_pending() {
    let pod = defaulted(
        "",
        "Pod",
        json!({"spec": {"containers": [{"name": "a", "image": "x",
                                         "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}}),
    );
    assert_eq!(
        pod["spec"]["containers"][0]["resources"]["requests"],
        json!({"cpu": "1", "memory": "1Gi"})
    );
    assert_eq!(
        status_on_create("", "Pod", &pod),
        Some(json!({"phase": "Pending", "qosClass": "Guaranteed"}))
    );
}

#[test]
fn services_get_upstreams_defaults() {
    let svc = defaulted(
        "",
        "Service",
        json!({"spec": {"ports": [{"port": 80}, {"port": 81, "targetPort": "http"}]}}),
    );
    assert_eq!(
        svc["spec"],
        json!({"ports": [{"port": 80, "protocol": "TCP", "targetPort": 80},
                         {"port": 81, "protocol": "TCP", "targetPort": "http"}],
               "type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster"})
    );
    let np = defaulted(
        "",
        "Service",
        json!({"spec": {"type": "LoadBalancer", "sessionAffinity": "ClientIP", "ports": [{"port": 80}]}}),
    );
    assert_eq!(np["spec"]["externalTrafficPolicy"], "Cluster");
    assert_eq!(np["spec"]["allocateLoadBalancerNodePorts"], true);
    assert_eq!(
        np["spec"]["sessionAffinityConfig"],
        json!({"clientIP": {"timeoutSeconds": 10800}})
    );
    assert!(wants_node_ports(&np));
    let en = defaulted(
        "",
        "Service",
        json!({"spec": {"type": "ExternalName", "externalName": "example.com"}}),
    );
    assert!(en["spec"].get("internalTrafficPolicy").is_none());
    assert!(!wants_cluster_ip(&en));
    let mut headless = defaulted(
        "",
        "Service",
        json!({"spec": {"clusterIP": "None", "selector": {"a": "b"}}}),
    );
    assert!(!wants_cluster_ip(&headless));
    set_ip_families(&mut headless, "IPv4");
    assert_eq!(headless["spec"]["ipFamilyPolicy"], "SingleStack");
    assert_eq!(headless["spec"]["ipFamilies"], json!(["IPv4"]));
}

#[test]
fn workloads_get_upstreams_defaults() {
    let template = json!({"metadata": {"labels": {"app": "a"}},
                          "spec": {"containers": [{"name": "a", "image": "x"}]}});
    let d = defaulted(
        "apps",
        "Deployment",
        json!({"spec": {"template": template}}),
    );
    assert_eq!(d["spec"]["replicas"], 1);
    assert_eq!(
        d["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(d["spec"]["progressDeadlineSeconds"], 600);
    assert_eq!(d["spec"]["template"]["spec"]["restartPolicy"], "Always");
    assert!(
        d["spec"]["template"]["spec"]
            .get("enableServiceLinks")
            .is_none()
    );
    let recreate = defaulted(
        "apps",
        "Deployment",
        json!({"spec": {"strategy": {"type": "Recreate"}}}),
    );
    assert_eq!(recreate["spec"]["strategy"], json!({"type": "Recreate"}));

    let s = defaulted(
        "apps",
        "StatefulSet",
        json!({"spec": {"template": template}}),
    );
    assert_eq!(s["spec"]["podManagementPolicy"], "OrderedReady");
    assert_eq!(
        s["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    );
    assert_eq!(
        s["spec"]["persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
    let ds = defaulted("apps", "DaemonSet", json!({"spec": {"template": template}}));
    assert_eq!(
        ds["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    );
    let rs = defaulted("apps", "ReplicaSet", json!({"spec": {}}));
    assert_eq!(rs["spec"]["replicas"], 1);

    let job = defaulted("batch", "Job", json!({"spec": {"template": template}}));
    assert_eq!(job["metadata"]["labels"], json!({"app": "a"}));
    for (field, want) in [
        ("completions", json!(1)),
        ("parallelism", json!(1)),
        ("backoffLimit", json!(6)),
        ("completionMode", json!("NonIndexed")),
        ("suspend", json!(false)),
        ("podReplacementPolicy", json!("TerminatingOrFailed")),
    ] {
        assert_eq!(job["spec"][field], want, "{field}");
    }
    let cj = defaulted(
        "batch",
        "CronJob",
        json!({"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}}),
    );
    assert_eq!(cj["spec"]["concurrencyPolicy"], "Allow");
    assert_eq!(cj["spec"]["successfulJobsHistoryLimit"], 3);
    assert_eq!(cj["spec"]["failedJobsHistoryLimit"], 1);
    assert_eq!(cj["spec"]["suspend"], false);
    assert_eq!(
        cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"],
        "ClusterFirst"
    );
}

#[test]
fn invalid_values_get_upstreams_messages() {
    let messages = |group: &str, kind: &str, obj: Value| -> Vec<String> {
        let obj = defaulted(group, kind, obj);
        validate(group, kind, &obj)
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(
        messages(
            "",
            "Pod",
            json!({"spec": {"restartPolicy": "Bogus", "containers": [{"name": "a", "image": "x"}]}})
        ),
        [
            r#"spec.restartPolicy: Unsupported value: "Bogus": supported values: "Always", "Never", "OnFailure""#
        ]
    );
    assert_eq!(
        messages(
            "",
            "Pod",
            json!({"spec": {"dnsPolicy": "X", "containers": [{"name": "a", "image": "x", "imagePullPolicy": "Sometimes"}]}})
        ),
        [
            r#"spec.dnsPolicy: Unsupported value: "X": supported values: "ClusterFirst", "ClusterFirstWithHostNet", "Default", "None""#,
            r#"spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never""#,
        ]
    );
    assert_eq!(
        messages(
            "",
            "Service",
            json!({"spec": {"type": "Bogus", "ports": [{"port": 80}]}})
        ),
        [
            r#"spec.type: Unsupported value: "Bogus": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort""#
        ]
    );
    assert_eq!(
        messages("", "Service", json!({"spec": {}})),
        ["spec.ports: Required value"]
    );
    assert_eq!(
        messages(
            "",
            "Service",
            json!({"spec": {"ports": [{"port": 80, "nodePort": 30001}]}})
        ),
        ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]
    );
    assert_eq!(
        messages(
            "apps",
            "Deployment",
            json!({"spec": {"replicas": -1, "strategy": {"type": "Sideways"},
                            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "a", "image": "x"}]}}}})
        ),
        [
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
            r#"spec.strategy.type: Unsupported value: "Sideways": supported values: "Recreate", "RollingUpdate""#,
            r#"spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always""#,
        ]
    );
    assert_eq!(
        messages(
            "batch",
            "Job",
            json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}})
        ),
        [
            r#"spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never""#
        ]
    );
    assert!(
        messages(
            "batch",
            "Job",
            json!({"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "a", "image": "x"}]}}}})
        )
        .is_empty()
    );
}

#[test]
fn generation_only_where_upstream_keeps_it() {
    for (group, resource, want) in [
        ("", "pods", true),
        ("", "configmaps", false),
        ("", "services", false),
        ("apps", "deployments", true),
        ("batch", "cronjobs", true),
        ("networking.k8s.io", "ingresses", true),
        ("coordination.k8s.io", "leases", false),
    ] {
        assert_eq!(
            tracks_generation(group, resource),
            want,
            "{group}/{resource}"
        );
    }
}

#[test]
fn a_service_update_keeps_allocations_and_drops_what_its_new_type_does_not_use() {
    let old = json!({"spec": {"type": "NodePort", "clusterIP": "10.0.0.7", "clusterIPs": ["10.0.0.7"],
                              "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                              "externalTrafficPolicy": "Cluster",
                              "ports": [{"name": "a", "port": 80, "nodePort": 30001},
                                        {"name": "b", "port": 81, "nodePort": 30002}]}});
    // A PUT of what the client first sent keeps what was allocated.
    let mut same_type = defaulted(
        "",
        "Service",
        json!({"spec": {"type": "NodePort", "ports": [{"name": "b", "port": 81}, {"name": "a", "port": 80}]}}),
    );
    prepare_for_update("", "Service", &mut same_type, &old);
    assert_eq!(same_type["spec"]["clusterIP"], "10.0.0.7");
    assert_eq!(same_type["spec"]["clusterIPs"], json!(["10.0.0.7"]));
    assert_eq!(same_type["spec"]["ports"][0]["nodePort"], 30002);
    assert_eq!(same_type["spec"]["ports"][1]["nodePort"], 30001);
    // A merge patch to ClusterIP leaves the node ports in place: dropped.
    let mut to_cluster_ip = old.clone();
    to_cluster_ip["spec"]["type"] = json!("ClusterIP");
    prepare_for_update("", "Service", &mut to_cluster_ip, &old);
    assert!(to_cluster_ip["spec"]["ports"][0].get("nodePort").is_none());
    assert!(to_cluster_ip["spec"].get("externalTrafficPolicy").is_none());
    assert_eq!(to_cluster_ip["spec"]["clusterIP"], "10.0.0.7");
    assert!(validate("", "Service", &to_cluster_ip).is_empty());
    // To ExternalName: the cluster IP and families go too.
    let mut to_external = old.clone();
    to_external["spec"]["type"] = json!("ExternalName");
    to_external["spec"]["externalName"] = json!("example.com");
    prepare_for_update("", "Service", &mut to_external, &old);
    assert!(to_external["spec"].get("clusterIP").is_none());
    assert!(to_external["spec"].get("ipFamilies").is_none());
}

#[test]
fn a_new_job_selects_its_pods_by_uid() {
    let mut job = defaulted(
        "batch",
        "Job",
        json!({"metadata": {"name": "pi", "uid": "u-1"},
               "spec": {"template": {"spec": {"restartPolicy": "Never",
                                               "containers": [{"name": "a", "image": "x"}]}}}}),
    );
    prepare_for_create("batch", "Job", &mut job);
    let labels = json!({"job-name": "pi", "batch.kubernetes.io/job-name": "pi",
                        "controller-uid": "u-1", "batch.kubernetes.io/controller-uid": "u-1"});
    assert_eq!(job["spec"]["template"]["metadata"]["labels"], labels);
    assert_eq!(job["metadata"]["labels"], labels);
    assert_eq!(
        job["spec"]["selector"],
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}})
    );
    let mut manual =
        json!({"metadata": {"name": "m", "uid": "u"}, "spec": {"manualSelector": true}});
    prepare_for_create("batch", "Job", &mut manual);
    assert!(manual["spec"].get("selector").is_none());
}

#[test]
fn a_new_pod_gets_its_priority_and_node_tolerations() {
    let mut pod = defaulted(
        "",
        "Pod",
        json!({"spec": {"containers": [{"name": "a", "image": "x"}]}}),
    );
    prepare_for_create("", "Pod", &mut pod);
    assert_eq!(pod["spec"]["priority"], 0);
    assert_eq!(pod["spec"]["preemptionPolicy"], "PreemptLowerPriority");
    assert_eq!(
        pod["spec"]["tolerations"],
        json!([
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        ])
    );
    let mut critical = json!({"spec": {"priorityClassName": "system-node-critical",
                                       "tolerations": [{"operator": "Exists"}]}});
    prepare_for_create("", "Pod", &mut critical);
    assert_eq!(critical["spec"]["priority"], 2_000_001_000);
    assert_eq!(
        critical["spec"]["tolerations"],
        json!([{"operator": "Exists"}])
    );
    let mut other = json!({"spec": {"priorityClassName": "mine"}});
    prepare_for_create("", "Pod", &mut other);
    assert!(other["spec"].get("priority").is_none());
}

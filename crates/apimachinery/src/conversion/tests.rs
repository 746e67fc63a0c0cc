use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

use super::hpa::{BEHAVIOR, CONDITIONS, CURRENT_METRICS, METRICS};
use super::*;

const CATALOG: &str = include_str!("../../data/catalog.json");

fn hpa(version: &str, obj: Value) -> Value {
    let mut obj = obj;
    obj["apiVersion"] = json!(format!("autoscaling/{version}"));
    obj["kind"] = json!("HorizontalPodAutoscaler");
    obj
}

fn to(obj: &Value, version: &str) -> Value {
    convert(
        "autoscaling",
        "HorizontalPodAutoscaler",
        obj.clone(),
        "v2",
        version,
    )
    .unwrap()
}

fn annotation(obj: &Value, key: &str) -> Value {
    serde_json::from_str(obj["metadata"]["annotations"][key].as_str().unwrap()).unwrap()
}

#[test]
fn every_multi_version_resource_of_the_catalog_is_in_the_table_with_its_versions() {
    let catalog: Value = serde_json::from_str(CATALOG).unwrap();
    let mut versions: BTreeMap<(String, String, String), BTreeSet<String>> = BTreeMap::new();
    for r in catalog["resources"].as_array().unwrap() {
        versions
            .entry((
                r["group"].as_str().unwrap().to_owned(),
                r["resource"].as_str().unwrap().to_owned(),
                r["kind"].as_str().unwrap().to_owned(),
            ))
            .or_default()
            .insert(r["version"].as_str().unwrap().to_owned());
    }
    let multi: Vec<_> = versions.iter().filter(|(_, v)| v.len() > 1).collect();
    for ((group, resource, kind), vs) in &multi {
        let entry = MULTI_VERSION
            .iter()
            .find(|m| m.group == group && m.resource == resource)
            .unwrap_or_else(|| {
                panic!("{group}/{resource} is served in {vs:?} but not in MULTI_VERSION")
            });
        assert_eq!(entry.kind, kind);
        let table: BTreeSet<String> = entry.versions().map(str::to_owned).collect();
        assert_eq!(&table, *vs, "{group}/{resource}");
        assert_eq!(
            entry.between == Between::Nothing,
            entry.same_schema.len() == 1,
            "{group}/{resource}: one class exactly when nothing converts"
        );
        for release in crate::catalog::EmulatedVersion::supported() {
            let v = entry.storage_version(release.version().minor);
            assert!(
                table.contains(v),
                "{group}/{resource}: storage {v} at {release}"
            );
        }
    }
    assert_eq!(
        multi.len(),
        MULTI_VERSION.len(),
        "stale entries in MULTI_VERSION"
    );
}

#[test]
fn storage_versions_follow_the_release() {
    let r135 = crate::catalog::EmulatedVersion::parse("1.35").unwrap();
    let r136 = crate::catalog::EmulatedVersion::parse("1.36").unwrap();
    assert_eq!(
        storage_version("autoscaling", "horizontalpodautoscalers", r135, "v1"),
        "v2"
    );
    assert_eq!(
        storage_version("autoscaling", "horizontalpodautoscalers", r136, "v1"),
        "v2"
    );
    assert_eq!(
        storage_version("scheduling.k8s.io", "workloads", r135, "v1alpha1"),
        "v1alpha1"
    );
    assert_eq!(
        storage_version("scheduling.k8s.io", "workloads", r136, "v1alpha2"),
        "v1alpha2"
    );
    assert_eq!(
        storage_version(
            "admissionregistration.k8s.io",
            "mutatingadmissionpolicies",
            r136,
            "v1"
        ),
        "v1beta1"
    );
    assert_eq!(storage_version("apps", "deployments", r136, "v1"), "v1");
}

#[test]
fn same_schema_versions_change_only_api_version() {
    let ip = json!({"apiVersion": "networking.k8s.io/v1beta1", "kind": "IPAddress",
        "metadata": {"name": "10.0.0.5"}, "spec": {"parentRef": {"resource": "services", "name": "x", "namespace": "default"}}});
    let out = convert("networking.k8s.io", "IPAddress", ip.clone(), "v1", "v1").unwrap();
    let mut expected = ip;
    expected["apiVersion"] = json!("networking.k8s.io/v1");
    assert_eq!(out, expected);
    // Without an apiVersion, the assumed version; another group is refused.
    let bare = json!({"kind": "ConfigMap", "data": {"a": "b"}});
    assert_eq!(
        convert("", "ConfigMap", bare, "v1", "v1").unwrap()["apiVersion"],
        "v1"
    );
    let wrong = json!({"apiVersion": "apps/v1", "kind": "HorizontalPodAutoscaler"});
    assert!(matches!(
        convert("autoscaling", "HorizontalPodAutoscaler", wrong, "v2", "v1"),
        Err(ConversionError::OtherGroup { .. })
    ));
    assert_eq!(
        convert("", "ConfigMap", json!([1]), "v1", "v1"),
        Err(ConversionError::NotAnObject)
    );
}

// ---------------------------------------------------------------------------
// HorizontalPodAutoscaler golden conversions

#[test]
fn hpa_v2_cpu_utilization_reads_as_v1_target() {
    let v2 = hpa(
        "v2",
        json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 1, "maxReplicas": 5,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}],
            },
        }),
    );
    let v1 = to(&v2, "v1");
    assert_eq!(
        v1,
        json!({
            "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 70,
            },
        })
    );
    assert_eq!(to(&v1, "v2"), v2);
}

#[test]
fn hpa_v1_without_target_gets_the_implicit_80_percent() {
    let v1 = hpa(
        "v1",
        json!({
            "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3},
        }),
    );
    let v2 = to(&v1, "v2");
    assert_eq!(
        v2["spec"]["metrics"],
        json!([
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}
        ])
    );
    assert_eq!(to(&v2, "v1")["spec"]["targetCPUUtilizationPercentage"], 80);
}

#[test]
fn hpa_v2_only_fields_travel_in_annotations() {
    let behavior = json!({"scaleDown": {"stabilizationWindowSeconds": 300,
        "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}], "selectPolicy": "Max"}});
    let conditions = json!([{"type": "AbleToScale", "status": "True",
        "lastTransitionTime": "2026-01-01T00:00:00Z", "reason": "ReadyForNewScale", "message": "ok"}]);
    let v2 = hpa(
        "v2",
        json!({
            "metadata": {"name": "web", "annotations": {"team": "a", METRICS: "stale"}},
            "spec": {
                "scaleTargetRef": {"kind": "Deployment", "name": "web"},
                "maxReplicas": 10,
                "metrics": [
                    {"type": "Pods", "pods": {"metric": {"name": "qps", "selector": {"matchLabels": {"a": "b"}}},
                        "target": {"type": "AverageValue", "averageValue": "1k"}}},
                    {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}},
                    {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}},
                    {"type": "Object", "object": {"describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main"},
                        "metric": {"name": "requests"}, "target": {"type": "Value", "value": "10"}}},
                    {"type": "External", "external": {"metric": {"name": "queue", "selector": {"matchLabels": {"q": "x"}}},
                        "target": {"type": "AverageValue", "averageValue": "30"}}},
                    {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app",
                        "target": {"type": "Utilization", "averageUtilization": 60}}},
                ],
                "behavior": behavior,
            },
            "status": {
                "observedGeneration": 2, "currentReplicas": 3, "desiredReplicas": 4,
                "currentMetrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 42, "averageValue": "210m"}}},
                    {"type": "Pods", "pods": {"metric": {"name": "qps"}, "current": {"averageValue": "900"}}},
                ],
                "conditions": conditions,
            },
        }),
    );
    let v1 = to(&v2, "v1");
    assert_eq!(
        v1["spec"],
        json!({"scaleTargetRef": {"kind": "Deployment", "name": "web"},
        "maxReplicas": 10, "targetCPUUtilizationPercentage": 50})
    );
    assert_eq!(
        v1["status"],
        json!({"observedGeneration": 2, "currentReplicas": 3,
        "desiredReplicas": 4, "currentCPUUtilizationPercentage": 42})
    );
    assert_eq!(v1["metadata"]["annotations"]["team"], "a");
    // v1's metric shape, as upstream's autoscaling/v1 MetricSpec.
    assert_eq!(
        annotation(&v1, METRICS),
        json!([
            {"type": "Pods", "pods": {"metricName": "qps", "selector": {"matchLabels": {"a": "b"}}, "targetAverageValue": "1k"}},
            {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "100Mi"}},
            {"type": "Object", "object": {"target": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main"},
                "metricName": "requests", "targetValue": "10"}},
            {"type": "External", "external": {"metricName": "queue", "metricSelector": {"matchLabels": {"q": "x"}}, "targetAverageValue": "30"}},
            {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app", "targetAverageUtilization": 60}},
        ])
    );
    assert_eq!(
        annotation(&v1, CURRENT_METRICS),
        json!([
            {"type": "Resource", "resource": {"name": "cpu", "currentAverageUtilization": 42, "currentAverageValue": "210m"}},
            {"type": "Pods", "pods": {"metricName": "qps", "currentAverageValue": "900"}},
        ])
    );
    assert_eq!(annotation(&v1, BEHAVIOR), behavior);
    assert_eq!(annotation(&v1, CONDITIONS), conditions);

    // Back to v2: everything returns, the annotations go; as upstream, the
    // CPU target follows the other metrics.
    let back = to(&v1, "v2");
    assert_eq!(back["metadata"]["annotations"], json!({"team": "a"}));
    assert_eq!(back["spec"]["behavior"], behavior);
    assert_eq!(back["status"], v2["status"]);
    let mut expected_metrics = v2["spec"]["metrics"].as_array().unwrap().clone();
    let cpu = expected_metrics.remove(1);
    expected_metrics.push(cpu);
    assert_eq!(back["spec"]["metrics"], Value::Array(expected_metrics));
}

#[test]
fn hpa_v1_annotations_written_by_hand_are_read_or_ignored() {
    // A v1 client may send round-trip annotations; malformed ones are
    // ignored (never an error), well-formed ones are v2 fields.
    let v1 = hpa(
        "v1",
        json!({
            "metadata": {"name": "x", "annotations": {METRICS: "not json", CONDITIONS: "[]",
                BEHAVIOR: "{\"scaleUp\":{\"selectPolicy\":\"Disabled\"}}"}},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "x"}, "maxReplicas": 2, "targetCPUUtilizationPercentage": 30},
        }),
    );
    let v2 = to(&v1, "v2");
    assert!(v2["metadata"].get("annotations").is_none());
    assert_eq!(v2["spec"]["metrics"].as_array().unwrap().len(), 1);
    assert_eq!(
        v2["spec"]["behavior"],
        json!({"scaleUp": {"selectPolicy": "Disabled"}})
    );
    // Wrong types anywhere are absent fields, not panics.
    for junk in [
        json!({"spec": 5}),
        json!({"spec": {"metrics": "x"}, "status": []}),
        json!({"metadata": 1}),
    ] {
        let _ = to(&hpa("v2", junk.clone()), "v1");
        let _ = to(&hpa("v1", junk), "v2");
    }
}

// ---------------------------------------------------------------------------
// Round trips over generated objects

/// SplitMix64: deterministic, dependency-free.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self) -> bool {
        self.below(2) == 0
    }
    fn quantity(&mut self) -> Value {
        json!((["1", "250m", "1Ki", "3", "100Mi"][self.below(5) as usize]))
    }
    fn selector(&mut self) -> Option<Value> {
        self.chance()
            .then(|| json!({"matchLabels": {"k": format!("v{}", self.below(9))}}))
    }
    fn identifier(&mut self) -> Value {
        let mut m = json!({"name": format!("m{}", self.below(99))});
        if let Some(s) = self.selector() {
            m["selector"] = s;
        }
        m
    }
    fn object_ref(&mut self) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": format!("d{}", self.below(9))})
    }
}

/// A valid v2 metric: its target type matches the fields it sets.
fn gen_metric(g: &mut Gen, cpu_taken: &mut bool) -> Value {
    match g.below(5) {
        0 => {
            let name = if *cpu_taken || g.chance() {
                "memory"
            } else {
                "cpu"
            };
            let target = if name == "cpu" || g.chance() {
                json!({"type": "Utilization", "averageUtilization": g.below(100) + 1})
            } else {
                json!({"type": "AverageValue", "averageValue": g.quantity()})
            };
            if name == "cpu" {
                *cpu_taken = true;
            }
            json!({"type": "Resource", "resource": {"name": name, "target": target}})
        }
        1 => json!({"type": "Pods", "pods": {"metric": g.identifier(),
            "target": {"type": "AverageValue", "averageValue": g.quantity()}}}),
        2 => {
            let target = if g.chance() {
                json!({"type": "Value", "value": g.quantity()})
            } else {
                json!({"type": "AverageValue", "averageValue": g.quantity()})
            };
            json!({"type": "Object", "object": {"describedObject": g.object_ref(), "metric": g.identifier(), "target": target}})
        }
        3 => {
            let target = if g.chance() {
                json!({"type": "Value", "value": g.quantity()})
            } else {
                json!({"type": "AverageValue", "averageValue": g.quantity()})
            };
            json!({"type": "External", "external": {"metric": g.identifier(), "target": target}})
        }
        _ => {
            json!({"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "c",
            "target": {"type": "Utilization", "averageUtilization": g.below(100) + 1}}})
        }
    }
}

fn gen_status_metric(g: &mut Gen) -> Value {
    match g.below(5) {
        0 => {
            json!({"type": "Resource", "resource": {"name": (["cpu", "memory"][g.below(2) as usize]),
            "current": {"averageUtilization": g.below(100), "averageValue": g.quantity()}}})
        }
        1 => {
            json!({"type": "Pods", "pods": {"metric": g.identifier(), "current": {"averageValue": g.quantity()}}})
        }
        2 => {
            json!({"type": "Object", "object": {"describedObject": g.object_ref(), "metric": g.identifier(),
            "current": {"value": g.quantity(), "averageValue": g.quantity()}}})
        }
        3 => json!({"type": "External", "external": {"metric": g.identifier(),
            "current": {"value": g.quantity(), "averageValue": g.quantity()}}}),
        _ => {
            json!({"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "c",
            "current": {"averageUtilization": g.below(100)}}})
        }
    }
}

fn gen_hpa_v2(g: &mut Gen, i: u64) -> Value {
    let mut cpu = false;
    // At least one metric: a v2 object has one (v1 reads give the default).
    let metrics: Vec<Value> = (0..=g.below(4)).map(|_| gen_metric(g, &mut cpu)).collect();
    let mut obj = hpa(
        "v2",
        json!({
            "metadata": {"name": format!("h{i}"), "namespace": "ns", "uid": "u", "resourceVersion": "7"},
            "spec": {"scaleTargetRef": g.object_ref(), "maxReplicas": g.below(20) + 1, "metrics": metrics},
        }),
    );
    if g.chance() {
        obj["spec"]["minReplicas"] = json!(g.below(3) + 1);
    }
    if g.chance() {
        obj["metadata"]["annotations"] = json!({"note": "kept"});
    }
    if g.chance() {
        obj["spec"]["behavior"] = json!({"scaleUp": {"stabilizationWindowSeconds": g.below(600),
            "policies": [{"type": "Pods", "value": g.below(5) + 1, "periodSeconds": 15}]}});
    }
    if g.chance() {
        let current: Vec<Value> = (0..g.below(3)).map(|_| gen_status_metric(g)).collect();
        let mut status = json!({"currentReplicas": g.below(5), "desiredReplicas": g.below(5)});
        if !current.is_empty() {
            status["currentMetrics"] = Value::Array(current);
        }
        if g.chance() {
            status["conditions"] =
                json!([{"type": "ScalingActive", "status": "True", "reason": "r"}]);
        }
        if g.chance() {
            status["lastScaleTime"] = json!("2026-01-02T03:04:05Z");
        }
        obj["status"] = status;
    }
    obj
}

/// `spec.metrics` as a multiset: v1 moves the CPU target last, as upstream.
fn normalized(mut obj: Value) -> Value {
    if let Some(Value::Array(m)) = obj.pointer_mut("/spec/metrics") {
        m.sort_by_key(|v| v.to_string());
    }
    obj
}

#[test]
fn hpa_round_trips_lose_nothing() {
    let mut g = Gen(20);
    for i in 0..2000 {
        let v2 = gen_hpa_v2(&mut g, i);
        let v1 = to(&v2, "v1");
        let back = to(&v1, "v2");
        assert_eq!(
            normalized(back),
            normalized(v2.clone()),
            "v2 → v1 → v2 of {v2:#}"
        );
        // And v1 → v2 → v1 of what v1 clients see.
        let again = to(&to(&v1, "v2"), "v1");
        assert_eq!(again, v1, "v1 → v2 → v1 of {v1:#}");
    }
}

#[test]
fn same_schema_round_trips_lose_nothing() {
    let mut g = Gen(7);
    for entry in MULTI_VERSION
        .iter()
        .filter(|m| m.between == Between::Nothing)
    {
        for from in entry.versions() {
            for via in entry.versions() {
                let obj = json!({"apiVersion": api_version(entry.group, from), "kind": entry.kind,
                    "metadata": {"name": format!("o{}", g.below(100))}, "spec": {"x": g.quantity()}});
                let there = convert(entry.group, entry.kind, obj.clone(), from, via).unwrap();
                let back = convert(entry.group, entry.kind, there, from, from).unwrap();
                assert_eq!(back, obj, "{} {from} → {via} → {from}", entry.kind);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// resource.k8s.io v1beta1 ↔ v1

fn dra(kind: &str, obj: &Value, to: &str) -> Value {
    convert("resource.k8s.io", kind, obj.clone(), "v1", to).unwrap()
}

#[test]
fn dra_claim_requests_gather_their_exact_part() {
    let beta1 = json!({"apiVersion": "resource.k8s.io/v1beta1", "kind": "ResourceClaim",
        "metadata": {"name": "gpu"},
        "spec": {"devices": {"requests": [
            {"name": "one", "deviceClassName": "gpu.example.com", "allocationMode": "ExactCount", "count": 2,
                "selectors": [{"cel": {"expression": "device.driver == \"x\""}}], "adminAccess": false},
            {"name": "any", "firstAvailable": [{"name": "big", "deviceClassName": "big.example.com", "allocationMode": "All"}]},
        ]}},
        "status": {"allocation": {"devices": {"results": [{"request": "one", "driver": "x", "pool": "p", "device": "d0"}]}}}});
    let v1 = dra("ResourceClaim", &beta1, "v1");
    assert_eq!(
        v1["spec"]["devices"]["requests"],
        json!([
            {"name": "one", "exactly": {"deviceClassName": "gpu.example.com", "allocationMode": "ExactCount", "count": 2,
                "selectors": [{"cel": {"expression": "device.driver == \"x\""}}], "adminAccess": false}},
            {"name": "any", "firstAvailable": [{"name": "big", "deviceClassName": "big.example.com", "allocationMode": "All"}]},
        ])
    );
    assert_eq!(v1["status"], beta1["status"]);
    assert_eq!(dra("ResourceClaim", &v1, "v1beta1"), beta1);
    // v1beta2 has v1's shape.
    let beta2 = dra("ResourceClaim", &beta1, "v1beta2");
    assert_eq!(beta2["spec"], v1["spec"]);
    assert_eq!(dra("ResourceClaim", &beta2, "v1"), v1);

    let template = json!({"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate",
        "metadata": {"name": "t"},
        "spec": {"spec": {"devices": {"requests": [{"name": "r", "exactly": {"deviceClassName": "c"}}]}}}});
    let beta1 = dra("ResourceClaimTemplate", &template, "v1beta1");
    assert_eq!(
        beta1["spec"]["spec"]["devices"]["requests"],
        json!([{"name": "r", "deviceClassName": "c"}])
    );
    assert_eq!(dra("ResourceClaimTemplate", &beta1, "v1"), template);
}

#[test]
fn dra_slice_devices_move_under_basic() {
    let v1 = json!({"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice",
    "metadata": {"name": "node-1-gpu"},
    "spec": {"driver": "gpu.example.com", "nodeName": "node-1", "pool": {"name": "p", "generation": 1, "resourceSliceCount": 1},
        "devices": [
            {"name": "gpu-0", "attributes": {"model": {"string": "a100"}}, "capacity": {"memory": {"value": "40Gi"}}},
            {"name": "gpu-1"},
        ]}});
    let beta1 = dra("ResourceSlice", &v1, "v1beta1");
    assert_eq!(
        beta1["spec"]["devices"],
        json!([
            {"name": "gpu-0", "basic": {"attributes": {"model": {"string": "a100"}}, "capacity": {"memory": {"value": "40Gi"}}}},
            {"name": "gpu-1", "basic": {}},
        ])
    );
    assert_eq!(beta1["spec"]["nodeName"], "node-1");
    assert_eq!(dra("ResourceSlice", &beta1, "v1"), v1);
    assert_eq!(dra("ResourceSlice", &beta1, "v1beta2")["spec"], v1["spec"]);
    // DeviceClass: one schema in every version.
    let class = json!({"apiVersion": "resource.k8s.io/v1beta1", "kind": "DeviceClass", "metadata": {"name": "c"},
        "spec": {"selectors": [{"cel": {"expression": "true"}}]}});
    assert_eq!(dra("DeviceClass", &class, "v1")["spec"], class["spec"]);
}

fn gen_request(g: &mut Gen, i: u64) -> Value {
    if g.below(3) == 0 {
        return json!({"name": format!("r{i}"), "firstAvailable": [
            {"name": "a", "deviceClassName": "c", "count": g.below(4) + 1}]});
    }
    let mut exact = json!({"deviceClassName": format!("class-{}", g.below(3))});
    if g.chance() {
        exact["allocationMode"] = json!("ExactCount");
        exact["count"] = json!(g.below(5) + 1);
    }
    if g.chance() {
        exact["selectors"] = json!([{"cel": {"expression": "device.driver != \"\""}}]);
    }
    if g.chance() {
        exact["tolerations"] = json!([{"key": "k", "operator": "Exists", "effect": "NoSchedule"}]);
    }
    if g.chance() {
        exact["capacity"] = json!({"requests": {"memory": g.quantity()}});
    }
    json!({"name": format!("r{i}"), "exactly": exact})
}

#[test]
fn dra_round_trips_lose_nothing() {
    let mut g = Gen(99);
    for i in 0..500 {
        let requests: Vec<Value> = (0..g.below(4)).map(|j| gen_request(&mut g, j)).collect();
        let claim = json!({"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
            "metadata": {"name": format!("c{i}")}, "spec": {"devices": {"requests": requests}}});
        let devices: Vec<Value> = (0..g.below(4))
            .map(|j| {
                let mut d = json!({"name": format!("d{j}")});
                if g.chance() {
                    d["attributes"] = json!({"a": {"int": g.below(9)}});
                }
                if g.chance() {
                    d["capacity"] = json!({"memory": {"value": g.quantity()}});
                }
                if g.chance() {
                    d["taints"] = json!([{"key": "t", "effect": "NoExecute"}]);
                }
                d
            })
            .collect();
        let slice = json!({"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice",
            "metadata": {"name": format!("s{i}")}, "spec": {"driver": "d", "allNodes": true, "devices": devices}});
        for (kind, obj) in [("ResourceClaim", &claim), ("ResourceSlice", &slice)] {
            for via in ["v1beta1", "v1beta2"] {
                let there = dra(kind, obj, via);
                let back = dra(kind, &there, "v1");
                assert_eq!(&back, obj, "{kind} v1 → {via} → v1");
                // And the other way round from what v1beta1 clients see.
                if via == "v1beta1" {
                    assert_eq!(dra(kind, &dra(kind, &there, "v1beta2"), "v1beta1"), there);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Workload v1alpha1 ↔ v1alpha2

#[test]
fn workload_pod_groups_are_pod_group_templates() {
    let a1 = json!({"apiVersion": "scheduling.k8s.io/v1alpha1", "kind": "Workload", "metadata": {"name": "job"},
        "spec": {"controllerRef": {"apiGroup": "batch", "kind": "Job", "name": "job"},
            "podGroups": [{"name": "workers", "policy": {"gang": {"minCount": 4}}}, {"name": "driver", "policy": {"basic": {}}}]}});
    let w = |obj: &Value, to: &str| {
        convert("scheduling.k8s.io", "Workload", obj.clone(), "v1alpha2", to).unwrap()
    };
    let a2 = w(&a1, "v1alpha2");
    assert_eq!(
        a2["spec"],
        json!({"controllerRef": {"apiGroup": "batch", "kind": "Job", "name": "job"},
        "podGroupTemplates": [{"name": "workers", "schedulingPolicy": {"gang": {"minCount": 4}}},
            {"name": "driver", "schedulingPolicy": {"basic": {}}}]})
    );
    assert_eq!(w(&a2, "v1alpha1"), a1);
    // What only v1alpha2 has does not reach v1alpha1.
    let mut richer = a2.clone();
    richer["spec"]["podGroupTemplates"][0]["priority"] = json!(7);
    assert_eq!(w(&richer, "v1alpha1"), a1);
}

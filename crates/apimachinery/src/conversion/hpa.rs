//! HorizontalPodAutoscaler `autoscaling/v1` ↔ `autoscaling/v2`, with
//! upstream's field mapping:
//!
//! - `spec.targetCPUUtilizationPercentage` is the first `Resource` metric
//!   named `cpu` with an `averageUtilization` target; a v1 object without
//!   one and without other metrics gets upstream's implicit default (80 %).
//! - What v1 cannot express travels in annotations, as JSON: the other
//!   metrics (`autoscaling.alpha.kubernetes.io/metrics`, v1's metric shape:
//!   `targetAverageUtilization`, `metricName`, ...), all current metrics
//!   (`.../current-metrics`, v1's status shape), `spec.behavior`
//!   (`.../behavior`, v2's shape) and `status.conditions`
//!   (`.../conditions`). v1 → v2 reads them back and removes them; v2 → v1
//!   drops stale ones first, so only what the conversion wrote is there.
//! - `status.currentCPUUtilizationPercentage` is the `cpu` Resource current
//!   metric's `averageUtilization`.
//!
//! One difference from upstream's typed encoding: a quantity absent in v2
//! stays absent in the v1 annotations (upstream writes `"0"` for v1's
//! non-pointer quantities), so a round trip adds nothing. Annotation keys
//! are sorted.
//!
//! Pure; fields of the wrong type count as absent, annotations that do not
//! parse are ignored (as upstream).

use serde_json::{Map, Value, json};

pub(super) const METRICS: &str = "autoscaling.alpha.kubernetes.io/metrics";
pub(super) const CURRENT_METRICS: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
pub(super) const CONDITIONS: &str = "autoscaling.alpha.kubernetes.io/conditions";
pub(super) const BEHAVIOR: &str = "autoscaling.alpha.kubernetes.io/behavior";
const ROUND_TRIP: [&str; 4] = [METRICS, CURRENT_METRICS, CONDITIONS, BEHAVIOR];

/// v1's implicit CPU target.
pub(super) const DEFAULT_CPU_UTILIZATION: i64 = 80;

pub(super) fn convert(from: &str, to: &str, obj: Value) -> Value {
    match (from, to) {
        ("v2", "v1") => v2_to_v1(obj),
        ("v1", "v2") => v1_to_v2(obj),
        _ => obj,
    }
}

fn take_object(map: &mut Map<String, Value>, key: &str) -> Map<String, Value> {
    match map.remove(key) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

fn take_array(map: &mut Map<String, Value>, key: &str) -> Vec<Value> {
    match map.remove(key) {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    }
}

/// Moves `keys` present in `from` to `to`.
fn copy(from: &Map<String, Value>, to: &mut Map<String, Value>, keys: &[&str]) {
    for k in keys {
        if let Some(v) = from.get(*k) {
            to.insert((*k).to_owned(), v.clone());
        }
    }
}

/// Sets `to[to_key]` to `from[from_key]` when present.
fn rename(from: &Map<String, Value>, from_key: &str, to: &mut Map<String, Value>, to_key: &str) {
    if let Some(v) = from.get(from_key)
        && !v.is_null()
    {
        to.insert(to_key.to_owned(), v.clone());
    }
}

fn obj_at<'a>(v: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
    v.get(key).and_then(Value::as_object)
}

fn empty() -> &'static Map<String, Value> {
    static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
    &EMPTY
}

/// The object's annotations without the round-trip ones.
fn annotations_without_round_trip(
    obj: &mut Map<String, Value>,
) -> (Map<String, Value>, Map<String, Value>) {
    let mut meta = take_object(obj, "metadata");
    let mut annotations = take_object(&mut meta, "annotations");
    let mut round_trip = Map::new();
    for key in ROUND_TRIP {
        if let Some(v) = annotations.remove(key) {
            round_trip.insert(key.to_owned(), v);
        }
    }
    if !annotations.is_empty() {
        meta.insert("annotations".into(), Value::Object(annotations));
    }
    (meta, round_trip)
}

fn add_annotation(meta: &mut Map<String, Value>, key: &str, value: &Value) {
    let text = serde_json::to_string(value).unwrap_or_default();
    let annotations = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(a) = annotations {
        a.insert(key.to_owned(), Value::String(text));
    }
}

fn is_cpu_resource(metric: &Value, field: &str) -> bool {
    metric.get("type").and_then(Value::as_str) == Some("Resource")
        && metric
            .get("resource")
            .and_then(|r| r.get("name"))
            .and_then(Value::as_str)
            == Some("cpu")
        && metric
            .pointer(&format!("/resource/{field}/averageUtilization"))
            .is_some_and(|u| !u.is_null())
}

fn cpu_metric(utilization: Value) -> Value {
    json!({
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": utilization}},
    })
}

// ---------------------------------------------------------------------------
// v2 → v1

fn v2_to_v1(obj: Value) -> Value {
    let Value::Object(mut obj) = obj else {
        return obj;
    };
    let (mut meta, _stale) = annotations_without_round_trip(&mut obj);
    let mut spec = take_object(&mut obj, "spec");
    let status = obj.remove("status");
    let metrics = take_array(&mut spec, "metrics");
    let behavior = spec.remove("behavior").filter(|b| !b.is_null());

    let mut out_spec = Map::new();
    copy(
        &spec,
        &mut out_spec,
        &["scaleTargetRef", "minReplicas", "maxReplicas"],
    );
    if let Some(cpu) = metrics.iter().find(|m| is_cpu_resource(m, "target")) {
        rename(
            &cpu["resource"]["target"]
                .as_object()
                .cloned()
                .unwrap_or_default(),
            "averageUtilization",
            &mut out_spec,
            "targetCPUUtilizationPercentage",
        );
    }
    let others: Vec<Value> = metrics
        .iter()
        .filter(|m| !is_cpu_resource(m, "target"))
        .map(metric_spec_to_v1)
        .collect();

    let mut out_status = None;
    let mut current = Vec::new();
    let mut conditions = Vec::new();
    if let Some(Value::Object(mut status)) = status {
        current = take_array(&mut status, "currentMetrics");
        conditions = take_array(&mut status, "conditions");
        let mut s = Map::new();
        copy(
            &status,
            &mut s,
            &[
                "observedGeneration",
                "lastScaleTime",
                "currentReplicas",
                "desiredReplicas",
            ],
        );
        for m in current.iter().filter(|m| is_cpu_resource(m, "current")) {
            s.insert(
                "currentCPUUtilizationPercentage".into(),
                m["resource"]["current"]["averageUtilization"].clone(),
            );
        }
        out_status = Some(s);
    }

    if !others.is_empty() {
        add_annotation(&mut meta, METRICS, &Value::Array(others));
    }
    if !current.is_empty() {
        let v1: Vec<Value> = current.iter().map(metric_status_to_v1).collect();
        add_annotation(&mut meta, CURRENT_METRICS, &Value::Array(v1));
    }
    if let Some(b) = &behavior {
        add_annotation(&mut meta, BEHAVIOR, b);
    }
    if !conditions.is_empty() {
        add_annotation(&mut meta, CONDITIONS, &Value::Array(conditions));
    }
    obj.insert("metadata".into(), Value::Object(meta));
    obj.insert("spec".into(), Value::Object(out_spec));
    if let Some(s) = out_status {
        obj.insert("status".into(), Value::Object(s));
    }
    Value::Object(obj)
}

/// v2 `MetricSpec` → v1 `MetricSpec` (the annotation's shape).
fn metric_spec_to_v1(m: &Value) -> Value {
    let mut out = Map::new();
    copy(m.as_object().unwrap_or(empty()), &mut out, &["type"]);
    if let Some(r) = obj_at(m, "resource") {
        out.insert("resource".into(), Value::Object(resource_source_to_v1(r)));
    }
    if let Some(r) = obj_at(m, "containerResource") {
        let mut c = resource_source_to_v1(r);
        copy(r, &mut c, &["container"]);
        out.insert("containerResource".into(), Value::Object(c));
    }
    if let Some(p) = obj_at(m, "pods") {
        let mut o = metric_identifier_to_v1(p, "selector");
        rename(
            obj_at(&Value::Object(p.clone()), "target").unwrap_or(empty()),
            "averageValue",
            &mut o,
            "targetAverageValue",
        );
        out.insert("pods".into(), Value::Object(o));
    }
    if let Some(x) = obj_at(m, "object") {
        let mut o = metric_identifier_to_v1(x, "selector");
        let target = x
            .get("target")
            .and_then(Value::as_object)
            .unwrap_or(empty());
        rename(target, "value", &mut o, "targetValue");
        rename(target, "averageValue", &mut o, "averageValue");
        rename(x, "describedObject", &mut o, "target");
        out.insert("object".into(), Value::Object(o));
    }
    if let Some(x) = obj_at(m, "external") {
        let mut o = metric_identifier_to_v1(x, "metricSelector");
        let target = x
            .get("target")
            .and_then(Value::as_object)
            .unwrap_or(empty());
        rename(target, "value", &mut o, "targetValue");
        rename(target, "averageValue", &mut o, "targetAverageValue");
        out.insert("external".into(), Value::Object(o));
    }
    Value::Object(out)
}

fn resource_source_to_v1(r: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    copy(r, &mut out, &["name"]);
    let target = r
        .get("target")
        .and_then(Value::as_object)
        .unwrap_or(empty());
    rename(
        target,
        "averageUtilization",
        &mut out,
        "targetAverageUtilization",
    );
    rename(target, "averageValue", &mut out, "targetAverageValue");
    out
}

/// v2's `metric: {name, selector}` as v1's `metricName` and `selector_key`.
fn metric_identifier_to_v1(x: &Map<String, Value>, selector_key: &str) -> Map<String, Value> {
    let mut out = Map::new();
    let metric = x
        .get("metric")
        .and_then(Value::as_object)
        .unwrap_or(empty());
    rename(metric, "name", &mut out, "metricName");
    rename(metric, "selector", &mut out, selector_key);
    out
}

/// v2 `MetricStatus` → v1 `MetricStatus`.
fn metric_status_to_v1(m: &Value) -> Value {
    let mut out = Map::new();
    copy(m.as_object().unwrap_or(empty()), &mut out, &["type"]);
    let current_of = |x: &Map<String, Value>| -> Map<String, Value> {
        x.get("current")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    if let Some(r) = obj_at(m, "resource") {
        out.insert("resource".into(), Value::Object(resource_status_to_v1(r)));
    }
    if let Some(r) = obj_at(m, "containerResource") {
        let mut c = resource_status_to_v1(r);
        copy(r, &mut c, &["container"]);
        out.insert("containerResource".into(), Value::Object(c));
    }
    if let Some(p) = obj_at(m, "pods") {
        let mut o = metric_identifier_to_v1(p, "selector");
        rename(
            &current_of(p),
            "averageValue",
            &mut o,
            "currentAverageValue",
        );
        out.insert("pods".into(), Value::Object(o));
    }
    if let Some(x) = obj_at(m, "object") {
        let mut o = metric_identifier_to_v1(x, "selector");
        let current = current_of(x);
        rename(&current, "value", &mut o, "currentValue");
        rename(&current, "averageValue", &mut o, "averageValue");
        rename(x, "describedObject", &mut o, "target");
        out.insert("object".into(), Value::Object(o));
    }
    if let Some(x) = obj_at(m, "external") {
        let mut o = metric_identifier_to_v1(x, "metricSelector");
        let current = current_of(x);
        rename(&current, "value", &mut o, "currentValue");
        rename(&current, "averageValue", &mut o, "currentAverageValue");
        out.insert("external".into(), Value::Object(o));
    }
    Value::Object(out)
}

fn resource_status_to_v1(r: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    copy(r, &mut out, &["name"]);
    let current = r
        .get("current")
        .and_then(Value::as_object)
        .unwrap_or(empty());
    rename(
        current,
        "averageUtilization",
        &mut out,
        "currentAverageUtilization",
    );
    rename(current, "averageValue", &mut out, "currentAverageValue");
    out
}

// ---------------------------------------------------------------------------
// v1 → v2

fn parse_annotation(round_trip: &Map<String, Value>, key: &str) -> Option<Value> {
    round_trip
        .get(key)
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str(s).ok())
}

fn v1_to_v2(obj: Value) -> Value {
    let Value::Object(mut obj) = obj else {
        return obj;
    };
    let (meta, round_trip) = annotations_without_round_trip(&mut obj);
    let spec = take_object(&mut obj, "spec");
    let status = obj.remove("status");

    let mut out_spec = Map::new();
    copy(
        &spec,
        &mut out_spec,
        &["scaleTargetRef", "minReplicas", "maxReplicas"],
    );
    let mut metrics: Vec<Value> = Vec::new();
    if let Some(Value::Array(others)) = parse_annotation(&round_trip, METRICS) {
        metrics.extend(others.iter().map(metric_spec_from_v1));
    }
    if let Some(cpu) = spec
        .get("targetCPUUtilizationPercentage")
        .filter(|v| !v.is_null())
    {
        metrics.push(cpu_metric(cpu.clone()));
    }
    if metrics.is_empty() {
        metrics.push(cpu_metric(json!(DEFAULT_CPU_UTILIZATION)));
    }
    out_spec.insert("metrics".into(), Value::Array(metrics));
    if let Some(Value::Object(b)) = parse_annotation(&round_trip, BEHAVIOR)
        && !b.is_empty()
    {
        out_spec.insert("behavior".into(), Value::Object(b));
    }

    let mut out_status = None;
    if let Some(Value::Object(status)) = status {
        let mut s = Map::new();
        copy(
            &status,
            &mut s,
            &[
                "observedGeneration",
                "lastScaleTime",
                "currentReplicas",
                "desiredReplicas",
            ],
        );
        if let Some(cpu) = status
            .get("currentCPUUtilizationPercentage")
            .filter(|v| !v.is_null())
        {
            s.insert(
                "currentMetrics".into(),
                json!([{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": cpu}}}]),
            );
        }
        out_status = Some(s);
    }
    if let Some(Value::Array(current)) = parse_annotation(&round_trip, CURRENT_METRICS) {
        let s = out_status.get_or_insert_with(Map::new);
        s.insert(
            "currentMetrics".into(),
            Value::Array(current.iter().map(metric_status_from_v1).collect()),
        );
    }
    if let Some(Value::Array(conditions)) = parse_annotation(&round_trip, CONDITIONS) {
        let s = out_status.get_or_insert_with(Map::new);
        s.insert("conditions".into(), Value::Array(conditions));
    }
    obj.insert("metadata".into(), Value::Object(meta));
    obj.insert("spec".into(), Value::Object(out_spec));
    if let Some(s) = out_status {
        obj.insert("status".into(), Value::Object(s));
    }
    Value::Object(obj)
}

/// v1's `metricName` and selector (under `selector_key`) as v2's `metric`.
fn metric_identifier_from_v1(x: &Map<String, Value>, selector_key: &str) -> Value {
    let mut metric = Map::new();
    rename(x, "metricName", &mut metric, "name");
    rename(x, selector_key, &mut metric, "selector");
    Value::Object(metric)
}

/// v1 `MetricSpec` → v2 `MetricSpec`: target types as upstream derives them.
fn metric_spec_from_v1(m: &Value) -> Value {
    let mut out = Map::new();
    copy(m.as_object().unwrap_or(empty()), &mut out, &["type"]);
    let present = |x: &Map<String, Value>, k: &str| x.get(k).is_some_and(|v| !v.is_null());
    let resource = |r: &Map<String, Value>| -> Map<String, Value> {
        let mut o = Map::new();
        copy(r, &mut o, &["name"]);
        let mut target = Map::new();
        let kind = if present(r, "targetAverageUtilization") {
            "Utilization"
        } else {
            "AverageValue"
        };
        target.insert("type".into(), json!(kind));
        rename(
            r,
            "targetAverageUtilization",
            &mut target,
            "averageUtilization",
        );
        rename(r, "targetAverageValue", &mut target, "averageValue");
        o.insert("target".into(), Value::Object(target));
        o
    };
    if let Some(r) = obj_at(m, "resource") {
        out.insert("resource".into(), Value::Object(resource(r)));
    }
    if let Some(r) = obj_at(m, "containerResource") {
        let mut c = resource(r);
        copy(r, &mut c, &["container"]);
        out.insert("containerResource".into(), Value::Object(c));
    }
    if let Some(p) = obj_at(m, "pods") {
        let mut target = Map::new();
        target.insert("type".into(), json!("AverageValue"));
        rename(p, "targetAverageValue", &mut target, "averageValue");
        out.insert(
            "pods".into(),
            json!({"metric": metric_identifier_from_v1(p, "selector"), "target": target}),
        );
    }
    if let Some(x) = obj_at(m, "object") {
        let mut target = Map::new();
        let kind = if present(x, "averageValue") {
            "AverageValue"
        } else {
            "Value"
        };
        target.insert("type".into(), json!(kind));
        rename(x, "targetValue", &mut target, "value");
        rename(x, "averageValue", &mut target, "averageValue");
        let mut o = Map::new();
        rename(x, "target", &mut o, "describedObject");
        o.insert("metric".into(), metric_identifier_from_v1(x, "selector"));
        o.insert("target".into(), Value::Object(target));
        out.insert("object".into(), Value::Object(o));
    }
    if let Some(x) = obj_at(m, "external") {
        let mut target = Map::new();
        let kind = if present(x, "targetValue") {
            "Value"
        } else {
            "AverageValue"
        };
        target.insert("type".into(), json!(kind));
        rename(x, "targetValue", &mut target, "value");
        rename(x, "targetAverageValue", &mut target, "averageValue");
        out.insert(
            "external".into(),
            json!({"metric": metric_identifier_from_v1(x, "metricSelector"), "target": target}),
        );
    }
    Value::Object(out)
}

/// v1 `MetricStatus` → v2 `MetricStatus`.
fn metric_status_from_v1(m: &Value) -> Value {
    let mut out = Map::new();
    copy(m.as_object().unwrap_or(empty()), &mut out, &["type"]);
    let resource = |r: &Map<String, Value>| -> Map<String, Value> {
        let mut o = Map::new();
        copy(r, &mut o, &["name"]);
        let mut current = Map::new();
        rename(
            r,
            "currentAverageUtilization",
            &mut current,
            "averageUtilization",
        );
        rename(r, "currentAverageValue", &mut current, "averageValue");
        o.insert("current".into(), Value::Object(current));
        o
    };
    if let Some(r) = obj_at(m, "resource") {
        out.insert("resource".into(), Value::Object(resource(r)));
    }
    if let Some(r) = obj_at(m, "containerResource") {
        let mut c = resource(r);
        copy(r, &mut c, &["container"]);
        out.insert("containerResource".into(), Value::Object(c));
    }
    if let Some(p) = obj_at(m, "pods") {
        let mut current = Map::new();
        rename(p, "currentAverageValue", &mut current, "averageValue");
        out.insert(
            "pods".into(),
            json!({"metric": metric_identifier_from_v1(p, "selector"), "current": current}),
        );
    }
    if let Some(x) = obj_at(m, "object") {
        let mut current = Map::new();
        rename(x, "currentValue", &mut current, "value");
        rename(x, "averageValue", &mut current, "averageValue");
        let mut o = Map::new();
        rename(x, "target", &mut o, "describedObject");
        o.insert("metric".into(), metric_identifier_from_v1(x, "selector"));
        o.insert("current".into(), Value::Object(current));
        out.insert("object".into(), Value::Object(o));
    }
    if let Some(x) = obj_at(m, "external") {
        let mut current = Map::new();
        rename(x, "currentValue", &mut current, "value");
        rename(x, "currentAverageValue", &mut current, "averageValue");
        out.insert(
            "external".into(),
            json!({"metric": metric_identifier_from_v1(x, "metricSelector"), "current": current}),
        );
    }
    Value::Object(out)
}

//! Workload controllers' objects (apps/v1 Deployment, ReplicaSet,
//! StatefulSet, DaemonSet; batch/v1 Job, CronJob; v1
//! ReplicationController): their spec defaults, their templates' PodSpec
//! defaults, and the validation of the defaulted fields.

use serde_json::{Map, Value, json};

use super::fields::{child, existing, or_ptr, or_str};
use super::pod::{enum_field, pod_spec};
use crate::validation::FieldError;

/// The PodSpec under `template.spec` of `spec`, defaulted.
fn template(spec: &mut Map<String, Value>) {
    if let Some(pod) = existing(spec, "template").and_then(|t| existing(t, "spec")) {
        pod_spec(pod);
    }
}

/// `spec.template.metadata.labels` when there are any.
fn template_labels(obj: &Map<String, Value>) -> Option<Value> {
    obj.get("spec")?
        .pointer("/template/metadata/labels")
        .filter(|l| l.as_object().is_some_and(|m| !m.is_empty()))
        .cloned()
}

pub(super) fn deployment(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    or_ptr(spec, "replicas", json!(1));
    if let Some(strategy) = child(spec, "strategy") {
        or_str(strategy, "type", "RollingUpdate");
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(rolling) = child(strategy, "rollingUpdate")
        {
            or_ptr(rolling, "maxUnavailable", json!("25%"));
            or_ptr(rolling, "maxSurge", json!("25%"));
        }
    }
    or_ptr(spec, "revisionHistoryLimit", json!(10));
    or_ptr(spec, "progressDeadlineSeconds", json!(600));
    template(spec);
}

pub(super) fn replica_set(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    or_ptr(spec, "replicas", json!(1));
    template(spec);
}

pub(super) fn replication_controller(obj: &mut Map<String, Value>) {
    if let Some(labels) = template_labels(obj) {
        if let Some(spec) = child(obj, "spec") {
            let empty = spec
                .get("selector")
                .and_then(Value::as_object)
                .is_none_or(Map::is_empty);
            if empty {
                spec.insert("selector".into(), labels.clone());
            }
        }
        if let Some(meta) = child(obj, "metadata") {
            let empty = meta
                .get("labels")
                .and_then(Value::as_object)
                .is_none_or(Map::is_empty);
            if empty {
                meta.insert("labels".into(), labels);
            }
        }
    }
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    or_ptr(spec, "replicas", json!(1));
    template(spec);
}

pub(super) fn stateful_set(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    or_str(spec, "podManagementPolicy", "OrderedReady");
    if let Some(strategy) = child(spec, "updateStrategy") {
        let unset = strategy
            .get("type")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if unset {
            strategy.insert("type".into(), json!("RollingUpdate"));
            or_ptr(strategy, "rollingUpdate", json!({}));
        }
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(rolling) = existing(strategy, "rollingUpdate")
        {
            or_ptr(rolling, "partition", json!(0));
        }
    }
    if let Some(policy) = child(spec, "persistentVolumeClaimRetentionPolicy") {
        or_str(policy, "whenDeleted", "Retain");
        or_str(policy, "whenScaled", "Retain");
    }
    or_ptr(spec, "replicas", json!(1));
    or_ptr(spec, "revisionHistoryLimit", json!(10));
    template(spec);
    for claim in super::fields::each(spec, "volumeClaimTemplates") {
        if let Some(claim_spec) = child(claim, "spec") {
            or_ptr(claim_spec, "volumeMode", json!("Filesystem"));
        }
        if let Some(status) = child(claim, "status") {
            or_str(status, "phase", "Pending");
        }
    }
}

pub(super) fn daemon_set(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    if let Some(strategy) = child(spec, "updateStrategy") {
        or_str(strategy, "type", "RollingUpdate");
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(rolling) = child(strategy, "rollingUpdate")
        {
            or_ptr(rolling, "maxUnavailable", json!(1));
            or_ptr(rolling, "maxSurge", json!(0));
        }
    }
    or_ptr(spec, "revisionHistoryLimit", json!(10));
    template(spec);
}

pub(super) fn job(obj: &mut Map<String, Value>) {
    if let Some(labels) = template_labels(obj)
        && let Some(meta) = child(obj, "metadata")
        && meta
            .get("labels")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty)
    {
        meta.insert("labels".into(), labels);
    }
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    let unset = |s: &Map<String, Value>, k: &str| s.get(k).is_none_or(Value::is_null);
    if unset(spec, "completions") && unset(spec, "parallelism") {
        spec.insert("completions".into(), json!(1));
        spec.insert("parallelism".into(), json!(1));
    }
    or_ptr(spec, "parallelism", json!(1));
    let backoff = if unset(spec, "backoffLimitPerIndex") {
        json!(6)
    } else {
        json!(i32::MAX)
    };
    or_ptr(spec, "backoffLimit", backoff);
    or_ptr(spec, "completionMode", json!("NonIndexed"));
    or_ptr(spec, "suspend", json!(false));
    let replacement = if unset(spec, "podFailurePolicy") {
        "TerminatingOrFailed"
    } else {
        "Failed"
    };
    or_ptr(spec, "podReplacementPolicy", json!(replacement));
    if let Some(policy) = existing(spec, "podFailurePolicy") {
        for rule in super::fields::each(policy, "rules") {
            for pattern in super::fields::each(rule, "onPodConditions") {
                or_str(pattern, "status", "True");
            }
        }
    }
    template(spec);
}

/// A new Job without `manualSelector: true` selects its own pods by its
/// UID: its template gets the job-name and controller-uid labels (both
/// spellings) unless set, its selector the controller-uid label; its own
/// labels then default from the template's, as on every later read
/// upstream.
pub(super) fn job_selector(obj: &mut Map<String, Value>) {
    let meta = |k: &str| {
        obj.get("metadata")
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let (name, uid) = (meta("name"), meta("uid"));
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    if spec.get("manualSelector") == Some(&Value::Bool(true)) {
        return;
    }
    if let Some(labels) = child(spec, "template")
        .and_then(|t| child(t, "metadata"))
        .and_then(|m| child(m, "labels"))
    {
        for (key, value) in [
            ("job-name", &name),
            ("batch.kubernetes.io/job-name", &name),
            ("controller-uid", &uid),
            ("batch.kubernetes.io/controller-uid", &uid),
        ] {
            labels.entry(key).or_insert_with(|| json!(value));
        }
    }
    if let Some(match_labels) = child(spec, "selector").and_then(|s| child(s, "matchLabels")) {
        match_labels
            .entry("batch.kubernetes.io/controller-uid")
            .or_insert_with(|| json!(uid));
    }
    job(obj);
}

pub(super) fn cron_job(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    or_str(spec, "concurrencyPolicy", "Allow");
    or_ptr(spec, "suspend", json!(false));
    or_ptr(spec, "successfulJobsHistoryLimit", json!(3));
    or_ptr(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(job_spec) = existing(spec, "jobTemplate").and_then(|t| existing(t, "spec")) {
        template(job_spec);
    }
}

/// Integer fields that may not be negative.
fn non_negative(spec: &Value, fields: &[&str], errors: &mut Vec<FieldError>) {
    for field in fields {
        if let Some(v) = spec.get(*field)
            && v.as_i64().is_some_and(|n| n < 0)
        {
            errors.push(FieldError::invalid(
                format!("spec.{field}"),
                v.clone(),
                "must be greater than or equal to 0",
            ));
        }
    }
}

/// The template of a controller that keeps its pods running: restart
/// policy `Always` only.
fn always_restarts(spec: &Value, path: &str, errors: &mut Vec<FieldError>) {
    if let Some(pod) = spec.pointer("/template/spec") {
        super::pod::validate_spec(pod, &format!("{path}.template.spec"), errors);
        match pod.get("restartPolicy") {
            Some(Value::String(s)) if s == "Always" => {}
            Some(v) => errors.push(FieldError::not_supported(
                format!("{path}.template.spec.restartPolicy"),
                v.clone(),
                &["Always"],
            )),
            None => {}
        }
    }
}

/// The template of a Job: pods that end, `OnFailure` or `Never`.
fn ends(spec: &Value, path: &str, errors: &mut Vec<FieldError>) {
    if let Some(pod) = spec.pointer("/template/spec") {
        super::pod::validate_spec(pod, &format!("{path}.template.spec"), errors);
        match pod.get("restartPolicy") {
            Some(Value::String(s)) if s == "OnFailure" || s == "Never" => {}
            Some(v) => errors.push(FieldError::not_supported(
                format!("{path}.template.spec.restartPolicy"),
                v.clone(),
                &["OnFailure", "Never"],
            )),
            None => {}
        }
    }
}

pub(super) fn validate(kind: &str, obj: &Value, errors: &mut Vec<FieldError>) {
    let Some(spec) = obj.get("spec") else {
        return;
    };
    match kind {
        "Deployment" => {
            non_negative(
                spec,
                &[
                    "replicas",
                    "revisionHistoryLimit",
                    "progressDeadlineSeconds",
                ],
                errors,
            );
            if let Some(strategy) = spec.get("strategy") {
                enum_field(
                    strategy,
                    "type",
                    "spec.strategy",
                    &["Recreate", "RollingUpdate"],
                    errors,
                );
            }
            always_restarts(spec, "spec", errors);
        }
        "ReplicaSet" | "ReplicationController" => {
            non_negative(spec, &["replicas"], errors);
            always_restarts(spec, "spec", errors);
        }
        "StatefulSet" => {
            non_negative(spec, &["replicas", "revisionHistoryLimit"], errors);
            always_restarts(spec, "spec", errors);
        }
        "DaemonSet" => {
            non_negative(spec, &["revisionHistoryLimit"], errors);
            if let Some(strategy) = spec.get("updateStrategy") {
                enum_field(
                    strategy,
                    "type",
                    "spec.updateStrategy",
                    &["OnDelete", "RollingUpdate"],
                    errors,
                );
            }
            always_restarts(spec, "spec", errors);
        }
        "Job" => {
            non_negative(
                spec,
                &["parallelism", "completions", "backoffLimit"],
                errors,
            );
            enum_field(
                spec,
                "completionMode",
                "spec",
                &["NonIndexed", "Indexed"],
                errors,
            );
            ends(spec, "spec", errors);
        }
        "CronJob" => {
            enum_field(
                spec,
                "concurrencyPolicy",
                "spec",
                &["Allow", "Forbid", "Replace"],
                errors,
            );
            if let Some(job_spec) = spec.pointer("/jobTemplate/spec") {
                ends(job_spec, "spec.jobTemplate.spec", errors);
            }
        }
        _ => {}
    }
}

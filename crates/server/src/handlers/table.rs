//! `meta.k8s.io/v1` Table output, what `kubectl get` asks for: columns per
//! kind (a small set of upstream's printers; NAME and AGE for the rest) and
//! one row per object.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use skewless_apimachinery::catalog::ResourceInfo;
use skewless_apimachinery::crd::{CustomResourceColumnDefinition, printer_cell};

use crate::registry::ServedCrd;

use crate::object;

/// A column: header, type, and how to compute a cell from an object.
struct Column {
    name: &'static str,
    kind: &'static str,
    priority: u8,
    cell: fn(&Value) -> Value,
}

fn age(obj: &Value) -> Value {
    json!(human_age(object::meta_str(obj, "creationTimestamp")))
}

/// kubectl-style short durations: `45s`, `3m12s`, `5h`, `3d`, `2y`.
pub(crate) fn human_age(timestamp: &str) -> String {
    let Some(then) = object::parse_rfc3339(timestamp) else {
        return "<unknown>".into();
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(then);
    let s = (now - then).max(0);
    match s {
        s if s < 120 => format!("{s}s"),
        s if s < 600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 3 * 3600 => format!("{}m", s / 60),
        s if s < 8 * 3600 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s if s < 8 * 86_400 => format!("{}d{}h", s / 86_400, (s % 86_400) / 3600),
        s if s < 730 * 86_400 => format!("{}d", s / 86_400),
        s => format!("{}y", s / (365 * 86_400)),
    }
}

fn count_of(obj: &Value, fields: &[&str]) -> Value {
    let n: usize = fields
        .iter()
        .map(|f| {
            obj.get(*f)
                .and_then(Value::as_object)
                .map_or(0, |m| m.len())
        })
        .sum();
    json!(n)
}

fn int_at(obj: &Value, ptr: &str) -> i64 {
    obj.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

fn str_at(obj: &Value, ptr: &str, default: &str) -> Value {
    json!(obj.pointer(ptr).and_then(Value::as_str).unwrap_or(default))
}

const NAME: Column = Column {
    name: "Name",
    kind: "string",
    priority: 0,
    cell: |o| json!(object::name(o)),
};
const AGE: Column = Column {
    name: "Age",
    kind: "string",
    priority: 0,
    cell: age,
};

/// `True`, `False (<reason>)` or `Unknown`, from the `Available` condition.
fn apiservice_available(o: &Value) -> Value {
    let condition = o
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("Available"))
        });
    let Some(c) = condition else {
        return json!("Unknown");
    };
    let status = c.get("status").and_then(Value::as_str).unwrap_or("Unknown");
    match c.get("reason").and_then(Value::as_str) {
        Some(reason) if status != "True" => json!(format!("{status} ({reason})")),
        _ => json!(status),
    }
}

fn columns(r: &ResourceInfo) -> Vec<Column> {
    let extra: Vec<Column> = match (r.group.as_str(), r.kind.as_str()) {
        ("", "ConfigMap") => vec![Column {
            name: "Data",
            kind: "integer",
            priority: 0,
            cell: |o| count_of(o, &["data", "binaryData"]),
        }],
        ("", "Secret") => vec![
            Column {
                name: "Type",
                kind: "string",
                priority: 0,
                cell: |o| str_at(o, "/type", "Opaque"),
            },
            Column {
                name: "Data",
                kind: "integer",
                priority: 0,
                cell: |o| count_of(o, &["data"]),
            },
        ],
        ("", "Namespace") => vec![Column {
            name: "Status",
            kind: "string",
            priority: 0,
            cell: |o| str_at(o, "/status/phase", "Active"),
        }],
        ("", "Service") => vec![
            Column {
                name: "Type",
                kind: "string",
                priority: 0,
                cell: |o| str_at(o, "/spec/type", "ClusterIP"),
            },
            Column {
                name: "Cluster-IP",
                kind: "string",
                priority: 0,
                cell: |o| str_at(o, "/spec/clusterIP", "<none>"),
            },
            Column {
                name: "External-IP",
                kind: "string",
                priority: 0,
                cell: |_| json!("<none>"),
            },
            Column {
                name: "Port(s)",
                kind: "string",
                priority: 0,
                cell: |o| {
                    let ports: Vec<String> = o
                        .pointer("/spec/ports")
                        .and_then(Value::as_array)
                        .map(|ps| {
                            ps.iter()
                                .map(|p| {
                                    format!(
                                        "{}/{}",
                                        p.get("port").and_then(Value::as_i64).unwrap_or(0),
                                        p.get("protocol").and_then(Value::as_str).unwrap_or("TCP")
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    json!(if ports.is_empty() {
                        "<none>".to_owned()
                    } else {
                        ports.join(",")
                    })
                },
            },
        ],
        ("", "Pod") => vec![
            Column {
                name: "Ready",
                kind: "string",
                priority: 0,
                cell: |o| {
                    let total = o
                        .pointer("/spec/containers")
                        .and_then(Value::as_array)
                        .map_or(0, Vec::len);
                    let ready = o
                        .pointer("/status/containerStatuses")
                        .and_then(Value::as_array)
                        .map_or(0, |c| {
                            c.iter()
                                .filter(|s| s.get("ready").and_then(Value::as_bool) == Some(true))
                                .count()
                        });
                    json!(format!("{ready}/{total}"))
                },
            },
            Column {
                name: "Status",
                kind: "string",
                priority: 0,
                cell: |o| str_at(o, "/status/phase", "Pending"),
            },
            Column {
                name: "Restarts",
                kind: "string",
                priority: 0,
                cell: |_| json!("0"),
            },
        ],
        ("apps", "Deployment" | "StatefulSet" | "ReplicaSet") => vec![
            Column {
                name: "Ready",
                kind: "string",
                priority: 0,
                cell: |o| {
                    json!(format!(
                        "{}/{}",
                        int_at(o, "/status/readyReplicas"),
                        int_at(o, "/spec/replicas")
                    ))
                },
            },
            Column {
                name: "Up-to-date",
                kind: "integer",
                priority: 0,
                cell: |o| json!(int_at(o, "/status/updatedReplicas")),
            },
            Column {
                name: "Available",
                kind: "integer",
                priority: 0,
                cell: |o| json!(int_at(o, "/status/availableReplicas")),
            },
        ],
        ("apiregistration.k8s.io", "APIService") => vec![
            Column {
                name: "Service",
                kind: "string",
                priority: 0,
                cell: |o| match o.pointer("/spec/service").filter(|s| s.is_object()) {
                    Some(s) => json!(format!(
                        "{}/{}",
                        s.get("namespace").and_then(Value::as_str).unwrap_or(""),
                        s.get("name").and_then(Value::as_str).unwrap_or("")
                    )),
                    None => json!("Local"),
                },
            },
            Column {
                name: "Available",
                kind: "string",
                priority: 0,
                cell: apiservice_available,
            },
        ],
        ("coordination.k8s.io", "Lease") => vec![Column {
            name: "Holder",
            kind: "string",
            priority: 0,
            cell: |o| str_at(o, "/spec/holderIdentity", ""),
        }],
        _ => Vec::new(),
    };
    let mut cols = vec![NAME];
    cols.extend(extra);
    cols.push(AGE);
    cols
}

/// The cells of a custom resource's row: NAME, then its printer columns
/// (`date` columns rendered as ages, as kubectl expects from the server).
fn crd_cells(columns: &[CustomResourceColumnDefinition], obj: &Value) -> Vec<Value> {
    let mut cells = vec![json!(object::name(obj))];
    for c in columns {
        let cell = printer_cell(c, obj);
        cells.push(match (c.type_.as_str(), cell.as_str()) {
            ("date", Some(ts)) => json!(human_age(ts)),
            _ => cell,
        });
    }
    cells
}

/// A Table of `objects`. `include_object` is the `includeObject` query
/// parameter: `None`, `Metadata` (the default) or `Object`. Custom
/// resources (`crd`) get their declared printer columns.
pub(crate) fn table(
    r: &ResourceInfo,
    crd: Option<&ServedCrd>,
    objects: &[Value],
    include_object: Option<&str>,
    list_meta: Value,
) -> Value {
    let cols = columns(r);
    let definitions: Vec<Value> = match crd {
        Some(crd) => std::iter::once(json!({
            "name": "Name", "type": "string", "format": "name", "description": "", "priority": 0,
        }))
        .chain(crd.columns.iter().map(|c| {
            json!({
                "name": c.name,
                "type": c.type_,
                "format": c.format,
                "description": c.description,
                "priority": c.priority,
            })
        }))
        .collect(),
        None => cols
            .iter()
            .map(|c| {
                json!({
                    "name": c.name,
                    "type": c.kind,
                    "format": if c.name == "Name" { "name" } else { "" },
                    "description": "",
                    "priority": c.priority,
                })
            })
            .collect(),
    };
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let cells: Vec<Value> = match crd {
                Some(crd) => crd_cells(&crd.columns, o),
                None => cols.iter().map(|c| (c.cell)(o)).collect(),
            };
            let mut row = json!({"cells": cells});
            // Rows never carry managedFields, as upstream strips them.
            let without_managed = |mut v: Value| {
                if let Some(m) = v.as_object_mut() {
                    m.remove("managedFields");
                }
                v
            };
            match include_object.unwrap_or("Metadata") {
                "None" => {}
                "Object" => {
                    let mut obj = o.clone();
                    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                        meta.remove("managedFields");
                    }
                    row["object"] = obj;
                }
                _ => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": without_managed(o.get("metadata").cloned().unwrap_or(json!({}))),
                    })
                }
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        let now = SystemTime::now();
        let ago = |s: u64| object::rfc3339(now - std::time::Duration::from_secs(s));
        assert_eq!(human_age(&ago(5)), "5s");
        assert_eq!(human_age(&ago(200)), "3m20s");
        assert_eq!(human_age(&ago(3 * 86_400)), "3d0h");
        assert_eq!(human_age("nonsense"), "<unknown>");
    }

    #[test]
    fn apiservice_availability_reads_like_kubectl() {
        let with = |c: Value| json!({"status": {"conditions": [c]}});
        assert_eq!(
            apiservice_available(&with(
                json!({"type": "Available", "status": "True", "reason": "Local"})
            )),
            "True"
        );
        assert_eq!(
            apiservice_available(&with(
                json!({"type": "Available", "status": "False", "reason": "ServiceNotFound"})
            )),
            "False (ServiceNotFound)"
        );
        assert_eq!(apiservice_available(&json!({})), "Unknown");
    }
}

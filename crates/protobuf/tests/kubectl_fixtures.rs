//! Real request bodies of kubectl's imperative commands, captured from
//! kubectl 1.37.1 by `scripts/capture-protobuf-fixtures.py`: each
//! `fixtures/<name>.pb` must decode to `fixtures/<name>.json`, which is what
//! the same command prints with `--dry-run=client -o json` (the Go JSON
//! encoding of the very object kubectl sent), except that the decoder leaves
//! out what Go writes as `null` (a nil slice without `omitempty`, such as a
//! ClusterRole's `rules`): to a Kubernetes decoder both mean "unset".

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn check(name: &str) {
    let want =
        serde_json::from_slice(&std::fs::read(fixtures().join(format!("{name}.json"))).unwrap())
            .unwrap();
    check_against(name, want);
}

/// For commands without `--dry-run`: the JSON is spelled out in the test.
fn check_against(name: &str, mut want: Value) {
    let body = std::fs::read(fixtures().join(format!("{name}.pb"))).unwrap();
    drop_nulls(&mut want);
    let got = skewless_protobuf::decode(&body).unwrap();
    assert_eq!(
        got,
        want,
        "{name}: got\n{}",
        serde_json::to_string_pretty(&got).unwrap()
    );
}

fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(members) => {
            members.retain(|_, v| !v.is_null());
            members.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// Every captured fixture has its test below, so none is silently skipped.
#[test]
fn every_fixture_is_checked() {
    let source = include_str!("kubectl_fixtures.rs");
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            (path.extension()? == "pb").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    assert!(names.len() >= 20, "{names:?}");
    for name in names {
        assert!(
            source.contains(&format!("\"{name}\"")),
            "fixture {name} has no test"
        );
    }
}

#[test]
fn namespace() {
    check("namespace");
}

#[test]
fn configmap() {
    check("configmap");
}

#[test]
fn configmap_with_binary_data() {
    check("configmap-binary");
}

#[test]
fn secret_generic() {
    check("secret-generic");
}

#[test]
fn secret_tls() {
    check("secret-tls");
}

#[test]
fn secret_docker_registry() {
    check("secret-docker-registry");
}

#[test]
fn deployment() {
    check("deployment");
}

#[test]
fn deployment_with_two_images() {
    check("deployment-two-images");
}

#[test]
fn deployment_with_zero_replicas_keeps_the_zero() {
    check("deployment-zero-replicas");
}

#[test]
fn service_clusterip() {
    check("service-clusterip");
}

#[test]
fn service_nodeport() {
    check("service-nodeport");
}

#[test]
fn service_externalname() {
    check("service-externalname");
}

#[test]
fn serviceaccount() {
    check("serviceaccount");
}

#[test]
fn job() {
    check("job");
}

#[test]
fn cronjob() {
    check("cronjob");
}

#[test]
fn role() {
    check("role");
}

#[test]
fn rolebinding() {
    check("rolebinding");
}

#[test]
fn clusterrole() {
    check("clusterrole");
}

#[test]
fn clusterrole_with_aggregation_rule() {
    check("clusterrole-aggregation");
}

#[test]
fn clusterrolebinding() {
    check("clusterrolebinding");
}

#[test]
fn quota() {
    check("quota");
}

#[test]
fn priorityclass() {
    check("priorityclass");
}

#[test]
fn poddisruptionbudget_min_available() {
    check("pdb-min-available");
}

#[test]
fn poddisruptionbudget_max_unavailable_percent() {
    check("pdb-max-unavailable");
}

#[test]
fn ingress() {
    check("ingress");
}

#[test]
fn autoscale() {
    check("autoscale");
}

/// `kubectl create token sa1 --duration=1h --audience=https://example.com`:
/// TokenRequestStatus.token has no `omitempty`, its zero Time is null.
#[test]
fn create_token() {
    check_against(
        "token",
        json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "metadata": {},
            "spec": {"audiences": ["https://example.com"], "expirationSeconds": 3600},
            "status": {"token": ""},
        }),
    );
}

/// `kubectl auth can-i list deployments.apps --namespace=team-a`:
/// `allowed` has no `omitempty`, `denied` has.
#[test]
fn auth_can_i() {
    check_against(
        "auth-can-i",
        json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "metadata": {},
            "spec": {"resourceAttributes": {
                "namespace": "team-a",
                "verb": "list",
                "group": "apps",
                "resource": "deployments",
            }},
            "status": {"allowed": false},
        }),
    );
}

/// Corrupting real bodies byte by byte gives errors or objects, never a
/// panic (a cheap, deterministic stand-in for fuzzing).
#[test]
fn corrupted_fixtures_never_panic() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "pb") {
            continue;
        }
        let body = std::fs::read(&path).unwrap();
        for _ in 0..300 {
            let mut mutated = body.clone();
            for _ in 0..=(next() % 4) {
                let i = 4 + (next() as usize) % (mutated.len() - 4);
                mutated[i] = next() as u8;
            }
            let _ = skewless_protobuf::decode(&mutated);
        }
    }
}

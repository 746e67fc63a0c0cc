//! The conversion table (`skewless_apimachinery::conversion::MULTI_VERSION`)
//! checked against the embedded schemas: versions it converts by
//! `apiVersion` alone must hold the same data, and versions it keeps apart
//! must differ, in every release that serves both. A schema change in a
//! regenerated release that makes two "same" versions differ fails here.

use skewless_apimachinery::catalog::{Catalog, EmulatedVersion, RuntimeConfig};
use skewless_apimachinery::conversion::MULTI_VERSION;
use skewless_openapi::{GroupVersionKind, Release, same_shape};

/// Pairs one class holds although their schemas differ in a release, with
/// why that is harmless: only `apiVersion` changes between them.
const KNOWN_DRIFT: &[(&str, &str, &str, &str, &str)] = &[
    // 1.33's v1beta1 ResourceSlice has fields (partitionable devices) its
    // v1alpha3 never got; both keep devices under `basic`, so the shapes
    // the DRA conversion maps are the same.
    (
        "1.33",
        "resource.k8s.io",
        "ResourceSlice",
        "v1beta1",
        "v1alpha3",
    ),
];

/// Whether release `release` serves `group`/`version` `resource` (with
/// every API on).
fn serves(release: &Release, group: &str, version: &str, resource: &str) -> bool {
    let Ok(emulated) = EmulatedVersion::parse(&release.to_string()) else {
        return false;
    };
    let Ok(all) = "api/all=true".parse::<RuntimeConfig>() else {
        return false;
    };
    Catalog::new(emulated, &all)
        .resource(group, version, resource)
        .is_some()
}

#[test]
fn same_schema_classes_match_the_embedded_schemas() {
    let mut compared = 0;
    for entry in MULTI_VERSION {
        let versions: Vec<&str> = entry.versions().collect();
        for (i, a) in versions.iter().enumerate() {
            for b in &versions[i + 1..] {
                for release in Release::supported() {
                    if !serves(&release, entry.group, a, entry.resource)
                        || !serves(&release, entry.group, b, entry.resource)
                        || KNOWN_DRIFT.contains(&(
                            release.to_string().as_str(),
                            entry.group,
                            entry.kind,
                            a,
                            b,
                        ))
                    {
                        continue;
                    }
                    let gvk = |v: &str| GroupVersionKind::new(entry.group, v, entry.kind);
                    let same = same_shape(release, &gvk(a), &gvk(b)).unwrap_or_else(|| {
                        panic!("{release}: no schema for {} {a} or {b}", entry.kind)
                    });
                    assert_eq!(
                        same,
                        entry.same_class(a, b),
                        "{release}: {}/{} {a} and {b}: the schemas say same={same}",
                        entry.group,
                        entry.kind
                    );
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 20, "only {compared} comparisons");
}

#[test]
fn the_shape_comparison_sees_differences() {
    let release = Release::latest();
    let hpa = |v: &str| GroupVersionKind::new("autoscaling", v, "HorizontalPodAutoscaler");
    assert_eq!(same_shape(release, &hpa("v1"), &hpa("v2")), Some(false));
    assert_eq!(same_shape(release, &hpa("v2"), &hpa("v2")), Some(true));
    assert_eq!(same_shape(release, &hpa("v1"), &hpa("v9")), None);
}

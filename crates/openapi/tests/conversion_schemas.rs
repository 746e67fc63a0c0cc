//! The conversion table (`skewless_apimachinery::conversion::MULTI_VERSION`)
//! checked against the embedded schemas: versions it converts by
//! `apiVersion` alone must hold the same data, and versions it keeps apart
//! must differ, in every release. A schema change in a regenerated release
//! that makes two "same" versions differ fails here.

use skewless_apimachinery::conversion::MULTI_VERSION;
use skewless_openapi::{GroupVersionKind, Release, same_shape};

#[test]
fn same_schema_classes_match_the_embedded_schemas() {
    let mut compared = 0;
    for entry in MULTI_VERSION {
        let versions: Vec<&str> = entry.versions().collect();
        for (i, a) in versions.iter().enumerate() {
            for b in &versions[i + 1..] {
                for release in Release::supported() {
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

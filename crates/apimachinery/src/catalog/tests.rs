use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::data::{CATALOG_JSON, CatalogData, DATA};
use super::entries::GroupVersionInfo;
use super::error::CatalogError;
use super::runtime_config::RuntimeConfig;
use super::served::Catalog;
use super::version::{
    EmulatedVersion, KubeVersion, Maturity, compare_kube_aware_versions, parse_kube_aware,
};
use crate::discovery::{
    APIGroup, APIGroupDiscovery, APIGroupDiscoveryList, APIGroupList, APIResourceList,
    APIVersionDiscovery, APIVersions, Freshness, GroupVersionKind, ResourceScope,
};

use serde_json::Value;
use std::collections::BTreeSet;

use crate::upstream_snapshot as reference;

fn v(s: &str) -> EmulatedVersion {
    EmulatedVersion::parse(s).unwrap()
}

fn rc(s: &str) -> RuntimeConfig {
    RuntimeConfig::parse(s).unwrap()
}

fn catalog(version: &str, runtime_config: &str) -> Catalog {
    Catalog::new(v(version), &rc(runtime_config))
}

fn gv_names(c: &Catalog) -> Vec<String> {
    c.group_versions()
        .map(GroupVersionInfo::group_version)
        .collect()
}

type Gvr = (String, String, String);

fn gvrs(c: &Catalog) -> BTreeSet<Gvr> {
    c.group_versions()
        .flat_map(|gv| gv.resources.iter())
        .map(|r| (r.group.clone(), r.version.clone(), r.resource.clone()))
        .collect()
}

fn gvr(g: &str, v: &str, r: &str) -> Gvr {
    (g.to_owned(), v.to_owned(), r.to_owned())
}

// --- the embedded data ------------------------------------------------

#[test]
fn embedded_data_parses_and_is_consistent() {
    let data = CatalogData::from_json(CATALOG_JSON).unwrap();
    assert_eq!(data.group_order.first().map(String::as_str), Some(""));
    let mut seen = BTreeSet::new();
    for r in &data.resources {
        assert!(
            seen.insert((&r.group, &r.version, &r.resource)),
            "duplicate {}/{} {}",
            r.group,
            r.version,
            r.resource
        );
        assert!(
            r.verbs.windows(2).all(|w| w[0] < w[1]),
            "{} verbs",
            r.resource
        );
        assert!(
            !r.kind.is_empty() && !r.singular.is_empty(),
            "{}",
            r.resource
        );
        assert!(
            r.subresources.windows(2).all(|w| w[0].name < w[1].name),
            "{} subresources",
            r.resource
        );
        if let (Some(s), Some(u)) = (r.since, r.until) {
            assert!(s <= u, "{} since > until", r.resource);
        }
        for s in &r.subresources {
            assert!(
                !s.kind.is_empty() && !s.version.is_empty(),
                "{}/{}",
                r.resource,
                s.name
            );
        }
    }
    for gv in &data.group_versions {
        let expected = match parse_kube_aware(&gv.version).map(|p| p.0) {
            Some(2) => Maturity::Ga,
            Some(1) => Maturity::Beta,
            Some(0) => Maturity::Alpha,
            _ => panic!("odd version {}", gv.version),
        };
        assert_eq!(gv.maturity, expected, "{}/{}", gv.group, gv.version);
        // Some supported release serves every declared group/version:
        // the file keeps no dead entries.
        assert!(
            data.resources.iter().any(|r| r.group == gv.group
                && r.version == gv.version
                && data.supported.iter().any(|s| r.served_in(s.version()))),
            "{}/{} is never served",
            gv.group,
            gv.version
        );
    }
    // The lazily parsed copy is the same data.
    assert_eq!(DATA.resources.len(), data.resources.len());
}

#[test]
fn corrupt_data_is_reported() {
    assert!(CatalogData::from_json("{}").is_err());
    let bad = CATALOG_JSON.replace("\"defaultVersion\":\"1.36\"", "\"defaultVersion\":\"1.99\"");
    assert!(CatalogData::from_json(&bad).unwrap_err().contains("1.99"));
}

// --- versions -----------------------------------------------------------

#[test]
fn emulated_version_parses_supported_releases_only() {
    assert_eq!(v("1.35").version(), KubeVersion::new(1, 35));
    assert_eq!(v(" 1.36 ").to_string(), "1.36");
    assert_eq!("1.36".parse::<EmulatedVersion>().unwrap(), v("1.36"));
    assert_eq!(EmulatedVersion::default(), v("1.36"));
    assert_eq!(EmulatedVersion::latest(), v("1.37"));
    assert_eq!(
        EmulatedVersion::supported(),
        &[v("1.33"), v("1.34"), v("1.35"), v("1.36"), v("1.37")]
    );
    assert!(v("1.35") < v("1.36"));
    for bad in ["1.32", "1.38", "1", "1.36.0", "v1.36", "", "x.y", "1.+3"] {
        let err = EmulatedVersion::parse(bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "unsupported emulated version {bad:?}: supported versions are 1.33, 1.34, 1.35, 1.36, 1.37"
            )
        );
    }
}

#[test]
fn kube_aware_version_order() {
    let mut versions = vec![
        "v1alpha1",
        "v11alpha2",
        "foo10",
        "v1",
        "v1beta1",
        "v2",
        "v10beta3",
        "v3beta1",
        "foo1",
        "v1beta2",
        "v10",
        "v12alpha1",
    ];
    versions.sort_by(|a, b| compare_kube_aware_versions(b, a));
    assert_eq!(
        versions,
        [
            "v10",
            "v2",
            "v1",
            "v10beta3",
            "v3beta1",
            "v1beta2",
            "v1beta1",
            "v12alpha1",
            "v11alpha2",
            "v1alpha1",
            "foo1",
            "foo10"
        ]
    );
    assert_eq!(compare_kube_aware_versions("v1", "v1"), Ordering::Equal);
    assert_eq!(parse_kube_aware("v1beta"), None);
    assert_eq!(parse_kube_aware("v1gamma1"), None);
}

// --- runtime-config -----------------------------------------------------

#[test]
fn runtime_config_parses_upstream_forms() {
    assert_eq!(rc(""), RuntimeConfig::default());
    assert_eq!(rc(" , "), RuntimeConfig::default());
    let c = rc("api/all=false, v1=true,batch/v1,api/v1=1,scheduling.k8s.io/v1alpha2=t");
    assert_eq!(c.all, Some(false));
    assert_eq!(c.group_versions.get(&("".into(), "v1".into())), Some(&true));
    assert_eq!(
        c.group_versions.get(&("batch".into(), "v1".into())),
        Some(&true)
    );
    assert!(c.is_enabled("scheduling.k8s.io", "v1alpha2", Maturity::Alpha));
    assert!(!c.is_enabled("apps", "v1", Maturity::Ga));
    // A key given twice keeps its last value.
    assert!(!rc("batch/v1=true,batch/v1=false").is_enabled("batch", "v1", Maturity::Ga));
    assert!(rc("api/beta=false,api/beta").is_enabled("x", "v1beta1", Maturity::Beta));
    // Specific beats general whatever the order, as upstream.
    let c = rc("batch/v1=false,api/all=true");
    assert!(!c.is_enabled("batch", "v1", Maturity::Ga));
    assert!(c.is_enabled("resource.k8s.io", "v1alpha3", Maturity::Alpha));
    let c = rc("api/alpha=true,api/all=false");
    assert!(c.is_enabled("resource.k8s.io", "v1alpha3", Maturity::Alpha));
    assert!(!c.is_enabled("apps", "v1", Maturity::Ga));
    assert_eq!(
        "api/ga=false".parse::<RuntimeConfig>().unwrap().ga,
        Some(false)
    );
}

#[test]
fn runtime_config_errors_name_the_entry() {
    // flowcontrol v1beta3 was removed before the oldest supported release.
    let unknown = RuntimeConfig::parse("apps/v1=true,flowcontrol.apiserver.k8s.io/v1beta3=true");
    assert_eq!(
        unknown,
        Err(CatalogError::UnknownGroupVersion {
            group_version: "flowcontrol.apiserver.k8s.io/v1beta3".into()
        })
    );
    assert_eq!(
        unknown.unwrap_err().to_string(),
        "--runtime-config names unknown group/version \"flowcontrol.apiserver.k8s.io/v1beta3\""
    );
    for gv in [
        "extensions/v1beta1",
        "apps/v2",
        "v2",
        "api/v2",
        "storagemigration.k8s.io/v2",
    ] {
        assert_eq!(
            RuntimeConfig::parse(gv),
            Err(CatalogError::UnknownGroupVersion {
                group_version: gv.into()
            }),
            "{gv}"
        );
    }
    for (entry, reason) in [
        ("batch/v1=yes", "value must be true or false"),
        ("api/all=maybe", "value must be true or false"),
        ("=true", "missing group/version"),
        ("/v1=true", "expected <group>/<version>"),
        ("a/b/c/d", "expected <group>/<version>"),
        (
            "apps/v1/deployments=false",
            "resource-level entries (group/version/resource) are not supported",
        ),
    ] {
        assert_eq!(
            RuntimeConfig::parse(&format!("api/beta=true,{entry}")),
            Err(CatalogError::InvalidRuntimeConfig {
                entry: entry.into(),
                reason: reason.into()
            }),
            "{entry}"
        );
    }
}

// --- what is served -------------------------------------------------------

const DEFAULT_1_36: &[&str] = &[
    "v1",
    "apiregistration.k8s.io/v1",
    "apps/v1",
    "events.k8s.io/v1",
    "authentication.k8s.io/v1",
    "authorization.k8s.io/v1",
    "autoscaling/v2",
    "autoscaling/v1",
    "batch/v1",
    "certificates.k8s.io/v1",
    "networking.k8s.io/v1",
    "policy/v1",
    "rbac.authorization.k8s.io/v1",
    "storage.k8s.io/v1",
    "admissionregistration.k8s.io/v1",
    "apiextensions.k8s.io/v1",
    "scheduling.k8s.io/v1",
    "coordination.k8s.io/v1",
    "node.k8s.io/v1",
    "discovery.k8s.io/v1",
    "resource.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1",
];

#[test]
fn defaults_serve_ga_only() {
    // The same GVs in both releases; they differ in resources.
    assert_eq!(gv_names(&catalog("1.36", "")), DEFAULT_1_36);
    assert_eq!(gv_names(&catalog("1.35", "")), DEFAULT_1_36);
    for c in [catalog("1.35", ""), catalog("1.36", "")] {
        assert!(c.group_versions().all(|gv| gv.maturity == Maturity::Ga));
    }
}

#[test]
fn mutating_admission_policy_is_ga_from_1_36() {
    let old = catalog("1.35", "");
    let new = catalog("1.36", "");
    for plural in [
        "mutatingadmissionpolicies",
        "mutatingadmissionpolicybindings",
    ] {
        assert!(
            old.resource("admissionregistration.k8s.io", "v1", plural)
                .is_none()
        );
        let r = new
            .resource("admissionregistration.k8s.io", "v1", plural)
            .unwrap();
        assert!(!r.namespaced);
        assert_eq!(r.categories, ["api-extensions"]);
        assert_eq!(r.since, Some(KubeVersion::new(1, 36)));
        // In 1.35 only the off-by-default beta and alpha carry it.
        assert!(
            old.resource("admissionregistration.k8s.io", "v1beta1", plural)
                .is_none()
        );
        let on = catalog(
            "1.35",
            "admissionregistration.k8s.io/v1beta1=true,admissionregistration.k8s.io/v1alpha1=true",
        );
        assert!(
            on.resource("admissionregistration.k8s.io", "v1beta1", plural)
                .is_some()
        );
        assert!(
            on.resource("admissionregistration.k8s.io", "v1alpha1", plural)
                .is_some()
        );
    }
    assert_eq!(
        old.group_version("admissionregistration.k8s.io", "v1")
            .unwrap()
            .resources
            .len(),
        4
    );
    assert_eq!(
        new.group_version("admissionregistration.k8s.io", "v1")
            .unwrap()
            .resources
            .len(),
        6
    );
}

#[test]
fn scheduling_v1alpha2_is_1_36_alpha_off_by_default() {
    assert!(!catalog("1.36", "").serves("scheduling.k8s.io", "v1alpha2"));
    let on = catalog("1.36", "scheduling.k8s.io/v1alpha2=true");
    let gv = on.group_version("scheduling.k8s.io", "v1alpha2").unwrap();
    assert_eq!(gv.maturity, Maturity::Alpha);
    let names: Vec<_> = gv.resources.iter().map(|r| r.resource.as_str()).collect();
    assert_eq!(names, ["podgroups", "workloads"]);
    let status = on
        .resource("scheduling.k8s.io", "v1alpha2", "podgroups")
        .and_then(|r| r.subresource("status"))
        .unwrap();
    assert_eq!(
        (
            status.group.as_str(),
            status.version.as_str(),
            status.kind.as_str()
        ),
        ("scheduling.k8s.io", "v1alpha2", "PodGroup")
    );
    assert_eq!(on.preferred_version("scheduling.k8s.io"), Some("v1"));
    // 1.35 knows the key (another release serves it) but serves nothing.
    let old = catalog("1.35", "scheduling.k8s.io/v1alpha2=true");
    assert!(!old.serves("scheduling.k8s.io", "v1alpha2"));
    // ... and has the 1.35-only v1alpha1 Workload instead.
    let old = catalog("1.35", "scheduling.k8s.io/v1alpha1=true");
    assert!(
        old.resource("scheduling.k8s.io", "v1alpha1", "workloads")
            .is_some()
    );
    assert!(!catalog("1.36", "api/all=true").serves("scheduling.k8s.io", "v1alpha1"));
}

#[test]
fn disabling_batch_removes_jobs_and_cronjobs() {
    let c = catalog("1.36", "batch/v1=false");
    assert!(c.resource("batch", "v1", "jobs").is_none());
    assert!(c.resource("batch", "v1", "cronjobs").is_none());
    assert!(c.group("batch").is_none());
    assert!(c.legacy_group("batch").is_none());
    assert!(c.legacy_resource_list("batch", "v1").is_none());
    assert!(
        c.aggregated_apis()
            .items
            .iter()
            .all(|g| g.name() != "batch")
    );
    assert_eq!(gv_names(&c).len(), DEFAULT_1_36.len() - 1);
}

#[test]
fn all_false_with_core_leaves_core_only() {
    for config in [
        "api/all=false,v1=true",
        "api/all=false,api/v1=true",
        "v1,api/all=false",
    ] {
        let c = catalog("1.36", config);
        assert_eq!(gv_names(&c), ["v1"], "{config}");
        assert!(c.aggregated_apis().items.is_empty());
        assert!(c.legacy_group_list().groups.is_empty());
        assert_eq!(c.aggregated_core().items.len(), 1);
    }
    let none = catalog("1.36", "api/all=false");
    assert_eq!(none.group_versions().count(), 0);
    assert!(none.aggregated_core().items.is_empty());
    assert!(none.legacy_api_versions().versions.is_empty());
}

#[test]
fn alpha_and_beta_switches() {
    let alpha = catalog("1.36", "api/alpha=true");
    let maturities: BTreeSet<_> = alpha
        .group_versions()
        .map(|gv| gv.maturity.to_string())
        .collect();
    assert_eq!(maturities, BTreeSet::from(["GA".into(), "alpha".into()]));
    for (g, v) in [
        ("internal.apiserver.k8s.io", "v1alpha1"),
        ("coordination.k8s.io", "v1alpha2"),
        ("resource.k8s.io", "v1alpha3"),
        ("scheduling.k8s.io", "v1alpha2"),
        ("admissionregistration.k8s.io", "v1alpha1"),
        ("certificates.k8s.io", "v1alpha1"),
    ] {
        assert!(alpha.serves(g, v), "{g}/{v}");
    }
    assert!(!alpha.serves("resource.k8s.io", "v1beta2"));
    // The only version of internal.apiserver is alpha, so it is preferred.
    assert_eq!(
        alpha.preferred_version("internal.apiserver.k8s.io"),
        Some("v1alpha1")
    );

    let beta = catalog("1.35", "api/beta=true,api/ga=false");
    assert!(
        beta.group_versions()
            .all(|gv| gv.maturity == Maturity::Beta)
    );
    assert!(beta.serves("storagemigration.k8s.io", "v1beta1"));
    assert!(beta.serves("networking.k8s.io", "v1beta1"));
    assert_eq!(beta.preferred_version("resource.k8s.io"), Some("v1beta2"));
}

#[test]
fn discovery_order_follows_upstream_priorities() {
    let c = catalog("1.36", "api/all=true");
    let resource: Vec<_> = c
        .group("resource.k8s.io")
        .unwrap()
        .versions
        .iter()
        .map(|v| v.version.as_str())
        .collect();
    assert_eq!(resource, ["v1", "v1beta2", "v1beta1", "v1alpha3"]);
    let certificates: Vec<_> = c
        .group("certificates.k8s.io")
        .unwrap()
        .versions
        .iter()
        .map(|v| v.version.as_str())
        .collect();
    assert_eq!(certificates, ["v1", "v1beta1", "v1alpha1"]);
    assert_eq!(c.preferred_version("autoscaling"), Some("v2"));
    assert_eq!(c.groups()[0].name, "");
    assert_eq!(c.groups()[1].name, "apiregistration.k8s.io");
    assert_eq!(c.groups().last().unwrap().name, "storagemigration.k8s.io");
    assert_eq!(c.emulated_version(), v("1.36"));
    assert_eq!(
        Catalog::known_group_versions().count(),
        DATA.group_versions.len()
    );
}

#[test]
fn lookups() {
    let c = catalog("1.36", "");
    let deployments = c.resource("apps", "v1", "deployments").unwrap();
    assert_eq!(deployments.kind, "Deployment");
    assert_eq!(deployments.short_names, ["deploy"]);
    assert_eq!(deployments.categories, ["all"]);
    assert_eq!(deployments.scope(), ResourceScope::Namespaced);
    let scale = deployments.subresource("scale").unwrap();
    assert_eq!(
        (
            scale.group.as_str(),
            scale.version.as_str(),
            scale.kind.as_str()
        ),
        ("autoscaling", "v1", "Scale")
    );
    assert_eq!(scale.verbs, ["get", "patch", "update"]);
    assert_eq!(c.by_kind("", "v1", "Pod").unwrap().resource, "pods");
    assert_eq!(
        c.by_kind("events.k8s.io", "v1", "Event").unwrap().resource,
        "events"
    );
    assert!(c.by_kind("", "v1", "Deployment").is_none());
    let eviction = c
        .resource("", "v1", "pods")
        .unwrap()
        .subresource("eviction")
        .unwrap();
    assert_eq!(
        (eviction.group.as_str(), eviction.kind.as_str()),
        ("policy", "Eviction")
    );

    for (g, plural) in [
        ("authentication.k8s.io", "selfsubjectreviews"),
        ("authentication.k8s.io", "tokenreviews"),
        ("authorization.k8s.io", "localsubjectaccessreviews"),
        ("authorization.k8s.io", "selfsubjectaccessreviews"),
        ("authorization.k8s.io", "selfsubjectrulesreviews"),
        ("authorization.k8s.io", "subjectaccessreviews"),
    ] {
        let r = c.resource(g, "v1", plural).unwrap();
        assert_eq!(r.verbs, ["create"], "{plural}");
        assert!(r.supports("create") && !r.supports("get"));
    }
    assert!(
        c.resource("authorization.k8s.io", "v1", "localsubjectaccessreviews")
            .unwrap()
            .namespaced
    );

    let crd = c
        .resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .unwrap();
    assert_eq!(crd.short_names, ["crd", "crds"]);
    assert!(crd.subresource("status").is_some());
    assert!(
        c.resource("apiregistration.k8s.io", "v1", "apiservices")
            .unwrap()
            .subresource("status")
            .is_some()
    );
    let lease = c.resource("coordination.k8s.io", "v1", "leases").unwrap();
    assert!(lease.namespaced && lease.supports("watch"));
    assert!(c.resource("apps", "v1", "nosuch").is_none());
    assert!(c.resource("apps", "v2", "deployments").is_none());
}

#[test]
fn releases_differ_by_data() {
    let old = gvrs(&catalog("1.35", "api/all=true"));
    let new = gvrs(&catalog("1.36", "api/all=true"));
    let only_old: Vec<_> = old.difference(&new).cloned().collect();
    let only_new: Vec<_> = new.difference(&old).cloned().collect();
    assert_eq!(
        only_old,
        [gvr("scheduling.k8s.io", "v1alpha1", "workloads")]
    );
    assert_eq!(
        only_new,
        [
            gvr(
                "admissionregistration.k8s.io",
                "v1",
                "mutatingadmissionpolicies"
            ),
            gvr(
                "admissionregistration.k8s.io",
                "v1",
                "mutatingadmissionpolicybindings"
            ),
            gvr("resource.k8s.io", "v1alpha3", "resourcepoolstatusrequests"),
            gvr("resource.k8s.io", "v1beta2", "devicetaintrules"),
            gvr("scheduling.k8s.io", "v1alpha2", "podgroups"),
            gvr("scheduling.k8s.io", "v1alpha2", "workloads"),
        ]
    );
}

// --- discovery documents against upstream's snapshots --------------------

fn versions_by_gv(list: &APIGroupDiscoveryList) -> BTreeMap<(String, String), APIVersionDiscovery> {
    list.items
        .iter()
        .flat_map(|g| {
            g.versions
                .iter()
                .map(|v| ((g.name().to_owned(), v.version.clone()), v.clone()))
        })
        .collect()
}

/// The snapshot is the 1.37 surface with every API on (the 1.37 Python
/// client lists exactly its resources), so 1.37 with `api/all=true`
/// reproduces it: the same group/versions, resources, order.
#[test]
fn aggregated_1_37_matches_snapshot() {
    let snapshot: APIGroupDiscoveryList =
        serde_json::from_str(&reference("aggregated_v2.json")).unwrap();
    let ours = catalog("1.37", "api/all=true").aggregated_apis();
    assert_eq!(ours.kind, "APIGroupDiscoveryList");
    assert_eq!(ours.api_version, "apidiscovery.k8s.io/v2");

    let theirs = versions_by_gv(&snapshot);
    let mine = versions_by_gv(&ours);
    assert_eq!(
        mine.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    for (gv, expected) in &theirs {
        assert_eq!(&mine[gv], expected, "{gv:?}");
    }

    // Group order and, within each group, version order are upstream's.
    let names = |l: &APIGroupDiscoveryList| -> Vec<(String, Vec<String>)> {
        l.items
            .iter()
            .map(|g| {
                (
                    g.name().to_owned(),
                    g.versions.iter().map(|v| v.version.clone()).collect(),
                )
            })
            .collect()
    };
    assert_eq!(names(&ours), names(&snapshot));
}

/// Every release serves, with every API on, exactly the
/// group/version/resource/subresource set its generated Python client
/// lists (`python-client.json`): the since/until bounds are right.
#[test]
fn every_release_matches_its_python_client() {
    let summary: Value = serde_json::from_str(&reference("python-client.json")).unwrap();
    for release in EmulatedVersion::supported() {
        let name = release.to_string();
        let mut expected = BTreeSet::new();
        for (gv, names) in summary["releases"][&name]["groupVersions"]
            .as_object()
            .unwrap()
        {
            for n in names.as_array().unwrap() {
                expected.insert(format!("{gv}/{}", n.as_str().unwrap()));
            }
        }
        let mut served = BTreeSet::new();
        for g in &catalog(&name, "api/all=true").groups {
            for v in &g.versions {
                let gv = v.group_version();
                for r in &v.resources {
                    served.insert(format!("{gv}/{}", r.resource));
                    for s in &r.subresources {
                        served.insert(format!("{gv}/{}/{}", r.resource, s.name));
                    }
                }
            }
        }
        assert_eq!(
            served.difference(&expected).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "{name}: served but not in the client"
        );
        assert_eq!(
            expected.difference(&served).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "{name}: in the client but not served"
        );
    }
}

/// Spot checks of facts per release, each verified against that
/// release's Python client.
#[test]
fn release_facts_1_33_to_1_37() {
    let serves = |release: &str, g: &str, ver: &str, r: &str| {
        catalog(release, "api/all=true")
            .resource(g, ver, r)
            .is_some()
    };
    // ValidatingAdmissionPolicy v1beta1: 1.33 only.
    let vap = (
        "admissionregistration.k8s.io",
        "v1beta1",
        "validatingadmissionpolicies",
    );
    assert!(serves("1.33", vap.0, vap.1, vap.2));
    assert!(!serves("1.34", vap.0, vap.1, vap.2));
    // DRA v1 from 1.34; the v1alpha3 ResourceClaim is 1.33 only.
    assert!(!serves("1.33", "resource.k8s.io", "v1", "resourceclaims"));
    assert!(serves("1.34", "resource.k8s.io", "v1", "resourceclaims"));
    assert!(serves(
        "1.33",
        "resource.k8s.io",
        "v1alpha3",
        "resourceclaims"
    ));
    assert!(!serves(
        "1.34",
        "resource.k8s.io",
        "v1alpha3",
        "resourceclaims"
    ));
    // VolumeAttributesClass v1alpha1 through 1.34, v1beta1 through 1.36.
    let vac = "volumeattributesclasses";
    assert!(serves("1.34", "storage.k8s.io", "v1alpha1", vac));
    assert!(!serves("1.35", "storage.k8s.io", "v1alpha1", vac));
    assert!(serves("1.36", "storage.k8s.io", "v1beta1", vac));
    assert!(!serves("1.37", "storage.k8s.io", "v1beta1", vac));
    // StorageVersionMigration: v1alpha1 to 1.34, v1beta1 from 1.35, v1 in 1.37.
    let svm = ("storagemigration.k8s.io", "storageversionmigrations");
    assert!(serves("1.34", svm.0, "v1alpha1", svm.1));
    assert!(!serves("1.35", svm.0, "v1alpha1", svm.1));
    assert!(serves("1.35", svm.0, "v1beta1", svm.1));
    assert!(!serves("1.36", svm.0, "v1", svm.1));
    assert!(serves("1.37", svm.0, "v1", svm.1));
    // PodCertificateRequest v1alpha1 in 1.34 only.
    let pcr = ("certificates.k8s.io", "v1alpha1", "podcertificaterequests");
    assert!(!serves("1.33", pcr.0, pcr.1, pcr.2));
    assert!(serves("1.34", pcr.0, pcr.1, pcr.2));
    assert!(!serves("1.35", pcr.0, pcr.1, pcr.2));
    // lifecycle.k8s.io is new in 1.37; the group does not exist before.
    assert!(serves(
        "1.37",
        "lifecycle.k8s.io",
        "v1alpha1",
        "evictionrequests"
    ));
    assert!(
        catalog("1.36", "api/all=true")
            .group("lifecycle.k8s.io")
            .is_none()
    );
    // LeaseCandidate is served in every supported release (v1alpha2, v1beta1).
    for release in ["1.33", "1.37"] {
        assert!(serves(
            release,
            "coordination.k8s.io",
            "v1alpha2",
            "leasecandidates"
        ));
        assert!(serves(
            release,
            "coordination.k8s.io",
            "v1beta1",
            "leasecandidates"
        ));
    }
    // A subresource later than its resource: csinodes/status from 1.37 and
    // the v1alpha3 devicetaintrules/status from 1.35.
    let status = |release: &str, g: &str, ver: &str, r: &str| {
        catalog(release, "api/all=true")
            .resource(g, ver, r)
            .and_then(|r| r.subresource("status"))
            .is_some()
    };
    assert!(!status("1.36", "storage.k8s.io", "v1", "csinodes"));
    assert!(status("1.37", "storage.k8s.io", "v1", "csinodes"));
    assert!(!status(
        "1.34",
        "resource.k8s.io",
        "v1alpha3",
        "devicetaintrules"
    ));
    assert!(status(
        "1.35",
        "resource.k8s.io",
        "v1alpha3",
        "devicetaintrules"
    ));
    // By default (GA only) 1.33 serves no resource.k8s.io at all.
    assert!(catalog("1.33", "").group("resource.k8s.io").is_none());
    assert!(catalog("1.34", "").group("resource.k8s.io").is_some());
}

#[test]
fn added_release_only_gvs_mirror_their_siblings() {
    let c = catalog("1.36", "api/all=true");
    let strip = |gv: &GroupVersionInfo| -> Vec<(String, String, Vec<String>, usize)> {
        gv.resources
            .iter()
            .map(|r| {
                (
                    r.resource.clone(),
                    r.kind.clone(),
                    r.verbs.clone(),
                    r.subresources.len(),
                )
            })
            .collect()
    };
    let beta = c.group_version("networking.k8s.io", "v1beta1").unwrap();
    assert_eq!(
        beta.resources
            .iter()
            .map(|r| r.resource.as_str())
            .collect::<Vec<_>>(),
        ["ipaddresses", "servicecidrs"]
    );
    let status = beta
        .resource("servicecidrs")
        .and_then(|r| r.subresource("status"))
        .unwrap();
    assert_eq!(status.version, "v1beta1");
    assert_eq!(
        strip(c.group_version("storage.k8s.io", "v1beta1").unwrap()),
        strip(c.group_version("storage.k8s.io", "v1").unwrap())
            .into_iter()
            .filter(|r| r.0 == "volumeattributesclasses")
            .collect::<Vec<_>>()
    );
    assert_eq!(
        c.resource("certificates.k8s.io", "v1alpha1", "clustertrustbundles")
            .unwrap()
            .until,
        Some(KubeVersion::new(1, 36))
    );
}

fn without_storage_version_hash(mut doc: Value) -> Value {
    if let Some(resources) = doc.get_mut("resources").and_then(Value::as_array_mut) {
        for r in resources {
            if let Some(r) = r.as_object_mut() {
                r.remove("storageVersionHash");
            }
        }
    }
    doc
}

#[test]
fn legacy_resource_lists_match_snapshots() {
    let c = catalog("1.36", "scheduling.k8s.io/v1alpha2=true");
    for (file, group, version) in [
        ("api__v1.json", "", "v1"),
        ("apis__apps__v1.json", "apps", "v1"),
        (
            "apis__coordination.k8s.io__v1.json",
            "coordination.k8s.io",
            "v1",
        ),
        (
            "apis__apiextensions.k8s.io__v1.json",
            "apiextensions.k8s.io",
            "v1",
        ),
        (
            "apis__scheduling.k8s.io__v1alpha2.json",
            "scheduling.k8s.io",
            "v1alpha2",
        ),
    ] {
        let expected =
            without_storage_version_hash(serde_json::from_str(&reference(file)).unwrap());
        let ours = serde_json::to_value(c.legacy_resource_list(group, version).unwrap()).unwrap();
        assert_eq!(ours, expected, "{file}");
    }
    assert!(
        c.legacy_resource_list("scheduling.k8s.io", "v1alpha3")
            .is_none()
    );
}

#[test]
fn legacy_group_documents_match_snapshots() {
    let c = catalog("1.37", "api/all=true");
    let api: APIVersions = serde_json::from_str(&reference("api.json")).unwrap();
    let ours = c.legacy_api_versions();
    assert_eq!(
        (ours.kind.as_str(), &ours.versions),
        (api.kind.as_str(), &api.versions)
    );
    assert!(ours.server_address_by_client_cidrs.is_empty());

    let apis: APIGroupList = serde_json::from_str(&reference("apis.json")).unwrap();
    let list = c.legacy_group_list();
    assert_eq!(
        (list.kind.as_str(), list.api_version.as_str()),
        ("APIGroupList", "v1")
    );
    for group in &list.groups {
        let upstream = apis.groups.iter().find(|g| g.name == group.name).unwrap();
        assert_eq!(Some(&group.preferred_version), group.versions.first());
        assert_eq!(
            group.preferred_version, upstream.preferred_version,
            "{}",
            group.name
        );
        assert_eq!(group.versions, upstream.versions, "{}", group.name);
        assert!(group.kind.is_empty() && group.api_version.is_empty());
    }
    let apps = c.legacy_group("apps").unwrap();
    assert_eq!(
        (apps.kind.as_str(), apps.api_version.as_str()),
        ("APIGroup", "v1")
    );
    assert_eq!(apps.preferred_version.group_version, "apps/v1");
    assert!(c.legacy_group("").is_none());
    assert!(
        catalog("1.36", "api/all=true")
            .legacy_group("lifecycle.k8s.io")
            .is_none()
    );
}

#[test]
fn aggregated_core_is_api_v1_in_v2_form() {
    let c = catalog("1.35", "");
    let core = c.aggregated_core();
    assert_eq!(core.items.len(), 1);
    let group = &core.items[0];
    assert_eq!(
        serde_json::to_value(&group.metadata).unwrap(),
        serde_json::json!({})
    );
    assert_eq!(group.versions.len(), 1);
    let v1 = &group.versions[0];
    assert_eq!(
        (v1.version.as_str(), v1.freshness),
        ("v1", Some(Freshness::Current))
    );

    let legacy: APIResourceList = serde_json::from_str(&reference("api__v1.json")).unwrap();
    let top: Vec<_> = legacy
        .resources
        .iter()
        .filter(|r| !r.name.contains('/'))
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(
        v1.resources
            .iter()
            .map(|r| r.resource.as_str())
            .collect::<Vec<_>>(),
        top
    );
    let pods = v1.resources.iter().find(|r| r.resource == "pods").unwrap();
    let subs: Vec<_> = pods
        .subresources
        .iter()
        .map(|s| s.subresource.as_str())
        .collect();
    assert_eq!(
        subs,
        [
            "attach",
            "binding",
            "ephemeralcontainers",
            "eviction",
            "exec",
            "log",
            "portforward",
            "proxy",
            "resize",
            "status"
        ]
    );
    let eviction = &pods.subresources[3];
    assert_eq!(
        eviction.response_kind,
        Some(GroupVersionKind {
            group: "policy".into(),
            version: "v1".into(),
            kind: "Eviction".into()
        })
    );
    let status = pods.subresources.last().unwrap();
    assert_eq!(
        status.response_kind,
        Some(GroupVersionKind {
            group: String::new(),
            version: String::new(),
            kind: "Pod".into()
        })
    );
    // Serialised, the core document has the v2 envelope.
    let json = serde_json::to_value(&core).unwrap();
    assert_eq!(json["kind"], "APIGroupDiscoveryList");
    assert_eq!(
        json["items"][0]["versions"][0]["resources"][0]["resource"],
        "bindings"
    );
}

/// Legacy documents built from aggregated data (what a server answers when
/// it merges peers' data) are exactly the catalog's own legacy documents
/// for every group/version of every release, so merging changes nothing
/// but the additions.
#[test]
fn legacy_documents_from_aggregated_data_match_the_catalogs() {
    for version in ["1.33", "1.34", "1.35", "1.36", "1.37"] {
        let c = catalog(version, "api/all=true");
        let mut aggregated = c.aggregated_core().items;
        aggregated.extend(c.aggregated_apis().items);
        for group in &aggregated {
            for v in &group.versions {
                assert_eq!(
                    APIResourceList::from_aggregated(group.name(), v),
                    c.legacy_resource_list(group.name(), &v.version).unwrap(),
                    "{version}: {}/{}",
                    group.name(),
                    v.version
                );
            }
            if !group.name().is_empty() {
                assert_eq!(
                    Some(APIGroup {
                        kind: "APIGroup".into(),
                        api_version: "v1".into(),
                        ..APIGroup::from_aggregated(group).unwrap()
                    }),
                    c.legacy_group(group.name()),
                    "{version}: {}",
                    group.name()
                );
            }
        }
        let from_aggregated: Vec<APIGroup> = c
            .aggregated_apis()
            .items
            .iter()
            .filter_map(APIGroup::from_aggregated)
            .collect();
        assert_eq!(from_aggregated, c.legacy_group_list().groups, "{version}");
    }
    assert_eq!(
        APIGroup::from_aggregated(&APIGroupDiscovery::default()),
        None
    );
}

//! The documents as a whole: they parse, every `$ref` resolves, the kinds
//! kubectl looks up are there with their group/version/kind, every PATCH
//! operation offers `fieldValidation`, and the v3 index hashes follow the
//! content.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::{assert_refs_resolve, basic_resources, catalog_resources, schema_for};
use serde_json::{Value, json};
use skewless_openapi::{
    CustomResourceSchema, OpenApi, Release, ResourceRef, content_hash, v2, v3_group_version,
    v3_group_version_with, v3_index, v3_path,
};

const V3_PREFIX: &str = "#/components/schemas/";
const V2_PREFIX: &str = "#/definitions/";

/// Kinds that are query-parameter carriers of connect subresources; upstream
/// publishes no schema for them either.
fn is_connect_options(kind: &str) -> bool {
    kind.ends_with("Options")
}

#[test]
fn every_catalog_group_version_has_a_complete_v3_document_in_every_release() {
    for release in Release::supported() {
        let resources = catalog_resources(release);
        let openapi = OpenApi::new(release, &resources);
        let spec = openapi.v3();
        let index = spec.index();
        for (group, version) in openapi.group_versions() {
            let path = v3_path(&group, &version);
            let what = format!("{release} {path}");
            let url = index["paths"][&path]["serverRelativeURL"]
                .as_str()
                .unwrap_or_else(|| panic!("{what}: not in the index"));
            let doc = spec.document(&path).unwrap();
            assert_eq!(url, format!("/openapi/v3/{path}?hash={}", doc.hash()));
            let parsed: Value = serde_json::from_slice(doc.body()).unwrap();
            assert_eq!(parsed["openapi"], "3.0.0", "{what}");
            let schemas = &parsed["components"]["schemas"];
            assert_refs_resolve(&parsed, V3_PREFIX, schemas, &what);
            for r in resources
                .iter()
                .filter(|r| r.group == group && r.version == version)
            {
                let (name, schema) = schema_for(schemas, &r.group, &r.version, &r.kind)
                    .unwrap_or_else(|| panic!("{what}: no schema for {}", r.kind));
                assert!(
                    name.starts_with("io.k8s."),
                    "{what}: {} published from a placeholder ({name})",
                    r.kind
                );
                assert_eq!(schema["type"], "object", "{what}: {}", r.kind);
                for sub in &r.subresources {
                    if is_connect_options(&sub.kind) {
                        continue;
                    }
                    assert!(
                        schema_for(schemas, &sub.group, &sub.version, &sub.kind).is_some(),
                        "{what}: no schema for subresource {}/{} ({})",
                        r.plural,
                        sub.name,
                        sub.kind
                    );
                }
                if r.verbs.iter().any(|v| v == "list") {
                    let list = format!("{}List", r.kind);
                    assert!(
                        schema_for(schemas, &r.group, &r.version, &list).is_some(),
                        "{what}: no schema for {list}"
                    );
                }
            }
            assert_every_patch_has_field_validation(&parsed, &what);
        }
    }
}

fn assert_every_patch_has_field_validation(doc: &Value, what: &str) {
    for (path, item) in doc["paths"].as_object().unwrap() {
        if let Some(patch) = item.get("patch") {
            // Connect operations (`nodes/proxy`) belong to *Options kinds.
            if patch["x-kubernetes-action"] == "connect" {
                continue;
            }
            let params = patch["parameters"].as_array().unwrap();
            assert!(
                params.iter().any(|p| p["name"] == "fieldValidation"),
                "{what}: PATCH {path} lacks fieldValidation"
            );
            assert!(
                patch["x-kubernetes-group-version-kind"]["kind"].is_string(),
                "{what}: PATCH {path} lacks its group/version/kind"
            );
        }
    }
}

#[test]
fn core_and_apps_kinds_carry_what_kubectl_uses() {
    let resources = basic_resources();
    let core = v3_group_version("", "v1", &resources).unwrap();
    let schemas = &core["components"]["schemas"];
    for kind in ["ConfigMap", "Service", "Namespace"] {
        let (name, schema) = schema_for(schemas, "", "v1", kind).unwrap();
        assert_eq!(name, format!("io.k8s.api.core.v1.{kind}"));
        assert_eq!(schema["type"], "object");
        assert_eq!(
            schema["properties"]["metadata"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        );
    }
    for meta in [
        "ObjectMeta",
        "ListMeta",
        "Status",
        "DeleteOptions",
        "Patch",
        "WatchEvent",
        "APIResourceList",
    ] {
        let name = format!("io.k8s.apimachinery.pkg.apis.meta.v1.{meta}");
        assert!(schemas.get(&name).is_some(), "core/v1 lacks {name}");
    }
    // Service ports: int-or-string targetPort, merge key on the list.
    let service_port = &schemas["io.k8s.api.core.v1.ServicePort"];
    assert_eq!(service_port["required"], json!(["port"]));
    let int_or_string = &schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
    assert_eq!(int_or_string["format"], "int-or-string");
    let service_spec = &schemas["io.k8s.api.core.v1.ServiceSpec"];
    assert_eq!(
        service_spec["properties"]["ports"]["x-kubernetes-patch-merge-key"],
        "port"
    );
    assert_eq!(
        service_spec["properties"]["ports"]["x-kubernetes-patch-strategy"],
        "merge"
    );

    let apps = v3_group_version("apps", "v1", &resources).unwrap();
    let schemas = &apps["components"]["schemas"];
    let (name, _) = schema_for(schemas, "apps", "v1", "Deployment").unwrap();
    assert_eq!(name, "io.k8s.api.apps.v1.Deployment");
    // The scale subresource brings autoscaling/v1 Scale along.
    assert!(schema_for(schemas, "autoscaling", "v1", "Scale").is_some());
    let containers = &schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
    assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
    assert_eq!(containers["x-kubernetes-list-type"], "map");
    assert_eq!(
        schemas["io.k8s.api.core.v1.PodSpec"]["required"],
        json!(["containers"])
    );
    let quantity = &schemas["io.k8s.apimachinery.pkg.api.resource.Quantity"];
    assert_eq!(
        quantity["oneOf"],
        json!([{"type": "string"}, {"type": "number"}])
    );
    assert_eq!(
        schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["format"],
        "date-time"
    );

    // Operations kubectl's field-validation check reads.
    let patch = &apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert_eq!(patch["operationId"], "patchAppsV1NamespacedDeployment");
    assert_eq!(patch["x-kubernetes-action"], "patch");
    assert_eq!(
        patch["x-kubernetes-group-version-kind"],
        json!({"group": "apps", "kind": "Deployment", "version": "v1"})
    );
    assert!(
        patch["requestBody"]["content"]
            .get("application/strategic-merge-patch+json")
            .is_some()
    );
    assert_eq!(
        apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["put"]["x-kubernetes-group-version-kind"]
            ["kind"],
        "Scale"
    );
    assert!(apps["paths"].get("/apis/apps/v1/deployments").is_some());
    assert!(
        apps["paths"]
            .get("/apis/apps/v1/watch/namespaces/{namespace}/deployments")
            .is_some()
    );
    assert!(apps["paths"].get("/apis/apps/v1/").is_some());
    // Namespaces are cluster-scoped and have no deletecollection.
    let ns = &core["paths"]["/api/v1/namespaces"];
    assert!(ns.get("delete").is_none());
    assert_eq!(ns["post"]["operationId"], "createCoreV1Namespace");

    assert!(v3_group_version("batch", "v1", &resources).is_none());
}

#[test]
fn v2_is_one_swagger_document_with_resolvable_definitions() {
    for release in Release::supported() {
        let resources = catalog_resources(release);
        let doc = OpenApi::new(release, &resources).v2();
        let text = serde_json::to_string(&doc).unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["swagger"], "2.0");
        let definitions = &parsed["definitions"];
        assert_refs_resolve(&parsed, V2_PREFIX, definitions, &format!("v2 {release}"));
        for r in &resources {
            assert!(
                schema_for(definitions, &r.group, &r.version, &r.kind).is_some(),
                "v2 {release}: no definition for {}/{} {}",
                r.group,
                r.version,
                r.kind
            );
        }
        let ios = &definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
        assert_eq!(ios["type"], "string");
        assert_eq!(ios["format"], "int-or-string");
        assert!(!text.contains("#/components/"), "v2 {release} has v3 refs");
        let patch = &parsed["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"];
        assert!(
            patch["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation" && p["type"] == "string")
        );
    }
    assert_eq!(v2(&basic_resources())["swagger"], "2.0");
}

#[test]
fn v3_index_hashes_are_stable_and_follow_content() {
    let resources = basic_resources();
    let index = v3_index(&resources);
    let paths = index["paths"].as_object().unwrap();
    assert_eq!(
        paths.keys().collect::<Vec<_>>(),
        vec!["api/v1", "apis/apps/v1"]
    );
    let url = paths["api/v1"]["serverRelativeURL"].as_str().unwrap();
    let hash = url.strip_prefix("/openapi/v3/api/v1?hash=").unwrap();
    assert_eq!(hash.len(), 128);
    assert!(
        hash.chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    );

    // Same content, same hash: order of resources does not matter.
    let mut reversed = resources.clone();
    reversed.reverse();
    assert_eq!(v3_index(&reversed), index);
    let core = v3_group_version("", "v1", &resources).unwrap();
    assert_eq!(hash, content_hash(&serde_json::to_vec(&core).unwrap()));

    // New content in core/v1 changes only core/v1's hash.
    let mut more = resources.clone();
    more.push(ResourceRef::new(
        "",
        "v1",
        "Secret",
        "secrets",
        true,
        &["get", "list"],
    ));
    let changed = v3_index(&more);
    assert_ne!(changed["paths"]["api/v1"], index["paths"]["api/v1"]);
    assert_eq!(
        changed["paths"]["apis/apps/v1"],
        index["paths"]["apis/apps/v1"]
    );

    // A verb more or less changes the document too.
    let mut fewer = resources.clone();
    fewer[0].verbs.retain(|v| v != "patch");
    assert_ne!(
        v3_index(&fewer)["paths"]["api/v1"],
        index["paths"]["api/v1"]
    );

    // A different release's schemas are different content.
    let r135 = Release::parse("1.35").unwrap();
    let r136 = Release::parse("1.36").unwrap();
    let all = catalog_resources(r136);
    let a = OpenApi::new(r135, &all).v3().index();
    let b = OpenApi::new(r136, &all).v3().index();
    assert_ne!(a["paths"]["api/v1"], b["paths"]["api/v1"]);
}

fn crontab_resource() -> ResourceRef {
    ResourceRef::new(
        "stable.example.com",
        "v1",
        "CronTab",
        "crontabs",
        true,
        &[
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ],
    )
}

fn crontab_schema(spec_field: &str) -> CustomResourceSchema {
    CustomResourceSchema {
        group: "stable.example.com".into(),
        version: "v1".into(),
        kind: "CronTab".into(),
        list_kind: "CronTabList".into(),
        schema: Some(json!({
            "type": "object",
            "properties": {"spec": {"type": "object", "properties": {
                spec_field: {"type": "string"},
                "replicas": {"type": "integer"},
                "port": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
            }}},
        })),
    }
}

#[test]
fn custom_resources_are_published_under_their_group_version() {
    let mut resources = basic_resources();
    resources.push(crontab_resource());
    let openapi = OpenApi::new(Release::latest(), &resources)
        .with_custom_resource(&crontab_schema("cronSpec"))
        .unwrap();
    let doc = openapi
        .v3_group_version("stable.example.com", "v1")
        .unwrap();
    let schemas = &doc["components"]["schemas"];
    assert_refs_resolve(&doc, V3_PREFIX, schemas, "crontab v3");
    let (name, schema) = schema_for(schemas, "stable.example.com", "v1", "CronTab").unwrap();
    assert_eq!(name, "com.example.stable.v1.CronTab");
    assert_eq!(
        schema["properties"]["spec"]["properties"]["cronSpec"]["type"],
        "string"
    );
    assert!(schema_for(schemas, "stable.example.com", "v1", "CronTabList").is_some());
    assert!(
        schemas
            .get("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
            .is_some()
    );
    let patch = &doc["paths"]["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"]
        ["patch"];
    assert_eq!(
        patch["operationId"],
        "patchStableExampleComV1NamespacedCronTab"
    );
    assert!(
        patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation")
    );
    // Custom resources have no strategic merge patch.
    assert!(
        patch["requestBody"]["content"]
            .get("application/strategic-merge-patch+json")
            .is_none()
    );

    // v2 lowers the custom schema.
    let v2 = openapi.v2();
    assert_refs_resolve(&v2, V2_PREFIX, &v2["definitions"], "crontab v2");
    let port = &v2["definitions"]["com.example.stable.v1.CronTab"]["properties"]["spec"]["properties"]
        ["port"];
    assert_eq!(port, &json!({"x-kubernetes-int-or-string": true}));

    // The index lists the custom group/version and its hash follows the schema.
    let index = openapi.v3().index();
    let other = OpenApi::new(Release::latest(), &resources)
        .with_custom_resource(&crontab_schema("schedule"))
        .unwrap()
        .v3()
        .index();
    let key = "apis/stable.example.com/v1";
    assert!(index["paths"][key].is_object());
    assert_ne!(index["paths"][key], other["paths"][key]);
    assert_eq!(index["paths"]["api/v1"], other["paths"]["api/v1"]);
}

#[test]
fn extra_schemas_replace_builtins_and_kinds_without_schema_get_placeholders() {
    let resources = vec![
        ResourceRef::new(
            "",
            "v1",
            "ConfigMap",
            "configmaps",
            true,
            &["get", "list", "patch"],
        ),
        ResourceRef::new(
            "example.io",
            "v1",
            "Widget",
            "widgets",
            false,
            &["get", "list", "patch"],
        ),
    ];
    let custom = json!({
        "type": "object",
        "properties": {"data": {"type": "string"}},
        "x-kubernetes-group-version-kind": [{"group": "", "kind": "ConfigMap", "version": "v1"}],
    });
    let doc = v3_group_version_with(
        "",
        "v1",
        &resources,
        &[("my.ConfigMap".to_string(), custom)],
    )
    .unwrap();
    let (name, _) = schema_for(&doc["components"]["schemas"], "", "v1", "ConfigMap").unwrap();
    assert_eq!(name, "my.ConfigMap");

    let doc = v3_group_version("example.io", "v1", &resources).unwrap();
    let schemas = &doc["components"]["schemas"];
    assert_refs_resolve(&doc, V3_PREFIX, schemas, "placeholder");
    let (_, widget) = schema_for(schemas, "example.io", "v1", "Widget").unwrap();
    assert_eq!(widget["x-kubernetes-preserve-unknown-fields"], true);
    assert!(schema_for(schemas, "example.io", "v1", "WidgetList").is_some());
}

#[test]
fn republishing_a_custom_resource_replaces_its_schemas() {
    let resources = vec![crontab_resource()];
    let openapi = OpenApi::new(Release::latest(), &resources)
        .with_custom_resource(&crontab_schema("cronSpec"))
        .unwrap()
        .with_custom_resource(&crontab_schema("schedule"))
        .unwrap();
    let doc = openapi
        .v3_group_version("stable.example.com", "v1")
        .unwrap();
    let schemas = &doc["components"]["schemas"];
    let (_, schema) = schema_for(schemas, "stable.example.com", "v1", "CronTab").unwrap();
    let spec = &schema["properties"]["spec"]["properties"];
    assert!(spec.get("schedule").is_some() && spec.get("cronSpec").is_none());
    let list = &doc["paths"]["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs"]["get"];
    assert_eq!(
        list["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/com.example.stable.v1.CronTabList"
    );
}

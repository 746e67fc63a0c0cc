//! The path items of one resource: the group/version root and the
//! collection, object and watch operations its verbs allow.

use super::naming::{api_prefix, capitalize, group_camel};
use super::operation::{
    JSON, JSON_STREAM, Operation, PROTOBUF, PROTOBUF_STREAM, PathItem, Response, YAML,
};
use super::params::{
    NAMESPACE, PRETTY, Param, delete_collection_params, delete_params, list_params, write_params,
};
use super::subresource::{ok, patch_op, replace_op, sub_name_kind, subresource_operations};
use super::types::{KindNames, SchemaRef};
use crate::definitions::GroupVersionKind;
use crate::resource::{ResourceRef, SubresourceRef};
use crate::schema::{API_RESOURCE_LIST, DELETE_OPTIONS, STATUS, WATCH_EVENT};

/// The `GET /apis/<g>/<v>/` operation that returns the APIResourceList.
pub(crate) fn group_version_root(group: &str, version: &str) -> PathItem {
    let gv = format!("{}{}", group_camel(group), capitalize(version));
    PathItem {
        path: format!("{}/", api_prefix(group, version)),
        params: Vec::new(),
        operations: vec![Operation {
            method: "get",
            id: format!("get{gv}APIResources"),
            description: "get available resources".to_string(),
            action: "get",
            gvk: GroupVersionKind::new("", "", ""),
            params: Vec::new(),
            body: None,
            responses: vec![Response {
                code: "200",
                description: "OK",
                schema: SchemaRef::Named(API_RESOURCE_LIST.to_string()),
            }],
            produces: vec![JSON, YAML, PROTOBUF],
        }],
    }
}

/// The operations of one resource, as upstream registers them.
pub(crate) fn resource_paths(resource: &ResourceRef, names: &mut impl KindNames) -> Vec<PathItem> {
    let gvk = resource.gvk();
    let builtin = names.is_builtin(&gvk);
    let kind_schema = SchemaRef::Named(names.kind_schema(&gvk));
    let gv = format!(
        "{}{}",
        group_camel(&resource.group),
        capitalize(&resource.version)
    );
    let kind = &resource.kind;
    let prefix = api_prefix(&resource.group, &resource.version);
    let (ns_path, ns_id) = if resource.namespaced {
        ("/namespaces/{namespace}", "Namespaced")
    } else {
        ("", "")
    };
    let object_types: Vec<&'static str> = if builtin {
        vec![JSON, YAML, PROTOBUF]
    } else {
        vec![JSON, YAML]
    };
    let list_types: Vec<&'static str> = if builtin {
        vec![JSON, YAML, PROTOBUF, JSON_STREAM, PROTOBUF_STREAM]
    } else {
        vec![JSON, YAML, JSON_STREAM]
    };
    let watch_types = list_types.clone();
    let patch_types: Vec<&'static str> = if builtin {
        vec![
            "application/apply-patch+yaml",
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/strategic-merge-patch+json",
        ]
    } else {
        vec![
            "application/apply-patch+yaml",
            "application/json-patch+json",
            "application/merge-patch+json",
        ]
    };
    let namespace_param = || Param::path("namespace", NAMESPACE.to_string());
    let name_param = |kind: &str| Param::path("name", format!("name of the {kind}"));
    let pretty = || Param::query("pretty", "string", PRETTY);
    let scope_params = |name: Option<&str>| {
        let mut params = Vec::new();
        if let Some(kind) = name {
            params.push(name_param(kind));
        }
        if resource.namespaced {
            params.push(namespace_param());
        }
        params.push(pretty());
        params
    };

    let mut items = Vec::new();

    // Collection: list, create, deletecollection.
    let mut collection = Vec::new();
    if resource.supports("list") {
        let list_schema = SchemaRef::Named(names.list_schema(&gvk));
        collection.push(Operation {
            method: "get",
            id: format!("list{gv}{ns_id}{kind}"),
            description: format!("list or watch objects of kind {kind}"),
            action: "list",
            gvk: gvk.clone(),
            params: list_params(),
            body: None,
            responses: vec![Response {
                code: "200",
                description: "OK",
                schema: list_schema,
            }],
            produces: list_types.clone(),
        });
    }
    if resource.supports("create") {
        collection.push(Operation {
            method: "post",
            id: format!("create{gv}{ns_id}{kind}"),
            description: format!("create a {kind}"),
            action: "post",
            gvk: gvk.clone(),
            params: write_params(false),
            body: Some((kind_schema.clone(), vec!["*/*"])),
            responses: ["200", "201", "202"]
                .into_iter()
                .map(|code| Response {
                    code,
                    description: match code {
                        "200" => "OK",
                        "201" => "Created",
                        _ => "Accepted",
                    },
                    schema: kind_schema.clone(),
                })
                .collect(),
            produces: object_types.clone(),
        });
    }
    if resource.supports("deletecollection") {
        collection.push(Operation {
            method: "delete",
            id: format!("delete{gv}Collection{ns_id}{kind}"),
            description: format!("delete collection of {kind}"),
            action: "deletecollection",
            gvk: gvk.clone(),
            params: delete_collection_params(),
            body: Some((SchemaRef::Named(DELETE_OPTIONS.to_string()), vec!["*/*"])),
            responses: vec![Response {
                code: "200",
                description: "OK",
                schema: SchemaRef::Named(STATUS.to_string()),
            }],
            produces: object_types.clone(),
        });
    }
    if !collection.is_empty() {
        items.push(PathItem {
            path: format!("{prefix}{ns_path}/{}", resource.plural),
            params: scope_params(None),
            operations: collection,
        });
    }

    // Single object: read, replace, patch, delete.
    let mut object = Vec::new();
    if resource.supports("get") {
        object.push(Operation {
            method: "get",
            id: format!("read{gv}{ns_id}{kind}"),
            description: format!("read the specified {kind}"),
            action: "get",
            gvk: gvk.clone(),
            params: Vec::new(),
            body: None,
            responses: vec![ok(kind_schema.clone())],
            produces: object_types.clone(),
        });
    }
    if resource.supports("update") {
        object.push(replace_op(
            format!("replace{gv}{ns_id}{kind}"),
            format!("replace the specified {kind}"),
            &gvk,
            &kind_schema,
            &object_types,
        ));
    }
    if resource.supports("patch") {
        object.push(patch_op(
            format!("patch{gv}{ns_id}{kind}"),
            format!("partially update the specified {kind}"),
            &gvk,
            &kind_schema,
            &patch_types,
            &object_types,
        ));
    }
    if resource.supports("delete") {
        let status = SchemaRef::Named(STATUS.to_string());
        object.push(Operation {
            method: "delete",
            id: format!("delete{gv}{ns_id}{kind}"),
            description: format!("delete a {kind}"),
            action: "delete",
            gvk: gvk.clone(),
            params: delete_params(),
            body: Some((SchemaRef::Named(DELETE_OPTIONS.to_string()), vec!["*/*"])),
            responses: vec![
                ok(status.clone()),
                Response {
                    code: "202",
                    description: "Accepted",
                    schema: status,
                },
            ],
            produces: object_types.clone(),
        });
    }
    if !object.is_empty() {
        items.push(PathItem {
            path: format!("{prefix}{ns_path}/{}/{{name}}", resource.plural),
            params: scope_params(Some(kind)),
            operations: object,
        });
    }

    // Listing across namespaces.
    if resource.namespaced && resource.supports("list") {
        let mut params = list_params();
        params.push(pretty());
        params.sort_by_key(|p| p.name);
        items.push(PathItem {
            path: format!("{prefix}/{}", resource.plural),
            params,
            operations: vec![Operation {
                method: "get",
                id: format!("list{gv}{kind}ForAllNamespaces"),
                description: format!("list or watch objects of kind {kind}"),
                action: "list",
                gvk: gvk.clone(),
                params: Vec::new(),
                body: None,
                responses: vec![ok(SchemaRef::Named(names.list_schema(&gvk)))],
                produces: list_types.clone(),
            }],
        });
    }

    // The deprecated watch paths, still registered upstream.
    if resource.supports("watch") {
        let watch_event = SchemaRef::Named(WATCH_EVENT.to_string());
        let watch_params = |name: Option<&str>| {
            let mut params = list_params();
            if let Some(kind) = name {
                params.push(name_param(kind));
            }
            if resource.namespaced {
                params.push(namespace_param());
            }
            params.push(pretty());
            params.sort_by_key(|p| p.name);
            params
        };
        let watch_op = |id: String, description: String, action: &'static str| Operation {
            method: "get",
            id,
            description,
            action,
            gvk: gvk.clone(),
            params: Vec::new(),
            body: None,
            responses: vec![ok(watch_event.clone())],
            produces: watch_types.clone(),
        };
        items.push(PathItem {
            path: format!("{prefix}/watch{ns_path}/{}", resource.plural),
            params: watch_params(None),
            operations: vec![watch_op(
                format!("watch{gv}{ns_id}{kind}List"),
                format!("watch individual changes to a list of {kind}. deprecated: use the 'watch' parameter with a list operation instead."),
                "watchlist",
            )],
        });
        items.push(PathItem {
            path: format!("{prefix}/watch{ns_path}/{}/{{name}}", resource.plural),
            params: watch_params(Some(kind)),
            operations: vec![watch_op(
                format!("watch{gv}{ns_id}{kind}"),
                format!("watch changes to an object of kind {kind}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter."),
                "watch",
            )],
        });
        if resource.namespaced {
            let mut params = list_params();
            params.push(pretty());
            params.sort_by_key(|p| p.name);
            items.push(PathItem {
                path: format!("{prefix}/watch/{}", resource.plural),
                params,
                operations: vec![watch_op(
                    format!("watch{gv}{kind}ListForAllNamespaces"),
                    format!("watch individual changes to a list of {kind}. deprecated: use the 'watch' parameter with a list operation instead."),
                    "watchlist",
                )],
            });
        }
    }

    // Subresources.
    let mut subresources: Vec<&SubresourceRef> = resource.subresources.iter().collect();
    subresources.sort_by(|a, b| a.name.cmp(&b.name));
    for sub in subresources {
        let operations = subresource_operations(
            resource,
            sub,
            names,
            &gv,
            ns_id,
            &object_types,
            &patch_types,
        );
        if operations.is_empty() {
            continue;
        }
        items.push(PathItem {
            path: format!(
                "{prefix}{ns_path}/{}/{{name}}/{}",
                resource.plural, sub.name
            ),
            params: scope_params(Some(&sub_name_kind(resource, sub))),
            operations,
        });
    }
    items
}

//! The operations of subresources (`status`, `scale`, connect streams, ...).

use super::naming::capitalize;
use super::operation::{JSON, Operation, PROTOBUF, Response, YAML};
use super::params::write_params;
use super::types::{KindNames, SchemaRef};
use crate::definitions::GroupVersionKind;
use crate::resource::{ResourceRef, SubresourceRef};
use crate::schema::PATCH;

/// The kind named in a subresource's `name` parameter description.
pub(crate) fn sub_name_kind(resource: &ResourceRef, sub: &SubresourceRef) -> String {
    if is_connect(sub) || sub.kind == resource.kind {
        resource.kind.clone()
    } else {
        sub.kind.clone()
    }
}

/// Connect subresources (`pods/exec`, `nodes/proxy`, ...) take `*Options`
/// kinds as query parameters and stream.
fn is_connect(sub: &SubresourceRef) -> bool {
    sub.kind.ends_with("Options")
}

pub(crate) fn ok(schema: SchemaRef) -> Response {
    Response {
        code: "200",
        description: "OK",
        schema,
    }
}

pub(crate) fn replace_op(
    id: String,
    description: String,
    gvk: &GroupVersionKind,
    schema: &SchemaRef,
    produces: &[&'static str],
) -> Operation {
    Operation {
        method: "put",
        id,
        description,
        action: "put",
        gvk: gvk.clone(),
        params: write_params(false),
        body: Some((schema.clone(), vec!["*/*"])),
        responses: vec![
            ok(schema.clone()),
            Response {
                code: "201",
                description: "Created",
                schema: schema.clone(),
            },
        ],
        produces: produces.to_vec(),
    }
}

pub(crate) fn patch_op(
    id: String,
    description: String,
    gvk: &GroupVersionKind,
    schema: &SchemaRef,
    patch_types: &[&'static str],
    produces: &[&'static str],
) -> Operation {
    Operation {
        method: "patch",
        id,
        description,
        action: "patch",
        gvk: gvk.clone(),
        params: write_params(true),
        body: Some((SchemaRef::Named(PATCH.to_string()), patch_types.to_vec())),
        responses: vec![
            ok(schema.clone()),
            Response {
                code: "201",
                description: "Created",
                schema: schema.clone(),
            },
        ],
        produces: produces.to_vec(),
    }
}

pub(crate) fn subresource_operations(
    resource: &ResourceRef,
    sub: &SubresourceRef,
    names: &mut impl KindNames,
    gv: &str,
    ns_id: &str,
    object_types: &[&'static str],
    patch_types: &[&'static str],
) -> Vec<Operation> {
    let kind = &resource.kind;
    let sub_cap = capitalize(&sub.name);
    let mut ops = Vec::new();
    if is_connect(sub) {
        let gvk = sub.gvk();
        for (verb, method) in [
            ("delete", "delete"),
            ("get", "get"),
            ("patch", "patch"),
            ("create", "post"),
            ("update", "put"),
        ] {
            if !sub.supports(verb) {
                continue;
            }
            ops.push(Operation {
                method,
                id: format!("connect{gv}{}{ns_id}{kind}{sub_cap}", capitalize(method)),
                description: format!(
                    "connect {} requests to {} of {kind}",
                    method.to_uppercase(),
                    sub.name
                ),
                action: "connect",
                gvk: gvk.clone(),
                params: Vec::new(),
                body: None,
                responses: vec![ok(SchemaRef::Text)],
                produces: vec!["*/*"],
            });
        }
        return ops;
    }
    let gvk = sub.gvk();
    if sub.name == "log" {
        if sub.supports("get") {
            ops.push(Operation {
                method: "get",
                id: format!("read{gv}{ns_id}{kind}{sub_cap}"),
                description: format!("read {} of the specified {kind}", sub.name),
                action: "get",
                gvk,
                params: Vec::new(),
                body: None,
                responses: vec![ok(SchemaRef::Text)],
                produces: vec!["text/plain", JSON, YAML, PROTOBUF],
            });
        }
        return ops;
    }
    let schema = SchemaRef::Named(names.kind_schema(&gvk));
    let what = if sub.name == "status" {
        "status of the specified".to_string()
    } else {
        format!("{} of the specified", sub.name)
    };
    if sub.supports("get") {
        ops.push(Operation {
            method: "get",
            id: format!("read{gv}{ns_id}{kind}{sub_cap}"),
            description: format!("read {what} {kind}"),
            action: "get",
            gvk: gvk.clone(),
            params: Vec::new(),
            body: None,
            responses: vec![ok(schema.clone())],
            produces: object_types.to_vec(),
        });
    }
    if sub.supports("create") {
        ops.push(Operation {
            method: "post",
            id: format!("create{gv}{ns_id}{kind}{sub_cap}"),
            description: format!("create {} of a {kind}", sub.name),
            action: "post",
            gvk: gvk.clone(),
            params: write_params(false),
            body: Some((schema.clone(), vec!["*/*"])),
            responses: ["200", "201", "202"]
                .into_iter()
                .map(|code| Response {
                    code,
                    description: match code {
                        "200" => "OK",
                        "201" => "Created",
                        _ => "Accepted",
                    },
                    schema: schema.clone(),
                })
                .collect(),
            produces: object_types.to_vec(),
        });
    }
    if sub.supports("update") {
        ops.push(replace_op(
            format!("replace{gv}{ns_id}{kind}{sub_cap}"),
            format!("replace {what} {kind}"),
            &gvk,
            &schema,
            object_types,
        ));
    }
    if sub.supports("patch") {
        ops.push(patch_op(
            format!("patch{gv}{ns_id}{kind}{sub_cap}"),
            format!("partially update {what} {kind}"),
            &gvk,
            &schema,
            patch_types,
            object_types,
        ));
    }
    ops
}

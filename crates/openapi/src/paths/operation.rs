//! The building blocks of a path item: operations with their responses and
//! content types, rendered in swagger 2.0 or OpenAPI v3 form.

use serde_json::{Map, Value, json};

use super::params::Param;
use super::types::{Flavor, SchemaRef};
use crate::definitions::GroupVersionKind;

pub(crate) const JSON: &str = "application/json";
pub(crate) const YAML: &str = "application/yaml";
pub(crate) const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";
pub(crate) const JSON_STREAM: &str = "application/json;stream=watch";
pub(crate) const PROTOBUF_STREAM: &str = "application/vnd.kubernetes.protobuf;stream=watch";

#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub(crate) code: &'static str,
    pub(crate) description: &'static str,
    pub(crate) schema: SchemaRef,
}

#[derive(Debug, Clone)]
pub(crate) struct Operation {
    pub(crate) method: &'static str,
    pub(crate) id: String,
    pub(crate) description: String,
    pub(crate) action: &'static str,
    pub(crate) gvk: GroupVersionKind,
    pub(crate) params: Vec<Param>,
    pub(crate) body: Option<(SchemaRef, Vec<&'static str>)>,
    pub(crate) responses: Vec<Response>,
    pub(crate) produces: Vec<&'static str>,
}

/// One path with its operations.
#[derive(Debug, Clone)]
pub(crate) struct PathItem {
    pub(crate) path: String,
    pub(crate) params: Vec<Param>,
    pub(crate) operations: Vec<Operation>,
}

impl PathItem {
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Every schema name the path refers to.
    pub(crate) fn schema_names(&self) -> impl Iterator<Item = &str> {
        self.operations.iter().flat_map(|op| {
            op.body
                .iter()
                .map(|(schema, _)| schema)
                .chain(op.responses.iter().map(|r| &r.schema))
                .filter_map(|schema| match schema {
                    SchemaRef::Named(name) => Some(name.as_str()),
                    SchemaRef::Text => None,
                })
        })
    }

    pub(crate) fn render(&self, flavor: Flavor, tag: &str) -> Value {
        let mut item = Map::new();
        for op in &self.operations {
            item.insert(op.method.into(), op.render(flavor, tag));
        }
        if !self.params.is_empty() {
            item.insert(
                "parameters".into(),
                Value::Array(self.params.iter().map(|p| p.render(flavor)).collect()),
            );
        }
        Value::Object(item)
    }
}

fn schema_value(schema: &SchemaRef, flavor: Flavor) -> Value {
    match (schema, flavor) {
        (SchemaRef::Named(name), Flavor::V2) => json!({"$ref": format!("#/definitions/{name}")}),
        (SchemaRef::Named(name), Flavor::V3) => {
            json!({"$ref": format!("#/components/schemas/{name}")})
        }
        (SchemaRef::Text, _) => json!({"type": "string"}),
    }
}

impl Operation {
    fn render(&self, flavor: Flavor, tag: &str) -> Value {
        let mut op = Map::new();
        op.insert("description".into(), json!(self.description));
        op.insert("operationId".into(), json!(self.id));
        let mut params: Vec<Value> = self.params.iter().map(|p| p.render(flavor)).collect();
        match flavor {
            Flavor::V2 => {
                if let Some((schema, consumes)) = &self.body {
                    params.insert(
                        0,
                        json!({"in": "body", "name": "body", "required": true, "schema": schema_value(schema, flavor)}),
                    );
                    op.insert("consumes".into(), json!(consumes));
                } else {
                    op.insert("consumes".into(), json!(["*/*"]));
                }
                op.insert("produces".into(), json!(self.produces));
                op.insert("schemes".into(), json!(["https"]));
                let mut responses = Map::new();
                for r in &self.responses {
                    responses.insert(
                        r.code.into(),
                        json!({"description": r.description, "schema": schema_value(&r.schema, flavor)}),
                    );
                }
                responses.insert("401".into(), json!({"description": "Unauthorized"}));
                op.insert("responses".into(), Value::Object(responses));
            }
            Flavor::V3 => {
                if let Some((schema, consumes)) = &self.body {
                    let content: Map<String, Value> = consumes
                        .iter()
                        .map(|ct| {
                            (
                                ct.to_string(),
                                json!({"schema": schema_value(schema, flavor)}),
                            )
                        })
                        .collect();
                    op.insert(
                        "requestBody".into(),
                        json!({"content": content, "required": true}),
                    );
                }
                let mut responses = Map::new();
                for r in &self.responses {
                    let content: Map<String, Value> = self
                        .produces
                        .iter()
                        .map(|ct| {
                            (
                                ct.to_string(),
                                json!({"schema": schema_value(&r.schema, flavor)}),
                            )
                        })
                        .collect();
                    responses.insert(
                        r.code.into(),
                        json!({"content": content, "description": r.description}),
                    );
                }
                responses.insert("401".into(), json!({"description": "Unauthorized"}));
                op.insert("responses".into(), Value::Object(responses));
            }
        }
        if !params.is_empty() {
            op.insert("parameters".into(), Value::Array(params));
        }
        op.insert("tags".into(), json!([tag]));
        // The discovery operation (`GET /apis/<g>/<v>/`) has no kind.
        if !self.gvk.kind.is_empty() {
            op.insert("x-kubernetes-action".into(), json!(self.action));
            op.insert(
                "x-kubernetes-group-version-kind".into(),
                self.gvk.to_extension(),
            );
        }
        Value::Object(op)
    }
}

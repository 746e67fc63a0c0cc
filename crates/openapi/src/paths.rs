//! The `paths` of a document: for each served resource, the REST operations
//! kube-apiserver registers (list, create, deletecollection, read, replace,
//! patch, delete, watch, subresources), with upstream's operation ids, tags,
//! parameters, content types and the `x-kubernetes-action` and
//! `x-kubernetes-group-version-kind` extensions, rendered in swagger 2.0 or
//! OpenAPI v3 form.
//!
//! Which operations exist follows the resource's verbs, never a guess: a
//! PATCH operation (and with it the `fieldValidation` parameter kubectl
//! looks for) is published exactly when the resource supports `patch`, and
//! every PATCH operation of a kind carries that parameter, because kubectl
//! decides from the first one it finds. This module must never resolve
//! schemas; it only names them (see `spec`).

use serde_json::{Map, Value, json};

use crate::definitions::GroupVersionKind;
use crate::resource::{ResourceRef, SubresourceRef};
use crate::schema::{API_RESOURCE_LIST, DELETE_OPTIONS, PATCH, STATUS, WATCH_EVENT};

/// Which document flavour to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    V2,
    V3,
}

/// What a body or response refers to: a named schema (resolved by `spec`),
/// or plain text (logs, connect streams).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SchemaRef {
    Named(String),
    Text,
}

/// Resolves the schema name of a kind; `spec` owns the lookup (built-in
/// data, custom schemas, placeholders).
pub(crate) trait KindNames {
    fn kind_schema(&mut self, gvk: &GroupVersionKind) -> String;
    fn list_schema(&mut self, item: &GroupVersionKind) -> String;
    fn is_builtin(&self, gvk: &GroupVersionKind) -> bool;
}

#[derive(Debug, Clone)]
struct Param {
    name: &'static str,
    location: &'static str,
    description: String,
    required: bool,
    ty: &'static str,
}

impl Param {
    fn query(name: &'static str, ty: &'static str, description: &str) -> Self {
        Param {
            name,
            location: "query",
            description: description.to_string(),
            required: false,
            ty,
        }
    }

    fn path(name: &'static str, description: String) -> Self {
        Param {
            name,
            location: "path",
            description,
            required: true,
            ty: "string",
        }
    }

    fn render(&self, flavor: Flavor) -> Value {
        let mut out = Map::new();
        out.insert("description".into(), json!(self.description));
        out.insert("in".into(), json!(self.location));
        out.insert("name".into(), json!(self.name));
        if self.required {
            out.insert("required".into(), json!(true));
        }
        match flavor {
            Flavor::V2 => {
                out.insert("type".into(), json!(self.ty));
                out.insert("uniqueItems".into(), json!(true));
            }
            Flavor::V3 => {
                out.insert(
                    "schema".into(),
                    json!({"type": self.ty, "uniqueItems": true}),
                );
            }
        }
        Value::Object(out)
    }
}

const DRY_RUN: &str = "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed";
const FIELD_MANAGER: &str = "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.";
const FIELD_VALIDATION: &str = "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.";
const FORCE: &str = "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.";
const PRETTY: &str = "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget).";
const NAMESPACE: &str = "object name and auth scope, such as for teams and projects";
const GRACE_PERIOD: &str = "The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately. If this value is nil, the default grace period for the specified type will be used. Defaults to a per object value if not specified. zero means delete immediately.";
const IGNORE_STORE_READ_ERROR: &str = "if set to true, it will trigger an unsafe deletion of the resource in case the normal deletion flow fails with a corrupt object error. A resource is considered corrupt if it can not be retrieved from the underlying storage successfully because of a) its data can not be transformed e.g. decryption failure, or b) it fails to decode into an object. NOTE: unsafe deletion ignores finalizer constraints, skips precondition checks, and removes the object from the storage. WARNING: This may potentially break the cluster if the workload associated with the resource being unsafe-deleted relies on normal deletion flow. Use only if you REALLY know what you are doing. The default value is false, and the user must opt in to enable it";
const ORPHAN_DEPENDENTS: &str = "Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the dependent objects be orphaned. If true/false, the \"orphan\" finalizer will be added to/removed from the object's finalizers list. Either this field or PropagationPolicy may be set, but not both.";
const PROPAGATION_POLICY: &str = "Whether and how garbage collection will be performed. Either this field or OrphanDependents may be set, but not both. The default policy is decided by the existing finalizer set in the metadata.finalizers and the resource-specific default policy. Acceptable values are: 'Orphan' - orphan the dependents; 'Background' - allow the garbage collector to delete the dependents in the background; 'Foreground' - a cascading policy that deletes all dependents in the foreground.";
const ALLOW_WATCH_BOOKMARKS: &str = "allowWatchBookmarks requests watch events with type \"BOOKMARK\". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server's discretion. Clients should not assume bookmarks are returned at any specific interval, nor may they assume the server will send any BOOKMARK event during a session. If this is not a watch, this field is ignored.";
const CONTINUE: &str = "The continue option should be set when retrieving more results from the server. Since this value is server defined, clients may only use the continue value from a previous query result with identical query parameters (except for the value of continue) and the server may reject a continue value it does not recognize.";
const FIELD_SELECTOR: &str =
    "A selector to restrict the list of returned objects by their fields. Defaults to everything.";
const LABEL_SELECTOR: &str =
    "A selector to restrict the list of returned objects by their labels. Defaults to everything.";
const LIMIT: &str = "limit is a maximum number of responses to return for a list call. If more items exist, the server will set the `continue` field on the list metadata to a value that can be used with the same initial query to retrieve the next set of results.";
const RESOURCE_VERSION: &str = "resourceVersion sets a constraint on what resource versions a request may be served from. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset";
const RESOURCE_VERSION_MATCH: &str = "resourceVersionMatch determines how resourceVersion is applied to list calls. It is highly recommended that resourceVersionMatch be set for list calls where resourceVersion is set See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset";
const SEND_INITIAL_EVENTS: &str = "`sendInitialEvents=true` may be set together with `watch=true`. In that case, the watch stream will begin with synthetic events to produce the current state of objects in the collection. Once all such events have been sent, a synthetic \"Bookmark\" event will be sent. The bookmark will report the ResourceVersion (RV) corresponding to the set of objects, and be marked with `\"k8s.io/initial-events-end\": \"true\"` annotation.";
const TIMEOUT_SECONDS: &str = "Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.";
const WATCH: &str = "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion.";

fn list_params() -> Vec<Param> {
    vec![
        Param::query("allowWatchBookmarks", "boolean", ALLOW_WATCH_BOOKMARKS),
        Param::query("continue", "string", CONTINUE),
        Param::query("fieldSelector", "string", FIELD_SELECTOR),
        Param::query("labelSelector", "string", LABEL_SELECTOR),
        Param::query("limit", "integer", LIMIT),
        Param::query("resourceVersion", "string", RESOURCE_VERSION),
        Param::query("resourceVersionMatch", "string", RESOURCE_VERSION_MATCH),
        Param::query("sendInitialEvents", "boolean", SEND_INITIAL_EVENTS),
        Param::query("timeoutSeconds", "integer", TIMEOUT_SECONDS),
        Param::query("watch", "boolean", WATCH),
    ]
}

fn write_params(patch: bool) -> Vec<Param> {
    let mut params = vec![
        Param::query("dryRun", "string", DRY_RUN),
        Param::query("fieldManager", "string", FIELD_MANAGER),
        Param::query("fieldValidation", "string", FIELD_VALIDATION),
    ];
    if patch {
        params.push(Param::query("force", "boolean", FORCE));
    }
    params
}

fn delete_params() -> Vec<Param> {
    vec![
        Param::query("dryRun", "string", DRY_RUN),
        Param::query("gracePeriodSeconds", "integer", GRACE_PERIOD),
        Param::query(
            "ignoreStoreReadErrorWithClusterBreakingPotential",
            "boolean",
            IGNORE_STORE_READ_ERROR,
        ),
        Param::query("orphanDependents", "boolean", ORPHAN_DEPENDENTS),
        Param::query("propagationPolicy", "string", PROPAGATION_POLICY),
    ]
}

fn delete_collection_params() -> Vec<Param> {
    let mut params = vec![
        Param::query("continue", "string", CONTINUE),
        Param::query("dryRun", "string", DRY_RUN),
        Param::query("fieldSelector", "string", FIELD_SELECTOR),
        Param::query("gracePeriodSeconds", "integer", GRACE_PERIOD),
        Param::query(
            "ignoreStoreReadErrorWithClusterBreakingPotential",
            "boolean",
            IGNORE_STORE_READ_ERROR,
        ),
        Param::query("labelSelector", "string", LABEL_SELECTOR),
        Param::query("limit", "integer", LIMIT),
        Param::query("orphanDependents", "boolean", ORPHAN_DEPENDENTS),
        Param::query("propagationPolicy", "string", PROPAGATION_POLICY),
        Param::query("resourceVersion", "string", RESOURCE_VERSION),
        Param::query("resourceVersionMatch", "string", RESOURCE_VERSION_MATCH),
        Param::query("sendInitialEvents", "boolean", SEND_INITIAL_EVENTS),
        Param::query("timeoutSeconds", "integer", TIMEOUT_SECONDS),
    ];
    params.sort_by_key(|p| p.name);
    params
}

const JSON: &str = "application/json";
const YAML: &str = "application/yaml";
const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";
const JSON_STREAM: &str = "application/json;stream=watch";
const PROTOBUF_STREAM: &str = "application/vnd.kubernetes.protobuf;stream=watch";

#[derive(Debug, Clone)]
struct Response {
    code: &'static str,
    description: &'static str,
    schema: SchemaRef,
}

#[derive(Debug, Clone)]
struct Operation {
    method: &'static str,
    id: String,
    description: String,
    action: &'static str,
    gvk: GroupVersionKind,
    params: Vec<Param>,
    body: Option<(SchemaRef, Vec<&'static str>)>,
    responses: Vec<Response>,
    produces: Vec<&'static str>,
}

/// One path with its operations.
#[derive(Debug, Clone)]
pub(crate) struct PathItem {
    path: String,
    params: Vec<Param>,
    operations: Vec<Operation>,
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

/// `""` -> `core`, `rbac.authorization.k8s.io` -> `rbacAuthorization`:
/// upstream's tag prefix.
fn group_tag(group: &str) -> String {
    let camel = group_camel(group);
    let mut chars = camel.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `""` -> `Core`, `flowcontrol.apiserver.k8s.io` -> `FlowcontrolApiserver`,
/// `stable.example.com` -> `StableExampleCom`: upstream's operation id part.
fn group_camel(group: &str) -> String {
    if group.is_empty() {
        return "Core".to_string();
    }
    let trimmed = group.strip_suffix(".k8s.io").unwrap_or(group);
    trimmed
        .split(['.', '-'])
        .filter(|part| !part.is_empty())
        .map(capitalize)
        .collect()
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The tag of a group/version's operations (`apps_v1`, `core_v1`).
pub(crate) fn tag(group: &str, version: &str) -> String {
    format!("{}_{}", group_tag(group), version)
}

/// `/api/v1` or `/apis/<group>/<version>`.
pub(crate) fn api_prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

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

/// The kind named in a subresource's `name` parameter description.
fn sub_name_kind(resource: &ResourceRef, sub: &SubresourceRef) -> String {
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

fn ok(schema: SchemaRef) -> Response {
    Response {
        code: "200",
        description: "OK",
        schema,
    }
}

fn replace_op(
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

fn patch_op(
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

fn subresource_operations(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_upstream() {
        assert_eq!(group_camel(""), "Core");
        assert_eq!(group_camel("apps"), "Apps");
        assert_eq!(
            group_camel("rbac.authorization.k8s.io"),
            "RbacAuthorization"
        );
        assert_eq!(
            group_camel("flowcontrol.apiserver.k8s.io"),
            "FlowcontrolApiserver"
        );
        assert_eq!(group_camel("stable.example.com"), "StableExampleCom");
        assert_eq!(tag("", "v1"), "core_v1");
        assert_eq!(
            tag("rbac.authorization.k8s.io", "v1"),
            "rbacAuthorization_v1"
        );
        assert_eq!(tag("apps", "v1"), "apps_v1");
        assert_eq!(api_prefix("", "v1"), "/api/v1");
        assert_eq!(api_prefix("batch", "v1"), "/apis/batch/v1");
    }
}

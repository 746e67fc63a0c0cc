//! Assembling documents: [`OpenApi`] holds what one server serves (release,
//! resources, custom schemas) and renders the v3 documents per
//! group/version with their content hashes ([`V3Spec`]) and the v2 document.
//!
//! A document contains exactly the component schemas its paths need, closed
//! over `$ref`, so every reference resolves inside it; a kind without a known
//! schema gets a permissive placeholder rather than a dangling reference.
//! Output is deterministic (sorted maps, sorted resources), so the same
//! input always hashes the same and any change of content changes the hash.
//! This module must never do I/O or cache across calls: the server renders
//! once per change of what it serves and keeps the bytes.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha512};

use crate::definitions::{Definitions, GroupVersionKind, Release, claimed_gvks};
use crate::error::Error;
use crate::paths::{self, Flavor, KindNames, PathItem};
use crate::resource::{CustomResourceSchema, ResourceRef};
use crate::schema::{
    builtin_to_v3, custom_resource_schemas, custom_schema_name, list_schema, placeholder_schema,
    ref_target, refs_of, v3_to_v2,
};

/// The OpenAPI view of what one server serves.
#[derive(Debug, Clone)]
pub struct OpenApi {
    release: Release,
    resources: Vec<ResourceRef>,
    /// Extra component schemas in v3 form (custom resources and the like).
    extra: BTreeMap<String, Value>,
    /// Which extra schema describes which kind.
    extra_by_gvk: BTreeMap<GroupVersionKind, String>,
    /// The list schema of a custom kind whose list kind is not `<Kind>List`.
    extra_lists: BTreeMap<GroupVersionKind, String>,
}

/// In which form a schema is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// Swagger 2.0 (`#/definitions/...`): the embedded built-in data.
    V2,
    /// OpenAPI v3 (`#/components/schemas/...`): custom and synthesized ones.
    V3,
}

impl OpenApi {
    /// Documents for `resources` with the built-in schemas of `release`.
    pub fn new(release: Release, resources: &[ResourceRef]) -> Self {
        let mut resources = resources.to_vec();
        resources.sort_by(|a, b| {
            (&a.group, &a.version, &a.plural).cmp(&(&b.group, &b.version, &b.plural))
        });
        resources
            .dedup_by(|a, b| a.group == b.group && a.version == b.version && a.plural == b.plural);
        OpenApi {
            release,
            resources,
            extra: BTreeMap::new(),
            extra_by_gvk: BTreeMap::new(),
            extra_lists: BTreeMap::new(),
        }
    }

    /// Adds (or replaces) a named component schema in OpenAPI v3 form. If it
    /// claims kinds in `x-kubernetes-group-version-kind`, it describes those
    /// kinds in place of any built-in schema.
    pub(crate) fn with_schema(mut self, name: impl Into<String>, schema: Value) -> Self {
        let name = name.into();
        self.extra_by_gvk.retain(|_, claimant| *claimant != name);
        self.extra_lists.retain(|_, list| *list != name);
        for gvk in claimed_gvks(&schema) {
            self.extra_by_gvk.insert(gvk, name.clone());
        }
        self.extra.insert(name, schema);
        self
    }

    /// Publishes a custom resource version's schema the way upstream does:
    /// as `<reversed group>.<version>.<Kind>` with the standard top-level
    /// fields and its group/version/kind, plus its list kind. The resource's
    /// paths come from its [`ResourceRef`].
    pub fn with_custom_resource(mut self, crd: &CustomResourceSchema) -> Result<Self, Error> {
        let schemas = custom_resource_schemas(crd)?;
        let item = GroupVersionKind::new(&crd.group, &crd.version, &crd.kind);
        for (name, schema) in schemas {
            let is_list = claimed_gvks(&schema).iter().all(|gvk| *gvk != item);
            self = self.with_schema(name.clone(), schema);
            if is_list {
                self.extra_lists.insert(item.clone(), name);
            }
        }
        Ok(self)
    }

    /// The served group/versions, sorted.
    pub fn group_versions(&self) -> Vec<(String, String)> {
        let set: BTreeSet<(String, String)> = self
            .resources
            .iter()
            .map(|r| (r.group.clone(), r.version.clone()))
            .collect();
        set.into_iter().collect()
    }

    /// The v3 document of one group/version; `None` when nothing of it is
    /// served.
    pub fn v3_group_version(&self, group: &str, version: &str) -> Option<Value> {
        let resources: Vec<&ResourceRef> = self
            .resources
            .iter()
            .filter(|r| r.group == group && r.version == version)
            .collect();
        if resources.is_empty() {
            return None;
        }
        let mut resolver = Resolver::new(self);
        let mut items = vec![paths::group_version_root(group, version)];
        for resource in &resources {
            items.extend(paths::resource_paths(resource, &mut resolver));
        }
        let tag = paths::tag(group, version);
        let schemas = resolver.closure(&items);
        let mut components = Map::new();
        for (name, (schema, form)) in schemas {
            let v3 = match form {
                Form::V2 => builtin_to_v3(&name, &schema),
                Form::V3 => schema.into_owned(),
            };
            components.insert(name, v3);
        }
        Some(json!({
            "openapi": "3.0.0",
            "info": self.info(),
            "paths": render_paths(&items, Flavor::V3, |_| tag.clone()),
            "components": {
                "schemas": components,
                "securitySchemes": {"BearerToken": bearer_token()},
            },
            "security": [{"BearerToken": []}],
        }))
    }

    /// Every v3 group/version document, serialized, with its hash.
    pub fn v3(&self) -> V3Spec {
        let mut documents = BTreeMap::new();
        for (group, version) in self.group_versions() {
            let Some(doc) = self.v3_group_version(&group, &version) else {
                continue;
            };
            // Serializing a Value cannot fail (all keys are strings).
            let body = serde_json::to_vec(&doc).unwrap_or_default();
            let path = v3_path(&group, &version);
            documents.insert(
                path.clone(),
                V3Document {
                    hash: content_hash(&body),
                    path,
                    group,
                    version,
                    body,
                },
            );
        }
        V3Spec { documents }
    }

    /// The swagger 2.0 document (`/openapi/v2`) for everything served.
    pub fn v2(&self) -> Value {
        let mut resolver = Resolver::new(self);
        let mut items: Vec<(String, PathItem)> = Vec::new();
        for (group, version) in self.group_versions() {
            let tag = paths::tag(&group, &version);
            items.push((tag.clone(), paths::group_version_root(&group, &version)));
            for resource in self
                .resources
                .iter()
                .filter(|r| r.group == group && r.version == version)
            {
                for item in paths::resource_paths(resource, &mut resolver) {
                    items.push((tag.clone(), item));
                }
            }
        }
        let path_items: Vec<PathItem> = items.iter().map(|(_, item)| item.clone()).collect();
        let tags: BTreeMap<String, String> = items
            .iter()
            .map(|(tag, item)| (item.path().to_string(), tag.clone()))
            .collect();
        let schemas = resolver.closure(&path_items);
        let mut definitions = Map::new();
        for (name, (schema, form)) in schemas {
            let v2 = match form {
                Form::V2 => schema.into_owned(),
                Form::V3 => v3_to_v2(&schema),
            };
            definitions.insert(name, v2);
        }
        json!({
            "swagger": "2.0",
            "info": self.info(),
            "paths": render_paths(&path_items, Flavor::V2, |path| {
                tags.get(path).cloned().unwrap_or_default()
            }),
            "definitions": definitions,
            "securityDefinitions": {"BearerToken": bearer_token()},
            "security": [{"BearerToken": []}],
        })
    }

    fn info(&self) -> Value {
        json!({"title": "Kubernetes", "version": format!("v{}.0", self.release)})
    }

    /// The schema called `name`, from custom schemas first, then built-ins
    /// (parsed once and kept: for walking objects on every write).
    pub(crate) fn schema(&self, name: &str) -> Option<(Cow<'_, Value>, Form)> {
        if let Some(schema) = self.extra.get(name) {
            return Some((Cow::Borrowed(schema), Form::V3));
        }
        Definitions::get()
            .schema(self.release, name)
            .map(|schema| (Cow::Borrowed(schema), Form::V2))
    }

    /// As [`OpenApi::schema`], for rendering documents: a built-in schema
    /// not kept already is parsed for the caller alone, so rendering every
    /// document does not keep every schema parsed.
    fn schema_to_render(&self, name: &str) -> Option<(Cow<'_, Value>, Form)> {
        if let Some(schema) = self.extra.get(name) {
            return Some((Cow::Borrowed(schema), Form::V3));
        }
        Definitions::get()
            .schema_uncached(self.release, name)
            .map(|schema| (schema, Form::V2))
    }

    /// The name of the schema describing `gvk`, if any.
    pub(crate) fn schema_name_for(&self, gvk: &GroupVersionKind) -> Option<&str> {
        self.extra_by_gvk
            .get(gvk)
            .map(String::as_str)
            .or_else(|| Definitions::get().name_for(self.release, gvk))
    }
}

fn bearer_token() -> Value {
    json!({
        "description": "Bearer Token authentication",
        "in": "header",
        "name": "authorization",
        "type": "apiKey",
    })
}

fn render_paths(items: &[PathItem], flavor: Flavor, tag_of: impl Fn(&str) -> String) -> Value {
    let mut out = Map::new();
    for item in items {
        out.insert(
            item.path().to_string(),
            item.render(flavor, &tag_of(item.path())),
        );
    }
    Value::Object(out)
}

/// Names kinds for the path builder and collects the schemas documents
/// need, synthesizing list and placeholder schemas where nothing is known.
struct Resolver<'a> {
    openapi: &'a OpenApi,
    synthesized: BTreeMap<String, Value>,
}

impl<'a> Resolver<'a> {
    fn new(openapi: &'a OpenApi) -> Self {
        Resolver {
            openapi,
            synthesized: BTreeMap::new(),
        }
    }

    fn lookup(&self, name: &str) -> Option<(Cow<'_, Value>, Form)> {
        if let Some(schema) = self.synthesized.get(name) {
            return Some((Cow::Borrowed(schema), Form::V3));
        }
        self.openapi.schema_to_render(name)
    }

    /// The schemas `items` refer to, closed over `$ref`, sorted by name.
    fn closure(&self, items: &[PathItem]) -> BTreeMap<String, (Cow<'_, Value>, Form)> {
        let mut queue: VecDeque<String> = items
            .iter()
            .flat_map(|item| item.schema_names().map(str::to_string))
            .collect();
        let mut out = BTreeMap::new();
        while let Some(name) = queue.pop_front() {
            if out.contains_key(&name) {
                continue;
            }
            let Some((schema, form)) = self.lookup(&name) else {
                continue;
            };
            queue.extend(refs_of(&schema));
            out.insert(name, (schema, form));
        }
        out
    }
}

impl KindNames for Resolver<'_> {
    fn kind_schema(&mut self, gvk: &GroupVersionKind) -> String {
        if let Some(name) = self.openapi.schema_name_for(gvk) {
            return name.to_string();
        }
        let name = custom_schema_name(&gvk.group, &gvk.version, &gvk.kind);
        self.synthesized
            .entry(name.clone())
            .or_insert_with(|| placeholder_schema(gvk));
        name
    }

    fn list_schema(&mut self, item: &GroupVersionKind) -> String {
        if let Some(name) = self.openapi.extra_lists.get(item) {
            return name.clone();
        }
        let list_gvk =
            GroupVersionKind::new(&item.group, &item.version, &format!("{}List", item.kind));
        if let Some(name) = self.openapi.extra_by_gvk.get(&list_gvk) {
            return name.clone();
        }
        // A built-in list refers to the built-in item schema, so it only fits
        // when the item is not overridden.
        if !self.openapi.extra_by_gvk.contains_key(item)
            && let Some(name) = Definitions::get().name_for(self.openapi.release, &list_gvk)
        {
            return name.to_string();
        }
        let item_name = self.kind_schema(item);
        let name = custom_schema_name(&list_gvk.group, &list_gvk.version, &list_gvk.kind);
        self.synthesized
            .entry(name.clone())
            .or_insert_with(|| list_schema(&list_gvk, &item.kind, &item_name));
        name
    }

    fn is_builtin(&self, gvk: &GroupVersionKind) -> bool {
        !self.openapi.extra_by_gvk.contains_key(gvk)
            && Definitions::get()
                .name_for(self.openapi.release, gvk)
                .is_some()
    }
}

/// All v3 group/version documents of one server, ready to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Spec {
    documents: BTreeMap<String, V3Document>,
}

impl V3Spec {
    /// The `/openapi/v3` discovery document: for each group/version path, the
    /// URL of its document with `?hash=` so clients can cache it forever.
    pub fn index(&self) -> Value {
        let paths: Map<String, Value> = self
            .documents
            .values()
            .map(|doc| {
                (
                    doc.path.clone(),
                    json!({"serverRelativeURL": doc.server_relative_url()}),
                )
            })
            .collect();
        json!({ "paths": paths })
    }

    /// The document at `path` (`api/v1`, `apis/apps/v1`), without the
    /// `/openapi/v3/` prefix.
    pub fn document(&self, path: &str) -> Option<&V3Document> {
        self.documents.get(path.trim_matches('/'))
    }

    /// Every document, sorted by path.
    pub fn documents(&self) -> impl Iterator<Item = &V3Document> {
        self.documents.values()
    }
}

/// One `/openapi/v3/<path>` document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Document {
    path: String,
    group: String,
    version: String,
    body: Vec<u8>,
    hash: String,
}

impl V3Document {
    /// `api/v1` or `apis/<group>/<version>`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The JSON bytes to serve.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Upstream's content hash of [`V3Document::body`]: uppercase hex SHA-512.
    /// Serve it as the ETag, and compare it with a request's `?hash=`.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// `/openapi/v3/<path>?hash=<hash>`, as listed in the index.
    pub fn server_relative_url(&self) -> String {
        format!("/openapi/v3/{}?hash={}", self.path, self.hash)
    }
}

/// `api/v1` for core, `apis/<group>/<version>` otherwise: the key of a
/// group/version in the `/openapi/v3` index.
pub fn v3_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// The hash upstream puts in `?hash=`: uppercase hex SHA-512 of the bytes.
pub fn content_hash(bytes: &[u8]) -> String {
    Sha512::digest(bytes)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// Resolves `reference` against `openapi`, for walkers.
pub(crate) fn resolve<'a>(openapi: &'a OpenApi, reference: &str) -> Option<Cow<'a, Value>> {
    ref_target(reference)
        .and_then(|name| openapi.schema(name))
        .map(|(schema, _)| schema)
}

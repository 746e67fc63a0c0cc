//! Type information for server-side apply: the [`FieldManager`] of each
//! served kind, built once per group/version/kind and scope and kept until
//! what is served changes (the cache lives in the OpenAPI documents, which
//! are rebuilt then).
//!
//! Built-in kinds take their type from the embedded OpenAPI v3 component
//! schemas (the schema carrying the kind's `x-kubernetes-group-version-kind`
//! in its group/version document); custom resources from the served
//! version's structural schema; anything else is deduced (objects granular,
//! lists atomic). Never does I/O; building a schema never fails a request:
//! a schema that cannot be used falls back to the deduced type.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use skewless_apimachinery::catalog::ResourceInfo;
use skewless_fieldmanager::{FieldManager, FieldSet, PathElement, Schema};
use skewless_openapi::OpenApi;

/// Which writes a field manager serves: they differ in the fields they
/// ignore (upstream's reset fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Scope {
    /// The main resource (and `scale`, whose writes change the parent):
    /// `status` is ignored when a status subresource exists.
    Main,
    /// The `status` subresource: only `status` is owned.
    Status,
}

type Key = (String, String, String, Scope);

/// The field managers built so far.
#[derive(Default)]
pub(crate) struct FieldManagers {
    built: Mutex<HashMap<Key, Arc<FieldManager>>>,
}

impl std::fmt::Debug for FieldManagers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldManagers").finish_non_exhaustive()
    }
}

impl FieldManagers {
    /// The field manager of `r` in `scope`; `raw_schema` is a custom
    /// resource's schema (`None` for a built-in).
    pub(crate) fn get(
        &self,
        openapi: &OpenApi,
        r: &ResourceInfo,
        custom: Option<Option<&Value>>,
        scope: Scope,
    ) -> Arc<FieldManager> {
        let key = (r.group.clone(), r.version.clone(), r.kind.clone(), scope);
        if let Some(fm) = self.lock().get(&key) {
            return Arc::clone(fm);
        }
        // Built outside the lock: a slow first build never blocks other kinds.
        let schema = match custom {
            Some(Some(raw)) => Schema::from_structural_json(raw),
            Some(None) => Schema::deduced(),
            None => built_in_schema(openapi, r).unwrap_or_else(Schema::deduced),
        };
        let fm = Arc::new(FieldManager::new(schema).with_ignored(ignored(r, scope)));
        Arc::clone(self.lock().entry(key).or_insert(fm))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<FieldManager>>> {
        match self.built.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// The fields writes in `scope` neither own nor conflict on: `status` for
/// the main resource of a kind with a status subresource; `spec` and
/// `metadata` for status writes (as upstream's custom resource status
/// strategy).
fn ignored(r: &ResourceInfo, scope: Scope) -> FieldSet {
    let path = |f: &str| vec![PathElement::field(f)];
    match scope {
        Scope::Main if r.subresource("status").is_some() => FieldSet::from_paths([path("status")]),
        Scope::Main => FieldSet::new(),
        Scope::Status => FieldSet::from_paths([path("spec"), path("metadata")]),
    }
}

/// The kind's schema from its group/version's v3 document.
fn built_in_schema(openapi: &OpenApi, r: &ResourceInfo) -> Option<Schema> {
    let doc = openapi.v3_group_version(&r.group, &r.version)?;
    let schemas = doc.pointer("/components/schemas")?.as_object()?;
    let name = schemas.iter().find_map(|(name, s)| {
        let claims = s.get("x-kubernetes-group-version-kind")?.as_array()?;
        claims
            .iter()
            .any(|gvk| {
                gvk.get("group").and_then(Value::as_str).unwrap_or("") == r.group
                    && gvk.get("version").and_then(Value::as_str) == Some(r.version.as_str())
                    && gvk.get("kind").and_then(Value::as_str) == Some(r.kind.as_str())
            })
            .then(|| name.clone())
    })?;
    match Schema::from_openapi_v3(&doc, &name) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(kind = %r.kind, error = %e, "no usable schema for field management");
            None
        }
    }
}

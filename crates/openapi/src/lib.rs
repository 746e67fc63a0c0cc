//! The OpenAPI documents skewless publishes: `/openapi/v3` (the index and one
//! document per group/version) and `/openapi/v2` (swagger 2.0, in JSON and,
//! for kubectl up to 1.28, in gnostic's protobuf: [`v2_protobuf`]).
//!
//! kubectl reads them for three things: `kubectl create/apply` with the
//! default `--validate=strict` looks for a `fieldValidation` query parameter
//! on the PATCH operation of the object's kind in the v3 group/version
//! document and, when it is there, leaves unknown-field detection to the
//! server; `kubectl explain` renders the v3 component schema that carries
//! the kind's `x-kubernetes-group-version-kind`; client-side `apply` can use
//! the patch strategies in the schemas. Schemas of built-in kinds come from
//! embedded data (see [`Release`] and `data/README.md`); custom resources add
//! theirs with [`OpenApi::with_custom_resource`]. [`OpenApi::unknown_fields`]
//! walks an object against the same schemas, for the server's strict field
//! validation.
//!
//! Everything here is a pure function of its inputs: no sockets, no clocks,
//! no storage. The server converts its catalog to [`ResourceRef`]s, renders
//! once per change, and serves the bytes.

mod definitions;
mod error;
mod paths;
mod resource;
mod schema;
mod shape;
mod spec;
mod types;
mod unknown;
mod v2proto;

pub use definitions::{GroupVersionKind, Release};
pub use error::Error;
pub use resource::{CustomResourceSchema, ResourceRef, SubresourceRef};
pub use shape::same_shape;
pub use spec::{OpenApi, V3Document, V3Spec, content_hash, v3_path};
pub use v2proto::v2_protobuf;

use serde_json::Value;

/// The `/openapi/v3` index for `resources` at the newest embedded release:
/// `{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=..."}}}`,
/// one entry per served group/version, each hash a digest of that document.
pub fn v3_index(resources: &[ResourceRef]) -> Value {
    OpenApi::new(Release::latest(), resources).v3().index()
}

/// The `/openapi/v3/<api/v1 | apis/group/version>` document for the
/// resources of `group`/`version` among `resources`, at the newest embedded
/// release; `None` when none of them is in that group/version.
pub fn v3_group_version(group: &str, version: &str, resources: &[ResourceRef]) -> Option<Value> {
    OpenApi::new(Release::latest(), resources).v3_group_version(group, version)
}

/// Like [`v3_group_version`], with extra named component schemas (OpenAPI v3
/// form, e.g. a custom resource's schema carrying its
/// `x-kubernetes-group-version-kind`). An extra schema that claims a kind's
/// group/version/kind is used for that kind instead of the built-in one.
pub fn v3_group_version_with(
    group: &str,
    version: &str,
    resources: &[ResourceRef],
    extra_schemas: &[(String, Value)],
) -> Option<Value> {
    let mut openapi = OpenApi::new(Release::latest(), resources);
    for (name, schema) in extra_schemas {
        openapi = openapi.with_schema(name.clone(), schema.clone());
    }
    openapi.v3_group_version(group, version)
}

/// The swagger 2.0 document (`/openapi/v2`, JSON) for `resources` at the
/// newest embedded release.
pub fn v2(resources: &[ResourceRef]) -> Value {
    OpenApi::new(Release::latest(), resources).v2()
}

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
//!
//! The shared vocabulary is in `types`, operations and path items in
//! `operation`, parameters in `params`, upstream's naming in `naming`, and
//! the path items of a resource and of its subresources in `resource` and
//! `subresource`.

mod naming;
mod operation;
mod params;
mod resource;
mod subresource;
mod types;

pub(crate) use naming::tag;
pub(crate) use operation::PathItem;
pub(crate) use resource::{group_version_root, resource_paths};
pub(crate) use types::{Flavor, KindNames};

#[cfg(test)]
mod tests;

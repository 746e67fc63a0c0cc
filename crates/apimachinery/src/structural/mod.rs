//! Structural OpenAPI v3 schemas as CustomResourceDefinitions use them: the
//! checks a CRD's `openAPIV3Schema` must pass ([`validate_schema`],
//! [`is_structural`]), and the four things the server does with a custom
//! object and the [`Schema`] of its version: [`validate`] it (422 with every
//! failing field), [`prune`] unknown fields (reported for `Warning` headers and
//! `fieldValidation=Strict`), and [`apply_defaults`] on create, update and read.
//!
//! Field paths and message texts are upstream's (kube-apiserver's schema
//! validator, its pruning, defaulting and list-type checks), because clients
//! and people compare them verbatim; where upstream's text is unreadable or
//! attached to no field at all, the deviation is documented at the function.
//! This module must never do I/O, read the clock, panic on user input (schemas
//! and objects are user input), or evaluate `x-kubernetes-validations` (CEL):
//! those rules are accepted and ignored.

//!
//! The module is split by concern: [`Schema`] parsing (`schema`), object
//! validation (`validate`, with `embedded`, `list_type`, `formats` and the
//! Go-compatible value helpers of `values`), `prune`, `defaults`, and the
//! checks of a schema itself (`check`, with the structural rules of
//! `invariants`, the OpenAPI rules of `rules` and the keyword readers of
//! `keywords`). Field paths are built with `path`.

mod check;
mod defaults;
mod embedded;
mod formats;
mod invariants;
mod keywords;
mod list_type;
mod path;
mod prune;
mod rules;
mod schema;
mod validate;
mod values;

pub(crate) use check::validate_schema;
pub use defaults::apply_defaults;
pub(crate) use path::{child, index, key};
pub use prune::prune;
pub use schema::Schema;
pub use validate::validate;
pub(crate) use values::{go_float, json_eq};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

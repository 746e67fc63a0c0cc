//! The vocabulary shared by the path builders and `spec`: the document
//! [`Flavor`], schema references, and kind-name resolution ([`KindNames`]).

use crate::definitions::GroupVersionKind;

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

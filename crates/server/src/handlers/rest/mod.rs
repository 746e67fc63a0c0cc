//! Generic REST handling for every served resource: get, list, create,
//! update, patch, delete, deletecollection, and the `status` and `scale`
//! subresources, with kube-apiserver's semantics for resource versions,
//! optimistic concurrency, finalizers, generation and dry runs.
//!
//! Objects are JSON; nothing here knows a resource's schema beyond what the
//! catalog says (kind, scope, subresources). Handlers return `Result` and
//! never build error bodies themselves.

mod codec;
mod delete;
mod get;
mod list;
mod managed;
pub(crate) mod request;
mod scale;
mod write;

pub(crate) use codec::{decode_at, finish};
pub(crate) use delete::{delete, delete_collection};
pub(crate) use get::{get, get_value};
pub(crate) use list::{Selection, list_encoded, list_json, list_page};
pub(crate) use request::{Request, api_version};
pub(crate) use write::{create, patch, update};

//! Server-side apply field management as kube-apiserver does it with
//! structured-merge-diff: which manager owns which fields of an object
//! (`metadata.managedFields`), how an applied configuration merges into the
//! live object, which fields conflict, and which fields a manager gave up
//! are removed.
//!
//! Pure: no I/O, no clock (callers pass the time), never panics on input.
//! Type information comes from a [`Schema`]: a CRD's structural schema, the
//! built-ins' OpenAPI v3, or none (deduced).

mod error;
mod fieldmanager;
mod managed;
mod manager;
mod operation;
mod path;
mod schema;
mod set;
mod walk;

pub use error::{Conflict, Conflicts, Error};
pub use fieldmanager::{Applied, FieldManager, Writer, field_set};
pub use managed::{
    ANCIENT_CHANGES_MANAGER, DEFAULT_MAX_UPDATE_MANAGERS, MAX_SUBRESOURCE_NAME_LENGTH,
    ManagedFieldsEntry, Operation, cap_update_managers, decode_managed_fields,
    encode_managed_fields, is_reset_request,
};
pub use manager::{FIELD_MANAGER_MAX_LENGTH, manager_from_user_agent, validate_manager};
pub use path::{OrderedValue, Path, PathElement, compare_values, path_to_string, values_equal};
pub use schema::{ListKind, ListType, MapKind, MapType, Schema, TypeRef, object_meta};
pub use set::FieldSet;

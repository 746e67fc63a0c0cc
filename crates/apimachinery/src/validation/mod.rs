//! Validation of object names, label keys and values, and annotations, with
//! upstream's rules and upstream's message texts, plus the field-level error
//! type (`field.Error` upstream) that `422 Invalid` responses are built from.
//!
//! Kubernetes clients and humans compare these messages verbatim (tests,
//! scripts, `kubectl` output), so the texts here are facts to preserve, not
//! prose to improve. This module must never generate randomness or read the
//! clock: `generate_name` takes the random suffix from its caller.
//!
//! Names and label keys are in `names`, object metadata in `meta`, and the
//! field-level error in `field_error`.

mod builtin;
mod field_error;
mod meta;
mod names;

pub use builtin::{MAX_DATA_BYTES, validate_core_limits};
pub(crate) use field_error::aggregate_messages;
pub use field_error::go_quote;
pub use field_error::{FieldError, FieldErrorType};
pub use meta::{
    generate_name, random_suffix, validate_annotations, validate_labels, validate_object_meta_name,
};
pub use names::NameRule;
pub(crate) use names::{
    is_dns1035_label, is_dns1123_label, is_dns1123_subdomain, is_qualified_name,
    is_valid_label_value, is_valid_path_segment_name,
};

#[cfg(test)]
mod tests;

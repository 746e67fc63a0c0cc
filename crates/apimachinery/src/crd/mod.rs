//! CustomResourceDefinitions (`apiextensions.k8s.io/v1`) as data: the wire
//! types, the validation of a CRD with upstream's field paths and messages,
//! the `NamesAccepted` decision of upstream's naming controller, and what the
//! server derives from an accepted CRD to serve it (catalog entries per served
//! version, schemas, printer columns and cells, scale and deprecation
//! warnings). The schema keywords themselves live in [`crate::structural`].
//!
//! Objects are stored in the `storage: true` version; conversion strategy
//! `None` rewrites only `apiVersion`, `Webhook` asks the CRD's conversion
//! webhook (`webhook`: the review and its checks; the server sends it). This module must never do I/O,
//! read the clock (callers pass timestamps), or panic on user input.
//!
//! The wire types and conditions are in `types`, what serving derives from
//! a CRD in `serve`, its validation in `validate`, the naming decision in
//! `names`, and the scale subresource in `scale`; printer-column JSONPath is
//! [`crate::jsonpath`].

mod names;
mod scale;
mod serve;
mod types;
mod validate;
mod webhook;

pub use names::{NamesDecision, calculate_names};
pub use scale::{scale_from_object, set_spec_replicas};
pub use serve::{printer_cell, resource_infos};
pub use types::{
    CLEANUP_FINALIZER, CustomResourceColumnDefinition, CustomResourceConversion,
    CustomResourceDefinition, CustomResourceDefinitionCondition, CustomResourceDefinitionNames,
    CustomResourceDefinitionSpec, CustomResourceDefinitionStatus, CustomResourceDefinitionVersion,
    CustomResourceSubresourceScale, CustomResourceSubresources, CustomResourceValidation, GROUP,
    KIND, SelectableField, established_condition,
};
pub use webhook::{
    ConversionWebhook, REVIEW_VERSIONS, ServiceReference, gvk_string, read_review_response,
    review_request, review_response,
};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

//! Label selectors and field selectors: parsing (upstream's full string
//! syntax and the structured `metav1.LabelSelector`), validation, canonical
//! printing and matching against objects.
//!
//! List, watch and deletecollection all filter through here, and clients
//! depend on which selectors are rejected and with what message, so the
//! grammar follows upstream's `labels.Parse` and `fields.ParseSelector`
//! token for token. This module must never decide which fields a resource
//! supports in a field selector (the catalog knows that; see
//! [`FieldSelector::requirements`]) and never panics on user input.
//!
//! Label selectors are in `label` (with their `requirement`s and the string
//! `parse`r), field selectors in `field`, and the shared error in `error`.

mod display;
mod error;
mod field;
mod label;
mod parse;
mod requirement;

pub use error::SelectorError;
pub use field::{FieldOperator, FieldRequirement, FieldSelector};
pub use label::{LabelSelector, MetaLabelSelector, MetaLabelSelectorRequirement};
pub use requirement::{Operator, Requirement};

#[cfg(test)]
mod tests;

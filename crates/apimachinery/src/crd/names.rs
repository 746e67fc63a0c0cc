//! The `NamesAccepted` decision of upstream's naming controller
//! ([`calculate_names`]).

use std::collections::BTreeSet;

use super::types::{
    CustomResourceDefinition, CustomResourceDefinitionCondition, CustomResourceDefinitionNames,
    ESTABLISHED, NAMES_ACCEPTED,
};
use crate::validation::{aggregate_messages, go_quote};

// ---------------------------------------------------------------------------
// Names: the NamesAccepted decision
// ---------------------------------------------------------------------------

/// The outcome of upstream's naming controller for one CRD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamesDecision {
    /// The names to record in `status.acceptedNames`: each requested name
    /// that is free (or already ours), the old accepted one otherwise.
    pub accepted_names: CustomResourceDefinitionNames,
    /// `NamesAccepted`: `True`/`NoConflicts`, or `False` with
    /// `PluralConflict`, `SingularConflict`, `ShortNamesConflict`,
    /// `KindConflict` or `ListKindConflict` and `"<name>" is already in use`.
    pub names_accepted: CustomResourceDefinitionCondition,
    /// `Established` to record alongside: kept if already `True`, else
    /// `False` with `Installing` (names accepted) or `NotAccepted`.
    pub established: CustomResourceDefinitionCondition,
}

/// Computes `status.acceptedNames` and the `NamesAccepted`/`Established`
/// conditions as upstream's naming controller does, against the accepted
/// names of the other CRDs of the same group (`existing`; the CRD itself may
/// be among them) and, beyond upstream, against built-in resources:
/// `built_in(group, name)` says whether a built-in resource of `group` uses
/// `name` as plural, singular or short name. Kinds are checked against CRDs
/// only.
pub fn calculate_names(
    crd: &CustomResourceDefinition,
    existing: &[&CustomResourceDefinition],
    built_in: impl Fn(&str, &str) -> bool,
) -> NamesDecision {
    let group = crd.spec.group.as_str();
    let mut resources: BTreeSet<&str> = BTreeSet::new();
    let mut kinds: BTreeSet<&str> = BTreeSet::new();
    for other in existing.iter().filter(|o| o.spec.group == group) {
        let a = &other.status.accepted_names;
        resources.insert(&a.plural);
        resources.insert(&a.singular);
        resources.extend(a.short_names.iter().map(String::as_str));
        kinds.insert(&a.kind);
        kinds.insert(&a.list_kind);
    }
    let resource_used = |name: &str| resources.contains(name) || built_in(group, name);
    let kind_used = |name: &str| kinds.contains(name);
    let fresh = |requested: &str, accepted: &str, used: &dyn Fn(&str) -> bool| {
        if requested == accepted || !used(requested) {
            Ok(())
        } else {
            Err(format!("{} is already in use", go_quote(requested)))
        }
    };

    let requested = &crd.spec.names;
    let accepted = &crd.status.accepted_names;
    let mut names = accepted.clone();
    let mut condition = CustomResourceDefinitionCondition::new(NAMES_ACCEPTED, "Unknown", "", "");
    let mut conflict = |reason: &str, message: String| {
        condition.status = "False".to_owned();
        condition.reason = reason.to_owned();
        condition.message = message;
    };

    match fresh(&requested.plural, &accepted.plural, &resource_used) {
        Ok(()) => names.plural = requested.plural.clone(),
        Err(m) => conflict("PluralConflict", m),
    }
    match fresh(&requested.singular, &accepted.singular, &resource_used) {
        Ok(()) => names.singular = requested.singular.clone(),
        Err(m) => conflict("SingularConflict", m),
    }
    if requested.short_names != accepted.short_names {
        let errors: Vec<String> = requested
            .short_names
            .iter()
            .filter(|s| !accepted.short_names.contains(s))
            .filter_map(|s| fresh(s, "", &resource_used).err())
            .collect();
        if errors.is_empty() {
            names.short_names = requested.short_names.clone();
        } else {
            conflict("ShortNamesConflict", aggregate_messages(errors));
        }
    }
    match fresh(&requested.kind, &accepted.kind, &kind_used) {
        Ok(()) => names.kind = requested.kind.clone(),
        Err(m) => conflict("KindConflict", m),
    }
    match fresh(&requested.list_kind, &accepted.list_kind, &kind_used) {
        Ok(()) => names.list_kind = requested.list_kind.clone(),
        Err(m) => conflict("ListKindConflict", m),
    }
    names.categories = requested.categories.clone();

    if condition.status == "Unknown" {
        condition.status = "True".to_owned();
        condition.reason = "NoConflicts".to_owned();
        condition.message = "no conflicts found".to_owned();
    }

    let mut established = crd
        .status
        .condition(ESTABLISHED)
        .cloned()
        .unwrap_or_else(|| {
            CustomResourceDefinitionCondition::new(
                ESTABLISHED,
                "False",
                "NotAccepted",
                "not all names are accepted",
            )
        });
    if established.status != "True" && condition.status == "True" {
        established = CustomResourceDefinitionCondition::new(
            ESTABLISHED,
            "False",
            "Installing",
            "the initial names have been accepted",
        );
    }
    NamesDecision {
        accepted_names: names,
        names_accepted: condition,
        established,
    }
}

/// The `NamesAccepted=False` decision alone: `(reason, message)` of the
/// last conflict found (as upstream reports it), or `None` when every name
/// is free. See [`calculate_names`].
#[cfg(test)]
pub(crate) fn names_conflict(
    crd: &CustomResourceDefinition,
    existing: &[&CustomResourceDefinition],
    built_in: impl Fn(&str, &str) -> bool,
) -> Option<(String, String)> {
    let decision = calculate_names(crd, existing, built_in);
    let c = decision.names_accepted;
    (c.status == "False").then_some((c.reason, c.message))
}

//! Privilege-escalation checks: whether the rules a user holds cover the
//! rules they try to grant (upstream's `validation.Covers`), and the 403
//! message text upstream returns when they do not.
//!
//! Pure functions of their inputs; the caller supplies the owner's rules
//! (see [`crate::Policy::rules`]).

use std::collections::{BTreeMap, BTreeSet};

use crate::quote::{go_quote, go_quote_list};
use crate::rule::{ALL, PolicyRule, url_covers};

/// The parts of `requested` that `owner` does not cover, each broken down to
/// one verb, one API group, one resource and at most one resource name (or
/// one verb and one non-resource URL), in the order they were requested.
/// Empty means the owner may grant everything requested.
pub fn covers(owner: &[PolicyRule], requested: &[PolicyRule]) -> Vec<PolicyRule> {
    requested
        .iter()
        .flat_map(breakdown)
        .filter(|atom| !owner.iter().any(|rule| rule_covers(rule, atom)))
        .collect()
}

/// Splits a rule into rules that each hold one verb, one group, one resource
/// and at most one name, or one verb and one non-resource URL.
pub(crate) fn breakdown(rule: &PolicyRule) -> Vec<PolicyRule> {
    let mut atoms = Vec::new();
    for group in &rule.api_groups {
        for resource in &rule.resources {
            for verb in &rule.verbs {
                let atom = |names: Vec<String>| PolicyRule {
                    verbs: vec![verb.clone()],
                    api_groups: vec![group.clone()],
                    resources: vec![resource.clone()],
                    resource_names: names,
                    non_resource_urls: Vec::new(),
                };
                if rule.resource_names.is_empty() {
                    atoms.push(atom(Vec::new()));
                } else {
                    atoms.extend(rule.resource_names.iter().map(|n| atom(vec![n.clone()])));
                }
            }
        }
    }
    for url in &rule.non_resource_urls {
        for verb in &rule.verbs {
            atoms.push(PolicyRule {
                verbs: vec![verb.clone()],
                non_resource_urls: vec![url.clone()],
                ..PolicyRule::default()
            });
        }
    }
    atoms
}

fn has(set: &[String], item: &str) -> bool {
    set.iter().any(|s| s == item)
}

fn has_all(set: &[String], items: &[String]) -> bool {
    items.iter().all(|i| has(set, i))
}

/// Whether every resource in `wanted` is granted by `held`: `*`, an exact
/// entry, or `*/sub` for a subresource.
fn resources_cover(held: &[String], wanted: &[String]) -> bool {
    if has(held, ALL) {
        return true;
    }
    wanted.iter().all(|resource| {
        if has(held, resource) {
            return true;
        }
        match resource.split_once('/') {
            Some((_, sub)) => held
                .iter()
                .any(|h| h.strip_prefix("*/").is_some_and(|held_sub| held_sub == sub)),
            None => false,
        }
    })
}

fn urls_cover(held: &[String], wanted: &[String]) -> bool {
    wanted
        .iter()
        .all(|path| held.iter().any(|h| url_covers(h, path)))
}

/// Whether one owner rule covers one broken-down rule, as upstream's
/// `ruleCovers`.
fn rule_covers(owner: &PolicyRule, atom: &PolicyRule) -> bool {
    let verbs = has(&owner.verbs, ALL) || has_all(&owner.verbs, &atom.verbs);
    let groups = has(&owner.api_groups, ALL) || has_all(&owner.api_groups, &atom.api_groups);
    let resources = resources_cover(&owner.resources, &atom.resources);
    let urls = urls_cover(&owner.non_resource_urls, &atom.non_resource_urls);
    let names = if atom.resource_names.is_empty() {
        owner.resource_names.is_empty()
    } else {
        owner.resource_names.is_empty() || has_all(&owner.resource_names, &atom.resource_names)
    };
    verbs && groups && resources && urls && names
}

/// Joins rules that hold one group and one resource and nothing but verbs
/// into one rule per group/resource with all their verbs (upstream's
/// `CompactRules`), so a message lists `Verbs:["get" "list"]` once.
pub(crate) fn compact(rules: &[PolicyRule]) -> Vec<PolicyRule> {
    let mut out = Vec::new();
    let mut simple: BTreeMap<(&str, &str), PolicyRule> = BTreeMap::new();
    for rule in rules {
        let is_simple = rule.resource_names.is_empty()
            && rule.non_resource_urls.is_empty()
            && rule.api_groups.len() == 1
            && rule.resources.len() == 1;
        if is_simple {
            let key = (rule.api_groups[0].as_str(), rule.resources[0].as_str());
            simple
                .entry(key)
                .and_modify(|merged| merged.verbs.extend(rule.verbs.iter().cloned()))
                .or_insert_with(|| rule.clone());
        } else {
            out.push(rule.clone());
        }
    }
    out.extend(simple.into_values());
    out
}

/// A rule as upstream's `CompactString` prints it:
/// `{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}`, listing only
/// the non-empty fields.
pub fn compact_string(rule: &PolicyRule) -> String {
    let fields = [
        ("APIGroups", &rule.api_groups),
        ("Resources", &rule.resources),
        ("NonResourceURLs", &rule.non_resource_urls),
        ("ResourceNames", &rule.resource_names),
        ("Verbs", &rule.verbs),
    ];
    let parts: Vec<String> = fields
        .iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(label, values)| format!("{label}:{}", go_quote_list(values)))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// The text of upstream's 403 for an attempt to grant rules not held:
/// `user "alice" (groups=["a" "b"]) is attempting to grant RBAC permissions
/// not currently held:` followed by the compacted uncovered rules, one per
/// line, deduplicated and sorted.
pub fn escalation_message(user: &str, groups: &[String], uncovered: &[PolicyRule]) -> String {
    let lines: BTreeSet<String> = compact(uncovered).iter().map(compact_string).collect();
    let lines: Vec<String> = lines.into_iter().collect();
    format!(
        "user {} (groups={}) is attempting to grant RBAC permissions not currently held:\n{}",
        go_quote(user),
        go_quote_list(groups),
        lines.join("\n")
    )
}

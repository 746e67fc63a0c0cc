//! ClusterRole aggregation (upstream's clusterrole-aggregation controller as
//! a pure function): a ClusterRole with `aggregationRule` gets the union of
//! the rules of every other ClusterRole whose labels match one of its
//! selectors.
//!
//! Roles are visited in name order and rules deduplicated keeping the first
//! occurrence, so the result is stable. Unlike the controller, which
//! converges over several syncs, this settles chains (e.g. `view` feeding
//! `edit` feeding `admin`) in one call. Never panics on malformed input: an
//! undecodable role or a role with an invalid selector is left alone.

use serde_json::Value;
use skewless_apimachinery::selector::LabelSelector;

use crate::objects::RoleObject;
use crate::rule::PolicyRule;

struct Entry {
    name: String,
    labels: std::collections::BTreeMap<String, String>,
    stored: Vec<PolicyRule>,
    current: Vec<PolicyRule>,
    selectors: Option<Vec<LabelSelector>>,
}

/// For each aggregated ClusterRole whose computed rules differ from its
/// stored `rules`, its name and the rules to store; aggregated roles that
/// are already up to date are not returned.
pub fn aggregate(cluster_roles: &[Value]) -> Vec<(String, Vec<PolicyRule>)> {
    let mut entries: Vec<Entry> = cluster_roles
        .iter()
        .filter_map(RoleObject::parse)
        .map(|role| {
            let selectors = role.aggregation_rule.and_then(|rule| {
                rule.cluster_role_selectors
                    .iter()
                    .map(|s| LabelSelector::try_from(s).ok())
                    .collect::<Option<Vec<_>>>()
            });
            Entry {
                name: role.metadata.name,
                labels: role.metadata.labels,
                current: role.rules.clone(),
                stored: role.rules,
                selectors,
            }
        })
        .collect();
    entries.sort_by(|a, b| a.name.cmp(&b.name));

    // Each round recomputes every aggregated role from the others' latest
    // rules; a chain of n roles settles within n rounds. The bound keeps a
    // selector cycle from looping forever.
    for _ in 0..=entries.len() {
        let mut changed = false;
        for i in 0..entries.len() {
            let Some(selectors) = entries[i].selectors.as_ref() else {
                continue;
            };
            let mut rules: Vec<PolicyRule> = Vec::new();
            for selector in selectors {
                for (j, other) in entries.iter().enumerate() {
                    if j == i || !selector.matches(&other.labels) {
                        continue;
                    }
                    for rule in &other.current {
                        if !rules.contains(rule) {
                            rules.push(rule.clone());
                        }
                    }
                }
            }
            if rules != entries[i].current {
                entries[i].current = rules;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }

    entries
        .into_iter()
        .filter(|e| e.selectors.is_some() && e.current != e.stored)
        .map(|e| (e.name, e.current))
        .collect()
}

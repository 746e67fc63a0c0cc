//! Peer-aggregated discovery as pure functions: the deterministic merge of
//! several servers' aggregated `apidiscovery.k8s.io/v2` documents into the
//! one `/apis` answers with (upstream's `mergeResources` and helpers,
//! `reference/mvp-upstream.md` §4.2), the removal of excluded group/versions
//! from a peer's document (§3.5), and the set of group/version/resources a
//! document lists.
//!
//! The merge is a function of the *set* of `(server ID, document)` pairs
//! only: server IDs are sorted and the lexicographically first one is the
//! base, so every server of a control plane produces the same bytes from the
//! same inputs, whichever of them is "local". Groups, versions and resources
//! are unions; verbs are a sorted set union; subresources are a union by
//! name; every other field comes from the first server that lists the item.
//! Orders are merged so that an order every server agrees on is kept.
//!
//! This module must never do I/O, read a clock, or re-sort groups by
//! priority (peers' priorities are not known here); and it must never let
//! which server is local change the result.

use std::collections::{BTreeMap, BTreeSet};

use skewless_apimachinery::discovery::{
    APIGroupDiscovery, APIResourceDiscovery, APISubresourceDiscovery, APIVersionDiscovery,
};
use skewless_apimachinery::request_info::GroupVersionResource;

/// Merges several orderings of strings into one that keeps every relative
/// order the inputs agree on (upstream's `MergePreservingRelativeOrder`).
///
/// 1. If some list, taken in the given order, has no duplicates and holds
///    every distinct item of all lists, it is returned as is.
/// 2. Otherwise each pair of consecutive items of every list is an edge of a
///    precedence graph, sorted topologically (Kahn's algorithm) taking the
///    lexicographically smallest ready item first.
/// 3. If the edges form a cycle, the result is every distinct item in
///    lexicographic order.
///
/// An item repeated right after itself adds no edge; a repeat further on
/// (`[a, b, a]`) is a cycle. Every distinct item appears exactly once in the
/// result.
pub fn merge_preserving_relative_order(lists: &[Vec<String>]) -> Vec<String> {
    let all: BTreeSet<&str> = lists.iter().flatten().map(String::as_str).collect();

    if let Some(complete) = lists
        .iter()
        .find(|list| list.len() == all.len() && has_no_duplicates(list))
    {
        return complete.clone();
    }

    let mut successors: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut in_degree: BTreeMap<&str, usize> = all.iter().map(|item| (*item, 0)).collect();
    for list in lists {
        for pair in list.windows(2) {
            let (before, after) = (pair[0].as_str(), pair[1].as_str());
            if before != after && successors.entry(before).or_default().insert(after) {
                *in_degree.entry(after).or_default() += 1;
            }
        }
    }

    // A BTreeSet is the min-heap: `pop_first` yields the smallest ready item.
    let mut ready: BTreeSet<&str> = in_degree
        .iter()
        .filter(|(_, degree)| **degree == 0)
        .map(|(item, _)| *item)
        .collect();
    let mut sorted = Vec::with_capacity(all.len());
    while let Some(item) = ready.pop_first() {
        sorted.push(item.to_owned());
        for next in successors.get(item).into_iter().flatten() {
            if let Some(degree) = in_degree.get_mut(next) {
                *degree -= 1;
                if *degree == 0 {
                    ready.insert(next);
                }
            }
        }
    }

    if sorted.len() == all.len() {
        sorted
    } else {
        all.into_iter().map(str::to_owned).collect()
    }
}

fn has_no_duplicates(list: &[String]) -> bool {
    let mut seen = BTreeSet::new();
    list.iter().all(|item| seen.insert(item.as_str()))
}

/// Merges two servers' descriptions of the same resource (`a` from the
/// server that sorts first): verbs are the sorted union, subresources the
/// union by name (`b`'s entry wins for a name both list) sorted by name, and
/// every other field (`responseKind`, `scope`, `singularResource`,
/// `shortNames`, `categories`) is `a`'s — or `b`'s when `a` has no resource
/// name, as upstream.
pub fn merge_resource_capabilities(
    a: &APIResourceDiscovery,
    b: &APIResourceDiscovery,
) -> APIResourceDiscovery {
    let base = if a.resource.is_empty() { b } else { a };
    let verbs: BTreeSet<&String> = a.verbs.iter().chain(&b.verbs).collect();
    let mut subresources: BTreeMap<&str, &APISubresourceDiscovery> = BTreeMap::new();
    for sub in a.subresources.iter().chain(&b.subresources) {
        subresources.insert(&sub.subresource, sub);
    }
    APIResourceDiscovery {
        verbs: verbs.into_iter().cloned().collect(),
        subresources: subresources.into_values().cloned().collect(),
        ..base.clone()
    }
}

/// Merges two servers' descriptions of the same group version (`a` from the
/// server that sorts first): the union of resources by name, a resource both
/// list differently merged by [`merge_resource_capabilities`], in `a`'s order
/// when both list the same names and in the order-preserving merge of both
/// orders otherwise. `version` and `freshness` are `a`'s.
pub fn merge_resources_across_version(
    a: &APIVersionDiscovery,
    b: &APIVersionDiscovery,
) -> APIVersionDiscovery {
    APIVersionDiscovery {
        version: a.version.clone(),
        resources: merge_keyed(
            &[&a.resources, &b.resources],
            &a.resources,
            |r| &r.resource,
            merge_resource_capabilities,
        ),
        freshness: a.freshness,
    }
}

/// Merges two servers' descriptions of the same group (`a` from the server
/// that sorts first): the union of versions by name, a version both list
/// differently merged by [`merge_resources_across_version`], in `a`'s order
/// when both list the same versions and in the order-preserving merge of both
/// orders otherwise. Group metadata, `kind` and `apiVersion` are `a`'s.
pub fn merge_versions_across_group(
    a: &APIGroupDiscovery,
    b: &APIGroupDiscovery,
) -> APIGroupDiscovery {
    APIGroupDiscovery {
        kind: a.kind.clone(),
        api_version: a.api_version.clone(),
        metadata: a.metadata.clone(),
        versions: merge_keyed(
            &[&a.versions, &b.versions],
            &a.versions,
            |v| &v.version,
            merge_resources_across_version,
        ),
    }
}

/// The peer-aggregated `/apis` document: the merge of the local server's
/// groups with every peer's (upstream's `mergeResources`).
///
/// `peers` maps server ID to that peer's (already filtered) groups; an entry
/// under `local_id` is ignored. With no peers the local groups are returned
/// unchanged. Otherwise the servers are taken in lexicographic order of their
/// IDs — the local server has no privilege — and the first to list a group is
/// its base, later ones merged into it by [`merge_versions_across_group`].
/// The group order is the local one when every server lists the same groups
/// in the same order (and the local list itself when, in addition, every
/// server describes every group identically); otherwise it is
/// [`merge_preserving_relative_order`] over the servers' lists in ID order.
pub fn merge_groups(
    local_id: &str,
    local: &[APIGroupDiscovery],
    peers: &BTreeMap<String, Vec<APIGroupDiscovery>>,
) -> Vec<APIGroupDiscovery> {
    let mut servers: BTreeMap<&str, &[APIGroupDiscovery]> = peers
        .iter()
        .filter(|(id, _)| id.as_str() != local_id)
        .map(|(id, groups)| (id.as_str(), groups.as_slice()))
        .collect();
    if servers.is_empty() {
        return local.to_vec();
    }
    servers.insert(local_id, local);
    let lists: Vec<&[APIGroupDiscovery]> = servers.into_values().collect();
    merge_keyed(
        &lists,
        local,
        |g| &g.metadata.name,
        merge_versions_across_group,
    )
}

/// The union of `lists` (given in server order) keyed by `key`: the first
/// occurrence of a key is its base and every later occurrence that differs
/// from what has been merged so far is merged into it.
///
/// Order: when every list names the same keys in the same order as
/// `reference` (one of `lists`), `reference` is returned as is if no
/// occurrence had to be merged, and in its order otherwise; when the lists
/// disagree, the order is [`merge_preserving_relative_order`] of all of them.
/// Both short cuts give what the general case would for identical lists, so
/// which list is `reference` never changes the result.
fn merge_keyed<T, K, M>(lists: &[&[T]], reference: &[T], key: K, merge: M) -> Vec<T>
where
    T: Clone + PartialEq,
    K: Fn(&T) -> &String,
    M: Fn(&T, &T) -> T,
{
    let mut merged: BTreeMap<&str, T> = BTreeMap::new();
    let mut any_merged = false;
    for item in lists.iter().copied().flatten() {
        match merged.get_mut(key(item).as_str()) {
            None => {
                merged.insert(key(item), item.clone());
            }
            Some(existing) => {
                if existing != item {
                    *existing = merge(existing, item);
                    any_merged = true;
                }
            }
        }
    }

    let names = |list: &[T]| -> Vec<String> { list.iter().map(|item| key(item).clone()).collect() };
    let reference_names = names(reference);
    let order = if lists
        .iter()
        .all(|list| list.iter().map(&key).eq(reference_names.iter()))
    {
        if !any_merged {
            return reference.to_vec();
        }
        reference_names
    } else {
        let all_names: Vec<Vec<String>> = lists.iter().map(|list| names(list)).collect();
        merge_preserving_relative_order(&all_names)
    };
    // `remove` also drops a name's later repeats within one list.
    order
        .iter()
        .filter_map(|name| merged.remove(name.as_str()))
        .collect()
}

/// `groups` without the excluded group/versions (upstream's GV exclusion,
/// §3.5: group/versions of CRDs and aggregated APIServices, for which only
/// the local view counts). `excluded` holds `(group, version)` pairs, `""`
/// being the core group. A group that loses all its versions is dropped; a
/// group nothing was excluded from is kept exactly as it was.
pub fn filter_excluded(
    groups: &[APIGroupDiscovery],
    excluded: &BTreeSet<(String, String)>,
) -> Vec<APIGroupDiscovery> {
    if excluded.is_empty() {
        return groups.to_vec();
    }
    groups
        .iter()
        .filter_map(|group| {
            let is_excluded = |version: &APIVersionDiscovery| {
                excluded.contains(&(group.metadata.name.clone(), version.version.clone()))
            };
            if !group.versions.iter().any(is_excluded) {
                return Some(group.clone());
            }
            let versions: Vec<APIVersionDiscovery> = group
                .versions
                .iter()
                .filter(|version| !is_excluded(version))
                .cloned()
                .collect();
            (!versions.is_empty()).then(|| APIGroupDiscovery {
                versions,
                ..group.clone()
            })
        })
        .collect()
}

/// Every group/version/resource a document lists: the key routing looks a
/// request up by. Only top-level resources are listed (subresources follow
/// their parent); stale versions are included, since which versions to trust
/// is the caller's decision.
pub fn gvrs(groups: &[APIGroupDiscovery]) -> BTreeSet<GroupVersionResource> {
    groups
        .iter()
        .flat_map(|group| {
            group.versions.iter().flat_map(move |version| {
                version.resources.iter().map(move |resource| {
                    GroupVersionResource::new(
                        group.metadata.name.as_str(),
                        version.version.as_str(),
                        resource.resource.as_str(),
                    )
                })
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests;

//! Sets of field paths (`fieldpath.Set`) and their FieldsV1 encoding, the
//! `fieldsV1` object of a `managedFields` entry.
//!
//! A set is a tree: `members` are paths that end here, `children` hold the
//! paths that continue. A child set is never empty. The encoding writes keys
//! in upstream's path-element order with `"."` first when an element is both
//! a member and has children, so the bytes match kube-apiserver's.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::error::Error;
use crate::path::{Path, PathElement, write_go_json_string};

/// A set of paths into an object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    members: BTreeSet<PathElement>,
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set holding these paths.
    pub fn from_paths<I: IntoIterator<Item = Path>>(paths: I) -> Self {
        let mut set = Self::new();
        for path in paths {
            set.insert(&path);
        }
        set
    }

    /// Whether the set holds no path.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.is_empty()
    }

    /// Adds a path; the empty path (the object itself) is never a member.
    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    /// Whether the path is a member.
    pub fn has(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.has(rest)),
        }
    }

    /// Whether the element is a member at this level.
    pub(crate) fn has_member(&self, pe: &PathElement) -> bool {
        self.members.contains(pe)
    }

    /// The paths below `pe` (upstream's `WithPrefix`), if any.
    pub(crate) fn child(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.children.get(pe)
    }

    /// Paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.members.extend(other.members.iter().cloned());
        for (pe, child) in &other.children {
            let merged = match out.children.get(pe) {
                Some(mine) => mine.union(child),
                None => child.clone(),
            };
            out.children.insert(pe.clone(), merged);
        }
        out
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::new();
        out.members = self.members.intersection(&other.members).cloned().collect();
        for (pe, child) in &self.children {
            if let Some(theirs) = other.children.get(pe) {
                let both = child.intersection(theirs);
                if !both.is_empty() {
                    out.children.insert(pe.clone(), both);
                }
            }
        }
        out
    }

    /// Paths in `self` and not in `other` (exact paths: a member of `other`
    /// does not remove the paths below it; see [`Self::recursive_difference`]).
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::new();
        out.members = self.members.difference(&other.members).cloned().collect();
        for (pe, child) in &self.children {
            let rest = match other.children.get(pe) {
                Some(theirs) => child.difference(theirs),
                None => child.clone(),
            };
            if !rest.is_empty() {
                out.children.insert(pe.clone(), rest);
            }
        }
        out
    }

    /// Paths in `self` that are neither in `other` nor below one of its
    /// members (upstream's `RecursiveDifference`, the ignored-fields filter).
    pub fn recursive_difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::new();
        out.members = self.members.difference(&other.members).cloned().collect();
        for (pe, child) in &self.children {
            if other.members.contains(pe) {
                continue;
            }
            let rest = match other.children.get(pe) {
                Some(theirs) => child.recursive_difference(theirs),
                None => child.clone(),
            };
            if !rest.is_empty() {
                out.children.insert(pe.clone(), rest);
            }
        }
        out
    }

    /// Every member path, members of a level before its children, each in
    /// path-element order (upstream's `Set.Iterate`).
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Path, out: &mut Vec<Path>) {
        for pe in &self.members {
            let mut p = prefix.clone();
            p.push(pe.clone());
            out.push(p);
        }
        for (pe, child) in &self.children {
            prefix.push(pe.clone());
            child.collect(prefix, out);
            prefix.pop();
        }
    }

    /// Adds as members the named struct fields that have children
    /// (upstream's `EnsureNamedFieldsAreMembers`), so removing the set also
    /// removes a struct field left empty.
    pub(crate) fn with_named_fields_as_members(
        &self,
        named: &dyn Fn(&[PathElement]) -> bool,
    ) -> FieldSet {
        self.ensure_named(&mut Vec::new(), named)
    }

    fn ensure_named(&self, prefix: &mut Path, named: &dyn Fn(&[PathElement]) -> bool) -> FieldSet {
        let mut out = FieldSet {
            members: self.members.clone(),
            children: BTreeMap::new(),
        };
        for (pe, child) in &self.children {
            prefix.push(pe.clone());
            if named(prefix) {
                out.members.insert(pe.clone());
            }
            out.children
                .insert(pe.clone(), child.ensure_named(prefix, named));
            prefix.pop();
        }
        out
    }

    /// The FieldsV1 bytes exactly as kube-apiserver writes them.
    pub fn to_fields_v1_string(&self) -> String {
        let mut out = String::new();
        self.emit(&mut out, false);
        out
    }

    /// The FieldsV1 object (`{"f:spec":{"f:replicas":{}}}`).
    pub fn to_fields_v1(&self) -> Value {
        // Our own output always parses; an empty object is the safe answer
        // should that ever not hold.
        serde_json::from_str(&self.to_fields_v1_string())
            .unwrap_or_else(|_| Value::Object(Default::default()))
    }

    fn emit(&self, out: &mut String, include_self: bool) {
        out.push('{');
        let mut first = true;
        let mut sep = |out: &mut String| {
            if !first {
                out.push(',');
            }
            first = false;
        };
        if include_self {
            sep(out);
            out.push_str("\".\":{}");
        }
        let mut members = self.members.iter().peekable();
        let mut children = self.children.iter().peekable();
        loop {
            let take_member = match (members.peek(), children.peek()) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some(m), Some((c, _))) => *m < *c,
            };
            sep(out);
            if take_member {
                let Some(pe) = members.next() else { break };
                write_go_json_string(out, &pe.to_fields_v1_key());
                out.push_str(":{}");
            } else {
                let Some((pe, child)) = children.next() else {
                    break;
                };
                let is_member = members.peek() == Some(&pe);
                if is_member {
                    members.next();
                }
                write_go_json_string(out, &pe.to_fields_v1_key());
                out.push(':');
                child.emit(out, is_member);
            }
        }
        out.push('}');
    }

    /// Parses a FieldsV1 object.
    pub fn from_fields_v1(v: &Value) -> Result<FieldSet, Error> {
        let (set, _) = Self::read(v)?;
        Ok(set)
    }

    /// Returns the set below an element and whether `"."` marked the
    /// element itself.
    fn read(v: &Value) -> Result<(FieldSet, bool), Error> {
        let Value::Object(map) = v else {
            return Err(Error::InvalidFieldsV1(format!(
                "expected an object, found {v}"
            )));
        };
        let mut set = FieldSet::new();
        let mut is_self = false;
        for (key, child) in map {
            if key == "." {
                is_self = true;
                continue;
            }
            let pe = PathElement::from_fields_v1_key(key).map_err(Error::InvalidFieldsV1)?;
            let (sub, sub_self) = Self::read(child)?;
            if sub.is_empty() {
                set.members.insert(pe);
            } else {
                if sub_self {
                    set.members.insert(pe.clone());
                }
                set.children.insert(pe, sub);
            }
        }
        Ok((set, is_self))
    }
}

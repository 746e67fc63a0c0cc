//! Typed walks over JSON values (upstream's `typed` package): the fields a
//! value sets, the difference between two values, the merge of an applied
//! configuration into a live object, and removal of a set of fields.
//!
//! Pure functions of their inputs. A value whose shape disagrees with its
//! type (a string where a map was declared) is treated as one opaque field
//! rather than rejected; a map-list element without its keys is an error.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::error::Error;
use crate::path::{OrderedValue, Path, PathElement, path_to_string, values_equal};
use crate::schema::{DEDUCED, ListKind, MapKind, MapType, Schema, TypeRef};
use crate::set::FieldSet;

/// How a node is walked, given its type and the values present.
enum Shape<'s> {
    /// Compared and replaced as a whole.
    Leaf,
    /// Walked key by key.
    Map(Option<&'s MapType>),
    /// Walked element by element; `None` keys: a set.
    List(&'s TypeRef, Option<&'s [String]>),
}

fn is_object_or_null(v: &Value) -> bool {
    matches!(v, Value::Object(_) | Value::Null)
}

fn is_array_or_null(v: &Value) -> bool {
    matches!(v, Value::Array(_) | Value::Null)
}

fn shape<'s>(schema: &'s Schema, t: &'s TypeRef, values: &[Option<&Value>]) -> Shape<'s> {
    let present = || values.iter().flatten();
    match schema.resolve(t) {
        TypeRef::Map(m) if m.kind == MapKind::Granular => {
            if present().all(|v| is_object_or_null(v)) {
                Shape::Map(Some(m))
            } else {
                Shape::Leaf
            }
        }
        TypeRef::List(l) => {
            let keys = match &l.kind {
                ListKind::Atomic => return Shape::Leaf,
                ListKind::Set => None,
                ListKind::Map(keys) => Some(keys.as_slice()),
            };
            if present().all(|v| is_array_or_null(v)) {
                Shape::List(&l.element, keys)
            } else {
                Shape::Leaf
            }
        }
        TypeRef::Deduced => {
            if present().any(|v| v.is_object()) && present().all(|v| is_object_or_null(v)) {
                Shape::Map(None)
            } else {
                Shape::Leaf
            }
        }
        _ => Shape::Leaf,
    }
}

fn field_type<'s>(m: Option<&'s MapType>, key: &str) -> &'s TypeRef {
    match m {
        Some(m) => m
            .fields
            .get(key)
            .or(m.element.as_deref())
            .unwrap_or(&DEDUCED),
        None => &DEDUCED,
    }
}

fn is_declared(m: Option<&MapType>, key: &str) -> bool {
    m.is_some_and(|m| m.fields.contains_key(key))
}

fn as_map(v: Option<&Value>) -> Option<&Map<String, Value>> {
    v.and_then(Value::as_object)
}

fn as_list(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn is_empty_container(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    }
}

/// The path element of a list element: `k:` from its keys (a key it omits
/// takes the element type's default), `v:` for a set.
fn list_element(
    schema: &Schema,
    element: &TypeRef,
    keys: Option<&[String]>,
    item: &Value,
    path: &Path,
) -> Result<PathElement, Error> {
    let Some(keys) = keys else {
        return Ok(PathElement::Value(OrderedValue(item.clone())));
    };
    let Value::Object(obj) = item else {
        return Err(Error::InvalidObject(format!(
            "{}: associative list with keys has an element that is not a map type",
            path_to_string(path)
        )));
    };
    let defaults = match schema.resolve(element) {
        TypeRef::Map(m) => Some(&m.defaults),
        _ => None,
    };
    let mut fields = Vec::with_capacity(keys.len());
    for key in keys {
        let value = obj
            .get(key)
            .or_else(|| defaults.and_then(|d| d.get(key)))
            .ok_or_else(|| {
                Error::InvalidObject(format!(
                    "{}: associative list with keys has an element that omits key field {key:?} (and doesn't have default value)",
                    path_to_string(path)
                ))
            })?;
        fields.push((key.as_str(), value.clone()));
    }
    Ok(PathElement::key(fields))
}

/// The elements of a list in order, later duplicates dropped.
fn index_list<'v>(
    schema: &Schema,
    element: &TypeRef,
    keys: Option<&[String]>,
    list: &'v [Value],
    path: &Path,
) -> Result<(Vec<PathElement>, BTreeMap<PathElement, &'v Value>), Error> {
    let mut order = Vec::with_capacity(list.len());
    let mut seen = BTreeMap::new();
    for item in list {
        let pe = list_element(schema, element, keys, item, path)?;
        if seen.contains_key(&pe) {
            continue;
        }
        seen.insert(pe.clone(), item);
        order.push(pe);
    }
    Ok((order, seen))
}

/// The fields a value sets (upstream's `ToFieldSet`): leaves, atomic
/// nodes, keys of maps that are not declared struct fields, list elements,
/// and struct fields whose value is null or `{}`.
pub(crate) fn to_field_set(schema: &Schema, value: &Value) -> Result<FieldSet, Error> {
    let mut set = FieldSet::new();
    walk_set(schema, schema.root(), value, &mut Vec::new(), &mut set)?;
    Ok(set)
}

fn walk_set(
    schema: &Schema,
    t: &TypeRef,
    value: &Value,
    path: &mut Path,
    set: &mut FieldSet,
) -> Result<(), Error> {
    match shape(schema, t, &[Some(value)]) {
        Shape::Leaf => set.insert(path),
        Shape::Map(m) => {
            for (key, child) in as_map(Some(value)).into_iter().flatten() {
                path.push(PathElement::Field(key.clone()));
                walk_set(schema, field_type(m, key), child, path, set)?;
                let empty = child.is_null() || child.as_object().is_some_and(Map::is_empty);
                if empty || !is_declared(m, key) {
                    set.insert(path);
                }
                path.pop();
            }
        }
        Shape::List(element, keys) => {
            for item in as_list(Some(value)) {
                let pe = list_element(schema, element, keys, item, path)?;
                path.push(pe);
                walk_set(schema, element, item, path, set)?;
                set.insert(path);
                path.pop();
            }
        }
    }
    Ok(())
}

/// What changed between two values (upstream's `typed.Comparison`).
#[derive(Debug, Default)]
pub(crate) struct Comparison {
    pub added: FieldSet,
    pub modified: FieldSet,
    pub removed: FieldSet,
}

impl Comparison {
    pub fn changed(&self) -> FieldSet {
        self.modified.union(&self.added)
    }

    pub fn without(&self, ignored: &FieldSet) -> Comparison {
        Comparison {
            added: self.added.recursive_difference(ignored),
            modified: self.modified.recursive_difference(ignored),
            removed: self.removed.recursive_difference(ignored),
        }
    }
}

pub(crate) fn compare(schema: &Schema, lhs: &Value, rhs: &Value) -> Result<Comparison, Error> {
    let mut c = Comparison::default();
    walk_compare(
        schema,
        schema.root(),
        Some(lhs),
        Some(rhs),
        &mut Vec::new(),
        &mut c,
    )?;
    Ok(c)
}

fn walk_compare(
    schema: &Schema,
    t: &TypeRef,
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    path: &mut Path,
    c: &mut Comparison,
) -> Result<(), Error> {
    let leaf = |c: &mut Comparison, path: &Path| match (lhs, rhs) {
        (None, Some(_)) => c.added.insert(path),
        (Some(_), None) => c.removed.insert(path),
        (Some(l), Some(r)) if !values_equal(l, r) => c.modified.insert(path),
        _ => {}
    };
    // Both empty: a leaf, which keeps the null/empty distinction.
    let both_empty = is_empty_container(lhs) && is_empty_container(rhs);
    match shape(schema, t, &[lhs, rhs]) {
        Shape::Leaf => {
            leaf(c, path);
            return Ok(());
        }
        _ if both_empty => {
            leaf(c, path);
            return Ok(());
        }
        Shape::Map(m) => {
            let (l, r) = (as_map(lhs), as_map(rhs));
            let keys: BTreeSet<&String> = l.into_iter().chain(r).flat_map(Map::keys).collect();
            for key in keys {
                path.push(PathElement::Field(key.clone()));
                let (lv, rv) = (l.and_then(|l| l.get(key)), r.and_then(|r| r.get(key)));
                walk_compare(schema, field_type(m, key), lv, rv, path, c)?;
                path.pop();
            }
        }
        Shape::List(element, keys) => {
            let (_, l) = index_list(schema, element, keys, as_list(lhs), path)?;
            let (_, r) = index_list(schema, element, keys, as_list(rhs), path)?;
            let pes: BTreeSet<&PathElement> = l.keys().chain(r.keys()).collect();
            for pe in pes {
                let (lv, rv) = (l.get(pe).copied(), r.get(pe).copied());
                path.push(pe.clone());
                walk_compare(schema, element, lv, rv, path, c)?;
                path.pop();
            }
        }
    }
    // A non-leaf that appears or disappears is itself added or removed.
    match (lhs, rhs) {
        (None, Some(_)) => c.added.insert(path),
        (Some(_), None) => c.removed.insert(path),
        _ => {}
    }
    Ok(())
}

/// Merges `rhs` (an applied configuration) into `lhs` (the live object).
pub(crate) fn merge(schema: &Schema, lhs: &Value, rhs: &Value) -> Result<Value, Error> {
    let merged = walk_merge(schema, schema.root(), Some(lhs), Some(rhs), &mut Vec::new())?;
    Ok(merged.unwrap_or(Value::Null))
}

fn walk_merge(
    schema: &Schema,
    t: &TypeRef,
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    path: &mut Path,
) -> Result<Option<Value>, Error> {
    let leaf = || rhs.or(lhs).cloned();
    let both_empty = is_empty_container(lhs) && is_empty_container(rhs);
    match shape(schema, t, &[lhs, rhs]) {
        Shape::Leaf => Ok(leaf()),
        _ if both_empty => Ok(leaf()),
        Shape::Map(m) => {
            let (l, r) = (as_map(lhs), as_map(rhs));
            let keys: BTreeSet<&String> = l.into_iter().chain(r).flat_map(Map::keys).collect();
            let mut out = Map::new();
            for key in keys {
                path.push(PathElement::Field(key.clone()));
                let (lv, rv) = (l.and_then(|l| l.get(key)), r.and_then(|r| r.get(key)));
                if let Some(v) = walk_merge(schema, field_type(m, key), lv, rv, path)? {
                    out.insert(key.clone(), v);
                }
                path.pop();
            }
            Ok(Some(Value::Object(out)))
        }
        Shape::List(element, keys) => {
            let (l_order, l) = index_list(schema, element, keys, as_list(lhs), path)?;
            let (r_order, r) = index_list(schema, element, keys, as_list(rhs), path)?;
            let mut out = Vec::with_capacity(l_order.len().max(r_order.len()));
            let item = |pe: &PathElement, path: &mut Path, out: &mut Vec<Value>| {
                path.push(pe.clone());
                let merged = walk_merge(
                    schema,
                    element,
                    l.get(pe).copied(),
                    r.get(pe).copied(),
                    path,
                );
                path.pop();
                if let Some(v) = merged? {
                    out.push(v);
                }
                Ok::<(), Error>(())
            };
            // Upstream's order: shared elements in the configuration's order,
            // live-only elements where they were relative to them.
            let mut shared = r_order.iter().filter(|pe| l.contains_key(pe)).peekable();
            let (mut li, mut ri) = (0, 0);
            while li < l_order.len() || ri < r_order.len() {
                if li < l_order.len() && ri < r_order.len() {
                    let pe = &l_order[li];
                    if *pe == r_order[ri] {
                        item(pe, path, &mut out)?;
                        li += 1;
                        ri += 1;
                        shared.next();
                        continue;
                    }
                    if r.contains_key(pe) && shared.peek().is_some_and(|s| *s != pe) {
                        li += 1;
                        continue;
                    }
                }
                if li < l_order.len() && !r.contains_key(&l_order[li]) {
                    item(&l_order[li], path, &mut out)?;
                    li += 1;
                    continue;
                }
                if ri < r_order.len() {
                    let pe = &r_order[ri];
                    item(pe, path, &mut out)?;
                    ri += 1;
                    if shared.peek().is_some_and(|s| *s == pe) {
                        shared.next();
                    }
                    continue;
                }
                // Only live elements the configuration already placed remain.
                li += 1;
            }
            Ok(Some(Value::Array(out)))
        }
    }
}

/// `value` without the fields of `set` (a member removes its whole
/// subtree), upstream's `RemoveItems`.
pub(crate) fn remove_items(schema: &Schema, value: &Value, set: &FieldSet) -> Result<Value, Error> {
    walk_remove(schema, schema.root(), value, set, &mut Vec::new())
}

fn walk_remove(
    schema: &Schema,
    t: &TypeRef,
    value: &Value,
    set: &FieldSet,
    path: &mut Path,
) -> Result<Value, Error> {
    match shape(schema, t, &[Some(value)]) {
        Shape::Leaf => Ok(value.clone()),
        Shape::Map(m) => {
            let Some(obj) = value.as_object() else {
                return Ok(value.clone());
            };
            let mut out = Map::new();
            for (key, child) in obj {
                let pe = PathElement::Field(key.clone());
                if set.has_member(&pe) {
                    continue;
                }
                let kept = match set.child(&pe) {
                    Some(sub) => {
                        path.push(pe);
                        let v = walk_remove(schema, field_type(m, key), child, sub, path)?;
                        path.pop();
                        v
                    }
                    None => child.clone(),
                };
                out.insert(key.clone(), kept);
            }
            Ok(Value::Object(out))
        }
        Shape::List(element, keys) => {
            let Some(items) = value.as_array() else {
                return Ok(value.clone());
            };
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let pe = list_element(schema, element, keys, item, path)?;
                if set.has_member(&pe) {
                    continue;
                }
                match set.child(&pe) {
                    Some(sub) => {
                        path.push(pe);
                        out.push(walk_remove(schema, element, item, sub, path)?);
                        path.pop();
                    }
                    None => out.push(item.clone()),
                }
            }
            Ok(Value::Array(out))
        }
    }
}

/// Whether `path` names a declared struct field (for
/// `EnsureNamedFieldsAreMembers`).
pub(crate) fn is_named_field(schema: &Schema, path: &[PathElement]) -> bool {
    let mut t = schema.root();
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    for pe in parents {
        t = match (schema.resolve(t), pe) {
            (TypeRef::Map(m), PathElement::Field(name)) => field_type(Some(m), name),
            (TypeRef::List(l), _) => &l.element,
            _ => return false,
        };
    }
    matches!((schema.resolve(t), last), (TypeRef::Map(m), PathElement::Field(name)) if m.fields.contains_key(name))
}

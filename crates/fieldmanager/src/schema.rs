//! Type information that drives merging (`schema.Schema` upstream): which
//! nodes are structs, granular or atomic maps, atomic, set or map lists, or
//! scalars, and which nodes are "deduced" (typed by their value).
//!
//! Built by hand, from a CRD's structural schema, or from the OpenAPI v3
//! component schemas of built-in types. Never fails on an unexpected shape
//! inside a schema: what it cannot read it types as deduced.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::Error;

/// How a map or struct merges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MapKind {
    /// Key by key (upstream "separable"/`granular`), the default.
    #[default]
    Granular,
    /// Replaced as a whole and owned as one field.
    Atomic,
}

/// How a list merges.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum ListKind {
    /// Replaced as a whole and owned as one field, the default.
    #[default]
    Atomic,
    /// A set of scalars: union by value, elements owned as `v:<json>`.
    Set,
    /// A list of objects identified by these key fields, owned as
    /// `k:{...}`.
    Map(Vec<String>),
}

/// A struct or map node: declared fields, an element type for other keys.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct MapType {
    /// Declared fields.
    pub fields: BTreeMap<String, TypeRef>,
    /// Type of undeclared keys; `None` types them as deduced.
    pub element: Option<Box<TypeRef>>,
    /// Granular or atomic.
    pub kind: MapKind,
    /// Default values of fields, used for map-list keys an element omits
    /// (e.g. a port's `protocol`).
    pub defaults: BTreeMap<String, Value>,
}

/// A list node.
#[derive(Clone, Debug, PartialEq)]
pub struct ListType {
    /// Element type.
    pub element: Box<TypeRef>,
    /// Atomic, set or map.
    pub kind: ListKind,
}

/// A node of the type tree.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeRef {
    /// A string, number, boolean or null: one field.
    Scalar,
    /// Typed by the value: objects are granular maps of deduced values,
    /// lists are atomic, anything else is a scalar (upstream's
    /// `__untyped_deduced_`).
    Deduced,
    /// A struct or map.
    Map(MapType),
    /// A list.
    List(ListType),
    /// A named type of the schema (from an OpenAPI `$ref`).
    Named(String),
}

impl TypeRef {
    /// A granular struct with these fields.
    pub fn structure<'a>(fields: impl IntoIterator<Item = (&'a str, TypeRef)>) -> Self {
        Self::Map(MapType {
            fields: fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            ..MapType::default()
        })
    }

    /// An atomic struct with these fields.
    pub fn atomic_structure<'a>(fields: impl IntoIterator<Item = (&'a str, TypeRef)>) -> Self {
        match Self::structure(fields) {
            Self::Map(mut m) => {
                m.kind = MapKind::Atomic;
                Self::Map(m)
            }
            other => other,
        }
    }

    /// A granular map of `element`.
    pub fn map(element: TypeRef) -> Self {
        Self::Map(MapType {
            element: Some(Box::new(element)),
            ..MapType::default()
        })
    }

    /// An atomic map of `element`.
    pub fn atomic_map(element: TypeRef) -> Self {
        Self::Map(MapType {
            element: Some(Box::new(element)),
            kind: MapKind::Atomic,
            ..MapType::default()
        })
    }

    /// An atomic list of `element`.
    pub fn atomic_list(element: TypeRef) -> Self {
        Self::List(ListType {
            element: Box::new(element),
            kind: ListKind::Atomic,
        })
    }

    /// A set list of `element`.
    pub fn set_list(element: TypeRef) -> Self {
        Self::List(ListType {
            element: Box::new(element),
            kind: ListKind::Set,
        })
    }

    /// A map list of `element` keyed by `keys`.
    pub fn map_list(keys: &[&str], element: TypeRef) -> Self {
        Self::List(ListType {
            element: Box::new(element),
            kind: ListKind::Map(keys.iter().map(|k| (*k).to_owned()).collect()),
        })
    }

    /// This struct with a default value for `field`.
    pub fn with_default(self, field: &str, value: Value) -> Self {
        match self {
            Self::Map(mut m) => {
                m.defaults.insert(field.to_owned(), value);
                Self::Map(m)
            }
            other => other,
        }
    }
}

/// The type of an object: a root type and the named types it refers to.
#[derive(Clone, Debug, PartialEq)]
pub struct Schema {
    root: TypeRef,
    named: BTreeMap<String, TypeRef>,
}

impl Schema {
    /// A schema whose root is `root`.
    pub fn new(root: TypeRef) -> Self {
        Self {
            root,
            named: BTreeMap::new(),
        }
    }

    /// No type information: every object is a granular map, every list
    /// atomic (upstream's deduced type, used for objects without schema).
    pub fn deduced() -> Self {
        Self::new(TypeRef::Deduced)
    }

    /// The root type.
    pub fn root(&self) -> &TypeRef {
        &self.root
    }

    /// Follows named references to a concrete node.
    pub(crate) fn resolve<'s>(&'s self, mut t: &'s TypeRef) -> &'s TypeRef {
        // Bounded so a cycle of bare references cannot loop forever.
        for _ in 0..64 {
            match t {
                TypeRef::Named(name) => match self.named.get(name) {
                    Some(next) => t = next,
                    None => return &DEDUCED,
                },
                other => return other,
            }
        }
        &DEDUCED
    }

    /// From a CRD version's structural schema (`openAPIV3Schema`, or an
    /// object holding it): `properties`, `additionalProperties`, `items`,
    /// `x-kubernetes-list-type`, `x-kubernetes-list-map-keys`,
    /// `x-kubernetes-map-type`, `x-kubernetes-preserve-unknown-fields`,
    /// `x-kubernetes-int-or-string`, `default`. `apiVersion`, `kind` and
    /// `metadata` are typed as for every object (`metadata` is ObjectMeta
    /// whatever the CRD says, as the apiserver does).
    pub fn from_structural_json(schema: &Value) -> Self {
        let schema = schema.get("openAPIV3Schema").unwrap_or(schema);
        let mut root = convert(schema, &mut |_| {});
        if let TypeRef::Map(m) = &mut root {
            add_object_fields(m);
        }
        Self::new(root)
    }

    /// From OpenAPI v3 component schemas (a whole document, its
    /// `components`, or the `schemas` map) and the root type's name or
    /// `#/components/schemas/...` reference, following `$ref` and
    /// single-element `allOf`. Lists take their kind from
    /// `x-kubernetes-list-type`, else from a `merge` patch strategy (keyed
    /// by `x-kubernetes-patch-merge-key`, or a set without one), as
    /// kube-openapi's conversion does.
    pub fn from_openapi_v3(components: &Value, root_ref: &str) -> Result<Self, Error> {
        let schemas = components
            .pointer("/components/schemas")
            .or_else(|| components.get("schemas"))
            .unwrap_or(components);
        let root_name = ref_name(root_ref);
        if schemas.get(root_name).is_none() {
            return Err(Error::Schema(format!("no schema named {root_name:?}")));
        }
        let mut named = BTreeMap::new();
        let mut queue = vec![root_name.to_owned()];
        while let Some(name) = queue.pop() {
            if named.contains_key(&name) {
                continue;
            }
            let Some(s) = schemas.get(&name) else {
                named.insert(name, TypeRef::Deduced);
                continue;
            };
            let mut refs = Vec::new();
            let t = convert(s, &mut |r| refs.push(r.to_owned()));
            named.insert(name, t);
            queue.extend(refs.into_iter().filter(|r| !named.contains_key(r)));
        }
        Ok(Self {
            root: TypeRef::Named(root_name.to_owned()),
            named,
        })
    }
}

pub(crate) static DEDUCED: TypeRef = TypeRef::Deduced;

fn ref_name(r: &str) -> &str {
    r.rsplit('/').next().unwrap_or(r)
}

/// Converts one schema node, reporting each `$ref` it names.
fn convert(s: &Value, refs: &mut dyn FnMut(&str)) -> TypeRef {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = ref_name(r);
        refs(name);
        return TypeRef::Named(name.to_owned());
    }
    if let Some([only]) = s.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
        return convert(only, refs);
    }
    if s.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true) {
        return TypeRef::Scalar;
    }
    let ty = s.get("type").and_then(Value::as_str);
    let properties = s.get("properties").and_then(Value::as_object);
    let additional = s.get("additionalProperties");
    let preserve = s
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true);
    if ty == Some("array") || (ty.is_none() && s.get("items").is_some()) {
        let element = s
            .get("items")
            .map(|i| convert(i, refs))
            .unwrap_or(TypeRef::Deduced);
        return TypeRef::List(ListType {
            element: Box::new(element),
            kind: list_kind(s),
        });
    }
    if ty == Some("object") || properties.is_some() || additional.is_some() {
        let mut m = MapType::default();
        for (name, field) in properties.into_iter().flatten() {
            m.fields.insert(name.clone(), convert(field, refs));
            if let Some(d) = field.get("default") {
                m.defaults.insert(name.clone(), d.clone());
            }
        }
        m.element = match additional {
            Some(Value::Bool(true)) => Some(Box::new(TypeRef::Deduced)),
            Some(a @ Value::Object(_)) => Some(Box::new(convert(a, refs))),
            _ if preserve || properties.is_none() => Some(Box::new(TypeRef::Deduced)),
            _ => None,
        };
        if s.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic") {
            m.kind = MapKind::Atomic;
        }
        if properties.is_none() && additional.is_none() && m.kind == MapKind::Granular {
            return TypeRef::Deduced;
        }
        return TypeRef::Map(m);
    }
    if ty.is_none() && (preserve || s.as_object().is_some_and(|o| o.is_empty())) {
        return TypeRef::Deduced;
    }
    if ty.is_none() {
        return TypeRef::Deduced;
    }
    TypeRef::Scalar
}

fn list_kind(s: &Value) -> ListKind {
    match s.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("set") => return ListKind::Set,
        Some("map") => {
            let keys: Vec<String> = s
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|ks| {
                    ks.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            return if keys.is_empty() {
                ListKind::Atomic
            } else {
                ListKind::Map(keys)
            };
        }
        Some(_) => return ListKind::Atomic,
        None => {}
    }
    match s.get("x-kubernetes-patch-strategy").and_then(Value::as_str) {
        Some("merge" | "merge,retainKeys") => {
            match s
                .get("x-kubernetes-patch-merge-key")
                .and_then(Value::as_str)
            {
                Some(key) => ListKind::Map(vec![key.to_owned()]),
                None => ListKind::Set,
            }
        }
        _ => ListKind::Atomic,
    }
}

/// `apiVersion`, `kind` and `metadata` as every object has them.
fn add_object_fields(m: &mut MapType) {
    m.fields.insert("apiVersion".to_owned(), TypeRef::Scalar);
    m.fields.insert("kind".to_owned(), TypeRef::Scalar);
    m.fields.insert("metadata".to_owned(), object_meta());
}

/// ObjectMeta as kube's OpenAPI types it: labels and annotations granular
/// maps, finalizers a set, ownerReferences a map list keyed by `uid`,
/// managedFields atomic (and never tracked: see `managed`).
pub fn object_meta() -> TypeRef {
    let scalar_fields = [
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ];
    let owner_reference = TypeRef::atomic_structure(
        [
            "apiVersion",
            "kind",
            "name",
            "uid",
            "controller",
            "blockOwnerDeletion",
        ]
        .map(|f| (f, TypeRef::Scalar)),
    );
    let mut fields: Vec<(&str, TypeRef)> = scalar_fields
        .iter()
        .map(|f| (*f, TypeRef::Scalar))
        .collect();
    fields.push(("labels", TypeRef::map(TypeRef::Scalar)));
    fields.push(("annotations", TypeRef::map(TypeRef::Scalar)));
    fields.push(("finalizers", TypeRef::set_list(TypeRef::Scalar)));
    fields.push((
        "ownerReferences",
        TypeRef::map_list(&["uid"], owner_reference),
    ));
    fields.push(("managedFields", TypeRef::atomic_list(TypeRef::Deduced)));
    TypeRef::structure(fields)
}

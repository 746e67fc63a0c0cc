//! Update and apply: who owns what after a write (structured-merge-diff's
//! `merge.Updater` wrapped as kube-apiserver wraps it: metadata fields
//! stripped, Update entries merged per manager and capped).
//!
//! Pure: the caller passes the objects, the decoded managedFields, the
//! request's manager and the current time, and stores what comes back.

use serde_json::Value;

use crate::error::{Conflict, Conflicts, Error};
use crate::managed::{ManagedFieldsEntry, Operation, cap_update_managers};
use crate::path::{Path, PathElement, values_equal};
use crate::schema::Schema;
use crate::set::FieldSet;
use crate::walk;

/// Fields never owned by anyone: identity, bookkeeping and managedFields
/// itself (upstream's `stripMetaManager`). Exact paths: owning
/// `metadata.labels` still works.
fn stripped_fields() -> FieldSet {
    let meta = |f: &str| vec![PathElement::field("metadata"), PathElement::field(f)];
    FieldSet::from_paths([
        vec![PathElement::field("apiVersion")],
        vec![PathElement::field("kind")],
        vec![PathElement::field("metadata")],
        meta("name"),
        meta("namespace"),
        meta("creationTimestamp"),
        meta("selfLink"),
        meta("uid"),
        meta("clusterName"),
        meta("generation"),
        meta("managedFields"),
        meta("resourceVersion"),
    ])
}

/// The object without `metadata.managedFields` (never merged or tracked),
/// and `{}` for a missing object.
fn without_managed_fields(obj: &Value) -> Value {
    let mut obj = match obj {
        Value::Null => Value::Object(Default::default()),
        other => other.clone(),
    };
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    obj
}

/// The fields an object (or applied configuration) sets, as an applier
/// would own them: identity and bookkeeping fields left out, and
/// everything at or below a member of `ignored` (the resource's reset
/// fields, e.g. `status` on a main resource with a status subresource).
pub fn field_set(obj: &Value, schema: &Schema, ignored: &FieldSet) -> Result<FieldSet, Error> {
    let set = walk::to_field_set(schema, &without_managed_fields(obj))?;
    Ok(set
        .recursive_difference(ignored)
        .difference(&stripped_fields()))
}

/// Who is writing: the entry a write records.
#[derive(Clone, Copy, Debug)]
pub struct Writer<'a> {
    /// The field manager (validated by the caller).
    pub manager: &'a str,
    /// The request's API version (`v1`, `apps/v1`).
    pub api_version: &'a str,
    /// `""`, `status`, `scale`...
    pub subresource: &'a str,
    /// Now, RFC 3339 UTC with seconds (`2025-01-02T03:04:05Z`).
    pub time: &'a str,
}

impl Writer<'_> {
    fn entry(&self, operation: Operation, fields: FieldSet) -> ManagedFieldsEntry {
        ManagedFieldsEntry {
            manager: self.manager.to_owned(),
            operation,
            api_version: self.api_version.to_owned(),
            time: Some(self.time.to_owned()),
            fields,
            subresource: self.subresource.to_owned(),
        }
    }
}

/// Field management for one resource: its type, its ignored (reset)
/// fields, and the Update-entry cap.
#[derive(Clone, Debug)]
pub struct FieldManager {
    schema: Schema,
    ignored: FieldSet,
    max_update_managers: usize,
}

/// The outcome of an apply.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    /// The new object, without `metadata.managedFields` (set it with
    /// [`crate::encode_managed_fields`]).
    pub object: Value,
    /// The new managedFields entries.
    pub managed_fields: Vec<ManagedFieldsEntry>,
    /// Whether the object differs from the live one (a no-op apply keeps
    /// the applier's previous time).
    pub changed: bool,
}

impl FieldManager {
    /// Field management by `schema`, with no ignored fields and upstream's
    /// cap of 10 Update entries.
    pub fn new(schema: Schema) -> Self {
        Self {
            schema,
            ignored: FieldSet::new(),
            max_update_managers: crate::managed::DEFAULT_MAX_UPDATE_MANAGERS,
        }
    }

    /// Fields this resource's writes neither own nor conflict on (the
    /// strategy's reset fields: `status` for a main resource with a status
    /// subresource, `spec` and `metadata` for its `status` writes...).
    pub fn with_ignored(mut self, ignored: FieldSet) -> Self {
        self.ignored = ignored;
        self
    }

    /// A different cap on Update entries.
    pub fn with_max_update_managers(mut self, max: usize) -> Self {
        self.max_update_managers = max;
        self
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// A non-apply write (create: `old` is `{}` or null; update; patch):
    /// the fields that were added or changed become the writer's (an
    /// Update entry), taken from everyone else without conflict; removed
    /// fields leave every entry; empty entries go; Update entries beyond
    /// the cap are merged into `ancient-changes`. `managed` are the entries
    /// the write keeps (the live object's, or the ones the client set).
    pub fn update(
        &self,
        old: &Value,
        new: &Value,
        managed: &[ManagedFieldsEntry],
        writer: &Writer<'_>,
    ) -> Result<Vec<ManagedFieldsEntry>, Error> {
        let old = without_managed_fields(old);
        let new = without_managed_fields(new);
        let cmp = walk::compare(&self.schema, &old, &new)?.without(&self.ignored);
        let changed = cmp.changed();
        let strip = stripped_fields();
        let mut entries: Vec<ManagedFieldsEntry> = managed.to_vec();
        for e in &mut entries {
            e.fields = e.fields.difference(&changed).difference(&cmp.removed);
        }
        let mine = changed.difference(&cmp.removed).difference(&strip);
        if !mine.is_empty() {
            let me = writer.entry(Operation::Update, mine);
            match entries.iter_mut().find(|e| e.same_manager(&me)) {
                Some(previous) => {
                    previous.fields = me.fields.union(&previous.fields);
                    previous.time = me.time;
                }
                None => entries.push(me),
            }
        }
        entries.retain(|e| !e.fields.is_empty());
        Ok(cap_update_managers(entries, self.max_update_managers))
    }

    /// Server-side apply of `config` to `live` (null or `{}` when the
    /// object does not exist yet).
    ///
    /// The configuration merges into the live object by type; the applier
    /// owns exactly the fields of the configuration; fields it owned before
    /// and no longer applies are removed from the object unless another
    /// manager owns them; fields whose values the apply changes and other
    /// managers own are conflicts, unless `force`, which takes them from
    /// those managers.
    pub fn apply(
        &self,
        live: &Value,
        config: &Value,
        managed: &[ManagedFieldsEntry],
        writer: &Writer<'_>,
        force: bool,
    ) -> Result<Applied, Error> {
        let live = without_managed_fields(live);
        let config = without_managed_fields(config);
        let merged = walk::merge(&self.schema, &live, &config)?;
        let set = walk::to_field_set(&self.schema, &config)?.recursive_difference(&self.ignored);

        let probe = writer.entry(Operation::Apply, FieldSet::new());
        let previous = managed.iter().find(|e| e.same_manager(&probe));
        let mut others: Vec<ManagedFieldsEntry> = managed
            .iter()
            .filter(|e| !e.same_manager(&probe))
            .cloned()
            .collect();

        let owned = others
            .iter()
            .fold(set.clone(), |acc, e| acc.union(&e.fields));
        let object = match previous {
            Some(last) if !last.fields.is_empty() => self.prune(&merged, &owned, &last.fields)?,
            _ => merged,
        };

        let cmp = walk::compare(&self.schema, &live, &object)?.without(&self.ignored);
        let changed = cmp.changed();
        let mut conflicts = Vec::new();
        for e in &others {
            for path in e.fields.intersection(&changed).paths() {
                conflicts.push(conflict(e, path));
            }
        }
        if !force && !conflicts.is_empty() {
            return Err(Error::Conflicts(Conflicts::new(conflicts)));
        }
        for e in &mut others {
            e.fields = e.fields.difference(&changed).difference(&cmp.removed);
        }

        let is_changed = !values_equal(&live, &object);
        let fields = set.difference(&stripped_fields());
        let mut me = writer.entry(Operation::Apply, fields);
        if let Some(previous) = previous
            && !is_changed
            && previous.fields == me.fields
        {
            me.time = previous.time.clone();
        }
        others.push(me);
        others.retain(|e| !e.fields.is_empty());
        Ok(Applied {
            object,
            managed_fields: others,
            changed: is_changed,
        })
    }

    /// The fields `last_applied` (a client-side `kubectl apply`'s
    /// last-applied configuration) sets whose values `live` has not
    /// modified since: upstream's lastAppliedManager lets kubectl's first
    /// server-side apply take these from other managers without conflict.
    pub fn fields_still_applied(
        &self,
        last_applied: &Value,
        live: &Value,
    ) -> Result<FieldSet, Error> {
        let last_applied = without_managed_fields(last_applied);
        let live = without_managed_fields(live);
        let set = walk::to_field_set(&self.schema, &last_applied)?;
        let cmp = walk::compare(&self.schema, &last_applied, &live)?;
        Ok(set.difference(&cmp.modified))
    }

    /// Removes from `merged` the fields in `last` (the applier's previous
    /// set) that nobody owns any more (`owned`: every manager, the
    /// applier's new set included), as upstream's `prune`: remove `last`,
    /// add back what is owned, then remove only what `last` held.
    fn prune(&self, merged: &Value, owned: &FieldSet, last: &FieldSet) -> Result<Value, Error> {
        let schema = &self.schema;
        let named = |p: &[PathElement]| walk::is_named_field(schema, p);
        let ensure = |s: &FieldSet| s.with_named_fields_as_members(&named);
        let fields_of = |v: &Value| walk::to_field_set(schema, v).map(|s| ensure(&s));
        let strip = stripped_fields();
        let last = ensure(last);

        let merged_set = fields_of(merged)?;
        let pruned = walk::remove_items(schema, merged, &last.difference(&strip))?;
        let pruned_set = fields_of(&pruned)?;
        let remove = merged_set
            .difference(&pruned_set.union(&ensure(owned)))
            .difference(&strip);
        let pruned = walk::remove_items(schema, merged, &remove)?;
        let pruned_set = fields_of(&pruned)?;
        let dangling = merged_set
            .difference(&pruned_set)
            .intersection(&last)
            .difference(&strip);
        walk::remove_items(schema, merged, &dangling)
    }
}

/// The conflict of `path` with `owner`'s ownership of it.
fn conflict(owner: &ManagedFieldsEntry, path: Path) -> Conflict {
    Conflict {
        manager: owner.manager.clone(),
        operation: owner.operation,
        api_version: owner.api_version.clone(),
        subresource: owner.subresource.clone(),
        path,
        identifier: owner.identifier(),
    }
}

impl Conflicts {
    /// The conflicts on fields outside `allowed` (none left: `None`).
    pub fn without(&self, allowed: &FieldSet) -> Option<Conflicts> {
        let rest: Vec<Conflict> = self
            .0
            .iter()
            .filter(|c| !allowed.has(&c.path))
            .cloned()
            .collect();
        (!rest.is_empty()).then(|| Conflicts::new(rest))
    }
}

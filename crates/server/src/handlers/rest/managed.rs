//! `metadata.managedFields` on every write, and server-side apply: the
//! request's field manager (validated as upstream's `*Options`), the
//! ownership a create, update or patch records, an apply's merge with its
//! conflicts, and kubectl's client-side → server-side apply migration
//! (upstream's last-applied manager and updater).
//!
//! The engine is `skewless-fieldmanager`; this module only feeds it the
//! request's objects and turns its errors into API errors. Never panics on
//! what a client sent.

use std::sync::Arc;

use serde_json::{Value, json};
use skewless_apimachinery::request_info::GroupKind;
use skewless_apimachinery::status::ApiError;
use skewless_apimachinery::validation::FieldError;
use skewless_fieldmanager::{
    Applied, Conflicts, Error as FmError, FieldManager, FieldSet, ManagedFieldsEntry, Operation,
    PathElement, Writer, decode_managed_fields, encode_managed_fields, is_reset_request,
    manager_from_user_agent, validate_manager,
};

use crate::fieldmanagers::Scope;
use crate::object;

use super::request::Request;

/// The annotation client-side `kubectl apply` keeps its configuration in.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The manager whose first server-side apply migrates a client-side one.
const KUBECTL: &str = "kubectl";

/// Upstream's limit on the whole annotations map; a last-applied
/// configuration that would not fit is dropped instead.
const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;

/// The manager owning an object's fields written before field management
/// (upstream's name for them at the first apply).
const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// Which request options carry `fieldManager` (the kind of a 422).
#[derive(Clone, Copy, Debug)]
pub(super) enum Options {
    Create,
    Update,
    Patch { apply: bool },
}

/// Field management of one write.
pub(super) struct Tracking {
    fm: Arc<FieldManager>,
    manager: String,
    api_version: String,
    subresource: String,
    time: String,
}

impl Tracking {
    /// The request's manager (`?fieldManager=`, else from the User-Agent)
    /// and the type of what it writes; 422 for an invalid manager, or
    /// `force` on a non-apply patch.
    pub(super) fn new(req: &Request<'_>, options: Options) -> Result<Self, ApiError> {
        let given = req.query.get("fieldManager");
        let (kind, apply) = match options {
            Options::Create => ("CreateOptions", false),
            Options::Update => ("UpdateOptions", false),
            Options::Patch { apply } => ("PatchOptions", apply),
        };
        let mut errors = Vec::new();
        if matches!(options, Options::Patch { apply: false }) && req.query.get("force").is_some() {
            errors.push("force: Forbidden: may not be specified for non-apply patch".to_owned());
        }
        if let Err(e) = validate_manager(given.unwrap_or(""), apply) {
            errors.extend(e);
        }
        if !errors.is_empty() {
            return Err(ApiError::Invalid {
                kind: GroupKind::new("meta.k8s.io", kind),
                name: String::new(),
                causes: errors.iter().map(|e| FieldError::from_message(e)).collect(),
            });
        }
        let manager = match given {
            Some(m) => m.to_owned(),
            None => manager_from_user_agent(
                req.headers
                    .get(http::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(""),
            ),
        };
        let subresource = req.info.subresource.clone();
        let scope = if subresource == "status" {
            Scope::Status
        } else {
            Scope::Main
        };
        let docs = crate::handlers::derived::openapi(req.api);
        Ok(Self {
            fm: docs.field_manager(req.resource, req.crd, scope),
            manager,
            api_version: req.api_version(),
            subresource,
            time: object::now_rfc3339(),
        })
    }

    fn writer(&self) -> Writer<'_> {
        Writer {
            manager: &self.manager,
            api_version: &self.api_version,
            subresource: &self.subresource,
            time: &self.time,
        }
    }

    /// Records a non-apply write of `next` over `old` (`{}` for a create)
    /// in `next`'s managedFields. A client that set managedFields itself
    /// (on the main resource) starts from those: `[{}]` clears them, valid
    /// entries replace the stored ones, invalid ones are a 422. Should the
    /// engine fail, managedFields are dropped rather than left wrong, as
    /// upstream does.
    pub(super) fn record_update(
        &self,
        req: &Request<'_>,
        old: &Value,
        next: &mut Value,
    ) -> Result<(), ApiError> {
        let stored = old.get("metadata").and_then(|m| m.get("managedFields"));
        let sent = next
            .get("metadata")
            .and_then(|m| m.get("managedFields"))
            .cloned();
        let stored_entries = || decode_managed_fields(stored).unwrap_or_default();
        let base = match &sent {
            Some(sent) if self.subresource.is_empty() && Some(sent) != stored => {
                if is_reset_request(sent) {
                    object::meta_mut(next).remove("managedFields");
                    return Ok(());
                }
                match decode_managed_fields(Some(sent)) {
                    Ok(entries) if !entries.is_empty() => entries,
                    Ok(_) => stored_entries(),
                    Err(e) => return Err(invalid_managed_fields(req, next, e)),
                }
            }
            _ => stored_entries(),
        };
        match self.fm.update(old, next, &base, &self.writer()) {
            Ok(entries) => set_managed_fields(next, &entries),
            Err(e) => {
                tracing::warn!(error = %e, "managedFields not updated; dropped");
                object::meta_mut(next).remove("managedFields");
            }
        }
        Ok(())
    }

    /// Server-side apply of `config` to `live` (`Value::Null` when the
    /// object does not exist yet): the merged object with its
    /// managedFields, or the 409 of the conflicts.
    pub(super) fn apply(
        &self,
        live: &Value,
        config: &Value,
        force: bool,
    ) -> Result<Applied, ApiError> {
        let mut managed =
            decode_managed_fields(live.get("metadata").and_then(|m| m.get("managedFields")))
                .unwrap_or_default();
        if managed.is_empty() && live.is_object() {
            // An object written before field management: its fields belong
            // to a placeholder updater, so an apply conflicts as it would
            // with the one who wrote them.
            if let Ok(fields) = skewless_fieldmanager::field_set(
                live,
                self.fm.schema(),
                &skewless_fieldmanager::FieldSet::new(),
            ) && !fields.is_empty()
            {
                managed.push(ManagedFieldsEntry {
                    manager: BEFORE_FIRST_APPLY.to_owned(),
                    operation: Operation::Update,
                    api_version: self.api_version.clone(),
                    time: Some(self.time.clone()),
                    fields,
                    subresource: String::new(),
                });
            }
        }
        let writer = self.writer();
        let mut applied = match self.fm.apply(live, config, &managed, &writer, force) {
            Ok(a) => a,
            Err(FmError::Conflicts(conflicts)) => {
                match self.migrating_fields(live).map(|a| conflicts.without(&a)) {
                    // Every conflict is a field kubectl's client-side apply
                    // set and nobody changed since: take them.
                    Ok(None) => self
                        .fm
                        .apply(live, config, &managed, &writer, true)
                        .map_err(|e| self.apply_error(e))?,
                    Ok(Some(rest)) => return Err(conflict_error(&rest)),
                    Err(()) => return Err(conflict_error(&conflicts)),
                }
            }
            Err(e) => return Err(self.apply_error(e)),
        };
        if self.manager == KUBECTL && has_last_applied(live) {
            sync_last_applied(&mut applied.object, config);
        }
        set_managed_fields(&mut applied.object, &applied.managed_fields);
        Ok(applied)
    }

    /// Server-side apply to the `scale` subresource, as upstream's scale
    /// handler: the parent's owners of its replicas field (`replicas`, the
    /// path segments in the parent) become owners of the Scale's
    /// `spec.replicas`, the apply runs on the Scale (conflicting with
    /// them unless forced), and the result goes back to the parent: owners
    /// that lost the field lose it there, and the applier gets an Apply
    /// entry for the scale subresource owning the parent's replicas
    /// field. Returns the merged Scale and the parent's new managedFields.
    pub(super) fn apply_scale(
        &self,
        parent: &Value,
        scale: &Value,
        config: &Value,
        force: bool,
        replicas: &[String],
    ) -> Result<(Value, Value), ApiError> {
        let parent_path: Vec<PathElement> = replicas
            .iter()
            .map(|f| PathElement::Field(f.clone()))
            .collect();
        let scale_path = vec![
            PathElement::Field("spec".into()),
            PathElement::Field("replicas".into()),
        ];
        let parent_entries =
            decode_managed_fields(parent.get("metadata").and_then(|m| m.get("managedFields")))
                .unwrap_or_default();
        let scale_entries: Vec<ManagedFieldsEntry> = parent_entries
            .iter()
            .filter(|e| e.fields.has(&parent_path))
            .map(|e| ManagedFieldsEntry {
                fields: FieldSet::from_paths([scale_path.clone()]),
                ..e.clone()
            })
            .collect();
        let mut live = scale.clone();
        object::meta_mut(&mut live).remove("managedFields");
        let applied = self
            .fm
            .apply(&live, config, &scale_entries, &self.writer(), force)
            .map_err(|e| self.apply_error(e))?;
        let owns_replicas = |id: &str| {
            applied
                .managed_fields
                .iter()
                .any(|e| e.identifier() == id && e.fields.has(&scale_path))
        };
        let just_replicas = FieldSet::from_paths([parent_path.clone()]);
        let mut next: Vec<ManagedFieldsEntry> = Vec::new();
        for mut e in parent_entries {
            if e.fields.has(&parent_path) && !owns_replicas(&e.identifier()) {
                e.fields = e.fields.difference(&just_replicas);
                if e.fields.is_empty() {
                    continue;
                }
            }
            next.push(e);
        }
        for e in applied
            .managed_fields
            .iter()
            .filter(|e| e.subresource == self.subresource && e.fields.has(&scale_path))
        {
            let entry = ManagedFieldsEntry {
                fields: just_replicas.clone(),
                ..e.clone()
            };
            match next.iter_mut().find(|p| p.identifier() == e.identifier()) {
                Some(existing) => *existing = entry,
                None => next.push(entry),
            }
        }
        let mut object = applied.object;
        object::meta_mut(&mut object).remove("managedFields");
        Ok((object, encode_managed_fields(&next)))
    }

    /// For kubectl's server-side apply of an object last applied
    /// client-side: the fields of the last-applied configuration the live
    /// object still holds (upstream's `allowedConflictsFromLastApplied`).
    fn migrating_fields(&self, live: &Value) -> Result<skewless_fieldmanager::FieldSet, ()> {
        if self.manager != KUBECTL {
            return Err(());
        }
        let text = live
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(LAST_APPLIED))
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or(())?;
        let last: Value = serde_json::from_str(text).map_err(|_| ())?;
        if !last.is_object() {
            return Err(());
        }
        self.fm.fields_still_applied(&last, live).map_err(|_| ())
    }

    fn apply_error(&self, e: FmError) -> ApiError {
        match e {
            FmError::Conflicts(c) => conflict_error(&c),
            other => ApiError::BadRequest(format!("failed to create typed patch object: {other}")),
        }
    }
}

/// The 409 of an apply's conflicts.
fn conflict_error(conflicts: &Conflicts) -> ApiError {
    ApiError::ApplyConflict {
        message: conflicts.to_string(),
        causes: conflicts
            .conflicts()
            .iter()
            .map(|c| (c.field(), c.message()))
            .collect(),
    }
}

fn invalid_managed_fields(req: &Request<'_>, obj: &Value, e: FmError) -> ApiError {
    let causes = match e {
        FmError::InvalidManagedFields(errors) => errors,
        other => vec![format!("metadata.managedFields: Invalid value: {other}")],
    };
    ApiError::Invalid {
        kind: GroupKind::new(req.resource.group.clone(), req.resource.kind.clone()),
        name: object::name(obj).to_owned(),
        causes: causes.iter().map(|c| FieldError::from_message(c)).collect(),
    }
}

/// Writes `entries` as `metadata.managedFields` (none: the field goes).
fn set_managed_fields(obj: &mut Value, entries: &[ManagedFieldsEntry]) {
    let meta = object::meta_mut(obj);
    if entries.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert("managedFields".into(), encode_managed_fields(entries));
    }
}

fn has_last_applied(obj: &Value) -> bool {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(LAST_APPLIED))
        .is_some()
}

/// Upstream's last-applied updater: after kubectl's server-side apply of
/// an object that has the annotation, the annotation holds the applied
/// configuration (without the annotation itself), so a later client-side
/// apply diffs against what was applied; dropped when it would not fit.
fn sync_last_applied(obj: &mut Value, config: &Value) {
    let mut last = config.clone();
    if let Some(annotations) = last
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Value::as_object_mut)
    {
        annotations.remove(LAST_APPLIED);
        if annotations.is_empty()
            && let Some(meta) = last.get_mut("metadata").and_then(Value::as_object_mut)
        {
            meta.remove("annotations");
        }
    }
    let text = serde_json::to_string(&last).unwrap_or_default();
    let meta = object::meta_mut(obj);
    let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
    if let Value::Object(a) = annotations {
        if text.len() > MAX_ANNOTATIONS_BYTES {
            a.remove(LAST_APPLIED);
        } else {
            a.insert(LAST_APPLIED.into(), Value::String(text));
        }
    }
}

/// `?force=` as Go's `strconv.ParseBool` reads it (anything else: false).
pub(super) fn force(req: &Request<'_>) -> bool {
    matches!(
        req.query.get("force"),
        Some("1" | "t" | "T" | "true" | "TRUE" | "True")
    )
}

//! The `metadata.managedFields` model: entries, their JSON form, the
//! apiserver's validation (422 messages), the order entries are written in
//! and the cap on Update entries.
//!
//! Never panics on what a client sent: malformed entries are errors.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::manager::validate_manager_at;
pub use crate::operation::Operation;
use crate::set::FieldSet;

/// The longest `subresource` an entry may name (upstream's
/// `MaxSubresourceNameLength`).
pub const MAX_SUBRESOURCE_NAME_LENGTH: usize = 256;

/// How many Update entries an object keeps before the oldest are merged
/// into `ancient-changes` buckets (the apiserver's `DefaultMaxUpdateManagers`).
pub const DEFAULT_MAX_UPDATE_MANAGERS: usize = 10;

/// The manager name of the buckets old Update entries are merged into.
pub const ANCIENT_CHANGES_MANAGER: &str = "ancient-changes";

/// One `metadata.managedFields` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct ManagedFieldsEntry {
    /// The field manager.
    pub manager: String,
    /// Apply or Update.
    pub operation: Operation,
    /// The API version the fields are expressed in.
    pub api_version: String,
    /// RFC 3339 time of the last change, if recorded.
    pub time: Option<String>,
    /// The owned fields.
    pub fields: FieldSet,
    /// The subresource written through (`""` for the main resource).
    pub subresource: String,
}

impl ManagedFieldsEntry {
    /// Whether `other` is the same manager: same name, operation and
    /// subresource, and for Update entries the same API version (an
    /// applier keeps one entry whatever version it applies in, upstream's
    /// `BuildManagerIdentifier`).
    pub fn same_manager(&self, other: &ManagedFieldsEntry) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.subresource == other.subresource
            && (self.operation == Operation::Apply || self.api_version == other.api_version)
    }

    /// Upstream's manager identifier: the entry's JSON without time and
    /// fields (and without apiVersion for appliers). Used to order managers.
    pub fn identifier(&self) -> String {
        let mut m = Map::new();
        m.insert("manager".into(), Value::String(self.manager.clone()));
        m.insert("operation".into(), self.operation.as_str().into());
        if self.operation == Operation::Update && !self.api_version.is_empty() {
            m.insert("apiVersion".into(), Value::String(self.api_version.clone()));
        }
        if !self.subresource.is_empty() {
            m.insert(
                "subresource".into(),
                Value::String(self.subresource.clone()),
            );
        }
        // Go marshals struct fields in declaration order.
        let mut out = String::from("{");
        for (i, key) in ["manager", "operation", "apiVersion", "subresource"]
            .into_iter()
            .filter(|k| m.contains_key(*k))
            .enumerate()
        {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&format!("\"{key}\":{}", m[key]));
        }
        out.push('}');
        out
    }

    /// The JSON entry as the apiserver writes it.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if !self.manager.is_empty() {
            m.insert("manager".into(), Value::String(self.manager.clone()));
        }
        m.insert("operation".into(), self.operation.as_str().into());
        if !self.api_version.is_empty() {
            m.insert("apiVersion".into(), Value::String(self.api_version.clone()));
        }
        if let Some(time) = &self.time {
            m.insert("time".into(), Value::String(time.clone()));
        }
        m.insert("fieldsType".into(), "FieldsV1".into());
        m.insert("fieldsV1".into(), self.fields.to_fields_v1());
        if !self.subresource.is_empty() {
            m.insert(
                "subresource".into(),
                Value::String(self.subresource.clone()),
            );
        }
        Value::Object(m)
    }

    /// Reads one JSON entry; `at` is its field path for messages
    /// (`metadata.managedFields[0]`).
    pub fn from_json(v: &Value, at: &str) -> Result<Self, Error> {
        let errors = validate_entry(v, at);
        if !errors.is_empty() {
            return Err(Error::InvalidManagedFields(errors));
        }
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let operation = match v.get("operation").and_then(Value::as_str) {
            Some("Apply") => Operation::Apply,
            _ => Operation::Update,
        };
        let fields = match v.get("fieldsV1") {
            None | Some(Value::Null) => FieldSet::new(),
            Some(f) => FieldSet::from_fields_v1(f).map_err(|e| {
                Error::InvalidManagedFields(vec![format!("{at}.fieldsV1: Invalid value: {e}")])
            })?,
        };
        Ok(Self {
            manager: text("manager"),
            operation,
            api_version: text("apiVersion"),
            time: v.get("time").and_then(Value::as_str).map(str::to_owned),
            fields,
            subresource: text("subresource"),
        })
    }
}

fn go_quote(v: &Value) -> String {
    match v {
        Value::String(s) => Value::String(s.clone()).to_string(),
        other => other.to_string(),
    }
}

/// Upstream's `ValidateManagedFields` for one entry: the messages of its
/// field errors (`metadata.managedFields[0].operation: Invalid value:
/// "Patch": must be `Apply` or `Update``).
fn validate_entry(v: &Value, at: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let Value::Object(entry) = v else {
        errors.push(format!("{at}: Invalid value: {v}: must be an object"));
        return errors;
    };
    let operation = entry.get("operation").cloned().unwrap_or(Value::from(""));
    if !matches!(operation.as_str(), Some("Apply" | "Update")) {
        errors.push(format!(
            "{at}.operation: Invalid value: {}: must be `Apply` or `Update`",
            go_quote(&operation)
        ));
    }
    match entry.get("fieldsType") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if t.is_empty() || t == "FieldsV1" => {}
        Some(t) => errors.push(format!(
            "{at}.fieldsType: Invalid value: {}: must be `FieldsV1`",
            go_quote(t)
        )),
    }
    let manager = entry.get("manager").and_then(Value::as_str).unwrap_or("");
    errors.extend(validate_manager_at(manager, &format!("{at}.manager")));
    let subresource = entry
        .get("subresource")
        .and_then(Value::as_str)
        .unwrap_or("");
    if subresource.len() > MAX_SUBRESOURCE_NAME_LENGTH {
        errors.push(format!(
            "{at}.subresource: Too long: may not be more than {MAX_SUBRESOURCE_NAME_LENGTH} bytes"
        ));
    }
    errors
}

/// Reads `metadata.managedFields` (absent or null: none). Errors carry
/// every field error as the apiserver's 422 lists them.
pub fn decode_managed_fields(list: Option<&Value>) -> Result<Vec<ManagedFieldsEntry>, Error> {
    let items = match list {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(Error::InvalidManagedFields(vec![format!(
                "metadata.managedFields: Invalid value: {other}: must be a list"
            )]));
        }
    };
    let mut out = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match ManagedFieldsEntry::from_json(item, &format!("metadata.managedFields[{i}]")) {
            Ok(e) => out.push(e),
            Err(Error::InvalidManagedFields(es)) => errors.extend(es),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Error::InvalidManagedFields(errors))
    }
}

/// Whether a client's `managedFields` asks for a reset: upstream treats a
/// list holding only empty entries (`[{}]`) as "clear them".
pub fn is_reset_request(list: &Value) -> bool {
    list.as_array().is_some_and(|items| {
        !items.is_empty()
            && items
                .iter()
                .all(|i| i.as_object().is_some_and(Map::is_empty))
    })
}

/// Writes entries in the apiserver's order: Apply before Update, then by
/// time (oldest first), manager, API version and subresource.
pub fn encode_managed_fields(entries: &[ManagedFieldsEntry]) -> Value {
    let mut sorted: Vec<&ManagedFieldsEntry> = entries.iter().collect();
    sorted.sort_by(|p, q| {
        p.operation
            .cmp(&q.operation)
            .then_with(|| time_key(p).cmp(&time_key(q)))
            .then_with(|| p.manager.cmp(&q.manager))
            .then_with(|| p.api_version.cmp(&q.api_version))
            .then_with(|| p.subresource.cmp(&q.subresource))
    });
    Value::Array(
        sorted
            .into_iter()
            .map(ManagedFieldsEntry::to_json)
            .collect(),
    )
}

/// Seconds precision, as upstream compares `Time.Unix()`; RFC 3339 UTC
/// strings of one format sort chronologically.
fn time_key(e: &ManagedFieldsEntry) -> String {
    e.time
        .as_deref()
        .map(|t| t.chars().take(19).collect())
        .unwrap_or_default()
}

/// Merges the oldest Update entries into one `ancient-changes` entry per
/// API version until at most `max` Update entries remain (upstream's
/// `capManagersManager`): Update entries sorted oldest first (then by
/// manager identifier); the first entry of a version is remembered, and
/// from the second on each is merged into that version's bucket (made from
/// the first unless one exists), which takes the merged entry's time.
pub fn cap_update_managers(
    mut entries: Vec<ManagedFieldsEntry>,
    max: usize,
) -> Vec<ManagedFieldsEntry> {
    let mut updaters: Vec<(String, String)> = entries
        .iter()
        .filter(|e| e.operation == Operation::Update)
        .map(|e| (time_key(e), e.identifier()))
        .collect();
    if updaters.len() <= max {
        return entries;
    }
    updaters.sort();
    let position = |entries: &[ManagedFieldsEntry], id: &str| {
        entries
            .iter()
            .position(|e| e.operation == Operation::Update && e.identifier() == id)
    };
    let mut first_by_version: Vec<(String, String)> = Vec::new();
    let mut length = updaters.len();
    for (_, id) in &updaters {
        if length <= max {
            break;
        }
        let Some(at) = position(&entries, id) else {
            continue;
        };
        let version = entries[at].api_version.clone();
        let bucket = ManagedFieldsEntry {
            manager: ANCIENT_CHANGES_MANAGER.to_owned(),
            operation: Operation::Update,
            api_version: version.clone(),
            time: None,
            fields: FieldSet::new(),
            subresource: String::new(),
        }
        .identifier();
        let Some(first) = first_by_version
            .iter()
            .find(|(v, _)| *v == version)
            .map(|(_, f)| f.clone())
        else {
            first_by_version.push((version, id.clone()));
            continue;
        };
        if *id == bucket {
            // Never merge a bucket into itself (and lose it).
            continue;
        }
        if position(&entries, &bucket).is_none()
            && let Some(f) = position(&entries, &first)
        {
            entries[f].manager = ANCIENT_CHANGES_MANAGER.to_owned();
            entries[f].subresource = String::new();
        }
        let merged = entries.remove(at);
        if let Some(b) = position(&entries, &bucket) {
            entries[b].fields = merged.fields.union(&entries[b].fields);
            entries[b].time = merged.time;
        }
        length -= 1;
    }
    entries
}

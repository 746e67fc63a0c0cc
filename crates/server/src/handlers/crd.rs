//! CustomResourceDefinition objects on write: validation and defaulting as
//! upstream's CRD strategy, and the cleanup finalizer every new CRD gets.

use serde_json::Value;
use skewless_apimachinery::crd::{self, CLEANUP_FINALIZER, CustomResourceDefinition};

use crate::object;

/// Validation and defaulting of a CRD object on create (`old` is `None`)
/// or update, as upstream's CRD strategy: 422 listing every problem.
pub(crate) fn prepare(
    obj: &mut Value,
    old: Option<&Value>,
) -> Result<(), skewless_apimachinery::status::ApiError> {
    use skewless_apimachinery::request_info::GroupKind;
    use skewless_apimachinery::status::ApiError;
    let mut c = CustomResourceDefinition::from_value(obj).map_err(|e| {
        ApiError::BadRequest(format!(
            "CustomResourceDefinition cannot be handled as a CustomResourceDefinition: {e}"
        ))
    })?;
    c.set_defaults();
    let errors = match old.and_then(|o| CustomResourceDefinition::from_value(o).ok()) {
        Some(old) => {
            c.prepare_for_update(&old);
            c.validate_update(&old)
        }
        None => {
            c.prepare_for_create();
            c.validate()
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::Invalid {
            kind: GroupKind::new(crd::GROUP, crd::KIND),
            name: c.name().to_owned(),
            causes: errors,
        });
    }
    let mut value = c.to_value();
    if old.is_none() {
        let finalizers = object::meta_mut(&mut value)
            .entry("finalizers")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = finalizers
            && !list.iter().any(|f| f.as_str() == Some(CLEANUP_FINALIZER))
        {
            list.push(Value::String(CLEANUP_FINALIZER.to_owned()));
        }
    }
    *obj = value;
    Ok(())
}

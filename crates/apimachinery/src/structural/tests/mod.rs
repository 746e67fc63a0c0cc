use serde_json::Value;

use super::check::validate_schema;
use super::defaults::apply_defaults;
use super::formats::{is_base64, is_date_time, is_hex_color, is_hostname, is_mac, is_ssn, is_uuid};
use super::invariants::is_structural;
use super::prune::prune;
use super::schema::Schema;
use super::validate::validate;
use super::values::go_float;

use serde_json::json;

/// The CRD path prefix most schema tests report under.
const P: &str = "spec.versions[0].schema.openAPIV3Schema";

fn check(schema: &Value, obj: Value) -> Vec<String> {
    validate(&Schema::from_json(schema), &obj)
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn spec_schema(spec_props: Value) -> Value {
    json!({
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": spec_props}
        }
    })
}

fn with_spec(spec: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec})
}

mod objects;
mod prune;
mod schema_checks;
mod values;

//! The bounds of `limits`: patch bombs, operation counts, nesting, sizes and
//! the excerpts error messages quote.

use serde_json::{Value, json};

use super::excerpt::{MAX_MESSAGE_CHARS, excerpt, excerpt_json};
use super::limits::json_size_up_to;
use super::merge_keys::DEPLOYMENT;
use super::*;

fn config_map() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "bomb", "namespace": "default", "annotations": {}},
        "data": {"k": "v"},
    })
}

/// One `add` of a 1,000-character annotation, then `copies` copies of the
/// annotations into themselves: each one doubles the object.
fn copy_bomb(copies: usize) -> Vec<u8> {
    let mut ops = vec![json!({
        "op": "add",
        "path": "/metadata/annotations/a",
        "value": "x".repeat(1000),
    })];
    for i in 0..copies {
        ops.push(json!({
            "op": "copy",
            "from": "/metadata/annotations",
            "path": format!("/metadata/annotations/k{i}"),
        }));
    }
    Value::Array(ops).to_string().into_bytes()
}

/// A field of this process's `/proc/self/status`, in kB (`None` off Linux).
fn proc_status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `depth` objects nested in each other under key `a`, `{}` innermost.
fn nested(depth: usize) -> Value {
    let mut value = json!({});
    for _ in 1..depth {
        value = json!({ "a": value });
    }
    value
}

#[test]
fn copy_doubling_bomb_fails_fast_with_the_size_error() {
    let body = copy_bomb(30);
    assert!(body.len() < 4096, "the bomb is small: {} bytes", body.len());
    let peak_before = proc_status_kb("VmHWM:");
    let err = apply_patch(&config_map(), &body, PatchType::Json, None).unwrap_err();
    assert_eq!(
        err,
        PatchError::TooLarge {
            limit: DEFAULT_MAX_BYTES
        }
    );
    assert_eq!(err.http_code(), 413);
    assert_eq!(err.reason(), "RequestEntityTooLarge");
    assert_eq!(
        err.to_string(),
        format!("Request entity too large: limit is {DEFAULT_MAX_BYTES}")
    );
    // The peak memory of the process grew by a few MiB at most (the limit
    // is 3 MiB of copies), not the GiBs that 30 doublings of 1 kB are.
    if let (Some(before), Some(after)) = (peak_before, proc_status_kb("VmHWM:")) {
        let grown_mib = after.saturating_sub(before) / 1024;
        assert!(grown_mib < 64, "peak memory grew by {grown_mib} MiB");
    }
}

#[test]
fn copy_bomb_stops_at_the_given_limit() {
    // With 10 kB, the second copy (4 kB of annotations + the 1 kB added and
    // the first 2 kB copy) already passes the limit.
    let limits = PatchLimits {
        max_operations: 100,
        max_bytes: 10_000,
    };
    let err = apply_patch_with_limits(
        &config_map(),
        &copy_bomb(30),
        PatchType::Json,
        None,
        &limits,
    )
    .unwrap_err();
    assert_eq!(err, PatchError::TooLarge { limit: 10_000 });
    // The same copies fit in the default limit when there are few.
    let patched = apply_patch(&config_map(), &copy_bomb(3), PatchType::Json, None).unwrap();
    let annotations = &patched["metadata"]["annotations"];
    assert_eq!(
        annotations["k2"]["k1"]["k0"]["a"].as_str().map(str::len),
        Some(1000)
    );
}

#[test]
fn inserted_values_are_charged_exactly() {
    // "abc" is 5 bytes of JSON: two copies and the add make 15.
    let body = json!([
        {"op": "add", "path": "/x", "value": "abc"},
        {"op": "copy", "from": "/x", "path": "/y"},
        {"op": "move", "from": "/y", "path": "/z"},
    ])
    .to_string();
    let limits = |max_bytes| PatchLimits {
        max_operations: 10,
        max_bytes,
    };
    let got = apply_patch_with_limits(
        &json!({}),
        body.as_bytes(),
        PatchType::Json,
        None,
        &limits(100),
    )
    .unwrap();
    assert_eq!(got, json!({"x": "abc", "z": "abc"}));
    // The result ({"x":"abc","z":"abc"}, 23 bytes) fits in 23, and so do
    // the 15 bytes inserted.
    assert!(
        apply_patch_with_limits(
            &json!({}),
            body.as_bytes(),
            PatchType::Json,
            None,
            &limits(23)
        )
        .is_ok()
    );
    // 14 bytes is not enough for the three insertions.
    let err = apply_patch_with_limits(
        &json!({}),
        body.as_bytes(),
        PatchType::Json,
        None,
        &limits(14),
    )
    .unwrap_err();
    assert_eq!(err, PatchError::TooLarge { limit: 14 });
    // `remove` and `test` insert nothing.
    let body = json!([
        {"op": "test", "path": "/x", "value": "abc"},
        {"op": "remove", "path": "/x"},
    ])
    .to_string();
    let got = apply_patch_with_limits(
        &json!({"x": "abc"}),
        body.as_bytes(),
        PatchType::Json,
        None,
        &limits(2),
    )
    .unwrap();
    assert_eq!(got, json!({}));
}

#[test]
fn too_many_operations() {
    let ops = vec![json!({"op": "test", "path": "/a", "value": 1}); 10_001];
    let body = Value::Array(ops).to_string();
    let err = apply_patch(&json!({"a": 1}), body.as_bytes(), PatchType::Json, None).unwrap_err();
    assert_eq!(
        err,
        PatchError::TooManyOperations {
            max: 10_000,
            got: 10_001
        }
    );
    assert_eq!(err.http_code(), 413);
    // 10,000 is allowed.
    let ops = vec![json!({"op": "test", "path": "/a", "value": 1}); 10_000];
    let body = Value::Array(ops).to_string();
    assert!(apply_patch(&json!({"a": 1}), body.as_bytes(), PatchType::Json, None).is_ok());
    // A lower limit.
    let limits = PatchLimits {
        max_operations: 2,
        ..PatchLimits::default()
    };
    let body = br#"[{"op":"test","path":"/a","value":1},{"op":"test","path":"/a","value":1},{"op":"test","path":"/a","value":1}]"#;
    let err = apply_patch_with_limits(&json!({"a": 1}), body, PatchType::Json, None, &limits)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "The allowed maximum operations in a JSON patch is 2, got 3"
    );
}

#[test]
fn patched_objects_larger_than_the_limit_are_refused_for_every_patch_type() {
    let limits = PatchLimits::with_max_bytes(1000);
    let big = "y".repeat(1000);
    let original = json!({"apiVersion": "apps/v1", "kind": "Deployment"});
    let merge = json!({"metadata": {"annotations": {"big": big}}}).to_string();
    let apply = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"annotations": {"big": big}}})
        .to_string();
    let cases: [(PatchType, &str); 4] = [
        (PatchType::Merge, &merge),
        (PatchType::StrategicMerge, &merge),
        (PatchType::Apply, &apply),
        (
            PatchType::Json,
            &json!([{"op": "add", "path": "/big", "value": big}]).to_string(),
        ),
    ];
    for (patch_type, body) in cases {
        let err = apply_patch_with_limits(
            &original,
            body.as_bytes(),
            patch_type,
            Some(&DEPLOYMENT),
            &limits,
        )
        .unwrap_err();
        assert_eq!(err, PatchError::TooLarge { limit: 1000 }, "{patch_type:?}");
        assert_eq!(err.http_code(), 413);
        // The default limit lets them through.
        assert!(
            apply_patch(&original, body.as_bytes(), patch_type, Some(&DEPLOYMENT)).is_ok(),
            "{patch_type:?}"
        );
    }
}

#[test]
fn deeply_nested_patch_documents_are_refused() {
    let original = json!({"apiVersion": "v1", "kind": "ConfigMap"});
    // MAX_PATCH_DEPTH levels are fine, one more is not.
    let fine = nested(MAX_PATCH_DEPTH).to_string();
    assert!(apply_patch(&original, fine.as_bytes(), PatchType::Merge, None).is_ok());
    let deep = nested(MAX_PATCH_DEPTH + 1).to_string();
    for patch_type in [PatchType::Merge, PatchType::StrategicMerge] {
        let err =
            apply_patch(&original, deep.as_bytes(), patch_type, Some(&DEPLOYMENT)).unwrap_err();
        assert_eq!(
            err,
            PatchError::TooDeep {
                max: MAX_PATCH_DEPTH
            },
            "{patch_type:?}"
        );
        assert_eq!(err.http_code(), 400);
        assert_eq!(err.to_string(), "the patch nests deeper than 100 levels");
    }
    // A JSON patch: the array and the operation are two of the levels.
    let op = json!([{"op": "add", "path": "/x", "value": nested(MAX_PATCH_DEPTH - 1)}]);
    let err = apply_patch(&original, op.to_string().as_bytes(), PatchType::Json, None).unwrap_err();
    assert_eq!(err.http_code(), 400, "{err:?}");
    // A YAML apply body nested in block style (no brackets to count before
    // parsing).
    let mut yaml = String::from("apiVersion: v1\nkind: ConfigMap\n");
    for level in 0..=MAX_PATCH_DEPTH {
        yaml.push_str(&"  ".repeat(level));
        yaml.push_str("a:\n");
    }
    let err = apply_patch(&original, yaml.as_bytes(), PatchType::Apply, None).unwrap_err();
    assert_eq!(
        err,
        PatchError::TooDeep {
            max: MAX_PATCH_DEPTH
        }
    );
}

#[test]
fn json_patch_cannot_nest_an_object_past_what_can_be_read_back() {
    // An object 100 levels deep, and an add of 50 more levels at its bottom.
    let original = json!({"root": nested(100)});
    let path = format!("/root{}/b", "/a".repeat(99));
    let body = json!([{"op": "add", "path": path, "value": nested(50)}]).to_string();
    let err = apply_patch(&original, body.as_bytes(), PatchType::Json, None).unwrap_err();
    assert_eq!(err.http_code(), 422, "{err:?}");
    let PatchError::Unprocessable { detail } = err else {
        panic!("want Unprocessable");
    };
    assert_eq!(
        detail,
        format!("the patched object nests deeper than {MAX_OBJECT_DEPTH} levels")
    );
    // 20 more levels are fine (121 in all).
    let body = json!([{"op": "add", "path": path, "value": nested(20)}]).to_string();
    assert!(apply_patch(&original, body.as_bytes(), PatchType::Json, None).is_ok());
}

#[test]
fn yaml_alias_expansion_is_refused() {
    // "Billion laughs": nine levels of nine aliases each.
    let mut yaml = String::from(
        "apiVersion: v1\nkind: ConfigMap\na: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n",
    );
    let mut previous = 'a';
    for anchor in 'b'..='j' {
        let aliases = vec![format!("*{previous}"); 9].join(",");
        yaml.push_str(&format!("{anchor}: &{anchor} [{aliases}]\n"));
        previous = anchor;
    }
    let original = json!({"apiVersion": "v1", "kind": "ConfigMap"});
    let err = apply_patch(&original, yaml.as_bytes(), PatchType::Apply, None).unwrap_err();
    assert_eq!(err.http_code(), 400, "{err:?}");
}

#[test]
fn error_messages_quote_bounded_excerpts() {
    let long = "p".repeat(100_000);
    // A JSON patch path that does not exist.
    let body = json!([
        {"op": "test", "path": "/data/k", "value": "v"},
        {"op": "remove", "path": format!("/{long}")},
    ])
    .to_string();
    let original = json!({"data": {"k": "v"}});
    let PatchError::Unprocessable { detail } =
        apply_patch(&original, body.as_bytes(), PatchType::Json, None).unwrap_err()
    else {
        panic!("want Unprocessable");
    };
    assert!(
        detail.starts_with("operation '/1' failed at path '/ppp"),
        "{detail}"
    );
    assert!(detail.contains("...': path is invalid"), "{detail}");
    assert!(detail.len() < 400, "{} characters", detail.len());
    // An unknown operation (the serde error quotes it).
    let body = json!([{"op": long, "path": "/x"}]).to_string();
    let PatchError::Unprocessable { detail } =
        apply_patch(&original, body.as_bytes(), PatchType::Json, None).unwrap_err()
    else {
        panic!("want Unprocessable");
    };
    assert!(detail.len() < 400, "{} characters", detail.len());
    // A strategic merge directive quoting the whole patch map.
    let body = json!({"$patch": long, "big": long}).to_string();
    let err = apply_patch(
        &json!({}),
        body.as_bytes(),
        PatchType::StrategicMerge,
        Some(&DEPLOYMENT),
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("unknown patch type: \"ppp"),
        "{message}"
    );
    assert!(
        message.chars().count() <= MAX_MESSAGE_CHARS + 3,
        "{}",
        message.len()
    );
    assert!(message.len() < 1000, "{} characters", message.len());
    // A list element without its merge key, quoted in the message.
    let body = json!({"spec": {"template": {"spec": {"containers": [{"image": long}]}}}});
    let err = apply_patch(
        &json!({}),
        body.to_string().as_bytes(),
        PatchType::StrategicMerge,
        Some(&DEPLOYMENT),
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("...} does not contain declared merge key: name")
            || message.contains("... does not contain declared merge key: name"),
        "{message}"
    );
    assert!(message.len() < 400, "{} characters", message.len());
    // An apply body naming a huge apiVersion.
    let body = json!({"apiVersion": long, "kind": "Deployment"}).to_string();
    let original = json!({"apiVersion": "apps/v1", "kind": "Deployment"});
    let message = apply_patch(
        &original,
        body.as_bytes(),
        PatchType::Apply,
        Some(&DEPLOYMENT),
    )
    .unwrap_err()
    .to_string();
    assert!(message.ends_with("..., expected: apps/v1"), "{message}");
    assert!(message.len() < 400, "{} characters", message.len());
}

#[test]
fn excerpts() {
    assert_eq!(excerpt("short"), "short");
    let exact = "e".repeat(MAX_EXCERPT_CHARS);
    assert_eq!(excerpt(&exact), exact);
    let long = "é".repeat(1000);
    let cut = excerpt(&long);
    assert_eq!(cut.chars().count(), MAX_EXCERPT_CHARS + 3);
    assert!(cut.ends_with("é..."));
    // JSON excerpts stop serializing early and never split a character.
    let big = Value::Array(vec![json!("€uro"); 1_000_000]);
    let cut = excerpt_json(&big);
    assert_eq!(cut.chars().count(), MAX_EXCERPT_CHARS + 3);
    assert!(cut.starts_with("[\"€uro\",\"€uro\""), "{cut}");
    assert!(cut.ends_with("..."));
    assert_eq!(excerpt_json(&json!({"a": [1, null]})), r#"{"a":[1,null]}"#);
}

#[test]
fn json_sizes_are_the_serialized_sizes() {
    let values = [
        json!(null),
        json!(true),
        json!(false),
        json!(0),
        json!(-12345678901_i64),
        json!(u64::MAX),
        json!(1.5),
        json!(-0.001),
        json!(""),
        json!("plain"),
        json!("quote \" backslash \\ newline \n tab \t bell \u{7} nul \u{0} del \u{7f}"),
        json!("ünïcødé €"),
        json!([]),
        json!({}),
        json!([1, [2, [3, {}]], {"a": []}]),
        json!({"k\"ey": {"nested": [true, null, "x"]}, "b": 2}),
        config_map(),
    ];
    for value in values {
        let want = serde_json::to_vec(&value).unwrap().len();
        assert_eq!(json_size_up_to(&value, usize::MAX), want, "{value}");
        assert_eq!(json_size_up_to(&value, want), want, "{value}");
        if want > 0 {
            assert!(json_size_up_to(&value, want - 1) > want - 1, "{value}");
        }
    }
    // Counting stops past the limit: a large value measured against a small
    // limit returns a small number.
    let big = Value::Array(vec![json!("0123456789"); 1_000_000]);
    let measured = json_size_up_to(&big, 100);
    assert!(measured > 100 && measured < 120, "{measured}");
}

//! Field paths as upstream's `field.Path` renders them.

// ---------------------------------------------------------------------------
// Field paths (upstream's `field.Path`)
// ---------------------------------------------------------------------------

/// `base.name` (upstream's `Child`); just `name` at the root.
pub(crate) fn child(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_owned()
    } else {
        format!("{base}.{name}")
    }
}

/// `base[i]` (upstream's `Index`).
pub(crate) fn index(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}

/// `base[key]` (upstream's `Key`, no quoting).
pub(crate) fn key(base: &str, k: &str) -> String {
    format!("{base}[{k}]")
}

/// Joins a field-path prefix and a data path relative to it.
pub(crate) fn join(base: &str, rel: &str) -> String {
    if base.is_empty() {
        rel.to_owned()
    } else if rel.is_empty() {
        base.to_owned()
    } else if rel.starts_with('[') {
        format!("{base}{rel}")
    } else {
        format!("{base}.{rel}")
    }
}

//! Field manager names: the default taken from a User-Agent and the
//! apiserver's validation of `fieldManager`.

/// The longest field manager name (upstream's `FieldManagerMaxLength`).
pub const FIELD_MANAGER_MAX_LENGTH: usize = 128;

/// Go's `unicode.IsPrint`, near enough: graphic characters and the ASCII
/// space; no controls, other spaces, format characters or private use.
fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    let u = u32::from(c);
    let format = matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x8E2 | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0xE0001 | 0xE0020..=0xE007F);
    let private = matches!(u, 0xE000..=0xF8FF | 0xF0000..=0x10FFFF);
    !(c.is_control() || c.is_whitespace() || format || private)
}

/// The manager of a write without `?fieldManager=`: the User-Agent up to
/// its first `/`, unprintable characters dropped, cut to at most 128 bytes
/// without splitting a character (upstream's `prefixFromUserAgent`; kubectl
/// sends `kubectl-client-side-apply/v1.35.0 (linux/amd64) ...`).
pub fn manager_from_user_agent(user_agent: &str) -> String {
    let prefix = user_agent.split('/').next().unwrap_or("");
    let mut out = String::new();
    for c in prefix.chars().filter(|c| is_print(*c)) {
        if out.len() + c.len_utf8() > FIELD_MANAGER_MAX_LENGTH {
            break;
        }
        out.push(c);
    }
    out
}

/// Upstream's `ValidatePatchOptions`/`ValidateFieldManager` for the
/// `fieldManager` parameter: required for apply, at most 128 bytes, only
/// printable characters. The messages are the field errors of the 422.
pub fn validate_manager(name: &str, apply: bool) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    if apply && name.is_empty() {
        errors.push("fieldManager: Required value: is required for apply patch".to_owned());
    }
    errors.extend(validate_manager_at(name, "fieldManager"));
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

pub(crate) fn validate_manager_at(name: &str, field: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if name.len() > FIELD_MANAGER_MAX_LENGTH {
        errors.push(format!(
            "{field}: Too long: may not be more than {FIELD_MANAGER_MAX_LENGTH} bytes"
        ));
    }
    for (i, c) in name.char_indices() {
        if !is_print(c) {
            errors.push(format!(
                "{field}: Invalid value: {}: invalid character U+{:04X} (at position {i})",
                serde_json::Value::String(name.to_owned()),
                u32::from(c)
            ));
        }
    }
    errors
}

//! Upstream's names: tags, operation-id prefixes and API path prefixes of a
//! group/version.

/// `""` -> `core`, `rbac.authorization.k8s.io` -> `rbacAuthorization`:
/// upstream's tag prefix.
fn group_tag(group: &str) -> String {
    let camel = group_camel(group);
    let mut chars = camel.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `""` -> `Core`, `flowcontrol.apiserver.k8s.io` -> `FlowcontrolApiserver`,
/// `stable.example.com` -> `StableExampleCom`: upstream's operation id part.
pub(crate) fn group_camel(group: &str) -> String {
    if group.is_empty() {
        return "Core".to_string();
    }
    let trimmed = group.strip_suffix(".k8s.io").unwrap_or(group);
    trimmed
        .split(['.', '-'])
        .filter(|part| !part.is_empty())
        .map(capitalize)
        .collect()
}

pub(crate) fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The tag of a group/version's operations (`apps_v1`, `core_v1`).
pub(crate) fn tag(group: &str, version: &str) -> String {
    format!("{}_{}", group_tag(group), version)
}

/// `/api/v1` or `/apis/<group>/<version>`.
pub(crate) fn api_prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

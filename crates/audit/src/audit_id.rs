//! The audit ID that ties together every event of one request (and, when a
//! proxy or aggregator forwards the request, the events of every server on
//! its way). Never panics on header input.

/// Longest client-supplied `Audit-ID` that is kept.
const MAX_AUDIT_ID_LEN: usize = 128;

/// The `Audit-ID` header name.
pub const HEADER_AUDIT_ID: &str = "Audit-ID";

/// The audit ID for a request: the client's `Audit-ID` header when it is
/// present and sane, otherwise a fresh random UUID.
///
/// Sane means non-empty, at most 128 bytes and only visible ASCII
/// (`!`..=`~`): the value is echoed in the response header and written to
/// the log, so spaces, control characters and non-ASCII are refused rather
/// than escaped. Upstream accepts any non-empty value; the bounds keep a
/// client from bloating or garbling the log.
pub fn audit_id(header: Option<&str>) -> String {
    match header {
        Some(id) if is_sane(id) => id.to_owned(),
        _ => uuid::Uuid::new_v4().to_string(),
    }
}

fn is_sane(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_AUDIT_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_fresh_uuid(id: &str) -> bool {
        uuid::Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 4)
    }

    #[test]
    fn client_id_is_kept() {
        assert_eq!(
            audit_id(Some("f9e91b43-77c3-4622-9d2a-13838f0f4984")),
            "f9e91b43-77c3-4622-9d2a-13838f0f4984"
        );
        assert_eq!(audit_id(Some("trace:abc/123")), "trace:abc/123");
        let longest = "a".repeat(128);
        assert_eq!(audit_id(Some(&longest)), longest);
    }

    #[test]
    fn missing_or_insane_ids_are_replaced() {
        let too_long = "a".repeat(129);
        for header in [
            None,
            Some(""),
            Some(" "),
            Some("has space"),
            Some("tab\there"),
            Some("new\nline"),
            Some("nul\0"),
            Some("ünïcode"),
            Some(too_long.as_str()),
        ] {
            let id = audit_id(header);
            assert!(is_fresh_uuid(&id), "{header:?} gave {id}");
        }
    }

    #[test]
    fn fresh_ids_differ() {
        assert_ne!(audit_id(None), audit_id(None));
    }
}

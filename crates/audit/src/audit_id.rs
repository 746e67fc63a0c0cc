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
        _ => random_uuid().to_string(),
    }
}

/// A random (version 4) UUID without a system call: a per-thread
/// generator seeded once from the operating system's randomness. Its state
/// steps through 2^128 values and each is mixed into the UUID by a
/// bijection, so one thread never repeats and two threads collide with
/// negligible probability. Not for secrets: what it is for (audit IDs) is
/// unique, not unpredictable.
pub fn random_uuid() -> uuid::Uuid {
    thread_local! {
        static STATE: std::cell::Cell<u128> = std::cell::Cell::new(uuid::Uuid::new_v4().as_u128());
    }
    let state = STATE.with(|s| {
        let next = s
            .get()
            .wrapping_add(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
        s.set(next);
        next
    });
    let (hi, lo) = ((state >> 64) as u64, state as u64);
    let lo = lo ^ mix(hi);
    let hi = hi ^ mix(lo);
    let bytes = ((u128::from(hi) << 64) | u128::from(lo)).to_le_bytes();
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// The finalizer of SplitMix64 (a bijection on 64 bits).
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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
    fn random_uuids_are_version_4_and_distinct() {
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| audit_id(None)).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().all(|id| is_fresh_uuid(id)));
        let other = std::thread::spawn(|| random_uuid().to_string())
            .join()
            .unwrap_or_default();
        assert!(is_fresh_uuid(&other) && !ids.contains(&other));
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

//! The string `format`s a schema may name, and the checks behind them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;

use crate::validation::{is_dns1123_label, is_dns1123_subdomain};

// ---------------------------------------------------------------------------
// Formats
// ---------------------------------------------------------------------------

/// Whether `text` satisfies a (normalised) string format. Formats without a
/// checker here (email, uri, hostname-like network formats aside, isbn,
/// creditcard, duration, quantity, rgbcolor) accept everything.
pub(crate) fn format_valid(format: &str, text: &str) -> bool {
    match format {
        "date" => is_date(text),
        "datetime" => is_date_time(text),
        "byte" => is_base64(text),
        "uuid" => is_uuid(text, None),
        "uuid3" => is_uuid(text, Some('3')),
        "uuid4" => is_uuid(text, Some('4')),
        "uuid5" => is_uuid(text, Some('5')),
        "ipv4" => text.parse::<Ipv4Addr>().is_ok(),
        "ipv6" => text.contains(':') && text.parse::<IpAddr>().is_ok(),
        "cidr" => is_cidr(text),
        "mac" => is_mac(text),
        "hostname" => is_hostname(text),
        "hexcolor" => is_hex_color(text),
        "bsonobjectid" => text.len() == 24 && text.bytes().all(|b| b.is_ascii_hexdigit()),
        "ssn" => is_ssn(text),
        "k8sshortname" => is_dns1123_label(text).is_empty(),
        "k8slongname" => is_dns1123_subdomain(text).is_empty(),
        _ => true,
    }
}

pub(crate) fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// RFC 3339 `full-date` with a real calendar day (Go's
/// `time.Parse("2006-01-02")`).
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(year), Some(month), Some(day)) = (
        s.get(0..4).and_then(digits),
        s.get(5..7).and_then(digits),
        s.get(8..10).and_then(digits),
    ) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// go-openapi's `IsDateTime`: a date, `T` (any case), `hh:mm:ss`, an
/// optional fraction, and a mandatory zone (`Z` or `±hh:mm`).
pub(crate) fn is_date_time(s: &str) -> bool {
    if s.len() < 4 {
        return false;
    }
    let lower = s.to_lowercase();
    let mut parts = lower.split('t');
    let (Some(date), Some(time)) = (parts.next(), parts.next()) else {
        return false;
    };
    if !is_date(date) {
        return false;
    }
    let b = time.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return false;
    }
    let (Some(h), Some(m), Some(sec)) = (
        time.get(0..2).and_then(digits),
        time.get(3..5).and_then(digits),
        time.get(6..8).and_then(digits),
    ) else {
        return false;
    };
    if h > 23 || m > 59 || sec > 59 {
        return false;
    }
    let rest = &time[8..];
    if is_zone(rest) {
        return true;
    }
    // `(.[0-9]+)?`: any one character, then digits, then the zone.
    let mut chars = rest.chars();
    match chars.next() {
        Some(c) if c != '\n' => {}
        _ => return false,
    }
    let after = chars.as_str();
    let zone_at = after
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(after.len());
    zone_at > 0 && is_zone(&after[zone_at..])
}

fn is_zone(s: &str) -> bool {
    if s == "z" {
        return true;
    }
    let b = s.as_bytes();
    b.len() == 6
        && (b[0] == b'+' || b[0] == b'-')
        && b[3] == b':'
        && [1, 2, 4, 5].iter().all(|&i| b[i].is_ascii_digit())
}

/// Standard base64 with padding, non-empty (govalidator's `IsBase64`).
pub(crate) fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !b.len().is_multiple_of(4) {
        return false;
    }
    let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
    if pad > 2 {
        return false;
    }
    b[..b.len() - pad]
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

/// `[0-9a-f]{8}-?[0-9a-f]{4}-?V[0-9a-f]{3}-?[89ab]?[0-9a-f]{3}-?[0-9a-f]{12}`,
/// any case, where V is the version digit for uuid3/4/5.
pub(crate) fn is_uuid(s: &str, version: Option<char>) -> bool {
    let lower = s.to_ascii_lowercase();
    let mut rest = lower.as_str();
    for (i, len) in [8usize, 4, 4, 4, 12].into_iter().enumerate() {
        let Some(group) = rest.get(..len) else {
            return false;
        };
        if !group.bytes().all(|b| b.is_ascii_hexdigit()) {
            return false;
        }
        if let Some(v) = version {
            if i == 2 && !group.starts_with(v) {
                return false;
            }
            if i == 3 && v != '3' && !group.starts_with(['8', '9', 'a', 'b']) {
                return false;
            }
        }
        rest = &rest[len..];
        if i < 4 {
            rest = rest.strip_prefix('-').unwrap_or(rest);
        }
    }
    rest.is_empty()
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, prefix)) = s.split_once('/') else {
        return false;
    };
    let Some(prefix) = digits(prefix) else {
        return false;
    };
    if let Ok(_v4) = ip.parse::<Ipv4Addr>() {
        prefix <= 32
    } else if let Ok(_v6) = ip.parse::<Ipv6Addr>() {
        prefix <= 128
    } else {
        false
    }
}

/// Go's `net.ParseMAC`: 6, 8 or 20 octets separated by `:` or `-`, or groups
/// of four hex digits separated by `.`.
pub(crate) fn is_mac(s: &str) -> bool {
    let hex = |g: &str, n: usize| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit());
    let octets_ok = |n: usize| matches!(n, 6 | 8 | 20);
    for sep in [':', '-'] {
        if s.contains(sep) {
            let groups: Vec<&str> = s.split(sep).collect();
            return octets_ok(groups.len()) && groups.iter().all(|g| hex(g, 2));
        }
    }
    let groups: Vec<&str> = s.split('.').collect();
    octets_ok(groups.len() * 2) && groups.iter().all(|g| hex(g, 4))
}

static HOSTNAME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z0-9\p{S}\p{L}])(-?[a-zA-Z0-9\p{S}\p{L}]){1,62})$",
    )
    .ok()
});

pub(crate) fn is_hostname(s: &str) -> bool {
    let Some(re) = HOSTNAME.as_ref() else {
        return true;
    };
    re.is_match(s) && s.len() <= 255 && s.split('.').all(|p| p.len() <= 63)
}

pub(crate) fn is_hex_color(s: &str) -> bool {
    let h = s.strip_prefix('#').unwrap_or(s);
    matches!(h.len(), 3 | 6) && h.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn is_ssn(s: &str) -> bool {
    let b = s.as_bytes();
    let d = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
    let sep = |c: u8| c == b'-' || c == b' ';
    match b.len() {
        9 => d(b),
        10 => (sep(b[3]) && d(&b[..3]) && d(&b[4..])) || (sep(b[5]) && d(&b[..5]) && d(&b[6..])),
        11 => sep(b[3]) && sep(b[6]) && d(&b[..3]) && d(&b[4..6]) && d(&b[7..]),
        _ => false,
    }
}

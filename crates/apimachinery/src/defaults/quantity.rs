//! Resource quantities (`100m`, `1Gi`, `2e3`) as exact numbers, enough to
//! add and compare them for a Pod's QoS class. Never panics: text that is
//! not a quantity parses to `None`.

/// A quantity in billionths of its unit (`1` → 1_000_000_000, `1m` →
/// 1_000_000), exact for every suffix Kubernetes accepts.
pub(super) fn parse_nanos(text: &str) -> Option<i128> {
    let text = text.trim();
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let number_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return None;
    }
    let mut digits: i128 = 0;
    for b in whole.bytes().chain(fraction.bytes()) {
        digits = digits.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    // value = digits * 10^(exp10 - fraction digits) * 2^exp2, in nanos.
    let (exp10, exp2): (i32, u32) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        s if s.starts_with(['e', 'E']) => (s[1..].parse().ok()?, 0),
        _ => return None,
    };
    let scale = exp10
        .checked_add(9)?
        .checked_sub(i32::try_from(fraction.len()).ok()?)?;
    let mut value = digits.checked_mul(1i128.checked_shl(exp2)?)?;
    if scale >= 0 {
        value = value.checked_mul(10i128.checked_pow(u32::try_from(scale).ok()?)?)?;
    } else {
        // Below a nano: Kubernetes rounds up.
        let divisor = 10i128.checked_pow(scale.unsigned_abs())?;
        value = value.checked_add(divisor - 1)? / divisor;
    }
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::parse_nanos;

    #[test]
    fn quantities_parse_exactly() {
        let g = 1_000_000_000i128;
        for (text, want) in [
            ("1e2147483647", None),
            ("0.0000000001e-2147483648", None),
            ("1", Some(g)),
            ("1000m", Some(g)),
            ("100m", Some(g / 10)),
            ("0.5", Some(g / 2)),
            ("1Ki", Some(1024 * g)),
            ("1Gi", Some((1 << 30) * g)),
            ("2e3", Some(2000 * g)),
            ("1k", Some(1000 * g)),
            ("-1", Some(-g)),
            ("", None),
            ("x", None),
            ("1Zi", None),
            ("1n", Some(1)),
            ("1.2.3", None),
            ("1.", Some(g)),
            (".5", Some(g / 2)),
            ("-", None),
            ("1e", None),
            ("99999999999999999999999999999999999999999", None),
        ] {
            assert_eq!(parse_nanos(text), want, "{text}");
        }
    }
}

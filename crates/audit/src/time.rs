//! Calendar arithmetic for the two timestamp spellings audit logging needs:
//! RFC 3339 with microseconds (`2026-12-03T08:01:02.123456Z`, Go's
//! `metav1.MicroTime`) for events, and lumberjack's
//! `2026-12-03T08-01-02.123` for rotated file names.
//!
//! Pure functions of a `SystemTime`; never reads the clock, never panics
//! (instants before 1970 are handled, not rejected).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECONDS_PER_DAY: i64 = 86_400;

/// A broken-down UTC instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
    pub(crate) nanos: u32,
}

/// Seconds and nanoseconds since the Unix epoch, with the seconds floored so
/// that the nanoseconds are always in `0..1e9`, also before 1970.
fn epoch_parts(t: SystemTime) -> (i64, u32) {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (saturating_secs(d), d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            let secs = saturating_secs(d);
            match d.subsec_nanos() {
                0 => (-secs, 0),
                n => (-secs - 1, 1_000_000_000 - n),
            }
        }
    }
}

fn saturating_secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
///
/// The usual era-based algorithm: shift the year to start in March so the
/// leap day is the last day of the year, then split into 400-year eras.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both are in range by construction of the arithmetic above.
    (year, month as u32, day as u32)
}

/// The inverse of [`civil_from_days`].
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400); // [0, 399]
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 }; // [0, 11]
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// Breaks `t` down into UTC calendar fields.
pub(crate) fn civil(t: SystemTime) -> Civil {
    let (secs, nanos) = epoch_parts(t);
    let days = secs.div_euclid(SECONDS_PER_DAY);
    let rem = secs.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        // `rem` is in [0, 86399], so these fit.
        hour: (rem / 3_600) as u32,
        minute: (rem % 3_600 / 60) as u32,
        second: (rem % 60) as u32,
        nanos,
    }
}

/// The instant for UTC calendar fields; `None` when it is not representable.
pub(crate) fn from_civil(c: Civil) -> Option<SystemTime> {
    let days = days_from_civil(c.year, c.month, c.day);
    let secs = days
        .checked_mul(SECONDS_PER_DAY)?
        .checked_add(i64::from(c.hour) * 3_600 + i64::from(c.minute) * 60 + i64::from(c.second))?;
    let whole = Duration::from_secs(secs.unsigned_abs());
    let t = if secs >= 0 {
        UNIX_EPOCH.checked_add(whole)?
    } else {
        UNIX_EPOCH.checked_sub(whole)?
    };
    t.checked_add(Duration::from_nanos(u64::from(c.nanos)))
}

/// RFC 3339 in UTC with exactly six fractional digits, as Go's
/// `metav1.MicroTime` marshals: `2026-12-03T08:01:02.123456Z`.
pub fn rfc3339_micros(t: SystemTime) -> String {
    let c = civil(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        c.nanos / 1_000
    )
}

/// Lumberjack's backup timestamp (Go layout `2006-01-02T15-04-05.000`, UTC):
/// colons would be awkward in file names, so it uses dashes.
pub(crate) fn backup_stamp(t: SystemTime) -> String {
    let c = civil(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}-{:02}-{:02}.{:03}",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        c.nanos / 1_000_000
    )
}

/// Parses a [`backup_stamp`] back into an instant; `None` for anything else,
/// so foreign files that merely share the log's prefix are left alone.
pub(crate) fn parse_backup_stamp(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 23 {
        return None;
    }
    let separators = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b'-'),
        (16, b'-'),
        (19, b'.'),
    ];
    if separators.iter().any(|&(i, c)| b[i] != c) {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        let part = s.get(from..to)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let c = Civil {
        year: i64::from(num(0, 4)?),
        month: num(5, 7)?,
        day: num(8, 10)?,
        hour: num(11, 13)?,
        minute: num(14, 16)?,
        second: num(17, 19)?,
        nanos: num(20, 23)? * 1_000_000,
    };
    let valid = (1..=12).contains(&c.month)
        && (1..=31).contains(&c.day)
        && c.hour < 24
        && c.minute < 60
        && c.second < 60;
    if !valid {
        return None;
    }
    let t = from_civil(c)?;
    // Reject dates such as February 30th that arithmetic would roll over.
    (civil(t) == c).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    #[test]
    fn epoch_is_formatted_with_six_fraction_digits() {
        assert_eq!(rfc3339_micros(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn known_instants() {
        // 2021-09-13T10:00:06.493243Z
        assert_eq!(
            rfc3339_micros(at(1_631_527_206, 493_243_999)),
            "2021-09-13T10:00:06.493243Z",
            "sub-microsecond digits are truncated, not rounded"
        );
        assert_eq!(
            rfc3339_micros(at(1_000_000_000, 0)),
            "2001-09-09T01:46:40.000000Z"
        );
        assert_eq!(
            rfc3339_micros(at(4_102_444_799, 999_999_000)),
            "2099-12-31T23:59:59.999999Z"
        );
    }

    #[test]
    fn leap_years() {
        // 2024-02-29T12:00:00Z: an ordinary leap year.
        assert_eq!(
            rfc3339_micros(at(1_709_208_000, 0)),
            "2024-02-29T12:00:00.000000Z"
        );
        // 2000-02-29: divisible by 400, so a leap year.
        assert_eq!(
            rfc3339_micros(at(951_782_400, 1_000)),
            "2000-02-29T00:00:00.000001Z"
        );
        // 2100-03-01: divisible by 100 but not 400, so no Feb 29 before it.
        assert_eq!(
            rfc3339_micros(at(4_107_542_400, 0)),
            "2100-03-01T00:00:00.000000Z"
        );
        // The day after 2023-02-28 is March 1st.
        assert_eq!(
            rfc3339_micros(at(1_677_628_800, 0)),
            "2023-03-01T00:00:00.000000Z"
        );
        // Last day of a leap year is day 366.
        assert_eq!(
            rfc3339_micros(at(1_735_603_200, 0)),
            "2024-12-31T00:00:00.000000Z"
        );
    }

    #[test]
    fn before_the_epoch() {
        let t = UNIX_EPOCH - Duration::new(1, 500_000_000);
        assert_eq!(rfc3339_micros(t), "1969-12-31T23:59:58.500000Z");
    }

    #[test]
    fn days_round_trip_over_centuries() {
        for days in (-800_000..800_000).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn backup_stamp_round_trips() {
        let t = at(1_796_284_862, 123_456_789);
        let s = backup_stamp(t);
        assert_eq!(s, "2026-12-03T08-01-02.123");
        assert_eq!(parse_backup_stamp(&s), Some(at(1_796_284_862, 123_000_000)));
    }

    #[test]
    fn backup_stamp_rejects_other_text() {
        for bad in [
            "",
            "2026-12-03T08:01:02.123",
            "2026-02-30T08-01-02.123",
            "2026-13-03T08-01-02.123",
            "2026-12-03T08-01-02.12x",
            "+026-12-03T08-01-02.123",
        ] {
            assert_eq!(parse_backup_stamp(bad), None, "{bad}");
        }
    }
}

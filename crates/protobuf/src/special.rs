//! The few apimachinery types whose JSON form upstream writes by hand
//! (metav1.Time, MicroTime, Duration, intstr.IntOrString,
//! resource.Quantity, runtime.RawExtension and metav1.FieldsV1), decoded from
//! their protobuf messages into the JSON those hand-written encoders
//! produce. Pure functions of the bytes; nothing here may panic on any input.

use base64::Engine as _;
use serde_json::Value;

use crate::envelope::MAGIC;
use crate::error::ProtobufError;
use crate::schema::Special;
use crate::wire::{Reader, Wire};

/// JSON for a special message made of `chunks` (singular message fields sent
/// more than once merge, so all their payloads count). `None` stands for
/// Go's `null` (a zero Time, an unset RawExtension), which is left out.
/// `embedded` decodes a protobuf object that a RawExtension embeds, one
/// level deeper (the decoder's own entry point).
pub(crate) fn decode(
    special: Special,
    chunks: &[&[u8]],
    depth: usize,
    embedded: fn(&[u8], usize) -> Result<Value, ProtobufError>,
) -> Result<Option<Value>, ProtobufError> {
    let fields = Fields::read(chunks)?;
    Ok(match special {
        Special::Time => {
            // Upstream keeps only whole seconds of a protobuf Time, and an
            // empty message is the zero Time, which JSON shows as null.
            if fields.is_empty() {
                return Ok(None);
            }
            Some(Value::String(rfc3339(fields.int(1)?, None)?))
        }
        Special::MicroTime => {
            if fields.is_empty() {
                return Ok(None);
            }
            let nanos = i64::from(fields.int(2)? as i32);
            let seconds = fields
                .int(1)?
                .checked_add(nanos.div_euclid(1_000_000_000))
                .ok_or_else(|| ProtobufError::malformed("MicroTime out of range"))?;
            let micros = nanos.rem_euclid(1_000_000_000) / 1_000;
            Some(Value::String(rfc3339(seconds, Some(micros))?))
        }
        Special::Duration => Some(Value::String(go_duration(fields.int(1)?))),
        Special::IntOrString => match fields.int(1)? {
            0 => Some(Value::from(fields.int(2)? as i32)),
            1 => Some(Value::String(fields.string(3)?.unwrap_or_default())),
            other => {
                return Err(ProtobufError::malformed(format!(
                    "IntOrString of unknown type {other}"
                )));
            }
        },
        Special::Quantity => match fields.string(1)? {
            None => Some(Value::String("0".to_owned())),
            Some(s) if s.is_empty() => return Err(ProtobufError::malformed("empty Quantity")),
            Some(s) => Some(Value::String(s)),
        },
        Special::RawJson => match fields.bytes(1)? {
            None | Some([]) => None,
            Some(raw) if raw.starts_with(MAGIC) => Some(embedded(raw, depth + 1)?),
            Some(raw) => Some(serde_json::from_slice(raw).map_err(|e| {
                ProtobufError::malformed(format!("embedded object is not JSON: {e}"))
            })?),
        },
    })
}

/// The last occurrence of each field number (protobuf's rule for singular
/// fields) of a small special message.
struct Fields<'a>(Vec<(u32, Wire<'a>)>);

impl<'a> Fields<'a> {
    fn read(chunks: &[&'a [u8]]) -> Result<Self, ProtobufError> {
        let mut all = Vec::new();
        for chunk in chunks {
            let mut reader = Reader::new(chunk);
            while let Some(field) = reader.next_field()? {
                all.push(field);
            }
        }
        Ok(Self(all))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn last(&self, number: u32) -> Option<Wire<'a>> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| *n == number)
            .map(|(_, w)| *w)
    }

    fn int(&self, number: u32) -> Result<i64, ProtobufError> {
        match self.last(number) {
            None => Ok(0),
            Some(Wire::Varint(v)) => Ok(v as i64),
            Some(other) => Err(wrong_wire("varint", other)),
        }
    }

    fn bytes(&self, number: u32) -> Result<Option<&'a [u8]>, ProtobufError> {
        match self.last(number) {
            None => Ok(None),
            Some(Wire::Len(b)) => Ok(Some(b)),
            Some(other) => Err(wrong_wire("length-delimited", other)),
        }
    }

    fn string(&self, number: u32) -> Result<Option<String>, ProtobufError> {
        Ok(self
            .bytes(number)?
            .map(|b| String::from_utf8_lossy(b).into_owned()))
    }
}

pub(crate) fn wrong_wire(expected: &str, got: Wire<'_>) -> ProtobufError {
    ProtobufError::malformed(format!("expected {expected}, got {}", got.type_name()))
}

/// Base64 with padding, as Go's encoding/json writes `[]byte`.
pub(crate) fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `2006-01-02T15:04:05Z`, or with `.000000` microseconds, in UTC.
fn rfc3339(seconds: i64, micros: Option<i64>) -> Result<String, ProtobufError> {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return Err(ProtobufError::malformed(format!(
            "time {seconds}s since 1970 is outside years 0-9999"
        )));
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    Ok(match micros {
        None => format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z"),
        Some(us) => format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{us:06}Z"),
    })
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01,
/// by the usual era arithmetic (400-year eras of 146097 days, years starting
/// in March so that the leap day comes last).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Go's `time.Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_owned();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let u = nanos.unsigned_abs();
    let body = if u < 1_000_000_000 {
        let (prec, unit) = match u {
            0..1_000 => (0, "ns"),
            1_000..1_000_000 => (3, "µs"),
            _ => (6, "ms"),
        };
        let scale = 10u64.pow(prec);
        format!("{}{}{unit}", u / scale, fraction(u % scale, prec))
    } else {
        let secs = u / 1_000_000_000;
        let frac = fraction(u % 1_000_000_000, 9);
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        if h > 0 {
            format!("{h}h{m}m{s}{frac}s")
        } else if m > 0 {
            format!("{m}m{s}{frac}s")
        } else {
            format!("{s}{frac}s")
        }
    };
    format!("{sign}{body}")
}

/// `.5` for (500, 3); empty when the fraction is zero.
fn fraction(value: u64, digits: u32) -> String {
    if digits == 0 {
        return String::new();
    }
    let text = format!("{value:0width$}", width = digits as usize);
    let text = text.trim_end_matches('0');
    if text.is_empty() {
        String::new()
    } else {
        format!(".{text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_like_go() {
        for (seconds, want) in [
            (0, "1970-01-01T00:00:00Z"),
            (-1, "1969-12-31T23:59:59Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_700_000_000, "2023-11-14T22:13:20Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
            (-62_135_596_800, "0001-01-01T00:00:00Z"),
        ] {
            assert_eq!(rfc3339(seconds, None).unwrap(), want);
        }
        assert_eq!(
            rfc3339(1_700_000_000, Some(1_500)).unwrap(),
            "2023-11-14T22:13:20.001500Z"
        );
        assert!(rfc3339(253_402_300_800, None).is_err());
        assert!(rfc3339(i64::MIN, None).is_err());
    }

    #[test]
    fn formats_durations_like_go() {
        for (nanos, want) in [
            (0, "0s"),
            (1, "1ns"),
            (1_500, "1.5µs"),
            (1_500_000, "1.5ms"),
            (1_000_000_000, "1s"),
            (1_500_000_000, "1.5s"),
            (90_000_000_000, "1m30s"),
            (3_600_000_000_000, "1h0m0s"),
            (-3_723_000_000_000, "-1h2m3s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ] {
            assert_eq!(go_duration(nanos), want);
        }
    }
}

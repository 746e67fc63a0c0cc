//! Duration flags as kube-apiserver takes them (`300ms`, `30s`, `5m`, `1h`,
//! `0`), for `serve`'s flags and `cluster`'s.

use std::time::Duration;

/// Go-style durations as kube-apiserver flags take them: `300ms`, `30s`, `5m`, `1h`, `0`.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("invalid duration {s:?}"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => {
            return Err(format!(
                "invalid duration {s:?}: unit must be ms, s, m or h"
            ));
        }
    };
    Ok(Duration::from_secs_f64(secs))
}

/// A duration flag: parsed by [`parse_duration`], shown in the largest
/// whole unit (`1h`, `5m`, `15s`, `500ms`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct GoDuration(pub(crate) Duration);

impl std::str::FromStr for GoDuration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_duration(s).map(Self)
    }
}

impl std::fmt::Display for GoDuration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (secs, nanos) = (self.0.as_secs(), self.0.subsec_nanos());
        match (secs, nanos) {
            (0, 0) => write!(f, "0"),
            (_, 0) if secs % 3600 == 0 => write!(f, "{}h", secs / 3600),
            (_, 0) if secs % 60 == 0 => write!(f, "{}m", secs / 60),
            (_, 0) => write!(f, "{secs}s"),
            _ => write!(f, "{}ms", self.0.as_millis()),
        }
    }
}

//! How the probe judges an answer, and the answers worth a look.

use serde::Serialize;

/// How an answer was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    #[serde(rename = "ok")]
    Ok,
    /// 404 for a resource no live server serves, as it should be.
    #[serde(rename = "expected_404")]
    Expected404,
    /// 404 for something that exists somewhere in the cluster.
    #[serde(rename = "false_404")]
    False404,
    /// 503 or 504 while the only servers of the resource were down or hung.
    #[serde(rename = "expected_5xx")]
    Expected5xx,
    #[serde(rename = "unexpected_5xx")]
    Unexpected5xx,
    /// Any other failure: another 4xx, or no answer from a live server.
    #[serde(rename = "error")]
    Error,
}

impl Verdict {
    /// As the report prints it.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Expected404 => "expected 404",
            Verdict::False404 => "FALSE 404",
            Verdict::Expected5xx => "expected 5xx",
            Verdict::Unexpected5xx => "UNEXPECTED 5XX",
            Verdict::Error => "ERROR",
        }
    }
}

/// One answer worth a look.
#[derive(Debug, Clone, Serialize)]
pub struct Incident {
    /// Seconds since the probe started.
    pub at: f64,
    pub phase: String,
    pub server: String,
    pub method: String,
    pub path: String,
    pub status: Option<u16>,
    pub verdict: Verdict,
    pub detail: String,
}

/// The verdict on an answer. `served`: some live server served the
/// resource for the whole request. The probe only asks for objects it knows
/// exist, so for a served resource every 404 is false.
pub(super) fn judge(status: u16, served: bool) -> Verdict {
    match status {
        200..=299 => Verdict::Ok,
        404 if served => Verdict::False404,
        404 => Verdict::Expected404,
        // The resource's only servers are down or hung: 503 (nobody
        // reachable) or 504 (a hung server took the hop) is honest.
        503 | 504 if !served => Verdict::Expected5xx,
        500..=599 => Verdict::Unexpected5xx,
        _ => Verdict::Error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        // Served somewhere: a 404 is a lie.
        assert_eq!(judge(404, true), Verdict::False404);
        // Served nowhere that is up: the truth.
        assert_eq!(judge(404, false), Verdict::Expected404);
        assert_eq!(judge(503, false), Verdict::Expected5xx);
        assert_eq!(judge(503, true), Verdict::Unexpected5xx);
        assert_eq!(judge(500, false), Verdict::Unexpected5xx);
        assert_eq!(judge(409, true), Verdict::Error);
        assert_eq!(judge(201, true), Verdict::Ok);
    }
}

//! Kubernetes release numbers (and the emulated one), the maturity of a
//! group/version, and upstream's kube-aware ordering of version strings.

use std::cmp::Ordering;
use std::fmt;

use serde::Deserialize;

// ---------------------------------------------------------------------------
// Versions
// ---------------------------------------------------------------------------

/// A Kubernetes `major.minor` release, such as `1.36`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubeVersion {
    /// Major version (1).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
}

impl KubeVersion {
    /// The release `major.minor`.
    pub(crate) const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }

    /// Parses `"1.36"`; anything else is `None`.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let (major, minor) = s.split_once('.')?;
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(major) || !digits(minor) {
            return None;
        }
        Some(Self::new(major.parse().ok()?, minor.parse().ok()?))
    }
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The release whose built-in APIs a server serves (`--emulated-version`);
/// always one the catalog describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EmulatedVersion(pub(crate) KubeVersion);

impl fmt::Display for EmulatedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Stability level of a group/version, read from its version string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum Maturity {
    /// Generally available (`v1`, `v2`): served by default.
    #[serde(rename = "GA")]
    Ga,
    /// Beta (`v1beta1`): off by default since Kubernetes 1.24 (KEP-3136).
    #[serde(rename = "beta")]
    Beta,
    /// Alpha (`v1alpha1`): off by default.
    #[serde(rename = "alpha")]
    Alpha,
}

impl Maturity {
    /// The maturity a version string names (`v1beta1` → beta); versions
    /// that are not Kubernetes-style (custom resources may use any) count
    /// as GA.
    pub fn of_version(version: &str) -> Self {
        if version.contains("alpha") {
            Self::Alpha
        } else if version.contains("beta") {
            Self::Beta
        } else {
            Self::Ga
        }
    }

    /// Whether upstream serves a group/version of this maturity by default.
    pub(crate) fn enabled_by_default(self) -> bool {
        self == Self::Ga
    }
}

impl fmt::Display for Maturity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ga => "GA",
            Self::Beta => "beta",
            Self::Alpha => "alpha",
        })
    }
}

/// `vN`, `vNbetaM` or `vNalphaM` as (stability rank, major, minor); GA ranks
/// highest.
pub(crate) fn parse_kube_aware(version: &str) -> Option<(u8, u64, u64)> {
    let rest = version.strip_prefix('v')?;
    let split = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (major, rest) = rest.split_at(split);
    let major = major.parse().ok()?;
    if rest.is_empty() {
        return Some((2, major, 0));
    }
    let (rank, minor) = if let Some(m) = rest.strip_prefix("beta") {
        (1, m)
    } else {
        (0, rest.strip_prefix("alpha")?)
    };
    if minor.is_empty() || !minor.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((rank, major, minor.parse().ok()?))
}

/// Kubernetes' version priority: `Greater` when `a` comes before `b` in
/// discovery. GA beats beta beats alpha, then the higher major, then the
/// higher beta/alpha number (`v2 > v1 > v1beta2 > v1beta1 > v1alpha1`);
/// strings of another shape come last, in lexical order.
pub(crate) fn compare_kube_aware_versions(a: &str, b: &str) -> Ordering {
    match (parse_kube_aware(a), parse_kube_aware(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => b.cmp(a),
    }
}

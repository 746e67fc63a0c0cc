//! The releases a server can emulate (`--emulated-version`): those the
//! catalog data describes.

use std::str::FromStr;

use super::data::DATA;
use super::error::CatalogError;
use super::version::{EmulatedVersion, KubeVersion};

impl EmulatedVersion {
    /// Parses `"1.35"`, `"1.36"`, ...; the error lists the supported ones.
    pub fn parse(s: &str) -> Result<Self, CatalogError> {
        let wanted = KubeVersion::parse(s.trim());
        DATA.supported
            .iter()
            .copied()
            .find(|v| Some(v.0) == wanted)
            .ok_or_else(|| CatalogError::UnsupportedEmulatedVersion {
                given: s.to_owned(),
                supported: DATA.supported.iter().map(ToString::to_string).collect(),
            })
    }

    /// Every supported release, oldest first.
    pub fn supported() -> &'static [EmulatedVersion] {
        &DATA.supported
    }

    /// The newest supported release.
    pub fn latest() -> Self {
        DATA.supported.iter().copied().max().unwrap_or(DATA.default)
    }

    /// The release as `major.minor`.
    pub fn version(self) -> KubeVersion {
        self.0
    }
}

impl Default for EmulatedVersion {
    /// The default `--emulated-version` (1.36).
    fn default() -> Self {
        DATA.default
    }
}

impl FromStr for EmulatedVersion {
    type Err = CatalogError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

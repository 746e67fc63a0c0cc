//! `--runtime-config`: enabling and disabling group/versions and resources.

use std::collections::BTreeMap;
use std::str::FromStr;

use super::data::DATA;
use super::error::CatalogError;
use super::version::Maturity;

// ---------------------------------------------------------------------------
// --runtime-config
// ---------------------------------------------------------------------------

/// kube-apiserver's `--runtime-config`: which group/versions to serve beyond
/// (or instead of) the defaults.
///
/// Entries are comma-separated `key=value` pairs; a bare key means `true`,
/// and values are Go booleans (`true`, `false`, `1`, `0`, `t`, `f`, ...).
/// Keys are `api/all`, `api/ga`, `api/beta`, `api/alpha`,
/// `<group>/<version>`, and `v1` or `api/v1` for the core group. As upstream,
/// precedence goes by specificity, not position: the defaults (GA on, beta
/// and alpha off), then `api/all`, then `api/ga`, `api/beta`, `api/alpha`,
/// then individual group/versions; a key given twice keeps its last value.
/// So `api/all=false,v1=true` serves only core.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeConfig {
    pub(crate) all: Option<bool>,
    pub(crate) ga: Option<bool>,
    pub(crate) beta: Option<bool>,
    pub(crate) alpha: Option<bool>,
    pub(crate) group_versions: BTreeMap<(String, String), bool>,
}

impl RuntimeConfig {
    /// Parses a `--runtime-config` value. An empty string gives the defaults.
    /// Group/versions that no supported release knows are an error naming
    /// them; resource-level keys (`group/version/resource`) are refused.
    pub fn parse(s: &str) -> Result<Self, CatalogError> {
        let mut config = Self::default();
        for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let invalid = |reason: &str| CatalogError::InvalidRuntimeConfig {
                entry: entry.to_owned(),
                reason: reason.to_owned(),
            };
            let (key, value) = match entry.split_once('=') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => (entry, ""),
            };
            let enabled =
                parse_go_bool(value).ok_or_else(|| invalid("value must be true or false"))?;
            match key {
                "api/all" => config.all = Some(enabled),
                "api/ga" => config.ga = Some(enabled),
                "api/beta" => config.beta = Some(enabled),
                "api/alpha" => config.alpha = Some(enabled),
                "" => return Err(invalid("missing group/version")),
                _ => {
                    let (group, version) = match key.split('/').collect::<Vec<_>>()[..] {
                        [version] | ["api", version] => ("", version),
                        [group, version] if !group.is_empty() => (group, version),
                        [_, _, _] => {
                            return Err(invalid(
                                "resource-level entries (group/version/resource) are not supported",
                            ));
                        }
                        _ => return Err(invalid("expected <group>/<version>")),
                    };
                    if !DATA.knows(group, version) {
                        return Err(CatalogError::UnknownGroupVersion {
                            group_version: key.to_owned(),
                        });
                    }
                    config
                        .group_versions
                        .insert((group.to_owned(), version.to_owned()), enabled);
                }
            }
        }
        Ok(config)
    }

    /// Whether `group/version` of the given maturity is enabled.
    pub(crate) fn is_enabled(&self, group: &str, version: &str, maturity: Maturity) -> bool {
        let mut enabled = maturity.enabled_by_default();
        if let Some(all) = self.all {
            enabled = all;
        }
        let by_maturity = match maturity {
            Maturity::Ga => self.ga,
            Maturity::Beta => self.beta,
            Maturity::Alpha => self.alpha,
        };
        if let Some(m) = by_maturity {
            enabled = m;
        }
        if let Some(&gv) = self
            .group_versions
            .get(&(group.to_owned(), version.to_owned()))
        {
            enabled = gv;
        }
        enabled
    }
}

impl FromStr for RuntimeConfig {
    type Err = CatalogError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Go's `strconv.ParseBool`, plus the empty string meaning `true` (a bare key).
fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "" | "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

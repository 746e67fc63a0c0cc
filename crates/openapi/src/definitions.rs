//! The schemas of built-in Kubernetes kinds, per release, as embedded data.
//!
//! `data/definitions.json.gz` (written by `scripts/gen-openapi.py`) holds
//! upstream's swagger 2.0 `definitions` for each embedded release: unique
//! schemas once, and per release a map from definition name
//! (`io.k8s.api.apps.v1.Deployment`) to schema. It is inflated and indexed
//! once, on first use; each schema is kept as its JSON text, deflated, and
//! parsed when first looked up (about 9 MiB parsed for every release, 2.3 MB
//! as text, 0.9 MB deflated, while a server's writes touch a few dozen
//! schemas). Lookups by name or by
//! group/version/kind fall back to the other releases (newest first) when a
//! release lacks a definition, so a catalog entry served by only one release
//! still finds its schema.
//!
//! This module must never do I/O or hard-code schemas: they are data. The
//! only panic is a corrupt embedded file, which the unit tests rule out.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{Read, Write};
use std::sync::{LazyLock, OnceLock};

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::Error;

const DATA_GZ: &[u8] = include_bytes!("../data/definitions.json.gz");

static DATA: LazyLock<Definitions> = LazyLock::new(|| {
    Definitions::load(DATA_GZ)
        .unwrap_or_else(|e| panic!("embedded data/definitions.json.gz is invalid: {e}"))
});

/// A Kubernetes `major.minor` release whose built-in schemas are embedded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Release {
    major: u32,
    minor: u32,
}

impl Release {
    /// Parses `1.36`, `v1.36` or `1.36.2` (the patch level is ignored) and
    /// checks that its schemas are embedded.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let unsupported = || Error::UnsupportedRelease {
            given: s.to_string(),
            supported: Self::supported().iter().map(Release::to_string).collect(),
        };
        let trimmed = s.strip_prefix('v').unwrap_or(s);
        let mut parts = trimmed.split('.');
        let major = parts.next().and_then(|p| p.parse::<u32>().ok());
        let minor = parts.next().and_then(|p| p.parse::<u32>().ok());
        let patch_ok = parts.next().is_none_or(|p| p.parse::<u32>().is_ok());
        match (major, minor, patch_ok, parts.next()) {
            (Some(major), Some(minor), true, None) => {
                let release = Release { major, minor };
                if DATA.releases.contains_key(&release) {
                    Ok(release)
                } else {
                    Err(unsupported())
                }
            }
            _ => Err(unsupported()),
        }
    }

    /// The newest embedded release.
    pub fn latest() -> Self {
        DATA.latest
    }

    /// Every embedded release, oldest first.
    pub fn supported() -> Vec<Release> {
        DATA.releases.keys().copied().collect()
    }

    /// The minor version number (`36` for 1.36).
    pub fn minor(self) -> u32 {
        self.minor
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A group/version/kind, as in `x-kubernetes-group-version-kind`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupVersionKind {
    /// API group, `""` for core.
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
}

impl GroupVersionKind {
    /// Builds a group/version/kind.
    pub fn new(group: &str, version: &str, kind: &str) -> Self {
        GroupVersionKind {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
        }
    }

    /// The extension object `{"group", "kind", "version"}`.
    pub(crate) fn to_extension(&self) -> Value {
        serde_json::json!({"group": self.group, "kind": self.kind, "version": self.version})
    }
}

/// The group/version/kinds a schema claims in `x-kubernetes-group-version-kind`.
pub(crate) fn claimed_gvks(schema: &Value) -> Vec<GroupVersionKind> {
    schema
        .get("x-kubernetes-group-version-kind")
        .map(gvks_in)
        .unwrap_or_default()
}

/// The entries of an `x-kubernetes-group-version-kind` list.
fn gvks_in(list: &Value) -> Vec<GroupVersionKind> {
    let Some(list) = list.as_array() else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|entry| {
            Some(GroupVersionKind::new(
                entry.get("group")?.as_str()?,
                entry.get("version")?.as_str()?,
                entry.get("kind")?.as_str()?,
            ))
        })
        .collect()
}

#[derive(Deserialize)]
struct RawData {
    releases: BTreeMap<String, BTreeMap<String, usize>>,
    schemas: Vec<Box<RawValue>>,
}

/// What indexing needs of a schema: its claimed kinds (the rest of the
/// text is skipped, not parsed).
#[derive(Deserialize)]
struct Claims {
    #[serde(rename = "x-kubernetes-group-version-kind", default)]
    gvks: Value,
}

struct ReleaseDefinitions {
    names: BTreeMap<String, usize>,
    by_gvk: HashMap<GroupVersionKind, String>,
}

/// One schema: its JSON text deflated on its own (40 % of the text's
/// size), parsed on the first cached lookup.
struct Schema {
    deflated: Box<[u8]>,
    parsed: OnceLock<Value>,
}

impl Schema {
    fn new(text: &str) -> Result<Self, String> {
        let mut out = DeflateEncoder::new(Vec::new(), Compression::fast());
        out.write_all(text.as_bytes())
            .map_err(|e| format!("deflate: {e}"))?;
        let deflated = out.finish().map_err(|e| format!("deflate: {e}"))?;
        Ok(Schema {
            deflated: deflated.into_boxed_slice(),
            parsed: OnceLock::new(),
        })
    }

    fn parse(&self) -> Value {
        // Deflated here from text checked to be JSON when the data loaded.
        let mut text = Vec::new();
        match DeflateDecoder::new(&self.deflated[..]).read_to_end(&mut text) {
            Ok(_) => serde_json::from_slice(&text).unwrap_or(Value::Null),
            Err(_) => Value::Null,
        }
    }

    fn cached(&self) -> &Value {
        self.parsed.get_or_init(|| self.parse())
    }

    fn fresh(&self) -> Cow<'_, Value> {
        match self.parsed.get() {
            Some(parsed) => Cow::Borrowed(parsed),
            None => Cow::Owned(self.parse()),
        }
    }
}

pub(crate) struct Definitions {
    schemas: Vec<Schema>,
    releases: BTreeMap<Release, ReleaseDefinitions>,
    latest: Release,
}

impl Definitions {
    pub(crate) fn get() -> &'static Definitions {
        &DATA
    }

    fn load(gz: &[u8]) -> Result<Definitions, String> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_string(&mut text)
            .map_err(|e| format!("inflate: {e}"))?;
        let raw: RawData = serde_json::from_str(&text).map_err(|e| format!("parse: {e}"))?;
        let mut releases = BTreeMap::new();
        for (release, names) in raw.releases {
            let parsed = parse_release_key(&release)?;
            let mut by_gvk: HashMap<GroupVersionKind, String> = HashMap::new();
            for (name, &index) in &names {
                let schema = raw
                    .schemas
                    .get(index)
                    .ok_or_else(|| format!("{release}: {name} points past the schema list"))?;
                let claims: Claims = serde_json::from_str(schema.get())
                    .map_err(|e| format!("{release}: {name}: {e}"))?;
                for gvk in gvks_in(&claims.gvks) {
                    // Meta types (DeleteOptions, WatchEvent) claim a kind per
                    // group; a real kind is claimed by exactly one name. Keep
                    // the first name in order so lookups are deterministic.
                    by_gvk.entry(gvk).or_insert_with(|| name.clone());
                }
            }
            releases.insert(parsed, ReleaseDefinitions { names, by_gvk });
        }
        let latest = *releases
            .keys()
            .next_back()
            .ok_or_else(|| "no releases".to_string())?;
        let schemas = raw
            .schemas
            .iter()
            .map(|text| Schema::new(text.get()))
            .collect::<Result<_, _>>()?;
        Ok(Definitions {
            schemas,
            releases,
            latest,
        })
    }

    /// Releases to search for `release`: itself first, then the others,
    /// newest first.
    fn search_order(&self, release: Release) -> impl Iterator<Item = &ReleaseDefinitions> {
        self.releases.get(&release).into_iter().chain(
            self.releases
                .iter()
                .rev()
                .filter(move |(r, _)| **r != release)
                .map(|(_, defs)| defs),
        )
    }

    fn find(&self, release: Release, name: &str) -> Option<&Schema> {
        self.search_order(release)
            .find_map(|defs| defs.names.get(name))
            .and_then(|&index| self.schemas.get(index))
    }

    /// The definition called `name` (swagger 2.0 form), parsed once and
    /// kept: for the lookups every write repeats (field validation).
    pub(crate) fn schema(&self, release: Release, name: &str) -> Option<&Value> {
        self.find(release, name).map(Schema::cached)
    }

    /// As [`Definitions::schema`], but parsed afresh unless already kept:
    /// for rendering whole documents, which touch every schema once.
    pub(crate) fn schema_uncached(&self, release: Release, name: &str) -> Option<Cow<'_, Value>> {
        self.find(release, name).map(Schema::fresh)
    }

    /// The name of the definition that claims `gvk`.
    pub(crate) fn name_for(&self, release: Release, gvk: &GroupVersionKind) -> Option<&str> {
        self.search_order(release)
            .find_map(|defs| defs.by_gvk.get(gvk))
            .map(String::as_str)
    }

    /// How many schemas have been parsed and kept.
    #[cfg(test)]
    fn parsed(&self) -> usize {
        self.schemas
            .iter()
            .filter(|s| s.parsed.get().is_some())
            .count()
    }

    /// Every definition name of `release` (without fallback).
    #[cfg(test)]
    pub(crate) fn names(&self, release: Release) -> Vec<&str> {
        self.releases
            .get(&release)
            .map(|defs| defs.names.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }
}

fn parse_release_key(key: &str) -> Result<Release, String> {
    let (major, minor) = key
        .split_once('.')
        .ok_or_else(|| format!("bad release key {key:?}"))?;
    Ok(Release {
        major: major
            .parse()
            .map_err(|_| format!("bad release key {key:?}"))?,
        minor: minor
            .parse()
            .map_err(|_| format!("bad release key {key:?}"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::refs_of;

    #[test]
    fn embedded_data_loads_and_every_ref_resolves_within_its_release() {
        let defs = Definitions::get();
        assert!(Release::supported().len() >= 2);
        for release in Release::supported() {
            let names = defs.names(release);
            assert!(
                names.len() > 700,
                "{release}: only {} definitions",
                names.len()
            );
            for name in names {
                let schema = defs.schema(release, name).unwrap();
                for target in refs_of(schema) {
                    assert!(
                        defs.releases[&release].names.contains_key(&target),
                        "{release}: {name} refers to missing {target}"
                    );
                }
            }
        }
    }

    #[test]
    fn schemas_are_parsed_when_looked_up_and_rendering_keeps_none() {
        let defs = Definitions::load(DATA_GZ).unwrap();
        assert_eq!(defs.parsed(), 0, "nothing parsed at load");
        let r136 = Release::parse("1.36").unwrap();
        let name = "io.k8s.api.core.v1.ConfigMap";
        let fresh = defs.schema_uncached(r136, name).unwrap().into_owned();
        assert_eq!(defs.parsed(), 0, "an uncached lookup keeps nothing");
        let cached = defs.schema(r136, name).unwrap();
        assert_eq!(defs.parsed(), 1);
        assert_eq!(*cached, fresh);
        assert_eq!(cached["properties"]["data"]["type"], "object");
        assert_eq!(
            claimed_gvks(cached),
            vec![GroupVersionKind::new("", "v1", "ConfigMap")]
        );
        assert!(matches!(
            defs.schema_uncached(r136, name),
            Some(Cow::Borrowed(_))
        ));
        assert!(defs.schema(r136, "io.k8s.api.core.v1.NoSuchKind").is_none());
        assert_eq!(defs.parsed(), 1);
    }

    #[test]
    fn release_parse_accepts_upstream_spellings_and_rejects_others() {
        let latest = Release::latest();
        for s in [
            latest.to_string(),
            format!("v{latest}"),
            format!("{latest}.3"),
        ] {
            assert_eq!(Release::parse(&s).unwrap(), latest, "{s}");
        }
        for s in ["", "1", "1.x", "1.2.3.4", "2.36", "1.99", "v"] {
            let err = Release::parse(s).unwrap_err();
            assert!(matches!(err, Error::UnsupportedRelease { .. }), "{s}");
        }
        assert!(Release::parse("1.35").is_ok());
        assert!(Release::parse("1.36").is_ok());
        assert_eq!(Release::parse("1.36").unwrap().minor(), 36);
    }

    #[test]
    fn kinds_are_found_by_group_version_kind_with_fallback() {
        let defs = Definitions::get();
        let r136 = Release::parse("1.36").unwrap();
        let r135 = Release::parse("1.35").unwrap();
        let deploy = GroupVersionKind::new("apps", "v1", "Deployment");
        assert_eq!(
            defs.name_for(r136, &deploy),
            Some("io.k8s.api.apps.v1.Deployment")
        );
        // scheduling.k8s.io/v1alpha1 Workload is only in 1.35's data.
        let workload = GroupVersionKind::new("scheduling.k8s.io", "v1alpha1", "Workload");
        assert!(defs.releases[&r135].by_gvk.contains_key(&workload));
        assert!(!defs.releases[&r136].by_gvk.contains_key(&workload));
        assert!(defs.name_for(r136, &workload).is_some());
        assert!(
            defs.name_for(r136, &GroupVersionKind::new("", "v1", "NoSuchKind"))
                .is_none()
        );
    }

    #[test]
    fn releases_differ_where_upstream_changed() {
        // MutatingAdmissionPolicy went GA (admissionregistration.k8s.io/v1)
        // in 1.36: a 1.35 server must not publish it as v1.
        let defs = Definitions::get();
        let r135 = Release::parse("1.35").unwrap();
        let r136 = Release::parse("1.36").unwrap();
        let map = GroupVersionKind::new(
            "admissionregistration.k8s.io",
            "v1",
            "MutatingAdmissionPolicy",
        );
        assert!(!defs.releases[&r135].by_gvk.contains_key(&map));
        assert!(defs.releases[&r136].by_gvk.contains_key(&map));
    }
}

//! Writes the OpenAPI documents for the built-in catalog to a directory, or
//! reports the unknown fields of an object; used by
//! `tests/kubectl-openapi.sh` to serve real documents to a real kubectl.
//!
//! ```text
//! openapi-dump dump    CATALOG_JSON RELEASE OUT_DIR
//! openapi-dump unknown CATALOG_JSON RELEASE GROUP VERSION KIND < object.json
//! ```
//!
//! `dump` writes `v3/index.json`, `v3/<api__v1>.json` per group/version
//! (slashes as `__`, as upstream names its committed files) and `v2.json`.
//! `unknown` prints the JSON array of unknown field paths (`null` when the
//! kind has no schema).

use std::error::Error;
use std::fs;
use std::io::Read;
use std::path::Path;

use serde_json::Value;
use skewless_openapi::{GroupVersionKind, OpenApi, Release, ResourceRef, SubresourceRef};

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn minor(v: &Value, key: &str) -> Option<u32> {
    v.get(key)?.as_str()?.split('.').nth(1)?.parse().ok()
}

/// The catalog's resources served by `release` (every group/version on).
fn resources(catalog: &Path, release: Release) -> Result<Vec<ResourceRef>, Box<dyn Error>> {
    let catalog: Value = serde_json::from_str(&fs::read_to_string(catalog)?)?;
    let mut out = Vec::new();
    for r in catalog["resources"].as_array().into_iter().flatten() {
        if minor(r, "since").is_some_and(|s| release.minor() < s)
            || minor(r, "until").is_some_and(|u| release.minor() > u)
        {
            continue;
        }
        let subresources = r["subresources"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| SubresourceRef {
                name: text(s, "name"),
                group: text(s, "group"),
                version: text(s, "version"),
                kind: text(s, "kind"),
                verbs: strings(&s["verbs"]),
            })
            .collect();
        out.push(ResourceRef {
            group: text(r, "group"),
            version: text(r, "version"),
            kind: text(r, "kind"),
            plural: text(r, "resource"),
            namespaced: r["namespaced"].as_bool().unwrap_or(false),
            verbs: strings(&r["verbs"]),
            subresources,
        });
    }
    Ok(out)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [cmd, catalog, release, out] if cmd == "dump" => {
            let release = Release::parse(release)?;
            let openapi = OpenApi::new(release, &resources(Path::new(catalog), release)?);
            let out = Path::new(out);
            fs::create_dir_all(out.join("v3"))?;
            let spec = openapi.v3();
            fs::write(
                out.join("v3/index.json"),
                serde_json::to_vec(&spec.index())?,
            )?;
            for doc in spec.documents() {
                let file = format!("{}.json", doc.path().replace('/', "__"));
                fs::write(out.join("v3").join(file), doc.body())?;
            }
            fs::write(out.join("v2.json"), serde_json::to_vec(&openapi.v2())?)?;
            Ok(())
        }
        [cmd, catalog, release, group, version, kind] if cmd == "unknown" => {
            let release = Release::parse(release)?;
            let openapi = OpenApi::new(release, &resources(Path::new(catalog), release)?);
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input)?;
            let object: Value = serde_json::from_str(&input)?;
            let gvk = GroupVersionKind::new(group, version, kind);
            println!(
                "{}",
                serde_json::to_string(&openapi.unknown_fields(&gvk, &object))?
            );
            Ok(())
        }
        _ => Err("usage: openapi-dump dump CATALOG RELEASE OUT | unknown CATALOG RELEASE GROUP VERSION KIND".into()),
    }
}

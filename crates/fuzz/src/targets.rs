//! The fuzz targets: each takes raw bytes, calls one public parser or pure
//! engine the server relies on, and describes the outcome in a few words
//! (the mutator keeps inputs with new outcomes). None may panic or take
//! longer than the per-input bound, whatever the bytes.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use skewless_apimachinery::conversion::{MULTI_VERSION, api_version, convert};
use skewless_apimachinery::crd::read_review_response;
use skewless_apimachinery::discovery::APIGroupDiscoveryList;
use skewless_apimachinery::limits::{MAX_NESTING_DEPTH, check_nesting};
use skewless_apimachinery::patch::{
    PatchLimits, PatchType, apply_patch_with_limits, built_in_merge_keys,
};
use skewless_apimachinery::request_info::RequestInfo;
use skewless_apimachinery::selector::{FieldSelector, LabelSelector};

use crate::{Rng, Target};

/// A short, stable description of a result: `ok` or the error's first
/// words up to any quoted text, without digits, so the echoed input, sizes
/// and offsets do not make every error new.
fn outcome<T, E: std::fmt::Display>(r: &Result<T, E>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => e
            .to_string()
            .chars()
            .take_while(|c| !matches!(c, '"' | '\'' | '`'))
            .filter(|c| !c.is_ascii_digit())
            .take(48)
            .collect(),
    }
}

fn text(input: &[u8]) -> String {
    String::from_utf8_lossy(input).into_owned()
}

// ---------------------------------------------------------------------------
// request info: "METHOD\nPATH\nQUERY" (the query line optional)

pub const REQUEST_INFO: Target = Target {
    name: "request_info",
    dictionary: &[
        b"/api",
        b"/apis",
        b"/v1",
        b"/namespaces/",
        b"/status",
        b"/scale",
        b"/proxy",
        b"watch=true",
        b"watch=1",
        b"fieldSelector=metadata.name%3Dx",
        b"%2F",
        b"%00",
        b"..",
        b"//",
        b"/watch/",
        b"GET",
        b"POST",
        b"DELETE",
        b"PATCH",
        b"LIST",
        b"?",
        b"&",
        b"=",
    ],
    generate: None,
    run: |input| {
        let s = text(input);
        let mut lines = s.splitn(3, '\n');
        let method = lines.next().unwrap_or("");
        let path = lines.next().unwrap_or("");
        let query = lines.next();
        match RequestInfo::parse(method, path, query) {
            Ok(info) => {
                let _ = info.group_version_resource();
                format!(
                    "{} {} {} {}",
                    info.verb,
                    info.is_resource_request,
                    info.namespace.is_empty(),
                    info.subresource.is_empty()
                )
            }
            Err(e) => outcome::<(), _>(&Err(e)),
        }
    },
};

// ---------------------------------------------------------------------------
// selectors

fn sample_labels() -> BTreeMap<String, String> {
    [
        ("app", "web"),
        ("tier", "front"),
        ("env", ""),
        ("a.b/c", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

pub const LABEL_SELECTOR: Target = Target {
    name: "label_selector",
    dictionary: &[
        b" in ",
        b" notin ",
        b"(",
        b")",
        b",",
        b"!",
        b"=",
        b"==",
        b"!=",
        b">",
        b"<",
        b"app",
        b"a.b/c",
        b"example.com/",
        b" ",
        b"-",
        b"_",
        b".",
    ],
    generate: None,
    run: |input| {
        let r = LabelSelector::parse(&text(input));
        if let Ok(sel) = &r {
            let _ = sel.matches(&sample_labels());
            let _ = sel.is_empty();
        }
        outcome(&r)
    },
};

pub const FIELD_SELECTOR: Target = Target {
    name: "field_selector",
    dictionary: &[
        b"metadata.name",
        b"metadata.namespace",
        b"spec.nodeName",
        b"status.phase",
        b"=",
        b"==",
        b"!=",
        b",",
        b"\\",
        b"\\,",
        b"\\=",
        b" ",
    ],
    generate: None,
    run: |input| {
        let r = FieldSelector::parse(&text(input));
        if let Ok(sel) = &r {
            let object = json!({"metadata": {"name": "a", "namespace": "b"},
                "spec": {"nodeName": "n"}, "status": {"phase": "Running"}});
            let _ = sel.matches(&object);
        }
        outcome(&r)
    },
};

// ---------------------------------------------------------------------------
// patches: "TYPE\nBASE-OBJECT-JSON\n---\nPATCH" (TYPE json, merge, strategic
// or apply; a base that is not a JSON object becomes a small ConfigMap)

fn default_base() -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "x", "annotations": {"a": "b"}}, "data": {"k": "v"}})
}

pub const PATCH: Target = Target {
    name: "patch",
    dictionary: &[
        b"{\"op\":\"copy\",\"from\":\"/metadata\",\"path\":\"/spec/x\"}",
        b"{\"op\":\"add\",\"path\":\"/a/-\",\"value\":[1,2]}",
        b"{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b\"}",
        b"\"$patch\":\"replace\"",
        b"\"$patch\":\"delete\"",
        b"\"$retainKeys\":[]",
        b"\"$setElementOrder/containers\":[{\"name\":\"a\"}]",
        b"\"$deleteFromPrimitiveList/finalizers\":[\"a\"]",
        b"\"containers\":[{\"name\":\"a\",\"image\":\"i\"}]",
        b"~0",
        b"~1",
        b"/-",
        b"null",
        b"[]",
        b"{}",
        b"\"op\":\"remove\"",
        b"\"op\":\"test\"",
        b"\"op\":\"replace\"",
    ],
    generate: None,
    run: |input| {
        let s = text(input);
        let (kind_line, rest) = s.split_once('\n').unwrap_or((&s, ""));
        let (base, patch) = rest.split_once("\n---\n").unwrap_or(("", rest));
        let kind = match kind_line.trim() {
            "json" => PatchType::Json,
            "merge" => PatchType::Merge,
            "strategic" => PatchType::StrategicMerge,
            _ => PatchType::Apply,
        };
        let base = serde_json::from_str::<Value>(base)
            .ok()
            .filter(Value::is_object)
            .unwrap_or_else(default_base);
        let group = base["apiVersion"]
            .as_str()
            .and_then(|v| v.rsplit_once('/').map(|(g, _)| g.to_owned()))
            .unwrap_or_default();
        let kind_name = base["kind"].as_str().unwrap_or("ConfigMap").to_owned();
        let keys = built_in_merge_keys(&group, &kind_name);
        let limits = PatchLimits::with_max_bytes(256 * 1024);
        let r = apply_patch_with_limits(&base, patch.as_bytes(), kind, Some(keys), &limits);
        outcome(&r)
    },
};

// ---------------------------------------------------------------------------
// request bodies as the server decodes them: the nesting guard, then JSON
// and YAML

pub const BODY: Target = Target {
    name: "body",
    dictionary: &[
        b"[",
        b"{",
        b"]",
        b"}",
        b"&a ",
        b"*a",
        b"<<: ",
        b"- ",
        b": ",
        b"---\n",
        b"...\n",
        b"!!binary ",
        b"!!str ",
        b"|\n  ",
        b">-\n  ",
        b"? ",
        b"\"\\u0000\"",
        b"'",
        b"#",
        b"1e999",
        b"-0",
        b"~",
        b"\n  ",
        b"\t",
    ],
    generate: Some(|rng: &mut Rng| {
        // Many keys and block nesting: valid YAML that makes the parser work.
        let mut s = String::from("apiVersion: v1\nkind: ConfigMap\ndata:\n");
        let depth = rng.below(200);
        for d in 0..depth {
            s.push_str(&" ".repeat(d + 1));
            s.push_str("k:\n");
        }
        for i in 0..rng.below(500) {
            s.push_str(&format!("  key{i}: &a{i} [v, {{x: {i}}}]\n"));
        }
        s.into_bytes()
    }),
    run: |input| {
        if let Err(e) = check_nesting(input, MAX_NESTING_DEPTH) {
            return e;
        }
        let json = serde_json::from_slice::<Value>(input);
        let yaml = serde_norway::from_slice::<Value>(input);
        format!("{} / {}", outcome(&json), outcome(&yaml))
    },
};

// ---------------------------------------------------------------------------
// protobuf bodies

pub const PROTOBUF: Target = Target {
    name: "protobuf",
    dictionary: &[
        b"k8s\0",
        b"\n\x02v1",
        b"\x12\x09ConfigMap",
        b"\x08\x01",
        b"\x10\x80\x80\x80\x80\x10",
        b"\x1a\x00",
        b"\x22\x04gzip",
        b"\x0a\x7f",
        b"\xff\xff\xff\xff\x0f",
    ],
    generate: None,
    run: |input| outcome(&skewless_protobuf::decode(input)),
};

// ---------------------------------------------------------------------------
// the discovery merge: documents (aggregated discovery lists) separated by
// "\n---\n", the first the local server's, the others peers'

pub const DISCOVERY_MERGE: Target = Target {
    name: "discovery_merge",
    dictionary: &[
        b"\"apps\"",
        b"\"v1\"",
        b"\"v2beta1\"",
        b"\"Stale\"",
        b"\"Current\"",
        b"\"Cluster\"",
        b"\"Namespaced\"",
        b"\"subresources\":[]",
        b"\"verbs\":[\"get\"]",
        b"\n---\n",
        b"null",
    ],
    generate: Some(generate_discovery),
    run: |input| {
        let s = text(input);
        let mut docs = s.split("\n---\n").map(|d| {
            serde_json::from_str::<APIGroupDiscoveryList>(d)
                .map(|l| l.items)
                .ok()
        });
        let local = docs.next().flatten().unwrap_or_default();
        let peers: BTreeMap<String, Vec<_>> = docs
            .enumerate()
            .filter_map(|(i, d)| d.map(|d| (format!("peer-{i}"), d)))
            .collect();
        let merged = skewless_peerproxy::merge::merge_groups("local", &local, &peers);
        // Deterministic: the same inputs merge the same way.
        assert_eq!(
            merged,
            skewless_peerproxy::merge::merge_groups("local", &local, &peers),
            "the merge is not deterministic"
        );
        let _ = skewless_peerproxy::merge::gvrs(&merged);
        format!(
            "{} peers, {} groups",
            peers.len().min(4),
            merged.len().min(8)
        )
    },
};

/// Aggregated discovery documents from small name sets, so servers agree
/// and disagree on groups, versions, resources and their order.
fn generate_discovery(rng: &mut Rng) -> Vec<u8> {
    const GROUPS: &[&str] = &["", "apps", "batch", "example.com", "x.io"];
    const VERSIONS: &[&str] = &["v1", "v1beta1", "v2", "v1alpha1"];
    const RESOURCES: &[&str] = &["pods", "deployments", "widgets", "jobs", "leases"];
    let mut docs = Vec::new();
    for _ in 0..1 + rng.below(4) {
        let mut items = Vec::new();
        for _ in 0..rng.below(5) {
            let mut versions = Vec::new();
            for _ in 0..rng.below(4) {
                let mut resources = Vec::new();
                for _ in 0..rng.below(4) {
                    let resource = rng.pick(RESOURCES).copied().unwrap_or("pods");
                    let mut r = json!({
                        "resource": resource,
                        "responseKind": {"group": "", "version": "", "kind": "K"},
                        "scope": if rng.chance(2) { "Namespaced" } else { "Cluster" },
                        "verbs": ["get", "list"],
                    });
                    if rng.chance(3) {
                        r["subresources"] = json!([{"subresource": "status",
                            "responseKind": {"group": "", "version": "", "kind": "K"},
                            "verbs": ["get"]}]);
                    }
                    resources.push(r);
                }
                versions.push(json!({
                    "version": rng.pick(VERSIONS).copied().unwrap_or("v1"),
                    "resources": resources,
                    "freshness": if rng.chance(4) { "Stale" } else { "Current" },
                }));
            }
            items.push(json!({
                "metadata": {"name": rng.pick(GROUPS).copied().unwrap_or("")},
                "versions": versions,
            }));
        }
        docs.push(
            json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
                "metadata": {}, "items": items})
            .to_string(),
        );
    }
    docs.join("\n---\n").into_bytes()
}

// ---------------------------------------------------------------------------
// conversion: a JSON object converted between every pair of versions of
// every multi-version built-in, and read as a conversion webhook's answer

pub const CONVERSION: Target = Target {
    name: "conversion",
    dictionary: &[
        b"\"apiVersion\"",
        b"\"autoscaling/v1\"",
        b"\"autoscaling/v2\"",
        b"\"resource.k8s.io/v1beta1\"",
        b"\"metadata\"",
        b"\"annotations\"",
        b"\"autoscaling.alpha.kubernetes.io/metrics\"",
        b"\"autoscaling.alpha.kubernetes.io/current-metrics\"",
        b"\"spec\"",
        b"\"status\"",
        b"\"metrics\"",
        b"\"currentMetrics\"",
        b"\"resource\"",
        b"\"target\"",
        b"\"devices\"",
        b"\"requests\"",
        b"\"exactly\"",
        b"\"basic\"",
        b"\"podGroups\"",
        b"\"response\"",
        b"\"convertedObjects\"",
        b"null",
        b"[]",
        b"{}",
    ],
    generate: None,
    run: |input| {
        if check_nesting(input, MAX_NESTING_DEPTH).is_err() {
            return "too deep".into();
        }
        let Ok(obj) = serde_json::from_slice::<Value>(input) else {
            return "not json".into();
        };
        let mut converted = 0;
        let mut refused = 0;
        for entry in MULTI_VERSION {
            for from in entry.versions() {
                for to in entry.versions() {
                    let mut o = obj.clone();
                    if let Value::Object(m) = &mut o {
                        m.insert("apiVersion".into(), json!(api_version(entry.group, from)));
                    }
                    match convert(entry.group, entry.kind, o, from, to) {
                        Ok(_) => converted += 1,
                        Err(_) => refused += 1,
                    }
                }
            }
        }
        let originals = [json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "a", "uid": "u"}})];
        let review = read_review_response(input, "v1", "u", "example.com/v2", &originals);
        format!(
            "converted {} refused {} review {}",
            converted.min(1),
            refused.min(1),
            outcome(&review)
        )
    },
};

/// Every target, in the order the tests run them.
pub const ALL: &[&Target] = &[
    &REQUEST_INFO,
    &LABEL_SELECTOR,
    &FIELD_SELECTOR,
    &PATCH,
    &BODY,
    &PROTOBUF,
    &DISCOVERY_MERGE,
    &CONVERSION,
    &DEFAULTS,
];

// ---------------------------------------------------------------------------
// built-in defaults: "GROUP/KIND\nOBJECT-JSON\n---\nOLD-OBJECT-JSON" (the
// old object optional): defaulting, the registry's create and update
// preparation and the validation of the defaulted fields, as a write does

pub const DEFAULTS: Target = Target {
    name: "defaults",
    dictionary: &[
        b"\"spec\":",
        b"\"containers\":[{\"name\":\"a\",\"image\":\"x:latest\"}]",
        b"\"resources\":{\"limits\":{\"cpu\":\"1.5e3m\",\"memory\":\"1Ei\"}}",
        b"\"ports\":[{\"port\":80,\"nodePort\":30001,\"name\":\"a\"}]",
        b"\"type\":\"LoadBalancer\"",
        b"\"type\":\"ExternalName\"",
        b"\"clusterIP\":\"None\"",
        b"\"externalTrafficPolicy\":\"Local\"",
        b"\"template\":{\"spec\":{}}",
        b"\"volumes\":[{\"name\":\"v\"}]",
        b"\"hostNetwork\":true",
        b"\"manualSelector\":true",
        b"null",
        b"[]",
        b"{}",
        b"0.",
        b"1.2.3",
    ],
    generate: None,
    run: |input| {
        use skewless_apimachinery::defaults;
        let s = text(input);
        let (kind_line, rest) = s.split_once('\n').unwrap_or((&s, ""));
        let (group, kind) = kind_line.split_once('/').unwrap_or(("", kind_line));
        let (new, old) = rest.split_once("\n---\n").unwrap_or((rest, ""));
        let Ok(mut obj) = serde_json::from_str::<Value>(new) else {
            return "not json".into();
        };
        defaults::apply(group, kind, &mut obj);
        match serde_json::from_str::<Value>(old) {
            Ok(old) => defaults::prepare_for_update(group, kind, &mut obj, &old),
            Err(_) => defaults::prepare_for_create(group, kind, &mut obj),
        }
        let _ = defaults::status_on_create(group, kind, &obj);
        defaults::set_ip_families(&mut obj, "IPv4");
        let _ = (
            defaults::wants_cluster_ip(&obj),
            defaults::wants_node_ports(&obj),
        );
        let errors = defaults::validate(group, kind, &obj);
        match errors.first() {
            None => "ok".into(),
            Some(e) => outcome::<(), _>(&Err(e)),
        }
    },
};

#!/usr/bin/env python3
"""Generate crates/apimachinery/data/catalog.json, skewless's built-in API catalog.

The catalog lists every built-in group/version/resource that a kube-apiserver of
a supported minor release (--emulated-version) can serve, with the first and
last minor that serves it, so that "1.35 vs 1.36" is a difference in data and
never in code. It is derived from upstream's discovery snapshots in
crates/apimachinery/data/upstream-discovery/ (see the README there) plus the table of
edits below, each with the reason for it. data/README.md repeats the decisions
for readers of the crate.

Run from anywhere:  python3 scripts/gen-catalog.py [--reference DIR] [--check]
`--check` exits non-zero if the committed file differs from what would be
generated (useful in CI); nothing is downloaded, only local files are read.

Upstream facts (names, kinds, verbs, release in which something is served) are
reproduced as data; no upstream code is used.
"""

import argparse
import json
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_REFERENCE = os.path.join(REPO, "crates", "apimachinery", "data", "upstream-discovery")
OUTPUT = os.path.join(REPO, "crates", "apimachinery", "data", "catalog.json")

# Minor releases the catalog describes. The Rust side parses --emulated-version
# against this list, so adding "1.37" is a data change (plus the edits below).
EMULATED_VERSIONS = ["1.35", "1.36"]
DEFAULT_VERSION = "1.36"

# ---------------------------------------------------------------------------
# Edits relative to the snapshot (aggregated_v2.json is late-July-2026 master,
# i.e. 1.37-dev, served with AllAlpha/AllBeta and api/all=true).
# ---------------------------------------------------------------------------

# Group-versions in the snapshot that no supported release serves: they first
# appeared after 1.36 (SOURCE.md, "1.37 (dev, for context)").
EXCLUDED_GROUP_VERSIONS = {
    ("lifecycle.k8s.io", "v1alpha1"): "new group in 1.37 (KEP-4563, EvictionRequest)",
    ("scheduling.k8s.io", "v1beta1"): "Workload/PodGroup beta is 1.37 (PR #140184)",
    ("scheduling.k8s.io", "v1alpha3"): "replaced v1alpha2 in 1.37 (PR #138572)",
    ("storagemigration.k8s.io", "v1"): "StorageVersionMigration GA is 1.37 (PR #138560)",
}

# Resources in the snapshot whose (group, version) was served in 1.35/1.36 but
# which were added to that version only in 1.37.
EXCLUDED_RESOURCES = {
    ("certificates.k8s.io", "v1", "clustertrustbundles"): "ClusterTrustBundle v1 is 1.37 (KEP-3257)",
    ("certificates.k8s.io", "v1", "podcertificaterequests"): "PodCertificateRequest v1 is 1.37 (KEP-4317)",
    ("resource.k8s.io", "v1", "devicetaintrules"): "DeviceTaintRule v1 is 1.37 (KEP-5055)",
}

# First minor that serves a resource (last minors are in ADDED and
# SCHEDULING_V1ALPHA2, the only entries that stop being served). Only facts that matter for the
# supported window, or that SOURCE.md states, are recorded; an absent bound
# means "before the oldest" / "after the newest" supported release.
SINCE = {
    # 1.36: MutatingAdmissionPolicy GA, enabled by default (CHANGELOG-1.36, #136039).
    ("admissionregistration.k8s.io", "v1", "mutatingadmissionpolicies"): "1.36",
    ("admissionregistration.k8s.io", "v1", "mutatingadmissionpolicybindings"): "1.36",
    # 1.34: MutatingAdmissionPolicy beta (KEP-3962).
    ("admissionregistration.k8s.io", "v1beta1", "mutatingadmissionpolicies"): "1.34",
    ("admissionregistration.k8s.io", "v1beta1", "mutatingadmissionpolicybindings"): "1.34",
    # 1.34: resource.k8s.io/v1 (DRA structured parameters GA, KEP-4381).
    ("resource.k8s.io", "v1", "deviceclasses"): "1.34",
    ("resource.k8s.io", "v1", "resourceclaims"): "1.34",
    ("resource.k8s.io", "v1", "resourceclaimtemplates"): "1.34",
    ("resource.k8s.io", "v1", "resourceslices"): "1.34",
    # 1.36: device taints beta (#137170) and ResourcePoolStatusRequest alpha (#137028).
    ("resource.k8s.io", "v1beta2", "devicetaintrules"): "1.36",
    ("resource.k8s.io", "v1alpha3", "resourcepoolstatusrequests"): "1.36",
    # 1.34: VolumeAttributesClass GA (KEP-3751).
    ("storage.k8s.io", "v1", "volumeattributesclasses"): "1.34",
    # 1.35: storagemigration v1beta1 replaced v1alpha1 (KEP-4192).
    ("storagemigration.k8s.io", "v1beta1", "storageversionmigrations"): "1.35",
    # 1.35: PodCertificateRequest beta (KEP-4317).
    ("certificates.k8s.io", "v1beta1", "podcertificaterequests"): "1.35",
}

# Resources no snapshot of the newest master lists, added from release facts.
# Each copies the shape (singular, kind, scope, verbs, short names, categories,
# subresources) of the same resource in the named source group-version: the
# REST storage is shared across versions upstream, so discovery agrees.
ADDED = [
    # scheduling.k8s.io/v1alpha1 Workload: alpha in 1.35 (KEP-4671), removed in
    # 1.36 when v1alpha2 arrived (CHANGELOG-1.36, #136976).
    dict(group="scheduling.k8s.io", version="v1alpha1", resource="workloads",
         like=("scheduling.k8s.io", "v1alpha2", "workloads"), since="1.35", until="1.35"),
    # certificates.k8s.io/v1alpha1 ClusterTrustBundle: still served (when
    # enabled) in 1.35 and 1.36 (SOURCE.md "What a 1.36.0 server would show"),
    # removed in 1.37.
    dict(group="certificates.k8s.io", version="v1alpha1", resource="clustertrustbundles",
         like=("certificates.k8s.io", "v1beta1", "clustertrustbundles"), until="1.36"),
    # networking.k8s.io/v1beta1 IPAddress/ServiceCIDR: beta since 1.31, so by
    # the beta lifecycle (introduced + 3 deprecated, + 3 more removed) served
    # through 1.36 and removed in 1.37; absent from the 1.37-dev snapshot.
    dict(group="networking.k8s.io", version="v1beta1", resource="ipaddresses",
         like=("networking.k8s.io", "v1", "ipaddresses"), since="1.31", until="1.36"),
    dict(group="networking.k8s.io", version="v1beta1", resource="servicecidrs",
         like=("networking.k8s.io", "v1", "servicecidrs"), since="1.31", until="1.36"),
    # storage.k8s.io/v1beta1 VolumeAttributesClass: same lifecycle as above.
    dict(group="storage.k8s.io", version="v1beta1", resource="volumeattributesclasses",
         like=("storage.k8s.io", "v1", "volumeattributesclasses"), since="1.31", until="1.36"),
]

# scheduling.k8s.io/v1alpha2 as shipped in 1.36 comes from its own legacy
# document (the aggregated snapshot has v1alpha3 instead); it is 1.36 only.
SCHEDULING_V1ALPHA2 = dict(file="apis__scheduling.k8s.io__v1alpha2.json", since="1.36", until="1.36")

VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def maturity(version):
    m = VERSION_RE.match(version)
    if not m:
        raise SystemExit(f"unrecognised version string {version!r}")
    return {None: "GA", "beta": "beta", "alpha": "alpha"}[m.group(2)]


def version_rank(version):
    """Sort key for kube-aware version priority: v2 > v1 > v1beta2 > v1beta1 > v1alpha1."""
    m = VERSION_RE.match(version)
    level = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (level, -int(m.group(1)), -int(m.group(3) or 0))


def load(reference, name):
    with open(os.path.join(reference, name), encoding="utf-8") as f:
        return json.load(f)


def sub_entry(name, parent_group, parent_version, gvk_group, gvk_version, kind, verbs):
    # Discovery leaves group/version empty when they are the parent's; the
    # catalog always spells them out so readers need no convention.
    return {
        "name": name,
        "group": gvk_group if (gvk_group or gvk_version) else parent_group,
        "version": gvk_version if (gvk_group or gvk_version) else parent_version,
        "kind": kind,
        "verbs": sorted(verbs or []),
    }


def from_aggregated(group, version, r):
    rk = r.get("responseKind") or {}
    if rk.get("group") or rk.get("version"):
        raise SystemExit(f"{group}/{version} {r['resource']}: top-level kind in another group-version")
    subs = [
        sub_entry(s["subresource"], group, version,
                  (s.get("responseKind") or {}).get("group", ""),
                  (s.get("responseKind") or {}).get("version", ""),
                  (s.get("responseKind") or {}).get("kind", ""),
                  s.get("verbs"))
        for s in r.get("subresources") or []
    ]
    return {
        "group": group,
        "version": version,
        "resource": r["resource"],
        "singular": r["singularResource"],
        "kind": rk.get("kind", ""),
        "namespaced": r["scope"] == "Namespaced",
        "verbs": sorted(r.get("verbs") or []),
        "shortNames": r.get("shortNames") or [],
        "categories": r.get("categories") or [],
        "subresources": sorted(subs, key=lambda s: s["name"]),
    }


def from_legacy(doc):
    gv = doc["groupVersion"]
    group, version = gv.split("/") if "/" in gv else ("", gv)
    top, subs = {}, []
    for r in doc["resources"]:
        if "/" in r["name"]:
            subs.append(r)
            continue
        top[r["name"]] = {
            "group": group,
            "version": version,
            "resource": r["name"],
            "singular": r["singularName"],
            "kind": r["kind"],
            "namespaced": r["namespaced"],
            "verbs": sorted(r["verbs"]),
            "shortNames": r.get("shortNames") or [],
            "categories": r.get("categories") or [],
            "subresources": [],
        }
    for r in subs:
        parent, name = r["name"].split("/", 1)
        p = top.get(parent)
        if p is None or p["namespaced"] != r["namespaced"]:
            raise SystemExit(f"{gv} {r['name']}: no parent or scope mismatch")
        p["subresources"].append(sub_entry(name, group, version, r.get("group", ""),
                                           r.get("version", ""), r["kind"], r["verbs"]))
    for p in top.values():
        p["subresources"].sort(key=lambda s: s["name"])
    return group, version, list(top.values())


def retarget(entry, group, version):
    """Copy of `entry` moved to another group-version of the same group."""
    e = json.loads(json.dumps(entry))
    old = (e["group"], e["version"])
    e["group"], e["version"] = group, version
    for s in e["subresources"]:
        if (s["group"], s["version"]) == old:
            s["group"], s["version"] = group, version
    return e


def build(reference):
    agg = load(reference, "aggregated_v2.json")
    group_order = [""]  # core first, as /api precedes /apis
    resources = {}

    def add(e):
        key = (e["group"], e["version"], e["resource"])
        if key in resources:
            raise SystemExit(f"duplicate resource {key}")
        resources[key] = e

    for item in agg["items"]:
        group = item["metadata"].get("name", "")
        kept = False
        for v in item.get("versions") or []:
            if (group, v["version"]) in EXCLUDED_GROUP_VERSIONS:
                continue
            for r in v.get("resources") or []:
                if (group, v["version"], r["resource"]) in EXCLUDED_RESOURCES:
                    continue
                add(from_aggregated(group, v["version"], r))
                kept = True
        if kept:
            group_order.append(group)

    _, _, core = from_legacy(load(reference, "api__v1.json"))
    for e in core:
        add(e)

    _, _, sched = from_legacy(load(reference, SCHEDULING_V1ALPHA2["file"]))
    for e in sched:
        e["since"], e["until"] = SCHEDULING_V1ALPHA2["since"], SCHEDULING_V1ALPHA2["until"]
        add(e)

    for a in ADDED:
        src = resources[a["like"]]
        e = retarget(src, a["group"], a["version"])
        e.pop("since", None)
        e.pop("until", None)
        if "since" in a:
            e["since"] = a["since"]
        if "until" in a:
            e["until"] = a["until"]
        add(e)

    for key, since in SINCE.items():
        if key not in resources:
            raise SystemExit(f"edit table names unknown resource {key}")
        resources[key]["since"] = since

    missing = {g for (g, _, _) in resources} - set(group_order)
    if missing:
        raise SystemExit(f"groups without a discovery position: {sorted(missing)}")

    gvs = sorted({(g, v) for (g, v, _) in resources},
                 key=lambda gv: (group_order.index(gv[0]), version_rank(gv[1])))
    group_versions = [{"group": g, "version": v, "maturity": maturity(v)} for g, v in gvs]
    ordered = sorted(resources.values(),
                     key=lambda e: (group_order.index(e["group"]), version_rank(e["version"]),
                                    e["resource"]))
    return group_order, group_versions, ordered


def compact(e):
    # Drop empty lists so the file stays small; the Rust side defaults them.
    return {k: v for k, v in e.items() if v != [] and v is not None}


def render(group_order, group_versions, resources):
    line = lambda o: json.dumps(o, separators=(",", ":"), sort_keys=False)
    out = ["{"]
    out.append(f'"_comment":{line("Generated by scripts/gen-catalog.py from crates/apimachinery/data/upstream-discovery; do not edit by hand. See data/README.md.")},')
    out.append(f'"emulatedVersions":{line(EMULATED_VERSIONS)},')
    out.append(f'"defaultVersion":{line(DEFAULT_VERSION)},')
    out.append(f'"groupOrder":{line(group_order)},')
    out.append('"groupVersions":[')
    out.append(",\n".join(line(gv) for gv in group_versions))
    out.append("],")
    out.append('"resources":[')
    out.append(",\n".join(line(compact(e)) for e in resources))
    out.append("]")
    out.append("}")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", default=DEFAULT_REFERENCE)
    ap.add_argument("--output", default=OUTPUT)
    ap.add_argument("--check", action="store_true", help="fail if the output file is stale")
    args = ap.parse_args()
    text = render(*build(args.reference))
    if args.check:
        with open(args.output, encoding="utf-8") as f:
            if f.read() != text:
                print(f"{args.output} is stale; run scripts/gen-catalog.py", file=sys.stderr)
                return 1
        return 0
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(text)
    doc = json.loads(text)
    print(f"wrote {args.output}: {len(doc['groupVersions'])} group-versions, "
          f"{len(doc['resources'])} resources")
    return 0


if __name__ == "__main__":
    sys.exit(main())

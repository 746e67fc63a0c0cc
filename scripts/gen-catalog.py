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
# against this list. Each one must have an entry in python-client.json.
EMULATED_VERSIONS = ["1.33", "1.34", "1.35", "1.36", "1.37"]
# 1.36 stays the default: servers started without --emulated-version (and the
# tests written against them) keep the surface they had; 1.37 is opt-in.
DEFAULT_VERSION = "1.36"

# Per-release API surface: which group/version/resource[/subresource] each
# minor serves with every API enabled (python-client.json, extracted from the
# generated Python client of each release by scripts/extract-python-client.py).
CLIENT_SUMMARY = "python-client.json"

# ---------------------------------------------------------------------------
# Shapes. aggregated_v2.json (late-July-2026 master) lists exactly what the
# 1.37 client lists for the named groups; api__v1.json is the core group.
# Resources an older release served but 1.37 no longer does are added below
# with the shape of the same resource in a sibling version: the REST storage
# is shared across versions upstream, so discovery agrees. Which releases
# serve each resource (since/until) comes from the client summary, never from
# this table.
# ---------------------------------------------------------------------------

ADDED = [
    # Workload alpha in 1.35 (KEP-4671), replaced by v1alpha2 in 1.36.
    dict(group="scheduling.k8s.io", version="v1alpha1", resource="workloads",
         like=("scheduling.k8s.io", "v1alpha2", "workloads")),
    # ClusterTrustBundle alpha, removed in 1.37.
    dict(group="certificates.k8s.io", version="v1alpha1", resource="clustertrustbundles",
         like=("certificates.k8s.io", "v1beta1", "clustertrustbundles")),
    # PodCertificateRequest alpha in 1.34 only (beta from 1.35).
    dict(group="certificates.k8s.io", version="v1alpha1", resource="podcertificaterequests",
         like=("certificates.k8s.io", "v1beta1", "podcertificaterequests")),
    # IPAddress/ServiceCIDR and VolumeAttributesClass v1beta1: removed in 1.37.
    dict(group="networking.k8s.io", version="v1beta1", resource="ipaddresses",
         like=("networking.k8s.io", "v1", "ipaddresses")),
    dict(group="networking.k8s.io", version="v1beta1", resource="servicecidrs",
         like=("networking.k8s.io", "v1", "servicecidrs")),
    dict(group="storage.k8s.io", version="v1beta1", resource="volumeattributesclasses",
         like=("storage.k8s.io", "v1", "volumeattributesclasses")),
    # VolumeAttributesClass v1alpha1: removed in 1.35.
    dict(group="storage.k8s.io", version="v1alpha1", resource="volumeattributesclasses",
         like=("storage.k8s.io", "v1", "volumeattributesclasses")),
    # ValidatingAdmissionPolicy v1beta1: removed in 1.34.
    dict(group="admissionregistration.k8s.io", version="v1beta1",
         resource="validatingadmissionpolicies",
         like=("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies")),
    dict(group="admissionregistration.k8s.io", version="v1beta1",
         resource="validatingadmissionpolicybindings",
         like=("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings")),
    # DRA v1alpha3 core kinds: removed in 1.34 when resource.k8s.io/v1 arrived
    # (v1alpha3 kept only DeviceTaintRule and later ResourcePoolStatusRequest).
    *[dict(group="resource.k8s.io", version="v1alpha3", resource=r,
           like=("resource.k8s.io", "v1beta1", r))
      for r in ("deviceclasses", "resourceclaims", "resourceclaimtemplates", "resourceslices")],
    # StorageVersionMigration v1alpha1: replaced by v1beta1 in 1.35.
    dict(group="storagemigration.k8s.io", version="v1alpha1", resource="storageversionmigrations",
         like=("storagemigration.k8s.io", "v1beta1", "storageversionmigrations")),
]

# scheduling.k8s.io/v1alpha2 as shipped in 1.36 comes from its own legacy
# document (the aggregated snapshot has only v1alpha3 and v1beta1).
SCHEDULING_V1ALPHA2 = "apis__scheduling.k8s.io__v1alpha2.json"

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


def minor(release):
    return int(release.split(".")[1])


def client_surface(reference):
    """{release: {(group, version, resource): set(subresources)}} from the summary."""
    doc = load(reference, CLIENT_SUMMARY)["releases"]
    missing = [r for r in EMULATED_VERSIONS if r not in doc]
    if missing:
        raise SystemExit(f"{CLIENT_SUMMARY} lacks releases {missing}")
    out = {}
    for release in EMULATED_VERSIONS:
        surface = {}
        for gv, names in doc[release]["groupVersions"].items():
            group, version = gv.split("/") if "/" in gv else ("", gv)
            for name in names:
                res, _, sub = name.partition("/")
                subs = surface.setdefault((group, version, res), set())
                if sub:
                    subs.add(sub)
        out[release] = surface
    return out


def window(releases, what):
    """since/until of a contiguous run of supported releases (None = open end)."""
    idx = sorted(EMULATED_VERSIONS.index(r) for r in releases)
    if idx != list(range(idx[0], idx[-1] + 1)):
        raise SystemExit(f"{what}: served in {sorted(releases, key=minor)}, not a contiguous run")
    since = EMULATED_VERSIONS[idx[0]] if idx[0] > 0 else None
    until = EMULATED_VERSIONS[idx[-1]] if idx[-1] < len(EMULATED_VERSIONS) - 1 else None
    return since, until


def apply_windows(resources, surface):
    """Set since/until of every resource (and since of late subresources) from
    the per-release client surface; fail on anything the two sides disagree on."""
    for key, e in resources.items():
        releases = [r for r in EMULATED_VERSIONS if key in surface[r]]
        if not releases:
            raise SystemExit(f"{key}: in the catalog but served by no supported release")
        since, until = window(releases, key)
        for bound, value in (("since", since), ("until", until)):
            if value:
                e[bound] = value
        for s in e["subresources"]:
            has = [r for r in releases if s["name"] in surface[r][key]]
            if not has:
                raise SystemExit(f"{key}/{s['name']}: no release serves this subresource")
            if has[-1] != releases[-1]:
                raise SystemExit(f"{key}/{s['name']}: removed before its resource; not modelled")
            window(has, f"{key}/{s['name']}")
            if has[0] != releases[0]:
                s["since"] = has[0]
        for r in releases:
            extra = surface[r][key] - {s["name"] for s in e["subresources"]}
            if extra:
                raise SystemExit(f"{key}: {r} serves subresources {sorted(extra)} the catalog lacks")
    for r in EMULATED_VERSIONS:
        unknown = sorted(set(surface[r]) - set(resources))
        if unknown:
            raise SystemExit(f"{r} serves {unknown}, which the catalog lacks (add to ADDED)")


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
        group_order.append(group)
        for v in item.get("versions") or []:
            for r in v.get("resources") or []:
                add(from_aggregated(group, v["version"], r))

    _, _, core = from_legacy(load(reference, "api__v1.json"))
    for e in core:
        add(e)

    _, _, sched = from_legacy(load(reference, SCHEDULING_V1ALPHA2))
    for e in sched:
        add(e)

    for a in ADDED:
        add(retarget(resources[a["like"]], a["group"], a["version"]))

    apply_windows(resources, client_surface(reference))

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

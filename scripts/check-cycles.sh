#!/usr/bin/env bash
# Fails when the module import graph has a cycle: between the top-level modules of
# src/ (edges from `crate::X` paths), and between the sibling files of each directory
# given (edges from `super::x` / `crate::<dir>::x` paths; an item that mod.rs defines
# counts as an edge to mod.rs, which itself points at every child it re-exports).
# Test modules (`#[cfg(test)] mod tests`) are left out: they may look anywhere.
# Usage: scripts/check-cycles.sh [DIR...]   (default: src/runtime src/cgroups src/network)
set -euo pipefail
cd "$(dirname "$0")/.."
dirs=("$@")
[ ${#dirs[@]} -eq 0 ] && dirs=(src/runtime src/cgroups src/network)
exec python3 - "${dirs[@]}" <<'PY'
import os, re, sys

def code(path):
    s = open(path, encoding="utf-8").read()
    m = re.search(r"#\[cfg\(test\)\]\s*mod tests", s)
    s = s[:m.start()] if m else s
    return re.sub(r"//[^\n]*", "", s)

def paths(s, prefix):
    """Every first segment after `prefix::`, expanding `prefix::{a, b::c}` groups."""
    out = set()
    for m in re.finditer(re.escape(prefix) + r"::(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)", s):
        seg = m.group(1)
        if seg.startswith("{"):
            for part in seg[1:-1].split(","):
                part = part.strip()
                if part:
                    out.add(re.split(r"::|\s", part)[0])
        else:
            out.add(seg)
    return out

def cycles(graph):
    found, state, stack = [], {}, []
    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                found.append(stack[stack.index(m):] + [m])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2
    for n in sorted(graph):
        if n not in state:
            visit(n)
    return found

def top_level():
    mods = {os.path.splitext(e)[0] for e in os.listdir("src")
            if e.endswith(".rs") or os.path.isdir(os.path.join("src", e))} - {"main", "lib"}
    graph = {m: set() for m in mods}
    for m in mods:
        files = [f"src/{m}.rs"] if os.path.isfile(f"src/{m}.rs") else []
        for root, _, names in os.walk(f"src/{m}"):
            files += [os.path.join(root, n) for n in names if n.endswith(".rs")]
        for f in files:
            graph[m] |= {t for t in paths(code(f), "crate") if t in mods and t != m}
    return graph

def siblings(d):
    names = sorted(n for n in os.listdir(d) if n.endswith(".rs"))
    mods = {n[:-3] for n in names} | {n for n in os.listdir(d) if os.path.isdir(os.path.join(d, n))}
    mods.discard("mod")
    modpath = "crate::" + "::".join(d.split("/")[1:])
    graph = {}
    for n in names:
        me = n[:-3]
        s = code(os.path.join(d, n))
        refs = paths(s, "self") if me == "mod" else paths(s, "super") | paths(s, modpath)
        if me == "mod":
            refs |= {m.group(1) for m in re.finditer(r"pub(?:\([a-z]+\))? use ([a-z_0-9]+)::", s)}
        edges = set()
        for r in refs:
            if r in mods:
                edges.add(r)
            elif me != "mod" and r not in ("super", "self", "crate"):
                edges.add("mod")
        edges.discard(me)
        graph[me] = edges
    return graph

bad = 0
for label, graph in [("src/", top_level())] + [(d + "/", siblings(d)) for d in sys.argv[1:]]:
    for c in cycles(graph):
        bad += 1
        print(f"cycle in {label}: " + " -> ".join(c))
if bad:
    sys.exit(1)
print("no import cycles (src/ top level; " + ", ".join(sys.argv[1:]) + ")")
PY

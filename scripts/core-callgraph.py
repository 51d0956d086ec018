#!/usr/bin/env python3
"""core-callgraph.py - the file-level call graph of core/, read from nm.

A -> B when A.c.o has `U sym` and B.c.o defines sym as a function (T).
With --data, data definitions (D, R, B: ops tables, target types) count
too. -v lists the symbols on each edge. Exit status 1 when files call
each other in a cycle (the project's rule: no two files that call each
other), with the strongly connected components printed.

  python3 scripts/core-callgraph.py [-v] [--data] [OBJDIR]
  OBJDIR default: build/release/CMakeFiles/snapsim_core.dir/core
"""
import glob
import os
import subprocess
import sys

args = [a for a in sys.argv[1:] if not a.startswith("-")]
verbose, data = "-v" in sys.argv, "--data" in sys.argv
objdir = args[0] if args else "build/release/CMakeFiles/snapsim_core.dir/core"
kinds = "TDRB" if data else "T"
defs, undefs = {}, {}
objs = sorted(glob.glob(os.path.join(objdir, "*.c.o")))
if not objs:
    sys.exit(f"{objdir}: no *.c.o files (build first)")
for o in objs:
    f = os.path.basename(o)[: -len(".c.o")]
    out = subprocess.run(["nm", o], capture_output=True, text=True, check=True).stdout
    undefs[f] = set()
    for line in out.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in kinds:
            defs[p[2]] = f
        elif len(p) == 2 and p[0] == "U":
            undefs[f].add(p[1])
edges = {}
for f, syms in undefs.items():
    for s in syms:
        if s in defs and defs[s] != f:
            edges.setdefault(f, {}).setdefault(defs[s], []).append(s)
files = sorted(undefs)
for f in files:
    for g in sorted(edges.get(f, {})):
        print(f"{f} -> {g}" + (": " + " ".join(sorted(edges[f][g])) if verbose else ""))

# Tarjan's strongly connected components; any with two or more files is a cycle.
index, low, stack, on_stack, sccs = {}, {}, [], set(), []


def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on_stack.add(v)
    for w in edges.get(v, {}):
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on_stack:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on_stack.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(sorted(comp))


for f in files:
    if f not in index:
        visit(f)
if not sccs:
    print("acyclic: no files call each other, directly or through others")
    sys.exit(0)
print("cycles (strongly connected components):")
for c in sccs:
    print("  " + " ".join(c))
sys.exit(1)

#!/usr/bin/env python3
"""Structure metrics of a Python package (issue 16, "before"/"after" numbers).

Usage::

    python3 bench/code_metrics.py accessibility [--layers flat|tree] > out.md

Walks every ``*.py`` under the package (subpackages included) with ``ast`` and prints
Markdown: import graph (module-level and function-local imports of package modules),
strongly connected components (cycles), upward imports against the layer order
``base -> inputs -> core -> planning -> outputs -> pipeline -> cli``, function-local
imports per module, private names used across modules, the 15 longest functions,
typed share and module sizes.

Layers: in a restructured tree the first path component decides (``inputs.osm`` ->
inputs, ``cli.analyze`` -> cli, ``pipeline`` -> pipeline, other top-level modules
(config, errors, rejects, params, record, _io, ...) -> base). For the flat layout of
before the restructuring, FLAT_LAYERS below gives the target layer of each module.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ORDER = ["base", "inputs", "core", "planning", "outputs", "pipeline", "app", "cli"]
RANK = {name: i for i, name in enumerate(ORDER)}

#: Target layer of each flat module of main before issue 16 (see restructure_plan.md).
FLAT_LAYERS = {
    "__init__": "api",  # the public facade may import anything
    "_cache": "base", "_io": "base", "_text": "base", "config": "base", "errors": "base",
    "rejects": "base", "servers": "base", "profiles": "base",
    "_osmnx": "inputs", "osm": "inputs", "osm_keys": "inputs", "download": "inputs",
    "presets": "inputs", "sites": "inputs", "duplicates": "inputs", "geocode": "inputs",
    "_tables": "inputs", "zensus": "inputs", "buildings": "inputs", "spread": "inputs",
    "population": "inputs",
    "network": "core", "routing": "core", "analysis": "core", "coverage": "core",
    "isochrones": "core", "blocks": "core", "visibility": "core",
    "scenarios": "planning", "ranking": "planning", "stock": "planning",
    "outputs": "outputs", "exports": "outputs", "_leaflet": "outputs", "mapping": "outputs",
    "rank_maps": "outputs", "report": "outputs", "scenario_report": "outputs",
    "pipeline": "pipeline",
    "cli": "cli", "cli_cache": "cli", "cli_reports": "cli", "cli_scenarios": "cli",
    "cli_stock": "cli",
}  # fmt: skip


def layer_of(mod: str, flat: bool) -> str:
    parts = mod.split(".")
    if flat and mod in FLAT_LAYERS:
        return FLAT_LAYERS[mod]
    if mod == "__init__":
        return "api"
    if parts[0] in RANK:
        return parts[0]
    return "base"


def modules(pkg: Path) -> dict[str, Path]:
    out = {}
    for p in sorted(pkg.rglob("*.py")):
        rel = p.relative_to(pkg).with_suffix("")
        if "vendor" in rel.parts:
            continue
        parts = list(rel.parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


class Visitor(ast.NodeVisitor):
    """Collect imports of package modules (with where they are) and private uses."""

    def __init__(self, mod: str, is_pkg: bool, pkgname: str, known: set[str]):
        self.mod, self.is_pkg, self.pkgname, self.known = mod, is_pkg, pkgname, known
        self.depth = 0  # function nesting
        self.tc = 0  # inside `if TYPE_CHECKING:`
        self.edges: list[tuple[str, str, int]] = []  # (target, kind, line)
        self.private: list[tuple[str, str, int]] = []  # (target module, name, line)
        self.aliases: dict[str, str] = {}  # local name -> package module

    def _resolve(self, level: int, module: str | None) -> str | None:
        if level == 0:
            if module is None or not (
                module == self.pkgname or module.startswith(self.pkgname + ".")
            ):
                return None
            return module[len(self.pkgname) + 1 :] if module != self.pkgname else ""
        base = [] if self.mod == "__init__" else self.mod.split(".")
        if not self.is_pkg:
            base = base[:-1]
        if level > 1:
            base = base[: len(base) - (level - 1)]
        return ".".join([*base, *([module] if module else [])])

    def _kind(self) -> str:
        if self.tc:
            return "typing"
        return "local" if self.depth else "top"

    def _add(self, target: str, line: int) -> None:
        if target in self.known and target != self.mod:
            self.edges.append((target, self._kind(), line))

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            t = self._resolve(0, a.name)
            if t is not None:
                self._add(t, node.lineno)
                if a.asname:
                    self.aliases[a.asname] = t

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        t = self._resolve(node.level, node.module)
        if t is None:
            return
        for a in node.names:
            sub = f"{t}.{a.name}" if t else a.name
            if sub in self.known:  # `from . import isochrones`
                self._add(sub, node.lineno)
                self.aliases[a.asname or a.name] = sub
            else:
                self._add(t, node.lineno)
                if a.name.startswith("_") and not a.name.startswith("__"):
                    self.private.append((t, a.name, node.lineno))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if (
            isinstance(node.value, ast.Name)
            and node.value.id in self.aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            self.private.append((self.aliases[node.value.id], node.attr, node.lineno))
        self.generic_visit(node)

    def _func(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = _func

    def visit_If(self, node: ast.If) -> None:
        test = ast.unparse(node.test)
        if "TYPE_CHECKING" in test:
            self.tc += 1
            for n in node.body:
                self.visit(n)
            self.tc -= 1
            for n in node.orelse:
                self.visit(n)
        else:
            self.generic_visit(node)


def code_lines(src_lines: list[str], node: ast.AST) -> int:
    """Non-blank, non-comment lines of a function, docstring excluded."""
    skip: set[int] = set()
    body = getattr(node, "body", [])
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(getattr(body[0], "value", None), ast.Constant)
    ) and isinstance(body[0].value.value, str):
        skip = set(range(body[0].lineno, body[0].end_lineno + 1))
    n = 0
    for i in range(node.lineno, node.end_lineno + 1):
        s = src_lines[i - 1].strip()
        if s and not s.startswith("#") and i not in skip:
            n += 1
    return n


def complexity(node: ast.AST) -> int:
    """McCabe-like: 1 + branches (if/for/while/except/with-less, bool ops, comprehensions)."""
    c = 1
    for n in ast.walk(node):
        if n is not node and isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(
            n, (ast.If, ast.For, ast.While, ast.IfExp, ast.ExceptHandler, ast.AsyncFor, ast.Assert)
        ):
            c += 1
        elif isinstance(n, ast.BoolOp):
            c += len(n.values) - 1
        elif isinstance(n, ast.comprehension):
            c += 1 + len(n.ifs)
        elif isinstance(n, ast.match_case):
            c += 1
    return c


def fully_typed(fn: ast.FunctionDef | ast.AsyncFunctionDef, in_class: bool) -> bool:
    a = fn.args
    params = [*a.posonlyargs, *a.args, *a.kwonlyargs]
    if in_class and params and params[0].arg in ("self", "cls"):
        decos = {ast.unparse(d) for d in fn.decorator_list}
        if "staticmethod" not in decos:
            params = params[1:]
    if a.vararg:
        params.append(a.vararg)
    if a.kwarg:
        params.append(a.kwarg)
    if any(p.annotation is None for p in params):
        return False
    return fn.returns is not None or (fn.name == "__init__" and bool(params))


def functions(tree: ast.Module):
    """Yield (qualname, node, in_class) for every def, nested ones included."""

    def walk(node, prefix, in_class):
        for ch in ast.iter_child_nodes(node):
            if isinstance(ch, (ast.FunctionDef, ast.AsyncFunctionDef)):
                q = f"{prefix}{ch.name}"
                yield q, ch, in_class
                yield from walk(ch, q + ".", False)
            elif isinstance(ch, ast.ClassDef):
                yield from walk(ch, f"{prefix}{ch.name}.", True)
            else:
                yield from walk(ch, prefix, in_class)

    yield from walk(tree, "", False)


def tarjan(graph: dict[str, set[str]]) -> list[list[str]]:
    index, low, on, stack, out, i = {}, {}, set(), [], [], [0]
    sys.setrecursionlimit(10000)

    def strong(v):
        index[v] = low[v] = i[0]
        i[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def analyse(pkg: Path, flat: bool) -> str:
    pkgname = pkg.name
    mods = modules(pkg)
    known = set(mods)
    edges: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    lines: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    private: list[tuple[str, str, str, int]] = []
    local_count: dict[str, int] = defaultdict(int)
    funcs = []
    sizes = []
    typed = total = 0
    per_mod_typed: dict[str, tuple[int, int]] = {}
    for mod, path in mods.items():
        src = path.read_text(encoding="utf-8")
        tree = ast.parse(src)
        v = Visitor(mod, path.name == "__init__.py", pkgname, known)
        v.visit(tree)
        for t, kind, ln in v.edges:
            edges[mod][t].add(kind)
            lines[mod][t].append(ln)
        # one per import statement (a statement importing three names counts once)
        local_count[mod] = len({ln for _, kind, ln in v.edges if kind == "local"})
        if not local_count[mod]:
            del local_count[mod]
        private += [(mod, t, name, ln) for t, name, ln in v.private if t != mod]
        src_lines = src.splitlines()
        mt = mn = 0
        for q, fn, in_class in functions(tree):
            loc = code_lines(src_lines, fn)
            funcs.append((loc, complexity(fn), f"{mod}.{q}", fn.lineno))
            ok = fully_typed(fn, in_class)
            mt += ok
            mn += 1
        typed += mt
        total += mn
        per_mod_typed[mod] = (mt, mn)
        code = sum(1 for s in src_lines if s.strip() and not s.strip().startswith("#"))
        sizes.append((len(src_lines), code, mn, mod))

    out = [f"# Structure metrics of `{pkg}`", ""]
    out += [
        f"Modules: {len(mods)}; lines: {sum(s[0] for s in sizes)} "
        f"(non-blank non-comment {sum(s[1] for s in sizes)}); functions/methods: {total}.",
        "",
    ]

    # graph and cycles
    n_edges = {
        k: sum(1 for m in edges for t in edges[m] if k in edges[m][t])
        for k in ("top", "local", "typing")
    }
    out += [
        "## Import graph",
        "",
        f"Distinct module→module edges: top-level {n_edges['top']}, function-local {n_edges['local']}, "
        f"TYPE_CHECKING-only {n_edges['typing']} (an edge may be both top and local).",
        "",
    ]
    runtime = {m: {t for t, k in edges[m].items() if k & {"top", "local"}} for m in mods}
    toponly = {m: {t for t, k in edges[m].items() if "top" in k} for m in mods}
    for label, g in (
        ("top-level + function-local imports", runtime),
        ("top-level imports only", toponly),
    ):
        g = {m: {t for t in ts if t != "__init__"} for m, ts in g.items() if m != "__init__"}
        sccs = tarjan(g)
        out += [f"### Cycles (strongly connected components), {label}: {len(sccs)}", ""]
        for c in sccs:
            pairs = [f"{a}→{b}" for a in c for b in sorted(g[a]) if b in c]
            out += [f"- {{{', '.join(c)}}}: " + ", ".join(pairs)]
        out += [""]

    # layers
    out += [
        "## Layers and upward imports",
        "",
        "Target order: "
        + " → ".join(ORDER)
        + " (base = config, errors, rejects, params, record and "
        "private shared helpers; `__init__` is the public facade and exempt).",
        "",
    ]
    bylayer = defaultdict(list)
    for m in mods:
        bylayer[layer_of(m, flat)].append(m)
    for layer in [*ORDER, "api"]:
        if bylayer.get(layer):
            out += [f"- **{layer}**: {', '.join(sorted(bylayer[layer]))}"]
    ups = []
    for m in mods:
        lm = layer_of(m, flat)
        if lm == "api":
            continue
        for t, kinds in edges[m].items():
            lt = layer_of(t, flat)
            if lt == "api" or RANK[lt] <= RANK[lm]:
                continue
            ups.append((m, lm, t, lt, "/".join(sorted(kinds)), lines[m][t]))
    rt = [u for u in ups if u[4] != "typing"]
    out += [
        "",
        f"### Upward imports: {len(ups)} module pairs ({len(rt)} at run time, "
        f"{len(ups) - len(rt)} TYPE_CHECKING only)",
        "",
        "| importer (layer) | imports (layer) | kind | lines |",
        "|---|---|---|---|",
    ]
    for m, lm, t, lt, k, ln in sorted(ups, key=lambda u: (RANK[u[1]], u[0], u[2])):
        out += [f"| {m} ({lm}) | {t} ({lt}) | {k} | {', '.join(map(str, sorted(set(ln))))} |"]
    out += [""]

    # function-local imports
    out += [
        f"## Function-local import statements of package modules: {sum(local_count.values())}",
        "",
        "| module | count |",
        "|---|---|",
    ]
    for m, c in sorted(local_count.items(), key=lambda x: -x[1]):
        out += [f"| {m} | {c} |"]
    out += [""]

    # private names
    by = defaultdict(set)
    for m, t, name, _ln in private:
        by[(m, t)].add(name)
    out += [
        f"## Private names used across modules: {len({(t, n) for _, t, n, _ in private})} distinct names, "
        f"{len(private)} uses",
        "",
        "| user | from module | names |",
        "|---|---|---|",
    ]
    for (m, t), names in sorted(by.items()):
        out += [f"| {m} | {t} | {', '.join(sorted(names))} |"]
    out += [""]

    # longest functions
    funcs.sort(key=lambda f: (-f[0], f[2]))
    over80 = sum(1 for f in funcs if f[0] > 80)
    out += [
        f"## Longest functions (code lines, docstring excluded): {over80} over 80 lines",
        "",
        "| # | function | line | code lines | complexity |",
        "|---|---|---|---|---|",
    ]
    for i, (loc, cx, q, ln) in enumerate(funcs[:15], 1):
        out += [f"| {i} | {q} | {ln} | {loc} | {cx} |"]
    out += [""]

    # typed share
    out += [
        f"## Typed share: {typed}/{total} = {100 * typed / max(total, 1):.1f} % of functions have every "
        "parameter and the return annotated",
        "",
        "Least typed modules (typed/all):",
        "",
    ]
    worst = sorted(per_mod_typed.items(), key=lambda x: (x[1][0] / max(x[1][1], 1), -x[1][1]))
    out += ["| module | typed | functions | share |", "|---|---|---|---|"]
    for m, (t, n) in worst[:12]:
        if n:
            out += [f"| {m} | {t} | {n} | {100 * t / n:.0f} % |"]
    out += ["", f"`py.typed` present: {(pkg / 'py.typed').exists()}", ""]

    # sizes
    out += [
        "## Module sizes",
        "",
        "| module | layer | lines | code lines | functions |",
        "|---|---|---|---|---|",
    ]
    for n, c, f, m in sorted(sizes, reverse=True):
        out += [f"| {m} | {layer_of(m, flat)} | {n} | {c} | {f} |"]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit(__doc__)
    pkg = Path(argv[0]).resolve()
    flat = not any(
        p.is_dir() and (p / "__init__.py").exists() and p.name in RANK for p in pkg.iterdir()
    )
    if "--layers" in argv:
        flat = argv[argv.index("--layers") + 1] == "flat"
    sys.stdout.write(analyse(pkg, flat))


if __name__ == "__main__":
    main(sys.argv[1:])

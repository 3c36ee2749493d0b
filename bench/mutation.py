"""Mutation testing of the compute core with mutmut (issue 18); not part of CI.

Usage::

    .venv/bin/python bench/mutation.py                      # routing and coverage (the default)
    .venv/bin/python bench/mutation.py analysis ranking     # other modules
    .venv/bin/python bench/mutation.py --all                # every module below (long)
    .venv/bin/python bench/mutation.py routing --children 2 --keep

Each module is mutated in its own scratch copy of the repository (``accessibility``,
``tests``, ``README.md``, ``pyproject.toml`` with a ``[tool.mutmut]`` section added), so
the repository is never modified. mutmut first runs the module's fast test subset once to
learn which tests reach which function, then runs, for every mutant, only those tests.
The shared data must be present (``$ACCESSIBILITY_DATA``, default ``../shared/data``).

Caches: modules whose results never enter a cache (routing, coverage, analysis, ranking and
the population readers) share one warm ``ACCESSIBILITY_CACHE``, filled once by the
unmutated code. ``network`` is tested by ``tests/test_independent_network.py`` alone: it
builds every network from the parsed ways (never from the network cache) and tests the
cache in a folder of its own, so no mutant can hide behind a network parsed before. (mutmut
forks every mutant's test session from the process that ran the clean tests, so a cache
folder set by ``tests/conftest.py`` in that process is shared by all mutants: the network
module gets an empty cache of its own all the same.)

Prints one line per module (mutants, killed, survived, no tests, timeouts, score) and the
surviving mutants with their diff; ``--markdown FILE`` writes them as Markdown. mutmut is
in the ``test`` extras (``pip install -e ".[test]"``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: module → the fast tests that check it (each runs in seconds on the warm cache).
MODULES: dict[str, list[str]] = {
    "routing": ["tests/test_independent.py", "tests/test_routing.py", "tests/test_analysis.py"],
    "coverage": [
        "tests/test_independent_coverage.py",
        "tests/test_independent.py",
        "tests/test_analysis.py",
    ],
    "analysis": [
        "tests/test_independent_analysis.py",
        "tests/test_independent.py",
        "tests/test_analysis.py",
        "tests/test_routing.py",
    ],
    "ranking": [
        "tests/test_independent.py",
        "tests/test_independent_ranking.py",
        "tests/test_ranking.py",
    ],
    "network": ["tests/test_independent_network.py"],
    "zensus": [
        "tests/test_independent_zensus.py",
        "tests/test_population.py",
        "tests/test_independent.py",
    ],
    "population": [
        "tests/test_independent_population.py",
        "tests/test_population.py",
        "tests/test_grids.py",
    ],
    "buildings": ["tests/test_independent_buildings.py", "tests/test_independent_spread.py"],
    "spread": ["tests/test_independent_spread.py"],
}
#: module → its dotted path inside the package (issue 16 subpackages).
PATHS = {
    "routing": "core.routing", "coverage": "core.coverage", "analysis": "core.analysis",
    "network": "core.network", "ranking": "planning.ranking", "zensus": "inputs.zensus",
    "population": "inputs.population", "buildings": "inputs.buildings", "spread": "inputs.spread",
}  # fmt: skip
#: modules whose mutants could be hidden by a cached result of the unmutated code.
FRESH_CACHE = {"network"}
DEFAULT = ["routing", "coverage"]


def _scratch(module: str, tests: list[str], children: int) -> Path:
    dst = Path(tempfile.mkdtemp(prefix=f"mutation-{module}-"))
    for name in ("accessibility", "tests"):
        shutil.copytree(ROOT / name, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "README.md", dst / "README.md")
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    text = re.sub(r"\n\[tool\.mutmut\].*?(?=\n\[|\Z)", "", text, flags=re.S)
    quoted = ", ".join(f'"{t}"' for t in tests)
    text += (
        "\n[tool.mutmut]\n"
        'source_paths = ["accessibility"]\n'
        f'only_mutate = ["accessibility/{PATHS[module].replace(".", "/")}.py"]\n'
        f"pytest_add_cli_args_test_selection = [{quoted}]\n"
        'pytest_add_cli_args = ["-q", "-x", "-p", "no:cacheprovider", "-o", "addopts="]\n'
        'also_copy = ["README.md"]\n'
        "use_git_change_detection = false\n"
    )
    (dst / "pyproject.toml").write_text(text, encoding="utf-8")
    return dst


def _warm_cache(cache: Path) -> None:
    """Fill the cache with the unmutated code (networks, extracts, osmnx filter)."""
    env = {**os.environ, "ACCESSIBILITY_CACHE": str(cache)}
    env.pop("CI", None)
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
         "tests/test_independent.py", "tests/test_routing.py"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip


def _mutant_names(dst: Path, module: str, env: dict) -> list[str]:
    """Every mutant of the module: start mutmut, wait for its mutant list, stop it."""
    meta = dst / "mutants" / f"accessibility/{PATHS[module].replace('.', '/')}.py.meta"
    p = subprocess.Popen(
        [sys.executable, "-m", "mutmut", "run", "--max-children", "1"],
        cwd=dst, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while not meta.exists() and p.poll() is None:
            time.sleep(0.5)
        time.sleep(1.0)  # the file is written whole, once
    finally:
        p.terminate()
        p.wait()
    return sorted(json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"])


def run_module(
    module: str,
    cache: Path,
    children: int,
    keep: bool,
    names: list[str] | None = None,
    sample: int | None = None,
    seed: int = 0,
) -> dict:
    tests = MODULES[module]
    dst = _scratch(module, tests, children)
    env = dict(os.environ)
    env.pop("CI", None)
    if module in FRESH_CACHE:
        env["ACCESSIBILITY_CACHE"] = str(dst / "cache")  # empty: nothing parsed before
    else:
        env["ACCESSIBILITY_CACHE"] = str(cache)
    n_all = None
    if sample and not names:
        every = _mutant_names(dst, module, env)
        n_all = len(every)
        names = sorted(random.Random(seed).sample(every, min(sample, n_all)))
        print(f"[{module}] a random sample of {len(names)} of {n_all} mutants (seed {seed})",
              file=sys.stderr, flush=True)  # fmt: skip
    t0 = time.perf_counter()
    print(f"[{module}] mutmut run in {dst} (tests: {' '.join(tests)})", file=sys.stderr, flush=True)
    p = subprocess.run(
        ["nice", sys.executable, "-m", "mutmut", "run", "--max-children", str(children),
         *[n for n in (names or []) if n.startswith(f"accessibility.{PATHS[module]}.")]],
        cwd=dst, env=env, capture_output=True, text=True,
    )  # fmt: skip
    secs = time.perf_counter() - t0
    (dst / "mutmut-run.log").write_text(p.stdout + p.stderr, encoding="utf-8")
    res = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=dst, env=env, capture_output=True, text=True,
    )  # fmt: skip
    status: dict[str, str] = {}
    for line in res.stdout.splitlines():
        m = re.match(r"\s*(\S+):\s*(.+)$", line)
        if m and m.group(1).startswith("accessibility.") and m.group(2) != "not checked":
            status[m.group(1)] = m.group(2).strip()
    diffs = {}
    for name, st in status.items():
        if st not in _DETECTED:
            show = subprocess.run(
                [sys.executable, "-m", "mutmut", "show", name],
                cwd=dst, env=env, capture_output=True, text=True,
            )  # fmt: skip
            diffs[name] = show.stdout.strip()
    counts: dict[str, int] = {}
    for st in status.values():
        counts[st] = counts.get(st, 0) + 1
    if not keep and p.returncode == 0:
        shutil.rmtree(dst, ignore_errors=True)
    return {"module": module, "status": status, "counts": counts, "diffs": diffs, "n_all": n_all,
            "seconds": secs, "dir": dst, "returncode": p.returncode,
            "log_tail": (p.stdout + p.stderr)[-2000:]}  # fmt: skip


#: mutmut statuses that mean the tests noticed the mutant (a crash or a hang is noticed too).
_DETECTED = ("killed", "timeout", "segfault")


def _score(counts: dict[str, int]) -> tuple[int, int, float]:
    total = sum(counts.values())
    killed = sum(counts.get(s, 0) for s in _DETECTED)
    tested = total - counts.get("no tests", 0) - counts.get("skipped", 0)
    return total, killed, (100.0 * killed / tested) if tested else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("modules", nargs="*", help=f"modules to mutate (default: {' '.join(DEFAULT)})")
    ap.add_argument("--all", action="store_true", help="every module: " + " ".join(MODULES))
    ap.add_argument("--children", type=int, default=1, help="parallel mutant runs (default 1)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folders")
    ap.add_argument("--markdown", type=Path, help="write the survivors as Markdown")
    ap.add_argument("--mutants", nargs="+", metavar="NAME",
                    help="run only these mutants (e.g. the survivors of an earlier run, "
                         "after adding tests); names as mutmut prints them")  # fmt: skip
    ap.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help="run a random sample of N mutants per module (when the whole set "
        "takes too long on a shared machine); the score is then an estimate",
    )
    ap.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")  # fmt: skip
    args = ap.parse_args(argv)
    modules = list(MODULES) if args.all else (args.modules or DEFAULT)
    unknown = set(modules) - set(MODULES)
    if unknown:
        ap.error(f"unknown module(s) {sorted(unknown)}; choose from {', '.join(MODULES)}")
    cache = Path(tempfile.mkdtemp(prefix="mutation-cache-"))
    print("warming the cache with the unmutated code ...", file=sys.stderr, flush=True)
    _warm_cache(cache)
    out = ["| module | mutants | killed | survived | no tests | timeout/crash | score | minutes |",
           "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    details = []
    for module in modules:
        if args.mutants and not any(
            n.startswith(f"accessibility.{PATHS[module]}.") for n in args.mutants
        ):
            continue
        r = run_module(module, cache, args.children, args.keep, args.mutants, args.sample,
                       args.seed)  # fmt: skip
        c = r["counts"]
        total, killed, score = _score(c)
        of = f" (sample of {r['n_all']})" if r["n_all"] else ""
        line = (f"| {module}{of} | {total} | {killed} | {c.get('survived', 0)} | "
                f"{c.get('no tests', 0)} | {c.get('timeout', 0) + c.get('segfault', 0)} | {score:.1f} % | "
                f"{r['seconds'] / 60:.1f} |")  # fmt: skip
        out.append(line)
        print(line, flush=True)
        if r["returncode"] != 0 and not r["status"]:
            print(f"mutmut failed for {module} (kept in {r['dir']}):\n{r['log_tail']}")
        for name, diff in r["diffs"].items():
            details.append(f"### `{name}` ({r['status'][name]})\n\n```diff\n{diff}\n```\n")
    print("\n".join(out))
    if details:
        print("\n".join(details))
    if args.markdown:
        args.markdown.write_text("\n".join(out) + "\n\n" + "\n".join(details), encoding="utf-8")
    shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Plant the bugs of issue 18 one at a time in a scratch copy and check the tests catch each.

Usage::

    .venv/bin/python bench/planted_bugs.py                 # all bugs, with the shared data
    .venv/bin/python bench/planted_bugs.py --no-data       # as a machine without ../shared/data
    .venv/bin/python bench/planted_bugs.py --tests tests   # run the whole suite per bug
    .venv/bin/python bench/planted_bugs.py --only greedy   # the bugs whose name says greedy

For every bug the package is copied to a temporary folder, one source line is replaced
(the script stops if the line is not found, so a refactor cannot turn a check into a
no-op), and pytest runs the given tests against the copy with ``-x``. A bug is *caught*
when pytest fails. The repository itself is never modified. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: (name, file, original text, planted text). Each original must occur exactly once.
BUGS = [
    ("edge length as Manhattan distance", "accessibility/core/network.py",
     "length = np.hypot(*(xy[b] - xy[a]).T)", "length = np.abs(xy[b] - xy[a]).sum(axis=1)"),
    ("`<` instead of `<=` at the threshold", "accessibility/core/coverage.py",
     "(np.asarray(minutes)[:, None] <= t[None, :])", "(np.asarray(minutes)[:, None] < t[None, :])"),
    ("access-leg limit 500 -> 150 m", "accessibility/config.py",
     "MAX_ACCESS_LEG_M = 500.0", "MAX_ACCESS_LEG_M = 150.0"),
    ("group weights misaligned (previous group's column)", "accessibility/core/coverage.py",
     "    for g in groups.columns:\n        rows += _table(groups[g].to_numpy(float),",
     "    for i, g in enumerate(groups.columns):\n"
     "        rows += _table(groups[groups.columns[i - 1]].to_numpy(float),"),
    ("group weights misaligned (rows shifted by one)", "accessibility/core/coverage.py",
     "rows += _table(groups[g].to_numpy(float),", "rows += _table(np.roll(groups[g].to_numpy(float), 1),"),
    ("district polygons not reprojected", "accessibility/core/analysis.py",
     "dist_gdf = districts.to_crs(network.crs)[", "dist_gdf = districts["),
    ("greedy marginal gain off by one (gain + 1)", "accessibility/planning/ranking.py",
     "        g = float(gains[c])\n", "        g = float(gains[c]) + 1\n"),
    ("greedy marginal gain off by one (last covered resident not removed)", "accessibility/planning/ranking.py",
     "newly = cov.indices[cov.indptr[c] : cov.indptr[c + 1]]",
     "newly = cov.indices[cov.indptr[c] : cov.indptr[c + 1] - 1]"),
    ("greedy picks one candidate too few", "accessibility/planning/ranking.py",
     "for _ in range(min(k, cov.shape[0])):", "for _ in range(min(k, cov.shape[0]) - 1):"),
    ("share denominator = reachable population", "accessibility/core/coverage.py",
     "        cov = covered(weight, mins, thresholds)\n",
     "        cov = covered(weight, mins, thresholds)\n"
     "        pop = float(np.sum(np.asarray(weight, float)[np.isfinite(mins)]))\n"),
]  # fmt: skip


def _copy(dst: Path) -> None:
    for name in ("accessibility", "tests"):
        shutil.copytree(ROOT / name, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "environment.yml"):
        shutil.copy2(ROOT / name, dst / name)


def plant(dst: Path, file: str, old: str, new: str) -> None:
    path = dst / file
    text = path.read_text(encoding="utf-8")
    if text.count(old) != 1:
        raise SystemExit(f"{file}: the line to replace was found {text.count(old)} times: {old!r}")
    path.write_text(text.replace(old, new), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tests", nargs="+", default=["tests/test_independent.py"],
                    help="pytest targets run per bug (default: tests/test_independent.py)")  # fmt: skip
    ap.add_argument("--no-data", action="store_true", help="hide the shared data folder")
    ap.add_argument("--only", help="plant only the bugs whose name contains this text")
    args = ap.parse_args(argv)
    env = dict(os.environ)
    env.pop("CI", None)  # skips are expected with --no-data
    if args.no_data:
        env["ACCESSIBILITY_DATA"] = tempfile.mkdtemp(prefix="no-data-")
    print(
        "| planted bug | tests run | caught? | first failing test | seconds |\n|---|---|---|---|---|"
    )
    missed = 0
    for name, file, old, new in BUGS:
        if args.only and args.only.lower() not in name.lower():
            continue
        with tempfile.TemporaryDirectory(prefix="planted-") as tmp:
            dst = Path(tmp)
            _copy(dst)
            plant(dst, file, old, new)
            t0 = time.perf_counter()
            p = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                 "-o", "addopts=", *args.tests],
                # a fresh cache: a network parsed by the unplanted code must not be reused
                cwd=dst, env={**env, "PYTHONPATH": str(dst), "ACCESSIBILITY_CACHE": str(dst / "cache")}, capture_output=True, text=True,
            )  # fmt: skip
            secs = time.perf_counter() - t0
            first = next((ln.split()[1] for ln in p.stdout.splitlines()
                          if ln.startswith("FAILED")), "")  # fmt: skip
            caught = p.returncode == 1
            if p.returncode not in (0, 1):
                first = f"pytest exit {p.returncode}: " + p.stdout.strip().splitlines()[-1]
            missed += not caught
            tail = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
            print(f"| {name} | {' '.join(args.tests)} ({tail}) | {'yes' if caught else '**no**'} "
                  f"| `{first.split('::')[-1][:70]}` | {secs:.0f} |", flush=True)  # fmt: skip
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

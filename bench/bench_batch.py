"""``accessibility batch`` on Rhein-Neckar (114 municipalities) against a serial loop of ``analyze``.

Measures, on the real region (roads-only network, Zensus 1 km grid, the sites file
``examples/rhein-neckar_sites.csv``, thresholds 5, 10, 15 min):

- ``batch`` in one process (``--workers 0``), on a ``LocalCluster`` with 1 and with 2 worker
  processes (1 and 2 take turns, twice; the faster run of each counts): wall seconds of the command, the areas phase, the cluster start-up, the peak
  RSS of the driver and of every worker (MB);
- a serial shell loop of ``accessibility analyze --area <polygon>`` per area: a sample of
  areas (every k-th by task size) is timed and the mean is extrapolated to all 114 areas
  (stated as such in the table);
- the per-area cost (network nodes/edges in the clipped network, resident points, seconds,
  MB) of the 1-worker run, written to ``bench/batch_areas_rhein-neckar.csv`` for the
  Germany plan (``bench/germany_plan.py``).

    python bench/bench_batch.py [--sample 8] [--markdown bench/results_batch.md]

Every command runs in a fresh process with a temporary ``ACCESSIBILITY_CACHE``; the network
and OSM parse is warmed once first (the batch parses it once anyway, the serial loop would
reuse the cache too), so both sides read the same cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from accessibility.config import shared_data_dir  # noqa: E402

D = shared_data_dir() / "rhein-neckar"
NETWORK = D / "rnv-2016-12.osm.pbf"
POPULATION = D / "zensus2011_1km_rhein-neckar.csv"
AREAS = D / "gemeinden_rhein-neckar.gpkg"
SITES = ROOT / "examples" / "rhein-neckar_sites.csv"
MINUTES = "5,10,15"
#: runs the CLI and prints this process's peak RSS (KB) on stderr at exit
WRAP = (
    "import resource, sys\n"
    "from accessibility.cli import main\n"
    "try:\n    main()\nfinally:\n"
    "    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "    print('PEAK_KB', s.ru_maxrss, file=sys.stderr)\n"
    "    print('CPU_S', s.ru_utime + s.ru_stime, c.ru_utime + c.ru_stime, file=sys.stderr)\n"
)


_CPU: dict[str, float] = {}


def _cli(args: list[str], env: dict) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MB) of the command's own process, exit code.

    The CPU seconds of the process and of its children (the Dask workers) go to ``_CPU``.
    """
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", WRAP, *args], env=env, capture_output=True,
                       text=True)  # fmt: skip
    wall = time.perf_counter() - t0
    peak = [int(line.split()[1]) for line in p.stderr.splitlines() if line.startswith("PEAK_KB")]
    for line in p.stderr.splitlines():
        if line.startswith("CPU_S"):
            _CPU["self"], _CPU["children"] = map(float, line.split()[1:3])
    if p.returncode not in (0, 3):
        print(p.stdout[-2000:], p.stderr[-3000:], file=sys.stderr)
    return wall, (peak[0] / 1024 if peak else float("nan")), p.returncode


def _batch(workers: int, out: Path, env: dict, extra: tuple[str, ...] = ()) -> dict:
    args = ["batch", *extra, "--areas", str(AREAS), "--area-id", "ARS", "--area-name", "name",
            "--network", str(NETWORK), "--population", str(POPULATION), "--sites", str(SITES),
            "--minutes", MINUTES, "--workers", str(workers), "--out", str(out)]  # fmt: skip
    wall, peak, rc = _cli(args, env)
    run = json.loads((out / "run.json").read_text())
    b = run["batch"]
    return {
        "wall": wall, "driver_mb": peak, "rc": rc, "areas_s": run["timings_s"]["areas"],
        "startup_s": b["engine"].get("startup_s", 0.0), "load_s": run["timings_s"]["load_region"],
        "worker_mb": b["peak_mb_per_worker"], "failed": len(b["failed"]),
        "done": len(b["computed"]), "per_area": b["per_area"],
        "cpu": run.get("cpu_s", {}), "cpu_self": _CPU.get("self", float("nan")),
        "cpu_children": _CPU.get("children", float("nan")),
        "tasks_cpu": sum(float(a.get("cpu_s", 0.0)) for a in b["per_area"].values()),
    }  # fmt: skip


def main(argv: list[str]) -> None:
    sample = int(argv[argv.index("--sample") + 1]) if "--sample" in argv else 8
    md = Path(argv[argv.index("--markdown") + 1]) if "--markdown" in argv else None
    tmp = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    env = {**os.environ, "ACCESSIBILITY_CACHE": str(tmp / "cache")}
    load = os.getloadavg()
    print(
        f"load average {load[0]:.2f}; warming the cache (network and OSM parse)…", file=sys.stderr
    )
    _batch(0, tmp / "warm", env)
    runs: dict[int, dict] = {}
    for w in (0, 1, 2, 1, 2):  # 1 and 2 workers take turns, twice; the faster run counts
        print(f"batch --workers {w}…", file=sys.stderr)
        r = _batch(w, tmp / f"w{w}", env)
        if w not in runs or r["wall"] < runs[w]["wall"]:
            runs[w] = r
    # heavier tasks: every area also writes its full analyze folder (maps, report, layers)
    heavy: dict[int, dict] = {}
    for w in (1, 2):
        print(f"batch --workers {w} --per-area-outputs…", file=sys.stderr)
        heavy[w] = _batch(w, tmp / f"p{w}", env, ("--per-area-outputs",))
    # the serial shell loop, on a sample of areas spread over the task sizes
    areas = gpd.read_file(AREAS)
    per = pd.DataFrame(runs[1]["per_area"]).T
    per2 = pd.DataFrame(runs[2]["per_area"]).T
    order = per.sort_values("edges", ascending=False).index.tolist()
    step = max(1, len(order) // sample)
    chosen = order[::step][:sample]
    times = []
    for aid in chosen:
        poly = tmp / f"{aid}.geojson"
        areas[areas["ARS"] == aid].to_crs("EPSG:4326").to_file(poly)
        args = ["analyze", "--network", str(NETWORK), "--population", str(POPULATION), "--sites",
                str(SITES), "--minutes", MINUTES, "--area", str(poly), "--out", str(tmp / "loop" / aid)]  # fmt: skip
        wall, peak, rc = _cli(args, env)
        times.append({"area_id": aid, "seconds": wall, "peak_mb": peak, "exit": rc})
        print(f"  analyze {aid}: {wall:.1f} s (exit {rc})", file=sys.stderr)
    loop = pd.DataFrame(times)
    n = len(areas)
    loop_total = float(loop["seconds"].mean()) * n
    per.index.name = "area_id"
    per.drop(columns=["pid"]).to_csv(ROOT / "bench" / "batch_areas_rhein-neckar.csv")
    load2 = os.getloadavg()
    rows = [
        ("batch, in one process (--workers 0)", runs[0]),
        ("batch, LocalCluster 1 worker", runs[1]),
        ("batch, LocalCluster 2 workers", runs[2]),
        ("batch --per-area-outputs, LocalCluster 1 worker", heavy[1]),
        ("batch --per-area-outputs, LocalCluster 2 workers", heavy[2]),
    ]
    lines = [
        f"Rhein-Neckar: {n} municipalities, thresholds {MINUTES} min, sites "
        f"{SITES.name}; load average {load[0]:.2f} at start, {load2[0]:.2f} at end "
        f"({os.cpu_count()} cores).",
        "",
        "| run | wall s | areas phase s | cluster start s | areas done / failed | peak MB driver | peak MB per worker |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in rows:
        wmb = ", ".join(f"{v:.0f}" for v in r["worker_mb"].values())
        lines.append(f"| {name} | {r['wall']:.1f} | {r['areas_s']:.1f} | {r['startup_s']:.1f} | "
                     f"{r['done']} / {r['failed']} | {r['driver_mb']:.0f} | {wmb} |")  # fmt: skip
    cpu_lines = [
        "",
        "CPU seconds (the machine is shared, so wall seconds mostly measure waiting for a core): "
        "driver process per phase (`run.json` `cpu_s`), the tasks (sum of `per_area` `cpu_s`) and "
        "all child processes (Dask nannies and workers: imports, network load, tasks).",
        "",
        "| run | driver: load region | assign | areas phase | outputs | driver total | tasks | "
        "children (workers) | command total |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows:
        c = r["cpu"]
        cpu_lines.append(
            f"| {name} | {c.get('load_region', float('nan')):.1f} | {c.get('assign', float('nan')):.1f} | "
            f"{c.get('areas', float('nan')):.1f} | {c.get('outputs', float('nan')):.1f} | "
            f"{r['cpu_self']:.1f} | {r['tasks_cpu']:.1f} | {r['cpu_children']:.1f} | "
            f"{r['cpu_self'] + r['cpu_children']:.1f} |"
        )  # fmt: skip
    lines.append(
        f"| serial loop of `analyze --area` (sample of {len(loop)} areas, mean "
        f"{loop['seconds'].mean():.1f} s × {n}, extrapolated) | {loop_total:.0f} | | | | "
        f"{loop['peak_mb'].max():.0f} | |"
    )
    s1, s2 = runs[1], runs[2]

    # CPU-time estimate of the speed-up on an idle 2-core machine: the driver's own CPU is
    # serial; the workers' CPU (children) is split over the workers, overlapping only the
    # areas phase. Wall ≈ driver CPU outside the areas phase + max(driver areas CPU,
    # children CPU / workers).
    def _est(r: dict, w: int) -> tuple[float, float]:
        c = r["cpu"]
        areas = max(c.get("areas", 0.0), r["cpu_children"] / w)
        return r["cpu_self"] - c.get("areas", 0.0) + areas, areas

    (e1, a1), (e2, a2) = _est(s1, 1), _est(s2, 2)
    lines += cpu_lines
    lines += [
        "",
        f"- CPU-time estimate for an idle 2-core machine (driver CPU outside the areas phase + "
        f"max(driver CPU in the areas phase, workers' CPU / workers)): 1 worker {e1:.1f} s, "
        f"2 workers {e2:.1f} s, speed-up {e1 / e2:.2f}× on the command, {a1 / a2:.2f}× on the "
        "areas phase.",
        "",
        f"- speed-up 2 vs 1 worker: {s1['wall'] / s2['wall']:.2f}× on the command's wall time, "
        f"{s1['areas_s'] / s2['areas_s']:.2f}× on the areas phase (incl. cluster start), "
        f"{(s1['areas_s'] - s1['startup_s']) / (s2['areas_s'] - s2['startup_s']):.2f}× on the tasks alone.",
        f"- with `--per-area-outputs` (each task also writes its area's maps, report and "
        f"layers): speed-up 2 vs 1 worker {heavy[1]['wall'] / heavy[2]['wall']:.2f}× on the "
        f"command, {heavy[1]['areas_s'] / heavy[2]['areas_s']:.2f}× on the areas phase.",
        f"- serial `analyze` loop / batch with 2 workers: {loop_total / s2['wall']:.1f}× "
        f"(loop extrapolated from {len(loop)} timed areas).",
        f"- largest task: {per['seconds'].max():.2f} s ({per['seconds'].idxmax()}); sum of all "
        f"tasks {per['seconds'].sum():.1f} s wall, {per['cpu_s'].sum():.1f} s CPU (1-worker run); "
        f"2-worker run: {per2['seconds'].sum():.1f} s wall, {per2['cpu_s'].sum():.1f} s CPU. "
        "Where task wall time exceeds its CPU time, the workers waited for a core (other jobs).",
    ]
    text = "\n".join(lines)
    print(text)
    print("\nsampled analyze runs:\n" + loop.to_string(index=False))
    if md:
        md.write_text(
            "# `accessibility batch` on Rhein-Neckar (bench/bench_batch.py)\n\n" + text + "\n\n"
            "Sampled `analyze` runs:\n\n" + loop.to_markdown(index=False) + "\n"
            if hasattr(loop, "to_markdown") and _has_tabulate()
            else "# `accessibility batch` on Rhein-Neckar (bench/bench_batch.py)\n\n" + text + "\n"
        )


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    np.seterr(all="ignore")
    main(sys.argv[1:])

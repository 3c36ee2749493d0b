"""Benchmark: the network stage on real extracts against pyrosm, and island pruning.

For Kaiserslautern, Andorra, Malta and Rhein-Neckar, each measurement in a fresh
subprocess (so peak RSS is that of the stage alone, imports included):

- network stage, cold: :func:`accessibility.network.load_network` on an empty cache
  (parse the walkable ways, build and project the graph, write the cache);
- network stage, cached: the same call again (reads the checksummed ``.npz``);
- feature stage, cold: :func:`accessibility.osm.read_osm` after the network stage
  (points and areas carrying a feature key; the network part comes from the cache);
- pyrosm: ``OSM(file).get_network(network_type="walking")`` on the same file
  (pyrosm reads ``.pbf`` only: the ``.osm.gz`` of Kaiserslautern is converted first,
  and every reader gets that ``.pbf``).

Seconds per million OSM nodes use the file's node count. Island share: residents
(Zensus 100 m cells for Kaiserslautern, the 1 km cell midpoints for the roads-only
Rhein-Neckar file, the building estimate for Andorra and Malta) snapped within
``--max-access`` onto a component that is not the largest, without pruning
(every edge) and with pruning (``--min-component 40``), and the share that would have
snapped onto an island (< 40 nodes).

Usage::

    python bench/bench_network.py [--repeat 3] [--markdown bench/results_network.md]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from accessibility.config import MAX_ACCESS_LEG_M, shared_data_dir

_CHILD = r"""
import json, sys, time
mode, path = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if mode == "pyrosm":
    import pyrosm
    t0 = time.perf_counter()
    edges = pyrosm.OSM(path).get_network(network_type="walking")
    extra = {"edges": int(len(edges))}
elif mode == "network":
    import osmium  # library imports are outside the timing, as pyrosm's
    from accessibility.core.network import load_network
    from accessibility.inputs.osm import walk_filter
    walk_filter()  # the osmnx filter text is cached separately (osmnx import)
    t0 = time.perf_counter()
    net = load_network(path)
    extra = {"nodes": int(net.n_nodes), "edges": int(net.n_edges), "cached": bool(net.meta.get("cached"))}
elif mode == "features":
    import osmium
    from accessibility.inputs.osm import read_osm
    t0 = time.perf_counter()
    ex = read_osm(path)
    extra = {"features": int(len(ex.features)), "osm_nodes": int(ex.stats["nodes"])}
seconds = time.perf_counter() - t0
# VmHWM: the peak of this process alone (ru_maxrss would include the parent's at fork)
with open("/proc/self/status") as f:
    rss = next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024
print(json.dumps({"seconds": seconds, "rss_mb": rss, **extra}))
"""


def _child(mode: str, path: Path, cache: Path) -> dict:
    env = {**os.environ, "ACCESSIBILITY_CACHE": str(cache), "PYTHONWARNINGS": "ignore"}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(path)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def measure(path: Path, repeat: int) -> dict:
    """Cold and cached network stage, feature stage and pyrosm, ``repeat`` times each."""
    import shutil

    cold, warm, feat, rosm = [], [], [], []
    for _ in range(repeat):
        cache = Path(tempfile.mkdtemp(prefix="bench-network-"))
        try:
            cold.append(_child("network", path, cache))
            warm.append(_child("network", path, cache))
            feat.append(_child("features", path, cache))
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        rosm.append(_child("pyrosm", path, Path(tempfile.gettempdir())))
    return {
        "cold_s": _median(cold, "seconds"), "cold_rss": max(r["rss_mb"] for r in cold),
        "warm_s": _median(warm, "seconds"), "feat_s": _median(feat, "seconds"),
        "feat_rss": max(r["rss_mb"] for r in feat),
        "pyrosm_s": _median(rosm, "seconds"), "pyrosm_rss": max(r["rss_mb"] for r in rosm),
        "osm_nodes": feat[0]["osm_nodes"], "nodes": cold[0]["nodes"], "edges": cold[0]["edges"],
        "features": feat[0]["features"], "pyrosm_edges": rosm[0]["edges"],
    }  # fmt: skip


def _residents(name: str, path: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """Resident points (EPSG:4326 lon/lat) and weights for the island shares."""
    import geopandas as gpd
    import pandas as pd

    from accessibility.inputs import population as pop
    from accessibility.inputs.osm import read_osm
    from accessibility.rejects import Rejects

    d = shared_data_dir()
    if name == "Kaiserslautern":
        r = pop.read_zensus(
            [d / "kaiserslautern" / "zensus2011_100m_kaiserslautern.csv"], Rejects()
        )
        kind = "Zensus 2011 100 m cells"
    elif name == "Rhein-Neckar":
        t = pd.read_csv(d / "rhein-neckar" / "zensus2011_1km_rhein-neckar.csv", sep=";")
        r = gpd.GeoDataFrame(
            {"population": t["Einwohner"].to_numpy(float)},
            geometry=gpd.points_from_xy(t["x_mp_1km"], t["y_mp_1km"]),
            crs="EPSG:3035",
        )
        kind = "Zensus 2011 1 km cell midpoints"
    else:
        ex = read_osm(path)
        r = pop.estimate_from_buildings(ex.buildings, Rejects(), ex.features)
        kind = "building estimate"
    r = r.to_crs("EPSG:4326")
    geom = r.geometry if r.geom_type.eq("Point").all() else r.geometry.representative_point()
    return np.column_stack([geom.x, geom.y]), r["population"].to_numpy(float), kind


def island_shares(name: str, path: Path, min_component: int = 40) -> dict:
    """Residents on a non-largest component without and with pruning, and on islands."""
    from pyproj import Transformer

    from accessibility.core.network import load_network

    net = load_network(path, min_component=min_component)
    lonlat, w, kind = _residents(name, path)
    x, y = Transformer.from_crs("EPSG:4326", net.crs, always_xy=True).transform(*lonlat.T)
    xy = np.column_stack([x, y])
    comp = net.components()
    every = net.snap(xy, islands=True)
    pruned = net.snap(xy)
    ok_every = every.access <= MAX_ACCESS_LEG_M
    ok_pruned = pruned.access <= MAX_ACCESS_LEG_M
    total = w[ok_every].sum()
    frag_before = w[ok_every & (comp[net.u[every.edge]] != 0)].sum()
    frag_after = w[ok_pruned & (comp[net.u[pruned.edge]] != 0)].sum()
    island = w[ok_every & ~net.kept_edges()[every.edge]].sum()
    return {
        "kind": kind, "residents": total, "frag_before": frag_before / total,
        "frag_after": frag_after / w[ok_pruned].sum(), "island_before": island / total,
        "lost_to_max_access": w[ok_every & ~ok_pruned].sum() / total,
        **net.pruning(),
    }  # fmt: skip


def _kl_pbf(tmp: Path) -> Path:
    import osmium

    src = shared_data_dir() / "kaiserslautern" / "kaiserslautern.osm.gz"
    out = tmp / "kaiserslautern.osm.pbf"
    with osmium.SimpleWriter(str(out)) as wr:
        for obj in osmium.FileProcessor(str(src)):
            wr.add(obj)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--markdown", type=Path)
    args = ap.parse_args()
    d = shared_data_dir()
    tmp = Path(tempfile.mkdtemp(prefix="bench-network-data-"))
    files = {
        "Kaiserslautern": _kl_pbf(tmp),
        "Andorra": d / "extracts" / "andorra-2021-10.osm.pbf",
        "Malta": d / "extracts" / "malta-2016-11.osm.pbf",
        "Rhein-Neckar": d / "rhein-neckar" / "rnv-2016-12.osm.pbf",
    }
    load0 = os.getloadavg()[0]
    rows, notes = [], []
    for name, path in files.items():
        m = measure(path, args.repeat)
        with tempfile.TemporaryDirectory() as cache:
            os.environ["ACCESSIBILITY_CACHE"] = cache
            s = island_shares(name, path)
        mn = m["osm_nodes"] / 1e6
        rows.append([
            f"{name} ({m['osm_nodes']:,} OSM nodes; {m['nodes']:,} / {m['edges']:,} graph nodes / edges)",
            f"{m['cold_s']:.2f} s, {m['cold_rss']:.0f} MB",
            f"{m['cold_s'] / mn:.2f} s",
            f"{m['pyrosm_s']:.2f} s, {m['pyrosm_rss']:.0f} MB",
            f"{m['cold_s'] / m['pyrosm_s']:.2f}× {'**pass**' if m['cold_s'] <= m['pyrosm_s'] else '**fail**'}",
            f"{m['warm_s']:.3f} s: {m['cold_s'] / m['warm_s']:.0f}× {'**pass**' if m['cold_s'] >= 10 * m['warm_s'] else '**fail**'}",
            f"{m['feat_s']:.2f} s, {m['feat_rss']:.0f} MB ({m['features']:,})",
            f"{s['frag_before']:.1%} → {s['frag_after']:.1%} (islands {s['island_before']:.1%})",
        ])  # fmt: skip
        notes.append(
            f"{name}: residents from the {s['kind']} ({s['residents']:,.0f} within "
            f"{MAX_ACCESS_LEG_M:.0f} m); {s['edges_pruned']:,} of {s['edges']:,} edges in "
            f"{s['components_pruned']:,} islands pruned; {s['barriers_split']} closed barriers "
            f"split; pyrosm's walking network has {m['pyrosm_edges']:,} rows (one per way)."
        )
    load1 = os.getloadavg()[0]
    head = ["extract", "network stage, cold (seconds, peak RSS)", "network stage per million OSM nodes",
            "pyrosm get_network('walking')", "ours / pyrosm (target ≤ 1.0×)",
            "cached reload (target ≥ 10× faster)", "feature stage, cold (features)",
            "residents on non-main components: no pruning → pruned"]  # fmt: skip
    t = Table(title="Network stage on real extracts")
    for h in head:
        t.add_column(h)
    for r in rows:
        t.add_row(*r)
    Console().print(t)
    for n in notes:
        print(n)
    if args.markdown:
        lines = [
            "# Network stage: parse, graph and cache on real extracts, against pyrosm",
            "",
            f"Median of {args.repeat} runs, each stage in a fresh subprocess (peak RSS = the "
            f"whole process, imports included); 2 CPUs shared with other jobs; 1-min load "
            f"average {load0:.1f} at start, {load1:.1f} at end. Run on {time.strftime('%Y-%m-%d')}.",
            "",
            "| " + " | ".join(head) + " |",
            "|" + "---|" * len(head),
            *["| " + " | ".join(r) + " |" for r in rows],
            "",
            *[f"- {n}" for n in notes],
            "",
        ]
        args.markdown.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()

"""Benchmark: isochrone polygons for every Kaiserslautern site at 5/10/15 minutes.

Rows:

- blocks: the faces of the planar walking network (noding + ``shapely.polygonize``), built
  once per network and cached next to the network cache; shown built and loaded.
- ``accessibility.isochrones`` (per site + per category): one Dijkstra per site
  (scipy, ``limit`` = largest threshold), exact reached edge intervals, 30 m corridor;
  blocks enclosed by fully reached streets merged (coverage union) and buffered once,
  only the other pieces buffered on their own; each band grown from the previous one;
  categories as the union of their sites' bands. On all CPUs (threads; GEOS releases the
  GIL) and on one CPU.
- ``accessibility.isochrones`` (per category only): multi-source minimum distances.
- OSMnx notebook (``ego_graph`` + edge buffers + ``unary_union`` per site and threshold):
  the approach of the OSMnx isochrone example notebook, on the same network as a
  networkx graph; node-based, so partly reached edges are missing.

Usage::

    python bench/bench_isochrones.py [--repeat 3] [--skip-osmnx] [--markdown bench/results_isochrones.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np
import shapely
from rich.console import Console
from rich.table import Table

from accessibility.config import DEFAULT_MINUTES, DEFAULT_SPEED_KMH, shared_data_dir
from accessibility.core import isochrones as iso
from accessibility.core.analysis import metres_per_minute
from accessibility.core.blocks import _build, network_blocks
from accessibility.core.routing import site_graph
from accessibility.pipeline import load_inputs, run


def _time(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def osmnx_notebook(a, corridor_m: float = iso.CORRIDOR_M) -> list:
    """ego_graph per site and threshold, buffer every edge of the subgraph, union."""
    net = a.network
    g = nx.Graph()
    g.add_weighted_edges_from(
        zip(net.u.tolist(), net.v.tolist(), net.length.tolist(), strict=True), weight="length"
    )
    lines = net.edge_lines()
    edge_idx = {(int(u), int(v)): i for i, (u, v) in enumerate(zip(net.u, net.v, strict=True))}
    # nearest node of each site (the notebook snaps to nodes)
    snap = a.site_snap
    node = np.where(snap.t < 0.5, net.u[snap.edge], net.v[snap.edge])
    mpm = metres_per_minute(a.speed_kmh)
    out = []
    for n in node:
        for m in sorted(a.minutes, reverse=True):
            sub = nx.ego_graph(g, int(n), radius=m * mpm, distance="length")
            ids = [edge_idx[(min(u, v), max(u, v))] for u, v in sub.edges()]
            polys = [shapely.buffer(lines[i], corridor_m) for i in ids]
            out.append(shapely.union_all(polys) if polys else shapely.Polygon())
    return out


def _threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-osmnx", action="store_true")
    ap.add_argument("--markdown", type=Path, help="also write the table as Markdown to this file")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    con = Console()
    d = shared_data_dir() / "kaiserslautern"
    with con.status("loading Kaiserslautern…"):
        inputs = load_inputs(network=d / "kaiserslautern.osm.gz",
                             population=[d / "zensus2011_100m_kaiserslautern.csv"])  # fmt: skip
        a = run(inputs, minutes=DEFAULT_MINUTES, speed_kmh=DEFAULT_SPEED_KMH)
    k = len(a.sites)
    sg = site_graph(a.network, a.site_snap)
    mpm = metres_per_minute(a.speed_kmh)
    net = a.network
    t_blk, blocks = _time(lambda: _build(net), args.repeat)
    with tempfile.TemporaryDirectory() as tmp:  # the cache file next to a network cache
        net._cache_file = Path(tmp) / "network.npz"
        net._blocks = None
        network_blocks(net)
        t_load, _ = _time(lambda: setattr(net, "_blocks", None) or network_blocks(net), args.repeat)
    net._cache_file, net._blocks = None, blocks
    t_dij, _ = _time(lambda: iso.site_distances(sg, limit=max(a.minutes) * mpm), args.repeat)
    t_all, g = _time(lambda: iso.from_analysis(a), args.repeat)
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if cpus and len(cpus) > 1:
        os.sched_setaffinity(0, {min(cpus)})
        t_one, _ = _time(lambda: iso.from_analysis(a), args.repeat)
        os.sched_setaffinity(0, cpus)
    t_cat, gc = _time(lambda: iso.from_analysis(a, per_site=False), args.repeat)
    n_site = int((g.kind == "site").sum())
    rows = [
        (f"accessibility: blocks, built once per network ({len(blocks.faces):,} faces)",
         t_blk, "", ""),
        ("accessibility: blocks, loaded from the cache", t_load, "", ""),
        ("accessibility: Dijkstra per site (limit 15 min)", t_dij, "", ""),
        (f"accessibility: {n_site} site + {len(g) - n_site} category polygons "
         f"({_threads()} CPUs)", t_all, len(g),
         f"{g.loc[g.kind == 'site', 'area_m2'].mean() / 1e6:.2f}"),
    ]  # fmt: skip
    if cpus and len(cpus) > 1:
        rows.append(("  the same on 1 CPU", t_one, len(g), ""))
    rows.append(("accessibility: per category polygons only", t_cat, len(gc), ""))
    if not args.skip_osmnx:
        with con.status("OSMnx notebook approach…"):
            t_nb, polys = _time(lambda: osmnx_notebook(a), 1)
        big = [p for p in polys]
        rows.append(("OSMnx notebook: ego_graph + edge buffers + union", t_nb, len(big),
                     f"{np.mean([p.area for p in big]) / 1e6:.2f}"))  # fmt: skip
    title = (f"Isochrones, Kaiserslautern: {k} sites × {len(a.minutes)} thresholds "
             f"({a.network.n_nodes:,} nodes, {a.network.n_edges:,} edges)")  # fmt: skip
    cols = ("approach", "seconds (median)", "polygons", "mean site polygon km²")
    t = Table(title=title)
    for c in cols:
        t.add_column(c, justify="left" if c == "approach" else "right")
    for name, sec, n, area in rows:
        t.add_row(name, f"{sec:.3f}", str(n), area)
    con.print(t)
    if args.markdown:
        nb = next((sec for name, sec, *_ in rows if name.startswith("OSMnx")), None)
        lines = [
            f"# {title}",
            "",
            f"Median of {args.repeat} repeats; {_threads()} CPUs; 1-min load average "
            f"{load0:.1f} at start, {os.getloadavg()[0]:.1f} at end. "
            "Target: every site's polygons at three thresholds in well under a second.",
            "",
            "| " + " | ".join(cols) + " |",
            "|" + "---|" * len(cols),
            *[f"| {name.strip()} | {sec:.3f} | {n} | {area} |" for name, sec, n, area in rows],
        ]
        if nb is not None:
            lines += ["", f"The OSMnx notebook way takes {nb / t_all:.0f}× as long as ours on "
                          f"{_threads()} CPUs ({nb / t_one if cpus and len(cpus) > 1 else nb / t_all:.0f}× on one CPU)."]  # fmt: skip
        args.markdown.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

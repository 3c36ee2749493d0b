"""Benchmark: isochrone polygons for every Kaiserslautern site at 5/10/15 minutes.

Rows:

- ``accessibility.isochrones`` (per site + per category): one Dijkstra per site
  (scipy, ``limit`` = largest threshold), exact reached edge intervals, 30 m corridor,
  union of chain buffers; per-site bands grown from the previous band; categories
  as the union of their sites' polygons. Broken down into Dijkstra / polygons.
- ``accessibility.isochrones`` (per category only): multi-source minimum distances.
- OSMnx notebook (``ego_graph`` + edge buffers + ``unary_union`` per site and threshold):
  the approach of the OSMnx isochrone example notebook, on the same network as a
  networkx graph; node-based, so partly reached edges are missing.

Usage::

    python bench/bench_isochrones.py [--repeat 3] [--skip-osmnx]
"""

from __future__ import annotations

import argparse
import statistics
import time

import networkx as nx
import numpy as np
import shapely
from rich.console import Console
from rich.table import Table

from accessibility import isochrones as iso
from accessibility.analysis import metres_per_minute
from accessibility.config import DEFAULT_MINUTES, DEFAULT_SPEED_KMH, shared_data_dir
from accessibility.pipeline import load_inputs, run
from accessibility.routing import site_graph


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-osmnx", action="store_true")
    args = ap.parse_args()
    con = Console()
    d = shared_data_dir() / "kaiserslautern"
    with con.status("loading Kaiserslautern…"):
        inputs = load_inputs(network=d / "kaiserslautern.osm.gz",
                             population=[d / "zensus2011_100m_kaiserslautern.csv"])  # fmt: skip
        a = run(inputs, minutes=DEFAULT_MINUTES, speed_kmh=DEFAULT_SPEED_KMH)
    k = len(a.sites)
    sg = site_graph(a.network, a.site_snap)
    mpm = metres_per_minute(a.speed_kmh)
    t_dij, _ = _time(lambda: iso.site_distances(sg, limit=max(a.minutes) * mpm), args.repeat)
    t_all, g = _time(lambda: iso.from_analysis(a), args.repeat)
    t_cat, gc = _time(lambda: iso.from_analysis(a, per_site=False), args.repeat)
    rows = [
        ("accessibility: Dijkstra per site (limit 15 min)", t_dij, "", ""),
        ("accessibility: per site + per category polygons", t_all, len(g),
         f"{g.loc[g.kind == 'site', 'area_m2'].mean() / 1e6:.2f}"),
        ("accessibility: per category polygons only", t_cat, len(gc), ""),
    ]  # fmt: skip
    if not args.skip_osmnx:
        with con.status("OSMnx notebook approach…"):
            t_nb, polys = _time(lambda: osmnx_notebook(a), 1)
        big = [p for p in polys]
        rows.append(("OSMnx notebook: ego_graph + edge buffers + union", t_nb, len(big),
                     f"{np.mean([p.area for p in big]) / 1e6:.2f}"))  # fmt: skip
    t = Table(title=f"Isochrones, Kaiserslautern: {k} sites × {len(a.minutes)} thresholds "
                    f"({a.network.n_nodes:,} nodes, {a.network.n_edges:,} edges)")  # fmt: skip
    for c in ("approach", "seconds (median)", "polygons", "mean site polygon km²"):
        t.add_column(c, justify="left" if c == "approach" else "right")
    for name, sec, n, area in rows:
        t.add_row(name, f"{sec:.3f}", str(n), area)
    con.print(t)


if __name__ == "__main__":
    main()

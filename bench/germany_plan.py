"""Germany on paper: sizes, cost model and wall time of ``accessibility batch`` for all 10,990
municipalities, from real tables (writes ``bench/germany_plan.md``).

Inputs, all real:

- ``$ACCESSIBILITY_DATA/germany``: VG250 municipalities (10,990 polygons, EPSG:25832) and the
  Zensus 2011 1 km grid (214,633 inhabited cells, 80.2 M residents);
- ``bench/batch_areas_rhein-neckar.csv``: the per-area cost measured by ``bench/bench_batch.py``
  (1-worker run: clipped network edges, resident points, seconds, peak MB);
- ``$ACCESSIBILITY_DATA/rhein-neckar``: the region's network (parsed here once, uncached, to
  measure the parse rate and the memory a network takes) and municipalities (to fit the
  network size against area and residents).

    python bench/germany_plan.py            # prints the tables and writes bench/germany_plan.md

What is measured and what is estimated is said in the document.
"""

from __future__ import annotations

import heapq
import os
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from accessibility.config import shared_data_dir  # noqa: E402

DATA = shared_data_dir()
BUFFER_M = 15 * 4.8 * 1000 / 60 + 500  # 15 min at 4.8 km/h plus the 500 m access leg
WORKERS = (2, 16, 128)
#: seconds to read the national 1 km zip (214,633 cells), measured by bench/bench_grids.py
#: (bench/README.md, "Germany 1 km zips"); a task reading its Land's cut of the grid reads
#: that share of it
READ_NATIONAL_S = 1.31


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure_network() -> dict:
    """Parse the Rhein-Neckar extract uncached; MB the network and its edge tree take."""
    os.environ["ACCESSIBILITY_CACHE"] = tempfile.mkdtemp(prefix="germany-plan-")
    from accessibility.core.network import load_network
    from accessibility.planning.batch import edge_tree

    before = _rss_mb()
    t0 = time.perf_counter()
    net = load_network(DATA / "rhein-neckar" / "rnv-2016-12.osm.pbf", use_cache=False)
    parse_s = time.perf_counter() - t0
    edge_tree(net)
    after = _rss_mb()
    return {"nodes": net.n_nodes, "edges": net.n_edges, "parse_s": parse_s,
            "net_mb": after - before, "pbf_mb": (DATA / "rhein-neckar" / "rnv-2016-12.osm.pbf").stat().st_size / 2**20}  # fmt: skip


def rn_areas() -> pd.DataFrame:
    """Rhein-Neckar per-area cost joined with area (km², buffered) and inhabited cells."""
    cost = pd.read_csv(ROOT / "bench" / "batch_areas_rhein-neckar.csv", dtype={"area_id": str})
    g = gpd.read_file(DATA / "rhein-neckar" / "gemeinden_rhein-neckar.gpkg").to_crs("EPSG:25832")
    g["buffer_km2"] = g.geometry.buffer(BUFFER_M).area / 1e6
    hull = shapely.MultiPoint(_rn_nodes()).convex_hull
    g["inside"] = g.geometry.buffer(BUFFER_M).within(hull)
    cells = pd.read_csv(DATA / "rhein-neckar" / "zensus2011_1km_rhein-neckar.csv", sep=";")
    g["cells"] = _count_cells(g, cells)
    return cost.merge(
        g[["ARS", "buffer_km2", "inside", "cells"]], left_on="area_id", right_on="ARS"
    )


_NODES: list = []


def _rn_nodes() -> np.ndarray:
    from accessibility.core.network import load_network

    if not _NODES:
        _NODES.append(load_network(DATA / "rhein-neckar" / "rnv-2016-12.osm.pbf").node_xy)
    return _NODES[0]


def _count_cells(g: gpd.GeoDataFrame, cells: pd.DataFrame, weight: str | None = None) -> np.ndarray:
    pts = gpd.GeoSeries(gpd.points_from_xy(cells["x_mp_1km"], cells["y_mp_1km"]), crs="EPSG:3035")
    pts = pts.to_crs(g.crs).to_numpy()
    pi, ai = shapely.STRtree(g.geometry.to_numpy()).query(pts, predicate="within")
    first = np.unique(pi, return_index=True)[1]  # a midpoint on a shared border counts once
    pi, ai = pi[first], ai[first]
    w = np.ones(len(pi)) if weight is None else cells[weight].to_numpy(float)[pi]
    return np.bincount(ai, weights=w, minlength=len(g))


def germany() -> gpd.GeoDataFrame:
    g = gpd.read_file(f"zip://{DATA / 'germany' / 'VG250_GEM_simplified.zip'}!VG250_GEM.shp")
    g = g.to_crs("EPSG:25832")
    cells = pd.read_csv(DATA / "germany" / "csv_Zensus2011_Bevoelkerung_1km-Gitter.zip", sep=";")
    g["area_km2"] = g.geometry.area / 1e6
    g["buffer_km2"] = g.geometry.buffer(BUFFER_M).area / 1e6
    g["cells"] = _count_cells(g, cells)
    g["residents"] = _count_cells(g, cells, "Einwohner")
    g.attrs["cells_total"] = len(cells)
    g.attrs["residents_total"] = float(cells["Einwohner"].sum())
    return g


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares with non-negative coefficients (x: columns incl. a constant)."""
    from scipy.optimize import nnls

    return nnls(x, y)[0]


def makespan(tasks: np.ndarray, workers: int) -> float:
    """Largest-first list scheduling (what the batch does) of ``tasks`` seconds on ``workers``."""
    heap = [0.0] * workers
    for t in np.sort(tasks)[::-1]:
        heapq.heapreplace(heap, heap[0] + t)
    return max(heap)


def main() -> None:
    m = measure_network()
    rn = rn_areas()
    ok = rn[(rn["resident_points"] > 0) & rn["inside"]]
    # network size of a task: edges ≈ a·buffer km² + b·inhabited cells (roads-only network)
    ce = fit(np.column_stack([ok["buffer_km2"], ok["cells"]]), ok["edges"].to_numpy(float))
    # seconds of a task: s ≈ c0 + c1·edges + c2·resident points
    cs = fit(np.column_stack([np.ones(len(ok)), ok["edges"], ok["resident_points"]]),
             ok["seconds"].to_numpy(float))  # fmt: skip
    pts_per_cell = ok["resident_points"].sum() / ok["cells"].sum()
    cpu_share = rn["cpu_s"].sum() / rn["seconds"].sum() if "cpu_s" in rn else float("nan")
    pred_rn = cs[0] + cs[1] * ok["edges"] + cs[2] * ok["resident_points"]
    r2 = (
        1
        - ((ok["seconds"] - pred_rn) ** 2).sum()
        / ((ok["seconds"] - ok["seconds"].mean()) ** 2).sum()
    )
    worker_base = (
        float(rn["peak_mb"].max()) - m["net_mb"]
    )  # measured worker peak minus the region's network
    mb_per_edge = m["net_mb"] / m["edges"]
    parse_per_edge = m["parse_s"] / m["edges"]

    g = germany()
    g["edges"] = ce[0] * g["buffer_km2"] + ce[1] * g["cells"]
    g["points"] = pts_per_cell * g["cells"]
    g["seconds"] = cs[0] + cs[1] * g["edges"] + cs[2] * g["points"]
    # --networks: every task parses its own (buffered) extract first
    g["parse_s"] = parse_per_edge * g["edges"]
    land = g["ARS"].str[:2]
    land_cells = g.groupby(land)["cells"].transform("sum")
    g["read_s"] = READ_NATIONAL_S * land_cells / g.attrs["cells_total"]
    g["task_s"] = g["seconds"] + g["parse_s"] + g["read_s"]
    g["task_mb"] = (
        worker_base + mb_per_edge * g["edges"] * 2
    )  # clipped copy while the extract is held
    edges_total = float(g["edges"].sum())
    by_land = g.groupby(land).agg(km2=("area_km2", "sum"), cells=("cells", "sum"))
    land_edges = ce[0] * by_land["km2"] + ce[1] * by_land["cells"]
    big = g.sort_values("residents", ascending=False).iloc[0]

    q = g["residents"].quantile([0.5, 0.9, 0.99, 1.0])
    lines = [
        "# Germany on paper: `accessibility batch` for all 10,990 municipalities",
        "",
        "Recomputed by `python bench/germany_plan.py` from the real tables in `$ACCESSIBILITY_DATA/germany` "
        "(VG250 municipalities, Zensus 2011 1 km grid) and the per-area costs measured on Rhein-Neckar "
        "by `bench/bench_batch.py` (`bench/batch_areas_rhein-neckar.csv`). Thresholds 5/10/15 min at "
        f"4.8 km/h, access leg 500 m, walking buffer {BUFFER_M:,.0f} m. No national OSM extract is "
        "available here, so every network figure is **estimated** from the roads-only Rhein-Neckar "
        "network; a full walking network (footways, paths) has roughly 2–3× more edges.",
        "",
        "## Task sizes (measured from the tables)",
        "",
        f"- {len(g):,} municipalities; {g.attrs['cells_total']:,} inhabited 1 km cells, "
        f"{g.attrs['residents_total'] / 1e6:.1f} M residents; "
        f"{(g['residents'].sum()) / 1e6:.1f} M of them assigned to a municipality by cell midpoint.",
        f"- residents per municipality: median {q[0.5]:,.0f}, 90 % {q[0.9]:,.0f}, 99 % {q[0.99]:,.0f}, "
        f"max {q[1.0]:,.0f} ({big['ARS']}, {big['area_km2']:,.0f} km²); "
        f"{int((g['residents'] == 0).sum())} municipalities hold no cell midpoint.",
        f"- area: median {g['area_km2'].median():.1f} km², max {g['area_km2'].max():,.0f} km²; "
        f"buffered by {BUFFER_M:,.0f} m: median {g['buffer_km2'].median():.1f} km².",
        "",
        "## Cost model (fitted on Rhein-Neckar, measured)",
        "",
        f"- Rhein-Neckar network: {m['nodes']:,} nodes, {m['edges']:,} edges ({m['pbf_mb']:.1f} MB pbf); "
        f"parse uncached {m['parse_s']:.1f} s → {parse_per_edge * 1e6:.1f} µs per edge; "
        f"network + edge tree in memory {m['net_mb']:.0f} MB → {mb_per_edge * 1e3:.2f} kB per edge.",
        f"- network edges of a task ≈ {ce[0]:.0f} · buffer km² + {ce[1]:.0f} · inhabited cells "
        f"(fit on the {len(ok)} Rhein-Neckar areas whose buffer lies inside the extract).",
        f"- resident points ≈ {pts_per_cell:.1f} per inhabited 1 km cell (cells spread along residential streets).",
        f"- seconds of a task ≈ {cs[0]:.3f} + {cs[1] * 1e6:.2f} µs · edges + {cs[2] * 1e6:.1f} µs · points "
        f"(R² {r2:.2f}); measured tasks: median {ok['seconds'].median():.2f} s, max {ok['seconds'].max():.2f} s.",
        f"- the tasks' CPU seconds were {cpu_share:.0%} of their wall seconds (the machine was shared: "
        "load average about 10 on 2 cores while measuring), so the times below, fitted on wall seconds, "
        "are pessimistic by up to "
        f"{1 / cpu_share:.1f}× on a machine of one's own.",
        f"- peak memory of a worker: measured {rn['peak_mb'].max():.0f} MB holding the whole Rhein-Neckar "
        f"network; without it ≈ {worker_base:.0f} MB (Python, libraries, one area's work).",
        "",
        "## Germany: estimates",
        "",
        f"- network edges (roads-only, summed over the buffered areas, overlaps counted twice): "
        f"{edges_total / 1e6:.1f} M; the largest task ({big['ARS']}) ≈ {big['edges'] / 1e3:,.0f} k edges, "
        f"{big['points'] / 1e3:,.0f} k resident points, {big['task_s']:.0f} s.",
        f"- total work: {g['seconds'].sum() / 3600:.2f} worker-hours analysis + "
        f"{g['parse_s'].sum() / 3600:.2f} worker-hours parsing the per-area extracts + "
        f"{g['read_s'].sum() / 3600:.2f} worker-hours reading each task's Land grid "
        f"(the national zip in every task instead: {READ_NATIONAL_S * len(g) / 3600:.1f} worker-hours, "
        "hence the per-Land cut of the grid).",
        "",
        "| workers | wall time (largest-first schedule) | of which the largest task | memory per worker (peak) | memory total |",
        "|---:|---:|---:|---:|---:|",
    ]
    for w in WORKERS:
        span = makespan(g["task_s"].to_numpy(float), w)
        peak = float(g["task_mb"].max())
        lines.append(f"| {w} | {span / 60:,.1f} min | {big['task_s'] / 60:.1f} min | {peak:,.0f} MB | "
                     f"{peak * w / 1024:,.1f} GB |")  # fmt: skip
    lines += [
        "",
        "The wall time is the makespan of largest-first list scheduling of the modelled task "
        "seconds (what `batch` does: one task per area, highest priority first); scheduler "
        "overhead (~10 ms per task with dask.distributed) and the cluster start (a few seconds, "
        "measured in `bench/results_batch.md`) are not included. With 128 workers the largest "
        "municipality bounds the wall time.",
        "",
        "## Cutting the national extract so that no worker holds it whole",
        "",
        "The Geofabrik `germany-latest.osm.pbf` is ~4 GB (2024). Nobody parses it in a worker:",
        "",
        "1. One pass of `osmium extract --strategy smart --config laender.json germany-latest.osm.pbf` "
        f"writes the 16 Länder, each polygon buffered by {BUFFER_M / 1000:.1f} km (the walking buffer) "
        "plus a margin (osmium holds per-extract node bitmaps, fine for 16 extracts on one machine with ~8 GB).",
        "2. Per Land, `osmium extract --config gemeinden_<land>.json` cuts every municipality's "
        "buffered polygon (osmium handles hundreds of extracts per pass; split the config into "
        "chunks of ~300 for Bayern's 2,056 municipalities). Files are named by the ARS key.",
        "3. The Zensus grid and the municipalities are cut per Land the same way (one pass over "
        "the 214,633 cells and the 10,990 polygons).",
        "4. Per Land (16 commands on the same cluster, one after another or at once): "
        "`accessibility batch --areas gemeinden_<land>.gpkg --area-id ARS --networks extracts/<land>/ "
        "--population grid_<land>.csv --sites sites.csv "
        "--scheduler tcp://scheduler:8786`: each task parses only its own small extract "
        "(parse time counted above), spreads the 1 km cells of its area, and is analysed; "
        "results are small tables. The extracts and the package's cache live on a shared file system "
        "(NFS, or an object store mounted on every worker).",
        "",
        "Alternatively (fewer files): run one `batch --network <land>.osm.pbf` per Land "
        "(16 driver runs, each Land's network parsed once into the shared cache and clipped per "
        "municipality by the workers, as on Rhein-Neckar). A worker then holds one Land's network: "
        f"≈ {mb_per_edge * land_edges.max() / 1024:.1f} GB for the largest Land "
        f"({land_edges.idxmax()}, ≈ {land_edges.max() / 1e6:.1f} M edges, roads-only estimate "
        f"{ce[0]:.0f} · km² + {ce[1]:.0f} · inhabited cells), which is why the per-municipality "
        "extracts are the default plan.",
        "",
        "## What is measured and what is estimated",
        "",
        "- Measured: residents, cells and areas per municipality (real tables); Rhein-Neckar task "
        "costs, parse rate and network memory (this machine, shared by other jobs).",
        "- Estimated: the network size of German municipalities (fitted on a roads-only regional "
        "extract), hence task seconds and memory; the cost of the per-area population read is "
        "assumed to be part of the fitted task time (it is in Rhein-Neckar's region mode done once "
        "by the driver, so `--networks` tasks will be somewhat slower than modelled).",
    ]
    text = "\n".join(lines) + "\n"
    (ROOT / "bench" / "germany_plan.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()

"""Zensus grids of any size: reading and spreading coarse cells, on real data (issue 10).

Prints a Markdown table: per case the cells read, the seconds to read the tables and to
spread the cells (buildings / streets), the resident points made, the residents rejected,
and the peak RSS of a fresh process that runs only that case (network and OSM features
read from the cache first, not counted in the seconds).

    python bench/bench_grids.py

Needs ``$ACCESSIBILITY_DATA`` (default ``../shared/data``) with ``rhein-neckar/``,
``germany/`` and ``kaiserslautern/``. Uses a temporary ``ACCESSIBILITY_CACHE``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time

CASES = {
    "Rhein-Neckar 1 km + age table, roads-only network (streets)": (
        "rhein-neckar/rnv-2016-12.osm.pbf",
        ["rhein-neckar/zensus2011_1km_rhein-neckar.csv",
         "rhein-neckar/zensus2011_1km_rhein-neckar_alter.csv"],
    ),
    "Germany 1 km zips (all 214,633 cells) on Kaiserslautern (buildings)": (
        "kaiserslautern/kaiserslautern.osm.gz",
        ["germany/csv_Zensus2011_Bevoelkerung_1km-Gitter.zip",
         "germany/csv_Zensus2011_Alter_1km-Gitter.zip"],
    ),
    "Kaiserslautern 100 m (read only, not spread: the baseline)": (
        "kaiserslautern/kaiserslautern.osm.gz",
        ["kaiserslautern/zensus2011_100m_kaiserslautern.csv"],
    ),
}  # fmt: skip


def _case(args) -> dict:
    network, tables = args
    from accessibility.config import shared_data_dir
    from accessibility.inputs.osm import read_osm
    from accessibility.inputs.spread import spread_cells
    from accessibility.inputs.zensus import read_zensus
    from accessibility.rejects import Rejects

    d = shared_data_dir()
    extract = read_osm(d / network)
    _ = extract.buildings
    rejects = Rejects()
    t0 = time.perf_counter()
    cells = read_zensus([d / t for t in tables], rejects)
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = cells
    if cells.attrs["cell_size_m"] > 100:
        out = spread_cells(
            cells, extract.buildings, extract.segments, extract.nodes, rejects,
            areas=extract.features,
        )  # fmt: skip
    t_spread = time.perf_counter() - t0
    sp = out.attrs.get("spread", {})
    return {
        "cells": len(cells),
        "read_s": t_read,
        "spread_s": t_spread,
        "points": len(out),
        "rejected": sp.get("residents_rejected", 0.0),
        "residents": float(cells["population"].sum()),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    os.environ.setdefault("ACCESSIBILITY_CACHE", tempfile.mkdtemp(prefix="bench-grids-"))
    ctx = mp.get_context("spawn")
    print(
        "| case | cells | residents | read s | spread s | resident points | residents rejected | peak RSS MB |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, args in CASES.items():
        with ctx.Pool(1) as pool:
            pool.apply(_case, (args,))  # warm the network/OSM cache in a throw-away process
        with ctx.Pool(1) as pool:
            r = pool.apply(_case, (args,))
        print(
            f"| {label} | {r['cells']:,} | {r['residents']:,.0f} | {r['read_s']:.2f} | "
            f"{r['spread_s']:.2f} | {r['points']:,} | {r['rejected']:,.0f} | {r['rss_mb']:.0f} |",
            flush=True,
        )
        print(f"done: {label}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Benchmark of supply and demand (2SFCA, E2SFCA; issue 15) against PySAL ``access``.

For each case the same analysis (sites, residents, network minutes) is scored twice:

* **ours** — :func:`accessibility.core.supply.supply_demand`: one Dijkstra per site bounded
  by the catchment (``routing.site_pairs``), sparse (site, resident) pairs, both steps with
  ``numpy.bincount``; classic 2SFCA, Gaussian E2SFCA and the decay-weighted opportunities,
  for every category and ``all``;
* **access** — the cost-matrix approach: the full sites × residents matrix of door-to-door
  minutes (built with our own unbounded searches, the fastest way we have; a notebook would
  use networkx or pandana), then ``access.Access.two_stage_fca`` and
  ``enhanced_two_stage_fca`` (same Gaussian weight, ``max_cost`` = the catchment) for ``all``.

Time is wall-clock seconds (best of ``--repeats``); memory is the ``tracemalloc`` peak of
the Python and numpy allocations of one run (MiB). The two results are compared: the largest
difference must stay below 1e-9 capacity units per 1,000 residents.

Cases: Kaiserslautern (Zensus 2011 100 m cells) with its 9 OSM docking points and with 200
random building points as sites; Malta (residents estimated from the buildings) with its OSM
docking points and 200 random building points. Capacities are random (seed 0, 1–40 hours).
Usage::

    python bench/bench_access.py [--quick] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from accessibility.config import shared_data_dir
from accessibility.core import supply as sup
from accessibility.core.analysis import analyze
from accessibility.core.routing import site_graph, site_pairs
from accessibility.pipeline import load_inputs

console = Console(stderr=True)
CATCHMENT = 10.0
N_RANDOM = 200


def _random_sites(inputs, n: int) -> gpd.GeoDataFrame:
    b = inputs.extract.buildings
    rng = np.random.default_rng(0)
    pts = b.geometry.iloc[rng.choice(len(b), n, replace=False)].representative_point()
    return gpd.GeoDataFrame(
        {"site_id": [f"s:{i}" for i in range(n)], "name": [f"site {i}" for i in range(n)],
         "category": "advice_centre", "source": "bench",
         "row": pd.array(np.arange(1, n + 1), dtype="Int64"), "osm_tags": None},
        geometry=pts.to_numpy(), crs="EPSG:4326",
    )  # fmt: skip


def _measure(fn, repeats: int):
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return best, peak, out


def _ours(a, capacity):
    b = replace(a, residents=a.residents.copy(), sites=a.sites.copy(), supply=None)
    sup.supply_demand(b, capacity=capacity, catchment=CATCHMENT)
    return b


def _matrix(a):
    s, r, d = site_pairs(a.network, site_graph(a.network, a.site_snap), a.resident_snap, np.inf)
    return pd.DataFrame({"origin": r, "dest": s, "minutes": d / a.params.metres_per_minute})


def _access(a, capacity, cost):
    import access

    demand = pd.DataFrame({"population": a.residents["population"].to_numpy(float)})
    demand.index.name = "resident"
    supply = pd.DataFrame({"capacity": capacity})
    supply.index.name = "site"
    acc = access.Access(
        demand_df=demand, demand_value="population", supply_df=supply, supply_value="capacity",
        cost_df=cost, cost_origin="origin", cost_dest="dest", cost_name="minutes",
    )  # fmt: skip
    n = len(a.residents)
    classic = acc.two_stage_fca(name="fca", max_cost=CATCHMENT)["fca_capacity"]
    enhanced = acc.enhanced_two_stage_fca(
        name="efca", max_cost=CATCHMENT, weight_fn=lambda t: float(sup.gaussian(t, CATCHMENT))
    )["efca_capacity"]
    return (
        classic.reindex(range(n)).fillna(0).to_numpy() * 1000,
        enhanced.reindex(range(n)).fillna(0).to_numpy() * 1000,
    )


def _case(label: str, a, repeats: int, access_repeats: int) -> dict:
    rng = np.random.default_rng(0)
    capacity = rng.uniform(1, 40, len(a.sites)).round(1)
    console.print(f"{label}: {len(a.sites):,} sites × {len(a.residents):,} resident points")
    t_ours, m_ours, b = _measure(lambda: _ours(a, capacity), repeats)
    t_mat, m_mat, cost = _measure(lambda: _matrix(a), access_repeats)
    t_acc, m_acc, (classic, enhanced) = _measure(lambda: _access(a, capacity, cost), access_repeats)
    diff = max(
        float(np.abs(b.residents["sfca_all"].to_numpy() - classic).max()),
        float(np.abs(b.residents["e2sfca_all"].to_numpy() - enhanced).max()),
    )
    return {
        "case": label,
        "sites": len(a.sites),
        "points": len(a.residents),
        "pairs": b.supply.n_pairs,
        "matrix": len(cost),
        "ours_s": t_ours,
        "ours_mib": m_ours,
        "matrix_s": t_mat,
        "matrix_mib": m_mat,
        "access_s": t_acc,
        "access_mib": m_acc,
        "ratio": (t_mat + t_acc) / t_ours,
        "diff": diff,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="Kaiserslautern only, one repeat")
    p.add_argument("--markdown", type=Path, help="also write the table as Markdown")
    args = p.parse_args(argv)
    data = shared_data_dir()
    kl = data / "kaiserslautern"
    if not (kl / "kaiserslautern.osm.gz").exists():
        console.print(f"Kaiserslautern data not found in {kl}; set ACCESSIBILITY_DATA")
        return 1
    repeats = 1 if args.quick else 5
    rows = []
    cases = [("Kaiserslautern", {"network": kl / "kaiserslautern.osm.gz",
                                 "population": [kl / "zensus2011_100m_kaiserslautern.csv"]})]  # fmt: skip
    malta = data / "extracts" / "malta-2016-11.osm.pbf"
    if not args.quick and malta.exists():
        cases.append(("Malta", {"network": malta}))
    for name, kw in cases:
        with console.status(f"loading {name}…"):
            inputs = load_inputs(**kw)
            a = analyze(inputs.network, inputs.sites, inputs.residents, minutes=[CATCHMENT],
                        categories=inputs.categories, rejects=inputs.rejects)  # fmt: skip
            rand = analyze(inputs.network, _random_sites(inputs, N_RANDOM), inputs.residents,
                           minutes=[CATCHMENT], rejects=inputs.rejects)  # fmt: skip
        rows.append(_case(f"{name}, OSM docking points", a, repeats, 1 if args.quick else 3))
        rows.append(_case(f"{name}, {N_RANDOM} random sites", rand, repeats, 1))

    heads = ["case", "sites × points", "pairs ≤ catchment / matrix", "ours s (MiB)",
             "matrix s (MiB)", "access s (MiB)", "(matrix + access) / ours", "max |diff|"]  # fmt: skip
    cells = [
        [r["case"], f"{r['sites']:,} × {r['points']:,}", f"{r['pairs']:,} / {r['matrix']:,}",
         f"{r['ours_s']:.3f} ({r['ours_mib']:.1f})", f"{r['matrix_s']:.3f} ({r['matrix_mib']:.1f})",
         f"{r['access_s']:.2f} ({r['access_mib']:.1f})", f"{r['ratio']:,.0f}×", f"{r['diff']:.1e}"]
        for r in rows
    ]  # fmt: skip
    t = Table(title=f"2SFCA + E2SFCA, catchment {CATCHMENT:g} min: ours (sparse) vs PySAL access")
    for h in heads:
        t.add_column(h)
    for c in cells:
        t.add_row(*c)
    Console().print(t)
    bad = [r["case"] for r in rows if not r["diff"] <= 1e-9]
    if bad:
        console.print(f"[red]results differ by more than 1e-9: {', '.join(bad)}[/red]")
    if args.markdown:
        lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
        lines += ["| " + " | ".join(c) + " |" for c in cells]
        args.markdown.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())

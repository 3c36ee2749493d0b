"""Write an analysis to its output folder: tables, layers, rejects, run record, map.

Output contract (file names and columns are public; extend, never rename):
``summary.csv``, ``summary_groups.csv``, ``summary_districts.csv``,
``residents.gpkg``/``residents.csv``, ``sites.gpkg``, ``rejects.csv``,
``run.json``, ``map.html``.
"""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from ._io import sha256, write_csv, write_gpkg, write_json
from .analysis import Analysis
from .config import ATTRIBUTION_OSM, ATTRIBUTION_ZENSUS

_PACKAGES = ["accessibility", "numpy", "scipy", "pandas", "geopandas", "shapely", "pyproj",
             "osmnx", "osmium", "networkx", "folium"]  # fmt: skip


def versions() -> dict[str, str]:
    """Versions of Python and the packages that shape the results."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for p in _PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def file_record(path: str | Path | None) -> dict | None:
    """Path, size and SHA-256 of an input file."""
    if path is None:
        return None
    p = Path(path)
    if not p.exists():
        return {"path": str(p)}
    return {"path": str(p), "bytes": p.stat().st_size, "sha256": sha256(p)}


def residents_table(a: Analysis) -> pd.DataFrame:
    """Resident rows for CSV: no geometry, x/y in the network CRS plus lon/lat; unreachable = empty."""
    r = a.residents
    df = pd.DataFrame(r.drop(columns="geometry"))
    df.insert(1, "x", r.geometry.x.round(2))
    df.insert(2, "y", r.geometry.y.round(2))
    ll = r.geometry.to_crs("EPSG:4326")
    df.insert(3, "lon", ll.x.round(7))
    df.insert(4, "lat", ll.y.round(7))
    return _finite(df)


def _finite(df: pd.DataFrame) -> pd.DataFrame:
    num = df.select_dtypes("number").columns
    df[num] = df[num].replace([np.inf, -np.inf], np.nan)
    return df


def attributions(population_kind: str | None) -> list[str]:
    """Attribution lines for the data used."""
    lines = [ATTRIBUTION_OSM]
    if population_kind and population_kind.startswith("zensus"):
        lines.append(ATTRIBUTION_ZENSUS)
    return lines


def write_outputs(
    a: Analysis, out: str | Path, record: dict, map_title: str = ""
) -> dict[str, Path]:
    """Write every output file of an analysis into ``out``.

    Parameters
    ----------
    a : Analysis
    out : path
        Output folder (created).
    record : dict
        Inputs and parameters for ``run.json``; timings, versions, counts and
        attributions are added here.
    map_title : str
        Title of ``map.html``.

    Returns
    -------
    dict
        Output name → path.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths["summary"] = write_csv(a.summary(), out / "summary.csv")
    paths["summary_groups"] = write_csv(a.summary_groups(), out / "summary_groups.csv")
    paths["summary_districts"] = write_csv(a.summary_districts(), out / "summary_districts.csv")
    res = _finite(a.residents.copy())
    paths["residents_gpkg"] = write_gpkg(res, out / "residents.gpkg", layer="residents")
    paths["residents_csv"] = write_csv(residents_table(a), out / "residents.csv")
    paths["sites"] = write_gpkg(a.sites, out / "sites.gpkg", layer="sites")
    paths["rejects"] = a.rejects.write(out / "rejects.csv")
    from .mapping import plain_map

    paths["map"] = plain_map(
        a, out / "map.html", title=map_title, attribution=record.get("attribution")
    )
    r = a.residents
    record = {
        **record,
        "parameters": {
            **record.get("parameters", {}),
            "minutes": list(a.minutes),
            "speed_kmh": a.speed_kmh,
            "categories": a.categories,
            "groups": a.groups,
            "crs": a.network.crs,
        },
        "network": {
            "nodes": a.network.n_nodes,
            "edges": a.network.n_edges,
            "length_km": round(float(a.network.length.sum()) / 1000, 3),
            "components": int(a.network.components().max() + 1),
            **a.network.meta,
        },
        "counts": {
            "sites_used": len(a.sites),
            "resident_points_used": len(r),
            "population_used": float(r["population"].sum()),
            "residents_on_network_fragments": float(r.loc[r["fragment"], "population"].sum()),
            "resident_points_on_network_fragments": int(r["fragment"].sum()),
            "residents_without_reachable_site": float(
                r.loc[~np.isfinite(r["minutes_all"]), "population"].sum()
            ),
            "rejected_rows": len(a.rejects),
            "rejects_by_reason": a.rejects.counts().to_dict("records"),
        },
        "timings_s": {
            **record.get("timings_s", {}),
            **{k: round(v, 4) for k, v in a.timings.items()},
        },
        "versions": versions(),
        "outputs": {k: p.name for k, p in paths.items()},
    }
    paths["run"] = write_json(record, out / "run.json")
    return paths

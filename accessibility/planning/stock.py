"""Housing stock check: for every building of a housing company, the walk to the nearest docking point.

The buildings come from the company's list (CSV/XLSX with addresses or
coordinates, or a GeoPackage/GeoJSON of footprints). Each building becomes one
"resident" point (population = its units, else its residents, else 1) and goes
through the same engine as every analysis (:func:`accessibility.core.analysis.analyze`),
so its minutes are the exact door-to-door walking minutes of the core.

The stock file is read by :func:`accessibility.inputs.stock_file.read_stock`; outputs
(see :func:`accessibility.outputs.files.write_stock`): ``stock.csv`` / ``stock.xlsx`` / ``stock.gpkg``
(one row per building) and ``stock_summary.csv`` (per estate and in total).

Detour ratio
    Network metres to the nearest docking point ÷ straight-line metres to the
    same point. Walking in a city is typically 1.2–1.5 times the straight line;
    a ratio above :data:`DETOUR_LIMIT` (2.0), for a straight line of at least
    :data:`DETOUR_MIN_STRAIGHT_M` (150 m; closer, the access legs dominate the
    ratio), means a barrier is in the way (railway, river, motorway, fenced
    site) or the OSM network lacks a path: the ``detour_flag`` answers
    "why is this building not covered although the site is so close?". It is
    a hint to look at the map, not proof of a barrier.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..config import DEFAULT_MINUTES, DEFAULT_SPEED_KMH, MAX_ACCESS_LEG_M
from ..core.analysis import ALL, Analysis, analyze
from ..core.network import Network
from ..rejects import Rejects

#: Detour ratio (network ÷ straight line) above which a building is flagged.
DETOUR_LIMIT = 2.0

#: Straight-line metres below which the detour ratio is not flagged (access legs dominate).
DETOUR_MIN_STRAIGHT_M = 150.0

#: Label of the total rows in ``stock_summary.csv``.
TOTAL = "(all estates)"

#: Label of buildings without an estate in ``stock_summary.csv``.
NO_ESTATE = "(no estate)"


@dataclass
class StockCheck:
    """Result of :func:`check_stock`.

    Attributes
    ----------
    buildings : GeoDataFrame
        ``stock.csv`` rows (EPSG:4326 points), see :func:`stock_table`.
    summary : DataFrame
        ``stock_summary.csv``, see :func:`stock_summary`.
    analysis : Analysis
        The core run with the buildings as resident points.
    rejects : Rejects
    """

    buildings: gpd.GeoDataFrame
    summary: pd.DataFrame
    analysis: Analysis
    rejects: Rejects
    timings: dict = field(default_factory=dict)


def check_stock(
    network: Network,
    sites: gpd.GeoDataFrame,
    stock: gpd.GeoDataFrame,
    *,
    minutes: Sequence[float] = DEFAULT_MINUTES,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    rejects: Rejects | None = None,
    max_access_m: float = MAX_ACCESS_LEG_M,
    categories: Sequence[str] | None = None,
) -> StockCheck:
    """Walking minutes from every building to the nearest docking point of each category.

    Parameters
    ----------
    network : Network
        Walking network (metric CRS).
    sites : GeoDataFrame
        Docking points (``site_id, name, category, source``), any CRS.
    stock : GeoDataFrame
        From :func:`read_stock`: points with ``building_id``, ``units``, ``estate``.
    minutes : sequence of float
        Thresholds in minutes.
    speed_kmh : float
        Walking speed, km/h.
    rejects : Rejects, optional
        Buildings too far from the network are added here.
    max_access_m : float
        Longest straight access leg (metres).
    categories : sequence of str, optional
        Categories to report even without sites.

    Returns
    -------
    StockCheck
    """
    rejects = rejects if rejects is not None else Rejects()
    t0 = time.perf_counter()
    residents = gpd.GeoDataFrame(
        {
            "pid": stock["building_id"].astype(str).to_numpy(),
            "population": stock["units"].to_numpy(float),
            "row": stock["row"].to_numpy() if "row" in stock else None,
            "_i": np.arange(len(stock)),
        },
        geometry=stock.geometry.to_numpy(),
        crs=stock.crs,
    )
    residents.attrs.update(groups=[], files=stock.attrs.get("files", ["stock"]))
    a = analyze(
        network, sites, residents, minutes=minutes, speed_kmh=speed_kmh, rejects=rejects,
        max_access_m=max_access_m, categories=categories,
    )  # fmt: skip
    t_an = time.perf_counter() - t0
    t0 = time.perf_counter()
    table = stock_table(a, stock)
    summary = stock_summary(table, a.minutes, a.categories)
    return StockCheck(
        buildings=table, summary=summary, analysis=a, rejects=rejects,
        timings={**a.timings, "analysis": t_an, "stock_tables": time.perf_counter() - t0},
    )  # fmt: skip


def stock_table(a: Analysis, stock: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per building (those placed on the network), uncovered first.

    Columns: ``building_id, estate, units, residents, address, geocode_quality,
    matched_address, geocode_note, lon, lat, access_m, fragment``, then per category ``c`` (and
    ``all``) ``nearest_<c>`` (name), ``nearest_<c>_id``, ``metres_<c>``,
    ``minutes_<c>``; then ``covered_<m>min`` (any docking point within ``m``
    minutes) per threshold, ``straight_m`` (straight line to the nearest docking
    point, metres), ``detour_ratio`` and ``detour_flag`` (see the module notes).
    Unreachable: empty minutes, not covered. Sorted by ``minutes_all``, longest
    first (unreachable at the top), so the buildings without a docking point
    within a threshold come first.

    Parameters
    ----------
    a : Analysis
        The analysis run with the buildings as residents (network CRS, metres; its
        ``_i`` column points back into ``stock``).
    stock : GeoDataFrame
        The building stock as read (``building_id``, ``estate``, ``units``,
        ``residents``, address and geocoding columns).

    Returns
    -------
    GeoDataFrame
        The table above, points at ``lon``/``lat`` in EPSG:4326.
    """
    r = a.residents
    src = stock.iloc[r["_i"].to_numpy()].reset_index(drop=True)
    out = pd.DataFrame(
        {
            c: src[c].to_numpy()
            for c in ("building_id", "estate", "units", "residents", "address",
                      "geocode_quality", "matched_address", "geocode_note")
            if c in src
        }
    )  # fmt: skip
    ll = r.geometry.to_crs("EPSG:4326")
    out["lon"], out["lat"] = ll.x.round(7).to_numpy(), ll.y.round(7).to_numpy()
    out["access_m"] = r["access_m"].to_numpy().round(2)
    out["fragment"] = r["fragment"].to_numpy()
    names = a.sites["name"].astype(str).to_numpy(object)
    ids = a.sites["site_id"].astype(str).to_numpy(object)
    near_all = np.full(len(r), -1)
    for c in a.categories:
        near = a.nearest[c]  # the core engine's nearest site per category
        ok = near >= 0
        out[f"nearest_{c}"] = np.where(ok, names[np.maximum(near, 0)], None) if ok.any() else None
        out[f"nearest_{c}_id"] = np.where(ok, ids[np.maximum(near, 0)], None) if ok.any() else None
        out[f"metres_{c}"] = r[f"metres_{c}"].to_numpy()
        out[f"minutes_{c}"] = r[f"minutes_{c}"].to_numpy()
        if c == ALL:
            near_all = near
    mins = r[f"minutes_{ALL}"].to_numpy(float)
    for m in a.minutes:
        out[f"covered_{m:g}min"] = np.isfinite(mins) & (mins <= m)
    ok = near_all >= 0
    site_xy = shapely.get_coordinates(a.sites.geometry.to_numpy())
    res_xy = shapely.get_coordinates(r.geometry.to_numpy())
    straight = np.full(len(r), np.nan)
    straight[ok] = np.hypot(*(res_xy[ok] - site_xy[near_all[ok]]).T)
    metres = r[f"metres_{ALL}"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ok & (straight > 0), metres / straight, np.nan)
    out["straight_m"] = straight.round(2)
    out["detour_ratio"] = ratio.round(3)
    out["detour_flag"] = (ratio > DETOUR_LIMIT) & (straight >= DETOUR_MIN_STRAIGHT_M)
    key = np.where(np.isfinite(mins), mins, np.inf)
    order = np.argsort(-key, kind="stable")  # unreachable, then the longest walks first
    out = out.iloc[order].reset_index(drop=True)
    return gpd.GeoDataFrame(
        out, geometry=gpd.points_from_xy(out["lon"], out["lat"]), crs="EPSG:4326"
    )


def stock_summary(
    table: pd.DataFrame, minutes: Sequence[float], categories: Sequence[str]
) -> pd.DataFrame:
    """``stock_summary.csv``: per estate and in total, per category and threshold.

    Columns: ``estate`` (:data:`TOTAL` for all buildings), ``category``,
    ``minutes``, ``buildings_not_covered``, ``units_not_covered``,
    ``not_covered_ids`` (the building ids without a docking point within the
    threshold, ``;``-separated, longest walk first), ``buildings``,
    ``buildings_covered``, ``share_buildings_covered``, ``units``,
    ``units_covered``, ``share_units_covered``. The total comes first, then
    estates by name (buildings without one as :data:`NO_ESTATE`).

    Parameters
    ----------
    table : DataFrame
        :func:`stock_table` output.
    minutes : sequence of float
        Thresholds in minutes.
    categories : sequence of str
        Categories with ``minutes_<category>`` columns in ``table``.

    Returns
    -------
    DataFrame
        The columns above, one row per estate, category and threshold; shares as
        fractions 0..1.
    """
    label = (
        table["estate"].astype(str).replace("", NO_ESTATE)
        if "estate" in table
        else pd.Series(NO_ESTATE, index=table.index)
    )
    estates = [TOTAL]
    if (label != NO_ESTATE).any():
        estates += sorted(set(label))
    recs = []
    for est in estates:
        sel = table if est == TOTAL else table[(label == est).to_numpy()]
        units = sel["units"].to_numpy(float)
        for c in categories:
            mins = sel[f"minutes_{c}"].to_numpy(float)
            order = np.argsort(-np.where(np.isfinite(mins), mins, np.inf), kind="stable")
            for m in minutes:
                cov = np.isfinite(mins) & (mins <= m)
                nc = order[~cov[order]]
                recs.append(
                    {
                        "estate": est,
                        "category": c,
                        "minutes": m,
                        "buildings_not_covered": int((~cov).sum()),
                        "units_not_covered": float(units[~cov].sum()),
                        "not_covered_ids": ";".join(sel["building_id"].astype(str).to_numpy()[nc]),
                        "buildings": len(sel),
                        "buildings_covered": int(cov.sum()),
                        "share_buildings_covered": float(cov.mean()) if len(sel) else np.nan,
                        "units": float(units.sum()),
                        "units_covered": float(units[cov].sum()),
                        "share_units_covered": (
                            float(units[cov].sum() / units.sum()) if units.sum() > 0 else np.nan
                        ),
                    }
                )
    return pd.DataFrame(recs)


# --------------------------------------------------------------------------- writing

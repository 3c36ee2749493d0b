"""Write an analysis to its output folder: tables, layers, rejects, run record, map.

Output contract (file names and columns are public; extend, never rename):
``summary.csv``, ``summary_groups.csv``, ``summary_districts.csv``,
``residents.gpkg``/``residents.csv``, ``sites.gpkg``, ``rejects.csv``,
``run.json``, ``map.html``; and (issue 4) ``isochrones.gpkg``, ``layers.gpkg``,
``tables.xlsx``, ``geojson/<layer>.geojson``, ``isochrones.csv``, ``report.html``.
Map and report are drawn from the result in memory
(:func:`accessibility.outputs.folder.from_analysis`), from the same :class:`OutputData` that
``accessibility map DIR`` / ``accessibility report DIR`` read back from a folder
(:func:`accessibility.outputs.folder.load_folder`); the writers here only format.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .._io import write_csv, write_gpkg, write_json
from .._text import slug
from ..core import supply as supplymod
from ..core.analysis import Analysis
from ..planning.priority import Priority
from ..planning.ranking import RankRun
from ..planning.scenario import (
    ADDED,
    MOVED,
    RECATEGORISED,
    REMOVED,
    Comparison,
    ScenarioResult,
    comparison_columns,
)
from ..planning.stock import DETOUR_LIMIT, DETOUR_MIN_STRAIGHT_M, StockCheck
from ..record import attributions as attributions  # re-exported (old home)
from ..record import data_vintage as data_vintage  # re-exported (old home)
from ..record import file_record as file_record  # re-exported (old home)
from ..record import parameters, versions
from .folder import from_analysis
from .i18n import default_lang, report_title
from .layers import (
    district_layer,
    finite,
    gaps_layer,
    is_grid,
    resident_layer,
    write_geojson,
    write_layers,
    write_xlsx,
)
from .map import full_map
from .planning_maps import critical_map, ranking_map, scenario_map
from .report import site_list, write_report


def residents_table(a: Analysis) -> pd.DataFrame:
    """Resident rows for CSV: no geometry, x/y in the network CRS plus lon/lat; unreachable = empty.

    Parameters
    ----------
    a : Analysis

    Returns
    -------
    DataFrame
        ``x``, ``y`` in metres (network CRS, 2 decimals), ``lon``, ``lat`` in degrees
        (EPSG:4326, 7 decimals), minutes and persons as in ``a.residents``.
    """
    r = a.residents
    df = pd.DataFrame(r.drop(columns="geometry"))
    df.insert(1, "x", r.geometry.x.round(2))
    df.insert(2, "y", r.geometry.y.round(2))
    ll = r.geometry.to_crs("EPSG:4326")
    df.insert(3, "lon", ll.x.round(7))
    df.insert(4, "lat", ll.y.round(7))
    return finite(df)


@dataclass
class Products:
    """What is computed from an analysis before its files are written.

    Built by :func:`accessibility.pipeline.products`; the writers only format it.

    Attributes
    ----------
    isochrones : GeoDataFrame or None
        :func:`accessibility.core.isochrones.from_analysis` (network CRS), or None for no
        ``isochrones.gpkg``.
    isochrones_info : dict
        How the polygons were built (``per_site``, ``corridor_m``, ``min_hole_m2``,
        ``note``) for ``run.json``.
    sites : GeoDataFrame or None
        The sites to write (with visibility columns when OSM features were given);
        None writes ``a.sites``.
    timings : dict
        Seconds per computation (``isochrones``).
    priority : Priority or None
        Priority areas (need × gap): ``priority.csv``, ``priority_districts.csv``,
        ``priority.gpkg``; None writes none.
    priority_note : str
        Why there are no priority areas (``run.json`` ``priority.skipped``).
    """

    isochrones: gpd.GeoDataFrame | None = None
    isochrones_info: dict = field(default_factory=dict)
    sites: gpd.GeoDataFrame | None = None
    timings: dict = field(default_factory=dict)
    priority: Priority | None = None
    priority_note: str = ""


def write_outputs(
    a: Analysis,
    out: str | Path,
    record: dict,
    map_title: str = "",
    lang: str | None = None,
    products: Products | None = None,
) -> dict[str, Path]:
    """Write every output file of an analysis into ``out`` (formatting only).

    Parameters
    ----------
    a : Analysis
    out : path
        Output folder (created).
    record : dict
        Inputs and parameters for ``run.json``; timings, versions, counts, the walking
        parameters actually used (``a.params``) and attributions are added here.
    map_title : str
        Title of ``map.html`` and ``report.html``; default "Andockstellen – <place>"
        (German) or "Docking points – <place>", the place from the study area, the
        network file or the folder (:func:`accessibility.outputs.i18n.place_name`).
    lang : {"de", "en"}, optional
        Labels of map and report; default German for German data (EPSG:25832
        network or Zensus input), else English.
    products : Products, optional
        Isochrones and site visibility computed before
        (:func:`accessibility.pipeline.products`); without them there is no
        ``isochrones.gpkg`` and ``sites.gpkg`` has no visibility columns.
        :func:`accessibility.write_outputs` computes them and calls this.

    Returns
    -------
    dict
        Output name → path.
    """
    products = products or Products()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths["summary"] = write_csv(a.summary(), out / "summary.csv")
    paths["summary_groups"] = write_csv(a.summary_groups(), out / "summary_groups.csv")
    paths["summary_districts"] = write_csv(a.summary_districts(), out / "summary_districts.csv")
    if a.supply is not None:
        paths["summary_2sfca"] = write_csv(supplymod.summary(a), out / "summary_2sfca.csv")
        record = {**record, "supply": a.supply.record()}
    res = finite(a.residents.copy())
    crs = a.network.crs  # one metric CRS for every layer of the run
    paths["residents_gpkg"] = write_gpkg(res, out / "residents.gpkg", layer="residents", crs=crs)
    paths["residents_csv"] = write_csv(residents_table(a), out / "residents.csv")
    sites = a.sites if products.sites is None else products.sites
    paths["sites"] = write_gpkg(sites, out / "sites.gpkg", layer="sites", crs=crs)
    paths["rejects"] = a.rejects.write(out / "rejects.csv")
    iso = products.isochrones
    if iso is not None:
        record = {**record, "isochrones": products.isochrones_info}
        paths["isochrones"] = write_gpkg(iso, out / "isochrones.gpkg", layer="isochrones", crs=crs)
        paths["isochrones_csv"] = write_csv(
            pd.DataFrame(iso.drop(columns="geometry")), out / "isochrones.csv"
        )
    prio = products.priority
    prio_layer = None if prio is None else priority_layer(a, prio, record)
    paths.update(_write_layers(a, out, record, iso, lang or default_lang(record, a.network.crs),
                               prio, prio_layer))  # fmt: skip
    if prio is not None:
        assert prio_layer is not None
        paths.update(_write_priority(a, prio, prio_layer, out))
        record = {**record, "priority": prio.record()}
    elif products.priority_note:
        record = {**record, "priority": {"skipped": products.priority_note}}
    r = a.residents
    record = {
        **record,
        "parameters": {
            **record.get("parameters", {}),
            **parameters(a.params, categories=a.categories, groups=a.groups, crs=a.network.crs),
        },
        "network": {
            "nodes": a.network.n_nodes,
            "edges": a.network.n_edges,
            "length_km": round(float(a.network.length.sum()) / 1000, 3),
            "components": int(a.network.components().max() + 1),
            **a.network.meta,
            "pruning": a.pruning,
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
            "isochrones": round(products.timings.get("isochrones", 0.0), 4),
        },
        "versions": versions(),
        "outputs": {**{k: p.name for k, p in paths.items()}, "map": "map.html",
                    "report": "report.html", "sites_csv": "sites.csv"},
    }  # fmt: skip
    record.setdefault("population_kind", a.residents.attrs.get("kind", ""))
    paths["run"] = write_json(record, out / "run.json")

    t0 = time.perf_counter()
    # drawn from the result in memory; `accessibility map/report DIR` draw the same
    # OutputData from the folder (load_folder)
    data = from_analysis(a, record, isochrones=iso, sites=sites, folder=out)
    if prio is not None:
        data.priority, data.priority_districts = prio_layer, prio.districts
    lang = lang or default_lang(data.record)
    title = map_title or report_title(data.record, out, lang)
    paths["sites_csv"] = write_csv(site_list(data), out / "sites.csv")
    paths["map"] = full_map(data, out / "map.html", title=title, lang=lang)
    # the report inlines the same map, so it needs no file beside it
    paths["report"] = write_report(data, out / "report.html", title=title, lang=lang,
                                   map_html=paths["map"].read_text(encoding="utf-8"))  # fmt: skip
    record["timings_s"]["map_report"] = round(time.perf_counter() - t0, 4)
    # written last: `map`/`report DIR` refuse a folder whose run.json is not complete
    record["complete"] = True
    paths["run"] = write_json(record, out / "run.json")
    return paths


def priority_layer(a: Analysis, prio: Priority, record: dict) -> gpd.GeoDataFrame:
    """Priority per resident cell with geometry: 100 m squares for Zensus grid input, points
    otherwise (network CRS).

    Parameters
    ----------
    a : Analysis
    prio : Priority
    record : dict
        The run record (grid cell size, see :func:`accessibility.outputs.layers.is_grid`).

    Returns
    -------
    GeoDataFrame
        ``prio.cells`` columns sorted by rank.
    """
    geom = resident_layer(a.residents[["geometry"]], record).geometry
    g = gpd.GeoDataFrame(prio.cells.copy(), geometry=geom.to_numpy(), crs=a.residents.crs)
    return g.sort_values("rank", kind="stable").reset_index(drop=True)


def _write_priority(
    a: Analysis, prio: Priority, cells: gpd.GeoDataFrame, out: Path
) -> dict[str, Path]:
    """``priority.csv`` (cells), ``priority_districts.csv`` and ``priority.gpkg``."""
    paths = {"priority": write_csv(pd.DataFrame(cells.drop(columns="geometry")),
                                   out / "priority.csv")}  # fmt: skip
    layers = {"cells": cells}
    if a.districts is not None:
        paths["priority_districts"] = write_csv(prio.districts, out / "priority_districts.csv")
        layers["districts"] = _priority_district_layer(a, prio)
    paths["priority_gpkg"] = write_layers(layers, out / "priority.gpkg", crs=a.network.crs)
    return paths


def _priority_district_layer(a: Analysis, prio: Priority) -> gpd.GeoDataFrame:
    """The districts' polygons with their priority columns, in rank order."""
    assert a.districts is not None
    poly = a.districts[["district", "geometry"]].merge(prio.districts, on="district")
    return poly.sort_values("rank", kind="stable")


def _write_layers(
    a: Analysis,
    out: Path,
    record: dict,
    iso,
    lang: str,
    prio: Priority | None = None,
    prio_layer: gpd.GeoDataFrame | None = None,
) -> dict[str, Path]:
    """``layers.gpkg`` (every layer), ``geojson/*.geojson`` and ``tables.xlsx`` (legend in ``lang``).

    With priority areas: layers ``priority`` (cells, as ``priority.gpkg`` ``cells``) and
    ``priority_districts``, sheets ``priority`` and ``priority_districts`` (rank order).
    """

    res = finite(a.residents.copy())
    top = max(a.minutes)
    layers = {"sites": a.sites, "residents": res}
    if is_grid(record):
        layers["cells"] = resident_layer(res, record)
    layers["gaps"] = gaps_layer(res, top)
    islands = ~a.network.kept_edges()
    if islands.any():  # pruned islands: drawn on the map, nothing snaps onto them
        net = a.network
        layers["islands"] = gpd.GeoDataFrame(
            {"way_id": net.way_id[islands], "length_m": net.length[islands]},
            geometry=net.edge_lines()[islands],
            crs=net.crs,
        )
    if iso is not None:
        layers["isochrones"] = iso
    if a.districts is not None:
        layers["districts"] = district_layer(a.districts, a.summary_districts())
    if prio is not None and prio_layer is not None:
        layers["priority"] = prio_layer
        if a.districts is not None and len(prio.districts):
            layers["priority_districts"] = _priority_district_layer(a, prio)
    paths = {"layers": write_layers(layers, out / "layers.gpkg", crs=a.network.crs)}
    for name in ("sites", "isochrones", "gaps", "districts", "cells"):
        if name in layers and len(layers[name]):
            paths[f"geojson_{name}"] = write_geojson(
                layers[name], out / "geojson" / f"{name}.geojson"
            )
    tables = {
        "summary": a.summary(),
        "summary_groups": a.summary_groups(),
        "summary_districts": a.summary_districts(),
        "sites": pd.DataFrame(a.sites.drop(columns="geometry")),
        "rejects_by_reason": a.rejects.counts(),
    }
    if iso is not None:
        tables["isochrones"] = pd.DataFrame(iso.drop(columns="geometry"))
    if a.supply is not None:
        tables["summary_2sfca"] = supplymod.summary(a)
    if prio is not None and prio_layer is not None:
        tables["priority"] = pd.DataFrame(prio_layer.drop(columns="geometry"))
        if len(prio.districts):
            tables["priority_districts"] = prio.districts
    paths["xlsx"] = write_xlsx(tables, out / "tables.xlsx", lang=lang)
    return paths


def write_stock(check: StockCheck, out: str | Path, record: dict | None = None) -> dict[str, Path]:
    """Write ``stock.csv``, ``stock.xlsx``, ``stock.gpkg``, ``stock_summary.csv``,
    ``sites.gpkg``, ``rejects.csv`` and ``run.json`` into ``out`` (atomic writes).

    Parameters
    ----------
    check : StockCheck
        Result of :func:`accessibility.planning.stock.check_stock` (buildings as
        EPSG:4326 points).
    out : str or Path
        Output folder (created if missing).
    record : dict, optional
        Run record written into ``run.json``.

    Returns
    -------
    dict
        Output name -> path.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = check.buildings
    flat = pd.DataFrame(table.drop(columns="geometry"))
    num = flat.select_dtypes("number").columns
    flat[num] = flat[num].replace([np.inf, -np.inf], np.nan)
    paths = {
        "stock": write_csv(flat, out / "stock.csv"),
        # laid out like tables.xlsx: percent shares, empty cells with a legend row, frozen
        # header, widths; text stays text (never a formula)
        "stock_xlsx": write_xlsx(
            {"stock": flat, "summary": check.summary},
            out / "stock.xlsx",
            lang=default_lang(record or {}, check.analysis.network.crs),
        ),
        "stock_gpkg": write_gpkg(
            gpd.GeoDataFrame(flat, geometry=table.geometry.to_numpy(), crs=table.crs),
            out / "stock.gpkg",
            layer="stock",
            crs=check.analysis.network.crs,  # the run's metric CRS, as sites.gpkg
        ),
        "stock_summary": write_csv(check.summary, out / "stock_summary.csv"),
        "sites": write_gpkg(
            check.analysis.sites, out / "sites.gpkg", layer="sites", crs=check.analysis.network.crs
        ),
        "rejects": check.rejects.write(out / "rejects.csv"),
    }
    a = check.analysis
    rec = {
        **(record or {}),
        "parameters": {
            **(record or {}).get("parameters", {}),
            **parameters(
                a.params,
                categories=a.categories,
                crs=a.network.crs,
                detour_limit=DETOUR_LIMIT,
                detour_min_straight_m=DETOUR_MIN_STRAIGHT_M,
            ),
        },
        "counts": {
            "buildings": len(table),
            "sites_used": len(a.sites),
            "rejected_rows": len(check.rejects),
            "rejects_by_reason": check.rejects.counts().to_dict("records"),
            "geocode_quality": table["geocode_quality"].value_counts().to_dict(),
        },
        "timings_s": {k: round(v, 4) for k, v in check.timings.items()},
        "versions": versions(),
        "outputs": {k: p.name for k, p in paths.items()},
    }
    paths["run"] = write_json(rec, out / "run.json")
    return paths


def write_scenario(
    result: ScenarioResult,
    out: str | Path,
    record: dict,
    sites: gpd.GeoDataFrame | None = None,
) -> dict[str, Path]:
    """Write the scenario outputs (atomic) into ``out``.

    Files: ``scenario_summary.csv``, ``scenario_summary_districts.csv``,
    ``scenario_summary_groups.csv``, ``newly_covered.gpkg``, ``lost_coverage.gpkg``,
    ``scenario_sites.gpkg``, ``rejects.csv``, ``scenario_map.html``, ``run.json``.
    ``sites``: the site layer to write, e.g. with the visibility columns from
    :func:`accessibility.pipeline.scenario_sites`; default ``result.site_layer()``.

    Parameters
    ----------
    result : ScenarioResult
        The scenario run (before and after analyses).
    out : str or Path
        Output folder.
    record : dict
        Run record written into ``run.json``.
    sites : GeoDataFrame, optional
        Site layer (any CRS) for ``scenario_sites.gpkg``, written in the run's metric CRS.

    Returns
    -------
    dict
        Output name -> path.
    """
    out = Path(out)
    crs = result.before.network.crs  # every layer in the run's metric CRS
    paths = {
        "summary": write_csv(result.summary(), out / "scenario_summary.csv"),
        "districts": write_csv(result.summary_districts(), out / "scenario_summary_districts.csv"),
        "groups": write_csv(result.summary_groups(), out / "scenario_summary_groups.csv"),
        "newly_covered": write_gpkg(
            result.changed_residents(True),
            out / "newly_covered.gpkg",
            crs=crs,
            geometry_type="Point",
        ),
        "lost_coverage": write_gpkg(
            result.changed_residents(False),
            out / "lost_coverage.gpkg",
            crs=crs,
            geometry_type="Point",
        ),
        "sites": write_gpkg(
            result.site_layer() if sites is None else sites, out / "scenario_sites.gpkg", crs=crs
        ),
        "rejects": result.before.rejects.write(out / "rejects.csv"),
    }
    paths["map"] = scenario_map(result, out / "scenario_map.html", record.get("attribution"),
                                lang=default_lang(record, crs))  # fmt: skip
    rec = {
        **record,
        "scenario": result.name,
        "parameters": {**record.get("parameters", {}), **parameters(result.before.params)},
        "minutes": list(result.minutes),
        "speed_kmh": result.before.speed_kmh,
        "sites_before": len(result.before.sites),
        "sites_after": len(result.after.sites),
        "changes": {
            k: int((result.site_layer()["change"] == k).sum())
            for k in (ADDED, REMOVED, MOVED, RECATEGORISED)
        },
        "versions": versions(),
        "outputs": {k: p.name for k, p in paths.items()},
    }
    paths["run"] = write_json(rec, out / "run.json")
    return paths


def write_ranking(
    run: RankRun, out: str | Path, record: dict, *, k: int, visibility_weight: float = 0.0
) -> dict[str, Path]:
    """Write ``ranking.csv``, ``ranking_exact.csv`` (with ``--exact``), ``rejects.csv``,
    ``ranking_map.html`` and ``run.json`` of a ranking into ``out``.

    Parameters
    ----------
    run : RankRun
        From :func:`accessibility.pipeline.rank_inputs`.
    out : path
        Output folder (exists).
    record : dict
        Inputs and command for ``run.json``; parameters, counts, timings and the
        greedy-vs-optimal gap are added here.
    k : int
        Candidates asked for.
    visibility_weight : float
        Recorded as given.

    Returns
    -------
    dict
        Output name → path (``map`` is the ranking map).
    """
    out = Path(out)
    r, a = run.result, run.analysis
    minutes = a.params.minutes[0]
    paths = {"ranking": write_csv(r.table, out / "ranking.csv"),
             "rejects": run.rejects.write(out / "rejects.csv")}  # fmt: skip
    lang = default_lang(run.inputs_record, a.network.crs)
    paths["map"] = ranking_map(r, a, out / "ranking_map.html", run.inputs_record, lang=lang)
    rec = {**record,
           "parameters": {"k": k, "minutes": minutes, "speed_kmh": a.params.speed_kmh,
                          "category": r.category, "weight": r.weight_name, "limit_m": r.limit_m,
                          "visibility_weight": visibility_weight,
                          "min_component": a.network.min_component,
                          "max_access_m": a.params.max_access_m},
           "network_pruning": a.pruning,
           "candidates": run.candidates, "candidates_used": len(r.candidates),
           "baseline_covered": r.greedy.baseline, "greedy_covered": r.greedy.covered,
           "timings_s": {**run.inputs_record.get("timings_s", {}), "matrix": r.matrix.seconds,
                         "greedy": r.greedy.seconds}}  # fmt: skip
    if r.exact is not None:
        ex = r.exact
        paths["ranking_exact"] = write_csv(r.exact_table(), out / "ranking_exact.csv")
        gap = ex.covered - r.greedy.covered
        rec["exact"] = {
            "optimal_covered": ex.covered, "greedy_covered": r.greedy.covered, "gap": gap,
            "gap_share_of_optimal_gain": gap / (ex.covered - ex.baseline)
            if ex.covered > ex.baseline else 0.0, "seconds": ex.seconds,
            "solver": "HiGHS via scipy.optimize.milp",
        }  # fmt: skip
    paths["run"] = write_json(rec, out / "run.json")
    return paths


def write_critical(
    a: Analysis,
    sites: pd.DataFrame,
    redundancy: pd.DataFrame,
    out: str | Path,
    record: dict,
    *,
    category: str = "all",
    weight: str | None = None,
) -> dict[str, Path]:
    """Write ``critical_sites.csv``, ``redundancy.csv``, ``rejects.csv``, ``run.json`` and
    ``critical_map.html`` into ``out`` (tables from :func:`accessibility.pipeline.critical`).

    Parameters
    ----------
    a : Analysis
        The stock analysis the tables were computed on (rejects, network, parameters).
    sites : DataFrame
        Per-site table (``reach_<m>``/``loss_<m>`` in persons per threshold in minutes).
    redundancy : DataFrame
        Redundancy table per category and threshold.
    out : str or Path
        Output folder.
    record : dict
        Run record written into ``run.json``.
    category : str
        Sites assessed (``all`` or one category); recorded and mapped.
    weight : str, optional
        Population column(s) counted; recorded as ``population`` when omitted.

    Returns
    -------
    dict
        Output name → path (``map`` is the critical map).
    """
    out = Path(out)
    paths = {
        "critical_sites": write_csv(sites, out / "critical_sites.csv"),
        "redundancy": write_csv(redundancy, out / "redundancy.csv"),
        "rejects": a.rejects.write(out / "rejects.csv"),
    }
    rec = {**record, "category": category, "weight": weight or "population",
           "network_pruning": a.pruning,
           "parameters": {"min_component": a.network.min_component,
                          **parameters(a.params)}}  # fmt: skip
    paths["run"] = write_json(rec, out / "run.json")
    lang = default_lang(record, a.network.crs)
    paths["map"] = critical_map(a, sites, min(a.minutes), category, out / "critical_map.html",
                                record, lang=lang)  # fmt: skip
    return paths


def write_comparison(comparison: Comparison, out: str | Path, record: dict) -> dict[str, Path]:
    """Write ``comparison.csv``, ``comparison_districts.csv``, ``comparison_columns.csv``,
    ``run.json`` and every scenario's outputs in its own subfolder (:func:`write_scenario`)
    into ``out``.

    The scenario columns are ``after_<slug>``/``gain_<slug>`` (column-safe names);
    ``comparison_columns.csv`` and ``run.json`` (``columns``) give each one's full
    scenario name.

    Parameters
    ----------
    comparison : Comparison
        Scenarios run against one baseline.
    out : str or Path
        Output folder; each scenario goes to a subfolder named after its slug.
    record : dict
        Run record written into ``run.json`` (and into each scenario's).

    Returns
    -------
    dict
        Output name → path.
    """
    out = Path(out)
    folders = [slug(n) for _, n, _ in comparison.results]
    for (s, _, r), folder, sites in zip(comparison.results, folders, comparison.sites, strict=True):
        write_scenario(r, out / folder, {**record, "scenario_file": s.file}, sites)
    names = [n for _, n, _ in comparison.results]
    files = [str(s.file) for s, _, _ in comparison.results]
    lookup = comparison_columns(names, files)
    paths = {
        "comparison": write_csv(comparison.table, out / "comparison.csv"),
        "comparison_districts": write_csv(comparison.districts, out / "comparison_districts.csv"),
        "comparison_columns": write_csv(lookup, out / "comparison_columns.csv"),
    }
    base = {k: v for k, v in record.items() if k not in ("timings_s", "command")}
    rec = {"scenarios": [s.file for s, _, _ in comparison.results],
           "names": names, "folders": folders,
           "columns": dict(zip(lookup["column"], lookup["scenario"], strict=True)),
           "command": record.get("command", ""), **base}  # fmt: skip
    paths["run"] = write_json(rec, out / "run.json")
    return paths


def write_profiles_summary(table: pd.DataFrame, out: str | Path) -> Path:
    """``summary_profiles.csv`` (the summary of every walking profile, ``profile`` first).

    Parameters
    ----------
    table : DataFrame
        The summaries of all profiles stacked.
    out : str or Path
        Output folder.

    Returns
    -------
    Path
        The written CSV file.
    """
    return write_csv(table, Path(out) / "summary_profiles.csv")

"""Monitoring over time: the change between two analysis runs (issue 15, part 3).

``accessibility change OLD_DIR NEW_DIR`` compares two output folders of ``analyze`` (two
Zensus editions, two OSM vintages, before and after a programme). Everything is
recomputed from the residents of both runs (``residents.gpkg``: persons, groups,
``minutes_<category>``, ``district``), so every category, threshold, district and group
of either run gets a row.

Cause split (where both runs share resident cells: same ``pid`` at the same place,
within :data:`SAME_PLACE_M` metres): for category *c* and threshold *T*

- ``change = covered_after − covered_before``;
- ``change_sites = Σ_i P_old,i · ([m_new,i ≤ T] − [m_old,i ≤ T])`` over the cells in both
  runs: the old population with the new docking points (and the new network); a cell
  only in the old run counts no site effect;
- ``change_population = change − change_sites``: residents moving, born, ageing or
  re-counted (a new Zensus edition), cells appearing or vanishing.

Without shared cells (different grids or resident points) the split is left empty and
only the district and area totals are compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from ..core.analysis import ALL
from ..core.coverage import NO_SITE_NOTE, SUMMARY_COLUMNS, weighted_median

#: Largest distance, metres, between the points of one cell id in two runs ("same grid").
SAME_PLACE_M = 1.0
#: Columns of ``change.csv`` after the summary columns.
CHANGE_COLUMNS = [
    "population_before", "share_before", "covered_before", "covered_after", "change",
    "change_sites", "change_population",
]  # fmt: skip
#: Run parameters compared in ``run.json`` (key → label in the warning).
CHECKED = {"speed_kmh": "walking speed (km/h)", "minutes": "thresholds (minutes)",
           "max_access_m": "longest access leg (m)", "min_component": "island threshold (nodes)"}  # fmt: skip


@dataclass
class Run:
    """One run to compare: its residents, sites and ``run.json``.

    Attributes
    ----------
    residents : GeoDataFrame
        ``pid``, ``population``, groups, ``minutes_<category>`` (NaN or inf = unreachable),
        optionally ``district``.
    sites : GeoDataFrame
        ``site_id``, ``name``, ``category``.
    record : dict
        ``run.json``.
    """

    residents: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    record: dict

    @property
    def parameters(self) -> dict:
        return dict(self.record.get("parameters") or {})

    @property
    def categories(self) -> list[str]:
        cats = self.parameters.get("categories")
        if cats:
            return [str(c) for c in cats]
        return [c[len("minutes_") :] for c in self.residents.columns if c.startswith("minutes_")]

    @property
    def groups(self) -> list[str]:
        return [str(g) for g in self.parameters.get("groups") or [] if g in self.residents]


@dataclass
class RunChange:
    """The change between two runs (:func:`compare_runs`).

    Attributes
    ----------
    summary, districts, groups : DataFrame
        ``change.csv``, ``change_districts.csv`` (``district`` first),
        ``change_groups.csv`` (``group`` first): :data:`SUMMARY_COLUMNS` of the new run,
        then :data:`CHANGE_COLUMNS` (persons; shares 0–1).
    cells : GeoDataFrame or None
        Same grid only: one row per cell of either run (new run's CRS), ``pid``,
        ``population_before``, ``population_after``, ``minutes_before``,
        ``minutes_after`` (category ``all``), ``status`` (``better``, ``worse``,
        ``unchanged`` at ``map_minutes``; a cell absent from a run counts as not covered there).
    same_grid : bool
    shared_cells : int
    warnings : list of str
        Parameters that differ between the two ``run.json``.
    sites_added, sites_closed : GeoDataFrame
        Sites (by ``site_id``) only in the new / only in the old run.
    map_minutes : float
        The threshold of ``cells.status`` (the smallest of both runs).
    """

    summary: pd.DataFrame
    districts: pd.DataFrame
    groups: pd.DataFrame
    cells: gpd.GeoDataFrame | None
    same_grid: bool
    shared_cells: int
    warnings: list[str] = field(default_factory=list)
    sites_added: gpd.GeoDataFrame | None = None
    sites_closed: gpd.GeoDataFrame | None = None
    map_minutes: float = 0.0

    def record(self) -> dict:
        """What ``run.json`` of the change folder states."""
        a = self.summary[self.summary["category"] == ALL]
        return {
            "same_grid": self.same_grid, "shared_cells": self.shared_cells,
            "warnings": self.warnings,
            "sites_added": 0 if self.sites_added is None else len(self.sites_added),
            "sites_closed": 0 if self.sites_closed is None else len(self.sites_closed),
            "change_all": {f"{m:g}": float(c) for m, c in zip(a["minutes"], a["change"],
                                                               strict=True)},
        }  # fmt: skip


def check_records(old: dict, new: dict) -> list[str]:
    """Warnings naming every walking parameter or profile that differs between two runs.

    Parameters
    ----------
    old, new : dict
        The two ``run.json``.

    Returns
    -------
    list of str
        One sentence per difference (empty: comparable).
    """
    po, pn = old.get("parameters") or {}, new.get("parameters") or {}
    out = []
    for key, what in CHECKED.items():
        a, b = po.get(key), pn.get(key)
        if a != b:
            out.append(f"{what} differ: {_show(a)} before, {_show(b)} after")
    cats_o = [str(c) for c in po.get("categories") or []]
    cats_n = [str(c) for c in pn.get("categories") or []]
    if cats_o and cats_n and set(cats_o) != set(cats_n):
        # a category analysed in one run only shows all its docking points added or closed
        out.append(
            f"categories differ: {_show(cats_o)} before, {_show(cats_n)} after (only in one "
            f"run: {_show(sorted(set(cats_o) ^ set(cats_n)))}; their docking points count as "
            "added or closed)"
        )
    prof_o, prof_n = old.get("profiles") or {}, new.get("profiles") or {}
    name_o, name_n = next(iter(prof_o), "adult"), next(iter(prof_n), "adult")
    avoid_o = (prof_o.get(name_o) or {}).get("avoids") if prof_o else None
    avoid_n = (prof_n.get(name_n) or {}).get("avoids") if prof_n else None
    if name_o != name_n or (prof_o and prof_n and avoid_o != avoid_n):
        out.append(f"walking profile differs: {name_o} before, {name_n} after")
    if out:
        out = [
            w + " (the change mixes a change of method with a change on the ground)" for w in out
        ]
    return out


def _show(v) -> str:
    if isinstance(v, list):
        return ", ".join(f"{x:g}" if isinstance(x, float) else str(x) for x in v) or "none"
    return "not recorded" if v is None else str(v)


def _minutes(res: pd.DataFrame, category: str) -> np.ndarray:
    col = f"minutes_{category}"
    if col not in res:
        return np.full(len(res), np.inf)
    m = pd.to_numeric(res[col], errors="coerce").to_numpy(float)
    return np.where(np.isnan(m), np.inf, m)


def _weights(res: pd.DataFrame, column: str) -> np.ndarray:
    if column not in res:
        return np.zeros(len(res))
    return pd.to_numeric(res[column], errors="coerce").fillna(0.0).to_numpy(float)


def _match(old: Run, new: Run) -> tuple[np.ndarray, bool]:
    """For each old resident the row of the same cell in the new run (-1: none), and
    whether the runs share their grid."""
    ro, rn = old.residents, new.residents
    idx = np.full(len(ro), -1, dtype=np.int64)
    if "pid" not in ro or "pid" not in rn:
        return idx, False
    po, pn = ro["pid"].astype(str), rn["pid"].astype(str)
    if po.duplicated().any() or pn.duplicated().any():
        return idx, False
    pos = pd.Series(np.arange(len(rn)), index=pn.to_numpy())
    hit = pos.reindex(po.to_numpy())
    found = hit.notna().to_numpy()
    if not found.any():
        return idx, False
    j = hit.to_numpy()[found].astype(np.int64)
    go = ro.geometry.to_numpy()[found]
    gn = gpd.GeoSeries(rn.geometry.to_numpy()[j], crs=rn.crs).to_crs(ro.crs).to_numpy()
    d = gpd.GeoSeries(go, crs=ro.crs).distance(gpd.GeoSeries(gn, crs=ro.crs)).to_numpy()
    if not (d <= SAME_PLACE_M).all():
        return idx, False
    idx[found] = j
    return idx, True


def compare_runs(old: Run, new: Run) -> RunChange:
    """Covered before, covered after, change and its cause per category, threshold,
    district and group (see the module docstring).

    Parameters
    ----------
    old, new : Run

    Returns
    -------
    RunChange
    """
    warnings = check_records(old.record, new.record)
    match, same = _match(old, new)
    cats = list(dict.fromkeys([*new.categories, *old.categories]))
    cats = [c for c in cats if c != ALL] + [ALL]
    thresholds = sorted({float(m) for r in (old, new) for m in r.parameters.get("minutes", [])})
    have = set(new.sites["category"].astype(str)) if len(new.sites) else set()
    no_site = {c for c in cats if (c not in have and c != ALL) or not have}
    had = set(old.sites["category"].astype(str)) if len(old.sites) else set()
    no_site_old = {c for c in cats if (c not in had and c != ALL) or not had}
    ro, rn = old.residents, new.residents
    dist_o = ro["district"].astype(str).to_numpy() if "district" in ro else None
    dist_n = rn["district"].astype(str).to_numpy() if "district" in rn else None
    groups = list(dict.fromkeys([*new.groups, *old.groups]))
    parts: dict[str, list[dict]] = {"summary": [], "districts": [], "groups": []}
    for c in cats:
        mo, mn = _minutes(ro, c), _minutes(rn, c)
        mn_old = np.where(match >= 0, mn[np.maximum(match, 0)], mo)  # new sites, old people
        keys: list[tuple[str, dict, np.ndarray, np.ndarray]] = [
            ("summary", {}, _weights(ro, "population"), _weights(rn, "population"))
        ]
        if dist_o is not None or dist_n is not None:
            names = list(dict.fromkeys([*(dist_n if dist_n is not None else []),
                                        *(dist_o if dist_o is not None else [])]))  # fmt: skip
            for name in names:
                wo = _weights(ro, "population") * (dist_o == name if dist_o is not None else 0)
                wn = _weights(rn, "population") * (dist_n == name if dist_n is not None else 0)
                keys.append(("districts", {"district": name}, wo, wn))
        for g in groups:
            keys.append(("groups", {"group": g}, _weights(ro, g), _weights(rn, g)))
        for part, key, wo, wn in keys:
            parts[part] += _rows(key, c, thresholds, wo, wn, mo, mn, mn_old, same,
                                 (c in no_site, c in no_site_old))  # fmt: skip
    tables = {}
    for part, first in (("summary", []), ("districts", ["district"]), ("groups", ["group"])):
        tables[part] = pd.DataFrame(
            parts[part], columns=[*first, *SUMMARY_COLUMNS, *CHANGE_COLUMNS]
        )
    small = thresholds[0] if thresholds else 0.0
    cells = _cells(old, new, match, small) if same else None
    added, closed = _site_changes(old.sites, new.sites)
    return RunChange(
        tables["summary"], tables["districts"], tables["groups"], cells, same,
        int((match >= 0).sum()), warnings, added, closed, small,
    )  # fmt: skip


def _rows(key, c, thresholds: Sequence[float], wo, wn, mo, mn, mn_old, same, none) -> list[dict]:
    no_site, no_site_old = none
    t = np.asarray(thresholds, float)
    before = (wo[:, None] * (mo[:, None] <= t)).sum(0)
    after = (wn[:, None] * (mn[:, None] <= t)).sum(0)
    sites = (wo[:, None] * ((mn_old[:, None] <= t).astype(float) - (mo[:, None] <= t))).sum(0)
    pop_o, pop_n = float(wo.sum()), float(wn.sum())
    med = weighted_median(mn, wn) if pop_n > 0 else float("nan")
    rows = []
    for k, m in enumerate(t):
        change = float(after[k] - before[k])
        rows.append({
            **key, "category": c, "minutes": float(m), "population": pop_n,
            "population_covered": float(after[k]),
            "share_covered": float(after[k] / pop_n) if pop_n > 0 and not no_site else np.nan,
            "median_minutes": np.nan if no_site else med,
            "note": NO_SITE_NOTE if no_site else "",
            "population_before": pop_o,
            "share_before": float(before[k] / pop_o) if pop_o > 0 and not no_site_old else np.nan,
            "covered_before": float(before[k]), "covered_after": float(after[k]),
            "change": change,
            "change_sites": float(sites[k]) if same else np.nan,
            "change_population": change - float(sites[k]) if same else np.nan,
        })  # fmt: skip
    return rows


def _cells(old: Run, new: Run, match: np.ndarray, minutes: float) -> gpd.GeoDataFrame:
    ro, rn = old.residents, new.residents
    mo, mn = _minutes(ro, ALL), _minutes(rn, ALL)
    in_new = np.zeros(len(rn), bool)
    in_new[match[match >= 0]] = True
    only_old = ro.loc[match < 0]
    geom = np.concatenate([rn.geometry.to_numpy(),
                           only_old.geometry.to_crs(rn.crs).to_numpy()])  # fmt: skip
    before_n = np.full(len(rn), np.inf)
    pop_before_n = np.zeros(len(rn))
    j = match[match >= 0]
    before_n[j] = mo[match >= 0]
    pop_before_n[j] = _weights(ro, "population")[match >= 0]
    cells = gpd.GeoDataFrame(
        {
            "pid": np.concatenate([rn["pid"].astype(str).to_numpy(),
                                   only_old["pid"].astype(str).to_numpy()]),
            "population_before": np.concatenate([pop_before_n,
                                                 _weights(only_old, "population")]),
            "population_after": np.concatenate([_weights(rn, "population"),
                                                np.zeros(len(only_old))]),
            "minutes_before": np.concatenate([before_n, mo[match < 0]]),
            "minutes_after": np.concatenate([mn, np.full(len(only_old), np.inf)]),
        },
        geometry=geom, crs=rn.crs,
    )  # fmt: skip
    b = cells["minutes_before"].to_numpy() <= minutes
    a = cells["minutes_after"].to_numpy() <= minutes
    cells["status"] = np.where(a & ~b, "better", np.where(b & ~a, "worse", "unchanged"))
    return cells


def _site_changes(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame):
    if "site_id" not in old or "site_id" not in new:
        return None, None
    so, sn = set(old["site_id"].astype(str)), set(new["site_id"].astype(str))
    added = new[~new["site_id"].astype(str).isin(so)]
    closed = old[~old["site_id"].astype(str).isin(sn)]
    return added, closed

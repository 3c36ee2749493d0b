"""Scenarios: proposed sites, closures, moves and re-categorisations, before and after.

A scenario is a YAML file (see ``scenarios/README.md``, read by
:mod:`accessibility.planning.scenario_file`) naming the base inputs
(network, population, sites, districts, minutes, speed) and a list of changes.
The engine applies the changes to the base site frame and runs
:func:`accessibility.core.analysis.analyze` twice — before and after — on the same
residents, so every gain is the exact difference of two full analyses.

All distances are door to door on the walking network, in metres; times in
minutes. Sites are kept in EPSG:4326; the analyses work in the network CRS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._text import closest, column_slug
from ..config import DEFAULT_MINUTES, DEFAULT_SPEED_KMH, MAX_ACCESS_LEG_M
from ..core.analysis import ALL, Analysis, analyze
from ..core.network import Network
from ..errors import InputError, ScenarioError
from ..inputs.geocode import Geocoder, split_address
from ..inputs.presets import short
from ..inputs.sites import SITE_COLUMNS, load_presets, new_categories
from ..rejects import Rejects
from .scenario_file import Change, Scenario

#: Value of the ``change`` column in scenario site layers.
UNCHANGED, ADDED, REMOVED, MOVED, RECATEGORISED = (
    "unchanged", "added", "removed", "moved", "recategorised",
)  # fmt: skip


# --------------------------------------------------------------------------- applying


def apply_changes(
    sites: gpd.GeoDataFrame, changes: Sequence[Change], file: str | None = None
) -> gpd.GeoDataFrame:
    """Apply scenario changes to a site frame.

    Parameters
    ----------
    sites : GeoDataFrame
        :data:`accessibility.inputs.sites.SITE_COLUMNS` frame (any CRS).
    changes : sequence of Change
    file : str, optional
        Scenario file named in errors and used as ``source`` of added sites.

    Returns
    -------
    GeoDataFrame
        The sites after the changes (EPSG:4326), with a ``change`` column
        (``unchanged``/``added``/``moved``/``recategorised``); removed sites are dropped.

    Raises
    ------
    ScenarioError
        A change names a site that does not exist (closest id suggested), a name
        that matches several sites, or adds an id that is already used.
    """
    out = sites.to_crs("EPSG:4326").reset_index(drop=True).copy()
    out["change"] = UNCHANGED
    src = Path(file).name if file else "scenario"
    for n, ch in enumerate(changes, start=1):
        where = f"line {ch.line}: " if ch.line else ""
        v = ch.values
        if ch.kind in ("add", "move") and "lat" not in v:
            raise ScenarioError(
                f"{where}{ch.kind}: the address {short(v.get('address'))} has no coordinates yet; "
                "resolve it with resolve_addresses() first",
                file,
            )
        if ch.kind == "add":
            sid = v.get("id") or f"scenario:{n}"
            if sid in set(out["site_id"].astype(str)):
                raise ScenarioError(
                    f"{where}add: id '{sid}' is already used by a site; give another id", file
                )
            new = gpd.GeoDataFrame(
                [{
                    "site_id": sid,
                    "name": v["name"],
                    "category": v["category"],
                    "source": src,
                    "row": ch.line,
                    "osm_tags": None,
                    "geometry": shapely.Point(v["lon"], v["lat"]),
                    "change": ADDED,
                }],
                geometry="geometry",
                crs="EPSG:4326",
            )  # fmt: skip
            # added at once, so later changes can move, re-categorise or remove it again
            out = gpd.GeoDataFrame(
                pd.concat([out, new], ignore_index=True), geometry="geometry", crs="EPSG:4326"
            )
            continue
        i = _find_site(out, v, ch.kind, where, file)
        if ch.kind == "remove":
            out = out.drop(index=i).reset_index(drop=True)
        elif ch.kind == "move":
            out.loc[i, "geometry"] = shapely.Point(v["lon"], v["lat"])
            if out.loc[i, "change"] != ADDED:
                out.loc[i, "change"] = MOVED
        elif ch.kind == "recategorise":
            out.loc[i, "category"] = v["category"]
            if out.loc[i, "change"] == UNCHANGED:
                out.loc[i, "change"] = RECATEGORISED
    out["row"] = out["row"].astype("Int64")
    return out


def _find_site(sites: gpd.GeoDataFrame, v: dict, kind: str, where: str, file) -> int:
    ids = sites["site_id"].astype(str)
    if "id" in v:
        hit = np.flatnonzero(ids.to_numpy() == v["id"])
        if len(hit) == 0:
            guess = closest(v["id"], list(ids))
            hint = f" (did you mean '{guess}'?)" if guess else ""
            raise ScenarioError(
                f"{where}{kind}: no site has the id '{v['id']}'{hint}; site ids are in "
                "sites.gpkg of an analyze run (column site_id)",
                file,
            )
        return int(hit[0])
    names = sites["name"].astype(str).to_numpy()
    hit = np.flatnonzero(names == v["name"])
    if len(hit) == 0:
        guess = closest(v["name"], list(names))
        hint = f" (did you mean '{guess}'?)" if guess else ""
        raise ScenarioError(
            f"{where}{kind}: no site is named '{v['name']}'{hint}; check the name or give its id",
            file,
        )
    if len(hit) > 1:
        raise ScenarioError(
            f"{where}{kind}: {len(hit)} sites are named '{v['name']}' "
            f"(ids {', '.join(ids.iloc[hit])}); give the id instead",
            file,
        )
    return int(hit[0])


# --------------------------------------------------------------------------- before/after


@dataclass
class ScenarioResult:
    """Two full analyses, before and after the changes, on the same residents.

    Attributes
    ----------
    before, after : Analysis
    sites_after : GeoDataFrame
        Sites after the changes with a ``change`` column (EPSG:4326).
    removed : GeoDataFrame
        Removed sites (EPSG:4326).
    name : str
    """

    before: Analysis
    after: Analysis
    sites_after: gpd.GeoDataFrame
    removed: gpd.GeoDataFrame
    name: str = "scenario"

    @property
    def minutes(self) -> tuple[float, ...]:
        """Thresholds in minutes (of the before analysis)."""
        return self.before.minutes

    def summary(self) -> pd.DataFrame:
        """``scenario_summary.csv``: ``category,minutes,population_covered_before,
        population_covered_after,gain`` then ``population,share_before,share_after``.

        Returns
        -------
        DataFrame
            One row per category and threshold (minutes); counts in persons, shares
            as fractions 0..1.
        """
        return _merge(self.before.summary(), self.after.summary(), [])

    def summary_districts(self) -> pd.DataFrame:
        """``scenario_summary_districts.csv``: the same per district (first column ``district``).

        Returns
        -------
        DataFrame
            The :meth:`summary` columns, one row per district, category and threshold.
        """
        return _merge(self.before.summary_districts(), self.after.summary_districts(), ["district"])

    def summary_groups(self) -> pd.DataFrame:
        """``scenario_summary_groups.csv``: the same per population group (first column ``group``).

        Returns
        -------
        DataFrame
            The :meth:`summary` columns, one row per group, category and threshold.
        """
        return _merge(self.before.summary_groups(), self.after.summary_groups(), ["group"])

    def changed_residents(self, gained: bool, category: str = ALL) -> gpd.GeoDataFrame:
        """Resident points that gain (``gained=True``) or lose coverage at any threshold.

        Columns: ``pid, population``, groups, ``district`` (if any),
        ``minutes_before, minutes_after`` (``category``; NaN = unreachable),
        ``nearest_before, nearest_after`` (site ids, category ``all``), and
        ``covered_before_<m>``/``covered_after_<m>`` per threshold; geometry in
        the network CRS.

        Parameters
        ----------
        gained : bool
            True for residents that gain coverage, False for those that lose it.
        category : str
            Category whose walking time (minutes) decides coverage; default all sites.

        Returns
        -------
        GeoDataFrame
            The changed resident points (network CRS, metres), with the columns above.
        """
        b = self.before.residents
        a = self.after.residents
        mb = b[f"minutes_{category}"].to_numpy(float)
        ma = a[f"minutes_{category}"].to_numpy(float)
        t = np.asarray(self.minutes)
        cb = mb[:, None] <= t[None, :]
        ca = ma[:, None] <= t[None, :]
        mask = (ca & ~cb).any(axis=1) if gained else (cb & ~ca).any(axis=1)
        keep = [c for c in ["pid", "population", *self.before.groups, "district"] if c in b]
        out = b.loc[mask, keep].copy()
        out["minutes_before"] = np.where(np.isfinite(mb[mask]), mb[mask], np.nan)
        out["minutes_after"] = np.where(np.isfinite(ma[mask]), ma[mask], np.nan)
        out["nearest_before"] = b.loc[mask, "nearest_site_id"].to_numpy(object)
        out["nearest_after"] = a.loc[mask, "nearest_site_id"].to_numpy(object)
        for j, m in enumerate(t):
            out[f"covered_before_{m:g}"] = cb[mask, j]
            out[f"covered_after_{m:g}"] = ca[mask, j]
        return gpd.GeoDataFrame(out, geometry=b.geometry[mask].to_numpy(), crs=b.crs)

    def site_layer(self) -> gpd.GeoDataFrame:
        """All sites before and after with their ``change`` (EPSG:4326).

        Returns
        -------
        GeoDataFrame
            The site columns plus ``change`` (the sites after the changes, then the
            removed ones), EPSG:4326.
        """
        rem = self.removed.copy()
        rem["change"] = REMOVED
        cols = [c for c in SITE_COLUMNS if c != "geometry"] + ["change", "geometry"]
        parts = [self.sites_after[cols], rem[cols]] if len(rem) else [self.sites_after[cols]]
        out = pd.concat(parts, ignore_index=True)
        out["row"] = out["row"].astype("Int64")
        out["osm_tags"] = out["osm_tags"].astype(object).where(out["osm_tags"].notna(), None)
        return gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")


def _merge(before: pd.DataFrame, after: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    on = [*keys, "category", "minutes"]
    cols = [*keys, "category", "minutes", "population_covered_before",
            "population_covered_after", "gain", "population", "share_before", "share_after"]  # fmt: skip
    if before.empty and after.empty:
        return pd.DataFrame(columns=cols)
    b = before[[*on, "population", "population_covered", "share_covered"]].rename(
        columns={"population_covered": "population_covered_before", "share_covered": "share_before"}
    )
    a = after[[*on, "population_covered", "share_covered"]].rename(
        columns={"population_covered": "population_covered_after", "share_covered": "share_after"}
    )
    m = b.merge(a, on=on, how="left", sort=False)  # same categories and thresholds in both
    m["gain"] = m["population_covered_after"] - m["population_covered_before"]
    return m[cols]


def run_scenario(
    network: Network,
    sites: gpd.GeoDataFrame,
    residents: gpd.GeoDataFrame,
    changes: Sequence[Change] = (),
    *,
    sites_after: gpd.GeoDataFrame | None = None,
    minutes: Sequence[float] = DEFAULT_MINUTES,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    districts: gpd.GeoDataFrame | None = None,
    rejects: Rejects | None = None,
    max_access_m: float = MAX_ACCESS_LEG_M,
    categories: Sequence[str] | None = None,
    file: str | None = None,
    name: str = "scenario",
) -> ScenarioResult:
    """Analyse the sites before and after the changes on the same residents.

    Parameters
    ----------
    network : Network
    sites : GeoDataFrame
        Base sites (:data:`~accessibility.inputs.sites.SITE_COLUMNS`).
    residents : GeoDataFrame
        Residents as for :func:`~accessibility.core.analysis.analyze`.
    changes : sequence of Change
        Applied with :func:`apply_changes` (ignored when ``sites_after`` is given).
    sites_after : GeoDataFrame, optional
        The changed sites directly (needs a ``change`` column).
    minutes, speed_kmh, districts, rejects, max_access_m, categories
        As for :func:`~accessibility.core.analysis.analyze` (minutes, km/h, metres).

    Returns
    -------
    ScenarioResult
    """
    base = sites.to_crs("EPSG:4326").reset_index(drop=True)
    after = apply_changes(base, changes, file) if sites_after is None else sites_after
    cats = list(
        dict.fromkeys(
            [*(categories or []), *base["category"].astype(str), *after["category"].astype(str)]
        )  # fmt: skip
    )
    kw = dict(minutes=minutes, speed_kmh=speed_kmh, districts=districts,
              max_access_m=max_access_m, categories=cats)  # fmt: skip
    before_a = analyze(network, base, residents, rejects=rejects, **kw)  # type: ignore[arg-type]
    # the after run's rejects duplicate the before run's for unchanged rows; keep only new ones

    after_rejects = Rejects()
    after_a = analyze(network, after.drop(columns="change"), residents, rejects=after_rejects, **kw)  # type: ignore[arg-type]
    if rejects is not None:
        seen = set(map(tuple, rejects.frame().astype(str).to_numpy()))
        for row in after_rejects.frame().itertuples(index=False):
            if tuple(map(str, row)) not in seen:
                rejects.add(row.file, None if pd.isna(row.row) else int(row.row), row.reason,
                            row.value)  # fmt: skip
    if not np.array_equal(
        before_a.residents["pid"].to_numpy(object), after_a.residents["pid"].to_numpy(object)
    ):  # pragma: no cover - snapping is deterministic
        raise RuntimeError("residents differ between the before and after runs")
    removed_ids = set(base["site_id"].astype(str)) - set(after["site_id"].astype(str))
    removed = base[base["site_id"].astype(str).isin(removed_ids)]
    return ScenarioResult(before_a, after_a, after, removed, name)


def resolve_addresses(
    changes: list[Change], geocoder: Geocoder, file: str | Path | None = None
) -> list[Change]:
    """Give ``add``/``move`` changes that carry an ``address`` their lat/lon (EPSG:4326).

    Parameters
    ----------
    changes : list of Change
    geocoder : OfflineGeocoder or NominatimGeocoder
        See :func:`accessibility.inputs.geocode.make_geocoder`.
    file : path, optional
        The scenario file, named in errors.

    Returns
    -------
    list of Change
        ``changes`` in the same order, the geocoded ones with ``lat``/``lon``
        (EPSG:4326) and ``geocode_quality`` added.

    Raises
    ------
    ScenarioError
        An address is not found; the message names the line, the reason and the
        closest known streets.
    """

    todo = [c for c in changes if "address" in c.values and "lat" not in c.values]
    if not todo:
        return changes
    table = pd.DataFrame(
        [split_address(c.values["address"]) for c in todo],
        columns=["street", "housenumber", "postcode", "city"],
    )
    found = geocoder.geocode(table)
    resolved = {}
    for c, (_, hit) in zip(todo, found.iterrows(), strict=True):
        if hit["reason"]:
            raise ScenarioError(
                f"line {c.line}: {c.kind}: address {short(c.values['address'])} not found "
                f"({hit['reason']}); correct it or give lat and lon",
                file,
            )
        resolved[id(c)] = Change(
            c.kind,
            {**c.values, "lat": float(hit["lat"]), "lon": float(hit["lon"]),
             "geocode_quality": hit["quality"]},
            c.line,
        )  # fmt: skip
    return [resolved.get(id(c), c) for c in changes]


def check_changes(result: ScenarioResult) -> None:
    """A scenario none of whose changes takes effect is an error (nothing to compare).

    Compares the sites actually used before and after (id, category, place): a change
    whose site was rejected (e.g. too far from the network) takes no effect.

    Parameters
    ----------
    result : ScenarioResult
        The scenario run (before and after analyses).

    Raises
    ------
    InputError
        The sites used after equal those used before; the message names up to three
        rejects.
    """

    def used(a):
        s = a.sites
        return set(zip(s["site_id"].astype(str), s["category"].astype(str),
                       s.geometry.x.round(2), s.geometry.y.round(2), strict=True))  # fmt: skip

    if used(result.before) != used(result.after):
        return
    rej = result.before.rejects.frame()
    why = "; ".join(
        f"{Path(str(r.file)).name}" + (f" row {r.row}" if pd.notna(r.row) else "") + f": {r.reason}"
        for r in rej.tail(3).itertuples()
    )
    raise InputError(
        f"scenario {result.name!r}: no change takes effect, so there is nothing to compare "
        f"(every change was rejected or changes nothing{'; ' + why if why else ''}); correct the "
        "changes"
    )


def side_by_side(tables: list[tuple[str, pd.DataFrame]], keys: list[str]) -> pd.DataFrame:
    """``comparison.csv``: ``population_covered_before``, then ``after_<slug>`` and
    ``gain_<slug>`` per scenario, on ``keys`` + category + minutes.

    ``<slug>`` is the scenario name made column-safe (:func:`accessibility._text.column_slug`:
    lower case letters, digits, ``_``); :func:`comparison_columns` maps the columns back to
    the full names.

    Parameters
    ----------
    tables : list of (str, DataFrame)
        Scenario name and its :meth:`ScenarioResult.summary` (or district summary) table;
        the first one provides the ``population_covered_before`` column.
    keys : list of str
        Extra join columns (``[]`` or ``["district"]``).

    Returns
    -------
    DataFrame
        One row per key, category and threshold (minutes); counts in persons.
    """
    on = [*keys, "category", "minutes"]
    first = tables[0][1]
    out = first[[*on, "population_covered_before"]].copy()
    for name, t in tables:
        part = t[[*on, "population_covered_after", "gain"]].rename(
            columns={"population_covered_after": f"after_{column_slug(name)}",
                     "gain": f"gain_{column_slug(name)}"}
        )  # fmt: skip
        out = out.merge(part, on=on, how="left", sort=False)
    return out


def comparison_columns(names: list[str], files: list[str] | None = None) -> pd.DataFrame:
    """The lookup table of ``comparison.csv``'s scenario columns (``comparison_columns.csv``).

    Parameters
    ----------
    names : list of str
        The scenarios' (unique) names, in column order.
    files : list of str, optional
        Each scenario's file.

    Returns
    -------
    DataFrame
        ``column, scenario, file, meaning``: one row per ``after_<slug>`` and
        ``gain_<slug>`` column with the full scenario name (counts in persons).
    """
    files = files or [""] * len(names)
    rows = []
    for name, file in zip(names, files, strict=True):
        s = column_slug(name)
        rows += [
            {"column": f"after_{s}", "scenario": name, "file": file,
             "meaning": "residents covered after the scenario (persons)"},
            {"column": f"gain_{s}", "scenario": name, "file": file,
             "meaning": "after minus before (persons; negative = lost)"},
        ]  # fmt: skip
    return pd.DataFrame(rows, columns=["column", "scenario", "file", "meaning"])


@dataclass
class Comparison:
    """Several scenarios run against one baseline (``accessibility compare``).

    Attributes
    ----------
    results : list of (Scenario, str, ScenarioResult)
        Each scenario with its (folder-unique) name and result.
    table, districts : DataFrame
        ``comparison.csv`` and ``comparison_districts.csv``.
    sites : list of GeoDataFrame
        Each scenario's site layer (with visibility columns when OSM features were given).
    """

    results: list[tuple[Scenario, str, ScenarioResult]]
    table: pd.DataFrame
    districts: pd.DataFrame
    sites: list[gpd.GeoDataFrame]


def warn_new_categories(result: ScenarioResult, record: dict, file: str | Path | None) -> None:
    """Warn about added or re-categorised sites whose category looks like a misspelt preset;
    the new categories go to ``record["new_categories_in_changes"]``.

    Parameters
    ----------
    result : ScenarioResult
        The scenario run; its ``sites_after`` ``change`` column selects the sites.
    record : dict
        The run record (``run.json`` contents); updated in place.
    file : path or None
        The scenario file named in warnings; without it nothing is recorded.
    """
    presets = record.get("inputs", {}).get("presets") or {}
    table = load_presets(presets.get("path"))
    changed = result.sites_after[result.sites_after["change"].isin([ADDED, RECATEGORISED])]
    if len(changed) and file:
        record["new_categories_in_changes"] = new_categories(changed, table["categories"], file)

"""The core job: residents × sites × walking network → minutes and coverage scores.

Works in the network's metric CRS; inputs in any CRS are projected on entry.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..config import DEFAULT_MINUTES, DEFAULT_SPEED_KMH, MAX_ACCESS_LEG_M
from ..errors import AccessibilityWarning, AllRejectedError, InputError
from ..params import WalkParams
from ..rejects import Rejects
from . import coverage
from .network import Network, Snap
from .routing import nearest_by_category, site_graph
from .supply import Supply

ALL = "all"
OUTSIDE_DISTRICTS = "(outside all districts)"


def metres_per_minute(speed_kmh: float) -> float:
    """Walking speed in metres per minute.

    Parameters
    ----------
    speed_kmh : float
        Walking speed in km/h (positive, finite).

    Returns
    -------
    float
        Metres walked per minute (``speed_kmh * 1000 / 60``).

    Raises
    ------
    InputError
        The speed is not positive and finite.
    """
    if not 0 < speed_kmh < np.inf:
        raise InputError(f"walking speed must be positive, got {speed_kmh} km/h")
    return speed_kmh * 1000.0 / 60.0


@dataclass
class Analysis:
    """Result of :func:`analyze`; tables are computed on demand.

    Attributes
    ----------
    network : Network
    sites : GeoDataFrame
        Sites used (network CRS): ``site_id, name, category, source, access_m, fragment``.
    residents : GeoDataFrame
        Resident points used (network CRS) with ``population``, groups,
        ``access_m``, ``fragment``, ``metres_<c>`` and ``minutes_<c>`` per category
        and ``all``, ``nearest_site_id``, ``nearest_site_name`` (and ``district``).
    categories : list of str
        Site categories, ``all`` last.
    groups : list of str
        Population group columns.
    params : WalkParams
        The walking parameters used (minutes, speed, access leg, island threshold);
        ``minutes``, ``speed_kmh`` and ``max_access_m`` read them.
    districts : GeoDataFrame or None
        District polygons with a ``district`` name column.
    rejects : Rejects
    timings : dict
        Seconds per stage.
    pruning : dict
        Island pruning (:meth:`Network.pruning`) plus the sites and residents that
        would have snapped onto an island: ``sites_off_islands``,
        ``resident_points_off_islands``, ``residents_off_islands`` (persons), each
        snapped onto the kept network instead, and ``*_rejected_near_islands``
        (no kept edge within ``--max-access``).
    nearest : dict
        Category (and ``all``) → index into ``sites`` of each resident's nearest site,
        ``-1`` where none is reachable.
    supply : Supply or None
        Set by :func:`accessibility.core.supply.supply_demand` (2SFCA, E2SFCA and
        decay-weighted coverage columns added to ``residents`` and ``sites``).
    """

    network: Network
    sites: gpd.GeoDataFrame
    residents: gpd.GeoDataFrame
    categories: list[str]
    groups: list[str]
    params: WalkParams
    districts: gpd.GeoDataFrame | None
    rejects: Rejects
    timings: dict = field(default_factory=dict)
    pruning: dict = field(default_factory=dict)
    site_snap: Snap | None = None
    resident_snap: Snap | None = None
    nearest: dict[str, np.ndarray] = field(default_factory=dict)
    district_members: pd.DataFrame | None = None
    supply: Supply | None = None

    @property
    def minutes(self) -> tuple[float, ...]:
        """Thresholds in minutes (``params.minutes``)."""
        return self.params.minutes

    @property
    def speed_kmh(self) -> float:
        """Walking speed in km/h (``params.speed_kmh``)."""
        return self.params.speed_kmh

    @property
    def max_access_m(self) -> float:
        """Longest straight access leg in metres (``params.max_access_m``)."""
        return self.params.max_access_m

    def minutes_by_category(self) -> dict[str, np.ndarray]:
        """Walking minutes of every resident point to the nearest site, per category (``inf`` = unreachable).

        Returns
        -------
        dict of str to ndarray of float
            Category (and ``all``) → minutes, one value per row of ``residents``.
        """
        return {c: self.residents[f"minutes_{c}"].to_numpy(float) for c in self.categories}

    def categories_without_site(self) -> list[str]:
        """Categories reported although no docking point of them is used (``all`` if none is).

        Returns
        -------
        list of str
        """
        have = set(self.sites["category"].astype(str)) if len(self.sites) else set()
        return [c for c in self.categories if (c not in have and c != ALL) or not have]

    def summary(self) -> pd.DataFrame:
        """``summary.csv`` table (``note`` says when a category has no docking point).

        Returns
        -------
        DataFrame
            :data:`accessibility.core.coverage.SUMMARY_COLUMNS` (persons, shares 0–1, minutes).
        """
        return coverage.summary(
            self.residents["population"].to_numpy(float), self.minutes_by_category(), self.minutes,
            self.categories_without_site(),
        )  # fmt: skip

    def summary_groups(self) -> pd.DataFrame:
        """``summary_groups.csv`` table (empty if there are no groups).

        Returns
        -------
        DataFrame
            ``group`` then the summary columns, per population group (persons).
        """
        return coverage.summary_groups(
            self.residents[self.groups], self.minutes_by_category(), self.minutes,
            self.categories_without_site(),
        )  # fmt: skip

    def summary_districts(self) -> pd.DataFrame:
        """``summary_districts.csv`` table (empty without districts).

        Returns
        -------
        DataFrame
            ``district`` then the summary columns, every district listed.
        """
        if self.districts is None:
            return pd.DataFrame(columns=["district", *coverage.SUMMARY_COLUMNS])
        names = list(self.districts["district"])
        if (self.residents["district"] == OUTSIDE_DISTRICTS).any():
            names.append(OUTSIDE_DISTRICTS)
        return coverage.summary_districts(
            self.residents["district"].to_numpy(object), names,
            self.residents["population"].to_numpy(float), self.minutes_by_category(), self.minutes,
            self.categories_without_site(), self.district_members,
        )  # fmt: skip


def snap_points(
    net: Network,
    gdf: gpd.GeoDataFrame,
    rejects: Rejects,
    what: str,
    file_of: pd.Series | str,
    row_of: pd.Series,
    label_of: pd.Series,
    max_access_m: float = MAX_ACCESS_LEG_M,
) -> tuple[gpd.GeoDataFrame, Snap]:
    """Project points to the network CRS and snap them; reject points too far from any edge.

    Points snap onto the nearest edge of a kept component (island pruning,
    :meth:`Network.snap`). A point whose access leg exceeds ``max_access_m`` metres
    is written to ``rejects`` with the distance found and the reason: outside the
    network's convex hull → "outside the area covered by the network" (the edge of
    the extract); inside it → no walkable edge within reach (naming a pruned island
    if one was nearer). Returns the kept rows (network CRS) with ``access_m``,
    ``fragment`` (snapped onto a kept component that is not the largest) and
    ``island`` (would have snapped onto a pruned island) columns, and their snaps.

    Parameters
    ----------
    net : Network
        The walking network (projected CRS, metres).
    gdf : GeoDataFrame
        Points (or polygons, snapped at a representative point) in any CRS.
    rejects : Rejects
        Collector the unusable rows are written to.
    what : str
        What the rows are ("site", "resident point", "candidate"), used in messages.
    file_of : Series or str
        Source file per row (or one file name for all rows), for the reject records.
    row_of : Series
        Row number in the source file per row.
    label_of : Series
        Human-readable label per row (name or id) for the reject records.
    max_access_m : float
        Longest allowed straight access leg in metres.

    Returns
    -------
    tuple of (GeoDataFrame, Snap)
        The kept rows in the network CRS with the extra columns above, and their
        snaps (one per kept row, in the same order).
    """
    gdf = gdf.to_crs(net.crs)
    geom = gdf.geometry
    if not geom.geom_type.eq("Point").all():
        geom = geom.representative_point()
    pts = geom.to_numpy()
    # x/y per row (NaN for an empty or missing geometry), so one bad row rejects only itself
    xy = np.full((len(pts), 2), np.nan)
    ok = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
    xy[ok] = shapely.get_coordinates(pts[ok])
    bad_geom = ~np.isfinite(xy).all(axis=1)
    snap = net.snap(np.where(bad_geom[:, None], 0.0, xy))
    far = (snap.access > max_access_m) | bad_geom
    outside = bad_geom
    if far.any():
        outside = ~shapely.contains_xy(net.hull(), xy[:, 0], xy[:, 1]) | bad_geom
        files = (
            file_of[far]
            if isinstance(file_of, pd.Series)
            else pd.Series([file_of] * int(far.sum()))
        )
        island = snap.island if snap.island is not None else np.zeros(len(far), dtype=bool)
        reasons = np.where(
            outside[far],
            f"{what} lies outside the area covered by the network (beyond the edge of the OSM "
            "extract, or wrong coordinates/CRS); give a larger network to include it",
            np.where(
                island[far],
                f"{what} has no walkable edge of the connected network within "
                f"{max_access_m:,.0f} m: its nearest way is an island of fewer than "
                f"{net.min_component} nodes (not linked to the streets in OSM); lower "
                "--min-component or fix the OSM data",
                f"{what} has no walkable edge within {max_access_m:,.0f} m (wrong or swapped "
                "coordinates, or a gap in the OSM data); check the coordinates or raise --max-access",
            ),
        )
        for f, r, lab, d, why in zip(
            files, row_of[far], label_of[far], snap.access[far], reasons, strict=True
        ):
            rejects.add(f, r, why, f"{lab} ({d:,.0f} m from the nearest walkable edge)")
    keep = ~far
    out = gdf.loc[keep].copy()
    out = out.set_geometry(gpd.GeoSeries(shapely.points(xy[keep]), index=out.index, crs=net.crs))
    out.attrs["island_rejected"] = int((far & snap.island & ~outside).sum())
    snap = snap.subset(keep)
    out["access_m"] = snap.access
    out["fragment"] = net.components()[net.u[snap.edge]] != 0
    out["island"] = snap.island
    return out, snap


def analyze(
    network: Network,
    sites: gpd.GeoDataFrame,
    residents: gpd.GeoDataFrame,
    *,
    minutes: Sequence[float] = DEFAULT_MINUTES,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    districts: gpd.GeoDataFrame | None = None,
    rejects: Rejects | None = None,
    max_access_m: float = MAX_ACCESS_LEG_M,
    categories: Sequence[str] | None = None,
    params: WalkParams | None = None,
) -> Analysis:
    """Walking minutes from every resident to the nearest site of each category.

    Parameters
    ----------
    network : Network
        Walking network (metric CRS).
    sites : GeoDataFrame
        ``site_id, name, category, source``, points in any CRS.
    residents : GeoDataFrame
        ``pid, population`` and group columns (listed in ``attrs["groups"]``), points.
    minutes : sequence of float
        Thresholds in minutes.
    speed_kmh : float
        Walking speed in km/h.
    districts : GeoDataFrame, optional
        Polygons with a ``district`` column (name).
    rejects : Rejects, optional
        Collector for unusable rows (points too far from the network).
    max_access_m : float
        Longest allowed straight access leg, metres.
    categories : sequence of str, optional
        Categories to report even if no site has them (reported with zero coverage).
    params : WalkParams, optional
        The walking parameters in one object; when given, ``minutes``, ``speed_kmh`` and
        ``max_access_m`` are ignored. Its ``min_component`` is taken from ``network``.

    Returns
    -------
    Analysis
    """
    timings: dict[str, float] = {}
    rejects = rejects if rejects is not None else Rejects()
    if params is None:
        params = WalkParams(minutes=tuple(minutes), speed_kmh=speed_kmh, max_access_m=max_access_m,
                            min_component=network.min_component)  # fmt: skip
    elif params.min_component != network.min_component:
        params = replace(params, min_component=network.min_component)
    max_access_m = params.max_access_m
    mpm = params.metres_per_minute
    groups = [g for g in residents.attrs.get("groups", []) if g in residents.columns]

    t0 = time.perf_counter()
    if ALL in set(sites["category"]):
        raise InputError(
            f"'{ALL}' is reserved for all categories together; rename that site category"
        )
    sites_used, site_snap = snap_points(
        network, sites, rejects, "site", sites["source"].astype(str).replace(sites.attrs.get("files", {})), _rows(sites),
        sites["site_id"].astype(str) + " " + sites["name"].astype(str), max_access_m,
    )  # fmt: skip
    res_file = residents.attrs.get("files", ["population"])
    res_file = res_file[0] if res_file else "population"
    res_used, res_snap = snap_points(
        network, residents, rejects, "resident point", str(res_file), _rows(residents),
        residents["pid"].astype(str), max_access_m,
    )  # fmt: skip
    if len(res_used) == 0:
        raise AllRejectedError(_none_in_reach(network, residents, "resident point", max_access_m),
                               res_file)  # fmt: skip
    if len(sites_used) == 0 and len(sites):
        raise AllRejectedError(_none_in_reach(network, sites, "site", max_access_m))
    pruning = {
        **network.pruning(),
        "sites_off_islands": int(sites_used["island"].sum()),
        "sites_rejected_near_islands": sites_used.attrs.get("island_rejected", 0),
        "resident_points_off_islands": int(res_used["island"].sum()),
        "residents_off_islands": float(res_used.loc[res_used["island"], "population"].sum()),
        "resident_points_rejected_near_islands": res_used.attrs.get("island_rejected", 0),
    }
    timings["snap"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    sites_used = sites_used.reset_index(drop=True)
    res_used = res_used.reset_index(drop=True)
    cats = list(dict.fromkeys([*(categories or []), *sites_used["category"].astype(str)]))
    cats = [c for c in cats if c != ALL] + [ALL]
    sg = site_graph(network, site_snap)
    site_cat = sites_used["category"].astype(str).to_numpy()
    found = nearest_by_category(network, sg, res_snap, site_cat, cats, ALL)
    for c in cats:
        dist, _ = found[c]
        res_used[f"metres_{c}"] = dist
        res_used[f"minutes_{c}"] = dist / mpm
    nearest_all = found[ALL][1]
    ok = nearest_all >= 0
    # -1 (nothing reachable, also when there is no site at all) picks the trailing None
    pick = np.where(ok, nearest_all, -1)
    ids = np.concatenate([sites_used["site_id"].to_numpy(object), [None]])
    names = np.concatenate([sites_used["name"].to_numpy(object), [None]])
    res_used["nearest_site_id"] = ids[pick]
    res_used["nearest_site_name"] = names[pick]
    timings["distances"] = time.perf_counter() - t0

    dist_gdf, members = None, None
    if districts is not None:
        dist_gdf = districts.to_crs(network.crs)[["district", "geometry"]].reset_index(drop=True)
        members = district_members(res_used, dist_gdf)
        first = members[~members["resident"].duplicated(keep="first")].set_index("resident")
        res_used["district"] = first["district"].reindex(res_used.index).to_numpy(object)
    return Analysis(
        network=network,
        sites=sites_used,
        residents=res_used,
        categories=cats,
        groups=groups,
        params=params,
        districts=dist_gdf,
        rejects=rejects,
        timings=timings,
        pruning=pruning,
        site_snap=site_snap,
        resident_snap=res_snap,
        nearest={c: found[c][1] for c in cats},
        district_members=members,
    )


def district_members(residents: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> pd.DataFrame:
    """Which district(s) each resident point lies in.

    A point inside several overlapping districts is listed once per district (it
    counts in each of them). A point exactly on a border (inside no district's interior,
    but on one or more boundaries) belongs to the first of those districts in file order,
    so a shared border neither drops nor double-counts it (the rule ``batch`` uses for its
    areas). A point in none is listed with :data:`OUTSIDE_DISTRICTS`.
    Overlapping district pairs are warned about (one warning naming up to ten pairs).

    Parameters
    ----------
    residents : GeoDataFrame
        Resident points.
    districts : GeoDataFrame
        District polygons with a ``district`` name column, in the same CRS as
        ``residents`` (the network CRS, metres).

    Returns
    -------
    DataFrame
        ``resident`` (row position in ``residents``) and ``district`` (name), sorted by
        resident, districts in file order.
    """
    _warn_overlaps(districts)
    pts = residents.geometry.to_numpy()
    tree = shapely.STRtree(districts.geometry.to_numpy())
    r, d = tree.query(pts, predicate="within")
    rest = np.setdiff1d(np.arange(len(residents)), r)
    if len(rest):  # on a border: the first district (file order) whose boundary holds it
        rb, db = tree.query(pts[rest], predicate="covered_by")
        first = np.lexsort((db, rb))
        rb, db = rb[first], db[first]
        keep = np.r_[True, rb[1:] != rb[:-1]] if len(rb) else np.zeros(0, bool)
        r, d = np.r_[r, rest[rb[keep]]], np.r_[d, db[keep]]
    order = np.lexsort((d, r))
    r, d = r[order], d[order]
    outside = np.setdiff1d(np.arange(len(residents)), r)
    names = districts["district"].to_numpy(object)
    out = pd.DataFrame(
        {"resident": np.r_[r, outside].astype(np.int64),
         "district": np.r_[names[d], np.full(len(outside), OUTSIDE_DISTRICTS, dtype=object)]}
    )  # fmt: skip
    return out.sort_values("resident", kind="stable").reset_index(drop=True)


def _warn_overlaps(districts: gpd.GeoDataFrame, min_area_m2: float = 1.0) -> None:
    """Warn when district polygons overlap by more than ``min_area_m2`` (network CRS)."""
    geoms = districts.geometry.to_numpy()
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    if not len(i):
        return
    area = shapely.area(shapely.intersection(geoms[i], geoms[j]))
    big = area > min_area_m2
    if not big.any():
        return
    names = districts["district"].astype(str).to_numpy()
    pairs = [f"{names[a]!r} & {names[b]!r}" for a, b in zip(i[big], j[big], strict=True)]
    more = f" and {len(pairs) - 10} more" if len(pairs) > 10 else ""
    warnings.warn(
        f"{len(pairs)} pairs of districts overlap ({', '.join(pairs[:10])}{more}); a resident "
        "in an overlap counts in each of its districts, so district totals add up to more than "
        "the whole",
        AccessibilityWarning,
        stacklevel=3,
    )


def _none_in_reach(net: Network, gdf: gpd.GeoDataFrame, what: str, max_access_m: float) -> str:
    """Why no ``what`` is usable: outside the network's area, or only beyond ``max_access_m``."""
    if len(gdf) == 0:
        return f"there is no {what} to use (the input has no usable rows)"
    geom = gdf.to_crs(net.crs).geometry
    xy = shapely.get_coordinates(geom.representative_point().to_numpy())
    lo, hi = net.node_xy.min(axis=0), net.node_xy.max(axis=0)
    pad = max(max_access_m, 1000.0)
    inside = ((xy >= lo - pad) & (xy <= hi + pad)).all(axis=1)
    if inside.any():
        return (
            f"no {what} has a walkable edge within --max-access {max_access_m:,.0f} m although "
            f"{int(inside.sum()):,} lie in the network's area; raise --max-access (e.g. the "
            f"default {MAX_ACCESS_LEG_M:g} m) or check the coordinates"
        )
    return (
        f"no {what} lies within reach of the walking network: the input and the network do not "
        "overlap (different area, swapped lat/lon or wrong CRS?)"
    )


def _rows(gdf: pd.DataFrame) -> pd.Series:
    """The input row numbers of a frame (its ``row`` column), or empty values."""
    if "row" in gdf:
        return gdf["row"]
    return pd.Series([None] * len(gdf), index=gdf.index, dtype=object)

"""The core job: residents × sites × walking network → minutes and coverage scores.

Works in the network's metric CRS; inputs in any CRS are projected on entry.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import coverage
from .config import DEFAULT_MINUTES, DEFAULT_SPEED_KMH, MAX_ACCESS_LEG_M
from .errors import AllRejectedError, InputError
from .network import Network, Snap
from .rejects import Rejects
from .routing import nearest_by_category, site_graph

ALL = "all"
OUTSIDE_DISTRICTS = "(outside all districts)"


def metres_per_minute(speed_kmh: float) -> float:
    """Walking speed in metres per minute."""
    if not speed_kmh > 0:
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
    minutes : tuple of float
        Thresholds.
    speed_kmh : float
    districts : GeoDataFrame or None
        District polygons with a ``district`` name column.
    rejects : Rejects
    timings : dict
        Seconds per stage.
    nearest : dict
        Category (and ``all``) → index into ``sites`` of each resident's nearest site,
        ``-1`` where none is reachable.
    """

    network: Network
    sites: gpd.GeoDataFrame
    residents: gpd.GeoDataFrame
    categories: list[str]
    groups: list[str]
    minutes: tuple[float, ...]
    speed_kmh: float
    districts: gpd.GeoDataFrame | None
    rejects: Rejects
    timings: dict = field(default_factory=dict)
    site_snap: Snap | None = None
    resident_snap: Snap | None = None
    nearest: dict[str, np.ndarray] = field(default_factory=dict)

    def minutes_by_category(self) -> dict[str, np.ndarray]:
        return {c: self.residents[f"minutes_{c}"].to_numpy(float) for c in self.categories}

    def summary(self) -> pd.DataFrame:
        """``summary.csv`` table."""
        return coverage.summary(
            self.residents["population"].to_numpy(float), self.minutes_by_category(), self.minutes
        )

    def summary_groups(self) -> pd.DataFrame:
        """``summary_groups.csv`` table (empty if there are no groups)."""
        return coverage.summary_groups(
            self.residents[self.groups], self.minutes_by_category(), self.minutes
        )

    def summary_districts(self) -> pd.DataFrame:
        """``summary_districts.csv`` table (empty without districts)."""
        if self.districts is None:
            return pd.DataFrame(columns=["district", *coverage.SUMMARY_COLUMNS])
        names = list(self.districts["district"])
        if (self.residents["district"] == OUTSIDE_DISTRICTS).any():
            names.append(OUTSIDE_DISTRICTS)
        return coverage.summary_districts(
            self.residents["district"].to_numpy(object), names,
            self.residents["population"].to_numpy(float), self.minutes_by_category(), self.minutes,
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

    Points outside the network's area, or whose access leg exceeds
    ``max_access_m`` metres, are written to ``rejects`` with the distance found.
    Returns the kept rows (network CRS) with ``access_m`` and ``fragment`` columns
    and their snaps.
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
    if far.any():
        lo, hi = net.node_xy.min(axis=0) - max_access_m, net.node_xy.max(axis=0) + max_access_m
        outside = ~((xy >= lo) & (xy <= hi)).all(axis=1) | bad_geom
        files = (
            file_of[far]
            if isinstance(file_of, pd.Series)
            else pd.Series([file_of] * int(far.sum()))
        )
        reasons = np.where(
            outside[far],
            f"{what} lies outside the area of the walking network (the input covers more than the "
            "network, or its coordinates/CRS are wrong); give a larger network to include it",
            f"{what} has no walkable edge within {max_access_m:,.0f} m (wrong or swapped coordinates, "
            "or a gap in the OSM data); check the coordinates or raise --max-access",
        )
        for f, r, lab, d, why in zip(
            files, row_of[far], label_of[far], snap.access[far], reasons, strict=True
        ):
            rejects.add(f, r, why, f"{lab} ({d:,.0f} m from the nearest walkable edge)")
    keep = ~far
    out = gdf.loc[keep].copy()
    out = out.set_geometry(gpd.GeoSeries(shapely.points(xy[keep]), index=out.index, crs=net.crs))
    snap = snap.subset(keep)
    out["access_m"] = snap.access
    out["fragment"] = net.components()[net.u[snap.edge]] != 0
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

    Returns
    -------
    Analysis
    """
    timings: dict[str, float] = {}
    rejects = rejects if rejects is not None else Rejects()
    minutes = tuple(sorted({float(m) for m in minutes}))
    if not minutes or min(minutes) <= 0:
        raise InputError(f"--minutes must be positive numbers, got {minutes}")
    mpm = metres_per_minute(speed_kmh)
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
        raise AllRejectedError(
            "no resident point lies within reach of the walking network: the population file "
            "and the network do not overlap (different area or CRS?)",
            res_file,
        )
    if len(sites_used) == 0 and len(sites):
        raise AllRejectedError(
            "no site lies within reach of the walking network (different area, swapped lat/lon?)"
        )
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
    res_used["nearest_site_id"] = np.where(
        ok, sites_used["site_id"].to_numpy(object)[np.maximum(nearest_all, 0)], None
    )
    res_used["nearest_site_name"] = np.where(
        ok, sites_used["name"].to_numpy(object)[np.maximum(nearest_all, 0)], None
    )
    timings["distances"] = time.perf_counter() - t0

    dist_gdf = None
    if districts is not None:
        dist_gdf = districts.to_crs(network.crs)[["district", "geometry"]].reset_index(drop=True)
        hit = gpd.sjoin(res_used[["geometry"]], dist_gdf, how="left", predicate="within")
        hit = hit[~hit.index.duplicated(keep="first")]
        res_used["district"] = (
            hit["district"].reindex(res_used.index).fillna(OUTSIDE_DISTRICTS).to_numpy(object)
        )
    return Analysis(
        network=network,
        sites=sites_used,
        residents=res_used,
        categories=cats,
        groups=groups,
        minutes=minutes,
        speed_kmh=float(speed_kmh),
        districts=dist_gdf,
        rejects=rejects,
        timings=timings,
        site_snap=site_snap,
        resident_snap=res_snap,
        nearest={c: found[c][1] for c in cats},
    )


def _rows(gdf: pd.DataFrame) -> pd.Series:
    """The input row numbers of a frame (its ``row`` column), or empty values."""
    if "row" in gdf:
        return gdf["row"]
    return pd.Series([None] * len(gdf), index=gdf.index, dtype=object)

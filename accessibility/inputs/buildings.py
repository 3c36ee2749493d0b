"""Residents from OSM buildings: estimate per building, or spread census cells over them.

:func:`estimate_from_buildings` estimates the residents (persons) of each residential
OSM building from footprint area (m², local UTM zone) × storeys × net/gross floor
area ÷ living space per person, placed at a point inside the footprint (EPSG:4326).
:func:`spread_to_buildings` distributes each Zensus cell's residents and groups over
the residential buildings inside the cell (dasymetric), in the cells' projected CRS
(normally EPSG:3035, metres). The assumptions are the module constants below. The
columns and ``attrs`` of the results are described in :mod:`accessibility.inputs.population`.
"""

from __future__ import annotations

import copy

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import InputError
from ..rejects import Rejects
from ._tables import RESERVED
from .zensus import ZENSUS_CELL_SIZE_M

# --------------------------------------------------------------------------- #
# Constants
# --------------------------------------------------------------------------- #

#: OSM ``building=*`` values counted as residential (https://wiki.openstreetmap.org/wiki/Key:building).
RESIDENTIAL_BUILDINGS = frozenset(
    {
        "residential",
        "apartments",
        "house",
        "detached",
        "semidetached_house",
        "terrace",
        "dormitory",
        "bungalow",
        "farm",
        "static_caravan",
    }
)

#: ``building=yes`` counts as residential unless one of these keys is present,
#: which marks a shop, office, public or industrial building.
NON_RESIDENTIAL_KEYS = frozenset({"amenity", "shop", "office", "craft", "industrial", "tourism"})

#: ``building=yes`` inside these OSM areas is not counted as residential: works,
#: shops, offices, depots, barracks, rail land, garage courts (``landuse=*``) and the
#: grounds of universities, colleges, schools, hospitals and car parks (``amenity=*``).
#: Buildings tagged as homes (:data:`RESIDENTIAL_BUILDINGS`) count wherever they are.
NON_RESIDENTIAL_AREAS = {
    "landuse": frozenset({"industrial", "commercial", "retail", "military", "railway", "garages"}),
    "amenity": frozenset({"university", "college", "school", "hospital", "parking"}),
}

#: Storeys assumed when ``building:levels`` is missing or not a positive number
#: (a planning rule of thumb, not a measured value; tag ``building:levels`` to
#: override). Detached, semi-detached and terraced houses and farmhouses: two
#: (ground floor plus upper or roof storey, the common German Einfamilienhaus);
#: bungalows and static caravans: one, by definition; ``apartments``,
#: ``residential`` and ``dormitory``: three, a small Mehrfamilienhaus; untagged
#: ``yes``: two, because most residential buildings are one- and two-family houses
#: (about 83 % in Germany, Zensus 2011 building census).
DEFAULT_LEVELS_HOUSE = 2.0
DEFAULT_LEVELS_SINGLE_STOREY = 1.0
DEFAULT_LEVELS_OTHER = 3.0
DEFAULT_LEVELS_UNTAGGED = 2.0
_HOUSE_TYPES = frozenset({"house", "detached", "semidetached_house", "terrace", "farm"})
_SINGLE_STOREY_TYPES = frozenset({"bungalow", "static_caravan"})

#: Net living area (Wohnfläche) per gross floor area (footprint × storeys).
#: Outer and inner walls, stairs, shafts and common areas take roughly a fifth
#: of the gross floor area (Brutto-Grundfläche, DIN 277) of German residential
#: buildings; 0.75–0.85 is the usual planning range, 0.8 its middle.
NET_TO_GROSS_FLOOR_AREA = 0.8

#: Living space per resident in m². Destatis, Fortschreibung des Wohngebäude- und
#: Wohnungsbestandes (GENESIS table 31231; press release of July 2023): 47.4 m²
#: per inhabitant at the end of 2022, 46.2 m² at the end of 2012. These divide
#: *all* dwellings, vacant ones included, by the population, so the space of
#: occupied dwellings per resident is somewhat lower; 45 m² is also the order of
#: the Nordic averages (about 45–47 m²).
LIVING_AREA_PER_RESIDENT_M2 = 45.0


# --------------------------------------------------------------------------- #
# Buildings
# --------------------------------------------------------------------------- #


def estimate_from_buildings(
    buildings: gpd.GeoDataFrame,
    rejects: Rejects | None = None,
    areas: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Estimate residents per residential OSM building (for areas without census data).

    Residents = footprint area (m², in the local UTM zone) × storeys ×
    :data:`NET_TO_GROSS_FLOOR_AREA` (0.8) ÷ :data:`LIVING_AREA_PER_RESIDENT_M2`
    (45 m² per person). Storeys come from ``building:levels``; when untagged,
    :data:`DEFAULT_LEVELS_HOUSE` (2) for house/detached/semidetached_house/terrace/farm,
    :data:`DEFAULT_LEVELS_SINGLE_STOREY` (1) for bungalow/static_caravan,
    :data:`DEFAULT_LEVELS_UNTAGGED` (2) for ``yes`` and :data:`DEFAULT_LEVELS_OTHER` (3)
    otherwise.

    Residential means ``building`` in :data:`RESIDENTIAL_BUILDINGS`, or
    ``building=yes`` without any of the tags in :data:`NON_RESIDENTIAL_KEYS` and, when
    ``areas`` are given, not inside one of the :data:`NON_RESIDENTIAL_AREAS`. Checked
    against Zensus 2011 in Kaiserslautern (tests): 0.94 × the census total, per-cell
    correlation 0.49 (without the area rule and with 3 storeys for ``yes``: 1.74 ×, 0.32).

    Parameters
    ----------
    buildings : GeoDataFrame
        OSM buildings (any CRS, normally EPSG:4326) with ``osm_type``, ``osm_id``,
        ``building``, ``levels`` (float, NaN if untagged), ``tags`` (dict) and
        Polygon/MultiPolygon geometry, as ``read_osm(path).buildings``.
    rejects : Rejects, optional
        Receives residential buildings whose geometry is empty, not a polygon or
        has no area (``row`` empty, ``value`` the ``osm_type/osm_id``; ``file`` is
        ``buildings.attrs["source"]`` or ``"OSM buildings"``).
    areas : GeoDataFrame, optional
        Tagged OSM features with ``tags`` (dict) and geometry in the buildings' CRS, as
        ``read_osm(path).features``; their land-use and amenity polygons mark
        non-residential ground.

    Returns
    -------
    GeoDataFrame
        EPSG:4326 points (representative point of each footprint) with ``pid``
        (``osm_type/osm_id``), ``population`` (persons, float) and ``geometry``; no
        groups. ``attrs``: ``kind="buildings_estimate"``, ``groups=[]``, ``method``,
        ``files``, ``assumptions`` (the constants), ``buildings_total``,
        ``buildings_residential``, ``buildings_on_non_residential_ground``,
        ``levels_defaulted``.
    """
    if buildings.crs is None:
        raise InputError("the buildings have no CRS; expected EPSG:4326 (WGS 84)")
    res = _residential_buildings(buildings, rejects, areas)
    if len(res):
        metric = buildings.estimate_utm_crs()
        area = res.geometry.to_crs(metric).area.to_numpy()
        points = res.geometry.representative_point().to_crs("EPSG:4326")
    else:
        area = np.zeros(0)
        points = gpd.GeoSeries([], crs="EPSG:4326")
    population = (
        area * res["levels_used"].to_numpy() * NET_TO_GROSS_FLOOR_AREA / LIVING_AREA_PER_RESIDENT_M2
    )
    gdf = gpd.GeoDataFrame(
        {"pid": res["pid"].to_numpy(), "population": population.astype(float)},
        geometry=np.asarray(points.to_numpy()),
        crs="EPSG:4326",
    )
    gdf.attrs.update(
        kind="buildings_estimate",
        groups=[],
        method=(
            "Residents estimated per residential OSM building as footprint area (local UTM) × "
            f"storeys (untagged: {DEFAULT_LEVELS_HOUSE:g} for houses, "
            f"{DEFAULT_LEVELS_SINGLE_STOREY:g} for bungalows, {DEFAULT_LEVELS_UNTAGGED:g} for "
            f"building=yes, {DEFAULT_LEVELS_OTHER:g} for apartments) × "
            f"{NET_TO_GROSS_FLOOR_AREA:g} net/gross ÷ {LIVING_AREA_PER_RESIDENT_M2:g} m² living "
            "space per person, placed at a point inside the footprint"
            + (
                "; building=yes on industrial, commercial, campus, hospital and similar "
                "ground not counted."
                if areas is not None
                else "."
            )
        ),
        files=source_files(buildings),
        assumptions=assumptions(),
        buildings_total=int(len(buildings)),
        buildings_residential=int(len(res)),
        buildings_on_non_residential_ground=int(res.attrs.get("on_non_residential_ground", 0)),
        levels_defaulted=int(res["levels_defaulted"].sum()),
    )
    return gdf


def spread_to_buildings(
    cells: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    cell_size_m: float | None = None,
    areas: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Distribute each Zensus cell's residents over its residential buildings (dasymetric).

    Each cell (square of side ``cell_size_m`` around its midpoint) hands its
    ``population`` and every group column to the residential buildings (as in
    :func:`estimate_from_buildings`) whose representative point lies inside it, in
    proportion to footprint area (m², EPSG:3035 is equal-area) × storeys. A point
    on a shared cell edge belongs to the cell on its east/north side (half-open
    squares). Cells without a residential building, and cells with nothing to
    distribute (population and all groups 0), keep one point at the cell midpoint.
    Buildings outside every cell get no residents and are not returned. Every
    cell's totals are preserved.

    Parameters
    ----------
    cells : GeoDataFrame
        As returned by :func:`~accessibility.inputs.zensus.read_zensus`: points at the cell midpoints (projected,
        normally EPSG:3035, metres) with ``pid``, ``population`` and the group
        columns named in ``attrs["groups"]``.
    buildings : GeoDataFrame
        OSM buildings as for :func:`estimate_from_buildings` (any CRS).
    cell_size_m : float, optional
        Edge length of the cells in metres; default ``cells.attrs["cell_size_m"]``,
        else 100.
    areas : GeoDataFrame, optional
        OSM features marking non-residential ground, as for
        :func:`estimate_from_buildings`.

    Returns
    -------
    GeoDataFrame
        Points in the cells' CRS with ``pid`` (``<cell id>/<osm_type>/<osm_id>``, or
        the bare cell id for a point left at the cell midpoint), ``population``
        (persons, float), the group columns (persons, float), ``cell_id`` and
        ``geometry`` (building representative point or cell midpoint). ``attrs``:
        ``kind="zensus_grid_spread_to_buildings"``, ``groups``, ``method``,
        ``cell_size_m``, ``files``, ``cells_spread``, ``cells_at_centre``,
        ``buildings_used``, ``assumptions``, plus the input cells' other attrs.
    """
    if cells.crs is None or not cells.crs.is_projected:
        raise InputError("the cells must be in a projected CRS in metres (Zensus: EPSG:3035)")
    if buildings.crs is None:
        raise InputError("the buildings have no CRS; expected EPSG:4326 (WGS 84)")
    size = float(cell_size_m or cells.attrs.get("cell_size_m") or ZENSUS_CELL_SIZE_M)
    half = size / 2.0
    groups = list(cells.attrs.get("groups") or numeric_groups(cells))
    value_cols = ["population", *groups]

    cells = cells.reset_index(drop=True)
    cx = cells.geometry.x.to_numpy()
    cy = cells.geometry.y.to_numpy()

    res = _residential_buildings(buildings, None, areas)
    geom = res.geometry.to_crs(cells.crs)
    weight = geom.area.to_numpy() * res["levels_used"].to_numpy()
    bpts = geom.representative_point()
    bx, by = bpts.x.to_numpy(), bpts.y.to_numpy()

    # Buildings → cells: candidate squares by spatial index, then half-open test.
    squares = gpd.GeoSeries.from_xy(cx, cy, crs=cells.crs).buffer(half, cap_style="square")
    bi, ci = squares.sindex.query(bpts, predicate="intersects")
    pair = pd.DataFrame({"b": bi, "c": ci})
    inside = (
        (bx[bi] >= cx[ci] - half)
        & (bx[bi] < cx[ci] + half)
        & (by[bi] >= cy[ci] - half)
        & (by[bi] < cy[ci] + half)
    )
    pair["rank"] = np.where(inside, 0, 1)
    pair = pair.sort_values(["b", "rank", "c"]).drop_duplicates("b", keep="first")
    pair = pair[weight[pair["b"].to_numpy()] > 0]

    values = cells[value_cols].to_numpy(dtype=float)
    has_value = (values != 0).any(axis=1)
    pair = pair[has_value[pair["c"].to_numpy()]]
    pair = pair.sort_values(["c", "b"], kind="stable")
    b = pair["b"].to_numpy()
    c = pair["c"].to_numpy()
    w = weight[b]
    wsum = np.bincount(c, weights=w, minlength=len(cells))
    share = w / wsum[c]

    cell_pid = cells["pid"].astype(str).reset_index(drop=True)
    spread = pd.DataFrame(values[c] * share[:, None], columns=value_cols)
    spread.insert(
        0, "pid", cell_pid.iloc[c].to_numpy() + "/" + res["pid"].iloc[b].to_numpy().astype(object)
    )
    spread["cell_id"] = cell_pid.iloc[c].to_numpy()
    spread["_order"] = c
    spread_geom = np.asarray(bpts.to_numpy())[b]

    centre = np.ones(len(cells), dtype=bool)
    centre[c] = False
    kept = pd.DataFrame(values[centre], columns=value_cols)
    kept.insert(0, "pid", cell_pid[centre].to_numpy())
    kept["cell_id"] = cell_pid[centre].to_numpy()
    kept["_order"] = np.flatnonzero(centre)
    kept_geom = np.asarray(cells.geometry.to_numpy())[centre]

    out = pd.concat([spread, kept], ignore_index=True)
    out_geom = np.concatenate([spread_geom, kept_geom])
    order = np.argsort(out["_order"].to_numpy(), kind="stable")
    out = out.iloc[order].drop(columns="_order").reset_index(drop=True)
    gdf = gpd.GeoDataFrame(
        out[["pid", "population", *groups, "cell_id"]], geometry=out_geom[order], crs=cells.crs
    )
    attrs = copy.deepcopy(cells.attrs)
    attrs.update(
        kind="zensus_grid_spread_to_buildings",
        groups=groups,
        method=(
            f"Each {size:g} m Zensus cell's residents and groups are distributed over the "
            "residential OSM buildings whose representative point lies in the cell, in proportion "
            "to footprint area × storeys; cells without such a building keep their midpoint."
        ),
        cell_size_m=int(size) if size.is_integer() else size,
        files=list(cells.attrs.get("files", [])) + source_files(buildings),
        cells_spread=int(len(np.unique(c))),
        cells_at_centre=int(centre.sum()),
        buildings_used=int(len(b)),
        assumptions=assumptions(),
    )
    gdf.attrs.update(attrs)
    return gdf


def _residential_buildings(
    buildings: gpd.GeoDataFrame, rejects: Rejects | None, areas: gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame:
    """Residential buildings with ``pid``, ``levels_used`` and ``levels_defaulted``.

    ``attrs["on_non_residential_ground"]``: ``building=yes`` left out for lying in one of
    the :data:`NON_RESIDENTIAL_AREAS` of ``areas``.
    """
    missing = [c for c in ("osm_type", "osm_id", "building") if c not in buildings.columns]
    if missing:
        raise InputError(
            f"the buildings lack the column(s) {', '.join(missing)}; expected osm_type, osm_id, "
            f"building, levels, tags (as read_osm(path).buildings); found {', '.join(map(str, buildings.columns))}"
        )
    b = buildings.reset_index(drop=True)
    kind = b["building"].astype("string").str.strip().str.lower().fillna("")
    tags = b["tags"] if "tags" in b.columns else pd.Series([None] * len(b))
    plain = kind.eq("yes").to_numpy()
    no_use_tag = np.ones(len(b), dtype=bool)
    if plain.any():
        # One set intersection per building=yes row: tags are dicts, nothing to vectorise.
        no_use_tag[plain] = [
            not (isinstance(t, dict) and NON_RESIDENTIAL_KEYS & t.keys()) for t in tags[plain]
        ]
    ground = np.zeros(len(b), dtype=bool)
    if areas is not None and plain.any():
        ground[plain] = _on_non_residential_ground(b.geometry[plain], areas)
    keep = kind.isin(RESIDENTIAL_BUILDINGS).to_numpy() | (plain & no_use_tag & ~ground)
    n_ground = int((plain & no_use_tag & ground).sum())
    b = b.loc[keep].copy()
    kind = kind[keep]

    pid = b["osm_type"].astype(str) + "/" + b["osm_id"].astype(str)
    types = b.geometry.geom_type.fillna("")
    good = types.isin(["Polygon", "MultiPolygon"]) & ~b.geometry.is_empty
    if rejects is not None:
        _reject_unrowed(
            rejects, buildings, ~good, "building geometry is empty or not a polygon", pid
        )
    b, kind, pid = b.loc[good], kind[good], pid[good]
    # Degenerate outlines only; the unit does not matter, so no projection is needed.
    area_ok = shapely.area(np.asarray(b.geometry.array)) > 0
    if rejects is not None:
        _reject_unrowed(
            rejects,
            buildings,
            pd.Series(~area_ok, index=b.index),
            "building footprint has no area",
            pid,
        )
    b, kind, pid = b.loc[area_ok], kind[area_ok], pid[area_ok]

    levels = (
        pd.to_numeric(b["levels"], errors="coerce")
        if "levels" in b.columns
        else pd.Series(np.nan, index=b.index)
    )
    default = np.select(
        [kind.isin(_HOUSE_TYPES), kind.isin(_SINGLE_STOREY_TYPES), kind.eq("yes")],
        [DEFAULT_LEVELS_HOUSE, DEFAULT_LEVELS_SINGLE_STOREY, DEFAULT_LEVELS_UNTAGGED],
        DEFAULT_LEVELS_OTHER,
    )
    defaulted = ~(levels > 0).to_numpy()
    b["levels_used"] = np.where(defaulted, default, levels.to_numpy(dtype=float))
    b["levels_defaulted"] = defaulted
    b["pid"] = pid.to_numpy()
    b.attrs["on_non_residential_ground"] = n_ground
    return b


def _on_non_residential_ground(geometry: gpd.GeoSeries, areas: gpd.GeoDataFrame) -> np.ndarray:
    """Per building: its representative point lies in a :data:`NON_RESIDENTIAL_AREAS` polygon."""
    tags = areas["tags"].to_numpy(object)
    hit = np.array(
        [isinstance(t, dict) and any(t.get(k) in v for k, v in NON_RESIDENTIAL_AREAS.items())
         for t in tags],
        dtype=bool,
    )  # fmt: skip
    polys = areas.geometry[hit & areas.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()]
    out = np.zeros(len(geometry), dtype=bool)
    if len(polys):
        if areas.crs is not None and geometry.crs is not None and areas.crs != geometry.crs:
            polys = polys.to_crs(geometry.crs)
        pts = geometry.representative_point().to_numpy()
        i, _ = shapely.STRtree(polys.to_numpy()).query(pts, predicate="within")
        out[i] = True
    return out


def _reject_unrowed(
    rejects: Rejects, buildings: gpd.GeoDataFrame, mask: pd.Series, reason: str, values: pd.Series
) -> None:
    if mask.any():
        file = buildings.attrs.get("source") or "OSM buildings"
        vals = values[mask.to_numpy()].tolist()
        rejects.add_many(file, [None] * len(vals), reason, vals)


def source_files(gdf: gpd.GeoDataFrame) -> list[str]:
    """The input files named in a frame's ``attrs`` (``files``), for the record.

    Parameters
    ----------
    gdf : GeoDataFrame
        Reader output carrying ``attrs["files"]`` or ``attrs["source"]``.

    Returns
    -------
    list of str
        The file names; ``[]`` when the attrs name none.
    """
    if gdf.attrs.get("files"):
        return [str(f) for f in gdf.attrs["files"]]
    if gdf.attrs.get("source"):
        return [str(gdf.attrs["source"])]
    return []


def assumptions() -> dict[str, object]:
    """The spreading assumptions (module constants: persons per home, floor heights, ...) for ``run.json``.

    Returns
    -------
    dict
        Residential building types, exclusion rules, default storeys, the net-to-gross
        floor area factor and the living area per resident (m²).
    """
    return {
        "residential_buildings": sorted(RESIDENTIAL_BUILDINGS),
        "building_yes_excluded_if_tagged": sorted(NON_RESIDENTIAL_KEYS),
        "default_levels_house": DEFAULT_LEVELS_HOUSE,
        "default_levels_single_storey": DEFAULT_LEVELS_SINGLE_STOREY,
        "default_levels_other": DEFAULT_LEVELS_OTHER,
        "default_levels_untagged_yes": DEFAULT_LEVELS_UNTAGGED,
        "building_yes_excluded_on": {k: sorted(v) for k, v in NON_RESIDENTIAL_AREAS.items()},
        "net_to_gross_floor_area": NET_TO_GROSS_FLOOR_AREA,
        "living_area_per_resident_m2": LIVING_AREA_PER_RESIDENT_M2,
    }


def numeric_groups(cells: pd.DataFrame) -> list[str]:
    """The group columns of the cells that hold numbers (spread like the population).

    Parameters
    ----------
    cells : GeoDataFrame
        Population cells or points with group columns.

    Returns
    -------
    list of str
        Numeric columns other than the reserved ones (``pid``, ``population``, ...) and
        the geometry, in column order.
    """
    return [
        c
        for c in cells.columns
        if c not in RESERVED
        and c != cells.geometry.name
        and pd.api.types.is_numeric_dtype(cells[c])
    ]

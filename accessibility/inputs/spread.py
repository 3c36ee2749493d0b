"""Spread coarse Zensus cells (1 km and larger) over the places where people live.

A 1 km cell is about 12 minutes' walk across, so placing its residents at the cell
midpoint would decide a resident's walking time by where the midpoint happens to
fall. :func:`spread_cells` therefore always distributes each coarse cell's residents
and groups (persons), keeping every cell's totals exactly:

1. **onto residential buildings**, where the OSM extract maps any in the cell, in
   proportion to footprint area × storeys
   (:func:`accessibility.inputs.buildings.spread_to_buildings`, same residential rule);
2. otherwise **along residential streets**, weighted by length: the
   :data:`RESIDENTIAL_STREETS` edges (``highway=residential``, ``living_street``) are
   clipped to the cell, and each way's pieces are merged into runs of about
   :data:`STREET_POINT_SPACING_M` (100 m); one point per run, at the middle of its
   middle piece (on the street), carries the cell's residents × run length ÷ the
   cell's residential street length;
3. otherwise along **any walkable street** in the cell (every edge of the walking
   network, e.g. a village along a ``tertiary`` through road), by length as in 2;
4. otherwise the cell's residents are **rejected** (``rejects.csv``, with the reason
   and the number of residents): the cell lies outside the area covered by the network
   (its square misses the convex hull of the extract's walkable ways; checked first, so
   a national table costs little), or holds neither a residential building nor a
   walkable street.

Geometry is computed in the cells' CRS (EPSG:3035, metres, equal-area); cells are
half-open squares around their midpoints for buildings (as in
:func:`~accessibility.inputs.buildings.spread_to_buildings`), closed squares for street
pieces (a street exactly on a cell border counts for both cells; each cell's
weights are normalised on its own, so totals stay exact). Everything is vectorised
(shapely 2 / numpy): no Python loop over cells or edges.
"""

from __future__ import annotations

import copy

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from ..errors import InputError
from ..rejects import Rejects
from .buildings import assumptions, numeric_groups, source_files, spread_to_buildings

__all__ = [
    "RESIDENTIAL_STREETS",
    "STREET_POINT_SPACING_M",
    "merge_pieces",
    "spread_cells",
    "street_pieces",
]

#: ``highway=*`` classes that carry a cell's residents when it has no mapped residential
#: building: the streets people live on (https://wiki.openstreetmap.org/wiki/Key:highway).
#: A cell without any falls back to every walkable edge in it.
RESIDENTIAL_STREETS = frozenset({"residential", "living_street"})

#: Street pieces are merged along each way into runs of about this length (metres):
#: one resident point per run, at the middle of its middle piece, weighted by the run's
#: length. 100 m is about 1¼ minutes' walk; OSM node pairs (median 17 m in Rhein-Neckar)
#: would give several times more points with no gain in accuracy that matters.
STREET_POINT_SPACING_M = 100.0

#: How each resident point got its place (column ``spread`` of the result).
SPREAD_BUILDINGS = "buildings"
SPREAD_RESIDENTIAL_STREETS = "residential streets"
SPREAD_ANY_STREETS = "walkable streets"


def street_pieces(
    cells_x: np.ndarray,
    cells_y: np.ndarray,
    cell_size_m: float,
    segments: pd.DataFrame,
    nodes: pd.DataFrame,
    crs,
) -> pd.DataFrame:
    """Pieces of the walkable edges inside each cell (closed squares), in metres.

    Parameters
    ----------
    cells_x, cells_y : ndarray
        Cell midpoints in ``crs`` (metres).
    cell_size_m : float
        Edge length of the cells (metres).
    segments : DataFrame
        ``u``, ``v`` (OSM node ids), ``way_id``, ``highway``: one row per consecutive node
        pair of a walkable way, as ``read_osm(path).segments``.
    nodes : DataFrame
        ``osmid``, ``lon``, ``lat`` (EPSG:4326), as ``read_osm(path).nodes``.
    crs
        Projected CRS of the cells (normally EPSG:3035).

    Returns
    -------
    DataFrame
        One row per (segment, cell) piece of positive length: ``cell`` (position in the
        cell arrays), ``segment`` (row position in ``segments``), ``way_id``,
        ``residential`` (highway in :data:`RESIDENTIAL_STREETS`), ``length_m``, and
        ``x``, ``y`` of the piece's middle (in ``crs``).
    """
    if not len(segments) or not len(cells_x):
        return pd.DataFrame(
            {
                "cell": np.zeros(0, dtype=np.int64),
                "segment": np.zeros(0, dtype=np.int64),
                "way_id": np.zeros(0, dtype=np.int64),
                "residential": np.zeros(0, dtype=bool),
                **{c: np.zeros(0) for c in ("length_m", "x", "y")},
            }
        )
    to_xy = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    nx, ny = to_xy.transform(nodes["lon"].to_numpy(float), nodes["lat"].to_numpy(float))
    index = pd.Index(nodes["osmid"].to_numpy())
    iu = index.get_indexer(segments["u"].to_numpy())
    iv = index.get_indexer(segments["v"].to_numpy())
    known = np.flatnonzero((iu >= 0) & (iv >= 0))
    iu, iv = iu[known], iv[known]
    coords = np.stack([np.column_stack([nx[iu], ny[iu]]), np.column_stack([nx[iv], ny[iv]])], 1)
    lines = shapely.linestrings(coords)
    half = cell_size_m / 2.0
    x0, x1 = cells_x - half, cells_x + half
    y0, y1 = cells_y - half, cells_y + half
    boxes = shapely.box(x0, y0, x1, y1)
    li, ci = shapely.STRtree(boxes).query(lines, predicate="intersects")

    # Segments wholly inside the square are their own piece; only the others are clipped.
    ax, ay, bx, by = coords[li, 0, 0], coords[li, 0, 1], coords[li, 1, 0], coords[li, 1, 1]
    inside = (
        (np.minimum(ax, bx) >= x0[ci]) & (np.maximum(ax, bx) <= x1[ci])
        & (np.minimum(ay, by) >= y0[ci]) & (np.maximum(ay, by) <= y1[ci])
    )  # fmt: skip
    length = np.hypot(bx - ax, by - ay)
    mx, my = (ax + bx) / 2.0, (ay + by) / 2.0
    cut = np.flatnonzero(~inside)
    if len(cut):
        pieces = shapely.intersection(lines[li[cut]], boxes[ci[cut]])
        length[cut] = shapely.length(pieces)
        ok = length[cut] > 0
        mid = np.full(len(cut), None, dtype=object)
        mid[ok] = shapely.line_interpolate_point(pieces[ok], 0.5, normalized=True)
        mx[cut[ok]] = shapely.get_x(mid[ok])
        my[cut[ok]] = shapely.get_y(mid[ok])
    keep = length > 0
    seg = known[li[keep]]
    highway = segments["highway"].astype("string").fillna("").to_numpy()[seg]
    return pd.DataFrame(
        {
            "cell": ci[keep],
            "segment": seg,
            "way_id": segments["way_id"].to_numpy()[seg],
            "residential": np.isin(highway, list(RESIDENTIAL_STREETS)),
            "length_m": length[keep],
            "x": mx[keep],
            "y": my[keep],
        }
    )


def merge_pieces(pieces: pd.DataFrame, spacing_m: float) -> pd.DataFrame:
    """Merge consecutive pieces of one way in one cell into runs of about ``spacing_m`` metres.

    Pieces come in the order of :func:`street_pieces` (the extract's segment order, which
    follows each way). Within each (cell, way), a piece belongs to run
    floor(position of its middle along the way's pieces in the cell / ``spacing_m``).
    Each run keeps the piece nearest to the run's middle (its ``segment``, ``x``, ``y``)
    and the summed ``length_m``. Vectorised (pandas group-bys).

    Parameters
    ----------
    pieces : DataFrame
        :func:`street_pieces` output (``cell``, ``segment``, ``way_id``, ``length_m``,
        ``x``, ``y`` in the cells' projected CRS, metres).
    spacing_m : float
        Run length in metres.

    Returns
    -------
    DataFrame
        One row per run with the columns of ``pieces`` (``length_m`` = the run's
        length in metres), sorted by cell and segment.
    """
    if not len(pieces):
        return pieces
    keys = ["cell", "way_id", "run"]
    p = pieces.sort_values(["cell", "way_id", "segment"], kind="stable").reset_index(drop=True)
    length = p["length_m"].to_numpy()
    end = p.groupby(["cell", "way_id"], sort=False)["length_m"].cumsum().to_numpy()
    start = end - length
    mid = start + length / 2.0
    p["run"] = np.floor(mid / spacing_m).astype(np.int64)
    grp = p.assign(_start=start).groupby(keys, sort=False)
    run_start = grp["_start"].transform("min").to_numpy()
    run_len = grp["length_m"].transform("sum").to_numpy()
    # The piece nearest to the middle of its run stands for the run.
    p["_off"] = np.abs(mid - (run_start + run_len / 2.0))
    p["length_m"] = run_len
    pick = p.sort_values([*keys, "_off"], kind="stable").drop_duplicates(keys, keep="first")
    return (
        pick.drop(columns=["run", "_off"])
        .sort_values(["cell", "segment"], kind="stable")
        .reset_index(drop=True)
    )


def spread_cells(
    cells: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None,
    segments: pd.DataFrame,
    nodes: pd.DataFrame,
    rejects: Rejects | None = None,
    areas: gpd.GeoDataFrame | None = None,
    cell_size_m: float | None = None,
) -> gpd.GeoDataFrame:
    """Distribute every coarse Zensus cell's residents over buildings or streets in it.

    See the module docstring for the order (residential buildings, residential streets,
    any walkable street, else rejected). Every placed cell's ``population`` and group
    totals are kept exactly (to float rounding); cells with nothing to distribute
    (population and all groups 0) are left out and counted in ``attrs["cells_empty"]``.

    Parameters
    ----------
    cells : GeoDataFrame
        As :func:`~accessibility.inputs.zensus.read_zensus` returns: midpoints in a projected
        CRS (EPSG:3035, metres) with ``pid``, ``row``, ``population``, the groups of
        ``attrs["groups"]``; ``attrs["cell_size_m"]``.
    buildings : GeoDataFrame or None
        OSM buildings as ``read_osm(path).buildings`` (EPSG:4326); may be empty.
    segments, nodes : DataFrame
        The walkable edges and their nodes, as ``read_osm(path).segments`` / ``.nodes``.
    rejects : Rejects, optional
        Receives one row per cell whose residents cannot be placed (file: the
        population file, row: the cell's data row, value: cell id and residents).
    areas : GeoDataFrame, optional
        OSM features marking non-residential ground (``read_osm(path).features``).
    cell_size_m : float, optional
        Edge length of the cells in metres; default ``cells.attrs["cell_size_m"]``.

    Returns
    -------
    GeoDataFrame
        Points in the cells' CRS with ``pid`` (``<cell id>/<osm_type>/<osm_id>`` for a
        building, ``<cell id>/way/<way_id>/<k>`` for a run of street whose middle
        piece is the k-th walkable segment of the extract), ``population`` and the
        groups (persons, float), ``cell_id``, ``spread`` (``"buildings"``, ``"residential streets"`` or
        ``"walkable streets"``) and ``geometry``. ``attrs``:
        ``kind="zensus_grid_spread"``, ``groups``, ``method``, ``cell_size_m``,
        ``files``, ``spread`` (counts: ``cells``, ``cells_on_buildings``,
        ``cells_on_residential_streets``, ``cells_on_walkable_streets``,
        ``cells_rejected``, ``residents_rejected``, ``cells_empty``,
        ``buildings_used``, ``street_points``, ``street_point_spacing_m``,
        ``residential_streets``), plus the input cells' other attrs.
    """
    if cells.crs is None or not cells.crs.is_projected:
        raise InputError("the cells must be in a projected CRS in metres (Zensus: EPSG:3035)")
    size = float(cell_size_m or cells.attrs.get("cell_size_m") or 0)
    if not size > 0:
        raise InputError("the cell size is unknown; pass cell_size_m (metres)")
    groups = list(cells.attrs.get("groups") or numeric_groups(cells))
    value_cols = ["population", *groups]
    cells = cells.reset_index(drop=True)
    values = cells[value_cols].to_numpy(dtype=float)
    nonempty = (values != 0).any(axis=1)
    cell_pid = cells["pid"].astype(str).to_numpy()
    cx, cy = cells.geometry.x.to_numpy(), cells.geometry.y.to_numpy()

    # Cells beyond the network's area are rejected up front (national tables: most cells).
    outside = _outside_network(cx, cy, size, nodes, cells.crs)
    todo = nonempty & ~outside

    # 1. Residential buildings.
    parts: list[gpd.GeoDataFrame] = []
    on_buildings = np.zeros(len(cells), dtype=bool)
    n_buildings = 0
    if buildings is not None and len(buildings) and todo.any():
        sub = cells.loc[todo]
        sub.attrs = {**cells.attrs, "groups": groups}
        b = spread_to_buildings(sub, buildings, cell_size_m=size, areas=areas)
        b = b[b["pid"] != b["cell_id"]]  # cells without a building stay at the centre there
        on_buildings[pd.Index(cell_pid).get_indexer(b["cell_id"].unique())] = True
        n_buildings = len(b)
        parts.append(b.assign(spread=SPREAD_BUILDINGS, _order=_positions(cell_pid, b["cell_id"])))

    # 2./3. Streets, by length: residential classes first, else any walkable edge.
    want = np.flatnonzero(todo & ~on_buildings)
    pieces = street_pieces(cx[want], cy[want], size, segments, nodes, cells.crs)
    pieces["cell"] = want[pieces["cell"].to_numpy()]
    res_cells = np.zeros(len(cells), dtype=bool)
    res_cells[pieces.loc[pieces["residential"], "cell"].to_numpy()] = True
    pieces = pieces[pieces["residential"].to_numpy() | ~res_cells[pieces["cell"].to_numpy()]]
    pieces = merge_pieces(pieces, STREET_POINT_SPACING_M)
    c = pieces["cell"].to_numpy()
    w = pieces["length_m"].to_numpy()
    wsum = np.bincount(c, weights=w, minlength=len(cells))
    share = w / wsum[c] if len(c) else w
    street = pd.DataFrame(values[c] * share[:, None], columns=value_cols)
    street.insert(
        0,
        "pid",
        pd.Series(cell_pid[c], dtype=object)
        + "/way/"
        + pieces["way_id"].astype(str).to_numpy()
        + "/"
        + pieces["segment"].astype(str).to_numpy(),
    )
    street["cell_id"] = cell_pid[c]
    street["spread"] = np.where(
        res_cells[c], SPREAD_RESIDENTIAL_STREETS, SPREAD_ANY_STREETS
    ).astype(object)
    street["_order"] = c
    on_streets = np.zeros(len(cells), dtype=bool)
    on_streets[c] = True
    parts.append(
        gpd.GeoDataFrame(
            street,
            geometry=gpd.points_from_xy(pieces["x"], pieces["y"]),
            crs=cells.crs,
        )
    )

    # 4. Nothing to spread onto: rejected, with the reason.
    lost = nonempty & ~on_buildings & ~on_streets
    if rejects is not None and lost.any():
        _reject_cells(rejects, cells, lost, outside, size)

    out = pd.concat(parts, ignore_index=True)
    out = out.iloc[np.argsort(out["_order"].to_numpy(), kind="stable")]
    out = gpd.GeoDataFrame(
        out[["pid", *value_cols, "cell_id", "spread", "geometry"]].reset_index(drop=True),
        geometry="geometry",
        crs=cells.crs,
    )
    counts = {
        "cells": int(len(cells)),
        "cells_on_buildings": int(on_buildings.sum()),
        "cells_on_residential_streets": int(len(np.unique(c[res_cells[c]]))),
        "cells_on_walkable_streets": int(len(np.unique(c[~res_cells[c]]))),
        "cells_rejected": int(lost.sum()),
        "residents_rejected": float(values[lost, 0].sum()),
        "cells_empty": int((~nonempty).sum()),
        "buildings_used": int(n_buildings),
        "street_points": int(len(c)),
        "street_point_spacing_m": STREET_POINT_SPACING_M,
        "residential_streets": sorted(RESIDENTIAL_STREETS),
    }
    attrs = copy.deepcopy(cells.attrs)
    attrs.update(
        kind="zensus_grid_spread",
        groups=groups,
        method=_method_text(attrs.get("method", ""), size, counts),
        cell_size_m=int(size) if size.is_integer() else size,
        files=list(cells.attrs.get("files", [])) + source_files(buildings)
        if buildings is not None
        else list(cells.attrs.get("files", [])),
        spread=counts,
        assumptions=assumptions(),
    )
    out.attrs.update(attrs)
    return out


def _positions(cell_pid: np.ndarray, ids: pd.Series) -> np.ndarray:
    return pd.Index(cell_pid).get_indexer(ids.to_numpy())


def _size_label(size: float) -> str:
    return f"{size / 1000:g} km" if size >= 1000 else f"{size:g} m"


def _method_text(read_method: str, size: float, n: dict) -> str:
    label = _size_label(size)
    text = (
        f"Each {label} cell's residents and groups are spread over the places people live in it, "
        "keeping each cell's total: onto residential OSM buildings by footprint area × storeys "
        f"({n['cells_on_buildings']:,} cells); where the cell has none, along residential "
        "streets (highway=" + "/".join(sorted(RESIDENTIAL_STREETS)) + ") by length, one point "
        f"on the street per {STREET_POINT_SPACING_M:g} m of each way in the cell "
        f"({n['cells_on_residential_streets']:,} cells); where it has none of these, along any walkable street by length "
        f"({n['cells_on_walkable_streets']:,} cells)."
    )
    if n["cells_rejected"]:
        text += (
            f" {n['cells_rejected']:,} cells ({n['residents_rejected']:,.0f} residents) have "
            "nothing to spread onto and are rejected (rejects.csv)."
        )
    return (read_method.rstrip() + " " + text).strip()


def _outside_network(
    x: np.ndarray, y: np.ndarray, size: float, nodes: pd.DataFrame, crs
) -> np.ndarray:
    """Cells (midpoints ``x``, ``y``) whose square misses the convex hull of the network's nodes."""
    if not len(nodes):
        return np.ones(len(x), dtype=bool)
    to_xy = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    nx, ny = to_xy.transform(nodes["lon"].to_numpy(float), nodes["lat"].to_numpy(float))
    hull = shapely.convex_hull(shapely.multipoints(np.column_stack([nx, ny])))
    half = size / 2.0
    return ~shapely.intersects(hull, shapely.box(x - half, y - half, x + half, y + half))


def _reject_cells(
    rejects: Rejects, cells: gpd.GeoDataFrame, lost: np.ndarray, outside: np.ndarray, size: float
) -> None:
    """One reject row per cell that could not be placed: outside the network, or empty of homes."""
    file = cells.attrs.get("population_file") or (cells.attrs.get("files") or ["Zensus grid"])[0]
    rows = cells["row"].to_numpy() if "row" in cells.columns else np.full(len(cells), None)
    pop = cells["population"].to_numpy(float)
    pid = cells["pid"].astype(str).to_numpy()
    label = _size_label(size)
    for mask, reason in (
        (lost & outside, f"the {label} cell lies outside the area covered by the network (convex hull of the OSM extract's walkable ways): its residents are not placed"),
        (lost & ~outside, f"the {label} cell holds no residential building and no walkable street: its residents are not placed"),
    ):  # fmt: skip
        if mask.any():
            rejects.add_many(
                file,
                rows[mask],
                reason,
                [f"{p} ({v:g} residents)" for p, v in zip(pid[mask], pop[mask], strict=True)],
            )

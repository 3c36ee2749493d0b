"""Isochrone polygons from the reached walking network (not convex hulls).

Method (exact on the network, all lengths in metres, network CRS):

1. One Dijkstra per site from its virtual node of :func:`routing.site_graph`
   (``scipy.sparse.csgraph.dijkstra`` with ``limit`` = the largest threshold), so
   node distances include the site's access leg and the part of its own edge.
2. For a threshold ``T`` (metres = minutes × metres per minute) an edge ``(u, v)`` of
   length ``L`` is reached from ``u`` over ``[0, T - d(u)]`` and from ``v`` over
   ``[L - (T - d(v)), L]`` (clipped to the edge); the site's own edge is also
   reached directly from the snap point, ``±(T - access)`` around it. Fully reached
   edges are one piece. A category's pieces use the minimum node distance over its
   sites (the union of the sites' intervals), plus every site's own-edge piece.
3. The pieces are buffered by a walking corridor (:data:`CORRIDOR_M`, default 30 m:
   half a street block's depth, the door-to-street distance of most buildings) and
   unioned in one vectorised GEOS call per polygon (pieces merged into chains first).
   Blocks enclosed by fully reached streets are filled (the faces that
   ``shapely.polygonize`` finds among the fully reached edges), so holes remain only
   where a block is not reachable all round; holes smaller than :data:`MIN_HOLE_M2`
   (slivers at acute junctions) are filled too. A category's polygon is the union of its sites'
   polygons (union of buffers is associative); with ``per_site=False`` it is built
   directly from the category's minimum node distances.

Bands nest by construction: band ``t2`` is the union of band ``t1`` with the buffers
of the pieces reached anew (the reached intervals only grow with ``T``), and filling
holes below a fixed area keeps nesting (a hole of the larger band lies
inside a hole of the smaller one, so it is at most as large). Every resident with
``minutes ≤ t`` has its snap point on the reached network of band ``t``, so it lies
within the band's polygon up to its access leg.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse.csgraph import dijkstra

from .analysis import ALL, Analysis, metres_per_minute
from .network import Network, Snap
from .routing import SiteGraph, site_graph

#: Walking corridor (metres) on each side of a reached edge.
CORRIDOR_M = 30.0
#: Holes smaller than this (m²) are slivers and filled; larger holes (unreached blocks) stay.
MIN_HOLE_M2 = 1000.0
#: Segments per quarter circle of the corridor buffer (GEOS ``quad_segs``).
QUAD_SEGS = 4
#: Douglas–Peucker tolerance (metres) for the reached chains before buffering: below the
#: arc approximation error of the corridor (30 m × (1 − cos(π/16)) ≈ 0.58 m), far below
#: the corridor width, so every reached point stays inside its band.
SIMPLIFY_LINES_M = 0.0
#: Sites per Dijkstra batch (memory: batch × nodes × 8 bytes).
_BATCH = 256

COLUMNS = ["kind", "site_id", "name", "category", "minutes", "metres", "area_m2", "geometry"]


def site_distances(sg: SiteGraph, limit: float, sites: np.ndarray | None = None) -> np.ndarray:
    """Metres from each site (door, incl. its access leg) to every network node.

    Parameters
    ----------
    sg : SiteGraph
    limit : float
        Search radius in metres; nodes further away get ``inf``.
    sites : ndarray of int, optional
        Site indices (into ``sg.snap``); all by default.

    Returns
    -------
    ndarray (k, n)
        Node distances in metres.
    """
    k_all = len(sg.snap.edge)
    sites = np.arange(k_all) if sites is None else np.asarray(sites, dtype=np.int64)
    out = np.full((len(sites), sg.n), np.inf)
    for i in range(0, len(sites), _BATCH):
        idx = sites[i : i + _BATCH]
        d = dijkstra(sg.graph, directed=True, indices=sg.n + idx, limit=limit)
        out[i : i + len(idx)] = np.atleast_2d(d)[:, : sg.n]
    return out


def reached_pieces(
    net: Network, node_dist: np.ndarray, snap: Snap, sites: np.ndarray, budget_m: float
) -> pd.DataFrame:
    """Reached parts of edges within ``budget_m`` metres of a set of sites.

    Parameters
    ----------
    net : Network
    node_dist : ndarray (n,)
        Minimum distance (metres) from the sites to every node.
    snap : Snap
        Snaps of all sites.
    sites : ndarray of int
        The sites (indices into ``snap``) whose own edges are reached directly.
    budget_m : float
        Threshold in metres.

    Returns
    -------
    DataFrame
        ``edge, start_m, end_m``: reached interval along the edge, metres from ``u``.
    """
    L = net.length
    ru = np.clip(budget_m - node_dist[net.u], 0.0, None)
    rv = np.clip(budget_m - node_dist[net.v], 0.0, None)
    ru = np.where(np.isfinite(ru), ru, 0.0)
    rv = np.where(np.isfinite(rv), rv, 0.0)
    full = (ru + rv >= L) & ((ru > 0) | (rv > 0))  # zero-length edges need a reached end
    e_full = np.flatnonzero(full)
    e_u = np.flatnonzero(~full & (ru > 0))
    e_v = np.flatnonzero(~full & (rv > 0))
    s = np.asarray(sites, dtype=np.int64)
    s = s[snap.access[s] <= budget_m]
    e_s = snap.edge[s]
    pos = snap.t[s] * L[e_s]
    rest = budget_m - snap.access[s]
    edge = np.concatenate([e_full, e_u, e_v, e_s])
    start = np.concatenate([np.zeros(len(e_full)), np.zeros(len(e_u)), L[e_v] - rv[e_v],
                            np.clip(pos - rest, 0.0, None)])  # fmt: skip
    end = np.concatenate([L[e_full], ru[e_u], L[e_v], np.minimum(pos + rest, L[e_s])])
    return pd.DataFrame({"edge": edge, "start_m": start, "end_m": end})


def _new_pieces(pieces: pd.DataFrame, prev: pd.DataFrame | None) -> pd.DataFrame:
    """Pieces not already reached identically at the previous (smaller) threshold."""
    if prev is None or prev.empty:
        return pieces
    key = ["edge", "start_m", "end_m"]
    m = pieces.merge(prev[key].drop_duplicates(), on=key, how="left", indicator=True)
    return pieces.loc[(m["_merge"] == "left_only").to_numpy()]


def pieces_to_lines(net: Network, pieces: pd.DataFrame) -> np.ndarray:
    """Line geometries (network CRS) of reached edge intervals."""
    e = pieces["edge"].to_numpy()
    a, b = net.node_xy[net.u[e]], net.node_xy[net.v[e]]
    L = np.maximum(net.length[e], 1e-12)[:, None]
    p0 = a + (b - a) * (pieces["start_m"].to_numpy()[:, None] / L)
    p1 = a + (b - a) * (pieces["end_m"].to_numpy()[:, None] / L)
    return shapely.linestrings(np.stack([p0, p1], axis=1))


def corridor_polygon(
    lines: np.ndarray, corridor_m: float = CORRIDOR_M, min_hole_m2: float = MIN_HOLE_M2
):
    """Buffer reached lines by the corridor, union them, fill sliver holes.

    Returns a (Multi)Polygon in the lines' CRS, or an empty polygon.
    """
    if len(lines) == 0:
        return shapely.Polygon()
    # Consecutive pieces merged into chains: fewer, larger buffers to union (same region up
    # to the arc approximation of the round joins/caps).
    chains = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(lines)))
    if SIMPLIFY_LINES_M > 0:
        chains = shapely.simplify(chains, SIMPLIFY_LINES_M, preserve_topology=False)
    poly = shapely.union_all(shapely.buffer(chains, corridor_m, quad_segs=QUAD_SEGS))
    return fill_small_holes(poly, min_hole_m2)


def enclosed_blocks(net: Network, pieces: pd.DataFrame, lines: np.ndarray | None = None):
    """Blocks whose every surrounding street is fully reached, as one (Multi)Polygon.

    Parameters
    ----------
    net : Network
    pieces : DataFrame
        From :func:`reached_pieces`.
    lines : ndarray, optional
        ``net.edge_lines()``, to reuse across calls.
    """
    e = pieces["edge"].to_numpy()
    full = (pieces["start_m"].to_numpy() <= 1e-9) & (
        pieces["end_m"].to_numpy() >= net.length[e] - 1e-9
    )
    edges = np.unique(e[full])
    if len(edges) < 3:
        return shapely.Polygon()
    lines = net.edge_lines() if lines is None else lines
    faces = shapely.get_parts(shapely.polygonize(lines[edges]))
    # streets crossing without a shared node (bridges, mapping errors) can give invalid faces
    faces = shapely.get_parts(shapely.make_valid(faces))
    faces = faces[shapely.get_type_id(faces) == 3]  # polygons only
    return shapely.union_all(faces)


def fill_small_holes(geom, min_hole_m2: float):
    """Remove interior rings smaller than ``min_hole_m2`` square metres."""
    if geom.is_empty or min_hole_m2 <= 0:
        return geom
    parts = shapely.get_parts(geom)
    out = []
    for p in parts:
        holes = [r for r in p.interiors if shapely.area(shapely.Polygon(r)) >= min_hole_m2]
        out.append(shapely.Polygon(p.exterior, holes) if len(holes) != len(p.interiors) else p)
    return out[0] if len(out) == 1 else shapely.MultiPolygon(out)


def isochrones(
    net: Network,
    sites: gpd.GeoDataFrame,
    site_snap: Snap,
    minutes: Sequence[float],
    speed_kmh: float,
    categories: Sequence[str] | None = None,
    per_site: bool = True,
    corridor_m: float = CORRIDOR_M,
    min_hole_m2: float = MIN_HOLE_M2,
) -> gpd.GeoDataFrame:
    """Isochrone polygons per site and per category (union) for every threshold.

    Parameters
    ----------
    net : Network
    sites : GeoDataFrame
        Sites used (``site_id, name, category``), rows aligned with ``site_snap``.
    site_snap : Snap
        The sites' snaps (metres).
    minutes : sequence of float
        Thresholds in minutes.
    speed_kmh : float
        Walking speed in km/h.
    categories : sequence of str, optional
        Categories to build unions for (``all`` = every site); default every
        category of ``sites`` plus ``all``. Categories without sites get empty polygons.
    per_site : bool
        Also build one polygon per site and threshold.
    corridor_m : float
        Walking corridor on each side of a reached edge, metres.
    min_hole_m2 : float
        Holes below this area (m²) are filled.

    Returns
    -------
    GeoDataFrame
        Network CRS; columns ``kind`` (``site`` or ``category``), ``site_id``, ``name``
        (empty for categories), ``category`` (``all`` = every site), ``minutes``,
        ``metres``, ``area_m2``; largest thresholds first so smaller bands draw on top.
    """
    minutes = sorted({float(m) for m in minutes}, reverse=True)
    mpm = metres_per_minute(speed_kmh)
    cat = sites["category"].astype(str).to_numpy()
    if categories is None:
        categories = [*dict.fromkeys(cat)]
    categories = [c for c in categories if c != ALL] + [ALL]
    sg = site_graph(net, site_snap)
    dist = site_distances(sg, limit=max(minutes) * mpm)
    lines = net.edge_lines()
    rows: list[dict] = []
    geoms: list = []

    def add(kind, sid, name, c, m, poly):
        poly = fill_small_holes(poly, min_hole_m2)
        rows.append({"kind": kind, "site_id": sid, "name": name, "category": c, "minutes": m,
                     "metres": m * mpm, "area_m2": float(shapely.area(poly))})  # fmt: skip
        geoms.append(poly)

    # Per-site polygons (holes not yet filled); a category's polygon is the union of its
    # sites' polygons (union of buffers is associative), sliver holes filled afterwards.
    def bands(nd: np.ndarray, idx: np.ndarray) -> dict[float, object]:
        """Nested bands of one site or category, each grown from the previous one."""
        out, prev_pieces, prev_poly = {}, None, None
        for m in sorted(minutes):
            pieces = reached_pieces(net, nd, site_snap, idx, m * mpm)
            new = _new_pieces(pieces, prev_pieces)
            poly = corridor_polygon(pieces_to_lines(net, new), corridor_m, 0.0)
            # nesting by construction; blocks enclosed by reached streets filled
            poly = shapely.union_all(
                [p for p in (prev_poly, poly, enclosed_blocks(net, pieces, lines)) if p is not None]
            )
            out[m] = poly
            prev_pieces, prev_poly = pieces, poly
        return out

    site_bands = [bands(dist[i], np.array([i])) for i in range(len(sites) if per_site else 0)]
    site_poly = {(i, m): p for i, b in enumerate(site_bands) for m, p in b.items()}
    for c in categories:
        idx = np.arange(len(sites)) if c == ALL else np.flatnonzero(cat == c)
        if per_site:
            # union of the sites' bands, plus blocks enclosed by streets reached from
            # different sites of the category
            nd = dist[idx].min(axis=0) if len(idx) else np.full(net.n_nodes, np.inf)
            cb = {
                m: shapely.union_all(
                    [
                        *(site_poly[i, m] for i in idx),
                        enclosed_blocks(
                            net, reached_pieces(net, nd, site_snap, idx, m * mpm), lines
                        ),
                    ]
                )  # fmt: skip
                for m in minutes
            }
        else:
            nd = dist[idx].min(axis=0) if len(idx) else np.full(net.n_nodes, np.inf)
            cb = bands(nd, idx)
        for m in minutes:
            add("category", "", "", c, m, cb[m])
    ids = sites["site_id"].astype(str).to_numpy()
    names = sites["name"].astype(str).to_numpy()
    for (i, m), poly in site_poly.items():
        add("site", ids[i], names[i], cat[i], m, poly)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=net.crs, columns=COLUMNS)


def from_analysis(a: Analysis, per_site: bool = True, **kw) -> gpd.GeoDataFrame:
    """:func:`isochrones` for an :class:`Analysis` (its sites, thresholds, speed, categories)."""
    return isochrones(
        a.network, a.sites, a.site_snap, a.minutes, a.speed_kmh,
        categories=a.categories, per_site=per_site, **kw,
    )  # fmt: skip

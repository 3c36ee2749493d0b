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
   unioned. Blocks enclosed by fully reached streets are filled, so holes remain only
   where a block is not reachable all round; holes smaller than :data:`MIN_HOLE_M2`
   (slivers at acute junctions) are filled too. The blocks are the faces of the planar
   network (:mod:`blocks`, built once per network), so finding the enclosed ones is one
   connected-components call; they are merged (a coverage union) and buffered once, and
   only the pieces outside them are buffered on their own (merged into chains first).
4. A band is grown from the previous one of the same sites (buffers distribute over
   unions: only what is new is buffered), a category's band is the union of its sites'
   bands plus the blocks their streets enclose together, and ``all`` the union of the
   categories'. With ``per_site=False`` each category is built directly from its
   minimum node distances instead. Independent polygons are built in parallel threads
   (GEOS releases the GIL).

Bands nest by construction (each is a union with the previous one), and filling holes
below a fixed area keeps nesting (a hole of the larger band lies inside a hole of the
smaller one, so it is at most as large). Every resident with ``minutes ≤ t`` has its
snap point on the reached network of band ``t``, so it lies within the band's polygon
up to its access leg.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse.csgraph import dijkstra

from .analysis import ALL, Analysis, metres_per_minute
from .blocks import Blocks, network_blocks
from .network import Network, Snap
from .routing import SiteGraph, site_graph

#: Walking corridor (metres) on each side of a reached edge.
CORRIDOR_M = 30.0
#: Holes smaller than this (m²) are slivers and filled; larger holes (unreached blocks) stay.
MIN_HOLE_M2 = 1000.0
#: Segments per quarter circle of the corridor buffer (GEOS ``quad_segs``).
QUAD_SEGS = 4
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


def pieces_to_lines(net: Network, pieces: pd.DataFrame) -> np.ndarray:
    """Line geometries (network CRS) of reached edge intervals.

    Parameters
    ----------
    net : Network
    pieces : DataFrame
        ``edge``, ``start_m``, ``end_m``: reached part of each edge in metres from its
        first node.

    Returns
    -------
    ndarray of shapely.LineString
        In the network's metric CRS (metres).
    """
    e = pieces["edge"].to_numpy()
    a, b = net.node_xy[net.u[e]], net.node_xy[net.v[e]]
    L = np.maximum(net.length[e], 1e-12)[:, None]
    p0 = a + (b - a) * (pieces["start_m"].to_numpy()[:, None] / L)
    p1 = a + (b - a) * (pieces["end_m"].to_numpy()[:, None] / L)
    return shapely.linestrings(np.stack([p0, p1], axis=1))


def corridor_polygon(
    lines: np.ndarray, corridor_m: float = CORRIDOR_M, min_hole_m2: float = MIN_HOLE_M2
):
    """Buffer lines by the corridor, union them, fill sliver holes (no block filling).

    Returns a (Multi)Polygon in the lines' CRS, or an empty polygon.

    Parameters
    ----------
    lines : ndarray of shapely.LineString
        In a metric CRS (metres).
    corridor_m : float
        Buffer distance in metres on each side of the lines.
    min_hole_m2 : float
        Holes smaller than this (square metres) are filled.
    """
    poly = shapely.union_all(_chain_buffers(lines, corridor_m))
    return fill_small_holes(poly, min_hole_m2)


def _chain_buffers(lines: np.ndarray, corridor_m: float) -> np.ndarray:
    """Corridor buffers of lines merged into chains (fewer, larger buffers to union)."""
    if len(lines) == 0:
        return np.empty(0, dtype=object)
    chains = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(lines)))
    return shapely.buffer(chains, corridor_m, quad_segs=QUAD_SEGS)


class _Band(NamedTuple):
    polygon: object  # (Multi)Polygon, holes not filled
    full_edge: np.ndarray  # edges reached over their whole length
    enclosed: np.ndarray  # blocks enclosed by them


def _band(
    net: Network,
    blocks: Blocks,
    pieces: pd.DataFrame,
    corridor_m: float,
    prev: _Band | None = None,
    members: Sequence[_Band] = (),
) -> _Band:
    """Reached pieces buffered by the corridor, with the blocks they enclose filled.

    Equal to ``corridor(pieces) ∪ enclosed blocks`` but cheaper: the enclosed blocks are
    merged (a coverage union) and buffered once, and only pieces outside them (dead
    ends, partly reached edges, streets between unreached blocks) get buffers of their
    own. Bands already built for the same or fewer sites are reused.

    Buffers distribute over unions, so the result is the union of ``prev`` (the previous,
    smaller band of the same sites), ``members`` (this band for disjoint subsets of the
    sites whose pieces together are ``pieces``) and buffers of what those do not hold
    yet: blocks enclosed anew and, without members, pieces on edges not yet fully
    reached. A buffer of any enclosed blocks stays inside the band (the way out of them
    crosses a fully reached edge, whose corridor is in the band), and bands nest exactly.
    """
    e = pieces["edge"].to_numpy()
    full = (pieces["start_m"].to_numpy() <= 1e-9) & (
        pieces["end_m"].to_numpy() >= net.length[e] - 1e-9
    )
    full_edge = np.zeros(net.n_edges, dtype=bool)
    full_edge[e[full]] = True
    enc = blocks.enclosed(full_edge)
    known = [b for b in (prev, *members) if b is not None]
    new_enc = enc.copy()
    for b in known:
        new_enc &= ~b.enclosed
    parts = [b.polygon for b in known]
    if new_enc.any():
        inner = _merge_faces(blocks.faces[new_enc])
        parts.append(shapely.buffer(inner, corridor_m, quad_segs=QUAD_SEGS))
    if not members:
        keep = ~blocks.covered_edges(enc, net.n_edges)[e]
        if prev is not None:
            keep &= ~prev.full_edge[e]  # whole edge already inside the previous band
        parts.extend(_chain_buffers(pieces_to_lines(net, pieces[keep]), corridor_m))
    poly = shapely.union_all(parts) if parts else shapely.Polygon()
    return _Band(poly, full_edge, enc)


def _merge_faces(faces: np.ndarray):
    """Union of adjacent non-overlapping faces (fast coverage union; overlay as fallback)."""
    try:
        return shapely.coverage_union_all(faces)
    except shapely.errors.GEOSException:  # not a clean coverage (numerical corner cases)
        return shapely.union_all(faces)


def fill_small_holes(geom, min_hole_m2: float):
    """Remove interior rings smaller than ``min_hole_m2`` square metres.

    Parameters
    ----------
    geom : shapely.Polygon or MultiPolygon
        In a metric CRS (metres).
    min_hole_m2 : float
        Smallest hole kept, in square metres (0: keep all).

    Returns
    -------
    shapely.Polygon or MultiPolygon
    """
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
    minutes = sorted({float(m) for m in minutes})
    mpm = metres_per_minute(speed_kmh)
    cat = sites["category"].astype(str).to_numpy()
    if categories is None:
        categories = [*dict.fromkeys(cat)]
    categories = [c for c in categories if c != ALL] + [ALL]
    blocks = network_blocks(net)
    sg = site_graph(net, site_snap)
    limit = max(minutes) * mpm
    dist = site_distances(sg, limit) if per_site else None

    def node_dist(idx: np.ndarray) -> np.ndarray:
        """Metres from the nearest of the sites ``idx`` to every node."""
        if len(idx) == 0:
            return np.full(net.n_nodes, np.inf)
        if dist is not None:
            return dist[idx].min(axis=0)
        d = dijkstra(sg.graph, directed=True, indices=sg.n + idx, limit=limit, min_only=True)
        return d[: sg.n]

    def bands(idx: np.ndarray, members: Sequence[list[_Band]] = ()) -> list[_Band]:
        """Nested bands (smallest first) of a set of sites, from its subsets' bands."""
        if len(members) == 1:
            return members[0]
        nd = node_dist(idx)
        out, prev = [], None
        for k, m in enumerate(minutes):
            pieces = reached_pieces(net, nd, site_snap, idx, m * mpm)
            prev = _band(net, blocks, pieces, corridor_m, prev, [b[k] for b in members])
            out.append(prev)
        return out

    def run(jobs: list[tuple]) -> list[list[_Band]]:
        """``bands(*job)`` for each job, in parallel (GEOS releases the GIL), largest first."""
        order = sorted(range(len(jobs)), key=lambda j: -len(jobs[j][0]))
        with ThreadPoolExecutor(max_workers=_threads()) as pool:
            done = dict(zip(order, pool.map(lambda j: bands(*jobs[j]), order), strict=True))
        return [done[j] for j in range(len(jobs))]

    members = {c: np.flatnonzero(cat == c) for c in dict.fromkeys(cat)}
    if per_site:
        # sites first; a category is the union of its sites' bands (plus the blocks only
        # their streets together enclose), ``all`` the union of the categories'
        site_bands = run([(np.array([i]),) for i in range(len(sites))])
        cat_bands = dict(zip(members, run([(idx, [site_bands[i] for i in idx])
                                           for idx in members.values()]), strict=True))  # fmt: skip
        all_bands = bands(np.arange(len(sites)), list(cat_bands.values()))
    else:
        site_bands = []
        wanted = [c for c in categories if c in members]
        cat_bands = dict(zip(wanted, run([(members[c],) for c in wanted]), strict=True))
        all_bands = bands(np.arange(len(sites)))
    none = bands(np.zeros(0, dtype=np.int64))
    jobs = [("category", c, all_bands if c == ALL else cat_bands.get(c, none))
            for c in categories]  # fmt: skip
    jobs += [("site", i, b) for i, b in enumerate(site_bands)]  # type: ignore[misc]
    ids = sites["site_id"].astype(str).to_numpy()
    names = sites["name"].astype(str).to_numpy()
    rows: list[dict] = []
    geoms: list = []
    for kind, key, band in jobs:
        sid, name, c = ("", "", key) if kind == "category" else (ids[key], names[key], cat[key])
        for m, b in reversed([*zip(minutes, band, strict=True)]):
            poly = fill_small_holes(b.polygon, min_hole_m2)
            rows.append({"kind": kind, "site_id": sid, "name": name, "category": c,
                         "minutes": m, "metres": m * mpm, "area_m2": float(shapely.area(poly))})  # fmt: skip
            geoms.append(poly)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=net.crs, columns=COLUMNS)


def _threads() -> int:
    """Worker threads for the polygons: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def from_analysis(a: Analysis, per_site: bool = True, **kw) -> gpd.GeoDataFrame:
    """:func:`isochrones` for an :class:`Analysis` (its sites, thresholds, speed, categories).

    Parameters
    ----------
    a : Analysis
    per_site : bool
        Also build one polygon per site and threshold (``kind="site"``).
    **kw
        Further options of :func:`isochrones` (``corridor_m`` in metres, ...).

    Returns
    -------
    GeoDataFrame
        Band polygons in the network CRS (metres), ``minutes`` per band.
    """
    return isochrones(
        a.network, a.sites, a.site_snap, a.minutes, a.speed_kmh,  # type: ignore[arg-type]
        categories=a.categories, per_site=per_site, **kw,
    )  # fmt: skip

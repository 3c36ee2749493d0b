"""Visibility ("im Vorbeigehen sichtbar"): a footfall proxy for sites and candidates.

For a point snapped onto its street edge::

    betweenness   = sampled local edge betweenness of that edge: the estimated number
                    of (origin node, destination node) pairs at most ``radius`` metres
                    apart on the walking network (default 800 m, ~10 minutes) whose
                    shortest walk uses the edge. Origins are ``samples`` random network
                    nodes (fixed seed); counts are scaled by nodes / samples.
    shops         = number of OSM shops (``shop=*`` except vacant/no/disused) within
                    ``shop_radius`` metres straight-line (default 100 m).
    visibility    = 0.5 × betweenness_pct + 0.5 × min(shops / 10, 1)      (0 … 1)

where ``betweenness_pct`` is the share of the network's edges with a lower betweenness
(0 = quietest street, 1 = busiest). The two halves weigh through-walking and shopping
footfall equally; both are documented proxies, not counts of people.

Everything is vectorised: shortest-path trees come from one
``scipy.sparse.csgraph.dijkstra(limit=radius, return_predecessors=True)`` per chunk of
origins; the pairs passing through each tree edge are counted by walking all
destinations up their trees at once.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse.csgraph import dijkstra

from .network import Network

#: Local betweenness radius, metres.
RADIUS_M = 800.0
#: Shops counted within this straight-line distance, metres.
SHOP_RADIUS_M = 100.0
#: Number of shops at which the shop half of the score saturates.
SHOP_SATURATION = 10
#: Shop values that do not make a shop.
_NOT_SHOPS = {"vacant", "no", "disused", "closed"}


def edge_betweenness(
    net: Network,
    radius: float = RADIUS_M,
    samples: int = 500,
    seed: int = 0,
    sources: np.ndarray | None = None,
) -> np.ndarray:
    """Sampled local edge betweenness within ``radius`` metres.

    Parameters
    ----------
    net : Network
    radius : float
        Longest origin–destination walk counted, metres.
    samples : int
        Number of random origin nodes (all nodes if the network is smaller).
    seed : int
        Random seed (results are reproducible).
    sources : ndarray of int, optional
        Origin node indices to use instead of a random sample.

    Returns
    -------
    ndarray (m,)
        Estimated number of ordered node pairs within ``radius`` whose shortest walk
        uses each edge (scaled by nodes / samples).
    """
    n = net.n_nodes
    rng = np.random.default_rng(seed)
    if sources is None:
        src = np.sort(rng.choice(n, size=min(samples, n), replace=False))
    else:
        src = np.unique(np.asarray(sources, dtype=np.int64))
    g = net.csgraph()
    key = net.u.astype(np.int64) * n + net.v.astype(np.int64)
    order = np.argsort(key)
    key_sorted = key[order]
    flow = np.zeros(net.n_edges)
    chunk = max(1, 5_000_000 // max(n, 1))
    for start in range(0, len(src), chunk):
        s = src[start : start + chunk]
        dist, pred = dijkstra(g, directed=True, indices=s, limit=radius, return_predecessors=True)
        row, cur = np.nonzero(np.isfinite(dist))
        keep = cur != s[row]
        row, cur = row[keep], cur[keep]
        if not len(cur):
            continue
        cnt = _subtree_sizes(pred, s, row, cur)
        p = pred[row, cur].astype(np.int64)
        k = np.minimum(p, cur) * n + np.maximum(p, cur)
        e = order[np.searchsorted(key_sorted, k)]
        flow += np.bincount(e, weights=cnt, minlength=net.n_edges)
    return flow * (n / len(src))


def _subtree_sizes(pred: np.ndarray, src: np.ndarray, row: np.ndarray, cur: np.ndarray):
    """Nodes in the shortest-path subtree below each reached node (itself included).

    ``pred`` (chunk × n) are Dijkstra predecessors; ``row``/``cur`` the reached non-source
    nodes. That count is the number of destinations whose shortest walk from the row's
    source uses the tree edge ``pred -> cur``. Depths come from pointer jumping
    (log2(depth) vectorised rounds); counts are then pushed up one depth level at a time.
    """
    ncol = pred.shape[1]
    pred_f = pred.reshape(-1)  # 1-D views: fancy indexing on them is fast (unlike .flat)
    flat = row.astype(np.int64) * ncol + cur
    src_of = src[row]
    # depth in hops by pointer jumping: depth += depth[next]; next = next[next]
    depth = np.zeros(pred.size, dtype=np.int32)
    depth[flat] = 1
    nxt = np.full(pred.size, -1, dtype=np.int64)
    nxt[flat] = pred_f[flat]
    todo = flat[nxt[flat] != src_of]
    while len(todo):
        base = (todo // ncol) * ncol
        nx_flat = base + nxt[todo]
        add = depth[nx_flat]
        jump = nxt[nx_flat]
        depth[todo] += add
        nxt[todo] = jump
        todo = todo[jump != src[todo // ncol]]
    d = depth[flat]
    order = np.argsort(-d, kind="stable")
    cnt = np.zeros(pred.size, dtype=np.float64)
    cnt[flat] = 1.0
    f_sorted = flat[order]
    for part in np.split(f_sorted, np.flatnonzero(np.diff(d[order])) + 1):
        parent_node = pred_f[part]
        up = parent_node != src[part // ncol]
        part = part[up]
        np.add.at(cnt, (part // ncol) * ncol + parent_node[up], cnt[part])
    return cnt[flat]


def shop_points(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Open shops among OSM features (``shop=*`` except vacant/no/disused/closed), as points.

    Parameters
    ----------
    features : GeoDataFrame
        OSM features with a ``tags`` column of dicts (``read_osm(...).features``).

    Returns
    -------
    GeoDataFrame
        One point per shop (polygons at a representative point) with a ``shop`` column
        (the tag value), in the CRS of ``features``.
    """
    tags = features["tags"]
    val = np.array([str(t.get("shop", "")) if isinstance(t, dict) else "" for t in tags], object)
    ok = (val != "") & ~np.isin(val, list(_NOT_SHOPS))
    sel = features.loc[ok]
    geom = sel.geometry
    if len(sel) and not geom.geom_type.eq("Point").all():
        geom = geom.representative_point()
    return gpd.GeoDataFrame({"shop": val[ok]}, geometry=geom.to_numpy(), crs=features.crs)


def visibility(
    net: Network,
    points: gpd.GeoDataFrame,
    features: gpd.GeoDataFrame | None = None,
    betweenness: np.ndarray | None = None,
    radius: float = RADIUS_M,
    shop_radius: float = SHOP_RADIUS_M,
    samples: int = 500,
) -> pd.DataFrame:
    """Footfall proxy for points (sites, candidates); see the module docstring for the formula.

    Parameters
    ----------
    net : Network
    points : GeoDataFrame
        Points in any CRS (projected to the network CRS).
    features : GeoDataFrame, optional
        ``read_osm(...).features`` (EPSG:4326) for the shop count; without it shops = 0.
    betweenness : ndarray (m,), optional
        Precomputed :func:`edge_betweenness` (reused across calls).
    radius, shop_radius : float
        Metres.
    samples : int
        Origins for :func:`edge_betweenness`.

    Returns
    -------
    DataFrame
        ``betweenness, betweenness_pct, shops_100m, visibility`` (index of ``points``;
        the shop column is named after ``shop_radius``).
    """
    if betweenness is None:
        betweenness = edge_betweenness(net, radius, samples)
    pts = points.to_crs(net.crs).geometry
    if len(pts) and not pts.geom_type.eq("Point").all():
        pts = pts.representative_point()
    xy = shapely.get_coordinates(pts.to_numpy()).reshape(-1, 2)
    snap = net.snap(xy)
    b = betweenness[snap.edge]
    sorted_b = np.sort(betweenness)
    pct = np.searchsorted(sorted_b, b, side="left") / max(len(sorted_b), 1)
    shops = np.zeros(len(xy), dtype=np.int64)
    if features is not None and len(features) and len(xy):
        sp_ = shop_points(features).to_crs(net.crs)
        if len(sp_):
            tree = shapely.STRtree(sp_.geometry.to_numpy())
            hit, _ = tree.query(shapely.points(xy), predicate="dwithin", distance=shop_radius)
            shops = np.bincount(hit, minlength=len(xy))
    vis = 0.5 * pct + 0.5 * np.minimum(shops / SHOP_SATURATION, 1.0)
    col = f"shops_{shop_radius:g}m"
    return pd.DataFrame(
        {"betweenness": b, "betweenness_pct": pct, col: shops, "visibility": vis},
        index=points.index,
    )


def with_visibility(
    net: Network, layer: gpd.GeoDataFrame, features: gpd.GeoDataFrame | None
) -> gpd.GeoDataFrame:
    """``layer`` (sites or candidates) with the :func:`visibility` columns appended.

    Returns ``layer`` unchanged when there are no features or no rows.

    Parameters
    ----------
    net : Network
        The walking network (projected CRS, metres).
    layer : GeoDataFrame
        Sites or candidates, in any CRS.
    features : GeoDataFrame or None
        OSM features (EPSG:4326) for the shop count, or None.

    Returns
    -------
    GeoDataFrame
        ``layer`` (same CRS and index) plus ``betweenness``, ``betweenness_pct``,
        ``shops_100m`` and ``visibility``.
    """
    if features is None or not len(layer):
        return layer
    vis = visibility(net, layer, features)
    return gpd.GeoDataFrame(
        pd.concat([layer.drop(columns="geometry"), vis], axis=1),
        geometry=layer.geometry.to_numpy(),
        crs=layer.crs,
    )

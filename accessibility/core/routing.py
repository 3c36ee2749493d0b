"""Exact door-to-door walking distances from residents to their nearest site.

Distance = resident's access leg (straight line to the nearest edge)
         + network distance between the two snap points along the edges
         + the site's access leg.

Each site becomes a virtual node with directed edges to both ends of its edge
(weights: access leg + the part of the edge to that end). One multi-source
Dijkstra (``scipy.sparse.csgraph.dijkstra(min_only=True)``) per category gives,
for every network node, the distance to and the index of the nearest site. A
resident's distance is then the better of its edge's two ends, or the direct
way along the edge when a site sits on the same edge. No Python loop touches
residents or edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from .network import Network, Snap


@dataclass
class SiteGraph:
    """The network's CSR plus one virtual source node per site (reusable across categories).

    Attributes
    ----------
    graph : csr_matrix
        (n + k) × (n + k) directed adjacency in metres; rows ``n..n+k-1`` are sites.
    n : int
        Number of real network nodes.
    snap : Snap
        The sites' snaps (metres).
    """

    graph: sp.csr_matrix
    n: int
    snap: Snap


def site_graph(net: Network, site_snap: Snap) -> SiteGraph:
    """Add one virtual node per snapped site to the network's adjacency.

    Parameters
    ----------
    net : Network
    site_snap : Snap
        Sites snapped with :meth:`Network.snap` (access legs in metres).

    Returns
    -------
    SiteGraph
        The (n + k) × (n + k) CSR graph in metres; row ``n + i`` is site ``i``, linked to
        both ends of its snapped edge with access leg plus the part-edge length.
    """
    n, k = net.n_nodes, len(site_snap.edge)
    base = net.csgraph()
    e = site_snap.edge
    length = net.length[e]
    # Append k rows to the CSR directly (no COO sort): row n + i holds site i's two edges.
    to_u = site_snap.access + site_snap.t * length
    to_v = site_snap.access + (1.0 - site_snap.t) * length
    indptr = np.concatenate([base.indptr, base.indptr[-1] + 2 * np.arange(1, k + 1)])
    indices = np.concatenate([base.indices, np.column_stack([net.u[e], net.v[e]]).ravel()])
    data = np.concatenate([base.data, np.column_stack([to_u, to_v]).ravel()])
    g = sp.csr_matrix((data, indices, indptr), shape=(n + k, n + k))
    return SiteGraph(graph=g, n=n, snap=site_snap)


def nearest_sites(
    net: Network,
    sg: SiteGraph,
    res_snap: Snap,
    sites: np.ndarray | None = None,
    limit: float = np.inf,
) -> tuple[np.ndarray, np.ndarray]:
    """Door-to-door distance from every resident to the nearest of the given sites.

    Parameters
    ----------
    net : Network
    sg : SiteGraph
        From :func:`site_graph`.
    res_snap : Snap
        Residents snapped onto the network.
    sites : ndarray of int, optional
        Indices (into ``sg.snap``) of the sites to consider; all by default.
    limit : float
        Stop searching beyond this many metres (residents further away get ``inf``).

    Returns
    -------
    distance : ndarray (r,)
        Metres; ``inf`` where no site is reachable (other component, or beyond ``limit``).
    site : ndarray (r,)
        Index of the nearest site (into ``sg.snap``), ``-1`` where unreachable.
    """
    r = len(res_snap.edge)
    sites = np.arange(len(sg.snap.edge)) if sites is None else np.asarray(sites, dtype=np.int64)
    if len(sites) == 0 or r == 0:
        return np.full(r, np.inf), np.full(r, -1, dtype=np.int64)
    dist, _, src = dijkstra(
        sg.graph, directed=True, indices=sg.n + sites, min_only=True,
        return_predecessors=True, limit=limit,
    )  # fmt: skip
    src = np.where(src >= 0, src - sg.n, -1)
    e = res_snap.edge
    length = net.length[e]
    du = dist[net.u[e]] + res_snap.t * length
    dv = dist[net.v[e]] + (1.0 - res_snap.t) * length
    best = np.minimum(du, dv)
    site = np.where(du <= dv, src[net.u[e]], src[net.v[e]])
    # Sites on the resident's own edge: the direct way along the edge. A sorted join
    # in numpy finds the (rare) resident-site pairs sharing an edge.
    s_edge = sg.snap.edge[sites]
    order = np.argsort(s_edge, kind="stable")
    se = s_edge[order]
    lo = np.searchsorted(se, e, "left")
    cnt = np.searchsorted(se, e, "right") - lo
    shared = np.flatnonzero(cnt)
    if len(shared):
        c = cnt[shared]
        i = np.repeat(shared, c)
        offs = np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c)
        j = sites[order[np.repeat(lo[shared], c) + offs]]
        d = np.abs(res_snap.t[i] - sg.snap.t[j]) * length[i] + sg.snap.access[j]
        first = np.lexsort((j, d, i))
        i, j, d = i[first], j[first], d[first]
        keep = np.r_[True, i[1:] != i[:-1]]
        i, j, d = i[keep], j[keep], d[keep]
        better = d < best[i]
        best[i[better]] = d[better]
        site[i[better]] = j[better]
    best = best + res_snap.access
    if np.isfinite(limit):
        over = best > limit
        best[over] = np.inf
        site[over] = -1
    site[~np.isfinite(best)] = -1
    return best, site.astype(np.int64)


def nearest_by_category(
    net: Network,
    sg: SiteGraph,
    res_snap: Snap,
    site_category: np.ndarray,
    categories,
    all_key: str = "all",
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Door-to-door metres and nearest site per category, and for all sites together.

    One multi-source Dijkstra per category; ``all_key`` is the element-wise
    minimum over the categories (every site has exactly one category), so it
    costs no extra search. Ties go to the category listed first.

    Parameters
    ----------
    net, sg, res_snap
        As for :func:`nearest_sites`.
    site_category : ndarray (k,)
        Category of each site in ``sg``.
    categories : sequence of str
        Categories to report (a category without sites gets ``inf``/``-1``).

    Returns
    -------
    dict
        category → (metres (r,), site index (r,)), plus ``all_key``.
    """
    site_category = np.asarray(site_category).astype(str)
    out = {}
    r = len(res_snap.edge)
    best = np.full(r, np.inf)
    best_site = np.full(r, -1, dtype=np.int64)
    for c in dict.fromkeys([*categories, *np.unique(site_category)]):
        if c == all_key:
            continue
        d, near = nearest_sites(net, sg, res_snap, np.flatnonzero(site_category == c))
        out[c] = (d, near)
        better = d < best
        best[better] = d[better]
        best_site[better] = near[better]
    out[all_key] = (best, best_site)
    return out


#: Distances held per block of sites in :func:`site_pairs` (``sites × (nodes + residents)``
#: float64 values, ≈ 16 MB).
PAIR_BLOCK_VALUES = 2_000_000


def site_pairs(
    net: Network,
    sg: SiteGraph,
    res_snap: Snap,
    limit: float,
    sites: np.ndarray | None = None,
    block: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Door-to-door metres of every (site, resident) pair within ``limit``, as sparse triples.

    One Dijkstra per site bounded by ``limit`` (``scipy.sparse.csgraph.dijkstra(limit=...)``,
    sites in blocks of at most :data:`PAIR_BLOCK_VALUES` values), so the work and the memory
    grow with the catchments, not with sites × residents. The distance is the same as in
    :func:`nearest_sites`, in the same arithmetic order, so the two agree to the bit: site
    access leg + network + resident access leg, or the direct way along the edge when both
    are snapped onto the same edge.

    Parameters
    ----------
    net : Network
    sg : SiteGraph
        From :func:`site_graph`.
    res_snap : Snap
        Residents snapped onto the network.
    limit : float
        Largest door-to-door distance kept, metres (pairs with ``metres <= limit``).
    sites : ndarray of int, optional
        Indices (into ``sg.snap``) of the sites to search from; all by default.
    block : int, optional
        Sites per Dijkstra call (default: :data:`PAIR_BLOCK_VALUES` distances per call).

    Returns
    -------
    site : ndarray of int64
        Site index (into ``sg.snap``) of each pair.
    resident : ndarray of int64
        Resident index (into ``res_snap``) of each pair.
    metres : ndarray of float
        Door-to-door distance in metres (``<= limit``). Pairs are sorted by site, then
        resident.
    """
    sites = np.arange(len(sg.snap.edge)) if sites is None else np.asarray(sites, dtype=np.int64)
    r = len(res_snap.edge)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if len(sites) == 0 or r == 0 or not limit >= 0:
        return empty
    e = res_snap.edge
    length = net.length[e]
    ru, rv = net.u[e], net.v[e]
    off_u = res_snap.t * length
    off_v = (1.0 - res_snap.t) * length
    # sites sharing an edge with residents: the direct way along that edge
    s_edge = sg.snap.edge[sites]
    order = np.argsort(e, kind="stable")
    lo = np.searchsorted(e[order], s_edge, "left")
    cnt = np.searchsorted(e[order], s_edge, "right") - lo
    block = block or max(1, PAIR_BLOCK_VALUES // (sg.n + len(sg.snap.edge) + r))
    out_s, out_r, out_d = [], [], []
    for b0 in range(0, len(sites), block):
        idx = np.arange(b0, min(b0 + block, len(sites)))
        dist = dijkstra(sg.graph, directed=True, indices=sg.n + sites[idx], limit=limit)
        dist = np.atleast_2d(dist)
        # as nearest_sites: the nearer edge end, the direct way, then the resident's leg
        d = np.minimum(dist[:, ru] + off_u, dist[:, rv] + off_v)
        c = cnt[idx]
        if c.any():
            bi = np.repeat(np.arange(len(idx)), c)
            offs = np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c)
            ri = order[np.repeat(lo[idx], c) + offs]
            j = sites[idx][bi]
            direct = np.abs(res_snap.t[ri] - sg.snap.t[j]) * length[ri] + sg.snap.access[j]
            np.minimum.at(d, (bi, ri), direct)
        d += res_snap.access
        bs, rs = np.nonzero(d <= limit)
        out_s.append(sites[idx][bs])
        out_r.append(rs.astype(np.int64))
        out_d.append(d[bs, rs])
    s, rr, dd = np.concatenate(out_s), np.concatenate(out_r), np.concatenate(out_d)
    first = np.lexsort((rr, s))
    return s[first].astype(np.int64), rr[first], dd[first]

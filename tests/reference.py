"""Independent reference distances with networkx, for cross-checks in tests.

Every snapped point is inserted as a node on its edge (the edge is split at the
snap points), a separate "door" node is joined to it by the access leg, and
networkx's multi-source Dijkstra runs on that graph. Nothing here reuses the
package's routing code; only the snapping (edge, fraction, access leg) is taken
as input and is checked separately against brute-force shapely distances.
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx
import numpy as np


def reference_distances(net, site_snap, res_snap) -> np.ndarray:
    """Door-to-door metres from every resident to the nearest site, with networkx."""
    g = nx.Graph()
    for a, b, w in zip(net.u.tolist(), net.v.tolist(), net.length.tolist(), strict=True):
        g.add_edge(("n", a), ("n", b), length=w)
    on_edge = defaultdict(list)
    for kind, snap in (("s", site_snap), ("r", res_snap)):
        for i, (e, t, a) in enumerate(
            zip(snap.edge.tolist(), snap.t.tolist(), snap.access.tolist(), strict=True)
        ):
            on_edge[e].append((t, (kind, i)))
            g.add_edge((kind, i), ("door", kind, i), length=a)
    for e, pts in on_edge.items():
        a, b, length = int(net.u[e]), int(net.v[e]), float(net.length[e])
        g.remove_edge(("n", a), ("n", b))
        chain = [(0.0, ("n", a)), *sorted(pts), (1.0, ("n", b))]
        for (t0, p0), (t1, p1) in zip(chain[:-1], chain[1:], strict=True):
            w = (t1 - t0) * length
            if g.has_edge(p0, p1):
                w = min(w, g[p0][p1]["length"])
            g.add_edge(p0, p1, length=w)
    sources = [("door", "s", i) for i in range(len(site_snap.edge))]
    d = nx.multi_source_dijkstra_path_length(g, sources, weight="length")
    return np.array([d.get(("door", "r", i), np.inf) for i in range(len(res_snap.edge))])


def reference_kept_edges(net, min_component: int) -> np.ndarray:
    """Island pruning, independently: edges of components with >= ``min_component`` nodes.

    Components come from networkx; the largest one is always kept (as in the package).
    """
    g = nx.Graph()
    g.add_nodes_from(range(net.n_nodes))
    g.add_edges_from(zip(net.u.tolist(), net.v.tolist(), strict=True))
    comps = sorted(nx.connected_components(g), key=len, reverse=True)
    keep = np.zeros(net.n_nodes, dtype=bool)
    for i, c in enumerate(comps):
        if i == 0 or len(c) >= min_component:
            keep[list(c)] = True
    return keep[net.u]


def reference_access(net, xy: np.ndarray, min_component: int) -> np.ndarray:
    """Brute force: straight distance (metres) from each point to the nearest kept edge."""
    import shapely

    kept = reference_kept_edges(net, min_component)
    a, b = net.node_xy[net.u[kept]], net.node_xy[net.v[kept]]
    lines = shapely.linestrings(np.stack([a, b], axis=1))
    return np.array([shapely.distance(shapely.Point(p), lines).min() for p in xy])

"""The walking network as arrays: nodes, straight edge segments, lengths in metres.

The graph is undirected and unsimplified: every edge is one straight segment
between two consecutive OSM nodes of a walkable way, so snapping a point onto an
edge and measuring along it is exact. Parallel edges keep the shortest. A
``barrier=*`` node closed to walkers (:func:`accessibility.inputs.osm.is_closed`) is split
into one node per incident edge, so it is a dead end on each side.

Island pruning: every component is kept in the graph (and drawn in maps), but points
snap only onto edges of components with at least ``min_component`` nodes (and always
the largest one), as OpenTripPlanner prunes street-graph islands. A kept component
that is not the largest is a *fragment* (reported per point).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import shapely
from pyproj import Transformer
from scipy.sparse.csgraph import connected_components

from .. import _cache
from .._io import atomic_write, sha256
from ..config import DEFAULT_MIN_COMPONENT as _DEFAULT_MIN_COMPONENT
from ..errors import NetworkError
from ..geo import GERMANY_CRS as GERMANY_CRS  # re-exported
from ..geo import metric_crs as metric_crs  # re-exported (used here and by scripts)
from ..inputs.osm import cache_file, check_path, read_ways, rules_key
from ..params import Profile, extract_part, restrictions

#: Metric CRS for Germany (ETRS89 / UTM zone 32N).

#: Components with fewer nodes are islands: nothing snaps onto them (``--min-component``).
DEFAULT_MIN_COMPONENT = _DEFAULT_MIN_COMPONENT

#: Bump when the cached network layout or its building rules change.
_NETWORK_CACHE_VERSION = 2


@dataclass
class Network:
    """Undirected walking network in a metric CRS.

    Attributes
    ----------
    crs : str
        Metric CRS of ``node_xy`` (e.g. ``"EPSG:25832"``).
    node_xy : ndarray (n, 2)
        Node coordinates in metres.
    node_osmid : ndarray (n,)
        OSM node ids.
    u, v : ndarray (m,)
        Edge end node indices (``u < v``).
    length : ndarray (m,)
        Edge lengths in metres (straight segments).
    way_id : ndarray (m,)
        OSM way id of each edge.
    meta : dict
        Provenance: source file or download, its SHA-256, filter, date.
    min_component : int
        Islands: components with fewer nodes than this receive no snapped point
        (the largest component is always kept). Change it with
        :meth:`set_min_component`.
    """

    crs: str
    node_xy: np.ndarray
    node_osmid: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    way_id: np.ndarray
    meta: dict = field(default_factory=dict)
    min_component: int = DEFAULT_MIN_COMPONENT
    _csr: sp.csr_matrix | None = field(default=None, repr=False)
    _tree: shapely.STRtree | None = field(default=None, repr=False)
    _kept_tree: tuple | None = field(default=None, repr=False)  # (STRtree, edge indices)
    _hull: shapely.Geometry | None = field(default=None, repr=False)
    _comp: np.ndarray | None = field(default=None, repr=False)
    _blocks: object | None = field(default=None, repr=False)  # blocks.network_blocks
    _cache_file: Path | None = field(default=None, repr=False)  # where load_network keeps it

    # -- construction ------------------------------------------------------------------
    @classmethod
    def from_segments(
        cls,
        node_osmid: np.ndarray,
        lon: np.ndarray,
        lat: np.ndarray,
        seg_u: np.ndarray,
        seg_v: np.ndarray,
        seg_way: np.ndarray,
        crs: str | None = None,
        meta: dict | None = None,
        blocked: np.ndarray | None = None,
    ) -> Network:
        """Build from WGS 84 nodes and OSM-id segments; project, dedupe, drop self-loops.

        Parameters
        ----------
        node_osmid, lon, lat : array
            Nodes (degrees, EPSG:4326).
        seg_u, seg_v, seg_way : array
            Segments as OSM node ids, and their way ids.
        crs : str, optional
            Metric CRS; by default :func:`metric_crs` of the nodes' centre.
        blocked : array, optional
            OSM ids of nodes nobody may pass (closed barriers): each incident edge
            gets its own copy of the node, so the node is a dead end on every side.

        Returns
        -------
        Network
            Node coordinates in the metric CRS (metres), edge lengths in metres.
        """
        node_osmid = np.asarray(node_osmid, dtype=np.int64)
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        if len(node_osmid) == 0 or len(seg_u) == 0:
            raise NetworkError("the walking network is empty: no walkable ways in the area")
        order = np.argsort(node_osmid, kind="stable")
        node_osmid, lon, lat = node_osmid[order], lon[order], lat[order]
        crs = crs or metric_crs(float(np.median(lon)), float(np.median(lat)))
        x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
        xy = np.column_stack([x, y])
        iu = np.searchsorted(node_osmid, np.asarray(seg_u, dtype=np.int64))
        iv = np.searchsorted(node_osmid, np.asarray(seg_v, dtype=np.int64))
        if (node_osmid[np.minimum(iu, len(node_osmid) - 1)] != seg_u).any() or (
            node_osmid[np.minimum(iv, len(node_osmid) - 1)] != seg_v
        ).any():
            raise NetworkError("a segment refers to a node that is not in the node list")
        a, b = np.minimum(iu, iv), np.maximum(iu, iv)
        keep = a != b
        a, b, way = a[keep], b[keep], np.asarray(seg_way, dtype=np.int64)[keep]
        length = np.hypot(*(xy[b] - xy[a]).T)
        # parallel edges: keep the shortest
        order = np.lexsort((length, b, a))  # stable: by u, v, then length
        a, b, length, way = a[order], b[order], length[order], way[order]
        first = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])]
        a, b, length, way = a[first], b[first], length[first], way[first]
        ends = np.concatenate([a, b])
        meta = dict(meta or {})
        if blocked is not None and len(blocked):
            is_b = np.zeros(len(node_osmid), dtype=bool)
            ib = np.searchsorted(node_osmid, np.asarray(blocked, dtype=np.int64))
            ib = ib[ib < len(node_osmid)]
            is_b[ib[np.isin(node_osmid[ib], blocked)]] = True
            hit = np.flatnonzero(is_b[ends])
            meta["barriers_split"] = int(np.unique(ends[hit]).size)
            # every incidence of a blocked node gets its own copy (same place, same OSM id)
            copies = len(node_osmid) + np.arange(len(hit))
            xy = np.vstack([xy, xy[ends[hit]]])
            node_osmid = np.concatenate([node_osmid, node_osmid[ends[hit]]])
            ends = ends.copy()
            ends[hit] = copies
        used = np.unique(ends)
        remap = np.full(len(node_osmid), -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        m = len(a)
        a, b = remap[ends[:m]], remap[ends[m:]]
        return cls(
            crs=str(crs),
            node_xy=xy[used],
            node_osmid=node_osmid[used],
            u=np.minimum(a, b).astype(np.int32),
            v=np.maximum(a, b).astype(np.int32),
            length=length.astype(float),
            way_id=way.astype(np.int64),
            meta=meta,
        )

    @classmethod
    def from_extract(cls, extract, crs: str | None = None, profile=None) -> Network:
        """Build from an :class:`accessibility.inputs.osm.OsmExtract` (or :func:`~accessibility.inputs.osm.read_ways`).

        Closed barriers (``extract.node_tags["closed"]``) are split per incident edge.
        A :class:`accessibility.params.Profile` drops the segments and blocks the
        nodes it avoids (:func:`accessibility.params.restrictions`).

        Parameters
        ----------
        extract : OsmExtract or dict
            ``nodes`` (lon/lat in degrees, EPSG:4326), ``segments``, ``node_tags``.
        crs : str, optional
            Metric CRS (metres); default from the extract's location
            (:func:`accessibility.geo.metric_crs`).
        profile : Profile, optional
            Walking profile (e.g. wheelchair).

        Returns
        -------
        Network
        """
        n, s = extract_part(extract, "nodes"), extract_part(extract, "segments")
        nt = extract_part(extract, "node_tags")
        meta = {
            "source": extract_part(extract, "source") or "",
            "sha256": extract_part(extract, "sha256"),
            "filter": "osmnx network_type='walk' highway classes; OSM foot access hierarchy",
        }
        blocked = nt.loc[nt["closed"].to_numpy(bool), "osmid"].to_numpy(np.int64)
        keep = np.ones(len(s), dtype=bool)
        if profile is not None and profile.restricts:
            drop, more = restrictions(extract, profile)
            keep = ~drop
            blocked = np.union1d(blocked, more)
            meta["profile"] = profile.name
            meta["profile_segments_dropped"] = int(drop.sum())
        return cls.from_segments(
            n["osmid"].to_numpy(), n["lon"].to_numpy(), n["lat"].to_numpy(),
            s["u"].to_numpy()[keep], s["v"].to_numpy()[keep], s["way_id"].to_numpy()[keep],
            crs=crs, meta=meta, blocked=blocked,
        )  # fmt: skip

    # -- properties --------------------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        """Number of network nodes."""
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        """Number of network edges."""
        return len(self.u)

    def csgraph(self) -> sp.csr_matrix:
        """Symmetric CSR adjacency with edge lengths in metres (explicit zeros kept).

        Returns
        -------
        scipy.sparse.csr_matrix
            ``n_nodes`` × ``n_nodes``, metres.
        """
        if self._csr is None:
            n = self.n_nodes
            rows = np.concatenate([self.u, self.v])
            cols = np.concatenate([self.v, self.u])
            data = np.concatenate([self.length, self.length])
            self._csr = sp.csr_matrix((data, (rows, cols)), shape=(n, n))
        return self._csr

    def components(self) -> np.ndarray:
        """Component label per node; label 0 is the largest component.

        Returns
        -------
        ndarray of int
            One label per node.
        """
        if self._comp is None:
            _, labels = connected_components(self.csgraph(), directed=False)
            sizes = np.bincount(labels)
            rank = np.empty_like(sizes)
            rank[np.argsort(-sizes, kind="stable")] = np.arange(len(sizes))
            self._comp = rank[labels].astype(np.int32)
        return self._comp

    def set_min_component(self, min_component: int) -> Network:
        """Set the island threshold (nodes); points snap onto kept components only.

        Parameters
        ----------
        min_component : int
            Components with fewer nodes are islands (at least 1; the largest is always kept).

        Returns
        -------
        Network
            ``self``.
        """
        min_component = int(min_component)
        if min_component < 1:
            raise ValueError(f"--min-component must be at least 1 node, got {min_component}")
        if min_component != self.min_component:
            self.min_component = min_component
            self._kept_tree = None
        return self

    def kept_nodes(self) -> np.ndarray:
        """Per node: True if its component has at least ``min_component`` nodes or is the largest.

        Returns
        -------
        ndarray of bool
            One value per node.
        """
        comp = self.components()
        sizes = np.bincount(comp)
        keep = sizes >= self.min_component
        keep[0] = True
        return keep[comp]

    def kept_edges(self) -> np.ndarray:
        """Per edge: True if it lies on a kept component (points may snap onto it).

        Returns
        -------
        ndarray of bool
            One value per edge.
        """
        return self.kept_nodes()[self.u]

    def pruning(self) -> dict:
        """What island pruning removes from snapping (for ``run.json`` and the console).

        Returns
        -------
        dict
            ``min_component_nodes``, ``components``, ``components_pruned``,
            ``edges_pruned``, ``nodes_pruned``, ``edge_length_pruned_m`` (metres),
            ``edges`` and ``barriers_split``.
        """
        comp = self.components()
        sizes = np.bincount(comp)
        kept_c = (sizes >= self.min_component) | (np.arange(len(sizes)) == 0)
        ke = self.kept_edges()
        return {
            "min_component_nodes": int(self.min_component),
            "components": int(len(sizes)),
            "components_pruned": int((~kept_c).sum()),
            "edges": int(self.n_edges),
            "edges_pruned": int((~ke).sum()),
            "nodes_pruned": int((~self.kept_nodes()).sum()),
            "edge_length_pruned_m": round(float(self.length[~ke].sum()), 1),
            "barriers_split": int(self.meta.get("barriers_split", 0)),
        }

    def hull(self) -> shapely.Geometry:
        """Convex hull of all nodes (metric CRS): the area the network covers.

        Returns
        -------
        shapely.Polygon
            In the network's metric CRS (metres).
        """
        if self._hull is None:
            self._hull = shapely.convex_hull(shapely.multipoints(self.node_xy))
            shapely.prepare(self._hull)
        return self._hull

    def edge_lines(self) -> np.ndarray:
        """Shapely LineStrings of every edge (metric CRS).

        Returns
        -------
        ndarray of shapely.LineString
            One per edge, in the network's metric CRS (metres).
        """
        coords = np.stack([self.node_xy[self.u], self.node_xy[self.v]], axis=1)
        return shapely.linestrings(coords)

    def to_networkx(self):
        """An undirected networkx Graph with ``length`` in metres (for cross-checks)."""
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(range(self.n_nodes))
        g.add_weighted_edges_from(
            zip(self.u.tolist(), self.v.tolist(), self.length.tolist(), strict=True),
            weight="length",
        )
        return g

    # -- snapping ----------------------------------------------------------------------
    def snap(self, xy: np.ndarray, islands: bool = False) -> Snap:
        """Snap points to the nearest edge (not node) of a kept component.

        Parameters
        ----------
        xy : ndarray (k, 2)
            Points in the network CRS (metres).
        islands : bool
            Snap onto every edge, pruned islands included (for diagnostics only).

        Returns
        -------
        Snap
            Per point: edge index, fraction ``t`` along the edge from ``u`` to ``v``,
            the snapped point, the access-leg length (metres) and ``island``: True
            where the nearest edge of all lies on a pruned island (strictly closer
            than the kept edge snapped to).
        """
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        if self._tree is None:
            self._tree = shapely.STRtree(self.edge_lines())
        if len(xy) == 0:
            e = np.zeros(0, dtype=np.int64)
            return Snap(e, np.zeros(0), np.zeros((0, 2)), np.zeros(0), np.zeros(0, bool))
        pts = shapely.points(xy)
        edge = self._nearest(self._tree, None, pts)
        kept = self.kept_edges()
        island = ~kept[edge]
        if island.any() and not islands:
            if self._kept_tree is None:
                idx = np.flatnonzero(kept)
                self._kept_tree = (shapely.STRtree(self.edge_lines()[idx]), idx)
            tree, idx = self._kept_tree
            near = self._project(xy[island], edge[island]).access
            edge = edge.copy()
            edge[island] = self._nearest(tree, idx, pts[island])
            s = self._project(xy, edge)
            island[island] = near < s.access[island]  # a tie is no island
        else:
            s = self._project(xy, edge)
        s.island = island
        return s

    @staticmethod
    def _nearest(tree: shapely.STRtree, idx: np.ndarray | None, pts: np.ndarray) -> np.ndarray:
        """Nearest edge per point; ties go to the lowest edge index (deterministic)."""
        (src, edge) = tree.query_nearest(pts, all_matches=True)
        if idx is not None:
            edge = idx[edge]
        order = np.lexsort((edge, src))
        src, edge = src[order], edge[order]
        first = np.r_[True, src[1:] != src[:-1]]
        return edge[first].astype(np.int64)

    def _project(self, xy: np.ndarray, edge: np.ndarray) -> Snap:
        """Foot of the perpendicular from each point onto its edge."""
        a = self.node_xy[self.u[edge]]
        b = self.node_xy[self.v[edge]]
        ab = b - a
        den = np.einsum("ij,ij->i", ab, ab)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(den > 0, np.einsum("ij,ij->i", xy - a, ab) / den, 0.0)
        t = np.clip(t, 0.0, 1.0)
        p = a + t[:, None] * ab
        leg = np.hypot(*(xy - p).T)
        return Snap(edge=edge, t=t, point=p, access=leg)

    # -- persistence -------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Save as a compressed ``.npz`` (atomic).

        Parameters
        ----------
        path : str or Path
            Target ``.npz`` file.

        Returns
        -------
        Path
            The file written.
        """

        def _w(p: Path) -> None:
            with open(p, "wb") as f:
                np.savez(
                    f, node_xy=self.node_xy, node_osmid=self.node_osmid, u=self.u, v=self.v,
                    length=self.length, way_id=self.way_id,
                    crs=np.array(self.crs), meta=np.array(json.dumps(self.meta, default=str)),
                )  # fmt: skip

        return atomic_write(path, _w, suffix=".npz")

    @classmethod
    def load(cls, path: str | Path) -> Network:
        """Load a network saved with :meth:`save` (or a checksummed cache entry).

        Raises
        ------
        NetworkError
            The file is not a readable network (truncated, damaged, another format).

        Parameters
        ----------
        path : str or Path
            A ``.npz`` written by :meth:`save`.

        Returns
        -------
        Network
        """
        try:
            with np.load(path, allow_pickle=False) as z:
                return cls._from_arrays({k: z[k] for k in z.files})
        except Exception as exc:  # zipfile, zlib, ValueError, KeyError, OSError ...
            raise NetworkError(
                f"{path}: not a readable network file ({type(exc).__name__}: {exc}); save it again"
            ) from exc

    @classmethod
    def _from_arrays(cls, z: dict) -> Network:
        return cls(
            crs=str(z["crs"]), node_xy=z["node_xy"], node_osmid=z["node_osmid"], u=z["u"],
            v=z["v"], length=z["length"], way_id=z["way_id"], meta=json.loads(str(z["meta"])),
        )  # fmt: skip

    def _arrays(self) -> dict[str, np.ndarray]:
        return dict(
            node_xy=self.node_xy, node_osmid=self.node_osmid, u=self.u, v=self.v,
            length=self.length, way_id=self.way_id, crs=np.array(self.crs),
            meta=np.array(json.dumps(self.meta, default=str)),
        )  # fmt: skip


@dataclass
class Snap:
    """Points snapped onto network edges.

    Attributes
    ----------
    edge : ndarray (k,)
        Edge index.
    t : ndarray (k,)
        Position along the edge as a fraction from ``u`` (0) to ``v`` (1).
    point : ndarray (k, 2)
        Snapped point (metres, network CRS).
    access : ndarray (k,)
        Straight access leg from the point to the snapped point (metres).
    island : ndarray (k,) of bool, optional
        True where the point would have snapped onto a pruned island (the nearest
        edge of all lies there); it snapped onto the nearest kept edge instead.
    """

    edge: np.ndarray
    t: np.ndarray
    point: np.ndarray
    access: np.ndarray
    island: np.ndarray | None = None

    def subset(self, mask: np.ndarray) -> Snap:
        """The snaps of the points ``idx`` only (same network).

        Parameters
        ----------
        mask : ndarray of bool or int
            Points to keep (boolean mask or indices).

        Returns
        -------
        Snap
        """
        island = None if self.island is None else self.island[mask]
        return Snap(self.edge[mask], self.t[mask], self.point[mask], self.access[mask], island)


def load_network(
    path: str | Path,
    crs: str | None = None,
    use_cache: bool = True,
    progress: bool = False,
    min_component: int = DEFAULT_MIN_COMPONENT,
    profile: Profile | None = None,
) -> Network:
    """Read the walking network of a local OSM file, from the cache if parsed before.

    Parameters
    ----------
    path : str or Path
        ``.osm``, ``.osm.gz``, ``.osm.bz2`` or ``.osm.pbf``.
    crs : str, optional
        Metric CRS; default EPSG:25832 in Germany, else the local UTM zone.
    use_cache : bool
        Cache key: the file's SHA-256, the CRS and the walking rules
        (:func:`accessibility.inputs.osm.rules_key`). The cache is a checksummed ``.npz``;
        a damaged entry is rebuilt, an unwritable cache folder only costs speed.
    progress : bool
        Show a spinner while parsing.
    min_component : int
        Island threshold in nodes (:meth:`Network.set_min_component`).
    profile : accessibility.params.Profile, optional
        Leave out what the profile avoids (steps, ``wheelchair=no``, raised kerbs).

    Returns
    -------
    Network
        In ``crs`` (metres), island threshold ``min_component`` set.
    """

    path = check_path(path)
    digest = sha256(path)
    key = f"{digest}-{(crs or 'auto').replace(':', '')}-{rules_key()}"
    if profile is not None and profile.restricts:
        key += "-" + "-".join(sorted(profile.avoid))
    cache = cache_file(f"{key}.npz", "network") if use_cache else None
    if cache is not None:
        hit = _cache.load_arrays(cache, kind="network", version=_NETWORK_CACHE_VERSION)
        if hit is not None:
            net = Network._from_arrays(hit)
            net.meta.update(source=str(path), cached=True)
            net._cache_file = cache
            return net.set_min_component(min_component)
    ways = read_ways(path, use_cache=use_cache, progress=progress, digest=digest)
    net = Network.from_extract({**ways, "source": str(path)}, crs=crs, profile=profile)
    if cache is not None:
        net._cache_file = _cache.save_arrays(
            cache, net._arrays(), kind="network", version=_NETWORK_CACHE_VERSION
        )
    return net.set_min_component(min_component)

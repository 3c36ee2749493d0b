"""The walking network as arrays: nodes, straight edge segments, lengths in metres.

The graph is undirected and unsimplified: every edge is one straight segment
between two consecutive OSM nodes of a walkable way, so snapping a point onto an
edge and measuring along it is exact. Parallel edges keep the shortest; every
walkable component is kept and labelled, so residents snapped onto a small
fragment can be reported rather than silently given zero access.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from pyproj import Transformer
from scipy.sparse.csgraph import connected_components

from ._io import atomic_write
from .errors import NetworkError

#: Metric CRS for Germany (ETRS89 / UTM zone 32N).
GERMANY_CRS = "EPSG:25832"


def metric_crs(lon: float, lat: float) -> str:
    """Metric working CRS for a location: EPSG:25832 in Germany, else the local UTM zone.

    Parameters
    ----------
    lon, lat : float
        A point of the study area in degrees (EPSG:4326).
    """
    if 5.5 <= lon <= 15.5 and 47.0 <= lat <= 55.2:
        return GERMANY_CRS
    zone = int((lon + 180) // 6) + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


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
    """

    crs: str
    node_xy: np.ndarray
    node_osmid: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    way_id: np.ndarray
    meta: dict = field(default_factory=dict)
    _csr: sp.csr_matrix | None = field(default=None, repr=False)
    _tree: shapely.STRtree | None = field(default=None, repr=False)
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
        df = pd.DataFrame({"u": a, "v": b, "length": length, "way": way})
        df = df.sort_values(["u", "v", "length"], kind="stable").drop_duplicates(["u", "v"])
        used = np.unique(np.concatenate([df["u"].to_numpy(), df["v"].to_numpy()]))
        remap = np.full(len(node_osmid), -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        return cls(
            crs=str(crs),
            node_xy=xy[used],
            node_osmid=node_osmid[used],
            u=remap[df["u"].to_numpy()].astype(np.int32),
            v=remap[df["v"].to_numpy()].astype(np.int32),
            length=df["length"].to_numpy(dtype=float),
            way_id=df["way"].to_numpy(dtype=np.int64),
            meta=dict(meta or {}),
        )

    @classmethod
    def from_extract(cls, extract, crs: str | None = None) -> Network:
        """Build from an :class:`accessibility.osm.OsmExtract`."""
        n, s = extract.nodes, extract.segments
        meta = {
            "source": extract.source,
            "sha256": extract.sha256,
            "filter": "osmnx network_type='walk'",
        }
        return cls.from_segments(
            n["osmid"].to_numpy(), n["lon"].to_numpy(), n["lat"].to_numpy(),
            s["u"].to_numpy(), s["v"].to_numpy(), s["way_id"].to_numpy(), crs=crs, meta=meta,
        )  # fmt: skip

    @classmethod
    def from_osmnx(cls, graph, crs: str | None = None, meta: dict | None = None) -> Network:
        """Build from an unprojected osmnx graph (node ``x``/``y`` in degrees).

        Every edge becomes straight segments along its ``geometry`` if it has one
        (a simplified graph); otherwise the straight u-v segment.
        """
        nodes = pd.DataFrame(
            [(n, d["x"], d["y"]) for n, d in graph.nodes(data=True)],
            columns=["osmid", "lon", "lat"],
        )
        seg_u, seg_v, seg_way, extra = [], [], [], []
        next_id = -1
        for u, v, d in graph.edges(data=True):
            osmid = d.get("osmid", 0)
            way = int(osmid[0] if isinstance(osmid, list) else osmid)
            geom = d.get("geometry")
            if geom is None:
                seg_u.append(u)
                seg_v.append(v)
                seg_way.append(way)
                continue
            coords = list(geom.coords)
            ids = [u]
            for lon, lat in coords[1:-1]:
                extra.append((next_id, lon, lat))
                ids.append(next_id)
                next_id -= 1
            ids.append(v)
            seg_u.extend(ids[:-1])
            seg_v.extend(ids[1:])
            seg_way.extend([way] * (len(ids) - 1))
        if extra:
            nodes = pd.concat(
                [nodes, pd.DataFrame(extra, columns=nodes.columns)], ignore_index=True
            )
        return cls.from_segments(
            nodes["osmid"].to_numpy(), nodes["lon"].to_numpy(), nodes["lat"].to_numpy(),
            np.asarray(seg_u), np.asarray(seg_v), np.asarray(seg_way), crs=crs, meta=meta,
        )  # fmt: skip

    # -- properties --------------------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        return len(self.u)

    def csgraph(self) -> sp.csr_matrix:
        """Symmetric CSR adjacency with edge lengths in metres (explicit zeros kept)."""
        if self._csr is None:
            n = self.n_nodes
            rows = np.concatenate([self.u, self.v])
            cols = np.concatenate([self.v, self.u])
            data = np.concatenate([self.length, self.length])
            self._csr = sp.csr_matrix((data, (rows, cols)), shape=(n, n))
        return self._csr

    def components(self) -> np.ndarray:
        """Component label per node; label 0 is the largest component."""
        if self._comp is None:
            _, labels = connected_components(self.csgraph(), directed=False)
            sizes = np.bincount(labels)
            rank = np.empty_like(sizes)
            rank[np.argsort(-sizes, kind="stable")] = np.arange(len(sizes))
            self._comp = rank[labels].astype(np.int32)
        return self._comp

    def edge_lines(self) -> np.ndarray:
        """Shapely LineStrings of every edge (metric CRS)."""
        coords = np.stack([self.node_xy[self.u], self.node_xy[self.v]], axis=1)
        return shapely.linestrings(coords)

    def edges_gdf(self) -> gpd.GeoDataFrame:
        """Edges as a GeoDataFrame in the network CRS."""
        return gpd.GeoDataFrame(
            {"u": self.u, "v": self.v, "length_m": self.length, "way_id": self.way_id},
            geometry=self.edge_lines(),
            crs=self.crs,
        )

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
    def snap(self, xy: np.ndarray) -> Snap:
        """Snap points to the nearest edge (not node).

        Parameters
        ----------
        xy : ndarray (k, 2)
            Points in the network CRS (metres).

        Returns
        -------
        Snap
            Per point: edge index, fraction ``t`` along the edge from ``u`` to ``v``,
            the snapped point and the access-leg length (metres).
        """
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        if self._tree is None:
            self._tree = shapely.STRtree(self.edge_lines())
        if len(xy) == 0:
            e = np.zeros(0, dtype=np.int64)
            return Snap(e, np.zeros(0), np.zeros((0, 2)), np.zeros(0))
        pts = shapely.points(xy)
        (src, edge) = self._tree.query_nearest(pts, all_matches=True)
        # ties: keep the lowest edge index per point (deterministic)
        order = np.lexsort((edge, src))
        src, edge = src[order], edge[order]
        first = np.r_[True, src[1:] != src[:-1]]
        edge = edge[first].astype(np.int64)
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
        """Save as a compressed ``.npz`` (atomic)."""

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
    """

    edge: np.ndarray
    t: np.ndarray
    point: np.ndarray
    access: np.ndarray

    def subset(self, mask: np.ndarray) -> Snap:
        return Snap(self.edge[mask], self.t[mask], self.point[mask], self.access[mask])


def load_network(path: str | Path, crs: str | None = None, use_cache: bool = True) -> Network:
    """Read the walking network of a local OSM file, from the cache if parsed before.

    Parameters
    ----------
    path : str or Path
        ``.osm``, ``.osm.gz``, ``.osm.bz2`` or ``.osm.pbf``.
    crs : str, optional
        Metric CRS; default EPSG:25832 in Germany, else the local UTM zone.
    use_cache : bool
        Cache key: the file's SHA-256, the CRS and the walking filter.
    """
    from . import _cache
    from ._io import sha256
    from .config import cache_dir
    from .osm import check_path, read_osm, walk_filter

    path = check_path(path)
    digest = sha256(path)
    fkey = hashlib.sha256(repr([(k, o, r and r.pattern) for k, o, r in walk_filter()]).encode())
    key = f"{digest}-{(crs or 'auto').replace(':', '')}-{fkey.hexdigest()[:12]}"
    cache = cache_dir() / "network" / f"{key}.npz"
    # a damaged entry is discarded with a warning and rebuilt; an unwritable cache warns once
    arrays = (
        _cache.load_arrays(cache, kind="network", version=_CACHE_VERSION) if use_cache else None
    )
    if arrays is not None:
        try:
            net = Network._from_arrays(arrays)
        except (KeyError, ValueError) as exc:
            _cache.discard(cache, f"{type(exc).__name__}: {exc}")
        else:
            net.meta["source"] = str(path)
            net.meta["cached"] = True
            net._cache_file = cache
            return net
    net = Network.from_extract(read_osm(path, use_cache=use_cache), crs=crs)
    if use_cache:
        net._cache_file = _cache.save_arrays(
            cache, net._arrays(), kind="network", version=_CACHE_VERSION
        )
    return net


#: Version of the network cache entries (:mod:`accessibility._cache`).
_CACHE_VERSION = 1

"""City blocks: the faces of the planar walking network, and which of them reached streets enclose.

The walking network is noded (crossings without a shared OSM node, e.g. bridges, are
split) and polygonized once; every noded piece knows the face on each of its sides
(the bounded faces are numbered ``0 … f-1``, ``f`` is the unbounded outside). For a set
of fully reached edges, a face is *enclosed* when it cannot be left without crossing a
fully reached street, i.e. it is not connected to the outside across edges that are not
fully reached: exactly the bounded faces of the fully reached edges alone, found with one
``scipy.sparse.csgraph.connected_components`` instead of a polygonization per isochrone.

Everything is in the network's metric CRS (metres).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from .. import _cache
from .network import Network

#: Layout version of the on-disk cache (bump when the way blocks are computed changes).
_VERSION = 2
_REVERSE = {"ax": "bx", "ay": "by", "bx": "ax", "by": "ay"}


@dataclass
class Blocks:
    """Faces of the planar walking network and the faces beside each noded piece.

    Attributes
    ----------
    faces : ndarray of Polygon (f,)
        Bounded faces (blocks), network CRS; they tile the area without overlaps.
    piece_edge : ndarray (p,)
        Network edge of each noded piece (edges split where streets cross).
    left, right : ndarray (p,)
        Face on each side of each piece; ``f`` is the unbounded outside. Pieces that
        bound no face (dead ends, links between blocks) have the face containing them
        on both sides.
    """

    faces: np.ndarray
    piece_edge: np.ndarray
    left: np.ndarray
    right: np.ndarray

    @property
    def n_faces(self) -> int:
        """Number of street blocks (faces of the planar network)."""
        return len(self.faces)

    def enclosed(self, full_edge: np.ndarray) -> np.ndarray:
        """Faces enclosed by fully reached edges.

        Parameters
        ----------
        full_edge : ndarray of bool (m,)
            Per network edge: reached over its whole length.

        Returns
        -------
        ndarray of bool (f,)
            Faces that are not connected to the outside across any piece whose edge
            is not fully reached.
        """
        f = self.n_faces
        open_ = ~full_edge[self.piece_edge] & (self.left != self.right)
        adj = sp.coo_matrix(
            (np.ones(int(open_.sum()), dtype=np.int8), (self.left[open_], self.right[open_])),
            shape=(f + 1, f + 1),
        )
        _, label = connected_components(adj, directed=False)
        return (label != label[f])[:f]

    def covered_edges(self, enclosed: np.ndarray, n_edges: int) -> np.ndarray:
        """Edges lying on or inside the enclosed faces (ndarray of bool, one per edge).

        A corridor around such an edge lies within the corridor around the enclosed
        faces, so it need not be buffered on its own.

        Parameters
        ----------
        enclosed : ndarray of bool
            One value per face: True if it lies within the isochrone.
        n_edges : int
            Number of network edges.

        Returns
        -------
        ndarray of bool
        """
        enc = np.append(enclosed, False)
        piece_in = enc[self.left] | enc[self.right]
        outside = np.bincount(self.piece_edge, weights=~piece_in, minlength=n_edges)
        has = np.bincount(self.piece_edge, minlength=n_edges) > 0
        return has & (outside == 0)


def network_blocks(net: Network) -> Blocks:
    """The :class:`Blocks` of a network.

    Computed once and kept on the network object; for a network from
    :func:`network.load_network` also stored next to its cache file.

    Parameters
    ----------
    net : Network

    Returns
    -------
    Blocks
        Faces of the planar network in its metric CRS (metres).
    """
    if net._blocks is None:
        path = None if net._cache_file is None else net._cache_file.with_suffix(".blocks.npz")
        if path is not None:
            # a damaged entry is discarded with a warning (accessibility._cache) and rebuilt
            arrays = _cache.load_arrays(path, kind="blocks", version=_VERSION)
            if arrays is not None:
                try:
                    net._blocks = _from_arrays(arrays)
                except (KeyError, ValueError, shapely.errors.ShapelyError) as exc:
                    _cache.discard(path, f"{type(exc).__name__}: {exc}")
        if net._blocks is None:
            net._blocks = _build(net)
            if path is not None:
                _save(net._blocks, path)
    return net._blocks  # type: ignore[return-value]


def _save(b: Blocks, path: Path) -> Path | None:
    """Cache the blocks; a network without any enclosed block (a tree, one street) has none."""
    if len(b.faces):
        _, coords, (rings, polys) = shapely.to_ragged_array(b.faces)
    else:
        coords, rings, polys = np.zeros((0, 2)), np.zeros(1, np.int64), np.zeros(1, np.int64)
    arrays = dict(coords=coords, rings=rings, polys=polys, piece_edge=b.piece_edge, left=b.left,
                  right=b.right)  # fmt: skip
    return _cache.save_arrays(path, arrays, kind="blocks", version=_VERSION)


def _load(path: Path) -> Blocks:
    """Read a blocks cache entry; ValueError if it is missing or unusable."""
    arrays = _cache.load_arrays(path, kind="blocks", version=_VERSION)
    if arrays is None:
        raise ValueError(f"{path}: no usable blocks cache entry")
    return _from_arrays(arrays)


def _from_arrays(z: dict) -> Blocks:
    if len(z["coords"]):
        faces = shapely.from_ragged_array(
            shapely.GeometryType.POLYGON, z["coords"], (z["rings"], z["polys"])
        )
    else:
        faces = np.empty(0, dtype=object)
    return Blocks(faces, z["piece_edge"], z["left"], z["right"])


def _build(net: Network) -> Blocks:
    lines = net.edge_lines()
    if len(lines) == 0:
        z = np.zeros(0, dtype=np.int64)
        return Blocks(np.empty(0, dtype=object), z, z, z)
    pieces = _noded(net, lines)
    faces = shapely.get_parts(shapely.polygonize(pieces))
    faces = faces[shapely.area(faces) > 0]
    xy, idx = shapely.get_coordinates(pieces, return_index=True)
    last = np.r_[idx[1:] != idx[:-1], True]
    a, b = xy[np.r_[True, last[:-1]]], xy[last]
    # each piece's edge: the edge with the same end points, else (a piece of an edge split
    # at a crossing) the edge its midpoint lies on
    ends = ["ax", "ay", "bx", "by"]
    p = pd.DataFrame({"ax": a[:, 0], "ay": a[:, 1], "bx": b[:, 0], "by": b[:, 1]})
    nu, nv = net.node_xy[net.u], net.node_xy[net.v]
    e = pd.DataFrame({"ax": nu[:, 0], "ay": nu[:, 1], "bx": nv[:, 0], "by": nv[:, 1],
                      "edge": np.arange(net.n_edges)})  # fmt: skip
    e = pd.concat([e, e.rename(columns=_REVERSE)]).drop_duplicates(ends)
    piece_edge = p.merge(e, on=ends, how="left")["edge"].to_numpy(dtype=float, copy=True)
    split = np.flatnonzero(np.isnan(piece_edge))
    mid = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    if len(split):
        src, near = shapely.STRtree(lines).query_nearest(mid[split])
        first = np.r_[True, src[1:] != src[:-1]]
        piece_edge[split[src[first]]] = near[first]
    piece_edge = piece_edge.astype(np.int64)
    # faces beside each piece: with exteriors counter-clockwise and holes clockwise, a
    # face lies to the left of each of its directed ring segments
    f = len(faces)
    rings, ring_face = shapely.get_rings(shapely.orient_polygons(faces), return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    seg = pd.DataFrame(
        {"ax": xy[:-1, 0][same], "ay": xy[:-1, 1][same], "bx": xy[1:, 0][same],
         "by": xy[1:, 1][same], "face": ring_face[ring[:-1][same]]}
    ).drop_duplicates(["ax", "ay", "bx", "by"])  # fmt: skip
    left = p.merge(seg, on=ends, how="left")["face"].to_numpy()
    right = p.merge(seg.rename(columns=_REVERSE), on=ends, how="left")["face"].to_numpy()
    left = np.where(np.isnan(left), -1, left).astype(np.int64)
    right = np.where(np.isnan(right), -1, right).astype(np.int64)
    one = (left >= 0) != (right >= 0)  # a block's edge towards the outside
    left[one & (left < 0)] = f
    right[one & (right < 0)] = f
    # pieces on no ring: the face containing them (or the outside) on both sides
    loose = np.flatnonzero((left < 0) & (right < 0))
    inside = np.full(len(loose), f, dtype=np.int64)
    if len(loose) and f:
        i, j = shapely.STRtree(faces).query(mid[loose], predicate="within")
        inside[i] = j
    left[loose] = right[loose] = inside
    return Blocks(faces=faces, piece_edge=piece_edge, left=left, right=right)


def _noded(net: Network, lines: np.ndarray) -> np.ndarray:
    """Edges split where they cross or touch another edge without a shared node."""
    i, j = shapely.STRtree(lines).query(lines)  # bounding boxes overlap
    keep = (i < j) & (net.u[i] != net.u[j]) & (net.u[i] != net.v[j])
    keep &= (net.v[i] != net.u[j]) & (net.v[i] != net.v[j])
    i, j = i[keep], j[keep]
    a, b = net.node_xy[net.u], net.node_xy[net.v]
    # segments meet iff each one's end points are not strictly on one side of the other
    meet = (_side(a[i], b[i], a[j]) * _side(a[i], b[i], b[j]) <= 0) & (
        _side(a[j], b[j], a[i]) * _side(a[j], b[j], b[i]) <= 0
    )
    cross = np.zeros(len(lines), dtype=bool)
    cross[i[meet]] = cross[j[meet]] = True
    if not cross.any():
        return lines
    split = shapely.get_parts(shapely.node(shapely.multilinestrings(lines[cross])))
    return np.concatenate([lines[~cross], split])


def _side(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Sign of the turn p → q → r: +1 left, -1 right, 0 collinear."""
    return np.sign(
        (q[:, 0] - p[:, 0]) * (r[:, 1] - p[:, 1]) - (q[:, 1] - p[:, 1]) * (r[:, 0] - p[:, 0])
    )

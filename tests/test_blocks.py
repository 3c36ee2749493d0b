"""Blocks (faces of the planar walking network) on the real Kaiserslautern network."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from accessibility.core import blocks as blk
from accessibility.core import isochrones as iso
from accessibility.core.blocks import network_blocks
from accessibility.core.network import load_network
from accessibility.core.routing import site_graph
from accessibility.errors import AccessibilityWarning


@pytest.fixture(scope="module")
def kl_blocks(kl_network):
    return network_blocks(kl_network)


def test_faces_tile_the_area_between_streets(kl_network, kl_blocks):
    net, b = kl_network, kl_blocks
    assert b.n_faces > 1000
    assert shapely.is_valid(b.faces).all()
    assert shapely.coverage_is_valid(b.faces)  # no overlaps: a clean coverage
    # every face corner lies on a street
    corners = shapely.points(shapely.get_coordinates(b.faces))
    _, d = shapely.STRtree(net.edge_lines()).query_nearest(corners, return_distance=True)
    assert d.max() < 1e-6
    # crossings without a shared node (bridges, tunnels) were split, and each piece
    # belongs to an edge it lies on
    assert len(b.piece_edge) > net.n_edges
    assert np.bincount(b.piece_edge, minlength=net.n_edges).min() >= 1


def test_faces_beside_each_piece_match_point_in_polygon(kl_network, kl_blocks):
    """Independent check: a point 1 cm to either side of an edge lies in those faces."""
    net, b = kl_network, kl_blocks
    one = np.flatnonzero(np.bincount(b.piece_edge, minlength=net.n_edges)[b.piece_edge] == 1)
    e = b.piece_edge[one]
    a, z = net.node_xy[net.u[e]], net.node_xy[net.v[e]]
    ok = net.length[e] > 0.1
    one, a, z = one[ok], a[ok], z[ok]
    d = z - a
    normal = np.stack([-d[:, 1], d[:, 0]], axis=1) / np.hypot(*d.T)[:, None]
    tree = shapely.STRtree(b.faces)

    def face_at(xy):
        i, j = tree.query(shapely.points(xy), predicate="within")
        f = np.full(len(xy), b.n_faces)
        f[i] = j
        return f

    mid = (a + z) / 2
    f1, f2 = face_at(mid + 0.01 * normal), face_at(mid - 0.01 * normal)
    left, right = b.left[one], b.right[one]
    ok = ((f1 == left) & (f2 == right)) | ((f1 == right) & (f2 == left))
    assert ok.mean() > 0.999, (~ok).sum()
    assert (left != right).sum() > 10_000  # most pieces separate two faces
    assert ((left == b.n_faces) | (right == b.n_faces)).any()  # and some face the outside


def _reference_blocks(net, full_edge):
    """Faces that polygonize finds among the fully reached edges alone (noded)."""
    lines = net.edge_lines()[full_edge]
    return shapely.union_all(
        shapely.get_parts(
            shapely.polygonize(shapely.get_parts(shapely.node(shapely.multilinestrings(lines))))
        )
    )


@pytest.mark.parametrize("case", ["band", "random"])
def test_enclosed_faces_equal_polygonize_of_reached_edges(kl_analysis, kl_blocks, case):
    a, b = kl_analysis, kl_blocks
    net = a.network
    if case == "band":  # the fully reached edges of a real 10-minute band
        mpm = a.speed_kmh * 1000 / 60
        nd = iso.site_distances(site_graph(net, a.site_snap), 10 * mpm).min(axis=0)
        p = iso.reached_pieces(net, nd, a.site_snap, np.arange(len(a.sites)), 10 * mpm)
        e = p["edge"].to_numpy()
        full = np.isclose(p["start_m"], 0) & np.isclose(p["end_m"], net.length[e])
        full_edge = np.zeros(net.n_edges, bool)
        full_edge[e[full]] = True
    else:
        full_edge = np.random.default_rng(1).random(net.n_edges) < 0.8
    enc = b.enclosed(full_edge)
    assert enc.sum() > 100
    ours = shapely.coverage_union_all(b.faces[enc])
    ref = _reference_blocks(net, full_edge)
    assert shapely.area(shapely.symmetric_difference(ours, ref)) < 1.0  # m², float noise
    # covered edges lie on or inside the enclosed faces; the others do not
    cov = b.covered_edges(enc, net.n_edges)
    lines = net.edge_lines()
    assert cov.sum() > 100
    assert shapely.covers(shapely.buffer(ours, 1e-6), lines[cov]).all()
    outside = ~cov & (net.length > 1.0)
    assert not shapely.covers(shapely.buffer(ours, -1e-3), lines[outside]).any()


def test_blocks_are_cached_next_to_the_network(kl_osm, monkeypatch):
    net = load_network(kl_osm)
    path = net._cache_file.with_suffix(".blocks.npz")
    path.unlink(missing_ok=True)
    built = network_blocks(net)
    assert path.exists()
    again = load_network(kl_osm)
    monkeypatch.setattr(blk, "_build", lambda net: pytest.fail("rebuilt despite the cache"))
    cached = network_blocks(again)
    assert shapely.equals(cached.faces, built.faces).all()
    for k in ("piece_edge", "left", "right"):
        assert np.array_equal(getattr(cached, k), getattr(built, k))
    monkeypatch.undo()
    path.write_bytes(b"not a cache")  # damaged: discarded with a warning, rebuilt, written again
    third = load_network(kl_osm)
    with pytest.warns(AccessibilityWarning, match="discarded and rebuilt"):
        assert network_blocks(third).n_faces == built.n_faces
    assert blk._load(path).n_faces == built.n_faces


@pytest.fixture(scope="module")
def kl_analysis(kl_osm, kl_zensus):
    from accessibility.pipeline import load_inputs, run

    return run(load_inputs(network=kl_osm, population=[kl_zensus]), minutes=(5.0, 10.0, 15.0))

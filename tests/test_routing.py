"""Door-to-door distances against an independent networkx reference on real networks."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from accessibility.core.network import Network
from accessibility.core.routing import nearest_sites, site_graph

from .reference import reference_access, reference_distances, reference_kept_edges


def _random_points(net: Network, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lo, hi = net.node_xy.min(axis=0), net.node_xy.max(axis=0)
    return lo + rng.random((k, 2)) * (hi - lo)


def test_snap_is_nearest_kept_edge_brute_force(kl_network):
    net = kl_network
    xy = _random_points(net, 60, 1)
    snap = net.snap(xy)
    lines = net.edge_lines()
    np.testing.assert_allclose(snap.access, reference_access(net, xy, net.min_component), atol=1e-6)
    assert reference_kept_edges(net, net.min_component)[snap.edge].all()
    # the snapped point lies on its edge
    on = shapely.distance(shapely.points(snap.point), lines[snap.edge])
    assert on.max() < 1e-6
    # without pruning a point snaps to the nearest edge of all; `island` marks the difference
    every = net.snap(xy, islands=True)
    brute = np.array([shapely.distance(shapely.Point(p), lines).min() for p in xy])
    np.testing.assert_allclose(every.access, brute, atol=1e-6)
    np.testing.assert_array_equal(snap.island, every.access < snap.access)


@pytest.mark.parametrize("seed", [3, 4])
def test_distances_match_networkx_kaiserslautern(kl_network, seed):
    net = kl_network
    site_xy = _random_points(net, 12, seed)
    res_xy = _random_points(net, 400, seed + 100)
    # put a few residents on the same edges as sites, to exercise the along-edge path
    res_xy[:12] = site_xy + 3.0
    ss, rs = net.snap(site_xy), net.snap(res_xy)
    dist, site = nearest_sites(net, site_graph(net, ss), rs)
    ref = reference_distances(net, ss, rs)
    finite = np.isfinite(ref)
    assert (np.isfinite(dist) == finite).all()
    np.testing.assert_allclose(dist[finite], ref[finite], atol=1e-6)
    # the reported nearest site really is at that distance
    single = np.array(
        [nearest_sites(net, site_graph(net, ss), rs, sites=[j])[0][i] if j >= 0 else np.inf
         for i, j in enumerate(site)]
    )  # fmt: skip
    np.testing.assert_allclose(single[finite], dist[finite], atol=1e-6)


def test_distances_match_networkx_helsinki(helsinki_pbf):
    from accessibility.core.network import load_network

    net = load_network(helsinki_pbf)
    ss, rs = net.snap(_random_points(net, 8, 7)), net.snap(_random_points(net, 300, 8))
    dist, _ = nearest_sites(net, site_graph(net, ss), rs)
    ref = reference_distances(net, ss, rs)
    finite = np.isfinite(ref)
    np.testing.assert_allclose(dist[finite], ref[finite], atol=1e-6)


def test_subset_and_limit(kl_network):
    net = kl_network
    ss, rs = net.snap(_random_points(net, 10, 11)), net.snap(_random_points(net, 300, 12))
    sg = site_graph(net, ss)
    d_all, _ = nearest_sites(net, sg, rs)
    d_half, _ = nearest_sites(net, sg, rs, sites=np.arange(5))
    assert (d_all <= d_half + 1e-9).all()  # more sites never lengthen a walk
    d_lim, s_lim = nearest_sites(net, sg, rs, limit=800.0)
    within = d_all <= 800.0
    np.testing.assert_allclose(d_lim[within], d_all[within])
    assert np.isinf(d_lim[~within]).all() and (s_lim[~within] == -1).all()


def test_all_is_the_minimum_over_categories(kl_network):
    from accessibility.core.routing import nearest_by_category

    net = kl_network
    ss, rs = net.snap(_random_points(net, 15, 21)), net.snap(_random_points(net, 500, 22))
    cat = np.array(["a", "b", "c"] * 5)
    sg = site_graph(net, ss)
    got = nearest_by_category(net, sg, rs, cat, ["a", "b", "c", "empty"])
    d_all, s_all = nearest_sites(net, sg, rs)
    np.testing.assert_array_equal(got["all"][0], d_all)
    # the reported site is at that distance (ties may pick another site at equal distance)
    single = np.array(
        [nearest_sites(net, sg, rs, sites=[j])[0][i] for i, j in enumerate(got["all"][1])]
    )
    np.testing.assert_allclose(single, d_all, atol=1e-9)
    assert np.isinf(got["empty"][0]).all() and (got["empty"][1] == -1).all()


@pytest.fixture(scope="module")
def malta_network():
    from accessibility.config import shared_data_dir
    from accessibility.core.network import load_network

    path = shared_data_dir() / "extracts" / "malta-2016-11.osm.pbf"
    if not path.exists():
        pytest.skip(f"Malta extract not found at {path}")
    return load_network(path)


def test_island_pruning_matches_networkx_on_malta(malta_network):
    """Malta has hundreds of islands: points next to them snap onto the kept network."""
    net = malta_network
    kept = reference_kept_edges(net, net.min_component)
    np.testing.assert_array_equal(net.kept_edges(), kept)
    p = net.pruning()
    assert p["edges_pruned"] == int((~kept).sum()) > 0 and p["components_pruned"] > 0
    # points 1 m beside island edges, and random points
    rng = np.random.default_rng(5)
    isl = rng.choice(np.flatnonzero(~kept), 40, replace=False)
    mid = (net.node_xy[net.u[isl]] + net.node_xy[net.v[isl]]) / 2 + 1.0
    xy = np.vstack([mid, _random_points(net, 60, 6)])
    snap = net.snap(xy)
    assert kept[snap.edge].all()
    assert snap.island[:40].sum() >= 35  # (a few lie nearer a kept edge than their island)
    np.testing.assert_allclose(snap.access, reference_access(net, xy, net.min_component), atol=1e-6)
    # door-to-door distances equal the networkx reference to the micrometre
    ss, rs = net.snap(_random_points(net, 10, 7)), snap
    dist, _ = nearest_sites(net, site_graph(net, ss), rs)
    ref = reference_distances(net, ss, rs)
    assert (np.isfinite(dist) == np.isfinite(ref)).all()
    fin = np.isfinite(ref)
    assert fin.mean() > 0.9  # pruning leaves nobody on an island
    np.testing.assert_allclose(dist[fin], ref[fin], atol=1e-6)
    # a lower threshold keeps more components
    assert net.set_min_component(2).kept_edges().sum() > kept.sum()
    net.set_min_component(40)

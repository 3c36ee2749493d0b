"""Isochrone polygons on real Kaiserslautern data: exact reach, nesting, residents inside."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from accessibility.core import isochrones as iso
from accessibility.core.analysis import metres_per_minute
from accessibility.core.network import Snap
from accessibility.core.routing import nearest_sites, site_graph

MINUTES = (5.0, 10.0, 15.0)


@pytest.fixture(scope="module")
def kl_analysis(kl_osm, kl_zensus):
    from accessibility.pipeline import load_inputs, run

    inputs = load_inputs(network=kl_osm, population=[kl_zensus])
    return run(inputs, minutes=MINUTES)


@pytest.fixture(scope="module")
def kl_iso(kl_analysis):
    return iso.from_analysis(kl_analysis)


def test_reached_intervals_match_independent_distances(kl_analysis):
    """A point on an edge is inside a reached interval iff its network distance ≤ T.

    The distance of each sample point comes from ``routing.nearest_sites`` (the core's
    door-to-door computation, cross-checked against networkx in test_routing), with the
    sample point as a "resident" on the edge with no access leg.
    """
    a = kl_analysis
    net = a.network
    sg = site_graph(net, a.site_snap)
    rng = np.random.default_rng(4)
    e = rng.integers(0, net.n_edges, 40_000)
    t = rng.random(len(e))
    pt = net.node_xy[net.u[e]] + (net.node_xy[net.v[e]] - net.node_xy[net.u[e]]) * t[:, None]
    samples = Snap(edge=e, t=t, point=pt, access=np.zeros(len(e)))
    mpm = metres_per_minute(a.speed_kmh)
    dist = iso.site_distances(sg, limit=max(MINUTES) * mpm)
    pos = t * net.length[e]
    checked = 0
    for i in (0, len(a.sites) // 2, len(a.sites) - 1):
        d, _ = nearest_sites(net, sg, samples, sites=np.array([i]))
        for m in MINUTES:
            budget = m * mpm
            p = iso.reached_pieces(net, dist[i], a.site_snap, np.array([i]), budget)
            # is each sample inside one of its edge's intervals?
            inside = np.zeros(len(e), bool)
            pe = p["edge"].to_numpy()
            order = np.argsort(pe, kind="stable")
            lo = np.searchsorted(pe[order], e, side="left")
            hi = np.searchsorted(pe[order], e, side="right")
            for j in range(int((hi - lo).max(initial=0))):
                has = lo + j < hi
                k = order[np.minimum(lo + j, len(order) - 1)]
                s0 = p["start_m"].to_numpy()[k]
                s1 = p["end_m"].to_numpy()[k]
                inside |= has & (pos >= s0 - 1e-6) & (pos <= s1 + 1e-6)
            clear = np.abs(d - budget) > 1e-6  # skip points exactly on the boundary
            assert (inside[clear] == (d[clear] <= budget)).all(), (i, m)
            checked += int((d <= budget).sum())
    assert checked > 1000  # the check covered many reached points


def test_bands_nest_and_residents_lie_inside(kl_analysis, kl_iso):
    a = kl_analysis
    g = kl_iso
    assert set(g["kind"]) == {"site", "category"}
    assert {"all", *a.sites["category"]} <= set(g["category"])
    for _, part in g.groupby(["kind", "site_id", "category"]):
        geoms = part.sort_values("minutes").geometry.to_numpy()
        for small, large in zip(geoms[:-1], geoms[1:], strict=True):
            # nested up to floating-point noise of the overlay (< 0.01 m² in km² polygons)
            assert shapely.area(shapely.difference(small, large)) < 1e-2
            assert shapely.area(small) <= shapely.area(large)
    # every resident with minutes ≤ t lies within the t band up to its access leg
    res = a.residents
    for c in a.categories:
        mins = res[f"minutes_{c}"].to_numpy(float)
        for m in MINUTES:
            poly = g[(g["kind"] == "category") & (g["category"] == c) & (g["minutes"] == m)]
            geom = poly.geometry.iloc[0]
            inside = mins <= m
            if not inside.any():
                continue
            dist = shapely.distance(geom, res.geometry.to_numpy()[inside])
            assert (dist <= res["access_m"].to_numpy()[inside] + 1e-6).all(), (c, m)
            # and those further away than the largest band plus corridor are outside
    far = ~(res["minutes_all"].to_numpy(float) <= max(MINUTES) + 30)
    big = g[(g["kind"] == "category") & (g["category"] == "all")].geometry.iloc[0]
    assert not shapely.contains_xy(big, *a.resident_snap.point[far].T).any()


def test_category_union_equals_direct_multi_source(kl_analysis, kl_iso):
    """Union of per-site polygons (associativity) == polygon built from min node distances.

    Equal up to the polygonal approximation of the corridor's round caps/joins: the two ways
    merge pieces into different chains, so arcs are approximated at different vertices; the
    chord error is at most corridor × (1 − cos(π / (4 · quad_segs))) along the boundary.
    """
    chord = iso.CORRIDOR_M * (1 - np.cos(np.pi / (4 * iso.QUAD_SEGS)))
    a = kl_analysis
    direct = iso.from_analysis(a, per_site=False)
    cat = kl_iso[kl_iso["kind"] == "category"].reset_index(drop=True)
    assert len(direct) == len(cat)
    for g1, g2 in zip(direct.geometry, cat.geometry, strict=True):
        if g1.is_empty:
            assert g2.is_empty
            continue
        sym = shapely.area(shapely.symmetric_difference(g1, g2))
        assert sym <= chord * shapely.length(g1)
        assert sym < 1e-4 * shapely.area(g1)


def test_polygons_follow_network_with_holes(kl_analysis, kl_iso):
    g = kl_iso[(kl_iso["kind"] == "category") & (kl_iso["category"] == "all")]
    big = g.sort_values("minutes").geometry.iloc[-1]
    assert shapely.area(big) < 0.8 * shapely.area(shapely.convex_hull(big))
    rings = [r for p in shapely.get_parts(big) for r in p.interiors]
    assert rings, "unreached blocks should stay holes"
    assert min(shapely.area(shapely.Polygon(r)) for r in rings) >= iso.MIN_HOLE_M2
    # area bounded by the reached length × corridor width (plus the caps)
    assert shapely.is_valid(big)


def test_unreachable_category_gives_empty_polygon(kl_analysis):
    a = kl_analysis
    g = iso.isochrones(a.network, a.sites, a.site_snap, [5], a.speed_kmh,
                       categories=["nothing_here"], per_site=False)  # fmt: skip
    row = g[g["category"] == "nothing_here"]
    assert len(row) == 1 and row.geometry.iloc[0].is_empty and row["area_m2"].iloc[0] == 0


def test_isochrones_gpkg_is_one_multipolygon_layer_with_empty_bands(kl_analysis, tmp_path):
    """Issue 12: an empty band (a category without sites) is an empty MultiPolygon row, not a
    GeometryCollection that makes the layer's type "Unknown" in QGIS."""
    import geopandas as gpd
    import pyogrio

    from accessibility._io import write_gpkg

    a = kl_analysis
    g = iso.isochrones(a.network, a.sites, a.site_snap, [5, 10], a.speed_kmh,
                       categories=["library", "nothing_here"], per_site=False)  # fmt: skip
    assert {"Polygon", "MultiPolygon"} & set(g.geom_type) and g.geometry.is_empty.any()
    path = write_gpkg(g, tmp_path / "isochrones.gpkg", layer="isochrones", crs=a.network.crs)
    info = pyogrio.read_info(path)
    assert info["geometry_type"] == "MultiPolygon" and info["crs"] == a.network.crs
    back = gpd.read_file(path)
    assert len(back) == len(g) and set(back.geom_type) == {"MultiPolygon"}
    empty = back[back["category"] == "nothing_here"]
    assert len(empty) == 2 and empty.geometry.is_empty.all() and (empty["area_m2"] == 0).all()
    # the same areas as before writing
    np.testing.assert_allclose(back.area, g.area, rtol=1e-9)


def test_blocks_enclosed_by_reached_streets_are_filled(kl_analysis, kl_iso):
    """Holes stay only where a block is not reachable all round (issue 4)."""
    a = kl_analysis
    net = a.network
    g = kl_iso[(kl_iso["kind"] == "category") & (kl_iso["category"] == "all")]
    band = g.sort_values("minutes").iloc[-1]
    mpm = a.speed_kmh * 1000 / 60
    sg = site_graph(net, a.site_snap)
    nd = iso.site_distances(sg, limit=band["minutes"] * mpm).min(axis=0)
    pieces = iso.reached_pieces(
        net, nd, a.site_snap, np.arange(len(a.sites)), band["minutes"] * mpm
    )
    # the blocks: faces of the fully reached edges (their points lie off every street)
    e = pieces["edge"].to_numpy()
    full = np.isclose(pieces["start_m"], 0) & np.isclose(pieces["end_m"], net.length[e])
    faces = shapely.get_parts(shapely.polygonize(net.edge_lines()[np.unique(e[full])]))
    big = faces[shapely.area(faces) > 4 * 60 * 60]  # wider than two corridors: a hole before
    assert len(big) > 20
    inside = shapely.area(shapely.intersection(big, band.geometry)) / shapely.area(big)
    assert inside.min() > 0.999
    # without the fill the corridor alone leaves (most of) them open: the test can fail
    lace = iso.corridor_polygon(iso.pieces_to_lines(net, pieces))
    open_ = shapely.area(shapely.intersection(big, lace)) / shapely.area(big)
    assert (open_ < 0.99).mean() > 0.5

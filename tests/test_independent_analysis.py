"""District membership, the overlap warning and the "nothing in reach" errors, by hand (issue 18).

District polygons and resident points are drawn in EPSG:25832 so that which point lies in
which district, and how much two districts overlap (m²), can be read off the coordinates.
The errors raised when no resident or no site can be snapped are compared word for word:
they tell the user what to change (``--max-access`` or the input's area / CRS).
"""

from __future__ import annotations

import re
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from accessibility.core.analysis import OUTSIDE_DISTRICTS, analyze, district_members
from accessibility.core.network import Network
from accessibility.errors import AccessibilityWarning, AllRejectedError
from accessibility.rejects import Rejects

X0, Y0 = 410_000.0, 5_480_000.0  # EPSG:25832


def _districts(boxes: dict) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"district": list(boxes)},
        geometry=[shapely.box(X0 + a, Y0 + b, X0 + c, Y0 + d) for a, b, c, d in boxes.values()],
        crs="EPSG:25832",
    )


def _points(xy) -> gpd.GeoDataFrame:
    xy = np.asarray(xy, dtype=float)
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(X0 + xy[:, 0], Y0 + xy[:, 1]),
                            crs="EPSG:25832")  # fmt: skip


def test_district_members_and_the_overlap_warning():
    """Each point in every district it lies in (file order), else outside; overlaps > 1 m² warned."""
    d = _districts({
        "A": (0, 0, 100, 100),
        "B": (100, 0, 200, 100),  # touches A along x = 100: no overlap
        "C": (150, 0, 250, 100),  # overlaps B by 50 m × 100 m
        "D": (249.99, 0, 350, 50),  # overlaps C by 0.5 m²: below the warning's 1 m²
        "E": (349, 0, 360, 1),  # overlaps D by exactly 1 m²: not more than 1 m², no warning
        "F": (348.5, 40, 351, 41),  # overlaps D by 1.5 m²: warned
    })  # fmt: skip
    pts = _points([(50, 50), (120, 50), (170, 50), (500, 50), (220, 50), (300, 20), (355, 0.5)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = district_members(pts, d)
    msgs = [str(w.message) for w in caught if issubclass(w.category, AccessibilityWarning)]
    assert len(msgs) == 1 and msgs[0] in [
        f"2 pairs of districts overlap ({p}); a resident in an overlap counts in each of its "
        "districts, so district totals add up to more than the whole"
        for p in ("'B' & 'C', 'D' & 'F'", "'D' & 'F', 'B' & 'C'")
    ]
    want = pd.DataFrame({
        "resident": [0, 1, 2, 2, 3, 4, 5, 6],
        "district": ["A", "B", "B", "C", OUTSIDE_DISTRICTS, "C", "D", "E"],
    })  # fmt: skip
    pd.testing.assert_frame_equal(m, want)
    assert m["resident"].dtype == np.int64
    # file order decides the order within a point: C listed before B
    with pytest.warns(AccessibilityWarning, match=r"\('C' & 'B'\)"):
        m2 = district_members(pts.iloc[[2]], d.iloc[[2, 1]])
    assert m2["district"].tolist() == ["C", "B"]


def test_a_point_on_a_border_counts_once_in_the_first_district():
    """On the shared border x = 100 of A and B, and on B's outer corner: in the first district
    of the file order (once), not outside and not in both."""
    d = _districts({"A": (0, 0, 100, 100), "B": (100, 0, 200, 100)})
    m = district_members(_points([(100, 50), (200, 100), (150, 50), (201, 50)]), d)
    assert m["resident"].tolist() == [0, 1, 2, 3]
    assert m["district"].tolist() == ["A", "B", "B", OUTSIDE_DISTRICTS]
    m = district_members(_points([(100, 50)]), d.iloc[[1, 0]])  # file order decides
    assert m["district"].tolist() == ["B"]


def test_overlap_warning_names_ten_pairs_and_counts_the_rest():
    """Twenty copies of one square: 190 pairs, ten named (as text), the rest counted."""
    d = gpd.GeoDataFrame(
        {"district": list(range(1, 21))},
        geometry=[shapely.box(X0, Y0, X0 + 10, Y0 + 10)] * 20,
        crs="EPSG:25832",
    )
    with pytest.warns(AccessibilityWarning) as rec:
        m = district_members(_points([(20, 5), (5, 5), (6, 6)]), d)
    msg = str(rec[0].message)
    head, rest = msg.split(" and 180 more); ")
    assert head.startswith("190 pairs of districts overlap (")
    named = head.removeprefix("190 pairs of districts overlap (").split(", ")
    assert len(named) == len(set(named)) == 10  # as text: '1' & '2', in the tree's order
    assert all(re.fullmatch(r"'(\d+)' & '(\d+)'", p) for p in named)
    assert all(int(a) < int(b) for a, b in (re.findall(r"\d+", p) for p in named))
    assert rest.startswith("a resident in an overlap counts in each of its districts")
    # sorted by resident, each resident's districts in file order (a stable sort)
    assert m["resident"].tolist() == [0] + [1] * 20 + [2] * 20
    assert m["district"].tolist() == [OUTSIDE_DISTRICTS] + list(range(1, 21)) * 2


def test_a_district_is_its_polygon_not_its_bounding_box():
    """A triangle: a point inside its bounding box but outside the triangle is in no district."""
    tri = gpd.GeoDataFrame(
        {"district": ["T"]},
        geometry=[shapely.Polygon([(X0, Y0), (X0 + 100, Y0), (X0, Y0 + 100)])],
        crs="EPSG:25832",
    )
    m = district_members(_points([(80, 80), (20, 20)]), tri)
    assert m["district"].tolist() == [OUTSIDE_DISTRICTS, "T"]


def _line(n: int = 11, step: float = 100.0) -> Network:
    xy = np.column_stack([X0 + step * np.arange(n), np.full(n, Y0)])
    u = np.arange(n - 1, dtype=np.int32)
    return Network(
        crs="EPSG:25832", node_xy=xy, node_osmid=np.arange(1, n + 1, dtype=np.int64),
        u=u, v=u + 1, length=np.full(n - 1, step), way_id=np.ones(n - 1, np.int64),
    )  # fmt: skip


def _sites(xy) -> gpd.GeoDataFrame:
    n = len(xy)
    g = _points(xy)
    for k, v in {"site_id": [f"s{i}" for i in range(n)], "name": [f"S{i}" for i in range(n)],
                 "category": ["library"] * n, "source": ["sites.csv"] * n}.items():  # fmt: skip
        g[k] = v
    return g


def _residents(xy) -> gpd.GeoDataFrame:
    g = _points(xy)
    g["pid"] = [f"r{i}" for i in range(len(g))]
    g["population"] = 1.0
    g.attrs.update(groups=[], files=["res.csv"])
    return g


def test_speed_and_island_threshold_reach_the_run_parameters():
    """--speed sets the minutes; the network's island threshold wins over the parameters'."""
    from accessibility.core.analysis import metres_per_minute
    from accessibility.params import WalkParams

    net = _line().set_min_component(3)
    sites, res = _sites([(0, 0)]), _residents([(600, 0)])
    a = analyze(net, sites, res, speed_kmh=3.0)
    assert a.params.speed_kmh == 3.0 and a.params.min_component == 3
    assert a.residents["minutes_all"].tolist() == [600 / 50]
    p = WalkParams(minutes=(5, 12), speed_kmh=6.0, max_access_m=500.0, min_component=40)
    b = analyze(net, sites, res, params=p)
    assert b.params.min_component == 3 and b.params.speed_kmh == 6.0
    assert b.params.minutes == (5, 12) and b.residents["minutes_all"].tolist() == [6.0]
    for bad in (np.inf, np.nan):
        with pytest.raises(Exception, match="walking speed must be positive"):
            metres_per_minute(bad)


def test_nothing_in_reach_says_what_to_change():
    """Inside the network's area but beyond --max-access: raise it; outside the area: check CRS."""
    net = _line()  # x 0-1000 m, y 0
    sites = _sites([(100, 0)])
    # 600 m off the street, inside the area grown by max(--max-access, 1000 m)
    near = _residents([(500, 600), (500, -600), (200, 999)])
    with pytest.raises(AllRejectedError) as err:
        analyze(net, sites, near, max_access_m=500)
    assert str(err.value).endswith(
        "no resident point has a walkable edge within --max-access 500 m although 3 lie in the "
        "network's area; raise --max-access (e.g. the default 500 m) or check the coordinates"
    )
    assert err.value.file == "res.csv"
    # a larger --max-access grows the area checked: 1050 m beyond both ends of the box is
    # inside with 1100 m (the walk there is 1485 m, too far)
    far = _residents([(-1050, 1050)])
    with pytest.raises(AllRejectedError) as err:
        analyze(net, sites, far, max_access_m=1100)
    assert "no resident point has a walkable edge within --max-access 1,100 m although 1 lie" in (
        str(err.value)
    )
    # 1000 m beyond the nodes' box (the smallest margin) is still the area; 1001 m is not
    edge = _residents([(-1000, 0.0 + 1000)])
    with pytest.raises(AllRejectedError, match="although 1 lie in the network's area"):
        analyze(net, sites, edge, max_access_m=10)
    away = _residents([(-1001, 0), (2001, 0), (500, 1001), (500, -1001)])
    with pytest.raises(AllRejectedError) as err:
        analyze(net, sites, away, max_access_m=10)
    assert str(err.value).endswith(
        "no resident point lies within reach of the walking network: the input and the network "
        "do not overlap (different area, swapped lat/lon or wrong CRS?)"
    )
    # the same for the sites, and for an input without usable rows
    with pytest.raises(AllRejectedError) as err:
        analyze(net, _sites([(500, 700)]), _residents([(100, 0)]), max_access_m=500)
    assert "no site has a walkable edge within --max-access 500 m although 1 lie in" in str(
        err.value
    )
    with pytest.raises(AllRejectedError) as err:
        analyze(net, sites, _residents(np.zeros((0, 2))))
    assert str(err.value).endswith(
        "there is no resident point to use (the input has no usable rows)"
    )


def test_island_counts_of_the_run_report():
    """A 2-node island above the street: who snapped off it, who was rejected near it."""
    main = _line()  # x 0-1000 m at y 0; 11 nodes
    xy = np.vstack([main.node_xy, [[X0 + 500, Y0 + 800], [X0 + 600, Y0 + 800]]])
    u = np.r_[main.u, 11].astype(np.int32)
    v = np.r_[main.v, 12].astype(np.int32)
    net = Network(
        crs="EPSG:25832", node_xy=xy, node_osmid=np.arange(1, 14, dtype=np.int64), u=u, v=v,
        length=np.hypot(*(xy[v] - xy[u]).T), way_id=np.ones(len(u), np.int64),
    ).set_min_component(3)  # fmt: skip
    # site 1: 350 m from the island, 450 m from the street: snaps onto the street, off the island
    sites = _sites([(0, 0), (550, 450)])
    # r0: 5 m below the island, 795 m from the street: rejected near the island (inside the
    # network's area); r1, r2: on the street; r3: 300 m from the island, 500 m from the street
    # r4: far beyond the extract, on the street's side (its nearest edge is no island)
    res = _residents([(550, 795), (100, 0), (900, 5), (550, 500), (550, -5000)])
    res["population"] = [1.0, 2.0, 4.0, 8.0, 16.0]
    rej = Rejects()
    a = analyze(net, sites, res, max_access_m=500, rejects=rej)
    p = a.pruning
    assert p["sites_off_islands"] == 1 and p["sites_rejected_near_islands"] == 0
    assert p["resident_points_off_islands"] == 1 and p["residents_off_islands"] == 8.0
    assert p["resident_points_rejected_near_islands"] == 1
    assert p["components"] == 2 and p["components_pruned"] == 1 and p["edges_pruned"] == 1
    f = rej.frame()
    assert f["reason"].tolist() == [
        "resident point has no walkable edge of the connected network within 500 m: its nearest "
        "way is an island of fewer than 3 nodes (not linked to the streets in OSM); lower "
        "--min-component or fix the OSM data",
        "resident point lies outside the area covered by the network (beyond the edge of the "
        "OSM extract, or wrong coordinates/CRS); give a larger network to include it",
    ]
    assert f["value"].tolist() == [
        "r0 (795 m from the nearest walkable edge)",
        "r4 (5,000 m from the nearest walkable edge)",
    ]

"""Spreading 1 km cells over buildings and streets, worked out by hand (issue 18).

A row of 1 km cells (EPSG:3035) with one case each: a cell with a residential building,
one with a residential street (and a through road that must be ignored), one with a
through road only, one with nothing in it, one beyond the network and one without
residents. The street runs are recomputed here with a plain loop from the documented
rule (a piece belongs to run floor(middle / 100 m) along its way in the cell; the piece
nearest the run's middle stands for it), and the clipped pieces from shapely. The
real Rhein-Neckar spread is checked in ``tests/test_grids.py``.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from accessibility.errors import InputError
from accessibility.inputs.buildings import assumptions
from accessibility.inputs.spread import (
    RESIDENTIAL_STREETS,
    STREET_POINT_SPACING_M,
    merge_pieces,
    spread_cells,
    street_pieces,
)
from accessibility.rejects import Rejects

OX, OY = 4_200_000.0, 2_910_000.0  # lower-left corner of cell 0, EPSG:3035
TO_LL = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)

#: residential way 100 through cell B (x 1000-2000) at y = 500, nodes at irregular steps
R_X = [1010, 1030, 1090, 1170, 1240, 1330, 1400, 1520, 1600, 1700, 1760, 1880, 1990]


def _nodes(points: dict[int, tuple[float, float]]) -> pd.DataFrame:
    ids = list(points)
    x = np.array([points[i][0] for i in ids]) + OX
    y = np.array([points[i][1] for i in ids]) + OY
    lon, lat = TO_LL.transform(x, y)
    return pd.DataFrame({"osmid": ids, "lon": lon, "lat": lat})


def _network():
    pts = {1000 + k: (x, 500.0) for k, x in enumerate(R_X)}
    pts |= {2001: (1100.0, 800.0), 2002: (1300.0, 800.0)}  # tertiary in B
    pts |= {3001: (2100.0, 100.0), 3002: (2500.0, 400.0), 3003: (2900.0, 700.0)}  # tertiary in C
    pts |= {9001: (5500.0, 900.0), 9002: (50.0, 50.0)}  # hull: from cell A to cell 5
    segs = [(1000 + k, 1001 + k, 100, "residential") for k in range(len(R_X) - 1)]
    segs += [(2001, 2002, 200, "tertiary"), (3001, 3002, 300, "tertiary"),
             (3002, 3003, 300, "tertiary"), (424242, 1003, 500, "residential")]  # fmt: skip
    seg = pd.DataFrame(segs, columns=["u", "v", "way_id", "highway"])
    return seg, _nodes(pts)


def _cells() -> gpd.GeoDataFrame:
    # A B C D F (empty) and E far away; midpoints of 1 km cells
    i = np.array([0, 1, 2, 3, 4, 20])
    g = gpd.GeoDataFrame(
        {"pid": ["A", "B", "C", "D", "F", "E"], "row": [1, 2, 3, 4, 5, 6],
         "population": [100.0, 250.0, 40.0, 7.0, 0.0, 3.0], "kids": [10.0, 50.0, 4.0, 1.0, 0.0, 0.0]},
        geometry=gpd.points_from_xy(OX + 500 + 1000 * i, np.full(len(i), OY + 500)),
        crs="EPSG:3035",
    )  # fmt: skip
    g.attrs.update(groups=["kids"], cell_size_m=1000, files=["grid.csv", "alter.csv"],
                   population_file="grid.csv", method="Zensus 1 km grid (grid.csv).")  # fmt: skip
    # A (the building cell) last: the output must follow the cells, stably, although the
    # building points are found before the street points
    return g.iloc[[1, 2, 3, 4, 5, 0]]


def _buildings() -> gpd.GeoDataFrame:
    """Cell A: 21 equal houses (10 m × 10 m, 2 storeys) and a building=yes on industrial ground."""
    boxes = [shapely.box(OX + x, OY + y, OX + x + 10, OY + y + 10)
             for x in range(100, 800, 100) for y in (100, 300, 500)]  # fmt: skip
    n = len(boxes)
    g = gpd.GeoDataFrame(
        {"osm_type": ["way"] * (n + 1), "osm_id": list(range(1, n + 2)),
         "building": ["house"] * n + ["yes"], "levels": [2.0] * (n + 1), "tags": [{}] * (n + 1)},
        geometry=[*boxes, shapely.box(OX + 900, OY + 900, OX + 990, OY + 990)], crs="EPSG:3035",
    ).to_crs("EPSG:4326")  # fmt: skip
    g.attrs["source"] = "area.osm.pbf"
    return g


def _works() -> gpd.GeoDataFrame:
    """Industrial ground under the building=yes of cell A."""
    return gpd.GeoDataFrame(
        {"tags": [{"landuse": "industrial"}]},
        geometry=[shapely.box(OX + 890, OY + 890, OX + 999, OY + 999)], crs="EPSG:3035",
    ).to_crs("EPSG:4326")  # fmt: skip


def _runs(pieces: list[tuple[int, float, float]]) -> list[tuple[int, float, float]]:
    """(segment, length, x of middle) per piece of one way in one cell, in way order →
    (segment standing for the run, run length, its x), by the documented rule."""
    runs: dict[int, list] = {}
    pos = 0.0
    for seg, length, x in pieces:
        mid = pos + length / 2
        runs.setdefault(math.floor(mid / STREET_POINT_SPACING_M), []).append(
            (seg, length, x, pos, mid)
        )
        pos += length
    out = []
    for _, ps in sorted(runs.items()):
        start, total = min(p[3] for p in ps), sum(p[1] for p in ps)
        best = min(ps, key=lambda p: abs(p[4] - (start + total / 2)))  # first on a tie
        out.append((best[0], total, best[2]))
    return out


def test_spread_cells_every_case_by_hand():
    seg, nodes = _network()
    cells = _cells()
    rej = Rejects()
    out = spread_cells(cells, _buildings(), seg, nodes, rej, areas=_works())
    assert out.crs.to_epsg() == 3035
    assert list(out.columns) == ["pid", "population", "kids", "cell_id", "spread", "geometry"]
    # A: onto its 21 equal houses, in building order; not onto the building on industrial ground
    a = out[out["cell_id"] == "A"]
    assert a["pid"].tolist() == [f"A/way/{i}" for i in range(1, 22)]
    assert (a["spread"] == "buildings").all()
    np.testing.assert_allclose(a[["population", "kids"]].to_numpy(), [[100 / 21, 10 / 21]] * 21)
    # B: along the residential way only (the tertiary road in B is ignored)
    pieces = [(k, R_X[k + 1] - R_X[k], (R_X[k] + R_X[k + 1]) / 2) for k in range(len(R_X) - 1)]
    runs = _runs(pieces)
    b = out[out["cell_id"] == "B"]
    assert b["pid"].tolist() == [f"B/way/100/{s}" for s, _, _ in runs]
    assert (b["spread"] == "residential streets").all()
    np.testing.assert_allclose(b["population"], [250 * w / 980 for _, w, _ in runs], rtol=1e-9)
    np.testing.assert_allclose(b["kids"], [50 * w / 980 for _, w, _ in runs], rtol=1e-9)
    np.testing.assert_allclose(shapely.get_x(b.geometry.to_numpy()) - OX, [x for *_, x in runs],
                               atol=1e-3)  # fmt: skip
    np.testing.assert_allclose(shapely.get_y(b.geometry.to_numpy()) - OY, 500.0, atol=1e-3)
    assert len(runs) == 10  # 980 m of street in runs of about 100 m
    # C: a through road only, two segments of 500 m: one point each, half the residents
    c = out[out["cell_id"] == "C"]
    assert c["pid"].tolist() == ["C/way/300/13", "C/way/300/14"]
    assert (c["spread"] == "walkable streets").all()
    np.testing.assert_allclose(c[["population", "kids"]].to_numpy(), [[20, 2], [20, 2]])
    np.testing.assert_allclose(shapely.get_coordinates(c.geometry.to_numpy()) - [OX, OY],
                               [[2300, 250], [2700, 550]], atol=1e-3)  # fmt: skip
    # the output follows the cells; D, E are rejected and F (no residents) is left out
    assert out["cell_id"].tolist() == ["B"] * len(runs) + ["C", "C"] + ["A"] * 21
    f = rej.frame()
    assert sorted(zip(f["file"], f["row"].astype(int), f["reason"], f["value"], strict=True)) == [
        ("grid.csv", 4, "the 1 km cell holds no residential building and no walkable street: "
         "its residents are not placed", "D (7 residents)"),
        ("grid.csv", 6, "the 1 km cell lies outside the area covered by the network (convex "
         "hull of the OSM extract's walkable ways): its residents are not placed",
         "E (3 residents)"),
    ]  # fmt: skip
    n = out.attrs["spread"]
    assert n == {
        "cells": 6, "cells_on_buildings": 1, "cells_on_residential_streets": 1,
        "cells_on_walkable_streets": 1, "cells_rejected": 2, "residents_rejected": 10.0,
        "cells_empty": 1, "buildings_used": 21, "street_points": len(runs) + 2,
        "street_point_spacing_m": 100.0, "residential_streets": ["living_street", "residential"],
    }  # fmt: skip
    at = out.attrs
    assert at["kind"] == "zensus_grid_spread" and at["groups"] == ["kids"]
    assert at["cell_size_m"] == 1000 and isinstance(at["cell_size_m"], int)
    assert at["files"] == ["grid.csv", "alter.csv", "area.osm.pbf"]
    assert at["population_file"] == "grid.csv" and at["assumptions"] == assumptions()
    assert at["method"] == (
        "Zensus 1 km grid (grid.csv). Each 1 km cell's residents and groups are spread over "
        "the places people live in it, keeping each cell's total: onto residential OSM "
        "buildings by footprint area × storeys (1 cells); where the cell has none, along "
        "residential streets (highway=living_street/residential) by length, one point on the "
        "street per 100 m of each way in the cell (1 cells); where it has none of these, along "
        "any walkable street by length (1 cells). 2 cells (10 residents) have nothing to "
        "spread onto and are rejected (rejects.csv)."
    )
    assert cells.attrs["method"] == "Zensus 1 km grid (grid.csv)."  # input left alone
    # totals kept per placed cell
    tot = out.groupby("cell_id")[["population", "kids"]].sum()
    placed = cells.set_index("pid").loc[["A", "B", "C"], ["population", "kids"]]
    np.testing.assert_allclose(tot.loc[placed.index].to_numpy(), placed.to_numpy(), rtol=1e-12)


def test_spread_cells_without_buildings_sizes_and_errors():
    """No buildings: A is rejected; other cell sizes; no network; bad CRS or size refused."""
    seg, nodes = _network()
    cells = _cells()
    out = spread_cells(cells, None, seg, nodes, None)  # no rejects list: nothing recorded
    assert "A" not in set(out["cell_id"]) and out.attrs["files"] == ["grid.csv", "alter.csv"]
    assert out.attrs["spread"]["cells_rejected"] == 3
    assert out.attrs["spread"]["residents_rejected"] == 110.0
    assert "3 cells (110 residents)" in out.attrs["method"]
    # the same with buildings given but empty
    empty_b = _buildings().iloc[:0]
    same = spread_cells(cells, empty_b, seg, nodes, Rejects())
    assert same["pid"].tolist() == out["pid"].tolist()
    # the size from the argument over attrs; without any: an error
    c2 = _cells().drop(columns="row")  # no row numbers: the rejects have none either
    c2.attrs = {"groups": ["kids"]}
    with pytest.raises(InputError, match="the cell size is unknown; pass cell_size_m"):
        spread_cells(c2, None, seg, nodes)
    r = Rejects()
    ok = spread_cells(c2, None, seg, nodes, r, cell_size_m=1000.0)
    assert ok["pid"].tolist() == out["pid"].tolist()
    assert set(r.frame()["file"]) == {"Zensus grid"}  # no file named in the cells' attrs
    assert r.frame()["row"].isna().all() and len(r) == 3
    assert ok.attrs["method"].startswith("Each 1 km cell's residents")
    # 1.5 km cells: the label says so, the size stays a float
    half = spread_cells(_cells(), None, seg, nodes, Rejects(), cell_size_m=1500.0)
    assert half.attrs["cell_size_m"] == 1500 and "Each 1.5 km cell's" in half.attrs["method"]
    small = spread_cells(_cells(), None, seg, nodes, Rejects(), cell_size_m=250.5)
    assert small.attrs["cell_size_m"] == 250.5 and "Each 250.5 m cell's" in small.attrs["method"]
    # groups found by type when attrs do not name them
    c3 = _cells()
    c3.attrs = {"cell_size_m": 1000}
    by_type = spread_cells(c3, _buildings(), seg, nodes)
    assert by_type.attrs["groups"] == ["kids"] and by_type.attrs["files"] == ["area.osm.pbf"]
    # no network nodes at all: every cell lies outside
    r = Rejects()
    none = spread_cells(_cells(), None, seg.iloc[:0], nodes.iloc[:0], r)
    assert len(none) == 0 and none.attrs["spread"]["cells_rejected"] == 5
    assert r.frame()["reason"].str.contains("outside the area covered").all()
    with pytest.raises(InputError, match="projected CRS in metres"):
        spread_cells(_cells().to_crs("EPSG:4326"), None, seg, nodes)


def test_street_pieces_clip_at_cell_borders():
    """Clipped lengths and middles by shapely; shared borders count for both cells."""
    seg, nodes = _network()
    cx = OX + np.array([500.0, 1500.0, 2500.0])
    cy = np.full(3, OY + 500)
    extra = pd.DataFrame(
        [
            (3001, 2001, 600, None),  # (2100, 100) to (1100, 800): crosses from C into B
            (1012, 9001, 700, "living_street"),
        ],  # from B to far east
        columns=["u", "v", "way_id", "highway"],
    )
    segs = pd.concat([seg, extra], ignore_index=True)
    p = street_pieces(cx, cy, 1000.0, segs, nodes, "EPSG:3035")
    assert list(p.columns) == ["cell", "segment", "way_id", "residential", "length_m", "x", "y"]
    xy = {i: (x, y) for i, x, y in zip(nodes["osmid"], *Transformer.from_crs(
        "EPSG:4326", "EPSG:3035", always_xy=True).transform(nodes["lon"], nodes["lat"]),
        strict=True)}  # fmt: skip
    for cell, s, length, x, y in zip(p["cell"], p["segment"], p["length_m"], p["x"], p["y"],
                                     strict=True):  # fmt: skip
        line = shapely.LineString([xy[segs["u"][s]], xy[segs["v"][s]]])
        box = shapely.box(cx[cell] - 500, cy[cell] - 500, cx[cell] + 500, cy[cell] + 500)
        piece = shapely.intersection(line, box)
        assert length == pytest.approx(piece.length, abs=1e-6)
        mid = shapely.line_interpolate_point(piece, 0.5, normalized=True)
        assert (x, y) == pytest.approx((mid.x, mid.y), abs=1e-6)
    got = sorted(zip(p["cell"].tolist(), p["segment"].tolist(), strict=True))
    # the residential way lies in B; the roads from C into B and from B eastwards are split
    # at the border; the segment with an unknown node (15) is left out
    want = sorted([(1, k) for k in range(12)] + [(1, 12), (2, 13), (2, 14), (1, 16), (2, 16),
                                                 (1, 17), (2, 17)])  # fmt: skip
    assert got == want
    res = dict(zip(p["segment"], p["residential"], strict=False))
    assert res[0] and res[17] and not res[12] and not res[16]  # None highway: not residential
    crossing = p[p["segment"] == 16]["length_m"].sum()
    assert crossing == pytest.approx(math.hypot(1000, 700), abs=1e-6)
    assert p["way_id"].tolist() == segs["way_id"].to_numpy()[p["segment"]].tolist()
    # nothing to clip: an empty table with the same columns and types
    for e in (street_pieces(cx, cy, 1000.0, segs.iloc[:0], nodes, "EPSG:3035"),
              street_pieces(cx[:0], cy[:0], 1000.0, segs, nodes, "EPSG:3035")):  # fmt: skip
        assert list(e.columns) == list(p.columns) and len(e) == 0
        assert e["cell"].dtype == np.int64 and e["residential"].dtype == bool
        assert e["way_id"].dtype == np.int64 and e["segment"].dtype == np.int64


def test_merge_pieces_by_the_rule():
    """Runs of about 100 m per (cell, way): lengths summed, the middle piece kept."""
    lengths = [30.0, 60.0, 80.0, 70.0, 90.0, 10.0]
    p = pd.DataFrame({
        "cell": [0] * 6 + [1, 0], "segment": [5, 6, 7, 8, 9, 10, 11, 12],
        "way_id": [1] * 6 + [1, 2], "residential": True, "length_m": lengths + [40.0, 250.0],
        "x": np.arange(8.0), "y": np.zeros(8),
    })  # fmt: skip
    m = merge_pieces(p.iloc[::-1], 100.0)  # the input order does not matter
    want = _runs([(5 + k, w, float(k)) for k, w in enumerate(lengths)])
    got = m[(m["cell"] == 0) & (m["way_id"] == 1)]
    assert list(zip(got["segment"], got["length_m"], got["x"], strict=True)) == want
    assert m[m["way_id"] == 2][["segment", "length_m"]].to_numpy().tolist() == [[12, 250.0]]
    assert m[m["cell"] == 1][["segment", "length_m"]].to_numpy().tolist() == [[11, 40.0]]
    assert list(m.columns) == list(p.columns)
    assert m["cell"].tolist() == sorted(m["cell"]) and m.index.tolist() == list(range(len(m)))
    assert merge_pieces(p.iloc[:0], 100.0).empty
    assert "residential" in RESIDENTIAL_STREETS


def test_street_pieces_on_exact_borders():
    """Exact coordinates (the cells' CRS is the nodes' own, so nothing is reprojected): a
    street touching a cell in one point is no piece of it; one along the border is in both."""
    nodes = pd.DataFrame({"osmid": [1, 2, 3, 4], "lon": [1.0, 1.5, 1.0, 1.0],
                          "lat": [0.25, 0.25, 0.25, 0.625]})  # fmt: skip
    segs = pd.DataFrame({"u": [1, 3], "v": [2, 4], "way_id": [10, 20],
                         "highway": ["residential", "footway"]})  # fmt: skip
    p = street_pieces(np.array([0.5, 1.5]), np.array([0.5, 0.5]), 1.0, segs, nodes, "EPSG:4326")
    got = sorted(zip(p["cell"], p["segment"], p["length_m"], p["x"], p["y"], strict=True))
    assert got == [(0, 1, 0.375, 1.0, 0.4375), (1, 0, 0.5, 1.25, 0.25), (1, 1, 0.375, 1.0, 0.4375)]

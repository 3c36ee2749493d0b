"""Residents from buildings, recomputed by hand building by building (issue 18).

Footprints are squares and rectangles of exact size in the metric CRS the estimate uses
(EPSG:25832 / UTM 32N near Kaiserslautern, EPSG:3035 for the Zensus cells), so each
building's residents (area × storeys × 0.8 ÷ 45 m²) and each cell's shares can be written
down. Every residential rule is exercised once: the building types and their default
storeys, tagged storeys (and bad ones), use tags and non-residential ground on
``building=yes``, rejected geometries, cell edges (half-open squares), empty cells. The
Kaiserslautern comparison with the census lives in ``tests/test_population.py``.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from accessibility.errors import InputError
from accessibility.inputs.buildings import (
    assumptions,
    estimate_from_buildings,
    numeric_groups,
    source_files,
    spread_to_buildings,
)
from accessibility.rejects import Rejects

X0, Y0 = 410_000.0, 5_480_000.0  # EPSG:25832, Kaiserslautern
PER_M2 = 0.8 / 45.0  # persons per m² of gross floor area


def _box(x, y, w, h=None):
    return shapely.box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + (w if h is None else h))


def _buildings(rows, crs="EPSG:25832") -> gpd.GeoDataFrame:
    """rows: (osm id, building, levels, tags, geometry)."""
    return gpd.GeoDataFrame(
        {
            "osm_type": ["way"] * len(rows),
            "osm_id": [r[0] for r in rows],
            "building": [r[1] for r in rows],
            "levels": [r[2] for r in rows],
            "tags": [r[3] for r in rows],
        },
        geometry=[r[4] for r in rows],
        crs=crs,
    )


ROWS = [
    (1, "house", np.nan, {}, _box(0, 0, 10)),  # 100 m² × 2 (house default)
    (2, "apartments", 5.0, {}, _box(20, 0, 10, 20)),  # 200 m² × 5
    (3, "yes", np.nan, {}, _box(40, 0, 10)),  # × 2 (untagged yes)
    (4, "yes", np.nan, {"shop": "bakery"}, _box(60, 0, 10)),  # a shop: not residential
    (5, "bungalow", 0.0, {}, _box(80, 0, 10)),  # 0 storeys: default 1
    (6, "static_caravan", -1.0, {}, _box(100, 0, 5)),  # negative: default 1
    (7, "dormitory", np.nan, {}, _box(120, 0, 10)),  # × 3 (other)
    (8, " Residential ", np.nan, {}, _box(140, 0, 10)),  # case and blanks: × 3
    (9, "garage", 1.0, {}, _box(160, 0, 10)),  # not residential
    (10, "yes", np.nan, {}, _box(500, 500, 10)),  # on industrial ground
    (11, "yes", np.nan, {"amenity": "townhall"}, _box(180, 0, 10)),  # public: not residential
    (12, "house", np.nan, {}, shapely.Polygon()),  # empty geometry: rejected
    (13, "house", np.nan, {}, shapely.Point(X0, Y0)),  # a point: rejected
    (
        14,
        "house",
        np.nan,
        {},
        shapely.Polygon([(X0, Y0), (X0 + 5, Y0), (X0 + 5, Y0), (X0, Y0)]),
    ),  # no area
    (15, "terrace", 2.5, {}, shapely.MultiPolygon([_box(200, 0, 10), _box(215, 0, 6)])),
    (16, "yes", np.nan, None, _box(240, 0, 10)),  # no tags at all: residential
    (17, "farm", np.nan, {}, _box(260, 0, 10)),
    (18, "semidetached_house", np.nan, {}, _box(280, 0, 10)),
    (19, "detached", "3", {}, _box(300, 0, 10)),  # storeys as text
    (20, "yes", np.nan, {}, _box(600, 500, 10)),  # on a school's grounds
    (21, "yes", np.nan, {}, _box(700, 500, 10)),  # on residential land: counted
    (22, "house", np.nan, {}, _box(500, 520, 10)),  # a home on industrial ground counts
    (23, "YES", "two", {"building:levels": "two"}, _box(320, 0, 10)),  # bad storeys: default
]
#: residents per kept building by hand: area × storeys × 0.8 / 45
WANT = {
    1: 100 * 2, 2: 200 * 5, 3: 100 * 2, 5: 100 * 1, 6: 25 * 1, 7: 100 * 3, 8: 100 * 3,
    15: (100 + 36) * 2.5, 16: 100 * 2, 17: 100 * 2, 18: 100 * 2, 19: 100 * 3, 21: 100 * 2,
    22: 100 * 2, 23: 100 * 2,
}  # fmt: skip


#: the documented assumptions (README, module constants), written out
ASSUMPTIONS = {
    "residential_buildings": ["apartments", "bungalow", "detached", "dormitory", "farm", "house",
                              "residential", "semidetached_house", "static_caravan", "terrace"],
    "building_yes_excluded_if_tagged": ["amenity", "craft", "industrial", "office", "shop",
                                        "tourism"],
    "default_levels_house": 2.0,
    "default_levels_single_storey": 1.0,
    "default_levels_other": 3.0,
    "default_levels_untagged_yes": 2.0,
    "building_yes_excluded_on": {
        "landuse": ["commercial", "garages", "industrial", "military", "railway", "retail"],
        "amenity": ["college", "hospital", "parking", "school", "university"],
    },
    "net_to_gross_floor_area": 0.8,
    "living_area_per_resident_m2": 45.0,
}  # fmt: skip


def _areas(crs="EPSG:25832") -> gpd.GeoDataFrame:
    school = shapely.MultiPolygon([_box(550, 450, 100), _box(800, 800, 10)])  # a MultiPolygon
    geoms = [_box(450, 450, 100), school, _box(650, 450, 100),
             shapely.Point(X0 + 700, Y0 + 500), _box(450, 450, 100)]  # fmt: skip
    g = gpd.GeoDataFrame(
        {"tags": [{"landuse": "industrial"}, {"amenity": "school"}, {"landuse": "residential"},
                  {"landuse": "industrial"}, None]},
        geometry=geoms, crs="EPSG:25832",
    )  # fmt: skip
    return g.to_crs(crs)


def test_estimate_from_buildings_by_hand():
    """Every building's residents, rejects, counts and texts, worked out by hand."""
    b = _buildings(ROWS).to_crs("EPSG:4326")
    b.attrs["source"] = "kl.osm.pbf"
    rej = Rejects()
    est = estimate_from_buildings(b, rej, areas=_areas("EPSG:4326"))
    assert est.crs.to_epsg() == 4326
    assert est["pid"].tolist() == [f"way/{i}" for i in WANT]
    # the UTM area of a footprint drawn in EPSG:25832 is its area there (same grid)
    np.testing.assert_allclose(est["population"], [w * PER_M2 for w in WANT.values()], rtol=1e-6)
    assert est["population"].dtype == float
    # the point lies inside its footprint
    feet = b.set_index("osm_id").geometry.loc[list(WANT)].to_numpy()
    assert shapely.within(est.geometry.to_numpy(), feet).all()
    f = rej.frame()
    assert sorted(zip(f["file"], f["reason"], f["value"], strict=True)) == [
        ("kl.osm.pbf", "building footprint has no area", "way/14"),
        ("kl.osm.pbf", "building geometry is empty or not a polygon", "way/12"),
        ("kl.osm.pbf", "building geometry is empty or not a polygon", "way/13"),
    ]
    assert f["row"].isna().all()
    a = est.attrs
    assert a["kind"] == "buildings_estimate" and a["groups"] == []
    assert a["files"] == ["kl.osm.pbf"]
    assert a["buildings_total"] == len(ROWS)
    assert a["buildings_residential"] == len(WANT)
    assert a["buildings_on_non_residential_ground"] == 2  # 10 (industrial) and 20 (school)
    # defaulted storeys: every kept one without a positive number
    assert a["levels_defaulted"] == len(WANT) - 3  # 2, 15 and 19 are tagged
    assert a["assumptions"] == assumptions() == ASSUMPTIONS
    assert a["method"] == (
        "Residents estimated per residential OSM building as footprint area (local UTM) × "
        "storeys (untagged: 2 for houses, 1 for bungalows, 2 for building=yes, 3 for "
        "apartments) × 0.8 net/gross ÷ 45 m² living space per person, placed at a point inside "
        "the footprint; building=yes on industrial, commercial, campus, hospital and similar "
        "ground not counted."
    )
    # without areas the grounds are not looked at; without a source the file is generic
    b.attrs = {}
    rej = Rejects()
    plain = estimate_from_buildings(b, rej)
    assert plain["pid"].tolist() == sorted([f"way/{i}" for i in [*WANT, 10, 20]],
                                           key=lambda p: int(p[4:]))  # fmt: skip
    assert plain.attrs["buildings_on_non_residential_ground"] == 0
    assert plain.attrs["method"].endswith("placed at a point inside the footprint.")
    assert plain.attrs["files"] == []
    assert set(rej.frame()["file"]) == {"OSM buildings"}
    # areas in another CRS than the buildings are reprojected first
    other = estimate_from_buildings(b, None, areas=_areas("EPSG:3035"))
    assert other["pid"].tolist() == est["pid"].tolist()


def test_estimate_errors_and_nothing_residential():
    b = _buildings(ROWS[:2])
    with pytest.raises(InputError) as err:
        estimate_from_buildings(b.set_crs(None, allow_override=True))
    assert str(err.value) == "the buildings have no CRS; expected EPSG:4326 (WGS 84)"
    with pytest.raises(InputError) as err:
        estimate_from_buildings(b.drop(columns=["osm_id", "building"]))
    assert str(err.value).startswith("the buildings lack the column(s) osm_id, building; expected")
    assert "found osm_type, levels, tags, geometry" in str(err.value)
    none = estimate_from_buildings(_buildings([ROWS[8], ROWS[3]]))
    assert len(none) == 0 and none.crs.to_epsg() == 4326
    assert none.attrs["buildings_total"] == 2 and none.attrs["buildings_residential"] == 0
    # without a levels column every building takes its default
    nolev = estimate_from_buildings(_buildings(ROWS[:2]).drop(columns=["levels"]))
    np.testing.assert_allclose(nolev["population"], [200 * PER_M2, 200 * 3 * PER_M2], rtol=1e-6)
    assert nolev.attrs["levels_defaulted"] == 2


# ------------------------------------------------------------ spreading cells onto buildings

CX, CY = 4_200_050.0, 2_910_050.0  # a 100 m cell midpoint, EPSG:3035


def _cells(pops, groups, size=100.0, pids=None) -> gpd.GeoDataFrame:
    n = len(pops)
    g = gpd.GeoDataFrame(
        {"pid": pids or [f"c{i}" for i in range(n)], "row": np.arange(1, n + 1),
         "population": np.asarray(pops, float),
         **{k: np.asarray(v, float) for k, v in groups.items()}},
        geometry=gpd.points_from_xy(CX + size * np.arange(n), np.full(n, CY)), crs="EPSG:3035",
    )  # fmt: skip
    g.attrs.update(groups=list(groups), cell_size_m=size, files=["grid.csv"], edition="2011")
    return g


def _b3035(rows, crs="EPSG:3035") -> gpd.GeoDataFrame:
    """Buildings drawn in EPSG:3035 (exact areas there), given in ``crs``."""
    g = gpd.GeoDataFrame(
        {"osm_type": "way", "osm_id": [r[0] for r in rows], "building": [r[1] for r in rows],
         "levels": [r[2] for r in rows], "tags": [{}] * len(rows)},
        geometry=[shapely.box(CX + x0, CY + y0, CX + x1, CY + y1) for *_, (x0, y0, x1, y1) in rows],
        crs="EPSG:3035",
    )  # fmt: skip
    g = g.to_crs(crs)
    g.attrs["source"] = "city.osm"
    return g


def test_spread_to_buildings_by_hand():
    """Shares by area × storeys per cell; edges go east/north; empty cells keep their midpoint."""
    cells = _cells([120, 50, 30, 0, 8], {"kids": [12, 5, 3, 0, 2], "old": [30, 0, 9, 0, 0]})
    cells["area_km2"] = 0.01  # a number, but not a group (attrs name the groups)
    cells.attrs["share_columns"] = {"kids": "kids_A"}
    rows = [
        (1, "house", 2.0, (-40, -40, -30, -30)),  # cell 0: 100 m² × 2 = 200
        (2, "apartments", 3.0, (-20, 0, 0, 10)),  # cell 0: 200 m² × 3 = 600
        (3, "house", 1.0, (40, -5, 60, 5)),  # point (50, 0): on the 0|1 edge → cell 1
        (4, "yes", 2.0, (240, -10, 250, 10)),  # cell 2 (x = 245)
        (5, "house", 2.0, (330, 0, 340, 10)),  # cell 3: nothing to hand out
        (6, "house", 2.0, (900, 0, 910, 10)),  # outside every cell: left out
        (7, "garage", 2.0, (-10, -10, 0, 0)),  # not residential
        (8, "yes", 5.0, (210, -10, 220, 0)),  # cell 2, but on industrial ground
    ]
    works = gpd.GeoDataFrame(
        {"tags": [{"landuse": "industrial"}]},
        geometry=[shapely.box(CX + 200, CY - 20, CX + 230, CY + 5)], crs="EPSG:3035",
    )  # fmt: skip
    out = spread_to_buildings(cells, _b3035(rows), areas=works)  # exact edges in EPSG:3035
    assert out.crs.to_epsg() == 3035
    assert out["pid"].tolist() == ["c0/way/1", "c0/way/2", "c1/way/3", "c2/way/4", "c3", "c4"]
    assert out["cell_id"].tolist() == ["c0", "c0", "c1", "c2", "c3", "c4"]
    want = np.array([
        [120 * 0.25, 12 * 0.25, 30 * 0.25], [120 * 0.75, 12 * 0.75, 30 * 0.75],
        [50, 5, 0], [30, 3, 9], [0, 0, 0], [8, 2, 0],
    ])  # fmt: skip
    np.testing.assert_allclose(out[["population", "kids", "old"]].to_numpy(), want, rtol=1e-6)
    assert list(out.columns) == ["pid", "population", "kids", "old", "cell_id", "geometry"]
    # cells without a building (or without anything to hand out) keep their midpoint
    np.testing.assert_allclose(shapely.get_coordinates(out.geometry.to_numpy()[4:]),
                               [[CX + 300, CY], [CX + 400, CY]])  # fmt: skip
    x = shapely.get_x(out.geometry.to_numpy()[:4])
    np.testing.assert_allclose(x, CX + np.array([-35, -10, 50, 245]), atol=1e-6)
    a = out.attrs
    assert a["kind"] == "zensus_grid_spread_to_buildings" and a["groups"] == ["kids", "old"]
    assert a["cells_spread"] == 3 and a["cells_at_centre"] == 2 and a["buildings_used"] == 4
    assert a["cell_size_m"] == 100 and isinstance(a["cell_size_m"], int)
    assert a["files"] == ["grid.csv", "city.osm"] and a["edition"] == "2011"
    assert a["assumptions"] == assumptions()
    assert a["method"] == (
        "Each 100 m Zensus cell's residents and groups are distributed over the residential "
        "OSM buildings whose representative point lies in the cell, in proportion to "
        "footprint area × storeys; cells without such a building keep their midpoint."
    )
    assert cells.attrs["groups"] == ["kids", "old"]  # the input's attrs are not changed
    out.attrs["share_columns"]["old"] = "old_A"  # not even nested ones
    assert cells.attrs["share_columns"] == {"kids": "kids_A"}
    # the cell totals are kept, group by group
    tot = out.groupby("cell_id")[["population", "kids", "old"]].sum()
    np.testing.assert_allclose(tot.to_numpy(), cells[["population", "kids", "old"]].to_numpy())


def test_spread_to_buildings_sizes_groups_and_errors():
    """The cell size from the argument; groups found by type without attrs; bad CRS refused."""
    cells = _cells([10, 20], {"kids": [1, 2]}, size=250.0)
    cells.attrs = {}  # no groups, no size in attrs
    cells["label"] = ["a", "b"]  # text: not a group
    rows = [(1, "house", 2.0, (100, 0, 110, 10)),  # x = 105: cell 0 of a 250 m grid
            (2, "house", 2.0, (130, 0, 140, 10))]  # x = 135: cell 1 (edge at 125)  # fmt: skip
    out = spread_to_buildings(cells, _b3035(rows, "EPSG:4326"), cell_size_m=250.0)
    assert out["pid"].tolist() == ["c0/way/1", "c1/way/2"]
    assert out.attrs["groups"] == ["kids"] == numeric_groups(cells)
    assert out.attrs["cell_size_m"] == 250
    assert out.attrs["files"] == ["city.osm"]
    assert out.attrs["method"].startswith("Each 250 m Zensus cell's")
    # without a size anywhere: 100 m squares, so both buildings lie outside every cell
    at_centre = spread_to_buildings(cells, _b3035(rows))
    assert at_centre["pid"].tolist() == ["c0", "c1"] and at_centre.attrs["cell_size_m"] == 100
    half = spread_to_buildings(
        _cells([4], {}, size=12.5), _b3035([(1, "house", 1, (-6, -6, 6, 6))])
    )
    assert half.attrs["cell_size_m"] == 12.5 and half["pid"].tolist() == ["c0/way/1"]
    with pytest.raises(InputError) as err:
        spread_to_buildings(cells.to_crs("EPSG:4326"), _b3035(rows))
    assert str(err.value) == ("the cells must be in a projected CRS in metres (Zensus: EPSG:3035)")
    with pytest.raises(InputError, match="projected CRS in metres"):
        spread_to_buildings(cells.set_crs(None, allow_override=True), _b3035(rows))
    with pytest.raises(InputError, match="the buildings have no CRS"):
        spread_to_buildings(cells, _b3035(rows).set_crs(None, allow_override=True))


def test_source_files_and_numeric_groups():
    g = gpd.GeoDataFrame({"pid": ["a"], "population": [1.0], "n": [2], "t": ["x"], "row": [1],
                          "cell_id": ["c"]}, geometry=[shapely.Point(0, 0)])  # fmt: skip
    assert numeric_groups(g) == ["n"]
    assert source_files(g) == []
    g.attrs["source"] = "a.osm"
    assert source_files(g) == ["a.osm"]
    g.attrs["files"] = [Path("dir/b.csv"), "c.csv"]  # files win over the source
    assert source_files(g) == ["dir/b.csv", "c.csv"]

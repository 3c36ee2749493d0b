"""Independent checks of the point-population reader (issue 18, mutation testing).

Hand-written files with one kind of bad row each: every expected row, reason and value is
written down here, never read back from the package. Written against the mutants of
``bench/mutation.py population`` that survived the earlier tests.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely

from accessibility.errors import InputError
from accessibility.inputs.population import drop_implausible, read_points, scale_to_total
from accessibility.rejects import Rejects


def _by_row(rejects: Rejects) -> dict:
    f = rejects.frame()
    rows = zip(f["row"], f["reason"], f["value"], strict=True)
    return {int(r): (str(reason), str(v)) for r, reason, v in rows}


def test_read_points_vector_file_geometries_and_rejects(tmp_path):
    sq = shapely.box(1000.0, 2000.0, 1010.0, 2010.0)
    geoms = [
        shapely.Point(100.0, 200.0),  # row 1: kept as is
        sq,  # row 2: polygon -> a point inside it
        shapely.MultiPoint([(300.0, 400.0)]),  # row 3: one-part multipoint -> that point
        shapely.MultiPoint([(1.0, 1.0), (2.0, 2.0)]),  # row 4: rejected
        shapely.LineString([(0.0, 0.0), (5.0, 5.0)]),  # row 5: rejected
        shapely.Point(),  # row 6: empty, rejected
        shapely.Point(500.0, 600.0),  # row 7: kept
    ]
    gdf = gpd.GeoDataFrame(
        {"EW": [5.0, 7.0, 9.0, 1.0, 1.0, 1.0, 11.0], "kids": [1.0, 2.0, 3.0, 0.0, 0.0, 0.0, 4.0]},
        geometry=geoms,
        crs="EPSG:25832",
    )
    path = tmp_path / "homes.gpkg"
    gdf.to_file(path)
    rej = Rejects()
    out = read_points(path, "ew", rej)
    assert out.crs.to_epsg() == 25832
    assert out["pid"].tolist() == ["homes:1", "homes:2", "homes:3", "homes:7"]
    assert out["row"].tolist() == [1, 2, 3, 7]
    assert out["population"].tolist() == [5.0, 7.0, 9.0, 11.0]
    assert out["kids"].tolist() == [1.0, 2.0, 3.0, 4.0]
    pts = out.geometry.to_numpy()
    assert pts[0].equals(shapely.Point(100.0, 200.0))
    assert pts[1].geom_type == "Point" and sq.contains(pts[1])
    assert pts[2].equals(shapely.Point(300.0, 400.0))
    assert pts[3].equals(shapely.Point(500.0, 600.0))
    got = _by_row(rej)
    assert set(got) == {4, 5, 6}
    assert got[4] == ("geometry is not a point or polygon", "MultiPoint")
    assert got[5] == ("geometry is not a point or polygon", "LineString")
    assert got[6][0] == "empty geometry"
    assert out.attrs["population_column"] == "EW" and out.attrs["files"] == [str(path)]


@pytest.mark.filterwarnings(
    "ignore:'crs' was not provided:UserWarning"
)  # a file without CRS on purpose
def test_read_points_vector_file_crs_and_errors(tmp_path):
    gdf = gpd.GeoDataFrame({"pop": [3.0]}, geometry=[shapely.Point(10.0, 20.0)], crs=None)
    path = tmp_path / "nocrs.gpkg"
    gdf.to_file(path)
    with pytest.raises(InputError, match="the file has no CRS; pass --population-crs"):
        read_points(path, "pop", Rejects())
    out = read_points(path, "pop", Rejects(), crs="EPSG:3035")
    assert out.crs.to_epsg() == 3035 and out.geometry.iloc[0].equals(shapely.Point(10.0, 20.0))
    # the file's own CRS wins over the one given
    own = tmp_path / "own.gpkg"
    gdf.set_crs("EPSG:25832").to_file(own)
    assert read_points(own, "pop", Rejects(), crs="EPSG:3035").crs.to_epsg() == 25832
    empty = tmp_path / "empty.gpkg"
    gdf.iloc[:0].set_crs("EPSG:25832").to_file(empty)
    with pytest.raises(InputError, match="the file holds no features"):
        read_points(empty, "pop", Rejects())
    junk = tmp_path / "junk.geojson"
    junk.write_text("this is not json", encoding="utf-8")
    with pytest.raises(InputError, match="cannot read the file as a vector data set"):
        read_points(junk, "pop", Rejects())


def test_read_points_csv_coordinates_rejected_row_by_row(tmp_path):
    path = tmp_path / "pts.csv"
    path.write_text(
        "lat,lon,einwohner\n"
        "49.44,7.76,10\n"  # row 1: kept
        ",7.76,10\n"  # row 2: latitude missing
        "49.44,abc,10\n"  # row 3: longitude not a number
        "49.44,inf,10\n"  # row 4: longitude infinite
        "95.0,7.76,10\n"  # row 5: latitude out of range
        "49.44,-181,10\n"  # row 6: longitude out of range
        "-49.44,-7.76,12\n",  # row 7: kept (southern/western hemisphere is in range)
        encoding="utf-8",
    )
    rej = Rejects()
    out = read_points(path, "Einwohner", rej)
    assert out["row"].tolist() == [1, 7] and out.crs.to_epsg() == 4326
    assert [(p.x, p.y) for p in out.geometry] == [(7.76, 49.44), (-7.76, -49.44)]
    got = _by_row(rej)
    assert got[2][0] == "coordinate 'lat' is missing or not a number"
    assert got[3] == ("coordinate 'lon' is missing or not a number", "abc")
    assert got[4] == ("coordinate 'lon' is missing or not a number", "inf")
    assert got[5] == ("latitude/longitude out of range (swapped columns or not WGS 84?)",
                      "95.0 7.76")  # fmt: skip
    assert got[6][0].startswith("latitude/longitude out of range") and got[6][1] == "49.44 -181"
    assert set(got) == {2, 3, 4, 5, 6}
    assert "lat" not in out.attrs["groups"] and "lon" not in out.attrs["groups"]


def test_read_points_csv_x_y_need_a_crs(tmp_path):
    path = tmp_path / "xy.csv"
    path.write_text("X,Y,lat,lon,pop\n410000,5480000,1,2,4\n410100,,1,2,5\n", encoding="utf-8")
    rej = Rejects()
    out = read_points(path, "pop", rej, crs="EPSG:25832")  # x/y with their CRS win over lat/lon
    assert out.crs.to_epsg() == 25832 and out["row"].tolist() == [1]
    assert (out.geometry.iloc[0].x, out.geometry.iloc[0].y) == (410000.0, 5480000.0)
    assert _by_row(rej)[2][0] == "coordinate 'Y' is missing or not a number"
    assert not {"X", "Y", "lat", "lon"} & set(out.attrs["groups"])
    only_xy = tmp_path / "onlyxy.csv"
    only_xy.write_text("x,y,pop\n1,2,3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"columns 'x'/'y' but no CRS was given; pass their CRS"):
        read_points(only_xy, "pop", Rejects())
    none = tmp_path / "none.csv"
    none.write_text("a,b,pop\n1,2,3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"coordinate columns.*\(or 'x'/'y' together with a CRS\)"):
        read_points(none, "pop", Rejects())


def _residents(pop, files=("cells.csv",), column="Einwohner"):
    g = gpd.GeoDataFrame(
        {"pid": [f"p{i}" for i in range(len(pop))], "row": np.arange(1, len(pop) + 1),
         "population": np.asarray(pop, float), "kids": np.asarray(pop, float) / 2},
        geometry=gpd.points_from_xy(np.arange(len(pop), dtype=float), np.zeros(len(pop))),
        crs="EPSG:25832",
    )  # fmt: skip
    g.attrs.update(files=list(files), population_column=column, groups=["kids"], kind="points")
    return g


def test_drop_implausible_rows_reasons_and_values():
    res = _residents([10.0, 2000.0, math.inf, math.nan, 1000.0])
    rej = Rejects()
    out = drop_implausible(res, rej, bound=1000.0, what="test cell")
    assert out["pid"].tolist() == ["p0", "p4"]  # the bound itself is plausible
    assert out.attrs == res.attrs and out.attrs is not res.attrs
    f = rej.frame()
    assert f["file"].tolist() == ["cells.csv"] * 3
    assert f["row"].tolist() == [2, 3, 4]
    assert f["value"].tolist() == ["2000.0", "inf", ""]  # NaN is written as an empty field
    assert f["reason"].iloc[0] == (
        "population 'Einwohner' above 1,000 residents per test cell (not a plausible count: "
        "a unit or decimal-separator mix-up?); correct the value"
    )
    ok = _residents([1.0, 2.0])
    assert drop_implausible(ok, rej) is ok
    # without files, row numbers or a column name: the defaults
    bare = _residents([5.0, 1e12]).drop(columns="row")
    bare.attrs = {}
    rej2 = Rejects()
    out2 = drop_implausible(bare, rej2)
    assert len(out2) == 1
    f2 = rej2.frame()
    assert f2["file"].tolist() == ["population"] and f2["row"].isna().all()
    assert f2["reason"].iloc[0].startswith("population 'Einwohner' above ")


def test_scale_to_total_factor_groups_and_method():
    res = _residents([10.0, 30.0])
    res.attrs["method"] = "Read. "
    out = scale_to_total(res, "120")
    assert out["population"].tolist() == [30.0, 90.0] and out["kids"].tolist() == [15.0, 45.0]
    assert res["population"].tolist() == [10.0, 30.0]  # the input is left alone
    assert out.attrs["scaling"] == {"total": 120.0, "estimated_total": 40.0, "factor": 3.0,
                                    "distribution": "as read"}  # fmt: skip
    assert out.attrs["method"] == (
        "Read. Rescaled by the factor 3.0000 to the official total of 120 residents (before: 40)."
    )
    res.attrs["kind"] = "buildings_estimate"
    b = scale_to_total(res, 80)
    assert b.attrs["scaling"]["distribution"] == "estimated from OSM buildings"
    assert b.attrs["method"].endswith(
        "(before: 40); only the total is official, the distribution over buildings is "
        "estimated from OSM buildings."
    )
    assert res.attrs["kind"] == "buildings_estimate" and "scaling" not in res.attrs
    for bad in ("many", None, 0, -5, math.inf, math.nan):
        with pytest.raises(InputError, match="--population-total must be a positive, finite"):
            scale_to_total(res, bad)
    with pytest.raises(InputError, match=r"residents read sum to 0, so there is no distribution"):
        scale_to_total(_residents([0.0, 0.0]), 100)


def test_read_points_population_values_rows_and_attrs(tmp_path):
    """Population values row by row; the file named on every reject; the attrs."""
    path = tmp_path / "values.txt"  # a .txt file is read as CSV
    path.write_text(
        "lat,lon,Pop,pop,label\n"
        "49.0,7.0,1,10,a\n"  # row 1: kept (exact 'pop', not 'Pop')
        "49.0,7.0,1,,b\n"  # row 2: missing
        "49.0,7.0,1,abc,c\n"  # row 3: not a number
        "49.0,7.0,1,-1,d\n"  # row 4: negative
        "49.0,7.0,1,0,e\n"  # row 5: kept (zero is a count)
        "49.0,7.0,1,100000,f\n"  # row 6: kept (the bound itself)
        "49.0,7.0,1,100001,g\n"  # row 7: implausible
        "90.0,180.0,1,3,h\n",  # row 8: kept (the edge of the valid range)
        encoding="utf-8",
    )
    rej = Rejects()
    out = read_points(path, "pop", rej)
    assert out["row"].tolist() == [1, 5, 6, 8]
    assert out["population"].tolist() == [10.0, 0.0, 100000.0, 3.0]
    f = rej.frame()
    assert set(f["file"]) == {str(path)}
    got = _by_row(rej)
    assert got[2][0] == got[3][0] == "population 'pop' is missing or not a number"
    assert got[3][1] == "abc" and got[4] == ("negative population 'pop'", "-1")
    assert got[7] == (
        "population 'pop' above 100,000 residents per point (not a plausible count: "
        "a unit or decimal-separator mix-up?); correct the value",
        "100001",
    )
    assert set(got) == {2, 3, 4, 7}
    assert out.attrs["method"] == (
        "Residents read from values.txt: column 'pop' at each point "
        "(polygons reduced to a representative point inside them)."
    )
    assert out.attrs["ignored_columns"] == ["label"]
    assert out.attrs["suppressed_group_values"] == 0 and out.attrs["kind"] == "points"
    with pytest.raises(InputError, match="file not found") as e:
        read_points(tmp_path / "missing.csv", "pop", Rejects())
    assert "missing.csv" in str(e.value)
    half = tmp_path / "half.csv"
    half.write_text("lat,x,pop\n49,7,3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"coordinate columns"):
        read_points(half, "pop", Rejects())


def test_read_points_vector_multipolygon_and_rejects_file(tmp_path):
    mp = shapely.MultiPolygon(
        [shapely.box(0.0, 0.0, 10.0, 10.0), shapely.box(20.0, 0.0, 30.0, 5.0)]
    )
    gdf = gpd.GeoDataFrame(
        {"pop": [4.0, 2.0, 6.0]},
        geometry=[mp, shapely.LineString([(0.0, 0.0), (1.0, 1.0)]), shapely.Point(5.0, 5.0)],
        crs="EPSG:25832",
    )
    path = tmp_path / "mp.gpkg"
    gdf.to_file(path)
    rej = Rejects()
    out = read_points(path, "pop", rej)
    assert out["row"].tolist() == [1, 3]
    assert out.geometry.iloc[0].geom_type == "Point" and mp.contains(out.geometry.iloc[0])
    assert out.geometry.iloc[1].equals(shapely.Point(5.0, 5.0))
    f = rej.frame()
    assert f["file"].tolist() == [str(path)] and f["row"].tolist() == [2]


@pytest.mark.filterwarnings(
    "ignore:'crs' was not provided:UserWarning"
)  # a file without CRS on purpose
def test_population_errors_and_rejects_name_the_file(tmp_path):
    """Every error and reject of the reader names the file it comes from."""
    gdf = gpd.GeoDataFrame({"pop": [3.0]}, geometry=[shapely.Point(10.0, 20.0)], crs=None)
    nocrs = tmp_path / "nocrs_file.gpkg"
    gdf.to_file(nocrs)
    empty = tmp_path / "empty_file.gpkg"
    gdf.iloc[:0].set_crs("EPSG:25832").to_file(empty)
    junk = tmp_path / "junk_file.geojson"
    junk.write_text("not json", encoding="utf-8")
    xy = tmp_path / "xy_file.csv"
    xy.write_text("x,y,pop\n1,2,3\n", encoding="utf-8")
    cols = tmp_path / "cols_file.csv"
    cols.write_text("a,b,pop\n1,2,3\n", encoding="utf-8")
    for path in (nocrs, empty, junk, xy, cols):
        with pytest.raises(InputError) as e:
            read_points(path, "pop", Rejects())
        assert path.name in str(e.value), path.name
    pts = tmp_path / "bad_coords.csv"
    pts.write_text("lat,lon,pop\n,7,1\n90.5,7,1\n49,7,1\n", encoding="utf-8")
    rej = Rejects()
    assert read_points(pts, "pop", rej)["row"].tolist() == [3]
    f = rej.frame()
    assert f["file"].tolist() == [str(pts)] * 2 and f["row"].tolist() == [1, 2]
    geo = gpd.GeoDataFrame(
        {"pop": [1.0, 2.0]}, geometry=[shapely.Point(), shapely.Point(1.0, 1.0)], crs="EPSG:25832"
    )
    gp = tmp_path / "with_empty.gpkg"
    geo.to_file(gp)
    rej = Rejects()
    read_points(gp, "pop", rej)
    f = rej.frame()
    assert f["file"].tolist() == [str(gp)] and f["reason"].tolist() == ["empty geometry"]
    assert f["value"].tolist() == [""]


def test_drop_implausible_default_cell_wording_and_column():
    res = _residents([5.0, 1e12], column="EW")
    rej = Rejects()
    drop_implausible(res, rej)
    assert rej.frame()["reason"].iloc[0].startswith("population 'EW' above ")
    assert " residents per 100 m cell (not a plausible count" in rej.frame()["reason"].iloc[0]


def test_scale_to_total_small_totals_and_bare_residents():
    res = _residents([0.25, 0.25])
    res.attrs = {}  # no groups, no method
    out = scale_to_total(res, 0.5)
    assert out["population"].tolist() == [0.25, 0.25] and out["kids"].tolist() == [0.125, 0.125]
    assert out.attrs["method"] == (
        "Rescaled by the factor 1.0000 to the official total of 0 residents (before: 0)."
    )

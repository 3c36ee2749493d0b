"""Tests of accessibility.population on the real Kaiserslautern Zensus and OSM data."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from accessibility import config
from accessibility.errors import InputError
from accessibility.inputs.population import (
    LIVING_AREA_PER_RESIDENT_M2,
    NET_TO_GROSS_FLOOR_AREA,
    estimate_from_buildings,
    read_points,
    read_zensus,
    spread_to_buildings,
)
from accessibility.rejects import Rejects

AGE = ["alter_unter18", "alter_18_29", "alter_30_49", "alter_50_64", "alter_65plus"]


@pytest.fixture(scope="module")
def data_dir() -> Path:
    d = config.shared_data_dir() / "kaiserslautern"
    if not (d / "zensus2011_100m_kaiserslautern.csv").exists():
        pytest.skip(
            f"real Kaiserslautern Zensus data not found in {d}; "
            "set ACCESSIBILITY_DATA to the shared data folder"
        )
    return d


@pytest.fixture(scope="module")
def pop_csv(data_dir) -> Path:
    return data_dir / "zensus2011_100m_kaiserslautern.csv"


@pytest.fixture(scope="module")
def origin_csv(data_dir) -> Path:
    return data_dir / "zensus2011_100m_kaiserslautern_origin.csv"


@pytest.fixture(scope="module")
def raw(pop_csv) -> pd.DataFrame:
    """The population file as plain pandas reads it (independent of the module)."""
    return pd.read_csv(pop_csv, sep=";")


@pytest.fixture(scope="module")
def cells(pop_csv, origin_csv):
    rejects = Rejects()
    return read_zensus([pop_csv, origin_csv], rejects), rejects


@pytest.fixture(scope="module")
def buildings(kl_extract) -> gpd.GeoDataFrame:
    """Real OSM buildings of Kaiserslautern via accessibility.osm (same schema as documented)."""
    return kl_extract.buildings


# --------------------------------------------------------------------------- #
# read_zensus
# --------------------------------------------------------------------------- #


def test_read_zensus_kaiserslautern(pop_csv, raw):
    rejects = Rejects()
    gdf = read_zensus([pop_csv], rejects)
    assert len(rejects) == 0
    assert len(gdf) == 2183
    assert gdf["population"].sum() == 97925
    assert list(gdf.columns) == ["pid", "row", "population", *AGE, "geometry"]
    assert gdf.crs.to_epsg() == 3035
    assert gdf["pid"].is_unique
    # `row` is the 1-based data row of the file, so rejects and outputs can point at it.
    assert (raw["Gitter_ID_100m"].iloc[gdf["row"] - 1].to_numpy() == gdf["pid"].to_numpy()).all()
    np.testing.assert_array_equal(gdf[AGE].sum(axis=1).to_numpy(), gdf["population"].to_numpy())
    # Geometry is the published midpoint.
    np.testing.assert_array_equal(gdf.geometry.x.to_numpy(), raw["x_mp_100m"].to_numpy())
    np.testing.assert_array_equal(gdf.geometry.y.to_numpy(), raw["y_mp_100m"].to_numpy())
    a = gdf.attrs
    assert a["kind"] == "zensus_grid"
    assert a["groups"] == AGE
    assert a["cell_size_m"] == 100
    assert a["files"] == [str(pop_csv)]
    assert a["suppressed_group_values"] == 0
    assert isinstance(a["method"], str) and "Einwohner" in a["method"]


def test_read_zensus_joins_origin(cells, raw, origin_csv):
    gdf, rejects = cells
    origin = pd.read_csv(origin_csv, sep=";")
    only_origin = set(origin["Gitter_ID_100m"]) - set(raw["Gitter_ID_100m"])
    groups = gdf.attrs["groups"]
    assert groups[:5] == AGE
    expected_new = [
        c for c in origin.columns if c.startswith(("geburtland_", "staatsangehoerigkeit_"))
    ]
    assert len(expected_new) == 10
    assert groups[5:] == expected_new  # no clash, so no file-stem prefix
    assert len(gdf) == len(raw)
    assert gdf["population"].sum() == 97925
    assert gdf.attrs["edition"] == "2011"  # 100mN…E… ids

    rej = rejects.frame()
    assert len(rej) == len(only_origin) > 0
    assert (rej["file"] == str(origin_csv)).all()
    assert rej["reason"].str.contains("not in the population file").all()
    assert set(rej["value"]) == only_origin
    # Reported rows are the 1-based data rows of the origin file.
    assert set(origin.loc[rej["row"].to_numpy() - 1, "Gitter_ID_100m"]) == only_origin

    # Group values equal a plain pandas left join (cells absent from origin get 0).
    merged = raw[["Gitter_ID_100m"]].merge(origin, on="Gitter_ID_100m", how="left").fillna(0)
    np.testing.assert_array_equal(
        gdf[expected_new].to_numpy(), merged[expected_new].to_numpy(dtype=float)
    )
    missing = len(set(raw["Gitter_ID_100m"]) - set(origin["Gitter_ID_100m"]))
    assert gdf.attrs["cells_missing_in_attribute_file"] == {str(origin_csv): missing}


def test_read_zensus_shared_column_names_are_prefixed(pop_csv, tmp_path, raw):
    other = tmp_path / "second.csv"
    raw.head(50)[["Gitter_ID_100m", "x_mp_100m", "y_mp_100m", "alter_65plus"]].to_csv(
        other, sep=";", index=False
    )
    gdf = read_zensus([pop_csv, other], Rejects())
    assert "zensus2011_100m_kaiserslautern_alter_65plus" in gdf.attrs["groups"]
    assert "second_alter_65plus" in gdf.attrs["groups"]
    assert "alter_65plus" not in gdf.columns
    assert gdf["second_alter_65plus"].sum() == raw.head(50)["alter_65plus"].sum()


def _as_2022(raw: pd.DataFrame) -> pd.DataFrame:
    """Real 2011 rows in the Zensus 2022 layout (CRS3035RES100mN...E... ids, metres)."""
    ll_x = raw["x_mp_100m"] - 50
    ll_y = raw["y_mp_100m"] - 50
    return pd.DataFrame(
        {
            "GITTER_ID_100m": "CRS3035RES100mN" + ll_y.astype(str) + "E" + ll_x.astype(str),
            "x_mp_100m": raw["x_mp_100m"],
            "y_mp_100m": raw["y_mp_100m"],
            "Einwohner": raw["Einwohner"].astype(str),
        }
    )


def test_read_zensus_2022_layout(raw, tmp_path):
    rows = raw.head(40).reset_index(drop=True)
    df = _as_2022(rows)
    secret = [3, 17, 30]  # 0-based → data rows 4, 18, 31
    df.loc[secret, "Einwohner"] = "–"
    # Decimal commas in the coordinates, as a German spreadsheet writes them.
    df["x_mp_100m"] = df["x_mp_100m"].astype(str) + ",0"
    path = tmp_path / "Zensus2022_Bevoelkerungszahl_100m-Gitter.csv"
    path.write_bytes(df.to_csv(sep=";", index=False).encode("utf-8-sig"))

    # Attribute file: comma-separated, cp1252 (en dash = 0x96), secret and decimal values,
    # and a text column as in the 2022 tables.
    attr = pd.DataFrame(
        {
            "GITTER_ID_100m": _as_2022(rows)["GITTER_ID_100m"],
            "x_mp_100m": rows["x_mp_100m"],
            "y_mp_100m": rows["y_mp_100m"],
            "Unter18": rows["alter_unter18"].astype(str),
            "werterlaeuternde_Zeichen": "",
        }
    )
    attr.loc[[0, 1], "Unter18"] = "–"
    attr.loc[2, "Unter18"] = '"2,5"'  # quoted decimal comma in a comma-separated file
    attr.loc[0, "werterlaeuternde_Zeichen"] = "KLAMMERN"
    attr_path = tmp_path / "Zensus2022_Alter_100m-Gitter.csv"
    lines = [",".join(attr.columns)] + [",".join(map(str, r)) for r in attr.itertuples(index=False)]
    attr_path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))

    rejects = Rejects()
    gdf = read_zensus([path, attr_path], rejects)
    keep = ~rows.index.isin(secret)
    assert len(gdf) == keep.sum()
    assert gdf["population"].sum() == rows.loc[keep, "Einwohner"].sum()
    np.testing.assert_array_equal(gdf.geometry.x.to_numpy(), rows.loc[keep, "x_mp_100m"].to_numpy())
    assert gdf["pid"].str.startswith("CRS3035RES100mN").all()
    assert gdf.attrs["edition"] == "2022"

    rej = rejects.frame()
    in_pop = rej[rej["file"] == str(path)]
    assert sorted(in_pop["row"]) == [4, 18, 31]
    assert (in_pop["value"] == "–").all()
    assert in_pop["reason"].str.contains("secret").all()
    # The same cells in the attribute file are rejected too, saying why.
    in_attr = rej[rej["file"] == str(attr_path)]
    assert sorted(in_attr["row"]) == [4, 18, 31]
    assert in_attr["reason"].str.contains("population file .* was rejected").all()

    assert gdf.attrs["groups"] == ["Unter18"]
    assert gdf.attrs["suppressed_group_values"] == 2
    assert gdf.attrs["ignored_columns"] == {str(attr_path): ["werterlaeuternde_Zeichen"]}
    by_pid = gdf.set_index("pid")["Unter18"]
    ids = _as_2022(rows)["GITTER_ID_100m"]
    assert by_pid[ids[0]] == 0 and by_pid[ids[1]] == 0
    assert by_pid[ids[2]] == 2.5
    assert by_pid[ids[5]] == rows.loc[5, "alter_unter18"]


def test_read_zensus_bad_rows(raw, tmp_path):
    df = raw.head(10).astype(str)
    df.loc[2, "Einwohner"] = "-7"
    df.loc[4, "y_mp_100m"] = "abc"
    df.loc[6, "alter_30_49"] = "x"  # secret group value → 0, counted
    df.loc[7, "alter_18_29"] = "drei"  # garbage group value → row rejected
    dup = pd.concat([df, df.iloc[[1]]], ignore_index=True)  # row 11 repeats row 2
    path = tmp_path / "bad.csv"
    dup.to_csv(path, sep=";", index=False)
    rejects = Rejects()
    gdf = read_zensus([path], rejects)
    rej = rejects.frame().set_index("row")
    assert sorted(rej.index) == [3, 5, 8, 11]
    assert "negative" in rej.loc[3, "reason"]
    assert "coordinate" in rej.loc[5, "reason"] and rej.loc[5, "value"] == "abc"
    assert "alter_18_29" in rej.loc[8, "reason"] and rej.loc[8, "value"] == "drei"
    assert "duplicate" in rej.loc[11, "reason"] and "row 2" in rej.loc[11, "value"]
    assert len(gdf) == 7
    assert gdf["pid"].is_unique
    assert gdf.attrs["suppressed_group_values"] == 1
    assert gdf.set_index("pid").loc[raw.loc[6, "Gitter_ID_100m"], "alter_30_49"] == 0


def test_read_zensus_keeps_zero_population(raw, tmp_path):
    df = raw.head(5).copy()
    df.loc[0, ["Einwohner", *AGE]] = 0
    path = tmp_path / "zero.csv"
    df.to_csv(path, sep=";", index=False)
    rejects = Rejects()
    gdf = read_zensus([path], rejects)
    assert len(gdf) == 5 and len(rejects) == 0
    assert gdf["population"].iloc[0] == 0


def test_read_zensus_misspelt_column(raw, tmp_path):
    path = tmp_path / "typo.csv"
    raw.head(5).rename(columns={"Einwohner": "Einwohnr"}).to_csv(path, sep=";", index=False)
    with pytest.raises(InputError) as info:
        read_zensus([path], Rejects())
    msg = str(info.value)
    assert str(path) in msg
    assert "'Einwohnr'" in msg and "'Einwohner'" in msg and "misspelling" in msg

    path2 = tmp_path / "typo_id.csv"
    raw.head(5).rename(columns={"Gitter_ID_100m": "Giter_ID_100m"}).to_csv(
        path2, sep=";", index=False
    )
    with pytest.raises(InputError) as info:
        read_zensus([path2], Rejects())
    msg = str(info.value)
    assert str(path2) in msg and "'Giter_ID_100m' → 'Gitter_ID_100m'" in msg
    assert "columns found" in msg and "expected" in msg


def test_read_zensus_no_population_file(origin_csv):
    with pytest.raises(InputError) as info:
        read_zensus([origin_csv], Rejects())
    assert "Einwohner" in str(info.value) and str(origin_csv) in str(info.value)


def test_read_zensus_empty_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        read_zensus([empty], Rejects())
    header = tmp_path / "header.csv"
    header.write_text("Gitter_ID_100m;x_mp_100m;y_mp_100m;Einwohner\n\n")
    with pytest.raises(InputError, match="no data rows"):
        read_zensus([header], Rejects())


# --------------------------------------------------------------------------- #
# read_points
# --------------------------------------------------------------------------- #


def test_read_points_geojson_and_polygons(raw, tmp_path):
    rows = raw.head(30).reset_index(drop=True)
    pts = gpd.GeoDataFrame(
        {
            "id": np.arange(len(rows)),
            "einw": rows["Einwohner"].astype(float),
            "kinder": rows["alter_unter18"].astype(float),
            "name": "Zelle",
        },
        geometry=gpd.points_from_xy(rows["x_mp_100m"], rows["y_mp_100m"]),
        crs="EPSG:3035",
    ).to_crs("EPSG:4326")
    pts.loc[4, "einw"] = np.nan
    pts.loc[9, "einw"] = -3.0
    path = tmp_path / "cells.geojson"
    pts.to_file(path, driver="GeoJSON")

    rejects = Rejects()
    gdf = read_points(path, "einw", rejects)
    assert gdf.crs.to_epsg() == 4326
    assert list(gdf.columns) == ["pid", "row", "population", "kinder", "geometry"]
    assert gdf.attrs["kind"] == "points" and gdf.attrs["groups"] == ["kinder"]
    assert gdf.attrs["files"] == [str(path)]
    assert sorted(rejects.frame()["row"]) == [5, 10]
    assert len(gdf) == 28
    assert gdf["pid"].iloc[0] == "cells:1"
    keep = ~rows.index.isin([4, 9])
    assert gdf["population"].sum() == rows.loc[keep, "Einwohner"].sum()

    # Polygons (the cell squares) become a point inside each square.
    squares = gpd.GeoDataFrame(
        {"Einwohner": rows["Einwohner"]},
        geometry=gpd.points_from_xy(rows["x_mp_100m"], rows["y_mp_100m"]).buffer(
            50, cap_style="square"
        ),
        crs="EPSG:3035",
    )
    gpkg = tmp_path / "squares.gpkg"
    squares.to_file(gpkg, driver="GPKG")
    gdf = read_points(gpkg, "einwohner", Rejects())  # case-insensitive column match
    assert gdf.crs.to_epsg() == 3035
    assert (gdf.geom_type == "Point").all()
    assert squares.geometry.contains(gdf.geometry).all()
    assert gdf["population"].sum() == rows["Einwohner"].sum()

    with pytest.raises(InputError) as info:
        read_points(path, "einwohner_gesamt", Rejects())
    assert "einw" in str(info.value) and str(path) in str(info.value)


def test_read_points_csv(raw, tmp_path):
    rows = raw.head(20).reset_index(drop=True)
    ll = gpd.GeoSeries(
        gpd.points_from_xy(rows["x_mp_100m"], rows["y_mp_100m"]), crs="EPSG:3035"
    ).to_crs("EPSG:4326")
    df = pd.DataFrame(
        {
            "lat": ll.y.map(lambda v: f"{v:.7f}".replace(".", ",")),
            "lon": ll.x.map(lambda v: f"{v:.7f}".replace(".", ",")),
            "Bewohner": rows["Einwohner"].astype(str),
            "senioren": rows["alter_65plus"].astype(str),
        }
    )
    df.loc[3, "lat"] = "unbekannt"
    path = tmp_path / "bewohner.csv"
    df.to_csv(path, sep=";", index=False)
    rejects = Rejects()
    gdf = read_points(path, "Bewohner", rejects)
    assert gdf.crs.to_epsg() == 4326
    assert len(gdf) == 19 and rejects.frame()["row"].tolist() == [4]
    assert gdf.attrs["groups"] == ["senioren"]
    back = gdf.to_crs("EPSG:3035")
    np.testing.assert_allclose(back.geometry.x, rows.drop(index=3)["x_mp_100m"], atol=0.05)

    xy = tmp_path / "xy.csv"
    rows[["x_mp_100m", "y_mp_100m", "Einwohner"]].rename(
        columns={"x_mp_100m": "x", "y_mp_100m": "y"}
    ).to_csv(xy, index=False)
    gdf = read_points(xy, "Einwohner", Rejects(), crs="EPSG:3035")
    assert gdf.crs.to_epsg() == 3035 and gdf["population"].sum() == rows["Einwohner"].sum()
    with pytest.raises(InputError, match="no CRS"):
        read_points(xy, "Einwohner", Rejects())


# --------------------------------------------------------------------------- #
# Buildings
# --------------------------------------------------------------------------- #


def test_estimate_from_buildings(buildings):
    rejects = Rejects()
    est = estimate_from_buildings(buildings, rejects)
    assert est.crs.to_epsg() == 4326
    assert list(est.columns) == ["pid", "population", "geometry"]
    assert est.attrs["kind"] == "buildings_estimate" and est.attrs["groups"] == []
    assert est["pid"].is_unique and est["pid"].str.match(r"^(way|relation)/\d+$").all()
    assert (est["population"] > 0).all()

    b = buildings.assign(pid=buildings["osm_type"] + "/" + buildings["osm_id"].astype(str))
    kept = set(est["pid"])
    garages = set(b.loc[b["building"] == "garage", "pid"])
    assert garages and not kept & garages
    shops = b[(b["building"] == "yes") & b["tags"].map(lambda t: "shop" in t or "amenity" in t)]
    assert len(shops) and not kept & set(shops["pid"])
    assert kept <= set(b["pid"])

    # Formula on real buildings: area in UTM × storeys × 0.8 ÷ 45.
    bx = b.set_index("pid").loc[est["pid"]]
    area = gpd.GeoSeries(bx.geometry.values, crs=4326).to_crs(32632).area.to_numpy()
    default = np.where(bx["building"].eq("yes"), 2.0, 3.0)  # yes: 2, apartments etc.: 3
    levels = bx["levels"].where(bx["levels"] > 0, default).to_numpy()
    houses = ["house", "detached", "semidetached_house", "terrace", "farm", "bungalow"]
    assert not bx["building"].isin([*houses, "static_caravan"]).any()
    expected = area * levels * NET_TO_GROSS_FLOOR_AREA / LIVING_AREA_PER_RESIDENT_M2
    np.testing.assert_allclose(est["population"].to_numpy(), expected, rtol=1e-9)
    tagged = bx["levels"].notna().to_numpy()
    assert tagged.any()  # some real buildings carry building:levels
    # The point lies inside its footprint.
    assert shapely.contains(np.asarray(bx.geometry.values), np.asarray(est.geometry.values)).all()


def test_estimate_from_buildings_against_zensus(kl_extract, raw):
    """The building estimate against the real census of the same area (Zensus 2011).

    Inside the extract's bounding box Zensus counts 73,890 residents in 1,190 cells.
    Leaving out building=yes on industrial, commercial, campus, hospital and similar
    ground brings the estimate close to that total and raises the per-cell
    correlation; the test fails if either gets worse.
    """
    b, feats = kl_extract.buildings, kl_extract.features
    west, south, east, north = kl_extract.bounds
    box = gpd.GeoSeries([shapely.box(west, south, east, north)], crs=4326).to_crs(3035).iloc[0]
    z = raw[shapely.contains_xy(box, raw["x_mp_100m"], raw["y_mp_100m"])]
    census = pd.Series(
        z["Einwohner"].to_numpy(float), index=_cell_of(z["x_mp_100m"] - 50, z["y_mp_100m"] - 50)
    )

    def per_cell(est):
        p = est.to_crs(3035).geometry
        inside = shapely.contains_xy(box, p.x, p.y)
        cells = pd.Series(
            est["population"].to_numpy()[inside], index=_cell_of(p.x[inside], p.y[inside])
        )
        joined = pd.concat([census.rename("z"), cells.groupby(level=0).sum().rename("e")], axis=1)
        joined = joined.fillna(0)
        return joined["e"].sum() / census.sum(), np.corrcoef(joined["z"], joined["e"])[0, 1]

    ratio, r = per_cell(estimate_from_buildings(b, areas=feats))
    ratio_all, r_all = per_cell(estimate_from_buildings(b))
    assert 0.8 <= ratio <= 1.2, ratio
    assert r >= 0.45 and r > r_all + 0.1, (r, r_all)
    assert ratio < ratio_all  # the area rule only removes buildings
    est = estimate_from_buildings(b, areas=feats)
    assert est.attrs["buildings_on_non_residential_ground"] > 500


def _cell_of(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Zensus-2011 cell id (lower-left corner / 100 m) of EPSG:3035 coordinates."""
    n = np.floor(np.asarray(y) / 100).astype(np.int64).astype(str)
    e = np.floor(np.asarray(x) / 100).astype(np.int64).astype(str)
    return np.char.add(np.char.add(np.char.add("100mN", n), "E"), e)


def test_spread_to_buildings(cells, buildings):
    gdf, _ = cells
    groups = gdf.attrs["groups"]
    spread = spread_to_buildings(gdf, buildings)

    assert spread.crs.to_epsg() == 3035
    assert list(spread.columns) == ["pid", "population", *groups, "cell_id", "geometry"]
    assert spread.attrs["kind"] == "zensus_grid_spread_to_buildings"
    assert spread.attrs["groups"] == groups and spread.attrs["cell_size_m"] == 100
    assert spread["pid"].is_unique

    # Every cell's total and every group total preserved exactly.
    totals = spread.groupby("cell_id")[["population", *groups]].sum()
    original = gdf.set_index("pid")[["population", *groups]]
    assert set(totals.index) == set(original.index)
    np.testing.assert_allclose(
        totals.loc[original.index].to_numpy(), original.to_numpy(), rtol=0, atol=1e-9
    )
    assert spread["population"].sum() == pytest.approx(97925, abs=1e-6)

    # Independent assignment: residential buildings' representative points → cell id.
    res = estimate_from_buildings(buildings)
    b = buildings.assign(pid=buildings["osm_type"] + "/" + buildings["osm_id"].astype(str))
    b = b.set_index("pid").loc[res["pid"]]
    rp = gpd.GeoSeries(b.geometry.values, crs=4326).to_crs(3035).representative_point()
    b_cell = pd.Series(_cell_of(rp.x.to_numpy(), rp.y.to_numpy()), index=b.index)
    in_cells = b_cell.isin(original.index)

    on_building = spread[spread["pid"] != spread["cell_id"]]
    building_pid = on_building["pid"].str.split("/", n=1).str[1]
    # Buildings outside all cells get nothing.
    outside = set(b_cell.index[~in_cells])
    assert outside and not outside & set(building_pid)
    # Each building point sits in the cell it takes residents from.
    assert (b_cell.loc[building_pid].to_numpy() == on_building["cell_id"].to_numpy()).all()
    # Every populated cell with a residential building is spread.
    spread_cells = set(b_cell[in_cells])
    assert set(on_building["cell_id"]) == spread_cells
    # Cells without a residential building stay one point at the centre.
    at_centre = spread[spread["pid"] == spread["cell_id"]]
    assert set(at_centre["cell_id"]) == set(original.index) - spread_cells
    assert at_centre["cell_id"].is_unique
    centres = gdf.set_index("pid").geometry.loc[at_centre["cell_id"]]
    assert shapely.equals(np.asarray(centres.values), np.asarray(at_centre.geometry.values)).all()
    assert spread.attrs["cells_at_centre"] == len(at_centre)
    # Within a cell, residents follow footprint area × storeys.
    cid = on_building["cell_id"].value_counts().index[0]
    part = on_building[on_building["cell_id"] == cid]
    bb = b.loc[part["pid"].str.split("/", n=1).str[1]]
    w = gpd.GeoSeries(bb.geometry.values, crs=4326).to_crs(3035).area.to_numpy() * np.where(
        bb["levels"] > 0, bb["levels"], 3.0
    )
    np.testing.assert_allclose(
        part["population"].to_numpy(), original.loc[cid, "population"] * w / w.sum(), rtol=1e-9
    )

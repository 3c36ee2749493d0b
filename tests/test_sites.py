"""Sites: presets, OSM extraction (real Kaiserslautern data) and user site files."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from accessibility.errors import AllRejectedError, InputError
from accessibility.inputs.osm_sites import sites_from_osm
from accessibility.inputs.sites import (
    NO_COORDINATES,
    PRESETS_PATH,
    SITE_COLUMNS,
    check_categories,
    combine_sites,
    load_presets,
    read_sites,
)
from accessibility.rejects import Rejects

#: Study area of the Kaiserslautern extract (PROVENANCE.md), (west, south, east, north).
KL_BOUNDS = (7.717, 49.418, 7.821, 49.457)
HOSTILE = "<img src=x onerror=alert(1)>"
PACKAGED = ["advice_centre", "library", "community_centre", "shopfront_office"]


def _write(tmp_path, text, name="sites.csv", encoding="utf-8"):
    p = tmp_path / name
    p.write_text(text, encoding=encoding)
    return p


def _read(tmp_path, text, name="sites.csv", **kw):
    rejects = Rejects()
    sites = read_sites(_write(tmp_path, text, name), rejects, **kw)
    return sites, rejects.frame()


# ----------------------------------------------------------------------------- presets


def test_packaged_presets_load():
    p = load_presets()
    assert list(p["categories"]) == PACKAGED
    assert p["files"] == [str(PRESETS_PATH)]
    for cat in p["categories"].values():
        assert cat["label_de"] and cat["label_en"] and cat["description"]
        assert cat["match"] and all(isinstance(rule, dict) and rule for rule in cat["match"])
    assert {"amenity": "library"} in p["categories"]["library"]["match"]


def test_user_presets_replace_and_add(tmp_path):
    user = _write(
        tmp_path,
        """
categories:
  library:                      # replaces the packaged one
    label_de: Öffentliche Bibliothek
    label_en: Public library
    match:
      - amenity: library
        access: ["yes", null]
  townhall:                     # new
    label_de: Rathaus
    label_en: Town hall
    description: Bürgerbüro im Rathaus
    match:
      - {amenity: townhall}
""",
        "my_presets.yaml",
    )
    p = load_presets(user)
    cats = p["categories"]
    assert list(cats) == [*PACKAGED, "townhall"]  # replaced keeps its place, new comes last
    assert cats["library"]["label_en"] == "Public library"
    assert cats["library"]["match"] == [{"amenity": "library", "access": ["yes", None]}]
    assert cats["library"]["description"] == ""
    assert cats["townhall"]["match"] == [{"amenity": "townhall"}]
    assert cats["advice_centre"] == load_presets()["categories"]["advice_centre"]
    assert p["files"] == [str(PRESETS_PATH), str(user)]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "categories:\n  library:\n    lable_en: Library\n    label_de: B\n    match: [{amenity: library}]\n",
            ["category 'library'", "unknown key 'lable_en'", "did you mean 'label_en'"],
        ),
        (
            "categories:\n  library:\n    label_en: L\n    label_de: B\n    match: []\n",
            ["category 'library'", "'match' must be a non-empty list", "empty"],
        ),
        (
            "categories:\n  ramp:\n    label_en: L\n    label_de: B\n    match: [{wheelchair: yes}]\n",
            ["category 'ramp'", "wheelchair", "quotes"],
        ),
        (
            "categories:\n  lib:\n    label_en: L\n    label_de: B\n    match: [{amenity: 1.5}]\n",
            ["category 'lib'", "amenity", "must be a text"],
        ),
        (
            "categories:\n  lib:\n    label_en: L\n    label_de: B\n    match: [amenity]\n",
            ["category 'lib', match rule 1", "non-empty mapping"],
        ),
        (
            "categories:\n  lib:\n    label_en: L\n    label_de: B\n    match: [{osm_type: nodes}]\n",
            ["category 'lib'", "osm_type 'nodes'"],
        ),
        (
            "categories:\n  lib:\n    label_en: L\n    match: [{amenity: library}]\n",
            ["category 'lib'", "'label_de' is missing"],
        ),
        (
            "categories:\n  Public Library:\n    label_en: L\n    label_de: B\n    match: [{amenity: library}]\n",
            ["'Public Library'", "snake_case"],
        ),
        ("categories:\n  lib: library\n", ["category 'lib' must be a mapping"]),
        ("categories: []\n", ["non-empty mapping"]),
        (
            "categorys:\n  lib: {}\n",
            ["unknown top-level key 'categorys'", "did you mean 'categories'"],
        ),
        ("", ["empty"]),
        ("categories:\n  lib: {label_en: [L\n", ["not valid YAML", "line"]),
        (
            "categories:\n  lib:\n    label_en: A\n    label_de: B\n    match: [{amenity: library}]\n"
            "  lib:\n    label_en: A\n    label_de: B\n    match: [{amenity: library}]\n",
            ["'lib' appears twice"],
        ),
    ],
)
def test_preset_errors_name_file_category_and_problem(tmp_path, body, expected):
    user = _write(tmp_path, body, "bad.yaml")
    with pytest.raises(InputError) as exc:
        load_presets(user)
    msg = str(exc.value)
    assert msg.startswith(str(user)), msg
    for part in expected:
        assert part in msg, msg


def test_missing_preset_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_presets(tmp_path / "nope.yaml")


def test_typo_category_suggests_the_closest():
    p = load_presets()
    check_categories(["library", "advice_centre"], p)  # fine
    with pytest.raises(InputError) as exc:
        check_categories(["library", "libary"], p, file="scenario.yaml")
    msg = str(exc.value)
    assert msg.startswith("scenario.yaml: ")
    assert "'libary' (did you mean 'library'?)" in msg
    assert "available: advice_centre, library, community_centre, shopfront_office" in msg
    with pytest.raises(InputError, match="did you mean 'advice_centre'"):
        check_categories(["Advice Centre"], p)
    with pytest.raises(InputError, match="did you mean 'community_centre'"):
        check_categories(["comunity_center"], p)


# ----------------------------------------------------------------------------- OSM rules


def _frame(rows):
    """A small features frame like read_osm().features (only to test the rule logic)."""
    return gpd.GeoDataFrame(
        pd.DataFrame(
            [(t, i, tags.get("name"), tags, None) for t, i, tags in rows],
            columns=["osm_type", "osm_id", "name", "tags", "entrance"],
        ),
        geometry=[
            shapely.Point(7.77, 49.44) if t == "node" else shapely.box(7.77, 49.44, 7.771, 49.441)
            for t, _, _ in rows
        ],
        crs="EPSG:4326",
    )


def test_rules_first_category_wins_and_tag_semantics():
    f = _frame(
        [
            ("node", 1, {"office": "ngo", "social_facility": "outreach", "name": "Beratung"}),
            ("node", 2, {"office": "ngo", "name": "Verein"}),
            ("way", 3, {"office": "ngo", "building": "yes", "name": "Vereinshaus"}),
            ("node", 4, {"amenity": "social_facility", "social_facility:for": "senior;migrant"}),
            (
                "node",
                5,
                {
                    "amenity": "social_facility",
                    "social_facility": "shelter",
                    "social_facility:for": "refugee",
                },
            ),  # fmt: skip
            ("node", 6, {"amenity": "social_facility"}),
            ("way", 7, {"amenity": "youth_centre", "name": "Jugendhaus"}),
            ("node", 8, {"shop": "charity"}),
            ("node", 9, {"amenity": "library", "name": "", "office": "ngo"}),
        ]
    )
    p = load_presets()
    s = sites_from_osm(f, p).set_index("site_id")
    assert s["category"].to_dict() == {
        "osm:node/1": "advice_centre",  # before shopfront_office in preset order
        "osm:node/2": "shopfront_office",
        "osm:node/4": "advice_centre",  # multi-value "senior;migrant"
        "osm:way/7": "community_centre",
        "osm:node/8": "shopfront_office",
        "osm:node/9": "library",
    }  # way 3: offices as whole buildings are no shopfronts; 5: a shelter; 6: no type
    assert s.loc["osm:node/8", "name"] == "Shopfront office (osm:node/8)"
    assert s.loc["osm:node/9", "name"] == "Library (osm:node/9)"  # empty name = unnamed
    # Only the requested categories compete: node 1 is a shopfront office then.
    only = sites_from_osm(f, p, categories=["shopfront_office"]).set_index("site_id")
    assert only["category"].to_dict() == {
        "osm:node/1": "shopfront_office",
        "osm:node/2": "shopfront_office",
        "osm:node/8": "shopfront_office",
        "osm:node/9": "shopfront_office",
    }
    with pytest.raises(InputError, match="did you mean 'library'"):
        sites_from_osm(f, p, categories=["librar"])


# ----------------------------------------------------------------------------- Kaiserslautern


@pytest.fixture(scope="module")
def kl_features(kl_extract):
    return kl_extract.features


@pytest.fixture(scope="module")
def kl_sites(kl_features):
    return sites_from_osm(kl_features, load_presets())


def test_every_osm_library_becomes_a_library_site(kl_features, kl_sites):
    expected = set()
    for osm_type, osm_id, tags in zip(
        kl_features["osm_type"], kl_features["osm_id"], kl_features["tags"], strict=True
    ):
        if tags.get("amenity") == "library":
            expected.add(f"osm:{osm_type}/{osm_id}")
    assert expected  # the extract has libraries (PROVENANCE.md: 5)
    got = kl_sites[kl_sites["category"] == "library"]
    assert set(got["site_id"]) == expected
    assert len(got) == len(expected)
    assert "Stadtbibliothek" in set(got["name"])


def test_kl_site_frame_layout(kl_features, kl_sites):
    assert list(kl_sites.columns) == SITE_COLUMNS
    assert kl_sites.crs.to_epsg() == 4326
    assert kl_sites["site_id"].is_unique
    assert set(kl_sites["source"]) == {"osm"}
    assert kl_sites["row"].isna().all()
    assert (kl_sites.geom_type == "Point").all()
    assert set(kl_sites["category"]) <= set(PACKAGED)
    by_id = {
        f"osm:{t}/{i}": (n, tags)
        for t, i, n, tags in zip(
            kl_features["osm_type"], kl_features["osm_id"], kl_features["name"],
            kl_features["tags"], strict=True,
        )
    }  # fmt: skip
    labels = {c: v["label_en"] for c, v in load_presets()["categories"].items()}
    for sid, name, cat, tags_json in zip(
        kl_sites["site_id"], kl_sites["name"], kl_sites["category"], kl_sites["osm_tags"],
        strict=True,
    ):  # fmt: skip
        osm_name, tags = by_id[sid]
        assert json.loads(tags_json) == tags
        if isinstance(osm_name, str) and osm_name:
            assert name == osm_name
        else:
            assert name == f"{labels[cat]} ({sid})"


def test_polygon_sites_get_a_point_inside(kl_features, kl_sites):
    geom = dict(
        zip(
            "osm:" + kl_features["osm_type"] + "/" + kl_features["osm_id"].astype(str),
            kl_features.geometry,
            strict=True,
        )
    )
    polys = kl_sites[~kl_sites["site_id"].str.startswith("osm:node/")]
    assert len(polys) >= 3  # Pfalzbibliothek, Stadtbibliothek, Caritaszentrum
    for sid, pt in zip(polys["site_id"], polys.geometry, strict=True):
        assert geom[sid].geom_type in ("Polygon", "MultiPolygon")
        assert geom[sid].contains(pt), sid
    nodes = kl_sites[kl_sites["site_id"].str.startswith("osm:node/")]
    for sid, pt in zip(nodes["site_id"], nodes.geometry, strict=True):
        assert pt.equals(geom[sid])


def test_entrances_are_used_when_present(kl_features, tmp_path):
    # Every building as a category, so all entrances of the file are exercised.
    user = _write(
        tmp_path,
        "categories:\n  building:\n    label_de: Gebäude\n    label_en: Building\n"
        "    match: [{building: '*'}]\n",
        "buildings.yaml",
    )
    sites = sites_from_osm(kl_features, load_presets(user), categories=["building"])
    feats = kl_features.set_index(
        "osm:" + kl_features["osm_type"] + "/" + kl_features["osm_id"].astype(str)
    )
    has_ent = feats["entrance"].notna()
    assert has_ent.sum() > 0
    joined = sites.set_index("site_id").join(
        feats[["entrance"]].rename(columns={"entrance": "ent"})
    )
    joined["poly"] = feats.geometry.reindex(joined.index).to_numpy()
    with_ent = joined[joined["ent"].notna()]
    assert len(with_ent) > 0
    for pt, ent, poly in zip(with_ent.geometry, with_ent["ent"], with_ent["poly"], strict=True):
        assert pt.equals(ent)
        assert poly.boundary.distance(pt) < 1e-9  # the entrance lies on the outline
    without = joined[joined["ent"].isna()]
    assert shapely.contains(np.asarray(without["poly"], dtype=object),
                            np.asarray(without.geometry.values, dtype=object)).all()  # fmt: skip
    # The town hall (Rathaus) has a mapped entrance.
    user2 = _write(
        tmp_path,
        "categories:\n  townhall:\n    label_de: Rathaus\n    label_en: Town hall\n"
        "    match: [{amenity: townhall}]\n",
        "townhall.yaml",
    )
    th = sites_from_osm(kl_features, load_presets(user2), categories=["townhall"])
    assert len(th) == 1 and th["name"].iloc[0] == "Rathaus Kaiserslautern"
    ent = feats.loc[th["site_id"].iloc[0], "entrance"]
    assert ent is not None and th.geometry.iloc[0].equals(ent)


# ----------------------------------------------------------------------------- user files


GOOD = """id,name,category,lat,lon,opening_hours
A1,Stadtbibliothek,library,49.44601,7.77374,Mo-Fr 10-18
A2,Migrationsberatung Caritas,advice_centre,49.44634,7.77303,
"""


def test_read_good_csv(tmp_path):
    sites, rej = _read(tmp_path, GOOD)
    assert rej.empty
    assert list(sites.columns) == [*SITE_COLUMNS, "opening_hours"]
    assert sites.crs.to_epsg() == 4326
    assert sites["site_id"].tolist() == ["A1", "A2"]
    assert sites["source"].tolist() == ["sites.csv", "sites.csv"]
    assert sites["row"].tolist() == [1, 2]
    assert sites["osm_tags"].isna().all()
    assert sites["opening_hours"].tolist() == ["Mo-Fr 10-18", ""]
    assert sites.geometry.iloc[0].equals(shapely.Point(7.77374, 49.44601))


def test_csv_without_id_column_semicolon_decimal_comma_cp1252(tmp_path):
    text = "Name;Kategorie_x;Category;Latitude;Longitude\nBürgerhaus Süd;;community_centre;49,4432;7,7601\n"
    p = _write(tmp_path, text, "Andockstellen.csv", encoding="cp1252")
    rejects = Rejects()
    sites = read_sites(p, rejects)
    assert len(rejects) == 0
    assert sites["site_id"].tolist() == ["Andockstellen:1"]
    assert sites["name"].tolist() == ["Bürgerhaus Süd"]
    assert sites["Kategorie_x"].tolist() == [""]  # extra column kept
    assert sites.geometry.iloc[0].equals(shapely.Point(7.7601, 49.4432))


def test_csv_x_y_needs_and_uses_crs(tmp_path):
    from pyproj import Transformer

    x, y = Transformer.from_crs(4326, 25832, always_xy=True).transform(7.77374, 49.44601)
    text = f"name,category,x,y\nStadtbibliothek,library,{x:.2f},{y:.2f}\n"
    with pytest.raises(InputError) as exc:
        _read(tmp_path, text)
    assert "crs" in str(exc.value) and "EPSG:25832" in str(exc.value)
    sites, rej = _read(tmp_path, text, crs="EPSG:25832")
    assert rej.empty
    pt = sites.geometry.iloc[0]
    assert abs(pt.x - 7.77374) < 1e-6 and abs(pt.y - 49.44601) < 1e-6
    with pytest.raises(InputError, match="unknown CRS"):
        _read(tmp_path, text, crs="EPSG:999999")


@pytest.mark.parametrize(
    ("header", "missing", "suggestion"),
    [
        ("nmae,category,lat,lon", "'name'", "Did you mean 'name' for column 'nmae'?"),
        ("name,categroy,lat,lon", "'category'", "Did you mean 'category' for column 'categroy'?"),
        ("name,category,lattitude,lon", "'lat'", "Did you mean 'lat' for column 'lattitude'?"),
        ("name,category,lat", "'lon'", None),
        ("name,category,address", "'lat', 'lon'", None),
    ],
)
def test_missing_or_misspelt_columns(tmp_path, header, missing, suggestion):
    p = _write(tmp_path, header + "\n" + ",".join(["x"] * header.count(",")) + ",1\n")
    with pytest.raises(InputError) as exc:
        read_sites(p, Rejects())
    msg = str(exc.value)
    assert msg.startswith(str(p))
    assert f"{missing} missing" in msg
    assert "name, category and lat, lon" in msg  # says what is needed
    if suggestion:
        assert suggestion in msg


def test_empty_files(tmp_path):
    with pytest.raises(InputError, match="the file is empty"):
        read_sites(_write(tmp_path, ""), Rejects())
    with pytest.raises(InputError, match="the file is empty"):
        read_sites(_write(tmp_path, "\n \n"), Rejects())
    with pytest.raises(InputError, match="no data rows"):
        read_sites(_write(tmp_path, "name,category,lat,lon\n"), Rejects())
    with pytest.raises(InputError, match="not found"):
        read_sites(tmp_path / "missing.csv", Rejects())
    with pytest.raises(InputError, match=r"unknown file type '\.xlsx'"):
        read_sites(_write(tmp_path, "x", "sites.xlsx"), Rejects())


BAD = f"""id,name,category,lat,lon
s1,Stadtbibliothek,library,49.44601,7.77374
s2,Ohne Koordinaten,advice_centre,,
s3,Tippfehler,library,49.4x,7.77
s4,Zu weit,library,149.4,7.77
s5,Lon zu groß,library,49.44,200
s6,,library,49.44,7.77
s7,Ohne Kategorie,,49.44,7.77
s1,Doppelt,library,49.45,7.78

s9,Vertauscht,library,7.77374,49.44601
s10,UTM statt Grad,library,5477000,412000
s11,"{HOSTILE}",community_centre,49.4450,7.7700
s12,Halb,library,49.44,
s13,Komma, nicht gequotet,library,49.44,7.77
"""


def test_bad_rows_are_rejected_with_reasons(tmp_path):
    sites, rej = _read(tmp_path, BAD, bounds=KL_BOUNDS)
    assert sites["site_id"].tolist() == ["s1", "s11"]
    assert sites["name"].tolist() == ["Stadtbibliothek", HOSTILE]  # kept verbatim, as data
    assert (rej["file"] == str(tmp_path / "sites.csv")).all()
    by_row = {
        int(r): (reason, value)
        for r, reason, value in zip(rej["row"], rej["reason"], rej["value"], strict=True)
    }
    assert sorted(by_row) == [2, 3, 4, 5, 6, 7, 8, 10, 11, 13, 14]  # row 9 is the blank line
    assert by_row[2][0] == NO_COORDINATES
    assert "not a number" in by_row[3][0] and "49.4x" in by_row[3][1]
    assert "lat outside [-90, 90]" in by_row[4][0] and "lat=149.4" in by_row[4][1]
    assert "lon outside [-180, 180]" in by_row[5][0] and "lon=200" in by_row[5][1]
    assert by_row[6] == ("empty name; give every site a name", "id=s6, category=library")
    assert by_row[7][0].startswith("empty category") and by_row[7][1] == "Ohne Kategorie"
    assert "duplicate id" in by_row[8][0] and by_row[8][1] == "s1 (first in row 1)"
    assert "look swapped" in by_row[10][0] and "lat=7.77374, lon=49.44601" in by_row[10][1]
    assert "projected coordinates" in by_row[11][0] and "--sites-crs" in by_row[11][0]
    assert by_row[13][0] == "lon is empty; give both lat and lon"
    assert "more fields than the header" in by_row[14][0] and "double quotes" in by_row[14][0]


def test_swapped_only_flagged_with_bounds_and_far_points_kept(tmp_path):
    text = (
        "name,category,lat,lon\n"
        "Vertauscht,library,7.77374,49.44601\n"
        "Weit weg (Berlin),library,52.52,13.40\n"
        "Drin,library,49.44601,7.77374\n"
    )
    sites, rej = _read(tmp_path, text)  # no bounds: no swap check, nothing rejected
    assert len(sites) == 3 and rej.empty
    sites, rej = _read(tmp_path, text, bounds=KL_BOUNDS)
    assert sites["name"].tolist() == ["Weit weg (Berlin)", "Drin"]  # far is checked later
    assert rej["row"].tolist() == [1] and "look swapped" in rej["reason"].iloc[0]


def test_all_rows_rejected_raises(tmp_path):
    text = "name,category,lat,lon\nA,library,,\nB,library,abc,7\n"
    rejects = Rejects()
    with pytest.raises(AllRejectedError) as exc:
        read_sites(_write(tmp_path, text), rejects)
    msg = str(exc.value)
    assert msg.startswith(str(tmp_path / "sites.csv")) and "all 2 rows were rejected" in msg
    assert NO_COORDINATES in msg
    assert rejects.frame()["row"].tolist() == [1, 2]  # still reported row by row


def test_read_geojson_points_polygons_and_bad_geometries(tmp_path):
    poly = shapely.box(7.7735, 49.4458, 7.7740, 49.4462)
    gdf = gpd.GeoDataFrame(
        {
            "name": ["Punkt", "Fläche", HOSTILE, "Linie", "Leer", "Vertauscht"],
            "category": ["library", "library", "advice_centre", "library", "library", "library"],
            "id": [10, 11, 12, 13, 14, 15],
        },
        geometry=[
            shapely.Point(7.77, 49.44),
            poly,
            shapely.Point(7.771, 49.441),
            shapely.LineString([(7.77, 49.44), (7.78, 49.45)]),
            None,
            shapely.Point(49.44, 7.77),
        ],
        crs="EPSG:4326",
    )
    p = tmp_path / "sites.geojson"
    gdf.to_file(p, driver="GeoJSON")
    rejects = Rejects()
    sites = read_sites(p, rejects, bounds=KL_BOUNDS)
    assert sites["site_id"].tolist() == ["10", "11", "12"]
    assert sites["name"].tolist() == ["Punkt", "Fläche", HOSTILE]
    assert sites["row"].tolist() == [1, 2, 3]
    assert poly.contains(sites.geometry.iloc[1])
    rej = rejects.frame()
    assert rej["row"].tolist() == [4, 5, 6]
    assert (
        "not a point or polygon" in rej["reason"].iloc[0] and rej["value"].iloc[0] == "LineString"
    )
    assert rej["reason"].iloc[1] == NO_COORDINATES
    assert "look swapped" in rej["reason"].iloc[2]


def test_read_geopackage_in_projected_crs(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"Name": ["Stadtbibliothek"], "category": ["library"]},
        geometry=[shapely.Point(7.77374, 49.44601)],
        crs="EPSG:4326",
    ).to_crs("EPSG:25832")
    p = tmp_path / "sites.gpkg"
    gdf.to_file(p, driver="GPKG")
    sites = read_sites(p, Rejects())
    assert sites.crs.to_epsg() == 4326
    pt = sites.geometry.iloc[0]
    assert abs(pt.x - 7.77374) < 1e-7 and abs(pt.y - 49.44601) < 1e-7
    assert sites["site_id"].tolist() == ["sites:1"] and sites["source"].tolist() == ["sites.gpkg"]


def test_combine_sites_and_duplicate_ids(tmp_path, kl_sites):
    user, _ = _read(tmp_path, GOOD)
    both = combine_sites(kl_sites, user)
    assert len(both) == len(kl_sites) + len(user)
    assert list(both.columns) == [*SITE_COLUMNS, "opening_hours"]
    assert both["site_id"].is_unique and both.crs.to_epsg() == 4326
    assert both["row"].dtype == "Int64"
    assert combine_sites([kl_sites]).equals(combine_sites(kl_sites))
    other = read_sites(_write(tmp_path, GOOD.replace("A2", "B2"), "more.csv"), Rejects())
    with pytest.raises(InputError) as exc:
        combine_sites(kl_sites, user, other)
    msg = str(exc.value)
    assert "'A1' (sites.csv row 1, more.csv row 1)" in msg
    assert "B2" not in msg and "unique" in msg
    assert len(combine_sites()) == 0


def test_hostile_name_round_trips_through_gpkg(tmp_path):
    sites, _ = _read(tmp_path, f'name,category,lat,lon\n"{HOSTILE}",library,49.44,7.77\n')
    out = tmp_path / "out.gpkg"
    combine_sites(sites).to_file(out, driver="GPKG")
    assert gpd.read_file(out)["name"].tolist() == [HOSTILE]


# ----------------------------------------------------------------------------- duplicates


def _near(point, metres_east):
    """``point`` (EPSG:4326) moved ``metres_east`` metres east, as (lat, lon)."""
    from pyproj import Geod

    lon, lat, _ = Geod(ellps="WGS84").fwd(point.x, point.y, 90, metres_east)
    return lat, lon


def _load_both(tmp_path, extract, text, categories=("library",)):
    from accessibility.pipeline import load_sites

    rejects = Rejects()
    sites, _ = load_sites(
        extract, rejects, {"inputs": {}}, sites=_write(tmp_path, text),
        osm_categories=list(categories),
    )  # fmt: skip
    return sites, rejects.frame()


@pytest.fixture(scope="module")
def stadtbibliothek(kl_sites):
    """The OSM Stadtbibliothek (a building polygon, amenity=library) of the Kaiserslautern extract."""
    hit = kl_sites[kl_sites["name"] == "Stadtbibliothek"]
    assert len(hit) == 1 and hit["category"].iloc[0] == "library"
    return hit.iloc[0]


def test_user_site_replaces_the_same_osm_library(tmp_path, kl_extract, stadtbibliothek):
    lat, lon = _near(stadtbibliothek.geometry, 20)
    text = f"id,name,category,lat,lon\nsb,STADT-bibliothek ,library,{lat},{lon}\n"
    text += "far,Bücherbus Halt,library,49.43,7.73\n"
    sites, rej = _load_both(tmp_path, kl_extract, text)
    here = gpd.GeoSeries([stadtbibliothek.geometry], crs="EPSG:4326").to_crs("EPSG:25832")
    near = sites.to_crs("EPSG:25832").distance(here.iloc[0]) < 100
    same = sites[near & sites["name"].str.casefold().str.contains("bibliothek")]
    assert same["site_id"].tolist() == ["sb"] and same["source"].tolist() == ["sites.csv"]
    assert "far" in set(sites["site_id"])
    assert stadtbibliothek["site_id"] not in set(sites["site_id"])
    assert len(rej) == 1
    r = rej.iloc[0]
    assert r["file"] == "osm" and pd.isna(r["row"])
    assert r["reason"].startswith("duplicate: a site of the same category within 50 m")
    assert r["value"].startswith(
        f'{stadtbibliothek["site_id"]} "Stadtbibliothek" (library) = sb "STADT-bibliothek", '
    )
    assert r["value"].endswith("m apart; kept sites.csv row 1")


@pytest.mark.parametrize(
    "metres, name, category",
    [
        (0, "Stadtbibliothek", "advice_centre"),  # another category at the same place
        (30, "Kinderbibliothek Am Markt", "library"),  # another library close by
    ],
)
def test_different_sites_close_by_are_both_kept(
    tmp_path, kl_extract, stadtbibliothek, metres, name, category
):
    lat, lon = _near(stadtbibliothek.geometry, metres)
    text = f"id,name,category,lat,lon\nmine,{name},{category},{lat},{lon}\n"
    sites, rej = _load_both(tmp_path, kl_extract, text)
    assert {"mine", stadtbibliothek["site_id"]} <= set(sites["site_id"])
    assert len(rej) == 0


def test_osm_node_next_to_the_same_osm_building_is_merged(helsinki_pbf):
    """Helsinki maps the National Library twice: a node 25 m outside the building polygon.

    Neither real extract (Kaiserslautern, Helsinki) has a node *inside* a polygon of its
    category; this node-beside-polygon pair is the real OSM duplicate they contain.
    """
    from accessibility.inputs.osm import read_osm
    from accessibility.pipeline import load_sites

    extract = read_osm(helsinki_pbf)
    every = sites_from_osm(extract.features, load_presets())
    rejects = Rejects()
    sites, _ = load_sites(extract, rejects, {"inputs": {}})
    rej = rejects.frame()
    assert len(sites) == len(every) - 1
    assert rej["value"].tolist() == [
        'osm:node/369550855 "Kansalliskirjasto" (library) = osm:way/122595247 '
        '"Kansalliskirjasto", 25 m apart; kept osm'
    ]
    assert rej["reason"].iloc[0].startswith("duplicate: a site of the same category within 50 m")
    assert "osm:way/122595247" in set(sites["site_id"])
    # offices sharing one address but with different names all stay
    assert (sites["category"] == "shopfront_office").sum() == (
        every["category"] == "shopfront_office"
    ).sum()


def test_names_are_compared_folded():
    from accessibility.inputs.site_duplicates import normalise_name

    names = pd.Series(["Stadt-Bibliothek, Süd", "STADTBIBLIOTHEK SUED", "Bücherei", "Buecherei"])
    out = normalise_name(names).tolist()
    assert out == ["stadtbibliotheksued", "stadtbibliotheksued", "buecherei", "buecherei"]
    assert normalise_name(pd.Series(["Straße 1", "strasse1"])).nunique() == 1


# ----------------------------------------------------------------------------- addresses


@pytest.fixture(scope="module")
def kl_geocoder(kl_extract):
    from accessibility.inputs.geocode import OfflineGeocoder

    return OfflineGeocoder.from_extract(kl_extract)


def _osm_point(kl_extract, street, number):
    for t, g in zip(kl_extract.features["tags"], kl_extract.features.geometry, strict=True):
        if t.get("addr:street") == street and t.get("addr:housenumber") == number:
            return g.representative_point()
    raise AssertionError(f"{street} {number} not in the extract")


def test_sites_by_address_are_geocoded(tmp_path, kl_extract, kl_geocoder):
    text = (
        "id,name,category,street,housenumber,postcode,city\n"
        "a1,Beratung Nord,advice_centre,Albert-Schweitzer-Str.,47,67655,Kaiserslautern\n"
        "a2,Stadtteilbüro,shopfront_office,kettelerstrasse,3,,\n"
        "a3,Erfunden,advice_centre,Erfundenestraße,3,67655,Kaiserslautern\n"
        "a4,Zu weit,advice_centre,Blücherstraße,999,,\n"
    )
    rejects = Rejects()
    sites = read_sites(_write(tmp_path, text), rejects, bounds=KL_BOUNDS, geocoder=kl_geocoder)
    assert sites["site_id"].tolist() == ["a1", "a2"]
    assert sites["geocode_quality"].tolist() == ["normalised", "normalised"]
    assert sites["matched_address"].iloc[0] == "Albert-Schweitzer-Straße 47, 67655 Kaiserslautern"
    for pt, (street, number) in zip(
        sites.geometry, [("Albert-Schweitzer-Straße", "47"), ("Kettelerstraße", "3")], strict=True
    ):
        ref = _osm_point(kl_extract, street, number)
        assert pt.distance(ref) < 1e-9
    rej = rejects.frame()
    assert rej["row"].tolist() == [3, 4]
    assert rej["reason"].iloc[0].startswith("address not found: street 'Erfundenestraße'")
    assert "closest known streets" in rej["reason"].iloc[0]
    assert rej["value"].iloc[0] == "Erfundenestraße 3, 67655 Kaiserslautern"
    assert "outside the mapped numbers" in rej["reason"].iloc[1]


def test_mixed_coordinates_and_addresses(tmp_path, kl_extract, kl_geocoder):
    text = (
        "name;category;lat;lon;Adresse\n"
        "Mit Koordinaten;library;49,44601;7,77374;Blücherstraße 15\n"
        "Nur Adresse;library;;;Blücherstr. 15, 67655 Kaiserslautern\n"
        "Gar nichts;library;;;\n"
    )
    rejects = Rejects()
    sites = read_sites(_write(tmp_path, text), rejects, geocoder=kl_geocoder)
    assert sites["name"].tolist() == ["Mit Koordinaten", "Nur Adresse"]
    assert sites["geocode_quality"].tolist() == ["coordinates", "normalised"]
    assert abs(sites.geometry.iloc[0].y - 49.44601) < 1e-9  # coordinates win over the address
    assert sites.geometry.iloc[1].distance(_osm_point(kl_extract, "Blücherstraße", "15")) < 1e-9
    rej = rejects.frame()
    assert rej["row"].tolist() == [3] and rej["reason"].iloc[0] == NO_COORDINATES
    # without a geocoder the address row is rejected as before
    rejects = Rejects()
    sites = read_sites(_write(tmp_path, text), rejects)
    assert sites["name"].tolist() == ["Mit Koordinaten"]
    assert (rejects.frame()["reason"] == NO_COORDINATES).all() and len(rejects) == 2


def test_geojson_features_without_geometry_use_their_address(tmp_path, kl_extract, kl_geocoder):
    gdf = gpd.GeoDataFrame(
        {
            "name": ["Punkt", "Adresse"],
            "category": ["library", "library"],
            "address": ["", "Moltkestraße 42"],
        },
        geometry=[shapely.Point(7.77, 49.44), None],
        crs="EPSG:4326",
    )
    p = tmp_path / "sites.geojson"
    gdf.to_file(p, driver="GeoJSON")
    rejects = Rejects()
    sites = read_sites(p, rejects, geocoder=kl_geocoder)
    assert sites["name"].tolist() == ["Punkt", "Adresse"] and len(rejects) == 0
    assert sites["geocode_quality"].tolist() == ["coordinates", "exact"]
    assert sites.geometry.iloc[1].distance(_osm_point(kl_extract, "Moltkestraße", "42")) < 1e-9

"""Study area, Overpass query and the Overpass-JSON → OSM-file bridge, without internet.

The download itself is exercised through its offline equivalents: the real
Kaiserslautern extract turned into exactly what Overpass returns for ``out body;``,
and real failed requests to an unroutable local port. Downloads through a local
Overpass/Nominatim stand-in are tested in ``test_online.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from accessibility.core.network import load_network
from accessibility.errors import InputError, NetworkError
from accessibility.geo import metric_crs
from accessibility.inputs import download as dl
from accessibility.inputs.osm import read_osm, walk_filter

DEAD_URL = "http://127.0.0.1:9/"
KL_BBOX = (7.717, 49.418, 7.821, 49.457)


# -- helpers ---------------------------------------------------------------------------
def overpass_elements(path: Path) -> list[dict]:
    """Every object of an OSM file as Overpass prints it for ``[out:json]`` + ``out body;``."""
    import osmium

    out: list[dict] = []
    for obj in osmium.FileProcessor(str(path)):
        tags = {t.k: t.v for t in obj.tags}
        if obj.is_node():
            el = {"type": "node", "id": obj.id, "lat": obj.location.lat, "lon": obj.location.lon}
        elif obj.is_way():
            el = {"type": "way", "id": obj.id, "nodes": [n.ref for n in obj.nodes]}
        else:
            types = {"n": "node", "w": "way", "r": "relation"}
            el = {
                "type": "relation",
                "id": obj.id,
                "members": [
                    {"type": types[m.type], "ref": m.ref, "role": m.role} for m in obj.members
                ],
            }
        if tags:
            el["tags"] = tags
        out.append(el)
    return out


def overpass_response(elements: list[dict]) -> dict:
    return {
        "version": 0.6,
        "generator": "Overpass API (local test server)",
        "osm3s": {"timestamp_osm_base": "2013-04-24T00:00:00Z", "copyright": "ODbL"},
        "elements": elements,
    }


@pytest.fixture(scope="module")
def kl_elements(kl_osm) -> list[dict]:
    return overpass_elements(kl_osm)


@pytest.fixture(scope="module")
def kl_converted(kl_elements, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("converted") / "kl.osm"
    return dl.overpass_json_to_osm([overpass_response(kl_elements)], path)


@pytest.fixture
def osmnx_settings(monkeypatch, tmp_path):
    """osmnx settings restored after the test; short timeout, own response cache."""
    import osmnx as ox

    monkeypatch.setattr(ox.settings, "requests_timeout", 3)
    monkeypatch.setattr(ox.settings, "cache_folder", str(tmp_path / "osmnx-cache"))
    monkeypatch.setattr(ox.settings, "log_console", False)
    return ox.settings


def _sorted(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return df.sort_values(cols, kind="stable").reset_index(drop=True)


def assert_same_extract(a, b) -> None:
    pd.testing.assert_frame_equal(_sorted(a.nodes, ["osmid"]), _sorted(b.nodes, ["osmid"]))
    pd.testing.assert_frame_equal(a.segments, b.segments)
    assert a.bounds == b.bounds
    assert a.stats == b.stats
    fa, fb = (_sorted(f, ["osm_type", "osm_id"]) for f in (a.features, b.features))
    assert len(fa) == len(fb) > 1000
    for col in ("osm_type", "osm_id", "name"):
        # missing names are NaN (pandas string dtype); NaN != NaN after a pickle round trip
        assert fa[col].fillna("").tolist() == fb[col].fillna("").tolist()
    assert fa["tags"].tolist() == fb["tags"].tolist()
    assert shapely.equals_exact(fa.geometry.values, fb.geometry.values, tolerance=0).all()
    ea = shapely.from_wkb([None if p is None else p.wkb for p in fa["entrance"]])
    eb = shapely.from_wkb([None if p is None else p.wkb for p in fb["entrance"]])
    assert ((ea == None) == (eb == None)).all()  # noqa: E711
    ia, ib = (_sorted(i, ["osm_id"]) for i in (a.interpolations, b.interpolations))
    assert ia["osm_id"].tolist() == ib["osm_id"].tolist()
    assert ia["node_ids"].tolist() == ib["node_ids"].tolist()
    assert shapely.equals_exact(ia.geometry.values, ib.geometry.values, tolerance=0).all()


def assert_same_network(a, b) -> None:
    assert a.crs == b.crs
    np.testing.assert_array_equal(a.node_osmid, b.node_osmid)
    np.testing.assert_array_equal(a.node_xy, b.node_xy)
    np.testing.assert_array_equal(a.u, b.u)
    np.testing.assert_array_equal(a.v, b.v)
    np.testing.assert_array_equal(a.way_id, b.way_id)
    np.testing.assert_array_equal(a.length, b.length)


# -- the bridge ------------------------------------------------------------------------
def test_overpass_json_to_osm_reproduces_the_real_file(
    kl_osm, kl_converted, kl_extract, kl_network
):
    assert kl_converted.suffix == ".osm" and kl_converted.read_bytes().startswith(b"<?xml")
    extract = read_osm(kl_converted)  # a new file: parsed, not a cache hit
    assert extract.stats["nodes"] == 98_828 and extract.stats["ways"] == 21_706
    assert extract.stats["relations"] == 216
    assert_same_extract(extract, kl_extract)
    assert extract.sha256 != kl_extract.sha256
    assert_same_network(load_network(kl_converted), kl_network)


def test_overlapping_responses_are_merged_and_deduplicated(kl_elements, tmp_path):
    part = kl_elements[::4]  # a quarter of the real file keeps the test fast
    n = len(part)
    rng = np.random.default_rng(0)
    # two overlapping sub-query answers, each in its own (shuffled) order
    first = [part[i] for i in rng.permutation(np.arange(0, int(n * 0.6)))]
    second = [part[i] for i in rng.permutation(np.arange(int(n * 0.4), n))]
    # (a plain element list is accepted as well as a response dict)
    merged = dl.overpass_json_to_osm([second, overpass_response(first)], tmp_path / "merged.osm")
    single = dl.overpass_json_to_osm([overpass_response(part)], tmp_path / "single.osm")
    assert merged.read_bytes() == single.read_bytes()
    assert single.read_bytes().count(b"<node ") == sum(el["type"] == "node" for el in part)


def test_overpass_json_to_osm_small_cases(tmp_path):
    import osmium

    elements = [
        {"type": "relation", "id": 7, "tags": {"type": "multipolygon", "building": "yes"},
         "members": [{"type": "way", "ref": 5, "role": "outer"}, {"type": "node", "ref": 2, "role": ""}]},
        {"type": "way", "id": 5, "nodes": [1, 2, 3, 1], "tags": {"name": 'A & "B" <C>'}},
        {"type": "node", "id": 3, "lat": 49.4400001, "lon": 7.7600001, "version": 4,
         "timestamp": "2020-01-02T03:04:05Z", "changeset": 9, "uid": 11, "user": "ü"},
        {"type": "node", "id": 2, "lat": 49.44, "lon": 7.7612345},
        {"type": "node", "id": 1, "lat": -0.0000001, "lon": 179.9999999, "tags": {"entrance": "yes"}},
        {"type": "node", "id": 2, "lat": 49.44, "lon": 7.7612345},  # duplicate
        {"type": "area", "id": 3600000001},  # not an OSM object: ignored
    ]  # fmt: skip
    path = dl.overpass_json_to_osm(
        [{"elements": elements}], tmp_path / "s.osm", bounds=(7, 49, 8, 50)
    )
    got = []
    for o in osmium.FileProcessor(str(path)):
        tags = {t.k: t.v for t in o.tags}
        if o.is_node():
            got.append(("n", o.id, o.location.lat, o.location.lon, tags, o.version, o.user))
        elif o.is_way():
            got.append(("w", o.id, [n.ref for n in o.nodes], tags))
        else:
            got.append(("r", o.id, [(m.type, m.ref, m.role) for m in o.members], tags))
    assert got == [
        ("n", 1, -0.0000001, 179.9999999, {"entrance": "yes"}, 0, ""),
        ("n", 2, 49.44, 7.7612345, {}, 0, ""),
        ("n", 3, 49.4400001, 7.7600001, {}, 4, "ü"),
        ("w", 5, [1, 2, 3, 1], {"name": 'A & "B" <C>'}),
        ("r", 7, [("w", 5, "outer"), ("n", 2, "")], {"type": "multipolygon", "building": "yes"}),
    ]
    assert b'<bounds minlat="49" minlon="7" maxlat="50" maxlon="8"/>' in path.read_bytes()
    with pytest.raises(NetworkError, match="no coordinates"):
        dl.overpass_json_to_osm([[{"type": "node", "id": 1}]], tmp_path / "bad.osm")
    assert not (tmp_path / "bad.osm").exists()


# -- query -----------------------------------------------------------------------------
def test_overpass_query_has_walk_filter_features_and_poly():
    from accessibility.inputs.osm import walk_class_filter, walk_class_filter_text

    area = dl.study_area(bbox=KL_BBOX)
    q = dl.overpass_query(area)
    assert q.startswith("[out:json][timeout:") and q.endswith("(._;>;);out body;")
    assert "\n" not in q  # small area: one request
    walk = walk_class_filter_text()
    poly = '(poly:"49.418000 7.821000 49.457000 7.821000 49.457000 7.717000 49.418000 7.717000 49.418000 7.821000")'
    assert f"way{walk}{poly};" in q
    for key, op, rx in walk_class_filter():  # the highway classes read_osm applies
        assert (f'["{key}"{op}"{rx.pattern}"]' if op else f'["{key}"]') in q
    # access and foot are decided offline by the foot access hierarchy, on both paths
    clauses = {k for k, _, _ in walk_filter()}
    assert {"access", "foot"} <= clauses
    assert '["access"' not in q and '["foot"' not in q
    for key in dl.FEATURE_KEYS:
        assert f'nwr["{key}"]{poly};' in q
    assert q.count("poly:") == 1 + len(dl.FEATURE_KEYS)


def test_large_area_is_split_like_osmnx(monkeypatch):
    import osmnx as ox

    area = dl.study_area(bbox=KL_BBOX)  # about 7.5 km x 4.3 km
    monkeypatch.setattr(ox.settings, "max_query_area_size", 2000 * 2000)
    queries = dl.overpass_queries(area)
    assert len(queries) > 4
    assert dl.overpass_query(area).split("\n") == queries
    # the sub-polygons cover the area, up to osmnx's UTM round trip (about a metre)
    polys = []
    for q in queries:
        coords = q.split('poly:"')[1].split('"')[0].split()
        lat, lon = np.array(coords[0::2], float), np.array(coords[1::2], float)
        polys.append(shapely.Polygon(np.column_stack([lon, lat])))
    assert shapely.union_all(polys).buffer(3e-5).covers(area)


def test_detailed_polygons_are_simplified_outwards():
    area = dl.buffer_area(shapely.Point(7.76, 49.44).buffer(1e-9), 3000)
    detailed = shapely.Polygon(shapely.segmentize(area, 0.0002).exterior)
    assert len(detailed.exterior.coords) > 1000
    simple = dl._query_polygon(detailed)
    assert len(simple.exterior.coords) < 300
    assert simple.covers(detailed)
    crs = metric_crs(7.76, 49.44)
    a, b = gpd.GeoSeries([detailed, simple], crs="EPSG:4326").to_crs(crs)
    assert a.hausdorff_distance(b) < 25  # metres


# -- study area ------------------------------------------------------------------------
def test_study_area_bbox():
    area = dl.study_area(bbox=KL_BBOX)
    assert area.bounds == KL_BBOX and area.geom_type == "Polygon"
    assert dl.study_area(bbox="7.717, 49.418, 7.821, 49.457").equals(area)


@pytest.mark.parametrize(
    ("bbox", "message"),
    [
        (
            (35.6, 139.6, 35.8, 139.9),
            r"looks like \(south, west, north, east\).*\(139.6, 35.6, 139.9, 35.8\)",
        ),
        ((7.821, 49.418, 7.717, 49.457), "west must be less than east"),
        ((7.717, 49.457, 7.821, 49.418), "south must be less than north"),
        ((7.717, 49.418, 7.821), "four"),
        (("a", 1, 2, 3), "four numbers"),
        ((7.7, float("nan"), 7.8, 49.5), "finite"),
        ((7.7, 49.4, 7.7, 49.5), "west must be less than east"),
        ((-190, 10, 20, 30), "longitudes"),
    ],
)
def test_study_area_bad_bbox(bbox, message):
    with pytest.raises(InputError, match=message) as err:
        dl.study_area(bbox=bbox)
    assert "west, south, east, north" in str(err.value)


def test_study_area_needs_exactly_one_source(tmp_path):
    with pytest.raises(InputError, match="exactly one"):
        dl.study_area()
    with pytest.raises(InputError, match="exactly one.*place, bbox"):
        dl.study_area(place="Kaiserslautern", bbox=KL_BBOX)


def test_study_area_polygon_file(tmp_path):
    crs = metric_crs(7.76, 49.44)
    a = shapely.box(410_000, 5_475_000, 412_000, 5_477_000)
    b = shapely.box(411_000, 5_476_000, 413_000, 5_478_000)  # overlaps a
    c = shapely.box(420_000, 5_480_000, 421_000, 5_481_000)  # separate
    path = tmp_path / "area.geojson"
    gpd.GeoDataFrame({"name": ["a", "b", "c"]}, geometry=[a, b, c], crs=crs).to_file(path)
    area = dl.study_area(polygon=path)
    assert area.geom_type == "MultiPolygon" and len(area.geoms) == 2
    w, s, e, n = area.bounds
    assert 7.7 < w < e < 8.0 and 49.4 < s < n < 49.5  # degrees
    back = gpd.GeoSeries([area], crs="EPSG:4326").to_crs(crs).iloc[0]
    assert back.area == pytest.approx(a.union(b).area + c.area, rel=1e-6)

    points = tmp_path / "points.gpkg"
    gpd.GeoDataFrame(geometry=[shapely.Point(7.7, 49.4)], crs="EPSG:4326").to_file(points)
    with pytest.raises(InputError, match="no polygons.*Point"):
        dl.study_area(polygon=points)
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(InputError, match="no geometries"):
        dl.study_area(polygon=empty)
    with pytest.raises(InputError, match="not found"):
        dl.study_area(polygon=tmp_path / "missing.geojson")
    junk = tmp_path / "junk.geojson"
    junk.write_text("not json")
    with pytest.raises(InputError, match="cannot read"):
        dl.study_area(polygon=junk)


def test_study_area_place_without_network(osmnx_settings, monkeypatch):
    monkeypatch.setattr(osmnx_settings, "nominatim_url", DEAD_URL)
    with pytest.raises(NetworkError) as err:
        dl.study_area(place="Kaiserslautern, Germany")
    msg = str(err.value)
    assert (
        f"could not geocode 'Kaiserslautern, Germany' at {DEAD_URL} (no network? misspelt?)" in msg
    )
    assert "--bbox or --network FILE" in msg


# -- buffer ----------------------------------------------------------------------------
@pytest.mark.parametrize("metres", [100.0, 1200.0])
def test_buffer_area_grows_by_metres(metres):
    area = dl.study_area(bbox=KL_BBOX)
    grown = dl.buffer_area(area, metres)
    assert grown.covers(area)
    crs = metric_crs(*area.centroid.coords[0])
    assert crs == "EPSG:25832"
    a, g = gpd.GeoSeries([area, grown], crs="EPSG:4326").to_crs(crs)
    assert a.hausdorff_distance(g) == pytest.approx(metres, rel=0.001)
    assert g.exterior.distance(a) == pytest.approx(metres, rel=0.01)  # all round
    expected = a.area + a.length * metres + np.pi * metres**2
    assert g.area == pytest.approx(expected, rel=0.002)
    assert dl.buffer_area(area, 0).equals(area)
    with pytest.raises(InputError, match="metres"):
        dl.buffer_area(area, -5)


# -- cached download -------------------------------------------------------------------
def _prefill_cache(area, converted: Path) -> Path:
    path = dl.download_path(area)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(converted.read_bytes())
    record = {"downloaded_at": "2013-04-24T00:00:00+00:00", "query": dl.overpass_query(area)}
    path.with_suffix(".json").write_text(json.dumps(record))
    return path


def test_fetch_osm_uses_the_cache_without_network(
    kl_converted, osmnx_settings, monkeypatch, tmp_path
):
    monkeypatch.setenv("ACCESSIBILITY_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(osmnx_settings, "overpass_url", DEAD_URL)
    area = dl.buffer_area(dl.study_area(bbox=KL_BBOX), 50)
    cached = _prefill_cache(area, kl_converted)
    assert cached.parent == tmp_path / "cache" / "downloads"
    assert dl.fetch_osm(area) == cached
    assert dl.download_record(cached)["downloaded_at"].startswith("2013")

    # refresh goes out to the (dead) server: a real failed request, helpful message
    for rate_limit in (True, False):  # with/without osmnx's status-endpoint check
        monkeypatch.setattr(osmnx_settings, "overpass_rate_limit", rate_limit)
        with pytest.raises(NetworkError) as err:
            dl.fetch_osm(area, refresh=True)
        msg = str(err.value)
        assert msg.startswith("Overpass download failed:")
        assert "check the connection" in msg and "--network FILE" in msg
        assert cached.read_bytes() == kl_converted.read_bytes()  # old download kept

    # without a cached copy the same failure happens at once
    with pytest.raises(NetworkError, match="Overpass download failed"):
        dl.fetch_osm(dl.study_area(bbox=(7.7, 49.4, 7.71, 49.41)))
    with pytest.raises(InputError, match="no download record"):
        dl.download_record(tmp_path / "elsewhere.osm")


def test_online_run_takes_its_vintage_from_overpass(
    kl_converted, osmnx_settings, monkeypatch, tmp_path
):
    """load_inputs(bbox=...) on a cached download: run.json names Overpass' database state."""
    from accessibility.config import DEFAULT_MINUTES, DEFAULT_SPEED_KMH
    from accessibility.pipeline import load_inputs

    monkeypatch.setenv("ACCESSIBILITY_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(osmnx_settings, "overpass_url", DEAD_URL)  # no request may succeed
    buffer_m = max(DEFAULT_MINUTES) * DEFAULT_SPEED_KMH * 1000 / 60
    area = dl.buffer_area(dl.study_area(bbox=KL_BBOX), buffer_m)
    cached = _prefill_cache(area, kl_converted)
    rec = json.loads(cached.with_suffix(".json").read_text())
    rec["osm_base"] = ["2013-04-24T00:00:00Z"]
    cached.with_suffix(".json").write_text(json.dumps(rec))
    inputs = load_inputs(bbox=KL_BBOX)
    assert inputs.record["inputs"]["download"]["osm_base"] == ["2013-04-24T00:00:00Z"]
    assert inputs.record["data_vintage"]["osm"] == {
        "timestamp": "2013-04-24T00:00:00Z", "source": "Overpass database"
    }  # fmt: skip
    # the same file read as a local extract has no timestamps (the extractor removed them)
    assert load_inputs(network=cached).record["data_vintage"]["osm"]["timestamp"] is None


# -- osmnx dependency ------------------------------------------------------------------
def test_osmnx_private_names_are_where_they_are_expected(monkeypatch):
    """Fails when an osmnx upgrade moves the private names the download relies on."""
    import osmnx._overpass

    from accessibility.inputs import _osmnx as _osmnx

    assert _osmnx.check_private_names() == {
        "osmnx._overpass": ["_get_network_filter", "_make_overpass_polygon_coord_strs"]
    }
    assert _osmnx.is_tested_version()  # the installed osmnx is one the pin allows
    assert _osmnx.walk_filter_text().startswith('["highway"]["area"!~"yes"]')
    assert _osmnx.polygon_coord_strs(shapely.box(*KL_BBOX)) == [
        "49.418000 7.821000 49.457000 7.821000 49.457000 7.717000 49.418000 7.717000 "
        "49.418000 7.821000"
    ]
    assert [_osmnx.is_tested_version(v) for v in ("2.0.1", "2.0.2", "2.1.9", "2.2.0")] == [
        False, True, True, False
    ]  # fmt: skip
    root = Path(__file__).resolve().parents[1]
    pin = f"osmnx{_osmnx.TESTED[0]},{_osmnx.TESTED[1]}"
    assert f'"{pin}"' in (root / "pyproject.toml").read_text()
    assert f"- {pin}\n" in (root / "environment.yml").read_text()
    # a moved name gives a clear error naming the versions, not an AttributeError deep down
    _osmnx._private.cache_clear()
    monkeypatch.delattr(osmnx._overpass, "_get_network_filter")
    try:
        with pytest.raises(RuntimeError, match=r"has no osmnx\._overpass\._get_network_filter.*"
                           r"pip install 'osmnx>=2\.0\.2,<2\.2'"):  # fmt: skip
            _osmnx.walk_filter_text()
    finally:
        monkeypatch.undo()
        _osmnx._private.cache_clear()
    assert _osmnx.walk_filter_text()

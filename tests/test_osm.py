"""OSM reading: four file formats give one graph; the walk filter is osmnx's; caching."""

from __future__ import annotations

import time

import numpy as np
import pytest

from accessibility.core.network import Network, load_network
from accessibility.errors import InputError
from accessibility.inputs.osm import is_walkable, read_osm, walk_filter


@pytest.fixture(scope="module")
def kl_formats(kl_osm, tmp_path_factory):
    """The Kaiserslautern extract re-written as .osm, .osm.bz2 and .osm.pbf with pyosmium."""
    import osmium

    d = tmp_path_factory.mktemp("formats")
    paths = {"osm.gz": kl_osm}
    for ext in ("osm", "osm.bz2", "osm.pbf"):
        out = d / f"kaiserslautern.{ext}"
        with osmium.SimpleWriter(str(out)) as w:
            for obj in osmium.FileProcessor(str(kl_osm)):
                w.add(obj)
        paths[ext] = out
    return paths


def _same(a: Network, b: Network) -> None:
    assert a.crs == b.crs
    np.testing.assert_array_equal(a.node_osmid, b.node_osmid)
    np.testing.assert_allclose(a.node_xy, b.node_xy, atol=1e-6)
    np.testing.assert_array_equal(a.u, b.u)
    np.testing.assert_array_equal(a.v, b.v)
    np.testing.assert_allclose(a.length, b.length, atol=1e-6)


def test_four_formats_same_graph(kl_formats):
    nets = {k: Network.from_extract(read_osm(p, use_cache=False)) for k, p in kl_formats.items()}
    ref = nets["osm.gz"]
    assert ref.n_nodes > 10_000 and ref.n_edges > 10_000
    assert ref.crs == "EPSG:25832"
    for _fmt, net in nets.items():
        _same(ref, net)


def test_features_same_in_every_format(kl_formats):
    ex = {
        k: read_osm(p, use_cache=False) for k, p in kl_formats.items() if k in ("osm.gz", "osm.pbf")
    }
    a, b = ex["osm.gz"].features, ex["osm.pbf"].features
    key = ["osm_type", "osm_id"]
    a, b = a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True)
    assert a[key].equals(b[key])
    assert list(a["tags"]) == list(b["tags"])


def test_walk_filter_is_osmnx(kl_extract):
    clauses = walk_filter()
    keys = {k for k, _, _ in clauses}
    assert {"highway", "foot", "access", "sidewalk", "area"} <= keys
    assert is_walkable({"highway": "footway"}, clauses)
    assert is_walkable({"highway": "residential", "sidewalk": "both"}, clauses)
    for tags in (
        {"highway": "motorway"},
        {"highway": "motorway_link"},
        {"highway": "cycleway"},
        {"highway": "residential", "foot": "no"},
        {"highway": "service", "access": "private"},
        {"highway": "primary", "sidewalk": "separate"},
        {"highway": "pedestrian", "area": "yes"},
        {"building": "yes"},
    ):
        assert not is_walkable(tags, clauses), tags
    # the reader kept only walkable highway classes
    kept = set(kl_extract.segments["highway"])
    assert not kept & {"motorway", "cycleway", "construction", "proposed"}
    assert {"footway", "residential", "steps"} <= kept


def test_walk_filter_is_cached_per_osmnx_version(tmp_path):
    """A warm run does not import osmnx (seconds) and gets osmnx's own filter text."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "ACCESSIBILITY_CACHE": str(tmp_path)}
    code = (
        "import sys\n"
        "from accessibility.inputs.osm import _walk_filter_text\n"
        "text = _walk_filter_text()\n"
        "print('osmnx' in sys.modules)\n"
        "print(text)\n"
    )
    cold, warm = (
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       check=True).stdout.splitlines()
        for _ in range(2)
    )  # fmt: skip
    assert cold[0] == "True" and warm[0] == "False"
    from osmnx import _overpass

    assert cold[1] == warm[1] == _overpass._get_network_filter("walk")
    assert len(list(tmp_path.glob("osmnx-*-walk-filter.txt"))) == 1


def test_counts_match_provenance(kl_extract):
    """PROVENANCE.md lists 15,147 buildings (ways + relations), 5 libraries."""
    b = kl_extract.buildings
    assert 15_000 <= len(b) <= 15_147  # a few broken multipolygons are refused by osmium
    libs = [t for t in kl_extract.features["tags"] if t.get("amenity") == "library"]
    assert len(libs) == 5
    assert kl_extract.stats["nodes"] == 98_828
    assert kl_extract.stats["ways"] == 21_706


def test_data_vintage_from_the_file(kl_extract, helsinki_pbf):
    """The newest edit in the file; none for an extract stripped of its metadata."""
    import osmium

    from accessibility.inputs.osm import read_osm

    # Kaiserslautern's extractor removed every timestamp (PROVENANCE.md)
    assert kl_extract.stats["data_timestamp"] is None
    assert kl_extract.stats["data_timestamp_source"] is None
    # Helsinki: the newest node or way timestamp, read here with osmium's plain reader
    newest = max(
        o.timestamp for o in osmium.FileProcessor(str(helsinki_pbf)) if not o.is_relation()
    )
    stats = read_osm(helsinki_pbf).stats
    assert stats["data_timestamp"] == newest.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert stats["data_timestamp_source"] == "newest edit in the file"
    assert stats["data_timestamp"].startswith("2019-")


def test_network_cache_roundtrip_and_speed(kl_osm, tmp_path, monkeypatch):
    monkeypatch.setenv("ACCESSIBILITY_CACHE", str(tmp_path))
    t0 = time.perf_counter()
    first = load_network(kl_osm)
    parse = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = load_network(kl_osm)
    cached = time.perf_counter() - t0
    assert again.meta.get("cached") is True
    _same(first, again)
    assert cached < parse  # the speed target itself lives in bench/


def test_parallel_edges_keep_shortest_and_components():
    # two nodes joined twice (a straight and a detour via node 3), plus a separate fragment
    ids = np.array([1, 2, 3, 10, 11])
    lon = np.array([7.0, 7.001, 7.0005, 7.1, 7.1001])
    lat = np.array([49.0, 49.0, 49.001, 49.0, 49.0])
    u = np.array([1, 2, 1, 3, 10, 1])
    v = np.array([2, 1, 3, 2, 11, 1])  # duplicate 1-2 reversed, and a self-loop
    net = Network.from_segments(ids, lon, lat, u, v, np.arange(6))
    assert net.n_edges == 4  # 1-2 once, 1-3, 3-2, 10-11; self-loop dropped
    comp = net.components()
    assert comp[net.node_osmid == 1] == 0 and comp[net.node_osmid == 10] == 1


def test_bad_osm_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_osm(tmp_path / "missing.osm.pbf")
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n")
    with pytest.raises(InputError, match="unknown OSM file type"):
        read_osm(bad)
    empty = tmp_path / "empty.osm"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        read_osm(empty)
    nowalk = tmp_path / "nowalk.osm"
    nowalk.write_text(
        "<?xml version='1.0'?><osm version='0.6'>"
        "<node id='1' lat='49' lon='7'/><node id='2' lat='49.001' lon='7'/>"
        "<way id='5'><nd ref='1'/><nd ref='2'/><tag k='highway' v='motorway'/></way></osm>"
    )
    with pytest.raises(InputError, match="no walkable ways"):
        read_osm(nowalk, use_cache=False)
    garbage = tmp_path / "garbage.osm.pbf"
    garbage.write_bytes(b"\x00\x01not a pbf at all" * 10)
    with pytest.raises(InputError):
        read_osm(garbage, use_cache=False)


def test_features_are_exactly_the_feature_keys(kl_osm, kl_extract):
    """The parser keeps every node carrying a feature key, and nothing else."""
    import osmium

    from accessibility.inputs.osm_keys import feature_keys

    keys = feature_keys()
    f = kl_extract.features
    assert all(any(k in t for k in keys) for t in f["tags"])
    want = {
        o.id
        for o in osmium.FileProcessor(str(kl_osm), osmium.osm.NODE)
        if any(k in o.tags for k in keys)
    }
    got = set(f.loc[f["osm_type"] == "node", "osm_id"])
    assert got == want and len(want) > 500
    # only areas a step uses get a geometry: no untagged or highway-only polygons
    areas = f[f["osm_type"] != "node"]
    assert not any(set(t) <= {"highway", "area", "name"} for t in areas["tags"])


def test_cache_is_npz_checksummed_and_rebuilt_when_damaged(kl_osm, tmp_path, monkeypatch):
    from accessibility.errors import AccessibilityWarning

    monkeypatch.setenv("ACCESSIBILITY_CACHE", str(tmp_path))
    first = read_osm(kl_osm)
    files = sorted((tmp_path / "osm").glob("*.npz"))
    assert len(files) == 2  # the network part and the feature part
    for p in files:
        with np.load(p, allow_pickle=False) as z:  # no pickled objects inside
            assert all(z[k].dtype != object for k in z.files)
    feat = next(p for p in files if "-features-" in p.name)
    raw = bytearray(feat.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one flipped byte in the middle
    feat.write_bytes(bytes(raw))
    with pytest.warns(AccessibilityWarning, match="unusable"):
        again = read_osm(kl_osm)
    assert list(again.features["tags"]) == list(first.features["tags"])
    assert (again.features.geometry.values == first.features.geometry.values).all()
    with np.load(feat, allow_pickle=False):  # rebuilt
        pass


def test_unwritable_cache_runs_uncached_with_one_warning(kl_osm, tmp_path, monkeypatch):
    import warnings

    from accessibility import _cache
    from accessibility.errors import AccessibilityWarning

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ACCESSIBILITY_CACHE", str(blocker / "cache"))
    monkeypatch.setattr(_cache, "_warned_dirs", set())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = load_network(kl_osm)
        ex = read_osm(kl_osm)
    cache_warnings = [
        w
        for w in caught
        if issubclass(w.category, AccessibilityWarning) and "cache" in str(w.message)
    ]
    assert len(cache_warnings) == 1 and "without caching" in str(cache_warnings[0].message)
    assert net.n_edges > 10_000 and len(ex.features) > 1000

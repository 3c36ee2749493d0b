"""report.html as a council would use it (issue 12): self-contained, in one language, with
the docking points used, on real Kaiserslautern data (Zensus 2011 with its country-of-birth
table).

The browser tests drive Debian's Chromium through Playwright as ``tests/test_maps.py`` does:
the report is copied alone into an empty folder and opened with every request outside
the page refused (tiles too), so only what is inside the file can draw.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

SCREENSHOTS = Path(__file__).resolve().parents[1] / "outputs" / "screenshots"
NBSP = "\u00a0"

#: Words that give a German text away in an English report, and the other way round
#: (lower case, matched as whole words). Proper names (sites, files, licences) are marked
#: translate="no" in the report and left out before the check.
GERMAN_WORDS = {
    "einwohner", "kategorie", "kategorien", "innerhalb", "gehminuten", "stadtteil", "anteil",
    "andockstelle", "andockstellen", "und", "der", "die", "das", "nicht", "keine", "karte",
    "methode", "bibliothek", "beratungsstelle", "geboren", "ausland", "datei", "zeilen",
    "grund", "netz", "lücken", "bewohner", "vollbild", "hellgrau", "jahre", "gruppe",
    "zelle", "zellkennung", "verworfene", "stichtag", "datenstand", "unbekannt", "mit", "von",
    "ein", "eine", "im", "zu", "auf", "oder", "fußweg", "isochronen", "mehr", "als",
}  # fmt: skip
ENGLISH_WORDS = {
    "the", "and", "of", "within", "residents", "category", "categories", "share", "walking",
    "minutes", "library", "advice", "docking", "point", "points", "unknown", "rows", "file",
    "reason", "cell", "born", "abroad", "map", "method", "light", "grey", "full", "screen",
    "years", "group", "not", "no", "more", "than", "with", "from", "data", "network", "each",
    "isochrones", "gaps", "unreachable", "nearest", "is", "are", "to", "or", "by",
}  # fmt: skip


@pytest.fixture(scope="module")
def kl_run(tmp_path_factory, kl_osm, kl_zensus, kl_origin):
    """Kaiserslautern with its country-of-birth groups, analysed and written out (German)."""
    from accessibility.pipeline import load_inputs, run, write_outputs

    inputs = load_inputs(network=kl_osm, population=[kl_zensus, kl_origin])
    a = run(inputs, minutes=[5, 10, 15])
    out = tmp_path_factory.mktemp("kl_report") / "kaiserslautern"
    write_outputs(a, out, dict(inputs.record))
    return a, out, inputs


# -- formats ---------------------------------------------------------------------------------


def test_numbers_dates_and_shares_in_both_languages():
    from accessibility.outputs import formats as fm

    assert fm.number(74420, "de") == "74.420" and fm.number(74420, "en") == "74,420"
    assert fm.percent(0.119, "de") == f"11,9{NBSP}%" and fm.percent(0.119, "en") == "11.9%"
    assert fm.unit(4.8, "km/h", "de") == f"4,8{NBSP}km/h"
    assert fm.unit(4.8, "km/h", "en") == f"4.8{NBSP}km/h"
    assert fm.number(1234567.25, "de", 1) == "1.234.567,2"  # banker's rounding of .25
    assert fm.number(-0.0, "de") == "0" and fm.number(12, "en", sign=True) == "+12"
    assert fm.count_share(8860, 0.119, "de") == f"8.860 (11,9{NBSP}%)"
    assert fm.date("2026-12-02", "de") == "2. Dezember 2026"
    assert fm.date("2026-12-02T10:00:00Z", "en") == "2 December 2026"
    for missing in (None, math.nan, math.inf, "x"):
        assert fm.number(missing, "de") == fm.percent(missing, "en") == "–"
    assert fm.decimal(7.5, "de") == "7,5" and fm.minutes_label(7.5, "en") == f"≤ 7.5{NBSP}min"


def test_group_labels_shipped_and_user_extendable(tmp_path, monkeypatch):
    from accessibility.errors import InputError
    from accessibility.outputs.i18n import LABELS_ENV, born_abroad, group_label, group_labels

    t = group_labels()
    assert group_label("geburtland_ausland_eu27", "de", t) == "im Ausland geboren: EU-27"
    assert group_label("GEBURTLAND_AUSLAND_EU27", "en", t) == "born abroad: EU-27"
    assert group_label("Ueber65", "de", t) == "65 Jahre und älter"  # Zensus 2022 share
    assert group_label("my_column", "de", t) == "my_column"  # unknown: the column name
    assert born_abroad(["geburtland_deutschland", "geburtland_ausland_eu27"], t) == [
        "geburtland_ausland_eu27"
    ]
    own = tmp_path / "labels.yaml"
    own.write_text("groups:\n  my_column: {de: Meine Gruppe, en: My group}\n", encoding="utf-8")
    assert group_label("my_column", "en", group_labels(own)) == "My group"
    monkeypatch.setenv(LABELS_ENV, str(own))
    assert group_label("my_column", "de") == "Meine Gruppe"
    bad = tmp_path / "bad.yaml"
    bad.write_text("groups:\n  x: [1, 2]\n", encoding="utf-8")
    with pytest.raises(InputError, match="group 'x'") as err:
        group_labels(bad)
    assert "bad.yaml" in str(err.value)


def test_titles_name_the_place():
    from accessibility.outputs.i18n import place_name, pretty_name, report_title

    assert pretty_name("/data/kaiserslautern.osm.gz") == "Kaiserslautern"
    assert pretty_name("malta-2016-11.osm.pbf") == "Malta"
    assert pretty_name("rhein_neckar") == "Rhein Neckar"
    rec = {"inputs": {"network": {"path": "/x/kaiserslautern.osm.gz"}}}
    assert report_title(rec, "/tmp/out", "de") == "Andockstellen – Kaiserslautern"
    assert place_name({"study_area": {"place": "Nordstadt, Dortmund, Germany"}}) == (
        "Nordstadt, Dortmund"
    )
    assert place_name({}, "/tmp/my_city") == "My City"
    area = {"study_area": {"polygon": {"path": "/x/innenstadt_west.geojson"}}, **rec}
    assert place_name(area) == "Innenstadt West"


def test_one_colour_and_letter_per_category_everywhere():
    from accessibility.outputs.style import category_colours, category_letters

    de = {"advice_centre": "Beratungsstelle", "library": "Bibliothek"}
    # whichever categories a run has, each keeps its colour and (per language) its letter
    for cats in (["library"], ["advice_centre", "library"], ["library", "advice_centre"]):
        assert category_colours(cats)["library"] == category_colours(["x"])["library"]
        letters = category_letters(cats, lambda c: de.get(c, c), "de")
        assert letters["library"] == "Bi" and letters["advice_centre"] == "B"
    en = category_letters(["own"], lambda c: {"own": "Own"}.get(c, c), "en")
    assert en["library"] == "L" and en["advice_centre"] == "A" and len(set(en.values())) == len(en)


def test_reasons_and_method_translated():
    from accessibility.outputs.i18n import translate

    en = (
        "resident point lies outside the area covered by the network (beyond the edge of the "
        "OSM extract, or wrong coordinates/CRS); give a larger network to include it"
    )
    assert translate(en, "en") == en
    assert translate(en, "de").startswith("Wohnpunkt liegt außerhalb des vom Wegenetz")
    de = translate(
        "Zensus 100 m grid (a.csv): the 'Einwohner' count of each cell is placed at the cell "
        "midpoint (EPSG:3035). Rescaled by the factor 1.0234 to the official total of 74,420 "
        "residents (before: 72,111.5).",
        "de",
    )
    assert de == (
        "Zensus-100-m-Gitter (a.csv): die Zahl „Einwohner“ jeder Zelle liegt im "
        "Zellmittelpunkt (EPSG:3035). Mit dem Faktor 1,0234 auf die amtliche Summe von 74.420 "
        "Einwohnern skaliert (vorher: 72.111,5)."
    )
    assert translate("something new", "de") == "something new"  # unknown: left as it is


# -- the report's tables, without a browser ------------------------------------------------


class _Tables(HTMLParser):
    """Every ``<table>`` of a page: header texts and rows of (text, is-numeric) cells."""

    def __init__(self):
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._num = False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"head": [], "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._cell, self._num = [], dict(attrs).get("class") == "num"

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            text = "".join(self._cell).strip()
            row = self.tables[-1]["rows"][-1]
            row.append((text, self._num, tag))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


#: A German number of a report table: whole persons (74.420), a number or share with one or two
#: decimals (2,17; 11,9 %), or both ("8.860 (11,9 %)"); "74,420" or "11.9%" do not match.
GERMAN_NUMBER = re.compile(
    rf"[-+]?\d{{1,3}}(\.\d{{3}})*(,\d{{1,2}})?({NBSP}%)?( \(\d{{1,3}}(,\d)?{NBSP}%\))?|–"
)


def test_german_number_format_in_every_table(kl_run):
    a, out, _ = kl_run
    page = (out / "report.html").read_text(encoding="utf-8")
    parser = _Tables()
    parser.feed(page.split("<iframe", 1)[0] + page.split("</iframe>", 1)[1])
    tables = parser.tables
    assert len(tables) >= 4  # categories, groups, sites, rejects
    numeric = 0
    for t in tables:
        for row in t["rows"][1:]:
            for text, num, _ in row:
                if num:
                    numeric += 1
                    assert GERMAN_NUMBER.fullmatch(text), (text, t["rows"][0])
                else:  # no English number hides in a text cell either
                    assert not re.search(r"\d,\d{3}\b|\d\.\d%|\d%", text), text
    assert numeric > 80
    # the figures are summary.csv's, written the German way
    s = pd.read_csv(out / "summary.csv")
    r = s[(s["category"] == "all") & (s["minutes"] == 5)].iloc[0]
    cells = [c[0] for t in tables for row in t["rows"] for c in row]
    from accessibility.outputs import formats as fm

    assert fm.count_share(r.population_covered, r.share_covered, "de") in cells
    assert f"{r.share_covered * 100:.1f}".replace(".", ",") + f"{NBSP}%" in page  # headline


def test_report_lists_the_sites_with_their_reach(kl_run):
    """sites.csv (and the report's list): name, category, address/OSM link and the residents
    within each threshold of each site, checked against networkx on the same graph."""
    from tests.reference import reference_distances

    a, out, _ = kl_run
    sl = pd.read_csv(out / "sites.csv", dtype={"site_id": str})
    assert list(sl.columns) == ["site_id", "name", "category", "address", "osm_url",
                                "residents_within_5_min", "residents_within_10_min",
                                "residents_within_15_min"]  # fmt: skip
    assert len(sl) == len(a.sites) == 9
    assert (sl["category"] == "library").sum() == 5
    assert sl["osm_url"].str.fullmatch(r"https://www\.openstreetmap\.org/(node|way)/\d+").all()
    assert "Klosterstraße 8, 67655 Kaiserslautern" in set(sl["address"].dropna())
    # the reach of two sites from networkx (site on its own, door to door)
    pop = a.residents["population"].to_numpy(float)
    mpm = a.params.metres_per_minute
    for i in (0, 8):
        d = reference_distances(a.network, a.site_snap.subset(np.array([i])), a.resident_snap)
        row = sl[sl["site_id"] == str(a.sites["site_id"].iloc[i])].iloc[0]
        for m in (5, 10, 15):
            assert row[f"residents_within_{m}_min"] == pytest.approx(
                pop[d <= m * mpm * (1 + 1e-9)].sum()
            ), (i, m)
    # the report lists the same sites, the unnamed charity shop as such, OSM objects linked
    page = (out / "report.html").read_text(encoding="utf-8")
    head = page.split("<iframe", 1)[0]
    assert "Verwendete Andockstellen" in head and "(in OSM ohne Namen)" in head
    assert head.count('href="https://www.openstreetmap.org/') == 9
    assert "Universitätsbibliothek Kaiserslautern - Zentralbibliothek" in head
    # run.json names the new table
    assert json.loads((out / "run.json").read_text())["outputs"]["sites_csv"] == "sites.csv"


def test_born_abroad_headline_and_group_labels(kl_run):
    _, out, _ = kl_run
    page = (out / "report.html").read_text(encoding="utf-8").split("<iframe", 1)[0]
    g = pd.read_csv(out / "summary_groups.csv")
    abroad = g[g["group"].str.startswith("geburtland_ausland") & (g["category"] == "all")]
    ten = abroad[abroad["minutes"] == 10]
    share = ten["population_covered"].sum() / ten["population"].sum()
    from accessibility.outputs import formats as fm

    assert "Im Ausland geboren" in page
    assert f"<b>{fm.number(ten['population'].sum(), 'de')}</b>" in page
    assert f"<b>{fm.percent(share, 'de')}</b>davon innerhalb 10 min" in page
    assert "geburtland_" not in page and "staatsangehoerigkeit_" not in page
    assert "<td>im Ausland geboren: übrige Welt</td>" in page


def test_scenario_report_german_with_born_abroad_gains(kl_run, tmp_path):
    """The before/after report of a Kaiserslautern scenario: German numbers in every table,
    the born-abroad gain equal to the sum of the groups' gains, the sites after listed."""
    from accessibility.outputs import formats as fm
    from accessibility.outputs.scenario_report import write_scenario_report
    from accessibility.planning.scenario import run_scenario
    from accessibility.planning.scenario_file import Change

    a, out, inputs = kl_run
    new = {"name": "Neues Büro", "category": "advice_centre", "lat": 49.4400, "lon": 7.7600}
    r = run_scenario(a.network, a.sites, a.residents, [Change("add", new)],
                     minutes=[5, 10, 15], categories=a.categories)  # fmt: skip
    path = write_scenario_report(r, tmp_path / "report.html", dict(inputs.record), "de",
                                 map_html="<p>map</p>")  # fmt: skip
    page = path.read_text(encoding="utf-8")
    parser = _Tables()
    parser.feed(page.split("<iframe", 1)[0])
    numeric = 0
    for t in parser.tables:
        for row in t["rows"][1:]:
            for text, num, _ in row:
                numeric += num
                assert (
                    GERMAN_NUMBER.fullmatch(text)
                    if num
                    else not re.search(r"\d,\d{3}\b|\d\.\d%|\d%", text)
                ), text
    assert numeric > 100
    g = r.summary_groups()
    ab = g[g["group"].str.startswith("geburtland_ausland") & (g["category"] == "all")]
    gain = ab[ab["minutes"] == 10]["gain"].sum()
    assert gain > 0
    assert f"<b>{fm.number(gain, 'de', sign=True)}</b>im Ausland Geborene innerhalb 10 min" in page
    assert "Andockstellen nach den Änderungen" in page and "Neues Büro" in page
    assert '<iframe srcdoc="&lt;p&gt;map&lt;/p&gt;"' in page


# -- in the browser ------------------------------------------------------------------------


def _open_alone(browser, report: Path, folder: Path):
    """Copy the report alone into an empty folder and open it with every request outside the
    file refused (tiles included)."""
    folder.mkdir(parents=True, exist_ok=True)
    assert not any(folder.iterdir())
    page_path = folder / "report.html"
    shutil.copy(report, page_path)
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    log: dict = {"pageerror": [], "requests": []}
    page.on("pageerror", lambda e: log["pageerror"].append(str(e)))

    def _route(route):
        url = route.request.url
        if url == page_path.as_uri() or url.startswith(("data:", "about:")):
            return route.continue_()
        log["requests"].append(url)
        return route.abort()

    page.route("**/*", _route)
    page.goto(page_path.as_uri())
    page.wait_for_load_state("load")
    return page, log


def test_report_alone_draws_its_map_offline(browser, kl_run, tmp_path):
    a, out, _ = kl_run
    page, log = _open_alone(browser, out / "report.html", tmp_path / "empty")
    frame = page.frame_locator("iframe")
    frame.locator(".acc-site").first.wait_for(timeout=20_000)
    assert frame.locator(".leaflet-map-pane").count() == 1
    assert frame.locator(".acc-site").count() == len(a.sites)
    # the residents' cells and the isochrone bands are drawn too
    assert frame.locator("path.leaflet-interactive").count() >= len(a.residents)
    assert frame.locator(".acc-title").inner_text() == "Andockstellen – Kaiserslautern"
    assert page.locator("img.chart").count() == 1
    assert page.locator("img.chart").evaluate("i => i.complete && i.naturalWidth > 100")
    assert not log["pageerror"], log
    # only background tiles were asked for; nothing the report needs lies beside it
    assert all("tile" in u for u in log["requests"]), log["requests"]
    # screenshot for the README: the list of docking points and the inlined map, offline
    page.locator("h2", has_text="Verwendete Andockstellen").evaluate("e => e.scrollIntoView()")
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / "report_sites_kaiserslautern.png"))
    page.close()


def _visible_words(page) -> tuple[set[str], set[str]]:
    """Lower-case words shown by the report and by its map (frame), proper names left out."""
    strip = "document.querySelectorAll('[translate=no]').forEach(e => e.remove())"
    page.evaluate(strip)
    frame = page.frames[1]
    frame.wait_for_selector(".leaflet-control-layers", timeout=20_000)
    frame.evaluate(strip)
    shown = frame.evaluate(
        """() => Array.from(document.querySelectorAll(
            '.leaflet-control-layers, .acc-legend b, .acc-legend div:not(:first-child), .acc-title'))
            .map(e => e.innerText).join(' ')"""
    )
    # quoted names are data columns or filter names as written ('Einwohner', „walk“); file
    # names (map.html) are names too
    text = re.sub(r"[„'][^“']*[“']|\S+\.(html|csv|gz)\b", " ", page.locator("body").inner_text())
    words = set(re.findall(r"[^\W\d_]+", text.lower()))
    return words, set(re.findall(r"[^\W\d_]+", shown.lower()))


#: Every tooltip and popup of the map (all layers switched on, up to 40 features per layer)
#: as rows ``[label, value]``; a row without a label has ``label`` "".
_TIPS_JS = """() => {
  document.querySelectorAll('.leaflet-control-layers-overlays input').forEach(i => {
    if (!i.checked) { i.click(); } });
  const out = [];
  for (const k of Object.keys(window)) {
    const map = window[k];
    if (!k.startsWith('map_') || !(map instanceof L.Map)) { continue; }
    map.eachLayer(g => {
      if (!g.eachLayer) { return; }
      for (const t of [g.getTooltip && g.getTooltip(), g.getPopup && g.getPopup()]) {
        if (!t) { continue; }
        let n = 0;
        g.eachLayer(s => {
          if (n++ >= 40) { return; }
          let h = typeof t._content === 'function' ? t._content(s) : t._content;
          const d = document.createElement('div');
          if (h instanceof HTMLElement) { d.appendChild(h); } else { d.innerHTML = h; }
          const rows = d.querySelectorAll('tr');
          if (!rows.length) { out.push(['', d.textContent.trim()]); }
          rows.forEach(r => {
            const th = r.querySelector('th'), td = r.querySelector('td');
            out.push([th ? th.textContent.trim() : '', td ? td.textContent.trim() : '']);
          });
        });
      }
    });
  }
  return out;
}"""

#: A number in a German map (tooltips, colour bar): ``1.234``, ``7,3``, ``0,125``, ``11,9 %``.
GERMAN_MAP_NUMBER = re.compile(rf"[-+]?\d{{1,3}}(\.\d{{3}})*(,\d{{1,3}})?({NBSP}%)?")
#: The same in English: ``1,234``, ``7.3``, ``0.125``, ``11.9%``.
ENGLISH_MAP_NUMBER = re.compile(r"[-+]?\d{1,3}(,\d{3})*(\.\d{1,3})?%?")
#: What looks like a number (digits, separators, an optional percent sign).
_NUMERIC = re.compile(rf"[-+]?\d[\d.,]*({NBSP}?%)?")


def _map_numbers(frame, lang: str) -> tuple[list[str], list[str]]:
    """The map's tooltip/popup rows (proper names left out) and every number they and the
    colour bar show; checks the scale bar is metric only."""
    from accessibility.outputs.i18n import labels

    t = labels("map", lang)
    names = {"", t["name"], t["nearest"], t["district"]}
    rows = frame.evaluate(_TIPS_JS)
    assert len(rows) > 100
    shown = [v for a, v in rows if a not in names] + [a for a, _ in rows]
    values = [v for _, v in rows if _NUMERIC.fullmatch(v)]
    values += frame.locator(".acc-colourbar span").all_inner_texts()
    scale = " ".join(frame.locator(".leaflet-control-scale-line").all_inner_texts())
    assert re.fullmatch(r"\d+ k?m", scale), scale  # metres or kilometres, no feet or miles
    return shown, values


@pytest.mark.parametrize("lang", ["de", "en"])
def test_report_in_one_language(browser, kl_run, tmp_path, lang):
    from accessibility.cli import main

    _, out, _ = kl_run
    path = tmp_path / f"report_{lang}.html"
    r = CliRunner().invoke(main, ["report", str(out), "--lang", lang, "--out", str(path)])
    assert r.exit_code == 0, r.output
    page, log = _open_alone(browser, path, tmp_path / "empty")
    report_words, map_words = _visible_words(page)
    tips, numbers = _map_numbers(page.frames[1], lang)
    tip_words = set(re.findall(r"[^\W\d_]+", " ".join(tips).lower()))
    other = ENGLISH_WORDS if lang == "de" else GERMAN_WORDS
    own = GERMAN_WORDS if lang == "de" else ENGLISH_WORDS
    assert not report_words & other, sorted(report_words & other)
    assert not map_words & other, sorted(map_words & other)
    assert not tip_words & other, sorted(tip_words & other)
    assert len(report_words & own) > 15 and len(map_words & own) > 5
    assert len(tip_words & own) > 3
    # numbers in the map follow its language: 7,3 min and 1.234 in German, 7.3 and 1,234 in English
    pattern = GERMAN_MAP_NUMBER if lang == "de" else ENGLISH_MAP_NUMBER
    assert len(numbers) > 100
    assert all(pattern.fullmatch(x) for x in numbers), [
        x for x in numbers if not pattern.fullmatch(x)
    ][:10]
    decimal_mark = re.compile(r"\d,\d(?!\d\d)" if lang == "de" else r"\d\.\d(?!\d\d)")
    assert sum(bool(decimal_mark.search(x)) for x in numbers) > 20
    assert not log["pageerror"], log
    page.close()

"""``accessibility batch`` (issue 13) on real Rhein-Neckar data: three municipalities and a
broken polygon, in-process and on a real ``distributed.LocalCluster`` with 2 worker processes
(that run in English with ``--per-area-outputs``); the regional report and map as publishable
as ``analyze``'s (issue 12): one language, German number format, attributions.

Cost: about 35 s (the region is loaded four times; one cluster start; one killed subprocess;
three per-area output folders on the cluster).
"""

from __future__ import annotations

import html
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from accessibility import config
from accessibility.cli import main
from accessibility.cli.batch import EXIT_SOME_FAILED, run_batch
from accessibility.config import ATTRIBUTION_BKG
from accessibility.core.analysis import analyze
from accessibility.core.coverage import NO_SITE_NOTE
from accessibility.errors import InputError
from accessibility.outputs import formats as fm
from accessibility.params import WalkParams
from accessibility.pipeline import load_inputs
from accessibility.planning.batch import (
    NO_SITE_IN_BUFFER,
    area_buffer_m,
    assign_areas,
    beyond_buffer,
    clip_network,
    read_areas,
    sites_in_buffer,
)
from tests.test_reports import ENGLISH_WORDS, GERMAN_NUMBER, GERMAN_WORDS

ROOT = Path(__file__).resolve().parents[1]
NBSP = "\u00a0"
SITES = ROOT / "examples" / "rhein-neckar_sites.csv"
#: two neighbours (so border residents matter) and a third municipality
AREAS = ["082260018018", "082260063063", "082260012012"]
PARAMS = WalkParams(minutes=(5.0, 10.0, 15.0))


@pytest.fixture(scope="module")
def data_dir() -> Path:
    d = config.shared_data_dir() / "rhein-neckar"
    if not (d / "rnv-2016-12.osm.pbf").exists():
        pytest.skip(f"Rhein-Neckar data not found in {d}; set ACCESSIBILITY_DATA")
    return d


@pytest.fixture(scope="module")
def areas_file(data_dir, tmp_path_factory) -> Path:
    g = gpd.read_file(data_dir / "gemeinden_rhein-neckar.gpkg")
    g = g[g["ARS"].isin(AREAS)].reset_index(drop=True)
    g.loc[g["ARS"] == AREAS[0], "name"] = "<b>Nußloch & Co</b>"  # escaped on map and report
    x, y = g.geometry.iloc[2].representative_point().coords[0]
    bowtie = shapely.Polygon([(x, y), (x + 500, y + 500), (x + 500, y), (x, y + 500)])
    g = pd.concat([g, gpd.GeoDataFrame({"ARS": ["BROKEN"], "name": [None]}, geometry=[bowtie],
                                       crs=g.crs)], ignore_index=True)  # fmt: skip
    path = tmp_path_factory.mktemp("areas") / "gemeinden_rhein-neckar.gpkg"  # names the region
    g.to_file(path, layer="gemeinden")
    return path


def _run(data_dir, areas_file, out, **kw):
    return run_batch(
        areas=str(areas_file), area_id="ARS", area_name="name", out=Path(out), params=PARAMS,
        network=str(data_dir / "rnv-2016-12.osm.pbf"),
        population=(str(data_dir / "zensus2011_1km_rhein-neckar.csv"),), sites=str(SITES),
        progress=False, **{"workers": 0, **kw},
    )  # fmt: skip


@pytest.fixture(scope="module")
def local(data_dir, areas_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("batch") / "local"
    return out, _run(data_dir, areas_file, out)


@pytest.fixture(scope="module")
def dask_run(local, data_dir, areas_file, tmp_path_factory):
    """The same areas on a real 2-process LocalCluster, in English, with --per-area-outputs."""
    out = tmp_path_factory.mktemp("batch") / "dask"
    return out, _run(data_dir, areas_file, out, workers=2, lang="en", per_area_outputs=True)


@pytest.fixture(scope="module")
def region(data_dir):
    return load_inputs(
        network=data_dir / "rnv-2016-12.osm.pbf",
        population=[data_dir / "zensus2011_1km_rhein-neckar.csv"], sites=SITES,
    )  # fmt: skip


def test_area_equals_standalone_analyze_of_its_clipped_network(local, region, areas_file):
    out, r = local
    table = pd.read_csv(out / "areas.csv", dtype={"area_id": str})
    areas = read_areas(areas_file, "ARS", "name").to_crs(region.network.crs)
    owner = assign_areas(region.residents, areas)
    for i in (0, 1):
        aid = areas["area_id"].iloc[i]
        buffer = shapely.buffer(areas.geometry.iloc[i], area_buffer_m(PARAMS))
        mine = region.residents.iloc[np.flatnonzero(owner == i)]
        net = clip_network(region.network, buffer)
        a = analyze(net, sites_in_buffer(region.sites, buffer, net.crs), mine,
                    categories=region.categories, params=PARAMS)  # fmt: skip
        assert len(a.residents) > 50 and len(a.sites) > 0
        got = table[table["area_id"] == aid].drop(columns=["area_id", "area_name"])
        got["note"] = got["note"].fillna("")  # the CSV's empty note
        want = beyond_buffer(a.summary(), region.sites)
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)
        if i == 1:  # no advice centre within its buffer: nobody covered, not "no site"
            assert (a.summary().query("category == 'advice_centre'")["note"] == NO_SITE_NOTE).all()
            adv = got[got["category"] == "advice_centre"]
            assert (adv["share_covered"] == 0).all() and (adv["note"] == NO_SITE_IN_BUFFER).all()
        # and the same minutes per resident as the whole region's network gives: the buffer
        # (15 min x speed + access leg) is wide enough that clipping changes nothing within 15 min
        stored = json.loads((out / "areas" / aid / "area.json").read_text())["minutes"]
        stored = pd.DataFrame(stored["data"], columns=stored["columns"])
        full = analyze(region.network, region.sites, mine, categories=region.categories,
                       params=PARAMS)  # fmt: skip
        for c in a.categories:
            clipped = a.residents[f"minutes_{c}"].to_numpy(float)
            whole = full.residents[f"minutes_{c}"].to_numpy(float)
            near = whole <= 15
            np.testing.assert_allclose(clipped[near], whole[near], rtol=1e-9)
            assert (clipped[~near] > 15).all()
            np.testing.assert_allclose(
                stored[f"minutes_{c}"].astype(float).fillna(np.inf).to_numpy(), clipped, rtol=1e-12
            )


def test_totals_every_resident_once_or_outside(local, region):
    out, r = local
    table = pd.read_csv(out / "areas.csv", dtype={"area_id": str})
    summary = pd.read_csv(out / "summary.csv")
    outside = pd.read_csv(out / "outside_areas.csv")
    run = json.loads((out / "run.json").read_text())
    for (c, m), g in table.groupby(["category", "minutes"]):
        s = summary[(summary["category"] == c) & (summary["minutes"] == m)].iloc[0]
        assert g["population"].sum() == pytest.approx(s["population"], rel=1e-12)
        assert g["population_covered"].sum() == pytest.approx(s["population_covered"], rel=1e-9)
    pids = [p for aid in AREAS for p in json.loads(
        (out / "areas" / aid / "area.json").read_text())["minutes"]["data"]]  # fmt: skip
    rej = pd.read_csv(out / "rejects.csv", dtype=str)
    rej = rej[rej["area_id"].isin(AREAS) & rej["reason"].str.startswith("resident point")]
    rejected = rej["value"].str.split(" ").str[0].tolist()  # "<pid> (758 m from ...)"
    ids = [str(p[0]) for p in pids] + outside["pid"].astype(str).tolist() + rejected
    assert len(ids) == len(set(ids)) == len(region.residents)  # nobody twice, nobody lost
    total = region.residents["population"].sum()
    res = run["residents"]
    assert sum(p[1] for p in pids) + outside["population"].sum() + res["rejected_in_areas"] == (
        pytest.approx(total)
    )
    assert res["in_areas_with_results"] + res["in_failed_areas"] + res["outside_all_areas"] == (
        pytest.approx(res["total"])
    )
    assert res["in_failed_areas"] == 0  # the broken polygon takes nobody


def test_broken_area_is_listed_and_the_rest_completes(local, data_dir, areas_file, tmp_path):
    out, r = local
    fail = pd.read_csv(out / "failures.csv", dtype={"area_id": str})
    assert fail["area_id"].tolist() == ["BROKEN"]
    assert fail["area_name"].tolist() == ["BROKEN"]  # unnamed: labelled by its key
    assert (
        "invalid polygon" in fail["error"].iloc[0] and "Self-intersection" in fail["error"].iloc[0]
    )
    table = pd.read_csv(out / "areas.csv", dtype={"area_id": str})
    assert sorted(table["area_id"].unique()) == sorted(AREAS)
    wide = gpd.read_file(out / "areas.gpkg")
    assert len(wide) == 4 and wide.loc[wide["ARS" if "ARS" in wide else "area_id"] == "BROKEN",
                                      "share_all_5"].isna().all()  # fmt: skip
    page = (out / "map.html").read_text()
    # the name reaches the page HTML-escaped, inside JSON (tojson)
    assert "<b>Nu" not in page and r"\u0026lt;b\u0026gt;Nu\u00dfloch \u0026amp; Co" in page
    report = (out / "report.html").read_text()
    assert "<b>Nußloch" not in report and "&lt;b&gt;Nußloch &amp; Co" in report
    assert "BROKEN" in report
    # the command line says so in its exit code
    res = CliRunner().invoke(main, [
        "batch", "--areas", str(areas_file), "--area-id", "ARS", "--area-name", "name",
        "--network", str(data_dir / "rnv-2016-12.osm.pbf"), "--population",
        str(data_dir / "zensus2011_1km_rhein-neckar.csv"), "--sites", str(SITES),
        "--workers", "0", "--out", str(tmp_path / "cli"), "--resume",
    ])  # fmt: skip
    assert res.exit_code == EXIT_SOME_FAILED, res.output
    assert "1 failed" in res.output


def test_real_local_cluster_with_two_worker_processes(local, dask_run):
    out, _ = local
    dask_out, r = dask_run
    engine = r["record"]["batch"]["engine"]
    assert engine["engine"] == "dask.distributed" and engine["workers"] == 2
    pids = {s["pid"] for s in r["record"]["batch"]["per_area"].values()}
    assert os.getpid() not in pids  # computed in the worker processes
    assert [f.area_id for f in r["failures"]] == ["BROKEN"]  # retried there, then listed
    a = pd.read_csv(out / "areas.csv", dtype={"area_id": str})
    b = pd.read_csv(dask_out / "areas.csv", dtype={"area_id": str})
    pd.testing.assert_frame_equal(a, b)


def test_per_area_outputs_are_full_analyze_folders_agreeing_with_areas_csv(dask_run, region):
    out, r = dask_run
    table = pd.read_csv(out / "areas.csv", dtype={"area_id": str})
    for aid in AREAS:
        folder = out / "areas" / aid
        for name in ("summary.csv", "residents.gpkg", "sites.csv", "isochrones.gpkg",
                     "tables.xlsx", "map.html", "report.html", "run.json", "rejects.csv"):  # fmt: skip
            assert (folder / name).is_file(), (aid, name)
        run = json.loads((folder / "run.json").read_text())
        assert run["area"]["id"] == aid and run["lang"] == "en"
        assert '<html lang="en"' in (folder / "report.html").read_text(encoding="utf-8")
        # the area's own summary.csv is analyze's on its clipped network; areas.csv says, in
        # addition, where a category has docking points in the region but none in the buffer
        own = pd.read_csv(folder / "summary.csv")
        own["note"] = own["note"].fillna("")
        got = table[table["area_id"] == aid].drop(columns=["area_id", "area_name"])
        got["note"] = got["note"].fillna("")
        pd.testing.assert_frame_equal(
            got.reset_index(drop=True), beyond_buffer(own, region.sites), check_dtype=False
        )
        assert len(pd.read_csv(folder / "residents.csv")) == run["counts"]["resident_points_used"]


def _cells(page: str) -> list[tuple[str, bool]]:
    """Every table cell of a page outside the map frame: (text, right-aligned as a number)."""
    page = page.split("<iframe", 1)[0] + page.split("</iframe>", 1)[1]
    return [(html.unescape(re.sub(r"<[^>]+>", "", c)).strip(), k == ' class="num"')
            for k, c in re.findall(r"<td( class=\"num\")?>(.*?)</td>", page, re.S)]  # fmt: skip


def _words(report: str, map_page: str) -> tuple[set[str], set[str]]:
    """Lower-case words a reader sees in the report (outside the map frame, proper names
    marked translate="no", quoted column names and file names left out) and on the map
    (title, legend, layer names, popups)."""
    text = report.split("<iframe", 1)[0] + report.split("</iframe>", 1)[1]
    text = re.sub(r"<style>.*?</style>|<title>.*?</title>", " ", text, flags=re.S)
    text = re.sub(r'<span translate="no">.*?</span>|<[^>]+>', " ", text)
    text = re.sub(r"[„'][^“']*[“']|\S+\.(html|csv|gz)\b", " ", html.unescape(text))
    shown = re.findall(r'class="acc-(?:title|legend)"[^>]*>(.*?)</div>\s*</', map_page, re.S)
    shown += re.findall(r'"([^"]+)" : (?:tile_layer|geo_json)_', map_page)
    shown += re.findall(r"a\.title = (\"[^\"]*\")", map_page)
    shown += [json.loads(f'"{t}"') for t in re.findall(r'"text": "((?:[^"\\]|\\.)*)"', map_page)]
    shown_text = html.unescape(re.sub(r"<[^>]+>", " ", " ".join(shown)))
    words = set(re.findall(r"[^\W\d_]+", text.lower()))
    return words, set(re.findall(r"[^\W\d_]+", shown_text.lower()))


def test_regional_report_and_map_in_one_language(local, dask_run):
    """German by default for German data (as analyze), English with lang="en"; no word of
    the other language on report or map, the map inlined, the region named, BKG credited."""
    for (out, r), lang in ((local, "de"), (dask_run, "en")):
        assert r["record"]["lang"] == lang
        report = (out / "report.html").read_text(encoding="utf-8")
        map_page = (out / "map.html").read_text(encoding="utf-8")
        assert f'<html lang="{lang}"' in report
        # the whole map page inside the report (srcdoc): it works copied alone
        assert f'srcdoc="{html.escape(map_page, quote=True)}"' in report
        words, map_words = _words(report, map_page)
        other = ENGLISH_WORDS if lang == "de" else GERMAN_WORDS
        own = GERMAN_WORDS if lang == "de" else ENGLISH_WORDS
        assert not words & other, sorted(words & other)
        assert not map_words & other, sorted(map_words & other)
        assert len(words & own) > 15 and len(map_words & own) > 3
        # titled after the region (the areas file's name), a proper name in either language
        assert "– Gemeinden Rhein-Neckar</title>" in report
        assert "– Gemeinden Rhein-Neckar</div>" in map_page
        for line in (ATTRIBUTION_BKG, "© OpenStreetMap contributors", "Destatis"):
            assert (
                html.escape(line) in report
                and json.dumps(line)[1:-1].replace("©", "\\u00a9") in map_page
            )


def test_german_number_format_in_every_regional_table(local):
    out, r = local
    page = (out / "report.html").read_text(encoding="utf-8")
    numeric = 0
    for text, num in _cells(page):
        if num:
            numeric += 1
            assert GERMAN_NUMBER.fullmatch(text), text
        else:  # no English number hides in a text cell either
            assert not re.search(r"\d,\d{3}\b|\d\.\d%|\d%", text), text
    assert numeric > 30
    cells = [c for c, _ in _cells(page)]
    s = r["summary"]
    row = s[(s["category"] == "all") & (s["minutes"] == 15)].iloc[0]
    assert fm.count_share(row.population_covered, row.share_covered, "de") in cells
    table = pd.read_csv(out / "areas.csv", dtype={"area_id": str})
    worst = table[(table["category"] == "all") & (table["minutes"] == 15)].sort_values(
        "share_covered").iloc[0]  # fmt: skip
    assert fm.percent(worst.share_covered, "de") in cells and f"{NBSP}%" in fm.percent(0.5, "de")
    # tables.xlsx: the areas with their shares as percentages, the region, the long table
    from openpyxl import load_workbook

    wb = load_workbook(out / "tables.xlsx")
    assert wb.sheetnames == ["areas", "region", "areas_by_category"]
    ws = wb["areas"]
    head = [c.value for c in ws[1]]
    j = head.index("share_all_15") + 1
    assert ws.cell(row=2, column=j).number_format == "0.0%" and ws.freeze_panes == "A2"
    assert ws.max_row >= len(AREAS) + 2


def test_resume_after_a_kill_redoes_only_the_missing_areas(local, data_dir, areas_file, tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "accessibility.cli", "batch", "--areas", str(areas_file),
           "--area-id", "ARS", "--area-name", "name",
           "--network", str(data_dir / "rnv-2016-12.osm.pbf"),
           "--population", str(data_dir / "zensus2011_1km_rhein-neckar.csv"),
           "--sites", str(SITES), "--workers", "0", "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(out.glob("areas/*/area.json")) and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = sorted(p.parent.name for p in out.glob("areas/*/area.json"))
    assert len(done) >= 1
    if len(done) == len(AREAS):  # the kill came too late: lose the last one instead
        (out / "areas" / done[-1] / "area.json").unlink()
        done = done[:-1]
    assert not (out / "run.json").exists()  # killed before the end
    r = _run(data_dir, areas_file, out, resume=True)
    assert sorted(r["skipped"]) == done
    assert sorted(x.area_id for x in r["results"]) == sorted(set(AREAS) - set(done))
    a = pd.read_csv(local[0] / "areas.csv", dtype={"area_id": str})
    pd.testing.assert_frame_equal(a, pd.read_csv(out / "areas.csv", dtype={"area_id": str}))
    # changed parameters: nothing is reused
    r2 = run_batch(areas=str(areas_file), area_id="ARS", area_name="name", out=out,
                   params=WalkParams(minutes=(5.0, 10.0)), network=str(data_dir / "rnv-2016-12.osm.pbf"),
                   population=(str(data_dir / "zensus2011_1km_rhein-neckar.csv"),), sites=str(SITES),
                   progress=False, workers=0, resume=True)  # fmt: skip
    assert r2["skipped"] == [] and len(r2["results"]) == len(AREAS)


def test_assign_areas_first_area_wins_on_overlaps_and_names_default_to_keys(tmp_path):
    sq = [shapely.box(0, 0, 10, 10), shapely.box(5, 0, 15, 10), shapely.box(100, 100, 101, 101)]
    g = gpd.GeoDataFrame({"key": ["a", "b", "c"], "name": ["A", "", None]}, geometry=sq,
                         crs="EPSG:25832")  # fmt: skip
    g.to_file(tmp_path / "a.gpkg")
    areas = read_areas(tmp_path / "a.gpkg", "key", "name")
    assert areas["area_name"].tolist() == ["A", "b", "c"]
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([1, 7, 10, 12, 50], [1, 5, 5, 5, 50]),
                           crs="EPSG:25832")  # fmt: skip
    assert assign_areas(pts, areas).tolist() == [0, 0, 0, 1, -1]


def test_networks_one_extract_per_area(local, data_dir, areas_file, tmp_path):
    """--networks DIR: the area with an extract equals the region run (its extract here is the
    whole region, so the spread residents are the same); the areas without one fail alone."""
    folder = tmp_path / "extracts"
    folder.mkdir()
    (folder / f"{AREAS[0]}.osm.pbf").symlink_to(data_dir / "rnv-2016-12.osm.pbf")
    r = run_batch(
        areas=str(areas_file), area_id="ARS", area_name="name", out=tmp_path / "n", params=PARAMS,
        networks=str(folder), population=(str(data_dir / "zensus2011_1km_rhein-neckar.csv"),),
        sites=str(SITES), progress=False, workers=0,
    )  # fmt: skip
    assert sorted(f.area_id for f in r["failures"]) == sorted([*AREAS[1:], "BROKEN"])
    assert "no extract file" in next(f.error for f in r["failures"] if f.area_id == AREAS[1])
    a = pd.read_csv(local[0] / "areas.csv", dtype={"area_id": str})
    b = pd.read_csv(tmp_path / "n" / "areas.csv", dtype={"area_id": str})
    # medians beyond 15 min differ: the clipped network cannot measure them, the whole one can
    cols = ["area_id", "category", "minutes", "population", "population_covered", "share_covered"]
    pd.testing.assert_frame_equal(a[a["area_id"] == AREAS[0]].reset_index(drop=True)[cols], b[cols])


def _two_areas(data_dir, ids, path):
    """Two real municipalities (AREAS[0], AREAS[1]) keyed by ``ids``, written to ``path``."""
    g = gpd.read_file(data_dir / "gemeinden_rhein-neckar.gpkg")
    g = g.set_index("ARS").loc[AREAS[:2]].reset_index()
    g["ARS"] = ids
    g.to_file(path)
    return g


def test_ids_that_make_the_same_folder_name_keep_their_own_folders(data_dir, tmp_path):
    """'A.1' and 'a-1' (and '..' and '/') slug to one folder name: each area must keep its own
    area.json and per-area folder, not overwrite the other's (and --resume must find both)."""
    _two_areas(data_dir, ["A.1", "a-1"], tmp_path / "a.gpkg")
    out = tmp_path / "out"
    kw = {"areas": str(tmp_path / "a.gpkg"), "area_id": "ARS", "area_name": None,
          "out": out, "params": WalkParams(minutes=(5.0, 10.0)),
          "network": str(data_dir / "rnv-2016-12.osm.pbf"),
          "population": (str(data_dir / "zensus2011_1km_rhein-neckar.csv"),),
          "sites": str(SITES), "progress": False, "workers": 0}  # fmt: skip
    r = run_batch(**kw, per_area_outputs=True)
    assert not r["failures"]
    folders = sorted((out / "areas").iterdir())
    assert len(folders) == 2
    stored = {json.loads((f / "area.json").read_text())["area_id"]: f for f in folders}
    assert set(stored) == {"A.1", "a-1"}
    table = pd.read_csv(out / "areas.csv", dtype={"area_id": str})
    for aid, folder in stored.items():
        mine = table[table["area_id"] == aid].reset_index(drop=True)
        own = pd.read_csv(folder / "summary.csv")
        assert np.allclose(own["population_covered"], mine["population_covered"])
    assert (
        table.loc[table["area_id"] == "A.1", "population"].iloc[0]
        != table.loc[table["area_id"] == "a-1", "population"].iloc[0]
    )
    again = run_batch(**kw, per_area_outputs=True, resume=True)
    assert sorted(again["skipped"]) == ["A.1", "a-1"] and not again["results"]


def test_empty_areas_file_is_a_clear_error(tmp_path):
    g = gpd.GeoDataFrame({"ARS": []}, geometry=[], crs="EPSG:25832")
    g.to_file(tmp_path / "none.gpkg")
    with pytest.raises(InputError, match=r"none\.gpkg.*no area"):
        read_areas(tmp_path / "none.gpkg", "ARS")


def test_main_minutes_not_a_threshold_fails_before_any_area_runs(data_dir, tmp_path):
    _two_areas(data_dir, ["x", "y"], tmp_path / "a.gpkg")
    r = CliRunner().invoke(main, [
        "batch", "--areas", str(tmp_path / "a.gpkg"), "--area-id", "ARS",
        "--network", str(data_dir / "rnv-2016-12.osm.pbf"),
        "--population", str(data_dir / "zensus2011_1km_rhein-neckar.csv"), "--sites", str(SITES),
        "--minutes", "5,10", "--main-minutes", "7", "--workers", "0", "--out", str(tmp_path / "o"),
    ])  # fmt: skip
    assert r.exit_code != 0 and "--main-minutes 7" in r.output, r.output
    assert not (tmp_path / "o" / "areas").exists()  # nothing computed before the error


def test_areas_in_metres_labelled_as_degrees_is_a_clear_error(data_dir, tmp_path):
    """An areas file whose CRS says EPSG:4326 but whose coordinates are metres (a lost .prj,
    a wrong set_crs) crashed with a GEOSException traceback from the buffer."""
    g = _two_areas(data_dir, ["x", "y"], tmp_path / "a.gpkg")
    g.set_crs("EPSG:4326", allow_override=True).to_file(tmp_path / "wrong.gpkg")
    with pytest.raises(InputError, match=r"wrong\.gpkg.*EPSG:4326.*degrees"):
        read_areas(tmp_path / "wrong.gpkg", "ARS")
    assert len(read_areas(tmp_path / "a.gpkg", "ARS")) == 2
    g.to_crs("EPSG:4326").to_file(tmp_path / "right.gpkg")
    assert len(read_areas(tmp_path / "right.gpkg", "ARS")) == 2


def test_networks_extract_names_stay_inside_the_folder(data_dir, tmp_path):
    """--networks DIR looks up DIR/<key>.osm.pbf: a key '../elsewhere/x' read an extract
    outside DIR (path traversal). Such a key must not leave DIR: the area fails alone."""
    folder, elsewhere = tmp_path / "extracts", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    (elsewhere / "x.osm.pbf").symlink_to(data_dir / "rnv-2016-12.osm.pbf")
    _two_areas(data_dir, ["../elsewhere/x", "y"], tmp_path / "a.gpkg")
    r = run_batch(
        areas=str(tmp_path / "a.gpkg"), area_id="ARS", area_name=None, out=tmp_path / "n",
        params=PARAMS, networks=str(folder),
        population=(str(data_dir / "zensus2011_1km_rhein-neckar.csv"),), sites=str(SITES),
        progress=False, workers=0,
    )  # fmt: skip
    assert not r["results"]
    assert sorted(f.area_id for f in r["failures"]) == ["../elsewhere/x", "y"]
    assert all("no extract file" in f.error for f in r["failures"])

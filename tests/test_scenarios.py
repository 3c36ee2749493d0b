"""Scenarios on real data: gains are exact differences of independent analyses; file checks."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from accessibility.cli import main
from accessibility.core.analysis import analyze
from accessibility.errors import ScenarioError
from accessibility.inputs.sites import combine_sites
from accessibility.pipeline import load_inputs
from accessibility.planning.scenario import apply_changes, run_scenario
from accessibility.planning.scenario_file import Change, read_scenario

from ._layers import assert_clean_geopackages

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
MINUTES = (5.0, 10.0)


@pytest.fixture(scope="module")
def kl(kl_osm, kl_zensus, kl_origin):
    return load_inputs(network=kl_osm, population=[kl_zensus, kl_origin])


@pytest.fixture(scope="module")
def kl_base(kl):
    return analyze(kl.network, kl.sites, kl.residents, minutes=MINUTES, categories=kl.categories)


def _new_sites(lonlat, category="advice_centre"):
    return gpd.GeoDataFrame(
        {
            "site_id": [f"new:{i}" for i in range(len(lonlat))],
            "name": [f"Neu {i}" for i in range(len(lonlat))],
            "category": category,
            "source": "test",
            "row": pd.array([pd.NA] * len(lonlat), dtype="Int64"),
            "osm_tags": None,
        },
        geometry=gpd.points_from_xy(*np.array(lonlat).T),
        crs="EPSG:4326",
    )


NEW = [(7.7520, 49.4440), (7.7700, 49.4440), (7.7400, 49.4350)]


def _covered(a):
    return a.summary().set_index(["category", "minutes"])["population_covered"]


def test_gain_equals_difference_of_two_independent_analyses(kl, kl_base):
    changes = [
        Change(
            "add",
            {
                "id": f"new:{i}",
                "name": f"Neu {i}",
                "category": "advice_centre",
                "lat": lat,
                "lon": lon,
            },
            line=i + 1,
        )  # fmt: skip
        for i, (lon, lat) in enumerate(NEW)
    ]
    r = run_scenario(kl.network, kl.sites, kl.residents, changes, minutes=MINUTES,
                     categories=kl.categories)  # fmt: skip
    # independent: a fresh analysis with the new sites put together by hand
    after = analyze(kl.network, combine_sites(kl.sites, _new_sites(NEW)), kl.residents,
                    minutes=MINUTES, categories=kl.categories)  # fmt: skip
    s = r.summary().set_index(["category", "minutes"])
    before_ind, after_ind = _covered(kl_base), _covered(after)
    assert list(s.index) == list(before_ind.index)
    assert (s["population_covered_before"] == before_ind).all()
    assert (s["population_covered_after"] == after_ind.reindex(s.index)).all()
    assert (s["gain"] == after_ind.reindex(s.index) - before_ind).all()
    assert s.loc[("advice_centre", 5.0), "gain"] > 0  # the test can fail: something is gained
    # adds only: nobody loses, and the newly covered points add up to the gain per threshold
    assert len(r.changed_residents(False)) == 0
    new = r.changed_residents(True)
    for m in MINUTES:
        mask = new[f"covered_after_{m:g}"] & ~new[f"covered_before_{m:g}"]
        assert new.loc[mask, "population"].sum() == pytest.approx(s.loc[("all", m), "gain"])
    assert (new["minutes_after"] < new["minutes_before"].fillna(np.inf)).all()


def test_removing_a_site_never_increases_coverage(kl, kl_base):
    before = _covered(kl_base)
    lost_any = False
    for sid in kl_base.sites["site_id"]:
        r = run_scenario(kl.network, kl.sites, kl.residents, [Change("remove", {"id": sid})],
                         minutes=MINUTES, categories=kl.categories)  # fmt: skip
        s = r.summary().set_index(["category", "minutes"])
        assert (s["population_covered_after"] <= s["population_covered_before"]).all(), sid
        assert (s["population_covered_before"] == before).all()
        assert len(r.changed_residents(True)) == 0
        lost_any |= bool((s["gain"] < 0).any())
    assert lost_any


def test_moving_a_site_back_restores_the_baseline(kl, kl_base):
    site = kl_base.sites.iloc[0]
    orig = kl.sites.set_index("site_id").loc[site["site_id"]].geometry
    away = Change("move", {"id": site["site_id"], "lat": 49.4300, "lon": 7.7300})
    back = Change("move", {"id": site["site_id"], "lat": orig.y, "lon": orig.x})
    moved = run_scenario(kl.network, kl.sites, kl.residents, [away], minutes=MINUTES,
                         categories=kl.categories)  # fmt: skip
    assert (moved.summary()["gain"] != 0).any()  # moving away changes something
    r = run_scenario(kl.network, kl.sites, kl.residents, [away, back], minutes=MINUTES,
                     categories=kl.categories)  # fmt: skip
    s = r.summary()
    assert (s["gain"] == 0).all()
    np.testing.assert_array_equal(
        r.after.residents["metres_all"].to_numpy(), kl_base.residents["metres_all"].to_numpy()
    )
    assert len(r.changed_residents(True)) == 0 and len(r.changed_residents(False)) == 0


def test_recategorise_moves_coverage_between_categories(kl, kl_base):
    lib = kl_base.sites[kl_base.sites["category"] == "library"].iloc[0]["site_id"]
    r = run_scenario(kl.network, kl.sites, kl.residents,
                     [Change("recategorise", {"id": lib, "category": "advice_centre"})],
                     minutes=MINUTES, categories=kl.categories)  # fmt: skip
    s = r.summary().set_index(["category", "minutes"])
    assert (s.loc["all", "gain"] == 0).all()
    assert (s.loc["library", "gain"] <= 0).all()
    assert (s.loc["advice_centre", "gain"] >= 0).all()
    assert s.loc["advice_centre", "gain"].sum() > 0


# --------------------------------------------------------------------------- files and CLI


def test_example_scenarios_parse_and_use_the_demo_network(helsinki_pbf):
    files = sorted(SCENARIOS.glob("helsinki_*.yaml"))
    assert len(files) >= 2
    for f in files:
        sc = read_scenario(f)
        assert Path(sc.inputs["network"]) == helsinki_pbf
        assert sc.changes


def test_scenario_cli_writes_the_output_contract(helsinki_pbf, tmp_path):
    out = tmp_path / "s"
    res = CliRunner().invoke(
        main, ["scenario", str(SCENARIOS / "helsinki_close_and_move.yaml"), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    s = pd.read_csv(out / "scenario_summary.csv")
    assert list(s.columns[:5]) == ["category", "minutes", "population_covered_before",
                                   "population_covered_after", "gain"]  # fmt: skip
    np.testing.assert_allclose(
        s["gain"], s["population_covered_after"] - s["population_covered_before"]
    )
    g = pd.read_csv(out / "scenario_summary_groups.csv")
    assert list(g.columns[:6]) == ["group", *s.columns[:5]]
    assert list(pd.read_csv(out / "scenario_summary_districts.csv").columns[:1]) == ["district"]
    lost = gpd.read_file(out / "lost_coverage.gpkg")
    assert {"minutes_before", "minutes_after", "population"} <= set(lost.columns)
    # closing a library loses coverage; the lost points add up to the loss at 5 minutes
    all5 = s[(s["category"] == "all") & (s["minutes"] == 5)].iloc[0]
    assert all5["gain"] < 0
    lost5 = lost["covered_before_5"] & ~lost["covered_after_5"]
    assert lost.loc[lost5, "population"].sum() == pytest.approx(-all5["gain"])
    assert gpd.read_file(out / "newly_covered.gpkg").crs is not None
    sites = gpd.read_file(out / "scenario_sites.gpkg")
    assert set(sites["change"]) >= {"removed", "moved", "recategorised", "unchanged"}
    assert sites["visibility"].between(0, 1).all() and "shops_100m" in sites
    run = json.loads((out / "run.json").read_text())
    assert run["changes"] == {"added": 0, "removed": 1, "moved": 1, "recategorised": 1}
    assert (out / "scenario_map.html").exists()
    # the rich before/after map over the full 'after' outputs
    after = pd.read_csv(out / "after" / "summary.csv").set_index(["category", "minutes"])
    assert after.loc[("all", 5.0), "population_covered"] == all5["population_covered_after"]
    page = (out / "map.html").read_text()
    assert "Scenario: residents losing coverage" in page and "Scenario: sites" in page
    # the before/after report: the summary's figures, every changed site, the map embedded
    report = (out / "report.html").read_text(encoding="utf-8")
    for r in s[s["category"] == "all"].itertuples():
        assert f"<b>{r.gain:+,.0f}</b>" in report
        assert f"({r.share_before:.1%} → {r.share_after:.1%})" in report
        assert f"{r.population_covered_before:,.0f} ({r.share_before:.1%})" in report
    changed = sites[sites["change"] != "unchanged"]
    assert all(f"<td>{html.escape(n)}</td>" in report for n in changed["name"])
    assert '<iframe src="map.html"' in report and '<img class="chart"' in report


def test_scenario_map_escapes_names(helsinki_pbf, tmp_path):
    y = tmp_path / "evil.yaml"
    y.write_text(
        "name: '<script>alert(1)</script>'\nnetwork: demo\nminutes: [5]\nchanges:\n"
        "  - add: {name: '<img src=x onerror=alert(2)>', category: advice_centre, "
        "lat: 60.1655, lon: 24.9395}\n",
        encoding="utf-8",
    )
    res = CliRunner().invoke(main, ["scenario", str(y), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    for name in ("scenario_map.html", "map.html", "report.html"):
        page = (tmp_path / "o" / name).read_text(encoding="utf-8")
        assert "<script>alert(1)" not in page and "<img src=x" not in page, name
    page = (tmp_path / "o" / "scenario_map.html").read_text(encoding="utf-8")
    # escaped for HTML, then embedded as JSON (``&`` as ``\u0026``)
    assert "\\u0026lt;img src=x onerror=alert(2)\\u0026gt;" in page


def test_scenario_cli_without_file_add_and_remove(helsinki_pbf, tmp_path):
    add = tmp_path / "new.csv"
    add.write_text("id,name,category,lat,lon\nn1,Neu,advice_centre,60.1655,24.9395\n")
    out = tmp_path / "o"
    res = CliRunner().invoke(main, [
        "scenario", "--network", str(helsinki_pbf), "--add", str(add),
        "--remove", "osm:node/1380779190", "--minutes", "5,10", "--out", str(out),
    ])  # fmt: skip
    assert res.exit_code == 0, res.output
    s = pd.read_csv(out / "scenario_summary.csv").set_index(["category", "minutes"])
    assert s.loc[("advice_centre", 5.0), "gain"] > 0
    assert s.loc[("library", 5.0), "gain"] < 0
    # the same as an independent run of the equivalent scenario file
    y = tmp_path / "same.yaml"
    y.write_text(
        f"network: {helsinki_pbf}\nminutes: [5, 10]\nchanges:\n"
        "  - remove: osm:node/1380779190\n"
        "  - add: {id: n1, name: Neu, category: advice_centre, lat: 60.1655, lon: 24.9395}\n"
    )
    res = CliRunner().invoke(main, ["scenario", str(y), "--out", str(tmp_path / "o2")])
    assert res.exit_code == 0, res.output
    s2 = pd.read_csv(tmp_path / "o2" / "scenario_summary.csv").set_index(["category", "minutes"])
    pd.testing.assert_series_equal(s["gain"], s2["gain"])


def test_compare_side_by_side(helsinki_pbf, tmp_path):
    a, b = (
        SCENARIOS / "helsinki_new_advice_centres.yaml",
        SCENARIOS / "helsinki_close_and_move.yaml",
    )
    res = CliRunner().invoke(main, ["compare", str(a), str(b), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    c = pd.read_csv(tmp_path / "comparison.csv")
    # issue 12: column-safe names, with a lookup table of the full names
    assert all(re.fullmatch(r"[a-z0-9_]+", col) for col in c.columns), list(c.columns)
    lookup = pd.read_csv(tmp_path / "comparison_columns.csv")
    assert set(lookup["column"]) == set(c.columns) - {"category", "minutes",
                                                      "population_covered_before"}  # fmt: skip
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["columns"] == dict(zip(lookup["column"], lookup["scenario"], strict=True))
    assert "after_close_rikhardinkatu_library_move_luckan" in c.columns
    for f in (a, b):
        name = read_scenario(f).name
        single = pd.read_csv(
            tmp_path / name.lower().replace(" ", "-").replace(",", "") / "scenario_summary.csv"
        )
        col = lookup.loc[(lookup["scenario"] == name) & lookup["column"].str.startswith("gain_"),
                         "column"].item()  # fmt: skip
        np.testing.assert_allclose(c[col], single["gain"])
        np.testing.assert_allclose(c["population_covered_before"],
                                   single["population_covered_before"])  # fmt: skip
    # every layer of both scenarios (scenario_sites.gpkg included): one type, one metric CRS
    layers = assert_clean_geopackages(tmp_path)
    assert {f for f, *_ in layers} >= {str(Path(d) / "scenario_sites.gpkg") for d in run["folders"]}


# --------------------------------------------------------------------------- bad files


def _write(tmp_path, text, name="bad.yaml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    "text, line, fix",
    [
        ("network: demo\nminuts: [5]\n", 2, "did you mean 'minutes'"),
        (
            "network: demo\nchanges:\n  - add: {name: X, category: library}\n",
            3,
            "missing coordinates",
        ),
        ("network: demo\nchanges:\n  - add: {name: X, category: library, lat: 1}\n", 3, "give lon"),
        ("network: demo\nchanges:\n  - remove: a\n  - delete: b\n", 4, "did you mean 'remove'"),
        ("network: demo\nchanges:\n  - move: {id: a, lat: 200, lon: 7}\n", 3, "lat in [-90, 90]"),
        (
            "network: demo\nchanges:\n  - add: {name: X, category: c, lat: '4x', lon: 7}\n",
            3,
            "must be a number",
        ),
        ("network: demo\nminutes: [5, -1]\n", 2, "positive numbers"),
        ("network: demo\nspeed: fast\n", 2, "km/h"),
        (
            "network: demo\nchanges:\n  - add: {name: X, category: c, lat: 1, lon: 2, colour: red}\n",
            3,
            "allowed: name, category, id, lat, lon, address",
        ),
        ("network: demo\nchanges:\n  - add: [1, 2\n", 4, "not valid YAML"),
        ("network: no/such/file.osm.pbf\n", 1, "paths are relative to the scenario file"),
        ("network: ${NO_SUCH_VARIABLE_XYZ}/a.osm\n", 1, "environment variable that is not set"),
        ("network: demo\nminutes: [5]\nminutes: [10]\n", 3, "appears twice"),
    ],
)
def test_bad_scenario_files_name_file_line_and_fix(tmp_path, text, line, fix):
    p = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as exc:
        read_scenario(p)
    msg = str(exc.value)
    assert str(p) in msg and f"line {line}" in msg and fix in msg, msg


def test_missing_network_and_non_mapping(tmp_path):
    with pytest.raises(ScenarioError, match="'network' is missing"):
        read_scenario(_write(tmp_path, "minutes: [5]\n"))
    with pytest.raises(ScenarioError, match="must be a mapping"):
        read_scenario(_write(tmp_path, "- a\n- b\n"))


def _tiny_sites():
    return gpd.GeoDataFrame(
        {"site_id": ["lib-1", "lib-2", "x"], "name": ["Bib", "Bib", "Büro"],
         "category": ["library", "library", "advice_centre"], "source": "t",
         "row": pd.array([1, 2, 3], dtype="Int64"), "osm_tags": None},
        geometry=[shapely.Point(7.75, 49.44), shapely.Point(7.76, 49.44), shapely.Point(7.77, 49.44)],
        crs="EPSG:4326",
    )  # fmt: skip


def test_changes_naming_unknown_or_ambiguous_sites(tmp_path):
    p = _write(tmp_path, "network: demo\nchanges:\n  - remove: lib-3\n  - remove: {name: Bib}\n")
    sc = read_scenario(p)
    with pytest.raises(ScenarioError) as exc:
        apply_changes(_tiny_sites(), sc.changes, sc.file)
    msg = str(exc.value)
    assert str(p) in msg and "line 3" in msg and "did you mean 'lib-" in msg, msg
    with pytest.raises(ScenarioError) as exc:
        apply_changes(_tiny_sites(), sc.changes[1:], sc.file)
    msg = str(exc.value)
    assert "line 4" in msg and "2 sites are named 'Bib'" in msg and "give the id" in msg, msg
    ok = apply_changes(_tiny_sites(), [Change("remove", {"name": "Büro"})])
    assert list(ok["site_id"]) == ["lib-1", "lib-2"]
    with pytest.raises(ScenarioError, match="already used"):
        apply_changes(_tiny_sites(), [Change("add", {"id": "x", "name": "n", "category": "c",
                                                     "lat": 49.0, "lon": 7.0}, 5)])  # fmt: skip


def test_cli_reports_scenario_errors_without_traceback(tmp_path):
    p = _write(tmp_path, "network: demo\nchanges:\n  - add: {name: X, category: library}\n")
    res = CliRunner().invoke(main, ["scenario", str(p), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "line 3" in res.output and "Traceback" not in res.output


def test_later_changes_can_refer_to_added_sites():
    add = Change("add", {"id": "n1", "name": "Neu", "category": "library", "lat": 49.0,
                         "lon": 7.0}, 2)  # fmt: skip
    moved = apply_changes(_tiny_sites(), [add, Change("move", {"id": "n1", "lat": 49.5,
                                                                "lon": 7.5})])  # fmt: skip
    row = moved.set_index("site_id").loc["n1"]
    assert row["change"] == "added" and (row.geometry.x, row.geometry.y) == (7.5, 49.5)
    gone = apply_changes(_tiny_sites(), [add, Change("remove", {"id": "n1"})])
    assert list(gone["site_id"]) == ["lib-1", "lib-2", "x"]


def test_compare_refuses_different_baselines(helsinki_pbf, tmp_path):
    a = _write(tmp_path, "network: demo\nminutes: [5]\n", "a.yaml")
    b = _write(tmp_path, "network: demo\nminutes: [10]\n", "b.yaml")
    res = CliRunner().invoke(main, ["compare", str(a), str(b), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "b.yaml" in res.output and "same network" in res.output, res.output


def test_kaiserslautern_example_uses_the_data_variable(kl_dir, monkeypatch):
    monkeypatch.setenv("ACCESSIBILITY_DATA", str(kl_dir.parent))
    sc = read_scenario(SCENARIOS / "kaiserslautern_new_office.yaml")
    assert Path(sc.inputs["network"]) == kl_dir / "kaiserslautern.osm.gz"
    assert [Path(p).name for p in sc.inputs["population"]] == [
        "zensus2011_100m_kaiserslautern.csv",
        "zensus2011_100m_kaiserslautern_origin.csv",
    ]
    monkeypatch.delenv("ACCESSIBILITY_DATA")
    with pytest.raises(ScenarioError, match="environment variable that is not set"):
        read_scenario(SCENARIOS / "kaiserslautern_new_office.yaml")


def test_add_by_address_is_geocoded_offline(kl, kl_extract, tmp_path):
    """A scenario may add a site by address; it lands on the OSM address point."""
    from accessibility.planning.scenario import resolve_addresses

    tags = next(
        t for t in kl_extract.features["tags"]
        if t.get("addr:street") and t.get("addr:housenumber", "").isdigit()
    )  # fmt: skip
    address = f"{tags['addr:street']} {tags['addr:housenumber']}"
    p = _write(
        tmp_path,
        "network: demo\nchanges:\n"
        f"  - add: {{name: Neu, category: advice_centre, address: '{address}'}}\n"
        "  - add: {name: Falsch, category: advice_centre, address: 'Erfundene Gasse 7'}\n",
        "addr.yaml",
    )
    sc = read_scenario(p)
    with pytest.raises(ScenarioError) as exc:
        resolve_addresses(sc.changes, kl.geocoder(), sc.file)
    assert "line 4" in str(exc.value) and "Erfundene Gasse 7" in str(exc.value)
    good = resolve_addresses(sc.changes[:1], kl.geocoder(), sc.file)[0]
    hit = (
        kl.geocoder()
        .geocode(
            pd.DataFrame(
                {"street": [tags["addr:street"]], "housenumber": [tags["addr:housenumber"]]}
            )
        )
        .iloc[0]
    )
    assert (good.values["lon"], good.values["lat"]) == (hit["lon"], hit["lat"])
    sites = apply_changes(kl.sites, [good])
    assert sites["site_id"].iloc[-1] == "scenario:1" and sites["change"].iloc[-1] == "added"

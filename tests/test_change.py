"""`accessibility change` (issue 15 part 3) on real Kaiserslautern runs: a run against itself,
the baseline against a scenario's after/ (= scenario_summary.csv), the cause split."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from accessibility.cli import main
from accessibility.outputs.files import write_scenario
from accessibility.outputs.folder import load_folder
from accessibility.pipeline import load_inputs, run, run_scenario_file, write_outputs
from accessibility.planning.change import Run, compare_runs
from accessibility.planning.scenario_file import read_scenario

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "kaiserslautern_new_office.yaml"
KEY = ["category", "minutes"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, kl_dir, kl_osm, kl_zensus, kl_origin):
    """The scenario file's baseline (an analysis of the same inputs, written like `analyze`)
    and the scenario (scenario_summary.csv and its after/ folder)."""
    d = tmp_path_factory.mktemp("kl_change")
    inputs = load_inputs(network=kl_osm, population=[kl_zensus, kl_origin])
    base = d / "base"
    write_outputs(run(inputs, minutes=[5, 10, 15]), base, {**inputs.record}, isochrones=False)
    mp = pytest.MonkeyPatch()
    mp.setenv("ACCESSIBILITY_DATA", str(kl_dir.parent))
    scenario = read_scenario(SCENARIO)
    mp.undo()
    result = run_scenario_file(inputs, scenario)
    office = d / "office"
    write_scenario(result, office, {**inputs.record})
    write_outputs(result.after, office / "after", {**inputs.record}, isochrones=False)
    return base, office


def _change(old, new, out, *extra):
    r = CliRunner().invoke(main, ["change", str(old), str(new), "--out", str(out), *extra])
    assert r.exit_code == 0, r.output
    return r.output


def test_change_of_a_run_with_itself_is_zero_everywhere(runs, tmp_path):
    base, _ = runs
    _change(base, base, tmp_path / "c")
    for name, n in (("change.csv", 15), ("change_groups.csv", 15 * 15)):
        t = pd.read_csv(tmp_path / "c" / name)
        assert len(t) == n
        for col in ("change", "change_sites", "change_population"):
            assert (t[col] == 0).all(), (name, col)
        assert (t["covered_before"] == t["covered_after"]).all()
    summary = pd.read_csv(base / "summary.csv")
    t = pd.read_csv(tmp_path / "c" / "change.csv")
    assert list(t.columns[: len(summary.columns)]) == list(summary.columns)
    pd.testing.assert_frame_equal(t[summary.columns], summary, check_dtype=False)
    cells = gpd.read_file(tmp_path / "c" / "change_cells.gpkg")
    assert (cells["status"] == "unchanged").all() and len(cells) == len(
        gpd.read_file(base / "residents.gpkg")
    )
    rec = json.loads((tmp_path / "c" / "run.json").read_text())
    assert rec["change"]["warnings"] == [] and rec["change"]["same_grid"] is True
    # the German report (the default for German data): German numbers, labelled groups, the
    # map inlined so that the report works alone
    report = (tmp_path / "c" / "report.html").read_text()
    covered = int(t[(t["category"] == "all") & (t["minutes"] == 15)]["covered_after"].iloc[0])
    assert f"{covered:,}".replace(",", ".") in report and f"{covered:,}" not in report
    assert "srcdoc=" in report and 'src="map.html"' not in report
    assert "geburtland_ausland" not in report.split("<iframe", 1)[0]


def test_change_to_a_scenario_equals_scenario_summary(runs, tmp_path):
    base, office = runs
    out = _change(base, office / "after", tmp_path / "c", "--lang", "en")
    assert "≤ 5 min: 8,860 → 10,635 residents, change +1,775" in out
    t = pd.read_csv(tmp_path / "c" / "change.csv")
    s = pd.read_csv(office / "scenario_summary.csv")
    m = s.merge(t, on=KEY, validate="one_to_one")
    assert len(m) == len(s) == 15
    assert np.array_equal(m["covered_before"], m["population_covered_before"])
    assert np.array_equal(m["covered_after"], m["population_covered_after"])
    assert np.array_equal(m["change"], m["gain"])
    assert (m["change_population"] == 0).all() and np.array_equal(m["change_sites"], m["gain"])
    g = pd.read_csv(office / "scenario_summary_groups.csv").merge(
        pd.read_csv(tmp_path / "c" / "change_groups.csv"), on=["group", *KEY]
    )
    assert len(g) == 15 * 15 and np.array_equal(g["change"], g["gain"])
    # the map's better/worse cells add up to the change at the smallest threshold
    cells = gpd.read_file(tmp_path / "c" / "change_cells.gpkg")
    pop = cells.groupby("status")["population_after"].sum()
    gain5 = s.set_index(KEY).loc[("all", 5.0), "gain"]
    assert pop.get("better", 0) - pop.get("worse", 0) == gain5 > 0
    html = (tmp_path / "c" / "map.html").read_text()
    assert "Quartiersb\\u00fcro Kotten" in html and "Better: covered now, not before" in html
    report = (tmp_path / "c" / "report.html").read_text()
    assert "Residents covered, per category and threshold" in report and "+1,775" in report


def test_population_change_is_split_from_site_change(runs):
    base, office = runs
    a, b = load_folder(base), load_folder(office / "after")
    old = Run(a.residents, a.sites, a.record)
    # the new docking point on twice the residents in 50 cells: sites and population both change
    res = b.residents.copy()
    grow = np.zeros(len(res), bool)
    grow[::25] = True
    res.loc[grow, "population"] *= 2
    c = compare_runs(old, Run(res, b.sites, b.record)).summary.set_index(KEY)
    same_people = compare_runs(old, Run(b.residents, b.sites, b.record)).summary.set_index(KEY)
    for m in (5.0, 10.0, 15.0):
        row = c.loc[("all", m)]
        assert row["change_sites"] == same_people.loc[("all", m), "change"]
        extra = b.residents.loc[grow & (b.residents["minutes_all"] <= m), "population"].sum()
        assert row["change_population"] == pytest.approx(extra) and extra > 0
        assert row["change"] == pytest.approx(row["change_sites"] + extra)
    # the same sites and minutes, more people: no site effect at all
    res2 = a.residents.copy()
    res2.loc[grow, "population"] *= 2
    rec = {**a.record, "parameters": {**a.record["parameters"], "speed_kmh": 4.0}}
    c2 = compare_runs(old, Run(res2, a.sites, rec))
    assert (c2.summary["change_sites"] == 0).all()
    assert (c2.summary["change_population"] == c2.summary["change"]).all()
    assert c2.warnings == [
        "walking speed (km/h) differ: 4.8 before, 4.0 after (the change mixes a change of "
        "method with a change on the ground)"
    ]
    # different grids (other cell ids): totals still compared, no cause split, no cells
    res3 = b.residents.copy()
    res3["pid"] = "other-" + res3["pid"].astype(str)
    c3 = compare_runs(old, Run(res3, b.sites, b.record))
    assert not c3.same_grid and c3.cells is None and c3.summary["change_sites"].isna().all()
    assert np.array_equal(c3.summary["change"], same_people.reset_index()["change"])


@pytest.mark.parametrize("where", ["old", "new", "parent of new"])
def test_out_that_is_or_holds_an_input_run_is_refused_and_the_run_kept(runs, tmp_path, where):
    """`change A B --out A` replaced the analysis run A by the change folder (run.json made it
    look like an earlier output): the input was deleted. Refused before any work, input intact."""
    import shutil

    base, office = runs
    old = tmp_path / "base"
    shutil.copytree(base, old)
    shutil.copytree(office, tmp_path / "office")
    new = tmp_path / "office" / "after"
    out = {"old": old, "new": new, "parent of new": new.parent}[where]
    before = sorted(p.name for p in out.iterdir())
    r = CliRunner().invoke(main, ["change", str(old), str(new), "--out", str(out)])
    assert r.exit_code != 0 and "--out" in r.output and "input" in r.output, r.output
    assert sorted(p.name for p in out.iterdir()) == before
    assert (out / "run.json").exists() and not (out / "change.csv").exists()


def test_runs_of_different_categories_are_named_in_a_warning(runs):
    """A category analysed in only one run shows all its sites as 'closed' (or 'added'):
    a change of method, which the warning must name, like differing thresholds."""
    from accessibility.planning.change import check_records

    base, _ = runs
    old = json.loads((base / "run.json").read_text())
    new = json.loads(json.dumps(old))
    new["parameters"]["categories"] = ["library", "all"]
    assert check_records(old, old) == []
    (w,) = check_records(old, new)
    assert "categories differ" in w and "community_centre" in w and "library" in w

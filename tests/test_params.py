"""One walking-parameter object (WalkParams) and the run record that states it (issue 16).

Two bugs came from parameters handled in many places: a library call
``write_outputs(a, out, record={})`` recorded the default access leg whatever was used, and a
scenario file silently won over ``--minutes/--speed/--max-access`` on the command line.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from click.testing import CliRunner

from accessibility.cli import main
from accessibility.errors import InputError
from accessibility.params import Profile, WalkParams
from accessibility.pipeline import load_inputs, run, write_outputs

from . import _small


def test_walk_params_validate_once_and_derive_distances():
    p = WalkParams(minutes=[10, 5, 5], speed_kmh=6.0, max_access_m=250)
    assert p.minutes == (5.0, 10.0) and p.max_access_m == 250.0
    assert p.metres_per_minute == pytest.approx(100.0)
    assert p.limits_m().tolist() == pytest.approx([500.0, 1000.0])
    assert p.record() == {"minutes": [5.0, 10.0], "speed_kmh": 6.0, "max_access_m": 250.0,
                          "min_component": p.min_component}  # fmt: skip
    slow = p.for_profile(Profile("senior", speed_kmh=3.0))
    assert slow.speed_kmh == 3.0 and slow.minutes == p.minutes and slow.profile.name == "senior"
    for bad, msg in (({"minutes": []}, "--minutes must be positive"),
                     ({"minutes": [0]}, "--minutes must be positive"),
                     ({"speed_kmh": 0}, "walking speed must be positive"),
                     ({"max_access_m": float("inf")}, "--max-access must be a positive"),
                     ({"min_component": 0}, "--min-component must be a whole number")):  # fmt: skip
        with pytest.raises(InputError, match=msg):
            WalkParams(**bad)
    assert isinstance(InputError("x"), ValueError)  # errors subclass the matching builtin
    with pytest.raises(InputError, match="--minutes must be numbers above 0 up to 600"):
        WalkParams.parse("5,700")


def test_library_record_states_the_access_leg_used(tmp_path):
    """Bug: ``write_outputs(a, out, record={})`` said 500 m whatever ``max_access_m`` was."""
    osm = _small.grid_osm(tmp_path / "grid.osm")
    inputs = load_inputs(
        network=osm, sites=_small.sites_csv(tmp_path / "s.csv"),
        population=[_small.population_csv(tmp_path / "p.csv")], population_column="einwohner",
    )  # fmt: skip
    a = run(inputs, minutes=[2, 4], max_access_m=123)
    assert a.params.max_access_m == 123 == a.max_access_m
    write_outputs(a, tmp_path / "out", record={})
    rec = json.loads((tmp_path / "out" / "run.json").read_text())
    assert rec["parameters"]["max_access_m"] == 123
    assert rec["parameters"]["minutes"] == [2.0, 4.0]
    assert rec["parameters"]["min_component"] == inputs.network.min_component
    # the method text of the report states it too
    assert "123" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def test_cli_record_states_the_access_leg_used(tmp_path):
    out = tmp_path / "o"
    res = CliRunner().invoke(main, [*_small.analyze_args(tmp_path), "--max-access", "321",
                                    "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads((out / "run.json").read_text())["parameters"]["max_access_m"] == 321


def _scenario(tmp_path, walk: str) -> str:
    osm = _small.grid_osm(tmp_path / "grid.osm")
    sites = _small.sites_csv(tmp_path / "s.csv")
    pop = _small.population_csv(tmp_path / "p.csv")
    lat, lon = _small.LAT0 + _small.DLAT, _small.LON0 + _small.DLON
    y = tmp_path / "scenario.yaml"
    y.write_text(
        f"network: {osm}\nsites: {sites}\npopulation: {pop}\npopulation_column: einwohner\n"
        f"{walk}changes:\n  - add: {{name: Neu, category: library, lat: {lat}, lon: {lon}}}\n",
        encoding="utf-8",
    )
    return str(y)


def test_scenario_file_and_conflicting_option_is_an_error(tmp_path):
    """Bug: ``--minutes`` etc. were silently ignored next to a scenario file that sets them."""
    y = _scenario(tmp_path, "minutes: [5, 10]\nspeed: 4.0\n")
    for option, value, key, shown in (("--minutes", "3", "minutes", "[5, 10]"),
                                      ("--speed", "5", "speed", "4")):  # fmt: skip
        res = CliRunner().invoke(main, ["scenario", y, option, value, "--out",
                                        str(tmp_path / "o")])  # fmt: skip
        assert res.exit_code != 0
        assert f"scenario.yaml sets {key}: {shown}; {option} {value} conflicts: remove one" in (
            " ".join(res.output.split())
        ), res.output
        assert not (tmp_path / "o").exists()


def test_scenario_option_for_a_key_the_file_omits_is_used_and_recorded(tmp_path):
    y = _scenario(tmp_path, "minutes: [2, 4]\n")
    out = tmp_path / "o"
    res = CliRunner().invoke(main, ["scenario", y, "--speed", "3.6", "--max-access", "222",
                                    "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    rec = json.loads((out / "run.json").read_text())
    assert rec["speed_kmh"] == 3.6
    assert rec["parameters"]["max_access_m"] == 222 and rec["parameters"]["minutes"] == [2, 4]
    after = json.loads((out / "after" / "run.json").read_text())
    assert after["parameters"]["speed_kmh"] == 3.6 and after["parameters"]["max_access_m"] == 222


def test_map_and_report_from_a_result_in_memory(tmp_path):
    """Maps and reports draw from an analysis in memory as from its output folder."""
    from accessibility.core.isochrones import from_analysis as bands
    from accessibility.outputs.folder import from_analysis, load_folder
    from accessibility.outputs.map import full_map
    from accessibility.outputs.report import write_report

    inputs = load_inputs(
        network=_small.grid_osm(tmp_path / "grid.osm"), sites=_small.sites_csv(tmp_path / "s.csv"),
        population=[_small.population_csv(tmp_path / "p.csv")], population_column="einwohner",
    )  # fmt: skip
    a = run(inputs, minutes=[2, 4])
    write_outputs(a, tmp_path / "out", record=dict(inputs.record))
    disk = load_folder(tmp_path / "out")
    mem = from_analysis(a, inputs.record, isochrones=bands(a), folder=tmp_path / "out")
    assert mem.minutes == disk.minutes == [2.0, 4.0] and mem.categories == disk.categories
    assert mem.record["parameters"]["max_access_m"] == disk.record["parameters"]["max_access_m"]
    cols = [c for c in disk.summary.columns if c != "note"]  # "" reads back from CSV as NaN
    pd.testing.assert_frame_equal(mem.summary[cols], disk.summary[cols], check_dtype=False)
    full_map(mem, tmp_path / "mem_map.html", title="T")
    write_report(mem, tmp_path / "mem_report.html", title="T", lang="en")
    write_report(disk, tmp_path / "disk_report.html", title="T", lang="en")
    page = (tmp_path / "mem_map.html").read_text(encoding="utf-8")
    assert "Stadtbibliothek" in page and "Beratung Mitte" in page
    # the report's figures are the same whether drawn from memory or from the folder
    body = [(tmp_path / f"{k}_report.html").read_text(encoding="utf-8") for k in ("mem", "disk")]
    figures = [sorted(re.findall(r"\d[\d,]*\.\d+ ?%|\b\d[\d,]{2,}\b", b)) for b in body]
    assert figures[0] == figures[1] and figures[0]

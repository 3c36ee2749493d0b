"""The command line end to end: outputs, bad input messages, exit codes, help texts."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from accessibility.cli import main

SUMMARY = ["category", "minutes", "population", "population_covered", "share_covered"]


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_every_command_has_help_with_example():
    assert main.commands
    for name in main.commands:
        r = _run(name, "--help")
        assert r.exit_code == 0, name
        assert "Example" in r.output, f"`accessibility {name} --help` lacks an example"


def _commands(group=main, prefix=()):
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


def test_help_never_splits_a_word_at_80_columns():
    """Issue 12: click wrapped inside words ("geburtland_ausla nd_eu27", "--sites- crs").

    Every word of every option's help (and of the command's description) appears whole in
    `--help` at 80 columns, as written in the source."""
    import click

    checked = 0
    for path, cmd in _commands():
        r = CliRunner().invoke(main, [*path, "--help"], terminal_width=80, env={"COLUMNS": "80"})
        assert r.exit_code == 0, path
        tokens = set(r.output.split())
        texts = [p.help or "" for p in cmd.params if isinstance(p, click.Option)]
        doc = (cmd.help or "").split("\f")[0]
        texts += [par for par in doc.split("\n\n") if not par.lstrip().startswith("\b")]
        for text in texts:
            for word in text.split():
                if len(word) > 40:
                    continue  # longer than a help column: it runs over, whole
                assert word in tokens, f"`accessibility {' '.join(path)} --help` splits {word!r}"
                checked += 1
    assert checked > 500
    r = CliRunner().invoke(main, ["rank", "--help"], terminal_width=80)
    assert "geburtland_ausland_eu27,geburtland_ausland_sonstige_welt." in r.output.split()


def test_compare_help_names_files_that_exist():
    """Every scenarios/*.yaml named in any --help is a file of the repository."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    named = set()
    for path, _ in _commands():
        out = CliRunner().invoke(main, [*path, "--help"]).output
        named |= set(re.findall(r"scenarios/[\w.-]+\.yaml", out))
    assert "scenarios/helsinki_new_advice_centres.yaml" in named
    for f in named:
        assert (root / f).is_file(), f


def test_demo_writes_all_outputs(tmp_path):
    out = tmp_path / "demo"
    r = _run("demo", "--out", out)
    assert r.exit_code == 0, r.output
    for f in ("summary.csv", "summary_groups.csv", "summary_districts.csv", "residents.gpkg",
              "residents.csv", "sites.gpkg", "rejects.csv", "run.json", "map.html"):  # fmt: skip
        assert (out / f).exists(), f
    s = pd.read_csv(out / "summary.csv")
    assert list(s.columns[:5]) == SUMMARY
    assert "all" in set(s["category"])
    run = json.loads((out / "run.json").read_text())
    assert "© OpenStreetMap contributors, ODbL 1.0" in run["attribution"]
    assert run["inputs"]["network"]["sha256"]
    assert str(out / "map.html") in r.output.replace("\n", "")
    sites = gpd.read_file(out / "sites.gpkg")
    assert {"site_id", "category", "source", "access_m", "visibility"} <= set(sites.columns)
    assert sites["visibility"].between(0, 1).all()
    res = gpd.read_file(out / "residents.gpkg")
    assert {"population", "minutes_all", "nearest_site_id", "nearest_site_name"} <= set(res.columns)
    assert res["population"].sum() == pytest.approx(
        s.loc[s.category == "all", "population"].iloc[0]
    )


def test_kaiserslautern_with_user_sites_and_rejects(kl_osm, kl_zensus, tmp_path):
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "id,name,category,lat,lon\n"
        "a1,Stadtteilbüro Innenstadt-West,advice_centre,49.4445,7.7590\n"
        "a2,Beratung <img src=x onerror=alert(1)>,advice_centre,49.4380,7.7700\n"
        "a2,Doppelt,advice_centre,49.4390,7.7710\n"  # duplicate id
        "a3,Ohne Koordinaten,advice_centre,,\n"  # no coordinates
        "a4,Vertauscht,advice_centre,7.7650,49.4400\n"  # lat/lon swapped
        "a5,Irgendwo,advice_centre,48.0,11.0\n"  # far outside the network (Munich)
    )
    out = tmp_path / "kl"
    r = _run("analyze", "--network", kl_osm, "--population", kl_zensus, "--sites", sites,
             "--osm-categories", "library", "--minutes", "5,10", "--out", out)  # fmt: skip
    assert r.exit_code == 0, r.output
    rej = pd.read_csv(out / "rejects.csv")
    site_rej = rej[rej["file"] == str(sites)]
    assert set(site_rej["row"]) == {3, 4, 5, 6}
    reasons = " ".join(site_rej["reason"]).lower()
    assert "duplicate" in reasons and "swapped" in reasons and "coordinates" in reasons
    assert "outside the area covered by the network" in reasons
    used = gpd.read_file(out / "sites.gpkg")
    assert set(used.loc[used["category"] == "advice_centre", "site_id"]) == {"a1", "a2"}
    assert (used["category"] == "library").sum() == 5
    assert "rejected" in r.output
    s = pd.read_csv(out / "summary.csv")
    assert set(s["category"]) == {"advice_centre", "library", "all"}


def test_all_rejected_fails_nonzero(helsinki_pbf, kl_zensus, tmp_path):
    # Kaiserslautern residents on the Helsinki network: nothing overlaps
    r = _run(
        "analyze", "--network", helsinki_pbf, "--population", kl_zensus, "--out", tmp_path / "x"
    )
    assert r.exit_code != 0
    assert "do not overlap" in r.output
    assert str(kl_zensus) in r.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--osm-categories", "libary"], "library"),  # typo → suggestion
        (["--minutes", "5,zehn"], "minutes"),
        (["--bbox", "1,2,3"], "W,S,E,N"),
    ],
)
def test_bad_options(kl_osm, tmp_path, args, message):
    r = _run("analyze", "--network", kl_osm, *args, "--out", tmp_path / "o")
    assert r.exit_code != 0
    assert message in r.output


def test_bad_files(kl_osm, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    r = _run("analyze", "--network", kl_osm, "--sites", empty, "--out", tmp_path / "o")
    assert r.exit_code == 2 and "empty.csv" in r.output and "empty" in r.output
    bad = tmp_path / "zensus_bad.csv"
    bad.write_text(
        "Gitter_ID_100m;x_mp_100m;y_mp_100m;Einwohnr\n100mN29254E41568;4156850;2925450;11\n"
    )
    r = _run("analyze", "--network", kl_osm, "--population", bad, "--out", tmp_path / "o")
    assert r.exit_code == 2 and "zensus_bad.csv" in r.output and "Einwohner" in r.output
    r = _run("analyze", "--network", tmp_path / "nope.osm.pbf", "--out", tmp_path / "o")
    assert r.exit_code == 2 and "not found" in r.output


def test_profiles_and_island_pruning_in_run_json(kl_osm, kl_zensus, tmp_path):
    """--profile adult,wheelchair,senior: summary_profiles.csv; run.json records rules and pruning."""
    out = tmp_path / "profiles"
    r = _run("analyze", "--network", kl_osm, "--population", kl_zensus, "--osm-categories",
             "library", "--profile", "adult,wheelchair,senior", "--out", out)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "Island pruning" in r.output
    t = pd.read_csv(out / "summary_profiles.csv")
    assert list(t.columns[:6]) == ["profile", *SUMMARY]
    assert list(dict.fromkeys(t["profile"])) == ["adult", "wheelchair", "senior"]
    # the other files keep the first profile
    s = pd.read_csv(out / "summary.csv")
    adult = t[t["profile"] == "adult"].drop(columns="profile").reset_index(drop=True)
    pd.testing.assert_frame_equal(adult, s, check_dtype=False)
    # a slower walker on the same network never covers more residents
    sen = t[t["profile"] == "senior"]["population_covered"].to_numpy()
    assert (sen <= adult["population_covered"].to_numpy()).all()
    run = json.loads((out / "run.json").read_text())
    assert run["profiles"]["senior"]["speed_kmh"] == 3.3
    assert "steps" in run["profiles"]["wheelchair"]["avoids"]
    p = run["network"]["pruning"]
    assert p["min_component_nodes"] == 40 and p["edges_pruned"] > 0
    assert {"residents_off_islands", "sites_off_islands"} <= set(p)
    r = _run("analyze", "--network", kl_osm, "--population", kl_zensus, "--profile", "jogger")
    assert r.exit_code == 2 and "unknown profile" in r.output

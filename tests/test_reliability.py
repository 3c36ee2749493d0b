"""Reliability (issue 11): whole output folders, safe CSV and JSON, self-healing caches,
checked numbers, degenerate inputs, districts and one-line errors.

Most cases run the real CLI on a small street grid near Kaiserslautern
(:mod:`tests._small`), so every command finishes in about a second; the readers are
checked on the real Kaiserslautern Zensus file.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from accessibility import _cache
from accessibility._io import (
    neutralise,
    output_error,
    output_folder,
    safe_csv_frame,
    write_csv,
    write_json,
)
from accessibility.cli import main
from accessibility.errors import AccessibilityWarning, InputError, OutputError
from tests import _small


class _Result:
    """CLI result whose ``output`` has the console's line wrapping undone."""

    def __init__(self, r):
        self.exit_code, self.raw = r.exit_code, r.output
        self.output = " ".join(r.output.split())


def _run(*args):
    return _Result(CliRunner().invoke(main, [str(a) for a in args]))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture
def grid(tmp_path, monkeypatch):
    """The small grid's files and `analyze` arguments; a private cache folder."""
    monkeypatch.setenv("ACCESSIBILITY_CACHE", str(tmp_path / "cache"))
    return _small.analyze_args(tmp_path)


# --------------------------------------------------------------------------- whole folders


def test_rerun_replaces_the_folder_whole_and_cleans_leftovers(grid, tmp_path):
    out = tmp_path / "X"
    r = _run(*grid, "--out", out)
    assert r.exit_code == 0, r.output
    rec = json.loads((out / "run.json").read_text())
    assert rec["complete"] is True
    # what a killed run of the old code left: a hidden temporary file inside X; and a
    # staging sibling of a killed run of this code
    (out / ".residents.csv.abc123.csv").write_text("half")
    stage = tmp_path / ".X.staging-dead"
    (stage / "X").mkdir(parents=True)
    (stage / "X" / "summary.csv").write_text("half")
    r = _run(*grid, "--minutes", "3", "--out", out)
    assert r.exit_code == 0, r.output
    assert not (out / ".residents.csv.abc123.csv").exists()
    assert not stage.exists()
    assert [p.name for p in tmp_path.glob(".X.staging-*")] == []
    assert set(pd.read_csv(out / "summary.csv")["minutes"]) == {3.0}
    assert json.loads((out / "run.json").read_text())["parameters"]["minutes"] == [3.0]


def test_a_failed_run_leaves_the_previous_folder_untouched(grid, tmp_path):
    out = tmp_path / "X"
    assert _run(*grid, "--out", out).exit_code == 0
    before = _snapshot(out)
    bad = tmp_path / "far.csv"  # every resident far outside the network: the run fails
    bad.write_text("lat,lon,einwohner\n48.0,9.0,10\n")
    args = [a if a != str(tmp_path / "pop.csv") else str(bad) for a in grid]
    r = _run(*args, "--out", out)
    assert r.exit_code == 2
    assert "do not overlap" in r.output
    assert _snapshot(out) == before


def test_lock_refuses_with_no_wait_and_waits_otherwise(grid, tmp_path):
    out = tmp_path / "X"
    fd = os.open(tmp_path / ".X.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        r = _run(*grid, "--out", out, "--no-wait")
        assert r.exit_code == 2
        assert "another run is writing" in r.output and "--no-wait" in r.output
        assert not out.exists()
        threading.Timer(1.0, lambda: os.close(fd)).start()
        r = _run(*grid, "--out", out)
    finally:
        time.sleep(1.1)
    assert r.exit_code == 0, r.output
    assert "waiting for it to end" in r.output
    assert (out / "run.json").exists()


def test_output_folder_refuses_a_folder_of_other_files(grid, tmp_path):
    home = tmp_path / "mine"
    home.mkdir()
    (home / "notes.txt").write_text("keep me")
    r = _run(*grid, "--out", home)
    assert r.exit_code == 2
    assert "already holds other files" in r.output
    assert (home / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in home.iterdir()) == ["notes.txt"]


def test_map_and_report_refuse_an_incomplete_folder(grid, tmp_path):
    out = tmp_path / "X"
    assert _run(*grid, "--out", out).exit_code == 0
    r = _run("map", out, "--lang", "en")
    assert r.exit_code == 0, r.output
    rec = json.loads((out / "run.json").read_text())
    del rec["complete"]
    (out / "run.json").write_text(json.dumps(rec))
    for cmd in ("map", "report"):
        r = _run(cmd, out)
        assert r.exit_code == 2
        assert "not marked complete" in r.output
    (out / "run.json").write_text('{"minutes": [5, ')  # damaged
    r = _run("report", out)
    assert r.exit_code == 2 and "run.json cannot be read" in r.output


def test_output_folder_swap_keeps_old_folder_on_error(tmp_path):
    out = tmp_path / "X"
    out.mkdir()
    (out / "run.json").write_text("{}")
    with pytest.raises(RuntimeError), output_folder(out) as new:
        (new / "run.json").write_text('{"new": 1}')
        raise RuntimeError("killed")
    assert (out / "run.json").read_text() == "{}"
    assert list(tmp_path.glob(".X.staging-*")) == []
    with output_folder(out) as new:
        (new / "run.json").write_text('{"new": 1}')
    assert json.loads((out / "run.json").read_text()) == {"new": 1}


# --------------------------------------------------------------------------- CSV formulas


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-12.5", "-12.5"),  # a plain number written as text stays as it is
        ("Stadtbibliothek", "Stadtbibliothek"),
    ],
)
def test_neutralise(text, safe):
    assert neutralise(text) == safe


def test_csv_neutralises_text_but_keeps_numbers(tmp_path):
    df = pd.DataFrame({"name": ["=1+1", "ok", None], "gain": [-5.0, 2.0, np.nan],
                       "=evil": [1, 2, 3]})  # fmt: skip
    assert safe_csv_frame(df)["name"].tolist()[:2] == ["'=1+1", "ok"]
    write_csv(df, tmp_path / "t.csv")
    back = pd.read_csv(tmp_path / "t.csv")
    assert back["name"].tolist()[:2] == ["'=1+1", "ok"]
    assert back["gain"].tolist()[:2] == [-5.0, 2.0]
    assert list(back.columns) == ["name", "gain", "'=evil"]


def test_formula_site_names_are_neutralised_in_every_csv(grid, tmp_path):
    sites = _small.sites_csv(
        tmp_path / "evil.csv",
        [('=HYPERLINK("http://x")', "library", _small.LAT0 + 2 * _small.DLAT,
          _small.LON0 + 2 * _small.DLON),
         ("+cmd|' /C calc'!A0", "advice_centre", _small.LAT0 + 4 * _small.DLAT,
          _small.LON0 + 3 * _small.DLON)],
    )  # fmt: skip
    args = [a if a != str(tmp_path / "sites.csv") else str(sites) for a in grid]
    for cmd, out in ((args, tmp_path / "A"), (["critical", *args[1:]], tmp_path / "C")):
        r = _run(*cmd, "--out", out)
        assert r.exit_code == 0, r.output
        for csv in out.rglob("*.csv"):
            cells = pd.read_csv(csv, dtype=str, keep_default_na=False).to_numpy().ravel()
            assert not any(c.startswith(("=", "+", "@")) for c in cells), csv
    res = pd.read_csv(tmp_path / "A" / "residents.csv")
    assert '\'=HYPERLINK("http://x")' in set(res["nearest_site_name"])
    crit = pd.read_csv(tmp_path / "C" / "critical_sites.csv")
    assert "'+cmd|' /C calc'!A0" in set(crit["name"])


# --------------------------------------------------------------------------- strict JSON


def test_run_json_is_strict(tmp_path):
    write_json({"a": float("nan"), "b": [float("inf"), np.float64(2.5)], "c": np.int64(3)},
               tmp_path / "r.json")  # fmt: skip
    text = (tmp_path / "r.json").read_text()
    assert json.loads(text, parse_constant=lambda c: pytest.fail(c)) == {
        "a": None, "b": [None, 2.5], "c": 3}  # fmt: skip


# --------------------------------------------------------------------------- caches


def test_no_pickle_in_the_package():
    root = Path(__file__).parents[1] / "accessibility"
    uses = re.compile(r"^\s*(import pickle|from pickle)|pickle\.(loads?|dumps?)\(", re.M)
    users = [p.name for p in root.rglob("*.py") if uses.search(p.read_text(encoding="utf-8"))]
    assert users == [], users


def test_cache_entry_roundtrip_and_damage(tmp_path):
    path = tmp_path / "c" / "e.npz"
    arrays = {"a": np.arange(5), "t": np.array("text")}
    assert _cache.save_arrays(path, arrays, kind="k", version=1) == path
    back = _cache.load_arrays(path, kind="k", version=1)
    assert np.array_equal(back["a"], arrays["a"]) and str(back["t"]) == "text"
    with pytest.warns(AccessibilityWarning, match="another kind or version"):
        assert _cache.load_arrays(path, kind="k", version=2) is None
    assert not path.exists()  # discarded
    for damage in (b"", b"PK\x03\x04 truncated", path.read_bytes() if path.exists() else None):
        if damage is None:
            continue
        path.write_bytes(damage)
        with pytest.warns(AccessibilityWarning, match="discarded and rebuilt"):
            assert _cache.load_arrays(path, kind="k", version=1) is None
        assert not path.exists()
    with pytest.raises(ValueError):
        _cache.save_arrays(path, {"o": np.array([{"x": 1}], dtype=object)}, kind="k")


def test_cache_checksum_catches_changed_bytes(tmp_path):
    path = tmp_path / "e.npz"
    _cache.save_arrays(path, {"a": np.arange(1000, dtype=np.int64)}, kind="k")
    with np.load(path) as z:
        good = {k: z[k] for k in z.files}
    good["a"] = good["a"].copy()
    good["a"][10] = -1
    with open(path, "wb") as f:  # same layout, one value changed, old checksum kept
        np.savez(f, **good)
    with pytest.warns(AccessibilityWarning, match="checksum mismatch"):
        assert _cache.load_arrays(path, kind="k") is None


def test_unwritable_cache_warns_once_and_goes_on(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    with pytest.warns(AccessibilityWarning, match="cannot be written") as rec:
        assert _cache.save_arrays(blocker / "n" / "a.npz", {"a": np.zeros(2)}, kind="k") is None
        assert _cache.save_arrays(blocker / "n" / "b.npz", {"a": np.zeros(2)}, kind="k") is None
    assert len([w for w in rec if "cannot be written" in str(w.message)]) == 1


@pytest.mark.parametrize("damage", ["truncate", "empty", "garbage"])
def test_damaged_network_cache_is_rebuilt(tmp_path, monkeypatch, damage):
    from accessibility.core.blocks import network_blocks
    from accessibility.core.network import load_network

    monkeypatch.setenv("ACCESSIBILITY_CACHE", str(tmp_path / "cache"))
    osm = _small.grid_osm(tmp_path / "grid.osm")
    net = load_network(osm)
    cache = net._cache_file
    network_blocks(net)
    for entry in (cache, cache.with_suffix(".blocks.npz")):
        data = entry.read_bytes()
        entry.write_bytes({"truncate": data[: len(data) // 2], "empty": b"",
                           "garbage": b"\x80\x04 not a cache"}[damage])  # fmt: skip
    with pytest.warns(AccessibilityWarning, match="discarded and rebuilt"):
        again = load_network(osm)
        blocks = network_blocks(again)
    assert again.n_edges == net.n_edges and np.allclose(again.length, net.length)
    assert blocks.n_faces == 25
    assert load_network(osm).meta["cached"] is True  # the rebuilt entry is good again


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--minutes", "nan", "--minutes"),
        ("--minutes", "inf", "--minutes"),
        ("--minutes", "5,-1", "--minutes"),
        ("--speed", "nan", "--speed"),
        ("--speed", "inf", "--speed"),
        ("--speed", "0", "--speed"),
        ("--max-access", "nan", "--max-access"),
        ("--max-access", "0", "--max-access"),
        ("--max-access", "-inf", "--max-access"),
    ],
)
def test_bad_numbers_are_one_clear_error(grid, tmp_path, option, value, words):
    r = _run(*grid, option, value, "--out", tmp_path / "X")
    assert r.exit_code == 2
    assert words in r.output and "Traceback" not in r.output
    assert not (tmp_path / "X").exists()


def test_small_max_access_says_so(grid, tmp_path):
    r = _run(*grid, "--max-access", "1", "--out", tmp_path / "X")
    assert r.exit_code == 2
    assert "--max-access 1 m" in r.output and "do not overlap" not in r.output


def test_implausible_einwohner_is_a_rejected_row(kl_zensus, tmp_path):
    from accessibility.inputs.population import drop_implausible, read_points, read_zensus
    from accessibility.rejects import Rejects

    lines = kl_zensus.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(";")
    k = header.index("Einwohner")
    row = lines[1].split(";")
    row[k] = "1e23"
    lines[1] = ";".join(row)
    f = tmp_path / "zensus.csv"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rejects = Rejects()
    raw = read_zensus([f], rejects)
    res = drop_implausible(raw, rejects)
    rej = rejects.frame()
    assert len(res) + len(rej) == len(lines) - 1
    hit = rej[rej["row"] == 1]
    assert len(hit) == 1 and "above 10,000 residents per 100 m cell" in hit["reason"].iloc[0]
    assert res["population"].max() <= 10_000

    pts = tmp_path / "pts.csv"
    pts.write_text("lat,lon,einwohner\n49.44,7.76,1e23\n49.44,7.77,12\n49.44,7.78,inf\n")
    rejects = Rejects()
    got = read_points(pts, "einwohner", rejects)
    assert got["population"].tolist() == [12.0]
    assert sorted(rejects.frame()["row"]) == [1, 3]


def test_empty_population_file_is_named_as_empty(grid, tmp_path):
    (tmp_path / "pop.csv").write_text("")
    r = _run(*grid, "--out", tmp_path / "X")
    assert r.exit_code == 2
    assert "population file is empty" in r.output


# --------------------------------------------------------------------------- degenerate inputs


@pytest.mark.parametrize("shape", ["line", "tree"])
def test_networks_without_blocks_work(tmp_path, monkeypatch, shape):
    monkeypatch.setenv("ACCESSIBILITY_CACHE", str(tmp_path / "cache"))
    osm = getattr(_small, f"{shape}_osm")(tmp_path / f"{shape}.osm")
    lat, lon = _small.LAT0, _small.LON0 + 2 * _small.DLON
    sites = _small.sites_csv(tmp_path / "one.csv", [("Einzige", "library", lat, lon)])
    pop = tmp_path / "pop.csv"
    pop.write_text(
        "lat,lon,einwohner\n"
        + "".join(f"{lat + 0.0002:.6f},{_small.LON0 + i * _small.DLON:.6f},10\n" for i in range(5))
    )
    out = tmp_path / "X"
    r = _run(*_small.analyze_args(tmp_path, osm, sites, pop), "--out", out)
    assert r.exit_code == 0, r.output
    for f in ("summary.csv", "isochrones.gpkg", "layers.gpkg", "map.html", "report.html",
              "run.json"):  # fmt: skip
        assert (out / f).exists(), f
    s = pd.read_csv(out / "summary.csv")
    assert s.loc[s["category"] == "library", "population"].iloc[0] == 50
    assert json.loads((out / "run.json").read_text())["complete"] is True
    from accessibility.core.blocks import network_blocks
    from accessibility.core.network import load_network

    net = load_network(osm)  # from the cache the run wrote, blocks included
    assert net.meta["cached"] is True
    assert network_blocks(net).n_faces == 0


def test_category_without_site_says_so(grid, tmp_path):
    out = tmp_path / "X"
    r = _run(*grid, "--osm-categories", "community_centre", "--lang", "en", "--out", out)
    assert r.exit_code == 0, r.output
    s = pd.read_csv(out / "summary.csv", keep_default_na=False)
    cc = s[s["category"] == "community_centre"]
    assert (cc["note"] == "no docking point of this category").all()
    assert (cc["share_covered"] == "").all() and (cc["median_minutes"] == "").all()
    assert (s.loc[s["category"] == "library", "note"] == "").all()
    assert "no docking point of this category" in (out / "report.html").read_text()
    assert "no docking point of this category" in r.output


# --------------------------------------------------------------------------- districts


def _districts(path: Path, features: list[tuple[str, float, float, float, float]]) -> Path:
    """GeoJSON of rectangles (name, lat0, lon0, lat1, lon1), EPSG:4326."""
    import geopandas as gpd
    import shapely

    gdf = gpd.GeoDataFrame(
        {"name": [f[0] for f in features]},
        geometry=[shapely.box(lo0, la0, lo1, la1) for _, la0, lo0, la1, lo1 in features],
        crs="EPSG:4326",
    )
    gdf.to_file(path, driver="GeoJSON")
    return path


def test_overlapping_districts_count_in_each_and_warn(grid, tmp_path):
    la, lo, dla, dlo = _small.LAT0, _small.LON0, _small.DLAT, _small.DLON
    d = _districts(tmp_path / "d.geojson", [
        ("West", la, lo, la + 5 * dla, lo + 3 * dlo),
        ("Mitte", la, lo + 2 * dlo, la + 5 * dla, lo + 4 * dlo),  # overlaps West
    ])  # fmt: skip
    out = tmp_path / "X"
    r = _run(*grid, "--districts", d, "--out", out)
    assert r.exit_code == 0, r.output
    assert "overlap" in r.output and "'West' & 'Mitte'" in r.output
    sd = pd.read_csv(out / "summary_districts.csv")
    pop = sd[(sd["category"] == "all") & (sd["minutes"] == 2)].set_index("district")["population"]
    res = pd.read_csv(out / "residents.csv")
    col = ((res["lon"] - lo) / dlo).astype(int)  # grid column of each resident point
    assert pop["West"] == res.loc[col < 3, "population"].sum()
    assert pop["Mitte"] == res.loc[(col >= 2) & (col < 4), "population"].sum()
    assert pop["(outside all districts)"] == res.loc[col >= 4, "population"].sum()
    assert pop.sum() > res["population"].sum()  # the overlap counts twice


def test_duplicate_district_names_are_an_error(grid, tmp_path):
    la, lo, dla, dlo = _small.LAT0, _small.LON0, _small.DLAT, _small.DLON
    d = _districts(tmp_path / "d.geojson", [
        ("Mitte", la, lo, la + 2 * dla, lo + 2 * dlo),
        ("Mitte", la + 3 * dla, lo, la + 5 * dla, lo + 2 * dlo),
    ])  # fmt: skip
    r = _run(*grid, "--districts", d, "--out", tmp_path / "X")
    assert r.exit_code == 2
    assert "'Mitte' (features 1, 2)" in r.output and "unique" in r.output
    assert not (tmp_path / "X").exists()


# --------------------------------------------------------------------------- errors


def test_unwritable_out_is_one_line(grid, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    r = _run(*grid, "--out", f / "sub")
    assert r.exit_code == 2
    assert r.output.count("error:") == 1 and "Traceback" not in r.output
    assert "cannot write" in r.output or "not a folder" in r.output


def test_output_errors_name_the_cause():
    for code, words in ((errno.ENOSPC, "disk is full"), (errno.EROFS, "read-only"),
                        (errno.EACCES, "permission denied")):  # fmt: skip
        e = output_error(OSError(code, os.strerror(code), "/x/y"), Path("/x"))
        assert isinstance(e, OutputError) and words in str(e) and "\n" not in str(e)


def test_name_stays_inside_outputs(grid, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("../../x", "/tmp/x", "a/b", ".."):
        r = _run(*grid, "--name", name)
        assert r.exit_code == 2, name
        assert "--name must be a plain folder name" in r.output
    assert not (tmp_path / "x").exists() and not Path("/tmp/x/run.json").exists()
    r = _run(*grid, "--name", "ok")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "outputs" / "ok" / "run.json").exists()


def _scenario(path: Path, tmp: Path, name: str, changes: str) -> Path:
    path.write_text(
        f"name: {name}\nnetwork: {tmp / 'grid.osm'}\nsites: {tmp / 'sites.csv'}\n"
        f"population: {tmp / 'pop.csv'}\npopulation_column: einwohner\nminutes: [2, 4]\n"
        f"changes:\n{changes}",
        encoding="utf-8",
    )
    return path


def test_compare_names_that_collide_get_their_own_folders(grid, tmp_path):
    add = (f"  - add: {{name: Neu, category: library, lat: {_small.LAT0 + 4 * _small.DLAT}, "
           f"lon: {_small.LON0 + _small.DLON}}}\n")  # fmt: skip
    a = _scenario(tmp_path / "a.yaml", tmp_path, "'Plan A!'", add)
    b = _scenario(
        tmp_path / "b.yaml", tmp_path, "'plan a?'", "  - remove: {name: Beratung Mitte}\n"
    )
    out = tmp_path / "cmp"
    r = _run("compare", a, b, "--out", out)
    assert r.exit_code == 0, r.output
    assert (out / "a" / "scenario_summary.csv").exists()
    assert (out / "b" / "scenario_summary.csv").exists()
    (tmp_path / "sub").mkdir()
    c = _scenario(tmp_path / "sub" / "a.yaml", tmp_path, "'PLAN A'", add)  # same name and stem
    r = _run("compare", a, c, "--out", tmp_path / "cmp2")
    assert r.exit_code == 2 and "would both be written to the folder 'plan-a'" in r.output
    assert not (tmp_path / "cmp2").exists()


def test_compare_prints_scenario_names_with_brackets_as_they_are(grid, tmp_path):
    """Review: a scenario name's "[...]" was read as rich markup: "Plan [draft] 2" was printed
    as "Plan  2", and "Plan [/b]" crashed compare after its outputs were written."""
    add = (f"  - add: {{name: Neu, category: library, lat: {_small.LAT0 + 4 * _small.DLAT}, "
           f"lon: {_small.LON0 + _small.DLON}}}\n")  # fmt: skip
    a = _scenario(tmp_path / "a.yaml", tmp_path, "'Plan [draft] 2'", add)
    b = _scenario(
        tmp_path / "b.yaml", tmp_path, "'Plan [/b]'", "  - remove: {name: Beratung Mitte}\n"
    )
    r = _run("compare", a, b, "--out", tmp_path / "cmp")
    assert r.exit_code == 0, r.output
    text = "".join(r.output.split())  # the table may wrap a header
    assert "Plan[draft]2" in text and "Plan[/b]" in text
    assert set(pd.read_csv(tmp_path / "cmp" / "comparison_columns.csv")["scenario"]) == {
        "Plan [draft] 2", "Plan [/b]"}  # fmt: skip


def test_critical_prints_site_names_with_brackets_as_they_are(grid, tmp_path):
    """Review: an OSM or user site name such as "Beratung [/b]" crashed `critical` after its
    outputs were written (rich markup in the printed table)."""
    sites = _small.sites_csv(tmp_path / "s.csv", [
        ("Bücherei [alt]", "library", _small.LAT0 + 2 * _small.DLAT, _small.LON0 + 2 * _small.DLON),
        ("Beratung [/b]", "advice_centre", _small.LAT0 + 4 * _small.DLAT,
         _small.LON0 + 3 * _small.DLON),
    ])  # fmt: skip
    args = [a if a != str(tmp_path / "sites.csv") else str(sites) for a in grid]
    r = _run("critical", *args[1:], "--out", tmp_path / "C")
    assert r.exit_code == 0, r.output
    assert "Beratung [/b]" in r.output and "Bücherei [alt]" in r.output


def test_scenario_whose_only_change_is_rejected_fails(grid, tmp_path):
    # the only new site lies 2 km from the nearest street: rejected, nothing changes
    far = (f"  - add: {{name: Weit weg, category: library, lat: {_small.LAT0 - 0.02}, "
           f"lon: {_small.LON0}}}\n")  # fmt: skip
    sc = _scenario(tmp_path / "s.yaml", tmp_path, "weit", far)
    r = _run("scenario", sc, "--out", tmp_path / "S")
    assert r.exit_code == 2
    assert "no change takes effect" in r.output and "outside the area" in r.output
    assert not (tmp_path / "S").exists()


def test_yaml_alias_bomb_is_refused_quickly(tmp_path):
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("network: demo\n" + "\n".join(lines) + "\nminutes: *a8\n")
    assert bomb.stat().st_size < 1000
    t0 = time.perf_counter()
    r = _run("scenario", bomb, "--out", tmp_path / "S")
    assert time.perf_counter() - t0 < 10
    assert r.exit_code == 2
    assert len(r.output) < 600 and "aliases" in r.output
    # a large but alias-free value is cut to about 200 characters in the message
    big = tmp_path / "big.yaml"
    big.write_text("network: demo\nminutes: [" + ", ".join(["x"] * 5000) + "]\n")
    r = _run("scenario", big, "--out", tmp_path / "S")
    assert r.exit_code == 2 and "'minutes'" in r.output and len(r.output) < 600


def test_misspelt_category_is_warned_and_noted(grid, tmp_path):
    la, lo, dla, dlo = _small.LAT0, _small.LON0, _small.DLAT, _small.DLON
    sites = _small.sites_csv(tmp_path / "s.csv", [
        ("Bibliothek", "Library", la + 2 * dla, lo + 2 * dlo),
        ("Beratung", "advice centre", la + 4 * dla, lo + 3 * dlo),
        ("Tafel", "food_bank", la + 4 * dla, lo + 1 * dlo),
    ])  # fmt: skip
    args = [a if a != str(tmp_path / "sites.csv") else str(sites) for a in grid]
    out = tmp_path / "X"
    r = _run(*args, "--out", out)
    assert r.exit_code == 0, r.output
    text = r.output
    assert "'Library' (1 sites) is not a preset category; did you mean 'library'?" in text
    assert "did you mean 'advice_centre'?" in text
    assert "food_bank (1)" in text and "did you mean 'food_bank'" not in text
    new = json.loads((out / "run.json").read_text())["new_categories"]
    assert {d["category"]: d["did_you_mean"] for d in new} == {
        "Library": "library", "advice centre": "advice_centre", "food_bank": None}  # fmt: skip


def test_site_errors_name_the_real_options(tmp_path):
    from accessibility.inputs.sites import read_sites
    from accessibility.rejects import Rejects

    f = tmp_path / "s.csv"
    f.write_text("name,category,x,y\nA,library,410000,5477000\n")
    with pytest.raises(InputError) as e:
        read_sites(f, Rejects())
    assert "--crs" not in str(e.value).replace("--sites-crs", "").replace("--stock-crs", "")


def test_full_disk_is_one_line_and_keeps_the_old_folder(grid, tmp_path):
    """A file-size limit (RLIMIT_FSIZE) makes writes fail as on a full disk."""
    import resource
    import subprocess
    import sys

    out = tmp_path / "X"
    assert _run(*grid, "--out", out).exit_code == 0
    before = _snapshot(out)

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))

    r = subprocess.run(
        [sys.executable, "-m", "accessibility.cli", *grid, "--minutes", "3", "--out", str(out)],
        preexec_fn=limit, capture_output=True, text=True, env=os.environ, timeout=120,
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and r.stderr.count("error:") == 1
    assert "disk is full" in r.stderr or "disk full" in r.stderr or "size limit" in r.stderr
    assert ".staging" not in r.stderr and str(out / "residents.gpkg") in r.stderr
    assert _snapshot(out) == before
    assert list(tmp_path.glob(".X.staging-*")) == []


def test_scenario_warns_about_a_misspelt_category(grid, tmp_path):
    add = (f"  - add: {{name: Neu, category: Libary, lat: {_small.LAT0 + 4 * _small.DLAT}, "
           f"lon: {_small.LON0 + _small.DLON}}}\n")  # fmt: skip
    sc = _scenario(tmp_path / "s.yaml", tmp_path, "neu", add)
    out = tmp_path / "S"
    r = _run("scenario", sc, "--out", out)
    assert r.exit_code == 0, r.output
    assert "category 'Libary' (1 sites) is not a preset category; did you mean 'library'?" in (
        r.output
    )
    rec = json.loads((out / "run.json").read_text())
    assert rec["new_categories_in_changes"][0]["did_you_mean"] == "library"
    assert json.loads((out / "after" / "run.json").read_text())["complete"] is True

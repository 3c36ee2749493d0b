"""Zensus grids of any size (issue 10): 1 km tables, zipped downloads, spreading coarse cells.

Real data only: the Rhein-Neckar 1 km grid and road network, the national 1 km zip files,
and the Kaiserslautern 100 m grid and OSM extract (aggregated here into its 1 km cells).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from accessibility import config
from accessibility.errors import InputError
from accessibility.inputs.population import is_zensus
from accessibility.inputs.zensus import read_zensus
from accessibility.rejects import Rejects


def _data(folder: str, name: str) -> Path:
    p = config.shared_data_dir() / folder / name
    if not p.exists():
        pytest.skip(f"real data {p} not found; set ACCESSIBILITY_DATA to the shared data folder")
    return p


@pytest.fixture(scope="module")
def rn_csv() -> Path:
    return _data("rhein-neckar", "zensus2011_1km_rhein-neckar.csv")


@pytest.fixture(scope="module")
def rn_age() -> Path:
    return _data("rhein-neckar", "zensus2011_1km_rhein-neckar_alter.csv")


@pytest.fixture(scope="module")
def rn_raw(rn_csv, rn_age) -> pd.DataFrame:
    """Both Rhein-Neckar tables as plain pandas reads them, joined on the cell id."""
    a = pd.read_csv(rn_csv, sep=";")
    b = pd.read_csv(rn_age, sep=";").drop(columns=["x_mp_1km", "y_mp_1km"])
    return a.merge(b, on="Gitter_ID_1km", how="left", validate="1:1")


# --------------------------------------------------------------------------- #
# Reading
# --------------------------------------------------------------------------- #


def test_read_1km_grid_with_age_shares(rn_csv, rn_age, rn_raw):
    rejects = Rejects()
    cells = read_zensus([rn_csv, rn_age], rejects)
    assert len(rejects) == 0
    assert len(cells) == len(rn_raw) == 1571
    assert cells["population"].sum() == 1_638_599 == rn_raw["Einwohner"].sum()
    assert cells.attrs["cell_size_m"] == 1000 and cells.attrs["edition"] == "2011"
    assert cells.crs.to_epsg() == 3035
    np.testing.assert_array_equal(cells.geometry.x, rn_raw["x_mp_1km"])
    # Shares in % become persons; negative (suppressed) shares are 0 persons, counted.
    assert cells.attrs["groups"] == ["unter18", "ab65"]
    assert cells.attrs["share_columns"] == {"unter18": "unter18_A", "ab65": "ab65_A"}
    for group, col in (("unter18", "unter18_A"), ("ab65", "ab65_A")):
        share = rn_raw[col].to_numpy(float)
        assert (share < 0).any()  # the real table has suppressed values
        want = np.where(share < 0, 0.0, share / 100 * rn_raw["Einwohner"])
        np.testing.assert_allclose(cells[group], want, rtol=0, atol=1e-9)
        assert cells.attrs["suppressed_by_group"][group] == int((share < 0).sum())
    # The mean age is no count of persons: not a group, named as not used.
    assert "Alter_D" not in cells.columns
    assert cells.attrs["not_counts"] == {str(rn_age): ["Alter_D"]}
    assert "Alter_D" in cells.attrs["method"] and "1 km" in cells.attrs["method"]


def test_read_germany_zip_directly(rn_raw):
    zpath = _data("germany", "csv_Zensus2011_Bevoelkerung_1km-Gitter.zip")
    assert is_zensus(zpath)
    rejects = Rejects()
    cells = read_zensus([zpath], rejects)
    # PROVENANCE.md: all 214,633 inhabited cells of Germany, 80,212,528 residents.
    assert len(cells) == 214_633 and cells["population"].sum() == 80_212_528
    assert len(rejects) == 0 and cells.attrs["cell_size_m"] == 1000
    # The regional table is a cut-out of the national one: same cells, same counts.
    sub = cells.set_index("pid").loc[rn_raw["Gitter_ID_1km"]]
    np.testing.assert_array_equal(sub["population"], rn_raw["Einwohner"])
    np.testing.assert_array_equal(sub.geometry.y, rn_raw["y_mp_1km"])


def test_zip_must_hold_one_table(rn_csv, rn_age, tmp_path):
    z = tmp_path / "two.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(rn_csv, rn_csv.name)
        zf.write(rn_age, rn_age.name)
    with pytest.raises(InputError, match="exactly one .csv"):
        read_zensus([z], Rejects())


def test_read_1km_grid_2022_layout(rn_csv, rn_raw, tmp_path):
    """The 2022 layout: GITTER_ID_1km with ids in metres (CRS3035RES1000mN…E…)."""
    t = pd.read_csv(rn_csv, sep=";")
    n = (t["y_mp_1km"] - 500).astype(str)
    e = (t["x_mp_1km"] - 500).astype(str)
    t["Gitter_ID_1km"] = "CRS3035RES1000mN" + n + "E" + e
    t = t.rename(columns={"Gitter_ID_1km": "GITTER_ID_1km"})
    p = tmp_path / "Zensus2022_Bevoelkerungszahl_1km-Gitter.csv"
    t.to_csv(p, sep=";", index=False)
    cells = read_zensus([p], Rejects())
    assert cells.attrs["edition"] == "2022" and cells.attrs["cell_size_m"] == 1000
    assert cells["population"].sum() == rn_raw["Einwohner"].sum()


def test_grids_of_different_sizes_are_not_joined(rn_age):
    kl = _data("kaiserslautern", "zensus2011_100m_kaiserslautern.csv")
    with pytest.raises(InputError, match="different cell sizes"):
        read_zensus([kl, rn_age], Rejects())


# --------------------------------------------------------------------------- #
# Spreading 1 km cells
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def rn_extract():
    from accessibility.inputs.osm import read_osm

    return read_osm(_data("rhein-neckar", "rnv-2016-12.osm.pbf"))


@pytest.fixture(scope="module")
def rn_spread(rn_csv, rn_age, rn_extract):
    from accessibility.inputs.spread import spread_cells

    rejects = Rejects()
    cells = read_zensus([rn_csv, rn_age], rejects)
    e = rn_extract
    spread = spread_cells(cells, e.buildings, e.segments, e.nodes, rejects, areas=e.features)
    return cells, spread, rejects


def _ways_3035(extract, classes=None) -> gpd.GeoDataFrame:
    """Walkable ways as EPSG:3035 lines built from the extract's node pairs (independent of spread)."""
    seg = extract.segments
    if classes is not None:
        seg = seg[seg["highway"].isin(classes)]
    xy = extract.nodes.set_index("osmid")[["lon", "lat"]]
    a, b = xy.loc[seg["u"]].to_numpy(), xy.loc[seg["v"]].to_numpy()
    lines = shapely.linestrings(np.stack([a, b], axis=1))
    g = gpd.GeoDataFrame({"way_id": seg["way_id"].to_numpy()}, geometry=lines, crs=4326)
    return g.to_crs(3035)


def test_rhein_neckar_spread_along_streets_keeps_every_total(rn_spread, rn_raw, rn_extract):
    cells, spread, rejects = rn_spread
    groups = ["population", "unter18", "ab65"]
    n = spread.attrs["spread"]
    assert spread.attrs["kind"] == "zensus_grid_spread" and spread.crs.to_epsg() == 3035
    assert spread["pid"].is_unique
    # The extract has only roads: no cell is spread onto buildings.
    assert n["cells_on_buildings"] == 0 and set(spread["spread"]) <= {
        "residential streets", "walkable streets"
    }  # fmt: skip
    assert n["cells_on_residential_streets"] > 700 and n["cells_on_walkable_streets"] > 0

    # Every placed cell keeps its residents and groups exactly (float rounding only).
    totals = spread.groupby("cell_id")[groups].sum()
    original = cells.set_index("pid")[groups]
    np.testing.assert_allclose(
        totals.to_numpy(), original.loc[totals.index].to_numpy(), rtol=1e-12, atol=1e-6
    )
    # Placed + rejected = the whole table, and each rejected cell is one reject row.
    rej = rejects.frame()
    assert len(rej) == n["cells_rejected"] > 0
    rej_ids = rej["value"].str.split(" ").str[0]
    assert set(rej_ids).isdisjoint(totals.index)
    assert set(rej_ids) | set(totals.index) == set(rn_raw["Gitter_ID_1km"])
    raw = rn_raw.set_index("Gitter_ID_1km")
    assert raw.loc[rej_ids, "Einwohner"].sum() == pytest.approx(n["residents_rejected"])
    assert spread["population"].sum() + n["residents_rejected"] == pytest.approx(
        1_638_599, abs=1e-6
    )
    # Rows name the data row of the population file.
    np.testing.assert_array_equal(
        raw.index.get_indexer(rej_ids) + 1, rej["row"].to_numpy(dtype=int)
    )
    assert set(rej["reason"].str.contains("outside the area covered")) == {True, False}

    # Every point lies in (or on the border of) its cell.
    mid = original.index.get_indexer(spread["cell_id"])
    cx = cells.geometry.x.to_numpy()[mid]
    cy = cells.geometry.y.to_numpy()[mid]
    assert (np.abs(spread.geometry.x - cx) <= 500 + 1e-6).all()
    assert (np.abs(spread.geometry.y - cy) <= 500 + 1e-6).all()


def test_street_weights_match_clipped_way_lengths(rn_spread, rn_extract):
    """Independent check: geopandas' clip of each way to the cell gives the same shares."""
    cells, spread, _ = rn_spread
    res_ways = _ways_3035(rn_extract, ["residential", "living_street"])
    all_ways = _ways_3035(rn_extract)
    byid = cells.set_index("pid")
    picks = {
        "residential streets": spread.loc[spread["spread"] == "residential streets", "cell_id"],
        "walkable streets": spread.loc[spread["spread"] == "walkable streets", "cell_id"],
    }
    for how, ids in picks.items():
        for cid in ids.value_counts().index[[0, len(ids.unique()) // 2, -1]]:
            p = byid.geometry[cid]
            box = shapely.box(p.x - 500, p.y - 500, p.x + 500, p.y + 500)
            clipped_res = gpd.clip(res_ways, box)
            if how == "walkable streets":  # no residential street at all in the cell
                assert clipped_res.length.sum() == pytest.approx(0, abs=1e-6)
                clipped = gpd.clip(all_ways, box)
            else:
                clipped = clipped_res
            metres = clipped.length.groupby(clipped["way_id"]).sum()
            metres = metres[metres > 0]
            want = metres / metres.sum()
            part = spread[spread["cell_id"] == cid]
            way = part["pid"].str.split("/").str[2].astype(int)
            # One point per started 100 m of each way in the cell (runs of pieces).
            n = way.value_counts().reindex(metres.index)
            assert (n >= 1).all() and (n <= np.floor(metres / 100) + 1).all()
            got = part["population"].groupby(way).sum()
            got = got / byid.loc[cid, "population"]
            np.testing.assert_allclose(got.sort_index(), want.sort_index(), rtol=1e-6, atol=1e-9)


def test_rejected_cells_have_nothing_to_spread_onto(rn_spread, rn_extract):
    cells, spread, rejects = rn_spread
    rej = rejects.frame()
    inside = rej[~rej["reason"].str.contains("outside")]["value"].str.split(" ").str[0]
    all_ways = _ways_3035(rn_extract)
    p = cells.set_index("pid").geometry.loc[inside]
    boxes = shapely.box(p.x - 500, p.y - 500, p.x + 500, p.y + 500)
    # No walkable way has a piece of positive length in any of them.
    li, ci = shapely.STRtree(boxes).query(all_ways.geometry.to_numpy(), predicate="intersects")
    lengths = shapely.length(shapely.intersection(all_ways.geometry.to_numpy()[li], boxes[ci]))
    assert (lengths == 0).all()


@pytest.fixture(scope="module")
def kl_1km(tmp_path_factory) -> Path:
    """Kaiserslautern's 100 m cells summed into their 1 km cells, in the official 1 km layout."""
    src = _data("kaiserslautern", "zensus2011_100m_kaiserslautern.csv")
    t = pd.read_csv(src, sep=";")
    e = (t["x_mp_100m"] // 1000).astype(int)
    n = (t["y_mp_100m"] // 1000).astype(int)
    t["Gitter_ID_1km"] = "1kmN" + n.astype(str) + "E" + e.astype(str)
    t["x_mp_1km"] = e * 1000 + 500
    t["y_mp_1km"] = n * 1000 + 500
    agg = t.groupby(["Gitter_ID_1km", "x_mp_1km", "y_mp_1km"], as_index=False)[
        ["Einwohner", "alter_unter18", "alter_65plus"]
    ].sum()
    p = tmp_path_factory.mktemp("kl1km") / "zensus2011_1km_kaiserslautern.csv"
    agg.to_csv(p, sep=";", index=False)
    return p


def test_kaiserslautern_1km_spread_onto_buildings(kl_1km, kl_extract):
    from accessibility.inputs.spread import spread_cells

    rejects = Rejects()
    cells = read_zensus([kl_1km], rejects)
    assert cells.attrs["cell_size_m"] == 1000 and cells["population"].sum() == 97925
    b = kl_extract.buildings
    spread = spread_cells(cells, b, kl_extract.segments, kl_extract.nodes, rejects,
                          areas=kl_extract.features)  # fmt: skip
    n = spread.attrs["spread"]
    assert n["cells_on_buildings"] > 20 and n["buildings_used"] > 5000
    # A cell without mapped homes in the extract falls back to its streets.
    assert n["cells_on_residential_streets"] + n["cells_on_walkable_streets"] >= 1
    on_b = spread[spread["spread"] == "buildings"]
    # Building points: "<cell>/<osm_type>/<osm_id>", in the cell they take residents from.
    kind = on_b["pid"].str.split("/").str[1]
    assert kind.isin(["way", "relation"]).all()
    ce = on_b["cell_id"].str.extract(r"1kmN(\d+)E(\d+)").astype(int)
    assert (np.floor(on_b.geometry.x / 1000).astype(int).to_numpy() == ce[1].to_numpy()).all()
    assert (np.floor(on_b.geometry.y / 1000).astype(int).to_numpy() == ce[0].to_numpy()).all()
    # Totals preserved per cell (population and both groups) and overall.
    cols = ["population", "alter_unter18", "alter_65plus"]
    totals = spread.groupby("cell_id")[cols].sum()
    original = cells.set_index("pid")[cols]
    np.testing.assert_allclose(
        totals.to_numpy(), original.loc[totals.index].to_numpy(), rtol=1e-12, atol=1e-6
    )
    assert spread["population"].sum() + n["residents_rejected"] == pytest.approx(97925, abs=1e-6)
    assert len(rejects) == n["cells_rejected"]
    assert "buildings" in spread.attrs["method"]


# --------------------------------------------------------------------------- #
# End to end
# --------------------------------------------------------------------------- #


def test_load_inputs_spreads_national_zip_on_a_city(kl_osm):
    """The national 1 km zips on the Kaiserslautern extract: no flag needed, 1 km is spread;
    the cells beyond the network are rejected with their reason, every resident accounted for."""
    from accessibility.pipeline import load_inputs

    pop = [_data("germany", "csv_Zensus2011_Bevoelkerung_1km-Gitter.zip"),
           _data("germany", "csv_Zensus2011_Alter_1km-Gitter.zip")]  # fmt: skip
    inputs = load_inputs(network=kl_osm, population=pop, osm_categories=["library"])
    res = inputs.residents
    assert res.attrs["kind"] == "zensus_grid_spread"
    assert res.attrs["groups"] == ["unter18", "ab65"]
    sp = inputs.record["population_spread"]
    assert sp["cells"] == 214_633 and sp["cells_on_buildings"] > 20
    assert "spread" in inputs.record["population_method"]
    assert inputs.record["cell_size_m"] == 1000
    rej = inputs.rejects.frame()
    assert (rej["file"] == str(pop[0])).sum() == sp["cells_rejected"]
    assert rej["reason"].str.contains("outside the area covered").sum() > 214_000
    assert res["population"].sum() + sp["residents_rejected"] == pytest.approx(80_212_528)
    # The placed cells are the ones around Kaiserslautern, each with its national count.
    national = read_zensus(pop[:1], Rejects()).set_index("pid")["population"]
    placed = res.groupby("cell_id")["population"].sum()
    np.testing.assert_allclose(placed, national.loc[placed.index], rtol=1e-12)
    assert placed.index.str.match(r"1kmN29[12]\dE41[56]\d$").all()


# --------------------------------------------------------------------------- #
# --population-total
# --------------------------------------------------------------------------- #


def test_scale_building_estimate_to_official_total(kl_extract):
    from accessibility.inputs.population import estimate_from_buildings, scale_to_total

    est = estimate_from_buildings(kl_extract.buildings, None, kl_extract.features)
    before = est["population"].sum()
    scaled = scale_to_total(est, 120_000)
    assert scaled["population"].sum() == pytest.approx(120_000, rel=1e-12)
    f = scaled.attrs["scaling"]["factor"]
    assert f == pytest.approx(120_000 / before)
    np.testing.assert_allclose(scaled["population"], est["population"] * f, rtol=1e-12)
    assert scaled.attrs["scaling"]["distribution"] == "estimated from OSM buildings"
    assert "estimated from OSM buildings" in scaled.attrs["method"]
    assert est["population"].sum() == before  # the input is not changed


def test_scale_keeps_group_shares(rn_csv, rn_age):
    from accessibility.inputs.population import scale_to_total

    cells = read_zensus([rn_csv, rn_age], Rejects())
    scaled = scale_to_total(cells, 2_000_000)
    f = 2_000_000 / 1_638_599
    np.testing.assert_allclose(scaled[["unter18", "ab65"]], cells[["unter18", "ab65"]] * f)
    assert scaled.attrs["scaling"]["distribution"] == "as read"


@pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf"), "viele"])
def test_population_total_must_be_positive_and_finite(kl_extract, bad):
    from accessibility.inputs.population import estimate_from_buildings, scale_to_total

    est = estimate_from_buildings(kl_extract.buildings)
    with pytest.raises(InputError, match="positive, finite number"):
        scale_to_total(est, bad)


def test_cli_population_total_in_run_json(kl_osm, tmp_path):
    from click.testing import CliRunner

    from accessibility.cli import main

    out = tmp_path / "kl"
    args = ["analyze", "--network", str(kl_osm), "--osm-categories", "library",
            "--minutes", "5,10", "--population-total", "100000", "--out", str(out)]  # fmt: skip
    r = CliRunner().invoke(main, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    run = json.loads((out / "run.json").read_text())
    sc = run["population_scaling"]
    assert sc["total"] == 100000 and sc["distribution"] == "estimated from OSM buildings"
    assert sc["factor"] == pytest.approx(100000 / sc["estimated_total"])
    assert "rescaled" in r.output.lower()
    # The residents analysed sum to the official total (less any rejected at the access leg).
    used = pd.read_csv(out / "residents.csv")["population"].sum()
    assert used == pytest.approx(run["counts"]["population_used"])
    if pd.read_csv(out / "rejects.csv").empty:
        assert used == pytest.approx(100000, rel=1e-9)
    else:
        assert used <= 100000 * (1 + 1e-9)
    report = (out / "report.html").read_text()  # German data: the method in German
    assert "die Verteilung auf Gebäude ist aus OSM-Gebäuden geschätzt" in report
    # Bad values stop with a clear message (exit code 2).
    for bad in ("0", "nan"):
        r = CliRunner().invoke(main, [*args[:-2], "--population-total", bad, "--out", str(out)])
        assert r.exit_code == 2 and "--population-total" in r.output


def test_zipped_shapefile_is_not_taken_for_zensus(tmp_path):
    """A zip without a CSV (e.g. the municipalities' shapefile) goes to the vector reader."""
    assert not is_zensus(_data("germany", "VG250_GEM_simplified.zip"))


def test_scenario_file_takes_population_total(kl_osm, tmp_path):
    from accessibility.errors import ScenarioError
    from accessibility.planning.scenario_file import read_scenario

    f = tmp_path / "s.yaml"
    f.write_text(f"network: {kl_osm}\npopulation_total: 100000\nchanges: []\n")
    assert read_scenario(f).inputs["population_total"] == 100000.0
    f.write_text(f"network: {kl_osm}\npopulation_total: -3\nchanges: []\n")
    with pytest.raises(ScenarioError, match="line 2: 'population_total' must be a positive"):
        read_scenario(f)

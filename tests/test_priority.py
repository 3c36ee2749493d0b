"""Priority areas (issue 15 part 1): need index × walking gap on real Kaiserslautern cells,
recomputed by hand from the raw Zensus CSV files; the need file's errors; outputs; ranking."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from accessibility import config
from accessibility.errors import InputError
from accessibility.outputs.folder import load_folder
from accessibility.outputs.report import write_report
from accessibility.pipeline import load_inputs, priority_areas, run, write_outputs
from accessibility.planning.candidates import candidates_from_osm
from accessibility.planning.priority import DEFAULT_NEED, load_need, priority, resolve_need
from accessibility.planning.ranking import rank_candidates

BIRTH = ["deutschland", "ausland_eu27", "ausland_sonstiges_europa", "ausland_sonstige_welt",
         "sonstige"]  # fmt: skip
CITIZEN = ["deutsch", "ausland_eu27", "ausland_sonstiges_europa", "ausland_sonstige_welt",
           "sonstige"]  # fmt: skip
AGES = ["alter_unter18", "alter_18_29", "alter_30_49", "alter_50_64", "alter_65plus"]
#: a large far cell, a 3-resident cell, a cell without a row in the origin table, a covered one
CELLS = ["100mN29274E41572", "100mN29267E41554", "100mN29291E41604", "100mN29259E41575"]


@pytest.fixture(scope="module")
def kl_run(tmp_path_factory, kl_osm, kl_zensus, kl_origin):
    d = tmp_path_factory.mktemp("kl_priority")
    res = pd.read_csv(kl_zensus, sep=";")
    xy = gpd.GeoSeries(
        gpd.points_from_xy(res["x_mp_100m"], res["y_mp_100m"]), crs="EPSG:3035"
    ).to_crs("EPSG:25832")
    w, s, e, n = xy.total_bounds
    mid = (w + e) / 2
    gpd.GeoDataFrame(
        {"name": ["West", "East"]},
        geometry=[
            shapely.box(w - 50, s - 50, mid, n + 50),
            shapely.box(mid, s - 50, e + 50, n + 50),
        ],
        crs="EPSG:25832",
    ).to_file(d / "districts.gpkg")
    inputs = load_inputs(network=kl_osm, population=[kl_zensus, kl_origin],
                         districts=d / "districts.gpkg")  # fmt: skip
    return inputs, run(inputs, minutes=[5, 10]), d


@pytest.fixture(scope="module")
def data_dir() -> Path:
    d = config.shared_data_dir() / "rhein-neckar"
    if not (d / "zensus2011_1km_rhein-neckar_alter.csv").exists():
        pytest.skip(f"Rhein-Neckar data not found in {d}; set ACCESSIBILITY_DATA")
    return d


def _raw(kl_zensus, kl_origin) -> pd.DataFrame:
    """Persons per cell straight from the two Zensus CSV files (0 where a table has no row)."""
    z = pd.read_csv(kl_zensus, sep=";").set_index("Gitter_ID_100m")
    o = pd.read_csv(kl_origin, sep=";").set_index("Gitter_ID_100m")
    t = z[AGES].join(o.drop(columns=["x_mp_100m", "y_mp_100m"]), how="left").fillna(0.0)
    t["abroad"] = sum(t[f"geburtland_{c}"] for c in BIRTH[1:4])
    t["birth_all"] = sum(t[f"geburtland_{c}"] for c in BIRTH)
    t["foreign"] = sum(t[f"staatsangehoerigkeit_{c}"] for c in CITIZEN[1:4])
    t["citizen_all"] = sum(t[f"staatsangehoerigkeit_{c}"] for c in CITIZEN)
    t["ages_all"] = t[AGES].sum(axis=1)
    return t


def test_need_and_priority_equal_a_hand_computation(kl_run, kl_zensus, kl_origin):
    _, a, _ = kl_run
    p = priority(a)  # the shipped need.yaml: weights .35/.35/.15/.15, prior 10, cap 15
    raw = _raw(kl_zensus, kl_origin).loc[a.residents["pid"].astype(str)]
    ind = {  # (numerator, denominator, weight)
        "born_abroad": ("abroad", "birth_all", 0.35),
        "foreign_citizens": ("foreign", "citizen_all", 0.35),
        "under18": ("alter_unter18", "ages_all", 0.15),
        "age65plus": ("alter_65plus", "ages_all", 0.15),
    }
    ref = {k: raw[num].sum() / raw[den].sum() for k, (num, den, _) in ind.items()}
    assert p.reference == pytest.approx(ref, rel=1e-12)
    assert 0.15 < ref["born_abroad"] < 0.3  # Kaiserslautern 2011: about one in five
    cells = p.cells.set_index("area")
    assert raw.loc[CELLS[2], "birth_all"] == 0  # no origin row: its shares are the reference
    assert raw.loc[CELLS[0], "ages_all"] > 200 and raw.loc[CELLS[1], "ages_all"] == 3
    for cell in CELLS:
        r = raw.loc[cell]
        need = sum(
            w * ((r[num] + 10 * ref[k]) / (r[den] + 10)) / ref[k]
            for k, (num, den, w) in ind.items()
        )
        minutes = a.residents.set_index("pid").loc[cell, "minutes_all"]
        gap = min(max(minutes - 5.0, 0.0), 15.0)
        c = cells.loc[cell]
        assert c["need"] == pytest.approx(need, rel=1e-12), cell
        assert c["gap_minutes"] == pytest.approx(gap, abs=1e-12), cell
        assert c["priority"] == pytest.approx(need * gap, rel=1e-12), cell
        assert c["priority_total"] == pytest.approx(need * gap * r["ages_all"], rel=1e-12), cell
    assert cells.loc[CELLS[3], "priority"] == 0 and cells.loc[CELLS[3], "minutes"] <= 5
    assert cells.loc[CELLS[0], "need"] > 2  # 44 % born abroad: twice the city's share
    # ranks: 1 = largest need × gap × residents
    order = p.cells.sort_values("rank")
    assert (np.diff(order["priority_total"].to_numpy()) <= 0).all()
    assert order["area"].iloc[0] == CELLS[0]


def test_districts_are_sums_of_their_cells(kl_run):
    _, a, _ = kl_run
    p = priority(a)
    d = p.districts.set_index("district")
    assert set(d.index) == {"West", "East"}
    for name in ("West", "East"):
        c = p.cells[a.residents["district"].to_numpy() == name]
        assert d.loc[name, "population"] == pytest.approx(c["population"].sum())
        assert d.loc[name, "priority_total"] == pytest.approx(c["priority_total"].sum())
        assert d.loc[name, "priority"] == pytest.approx(
            c["priority_total"].sum() / c["population"].sum()
        )
        beyond = c.loc[c["gap_minutes"] > 0, "population"].sum()
        assert d.loc[name, "residents_beyond"] == pytest.approx(beyond)
    assert sorted(d["rank"]) == [1, 2]


def test_need_file_errors_name_the_column_and_the_fix(kl_run, tmp_path):
    _, a, _ = kl_run
    text = (
        "indicators:\n  newcomers:\n    weight: 1\n"
        "    numerator: [geburtland_ausland_eu28]\n    denominator: population\n"
    )
    f = tmp_path / "need.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=r"'geburtland_ausland_eu28'.*did you mean "
                       r"'geburtland_ausland_eu27'") as e:  # fmt: skip
        priority(a, load_need(f))
    assert str(f) in str(e.value)
    f.write_text(text.replace("weight: 1", "weight: 1\n    wieght: 2"), encoding="utf-8")
    with pytest.raises(InputError, match="unknown key 'wieght'"):
        load_need(f)
    f.write_text(text.replace("weight: 1", "weight: -1"), encoding="utf-8")
    with pytest.raises(InputError, match="weight must be a finite number"):
        load_need(f)
    # a user file with one indicator: share of persons born outside Europe, raw shares
    f.write_text(
        text.replace("geburtland_ausland_eu28", "geburtland_ausland_sonstige_welt")
        + "prior_residents: 0\ngap_cap_minutes: 30\n",
        encoding="utf-8",
    )
    p = priority(a, load_need(f))
    r = a.residents
    share = r["geburtland_ausland_sonstige_welt"] / r["population"]
    ref = r["geburtland_ausland_sonstige_welt"].sum() / r["population"].sum()
    assert p.cells["need"].to_numpy() == pytest.approx((share / ref).to_numpy(), rel=1e-12)
    assert p.cells["gap_minutes"].max() <= 30


def test_with_the_age_table_only_the_default_leaves_out_origin_and_says_so(
    kl_osm, kl_zensus, kl_origin, tmp_path
):
    a = run(load_inputs(network=kl_osm, population=[kl_zensus]), minutes=[5])
    prio, why = priority_areas(a)
    assert prio is not None and why == ""
    assert [i.name for i in prio.spec.indicators] == ["under18", "age65plus"]
    assert [i.name for i in prio.spec.missing] == ["born_abroad", "foreign_citizens"]
    t = _raw(kl_zensus, kl_origin).loc[a.residents["pid"]]
    ratios = []
    for col in ("alter_unter18", "alter_65plus"):  # weights 0.15 + 0.15, renormalised to 0.5
        ref = t[col].sum() / t["ages_all"].sum()
        ratios.append((t[col] + 10 * ref) / (t["ages_all"] + 10) / ref)
    want = (0.15 * ratios[0] + 0.15 * ratios[1]) / 0.3
    assert prio.cells["need"].to_numpy() == pytest.approx(want.to_numpy(), rel=1e-12)
    out = tmp_path / "out"
    write_outputs(a, out, {}, lang="en", isochrones=False)
    rec = json.loads((out / "run.json").read_text())["priority"]
    assert [i["weight_share"] for i in rec["indicators"]] == [0.5, 0.5]
    assert [i["name"] for i in rec["indicators_left_out"]] == ["born_abroad", "foreign_citizens"]
    report = (out / "report.html").read_text()
    assert "left out of the need index: born abroad 0.35, foreign citizens 0.35" in report
    assert "under 18 0.5, 65 and older 0.5" in report
    # an explicit file without 'missing_indicators: skip' still stops with the column named
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        Path(str(DEFAULT_NEED)).read_text(encoding="utf-8").replace(
            "missing_indicators: skip", "missing_indicators: error"),
        encoding="utf-8",
    )  # fmt: skip
    with pytest.raises(InputError, match="'geburtland_deutschland'.*indicator 'born_abroad'"):
        priority(a, load_need(strict))


def test_without_any_group_the_default_is_skipped_with_a_reason(data_dir):
    from accessibility.inputs.zensus import read_zensus
    from accessibility.rejects import Rejects

    r = read_zensus(data_dir / "zensus2011_1km_rhein-neckar.csv", Rejects())
    with pytest.raises(InputError, match="none of its indicators' columns.*--need FILE"):
        resolve_need(load_need(), r.attrs["groups"])


def _write_1km(data_dir: Path, out: Path, edition: int) -> list[Path]:
    """The real Rhein-Neckar 1 km tables, as shipped (2011) or under the 2022 column names."""
    pop = pd.read_csv(data_dir / "zensus2011_1km_rhein-neckar.csv", sep=";")
    age = pd.read_csv(data_dir / "zensus2011_1km_rhein-neckar_alter.csv", sep=";")
    if edition == 2022:
        pop = pop.rename(columns={"Gitter_ID_1km": "GITTER_ID_1km"})
        age = age.rename(columns={"Gitter_ID_1km": "GITTER_ID_1km", "Alter_D":
                                  "DurchschnittAlter", "unter18_A": "AnteilUnter18",
                                  "ab65_A": "AnteilUeber65"})  # fmt: skip
    paths = [out / f"pop{edition}.csv", out / f"alter{edition}.csv"]
    pop.to_csv(paths[0], sep=";", index=False)
    age.to_csv(paths[1], sep=";", index=False)
    return paths


def test_default_need_index_on_the_real_rhein_neckar_1km_tables(data_dir, tmp_path):
    from accessibility.inputs.zensus import read_zensus
    from accessibility.planning.priority import need_index
    from accessibility.rejects import Rejects

    needs = {}
    for edition in (2011, 2022):
        r = read_zensus(_write_1km(data_dir, tmp_path, edition), Rejects())
        spec = resolve_need(load_need(), r.attrs["groups"])
        assert [(i.name, i.numerator, i.denominator) for i in spec.indicators] == [
            ("under18", ["unter18" if edition == 2011 else "Unter18"], ["population"]),
            ("age65plus", ["ab65" if edition == 2011 else "Ueber65"], ["population"]),
        ]
        assert [i.name for i in spec.missing] == ["born_abroad", "foreign_citizens"]
        needs[edition], _, ref = need_index(r, spec)
    assert needs[2022] == pytest.approx(needs[2011], rel=1e-12)
    # by hand from the raw CSV: share % x residents (suppressed, negative = 0 persons)
    t = pd.read_csv(data_dir / "zensus2011_1km_rhein-neckar.csv", sep=";").merge(
        pd.read_csv(data_dir / "zensus2011_1km_rhein-neckar_alter.csv", sep=";")
    )
    assert len(t) == len(needs[2011]) == 1571
    pop = t["Einwohner"]
    ratios = []
    for col in ("unter18_A", "ab65_A"):
        persons = t[col].clip(lower=0) / 100 * pop
        s = persons.sum() / pop.sum()
        ratios.append((persons + 10 * s) / (pop + 10) / s)
    assert ref["under18"] == pytest.approx(
        (t["unter18_A"].clip(lower=0) / 100 * pop).sum() / pop.sum(), rel=1e-12
    )
    assert needs[2011] == pytest.approx(((ratios[0] + ratios[1]) / 2).to_numpy(), rel=1e-12)
    assert 0.16 < ref["under18"] < 0.17 and 0.20 < ref["age65plus"] < 0.21


def test_outputs_map_and_report_show_the_priority_areas(kl_run):
    inputs, a, d = kl_run
    out = d / "out"
    write_outputs(a, out, {**inputs.record}, lang="de", isochrones=False)
    cells = pd.read_csv(out / "priority.csv")
    assert list(cells.columns[:9]) == ["rank", "area", "population", "need", "minutes",
                                       "gap_minutes", "priority", "priority_total",
                                       "residents_beyond"]  # fmt: skip
    assert len(cells) == len(a.residents) and cells["rank"].tolist() == list(
        range(1, len(cells) + 1)
    )
    assert {n for n, _ in pyogrio.list_layers(out / "priority.gpkg")} == {"cells", "districts"}
    poly = gpd.read_file(out / "priority.gpkg", layer="cells")
    assert (poly.geom_type == "MultiPolygon").all()  # Zensus cells as 100 m squares (one type)
    assert poly.to_crs("EPSG:3035").area.round().eq(10_000).all()
    assert pd.read_csv(out / "priority_districts.csv")["district"].tolist()[0] in ("West", "East")
    # the same tables in layers.gpkg (layers priority, priority_districts) and tables.xlsx
    layers = dict(pyogrio.list_layers(out / "layers.gpkg"))
    assert {"priority", "priority_districts"} <= set(layers)
    lay = gpd.read_file(out / "layers.gpkg", layer="priority")
    assert lay.crs == poly.crs and lay["area"].tolist() == cells["area"].tolist()
    assert lay.geometry.geom_equals_exact(poly.geometry, tolerance=1e-6).all()
    pd.testing.assert_frame_equal(pd.DataFrame(lay.drop(columns="geometry")), cells,
                                  check_dtype=False)  # fmt: skip
    dist = pd.read_csv(out / "priority_districts.csv")
    lay_d = gpd.read_file(out / "layers.gpkg", layer="priority_districts")
    assert lay_d["district"].tolist() == dist["district"].tolist()
    from openpyxl import load_workbook

    sheet = pd.read_excel(out / "tables.xlsx", sheet_name="priority", nrows=len(cells))
    pd.testing.assert_frame_equal(sheet, cells, check_dtype=False)
    sheet_d = pd.read_excel(out / "tables.xlsx", sheet_name="priority_districts", nrows=len(dist))
    pd.testing.assert_frame_equal(sheet_d, dist, check_dtype=False)
    ws = load_workbook(out / "tables.xlsx")["priority"]
    header = [c.value for c in ws[1]]
    assert ws.cell(2, header.index("population") + 1).number_format == "#,##0"
    assert ws.cell(2, header.index("share_born_abroad") + 1).number_format == "0.0%"
    assert cells["share_born_abroad"].isna().any()  # cells without a row in the origin table
    legend = ws.cell(ws.max_row, 1).value
    assert "leerer Anteil (share_…): kein veröffentlichter Wert" in legend
    rec = json.loads((out / "run.json").read_text())
    assert (
        rec["priority"]["threshold_minutes"] == 5 and rec["outputs"]["priority"] == "priority.csv"
    )
    report = (out / "report.html").read_text()
    assert "Wo Ankunftsquartieren eine Andockstelle fehlt" in report
    top = cells.head(10)
    german = f"{top['population'].sum():,.0f}".replace(",", ".")  # German thousands point
    assert f"In den 10 gezeigten Zellen leben {german} Einwohner" in report
    assert top["area"].iloc[0] in report
    assert "Priorit\\u00e4tsgebiete" in (out / "map.html").read_text()
    # rebuilt from the folder, in English
    write_report(load_folder(out), d / "en.html", lang="en")
    assert "Where arrival neighbourhoods lack a docking point" in (d / "en.html").read_text()


def test_rank_weight_priority_serves_the_priority_areas(kl_run):
    inputs, a, _ = kl_run
    cand = candidates_from_osm(inputs.extract.features, "all", kind="ground_floor").head(60)
    r = rank_candidates(a, cand, 2, 5.0, weight="priority", with_visibility=False)
    w = priority(a).cells["priority_total"].to_numpy()  # need × gap at 5 min, all sites
    assert r.weight_name == "priority" and r.total_weight == pytest.approx(w.sum())
    covers = r.matrix.covers()
    best = np.asarray(covers.astype(float) @ w).ravel()  # nobody with weight > 0 is covered
    assert r.table["gain"].iloc[0] == pytest.approx(best.max())
    people = rank_candidates(a, cand, 1, 5.0, with_visibility=False)
    assert r.table["gain"].iloc[0] >= float(np.asarray(covers.astype(float) @ w).ravel()[
        people.greedy.chosen[0]])  # fmt: skip


def test_cli_need_option(kl_osm, kl_zensus, kl_origin, tmp_path):
    from click.testing import CliRunner

    from accessibility.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("indicators: {}\nprior: 3\n", encoding="utf-8")
    args = ["analyze", "--network", str(kl_osm), "--population", str(kl_zensus), "--minutes", "5"]
    r = CliRunner().invoke(main, [*args, "--need", str(bad), "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "unknown key 'prior'" in r.output and "bad.yaml" in r.output
    assert not (tmp_path / "x").exists()  # refused before the analysis
    need = tmp_path / "young.yaml"
    need.write_text(
        "indicators:\n  young:\n    weight: 1\n    numerator: alter_unter18\n"
        "    denominator: population\nminutes: 10\n",
        encoding="utf-8",
    )
    r = CliRunner().invoke(main, [*args, "--need", str(need), "--out", str(tmp_path / "y")])
    assert r.exit_code == 0, r.output
    assert "Priority areas (need × gap)" in r.output
    rec = json.loads((tmp_path / "y" / "run.json").read_text())
    assert rec["priority"]["threshold_minutes"] == 10 and rec["priority"]["source"] == str(need)
    cells = pd.read_csv(tmp_path / "y" / "priority.csv")
    assert list(cells.columns[-1:]) == ["share_young"] and (cells["gap_minutes"] <= 15).all()


def test_batch_per_area_priority_measures_need_against_the_region(data_dir, tmp_path):
    """``batch --per-area-outputs``: every area's need index uses the region's shares (1 = the
    region's average), recorded in both run.json files, not the area's own average."""
    from accessibility.cli.batch import run_batch
    from accessibility.params import WalkParams

    g = gpd.read_file(data_dir / "gemeinden_rhein-neckar.gpkg")
    g[g["ARS"] == "082260018018"].to_file(tmp_path / "areas.gpkg", layer="gemeinden")
    r = run_batch(
        areas=str(tmp_path / "areas.gpkg"), area_id="ARS", area_name="name",
        out=tmp_path / "out", params=WalkParams(minutes=(5.0,)),
        network=str(data_dir / "rnv-2016-12.osm.pbf"),
        population=(str(data_dir / "zensus2011_1km_rhein-neckar.csv"),
                    str(data_dir / "zensus2011_1km_rhein-neckar_alter.csv")),
        sites=str(Path(__file__).parents[1] / "examples" / "rhein-neckar_sites.csv"),
        progress=False, workers=0, per_area_outputs=True, lang="en",
    )  # fmt: skip
    ref = r["record"]["need_reference_shares"]
    assert set(ref) == {"under18", "age65plus"} and 0.15 < ref["under18"] < 0.17
    assert json.loads((tmp_path / "out" / "run.json").read_text())["need_reference_shares"] == ref
    area = tmp_path / "out" / "areas" / "082260018018"
    rec = json.loads((area / "run.json").read_text())["priority"]
    assert [i["reference_share"] for i in rec["indicators"]] == [ref["under18"], ref["age65plus"]]
    cells = pd.read_csv(area / "priority.csv")
    pop = cells["population"]
    own = (cells["share_under18"] * pop).sum() / pop.sum()
    assert abs(own - ref["under18"]) > 0.002  # the area's own share differs from the region's
    # the 1 km cells are spread over streets (pid <cell>/way/...): need per 1 km cell, by hand
    cell = cells["area"].str.split("/").str[0]
    assert cell.nunique() < len(cells)
    num = {k: (cells[f"share_{k}"] * pop).groupby(cell).transform("sum") for k in ref}
    cpop = pop.groupby(cell).transform("sum")
    want = sum(0.5 * (num[k] + 10 * ref[k]) / (cpop + 10) / ref[k] for k in ref)
    assert cells["need"].to_numpy() == pytest.approx(want.to_numpy(), rel=1e-9)
    # the region: priority.csv (every point, ranked), priority_total per area in areas.csv/.gpkg
    region = pd.read_csv(tmp_path / "out" / "priority.csv", dtype={"area_id": str})
    mine = region.set_index("area").loc[cells["area"]]
    assert mine["need"].to_numpy() == pytest.approx(cells["need"].to_numpy(), rel=1e-9)
    assert mine["priority_total"].to_numpy() == pytest.approx(
        cells["priority_total"].to_numpy(), rel=1e-9
    )
    assert region["rank"].tolist() == list(range(1, len(region) + 1))
    table = pd.read_csv(tmp_path / "out" / "areas.csv", dtype={"area_id": str})
    assert table["priority_total"].to_numpy() == pytest.approx(cells["priority_total"].sum())
    gpkg = gpd.read_file(tmp_path / "out" / "areas.gpkg")
    assert gpkg["priority_total"].iloc[0] == pytest.approx(cells["priority_total"].sum())
    reg = json.loads((tmp_path / "out" / "run.json").read_text())["priority"]
    assert reg["reference"] == "region" and reg["threshold_minutes"] == 5


#: Rhein-Neckar 1 km cells with a suppressed share (-9): 88 residents, under 18 suppressed;
#: 61 residents, 65+ suppressed; 9 residents, under 18 suppressed; a published cell
RN_SUPPRESSED = ["1kmN2948E4185", "1kmN2949E4229", "1kmN2911E4201", "1kmN2910E4204"]


def test_suppressed_zensus_shares_are_unpublished_not_zero(data_dir):
    """A -9 share is unknown: that cell gets the reference share for the indicator and is
    left out of the reference share (by hand from the raw CSV files)."""
    from accessibility.inputs.zensus import read_zensus
    from accessibility.planning.priority import need_per_point
    from accessibility.rejects import Rejects

    r = read_zensus([data_dir / "zensus2011_1km_rhein-neckar.csv",
                     data_dir / "zensus2011_1km_rhein-neckar_alter.csv"], Rejects())  # fmt: skip
    t = (
        pd.read_csv(data_dir / "zensus2011_1km_rhein-neckar.csv", sep=";")
        .merge(pd.read_csv(data_dir / "zensus2011_1km_rhein-neckar_alter.csv", sep=";"))
        .set_index("Gitter_ID_1km")
    )
    hidden = {"unter18": t.index[t["unter18_A"] < 0], "ab65": t.index[t["ab65_A"] < 0]}
    assert {k: sorted(v) for k, v in r.attrs["unpublished"].items()} == {
        k: sorted(v) for k, v in hidden.items()
    }
    assert len(hidden["unter18"]) == 81 and len(hidden["ab65"]) == 96
    assert t.loc[hidden["unter18"], "Einwohner"].sum() == 1287
    spec = resolve_need(load_need(), r.attrs["groups"])
    need, shares, ref = need_per_point(r, spec)
    assert shares.attrs["unpublished"] == {"under18": 81, "age65plus": 96}
    pop = t["Einwohner"]
    ratios, hand_ref = {}, {}
    for k, col in (("under18", "unter18_A"), ("age65plus", "ab65_A")):
        ok = t[col] >= 0
        persons = t[col] / 100 * pop
        s = persons[ok].sum() / pop[ok].sum()
        hand_ref[k] = s
        ratios[k] = ((persons + 10 * s) / (pop + 10) / s).where(ok, 1.0)
    assert ref == pytest.approx(hand_ref, rel=1e-12)
    # 0-person reading (before): the reference share was lower, pulled down by the 0s
    zero = (t["unter18_A"].clip(lower=0) / 100 * pop).sum() / pop.sum()
    assert zero < ref["under18"]
    got = pd.Series(need, index=r["pid"].to_numpy())
    want = (ratios["under18"] + ratios["age65plus"]) / 2
    assert got.to_numpy() == pytest.approx(want.loc[got.index].to_numpy(), rel=1e-12)
    sh = shares.set_axis(r["pid"].to_numpy())
    c88, c61, c9, pub = RN_SUPPRESSED
    assert t.loc[c88, "unter18_A"] == -9 and t.loc[c61, "ab65_A"] == -9
    assert np.isnan(sh.loc[c88, "share_under18"]) and sh.loc[c88, "share_age65plus"] == 0.07
    # 88 residents, 7 % 65+, under 18 unknown: under 18 counts 1 (the reference)
    s65 = ref["age65plus"]
    assert got[c88] == pytest.approx((1 + (0.07 * 88 + 10 * s65) / 98 / s65) / 2, rel=1e-12)
    s18 = ref["under18"]
    assert got[c61] == pytest.approx((1 + (0.16 * 61 + 10 * s18) / 71 / s18) / 2, rel=1e-12)
    assert got[c9] == pytest.approx((1 + (0 + 10 * s65) / 19 / s65) / 2, rel=1e-12)
    assert got[pub] == pytest.approx(want[pub], rel=1e-12) and not np.isnan(sh.loc[pub]).any()
    # spread onto points (cell_id): the same need per cell, the count per cell
    pts = pd.concat([r, r]).reset_index(drop=True)
    pts["cell_id"], pts["pid"] = pts["pid"], pts["pid"] + "/" + pts.index.astype(str)
    pts[["population", "unter18", "ab65"]] /= 2
    need2, shares2, _ = need_per_point(pts, spec)
    assert need2 == pytest.approx(np.concatenate([need, need]), rel=1e-12)
    assert shares2.attrs["unpublished"] == {"under18": 81, "age65plus": 96}


def test_a_secret_kaiserslautern_value_is_unpublished_in_cells_districts_and_run_json(
    kl_run, kl_zensus, kl_origin, tmp_path
):
    """Kaiserslautern's 100 m tables publish every value (no secret cell); the run carries
    the reader's (empty) mask. One real cell's foreign EU citizens made secret ('–'): the
    foreign-citizens indicator is unknown there, the others are not."""
    from dataclasses import replace

    from accessibility.inputs.zensus import read_zensus
    from accessibility.rejects import Rejects

    _, a, _ = kl_run
    assert a.residents.attrs["unpublished"] == {}  # kept through the run
    assert priority(a).record()["unpublished_cells"] == dict.fromkeys(
        ["born_abroad", "foreign_citizens", "under18", "age65plus"], 0
    )
    cell = CELLS[0]
    o = pd.read_csv(kl_origin, sep=";", dtype=str)
    col = "staatsangehoerigkeit_ausland_eu27"
    o.loc[o["Gitter_ID_100m"] == cell, col] = "–"
    o.to_csv(tmp_path / "origin.csv", sep=";", index=False)
    r = read_zensus([kl_zensus, tmp_path / "origin.csv"], Rejects())
    assert {k: list(v) for k, v in r.attrs["unpublished"].items()} == {col: [cell]}
    res = a.residents.copy()
    res.attrs = {**res.attrs, "unpublished": r.attrs["unpublished"]}
    p = priority(replace(a, residents=res))
    assert p.record()["unpublished_cells"] == {
        "born_abroad": 0, "foreign_citizens": 1, "under18": 0, "age65plus": 0,
    }  # fmt: skip
    raw = _raw(kl_zensus, kl_origin).loc[a.residents["pid"].astype(str)]
    ok = raw.index != cell
    s_f = raw.loc[ok, "foreign"].sum() / raw.loc[ok, "citizen_all"].sum()
    assert p.reference["foreign_citizens"] == pytest.approx(s_f, rel=1e-12)
    before = priority(a)
    assert p.reference["born_abroad"] == before.reference["born_abroad"]
    c, b = p.cells.set_index("area"), before.cells.set_index("area")
    assert np.isnan(c.loc[cell, "share_foreign_citizens"])
    r0 = raw.loc[cell]
    ref = p.reference
    need = (0.35 * (r0["abroad"] + 10 * ref["born_abroad"]) / (r0["birth_all"] + 10)
            / ref["born_abroad"] + 0.35 * 1.0
            + 0.15 * (r0["alter_unter18"] + 10 * ref["under18"]) / (r0["ages_all"] + 10)
            / ref["under18"]
            + 0.15 * (r0["alter_65plus"] + 10 * ref["age65plus"]) / (r0["ages_all"] + 10)
            / ref["age65plus"])  # fmt: skip
    assert c.loc[cell, "need"] == pytest.approx(need, rel=1e-12)
    assert c.loc[cell, "need"] < b.loc[cell, "need"]  # its high foreign share is unknown now
    # the district's foreign share comes from its published cells only
    d = p.districts.set_index("district")
    name = a.residents.set_index("pid").loc[cell, "district"]
    mine = raw[(a.residents["district"] == name).to_numpy() & ok]
    assert d.loc[name, "share_foreign_citizens"] == pytest.approx(
        mine["foreign"].sum() / mine["citizen_all"].sum(), rel=1e-12
    )

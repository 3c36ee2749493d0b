"""Supply and demand (issue 15 part 2): 2SFCA, E2SFCA and decay-weighted coverage on real
Kaiserslautern data, checked against PySAL ``access`` and networkx."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from accessibility.cli import main
from accessibility.core import supply as sup
from accessibility.core.routing import site_graph, site_pairs
from accessibility.errors import InputError
from accessibility.inputs.sites import read_sites
from accessibility.pipeline import load_inputs, run
from accessibility.rejects import Rejects

from .reference import reference_distances
from .test_maps import _open

#: Opening hours per week of the nine Kaiserslautern docking points (OSM order), one of them 0.
HOURS = np.array([8.0, 40.0, 20.0, 4.0, 12.5, 30.0, 0.0, 16.0, 38.5])


@pytest.fixture(scope="module")
def kl_inputs(kl_osm, kl_zensus, kl_origin):
    return load_inputs(network=kl_osm, population=[kl_zensus, kl_origin])


@pytest.fixture(scope="module")
def kl_run(kl_inputs):
    a = run(kl_inputs, minutes=(5, 10, 15), speed_kmh=4.8)
    assert len(a.sites) == len(HOURS)
    return a


def _fresh(a):
    """The analysis with its own copies of the frames supply_demand writes to."""
    return replace(a, residents=a.residents.copy(), sites=a.sites.copy(), supply=None)


def _scores(a, capacity, **kw):
    b = _fresh(a)
    sup.supply_demand(b, capacity=capacity, **kw)
    return b


def test_site_pairs_are_the_networkx_door_to_door_distances(kl_run):
    """Every pair within 15 min (1,200 m) and its metres, site by site, against networkx."""
    a = kl_run
    limit = 15 * 80.0
    s, r, d = site_pairs(a.network, site_graph(a.network, a.site_snap), a.resident_snap, limit)
    assert len(s) > 1000
    for j in range(len(a.sites)):
        ref = reference_distances(a.network, a.site_snap.subset(np.array([j])), a.resident_snap)
        mine = s == j
        want = np.flatnonzero(ref <= limit)
        np.testing.assert_array_equal(r[mine], want)
        np.testing.assert_allclose(d[mine], ref[want], atol=1e-6)
    # the nearest of the pairs is the analysis' nearest site
    near = np.full(len(a.residents), np.inf)
    np.minimum.at(near, r, d)
    got = a.residents["metres_all"].to_numpy()
    inside = got <= limit
    assert (np.isfinite(near) == inside).all()
    np.testing.assert_allclose(near[inside], got[inside], atol=1e-9)


@pytest.mark.parametrize("catchment", [10.0, 15.0])
def test_2sfca_and_e2sfca_equal_pysal_access(kl_run, catchment):
    """Same cost matrix (our network minutes, every reachable pair), same weight function."""
    access = pytest.importorskip("access")
    a = kl_run
    b = _scores(a, HOURS, catchment=catchment)
    # the full cost matrix: unbounded searches from every site
    s, r, d = site_pairs(a.network, site_graph(a.network, a.site_snap), a.resident_snap, np.inf)
    assert len(s) == len(a.sites) * len(a.residents)  # one component: every pair reachable
    cost = pd.DataFrame({"origin": r, "dest": s, "minutes": d / 80.0})
    demand = pd.DataFrame({"population": a.residents["population"].to_numpy(float)})
    demand.index.name = "resident"
    supply = pd.DataFrame({"hours": HOURS})
    supply.index.name = "site"
    acc = access.Access(
        demand_df=demand, demand_value="population", supply_df=supply, supply_value="hours",
        cost_df=cost, cost_origin="origin", cost_dest="dest", cost_name="minutes",
    )  # fmt: skip
    classic = acc.two_stage_fca(name="fca", max_cost=catchment)["fca_hours"]
    enhanced = acc.enhanced_two_stage_fca(
        name="efca", max_cost=catchment, weight_fn=lambda t: float(sup.gaussian(t, catchment))
    )["efca_hours"]
    for ours, theirs in ((b.residents["sfca_all"], classic), (b.residents["e2sfca_all"], enhanced)):
        theirs = theirs.reindex(range(len(a.residents))).fillna(0.0).to_numpy() * 1000
        assert (theirs > 0).sum() > 200  # hundreds of cells with supply in reach
        np.testing.assert_allclose(ours.to_numpy(), theirs, rtol=0, atol=1e-9)


def test_scores_equal_a_hand_computation_on_networkx_distances(kl_run):
    """Independent of site_pairs and PySAL: the formulas written out with plain loops over
    networkx door-to-door minutes, for real Kaiserslautern cells reached by one site and by
    several (10-minute catchment, Gaussian decay)."""
    import math

    a, T = kl_run, 10.0
    b = _scores(a, HOURS, catchment=T)
    minutes = np.array([
        reference_distances(a.network, a.site_snap.subset(np.array([j])), a.resident_snap)
        for j in range(len(a.sites))
    ]) / a.params.metres_per_minute  # fmt: skip
    pop = a.residents["population"].to_numpy()

    def g(t):
        return (math.exp(-0.5 * (t / T) ** 2) - math.exp(-0.5)) / (1 - math.exp(-0.5))

    near = [[j for j in range(len(a.sites)) if minutes[j, i] <= T] for i in range(len(pop))]
    demand = [
        sum(pop[i] for i in range(len(pop)) if minutes[j, i] <= T) for j in range(len(a.sites))
    ]
    demand_e = [sum(pop[i] * g(minutes[j, i]) for i in range(len(pop)) if minutes[j, i] <= T)
                for j in range(len(a.sites))]  # fmt: skip
    several = [i for i in range(len(pop)) if len(near[i]) >= 3][:3]
    one = [i for i in range(len(pop)) if len(near[i]) == 1][:2]
    assert len(several) == 3 and len(one) == 2
    libraries = (a.sites["category"] == "library").to_numpy()
    for i in several + one:
        sfca = 1000 * sum(HOURS[j] / demand[j] for j in near[i])
        e2sfca = 1000 * sum(HOURS[j] / demand_e[j] * g(minutes[j, i]) for j in near[i])
        library = 1000 * sum(HOURS[j] / demand[j] for j in near[i] if libraries[j])
        opportunities = sum(g(minutes[j, i]) for j in near[i])
        r = b.residents.iloc[i]
        assert r["sfca_all"] == pytest.approx(sfca, rel=1e-12)
        assert r["e2sfca_all"] == pytest.approx(e2sfca, rel=1e-12)
        assert r["sfca_library"] == pytest.approx(library, rel=1e-12, abs=1e-15)
        assert r["opportunities_all"] == pytest.approx(opportunities, rel=1e-12)


def test_capacity_zero_contributes_nothing_and_doubling_doubles(kl_run, kl_inputs):
    a = kl_run
    base = _scores(a, HOURS)
    cols = [c for c in base.residents if c.startswith(("sfca_", "e2sfca_"))]
    # doubling every capacity doubles every score (exactly: x2 is exact in binary)
    double = _scores(a, 2 * HOURS)
    for c in cols:
        np.testing.assert_array_equal(double.residents[c].to_numpy(), 2 * base.residents[c])
    # the site with 0 hours adds nothing: the same as a run without it
    zero = int(np.flatnonzero(HOURS == 0)[0])
    without = run(
        replace(kl_inputs, sites=kl_inputs.sites.drop(index=kl_inputs.sites.index[zero])),
        minutes=(5, 10, 15),
    )
    assert len(without.sites) == len(HOURS) - 1
    other = _scores(without, np.delete(HOURS, zero))
    for c in ("sfca_all", "e2sfca_all"):
        np.testing.assert_allclose(other.residents[c], base.residents[c], rtol=1e-12, atol=0)
    assert base.sites.loc[zero, "sfca_ratio"] == 0
    # nobody is left out: all capacity with residents in reach is shared out in full
    pop = base.residents["population"].to_numpy()
    reached = base.sites["catchment_population"] > 0
    for c in ("sfca_all", "e2sfca_all"):
        assert np.dot(pop, base.residents[c]) / 1000 == pytest.approx(HOURS[reached].sum())


def test_decay_coverage_is_the_share_with_a_step_and_below_it_with_decay(kl_run):
    a = kl_run
    b = _scores(a, HOURS, catchment=10.0)
    table = sup.summary(b).set_index(["level", "name", "category"])
    row = table.loc[("all", "", "all")]
    share = a.summary().query("category == 'all' and minutes == 10")["share_covered"].item()
    assert row["share_within_catchment"] == pytest.approx(share, rel=1e-12)
    # with the step function the capped cumulative opportunities are the hard share
    p = sup.pairs(a.network, a.site_snap, a.resident_snap, 10.0, 80.0)
    opp = sup.opportunities(p, sup.step(p.minutes, 10.0))
    pop = a.residents["population"].to_numpy()
    assert np.dot(pop, np.minimum(opp, 1)) / pop.sum() == pytest.approx(share, rel=1e-12)
    # the Gaussian counts a site in reach at less than 1 unless it is at the door
    assert 0 < row["decay_coverage"] < share
    assert row["sfca_mean"] == pytest.approx(row["e2sfca_mean"])  # both share all capacity
    groups = table.xs("group", level="level")
    assert len(groups) == len(a.groups) * len(a.categories)


def test_district_means_add_up_to_the_whole(kl_inputs):
    """Two districts (west and east of the median resident): their population-weighted means
    combine to the city's, and their residents add up to everyone."""
    import geopandas as gpd
    import shapely

    res = kl_inputs.residents.to_crs("EPSG:25832")
    x = float(res.geometry.x.median()) + 1.0  # no resident on the border
    w, s_, e, n = res.total_bounds + np.array([-1000, -1000, 1000, 1000])
    districts = gpd.GeoDataFrame(
        {"district": ["West", "Ost"]},
        geometry=[shapely.box(w, s_, x, n), shapely.box(x, s_, e, n)],
        crs="EPSG:25832",
    )
    a = run(replace(kl_inputs, districts=districts), minutes=(5, 10, 15))
    sup.supply_demand(a, capacity=HOURS)
    t = sup.summary(a).query("category == 'all'").set_index(["level", "name"])
    parts = t.xs("district", level="level")
    assert list(parts.index) == ["West", "Ost"]
    assert parts["population"].sum() == pytest.approx(t.loc[("all", ""), "population"])
    for col in ("sfca_mean", "e2sfca_mean", "decay_coverage", "share_within_catchment"):
        whole = (parts[col] * parts["population"]).sum() / parts["population"].sum()
        assert whole == pytest.approx(t.loc[("all", ""), col], rel=1e-12)
    assert parts["sfca_mean"].nunique() == 2


def test_gaussian_weight_is_one_at_the_door_and_zero_at_the_edge():
    w = sup.gaussian(np.array([0.0, 5.0, 10.0, 10.5]), 10.0)
    assert w[0] == 1.0 and w[2] == pytest.approx(0.0, abs=1e-15) and w[3] == 0.0
    assert w[1] == pytest.approx((np.exp(-0.125) - np.exp(-0.5)) / (1 - np.exp(-0.5)))


def test_capacity_column_rows_and_errors(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text(
        "name,category,lat,lon,Stunden\n"
        'Beratung Nord,advice_centre,49.445,7.765,"12,5"\n'
        "Treff,community_centre,49.44,7.76,\n"
        "Bad,library,49.441,7.761,-3\n"
        "Text,library,49.442,7.762,zwei\n"
        "Endlos,library,49.443,7.763,inf\n",
        encoding="utf-8",
    )
    rejects = Rejects()
    sites = read_sites(path, rejects, capacity_column="stunden", capacity_required=True)
    assert list(sites["name"]) == ["Beratung Nord", "Treff"]
    assert sites["capacity"].iloc[0] == 12.5 and np.isnan(sites["capacity"].iloc[1])
    rows = rejects.frame()
    assert list(rows["row"]) == [3, 4, 5]
    assert list(rows["value"]) == ["Stunden=-3", "Stunden=zwei", "Stunden=inf"]
    assert rows["reason"].str.contains("capacity must be a number >= 0").all()
    with pytest.raises(InputError, match="no capacity column 'hours'.*Stunden"):
        read_sites(path, Rejects(), capacity_column="hours", capacity_required=True)
    # not required: every site gets the default later
    assert read_sites(path, Rejects(), capacity_column="hours")["capacity"].isna().all()


def test_all_capacities_zero_is_warned(kl_run):
    """Review: a capacity column of zeros gave 0 everywhere without a word."""
    from accessibility.errors import AccessibilityWarning

    with pytest.warns(AccessibilityWarning, match="every site has capacity 0"):
        b = _scores(kl_run, np.zeros(len(kl_run.sites)))
    assert (b.residents["sfca_all"] == 0).all() and (b.residents["opportunities_all"] > 0).any()


def test_huge_capacities_are_rejected_rows_not_infinite_scores(tmp_path, kl_run):
    """Review: "1e308" is a finite number, but two of them overflowed the 2SFCA's sums to
    inf in summary_2sfca.csv (and to null in run.json). Values above MAX_CAPACITY are
    rejected rows naming file, row and value, like negative ones."""
    path = tmp_path / "sites.csv"
    path.write_text(
        "name,category,lat,lon,hours\n"
        "A,library,49.445,7.765,1e308\n"
        "B,library,49.44,7.76,1e9\n"
        "C,library,49.441,7.761,1.5e9\n",
        encoding="utf-8",
    )
    rejects = Rejects()
    sites = read_sites(path, rejects, capacity_column="hours")
    assert list(sites["name"]) == ["B"] and sites["capacity"].item() == 1e9
    rows = rejects.frame()
    assert list(rows["row"]) == [1, 3]
    assert list(rows["value"]) == ["hours=1e308", "hours=1.5e9"]
    assert rows["reason"].str.contains("capacity above 1,000,000,000 is not plausible").all()
    # the library function refuses them too, instead of returning inf
    big = np.full(len(kl_run.sites), 1e308)
    with pytest.raises(InputError, match="from 0 to 1,000,000,000"):
        _scores(kl_run, big)


def test_analyze_2sfca_writes_columns_summary_map_and_report(kl_dir, kl_osm, kl_zensus, tmp_path):
    inputs = load_inputs(network=kl_osm)
    s = inputs.sites.to_crs("EPSG:4326")
    table = pd.DataFrame({"name": s["name"], "category": s["category"],
                          "lat": s.geometry.y, "lon": s.geometry.x,
                          "hours": [str(h) for h in HOURS]})  # fmt: skip
    table.loc[3, "hours"] = ""  # one site without: the default, 1
    table.to_csv(tmp_path / "sites.csv", index=False)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main,
        ["analyze", "--network", str(kl_osm), "--population", str(kl_zensus),
         "--sites", str(tmp_path / "sites.csv"), "--capacity-column", "hours",
         "--catchment", "10", "--out", str(out), "--lang", "en"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "1 of 9 sites without a capacity" in " ".join(res.output.split())
    rec = json.loads((out / "run.json").read_text())
    assert rec["supply"]["catchment_minutes"] == 10.0 and rec["supply"]["decay"] == "gaussian"
    assert rec["supply"]["capacity"] == {"sites": 9, "given": 8, "default": 1,
                                         "default_value": 1.0, "total": 166.0, "zero": 1}  # fmt: skip
    summary = pd.read_csv(out / "summary_2sfca.csv")
    assert list(summary.columns) == sup.SUMMARY_COLUMNS
    residents = pd.read_csv(out / "residents.csv")
    top = summary.query("level == 'all' and category == 'all'").iloc[0]
    pop = residents["population"]
    assert top["sfca_mean"] == pytest.approx((pop * residents["sfca_all"]).sum() / pop.sum())
    assert (pop * residents["sfca_all"]).sum() / 1000 == pytest.approx(166.0)
    assert "Capacity per 1,000 residents (E2SFCA, 10 min)" in (out / "map.html").read_text()
    # tables.xlsx: decay_coverage (0-1, shown as a percentage in the report) in percent format
    from openpyxl import load_workbook

    ws = load_workbook(out / "tables.xlsx")["summary_2sfca"]
    header = [c.value for c in ws[1]]
    for col in ("decay_coverage", "share_within_catchment"):
        j = header.index(col) + 1
        cells = [ws.cell(row=i, column=j) for i in range(2, len(summary) + 2)]
        assert [c.value for c in cells] == pytest.approx(summary[col].tolist(), rel=1e-12)
        assert all(c.number_format == "0.0%" for c in cells), col
    report = (out / "report.html").read_text()
    assert "<h2>Supply and demand (2SFCA)</h2>" in report and "8 of 9 docking points" in report
    # `accessibility report DIR` rebuilds the section from the folder
    (out / "report.html").unlink()
    again = CliRunner().invoke(main, ["report", str(out), "--lang", "de"])
    assert again.exit_code == 0, again.output
    assert "<h2>Angebot und Nachfrage (2SFCA)</h2>" in (out / "report.html").read_text()
    # --capacity-column without a sites file: OSM sites have no capacity
    osm_only = CliRunner().invoke(
        main, ["analyze", "--network", str(kl_osm), "--capacity-column", "hours",
               "--out", str(tmp_path / "osm")],
    )  # fmt: skip
    assert osm_only.exit_code == 2 and "needs --sites" in osm_only.output
    # without --2sfca nothing changes: no columns, no file
    plain = CliRunner().invoke(
        main, ["analyze", "--network", str(kl_osm), "--population", str(kl_zensus),
               "--sites", str(tmp_path / "sites.csv"), "--out", str(tmp_path / "plain")],
    )  # fmt: skip
    assert plain.exit_code == 0, plain.output
    assert not (tmp_path / "plain" / "summary_2sfca.csv").exists()
    assert not any(c.startswith("sfca_") for c in pd.read_csv(tmp_path / "plain" / "residents.csv"))


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["de", "en"])
def test_supply_layer_has_its_own_legend_in_the_map_language(browser, kl_run, tmp_path, lang):  # noqa: F811
    """The 2SFCA layer's colour legend (issue 12): hidden while the layer is off, shown with it,
    its ticks and labels in the map's language; the tooltips' scores too."""
    import re

    from accessibility.outputs.folder import from_analysis
    from accessibility.outputs.map import full_map
    from accessibility.outputs.supply_report import TEXT

    a = _scores(kl_run, HOURS)
    data = from_analysis(a, {"supply": a.supply.record()}, folder=tmp_path)
    path = full_map(data, tmp_path / "map.html", lang=lang)
    t = TEXT[lang]
    page, log = _open(browser, path, tiles=False)
    legend = page.locator(".acc-supply-legend")
    assert legend.count() == 1 and not legend.is_visible()
    box = page.locator(".leaflet-control-layers-overlays label", has_text=t["layer"].split(" (")[0])
    box.locator("input").check()
    assert legend.is_visible()
    text = legend.inner_text()
    assert t["layer"].split(" (")[0] in text and t["none"].split(" {")[0] in text
    ticks = legend.locator(".acc-colourbar span").all_inner_texts()
    assert len(ticks) == 5 and ticks[0] in ("0,0", "0.0", "0", "0,000", "0.000")
    wrong = re.compile(r"^\d+\.\d+$" if lang == "de" else r"^\d+,\d+$")
    assert not any(wrong.match(x) for x in ticks), ticks
    assert any(("," if lang == "de" else ".") in x for x in ticks[1:]), ticks
    # the legend goes away with the layer
    box.locator("input").uncheck()
    assert not legend.is_visible()
    assert not log["pageerror"], log
    page.close()

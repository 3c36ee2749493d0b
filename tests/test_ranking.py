"""Candidate ranking, MCLP, critical sites and visibility on real Kaiserslautern data."""

from __future__ import annotations

import itertools
import json

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from accessibility.cli import main
from accessibility.core.analysis import analyze, metres_per_minute
from accessibility.core.routing import nearest_sites, site_graph
from accessibility.core.visibility import edge_betweenness, shop_points, visibility
from accessibility.errors import InputError
from accessibility.inputs.sites import combine_sites
from accessibility.pipeline import load_inputs
from accessibility.planning.candidates import candidates_from_osm
from accessibility.planning.critical import critical_residents, critical_table
from accessibility.planning.ranking import (
    coverage_matrix,
    evaluate,
    greedy,
    mclp,
    rank_candidates,
)

from .reference import reference_distances

MIN = 5.0
N_CAND = 30


@pytest.fixture(scope="module")
def kl(kl_osm, kl_zensus, kl_origin):
    return load_inputs(network=kl_osm, population=[kl_zensus, kl_origin])


@pytest.fixture(scope="module")
def base(kl):
    return analyze(kl.network, kl.sites, kl.residents, minutes=[MIN], categories=kl.categories)


@pytest.fixture(scope="module")
def cands(kl):
    """Random residential-building points of the real city as candidates (seeded)."""
    b = kl.extract.buildings
    rng = np.random.default_rng(7)
    pts = b.geometry.iloc[rng.choice(len(b), N_CAND, replace=False)].representative_point()
    return gpd.GeoDataFrame(
        {"site_id": [f"c{i}" for i in range(N_CAND)], "name": [f"Kandidat {i}" for i in range(N_CAND)],
         "category": "advice_centre", "source": "test",
         "row": pd.array(np.arange(1, N_CAND + 1), dtype="Int64"), "osm_tags": None},
        geometry=pts.to_numpy(), crs="EPSG:4326",
    )  # fmt: skip


@pytest.fixture(scope="module")
def cand_snap(kl, cands):
    xy = np.c_[cands.to_crs(kl.network.crs).geometry.x, cands.to_crs(kl.network.crs).geometry.y]
    return kl.network.snap(xy)


def _limit(base):
    return MIN * metres_per_minute(base.speed_kmh)


def _cov_full(kl, base, extra):
    """Persons within MIN minutes of any site, from a full re-analysis with ``extra`` sites."""
    sites = combine_sites(kl.sites, extra) if len(extra) else kl.sites
    a = analyze(kl.network, sites, kl.residents, minutes=[MIN], categories=kl.categories)
    s = a.summary().set_index(["category", "minutes"])["population_covered"]
    return float(s.loc[("all", MIN)])


def test_matrix_matches_routing_and_networkx(kl, base, cand_snap):
    net, lim = kl.network, _limit(base)
    cm = coverage_matrix(net, base.resident_snap, cand_snap, lim, chunk=7)
    sg = site_graph(net, cand_snap)
    for c in range(N_CAND):
        d, _ = nearest_sites(net, sg, base.resident_snap, np.array([c]))
        row = cm.metres[c]
        within = np.flatnonzero(d <= lim)
        np.testing.assert_array_equal(np.sort(row.indices), within)
        np.testing.assert_array_equal(row.data, d[row.indices])  # bit-identical
    for c in range(0, N_CAND, 10):  # independent networkx reference (split edges, door nodes)
        ref = reference_distances(net, cand_snap.subset(np.arange(N_CAND) == c), base.resident_snap)
        row = cm.metres[c]
        np.testing.assert_allclose(row.data, ref[row.indices], rtol=0, atol=1e-6)
        assert set(np.flatnonzero(ref <= lim - 1e-6)) <= set(row.indices)
        assert set(row.indices) <= set(np.flatnonzero(ref <= lim + 1e-6))
    assert cm.metres.nnz > 0


def test_same_edge_direct_case(kl, base):
    """A candidate on a resident's own edge is reached along the edge, not via its ends."""
    net, rs = kl.network, base.resident_snap
    i = int(np.argmax(net.length[rs.edge]))  # the resident on the longest edge
    e = rs.edge[i]
    from accessibility.core.network import Snap

    t = min(rs.t[i] + 0.05, 1.0) if rs.t[i] < 0.5 else rs.t[i] - 0.05
    cs = Snap(np.array([e]), np.array([t]), np.zeros((1, 2)), np.array([3.0]))
    cm = coverage_matrix(net, rs, cs, 1e9)
    direct = abs(rs.t[i] - t) * net.length[e] + 3.0 + rs.access[i]
    assert cm.metres[0, i] == pytest.approx(direct)


def test_greedy_top1_equals_brute_force_best_single_candidate(kl, base, cands, cand_snap):
    lim = _limit(base)
    w = base.residents["population"].to_numpy(float)
    cov0 = base.residents["metres_all"].to_numpy() <= lim
    cm = coverage_matrix(kl.network, base.resident_snap, cand_snap, lim)
    g = greedy(cm.covers(), w, 3, cov0)
    baseline = _cov_full(kl, base, cands.iloc[:0])
    assert g.baseline == baseline
    full = np.array([_cov_full(kl, base, cands.iloc[[c]]) for c in range(N_CAND)])
    assert g.gain[0] == full.max() - baseline
    assert full[g.chosen[0]] == full.max()
    assert g.gain[0] > 0
    # the chosen set of 3, re-analysed in full, covers exactly the cumulative count
    assert _cov_full(kl, base, cands.iloc[g.chosen]) == g.cumulative_covered[-1]
    assert (np.diff(g.gain) <= 1e-9).all()  # marginal gains never grow (submodular)


def test_exact_mclp_at_least_greedy_and_optimal(kl, base, cand_snap):
    lim = _limit(base)
    w = base.residents["population"].to_numpy(float)
    cov0 = base.residents["metres_all"].to_numpy() <= lim
    cov = coverage_matrix(kl.network, base.resident_snap, cand_snap, lim).covers()
    for k in (1, 2, 3, 5, 8):
        g = greedy(cov, w, k, cov0)
        ex = mclp(cov, w, k, cov0)
        assert len(ex.chosen) == k
        assert ex.covered >= g.covered - 1e-9, k
        assert evaluate(cov, w, ex.chosen, cov0) == pytest.approx(ex.covered)
        if k <= 2:  # brute force over all subsets
            best = max(
                evaluate(cov, w, np.array(s), cov0)
                for s in itertools.combinations(range(N_CAND), k)
            )
            assert ex.covered == pytest.approx(best)


def test_weight_ranks_by_a_population_group(kl, base, cands):
    col = "geburtland_ausland_sonstige_welt"
    r = rank_candidates(base, cands, 2, MIN, weight=col, with_visibility=False)
    grp = base.residents[col].to_numpy(float)
    lim = _limit(base)
    covered = base.residents["metres_all"].to_numpy() <= lim
    assert r.greedy.baseline == pytest.approx(grp[covered].sum())
    assert r.table["gain"].sum() + r.greedy.baseline == pytest.approx(r.greedy.covered)
    r_all = rank_candidates(base, cands, 2, MIN, with_visibility=False)
    assert r_all.greedy.baseline > r.greedy.baseline
    with pytest.raises(InputError, match="did you mean 'geburtland_ausland_sonstige_welt'"):
        rank_candidates(base, cands, 2, MIN, weight="geburtland_ausland_sonstige_wel")


def test_ranking_table_contract(kl, base, cands):
    r = rank_candidates(base, cands, 3, MIN, exact=True, features=kl.extract.features)
    assert list(r.table.columns[:4]) == ["rank", "name", "gain", "cumulative_covered"]
    assert list(r.table["rank"]) == [1, 2, 3]
    assert r.table["visibility"].between(0, 1).all()
    assert r.exact.covered >= r.greedy.covered
    assert list(r.exact_table().columns[:4]) == ["rank", "name", "gain", "cumulative_covered"]


def test_score_is_what_each_pick_maximised(kl, base, cands):
    """Issue 12: ranking.csv's ``score`` is the value the greedy pick maximised,
    gain × (1 + W × visibility), recomputed here by brute force over the remaining
    candidates (marginal persons from plain sets); ``gain_weighted`` stays as it was."""
    w = 2.0
    r = rank_candidates(base, cands, 4, MIN, features=kl.extract.features, visibility_weight=w)
    t = r.table
    vis = r.visibility["visibility"].to_numpy(float)
    weight = base.residents["population"].to_numpy(float)
    covers = r.matrix.covers().tocsr()
    reach = [
        set(covers.indices[covers.indptr[c] : covers.indptr[c + 1]]) for c in range(covers.shape[0])
    ]
    covered = set(np.flatnonzero(base.residents["metres_all"].to_numpy(float) <= r.limit_m))
    left = set(range(covers.shape[0]))
    for j, c in enumerate(r.greedy.chosen):
        best = max(sum(weight[i] for i in reach[x] - covered) * (1 + w * vis[x]) for x in left)
        assert t["score"].iloc[j] == pytest.approx(best, rel=1e-9)
        assert t["score"].iloc[j] == pytest.approx(t["gain"].iloc[j] * (1 + w * vis[c]), rel=1e-9)
        covered |= reach[c]
        left.discard(c)
    np.testing.assert_allclose(t["gain_weighted"], t["gain"] * (1 + t["visibility"]))
    # unweighted: the score is the gain, whatever gain_weighted says
    r0 = rank_candidates(base, cands, 3, MIN, features=kl.extract.features)
    np.testing.assert_array_equal(r0.table["score"], r0.table["gain"])
    assert (r0.table["gain_weighted"] != r0.table["score"]).any()


def test_pick_of_resident_adds_up_to_each_gain(kl, base, cands):
    """The residents the map draws under pick #j are exactly its greedy gain."""
    r = rank_candidates(base, cands, 4, MIN, with_visibility=False)
    covered0 = base.residents["metres_all"].to_numpy(float) <= r.limit_m
    pick = r.pick_of_resident(covered0)
    pop = base.residents["population"].to_numpy(float)
    assert set(np.unique(pick)) <= set(range(5))
    assert not (pick[covered0] > 0).any()  # the existing sites' residents are not anybody's gain
    for row in r.table.itertuples():
        assert pop[pick == row.rank].sum() == pytest.approx(row.gain)
    # everything covered after the picks is what a full re-analysis with them finds
    full = _cov_full(kl, base, r.candidates.iloc[r.greedy.chosen])
    assert pop[covered0 | (pick > 0)].sum() == pytest.approx(full)


def test_critical_loss_equals_reanalysis_without_the_site(kl):
    a = analyze(kl.network, kl.sites, kl.residents, minutes=[5, 10], categories=kl.categories)
    sites, red = critical_table(a)
    before = a.summary().set_index(["category", "minutes"])["population_covered"]
    for i, sid in enumerate(sites["site_id"]):
        rest = kl.sites[kl.sites["site_id"] != sid]
        b = analyze(kl.network, rest, kl.residents, minutes=[5, 10], categories=kl.categories)
        after = b.summary().set_index(["category", "minutes"])["population_covered"]
        for m in (5, 10):
            assert sites[f"loss_{m}"].iloc[i] == before[("all", m)] - after[("all", m)], (sid, m)
    r = red.set_index("minutes")
    for m in (5, 10):
        assert r.loc[m, "covered"] == before[("all", m)]
        assert r.loc[m, "covered_by_1"] + r.loc[m, "covered_by_2plus"] == r.loc[m, "covered"]
    assert sites["loss_5"].max() > 0
    # the critical map's residents: per site, those it alone covers are its loss
    pop = a.residents["population"].to_numpy(float)
    for m in (5, 10):
        n_cov, sole = critical_residents(a, m)
        assert (sole >= 0).sum() == (n_cov == 1).sum()
        for i, sid in enumerate(sites["site_id"]):
            row = int(np.flatnonzero(a.sites["site_id"].to_numpy() == sid)[0])
            assert pop[sole == row].sum() == pytest.approx(sites[f"loss_{m}"].iloc[i])
        assert pop[n_cov >= 2].sum() == pytest.approx(r.loc[m, "covered_by_2plus"])


def test_candidates_from_osm_are_vacant_shops(kl):
    c = candidates_from_osm(kl.extract.features)
    expect = sum(
        1
        for t in kl.extract.features["tags"]
        if t.get("shop") == "vacant" or "disused:shop" in t or "vacant:shop" in t
    )
    assert len(c) == expect > 0
    tags = [json.loads(t) for t in c["osm_tags"]]
    assert all(t.get("shop") == "vacant" or "disused:shop" in t or "vacant:shop" in t for t in tags)
    assert c["site_id"].is_unique


def test_candidates_ground_floor_are_shops_and_offices_in_use(kl):
    c = candidates_from_osm(kl.extract.features, kind="ground_floor")
    tags = [json.loads(t) for t in c["osm_tags"]]
    # independent count over the raw tags: shops (not vacant) and offices, no upper floor
    expect = sum(
        1
        for t in kl.extract.features["tags"]
        if ("shop" in t or "office" in t)
        and t.get("shop") != "vacant"
        and "disused:shop" not in t
        and "vacant:shop" not in t
        and "level" not in t
        and "addr:floor" not in t
    )
    assert len(c) == expect > 100  # Kaiserslautern maps ≈ 390 shops and offices
    assert all("shop" in t or "office" in t for t in tags)
    assert not any(t.get("shop") == "vacant" for t in tags)
    assert c["site_id"].is_unique and c.geometry.geom_type.eq("Point").all()
    unnamed = c["name"].str.startswith("ground-floor shopfront (osm:")
    assert unnamed.any() and (~unnamed).any()


@pytest.mark.parametrize(
    "tags, ground",
    [({}, True), ({"level": "0"}, True), ({"level": "0;1"}, True), ({"addr:floor": "EG"}, True),
     ({"level": "1"}, False), ({"level": "-1"}, False), ({"addr:floor": "2"}, False)],
)  # fmt: skip
def test_ground_floor_rule(tags, ground):
    from accessibility.planning.candidates import _on_ground_floor

    assert _on_ground_floor(tags) is ground


def test_rank_cli_ground_floor_candidates(kl_osm, kl_zensus, tmp_path):
    out = tmp_path / "g"
    res = CliRunner().invoke(main, ["rank", *_kl_args(kl_osm, kl_zensus), "--candidates-ground-floor",
                                    "--k", "3", "--minutes", "5", "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    t = pd.read_csv(out / "ranking.csv")
    assert len(t) == 3 and (t["gain"] > 0).all()
    assert t["gain"].is_monotonic_decreasing  # greedy marginal gains never grow
    run = json.loads((out / "run.json").read_text())
    assert run["candidates"] > 100


def test_edge_betweenness_matches_networkx_paths(kl):
    net = kl.network
    rng = np.random.default_rng(1)
    src = np.sort(rng.choice(net.n_nodes, 12, replace=False))
    ours = edge_betweenness(net, radius=800.0, sources=src)
    g = net.to_networkx()
    eid = {(int(a), int(b)): i for i, (a, b) in enumerate(zip(net.u, net.v, strict=True))}
    ref = np.zeros(net.n_edges)
    for s in src.tolist():
        _, paths = nx.single_source_dijkstra(g, s, cutoff=800.0, weight="length")
        for p in paths.values():
            for a, b in zip(p[:-1], p[1:], strict=True):
                ref[eid[(min(a, b), max(a, b))]] += 1
    ref *= net.n_nodes / len(src)
    # ties between equally short paths may be broken differently; allow a handful of edges
    differ = ~np.isclose(ours, ref)
    assert differ.sum() <= 0.01 * (ref > 0).sum(), differ.sum()
    assert ours.sum() == pytest.approx(ref.sum(), rel=0.01)
    assert (ref > 0).sum() > 100


def test_visibility_counts_shops_within_100m(kl, base):
    v = visibility(kl.network, base.sites, kl.extract.features, samples=50)
    shops = shop_points(kl.extract.features).to_crs(kl.network.crs)
    pts = base.sites.to_crs(kl.network.crs).geometry
    brute = [int((shops.distance(p) <= 100).sum()) for p in pts]
    assert list(v["shops_100m"]) == brute
    assert v["visibility"].between(0, 1).all()


# --------------------------------------------------------------------------- CLI and bad files


def _kl_args(kl_osm, kl_zensus):
    return ["--network", str(kl_osm), "--population", str(kl_zensus)]


def test_rank_cli(kl_osm, kl_zensus, tmp_path):
    c = tmp_path / "cands.csv"
    c.write_text(
        "id,name,category,lat,lon\n"
        "a,<b>Laden A</b>,advice_centre,49.4440,7.7520\n"
        "b,Laden B,advice_centre,49.4440,7.7700\n"
        "c,Laden C,advice_centre,49.4350,7.7400\n"
        "d,Weit weg,advice_centre,48.0000,9.0000\n"
    )
    out = tmp_path / "r"
    res = CliRunner().invoke(main, ["rank", *_kl_args(kl_osm, kl_zensus), "--candidates", str(c),
                                    "--k", "2", "--minutes", "5", "--exact", "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    t = pd.read_csv(out / "ranking.csv")
    assert list(t.columns[:4]) == ["rank", "name", "gain", "cumulative_covered"]
    assert len(t) == 2 and (t["gain"] > 0).all()
    run = json.loads((out / "run.json").read_text())
    assert run["exact"]["gap"] >= 0
    rej = pd.read_csv(out / "rejects.csv")
    assert ((rej["file"] == "cands.csv") & (rej["row"] == 4)).any()  # the far candidate
    page = (out / "ranking_map.html").read_text(encoding="utf-8")
    assert "<b>Laden A</b>" not in page and "Laden B" in page
    assert "Die besten 2 von 3 Kandidaten (5 min)" in page  # German data, German labels


@pytest.mark.parametrize(
    "text, expect",
    [
        ("id,name,category,latitude\na,A,x,49.4\n", "lon"),
        ("", "empty"),
        ("id,name,category,lat,lon\na,A,x,abc,7.7\n", "all 1 rows were rejected"),
    ],
)
def test_bad_candidate_files_are_clear(kl_osm, kl_zensus, tmp_path, text, expect):
    c = tmp_path / "cands.csv"
    c.write_text(text)
    res = CliRunner().invoke(main, ["rank", *_kl_args(kl_osm, kl_zensus), "--candidates", str(c),
                                    "--out", str(tmp_path / "o")])  # fmt: skip
    assert res.exit_code == 2, res.output
    assert "cands.csv" in res.output and expect in res.output, res.output


def test_critical_cli(kl_osm, kl_zensus, tmp_path):
    res = CliRunner().invoke(main, ["critical", *_kl_args(kl_osm, kl_zensus), "--minutes", "5",
                                    "--out", str(tmp_path)])  # fmt: skip
    assert res.exit_code == 0, res.output
    s = pd.read_csv(tmp_path / "critical_sites.csv")
    assert {"site_id", "name", "reach_5", "loss_5"} <= set(s.columns)
    assert (s["loss_5"] <= s["reach_5"]).all()
    assert s["loss_5"].is_monotonic_decreasing
    page = (tmp_path / "critical_map.html").read_text(encoding="utf-8")
    assert page.count("acc-critical") >= len(s)  # one numbered marker per site
    assert "Wer die Versorgung verliert" in page


def test_candidates_from_streets_pick_the_busiest_edge_per_cell(kl):
    net = kl.network
    rng = np.random.default_rng(3)
    b = edge_betweenness(net, samples=40, sources=rng.choice(net.n_nodes, 40, replace=False))
    from accessibility.planning.candidates import candidates_from_streets

    c = candidates_from_streets(net, 25, betweenness=b, spacing=100.0)
    assert len(c) == 25 and c["site_id"].is_unique
    edges = np.array([int(s.split(":")[1]) for s in c["site_id"]])
    assert edges[0] == int(np.argmax(b))
    assert (np.diff(b[edges]) <= 0).all()
    mid = 0.5 * (net.node_xy[net.u] + net.node_xy[net.v])
    cells = {tuple(x) for x in np.floor(mid[edges] / 100.0).astype(int)}
    assert len(cells) == 25  # one per 100 m cell


def test_exact_beats_greedy_where_greedy_is_myopic():
    """Greedy takes the big central candidate first; the optimal pair is the two flanks."""
    import scipy.sparse as sp

    cov = sp.csr_matrix(
        np.array([[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 1]], dtype=bool)
    )
    w = np.array([1, 1, 1, 1, 1.5, 1.5])
    g, ex = greedy(cov, w, 2), mclp(cov, w, 2)
    assert list(g.chosen) == [0, 1] and g.covered == 5.5
    assert sorted(ex.chosen) == [1, 2] and ex.covered == 7.0


def test_visibility_weight_changes_the_choice_criterion(kl, base, cands):
    r = rank_candidates(base, cands, 1, MIN, features=kl.extract.features, visibility_weight=5.0)
    plain = rank_candidates(base, cands, N_CAND, MIN, features=kl.extract.features)
    # first-round gains of every candidate = their reach among residents not yet covered
    lim = _limit(base)
    cov = r.matrix.covers()
    free = np.where(base.residents["metres_all"].to_numpy() <= lim, 0.0,
                    base.residents["population"].to_numpy(float))  # fmt: skip
    gain1 = np.asarray(cov.astype(float) @ free).ravel()
    vis = plain.visibility["visibility"].to_numpy()
    assert r.greedy.chosen[0] == int(np.argmax(gain1 * (1 + 5.0 * vis)))
    assert r.table["gain"].iloc[0] == gain1[r.greedy.chosen[0]]
    # a score favouring the runner-up makes greedy take it, still reporting its gain in persons
    second = int(np.argsort(-gain1, kind="stable")[1])
    assert gain1[second] > 0
    score = np.ones(len(gain1))
    score[second] = 10.0
    g = greedy(cov, base.residents["population"].to_numpy(float), 1,
               base.residents["metres_all"].to_numpy() <= lim, score=score)  # fmt: skip
    assert g.chosen[0] == second and g.gain[0] == gain1[second]


def test_weight_column_named_twice_or_blank_is_not_counted_twice_or_zero(kl):
    """`--weight alter_65plus,alter_65plus` summed the column twice (gains doubled: 1,162
    instead of 581 persons 65+ for the best Kaiserslautern shop); `--weight " "` ranked by
    zero weights. A repeated column is an error naming it; a blank weight is the population."""
    from accessibility.planning.ranking import weight_column

    res = kl.residents
    with pytest.raises(InputError, match="'alter_65plus' twice"):
        weight_column(res, "alter_65plus, alter_65plus")
    w, name = weight_column(res, " , ")
    assert name == "population" and w.sum() == pytest.approx(res["population"].sum())
    w, name = weight_column(res, "alter_65plus,alter_unter18")
    assert w.sum() == pytest.approx(res["alter_65plus"].sum() + res["alter_unter18"].sum())

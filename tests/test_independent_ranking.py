"""Independent checks of the ranking module on hand-built networks (issue 18, mutation testing).

Every expected number below is worked out by hand from the geometry: a straight street along
x with nodes every 100 m (``_line_network``), residents and sites placed on the street (no
access leg), 4.8 km/h = 80 m/min, so 5 minutes are 400 m and 10 minutes 800 m. Populations
are powers of two, so every covered subset has its own sum. The tests were written against
the mutants of ``bench/mutation.py ranking`` that survived the earlier tests.
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from pyproj import Transformer

import accessibility.planning.ranking as ranking_mod
from accessibility.core.analysis import analyze
from accessibility.core.routing import site_graph
from accessibility.errors import InputError
from accessibility.planning.candidates import candidates_from_osm, candidates_from_streets
from accessibility.planning.critical import critical_residents, critical_table
from accessibility.planning.ranking import (
    coverage_matrix,
    evaluate,
    greedy,
    mclp,
    rank_candidates,
    weight_column,
)
from accessibility.rejects import Rejects

from .test_independent import X0, Y0, _line_network, _points, _residents, _sites

# residents on the street: x offset from X0 (metres) and persons
RES_X = [100.0, 450.0, 1000.0, 1200.0, 1500.0, 2000.0, 2900.0]
RES_POP = [1.0, 64.0, 2.0, 4.0, 8.0, 16.0, 32.0]
# a group with one person, at x = 100 (covered by both libraries): a total weight of 1
RES_G1 = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
# libraries at 50 and 300, an advice centre at 2950
SITE_X = [50.0, 300.0, 2950.0]
SITE_CAT = ["library", "library", "advice"]


def _analysis():
    net = _line_network()
    res = _residents([(X0 + x, Y0) for x in RES_X], RES_POP, g1=RES_G1)
    sites = _sites([(X0 + x, Y0) for x in SITE_X], category=SITE_CAT)
    return analyze(net, sites, res, minutes=[5, 10], speed_kmh=4.8)


def _candidates(xs, ys=None):
    ys = [0.0] * len(xs) if ys is None else ys
    c = _sites([(X0 + x, Y0 + y) for x, y in zip(xs, ys, strict=True)], category="candidate")
    c["site_id"] = [f"c{i}" for i in range(len(xs))]
    c["name"] = [f"Cand {i}" for i in range(len(xs))]
    return c


# ------------------------------------------------------------------ rank_candidates


TABLE_COLUMNS = ["rank", "name", "gain", "cumulative_covered", "candidate_id", "category",
                 "share_covered", "reach", "lat", "lon", "score"]  # fmt: skip


def test_rank_candidates_hand_built_gains_shares_and_rejects():
    """Candidates at 1100, 1900, 2500 m (and one 2 km off the street, rejected).

    Within 400 m: c0 (1100) reaches 1000, 1200 and 1500 (exactly 400 m); c1 (1900) 1500
    (exactly 400 m) and 2000; c2 (2500) 2900 (exactly 400 m). With every site counted,
    450 (400 m from the library at 50, on the line) and 2900 are covered already.
    """
    a = _analysis()
    own = Rejects()
    cand = _candidates([1100.0, 1900.0, 2500.0, 1000.0], [0.0, 0.0, 0.0, 2000.0])
    r = rank_candidates(a, cand, k=3, minutes=5, rejects=own, with_visibility=False)
    t = r.table
    assert list(t.columns) == TABLE_COLUMNS
    baseline = 1 + 64 + 32
    assert r.greedy.baseline == baseline
    assert t["candidate_id"].tolist() == ["c1", "c0", "c2"]
    assert t["name"].tolist() == ["Cand 1", "Cand 0", "Cand 2"]
    assert t["gain"].tolist() == [8 + 16, 2 + 4, 0]
    assert t["score"].tolist() == t["gain"].tolist()  # picked by gain alone
    assert t["cumulative_covered"].tolist() == [baseline + 24, baseline + 30, baseline + 30]
    assert t["share_covered"].tolist() == pytest.approx(
        [(baseline + 24) / 127, (baseline + 30) / 127, (baseline + 30) / 127], rel=1e-15
    )
    assert t["reach"].tolist() == [24, 14, 32]
    assert t["category"].tolist() == ["candidate"] * 3
    to_ll = Transformer.from_crs("EPSG:25832", "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(np.array([X0 + 1900, X0 + 1100, X0 + 2500]), np.full(3, Y0))
    np.testing.assert_allclose(t["lat"], lat, atol=1e-7)
    np.testing.assert_allclose(t["lon"], lon, atol=1e-7)
    assert r.weight_name == "population" and r.category == "all" and r.exact is None
    assert r.limit_m == 400.0 and r.total_weight == 127.0
    # the far candidate went to the rejects given, as a candidate, not to the analysis' own
    f = own.frame()
    assert len(f) == 1 and "c3" in " ".join(map(str, f.to_numpy().ravel()))
    assert f["reason"].iloc[0].startswith("candidate lies outside the area covered")
    assert not any("c3" in " ".join(map(str, row)) for row in a.rejects.frame().to_numpy())
    # without a rejects list of its own the far candidate goes to the analysis' list
    n0 = len(a.rejects)
    rank_candidates(a, cand, k=1, minutes=5, with_visibility=False)
    assert len(a.rejects) == n0 + 1 and "c3 Cand 3" in a.rejects.frame()["value"].iloc[-1]
    # the resident of each pick: 1500 is covered by both; it belongs to the first pick (c1)
    pick = r.pick_of_resident(a.residents["metres_all"].to_numpy(float) <= 400.0)
    assert pick.tolist() == [0, 0, 2, 2, 1, 1, 0]
    with pytest.raises(ValueError, match="no exact solution computed"):
        r.exact_table()


def test_rank_candidates_category_weight_exact_and_single_candidate():
    a = _analysis()
    # only libraries count: 2900 is open, so c2 gains 32 first
    cand = _candidates([1100.0, 1900.0, 2500.0])
    r = rank_candidates(a, cand, k=3, minutes=5, category="library", exact=True)
    assert r.category == "library"
    assert r.table["candidate_id"].tolist() == ["c2", "c1", "c0"]
    assert r.table["gain"].tolist() == [32, 24, 6]
    assert r.greedy.baseline == 1 + 64
    assert r.exact.covered == 127.0
    ex = r.exact_table()
    assert list(ex.columns) == list(r.table.columns)
    assert sorted(ex["candidate_id"]) == ["c0", "c1", "c2"]
    # a group column as the weight: one person, covered already (total 1, share 1)
    g = rank_candidates(a, cand, k=1, minutes=5, weight="g1", with_visibility=False)
    assert g.weight_name == "g1" and g.total_weight == 1.0
    assert g.table["share_covered"].tolist() == [1.0]
    # a single candidate in reach is enough (and the first rejects go to the analysis)
    one = rank_candidates(a, _candidates([1900.0]), k=1, minutes=5, with_visibility=False)
    assert one.table["gain"].tolist() == [24]
    # ten shops within 25 m of c1 (1900 m; ten saturate the shop half of the score): counted
    # for c1 only, and they make c1 the most visible candidate
    to_ll = Transformer.from_crs("EPSG:25832", "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(X0 + 1880.0 + 4.0 * np.arange(10), np.full(10, Y0 + 15.0))
    shops = gpd.GeoDataFrame({"tags": [{"shop": "bakery"}] * 5 + [{"shop": "kiosk"}] * 5},
                             geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")  # fmt: skip
    # the chosen order follows gain × (1 + w·visibility) when a visibility weight is given
    v = rank_candidates(a, cand, k=3, minutes=5, category="library", features=shops,
                        visibility_weight=1.0)  # fmt: skip
    assert v.visibility["shops_100m"].tolist() == [0, 10, 0]
    vis = v.visibility["visibility"].to_numpy(float)
    alone = np.array([6 + 8, 24, 32], float)  # gains of c0, c1, c2 as the first pick
    first = int(np.argmax(alone * (1 + vis)))
    assert first != 2  # the shops turn the order: c2 has the largest gain
    assert v.table["candidate_id"].iloc[0] == f"c{first}"
    t = v.table
    np.testing.assert_allclose(t["gain_weighted"], t["gain"] * (1.0 + t["visibility"]))
    assert {"visibility", "betweenness", "shops_100m", "gain_weighted"} <= set(t.columns)
    # the default ranks by gain alone, whatever the visibility
    d = rank_candidates(a, cand, k=3, minutes=5, category="library", features=shops)
    assert d.table["gain"].tolist() == [32, 24, 6]
    assert d.table["shops_100m"].tolist() == [0, 10, 0]


def test_rank_candidates_existing_site_exactly_at_the_threshold():
    """A resident exactly 400 m from the existing site counts as covered (baseline)."""
    from .test_independent import _boundary_run

    a = _boundary_run()
    r = rank_candidates(a, _candidates([2000.0]), k=1, minutes=5, with_visibility=False)
    assert r.greedy.baseline == 1 + 2 + 8


def test_rank_candidates_errors_name_the_problem():
    a = _analysis()
    cand = _candidates([1100.0])
    with pytest.raises(InputError, match="--k must be at least 1, got 0"):
        rank_candidates(a, cand, k=0, minutes=5)
    with pytest.raises(InputError, match=r"is not a category of this run; use one of .*library"):
        rank_candidates(a, cand, k=1, minutes=5, category="school")
    far = _candidates([1000.0, 2000.0], [3000.0, 3000.0])
    with pytest.raises(InputError, match=r"swapped lat/lon\?\); see rejects.csv"):
        rank_candidates(a, far, k=1, minutes=5, with_visibility=False)


# ------------------------------------------------------------------ critical sites


def test_critical_table_and_residents_hand_built():
    """Libraries at 50 and 300, advice at 2950; worked out per threshold by hand."""
    a = _analysis()
    sites, red = critical_table(a)
    assert list(sites.columns) == ["site_id", "name", "category", "reach_5", "loss_5",
                                   "reach_10", "loss_10"]  # fmt: skip
    assert sites["site_id"].tolist() == ["s0", "s1", "s2"]
    assert sites["reach_5"].tolist() == [65, 65, 32] and sites["loss_5"].tolist() == [0, 0, 32]
    assert sites["reach_10"].tolist() == [65, 67, 32] and sites["loss_10"].tolist() == [0, 2, 32]
    assert list(red.columns) == ["category", "minutes", "population", "covered", "covered_by_1",
                                 "covered_by_2plus", "share_2plus"]  # fmt: skip
    assert red["population"].tolist() == [127, 127]
    assert red["covered"].tolist() == [97, 99]
    assert red["covered_by_1"].tolist() == [32, 34]
    assert red["covered_by_2plus"].tolist() == [65, 65]
    assert red["share_2plus"].tolist() == [65 / 127, 65 / 127]
    lib, red_lib = critical_table(a, minutes=[5], category="library")
    assert lib["site_id"].tolist() == ["s0", "s1"]
    assert red_lib["covered"].tolist() == [65] and red_lib["covered_by_2plus"].tolist() == [65]
    # a weight of one person (at 100, covered by both libraries): share 1
    _, red_g = critical_table(a, minutes=[5], category="library", weight="g1")
    assert red_g["population"].tolist() == [1.0] and red_g["share_2plus"].tolist() == [1.0]
    n, sole = critical_residents(a, 5)
    assert n.tolist() == [2, 2, 0, 0, 0, 0, 1]
    assert sole.tolist() == [-1, -1, -1, -1, -1, -1, 2]
    n, sole = critical_residents(a, 10, category="library")
    assert n.tolist() == [2, 2, 1, 0, 0, 0, 0]
    assert sole.tolist() == [-1, -1, 1, -1, -1, -1, -1]


# ------------------------------------------------------------------ coverage matrix


def test_coverage_matrix_edge_cases_hand_built(monkeypatch):
    net = _line_network()
    # same edge (1100-1200 m): candidate at 1125, resident at 1175, exactly 50 m apart
    cs = net.snap(np.array([[X0 + 1125.0, Y0]]))
    rs = net.snap(np.array([[X0 + 1175.0, Y0]]))
    assert coverage_matrix(net, rs, cs, 50.0).covers().toarray().tolist() == [[True]]
    # one resident on another edge, 250 m away
    rs1 = net.snap(np.array([[X0 + 1375.0, Y0]]))
    cm = coverage_matrix(net, rs1, cs, 300.0)
    assert cm.metres.toarray().tolist() == [[250.0]]
    assert cm.covers().dtype == bool
    assert cm.seconds > 0 and cm.seconds < 60
    with pytest.raises(ValueError, match="computed up to 300.0 m, asked for 400"):
        cm.covers(400.0)
    # no residents: an empty (k, 0) matrix
    none = net.snap(np.zeros((0, 2)))
    cs3 = net.snap(np.array([[X0 + 100.0, Y0], [X0 + 1500.0, Y0], [X0 + 2900.0, Y0]]))
    e = coverage_matrix(net, none, cs3, 300.0)
    assert e.shape == (3, 0) and e.metres.nnz == 0 and e.covers().shape == (3, 0)
    # the last candidate covers nobody: its row is empty, the shape still (k, r)
    rs2 = net.snap(np.array([[X0 + 150.0, Y0], [X0 + 1450.0, Y0]]))
    m = coverage_matrix(net, rs2, cs3, 100.0).metres.toarray()
    assert m.tolist() == [[50.0, 0.0], [0.0, 50.0], [0.0, 0.0]]
    # the same distances in chunks of two candidates, and with a chunk size of 2.5 rows
    xs = np.array([100.0, 700.0, 1300.0, 1900.0, 2500.0])
    cs5 = net.snap(np.column_stack([X0 + xs, np.full(5, Y0)]))
    rx = np.arange(60.0, 3000.0, 130.0)
    rs5 = net.snap(np.column_stack([X0 + rx, np.full(len(rx), Y0)]))
    want = np.abs(xs[:, None] - rx[None, :])
    want = np.where(want <= 450.0, want, 0.0)
    np.testing.assert_allclose(coverage_matrix(net, rs5, cs5, 450.0, chunk=2).metres.toarray(),
                               want, atol=1e-9)  # fmt: skip
    n_all = site_graph(net, cs5).graph.shape[0]
    monkeypatch.setattr(ranking_mod, "_CHUNK_CELLS", int(2.5 * (n_all + 2 * len(rx))))
    np.testing.assert_allclose(coverage_matrix(net, rs5, cs5, 450.0).metres.toarray(), want,
                               atol=1e-9)  # fmt: skip


# ------------------------------------------------------------------ greedy, evaluate, MCLP


def _brute(cov: np.ndarray, w: np.ndarray, chosen, covered0=None) -> float:
    m = np.zeros(cov.shape[1], bool) if covered0 is None else covered0.copy()
    for c in chosen:
        m |= cov[c]
    return float(w[m].sum())


def test_evaluate_and_greedy_time_brute_force():
    rng = np.random.default_rng(5)
    cov = rng.random((6, 20)) < 0.3
    w = rng.integers(1, 9, 20).astype(float)
    covers = sp.csr_matrix(cov)
    for chosen in ([], [0], [1, 4], [0, 2, 5]):
        assert evaluate(covers, w, np.array(chosen, int), None) == _brute(cov, w, chosen)
    c0 = rng.random(20) < 0.2
    assert evaluate(covers, w, np.array([3]), c0) == _brute(cov, w, [3], c0)
    g = greedy(covers, w, 3)
    assert g.seconds > 0 and g.seconds < 60


def test_mclp_unit_weights_integrality_and_time_limit():
    # unit weights: every resident counts (brute force over all sets of k)
    rng = np.random.default_rng(11)
    cov = rng.random((8, 30)) < 0.2
    w = np.ones(30)
    covers = sp.csr_matrix(cov)
    for k in (1, 2, 3):
        opt = max(_brute(cov, w, s) for s in itertools.combinations(range(8), k))
        r = mclp(covers, w, k)
        assert len(r.chosen) == k and r.covered == opt
        assert 0 < r.seconds < 60
    # a fractional LP optimum above the integer one: residents = the 6 pairs of 4 candidates,
    # each covered by its two; k = 2. Integer best: 5 pairs; the LP relaxation (x = 1/2 each)
    # covers all 6 at y = 1.
    pairs = list(itertools.combinations(range(4), 2))
    cov2 = np.zeros((4, len(pairs)), bool)
    for j, (a, b) in enumerate(pairs):
        cov2[a, j] = cov2[b, j] = True
    r = mclp(sp.csr_matrix(cov2), np.ones(len(pairs)), 2)
    assert len(r.chosen) == 2 and r.covered == 5.0
    # a time limit too short to solve raises, saying so
    big = rng.random((60, 400)) < 0.05
    with pytest.raises(RuntimeError, match="MCLP solver did not reach the optimum"):
        mclp(sp.csr_matrix(big), rng.random(400) + 1, 10, time_limit=1e-6)


# ------------------------------------------------------------------ weight column


def test_weight_column_sums_and_names():
    df = pd.DataFrame({"pid": [1, 2, 3], "population": [10.0, 20.0, 30.0],
                       "age_0_17": [1.0, 2.0, None], "age_65_": ["3", "x", "5"],
                       "label": ["a", "b", "c"]})  # fmt: skip
    w, name = weight_column(df, None)
    assert w.tolist() == [10, 20, 30] and name == "population"
    w, name = weight_column(df, "age_0_17, age_65_")
    assert w.tolist() == [4.0, 2.0, 5.0] and name == "age_0_17+age_65_"
    # without attrs: the numeric columns other than pid/population are offered
    with pytest.raises(
        InputError,
        match=r"no population column 'age_0_18' \(did you mean "
        r"'age_0_17'\?\); available: population, age_0_17$",
    ):
        weight_column(df, "age_0_18")
    with pytest.raises(InputError, match=r"no population column 'zzz'; available: population, "):
        weight_column(df, "zzz")
    with pytest.raises(InputError, match="no population column 'geometry'"):
        weight_column(_points([(X0, Y0)], population=[1.0]), "geometry")
    # with attrs: the listed groups are offered
    df.attrs["groups"] = ["age_65_"]
    with pytest.raises(InputError, match=r"available: population, age_65_$"):
        weight_column(df, "zzz")


# ------------------------------------------------------------------ candidates


def _features(rows):
    return gpd.GeoDataFrame(
        {"osm_type": [r[0] for r in rows], "osm_id": [r[1] for r in rows],
         "name": [r[2] for r in rows], "tags": [r[3] for r in rows]},
        geometry=gpd.points_from_xy([7.7 + 0.001 * i for i in range(len(rows))],
                                    [49.44] * len(rows)),
        crs="EPSG:4326",
    )  # fmt: skip


def test_candidates_from_osm_by_tags():
    f = _features([
        ("node", 1, "Leerstand Süd", {"shop": "vacant", "note": "Größe"}),
        ("node", 2, None, {"disused:shop": "bakery"}),
        ("way", 3, "Bäcker", {"shop": "bakery"}),
        ("node", 4, "Büro", {"office": "company", "level": "1"}),
        ("node", 5, "Kiosk", {"shop": "kiosk", "level": "0;1"}),
        ("node", 6, "Ohne", None),
    ])  # fmt: skip
    v = candidates_from_osm(f)
    assert v["site_id"].tolist() == ["osm:node/1", "osm:node/2"]
    assert v["name"].tolist() == ["Leerstand Süd", "vacant shop (osm:node/2)"]
    assert v["category"].tolist() == ["candidate"] * 2 and v["source"].tolist() == ["osm"] * 2
    assert str(v["row"].dtype) == "Int64" and v["row"].isna().all()
    assert "Größe" in v["osm_tags"].iloc[0]
    g = candidates_from_osm(f, category="x", kind="ground_floor")
    assert g["site_id"].tolist() == ["osm:way/3", "osm:node/5"]
    assert g["category"].tolist() == ["x", "x"]
    assert len(candidates_from_osm(f.iloc[:0], kind="ground_floor")) == 0
    with pytest.raises(ValueError, match="kind must be one of vacant, ground_floor, not 'empty'"):
        candidates_from_osm(f, kind="empty")


def test_candidates_from_streets_rule():
    net = _line_network(n_nodes=8)  # 7 edges, midpoints at 50, 150, ..., 650 m
    b = np.array([1.0, 5.0, 5.0, 2.0, 5.0, 0.0, 3.0])
    c = candidates_from_streets(net, 4, betweenness=b)
    # highest betweenness first, ties to the lower edge
    assert c["site_id"].tolist() == ["street:1", "street:2", "street:4", "street:6"]
    assert c["category"].tolist() == ["candidate"] * 4
    assert c["source"].tolist() == ["network"] * 4 and str(c["row"].dtype) == "Int64"
    to_ll = Transformer.from_crs("EPSG:25832", "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(X0 + 50.0 + 100.0 * np.array([1, 2, 4, 6]), np.full(4, Y0))
    np.testing.assert_allclose(c.geometry.x, lon, atol=1e-9)
    np.testing.assert_allclose(c.geometry.y, lat, atol=1e-9)
    assert len(candidates_from_streets(net, 10, betweenness=np.ones(7))) == 7
    # a 250 m grid: the midpoints at 50/150 share a cell, as do 250 (edge 2)... one per cell
    wide = candidates_from_streets(net, 10, betweenness=np.ones(7), spacing=250.0)
    cells = np.floor((X0 + 50.0 + 100.0 * np.arange(7)) / 250.0)
    assert len(wide) == len(np.unique(cells))
    # the default betweenness is the network's own
    from accessibility.core.visibility import edge_betweenness

    pd.testing.assert_frame_equal(
        candidates_from_streets(net, 3), candidates_from_streets(net, 3, edge_betweenness(net))
    )

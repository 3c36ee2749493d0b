"""The whole analysis on real Kaiserslautern data: reference agreement and invariants."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from accessibility.core.analysis import analyze
from accessibility.pipeline import load_inputs, run

from .reference import reference_distances


@pytest.fixture(scope="module")
def kl_inputs(kl_osm, kl_zensus, kl_origin):
    return load_inputs(network=kl_osm, population=[kl_zensus, kl_origin])


@pytest.fixture(scope="module")
def kl_run(kl_inputs):
    return run(kl_inputs, minutes=(5, 10, 15), speed_kmh=4.8)


def test_minutes_and_shares_match_networkx(kl_run):
    a = kl_run
    ref_m = reference_distances(a.network, a.site_snap, a.resident_snap)
    got = a.residents["metres_all"].to_numpy()
    finite = np.isfinite(ref_m)
    assert (np.isfinite(got) == finite).all()
    np.testing.assert_allclose(got[finite], ref_m[finite], atol=1e-6)  # to the micrometre
    # shares computed independently from the reference distances, exactly
    pop = a.residents["population"].to_numpy()
    summ = a.summary().query("category == 'all'").set_index("minutes")
    for m in a.minutes:
        covered = pop[ref_m / 80.0 <= m].sum()
        assert summ.loc[m, "population_covered"] == covered
        assert summ.loc[m, "share_covered"] == covered / pop.sum()


def test_per_category_minutes_match_networkx(kl_run):
    a = kl_run
    for cat in [c for c in a.categories if c != "all"]:
        idx = np.flatnonzero(a.sites["category"].to_numpy() == cat)
        if len(idx) == 0:
            assert np.isinf(a.residents[f"minutes_{cat}"]).all()
            continue
        ref = reference_distances(
            a.network, a.site_snap.subset(np.isin(np.arange(len(a.sites)), idx)), a.resident_snap
        )
        got = a.residents[f"metres_{cat}"].to_numpy()
        fin = np.isfinite(ref)
        np.testing.assert_allclose(got[fin], ref[fin], atol=1e-6)


def test_invariants(kl_run):
    a = kl_run
    s = a.summary()
    share = s["share_covered"].dropna()
    assert ((share >= 0) & (share <= 1)).all()
    for _, df in s.groupby("category"):
        assert df.sort_values("minutes")["population_covered"].is_monotonic_increasing
    # 'all' covers at least as many as any single category
    piv = s.pivot(index="minutes", columns="category", values="population_covered")
    for c in piv.columns:
        assert (piv["all"] >= piv[c]).all()
    # every category and every district/group table lists zero-coverage rows too
    assert set(s["category"]) == set(a.categories)
    g = a.summary_groups()
    assert set(g["group"]) == set(a.groups)
    assert any(c.startswith("geburtland_") for c in a.groups)


def test_population_total_equals_input_minus_rejects(kl_inputs, kl_run, kl_zensus):
    raw = pd.read_csv(kl_zensus, sep=";")
    file_total = raw["Einwohner"].sum()
    a = kl_run
    rej = a.rejects.frame()
    rejected_ids = set(rej.loc[rej["file"] == str(kl_zensus), "value"].str.split().str[0])
    rejected_pop = raw.loc[raw["Gitter_ID_100m"].isin(rejected_ids), "Einwohner"].sum()
    assert rejected_pop > 0  # the grid file covers more than the OSM extract
    assert a.residents["population"].sum() == pytest.approx(file_total - rejected_pop, abs=1e-9)


def test_adding_a_site_never_lowers_coverage(kl_inputs, kl_run):
    a = kl_run
    extra = gpd.GeoDataFrame(
        {
            "site_id": ["new:1"],
            "name": ["Quartiersbüro"],
            "category": ["advice_centre"],
            "source": ["test"],
        },
        geometry=gpd.points_from_xy([7.7700], [49.4440]),
        crs="EPSG:4326",
    )
    sites = pd.concat([kl_inputs.sites, extra.to_crs(kl_inputs.sites.crs)], ignore_index=True)
    b = analyze(
        kl_inputs.network, sites, kl_inputs.residents, minutes=a.minutes, categories=a.categories
    )
    before = a.summary().set_index(["category", "minutes"])["population_covered"]
    after = b.summary().set_index(["category", "minutes"])["population_covered"]
    assert (after.reindex(before.index) >= before - 1e-9).all()
    assert (
        b.residents["minutes_all"].to_numpy() <= a.residents["minutes_all"].to_numpy() + 1e-12
    ).all()
    assert after.loc[("all", 5.0)] > before.loc[("all", 5.0)]  # that corner of the city gains


def test_districts_listed_even_without_coverage(kl_inputs, tmp_path):
    from shapely.geometry import box

    net = kl_inputs.network
    (x0, y0), (x1, y1) = net.node_xy.min(0), net.node_xy.max(0)
    xm = (x0 + x1) / 2
    d = gpd.GeoDataFrame(
        {"name": ["West", "Ost", "Nowhere"]},
        geometry=[
            box(x0, y0, xm, y1),
            box(xm, y0, x1, y1),
            box(x1 + 5000, y1 + 5000, x1 + 6000, y1 + 6000),
        ],
        crs=net.crs,
    )
    path = tmp_path / "districts.gpkg"
    d.to_file(path)
    from accessibility.inputs.districts import read_districts

    a = analyze(net, kl_inputs.sites, kl_inputs.residents, districts=read_districts(path, None))
    sd = a.summary_districts()
    assert {"West", "Ost", "Nowhere"} <= set(sd["district"])
    nowhere = sd[sd["district"] == "Nowhere"]
    assert (nowhere["population"] == 0).all() and (nowhere["population_covered"] == 0).all()
    tot = sd.groupby(["category", "minutes"])["population_covered"].sum()
    main = a.summary().set_index(["category", "minutes"])["population_covered"]
    np.testing.assert_allclose(tot.reindex(main.index).to_numpy(), main.to_numpy())


def test_spread_to_buildings_keeps_totals_and_records_method(kl_osm, kl_zensus):
    inputs = load_inputs(network=kl_osm, population=[kl_zensus], spread_to_buildings=True)
    res = inputs.residents
    assert res.attrs["kind"] == "zensus_grid_spread_to_buildings"
    assert "building" in inputs.record["population_method"].lower()
    raw = pd.read_csv(kl_zensus, sep=";")
    assert res["population"].sum() == pytest.approx(raw["Einwohner"].sum(), abs=1e-6)
    assert len(res) > len(raw)  # cells were split over their buildings
    a = run(inputs)
    s = a.summary()
    share = s["share_covered"].dropna()
    assert ((share >= 0) & (share <= 1)).all()


def test_reject_reason_outside_the_network_or_no_edge(kl_network):
    """Beyond the extract's edge: the new reason; inside it but too far: today's reason."""
    import shapely

    from accessibility.core.analysis import snap_points
    from accessibility.rejects import Rejects

    net = kl_network
    hull = net.hull()
    (x0, y0, x1, y1) = hull.bounds
    cx, cy = shapely.get_coordinates(hull.centroid)[0]
    # 100 m beyond the east edge of the extract, and a point inside it; a 1 m access limit
    # makes the inside point too far from any edge without leaving the network's area
    beyond = (x1 + 100.0, cy)
    inside = net.node_xy[net.u[0]] + np.array([0.0, 0.0])
    inside_far = (cx + 0.5, cy + 0.5)
    pts = gpd.GeoDataFrame(
        {"pid": ["beyond", "inside_far", "node"]},
        geometry=gpd.points_from_xy(*np.array([beyond, inside_far, inside]).T),
        crs=net.crs,
    )
    rej = Rejects()
    kept, snap = snap_points(net, pts, rej, "resident point", "pop.csv", pd.Series([1, 2, 3]),
                             pts["pid"], max_access_m=0.01)  # fmt: skip
    assert list(kept["pid"]) == ["node"]
    reasons = dict(zip(rej.frame()["row"], rej.frame()["reason"], strict=True))
    assert "outside the area covered by the network" in reasons[1]
    assert "no walkable edge within" in reasons[2]
    assert not hull.contains(shapely.Point(beyond)) and hull.contains(shapely.Point(inside_far))

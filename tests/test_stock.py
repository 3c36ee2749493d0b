"""Housing stock check on real Kaiserslautern buildings: by address, coordinates and footprint."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Geod

from accessibility.cli import main
from accessibility.core.analysis import analyze
from accessibility.errors import AllRejectedError, InputError
from accessibility.inputs.geocode import OfflineGeocoder
from accessibility.inputs.osm_sites import sites_from_osm
from accessibility.inputs.sites import load_presets
from accessibility.inputs.stock_file import read_stock
from accessibility.planning.stock import (
    DETOUR_LIMIT,
    DETOUR_MIN_STRAIGHT_M,
    NO_ESTATE,
    TOTAL,
    check_stock,
)
from accessibility.rejects import Rejects

from .reference import reference_distances

MINUTES = (5, 10)


@pytest.fixture(scope="module")
def geocoder(kl_extract):
    return OfflineGeocoder.from_extract(kl_extract)


@pytest.fixture(scope="module")
def osm_sites(kl_extract):
    return sites_from_osm(kl_extract.features, load_presets())


@pytest.fixture(scope="module")
def buildings(kl_extract) -> gpd.GeoDataFrame:
    """80 real OSM buildings whose address (plain number) occurs once in the extract."""
    f = kl_extract.features
    tags = f["tags"]
    ok = (
        np.array(
            [
                isinstance(t, dict)
                and "building" in t
                and "addr:street" in t
                and re.fullmatch(r"\d+", t.get("addr:housenumber", "")) is not None
                for t in tags
            ]
        )
        & f.geom_type.eq("Polygon").to_numpy()
    )
    b = f[ok].copy()
    b["street"] = [t["addr:street"] for t in b["tags"]]
    b["housenumber"] = [t["addr:housenumber"] for t in b["tags"]]
    b["postcode"] = [t.get("addr:postcode", "") for t in b["tags"]]
    b["city"] = [t.get("addr:city", "") for t in b["tags"]]
    all_addr = pd.Series(
        [(t.get("addr:street"), t.get("addr:housenumber")) for t in tags if isinstance(t, dict)]
    )
    once = all_addr.value_counts()
    b = b[[once[(s, h)] == 1 for s, h in zip(b["street"], b["housenumber"], strict=True)]]
    b = b.sample(80, random_state=3).reset_index(drop=True)
    b["building_id"] = [f"WE-{i:03d}" for i in range(len(b))]
    b["units"] = np.arange(len(b)) % 7 + 1
    b["estate"] = np.where(np.arange(len(b)) % 3 == 0, "Nord", "Süd")
    return gpd.GeoDataFrame(b, geometry="geometry", crs="EPSG:4326")


def _address_csv(buildings, path):
    """The buildings by address, spelt as a housing company might."""
    street = [
        s.replace("straße", "str.") if i % 2 else s.replace("ß", "ss").lower()
        for i, s in enumerate(buildings["street"])
    ]
    df = pd.DataFrame(
        {
            "building_id": buildings["building_id"],
            "Straße": street,
            "Hausnummer": buildings["housenumber"],
            "PLZ": buildings["postcode"],
            "Ort": buildings["city"],
            "Wohnungen": buildings["units"],
            "estate": buildings["estate"],
        }
    )
    df.to_csv(path, sep=";", index=False)
    return path


def _coordinate_csv(buildings, path):
    pts = shapely.point_on_surface(np.asarray(buildings.geometry.values))
    df = pd.DataFrame(
        {
            "building_id": buildings["building_id"],
            "lat": [repr(float(v)) for v in shapely.get_y(pts)],
            "lon": [repr(float(v)) for v in shapely.get_x(pts)],
            "units": buildings["units"],
            "estate": buildings["estate"],
        }
    )
    df.to_csv(path, index=False)
    return path


def _footprint_gpkg(buildings, path):
    buildings[["building_id", "units", "estate", "geometry"]].to_file(path, driver="GPKG")
    return path


def _check(path, kl_network, osm_sites, geocoder=None):
    rejects = Rejects()
    stock = read_stock(path, rejects, geocoder=geocoder)
    return check_stock(kl_network, osm_sites, stock, minutes=MINUTES, rejects=rejects)


@pytest.fixture(scope="module")
def by_address(buildings, kl_network, osm_sites, geocoder, tmp_path_factory):
    path = _address_csv(buildings, tmp_path_factory.mktemp("stock") / "bestand.csv")
    return _check(path, kl_network, osm_sites, geocoder)


def test_address_and_footprint_and_coordinates_give_the_same_minutes(
    buildings, by_address, kl_network, osm_sites, tmp_path
):
    by_fp = _check(_footprint_gpkg(buildings, tmp_path / "fp.gpkg"), kl_network, osm_sites)
    by_xy = _check(_coordinate_csv(buildings, tmp_path / "xy.csv"), kl_network, osm_sites)
    a = by_address.buildings.set_index("building_id")
    assert len(a) == len(buildings) and len(by_address.rejects) == 0
    assert set(a["geocode_quality"]) <= {"exact", "normalised"}
    assert (a["geocode_quality"] == "normalised").sum() > 40  # the variants were really needed
    for other, quality in ((by_fp, "footprint"), (by_xy, "coordinates")):
        b = other.buildings.set_index("building_id").loc[a.index]
        assert (b["geocode_quality"] == quality).all()
        for c in by_address.analysis.categories:
            np.testing.assert_array_equal(a[f"minutes_{c}"], b[f"minutes_{c}"])
            np.testing.assert_array_equal(a[f"nearest_{c}_id"], b[f"nearest_{c}_id"])


def test_stock_minutes_are_the_core_engines_and_match_networkx(
    buildings, by_address, kl_network, osm_sites
):
    # the core engine, run directly on the same points (one resident per building)
    pts = shapely.point_on_surface(np.asarray(buildings.geometry.values))
    residents = gpd.GeoDataFrame(
        {"pid": buildings["building_id"], "population": 1.0}, geometry=pts, crs="EPSG:4326"
    )
    core = analyze(kl_network, osm_sites, residents, minutes=MINUTES)
    core_min = core.residents.set_index("pid")
    t = by_address.buildings.set_index("building_id").loc[core_min.index]
    for c in core.categories:
        np.testing.assert_array_equal(t[f"minutes_{c}"], core_min[f"minutes_{c}"])
    # independently: networkx on the split graph, from the check's own snaps
    a = by_address.analysis
    ref = reference_distances(kl_network, a.site_snap, a.resident_snap)
    ids = a.residents["pid"].to_numpy()
    got = by_address.buildings.set_index("building_id").loc[ids, "metres_all"].to_numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-6)
    # nearest names: the named site really is at that distance (per category)
    for c in a.categories[:-1]:
        sel = t[f"nearest_{c}_id"].notna()
        assert sel.any()
        sites_c = osm_sites[osm_sites["category"] == c].set_index("site_id")
        assert set(t.loc[sel, f"nearest_{c}_id"]) <= set(sites_c.index)
        names = sites_c.loc[t.loc[sel, f"nearest_{c}_id"], "name"].to_numpy()
        assert (names == t.loc[sel, f"nearest_{c}"].to_numpy()).all()


def test_covered_flags_detour_ratio_and_order(by_address, osm_sites):
    t = by_address.buildings
    for m in MINUTES:
        np.testing.assert_array_equal(t[f"covered_{m}min"], t["minutes_all"] <= m)
    mins = t["minutes_all"].fillna(np.inf).to_numpy()
    assert (np.diff(mins) <= 0).all()  # longest walk (uncovered) first
    # straight line, independently on the ellipsoid between building and its nearest site
    site = osm_sites.set_index("site_id").loc[t["nearest_all_id"]]
    geod = Geod(ellps="WGS84")
    d = geod.inv(t["lon"], t["lat"], site.geometry.x.to_numpy(), site.geometry.y.to_numpy())[2]
    np.testing.assert_allclose(t["straight_m"], d, rtol=2e-3, atol=0.05)  # UTM scale, rounding
    # a door-to-door walk is never shorter than the straight line
    assert (t["detour_ratio"] >= 1 - 1e-3).all()
    np.testing.assert_allclose(t["detour_ratio"], t["metres_all"] / t["straight_m"], rtol=1e-3)
    flag = (t["detour_ratio"] > DETOUR_LIMIT) & (t["straight_m"] >= DETOUR_MIN_STRAIGHT_M)
    np.testing.assert_array_equal(t["detour_flag"], flag)


def test_summary_per_estate_and_total(by_address, buildings):
    s = by_address.summary
    t = by_address.buildings
    assert list(s["estate"].unique()) == [TOTAL, "Nord", "Süd"]
    for (est, cat, m), row in s.set_index(["estate", "category", "minutes"]).iterrows():
        sel = t if est == TOTAL else t[t["estate"] == est]
        cov = sel[f"minutes_{cat}"] <= m
        assert row["buildings"] == len(sel) and row["buildings_covered"] == cov.sum()
        assert row["units"] == sel["units"].sum()
        assert row["units_covered"] == sel.loc[cov, "units"].sum()
        assert row["buildings_not_covered"] == (~cov).sum()
        listed = [x for x in row["not_covered_ids"].split(";") if x]
        assert sorted(listed) == sorted(sel.loc[~cov, "building_id"])
    assert s.columns[:6].tolist() == [
        "estate", "category", "minutes", "buildings_not_covered", "units_not_covered",
        "not_covered_ids",
    ]  # fmt: skip
    units = buildings.set_index("building_id")["units"]
    assert (t.set_index("building_id")["units"] == units.loc[t["building_id"]].values).all()


def test_bad_rows_are_rejected_with_reasons(tmp_path, kl_network, osm_sites, geocoder):
    p = tmp_path / "bestand.csv"
    p.write_text(
        "building_id,street,housenumber,postcode,city,lat,lon,units\n"
        "A1,Blücherstraße,15,67655,Kaiserslautern,,,10\n"
        "A2,Erfundenestraße,3,67655,Kaiserslautern,,,4\n"
        "A3,Blücherstraße,999,,,,,4\n"
        "A1,Moltkestraße,42,,,,,6\n"
        "A5,Moltkestraße,42,,,,,-3\n"
        ",Moltkestraße,40,,,,,2\n"
        "A7,,,,,49.44,7.77,2\n"
        "A8,,,,,,,2\n",
        encoding="utf-8",
    )
    rejects = Rejects()
    stock = read_stock(p, rejects, geocoder=geocoder)
    assert stock["building_id"].tolist() == ["A1", "A7"]
    assert stock["geocode_quality"].tolist() == ["exact", "coordinates"]
    rej = rejects.frame().set_index("row")
    assert rej.index.tolist() == [2, 3, 4, 5, 6, 8]
    assert (
        "Erfundenestraße" in rej.at[2, "reason"] and "closest known streets" in rej.at[2, "reason"]
    )
    assert "outside the mapped numbers" in rej.at[3, "reason"]
    assert "duplicate building_id" in rej.at[4, "reason"]
    assert "units must be a number ≥ 0" in rej.at[5, "reason"]
    assert "empty building_id" in rej.at[6, "reason"]
    assert "no coordinates" in rej.at[8, "reason"]
    # without a geocoder an address-only file is refused with what to do
    q = tmp_path / "nur_adressen.csv"
    q.write_text("building_id,street,housenumber\nX,Blücherstraße,15\n", encoding="utf-8")
    with pytest.raises(InputError, match="--geocoder offline"):
        read_stock(q, Rejects())
    with pytest.raises(AllRejectedError):
        read_stock(
            _write(tmp_path, "building_id,address\nX,Nirgendwo 1\n"), Rejects(), geocoder=geocoder
        )
    with pytest.raises(InputError, match="building_id"):
        read_stock(_write(tmp_path, "gebaeude,lat,lon\nX,49.44,7.77\n"), Rejects())


def _write(tmp_path, text, name="s.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_xlsx_input_and_no_estate(tmp_path, buildings, kl_network, osm_sites, geocoder):
    few = buildings.head(5)
    df = pd.DataFrame(
        {
            "building_id": few["building_id"],
            "address": [
                f"{s} {h}, {p} {c}"
                for s, h, p, c in zip(
                    few["street"], few["housenumber"], few["postcode"], few["city"], strict=True
                )
            ],
            "residents": [3, 0, 7, 1, 2],
        }
    )
    p = tmp_path / "bestand.xlsx"
    df.to_excel(p, index=False)
    check = _check(p, kl_network, osm_sites, geocoder)
    t = check.buildings
    assert sorted(t["building_id"]) == sorted(few["building_id"])
    assert (t["geocode_quality"] == "exact").all()
    assert t.set_index("building_id").loc[df["building_id"], "units"].tolist() == [3, 0, 7, 1, 2]
    assert list(check.summary["estate"].unique()) == [TOTAL]
    assert NO_ESTATE not in set(check.summary["estate"])


def test_cli_writes_the_stock_outputs(tmp_path, kl_osm, buildings):
    stock = _address_csv(buildings.head(12), tmp_path / "bestand.csv")
    hostile = tmp_path / "sites.csv"
    hostile.write_text(
        "name,category,address\n"
        '=HYPERLINK("x"),advice_centre,"Blücherstr. 15, 67655 Kaiserslautern"\n'
        'Nirgendwo,advice_centre,"Fantasieweg 1, 67655 Kaiserslautern"\n',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main,
        ["stock", "--stock", str(stock), "--network", str(kl_osm), "--sites", str(hostile),
         "--osm-categories", "library", "--minutes", "5,10", "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    for name in ("stock.csv", "stock.xlsx", "stock.gpkg", "stock_summary.csv", "rejects.csv",
                 "run.json", "sites.gpkg"):  # fmt: skip
        assert (out / name).exists(), name
    t = pd.read_csv(out / "stock.csv")
    assert len(t) == 12
    for col in ("building_id", "geocode_quality", "nearest_advice_centre", "metres_advice_centre",
                "minutes_advice_centre", "minutes_library", "minutes_all", "covered_5min",
                "covered_10min", "detour_ratio", "detour_flag"):  # fmt: skip
        assert col in t.columns, col
    x = pd.read_excel(out / "stock.xlsx", sheet_name="stock", nrows=12)
    named = x["nearest_advice_centre"].dropna()
    assert (named == '=HYPERLINK("x")').all() and len(named) == 12  # the name, as text
    _check_stock_xlsx(out / "stock.xlsx", t, pd.read_csv(out / "stock_summary.csv"))
    g = gpd.read_file(out / "stock.gpkg")
    # one metric CRS for every layer of the run (issue 12); lon/lat columns stay degrees
    assert len(g) == 12 and g.crs.to_epsg() == 25832
    assert gpd.read_file(out / "sites.gpkg").crs == g.crs
    ll = g.geometry.to_crs("EPSG:4326")
    np.testing.assert_allclose(np.c_[ll.x, ll.y], g[["lon", "lat"]].to_numpy(), atol=1e-6)
    rej = pd.read_csv(out / "rejects.csv")
    assert rej["reason"].str.contains("Fantasieweg").any()
    assert "Fantasieweg" in res.output or "rejected" in res.output
    # the stock layer: every building on the map, coloured by the same minutes
    sm = gpd.read_file(out / "stock_map" / "residents.gpkg")
    assert len(sm) == 12
    np.testing.assert_allclose(
        np.sort(sm["minutes_all"].to_numpy()), np.sort(t["minutes_all"].to_numpy())
    )
    page = (out / "stock_map" / "map.html").read_text()
    assert "=HYPERLINK(\\u0026quot;x\\u0026quot;)" in page  # HTML-escaped inside the JSON
    assert 'HYPERLINK(\\"x' not in page and 'HYPERLINK("x' not in page
    # German data, German map, titled by the place (the network file), not the folder
    assert "<title>Wohnungsbestand – Kaiserslautern</title>" in page


def _check_stock_xlsx(path, table, summary):
    """Issue 12 leftover: stock.xlsx is laid out like tables.xlsx (same writer): percent
    shares, empty cells (never "nan"/"<NA>") with a legend row, bold frozen header, widths;
    a name starting with "=" is a text cell, not a formula (nor a name with a ' added)."""
    from openpyxl import load_workbook

    wb = load_workbook(path)
    assert wb.sheetnames == ["stock", "summary"]
    for ws, csv in ((wb["stock"], table), (wb["summary"], summary)):
        header = [c.value for c in ws[1]]
        assert header == list(csv.columns)
        assert ws.freeze_panes == "A2" and all(c.font.b for c in ws[1])
        n = len(csv)
        texts = [c.value for row in ws.iter_rows(min_row=2, max_row=n + 1) for c in row]
        assert not any(v in ("<NA>", "nan", "NaN", "inf", "None", "") for v in texts)
        for j, h in enumerate(header, start=1):
            letter = ws.cell(row=1, column=j).column_letter
            assert ws.column_dimensions[letter].width >= min(len(h) + 2, 60), h
            cells = [ws.cell(row=i, column=j) for i in range(2, n + 2)]
            missing = csv[h].isna().to_numpy()
            assert [c.value is None for c in cells] == list(missing), h  # NaN → empty cell
            if h.startswith("share"):
                assert all(c.number_format == "0.0%" for c in cells if c.value is not None), h
        if not csv.isna().any().any():
            assert ws.max_row == n + 1  # nothing empty, no legend
            continue
        # German data: a blank row, then the German legend row
        assert all(c.value is None for c in ws[n + 2])
        legend = ws.cell(row=n + 3, column=1).value
        assert ws.max_row == n + 3 and legend.startswith("Leere Zelle"), legend
    ws = wb["stock"]
    assert table["residents"].isna().all()  # units given: the stock sheet has its legend
    col = [c.value for c in ws[1]].index("nearest_advice_centre") + 1
    cell = ws.cell(row=2, column=col)
    assert cell.value == '=HYPERLINK("x")' and cell.data_type == "s"
    assert "minutes_" in ws.cell(row=ws.max_row, column=1).value  # the reach legend


def test_honest_geocoding_in_the_stock_outputs(tmp_path, kl_osm):
    """Issue 12 on real Kaiserslautern addresses: "Fischerstraße 50, 67663" lies at OSM's
    postcode 67655 (located, flagged ``postcode_mismatch`` with the note in stock.csv); a
    street without a number ("Rummelstraße") is rejected unless ``--accept street``;
    rejects.csv names each rejected row's building_id."""
    import json

    stock = _write(
        tmp_path,
        "building_id,street,housenumber,postcode,city,units\n"
        "W1,Fischerstraße,50,67663,Kaiserslautern,4\n"
        "W2,Rummelstraße,,,Kaiserslautern,3\n"
        "W3,Blücherstraße,15,67655,Kaiserslautern,10\n"
        "W4,Erfundenestraße,3,67655,Kaiserslautern,2\n",
        "bestand.csv",
    )
    sites = _write(
        tmp_path,
        "name,category,address\n"
        'Amt,advice_centre,"Blücherstr. 15, 67655 Kaiserslautern"\n'
        'Irgendwo,advice_centre,"Rummelstraße, 67655 Kaiserslautern"\n',
        "sites.csv",
    )
    args = ["stock", "--stock", str(stock), "--network", str(kl_osm), "--sites", str(sites),
            "--minutes", "5,10"]  # fmt: skip
    res = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "strict")])
    assert res.exit_code == 0, res.output
    t = pd.read_csv(tmp_path / "strict" / "stock.csv", keep_default_na=False).set_index(
        "building_id"
    )
    assert sorted(t.index) == ["W1", "W3"]
    assert t.at["W1", "geocode_quality"] == "postcode_mismatch"
    assert t.at["W1", "geocode_note"] == "postcode 67663 differs from OSM's 67655"
    assert t.at["W1", "matched_address"] == "Fischerstraße 50, 67655 Kaiserslautern"
    assert t.at["W3", "geocode_quality"] == "exact" and t.at["W3", "geocode_note"] == ""
    rej = pd.read_csv(tmp_path / "strict" / "rejects.csv", keep_default_na=False)
    mine = rej[rej["file"] == str(stock)].set_index("building_id")
    assert sorted(mine.index) == ["W2", "W4"]
    assert mine.loc["W2", "row"] == 2 and "--accept street" in mine.loc["W2", "reason"]
    assert "only the street is known" in mine.loc["W2", "reason"]
    assert "Erfundenestraße" in mine.loc["W4", "reason"]
    # the site given by street only is rejected too (no building id: another file)
    other = rej[rej["file"] == str(sites)]
    assert len(other) == 1 and "--accept street" in other["reason"].item()
    assert other["building_id"].item() == ""
    run = json.loads((tmp_path / "strict" / "run.json").read_text())
    assert run["counts"]["geocode_quality"] == {"postcode_mismatch": 1, "exact": 1}
    assert run["geocoder_accept"] == []
    # --accept street: the street-only rows are placed (and say so)
    res = CliRunner().invoke(main, [*args, "--accept", "street", "--out", str(tmp_path / "lax")])
    assert res.exit_code == 0, res.output
    t = pd.read_csv(tmp_path / "lax" / "stock.csv", keep_default_na=False).set_index("building_id")
    assert sorted(t.index) == ["W1", "W2", "W3"]
    assert t.at["W2", "geocode_quality"] == "street_only"
    assert "middle of the street" in t.at["W2", "geocode_note"]
    rej = pd.read_csv(tmp_path / "lax" / "rejects.csv", keep_default_na=False)
    assert rej["building_id"].tolist() == ["W4"]
    assert json.loads((tmp_path / "lax" / "run.json").read_text())["geocoder_accept"] == ["street"]


def test_all_rows_rejected_names_rows_and_building_ids(tmp_path, geocoder):
    """Review: a stock list without house numbers is now rejected row by row (street-only
    matches need --accept street); when that leaves nothing, the error said "Fix the rows
    listed in rejects.csv", but no rejects.csv is written then. It names rows and ids."""
    p = _write(
        tmp_path,
        "building_id,street,housenumber\nH-1,Rummelstraße,\nH-2,Fantasieweg,1\nH-3,Rummelstraße,\n",
        "bestand.csv",
    )
    with pytest.raises(AllRejectedError) as err:
        read_stock(p, Rejects(), geocoder=geocoder)
    msg = str(err.value)
    assert "rejects.csv" not in msg and "all 3 buildings were rejected" in msg
    assert "--accept street (2x: rows 1 (H-1), 3 (H-3))" in msg
    assert "'Fantasieweg' not found" in msg and "(1x: row 2 (H-2))" in msg
    assert "0x" not in msg  # the "no coordinates" issue of the geocoded rows is gone


def test_a_stock_file_without_rows_is_an_error_about_that_file(tmp_path):
    """Review: a header-only stock file was refused with "add one row per site"."""
    p = _write(tmp_path, "building_id,street,housenumber,postcode,units\n", "bestand.csv")
    with pytest.raises(InputError, match="no data rows") as err:
        read_stock(p, Rejects())
    assert "bestand.csv" in str(err.value) and "site" not in str(err.value)


def test_projected_xy_columns_with_crs(tmp_path, buildings, kl_network, osm_sites):
    few = buildings.head(6)
    pts = gpd.GeoSeries(
        shapely.point_on_surface(np.asarray(few.geometry.values)), crs="EPSG:4326"
    ).to_crs(25832)
    p = tmp_path / "xy.csv"
    pd.DataFrame(
        {"building_id": few["building_id"], "x": [repr(float(v)) for v in pts.x],
         "y": [repr(float(v)) for v in pts.y]}
    ).to_csv(p, index=False)  # fmt: skip
    with pytest.raises(InputError, match="EPSG:25832"):
        read_stock(p, Rejects())
    rejects = Rejects()
    stock = read_stock(p, rejects, crs="EPSG:25832")
    ll = _check(_coordinate_csv(few, tmp_path / "ll.csv"), kl_network, osm_sites)
    xy = check_stock(kl_network, osm_sites, stock, minutes=MINUTES)
    a = ll.buildings.set_index("building_id")["metres_all"]
    b = xy.buildings.set_index("building_id")["metres_all"].loc[a.index]
    np.testing.assert_allclose(a, b, atol=1e-3)  # one round trip through the projection
    assert (xy.buildings["units"] == 1).all() and stock.attrs["weight"] == "buildings"

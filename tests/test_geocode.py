"""Geocoding: offline against the real Kaiserslautern OSM addresses, Nominatim cache and failures."""

from __future__ import annotations

import re
import socket

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from accessibility.errors import GeocodingError, InputError
from accessibility.inputs.geocode import (
    QUALITIES,
    NominatimGeocoder,
    OfflineGeocoder,
    address_columns,
    normalise_number,
    normalise_street,
    number_keys,
    split_address,
)

GEOD = Geod(ellps="WGS84")


def _metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    lon1, lat1 = np.nan_to_num(lon1), np.nan_to_num(lat1)
    return np.asarray(GEOD.inv(lon1, lat1, np.asarray(lon2), np.asarray(lat2))[2])


@pytest.fixture(scope="module")
def geocoder(kl_extract) -> OfflineGeocoder:
    return OfflineGeocoder.from_extract(kl_extract)


@pytest.fixture(scope="module")
def kl_addresses(kl_extract) -> gpd.GeoDataFrame:
    """Every OSM feature with addr:street + addr:housenumber, with its address point.

    The address point is computed here independently: the node itself, or a
    point inside the building footprint.
    """
    f = kl_extract.features
    has = np.array(
        [isinstance(t, dict) and "addr:street" in t and "addr:housenumber" in t for t in f["tags"]]
    )
    a = f[has].reset_index(drop=True)
    pts = [g if g.geom_type == "Point" else g.representative_point() for g in a.geometry]
    return gpd.GeoDataFrame(
        {
            "street": [t["addr:street"] for t in a["tags"]],
            "housenumber": [t["addr:housenumber"] for t in a["tags"]],
            "postcode": [t.get("addr:postcode", "") for t in a["tags"]],
            "city": [t.get("addr:city", "") for t in a["tags"]],
        },
        geometry=pts,
        crs="EPSG:4326",
    )


# ----------------------------------------------------------------------------- normalising


@pytest.mark.parametrize(
    "variant",
    [
        "Albert-Schweitzer-Straße",
        "Albert-Schweitzer-Str.",
        "albert-schweitzer-str",
        "Albert Schweitzer Strasse",
        "ALBERT-SCHWEITZER-STRASSE",
        "Albert-Schweitzerstr.",
    ],
)
def test_street_spellings_share_one_key(variant):
    assert normalise_street(variant) == "albertschweitzerstrasse"


def test_umlauts_sharp_s_and_accents():
    assert normalise_street("Blücherstraße") == normalise_street("Bluecherstrasse")
    assert normalise_street("Kärntner Weg") == normalise_street("Kaerntner Weg")
    assert normalise_street("Rue Éloi") == "rueeloi"
    assert normalise_street("Marktpl.") == normalise_street("Marktplatz")
    # words that merely start with "str" are left alone
    assert normalise_street("Stresemannstr.") == "stresemannstrasse"
    assert normalise_street("Am Strand") == "amstrand"


def test_house_numbers_suffixes_and_ranges():
    assert normalise_number("12 A") == normalise_number("12a") == "12a"
    assert normalise_number(12.0) == "12"
    assert normalise_number("Nr. 5") == "5"
    assert number_keys("5-7") == ["5-7", "5", "6", "7"]
    assert number_keys("1;3") == ["1;3", "1", "3"]
    assert number_keys("1-500") == ["1-500"]  # not expanded: more a typo than a building


def test_split_one_line_addresses():
    assert split_address("Blücherstr. 15a, 67655 Kaiserslautern") == (
        "Blücherstr.", "15a", "67655", "Kaiserslautern",
    )  # fmt: skip
    assert split_address("Am Harzhübel 30") == ("Am Harzhübel", "30", "", "")
    assert split_address("Straße des 17. Juni 12 B, Berlin") == (
        "Straße des 17. Juni", "12 B", "", "Berlin",
    )  # fmt: skip
    assert split_address("Marktplatz") == ("Marktplatz", "", "", "")


def test_address_columns_in_german_and_english():
    assert address_columns(["id", "Straße", "Hausnummer", "PLZ", "Ort"]) == {
        "street": "Straße", "housenumber": "Hausnummer", "postcode": "PLZ", "city": "Ort",
    }  # fmt: skip
    assert address_columns(["name", "Adresse"]) == {"address": "Adresse"}
    assert address_columns(["name", "lat", "lon"]) is None


# ----------------------------------------------------------------------------- real data


def _variant(street: str, k: int) -> str:
    if k == 0:
        return re.sub("straße$", "str.", street)
    if k == 1:
        return street.lower()
    if k == 2:
        return street.replace("ß", "ss")
    if k == 3:
        return street.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae")
    if k == 4:
        return street.upper().replace("-", " ")
    return street


def test_real_addresses_with_spelling_variants_match_within_30_m(geocoder, kl_addresses):
    rng = np.random.default_rng(5)
    idx = rng.choice(len(kl_addresses), 400, replace=False)
    sample = kl_addresses.iloc[idx].reset_index(drop=True)
    k = np.arange(len(sample))
    query = pd.DataFrame(
        {
            "street": [_variant(s, i % 6) for s, i in zip(sample["street"], k, strict=True)],
            # every third number written "12 A" instead of "12a"
            "housenumber": [
                re.sub(r"(\d)([a-zA-Z])$", r"\1 \2", h).upper() if i % 3 == 0 else h
                for h, i in zip(sample["housenumber"], k, strict=True)
            ],
            "postcode": sample["postcode"],
            "city": np.where(k % 2 == 0, sample["city"], ""),
        }
    )
    assert (query["street"] != sample["street"]).mean() > 0.5  # really spelt differently
    res = geocoder.geocode(query)
    d = _metres(res["lon"], res["lat"], sample.geometry.x, sample.geometry.y)
    within = (res["reason"] == "").to_numpy() & (d <= 30)
    assert within.mean() >= 0.95, res[~within].join(query).head(20).to_string()
    assert set(res["quality"]) <= set(QUALITIES) | {""}
    found = res["reason"] == ""
    # a variant spelling is never "exact"; the unchanged ones (k % 6 == 5, no 12 A) often are
    changed = (query["street"] != sample["street"]) | (
        query["housenumber"] != sample["housenumber"]
    )
    assert not (res["quality"][changed & found] == "exact").any()
    assert (res["quality"][~changed & found] == "exact").mean() > 0.9
    # misses say why
    assert (res.loc[~found, "reason"].str.len() > 20).all()


def test_invented_streets_are_rejected_with_closest_streets(geocoder):
    invented = pd.DataFrame(
        {
            "street": ["Erfundenestraße", "Quarkbrötchenweg", "Zzyzx-Allee", "Blüchrstrasse"],
            "housenumber": ["3", "1", "12a", "15"],
            "postcode": ["67655", "", "67663", ""],
            "city": ["Kaiserslautern", "", "", "Kaiserslautern"],
        }
    )
    res = geocoder.geocode(invented)
    assert res["lon"].isna().all() and (res["quality"] == "").all()
    assert res["reason"].str.contains("not found among the addresses").all()
    assert "closest known streets: Blücherstraße" in res["reason"].iloc[3]


def test_numbers_beyond_a_streets_range_are_rejected(geocoder, kl_addresses):
    nums = pd.to_numeric(kl_addresses["housenumber"], errors="coerce")
    top = nums.groupby(kl_addresses["street"]).max().dropna()
    streets = top[top >= 10].index[:40]
    query = pd.DataFrame(
        {"street": streets, "housenumber": [str(int(top[s]) + 200) for s in streets]}
    )
    res = geocoder.geocode(query)
    assert res["lon"].isna().all()
    assert res["reason"].str.contains("outside the mapped numbers").all()


def test_other_city_is_rejected_not_matched_to_a_local_street(geocoder):
    lon, lat, q, _, _, reason = geocoder.lookup("Blücherstraße", "15", "10115", "Berlin")
    assert np.isnan(lon) and q == "" and "city 'Berlin'" in reason


def test_ranges_in_osm_are_found_by_each_number(geocoder, kl_addresses):
    is_range = kl_addresses["housenumber"].str.fullmatch(r"\d+-\d+")
    checked = 0
    mapped = set(zip(kl_addresses["street"], kl_addresses["housenumber"], strict=True))
    points = kl_addresses.groupby(["street", "housenumber"]).geometry.apply(list)
    for street, hn in set(
        zip(kl_addresses["street"][is_range], kl_addresses["housenumber"][is_range], strict=True)
    ):
        a, b = (int(v) for v in hn.split("-"))
        for n in range(a, b + 1):
            if (street, str(n)) in mapped or b - a > 10:
                continue  # a building of its own with that number wins
            lon, lat, q, matched, _, reason = geocoder.lookup(street, str(n))
            if reason.startswith("ambiguous"):
                continue  # the number is in two ranges far apart: correctly refused
            assert q == "normalised" and matched.startswith(f"{street} {hn}")
            # at one of the OSM features tagged with that range (a building and a node may share it)
            pts = points[(street, hn)]
            assert min(_metres(lon, lat, p.x, p.y) for p in pts) < 0.01
            checked += 1
    assert checked > 20


def test_input_range_and_unmapped_suffix(geocoder, kl_addresses):
    lon, lat, q, matched, _, _ = geocoder.lookup("Blücherstraße", "15-17")
    assert q == "normalised" and matched.startswith("Blücherstraße 15,")
    # street and number in one field
    assert geocoder.lookup("Blücherstr. 15, 67655 Kaiserslautern")[:4] == (
        *geocoder.lookup("Blücherstraße", "15")[:2], "normalised",
        "Blücherstraße 15, 67655 Kaiserslautern",
    )  # fmt: skip
    lon, lat, q, matched, note, _ = geocoder.lookup("Blücherstraße", "15 x")
    ref = geocoder.lookup("Blücherstraße", "15")
    assert (lon, lat) == ref[:2] and "not mapped; placed at 15" in note


def test_street_only_between_mapped_neighbours(geocoder, kl_addresses):
    # a street with a gap in its mapped odd numbers
    sel = kl_addresses[kl_addresses["housenumber"].str.fullmatch(r"\d+")]
    nums = sel.assign(n=sel["housenumber"].astype(int))
    for street, grp in nums.groupby("street"):
        odd = sorted(set(grp["n"][grp["n"] % 2 == 1]))
        gaps = [(a, b) for a, b in zip(odd[:-1], odd[1:], strict=True) if b - a == 4]
        if gaps and len(set(grp["n"])) == len(grp):
            found = (street, grp, gaps[0])
            break
    street, grp, (a, b) = found
    lon, lat, q, matched, note, reason = geocoder.lookup(street, str(a + 2))
    assert reason == "" and q == "street_only" and "not mapped" in note
    pa = grp.geometry[grp["n"] == a].iloc[0]
    pb = grp.geometry[grp["n"] == b].iloc[0]
    assert _metres(lon, lat, (pa.x + pb.x) / 2, (pa.y + pb.y) / 2) < 0.5  # halfway
    lon, lat, q, _, note, reason = geocoder.lookup(street, "")
    assert q == "street_only" and "no house number" in note


@pytest.mark.parametrize(
    "given", ["D-67655", "DE 67655", "67 655", " 67655 ", "67655.0", 67655.0,
              "67655 Kaiserslautern"],
)  # fmt: skip
def test_the_same_postcode_written_differently_is_no_mismatch(geocoder, given):
    """Review: the postcode of "Fischerstraße 50" (67655 in OSM) as housing companies' lists
    write it ("D-67655", a spreadsheet's 67655.0, the city in the postcode column) was
    flagged postcode_mismatch; only another code is one."""
    assert geocoder.lookup("Fischerstraße", "50", given)[2:5:2] == ("exact", "")
    q, note = geocoder.lookup("Fischerstraße", "50", "D-67663")[2:5:2]
    assert q == "postcode_mismatch" and "D-67663 differs from OSM's 67655" in note
    assert geocoder.lookup("Fischerstraße", "50", "6765")[2] == "postcode_mismatch"  # a typo


def test_postcode_disagreement_lowers_the_quality(geocoder, kl_addresses):
    """Issue 12: "Fischerstraße 50, 67663" is mapped with postcode 67655 in OSM: located at
    the house, but as ``postcode_mismatch`` with both postcodes in the note, never ``exact``."""
    osm = kl_addresses[(kl_addresses["street"] == "Fischerstraße")
                       & (kl_addresses["housenumber"] == "50")]  # fmt: skip
    assert set(osm["postcode"]) == {"67655"}
    lon, lat, q, matched, note, reason = geocoder.lookup("Fischerstraße", "50", "67663")
    assert (q, reason) == ("postcode_mismatch", "") and "67663" in note and "67655" in note
    assert _metres(lon, lat, osm.geometry.x.iloc[0], osm.geometry.y.iloc[0]) < 0.01
    assert geocoder.lookup("Fischerstraße", "50", "67655")[2] == "exact"
    assert geocoder.lookup("Fischerstraße", "50")[2] == "exact"  # no postcode: nothing to doubt
    # every real address with a wrong postcode: flagged, none exact
    sample = kl_addresses[kl_addresses["postcode"].isin(["67655", "67657"])].head(200)
    wrong = pd.DataFrame({"street": sample["street"], "housenumber": sample["housenumber"],
                          "postcode": np.where(sample["postcode"] == "67655", "67657", "67655")})  # fmt: skip
    res = geocoder.geocode(wrong)
    found = res["reason"] == ""
    assert found.mean() > 0.9
    assert (res.loc[found, "quality"] == "postcode_mismatch").mean() > 0.9
    # "exact" only where OSM maps the address with that postcode too (e.g. Mainzer Tor 3)
    for i in res.index[found & (res["quality"] != "postcode_mismatch")]:
        assert wrong.at[i, "postcode"] in res.at[i, "matched_address"], res.loc[i]
    mism = res[res["quality"] == "postcode_mismatch"]
    assert all(
        f"postcode {wrong.at[i, 'postcode']} differs" in mism.at[i, "note"] for i in mism.index
    )


def test_street_only_is_rejected_unless_accepted(kl_extract, geocoder):
    """Issue 12: "Rummelstraße" (no house number) is not counted as located by default."""
    q = pd.DataFrame({"street": ["Rummelstraße", "Blücherstraße"], "housenumber": ["", "15"]})
    res = geocoder.geocode(q)
    assert np.isnan(res.at[0, "lon"]) and res.at[0, "quality"] == ""
    assert "only the street is known" in res.at[0, "reason"]
    assert "--accept street" in res.at[0, "reason"] and "Rummelstraße" in res.at[0, "reason"]
    assert res.at[1, "reason"] == ""
    lax = OfflineGeocoder.from_extract(kl_extract, accept=["street"])
    res = lax.geocode(q)
    assert res.at[0, "quality"] == "street_only" and res.at[0, "reason"] == ""
    assert (res.at[0, "lon"], res.at[0, "lat"]) == geocoder.lookup("Rummelstraße")[:2]
    with pytest.raises(InputError, match="--accept 'house'"):
        OfflineGeocoder.from_extract(kl_extract, accept=["house"])


def test_interpolation_ways_place_numbers_along_the_way(kl_addresses):
    """An addr:interpolation way between two real address points of one street."""
    street = "Blücherstraße"
    a_pt = kl_addresses[(kl_addresses["street"] == street) & (kl_addresses["housenumber"] == "1")]
    b_pt = kl_addresses[(kl_addresses["street"] == street) & (kl_addresses["housenumber"] == "15")]
    pa, pb = a_pt.geometry.iloc[0], b_pt.geometry.iloc[0]
    bend = shapely.Point(pa.x, pb.y)  # an L-shaped way, as interpolation ways often are
    nodes = gpd.GeoDataFrame(
        {
            "osm_type": ["node", "node"],
            "osm_id": [1, 2],
            "tags": [
                {"addr:street": "Teststraße", "addr:housenumber": "1"},
                {"addr:street": "Teststraße", "addr:housenumber": "15"},
            ],
        },
        geometry=[pa, pb],
        crs="EPSG:4326",
    )
    ways = gpd.GeoDataFrame(
        {"osm_id": [10], "tags": [{"addr:interpolation": "odd"}], "node_ids": [[1, 99, 2]]},
        geometry=[shapely.LineString([pa, bend, pb])],
        crs="EPSG:4326",
    )
    g = OfflineGeocoder(nodes, ways)
    # independent: walk the L by hand in metres on the ellipsoid
    leg1 = GEOD.inv(pa.x, pa.y, bend.x, bend.y)[2]
    leg2 = GEOD.inv(bend.x, bend.y, pb.x, pb.y)[2]
    for n in (3, 7, 13):
        s = (n - 1) / 14 * (leg1 + leg2)
        if s <= leg1:
            f = s / leg1
            ex = (pa.x, pa.y + f * (bend.y - pa.y))
        else:
            f = (s - leg1) / leg2
            ex = (bend.x + f * (pb.x - bend.x), pb.y)
        lon, lat, q, matched, _, reason = g.lookup("Teststr.", str(n))
        assert q == "interpolated" and matched == f"Teststraße {n}"
        assert _metres(lon, lat, ex[0], ex[1]) < 0.5  # local plane vs ellipsoid: centimetres
    assert g.lookup("Teststraße", "4")[2] == "street_only"  # even: not on an odd way
    assert g.lookup("Teststraße", "17")[5].startswith("house number 17 is outside")


def test_offline_geocoding_never_touches_the_network(geocoder, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the offline geocoder opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    res = geocoder.geocode(
        pd.DataFrame({"street": ["Blücherstr.", "Nirgendwostraße"], "housenumber": ["15", "1"]})
    )
    assert res["reason"].iloc[0] == "" and res["reason"].iloc[1] != ""


# ----------------------------------------------------------------------------- Nominatim

DEAD = {"domain": "127.0.0.1:9", "scheme": "http"}  # the discard port: connection refused


def test_nominatim_cache_hit_is_never_asked_again(geocoder, tmp_path, kl_extract):
    cache = tmp_path / "nominatim.json"
    nom = NominatimGeocoder(
        geocoder, bounds=kl_extract.bounds, cache=cache, max_retries=0, error_wait_s=0, **DEAD
    )
    q = NominatimGeocoder.query("Neubaustraße", "5", "67655", "Kaiserslautern")
    nom.remember(q, 7.7601, 49.4402, "Neubaustraße 5, Kaiserslautern")
    gone = NominatimGeocoder.query("Abrissweg", "1", "", "")
    nom.remember(gone, None, None)
    far = NominatimGeocoder.query("Weitweg", "1", "", "")
    nom.remember(far, 13.40, 52.52, "Berlin")
    # a new instance reads the cache from disk; the server is dead, so any request would fail
    nom2 = NominatimGeocoder(
        geocoder, bounds=kl_extract.bounds, cache=cache, max_retries=0, error_wait_s=0, **DEAD
    )
    res = nom2.geocode(
        pd.DataFrame(
            {
                "street": ["Blücherstr.", "Neubaustraße", "Abrissweg", "Weitweg"],
                "housenumber": ["15", "5", "1", "1"],
                "postcode": ["", "67655", "", ""],
                "city": ["", "Kaiserslautern", "", ""],
            }
        )
    )
    assert nom2.requests == 0
    assert res["quality"].tolist() == ["normalised", "nominatim", "", ""]
    assert (res.at[1, "lon"], res.at[1, "lat"]) == (7.7601, 49.4402)
    assert "Nominatim does not know it either" in res.at[2, "reason"]
    assert "outside the study area" in res.at[3, "reason"]


def test_nominatim_unreachable_gives_clear_error(geocoder, tmp_path):
    nom = NominatimGeocoder(
        geocoder, cache=tmp_path / "c.json", timeout=2, max_retries=1, error_wait_s=0, **DEAD
    )
    with pytest.raises(GeocodingError) as exc:
        nom.geocode(pd.DataFrame({"street": ["Unbekanntweg"], "housenumber": ["1"]}))
    msg = str(exc.value)
    assert "http://127.0.0.1:9" in msg and "2 attempts" in msg and "--geocoder offline" in msg
    assert nom.requests == 1
    assert not (tmp_path / "c.json").exists()  # failures are not cached


def test_nominatim_cache_lives_in_the_cache_dir(geocoder):
    from accessibility.config import cache_dir

    nom = NominatimGeocoder(geocoder, **DEAD)
    assert nom.cache_path.parent == cache_dir() / "geocode"
    assert nom.min_delay_s >= 0
    public = NominatimGeocoder(geocoder, min_delay_s=0.1)
    assert public.min_delay_s == 1.0  # the public server's policy cannot be undercut
    assert "accessibility/" in public.user_agent


def test_same_address_far_apart_is_ambiguous_not_guessed(geocoder, kl_addresses):
    plain = kl_addresses[kl_addresses["housenumber"].str.fullmatch(r"\d+[a-z]?")]
    metric = plain.to_crs(25832)
    spread = metric.groupby(["street", "housenumber"]).geometry.apply(
        lambda g: max(p.distance(q) for p in g for q in g)
    )
    far = spread[spread > 200].index.tolist()
    assert far  # the 2013 extract has a few such double-mapped addresses
    for street, number in far:
        lon, _, q, _, _, reason = geocoder.lookup(street, number)
        assert np.isnan(lon) and q == "" and reason.startswith("ambiguous"), (street, number)

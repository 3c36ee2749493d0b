"""Benchmark of offline geocoding and the housing stock check on real Kaiserslautern data.

Every address of the OSM extract (about 11,000) is written with a spelling variant
(``Str.``, lower case, ``ss`` for ``ß``, ``ae/oe/ue``, ``12 A``) and geocoded by

* ``exact join``: a plain pandas merge on the raw street and number (no normalising),
* ``difflib fuzzy``: the closest street name by ``difflib.get_close_matches`` (a sample;
  it is slow and, worse, moves invented streets to real ones),
* ``OfflineGeocoder``: this package (normalised keys, ranges, suffixes).

Then all addressed buildings go through ``accessibility stock`` (read + geocode +
core engine + tables) and, for comparison, through the core engine alone.

Usage::

    python bench/bench_geocode.py
"""

from __future__ import annotations

import difflib
import re
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod
from rich.console import Console
from rich.table import Table

from accessibility.config import shared_data_dir
from accessibility.core.analysis import analyze
from accessibility.core.network import load_network
from accessibility.inputs.geocode import OfflineGeocoder
from accessibility.inputs.osm import read_osm
from accessibility.inputs.osm_sites import sites_from_osm
from accessibility.inputs.sites import load_presets
from accessibility.inputs.stock_file import read_stock
from accessibility.planning.stock import check_stock
from accessibility.rejects import Rejects

console = Console(width=140)
GEOD = Geod(ellps="WGS84")
INVENTED = ["Erfundenestraße", "Quarkbrötchenweg", "Zzyzx-Allee", "Mondscheingasse", "Am Nirgendwo"]


def _variant(street: str, k: int) -> str:
    return [
        re.sub("straße$", "str.", street),
        street.lower(),
        street.replace("ß", "ss"),
        street.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae"),
        street.upper().replace("-", " "),
        street,
    ][k % 6]


def _within(lon, lat, ref: gpd.GeoSeries, metres: float = 30.0) -> np.ndarray:
    ok = np.isfinite(np.asarray(lon, float))
    d = np.full(len(ok), np.inf)
    d[ok] = GEOD.inv(
        np.asarray(lon)[ok], np.asarray(lat)[ok], ref.x.to_numpy()[ok], ref.y.to_numpy()[ok]
    )[2]
    return d <= metres


def main() -> None:
    osm = shared_data_dir() / "kaiserslautern" / "kaiserslautern.osm.gz"
    extract = read_osm(osm)
    net = load_network(osm)
    f = extract.features
    has = np.array(
        [isinstance(t, dict) and "addr:street" in t and "addr:housenumber" in t for t in f["tags"]]
    )
    a = f[has].reset_index(drop=True)
    ref = gpd.GeoSeries(shapely.point_on_surface(np.asarray(a.geometry.values)), crs="EPSG:4326")
    k = np.arange(len(a))
    raw = pd.DataFrame(
        {
            "street": [t["addr:street"] for t in a["tags"]],
            "housenumber": [t["addr:housenumber"] for t in a["tags"]],
            "postcode": [t.get("addr:postcode", "") for t in a["tags"]],
            "city": [t.get("addr:city", "") for t in a["tags"]],
        }
    )
    query = raw.copy()
    query["street"] = [_variant(s, i) for s, i in zip(raw["street"], k, strict=True)]
    query["housenumber"] = [
        re.sub(r"(\d)([a-zA-Z])$", r"\1 \2", h).upper() if i % 3 == 0 else h
        for h, i in zip(raw["housenumber"], k, strict=True)
    ]
    rows = []

    # exact join
    t0 = time.perf_counter()
    book = raw.assign(lon=ref.x, lat=ref.y).drop_duplicates(["street", "housenumber"])
    j = query.merge(
        book[["street", "housenumber", "lon", "lat"]], on=["street", "housenumber"], how="left"
    )
    t_join = time.perf_counter() - t0
    rows.append(
        (
            "exact join (pandas merge)",
            len(query),
            t_join,
            _within(j["lon"], j["lat"], ref).mean(),
            "n/a",
        )
    )

    # difflib fuzzy on a sample
    streets = sorted(set(raw["street"]))
    sample = np.random.default_rng(0).choice(len(query), 300, replace=False)
    t0 = time.perf_counter()
    hits = 0
    lookup = book.set_index(["street", "housenumber"])
    for i in sample:
        m = difflib.get_close_matches(query["street"].iat[i], streets, n=1, cutoff=0.6)
        key = (m[0], raw["housenumber"].iat[i]) if m else None
        if key in lookup.index:
            p = lookup.loc[key]
            hits += bool(_within([p["lon"]], [p["lat"]], ref.iloc[[i]])[0])
    t_fuzzy = time.perf_counter() - t0
    wrong = sum(bool(difflib.get_close_matches(s, streets, n=1, cutoff=0.6)) for s in INVENTED)
    rows.append(
        (
            "difflib fuzzy (sample)",
            len(sample),
            t_fuzzy,
            hits / len(sample),
            f"{wrong}/{len(INVENTED)}",
        )
    )

    # ours
    t0 = time.perf_counter()
    g = OfflineGeocoder.from_extract(extract)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = g.geocode(query)
    t_geo = time.perf_counter() - t0
    inv = g.geocode(pd.DataFrame({"street": INVENTED, "housenumber": ["1"] * len(INVENTED)}))
    rows.append(
        (f"OfflineGeocoder (index {t_build:.2f} s)", len(query), t_geo, _within(res["lon"], res["lat"], ref).mean(),
         f"{int((inv['reason'] == '').sum())}/{len(INVENTED)}")
    )  # fmt: skip

    t = Table(
        title=f"Geocoding {len(query):,} real Kaiserslautern addresses with spelling variants"
    )
    for c in (
        "approach",
        "addresses",
        "seconds",
        "µs / address",
        "within 30 m",
        "invented streets matched",
    ):
        t.add_column(c, justify="right")
    for name, n, sec, rate, wrong in rows:
        t.add_row(name, f"{n:,}", f"{sec:.3f}", f"{sec / n * 1e6:,.0f}", f"{rate:.1%}", wrong)
    console.print(t)
    console.print(
        "quality: "
        + ", ".join(f"{q or 'not found'} {v:,}" for q, v in res["quality"].value_counts().items())
    )

    # stock check of every addressed building vs. the core alone
    b = a[
        a.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy() & (res["reason"] == "").to_numpy()
    ]
    sites = sites_from_osm(extract.features, load_presets())
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "bestand.csv"
        qb = query.loc[b.index]
        pd.DataFrame({"building_id": [f"B{i}" for i in b.index], **{c: qb[c] for c in qb}}).to_csv(
            p, index=False
        )
        t0 = time.perf_counter()
        rejects = Rejects()
        stock = read_stock(p, rejects, geocoder=g)
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        check = check_stock(net, sites, stock, minutes=(5, 10, 15), rejects=rejects)
        t_check = time.perf_counter() - t0
    residents = gpd.GeoDataFrame(
        {"pid": stock["building_id"], "population": 1.0}, geometry=stock.geometry.values, crs=4326
    )
    t0 = time.perf_counter()
    core = analyze(net, sites, residents, minutes=(5, 10, 15))
    t_core = time.perf_counter() - t0
    same = np.array_equal(
        check.buildings.set_index("building_id")
        .loc[core.residents["pid"], "minutes_all"]
        .to_numpy(),
        core.residents["minutes_all"].to_numpy(),
    )
    t2 = Table(title=f"Stock check of {len(stock):,} buildings, {len(sites)} OSM docking points")
    for c in ("step", "seconds"):
        t2.add_column(c, justify="right")
    t2.add_row("read_stock (CSV + geocoding)", f"{t_read:.3f}")
    t2.add_row("check_stock (core + per-category names + detour + summary)", f"{t_check:.3f}")
    t2.add_row("core analyze alone on the same points", f"{t_core:.3f}")
    console.print(t2)
    console.print(f"minutes_all identical to the core engine: {same}; rejects: {len(rejects)}")


if __name__ == "__main__":
    main()

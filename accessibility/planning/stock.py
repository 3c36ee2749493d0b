"""Housing stock check: for every building of a housing company, the walk to the nearest docking point.

The buildings come from the company's list (CSV/XLSX with addresses or
coordinates, or a GeoPackage/GeoJSON of footprints). Each building becomes one
"resident" point (population = its units, else its residents, else 1) and goes
through the same engine as every analysis (:func:`accessibility.analysis.analyze`),
so its minutes are the exact door-to-door walking minutes of the core.

Outputs (see :func:`write_stock`): ``stock.csv`` / ``stock.xlsx`` / ``stock.gpkg``
(one row per building) and ``stock_summary.csv`` (per estate and in total).

Detour ratio
    Network metres to the nearest docking point ÷ straight-line metres to the
    same point. Walking in a city is typically 1.2–1.5 times the straight line;
    a ratio above :data:`DETOUR_LIMIT` (2.0), for a straight line of at least
    :data:`DETOUR_MIN_STRAIGHT_M` (150 m; closer, the access legs dominate the
    ratio), means a barrier is in the way (railway, river, motorway, fenced
    site) or the OSM network lacks a path: the ``detour_flag`` answers
    "why is this building not covered although the site is so close?". It is
    a hint to look at the map, not proof of a barrier.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._io import atomic_write, write_csv, write_gpkg
from ..config import DEFAULT_MINUTES, DEFAULT_SPEED_KMH, MAX_ACCESS_LEG_M
from ..core.analysis import ALL, Analysis, analyze
from ..core.network import DEFAULT_MIN_COMPONENT, Network
from ..errors import AllRejectedError, InputError
from ..rejects import Rejects

#: Detour ratio (network ÷ straight line) above which a building is flagged.
DETOUR_LIMIT = 2.0

#: Straight-line metres below which the detour ratio is not flagged (access legs dominate).
DETOUR_MIN_STRAIGHT_M = 150.0

#: Accepted header spellings (lower case) of the stock file's columns.
STOCK_ALIASES = {
    "building_id": ("building_id", "id", "gebaeude_id", "gebäude_id", "objekt_id", "objekt"),
    "units": ("units", "wohnungen", "wohneinheiten", "we"),
    "residents": ("residents", "bewohner", "einwohner", "bewohnerinnen"),
    "estate": ("estate", "quartier", "siedlung", "wirtschaftseinheit", "bestand"),
    "lat": ("lat", "latitude"),
    "lon": ("lon", "lng", "long", "longitude"),
    "x": ("x",),
    "y": ("y",),
}

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")
VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json")

#: Label of the total rows in ``stock_summary.csv``.
TOTAL = "(all estates)"

#: Label of buildings without an estate in ``stock_summary.csv``.
NO_ESTATE = "(no estate)"


# --------------------------------------------------------------------------- reading


def read_stock(
    path: str | Path,
    rejects: Rejects,
    geocoder=None,
    crs: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a housing company's building list.

    Parameters
    ----------
    path : str or Path
        ``.csv`` (separator ``,``, ``;`` or tab; UTF-8 or Windows-1252) or
        ``.xlsx`` (first sheet) with ``building_id``, the address columns
        ``street, housenumber, postcode, city`` (or one ``address`` column) or
        ``lat, lon`` (WGS 84 degrees; or ``x, y`` with ``crs``), optional
        ``units`` and/or ``residents`` and optional ``estate``. Or a
        ``.gpkg``/``.geojson`` of building footprints (a point inside each
        polygon is used) or points with the same attributes.
    rejects : Rejects
        Receives every unusable row (file, 1-based row, reason, value).
    geocoder : OfflineGeocoder or NominatimGeocoder, optional
        Geocodes rows without coordinates. Without one such rows are rejected.
    crs : str, optional
        CRS of ``x, y`` columns or of a GeoPackage without CRS.

    Returns
    -------
    GeoDataFrame
        EPSG:4326 points with ``building_id``, ``row``, ``estate`` (``""`` if
        not given), ``units`` (float; the ``units`` column, else ``residents``,
        else 1), ``residents`` (float or NaN), ``address`` (as given),
        ``geocode_quality`` (``coordinates``, ``footprint`` or a geocoding
        quality) and ``matched_address``. ``attrs["weight"]`` names what
        ``units`` holds (``units``, ``residents`` or ``buildings``).

    Raises
    ------
    InputError
        Missing file or ``building_id`` column, unknown type, no way to place
        the buildings (neither coordinates nor addresses).
    AllRejectedError
        Every row was rejected.
    """
    from ..inputs import sites as sm
    from ..inputs.geocode import address_columns, address_table, format_address

    path = Path(path)
    file = str(path)
    if not path.exists():
        raise InputError("file not found; check the path", file)
    if path.is_dir() or path.stat().st_size == 0:
        raise InputError("not a file with data; give a CSV, XLSX, GeoPackage or GeoJSON", file)
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        table, rows = _read_xlsx(path) if suffix == ".xlsx" else sm._read_table(path)
        xy_given = None
    elif suffix in VECTOR_SUFFIXES:
        table, rows, vx, vy, vcrs, vissues = sm._read_vector(path, crs)
        xy_given = (vx, vy, vcrs, vissues)
    else:
        raise InputError(
            f"unknown file type '{path.suffix}'; give the stock as .csv, .xlsx, .gpkg or .geojson",
            file,
        )
    cols = _stock_columns(file, list(table.columns))
    try:
        acols = address_columns(table.columns)
    except InputError as exc:
        raise InputError(str(exc), file) from exc
    n = len(table)
    issues = sm._Issues(n)
    if xy_given is not None:
        x, y, src_crs, issues = xy_given
        quality = np.where(np.isfinite(x), "footprint", "").astype(object)
    elif cols["lat"] and cols["lon"]:
        tc = {"mode": "latlon", "lat": cols["lat"], "lon": cols["lon"]}
        x, y, src_crs, issues = sm._table_coordinates(table, tc, None)
        quality = np.where(np.isfinite(x) & np.isfinite(y), "coordinates", "").astype(object)
    elif cols["x"] and cols["y"]:
        tc = {"mode": "xy", "x": cols["x"], "y": cols["y"]}
        if crs is None:
            raise InputError("columns x,y need their CRS: give --stock-crs (e.g. EPSG:25832)", file)
        x, y, src_crs, issues = sm._table_coordinates(table, tc, crs)
        quality = np.where(np.isfinite(x) & np.isfinite(y), "coordinates", "").astype(object)
    elif acols is not None:
        x, y, src_crs = np.full(n, np.nan), np.full(n, np.nan), "EPSG:4326"
        issues.add(np.ones(n, dtype=bool), sm.NO_COORDINATES)
        quality = np.full(n, "", dtype=object)
    else:
        raise InputError(
            "the stock file has neither address columns (street, housenumber, postcode, city, or "
            f"address) nor lat, lon (found: {', '.join(map(str, table.columns))})",
            file,
        )
    given_address = np.full(n, "", dtype=object)
    matched = np.full(n, "", dtype=object)
    if acols is not None:
        addr = address_table(table, acols)
        given_address[:] = [format_address(*r) for r in addr.itertuples(index=False, name=None)]
        if geocoder is None and cols["lat"] is None and xy_given is None and cols["x"] is None:
            raise InputError(
                "the stock file gives addresses but no coordinates: use a geocoder "
                "(--geocoder offline, or nominatim) or add lat, lon columns",
                file,
            )
        if geocoder is not None:
            geo = sm._geocode_rows(table, acols, x, y, src_crs, issues, geocoder)
            hit = (geo["geocode_quality"] != "").to_numpy() & (quality == "")
            quality[hit] = geo["geocode_quality"].to_numpy(object)[hit]
            matched[hit] = geo["matched_address"].to_numpy(object)[hit]

    bid = (
        np.array([sm._text_values([v])[0] for v in table[cols["building_id"]]], dtype=object)
        if n
        else np.zeros(0, object)
    )
    empty_id = bid == ""
    issues.add(empty_id, "empty building_id; give every building an id", given_address)
    dup = pd.Series(bid).duplicated(keep="first").to_numpy() & ~empty_id
    issues.add(dup, "duplicate building_id: an earlier row has the same id and is kept", bid)
    units = np.ones(n)
    weight = "buildings"
    residents = np.full(n, np.nan)
    for key in ("residents", "units"):  # units win over residents as weight
        if cols[key] is None:
            continue
        num, empty, bad = sm._parse_numbers(table[cols[key]])
        neg = np.isfinite(num) & (num < 0)
        issues.add(bad | neg, f"{key} must be a number ≥ 0; fix the value", table[cols[key]])
        issues.add(empty, f"{key} is empty; give a number (0 if none)", bid)
        if key == "residents":
            residents = num
        units = num
        weight = key
    lon, lat = sm._to_wgs84(x, y, src_crs)
    with np.errstate(invalid="ignore"):
        out_of_range = np.isfinite(lon) & ((np.abs(lat) > 90) | (np.abs(lon) > 180))
    issues.add(out_of_range, "coordinates outside the valid lat/lon range; check them", bid)

    bad = issues.bad()
    issues.report(file, rows, rejects)
    if n == 0 or bad.all():
        reasons = pd.Series([r for m, r, _ in issues.items for _ in range(int(m.sum()))])
        top = "; ".join(f"{k} ({v}x)" for k, v in reasons.value_counts().head(3).items())
        raise AllRejectedError(
            f"all {n} buildings were rejected. Most common reasons: {top}. "
            "Fix the rows listed in rejects.csv",
            file,
        )
    keep = ~bad
    estate = (
        np.array([sm._text_values([v])[0] for v in table[cols["estate"]]], dtype=object)
        if cols["estate"]
        else np.full(n, "", dtype=object)
    )
    gdf = gpd.GeoDataFrame(
        {
            "building_id": bid[keep],
            "row": pd.array(rows[keep], dtype="Int64"),
            "estate": estate[keep],
            "units": units[keep].astype(float),
            "residents": residents[keep].astype(float),
            "address": given_address[keep],
            "geocode_quality": quality[keep],
            "matched_address": matched[keep],
        },
        geometry=gpd.points_from_xy(lon[keep], lat[keep]),
        crs="EPSG:4326",
    )
    gdf.attrs.update(weight=weight, files=[file], source=file)
    return gdf


def _read_xlsx(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    from ..inputs.sites import _text_values

    try:
        df = pd.read_excel(path, sheet_name=0, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises several types for broken files
        raise InputError(f"cannot read as XLSX ({exc}); save it again from Excel", path) from exc
    df.columns = [str(c).strip() for c in df.columns]
    keep = ~df.isna().all(axis=1).to_numpy()
    rows = np.flatnonzero(keep) + 1
    df = df.loc[keep].reset_index(drop=True)
    if df.empty:
        raise InputError("the sheet has a header but no data rows", path)
    table = pd.DataFrame({c: _text_values(df[c].to_numpy(object)) for c in df.columns})
    return table, rows.astype(np.int64)


def _stock_columns(file: str, columns: list[str]) -> dict[str, str | None]:
    import difflib

    from ..inputs.sites import match_columns

    found = match_columns(file, columns, STOCK_ALIASES)
    if found["building_id"] is None:
        guess = difflib.get_close_matches("building_id", [c.lower() for c in columns], n=1)
        hint = f" Did you mean column '{guess[0]}'? Rename it." if guess else ""
        raise InputError(
            f"required column 'building_id' missing (found: {', '.join(map(str, columns))}).{hint}",
            file,
        )
    return found


# --------------------------------------------------------------------------- checking


@dataclass
class StockCheck:
    """Result of :func:`check_stock`.

    Attributes
    ----------
    buildings : GeoDataFrame
        ``stock.csv`` rows (EPSG:4326 points), see :func:`stock_table`.
    summary : DataFrame
        ``stock_summary.csv``, see :func:`stock_summary`.
    analysis : Analysis
        The core run with the buildings as resident points.
    rejects : Rejects
    """

    buildings: gpd.GeoDataFrame
    summary: pd.DataFrame
    analysis: Analysis
    rejects: Rejects
    timings: dict = field(default_factory=dict)


def check_stock(
    network: Network,
    sites: gpd.GeoDataFrame,
    stock: gpd.GeoDataFrame,
    *,
    minutes: Sequence[float] = DEFAULT_MINUTES,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    rejects: Rejects | None = None,
    max_access_m: float = MAX_ACCESS_LEG_M,
    categories: Sequence[str] | None = None,
) -> StockCheck:
    """Walking minutes from every building to the nearest docking point of each category.

    Parameters
    ----------
    network : Network
        Walking network (metric CRS).
    sites : GeoDataFrame
        Docking points (``site_id, name, category, source``), any CRS.
    stock : GeoDataFrame
        From :func:`read_stock`: points with ``building_id``, ``units``, ``estate``.
    minutes : sequence of float
        Thresholds in minutes.
    speed_kmh : float
        Walking speed, km/h.
    rejects : Rejects, optional
        Buildings too far from the network are added here.
    max_access_m : float
        Longest straight access leg (metres).
    categories : sequence of str, optional
        Categories to report even without sites.

    Returns
    -------
    StockCheck
    """
    rejects = rejects if rejects is not None else Rejects()
    t0 = time.perf_counter()
    residents = gpd.GeoDataFrame(
        {
            "pid": stock["building_id"].astype(str).to_numpy(),
            "population": stock["units"].to_numpy(float),
            "row": stock["row"].to_numpy() if "row" in stock else None,
            "_i": np.arange(len(stock)),
        },
        geometry=stock.geometry.to_numpy(),
        crs=stock.crs,
    )
    residents.attrs.update(groups=[], files=stock.attrs.get("files", ["stock"]))
    a = analyze(
        network, sites, residents, minutes=minutes, speed_kmh=speed_kmh, rejects=rejects,
        max_access_m=max_access_m, categories=categories,
    )  # fmt: skip
    t_an = time.perf_counter() - t0
    t0 = time.perf_counter()
    table = stock_table(a, stock)
    summary = stock_summary(table, a.minutes, a.categories)
    return StockCheck(
        buildings=table, summary=summary, analysis=a, rejects=rejects,
        timings={**a.timings, "analysis": t_an, "stock_tables": time.perf_counter() - t0},
    )  # fmt: skip


def stock_table(a: Analysis, stock: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per building (those placed on the network), uncovered first.

    Columns: ``building_id, estate, units, residents, address, geocode_quality,
    matched_address, lon, lat, access_m, fragment``, then per category ``c`` (and
    ``all``) ``nearest_<c>`` (name), ``nearest_<c>_id``, ``metres_<c>``,
    ``minutes_<c>``; then ``covered_<m>min`` (any docking point within ``m``
    minutes) per threshold, ``straight_m`` (straight line to the nearest docking
    point, metres), ``detour_ratio`` and ``detour_flag`` (see the module notes).
    Unreachable: empty minutes, not covered. Sorted by ``minutes_all``, longest
    first (unreachable at the top), so the buildings without a docking point
    within a threshold come first.
    """
    r = a.residents
    src = stock.iloc[r["_i"].to_numpy()].reset_index(drop=True)
    out = pd.DataFrame(
        {
            c: src[c].to_numpy()
            for c in ("building_id", "estate", "units", "residents", "address",
                      "geocode_quality", "matched_address")
        }
    )  # fmt: skip
    ll = r.geometry.to_crs("EPSG:4326")
    out["lon"], out["lat"] = ll.x.round(7).to_numpy(), ll.y.round(7).to_numpy()
    out["access_m"] = r["access_m"].to_numpy().round(2)
    out["fragment"] = r["fragment"].to_numpy()
    names = a.sites["name"].astype(str).to_numpy(object)
    ids = a.sites["site_id"].astype(str).to_numpy(object)
    near_all = np.full(len(r), -1)
    for c in a.categories:
        near = a.nearest[c]  # the core engine's nearest site per category
        ok = near >= 0
        out[f"nearest_{c}"] = np.where(ok, names[np.maximum(near, 0)], None) if ok.any() else None
        out[f"nearest_{c}_id"] = np.where(ok, ids[np.maximum(near, 0)], None) if ok.any() else None
        out[f"metres_{c}"] = r[f"metres_{c}"].to_numpy()
        out[f"minutes_{c}"] = r[f"minutes_{c}"].to_numpy()
        if c == ALL:
            near_all = near
    mins = r[f"minutes_{ALL}"].to_numpy(float)
    for m in a.minutes:
        out[f"covered_{m:g}min"] = np.isfinite(mins) & (mins <= m)
    ok = near_all >= 0
    site_xy = shapely.get_coordinates(a.sites.geometry.to_numpy())
    res_xy = shapely.get_coordinates(r.geometry.to_numpy())
    straight = np.full(len(r), np.nan)
    straight[ok] = np.hypot(*(res_xy[ok] - site_xy[near_all[ok]]).T)
    metres = r[f"metres_{ALL}"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ok & (straight > 0), metres / straight, np.nan)
    out["straight_m"] = straight.round(2)
    out["detour_ratio"] = ratio.round(3)
    out["detour_flag"] = (ratio > DETOUR_LIMIT) & (straight >= DETOUR_MIN_STRAIGHT_M)
    key = np.where(np.isfinite(mins), mins, np.inf)
    order = np.argsort(-key, kind="stable")  # unreachable, then the longest walks first
    out = out.iloc[order].reset_index(drop=True)
    return gpd.GeoDataFrame(
        out, geometry=gpd.points_from_xy(out["lon"], out["lat"]), crs="EPSG:4326"
    )


def stock_summary(
    table: pd.DataFrame, minutes: Sequence[float], categories: Sequence[str]
) -> pd.DataFrame:
    """``stock_summary.csv``: per estate and in total, per category and threshold.

    Columns: ``estate`` (:data:`TOTAL` for all buildings), ``category``,
    ``minutes``, ``buildings_not_covered``, ``units_not_covered``,
    ``not_covered_ids`` (the building ids without a docking point within the
    threshold, ``;``-separated, longest walk first), ``buildings``,
    ``buildings_covered``, ``share_buildings_covered``, ``units``,
    ``units_covered``, ``share_units_covered``. The total comes first, then
    estates by name (buildings without one as :data:`NO_ESTATE`).
    """
    label = (
        table["estate"].astype(str).replace("", NO_ESTATE)
        if "estate" in table
        else pd.Series(NO_ESTATE, index=table.index)
    )
    estates = [TOTAL]
    if (label != NO_ESTATE).any():
        estates += sorted(set(label))
    recs = []
    for est in estates:
        sel = table if est == TOTAL else table[(label == est).to_numpy()]
        units = sel["units"].to_numpy(float)
        for c in categories:
            mins = sel[f"minutes_{c}"].to_numpy(float)
            order = np.argsort(-np.where(np.isfinite(mins), mins, np.inf), kind="stable")
            for m in minutes:
                cov = np.isfinite(mins) & (mins <= m)
                nc = order[~cov[order]]
                recs.append(
                    {
                        "estate": est,
                        "category": c,
                        "minutes": m,
                        "buildings_not_covered": int((~cov).sum()),
                        "units_not_covered": float(units[~cov].sum()),
                        "not_covered_ids": ";".join(sel["building_id"].astype(str).to_numpy()[nc]),
                        "buildings": len(sel),
                        "buildings_covered": int(cov.sum()),
                        "share_buildings_covered": float(cov.mean()) if len(sel) else np.nan,
                        "units": float(units.sum()),
                        "units_covered": float(units[cov].sum()),
                        "share_units_covered": (
                            float(units[cov].sum() / units.sum()) if units.sum() > 0 else np.nan
                        ),
                    }
                )
    return pd.DataFrame(recs)


# --------------------------------------------------------------------------- writing


def write_stock(check: StockCheck, out: str | Path, record: dict | None = None) -> dict[str, Path]:
    """Write ``stock.csv``, ``stock.xlsx``, ``stock.gpkg``, ``stock_summary.csv``,
    ``sites.gpkg``, ``rejects.csv`` and ``run.json`` into ``out`` (atomic writes).

    Returns
    -------
    dict
        Output name -> path.
    """
    from .._io import write_json
    from ..outputs.files import versions

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = check.buildings
    flat = pd.DataFrame(table.drop(columns="geometry"))
    num = flat.select_dtypes("number").columns
    flat[num] = flat[num].replace([np.inf, -np.inf], np.nan)
    paths = {
        "stock": write_csv(flat, out / "stock.csv"),
        "stock_xlsx": atomic_write(
            out / "stock.xlsx", lambda p: _write_xlsx(flat, check.summary, p)
        ),
        "stock_gpkg": write_gpkg(
            gpd.GeoDataFrame(flat, geometry=table.geometry.to_numpy(), crs=table.crs),
            out / "stock.gpkg",
            layer="stock",
        ),
        "stock_summary": write_csv(check.summary, out / "stock_summary.csv"),
        "sites": write_gpkg(check.analysis.sites, out / "sites.gpkg", layer="sites"),
        "rejects": check.rejects.write(out / "rejects.csv"),
    }
    a = check.analysis
    rec = {
        **(record or {}),
        "parameters": {
            **(record or {}).get("parameters", {}),
            "minutes": list(a.minutes),
            "speed_kmh": a.speed_kmh,
            "categories": a.categories,
            "crs": a.network.crs,
            "detour_limit": DETOUR_LIMIT,
            "detour_min_straight_m": DETOUR_MIN_STRAIGHT_M,
        },
        "counts": {
            "buildings": len(table),
            "sites_used": len(a.sites),
            "rejected_rows": len(check.rejects),
            "rejects_by_reason": check.rejects.counts().to_dict("records"),
            "geocode_quality": table["geocode_quality"].value_counts().to_dict(),
        },
        "timings_s": {k: round(v, 4) for k, v in check.timings.items()},
        "versions": versions(),
        "outputs": {k: p.name for k, p in paths.items()},
    }
    paths["run"] = write_json(rec, out / "run.json")
    return paths


def _write_xlsx(table: pd.DataFrame, summary: pd.DataFrame, path: Path) -> None:
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        _safe_cells(table).to_excel(xw, sheet_name="stock", index=False)
        _safe_cells(summary).to_excel(xw, sheet_name="summary", index=False)


def _safe_cells(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells that Excel would run as formulas (``=``, ``+``, ``-``, ``@``) get a leading ``'``."""
    df = df.copy()
    for c in df.columns:
        if df[c].dtype == object or pd.api.types.is_string_dtype(df[c]):
            df[c] = [
                "'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v
                for v in df[c]
            ]
    return df


# --------------------------------------------------------------------------- whole run


def run_stock(
    *,
    stock: str | Path,
    network: str | Path | None = None,
    place: str | None = None,
    bbox: Sequence[float] | None = None,
    polygon: str | Path | None = None,
    area: str | Path | None = None,
    sites: str | Path | None = None,
    sites_crs: str | None = None,
    stock_crs: str | None = None,
    osm_categories: Sequence[str] | None = None,
    presets: str | Path | None = None,
    geocoder: str = "offline",
    user_agent: str | None = None,
    minutes: Sequence[float] = DEFAULT_MINUTES,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    max_access_m: float = MAX_ACCESS_LEG_M,
    use_cache: bool = True,
    progress: bool = False,
    min_component: int = DEFAULT_MIN_COMPONENT,
    servers=None,
    refresh: bool = False,
) -> tuple[StockCheck, dict]:
    """Load network, docking points and the stock file, and check the stock.

    The area is one of ``network`` (local OSM file), ``place``, ``bbox`` or
    ``polygon``/``area`` (downloaded as in :func:`accessibility.pipeline.load_inputs`,
    from ``servers``, again if ``refresh``; the download holds the features of
    ``presets``).
    Docking points: ``sites`` (addresses geocoded with ``geocoder``) and/or
    OSM presets (``osm_categories``; all presets when ``sites`` is not given).
    ``geocoder`` is ``"offline"`` (the extract's addresses only, never touches
    the network) or ``"nominatim"`` (offline first, then Nominatim, cached).
    ``min_component``: island threshold in nodes (:func:`accessibility.pipeline.load_area`).

    Returns
    -------
    (StockCheck, dict)
        The check and the run record for ``run.json``.
    """
    from ..outputs.files import attributions, data_vintage, file_record
    from ..pipeline import _make_geocoder, load_area, load_sites

    net, extract, record = load_area(
        network=network, place=place, bbox=bbox, polygon=polygon, area=area, minutes=minutes,
        speed_kmh=speed_kmh, use_cache=use_cache, progress=progress,
        min_component=min_component, presets=presets, servers=servers, refresh=refresh,
    )  # fmt: skip
    timings = record.pop("timings_s")
    record.pop("osm_path", None)

    t0 = time.perf_counter()
    geo = _make_geocoder(geocoder, extract, user_agent, servers)
    timings["geocoder_index"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    rejects = Rejects()
    site_gdf, categories = load_sites(
        extract, rejects, record, sites=sites, sites_crs=sites_crs,
        osm_categories=osm_categories, presets=presets, geocoder=geo,
    )  # fmt: skip
    timings["sites"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    record["inputs"]["stock"] = file_record(stock)
    buildings = read_stock(stock, rejects, geocoder=geo, crs=stock_crs)
    timings["stock"] = time.perf_counter() - t0
    check = check_stock(
        net, site_gdf, buildings, minutes=minutes, speed_kmh=speed_kmh, rejects=rejects,
        max_access_m=max_access_m, categories=categories,
    )  # fmt: skip
    check.timings = {**timings, **check.timings}
    record["geocoder"] = geocoder
    record["weight"] = buildings.attrs.get("weight")
    record["attribution"] = attributions(None)
    record["data_vintage"] = data_vintage(extract.stats, {}, record["inputs"].get("download"))
    if geocoder == "nominatim":
        record["attribution"].append("Geocoding: Nominatim, © OpenStreetMap contributors")
        record["nominatim_requests"] = getattr(geo, "requests", 0)
    record["parameters"] = {"max_access_m": max_access_m, "min_component": net.min_component}
    record["network_pruning"] = check.analysis.pruning
    return check, record

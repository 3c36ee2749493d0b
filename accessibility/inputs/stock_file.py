"""Read a housing company's stock file: one building per row or feature.

CSV/XLSX with addresses or coordinates, or a GeoPackage/GeoJSON of footprints; the
buildings are checked by :func:`accessibility.planning.stock.check_stock`.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .._text import close_matches
from ..errors import AllRejectedError, InputError
from ..geo import to_wgs84
from ..rejects import Rejects
from . import sites as sm
from ._tables import VECTOR_SUFFIXES, match_columns, parse_cells, read_table
from .geocode import Geocoder, address_columns, address_table, format_address

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


def read_stock(
    path: str | Path,
    rejects: Rejects,
    geocoder: Geocoder | None = None,
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
        quality, e.g. ``postcode_mismatch``), ``matched_address`` and ``geocode_note``
        (why a match is flagged, e.g. the differing postcodes). ``attrs["weight"]`` names what
        ``units`` holds (``units``, ``residents`` or ``buildings``).

    Raises
    ------
    InputError
        Missing file or ``building_id`` column, unknown type, no way to place
        the buildings (neither coordinates nor addresses).
    AllRejectedError
        Every row was rejected.
    """

    path = Path(path)
    file = str(path)
    if not path.exists():
        raise InputError("file not found; check the path", file)
    if path.is_dir() or path.stat().st_size == 0:
        raise InputError("not a file with data; give a CSV, XLSX, GeoPackage or GeoJSON", file)
    table, rows, xy_given = _read_stock_rows(path, crs)
    cols = _stock_columns(file, list(table.columns))
    try:
        acols = address_columns(table.columns)
    except InputError as exc:
        raise InputError(str(exc), file) from exc
    n = len(table)
    x, y, src_crs, issues, quality = _place_rows(file, table, cols, acols, xy_given, crs)
    given_address = np.full(n, "", dtype=object)
    matched = np.full(n, "", dtype=object)
    note = np.full(n, "", dtype=object)
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
            geo = sm.geocode_rows(table, acols, x, y, src_crs, issues, geocoder)
            hit = (geo["geocode_quality"] != "").to_numpy() & (quality == "")
            quality[hit] = geo["geocode_quality"].to_numpy(object)[hit]
            matched[hit] = geo["matched_address"].to_numpy(object)[hit]
            note[hit] = geo["geocode_note"].to_numpy(object)[hit]

    bid = (
        np.array([sm.text_values([v])[0] for v in table[cols["building_id"]]], dtype=object)
        if n
        else np.zeros(0, object)
    )
    rejects.name_rows(file, rows, bid)  # rejects.csv names each rejected building's id
    empty_id = bid == ""
    issues.add(empty_id, "empty building_id; give every building an id", given_address)
    dup = pd.Series(bid).duplicated(keep="first").to_numpy() & ~empty_id
    issues.add(dup, "duplicate building_id: an earlier row has the same id and is kept", bid)
    units, residents, weight = _weights(table, cols, issues, bid)
    lon, lat = to_wgs84(x, y, src_crs)
    with np.errstate(invalid="ignore"):
        out_of_range = np.isfinite(lon) & ((np.abs(lat) > 90) | (np.abs(lon) > 180))
    issues.add(out_of_range, "coordinates outside the valid lat/lon range; check them", bid)

    bad = issues.bad()
    issues.report(file, rows, rejects)
    if n == 0 or bad.all():
        # no rejects.csv is written without a usable row: the message names the rows
        raise AllRejectedError(
            f"all {n} buildings were rejected. Most common reasons: "
            f"{issues.top_reasons(rows, bid)}. Fix these rows and run again",
            file,
        )
    keep = ~bad
    estate = (
        np.array([sm.text_values([v])[0] for v in table[cols["estate"]]], dtype=object)
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
            "geocode_note": note[keep],
        },
        geometry=gpd.points_from_xy(lon[keep], lat[keep]),
        crs="EPSG:4326",
    )
    gdf.attrs.update(weight=weight, files=[file], source=file)
    return gdf


def _read_stock_rows(path: Path, crs: str | None) -> tuple[pd.DataFrame, np.ndarray, tuple | None]:
    """The stock file's table and 1-based row numbers; for a vector file also its
    ``(x, y, crs, issues)`` (points inside the footprints, in that CRS)."""
    file = str(path)
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        table, rows = _read_xlsx(path) if suffix == ".xlsx" else read_table(path, text=True)
        xy_given = None
    elif suffix in VECTOR_SUFFIXES:
        table, rows, vx, vy, vcrs, vissues = sm.read_vector(path, crs)
        xy_given = (vx, vy, vcrs, vissues)
    else:
        raise InputError(
            f"unknown file type '{path.suffix}'; give the stock as .csv, .xlsx, .gpkg or .geojson",
            file,
        )
    return table, rows, xy_given


def _place_rows(
    file: str,
    table: pd.DataFrame,
    cols: dict,
    acols: dict | None,
    xy_given: tuple | None,
    crs: str | None,
) -> tuple[np.ndarray, np.ndarray, str, sm.Issues, np.ndarray]:
    """Coordinates of every row: ``(x, y, crs, issues, quality)``.

    From the footprints, the ``lat, lon`` (WGS 84 degrees) or ``x, y`` (``crs``)
    columns; NaN (to be geocoded) when only addresses are given. ``quality`` is
    ``footprint``/``coordinates`` where placed, else ``""``.
    """
    n = len(table)
    issues = sm.Issues(n)
    if xy_given is not None:
        x, y, src_crs, issues = xy_given
        quality = np.where(np.isfinite(x), "footprint", "").astype(object)
    elif cols["lat"] and cols["lon"]:
        tc = {"mode": "latlon", "lat": cols["lat"], "lon": cols["lon"]}
        x, y, src_crs, issues = sm.table_coordinates(table, tc, None)
        quality = np.where(np.isfinite(x) & np.isfinite(y), "coordinates", "").astype(object)
    elif cols["x"] and cols["y"]:
        tc = {"mode": "xy", "x": cols["x"], "y": cols["y"]}
        if crs is None:
            raise InputError("columns x,y need their CRS: give --stock-crs (e.g. EPSG:25832)", file)
        x, y, src_crs, issues = sm.table_coordinates(table, tc, crs)
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
    return x, y, src_crs, issues, quality


def _weights(
    table: pd.DataFrame, cols: dict, issues: sm.Issues, bid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, str]:
    """``(units, residents, weight)``: units per building (the ``units`` column, else
    ``residents`` (persons), else 1), residents (NaN if not given) and which of
    ``units``/``residents``/``buildings`` the units are; bad values go to ``issues``."""
    n = len(table)
    units = np.ones(n)
    weight = "buildings"
    residents = np.full(n, np.nan)
    for key in ("residents", "units"):  # units win over residents as weight
        if cols[key] is None:
            continue
        num, empty, bad = parse_cells(table[cols[key]])
        neg = np.isfinite(num) & (num < 0)
        issues.add(bad | neg, f"{key} must be a number ≥ 0; fix the value", table[cols[key]])
        issues.add(empty, f"{key} is empty; give a number (0 if none)", bid)
        if key == "residents":
            residents = num
        units = num
        weight = key
    return units, residents, weight


def _read_xlsx(path: Path) -> tuple[pd.DataFrame, np.ndarray]:

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
    table = pd.DataFrame({c: sm.text_values(df[c].to_numpy(object)) for c in df.columns})
    return table, rows.astype(np.int64)


def _stock_columns(file: str, columns: list[str]) -> dict[str, str | None]:
    found = match_columns(file, columns, STOCK_ALIASES)
    if found["building_id"] is None:
        guess = close_matches("building_id", [c.lower() for c in columns], n=1, cutoff=0.6)
        hint = f" Did you mean column '{guess[0]}'? Rename it." if guess else ""
        raise InputError(
            f"required column 'building_id' missing (found: {', '.join(map(str, columns))}).{hint}",
            file,
        )
    return found


# --------------------------------------------------------------------------- checking

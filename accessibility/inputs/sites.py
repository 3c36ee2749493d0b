"""Sites ("Andockstellen") from the user's files, and combining site frames; sites from OSM are
in :mod:`accessibility.inputs.osm_sites`.

The category presets live in :mod:`accessibility.inputs.presets`; :func:`load_presets`
and :func:`check_categories` are re-exported here.

Every site frame has the columns :data:`SITE_COLUMNS`, one Point per site in
EPSG:4326:

``site_id``
    ``osm:node/123`` for OSM features, the file's ``id`` column or
    ``<file stem>:<row>`` for user files. Unique across all sources
    (:func:`combine_sites` checks).
``name``
    The name as given (kept verbatim, also when it contains HTML: escaping is
    the job of whatever displays it).
``category``
    A category id, e.g. ``library``.
``source``
    ``"osm"`` or the name of the user's file.
``row``
    1-based data row (header not counted) or feature number in the user's
    file; empty for OSM sites. Lets later steps report rejects by row.
``osm_tags``
    All OSM tags as a JSON string (OSM sites), else empty.

User files keep their other columns after these (a column whose name clashes
with one of these is renamed ``input_<name>``).
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._text import closest
from ..errors import AccessibilityWarning, AllRejectedError, InputError
from ..geo import check_crs, inside, to_wgs84
from ..rejects import Rejects
from ._tables import VECTOR_SUFFIXES as VECTOR_SUFFIXES  # re-exported
from ._tables import match_columns, parse_cells, read_table
from .geocode import Geocoder, address_columns, address_table, format_address
from .presets import PRESETS_PATH as PRESETS_PATH  # re-exported (public API)
from .presets import check_categories as check_categories  # re-exported
from .presets import load_presets as load_presets  # re-exported (public API)

#: Columns of every site frame, in this order (user files may add more after them).
SITE_COLUMNS = ["site_id", "name", "category", "source", "row", "osm_tags", "geometry"]

#: Reject reason for a site without coordinates (and without an address to geocode).
NO_COORDINATES = (
    "no coordinates; give lat/lon, or an address (columns street, housenumber, postcode, city "
    "or address) and a geocoder (--geocoder offline)"
)

CSV_SUFFIXES = (".csv", ".tsv", ".txt")

#: Accepted spellings of the user-file columns (compared case-insensitively).
_COLUMN_ALIASES = {
    "id": ("id",),
    "name": ("name",),
    "category": ("category",),
    "lat": ("lat", "latitude"),
    "lon": ("lon", "lng", "long", "longitude"),
    "x": ("x",),
    "y": ("y",),
}


# --------------------------------------------------------------------------- user files


def read_sites(
    path: str | Path,
    rejects: Rejects,
    crs: str | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    geocoder: Geocoder | None = None,
    capacity_column: str | None = None,
    capacity_required: bool = False,
) -> gpd.GeoDataFrame:
    """Read the user's own sites from CSV, GeoJSON or GeoPackage.

    Parameters
    ----------
    path : str or Path
        ``.csv`` (also ``.tsv``/``.txt``; separator ``,``, ``;`` or tab; UTF-8
        or Windows-1252; ``;``-files may use a decimal comma) with the columns
        ``name, category, lat, lon`` (WGS 84 degrees) or ``name, category, x, y``
        (with ``crs``), an optional ``id`` column and any others (kept).
        Or a ``.geojson``/``.json``/``.gpkg`` with ``name`` and ``category``
        attributes and point geometries (polygons give a point inside them).
    rejects : Rejects
        Receives every unusable row with file, row, reason and value.
    crs : str, optional
        CRS of ``x, y`` columns (e.g. ``EPSG:25832``), or of a GeoPackage that
        has none. Ignored for ``lat, lon`` and for files that carry a CRS.
    bounds : tuple, optional
        ``(west, south, east, north)`` in EPSG:4326, the study area. Only used
        to recognise swapped coordinates: a point outside whose swapped point
        lies inside is rejected with a "look swapped" reason. Other points far
        away are kept (the pipeline checks distances to the network).
    geocoder : OfflineGeocoder or NominatimGeocoder, optional
        Rows without coordinates but with an address (columns ``street,
        housenumber, postcode, city`` or one ``address`` column, see
        :data:`accessibility.inputs.geocode.ADDRESS_ALIASES`) are geocoded with it;
        addresses not found are rejected with the geocoder's reason (and the
        closest known streets). Without a geocoder such rows are rejected with
        :data:`NO_COORDINATES`. A file may then lack coordinate columns entirely.
    capacity_column : str, optional
        Column holding each site's capacity for the 2SFCA (hours per week, staff or
        seats; matched case-insensitively). Read into a float column ``capacity``
        (:func:`read_capacity`): an empty cell is NaN (the default capacity is used
        later), a value that is not a number >= 0 rejects the row (file, row, value). A file
        without the column gets NaN for every site, unless ``capacity_required``.
    capacity_required : bool
        A missing ``capacity_column`` is an error (the user named the column).

    Returns
    -------
    GeoDataFrame
        :data:`SITE_COLUMNS` then the file's other columns, EPSG:4326.
        ``site_id`` is the ``id`` column (``<file stem>:<row>`` where it is
        empty or missing); ``source`` is the file name. Files with address
        columns also get ``geocode_quality`` (``coordinates`` for rows given by
        coordinates, else a quality from :data:`accessibility.inputs.geocode.QUALITIES`)
        and ``matched_address``.

    Raises
    ------
    InputError
        File missing, empty, of unknown type, or required columns missing
        (the closest column name is suggested).
    AllRejectedError
        Every row was rejected.
    """
    path = Path(path)
    file = str(path)
    if not path.exists():
        raise InputError("file not found; check the path", file)
    if path.is_dir():
        raise InputError("this is a folder; give a CSV, GeoJSON or GeoPackage file", file)
    if path.stat().st_size == 0:
        raise InputError(
            "the file is empty; it needs a header line name,category,lat,lon and one row per site",
            file,
        )
    if bounds is not None:
        bounds = _check_bounds(bounds)
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        table, rows = read_table(path, text=True)
        acols = _address_columns(file, table.columns)
        cols = _resolve_columns(
            file,
            list(table.columns),
            crs,
            coordinates=True,
            addresses=acols is not None and geocoder is not None,
        )
        if cols["mode"] == "address":
            x, y, src_crs = np.full(len(table), np.nan), np.full(len(table), np.nan), "EPSG:4326"
            issues = Issues(len(table))
            issues.add(np.ones(len(table), dtype=bool), NO_COORDINATES)
        else:
            x, y, src_crs, issues = table_coordinates(table, cols, crs)
    elif suffix in VECTOR_SUFFIXES:
        table, rows, x, y, src_crs, issues = read_vector(path, crs)
        acols = _address_columns(file, table.columns)
        cols = _resolve_columns(file, list(table.columns), crs, coordinates=False)
    else:
        raise InputError(
            f"unknown file type '{path.suffix}'; give sites as .csv, .geojson or .gpkg", file
        )
    if acols is not None:
        table = geocode_rows(table, acols, x, y, src_crs, issues, geocoder)
    if capacity_column is not None:
        table = read_capacity(file, table, capacity_column, issues, capacity_required)
    return _finish_sites(path, table, rows, cols, x, y, src_crs, issues, bounds, rejects)


#: What a capacity is, for messages and the README.
CAPACITY_UNIT = "hours per week, staff or seats: one unit for all sites"

#: Largest capacity accepted per site. Larger values are typing errors, and ``1e308``
#: would overflow the 2SFCA's sums to infinity (``summary_2sfca.csv``, ``run.json``).
MAX_CAPACITY = 1e9


def read_capacity(
    file: str, table: pd.DataFrame, column: str, issues: Issues, required: bool = False
) -> pd.DataFrame:
    """Parse the capacity column of a sites table into a float column ``capacity``.

    Parameters
    ----------
    file : str
        The sites file, named in errors.
    table : DataFrame
        The file's rows (text cells).
    column : str
        The capacity column (matched case-insensitively, surrounding spaces ignored).
    issues : Issues
        Receives the rows whose capacity is not a number from 0 to :data:`MAX_CAPACITY`
        (negative, text, NaN, infinite, huge), with the value, so they go to ``rejects.csv``.
    required : bool
        Raise when the column is missing (the user named it with ``--capacity-column``).

    Returns
    -------
    DataFrame
        ``table`` with ``capacity`` (float; NaN for an empty cell or a missing column,
        which later counts as the default capacity). The file's own column is consumed;
        another column that is literally called ``capacity`` becomes ``input_capacity``.

    Raises
    ------
    InputError
        ``required`` and the column is missing (the closest column name is suggested).
    """
    want = column.strip().lower()
    hits = [c for c in table.columns if str(c).strip().lower() == want]
    table = table.copy()
    if not hits:
        if required:
            guess = closest(column, [str(c) for c in table.columns], normalise=True, cutoff=0.6)
            hint = f" (did you mean {guess!r}?)" if guess else ""
            raise InputError(
                f"no capacity column {column!r}{hint}; the columns are "
                f"{', '.join(repr(c) for c in table.columns)}. Name the column holding each "
                f"site's capacity ({CAPACITY_UNIT}) with --capacity-column",
                file,
            )
        table["capacity"] = np.nan
        return table
    col = hits[0]
    values, empty, bad = parse_cells(table[col])
    with np.errstate(invalid="ignore"):
        huge = ~empty & ~bad & (values > MAX_CAPACITY)
        bad |= ~empty & (values < 0)
    shown = [f"{col}={v}" for v in table[col].astype(object).where(table[col].notna(), "")]
    issues.add(
        bad,
        f"capacity must be a number >= 0 ({CAPACITY_UNIT}); fix the value or leave the cell "
        "empty for the default",
        shown,
    )
    issues.add(
        huge,
        f"capacity above {MAX_CAPACITY:,.0f} is not plausible ({CAPACITY_UNIT}); fix the "
        "value (a typing error?) or use a smaller unit",
        shown,
    )
    bad |= huge
    table = table.drop(columns=[col])
    if "capacity" in table.columns:
        table = table.rename(columns={"capacity": "input_capacity"})
    table["capacity"] = np.where(bad | empty, np.nan, values)
    return table


def _address_columns(file: str, columns) -> dict[str, str] | None:

    try:
        return address_columns(columns)
    except InputError as exc:
        raise InputError(str(exc), file) from exc


def geocode_rows(
    table: pd.DataFrame,
    acols: dict[str, str],
    x: np.ndarray,
    y: np.ndarray,
    src_crs: str,
    issues: Issues,
    geocoder,
) -> pd.DataFrame:
    """Geocode the rows that have an address but no coordinates (fills ``x, y`` in place).

    Rows found lose their :data:`NO_COORDINATES` issue; rows not found get the
    geocoder's reason instead. Adds ``geocode_quality``, ``matched_address`` and
    ``geocode_note`` (e.g. a postcode that differs from OSM's).

    Parameters
    ----------
    table : DataFrame
        The sites table as read.
    acols : dict of str to str
        Address columns (:func:`accessibility.inputs.geocode.address_columns`).
    x, y : ndarray of float
        Coordinates per row in ``src_crs`` (NaN where missing); updated in place.
    src_crs : str
        CRS of ``x``/``y``; geocoded lon/lat (EPSG:4326) are transformed into it.
    issues : Issues
        The rows' problems; updated in place.
    geocoder : Geocoder or None
        Address lookup; without it nothing is geocoded.

    Returns
    -------
    DataFrame
        A copy of ``table`` with ``geocode_quality`` (``coordinates`` for rows that had
        them), ``matched_address`` and ``geocode_note``.
    """

    n = len(table)
    table = table.copy()
    quality = np.where(np.isfinite(x) & np.isfinite(y), "coordinates", "").astype(object)
    matched = np.full(n, "", dtype=object)
    note = np.full(n, "", dtype=object)
    empty = next((m for m, r, _ in issues.items if r == NO_COORDINATES), None)
    if empty is None or geocoder is None:
        table["geocode_quality"], table["matched_address"] = quality, matched
        table["geocode_note"] = note
        return table
    addr = address_table(table, acols)
    need = empty & (addr["street"] != "").to_numpy()
    if need.any():
        res = geocoder.geocode(addr[need].reset_index(drop=True))
        found = (res["reason"] == "").to_numpy()
        idx = np.flatnonzero(need)
        hit = idx[found]
        lon, lat = res["lon"].to_numpy(float)[found], res["lat"].to_numpy(float)[found]
        if src_crs != "EPSG:4326" and len(hit):
            from pyproj import Transformer

            t = Transformer.from_crs("EPSG:4326", src_crs, always_xy=True)
            lon, lat = t.transform(lon, lat)
        x[hit], y[hit] = lon, lat
        quality[hit] = res["quality"].to_numpy(object)[found]
        matched[hit] = res["matched_address"].to_numpy(object)[found]
        note[hit] = res["note"].fillna("").to_numpy(object)[found]
        empty[idx] = False  # the rows' NO_COORDINATES issue is replaced by the geocoding result
        given = np.full(n, "", dtype=object)
        given[idx] = [format_address(*r) for r in addr[need].itertuples(index=False, name=None)]
        miss = idx[~found]
        reasons = res["reason"].to_numpy(object)[~found]
        for reason in dict.fromkeys(reasons):
            mask = np.zeros(n, dtype=bool)
            mask[miss[reasons == reason]] = True
            issues.add(mask, f"address not found: {reason}", given)
    table["geocode_quality"], table["matched_address"] = quality, matched
    table["geocode_note"] = note
    return table


def _check_bounds(bounds: Iterable[float]) -> tuple[float, float, float, float]:
    try:
        w, s, e, n = (float(v) for v in bounds)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"bounds must be (west, south, east, north) numbers, got {bounds!r}"
        ) from exc
    if not (w <= e and s <= n):  # a single straight street has a flat box
        raise InputError(
            f"bounds must be (west, south, east, north) with west<=east, south<=north, got {bounds!r}"
        )
    return w, s, e, n


class Issues:
    """Per-row problems found while reading; several per row are joined."""

    def __init__(self, n: int):
        self.n = n
        self.items: list[tuple[np.ndarray, str, np.ndarray]] = []

    def add(self, mask: np.ndarray, reason: str, values: Iterable[object] | object = "") -> None:
        """Record that the rows in ``mask`` have a problem.

        Parameters
        ----------
        mask : ndarray of bool
            One value per row.
        reason : str
            The reject reason (what is wrong and what to do).
        values : iterable or scalar
            The offending value per row (or one for all), for ``rejects.csv``.
        """
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        if isinstance(values, str) or not isinstance(values, Iterable):
            vals = np.full(self.n, values, dtype=object)
        else:
            vals = np.asarray(list(values), dtype=object)
        self.items.append((mask, reason, vals))

    def bad(self) -> np.ndarray:
        """Rows with at least one problem (ndarray of bool, one value per row).

        Returns
        -------
        ndarray of bool (n,)
            True for each row with a recorded problem.
        """
        out = np.zeros(self.n, dtype=bool)
        for mask, _, _ in self.items:
            out |= mask
        return out

    def top_reasons(self, rows: np.ndarray, ids: np.ndarray | None = None, k: int = 3) -> str:
        """The ``k`` most common reasons, each with its count and first rows, for an error
        raised before any ``rejects.csv`` is written (every row rejected).

        Parameters
        ----------
        rows : ndarray of int
            Row (or feature) number in the file per table row.
        ids : ndarray, optional
            An id per table row shown after its row number (a stock's ``building_id``).
        k : int
            How many reasons.

        Returns
        -------
        str
            E.g. ``"street 'X' not found (2x: rows 1 (A), 4 (D))"``, reasons joined by ``;``.
        """
        counts: dict[str, list[int]] = {}
        for mask, reason, _ in self.items:
            counts.setdefault(reason, []).extend(np.flatnonzero(mask).tolist())
        # (a mask may have been emptied later: geocoded rows lose "no coordinates")
        top = sorted(((r, i) for r, i in counts.items() if i), key=lambda kv: -len(kv[1]))[:k]

        def where(i: int) -> str:
            name = "" if ids is None or not str(ids[i]) else f" ({ids[i]})"
            return f"{rows[i]}{name}"

        return "; ".join(
            f"{reason} ({len(idx)}x: row{'s' if len(idx) > 1 else ''} "
            f"{', '.join(where(i) for i in sorted(idx)[:5])}{', …' if len(idx) > 5 else ''})"
            for reason, idx in top
        )

    def report(self, file: str, rows: np.ndarray, rejects: Rejects) -> None:
        """Add one reject per bad row, in row order.

        Parameters
        ----------
        file : str
            The input file named in each reject.
        rows : ndarray of int
            Row (or feature) number in the file per table row.
        rejects : Rejects
            Receives one record per bad row: its reasons and offending values joined.
        """
        reasons: dict[int, list[str]] = {}
        values: dict[int, list[str]] = {}
        for mask, reason, vals in self.items:
            for i in np.flatnonzero(mask).tolist():
                reasons.setdefault(i, []).append(reason)
                v = "" if vals[i] is None else str(vals[i])
                seen = values.setdefault(i, [])
                if v and v not in seen:
                    seen.append(v)
        for i in sorted(reasons):
            rejects.add(file, int(rows[i]), "; ".join(reasons[i]), " | ".join(values[i]))


def _resolve_columns(
    file: str, columns: list[str], crs: str | None, coordinates: bool, addresses: bool = False
) -> dict[str, str | None]:
    """Map the canonical column names to the file's columns; raise if required ones are missing."""
    found = match_columns(file, columns, _COLUMN_ALIASES)
    missing = [c for c in ("name", "category") if found[c] is None]
    if coordinates:
        has_ll = found["lat"] is not None and found["lon"] is not None
        has_xy = found["x"] is not None and found["y"] is not None
        if has_ll:
            found["x"] = found["y"] = None
            found["mode"] = "latlon"
        elif has_xy:
            found["mode"] = "xy"
            if crs is None and not missing:
                raise InputError(
                    "columns x,y need their coordinate reference system: give crs "
                    "(--sites-crs, or --stock-crs for a stock file; e.g. EPSG:25832 for UTM zone 32N), or use lat,lon columns "
                    "in WGS 84 degrees",
                    file,
                )
        elif addresses and all(found[c] is None for c in ("lat", "lon", "x", "y")):
            found["mode"] = "address"  # every row is geocoded
        else:
            if found["x"] is not None or found["y"] is not None:
                missing += [c for c in ("x", "y") if found[c] is None]
            else:
                missing += [c for c in ("lat", "lon") if found[c] is None]
    else:
        found["lat"] = found["lon"] = found["x"] = found["y"] = None
        found["mode"] = "geometry"
    if not missing:
        return found
    used = {v for k, v in found.items() if k != "mode" and v is not None}
    spare = [c for c in columns if c not in used]
    hints = []
    for canon in missing:
        guess = None
        best = 0.0
        for alias in _COLUMN_ALIASES[canon]:
            for col in spare:
                score = difflib.SequenceMatcher(None, alias, col.strip().lower()).ratio()
                if score > best:
                    best, guess = score, col
        if guess is not None and best >= 0.6:
            hints.append(f"Did you mean '{canon}' for column '{guess}'? Rename it")
            spare.remove(guess)
    need = (
        "The file needs the columns name, category and lat, lon (WGS 84 degrees) or x, y "
        "(with --sites-crs), or an address (street, housenumber, postcode, city, or address) "
        "with a geocoder (--geocoder offline); id and other columns are optional."
        if coordinates
        else "The file needs 'name' and 'category' attributes; id and others are optional."
    )
    word = "column" if len(missing) == 1 else "columns"
    raise InputError(
        f"required {word} {', '.join(repr(m) for m in missing)} missing "
        f"(found: {', '.join(repr(c) for c in columns) or 'none'}). "
        + (" ".join(h + "." for h in hints) + " " if hints else "")
        + need,
        file,
    )


def text_values(values: Iterable[object]) -> np.ndarray:
    """Cells as stripped text ('' for missing); integral floats without '.0'.

    Parameters
    ----------
    values : iterable
        Cell values.

    Returns
    -------
    ndarray of object
        One string per value.
    """
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA:
            out.append("")
        elif isinstance(v, float | np.floating) and float(v).is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v).strip())
    arr = np.empty(len(out), dtype=object)
    arr[:] = out
    return arr


def table_coordinates(
    table: pd.DataFrame, cols: dict, crs: str | None
) -> tuple[np.ndarray, np.ndarray, str, Issues]:
    """Coordinates of a CSV table in the source CRS, and the rows' coordinate problems.

    Parameters
    ----------
    table : DataFrame
        The CSV table (text cells).
    cols : dict
        Found columns: ``mode`` (``latlon`` or ``xy``) and the ``lat``/``lon`` or
        ``x``/``y`` column names.
    crs : str or None
        CRS of x/y columns (``--sites-crs``); ignored for lat/lon (EPSG:4326).

    Returns
    -------
    x, y : ndarray of float
        Coordinates per row (NaN where empty or not a number).
    src_crs : str
        Their CRS.
    issues : Issues
        Empty, half-given or non-numeric coordinates per row.
    """
    issues = Issues(len(table))
    latlon = cols["mode"] == "latlon"
    if latlon:
        cx, cy, src_crs = cols["lon"], cols["lat"], "EPSG:4326"
        nx, ny, pair = "lon", "lat", "lat and lon"
    else:
        cx, cy, src_crs = cols["x"], cols["y"], check_crs(crs)
        nx, ny, pair = "x", "y", "x and y"
    x, x_empty, x_bad = parse_cells(table[cx])
    y, y_empty, y_bad = parse_cells(table[cy])
    issues.add(x_empty & y_empty, NO_COORDINATES)
    issues.add(y_empty & ~x_empty, f"{ny} is empty; give both {pair}", table[cx])
    issues.add(x_empty & ~y_empty, f"{nx} is empty; give both {pair}", table[cy])
    hint = " (use a decimal point or comma, e.g. 49.4432)" if latlon else ""
    issues.add(y_bad, f"{ny} is not a number{hint}; fix the value", table[cy])
    issues.add(x_bad, f"{nx} is not a number{hint}; fix the value", table[cx])
    return x, y, src_crs, issues


def read_vector(
    path: Path, crs: str | None
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, str, Issues]:
    """Attributes, feature numbers and a point per feature of a GeoJSON or GeoPackage.

    Parameters
    ----------
    path : Path
        A one-layer GeoJSON or GeoPackage.
    crs : str or None
        CRS to assume when the file has none (GeoJSON without one is EPSG:4326).

    Returns
    -------
    attrs : DataFrame
        Attribute columns as text.
    rows : ndarray of int
        Feature numbers, 1-based.
    x, y : ndarray of float
        A point per feature in ``src_crs`` (polygons: a point on the surface; NaN
        for missing or unusable geometries).
    src_crs : str
        The file's CRS.
    issues : Issues
        Missing, multi-point and non-point/polygon geometries.

    Raises
    ------
    InputError
        Unreadable file, no or several layers, no features, or no CRS.
    """
    import pyogrio

    file = str(path)
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises several DataSourceError kinds
        raise InputError(
            f"cannot read the file ({exc}); is it valid GeoJSON or GeoPackage?", file
        ) from exc
    if len(layers) == 0:
        raise InputError("the file holds no layers; add a point layer of sites", file)
    if len(layers) > 1:
        names = ", ".join(str(layer[0]) for layer in layers)
        raise InputError(
            f"the file holds {len(layers)} layers ({names}); save the sites layer alone", file
        )
    try:
        gdf = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:
        raise InputError(
            f"cannot read the file ({exc}); is it valid GeoJSON or GeoPackage?", file
        ) from exc
    if len(gdf) == 0:
        raise InputError("the file holds no features; add one point per site", file)
    if gdf.crs is not None:
        src_crs = gdf.crs.to_string()
    elif path.suffix.lower() in (".geojson", ".json"):
        src_crs = "EPSG:4326"  # RFC 7946: GeoJSON is always WGS 84 lon/lat
    elif crs is not None:
        src_crs = check_crs(crs)
    else:
        raise InputError(
            "the file has no coordinate reference system; give crs (--sites-crs, e.g. EPSG:25832)",
            file,
        )
    n = len(gdf)
    issues = Issues(n)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    kind = np.where(missing, -1, shapely.get_type_id(geoms))
    parts = np.where(missing, 0, shapely.get_num_geometries(geoms))
    point = (kind == 0) | ((kind == 4) & (parts == 1))
    area = (kind == 3) | (kind == 6)
    issues.add(missing, NO_COORDINATES)
    issues.add((kind == 4) & (parts > 1), "several points in one feature; give one point per site")
    issues.add(
        ~missing & ~point & ~area & (kind != 4),
        "not a point or polygon; give one point per site",
        [g.geom_type if g is not None else "" for g in geoms],
    )
    pts = np.full(n, None, dtype=object)
    pts[point | area] = shapely.point_on_surface(geoms[point | area])
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    use = point | area
    x[use] = shapely.get_x(pts[use])
    y[use] = shapely.get_y(pts[use])
    attrs = pd.DataFrame(
        {c: text_values(gdf[c].to_numpy(object)) for c in gdf.columns if c != gdf.geometry.name},
        index=range(n),
        dtype=object,
    )
    return attrs, np.arange(1, n + 1, dtype=np.int64), x, y, src_crs, issues


def _finish_sites(
    path: Path,
    table: pd.DataFrame,
    rows: np.ndarray,
    cols: dict,
    x: np.ndarray,
    y: np.ndarray,
    src_crs: str,
    issues: Issues,
    bounds: tuple | None,
    rejects: Rejects,
) -> gpd.GeoDataFrame:
    """Check coordinates, names, categories and ids; reject bad rows; build the site frame.

    ``x``, ``y`` are in ``src_crs``; the frame is EPSG:4326 (see :func:`read_sites`).
    """
    file = str(path)
    n = len(table)
    lon, lat = _coordinate_issues(table, cols, x, y, src_crs, issues, bounds)
    site_id, name, category = _row_issues(path, table, rows, cols, issues)

    bad = issues.bad()
    issues.report(file, rows, rejects)
    if bad.all():
        raise AllRejectedError(
            f"all {n} rows were rejected, so there are no sites to use. Most common reasons: "
            f"{issues.top_reasons(rows)}. Fix these rows and run again",
            file,
        )
    keep = ~bad
    used = {v for k, v in cols.items() if k != "mode" and v is not None}
    out = pd.DataFrame(
        {
            "site_id": site_id[keep],
            "name": [str(v).strip() for v in name[keep]],
            "category": [str(v).strip() for v in category[keep]],
            "source": path.name,
            "row": pd.array(rows[keep], dtype="Int64"),
            "osm_tags": pd.Series([None] * int(keep.sum()), dtype=object),
        }
    )
    for col in table.columns:
        if col in used:
            continue
        target = f"input_{col}" if col in SITE_COLUMNS else col
        vals = table[col].to_numpy()
        out[target] = vals[keep] if vals.dtype.kind == "f" else vals.astype(object)[keep]
    return gpd.GeoDataFrame(
        out, geometry=gpd.points_from_xy(lon[keep], lat[keep]), crs="EPSG:4326"
    )[[*SITE_COLUMNS, *[c for c in out.columns if c not in SITE_COLUMNS]]]


def _coordinate_issues(
    table: pd.DataFrame,
    cols: dict,
    x: np.ndarray,
    y: np.ndarray,
    src_crs: str,
    issues: Issues,
    bounds: tuple | None,
) -> tuple[np.ndarray, np.ndarray]:
    """WGS 84 lon, lat (degrees) of ``x``, ``y`` (in ``src_crs``); adds the rows with
    swapped, unconvertible or out-of-range coordinates to ``issues``."""
    n = len(table)
    mode = cols["mode"]
    if mode == "latlon":
        where = [
            f"lat={a}, lon={b}" for a, b in zip(table[cols["lat"]], table[cols["lon"]], strict=True)
        ]
    elif mode == "xy":
        where = [f"x={a}, y={b}" for a, b in zip(table[cols["x"]], table[cols["y"]], strict=True)]
    else:
        where = [
            f"x={a:.7g}, y={b:.7g}" if np.isfinite(a) else "" for a, b in zip(x, y, strict=True)
        ]
    given = np.isfinite(x) & np.isfinite(y)
    lon, lat = to_wgs84(x, y, src_crs)
    with np.errstate(invalid="ignore"):
        lat_out = given & np.isfinite(lat) & (np.abs(lat) > 90)
        lon_out = given & np.isfinite(lon) & (np.abs(lon) > 180)
    failed = given & ~np.isfinite(lon)

    swapped = np.zeros(n, dtype=bool)
    if bounds is not None:
        candidates = given & ~inside(lon, lat, bounds)
        if candidates.any():
            slon, slat = to_wgs84(y, x, src_crs)
            swapped = candidates & inside(slon, slat, bounds)
    label = "lat and lon" if mode == "latlon" else "x and y"
    issues.add(
        swapped,
        f"coordinates look swapped: the point lies outside the study area but would lie "
        f"inside with {label} exchanged; swap the two values",
        where,
    )
    failed &= ~swapped
    lat_out &= ~swapped
    lon_out &= ~swapped
    issues.add(
        failed,
        f"coordinates cannot be converted from {src_crs}; check the values and the CRS",
        where,
    )
    if mode == "latlon":
        with np.errstate(invalid="ignore"):
            projected = (np.abs(lat) > 1000) | (np.abs(lon) > 1000)
            looks_swapped = (np.abs(lat) > 90) & (np.abs(lat) <= 180) & (np.abs(lon) <= 90)
        out = lat_out | lon_out
        issues.add(
            out & projected,
            "lat/lon outside [-90, 90]/[-180, 180]: these look like projected coordinates "
            "in metres; name the columns x,y and give their CRS (--sites-crs, e.g. EPSG:25832)",
            where,
        )
        issues.add(
            lat_out & ~projected & ~looks_swapped,
            "lat outside [-90, 90]; give WGS 84 degrees",
            where,
        )
        issues.add(
            lat_out & ~projected & looks_swapped,
            "lat outside [-90, 90]; give WGS 84 degrees (are lat and lon swapped?)",
            where,
        )
        issues.add(
            lon_out & ~projected,
            "lon outside [-180, 180]; give WGS 84 degrees",
            where,
        )
    else:
        issues.add(
            lat_out | lon_out,
            f"coordinates outside the valid range after conversion from {src_crs}; "
            "is that the right CRS?",
            where,
        )

    return lon, lat


def _row_issues(
    path: Path, table: pd.DataFrame, rows: np.ndarray, cols: dict, issues: Issues
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(site_id, name, category)`` of every row; adds empty names and categories,
    duplicate ids and rows longer than the header to ``issues``."""
    n = len(table)
    stem = path.stem
    if cols["id"] is not None:
        given_id = np.array([str(v).strip() for v in table[cols["id"]]], dtype=object)
    else:
        given_id = np.full(n, "", dtype=object)
    site_id = np.where(given_id != "", given_id, [f"{stem}:{r}" for r in rows]).astype(object)
    name = table[cols["name"]].to_numpy(object)
    category = table[cols["category"]].to_numpy(object)
    name_empty = np.array([not str(v).strip() for v in name], dtype=bool)
    cat_empty = np.array([not str(v).strip() for v in category], dtype=bool)
    issues.add(
        name_empty,
        "empty name; give every site a name",
        [f"id={i}, category={c}" for i, c in zip(site_id, category, strict=True)],
    )
    issues.add(
        cat_empty,
        "empty category; give every site a category (e.g. advice_centre, library, "
        "community_centre, shopfront_office)",
        name,
    )
    ids = pd.Series(site_id)
    dup = ids.duplicated(keep="first").to_numpy()
    if dup.any():
        first = pd.Series(rows).groupby(ids.to_numpy()).transform("first").to_numpy()
        issues.add(
            dup,
            "duplicate id: an earlier row has the same id and is kept; give every site its own id",
            [f"{i} (first in row {f})" for i, f in zip(site_id, first, strict=True)],
        )
    long_rows = table.attrs.get("long_rows", [])
    if long_rows:
        delim = {"\t": "tab", ";": "';'", ",": "','"}[table.attrs.get("delimiter", ",")]
        issues.add(
            np.isin(rows, [r for r, _ in long_rows]),
            f"more fields than the header; put values containing {delim} in double quotes",
        )
    return site_id, name, category


# --------------------------------------------------------------------------- combining


def combine_sites(*frames: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Put site frames from several sources together.

    Parameters
    ----------
    *frames : GeoDataFrame
        Site frames from :func:`sites_from_osm` and :func:`read_sites` (any
        CRS; a single list of frames is accepted too).

    Returns
    -------
    GeoDataFrame
        :data:`SITE_COLUMNS` then any extra columns, EPSG:4326, index 0..n-1.

    Raises
    ------
    InputError
        A ``site_id`` occurs more than once; the message lists each with its
        sources and rows.

    See Also
    --------
    accessibility.inputs.site_duplicates.drop_duplicates : merge sites that describe the same
        place (same category, within 50 m, same or no name); the pipeline calls it
        after combining.
    """
    if len(frames) == 1 and isinstance(frames[0], list | tuple):
        frames = tuple(frames[0])
    parts = []
    for f in frames:
        missing = [c for c in SITE_COLUMNS if c not in f.columns]
        if missing:
            raise InputError(f"a site frame lacks the columns {', '.join(missing)}")
        f = f.to_crs("EPSG:4326") if f.crs is not None else f.set_crs("EPSG:4326")
        parts.append(f)
    if not parts:
        return gpd.GeoDataFrame(
            {c: pd.Series(dtype="Int64" if c == "row" else object) for c in SITE_COLUMNS[:-1]},
            geometry=gpd.GeoSeries([], crs="EPSG:4326").values,
            crs="EPSG:4326",
        )
    out = pd.concat(parts, ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")
    out["row"] = out["row"].astype("Int64")
    ids = out["site_id"].astype(str)
    dup = ids.duplicated(keep=False)
    if dup.any():
        lines = []
        for sid, grp in out[dup.to_numpy()].groupby(ids[dup], sort=False):
            where = [
                f"{s}" + ("" if pd.isna(r) else f" row {int(r)}")
                for s, r in zip(grp["source"], grp["row"], strict=True)
            ]
            lines.append(f"'{sid}' ({', '.join(where)})")
        more = f" and {len(lines) - 10} more" if len(lines) > 10 else ""
        raise InputError(
            f"site ids must be unique across all site sources, but {len(lines)} "
            f"{'is' if len(lines) == 1 else 'are'} used more than once: "
            f"{'; '.join(lines[:10])}{more}. Give those sites different ids (the id column)"
        )
    extra = [c for c in out.columns if c not in SITE_COLUMNS]
    return out[[*SITE_COLUMNS, *extra]]


def new_categories(sites: pd.DataFrame, known: Iterable[str], file: str | Path) -> list[dict]:
    """Categories of the user's sites file that are not presets; near-misses are warned about.

    A category that differs from a preset id only in spelling (``Library``,
    ``advice centre``, ``libary``) gets a warning with the preset it probably means; it is
    still used as given (a new category). Every new category is listed in ``run.json``
    (``new_categories``) and noted in the printed summary.

    Parameters
    ----------
    sites : DataFrame
        Sites with a ``category`` column.
    known : iterable of str
        Preset category ids.
    file : str or Path
        The sites file, named in warnings.

    Returns
    -------
    list of dict
        ``category``, ``sites`` (count) and ``did_you_mean`` (preset id or None).
    """
    presets = list(known)
    out = []
    counts = sites["category"].astype(str).value_counts(sort=False)
    for cat, n in counts.items():
        if cat in presets:
            continue
        guess = closest(cat, presets, normalise=True, cutoff=0.8)
        out.append({"category": cat, "sites": int(n), "did_you_mean": guess})
        if guess:
            warnings.warn(
                f"{Path(file).name}: category {cat!r} ({n} sites) is not a preset category; did "
                f"you mean {guess!r}? It is used as a new category of its own: correct the "
                "spelling to count these sites with the preset",
                AccessibilityWarning,
                stacklevel=2,
            )
    return out

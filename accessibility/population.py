"""Resident points: Zensus 100 m grids, point/polygon files, and OSM building estimates.

Every reader returns a GeoDataFrame of **resident points** with the columns

``pid``
    Unique text id: the Zensus cell id, ``<file stem>:<row>`` for point files,
    ``<osm_type>/<osm_id>`` for buildings, ``<cell id>/<osm_type>/<osm_id>`` for
    Zensus cells spread to buildings.
``population``
    Residents at the point (float, persons).
one float column per population group
    Further counts of persons (age classes, country of birth, ...), listed in
    ``gdf.attrs["groups"]``.
``geometry``
    Point.

``gdf.attrs`` describes the run: ``kind`` (``"zensus_grid"``, ``"points"``,
``"buildings_estimate"`` or ``"zensus_grid_spread_to_buildings"``), ``groups``,
``method`` (one sentence for the run record), ``cell_size_m`` (100, Zensus only)
and ``files`` (the paths read).

Rows that cannot be used are recorded in a :class:`~accessibility.rejects.Rejects`
collector with file, 1-based data row (header not counted), reason and value.
Nothing is dropped silently.

CRS: Zensus grids are EPSG:3035 (ETRS89-LAEA, metres); point files keep their own
CRS; building estimates are EPSG:4326.
"""

from __future__ import annotations

import copy
import csv
import difflib
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import InputError
from .rejects import Rejects

# --------------------------------------------------------------------------- #
# Constants
# --------------------------------------------------------------------------- #

#: CRS of the Zensus grid (ETRS89 / LAEA Europe, metres).
ZENSUS_CRS = "EPSG:3035"

#: Edge length of a Zensus grid cell in metres.
ZENSUS_CELL_SIZE_M = 100.0

#: Column names of the Zensus 100 m grid CSVs (matched case-insensitively).
ZENSUS_ID_COLUMN = "Gitter_ID_100m"
ZENSUS_X_COLUMN = "x_mp_100m"
ZENSUS_Y_COLUMN = "y_mp_100m"
ZENSUS_POPULATION_COLUMN = "Einwohner"

#: Cell values the statistical offices print instead of a number: secret
#: ("geheim") or not available. 2022 tables use the en dash, older tables and
#: spreadsheets "-", ".", "/", "x" or an empty field. "\x96" is the cp1252 en dash
#: read as latin-1.
SUPPRESSED_MARKERS = frozenset({"", "–", "—", "-", ".", "/", "x", "X", "...", "\x96"})

#: Output columns that group columns must not shadow.
_RESERVED = {"pid", "row", "population", "geometry", "cell_id"}

#: OSM ``building=*`` values counted as residential (https://wiki.openstreetmap.org/wiki/Key:building).
RESIDENTIAL_BUILDINGS = frozenset(
    {
        "residential",
        "apartments",
        "house",
        "detached",
        "semidetached_house",
        "terrace",
        "dormitory",
        "bungalow",
        "farm",
        "static_caravan",
    }
)

#: ``building=yes`` counts as residential unless one of these keys is present,
#: which marks a shop, office, public or industrial building.
NON_RESIDENTIAL_KEYS = frozenset({"amenity", "shop", "office", "craft", "industrial", "tourism"})

#: ``building=yes`` inside these OSM areas is not counted as residential: works,
#: shops, offices, depots, barracks, rail land, garage courts (``landuse=*``) and the
#: grounds of universities, colleges, schools, hospitals and car parks (``amenity=*``).
#: Buildings tagged as homes (:data:`RESIDENTIAL_BUILDINGS`) count wherever they are.
NON_RESIDENTIAL_AREAS = {
    "landuse": frozenset({"industrial", "commercial", "retail", "military", "railway", "garages"}),
    "amenity": frozenset({"university", "college", "school", "hospital", "parking"}),
}

#: Storeys assumed when ``building:levels`` is missing or not a positive number
#: (a planning rule of thumb, not a measured value; tag ``building:levels`` to
#: override). Detached, semi-detached and terraced houses and farmhouses: two
#: (ground floor plus upper or roof storey, the common German Einfamilienhaus);
#: bungalows and static caravans: one, by definition; ``apartments``,
#: ``residential`` and ``dormitory``: three, a small Mehrfamilienhaus; untagged
#: ``yes``: two, because most residential buildings are one- and two-family houses
#: (about 83 % in Germany, Zensus 2011 building census).
DEFAULT_LEVELS_HOUSE = 2.0
DEFAULT_LEVELS_SINGLE_STOREY = 1.0
DEFAULT_LEVELS_OTHER = 3.0
DEFAULT_LEVELS_UNTAGGED = 2.0
_HOUSE_TYPES = frozenset({"house", "detached", "semidetached_house", "terrace", "farm"})
_SINGLE_STOREY_TYPES = frozenset({"bungalow", "static_caravan"})

#: Net living area (Wohnfläche) per gross floor area (footprint × storeys).
#: Outer and inner walls, stairs, shafts and common areas take roughly a fifth
#: of the gross floor area (Brutto-Grundfläche, DIN 277) of German residential
#: buildings; 0.75–0.85 is the usual planning range, 0.8 its middle.
NET_TO_GROSS_FLOOR_AREA = 0.8

#: Living space per resident in m². Destatis, Fortschreibung des Wohngebäude- und
#: Wohnungsbestandes (GENESIS table 31231; press release of July 2023): 47.4 m²
#: per inhabitant at the end of 2022, 46.2 m² at the end of 2012. These divide
#: *all* dwellings, vacant ones included, by the population, so the space of
#: occupied dwellings per resident is somewhat lower; 45 m² is also the order of
#: the Nordic averages (about 45–47 m²).
LIVING_AREA_PER_RESIDENT_M2 = 45.0

#: Column names that identify a feature and are never population groups.
_ID_LIKE = re.compile(
    r"^(id|fid|gid|ogc_fid|objectid|osm_id|pid|plz|postcode|zip|ags|ars|row|index)$|_id$|^id_",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------- #
# Zensus grid
# --------------------------------------------------------------------------- #


def read_zensus(paths: list[str | Path], rejects: Rejects) -> gpd.GeoDataFrame:
    """Read one or more Zensus 100 m grid CSVs into resident points at the cell midpoints.

    Accepts the Zensus 2011 layout ``Gitter_ID_100m;x_mp_100m;y_mp_100m;Einwohner[;...]``
    and the 2022 layout ``GITTER_ID_100m;x_mp_100m;y_mp_100m;Einwohner``. Column names
    are matched case-insensitively; the separator (``;`` or ``,``) is sniffed;
    UTF-8 with or without BOM is read, else cp1252/latin-1; decimal commas are
    understood. Secret or missing values (``–``, ``-``, ``.``, ``/``, ``x``, empty)
    are recognised.

    Several files are joined on the cell id, as Zensus publishes each attribute as
    its own table. The first file with an ``Einwohner`` column gives the
    population; every other numeric column of every file becomes a population
    group. A group column is prefixed with its file stem (``<stem>_<column>``) only
    when two files share the column name. Cells absent from an attribute file get 0
    in that file's groups (Zensus lists only populated cells).

    Parameters
    ----------
    paths : list of str or Path
        CSV files; at least one must have an ``Einwohner`` column and every file a
        ``Gitter_ID_100m`` column. The population file also needs ``x_mp_100m`` and
        ``y_mp_100m`` (cell midpoints, EPSG:3035, metres).
    rejects : Rejects
        Receives every row not used: secret, unparsable or negative ``Einwohner``;
        unparsable coordinates; duplicate or empty cell ids; unparsable or negative
        group values; cells of an attribute file missing from the population file.

    Returns
    -------
    GeoDataFrame
        EPSG:3035 points at the cell midpoints with ``pid`` (cell id), ``population``
        (persons, float; cells with 0 residents are kept), one float column per group
        (persons) and ``geometry``. ``attrs``: ``kind="zensus_grid"``, ``groups``,
        ``method``, ``cell_size_m=100``, ``files``, ``population_column``,
        ``suppressed_group_values`` (number of secret group values set to 0),
        ``ignored_columns`` (non-numeric columns per file).

    Raises
    ------
    InputError
        A file is missing, empty, or lacks a required column (the message lists the
        columns found and expected, and the closest name); no file has ``Einwohner``.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no Zensus file given; pass at least one CSV with an 'Einwohner' column")

    tables = [_read_table(p) for p in paths]
    pop_index = next(
        (i for i, t in enumerate(tables) if _find_column(t, ZENSUS_POPULATION_COLUMN) is not None),
        None,
    )
    if pop_index is None:
        _raise_no_population(paths, tables)

    # Required columns: the cell id everywhere, coordinates and Einwohner in the population file.
    ids: dict[int, str] = {}
    for i, (p, t) in enumerate(zip(paths, tables, strict=True)):
        required = [ZENSUS_ID_COLUMN]
        if i == pop_index:
            required += [ZENSUS_X_COLUMN, ZENSUS_Y_COLUMN, ZENSUS_POPULATION_COLUMN]
        cols = _require_columns(p, t, required, expected_layout=_ZENSUS_LAYOUT)
        ids[i] = cols[0]

    key_cols: dict[int, set[str]] = {}
    for i, t in enumerate(tables):
        keys = {ids[i]}
        for name in (ZENSUS_X_COLUMN, ZENSUS_Y_COLUMN):
            c = _find_column(t, name)
            if c is not None:
                keys.add(c)
        if i == pop_index:
            keys.add(_find_column(t, ZENSUS_POPULATION_COLUMN))
        key_cols[i] = keys

    # Numeric columns per file and the final (possibly prefixed) group names.
    ignored: dict[str, list[str]] = {}
    candidates: dict[int, list[str]] = {}
    for i, (p, t) in enumerate(zip(paths, tables, strict=True)):
        num, text = _split_numeric_columns(t, exclude=key_cols[i])
        candidates[i] = num
        if text:
            ignored[str(p)] = text
    pop_col = _find_column(tables[pop_index], ZENSUS_POPULATION_COLUMN)
    names = _group_names(paths, candidates, taken={pop_col.lower()})

    # Population file: the cells.
    p0, t0 = paths[pop_index], tables[pop_index]
    cell_ids = t0[ids[pop_index]].str.strip()
    ok = _reject_bad_ids(p0, cell_ids, rejects)
    pop, pop_supp = _parse_numbers(t0[pop_col])
    bad = ok & (pop_supp | pop.isna())
    _reject(rejects, p0, bad, f"'{pop_col}' is secret or not a number", t0[pop_col])
    ok &= ~bad
    bad = ok & (pop < 0)
    _reject(rejects, p0, bad, f"negative '{pop_col}'", t0[pop_col])
    ok &= ~bad
    xy = {}
    for name in (ZENSUS_X_COLUMN, ZENSUS_Y_COLUMN):
        col = _find_column(t0, name)
        values, supp = _parse_numbers(t0[col])
        bad = ok & (values.isna() | supp | ~np.isfinite(values.fillna(0)))
        _reject(rejects, p0, bad, f"coordinate '{col}' is not a number", t0[col])
        ok &= ~bad
        xy[name] = values

    suppressed_by_group: dict[str, int] = {}
    groups: dict[str, pd.Series] = {}
    ok = _parse_groups(
        p0, t0, candidates[pop_index], names[pop_index], ok, rejects, groups, suppressed_by_group
    )

    out = pd.DataFrame(
        {
            "pid": cell_ids[ok].astype(str).to_numpy(),
            "row": np.asarray(t0.index)[ok.to_numpy()] + 1,
            "population": pop[ok].to_numpy(dtype=float),
        }
    )
    for name, values in groups.items():
        out[name] = values[ok].to_numpy(dtype=float)
    x = xy[ZENSUS_X_COLUMN][ok].to_numpy(dtype=float)
    y = xy[ZENSUS_Y_COLUMN][ok].to_numpy(dtype=float)
    known = pd.Index(out["pid"])
    listed = pd.Index(cell_ids.unique()) if len(paths) > 1 else pd.Index([])

    # Attribute files: join on the cell id.
    missing_cells: dict[str, int] = {}
    for i, (p, t) in enumerate(zip(paths, tables, strict=True)):
        if i == pop_index:
            continue
        aid = t[ids[i]].str.strip()
        aok = _reject_bad_ids(p, aid, rejects)
        absent = aok & ~aid.isin(listed)
        _reject(rejects, p, absent, f"cell id not in the population file {p0.name}", aid)
        aok &= ~absent
        dropped = aok & ~aid.isin(known)
        _reject(
            rejects,
            p,
            dropped,
            f"the cell's row in the population file {p0.name} was rejected",
            aid,
        )
        aok &= ~dropped
        agroups: dict[str, pd.Series] = {}
        aok = _parse_groups(
            p, t, candidates[i], names[i], aok, rejects, agroups, suppressed_by_group
        )
        pos = known.get_indexer(aid[aok])
        for name, values in agroups.items():
            col = np.zeros(len(out))
            col[pos] = values[aok].to_numpy(dtype=float)
            out[name] = col
        missing_cells[str(p)] = int(len(out) - len(pos))

    group_names = [n for i in range(len(paths)) for n in names[i]]
    out = out[["pid", "row", "population", *group_names]]
    gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(x, y), crs=ZENSUS_CRS)
    n_attr = len(paths) - 1
    gdf.attrs.update(
        kind="zensus_grid",
        groups=group_names,
        method=(
            f"Zensus 100 m grid ({p0.name}): the '{pop_col}' count of each cell is placed at the "
            f"cell midpoint (EPSG:3035)"
            + (
                f", joined on the cell id with {n_attr} attribute file(s) for the groups."
                if n_attr
                else "."
            )
        ),
        cell_size_m=int(ZENSUS_CELL_SIZE_M),
        files=[str(p) for p in paths],
        population_column=pop_col,
        suppressed_group_values=int(sum(suppressed_by_group.values())),
        suppressed_by_group=suppressed_by_group,
        cells_missing_in_attribute_file=missing_cells,
        ignored_columns=ignored,
    )
    return gdf


_ZENSUS_LAYOUT = (
    "Gitter_ID_100m;x_mp_100m;y_mp_100m;Einwohner (Zensus 2011) or "
    "GITTER_ID_100m;x_mp_100m;y_mp_100m;Einwohner (Zensus 2022)"
)


def _raise_no_population(paths: list[Path], tables: list[pd.DataFrame]) -> None:
    hints = []
    for p, t in zip(paths, tables, strict=True):
        found = ", ".join(map(str, t.columns))
        hint = f"{p} has columns: {found}"
        close = _closest(ZENSUS_POPULATION_COLUMN, t.columns)
        if close:
            hint += f" ('{close}' looks like a misspelling of '{ZENSUS_POPULATION_COLUMN}')"
        hints.append(hint)
    file = str(paths[0]) if len(paths) == 1 else None
    raise InputError(
        f"no file has the population column '{ZENSUS_POPULATION_COLUMN}' "
        f"(expected layout {_ZENSUS_LAYOUT}); " + "; ".join(hints),
        file,
    )


def _reject_bad_ids(path: Path, ids: pd.Series, rejects: Rejects) -> pd.Series:
    """Reject empty and repeated cell ids (the first occurrence is kept)."""
    empty = ids.isna() | (ids == "")
    _reject(rejects, path, empty, "empty cell id", ids)
    dup = ~empty & ids.duplicated(keep="first")
    if dup.any():
        first = ids[~empty].drop_duplicates(keep="first")
        first_row = pd.Series(first.index + 1, index=first.to_numpy())
        values = ids[dup]
        rejects.add_many(
            path,
            values.index + 1,
            "duplicate cell id (the first row with this id is used)",
            [f"{v} (first in row {first_row[v]})" for v in values],
        )
    return ~(empty | dup)


def _parse_groups(
    path: Path,
    table: pd.DataFrame,
    columns: list[str],
    names: list[str],
    ok: pd.Series,
    rejects: Rejects,
    into: dict[str, pd.Series],
    suppressed_by_group: dict[str, int],
) -> pd.Series:
    """Parse group columns: secret values become 0 (counted), bad values reject the row."""
    ok = ok.copy()
    parsed = {}
    for col, name in zip(columns, names, strict=True):
        values, supp = _parse_numbers(table[col])
        bad = ok & ~supp & values.isna()
        _reject(rejects, path, bad, f"'{col}' is not a number", table[col])
        ok &= ~bad
        bad = ok & (values < 0)
        _reject(rejects, path, bad, f"negative '{col}'", table[col])
        ok &= ~bad
        parsed[name] = (values, supp)
    for name, (values, supp) in parsed.items():
        suppressed_by_group[name] = suppressed_by_group.get(name, 0) + int((supp & ok).sum())
        into[name] = values.where(~supp, 0.0).fillna(0.0)
    return ok


def _group_names(
    paths: list[Path], candidates: dict[int, list[str]], taken: set[str]
) -> dict[int, list[str]]:
    """Output names of the group columns; prefix with the file stem on a clash."""
    counts: dict[str, int] = {}
    for cols in candidates.values():
        for c in cols:
            counts[c.lower()] = counts.get(c.lower(), 0) + 1
    used = set(taken) | _RESERVED
    names: dict[int, list[str]] = {}
    for i, cols in candidates.items():
        names[i] = []
        for c in cols:
            clash = counts[c.lower()] > 1 or c.lower() in taken or c.lower() in _RESERVED
            name = f"{paths[i].stem}_{c}" if clash else c
            base, k = name, 2
            while name.lower() in used:
                name = f"{base}_{k}"
                k += 1
            used.add(name.lower())
            names[i].append(name)
    return names


# --------------------------------------------------------------------------- #
# Point and polygon files
# --------------------------------------------------------------------------- #

_LAT_NAMES = ("lat", "latitude", "breite", "y_wgs84")
_LON_NAMES = ("lon", "lng", "long", "longitude", "laenge", "länge", "x_wgs84")


def read_points(
    path: str | Path, column: str, rejects: Rejects, crs: str | None = None
) -> gpd.GeoDataFrame:
    """Read resident points (or polygons) carrying a population count.

    Parameters
    ----------
    path : str or Path
        GeoJSON, GeoPackage, Shapefile or any other vector format GDAL reads, or a
        CSV with ``lat``/``lon`` columns (EPSG:4326) or ``x``/``y`` columns in
        ``crs``. Polygons are reduced to their ``representative_point()`` (a point
        guaranteed inside the polygon).
    column : str
        The population column (persons). Matched exactly, else case-insensitively.
    rejects : Rejects
        Receives every feature not used (1-based row / feature number): value not a
        number, missing or negative; unparsable or missing coordinates; empty or
        non-point/polygon geometry; unparsable or negative group values.
    crs : str, optional
        CRS of ``x``/``y`` in a CSV, or of a vector file that has no CRS of its
        own. A vector file's own CRS always wins.

    Returns
    -------
    GeoDataFrame
        Points in the file's CRS (CSV: EPSG:4326 for ``lat``/``lon``, else ``crs``)
        with ``pid`` (``<file stem>:<row>``), ``population`` (persons, float), one
        float column per other numeric column (groups; identifier-like columns
        such as ``id`` or ``plz`` excluded) and ``geometry``. ``attrs``:
        ``kind="points"``, ``groups``, ``method``, ``files``, ``population_column``,
        ``suppressed_group_values`` (missing/secret group values set to 0),
        ``ignored_columns``.

    Raises
    ------
    InputError
        File missing or empty, population column missing (with the closest name),
        no usable coordinate columns, no CRS.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path)
    if path.suffix.lower() in (".csv", ".txt", ".tsv"):
        table, geometry, file_crs, ok, coord_cols = _points_from_csv(path, rejects, crs)
    else:
        table, geometry, file_crs, ok = _points_from_vector(path, rejects, crs)
        coord_cols = set()

    col = column if column in table.columns else _find_column(table, column)
    if col is None:
        raise InputError(
            _missing_message([column], table.columns, f"population column '{column}'"), path
        )

    values, supp = _parse_numbers(table[col])
    bad = ok & (values.isna() | supp)
    _reject(rejects, path, bad, f"population '{col}' is missing or not a number", table[col])
    ok &= ~bad
    bad = ok & (values < 0)
    _reject(rejects, path, bad, f"negative population '{col}'", table[col])
    ok &= ~bad

    exclude = {col} | coord_cols | {c for c in table.columns if _ID_LIKE.search(str(c))}
    num, text = _split_numeric_columns(table, exclude=exclude)
    names = _group_names([path], {0: num}, taken={str(col).lower()})[0]
    groups: dict[str, pd.Series] = {}
    suppressed: dict[str, int] = {}
    ok = _parse_groups(path, table, num, names, ok, rejects, groups, suppressed)

    rows = np.asarray(table.index)[ok.to_numpy()] + 1
    out = pd.DataFrame(
        {
            "pid": (f"{path.stem}:" + pd.Series(rows, dtype="int64").astype(str)).to_numpy(),
            "row": rows,
            "population": values[ok].to_numpy(dtype=float),
        }
    )
    for name, v in groups.items():
        out[name] = v[ok].to_numpy(dtype=float)
    gdf = gpd.GeoDataFrame(out, geometry=geometry[ok.to_numpy()], crs=file_crs)
    gdf.attrs.update(
        kind="points",
        groups=names,
        method=(
            f"Residents read from {path.name}: column '{col}' at each point "
            "(polygons reduced to a representative point inside them)."
        ),
        files=[str(path)],
        population_column=str(col),
        suppressed_group_values=int(sum(suppressed.values())),
        suppressed_by_group=suppressed,
        ignored_columns=[str(c) for c in text],
    )
    return gdf


def _points_from_csv(
    path: Path, rejects: Rejects, crs: str | None
) -> tuple[pd.DataFrame, np.ndarray, str, pd.Series, set[str]]:
    table = _read_table(path)
    lat = next((c for n in _LAT_NAMES if (c := _find_column(table, n)) is not None), None)
    lon = next((c for n in _LON_NAMES if (c := _find_column(table, n)) is not None), None)
    x, y = _find_column(table, "x"), _find_column(table, "y")
    if crs is not None and x is not None and y is not None:
        xcol, ycol, out_crs = x, y, crs
    elif lat is not None and lon is not None:
        xcol, ycol, out_crs = lon, lat, "EPSG:4326"
    elif x is not None and y is not None:
        raise InputError(
            f"the coordinates are in columns '{x}'/'{y}' but no CRS was given; pass the CRS "
            "of these coordinates (e.g. EPSG:25832) or use 'lat'/'lon' columns in WGS 84",
            path,
        )
    else:
        raise InputError(
            _missing_message(["lat", "lon"], table.columns, "coordinate columns")
            + " (or 'x'/'y' together with a CRS)",
            path,
        )
    ok = pd.Series(True, index=table.index)
    coords = {}
    for col in (xcol, ycol):
        v, supp = _parse_numbers(table[col])
        bad = ok & (v.isna() | supp | ~np.isfinite(v.fillna(0)))
        _reject(rejects, path, bad, f"coordinate '{col}' is missing or not a number", table[col])
        ok &= ~bad
        coords[col] = v
    if out_crs == "EPSG:4326":
        bad = ok & ((coords[ycol].abs() > 90) | (coords[xcol].abs() > 180))
        _reject(
            rejects,
            path,
            bad,
            "latitude/longitude out of range (swapped columns or not WGS 84?)",
            table[ycol].astype(str) + " " + table[xcol].astype(str),
        )
        ok &= ~bad
    geometry = gpd.points_from_xy(coords[xcol].fillna(0), coords[ycol].fillna(0))
    coord_cols = {xcol, ycol} | {c for c in (lat, lon, x, y) if c is not None}
    return table, np.asarray(geometry), out_crs, ok, coord_cols


def _points_from_vector(
    path: Path, rejects: Rejects, crs: str | None
) -> tuple[pd.DataFrame, np.ndarray, object, pd.Series]:
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several unrelated types
        raise InputError(f"cannot read the file as a vector data set ({exc})", path) from exc
    if len(gdf) == 0:
        raise InputError("the file holds no features", path)
    file_crs = gdf.crs if gdf.crs is not None else crs
    if file_crs is None:
        raise InputError("the file has no CRS; pass the CRS of its coordinates", path)
    geom = gdf.geometry
    types = geom.geom_type.fillna("")
    empty = geom.isna() | geom.is_empty
    single_multi = (types == "MultiPoint") & (geom.count_geometries() == 1)
    usable = types.isin(["Point", "Polygon", "MultiPolygon"]) | single_multi
    ok = pd.Series(True, index=gdf.index)
    _reject(rejects, path, empty, "empty geometry", pd.Series("", index=gdf.index))
    ok &= ~empty
    bad = ok & ~usable
    _reject(rejects, path, bad, "geometry is not a point or polygon", types)
    ok &= ~bad
    points = geom.copy()
    poly = ok & types.isin(["Polygon", "MultiPolygon"])
    points[poly] = geom[poly].representative_point()
    points[ok & single_multi] = geom[ok & single_multi].representative_point()
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).reset_index(drop=True)
    ok = ok.reset_index(drop=True)
    return table, np.asarray(points.to_numpy()), file_crs, ok


# --------------------------------------------------------------------------- #
# Buildings
# --------------------------------------------------------------------------- #


def estimate_from_buildings(
    buildings: gpd.GeoDataFrame,
    rejects: Rejects | None = None,
    areas: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Estimate residents per residential OSM building (for areas without census data).

    Residents = footprint area (m², in the local UTM zone) × storeys ×
    :data:`NET_TO_GROSS_FLOOR_AREA` (0.8) ÷ :data:`LIVING_AREA_PER_RESIDENT_M2`
    (45 m² per person). Storeys come from ``building:levels``; when untagged,
    :data:`DEFAULT_LEVELS_HOUSE` (2) for house/detached/semidetached_house/terrace/farm,
    :data:`DEFAULT_LEVELS_SINGLE_STOREY` (1) for bungalow/static_caravan,
    :data:`DEFAULT_LEVELS_UNTAGGED` (2) for ``yes`` and :data:`DEFAULT_LEVELS_OTHER` (3)
    otherwise.

    Residential means ``building`` in :data:`RESIDENTIAL_BUILDINGS`, or
    ``building=yes`` without any of the tags in :data:`NON_RESIDENTIAL_KEYS` and, when
    ``areas`` are given, not inside one of the :data:`NON_RESIDENTIAL_AREAS`. Checked
    against Zensus 2011 in Kaiserslautern (tests): 0.94 × the census total, per-cell
    correlation 0.49 (without the area rule and with 3 storeys for ``yes``: 1.74 ×, 0.32).

    Parameters
    ----------
    buildings : GeoDataFrame
        OSM buildings (any CRS, normally EPSG:4326) with ``osm_type``, ``osm_id``,
        ``building``, ``levels`` (float, NaN if untagged), ``tags`` (dict) and
        Polygon/MultiPolygon geometry, as ``read_osm(path).buildings``.
    rejects : Rejects, optional
        Receives residential buildings whose geometry is empty, not a polygon or
        has no area (``row`` empty, ``value`` the ``osm_type/osm_id``; ``file`` is
        ``buildings.attrs["source"]`` or ``"OSM buildings"``).
    areas : GeoDataFrame, optional
        Tagged OSM features with ``tags`` (dict) and geometry in the buildings' CRS, as
        ``read_osm(path).features``; their land-use and amenity polygons mark
        non-residential ground.

    Returns
    -------
    GeoDataFrame
        EPSG:4326 points (representative point of each footprint) with ``pid``
        (``osm_type/osm_id``), ``population`` (persons, float) and ``geometry``; no
        groups. ``attrs``: ``kind="buildings_estimate"``, ``groups=[]``, ``method``,
        ``files``, ``assumptions`` (the constants), ``buildings_total``,
        ``buildings_residential``, ``buildings_on_non_residential_ground``,
        ``levels_defaulted``.
    """
    if buildings.crs is None:
        raise InputError("the buildings have no CRS; expected EPSG:4326 (WGS 84)")
    res = _residential_buildings(buildings, rejects, areas)
    if len(res):
        metric = buildings.estimate_utm_crs()
        area = res.geometry.to_crs(metric).area.to_numpy()
        points = res.geometry.representative_point().to_crs("EPSG:4326")
    else:
        area = np.zeros(0)
        points = gpd.GeoSeries([], crs="EPSG:4326")
    population = (
        area * res["levels_used"].to_numpy() * NET_TO_GROSS_FLOOR_AREA / LIVING_AREA_PER_RESIDENT_M2
    )
    gdf = gpd.GeoDataFrame(
        {"pid": res["pid"].to_numpy(), "population": population.astype(float)},
        geometry=np.asarray(points.to_numpy()),
        crs="EPSG:4326",
    )
    gdf.attrs.update(
        kind="buildings_estimate",
        groups=[],
        method=(
            "Residents estimated per residential OSM building as footprint area (local UTM) × "
            f"storeys (untagged: {DEFAULT_LEVELS_HOUSE:g} for houses, "
            f"{DEFAULT_LEVELS_SINGLE_STOREY:g} for bungalows, {DEFAULT_LEVELS_UNTAGGED:g} for "
            f"building=yes, {DEFAULT_LEVELS_OTHER:g} for apartments) × "
            f"{NET_TO_GROSS_FLOOR_AREA:g} net/gross ÷ {LIVING_AREA_PER_RESIDENT_M2:g} m² living "
            "space per person, placed at a point inside the footprint"
            + (
                "; building=yes on industrial, commercial, campus, hospital and similar "
                "ground not counted."
                if areas is not None
                else "."
            )
        ),
        files=_source_files(buildings),
        assumptions=_assumptions(),
        buildings_total=int(len(buildings)),
        buildings_residential=int(len(res)),
        buildings_on_non_residential_ground=int(res.attrs.get("on_non_residential_ground", 0)),
        levels_defaulted=int(res["levels_defaulted"].sum()),
    )
    return gdf


def spread_to_buildings(
    cells: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    cell_size_m: float | None = None,
    areas: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Distribute each Zensus cell's residents over its residential buildings (dasymetric).

    Each cell (square of side ``cell_size_m`` around its midpoint) hands its
    ``population`` and every group column to the residential buildings (as in
    :func:`estimate_from_buildings`) whose representative point lies inside it, in
    proportion to footprint area (m², EPSG:3035 is equal-area) × storeys. A point
    on a shared cell edge belongs to the cell on its east/north side (half-open
    squares). Cells without a residential building, and cells with nothing to
    distribute (population and all groups 0), keep one point at the cell midpoint.
    Buildings outside every cell get no residents and are not returned. Every
    cell's totals are preserved.

    Parameters
    ----------
    cells : GeoDataFrame
        As returned by :func:`read_zensus`: points at the cell midpoints (projected,
        normally EPSG:3035, metres) with ``pid``, ``population`` and the group
        columns named in ``attrs["groups"]``.
    buildings : GeoDataFrame
        OSM buildings as for :func:`estimate_from_buildings` (any CRS).
    cell_size_m : float, optional
        Edge length of the cells in metres; default ``cells.attrs["cell_size_m"]``,
        else 100.
    areas : GeoDataFrame, optional
        OSM features marking non-residential ground, as for
        :func:`estimate_from_buildings`.

    Returns
    -------
    GeoDataFrame
        Points in the cells' CRS with ``pid`` (``<cell id>/<osm_type>/<osm_id>``, or
        the bare cell id for a point left at the cell midpoint), ``population``
        (persons, float), the group columns (persons, float), ``cell_id`` and
        ``geometry`` (building representative point or cell midpoint). ``attrs``:
        ``kind="zensus_grid_spread_to_buildings"``, ``groups``, ``method``,
        ``cell_size_m``, ``files``, ``cells_spread``, ``cells_at_centre``,
        ``buildings_used``, ``assumptions``, plus the input cells' other attrs.
    """
    if cells.crs is None or not cells.crs.is_projected:
        raise InputError("the cells must be in a projected CRS in metres (Zensus: EPSG:3035)")
    if buildings.crs is None:
        raise InputError("the buildings have no CRS; expected EPSG:4326 (WGS 84)")
    size = float(cell_size_m or cells.attrs.get("cell_size_m") or ZENSUS_CELL_SIZE_M)
    half = size / 2.0
    groups = list(cells.attrs.get("groups") or _numeric_groups(cells))
    value_cols = ["population", *groups]

    cells = cells.reset_index(drop=True)
    cx = cells.geometry.x.to_numpy()
    cy = cells.geometry.y.to_numpy()

    res = _residential_buildings(buildings, None, areas)
    geom = res.geometry.to_crs(cells.crs)
    weight = geom.area.to_numpy() * res["levels_used"].to_numpy()
    bpts = geom.representative_point()
    bx, by = bpts.x.to_numpy(), bpts.y.to_numpy()

    # Buildings → cells: candidate squares by spatial index, then half-open test.
    squares = gpd.GeoSeries.from_xy(cx, cy, crs=cells.crs).buffer(half, cap_style="square")
    bi, ci = squares.sindex.query(bpts, predicate="intersects")
    pair = pd.DataFrame({"b": bi, "c": ci})
    inside = (
        (bx[bi] >= cx[ci] - half)
        & (bx[bi] < cx[ci] + half)
        & (by[bi] >= cy[ci] - half)
        & (by[bi] < cy[ci] + half)
    )
    pair["rank"] = np.where(inside, 0, 1)
    pair = pair.sort_values(["b", "rank", "c"]).drop_duplicates("b", keep="first")
    pair = pair[weight[pair["b"].to_numpy()] > 0]

    values = cells[value_cols].to_numpy(dtype=float)
    has_value = (values != 0).any(axis=1)
    pair = pair[has_value[pair["c"].to_numpy()]]
    pair = pair.sort_values(["c", "b"], kind="stable")
    b = pair["b"].to_numpy()
    c = pair["c"].to_numpy()
    w = weight[b]
    wsum = np.bincount(c, weights=w, minlength=len(cells))
    share = w / wsum[c]

    cell_pid = cells["pid"].astype(str).reset_index(drop=True)
    spread = pd.DataFrame(values[c] * share[:, None], columns=value_cols)
    spread.insert(
        0, "pid", cell_pid.iloc[c].to_numpy() + "/" + res["pid"].iloc[b].to_numpy().astype(object)
    )
    spread["cell_id"] = cell_pid.iloc[c].to_numpy()
    spread["_order"] = c
    spread_geom = np.asarray(bpts.to_numpy())[b]

    centre = np.ones(len(cells), dtype=bool)
    centre[c] = False
    kept = pd.DataFrame(values[centre], columns=value_cols)
    kept.insert(0, "pid", cell_pid[centre].to_numpy())
    kept["cell_id"] = cell_pid[centre].to_numpy()
    kept["_order"] = np.flatnonzero(centre)
    kept_geom = np.asarray(cells.geometry.to_numpy())[centre]

    out = pd.concat([spread, kept], ignore_index=True)
    out_geom = np.concatenate([spread_geom, kept_geom])
    order = np.argsort(out["_order"].to_numpy(), kind="stable")
    out = out.iloc[order].drop(columns="_order").reset_index(drop=True)
    gdf = gpd.GeoDataFrame(
        out[["pid", "population", *groups, "cell_id"]], geometry=out_geom[order], crs=cells.crs
    )
    attrs = copy.deepcopy(cells.attrs)
    attrs.update(
        kind="zensus_grid_spread_to_buildings",
        groups=groups,
        method=(
            f"Each {size:g} m Zensus cell's residents and groups are distributed over the "
            "residential OSM buildings whose representative point lies in the cell, in proportion "
            "to footprint area × storeys; cells without such a building keep their midpoint."
        ),
        cell_size_m=int(size) if size.is_integer() else size,
        files=list(cells.attrs.get("files", [])) + _source_files(buildings),
        cells_spread=int(len(np.unique(c))),
        cells_at_centre=int(centre.sum()),
        buildings_used=int(len(b)),
        assumptions=_assumptions(),
    )
    gdf.attrs.update(attrs)
    return gdf


def _residential_buildings(
    buildings: gpd.GeoDataFrame, rejects: Rejects | None, areas: gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame:
    """Residential buildings with ``pid``, ``levels_used`` and ``levels_defaulted``.

    ``attrs["on_non_residential_ground"]``: ``building=yes`` left out for lying in one of
    the :data:`NON_RESIDENTIAL_AREAS` of ``areas``.
    """
    missing = [c for c in ("osm_type", "osm_id", "building") if c not in buildings.columns]
    if missing:
        raise InputError(
            f"the buildings lack the column(s) {', '.join(missing)}; expected osm_type, osm_id, "
            f"building, levels, tags (as read_osm(path).buildings); found {', '.join(map(str, buildings.columns))}"
        )
    b = buildings.reset_index(drop=True)
    kind = b["building"].astype("string").str.strip().str.lower().fillna("")
    tags = b["tags"] if "tags" in b.columns else pd.Series([None] * len(b))
    plain = kind.eq("yes").to_numpy()
    no_use_tag = np.ones(len(b), dtype=bool)
    if plain.any():
        # One set intersection per building=yes row: tags are dicts, nothing to vectorise.
        no_use_tag[plain] = [
            not (isinstance(t, dict) and NON_RESIDENTIAL_KEYS & t.keys()) for t in tags[plain]
        ]
    ground = np.zeros(len(b), dtype=bool)
    if areas is not None and plain.any():
        ground[plain] = _on_non_residential_ground(b.geometry[plain], areas)
    keep = kind.isin(RESIDENTIAL_BUILDINGS).to_numpy() | (plain & no_use_tag & ~ground)
    n_ground = int((plain & no_use_tag & ground).sum())
    b = b.loc[keep].copy()
    kind = kind[keep]

    pid = b["osm_type"].astype(str) + "/" + b["osm_id"].astype(str)
    types = b.geometry.geom_type.fillna("")
    good = types.isin(["Polygon", "MultiPolygon"]) & ~b.geometry.is_empty
    if rejects is not None:
        _reject_unrowed(
            rejects, buildings, ~good, "building geometry is empty or not a polygon", pid
        )
    b, kind, pid = b.loc[good], kind[good], pid[good]
    # Degenerate outlines only; the unit does not matter, so no projection is needed.
    area_ok = shapely.area(np.asarray(b.geometry.array)) > 0
    if rejects is not None:
        _reject_unrowed(
            rejects,
            buildings,
            pd.Series(~area_ok, index=b.index),
            "building footprint has no area",
            pid,
        )
    b, kind, pid = b.loc[area_ok], kind[area_ok], pid[area_ok]

    levels = (
        pd.to_numeric(b["levels"], errors="coerce")
        if "levels" in b.columns
        else pd.Series(np.nan, index=b.index)
    )
    default = np.select(
        [kind.isin(_HOUSE_TYPES), kind.isin(_SINGLE_STOREY_TYPES), kind.eq("yes")],
        [DEFAULT_LEVELS_HOUSE, DEFAULT_LEVELS_SINGLE_STOREY, DEFAULT_LEVELS_UNTAGGED],
        DEFAULT_LEVELS_OTHER,
    )
    defaulted = ~(levels > 0).to_numpy()
    b["levels_used"] = np.where(defaulted, default, levels.to_numpy(dtype=float))
    b["levels_defaulted"] = defaulted
    b["pid"] = pid.to_numpy()
    b.attrs["on_non_residential_ground"] = n_ground
    return b


def _on_non_residential_ground(geometry: gpd.GeoSeries, areas: gpd.GeoDataFrame) -> np.ndarray:
    """Per building: its representative point lies in a :data:`NON_RESIDENTIAL_AREAS` polygon."""
    tags = areas["tags"].to_numpy(object)
    hit = np.array(
        [isinstance(t, dict) and any(t.get(k) in v for k, v in NON_RESIDENTIAL_AREAS.items())
         for t in tags],
        dtype=bool,
    )  # fmt: skip
    polys = areas.geometry[hit & areas.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()]
    out = np.zeros(len(geometry), dtype=bool)
    if len(polys):
        if areas.crs is not None and geometry.crs is not None and areas.crs != geometry.crs:
            polys = polys.to_crs(geometry.crs)
        pts = geometry.representative_point().to_numpy()
        i, _ = shapely.STRtree(polys.to_numpy()).query(pts, predicate="within")
        out[i] = True
    return out


def _reject_unrowed(
    rejects: Rejects, buildings: gpd.GeoDataFrame, mask: pd.Series, reason: str, values: pd.Series
) -> None:
    if mask.any():
        file = buildings.attrs.get("source") or "OSM buildings"
        vals = values[mask.to_numpy()].tolist()
        rejects.add_many(file, [None] * len(vals), reason, vals)


def _source_files(gdf: gpd.GeoDataFrame) -> list[str]:
    if gdf.attrs.get("files"):
        return [str(f) for f in gdf.attrs["files"]]
    if gdf.attrs.get("source"):
        return [str(gdf.attrs["source"])]
    return []


def _assumptions() -> dict[str, object]:
    return {
        "residential_buildings": sorted(RESIDENTIAL_BUILDINGS),
        "building_yes_excluded_if_tagged": sorted(NON_RESIDENTIAL_KEYS),
        "default_levels_house": DEFAULT_LEVELS_HOUSE,
        "default_levels_single_storey": DEFAULT_LEVELS_SINGLE_STOREY,
        "default_levels_other": DEFAULT_LEVELS_OTHER,
        "default_levels_untagged_yes": DEFAULT_LEVELS_UNTAGGED,
        "building_yes_excluded_on": {k: sorted(v) for k, v in NON_RESIDENTIAL_AREAS.items()},
        "net_to_gross_floor_area": NET_TO_GROSS_FLOOR_AREA,
        "living_area_per_resident_m2": LIVING_AREA_PER_RESIDENT_M2,
    }


def _numeric_groups(cells: pd.DataFrame) -> list[str]:
    return [
        c
        for c in cells.columns
        if c not in _RESERVED
        and c != cells.geometry.name
        and pd.api.types.is_numeric_dtype(cells[c])
    ]


# --------------------------------------------------------------------------- #
# Table helpers
# --------------------------------------------------------------------------- #


def _read_table(path: Path) -> pd.DataFrame:
    """Read a delimited text file; sniff ``;``/``,``/tab and the encoding.

    Clean numeric columns come back as numbers (parsed by pandas' C reader), all
    other columns as text; identifier columns (cell ids, ``id``, ``plz``, ...) are
    always text. Row ``i`` of the result is data row ``i + 1`` of the file: blank
    lines are parsed as rows so that the numbering stays true, then removed.
    """
    if not path.exists():
        raise InputError("file not found", path)
    with path.open("rb") as f:
        head = f.read(65536)
    if not head.strip():
        raise InputError("the file is empty (no header, no data rows)", path)
    sep = _sniff_separator(head)
    options = {
        "sep": sep,
        "keep_default_na": False,
        "na_filter": False,
        "quoting": csv.QUOTE_MINIMAL,
    }
    table = None
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            header = pd.read_csv(path, nrows=0, encoding=encoding, **options).columns
            text_cols = {c: str for c in header if _is_id_column(str(c))}
            table = pd.read_csv(
                path,
                dtype=text_cols,
                skip_blank_lines=False,
                low_memory=False,
                encoding=encoding,
                **options,
            )
            break
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, ValueError) as exc:
            raise InputError(
                f"cannot parse the file as '{sep}'-separated text ({exc})", path
            ) from exc
    if table is None:  # pragma: no cover - latin-1 decodes every byte
        raise InputError("cannot decode the file (tried UTF-8, cp1252, latin-1)", path)
    table.columns = [str(c).strip().lstrip("\ufeff") for c in table.columns]
    text = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    if len(text) == len(table.columns) and len(table):
        # A blank line turns every column into text, so only then can blank rows exist.
        blank = np.logical_and.reduce(
            [table[c].astype("string").fillna("").str.strip().eq("").to_numpy() for c in text]
        )
        table = table.loc[~blank]
    if table.empty:
        raise InputError(
            f"the file has a header ({', '.join(table.columns)}) but no data rows", path
        )
    return table


def _is_id_column(name: str) -> bool:
    name = name.strip().lstrip("\ufeff")
    return bool(_ID_LIKE.search(name)) or name.lower().startswith("gitter_id")


def _sniff_separator(head: bytes) -> str:
    first = head.splitlines()[0] if head.splitlines() else head
    counts = {sep: first.count(sep.encode()) for sep in (";", ",", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ";"


def _find_column(table: pd.DataFrame, name: str) -> str | None:
    """The column called ``name``, ignoring case and surrounding blanks."""
    want = name.strip().lower()
    for c in table.columns:
        if str(c).strip().lower() == want:
            return c
    return None


def _closest(name: str, columns) -> str | None:
    cols = [str(c) for c in columns]
    lower = {c.lower(): c for c in cols}
    match = difflib.get_close_matches(name.lower(), list(lower), n=1, cutoff=0.6)
    return lower[match[0]] if match else None


def _missing_message(expected: list[str], found, what: str) -> str:
    missing = [e for e in expected if not any(str(c).lower() == e.lower() for c in found)]
    msg = f"missing {what}: {', '.join(repr(m) for m in missing)}"
    hints = [f"'{c}' → '{m}'" for m in missing if (c := _closest(m, found)) is not None]
    if hints:
        msg += f" (did you mean to name {', '.join(hints)}?)"
    msg += f"; columns found: {', '.join(map(str, found))}"
    return msg


def _require_columns(
    path: Path, table: pd.DataFrame, required: list[str], expected_layout: str
) -> list[str]:
    """The actual names of the required columns, or InputError with a suggestion."""
    found = [_find_column(table, r) for r in required]
    if any(f is None for f in found):
        raise InputError(
            _missing_message(required, table.columns, "column(s)")
            + f"; expected: {expected_layout}",
            path,
        )
    return found


def _parse_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse text or numbers into floats.

    Returns ``(values, secret)``: values are NaN where the text is not a finite
    number; ``secret`` marks the suppression markers of :data:`SUPPRESSED_MARKERS`
    (including empty fields). Decimal commas (``3,5``) and German thousands
    separators (``1.234,5``) are read. Plain numbers take pandas' fast path; only
    the remaining values go through the text clean-up.
    """
    if pd.api.types.is_bool_dtype(values):
        return pd.Series(np.nan, index=values.index), pd.Series(False, index=values.index)
    if pd.api.types.is_numeric_dtype(values):
        v = values.astype(float)
        return v.where(np.isfinite(v)), pd.Series(False, index=values.index)
    v = pd.to_numeric(values, errors="coerce").astype(float)
    v = v.where(np.isfinite(v))
    secret = pd.Series(False, index=values.index)
    rest = v.isna().to_numpy()
    if rest.any():
        text = values[rest].astype("string").str.strip().fillna("")
        sec = text.isin(SUPPRESSED_MARKERS)
        comma = text.str.contains(",", regex=False)
        text = text.where(
            ~comma, text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        )
        parsed = pd.to_numeric(text.where(~sec), errors="coerce").astype(float)
        v[rest] = parsed.where(np.isfinite(parsed)).to_numpy()
        secret[rest] = sec.to_numpy(dtype=bool)
    return v, secret


def _split_numeric_columns(table: pd.DataFrame, exclude: set[str]) -> tuple[list[str], list[str]]:
    """Split columns into numeric and text columns.

    A text column counts as numeric when at least half of its non-empty values are
    numbers or suppression markers, and at least one is a number. Entirely empty
    columns count as text.
    """
    numeric, text = [], []
    for c in table.columns:
        if c in exclude:
            continue
        s = table[c]
        if pd.api.types.is_bool_dtype(s):
            text.append(c)
        elif pd.api.types.is_numeric_dtype(s):
            numeric.append(c)
        elif not (pd.api.types.is_string_dtype(s) or s.dtype == object):
            text.append(c)
        else:
            v, secret = _parse_numbers(s)
            n_number = int(v.notna().sum())
            unparsed = (v.isna() & ~secret).to_numpy()
            n_empty = int((secret & s.isna()).sum())
            if (secret & ~s.isna()).any():
                n_empty += int(s[secret & ~s.isna()].astype(str).str.strip().eq("").sum())
            n_nonempty = len(s) - n_empty
            if n_number and n_number + (n_nonempty - n_number - unparsed.sum()) >= 0.5 * n_nonempty:
                numeric.append(c)
            else:
                text.append(c)
    return numeric, text


def _reject(rejects: Rejects, path: Path, mask: pd.Series, reason: str, values: pd.Series) -> None:
    """Record the rows where ``mask`` is true (row = index label + 1, i.e. the data row)."""
    m = np.asarray(mask, dtype=bool)
    if m.any():
        rows = np.asarray(mask.index)[m] + 1
        rejects.add_many(path, rows, reason, np.asarray(values, dtype=object)[m].tolist())

"""Resident points: read weighted point/polygon files; the common output of all readers.

:func:`read_points` reads any point or polygon file with a population count.
The Zensus grid reader lives in :mod:`accessibility.inputs.zensus`, the OSM building
estimates in :mod:`accessibility.inputs.buildings`; their public names are re-exported
here.

Every reader returns a GeoDataFrame of **resident points** with the columns

``pid``
    Unique text id: the Zensus cell id, ``<file stem>:<row>`` for point files,
    ``<osm_type>/<osm_id>`` for buildings, ``<cell id>/<osm_type>/<osm_id>`` for
    Zensus cells spread to buildings, ``<cell id>/way/<way_id>/<k>`` for coarse
    cells spread along streets.
``population``
    Residents at the point (float, persons).
one float column per population group
    Further counts of persons (age classes, country of birth, ...), listed in
    ``gdf.attrs["groups"]``.
``geometry``
    Point.

``gdf.attrs`` describes the run: ``kind`` (``"zensus_grid"``, ``"points"``,
``"buildings_estimate"``, ``"zensus_grid_spread_to_buildings"`` or
``"zensus_grid_spread"`` for coarse cells spread by :mod:`accessibility.inputs.spread`),
``groups``, ``method`` (one sentence for the run record), ``cell_size_m`` (100 or
1000, Zensus only) and ``files`` (the paths read); after :func:`scale_to_total`
also ``scaling``.

Rows that cannot be used are recorded in a :class:`~accessibility.rejects.Rejects`
collector with file, 1-based data row (header not counted), reason and value.
Nothing is dropped silently.

CRS: Zensus grids are EPSG:3035 (ETRS89-LAEA, metres); point files keep their own
CRS; building estimates are EPSG:4326.
"""

from __future__ import annotations

import copy
import math
import zipfile
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import MAX_RESIDENTS_PER_CELL, MAX_RESIDENTS_PER_POINT, max_residents_per_cell
from ..errors import InputError
from ..rejects import Rejects
from ._tables import (
    ID_LIKE,
    find_column,
    missing_message,
    parse_numbers,
    read_header,
    read_table,
    reject,
    split_numeric_columns,
)
from .buildings import (
    DEFAULT_LEVELS_HOUSE,
    DEFAULT_LEVELS_OTHER,
    DEFAULT_LEVELS_SINGLE_STOREY,
    DEFAULT_LEVELS_UNTAGGED,
    LIVING_AREA_PER_RESIDENT_M2,
    NET_TO_GROSS_FLOOR_AREA,
    NON_RESIDENTIAL_AREAS,
    NON_RESIDENTIAL_KEYS,
    RESIDENTIAL_BUILDINGS,
    estimate_from_buildings,
    spread_to_buildings,
)
from .osm import OsmExtract
from .spread import spread_cells
from .zensus import (
    SUPPRESSED_MARKERS,
    ZENSUS_CELL_SIZE_M,
    ZENSUS_CRS,
    ZENSUS_ID_COLUMN,
    ZENSUS_POPULATION_COLUMN,
    ZENSUS_X_COLUMN,
    ZENSUS_Y_COLUMN,
    parse_groups,
    read_zensus,
    zensus_group_names,
)

__all__ = [
    "DEFAULT_LEVELS_HOUSE",
    "DEFAULT_LEVELS_OTHER",
    "DEFAULT_LEVELS_SINGLE_STOREY",
    "DEFAULT_LEVELS_UNTAGGED",
    "LIVING_AREA_PER_RESIDENT_M2",
    "NET_TO_GROSS_FLOOR_AREA",
    "NON_RESIDENTIAL_AREAS",
    "NON_RESIDENTIAL_KEYS",
    "RESIDENTIAL_BUILDINGS",
    "SUPPRESSED_MARKERS",
    "ZENSUS_CELL_SIZE_M",
    "ZENSUS_CRS",
    "ZENSUS_ID_COLUMN",
    "ZENSUS_POPULATION_COLUMN",
    "ZENSUS_X_COLUMN",
    "ZENSUS_Y_COLUMN",
    "estimate_from_buildings",
    "read_points",
    "read_zensus",
    "scale_to_total",
    "spread_to_buildings",
]


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
        table, geometry, file_crs, ok = _points_from_vector(path, rejects, crs)  # type: ignore[assignment]
        coord_cols = set()

    col = column if column in table.columns else find_column(table, column)
    if col is None:
        raise InputError(
            missing_message([column], table.columns, f"population column '{column}'"), path
        )

    values, supp = parse_numbers(table[col])
    bad = ok & (values.isna() | supp)
    reject(rejects, path, bad, f"population '{col}' is missing or not a number", table[col])
    ok &= ~bad
    bad = ok & (values < 0)
    reject(rejects, path, bad, f"negative population '{col}'", table[col])
    ok &= ~bad
    bad = ok & ~(values <= MAX_RESIDENTS_PER_POINT)  # also inf
    reject(rejects, path, bad, _implausible(col, MAX_RESIDENTS_PER_POINT, "point"), table[col])
    ok &= ~bad

    exclude = {col} | coord_cols | {c for c in table.columns if ID_LIKE.search(str(c))}
    num, text = split_numeric_columns(table, exclude=exclude)
    names = zensus_group_names([path], {0: num}, taken={str(col).lower()})[0]
    groups: dict[str, pd.Series] = {}
    suppressed: dict[str, int] = {}
    ok = parse_groups(path, table, num, names, ok, rejects, groups, suppressed)

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


def _implausible(column: str, bound: float, what: str) -> str:
    return (
        f"population '{column}' above {bound:,.0f} residents per {what} (not a plausible count: "
        "a unit or decimal-separator mix-up?); correct the value"
    )


def drop_implausible(
    residents: gpd.GeoDataFrame, rejects: Rejects, bound: float = MAX_RESIDENTS_PER_CELL,
    what: str = "100 m cell",
) -> gpd.GeoDataFrame:  # fmt: skip
    """Resident points whose ``population`` is finite and at most ``bound``; the rest rejected.

    Parameters
    ----------
    residents : GeoDataFrame
        Reader output (``pid``, ``row``, ``population``; ``attrs["files"]``).
    rejects : Rejects
        Receives each dropped row (file = the first file of ``attrs["files"]``).
    bound : float
        Residents per row at most (persons); :data:`config.MAX_RESIDENTS_PER_CELL`
        for a 100 m Zensus cell.
    what : str
        What one row is (``"100 m cell"``), named in the reject reason.

    Returns
    -------
    GeoDataFrame
        The kept rows (``residents`` itself when none is dropped).
    """
    v = residents["population"].to_numpy(float)
    bad = ~(np.isfinite(v) & (v <= bound))
    if not bad.any():
        return residents
    files = residents.attrs.get("files") or ["population"]
    rows = residents["row"].to_numpy()[bad] if "row" in residents else [None] * int(bad.sum())
    col = residents.attrs.get("population_column", "Einwohner")
    rejects.add_many(files[0], rows, _implausible(col, bound, what), v[bad].tolist())
    out = residents.loc[~bad].copy()
    out.attrs = dict(residents.attrs)
    return out


def _points_from_csv(
    path: Path, rejects: Rejects, crs: str | None
) -> tuple[pd.DataFrame, np.ndarray, str, pd.Series, set[str]]:
    table = read_table(path)
    lat = next((c for n in _LAT_NAMES if (c := find_column(table, n)) is not None), None)
    lon = next((c for n in _LON_NAMES if (c := find_column(table, n)) is not None), None)
    x, y = find_column(table, "x"), find_column(table, "y")
    if crs is not None and x is not None and y is not None:
        xcol, ycol, out_crs = x, y, crs
    elif lat is not None and lon is not None:
        xcol, ycol, out_crs = lon, lat, "EPSG:4326"
    elif x is not None and y is not None:
        raise InputError(
            f"the coordinates are in columns '{x}'/'{y}' but no CRS was given; pass their CRS "
            "with --population-crs (e.g. EPSG:25832) or use 'lat'/'lon' columns in WGS 84",
            path,
        )
    else:
        raise InputError(
            missing_message(["lat", "lon"], table.columns, "coordinate columns")
            + " (or 'x'/'y' together with a CRS)",
            path,
        )
    ok = pd.Series(True, index=table.index)
    coords = {}
    for col in (xcol, ycol):
        v, supp = parse_numbers(table[col])
        bad = ok & (v.isna() | supp | ~np.isfinite(v.fillna(0)))
        reject(rejects, path, bad, f"coordinate '{col}' is missing or not a number", table[col])
        ok &= ~bad
        coords[col] = v
    if out_crs == "EPSG:4326":
        bad = ok & ((coords[ycol].abs() > 90) | (coords[xcol].abs() > 180))
        reject(
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
        raise InputError(
            "the file has no CRS; pass --population-crs with the CRS of its coordinates", path
        )
    geom = gdf.geometry
    types = geom.geom_type.fillna("")
    empty = geom.isna() | geom.is_empty
    single_multi = (types == "MultiPoint") & (geom.count_geometries() == 1)
    usable = types.isin(["Point", "Polygon", "MultiPolygon"]) | single_multi
    ok = pd.Series(True, index=gdf.index)
    reject(rejects, path, empty, "empty geometry", pd.Series("", index=gdf.index))
    ok &= ~empty
    bad = ok & ~usable
    reject(rejects, path, bad, "geometry is not a point or polygon", types)
    ok &= ~bad
    points = geom.copy()
    poly = ok & types.isin(["Polygon", "MultiPolygon"])
    points[poly] = geom[poly].representative_point()
    points[ok & single_multi] = geom[ok & single_multi].representative_point()
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).reset_index(drop=True)
    ok = ok.reset_index(drop=True)
    return table, np.asarray(points.to_numpy()), file_crs, ok


# --------------------------------------------------------------------------- #
# Official totals
# --------------------------------------------------------------------------- #


def scale_to_total(residents: gpd.GeoDataFrame, total: float) -> gpd.GeoDataFrame:
    """Rescale residents (and every group) so that they sum to an official total.

    Meant for the building estimate (:func:`estimate_from_buildings`), which is tuned
    on one German city and far off elsewhere (all of Malta: 179,110 estimated, about
    440,000 real): the official total fixes the level, the buildings only give the
    distribution. Works on any residents (point files, spread Zensus cells).

    Parameters
    ----------
    residents : GeoDataFrame
        Resident points with ``population`` and the groups of ``attrs["groups"]``.
    total : float
        The official number of residents (persons), finite and > 0.

    Returns
    -------
    GeoDataFrame
        A copy with ``population`` and groups × factor; ``attrs["scaling"]``:
        ``total``, ``estimated_total`` (before), ``factor``, ``distribution``
        (``"estimated from OSM buildings"`` for the building estimate, else
        ``"as read"``); ``attrs["method"]`` says so.

    Raises
    ------
    InputError
        ``total`` is not a finite number > 0, or the residents sum to 0.
    """
    try:
        n = float(total)
    except (TypeError, ValueError):
        n = math.nan
    if not (math.isfinite(n) and n > 0):
        raise InputError(
            f"--population-total must be a positive, finite number of residents "
            f"(e.g. 440000), got {total!r}"
        )
    before = float(residents["population"].sum())
    if not (math.isfinite(before) and before > 0):
        raise InputError(
            f"cannot rescale to --population-total {n:,.0f}: the residents read sum to "
            f"{before:g}, so there is no distribution to scale"
        )
    factor = n / before
    groups = [g for g in residents.attrs.get("groups", []) if g in residents.columns]
    out = residents.copy()
    out[["population", *groups]] = out[["population", *groups]].to_numpy(dtype=float) * factor
    out.attrs = copy.deepcopy(residents.attrs)
    buildings = residents.attrs.get("kind") == "buildings_estimate"
    distribution = "estimated from OSM buildings" if buildings else "as read"
    out.attrs["scaling"] = {
        "total": n,
        "estimated_total": before,
        "factor": factor,
        "distribution": distribution,
    }
    out.attrs["method"] = (
        str(residents.attrs.get("method", "")).rstrip()
        + f" Rescaled by the factor {factor:.4f} to the official total of {n:,.0f} residents "
        f"(before: {before:,.0f})"
        + (
            "; only the total is official, the distribution over buildings is estimated "
            "from OSM buildings."
            if buildings
            else "."
        )
    ).strip()
    return out


def is_zensus(path: str | Path) -> bool:
    """True if a CSV's header (or that of the one CSV in a ``.zip``) names a Zensus cell id column.

    A ``.zip`` without any CSV/TXT table (e.g. a zipped shapefile) is not Zensus input.

    Parameters
    ----------
    path : str or Path
        A population file.

    Returns
    -------
    bool
        True for a ``.csv``/``.txt``/``.zip`` whose header contains ``gitter_id``.
    """
    p = Path(path)
    if p.suffix.lower() not in (".csv", ".txt", ".zip"):
        return False
    if p.suffix.lower() == ".zip" and zipfile.is_zipfile(p):
        with zipfile.ZipFile(p) as zf:
            if not any(n.lower().endswith((".csv", ".txt")) for n in zf.namelist()):
                return False
    return "gitter_id" in read_header(p).lower()


def check_not_empty(path: Path) -> None:
    """Refuse an empty population file with a message saying so.

    Parameters
    ----------
    path : Path
        The population file.

    Raises
    ------
    InputError
        The file cannot be read, or its first 4096 bytes are only whitespace/BOM.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", path) from exc
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise InputError(
            "the population file is empty; give a Zensus grid CSV (Gitter_ID_100m;x_mp_100m;"
            "y_mp_100m;Einwohner) or a points/polygons file with --population-column",
            path,
        )


def read_population(
    paths: Sequence[str | Path],
    extract: OsmExtract,
    rejects: Rejects,
    population_column: str | None = None,
    population_crs: str | None = None,
    to_buildings: bool = False,
) -> gpd.GeoDataFrame:
    """The residents from ``--population`` files, the reader chosen by the files.

    No file: estimated from the extract's buildings. Zensus grid CSVs (one or several,
    joined by cell id): cells with implausible counts rejected; coarse cells (1 km) are
    spread along the streets, 100 m cells onto buildings with ``to_buildings``.
    Anything else: one points/polygons file with ``population_column``.

    Parameters
    ----------
    paths : sequence of str or Path
        The ``--population`` files (empty: estimate from buildings).
    extract : OsmExtract
        The OSM extract (buildings, segments and features for estimating and spreading).
    rejects : Rejects
        Receives every unusable row.
    population_column : str, optional
        Residents column of a points/polygons file.
    population_crs : str, optional
        CRS of the x/y columns of a CSV points file.
    to_buildings : bool
        Spread 100 m Zensus cells onto the buildings in them.

    Returns
    -------
    GeoDataFrame
        Resident points (``pid``, ``population`` and group columns; ``attrs`` say how
        they were made); may be empty when every row was rejected.

    Raises
    ------
    InputError
        An empty file, several non-Zensus files, or no ``population_column``.
    """
    population: list[str | Path] = [Path(p) for p in paths]
    for p in population:
        check_not_empty(p)  # type: ignore[arg-type]
    if not population:
        residents = estimate_from_buildings(extract.buildings, rejects, extract.features)
    elif all(is_zensus(p) for p in population):
        residents = read_zensus(population, rejects)
        size = float(residents.attrs.get("cell_size_m") or ZENSUS_CELL_SIZE_M)
        residents = drop_implausible(
            residents, rejects, max_residents_per_cell(size), f"{size:g} m cell"
        )
        if float(residents.attrs.get("cell_size_m") or 0) > ZENSUS_CELL_SIZE_M:
            # Coarse cells (1 km: ~12 minutes across) are always spread out.

            residents = spread_cells(
                residents, extract.buildings, extract.segments, extract.nodes, rejects,
                areas=extract.features,
            )  # fmt: skip
        elif to_buildings:
            residents = spread_to_buildings(residents, extract.buildings, areas=extract.features)
    else:
        if len(population) > 1:
            raise InputError(
                "several --population files are joined only for Zensus grid CSVs (keyed by the cell id); "
                "give one points/polygons file with --population-column"
            )
        if population_column is None:
            raise InputError(
                "give --population-column: which column holds the residents", population[0]
            )
        residents = read_points(population[0], population_column, rejects, crs=population_crs)
    return residents

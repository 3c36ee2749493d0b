"""Map/report layers and exports: ``layers.gpkg``, GeoJSON, ``tables.xlsx``.

Layers (network CRS in ``layers.gpkg``, EPSG:4326 in GeoJSON, RFC 7946):

- ``sites``: docking points used.
- ``residents``: resident points with their walking minutes.
- ``cells``: resident cells as 100 m squares (Zensus grid input only; EPSG:3035
  squares around the cell midpoints, reprojected).
- ``gaps``: populated points/cells beyond the largest threshold (or unreachable).
- ``isochrones``: per site and per category bands (see :mod:`accessibility.core.isochrones`).
- ``districts``: district polygons with ``share_<category>_<minutes>`` columns (0–1).
- ``priority``, ``priority_districts``: priority areas (need × gap) per cell and district,
  in rank order (with a need index only; written by :mod:`accessibility.outputs.files`).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._io import atomic_write, single_geometry_type, write_text
from ..inputs.zensus import ZENSUS_CRS


def is_grid(record: dict) -> bool:
    """True if residents are Zensus grid cells placed at their midpoints.

    Parameters
    ----------
    record : dict
        The run record (``run.json``): ``population_kind``, ``cell_size_m``.

    Returns
    -------
    bool
    """
    return str(record.get("population_kind") or "") == "zensus_grid" and bool(
        record.get("cell_size_m")
    )


def cell_squares(residents: gpd.GeoDataFrame, cell_size_m: float) -> gpd.GeoSeries:
    """Zensus cells as squares of ``cell_size_m`` metres around their midpoints (EPSG:3035).

    Returns the squares in the residents' CRS.

    Parameters
    ----------
    residents : GeoDataFrame
        Cell midpoints (any CRS).
    cell_size_m : float
        Edge length of a cell in metres (100, 1000, ...).

    Returns
    -------
    GeoSeries
        Polygons, index of ``residents``.
    """
    mid = residents.geometry.to_crs(ZENSUS_CRS)
    h = cell_size_m / 2.0
    x, y = mid.x.to_numpy(), mid.y.to_numpy()
    sq = shapely.box(x - h, y - h, x + h, y + h)
    return gpd.GeoSeries(sq, index=residents.index, crs=ZENSUS_CRS).to_crs(residents.crs)


def resident_layer(residents: gpd.GeoDataFrame, record: dict) -> gpd.GeoDataFrame:
    """Residents as 100 m squares for Zensus grid input, points otherwise (same columns).

    Parameters
    ----------
    residents : GeoDataFrame
        Resident points (any CRS).
    record : dict
        The run record (see :func:`is_grid`); ``cell_size_m`` in metres.

    Returns
    -------
    GeoDataFrame
        In the residents' CRS.
    """
    if is_grid(record):
        return residents.set_geometry(cell_squares(residents, float(record["cell_size_m"])))
    return residents


def gaps_layer(residents: gpd.GeoDataFrame, max_minutes: float) -> gpd.GeoDataFrame:
    """Populated residents beyond ``max_minutes`` to the nearest site (or unreachable).

    Parameters
    ----------
    residents : GeoDataFrame
        With ``population`` (persons) and ``minutes_all`` (minutes, ``inf`` unreachable).
    max_minutes : float
        The largest threshold in minutes.

    Returns
    -------
    GeoDataFrame
        The rows of ``residents`` (same CRS and columns).
    """
    m = residents["minutes_all"].to_numpy(float)
    keep = (residents["population"].to_numpy(float) > 0) & ~(m <= max_minutes)
    return residents.loc[keep]


def district_layer(
    districts: gpd.GeoDataFrame, summary_districts: pd.DataFrame
) -> gpd.GeoDataFrame:
    """District polygons with ``population`` and ``share_<category>_<minutes>`` (0–1) columns.

    Parameters
    ----------
    districts : GeoDataFrame
        ``district`` names and polygons (any CRS, kept).
    summary_districts : DataFrame
        ``summary_districts.csv`` (population in persons, ``share_covered`` 0–1).

    Returns
    -------
    GeoDataFrame
        One row per district.
    """
    out = districts[["district", "geometry"]].copy()
    if summary_districts.empty:
        return out
    sd = summary_districts.copy()
    sd["col"] = "share_" + sd["category"].astype(str) + "_" + sd["minutes"].map("{:g}".format)
    wide = sd.pivot_table(index="district", columns="col", values="share_covered", sort=False)
    pop = sd.groupby("district", sort=False)["population"].first()
    out = out.merge(pop.rename("population"), left_on="district", right_index=True, how="left")
    return out.merge(wide, left_on="district", right_index=True, how="left")


def write_layers(layers: dict[str, gpd.GeoDataFrame], path: str | Path, crs: object = None) -> Path:
    """Write several layers into one GeoPackage atomically (empty layers are skipped).

    Each layer has one geometry type (polygons as ``MultiPolygon``, see
    :func:`accessibility._io.single_geometry_type`).

    Parameters
    ----------
    layers : dict of str to GeoDataFrame
        Layer name → features (±inf written as empty).
    path : str or Path
        The ``.gpkg`` file.
    crs : optional
        CRS of every layer (the run's metric CRS); default each layer keeps its own.

    Returns
    -------
    Path
    """

    def _w(p: Path) -> None:
        for name, gdf in layers.items():
            if gdf is not None and len(gdf):
                g = gdf if crs is None else gdf.to_crs(crs)
                single_geometry_type(finite(g)).to_file(p, layer=name, driver="GPKG")

    return atomic_write(path, _w, suffix=".gpkg")


def write_geojson(gdf: gpd.GeoDataFrame, path: str | Path, precision: int = 6) -> Path:
    """Write a layer as RFC 7946 GeoJSON (EPSG:4326, coordinates rounded to ``precision``).

    Parameters
    ----------
    gdf : GeoDataFrame
        Features in any CRS (reprojected to EPSG:4326).
    path : str or Path
        The ``.geojson`` file.
    precision : int
        Decimal places of the degrees (6 ≈ 0.1 m).

    Returns
    -------
    Path
    """
    g = finite(gdf.to_crs("EPSG:4326"))
    for c in g.columns:
        if c != g.geometry.name and g[c].dtype == object:
            g[c] = g[c].map(lambda v: v if v is None or isinstance(v, str | bool) else str(v))
    g[g.geometry.name] = shapely.transform(
        g.geometry.to_numpy(), lambda xy: np.round(xy, precision)
    )
    text = g.to_json(drop_id=True, to_wgs84=False, na="null", ensure_ascii=False,
                     separators=(",", ":"))  # fmt: skip
    return write_text(text, path)


def finite(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with ±inf in numeric columns as NaN (unreachable = empty in the files).

    Parameters
    ----------
    df : DataFrame or GeoDataFrame

    Returns
    -------
    DataFrame or GeoDataFrame
        Same type, columns and CRS.
    """
    df = df.copy()
    num = df.select_dtypes("number").columns
    df[num] = df[num].replace([np.inf, -np.inf], np.nan)
    return df


#: Legend row below a sheet with empty cells (``tables.xlsx``), per language.
XLSX_LEGEND = {
    "de": "Leere Zelle: kein Wert.",
    "en": "Empty cell: no value.",
}
#: Added to the legend of a sheet with a median column.
XLSX_LEGEND_MEDIAN = {
    "de": " Leerer Median (median_minutes): mindestens die Hälfte der Einwohner hat keinen Weg "
    "zu einer Andockstelle in Reichweite (unendlich weit), oder die Kategorie hat keine "
    "Andockstelle (Spalte note).",
    "en": " Empty median (median_minutes): at least half of the residents have no path to a "
    "docking point within reach (infinitely far), or the category has no docking point "
    "(column note).",
}
#: Added to the legend of a sheet with walking minutes or metres per point or building.
XLSX_LEGEND_REACH = {
    "de": " Leere Minuten/Meter (minutes_…, metres_…) und leerer Name (nearest_…): keine "
    "Andockstelle dieser Kategorie auf dem Fußwegenetz erreichbar.",
    "en": " Empty minutes/metres (minutes_…, metres_…) and empty name (nearest_…): no docking "
    "point of that category reachable on the walking network.",
}
#: Added to the legend of a sheet with share columns.
XLSX_LEGEND_SHARE = {
    "de": " Anteile (share…, decay_coverage) in Prozent; die Zelle hält den Anteil 0–1.",
    "en": " Shares (share…, decay_coverage) in percent; the cell holds the share 0–1.",
}
#: Added to the legend of the priority sheets (issue 15).
XLSX_LEGEND_PRIORITY = {
    "de": " Leere Minuten (minutes): keine Andockstelle erreichbar (Lücke = Obergrenze); "
    "leerer Anteil (share_…): kein veröffentlichter Wert, der Bedarf nimmt den Durchschnitt.",
    "en": " Empty minutes (minutes): no docking point reachable (gap = the cap); empty share "
    "(share_…): no published value, the need takes the average.",
}
#: Excel number formats by column: shares as percent, persons with thousands separators.
_PERCENT = "0.0%"
_PERSONS = "#,##0"


def _number_format(column: str) -> str | None:
    c = column.lower()
    if c.startswith("share") or c.endswith("_share") or c == "decay_coverage":
        return _PERCENT  # decay_coverage: 0–1 like a share (summary_2sfca)
    if c in ("population", "population_covered", "persons", "residents", "reach", "gain",
             "cumulative_covered", "buildings", "buildings_covered",
             "buildings_not_covered", "residents_beyond"):  # fmt: skip
        return _PERSONS
    return None


def write_xlsx(tables: dict[str, pd.DataFrame], path: str | Path, lang: str = "en") -> Path:
    """Write tables as sheets of one Excel workbook (atomic), laid out for reading.

    Text is stored as text: cells from OSM or user files that start with ``=``
    are never turned into formulas. Shares (columns ``share…``, 0–1) carry a percent
    format (the value stays 0–1), persons a thousands separator; missing and infinite
    values are empty cells. A sheet with empty cells gets a legend row below the table
    (after one blank row) saying what they mean (:data:`XLSX_LEGEND`): an empty median is
    one with no path within reach. The header row is bold and frozen; columns are as
    wide as their content (at most 60 characters).

    Parameters
    ----------
    tables : dict of str to DataFrame
        Sheet name → table.
    path : str or Path
        The ``.xlsx`` file.
    lang : {"de", "en"}
        Language of the legend rows.

    Returns
    -------
    Path
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    lang = lang if lang in XLSX_LEGEND else "en"

    def _w(p: Path) -> None:
        wb = Workbook()
        wb.remove(wb.active)
        for name, df in tables.items():
            ws = wb.create_sheet(title=name[:31])
            header = [str(c) for c in df.columns]
            ws.append(header)
            for cell in ws[1]:
                cell.font = Font(bold=True)
            rows = [[_cell(v) for v in row] for row in finite(df).itertuples(index=False)]
            for row in rows:
                ws.append(row)
            for cell in (c for col in ws.iter_cols(min_row=2) for c in col):
                if isinstance(cell.value, str):
                    cell.data_type = "s"
            widths = [len(h) for h in header]
            for j, h in enumerate(header, start=1):
                fmt = _number_format(h)
                if fmt and rows:
                    for (cell,) in ws.iter_rows(min_row=2, max_row=len(rows) + 1, min_col=j,
                                                max_col=j):  # fmt: skip
                        if isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
                            cell.number_format = fmt
                for row in rows[:2000]:  # enough to size a column
                    v = row[j - 1]
                    n = (
                        len(f"{v:.1%}")
                        if fmt == _PERCENT and isinstance(v, float)
                        else len(str(v) if v is not None else "")
                    )
                    widths[j - 1] = max(widths[j - 1], n)
            for j, w in enumerate(widths, start=1):
                ws.column_dimensions[get_column_letter(j)].width = min(60, max(8, w + 2))
            ws.freeze_panes = "A2"
            if any(v is None for row in rows for v in row):
                text = XLSX_LEGEND[lang]
                if "median_minutes" in header:
                    text += XLSX_LEGEND_MEDIAN[lang]
                if any(h.startswith(("minutes_", "metres_")) for h in header):
                    text += XLSX_LEGEND_REACH[lang]
                if "priority_total" in header:
                    text += XLSX_LEGEND_PRIORITY[lang]
                if any(_number_format(h) == _PERCENT for h in header):
                    text += XLSX_LEGEND_SHARE[lang]
                ws.append([])
                ws.append([text])
                ws.cell(row=ws.max_row, column=1).font = Font(italic=True)
        wb.save(p)

    return atomic_write(path, _w, suffix=".xlsx")


def _cell(v):
    """A value for an Excel cell: missing (None, NaN, ``pd.NA``, NaT, ``""``) and ±inf as empty."""
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, str) and not v):
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, int | float | bool | str):
        return v
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


#: Smallest aggregation cell of the map (metres, the Zensus 100 m grid in EPSG:3035).
AGGREGATE_BASE_M = 100.0


def aggregation_cell_m(
    residents: gpd.GeoDataFrame, max_cells: int, base_m: float = AGGREGATE_BASE_M
) -> float:
    """The smallest grid cell (``base_m`` × 2**k metres, EPSG:3035) giving ≤ ``max_cells`` cells.

    Parameters
    ----------
    residents : GeoDataFrame
        Resident points (any CRS).
    max_cells : int
        Most cells wanted.
    base_m : float
        Smallest cell edge in metres (the Zensus 100 m grid).

    Returns
    -------
    float
        Cell edge in metres.
    """
    xy = _grid_xy(residents)
    size = base_m
    while True:
        if len(_squares(xy, size)[0]) <= max_cells or size > 1e6:
            return size
        size *= 2.0


def _grid_xy(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """Point coordinates in EPSG:3035 (metres; the Zensus grid's CRS)."""
    from pyproj import Transformer

    xy = shapely.get_coordinates(gdf.geometry.to_numpy())
    tr = Transformer.from_crs(gdf.crs, ZENSUS_CRS, always_xy=True)
    return np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))


def _squares(xy: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    """The ``size`` metre grid squares holding ``xy`` (EPSG:3035): their lower-left corner
    indices (k, 2) and each point's square (0…k-1)."""
    ij = np.floor(xy / size).astype(np.int64)
    ij -= ij.min(axis=0) if len(ij) else 0
    span = int(ij[:, 1].max()) + 1 if len(ij) else 1
    keys, inverse = np.unique(ij[:, 0] * span + ij[:, 1], return_inverse=True)
    base = np.floor(xy.min(axis=0) / size).astype(np.int64) if len(xy) else np.zeros(2, np.int64)
    return np.c_[keys // span, keys % span] + base, inverse.ravel()


def _weighted_median(key: np.ndarray, values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted median of ``values`` per ``key`` (0…k-1, every key present); unweighted
    median where a key's weights sum to 0. ``inf`` values sort last."""
    order = np.lexsort((values, key))
    k, v, w = key[order], values[order], weights[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    ends = np.r_[starts[1:], len(k)] - 1
    total = np.add.reduceat(w, starts)
    cum = np.cumsum(w)
    target = cum[starts] - w[starts] + total / 2.0
    idx = np.clip(np.searchsorted(cum, target, side="left"), starts, ends)
    idx = np.where(total > 0, idx, (starts + ends) // 2)
    return v[idx]


def aggregate_residents(
    residents: gpd.GeoDataFrame, cell_m: float, minutes: list[float], column: str = "minutes_all"
) -> gpd.GeoDataFrame:
    """Residents summed into ``cell_m`` metre grid squares (EPSG:3035) for large maps.

    Every populated point counts in the square holding it. Per square: ``points``
    (resident rows), ``population`` (persons), ``median_minutes`` (population-weighted
    median of ``column``, minutes; ``inf`` when more than half cannot reach a site),
    ``min_minutes`` (the nearest point's minutes), ``share_<m>`` (population share
    within ``m`` minutes, 0–1), and, for the gaps beyond the largest threshold,
    ``beyond`` (persons), ``no_path`` (persons with no path at all) and ``fragment``
    (persons snapped onto a separate network piece).

    Parameters
    ----------
    residents : GeoDataFrame
        Points with ``population`` and ``column`` (minutes, ``inf`` unreachable);
        optional ``fragment`` (bool).
    cell_m : float
        Square edge in metres (see :func:`aggregation_cell_m`).
    minutes : list of float
        Thresholds in minutes.
    column : str
        The minutes column aggregated.

    Returns
    -------
    GeoDataFrame
        One row per non-empty square, squares in the residents' CRS.
    """
    cells, key = _squares(_grid_xy(residents), cell_m)
    n = len(cells)
    pop = residents["population"].to_numpy(float)
    mins = residents[column].to_numpy(float)
    mins = np.where(np.isnan(mins), np.inf, mins)
    total = np.bincount(key, pop, n)
    top = max(minutes)
    out = {
        "points": np.bincount(key, minlength=n),
        "population": total,
        "median_minutes": _weighted_median(key, mins, pop),
        "min_minutes": np.full(n, np.inf),
    }
    np.minimum.at(out["min_minutes"], key, mins)
    with np.errstate(invalid="ignore", divide="ignore"):
        for m in minutes:
            out[f"share_{m:g}"] = np.bincount(key, pop * (mins <= m), n) / total
    frag = (
        residents["fragment"].to_numpy(bool)
        if "fragment" in residents
        else np.zeros(len(pop), dtype=bool)
    )
    out["beyond"] = np.bincount(key, pop * ~(mins <= top), n)
    out["no_path"] = np.bincount(key, pop * ~np.isfinite(mins), n)
    out["fragment"] = np.bincount(key, pop * frag, n)
    x0, y0 = cells[:, 0] * cell_m, cells[:, 1] * cell_m
    sq = gpd.GeoSeries(shapely.box(x0, y0, x0 + cell_m, y0 + cell_m), crs=ZENSUS_CRS)
    return gpd.GeoDataFrame(out, geometry=sq.to_crs(residents.crs).to_numpy(), crs=residents.crs)


def aggregate_population(
    gdf: gpd.GeoDataFrame, cell_m: float, means: list[str] | None = None
) -> gpd.GeoDataFrame:
    """``population`` (persons) and ``points`` summed into ``cell_m`` metre squares (EPSG:3035).

    Parameters
    ----------
    gdf : GeoDataFrame
        Points with ``population``.
    cell_m : float
        Square edge in metres.
    means : list of str, optional
        Columns of ``gdf`` averaged per square, weighted by ``population`` (NaN counts as
        0; plain mean where a square has no residents); columns ``gdf`` lacks are left out.

    Returns
    -------
    GeoDataFrame
        One row per non-empty square, in ``gdf``'s CRS.
    """
    cells, key = _squares(_grid_xy(gdf), cell_m)
    n = len(cells)
    pop = gdf["population"].to_numpy(float) if "population" in gdf else np.ones(len(gdf))
    x0, y0 = cells[:, 0] * cell_m, cells[:, 1] * cell_m
    sq = gpd.GeoSeries(shapely.box(x0, y0, x0 + cell_m, y0 + cell_m), crs=ZENSUS_CRS)
    out = {"points": np.bincount(key, minlength=n), "population": np.bincount(key, pop, n)}
    for c in [c for c in means or [] if c in gdf]:
        v = np.nan_to_num(gdf[c].to_numpy(float), nan=0.0, posinf=0.0, neginf=0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.bincount(key, pop * v, n) / out["population"]
        out[c] = np.where(out["population"] > 0, w, np.bincount(key, v, n) / out["points"])
    return gpd.GeoDataFrame(out, geometry=sq.to_crs(gdf.crs).to_numpy(), crs=gdf.crs)

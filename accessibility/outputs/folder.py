"""Map/report layers and exports: ``layers.gpkg``, GeoJSON, ``tables.xlsx``; reading an output folder.

Layers (network CRS in ``layers.gpkg``, EPSG:4326 in GeoJSON, RFC 7946):

- ``sites``: docking points used.
- ``residents``: resident points with their walking minutes.
- ``cells``: resident cells as 100 m squares (Zensus grid input only; EPSG:3035
  squares around the cell midpoints, reprojected).
- ``gaps``: populated points/cells beyond the largest threshold (or unreachable).
- ``isochrones``: per site and per category bands (see :mod:`accessibility.isochrones`).
- ``districts``: district polygons with ``share_<category>_<minutes>`` columns (0–1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._io import atomic_write, write_text
from ..core.analysis import Analysis
from ..errors import InputError
from ..inputs.zensus import ZENSUS_CRS
from ..record import parameters


@dataclass
class OutputData:
    """Everything maps and reports need, read from an output folder (no recomputation).

    Attributes
    ----------
    folder : Path
    record : dict
        ``run.json``.
    residents, sites : GeoDataFrame
        Network CRS.
    summary, summary_groups, summary_districts : DataFrame
    isochrones : GeoDataFrame or None
    districts : GeoDataFrame or None
        Polygons with the ``share_*`` columns.
    rejects : DataFrame
    scenario : dict
        Scenario layers found (``newly_covered``, ``lost_coverage``, ``scenario_sites``).
    islands : GeoDataFrame or None
        Network edges on pruned islands (``layers.gpkg``, layer ``islands``).
    """

    folder: Path
    record: dict
    residents: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    summary: pd.DataFrame
    summary_groups: pd.DataFrame
    summary_districts: pd.DataFrame
    isochrones: gpd.GeoDataFrame | None = None
    districts: gpd.GeoDataFrame | None = None
    rejects: pd.DataFrame = field(default_factory=pd.DataFrame)
    scenario: dict = field(default_factory=dict)
    islands: gpd.GeoDataFrame | None = None

    @property
    def minutes(self) -> list[float]:
        """Thresholds in minutes (ascending)."""
        return sorted(float(m) for m in self.record.get("parameters", {}).get("minutes", []))

    @property
    def categories(self) -> list[str]:
        """Site categories, ``all`` last."""
        cats = self.record.get("parameters", {}).get("categories")
        return list(cats) if cats else list(dict.fromkeys(self.summary["category"]))


def from_analysis(
    a: Analysis,
    record: dict | None = None,
    isochrones: gpd.GeoDataFrame | None = None,
    sites: gpd.GeoDataFrame | None = None,
    folder: str | Path = ".",
) -> OutputData:
    """What maps and reports need, straight from an analysis in memory (no folder read).

    :func:`accessibility.outputs.map.full_map` and
    :func:`accessibility.outputs.report.write_report` draw from it as from
    :func:`load_folder`.

    Parameters
    ----------
    a : Analysis
    record : dict, optional
        The run record (inputs, attributions, ...); the parameters used (``a.params``,
        categories, groups, network CRS) are added.
    isochrones : GeoDataFrame, optional
        From :func:`accessibility.core.isochrones.from_analysis` (network CRS).
    sites : GeoDataFrame, optional
        Sites to show (e.g. with visibility columns); default ``a.sites``.
    folder : path
        Names the result in titles (its last part).
    """
    record = dict(record or {})
    record["parameters"] = {
        **record.get("parameters", {}),
        **parameters(a.params, categories=a.categories, groups=a.groups, crs=a.network.crs),
    }
    record.setdefault("population_kind", a.residents.attrs.get("kind", ""))
    islands = None
    kept = ~a.network.kept_edges()
    if kept.any():
        net = a.network
        islands = gpd.GeoDataFrame(
            {"way_id": net.way_id[kept], "length_m": net.length[kept]},
            geometry=net.edge_lines()[kept],
            crs=net.crs,
        )
    districts = None
    if a.districts is not None:
        districts = district_layer(a.districts, a.summary_districts())
    return OutputData(
        folder=Path(folder),
        record=record,
        residents=finite(a.residents),
        sites=a.sites if sites is None else sites,
        summary=a.summary(),
        summary_groups=a.summary_groups(),
        summary_districts=a.summary_districts(),
        isochrones=isochrones,
        districts=districts,
        rejects=a.rejects.frame(),
        islands=islands,
    )


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.exists() else pd.DataFrame()


def load_folder(folder: str | Path, scenario: str | Path | None = None) -> OutputData:
    """Read an ``accessibility analyze`` output folder.

    Parameters
    ----------
    folder : path
        Folder with ``run.json``, ``residents.gpkg``, ``sites.gpkg``, ``summary*.csv``
        (``isochrones.gpkg``, ``layers.gpkg`` are used when present).
    scenario : path, optional
        A scenario output folder (``newly_covered.gpkg``, ``scenario_sites.gpkg``);
        by default those files are picked up from ``folder`` itself when present.
    """
    folder = Path(folder)
    need = ["run.json", "residents.gpkg", "sites.gpkg", "summary.csv"]
    missing = [n for n in need if not (folder / n).exists()]
    if missing:
        raise InputError(
            f"not an analysis output folder (missing {', '.join(missing)}); "
            "give the --out folder of `accessibility analyze`",
            folder,
        )
    try:
        record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(
            f"run.json cannot be read ({exc}); run the analysis again", folder
        ) from exc
    if not isinstance(record, dict):
        raise InputError("run.json is not a JSON object; run the analysis again", folder)
    iso = folder / "isochrones.gpkg"
    layers = folder / "layers.gpkg"
    districts = islands = None
    if layers.exists():
        import pyogrio

        names = [n for n, _ in pyogrio.list_layers(layers)]
        if "districts" in names:
            districts = gpd.read_file(layers, layer="districts")
        if "islands" in names:
            islands = gpd.read_file(layers, layer="islands")
    scen: dict = {}
    for d in [x for x in (Path(scenario) if scenario else None, folder) if x is not None]:
        for name in ("newly_covered", "lost_coverage", "scenario_sites"):
            if name not in scen and (d / f"{name}.gpkg").exists():
                scen[name] = gpd.read_file(d / f"{name}.gpkg")
    return OutputData(
        folder=folder,
        record=record,
        residents=gpd.read_file(folder / "residents.gpkg"),
        sites=gpd.read_file(folder / "sites.gpkg"),
        summary=_read_csv(folder / "summary.csv"),
        summary_groups=_read_csv(folder / "summary_groups.csv"),
        summary_districts=_read_csv(folder / "summary_districts.csv"),
        isochrones=gpd.read_file(iso) if iso.exists() else None,
        districts=districts,
        rejects=_read_csv(folder / "rejects.csv"),
        scenario=scen,
        islands=islands,
    )


def is_grid(record: dict) -> bool:
    """True if residents are Zensus grid cells placed at their midpoints."""
    return str(record.get("population_kind") or "") == "zensus_grid" and bool(
        record.get("cell_size_m")
    )


def cell_squares(residents: gpd.GeoDataFrame, cell_size_m: float) -> gpd.GeoSeries:
    """Zensus cells as squares of ``cell_size_m`` metres around their midpoints (EPSG:3035).

    Returns the squares in the residents' CRS.
    """
    mid = residents.geometry.to_crs(ZENSUS_CRS)
    h = cell_size_m / 2.0
    x, y = mid.x.to_numpy(), mid.y.to_numpy()
    sq = shapely.box(x - h, y - h, x + h, y + h)
    return gpd.GeoSeries(sq, index=residents.index, crs=ZENSUS_CRS).to_crs(residents.crs)


def resident_layer(residents: gpd.GeoDataFrame, record: dict) -> gpd.GeoDataFrame:
    """Residents as 100 m squares for Zensus grid input, points otherwise (same columns)."""
    if is_grid(record):
        return residents.set_geometry(cell_squares(residents, float(record["cell_size_m"])))
    return residents


def gaps_layer(residents: gpd.GeoDataFrame, max_minutes: float) -> gpd.GeoDataFrame:
    """Populated residents beyond ``max_minutes`` to the nearest site (or unreachable)."""
    m = residents["minutes_all"].to_numpy(float)
    keep = (residents["population"].to_numpy(float) > 0) & ~(m <= max_minutes)
    return residents.loc[keep]


def district_layer(
    districts: gpd.GeoDataFrame, summary_districts: pd.DataFrame
) -> gpd.GeoDataFrame:
    """District polygons with ``population`` and ``share_<category>_<minutes>`` (0–1) columns."""
    out = districts[["district", "geometry"]].copy()
    if summary_districts.empty:
        return out
    sd = summary_districts.copy()
    sd["col"] = "share_" + sd["category"].astype(str) + "_" + sd["minutes"].map("{:g}".format)
    wide = sd.pivot_table(index="district", columns="col", values="share_covered", sort=False)
    pop = sd.groupby("district", sort=False)["population"].first()
    out = out.merge(pop.rename("population"), left_on="district", right_index=True, how="left")
    return out.merge(wide, left_on="district", right_index=True, how="left")


def write_layers(layers: dict[str, gpd.GeoDataFrame], path: str | Path) -> Path:
    """Write several layers into one GeoPackage atomically (empty layers are skipped)."""

    def _w(p: Path) -> None:
        for name, gdf in layers.items():
            if gdf is not None and len(gdf):
                finite(gdf).to_file(p, layer=name, driver="GPKG")

    return atomic_write(path, _w, suffix=".gpkg")


def write_geojson(gdf: gpd.GeoDataFrame, path: str | Path, precision: int = 6) -> Path:
    """Write a layer as RFC 7946 GeoJSON (EPSG:4326, coordinates rounded to ``precision``)."""
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
    """A copy with ±inf in numeric columns as NaN (unreachable = empty in the files)."""
    df = df.copy()
    num = df.select_dtypes("number").columns
    df[num] = df[num].replace([np.inf, -np.inf], np.nan)
    return df


def write_xlsx(tables: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """Write tables as sheets of one Excel workbook (atomic).

    Text is stored as text: cells from OSM or user files that start with ``=``
    are never turned into formulas.
    """
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    def _w(p: Path) -> None:
        wb = Workbook()
        wb.remove(wb.active)
        for name, df in tables.items():
            ws = wb.create_sheet(title=name[:31])
            ws.append([str(c) for c in df.columns])
            for row in finite(df).itertuples(index=False):
                ws.append([_cell(v) for v in row])
            for cell in (c for col in ws.iter_cols(min_row=2) for c in col):
                if isinstance(cell.value, str):
                    cell.data_type = "s"
            ws.freeze_panes = "A2"
            for j, c in enumerate(df.columns, start=1):
                ws.column_dimensions[get_column_letter(j)].width = min(40, max(10, len(str(c)) + 2))
        wb.save(p)

    return atomic_write(path, _w, suffix=".xlsx")


def _cell(v):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, int | float | bool | str):
        return v
    return str(v)

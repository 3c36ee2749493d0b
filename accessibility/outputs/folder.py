"""Read an output folder back (:func:`load_folder`), or take the same data from a result in
memory (:func:`from_analysis`): :class:`OutputData` is what maps and reports draw from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ..core import supply as supplymod
from ..core.analysis import Analysis
from ..errors import InputError
from ..record import parameters
from .layers import district_layer, finite


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
    site_reach : DataFrame or None
        ``site_id`` and ``reach_<m>``: persons within ``m`` walking minutes of each site
        (door to door; from :func:`site_reach`, or ``sites.csv``'s
        ``residents_within_<m>_min``).
    priority : GeoDataFrame or None
        Priority areas per resident cell (``priority.gpkg``, layer ``cells``), by rank.
    priority_districts : DataFrame or None
        Priority areas per district (``priority_districts.csv``), by rank.
    supply : DataFrame
        ``summary_2sfca.csv`` (empty when the run computed no 2SFCA).
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
    site_reach: pd.DataFrame | None = None
    priority: gpd.GeoDataFrame | None = None
    priority_districts: pd.DataFrame | None = None
    supply: pd.DataFrame = field(default_factory=pd.DataFrame)

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

    Returns
    -------
    OutputData
        Layers in the network CRS (metres).
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
        site_reach=site_reach(a),
        supply=supplymod.summary(a),
    )


def site_reach(a: Analysis) -> pd.DataFrame:
    """Persons within each threshold of each site (door to door, every site on its own).

    Parameters
    ----------
    a : Analysis
        A finished analysis (its snapped sites and residents).

    Returns
    -------
    DataFrame
        ``site_id`` and ``reach_<m>`` (persons within ``m`` minutes) per threshold; a
        resident near several sites counts for each.
    """
    from ..planning.critical import critical_table

    if not len(a.sites) or a.site_snap is None or a.resident_snap is None:
        return pd.DataFrame({"site_id": pd.Series(dtype=str)})
    table, _ = critical_table(a, list(a.minutes))
    return table[["site_id", *[f"reach_{m:g}" for m in sorted(a.minutes)]]]


def _reach_from_csv(path: Path) -> pd.DataFrame | None:
    """``sites.csv``'s ``residents_within_<m>_min`` columns as ``reach_<m>``."""
    if not path.exists():
        return None
    t = pd.read_csv(path, dtype={"site_id": str})
    cols = {c: "reach_" + c[len("residents_within_") : -len("_min")]
            for c in t.columns if c.startswith("residents_within_") and c.endswith("_min")}  # fmt: skip
    return t[["site_id", *cols]].rename(columns=cols) if "site_id" in t else None


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

    Returns
    -------
    OutputData
        Layers in the CRS they were written in (the network CRS).

    Raises
    ------
    InputError
        Not an analysis output folder, or ``run.json`` unreadable.
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
    prio = folder / "priority.gpkg"
    prio_d = folder / "priority_districts.csv"
    return OutputData(
        folder=folder,
        record=record,
        priority=gpd.read_file(prio, layer="cells") if prio.exists() else None,
        priority_districts=pd.read_csv(prio_d) if prio_d.exists() else None,
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
        site_reach=_reach_from_csv(folder / "sites.csv"),
        supply=_read_csv(folder / "summary_2sfca.csv"),
    )

"""The run record (``run.json``): input files, versions, data vintage and attributions.

Every command writes one ``run.json`` next to its outputs; the pieces that do not depend on
a particular result live here so that input loading (``pipeline``) and the writers
(``outputs``) share them without importing each other.
"""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from pathlib import Path

from ._io import sha256
from .config import ATTRIBUTION_OSM, ATTRIBUTION_ZENSUS, ZENSUS_REFERENCE_DATES
from .params import WalkParams

#: Packages whose versions shape the results (recorded in ``run.json``).
PACKAGES = ["accessibility", "numpy", "scipy", "pandas", "geopandas", "shapely", "pyproj",
             "osmnx", "osmium", "networkx", "folium"]  # fmt: skip


def versions() -> dict[str, str]:
    """Versions of Python and the packages that shape the results.

    Returns
    -------
    dict
        Name → version string.
    """
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def file_record(path: str | Path | None) -> dict | None:
    """Path, size and SHA-256 of an input file.

    Parameters
    ----------
    path : str, Path or None

    Returns
    -------
    dict or None
        ``path``, ``bytes``, ``sha256``; None for no path.
    """
    if path is None:
        return None
    p = Path(path)
    if not p.exists():
        return {"path": str(p)}
    return {"path": str(p), "bytes": p.stat().st_size, "sha256": sha256(p)}


def attributions(population_kind: str | None, zensus_edition: str | None = None) -> list[str]:
    """Attribution lines for the data used (the Zensus edition named when known).

    Parameters
    ----------
    population_kind : str or None
        ``attrs["kind"]`` of the residents (e.g. ``zensus_grid``).
    zensus_edition : str, optional
        ``"2011"`` or ``"2022"``.

    Returns
    -------
    list of str
    """
    lines = [ATTRIBUTION_OSM]
    if population_kind and population_kind.startswith("zensus"):
        lines.append(ATTRIBUTION_ZENSUS.format(edition=zensus_edition or "2011/2022"))
    return lines


def data_vintage(osm_stats: dict, population_attrs: dict, download: dict | None = None) -> dict:
    """How current the inputs are, for ``run.json`` and the report.

    Parameters
    ----------
    osm_stats : dict
        ``OsmExtract.stats`` (``data_timestamp``, ``data_timestamp_source``).
    population_attrs : dict
        ``attrs`` of the residents (``kind``, ``edition``).
    download : dict, optional
        The download record of an online area (:func:`download.download_record`):
        its Overpass ``osm_base`` (the database state served) is the vintage then.

    Returns
    -------
    dict
        ``osm``: ``timestamp`` (ISO 8601 UTC or None) and ``source`` (Overpass database,
        file header, newest edit in the file, or None when the file carries no
        timestamps); ``zensus`` (Zensus input only): ``edition`` and ``reference_date``
        (Stichtag).
    """
    base = (download or {}).get("osm_base") or []
    if base:
        osm = {"timestamp": max(base), "source": "Overpass database"}
    else:
        osm = {"timestamp": osm_stats.get("data_timestamp"),
               "source": osm_stats.get("data_timestamp_source")}  # fmt: skip
    out = {"osm": osm}
    if str(population_attrs.get("kind") or "").startswith("zensus"):
        ed = population_attrs.get("edition")
        out["zensus"] = {"edition": ed, "reference_date": ZENSUS_REFERENCE_DATES.get(ed)}  # type: ignore[arg-type]
    return out


def parameters(params: WalkParams, **extra: object) -> dict:
    """The "parameters" block of ``run.json``: the walking parameters actually used
    (minutes, speed_kmh in km/h, max_access_m in metres, min_component in nodes) plus
    command-specific ``extra`` entries (categories, CRS, k, ...).

    Parameters
    ----------
    params : WalkParams
        Minutes, speed (km/h), access leg (metres), profile.
    **extra
        Further entries (``categories``, ``groups``, ``crs``, ...).

    Returns
    -------
    dict
    """
    return {**params.record(), **extra}

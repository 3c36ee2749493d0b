"""Package-wide defaults and locations.

Units: metres, minutes, km/h. Working CRS is metric (EPSG:25832 in Germany,
the local UTM zone elsewhere).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

#: Default walking speed in km/h (80 m per minute). A common planning value for
#: adults; slower groups (elderly, with children) can be modelled with ``--speed``.
DEFAULT_SPEED_KMH = 4.8

#: Default thresholds in minutes.
DEFAULT_MINUTES = (5, 10, 15)

#: Sites or residents whose straight access leg to the nearest walkable edge is
#: longer than this (metres) are rejected: the point is far outside the network
#: (swapped coordinates, wrong CRS) or the network does not cover it.
MAX_ACCESS_LEG_M = 500.0

#: Accepted ranges of the walking options: ``--speed`` above the first value up to the
#: second (km/h), ``--max-access`` (metres), ``--minutes`` (each threshold).
SPEED_RANGE_KMH = (0.0, 30.0)
MAX_ACCESS_RANGE_M = (0.0, 10_000.0)
MINUTES_RANGE = (0.0, 600.0)

#: Residents one input row may hold at most; a larger (or negative, NaN, infinite)
#: value is a rejected row. A 100 m Zensus cell: the densest German cells hold about
#: 1,500 persons, so 10,000 is generous. A point or polygon of a points/polygons file
#: (a building, an address, a statistical block): 100,000. Coarser Zensus cells scale
#: the 100 m bound with their area, capped at the point bound (a 1 km cell: 100,000;
#: the densest German 1 km cells hold about 30,000): see :func:`max_residents_per_cell`.
MAX_RESIDENTS_PER_CELL = 10_000
MAX_RESIDENTS_PER_POINT = 100_000


def max_residents_per_cell(cell_size_m: float = 100.0) -> float:
    """Most residents a Zensus cell of ``cell_size_m`` metres may hold (persons).

    Parameters
    ----------
    cell_size_m : float
        Edge length of the square grid cell in metres (100 for the 100 m grid).

    Returns
    -------
    float
        The plausibility cap in persons: the 100 m cap scaled by cell area, but never
        above the per-point cap ``MAX_RESIDENTS_PER_POINT``.
    """
    return float(min(MAX_RESIDENTS_PER_CELL * (cell_size_m / 100.0) ** 2, MAX_RESIDENTS_PER_POINT))


#: Island pruning: residents and sites snap only onto network components with at
#: least this many nodes (the largest always counts); ``--min-component``.
DEFAULT_MIN_COMPONENT = 40

#: Attribution lines written into every output.
ATTRIBUTION_OSM = "© OpenStreetMap contributors, ODbL 1.0"
#: ``{edition}``: 2011 or 2022 (``2011/2022`` when the ids do not tell).
ATTRIBUTION_ZENSUS = "© Statistisches Bundesamt (Destatis), Zensus {edition}, dl-de/by-2-0"
#: Attribution of official German boundaries (municipal polygons of BKG VG250, ``batch --areas``).
ATTRIBUTION_BKG = "© GeoBasis-DE / BKG (VG250), dl-de/by-2-0"
#: Reference dates (Stichtag) of the Zensus editions.
ZENSUS_REFERENCE_DATES = {"2011": "2011-05-09", "2022": "2022-05-15"}


def cache_dir() -> Path:
    """Folder for parsed-network and download caches.

    ``$ACCESSIBILITY_CACHE`` if set, else ``~/.cache/accessibility``.

    Returns
    -------
    Path
        The cache folder; created if possible (an unwritable folder is returned
        anyway, the cache writers then warn and go on uncached).
    """
    root = os.environ.get("ACCESSIBILITY_CACHE")
    path = Path(root) if root else Path.home() / ".cache" / "accessibility"
    # an unwritable cache is not fatal: the cache writers warn and go on uncached
    with contextlib.suppress(OSError):
        path.mkdir(parents=True, exist_ok=True)
    return path


def shared_data_dir() -> Path:
    """Folder with the real shared data sets used by tests and benchmarks.

    ``$ACCESSIBILITY_DATA`` if set, else ``../shared/data`` next to the project root.

    Returns
    -------
    Path
        The data folder (not checked for existence).
    """
    root = os.environ.get("ACCESSIBILITY_DATA")
    if root:
        return Path(root)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"

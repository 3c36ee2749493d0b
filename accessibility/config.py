"""Package-wide defaults and locations.

Units: metres, minutes, km/h. Working CRS is metric (EPSG:25832 in Germany,
the local UTM zone elsewhere).
"""

from __future__ import annotations

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

#: Island pruning: residents and sites snap only onto network components with at
#: least this many nodes (the largest always counts); ``--min-component``.
DEFAULT_MIN_COMPONENT = 40

#: Attribution lines written into every output.
ATTRIBUTION_OSM = "© OpenStreetMap contributors, ODbL 1.0"
#: ``{edition}``: 2011 or 2022 (``2011/2022`` when the ids do not tell).
ATTRIBUTION_ZENSUS = "© Statistisches Bundesamt (Destatis), Zensus {edition}, dl-de/by-2-0"
#: Reference dates (Stichtag) of the Zensus editions.
ZENSUS_REFERENCE_DATES = {"2011": "2011-05-09", "2022": "2022-05-15"}


def cache_dir() -> Path:
    """Folder for parsed-network and download caches.

    ``$ACCESSIBILITY_CACHE`` if set, else ``~/.cache/accessibility``.
    """
    root = os.environ.get("ACCESSIBILITY_CACHE")
    path = Path(root) if root else Path.home() / ".cache" / "accessibility"
    path.mkdir(parents=True, exist_ok=True)
    return path


def shared_data_dir() -> Path:
    """Folder with the real shared data sets used by tests and benchmarks.

    ``$ACCESSIBILITY_DATA`` if set, else ``../shared/data`` next to the project root.
    """
    root = os.environ.get("ACCESSIBILITY_DATA")
    if root:
        return Path(root)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"

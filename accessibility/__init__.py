"""Docking-point accessibility analyzer.

Door-to-door walking coverage of low-threshold contact points ("Andockstellen")
from OpenStreetMap and census grids.

The public API is re-exported here and imported on first use, so ``import
accessibility`` (and the command line's ``--help``) stays fast::

    import accessibility as acc

    inputs = acc.load_inputs(network="city.osm.pbf", population=["zensus.csv"])
    a = acc.run(inputs, minutes=[5, 10, 15])
    a.summary()                     # share of residents within each threshold
    bands = acc.isochrones.from_analysis(a)   # isochrone polygons per site and category
    acc.write_outputs(a, "out/", record={})
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: Public name → module that defines it.
_API = {
    # inputs
    "load_network": "network", "Network": "network", "load_inputs": "pipeline",
    "read_zensus": "zensus", "read_points": "population",
    "estimate_from_buildings": "buildings", "load_presets": "sites",
    "sites_from_osm": "sites", "read_sites": "sites", "combine_sites": "sites",
    "make_geocoder": "geocode",
    # analysis
    "run": "pipeline", "analyze": "analysis", "Analysis": "analysis",
    # scenarios, ranking, housing stock
    "read_scenario": "scenarios", "run_scenario": "scenarios",
    "rank_candidates": "ranking", "check_stock": "stock",
    # outputs
    "write_outputs": "outputs", "load_folder": "exports", "full_map": "mapping",
    "write_report": "report",
    # errors
    "AccessibilityError": "errors", "InputError": "errors", "NetworkError": "errors",
    "GeocodingError": "errors", "ScenarioError": "errors", "AllRejectedError": "errors",
}  # fmt: skip

__all__ = [
    "AccessibilityError",
    "AllRejectedError",
    "Analysis",
    "GeocodingError",
    "InputError",
    "Network",
    "NetworkError",
    "ScenarioError",
    "analyze",
    "check_stock",
    "combine_sites",
    "estimate_from_buildings",
    "full_map",
    "isochrones",
    "load_folder",
    "load_inputs",
    "load_network",
    "load_presets",
    "make_geocoder",
    "rank_candidates",
    "read_points",
    "read_scenario",
    "read_sites",
    "read_zensus",
    "run",
    "run_scenario",
    "sites_from_osm",
    "write_outputs",
    "write_report",
]  # the names of _API and the isochrones module


def __getattr__(name: str):
    if name in _API:
        value = getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    elif importlib.util.find_spec(f"{__name__}.{name}") is not None:  # a module: acc.isochrones
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'accessibility' has no attribute {name!r}")
    globals()[name] = value  # next time without __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:  # static tools see the real objects
    from . import isochrones
    from .analysis import Analysis, analyze
    from .buildings import estimate_from_buildings
    from .errors import (
        AccessibilityError,
        AllRejectedError,
        GeocodingError,
        InputError,
        NetworkError,
        ScenarioError,
    )
    from .exports import load_folder
    from .geocode import make_geocoder
    from .mapping import full_map
    from .network import Network, load_network
    from .outputs import write_outputs
    from .pipeline import load_inputs, run
    from .population import read_points
    from .ranking import rank_candidates
    from .report import write_report
    from .scenarios import read_scenario, run_scenario
    from .sites import combine_sites, load_presets, read_sites, sites_from_osm
    from .stock import check_stock
    from .zensus import read_zensus

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

#: Public name → module that defines it (dotted below ``accessibility``).
_API = {
    # inputs
    "load_network": "core.network", "Network": "core.network", "load_inputs": "pipeline",
    "Inputs": "pipeline", "read_zensus": "inputs.zensus", "read_points": "inputs.population",
    "estimate_from_buildings": "inputs.buildings", "load_presets": "inputs.sites",
    "sites_from_osm": "inputs.osm_sites", "read_sites": "inputs.sites",
    "combine_sites": "inputs.sites", "make_geocoder": "inputs.geocode", "Rejects": "rejects",
    # analysis
    "run": "pipeline", "analyze": "core.analysis", "Analysis": "core.analysis",
    # scenarios, ranking, housing stock
    "read_scenario": "planning.scenario_file", "run_scenario": "planning.scenario",
    "ScenarioResult": "planning.scenario", "rank_candidates": "planning.ranking",
    "RankResult": "planning.ranking", "check_stock": "planning.stock",
    "StockCheck": "planning.stock",
    # outputs
    "write_outputs": "pipeline", "load_folder": "outputs.folder",
    "full_map": "outputs.map", "write_report": "outputs.report",
    # errors
    "AccessibilityError": "errors", "InputError": "errors", "NetworkError": "errors",
    "GeocodingError": "errors", "ScenarioError": "errors", "AllRejectedError": "errors",
}  # fmt: skip

#: Module namespaces as in osmnx (``acc.network``, ``acc.scenario``, ...) → their home; the
#: names of the flat layout before issue 16 (``acc.scenarios``, ``acc.mapping``, ...) still work.
_MODULES = {
    **{m: f"core.{m}" for m in (
        "network", "routing", "analysis", "coverage", "isochrones", "blocks", "visibility")},
    **{m: f"planning.{m}" for m in (
        "scenario", "scenario_file", "ranking", "candidates", "critical", "stock", "priority",
        "change")},
    **{m: f"inputs.{m}" for m in (
        "presets", "sites", "osm_sites", "geocode", "zensus", "population", "download", "osm", "osm_keys",
        "buildings", "spread", "servers")},
    **{m: f"outputs.{m}" for m in ("map", "report", "files", "folder", "scenario_report")},
    # old flat names
    "scenarios": "planning.scenario", "mapping": "outputs.map", "exports": "outputs.folder",
    "rank_maps": "outputs.planning_maps", "profiles": "params",
    "duplicates": "inputs.site_duplicates",
}  # fmt: skip

__all__ = [
    "AccessibilityError",
    "AllRejectedError",
    "Analysis",
    "GeocodingError",
    "InputError",
    "Inputs",
    "Network",
    "NetworkError",
    "RankResult",
    "Rejects",
    "ScenarioError",
    "ScenarioResult",
    "StockCheck",
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


def __getattr__(name: str) -> object:
    if name in _API:
        value = getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    elif name in _MODULES:  # a module namespace: acc.isochrones, acc.scenario
        value = importlib.import_module(f".{_MODULES[name]}", __name__)
    elif importlib.util.find_spec(f"{__name__}.{name}") is not None:  # acc.config, acc.core
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'accessibility' has no attribute {name!r}")
    globals()[name] = value  # next time without __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:  # static tools see the real objects
    from .core import isochrones
    from .core.analysis import Analysis, analyze
    from .core.network import Network, load_network
    from .errors import (
        AccessibilityError,
        AllRejectedError,
        GeocodingError,
        InputError,
        NetworkError,
        ScenarioError,
    )
    from .inputs.buildings import estimate_from_buildings
    from .inputs.geocode import make_geocoder
    from .inputs.osm_sites import sites_from_osm
    from .inputs.population import read_points
    from .inputs.sites import combine_sites, load_presets, read_sites
    from .inputs.zensus import read_zensus
    from .outputs.folder import load_folder
    from .outputs.map import full_map
    from .outputs.report import write_report
    from .pipeline import Inputs, load_inputs, run, write_outputs
    from .planning.ranking import RankResult, rank_candidates
    from .planning.scenario import ScenarioResult, run_scenario
    from .planning.scenario_file import read_scenario
    from .planning.stock import StockCheck, check_stock
    from .rejects import Rejects

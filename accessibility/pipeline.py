"""Load every input of a run (network, sites, residents, districts) and run it.

Shared by the ``analyze``, ``demo`` and later commands, so they all read inputs
the same way and record the same provenance.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.geometry

from ._text import slug as slug  # re-exported (used to live here)
from .config import (
    DEFAULT_MINUTES,
    DEFAULT_SPEED_KMH,
    MAX_ACCESS_LEG_M,
)
from .core.analysis import Analysis, analyze
from .core.isochrones import CORRIDOR_M, MIN_HOLE_M2
from .core.isochrones import from_analysis as isochrones_from_analysis
from .core.network import DEFAULT_MIN_COMPONENT, Network, load_network
from .core.visibility import with_visibility
from .errors import AllRejectedError, InputError
from .inputs import download
from .inputs import population as pop
from .inputs import sites as sitemod
from .inputs.districts import read_districts
from .inputs.geocode import Geocoder, check_accept, make_geocoder
from .inputs.osm import OsmExtract, read_osm
from .inputs.osm_keys import feature_keys
from .inputs.osm_sites import sites_from_osm
from .inputs.presets import load_presets
from .inputs.servers import Servers
from .inputs.site_duplicates import drop_duplicates
from .inputs.sites import new_categories
from .inputs.stock_file import read_stock
from .outputs.files import Products
from .outputs.files import write_outputs as write_files
from .outputs.folder import OutputData, load_folder
from .outputs.i18n import default_lang, labels, place_name
from .outputs.map import full_map
from .outputs.scenario_report import write_scenario_report
from .params import Profile, WalkParams
from .planning.candidates import candidates_from_osm, candidates_from_streets, with_addresses
from .planning.change import Run, RunChange, compare_runs
from .planning.critical import critical_table
from .planning.priority import NeedSpec, Priority, load_need, priority, resolve_need
from .planning.ranking import RankRun, rank_candidates
from .planning.scenario import (
    ADDED,
    Comparison,
    ScenarioResult,
    apply_changes,
    resolve_addresses,
    run_scenario,
    side_by_side,
)
from .planning.scenario_file import Change, Scenario
from .planning.stock import StockCheck, check_stock
from .record import attributions, data_vintage, file_record
from .rejects import Rejects


@dataclass
class Inputs:
    """Everything a run needs, loaded and validated."""

    network: Network
    extract: OsmExtract
    sites: gpd.GeoDataFrame
    residents: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame | None
    categories: list[str]
    rejects: Rejects
    record: dict = field(default_factory=dict)
    geocoder_kind: str = "offline"
    user_agent: str | None = None
    _geocoder: Geocoder | None = field(default=None, repr=False)
    servers: Servers | None = None
    osm_path: Path | None = None
    accept: tuple[str, ...] = ()

    def network_for(self, profile: Profile) -> Network:
        """The walking network of this run's OSM file for another walking profile.

        Same CRS and island threshold as :attr:`network`; ``profile`` is an
        :class:`accessibility.params.Profile`.

        Parameters
        ----------
        profile : Profile
            The walking profile; one that restricts nothing (or None) reuses
            :attr:`network`.

        Returns
        -------
        Network
            The profile's network (projected CRS, metres).
        """
        if profile is None or not profile.restricts:
            return self.network
        return load_network(
            self.osm_path, crs=self.network.crs, min_component=self.network.min_component,  # type: ignore[arg-type]
            profile=profile, use_cache=self.network._cache_file is not None,
        )  # fmt: skip

    def geocoder(self) -> Geocoder:
        """The geocoder for address rows in further files (scenario additions, candidates).

        Returns
        -------
        Geocoder
            Built on first use (``geocoder_kind``, the run's servers and user agent) and
            kept for later calls.
        """
        if self._geocoder is None:
            self._geocoder = _make_geocoder(
                self.geocoder_kind, self.extract, self.user_agent, self.servers, self.accept
            )
        return self._geocoder


def _make_geocoder(
    kind: str,
    extract: OsmExtract,
    user_agent: str | None,
    servers: Servers | None = None,
    accept: Sequence[str] = (),
) -> Geocoder:
    """The geocoder of a run; Nominatim on the run's server, rate and user agent;
    ``accept``: weak matches used (``("street",)``), see :func:`make_geocoder`."""

    kw: dict = {}
    if kind == "nominatim":
        kw = (servers or Servers.from_env()).geopy_kwargs()
        if user_agent:
            kw["user_agent"] = user_agent
    return make_geocoder(kind, extract, accept=accept, **kw)


class _Lazy:
    """Builds the geocoder on first use: a sites file without address rows never needs it."""

    def __init__(self, make):
        self._make, self._obj = make, None

    def __getattr__(self, name):
        if self._obj is None:
            self._obj = self._make()
        return getattr(self._obj, name)


def run_name(network: str | None, place: str | None) -> str:
    """Default output name: the network file's stem or the place name.

    Parameters
    ----------
    network : str or None
        The OSM file (``.osm``, ``.gz``, ``.bz2``, ``.pbf`` suffixes dropped).
    place : str or None
        The place name, used without a network file.

    Returns
    -------
    str
        A folder-safe slug (``area`` when neither is given).
    """
    if network:
        name = Path(network).name
        for suffix in (".gz", ".bz2", ".pbf", ".osm"):
            name = name.removesuffix(suffix)
        return slug(name)
    return slug(place or "area")


def load_area(
    *,
    network: str | Path | None = None,
    place: str | None = None,
    bbox: Sequence[float] | None = None,
    polygon: str | Path | None = None,
    area: str | Path | None = None,
    minutes: Sequence[float] = DEFAULT_MINUTES,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    use_cache: bool = True,
    progress: bool = False,
    presets: str | Path | None = None,
    servers: Servers | None = None,
    refresh: bool = False,
    min_component: int = DEFAULT_MIN_COMPONENT,
    profile: Profile | None = None,
) -> tuple[Network, OsmExtract, dict]:
    """The walking network and OSM extract of a local file or a downloaded area.

    Without ``network``, exactly one of ``place``, ``bbox`` (west, south, east,
    north in degrees) or ``polygon``/``area`` (a polygon file) gives the study
    area, which is downloaded buffered by the largest walking distance
    (max(minutes) × speed, metres), so walks and sites across its border count.
    With ``network`` (a local OSM file), one of them may be given as well: it
    then only defines the study area (whose residents are counted, see
    :func:`residents_in_area`).

    Parameters
    ----------
    presets : path, optional
        The run's preset file; the download asks for the features its
        categories need (:func:`accessibility.inputs.osm_keys.feature_keys`).
    servers : Servers, optional
        Overpass/Nominatim servers and limits; default
        :meth:`accessibility.inputs.servers.Servers.from_env` when one is needed.
    refresh : bool
        Download again (and geocode ``place`` again) even if cached.
    min_component : int
        Island threshold in nodes: points snap only onto components at least
        that large.
    profile : Profile, optional
        :class:`accessibility.params.Profile`; the network leaves out what it avoids.

    Returns
    -------
    (Network, OsmExtract, dict)
        The run record so far: ``inputs`` (file or download record), ``timings_s``,
        ``osm_stats``, ``study_area`` (with ``geometry``, GeoJSON EPSG:4326, and for a
        place the Nominatim result it came from, ``nominatim``; absent without a
        study area) and ``servers`` (when a server was asked).
    """
    record: dict = {"inputs": {}, "timings_s": {}}
    if polygon is not None and area is not None:
        raise InputError("give the study area polygon once: --area FILE (or --polygon FILE)")
    polygon = polygon if polygon is not None else area
    given = sum(x is not None for x in (place, bbox, polygon))
    if (network is None and given != 1) or given > 1:
        raise InputError(
            "give exactly one of --network FILE, --place NAME, --bbox W,S,E,N or --polygon FILE "
            "(with --network, --bbox/--area/--place only restrict the residents counted)"
        )
    t0 = time.perf_counter()
    # the features the run needs: asked of Overpass and kept by the parser alike
    keys = feature_keys(load_presets(presets))
    study = None
    if given:
        if place is not None or network is None:
            servers = servers or Servers.from_env()
        if place is not None:
            study, found = download.geocode_place(place, servers, refresh=refresh)
        else:
            study = download.study_area(bbox=bbox, polygon=polygon)
        record["study_area"] = {
            "source": "place" if place is not None else "bbox" if bbox is not None else "polygon",
            "place": place, "bbox": list(bbox) if bbox is not None else None,
            "polygon": file_record(polygon), "bounds": list(study.bounds),
            "geometry": shapely.geometry.mapping(study),
        }  # fmt: skip
        if place is not None:
            record["study_area"]["nominatim"] = found
    if network is None:
        buffer_m = max(minutes) * speed_kmh * 1000 / 60
        with servers.osmnx():
            osm_path = download.fetch_osm(
                download.buffer_area(study, buffer_m), refresh=refresh, progress=progress,
                keys=keys, servers=servers,
            )  # fmt: skip
        record["inputs"]["download"] = {
            **download.download_record(osm_path),
            "place": place, "bbox": list(bbox) if bbox else None,
            "polygon": file_record(polygon), "buffer_m": buffer_m,
        }  # fmt: skip
        record["study_area"]["buffer_m"] = buffer_m
    else:
        osm_path = Path(network)
        record["inputs"]["network"] = file_record(osm_path)
    if servers is not None:
        record["servers"] = servers.record()
    net = load_network(
        osm_path, use_cache=use_cache, progress=progress, min_component=min_component,
        profile=profile,
    )  # fmt: skip
    record["osm_path"] = str(osm_path)
    record["timings_s"]["network"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    extract = read_osm(osm_path, use_cache=use_cache, progress=progress, keys=keys)
    record["timings_s"]["osm_features"] = time.perf_counter() - t0
    record["osm_stats"] = extract.stats
    return net, extract, record


def residents_in_area(
    residents: gpd.GeoDataFrame, area: gpd.GeoDataFrame | None
) -> tuple[gpd.GeoDataFrame, dict[str, float | int]]:
    """The residents of the study area, and how many were left out.

    A resident point counts if it lies inside or on the border of ``area``
    (polygons and cells by their representative point, the point the analysis
    snaps). Those outside are not rejected rows: they are simply not the study
    area's residents, and only counted.

    Parameters
    ----------
    residents : GeoDataFrame
        Resident points (any CRS) with ``population``.
    area : Polygon or MultiPolygon
        Study area, EPSG:4326.

    Returns
    -------
    (GeoDataFrame, dict)
        The residents inside (``attrs`` kept) and ``residents_inside``,
        ``resident_points_inside``, ``residents_outside``, ``resident_points_outside``.

    Raises
    ------
    InputError
        No resident lies inside the area.
    """
    geom = residents.geometry
    if not geom.geom_type.eq("Point").all():
        geom = geom.representative_point()
    pts = geom.to_crs("EPSG:4326").to_numpy()
    shapely.prepare(area)
    inside = np.asarray(shapely.covers(area, pts), dtype=bool)
    pop_ = residents["population"].to_numpy(float)
    stats = {
        "residents_inside": float(pop_[inside].sum()),
        "resident_points_inside": int(inside.sum()),
        "residents_outside": float(pop_[~inside].sum()),
        "resident_points_outside": int((~inside).sum()),
    }
    if not inside.any():
        raise InputError(
            f"none of the {len(residents):,} resident points lies inside the study area "
            f"(bounds {tuple(round(b, 5) for b in area.bounds)}, west, south, east, north); "
            "is the area right, and does the population data cover it?"
        )
    out = residents.loc[inside].copy()
    out.attrs = dict(residents.attrs)
    return out, stats


def load_sites(
    extract: OsmExtract,
    rejects: Rejects,
    record: dict,
    *,
    sites: str | Path | None = None,
    sites_crs: str | None = None,
    osm_categories: Sequence[str] | None = None,
    presets: str | Path | None = None,
    geocoder: Geocoder | None = None,
    capacity_column: str | None = None,
    capacity_required: bool = False,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Docking points: the user's file and/or OSM preset categories.

    With ``sites`` only those are used, plus ``osm_categories`` if given; without
    it, ``osm_categories`` or else every preset category. Address rows of the
    file are geocoded with ``geocoder``. Sites describing the same place twice
    (a user row and an OSM feature, or an OSM node and area of one facility) are
    merged by :func:`accessibility.inputs.site_duplicates.drop_duplicates`; each dropped one
    goes to ``rejects``. Adds the files to ``record["inputs"]``.

    Parameters
    ----------
    extract : OsmExtract
        The OSM extract (features for preset sites; bounds for checking the file's sites).
    rejects : Rejects
        Receives unusable and duplicate site rows.
    record : dict
        Run record; updated in place (``inputs``, ``new_categories``, ``category_labels``).
    sites : path, optional
        The user's sites file (CSV, GeoJSON or GeoPackage).
    sites_crs : str, optional
        CRS of the file's x/y coordinates (lat/lon columns are EPSG:4326).
    osm_categories : sequence of str, optional
        Preset categories to take from OSM.
    presets : path, optional
        Preset file; default the packaged presets.
    geocoder : Geocoder, optional
        Address lookup for rows without coordinates.
    capacity_column, capacity_required
        The file's capacity column for the 2SFCA, read into ``capacity`` (see
        :func:`accessibility.inputs.sites.read_sites`); OSM sites get NaN (the default).

    Returns
    -------
    (GeoDataFrame, list of str)
        Sites (EPSG:4326) and the categories to report (incl. requested ones
        without any site). ``record["category_labels"]`` gets the German and English
        label of every preset category among them.
    """
    table = sitemod.load_presets(presets)
    if presets:
        record["inputs"]["presets"] = file_record(presets)
    wanted = list(osm_categories or [])
    if wanted:
        sitemod.check_categories(wanted, table)
    frames = []
    if sites is not None:
        record["inputs"]["sites"] = file_record(sites)
        frames.append(
            sitemod.read_sites(
                sites,
                rejects,
                crs=sites_crs,
                bounds=extract.bounds,
                geocoder=geocoder,
                capacity_column=capacity_column,
                capacity_required=capacity_required,
            )  # fmt: skip
        )
    else:
        wanted = wanted or list(table["categories"])
    if wanted:
        frames.append(sites_from_osm(extract.features, table, wanted))
        if capacity_column is not None:
            frames[-1]["capacity"] = np.nan
    site_gdf = sitemod.combine_sites(*frames) if len(frames) > 1 else frames[0]
    # rejects name the file as the user gave it; `source` holds only its name
    site_gdf.attrs["files"] = {Path(sites).name: str(sites)} if sites is not None else {}
    site_gdf = drop_duplicates(site_gdf, rejects, extract.features)
    categories = list(dict.fromkeys([*wanted, *site_gdf["category"].astype(str)]))
    known = table["categories"]
    if sites is not None:
        record["new_categories"] = new_categories(site_gdf, known, sites)
    record["category_labels"] = {
        c: {"de": known[c]["label_de"], "en": known[c]["label_en"]}
        for c in categories
        if c in known
    }
    return site_gdf, categories


def load_inputs(
    *,
    network: str | Path | None = None,
    place: str | None = None,
    bbox: Sequence[float] | None = None,
    polygon: str | Path | None = None,
    area: str | Path | None = None,
    sites: str | Path | None = None,
    sites_crs: str | None = None,
    osm_categories: Sequence[str] | None = None,
    presets: str | Path | None = None,
    population: Sequence[str | Path] = (),
    population_column: str | None = None,
    population_crs: str | None = None,
    spread_to_buildings: bool = False,
    population_total: float | None = None,
    districts: str | Path | None = None,
    district_column: str | None = None,
    minutes: Sequence[float] = DEFAULT_MINUTES,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    use_cache: bool = True,
    progress: bool = False,
    geocoder: str = "offline",
    user_agent: str | None = None,
    accept: Sequence[str] = (),
    servers: Servers | None = None,
    refresh: bool = False,
    min_component: int = DEFAULT_MIN_COMPONENT,
    profile: Profile | None = None,
    capacity_column: str | None = None,
    capacity_required: bool = False,
) -> Inputs:
    """Load and validate all inputs of a run.

    Exactly one of ``network`` (a local OSM file), ``place``, ``bbox``
    (west, south, east, north in degrees) or ``polygon`` (a file) gives the area.
    Site rows given by address are geocoded with ``geocoder`` (``"offline"``: the
    extract's OSM addresses only; ``"nominatim"``: then Nominatim, rate-limited, cached).
    Online areas are downloaded buffered by the largest walking distance
    (max(minutes) × speed), so walks and sites across the border count; the
    residents counted are those inside the study area (``place``, ``bbox``,
    ``polygon``/``area``; with ``network`` too), the others are left out and
    counted in ``record["study_area"]`` (see :func:`residents_in_area`).
    ``servers`` (:class:`accessibility.inputs.servers.Servers`) names the Overpass and
    Nominatim servers; ``refresh`` downloads the area again.

    Zensus cells coarser than 100 m (1 km) are always spread over residential buildings
    or streets (:func:`accessibility.inputs.spread.spread_cells`); ``population_total``
    rescales the counted residents (and groups; after the study-area clip) to that official total
    (:func:`accessibility.inputs.population.scale_to_total`).
    ``min_component``: island threshold in nodes (see :func:`load_area`).

    Parameters
    ----------
    network, place, bbox, polygon, area
        The study area, as for :func:`load_area` (``bbox`` in degrees, EPSG:4326).
    sites, sites_crs, osm_categories, presets
        The docking points, as for :func:`load_sites`.
    population : sequence of path
        ``--population`` files; empty: estimated from the OSM buildings.
    population_column, population_crs
        Residents column and x/y CRS of a points/polygons population file.
    spread_to_buildings : bool
        Spread 100 m Zensus cells onto the buildings in them.
    population_total : float, optional
        Official number of residents (persons) to rescale to.
    districts, district_column
        District polygons file and its name column.
    minutes : sequence of float
        Thresholds in minutes (size the download buffer).
    speed_kmh : float
        Walking speed in km/h (sizes the download buffer).
    use_cache, progress, refresh
        Reuse cached parses/downloads; show progress; download again.
    geocoder : {"offline", "nominatim"}
        Address lookup for site rows without coordinates.
    user_agent : str, optional
        HTTP user agent for Nominatim.
    accept : sequence of str
        Weak geocoding matches to use: ``("street",)`` places addresses found by street
        only (``--accept street``); by default they are rejected with the reason.
    servers : Servers, optional
        Overpass/Nominatim servers and limits.
    min_component : int
        Island threshold in nodes.
    profile : Profile, optional
        Walking profile whose network is built.
    capacity_column, capacity_required
        Read each site's capacity (2SFCA) from this column of ``sites``, as for
        :func:`load_sites`.

    Returns
    -------
    Inputs
        Network (projected CRS, metres), extract, sites (EPSG:4326), residents,
        districts, categories, rejects and the run record.
    """
    rejects = Rejects()
    if geocoder == "nominatim" and servers is None:
        servers = Servers.from_env()
    net, extract, record = load_area(
        network=network, place=place, bbox=bbox, polygon=polygon, area=area, minutes=minutes,
        speed_kmh=speed_kmh, use_cache=use_cache, progress=progress, presets=presets,
        servers=servers, refresh=refresh,
        min_component=min_component, profile=profile,
    )  # fmt: skip
    osm_path = Path(record.pop("osm_path"))
    timings = record["timings_s"]
    t0 = time.perf_counter()
    geo = (
        _Lazy(lambda: _make_geocoder(geocoder, extract, user_agent, servers, accept))
        if sites is not None
        else None
    )
    site_gdf, categories = load_sites(
        extract, rejects, record, sites=sites, sites_crs=sites_crs,
        osm_categories=osm_categories, presets=presets, geocoder=geo,
        capacity_column=capacity_column, capacity_required=capacity_required,
    )  # fmt: skip
    if sites is not None:
        record["geocoder"] = geocoder
        record["geocoder_accept"] = list(check_accept(accept))
    timings["sites"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    population = [Path(p) for p in population]
    residents = pop.read_population(
        population, extract, rejects, population_column=population_column,
        population_crs=population_crs, to_buildings=spread_to_buildings,
    )  # fmt: skip
    if len(residents) == 0 and population:
        reasons = rejects.counts()
        why = f" (e.g. {reasons['reason'].iloc[0]})" if len(reasons) else ""
        raise AllRejectedError(f"no usable resident row{why}", population[0])
    if spread_to_buildings and residents.attrs.get("kind") not in (
        "zensus_grid_spread_to_buildings", "zensus_grid_spread",
    ):  # fmt: skip
        raise InputError("--spread-to-buildings needs Zensus grid CSV input (--population)")
    if "study_area" in record:
        study = shapely.geometry.shape(record["study_area"]["geometry"])
        residents, outside = residents_in_area(residents, study)
        record["study_area"].update(outside)
    if population_total is not None:
        residents = pop.scale_to_total(residents, population_total)
        record["population_scaling"] = residents.attrs["scaling"]
    record["inputs"]["population"] = [file_record(p) for p in population] or None
    record["population_method"] = residents.attrs.get("method", "")
    record["population_kind"] = residents.attrs.get("kind", "")
    record["cell_size_m"] = residents.attrs.get("cell_size_m")
    if "spread" in residents.attrs:
        record["population_spread"] = residents.attrs["spread"]
    timings["population"] = time.perf_counter() - t0

    dist = read_districts(districts, district_column) if districts else None
    if districts:
        record["inputs"]["districts"] = file_record(districts)
    record["attribution"] = attributions(
        residents.attrs.get("kind"), residents.attrs.get("edition")
    )
    record["data_vintage"] = data_vintage(
        extract.stats, residents.attrs, record["inputs"].get("download")
    )
    return Inputs(
        network=net, extract=extract, sites=site_gdf, residents=residents, districts=dist,
        categories=categories, rejects=rejects, record=record, geocoder_kind=geocoder,
        user_agent=user_agent, _geocoder=geo, servers=servers, osm_path=osm_path,
        accept=check_accept(accept),
    )  # fmt: skip


def run(
    inputs: Inputs,
    minutes: Sequence[float] = DEFAULT_MINUTES,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    max_access_m: float = MAX_ACCESS_LEG_M,
    *,
    params: WalkParams | None = None,
) -> Analysis:
    """Run the analysis on loaded inputs.

    Parameters
    ----------
    inputs : Inputs
        From :func:`load_inputs`.
    minutes : sequence of float
        Thresholds in minutes.
    speed_kmh : float
        Walking speed in km/h.
    max_access_m : float
        Longest straight access leg in metres (network CRS).
    params : WalkParams, optional
        All walking parameters in one object; overrides the three above.

    Returns
    -------
    Analysis
        ``a.params`` states the parameters actually used.
    """
    if params is None:
        params = WalkParams(minutes=tuple(minutes), speed_kmh=speed_kmh, max_access_m=max_access_m,
                            min_component=inputs.network.min_component)  # fmt: skip
    return analyze(
        inputs.network, inputs.sites, inputs.residents, districts=inputs.districts,
        rejects=inputs.rejects, categories=inputs.categories, params=params,
    )  # fmt: skip


def run_stock(
    *,
    stock: str | Path,
    network: str | Path | None = None,
    place: str | None = None,
    bbox: Sequence[float] | None = None,
    polygon: str | Path | None = None,
    area: str | Path | None = None,
    sites: str | Path | None = None,
    sites_crs: str | None = None,
    stock_crs: str | None = None,
    osm_categories: Sequence[str] | None = None,
    presets: str | Path | None = None,
    geocoder: str = "offline",
    user_agent: str | None = None,
    accept: Sequence[str] = (),
    minutes: Sequence[float] = DEFAULT_MINUTES,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    max_access_m: float = MAX_ACCESS_LEG_M,
    use_cache: bool = True,
    progress: bool = False,
    min_component: int = DEFAULT_MIN_COMPONENT,
    servers: Servers | None = None,
    refresh: bool = False,
) -> tuple[StockCheck, dict]:
    """Load network, docking points and the stock file, and check the stock.

    The area is one of ``network`` (local OSM file), ``place``, ``bbox`` or
    ``polygon``/``area`` (downloaded as in :func:`accessibility.pipeline.load_inputs`,
    from ``servers``, again if ``refresh``; the download holds the features of
    ``presets``).
    Docking points: ``sites`` (addresses geocoded with ``geocoder``) and/or
    OSM presets (``osm_categories``; all presets when ``sites`` is not given).
    ``geocoder`` is ``"offline"`` (the extract's addresses only, never touches
    the network) or ``"nominatim"`` (offline first, then Nominatim, cached).
    ``min_component``: island threshold in nodes (:func:`accessibility.pipeline.load_area`).

    Parameters
    ----------
    stock : path
        The housing stock file (buildings by coordinates or address).
    network, place, bbox, polygon, area
        The study area, as for :func:`load_area` (``bbox`` in degrees, EPSG:4326).
    sites, sites_crs, osm_categories, presets
        The docking points, as for :func:`load_sites`.
    stock_crs : str, optional
        CRS of the stock file's x/y coordinates.
    geocoder : {"offline", "nominatim"}
        Address lookup for sites and buildings.
    user_agent : str, optional
        HTTP user agent for Nominatim.
    accept : sequence of str
        Weak geocoding matches to use: ``("street",)`` places addresses found by street
        only (``--accept street``); by default they are rejected with the reason.
    minutes : sequence of float
        Thresholds in minutes.
    speed_kmh : float
        Walking speed in km/h.
    max_access_m : float
        Longest access leg to the network in metres.
    use_cache, progress, refresh
        Reuse cached parses/downloads; show progress; download again.
    min_component : int
        Island threshold in nodes.
    servers : Servers, optional
        Overpass/Nominatim servers and limits.

    Returns
    -------
    (StockCheck, dict)
        The check and the run record for ``run.json``.
    """
    net, extract, record = load_area(
        network=network, place=place, bbox=bbox, polygon=polygon, area=area, minutes=minutes,
        speed_kmh=speed_kmh, use_cache=use_cache, progress=progress,
        min_component=min_component, presets=presets, servers=servers, refresh=refresh,
    )  # fmt: skip
    timings = record.pop("timings_s")
    record.pop("osm_path", None)

    t0 = time.perf_counter()
    geo = _make_geocoder(geocoder, extract, user_agent, servers, accept)
    timings["geocoder_index"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    rejects = Rejects()
    site_gdf, categories = load_sites(
        extract, rejects, record, sites=sites, sites_crs=sites_crs,
        osm_categories=osm_categories, presets=presets, geocoder=geo,
    )  # fmt: skip
    timings["sites"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    record["inputs"]["stock"] = file_record(stock)
    buildings = read_stock(stock, rejects, geocoder=geo, crs=stock_crs)
    timings["stock"] = time.perf_counter() - t0
    check = check_stock(
        net, site_gdf, buildings, minutes=minutes, speed_kmh=speed_kmh, rejects=rejects,
        max_access_m=max_access_m, categories=categories,
    )  # fmt: skip
    check.timings = {**timings, **check.timings}
    record["geocoder"] = geocoder
    record["geocoder_accept"] = list(check_accept(accept))
    record["weight"] = buildings.attrs.get("weight")
    record["attribution"] = attributions(None)
    record["data_vintage"] = data_vintage(extract.stats, {}, record["inputs"].get("download"))
    if geocoder == "nominatim":
        record["attribution"].append("Geocoding: Nominatim, © OpenStreetMap contributors")
        record["nominatim_requests"] = getattr(geo, "requests", 0)
    record["parameters"] = {"max_access_m": max_access_m, "min_component": net.min_component}
    record["network_pruning"] = check.analysis.pruning
    return check, record


def run_scenario_file(
    inputs: Inputs, scenario: Scenario, rejects: Rejects | None = None
) -> ScenarioResult:
    """Run a :class:`Scenario` on inputs loaded with :func:`accessibility.pipeline.load_inputs`.

    ``rejects`` (default ``inputs.rejects``) receives the rows rejected by the analyses.

    Parameters
    ----------
    inputs : Inputs
        The baseline inputs.
    scenario : Scenario
        The changes and walking parameters (minutes, km/h, access leg in metres);
        address changes are geocoded with :meth:`Inputs.geocoder`.
    rejects : Rejects, optional
        Receives the rejected rows.

    Returns
    -------
    ScenarioResult
        The before and after analyses.
    """
    changes = resolve_addresses(scenario.changes, inputs.geocoder(), scenario.file)
    return run_scenario(
        inputs.network, inputs.sites, inputs.residents, changes,
        minutes=scenario.minutes, speed_kmh=scenario.speed_kmh, districts=inputs.districts,
        rejects=inputs.rejects if rejects is None else rejects,
        max_access_m=scenario.max_access_m,
        categories=inputs.categories, file=scenario.file, name=scenario.name,
    )  # fmt: skip


def scenario_sites(result: ScenarioResult, features: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """The scenario's site layer, with visibility columns when OSM ``features`` are given.

    See :func:`accessibility.core.visibility.with_visibility`; the result goes to
    :func:`accessibility.outputs.files.write_scenario` (``sites=``).

    Parameters
    ----------
    result : ScenarioResult
        The scenario run.
    features : GeoDataFrame or None
        OSM features (EPSG:4326) for the shop count.

    Returns
    -------
    GeoDataFrame
        :meth:`ScenarioResult.site_layer` (EPSG:4326), plus the visibility columns
        when ``features`` are given.
    """
    return with_visibility(result.before.network, result.site_layer(), features)


#: Above this many sites ``isochrones.gpkg`` holds per-category polygons only (per-site
#: polygons cost about 0.07 s per site and CPU at 15 minutes; recorded in ``run.json``).
MAX_SITES_PER_SITE_ISOCHRONES = 300


def priority_areas(
    a: Analysis, need: str | Path | NeedSpec | None = None
) -> tuple[Priority | None, str]:
    """Priority areas of an analysis (need × gap), or why there are none.

    Parameters
    ----------
    a : Analysis
    need : path or NeedSpec, optional
        A need file (``--need``): its columns must be population groups of the run.
        Default: the shipped ``need.yaml``, with the indicators whose columns the
        population has (Zensus 2011 100 m age, country-of-birth and citizenship tables;
        the 1 km and 2022 shares); the others are left out and their weight renormalised
        (``run.json`` ``priority.indicators_left_out``). None when it has none of them.

    Returns
    -------
    (Priority or None, str)
        The priority areas, or None and the reason (for ``run.json``).

    Raises
    ------
    InputError
        An explicit need file names a column that is not a population group.
    """
    if need is None:
        spec = load_need()
        try:
            spec = resolve_need(spec, a.groups)
        except InputError as e:  # none of the default's indicators: no priority areas
            return None, str(e).removeprefix(f"{spec.source}: ") + " (default need index)"
    else:
        spec = need if isinstance(need, NeedSpec) else load_need(need)
    return priority(a, spec), ""


def products(
    a: Analysis,
    features: gpd.GeoDataFrame | None = None,
    isochrones: bool = True,
    need: str | Path | NeedSpec | None = None,
) -> Products:
    """Compute what the output files show beyond the analysis itself.

    Parameters
    ----------
    a : Analysis
    features : GeoDataFrame, optional
        OSM features (``read_osm(...).features``); with them the sites get the
        visibility columns of :func:`accessibility.core.visibility.with_visibility`.
    isochrones : bool
        Build the isochrone polygons (network CRS; per site and per category up to
        :data:`MAX_SITES_PER_SITE_ISOCHRONES` sites, per category only above).
    need : path or NeedSpec, optional
        Need index for the priority areas (see :func:`priority_areas`).

    Returns
    -------
    Products
        For :func:`accessibility.outputs.files.write_outputs`.
    """
    sites = with_visibility(a.network, a.sites, features)
    prio, why = priority_areas(a, need)
    if not isochrones:
        return Products(sites=sites, timings={"isochrones": 0.0}, priority=prio,
                        priority_note=why)  # fmt: skip
    t0 = time.perf_counter()
    per_site = len(a.sites) <= MAX_SITES_PER_SITE_ISOCHRONES
    iso = isochrones_from_analysis(a, per_site=per_site)
    info = {
        "per_site": per_site, "corridor_m": CORRIDOR_M, "min_hole_m2": MIN_HOLE_M2,
        "note": "" if per_site else (
            f"{len(a.sites)} sites > {MAX_SITES_PER_SITE_ISOCHRONES}: per-category polygons "
            "only (per-site polygons: accessibility.core.isochrones.isochrones(per_site=True))"),
    }  # fmt: skip
    return Products(iso, info, sites, {"isochrones": time.perf_counter() - t0}, prio, why)


def write_outputs(
    a: Analysis,
    out: str | Path,
    record: dict,
    map_title: str = "",
    lang: str | None = None,
    isochrones: bool = True,
    features: gpd.GeoDataFrame | None = None,
    need: str | Path | NeedSpec | None = None,
) -> dict[str, Path]:
    """Compute the isochrones, site visibility and priority areas, then write every output file.

    The public entry point ``accessibility.write_outputs``: :func:`products` followed by
    :func:`accessibility.outputs.files.write_outputs` (which only formats).

    Parameters
    ----------
    a : Analysis
    out : path
        Output folder (created).
    record : dict
        Inputs and parameters for ``run.json`` (``{}`` is fine: the walking parameters
        actually used are taken from ``a.params``).
    map_title, lang
        See :func:`accessibility.outputs.files.write_outputs`.
    isochrones : bool
        Compute ``isochrones.gpkg`` (per site and per category).
    features : GeoDataFrame, optional
        OSM features; with them ``sites.gpkg`` gets the visibility columns.
    need : path or NeedSpec, optional
        Need file of the priority areas (``priority.csv``, ``priority.gpkg``); default
        the shipped one when the run has its population groups (:func:`priority_areas`).

    Returns
    -------
    dict
        Output name → path.
    """
    made = products(a, features, isochrones, need)
    return write_files(a, out, record, map_title=map_title, lang=lang, products=made)


def read_new_sites(
    inputs: Inputs, path: str | Path, crs: str | None, what: str
) -> gpd.GeoDataFrame:
    """Read sites to add or candidates like ``--sites`` (EPSG:4326).

    Parameters
    ----------
    inputs : Inputs
        The run's inputs (rejects, extract bounds, geocoder).
    path : path
        The file (CSV, GeoJSON or GeoPackage).
    crs : str or None
        CRS of its x/y coordinates.
    what : str
        What the rows are (``candidates``, ``sites to add``), named in the error.

    Returns
    -------
    GeoDataFrame
        The usable rows as sites (EPSG:4326); the others go to ``inputs.rejects``.

    Raises
    ------
    InputError
        Every row is bad: the message names up to three reasons with their rows.
    """
    try:
        return sitemod.read_sites(
            path, inputs.rejects, crs=crs, bounds=inputs.extract.bounds, geocoder=inputs.geocoder()
        )
    except AllRejectedError as exc:
        rej = inputs.rejects.frame()
        rej = rej[rej["file"] == str(path)]
        why = "; ".join(
            f"rows {', '.join(str(r) for r in g['row'].head(5))}: {reason}"
            for reason, g in list(rej.groupby("reason", sort=False))[:3]
        )
        raise InputError(f"no usable {what}: {exc} ({why})") from exc


def rank_inputs(
    inputs: Inputs,
    params: WalkParams,
    *,
    k: int = 3,
    category: str = "all",
    weight: str | None = None,
    exact: bool = False,
    candidates: str | Path | None = None,
    sites_crs: str | None = None,
    from_osm: bool = False,
    ground_floor: bool = False,
    from_streets: int = 0,
    with_visibility: bool = True,
    visibility_weight: float = 0.0,
    status: Callable[[str], AbstractContextManager] | None = None,
    need: str | Path | NeedSpec | None = None,
) -> RankRun:
    """Collect candidates, run the baseline and rank the candidates (``accessibility rank``).

    Parameters
    ----------
    inputs : Inputs
    params : WalkParams
        Its first ``minutes`` threshold is the ranking threshold.
    k, category, weight, exact, with_visibility, visibility_weight
        See :func:`accessibility.planning.ranking.rank_candidates`.
    candidates : path, optional
        Candidate file (like ``--sites``; CRS ``sites_crs``).
    from_osm, ground_floor : bool
        Add vacant shopfronts / ground-floor shops and offices from the OSM features.
    from_streets : int
        Add this many points on the most-walked streets.
    status : callable, optional
        ``status(text)`` returns a context manager shown while a step runs (the CLI's
        spinner); default none.
    need : path or NeedSpec, optional
        Need index of ``weight="priority"`` (default the shipped ``need.yaml``).

    Returns
    -------
    RankRun
        The ranking, the baseline analysis, the number of candidates, the rejects and
        the run record.

    Raises
    ------
    InputError
        No candidates of any kind.
    """
    status = status or (lambda text: nullcontext())
    minutes = params.minutes[0]
    frames = []
    if candidates:
        frames.append(read_new_sites(inputs, candidates, sites_crs, "candidates"))
    empty = []
    for flag, kind, what in (
        (from_osm, "vacant", "vacant shopfronts (shop=vacant, disused:shop=*)"),
        (ground_floor, "ground_floor", "ground-floor shops or offices (shop=*, office=*)"),
    ):  # fmt: skip
        if flag:
            osm = candidates_from_osm(inputs.extract.features, category, kind=kind)
            if len(osm):
                frames.append(osm)
            else:
                empty.append(what)
    if from_streets:
        with status("most-walked streets…"):
            frames.append(candidates_from_streets(inputs.network, from_streets, category=category))
    if not frames:
        raise InputError(f"the OSM data has no {' and no '.join(empty)}; give --candidates FILE")
    cand = sitemod.combine_sites(*frames) if len(frames) > 1 else frames[0]
    # addresses for the ranking map: OSM addr:* tags, else the nearest named street
    cand = with_addresses(cand, inputs.network, inputs.extract.segments)
    spec = load_need(need) if isinstance(need, str | Path) else need
    with status("baseline analysis…"):
        a = run(inputs, params=params)
    with status(f"coverage matrix of {len(cand):,} candidates, ranking…"):
        r = rank_candidates(a, cand, k, minutes, category, weight, exact,
                            features=inputs.extract.features, with_visibility=with_visibility,
                            visibility_weight=visibility_weight, rejects=inputs.rejects,
                            need=spec)  # fmt: skip
    return RankRun(r, a, len(cand), inputs.rejects, inputs.record)


def critical(
    inputs: Inputs, params: WalkParams, category: str = "all", weight: str | None = None
) -> tuple[Analysis, pd.DataFrame, pd.DataFrame]:
    """Critical sites and redundancy (``accessibility critical``).

    Parameters
    ----------
    inputs : Inputs
        The run's inputs.
    params : WalkParams
        Walking parameters (thresholds in minutes, speed in km/h).
    category : str
        Sites to assess: ``all`` or one category.
    weight : str, optional
        Population column(s) to count; default ``population`` (persons).

    Returns
    -------
    (Analysis, DataFrame, DataFrame)
        The analysis, the sites table sorted by the loss at the first threshold
        (``loss_<m>``, ``reach_<m>``) and the redundancy table.

    Raises
    ------
    InputError
        ``category`` is not one of the analysis's categories.
    """
    a = run(inputs, params=params)
    if category not in a.categories:
        raise InputError(f"--category '{category}' not found; use one of {', '.join(a.categories)}")
    sites, red = critical_table(a, list(params.minutes), category, weight)
    first = f"loss_{min(params.minutes):g}"
    return a, sites.sort_values(first, ascending=False, kind="stable"), red


def compare_scenarios(
    inputs: Inputs,
    scenarios: Sequence[Scenario],
    names: Sequence[str],
    status: Callable[[str], AbstractContextManager] | None = None,
) -> Comparison:
    """Run every scenario on the same inputs and put the summaries side by side.

    Each scenario's rejects are the load-time rejects plus its own.

    Parameters
    ----------
    inputs : Inputs
        The shared baseline inputs.
    scenarios : sequence of Scenario
        The scenarios.
    names : sequence of str
        One unique name per scenario (:func:`accessibility.planning.scenario_file.unique_names`).
    status : callable, optional
        ``status(text)`` returns a context manager shown while a scenario runs.

    Returns
    -------
    Comparison
        Each result, ``comparison.csv`` and ``comparison_districts.csv`` tables, and the
        site layers.
    """
    status = status or (lambda text: nullcontext())
    results = []
    for s, name in zip(scenarios, names, strict=True):
        with status(f"scenario {name}…"):
            rejects = Rejects()  # the load-time rejects plus this scenario's own
            rejects.extend(inputs.rejects)
            results.append((s, name, run_scenario_file(inputs, s, rejects)))
    table = side_by_side([(n, r.summary()) for _, n, r in results], [])
    districts = side_by_side([(n, r.summary_districts()) for _, n, r in results], ["district"])
    sites = [scenario_sites(r, inputs.extract.features) for _, _, r in results]
    return Comparison(results, table, districts, sites)


def run_profiles(
    a: Analysis, inputs: Inputs, profiles: Sequence[Profile], speed_kmh: float
) -> pd.DataFrame:
    """``summary_profiles.csv``: the summary of every walking profile, ``profile`` first.

    ``a`` is the analysis of ``profiles[0]``; the others run on their own networks
    (:meth:`Inputs.network_for`) at their own speed (``profile.speed(speed_kmh)``, km/h;
    ``speed_kmh`` is the default walker's) with ``a``'s other parameters.

    Parameters
    ----------
    a : Analysis
        The analysis of the first profile.
    inputs : Inputs
        The run's inputs.
    profiles : sequence of Profile
        The walking profiles, the first one being ``a``'s.
    speed_kmh : float
        The default walker's speed in km/h.

    Returns
    -------
    DataFrame
        ``profile`` then the :meth:`Analysis.summary` columns, one block per profile.
    """
    frames = [a.summary().assign(profile=profiles[0].name)]
    for p in profiles[1:]:
        b = analyze(
            inputs.network_for(p), inputs.sites, inputs.residents, minutes=a.minutes,
            speed_kmh=p.speed(speed_kmh),
            districts=inputs.districts, rejects=Rejects(), max_access_m=a.max_access_m,
            categories=inputs.categories,
        )  # fmt: skip
        frames.append(b.summary().assign(profile=p.name))
    table = pd.concat(frames, ignore_index=True)
    return table[["profile", *[c for c in table.columns if c != "profile"]]]


def write_scenario_after(
    result: ScenarioResult, out: str | Path, record: dict, features: gpd.GeoDataFrame | None
) -> dict[str, Path]:
    """The full outputs of the 'after' state in ``out/after``, a rich before/after map and
    the scenario's report in ``out``.

    ``map.html`` shows the after state (isochrones, cells, gaps) with the proposed sites
    and the residents who gain or lose coverage highlighted; ``report.html`` the gains
    per category, district and group, the changed sites and the before/after curve.

    Parameters
    ----------
    result : ScenarioResult
        The scenario run.
    out : path
        The scenario's output folder.
    record : dict
        Run record for ``after/run.json``.
    features : GeoDataFrame or None
        OSM features for the sites' visibility columns.

    Returns
    -------
    dict
        ``map``, ``report`` and ``after_report`` paths.
    """
    out = Path(out)
    after_word = labels("scenario_report", default_lang(record, result.after.network.crs))["after"]
    after = write_outputs(
        result.after, out / "after", dict(record), map_title=f"{result.name} ({after_word})",
        features=features,
    )  # fmt: skip
    data = load_folder(out / "after", scenario=out)
    lang = default_lang(data.record)
    path = full_map(data, out / "map.html", title=result.name, lang=lang)
    report = write_scenario_report(
        result, out / "report.html", data.record, lang, map_html=path.read_text(encoding="utf-8")
    )
    return {"map": path, "report": report, "after_report": after["report"]}


def write_stock_map(check: StockCheck, out: str | Path, record: dict) -> Path:
    """The stock layer on the full map: ``out/stock_map/`` holds the check as an analysis.

    The buildings are the "residents" there (weight = units, else residents, else 1),
    so ``stock_map/map.html`` shows every building coloured by walking minutes, with
    docking points, isochrone bands and gaps (uncovered buildings).

    Parameters
    ----------
    check : StockCheck
        The stock check.
    out : path
        The stock run's output folder.
    record : dict
        Run record (language, attributions).

    Returns
    -------
    Path
        ``out/stock_map/map.html``.
    """
    out = Path(out)
    lang = default_lang(record, check.analysis.network.crs)
    place = place_name(record, out)
    title = ("Wohnungsbestand – {}" if lang == "de" else "Housing stock – {}").format(place)
    paths = write_outputs(
        check.analysis, out / "stock_map", {**record, "stock_map": True}, map_title=title,
        lang=lang,
    )  # fmt: skip
    return paths["map"]


def scenario_from_options(
    inputs: Inputs,
    params: WalkParams,
    add: str | Path | None = None,
    remove: Sequence[str] | None = None,
    sites_crs: str | None = None,
) -> ScenarioResult:
    """A scenario given on the command line: close the sites ``remove`` (ids) and add the
    sites of the file ``add`` (like ``--sites``), before and after on the same inputs.

    Parameters
    ----------
    inputs : Inputs
        The baseline inputs.
    params : WalkParams
        Walking parameters (thresholds in minutes, speed in km/h, access leg in metres).
    add : path, optional
        Sites to add (CSV, GeoJSON or GeoPackage).
    remove : sequence of str, optional
        Ids of the sites to close.
    sites_crs : str, optional
        CRS of ``add``'s x/y coordinates.

    Returns
    -------
    ScenarioResult
        The before and after analyses.
    """
    changes = [Change("remove", {"id": i}) for i in remove or []]
    sites_after = None
    if add:
        new = read_new_sites(inputs, add, sites_crs, "sites to add")
        kept = apply_changes(inputs.sites, changes, "--remove")
        new["change"] = ADDED
        sites_after = sitemod.combine_sites(kept, new)
    return run_scenario(
        inputs.network, inputs.sites, inputs.residents, changes, sites_after=sites_after,
        minutes=params.minutes, speed_kmh=params.speed_kmh, districts=inputs.districts,
        rejects=inputs.rejects, max_access_m=params.max_access_m,
        categories=inputs.categories, file="--remove", name="scenario",
    )  # fmt: skip


def change_runs(old: str | Path, new: str | Path) -> tuple[RunChange, OutputData, OutputData]:
    """Compare two ``analyze`` output folders (``accessibility change``).

    Parameters
    ----------
    old, new : path
        Output folders of ``analyze`` (``run.json`` marked complete), e.g. two Zensus
        editions, two OSM vintages, or a baseline and a scenario's ``after/``.

    Returns
    -------
    (RunChange, OutputData, OutputData)
        The change (:func:`accessibility.planning.change.compare_runs`) and both folders.

    Raises
    ------
    InputError
        A folder is not a complete analysis output folder.
    """
    runs = []
    for folder in (old, new):
        data = load_folder(folder)
        if data.record.get("complete") is not True:
            raise InputError(
                "this output folder is not marked complete in run.json (an interrupted run); "
                "run `accessibility analyze` into it again",
                folder,
            )
        runs.append(data)
    a, b = runs
    return (
        compare_runs(Run(a.residents, a.sites, a.record), Run(b.residents, b.sites, b.record)),
        a,
        b,
    )

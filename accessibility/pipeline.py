"""Load every input of a run (network, sites, residents, districts) and run it.

Shared by the ``analyze``, ``demo`` and later commands, so they all read inputs
the same way and record the same provenance.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from . import population as pop
from . import sites as sitemod
from .analysis import Analysis, analyze
from .config import DEFAULT_MINUTES, DEFAULT_SPEED_KMH, MAX_ACCESS_LEG_M
from .duplicates import drop_duplicates
from .errors import InputError
from .network import DEFAULT_MIN_COMPONENT, Network, load_network
from .osm import OsmExtract, read_osm
from .outputs import attributions, data_vintage, file_record
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
    _geocoder: object = field(default=None, repr=False)
    osm_path: Path | None = None

    def network_for(self, profile) -> Network:
        """The walking network of this run's OSM file for another walking profile.

        Same CRS and island threshold as :attr:`network`; ``profile`` is an
        :class:`accessibility.profiles.Profile`.
        """
        if profile is None or not profile.restricts:
            return self.network
        return load_network(
            self.osm_path, crs=self.network.crs, min_component=self.network.min_component,
            profile=profile, use_cache=self.network._cache_file is not None,
        )  # fmt: skip

    def geocoder(self):
        """The geocoder for address rows in further files (scenario additions, candidates)."""
        if self._geocoder is None:
            self._geocoder = _make_geocoder(self.geocoder_kind, self.extract, self.user_agent)
        return self._geocoder


def _make_geocoder(kind: str, extract: OsmExtract, user_agent: str | None):
    from .geocode import make_geocoder

    kw = {"user_agent": user_agent} if user_agent and kind == "nominatim" else {}
    return make_geocoder(kind, extract, **kw)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "run"


def run_name(network: str | None, place: str | None) -> str:
    """Default output name: the network file's stem or the place name."""
    if network:
        name = Path(network).name
        for suffix in (".gz", ".bz2", ".pbf", ".osm"):
            name = name.removesuffix(suffix)
        return _slug(name)
    return _slug(place or "area")


def is_zensus(path: str | Path) -> bool:
    """True if a CSV's header names a Zensus grid cell id column."""
    p = Path(path)
    if p.suffix.lower() not in (".csv", ".txt"):
        return False
    with open(p, "rb") as f:
        head = f.readline().decode("utf-8-sig", errors="replace").lower()
    return "gitter_id" in head


def read_districts(path: str | Path, column: str | None) -> gpd.GeoDataFrame:
    """District polygons with a ``district`` name column.

    Parameters
    ----------
    path : path
        GeoJSON, GeoPackage or Shapefile of polygons.
    column : str, optional
        Name column; default the first of ``name``, ``district``, ``Name``, ``NAME``.
    """
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types
        raise InputError(f"cannot read districts ({exc})", path) from exc
    if gdf.empty:
        raise InputError("the districts file has no features", path)
    if column is None:
        column = next(
            (c for c in ("name", "district", "Name", "NAME", "bezeichnung") if c in gdf), None
        )
        if column is None:
            raise InputError(
                f"no name column found (columns: {', '.join(map(str, gdf.columns))}); "
                "pass --district-column",
                path,
            )
    elif column not in gdf:
        raise InputError(
            f"column {column!r} not found (columns: {', '.join(map(str, gdf.columns))})", path
        )
    if not gdf.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise InputError("districts must be polygons", path)
    if gdf.crs is None:
        raise InputError("the districts file has no CRS; save it with one (e.g. EPSG:25832)", path)
    return gpd.GeoDataFrame(
        {"district": gdf[column].astype(str).to_numpy()},
        geometry=gdf.geometry.to_numpy(),
        crs=gdf.crs,
    )


def load_area(
    *,
    network: str | Path | None = None,
    place: str | None = None,
    bbox: Sequence[float] | None = None,
    polygon: str | Path | None = None,
    minutes: Sequence[float] = DEFAULT_MINUTES,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    use_cache: bool = True,
    progress: bool = False,
    min_component: int = DEFAULT_MIN_COMPONENT,
    presets: str | Path | None = None,
    profile=None,
) -> tuple[Network, OsmExtract, dict]:
    """The walking network and OSM extract of a local file or a downloaded area.

    Exactly one of ``network`` (a local OSM file), ``place``, ``bbox`` (west,
    south, east, north in degrees) or ``polygon`` (a file). Downloaded areas are
    buffered by the largest walking distance (max(minutes) × speed, metres).
    ``min_component`` is the island threshold in nodes (points snap only onto
    components at least that large); ``presets`` (a YAML file) adds the tag keys
    its categories need to the features read (:func:`accessibility.osm_keys.feature_keys`);
    ``profile`` (:class:`accessibility.profiles.Profile`) leaves out what it avoids.
    ``record["osm_path"]`` is the OSM file read.

    Returns
    -------
    (Network, OsmExtract, dict)
        The run record so far: ``inputs`` (file or download record), ``timings_s``
        and ``osm_stats``.
    """
    record: dict = {"inputs": {}, "timings_s": {}}
    if sum(x is not None for x in (network, place, bbox, polygon)) != 1:
        raise InputError(
            "give exactly one of --network FILE, --place NAME, --bbox W,S,E,N or --polygon FILE"
        )
    t0 = time.perf_counter()
    if network is None:
        from . import download

        area = download.study_area(place=place, bbox=bbox, polygon=polygon)
        buffer_m = max(minutes) * speed_kmh * 1000 / 60
        osm_path = download.fetch_osm(download.buffer_area(area, buffer_m), progress=progress)
        record["inputs"]["download"] = {
            **download.download_record(osm_path),
            "place": place, "bbox": list(bbox) if bbox else None,
            "polygon": file_record(polygon), "buffer_m": buffer_m,
        }  # fmt: skip
    else:
        osm_path = Path(network)
        record["inputs"]["network"] = file_record(osm_path)
    net = load_network(
        osm_path, use_cache=use_cache, progress=progress, min_component=min_component,
        profile=profile,
    )  # fmt: skip
    record["osm_path"] = str(osm_path)
    record["timings_s"]["network"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    keys = None
    if presets is not None:
        from .osm_keys import feature_keys

        keys = feature_keys(sitemod.load_presets(presets))
    extract = read_osm(osm_path, use_cache=use_cache, progress=progress, keys=keys)
    record["timings_s"]["osm_features"] = time.perf_counter() - t0
    record["osm_stats"] = extract.stats
    return net, extract, record


def load_sites(
    extract: OsmExtract,
    rejects: Rejects,
    record: dict,
    *,
    sites: str | Path | None = None,
    sites_crs: str | None = None,
    osm_categories: Sequence[str] | None = None,
    presets: str | Path | None = None,
    geocoder=None,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Docking points: the user's file and/or OSM preset categories.

    With ``sites`` only those are used, plus ``osm_categories`` if given; without
    it, ``osm_categories`` or else every preset category. Address rows of the
    file are geocoded with ``geocoder``. Sites describing the same place twice
    (a user row and an OSM feature, or an OSM node and area of one facility) are
    merged by :func:`accessibility.duplicates.drop_duplicates`; each dropped one
    goes to ``rejects``. Adds the files to ``record["inputs"]``.

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
                sites, rejects, crs=sites_crs, bounds=extract.bounds, geocoder=geocoder
            )
        )
    else:
        wanted = wanted or list(table["categories"])
    if wanted:
        frames.append(sitemod.sites_from_osm(extract.features, table, wanted))
    site_gdf = sitemod.combine_sites(*frames) if len(frames) > 1 else frames[0]
    # rejects name the file as the user gave it; `source` holds only its name
    site_gdf.attrs["files"] = {Path(sites).name: str(sites)} if sites is not None else {}
    site_gdf = drop_duplicates(site_gdf, rejects, extract.features)
    categories = list(dict.fromkeys([*wanted, *site_gdf["category"].astype(str)]))
    known = table["categories"]
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
    sites: str | Path | None = None,
    sites_crs: str | None = None,
    osm_categories: Sequence[str] | None = None,
    presets: str | Path | None = None,
    population: Sequence[str | Path] = (),
    population_column: str | None = None,
    population_crs: str | None = None,
    spread_to_buildings: bool = False,
    districts: str | Path | None = None,
    district_column: str | None = None,
    minutes: Sequence[float] = DEFAULT_MINUTES,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    use_cache: bool = True,
    progress: bool = False,
    geocoder: str = "offline",
    user_agent: str | None = None,
    min_component: int = DEFAULT_MIN_COMPONENT,
    profile=None,
) -> Inputs:
    """Load and validate all inputs of a run.

    Exactly one of ``network`` (a local OSM file), ``place``, ``bbox``
    (west, south, east, north in degrees) or ``polygon`` (a file) gives the area.
    Site rows given by address are geocoded with ``geocoder`` (``"offline"``: the
    extract's OSM addresses only; ``"nominatim"``: then Nominatim, rate-limited, cached).
    Online areas are buffered by the largest walking distance
    (max(minutes) × speed) so residents near the boundary are not cut off.
    ``min_component``: island threshold in nodes (see :func:`load_area`).
    """
    rejects = Rejects()
    net, extract, record = load_area(
        network=network, place=place, bbox=bbox, polygon=polygon, minutes=minutes,
        speed_kmh=speed_kmh, use_cache=use_cache, progress=progress,
        min_component=min_component, presets=presets, profile=profile,
    )  # fmt: skip
    osm_path = Path(record.pop("osm_path"))
    timings = record["timings_s"]
    t0 = time.perf_counter()
    geo = _make_geocoder(geocoder, extract, user_agent) if sites is not None else None
    site_gdf, categories = load_sites(
        extract, rejects, record, sites=sites, sites_crs=sites_crs,
        osm_categories=osm_categories, presets=presets, geocoder=geo,
    )  # fmt: skip
    if sites is not None:
        record["geocoder"] = geocoder
    timings["sites"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    population = [Path(p) for p in population]
    if not population:
        residents = pop.estimate_from_buildings(extract.buildings, rejects, extract.features)
    elif all(is_zensus(p) for p in population):
        residents = pop.read_zensus(population, rejects)
        if spread_to_buildings:
            residents = pop.spread_to_buildings(
                residents, extract.buildings, areas=extract.features
            )
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
        residents = pop.read_points(population[0], population_column, rejects, crs=population_crs)
    if spread_to_buildings and residents.attrs.get("kind") != "zensus_grid_spread_to_buildings":
        raise InputError("--spread-to-buildings needs Zensus grid CSV input (--population)")
    record["inputs"]["population"] = [file_record(p) for p in population] or None
    record["population_method"] = residents.attrs.get("method", "")
    record["population_kind"] = residents.attrs.get("kind", "")
    record["cell_size_m"] = residents.attrs.get("cell_size_m")
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
        user_agent=user_agent, _geocoder=geo, osm_path=osm_path,
    )  # fmt: skip


def run(
    inputs: Inputs,
    minutes: Sequence[float] = DEFAULT_MINUTES,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    max_access_m: float = MAX_ACCESS_LEG_M,
) -> Analysis:
    """Run the analysis on loaded inputs."""
    return analyze(
        inputs.network, inputs.sites, inputs.residents, minutes=minutes, speed_kmh=speed_kmh,
        districts=inputs.districts, rejects=inputs.rejects, max_access_m=max_access_m,
        categories=inputs.categories,
    )  # fmt: skip


def parse_minutes(text: str) -> list[float]:
    """Parse ``"5,10,15"`` into minutes; clear error on bad values."""
    try:
        values = [float(x) for x in str(text).split(",") if x.strip()]
    except ValueError as exc:
        raise InputError(
            f"--minutes must be comma-separated numbers like 5,10,15, got {text!r}"
        ) from exc
    if not values or any(v <= 0 for v in values):
        raise InputError(f"--minutes must be positive numbers like 5,10,15, got {text!r}")
    return values


def population_total(residents: pd.DataFrame) -> float:
    """Total residents of an input frame (persons)."""
    return float(residents["population"].sum())

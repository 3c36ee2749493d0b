"""Study area and OpenStreetMap download (Nominatim + Overpass through osmnx).

The online path ends in exactly the same processing as the offline one: the
Overpass answer is written to a real OSM XML file in the cache, and everything
downstream reads that file with :func:`accessibility.osm.read_osm` /
:func:`accessibility.network.load_network`, as it would read a user's extract.

Requests go through osmnx's own machinery (``osmnx._overpass`` and
``osmnx.geocoder``), so osmnx's settings apply: ``overpass_url``,
``nominatim_url``, ``requests_timeout``, ``overpass_memory``, rate limiting
(``overpass_rate_limit``), the HTTP user agent and the response cache
(``use_cache``/``cache_folder``; while osmnx's folder is left at its default
``./cache`` it is redirected to ``cache_dir()/"osmnx"``).

All geometries here are in WGS 84 (EPSG:4326), coordinates ``(lon, lat)`` in
degrees; buffer distances are in metres.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import math
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon

from ._io import atomic_write, sha256, write_json
from .config import ATTRIBUTION_OSM, cache_dir
from .errors import InputError, NetworkError

#: Tag keys of the features the analysis needs (sites, buildings, entrances,
#: addresses). Every node, way and relation carrying one of them is downloaded,
#: with the nodes of its ways and the members of its relations.
FEATURE_KEYS = (
    "amenity",
    "office",
    "shop",
    "social_facility",
    "building",
    "entrance",
    "healthcare",
    "leisure",
    "addr:housenumber",
    "addr:interpolation",
    "disused:shop",
)

#: Polygons with more exterior vertices than this are simplified (outwards, so
#: nothing inside is lost) before they go into the Overpass ``poly`` filter.
_MAX_POLY_VERTICES = 1000
#: Tolerance of that simplification, metres.
_SIMPLIFY_M = 10.0

_OSMNX_DEFAULT_CACHE = "./cache"
_HINT = "check the connection, or download an extract (e.g. from Geofabrik/BBBike) and pass --network FILE"
_MEMBER_TYPE = {"node": "n", "way": "w", "relation": "r", "n": "n", "w": "w", "r": "r"}


# -- study area ------------------------------------------------------------------------
def study_area(
    place: str | None = None,
    bbox: Sequence[float] | str | None = None,
    polygon: str | Path | None = None,
) -> Polygon | MultiPolygon:
    """The study area as a (Multi)Polygon in EPSG:4326, from exactly one source.

    Parameters
    ----------
    place : str, optional
        A place name (e.g. ``"Kaiserslautern, Germany"``), geocoded to its
        boundary with Nominatim via ``osmnx.geocode_to_gdf`` (rate-limited and
        cached by osmnx).
    bbox : sequence of 4 floats or str, optional
        ``(west, south, east, north)`` in degrees (EPSG:4326), or the same as a
        comma-separated string.
    polygon : str or Path, optional
        A GeoJSON, GeoPackage or Shapefile; all its geometries are unioned and
        reprojected to EPSG:4326 (a file without CRS is taken as EPSG:4326 if its
        coordinates fit degrees).

    Returns
    -------
    Polygon or MultiPolygon
        Valid, non-empty, EPSG:4326 ``(lon, lat)``.

    Raises
    ------
    InputError
        Not exactly one source given, a malformed bbox, an unreadable or
        non-polygonal polygon file.
    NetworkError
        The place name could not be geocoded (no network, misspelt, no boundary).
    """
    given = [
        name
        for name, v in (("place", place), ("bbox", bbox), ("polygon", polygon))
        if v is not None
    ]
    if len(given) != 1:
        raise InputError(
            "give exactly one study area: a place name, a bbox (west, south, east, north) "
            f"or a polygon file (got {', '.join(given) or 'none'})"
        )
    if place is not None:
        return _geocode_area(place)
    if bbox is not None:
        return _bbox_area(bbox)
    return _polygon_file_area(polygon)


def _geocode_area(place: str) -> Polygon | MultiPolygon:
    import osmnx as ox

    hint = f"could not geocode {place!r} (no network? misspelt?) — give --bbox or --network FILE"
    if not str(place).strip():
        raise InputError("the place name is empty; " + hint)
    try:
        with _osmnx_cache():
            gdf = ox.geocode_to_gdf(str(place))
    except Exception as exc:  # requests errors, osmnx InsufficientResponseError, TypeError...
        raise NetworkError(f"{hint} [{type(exc).__name__}: {exc}]") from exc
    area = _polygonal(
        shapely.union_all(shapely.make_valid(gdf.to_crs("EPSG:4326").geometry.values))
    )
    if area is None:
        raise NetworkError(f"{hint} [Nominatim returned no boundary polygon]")
    return area


def _bbox_area(bbox: Sequence[float] | str) -> Polygon:
    if isinstance(bbox, str):
        parts = [p for p in bbox.replace(";", ",").replace(" ", ",").split(",") if p]
    else:
        parts = list(bbox)
    usage = "give the bbox as west, south, east, north in degrees, e.g. 7.717,49.418,7.821,49.457"
    try:
        values = [float(p) for p in parts]
    except (TypeError, ValueError):
        raise InputError(f"bbox {bbox!r} is not four numbers; {usage}") from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InputError(f"bbox {bbox!r} is not four finite numbers; {usage}")
    problem = _bbox_problem(*values)
    if problem:
        s, w, n, e = values
        if _bbox_problem(w, s, e, n) is None:
            raise InputError(
                f"bbox {tuple(values)}: {problem}; it looks like (south, west, north, east) — "
                f"give (west, south, east, north) = ({w}, {s}, {e}, {n})"
            )
        raise InputError(f"bbox {tuple(values)}: {problem}; {usage}")
    return shapely.box(*values)


def _bbox_problem(w: float, s: float, e: float, n: float) -> str | None:
    """What is wrong with a (west, south, east, north) bbox, or None."""
    if not (-180 <= w <= 180 and -180 <= e <= 180):
        return "west/east must be longitudes in [-180, 180]"
    if not (-90 <= s <= 90 and -90 <= n <= 90):
        return "south/north must be latitudes in [-90, 90]"
    if w >= e:
        return "west must be less than east (boxes across the antimeridian are not supported)"
    if s >= n:
        return "south must be less than north"
    return None


def _polygon_file_area(path: str | Path) -> Polygon | MultiPolygon:
    import geopandas as gpd

    path = Path(path)
    if not path.exists():
        raise InputError("polygon file not found; give a GeoJSON, GeoPackage or Shapefile", path)
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:
        raise InputError(f"cannot read the polygon file ({exc})", path) from exc
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if gdf.empty:
        raise InputError("the polygon file holds no geometries", path)
    if gdf.crs is None:
        w, s, e, n = gdf.total_bounds
        if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
            raise InputError(
                "the polygon file has no CRS and its coordinates are not degrees", path
            )
        gdf = gdf.set_crs("EPSG:4326")
    geoms = gdf.to_crs("EPSG:4326").geometry.values
    area = _polygonal(shapely.union_all(shapely.make_valid(geoms)))
    if area is None:
        kinds = sorted(set(gdf.geom_type))
        raise InputError(
            f"the polygon file holds no polygons (found {', '.join(kinds)}); "
            "give the study area as (Multi)Polygon(s)",
            path,
        )
    return area


def _polygonal(geom) -> Polygon | MultiPolygon | None:
    """The polygonal part of a geometry (GeometryCollections filtered), or None if empty."""
    if geom is None or geom.is_empty:
        return None
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    polys = []
    for part in getattr(geom, "geoms", []):
        p = _polygonal(part)
        if p is not None:
            polys.extend(p.geoms if isinstance(p, MultiPolygon) else [p])
    if not polys:
        return None
    out = shapely.union_all(polys)
    return out if isinstance(out, Polygon | MultiPolygon) else None


def _check_area(area) -> Polygon | MultiPolygon:
    if not isinstance(area, Polygon | MultiPolygon) or area.is_empty:
        raise InputError(
            f"the study area must be a non-empty (Multi)Polygon in EPSG:4326, got {type(area).__name__}"
        )
    w, s, e, n = area.bounds
    if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
        raise InputError(
            f"the study area's bounds {area.bounds} are not degrees; reproject it to EPSG:4326"
        )
    if not area.is_valid:
        area = _polygonal(shapely.make_valid(area))
        if area is None:
            raise InputError("the study area polygon is invalid and has no area once repaired")
    return area


def buffer_area(area: Polygon | MultiPolygon, metres: float) -> Polygon | MultiPolygon:
    """Grow the study area by ``metres`` all round.

    The buffer is computed in the metric CRS of the area's centroid
    (:func:`accessibility.network.metric_crs`: EPSG:25832 in Germany, else the
    local UTM zone), so the distance is true metres, then the result is
    projected back.

    Parameters
    ----------
    area : Polygon or MultiPolygon
        EPSG:4326.
    metres : float
        Buffer distance in metres (>= 0); the pipeline uses the largest walking
        distance (minutes × speed) so residents near the edge are not cut off.

    Returns
    -------
    Polygon or MultiPolygon
        EPSG:4326.
    """
    from pyproj import Transformer

    from .network import metric_crs

    area = _check_area(area)
    metres = float(metres)
    if not math.isfinite(metres) or metres < 0:
        raise InputError(f"buffer distance must be a finite number of metres >= 0, got {metres}")
    if metres == 0:
        return area
    c = area.centroid
    crs = metric_crs(c.x, c.y)
    fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    back = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    proj = shapely.transform(area, lambda xy: _apply(fwd, xy))
    grown = proj.buffer(metres, quad_segs=16)
    return shapely.transform(grown, lambda xy: _apply(back, xy))


def _apply(transformer, xy):
    import numpy as np

    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


# -- the query -------------------------------------------------------------------------
def overpass_queries(area: Polygon | MultiPolygon) -> list[str]:
    """The Overpass QL queries for the area, one per sub-polygon.

    The area is cut like osmnx does (``osmnx._overpass._make_overpass_polygon_coord_strs``:
    a MultiPolygon becomes its convex hull, areas larger than
    ``osmnx.settings.max_query_area_size`` are cut into squares by
    ``osmnx._utils_geo._consolidate_subdivide_geometry``), so small areas need a
    single query.

    Each query selects (``[out:json]`` with osmnx's ``settings.overpass_settings``
    timeout and maxsize), inside the sub-polygon's ``poly`` filter:

    * every way passing osmnx's ``network_type="walk"`` filter
      (``osmnx._overpass._get_network_filter("walk")``), as osmnx itself does;
    * every node, way and relation tagged with one of :data:`FEATURE_KEYS`;

    then recurses down (``>;``: the nodes of the ways, the members of the
    relations and their nodes) and prints everything with ``out body;``.

    Parameters
    ----------
    area : Polygon or MultiPolygon
        EPSG:4326. Interior rings (holes) are ignored, as in osmnx.

    Returns
    -------
    list of str
    """
    from osmnx import _overpass

    area = _query_polygon(_check_area(area))
    head = _overpass._make_overpass_settings()
    walk = _overpass._get_network_filter("walk")
    queries = []
    for coords in _overpass._make_overpass_polygon_coord_strs(area):
        poly = f'(poly:"{coords}")'
        parts = [f"way{walk}{poly};"] + [f'nwr["{key}"]{poly};' for key in FEATURE_KEYS]
        queries.append(f"{head};({''.join(parts)});(._;>;);out body;")
    return queries


def overpass_query(area: Polygon | MultiPolygon) -> str:
    """The full Overpass QL text for the area (what the download cache is keyed on).

    Usually a single query; a large area needing several (see
    :func:`overpass_queries`) gives one query per line.

    Parameters
    ----------
    area : Polygon or MultiPolygon
        EPSG:4326.

    Returns
    -------
    str
    """
    return "\n".join(overpass_queries(area))


def _query_polygon(area: Polygon | MultiPolygon) -> Polygon | MultiPolygon:
    """Simplify very detailed polygons outwards (buffer, then simplify by the same metres)."""
    parts = area.geoms if isinstance(area, MultiPolygon) else [area]
    if sum(len(p.exterior.coords) for p in parts) <= _MAX_POLY_VERTICES:
        return area
    # ~metres to degrees at this latitude; the buffer is at least the simplification
    # tolerance everywhere, so the simplified outline still contains the area.
    lat = math.radians(area.centroid.y)
    deg = _SIMPLIFY_M / (111_320.0 * max(math.cos(lat), 0.05))
    return _polygonal(area.buffer(deg, quad_segs=2).simplify(deg * 0.5)) or area


# -- Overpass JSON to OSM XML ----------------------------------------------------------
def overpass_json_to_osm(
    responses: Iterable[dict[str, Any] | list[dict[str, Any]]],
    path: str | Path,
    bounds: tuple[float, float, float, float] | None = None,
) -> Path:
    """Write Overpass JSON element lists as an OSM XML file (atomically).

    Elements of all responses are merged, de-duplicated by ``(type, id)`` (the
    first occurrence is kept; responses of overlapping sub-queries carry
    identical copies) and written sorted by type (nodes, ways, relations) then
    id, with ``osmium.SimpleWriter``. Coordinates go through osmium's fixed
    1e-7 degree precision, i.e. exactly what any OSM file holds.

    Parameters
    ----------
    responses : iterable of dict or list
        Overpass ``[out:json]`` responses (dicts with ``"elements"``) or plain
        element lists. Elements as Overpass prints them with ``out body;`` (or
        ``out meta;``): ``type`` (node/way/relation), ``id``, ``lat``/``lon``
        (nodes, degrees EPSG:4326), ``nodes`` (ways), ``members`` (relations:
        ``type``, ``ref``, ``role``), optional ``tags``, ``version``,
        ``timestamp``, ``changeset``, ``uid``, ``user``. Other element types
        (e.g. ``area``) and extra keys (``geometry``, ``center``) are ignored.
    path : str or Path
        Output file; the format follows the suffix (``.osm`` for XML; ``.pbf``,
        ``.osm.gz`` also work).
    bounds : tuple, optional
        ``(west, south, east, north)`` degrees for the file header's ``<bounds>``.

    Returns
    -------
    Path
    """
    merged = _merge_elements(responses)
    return _write_osm(merged, path, bounds)


def _merge_elements(
    responses: Iterable[dict[str, Any] | list[dict[str, Any]]],
) -> dict[str, list[dict[str, Any]]]:
    """Elements of all responses, de-duplicated, by type, each list sorted by id."""
    seen: dict[str, dict[int, dict[str, Any]]] = {"node": {}, "way": {}, "relation": {}}
    for resp in responses:
        elements = resp.get("elements", []) if isinstance(resp, dict) else resp
        for el in elements:
            kind = el.get("type")
            if kind not in seen:
                continue
            seen[kind].setdefault(int(el["id"]), el)
    return {kind: [d[i] for i in sorted(d)] for kind, d in seen.items()}


def _attrs(el: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": int(el["id"]), "tags": dict(el.get("tags") or {})}
    for key in ("version", "changeset", "uid"):
        if el.get(key) is not None:
            out[key] = int(el[key])
    if el.get("timestamp"):
        out["timestamp"] = el["timestamp"]
    if el.get("user") is not None:
        out["user"] = str(el["user"])
    return out


def _write_osm(
    merged: dict[str, list[dict[str, Any]]],
    path: str | Path,
    bounds: tuple[float, float, float, float] | None = None,
) -> Path:
    import osmium
    from osmium.osm.mutable import Node, Relation, Way

    header = osmium.io.Header()
    header.set("generator", "accessibility (Overpass API via osmnx)")
    if bounds is not None:
        w, s, e, n = bounds
        header.add_box(osmium.osm.Box(osmium.osm.Location(w, s), osmium.osm.Location(e, n)))

    def _w(p: Path) -> None:
        with osmium.SimpleWriter(str(p), header=header) as writer:
            for el in merged["node"]:
                if el.get("lat") is None or el.get("lon") is None:
                    raise NetworkError(
                        f"Overpass node {el['id']} has no coordinates; the query must print "
                        "'out body;' (or 'out meta;')"
                    )
                writer.add_node(Node(location=(float(el["lon"]), float(el["lat"])), **_attrs(el)))
            for el in merged["way"]:
                writer.add_way(Way(nodes=[int(r) for r in el.get("nodes", [])], **_attrs(el)))
            for el in merged["relation"]:
                members = [
                    (_MEMBER_TYPE[m["type"]], int(m["ref"]), str(m.get("role") or ""))
                    for m in el.get("members", [])
                ]
                writer.add_relation(Relation(members=members, **_attrs(el)))

    suffix = "".join(Path(path).suffixes[-2:]) if str(path).endswith(".gz") else Path(path).suffix
    return atomic_write(path, _w, suffix=suffix or ".osm")


# -- cached download -------------------------------------------------------------------
def download_path(area: Polygon | MultiPolygon) -> Path:
    """Where :func:`fetch_osm` keeps the download of this area.

    ``cache_dir()/"downloads"/<sha256 of overpass_query(area)>.osm``; the
    sidecar record is the same name with ``.json``.
    """
    return _download_path(overpass_queries(area))


def _download_path(queries: list[str]) -> Path:
    key = hashlib.sha256("\n".join(queries).encode("utf-8")).hexdigest()
    return cache_dir() / "downloads" / f"{key}.osm"


def fetch_osm(area: Polygon | MultiPolygon, refresh: bool = False, progress: bool = False) -> Path:
    """Download the OSM data of the study area from Overpass into a cached ``.osm`` file.

    If the file and its record already exist (and not ``refresh``), they are
    returned without any network access. Otherwise the queries of
    :func:`overpass_queries` are sent one by one through
    ``osmnx._overpass._overpass_request`` (rate limiting, osmnx response cache,
    timeouts, user agent), the answers merged and written with
    :func:`overpass_json_to_osm`, and a record written next to it (see
    :func:`download_record`). Read the result with
    :func:`accessibility.osm.read_osm` / :func:`accessibility.network.load_network`.

    Parameters
    ----------
    area : Polygon or MultiPolygon
        Study area in EPSG:4326, usually already grown with :func:`buffer_area`.
    refresh : bool
        Download again even if cached (osmnx's cached responses for these
        queries are dropped too). A failed refresh leaves the old file in place.
    progress : bool
        Show a spinner while downloading.

    Returns
    -------
    Path
        The ``.osm`` file.

    Raises
    ------
    NetworkError
        The download failed (no connection, HTTP error, Overpass runtime error
        such as a timeout or out-of-memory, empty answer).
    """
    area = _check_area(area)
    queries = overpass_queries(area)
    path = _download_path(queries)
    record_path = path.with_suffix(".json")
    if not refresh and path.exists() and record_path.exists():
        return path

    from osmnx import settings

    responses = []
    with _osmnx_cache(), _spinner(progress) as update:
        _check_reachable(settings.overpass_url)
        for i, query in enumerate(queries, 1):
            update(f"downloading OpenStreetMap data from Overpass ({i}/{len(queries)})")
            responses.append(_request(query, refresh))
    merged = _merge_elements(responses)
    counts = {f"{kind}s": len(els) for kind, els in merged.items()}
    if counts["nodes"] == 0:
        raise NetworkError(
            f"Overpass returned no OpenStreetMap data inside the study area (bounds {area.bounds}, "
            "west, south, east, north); is the area right (a bbox is west, south, east, north)?"
        )
    _write_osm(merged, path, bounds=area.bounds)
    remarks = [r["remark"] for r in responses if r.get("remark")]
    record = {
        "source": "overpass",
        "downloaded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "overpass_url": settings.overpass_url,
        "query": "\n".join(queries),
        "n_queries": len(queries),
        "area_bounds": list(area.bounds),
        "osm_base": sorted(
            {r.get("osm3s", {}).get("timestamp_osm_base") for r in responses} - {None}
        ),
        "generator": sorted({r.get("generator") for r in responses} - {None}),
        "remarks": remarks,
        "elements": counts,
        "file": path.name,
        "sha256": sha256(path),
        "license": ATTRIBUTION_OSM,
    }
    write_json(record, record_path)
    return path


def download_record(path: str | Path) -> dict[str, Any]:
    """The record written next to a download by :func:`fetch_osm` (for run.json).

    Parameters
    ----------
    path : str or Path
        The ``.osm`` file returned by :func:`fetch_osm`.

    Returns
    -------
    dict
        ``downloaded_at`` (UTC, ISO 8601), ``overpass_url``, ``query``,
        ``area_bounds`` (west, south, east, north, degrees), ``elements`` (counts
        of nodes, ways, relations), ``osm_base`` (Overpass data timestamps),
        ``sha256`` of the file, ``license`` and ``remarks``.
    """
    record_path = Path(path).with_suffix(".json")
    if not record_path.exists():
        raise InputError("no download record next to this file; was it made by fetch_osm?", path)
    return json.loads(record_path.read_text(encoding="utf-8"))


def _request(query: str, refresh: bool) -> dict[str, Any]:
    """One Overpass request through osmnx, errors turned into NetworkError."""
    import requests
    from osmnx import _http, _overpass, settings
    from osmnx._errors import InsufficientResponseError, ResponseStatusCodeError

    data = OrderedDict(data=query)
    if refresh:  # drop osmnx's cached response so the request really goes out
        url = settings.overpass_url.rstrip("/") + "/interpreter"
        prepared = str(requests.Request("GET", url, params=data).prepare().url)
        _http._resolve_cache_filepath(prepared).unlink(missing_ok=True)
    try:
        response = _overpass._overpass_request(data)
    except (
        requests.RequestException,
        InsufficientResponseError,
        ResponseStatusCodeError,
        OSError,
        ValueError,
    ) as exc:
        detail = " ".join(str(exc).split())
        detail = detail if len(detail) <= 300 else detail[:300] + "…"
        raise NetworkError(
            f"Overpass download failed: {type(exc).__name__}: {detail}; {_HINT}"
        ) from exc
    _check_response(response)
    return response


def _check_response(response: dict[str, Any]) -> None:
    """Raise NetworkError for answers Overpass marks as failed (they may be partial)."""
    if not isinstance(response, dict) or not isinstance(response.get("elements"), list):
        raise NetworkError(f"Overpass download failed: unexpected answer; {_HINT}")
    remark = str(response.get("remark") or "")
    if "error" in remark.lower():
        raise NetworkError(
            f"Overpass download failed: the server reported {remark!r} (the answer would be "
            "incomplete); try a smaller area, a larger osmnx.settings.requests_timeout / "
            f"overpass_memory, or {_HINT}"
        )


def _check_reachable(base_url: str) -> None:
    """Fail fast if the Overpass server cannot be reached at all.

    osmnx's rate limiter waits 60 s when the status endpoint is unreachable
    before trying the query itself; a dead connection is reported at once instead.
    """
    import requests
    from osmnx import _http, settings

    if not settings.overpass_rate_limit:
        return  # osmnx does not call the status endpoint; the request fails fast itself
    url = base_url.rstrip("/") + "/status"
    try:
        requests.get(
            url,
            headers=_http._get_http_headers(),
            timeout=min(float(settings.requests_timeout), 30.0),
            **settings.requests_kwargs,
        )
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise NetworkError(
            f"Overpass download failed: cannot reach {base_url} ({type(exc).__name__}); {_HINT}"
        ) from exc


@contextlib.contextmanager
def _osmnx_cache() -> Iterator[None]:
    """Point osmnx's response cache into our cache folder while it is at its default."""
    from osmnx import settings

    old = settings.cache_folder
    if str(old) == _OSMNX_DEFAULT_CACHE:
        settings.cache_folder = str(cache_dir() / "osmnx")
    try:
        yield
    finally:
        settings.cache_folder = old


@contextlib.contextmanager
def _spinner(progress: bool) -> Iterator[Any]:
    if not progress:
        yield lambda text: None
        return
    from rich.console import Console

    with Console(stderr=True).status("downloading") as status:
        yield lambda text: status.update(text)

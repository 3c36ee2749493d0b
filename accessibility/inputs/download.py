"""Study area and OpenStreetMap download (Nominatim and Overpass, sent directly).

The online path ends in exactly the same processing as the offline one: the
Overpass answer is written to a real OSM XML file in the cache, and everything
downstream reads that file with :func:`accessibility.inputs.osm.read_osm` /
:func:`accessibility.core.network.load_network`, as it would read a user's extract.
The query asks for exactly what the offline path reads
(:func:`accessibility.inputs.osm_keys.feature_keys` plus osmnx's walking ways).

Servers, timeouts, retries and the user agent come from
:class:`accessibility.inputs.servers.Servers` (options, ``ACCESSIBILITY_*`` environment
variables, osmnx's settings). Place names are geocoded here with one Nominatim
search request (:func:`geocode_place`; the boundary cached as
``cache_dir()/"places"/<key>.json``), and Overpass queries are sent here; both
with visible, bounded retries. Only complete answers are stored: the download
once, as ``cache_dir()/"downloads"/<key>.osm``.

All geometries here are in WGS 84 (EPSG:4326), coordinates ``(lon, lat)`` in
degrees; buffer distances are in metres.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from .._io import atomic_write, sha256, write_json, write_text
from ..config import ATTRIBUTION_OSM, cache_dir
from ..errors import InputError, NetworkError
from ..geo import metric_crs
from ..progress import spinner
from . import _osmnx
from .osm import is_walkable, walk_class_filter_text, walk_filter
from .osm_keys import feature_keys
from .servers import Servers, nominatim_pause

#: Tag keys of the features the packaged presets and the base steps need (kept for
#: old imports; the run's own set is ``feature_keys(presets)``).
FEATURE_KEYS = feature_keys(None)

#: Polygons with more exterior vertices than this are simplified (outwards, so
#: nothing inside is lost) before they go into the Overpass ``poly`` filter.
_MAX_POLY_VERTICES = 1000
#: Tolerance of that simplification, metres.
_SIMPLIFY_M = 10.0

_HINT = "check the connection, or download an extract (e.g. from Geofabrik/BBBike) and pass --network FILE"
_MEMBER_TYPE = {"node": "n", "way": "w", "relation": "r", "n": "n", "w": "w", "r": "r"}


# -- study area ------------------------------------------------------------------------
def study_area(
    place: str | None = None,
    bbox: Sequence[float] | str | None = None,
    polygon: str | Path | None = None,
    servers: Servers | None = None,
    refresh: bool = False,
) -> Polygon | MultiPolygon:
    """The study area as a (Multi)Polygon in EPSG:4326, from exactly one source.

    Parameters
    ----------
    place : str, optional
        A place name (e.g. ``"Kaiserslautern, Germany"``), geocoded to its
        boundary with Nominatim (:func:`geocode_place`: rate-limited, bounded
        retries, cached).
    bbox : sequence of 4 floats or str, optional
        ``(west, south, east, north)`` in degrees (EPSG:4326), or the same as a
        comma-separated string.
    polygon : str or Path, optional
        A GeoJSON, GeoPackage or Shapefile; all its geometries are unioned and
        reprojected to EPSG:4326 (a file without CRS is taken as EPSG:4326 if its
        coordinates fit degrees).
    servers : Servers, optional
        The Nominatim server, timeout and user agent for ``place``; default
        :meth:`Servers.from_env`.
    refresh : bool
        Ask Nominatim again even if the place is cached.

    Returns
    -------
    Polygon or MultiPolygon
        Valid, non-empty, EPSG:4326 ``(lon, lat)``.

    Raises
    ------
    InputError
        Not exactly one source given, a malformed bbox, an unreadable or
        non-polygonal polygon file; a place name not found or without a boundary.
    NetworkError
        The place name could not be geocoded (no network, busy or broken server).
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
        return _geocode_area(place, servers or Servers.from_env(), refresh)
    if bbox is not None:
        return _bbox_area(bbox)
    return _polygon_file_area(polygon)  # type: ignore[arg-type]


def _geocode_area(place: str, servers: Servers, refresh: bool = False) -> Polygon | MultiPolygon:
    return geocode_place(place, servers, refresh=refresh)[0]


#: Parameters of a place search, as osmnx's ``geocode_to_gdf`` sends them (so the
#: same boundary is chosen): up to 50 results, not de-duplicated, with outlines.
_PLACE_PARAMS = {"format": "json", "polygon_geojson": "1", "dedupe": "0", "limit": "50"}


def geocode_place(
    place: str,
    servers: Servers | None = None,
    *,
    refresh: bool = False,
    say: Callable[[str], None] | None = None,
) -> tuple[Polygon | MultiPolygon, dict[str, Any]]:
    """A place name's boundary polygon from Nominatim (EPSG:4326), cached.

    One search request (``/search?q=...&format=json&polygon_geojson=1``, as
    ``osmnx.geocode_to_gdf`` asks) goes to ``servers.nominatim_url`` with the
    run's user agent, at most one request per ``servers.nominatim_delay_s``
    (at least 1 s on the public server). Of the results, sorted by importance,
    the first with a (Multi)Polygon outline is the study area, as in osmnx. A
    busy server (HTTP 429, 503, 504, or no answer in time) is retried visibly
    and within the limits of ``servers`` (``max_attempts`` requests,
    ``max_wait_s`` seconds of waiting; the same limits as the Overpass download).

    The chosen result is cached as ``cache_dir()/"places"/<key>.json``, the key
    being the server URL and the search parameters; only an answer that gave a
    boundary is stored, never an error, an empty or an invalid answer.

    Parameters
    ----------
    place : str
        Place name, e.g. ``"Nordstadt, Dortmund, Germany"``.
    servers : Servers, optional
        Default :meth:`Servers.from_env`.
    refresh : bool
        Ask the server again even if the place is cached.
    say : callable, optional
        Receives the retry messages; default prints to stderr.

    Returns
    -------
    (Polygon or MultiPolygon, dict)
        The boundary (valid, EPSG:4326 ``(lon, lat)``) and its record for
        ``run.json``: ``nominatim_url``, ``query``, ``fetched_at`` (UTC),
        ``osm_type``, ``osm_id``, ``display_name``, ``class``, ``type``, ``licence``.

    Raises
    ------
    InputError
        Empty name; no result, or no result with a boundary (a point or a street).
    NetworkError
        Server unreachable, still busy after the allowed attempts or waiting,
        another HTTP error, invalid JSON, or JSON that is not a search answer.
    """
    servers = servers or Servers.from_env()
    place = str(place).strip()
    what = f"could not geocode {place!r} at {servers.nominatim_url}"
    if not place:
        raise InputError(
            'the place name is empty; give e.g. --place "Nordstadt, Dortmund, Germany"'
        )
    params = {**_PLACE_PARAMS, "q": place}
    path = _place_path(servers, params)
    record = None if refresh else _read_place(path)
    if record is None:
        results = nominatim_search(params, servers, what, say=say)
        results = sorted(results, key=lambda r: float(r.get("importance") or 0), reverse=True)
        if not results:
            raise InputError(
                f"{what}: no place of that name found; check the spelling, add the city and "
                'country (e.g. "Nordstadt, Dortmund, Germany"), or give --bbox W,S,E,N or '
                "--polygon FILE"
            )
        chosen = next(
            (r for r in results
             if (r.get("geojson") or {}).get("type") in ("Polygon", "MultiPolygon")),
            None,
        )  # fmt: skip
        if chosen is None:
            found = ", ".join(
                f"{r.get('display_name', '?')} ({(r.get('geojson') or {}).get('type', 'no outline')})"
                for r in results[:3]
            )
            raise InputError(
                f"{what}: Nominatim knows it only as a point or line, not as an area with a "
                f"boundary (found: {found}); give a district, town or other named area, or "
                "--bbox W,S,E,N or --polygon FILE"
            )
        record = {
            "source": "nominatim",
            "nominatim_url": servers.nominatim_url,
            "query": place,
            "params": params,
            "fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "result": chosen,
        }
        area = _place_polygon(record)
        if area is None:
            raise NetworkError(f"{what}: the boundary Nominatim sent has no area once repaired")
        write_text(json.dumps(record, ensure_ascii=False), path)
    area = _place_polygon(record)
    result = record["result"]
    info = {
        "nominatim_url": record["nominatim_url"], "query": record["query"],
        "fetched_at": record["fetched_at"],
        **{k: result.get(k) for k in ("osm_type", "osm_id", "display_name", "class", "type",
                                      "licence")},
    }  # fmt: skip
    return area, info


def _place_path(servers: Servers, params: dict[str, str]) -> Path:
    text = servers.nominatim_url.rstrip("/") + "\n" + json.dumps(params, sort_keys=True)
    return cache_dir() / "places" / f"{hashlib.sha256(text.encode('utf-8')).hexdigest()}.json"


def _read_place(path: Path) -> dict[str, Any] | None:
    """A cached place record, or None if absent or unusable (then it is asked again)."""
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return record if _place_polygon(record) is not None else None
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _place_polygon(record: dict[str, Any]) -> Polygon | MultiPolygon | None:
    geom = shapely.geometry.shape(record["result"]["geojson"])
    return _polygonal(shapely.make_valid(geom))


def nominatim_search(
    params: dict[str, str],
    servers: Servers,
    what: str = "Nominatim search failed",
    say: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """One Nominatim ``/search`` request, polite, patient and bounded; its JSON results.

    Waits so that requests to the server are at least ``servers.nominatim_delay_s``
    apart, sends the run's user agent, and retries a busy answer (HTTP 429, 503,
    504) or a timeout after the server's ``Retry-After`` or
    ``servers.retry_wait_s`` seconds, announced as e.g. "Nominatim busy (HTTP 429
    too many requests), retrying in 55 s (attempt 2 of 5)", up to
    ``servers.max_attempts`` requests and ``servers.max_wait_s`` seconds of waiting.

    Parameters
    ----------
    params : dict
        Query parameters (``q``, ``format=json`` ...).
    servers : Servers
    what : str
        Start of the error messages (e.g. "could not geocode 'X' at <server>").
    say : callable, optional
        Receives the messages; default prints to stderr.

    Returns
    -------
    list of dict

    Raises
    ------
    NetworkError
        Unreachable, still busy at the limit, another HTTP error, invalid JSON, or
        JSON that is not a list of results.
    """
    import requests

    say = say or _say
    budget = _Budget(servers.max_wait_s)
    url = servers.nominatim_url.rstrip("/") + "/search"

    def send():
        nominatim_pause(servers.nominatim_url, servers.nominatim_delay_s)
        return requests.get(
            url, params=params, headers=servers.headers(), timeout=servers.timeout_s
        )

    def unreachable(exc: Exception) -> NetworkError:
        return NetworkError(
            f"{what} (no network? misspelt?): cannot reach the server "
            f"({type(exc).__name__}: {_short(exc)}) — give --bbox or --network FILE, or "
            "another server (--nominatim-url or $ACCESSIBILITY_NOMINATIM_URL)"
        )

    def refused(response) -> NetworkError:
        return NetworkError(
            f"{what}: the server answered HTTP {response.status_code} {response.reason}: "
            f"{_server_message(response)}; "
            + (
                "the public server blocks unidentified or heavy use: set your own user "
                "agent ($ACCESSIBILITY_USER_AGENT), or give --bbox W,S,E,N"
                if response.status_code in (403, 418)
                else "check --nominatim-url, or give --bbox W,S,E,N or --polygon FILE"
            )
        )

    response, attempt, last = _patiently(
        "Nominatim", send, servers, budget, say, unreachable=unreachable, refused=refused
    )
    if response is not None:
        return _parse_search(response, servers, what)
    raise NetworkError(
        f"{what}: the server is still busy after {attempt} attempt(s) and {budget.waited:.0f} s "
        f"of waiting ({last}); try again later, allow more patience (--overpass-attempts / "
        "--overpass-max-wait, or $ACCESSIBILITY_OVERPASS_ATTEMPTS / "
        "$ACCESSIBILITY_OVERPASS_MAX_WAIT), use another server (--nominatim-url or "
        "$ACCESSIBILITY_NOMINATIM_URL), or give --bbox W,S,E,N or --polygon FILE"
    )


def _parse_search(response, servers: Servers, what: str) -> list[dict[str, Any]]:
    try:
        answer = response.json()
    except ValueError:
        raise NetworkError(
            f"{what}: invalid JSON from {servers.nominatim_url} ({len(response.content):,} bytes "
            f"starting {response.text[:80]!r}); the server may be overloaded or not a Nominatim "
            "server; try again later, check --nominatim-url, or give --bbox W,S,E,N"
        ) from None
    if not isinstance(answer, list) or not all(isinstance(r, dict) for r in answer):
        raise NetworkError(
            f"{what}: {servers.nominatim_url} sent JSON that is not a list of search results, "
            f"not a Nominatim answer; check the URL (searches go to "
            f"{servers.nominatim_url.rstrip('/')}/search)"
        )
    return answer


def _bbox_area(bbox: Sequence[float] | str) -> Polygon:
    if isinstance(bbox, str):
        parts = [p for p in bbox.replace(";", ",").replace(" ", ",").split(",") if p]
    else:
        parts = list(bbox)  # type: ignore[arg-type]
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
    polys: list[Polygon] = []
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
    (:func:`accessibility.geo.metric_crs`: EPSG:25832 in Germany, else the
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
def overpass_queries(
    area: Polygon | MultiPolygon,
    keys: Sequence[str] | None = None,
    servers: Servers | None = None,
) -> list[str]:
    """Overpass QL queries for the area, one per sub-polygon.

    The area is cut like osmnx does (:func:`accessibility._osmnx.polygon_coord_strs`:
    a MultiPolygon becomes its convex hull, areas larger than
    ``osmnx.settings.max_query_area_size`` are cut into squares), so small areas
    need a single query.

    Each query selects (``[out:json]``, the server's timeout and osmnx's
    ``settings.overpass_memory``), inside the sub-polygon's ``poly`` filter:

    * every way passing osmnx's ``network_type="walk"`` filter, as osmnx itself does;
    * every node, way and relation carrying one of ``keys``
      (:func:`accessibility.inputs.osm_keys.feature_keys`: what the presets, the building
      estimate, the geocoder and the shopfront steps read);

    then recurses down (``>;``: the nodes of the ways, the members of the
    relations and their nodes) and prints everything with ``out body;``.

    Parameters
    ----------
    area : Polygon or MultiPolygon
        EPSG:4326. Interior rings (holes) are ignored, as in osmnx.
    keys : sequence of str, optional
        Feature tag keys; default ``feature_keys()`` of the packaged presets.
    servers : Servers, optional
        For the query timeout; default :meth:`Servers.from_env`.

    Returns
    -------
    list of str
    """
    from osmnx import settings

    servers = servers or Servers.from_env()
    keys = tuple(sorted(set(feature_keys(None) if keys is None else keys)))
    area = _query_polygon(_check_area(area))
    maxsize = "" if settings.overpass_memory is None else f"[maxsize:{settings.overpass_memory}]"
    head = f"[out:json][timeout:{servers.timeout_s:g}]{maxsize}"
    walk = walk_class_filter_text()
    queries = []
    for coords in _osmnx.polygon_coord_strs(area):
        poly = f'(poly:"{coords}")'
        parts = [f"way{walk}{poly};"] + [f'nwr["{_ql(key)}"]{poly};' for key in keys]
        queries.append(f"{head};({''.join(parts)});(._;>;);out body;")
    return queries


def _ql(key: str) -> str:
    """A tag key as an Overpass QL string literal body."""
    return str(key).replace("\\", "\\\\").replace('"', '\\"')


def overpass_query(
    area: Polygon | MultiPolygon,
    keys: Sequence[str] | None = None,
    servers: Servers | None = None,
) -> str:
    """The full Overpass QL text for the area (part of the download cache key).

    Usually a single query; a large area needing several (see
    :func:`overpass_queries`) gives one query per line.

    Parameters
    ----------
    area : Polygon or MultiPolygon
        EPSG:4326.
    keys, servers
        As in :func:`overpass_queries`.

    Returns
    -------
    str
    """
    return "\n".join(overpass_queries(area, keys, servers))


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
def download_path(
    area: Polygon | MultiPolygon,
    keys: Sequence[str] | None = None,
    servers: Servers | None = None,
) -> Path:
    """Where :func:`fetch_osm` keeps the download of this area from this server.

    ``cache_dir()/"downloads"/<sha256 of the server URL and the query>.osm``;
    the sidecar record is the same name with ``.json``. The same area asked of
    another server is another download.

    Parameters
    ----------
    area : Polygon or MultiPolygon
        Study area in EPSG:4326 (as given to :func:`fetch_osm`).
    keys : sequence of str, optional
        Feature tag keys, as for :func:`fetch_osm`.
    servers : Servers, optional
        Server and limits; default :meth:`Servers.from_env`.

    Returns
    -------
    Path
        The cached ``.osm`` file's path (it need not exist yet).
    """
    servers = servers or Servers.from_env()
    return _download_path(servers, overpass_queries(area, keys, servers))


def _download_path(servers: Servers, queries: list[str]) -> Path:
    text = servers.overpass_url.rstrip("/") + "\n" + "\n".join(queries)
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return cache_dir() / "downloads" / f"{key}.osm"


def fetch_osm(
    area: Polygon | MultiPolygon,
    refresh: bool = False,
    progress: bool = False,
    *,
    keys: Sequence[str] | None = None,
    servers: Servers | None = None,
    say: Callable[[str], None] | None = None,
) -> Path:
    """Download the OSM data of the study area from Overpass into a cached ``.osm`` file.

    If the file and its record already exist (and not ``refresh``), they are
    returned without any network access. Otherwise the queries of
    :func:`overpass_queries` are sent one by one (waiting for a free slot and
    retrying a busy server within the limits of ``servers``, see
    :func:`overpass_request`), the answers checked, merged and written with
    :func:`overpass_json_to_osm`, and a record written next to it (see
    :func:`download_record`). Only a complete download is stored: it must hold
    walkable ways, reach every side of the area and carry no Overpass
    ``remark`` (which marks a partial answer). The download is stored once, as
    this file; no raw answers are kept. Read it with
    :func:`accessibility.inputs.osm.read_osm` / :func:`accessibility.core.network.load_network`.

    Parameters
    ----------
    area : Polygon or MultiPolygon
        Study area in EPSG:4326, usually already grown with :func:`buffer_area`.
    refresh : bool
        Download again even if cached. A failed refresh leaves the old file in place.
    progress : bool
        Show a spinner while downloading.
    keys : sequence of str, optional
        Feature tag keys (:func:`accessibility.inputs.osm_keys.feature_keys` of the run's presets).
    servers : Servers, optional
        Server and limits; default :meth:`Servers.from_env`.
    say : callable, optional
        Receives one-line messages (waiting, retrying); default prints to stderr.

    Returns
    -------
    Path
        The ``.osm`` file.

    Raises
    ------
    NetworkError
        The download failed (no connection, HTTP error, still busy after the
        allowed attempts, invalid JSON, Overpass runtime error, an empty or
        incomplete answer). Nothing is cached then.
    """
    area = _check_area(area)
    servers = servers or Servers.from_env()
    keys = tuple(sorted(set(feature_keys(None) if keys is None else keys)))
    queries = overpass_queries(area, keys, servers)
    path = _download_path(servers, queries)
    record_path = path.with_suffix(".json")
    if not refresh and path.exists() and record_path.exists():
        return path

    budget = _Budget(servers.max_wait_s)
    responses = []
    with spinner("downloading", progress) as update:
        notify = say or _say
        for i, query in enumerate(queries, 1):
            update(
                f"downloading OpenStreetMap data from {servers.overpass_url} ({i}/{len(queries)})"
            )
            responses.append(overpass_request(query, servers, say=notify, budget=budget))
    merged = _merge_elements(responses)
    counts = _check_complete(merged, area, servers)
    _write_osm(merged, path, bounds=area.bounds)
    record = {
        "source": "overpass",
        "downloaded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "overpass_url": servers.overpass_url,
        "query": "\n".join(queries),
        "feature_keys": list(keys),
        "n_queries": len(queries),
        "area_bounds": list(area.bounds),
        "osm_base": sorted(
            {
                t
                for r in responses
                if (t := r.get("osm3s", {}).get("timestamp_osm_base")) is not None
            }
        ),
        "generator": sorted({g for r in responses if (g := r.get("generator")) is not None}),
        "remarks": [],
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
        ``feature_keys``, ``area_bounds`` (west, south, east, north, degrees),
        ``elements`` (counts of nodes, ways, walkable ways, relations),
        ``osm_base`` (Overpass data timestamps), ``sha256`` of the file and ``license``.
    """
    record_path = Path(path).with_suffix(".json")
    if not record_path.exists():
        raise InputError("no download record next to this file; was it made by fetch_osm?", path)
    return json.loads(record_path.read_text(encoding="utf-8"))


class _Budget:
    """Seconds of waiting left for one download (shared by its queries)."""

    def __init__(self, seconds: float):
        self.total = float(seconds)
        self.waited = 0.0

    @property
    def left(self) -> float:
        return max(self.total - self.waited, 0.0)

    def sleep(self, seconds: float) -> None:
        seconds = min(max(seconds, 0.0), self.left)
        time.sleep(seconds)
        self.waited += seconds


#: HTTP answers of a busy or overloaded server (Overpass, Nominatim): worth waiting and retrying.
_BUSY = {429: "too many requests", 503: "service unavailable", 504: "gateway timeout"}


def _patiently(
    service: str,
    send: Callable[[], Any],
    servers: Servers,
    budget: _Budget,
    say: Callable[[str], None],
    *,
    unreachable: Callable[[Exception], NetworkError],
    refused: Callable[[Any], NetworkError],
    before: Callable[[int], bool] | None = None,
) -> tuple[Any, int, str]:
    """The retry loop of every request to a public server (Overpass, Nominatim).

    A busy answer (:data:`_BUSY`) or a timeout is retried after the server's
    ``Retry-After`` or ``servers.retry_wait_s`` seconds, announced as e.g.
    "<service> busy (HTTP 429 too many requests), retrying in 55 s (attempt 2 of 5)",
    up to ``servers.max_attempts`` requests and the waiting ``budget`` (seconds).

    Parameters
    ----------
    service : str
        Name in the messages.
    send : callable
        Sends one request and returns its ``requests`` response.
    servers : Servers
        Attempts, timeout and default wait.
    budget : _Budget
        Seconds of waiting left.
    say : callable
        Receives the messages.
    unreachable, refused : callable
        The error for a request that failed (no connection) and for an HTTP answer
        that is neither 200 nor busy; raised at once.
    before : callable, optional
        Called with the attempt number before each request; False stops (still busy).

    Returns
    -------
    (response or None, int, str)
        The 200 answer (None when still busy at the limit), the last attempt and
        the last busy reason.
    """
    import requests

    last = ""
    attempt = 0
    for attempt in range(1, servers.max_attempts + 1):
        if before is not None and not before(attempt):
            break
        try:
            response = send()
        except requests.Timeout as exc:
            last = f"no answer within {servers.timeout_s:g} s ({type(exc).__name__})"
            wait = servers.retry_wait_s
        except requests.RequestException as exc:
            raise unreachable(exc) from exc
        else:
            if response.status_code == 200:
                return response, attempt, last
            if response.status_code not in _BUSY:
                raise refused(response)
            last = f"HTTP {response.status_code} {_BUSY[response.status_code]}"
            wait = _retry_after(response, servers.retry_wait_s)
        if attempt == servers.max_attempts or wait > budget.left:
            break
        say(
            f"{service} busy ({last}), retrying in {_secs(wait)} s "
            f"(attempt {attempt + 1} of {servers.max_attempts})"
        )
        budget.sleep(wait)
    return None, attempt, last


def overpass_request(
    query: str,
    servers: Servers,
    say: Callable[[str], None] | None = None,
    budget: _Budget | None = None,
) -> dict[str, Any]:
    """Send one Overpass query, patiently and visibly, and return its JSON answer.

    Before each attempt the server's ``/status`` is asked for a free slot (if
    ``servers.rate_limit``), and the wait it names is announced and kept. A busy
    answer (HTTP 429, 503, 504) or a timeout is retried after the server's
    ``Retry-After`` or ``servers.retry_wait_s`` seconds, announced as e.g.
    "Overpass busy (HTTP 429 too many requests), retrying in 55 s (attempt 2 of 5)",
    up to ``servers.max_attempts`` requests and ``servers.max_wait_s`` seconds of
    waiting in all.

    Parameters
    ----------
    query : str
        Overpass QL with ``[out:json]``.
    servers : Servers
    say : callable, optional
        Receives the messages; default prints to stderr.
    budget : optional
        Shared waiting budget of a download with several queries.

    Returns
    -------
    dict
        The parsed answer (``elements`` is a list).

    Raises
    ------
    NetworkError
        Unreachable server, still busy after the allowed attempts or waiting
        time, another HTTP error (with the server's message), invalid JSON, or
        an answer that is not an Overpass JSON answer.
    """
    import requests

    say = say or _say
    budget = budget or _Budget(servers.max_wait_s)
    url = servers.interpreter_url

    def free_slot(attempt: int) -> bool:
        """Wait for a free slot (announced); False if that wait is beyond the budget."""
        if not servers.rate_limit:
            return True
        pause = _slot_wait(servers)
        if pause > 0:
            if pause > budget.left:
                return False
            say(
                f"Overpass has no free slot, waiting {_secs(pause)} s "
                f"(attempt {attempt} of {servers.max_attempts})"
            )
            budget.sleep(pause)
        return True

    def send():
        return requests.post(
            url, data={"data": query}, headers=servers.headers(), timeout=servers.timeout_s
        )

    def unreachable(exc: Exception) -> NetworkError:
        return NetworkError(
            f"Overpass download failed: cannot reach {servers.overpass_url} "
            f"({type(exc).__name__}: {_short(exc)}); {_HINT}"
        )

    def refused(response) -> NetworkError:
        return NetworkError(
            f"Overpass download failed: {servers.overpass_url} answered HTTP "
            f"{response.status_code} {response.reason}: {_server_message(response)}; "
            + (
                "the query was rejected (bad filter in the presets?)"
                if response.status_code == 400
                else _HINT
            )
        )

    response, attempt, last = _patiently(
        "Overpass", send, servers, budget, say,
        unreachable=unreachable, refused=refused, before=free_slot,
    )  # fmt: skip
    if response is not None:
        return _parse_answer(response, servers)
    raise NetworkError(
        f"Overpass download failed: {servers.overpass_url} is still busy after {attempt} "
        f"attempt(s) and {budget.waited:.0f} s of waiting ({last or 'no free slot'}); try again "
        "later, allow more patience (--overpass-attempts / --overpass-max-wait, or "
        "$ACCESSIBILITY_OVERPASS_ATTEMPTS / $ACCESSIBILITY_OVERPASS_MAX_WAIT), use another "
        "server (--overpass-url or $ACCESSIBILITY_OVERPASS_URL), or download an extract "
        "(e.g. from Geofabrik/BBBike) and pass --network FILE"
    )


def _parse_answer(response, servers: Servers) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        raise NetworkError(
            f"Overpass download failed: invalid JSON from {servers.overpass_url} "
            f"({len(response.content):,} bytes starting {response.text[:80]!r}); the server may "
            "be overloaded or not an Overpass API; try again later or another server"
        ) from None
    if not isinstance(answer, dict) or not isinstance(answer.get("elements"), list):
        raise NetworkError(
            f"Overpass download failed: {servers.overpass_url} sent JSON without an 'elements' "
            "list, not an Overpass answer; check the URL (it ends in /api)"
        )
    remark = " ".join(str(answer.get("remark") or "").split())
    if remark:
        raise NetworkError(
            f"Overpass download failed: {servers.overpass_url} reported {remark!r}; the answer "
            "is incomplete and was not stored. Try a smaller area, a longer --timeout, "
            f"another server, or {_HINT}"
        )
    return answer


def _check_complete(
    merged: dict[str, list[dict[str, Any]]], area, servers: Servers
) -> dict[str, int]:
    """Element counts of a download, or NetworkError if it is not complete enough to cache."""

    clauses = walk_filter()
    counts = {f"{kind}s": len(els) for kind, els in merged.items()}
    if counts["nodes"] == 0:
        raise NetworkError(
            f"Overpass returned no OpenStreetMap data inside the study area (bounds {area.bounds}, "
            "west, south, east, north); is the area right (a bbox is west, south, east, north)?"
        )
    walkable = [w for w in merged["way"] if is_walkable(w.get("tags") or {}, clauses)]
    counts["walkable_ways"] = len(walkable)
    if not walkable:
        raise NetworkError(
            f"the answer of {servers.overpass_url} has no walkable ways ({counts['nodes']:,} "
            f"nodes, {counts['ways']:,} ways), so no walking network; it was not stored. Is the "
            "area right, and does the server hold data for it?"
        )
    # the data must reach every side of the area: a server whose database covers only
    # part of it (a regional extract) gives a cut network. Lenient, so that an area
    # with sea or forest along one side is not refused.
    xy = np.array([(el.get("lon"), el.get("lat")) for el in merged["node"]], dtype=float).reshape(
        -1, 2
    )
    w, s, e, n = area.bounds
    if len(xy):
        gx, gy = (e - w) * _COVER_TOLERANCE, (n - s) * _COVER_TOLERANCE
        x0, y0 = np.nanmin(xy, axis=0)
        x1, y1 = np.nanmax(xy, axis=0)
        if x0 > w + gx or x1 < e - gx or y0 > s + gy or y1 < n - gy:
            raise NetworkError(
                f"the answer of {servers.overpass_url} covers only lon {x0:.4f}..{x1:.4f}, lat "
                f"{y0:.4f}..{y1:.4f} of the area (lon {w:.4f}..{e:.4f}, lat {s:.4f}..{n:.4f}); "
                "the server's database may not cover the whole area (a regional extract?). "
                "It was not stored; use a server covering the area or pass --network FILE"
            )
    return counts


#: A complete download's nodes reach within this share of the area's width/height
#: of each side of its bounds.
_COVER_TOLERANCE = 0.35


def _slot_wait(servers: Servers) -> float:
    """Seconds until Overpass has a free slot for us, from ``/status`` (0 if unknown)."""
    import requests

    try:
        r = requests.get(
            servers.status_url, headers=servers.headers(), timeout=min(servers.timeout_s, 30.0)
        )
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise NetworkError(
            f"Overpass download failed: cannot reach {servers.overpass_url} "
            f"({type(exc).__name__}); {_HINT}"
        ) from exc
    except requests.RequestException:
        return 0.0
    if r.status_code != 200:
        return 0.0  # a server without /status: do not wait
    text = r.text
    if re.search(r"^\s*[1-9]\d* slots? available now", text, re.M):
        return 0.0
    waits = [int(x) for x in re.findall(r"Slot available after: \S+, in (-?\d+) seconds", text)]
    return float(max(min(waits), 0)) if waits else 0.0


def _retry_after(response, default: float) -> float:
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return default


def _server_message(response) -> str:
    """The error text of an Overpass answer (its HTML ``<p>`` lines), shortened."""
    text = response.text or ""
    found = re.findall(r"<strong[^>]*>\s*Error\s*</strong>:?(.*?)</p>", text, re.S)
    text = " ".join(found) if found else re.sub(r"<[^>]+>", " ", text)
    return _short(text) or "(no message)"


def _secs(seconds: float) -> str:
    """Seconds for a message: ``55``, ``0.2``."""
    return f"{round(seconds, 1):g}"


def _short(text, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "…"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)

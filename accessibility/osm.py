"""Read a local OpenStreetMap file: walkable ways, tagged features, buildings.

One reader (pyosmium) serves ``.osm``, ``.osm.gz``, ``.osm.bz2`` and ``.osm.pbf``,
so the same data gives the same network whatever the format. The walking filter
is osmnx's own ``network_type="walk"`` definition, parsed from osmnx at run time,
so the online (osmnx/Overpass) and offline paths select exactly the same ways.

Coordinates here are WGS 84 (EPSG:4326); :mod:`accessibility.network` projects.
"""

from __future__ import annotations

import contextlib
import functools
import pickle
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._io import atomic_write, sha256
from .config import cache_dir
from .errors import InputError

#: Bump when the extract layout changes, so stale caches are not reused.
_CACHE_VERSION = 4

SUFFIXES = (".osm", ".osm.gz", ".osm.bz2", ".osm.pbf", ".pbf")

#: Tags that alone do not make a node a feature worth keeping.
_TRIVIAL_TAGS = {"created_by", "source", "note", "fixme", "FIXME", "attribution"}


def walk_filter() -> list[tuple[str, str | None, re.Pattern | None]]:
    """osmnx's walking filter as ``(key, op, regex)`` clauses.

    Parsed from ``osmnx._overpass._get_network_filter("walk")``, an Overpass QL
    filter such as ``["highway"]["area"!~"yes"]["foot"!~"no"]...``. ``op`` is
    ``None`` (key must exist), ``"~"`` (value matches) or ``"!~"`` (key absent or
    value does not match), with Overpass's unanchored regex semantics. The filter
    text is kept in the cache per installed osmnx version, because importing osmnx
    takes seconds.
    """
    text = _walk_filter_text()
    clauses = []
    for key, op, value in re.findall(r'\["([^"]+)"(?:(!?~)"([^"]*)")?\]', text):
        clauses.append((key, op or None, re.compile(value) if op else None))
    if not clauses or clauses[0][0] != "highway":
        raise RuntimeError(f"unexpected osmnx walk filter: {text!r}")
    return clauses


@functools.cache
def _walk_filter_text() -> str:
    """The Overpass filter text of osmnx's ``walk`` network (cached per osmnx version)."""
    from importlib.metadata import version

    path = cache_dir() / f"osmnx-{version('osmnx')}-walk-filter.txt"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    from ._osmnx import walk_filter_text

    text = walk_filter_text()
    with contextlib.suppress(OSError):  # a read-only cache only costs the import next time
        atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))
    return text


def is_walkable(tags: dict, clauses=None) -> bool:
    """True if a way with these tags passes the osmnx walking filter."""
    for key, op, rx in clauses or walk_filter():
        value = tags.get(key)
        if op is None:
            if value is None:
                return False
        elif op == "~":
            if value is None or not rx.search(value):
                return False
        elif value is not None and rx.search(value):
            return False
    return True


@dataclass
class OsmExtract:
    """What the analysis needs from an OSM file (EPSG:4326).

    Attributes
    ----------
    nodes : DataFrame
        Network nodes: ``osmid``, ``lon``, ``lat`` (every node of a walkable way).
    segments : DataFrame
        One row per consecutive node pair of a walkable way: ``u``, ``v`` (OSM node
        ids), ``way_id``, ``highway``, ``name``. Directionless.
    features : GeoDataFrame
        Every tagged node and every tagged area: ``osm_type``, ``osm_id``, ``name``,
        ``tags`` (dict), ``entrance`` (Point of an ``entrance=*`` node on the
        outline, or None), geometry (Point or (Multi)Polygon).
    interpolations : GeoDataFrame
        ``addr:interpolation`` ways as LineStrings with ``osm_id``, ``tags`` and
        ``node_ids`` (list of node ids along the way).
    bounds : tuple
        (west, south, east, north) of the file's data.
    stats : dict
        Counts (nodes, ways, walkable ways, segments skipped for missing nodes, ...) and
        the data's vintage: ``data_timestamp`` (ISO 8601 UTC, or None) and
        ``data_timestamp_source`` (the file header's replication timestamp, else the
        newest edit of a node or way in the file; None when the file has neither, as
        extracts stripped of metadata do).
    """

    nodes: pd.DataFrame
    segments: pd.DataFrame
    features: gpd.GeoDataFrame
    interpolations: gpd.GeoDataFrame
    bounds: tuple[float, float, float, float]
    source: str = ""
    sha256: str = ""
    stats: dict = field(default_factory=dict)

    @property
    def buildings(self) -> gpd.GeoDataFrame:
        """Polygonal features tagged ``building=*`` with ``building`` and ``levels``."""
        f = self.features
        has = np.array(["building" in t for t in f["tags"]], dtype=bool)
        poly = f.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
        b = f.loc[has & poly].copy()
        b["building"] = [t["building"] for t in b["tags"]]
        b["levels"] = pd.to_numeric(
            pd.Series([t.get("building:levels") for t in b["tags"]], index=b.index),
            errors="coerce",
        )
        return b[
            ["osm_type", "osm_id", "building", "levels", "name", "tags", "entrance", "geometry"]
        ]


#: Edits before OpenStreetMap began, or past 2100 (an unset unsigned timestamp reads as
#: 2106), are not real timestamps: extractors that strip metadata leave those.
_EPOCH = datetime(2004, 8, 9, tzinfo=UTC)
_NEVER = datetime(2100, 1, 1, tzinfo=UTC)


def _vintage(header_ts: str, newest: datetime) -> dict:
    """``data_timestamp`` and its source from the header text and the newest edit seen."""
    if header_ts:
        return {"data_timestamp": header_ts, "data_timestamp_source": "file header"}
    if newest > _EPOCH:
        return {
            "data_timestamp": newest.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "data_timestamp_source": "newest edit in the file",
        }
    return {"data_timestamp": None, "data_timestamp_source": None}


def check_path(path: str | Path) -> Path:
    """Return ``path`` as a Path if it names an existing OSM file, else raise InputError."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found; give a .osm, .osm.gz, .osm.bz2 or .osm.pbf file", path)
    if not path.name.lower().endswith(SUFFIXES):
        raise InputError(
            f"unknown OSM file type {path.suffix!r}; use .osm, .osm.gz, .osm.bz2 or .osm.pbf", path
        )
    if path.stat().st_size == 0:
        raise InputError("the file is empty", path)
    return path


def read_osm(path: str | Path, use_cache: bool = True, progress: bool = False) -> OsmExtract:
    """Read an OSM file (any of the four formats), from the cache if parsed before.

    Parameters
    ----------
    path : str or Path
        ``.osm``, ``.osm.gz``, ``.osm.bz2`` or ``.osm.pbf``.
    use_cache : bool
        Reuse a parsed copy keyed by the file's SHA-256 and the reader version.
    progress : bool
        Show a progress bar while parsing.

    Returns
    -------
    OsmExtract
    """
    path = check_path(path)
    digest = sha256(path)
    cache = cache_dir() / "osm" / f"{digest}-v{_CACHE_VERSION}.pkl"
    if use_cache and cache.exists():
        with open(cache, "rb") as f:
            extract = pickle.load(f)
        extract.source = str(path)
        return extract
    extract = _parse(path, progress)
    extract.sha256 = digest
    if use_cache:
        atomic_write(cache, lambda p: p.write_bytes(pickle.dumps(extract, protocol=5)))
    return extract


def _parse(path: Path, progress: bool) -> OsmExtract:
    import osmium

    clauses = walk_filter()
    wkb = osmium.geom.WKBFactory()
    node_ids: list[int] = []
    node_lon: list[float] = []
    node_lat: list[float] = []
    seg_u: list[int] = []
    seg_v: list[int] = []
    seg_way: list[int] = []
    ways: dict[int, tuple[str, str | None]] = {}
    feat_rows: list[tuple] = []
    feat_wkb: list = []
    entrances: dict[int, tuple[float, float]] = {}
    interp_rows: list[tuple] = []
    stats = {"nodes": 0, "ways": 0, "relations": 0, "walkable_ways": 0, "missing_node_refs": 0}
    lons: list[float] = []
    lats: list[float] = []
    newest = _EPOCH

    try:
        processor = osmium.FileProcessor(str(path)).with_locations().with_areas()
        header_ts = processor.header.get("osmosis_replication_timestamp")
        iterator = processor
        if progress:
            from rich.progress import Progress, SpinnerColumn, TextColumn

            bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True)
        else:
            bar = None
        if bar:
            bar.start()
            task = bar.add_task(f"reading {path.name}")
        for i, obj in enumerate(iterator):
            if bar and i % 50000 == 0:
                bar.update(task, description=f"reading {path.name}: {i:,} objects")
            if obj.is_node():
                stats["nodes"] += 1
                ts = obj.timestamp
                if newest < ts < _NEVER:
                    newest = ts
                loc = obj.location
                if not loc.valid():
                    continue
                lons.append(loc.lon)
                lats.append(loc.lat)
                if len(obj.tags):
                    tags = {t.k: t.v for t in obj.tags}
                    if "entrance" in tags:
                        entrances[obj.id] = (loc.lon, loc.lat)
                    if set(tags) - _TRIVIAL_TAGS:
                        feat_rows.append(("node", obj.id, tags.get("name"), tags))
                        feat_wkb.append(shapely.Point(loc.lon, loc.lat))
            elif obj.is_way():
                stats["ways"] += 1
                ts = obj.timestamp
                if newest < ts < _NEVER:
                    newest = ts
                if not len(obj.tags):
                    continue
                tags = {t.k: t.v for t in obj.tags}
                if "addr:interpolation" in tags:
                    pts = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
                    if len(pts) >= 2:
                        interp_rows.append(
                            (obj.id, tags, [n.ref for n in obj.nodes], shapely.LineString(pts))
                        )
                if "highway" not in tags or not is_walkable(tags, clauses):
                    continue
                stats["walkable_ways"] += 1
                ways[obj.id] = (tags["highway"], tags.get("name"))
                prev = None
                for n in obj.nodes:
                    loc = n.location
                    if not loc.valid():
                        stats["missing_node_refs"] += 1
                        prev = None
                        continue
                    node_ids.append(n.ref)
                    node_lon.append(loc.lon)
                    node_lat.append(loc.lat)
                    if prev is not None and prev != n.ref:
                        seg_u.append(prev)
                        seg_v.append(n.ref)
                        seg_way.append(obj.id)
                    prev = n.ref
            elif obj.is_area():
                if not len(obj.tags):
                    continue
                tags = {t.k: t.v for t in obj.tags}
                if not set(tags) - _TRIVIAL_TAGS - {"type", "area"}:
                    continue
                try:
                    geom = wkb.create_multipolygon(obj)
                except RuntimeError:
                    continue  # broken geometry; osmium already refused it
                entrance = None
                if entrances:
                    for ring in obj.outer_rings():
                        for n in ring:
                            if n.ref in entrances:
                                entrance = shapely.Point(entrances[n.ref])
                                break
                        if entrance is not None:
                            break
                kind = "way" if obj.from_way() else "relation"
                feat_rows.append((kind, obj.orig_id(), tags.get("name"), tags, entrance))
                feat_wkb.append(geom)
            elif obj.is_relation():
                stats["relations"] += 1
        if bar:
            bar.stop()
    except RuntimeError as exc:
        raise InputError(
            f"cannot read OSM data ({exc}); is the file complete and valid?", path
        ) from exc

    if not lons:
        raise InputError("the file holds no OSM nodes with coordinates", path)
    if not seg_u:
        raise InputError(
            "the file holds no walkable ways (highway=* passing the osmnx 'walk' filter); "
            "is it an OSM extract of a built-up area?",
            path,
        )
    nodes = (
        pd.DataFrame({"osmid": node_ids, "lon": node_lon, "lat": node_lat})
        .drop_duplicates("osmid")
        .reset_index(drop=True)
    )
    way_ids = np.asarray(seg_way, dtype=np.int64)
    wt = pd.DataFrame.from_dict(ways, orient="index", columns=["highway", "name"])
    segments = pd.DataFrame(
        {
            "u": np.asarray(seg_u, dtype=np.int64),
            "v": np.asarray(seg_v, dtype=np.int64),
            "way_id": way_ids,
            "highway": wt["highway"].reindex(way_ids).to_numpy(),
            "name": wt["name"].reindex(way_ids).to_numpy(),
        }
    )
    geoms = np.empty(len(feat_wkb), dtype=object)
    geoms[:] = feat_wkb
    is_wkb = np.array([isinstance(g, str) for g in feat_wkb], dtype=bool)
    if is_wkb.any():
        geoms[is_wkb] = shapely.from_wkb(geoms[is_wkb].astype(str))
    rows = [r if len(r) == 5 else (*r, None) for r in feat_rows]
    features = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=["osm_type", "osm_id", "name", "tags", "entrance"]),
        geometry=geoms,
        crs="EPSG:4326",
    )
    # A single-polygon MultiPolygon is a Polygon for every practical purpose.
    single = np.array(
        [g.geom_type == "MultiPolygon" and len(g.geoms) == 1 for g in features.geometry], dtype=bool
    )
    if single.any():
        features.loc[single, "geometry"] = [g.geoms[0] for g in features.geometry[single]]
    interpolations = gpd.GeoDataFrame(
        pd.DataFrame([r[:3] for r in interp_rows], columns=["osm_id", "tags", "node_ids"]),
        geometry=[r[3] for r in interp_rows],
        crs="EPSG:4326",
    )
    bounds = (min(lons), min(lats), max(lons), max(lats))
    stats.update(
        network_nodes=len(nodes),
        segments=len(segments),
        features=len(features),
        entrances=len(entrances),
        **_vintage(header_ts, newest),
    )
    return OsmExtract(
        nodes=nodes,
        segments=segments,
        features=features,
        interpolations=interpolations,
        bounds=bounds,
        source=str(path),
        stats=stats,
    )

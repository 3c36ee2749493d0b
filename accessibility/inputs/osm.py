"""Read a local OpenStreetMap file: walkable ways, tagged features, buildings.

One reader (pyosmium) serves ``.osm``, ``.osm.gz``, ``.osm.bz2`` and ``.osm.pbf``,
so the same data gives the same network whatever the format. The highway classes
are osmnx's own ``network_type="walk"`` definition, parsed from osmnx at run time;
access is decided by the OSM foot access hierarchy (:func:`is_closed`: ``foot=*``
overrides ``access=*``), and ``barrier=*`` nodes closed by the same rule block
passage (:mod:`accessibility.core.network` splits them).

The file is read in two streaming passes, each filtered by libosmium in C++ so that
Python sees only what a step uses (cost linear in the file):

- the *network* pass: ``highway=*`` ways and ``barrier``/``kerb`` nodes, with node
  locations (:func:`read_ways`, what :func:`accessibility.core.network.load_network` needs);
- the *feature* pass: elements carrying one of :func:`accessibility.inputs.osm_keys.feature_keys`
  (points and areas; area geometries are built only for them, multipolygon relations
  without such a key are never assembled) and ``addr:interpolation`` ways.

Both results are cached per file (SHA-256) as ``.npz`` without pickles
(:mod:`accessibility._cache`); the feature cache key includes the key set.

Coordinates here are WGS 84 (EPSG:4326); :mod:`accessibility.core.network` projects.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import _cache
from .._io import atomic_write, sha256
from ..config import cache_dir
from ..errors import InputError
from ..progress import spinner
from ._osmnx import walk_filter_text
from .osm_keys import feature_keys

#: Bump when the extract layout changes, so stale caches are not reused.
_CACHE_VERSION = 5

SUFFIXES = (".osm", ".osm.gz", ".osm.bz2", ".osm.pbf", ".pbf")

#: Effective foot access values that close a way or a barrier to walkers.
CLOSED_ACCESS = frozenset({"no", "private"})

#: Keys of the osmnx walk filter that the foot access hierarchy decides instead.
_ACCESS_KEYS = ("access", "foot")

#: Node keys the network pass keeps (barriers and kerbs on walkable ways).
NETWORK_NODE_KEYS = ("barrier", "kerb")

#: Way tags kept per network segment besides ``highway`` and ``name``.
_WAY_EXTRA = ("wheelchair",)


def walk_filter() -> list[tuple[str, str | None, re.Pattern | None]]:
    """osmnx's walking filter as ``(key, op, regex)`` clauses.

    Parsed from ``osmnx._overpass._get_network_filter("walk")``, an Overpass QL
    filter such as ``["highway"]["area"!~"yes"]["foot"!~"no"]...``. ``op`` is
    ``None`` (key must exist), ``"~"`` (value matches) or ``"!~"`` (key absent or
    value does not match), with Overpass's unanchored regex semantics. The filter
    text is kept in the cache per installed osmnx version, because importing osmnx
    takes seconds.

    Returns
    -------
    list of tuple
        ``(key, op, regex)`` per clause, ``highway`` first (``regex`` None when
        ``op`` is None).

    Raises
    ------
    RuntimeError
        The osmnx filter text has an unexpected form.
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

    path = None
    try:
        path = cache_dir() / f"osmnx-{version('osmnx')}-walk-filter.txt"
        return path.read_text(encoding="utf-8")
    except OSError:
        pass

    text = walk_filter_text()
    if path is not None:
        with contextlib.suppress(OSError):  # a read-only cache only costs the import next time
            atomic_write(path, functools.partial(_write_text, text=text))
    return text


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def foot_access(tags: dict) -> str | None:
    """The effective foot access value of a way or node: ``foot=*``, else ``access=*``.

    ``None`` when neither is tagged (open by default). Values are lower-cased and stripped.

    Parameters
    ----------
    tags : dict
        OSM tags of the way or node.

    Returns
    -------
    str or None
        The effective access value.
    """
    value = tags.get("foot")
    if value is None:
        value = tags.get("access")
    return None if value is None else str(value).strip().lower()


def is_closed(tags: dict) -> bool:
    """True if the foot access hierarchy closes this way or node to walkers.

    ``foot=*`` overrides ``access=*``; the effective value ``no`` or ``private`` closes
    it. So ``access=no`` + ``foot=yes|designated|permissive`` is open and ``access=no``
    alone is closed. Conditional restrictions (``access:conditional``) are not
    evaluated: the unconditional value decides.

    Parameters
    ----------
    tags : dict
        OSM tags of the way or node.

    Returns
    -------
    bool
        True when the effective foot access value is ``no`` or ``private``.
    """
    return foot_access(tags) in CLOSED_ACCESS


def walk_class_filter(clauses=None) -> list[tuple[str, str | None, re.Pattern | None]]:
    """The osmnx walk clauses that decide highway classes: all but ``access`` and ``foot``.

    Parameters
    ----------
    clauses : list of tuple, optional
        Clauses as :func:`walk_filter` returns; default :func:`walk_filter`.

    Returns
    -------
    list of tuple
        The ``(key, op, regex)`` clauses without the access keys.
    """
    return [c for c in (clauses or walk_filter()) if c[0] not in _ACCESS_KEYS]


def walk_class_filter_text() -> str:
    """:func:`walk_class_filter` as Overpass QL (the online query's way filter).

    Access and foot are left to the offline rules (:func:`is_closed`), so a way with
    ``access=private`` + ``foot=yes`` is downloaded and walked as it is read offline.

    Returns
    -------
    str
        Overpass QL tag filters such as ``["highway"]["area"!~"yes"]...``.
    """
    return "".join(
        f'["{k}"{op}"{rx.pattern}"]' if op else f'["{k}"]' for k, op, rx in walk_class_filter()
    )


def _passes(tags: dict, clauses) -> bool:
    for key, op, rx in clauses:
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


def is_walkable(tags: dict, clauses=None) -> bool:
    """True if a way with these tags is walkable.

    osmnx's walk filter decides the highway classes (:func:`walk_class_filter`) and
    the foot access hierarchy (:func:`is_closed`) decides access.

    Parameters
    ----------
    tags : dict
        OSM tags of the way.
    clauses : list of tuple, optional
        Clauses as :func:`walk_filter` returns; default :func:`walk_filter`.

    Returns
    -------
    bool
        True if the way passes the highway-class clauses and is not closed to walkers.
    """
    return _passes(tags, walk_class_filter(clauses)) and not is_closed(tags)


@dataclass
class OsmExtract:
    """What the analysis needs from an OSM file (EPSG:4326).

    Attributes
    ----------
    nodes : DataFrame
        Network nodes: ``osmid``, ``lon``, ``lat`` (every node of a walkable way).
    segments : DataFrame
        One row per consecutive node pair of a walkable way: ``u``, ``v`` (OSM node
        ids), ``way_id``, ``highway``, ``name``, ``wheelchair`` (the way's tag or
        None). Directionless. Ways closed by the foot access hierarchy are left out.
    features : GeoDataFrame
        Every node and area carrying a feature key
        (:func:`accessibility.inputs.osm_keys.feature_keys`): ``osm_type``, ``osm_id``,
        ``name``, ``tags`` (dict), ``entrance`` (Point of an ``entrance=*`` node on
        the outline, or None), geometry (Point or (Multi)Polygon).
    interpolations : GeoDataFrame
        ``addr:interpolation`` ways as LineStrings with ``osm_id``, ``tags`` and
        ``node_ids`` (list of node ids along the way).
    bounds : tuple
        (west, south, east, north) of the data read (network nodes and features).
    node_tags : DataFrame
        Tagged nodes of walkable ways that routing rules read: ``osmid``,
        ``barrier``, ``kerb``, ``wheelchair``, ``access`` (effective foot access,
        :func:`foot_access`) and ``closed`` (a ``barrier=*`` closed to walkers).
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
    node_tags: pd.DataFrame = field(default_factory=lambda: _empty_node_tags())

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
    """Return ``path`` as a Path if it names an existing OSM file, else raise InputError.

    Parameters
    ----------
    path : str or Path
        ``.osm``, ``.osm.gz``, ``.osm.bz2`` or ``.osm.pbf`` file.

    Returns
    -------
    Path
        ``path`` unchanged.

    Raises
    ------
    InputError
        The file is missing, empty or of an unknown type.
    """
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


def read_osm(
    path: str | Path,
    use_cache: bool = True,
    progress: bool = False,
    keys: tuple[str, ...] | None = None,
) -> OsmExtract:
    """Read an OSM file (any of the four formats), from the cache if parsed before.

    Parameters
    ----------
    path : str or Path
        ``.osm``, ``.osm.gz``, ``.osm.bz2`` or ``.osm.pbf``.
    use_cache : bool
        Reuse parsed copies keyed by the file's SHA-256, the reader version, the
        walking rules (network part) and the feature key set (feature part).
    progress : bool
        Show a progress spinner while parsing.
    keys : tuple of str, optional
        Tag keys that make an element a feature; default
        :func:`accessibility.inputs.osm_keys.feature_keys` of the packaged presets.

    Returns
    -------
    OsmExtract
    """
    path = check_path(path)
    digest = sha256(path)
    ways = read_ways(path, use_cache=use_cache, progress=progress, digest=digest)
    feats = _read_features(path, digest, keys, use_cache, progress)
    boxes = [b for b in (ways["bounds"], feats["bounds"]) if b is not None]
    bounds = (
        min(b[0] for b in boxes), min(b[1] for b in boxes),
        max(b[2] for b in boxes), max(b[3] for b in boxes),
    )  # fmt: skip
    return OsmExtract(
        nodes=ways["nodes"],
        segments=ways["segments"],
        features=feats["features"],
        interpolations=feats["interpolations"],
        bounds=(float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3])),
        source=str(path),
        sha256=digest,
        stats={**feats["stats"], **ways["stats"]},
        node_tags=ways["node_tags"],
    )


def rules_key() -> str:
    """Short hash of the walking rules (osmnx clauses, access hierarchy, kept node tags).

    Returns
    -------
    str
        First 12 hex digits of the SHA-256 of the rules (part of the network cache key).
    """
    text = repr(
        (
            [(k, o, r and r.pattern) for k, o, r in walk_filter()],
            sorted(CLOSED_ACCESS), _ACCESS_KEYS, NETWORK_NODE_KEYS, _WAY_EXTRA,
        )
    )  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def cache_file(name: str, folder: str = "osm") -> Path:
    """A file in a cache sub-folder (an unwritable cache only warns, see :mod:`._cache`).

    Parameters
    ----------
    name : str
        File name.
    folder : str
        Sub-folder of :func:`accessibility.config.cache_dir`.

    Returns
    -------
    Path
        The path (the file need not exist).
    """
    return cache_dir() / folder / name


def read_ways(
    path: str | Path, use_cache: bool = True, progress: bool = False, digest: str | None = None
) -> dict:
    """The network part of an OSM file: walkable ways, their nodes, barriers and kerbs.

    Parameters
    ----------
    path : str or Path
        ``.osm``, ``.osm.gz``, ``.osm.bz2`` or ``.osm.pbf`` file.
    use_cache : bool
        Reuse a parsed copy keyed by the file's SHA-256 and :func:`rules_key`.
    progress : bool
        Show a progress spinner while parsing.
    digest : str, optional
        The file's SHA-256 if already known (saves hashing it again).

    Returns
    -------
    dict
        ``nodes``, ``segments``, ``node_tags`` (as in :class:`OsmExtract`), ``bounds``
        of the network nodes (degrees), ``stats`` and ``sha256``.
    """
    path = check_path(path)
    digest = digest or sha256(path)
    cache = cache_file(f"{digest}-ways-{rules_key()}.npz") if use_cache else None
    if cache is not None:
        hit = _cache.load_entry(cache, kind="osm-ways", version=_CACHE_VERSION)
        if hit is not None:
            return _ways_from_arrays(*hit, digest)
    arrays, meta = _parse_ways(path, progress)
    if cache is not None:
        _cache.save_entry(cache, arrays, meta, kind="osm-ways", version=_CACHE_VERSION)
    return _ways_from_arrays(arrays, meta, digest)


def _parse_ways(path: Path, progress: bool) -> tuple[dict, dict]:
    """Network pass: ``highway=*`` ways and barrier/kerb nodes, filtered in C++."""
    import osmium
    from osmium.filter import KeyFilter

    classes = walk_class_filter()
    full = walk_filter()
    refs: list[int] = []
    xs: list[int] = []
    ys: list[int] = []
    way_ids: list[int] = []
    way_len: list[int] = []
    way_cols: dict[str, list] = {"highway": [], "name": [], **{k: [] for k in _WAY_EXTRA}}
    tagged_ids: list[int] = []
    tagged: list[dict] = []
    stats = {"highway_ways": 0, "walkable_ways": 0, "ways_closed_by_access": 0,
             "ways_opened_by_foot": 0}  # fmt: skip
    bar = contextlib.ExitStack()
    bar.enter_context(spinner(f"reading the walkable ways of {path.name}", progress))
    try:
        node_filter, way_filter = KeyFilter(*NETWORK_NODE_KEYS), KeyFilter("highway")
        node_filter.enable_for(osmium.osm.NODE)
        way_filter.enable_for(osmium.osm.WAY)
        fp = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(node_filter)
            .with_filter(way_filter)
        )
        # only the keys the rules read: a dict of every tag costs 2-3x as much
        keys = tuple(dict.fromkeys([k for k, _, _ in full] + ["name", *_WAY_EXTRA]))
        add_ref, add_x, add_y = refs.append, xs.append, ys.append
        add_hw, add_name = way_cols["highway"].append, way_cols["name"].append
        for obj in fp:
            if obj.is_way():
                stats["highway_ways"] += 1
                get = obj.tags.get
                tags = {k: v for k in keys if (v := get(k)) is not None}
                if not _passes(tags, classes):
                    continue
                if is_closed(tags):
                    stats["ways_closed_by_access"] += 1
                    continue
                if ("access" in tags or "foot" in tags) and not _passes(tags, full):
                    stats["ways_opened_by_foot"] += 1  # osmnx drops it; foot=* opens it
                n0 = len(refs)
                for n in obj.nodes:
                    add_ref(n.ref)
                    add_x(n.x)
                    add_y(n.y)
                way_ids.append(obj.id)
                way_len.append(len(refs) - n0)
                add_hw(tags["highway"])
                add_name(tags.get("name"))
                for k in _WAY_EXTRA:
                    way_cols[k].append(tags.get(k))
            else:
                tagged_ids.append(obj.id)
                tagged.append(dict(obj.tags))
    except RuntimeError as exc:
        raise InputError(
            f"cannot read OSM data ({exc}); is the file complete and valid?", path
        ) from exc
    finally:
        bar.close()
    stats["walkable_ways"] = len(way_ids)
    ref = np.asarray(refs, dtype=np.int64)
    x = np.asarray(xs, dtype=np.int64)
    y = np.asarray(ys, dtype=np.int64)
    widx = np.repeat(np.arange(len(way_ids), dtype=np.int64), way_len)
    # libosmium gives a node missing from the file an undefined (out of range) location
    valid = (np.abs(x) <= 1_800_000_000) & (np.abs(y) <= 900_000_000)
    stats["missing_node_refs"] = int((~valid).sum())
    pair = (widx[:-1] == widx[1:]) & valid[:-1] & valid[1:] & (ref[:-1] != ref[1:])
    i = np.flatnonzero(pair)
    if len(i) == 0:
        raise InputError(
            "the file holds no walkable ways (highway=* passing the osmnx 'walk' filter and "
            "open to walkers); is it an OSM extract of a built-up area?",
            path,
        )
    osmid, first = np.unique(ref[valid], return_index=True)
    tagged_ids_a = np.asarray(tagged_ids, dtype=np.int64)
    on_net = np.isin(tagged_ids_a, osmid)
    arrays = {
        "node_osmid": osmid,
        "node_x": x[valid][first].astype(np.int32),
        "node_y": y[valid][first].astype(np.int32),
        "seg_u": ref[i],
        "seg_v": ref[i + 1],
        "seg_way": widx[i].astype(np.int32),
        "way_id": np.asarray(way_ids, dtype=np.int64),
        "way_cols": _cache.pack_json(way_cols),
        "tagged_osmid": tagged_ids_a[on_net],
        "tagged_tags": _cache.pack_json([t for t, k in zip(tagged, on_net, strict=True) if k]),
    }
    stats.update(network_nodes=len(osmid), segments=len(i))
    return arrays, {"stats": stats}


def _ways_from_arrays(arrays: dict, meta: dict, digest: str) -> dict:
    lon = arrays["node_x"] / 1e7
    lat = arrays["node_y"] / 1e7
    nodes = pd.DataFrame({"osmid": arrays["node_osmid"], "lon": lon, "lat": lat})
    cols = _cache.unpack_json(arrays["way_cols"])
    w = arrays["seg_way"]
    segments = pd.DataFrame(
        {
            "u": arrays["seg_u"],
            "v": arrays["seg_v"],
            "way_id": arrays["way_id"][w],
            **{k: _obj(v)[w] for k, v in cols.items()},
        }
    )
    tags = _cache.unpack_json(arrays["tagged_tags"])
    node_tags = _empty_node_tags() if not tags else pd.DataFrame(
        {
            "osmid": arrays["tagged_osmid"],
            **{k: _obj([t.get(k) for t in tags]) for k in (*NETWORK_NODE_KEYS, "wheelchair")},
            "access": _obj([foot_access(t) for t in tags]),
            "closed": np.array([("barrier" in t) and is_closed(t) for t in tags], dtype=bool),
        }
    )  # fmt: skip
    stats = dict(meta["stats"])
    stats["barriers_closed"] = int(node_tags["closed"].sum())
    bounds = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
    return {"nodes": nodes, "segments": segments, "node_tags": node_tags, "bounds": bounds,
            "stats": stats, "sha256": digest}  # fmt: skip


def _obj(values) -> np.ndarray:
    """A sequence as a 1-d object array (never a fixed-width string array)."""
    a = np.empty(len(values), dtype=object)
    a[:] = values
    return a


def _empty_node_tags() -> pd.DataFrame:
    cols = {k: _obj([]) for k in (*NETWORK_NODE_KEYS, "wheelchair", "access")}
    return pd.DataFrame({"osmid": np.zeros(0, np.int64), **cols, "closed": np.zeros(0, bool)})


_TYPES = ("node", "way", "relation")


def _read_features(path: Path, digest: str, keys, use_cache: bool, progress: bool) -> dict:
    if keys is None:
        keys = feature_keys()
    keys = tuple(sorted(set(keys)))
    kkey = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:12]
    cache = cache_file(f"{digest}-features-{kkey}.npz") if use_cache else None
    if cache is not None:
        hit = _cache.load_entry(cache, kind="osm-features", version=_CACHE_VERSION)
        if hit is not None:
            return _features_from_arrays(*hit)
    arrays, meta = _parse_features(path, keys, progress)
    if cache is not None:
        _cache.save_entry(cache, arrays, meta, kind="osm-features", version=_CACHE_VERSION)
    return _features_from_arrays(arrays, meta)


class _Counter:
    """Counts every node, way and relation (and the newest edit) of the feature pass."""

    def __init__(self, timestamps: bool):
        self.n = {"nodes": 0, "ways": 0, "relations": 0}
        self.newest = _EPOCH
        self.node = self._node_ts if timestamps else self._node
        self.way = self._way_ts if timestamps else self._way

    def _node(self, o) -> None:
        self.n["nodes"] += 1

    def _way(self, o) -> None:
        self.n["ways"] += 1

    def _node_ts(self, o) -> None:
        self.n["nodes"] += 1
        ts = o.timestamp
        if self.newest < ts < _NEVER:
            self.newest = ts

    def _way_ts(self, o) -> None:
        self.n["ways"] += 1
        ts = o.timestamp
        if self.newest < ts < _NEVER:
            self.newest = ts

    def relation(self, o) -> None:
        self.n["relations"] += 1


def _parse_features(path: Path, keys: tuple[str, ...], progress: bool) -> tuple[dict, dict]:
    """Feature pass: points and areas with a feature key, and ``addr:interpolation`` ways."""
    import osmium
    from osmium.filter import KeyFilter

    wkb = osmium.geom.WKBFactory()
    nodes: list[tuple] = []  # (id, tags, lon, lat)
    areas: list[tuple] = []  # (type code, id, tags, hex WKB, entrance lon/lat)
    entrances: dict[int, tuple[float, float]] = {}
    interp: list[tuple] = []
    bar = contextlib.ExitStack()
    bar.enter_context(spinner(f"reading the features of {path.name}", progress))
    try:
        fp = osmium.FileProcessor(str(path))
        header_ts = fp.header.get("osmosis_replication_timestamp")
        counter = _Counter(timestamps=not header_ts)
        interpolation_filter = KeyFilter("addr:interpolation")
        interpolation_filter.enable_for(osmium.osm.WAY)
        fp = (
            fp.with_locations()
            .with_areas(KeyFilter(*keys))
            .with_filter(KeyFilter(*keys))
            .with_filter(interpolation_filter)
            .handler_for_filtered(counter)
        )
        for obj in fp:
            if obj.is_area():
                try:
                    geom = wkb.create_multipolygon(cast("osmium.osm.Area", obj))
                except RuntimeError:
                    continue  # broken geometry; osmium already refused it
                entrance = None
                if entrances:
                    for ring in obj.outer_rings():
                        for n in ring:
                            if n.ref in entrances:
                                entrance = entrances[n.ref]
                                break
                        if entrance is not None:
                            break
                areas.append((1 if obj.from_way() else 2, obj.orig_id(), dict(obj.tags), geom,
                              entrance))  # fmt: skip
            elif obj.is_node():
                counter.node(obj)
                loc = obj.location
                if not loc.valid():
                    continue
                tags = dict(obj.tags)
                if "entrance" in tags:
                    entrances[obj.id] = (loc.lon, loc.lat)
                nodes.append((obj.id, tags, loc.lon, loc.lat))
            elif obj.is_way():
                counter.way(obj)
                pts = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
                if len(pts) >= 2:
                    interp.append((obj.id, dict(obj.tags), [n.ref for n in obj.nodes],
                                   shapely.LineString(pts).wkb))  # fmt: skip
            elif obj.is_relation():
                counter.relation(obj)
    except RuntimeError as exc:
        raise InputError(
            f"cannot read OSM data ({exc}); is the file complete and valid?", path
        ) from exc
    finally:
        bar.close()
    if counter.n["nodes"] == 0:
        raise InputError("the file holds no OSM nodes with coordinates", path)
    points = shapely.points(
        np.array([r[2] for r in nodes], dtype=float), np.array([r[3] for r in nodes], dtype=float)
    )
    geoms = np.concatenate([np.asarray(points, dtype=object).reshape(-1),
                            shapely.from_wkb(_obj([r[3] for r in areas])).reshape(-1)])  # fmt: skip
    # A single-polygon MultiPolygon is a Polygon for every practical purpose.
    single = (shapely.get_type_id(geoms) == 6) & (shapely.get_num_geometries(geoms) == 1)
    geoms[single] = shapely.get_geometry(geoms[single], 0)
    blob, offs = _cache.pack_bytes(list(shapely.to_wkb(geoms)))
    ent = [(np.nan, np.nan)] * len(nodes) + [r[4] or (np.nan, np.nan) for r in areas]
    iblob, ioffs = _cache.pack_bytes([r[3] for r in interp])
    stats = {**counter.n, "features": len(nodes) + len(areas), "entrances": len(entrances)}
    stats.update(_vintage(header_ts, counter.newest))
    arrays = {
        "kind": np.asarray([0] * len(nodes) + [r[0] for r in areas], dtype=np.int8),
        "osm_id": np.asarray([r[0] for r in nodes] + [r[1] for r in areas], dtype=np.int64),
        "tags": _cache.pack_json([r[1] for r in nodes] + [r[2] for r in areas]),
        "wkb": blob,
        "wkb_offsets": offs,
        "entrance": np.asarray(ent, dtype=float).reshape(-1, 2),
        "interp_id": np.asarray([r[0] for r in interp], dtype=np.int64),
        "interp_tags": _cache.pack_json([r[1] for r in interp]),
        "interp_nodes": _cache.pack_json([r[2] for r in interp]),
        "interp_wkb": iblob,
        "interp_wkb_offsets": ioffs,
    }
    return arrays, {"stats": stats}


def _features_from_arrays(arrays: dict, meta: dict) -> dict:
    tags = _cache.unpack_json(arrays["tags"])
    geoms = shapely.from_wkb(_obj(_cache.unpack_bytes(arrays["wkb"], arrays["wkb_offsets"])))
    ent = arrays["entrance"]
    has = np.isfinite(ent[:, 0])
    entrance = np.full(len(ent), None, dtype=object)
    entrance[has] = shapely.points(ent[has])
    features = gpd.GeoDataFrame(
        {
            "osm_type": np.asarray(_TYPES, dtype=object)[arrays["kind"]],
            "osm_id": arrays["osm_id"],
            "name": _obj([t.get("name") for t in tags]),
            "tags": _obj(tags),
            "entrance": entrance,
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
    igeoms = shapely.from_wkb(
        _obj(_cache.unpack_bytes(arrays["interp_wkb"], arrays["interp_wkb_offsets"]))
    )
    interpolations = gpd.GeoDataFrame(
        {
            "osm_id": arrays["interp_id"],
            "tags": _obj(_cache.unpack_json(arrays["interp_tags"])),
            "node_ids": _obj(_cache.unpack_json(arrays["interp_nodes"])),
        },
        geometry=igeoms,
        crs="EPSG:4326",
    )
    bounds = tuple(float(b) for b in features.total_bounds) if len(features) else None
    return {"features": features, "interpolations": interpolations, "bounds": bounds,
            "stats": meta["stats"]}  # fmt: skip

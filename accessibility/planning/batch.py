"""Many areas at once (``accessibility batch``): areas, clipped networks, tasks, Dask engine.

A region's network is parsed once (the network cache of :func:`accessibility.core.network.load_network`);
every area is then analysed on that network clipped to the area plus a walking buffer
(:func:`area_buffer_m`: the largest threshold × speed plus the longest access leg, metres), with
the residents the area contains (each resident in exactly one area, :func:`assign_areas`) and
every docking point inside the buffer. One Dask task per area, the largest first; workers read
the cached network arrays from a shared path (:func:`task_network`), so no graph goes through
the scheduler. A failing area is retried once, then reported; the others complete.

The per-area result equals a standalone :func:`accessibility.core.analysis.analyze` on
:func:`clip_network`'s network, the area's residents and the buffer's sites (a test checks it).
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._io import json_safe
from ..core.analysis import ALL, Analysis, analyze
from ..core.coverage import NO_SITE_NOTE, SUMMARY_COLUMNS, summary
from ..core.network import Network
from ..errors import AllRejectedError, InputError, NetworkError
from ..params import WalkParams
from ..rejects import Rejects

#: Bump when the stored per-area result changes meaning (resume then recomputes).
RESULT_VERSION = 1
#: Columns of ``areas.csv`` before the ``summary.csv`` columns.
AREA_COLUMNS = ["area_id", "area_name"]
#: ``note`` of a category with docking points in the region but none within an area's buffer.
NO_SITE_IN_BUFFER = "no docking point of this category within the walking buffer"
#: ``area_id`` of the residents outside every area (``outside_areas.csv``).
OUTSIDE = "(outside all areas)"


def area_buffer_m(params: WalkParams) -> float:
    """Walking buffer around an area: largest threshold × speed plus the access leg, metres.

    A resident inside the area reaches nothing farther than this (straight line) within
    the largest threshold, so a network clipped to the buffer gives the same distances.

    Parameters
    ----------
    params : WalkParams
        Thresholds (minutes), speed (km/h), longest access leg (metres).

    Returns
    -------
    float
        Metres.
    """
    return max(params.minutes) * params.metres_per_minute + params.max_access_m


def read_areas(
    path: str | Path, id_column: str, name_column: str | None = None
) -> gpd.GeoDataFrame:
    """The areas file: one polygon per area with a unique id and a label.

    Areas without a name (empty or missing ``name_column``) are labelled by their id.
    Broken geometries are kept (``problem`` says why): their task fails and is reported,
    the other areas run.

    Parameters
    ----------
    path : path
        GeoPackage, GeoJSON or shapefile of polygons (any CRS).
    id_column : str
        Unique key column (e.g. ``ARS``).
    name_column : str, optional
        Name column.

    Returns
    -------
    GeoDataFrame
        ``area_id`` (str), ``area_name`` (str), ``problem`` (str, empty if usable), geometry.

    Raises
    ------
    InputError
        Unreadable or empty file, missing column, duplicate or empty ids.
    """
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:
        raise InputError(f"{path}: cannot read the areas file ({exc})") from exc
    if gdf.crs is None:
        raise InputError(f"{path}: the areas file has no CRS; save it with one (e.g. EPSG:25832)")
    if gdf.crs.is_geographic and len(gdf) and not gdf.geometry.is_empty.all():
        w, s_, e, n = gdf.total_bounds
        if not (-180 <= w <= e <= 180 and -90 <= s_ <= n <= 90):
            raise InputError(
                f"{path}: the file says its CRS is {gdf.crs.to_string()} (degrees), but the "
                f"coordinates reach {w:,.0f}, {s_:,.0f} … {e:,.0f}, {n:,.0f}: they look like "
                "metres; save the file with its real CRS (e.g. EPSG:25832)"
            )
    if not len(gdf):
        raise InputError(
            f"{path}: no area in the file (no rows); give a file with one polygon per area "
            "(a GeoPackage with several layers: is the first layer the areas?)"
        )
    for col, opt in ((id_column, "--area-id"), (name_column, "--area-name")):
        if col is not None and col not in gdf.columns:
            cols = ", ".join(c for c in gdf.columns if c != "geometry")
            raise InputError(f"{path}: no column '{col}' ({opt}); columns are {cols}")
    ids = gdf[id_column].astype("string").str.strip()
    bad = ids.isna() | (ids == "")
    if bad.any():
        raise InputError(
            f"{path}: {int(bad.sum())} area(s) without an id in '{id_column}' "
            f"(rows {', '.join(str(i + 1) for i in np.flatnonzero(bad)[:5])}); give every area a key"
        )
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InputError(
            f"{path}: area ids in '{id_column}' must be unique; repeated: {', '.join(dup[:5])}"
        )
    names = (
        gdf[name_column].astype("string").str.strip()
        if name_column
        else pd.Series(pd.NA, index=gdf.index, dtype="string")
    )
    names = names.where(names.notna() & (names != ""), ids)
    problem = []
    for g in gdf.geometry:
        if g is None or g.is_empty:
            problem.append("empty geometry")
        elif g.geom_type not in ("Polygon", "MultiPolygon"):
            problem.append(f"not a polygon ({g.geom_type})")
        elif not g.is_valid:
            problem.append(
                f"invalid polygon ({shapely.is_valid_reason(g)}); fix it in the areas file"
            )
        else:
            problem.append("")
    return gpd.GeoDataFrame(
        {"area_id": ids.astype(str).to_numpy(), "area_name": names.astype(str).to_numpy(),
         "problem": problem},
        geometry=gdf.geometry.to_numpy(), crs=gdf.crs,
    )  # fmt: skip


def _points(residents: gpd.GeoDataFrame, crs: str) -> np.ndarray:
    geom = residents.geometry
    if not geom.geom_type.eq("Point").all():
        geom = geom.representative_point()
    return geom.to_crs(crs).to_numpy()


def assign_areas(residents: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> np.ndarray:
    """The area of every resident point: the first usable area (file order) that covers it.

    Points (polygons by their representative point, the point the analysis snaps) on a
    shared border go to the first area; areas with a ``problem`` take nobody.

    Parameters
    ----------
    residents : GeoDataFrame
        Resident points (any CRS).
    areas : GeoDataFrame
        From :func:`read_areas`.

    Returns
    -------
    ndarray of int
        Row position in ``areas`` per resident, ``-1`` outside every usable area.
    """
    pts = _points(residents, str(areas.crs))
    usable = np.flatnonzero(areas["problem"].to_numpy(str) == "")
    tree = shapely.STRtree(areas.geometry.to_numpy()[usable])
    pi, ai = tree.query(pts, predicate="covered_by")
    out = np.full(len(pts), -1, dtype=np.int64)
    order = np.lexsort((usable[ai], pi))  # by point, then area row
    pi, rows = pi[order], usable[ai[order]]
    first = np.r_[True, pi[1:] != pi[:-1]] if len(pi) else np.zeros(0, dtype=bool)
    out[pi[first]] = rows[first]
    return out


def clip_network(net: Network, polygon: shapely.Geometry) -> Network:
    """The network inside ``polygon``: every edge whose segment intersects it, with its ends.

    Parameters
    ----------
    net : Network
        Walking network (metric CRS, metres).
    polygon : Polygon or MultiPolygon
        In the network's CRS (e.g. an area buffered by :func:`area_buffer_m`).

    Returns
    -------
    Network
        Same CRS, island threshold and provenance; nodes renumbered in their old order.

    Raises
    ------
    NetworkError
        No walkable edge in the polygon.
    """
    tree = edge_tree(net)
    keep = np.sort(tree.query(polygon, predicate="intersects"))
    if not len(keep):
        raise NetworkError("no walkable street inside the area and its walking buffer")
    u, v = net.u[keep], net.v[keep]
    used = np.unique(np.concatenate([u, v]))
    remap = np.full(net.n_nodes, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    clipped = Network(
        crs=net.crs, node_xy=net.node_xy[used], node_osmid=net.node_osmid[used],
        u=remap[u].astype(np.int32), v=remap[v].astype(np.int32), length=net.length[keep],
        way_id=net.way_id[keep], meta={**net.meta, "clipped": True},
        min_component=net.min_component,
        # the parent's edge LineStrings (same coordinates, same order) for the snapping
        # tree: not rebuilt from the coordinates for every area
        _tree=shapely.STRtree(tree.geometries[keep]),
    )  # fmt: skip
    return clipped.set_min_component(net.min_component)


_TREES: dict[int, shapely.STRtree] = {}


def edge_tree(net: Network) -> shapely.STRtree:
    """STRtree of the network's edge segments (kept per network object, per process)."""
    key = id(net)
    if key not in _TREES:
        _TREES.clear()
        _TREES[key] = shapely.STRtree(net.edge_lines())
    return _TREES[key]


_NETWORKS: dict[tuple[str, int], Network] = {}


def task_network(path: str, min_component: int) -> Network:
    """The region's network read from the shared cache file, once per worker process.

    Parameters
    ----------
    path : str
        A network ``.npz`` (cache entry or :meth:`Network.save` file) every worker can read.
    min_component : int
        Island threshold in nodes.

    Returns
    -------
    Network
    """
    key = (path, min_component)
    if key not in _NETWORKS:
        _NETWORKS.clear()
        _NETWORKS[key] = Network.load(path).set_min_component(min_component)
    return _NETWORKS[key]


@dataclass
class AreaTask:
    """One area's work: everything but the network, which the worker reads from ``network``.

    Attributes
    ----------
    area_id, area_name : str
    geometry : shapely geometry
        The area (network CRS).
    problem : str
        Why the geometry is unusable ("" if usable); such a task fails.
    residents : GeoDataFrame
        The residents assigned to the area.
    network : str
        Path of the region's network file (shared by all workers).
    params : WalkParams
    categories : list of str
        Categories to report.
    key : str
        Hash of the inputs and parameters (resume).
    size : int
        Network edges within the buffer (the scheduling priority: largest first).
    out : str or None
        Per-area output folder (``--per-area-outputs``).
    record : dict
        Run record for the per-area ``run.json``.
    load : dict
        With ``--networks``: the keyword arguments of the area's own loader (population
        and sites files, the area's polygon file).
    """

    area_id: str
    area_name: str
    geometry: shapely.Geometry
    problem: str
    residents: gpd.GeoDataFrame
    network: str
    params: WalkParams
    categories: list[str]
    key: str = ""
    size: int = 0
    out: str | None = None
    record: dict = field(default_factory=dict)
    load: dict = field(default_factory=dict)


@dataclass
class AreaResult:
    """What a worker sends back: small tables only.

    Attributes
    ----------
    area_id, area_name, key : str
    summary : DataFrame
        The area's ``summary.csv`` table.
    minutes : DataFrame
        ``pid``, ``population`` and ``minutes_<category>`` of the area's residents used.
    rejects : DataFrame
        The area's rejected rows (:meth:`Rejects.frame`).
    stats : dict
        Network nodes and edges, sites, resident points, seconds, peak memory (MB).
    """

    area_id: str
    area_name: str
    key: str
    summary: pd.DataFrame
    minutes: pd.DataFrame
    rejects: pd.DataFrame
    stats: dict

    def to_json(self) -> dict:
        """A JSON-safe form (``area.json`` of the area, read back by :meth:`from_json`)."""
        return {
            "version": RESULT_VERSION, "area_id": self.area_id, "area_name": self.area_name,
            "key": self.key, "summary": json.loads(self.summary.to_json(orient="split")),
            "minutes": json.loads(self.minutes.to_json(orient="split", double_precision=15)),
            "rejects": json.loads(self.rejects.astype(str).to_json(orient="split")),
            "stats": self.stats,
        }  # fmt: skip

    def to_json_text(self) -> str:
        """:meth:`to_json` as JSON text, built without the dict round trip.

        The tables are written by pandas' C encoder (NaN and ±inf become ``null``) and
        spliced in; only the small header and ``stats`` go through :func:`json_safe`. This
        is what the driver writes per finished area (``area.json``), so it must stay cheap:
        a Python-level walk over every resident's minutes made the driver the bottleneck.
        """
        head = json.dumps(
            json_safe({"version": RESULT_VERSION, "area_id": self.area_id,
                       "area_name": self.area_name, "key": self.key}),
            ensure_ascii=False, allow_nan=False,
        )  # fmt: skip
        parts = [
            head[:-1],
            ', "summary": ' + self.summary.to_json(orient="split"),
            ', "minutes": ' + self.minutes.to_json(orient="split", double_precision=15),
            ', "rejects": ' + self.rejects.astype(str).to_json(orient="split"),
            ', "stats": '
            + json.dumps(json_safe(self.stats), ensure_ascii=False, allow_nan=False, default=str),
            "}",
        ]
        return "".join(parts)

    @classmethod
    def from_json(cls, d: dict) -> AreaResult:
        """Inverse of :meth:`to_json`."""

        def frame(x: dict) -> pd.DataFrame:
            return pd.DataFrame(x["data"], columns=x["columns"])

        summary = frame(d["summary"])
        minutes = frame(d["minutes"])
        for c in minutes.columns:
            if c.startswith("minutes_"):
                minutes[c] = minutes[c].astype(float).fillna(np.inf)
        return cls(d["area_id"], d["area_name"], d["key"], summary, minutes,
                   frame(d["rejects"]), d["stats"])  # fmt: skip


def sites_in_buffer(
    sites: gpd.GeoDataFrame, polygon: shapely.Geometry, crs: str
) -> gpd.GeoDataFrame:
    """The docking points inside ``polygon`` (network CRS ``crs``), ``attrs`` kept."""
    pts = sites.geometry.to_crs(crs).to_numpy()
    out = sites.loc[np.asarray(shapely.covers(polygon, pts), dtype=bool)].copy()
    out.attrs = dict(sites.attrs)
    return out


def area_inputs(
    task: AreaTask, sites: gpd.GeoDataFrame
) -> tuple[Network, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The clipped network, the buffer's sites and the area's residents of one task.

    Raises
    ------
    InputError
        The area's geometry is unusable.
    NetworkError
        No street in the area and its buffer.
    """
    if task.problem:
        raise InputError(f"area {task.area_id}: {task.problem}")
    net = task_network(task.network, task.params.min_component)
    buffer = shapely.buffer(task.geometry, area_buffer_m(task.params))
    return clip_network(net, buffer), sites_in_buffer(sites, buffer, net.crs), task.residents


def run_area(
    task: AreaTask,
    sites: gpd.GeoDataFrame,
    write_area: Callable[[Analysis, str, dict], object] | None = None,
    load_area: Callable[[AreaTask], tuple] | None = None,
) -> AreaResult:
    """Analyse one area (the Dask task): clip, :func:`~accessibility.core.analysis.analyze`, summarise.

    Parameters
    ----------
    task : AreaTask
    sites : GeoDataFrame
        All docking points of the region (EPSG:4326).
    write_area : callable, optional
        ``write_area(analysis, folder, record)`` writes the full ``analyze`` folder
        (``--per-area-outputs``; only when ``task.out`` is set).
    load_area : callable, optional
        ``load_area(task)`` returns ``(network, sites, residents)`` of an area that has its
        own extract (``--networks DIR``: ``task.network`` is that file); default: the
        region's network clipped (:func:`area_inputs`).

    Returns
    -------
    AreaResult
    """
    t0, c0 = time.perf_counter(), time.process_time()
    if load_area is None and not task.problem and not len(task.residents):
        # nobody lives there (or the population data and network do not reach it)
        net = task_network(task.network, task.params.min_component)
        buffer = shapely.buffer(task.geometry, area_buffer_m(task.params))
        return _empty_result(task, sites_in_buffer(sites, buffer, net.crs), t0)
    if load_area is not None:
        if task.problem:
            raise InputError(f"area {task.area_id}: {task.problem}")
        net, buf_sites, residents = load_area(task)
    else:
        net, buf_sites, residents = area_inputs(task, sites)
    rejects = Rejects()
    try:
        a = analyze(net, buf_sites, residents, rejects=rejects, categories=task.categories,
                    params=task.params)  # fmt: skip
    except AllRejectedError as exc:
        if not len(buf_sites) or "no site" not in str(exc):
            raise
        # the buffer's sites all lie off the clipped network (an area at the extract's edge):
        # the area is analysed without them, and they stay in rejects.csv
        rejects = Rejects()
        kept = buf_sites.iloc[0:0]
        a = analyze(net, kept, residents, rejects=rejects, categories=task.categories,
                    params=task.params)  # fmt: skip
        for row in buf_sites.itertuples():
            rejects.add(str(row.source), None, "no walkable edge of the area's clipped network "
                        "within --max-access", f"{row.site_id} {row.name}")  # fmt: skip
    if write_area is not None and task.out:
        write_area(
            a, task.out, {**task.record, "area": {"id": task.area_id, "name": task.area_name}}
        )
    res = a.residents
    cols = ["pid", "population", *[f"minutes_{c}" for c in a.categories]]
    minutes = pd.DataFrame({c: res[c].to_numpy() for c in cols})
    minutes["pid"] = minutes["pid"].astype(str)
    stats = {
        "nodes": net.n_nodes, "edges": net.n_edges, "sites": len(a.sites),
        "resident_points": len(res), "residents": float(res["population"].sum()),
        "resident_points_rejected": len(residents) - len(res),
        "residents_rejected": float(residents["population"].sum() - res["population"].sum()),
        "seconds": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
        "peak_mb": peak_mb(), "pid": os.getpid(),
    }  # fmt: skip
    return AreaResult(task.area_id, task.area_name, task.key, beyond_buffer(a.summary(), sites if load_area is None else buf_sites),
                      minutes, rejects.frame(), stats)  # fmt: skip


def beyond_buffer(table: pd.DataFrame, sites: gpd.GeoDataFrame) -> pd.DataFrame:
    """An area's summary where a category has docking points in the region but none in the
    area's walking buffer: nobody is covered (share 0, ``note`` says why), not "no docking point".

    Parameters
    ----------
    table : DataFrame
        The area's ``summary.csv`` table (on its clipped network).
    sites : GeoDataFrame
        All docking points of the region.

    Returns
    -------
    DataFrame
        A copy; medians beyond the largest threshold stay as the clipped network gives them.
    """
    if "category" not in sites:
        return table
    have = set(sites["category"].astype(str)) | ({ALL} if len(sites) else set())
    t = table.copy()
    miss = t["note"].eq(NO_SITE_NOTE) & t["category"].isin(have)
    t.loc[miss & (t["population"] > 0), "share_covered"] = 0.0
    t.loc[miss, "note"] = NO_SITE_IN_BUFFER
    return t


def _empty_result(task: AreaTask, buf_sites: gpd.GeoDataFrame, t0: float) -> AreaResult:
    """The result of an area without residents: population 0, shares empty."""
    cats = list(dict.fromkeys([*task.categories, *buf_sites["category"].astype(str)]))
    cats = [c for c in cats if c != ALL] + [ALL]
    empty = np.zeros(0)
    table = summary(empty, {c: empty for c in cats}, task.params.minutes)
    cols = ["pid", "population", *[f"minutes_{c}" for c in cats]]
    stats = {"nodes": 0, "edges": 0, "sites": len(buf_sites), "resident_points": 0,
             "residents": 0.0, "seconds": time.perf_counter() - t0, "cpu_s": 0.0, "peak_mb": peak_mb(),
             "pid": os.getpid()}  # fmt: skip
    return AreaResult(task.area_id, task.area_name, task.key, table, pd.DataFrame(columns=cols),
                      Rejects().frame(), stats)  # fmt: skip


def peak_mb() -> float:
    """Peak resident memory of this process so far, MB (Linux ``ru_maxrss``)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def task_key(parts: dict) -> str:
    """SHA-256 over a JSON-serialisable description of a task's inputs and parameters."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def task_sizes(net: Network, areas: gpd.GeoDataFrame, params: WalkParams) -> np.ndarray:
    """Network edges within each area's walking buffer (0 for unusable areas): the task size.

    Parameters
    ----------
    net : Network
    areas : GeoDataFrame
        In the network's CRS.
    params : WalkParams

    Returns
    -------
    ndarray of int
    """
    out = np.zeros(len(areas), dtype=np.int64)
    usable = np.flatnonzero(areas["problem"].to_numpy(str) == "")
    if len(usable):
        buffers = shapely.buffer(areas.geometry.to_numpy()[usable], area_buffer_m(params))
        ai, _ = edge_tree(net).query(buffers, predicate="intersects")
        out[usable] = np.bincount(ai, minlength=len(usable))
    return out


@dataclass
class Failure:
    """An area that failed twice (first try and the retry)."""

    area_id: str
    area_name: str
    error: str
    traceback: str


def run_tasks(
    tasks: Sequence[AreaTask],
    sites: gpd.GeoDataFrame,
    *,
    workers: int = 2,
    scheduler: str | None = None,
    write_area: Callable[[Analysis, str, dict], object] | None = None,
    on_result: Callable[[AreaResult], None] | None = None,
    on_progress: Callable[[int, int, int, int], None] | None = None,
    load_area: Callable[[AreaTask], tuple] | None = None,
) -> tuple[list[AreaResult], list[Failure], dict]:
    """Run the tasks on Dask distributed, largest first; each failing task is retried once.

    ``workers=0`` runs them in this process, one after the other (same retry rule), e.g. for
    debugging. Otherwise a ``LocalCluster`` of ``workers`` single-threaded processes, or the
    cluster at ``scheduler`` (``tcp://host:8786``), whose workers must read the network path.

    Parameters
    ----------
    tasks : sequence of AreaTask
    sites : GeoDataFrame
        All docking points (sent to every worker once).
    workers : int
        Worker processes of the local cluster (0: in-process).
    scheduler : str, optional
        Address of an existing Dask scheduler.
    write_area : callable, optional
        Per-area output writer (see :func:`run_area`).
    on_result : callable, optional
        Called in this process with each finished area (e.g. to store it for resume).
    on_progress : callable, optional
        ``on_progress(done, running, failed, total)``.
    load_area : callable, optional
        Loader of areas with their own extract (see :func:`run_area`).

    Returns
    -------
    (list of AreaResult, list of Failure, dict)
        Results and failures in completion order, and engine facts (workers, addresses).
    """
    order = sorted(tasks, key=lambda t: -t.size)
    total = len(order)
    results: list[AreaResult] = []
    failures: list[Failure] = []

    def done(r: AreaResult) -> None:
        results.append(r)
        if on_result is not None:
            on_result(r)

    def tick(running: int) -> None:
        if on_progress is not None:
            on_progress(len(results), running, len(failures), total)

    if not order:
        return results, failures, {"engine": "none"}
    if workers == 0 and scheduler is None:
        for t in order:
            tick(1)
            for attempt in (1, 2):
                try:
                    done(run_area(t, sites, write_area, load_area))
                    break
                except Exception as exc:
                    if attempt == 2:
                        failures.append(Failure(t.area_id, t.area_name, _one_line(exc),
                                                traceback.format_exc()))  # fmt: skip
        tick(0)
        return results, failures, {"engine": "in-process", "workers": 1}

    from distributed import Client, LocalCluster, as_completed

    cluster = None
    t0 = time.perf_counter()
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40)  # fmt: skip
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        info = client.scheduler_info()
        engine = {"engine": "dask.distributed", "scheduler": scheduler or "LocalCluster",
                  "workers": len(info.get("workers", {})),
                  "startup_s": time.perf_counter() - t0}  # fmt: skip
        slots = sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()) or 1
        [sites_f] = client.scatter([sites], broadcast=True)
        futures = {}
        for t in order:
            f = client.submit(run_area, t, sites_f, write_area, load_area, key=f"area-{t.key[:12]}-{t.area_id}",
                              retries=1, priority=int(t.size), pure=False)  # fmt: skip
            futures[f] = t
        tick(0)
        pending = set(futures)
        for f in as_completed(futures):
            t = futures[f]
            pending.discard(f)
            if f.status == "finished":
                done(f.result())
            else:
                err = f.exception()
                tb = f.traceback()
                failures.append(Failure(t.area_id, t.area_name, _one_line(err),
                                        "".join(traceback.format_tb(tb)) if tb else ""))  # fmt: skip
            f.release()
            # one task per worker thread runs while enough are pending (no scheduler round
            # trip per finished area: that cost driver time on every result)
            tick(min(slots, len(pending)))
        return results, failures, engine
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _one_line(exc: BaseException | None, limit: int = 500) -> str:
    text = f"{type(exc).__name__}: {exc}" if exc is not None else "unknown error"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def areas_table(results: Sequence[AreaResult], areas: gpd.GeoDataFrame) -> pd.DataFrame:
    """``areas.csv``: ``area_id``, ``area_name``, then the ``summary.csv`` columns per area.

    Rows in the areas file's order; failed areas are absent (see ``failures.csv``).
    """
    by_id = {r.area_id: r for r in results}
    frames = []
    for aid, name in zip(areas["area_id"], areas["area_name"], strict=True):
        if aid in by_id:
            s = by_id[aid].summary
            frames.append(s.assign(area_id=aid, area_name=name)[[*AREA_COLUMNS, *SUMMARY_COLUMNS]])
    if not frames:
        return pd.DataFrame(columns=[*AREA_COLUMNS, *SUMMARY_COLUMNS])
    return pd.concat(frames, ignore_index=True)


def wide_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per area: ``population``, then ``covered_<category>_<m>`` and ``share_<category>_<m>``.

    Parameters
    ----------
    table : DataFrame
        From :func:`areas_table`.

    Returns
    -------
    DataFrame
        Indexed by ``area_id`` (persons; shares 0-1).
    """
    if table.empty:
        return pd.DataFrame(columns=["area_name", "population"]).rename_axis("area_id")
    t = table.assign(
        col=table["category"].astype(str) + "_" + table["minutes"].map(lambda m: f"{m:g}")
    )
    cov = t.pivot(index="area_id", columns="col", values="population_covered").add_prefix(
        "covered_"
    )
    share = t.pivot(index="area_id", columns="col", values="share_covered").add_prefix("share_")
    first = t.drop_duplicates("area_id").set_index("area_id")[["area_name", "population"]]
    cols = [c for pair in zip(cov.columns, share.columns, strict=True) for c in pair]
    out = first.join(pd.concat([cov, share], axis=1)[cols])
    return out.loc[t["area_id"].drop_duplicates()]


def region_minutes(results: Sequence[AreaResult], categories: Sequence[str]) -> pd.DataFrame:
    """All areas' resident points (``area_id``, ``pid``, ``population``, ``minutes_<c>``)."""
    cols = ["pid", "population", *[f"minutes_{c}" for c in categories]]
    frames = [r.minutes.reindex(columns=cols).assign(area_id=r.area_id) for r in results]
    if not frames:
        return pd.DataFrame(columns=["area_id", *cols])
    out = pd.concat(frames, ignore_index=True)
    for c in cols[2:]:
        out[c] = out[c].astype(float).fillna(np.inf)
    return out[["area_id", *cols]]


def result_categories(results: Sequence[AreaResult], categories: Sequence[str]) -> list[str]:
    """The categories reported (``all`` last), as :func:`~accessibility.core.analysis.analyze` orders them."""
    seen = [c for r in results for c in r.summary["category"].astype(str)]
    cats = list(dict.fromkeys([*categories, *seen]))
    return [c for c in cats if c != ALL] + [ALL]


def region_summary(
    results: Sequence[AreaResult], categories: Sequence[str], thresholds: Sequence[float]
) -> pd.DataFrame:
    """The region's ``summary.csv``: every area's residents together (each counted once).

    Parameters
    ----------
    results : sequence of AreaResult
    categories : sequence of str
        From :func:`result_categories` (``all`` last).
    thresholds : sequence of float
        Minutes.

    Returns
    -------
    DataFrame
        :data:`accessibility.core.coverage.SUMMARY_COLUMNS`; a category no area has a
        docking point of carries the same ``note`` as in ``summary.csv``.
    """
    mins = region_minutes(results, categories)
    no_site = []
    for c in categories:
        notes = [r.summary.loc[r.summary["category"] == c, "note"] for r in results]
        if results and all(len(n) == 0 or n.fillna("").eq(NO_SITE_NOTE).all() for n in notes):
            no_site.append(c)
    return summary(
        mins["population"].to_numpy(float), {c: mins[f"minutes_{c}"].to_numpy(float) for c in categories},
        thresholds, no_site,
    )  # fmt: skip

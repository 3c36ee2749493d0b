"""Benchmark of the compute core against bare scipy, networkx, pandana and the OSMnx notebook.

Two networks, both from real data:

1. Kaiserslautern: the real OSM extract and Zensus 2011 grid from the shared data folder.
2. Kaiserslautern tiled 3×3: the same network copied onto a 3×3 grid of offsets and
   joined by a few bridge edges (a synthetic layout built from real data, > 100k nodes).

Usage::

    python bench/bench_core.py [--quick] [--markdown FILE]

See ``bench/README.md`` for what each row means.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from accessibility.config import DEFAULT_MINUTES, DEFAULT_SPEED_KMH, shared_data_dir
from accessibility.core.network import Network, Snap, load_network
from accessibility.core.routing import nearest_by_category, nearest_sites, site_graph
from accessibility.inputs.osm import read_osm

#: Label of the synthetic network (must say clearly that the layout is synthetic).
TILED_LABEL = "Kaiserslautern tiled 3×3 (synthetic layout from real data)"
#: Amenities used as sites when ``accessibility.sites`` cannot be imported.
FALLBACK_AMENITIES = (
    "library",
    "community_centre",
    "social_facility",
    "townhall",
    "place_of_worship",
)
#: Walking thresholds of the OSMnx-notebook approach, metres (5/10/15 min at 4.8 km/h).
THRESHOLDS_M = tuple(m * DEFAULT_SPEED_KMH * 1000.0 / 60.0 for m in DEFAULT_MINUTES)
#: Row label of pandana's setup + query.
PANDANA_WHAT = "pandana: Network setup + set_pois + nearest_pois(num_pois=1)"
#: Note of the rows that ``--quick`` leaves out.
SKIPPED = "skipped by --quick; run without --quick"
#: Largest allowed difference (metres) between ours and bare scipy at network nodes.
AGREEMENT_TOL_M = 1e-6

console = Console(stderr=True)


# -- settings and results ----------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    """Repeat counts and sample sizes of one run.

    Attributes
    ----------
    fast : int
        Repeats of the fast measurements (ours, bare scipy, cached load); the median counts.
    slow : int
        Repeats of networkx and pandana on the real network (pandana: the fastest run
        counts, the others: the median).
    slow_tiled : int
        Repeats of networkx and pandana on the tiled network.
    slow_on_tiled : bool
        Run the networkx query and pandana on the tiled network (about 10 s and a
        minute; skipped by ``--quick``).
    parse : int
        Repeats of parsing the OSM file.
    notebook_sites : int
        Sites actually measured with the OSMnx-notebook approach (the rest is extrapolated).
    """

    fast: int
    slow: int
    slow_tiled: int
    slow_on_tiled: bool
    parse: int
    notebook_sites: int

    @classmethod
    def make(cls, quick: bool) -> Settings:
        """Settings for ``--quick`` (< 60 s) or the full run (a few minutes)."""
        if quick:
            return cls(fast=3, slow=1, slow_tiled=1, slow_on_tiled=False, parse=1, notebook_sites=3)
        return cls(fast=7, slow=3, slow_tiled=2, slow_on_tiled=True, parse=3, notebook_sites=9)


@dataclass
class Row:
    """One line of the result table.

    Attributes
    ----------
    network : str
        Network label.
    what : str
        What was measured.
    value : float or None
        Seconds (``unit="s"``) or MiB (``unit="MiB"``); None if it could not be measured.
    unit : str
        ``"s"`` or ``"MiB"``.
    ratio : float or None
        Speed-up of ours: this row's seconds / ours (for the cache row: parse / cached).
    target : str
        The target, in words.
    status : str
        ``PASS``, ``MISS`` or empty (no target).
    note : str
        Short remark (or, if ``value`` is None, why it could not be measured).
    """

    network: str
    what: str
    value: float | None
    unit: str = "s"
    ratio: float | None = None
    target: str = ""
    status: str = ""
    note: str = ""


@dataclass
class Case:
    """A network with its residents and sites (network CRS, metres).

    Attributes
    ----------
    label : str
        Network label for the table.
    net : Network
    res_xy : ndarray (r, 2)
        Resident points (Zensus cell midpoints inside the network).
    site_xy : ndarray (k, 2)
        Site points.
    groups : dict of str to ndarray
        ``"all"`` and each category with at least one site: indices into ``site_xy``.
    notes : list of str
        Facts about the inputs (sources, counts).
    """

    label: str
    net: Network
    res_xy: np.ndarray
    site_xy: np.ndarray
    groups: dict[str, np.ndarray]
    notes: list[str] = field(default_factory=list)

    def site_nodes(self) -> np.ndarray:
        """Nearest network node of every site (the sources of the node-to-node methods)."""
        return cKDTree(self.net.node_xy).query(self.site_xy)[1]

    def sources(self) -> dict[str, np.ndarray]:
        """Distinct nearest nodes of the sites of each group."""
        nodes = self.site_nodes()
        return {g: np.unique(nodes[idx]) for g, idx in self.groups.items()}


# -- helpers -----------------------------------------------------------------------------
def timed(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall time of ``repeats`` calls of ``fn`` and the last result.

    Parameters
    ----------
    fn : callable
        Called without arguments.
    repeats : int
        Number of calls (at least 1).

    Returns
    -------
    seconds : float
        Median wall-clock seconds.
    result : object
        What the last call returned.
    """
    times = []
    result = None
    for _ in range(max(1, repeats)):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def fresh(net: Network) -> Network:
    """A copy of ``net`` that shares the arrays but none of the lazily built CSR/tree."""
    return dataclasses.replace(net, _csr=None, _tree=None, _comp=None)


@contextlib.contextmanager
def silence_stdout() -> Iterator[None]:
    """Send file descriptor 1 to /dev/null (pandana's C++ code prints progress to stdout)."""
    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        libc.fflush(None)  # C stdio buffers, so nothing leaks out after the restore
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def maxrss_mib() -> float:
    """Peak resident set size of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def ratio_status(ratio: float | None, need: float) -> str:
    """``PASS`` if ``ratio >= need``, ``MISS`` if below, empty if not measured."""
    if ratio is None or not np.isfinite(ratio):
        return ""
    return "PASS" if ratio >= need else "MISS"


def short_error(exc: BaseException) -> str:
    """One line naming an exception, for a table cell."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:120]}"


# -- inputs ------------------------------------------------------------------------------
def read_sites(extract, net: Network) -> tuple[np.ndarray, np.ndarray, str]:
    """Site points (network CRS) and categories: OSM preset sites, else amenity points.

    Parameters
    ----------
    extract : OsmExtract
        From :func:`accessibility.osm.read_osm`.
    net : Network
        Gives the CRS.

    Returns
    -------
    xy : ndarray (k, 2)
    category : ndarray of str (k,)
    source : str
        How the sites were found (for the notes).
    """
    try:
        from accessibility.inputs import sites as sitemod
        from accessibility.inputs.osm_sites import sites_from_osm

        gdf = sites_from_osm(extract.features, sitemod.load_presets()).to_crs(net.crs)
        xy = shapely.get_coordinates(gdf.geometry.representative_point().to_numpy())
        return xy, gdf["category"].astype(str).to_numpy(), "OSM preset sites (sites.py)"
    except ImportError as exc:
        f = extract.features
        amenity = np.array([t.get("amenity") for t in f["tags"]], dtype=object)
        keep = np.isin(amenity, FALLBACK_AMENITIES)
        pts = f.loc[keep].geometry.representative_point().to_crs(net.crs)
        xy = shapely.get_coordinates(pts.to_numpy())
        source = f"amenity points ({', '.join(FALLBACK_AMENITIES)}); sites.py: {exc}"
        return xy, amenity[keep].astype(str), source


def read_residents(zensus: Path, net: Network) -> tuple[np.ndarray, float, str]:
    """Zensus cell midpoints (network CRS) inside the convex hull of the network's nodes.

    Returns
    -------
    xy : ndarray (r, 2)
    population : float
        Residents in these cells.
    source : str
        How the cells were read (for the notes).
    """
    import geopandas as gpd

    try:
        from accessibility.inputs import population as pop
        from accessibility.rejects import Rejects

        gdf = pop.read_zensus([zensus], Rejects())
        source = "population.read_zensus"
    except ImportError as exc:
        t = pd.read_csv(zensus, sep=";")
        gdf = gpd.GeoDataFrame(
            {"population": t["Einwohner"].to_numpy(float)},
            geometry=gpd.points_from_xy(t["x_mp_100m"], t["y_mp_100m"]),
            crs="EPSG:3035",
        )
        source = f"plain CSV reader (population.py: {exc})"
    gdf = gdf.to_crs(net.crs)
    xy = shapely.get_coordinates(gdf.geometry.to_numpy())
    hull = shapely.convex_hull(shapely.multipoints(net.node_xy))
    inside = shapely.contains_xy(hull, xy[:, 0], xy[:, 1])
    return xy[inside], float(gdf["population"].to_numpy()[inside].sum()), source


def make_groups(category: np.ndarray) -> dict[str, np.ndarray]:
    """``"all"`` plus one index array per category."""
    groups = {"all": np.arange(len(category))}
    for c in sorted(set(category.tolist())):
        groups[c] = np.flatnonzero(category == c)
    return groups


def kaiserslautern_case(net: Network, extract, zensus: Path) -> Case:
    """The real network with its Zensus residents and OSM sites."""
    site_xy, site_cat, site_src = read_sites(extract, net)
    res_xy, pop_total, res_src = read_residents(zensus, net)
    groups = make_groups(site_cat)
    sizes = ", ".join(f"{g} {len(i)}" for g, i in groups.items())
    notes = [
        f"{net.n_nodes:,} nodes, {net.n_edges:,} edges; {len(res_xy):,} Zensus cells inside the "
        f"network ({pop_total:,.0f} residents, {res_src}); sites: {site_src}: {sizes}",
    ]
    return Case("Kaiserslautern (real)", net, res_xy, site_xy, groups, notes)


# -- the tiled network -------------------------------------------------------------------
def _bridge_pairs(
    xy: np.ndarray, main: np.ndarray, axis: int, shift: float, bridges: int, candidates: int = 60
) -> list[tuple[int, int]]:
    """Node pairs that join a tile to its neighbour along ``axis``.

    The perpendicular extent is cut into ``bridges`` bands; in each band the closest
    pair between the far boundary of the first tile and the near boundary of the
    neighbour (the same tile shifted by ``shift``) is chosen. Only nodes of the largest
    component are used, so the tiled network's main component is connected.

    Returns
    -------
    list of (int, int)
        ``(a, b)`` node indices of the base tile: ``a`` in the first tile, ``b`` in the
        neighbour.
    """
    other = 1 - axis
    ids = np.flatnonzero(main)
    cuts = np.linspace(xy[ids, other].min(), xy[ids, other].max(), bridges + 1)
    band = np.clip(np.searchsorted(cuts, xy[ids, other], side="right") - 1, 0, bridges - 1)
    step = np.zeros(2)
    step[axis] = shift
    pairs = []
    for b in range(bridges):
        m = ids[band == b]
        if len(m) == 0:
            continue
        far = m[np.argsort(-xy[m, axis], kind="stable")[:candidates]]
        near = m[np.argsort(xy[m, axis], kind="stable")[:candidates]]
        d = np.linalg.norm(xy[far][:, None, :] - (xy[near] + step)[None, :, :], axis=2)
        i, j = np.unravel_index(np.argmin(d), d.shape)
        pairs.append((int(far[i]), int(near[j])))
    return pairs


def tile_network(
    net: Network, nx: int = 3, ny: int = 3, gap: float = 100.0, bridges: int = 3
) -> tuple[Network, np.ndarray]:
    """Copy a network onto an ``nx`` × ``ny`` grid and join neighbouring copies.

    Parameters
    ----------
    net : Network
        The base network.
    nx, ny : int
        Copies along x and y.
    gap : float
        Metres between the bounding boxes of neighbouring copies.
    bridges : int
        Bridge edges between each pair of neighbouring copies (straight segments
        between nearest boundary nodes of the largest component).

    Returns
    -------
    Network
        The tiled network (node ids: copy number × 10**12 + OSM id; bridges have way id -1).
    offsets : ndarray (nx·ny, 2)
        The shift of each copy, metres; copy ``j·nx + i`` sits at column ``i``, row ``j``.
    """
    xy = net.node_xy
    n = net.n_nodes
    extent = xy.max(axis=0) - xy.min(axis=0) + gap
    offsets = np.array([(i * extent[0], j * extent[1]) for j in range(ny) for i in range(nx)])
    k = len(offsets)
    node_xy = np.concatenate([xy + o for o in offsets])
    node_osmid = np.concatenate([net.node_osmid + t * 10**12 for t in range(k)])
    u = [net.u.astype(np.int64) + t * n for t in range(k)]
    v = [net.v.astype(np.int64) + t * n for t in range(k)]
    main = net.components() == 0
    east = _bridge_pairs(xy, main, 0, extent[0], bridges)
    north = _bridge_pairs(xy, main, 1, extent[1], bridges)
    bu, bv = [], []
    for j in range(ny):
        for i in range(nx):
            t = j * nx + i
            for pairs, nb in ((east, t + 1 if i + 1 < nx else -1), (north, t + nx)):
                if nb < 0 or nb >= k:
                    continue
                bu += [t * n + a for a, _ in pairs]
                bv += [nb * n + b for _, b in pairs]
    bu, bv = np.asarray(bu, dtype=np.int64), np.asarray(bv, dtype=np.int64)
    u.append(np.minimum(bu, bv))
    v.append(np.maximum(bu, bv))
    u, v = np.concatenate(u), np.concatenate(v)
    length = np.concatenate(
        [np.tile(net.length, k), np.linalg.norm(node_xy[bu] - node_xy[bv], axis=1)]
    )
    way_id = np.concatenate([np.tile(net.way_id, k), np.full(len(bu), -1, dtype=np.int64)])
    tiled = Network(
        crs=net.crs,
        node_xy=node_xy,
        node_osmid=node_osmid,
        u=u.astype(np.int32),
        v=v.astype(np.int32),
        length=length,
        way_id=way_id,
        meta={**net.meta, "synthetic": f"tiled {nx}x{ny}, gap {gap} m, {len(bu)} bridges"},
    )
    sizes = np.bincount(tiled.components())
    if sizes[0] < k * main.sum():
        raise RuntimeError("the tiled network's copies are not joined into one component")
    return tiled, offsets


def tiled_case(base: Case) -> Case:
    """The base case copied 3×3: network, residents and sites shifted alike."""
    net, offsets = tile_network(base.net)
    k = len(offsets)
    res_xy = np.concatenate([base.res_xy + o for o in offsets])
    site_xy = np.concatenate([base.site_xy + o for o in offsets])
    m = len(base.site_xy)
    groups = {g: np.concatenate([idx + t * m for t in range(k)]) for g, idx in base.groups.items()}
    sizes = ", ".join(f"{g} {len(i)}" for g, i in groups.items())
    notes = [
        f"{net.n_nodes:,} nodes, {net.n_edges:,} edges ({net.meta['synthetic']}); "
        f"{len(res_xy):,} resident points; sites: {sizes}",
    ]
    return Case(TILED_LABEL, net, res_xy, site_xy, groups, notes)


# -- the measurements --------------------------------------------------------------------
def ours_compute(case: Case) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """This tool's snap and compute stages on a cold copy of the network.

    Snap stage: ``Network.snap`` of residents and sites (building the edge
    STRtree). Compute stage (what ``analysis.analyze`` times as ``distances``):
    the site graph (and the CSR) and ``routing.nearest_by_category`` — one
    multi-source Dijkstra per category, ``all`` as their minimum.

    Returns
    -------
    seconds : dict
        ``snap``, ``site_graph``, ``distances``, ``compute`` (site_graph +
        distances) and ``total`` (snap + compute).
    distance : dict of str to ndarray
        Door-to-door metres per resident, per group.
    """
    net = fresh(case.net)
    category = np.empty(len(case.site_xy), dtype=object)
    for g, idx in case.groups.items():
        if g != "all":
            category[idx] = g
    t0 = time.perf_counter()
    res = net.snap(case.res_xy)
    site = net.snap(case.site_xy)
    t1 = time.perf_counter()
    sg = site_graph(net, site)
    t2 = time.perf_counter()
    found = nearest_by_category(net, sg, res, category.astype(str), list(case.groups))
    dist = {g: found[g][0] for g in case.groups}
    t3 = time.perf_counter()
    secs = {
        "snap": t1 - t0, "site_graph": t2 - t1, "distances": t3 - t2,
        "compute": t3 - t1, "total": t3 - t0,
    }  # fmt: skip
    return secs, dist


def bench_ours_and_scipy(case: Case, csr, sources: dict[str, np.ndarray], repeats: int) -> tuple:
    """Ours and bare scipy, interleaved run by run so both see the same machine load.

    Parameters
    ----------
    case : Case
    csr : csr_matrix
        The network's adjacency (prebuilt) for bare scipy.
    sources : dict of str to ndarray
        Nearest node of each site, per group.
    repeats : int

    Returns
    -------
    ours : dict
        Median seconds of each part of :func:`ours_compute` (and ``total``).
    ours_dist : dict of str to ndarray
        Ours' door-to-door metres per resident, per group.
    scipy_s : float
        Median seconds of :func:`scipy_lower_bound`.
    scipy_dist : dict of str to ndarray
        Bare scipy's metres per node, per group.
    """
    runs, scipy_s = [], []
    for _ in range(max(1, repeats)):
        gc.collect()
        secs, ours_dist = ours_compute(case)
        runs.append(secs)
        gc.collect()
        t0 = time.perf_counter()
        scipy_dist = scipy_lower_bound(csr, sources)
        scipy_s.append(time.perf_counter() - t0)
    ours = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    return ours, ours_dist, statistics.median(scipy_s), scipy_dist


def ours_peak_mib(case: Case) -> float:
    """tracemalloc peak of one run of the compute stage, MiB (untimed run)."""
    gc.collect()
    tracemalloc.start()
    try:
        ours_compute(case)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def ours_rss_mib(case: Case, tmp: Path) -> float:
    """Growth of the peak RSS during one compute stage, in a fresh interpreter (MiB).

    The case is saved to ``tmp``; a child process (this script with
    ``--memory-child``) loads it, notes its RSS, runs :func:`ours_compute` and
    reports its peak RSS. Unlike tracemalloc this counts GEOS (STRtree, edge
    lines) and scipy's C allocations.
    """
    net_path = case.net.save(tmp / "memory-net.npz")
    arrays = {f"group_{g}": idx for g, idx in case.groups.items()}
    np.savez(tmp / "memory-case.npz", res_xy=case.res_xy, site_xy=case.site_xy, **arrays)
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(net_path), str(tmp / "memory-case.npz")],
        capture_output=True,
        text=True,
        check=True,
    )
    before, after = json.loads(out.stdout.strip().splitlines()[-1])
    return after - before


def proc_status_mib(key: str) -> float:
    """A memory line of ``/proc/self/status`` (``VmRSS``, ``VmHWM``), MiB."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    raise KeyError(key)


def memory_child(net_path: str, case_path: str) -> None:
    """Body of the ``--memory-child`` process: print ``[RSS before, peak RSS after]`` in MiB.

    Uses ``VmHWM`` of this process image, reset just before the run, rather than
    ``ru_maxrss``: the latter keeps the parent's peak across fork + exec.
    """
    net = Network.load(net_path)
    with np.load(case_path) as z:
        groups = {k.removeprefix("group_"): z[k] for k in z.files if k.startswith("group_")}
        case = Case("memory", net, z["res_xy"], z["site_xy"], groups)
    gc.collect()
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark
    before = proc_status_mib("VmRSS")
    ours_compute(case)
    print(json.dumps([before, proc_status_mib("VmHWM")]))


def scipy_lower_bound(csr, sources: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Bare multi-source Dijkstra per group from the sites' nearest nodes (node distances)."""
    return {g: dijkstra(csr, indices=src, min_only=True) for g, src in sources.items()}


def node_snap(net: Network) -> Snap:
    """Every node as a snap exactly at the node: an incident edge, t = 0 or 1, no access leg."""
    n = net.n_nodes
    edge = np.full(n, -1, dtype=np.int64)
    edge[net.v] = np.arange(net.n_edges)
    edge[net.u] = np.arange(net.n_edges)
    t = np.where(net.u[edge] == np.arange(n), 0.0, 1.0)
    return Snap(edge=edge, t=t, point=net.node_xy.copy(), access=np.zeros(n))


def check_agreement(
    net: Network, sources: dict[str, np.ndarray], expected: dict[str, np.ndarray]
) -> float:
    """Largest difference (metres) between ours and bare scipy at every node, all groups.

    Ours runs with each site placed exactly on its nearest node with a zero access
    leg, and every node as a resident; the result must equal scipy's node
    distances (same unreachable nodes, same finite distances).

    Raises
    ------
    AssertionError
        If the reachable nodes differ or a distance differs by more than
        :data:`AGREEMENT_TOL_M`.
    """
    nodes = node_snap(net)
    all_src = np.unique(np.concatenate(list(sources.values())))
    sg = site_graph(net, nodes.subset(all_src))
    worst = 0.0
    for g, src in sources.items():
        ours, _ = nearest_sites(net, sg, nodes, np.searchsorted(all_src, src))
        ref = expected[g]
        fin = np.isfinite(ref)
        if not np.array_equal(fin, np.isfinite(ours)):
            raise AssertionError(f"{g}: ours and scipy reach different nodes")
        diff = float(np.max(np.abs(ours[fin] - ref[fin]), initial=0.0))
        if diff > AGREEMENT_TOL_M:
            raise AssertionError(f"{g}: ours and scipy differ by {diff} m at a node")
        worst = max(worst, diff)
    return worst


def networkx_query(graph, sources: dict[str, np.ndarray]) -> dict[str, dict]:
    """``multi_source_dijkstra_path_length`` per group (node-to-node, weight ``length``)."""
    import networkx

    return {
        g: networkx.multi_source_dijkstra_path_length(graph, set(src.tolist()), weight="length")
        for g, src in sources.items()
    }


def nx_difference(result: dict, expected: np.ndarray) -> float:
    """Largest difference (metres) between a networkx distance dict and scipy's array."""
    nodes = np.fromiter(result.keys(), dtype=np.int64, count=len(result))
    dist = np.fromiter(result.values(), dtype=float, count=len(result))
    if len(nodes) != np.isfinite(expected).sum():
        return float("inf")
    return float(np.max(np.abs(dist - expected[nodes]), initial=0.0))


def pandana_run(case: Case, max_dist: float) -> dict:
    """pandana: network setup (contraction hierarchies), then POIs and nearest POI per group.

    Sites are given at their own coordinates (pandana maps them to the nearest node);
    residents are mapped to nodes with ``get_node_ids`` as part of the query.

    Returns
    -------
    dict
        ``setup`` and ``query`` seconds and ``nodes``: distance per node for ``all``.
    """
    import pandana

    net = case.net
    ids = pd.RangeIndex(net.n_nodes)
    with silence_stdout():
        t0 = time.perf_counter()
        pn = pandana.Network(
            pd.Series(net.node_xy[:, 0], index=ids),
            pd.Series(net.node_xy[:, 1], index=ids),
            pd.Series(net.u.astype(np.int64)),
            pd.Series(net.v.astype(np.int64)),
            pd.DataFrame({"length": net.length}),
            twoway=True,
        )
        t1 = time.perf_counter()
        pn.get_node_ids(pd.Series(case.res_xy[:, 0]), pd.Series(case.res_xy[:, 1]))
        nodes = None
        for g, idx in case.groups.items():
            x, y = case.site_xy[idx, 0], case.site_xy[idx, 1]
            pn.set_pois(g, max_dist, 1, pd.Series(x), pd.Series(y))
            d = pn.nearest_pois(max_dist, g, num_pois=1)
            if g == "all":
                nodes = d[1].reindex(ids).to_numpy(float)
        t2 = time.perf_counter()
    return {"setup": t1 - t0, "query": t2 - t1, "nodes": nodes}


def notebook_run(
    graph, case: Case, sample: np.ndarray, thresholds: tuple[float, ...]
) -> tuple[float, int]:
    """The OSMnx-notebook isochrone approach for a sample of sites, all thresholds.

    Per site and threshold: ``networkx.ego_graph`` (radius in metres along ``length``),
    the convex hull of the reached nodes; per threshold one ``geopandas.sjoin`` of the
    resident points into the hulls.

    Returns
    -------
    seconds : float
        Wall time for the sample.
    covered : int
        Resident points inside at least one hull of the largest threshold (sanity).
    """
    import geopandas as gpd
    import networkx

    xy = case.net.node_xy
    residents = gpd.GeoDataFrame(geometry=shapely.points(case.res_xy), crs=case.net.crs)
    t0 = time.perf_counter()
    covered = 0
    for radius in thresholds:
        hulls = []
        for node in sample.tolist():
            sub = networkx.ego_graph(graph, node, radius=radius, distance="length")
            hulls.append(shapely.convex_hull(shapely.multipoints(xy[list(sub.nodes)])))
        iso = gpd.GeoDataFrame({"site": sample}, geometry=hulls, crs=case.net.crs)
        hit = gpd.sjoin(residents, iso, how="inner", predicate="within")
        covered = hit.index.nunique()
    return time.perf_counter() - t0, covered


def bench_case(
    case: Case, s: Settings, tiled: bool, tmp: Path, progress: Callable[[str], None]
) -> tuple[list[Row], list[str]]:
    """All comparisons on one network (``tmp``: a scratch folder).

    Returns
    -------
    rows : list of Row
    notes : list of str
        Sanity checks and facts, printed under the table.
    """
    label = case.label
    rows: list[Row] = []
    notes = list(case.notes)
    slow = s.slow_tiled if tiled else s.slow
    n_groups = len(case.groups)

    progress(f"{label}: ours (compute stage) and bare scipy dijkstra, interleaved")
    csr = case.net.csgraph()
    sources = case.sources()
    secs, ours_dist, t_scipy, scipy_dist = bench_ours_and_scipy(case, csr, sources, s.fast)
    ours = secs["compute"]
    rows.append(
        Row(
            label,
            f"ours: compute stage = site_graph + nearest_by_category ({n_groups - 1} Dijkstras, "
            "'all' as their minimum), on snapped points",
            ours,
            ratio=1.0,
            note="reference for every ratio; the 'distances' stage of run.json (+ site graph)",
        )
    )
    rows.append(
        Row(
            label,
            "ours, snap stage: Network.snap of residents + sites (incl. edge STRtree build)",
            secs["snap"],
            note="once per run, shared by all categories and scenarios; run.json 'snap'",
        )
    )
    rows.append(
        Row(
            label,
            "ours: snap + compute (door to door, both access legs)",
            secs["total"],
            ratio=secs["total"] / ours,
            note="compare with pandana/notebook rows, which include their own node lookup",
        )
    )
    r = t_scipy / ours
    rows.append(
        Row(
            label,
            f"bare scipy dijkstra(csgraph, indices=site nodes, min_only=True) × {n_groups}",
            t_scipy,
            ratio=r,
            target="ours ≤ 1.5× scipy (ratio ≥ 0.67)",
            status=ratio_status(r, 1 / 1.5),
            note=f"lower bound: CSR prebuilt, sites on nodes, no access legs; snap + compute = "
            f"{secs['total'] / t_scipy:.2f}× this",
        )
    )
    progress(f"{label}: agreement ours vs scipy at nodes")
    worst = check_agreement(case.net, sources, scipy_dist)
    notes.append(
        f"check: ours (sites on their nearest node, zero access legs) = bare scipy at all "
        f"{case.net.n_nodes:,} nodes for {n_groups} groups, max |Δ| = {worst:.1e} m"
    )
    max_dist = float(max(np.max(d[np.isfinite(d)]) for d in scipy_dist.values()))
    res_inf = {g: int(np.isinf(d).sum()) for g, d in ours_dist.items()}
    notes.append(
        f"ours: residents unreachable per group {res_inf}; largest node distance to a site "
        f"{max_dist:,.0f} m"
    )

    progress(f"{label}: networkx graph build")
    t_build, graph = timed(case.net.to_networkx, 1)
    rows.append(Row(label, "networkx: Network.to_networkx() graph build", t_build, note="once"))
    progress(f"{label}: networkx multi_source_dijkstra_path_length")
    skip = tiled and not s.slow_on_tiled
    nx_what = f"networkx multi_source_dijkstra_path_length × {n_groups} (node-to-node)"
    if skip:
        rows.append(Row(label, nx_what, None, note=SKIPPED))
    else:
        t_nx, nx_res = timed(lambda: networkx_query(graph, sources), slow)
        rows.append(
            Row(label, nx_what, t_nx, ratio=t_nx / ours, note="graph build not included (above)")
        )
        notes.append(
            f"check: networkx = bare scipy at every node ('all'), max |Δ| = "
            f"{nx_difference(nx_res['all'], scipy_dist['all']):.1e} m"
        )
        del nx_res

    progress(f"{label}: pandana")
    if skip:
        rows.append(Row(label, PANDANA_WHAT, None, target="ours ≥ 30× faster", note=SKIPPED))
    else:
        rows += pandana_rows(case, max_dist, slow, ours, scipy_dist["all"], notes, secs["total"])

    progress(f"{label}: OSMnx-notebook approach (ego_graph + hull + sjoin)")
    site_nodes = case.site_nodes()
    n_sites = len(site_nodes)
    pick = np.unique(np.linspace(0, n_sites - 1, min(s.notebook_sites, n_sites)).astype(int))
    t_sample, covered = notebook_run(graph, case, site_nodes[pick], THRESHOLDS_M)
    t_nb = t_sample * n_sites / len(pick)
    per_site = t_sample / len(pick) / len(THRESHOLDS_M)
    need = 100 * ours / (per_site * len(THRESHOLDS_M))
    r = t_nb / ours
    how = "measured" if len(pick) == n_sites else "extrapolated from"
    rows.append(
        Row(
            label,
            f"OSMnx notebook: ego_graph + convex hull + sjoin, {how} {len(pick)} of {n_sites} "
            f"sites × {len(THRESHOLDS_M)} thresholds ({', '.join(f'{t:.0f}' for t in THRESHOLDS_M)}"
            " m)",
            t_nb,
            ratio=r,
            target="ours ≥ 100× faster",
            status=ratio_status(r, 100),
            note=f"vs snap + compute {t_nb / secs['total']:.1f}×; {t_sample:.2f} s measured, "
            f"{per_site:.3f} s per site and threshold; "
            f"100× needs ≥ {need:,.0f} sites",
        )
    )
    notes.append(
        f"notebook sample: {covered:,} resident points inside the {THRESHOLDS_M[-1]:.0f} m hulls "
        f"of {len(pick)} sites (hulls approximate the area reached; they give no distances)"
    )
    graph = None  # free the networkx graph before the memory run

    progress(f"{label}: peak memory of the compute stage")
    rows.append(
        Row(
            label,
            "peak memory of ours' compute stage (tracemalloc peak, separate run)",
            ours_peak_mib(case),
            unit="MiB",
            note="numpy/Python allocations only; GEOS and C buffers not traced",
        )
    )
    rows.append(
        Row(
            label,
            "peak memory of ours' compute stage (peak RSS growth, fresh process)",
            ours_rss_mib(case, tmp),
            unit="MiB",
            note="everything incl. GEOS and scipy; the network arrays loaded before",
        )
    )
    return rows, notes


def pandana_rows(
    case: Case,
    max_dist: float,
    repeats: int,
    ours: float,
    expected: np.ndarray,
    notes: list,
    total: float,
) -> list[Row]:
    """pandana's rows: setup, query and setup + query (or why it failed)."""
    label = case.label
    what = PANDANA_WHAT
    try:
        runs = [pandana_run(case, max_dist) for _ in range(max(1, repeats))]
    except Exception as exc:  # pandana is a compiled extension: any failure is reported
        return [Row(label, what, None, target="ours ≥ 30× faster", note=short_error(exc))]
    # pandana's fastest run counts (its OpenMP threads suffer most from a loaded machine)
    best = min(runs, key=lambda r: r["setup"] + r["query"])
    both = best["setup"] + best["query"]
    median = statistics.median(r["setup"] + r["query"] for r in runs)
    got = runs[-1]["nodes"]
    fin = np.isfinite(expected) & (expected < max_dist)
    diff = np.abs(got[fin] - expected[fin])
    notes.append(
        f"check: pandana vs bare scipy at reachable nodes ('all'): max |Δ| = {diff.max():.2e} m, "
        f"median {np.median(diff):.1e} m (pandana stores weights in single precision)"
    )
    r = both / ours
    return [
        Row(label, "pandana, part: Network setup (contraction hierarchies)", best["setup"]),
        Row(
            label,
            f"pandana, part: get_node_ids + set_pois + nearest_pois × {len(case.groups)}",
            best["query"],
            note=f"distance = {max_dist:,.0f} m (largest node distance)",
        ),
        Row(
            label,
            what,
            both,
            ratio=r,
            target="ours ≥ 30× faster",
            status=ratio_status(r, 30),
            note=f"vs snap + compute {both / total:.1f}×; fastest of {len(runs)} run(s); "
            f"median {median:.2f} s ({median / ours:.1f}×); "
            "pandana is multi-threaded and slows down a lot on a loaded machine",
        ),
    ]


def bench_cache(osm: Path, s: Settings, progress: Callable[[str], None]) -> tuple[list, Network]:
    """Parsing the OSM file versus loading the cached network (temp ``ACCESSIBILITY_CACHE``).

    Returns
    -------
    rows : list of Row
    net : Network
        The network loaded from the warm cache.
    """
    from accessibility.config import cache_dir

    label = "Kaiserslautern (real)"
    progress("parse OSM: read_osm(use_cache=False) + Network.from_extract")
    t_parse, _ = timed(lambda: Network.from_extract(read_osm(osm, use_cache=False)), s.parse)
    progress("load_network, cold cache (parses and writes the cache)")
    t_cold, _ = timed(lambda: load_network(osm), 1)
    progress("load_network, warm cache")
    t_warm, net = timed(lambda: load_network(osm), s.fast)
    npz = next((cache_dir() / "network").glob("*.npz"))
    t_npz, _ = timed(lambda: Network.load(npz), s.fast)
    r = t_parse / t_warm
    rows = [
        Row(label, "parse OSM: read_osm(use_cache=False) + Network.from_extract", t_parse),
        Row(label, "load_network, cold cache (parse + write cache, once)", t_cold),
        Row(
            label,
            "load_network, warm cache (SHA-256 of the file + Network.load of the npz)",
            t_warm,
            ratio=r,
            target="≥ 10× faster than parsing",
            status=ratio_status(r, 10),
            note="ratio = parse / cached",
        ),
        Row(label, "Network.load of the cached npz alone", t_npz, ratio=t_parse / t_npz),
    ]
    return rows, net


def bench_tiled_npz(case: Case, s: Settings, tmp: Path) -> Row:
    """Loading the tiled network from an npz (no OSM file exists for it, so no parse row)."""
    path = case.net.save(tmp / "tiled.npz")
    t, _ = timed(lambda: Network.load(path), s.fast)
    return Row(case.label, "Network.load of the tiled npz", t, note="no OSM file: no parse row")


# -- output ------------------------------------------------------------------------------
HEADER = ["Network", "Measurement", "Time / memory", "Ratio", "Target", "Result", "Note"]


def cells(row: Row) -> list[str]:
    """A row as table cells."""
    if row.value is None:
        value = "n/a"
    elif row.unit == "MiB":
        value = f"{row.value:,.1f} MiB"
    else:
        value = f"{row.value:.4f} s" if row.value < 10 else f"{row.value:,.1f} s"
    ratio = "" if row.ratio is None else f"{row.ratio:,.2f}×"
    return [row.network, row.what, value, ratio, row.target, row.status, row.note]


def plain_table(rows: list[Row]) -> str:
    """A fixed-width text table."""
    table = [HEADER] + [cells(r) for r in rows]
    widths = [max(len(t[i]) for t in table) for i in range(len(HEADER))]
    lines = []
    for k, t in enumerate(table):
        lines.append("  ".join(c.ljust(w) for c, w in zip(t, widths, strict=True)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: list[Row]) -> str:
    """A GitHub-flavoured Markdown table."""

    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    out = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out += ["| " + " | ".join(esc(c) for c in cells(r)) + " |" for r in rows]
    return "\n".join(out)


def report(rows: list[Row], notes: list[str], header: str, markdown: Path | None) -> None:
    """Print the plain table and notes; write the Markdown version if asked."""
    print(header)
    print()
    print(plain_table(rows))
    print()
    for n in notes:
        print(f"- {n}")
    if markdown:
        text = "\n".join(
            [f"# Benchmark: {header}", "", markdown_table(rows), "", *[f"- {n}" for n in notes]]
        )
        markdown.write_text(text + "\n", encoding="utf-8")
        console.print(f"Markdown table written to {markdown}")


# -- main --------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (< 60 s)")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(*args.memory_child)
        return 0
    s = Settings.make(args.quick)
    data = shared_data_dir() / "kaiserslautern"
    osm = data / "kaiserslautern.osm.gz"
    zensus = data / "zensus2011_100m_kaiserslautern.csv"
    for p in (osm, zensus):
        if not p.exists():
            console.print(f"[red]missing {p}; set ACCESSIBILITY_DATA to the shared data folder")
            return 2

    started = time.perf_counter()
    rows: list[Row] = []
    notes: list[str] = []
    steps = 3 + 1 + 7 + 1 + 7
    load_start = os.getloadavg()[0]
    with (
        tempfile.TemporaryDirectory(prefix="accessibility-bench-") as tmp,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar,
    ):
        os.environ["ACCESSIBILITY_CACHE"] = str(Path(tmp) / "cache")
        task = bar.add_task("starting", total=steps)

        def progress(text: str) -> None:
            bar.update(task, description=text, advance=1)
            console.print(f"[dim]{time.perf_counter() - started:6.1f} s[/]  {text}")

        cache_rows, net = bench_cache(osm, s, progress)
        progress("inputs: sites and residents")
        base = kaiserslautern_case(net, read_osm(osm), zensus)
        kl_rows, kl_notes = bench_case(base, s, False, Path(tmp), progress)
        rows += kl_rows + cache_rows
        notes += [f"{base.label}: {n}" for n in kl_notes]

        progress(f"building {TILED_LABEL}")
        tiled = tiled_case(base)
        t_rows, t_notes = bench_case(tiled, s, True, Path(tmp), progress)
        rows += t_rows + [bench_tiled_npz(tiled, s, Path(tmp))]
        notes += [f"{tiled.label}: {n}" for n in t_notes]

    total = time.perf_counter() - started
    rows.append(
        Row("whole script", "peak memory of the whole script (ru_maxrss)", maxrss_mib(), "MiB")
    )
    rows.append(Row("whole script", "wall time of the whole script", total))
    header = (
        f"{'quick' if args.quick else 'full'} run; medians of {s.fast} (fast rows) / "
        f"{s.slow} (networkx, pandana on the real network, {s.slow_tiled} on the tiled one; "
        "pandana: fastest run) / "
        f"{s.parse} (OSM parse) repeats; {os.cpu_count()} CPUs, 1-min load average "
        f"{load_start:.1f} at start, {os.getloadavg()[0]:.1f} at end; "
        "ratio = row time / ours (> 1: ours is faster)"
    )
    report(rows, notes, header, args.markdown)
    misses = [r for r in rows if r.status == "MISS"]
    if misses:
        console.print(f"[yellow]{len(misses)} target(s) missed: see the Result column")
    return 0


if __name__ == "__main__":
    sys.exit(main())

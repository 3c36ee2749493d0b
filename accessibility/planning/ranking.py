"""Rank candidate locations and find critical sites from a sparse coverage matrix.

The coverage matrix holds, for every candidate (or site) and every resident
point within ``limit`` metres, the exact door-to-door walking distance, computed
exactly like :func:`accessibility.core.routing.nearest_sites`:

    resident access leg + network distance between the two snap points + site access leg,

with the direct way along the edge when both sit on the same edge. Each
candidate gets one bounded Dijkstra search
(``scipy.sparse.csgraph.dijkstra(indices=<candidate virtual nodes>, limit=metres)``)
over the site graph of :func:`accessibility.core.routing.site_graph`, run in chunks.

On that matrix:

* :func:`greedy` — the classic greedy for maximal covering: pick the candidate
  covering the most not-yet-covered persons, given the existing sites, k times.
  Every gain is the number of residents newly covered given the choices before it.
* :func:`mclp` — the optimal set of k (maximal covering location problem) as an
  integer programme solved by HiGHS (``scipy.optimize.milp``), existing sites fixed.
* :func:`accessibility.planning.critical.critical_sites` (own module) — for each existing
  site, the persons covered by it alone; candidates come from
  :mod:`accessibility.planning.candidates`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._text import closest
from ..core.analysis import Analysis, snap_points
from ..core.network import Network, Snap
from ..core.routing import site_graph, site_pairs
from ..core.visibility import visibility as site_visibility
from ..errors import InputError
from ..rejects import Rejects
from .priority import PRIORITY, NeedSpec, load_need, priority_weight

#: Entries of a dense chunk (candidates × nodes) of the bounded searches.
_CHUNK_CELLS = 8_000_000


@dataclass
class CoverageMatrix:
    """Exact distances from candidates to the residents within ``limit`` metres.

    Attributes
    ----------
    metres : csr_matrix (k, r)
        Door-to-door metres for each (candidate, resident) pair within ``limit``;
        pairs not stored are further away (or unreachable). Zero distances are kept
        as explicit entries.
    limit : float
        Search limit in metres.
    seconds : float
        Compute time.
    """

    metres: sp.csr_matrix
    limit: float
    seconds: float = 0.0

    @property
    def shape(self) -> tuple[int, int]:
        """(candidates, resident points) of the matrix."""
        return self.metres.shape

    def covers(self, metres: float | None = None) -> sp.csr_matrix:
        """Boolean (k, r) matrix: candidate covers resident within ``metres`` (default ``limit``).

        Parameters
        ----------
        metres : float, optional
            Door-to-door distance in metres; at most ``limit``.

        Returns
        -------
        csr_matrix (k, r) of bool
            True where the candidate's distance to the resident is ``<= metres``.

        Raises
        ------
        ValueError
            ``metres`` exceeds the ``limit`` the matrix was computed up to.
        """
        metres = self.limit if metres is None else metres
        if metres > self.limit:
            raise ValueError(f"matrix computed up to {self.limit} m, asked for {metres} m")
        m = self.metres
        ok = m.data <= metres
        rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
        return sp.csr_matrix(
            (np.ones(int(ok.sum()), dtype=bool), (rows[ok], m.indices[ok])), shape=m.shape
        )


def coverage_matrix(
    net: Network, res_snap: Snap, cand_snap: Snap, limit: float, chunk: int | None = None
) -> CoverageMatrix:
    """Door-to-door distances (metres) from every candidate to the residents within ``limit``.

    Parameters
    ----------
    net : Network
        Walking network (metric CRS).
    res_snap : Snap
        Residents snapped onto the network (:meth:`Network.snap`).
    cand_snap : Snap
        Candidates (or sites) snapped onto the network.
    limit : float
        Largest distance kept, metres (e.g. minutes × metres per minute).
    chunk : int, optional
        Candidates per Dijkstra call (default: sized to ~8 M dense cells, :data:`_CHUNK_CELLS`).

    Returns
    -------
    CoverageMatrix
    """
    t0 = time.perf_counter()
    k, r = len(cand_snap.edge), len(res_snap.edge)
    sg = site_graph(net, cand_snap)
    chunk = chunk or max(1, min(k, _CHUNK_CELLS // max(sg.graph.shape[0] + 2 * r, 1)))
    # the bounded searches of routing.site_pairs: the same distances as nearest_sites, to the bit
    i, j, d = site_pairs(net, sg, res_snap, limit, block=chunk)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(i, minlength=k))])
    m = sp.csr_matrix((d, j.astype(np.int32), indptr), shape=(k, r))
    return CoverageMatrix(metres=m, limit=float(limit), seconds=time.perf_counter() - t0)


# --------------------------------------------------------------------------- greedy


@dataclass
class Ranking:
    """Result of :func:`greedy` or :func:`mclp`.

    Attributes
    ----------
    chosen : ndarray of int
        Candidate indices in the order chosen.
    gain : ndarray of float
        Persons newly covered by each choice given the existing sites and the
        choices before it.
    cumulative_covered : ndarray of float
        Persons covered after each choice (existing sites included).
    baseline : float
        Persons covered by the existing sites alone.
    seconds : float
        Compute time.
    score : ndarray of float or None
        What the greedy pick maximised for each choice: the gain times the candidate's
        ``score`` multiplier (``1 + visibility_weight × visibility``), or the gain
        itself without one. None for a ranking not picked by score.
    """

    chosen: np.ndarray
    gain: np.ndarray
    cumulative_covered: np.ndarray
    baseline: float
    seconds: float = 0.0
    score: np.ndarray | None = None

    @property
    def covered(self) -> float:
        """Persons covered with all chosen candidates."""
        return float(self.cumulative_covered[-1]) if len(self.chosen) else self.baseline


def greedy(
    covers: sp.csr_matrix, weight: np.ndarray, k: int, covered0: np.ndarray | None = None,
    score: np.ndarray | None = None,
) -> Ranking:  # fmt: skip
    """Greedy maximal covering: k times the candidate with the largest marginal gain.

    Parameters
    ----------
    covers : csr_matrix (c, r) of bool
        Candidate covers resident (from :meth:`CoverageMatrix.covers`).
    weight : ndarray (r,)
        Persons per resident point (or a population group column).
    k : int
        Number of candidates to choose (fewer if candidates run out).
    covered0 : ndarray (r,) of bool, optional
        Residents already covered by the existing sites.
    score : ndarray (c,), optional
        Multiplier of each candidate's gain when choosing (e.g. ``1 + visibility``);
        the reported gains stay in persons.

    Returns
    -------
    Ranking
        Ties go to the lower candidate index; ``score`` holds the maximised value
        of each pick.
    """
    t0 = time.perf_counter()
    weight = np.asarray(weight, dtype=float)
    covered = np.zeros(len(weight), bool) if covered0 is None else np.asarray(covered0, bool).copy()
    baseline = float(weight[covered].sum())
    cov = covers.tocsr().astype(np.float64)
    cov_t = cov.T.tocsr()
    free = np.where(covered, 0.0, weight)
    gains = cov @ free
    available = np.ones(cov.shape[0], dtype=bool)
    chosen, gain, cum, picked = [], [], [], []
    total = baseline
    for _ in range(min(k, cov.shape[0])):
        crit = np.where(available, gains if score is None else gains * score, -np.inf)
        c = int(np.argmax(crit))
        g = float(gains[c])
        chosen.append(c)
        gain.append(g)
        picked.append(float(crit[c]))
        total += g
        cum.append(total)
        available[c] = False
        newly = cov.indices[cov.indptr[c] : cov.indptr[c + 1]]
        newly = newly[free[newly] > 0]
        if len(newly):
            # lower the gains of every candidate covering the newly covered residents
            sub = cov_t[newly]
            gains -= np.asarray(sub.T @ free[newly]).ravel()
            free[newly] = 0.0
    return Ranking(np.array(chosen, dtype=np.int64), np.array(gain), np.array(cum), baseline,
                   time.perf_counter() - t0, np.array(picked))  # fmt: skip


def evaluate(
    covers: sp.csr_matrix, weight: np.ndarray, chosen: np.ndarray, covered0: np.ndarray | None
) -> float:
    """Persons covered by the existing sites plus the chosen candidates.

    Parameters
    ----------
    covers : csr_matrix (c, r) of bool
        Candidate covers resident (from :meth:`CoverageMatrix.covers`).
    weight : ndarray (r,)
        Persons per resident point (or a population group column).
    chosen : ndarray of int
        Row indices of the chosen candidates in ``covers``.
    covered0 : ndarray (r,) of bool or None
        Residents already covered by the existing sites.

    Returns
    -------
    float
        Sum of ``weight`` over the residents covered (persons), each counted once.
    """
    weight = np.asarray(weight, dtype=float)
    cov = np.zeros(len(weight), bool) if covered0 is None else np.asarray(covered0, bool).copy()
    if len(chosen):
        cov[covers.tocsr()[np.asarray(chosen)].indices] = True
    return float(weight[cov].sum())


# --------------------------------------------------------------------------- exact


def mclp(
    covers: sp.csr_matrix,
    weight: np.ndarray,
    k: int,
    covered0: np.ndarray | None = None,
    time_limit: float = 300.0,
) -> Ranking:
    """Maximal covering location problem solved exactly (HiGHS via ``scipy.optimize.milp``).

    maximise Σ_r w_r y_r  subject to  y_r ≤ Σ_{c covers r} x_c,  Σ_c x_c = k,
    x binary, 0 ≤ y ≤ 1, over the residents not covered by the existing sites
    (they are fixed). Residents with identical covering sets are merged first.

    Parameters
    ----------
    covers, weight, k, covered0
        As for :func:`greedy`.
    time_limit : float
        Seconds for the solver; a non-optimal result raises ``RuntimeError``.

    Returns
    -------
    Ranking
        ``chosen`` ordered by marginal gain (greedy order within the optimal set).
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    t0 = time.perf_counter()
    weight = np.asarray(weight, dtype=float)
    n_c, n_r = covers.shape
    k = min(k, n_c)
    covered = np.zeros(n_r, bool) if covered0 is None else np.asarray(covered0, bool)
    cov_t = covers.T.tocsr()  # residents × candidates
    useful = ~covered & (np.diff(cov_t.indptr) > 0) & (weight > 0)
    sub = cov_t[np.flatnonzero(useful)]
    w = weight[useful]
    # merge residents with the same covering set
    if sub.shape[0]:
        keys = pd.Series(
            [sub.indices[sub.indptr[i] : sub.indptr[i + 1]].tobytes() for i in range(sub.shape[0])]
        )
        codes, uniq = pd.factorize(keys)
        w = np.bincount(codes, weights=w)
        first = np.unique(codes, return_index=True)[1]
        sub = sub[first]
    n_y = sub.shape[0]
    c = np.concatenate([np.zeros(n_c), -w])
    # y_r - sum_c A[r, c] x_c <= 0
    a_rows = sp.hstack([-sub.astype(float), sp.identity(n_y, format="csr")]).tocsr()
    cons = [
        LinearConstraint(a_rows, -np.inf, 0.0),
        LinearConstraint(sp.csr_matrix(np.r_[np.ones(n_c), np.zeros(n_y)][None, :]), k, k),
    ]
    integrality = np.r_[np.ones(n_c), np.zeros(n_y)]
    res = milp(c, constraints=cons, integrality=integrality, bounds=Bounds(0, 1),
               options={"time_limit": time_limit})  # fmt: skip
    if res.status != 0 or res.x is None:
        raise RuntimeError(f"MCLP solver did not reach the optimum: {res.message}")
    chosen = np.flatnonzero(res.x[:n_c] > 0.5)
    # order the optimal set by greedy marginal gain (explainable order)
    order = greedy(covers.tocsr()[chosen], weight, len(chosen), covered0)
    out = Ranking(chosen[order.chosen], order.gain, order.cumulative_covered, order.baseline)
    out.seconds = time.perf_counter() - t0
    return out


# --------------------------------------------------------------------------- orchestration


def weight_column(residents: pd.DataFrame, weight: str | None) -> tuple[np.ndarray, str]:
    """Persons to rank by: ``population``, one group column, or the sum of comma-separated ones.

    Parameters
    ----------
    residents : DataFrame
        Resident points with ``population`` and population group columns.
    weight : str or None
        Column name, comma-separated column names (each once), or None/blank for
        ``population``.

    Returns
    -------
    weights : ndarray of float (r,)
        Persons per resident point (missing or non-numeric values count as 0).
    name : str
        ``population`` or the column names joined by ``+``.

    Raises
    ------
    InputError
        A named column is not a population column (the available ones are listed), or
        is named twice.
    """

    cols = [c.strip() for c in (weight or "").split(",") if c.strip()]
    if not cols:  # none or blank: every resident counts once
        return residents["population"].to_numpy(float), "population"
    twice = [c for i, c in enumerate(cols) if c in cols[:i]]
    if twice:  # summed twice, every gain would be doubled
        raise InputError(f"--weight names '{twice[0]}' twice; give each column once")
    groups = list(residents.attrs.get("groups", [])) or [
        c for c in residents.columns if c not in ("pid", "population") and
        pd.api.types.is_numeric_dtype(residents[c])
    ]  # fmt: skip
    bad = [c for c in cols if c not in residents.columns or c == "geometry"]
    if bad:
        guess = closest(bad[0], groups)
        hint = f" (did you mean '{guess}'?)" if guess else ""
        raise InputError(
            f"--weight: no population column '{bad[0]}'{hint}; available: "
            f"{', '.join(['population', *groups]) or 'population only'}"
        )
    w = residents[cols].apply(pd.to_numeric, errors="coerce").fillna(0.0).sum(axis=1)
    return w.to_numpy(float), "+".join(cols)


@dataclass
class RankResult:
    """Ranking table plus what was computed, for output and reports."""

    table: pd.DataFrame
    greedy: Ranking
    exact: Ranking | None
    matrix: CoverageMatrix
    candidates: gpd.GeoDataFrame
    weight_name: str
    limit_m: float
    total_weight: float
    reach: np.ndarray | None = None
    visibility: pd.DataFrame | None = None
    category: str = "all"

    def pick_of_resident(self, covered0: np.ndarray) -> np.ndarray:
        """For each resident (matrix column): the rank (1…k) of the greedy pick that newly
        covers it, 0 if none does.

        Parameters
        ----------
        covered0 : ndarray of bool (r,)
            Residents covered by the existing sites (``metres_<category> <= limit_m``).

        Returns
        -------
        ndarray of int (r,)
            Greedy rank (1-based) of the pick that first covers each resident, 0 if
            already covered or never covered.
        """
        covers = self.matrix.covers()
        out = np.zeros(covers.shape[1], dtype=np.int64)
        covered = np.asarray(covered0, dtype=bool).copy()
        for j, c in enumerate(self.greedy.chosen, start=1):  # k picks, each vectorised
            idx = covers.indices[covers.indptr[c] : covers.indptr[c + 1]]
            new = idx[~covered[idx]]
            out[new] = j
            covered[idx] = True
        return out

    def exact_table(self) -> pd.DataFrame:
        """The optimal set (``--exact``) in the layout of the ranking table.

        Returns
        -------
        DataFrame
            ``rank, name, gain, cumulative_covered, candidate_id, category,
            share_covered, reach, lat, lon, score`` (EPSG:4326; gains in persons;
            ``score`` = ``gain``: the optimum maximises persons), plus the
            visibility columns and ``gain_weighted`` when visibility was computed.

        Raises
        ------
        ValueError
            No exact solution was computed.
        """
        if self.exact is None:
            raise ValueError("no exact solution computed")
        return _table(self.exact, self.candidates, self.total_weight, self.reach,
                      self.visibility, self.category)  # fmt: skip


def rank_candidates(
    analysis: Analysis,
    candidates: gpd.GeoDataFrame,
    k: int,
    minutes: float,
    category: str = "all",
    weight: str | None = None,
    exact: bool = False,
    features: gpd.GeoDataFrame | None = None,
    with_visibility: bool = True,
    visibility_weight: float = 0.0,
    rejects: Rejects | None = None,
    need: NeedSpec | None = None,
) -> RankResult:
    """Rank candidates by greedy marginal coverage gain given the existing sites.

    Parameters
    ----------
    analysis : Analysis
        Baseline analysis (its residents, snaps and ``metres_<category>``).
    candidates : GeoDataFrame
        Candidate sites (:data:`~accessibility.inputs.sites.SITE_COLUMNS`, any CRS).
    k : int
        How many to choose.
    minutes : float
        Coverage threshold, minutes (at the analysis' walking speed).
    category : str
        Existing sites that count (``all`` or one category); candidates count as that category.
    weight : str, optional
        Population column(s) to rank by (comma-separated are summed); default all residents.
        ``priority`` (when no column has that name) ranks by need × gap × residents
        (:mod:`accessibility.planning.priority`), the gap measured at ``minutes`` to the
        sites of ``category``: candidates that serve the priority areas best come first.
    exact : bool
        Also solve the MCLP exactly and report the gap.
    features : GeoDataFrame, optional
        OSM features for the shop count of the visibility score.
    with_visibility : bool
        Compute the visibility score of every candidate.
    visibility_weight : float
        Choose by ``gain × (1 + visibility_weight × visibility)`` (0 = by gain only).
    rejects : Rejects, optional
        Receives candidates too far from the network.
    need : NeedSpec, optional
        Need index of ``weight="priority"``; default the shipped ``need.yaml``.

    Returns
    -------
    RankResult
        ``table`` has ``rank, name, gain, cumulative_covered`` then ``candidate_id,
        category, share_covered, reach, lat, lon, score`` and, with visibility,
        ``visibility, betweenness, shops_100m, gain_weighted``. ``score`` is what the
        greedy pick maximised: ``gain × (1 + visibility_weight × visibility)`` (= ``gain``
        at ``visibility_weight`` 0). ``gain_weighted`` = ``gain × (1 + visibility)`` is an
        older descriptive column, kept for compatibility; it is not what was picked by.
    """

    if k < 1:
        raise InputError(f"--k must be at least 1, got {k}")
    if category not in analysis.categories:
        raise InputError(
            f"--category '{category}' is not a category of this run; use one of "
            f"{', '.join(analysis.categories)}"
        )
    rejects = rejects if rejects is not None else analysis.rejects
    net = analysis.network
    limit = float(minutes) * analysis.params.metres_per_minute
    cand = candidates.reset_index(drop=True)
    if "row" not in cand:
        cand["row"] = pd.NA
    label = cand["site_id"].astype(str) + " " + cand["name"].astype(str)
    cand_used, cand_snap = snap_points(
        net, cand, rejects if rejects is not None else Rejects(), "candidate",
        cand["source"].astype(str), cand["row"], label,
    )  # fmt: skip
    if len(cand_used) == 0:
        raise InputError(
            "no candidate lies within reach of the walking network (different area, swapped "
            "lat/lon?); see rejects.csv"
        )
    cand_used = cand_used.reset_index(drop=True)
    res = analysis.residents
    if weight and weight.strip() == PRIORITY and PRIORITY not in res.columns:
        spec = replace(need or load_need(), minutes=float(minutes), category=category)
        w, wname = priority_weight(analysis, spec), PRIORITY
    else:
        w, wname = weight_column(res, weight)
    covered0 = res[f"metres_{category}"].to_numpy(float) <= limit
    cm = coverage_matrix(net, analysis.resident_snap, cand_snap, limit)  # type: ignore[arg-type]
    covers = cm.covers()
    vis = None
    score = None
    if with_visibility:
        vis = site_visibility(net, cand_used, features)
        if visibility_weight:
            score = 1.0 + visibility_weight * vis["visibility"].to_numpy(float)
    g = greedy(covers, w, k, covered0, score=score)
    total = float(w.sum())
    reach = np.asarray(covers.astype(np.float64) @ w).ravel()
    table = _table(g, cand_used, total, reach, vis, category)
    ex = None
    if exact:
        ex = mclp(covers, w, k, covered0)
    return RankResult(table, g, ex, cm, cand_used, wname, limit, total, reach, vis, category)


def _table(g: Ranking, cand: gpd.GeoDataFrame, total: float, reach, vis, category) -> pd.DataFrame:
    c = g.chosen
    ll = cand.geometry.to_crs("EPSG:4326")
    t = pd.DataFrame(
        {
            "rank": np.arange(1, len(c) + 1),
            "name": cand["name"].to_numpy(object)[c],
            "gain": g.gain,
            "cumulative_covered": g.cumulative_covered,
            "candidate_id": cand["site_id"].to_numpy(object)[c],
            "category": cand["category"].astype(str).to_numpy(object)[c],
            "share_covered": g.cumulative_covered / total if total > 0 else np.nan,
            "reach": reach[c],
            "lat": ll.y.to_numpy()[c].round(7),
            "lon": ll.x.to_numpy()[c].round(7),
            # what the pick maximised (the gain itself for an unweighted or exact ranking)
            "score": g.gain if g.score is None else g.score,
        }
    )
    if vis is not None:
        for col in vis.columns:
            t[col] = vis[col].to_numpy()[c]
        t["gain_weighted"] = g.gain * (1.0 + t["visibility"].to_numpy())
    return t


@dataclass
class RankRun:
    """A ranking with what it was computed from (``accessibility rank``).

    Built by :func:`accessibility.pipeline.rank_inputs`, written by
    :func:`accessibility.outputs.files.write_ranking`.

    Attributes
    ----------
    result : RankResult
    analysis : Analysis
        The baseline analysis at the ranking threshold (``analysis.params``).
    candidates : int
        Candidates offered (before snapping).
    rejects : Rejects
        Every rejected row of the run.
    inputs_record : dict
        ``Inputs.record`` (data vintage and attributions for the map).
    """

    result: RankResult
    analysis: Analysis
    candidates: int
    rejects: Rejects
    inputs_record: dict

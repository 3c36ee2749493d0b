"""Supply and demand: two-step floating catchment (2SFCA, E2SFCA) and decay-weighted coverage.

A docking point with one counsellor two mornings a week does not serve as many residents
as a full-time centre. With a *capacity* per site (hours per week, staff or seats: any one
unit, the same for every site compared), the two-step floating catchment method gives every
resident point the capacity available to it per 1,000 residents (Luo & Wang 2003):

1. for every site *j*: ``R_j = S_j / sum_i(P_i * W(t_ij))`` over the resident points *i*
   with ``t_ij <= T`` (``S_j``: capacity, ``P_i``: residents, ``t_ij``: door-to-door
   walking minutes, ``T``: the catchment in minutes); ``R_j = 0`` when nobody lives
   within its catchment;
2. for every resident point *i*: ``A_i = 1000 * sum_j(R_j * W(t_ij))`` over the sites
   with ``t_ij <= T``: capacity units per 1,000 residents.

The classic 2SFCA (``sfca_<category>``) uses the step ``W = 1`` inside the catchment; the
enhanced 2SFCA (``e2sfca_<category>``, Luo & Qi 2009) weighs both steps by a distance decay
inside the catchment (:data:`DECAYS`, default the Gaussian of Dai 2010:
``W(t) = (exp(-½ (t/T)²) - exp(-½)) / (1 - exp(-½))``, 1 at the door, 0 at ``T``).
This is the convention of PySAL ``access`` (``Access.two_stage_fca`` and
``Access.enhanced_two_stage_fca`` with ``max_cost=T`` and the same ``weight_fn``, applied
in both steps, ``cost <= max_cost`` inclusive, no normalisation), times 1,000; the tests
check equality to 1e-9 on the same cost matrix. Since every site's capacity is shared out
in full, ``sum_i(P_i * A_i) / 1000`` equals the capacity of the sites with anyone in reach.

The **decay-weighted coverage** is the alternative to the hard "within N minutes" share:
per resident point the cumulative opportunities ``O_i = sum_j W(t_ij)`` (docking points in
reach, each weighted by the decay: one at the door counts 1, one at the edge of the
catchment 0; ``opportunities_<category>``) and, per area or group, the population-weighted
mean of ``min(O_i, 1)`` (``decay_coverage``: 0–1; with the step function it is the share
within ``T``).

Distances come from :func:`accessibility.core.routing.site_pairs`: one Dijkstra per site
bounded by the catchment, sparse (site, resident, metres) triples, no dense matrix.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import AccessibilityWarning, InputError
from ..inputs.sites import MAX_CAPACITY
from .network import Network, Snap
from .routing import SiteGraph, site_graph, site_pairs

#: Capacity of a site without one (no capacity column, an empty cell, or an OSM site).
DEFAULT_CAPACITY = 1.0

#: The 2SFCA/E2SFCA scores are capacity units per this many residents.
PER_RESIDENTS = 1000.0

_E_HALF = float(np.exp(-0.5))


def gaussian(t: np.ndarray, catchment: float) -> np.ndarray:
    """Gaussian decay inside the catchment (Dai 2010): 1 at 0 minutes, 0 at ``catchment``.

    ``W(t) = (exp(-½ (t/T)²) - exp(-½)) / (1 - exp(-½))`` for ``t <= T``, else 0.

    Parameters
    ----------
    t : ndarray of float
        Walking minutes.
    catchment : float
        The catchment ``T`` in minutes.

    Returns
    -------
    ndarray of float
        Weights in [0, 1].
    """
    t = np.asarray(t, dtype=float)
    w = (np.exp(-0.5 * (t / catchment) ** 2) - _E_HALF) / (1.0 - _E_HALF)
    return np.where(t <= catchment, w, 0.0)


def linear(t: np.ndarray, catchment: float) -> np.ndarray:
    """Linear decay inside the catchment: ``W(t) = 1 - t/T`` for ``t <= T``, else 0.

    Parameters
    ----------
    t : ndarray of float
        Walking minutes.
    catchment : float
        The catchment ``T`` in minutes.

    Returns
    -------
    ndarray of float
        Weights in [0, 1].
    """
    t = np.asarray(t, dtype=float)
    return np.where(t <= catchment, 1.0 - t / catchment, 0.0)


def step(t: np.ndarray, catchment: float) -> np.ndarray:
    """The classic catchment: ``W(t) = 1`` for ``t <= T``, else 0.

    Parameters
    ----------
    t : ndarray of float
        Walking minutes.
    catchment : float
        The catchment ``T`` in minutes.

    Returns
    -------
    ndarray of float
        Weights 0 or 1.
    """
    return (np.asarray(t, dtype=float) <= catchment).astype(float)


#: Distance decays of the enhanced 2SFCA and the decay-weighted coverage (``--decay``).
DECAYS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "gaussian": gaussian,
    "linear": linear,
}


@dataclass
class Pairs:
    """Sparse walking minutes of the (site, resident point) pairs within a catchment.

    Attributes
    ----------
    site, resident : ndarray of int64
        Indices into the sites and resident points of the analysis.
    minutes : ndarray of float
        Door-to-door walking minutes (``<= catchment``).
    n_sites, n_residents : int
        Sizes of the two sets.
    """

    site: np.ndarray
    resident: np.ndarray
    minutes: np.ndarray
    n_sites: int
    n_residents: int


def pairs(
    net: Network,
    site_snap: Snap,
    res_snap: Snap,
    catchment: float,
    metres_per_minute: float,
    sg: SiteGraph | None = None,
) -> Pairs:
    """Walking minutes of every (site, resident) pair within ``catchment`` minutes.

    Parameters
    ----------
    net : Network
    site_snap, res_snap : Snap
        Sites and residents snapped onto ``net``.
    catchment : float
        Catchment in minutes.
    metres_per_minute : float
        Walking speed in metres per minute.
    sg : SiteGraph, optional
        :func:`accessibility.core.routing.site_graph` of ``site_snap`` (built if missing).

    Returns
    -------
    Pairs
    """
    sg = sg if sg is not None else site_graph(net, site_snap)
    s, r, m = site_pairs(net, sg, res_snap, catchment * metres_per_minute)
    return Pairs(s, r, m / metres_per_minute, len(site_snap.edge), len(res_snap.edge))


def two_step(
    p: Pairs,
    population: np.ndarray,
    capacity: np.ndarray,
    weight: np.ndarray,
    sites: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The two steps of the floating catchment method on sparse pairs.

    Parameters
    ----------
    p : Pairs
        Pairs within the catchment.
    population : ndarray (r,)
        Residents per resident point (persons).
    capacity : ndarray (k,)
        Capacity per site (any unit ≥ 0).
    weight : ndarray
        ``W(t)`` of every pair (1 for the classic 2SFCA).
    sites : ndarray of bool (k,), optional
        Sites whose supply step 2 sums (a category); all by default.

    Returns
    -------
    score : ndarray (r,)
        ``A_i``: capacity per 1,000 residents (:data:`PER_RESIDENTS`).
    ratio : ndarray (k,)
        ``R_j`` × 1,000: capacity per 1,000 (weighted) residents in the site's catchment;
        0 where nobody lives within it.
    demand : ndarray (k,)
        ``sum_i(P_i * W(t_ij))``: weighted residents in each site's catchment (persons).
    """
    population = np.asarray(population, dtype=float)
    demand = np.bincount(p.site, weights=population[p.resident] * weight, minlength=p.n_sites)
    ratio = np.divide(
        np.asarray(capacity, dtype=float), demand, out=np.zeros(p.n_sites), where=demand > 0
    )
    w = weight if sites is None else weight * np.asarray(sites, dtype=bool)[p.site]
    score = np.bincount(p.resident, weights=ratio[p.site] * w, minlength=p.n_residents)
    return score * PER_RESIDENTS, ratio * PER_RESIDENTS, demand


def opportunities(p: Pairs, weight: np.ndarray, sites: np.ndarray | None = None) -> np.ndarray:
    """Cumulative opportunities: the decay-weighted number of sites in reach per resident point.

    Parameters
    ----------
    p : Pairs
    weight : ndarray
        ``W(t)`` of every pair.
    sites : ndarray of bool (k,), optional
        Sites counted (a category); all by default.

    Returns
    -------
    ndarray (r,)
        ``sum_j W(t_ij)``.
    """
    w = weight if sites is None else weight * np.asarray(sites, dtype=bool)[p.site]
    return np.bincount(p.resident, weights=w, minlength=p.n_residents)


@dataclass
class Supply:
    """Result of :func:`supply_demand` (also kept as ``Analysis.supply``).

    Attributes
    ----------
    catchment : float
        Catchment ``T`` in minutes.
    decay : str
        Name of the decay of the E2SFCA and the decay-weighted coverage (:data:`DECAYS`).
    capacity_column : str
        The sites file's capacity column.
    categories : list of str
        Categories scored (``all`` last).
    capacity : dict
        ``sites``, ``given``, ``default`` (sites counted with :data:`DEFAULT_CAPACITY`),
        ``default_value``, ``total`` and ``unit`` note, for ``run.json``.
    seconds : dict
        Seconds for the bounded searches (``pairs``) and the scores.
    n_pairs : int
        (site, resident point) pairs within the catchment.
    """

    catchment: float
    decay: str
    capacity_column: str
    categories: list[str]
    capacity: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    n_pairs: int = 0

    def record(self) -> dict:
        """The ``run.json`` entry ``supply``.

        Returns
        -------
        dict
        """
        return {
            "catchment_minutes": self.catchment,
            "decay": self.decay,
            "decay_formula": DECAY_FORMULAS[self.decay],
            "per_residents": PER_RESIDENTS,
            "capacity_column": self.capacity_column,
            "capacity": self.capacity,
            "pairs_within_catchment": self.n_pairs,
            "timings_s": {k: round(v, 4) for k, v in self.seconds.items()},
            "method": "2SFCA (Luo & Wang 2003) and E2SFCA (Luo & Qi 2009) as in PySAL access, "
            "times 1,000; decay-weighted coverage = mean of min(sum of W, 1)",
        }


#: How each decay is computed, as written to ``run.json``.
DECAY_FORMULAS = {
    "gaussian": "W(t) = (exp(-0.5 (t/T)^2) - exp(-0.5)) / (1 - exp(-0.5)) for t <= T, else 0 "
    "(Dai 2010)",
    "linear": "W(t) = 1 - t/T for t <= T, else 0",
}


def check_capacity(capacity: np.ndarray) -> np.ndarray:
    """Capacities as floats; NaN (not given) becomes :data:`DEFAULT_CAPACITY`.

    Parameters
    ----------
    capacity : array-like
        One value per site (≥ 0, finite, or NaN for "not given").

    Returns
    -------
    ndarray of float

    Raises
    ------
    InputError
        A value is negative, above :data:`MAX_CAPACITY` or infinite (the sites reader
        rejects such rows first).
    """
    cap = np.asarray(capacity, dtype=float)
    with np.errstate(invalid="ignore"):
        bad = np.isinf(cap) | (cap < 0) | (cap > MAX_CAPACITY)
    if bad.any():
        raise InputError(
            f"site capacities must be numbers from 0 to {MAX_CAPACITY:,.0f}, got "
            f"{cap[bad][:5].tolist()}; fix the capacity column"
        )
    return np.where(np.isnan(cap), DEFAULT_CAPACITY, cap)


def supply_demand(
    a,
    *,
    catchment: float | None = None,
    decay: str = "gaussian",
    capacity_column: str = "capacity",
    capacity: np.ndarray | None = None,
) -> Supply:
    """Add 2SFCA, E2SFCA and decay-weighted coverage columns to an analysis, in place.

    Adds to ``a.residents`` per category *c* (and ``all``): ``sfca_<c>`` and
    ``e2sfca_<c>`` (capacity per 1,000 residents) and ``opportunities_<c>``
    (decay-weighted sites in reach); to ``a.sites``: ``capacity``,
    ``capacity_default`` (True where :data:`DEFAULT_CAPACITY` was used),
    ``catchment_population`` (persons within ``T``), ``sfca_ratio`` and
    ``e2sfca_ratio`` (capacity per 1,000 residents of the catchment). Sets
    ``a.supply``.

    Parameters
    ----------
    a : Analysis
        A finished analysis (its snaps are used).
    catchment : float, optional
        Catchment ``T`` in minutes (default: the largest threshold).
    decay : {"gaussian", "linear"}
        Distance decay of the E2SFCA and the decay-weighted coverage.
    capacity_column : str
        Name of the capacity column, for the record.
    capacity : ndarray, optional
        Capacity per site of ``a.sites``; default its ``capacity`` column, else
        :data:`DEFAULT_CAPACITY` for every site (NaN values also get the default).

    Returns
    -------
    Supply
    """
    import time

    if decay not in DECAYS:
        raise InputError(f"unknown decay {decay!r}; choose one of {', '.join(DECAYS)}")
    catchment = float(max(a.minutes) if catchment is None else catchment)
    if not 0 < catchment <= 600:
        raise InputError(f"the catchment must be above 0 and at most 600 minutes, got {catchment}")
    if capacity is None:
        capacity = (
            a.sites["capacity"].to_numpy(float)
            if "capacity" in a.sites
            else np.full(len(a.sites), np.nan)
        )
    raw = np.asarray(capacity, dtype=float)
    cap = check_capacity(raw)
    if len(cap) and not (cap > 0).any():
        warnings.warn(
            f"every site has capacity 0 (column {capacity_column!r}): all 2SFCA and E2SFCA "
            "scores are 0; give the sites their capacities (hours per week, staff or seats)",
            AccessibilityWarning,
            stacklevel=2,
        )
    t0 = time.perf_counter()
    p = pairs(a.network, a.site_snap, a.resident_snap, catchment, a.params.metres_per_minute)
    t1 = time.perf_counter()
    pop = a.residents["population"].to_numpy(float)
    w_step = step(p.minutes, catchment)
    w_decay = DECAYS[decay](p.minutes, catchment)
    site_cat = a.sites["category"].astype(str).to_numpy()
    cats = list(a.categories)
    _, ratio_step, demand_step = two_step(p, pop, cap, w_step)
    _, ratio_decay, _ = two_step(p, pop, cap, w_decay)
    new = {}
    for c in cats:
        sel = None if c == "all" else site_cat == c
        new[f"sfca_{c}"] = two_step(p, pop, cap, w_step, sel)[0]
        new[f"e2sfca_{c}"] = two_step(p, pop, cap, w_decay, sel)[0]
        new[f"opportunities_{c}"] = opportunities(p, w_decay, sel)
    for k, v in new.items():
        a.residents[k] = v
    a.sites["capacity"] = cap
    a.sites["capacity_default"] = np.isnan(raw)
    a.sites["catchment_population"] = demand_step
    a.sites["sfca_ratio"] = ratio_step
    a.sites["e2sfca_ratio"] = ratio_decay
    given = int((~np.isnan(raw)).sum())
    result = Supply(
        catchment=catchment,
        decay=decay,
        capacity_column=capacity_column,
        categories=cats,
        capacity={
            "sites": len(cap),
            "given": given,
            "default": len(cap) - given,
            "default_value": DEFAULT_CAPACITY,
            "total": float(cap.sum()),
            "zero": int((cap == 0).sum()),
        },
        seconds={"pairs": t1 - t0, "scores": time.perf_counter() - t1},
        n_pairs=len(p.site),
    )
    a.supply = result
    return result


#: Columns of ``summary_2sfca.csv``.
SUMMARY_COLUMNS = [
    "level",
    "name",
    "category",
    "catchment_minutes",
    "decay",
    "population",
    "sfca_mean",
    "e2sfca_mean",
    "opportunities_mean",
    "decay_coverage",
    "share_within_catchment",
]


def _rows(level: str, name: str, weight: np.ndarray, res: pd.DataFrame, s: Supply) -> list[dict]:
    rows = []
    pop = float(weight.sum())
    for c in s.categories:
        mins = res[f"minutes_{c}"].to_numpy(float)
        opp = res[f"opportunities_{c}"].to_numpy(float)

        def mean(v: np.ndarray) -> float:
            return float(np.dot(weight, v) / pop) if pop > 0 else float("nan")

        rows.append({
            "level": level, "name": name, "category": c, "catchment_minutes": s.catchment,
            "decay": s.decay, "population": pop,
            "sfca_mean": mean(res[f"sfca_{c}"].to_numpy(float)),
            "e2sfca_mean": mean(res[f"e2sfca_{c}"].to_numpy(float)),
            "opportunities_mean": mean(opp),
            "decay_coverage": mean(np.minimum(opp, 1.0)),
            "share_within_catchment": mean((mins <= s.catchment).astype(float)),
        })  # fmt: skip
    return rows


def summary(a) -> pd.DataFrame:
    """``summary_2sfca.csv``: population-weighted means for everyone, each district and group.

    ``level`` is ``all``, ``district`` or ``group`` (``name`` the district or group);
    ``sfca_mean`` and ``e2sfca_mean`` in capacity units per 1,000 residents,
    ``opportunities_mean`` in decay-weighted sites, ``decay_coverage`` and
    ``share_within_catchment`` 0–1. A group's means weigh each point by the group's persons
    there; a district's count every point inside it (overlaps in each).

    Parameters
    ----------
    a : Analysis
        With :func:`supply_demand` applied (``a.supply``).

    Returns
    -------
    DataFrame
        :data:`SUMMARY_COLUMNS`; empty if ``a.supply`` is missing.
    """
    s: Supply | None = getattr(a, "supply", None)
    if s is None:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    res = a.residents
    rows = _rows("all", "", res["population"].to_numpy(float), res, s)
    if a.districts is not None and a.district_members is not None:
        m = a.district_members
        names: Sequence[str] = list(dict.fromkeys([*a.districts["district"], *m["district"]]))
        for d in names:
            idx = m.loc[m["district"] == d, "resident"].to_numpy(np.int64)
            sub = res.iloc[idx]
            rows += _rows("district", d, sub["population"].to_numpy(float), sub, s)
    for g in a.groups:
        rows += _rows("group", g, res[g].to_numpy(float), res, s)
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)

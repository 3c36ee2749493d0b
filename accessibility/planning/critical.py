"""Critical sites and redundancy: who loses coverage if a site closes (``accessibility critical``).

For every existing site: ``reach_<m>`` (residents within m minutes of it) and ``loss_<m>``
(residents covered by this site alone); per category and threshold the residents covered by
exactly one site and by two or more.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

#: Entries of a dense chunk (candidates × nodes) of the bounded searches.
from ..core.analysis import Analysis
from .ranking import coverage_matrix, weight_column

# --------------------------------------------------------------------------- critical sites


def critical_sites(covers: sp.csr_matrix, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Redundancy and per-site loss for existing sites.

    Parameters
    ----------
    covers : csr_matrix (s, r) of bool
        Site covers resident within the threshold.
    weight : ndarray (r,)
        Persons per resident point.

    Returns
    -------
    n_covering : ndarray (r,)
        Number of sites covering each resident.
    loss : ndarray (s,)
        Persons who lose coverage if that site alone closes (covered by it only).
    """
    cov = covers.tocsr().astype(np.float64)
    n_cov = np.asarray(cov.sum(axis=0)).ravel().astype(np.int64)
    only = np.where(n_cov == 1, np.asarray(weight, float), 0.0)
    loss = np.asarray(cov @ only).ravel()
    return n_cov, loss


def critical_residents(
    analysis: Analysis, minutes: float, category: str = "all"
) -> tuple[np.ndarray, np.ndarray]:
    """Per resident: how many sites cover it within ``minutes``, and the only one.

    Parameters
    ----------
    analysis : Analysis
        A finished stock analysis (its walking speed turns minutes into metres).
    minutes : float
        Threshold in minutes of walking.
    category : str
        Site category to count, or ``all`` for every site.

    Returns
    -------
    n_covering : ndarray of int (r,)
        Sites (of ``category``; ``all`` = every site) within ``minutes`` minutes.
    sole : ndarray of int (r,)
        Row in ``analysis.sites`` of the one site covering the resident, -1 where none
        or several do.
    """

    sites = analysis.sites
    idx = (
        np.arange(len(sites)) if category == "all"
        else np.flatnonzero(sites["category"].astype(str).to_numpy() == category)
    )  # fmt: skip
    limit = float(minutes) * analysis.params.metres_per_minute
    cm = coverage_matrix(analysis.network, analysis.resident_snap, analysis.site_snap.subset(idx),  # type: ignore[arg-type]
                         limit)  # fmt: skip
    by_res = cm.covers().T.tocsr()
    n_cov = np.diff(by_res.indptr)
    sole = np.full(len(n_cov), -1, dtype=np.int64)
    one = n_cov == 1
    sole[one] = idx[by_res.indices[by_res.indptr[:-1][one]]]
    return n_cov.astype(np.int64), sole


def critical_table(
    analysis: Analysis,
    minutes: Sequence[float] | None = None,
    category: str = "all",
    weight: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-site loss if it closes alone, and redundancy, for each threshold.

    Parameters
    ----------
    analysis : Analysis
        A finished stock analysis.
    minutes : sequence of float, optional
        Thresholds in minutes (sorted); default the analysis' thresholds.
    category : str
        Site category to consider, or ``all`` for every site.
    weight : str, optional
        Population column(s) to count (see :func:`accessibility.planning.ranking.weight_column`);
        default ``population`` (persons).

    Returns
    -------
    sites : DataFrame
        ``site_id, name, category`` then per threshold ``m``: ``reach_<m>`` (persons
        within ``m`` minutes of the site) and ``loss_<m>`` (persons covered by it alone).
    redundancy : DataFrame
        ``category, minutes, population, covered, covered_by_1, covered_by_2plus,
        share_2plus``.
    """

    minutes = sorted(minutes or analysis.minutes)
    mpm = analysis.params.metres_per_minute
    sites = analysis.sites
    idx = (
        np.arange(len(sites)) if category == "all"
        else np.flatnonzero(sites["category"].astype(str).to_numpy() == category)
    )  # fmt: skip
    snap = analysis.site_snap.subset(idx)
    w, _ = weight_column(analysis.residents, weight)
    cm = coverage_matrix(analysis.network, analysis.resident_snap, snap, max(minutes) * mpm)  # type: ignore[arg-type]
    out = sites.iloc[idx][["site_id", "name", "category"]].reset_index(drop=True)
    red = []
    for m in minutes:
        cov = cm.covers(m * mpm)
        n_cov, loss = critical_sites(cov, w)
        out[f"reach_{m:g}"] = np.asarray(cov.astype(np.float64) @ w).ravel()
        out[f"loss_{m:g}"] = loss
        red.append(
            {
                "category": category, "minutes": m, "population": float(w.sum()),
                "covered": float(w[n_cov >= 1].sum()), "covered_by_1": float(w[n_cov == 1].sum()),
                "covered_by_2plus": float(w[n_cov >= 2].sum()),
                "share_2plus": float(w[n_cov >= 2].sum() / w.sum()) if w.sum() > 0 else np.nan,
            }
        )  # fmt: skip
    return out, pd.DataFrame(red)

"""Coverage scores: residents within a walking time of a docking point.

All functions take per-resident walking minutes (``inf`` = unreachable) and
population weights and are vectorised over residents and thresholds.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

SUMMARY_COLUMNS = [
    "category",
    "minutes",
    "population",
    "population_covered",
    "share_covered",
    "median_minutes",
    "note",
]

#: ``note`` of a category without any docking point (share and median are left empty).
NO_SITE_NOTE = "no docking point of this category"


def covered(weight: np.ndarray, minutes: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """Weighted count of residents within each threshold.

    Parameters
    ----------
    weight : ndarray (r,)
        Persons per resident point.
    minutes : ndarray (r,)
        Walking minutes to the nearest site (``inf`` if unreachable).
    thresholds : sequence of float
        Minutes.

    Returns
    -------
    ndarray (len(thresholds),)
        Persons with ``minutes <= threshold``.
    """
    t = np.asarray(thresholds, dtype=float)
    return (np.asarray(weight, float)[:, None] * (np.asarray(minutes)[:, None] <= t[None, :])).sum(
        0
    )


def weighted_median(values: np.ndarray, weight: np.ndarray) -> float:
    """Population-weighted median (lower median); ``nan`` if the weight is zero.

    ``inf`` values (unreachable) take part: if more than half of the population
    cannot reach a site, the median is ``inf``.

    Parameters
    ----------
    values : ndarray of float
        Minutes per resident point (``inf``: no site reachable).
    weight : ndarray of float
        Residents per point (persons).

    Returns
    -------
    float
        The median in minutes, ``inf`` or ``nan`` (see above).
    """
    w = np.asarray(weight, dtype=float)
    if w.sum() <= 0:
        return float("nan")
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(w[order])
    return float(np.asarray(values)[order][np.searchsorted(cum, 0.5 * cum[-1])])


def _table(
    weight: np.ndarray,
    minutes: dict[str, np.ndarray],
    thresholds: Sequence[float],
    keys: dict[str, object] | None = None,
    no_site: Collection[str] = (),
) -> list[dict]:
    rows = []
    pop = float(np.sum(weight))
    for cat, mins in minutes.items():
        cov = covered(weight, mins, thresholds)
        med = weighted_median(mins, weight)
        if cat in no_site:
            for m in thresholds:
                rows.append({**(keys or {}), "category": cat, "minutes": m, "population": pop,
                             "population_covered": 0.0, "share_covered": float("nan"),
                             "median_minutes": float("nan"), "note": NO_SITE_NOTE})  # fmt: skip
            continue
        for m, c in zip(thresholds, cov, strict=True):
            rows.append(
                {
                    **(keys or {}),
                    "category": cat,
                    "minutes": m,
                    "population": pop,
                    "population_covered": float(c),
                    "share_covered": float(c / pop) if pop > 0 else float("nan"),
                    "median_minutes": med,
                    "note": "",
                }
            )
    return rows


def summary(
    weight: np.ndarray,
    minutes: dict[str, np.ndarray],
    thresholds: Sequence[float],
    no_site: Collection[str] = (),
) -> pd.DataFrame:
    """``summary.csv``: one row per category (incl. ``all``) and threshold.

    Categories in ``no_site`` (no docking point at all) get ``note`` =
    :data:`NO_SITE_NOTE`, ``population_covered`` 0 and empty share and median.

    Parameters
    ----------
    weight : ndarray of float
        Residents per point (persons).
    minutes : dict of str to ndarray
        Category (and ``all``) → walking minutes per point to the nearest site
        (``inf``: none reachable).
    thresholds : sequence of float
        Thresholds in minutes.
    no_site : collection of str
        Categories without any site.

    Returns
    -------
    DataFrame
        Columns :data:`SUMMARY_COLUMNS` (population in persons, shares 0-1, medians in
        minutes).
    """
    return pd.DataFrame(_table(weight, minutes, thresholds, no_site=no_site),
                        columns=SUMMARY_COLUMNS)  # fmt: skip


def summary_groups(
    groups: pd.DataFrame,
    minutes: dict[str, np.ndarray],
    thresholds: Sequence[float],
    no_site: Collection[str] = (),
) -> pd.DataFrame:
    """``summary_groups.csv``: the summary for each population group column.

    Groups with zero persons are kept (share empty).

    Parameters
    ----------
    groups : DataFrame
        One column per population group: persons per resident point.
    minutes, thresholds, no_site
        As for :func:`summary`.

    Returns
    -------
    DataFrame
        ``group`` then :data:`SUMMARY_COLUMNS`.
    """
    rows = []
    for g in groups.columns:
        rows += _table(groups[g].to_numpy(float), minutes, thresholds, {"group": g}, no_site)
    return pd.DataFrame(rows, columns=["group", *SUMMARY_COLUMNS])


def summary_districts(
    district: np.ndarray,
    all_districts: Sequence[str],
    weight: np.ndarray,
    minutes: dict[str, np.ndarray],
    thresholds: Sequence[float],
    no_site: Collection[str] = (),
    members: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``summary_districts.csv``: the summary per district, every district listed.

    Districts without residents or without coverage appear with zeros. With
    ``members`` (columns ``resident``: row index into ``weight``, ``district``: name)
    a resident counts in every district listed for it (overlapping districts);
    otherwise in ``district[i]`` only.

    Parameters
    ----------
    district : ndarray of str
        District name per resident point.
    all_districts : sequence of str
        Every district, in output order.
    weight : ndarray of float
        Residents per point (persons).
    minutes, thresholds, no_site
        As for :func:`summary`.
    members : DataFrame, optional
        Resident → district pairs for overlapping districts (see above).

    Returns
    -------
    DataFrame
        ``district`` then :data:`SUMMARY_COLUMNS`.
    """
    rows = []
    district = np.asarray(district, dtype=object)
    for name in all_districts:
        if members is not None:
            m = members.loc[members["district"] == name, "resident"].to_numpy(np.int64)
        else:
            m = np.flatnonzero(district == name)
        rows += _table(
            weight[m], {c: v[m] for c, v in minutes.items()}, thresholds, {"district": name},
            no_site,
        )  # fmt: skip
    return pd.DataFrame(rows, columns=["district", *SUMMARY_COLUMNS])

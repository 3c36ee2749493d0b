"""Priority areas: where residents in need lack a docking point (issue 15, part 1).

A **need index** per resident point (Zensus cell) from population group columns, and
**priority = need × gap**, the gap being the walking minutes to the nearest docking point
beyond the threshold (capped; unreachable = the cap). The indicators, their weights, the
small-cell prior and the cap come from a YAML file (default
``accessibility/inputs/need.yaml``, which documents the reasoning).

Formula, for indicator *k* (numerator and denominator columns, persons) and cell *i*:

- reference share ``S_k = Σ_i num_ik / Σ_i den_ik`` over the study area, or the
  indicator's ``reference_share``;
- smoothed share ``s_ik = (num_ik + m·S_k) / (den_ik + m)`` with ``m = prior_residents``
  (persons): a cell with few residents is pulled towards ``S_k``; a cell whose
  denominator is 0 gets ``S_k`` exactly;
- **unpublished values**: where a numerator or denominator column of indicator *k* is
  secret or suppressed in a cell (Zensus ``-1``, ``-9`` or a secrecy marker; the reader
  lists them in ``attrs["unpublished"]``), the value is unknown, not 0 persons: the
  indicator counts neither numerator nor denominator there (the cell gets ``S_k``
  exactly, its ``share_k`` is NaN) and the cell is left out of ``S_k`` and of its
  district's share; ``run.json`` (``priority.unpublished_cells``) counts these cells per
  indicator;
- ``need_i = Σ_k w_k · s_ik / S_k / Σ_k w_k`` (1 = the area's average; an indicator whose
  ``S_k`` is 0 counts 1), the sums over the indicators the population has;
- ``gap_i = min(max(minutes_i − T, 0), cap)``, ``cap`` for unreachable residents (minutes);
- ``priority_i = need_i · gap_i`` (need-weighted minutes per resident) and
  ``priority_total_i = priority_i · population_i``; areas are ranked by ``priority_total``
  so that a cell of three residents does not outrank a block of flats.

Column sets: an indicator names its columns for the Zensus 2011 100 m tables
(``numerator``, ``denominator``) and may list ``alternatives``, other column sets tried
in order (the Zensus 2011 1 km and 2022 grids publish shares, read as persons: ``unter18``,
``ab65``, ``Auslaender``, ``Unter18``, ``Ueber65`` ÷ ``population``). The first set whose
columns are all population groups is used (:func:`resolve_need`). An indicator with no
usable set is an error, or with ``missing_indicators: skip`` (the shipped file) left out:
the remaining weights are renormalised (divided by their sum), and ``run.json`` and the
report name the indicators left out.

Coarse cells spread onto buildings or streets (1 km; column ``cell_id``): the need is
the source cell's, given to each of its points (:func:`need_per_point`).

Per district: ``need`` from the district's summed counts (same formula), ``minutes`` and
``gap_minutes`` as population-weighted means (unreachable = ``T + cap``),
``priority_total`` the sum over its cells and ``priority = priority_total / residents``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd

from .._text import closest
from ..core.analysis import ALL, OUTSIDE_DISTRICTS, Analysis
from ..errors import InputError
from ..inputs.presets import load_yaml

#: ``rank --weight priority``: rank by need × gap × residents.
PRIORITY = "priority"

#: The shipped need specification (indicators, weights, prior, cap).
DEFAULT_NEED = files("accessibility") / "inputs" / "need.yaml"

CELL_COLUMNS = [
    "rank", "area", "population", "need", "minutes", "gap_minutes", "priority", "priority_total",
]  # fmt: skip
DISTRICT_COLUMNS = [
    "rank", "district", "population", "residents_beyond", "need", "minutes", "gap_minutes",
    "priority", "priority_total",
]  # fmt: skip


@dataclass
class Indicator:
    """One need indicator: a share of persons (numerator ÷ denominator columns)."""

    name: str
    weight: float
    numerator: list[str]
    denominator: list[str]
    label_en: str = ""
    label_de: str = ""
    reference_share: float | None = None
    #: Other (numerator, denominator) column sets, tried in order after the first.
    alternatives: list[tuple[list[str], list[str]]] = field(default_factory=list)

    def column_sets(self) -> list[tuple[list[str], list[str]]]:
        """Every (numerator, denominator) column set, the first one first."""
        return [(self.numerator, self.denominator), *self.alternatives]

    def label(self, lang: str) -> str:
        """The indicator's label in ``lang`` (its name if none is given)."""
        return (self.label_de if lang == "de" else self.label_en) or self.name


@dataclass
class NeedSpec:
    """A need specification read from YAML (:func:`load_need`).

    Attributes
    ----------
    indicators : list of Indicator
    prior_residents : float
        Persons of the small-cell prior ``m`` (0 = raw shares).
    gap_cap_minutes : float
        Largest gap counted, minutes beyond the threshold (also for unreachable residents).
    category : str
        Docking points that count (``all`` or a category id).
    minutes : float or None
        Threshold in minutes; None = the run's smallest threshold.
    source : str
        The file read.
    missing_indicators : {"error", "skip"}
        What an indicator without a usable column set does (``error`` unless the file says).
    missing : list of Indicator
        Indicators left out by :func:`resolve_need` (``skip``); empty before resolving.
    """

    indicators: list[Indicator]
    prior_residents: float = 10.0
    gap_cap_minutes: float = 15.0
    category: str = ALL
    minutes: float | None = None
    source: str = ""
    columns: list[str] = field(default_factory=list)
    missing_indicators: str = "error"
    missing: list[Indicator] = field(default_factory=list)

    def record(self) -> dict:
        """The specification for ``run.json`` (strict JSON)."""
        wsum = sum(i.weight for i in self.indicators) or 1.0
        return {
            "source": self.source, "prior_residents": self.prior_residents,
            "gap_cap_minutes": self.gap_cap_minutes, "category": self.category,
            "minutes": self.minutes, "missing_indicators": self.missing_indicators,
            "indicators": [
                {"name": i.name, "label_en": i.label_en, "label_de": i.label_de,
                 "weight": i.weight, "weight_share": round(i.weight / wsum, 6),
                 "numerator": i.numerator, "denominator": i.denominator,
                 "reference_share": i.reference_share}
                for i in self.indicators
            ],
            "indicators_left_out": [
                {"name": i.name, "label_en": i.label_en, "label_de": i.label_de,
                 "weight": i.weight,
                 "columns": sorted({c for n, d in i.column_sets() for c in (*n, *d)}
                                   - {"population"})}
                for i in self.missing
            ],
        }  # fmt: skip


def _number(value, what: str, file: str, low: float = 0.0) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number, got {value!r}", file) from None
    if not (np.isfinite(x) and x >= low):
        raise InputError(f"{what} must be a finite number ≥ {low:g}, got {value!r}", file)
    return x


def _columns(value, what: str, file: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(c, str) for c in value):
        raise InputError(f"{what} must be a column name or a list of them, got {value!r}", file)
    return [c.strip() for c in value]


def load_need(path: str | Path | None = None) -> NeedSpec:
    """Read a need specification (YAML, ``yaml.safe_load`` semantics).

    Parameters
    ----------
    path : path, optional
        The file; default :data:`DEFAULT_NEED`.

    Returns
    -------
    NeedSpec

    Raises
    ------
    InputError
        The file is missing, not YAML, has an unknown key or a bad value (named).
    """
    path = Path(str(DEFAULT_NEED)) if path is None else Path(path)
    file = str(path)
    data = load_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("indicators"), dict):
        raise InputError("a need file needs a mapping 'indicators: {name: {...}}'", file)
    known = {"indicators", "prior_residents", "gap_cap_minutes", "category", "minutes",
             "missing_indicators"}  # fmt: skip
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"unknown key '{unknown[0]}'; use {', '.join(sorted(known))}", file)
    inds = []
    ikeys = {"weight", "numerator", "denominator", "label_en", "label_de", "reference_share",
             "alternatives"}  # fmt: skip
    for name, d in data["indicators"].items():
        if not isinstance(d, dict):
            raise InputError(f"indicator '{name}' must be a mapping", file)
        bad = sorted(set(d) - ikeys)
        if bad:
            raise InputError(
                f"indicator '{name}': unknown key '{bad[0]}'; use {', '.join(sorted(ikeys))}", file
            )
        for key in ("weight", "numerator", "denominator"):
            if key not in d:
                raise InputError(f"indicator '{name}' has no '{key}'", file)
        ref = d.get("reference_share")
        inds.append(
            Indicator(
                name=str(name),
                weight=_number(d["weight"], f"indicator '{name}': weight", file),
                numerator=_columns(d["numerator"], f"indicator '{name}': numerator", file),
                denominator=_columns(d["denominator"], f"indicator '{name}': denominator", file),
                label_en=str(d.get("label_en") or ""),
                label_de=str(d.get("label_de") or ""),
                reference_share=None if ref is None else _number(
                    ref, f"indicator '{name}': reference_share", file),
                alternatives=_alternatives(d.get("alternatives"), str(name), file),
            )
        )  # fmt: skip
    if not inds or sum(i.weight for i in inds) <= 0:
        raise InputError("the indicators' weights must add up to more than 0", file)
    for i in inds:
        if i.reference_share is not None and not 0 < i.reference_share <= 1:
            raise InputError(
                f"indicator '{i.name}': reference_share must be a share in (0, 1], "
                f"got {i.reference_share}",
                file,
            )
    minutes = data.get("minutes")
    mode = str(data.get("missing_indicators", "error"))
    if mode not in ("error", "skip"):
        raise InputError(f"missing_indicators must be 'error' or 'skip', got {mode!r}", file)
    return NeedSpec(
        indicators=inds,
        prior_residents=_number(data.get("prior_residents", 10), "prior_residents", file),
        gap_cap_minutes=_number(data.get("gap_cap_minutes", 15), "gap_cap_minutes", file),
        category=str(data.get("category") or ALL),
        minutes=None if minutes is None else _number(minutes, "minutes", file, low=1e-9),
        source=file,
        columns=_spec_columns(inds),
        missing_indicators=mode,
    )


def _spec_columns(inds: list[Indicator]) -> list[str]:
    return list(dict.fromkeys(c for i in inds for c in (*i.numerator, *i.denominator)))


def _alternatives(value, name: str, file: str) -> list[tuple[list[str], list[str]]]:
    """``alternatives: [{numerator: [...], denominator: [...]}, ...]`` of one indicator."""
    if value is None:
        return []
    what = f"indicator '{name}': alternatives"
    if not isinstance(value, list):
        raise InputError(f"{what} must be a list of {{numerator, denominator}} mappings", file)
    out = []
    for k, alt in enumerate(value, 1):
        if not isinstance(alt, dict) or set(alt) != {"numerator", "denominator"}:
            raise InputError(
                f"{what}: entry {k} must be a mapping with exactly 'numerator' and "
                f"'denominator', got {alt!r}",
                file,
            )
        out.append((_columns(alt["numerator"], f"{what} {k}: numerator", file),
                    _columns(alt["denominator"], f"{what} {k}: denominator", file)))  # fmt: skip
    return out


def resolve_need(spec: NeedSpec, groups: list[str]) -> NeedSpec:
    """The specification with each indicator's first column set whose columns all exist.

    Parameters
    ----------
    spec : NeedSpec
    groups : list of str
        The run's population group columns (``population`` always exists).

    Returns
    -------
    NeedSpec
        Indicators without ``alternatives``; with ``missing_indicators: skip`` those
        with no usable set are left out and listed in ``missing`` (their weight drops
        out of the sum, so the others are renormalised).

    Raises
    ------
    InputError
        An indicator has no usable column set and the file does not say ``skip`` (naming
        the unknown columns, a near match and the groups available), or no indicator is
        left.
    """
    have = set(groups) | {"population"}
    used, missing = [], list(spec.missing)
    for ind in spec.indicators:
        for num, den in ind.column_sets():
            if all(c in have for c in (*num, *den)):
                used.append(replace(ind, numerator=num, denominator=den, alternatives=[]))
                break
        else:
            if spec.missing_indicators != "skip":
                _raise_unknown(spec, ind, groups)
            missing.append(ind)
    if not used:
        cols = sorted({c for i in missing for n, d in i.column_sets() for c in (*n, *d)} - have)
        raise InputError(
            "need index: the population has none of its indicators' columns "
            f"({', '.join(cols[:6])}{' …' if len(cols) > 6 else ''}); give --population "
            "tables with them (Zensus age, country-of-birth or citizenship tables) or --need FILE",
            spec.source,
        )
    return replace(spec, indicators=used, missing=missing, columns=_spec_columns(used))


def _raise_unknown(spec: NeedSpec, ind: Indicator, groups: list[str]) -> None:
    have = set(groups) | {"population"}
    bad = [c for c in dict.fromkeys((*ind.numerator, *ind.denominator)) if c not in have]
    guess = closest(bad[0], groups)
    hint = f" (did you mean '{guess}'?)" if guess else ""
    alt = f" (nor those of its {len(ind.alternatives)} alternatives)" if ind.alternatives else ""
    raise InputError(
        f"need index: unknown population column(s) {', '.join(repr(c) for c in bad)}{hint} "
        f"of indicator '{ind.name}'{alt}; "
        f"available: {', '.join(['population', *groups])}. Give --population tables with "
        "these groups (e.g. the Zensus country-of-birth table), edit the need file or set "
        "'missing_indicators: skip' in it",
        spec.source,
    )


def missing_columns(spec: NeedSpec, columns) -> list[str]:
    """Columns the specification names that ``columns`` lacks (``population`` is always there).

    Parameters
    ----------
    spec : NeedSpec
    columns : iterable of str

    Returns
    -------
    list of str
    """
    have = set(columns) | {"population"}
    return [c for c in spec.columns if c not in have]


def check_columns(spec: NeedSpec, groups: list[str]) -> None:
    """Raise a clear error naming every column of ``spec`` that is not a population group.

    Parameters
    ----------
    spec : NeedSpec
    groups : list of str
        The run's population group columns.

    Raises
    ------
    InputError
        Naming the unknown columns, a near match and the groups available (see
        :func:`resolve_need`).
    """
    resolve_need(spec, groups)


def _sum(frame: pd.DataFrame, cols: list[str]) -> np.ndarray:
    return frame[cols].apply(pd.to_numeric, errors="coerce").fillna(0.0).sum(axis=1).to_numpy(float)


def unpublished_rows(counts: pd.DataFrame, key: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per group column, which rows of ``counts`` hold a value the source did not publish.

    Read from ``counts.attrs["unpublished"]`` (group → cell ids with a secret or
    suppressed value, set by :func:`accessibility.inputs.zensus.read_zensus`).

    Parameters
    ----------
    counts : DataFrame
        Resident points (or cells) with ``attrs``.
    key : ndarray of str, optional
        The cell id of each row; default ``cell_id`` (points spread from a cell), else
        ``pid`` (the cell itself).

    Returns
    -------
    dict of str to ndarray of bool
        Only the columns with at least one unpublished row.
    """
    hidden = counts.attrs.get("unpublished") or {}
    if not hidden:
        return {}
    if key is None:
        col = "cell_id" if "cell_id" in counts else "pid" if "pid" in counts else None
        if col is None:
            return {}
        key = counts[col].astype(str).to_numpy()
    out = {}
    for c, ids in hidden.items():
        mask = np.isin(key, np.asarray(list(ids), dtype=str))
        if mask.any():
            out[c] = mask
    return out


def _hidden(ind: Indicator, unpublished: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Rows where a numerator or denominator column of ``ind`` is unpublished."""
    mask = np.zeros(n, dtype=bool)
    for c in dict.fromkeys((*ind.numerator, *ind.denominator)):
        if c in unpublished:
            mask |= unpublished[c]
    return mask


def need_index(
    counts: pd.DataFrame,
    spec: NeedSpec,
    reference: dict[str, float] | None = None,
    unpublished: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, pd.DataFrame, dict[str, float]]:
    """Need index per row of ``counts`` (see the module docstring for the formula).

    Parameters
    ----------
    counts : DataFrame
        Persons per row in the spec's columns (and ``population``).
    spec : NeedSpec
    reference : dict, optional
        Reference share per indicator (0–1); default the indicator's
        ``reference_share`` or the share over all rows of ``counts``.
    unpublished : dict of str to ndarray of bool, optional
        Per column, the rows whose value the source did not publish (secret, ``-1``,
        ``-9``; :func:`unpublished_rows`). An indicator with an unpublished numerator
        or denominator column in a row is unknown there: that row gets the reference
        share (ratio 1, share NaN) and is left out of the reference share.

    Returns
    -------
    need : ndarray of float
        Dimensionless, 1 = the reference.
    shares : DataFrame
        ``share_<indicator>``: the raw share per row (0–1, NaN where the denominator is
        0 or the indicator is unpublished). ``attrs["unpublished"]``: indicator → rows
        treated as unpublished.
    reference : dict
        The reference share used per indicator.
    """
    n = len(counts)
    wsum = sum(i.weight for i in spec.indicators)
    need = np.zeros(n)
    shares = pd.DataFrame(index=counts.index)
    ref_out: dict[str, float] = {}
    m = spec.prior_residents
    hidden_count: dict[str, int] = {}
    for ind in spec.indicators:
        num, den = _sum(counts, ind.numerator), _sum(counts, ind.denominator)
        hidden = _hidden(ind, unpublished or {}, n)
        hidden_count[ind.name] = int(hidden.sum())
        # unknown, not 0: no numerator and no denominator → exactly S_k below
        num, den = np.where(hidden, 0.0, num), np.where(hidden, 0.0, den)
        if reference is not None and ind.name in reference:
            s_ref = reference[ind.name]
        elif ind.reference_share is not None:
            s_ref = ind.reference_share
        else:
            s_ref = float(num.sum() / den.sum()) if den.sum() > 0 else 0.0
        ref_out[ind.name] = s_ref
        with np.errstate(invalid="ignore", divide="ignore"):
            shares[f"share_{ind.name}"] = np.where(den > 0, num / den, np.nan)
            if s_ref > 0:
                smoothed = np.where(den + m > 0, (num + m * s_ref) / (den + m), s_ref)
                ratio = smoothed / s_ref
            else:
                ratio = np.ones(n)
        need += ind.weight * ratio
    shares.attrs["unpublished"] = hidden_count
    return need / wsum, shares, ref_out


def reference_shares(counts: pd.DataFrame, groups: list[str], spec: NeedSpec | None = None
                     ) -> dict[str, float]:  # fmt: skip
    """Each indicator's share over all rows of ``counts`` (e.g. a whole batch region).

    Parameters
    ----------
    counts : DataFrame
        Persons per resident point in the group columns and ``population``.
    groups : list of str
        The population group columns.
    spec : NeedSpec, optional
        Default the shipped need file.

    Returns
    -------
    dict
        Indicator name → share (0–1) for the indicators the columns allow and whose
        share is above 0; {} when none (no need index possible).
    """
    try:
        spec = resolve_need(spec or load_need(), groups)
    except InputError:
        return {}
    _, _, ref = need_index(counts, spec, unpublished=unpublished_rows(counts))
    return {k: float(v) for k, v in ref.items() if 0 < v <= 1}


def with_reference(spec: NeedSpec, reference: dict[str, float]) -> NeedSpec:
    """``spec`` with ``reference_share`` set from ``reference`` (indicator name → 0–1).

    Parameters
    ----------
    spec : NeedSpec
    reference : dict

    Returns
    -------
    NeedSpec
        Indicators not in ``reference`` keep theirs.
    """
    return replace(spec, indicators=[
        replace(i, reference_share=reference.get(i.name, i.reference_share))
        for i in spec.indicators
    ])  # fmt: skip


#: Columns of a batch region's ``priority.csv`` (:func:`region_priority`).
REGION_COLUMNS = [
    "rank", "area_id", "area", "population", "need", "minutes", "gap_minutes", "priority",
    "priority_total",
]  # fmt: skip


def region_priority(
    counts: pd.DataFrame, minutes: pd.DataFrame, spec: NeedSpec, threshold: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Priority of every resident point of a batch region, from the areas' walking minutes.

    Parameters
    ----------
    counts : DataFrame
        Persons per resident point (``population`` and the spec's columns), row-aligned
        with ``minutes``.
    minutes : DataFrame
        ``area_id``, ``pid``, ``population`` and ``minutes_<category>`` (the areas'
        results; ``inf`` = none reachable).
    spec : NeedSpec
        Resolved (:func:`resolve_need`), usually :func:`with_reference` the region's shares.
    threshold : float
        Minutes.

    Returns
    -------
    cells : DataFrame
        :data:`REGION_COLUMNS` plus ``residents_beyond``, in rank order (1 = largest
        ``priority_total``).
    areas : DataFrame
        Per ``area_id`` (index): ``priority_total`` (need-weighted person-minutes) and
        ``residents_beyond`` (persons beyond the threshold).
    """
    need, _, _ = need_per_point(counts, spec)
    mins = minutes[f"minutes_{spec.category}"].to_numpy(float)
    gap = gap_minutes(mins, threshold, spec.gap_cap_minutes)
    pop = minutes["population"].to_numpy(float)
    cells = pd.DataFrame(
        {
            "area_id": minutes["area_id"].astype(str).to_numpy(),
            "area": minutes["pid"].astype(str).to_numpy(),
            "population": pop,
            "need": need,
            "minutes": np.where(np.isfinite(mins), mins, np.nan),
            "gap_minutes": gap,
            "priority": need * gap,
            "priority_total": need * gap * pop,
            "residents_beyond": np.where(gap > 0, pop, 0.0),
        }
    )
    cells.insert(0, "rank", _rank(cells))
    areas = cells.groupby("area_id", sort=False)[["priority_total", "residents_beyond"]].sum()
    return cells.sort_values("rank", kind="stable").reset_index(drop=True), areas


def need_per_point(
    counts: pd.DataFrame, spec: NeedSpec, reference: dict[str, float] | None = None
) -> tuple[np.ndarray, pd.DataFrame, dict[str, float]]:
    """:func:`need_index` per Zensus cell, given to each of its resident points.

    Coarse cells spread onto buildings or streets (column ``cell_id``, see
    :func:`accessibility.inputs.spread.spread_cells`) carry their cell's shares in every
    point; the small-cell prior must act on the cell's residents, not on a point's
    fraction of them (a 1 km cell of 3,000 residents spread over 40 points would else be
    pulled towards the average as if it had 75). Without ``cell_id`` each row is a cell.

    Parameters
    ----------
    counts : DataFrame
        Persons per point (``population``, the spec's columns, optionally ``cell_id``).
    spec : NeedSpec
    reference : dict, optional
        As :func:`need_index`.

    Returns
    -------
    need, shares, reference
        As :func:`need_index`, one row per row of ``counts``.
    """
    if "cell_id" not in counts:
        return need_index(counts, spec, reference, unpublished_rows(counts))
    key = counts["cell_id"].astype(object).where(counts["cell_id"].notna(), counts.index)
    key = key.astype(str).to_numpy()
    cols = list(dict.fromkeys(["population", *spec.columns]))
    sums = (counts[cols].apply(pd.to_numeric, errors="coerce").fillna(0.0)
            .groupby(key, sort=False).sum())  # fmt: skip
    sums.attrs = {"unpublished": counts.attrs.get("unpublished") or {}}
    hidden = unpublished_rows(sums, np.asarray(sums.index, dtype=str))
    need, shares, ref = need_index(sums, spec, reference, hidden)
    pos = sums.index.get_indexer(key)
    out = shares.iloc[pos].set_axis(counts.index)
    out.attrs = {"unpublished": shares.attrs.get("unpublished", {})}
    return need[pos], out, ref


@dataclass
class Priority:
    """Priority areas of an analysis (:func:`priority`).

    Attributes
    ----------
    cells : DataFrame
        One row per resident point (index of ``analysis.residents``):
        :data:`CELL_COLUMNS`, then ``residents_beyond`` and ``share_<indicator>``;
        ``minutes`` NaN = no docking point reachable.
    districts : DataFrame
        :data:`DISTRICT_COLUMNS` plus ``share_<indicator>`` (empty without districts).
    spec : NeedSpec
    minutes : float
        The threshold T (minutes).
    reference : dict
        Reference share per indicator (0–1).
    unpublished : dict
        Indicator → number of cells where it was treated as unpublished (a numerator or
        denominator value secret or suppressed in the source; the cell gets ``S_k``).
    """

    cells: pd.DataFrame
    districts: pd.DataFrame
    spec: NeedSpec
    minutes: float
    reference: dict
    unpublished: dict = field(default_factory=dict)

    def record(self) -> dict:
        """What ``run.json`` (``priority``) states."""
        return {
            **self.spec.record(), "threshold_minutes": self.minutes,
            "reference_shares": {k: round(v, 6) for k, v in self.reference.items()},
            "unpublished_cells": dict(self.unpublished),
            "residents_beyond": float(self.cells["residents_beyond"].sum()),
            "priority_total": float(self.cells["priority_total"].sum()),
        }  # fmt: skip


def gap_minutes(minutes: np.ndarray, threshold: float, cap: float) -> np.ndarray:
    """Walking minutes beyond ``threshold``, at most ``cap``; ``cap`` where unreachable.

    Parameters
    ----------
    minutes : ndarray of float
        Minutes to the nearest docking point (``inf`` = none reachable).
    threshold, cap : float
        Minutes.

    Returns
    -------
    ndarray of float
    """
    m = np.asarray(minutes, dtype=float)
    return np.where(np.isfinite(m), np.clip(m - threshold, 0.0, cap), cap)


def priority(analysis: Analysis, spec: NeedSpec | None = None) -> Priority:
    """Need index, gap and priority per resident point and per district.

    Parameters
    ----------
    analysis : Analysis
        With the spec's population group columns.
    spec : NeedSpec, optional
        Default :func:`load_need` ().

    Returns
    -------
    Priority

    Raises
    ------
    InputError
        A column of the spec is not a population group, or its category is not one of
        the run's.
    """
    spec = resolve_need(spec or load_need(), analysis.groups)
    if spec.category not in analysis.categories:
        raise InputError(
            f"need file: category '{spec.category}' is not one of this run's "
            f"({', '.join(analysis.categories)})",
            spec.source,
        )
    res = analysis.residents
    threshold = float(spec.minutes if spec.minutes is not None else min(analysis.minutes))
    cap = spec.gap_cap_minutes
    need, shares, ref = need_per_point(res, spec)
    mins = res[f"minutes_{spec.category}"].to_numpy(float)
    gap = gap_minutes(mins, threshold, cap)
    pop = res["population"].to_numpy(float)
    prio = need * gap
    cells = pd.DataFrame(
        {
            "area": res["pid"].astype(str).to_numpy() if "pid" in res else res.index.astype(str),
            "population": pop,
            "need": need,
            "minutes": np.where(np.isfinite(mins), mins, np.nan),
            "gap_minutes": gap,
            "priority": prio,
            "priority_total": prio * pop,
            "residents_beyond": np.where(gap > 0, pop, 0.0),
        },
        index=res.index,
    )
    for c in shares.columns:
        cells[c] = shares[c].to_numpy()
    cells.insert(0, "rank", _rank(cells))
    districts = _districts(analysis, spec, ref, cells, threshold, cap)
    return Priority(cells, districts, spec, threshold, ref,
                    unpublished=dict(shares.attrs.get("unpublished", {})))  # fmt: skip


def _rank(t: pd.DataFrame) -> np.ndarray:
    """1 = largest ``priority_total`` (ties: larger ``priority``, then input order)."""
    order = np.lexsort((-t["priority"].to_numpy(), -t["priority_total"].to_numpy()))
    rank = np.empty(len(t), dtype=np.int64)
    rank[order] = np.arange(1, len(t) + 1)
    return rank


def _districts(analysis, spec, ref, cells, threshold, cap) -> pd.DataFrame:
    if analysis.districts is None or "district" not in analysis.residents:
        return pd.DataFrame(columns=DISTRICT_COLUMNS)
    res = analysis.residents
    names = list(analysis.districts["district"])
    if analysis.district_members is not None:
        members = analysis.district_members[["resident", "district"]]
    else:
        members = pd.DataFrame(
            {"resident": np.arange(len(res)), "district": res["district"].to_numpy(object)}
        )
    if (res["district"] == OUTSIDE_DISTRICTS).any():
        names.append(OUTSIDE_DISTRICTS)
    pos = members["resident"].to_numpy(np.int64)
    hidden = unpublished_rows(res)
    if hidden:  # a district's share from its published cells only, per indicator
        frame, dspec = _published_counts(res, spec, hidden)
    else:
        frame, dspec = res[list(dict.fromkeys(["population", *spec.columns]))], spec
    counts = frame.iloc[pos].apply(pd.to_numeric, errors="coerce")
    counts = counts.fillna(0.0).set_axis(members["district"].to_numpy(object))
    sums = counts.groupby(level=0, sort=False).sum().reindex(names, fill_value=0.0)
    need, shares, _ = need_index(sums, dspec, reference=ref)
    c = cells.iloc[pos]
    pop = c["population"].to_numpy()
    capped = np.where(np.isnan(c["minutes"].to_numpy()), threshold + cap,
                      np.minimum(c["minutes"].to_numpy(), threshold + cap))  # fmt: skip
    g = pd.DataFrame(
        {
            "district": members["district"].to_numpy(object),
            "population": pop,
            "residents_beyond": c["residents_beyond"].to_numpy(),
            "pm": pop * capped,
            "pg": pop * c["gap_minutes"].to_numpy(),
            "priority_total": c["priority_total"].to_numpy(),
        }
    )
    agg = g.groupby("district", sort=False).sum().reindex(names, fill_value=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per = agg["population"].to_numpy()
        out = pd.DataFrame(
            {
                "district": names,
                "population": per,
                "residents_beyond": agg["residents_beyond"].to_numpy(),
                "need": need,
                "minutes": np.where(per > 0, agg["pm"].to_numpy() / per, np.nan),
                "gap_minutes": np.where(per > 0, agg["pg"].to_numpy() / per, np.nan),
                "priority": np.where(per > 0, agg["priority_total"].to_numpy() / per, np.nan),
                "priority_total": agg["priority_total"].to_numpy(),
            }
        )
    for col in shares.columns:
        out[col] = shares[col].to_numpy()
    out.insert(0, "rank", _rank(out.fillna({"priority": 0.0})))
    return out.sort_values("rank", kind="stable").reset_index(drop=True)


def _published_counts(
    res: pd.DataFrame, spec: NeedSpec, hidden: dict[str, np.ndarray]
) -> tuple[pd.DataFrame, NeedSpec]:
    """Per indicator its numerator and denominator per row, 0 where unpublished.

    Returns the frame (columns ``_num_<k>``, ``_den_<k>``) and the spec reading them, so
    that summing rows (a district) adds only the cells where the indicator is published.
    """
    data, inds = {}, []
    for ind in spec.indicators:
        h = _hidden(ind, hidden, len(res))
        data[f"_num_{ind.name}"] = np.where(h, 0.0, _sum(res, ind.numerator))
        data[f"_den_{ind.name}"] = np.where(h, 0.0, _sum(res, ind.denominator))
        inds.append(replace(ind, numerator=[f"_num_{ind.name}"],
                            denominator=[f"_den_{ind.name}"]))  # fmt: skip
    return pd.DataFrame(data, index=res.index), replace(spec, indicators=inds)


def priority_weight(analysis: Analysis, spec: NeedSpec | None = None) -> np.ndarray:
    """Per resident point ``priority_total`` (need × gap × persons), the weight of
    ``rank --weight priority``.

    Parameters
    ----------
    analysis : Analysis
    spec : NeedSpec, optional

    Returns
    -------
    ndarray of float
        Need-weighted person-minutes per resident point (row order of ``residents``).
    """
    return priority(analysis, spec).cells["priority_total"].to_numpy(float)

"""Independent checks of the coverage tables' district and note columns (issue 18, mutation testing).

The district table is recomputed by hand from each resident's district name, both for the
one-district-per-resident fallback (``members`` not given, as a caller other than
``analyze`` uses it) and for overlapping districts (``members``); every ordinary row's note
is empty and only the rows of a category without a site carry the no-site note.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from accessibility.core.coverage import (
    NO_SITE_NOTE,
    SUMMARY_COLUMNS,
    summary,
    summary_districts,
    summary_groups,
)

# Eight resident points: persons as powers of two, so every covered subset has its own sum.
WEIGHT = 2.0 ** np.arange(8)
MINUTES = {
    "all": np.array([1.0, 4.0, 6.0, np.inf, 2.0, 11.0, 5.0, 9.0]),
    "library": np.array([3.0, 4.0, np.inf, np.inf, 7.0, 12.0, 5.0, 10.0]),
}
DISTRICT = np.array(["Nord", "Süd", "Nord", "Ost", "Süd", "Nord", "Süd", "Ost"])
THRESHOLDS = [5, 10]


def _by_hand(name: str, idx: np.ndarray, no_site=()) -> list[dict]:
    """The district's rows recomputed from its residents (lower weighted median)."""
    rows = []
    w = WEIGHT[idx]
    for cat, mins in MINUTES.items():
        m = mins[idx]
        order = np.argsort(m)
        cum = np.cumsum(w[order])
        med = float(m[order][np.searchsorted(cum, cum[-1] / 2)]) if w.sum() > 0 else np.nan
        for t in THRESHOLDS:
            cov = float(w[m <= t].sum())
            site = cat not in no_site
            rows.append({
                "district": name, "category": cat, "minutes": t, "population": float(w.sum()),
                "population_covered": cov if site else 0.0,
                "share_covered": cov / w.sum() if site and w.sum() > 0 else np.nan,
                "median_minutes": med if site else np.nan,
                "note": "" if site else NO_SITE_NOTE,
            })  # fmt: skip
    return rows


def test_summary_districts_one_district_per_resident_recomputed():
    """Without ``members`` every resident counts in its own district only; empty districts stay."""
    names = ["Ost", "Nord", "West", "Süd"]  # output order; West has nobody
    got = summary_districts(DISTRICT, names, WEIGHT, MINUTES, THRESHOLDS)
    want = pd.DataFrame(
        [r for n in names for r in _by_hand(n, np.flatnonzero(n == DISTRICT))],
        columns=["district", *SUMMARY_COLUMNS],
    )
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert got.loc[got["district"] == "West", "population"].eq(0).all()
    # the district names may come as a plain list of str too
    again = summary_districts(list(DISTRICT), names, WEIGHT, MINUTES, THRESHOLDS)
    pd.testing.assert_frame_equal(again, got)
    # a category without any site: the note, no share and no median, in every district
    nosite = summary_districts(DISTRICT, names, WEIGHT, MINUTES, THRESHOLDS, no_site={"library"})
    want = pd.DataFrame(
        [r for n in names for r in _by_hand(n, np.flatnonzero(n == DISTRICT), {"library"})],
        columns=["district", *SUMMARY_COLUMNS],
    )
    pd.testing.assert_frame_equal(nosite, want, check_dtype=False)


def test_summary_districts_overlapping_members_recomputed():
    """With ``members`` a resident counts in every district listed for it."""
    members = pd.DataFrame(
        {"resident": [0, 1, 2, 2, 5, 6, 7], "district": ["A", "A", "A", "B", "B", "B", "B"]}
    )
    got = summary_districts(DISTRICT, ["B", "A"], WEIGHT, MINUTES, THRESHOLDS, members=members)
    want = pd.DataFrame(
        _by_hand("B", np.array([2, 5, 6, 7])) + _by_hand("A", np.array([0, 1, 2])),
        columns=["district", *SUMMARY_COLUMNS],
    )
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_ordinary_rows_have_an_empty_note():
    """Rows of categories with a site have an empty note in every table; no-site rows the note."""
    s = summary(WEIGHT, MINUTES, THRESHOLDS, no_site={"library"})
    assert s.loc[s["category"] == "all", "note"].tolist() == [""] * len(THRESHOLDS)
    assert s.loc[s["category"] == "library", "note"].tolist() == [NO_SITE_NOTE] * len(THRESHOLDS)
    g = summary_groups(pd.DataFrame({"a": WEIGHT, "b": WEIGHT[::-1]}), MINUTES, THRESHOLDS)
    assert g["note"].tolist() == [""] * len(g)
    # the covered persons of the 5-minute row of 'all', by hand: points 0, 1, 4, 6
    assert s.loc[(s["category"] == "all") & (s["minutes"] == 5), "population_covered"].item() == (
        1 + 2 + 16 + 64
    )

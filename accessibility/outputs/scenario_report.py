"""``report.html`` of a scenario: coverage before and after the changes, on one page.

For the council meeting: the gain in residents within each threshold, tables per
category, district and population group (before, after, change), the before/after
curve of the share covered, the changed docking points, the before/after map
(``map.html`` next to it) and the method. Built from a
:class:`accessibility.scenarios.ScenarioResult`, so its figures are the ones in
``scenario_summary*.csv``. Labels in German or English like :mod:`accessibility.report`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .._io import write_text
from ..planning.scenario import ScenarioResult
from .report import (
    _e,
    _table,
    category_label,
    html_page,
    method_section,
    share_chart,
    share_curve,
)

_T = {
    "en": {
        "title": "{name}: before and after", "headline": "What the changes bring",
        "kpi": "residents within {m:g} min", "by_cat": "Residents covered before and after, per category",
        "districts": "Districts (all categories)", "groups": "Population groups (all categories)",
        "curve": "Share of residents within x walking minutes, before (dashed) and after (solid)",
        "x": "walking minutes (door to door)", "y": "share of residents",
        "sites": "Changed docking points", "no_sites": "none", "map": "Map",
        "open_map": "Open the before/after map (map.html)", "plain": "plain map (scenario_map.html)",
        "after_report": "full report of the state after the changes (after/report.html)",
        "category": "category", "minutes": "minutes", "population": "residents",
        "before": "before", "after": "after", "gain": "change", "district": "district",
        "group": "group", "change": "change", "id": "id", "name": "name",
        "added": "added", "removed": "closed", "moved": "moved", "recategorised": "recategorised",
    },
    "de": {
        "title": "{name}: vorher und nachher", "headline": "Was die Änderungen bringen",
        "kpi": "Einwohner innerhalb {m:g} min", "by_cat": "Versorgte Einwohner vorher und nachher, je Kategorie",
        "districts": "Stadtteile (alle Kategorien)", "groups": "Bevölkerungsgruppen (alle Kategorien)",
        "curve": "Anteil der Einwohner innerhalb x Gehminuten, vorher (gestrichelt) und nachher",
        "x": "Gehminuten (Tür zu Tür)", "y": "Anteil der Einwohner",
        "sites": "Geänderte Andockstellen", "no_sites": "keine", "map": "Karte",
        "open_map": "Vorher-nachher-Karte öffnen (map.html)", "plain": "einfache Karte (scenario_map.html)",
        "after_report": "vollständiger Bericht des Zustands nach den Änderungen (after/report.html)",
        "category": "Kategorie", "minutes": "Minuten", "population": "Einwohner",
        "before": "vorher", "after": "nachher", "gain": "Veränderung", "district": "Stadtteil",
        "group": "Gruppe", "change": "Änderung", "id": "Kennung", "name": "Name",
        "added": "neu", "removed": "geschlossen", "moved": "verlegt", "recategorised": "umkategorisiert",
    },
}  # fmt: skip


def write_scenario_report(
    result: ScenarioResult, path: str | Path, record: dict, lang: str = "de", title: str = ""
) -> Path:
    """Write the scenario's ``report.html``.

    Parameters
    ----------
    result : ScenarioResult
    path : path
        Output HTML file; ``map.html``, ``scenario_map.html`` and ``after/report.html``
        are linked relative to it.
    record : dict
        Run record of the state after the changes (``after/run.json``): method, data
        vintage and attributions.
    lang : {"de", "en"}
    title : str
        Page title (escaped); default "<scenario>: before and after".
    """
    t = _T.get(lang, _T["en"])
    title = title or t["title"].format(name=result.name)

    def label(c: str) -> str:
        return category_label(record, c, lang)

    summary = result.summary()
    s_all = summary[summary["category"] == "all"]
    kpis = [
        f'<div class="kpi"><b>{r.gain:+,.0f}</b>{_e(t["kpi"].format(m=r.minutes))} '
        f"({r.share_before:.1%} → {r.share_after:.1%})</div>"
        for r in s_all.itertuples()
    ]
    body = [
        f"<h1>{_e(title)}</h1>",
        f"<h2>{_e(t['headline'])}</h2>", "".join(kpis),
        f"<h2>{_e(t['by_cat'])}</h2>", _before_after(summary, None, t, label),
        f"<h3>{_e(t['curve'])}</h3>", _curve_chart(result, t, label),
    ]  # fmt: skip
    for key, table in (
        ("district", result.summary_districts()),
        ("group", result.summary_groups()),
    ):
        if not table.empty:
            body += [f"<h2>{_e(t[key + 's'])}</h2>",
                     _before_after(table[table["category"] == "all"], key, t, label)]  # fmt: skip
    sites = _sites_table(result, t, label)
    body += [f"<h2>{_e(t['sites'])}</h2>", sites or f"<p>{_e(t['no_sites'])}</p>"]
    body += [
        f"<h2>{_e(t['map'])}</h2>",
        f'<p><a href="map.html">{_e(t["open_map"])}</a> · <a href="scenario_map.html">'
        f'{_e(t["plain"])}</a> · <a href="after/report.html">{_e(t["after_report"])}</a></p>'
        '<iframe src="map.html" title="map"></iframe>',
        *method_section(record, result.before.rejects.frame(), lang),
    ]  # fmt: skip
    return write_text(html_page(title, body, lang), path)


def _before_after(df: pd.DataFrame, key: str | None, t: dict, label) -> str:
    """Rows (key,) category (``label(id)`` shown), minutes; residents, before, after
    ("n (x %)") and change."""
    if df.empty:
        return ""
    cols = {
        **({key: t[key]} if key else {}),
        "category": t["category"],
        "minutes": t["minutes"],
    }
    out = df[list(cols)].rename(columns=cols)
    out[t["category"]] = df["category"].astype(str).map(label)
    out[t["minutes"]] = df["minutes"].map("{:g}".format)
    out[t["population"]] = df["population"].map("{:,.0f}".format)
    for k in ("before", "after"):
        out[t[k]] = [f"{c:,.0f} ({s:.1%})" for c, s in
                     zip(df[f"population_covered_{k}"], df[f"share_{k}"], strict=True)]  # fmt: skip
    out[t["gain"]] = df["gain"].map("{:+,.0f}".format)
    return _table(out)


def _sites_table(result: ScenarioResult, t: dict, label) -> str:
    sites = result.site_layer()
    sites = sites[sites["change"].astype(str) != "unchanged"]
    if sites.empty:
        return ""
    out = pd.DataFrame(
        {
            t["change"]: [t.get(c, c) for c in sites["change"].astype(str)],
            t["id"]: sites["site_id"].astype(str),
            t["name"]: sites["name"].astype(str),
            t["category"]: sites["category"].astype(str).map(label),
        }
    )
    return _table(out)


def _curve_chart(result: ScenarioResult, t: dict, label) -> str:
    """Share covered vs minutes, before (dashed) and after (solid), for ``all`` and every
    category whose coverage changes."""
    top = max(result.minutes)
    cats = result.before.categories
    before = share_curve(result.before.residents, cats, top)
    after = share_curve(result.after.residents, cats, top)
    shown = ["all"] + [
        c for c in cats if c != "all" and c in before and not np.allclose(before[c], after[c])
    ]
    lines = []
    for i, c in enumerate(shown):
        kw = {"color": "black" if c == "all" else f"C{i - 1}", "lw": 2.5 if c == "all" else 1.3}
        lines += [(before["minutes"], before[c], {**kw, "ls": "--"}),
                  (after["minutes"], after[c], {**kw, "label": label(c)})]  # fmt: skip
    return share_chart(lines, result.minutes, t)

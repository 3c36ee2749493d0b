"""``report.html`` of a scenario: coverage before and after the changes, on one page.

For the council meeting: the gain in residents within each threshold, tables per
category, district and population group (before, after, change), the before/after
curve of the share covered, the changed docking points, the before/after map (inlined,
so the page works alone) and the method. Built from a
:class:`accessibility.planning.scenario.ScenarioResult`, so its figures are the ones in
``scenario_summary*.csv``. Labels in German or English like :mod:`accessibility.outputs.report`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .._io import write_text
from ..planning.scenario import ScenarioResult
from . import formats as fm
from ._leaflet import esc
from .folder import site_reach
from .i18n import born_abroad, category_label, group_label, group_labels, labels
from .report import (
    html_page,
    html_table,
    map_frame,
    method_section,
    share_chart,
    share_curve,
    site_table,
    sites_section,
)
from .style import category_colours


def write_scenario_report(
    result: ScenarioResult,
    path: str | Path,
    record: dict,
    lang: str = "de",
    title: str = "",
    map_html: str | None = None,
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
    map_html : str, optional
        The before/after map page to inline; default the ``map.html`` beside ``path``
        (if any).

    Returns
    -------
    Path
        The written HTML file.
    """
    t = labels("scenario_report", lang)
    title = title or t["title"].format(name=result.name)

    def label(c: str) -> str:
        return category_label(record, c, lang)

    summary = result.summary()
    s_all = summary[summary["category"] == "all"]
    kpis = [
        f'<div class="kpi"><b>{esc(fm.number(r.gain, lang, sign=True))}</b>'
        f"{esc(t['kpi'].format(m=fm.decimal(r.minutes, lang)))} "
        f"({esc(fm.percent(r.share_before, lang))} → {esc(fm.percent(r.share_after, lang))})</div>"
        for r in s_all.itertuples()
    ]
    glabels = group_labels()
    keys = {"district": str, "group": lambda g: group_label(g, lang, glabels)}
    groups = result.summary_groups()
    abroad = born_abroad(dict.fromkeys(groups["group"].astype(str)), glabels) if len(groups) else []
    if abroad:
        part = groups[(groups["category"] == "all") & groups["group"].astype(str).isin(abroad)]
        cols = ["population", "population_covered_before", "population_covered_after", "gain"]
        by_m = part.groupby("minutes")[cols].sum()
        kpis.append(f"<h3>{esc(t['born_abroad'])}</h3>")
        for mm, r in by_m.iterrows():
            pop = r["population"]
            before, after = (r[f"population_covered_{k}"] / pop if pop else None
                             for k in ("before", "after"))  # fmt: skip
            kpis.append(
                f'<div class="kpi"><b>{esc(fm.number(r["gain"], lang, sign=True))}</b>'
                f"{esc(t['kpi_abroad'].format(m=fm.decimal(mm, lang)))} "
                f"({esc(fm.percent(before, lang))} → {esc(fm.percent(after, lang))})</div>"
            )
    body = [
        f"<h1>{esc(title)}</h1>",
        f"<h2>{esc(t['headline'])}</h2>", "".join(kpis),
        f"<h2>{esc(t['by_cat'])}</h2>", _before_after(summary, None, t, label, lang),
        f"<h3>{esc(t['curve'])}</h3>", _curve_chart(result, t, label, lang),
    ]  # fmt: skip
    for key, table in (
        ("district", result.summary_districts()),
        ("group", result.summary_groups()),
    ):
        if not table.empty:
            body += [f"<h2>{esc(t[key + 's'])}</h2>",
                     _before_after(table[table["category"] == "all"], key, t, label, lang,
                                   keys[key])]  # fmt: skip
    sites = _sites_table(result, t, label)
    body += [f"<h2>{esc(t['sites'])}</h2>", sites or f"<p>{esc(t['no_sites'])}</p>"]
    minutes = sorted(result.minutes)
    after = site_table(result.after.sites, site_reach(result.after), minutes)
    body += sites_section(after, minutes, t["sites_after"], label, lang)
    beside = Path(path).parent / "map.html"
    if map_html is None and beside.exists():
        map_html = beside.read_text(encoding="utf-8")
    body += [
        f"<h2>{esc(t['map'])}</h2>",
        map_frame(map_html, t["map"]) if map_html else "",
        f'<p class="note">{esc(t["files"])}</p>',
        *method_section(record, result.before.rejects.frame(), lang),
    ]  # fmt: skip
    return write_text(html_page(title, body, lang), path)


def _before_after(df: pd.DataFrame, key: str | None, t: dict, label, lang: str,
                  key_label=str) -> str:  # fmt: skip
    """Rows (key,) category (``label(id)`` shown), minutes; residents, before, after
    ("n (x %)") and change, numbers in ``lang``."""
    if df.empty:
        return ""
    cols = {
        **({key: t[key]} if key else {}),
        "category": t["category"],
        "minutes": t["minutes"],
    }
    out = df[list(cols)].rename(columns=cols)
    if key:
        out[t[key]] = df[key].astype(str).map(key_label)
    out[t["category"]] = df["category"].astype(str).map(label)
    out[t["minutes"]] = df["minutes"].map(lambda m: fm.decimal(m, lang))
    out[t["population"]] = df["population"].map(lambda v: fm.number(v, lang))
    for k in ("before", "after"):
        out[t[k]] = [fm.count_share(c, s, lang) for c, s in
                     zip(df[f"population_covered_{k}"], df[f"share_{k}"], strict=True)]  # fmt: skip
    out[t["gain"]] = df["gain"].map(lambda v: fm.number(v, lang, sign=True))
    return html_table(out)


def _sites_table(result: ScenarioResult, t: dict, label) -> str:
    sites = result.site_layer()
    sites = sites[sites["change"].astype(str) != "unchanged"]
    if sites.empty:
        return ""
    out = pd.DataFrame(
        {
            t["change"]: [t.get(c, c) for c in sites["change"].astype(str)],
            t["id"]: sites["site_id"].astype(str),
            t["name"]: sites["name"].astype(str),  # proper names, as given
            t["category"]: sites["category"].astype(str).map(label),
        }
    )
    return html_table(out)


def _curve_chart(result: ScenarioResult, t: dict, label, lang: str) -> str:
    """Share covered vs minutes, before (dashed) and after (solid), for ``all`` and every
    category whose coverage changes."""
    top = max(result.minutes)
    cats = result.before.categories
    before = share_curve(result.before.residents, cats, top)
    after = share_curve(result.after.residents, cats, top)
    shown = ["all"] + [
        c for c in cats if c != "all" and c in before and not np.allclose(before[c], after[c])
    ]
    colours = category_colours(cats)  # the maps' colours
    lines = []
    for c in shown:
        kw = {"color": colours.get(c), "lw": 2.5 if c == "all" else 1.3}
        lines += [(before["minutes"], before[c], {**kw, "ls": "--"}),
                  (after["minutes"], after[c], {**kw, "label": label(c)})]  # fmt: skip
    return share_chart(lines, result.minutes, t, lang)

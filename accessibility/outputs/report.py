"""``report.html``: one self-contained page with headline figures, tables, charts and method.

Charts are matplotlib PNGs embedded as ``data:`` URIs; tables are HTML-escaped; the
map is inlined (an ``<iframe srcdoc>`` holding the whole map page, Leaflet included),
so the file alone, mailed or copied into an empty folder, shows everything and needs a
network only for the background tiles. Labels, numbers and dates in German or English
(:mod:`accessibility.outputs.formats`): German is the default for German data (a
network in EPSG:25832 or Zensus population input), English otherwise.
"""

from __future__ import annotations

import base64
import datetime
import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import write_text
from ..core.analysis import metres_per_minute
from ..core.isochrones import CORRIDOR_M
from . import formats as fm
from ._leaflet import esc
from .folder import OutputData
from .i18n import (
    born_abroad,
    category_label,
    group_label,
    group_labels,
    labels,
    translate,
    vintage_text,
)
from .style import category_colours
from .supply_report import supply_section

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f3f3f3}
td.num,th.num{text-align:right}
.kpi{display:inline-block;margin:0 1.5em 1em 0}.kpi b{display:block;font-size:1.6em}
img.chart{max-width:100%;height:auto}iframe{width:100%;height:640px;border:1px solid #ccc}
p.note{color:#555;font-size:.9em}
"""


def chart_img(fig) -> str:
    """A matplotlib figure as an inline ``<img>`` (base64 PNG, so the page stays one file);
    the figure is closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img class="chart" alt="chart" src="data:image/png;base64,{data}">'


def coverage_curve(data: OutputData) -> pd.DataFrame:
    """Share of residents within x minutes (x every 0.25 min up to 1.5 × the largest threshold).

    Returns a frame with ``minutes`` and one share column (0–1) per category.

    Parameters
    ----------
    data : OutputData
        A run's outputs (residents with ``population`` and ``minutes_<category>``).

    Returns
    -------
    DataFrame
        ``minutes`` then one share column (fraction of persons, 0–1) per category.
    """
    return share_curve(data.residents, data.categories, max(data.minutes or [15.0]))


def share_curve(residents: pd.DataFrame, categories, top: float) -> pd.DataFrame:
    """:func:`coverage_curve` of resident rows with ``population`` and ``minutes_<category>``.

    ``x`` runs every 0.25 min from 0 to 1.5 × ``top`` (minutes); categories without a
    ``minutes_<category>`` column are left out.

    Parameters
    ----------
    residents : DataFrame
        Resident rows with ``population`` (persons) and ``minutes_<category>``
        (walking minutes; non-finite = unreachable).
    categories : iterable of str
        Categories to include.
    top : float
        Largest threshold in minutes.

    Returns
    -------
    DataFrame
        ``minutes`` then the share of persons (0–1) within that many minutes per
        category (0 everywhere when the population is 0).
    """
    x = np.arange(0.0, 1.5 * top + 1e-9, 0.25)
    pop = residents["population"].to_numpy(float)
    total = pop.sum()
    out = {"minutes": x}
    for c in categories:
        col = f"minutes_{c}"
        if col not in residents:
            continue
        mins = residents[col].to_numpy(float)
        mins = np.where(np.isfinite(mins), mins, np.inf)
        order = np.argsort(mins, kind="stable")
        cum = np.concatenate([[0.0], np.cumsum(pop[order])])
        k = np.searchsorted(mins[order], x, side="right")
        out[c] = cum[k] / total if total > 0 else np.zeros_like(x)
    return pd.DataFrame(out)


def _curve_chart(data: OutputData, t: dict, label, lang: str) -> str:
    cur = coverage_curve(data)
    colours = category_colours(data.categories)  # the map's colours
    lines = [(cur["minutes"], cur[c], {"lw": 2.5 if c == "all" else 1.3,
              "label": label(c), "color": colours.get(c)})
             for c in cur.columns[1:]]  # fmt: skip
    return share_chart(lines, data.minutes, t, lang)


def share_chart(lines: list[tuple], minutes, t: dict, lang: str = "en") -> str:
    """``<img>`` (PNG) of share-covered curves: ``(x, y, plot keyword arguments)`` per line,
    thresholds (minutes) as dotted verticals, axes labelled with ``t["x"]`` and ``t["y"]``.

    Parameters
    ----------
    lines : list of tuple
        ``(x, y, kwargs)`` per curve: minutes, shares (0–1), ``Axes.plot`` keywords.
    minutes : iterable of float
        Thresholds in minutes.
    t : dict
        Labels with ``x`` and ``y`` (see :func:`accessibility.outputs.i18n.labels`).
    lang : str
        Language of the axis numbers (``de``: ``50 %``, decimal comma).

    Returns
    -------
    str
        An ``<img>`` tag with the PNG inlined as a data URI.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    for x, y, kw in lines:
        ax.plot(x, y, **kw)
    for mm in minutes:
        ax.axvline(mm, color="#999", lw=0.8, ls=":")
    ax.set_xlabel(t["x"])
    ax.set_ylabel(t["y"])
    ax.set_ylim(0, 1)
    _axis_formats(matplotlib, ax.xaxis, ax.yaxis, lang)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return chart_img(fig)


def _axis_formats(matplotlib, minutes_axis, share_axis, lang: str) -> None:
    """Tick labels in ``lang``: minutes as decimals, shares (0–1) as percentages."""
    fmt_ = matplotlib.ticker.FuncFormatter
    if minutes_axis is not None:
        minutes_axis.set_major_formatter(fmt_(lambda v, _p: fm.decimal(v, lang)))
    share_axis.set_major_formatter(fmt_(lambda v, _p: fm.percent(v, lang, 0)))


def _district_chart(data: OutputData, t: dict, lang: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sd = data.summary_districts
    if sd.empty:
        return ""
    sd = sd[sd["category"] == "all"]
    mins = data.minutes
    names = list(dict.fromkeys(sd["district"].astype(str)))
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.35 * len(names) + 1)))
    h = 0.8 / max(1, len(mins))
    y = np.arange(len(names))
    for j, mm in enumerate(mins):
        part = sd[sd["minutes"] == mm].set_index("district")["share_covered"]
        vals = part.reindex(names).to_numpy(float)
        ax.barh(y + j * h, vals, height=h, label=t["within"].format(m=fm.decimal(mm, lang)))
    ax.set_yticks(y + h * (len(mins) - 1) / 2, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    _axis_formats(matplotlib, None, ax.xaxis, lang)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="x")
    return chart_img(fig)


#: A table cell that is a number, a percentage or "n (x %)" in either language.
_NUMERIC_CELL = r"[-+–\d,.]+(?:\u00a0?%)?(?: \([\d.,]+\u00a0?%\))?"


def html_table(df: pd.DataFrame, raw: frozenset[str] = frozenset()) -> str:
    """HTML table (escaped); columns of numbers or "n (x %)" cells right-aligned, text left.

    Parameters
    ----------
    df : DataFrame or None
        The table; missing values are shown as "–". Format numbers beforehand with
        :mod:`accessibility.outputs.formats` (the report's language).
    raw : set of str
        Columns whose cells are HTML already (escaped by the caller, e.g. links).

    Returns
    -------
    str
        The ``<table>`` HTML, or ``""`` for None or an empty frame.
    """
    if df is None or df.empty:
        return ""
    cells = df.astype(object).where(df.notna(), fm.MISSING).astype(str)
    num = [bool(cells[c].str.fullmatch(_NUMERIC_CELL).all()) for c in df.columns]
    cls = ["" if not n else ' class="num"' for n in num]
    head = "".join(f"<th{k}>{esc(c)}</th>" for c, k in zip(df.columns, cls, strict=True))
    keep = [c in raw for c in df.columns]
    rows = "".join(
        "<tr>" + "".join(f"<td{k}>{v if h else esc(v)}</td>"
                         for v, k, h in zip(r, cls, keep, strict=True)) + "</tr>"
        for r in cells.itertuples(index=False)
    )  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _summary_table(df: pd.DataFrame, key: str | None, t: dict, label, lang: str,
                   key_label=str) -> str:  # fmt: skip
    """Rows: (key,) category (``label(id)`` shown); columns: thresholds with 'covered (share)'.

    ``key_label`` maps the key's values (districts, groups) to the text shown."""
    if df is None or df.empty:
        return ""
    d = df.copy()
    d["category"] = d["category"].astype(str).map(label)
    if key:
        d[key] = d[key].astype(str).map(key_label)
    notes = (
        d["note"].astype(object).fillna("").astype(str)
        if "note" in d
        else pd.Series("", index=d.index)
    )
    d["cell"] = [
        t.get("no_site", n) if n else fm.count_share(c, s, lang)
        for c, s, n in zip(d["population_covered"], d["share_covered"], notes, strict=True)
    ]
    d["col"] = d["minutes"].map(lambda mm: fm.minutes_label(mm, lang))
    idx = ([key] if key else []) + ["category"]
    pop = d.groupby(idx, sort=False)["population"].first()
    wide = d.pivot_table(index=idx, columns="col", values="cell", aggfunc="first", sort=False)
    wide = wide[[fm.minutes_label(mm, lang) for mm in sorted(set(d["minutes"]))]]
    wide.columns.name = None
    wide.insert(0, t["population"], pop.reindex(wide.index).map(lambda v: fm.number(v, lang)))
    wide = wide.reset_index().rename(
        columns={"category": t["category"], key: t.get(key, key)}
        if key
        else {"category": t["category"]}
    )
    return html_table(wide)


def _proper(text: object) -> str:
    """A proper name (site, place, file) as HTML not to be translated (``translate="no"``)."""
    return f'<span translate="no">{esc(text)}</span>'


def _osm_url(site_id: str) -> str:
    """``osm:node/123`` → ``https://www.openstreetmap.org/node/123`` ("" for other ids)."""
    kind, _, num = str(site_id).removeprefix("osm:").partition("/")
    if str(site_id).startswith("osm:") and kind in {"node", "way", "relation"} and num.isdigit():
        return f"https://www.openstreetmap.org/{kind}/{num}"
    return ""


def _address(row) -> str:
    """The site's address from its ``address`` column or OSM ``addr:*`` tags ("" if none)."""
    own = getattr(row, "address", None)
    if isinstance(own, str) and own.strip():
        return own.strip()
    try:
        tags = json.loads(getattr(row, "osm_tags", None) or "{}")
    except (TypeError, ValueError):
        tags = {}
    if not isinstance(tags, dict):
        return ""
    street = " ".join(str(tags[k]) for k in ("addr:street", "addr:housenumber") if tags.get(k))
    city = " ".join(str(tags[k]) for k in ("addr:postcode", "addr:city") if tags.get(k))
    return ", ".join(x for x in (street, city) if x)


def site_list(data: OutputData) -> pd.DataFrame:
    """The docking points used, as ``sites.csv`` holds them: id, name, category, address,
    OSM link and the residents within each threshold of each site.

    Parameters
    ----------
    data : OutputData
        A run's outputs; ``data.site_reach`` holds ``site_id`` and ``reach_<m>`` (persons
        within ``m`` walking minutes of the site, door to door).

    Returns
    -------
    DataFrame
        ``site_id, name, category, address, osm_url`` and ``residents_within_<m>_min``
        per threshold (persons; empty where not computed).
    """
    return site_table(data.sites, data.site_reach, data.minutes)


def site_table(sites, reach: pd.DataFrame | None, minutes) -> pd.DataFrame:
    """:func:`site_list` of a sites frame and its reach table.

    Parameters
    ----------
    sites : DataFrame
        ``site_id, name, category`` (and ``address`` or ``osm_tags`` where known).
    reach : DataFrame or None
        ``site_id`` and ``reach_<m>`` (persons within ``m`` minutes), e.g. from
        :func:`accessibility.outputs.folder.site_reach`.
    minutes : iterable of float
        Thresholds in minutes.

    Returns
    -------
    DataFrame
        As :func:`site_list`.
    """
    s = sites
    out = pd.DataFrame(
        {
            "site_id": s["site_id"].astype(str).to_numpy(),
            "name": s["name"].astype(str).to_numpy(),
            "category": s["category"].astype(str).to_numpy(),
            "address": [_address(r) for r in s.itertuples(index=False)],
            "osm_url": [_osm_url(x) for x in s["site_id"]],
        }
    )
    for mm in minutes:
        col = f"reach_{mm:g}"
        values = (
            reach.set_index(reach["site_id"].astype(str))[col]
            if reach is not None and col in reach
            else pd.Series(dtype=float)
        )
        out[f"residents_within_{mm:g}_min"] = out["site_id"].map(values).to_numpy(float)
    return out


def sites_section(table: pd.DataFrame, minutes, heading: str, label, lang: str) -> list[str]:
    """HTML of a list of docking points (a :func:`site_table`): name, category, address or
    OSM link, residents within each threshold (per category, largest reach first).

    Parameters
    ----------
    table : DataFrame
        From :func:`site_table`.
    minutes : list of float
        Thresholds in minutes.
    heading : str
        The section's heading.
    label : callable
        Category id → label in ``lang``.
    lang : str
        Language code (``de``, ``en``).

    Returns
    -------
    list of str
        HTML parts (text escaped; names marked ``translate="no"``).
    """
    t = labels("report", lang)
    sl = table
    if sl.empty:
        return []
    first = f"residents_within_{minutes[0]:g}_min" if minutes else None
    if first and first in sl:
        sl = sl.sort_values(["category", first], ascending=[True, False], kind="stable")
    unnamed = sl["name"].str.fullmatch(r".* \(osm:(node|way|relation)/\d+\)")
    where = []
    for r in sl.itertuples(index=False):
        link = (f'<a href="{esc(r.osm_url)}" translate="no">{esc(r.osm_url.split(".org/")[-1])}</a>'
                if r.osm_url else "")  # fmt: skip
        where.append(" · ".join(x for x in (_proper(r.address) if r.address else "", link) if x))
    out = pd.DataFrame(
        {
            t["name"]: [
                esc(t["unnamed"]) if u else _proper(n)
                for n, u in zip(sl["name"], unnamed, strict=True)
            ],  # fmt: skip
            t["category"]: [esc(label(c)) for c in sl["category"]],
            t["address"]: where,
        }
    )
    for mm in minutes:
        out[t["residents_within"].format(m=fm.decimal(mm, lang))] = [
            fm.number(v, lang) for v in sl[f"residents_within_{mm:g}_min"]
        ]
    raw = frozenset([t["name"], t["category"], t["address"]])
    return [
        f"<h2>{esc(heading)}</h2>",
        html_table(out, raw=raw),
        f'<p class="note">{esc(t["sites_note"])}</p>',
    ]


def _born_abroad_kpis(data: OutputData, t: dict, lang: str, table: dict) -> list[str]:
    """Headline figures of the residents born abroad (the label table's ``born_abroad``
    groups added up), when the run has such groups."""
    sg = data.summary_groups
    if sg.empty:
        return []
    groups = born_abroad(dict.fromkeys(sg["group"].astype(str)), table)
    if not groups:
        return []
    part = sg[(sg["category"] == "all") & sg["group"].astype(str).isin(groups)]
    by_m = part.groupby("minutes")[["population", "population_covered"]].sum()
    if by_m.empty:
        return []
    pop = float(by_m["population"].iloc[0])
    total = float(data.residents["population"].sum())
    kpis = [f'<div class="kpi"><b>{esc(fm.number(pop, lang))}</b>'
            f'{esc(t["born_abroad_kpi"].format(share=fm.percent(pop / total if total else None, lang)))}</div>']  # fmt: skip
    for mm, r in by_m.iterrows():
        share = r["population_covered"] / pop if pop else None
        kpis.append(
            f'<div class="kpi"><b>{esc(fm.percent(share, lang))}</b>'
            f"{esc(t['born_abroad_within'].format(m=fm.decimal(mm, lang)))} "
            f"({esc(fm.number(r['population_covered'], lang))})</div>"
        )
    return [f"<h3>{esc(t['born_abroad'])}</h3>", "".join(kpis)]


def map_frame(map_html: str, title: str) -> str:
    """The map page inlined into the report: an ``<iframe srcdoc>`` (escaped), so the report
    needs no ``map.html`` beside it.

    Parameters
    ----------
    map_html : str
        The whole map page (e.g. ``map.html``'s text).
    title : str
        The frame's accessible title.

    Returns
    -------
    str
        The ``<iframe>`` element.
    """
    return (
        f'<iframe srcdoc="{esc(map_html)}" title="{esc(title)}" allowfullscreen '
        'loading="eager"></iframe>'
    )


def _map_html(data: OutputData, title: str, lang: str) -> str:
    """The run's map in ``lang``, drawn now (the ``map.html`` beside may be in another)."""
    from .map import full_map

    with tempfile.TemporaryDirectory(prefix="acc-map-") as d:
        return full_map(data, Path(d) / "map.html", title=title, lang=lang).read_text(
            encoding="utf-8"
        )


def write_report(
    data: OutputData,
    path: str | Path,
    title: str = "",
    lang: str = "de",
    map_html: str | None = None,
    labels_file: str | Path | None = None,
) -> Path:
    """Write ``report.html`` for an output folder's data: one self-contained page.

    Parameters
    ----------
    data : OutputData
        From :func:`accessibility.outputs.folder.load_folder`.
    path : path
        Output HTML file.
    title : str
        Page title (escaped); default a generic title.
    lang : {"de", "en"}
        Language of every label, number and date.
    map_html : str, optional
        The map page to inline (``map.html`` just written in ``lang``); default: the
        map is drawn anew in ``lang``.
    labels_file : path, optional
        Further population group labels (see :func:`accessibility.outputs.i18n.group_labels`).

    Returns
    -------
    Path
        The HTML file written (atomic).
    """
    t = labels("report", lang)
    rec = data.record
    res = data.residents
    glabels = group_labels(labels_file)

    def label(c: str) -> str:
        return category_label(rec, c, lang)

    total = float(res["population"].sum())
    s_all = (
        data.summary[data.summary["category"] == "all"] if not data.summary.empty else data.summary
    )
    kpis = [f'<div class="kpi"><b>{esc(fm.number(total, lang))}</b>{esc(t["residents"])}</div>',
            f'<div class="kpi"><b>{esc(fm.number(len(data.sites), lang))}</b>{esc(t["sites"])}</div>']  # fmt: skip
    for r in s_all.itertuples():
        kpis.append(
            f'<div class="kpi"><b>{esc(fm.percent(r.share_covered, lang))}</b>'
            f"{esc(t['within'].format(m=fm.decimal(r.minutes, lang)))} "
            f"({esc(fm.number(r.population_covered, lang))})</div>"
        )
    mid = data.minutes[len(data.minutes) // 2] if data.minutes else 10.0
    district_chart = _district_chart(data, t, lang)
    title = title or t["title"]
    body = [
        f"<h1>{esc(title)}</h1>",
        f"<h2>{esc(t['headline'])}</h2>", "".join(kpis),
        *_born_abroad_kpis(data, t, lang, glabels),
        f"<h2>{esc(t['by_cat'])}</h2>", _summary_table(data.summary, None, t, label, lang),
        f"<h3>{esc(t['curve'])}</h3>", _curve_chart(data, t, label, lang),
    ]  # fmt: skip
    if not data.summary_districts.empty:
        body += [f"<h2>{esc(t['districts'])}</h2>",
                 _summary_table(data.summary_districts[data.summary_districts["category"] == "all"], "district", t, label, lang),
                 f"<h3>{esc(t['district_chart'].format(m=fm.decimal(mid, lang)))}</h3>", district_chart]  # fmt: skip
    if not data.summary_groups.empty:
        sg = data.summary_groups[data.summary_groups["category"] == "all"]
        body += [f"<h2>{esc(t['groups'])}</h2>",
                 _summary_table(sg, "group", t, label, lang, lambda g: group_label(g, lang, glabels))]  # fmt: skip
    body += priority_section(data, lang)
    body += supply_section(data.supply, rec, lang, html_table, glabels)
    body += sites_section(site_list(data), data.minutes, t["sites_list"], label, lang)
    if map_html is None:
        map_html = _map_html(data, title, lang)
    body += [
        f"<h2>{esc(t['map'])}</h2>",
        map_frame(map_html, t["map"]),
        f'<p class="note">{esc(t["map_note"])}</p>',
        *method_section(rec, data.rejects, lang),
    ]  # fmt: skip
    return write_text(html_page(title, body, lang), path)


def priority_section(data: OutputData, lang: str) -> list[str]:
    """HTML of the section "Where arrival neighbourhoods lack a docking point" (issue 15):
    the formula in words, the 10 cells of highest priority and the districts; [] without
    priority areas.

    Parameters
    ----------
    data : OutputData
        With ``priority`` (cells) and ``priority_districts``.
    lang : {"de", "en"}

    Returns
    -------
    list of str
        HTML fragments.
    """
    p = data.priority
    info = data.record.get("priority") or {}
    if p is None or not len(p) or "threshold_minutes" not in info:
        return []
    t = labels("priority", lang)
    m = float(info["threshold_minutes"])
    names = {i["name"]: i for i in info.get("indicators", [])}
    lab = {n: str(i.get(f"label_{lang}") or i.get("label_en") or n) for n, i in names.items()}
    key = "weight_share" if info.get("indicators_left_out") else "weight"  # renormalised
    ind = ", ".join(f"{lab[n]} {fm.decimal(round(i.get(key, i['weight']), 2), lang)}"
                    for n, i in names.items())  # fmt: skip
    cat = category_label(data.record, str(info.get("category", "all")), lang)
    top = p.sort_values("rank").head(10)
    text = t["text"].format(
        cat=cat, m=fm.decimal(m, lang), cap=fm.decimal(info.get("gap_cap_minutes", 0), lang),
        ind=ind, prior=fm.decimal(info.get("prior_residents", 0), lang),
        top=fm.number(top["population"].sum(), lang),
        beyond=fm.number(info.get("residents_beyond", 0), lang),
    )  # fmt: skip

    def table(df: pd.DataFrame, key: str) -> str:
        d = pd.DataFrame(
            {
                t["rank"]: df["rank"].astype(int).astype(str),
                t[key]: df["area" if key == "area" else "district"].astype(str),
                t["residents"]: [fm.number(x, lang) for x in df["population"]],
                t["need"]: [fm.number(x, lang, 2) for x in df["need"]],
                t["minutes"]: [
                    fm.number(x, lang, 1) if np.isfinite(x) else t["unreachable"]
                    for x in df["minutes"].astype(float)
                ],
                t["priority"]: [fm.number(x, lang, 1) for x in df["priority"]],
                t["priority_total"]: [fm.number(x, lang) for x in df["priority_total"]],
            }
        )
        for n in names:
            col = f"share_{n}"
            if col in df:
                d[lab[n]] = [fm.percent(x, lang, 0) for x in df[col].astype(float)]
        return html_table(d)

    left = info.get("indicators_left_out") or []
    if left:
        gone = ", ".join(
            f"{i.get(f'label_{lang}') or i.get('label_en') or i['name']} "
            f"{fm.decimal(i['weight'], lang)}"
            for i in left
        )
        text += " " + t["left_out"].format(ind=gone)
    body = [f"<h2>{esc(t['title'])}</h2>", f"<p>{esc(text)}</p>",
            f"<h3>{esc(t['top_cells'])}</h3>", table(top, "area")]  # fmt: skip
    d = data.priority_districts
    if d is not None and len(d):
        body += [f"<h3>{esc(t['top_districts'])}</h3>", table(d.sort_values("rank"), "district")]
    return body


def method_section(record: dict, rejects: pd.DataFrame | None, lang: str) -> list[str]:
    """HTML of the report's closing sections: method, data vintage, rejects, attributions.

    Parameters
    ----------
    record : dict
        Run record (``parameters`` with speed in km/h and max access leg in metres,
        ``network``, ``study_area``, ``data_vintage``, ``attribution``).
    rejects : DataFrame or None
        ``rejects.csv`` rows; counted per file and reason (reasons in ``lang`` where
        :func:`accessibility.outputs.i18n.translate` knows them).
    lang : str
        Language code (``en``, ``de``).

    Returns
    -------
    list of str
        HTML parts (text escaped).
    """
    t = labels("report", lang)
    p = record.get("parameters", {})
    speed = float(p.get("speed_kmh", record.get("speed_kmh", 4.8)))
    net = record.get("network", {})
    src = (
        (record.get("inputs", {}).get("network") or {}).get("path")
        or net.get("source")
        or "download"
    )
    method = t["method_text"].format(
        access=fm.decimal(float(p.get("max_access_m", 500.0)), lang),
        speed=fm.decimal(speed, lang), mpm=fm.number(metres_per_minute(speed), lang),
        corr=fm.decimal(CORRIDOR_M, lang),
    )  # fmt: skip
    lines = [
        t["network_text"].format(src=Path(str(src)).name, nodes=fm.number(net.get("nodes", 0), lang),
                                 edges=fm.number(net.get("edges", 0), lang),
                                 km=fm.number(net.get("length_km", 0.0), lang, 1)),
        t["population_text"].format(method=translate(record.get("population_method", ""), lang)),
        study_area_text(record, lang),
        vintage_text(record, lang),
        t["written"].format(date=fm.date(datetime.datetime.now(datetime.UTC).date(), lang)),
    ]  # fmt: skip
    if rejects is not None and not rejects.empty and {"file", "reason"} <= set(rejects.columns):
        rc = rejects.groupby(["file", "reason"], sort=False).size().reset_index(name=t["rows"])
        rc["file"] = rc["file"].map(lambda f: Path(str(f)).name)
        rc["reason"] = rc["reason"].astype(str).map(lambda x: translate(x, lang))
        rc[t["rows"]] = rc[t["rows"]].map(lambda n: fm.number(n, lang))
        rc = rc.rename(columns={"file": t["file"], "reason": t["reason"]})
    else:
        rc = pd.DataFrame()
    return [
        f"<h2>{esc(t['method'])}</h2>", f"<p>{esc(method)}</p>",
        *[f"<p>{esc(x)}</p>" for x in lines if x],
        f"<h3>{esc(t['rejects'])}</h3>", html_table(rc) or f"<p>{esc(t['none'])}</p>",
        f"<h2>{esc(t['data'])}</h2>",
        *[f"<p>{_proper(a)}</p>" for a in record.get("attribution", [])],  # licence texts
    ]  # fmt: skip


def study_area_text(record: dict, lang: str) -> str:
    """Who is counted: the study area and the residents left out (``run.json`` ``study_area``).

    Parameters
    ----------
    record : dict
        Run record; its ``study_area`` holds place/bbox/polygon, resident counts
        (persons, points) and ``buffer_m`` (metres).
    lang : str
        ``de`` for German, anything else for English.

    Returns
    -------
    str
        The text (not escaped), or ``""`` without a study area.
    """
    area = record.get("study_area") or {}
    if "residents_inside" not in area:
        return ""
    what = (
        area.get("place")
        or ("; ".join(fm.decimal(v, lang) for v in area["bbox"]) if area.get("bbox") else "")
        or Path(str((area.get("polygon") or {}).get("path", ""))).name
    )
    buffer_m = area.get("buffer_m")
    inside, outside = (fm.number(area[k], lang) for k in ("residents_inside", "residents_outside"))
    points = fm.number(area["resident_points_outside"], lang)
    if lang == "de":
        text = (
            f"Untersuchungsgebiet: {what}. Gezählt werden die {inside} Einwohner darin; "
            f"{outside} Einwohner ({points} Punkte) außerhalb werden nicht gezählt."
        )
        if buffer_m:
            text += (f" Wegenetz und Standorte reichen {fm.number(buffer_m, lang)} m über die "
                     "Grenze hinaus.")  # fmt: skip
        return text
    text = (
        f"Study area: {what}. The {inside} residents inside are counted; "
        f"{outside} residents ({points} points) outside are not."
    )
    if buffer_m:
        text += (
            f" The walking network and sites reach {fm.number(buffer_m, lang)} m beyond its border."
        )
    return text


def html_page(title: str, body: list[str], lang: str) -> str:
    """A self-contained HTML page (the report's style) around ``body`` (HTML parts).

    Parameters
    ----------
    title : str
        Page title (escaped here).
    body : list of str
        HTML parts, inserted as given (escape their text beforehand).
    lang : str
        The page's ``lang`` attribute.

    Returns
    -------
    str
        The HTML document.
    """
    return (
        f'<!DOCTYPE html><html lang="{esc(lang)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>"
    )

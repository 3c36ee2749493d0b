"""``report.html``: one self-contained page with headline figures, tables, charts and method.

Charts are matplotlib PNGs embedded as ``data:`` URIs; tables are HTML-escaped;
the map is linked and embedded (``map.html`` next to the report). Labels in German
or English: German is the default for German data (a network in EPSG:25832 or
Zensus population input), English otherwise.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import write_text
from ..core.analysis import metres_per_minute
from ..core.isochrones import CORRIDOR_M
from ._leaflet import esc
from .folder import OutputData
from .i18n import category_label, labels, vintage_text
from .supply_report import supply_section

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f3f3f3}
td.num,th.num{text-align:right}
.kpi{display:inline-block;margin:0 1.5em 1em 0}.kpi b{display:block;font-size:1.6em}
img.chart{max-width:100%;height:auto}iframe{width:100%;height:640px;border:1px solid #ccc}
"""


def _png(fig) -> str:
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


def _curve_chart(data: OutputData, t: dict, label) -> str:
    cur = coverage_curve(data)
    lines = [(cur["minutes"], cur[c], {"lw": 2.5 if c == "all" else 1.3,
              "label": label(c), "color": "black" if c == "all" else None})
             for c in cur.columns[1:]]  # fmt: skip
    return share_chart(lines, data.minutes, t)


def share_chart(lines: list[tuple], minutes, t: dict) -> str:
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
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _png(fig)


def _district_chart(data: OutputData, t: dict) -> str:
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
        ax.barh(y + j * h, vals, height=h, label=t["within"].format(m=mm))
    ax.set_yticks(y + h * (len(mins) - 1) / 2, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="x")
    return _png(fig)


def html_table(df: pd.DataFrame) -> str:
    """HTML table (escaped); columns of numbers or "n (x %)" cells right-aligned, text left.

    Parameters
    ----------
    df : DataFrame or None
        The table; missing values are shown as "–".

    Returns
    -------
    str
        The ``<table>`` HTML, or ``""`` for None or an empty frame.
    """
    if df is None or df.empty:
        return ""
    cells = df.astype(object).where(df.notna(), "–").astype(str)
    num = [bool(cells[c].str.fullmatch(r"[-+–\d,.]+( \([\d.,]+%\))?").all()) for c in df.columns]
    cls = ["" if not n else ' class="num"' for n in num]
    head = "".join(f"<th{k}>{esc(c)}</th>" for c, k in zip(df.columns, cls, strict=True))
    rows = "".join(
        "<tr>" + "".join(f"<td{k}>{esc(v)}</td>" for v, k in zip(r, cls, strict=True)) + "</tr>"
        for r in cells.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _summary_table(df: pd.DataFrame, key: str | None, t: dict, label) -> str:
    """Rows: (key,) category (``label(id)`` shown); columns: thresholds with 'covered (share)'."""
    if df is None or df.empty:
        return ""
    d = df.copy()
    d["category"] = d["category"].astype(str).map(label)
    notes = (
        d["note"].astype(object).fillna("").astype(str)
        if "note" in d
        else pd.Series("", index=d.index)
    )
    d["cell"] = [
        t.get("no_site", n) if n else f"{c:,.0f} ({s:.1%})"
        for c, s, n in zip(d["population_covered"], d["share_covered"], notes, strict=True)
    ]
    d["col"] = d["minutes"].map(lambda mm: f"≤ {mm:g} min")
    idx = ([key] if key else []) + ["category"]
    pop = d.groupby(idx, sort=False)["population"].first()
    wide = d.pivot_table(index=idx, columns="col", values="cell", aggfunc="first", sort=False)
    wide = wide[[f"≤ {mm:g} min" for mm in sorted(set(d["minutes"]))]]
    wide.columns.name = None
    wide.insert(0, t["population"], pop.reindex(wide.index).map("{:,.0f}".format))
    wide = wide.reset_index().rename(
        columns={"category": t["category"], key: t.get(key, key)}
        if key
        else {"category": t["category"]}
    )
    return html_table(wide)


def write_report(data: OutputData, path: str | Path, title: str = "", lang: str = "de") -> Path:
    """Write ``report.html`` for an output folder's data.

    Parameters
    ----------
    data : OutputData
        From :func:`accessibility.outputs.folder.load_folder`.
    path : path
        Output HTML file.
    title : str
        Page title (escaped); default a generic title.
    lang : {"de", "en"}

    Returns
    -------
    Path
        The HTML file written (atomic).
    """
    t = labels("report", lang)
    rec = data.record
    res = data.residents

    def label(c: str) -> str:
        return category_label(rec, c, lang)

    total = float(res["population"].sum())
    s_all = (
        data.summary[data.summary["category"] == "all"] if not data.summary.empty else data.summary
    )
    kpis = [f'<div class="kpi"><b>{total:,.0f}</b>{esc(t["residents"])}</div>',
            f'<div class="kpi"><b>{len(data.sites):,}</b>{esc(t["sites"])}</div>']  # fmt: skip
    for r in s_all.itertuples():
        kpis.append(
            f'<div class="kpi"><b>{r.share_covered:.1%}</b>{esc(t["within"].format(m=r.minutes))} '
            f"({r.population_covered:,.0f})</div>"
        )
    mid = data.minutes[len(data.minutes) // 2] if data.minutes else 10.0
    district_chart = _district_chart(data, t)
    body = [
        f"<h1>{esc(title or t['title'])}</h1>",
        f"<h2>{esc(t['headline'])}</h2>", "".join(kpis),
        f"<h2>{esc(t['by_cat'])}</h2>", _summary_table(data.summary, None, t, label),
        f"<h3>{esc(t['curve'])}</h3>", _curve_chart(data, t, label),
    ]  # fmt: skip
    if not data.summary_districts.empty:
        body += [f"<h2>{esc(t['districts'])}</h2>",
                 _summary_table(data.summary_districts[data.summary_districts["category"] == "all"], "district", t, label),
                 f"<h3>{esc(t['district_chart'].format(m=mid))}</h3>", district_chart]  # fmt: skip
    if not data.summary_groups.empty:
        sg = data.summary_groups[data.summary_groups["category"] == "all"]
        body += [f"<h2>{esc(t['groups'])}</h2>", _summary_table(sg, "group", t, label)]
    body += priority_section(data, lang)
    body += supply_section(data.supply, rec, lang, html_table)
    body += [
        f"<h2>{esc(t['map'])}</h2>",
        f'<p><a href="map.html">{esc(t["open_map"])}</a></p><iframe src="map.html" title="map"></iframe>',
        *method_section(rec, data.rejects, lang),
    ]  # fmt: skip
    return write_text(html_page(title or t["title"], body, lang), path)


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
    ind = ", ".join(f"{lab[n]} {i['weight']:g}" for n, i in names.items())
    cat = category_label(data.record, str(info.get("category", "all")), lang)
    top = p.sort_values("rank").head(10)
    text = t["text"].format(
        cat=cat, m=m, cap=float(info.get("gap_cap_minutes", 0)), ind=ind,
        prior=float(info.get("prior_residents", 0)), top=float(top["population"].sum()),
        beyond=float(info.get("residents_beyond", 0)),
    )  # fmt: skip

    def table(df: pd.DataFrame, key: str) -> str:
        d = pd.DataFrame(
            {
                t["rank"]: df["rank"].astype(int).astype(str),
                t[key]: df["area" if key == "area" else "district"].astype(str),
                t["residents"]: df["population"].map("{:,.0f}".format),
                t["need"]: df["need"].map("{:.2f}".format),
                t["minutes"]: [
                    f"{x:.1f}" if np.isfinite(x) else t["unreachable"]
                    for x in df["minutes"].astype(float)
                ],
                t["priority"]: df["priority"].map("{:.1f}".format),
                t["priority_total"]: df["priority_total"].map("{:,.0f}".format),
            }
        )
        for n in names:
            col = f"share_{n}"
            if col in df:
                d[lab[n]] = [
                    "–" if not np.isfinite(x) else f"{x:.0%}" for x in df[col].astype(float)
                ]
        return html_table(d)

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
        ``rejects.csv`` rows; counted per file and reason.
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
        access=float(p.get("max_access_m", 500.0)), speed=speed, mpm=metres_per_minute(speed),
        corr=CORRIDOR_M,
    )  # fmt: skip
    lines = [
        t["network_text"].format(src=Path(str(src)).name, nodes=int(net.get("nodes", 0)),
                                 edges=int(net.get("edges", 0)), km=float(net.get("length_km", 0.0))),
        t["population_text"].format(method=record.get("population_method", "")),
        study_area_text(record, lang),
        vintage_text(record, lang),
    ]  # fmt: skip
    if rejects is not None and not rejects.empty and {"file", "reason"} <= set(rejects.columns):
        rc = rejects.groupby(["file", "reason"], sort=False).size().reset_index(name=t["rows"])
        rc["file"] = rc["file"].map(lambda f: Path(str(f)).name)
        rc = rc.rename(columns={"file": t["file"], "reason": t["reason"]})
    else:
        rc = pd.DataFrame()
    return [
        f"<h2>{esc(t['method'])}</h2>", f"<p>{esc(method)}</p>",
        *[f"<p>{esc(x)}</p>" for x in lines if x],
        f"<h3>{esc(t['rejects'])}</h3>", html_table(rc) or f"<p>{esc(t['none'])}</p>",
        f"<h2>{esc(t['data'])}</h2>",
        *[f"<p>{esc(a)}</p>" for a in record.get("attribution", [])],
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
        or (", ".join(f"{v:g}" for v in area["bbox"]) if area.get("bbox") else "")
        or Path(str((area.get("polygon") or {}).get("path", ""))).name
    )
    buffer_m = area.get("buffer_m")
    if lang == "de":
        text = (
            f"Untersuchungsgebiet: {what}. Gezählt werden die {area['residents_inside']:,.0f} "
            f"Einwohner darin; {area['residents_outside']:,.0f} Einwohner "
            f"({area['resident_points_outside']:,} Punkte) außerhalb werden nicht gezählt."
        )
        if buffer_m:
            text += f" Wegenetz und Standorte reichen {buffer_m:,.0f} m über die Grenze hinaus."
        return text
    text = (
        f"Study area: {what}. The {area['residents_inside']:,.0f} residents inside are counted; "
        f"{area['residents_outside']:,.0f} residents ({area['resident_points_outside']:,} points) "
        "outside are not."
    )
    if buffer_m:
        text += f" The walking network and sites reach {buffer_m:,.0f} m beyond its border."
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

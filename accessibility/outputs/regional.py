"""Regional outputs of ``accessibility batch``: ``areas.csv``, ``areas.gpkg``, ``tables.xlsx``,
``map.html``, ``report.html``.

The map is a choropleth of the share covered within the main threshold (``--main-minutes``,
default the largest; all categories by default), one popup per area; the report ranks the
areas from least to best covered and shows the distribution of the shares. Both follow the
standard of every report (issue 12): one language throughout (labels here, numbers and dates
through :mod:`accessibility.outputs.formats`: German ``74.420``, ``11,9 %``), category colours
from :mod:`accessibility.outputs.style`, a title naming the region, the map inlined into the
report (:func:`accessibility.outputs.report.map_frame`, so the report works alone, offline),
method, rejects and attributions (:func:`accessibility.outputs.report.method_section`).
Every name is HTML-escaped.
"""

from __future__ import annotations

import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

from .._io import write_csv, write_gpkg, write_text
from . import formats as fm
from ._leaflet import base_map, esc, features, finish, to_wgs
from .i18n import category_label, labels, pretty_name
from .layers import write_xlsx
from .report import chart_img, html_page, html_table, map_frame, method_section
from .style import category_colours

#: Choropleth classes of the share covered (upper bounds, 0-1) and their colours (red → blue).
SHARE_BINS = [0.2, 0.4, 0.6, 0.8, 1.0]
SHARE_COLOURS = ["#b2182b", "#ef8a62", "#fddbc7", "#67a9cf", "#2166ac"]
NO_DATA = "#bbbbbb"

_T = {
    "en": {
        "map_title": "Share of residents within {m} min ({c}) – {name}",
        "report_title": "Walking access to docking points by area – {name}",
        "rank": "Areas from least to best covered (share within {m} min, {c})",
        "dist": "Distribution of the share covered across areas (within {m} min)",
        "failed": "Areas that failed (see failures.csv)",
        "share": "share covered", "area": "area", "key": "key", "residents": "residents",
        "covered": "covered within {m} min", "no_result": "no result (failed, or nobody lives there)",
        "areas": "areas", "region": "Region total, per category", "outside": "residents outside all areas",
        "headline": "Headline figures", "n_areas": "areas", "n_failed": "areas failed",
        "share_kpi": "of the residents within {m} min ({c})",
        "empty": "Areas without residents: {names}.", "error": "error", "x": "share covered",
        "batch_text": (
            "Each area is analysed on the walking network clipped to the area plus a walking "
            "buffer of {buffer} m (largest threshold × speed plus the longest access leg), so "
            "residents near a border may walk to a docking point across it. Every resident "
            "counts in the one area that contains it; docking points anywhere in the buffer count."
        ),
        "batch_text_networks": "Each area is analysed on its own extract ({dir}).",
        "legend_classes": "Share of residents within {m} min",
    },
    "de": {
        "map_title": "Anteil der Einwohner innerhalb {m} min ({c}) – {name}",
        "report_title": "Fußläufige Erreichbarkeit von Andockstellen nach Gebiet – {name}",
        "rank": "Gebiete von der schlechtesten zur besten Versorgung (Anteil innerhalb {m} min, {c})",
        "dist": "Verteilung des versorgten Anteils über die Gebiete (innerhalb {m} min)",
        "failed": "Gebiete mit Fehler (siehe failures.csv)",
        "share": "versorgter Anteil", "area": "Gebiet", "key": "Schlüssel", "residents": "Einwohner",
        "covered": "versorgt innerhalb {m} min", "no_result": "kein Ergebnis (Fehler, oder niemand wohnt dort)",
        "areas": "Gebiete", "region": "Region gesamt, je Kategorie", "outside": "Einwohner außerhalb aller Gebiete",
        "headline": "Kennzahlen", "n_areas": "Gebiete", "n_failed": "Gebiete mit Fehler",
        "share_kpi": "der Einwohner innerhalb {m} min ({c})",
        "empty": "Gebiete ohne Einwohner: {names}.", "error": "Fehler", "x": "versorgter Anteil",
        "batch_text": (
            "Jedes Gebiet wird auf dem Fußwegenetz des Gebiets samt einem Gehpuffer von {buffer} m "
            "berechnet (größte Schwelle × Geschwindigkeit plus längster Zugangsweg); wer nahe "
            "einer Grenze wohnt, darf also eine Andockstelle jenseits davon erreichen. Jeder "
            "Einwohner zählt in dem einen Gebiet, das ihn enthält; Andockstellen zählen überall "
            "im Puffer."
        ),
        "batch_text_networks": "Jedes Gebiet wird auf seinem eigenen Ausschnitt berechnet ({dir}).",
        "legend_classes": "Anteil der Einwohner innerhalb {m} min",
    },
}  # fmt: skip

#: Failure messages of areas (``failures.csv``) in German (regular expressions, in order).
_FAIL_DE = [
    (r"invalid polygon \((.*)\); fix it in the areas file",
     r"ungültiges Polygon (\1); in der Gebietsdatei korrigieren"),
    (r"empty geometry", "leere Geometrie"),
    (r"not a polygon \((.*)\)", r"kein Polygon (\1)"),
    (r"no walkable street inside the area and its walking buffer",
     "keine begehbare Straße im Gebiet und seinem Gehpuffer"),
    (r"no extract file (\S+) \(or \.osm, \.osm\.gz, \.osm\.bz2\) in (.*)",
     r"keine Ausschnittsdatei \1 (oder .osm, .osm.gz, .osm.bz2) in \2"),
    (r"^\w+Error: ", ""),
    (r"^area (\S+): ", r"Gebiet \1: "),
]  # fmt: skip


def region_name(areas_file: str | Path) -> str:
    """The region's name from its areas file: ``gemeinden_rhein-neckar.gpkg`` →
    ``Gemeinden Rhein-Neckar`` (:func:`accessibility.outputs.i18n.pretty_name`, hyphenated
    lower-case words capitalised part by part)."""
    name = pretty_name(str(areas_file))
    return re.sub(r"(?<=-)([a-zäöü])", lambda m: m.group(1).upper(), name)


def failure_text(error: str, lang: str) -> str:
    """A failure message of ``failures.csv`` in ``lang`` (known messages translated to German)."""
    text = str(error)
    if lang != "de":
        return text
    for pattern, repl in _FAIL_DE:
        text = re.sub(pattern, repl, text)
    return text


def share_colour(share: float) -> str:
    """Fill colour of a share covered (0-1); grey for no value."""
    if share is None or not np.isfinite(share):
        return NO_DATA
    return SHARE_COLOURS[min(int(np.searchsorted(SHARE_BINS, share)), len(SHARE_COLOURS) - 1)]


def write_regional(
    out: str | Path,
    areas: gpd.GeoDataFrame,
    table: pd.DataFrame,
    wide: pd.DataFrame,
    region: pd.DataFrame,
    failures: pd.DataFrame,
    record: dict,
    *,
    minutes: float,
    category: str = "all",
    outside: float = 0.0,
    lang: str = "en",
    title: str = "",
    rejects: pd.DataFrame | None = None,
) -> dict[str, Path]:
    """Write ``areas.csv``, ``areas.gpkg``, ``tables.xlsx``, ``map.html`` and ``report.html``.

    Parameters
    ----------
    out : path
        Output folder (exists).
    areas : GeoDataFrame
        ``area_id``, ``area_name``, geometry (any CRS).
    table : DataFrame
        Long ``areas.csv`` table (:func:`accessibility.planning.batch.areas_table`).
    wide : DataFrame
        One row per area (:func:`accessibility.planning.batch.wide_table`).
    region : DataFrame
        The region's ``summary.csv`` table.
    failures : DataFrame
        ``area_id``, ``area_name``, ``error``.
    record : dict
        Run record (``attribution``, ``parameters``, ``network``, ``batch.buffer_m``,
        ``category_labels``, data vintage).
    minutes : float
        The main threshold (minutes) of map and ranking.
    category : str
        The category of map and ranking.
    outside : float
        Residents (persons) outside every area.
    lang : {"en", "de"}
        Language of every label, number and date of map and report.
    title : str
        Title of map and report (escaped); default: one naming the region
        (``record["batch"]["region"]``).
    rejects : DataFrame, optional
        ``rejects.csv`` rows (counted per file and reason in the report).

    Returns
    -------
    dict
        ``areas_csv``, ``areas_gpkg``, ``xlsx``, ``map``, ``report`` paths.
    """
    out = Path(out)
    t = _T.get(lang, _T["en"])
    col = f"share_{category}_{minutes:g}"
    paths = {"areas_csv": write_csv(table, out / "areas.csv")}
    gdf = areas[["area_id", "area_name", "geometry"]].merge(
        wide.drop(columns=["area_name"]), left_on="area_id", right_index=True, how="left"
    )
    paths["areas_gpkg"] = write_gpkg(gdf.to_crs("EPSG:4326"), out / "areas.gpkg", layer="areas")
    paths["xlsx"] = write_xlsx(
        {"areas": pd.DataFrame(gdf.drop(columns="geometry")), "region": region,
         "areas_by_category": table},
        out / "tables.xlsx", lang=lang,
    )  # fmt: skip
    share = gdf[col].to_numpy(float) if col in gdf else np.full(len(gdf), np.nan)
    name = (record.get("batch") or {}).get("region") or ""
    cat = category_label(record, category, lang)
    m_text = fm.decimal(minutes, lang)
    map_title = title or t["map_title"].format(m=m_text, c=cat, name=name)
    report_title = title or t["report_title"].format(name=name)
    # the region's name is a proper name (not translated); a --title is the user's text
    heading = esc(title) if title else esc(t["report_title"]).replace("{name}", _proper(name))
    paths["map"] = _map(gdf, share, record, t, minutes, category, out / "map.html", lang, map_title)
    paths["report"] = _report(
        gdf, share, region, failures, record, t, minutes, category, outside, out / "report.html",
        lang, report_title, heading, paths["map"].read_text(encoding="utf-8"), rejects,
    )  # fmt: skip
    return paths


def _popup(gdf: gpd.GeoDataFrame, category: str, t: dict, lang: str) -> list[str]:
    """Per area: name (key), residents, then covered (share) at every threshold."""
    thresholds = sorted(
        float(c.rsplit("_", 1)[1]) for c in gdf.columns if c.startswith(f"share_{category}_")
    )
    pop = gdf["population"].to_numpy(float) if "population" in gdf else np.full(len(gdf), np.nan)
    out = []
    for i, (n, k) in enumerate(zip(gdf["area_name"], gdf["area_id"], strict=True)):
        lines = [f"<b>{esc(n)}</b> ({esc(k)})", f"{esc(t['residents'])}: {fm.number(pop[i], lang)}"]
        shares = [gdf[f"share_{category}_{m:g}"].iloc[i] for m in thresholds]
        if not thresholds or not np.isfinite(np.asarray(shares, float)).any():
            lines.append(esc(t["no_result"]))
        for m in thresholds if np.isfinite(np.asarray(shares, float)).any() else []:
            cov = gdf[f"covered_{category}_{m:g}"].iloc[i]
            share = gdf[f"share_{category}_{m:g}"].iloc[i]
            lines.append(
                f"{esc(fm.minutes_label(m, lang))}: {esc(fm.count_share(cov, share, lang))}"
            )
        out.append("<br>".join(lines))
    return out


def _map(gdf, share, record, t, minutes, category, path, lang, title) -> Path:
    tm = labels("planning_maps", lang)
    wgs = to_wgs(gdf, simplify_m=20.0)
    m = base_map(gdf, tm)
    props = {
        "name": [esc(n) for n in gdf["area_name"]],
        "text": _popup(gdf, category, t, lang),
        "colour": [share_colour(s) for s in share],
    }
    layer = t["legend_classes"].format(m=fm.decimal(minutes, lang))
    folium.GeoJson(
        features(wgs, props), name=esc(layer),
        style_function=lambda f: {"color": "#333333", "weight": 1,
                                  "fillColor": f["properties"]["colour"], "fillOpacity": 0.7},
        tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        popup=folium.GeoJsonPopup(fields=["text"], labels=False),
    ).add_to(m)  # fmt: skip
    lo = [0.0, *SHARE_BINS[:-1]]
    swatch = '<span style="display:inline-block;width:14px;height:14px;background:{}"></span> '
    legend = "".join(
        f"<div>{swatch.format(c)}{fm.number(a * 100, lang)}–{esc(fm.percent(b, lang, 0))}</div>"
        for a, b, c in zip(lo, SHARE_BINS, SHARE_COLOURS, strict=True)
    )
    legend += f"<div>{swatch.format(NO_DATA)}{esc(t['no_result'])}</div>"
    m.get_root().html.add_child(  # type: ignore[attr-defined]
        folium.Element(
            '<div class="acc-legend" style="background:#fff;padding:6px 10px;border-radius:4px;'
            'font:12px sans-serif">'
            f"<div><b>{esc(layer)} ({esc(category_label(record, category, lang))})</b></div>"
            f"{legend}</div>"
        )
    )
    m.add_child(_LegendControl())
    return finish(m, title, record, tm, path)


class _LegendControl(MacroElement):
    """Moves the page's ``.acc-legend`` into a Leaflet control at the bottom right, so that
    Leaflet stacks it above the attribution line (however many lines that takes) instead of
    under it."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        (function(){
          var C = L.Control.extend({options: {position: 'bottomright'}, onAdd: function() {
            var d = document.querySelector('.acc-legend');
            L.DomEvent.disableClickPropagation(d);
            return d;
          }});
          new C().addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}"""
    )


def _region_table(region: pd.DataFrame, record: dict, t: dict, lang: str) -> str:
    """Rows: categories; columns: residents, then 'covered (share)' per threshold."""
    if region.empty:
        return ""
    tr = labels("report", lang)
    rows = []
    for c, g in region.groupby("category", sort=False):
        row = {tr["category"]: category_label(record, str(c), lang),
               t["residents"]: fm.number(g["population"].iloc[0], lang)}  # fmt: skip
        for r in g.sort_values("minutes").itertuples():
            note = r.note if isinstance(r.note, str) else ""
            row[fm.minutes_label(r.minutes, lang)] = (
                tr["no_site"]
                if note
                else fm.count_share(r.population_covered, r.share_covered, lang)
            )
        rows.append(row)
    return html_table(pd.DataFrame(rows))


def _chart(gdf, category: str, minutes: float, record: dict, t: dict, lang: str) -> str:
    """Histogram of the areas' shares within ``minutes``: the main category filled, the
    others as outlines, in the category colours of every chart and map."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cats = [c.removeprefix("share_").rsplit("_", 1)[0] for c in gdf.columns
            if c.startswith("share_") and c.endswith(f"_{minutes:g}")]  # fmt: skip
    colours = category_colours(cats)
    fig, ax = plt.subplots(figsize=(8, 3.4))
    bins = list(np.linspace(0, 1, 21))
    for c in sorted(cats, key=lambda c: c == category):  # the main one on top
        v = gdf[f"share_{c}_{minutes:g}"].to_numpy(float)
        v = v[np.isfinite(v)]
        if not len(v):
            continue
        main = c == category
        ax.hist(v, bins=bins, histtype="stepfilled" if main else "step", alpha=0.55 if main else 1,
                color=colours.get(c, "#000000"), lw=1.6, label=category_label(record, c, lang))  # fmt: skip
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"{t['x']} ({fm.minutes_label(minutes, lang)})")
    ax.set_ylabel(t["areas"])
    ax.xaxis.set_major_formatter(
        matplotlib.ticker.FuncFormatter(lambda v, _p: fm.percent(v, lang, 0))
    )
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: fm.decimal(v, lang)))
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    if ax.get_legend_handles_labels()[0]:  # no finite share at all (every area failed): no legend
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return chart_img(fig)


def _proper(text: object) -> str:
    return f'<span translate="no">{esc(text)}</span>'


def _report(gdf, share, region, failures, record, t, minutes, category, outside, path, lang,
            title, heading, map_html, rejects) -> Path:  # fmt: skip
    cat = category_label(record, category, lang)
    m_text = fm.decimal(minutes, lang)
    ok = np.isfinite(share)
    pop = gdf["population"].to_numpy(float) if "population" in gdf else np.full(len(gdf), np.nan)
    thresholds = sorted(
        float(c.rsplit("_", 1)[1]) for c in gdf.columns if c.startswith(f"share_{category}_")
    )
    order = np.argsort(np.where(ok, share, np.inf), kind="stable")[: int(ok.sum())]
    cov = f"covered_{category}_{minutes:g}"
    ranked = pd.DataFrame({
        "#": [fm.number(i + 1, lang) for i in range(len(order))],
        t["area"]: [_proper(gdf["area_name"].iloc[i]) for i in order],
        t["key"]: [_proper(gdf["area_id"].iloc[i]) for i in order],
        t["residents"]: [fm.number(pop[i], lang) for i in order],
        t["covered"].format(m=m_text): [fm.number(gdf[cov].iloc[i], lang) if cov in gdf else fm.MISSING
                                        for i in order],
        **{fm.minutes_label(mm, lang): [fm.percent(gdf[f"share_{category}_{mm:g}"].iloc[i], lang)
                                        for i in order] for mm in thresholds},
    })  # fmt: skip
    reg = region[(region["category"] == category) & (region["minutes"] == minutes)]
    total = float(np.nansum(pop))
    kpis = [
        (fm.number(len(gdf), lang), t["n_areas"]),
        (fm.number(total, lang), t["residents"]),
        (fm.percent(reg["share_covered"].iloc[0] if len(reg) else None, lang),
         t["share_kpi"].format(m=m_text, c=cat)),
        (fm.number(outside, lang), t["outside"]),
    ]  # fmt: skip
    if len(failures):
        kpis.append((fm.number(len(failures), lang), t["n_failed"]))
    body = [
        f"<h1>{heading}</h1>",
        f"<h2>{esc(t['headline'])}</h2>",
        "".join(f'<div class="kpi"><b>{esc(v)}</b>{esc(k)}</div>' for v, k in kpis),
        f"<h2>{esc(t['region'])}</h2>", _region_table(region, record, t, lang),
        f"<h2>{esc(t['dist'].format(m=m_text))}</h2>", _chart(gdf, category, minutes, record, t, lang),
        f"<h2>{esc(t['rank'].format(m=m_text, c=cat))}</h2>",
        html_table(ranked, raw=frozenset([t["area"], t["key"]])),
    ]  # fmt: skip
    done = set(gdf.loc[np.asarray(pop == 0), "area_id"]) - set(failures.get("area_id", []))
    if done:
        names = ", ".join(_proper(n) for n, k in zip(gdf["area_name"], gdf["area_id"], strict=True)
                          if k in done)  # fmt: skip
        body.append(f"<p>{esc(t['empty']).replace('{names}', names)}</p>")
    if len(failures):
        f = pd.DataFrame({
            t["area"]: [_proper(x) for x in failures["area_name"]],
            t["key"]: [_proper(x) for x in failures["area_id"]],
            t["error"]: [esc(failure_text(e, lang)) for e in failures["error"]],
        })  # fmt: skip
        body += [f"<h2>{esc(t['failed'])}</h2>",
                 html_table(f, raw=frozenset([t["area"], t["key"], t["error"]]))]  # fmt: skip
    tr = labels("report", lang)
    batch = record.get("batch") or {}
    if batch.get("networks"):
        method = t["batch_text_networks"].format(dir=Path(str(batch["networks"])).name)
    else:
        method = t["batch_text"].format(buffer=fm.number(batch.get("buffer_m"), lang))
    body += [
        f"<h2>{esc(tr['map'])}</h2>",
        map_frame(map_html, tr["map"]),
        f'<p class="note">{esc(tr["map_note"])}</p>',
        *method_section(record, rejects, lang),
    ]
    i = body.index(f"<h2>{esc(tr['method'])}</h2>")
    body.insert(i + 1, f"<p>{esc(method)}</p>")
    return write_text(html_page(title, body, lang), path)

"""Regional outputs of ``accessibility batch``: ``areas.csv``, ``areas.gpkg``, ``map.html``, ``report.html``.

The map is a choropleth of the share covered within the main threshold (``--main-minutes``,
default the largest; all categories by default), one popup per area; the report ranks the areas from least to
best covered and shows the distribution of the shares. Every name is HTML-escaped.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from .._io import write_csv, write_gpkg, write_text
from ._leaflet import base_map, esc, features, finish, fmt, to_wgs
from .i18n import labels
from .report import html_page, html_table

#: Choropleth classes of the share covered (upper bounds, 0-1) and their colours (red → blue).
SHARE_BINS = [0.2, 0.4, 0.6, 0.8, 1.0]
SHARE_COLOURS = ["#b2182b", "#ef8a62", "#fddbc7", "#67a9cf", "#2166ac"]
NO_DATA = "#bbbbbb"

_T = {
    "en": {
        "map_title": "Share of residents within {m:g} min of {c} – {n} areas",
        "report_title": "Coverage by area – {n} areas",
        "rank": "Areas from least to best covered (share within {m:g} min, {c})",
        "dist": "Distribution of the share covered across areas",
        "failed": "Areas that failed (see failures.csv)",
        "share": "share covered", "area": "area", "residents": "residents",
        "covered": "covered", "no_result": "no result (failed, or nobody lives there)", "areas": "areas",
        "region": "Region total", "outside": "Residents outside all areas",
    },
    "de": {
        "map_title": "Anteil der Einwohner innerhalb {m:g} min von {c} – {n} Gebiete",
        "report_title": "Versorgung nach Gebiet – {n} Gebiete",
        "rank": "Gebiete von der schlechtesten zur besten Versorgung (Anteil in {m:g} min, {c})",
        "dist": "Verteilung des versorgten Anteils über die Gebiete",
        "failed": "Gebiete mit Fehler (siehe failures.csv)",
        "share": "versorgter Anteil", "area": "Gebiet", "residents": "Einwohner",
        "covered": "versorgt", "no_result": "kein Ergebnis (Fehler, oder niemand wohnt dort)", "areas": "Gebiete",
        "region": "Region gesamt", "outside": "Einwohner außerhalb aller Gebiete",
    },
}  # fmt: skip


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
) -> dict[str, Path]:
    """Write ``areas.csv``, ``areas.gpkg``, ``map.html`` and ``report.html`` into ``out``.

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
        Run record (attributions).
    minutes : float
        The main threshold (minutes) of map and ranking.
    category : str
        The category of map and ranking.
    outside : float
        Residents (persons) outside every area.
    lang : {"en", "de"}

    Returns
    -------
    dict
        ``areas_csv``, ``areas_gpkg``, ``map``, ``report`` paths.
    """
    out = Path(out)
    t = _T.get(lang, _T["en"])
    col = f"share_{category}_{minutes:g}"
    paths = {"areas_csv": write_csv(table, out / "areas.csv")}
    gdf = areas[["area_id", "area_name", "geometry"]].merge(
        wide.drop(columns=["area_name"]), left_on="area_id", right_index=True, how="left"
    )
    paths["areas_gpkg"] = write_gpkg(gdf.to_crs("EPSG:4326"), out / "areas.gpkg", layer="areas")
    share = gdf[col].to_numpy(float) if col in gdf else np.full(len(gdf), np.nan)
    paths["map"] = _map(gdf, share, record, t, minutes, category, out / "map.html", lang)
    paths["report"] = _report(gdf, share, region, failures, t, minutes, category, outside,
                              out / "report.html", lang)  # fmt: skip
    return paths


def _map(gdf, share, record, t, minutes, category, path, lang) -> Path:
    tm = labels("planning_maps", lang)
    wgs = to_wgs(gdf, simplify_m=20.0)
    m = base_map(gdf, tm)
    pop = gdf["population"].to_numpy(float) if "population" in gdf else np.full(len(gdf), np.nan)
    props = {
        "name": [esc(n) for n in gdf["area_name"]],
        "text": [
            f"<b>{esc(n)}</b> ({esc(i)})<br>{esc(t['residents'])}: {fmt(p, 0)}<br>"
            + (f"{esc(t['share'])}: {s:.1%}" if np.isfinite(s) else esc(t["no_result"]))
            for n, i, p, s in zip(gdf["area_name"], gdf["area_id"], pop, share, strict=True)
        ],
        "colour": [share_colour(s) for s in share],
    }
    folium.GeoJson(
        features(wgs, props), name=t["share"],
        style_function=lambda f: {"color": "#333333", "weight": 1,
                                  "fillColor": f["properties"]["colour"], "fillOpacity": 0.7},
        tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        popup=folium.GeoJsonPopup(fields=["text"], labels=False),
    ).add_to(m)  # fmt: skip
    lo = [0.0, *SHARE_BINS[:-1]]
    legend = "".join(
        f'<div><span style="display:inline-block;width:14px;height:14px;background:{c}"></span> '
        f"{a:.0%}–{b:.0%}</div>"
        for a, b, c in zip(lo, SHARE_BINS, SHARE_COLOURS, strict=True)
    )
    legend += f'<div><span style="display:inline-block;width:14px;height:14px;background:{NO_DATA}"></span> {esc(t["no_result"])}</div>'
    m.get_root().html.add_child(  # type: ignore[attr-defined]
        folium.Element(
            '<div style="position:absolute;z-index:1000;right:10px;bottom:30px;background:#fff;'
            f'padding:6px 10px;border-radius:4px;font:12px sans-serif"><b>{esc(t["share"])}</b>'
            f"{legend}</div>"
        )
    )
    title = t["map_title"].format(m=minutes, c=category, n=len(gdf))
    return finish(m, title, record, tm, path)


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img class="chart" alt="chart" src="data:image/png;base64,{data}">'


def _shown(region: pd.DataFrame) -> pd.DataFrame:
    """The region's summary for the page: persons whole, shares in %, minutes with one decimal."""
    if region.empty:
        return region
    return region.assign(
        minutes=region["minutes"].map(lambda x: f"{x:g}"),
        population=region["population"].map(lambda x: fmt(x, 0)),
        population_covered=region["population_covered"].map(lambda x: fmt(x, 0)),
        share_covered=region["share_covered"].map(lambda x: f"{x:.1%}" if pd.notna(x) else "–"),
        median_minutes=region["median_minutes"].map(lambda x: fmt(x, 1)),
    )


def _report(gdf, share, region, failures, t, minutes, category, outside, path, lang) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = np.isfinite(share)
    ranked = pd.DataFrame({
        t["area"]: gdf["area_name"].astype(str), "id": gdf["area_id"].astype(str),
        t["residents"]: gdf.get("population", np.nan),
        t["share"]: share,
    })[ok].sort_values(t["share"], kind="stable")  # fmt: skip
    ranked.insert(0, "#", np.arange(1, len(ranked) + 1))
    shown = ranked.assign(**{
        t["residents"]: ranked[t["residents"]].map(lambda x: fmt(x, 0)),
        t["share"]: ranked[t["share"]].map(lambda x: f"{x:.1%}"),
    })  # fmt: skip
    fig, ax = plt.subplots(figsize=(7, 3.2))
    if ok.any():
        ax.hist(
            share[ok] * 100, bins=list(np.linspace(0, 100, 21)), color="#3182bd", edgecolor="white"
        )
    ax.set_xlabel(f"{t['share']} (%), {minutes:g} min, {category}")
    ax.set_ylabel(t["areas"])
    chart = _png(fig)
    body = [
        f"<h1>{esc(t['report_title'].format(n=len(gdf)))}</h1>",
        f"<h2>{esc(t['region'])}</h2>", html_table(_shown(region)),
        f"<p>{esc(t['outside'])}: {fmt(outside, 0)}</p>",
        f"<h2>{esc(t['dist'])}</h2>", chart,
        f"<h2>{esc(t['rank'].format(m=minutes, c=category))}</h2>", html_table(shown),
    ]  # fmt: skip
    if len(failures):
        body += [f"<h2>{esc(t['failed'])}</h2>",
                 html_table(failures[["area_id", "area_name", "error"]])]  # fmt: skip
    return write_text(html_page(t["report_title"].format(n=len(gdf)), body, lang), path)

"""Files, map and report of ``accessibility change`` (issue 15, part 3): formatting only.

``change.csv``, ``change_districts.csv``, ``change_groups.csv``, ``change_cells.gpkg``
(same grid only), ``map.html`` (cells better / worse / unchanged, docking points added
and closed), ``report.html`` and ``run.json``.
"""

from __future__ import annotations

from pathlib import Path

import folium
import numpy as np
import pandas as pd

from .._io import write_csv, write_gpkg, write_json, write_text
from ..planning.change import RunChange
from ..record import versions
from . import formats as fm
from ._leaflet import base_map, esc, features, finish, fmt, to_wgs, tooltip_fields
from .folder import OutputData
from .i18n import category_label, group_label, group_labels, labels
from .layers import finite, resident_layer
from .report import html_page, html_table, map_frame, method_section

_STATUS_COLOURS = {"better": "#1a9850", "worse": "#d73027", "unchanged": "#bdbdbd"}


def write_change(
    change: RunChange,
    out: str | Path,
    old: OutputData,
    new: OutputData,
    record: dict,
    lang: str = "en",
    title: str = "",
) -> dict[str, Path]:
    """Write the change between two runs into ``out``.

    Parameters
    ----------
    change : RunChange
        From :func:`accessibility.planning.change.compare_runs`.
    out : path
        Output folder (exists).
    old, new : OutputData
        The two runs' folders (the new run's record gives grid, attributions, labels).
    record : dict
        Command and inputs for ``run.json``.
    lang : {"de", "en"}
    title : str
        Title of map and report.

    Returns
    -------
    dict
        Output name → path.
    """
    out = Path(out)
    t = labels("change", lang)
    title = title or f"{t['title']}: {_name(old.folder)} → {_name(new.folder)}"
    paths = {
        "change": write_csv(change.summary, out / "change.csv"),
        "change_districts": write_csv(change.districts, out / "change_districts.csv"),
        "change_groups": write_csv(change.groups, out / "change_groups.csv"),
    }
    cells = None
    if change.cells is not None:
        cells = resident_layer(change.cells, new.record)
        paths["change_cells"] = write_gpkg(finite(cells), out / "change_cells.gpkg", layer="cells")
    paths["map"] = _map(change, cells, new, out / "map.html", title, lang)
    map_html = paths["map"].read_text(encoding="utf-8")  # inlined: the report works alone
    paths["report"] = write_text(html_page(title, _report(change, old, new, lang, title, map_html), lang),
                                 out / "report.html")  # fmt: skip
    rec = {
        **record, "change": change.record(),
        "before": {"folder": str(old.folder), "parameters": old.record.get("parameters", {})},
        "after": {"folder": str(new.folder), "parameters": new.record.get("parameters", {})},
        "attribution": new.record.get("attribution", []), "versions": versions(),
        "outputs": {k: p.name for k, p in paths.items()}, "complete": True,
    }  # fmt: skip
    paths["run"] = write_json(rec, out / "run.json")
    return paths


def _name(folder: Path) -> str:
    """A folder's name for titles; a scenario's ``after/`` keeps its scenario folder's name."""
    f = Path(folder).resolve()
    return f"{f.parent.name}/{f.name}" if f.name == "after" else f.name


def _map(change: RunChange, cells, new: OutputData, path: Path, title: str, lang: str) -> Path:
    t = {**labels("map", lang), **labels("change", lang)}
    m = base_map(new.residents, t)
    if cells is not None:
        for status in ("worse", "better", "unchanged"):
            part = cells[cells["status"] == status]
            if not len(part):
                continue
            colour = _STATUS_COLOURS[status]
            props = {
                "before": [fmt(x, 0, lang) for x in part["population_before"]],
                "after": [fmt(x, 0, lang) for x in part["population_after"]],
                "mb": [fmt(x, 1, lang) if np.isfinite(x) else t["unreachable"] for x in part["minutes_before"]],
                "ma": [fmt(x, 1, lang) if np.isfinite(x) else t["unreachable"] for x in part["minutes_after"]],
            }  # fmt: skip
            folium.GeoJson(
                features(to_wgs(part), props),
                name=f"{t[status]} (≤ {fm.decimal(change.map_minutes, lang)} min, {fm.number(len(part), lang)})",
                show=status != "unchanged",
                marker=folium.CircleMarker(radius=4, weight=0, fill=True, fill_opacity=0.8)
                if (part.geom_type == "Point").all() else None,
                style_function=lambda f, c=colour: {"color": c, "weight": 0.5, "fillColor": c,
                                                    "fillOpacity": 0.6},
                tooltip=tooltip_fields(["before", "after", "mb", "ma"],
                                       [f"{t['residents']} ({t['before']})",
                                        f"{t['residents']} ({t['after']})",
                                        t["minutes_before"], t["minutes_after"]]),
            ).add_to(m)  # fmt: skip
    elif new.districts is not None and len(new.districts):
        d = change.districts
        d = d[(d["category"] == "all") & (d["minutes"] == change.map_minutes)]
        poly = new.districts[["district", "geometry"]].merge(d, on="district")
        colours = [
            "#1a9850" if x > 0 else "#d73027" if x < 0 else "#bdbdbd" for x in poly["change"]
        ]
        props = {"district": [esc(x) for x in poly["district"]],
                 "change": [fm.number(x, lang, sign=True) for x in poly["change"]], "colour": colours}  # fmt: skip
        folium.GeoJson(
            features(to_wgs(poly), props), name=t["districts"],
            style_function=lambda f: {"color": f["properties"]["colour"], "weight": 1,
                                      "fillColor": f["properties"]["colour"], "fillOpacity": 0.4},
            tooltip=tooltip_fields(["district", "change"], [t["district"], t["change"]]),
        ).add_to(m)  # fmt: skip
    for sites, name, colour in ((change.sites_added, t["sites_added"], "#1a9850"),
                                (change.sites_closed, t["sites_closed"], "#d73027")):  # fmt: skip
        if sites is None or not len(sites):
            continue
        props = {"name": [esc(x) for x in sites["name"]],
                 "category": [esc(x) for x in sites["category"]]}  # fmt: skip
        folium.GeoJson(
            features(to_wgs(sites), props), name=f"{name}: {len(sites)}",
            marker=folium.CircleMarker(radius=8, color=colour, weight=3, fill=True,
                                       fill_color="#ffffff", fill_opacity=0.9),
            tooltip=tooltip_fields(["name", "category"], [t["name"], t["category"]]),
        ).add_to(m)  # fmt: skip
    return finish(m, title, new.record, t, path)


def _table(df: pd.DataFrame, key: str | None, t: dict, label, lang: str) -> str:
    if df is None or df.empty:
        return ""
    cols = ([key] if key else []) + ["category", "minutes", "covered_before", "covered_after",
                                     "change", "change_sites", "change_population"]  # fmt: skip
    d = df[cols].copy()
    d["category"] = d["category"].astype(str).map(label)
    if key == "group":
        glabels = group_labels()
        d["group"] = [group_label(str(g), lang, glabels) for g in d["group"]]
    d["minutes"] = [fm.decimal(x, lang) for x in d["minutes"]]
    for c in ("covered_before", "covered_after"):
        d[c] = [fm.number(x, lang) for x in d[c]]
    for c in ("change", "change_sites", "change_population"):
        d[c] = [fm.number(x, lang, sign=True) for x in d[c]]
    names = {"category": t["category"], "minutes": t["threshold"], "covered_before": t["before"],
             "covered_after": t["after"], "change": t["change"], "change_sites": t["from_sites"],
             "change_population": t["from_population"], "district": t["district"],
             "group": t["group"]}  # fmt: skip
    return html_table(d.rename(columns=names))


def _report(
    change: RunChange, old: OutputData, new: OutputData, lang: str, title: str, map_html: str
) -> list[str]:
    t = labels("change", lang)

    def label(c: str) -> str:
        return category_label(new.record, c, lang)

    body = [f"<h1>{esc(title)}</h1>",
            f"<p>{esc(t['before'])}: {esc(old.folder)}<br>{esc(t['after'])}: {esc(new.folder)}</p>"]  # fmt: skip
    if change.warnings:
        body += [f"<h2>{esc(t['warnings'])}</h2>",
                 "<ul>" + "".join(f"<li>{esc(w)}</li>" for w in change.warnings) + "</ul>"]  # fmt: skip
    body += [f"<h2>{esc(t['by_cat'])}</h2>", _table(change.summary, None, t, label, lang)]
    if not change.districts.empty:
        d = change.districts[change.districts["category"] == "all"]
        body += [f"<h2>{esc(t['districts'])}</h2>", _table(d, "district", t, label, lang)]
    if not change.groups.empty:
        g = change.groups[change.groups["category"] == "all"]
        body += [f"<h2>{esc(t['groups'])}</h2>", _table(g, "group", t, label, lang)]
    grid = (t["cells_text"].format(n=fm.number(change.shared_cells, lang)) if change.same_grid
            else t["district_text"])  # fmt: skip
    body += [f"<h2>{esc(t['cause'])}</h2>", f"<p>{esc(grid)} {esc(t['cause_text'])}</p>"]
    sites = []
    for s, what in (
        (change.sites_added, t["sites_added"]),
        (change.sites_closed, t["sites_closed"]),
    ):
        if s is not None and len(s):
            sites.append(f"{what}: " + ", ".join(f"{n} ({label(str(c))})" for n, c in
                                                  zip(s["name"], s["category"], strict=True)))  # fmt: skip
    body += [f"<p>{esc(x)}</p>" for x in sites]
    body += [f"<h2>{esc(t['map'])}</h2>",
             map_frame(map_html, t["map"]),
             *method_section(new.record, None, lang)]  # fmt: skip
    return body

"""Maps of the planning commands: ``ranking_map.html`` (rank) and ``critical_map.html`` (critical).

Both use the offline page toolkit of :mod:`accessibility._leaflet`; residents are drawn as
100 m cells for Zensus input, as points otherwise, and every name is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import folium
import numpy as np
import pandas as pd

from .._io import write_text
from ..core.analysis import ALL, Analysis
from ..planning.critical import critical_residents
from ..planning.ranking import RankResult, weight_column
from ..planning.scenario import ADDED, MOVED, RECATEGORISED, REMOVED, UNCHANGED, ScenarioResult
from ._leaflet import (
    CATEGORY_COLOURS,
    UNREACHED,
    base_map,
    esc,
    finish,
    fmt,
    num,
    numbered_marker,
    offline_map,
    pct,
    simple_layer,
    to_wgs,
)
from .i18n import category_label, group_label, labels
from .layers import resident_layer


def ranking_map(
    result: RankResult, analysis: Analysis, path: str | Path, record: dict, lang: str = "en"
) -> Path:
    """``ranking_map.html``: the greedy picks numbered, the residents each newly covers.

    Parameters
    ----------
    result : accessibility.planning.ranking.RankResult
    analysis : Analysis
        The baseline analysis the ranking was computed on (its residents and sites).
    path : path
        Output HTML file.
    record : dict
        Run record (attributions; Zensus input draws residents as 100 m cells).
    lang : {"en", "de"}

    Every resident newly covered by pick ``#j`` is in the layer of ``#j`` (its
    population adds up to that pick's gain when ranking by residents), residents the
    existing sites cover and those still uncovered have layers of their own.

    Returns
    -------
    Path
        The written HTML file.
    """
    t = labels("planning_maps", lang)
    res = analysis.residents
    mins = result.limit_m / analysis.params.metres_per_minute
    covered0 = res[f"metres_{result.category}"].to_numpy(float) <= result.limit_m
    pick = result.pick_of_resident(covered0)
    cells = resident_layer(res, record)
    pop = res["population"].to_numpy(float)
    # the persons ranked by: residents, or a group's column(s) (weighted runs)
    weighted = result.weight_name != "population"
    w = weight_column(res, result.weight_name.replace("+", ",") if weighted else None)[0]
    group = (" + ".join(group_label(g, lang) for g in result.weight_name.split("+")) if weighted
             else t["residents_word"])  # fmt: skip
    table = result.table
    m = base_map(res, t)

    def text(mask: np.ndarray) -> list[str]:
        if weighted:
            return [t["group_text"].format(w=fmt(a, 0, lang), group=group, p=fmt(b, 0, lang)) for a, b in
                    zip(w[mask], pop[mask], strict=True)]  # fmt: skip
        return [t["res_text"].format(p=fmt(x, 0, lang)) for x in pop[mask]]

    simple_layer(m, cells[covered0], t["already"], UNREACHED, text(covered0))
    still = ~covered0 & (pick == 0) & (w > 0)
    simple_layer(m, cells[still], t["still"].format(m=num(mins, lang)), STILL_COLOUR, text(still))
    for r in table.itertuples():
        mask = pick == r.rank
        simple_layer(m, cells[mask], t["pick_layer"].format(j=r.rank, name=r.name, gain=fmt(r.gain, 0, lang)),
                     CATEGORY_COLOURS[(r.rank - 1) % len(CATEGORY_COLOURS)], text(mask))  # fmt: skip
    sites = analysis.sites
    if result.category != ALL:
        sites = sites[sites["category"].astype(str) == result.category]
    simple_layer(
        m, sites, t["existing"], EXISTING_COLOUR, list(sites["name"].astype(str)), radius=6
    )
    cand = result.candidates
    where = _where(cand, t)
    others = np.setdiff1d(np.arange(len(cand)), result.greedy.chosen)
    reach = result.reach if result.reach is not None else np.full(len(cand), np.nan)
    names = cand["name"].astype(str).to_numpy()
    simple_layer(m, cand.iloc[others], t["others"], "#000000",
                 [t["cand_group"].format(name=nm, reach=fmt(x, 0, lang), group=group, m=num(mins, lang)) + (f" – {a}" if a else "")
                  for nm, x, a in zip(names[others], reach[others], where[others], strict=True)],
                 radius=3)  # fmt: skip
    group_layer = folium.FeatureGroup(name=t["picks"]).add_to(m)
    chosen = cand.iloc[result.greedy.chosen].reset_index(drop=True)
    chosen_where = where[result.greedy.chosen]
    chosen_wgs = to_wgs(chosen)
    for i, r in enumerate(table.itertuples()):
        colour = CATEGORY_COLOURS[(r.rank - 1) % len(CATEGORY_COLOURS)]
        props = {"rank": [str(r.rank)], "name": [esc(r.name)], "address": [esc(chosen_where[i])],
                 "gain": [fmt(r.gain, 0, lang)],
                 "cumulative": [f"{fmt(r.cumulative_covered, 0, lang)} ({pct(r.share_covered, lang)})"],
                 "reach": [fmt(r.reach, 0, lang)]}  # fmt: skip
        aliases = [t["rank"], t["name"], t["address"], t["gain_group"].format(group=group),
                   t["cumulative"].format(j=r.rank), t["reach_group"].format(group=group, m=num(mins, lang))]  # fmt: skip
        if "visibility" in table:
            props["visibility"] = [fmt(r.visibility, 2, lang)]
            aliases.append(t["visibility"])
        numbered_marker(group_layer, chosen_wgs.iloc[[i]], r.rank, colour, props, aliases,
                        "acc-pick")  # fmt: skip
    title = t["rank_title"].format(k=len(table), n=len(cand), m=num(mins, lang))
    rows = [(UNREACHED, t["already"]), (STILL_COLOUR, t["still"].format(m=num(mins, lang))),
            (CATEGORY_COLOURS[0], t["legend_pick"]), (EXISTING_COLOUR, t["existing"]),
            ("#000000", t["others"])]  # fmt: skip
    m.get_root().html.add_child(  # type: ignore[attr-defined]
        folium.Element(_legend(t["legend"], t["counted"].format(group=group), rows))
    )
    return finish(m, title, record, t, path)


#: Colours of the ranking map: residents not covered, existing sites.
STILL_COLOUR = "#b2182b"
EXISTING_COLOUR = "#333333"


def _where(cand, t: dict) -> np.ndarray:
    """Per candidate: its address (OSM ``addr:*``), else its nearest named street, else ""."""
    n = len(cand)
    addr = (
        cand["address"].fillna("").astype(str).to_numpy() if "address" in cand else np.full(n, "")
    )
    street = (cand["nearest_street"].fillna("").astype(str).to_numpy() if "nearest_street" in cand
              else np.full(n, ""))  # fmt: skip
    return np.array([a or (t["near_street"].format(s=s) if s else "") for a, s in
                     zip(addr, street, strict=True)], dtype=object)  # fmt: skip


def _legend(title: str, counted: str, rows: list[tuple[str, str]]) -> str:
    """The ranking map's legend: what is counted and one swatch per layer (escaped)."""
    items = "".join(
        f'<div><span style="display:inline-block;width:12px;height:12px;background:{c};'
        f'vertical-align:middle;margin-right:6px;border-radius:50%"></span>{esc(label)}</div>'
        for c, label in rows
    )
    return (
        '<div class="acc-legend" style="position:absolute;z-index:1000;right:10px;bottom:40px;'
        'background:rgba(255,255,255,.9);padding:6px 8px;border-radius:4px;font:12px sans-serif">'
        f'<div><b>{esc(title)}</b></div><div class="acc-counted">{esc(counted)}</div>{items}</div>'
    )


def critical_map(
    analysis: Analysis, sites: pd.DataFrame, minutes: float, category: str, path: str | Path,
    record: dict, lang: str = "en",
) -> Path:  # fmt: skip
    """``critical_map.html``: who loses coverage if a site closes, and who is covered twice.

    Parameters
    ----------
    analysis : Analysis
    sites : DataFrame
        :func:`accessibility.planning.ranking.critical_table` rows (``site_id``, ``loss_<m>``,
        ``reach_<m>``), most critical first: the markers are numbered in this order.
    minutes : float
        The threshold shown.
    category : str
        The sites assessed (``all`` or one category).
    path : path
    record : dict
        Run record (attributions; Zensus input draws residents as 100 m cells).
    lang : {"en", "de"}

    Residents covered by exactly one site are one layer, each with that site's name
    (per site they add up to its ``loss``); residents covered by two or more sites and
    those not covered have layers of their own.

    Returns
    -------
    Path
        The written HTML file.
    """
    t = labels("planning_maps", lang)
    res = analysis.residents
    n_cov, sole = critical_residents(analysis, minutes, category)
    cells = resident_layer(res, record)
    pop = res["population"].to_numpy(float)
    idx = {sid: i for i, sid in enumerate(analysis.sites["site_id"].astype(str))}
    names = analysis.sites["name"].astype(str).to_numpy()
    m = base_map(res, t)
    one = n_cov == 1
    simple_layer(m, cells[one], t["only_one"].format(m=num(minutes, lang)), "#e6550d",
                 [t["only_text"].format(p=fmt(x, 0, lang), name=names[j]) for x, j in zip(pop[one], sole[one],
                                                                            strict=True)])  # fmt: skip
    two = n_cov >= 2
    simple_layer(m, cells[two], t["two_plus"].format(m=num(minutes, lang)), "#31a354",
                 [t["two_text"].format(p=fmt(x, 0, lang), n=k) for x, k in zip(pop[two], n_cov[two], strict=True)])  # fmt: skip
    none = (n_cov == 0) & (pop > 0)
    simple_layer(m, cells[none], t["still"].format(m=num(minutes, lang)), UNREACHED,
                 [t["res_text"].format(p=fmt(x, 0, lang)) for x in pop[none]], show=False)  # fmt: skip
    group = folium.FeatureGroup(name=t["critical"].format(m=num(minutes, lang))).add_to(m)
    wgs = to_wgs(analysis.sites)
    for rank, r in enumerate(sites.itertuples(), start=1):
        i = idx[str(r.site_id)]
        loss, reach = getattr(r, f"loss_{minutes:g}"), getattr(r, f"reach_{minutes:g}")
        props = {"rank": [str(rank)], "name": [esc(r.name)],
                 "category": [esc(category_label(record, str(r.category), lang))],
                 "loss": [fmt(loss, 0, lang)], "reach": [fmt(reach, 0, lang)]}  # fmt: skip
        aliases = [t["rank"], t["name"], t["category"], t["loss"].format(m=num(minutes, lang)),
                   t["reach"].format(m=num(minutes, lang))]  # fmt: skip
        colour = "#b2182b" if loss > 0 else "#555555"
        numbered_marker(group, wgs.iloc[[i]], rank, colour, props, aliases, "acc-critical")
    return finish(m, t["critical_title"].format(m=num(minutes, lang)), record, t, path)


_CHANGE_COLOURS = {
    UNCHANGED: "#555555", ADDED: "#1a9850", REMOVED: "#d73027", MOVED: "#4575b4",
    RECATEGORISED: "#984ea3",
}  # fmt: skip


def scenario_map(
    result: ScenarioResult,
    path: str | Path,
    attribution: Sequence[str] | None = None,
    lang: str = "en",
) -> Path:
    """Plain before/after map: changed sites and the residents gaining or losing coverage.

    Every name is HTML-escaped; Leaflet is inlined, so the map draws offline.

    Parameters
    ----------
    result : ScenarioResult
        The scenario run; residents are drawn in EPSG:4326.
    path : str or Path
        Output HTML file.
    attribution : sequence of str, optional
        Attribution lines shown on the tile layer.
    lang : {"en", "de"}
        Labels and number formats.

    Returns
    -------
    Path
        The written HTML file.
    """
    t = labels("planning_maps", lang)
    sites = result.site_layer()
    w, s, e, n = result.before.residents.to_crs("EPSG:4326").total_bounds
    m = offline_map()
    folium.TileLayer(
        "OpenStreetMap", name="OpenStreetMap", attr=" | ".join(esc(a) for a in attribution or [])
    ).add_to(m)
    m.fit_bounds([[s, w], [n, e]])

    def mins(v) -> str:
        return t["sc_unreachable"] if v is None or not np.isfinite(v) else fmt(v, 1, lang)

    for gained, label, colour in ((True, t["sc_newly"], "#1a9850"),
                                  (False, t["sc_losing"], "#d73027")):  # fmt: skip
        g = result.changed_residents(gained)
        text = [t["sc_text"].format(p=fmt(p, 0, lang), b=mins(b), a=mins(a)) for p, b, a in
                zip(g["population"], g["minutes_before"], g["minutes_after"], strict=True)]  # fmt: skip
        simple_layer(m, g, label, colour, text)
    for kind in (UNCHANGED, ADDED, REMOVED, MOVED, RECATEGORISED):
        sub = sites[sites["change"] == kind]
        kind_text = t.get(f"sc_{kind}", kind)
        text = [
            f"{a} ({c}, {kind_text})" for a, c in zip(sub["name"], sub["category"], strict=True)
        ]
        simple_layer(m, sub, t["sc_sites"].format(kind=kind_text), _CHANGE_COLOURS[kind], text,
                     radius=7, popup=True)  # fmt: skip
    m.get_root().html.add_child(  # type: ignore[attr-defined]
        folium.Element(
            '<h3 style="position:absolute;z-index:1000;left:60px;top:0">'
            f"{esc(t['sc_title'].format(name=result.name))}</h3>"
        )
    )
    folium.LayerControl().add_to(m)
    return write_text(m.get_root().render(), path)

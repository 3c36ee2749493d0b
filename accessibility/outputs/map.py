"""The Folium map (``map.html``): sites, isochrone bands, residents, gaps, districts, scenario.

Safety: every name from OSM or a user file is HTML-escaped in Python before it
reaches the page; GeoJSON is embedded with Jinja's ``tojson`` (``<``, ``>``, ``&``
and ``'`` as ``\\u`` escapes), so neither ``<img onerror=…>`` nor ``</script>`` can
run. Offline: built with :mod:`accessibility._leaflet` (Leaflet inlined, no other
script or stylesheet), the page requests nothing but background tiles, so every data
layer renders without any network. Size: polygons are simplified
(:data:`~accessibility._leaflet.SIMPLIFY_M`) and coordinates rounded to 6 decimals
(≈ 0.1 m).

Scale: up to :data:`MAP_MAX_FEATURES` resident rows every point (or Zensus cell) is
drawn. Above it the residents are summed into grid squares (EPSG:3035, 100 m × 2**k, the
smallest size giving at most :data:`MAP_MAX_FEATURES` squares; see
:func:`accessibility.outputs.layers.aggregate_residents`), coloured by the
population-weighted median of the walking minutes, with the minimum minutes and the share
within each threshold in the tooltip; gaps and large scenario layers use the same squares;
vectors are drawn on a canvas, and the legend says what was aggregated. Isochrone bands
are simplified further (tolerance doubled) until they have at most
:data:`ISO_MAX_COORDS` coordinates. This keeps ``map.html`` under 15 MB for any number of
residents (545,750 points: see bench/README.md); only a very large number of docking
points (each a marker, ~300 bytes) could still grow it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element

from .._io import write_text
from ._leaflet import (
    BAND_COLOURS,
    PROPOSED_COLOUR,
    PROPOSED_Z,
    SIMPLIFY_M,
    UNREACHED,
    Attribution,
    Fullscreen,
    add_title,
    badge_html,
    base_map,
    colour_bar_html,
    esc,
    features,
    fmt,
    icon_html,
    layer_control,
    num,
    pct,
    proposed_icon_html,
    to_wgs,
    tooltip_fields,
)
from .folder import OutputData
from .formats import number
from .i18n import category_label, labels
from .layers import (
    aggregate_population,
    aggregate_residents,
    aggregation_cell_m,
    district_layer,
    gaps_layer,
    is_grid,
    resident_layer,
)
from .style import category_colours, category_letters
from .supply_report import supply_layer

#: Most resident features drawn one by one; above, residents are aggregated to squares.
MAP_MAX_FEATURES = 10_000
#: Most isochrone coordinates drawn (≈ 22 bytes each); above, bands are simplified more.
ISO_MAX_COORDS = 200_000
#: 2SFCA columns averaged (population-weighted) per square on large maps.
SUPPLY_COLUMNS = ["sfca_all", "e2sfca_all", "opportunities_all"]


def _legend_html(
    cmap: cm.LinearColormap,
    title: str,
    unreached: str,
    bands: Sequence[tuple[str, str]] = (),
    note: str = "",
    lang: str = "en",
) -> str:
    """Legend: residents' minutes (colour bar, ticks in ``lang``), unreached, the isochrone
    bands' colours, and a note (escaped) on what was aggregated."""
    svg = colour_bar_html(cmap, lang)

    def swatch(colour: str, label: str, opacity: float = 1.0) -> str:
        return (f'<span style="display:inline-block;width:12px;height:12px;background:{colour};'
                f'opacity:{opacity};vertical-align:middle;margin-left:6px"></span> {esc(label)}')  # fmt: skip

    band_row = "".join(swatch(c, label, 0.6) for label, c in bands)
    return (
        '<div class="acc-legend" style="position:absolute;z-index:1000;right:10px;bottom:40px;'
        'background:rgba(255,255,255,.9);padding:6px 8px;border-radius:4px;font:12px sans-serif">'
        f"<div><b>{esc(title)}</b></div>{svg}"
        f"<div>{swatch(UNREACHED, unreached)}</div>"
        + (f'<div class="acc-bands">{band_row}</div>' if bands else "")
        + (
            f'<div class="acc-aggregated" style="max-width:260px;margin-top:4px">{esc(note)}</div>'
            if note
            else ""
        )
        + "</div>"
    )


def full_map(
    data: OutputData,
    path: str | Path,
    title: str = "",
    lang: str = "en",
    per_category_isochrones: bool = True,
) -> Path:
    """Write ``map.html`` for an output folder's data (see module docstring).

    Parameters
    ----------
    data : OutputData
        From :func:`accessibility.outputs.folder.load_folder`.
    path : path
        Output HTML file.
    title : str
        Title at the top of the map (escaped).
    lang : {"en", "de"}
        Labels.
    per_category_isochrones : bool
        Also add one (hidden) isochrone layer per category.

    Returns
    -------
    Path
        The HTML file written (atomic).
    """
    t = labels("map", lang)
    rec = data.record

    def label(c: str) -> str:
        return category_label(rec, c, lang)

    minutes = data.minutes or [15.0]
    top = max(minutes)
    res = data.residents
    # large inputs: residents summed into squares, drawn on a canvas (module docstring)
    agg_m = aggregation_cell_m(res, MAP_MAX_FEATURES) if len(res) > MAP_MAX_FEATURES else None
    m = base_map(res, t, canvas=agg_m is not None)

    band_colour = {
        mm: BAND_COLOURS[min(i, len(BAND_COLOURS) - 1)] for i, mm in enumerate(sorted(minutes))
    }
    simplify = SIMPLIFY_M if agg_m is None else max(SIMPLIFY_M, agg_m / 8)
    has_iso = _isochrone_layers(
        m, data, t, label, band_colour, per_category_isochrones, simplify, lang
    )
    _districts_layer(m, data, t, minutes, lang)
    cmap = cm.LinearColormap(["#1a9850", "#fee08b", "#d73027"], vmin=0, vmax=top)
    note = ""
    if agg_m is None:
        is_point = _residents_layer(m, res, rec, t, cmap, top, lang)
        _islands_layer(m, data, t)
        _gaps_layer(m, res, rec, t, top, is_point, _first_band(data), lang)
        supply_layer(m, res, rec, lang)
    else:
        agg = aggregate_residents(res, agg_m, minutes)
        _aggregated_layers(m, agg, t, cmap, minutes, lang)
        _islands_layer(m, data, t)
        # 2SFCA scores (if any) as population-weighted means per square
        supply = aggregate_population(res, agg_m, means=SUPPLY_COLUMNS)
        supply_layer(m, supply, {"supply": rec.get("supply", {})}, lang)
        is_point = not is_grid(rec)  # how the smaller layers below draw residents
        note = t["agg_note"].format(size=number(agg_m, lang), n=number(len(res), lang),
                                    k=number(len(agg), lang))  # fmt: skip
    _scenario_layers(m, data, rec, t, is_point, agg_m, lang)
    _priority_layer(m, data, lang, is_point)

    # Sites by category (distinct colour and letter), popups escaped.
    sites = data.sites
    near = _near_counts(res, minutes)
    cats = [c for c in data.categories if c != "all"]
    cats += [c for c in dict.fromkeys(sites["category"].astype(str)) if c not in cats]
    # one colour per category across charts and maps, one letter per category and language
    colours = category_colours(cats)
    letters = category_letters(cats, label, lang)
    for c in cats:
        part = sites[sites["category"].astype(str) == c]
        if part.empty:
            continue
        colour = colours[c]
        # the layer control shows each category's marker, so it is the markers' legend too
        name = f"{badge_html(letters[c], colour)} {t['sites'].format(c=esc(label(c)), n=len(part))}"
        _site_layer(m, to_wgs(part), name, colour, letters[c], t, (near, minutes), label=label,
                    lang=lang)  # fmt: skip

    _area_outline(m, rec, t)
    layer_control(m)
    m.add_child(Fullscreen(t["fullscreen"]))
    m.add_child(Attribution(rec.get("attribution") or []))
    root = m.get_root()
    bands = (
        [(t["band"].format(m=num(mm, lang)), c) for mm, c in band_colour.items()] if has_iso else []
    )
    title_ = t["legend_agg"] if agg_m is not None else t["legend"]
    root.html.add_child(  # type: ignore[attr-defined]
        Element(
            _legend_html(cmap, title_, t["unreached"].format(m=num(top, lang)), bands, note, lang)
        )
    )
    add_title(m, title)
    return write_text(root.render(), path)


def _isochrone_layers(
    m: folium.Map,
    data: OutputData,
    t: dict,
    label: Callable[[str], str],
    band_colour: dict[float, str],
    per_category: bool,
    simplify_m: float = SIMPLIFY_M,
    lang: str = "en",
) -> bool:
    """Isochrone bands of ``all`` (shown) and, if ``per_category``, of each category
    (hidden); bands in minutes, coloured as in the legend. True if there are isochrones."""
    # Isochrone bands (category unions), largest first so smaller bands draw on top; the
    # colour of a band is that of its threshold, as in the legend.
    iso = data.isochrones
    has_iso = iso is not None and len(iso) > 0
    if iso is not None and has_iso:
        iso = iso[iso["kind"] == "category"]
        cats = [c for c in data.categories if c in set(iso["category"])]
        show_cats = ["all"] + ([c for c in cats if c != "all"] if per_category else [])
        iso = _simplified(iso[iso["category"].isin(show_cats)], simplify_m)
        for c in show_cats:
            part = iso[(iso["category"] == c) & ~iso.geometry.is_empty]
            if part.empty:
                continue
            part = to_wgs(part.sort_values("minutes", ascending=False))
            mins = part["minutes"].to_numpy(float)
            fc = features(part, {"band": [t["band"].format(m=num(mm, lang)) for mm in mins],
                                  "category": [esc(label(c))] * len(part), "colour": [band_colour[mm] for mm in mins]})  # fmt: skip
            folium.GeoJson(
                fc,
                name=t["iso"].format(c=esc(label(c))),
                show=(c == "all"),
                style_function=lambda f: {
                    "color": f["properties"]["colour"],
                    "weight": 1,
                    "fillColor": f["properties"]["colour"],
                    "fillOpacity": 0.25,
                },  # fmt: skip
                tooltip=tooltip_fields(["band", "category"], ["", t["category"]]),
            ).add_to(m)
    return has_iso


def _simplified(iso: gpd.GeoDataFrame, simplify_m: float) -> gpd.GeoDataFrame:
    """The bands simplified with ``simplify_m`` metres, then again with a doubled tolerance
    until they have at most :data:`ISO_MAX_COORDS` coordinates (large areas: the page
    stays small; each pass works on the previous, smaller result)."""
    # polygon by polygon: the topology-preserving simplifier is slow on huge multipolygons
    parts, idx = shapely.get_parts(iso.geometry.to_numpy(), return_index=True)
    parts = shapely.simplify(parts, simplify_m)
    tol = simplify_m
    while tol < 1000.0 and shapely.get_num_coordinates(parts).sum() > ISO_MAX_COORDS:
        tol *= 2.0
        parts = shapely.simplify(parts, tol)
    keep = ~shapely.is_empty(parts)
    out = np.array([shapely.MultiPolygon()] * len(iso), dtype=object)
    if keep.any():
        shapely.multipolygons(parts[keep], indices=idx[keep], out=out)
    return iso.set_geometry(out)


def _districts_layer(
    m: folium.Map, data: OutputData, t: dict, minutes: list[float], lang: str = "en"
) -> None:
    """Districts (hidden) coloured by the share of residents within the middle threshold."""
    # Districts with coverage share.
    if data.districts is not None and len(data.districts):
        d = district_layer(data.districts, data.summary_districts)
        mid = minutes[len(minutes) // 2]
        col = f"share_all_{mid:g}"
        share = d[col].to_numpy(float) if col in d else np.full(len(d), np.nan)
        dcmap = cm.LinearColormap(["#f7fbff", "#08306b"], vmin=0, vmax=1)
        props = {"district": [esc(x) for x in d["district"]],
                 "colour": [dcmap(v) if np.isfinite(v) else UNREACHED for v in share]}  # fmt: skip
        fields, aliases = ["district"], [t["district"]]
        for mm in minutes:
            c = f"share_all_{mm:g}"
            props[c] = [pct(v, lang) for v in
                        (d[c].to_numpy(float) if c in d else np.full(len(d), np.nan))]  # fmt: skip
            fields.append(c)
            aliases.append(t["share"].format(m=num(mm, lang)))
        folium.GeoJson(
            features(to_wgs(d, SIMPLIFY_M), props),
            name=t["districts"].format(m=num(mid, lang)),
            show=False,
            style_function=lambda f: {
                "color": "#333",
                "weight": 1.5,
                "fillColor": f["properties"]["colour"],
                "fillOpacity": 0.4,
            },  # fmt: skip
            tooltip=tooltip_fields(fields, aliases),
        ).add_to(m)


def _residents_layer(
    m: folium.Map,
    res: gpd.GeoDataFrame,
    rec: dict,
    t: dict,
    cmap: cm.LinearColormap,
    top: float,
    lang: str = "en",
) -> bool:
    """Residents coloured by minutes to the nearest site (``top``: largest threshold,
    minutes); True if they are drawn as points (not grid cells)."""
    # Residents coloured by minutes (cells as 100 m squares for Zensus grid input).
    cells = to_wgs(resident_layer(res, rec))
    mins = res["minutes_all"].to_numpy(float)
    colours = [cmap(x) if np.isfinite(x) and x <= top else UNREACHED for x in mins]
    rprops = {
        "population": [fmt(x, 0, lang) for x in res["population"]],
        "minutes": [fmt(x, 1, lang) if np.isfinite(x) else t["unreachable"] for x in mins],
        "nearest": [esc(x) for x in res.get("nearest_site_name", [""] * len(res))],
        "colour": colours,
    }
    rfields = ["population", "minutes", "nearest"]
    raliases = [t["population"], t["minutes"], t["nearest"]]
    is_point = (cells.geom_type == "Point").all()
    marker = (
        folium.CircleMarker(radius=4, weight=0, fill=True, fill_opacity=0.8) if is_point else None
    )
    folium.GeoJson(
        features(cells, rprops),
        name=t["residents"],
        marker=marker,
        style_function=lambda f: {
            "color": f["properties"]["colour"],
            "weight": 0.5,
            "fillColor": f["properties"]["colour"],
            "fillOpacity": 0.6,
        },  # fmt: skip
        tooltip=tooltip_fields(rfields, raliases),
    ).add_to(m)
    return bool(is_point)


def _islands_layer(m: folium.Map, data: OutputData, t: dict) -> None:
    """Network edges on pruned islands, if any."""
    # Pruned network islands: shown for checking the OSM data; nothing snaps onto them.
    if data.islands is not None and len(data.islands):
        folium.GeoJson(
            features(to_wgs(data.islands), {}),
            name=t["islands"],
            show=True,
            style_function=lambda f: {"color": "#6a3d9a", "weight": 2, "opacity": 0.8},
        ).add_to(m)


def _first_band(data: OutputData):
    """The smallest isochrone band of all categories (a shapely geometry, network CRS), or None."""
    iso = data.isochrones
    if iso is None or not len(iso) or "kind" not in iso:
        return None
    part = iso[(iso["kind"] == "category") & (iso["category"] == "all") & ~iso.geometry.is_empty]
    if part.empty:
        return None
    first = part["minutes"].min()
    return part[part["minutes"] == first].geometry.union_all(), float(first)


def _gap_reasons(gaps: gpd.GeoDataFrame, cells: gpd.GeoDataFrame, t: dict, top: float,
                 band, lang: str = "en") -> list[str]:  # fmt: skip
    """Why each gap (resident beyond ``top`` minutes) is one, from its ``fragment`` and
    ``island`` flags; says so when it lies inside the smallest isochrone band."""
    mins = gaps["minutes_all"].to_numpy(float)
    n = len(gaps)
    frag = gaps["fragment"].to_numpy(bool) if "fragment" in gaps else np.zeros(n, dtype=bool)
    isl = gaps["island"].to_numpy(bool) if "island" in gaps else np.zeros(n, dtype=bool)
    no_path = ~np.isfinite(mins)
    why = np.where(
        no_path & frag, t["why_fragment_nopath"],
        np.where(no_path, t["why_nopath"],
                 np.where(frag, t["why_fragment"],
                          np.where(isl, t["why_island"], t["why_detour"].format(m=num(top, lang))))),
    ).astype(object)  # fmt: skip
    if band is not None:
        geom, first = band
        inside = shapely.intersects(cells.geometry.to_numpy(), geom)
        why[inside] = [t["in_band"].format(m=num(first, lang), why=w) for w in why[inside]]
    return [esc(w) for w in why]


def _gaps_layer(
    m: folium.Map, res: gpd.GeoDataFrame, rec: dict, t: dict, top: float, is_point: bool,
    band=None, lang: str = "en",
) -> None:  # fmt: skip
    """Residents beyond ``top`` minutes (the largest threshold), if any; the popup says why
    (no path, on a separate network piece, snapped off an island, or a detour), also when
    the cell lies inside the smallest isochrone band (``band``: geometry and minutes)."""
    # Gaps: populated cells beyond the largest threshold.
    gaps = gaps_layer(res, top)
    if len(gaps):
        cells = resident_layer(gaps, rec)
        g = to_wgs(cells)
        gm = gaps["minutes_all"].to_numpy(float)
        gprops = {"population": [fmt(x, 0, lang) for x in gaps["population"]],
                  "minutes": [fmt(x, 1, lang) if np.isfinite(x) else t["unreachable"] for x in gm],
                  "why": _gap_reasons(gaps, cells, t, top, band, lang)}  # fmt: skip
        fields = ["population", "minutes", "why"]
        aliases = [t["population"], t["minutes"], t["why"]]
        folium.GeoJson(
            features(g, gprops),
            name=t["gaps"].format(m=num(top, lang)),
            marker=folium.CircleMarker(radius=5, color="#b2182b", weight=2, fill=False)
            if is_point
            else None,
            style_function=lambda f: {
                "color": "#b2182b",
                "weight": 2,
                "fillColor": "#b2182b",
                "fillOpacity": 0.15,
                "dashArray": "4 3",
            },  # fmt: skip
            tooltip=tooltip_fields(fields, aliases),
            popup=folium.GeoJsonPopup(fields=fields, aliases=aliases, labels=True),
        ).add_to(m)


def _priority_layer(m: folium.Map, data: OutputData, lang: str, is_point: bool) -> None:
    """Priority areas (need × gap, issue 15): cells with a priority above 0, darker the higher
    their priority × residents; hidden at first."""
    p = data.priority
    if p is None or not len(p):
        return
    p = p[p["priority_total"].to_numpy(float) > 0]
    if not len(p):
        return
    t = labels("priority", lang)
    pt = p["priority_total"].to_numpy(float)
    top = float(np.quantile(pt, 0.95)) or float(pt.max())
    pcm = cm.LinearColormap(["#fee8c8", "#fdbb84", "#e34a33", "#7f0000"], vmin=0, vmax=top)
    mins = p["minutes"].to_numpy(float)
    props = {
        "rank": [str(int(x)) for x in p["rank"]],
        "area": [esc(x) for x in p["area"]],
        "population": [fmt(x, 0, lang) for x in p["population"]],
        "need": [fmt(x, 2, lang) for x in p["need"]],
        "minutes": [fmt(x, 1, lang) if np.isfinite(x) else t["unreachable"] for x in mins],
        "priority": [fmt(x, 1, lang) for x in p["priority"]],
        "colour": [pcm(min(x, top)) for x in pt],
    }
    fields = ["rank", "area", "population", "need", "minutes", "priority"]
    aliases = [t["rank"], t["area"], t["residents"], t["need"], t["minutes"], t["priority"]]
    folium.GeoJson(
        features(to_wgs(p), props),
        name=t["layer"],
        show=False,
        marker=folium.CircleMarker(radius=5, weight=0, fill=True, fill_opacity=0.85)
        if is_point
        else None,
        style_function=lambda f: {
            "color": f["properties"]["colour"],
            "weight": 0.5,
            "fillColor": f["properties"]["colour"],
            "fillOpacity": 0.75,
        },  # fmt: skip
        tooltip=tooltip_fields(fields, aliases),
    ).add_to(m)


def _aggregated_layers(
    m: folium.Map,
    agg: gpd.GeoDataFrame,
    t: dict,
    cmap: cm.LinearColormap,
    minutes: list[float],
    lang: str = "en",
) -> None:
    """Residents summed into squares (:func:`aggregate_residents`): coloured by the
    population-weighted median minutes; squares with residents beyond the largest threshold
    as the gaps layer (persons beyond, without any path, on a separate network piece)."""
    top = max(minutes)
    med = agg["median_minutes"].to_numpy(float)
    mn = agg["min_minutes"].to_numpy(float)
    g = to_wgs(agg, decimals=5)  # ≈ 1 m; the squares are 200 m or larger

    def mfmt(x: float) -> str:
        return fmt(x, 1, lang) if np.isfinite(x) else t["unreachable"]

    props = {
        "population": [fmt(x, 0, lang) for x in agg["population"]],
        "points": [fmt(x, 0, lang) for x in agg["points"]],
        "median": [mfmt(x) for x in med],
        "min": [mfmt(x) for x in mn],
        "colour": [cmap(x) if np.isfinite(x) and x <= top else UNREACHED for x in med],
    }
    fields = ["population", "points", "median", "min"]
    aliases = [t["population"], t["agg_points"], t["median"], t["min"]]
    for mm in minutes:
        key = f"share_{mm:g}"
        props[key] = [pct(v, lang) for v in agg[key].to_numpy(float)]
        fields.append(key)
        aliases.append(t["share"].format(m=num(mm, lang)))
    folium.GeoJson(
        features(g, props),
        name=t["residents"],
        style_function=lambda f: {"color": f["properties"]["colour"], "weight": 0.5,
                                  "fillColor": f["properties"]["colour"], "fillOpacity": 0.6},
        tooltip=tooltip_fields(fields, aliases),
    ).add_to(m)  # fmt: skip
    gap = agg["beyond"].to_numpy(float) > 0
    if gap.any():
        ga = agg[gap]
        gprops = {"beyond": [fmt(x, 0, lang) for x in ga["beyond"]],
                  "no_path": [fmt(x, 0, lang) for x in ga["no_path"]],
                  "fragment": [fmt(x, 0, lang) for x in ga["fragment"]]}  # fmt: skip
        gfields = ["beyond", "no_path", "fragment"]
        galiases = [t["beyond"].format(m=num(top, lang)), t["no_path"], t["on_fragment"]]
        folium.GeoJson(
            features(g[gap], gprops),
            name=t["gaps"].format(m=num(top, lang)),
            style_function=lambda f: {"color": "#b2182b", "weight": 2, "fill": False,
                                      "dashArray": "4 3"},
            tooltip=tooltip_fields(gfields, galiases),
            popup=folium.GeoJsonPopup(fields=gfields, aliases=galiases, labels=True),
        ).add_to(m)  # fmt: skip


def _scenario_layers(
    m: folium.Map,
    data: OutputData,
    rec: dict,
    t: dict,
    is_point: bool,
    agg_m: float | None = None,
    lang: str = "en",
) -> None:
    """Newly covered / lost residents and changed sites of a scenario, when given.

    Resident layers with more than :data:`MAP_MAX_FEATURES` rows are summed into squares
    (``agg_m`` metres, or the size fitting that many squares). Added and moved sites are
    drawn as gold ★ markers above every other marker; closed ones as a grey ✕.
    """
    # Scenario layers (from accessibility.scenarios output files) when present.
    for key, layer_name, colour in (
        ("newly_covered", t["newly"], "#00a651"),
        ("lost_coverage", t["lost"], "#d7301f"),
    ):
        sc = data.scenario.get(key)
        if sc is None or not len(sc):
            continue
        if len(sc) > MAP_MAX_FEATURES:
            size = agg_m or aggregation_cell_m(sc, MAP_MAX_FEATURES)
            agg = aggregate_population(sc, size)
            folium.GeoJson(
                features(to_wgs(agg, decimals=5), {"population": [fmt(x, 0, lang) for x in agg["population"]],
                                       "points": [fmt(x, 0, lang) for x in agg["points"]]}),
                name=t["sc_agg"].format(layer=layer_name, size=number(size, lang)),
                style_function=lambda f, c=colour: {"color": c, "weight": 2, "fillColor": c,
                                                    "fillOpacity": 0.4},
                tooltip=tooltip_fields(["population", "points"], [t["population"], t["agg_points"]]),
            ).add_to(m)  # fmt: skip
            continue
        sg = to_wgs(resident_layer(sc, rec) if "population" in sc else sc)
        sprops = {"population": [fmt(x, 0, lang) for x in sc.get("population", [np.nan] * len(sc))],
                  "before": [fmt(x, 1, lang) for x in sc.get("minutes_before", [np.nan] * len(sc))],
                  "after": [fmt(x, 1, lang) for x in sc.get("minutes_after", [np.nan] * len(sc))]}  # fmt: skip
        folium.GeoJson(
            features(sg, sprops), name=layer_name,
            marker=folium.CircleMarker(radius=5, color=colour, weight=3, fill=False) if is_point else None,
            style_function=lambda f, c=colour: {"color": c, "weight": 3, "fillColor": c, "fillOpacity": 0.5},
            tooltip=tooltip_fields(["population", "before", "after"], [t["population"], t["before"], t["after"]]),
        ).add_to(m)  # fmt: skip
    ss = data.scenario.get("scenario_sites")
    if ss is not None and len(ss) and "change" in ss:
        ss = ss[ss["change"].astype(str) != "unchanged"]
        for ch, part in ss.groupby(ss["change"].astype(str), sort=False):
            ch_text = t.get(f"change_{ch}", ch)
            closed = ch in ("removed", "closed")
            _site_layer(m, to_wgs(part), t["ssites"].format(c=esc(ch_text)),
                        "#777777" if closed else PROPOSED_COLOUR, "✕" if closed else "★", t, None,
                        ch_text, proposed=not closed, lang=lang)  # fmt: skip


def _area_outline(m, rec: dict, t: dict) -> None:
    """The study area's outline (``run.json`` ``study_area.geometry``, EPSG:4326), if the run had one."""
    geom = (rec.get("study_area") or {}).get("geometry")
    if not geom:
        return
    import shapely.geometry

    area = shapely.geometry.shape(geom)
    outline = gpd.GeoDataFrame(geometry=[area], crs="EPSG:4326")
    folium.GeoJson(
        features(to_wgs(outline, SIMPLIFY_M), {}),
        name=t["area"],
        style_function=lambda f: {"color": "#222222", "weight": 2.5, "dashArray": "8 4",
                                  "fill": False, "fillOpacity": 0},
        interactive=False,
    ).add_to(m)  # fmt: skip


def _near_counts(res: gpd.GeoDataFrame, minutes: list[float]) -> dict:
    """Residents per nearest site id (category ``all``) within each threshold."""
    out: dict = {}
    if "nearest_site_id" not in res:
        return out
    ids = res["nearest_site_id"].astype(object).to_numpy()
    pop = res["population"].to_numpy(float)
    mins = res["minutes_all"].to_numpy(float)
    for mm in minutes:
        ok = mins <= mm
        s = pd.Series(pop[ok]).groupby(ids[ok]).sum()
        out[mm] = s.to_dict()
    return out


def _site_layer(m, part, name, colour, letter, t, near, change=None, label=str,
                proposed: bool = False, lang: str = "en") -> None:  # fmt: skip
    """One layer of site markers; ``proposed`` ones are larger, outlined in black, and drawn
    above every other marker (Leaflet ``zIndexOffset``)."""
    props = {
        "name": [esc(x) for x in part["name"]],
        "category": [esc(label(str(x))) for x in part["category"]],
        "source": [esc(x) for x in part.get("source", [""] * len(part))],
    }
    fields, aliases = ["name", "category", "source"], [t["name"], t["category"], t["source"]]
    if "access_m" in part:
        props["access"] = [fmt(x, 0, lang) for x in part["access_m"]]
        fields.append("access")
        aliases.append(t["access"])
    if change is not None:
        props["change"] = [esc(change)] * len(part)
        fields.append("change")
        aliases.append(t["change"])
    if near is not None:
        counts, minutes = near
        for mm in minutes:
            key = f"near_{mm:g}"
            props[key] = [fmt(counts.get(mm, {}).get(sid, 0.0), 0, lang) for sid in part["site_id"]]
            fields.append(key)
            aliases.append(t["near_within"].format(m=num(mm, lang)))
    folium.GeoJson(
        features(part, props),
        name=name,
        marker=folium.Marker(
            icon=folium.DivIcon(
                html=proposed_icon_html(letter, colour) if proposed else icon_html(letter, colour),
                icon_size=(32, 32) if proposed else (26, 26),
                icon_anchor=(16, 16) if proposed else (13, 13),
                class_name="acc-site acc-proposed" if proposed else "acc-site",
            ),
            z_index_offset=PROPOSED_Z if proposed else 0,
        ),  # fmt: skip
        popup=folium.GeoJsonPopup(fields=fields, aliases=aliases, labels=True),
        tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
    ).add_to(m)

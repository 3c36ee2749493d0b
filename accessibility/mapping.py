"""The Folium map (``map.html``): sites, isochrone bands, residents, gaps, districts, scenario.

Safety: every name from OSM or a user file is HTML-escaped in Python before it
reaches the page; GeoJSON is embedded with Jinja's ``tojson`` (``<``, ``>``, ``&``
and ``'`` as ``\\u`` escapes), so neither ``<img onerror=…>`` nor ``</script>`` can
run. Offline: Leaflet (JS + CSS, the package's vendored copy in ``vendor/leaflet``) is
inlined into the page, with no jQuery, Bootstrap or icon fonts; the legend, title,
fullscreen button and site icons are plain HTML/CSS. The page requests nothing but
background tiles, so every data layer renders without any network.
Size: polygons are simplified (:data:`SIMPLIFY_M`) and coordinates rounded to
:data:`DECIMALS` decimals (≈ 0.1 m).
"""

from __future__ import annotations

import base64
import functools
import html
import json
import re
from pathlib import Path

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from ._io import write_text
from .analysis import ALL
from .exports import OutputData, district_layer, gaps_layer, resident_layer
from .report import category_label

#: Leaflet (version folium expects), inlined into every map.
LEAFLET_DIR = Path(__file__).parent / "vendor" / "leaflet"
#: Simplification tolerance (metres) for polygons drawn on the map.
SIMPLIFY_M = 2.0
#: Decimal places of longitude/latitude on the map.
DECIMALS = 6
#: Colours of the site categories (cycled), and of the isochrone bands (small → large).
CATEGORY_COLOURS = ["#1f78b4", "#e31a1c", "#33a02c", "#ff7f00", "#6a3d9a", "#b15928", "#a6cee3",
                    "#fb9a99", "#b2df8a", "#fdbf6f"]  # fmt: skip
BAND_COLOURS = ["#08519c", "#3182bd", "#6baed6", "#9ecae1", "#c6dbef"]
UNREACHED = "#888888"
#: The light base layer (no API key needed).
LIGHT_TILES = (
    "https://server.arcgisonline.com/ArcGIS/rest/services/Canvas/World_Light_Gray_Base/MapServer/"
    "tile/{z}/{y}/{x}"
)
LIGHT_ATTR = "Tiles © Esri — Esri, HERE, Garmin, © OpenStreetMap contributors"

_T = {
    "en": {
        "sites": "Docking points: {c} ({n})", "iso": "Walking isochrones: {c}",
        "residents": "Residents by walking minutes", "gaps": "Gaps: residents beyond {m:g} min",
        "districts": "Districts: share within {m:g} min", "name": "Name", "category": "Category",
        "source": "Source", "minutes": "Walking minutes", "population": "Residents",
        "nearest": "Nearest docking point", "district": "District", "share": "Share ≤ {m:g} min",
        "near_within": "Residents for whom this is the nearest point, ≤ {m:g} min",
        "access": "Access leg (m)", "band": "≤ {m:g} min walk", "legend": "Walking minutes to the nearest docking point",
        "unreached": "more than {m:g} min or unreachable", "newly": "Scenario: newly covered residents",
        "lost": "Scenario: residents losing coverage", "ssites": "Scenario: sites ({c})",
        "change": "Change", "before": "Minutes before", "after": "Minutes after", "fullscreen": "Full screen",
        "unreachable": "unreachable", "light": "Light grey (Esri)",
        "rank_title": "Best {k} of {n} candidates ({m:g} min)",
        "pick_layer": "#{j} {name}: {gain:,.0f} newly covered", "already": "Covered by existing sites",
        "still": "Not covered within {m:g} min", "existing": "Existing docking points",
        "others": "Other candidates", "picks": "Chosen candidates (greedy order)",
        "rank": "Rank", "gain": "Newly covered", "cumulative": "Covered with #1…#{j}",
        "reach": "Residents within {m:g} min", "visibility": "Visibility (0–1)",
        "res_text": "{p:,.0f} residents", "cand_text": "{name}: {reach:,.0f} residents within {m:g} min",
        "critical_title": "Who loses coverage if a site closes ({m:g} min)",
        "only_one": "Covered by one site only (≤ {m:g} min)", "only_text": "{p:,.0f} residents, only by {name}",
        "two_plus": "Covered by 2+ sites (≤ {m:g} min)", "two_text": "{p:,.0f} residents, by {n} sites",
        "critical": "Sites by loss if closed (1 = largest)", "loss": "Residents losing coverage (≤ {m:g} min)",
    },
    "de": {
        "sites": "Andockstellen: {c} ({n})", "iso": "Fußweg-Isochronen: {c}",
        "residents": "Bewohner nach Gehminuten", "gaps": "Lücken: Bewohner über {m:g} min",
        "districts": "Stadtteile: Anteil ≤ {m:g} min", "name": "Name", "category": "Kategorie",
        "source": "Quelle", "minutes": "Gehminuten", "population": "Einwohner",
        "nearest": "Nächste Andockstelle", "district": "Stadtteil", "share": "Anteil ≤ {m:g} min",
        "near_within": "Einwohner mit dieser nächsten Stelle, ≤ {m:g} min",
        "access": "Zugangsweg (m)", "band": "≤ {m:g} min Fußweg", "legend": "Gehminuten zur nächsten Andockstelle",
        "unreached": "mehr als {m:g} min oder nicht erreichbar", "newly": "Szenario: neu versorgte Bewohner",
        "lost": "Szenario: Bewohner mit Verlust", "ssites": "Szenario: Standorte ({c})",
        "change": "Änderung", "before": "Minuten vorher", "after": "Minuten nachher", "fullscreen": "Vollbild",
        "unreachable": "nicht erreichbar", "light": "Hellgrau (Esri)",
        "rank_title": "Die besten {k} von {n} Kandidaten ({m:g} min)",
        "pick_layer": "#{j} {name}: {gain:,.0f} neu versorgt", "already": "Durch bestehende Stellen versorgt",
        "still": "Nicht versorgt innerhalb {m:g} min", "existing": "Bestehende Andockstellen",
        "others": "Weitere Kandidaten", "picks": "Gewählte Kandidaten (Reihenfolge des Greedy-Verfahrens)",
        "rank": "Rang", "gain": "Neu versorgt", "cumulative": "Versorgt mit #1…#{j}",
        "reach": "Einwohner innerhalb {m:g} min", "visibility": "Sichtbarkeit (0–1)",
        "res_text": "{p:,.0f} Einwohner", "cand_text": "{name}: {reach:,.0f} Einwohner innerhalb {m:g} min",
        "critical_title": "Wer die Versorgung verliert, wenn eine Stelle schließt ({m:g} min)",
        "only_one": "Nur von einer Stelle versorgt (≤ {m:g} min)", "only_text": "{p:,.0f} Einwohner, nur von {name}",
        "two_plus": "Von 2+ Stellen versorgt (≤ {m:g} min)", "two_text": "{p:,.0f} Einwohner, von {n} Stellen",
        "critical": "Stellen nach Verlust bei Schließung (1 = größter)", "loss": "Einwohner mit Verlust (≤ {m:g} min)",
    },
}  # fmt: skip


def _esc(value: object) -> str:
    """HTML-escape a value for the page (``None`` → empty)."""
    return html.escape("" if value is None else str(value), quote=True)


def _fmt(v: object, nd: int = 1) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return _esc(v)
    return "–" if not np.isfinite(f) else f"{f:,.{nd}f}"


def _wgs(gdf: gpd.GeoDataFrame, simplify_m: float = 0.0) -> gpd.GeoDataFrame:
    """Simplify (metres, in the metric CRS), reproject to EPSG:4326 and round coordinates."""
    g = gdf
    if simplify_m > 0 and len(g) and g.crs is not None and g.crs.is_projected:
        g = g.set_geometry(shapely.simplify(g.geometry.to_numpy(), simplify_m))
    g = g.to_crs("EPSG:4326")
    geoms = shapely.transform(g.geometry.to_numpy(), lambda c: np.round(c, DECIMALS))
    return g.set_geometry(geoms)


def _features(gdf: gpd.GeoDataFrame, props: dict[str, list]) -> dict:
    """GeoJSON FeatureCollection with the given (already escaped/formatted) properties."""
    geoms = [json.loads(s) for s in shapely.to_geojson(gdf.geometry.to_numpy())]
    keys = list(props)
    feats = [
        {"type": "Feature", "geometry": g, "properties": {k: props[k][i] for k in keys}}
        for i, g in enumerate(geoms)
        if g is not None
    ]
    return {"type": "FeatureCollection", "features": feats}


class _Fullscreen(MacroElement):
    """A fullscreen button using the browser Fullscreen API (no plugin download)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        (function(){
          var C = L.Control.extend({options: {position: 'topleft'}, onAdd: function(map) {
            var a = L.DomUtil.create('a', 'leaflet-bar acc-fullscreen');
            a.href = '#'; a.title = {{ this.label|tojson }};
            a.innerHTML = '<svg width="16" height="16" viewBox="0 0 16 16" style="vertical-align:middle">' +
              '<path d="M1 6V1h5M10 1h5v5M15 10v5h-5M6 15H1v-5" fill="none" stroke="#333" stroke-width="2"/></svg>';
            a.style.cssText = 'display:block;width:30px;height:30px;line-height:30px;' +
              'text-align:center;background:#fff;font-size:18px;color:#000;text-decoration:none';
            L.DomEvent.on(a, 'click', function(e) {
              L.DomEvent.preventDefault(e);
              var c = map.getContainer();
              if (document.fullscreenElement) { document.exitFullscreen(); }
              else if (c.requestFullscreen) { c.requestFullscreen(); }
            });
            return a;
          }});
          new C().addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}"""
    )

    def __init__(self, label: str):
        super().__init__()
        self.label = label


class _Attribution(MacroElement):
    """Data attributions in Leaflet's attribution control (shown with or without tiles)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        {% for line in this.lines %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ line|tojson }});
        {% endfor %}
        {% endmacro %}"""
    )

    def __init__(self, lines: list[str]):
        super().__init__()
        self.lines = [_esc(x) for x in lines]


def _legend_html(
    cmap: cm.LinearColormap, title: str, unreached: str, bands: list[tuple[str, str]] = ()
) -> str:
    """Legend: residents' minutes (colour bar), unreached, and the isochrone bands' colours."""
    svg = cmap._repr_html_()

    def swatch(colour: str, label: str, opacity: float = 1.0) -> str:
        return (f'<span style="display:inline-block;width:12px;height:12px;background:{colour};'
                f'opacity:{opacity};vertical-align:middle;margin-left:6px"></span> {_esc(label)}')  # fmt: skip

    band_row = "".join(swatch(c, label, 0.6) for label, c in bands)
    return (
        '<div class="acc-legend" style="position:absolute;z-index:1000;right:10px;bottom:40px;'
        'background:rgba(255,255,255,.9);padding:6px 8px;border-radius:4px;font:12px sans-serif">'
        f"<div><b>{_esc(title)}</b></div>{svg}"
        f"<div>{swatch(UNREACHED, unreached)}</div>"
        + (f'<div class="acc-bands">{band_row}</div>' if bands else "")
        + "</div>"
    )


def _letters(labels: list[str]) -> list[str]:
    """Marker letters: each label's initial, or its first two letters where taken."""
    out: list[str] = []
    for lab in labels:
        if not lab:
            out.append("")
            continue
        one = lab[:1].upper()
        two = one + lab[1:2].lower()
        out.append(one if one not in out else two if two not in out else str(len(out) + 1))
    return out


def _badge_html(letter: str, colour: str) -> str:
    """A small inline copy of a site marker (for the layer control)."""
    return (
        f'<span class="acc-badge" style="display:inline-block;background:{colour};color:#fff;'
        "border-radius:50%;min-width:16px;height:16px;text-align:center;"
        f'font:bold 9px/16px sans-serif;vertical-align:middle">{_esc(letter)}</span>'
    )


def _icon_html(letter: str, colour: str) -> str:
    return (
        f'<div style="background:{colour};color:#fff;border:2px solid #fff;border-radius:50%;'
        "width:22px;height:22px;text-align:center;font:bold 12px/22px sans-serif;"
        f'box-shadow:0 0 3px #000">{_esc(letter)}</div>'
    )


def _tooltip_fields(fields: list[str], aliases: list[str], sticky: bool = True):
    return folium.GeoJsonTooltip(fields=fields, aliases=aliases, sticky=sticky, labels=True)


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
        From :func:`accessibility.exports.load_folder`.
    path : path
        Output HTML file.
    title : str
        Title at the top of the map (escaped).
    lang : {"en", "de"}
        Labels.
    per_category_isochrones : bool
        Also add one (hidden) isochrone layer per category.
    """
    t = _T.get(lang, _T["en"])
    rec = data.record

    def label(c: str) -> str:
        return category_label(rec, c, lang)

    minutes = data.minutes or [15.0]
    top = max(minutes)
    res = data.residents
    m = offline_map(zoom_snap=0.25)
    osm_attr = "Tiles: OpenStreetMap"  # the data line credits © OpenStreetMap contributors
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap", attr=osm_attr).add_to(m)
    folium.TileLayer(LIGHT_TILES, name=t["light"], attr=LIGHT_ATTR, show=False).add_to(m)
    w, s, e, n = res.to_crs("EPSG:4326").total_bounds
    m.fit_bounds([[s, w], [n, e]])

    # Isochrone bands (category unions), largest first so smaller bands draw on top.
    iso = data.isochrones
    if iso is not None and len(iso):
        iso = iso[iso["kind"] == "category"]
        cats = [c for c in data.categories if c in set(iso["category"])]
        show_cats = ["all"] + ([c for c in cats if c != "all"] if per_category_isochrones else [])
        for c in show_cats:
            part = iso[(iso["category"] == c) & ~iso.geometry.is_empty]
            if part.empty:
                continue
            part = _wgs(part.sort_values("minutes", ascending=False), SIMPLIFY_M)
            mins = part["minutes"].to_numpy(float)
            order = sorted(set(mins))
            colour = {mm: BAND_COLOURS[min(i, len(BAND_COLOURS) - 1)] for i, mm in enumerate(order)}
            fc = _features(part, {"band": [t["band"].format(m=mm) for mm in mins],
                                  "category": [_esc(label(c))] * len(part), "colour": [colour[mm] for mm in mins]})  # fmt: skip
            folium.GeoJson(
                fc,
                name=t["iso"].format(c=_esc(label(c))),
                show=(c == "all"),
                style_function=lambda f: {
                    "color": f["properties"]["colour"],
                    "weight": 1,
                    "fillColor": f["properties"]["colour"],
                    "fillOpacity": 0.25,
                },  # fmt: skip
                tooltip=_tooltip_fields(["band", "category"], ["", t["category"]]),
            ).add_to(m)

    # Districts with coverage share.
    if data.districts is not None and len(data.districts):
        d = district_layer(data.districts, data.summary_districts)
        mid = minutes[len(minutes) // 2]
        col = f"share_all_{mid:g}"
        share = d[col].to_numpy(float) if col in d else np.full(len(d), np.nan)
        dcmap = cm.LinearColormap(["#f7fbff", "#08306b"], vmin=0, vmax=1)
        props = {"district": [_esc(x) for x in d["district"]],
                 "colour": [dcmap(v) if np.isfinite(v) else UNREACHED for v in share]}  # fmt: skip
        fields, aliases = ["district"], [t["district"]]
        for mm in minutes:
            c = f"share_all_{mm:g}"
            props[c] = [f"{v:.1%}" if np.isfinite(v) else "–" for v in
                        (d[c].to_numpy(float) if c in d else np.full(len(d), np.nan))]  # fmt: skip
            fields.append(c)
            aliases.append(t["share"].format(m=mm))
        folium.GeoJson(
            _features(_wgs(d, SIMPLIFY_M), props),
            name=t["districts"].format(m=mid),
            show=False,
            style_function=lambda f: {
                "color": "#333",
                "weight": 1.5,
                "fillColor": f["properties"]["colour"],
                "fillOpacity": 0.4,
            },  # fmt: skip
            tooltip=_tooltip_fields(fields, aliases),
        ).add_to(m)

    # Residents coloured by minutes (cells as 100 m squares for Zensus grid input).
    cmap = cm.LinearColormap(["#1a9850", "#fee08b", "#d73027"], vmin=0, vmax=top)
    cells = _wgs(resident_layer(res, rec))
    mins = res["minutes_all"].to_numpy(float)
    colours = [cmap(x) if np.isfinite(x) and x <= top else UNREACHED for x in mins]
    rprops = {
        "population": [_fmt(x, 0) for x in res["population"]],
        "minutes": [_fmt(x) if np.isfinite(x) else t["unreachable"] for x in mins],
        "nearest": [_esc(x) for x in res.get("nearest_site_name", [""] * len(res))],
        "colour": colours,
    }
    rfields = ["population", "minutes", "nearest"]
    raliases = [t["population"], t["minutes"], t["nearest"]]
    is_point = (cells.geom_type == "Point").all()
    marker = (
        folium.CircleMarker(radius=4, weight=0, fill=True, fill_opacity=0.8) if is_point else None
    )
    folium.GeoJson(
        _features(cells, rprops),
        name=t["residents"],
        marker=marker,
        style_function=lambda f: {
            "color": f["properties"]["colour"],
            "weight": 0.5,
            "fillColor": f["properties"]["colour"],
            "fillOpacity": 0.6,
        },  # fmt: skip
        tooltip=_tooltip_fields(rfields, raliases),
    ).add_to(m)

    # Gaps: populated cells beyond the largest threshold.
    gaps = gaps_layer(res, top)
    if len(gaps):
        g = _wgs(resident_layer(gaps, rec))
        gm = gaps["minutes_all"].to_numpy(float)
        gprops = {"population": [_fmt(x, 0) for x in gaps["population"]],
                  "minutes": [_fmt(x) if np.isfinite(x) else t["unreachable"] for x in gm]}  # fmt: skip
        folium.GeoJson(
            _features(g, gprops),
            name=t["gaps"].format(m=top),
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
            tooltip=_tooltip_fields(["population", "minutes"], [t["population"], t["minutes"]]),
        ).add_to(m)

    # Scenario layers (from accessibility.scenarios output files) when present.
    for key, layer_name, colour in (
        ("newly_covered", t["newly"], "#00a651"),
        ("lost_coverage", t["lost"], "#d7301f"),
    ):
        sc = data.scenario.get(key)
        if sc is None or not len(sc):
            continue
        sg = _wgs(resident_layer(sc, rec) if "population" in sc else sc)
        sprops = {"population": [_fmt(x, 0) for x in sc.get("population", [np.nan] * len(sc))],
                  "before": [_fmt(x) for x in sc.get("minutes_before", [np.nan] * len(sc))],
                  "after": [_fmt(x) for x in sc.get("minutes_after", [np.nan] * len(sc))]}  # fmt: skip
        folium.GeoJson(
            _features(sg, sprops), name=layer_name,
            marker=folium.CircleMarker(radius=5, color=colour, weight=3, fill=False) if is_point else None,
            style_function=lambda f, c=colour: {"color": c, "weight": 3, "fillColor": c, "fillOpacity": 0.5},
            tooltip=_tooltip_fields(["population", "before", "after"], [t["population"], t["before"], t["after"]]),
        ).add_to(m)  # fmt: skip
    ss = data.scenario.get("scenario_sites")
    if ss is not None and len(ss) and "change" in ss:
        ss = ss[ss["change"].astype(str) != "unchanged"]
        for ch, part in ss.groupby(ss["change"].astype(str), sort=False):
            _site_layer(m, _wgs(part), t["ssites"].format(c=_esc(ch)), "#000000", "★", t, None, ch)

    # Sites by category (distinct colour and letter), popups escaped.
    sites = data.sites
    near = _near_counts(res, minutes)
    cats = [c for c in data.categories if c != "all"]
    cats += [c for c in dict.fromkeys(sites["category"].astype(str)) if c not in cats]
    present = set(sites["category"].astype(str))
    letters = _letters([label(c) if c in present else "" for c in cats])  # only drawn ones count
    for i, c in enumerate(cats):
        part = sites[sites["category"].astype(str) == c]
        if part.empty:
            continue
        colour = CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)]
        # the layer control shows each category's marker, so it is the markers' legend too
        name = (
            f"{_badge_html(letters[i], colour)} {t['sites'].format(c=_esc(label(c)), n=len(part))}"
        )
        _site_layer(m, _wgs(part), name, colour, letters[i], t, (near, minutes), label=label)

    folium.LayerControl(collapsed=False).add_to(m)
    m.add_child(_Fullscreen(t["fullscreen"]))
    m.add_child(_Attribution(rec.get("attribution") or []))
    root = m.get_root()
    bands = [(t["band"].format(m=mm), BAND_COLOURS[min(i, len(BAND_COLOURS) - 1)])
             for i, mm in enumerate(sorted(minutes))] if iso is not None and len(iso) else []  # fmt: skip
    root.html.add_child(
        Element(_legend_html(cmap, t["legend"], t["unreached"].format(m=top), bands))
    )
    _add_title(m, title)
    return write_text(root.render(), path)


def offline_map(**kwargs) -> folium.Map:
    """A ``folium.Map`` without tiles that loads nothing from a CDN: Leaflet is inlined.

    Only Leaflet's own classes work on it (no jQuery, Bootstrap or awesome-markers
    icons); keyword arguments go to ``folium.Map``.
    """
    m = folium.Map(tiles=None, control_scale=True, **kwargs)
    m.default_js, m.default_css = [], []
    m.get_root().header.add_child(Element(_leaflet_inline()), name="leaflet", index=0)
    return m


def simple_layer(
    m: folium.Map,
    gdf: gpd.GeoDataFrame,
    name: str,
    colour: str,
    text: list[str],
    radius: float = 4,
    popup: bool = False,
    show: bool = True,
) -> None:
    """``gdf`` in one colour (points as circles, polygons filled) with a tooltip of ``text``.

    ``text`` is one line per row, shown as text (escaped here); with ``popup`` also
    in a popup on click. Empty frames add no layer.
    """
    if not len(gdf):
        return
    fc = _features(_wgs(gdf), {"text": [_esc(x) for x in text]})
    folium.GeoJson(
        fc, name=name, show=show,
        marker=folium.CircleMarker(radius=radius, weight=1, fill=True, fill_opacity=0.8),
        style_function=lambda f: {"color": colour, "fillColor": colour, "weight": 1,
                                  "fillOpacity": 0.6},
        tooltip=folium.GeoJsonTooltip(fields=["text"], labels=False),
        popup=folium.GeoJsonPopup(fields=["text"], labels=False) if popup else None,
    ).add_to(m)  # fmt: skip


@functools.cache
def _leaflet_inline() -> str:
    """Leaflet's stylesheet (images as ``data:`` URIs) and script as inline HTML."""

    def _data_uri(m: re.Match) -> str:
        png = (LEAFLET_DIR / "images" / m.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(png).decode('ascii')})"

    css = re.sub(r"url\(images/([\w.-]+\.png)\)", _data_uri,
                 (LEAFLET_DIR / "leaflet.css").read_text(encoding="utf-8"))  # fmt: skip
    # the script text must not close its own element (``<\/`` means ``</`` in a JS string)
    js = re.sub(r"</(script)", r"<\\/\1", (LEAFLET_DIR / "leaflet.js").read_text(encoding="utf-8"),
                flags=re.IGNORECASE)  # fmt: skip
    return f"<style>{css}</style>\n<script>{js}</script>"


def ranking_map(result, analysis, path: str | Path, record: dict, lang: str = "en") -> Path:
    """``ranking_map.html``: the greedy picks numbered, the residents each newly covers.

    Parameters
    ----------
    result : accessibility.ranking.RankResult
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
    """
    t = _T.get(lang, _T["en"])
    res = analysis.residents
    mins = result.limit_m / (analysis.speed_kmh * 1000 / 60)
    covered0 = res[f"metres_{result.category}"].to_numpy(float) <= result.limit_m
    pick = result.pick_of_resident(covered0)
    cells = resident_layer(res, record)
    pop = res["population"].to_numpy(float)
    table = result.table
    m = _base_map(res, t)

    def text(mask: np.ndarray) -> list[str]:
        return [t["res_text"].format(p=x) for x in pop[mask]]

    simple_layer(m, cells[covered0], t["already"], UNREACHED, text(covered0))
    still = ~covered0 & (pick == 0) & (pop > 0)
    simple_layer(m, cells[still], t["still"].format(m=mins), "#b2182b", text(still), show=False)
    for r in table.itertuples():
        mask = pick == r.rank
        simple_layer(m, cells[mask], t["pick_layer"].format(j=r.rank, name=r.name, gain=r.gain),
                     CATEGORY_COLOURS[(r.rank - 1) % len(CATEGORY_COLOURS)], text(mask))  # fmt: skip
    sites = analysis.sites
    if result.category != ALL:
        sites = sites[sites["category"].astype(str) == result.category]
    simple_layer(m, sites, t["existing"], "#333333", list(sites["name"].astype(str)), radius=6)
    cand = result.candidates
    others = np.setdiff1d(np.arange(len(cand)), result.greedy.chosen)
    reach = result.reach if result.reach is not None else np.full(len(cand), np.nan)
    simple_layer(m, cand.iloc[others], t["others"], "#000000",
                 [t["cand_text"].format(name=nm, reach=x, m=mins) for nm, x in
                  zip(cand["name"].astype(str).to_numpy()[others], reach[others], strict=True)],
                 radius=3)  # fmt: skip
    group = folium.FeatureGroup(name=t["picks"]).add_to(m)
    chosen = cand.iloc[result.greedy.chosen].reset_index(drop=True)
    chosen_wgs = _wgs(chosen)
    for i, r in enumerate(table.itertuples()):
        colour = CATEGORY_COLOURS[(r.rank - 1) % len(CATEGORY_COLOURS)]
        props = {"rank": [str(r.rank)], "name": [_esc(r.name)], "gain": [_fmt(r.gain, 0)],
                 "cumulative": [f"{_fmt(r.cumulative_covered, 0)} ({r.share_covered:.1%})"],
                 "reach": [_fmt(r.reach, 0)]}  # fmt: skip
        aliases = [t["rank"], t["name"], t["gain"], t["cumulative"].format(j=r.rank),
                   t["reach"].format(m=mins)]  # fmt: skip
        if "visibility" in table:
            props["visibility"] = [_fmt(r.visibility, 2)]
            aliases.append(t["visibility"])
        _numbered_marker(group, chosen_wgs.iloc[[i]], r.rank, colour, props, aliases, "acc-pick")
    title = t["rank_title"].format(k=len(table), n=len(cand), m=mins)
    return _finish(m, title, record, t, path)


def critical_map(
    analysis, sites: pd.DataFrame, minutes: float, category: str, path: str | Path,
    record: dict, lang: str = "en",
) -> Path:  # fmt: skip
    """``critical_map.html``: who loses coverage if a site closes, and who is covered twice.

    Parameters
    ----------
    analysis : Analysis
    sites : DataFrame
        :func:`accessibility.ranking.critical_table` rows (``site_id``, ``loss_<m>``,
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
    """
    from .ranking import critical_residents

    t = _T.get(lang, _T["en"])
    res = analysis.residents
    n_cov, sole = critical_residents(analysis, minutes, category)
    cells = resident_layer(res, record)
    pop = res["population"].to_numpy(float)
    idx = {sid: i for i, sid in enumerate(analysis.sites["site_id"].astype(str))}
    names = analysis.sites["name"].astype(str).to_numpy()
    m = _base_map(res, t)
    one = n_cov == 1
    simple_layer(m, cells[one], t["only_one"].format(m=minutes), "#e6550d",
                 [t["only_text"].format(p=x, name=names[j]) for x, j in zip(pop[one], sole[one],
                                                                            strict=True)])  # fmt: skip
    two = n_cov >= 2
    simple_layer(m, cells[two], t["two_plus"].format(m=minutes), "#31a354",
                 [t["two_text"].format(p=x, n=k) for x, k in zip(pop[two], n_cov[two], strict=True)])  # fmt: skip
    none = (n_cov == 0) & (pop > 0)
    simple_layer(m, cells[none], t["still"].format(m=minutes), UNREACHED,
                 [t["res_text"].format(p=x) for x in pop[none]], show=False)  # fmt: skip
    group = folium.FeatureGroup(name=t["critical"].format(m=minutes)).add_to(m)
    wgs = _wgs(analysis.sites)
    for rank, r in enumerate(sites.itertuples(), start=1):
        i = idx[str(r.site_id)]
        loss, reach = getattr(r, f"loss_{minutes:g}"), getattr(r, f"reach_{minutes:g}")
        props = {"rank": [str(rank)], "name": [_esc(r.name)],
                 "category": [_esc(category_label(record, str(r.category), lang))],
                 "loss": [_fmt(loss, 0)], "reach": [_fmt(reach, 0)]}  # fmt: skip
        aliases = [t["rank"], t["name"], t["category"], t["loss"].format(m=minutes),
                   t["reach"].format(m=minutes)]  # fmt: skip
        colour = "#b2182b" if loss > 0 else "#555555"
        _numbered_marker(group, wgs.iloc[[i]], rank, colour, props, aliases, "acc-critical")
    return _finish(m, t["critical_title"].format(m=minutes), record, t, path)


def _base_map(res: gpd.GeoDataFrame, t: dict) -> folium.Map:
    """An offline map with the two base layers, fitted to the residents."""
    m = offline_map(zoom_snap=0.25)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap", attr="Tiles: OpenStreetMap").add_to(m)
    folium.TileLayer(LIGHT_TILES, name=t["light"], attr=LIGHT_ATTR, show=False).add_to(m)
    w, s, e, n = res.to_crs("EPSG:4326").total_bounds
    m.fit_bounds([[s, w], [n, e]])
    return m


def _numbered_marker(group, row, number: int, colour: str, props: dict, aliases: list,
                     class_name: str) -> None:  # fmt: skip
    """One numbered marker (``row``: a one-row EPSG:4326 frame) with a popup of ``props``."""
    folium.GeoJson(
        _features(row, props),
        marker=folium.Marker(icon=folium.DivIcon(
            html=_icon_html(str(number), colour), icon_size=(26, 26), icon_anchor=(13, 13),
            class_name=class_name)),
        popup=folium.GeoJsonPopup(fields=list(props), aliases=aliases, labels=True),
        tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
    ).add_to(group)  # fmt: skip


def _finish(m: folium.Map, title: str, record: dict, t: dict, path: str | Path) -> Path:
    """Layer control, fullscreen button, attributions and title; write the page."""
    folium.LayerControl(collapsed=False).add_to(m)
    m.add_child(_Fullscreen(t["fullscreen"]))
    m.add_child(_Attribution(record.get("attribution") or []))
    _add_title(m, title)
    return write_text(m.get_root().render(), path)


def _add_title(m: folium.Map, title: str) -> None:
    """The title box at the top of the map and the page's ``<title>`` (escaped)."""
    root = m.get_root()
    if title:
        root.html.add_child(
            Element(
                '<div class="acc-title" style="position:absolute;z-index:1000;left:56px;top:10px;'
                "max-width:40%;pointer-events:none;background:rgba(255,255,255,.9);padding:4px 12px;"
                f'border-radius:4px;font:bold 16px sans-serif">{_esc(title)}</div>'
            )
        )
    root.header.add_child(Element(f"<title>{_esc(title or 'accessibility')}</title>"))


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


def _site_layer(m, part, name, colour, letter, t, near, change=None, label=str) -> None:
    props = {
        "name": [_esc(x) for x in part["name"]],
        "category": [_esc(label(str(x))) for x in part["category"]],
        "source": [_esc(x) for x in part.get("source", [""] * len(part))],
    }
    fields, aliases = ["name", "category", "source"], [t["name"], t["category"], t["source"]]
    if "access_m" in part:
        props["access"] = [_fmt(x, 0) for x in part["access_m"]]
        fields.append("access")
        aliases.append(t["access"])
    if change is not None:
        props["change"] = [_esc(change)] * len(part)
        fields.append("change")
        aliases.append(t["change"])
    if near is not None:
        counts, minutes = near
        for mm in minutes:
            key = f"near_{mm:g}"
            props[key] = [_fmt(counts.get(mm, {}).get(sid, 0.0), 0) for sid in part["site_id"]]
            fields.append(key)
            aliases.append(t["near_within"].format(m=mm))
    folium.GeoJson(
        _features(part, props),
        name=name,
        marker=folium.Marker(
            icon=folium.DivIcon(
                html=_icon_html(letter, colour),
                icon_size=(26, 26),
                icon_anchor=(13, 13),
                class_name="acc-site",
            )
        ),  # fmt: skip
        popup=folium.GeoJsonPopup(fields=fields, aliases=aliases, labels=True),
        tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
    ).add_to(m)

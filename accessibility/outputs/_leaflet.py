"""The page toolkit of every map: offline Leaflet, base layers, controls, layers, markers.

Every map of the package is a ``folium.Map`` from :func:`offline_map`: Leaflet (JS + CSS,
the vendored copy in ``vendor/leaflet``, images as ``data:`` URIs) is inlined, and only
Leaflet's own classes are used (no jQuery, Bootstrap or icon fonts), so a page requests
nothing but background tiles and every data layer renders without any network. Names from
OSM or user files are HTML-escaped here (:func:`esc`) before they reach a page; GeoJSON
is embedded with Jinja's ``tojson``. Coordinates are simplified (metres, in the metric
CRS) and rounded before they are written (:func:`to_wgs`).
"""

from __future__ import annotations

import base64
import functools
import html
import json
import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from .._io import write_text
from . import formats

#: Leaflet (version folium expects), inlined into every map.
LEAFLET_DIR = Path(__file__).parents[1] / "vendor" / "leaflet"
#: Simplification tolerance (metres) for polygons drawn on the map.
SIMPLIFY_M = 2.0
#: Decimal places of longitude/latitude on the map.
DECIMALS = 6
#: Colours of the site categories (cycled), and of the isochrone bands (small → large).
CATEGORY_COLOURS = ["#1f78b4", "#e31a1c", "#33a02c", "#ff7f00", "#6a3d9a", "#b15928", "#a6cee3",
                    "#fb9a99", "#b2df8a", "#fdbf6f"]  # fmt: skip
BAND_COLOURS = ["#08519c", "#3182bd", "#6baed6", "#9ecae1", "#c6dbef"]
UNREACHED = "#888888"
#: Proposed sites (scenario ★ markers): colour, and Leaflet ``zIndexOffset`` above every marker.
PROPOSED_COLOUR = "#ffb000"
PROPOSED_Z = 10_000
#: Below this page width or height (CSS pixels) the layer list starts collapsed, as it
#: does when the map is embedded (in an iframe).
SMALL_SCREEN_PX = (900, 600)
#: The light base layer (no API key needed).
LIGHT_TILES = (
    "https://server.arcgisonline.com/ArcGIS/rest/services/Canvas/World_Light_Gray_Base/MapServer/"
    "tile/{z}/{y}/{x}"
)
LIGHT_ATTR = "Tiles © Esri — Esri, HERE, Garmin, © OpenStreetMap contributors"


def esc(value: object) -> str:
    """HTML-escape a value for the page (``None`` → empty)."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt(v: object, nd: int = 1, lang: str = "en") -> str:
    """A number with ``nd`` decimals in the map's language (``1.234,5`` German, ``1,234.5``
    English, :func:`accessibility.outputs.formats.number`); ``–`` when it is not finite; other
    values escaped as text."""
    try:
        float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return esc(v)
    return formats.number(v, lang, nd)


class _LocalNumber(float):
    """A float whose ``:g`` (or plain) format follows a language: ``7,5`` in German."""

    lang = "en"

    def __format__(self, spec: str) -> str:
        if spec in ("", "g"):
            return formats.decimal(float(self), self.lang)
        return format(float(self), spec)


def num(value: float, lang: str) -> float:
    """``value`` for a label template (``{m:g} min``) of a map in ``lang``: ``7,5`` in German.

    Use it only in ``str.format`` arguments: column names (``share_7.5``) stay as they are.
    """
    out = _LocalNumber(value)
    out.lang = lang
    return out


def pct(share: object, lang: str = "en", nd: int = 1) -> str:
    """A share (0–1) as a percentage in the map's language (``11,9 %`` / ``11.9%``)."""
    return formats.percent(share, lang, nd)


def colour_bar_html(
    cmap, lang: str, ticks: int | None = None, nd: int | None = None, width: int = 220
) -> str:
    """A colour bar of ``cmap`` (a branca ``LinearColormap``) with tick labels in the map's
    language (German ``2,5``), replacing branca's own SVG (English ticks).

    ``ticks``: number of intervals; by default the first of 4, 3, 5, 6 whose step needs the
    fewest decimals (15 min: 0, 5, 10, 15). ``nd``: decimals of the labels; by default as many
    as the step needs (0–3).
    """
    lo, hi = float(cmap.vmin), float(cmap.vmax)

    def decimals(k: int) -> int:
        step = (hi - lo) / k if hi > lo else 1.0
        return next((d for d in range(4) if abs(round(step, d) - step) < 1e-9 * max(1.0, step)), 3)

    k = ticks or min((4, 3, 5, 6), key=decimals)
    nd = decimals(k) if nd is None else nd
    stops = ", ".join(cmap(lo + (hi - lo) * i / 10) for i in range(11))
    labels_ = "".join(
        f'<span style="position:absolute;left:{100 * i / k:.1f}%;transform:translateX(-50%)">'
        f"{esc(formats.number(v, lang, nd))}</span>"
        for i, v in enumerate(np.linspace(lo, hi, k + 1))
    )
    return (
        f'<div class="acc-colourbar" style="width:{width}px;margin:2px 8px 0">'
        f'<div style="height:10px;background:linear-gradient(to right, {stops})"></div>'
        f'<div style="position:relative;height:14px;font:11px sans-serif">{labels_}</div></div>'
    )


class MetricScale(MacroElement):
    """Leaflet's scale bar in metres and kilometres only (no feet or miles)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        L.control.scale({imperial: false, metric: true}).addTo({{ this._parent.get_name() }});
        {% endmacro %}"""
    )


def to_wgs(
    gdf: gpd.GeoDataFrame, simplify_m: float = 0.0, decimals: int = DECIMALS
) -> gpd.GeoDataFrame:
    """Simplify (metres, in the metric CRS), reproject to EPSG:4326 and round coordinates
    to ``decimals`` places."""
    g = gdf
    if simplify_m > 0 and len(g) and g.crs is not None and g.crs.is_projected:
        g = g.set_geometry(shapely.simplify(g.geometry.to_numpy(), simplify_m))
    g = g.to_crs("EPSG:4326")
    geoms = shapely.transform(g.geometry.to_numpy(), lambda c: np.round(c, decimals))
    return g.set_geometry(geoms)


def features(gdf: gpd.GeoDataFrame, props: dict[str, list]) -> dict:
    """GeoJSON FeatureCollection with the given (already escaped/formatted) properties."""
    geoms = [json.loads(s) for s in shapely.to_geojson(gdf.geometry.to_numpy())]
    keys = list(props)
    feats = [
        {"type": "Feature", "geometry": g, "properties": {k: props[k][i] for k in keys}}
        for i, g in enumerate(geoms)
        if g is not None
    ]
    return {"type": "FeatureCollection", "features": feats}


class Fullscreen(MacroElement):
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


class Attribution(MacroElement):
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
        self.lines = [esc(x) for x in lines]


def badge_html(letter: str, colour: str) -> str:
    """A small inline copy of a site marker (for the layer control)."""
    return (
        f'<span class="acc-badge" style="display:inline-block;background:{colour};color:#fff;'
        "border-radius:50%;min-width:16px;height:16px;text-align:center;"
        f'font:bold 9px/16px sans-serif;vertical-align:middle">{esc(letter)}</span>'
    )


def icon_html(letter: str, colour: str) -> str:
    """HTML of a round map marker with a letter, in ``colour``."""
    return (
        f'<div style="background:{colour};color:#fff;border:2px solid #fff;border-radius:50%;'
        "width:22px;height:22px;text-align:center;font:bold 12px/22px sans-serif;"
        f'box-shadow:0 0 3px #000">{esc(letter)}</div>'
    )


def proposed_icon_html(letter: str, colour: str = PROPOSED_COLOUR) -> str:
    """HTML of a proposed site's marker: larger than :func:`icon_html`, a black ring and a
    dark letter, so it stands out from the existing sites."""
    return (
        f'<div style="background:{colour};color:#000;border:3px solid #000;border-radius:50%;'
        "width:26px;height:26px;text-align:center;font:bold 16px/26px sans-serif;"
        f'box-shadow:0 0 4px #fff">{esc(letter)}</div>'
    )


class _KeepVisible(MacroElement):
    """The layer list collapsed when embedded or on a small screen; boxes over the map
    (legend, title, layer list) fade while a tooltip overlaps them, so no tooltip is hidden."""

    _template = Template(
        """{% macro header(this, kwargs) %}
        <style>.acc-behind{opacity:.12 !important;transition:opacity .1s}</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function(){
          var map = {{ this._parent.get_name() }}, ctl = {{ this.control }};
          var embedded = true;
          try { embedded = window.self !== window.top; } catch (e) {}
          var small = window.innerWidth < {{ this.small[0] }} || window.innerHeight < {{ this.small[1] }};
          if (embedded || small) {
            ctl.remove(); ctl.options.collapsed = true; ctl.addTo(map); ctl.collapse();
          }
          function hit(a, b) {
            return !(a.right < b.left || b.right < a.left || a.bottom < b.top || b.bottom < a.top);
          }
          function check() {
            var tips = Array.prototype.map.call(
              document.querySelectorAll('.leaflet-tooltip'), function(t) { return t.getBoundingClientRect(); });
            document.querySelectorAll('.acc-legend, .acc-title, .leaflet-control-layers').forEach(function(el) {
              el.classList.remove('acc-behind');
              var r = el.getBoundingClientRect();
              if (tips.some(function(t) { return hit(r, t); })) { el.classList.add('acc-behind'); }
            });
          }
          function later() { window.requestAnimationFrame(check); }
          map.on('tooltipopen tooltipclose mousemove zoomend moveend', later);
        })();
        {% endmacro %}"""
    )

    def __init__(self, control: str):
        super().__init__()
        self.control = control
        self.small = SMALL_SCREEN_PX


def layer_control(m: folium.Map) -> folium.LayerControl:
    """The layer list: expanded on a large page, collapsed (expands on hover or tap) when the
    map is embedded in another page or the screen is small (:data:`SMALL_SCREEN_PX`); boxes
    over the map fade while a tooltip overlaps them (tooltips are never hidden)."""
    ctl = folium.LayerControl(collapsed=False)
    ctl.add_to(m)
    m.add_child(_KeepVisible(ctl.get_name()))
    return ctl


def tooltip_fields(fields: list[str], aliases: list[str], sticky: bool = True):
    """A folium GeoJsonTooltip showing ``fields`` under ``aliases``."""
    return folium.GeoJsonTooltip(fields=fields, aliases=aliases, sticky=sticky, labels=True)


def offline_map(**kwargs) -> folium.Map:
    """A ``folium.Map`` without tiles that loads nothing from a CDN: Leaflet is inlined.

    Only Leaflet's own classes work on it (no jQuery, Bootstrap or awesome-markers
    icons); keyword arguments go to ``folium.Map``.
    """
    m = folium.Map(tiles=None, control_scale=False, **kwargs)
    m.add_child(MetricScale())  # metres only: a German or English map shows no feet or miles
    m.default_js, m.default_css = [], []
    m.get_root().header.add_child(Element(_leaflet_inline()), name="leaflet", index=0)  # type: ignore[attr-defined]
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
    fc = features(to_wgs(gdf), {"text": [esc(x) for x in text]})
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


def base_map(res: gpd.GeoDataFrame, t: dict, canvas: bool = False) -> folium.Map:
    """An offline map with the two base layers (``t["light"]`` names the light one), fitted
    to the residents. The OSM tile credit is short: the data line credits © OpenStreetMap
    contributors. ``canvas``: vectors drawn on one canvas (Leaflet ``preferCanvas``), for
    many features."""
    m = offline_map(zoom_snap=0.25, prefer_canvas=canvas)
    tiles = f"{t.get('tiles', 'Tiles')}: OpenStreetMap"
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap", attr=tiles).add_to(m)
    folium.TileLayer(LIGHT_TILES, name=t["light"], attr=LIGHT_ATTR, show=False).add_to(m)
    # the residents' bounding box, densified and reprojected (fast for any number of points)
    box = shapely.segmentize(shapely.box(*res.total_bounds), max(1.0, _extent(res) / 50))
    w, s, e, n = gpd.GeoSeries([box], crs=res.crs).to_crs("EPSG:4326").total_bounds
    m.fit_bounds([[s, w], [n, e]])
    return m


def _extent(gdf: gpd.GeoDataFrame) -> float:
    """The larger side of ``gdf``'s bounding box (CRS units)."""
    w, s, e, n = gdf.total_bounds
    return float(max(e - w, n - s))


def numbered_marker(group, row, number: int, colour: str, props: dict, aliases: list,
                     class_name: str) -> None:  # fmt: skip
    """One numbered marker (``row``: a one-row EPSG:4326 frame) with a popup of ``props``."""
    folium.GeoJson(
        features(row, props),
        marker=folium.Marker(icon=folium.DivIcon(
            html=icon_html(str(number), colour), icon_size=(26, 26), icon_anchor=(13, 13),
            class_name=class_name)),
        popup=folium.GeoJsonPopup(fields=list(props), aliases=aliases, labels=True),
        tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
    ).add_to(group)  # fmt: skip


def finish(m: folium.Map, title: str, record: dict, t: dict, path: str | Path) -> Path:
    """Layer control, fullscreen button, attributions and title; write the page."""
    layer_control(m)
    m.add_child(Fullscreen(t["fullscreen"]))
    m.add_child(Attribution(record.get("attribution") or []))
    add_title(m, title)
    return write_text(m.get_root().render(), path)


def add_title(m: folium.Map, title: str) -> None:
    """The title box at the top of the map and the page's ``<title>`` (escaped)."""
    root = m.get_root()
    if title:
        root.html.add_child(  # type: ignore[attr-defined]
            Element(
                '<div class="acc-title" style="position:absolute;z-index:1000;left:56px;top:10px;'
                "max-width:40%;pointer-events:none;background:rgba(255,255,255,.9);padding:4px 12px;"
                f'border-radius:4px;font:bold 16px sans-serif">{esc(title)}</div>'
            )
        )
    root.header.add_child(Element(f"<title>{esc(title or 'accessibility')}</title>"))  # type: ignore[attr-defined]

"""Supply and demand (2SFCA) in ``map.html`` and ``report.html``: one map layer, one report section.

Self-contained (its own German and English strings), drawn only when the run computed the
2SFCA (``analyze --2sfca``: ``e2sfca_all`` in the residents, ``summary_2sfca.csv``).
Every name shown is escaped (:func:`accessibility.outputs._leaflet.esc`).
"""

from __future__ import annotations

from typing import Any

import branca.colormap as cm
import folium
import numpy as np
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

from . import formats as fm
from ._leaflet import (
    UNREACHED,
    colour_bar_html,
    esc,
    features,
    fmt,
    num,
    to_wgs,
    tooltip_fields,
)
from .i18n import group_label
from .layers import resident_layer

#: German and English strings of the layer and the section.
TEXT: dict[str, dict[str, Any]] = {
    "de": {
        "layer": "Angebot je 1.000 Einwohner (E2SFCA, {m:g} min)",
        "population": "Einwohner",
        "sfca": "2SFCA (Kapazität je 1.000 Einwohner)",
        "e2sfca": "E2SFCA (Kapazität je 1.000 Einwohner, mit Distanzabfall)",
        "opportunities": "Andockstellen in Reichweite (gewichtet)",
        "none": "keine in {m:g} min",
        "cap": "dunkelste Farbe: {top} und mehr (95. Perzentil)",
        "section": "Angebot und Nachfrage (2SFCA)",
        "intro": "Kapazität der Andockstellen ({unit}) je 1.000 Einwohner in {m} Gehminuten "
        "(Two-Step Floating Catchment, Luo & Wang 2003; E2SFCA mit {decay}em Distanzabfall, "
        "Luo & Qi 2009). {given} von {sites} Andockstellen mit angegebener Kapazität, "
        "{default} mit dem Standardwert {value}. Die distanzgewichtete Versorgung zählt eine "
        "Andockstelle an der Haustür voll und eine am Rand des Einzugsbereichs nicht.",
        "level": "Ebene",
        "name": "Name",
        "all": "alle",
        "district": "Stadtteil",
        "group": "Gruppe",
        "cols": ["2SFCA", "E2SFCA", "distanzgewichtete Versorgung", "Anteil ≤ {m} min"],
        "unit": "Spalte {col}",
    },
    "en": {
        "layer": "Capacity per 1,000 residents (E2SFCA, {m:g} min)",
        "population": "Residents",
        "sfca": "2SFCA (capacity per 1,000 residents)",
        "e2sfca": "E2SFCA (capacity per 1,000 residents, distance decay)",
        "opportunities": "Docking points in reach (decay-weighted)",
        "none": "none within {m:g} min",
        "cap": "darkest colour: {top} or more (95th percentile)",
        "section": "Supply and demand (2SFCA)",
        "intro": "Capacity of the docking points ({unit}) per 1,000 residents within {m} "
        "walking minutes (two-step floating catchment, Luo & Wang 2003; E2SFCA with {decay} "
        "distance decay, Luo & Qi 2009). {given} of {sites} docking points with a capacity "
        "given, {default} with the default {value}. The decay-weighted coverage counts a "
        "docking point at the door fully and one at the edge of the catchment not at all.",
        "level": "Level",
        "name": "Name",
        "all": "all",
        "district": "district",
        "group": "group",
        "cols": ["2SFCA", "E2SFCA", "decay-weighted coverage", "share ≤ {m} min"],
        "unit": "column {col}",
    },
}
_DECAY = {"de": {"gaussian": "gaußsch", "linear": "linear"}, "en": {}}


def supply_layer(m: folium.Map, residents, record: dict, lang: str) -> None:
    """Add the hidden layer "Capacity per 1,000 residents" (residents coloured by ``e2sfca_all``).

    Nothing is added when the run has no 2SFCA (no ``e2sfca_all`` column).

    Parameters
    ----------
    m : folium.Map
    residents : GeoDataFrame
        Resident points (network CRS) with the ``sfca_all``, ``e2sfca_all`` and
        ``opportunities_all`` columns.
    record : dict
        ``run.json`` (grid cell size for cell squares, ``supply`` for the catchment).
    lang : {"de", "en"}
    """
    if "e2sfca_all" not in residents or not len(residents):
        return
    t = TEXT.get(lang, TEXT["en"])
    catchment = num(float(record.get("supply", {}).get("catchment_minutes", 0) or 0), lang)
    score = residents["e2sfca_all"].to_numpy(float)
    top = float(np.nanpercentile(score, 95)) if np.nanmax(score) > 0 else 1.0
    cmap = cm.LinearColormap(["#fff5eb", "#fd8d3c", "#7f2704"], vmin=0, vmax=max(top, 1e-12))
    colours = [cmap(min(x, top)) if x > 0 else UNREACHED for x in score]
    props = {
        "population": [fmt(x, 0, lang) for x in residents["population"]],
        "sfca": [fmt(x, 3, lang) for x in residents["sfca_all"]],
        "e2sfca": [fmt(x, 3, lang) if x > 0 else t["none"].format(m=catchment) for x in score],
        "opportunities": [fmt(x, 2, lang) for x in residents["opportunities_all"]],
        "colour": colours,
    }
    cells = to_wgs(resident_layer(residents, record))
    is_point = bool((cells.geom_type == "Point").all())
    layer = folium.GeoJson(
        features(cells, props),
        name=esc(t["layer"].format(m=catchment)),
        show=False,
        marker=folium.CircleMarker(radius=4, weight=0, fill=True, fill_opacity=0.8)
        if is_point
        else None,
        style_function=lambda f: {
            "color": f["properties"]["colour"],
            "weight": 0.5,
            "fillColor": f["properties"]["colour"],
            "fillOpacity": 0.7,
        },
        tooltip=tooltip_fields(
            ["population", "sfca", "e2sfca", "opportunities"],
            [t["population"], t["sfca"], t["e2sfca"], t["opportunities"]],
        ),
    ).add_to(m)
    bar = colour_bar_html(cmap, lang, ticks=4, nd=1 if top >= 1 else 3)
    legend = (
        f"<div><b>{esc(t['layer'].format(m=catchment))}</b></div>{bar}"
        f'<div><span style="display:inline-block;width:12px;height:12px;background:{UNREACHED};'
        f'vertical-align:middle;margin-left:6px"></span> {esc(t["none"].format(m=catchment))}</div>'
        f'<div style="max-width:240px">{esc(t["cap"].format(top=fmt(top, 1 if top >= 1 else 3, lang)))}</div>'
    )
    m.add_child(LayerLegend(layer.get_name(), legend, "acc-supply-legend"))


class LayerLegend(MacroElement):
    """A legend box (bottom left, class ``acc-legend``) shown only while ``layer`` is on the
    map (it follows the layer control's check box)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        (function(){
          var map = {{ this._parent.get_name() }}, layer = {{ this.layer }};
          var div = L.DomUtil.create('div', 'acc-legend ' + {{ this.css_class|tojson }});
          div.style.cssText = 'position:absolute;z-index:1000;left:10px;bottom:40px;' +
            'background:rgba(255,255,255,.9);padding:6px 8px;border-radius:4px;font:12px sans-serif;' +
            'pointer-events:none;display:none';
          div.innerHTML = {{ this.html|tojson }};
          map.getContainer().appendChild(div);
          function sync() { div.style.display = map.hasLayer(layer) ? 'block' : 'none'; }
          map.on('layeradd layerremove', sync);
          sync();
        })();
        {% endmacro %}"""
    )

    def __init__(self, layer: str, html: str, css_class: str):
        super().__init__()
        self.layer = layer
        self.html = html
        self.css_class = css_class


def supply_section(
    table: pd.DataFrame, record: dict, lang: str, html_table, group_table: dict | None = None
) -> list[str]:
    """The report section "Supply and demand (2SFCA)": method in one paragraph and a table.

    Parameters
    ----------
    table : DataFrame
        ``summary_2sfca.csv`` (empty: no section).
    record : dict
        ``run.json`` (its ``supply`` entry).
    lang : {"de", "en"}
    html_table : callable
        Renders a DataFrame as an escaped HTML table (the report's own).
    group_table : dict, optional
        Population group labels (:func:`accessibility.outputs.i18n.group_labels`).

    Returns
    -------
    list of str
        HTML pieces (empty without a 2SFCA).
    """
    if table is None or table.empty:
        return []
    t = TEXT.get(lang, TEXT["en"])
    sup = record.get("supply", {})
    cap = sup.get("capacity", {})
    m = float(sup.get("catchment_minutes", table["catchment_minutes"].iloc[0]))
    decay = str(sup.get("decay", table["decay"].iloc[0]))
    intro = t["intro"].format(
        unit=t["unit"].format(col=sup.get("capacity_column", "capacity")), m=fm.decimal(m, lang),
        decay=_DECAY.get(lang, {}).get(decay, decay), given=fm.number(cap.get("given", 0), lang),
        sites=fm.number(cap.get("sites", 0), lang), default=fm.number(cap.get("default", 0), lang),
        value=fm.decimal(cap.get("default_value", 1.0), lang),
    )  # fmt: skip
    d = table[table["category"] == "all"].copy()
    cols = t["cols"]
    names = [group_label(n, lang, group_table) if lv == "group" else n
             for lv, n in zip(d["level"], d["name"].fillna("").astype(str), strict=True)]  # fmt: skip
    # numbers as every report table writes them (accessibility.outputs.formats)
    out = pd.DataFrame({
        t["level"]: [t.get(v, v) for v in d["level"]],
        t["name"]: names,
        t["population"]: [fm.number(x, lang) for x in d["population"]],
        cols[0]: [fm.number(x, lang, 3) for x in d["sfca_mean"]],
        cols[1]: [fm.number(x, lang, 3) for x in d["e2sfca_mean"]],
        cols[2]: [fm.percent(x, lang) for x in d["decay_coverage"]],
        cols[3].format(m=fm.decimal(m, lang)): [fm.percent(x, lang) for x in d["share_within_catchment"]],
    })  # fmt: skip
    return [f"<h2>{esc(t['section'])}</h2>", f"<p>{esc(intro)}</p>", html_table(out)]

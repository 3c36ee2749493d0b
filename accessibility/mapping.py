"""A plain Folium map of sites and residents coloured by walking minutes.

Every name from OSM or a user file is HTML-escaped before it reaches the page.
"""

from __future__ import annotations

import html
from pathlib import Path

import branca.colormap as cm
import folium
import numpy as np

from ._io import write_text
from .analysis import Analysis


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def plain_map(
    a: Analysis, path: str | Path, title: str = "", attribution: list[str] | None = None
) -> Path:
    """Write ``map.html``: sites by category and resident points coloured by minutes (``all``).

    Parameters
    ----------
    a : Analysis
    path : path
        Output HTML file.
    title : str
        Shown at the top of the map (escaped).
    attribution : list of str
        Data attributions shown in the map corner.
    """
    res = a.residents.to_crs("EPSG:4326")
    sites = a.sites.to_crs("EPSG:4326")
    w, s, e, n = res.total_bounds
    m = folium.Map(tiles=None, control_scale=True)
    folium.TileLayer(
        "OpenStreetMap", name="OpenStreetMap", attr=" | ".join(attribution or [])
    ).add_to(m)
    m.fit_bounds([[s, w], [n, e]])
    top = max(a.minutes)
    cmap = cm.LinearColormap(["#1a9850", "#fee08b", "#d73027"], vmin=0, vmax=top)
    cmap.caption = f"Walking minutes to the nearest docking point (grey: more than {top:g})"
    layer = folium.FeatureGroup(name="Residents by walking minutes")
    mins = res["minutes_all"].to_numpy(float)
    pop = res["population"].to_numpy(float)
    for (x, y), mi, p in zip(np.c_[res.geometry.x, res.geometry.y], mins, pop, strict=True):
        color = cmap(mi) if np.isfinite(mi) and mi <= top else "#888888"
        folium.CircleMarker(
            [round(y, 6), round(x, 6)], radius=3, weight=0, fill=True, fill_color=color, fill_opacity=0.8,
            tooltip=f"{p:.0f} residents, {mi:.1f} min" if np.isfinite(mi) else f"{p:.0f} residents, unreachable",
        ).add_to(layer)  # fmt: skip
    layer.add_to(m)
    site_layer = folium.FeatureGroup(name="Docking points")
    for _, row in sites.iterrows():
        folium.Marker(
            [row.geometry.y, row.geometry.x],
            popup=folium.Popup(
                f"<b>{_esc(row['name'])}</b><br>{_esc(row['category'])}", max_width=300
            ),
            tooltip=folium.Tooltip(_esc(row["name"])),
        ).add_to(site_layer)
    site_layer.add_to(m)
    cmap.add_to(m)
    if title:
        m.get_root().html.add_child(
            folium.Element(
                f'<h3 style="position:absolute;z-index:1000;left:60px;top:0">{_esc(title)}</h3>'
            )
        )
    folium.LayerControl().add_to(m)
    return write_text(m.get_root().render(), path)

"""Docking points from OpenStreetMap: the features of an extract matched to the category presets.

Each matched feature becomes one site (a point: nodes as they are, ways and relations at a
point on their surface), EPSG:4326, with the columns of :data:`accessibility.inputs.sites.SITE_COLUMNS`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._tables import VECTOR_SUFFIXES as VECTOR_SUFFIXES  # re-exported
from .presets import OSM_TYPE_KEY, OSM_TYPES, check_categories, preset_categories
from .presets import PRESETS_PATH as PRESETS_PATH  # re-exported (public API)
from .presets import load_presets as load_presets  # re-exported (public API)

#: Columns of every site frame, in this order (user files may add more after them).


def sites_from_osm(
    features: gpd.GeoDataFrame, presets: dict, categories: Sequence[str] | None = None
) -> gpd.GeoDataFrame:
    """Every OSM feature that matches a category, one site per feature.

    Parameters
    ----------
    features : GeoDataFrame
        ``osm_type``, ``osm_id``, ``name``, ``tags`` (dict), ``entrance`` (Point or
        None) and geometry (Point or (Multi)Polygon), as in
        ``accessibility.inputs.osm.read_osm(path).features``. A frame without a CRS is
        taken to be EPSG:4326.
    presets : dict
        As returned by :func:`load_presets`.
    categories : sequence of str, optional
        Only these categories (all by default). Unknown ids raise InputError.

    Returns
    -------
    GeoDataFrame
        :data:`SITE_COLUMNS`, EPSG:4326. A feature matching several categories
        goes to the first of them in preset order (among those requested).
        ``name`` is the OSM name, or ``<label_en> (osm:node/123)`` if unnamed;
        the point is the feature's ``entrance`` if there is one, else a point
        inside the polygon (``representative_point``), else the node.
    """
    cats = preset_categories(presets)
    if categories is None:
        wanted = list(cats)
    else:
        check_categories(list(categories), presets)
        wanted = [c for c in cats if c in set(categories)]
    n = len(features)
    tags = features["tags"].to_numpy(object) if "tags" in features else np.full(n, None, object)
    osm_type = features["osm_type"].astype(str).to_numpy(object)

    keys = {k for c in wanted for rule in cats[c]["match"] for k in rule if k != OSM_TYPE_KEY}
    values = {k: _tag_values(tags, k) for k in keys}
    cat_of = np.full(n, -1, dtype=np.int64)
    for ci, cid in enumerate(wanted):
        hit = np.zeros(n, dtype=bool)
        for rule in cats[cid]["match"]:
            ok = np.ones(n, dtype=bool)
            for key, cond in rule.items():
                if key == OSM_TYPE_KEY:
                    ok &= _type_mask(osm_type, cond)
                else:
                    ok &= _condition_mask(values[key], cond)
            hit |= ok
        cat_of[(cat_of < 0) & hit] = ci
    idx = np.flatnonzero(cat_of >= 0)
    return _osm_site_frame(features.iloc[idx], [wanted[i] for i in cat_of[idx]], cats)


def _tag_values(tags: np.ndarray, key: str) -> np.ndarray:
    """The value of ``key`` per feature (None where absent or empty)."""
    out = np.empty(len(tags), dtype=object)
    out[:] = [(t.get(key) or None) if isinstance(t, dict) else None for t in tags]
    return out


def _condition_mask(values: np.ndarray, cond: str | list | None) -> np.ndarray:
    present = pd.notna(values)
    if cond == "*":
        return present
    if cond is None:
        return ~present
    wanted = cond if isinstance(cond, list) else [cond]
    allow_absent = None in wanted
    given = {w for w in wanted if w is not None}
    hit = pd.Series(values, dtype=object).isin(given).to_numpy(copy=True)
    # OSM multi-values: "migrant;refugee" matches migrant.
    for i in np.flatnonzero(present & ~hit):
        v = values[i]
        if isinstance(v, str) and ";" in v:
            hit[i] = any(part.strip() in wanted for part in v.split(";"))
    if allow_absent:
        hit |= ~present
    return hit


def _type_mask(osm_type: np.ndarray, cond: str | list) -> np.ndarray:
    wanted = cond if isinstance(cond, list) else [cond]
    types = set().union(*(OSM_TYPES[w] for w in wanted if w is not None))
    return pd.Series(osm_type, dtype=object).isin(types).to_numpy()


def _osm_site_frame(sel: gpd.GeoDataFrame, cat_ids: list[str], cats: dict) -> gpd.GeoDataFrame:
    crs = sel.crs or "EPSG:4326"
    site_id = [f"osm:{t}/{int(i)}" for t, i in zip(sel["osm_type"], sel["osm_id"], strict=True)]
    names = sel["name"].to_numpy(object) if "name" in sel else np.full(len(sel), None, object)
    tags = sel["tags"].to_numpy(object)
    name = []
    for nm, tg, sid, cid in zip(names, tags, site_id, cat_ids, strict=True):
        if not (isinstance(nm, str) and nm.strip()):
            nm = tg.get("name") if isinstance(tg, dict) else None
        if not (isinstance(nm, str) and nm.strip()):
            nm = f"{cats[cid]['label_en']} ({sid})"
        name.append(nm)
    geom = shapely.point_on_surface(np.asarray(sel.geometry.values, dtype=object))
    if "entrance" in sel:
        ent = sel["entrance"].to_numpy(object)
        has = np.array([isinstance(e, shapely.Point) and not e.is_empty for e in ent], dtype=bool)
        geom[has] = ent[has]
    out = gpd.GeoDataFrame(
        {
            "site_id": site_id,
            "name": name,
            "category": cat_ids,
            "source": ["osm"] * len(sel),
            "row": pd.array([None] * len(sel), dtype="Int64"),
            "osm_tags": [
                json.dumps(t if isinstance(t, dict) else {}, ensure_ascii=False, sort_keys=True)
                for t in tags
            ],
        },
        geometry=gpd.GeoSeries(geom, crs=crs).values,
        crs=crs,
    )
    return out.to_crs("EPSG:4326")

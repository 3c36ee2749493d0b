"""Drop sites that describe the same place twice (user file + OSM, or OSM mapped twice).

Rule
----
Two sites are duplicates when

* they have the same ``category``,
* they lie within :data:`DUPLICATE_DISTANCE_M` metres of each other, measured in
  a metric CRS (:func:`accessibility.geo.metric_crs`, EPSG:25832 in Germany)
  between their footprints: the OSM polygon of an OSM area (so a node inside
  the building outline of the same category is at 0 m, whatever the size of
  the building), else the site's point,
* their names agree after :func:`normalise_name` (case, whitespace,
  punctuation, umlauts/ß and accents folded), or at least one of them has no
  real name (an OSM feature without a ``name`` tag, whose generated name is
  ``<label> (osm:node/123)``),
* and at least one of them comes from OSM: rows of the user's file are never
  merged with each other (the user's data is authoritative).

The site kept is the user's row over an OSM feature, an OSM area (way or
relation) over an OSM node, else the lower OSM id. Every dropped site goes to
the rejects, with the site kept, the distance and its source as the value.
"""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..geo import metric_crs
from ..rejects import Rejects

#: Sites of one category closer than this (metres, footprint to footprint) may be duplicates.
DUPLICATE_DISTANCE_M = 50.0

_OSM = "osm"
_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_OSM_ID = re.compile(r"^osm:(node|way|relation)/(\d+)$")


def drop_duplicates(
    sites: gpd.GeoDataFrame,
    rejects: Rejects,
    features: gpd.GeoDataFrame | None = None,
    distance_m: float = DUPLICATE_DISTANCE_M,
) -> gpd.GeoDataFrame:
    """Remove duplicate sites (see the module docstring for the rule), reporting each.

    Parameters
    ----------
    sites : GeoDataFrame
        :data:`accessibility.inputs.sites.SITE_COLUMNS` frame (any CRS), e.g. from
        :func:`accessibility.inputs.sites.combine_sites`. OSM sites have ``source ==
        "osm"`` and ``site_id`` ``osm:<type>/<id>``.
    rejects : Rejects
        Receives one row per dropped site: file (the source, or the path from
        ``sites.attrs["files"]``), row, one reason for all duplicates (so the console
        counts them together) and as value the dropped and the kept site, their
        distance and where the kept one comes from
        (``<id> "<name>" (<category>) = <kept id> "<kept name>", <d> m apart; kept <source>``).
    features : GeoDataFrame, optional
        The OSM features the OSM sites were made from
        (``accessibility.inputs.osm.read_osm(path).features``); gives the polygons of
        OSM areas. Without it every site is measured from its point.
    distance_m : float
        Largest footprint distance in metres (default :data:`DUPLICATE_DISTANCE_M`).

    Returns
    -------
    GeoDataFrame
        The sites kept, in their order and CRS, ``attrs`` kept (``sites`` itself
        when nothing is dropped, else with index 0..n-1).
    """
    n = len(sites)
    osm = sites["source"].astype(str).to_numpy() == _OSM
    if n < 2 or not osm.any():
        return sites
    foot = _footprints(sites, features)
    west, south, east, north = foot.total_bounds
    metric = foot.to_crs(metric_crs((west + east) / 2, (south + north) / 2))
    metric = np.asarray(metric.values, dtype=object)
    i, j = shapely.STRtree(metric).query(metric, predicate="dwithin", distance=distance_m)
    cat = sites["category"].astype(str).to_numpy()
    ok = (i < j) & (cat[i] == cat[j]) & (osm[i] | osm[j])
    i, j = i[ok], j[ok]
    if not len(i):
        return sites
    rows = np.unique(np.concatenate([i, j]))
    norm = np.full(n, "", dtype=object)
    norm[rows] = normalise_name(sites["name"].iloc[rows]).to_numpy(object)
    named = np.ones(n, dtype=bool)
    named[rows] = _has_name(sites.iloc[rows], osm[rows])
    same = (norm[i] == norm[j]) | ~named[i] | ~named[j]
    i, j = i[same], j[same]
    dist = shapely.distance(metric[i], metric[j])
    rank = _keep_order(sites, osm, foot)
    win = np.where(rank[i] < rank[j], i, j)
    lose = np.where(rank[i] < rank[j], j, i)
    dropped = np.zeros(n, dtype=bool)
    files = sites.attrs.get("files", {})
    order = np.lexsort((rank[lose], rank[win]))
    for w, lo, d in zip(win[order], lose[order], dist[order], strict=True):
        if dropped[w] or dropped[lo]:
            continue
        dropped[lo] = True
        kept, gone = sites.iloc[w], sites.iloc[lo]
        src = str(gone["source"])
        rejects.add(
            files.get(src, src),
            None if pd.isna(gone["row"]) else int(gone["row"]),
            f"duplicate: a site of the same category within {distance_m:g} m with the same "
            "name (or unnamed in OSM) is kept instead",
            f'{gone["site_id"]} "{gone["name"]}" ({gone["category"]}) = {kept["site_id"]} '
            f'"{kept["name"]}", {d:.0f} m apart; kept {_where(kept)}',
        )
    out = sites.loc[~dropped].reset_index(drop=True)
    out.attrs = dict(sites.attrs)
    return out


def normalise_name(names: pd.Series) -> pd.Series:
    """Names folded for comparison.

    Lower case; ä, ö, ü → ae, oe, ue and ß → ss; other accents removed; everything
    but letters and digits removed: ``"Stadt-Bibliothek, Süd"`` → ``stadtbibliotheksued``.

    Parameters
    ----------
    names : Series
        Site names (turned to text).

    Returns
    -------
    Series of str
        The folded names, same index.
    """
    s = names.astype(str).str.normalize("NFC").str.casefold().str.translate(_FOLD)
    return s.str.normalize("NFKD").str.replace(r"[\W_]+", "", regex=True)


def _has_name(sites: pd.DataFrame, osm: np.ndarray) -> np.ndarray:
    """True where a site has a real name: OSM sites need a ``name`` tag, others a non-empty name."""
    out = sites["name"].astype(str).str.strip().ne("").to_numpy(copy=True)
    for k in np.flatnonzero(osm):
        tags = sites["osm_tags"].iloc[k]
        try:
            name = json.loads(tags).get("name") if isinstance(tags, str) and tags else None
        except (ValueError, AttributeError):
            name = None
        out[k] = isinstance(name, str) and bool(name.strip())
    return out


def _footprints(sites: gpd.GeoDataFrame, features: gpd.GeoDataFrame | None) -> gpd.GeoSeries:
    """Each site's point, or for OSM areas their polygon from ``features`` (EPSG:4326)."""
    sites4326 = sites.to_crs("EPSG:4326") if sites.crs is not None else sites
    geom = np.asarray(sites4326.geometry.values, dtype=object).copy()
    if features is not None and len(features):
        ids = sites["site_id"].astype(str).str.extract(_OSM_ID)
        has = ids[0].notna().to_numpy() & (sites["source"].astype(str) == _OSM).to_numpy()
        feat = features.to_crs("EPSG:4326") if features.crs is not None else features
        index = pd.MultiIndex.from_arrays(
            [feat["osm_type"].astype(str).to_numpy(), feat["osm_id"].astype("int64").to_numpy()]
        )
        wanted = pd.MultiIndex.from_arrays(
            [ids[0].to_numpy()[has], ids[1].to_numpy()[has].astype("int64")]
        )
        hit = index.get_indexer(wanted) if index.is_unique else np.full(len(wanted), -1)
        fgeom = np.asarray(feat.geometry.values, dtype=object)
        where = np.flatnonzero(has)[hit >= 0]
        poly = _is_area(fgeom[hit[hit >= 0]])
        geom[where[poly]] = fgeom[hit[hit >= 0]][poly]
    return gpd.GeoSeries(geom, crs="EPSG:4326")


def _keep_order(sites: gpd.GeoDataFrame, osm: np.ndarray, foot: gpd.GeoSeries) -> np.ndarray:
    """Rank of each site, 0 = kept first: user rows, then OSM areas, then nodes; lower OSM id."""
    area = _is_area(np.asarray(foot.values, dtype=object))
    ids = sites["site_id"].astype(str).str.extract(_OSM_ID)[1]
    osm_id = pd.to_numeric(ids, errors="coerce").fillna(0).to_numpy(float)
    prio = np.where(~osm, 0, np.where(area, 1, 2))
    order = np.lexsort((sites["site_id"].astype(str).to_numpy(), osm_id, prio))
    rank = np.empty(len(sites), dtype=np.int64)
    rank[order] = np.arange(len(sites))
    return rank


def _is_area(geoms: np.ndarray) -> np.ndarray:
    return np.isin(shapely.get_type_id(geoms), (3, 6))  # Polygon, MultiPolygon


def _where(site: pd.Series) -> str:
    row = site["row"]
    return str(site["source"]) + ("" if pd.isna(row) else f" row {int(row)}")

"""Candidate locations for new docking points: vacant shopfronts, ground-floor shops and offices
from OSM, and points on the most-walked streets (``accessibility rank --candidates-*``).
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd

from ..core.network import Network
from ..core.visibility import edge_betweenness
from ..inputs.sites import SITE_COLUMNS

#: Entries of a dense chunk (candidates × nodes) of the bounded searches.

# --------------------------------------------------------------------------- candidates


#: OSM tags that mark a vacant shopfront (``key``, values or ``None`` for any value).
VACANT_TAGS = (("shop", ("vacant",)), ("disused:shop", None), ("vacant:shop", None))
#: Keys of shops and offices that may share or give up a ground-floor shopfront.
SHOPFRONT_KEYS = ("shop", "office")
#: ``level`` / ``addr:floor`` values that mean the ground floor (an absent tag counts too:
#: shops are mapped on the ground floor unless tagged otherwise).
GROUND_FLOOR = frozenset({"0", "eg", "e", "erdgeschoss", "ground", "g"})
#: Kinds of OSM candidates: the flag's meaning and the name given to unnamed ones.
CANDIDATE_KINDS = {
    "vacant": "vacant shop",
    "ground_floor": "ground-floor shopfront",
}


def candidates_from_osm(
    features: gpd.GeoDataFrame, category: str = "candidate", kind: str = "vacant"
) -> gpd.GeoDataFrame:
    """Shopfronts in OSM as candidate locations.

    Parameters
    ----------
    features : GeoDataFrame
        ``read_osm(...).features`` (EPSG:4326).
    category : str
        Category given to the candidates.
    kind : {"vacant", "ground_floor"}
        ``vacant``: vacant shopfronts (``shop=vacant``, ``disused:shop=*``,
        ``vacant:shop=*``). ``ground_floor``: shops and offices in use on the ground floor
        (``shop=*`` other than vacant, ``office=*``; ``level``/``addr:floor`` absent or
        one of :data:`GROUND_FLOOR`, or a list containing it such as ``0;1``): places
        where a docking point could share or take over a visible shop window.

    Returns
    -------
    GeoDataFrame
        :data:`accessibility.inputs.sites.SITE_COLUMNS` (``source`` ``osm``), points in EPSG:4326;
        unnamed ones are called ``vacant shop (osm:<type>/<id>)`` or
        ``ground-floor shopfront (osm:<type>/<id>)``.
    """

    if kind not in CANDIDATE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(CANDIDATE_KINDS)}, not {kind!r}")
    tags = [t if isinstance(t, dict) else {} for t in features["tags"]]
    vacant = np.zeros(len(features), dtype=bool)
    for key, values in VACANT_TAGS:
        v = np.array([t.get(key) for t in tags], dtype=object)
        vacant |= (v != None) & (np.isin(v.astype(str), list(values)) if values else True)  # noqa: E711
    if kind == "vacant":
        hit = vacant
    else:
        shopfront = np.array([any(k in t for k in SHOPFRONT_KEYS) for t in tags], dtype=bool)
        ground = np.array([_on_ground_floor(t) for t in tags], dtype=bool)
        hit = shopfront & ground & ~vacant
    sel = features.loc[hit]
    sid = [f"osm:{t}/{i}" for t, i in zip(sel["osm_type"], sel["osm_id"], strict=True)]
    names = [
        str(n) if isinstance(n, str) and n.strip() else f"{CANDIDATE_KINDS[kind]} ({s})"
        for n, s in zip(sel["name"], sid, strict=True)
    ]
    geom = sel.geometry
    if len(sel) and not geom.geom_type.eq("Point").all():
        geom = geom.representative_point()
    out = gpd.GeoDataFrame(
        {
            "site_id": sid,
            "name": names,
            "category": category,
            "source": "osm",
            "row": pd.array([pd.NA] * len(sel), dtype="Int64"),
            "osm_tags": [json.dumps(t, ensure_ascii=False) for t in sel["tags"]],
        },
        geometry=geom.to_numpy(),
        crs="EPSG:4326",
    )
    return out[SITE_COLUMNS]


def _on_ground_floor(tags: dict) -> bool:
    """No ``level``/``addr:floor`` tag, or one of them lists the ground floor."""
    given = [tags[k] for k in ("level", "addr:floor") if k in tags]
    if not given:
        return True
    return any(p.strip().lower() in GROUND_FLOOR for v in given for p in str(v).split(";"))


def candidates_from_streets(
    net: Network,
    n: int,
    betweenness: np.ndarray | None = None,
    spacing: float = 100.0,
    category: str = "candidate",
) -> gpd.GeoDataFrame:
    """Street points on the most-walked streets as candidates.

    The midpoints of the ``n`` edges with the highest local betweenness
    (:func:`accessibility.core.visibility.edge_betweenness`), at most one per
    ``spacing`` × ``spacing`` metre grid cell so they do not bunch up.

    Parameters
    ----------
    net : Network
        The walking network (projected CRS, metres).
    n : int
        Number of candidates wanted (fewer if there are fewer grid cells with edges).
    betweenness : ndarray (m,), optional
        Precomputed edge betweenness, one value per edge; computed when omitted.
    spacing : float
        Grid cell size in metres (network CRS).
    category : str
        Category given to every candidate.

    Returns
    -------
    GeoDataFrame
        :data:`accessibility.inputs.sites.SITE_COLUMNS`, ids ``street:<edge>``, EPSG:4326.
    """

    b = edge_betweenness(net) if betweenness is None else betweenness
    mid = 0.5 * (net.node_xy[net.u] + net.node_xy[net.v])
    cell = np.floor(mid / spacing).astype(np.int64)
    df = pd.DataFrame({"cx": cell[:, 0], "cy": cell[:, 1], "b": b, "e": np.arange(net.n_edges)})
    df = df.sort_values(["b", "e"], ascending=[False, True], kind="stable")
    top = df.drop_duplicates(["cx", "cy"]).head(n)["e"].to_numpy()
    gdf = gpd.GeoDataFrame(
        {
            "site_id": [f"street:{e}" for e in top],
            "name": [
                f"street point (way {w}, edge {e})"
                for w, e in zip(net.way_id[top], top, strict=True)
            ],
            "category": category,
            "source": "network",
            "row": pd.array([pd.NA] * len(top), dtype="Int64"),
            "osm_tags": None,
        },
        geometry=gpd.points_from_xy(mid[top, 0], mid[top, 1]),
        crs=net.crs,
    ).to_crs("EPSG:4326")
    return gdf[SITE_COLUMNS]


def with_addresses(
    cand: gpd.GeoDataFrame, net: Network, segments: pd.DataFrame | None = None
) -> gpd.GeoDataFrame:
    """Candidates with ``address`` (from their OSM ``addr:*`` tags) and ``nearest_street``.

    So that a candidate without a name can be found on the ground: ``address`` is
    ``addr:street addr:housenumber, addr:postcode addr:city`` (the parts present; empty
    without ``addr:street`` or ``addr:place``); ``nearest_street`` is the name of the nearest
    named walkable way (straight-line distance in the network CRS), empty when no way of
    the extract has a name.

    Parameters
    ----------
    cand : GeoDataFrame
        Candidates (:data:`accessibility.inputs.sites.SITE_COLUMNS`, any CRS).
    net : Network
        The walking network (projected CRS, metres); ``way_id`` per edge.
    segments : DataFrame, optional
        ``read_osm(...).segments`` (``way_id``, ``name``); without it ``nearest_street`` is empty.

    Returns
    -------
    GeoDataFrame
        A copy of ``cand`` with the two text columns.
    """
    out = cand.copy()
    tags = [
        json.loads(t) if isinstance(t, str) and t else {}
        for t in out.get("osm_tags", pd.Series([None] * len(out), index=out.index))
    ]
    out["address"] = [_address(t) for t in tags]
    out["nearest_street"] = ""
    if segments is None or not len(out) or "name" not in segments:
        return out
    names = segments.dropna(subset=["name"]).groupby("way_id")["name"].first()
    edge_name = pd.Series(net.way_id).map(names).to_numpy(object)
    named = np.flatnonzero(pd.notna(edge_name))
    if not len(named):
        return out
    import shapely

    tree = shapely.STRtree(net.edge_lines()[named])
    pts = out.geometry.to_crs(net.crs)
    pts = pts if pts.geom_type.eq("Point").all() else pts.representative_point()
    idx = tree.query_nearest(pts.to_numpy(), all_matches=False)
    street = np.full(len(out), "", dtype=object)
    street[idx[0]] = edge_name[named[idx[1]]]
    out["nearest_street"] = street
    return out


def _address(tags: dict) -> str:
    """``street housenumber, postcode city`` from OSM ``addr:*`` tags (parts present), or ``""``."""
    street = tags.get("addr:street") or tags.get("addr:place") or ""
    if not street:
        return ""
    first = " ".join(x for x in (street, tags.get("addr:housenumber") or "") if x)
    town = " ".join(x for x in (tags.get("addr:postcode"), tags.get("addr:city")) if x)
    return ", ".join(x for x in (first, town) if x)

"""The large-map case: a Kaiserslautern output folder's residents copied side by side.

``replicate`` shifts whole copies of the analysed residents (their real walking minutes,
flags and nearest sites) and of the sites on a grid, so a map of any size can be built
with :func:`accessibility.outputs.map.full_map` without routing every point again. Used
by tests/test_maps.py and bench/bench_maps.py (545,750 points).
"""

from __future__ import annotations

import dataclasses
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from accessibility.outputs.folder import OutputData

#: The issue's large case: 2,183 Kaiserslautern Zensus cells × 250.
LARGE_POINTS = 545_750


def replicate(
    data: OutputData, n_points: int = LARGE_POINTS, gap_m: float = 500.0, isochrones: bool = False
) -> OutputData:
    """``data`` with its residents copied until there are ``n_points`` (the last copy cut).

    Copies sit on a square grid ``gap_m`` metres apart (network CRS); sites are copied
    with them (ids suffixed ``#copy``); with ``isochrones`` the category bands too (one
    multipolygon per category and threshold), else they are left out; districts and
    scenario layers are left out.
    """
    res = data.residents
    k = math.ceil(n_points / len(res))
    side = math.ceil(math.sqrt(k))
    w, s, e, n = res.total_bounds
    dx, dy = e - w + gap_m, n - s + gap_m
    offsets = [((i % side) * dx, (i // side) * dy) for i in range(k)]

    def shift(gdf: gpd.GeoDataFrame, id_cols: list[str], n: int) -> gpd.GeoDataFrame:
        """The first ``n`` rows of ``gdf`` copied onto the offsets, copy by copy."""
        copy = np.repeat(np.arange(len(offsets)), len(gdf))[:n]
        row = np.tile(np.arange(len(gdf)), len(offsets))[:n]
        xy = shapely.get_coordinates(gdf.geometry.to_numpy())[row] + np.asarray(offsets)[copy]
        out = pd.DataFrame(gdf.drop(columns=gdf.geometry.name).iloc[row]).reset_index(drop=True)
        suffix = pd.Series(copy).map("#{}".format)
        for col in id_cols:
            if col in out:
                out[col] = out[col].astype(str) + suffix
        return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=gdf.crs)

    big = shift(res, ["nearest_site_id"], n_points)
    sites = shift(data.sites, ["site_id"], k * len(data.sites))
    assert len(big) == n_points and np.isfinite(big["population"]).all()
    iso = None
    if isochrones and data.isochrones is not None:
        cat = data.isochrones[data.isochrones["kind"] == "category"]
        geoms = []
        for g in cat.geometry.to_numpy():
            parts = shapely.get_parts(g)
            moved = [shapely.transform(parts, lambda c, o=o: c + o) for o in offsets]
            geoms.append(shapely.multipolygons(np.concatenate(moved)))
        iso = gpd.GeoDataFrame(cat.drop(columns="geometry"), geometry=geoms, crs=cat.crs)
    return dataclasses.replace(
        data, residents=big, sites=sites, isochrones=iso, districts=None, scenario={}
    )

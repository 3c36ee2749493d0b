"""District polygons (``--districts``): read and checked, a ``district`` name per polygon."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np

from ..errors import InputError


def read_districts(path: str | Path, column: str | None) -> gpd.GeoDataFrame:
    """District polygons with a ``district`` name column.

    Parameters
    ----------
    path : path
        GeoJSON, GeoPackage or Shapefile of polygons.
    column : str, optional
        Name column; default the first of ``name``, ``district``, ``Name``, ``NAME``.

    Returns
    -------
    GeoDataFrame
        ``district`` (unique names as text) and the polygons, in the file's own CRS.

    Raises
    ------
    InputError
        The file is unreadable or empty, has no CRS, no (or no such) name column,
        non-polygon features, or missing or duplicate names.
    """
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types
        raise InputError(f"cannot read districts ({exc})", path) from exc
    if gdf.empty:
        raise InputError("the districts file has no features", path)
    if column is None:
        column = next(
            (c for c in ("name", "district", "Name", "NAME", "bezeichnung") if c in gdf), None
        )
        if column is None:
            raise InputError(
                f"no name column found (columns: {', '.join(map(str, gdf.columns))}); "
                "pass --district-column",
                path,
            )
    elif column not in gdf:
        raise InputError(
            f"column {column!r} not found (columns: {', '.join(map(str, gdf.columns))})", path
        )
    if not gdf.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise InputError("districts must be polygons", path)
    if gdf.crs is None:
        raise InputError("the districts file has no CRS; save it with one (e.g. EPSG:25832)", path)
    names = gdf[column].astype(str)
    if gdf[column].isna().any() or (names.str.strip() == "").any():
        rows = np.flatnonzero(gdf[column].isna().to_numpy() | (names.str.strip() == "").to_numpy())
        raise InputError(
            f"district names missing in column {column!r} (features {', '.join(str(r + 1) for r in rows[:10])}); "
            "give every district a name",
            path,
        )
    dup = names[names.duplicated(keep=False)]
    if len(dup):
        listed = "; ".join(
            f"{n!r} (features {', '.join(str(i + 1) for i in idx[:5])})"
            for n, idx in dup.groupby(dup, sort=False).groups.items()
        )
        raise InputError(
            f"district names must be unique, but these occur more than once: {listed}; rename "
            "them, or dissolve the parts of one district into one (multi)polygon",
            path,
        )
    return gpd.GeoDataFrame(
        {"district": gdf[column].astype(str).to_numpy()},
        geometry=gdf.geometry.to_numpy(),
        crs=gdf.crs,
    )

"""Checks on written GeoPackages, shared by the output tests (issue 12: clean layers)."""

from __future__ import annotations

from pathlib import Path

import pyogrio

#: Geometry types a GIS program can load as one typed layer.
TYPED = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}


def geopackage_layers(folder: Path) -> list[tuple[str, str, str, str]]:
    """``(file, layer, geometry type, CRS)`` of every layer of every ``.gpkg`` under ``folder``.

    The geometry type is the layer's declared type (pyogrio), the one QGIS sees.
    """
    out = []
    for path in sorted(Path(folder).rglob("*.gpkg")):
        for layer, _ in pyogrio.list_layers(path):
            info = pyogrio.read_info(path, layer=layer)
            out.append((str(path.relative_to(folder)), layer, info["geometry_type"], info["crs"]))
    return out


def assert_clean_geopackages(
    folder: Path, crs: str | None = None
) -> list[tuple[str, str, str, str]]:
    """Every layer under ``folder`` has one declared geometry type and the CRS ``crs``
    (default: one projected CRS shared by all layers); polygon layers are MultiPolygon, and
    every feature has the declared type (or is null).
    """
    layers = geopackage_layers(folder)
    assert layers, f"no GeoPackage under {folder}"
    if crs is None:
        crs = layers[0][3]
        assert crs and crs != "EPSG:4326", layers[0]
    for file, layer, gtype, lcrs in layers:
        assert gtype in TYPED, (file, layer, gtype)
        assert lcrs == crs, (file, layer, lcrs)
        assert gtype != "Polygon", (file, layer, "polygon layers are MultiPolygon")
        g = pyogrio.read_dataframe(Path(folder) / file, layer=layer, columns=[])
        kinds = set(g.geometry[g.geometry.notna()].geom_type)
        assert kinds <= {gtype}, (file, layer, kinds)
    return layers

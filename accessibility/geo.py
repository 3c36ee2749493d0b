"""Coordinate reference systems shared by the input readers and the core.

``metric_crs`` chooses the metric working CRS of a study area (metres); ``to_wgs84`` and
``inside`` work in longitude/latitude degrees (EPSG:4326).
"""

from __future__ import annotations

import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from .errors import InputError

#: Metric CRS used in Germany (ETRS89 / UTM zone 32N), metres.
GERMANY_CRS = "EPSG:25832"


def metric_crs(lon: float, lat: float) -> str:
    """Metric working CRS for a location: EPSG:25832 in Germany, else the local UTM zone.

    Parameters
    ----------
    lon, lat : float
        A point of the study area in degrees (EPSG:4326).

    Returns
    -------
    str
        ``"EPSG:25832"`` or ``"EPSG:326xx"``/``"EPSG:327xx"`` (UTM, metres).
    """
    if 5.5 <= lon <= 15.5 and 47.0 <= lat <= 55.2:
        return GERMANY_CRS
    zone = int((lon + 180) // 6) + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def check_crs(crs: str | None) -> str:
    """The CRS as a normalised string (e.g. ``"EPSG:25832"``).

    Raises
    ------
    InputError
        The CRS is unknown to PROJ.

    Parameters
    ----------
    crs : str or None
        Anything PROJ understands (``"EPSG:25832"``, ``25832``, a WKT or PROJ string).

    Returns
    -------
    str
        The normalised CRS string.
    """
    try:
        return CRS.from_user_input(crs).to_string()
    except CRSError as exc:
        raise InputError(f"unknown CRS {crs!r}; give e.g. EPSG:25832 (UTM zone 32N)") from exc


def to_wgs84(x: np.ndarray, y: np.ndarray, src_crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude in degrees (EPSG:4326) of points given in ``src_crs``.

    Points PROJ cannot transform come back as NaN.

    Parameters
    ----------
    x, y : ndarray of float
        Coordinates in ``src_crs`` (metres for a projected CRS, degrees for EPSG:4326).
    src_crs : str
        Their CRS.

    Returns
    -------
    (ndarray, ndarray)
        Longitude, latitude in degrees (EPSG:4326); NaN where not transformable.
    """
    if src_crs == "EPSG:4326":
        return x.copy(), y.copy()
    t = Transformer.from_crs(src_crs, "EPSG:4326", always_xy=True)
    lon, lat = t.transform(x, y, errcheck=False)
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    lon[bad] = np.nan
    lat[bad] = np.nan
    return lon, lat


def inside(lon: np.ndarray, lat: np.ndarray, bounds: tuple) -> np.ndarray:
    """Mask of points inside ``bounds`` (west, south, east, north in degrees, EPSG:4326).

    Parameters
    ----------
    lon, lat : ndarray of float
        Degrees (EPSG:4326); NaN is outside.
    bounds : tuple of float
        ``(west, south, east, north)`` in degrees (EPSG:4326), edges included.

    Returns
    -------
    ndarray of bool
    """
    w, s, e, n = bounds
    with np.errstate(invalid="ignore"):
        return (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)

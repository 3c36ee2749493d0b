"""The one place where private osmnx names are used, behind a version check.

Everything else in the package uses osmnx's public API only (``osmnx.settings``,
``osmnx.projection``; place names are geocoded by the package's own Nominatim
request, :func:`accessibility.inputs.download.geocode_place`). Two things osmnx does not
expose publicly, and which must stay identical to osmnx's own so that online and
offline runs select the same ways and cut large areas the same way:

* the Overpass filter of the ``walk`` network type
  (``osmnx._overpass._get_network_filter``);
* the cutting of a query polygon into sub-polygons of at most
  ``settings.max_query_area_size`` and their coordinate strings
  (``osmnx._overpass._make_overpass_polygon_coord_strs``).

They are looked up here, by name, with a clear error naming the installed and
the tested osmnx versions if they moved. ``tests/test_download.py`` checks them,
so an osmnx upgrade that renames them fails the test suite, not a user's run.
"""

from __future__ import annotations

import functools
import warnings
from importlib.metadata import PackageNotFoundError, version

#: osmnx versions this package is tested with (keep in step with pyproject.toml
#: and environment.yml). 2.0.1 changed the walk filter; 2.0.2 renamed private
#: cache helpers.
TESTED = (">=2.0.2", "<2.2")

#: The private names used, as ``module: [names]``.
PRIVATE_NAMES = {
    "osmnx._overpass": ["_get_network_filter", "_make_overpass_polygon_coord_strs"],
}


def osmnx_version() -> str:
    """The installed osmnx version (``"0"`` if it is not installed)."""
    try:
        return version("osmnx")
    except PackageNotFoundError:
        return "0"


def _parse(v: str) -> tuple[int, ...]:
    out = []
    for part in v.split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out + [0] * (3 - len(out)))


def is_tested_version(v: str | None = None) -> bool:
    """True if osmnx ``v`` (default: the installed one) lies in :data:`TESTED`."""
    parsed = _parse(v or osmnx_version())
    return _parse(TESTED[0][2:]) <= parsed < _parse(TESTED[1][1:])


def _requirement() -> str:
    return f"osmnx{TESTED[0]},{TESTED[1]}"


@functools.cache
def _private(module: str, name: str):
    """A private osmnx function, or a RuntimeError saying which osmnx to install."""
    import importlib

    installed = osmnx_version()
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise RuntimeError(
            f"osmnx {installed} has no {module}.{name}, which accessibility needs; it is tested "
            f"with {_requirement()}: install that, e.g. pip install '{_requirement()}'"
        ) from exc
    finally:
        if not is_tested_version(installed):
            warnings.warn(
                f"osmnx {installed} is outside the tested range {_requirement()}; "
                "downloads may differ from offline runs",
                stacklevel=3,
            )


def walk_filter_text() -> str:
    """osmnx's Overpass filter of the ``walk`` network, e.g. ``["highway"]["area"!~"yes"]...``."""
    return _private("osmnx._overpass", "_get_network_filter")("walk")


def polygon_coord_strs(area) -> list[str]:
    """osmnx's ``poly:`` coordinate strings (``"lat lon lat lon ..."``) for an EPSG:4326 area.

    The area is cut into pieces of at most ``osmnx.settings.max_query_area_size``
    square metres, as osmnx does for its own queries; holes are ignored.
    """
    return _private("osmnx._overpass", "_make_overpass_polygon_coord_strs")(area)


def check_private_names() -> dict[str, list[str]]:
    """Look every private name up; returns the names found, raises RuntimeError if one moved."""
    for module, names in PRIVATE_NAMES.items():
        for name in names:
            _private(module, name)
    return PRIVATE_NAMES

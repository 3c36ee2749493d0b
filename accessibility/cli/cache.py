"""``accessibility cache list|clear``: see and clean the cache folder."""

from __future__ import annotations

# The library is imported inside the commands (lazily) so that `accessibility --help` and
# option errors stay fast: importing it loads geopandas, shapely, pyproj, osmium and folium.
import re
import time
from pathlib import Path

import click
from rich.table import Table

from ..errors import InputError
from .options import console, friendly

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> float:
    """``"30d"``, ``"12h"``, ``"2w"``, ``"90m"`` or plain days → seconds.

    Parameters
    ----------
    text : str
        A number with an optional unit: ``s`` seconds, ``m`` minutes, ``h`` hours,
        ``d`` days (the default), ``w`` weeks.

    Returns
    -------
    float
        The age in seconds.

    Raises
    ------
    InputError
        ``text`` is not such an age.
    """
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", str(text))
    if not m:
        raise InputError(
            f"--older-than {text!r}: give an age like 30d (days), 12h (hours) or 2w (weeks)"
        )
    return float(m.group(1)) * _UNITS[m.group(2) or "d"]


def cache_entries(root: Path) -> list[dict]:
    """Every cached item: downloads (the .osm with its record) and other files, by kind.

    Returns dicts with ``kind`` (the sub-folder, or ``other``), ``files`` (paths),
    ``bytes``, ``mtime`` (newest file, seconds since the epoch) and ``label``.

    Parameters
    ----------
    root : Path
        The cache folder (:func:`accessibility.config.cache_dir`).
    """
    entries: dict[Path, dict] = {}
    for p in sorted(root.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(root)
        kind = rel.parts[0] if len(rel.parts) > 1 else "other"
        key = p.with_suffix("") if kind == "downloads" else p
        e = entries.setdefault(key, {"kind": kind, "files": [], "bytes": 0, "mtime": 0.0})
        st = p.stat()
        e["files"].append(p)
        e["bytes"] += st.st_size
        e["mtime"] = max(e["mtime"], st.st_mtime)
    for key, e in entries.items():
        e["label"] = key.name
        record = key.with_suffix(".json")
        if e["kind"] == "downloads" and record.exists():
            import json

            try:
                rec = json.loads(record.read_text(encoding="utf-8"))
                w, s, east, n = rec.get("area_bounds") or (0, 0, 0, 0)
                e["label"] = (
                    f"{rec.get('overpass_url', '?')}  area {w:.3f},{s:.3f},{east:.3f},{n:.3f}"
                )
            except (OSError, ValueError, TypeError):
                pass
        elif e["kind"] == "places":
            import json

            try:
                rec = json.loads(key.read_text(encoding="utf-8"))
                e["label"] = f"{rec['nominatim_url']}  {rec['query']!r}"
            except (OSError, ValueError, TypeError, KeyError):
                pass
    return list(entries.values())


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


@click.group()
def cache() -> None:
    """Show or clean the cache folder (downloads, parsed networks, geocoder answers).

    The folder is $ACCESSIBILITY_CACHE, else ~/.cache/accessibility.

    \b
    Examples:
      accessibility cache list
      accessibility cache clear --older-than 30d
      accessibility cache clear --kind downloads
    """


@cache.command("list")
@click.option("--all", "show_all", is_flag=True, help="One row per cached item, not per kind.")
@friendly
def cache_list(show_all: bool) -> None:
    """List what the cache holds, with sizes and ages.

    \b
    Example:
      accessibility cache list --all

    \f
    Parameters
    ----------
    **options
        The command-line options, documented by ``accessibility cache list --help``
        (each option's help states its unit).
    """
    from ..config import cache_dir

    root = cache_dir()
    entries = cache_entries(root)
    now = time.time()
    console.print(f"Cache folder: {root}")
    if not entries:
        console.print("(empty)")
        return
    t = Table()
    if show_all:
        for col in ("kind", "item", "size", "age"):
            t.add_column(col, justify="right" if col in ("size", "age") else "left")
        for e in sorted(entries, key=lambda e: (e["kind"], -e["mtime"])):
            t.add_row(e["kind"], e["label"], _size(e["bytes"]), _age(now - e["mtime"]))
    else:
        for col in ("kind", "items", "size", "oldest", "newest"):
            t.add_column(col, justify="left" if col == "kind" else "right")
        for kind in sorted({e["kind"] for e in entries}):
            es = [e for e in entries if e["kind"] == kind]
            ages = [now - e["mtime"] for e in es]
            t.add_row(kind, f"{len(es):,}", _size(sum(e["bytes"] for e in es)),
                      _age(max(ages)), _age(min(ages)))  # fmt: skip
    console.print(t)
    console.print(f"In all {_size(sum(e['bytes'] for e in entries))} in {len(entries):,} items.")


@cache.command("clear")
@click.option("--older-than", help="Only items older than this, e.g. 30d, 12h, 2w (default: all).")
@click.option(
    "--kind", help="Only this kind (a sub-folder such as downloads, places, network, osm, geocode)."
)
@friendly
def cache_clear(older_than: str | None, kind: str | None) -> None:
    """Delete cached items (all, or those older than --older-than / of one --kind).

    Deleted downloads are downloaded again when next needed; nothing else is lost.

    \b
    Examples:
      accessibility cache clear --older-than 30d
      accessibility cache clear --kind downloads

    \f
    Parameters
    ----------
    **options
        The command-line options, documented by ``accessibility cache clear --help``
        (each option's help states its unit).
    """
    from ..config import cache_dir

    root = cache_dir()
    limit = parse_age(older_than) if older_than else None
    now = time.time()
    removed, freed = 0, 0
    for e in cache_entries(root):
        if kind and e["kind"] != kind:
            continue
        if limit is not None and now - e["mtime"] <= limit:
            continue
        for p in e["files"]:
            p.unlink(missing_ok=True)
        removed += 1
        freed += e["bytes"]
    for d in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
        if not any(d.iterdir()):
            d.rmdir()
    console.print(f"Removed {removed:,} items ({_size(freed)}) from {root}.")

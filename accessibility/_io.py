"""Atomic file writes, whole output folders, formula-safe CSV, strict JSON, file hashing."""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import math
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import OutputError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock between runs there
    fcntl = None  # type: ignore[assignment]


def atomic_write(path: str | Path, writer: Callable[[Path], None], suffix: str = "") -> Path:
    """Write ``path`` atomically: ``writer`` fills a temporary file that is then renamed.

    A crash half-way never leaves a truncated output behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        tmp_path.unlink()  # some writers (GPKG) refuse to overwrite
        writer(tmp_path)
        os.replace(tmp_path, path)
    except BaseException as exc:
        tmp_path.unlink(missing_ok=True)
        if type(exc).__module__.split(".")[0] in ("pyogrio", "sqlite3"):
            # GDAL reports a full disk or a size limit as a failed insert
            raise OutputError(
                f"cannot write {path} ({_one_line(exc)}); is the disk full or the folder not "
                "writable?"
            ) from exc
        raise
    return path


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_text(text: str, path: str | Path) -> Path:
    """Write a text file atomically (UTF-8)."""

    def write(p: Path) -> None:
        p.write_text(text, encoding="utf-8")

    return atomic_write(path, write)


def write_json(obj: object, path: str | Path) -> Path:
    """Write strict JSON atomically, pretty-printed, non-ASCII kept.

    NaN and ±inf become ``null`` (:func:`json_safe`), so strict readers accept the file.
    """
    text = json.dumps(json_safe(obj), indent=2, ensure_ascii=False, default=str, allow_nan=False)
    return write_text(text + "\n", path)


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a CSV atomically without the index, formula-like text neutralised.

    Every CSV of the package goes through here: text cells (and column names) a
    spreadsheet would run as a formula get a leading ``'`` (:func:`safe_csv_frame`).
    """
    safe = safe_csv_frame(df)
    return atomic_write(path, lambda p: safe.to_csv(p, index=False))


def write_gpkg(
    gdf,
    path: str | Path,
    layer: str | None = None,
    crs: object = None,
    geometry_type: str | None = None,
) -> Path:
    """Write a GeoDataFrame to a fresh GeoPackage atomically, one geometry type per layer.

    Parameters
    ----------
    gdf : GeoDataFrame
        The features (see :func:`single_geometry_type` for the geometry types written).
    path : str or Path
        The ``.gpkg`` file.
    layer : str, optional
        Layer name; default the file name without suffix.
    crs : optional
        Reproject to this CRS first (the run's metric CRS, so that every layer of a
        run shares one CRS).
    geometry_type : str, optional
        The layer's declared type when it has no features (e.g. ``"Point"``), so that
        an empty layer is not of type "Unknown".

    Returns
    -------
    Path
    """
    layer = layer or Path(path).stem
    clean = single_geometry_type(gdf if crs is None else gdf.to_crs(crs))
    kw = {"geometry_type": geometry_type} if geometry_type and len(clean) == 0 else {}
    return atomic_write(
        path, lambda p: clean.to_file(p, layer=layer, driver="GPKG", **kw), suffix=".gpkg"
    )


#: Geometry types promoted to their multi type when a layer mixes them (or has empties).
_MULTI = {
    "Polygon": "MultiPolygon",
    "MultiPolygon": "MultiPolygon",
    "LineString": "MultiLineString",
    "MultiLineString": "MultiLineString",
    "Point": "MultiPoint",
    "MultiPoint": "MultiPoint",
}


def single_geometry_type(gdf):
    """A copy of a layer whose non-missing geometries all have one type (for GIS programs).

    A layer mixing a type with its multi type (``Polygon`` and ``MultiPolygon``), or with
    empty geometries (an empty ``GeometryCollection`` from a union of nothing), becomes the
    multi type; an empty geometry becomes an empty multi geometry of that type (area 0).
    Every polygon layer is written as ``MultiPolygon`` (isochrone bands, districts, cells),
    so a layer keeps its type whatever the data. Point and line layers of one type stay as
    they are. A layer whose geometries are of unrelated kinds is returned unchanged.

    Parameters
    ----------
    gdf : GeoDataFrame
        Any CRS (kept).

    Returns
    -------
    GeoDataFrame
    """
    import geopandas as gpd
    import shapely

    geoms = gdf.geometry.to_numpy()
    if len(geoms) == 0:
        return gdf
    missing = shapely.is_missing(geoms)
    empty = ~missing & shapely.is_empty(geoms)
    solid = ~missing & ~empty
    kinds = {str(t) for t in gdf.geometry[solid].geom_type}
    multi = {_MULTI.get(t) for t in kinds}
    if len(multi) != 1 or None in multi:  # unrelated kinds, or nothing to go by
        return gdf
    target = multi.pop()
    polygonal = target == "MultiPolygon"
    if len(kinds) == 1 and not empty.any() and not polygonal:
        return gdf
    make = {"MultiPolygon": shapely.multipolygons, "MultiLineString": shapely.multilinestrings,
            "MultiPoint": shapely.multipoints}[target]  # fmt: skip
    out = np.array(geoms, dtype=object)
    single = solid & ~np.isin(shapely.get_type_id(geoms), [4, 5, 6])
    out[single] = [make([g]) for g in geoms[single]]
    out[empty] = [shapely.from_wkt(f"{target.upper()} EMPTY") for _ in range(int(empty.sum()))]
    res = gdf.copy()
    res[gdf.geometry.name] = gpd.GeoSeries(out, index=gdf.index, crs=gdf.crs)
    return res


def sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------- CSV safety

#: Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralise(value: object) -> object:
    """``value`` with a leading ``'`` if it is text a spreadsheet would run as a formula.

    Text starting with ``= + - @``, a tab or a carriage return gets the prefix (OWASP);
    numbers, and text that is a plain number such as ``-12.5``, stay as they are.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names are neutralised (:func:`neutralise`).

    Numeric columns are untouched, so a negative number stays a number.
    """
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype | pd.CategoricalDtype):
            out[col] = s.astype(object).map(neutralise)
    out.columns = [neutralise(str(c)) if isinstance(c, str) else c for c in out.columns]
    return out


# --------------------------------------------------------------------------- strict JSON


def json_safe(obj: object) -> object:
    """``obj`` with NaN/±inf floats as ``None`` and numpy scalars/arrays as plain Python."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [json_safe(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


# --------------------------------------------------------------------------- whole folders

STAGING = ".staging-"
_PREVIOUS = "previous"


class FolderLocked(OutputError):
    """Another run holds the lock of an output folder."""


def _renameat2_exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _is_output_folder(path: Path) -> bool:
    """True for an empty folder or one written by this tool (``run.json`` or ``rejects.csv``)."""
    try:
        names = {p.name for p in path.iterdir()}
    except OSError:
        return False
    return not names or bool(names & {"run.json", "rejects.csv"})


def _clean_leftovers(out: Path) -> None:
    """Remove the staging folders of killed runs; restore a previous folder a swap left aside."""
    for stage in out.parent.glob(f".{out.name}{STAGING}*"):
        prev = stage / _PREVIOUS
        if prev.is_dir() and not out.exists():
            os.rename(prev, out)  # killed between the two renames of a non-atomic swap
        shutil.rmtree(stage, ignore_errors=True)


def _swap_into_place(new: Path, out: Path, stage: Path) -> None:
    if not out.exists():
        os.rename(new, out)
    elif not _renameat2_exchange(new, out):
        os.rename(out, stage / _PREVIOUS)
        os.rename(new, out)


def output_error(exc: OSError, path: Path) -> OutputError:
    """A one-line :class:`OutputError` for a file-system error while writing ``path``."""
    why = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exhausted",
        errno.EFBIG: "a file exceeds the size limit",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "the file system is read-only",
        errno.ENOENT: "a folder on the way does not exist",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
    }.get(exc.errno, exc.strerror or str(exc))  # type: ignore[arg-type]
    where = exc.filename or path
    return OutputError(
        f"cannot write {path} ({why}: {where}); choose another --out or free the space/permissions"
    )


def check_output_folder(out: str | Path) -> Path:
    """Refuse an ``--out`` that is a file or a folder of other files, before any work is done.

    Returns the absolute path. Raises :class:`OutputError`.
    """
    out = Path(out).absolute()
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} is a file, not a folder; choose another --out")
    if out.is_dir() and not _is_output_folder(out):
        raise OutputError(
            f"{out} already holds other files (no run.json); it would be replaced as a "
            "whole: give a new or empty folder, or an earlier output folder of this tool"
        )
    return out


@contextmanager
def output_folder(
    out: str | Path, wait: bool = True, on_wait: Callable[[str], None] | None = None
) -> Iterator[Path]:
    """Write a whole output folder, or leave the previous one untouched.

    Yields a fresh folder with the same name inside a hidden staging sibling
    (``.<name>.staging-*``); when the ``with`` block ends without an error it is swapped
    into place (atomically with ``renameat2`` on Linux), so ``out`` is at every moment
    either the complete previous folder or the complete new one. A lock file
    ``.<name>.lock`` next to ``out`` keeps a second run off the same folder: it waits
    (``on_wait`` is told why) or, with ``wait=False``, raises :class:`FolderLocked`.
    Staging folders of killed runs are removed on the next run.

    Raises
    ------
    OutputError
        ``out`` is a file, a folder of other files, or cannot be written.
    """
    out = check_output_folder(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(out.parent / f".{out.name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise output_error(exc, out) from exc
    try:
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            msg = f"another run is writing {out}"
            if not wait:
                raise FolderLocked(
                    f"{msg}; wait until it ends, or give another --out (without --no-wait this "
                    "run waits)"
                ) from None
            if on_wait:
                on_wait(f"{msg}; waiting for it to end…")
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            _clean_leftovers(out)
            stage = Path(tempfile.mkdtemp(prefix=f".{out.name}{STAGING}", dir=out.parent))
            new = stage / out.name
            new.mkdir()
        except OSError as exc:
            raise output_error(exc, out) from exc
        try:
            try:
                yield new
            except OutputError as exc:  # name the folder the user gave, not the staging one
                raise OutputError(str(exc).replace(str(new), str(out))) from exc
            except OSError as exc:  # after OutputError, which is an OSError too
                raise output_error(exc, out) from exc
            try:
                _swap_into_place(new, out, stage)
            except OSError as exc:
                raise output_error(exc, out) from exc
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    finally:
        os.close(fd)  # releases the lock

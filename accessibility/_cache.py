"""A safe, self-healing on-disk cache of numpy arrays and JSON (no pickle).

Every entry is one ``.npz`` file read with ``allow_pickle=False``. It carries a
``__meta__`` record: the entry ``kind``, the cache :data:`FORMAT`, the writer's
``version`` and a SHA-256 over the names, dtypes, shapes and bytes of its arrays.

- A missing entry is a miss (``None``).
- A damaged, truncated, foreign or outdated entry is a miss too: it is deleted with a
  warning (:class:`~accessibility.errors.AccessibilityWarning`) and the caller rebuilds it.
- An entry that cannot be written (read-only or full cache folder) is skipped with one
  warning per cache root (``$ACCESSIBILITY_CACHE``); the run goes on uncached.

Variable-length data is never put into fixed-width arrays: texts are one UTF-8 byte
blob plus offsets (:func:`pack_bytes`), dictionaries and lists are JSON text
(:func:`pack_json`).

Plain API for every cache of the package::

    arrays = load_arrays(path, kind="network", version=2)   # dict or None
    if arrays is None:
        arrays = build()
        save_arrays(path, arrays, kind="network", version=2)  # Path or None
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ._io import atomic_write
from .config import cache_dir
from .errors import AccessibilityWarning

#: Layout of the entries written by this module.
FORMAT = 1
_META = "__meta__"
_warned_dirs: set[str] = set()


def checksum(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the sorted names, dtypes, shapes and bytes of ``arrays``."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _root_of(path: Path) -> str:
    """The cache root that holds ``path`` (one warning per root), else its folder."""

    root = cache_dir()
    return str(root) if root in path.parents else str(path.parent)


def _warn(message: str) -> None:
    warnings.warn(message, AccessibilityWarning, stacklevel=3)


def discard(path: str | Path, why: str) -> None:
    """Delete a damaged entry with a warning saying why (best effort)."""
    path = Path(path)
    _warn(f"cache entry {path} is unusable ({why}); it is discarded and rebuilt")
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def save_arrays(
    path: str | Path, arrays: dict[str, np.ndarray], *, kind: str, version: int = 1
) -> Path | None:
    """Write ``arrays`` as a checksummed cache entry (atomic).

    Object arrays are refused (they would need pickle): store text as ``numpy.str_``
    arrays or JSON (:func:`save_json`).

    Returns
    -------
    Path or None
        The entry, or None if the cache could not be written (one warning per folder).
    """
    path = Path(path)
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    bad = [k for k, v in arrays.items() if v.dtype == object]
    if bad or _META in arrays:
        raise ValueError(f"cannot cache object arrays or a key {_META!r}: {bad}")
    meta = {"kind": kind, "format": FORMAT, "version": int(version), "sha256": checksum(arrays)}

    def _w(p: Path) -> None:
        with open(p, "wb") as f:
            np.savez(f, **arrays, **{_META: np.array(json.dumps(meta))})  # type: ignore[arg-type]

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return atomic_write(path, _w, suffix=".npz")
    except OSError as exc:
        folder = str(path.parent)
        root = _root_of(path)
        if root not in _warned_dirs:
            _warned_dirs.add(root)
            _warn(
                f"the cache folder {folder} cannot be written ({exc.strerror or exc}); going on "
                "without caching (set ACCESSIBILITY_CACHE to a writable folder to speed up reruns)"
            )
        return None


def load_arrays(path: str | Path, *, kind: str, version: int = 1) -> dict[str, np.ndarray] | None:
    """Read a cache entry written by :func:`save_arrays`; None if missing or unusable.

    An unusable entry (not a zip, truncated, checksum mismatch, another kind, format
    or version) is deleted with a warning, so the caller rebuilds and rewrites it.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop(_META)))
    except KeyError:
        discard(path, "written without a checksum by an older version")
        return None
    except Exception as exc:  # zipfile, zlib, ValueError, OSError, EOFError ...
        discard(path, f"{type(exc).__name__}: {exc}")
        return None
    if (meta.get("kind"), meta.get("format"), meta.get("version")) != (kind, FORMAT, version):
        discard(path, f"another kind or version: {meta}")
        return None
    if meta.get("sha256") != checksum(arrays):
        discard(path, "checksum mismatch")
        return None
    return arrays


def save_json(path: str | Path, obj: object, *, kind: str, version: int = 1) -> Path | None:
    """Cache a JSON-serialisable object (see :func:`save_arrays`)."""
    return save_arrays(path, {"json": np.array(json.dumps(obj))}, kind=kind, version=version)


def load_json(path: str | Path, *, kind: str, version: int = 1) -> object | None:
    """Read an object cached with :func:`save_json`; None if missing or unusable."""
    arrays = load_arrays(path, kind=kind, version=version)
    if arrays is None:
        return None
    try:
        return json.loads(str(arrays["json"]))
    except (KeyError, ValueError) as exc:
        discard(path, f"{type(exc).__name__}: {exc}")
        return None


def writable(folder: str | Path) -> bool:
    """True if files can be created in ``folder`` (created if needed)."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


def pack_json(obj: object) -> np.ndarray:
    """JSON text of ``obj`` as a uint8 array (UTF-8), for :func:`save_arrays`."""
    return np.frombuffer(json.dumps(obj, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)


def unpack_json(a: np.ndarray) -> Any:
    """Inverse of :func:`pack_json`."""
    return json.loads(a.tobytes().decode("utf-8"))


def pack_bytes(items: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Variable-length byte strings as one uint8 blob and int64 offsets (n + 1)."""
    offsets = np.zeros(len(items) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in items], out=offsets[1:])
    return np.frombuffer(b"".join(items), dtype=np.uint8), offsets


def unpack_bytes(blob: np.ndarray, offsets: np.ndarray) -> list[bytes]:
    """Inverse of :func:`pack_bytes`."""
    raw = blob.tobytes()
    o = offsets.tolist()
    return [raw[a:b] for a, b in zip(o[:-1], o[1:], strict=True)]


def save_entry(path: Path, arrays: dict[str, np.ndarray], meta: dict, *, kind: str,
               version: int) -> Path | None:  # fmt: skip
    """:func:`save_arrays` with a JSON-serialisable ``meta`` record stored beside the arrays."""
    return save_arrays(path, {**arrays, "meta_json": pack_json(meta)}, kind=kind, version=version)


def load_entry(path: Path, *, kind: str, version: int) -> tuple[dict[str, np.ndarray], dict] | None:
    """Read an entry written by :func:`save_entry`: ``(arrays, meta)``, or None (see
    :func:`load_arrays`)."""
    arrays = load_arrays(path, kind=kind, version=version)
    if arrays is None:
        return None
    try:
        meta = unpack_json(arrays.pop("meta_json"))
    except (KeyError, ValueError) as exc:
        discard(path, f"{type(exc).__name__}: {exc}")
        return None
    return arrays, meta

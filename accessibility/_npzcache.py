"""A safe on-disk cache of numpy arrays: ``.npz`` without pickles, versioned and checksummed.

Every entry is one ``.npz`` file read with ``allow_pickle=False`` (loading it runs no
code). Variable-length data is never put into fixed-width arrays: texts are one UTF-8
byte blob plus offsets (:func:`pack_texts`), tag dictionaries are JSON text. Each
entry carries its format version and a SHA-256 over its arrays; an entry that fails
either check (or cannot be read at all) is discarded with a warning and rebuilt. A
cache folder that cannot be written costs speed only: the run goes on uncached, with
one warning per folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import warnings
from pathlib import Path

import numpy as np

from ._io import atomic_write

_META = "__meta__"
_CHECKSUM = "__checksum__"


class CacheWarning(UserWarning):
    """A cache entry was damaged (and is rebuilt) or the cache cannot be written."""


_warned: set[str] = set()


def warn_once(key: str, message: str) -> None:
    """Issue ``message`` as a :class:`CacheWarning` once per ``key`` and process."""
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, CacheWarning, stacklevel=3)


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save(path: Path, arrays: dict[str, np.ndarray], meta: dict, version: int) -> Path | None:
    """Write one entry atomically; on an unwritable cache warn once and return None.

    Parameters
    ----------
    path : Path
        The ``.npz`` file.
    arrays : dict
        Name → array of a plain dtype (numbers, booleans, bytes); no object arrays.
    meta : dict
        JSON-serialisable metadata, stored as UTF-8 text.
    version : int
        Format version; :func:`load` refuses entries of another version.
    """
    payload = dict(arrays)
    payload[_META] = pack_json({"version": version, **meta})
    payload[_CHECKSUM] = np.frombuffer(_checksum(payload).encode(), dtype=np.uint8)

    def _w(p: Path) -> None:
        with open(p, "wb") as f:
            np.savez(f, **payload)

    try:
        return atomic_write(path, _w, suffix=".npz")
    except OSError as exc:
        warn_once(
            str(path.parent),
            f"cache folder {path.parent} is not writable ({exc}); the run continues without "
            "caching (set ACCESSIBILITY_CACHE to a writable folder to reuse parsed data)",
        )
        return None


def load(path: Path, version: int) -> tuple[dict[str, np.ndarray], dict] | None:
    """Read an entry written by :func:`save`; None if absent, damaged or of another version.

    A damaged entry (unreadable, wrong checksum) is deleted with a :class:`CacheWarning`.
    """
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        stored = bytes(arrays.pop(_CHECKSUM)).decode()
        if stored != _checksum(arrays):
            raise ValueError("checksum mismatch")
        meta = unpack_json(arrays.pop(_META))
    except Exception as exc:  # zip, zlib, numpy and key errors all mean "damaged"
        warnings.warn(
            f"cache entry {path} is damaged ({exc}); it is discarded and rebuilt",
            CacheWarning,
            stacklevel=2,
        )
        with contextlib.suppress(OSError):  # a read-only cache keeps it; we rebuild anyway
            path.unlink(missing_ok=True)
        return None
    if meta.get("version") != version:
        return None
    return arrays, meta


def pack_json(obj: object) -> np.ndarray:
    """JSON text of ``obj`` as a uint8 array (UTF-8)."""
    return np.frombuffer(json.dumps(obj, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)


def unpack_json(a: np.ndarray) -> object:
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

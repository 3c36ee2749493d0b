"""Atomic file writes and file hashing."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd


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
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return path


def write_text(text: str, path: str | Path) -> Path:
    """Write a text file atomically (UTF-8)."""
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(obj: object, path: str | Path) -> Path:
    """Write JSON atomically, pretty-printed, non-ASCII kept."""
    return write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n", path)


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a CSV atomically without the index."""
    return atomic_write(path, lambda p: df.to_csv(p, index=False))


def write_gpkg(gdf, path: str | Path, layer: str | None = None) -> Path:
    """Write a GeoDataFrame to a fresh GeoPackage atomically."""
    layer = layer or Path(path).stem
    return atomic_write(path, lambda p: gdf.to_file(p, layer=layer, driver="GPKG"), suffix=".gpkg")


def sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()

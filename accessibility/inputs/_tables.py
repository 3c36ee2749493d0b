"""Delimited text tables of residents (Zensus grids, weighted points): reading and checks.

Shared by :func:`accessibility.inputs.zensus.read_zensus` and
:func:`accessibility.inputs.population.read_points`: sniffing the separator and encoding,
matching columns case-insensitively with "did you mean" hints, parsing numbers with
decimal commas and the statistical offices' markers for secret values, and writing
unusable rows to the rejects.
"""

from __future__ import annotations

import csv
import re
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from .._text import closest
from ..errors import InputError
from ..rejects import Rejects

#: Cell values the statistical offices print instead of a number: secret
#: ("geheim") or not available. 2022 tables use the en dash, older tables and
#: spreadsheets "-", ".", "/", "x" or an empty field. "\x96" is the cp1252 en dash
#: read as latin-1.
SUPPRESSED_MARKERS = frozenset({"", "–", "—", "-", ".", "/", "x", "X", "...", "\x96"})

#: Output columns that group columns must not shadow.
RESERVED = {"pid", "row", "population", "geometry", "cell_id"}

#: Column names that identify a feature and are never population groups.
ID_LIKE = re.compile(
    r"^(id|fid|gid|ogc_fid|objectid|osm_id|pid|plz|postcode|zip|ags|ars|row|index)$|_id$|^id_",
    re.IGNORECASE,
)

#: Suffixes read as vector files (GeoJSON, GeoPackage); membership tests only.
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg")


def read_table(path: Path) -> pd.DataFrame:
    """Read a delimited text file; sniff ``;``/``,``/tab and the encoding.

    A ``.zip`` holding one ``.csv``/``.txt`` table (the form of the official Zensus
    downloads) is read directly, without unpacking it to disk; row numbers then
    count the rows of that table.

    Clean numeric columns come back as numbers (parsed by pandas' C reader), all
    other columns as text; identifier columns (cell ids, ``id``, ``plz``, ...) are
    always text. Row ``i`` of the result is data row ``i + 1`` of the file: blank
    lines are parsed as rows so that the numbering stays true, then removed.
    """
    if not path.exists():
        raise InputError("file not found", path)
    with _open_table(path) as f:
        head = f.read(65536)
    if not head.strip():
        raise InputError("the file is empty (no header, no data rows)", path)
    sep = _sniff_separator(head)
    options = {
        "sep": sep,
        "keep_default_na": False,
        "na_filter": False,
        "quoting": csv.QUOTE_MINIMAL,
    }
    table = None
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            with _open_table(path) as f:
                header = pd.read_csv(f, nrows=0, encoding=encoding, **options).columns
            text_cols = {c: str for c in header if _is_id_column(str(c))}
            with _open_table(path) as f:
                table = pd.read_csv(
                    f,
                    dtype=text_cols,
                    skip_blank_lines=False,
                    low_memory=False,
                    encoding=encoding,
                    **options,
                )
            break
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, ValueError) as exc:
            raise InputError(
                f"cannot parse the file as '{sep}'-separated text ({exc})", path
            ) from exc
    if table is None:  # pragma: no cover - latin-1 decodes every byte
        raise InputError("cannot decode the file (tried UTF-8, cp1252, latin-1)", path)
    table.columns = [str(c).strip().lstrip("\ufeff") for c in table.columns]
    cols = [table.iloc[:, i] for i in range(table.shape[1])]  # by position: names may repeat
    text = [c for c in cols if not pd.api.types.is_numeric_dtype(c)]
    if len(text) == len(cols) and len(table):
        # A blank line turns every column into text, so only then can blank rows exist.
        blank = np.ones(len(table), dtype=bool)
        for c in text:
            blank &= c.astype("string").fillna("").str.strip().eq("").to_numpy()
        table = table.loc[~blank]
    if table.empty:
        raise InputError(
            f"the file has a header ({', '.join(table.columns)}) but no data rows", path
        )
    return table


def read_header(path: str | Path) -> str:
    """The first line of a text table or of the one table in a ``.zip`` (decoded leniently)."""
    with _open_table(Path(path)) as f:
        return f.readline().decode("utf-8-sig", errors="replace")


@contextmanager
def _open_table(path: Path):
    """Binary stream of a text table; for a ``.zip``, of the one CSV/TXT table inside it."""
    if path.suffix.lower() != ".zip":
        with path.open("rb") as f:
            yield f
        return
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise InputError(f"not a readable zip file ({exc})", path) from exc
    with zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        tables = [n for n in names if n.lower().endswith((".csv", ".txt"))]
        if len(tables) != 1:
            found = ", ".join(names) or "nothing"
            raise InputError(
                f"the zip file must hold exactly one .csv table, it holds {found}; "
                "unpack it and pass the table you mean",
                path,
            )
        with zf.open(tables[0]) as f:
            yield f


def _is_id_column(name: str) -> bool:
    name = name.strip().lstrip("\ufeff")
    return bool(ID_LIKE.search(name)) or name.lower().startswith("gitter_id")


def _sniff_separator(head: bytes) -> str:
    first = head.splitlines()[0] if head.splitlines() else head
    counts = {sep: first.count(sep.encode()) for sep in (";", ",", "\t")}
    best = max(counts, key=counts.get)  # type: ignore[arg-type]
    return best if counts[best] else ";"


def find_column(table: pd.DataFrame, name: str) -> str | None:
    """The column called ``name``, ignoring case and surrounding blanks."""
    want = name.strip().lower()
    for c in table.columns:
        if str(c).strip().lower() == want:
            return c
    return None


def closest_column(name: str, columns) -> str | None:
    """The column name closest to ``name`` (case-insensitive, difflib ratio >= 0.6), or None."""
    return closest(name, columns, cutoff=0.6, ignore_case=True)


def missing_message(expected: list[str], found, what: str) -> str:
    """ "column X not found" with the columns found and the closest name, for errors."""
    missing = [e for e in expected if not any(str(c).lower() == e.lower() for c in found)]
    msg = f"missing {what}: {', '.join(repr(m) for m in missing)}"
    hints = [f"'{c}' → '{m}'" for m in missing if (c := closest_column(m, found)) is not None]
    if hints:
        msg += f" (did you mean to name {', '.join(hints)}?)"
    msg += f"; columns found: {', '.join(map(str, found))}"
    return msg


def require_columns(
    path: Path, table: pd.DataFrame, required: list[str], expected_layout: str
) -> list[str]:
    """The actual names of the required columns, or InputError with a suggestion."""
    found = [find_column(table, r) for r in required]
    if any(f is None for f in found):
        raise InputError(
            missing_message(required, table.columns, "column(s)")
            + f"; expected: {expected_layout}",
            path,
        )
    return found  # type: ignore[return-value]


def parse_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse text or numbers into floats.

    Returns ``(values, secret)``: values are NaN where the text is not a finite
    number; ``secret`` marks the suppression markers of :data:`SUPPRESSED_MARKERS`
    (including empty fields). Decimal commas (``3,5``) and German thousands
    separators (``1.234,5``) are read. Plain numbers take pandas' fast path; only
    the remaining values go through the text clean-up.
    """
    if pd.api.types.is_bool_dtype(values):
        return pd.Series(np.nan, index=values.index), pd.Series(False, index=values.index)
    if pd.api.types.is_numeric_dtype(values):
        v = values.astype(float)
        return v.where(np.isfinite(v)), pd.Series(False, index=values.index)
    v = pd.to_numeric(values, errors="coerce").astype(float)
    v = v.where(np.isfinite(v))
    secret = pd.Series(False, index=values.index)
    rest = v.isna().to_numpy()
    if rest.any():
        text = values[rest].astype("string").str.strip().fillna("")
        sec = text.isin(SUPPRESSED_MARKERS)
        comma = text.str.contains(",", regex=False)
        text = text.where(
            ~comma, text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        )
        parsed = pd.to_numeric(text.where(~sec), errors="coerce").astype(float)
        v[rest] = parsed.where(np.isfinite(parsed)).to_numpy()
        secret[rest] = sec.to_numpy(dtype=bool)
    return v, secret


def split_numeric_columns(table: pd.DataFrame, exclude: set[str]) -> tuple[list[str], list[str]]:
    """Split columns into numeric and text columns.

    A text column counts as numeric when at least half of its non-empty values are
    numbers or suppression markers, and at least one is a number. Entirely empty
    columns count as text.
    """
    numeric, text = [], []
    for c in table.columns:
        if c in exclude:
            continue
        s = table[c]
        if pd.api.types.is_bool_dtype(s):
            text.append(c)
        elif pd.api.types.is_numeric_dtype(s):
            numeric.append(c)
        elif not (pd.api.types.is_string_dtype(s) or s.dtype == object):
            text.append(c)
        else:
            v, secret = parse_numbers(s)
            n_number = int(v.notna().sum())
            unparsed = (v.isna() & ~secret).to_numpy()
            n_empty = int((secret & s.isna()).sum())
            if (secret & ~s.isna()).any():
                n_empty += int(s[secret & ~s.isna()].astype(str).str.strip().eq("").sum())
            n_nonempty = len(s) - n_empty
            if n_number and n_number + (n_nonempty - n_number - unparsed.sum()) >= 0.5 * n_nonempty:
                numeric.append(c)
            else:
                text.append(c)
    return numeric, text


def reject(rejects: Rejects, path: Path, mask: pd.Series, reason: str, values: pd.Series) -> None:
    """Record the rows where ``mask`` is true (row = index label + 1, i.e. the data row)."""
    m = np.asarray(mask, dtype=bool)
    if m.any():
        rows = np.asarray(mask.index)[m] + 1
        rejects.add_many(path, rows, reason, np.asarray(values, dtype=object)[m].tolist())


def match_columns(file: str | None, columns, aliases: dict[str, tuple]) -> dict[str, str | None]:
    """Map canonical names to the file's columns by case-insensitive aliases.

    Parameters
    ----------
    file : str or None
        Named in the error.
    columns : iterable of str
        The file's header.
    aliases : dict
        Canonical name → lower-case aliases.

    Returns
    -------
    dict
        Canonical name → the file's column, or None if absent.

    Raises
    ------
    InputError
        Two columns mean the same thing.
    """
    lower: dict[str, list[str]] = {}
    for col in columns:
        lower.setdefault(str(col).strip().lower(), []).append(col)
    found: dict[str, str | None] = {}
    for canon, names in aliases.items():
        hits = [c for a in names for c in lower.get(a, [])]
        if len(hits) > 1:
            raise InputError(
                f"columns {', '.join(repr(h) for h in hits)} all mean '{canon}'; keep only one",
                file,
            )
        found[canon] = hits[0] if hits else None
    return found

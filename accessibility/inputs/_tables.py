"""Delimited text tables of residents (Zensus grids, weighted points): reading and checks.

Shared by :func:`accessibility.inputs.zensus.read_zensus` and
:func:`accessibility.inputs.population.read_points`: sniffing the separator and encoding,
matching columns case-insensitively with "did you mean" hints, parsing numbers with
decimal commas and the statistical offices' markers for secret values, and writing
unusable rows to the rejects.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, overload

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

#: A number written with a decimal comma, optionally with ``.`` grouping thousands.
_COMMA_NUMBER = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d*),\d*$")

#: Output columns that group columns must not shadow.
RESERVED = {"pid", "row", "population", "geometry", "cell_id"}

#: Column names that identify a feature and are never population groups.
ID_LIKE = re.compile(
    r"^(id|fid|gid|ogc_fid|objectid|osm_id|pid|plz|postcode|zip|ags|ars|row|index)$|_id$|^id_",
    re.IGNORECASE,
)

#: Suffixes read as vector files (GeoJSON, GeoPackage); membership tests only.
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg")


@overload
def read_table(path: Path, text: Literal[False] = ...) -> pd.DataFrame: ...
@overload
def read_table(path: Path, text: Literal[True]) -> tuple[pd.DataFrame, np.ndarray]: ...
def read_table(path: Path, text: bool = False) -> pd.DataFrame | tuple[pd.DataFrame, np.ndarray]:
    """Read a delimited text file; sniff ``;``/``,``/tab and the encoding.

    Parameters
    ----------
    path : Path
        ``.csv``/``.txt`` table, or a ``.zip`` holding one.
    text : bool
        False (residents' tables): pandas' C reader, numbers as numbers (below).
        True (sites, building stock): every cell as stripped text, ragged rows
        padded or cut to the header (cut non-empty cells are listed in
        ``attrs["long_rows"]`` as ``(row, cells)``; ``attrs["delimiter"]``), and
        each record's 1-based data row number is returned with the table.

    Returns
    -------
    DataFrame, or (DataFrame, ndarray of int64 row numbers) for ``text=True``

    Raises
    ------
    InputError
        Missing or empty file, undecodable or unparsable text, header without rows.

    A ``.zip`` holding one ``.csv``/``.txt`` table (the form of the official Zensus
    downloads) is read directly, without unpacking it to disk; row numbers then
    count the rows of that table.

    Clean numeric columns come back as numbers (parsed by pandas' C reader), all
    other columns as text; identifier columns (cell ids, ``id``, ``plz``, ...) are
    always text. Row ``i`` of the result is data row ``i + 1`` of the file: blank
    lines are parsed as rows so that the numbering stays true, then removed.
    """
    if text:
        return _read_text_cells(path)
    if not path.exists():
        raise InputError("file not found", path)
    with _open_table(path) as f:
        head = f.read(65536)
    if not head.strip():
        raise InputError("the file is empty (no header, no data rows)", path)
    first = head.splitlines()[0] if head.splitlines() else head
    sep = _sniff_separator(first.decode("latin-1"), default=";")
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
    textual = [c for c in cols if not pd.api.types.is_numeric_dtype(c)]
    if len(textual) == len(cols) and len(table):
        # A blank line turns every column into text, so only then can blank rows exist.
        blank = np.ones(len(table), dtype=bool)
        for c in textual:
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


def _sniff_separator(first: str, default: str) -> str:
    """The most frequent of ``;``, ``,``, tab in a header line (ties in that order);
    ``default`` when the line has none."""
    counts = {sep: first.count(sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else default


def _decode(raw: bytes) -> str:
    """Text of a file: UTF-8 (with or without BOM), else cp1252, else latin-1."""
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


_SITES_EMPTY = (
    "the file is empty; it needs a header line name,category,lat,lon and one row per site"
)


def _read_text_cells(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """``read_table(path, text=True)``: all cells as stripped text, and row numbers."""
    file = str(path)
    with _open_table(path) as f:
        text = _decode(f.read())
    if not text.strip():
        raise InputError(_SITES_EMPTY, file)
    header_line = next(line for line in text.splitlines() if line.strip())
    delimiter = _sniff_separator(header_line, default=",")
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise InputError(f"cannot read as CSV ({exc}); check quotes and separators", file) from exc
    start = next((i for i, r in enumerate(records) if any(c.strip() for c in r)), None)
    if start is None:  # only separators, e.g. ","
        raise InputError(_SITES_EMPTY, file)
    header = [c.strip() for c in records[start]]
    ncol = len(header)
    data: list[list[str]] = []
    rows: list[int] = []
    long_rows: list[tuple[int, int]] = []
    for number, rec in enumerate(records[start + 1 :], 1):
        if not any(c.strip() for c in rec):
            continue  # blank line: no data to lose
        cells = [c.strip() for c in rec]
        if len(cells) > ncol:
            if any(cells[ncol:]):
                long_rows.append((number, len(cells)))
            cells = cells[:ncol]
        data.append(cells + [""] * (ncol - len(cells)))
        rows.append(number)
    if not data:
        raise InputError(
            "the file has a header but no data rows; add the rows below the header", file
        )
    table = pd.DataFrame(data, columns=_unique_names(header), dtype=object)
    table.attrs["long_rows"] = long_rows
    table.attrs["delimiter"] = delimiter
    return table, np.asarray(rows, dtype=np.int64)


def _unique_names(names: list[str]) -> list[str]:
    """Empty names become ``column_<i>``, repeated ones get ``_2``, ``_3``, ..."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        name = name or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        out.append(name)
    return out


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
    return [f for f in found if f is not None]  # all found (checked above)


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
        comma = text.str.match(_COMMA_NUMBER.pattern).astype(bool)
        text = text.where(
            ~comma, text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        )
        parsed = pd.to_numeric(text.where(~sec), errors="coerce").astype(float)
        v[rest] = parsed.where(np.isfinite(parsed)).to_numpy()
        secret[rest] = sec.to_numpy(dtype=bool)
    return v, secret


def parse_cells(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numbers of cells that must hold one (coordinates, residents, units).

    Parameters
    ----------
    values : Series
        Text or numbers; read by :func:`parse_numbers` (decimal commas, ``1.234,5``).

    Returns
    -------
    values : ndarray of float
        NaN where empty or not a finite number.
    empty : ndarray of bool
        Missing or blank cells.
    bad : ndarray of bool
        Non-empty cells that are not a finite number (suppression markers included).
    """
    num, _ = parse_numbers(values)
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    empty = (text == "").to_numpy()
    out = num.to_numpy(dtype=float, copy=True)
    return out, empty, ~empty & np.isnan(out)


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

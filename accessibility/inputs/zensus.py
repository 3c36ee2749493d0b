"""Zensus grids: read census grid CSVs (100 m, 1 km or any size) into resident points.

:func:`read_zensus` reads one or more Zensus 2011 or 2022 grid tables
(``;``/``,`` separated, UTF-8 or cp1252, decimal commas, secret values such as
``–``; plain or as the official ``.zip`` holding one CSV), joins attribute tables
on the cell id and places each cell's residents (persons) at the cell midpoint.
CRS: EPSG:3035 (ETRS89-LAEA, metres); the cell size (100 m, 1 km, 10 km) comes from
the id column's name (``Gitter_ID_100m``, ``Gitter_ID_1km``, ...). Cells coarser
than 100 m are spread over buildings or streets by :mod:`accessibility.inputs.spread`.
The columns and ``attrs`` of the result are described in
:mod:`accessibility.inputs.population`.

Reading the text tables (separator, encoding, numbers, rejects) is shared with
:func:`accessibility.inputs.population.read_points` in :mod:`accessibility._tables`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NoReturn

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InputError
from ..rejects import Rejects
from ._tables import (
    RESERVED,
    SUPPRESSED_MARKERS,
    closest_column,
    find_column,
    parse_numbers,
    read_table,
    reject,
    require_columns,
    split_numeric_columns,
)

__all__ = [
    "SUPPRESSED_MARKERS",
    "ZENSUS_CELL_SIZE_M",
    "ZENSUS_CRS",
    "ZENSUS_ID_COLUMN",
    "ZENSUS_POPULATION_COLUMN",
    "ZENSUS_X_COLUMN",
    "ZENSUS_Y_COLUMN",
    "read_zensus",
]

# --------------------------------------------------------------------------- #
# Constants
# --------------------------------------------------------------------------- #

#: CRS of the Zensus grid (ETRS89 / LAEA Europe, metres).
ZENSUS_CRS = "EPSG:3035"

#: Edge length of a Zensus grid cell in metres.
ZENSUS_CELL_SIZE_M = 100.0

#: Column names of the Zensus 100 m grid CSVs (matched case-insensitively).
ZENSUS_ID_COLUMN = "Gitter_ID_100m"
ZENSUS_X_COLUMN = "x_mp_100m"
ZENSUS_Y_COLUMN = "y_mp_100m"
ZENSUS_POPULATION_COLUMN = "Einwohner"

#: Id column of a Zensus grid of any size: ``Gitter_ID_100m``, ``GITTER_ID_1km``, ``Gitter_ID_10km``.
_GRID_ID = re.compile(r"^gitter_id_(\d+)(m|km)$", re.IGNORECASE)

#: Attribute columns that are not counts of persons, by the Zensus naming rules:
#: ``<name>_A`` (2011) or ``Anteil<name>`` (2022) is a share in % of the cell's
#: residents, ``<name>_D`` or ``Durchschnitt<name>`` a mean (e.g. ``Alter_D``, mean age).
#: The suffixes are matched in upper case only, as Destatis writes them.
_SHARE = re.compile(r"^(?P<base>.+)_A$|^(?i:anteil)_?(?P<base2>.+)$")
_MEAN = re.compile(r"^.+_D$|^(?i:durchschnitt)")

# --------------------------------------------------------------------------- #
# Zensus grid
# --------------------------------------------------------------------------- #


def _edition(cell_ids: pd.Series) -> str | None:
    """Zensus edition of the cell ids.

    2011: ``100mN…E…`` (units of 100 m), ``1kmN…E…`` (km); 2022: ``CRS3035RES100mN…E…``,
    ``CRS3035RES1000mN…E…`` (metres).
    """
    ids = cell_ids.astype(str)
    if len(ids) and ids.str.match(r"CRS3035RES\d+mN\d+E\d+$").all():
        return "2022"
    if len(ids) and ids.str.match(r"\d+(m|km)N\d+E\d+$").all():
        return "2011"
    return None


def grid_resolution(columns) -> tuple[str, float] | None:
    """The grid a table belongs to, from its id column: (``"1km"``, 1000.0), or None.

    ``Gitter_ID_100m`` → (``"100m"``, 100.0), ``GITTER_ID_1km`` → (``"1km"``, 1000.0).

    Parameters
    ----------
    columns : iterable
        Column names of the table.

    Returns
    -------
    tuple of (str, float) or None
        Grid label and cell size in metres of the first grid id column; None if there
        is none.
    """
    for c in columns:
        m = _GRID_ID.match(str(c).strip())
        if m:
            size = float(m.group(1)) * (1000.0 if m.group(2).lower() == "km" else 1.0)
            return f"{m.group(1)}{m.group(2).lower()}", size
    return None


def _size_label(size_m: float) -> str:
    return f"{size_m / 1000:g} km" if size_m >= 1000 else f"{size_m:g} m"


def read_zensus(paths: list[str | Path] | str | Path, rejects: Rejects) -> gpd.GeoDataFrame:
    """Read one or more Zensus grid CSVs into resident points at the cell midpoints.

    Accepts the Zensus 2011 layout ``Gitter_ID_100m;x_mp_100m;y_mp_100m;Einwohner[;...]``
    and the 2022 layout ``GITTER_ID_100m;x_mp_100m;y_mp_100m;Einwohner``, and the same
    for any other cell size: ``Gitter_ID_1km;x_mp_1km;y_mp_1km;Einwohner`` (2011),
    ``GITTER_ID_1km`` (2022), ``…_10km``. All files must be of one grid. A ``.zip``
    holding one CSV (the official downloads) is read directly. Column names
    are matched case-insensitively; the separator (``;`` or ``,``) is sniffed;
    UTF-8 with or without BOM is read, else cp1252/latin-1; decimal commas are
    understood. Secret or missing values (``–``, ``-``, ``.``, ``/``, ``x``, empty)
    are recognised.

    Attribute columns that are not counts of persons follow the Zensus naming rules:

    * a **share** in % of the cell's residents (``unter18_A``, ``ab65_A`` in 2011;
      ``Anteil…`` in 2022) becomes a group of persons, share / 100 × ``Einwohner``,
      named without the suffix/prefix (``unter18``, ``ab65``). A negative share
      (``-1``, ``-9``: suppressed or unknown in the source tables) or a secret
      marker is *not* a value: that cell's group is set to 0 persons and counted in
      ``suppressed_by_group`` (so a group's coverage share refers to the cells where
      the share is published), and the cell is listed in ``attrs["unpublished"]``
      (the need index treats the value as unknown). A share above 100 rejects the row.
    * a **mean** (``Alter_D``, mean age; ``Durchschnitt…``) is not a count and cannot
      be summed over residents: it is not used, and listed in ``attrs["not_counts"]``.

    Several files are joined on the cell id, as Zensus publishes each attribute as
    its own table. The first file with an ``Einwohner`` column gives the
    population; every other numeric column of every file becomes a population
    group. A group column is prefixed with its file stem (``<stem>_<column>``) only
    when two files share the column name. Cells absent from an attribute file get 0
    in that file's groups (Zensus lists only populated cells).

    Parameters
    ----------
    paths : list of str or Path
        CSV files; at least one must have an ``Einwohner`` column and every file a
        ``Gitter_ID_100m`` column. The population file also needs ``x_mp_100m`` and
        ``y_mp_100m`` (cell midpoints, EPSG:3035, metres).
    rejects : Rejects
        Receives every row not used: secret, unparsable or negative ``Einwohner``;
        unparsable coordinates; duplicate or empty cell ids; unparsable or negative
        group values (shares: unparsable or above 100 %); cells of an attribute file
        missing from the population file.

    Returns
    -------
    GeoDataFrame
        EPSG:3035 points at the cell midpoints with ``pid`` (cell id), ``population``
        (persons, float; cells with 0 residents are kept), one float column per group
        (persons) and ``geometry``. ``attrs``: ``kind="zensus_grid"``, ``groups``,
        ``method``, ``cell_size_m`` (100, 1000, ...), ``files``, ``population_file``,
        ``population_column``, ``edition`` (``"2011"`` or ``"2022"`` from the cell ids,
        None if they fit neither), ``suppressed_group_values`` (number of secret group
        values set to 0), ``suppressed_by_group``, ``unpublished`` (group → the cell
        ids whose value is secret or suppressed, i.e. the cells where the group is *not
        published*; the need index treats them as unknown), ``share_columns`` (group → the
        share column it was computed from), ``not_counts`` (mean columns not used, per
        file), ``ignored_columns`` (non-numeric columns per file).

    Raises
    ------
    InputError
        A file is missing, empty, or lacks a required column (the message lists the
        columns found and expected, and the closest name); no file has ``Einwohner``;
        the files belong to grids of different cell sizes.
    """
    files = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    if not files:
        raise InputError("no Zensus file given; pass at least one CSV with an 'Einwohner' column")

    tables = [read_table(p) for p in files]
    pop_index = next(
        (i for i, t in enumerate(tables) if find_column(t, ZENSUS_POPULATION_COLUMN) is not None),
        None,
    )
    if pop_index is None:
        _raise_no_population(files, tables)

    res, size = _one_grid(files, tables, pop_index)
    id_name, x_name, y_name = f"Gitter_ID_{res}", f"x_mp_{res}", f"y_mp_{res}"

    # Required columns: the cell id everywhere, coordinates and Einwohner in the population file.
    ids: dict[int, str] = {}
    for i, (p, t) in enumerate(zip(files, tables, strict=True)):
        required = [id_name]
        if i == pop_index:
            required += [x_name, y_name, ZENSUS_POPULATION_COLUMN]
        cols = require_columns(p, t, required, expected_layout=_ZENSUS_LAYOUT)
        ids[i] = cols[0]
        if i == pop_index:
            pop_col = cols[3]

    key_cols: dict[int, set[str]] = {}
    for i, t in enumerate(tables):
        keys = {ids[i]}
        for name in (x_name, y_name):
            c = find_column(t, name)
            if c is not None:
                keys.add(c)
        if i == pop_index:
            keys.add(pop_col)
        key_cols[i] = keys

    # Numeric columns per file and the final (possibly prefixed) group names.
    # Means are not counts (dropped, listed); shares are named after their base.
    candidates, shares, bases, not_counts, ignored = _group_columns(files, tables, key_cols)
    names = zensus_group_names(files, bases, taken={pop_col.lower()})
    share_columns = {
        n: c
        for i in candidates
        for c, n in zip(candidates[i], names[i], strict=True)
        if c in shares[i]
    }

    # Population file: the cells.
    p0, t0 = files[pop_index], tables[pop_index]
    cell_ids = t0[ids[pop_index]].str.strip()
    ok, pop, xy = _population_cells(p0, t0, cell_ids, pop_col, (x_name, y_name), rejects)

    suppressed_by_group: dict[str, int] = {}
    groups: dict[str, pd.Series] = {}
    secret: dict[str, pd.Series] = {}
    ok = parse_groups(
        p0, t0, candidates[pop_index], names[pop_index], ok, rejects, groups, suppressed_by_group,
        shares=shares[pop_index], secret=secret,
    )  # fmt: skip
    # Cells whose group value is not published (secret, -1/-9): unknown, not 0 persons.
    unpublished = {n: CellIds(cell_ids[ok & m].astype(str)) for n, m in secret.items()}

    out = pd.DataFrame(
        {
            "pid": cell_ids[ok].astype(str).to_numpy(),
            "row": np.asarray(t0.index)[ok.to_numpy()] + 1,
            "population": pop[ok].to_numpy(dtype=float),
        }
    )
    for name, values in groups.items():
        out[name] = values[ok].to_numpy(dtype=float)
        if name in share_columns:  # % of the cell's residents → persons
            out[name] *= out["population"].to_numpy() / 100.0
    x = xy[x_name][ok].to_numpy(dtype=float)
    y = xy[y_name][ok].to_numpy(dtype=float)
    known = pd.Index(out["pid"])
    listed = pd.Index(cell_ids.unique()) if len(files) > 1 else pd.Index([])

    # Attribute files: join on the cell id.
    missing_cells: dict[str, int] = {}
    for i, (p, t) in enumerate(zip(files, tables, strict=True)):
        if i == pop_index:
            continue
        aid = t[ids[i]].str.strip()
        aok = _reject_bad_ids(p, aid, rejects)
        absent = aok & ~aid.isin(listed)
        reject(rejects, p, absent, f"cell id not in the population file {p0.name}", aid)
        aok &= ~absent
        dropped = aok & ~aid.isin(known)
        reject(
            rejects,
            p,
            dropped,
            f"the cell's row in the population file {p0.name} was rejected",
            aid,
        )
        aok &= ~dropped
        agroups: dict[str, pd.Series] = {}
        asecret: dict[str, pd.Series] = {}
        aok = parse_groups(
            p, t, candidates[i], names[i], aok, rejects, agroups, suppressed_by_group,
            shares=shares[i], secret=asecret,
        )  # fmt: skip
        unpublished.update({n: CellIds(aid[aok & m].astype(str)) for n, m in asecret.items()})
        pos = known.get_indexer(aid[aok])
        _add_attribute_groups(out, agroups, aok, pos, share_columns)
        missing_cells[str(p)] = int(len(out) - len(pos))

    group_names = [n for i in range(len(files)) for n in names[i]]
    out = out[["pid", "row", "population", *group_names]]
    gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(x, y), crs=ZENSUS_CRS)
    gdf.attrs.update(
        kind="zensus_grid",
        groups=group_names,
        method=_method_text(
            size, p0.name, pop_col, len(files) - 1, share_columns, suppressed_by_group, not_counts
        ),
        cell_size_m=int(size) if float(size).is_integer() else size,
        files=[str(p) for p in files],
        population_file=str(p0),
        population_column=pop_col,
        edition=_edition(out["pid"]),
        suppressed_group_values=int(sum(suppressed_by_group.values())),
        suppressed_by_group=suppressed_by_group,
        unpublished={n: v for n, v in unpublished.items() if v},
        cells_missing_in_attribute_file=missing_cells,
        share_columns=share_columns,
        not_counts=not_counts,
        ignored_columns=ignored,
    )
    return gdf


_ZENSUS_LAYOUT = (
    "Gitter_ID_100m;x_mp_100m;y_mp_100m;Einwohner (Zensus 2011) or "
    "GITTER_ID_100m;x_mp_100m;y_mp_100m;Einwohner (Zensus 2022); "
    "for the 1 km grid Gitter_ID_1km;x_mp_1km;y_mp_1km;Einwohner (2011) or GITTER_ID_1km (2022)"
)


def _method_text(
    size: float,
    p0_name: str,
    pop_col: str,
    n_attr: int,
    share_columns: dict[str, str],
    suppressed_by_group: dict[str, int],
    not_counts: dict[str, list[str]],
) -> str:
    """``attrs["method"]``: how the grid (cell size ``size`` metres) became residents."""
    share_text = (
        f" Groups {', '.join(share_columns)} are shares in % of the cell's residents "
        "(columns " + ", ".join(share_columns.values()) + ") turned into persons; "
        "suppressed shares (negative, e.g. -9) count as 0 persons"
        f" ({sum(suppressed_by_group.get(n, 0) for n in share_columns):,} cell values)."
        if share_columns
        else ""
    )
    mean_text = (
        " Means (" + ", ".join(c for cols in not_counts.values() for c in cols) + ") are not "
        "counts of persons and are not used."
        if not_counts
        else ""
    )
    return (
        f"Zensus {_size_label(size)} grid ({p0_name}): the '{pop_col}' count of each cell is "
        + (
            "placed at the cell midpoint (EPSG:3035)"
            if size <= ZENSUS_CELL_SIZE_M
            else "taken as the cell's total (EPSG:3035)"
        )
        + (
            f", joined on the cell id with {n_attr} attribute file(s) for the groups."
            if n_attr
            else "."
        )
        + share_text
        + mean_text
    )


def _one_grid(paths: list[Path], tables: list[pd.DataFrame], pop_index: int) -> tuple[str, float]:
    """The grid's name (``"100m"``, ``"1km"``, ...) and cell size in metres.

    Named by the population file's id column (100 m if none); raises if another file
    belongs to a grid of another cell size.
    """
    res, size = grid_resolution(tables[pop_index].columns) or ("100m", ZENSUS_CELL_SIZE_M)
    for p, t in zip(paths, tables, strict=True):
        other = grid_resolution(t.columns)
        if other is not None and other[1] != size:
            raise InputError(
                f"the tables belong to grids of different cell sizes: {paths[pop_index].name} "
                f"is a {_size_label(size)} grid, {p.name} a {_size_label(other[1])} grid; "
                "join tables of one grid only",
                p,
            )
    return res, size


def _group_columns(
    paths: list[Path], tables: list[pd.DataFrame], key_cols: dict[int, set[str]]
) -> tuple[
    dict[int, list[str]],
    dict[int, set[str]],
    dict[int, list[str]],
    dict[str, list[str]],
    dict[str, list[str]],
]:
    """Numeric columns per file that become groups of persons.

    Returns ``(candidates, shares, bases, not_counts, ignored)``: per file index the
    group columns, those that are shares in %, their names without the share
    suffix/prefix; per file path the means (not counts, not used) and the text columns.
    """
    ignored: dict[str, list[str]] = {}
    not_counts: dict[str, list[str]] = {}
    candidates: dict[int, list[str]] = {}
    shares: dict[int, set[str]] = {}
    bases: dict[int, list[str]] = {}
    for i, (p, t) in enumerate(zip(paths, tables, strict=True)):
        num, text = split_numeric_columns(t, exclude=key_cols[i])
        means = [c for c in num if _MEAN.match(str(c))]
        if means:
            not_counts[str(p)] = means
        candidates[i] = [c for c in num if c not in means]
        shares[i] = {c for c in candidates[i] if _SHARE.match(str(c))}
        bases[i] = [_share_base(c) if c in shares[i] else c for c in candidates[i]]
        if text:
            ignored[str(p)] = text
    return candidates, shares, bases, not_counts, ignored


def _population_cells(
    p0: Path,
    t0: pd.DataFrame,
    cell_ids: pd.Series,
    pop_col: str,
    xy_names: tuple[str, str],
    rejects: Rejects,
) -> tuple[pd.Series, pd.Series, dict[str, pd.Series]]:
    """The usable cells of the population file.

    Returns ``(ok, population, xy)``: the rows kept, residents per cell (persons) and
    the midpoint coordinates by column name (EPSG:3035, metres). Rows with a bad cell
    id, a secret, unparsable or negative count, or unparsable coordinates are rejected.
    """
    ok = _reject_bad_ids(p0, cell_ids, rejects)
    pop, pop_supp = parse_numbers(t0[pop_col])
    bad = ok & (pop_supp | pop.isna())
    reject(rejects, p0, bad, f"'{pop_col}' is secret or not a number", t0[pop_col])
    ok &= ~bad
    bad = ok & (pop < 0)
    reject(rejects, p0, bad, f"negative '{pop_col}'", t0[pop_col])
    ok &= ~bad
    xy = {}
    for name in xy_names:
        col = find_column(t0, name)
        assert col is not None  # required columns were checked
        values, supp = parse_numbers(t0[col])
        bad = ok & (values.isna() | supp | ~np.isfinite(values.fillna(0)))
        reject(rejects, p0, bad, f"coordinate '{col}' is not a number", t0[col])
        ok &= ~bad
        xy[name] = values
    return ok, pop, xy


def _add_attribute_groups(
    out: pd.DataFrame,
    groups: dict[str, pd.Series],
    ok: pd.Series,
    pos: np.ndarray,
    share_columns: dict[str, str],
) -> None:
    """Put an attribute file's groups (rows ``ok``) at the cells ``pos`` of ``out``.

    Cells absent from the file get 0 persons; shares (% of the cell's residents)
    become persons.
    """
    for name, values in groups.items():
        col = np.zeros(len(out))
        col[pos] = values[ok].to_numpy(dtype=float)
        if name in share_columns:  # % of the cell's residents → persons
            col[pos] *= out["population"].to_numpy()[pos] / 100.0
        out[name] = col


def _share_base(column: str) -> str:
    """``unter18_A`` → ``unter18``; ``AnteilUeber65`` → ``Ueber65``."""
    m = _SHARE.match(str(column))
    return m.group("base") or m.group("base2")


def _raise_no_population(paths: list[Path], tables: list[pd.DataFrame]) -> NoReturn:
    hints = []
    for p, t in zip(paths, tables, strict=True):
        found = ", ".join(map(str, t.columns))
        hint = f"{p} has columns: {found}"
        close = closest_column(ZENSUS_POPULATION_COLUMN, t.columns)
        if close:
            hint += f" ('{close}' looks like a misspelling of '{ZENSUS_POPULATION_COLUMN}')"
        hints.append(hint)
    file = str(paths[0]) if len(paths) == 1 else None
    raise InputError(
        f"no file has the population column '{ZENSUS_POPULATION_COLUMN}' "
        f"(expected layout {_ZENSUS_LAYOUT}); " + "; ".join(hints),
        file,
    )


def _reject_bad_ids(path: Path, ids: pd.Series, rejects: Rejects) -> pd.Series:
    """Reject empty and repeated cell ids (the first occurrence is kept)."""
    empty = ids.isna() | (ids == "")
    reject(rejects, path, empty, "empty cell id", ids)
    dup = ~empty & ids.duplicated(keep="first")
    if dup.any():
        first = ids[~empty].drop_duplicates(keep="first")
        first_row = pd.Series(first.index + 1, index=first.to_numpy())
        values = ids[dup]
        rejects.add_many(
            path,
            values.index + 1,
            "duplicate cell id (the first row with this id is used)",
            [f"{v} (first in row {first_row[v]})" for v in values],
        )
    return ~(empty | dup)


class CellIds(tuple):
    """Cell ids (an immutable tuple) that ``copy.deepcopy`` does not copy.

    pandas deep-copies a frame's ``attrs`` on every derived frame; the cells with an
    unpublished value can be hundreds of thousands in a large 100 m grid.
    """

    __slots__ = ()

    def __deepcopy__(self, memo: dict) -> CellIds:
        return self


def parse_groups(
    path: Path,
    table: pd.DataFrame,
    columns: list[str],
    names: list[str],
    ok: pd.Series,
    rejects: Rejects,
    into: dict[str, pd.Series],
    suppressed_by_group: dict[str, int],
    shares: set[str] | frozenset[str] = frozenset(),
    secret: dict[str, pd.Series] | None = None,
) -> pd.Series:
    """Parse group columns: secret values become 0 (counted), bad values reject the row.

    Columns in ``shares`` are shares in %: a negative value is the source's mark for a
    suppressed or unknown share (``-1``, ``-9``) and counts as secret; above 100 rejects.

    Parameters
    ----------
    path : Path
        The CSV, named in rejects.
    table : DataFrame
        The CSV as text.
    columns : list of str
        Group columns of ``table``.
    names : list of str
        Output name per column (:func:`zensus_group_names`).
    ok : Series of bool
        Rows still usable.
    rejects : Rejects
        Receives the rows with non-numeric, negative or (shares) above-100 values.
    into : dict of str to Series
        Receives the parsed values per output name (persons, or % for shares;
        secret = 0); updated in place.
    suppressed_by_group : dict of str to int
        Count of secret values per output name among usable rows; updated in place.
    shares : set of str
        Columns holding shares in %.
    secret : dict of str to Series, optional
        Receives per output name the boolean mask of the secret values (row-aligned
        with ``table``); updated in place.

    Returns
    -------
    Series of bool
        ``ok`` without the rows rejected here.
    """
    ok = ok.copy()
    parsed = {}
    for col, name in zip(columns, names, strict=True):
        values, supp = parse_numbers(table[col])
        bad = ok & ~supp & values.isna()
        reject(rejects, path, bad, f"'{col}' is not a number", table[col])
        ok &= ~bad
        if col in shares:
            supp = supp | (values < 0)
            bad = ok & (values > 100)
            reject(rejects, path, bad, f"share '{col}' above 100 %", table[col])
        else:
            bad = ok & (values < 0)
            reject(rejects, path, bad, f"negative '{col}'", table[col])
        ok &= ~bad
        parsed[name] = (values, supp)
    for name, (values, supp) in parsed.items():
        suppressed_by_group[name] = suppressed_by_group.get(name, 0) + int((supp & ok).sum())
        into[name] = values.where(~supp, 0.0).fillna(0.0)
        if secret is not None:
            secret[name] = supp
    return ok


def zensus_group_names(
    paths: list[Path], candidates: dict[int, list[str]], taken: set[str]
) -> dict[int, list[str]]:
    """Output names of the group columns; prefix with the file stem on a clash.

    Parameters
    ----------
    paths : list of Path
        The input files.
    candidates : dict of int to list of str
        File index -> its group columns.
    taken : set of str
        Names already used (lower case).

    Returns
    -------
    dict of int to list of str
        File index -> unique output name per group column (a ``_2``, ``_3`` ... suffix
        when still taken).
    """
    counts: dict[str, int] = {}
    for cols in candidates.values():
        for c in cols:
            counts[c.lower()] = counts.get(c.lower(), 0) + 1
    used = set(taken) | RESERVED
    names: dict[int, list[str]] = {}
    for i, cols in candidates.items():
        names[i] = []
        for c in cols:
            clash = counts[c.lower()] > 1 or c.lower() in taken or c.lower() in RESERVED
            name = f"{paths[i].stem}_{c}" if clash else c
            base, k = name, 2
            while name.lower() in used:
                name = f"{base}_{k}"
                k += 1
            used.add(name.lower())
            names[i].append(name)
    return names

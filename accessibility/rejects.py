"""Collect every input row that is not used, with file, row and reason.

Nothing is dropped silently: readers call :meth:`Rejects.add` for each row they
skip, and the pipeline writes ``rejects.csv`` and prints the counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ._io import write_csv

COLUMNS = ["file", "row", "reason", "value"]


class Rejects:
    """An append-only list of rejected input rows.

    Rows are 1-based data rows (the header is not counted) for tabular files,
    or feature numbers for vector files. ``value`` holds the offending value or
    the row's identifying fields as text, so a user can find it. A file whose rows
    have ids (a housing stock's ``building_id``) names them with :meth:`name_rows`;
    ``rejects.csv`` then has that id column too.
    """

    def __init__(self) -> None:
        self._rows: list[dict] = []
        self._ids: dict[str, dict[tuple[str, int], str]] = {}

    def name_rows(
        self,
        file: str | Path,
        rows: Iterable[int | None],
        ids: Iterable[object],
        column: str = "building_id",
    ) -> None:
        """Give the rows of a file an id, written as column ``column`` of ``rejects.csv``.

        Rows rejected before or after this call both get their id; rows of other
        files get an empty one.

        Parameters
        ----------
        file : str or Path
            The input file, as passed to :meth:`add`.
        rows : iterable of int or None
            1-based data rows.
        ids : iterable
            The id of each row (as text; empty = none).
        column : str
            Column name in ``rejects.csv``.
        """
        named = self._ids.setdefault(column, {})
        for r, i in zip(rows, ids, strict=True):
            if r is not None and not pd.isna(r):
                named[(str(file), int(r))] = _text(i)

    def add(self, file: str | Path, row: int | None, reason: str, value: object = "") -> None:
        """Record one rejected row.

        Parameters
        ----------
        file : str or Path
            The input file.
        row : int or None
            1-based data row or feature number; None if the row is unknown.
        reason : str
            What is wrong and what to do.
        value : object
            The offending value or identifying fields (stored as text).
        """
        self._rows.append({"file": str(file), "row": row, "reason": reason, "value": _text(value)})

    def add_many(
        self,
        file: str | Path,
        rows: Iterable[int | None],
        reason: str,
        values: Iterable[object] | None = None,
    ) -> None:
        """Record many rejected rows sharing one reason (vectorised readers).

        Parameters
        ----------
        file : str or Path
        rows : iterable of int or None
            1-based data rows.
        reason : str
        values : iterable, optional
            One value per row; empty text if not given.
        """
        rows = list(rows)
        values = [""] * len(rows) if values is None else list(values)
        for r, v in zip(rows, values, strict=True):
            self.add(file, None if r is None else int(r), reason, v)

    def extend(self, other: Rejects) -> None:
        """Append all rows of another collector.

        Parameters
        ----------
        other : Rejects
        """
        self._rows.extend(other._rows)
        for column, named in other._ids.items():
            self._ids.setdefault(column, {}).update(named)

    def __len__(self) -> int:
        return len(self._rows)

    def frame(self) -> pd.DataFrame:
        """All rejects as a DataFrame with columns ``file,row,reason,value``.

        Returns
        -------
        DataFrame
            ``row`` as nullable ``Int64``; in order of recording. Plus one column per
            id given with :meth:`name_rows` (e.g. ``building_id``; empty for rows of
            other files).
        """
        df = pd.DataFrame(self._rows, columns=COLUMNS)
        df["row"] = df["row"].astype("Int64")
        for column, named in self._ids.items():
            df[column] = [
                "" if pd.isna(r) else named.get((f, int(r)), "")
                for f, r in zip(df["file"], df["row"], strict=True)
            ]
        return df

    def counts(self) -> pd.DataFrame:
        """Number of rejected rows per file and reason.

        Returns
        -------
        DataFrame
            Columns ``file, reason, rows``.
        """
        df = self.frame()
        if df.empty:
            return pd.DataFrame(columns=["file", "reason", "rows"])
        return df.groupby(["file", "reason"], sort=False).size().reset_index(name="rows")

    def write(self, path: str | Path) -> Path:
        """Write ``rejects.csv`` atomically (always written, even when empty).

        Parameters
        ----------
        path : str or Path
            The CSV file.

        Returns
        -------
        Path
        """
        return write_csv(self.frame(), path)


def _text(value: object) -> str:
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)

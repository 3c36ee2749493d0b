"""Errors raised by the package, all in one place.

Every error message names the file, row or value at fault and says what to do. Each error
also subclasses the matching builtin, so ``except ValueError`` catches an ``InputError``:
``InputError(ValueError)``, ``NetworkError(RuntimeError)``, ``GeocodingError(LookupError)``,
``OutputError(OSError)``.
"""

from __future__ import annotations

import os


class AccessibilityError(Exception):
    """Base class of all errors raised by :mod:`accessibility`."""


class InputError(AccessibilityError, ValueError):
    """A user-supplied file or value cannot be used.

    Parameters
    ----------
    message : str
        What is wrong and what to do about it.
    file : str, optional
        The file at fault.
    row : int, optional
        1-based data row (header not counted) at fault, if one row is to blame.
    """

    def __init__(
        self, message: str, file: str | os.PathLike[str] | None = None, row: int | None = None
    ) -> None:
        self.file = None if file is None else str(file)
        self.row = row
        where = ""
        if self.file is not None:
            where = self.file if row is None else f"{self.file}, row {row}"
            where += ": "
        super().__init__(where + message)


class NetworkError(AccessibilityError, RuntimeError):
    """The walking network cannot be built, read or downloaded."""


class GeocodingError(AccessibilityError, LookupError):
    """An address lookup failed in a way that is not the address's fault."""


class ScenarioError(InputError):
    """A scenario file is invalid."""


class AllRejectedError(InputError):
    """Every row of an input was rejected, so there is nothing to compute."""


class OutputError(AccessibilityError, OSError):
    """An output folder or file cannot be written (permissions, disk full, locked)."""


class AccessibilityWarning(UserWarning):
    """Something the user should know about that does not stop the run (printed as one line)."""

"""Small text helpers: the closest valid choice ("did you mean ...?") and folder-name slugs."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable


def close_matches(
    word: str, choices: Iterable[str], n: int = 1, cutoff: float = 0.5, ignore_case: bool = False
) -> list[str]:
    """Up to ``n`` choices closest to ``word`` (difflib ratio >= ``cutoff``), best first.

    With ``ignore_case`` word and choices are compared in lower case; the choices are
    returned as given. The one "did you mean" helper of the package (with :func:`closest`).
    """
    choices = [str(c) for c in choices]
    if not ignore_case:
        return difflib.get_close_matches(word, choices, n=n, cutoff=cutoff)
    lower = {c.lower(): c for c in reversed(choices)}  # the first spelling wins
    return [lower[m] for m in difflib.get_close_matches(word.lower(), list(lower), n, cutoff)]


def closest(
    word: str,
    choices: Iterable[str],
    normalise: bool = False,
    cutoff: float = 0.5,
    ignore_case: bool = False,
) -> str | None:
    """The choice closest to ``word`` (difflib ratio >= ``cutoff``), or None.

    With ``normalise`` the word is first lower-cased with spaces and dashes turned
    into ``_`` (``"Advice Centre"`` -> ``advice_centre``), returned if that is a choice.
    """
    choices = list(choices)
    if normalise:
        norm = re.sub(r"[\s\-]+", "_", word.strip().lower())
        if norm in choices:
            return norm
        word = norm
    hit = close_matches(word, choices, n=1, cutoff=cutoff, ignore_case=ignore_case)
    return hit[0] if hit else None


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest choice, or ``""``."""
    guess = closest(str(word), choices)
    return f" (did you mean '{guess}'?)" if guess else ""


def slug(text: str) -> str:
    """A folder-safe name: runs of other characters become ``-``, lower case (``"run"`` if empty)."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "run"


def column_slug(text: str) -> str:
    """A column-safe name: :func:`slug` with ``_`` (letters, digits and ``_`` only).

    ``"Close Rikhardinkatu library, move Luckan"`` → ``close_rikhardinkatu_library_move_luckan``;
    two texts with different :func:`slug` get different column slugs.
    """
    return slug(text).replace("-", "_")

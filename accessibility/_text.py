"""Small text helpers: the closest valid choice ("did you mean ...?") and folder-name slugs."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable


def closest(word: str, choices: Iterable[str], normalise: bool = False) -> str | None:
    """The choice closest to ``word`` (difflib ratio >= 0.5), or None.

    With ``normalise`` the word is first lower-cased with spaces and dashes turned
    into ``_`` (``"Advice Centre"`` -> ``advice_centre``), returned if that is a choice.
    """
    choices = list(choices)
    if normalise:
        norm = re.sub(r"[\s\-]+", "_", word.strip().lower())
        if norm in choices:
            return norm
        word = norm
    hit = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return hit[0] if hit else None


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest choice, or ``""``."""
    guess = closest(str(word), choices)
    return f" (did you mean '{guess}'?)" if guess else ""


def slug(text: str) -> str:
    """A folder-safe name: runs of other characters become ``-``, lower case (``"run"`` if empty)."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "run"

"""One colour and one marker letter per site category, shared by every chart and map.

The packaged preset categories (``inputs/presets.yaml``, in their order) come first and
so always get the same colour and, within a language, the same letter, whatever a run
contains: Beratungsstelle is ``B`` and Bibliothek ``Bi`` in every German map, Advice
centre ``A`` and Library ``L`` in every English one. Further categories (the user's
presets or sites) follow in the run's order. Colours are
:data:`~accessibility.outputs._leaflet.CATEGORY_COLOURS`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from ._leaflet import CATEGORY_COLOURS


@functools.cache
def _packaged_categories() -> tuple[tuple[str, str, str], ...]:
    """(id, German label, English label) of the packaged preset categories, in order."""
    from ..inputs.presets import load_presets

    cats = load_presets()["categories"]
    return tuple((c, str(v.get("label_de", c)), str(v.get("label_en", c))) for c, v in cats.items())


def category_order(categories: Iterable[str]) -> list[str]:
    """The packaged categories, then the other ``categories`` (``all`` left out), in order.

    Parameters
    ----------
    categories : iterable of str
        A run's category ids.

    Returns
    -------
    list of str
        The order colours and letters are given out in.
    """
    order = [c for c, _, _ in _packaged_categories()]
    order += [c for c in dict.fromkeys(str(x) for x in categories) if c not in order and c != "all"]
    return order


def category_colours(categories: Iterable[str]) -> dict[str, str]:
    """Colour (``#rrggbb``) of each category; ``all`` is black.

    Parameters
    ----------
    categories : iterable of str
        A run's category ids.

    Returns
    -------
    dict of str to str
        Category id → colour, for every packaged category and every one given.
    """
    order = category_order(categories)
    out = {c: CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i, c in enumerate(order)}
    out["all"] = "#000000"
    return out


def category_letters(
    categories: Iterable[str], label: Callable[[str], str], lang: str = "en"
) -> dict[str, str]:
    """Marker letter of each category: its label's initial, else its first two letters,
    else a number; distinct within the language of ``label``.

    Parameters
    ----------
    categories : iterable of str
        A run's category ids.
    label : callable
        Category id → its label in the map's language.
    lang : str
        That language (``de``, ``en``): the packaged label is used where ``label``
        returns the bare id.

    Returns
    -------
    dict of str to str
        Category id → letter(s), for every packaged category and every one given.
    """
    packaged = {c: (de if lang == "de" else en) for c, de, en in _packaged_categories()}
    out: dict[str, str] = {}
    for c in category_order(categories):
        lab = str(label(c) or c)
        if lab == c:
            lab = packaged.get(c, c)
        one = lab[:1].upper()
        two = one + lab[1:2].lower()
        taken = set(out.values())
        out[c] = one if one not in taken else two if two not in taken else str(len(out) + 1)
    return out

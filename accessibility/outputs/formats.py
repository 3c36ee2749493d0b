"""Numbers, shares, speeds and dates as German or English text: one helper for every report.

German follows DIN 5008 and Destatis practice: ``74.420`` (point groups thousands),
``11,9 %`` (decimal comma, a no-break space before the percent sign), ``4,8 km/h``,
``2. Dezember 2026``. English: ``74,420``, ``11.9%``, ``4.8 km/h``, ``2 December 2026``.
Missing or non-finite values are shown as an en dash (``–``). Every table and sentence
of ``report.html`` and the scenario report is formatted here, so a report never mixes
the two conventions.
"""

from __future__ import annotations

import datetime as _dt
import math

#: What a missing or non-finite value is shown as.
MISSING = "–"
#: No-break space (between a number and ``%`` or a unit in German).
NBSP = "\u00a0"

_MONTHS = {
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
           "Oktober", "November", "Dezember"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
}  # fmt: skip


def _finite(value: object) -> float | None:
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _localise(text: str, lang: str) -> str:
    """English-formatted digits (``1,234.5``) in ``lang``'s convention."""
    if lang != "de":
        return text
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def number(value: object, lang: str, decimals: int = 0, sign: bool = False) -> str:
    """``value`` with thousands separators and ``decimals`` decimal places.

    Parameters
    ----------
    value : number
        The value (persons, metres, ...); None, NaN and infinity give ``–``.
    lang : str
        ``de`` (``74.420``, ``4,8``) or anything else for English (``74,420``, ``4.8``).
    decimals : int
        Decimal places.
    sign : bool
        Show ``+`` before positive values (changes).

    Returns
    -------
    str
        The formatted number.
    """
    f = _finite(value)
    if f is None:
        return MISSING
    if f == 0:
        f = 0.0  # no "-0"
    text = f"{f:{'+' if sign else ''},.{decimals}f}"
    return _localise(text, lang)


def decimal(value: object, lang: str) -> str:
    """A short number as written by ``:g`` (``5``, ``7.5``), with a decimal comma in German.

    Parameters
    ----------
    value : number
        E.g. a threshold in minutes or a speed in km/h.
    lang : str
        ``de`` or English.

    Returns
    -------
    str
        The number; ``–`` if missing.
    """
    f = _finite(value)
    return MISSING if f is None else _localise(f"{f:g}", lang)


def percent(share: object, lang: str, decimals: int = 1) -> str:
    """A share (0–1) as a percentage: ``11,9 %`` (German) or ``11.9%`` (English).

    Parameters
    ----------
    share : number
        Fraction between 0 and 1; None/NaN give ``–``.
    lang : str
        ``de`` or English.
    decimals : int
        Decimal places of the percentage.

    Returns
    -------
    str
        The percentage.
    """
    f = _finite(share)
    if f is None:
        return MISSING
    text = number(100.0 * f, lang, decimals)
    return f"{text}{NBSP}%" if lang == "de" else f"{text}%"


def count_share(count: object, share: object, lang: str) -> str:
    """``"8.860 (11,9 %)"``: a count of persons and its share.

    Parameters
    ----------
    count : number
        Persons.
    share : number
        Fraction 0–1.
    lang : str
        ``de`` or English.

    Returns
    -------
    str
        The cell text.
    """
    return f"{number(count, lang)} ({percent(share, lang)})"


def unit(value: object, unit_text: str, lang: str) -> str:
    """A value with a unit: ``4,8 km/h``, ``≤ 5 min`` parts (``value`` as by :func:`decimal`).

    Parameters
    ----------
    value : number
        The value.
    unit_text : str
        The unit, e.g. ``km/h``, ``min``, ``m``.
    lang : str
        ``de`` or English.

    Returns
    -------
    str
        Value and unit, separated by a no-break space.
    """
    return f"{decimal(value, lang)}{NBSP}{unit_text}"


def minutes_label(value: object, lang: str) -> str:
    """Column heading of a threshold: ``≤ 7,5 min`` / ``≤ 7.5 min``."""
    return f"≤ {unit(value, 'min', lang)}"


def date(value: object, lang: str) -> str:
    """A date (ISO string, ``date`` or ``datetime``) as ``2. Dezember 2026`` / ``2 December 2026``.

    Parameters
    ----------
    value : str or date
        ``YYYY-MM-DD`` (a longer ISO timestamp is cut to its date).
    lang : str
        ``de`` or English.

    Returns
    -------
    str
        The date written out; the input unchanged if it is not a date, ``–`` if empty.
    """
    if value is None or value == "":
        return MISSING
    if isinstance(value, _dt.datetime):
        d = value.date()
    elif isinstance(value, _dt.date):
        d = value
    else:
        try:
            d = _dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            return str(value)
    months = _MONTHS["de" if lang == "de" else "en"]
    if lang == "de":
        return f"{d.day}. {months[d.month - 1]} {d.year}"
    return f"{d.day} {months[d.month - 1]} {d.year}"

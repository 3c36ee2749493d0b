"""Progress of long steps: the library logs, the command line shows spinners.

Library code wraps a long step in :func:`spinner` (``with spinner(text) as update:``). By
default that only logs the step (``logging.getLogger("accessibility")``, level INFO); the
command line registers a display with :func:`set_display` (rich spinners on the terminal),
so no terminal output code lives in the core.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

log = logging.getLogger("accessibility")

#: ``display(text)`` → a context manager yielding ``update(text)``; None = log only.
_display: Callable[[str], contextlib.AbstractContextManager[Callable[[str], None]]] | None = None


def set_display(
    display: Callable[[str], contextlib.AbstractContextManager[Callable[[str], None]]] | None,
) -> None:
    """Show long steps with ``display`` (the CLI passes a rich spinner); None logs only.

    Parameters
    ----------
    display : callable or None
        ``display(text)`` returning a context manager that yields ``update(text)``.
    """
    global _display
    _display = display


@contextlib.contextmanager
def spinner(text: str, show: bool = True) -> Iterator[Callable[[str], None]]:
    """A long step: logged, and shown by the registered display when ``show``.

    Yields ``update(text)`` to change the step's text (also logged).

    Parameters
    ----------
    text : str
        What the step does.
    show : bool
        Show it on the display (when one is registered); else log only.

    Yields
    ------
    callable
        ``update(text)``.
    """
    log.info(text)
    if not show or _display is None:
        yield log.info
        return
    with _display(text) as update:
        yield update

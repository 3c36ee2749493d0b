"""CLI commands for maps, isochrones and reports (accessibility map, accessibility report)."""

from __future__ import annotations

from .cli import main  # noqa: F401  (commands are added to this group)

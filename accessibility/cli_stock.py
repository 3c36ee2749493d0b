"""CLI commands for the housing stock check (accessibility stock)."""

from __future__ import annotations

from .cli import main  # noqa: F401  (commands are added to this group)

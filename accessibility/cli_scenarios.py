"""CLI commands for scenarios, comparisons, rankings and critical sites (accessibility scenario, compare, rank, critical)."""

from __future__ import annotations

from .cli import main  # noqa: F401  (commands are added to this group)

"""Command-line interface: ``accessibility COMMAND --help`` shows options and examples.

The group lives here; every command is a plain ``click.command`` in its own module
(``analyze``, ``planning``, ``stock``, ``reports``, ``cache``, ``app``) registered below.
"""

from __future__ import annotations

import click

from .. import __version__
from . import analyze, app, batch, cache, planning, reports, stock
from .options import use_help_context


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="accessibility")
def main() -> None:
    """Docking-point accessibility analyzer.

    How many residents have a low-threshold contact point (advice centre,
    library, community centre, shopfront office) within a few minutes' walk,
    door to door on the OpenStreetMap walking network?

    \b
    Examples:
      accessibility demo
      accessibility analyze --network city.osm.pbf --population zensus.csv --minutes 5,10,15
    """


for _command in (
    analyze.analyze,
    analyze.demo,
    planning.scenario,
    planning.compare,
    planning.rank,
    planning.critical,
    stock.stock,
    reports.map_,
    reports.report,
    reports.change,
    cache.cache,
    batch.batch,
    app.app,
):
    main.add_command(_command)
use_help_context(main)  # help wrapped at spaces only, never inside a word

if __name__ == "__main__":
    main()

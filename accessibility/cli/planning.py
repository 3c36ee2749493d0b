"""CLI commands for scenarios, comparisons, rankings and critical sites (accessibility scenario, compare, rank, critical)."""

from __future__ import annotations

# The library is imported inside the commands (lazily) so that `accessibility --help` and
# option errors stay fast: importing it loads geopandas, shapely, pyproj, osmium and folium.
import sys
import time
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource
from rich.markup import escape
from rich.table import Table

from ..errors import InputError
from .options import (
    area_options,
    console,
    csv_list,
    final_paths,
    friendly,
    input_options,
    no_wait_option,
    online_options,
    print_rejects,
    servers_from,
    staged,
    walk_params,
)

_INPUT_KEYS = ("network", "place", "bbox", "polygon", "area", "sites", "sites_crs", "osm_categories",
               "presets", "population", "population_column", "population_crs",
               "spread_to_buildings", "population_total", "districts", "district_column")  # fmt: skip


def _load(kw: dict, minutes, speed, no_cache: bool):
    from ..pipeline import load_inputs

    args = {k: kw[k] for k in _INPUT_KEYS if k in kw}
    if "min_component" in kw:
        args["min_component"] = kw["min_component"]
    args.update(refresh=kw.get("refresh", False), servers=servers_from(kw),
                geocoder=kw.get("geocoder", "offline"), user_agent=kw.get("user_agent"),
                accept=kw.get("accept", ()))  # fmt: skip
    with console.status("loading inputs…"):
        return load_inputs(minutes=minutes, speed_kmh=speed, use_cache=not no_cache,
                           progress=True, **args)  # fmt: skip


def _out(out: Any, default: str) -> Path:
    return Path(out) if out else Path("outputs") / default


def _read_new_sites(path: Any, inputs: Any, crs: str | None, out: Path, what: str) -> Any:
    """Read candidate/added sites (:func:`accessibility.pipeline.read_new_sites`)."""
    from ..pipeline import read_new_sites

    return read_new_sites(inputs, path, crs, what)


def _print_scenario(result: Any, paths: dict, seconds: float) -> None:
    s = result.summary()
    t = Table(title=f"{result.name}: residents within walking minutes, before → after")
    for col in ("category", "minutes", "before", "after", "gain"):
        t.add_column(col, justify="left" if col == "category" else "right")
    for r in s.itertuples():
        t.add_row(
            str(r.category), f"{r.minutes:g}", f"{r.population_covered_before:,.0f}",
            f"{r.population_covered_after:,.0f}", f"{r.gain:+,.0f}",
        )  # fmt: skip
    console.print(t)
    print_rejects(result.before.rejects, paths["rejects"])
    console.print(f"Outputs in {paths['summary'].parent}  ({seconds:.1f} s)")
    if "map" in paths:
        console.print(f"Map (before/after): {paths['map']}")
    if "report" in paths:
        console.print(f"Report (before/after): {paths['report']}")


@click.command()
@click.argument("scenario_file", required=False, type=click.Path(dir_okay=False))
@area_options
@online_options
@input_options
@click.option("--add", "add", type=click.Path(exists=True, dir_okay=False),
              help="New sites to add: CSV name,category,lat,lon (like --sites).")  # fmt: skip
@click.option("--remove", callback=csv_list,
              help="Site ids to close, comma-separated (ids as in sites.gpkg, column site_id).")  # fmt: skip
@click.option("--out", type=click.Path(file_okay=False),
              help="Output folder (default outputs/scenario-<name>/).")  # fmt: skip
@no_wait_option
@friendly
def scenario(
    scenario_file: str | None,
    add: str | None,
    remove: list[str] | None,
    out: Any,
    no_wait: bool,
    **kw: Any,
) -> None:
    """Before/after coverage of a scenario: new sites, closures, moves, re-categorisations.

    Give a scenario YAML file (format: scenarios/README.md), or the inputs as for
    `analyze` plus --add and/or --remove. Writes scenario_summary.csv
    (category,minutes,population_covered_before,population_covered_after,gain),
    scenario_summary_districts.csv, scenario_summary_groups.csv, newly_covered.gpkg,
    lost_coverage.gpkg, scenario_sites.gpkg, scenario_map.html, rejects.csv, run.json,
    the state after the changes in after/ (all analyze outputs), a before/after
    map.html and report.html (gains per category, district and group, changed sites).

    \b
    Examples:
      accessibility scenario scenarios/helsinki_new_advice_centres.yaml --out outputs/new-advice
      accessibility scenario --network city.osm.pbf --population zensus.csv \\
          --sites sites.csv --add new.csv --remove lib-3 --minutes 5,10 --out outputs/s1

    \f
    Parameters
    ----------
    **options
        The command-line options, documented by ``accessibility scenario --help``
        (each option's help states its unit).
    """
    from ..outputs.files import write_scenario
    from ..pipeline import (
        load_inputs,
        run_scenario_file,
        scenario_from_options,
        scenario_sites,
        write_scenario_after,
    )
    from ..planning.scenario import check_changes, warn_new_categories
    from ..planning.scenario_file import read_scenario
    from ..record import file_record

    t0 = time.perf_counter()
    if scenario_file:
        given = (
            [k for k in _INPUT_KEYS if kw.get(k)]
            + (["add"] if add else [])
            + (["remove"] if remove else [])
        )
        if given:
            raise InputError(
                f"give either a scenario file or inputs on the command line, not both "
                f"(also given: --{', --'.join(g.replace('_', '-') for g in given)}); put them "
                "into the scenario file"
            )
        ctx = click.get_current_context()
        explicit = {
            name: kw[name]
            for name in ("minutes", "speed", "max_access")
            if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
        }
        sc = read_scenario(scenario_file).with_options(
            minutes=explicit.get("minutes"),
            speed_kmh=explicit.get("speed"),
            max_access_m=explicit.get("max_access"),
        )
        min_component = kw["min_component"]
        if sc.min_component is not None:
            if (ctx.get_parameter_source("min_component") is ParameterSource.COMMANDLINE
                    and min_component != sc.min_component):  # fmt: skip
                raise InputError(
                    f"{Path(scenario_file).name} sets min_component: {sc.min_component}; "
                    f"--min-component {min_component} conflicts: remove one"
                )
            min_component = sc.min_component
        from .._io import check_output_folder

        check_output_folder(_out(out, f"scenario-{Path(scenario_file).stem}"))
        with console.status("loading inputs…"):
            inputs = load_inputs(minutes=sc.minutes, speed_kmh=sc.speed_kmh,
                                 use_cache=not kw["no_cache"], progress=True,
                                 min_component=min_component, refresh=kw["refresh"],
                                 servers=servers_from(kw), geocoder=kw["geocoder"],
                                 user_agent=kw["user_agent"], accept=kw["accept"],
                                 **sc.inputs)  # fmt: skip
        with console.status("computing before and after…"):
            result = run_scenario_file(inputs, sc)
        default = f"scenario-{Path(scenario_file).stem}"
        record = {**inputs.record, "scenario_file": file_record(scenario_file)}
    else:
        if not add and not remove:
            raise InputError(
                "nothing to change: give a scenario file, or --add NEW.csv and/or --remove IDS"
            )
        inputs = _load(kw, kw["minutes"], kw["speed"], kw["no_cache"])
        with console.status("computing before and after…"):
            result = scenario_from_options(
                inputs, walk_params(kw), add=add, remove=remove, sites_crs=kw.get("sites_crs")
            )
        default = "scenario"
        record = dict(inputs.record)
        if add:
            record["inputs"]["add"] = file_record(add)
        record["remove"] = remove or []
    record["command"] = " ".join(sys.argv)
    check_changes(result)
    warn_new_categories(result, record, scenario_file or add)
    out_dir = _out(out, default)
    with staged(out_dir, no_wait) as tmp:
        sites = scenario_sites(result, inputs.extract.features)
        paths = write_scenario(result, tmp, record, sites)
        with console.status("writing the after-state outputs, the before/after map and report…"):
            paths.update(write_scenario_after(result, tmp, record, inputs.extract.features))
        paths = final_paths(paths, tmp, out_dir)
    _print_scenario(result, paths, time.perf_counter() - t0)


@click.command()
@click.argument("scenario_files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(file_okay=False),
              help="Output folder (default outputs/compare/).")  # fmt: skip
@click.option(
    "--no-cache", is_flag=True, help="Parse the network again instead of using the cache."
)
@no_wait_option
@online_options
@friendly
def compare(
    scenario_files: tuple[str, ...],
    out: Any,
    no_cache: bool,
    no_wait: bool,
    area: str | None,
    refresh: bool,
    **kw: Any,
) -> None:
    """Compare several scenarios side by side against the same baseline.

    All files must share the base inputs (network, population, sites, districts,
    minutes, speed). Writes comparison.csv (category, minutes,
    population_covered_before, then after_<slug> and gain_<slug> per scenario, the
    slug being the scenario name in lower case letters, digits and _),
    comparison_columns.csv (each column's full scenario name), comparison_districts.csv,
    and each scenario's outputs in a subfolder.

    \b
    Example:
      accessibility compare scenarios/helsinki_new_advice_centres.yaml \\
          scenarios/helsinki_close_and_move.yaml --out outputs/compare

    \f
    Parameters
    ----------
    **options
        The command-line options, documented by ``accessibility compare --help``
        (each option's help states its unit).
    """
    from .._text import column_slug
    from ..outputs.files import write_comparison
    from ..pipeline import compare_scenarios, load_inputs
    from ..planning.scenario import check_changes
    from ..planning.scenario_file import read_scenario, unique_names

    t0 = time.perf_counter()
    scs = [read_scenario(f) for f in scenario_files]
    key = scs[0].baseline_key()
    for s in scs[1:]:
        if s.baseline_key() != key:
            raise InputError(
                f"{s.file} has other base inputs, minutes or speed than {scs[0].file}; compare "
                "needs one shared baseline: give every file the same network, population, sites, "
                "districts, minutes and speed"
            )
    names = unique_names(scs)
    if area:
        raise InputError(
            "compare takes the study area from the scenario files (key 'area'), not --area: "
            "put it into every file"
        )
    from ..config import DEFAULT_MIN_COMPONENT

    # the files' island threshold (one for all: it is part of the baseline key)
    islands = scs[0].min_component or DEFAULT_MIN_COMPONENT
    with console.status("loading inputs…"):
        inputs = load_inputs(minutes=scs[0].minutes, speed_kmh=scs[0].speed_kmh,
                             use_cache=not no_cache, progress=True, refresh=refresh,
                             servers=servers_from(kw), min_component=islands,
                             **scs[0].inputs)  # fmt: skip
    final = _out(out, "compare")
    from .._io import check_output_folder

    check_output_folder(final)
    comparison = compare_scenarios(
        inputs, scs, names, status=lambda text: console.status(escape(text))
    )
    for _, _, r in comparison.results:
        check_changes(r)
    with staged(final, no_wait) as out:
        write_comparison(comparison, out, {**inputs.record, "command": " ".join(sys.argv)})
    table = comparison.table
    out = final
    t = Table(title="Scenarios compared: residents covered (gain against the baseline)")
    t.add_column("category")
    t.add_column("minutes", justify="right")
    t.add_column("baseline", justify="right")
    for n in names:
        t.add_column(escape(n), justify="right")  # a name's "[...]" is text, not rich markup
    for d in table.to_dict("records"):
        cells = [f"{d[f'after_{column_slug(n)}']:,.0f} ({d[f'gain_{column_slug(n)}']:+,.0f})"
                 for n in names]  # fmt: skip
        t.add_row(str(d["category"]), f"{d['minutes']:g}",
                  f"{d['population_covered_before']:,.0f}", *cells)  # fmt: skip
    console.print(t)
    console.print(f"Outputs in {out}  ({time.perf_counter() - t0:.1f} s)")


@click.command()
@area_options
@online_options
@input_options
@click.option("--candidates", type=click.Path(exists=True, dir_okay=False),
              help="Candidate locations: CSV name,category,lat,lon (like --sites), GeoJSON or GPKG.")  # fmt: skip
@click.option("--candidates-from-osm", is_flag=True,
              help="Add vacant shopfronts from OSM as candidates (shop=vacant, disused:shop=*).")  # fmt: skip
@click.option("--candidates-ground-floor", is_flag=True,
              help="Add ground-floor shops and offices from OSM as candidates (shop=*, office=*; "
              "level absent or 0): visible shop windows a docking point could share.")  # fmt: skip
@click.option("--candidates-from-streets", type=int, default=0, show_default=True,
              help="Add N street points on the most-walked streets (highest local betweenness).")  # fmt: skip
@click.option("--k", "k", default=3, show_default=True, type=int, help="How many to choose.")
@click.option("--category", default="all", show_default=True,
              help="Existing sites that count (all or one category); candidates join it.")  # fmt: skip
@click.option("--weight", help="Rank by a population group column (comma-separated are summed), "
              "e.g. geburtland_ausland_eu27,geburtland_ausland_sonstige_welt. 'priority' ranks by "
              "need × minutes beyond the threshold × residents (the priority areas, see --need).")  # fmt: skip
@click.option("--need", type=click.Path(exists=True, dir_okay=False),
              help="Need index of --weight priority (YAML like accessibility/inputs/need.yaml; "
              "default that file).")  # fmt: skip
@click.option("--exact", is_flag=True,
              help="Also solve the maximal covering problem exactly (HiGHS) and report the gap.")  # fmt: skip
@click.option("--visibility-weight", default=0.0, show_default=True, type=float,
              help="Choose by gain × (1 + W × visibility) instead of gain alone; ranking.csv's "
              "score column holds the value each pick maximised.")  # fmt: skip
@click.option("--no-visibility", is_flag=True, help="Skip the visibility score.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Output folder (default outputs/rank/).")  # fmt: skip
@no_wait_option
@friendly
def rank(candidates: str | None, candidates_from_osm: bool, candidates_ground_floor: bool, candidates_from_streets: int, k: int,
         category: str, weight: str | None, need: str | None, exact: bool, visibility_weight: float, no_visibility: bool, out: Any, no_wait: bool, **kw: Any) -> None:  # fmt: skip
    """Rank candidate locations by how many residents they newly cover.

    Greedy: each pick is the candidate covering the most residents not yet covered
    within the FIRST --minutes threshold, given the existing sites and the picks
    before it. Writes ranking.csv (rank,name,gain,cumulative_covered, then
    candidate_id, category, share_covered, reach, lat, lon, score, visibility,
    betweenness, shops_100m, gain_weighted), with --exact also ranking_exact.csv and the
    greedy-vs-optimal gap in run.json; rejects.csv; ranking_map.html (the picks
    numbered, the residents each newly covers, existing sites, other candidates).

    score is what each pick maximised: gain × (1 + W × visibility) with
    --visibility-weight W, i.e. the gain itself at W = 0. gain_weighted =
    gain × (1 + visibility) is kept for older scripts; it is descriptive only,
    not what was picked by, and has nothing to do with --weight.

    \b
    Examples:
      accessibility rank --network city.osm.pbf --population zensus.csv --sites sites.csv \\
          --candidates vacant_shops.csv --k 3 --minutes 5 --out outputs/rank
      accessibility rank --network city.osm.pbf --candidates-from-osm --k 5 --minutes 5 \\
          --weight geburtland_ausland_sonstige_welt --exact
      # the candidates that serve the priority areas (need × gap) best:
      accessibility rank --network kaiserslautern.osm.gz --population zensus2011_100m.csv \\
          --population zensus2011_100m_origin.csv --candidates-from-osm --weight priority
      accessibility rank --network city.osm.pbf --candidates-from-streets 200 --k 3
      accessibility rank --network city.osm.pbf --candidates-ground-floor --k 5 --minutes 5

    \f
    Parameters
    ----------
    **options
        The command-line options, documented by ``accessibility rank --help``
        (each option's help states its unit).
    """
    from .._io import check_output_folder
    from ..outputs.files import write_ranking
    from ..pipeline import rank_inputs

    t0 = time.perf_counter()
    if not (
        candidates or candidates_from_osm or candidates_ground_floor or candidates_from_streets
    ):
        raise InputError(
            "give --candidates FILE, --candidates-from-osm, --candidates-ground-floor "
            "and/or --candidates-from-streets N"
        )
    minutes = kw["minutes"][0]
    final = _out(out, "rank")
    check_output_folder(final)
    inputs = _load(kw, [minutes], kw["speed"], kw["no_cache"])
    run = rank_inputs(
        inputs, walk_params(kw, minutes=[minutes]), k=k, category=category, weight=weight,
        exact=exact, candidates=candidates, sites_crs=kw.get("sites_crs"),
        from_osm=candidates_from_osm, ground_floor=candidates_ground_floor,
        from_streets=candidates_from_streets, with_visibility=not no_visibility,
        visibility_weight=visibility_weight, status=console.status, need=need,
    )  # fmt: skip
    r = run.result
    with staged(final, no_wait) as out:
        record = {**inputs.record, "command": " ".join(sys.argv)}
        paths = write_ranking(run, out, record, k=k, visibility_weight=visibility_weight)
        map_path = final_paths({"m": paths["map"]}, out, final)["m"]
    t = Table(title=f"Best {k} candidates, residents ({r.weight_name}) within {minutes:g} min"
              if r.weight_name != "priority" else f"Best {k} candidates by priority (need × "
              f"minutes beyond {minutes:g} min × residents, newly within {minutes:g} min)")  # fmt: skip
    for col in ("rank", "name", "gain", "cumulative"):
        t.add_column(col, justify="left" if col == "name" else "right")
    for row in r.table.itertuples():
        t.add_row(str(row.rank), escape(str(row.name)), f"{row.gain:,.0f}",
                  f"{row.cumulative_covered:,.0f}")  # fmt: skip
    console.print(t)
    console.print(f"baseline (existing sites): {r.greedy.baseline:,.0f} of {r.total_weight:,.0f}")
    if r.exact is not None:
        ex = r.exact
        gap = ex.covered - r.greedy.covered
        share = gap / (ex.covered - ex.baseline) if ex.covered > ex.baseline else 0.0
        console.print(
            f"exact (MCLP): {ex.covered:,.0f} covered; greedy {r.greedy.covered:,.0f}; "
            f"gap {gap:,.0f} ({share:.1%} of the optimal gain)"
        )
    out = final
    print_rejects(inputs.rejects, out / "rejects.csv")
    console.print(f"Outputs in {out}  ({time.perf_counter() - t0:.1f} s)")
    console.print(f"Map: {map_path}")


@click.command()
@area_options
@online_options
@input_options
@click.option("--category", default="all", show_default=True,
              help="Sites to assess (all or one category).")  # fmt: skip
@click.option("--weight", help="Count a population group column instead of all residents.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Output folder (default outputs/critical/).")  # fmt: skip
@no_wait_option
@friendly
def critical(category: str, weight: str | None, out: Any, no_wait: bool, **kw: Any) -> None:
    """Critical sites and redundancy: who loses coverage if a site closes.

    For every existing site and threshold: reach_<m> (residents within m minutes of
    it) and loss_<m> (residents covered by this site alone, who lose coverage if it
    closes). Writes critical_sites.csv (sorted by loss at the first threshold),
    redundancy.csv (category, minutes, population, covered, covered_by_1,
    covered_by_2plus, share_2plus), rejects.csv, run.json and critical_map.html
    (at the first threshold: residents covered by one site only, by 2+ sites, not
    covered; the sites numbered by their loss).

    \b
    Example:
      accessibility critical --network city.osm.pbf --population zensus.csv \\
          --sites sites.csv --minutes 5,10 --out outputs/critical

    \f
    Parameters
    ----------
    **options
        The command-line options, documented by ``accessibility critical --help``
        (each option's help states its unit).
    """
    from .._io import check_output_folder
    from ..outputs.files import write_critical
    from ..pipeline import critical as critical_run

    t0 = time.perf_counter()
    final = _out(out, "critical")
    check_output_folder(final)
    inputs = _load(kw, kw["minutes"], kw["speed"], kw["no_cache"])
    with console.status("analysis…"):
        a, sites, red = critical_run(inputs, walk_params(kw), category, weight)
    first = f"loss_{min(kw['minutes']):g}"
    with staged(final, no_wait) as out:
        record = {**inputs.record, "command": " ".join(sys.argv)}
        paths = write_critical(a, sites, red, out, record, category=category, weight=weight)
        map_path = final_paths({"m": paths["map"]}, out, final)["m"]
    out = final
    t = Table(title=f"Residents losing coverage if one site closes ({first})")
    t.add_column("site")
    t.add_column("category")
    for m in sorted(kw["minutes"]):
        t.add_column(f"loss ≤ {m:g} min", justify="right")
    for d in sites.head(15).to_dict("records"):
        t.add_row(escape(str(d["name"])), escape(str(d["category"])),
                  *[f"{d[f'loss_{m:g}']:,.0f}" for m in sorted(kw["minutes"])])  # fmt: skip
    console.print(t)
    for r in red.itertuples():
        console.print(
            f"≤ {r.minutes:g} min: {r.covered_by_2plus:,.0f} residents covered by 2+ sites "
            f"({r.share_2plus:.1%}), {r.covered_by_1:,.0f} by exactly one"
        )
    console.print(f"Outputs in {out}  ({time.perf_counter() - t0:.1f} s)")
    console.print(f"Map: {map_path}")

"""Shared command-line machinery: consoles, option groups, error handling, printing.

Every command module imports only this module and the library, so the command modules and
the group in ``cli/__init__`` form no import cycle."""

from __future__ import annotations

# The library is imported inside the commands (lazily) so that `accessibility --help` and
# option errors stay fast: importing it loads geopandas, shapely, pyproj, osmium and folium.
import contextlib
import functools
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..config import (
    DEFAULT_MIN_COMPONENT,
    DEFAULT_SPEED_KMH,
    MAX_ACCESS_LEG_M,
    MAX_ACCESS_RANGE_M,
    SPEED_RANGE_KMH,
)
from ..errors import AccessibilityError, AccessibilityWarning
from ..params import WalkParams
from ..progress import set_display

console = Console(stderr=False, highlight=False)
err = Console(stderr=True, highlight=False)


def wrap_words(text: str, width: int, indent: str = "") -> str:
    """Wrap help text at spaces only: words, option names (``--sites-crs``) and column
    names (``geburtland_ausland_eu27``) are never split; a longer word runs over the line.

    Paragraphs are separated by blank lines; a paragraph whose first line is ``\\b``
    is kept as written (click's convention), only indented.

    Parameters
    ----------
    text : str
        The help text.
    width : int
        Line width in characters, indent included.
    indent : str
        Put before every line.

    Returns
    -------
    str
    """
    import textwrap

    wrapper = textwrap.TextWrapper(
        width=max(width, 10), initial_indent=indent, subsequent_indent=indent,
        break_long_words=False, break_on_hyphens=False, replace_whitespace=True,
    )  # fmt: skip
    out: list[str] = []
    for par in textwrap.dedent(text.expandtabs()).split("\n\n"):
        lines = par.splitlines()
        while lines and not lines[0].strip():
            lines.pop(0)
        if not lines:
            continue
        if lines[0].strip() == "\b":
            out.append("\n".join(indent + line for line in lines[1:]))
        else:
            pad = len(lines[0]) - len(lines[0].lstrip())
            with_pad = textwrap.TextWrapper(
                width=wrapper.width, initial_indent=indent + " " * pad,
                subsequent_indent=indent + " " * pad, break_long_words=False,
                break_on_hyphens=False,
            )  # fmt: skip
            out.append(with_pad.fill(" ".join(line.strip() for line in lines)))
    return "\n\n".join(out)


class HelpFormatter(click.HelpFormatter):
    """click's help layout, but text is wrapped at spaces only (:func:`wrap_words`)."""

    def write_text(self, text: str) -> None:
        """Re-indented, re-wrapped paragraphs (``\\b`` paragraphs kept as written)."""
        self.write(wrap_words(text, self.width, " " * self.current_indent) + "\n")

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        """Options and commands: name column, then the help wrapped at spaces only."""
        rows = list(rows)
        first_col = min(max((len(r[0]) for r in rows), default=0), col_max) + col_spacing
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if len(first) <= first_col - col_spacing:
                self.write(" " * (first_col - len(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = wrap_words(second, max(self.width - first_col - 2, 10)).splitlines() or [""]
            self.write(f"{lines[0]}\n")
            for line in lines[1:]:
                self.write(f"{'':>{first_col + self.current_indent}}{line}\n")


class HelpContext(click.Context):
    """Context of every command: help through :class:`HelpFormatter`."""

    formatter_class = HelpFormatter


def use_help_context(cmd: click.Command) -> None:
    """Give a command (and a group's subcommands) :class:`HelpContext`.

    Parameters
    ----------
    cmd : click.Command
    """
    cmd.context_class = HelpContext
    for sub in getattr(cmd, "commands", {}).values():
        use_help_context(sub)


def _one_line(text: object, limit: int = 2000) -> str:
    """A message on one line, at most ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _print_warning(message, category, filename, lineno, file=None, line=None, _seen=set()):  # noqa: B006
    """Print each package warning once, as one yellow line on stderr."""
    if not issubclass(category, AccessibilityWarning):
        return _show_warning(message, category, filename, lineno, file, line)
    text = _one_line(message)
    if text not in _seen:
        _seen.add(text)
        err.print(f"[yellow]warning:[/] {escape(text)}", soft_wrap=True)


_show_warning = warnings.showwarning


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn package and file-system errors into one line and an exit code (no traceback).

    Exit code 2: an input, option or output problem of the package
    (:class:`~accessibility.errors.AccessibilityError`); 1: any other file-system error.
    Package warnings are printed once each, as one line.

    Parameters
    ----------
    fn : callable
        The click command function.

    Returns
    -------
    callable
        ``fn`` wrapped (exits with code 2 or 1 instead of raising).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        warnings.showwarning = _print_warning
        try:
            return fn(*args, **kwargs)
        except AccessibilityError as exc:
            err.print(f"[bold red]error:[/] {escape(_one_line(exc))}", soft_wrap=True)
            sys.exit(2)
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            err.print(f"[bold red]error:[/] {escape(_one_line(f'{exc.strerror or exc}{where}'))}",
                      soft_wrap=True)  # fmt: skip
            sys.exit(1)
        finally:
            warnings.showwarning = _show_warning

    return wrapper


def _finite_in(lo: float, hi: float, unit: str, lo_open: bool = True) -> Callable[..., Any]:
    """Click callback: a finite number in (lo, hi] (or [lo, hi])."""

    def check(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None:
            return None
        ok = value > lo if lo_open else value >= lo
        if not (ok and value <= hi):  # also false for nan; inf > hi
            name = "--" + param.name.replace("_", "-")
            raise click.BadParameter(
                f"{name} must be a number {'above' if lo_open else 'from'} {lo:g} up to {hi:g} "
                f"{unit}, got {value}",
            )
        return value

    return check


def staged(out: Path, no_wait: bool = False):
    """:func:`accessibility._io.output_folder` of ``out`` with a waiting message on the console.

    Parameters
    ----------
    out : Path
        The output folder.
    no_wait : bool
        Refuse instead of waiting when another run writes ``out``.

    Returns
    -------
    context manager
        Yields the staging folder; see :func:`accessibility._io.output_folder`.
    """
    from .._io import output_folder

    return output_folder(
        out, wait=not no_wait, on_wait=lambda m: err.print(f"[yellow]{m}[/]", markup=True)
    )


def final_paths(paths: dict, tmp: Path, out: Path) -> dict:
    """The paths written into a staging folder ``tmp``, as they are after the swap into ``out``.

    Parameters
    ----------
    paths : dict
        Output name -> path inside ``tmp``.
    tmp : Path
        The staging folder.
    out : Path
        The final output folder.

    Returns
    -------
    dict
        Output name -> path inside ``out`` (paths not under ``tmp`` unchanged).
    """
    tmp, out = Path(tmp), Path(out)
    moved = {}
    for k, p in paths.items():
        try:
            moved[k] = out / Path(p).relative_to(tmp)
        except (TypeError, ValueError):
            moved[k] = p
    return moved


def no_wait_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--no-wait``: refuse instead of waiting when another run writes the same --out.

    Parameters
    ----------
    fn : callable
        The click command function.

    Returns
    -------
    callable
        ``fn`` with the option added.
    """
    return click.option(
        "--no-wait",
        is_flag=True,
        help="If another run is writing the same output folder, stop with an error instead "
        "of waiting for it.",
    )(fn)


def named_out(name: str | None, default: str) -> Path:
    """``outputs/<name>``; ``name`` must be a plain folder name (no path), so it stays in outputs/.

    Parameters
    ----------
    name : str or None
        The ``--name`` value.
    default : str
        Folder name used when ``name`` is None.

    Returns
    -------
    Path
        ``outputs/<name>`` (relative to the working directory).

    Raises
    ------
    InputError
        ``name`` is empty or contains a path.
    """
    from ..errors import InputError

    if name is None:
        return Path("outputs") / default
    if not name.strip() or Path(name).name != name or name in (".", "..") or "\\" in name:
        raise InputError(
            f"--name must be a plain folder name inside outputs/ (no '/', '..' or drive), got "
            f"{_one_line(name, 200)!r}; use --out to write elsewhere"
        )
    return Path("outputs") / name


def _bbox(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
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


def _minutes(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    from ..params import parse_minutes

    try:
        return parse_minutes(value)
    except AccessibilityError as exc:
        raise click.BadParameter(str(exc)) from exc


def csv_list(ctx: click.Context, param: click.Parameter, value: Any) -> list[str] | None:
    """Click callback: ``"a, b"`` → ``["a", "b"]`` (None when empty).

    Parameters
    ----------
    ctx : click.Context
    param : click.Parameter
    value : str or None
        The option's text.

    Returns
    -------
    list of str or None
        The stripped, non-empty items.
    """
    if not value:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def area_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options that choose the walking network (one of them).

    Parameters
    ----------
    fn : callable
        The click command function.

    Returns
    -------
    callable
        ``fn`` with ``--network``, ``--place``, ``--bbox`` (degrees) and ``--polygon``.
    """
    opts = [
        click.option("--network", type=click.Path(dir_okay=False), help="Local OSM file: .osm, .osm.gz, .osm.bz2 or .osm.pbf."),
        click.option("--place", help='Study area to download (geocoded with Nominatim), e.g. "Nordstadt, Dortmund, Germany"; only its residents are counted.'),
        click.option("--bbox", callback=_bbox, help="Study area W,S,E,N in degrees: downloaded, or with --network only restricting the residents counted."),
        click.option("--polygon", type=click.Path(exists=True, dir_okay=False), help="Study area to download: polygon file (GeoJSON/GPKG); only its residents are counted."),
    ]  # fmt: skip
    for o in reversed(opts):
        fn = o(fn)
    return fn


def online_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--area``, ``--refresh`` and the server options of commands that may download.

    Parameters
    ----------
    fn : callable
        The click command function.

    Returns
    -------
    callable
        ``fn`` with the options added (``--timeout`` and ``--overpass-max-wait`` in seconds).
    """
    opts = [
        click.option("--area", type=click.Path(exists=True, dir_okay=False), help="Study area polygon file (GeoJSON/GPKG): only residents inside are counted; without --network it is downloaded like --polygon."),
        click.option("--refresh", is_flag=True, help="Download the area (and geocode --place) again even if it is in the cache."),
        click.option("--overpass-url", help="Overpass API base URL, e.g. http://localhost:12345/api (env ACCESSIBILITY_OVERPASS_URL; default https://overpass-api.de/api)."),
        click.option("--nominatim-url", help="Nominatim base URL for --place and --geocoder nominatim (env ACCESSIBILITY_NOMINATIM_URL; default https://nominatim.openstreetmap.org/)."),
        click.option("--timeout", type=float, help="Seconds per server request and Overpass query timeout (env ACCESSIBILITY_TIMEOUT; default 180)."),
        click.option("--overpass-attempts", type=int, help="Requests per Overpass query (and Nominatim place search) before giving up on a busy server (env ACCESSIBILITY_OVERPASS_ATTEMPTS; default 5)."),
        click.option("--overpass-max-wait", type=float, help="Seconds of waiting for a busy Overpass (or Nominatim) server in all before giving up (env ACCESSIBILITY_OVERPASS_MAX_WAIT; default 900)."),
    ]  # fmt: skip
    for o in reversed(opts):
        fn = o(fn)
    return fn


_SERVER_OPTIONS = {
    "overpass_url": "overpass_url",
    "nominatim_url": "nominatim_url",
    "timeout": "timeout_s",
    "overpass_attempts": "max_attempts",
    "overpass_max_wait": "max_wait_s",
}


def servers_from(kw: dict):
    """Pop the server options from ``kw``; a Servers value if any was given, else None.

    Parameters
    ----------
    kw : dict
        The command's keyword arguments; the server options are removed in place.

    Returns
    -------
    Servers or None
        :meth:`Servers.from_env` with the given options (timeouts in seconds).
    """
    given = {field: kw.pop(opt, None) for opt, field in _SERVER_OPTIONS.items()}
    if all(v is None for v in given.values()):
        return None
    from ..inputs.servers import Servers

    return Servers.from_env(**given)


def geocoder_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--geocoder offline|nominatim``, ``--accept street`` and ``--user-agent`` for
    commands that read addresses.

    Parameters
    ----------
    fn : callable
        The click command function.

    Returns
    -------
    callable
        ``fn`` with the three options added.
    """
    fn = click.option(
        "--accept",
        type=click.Choice(["street"]),
        multiple=True,
        help="Also use weak address matches: 'street' places an address found by its street "
        "only (no or unmapped house number) between the nearest mapped numbers or at the "
        "street's middle, which can be hundreds of metres off. By default such rows go to "
        "rejects.csv with the reason.",
    )(fn)
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


def input_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options for sites, residents, districts and walking parameters.

    Parameters
    ----------
    fn : callable
        The click command function.

    Returns
    -------
    callable
        ``fn`` with the input, geocoder and walk options added.
    """
    opts = [
        click.option("--sites", type=click.Path(exists=True, dir_okay=False), help="Your docking points: CSV name,category,lat,lon (or x,y with --sites-crs), GeoJSON or GeoPackage."),
        click.option("--sites-crs", help="CRS of x,y columns in --sites, e.g. EPSG:25832."),
        click.option("--osm-categories", callback=csv_list, help="OSM preset categories to use, e.g. library,advice_centre (default: all presets when --sites is not given)."),
        click.option("--presets", type=click.Path(exists=True, dir_okay=False), help="YAML file overriding/adding category presets."),
        click.option("--population", multiple=True, type=click.Path(exists=True, dir_okay=False), help="Residents: Zensus 100 m or 1 km grid CSV or the official .zip (repeat to join attribute tables by cell id; 1 km cells are always spread over buildings or residential streets), or a points/polygons file with --population-column. Default: estimated from OSM buildings."),
        click.option("--population-column", help="Column with residents in a points/polygons population file."),
        click.option("--population-crs", help="CRS of x,y columns in a CSV population file."),
        click.option("--spread-to-buildings", is_flag=True, help="Distribute each grid cell's residents over its residential buildings (footprint × levels)."),
        click.option("--population-total", type=float, help="Official number of residents: rescale the residents (e.g. the building estimate) to this total; the factor goes to run.json."),
        click.option("--districts", type=click.Path(exists=True, dir_okay=False), help="District polygons for per-district results."),
        click.option("--district-column", help="Name column of --districts (default: name)."),
        click.option("--no-cache", is_flag=True, help="Parse the network again instead of using the cache."),
    ]  # fmt: skip
    for o in reversed(opts):
        fn = o(fn)
    return geocoder_option(walk_options(fn))


def walk_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--minutes``, ``--speed`` (km/h), ``--max-access`` (metres) and ``--min-component`` (nodes).

    Parameters
    ----------
    fn : callable
        The click command function.

    Returns
    -------
    callable
        ``fn`` with the four options added.
    """
    opts = [
        click.option("--minutes", default="5,10,15", show_default=True, callback=_minutes, help="Thresholds in minutes."),
        click.option("--speed", default=DEFAULT_SPEED_KMH, show_default=True, type=float, callback=_finite_in(*SPEED_RANGE_KMH, "km/h"), help=f"Walking speed in km/h (above {SPEED_RANGE_KMH[0]:g}, up to {SPEED_RANGE_KMH[1]:g})."),
        click.option("--max-access", default=MAX_ACCESS_LEG_M, show_default=True, type=float, callback=_finite_in(*MAX_ACCESS_RANGE_M, "metres"), help=f"Longest straight access leg (metres, above {MAX_ACCESS_RANGE_M[0]:g} up to {MAX_ACCESS_RANGE_M[1]:g}) from a door to the nearest walkable edge; points further away are rejected."),
        click.option("--min-component", default=DEFAULT_MIN_COMPONENT, show_default=True, type=click.IntRange(min=1), help="Island pruning: residents and sites snap only onto network components with at least this many nodes (the largest always counts); smaller pieces stay on the map."),
    ]  # fmt: skip
    for o in reversed(opts):
        fn = o(fn)
    return fn


def print_rejects(rejects: Any, path: Any) -> None:
    """Print how many input rows were rejected, per file and reason, and where they are listed.

    Parameters
    ----------
    rejects : Rejects
        The run's rejects; nothing is printed when empty.
    path : path
        Where ``rejects.csv`` was written.
    """
    if not len(rejects):
        return
    console.print(f"[yellow]{len(rejects):,} input rows rejected[/] (see {path}):")
    for r in rejects.counts().itertuples():
        console.print(f"  {r.rows:>6,}  {Path(r.file).name}: {r.reason}")


def print_new_categories(record: dict) -> None:
    """Note the categories of the sites file that are not presets (see run.json new_categories).

    Parameters
    ----------
    record : dict
        Run record with ``new_categories``.
    """
    new = record.get("new_categories") or []
    if new:
        listed = ", ".join(
            f"{d['category']} ({d['sites']})"
            + (f" – did you mean {d['did_you_mean']}?" if d.get("did_you_mean") else "")
            for d in new
        )
        console.print(
            f"[yellow]Note: categories not among the presets, used as new ones:[/] {escape(listed)}"
        )


def print_pruning(p: dict) -> None:
    """One line on island pruning: edges pruned, residents and sites moved off islands.

    Parameters
    ----------
    p : dict
        ``Analysis.pruning`` counts; nothing is printed when no edge was pruned.
    """
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


def print_summary(a: Any, paths: dict, seconds: float, record: dict | None = None) -> None:
    """Print the headline table, the residents left out, the rejects and where the outputs are.

    Parameters
    ----------
    a : Analysis
        The analysis (persons within each threshold in minutes per category).
    paths : dict
        Output name -> path (``summary``, ``map``, ``rejects``, optionally ``report``).
    seconds : float
        Run time in seconds.
    record : dict, optional
        Run record (``study_area``).
    """
    s = a.summary()
    t = Table(title="Residents within walking minutes of a docking point")
    t.add_column("category")
    for m in a.minutes:
        t.add_column(f"≤ {m:g} min", justify="right")
    for cat, df in s.groupby("category", sort=False):
        t.add_row(
            cat,
            *[
                "–" if r.note else f"{r.population_covered:,.0f} ({r.share_covered:.1%})"
                for r in df.itertuples()
            ],
        )
    console.print(t)
    for cat in a.categories_without_site():
        console.print(f"[yellow]{escape(cat)}: no docking point of this category[/]")
    pop = a.residents["population"].sum()
    console.print(f"{len(a.sites)} sites, {pop:,.0f} residents in {len(a.residents):,} points.")
    area = (record or {}).get("study_area") or {}
    if area.get("resident_points_outside"):
        console.print(
            f"{area['residents_outside']:,.0f} residents ({area['resident_points_outside']:,} points) "
            "outside the study area are not counted (the walking network and sites around it are used)."
        )
    frag = a.residents.loc[a.residents["fragment"], "population"].sum()
    if frag > 0:
        console.print(
            f"[yellow]{frag:,.0f} residents are snapped onto small network fragments (see residents.gpkg, column fragment).[/]"
        )
    print_pruning(a.pruning)
    print_rejects(a.rejects, paths["rejects"])
    print_new_categories(getattr(a, "record", {}) or {})
    console.print(f"Outputs in {paths['summary'].parent}  ({seconds:.1f} s)")
    console.print(f"Map: {paths['map']}")
    if "report" in paths:
        console.print(f"Report: {paths['report']}")


def print_population(record: dict) -> None:
    """Say how coarse Zensus cells were placed and whether the residents were rescaled.

    Parameters
    ----------
    record : dict
        Run record (``population_spread``, ``cell_size_m`` in metres,
        ``population_scaling``).
    """
    sp = record.get("population_spread")
    if sp:
        size = float(record.get("cell_size_m") or 0)
        label = f"{size / 1000:g} km" if size >= 1000 else f"{size:g} m"
        console.print(
            f"Residents: {sp['cells']:,} Zensus {label} cells spread onto residential buildings "
            f"({sp['cells_on_buildings']:,} cells), along residential streets "
            f"({sp['cells_on_residential_streets']:,}) or other walkable streets "
            f"({sp['cells_on_walkable_streets']:,}); each cell's total kept."
        )
        if sp["cells_rejected"]:
            console.print(
                f"[yellow]{sp['cells_rejected']:,} cells ({sp['residents_rejected']:,.0f} residents) "
                "have nothing to spread onto and are rejected (rejects.csv).[/]"
            )
    sc = record.get("population_scaling")
    if sc:
        console.print(
            f"Residents rescaled by {sc['factor']:.4f} to the official total {sc['total']:,.0f} "
            f"(before: {sc['estimated_total']:,.0f}); distribution {sc['distribution']}."
        )


def walk_params(kw: dict, minutes: list[float] | None = None) -> WalkParams:
    """The :class:`~accessibility.params.WalkParams` of the walk options in ``kw``.

    Parameters
    ----------
    kw : dict
        The command's keyword arguments (``minutes``, ``speed`` in km/h, ``max_access``
        in metres, ``min_component``).
    minutes : list of float, optional
        Thresholds in minutes overriding ``kw["minutes"]``.

    Returns
    -------
    WalkParams
    """
    return WalkParams(
        minutes=tuple(kw["minutes"] if minutes is None else minutes),
        speed_kmh=kw["speed"],
        max_access_m=kw["max_access"],
        min_component=kw.get("min_component") or DEFAULT_MIN_COMPONENT,
    )


@contextlib.contextmanager
def _rich_spinner(text: str) -> Iterator[Callable[[str], None]]:
    """The terminal display of long library steps (:mod:`accessibility.progress`)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True)
    task = bar.add_task(text)
    bar.start()
    try:
        yield lambda new: bar.update(task, description=new)
    finally:
        bar.stop()


set_display(_rich_spinner)

"""``accessibility app``: the planner's workbench in the browser (issue 14)."""

from __future__ import annotations

# The library is imported inside the command (lazily) so that `accessibility --help` stays fast.
import json
import shlex
import threading
import time
import webbrowser
from pathlib import Path
from typing import Any

import click

from ..errors import InputError
from .options import console, friendly

#: Fixed default port of the workbench.
DEFAULT_PORT = 8765

#: run.json input keys that are files (a list for population).
_FILE_KEYS = ("network", "sites", "presets", "districts", "polygon", "area")
#: analyze options copied from the recorded command (not files).
_OPTION_KEYS = ("place", "bbox", "sites_crs", "osm_categories", "population_column",
                "population_crs", "spread_to_buildings", "population_total",
                "district_column")  # fmt: skip


def baseline_of(source: str | Path) -> tuple[dict, Any, int, str, list]:
    """The baseline a workbench starts from: an ``analyze`` output folder (its run.json)
    or a scenario YAML (its base inputs; its changes become the page's first changes).

    Parameters
    ----------
    source : path
        Output folder of ``accessibility analyze`` or a scenario file.

    Returns
    -------
    tuple
        Scenario-file input keys (for :func:`accessibility.pipeline.load_inputs` and for
        saved scenarios), the :class:`accessibility.params.WalkParams`, the island
        threshold (nodes), a name and the scenario file's changes (empty for a folder).

    Raises
    ------
    InputError
        Not a folder with a complete run.json, nor a scenario file; or an input file
        recorded in run.json no longer exists.
    """
    from ..params import WalkParams
    from ..planning.scenario_file import read_scenario

    src = Path(source)
    if src.is_file():
        sc = read_scenario(src)
        islands = 40 if sc.min_component is None else sc.min_component
        return dict(sc.inputs), sc.params, islands, sc.name, list(sc.changes)
    run_json = src / "run.json"
    if not run_json.exists():
        raise InputError(
            "neither a scenario file nor an analyze output folder (no run.json); give the "
            "folder `accessibility analyze --out` wrote, or a scenario YAML",
            src,
        )
    try:
        record = json.loads(run_json.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"run.json cannot be read ({exc}); run the analysis again", src) from exc
    if record.get("complete") is not True:
        raise InputError("run.json is not marked complete; run `accessibility analyze` again", src)
    profiles = record.get("profiles") or {}
    first = next(iter(profiles), None)
    if first is not None and (profiles.get(first) or {}).get("avoids"):
        # the workbench and its scenario files walk the full network: the baseline would be
        # another one than this folder's
        raise InputError(
            f"this run used the walking profile {first!r}, which avoids "
            f"{', '.join(profiles[first]['avoids'])}; the workbench walks the full network "
            "(profiles that only change the speed, like senior, are fine). Open an analysis "
            "run without such a profile",
            src / "run.json",
        )
    rec_inputs = record.get("inputs") or {}
    inputs: dict = {}
    for key in _FILE_KEYS:
        entry = rec_inputs.get(key)
        if isinstance(entry, dict) and entry.get("path"):
            inputs[key] = _existing(entry["path"], key, src, entry.get("sha256"))
    pops = rec_inputs.get("population") or []
    if pops:
        inputs["population"] = [
            _existing(p["path"], "population", src, p.get("sha256")) for p in pops
        ]
    inputs.update(_recorded_options(record.get("command", "")))
    if "network" not in inputs and "place" not in inputs and "bbox" not in inputs:
        raise InputError(
            "run.json names no network file nor study area to rebuild the baseline from; "
            "run `accessibility analyze --network FILE` and open that folder",
            src,
        )
    p = record.get("parameters") or {}
    params = WalkParams(
        minutes=tuple(float(m) for m in p.get("minutes", (5, 10, 15))),
        speed_kmh=float(p.get("speed_kmh", 4.8)),
        max_access_m=float(p.get("max_access_m", 500.0)),
        min_component=int(p.get("min_component", 40)),
    )
    return inputs, params, int(p.get("min_component", 40)), src.resolve().name, []


def _existing(path: str, key: str, folder: Path, sha256: str | None = None) -> str:
    p = Path(path).expanduser()
    if not p.is_absolute() and not p.exists():
        p = folder / p
    if not p.exists():
        raise InputError(
            f"run.json names the {key} file {path}, which no longer exists; restore it or "
            "run `accessibility analyze` again",
            folder / "run.json",
        )
    if sha256 and p.is_file():
        from .._io import sha256 as file_sha256

        if file_sha256(p) != sha256:
            raise InputError(
                f"the {key} file {path} has changed since the analysis (its SHA-256 differs "
                "from run.json's), so the workbench would not show this folder's baseline; "
                "restore the file or run `accessibility analyze` again",
                folder / "run.json",
            )
    return str(p.resolve())


def _recorded_options(command: str) -> dict:
    """The non-file analyze options of the recorded command line (``run.json`` ``command``)."""
    from .analyze import analyze

    try:
        args = shlex.split(command)
    except ValueError:
        return {}
    if "analyze" not in args:
        return {}
    args = args[args.index("analyze") + 1 :]
    try:
        ctx = analyze.make_context("analyze", args, resilient_parsing=True)
    except click.ClickException:
        return {}
    out = {}
    for key in _OPTION_KEYS:
        v = ctx.params.get(key)
        if v not in (None, False, (), []):
            out[key] = list(v) if isinstance(v, tuple) else v
    return out


@click.command("app")
@click.argument("source", type=click.Path(exists=True))
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on.")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but localhost (e.g. 0.0.0.0 for a team on "
                   "an intranet) requires the access token printed at start.")  # fmt: skip
@click.option("--no-browser", is_flag=True, help="Do not open the browser.")
@click.option("--lang", type=click.Choice(["de", "en"]), default=None,
              help="Page language at start (switchable on the page; default German for German "
                   "data).")  # fmt: skip
@click.option(
    "--no-cache", is_flag=True, help="Parse the network again instead of using the cache."
)
@friendly
def app(source: str, port: int, host: str, no_browser: bool, lang: str | None,
        no_cache: bool) -> None:  # fmt: skip
    """The planner's workbench: click a location on the map and see whom it would reach.

    SOURCE is an output folder of `accessibility analyze` (the baseline is rebuilt from
    its run.json: network from the cache, residents, sites) or a scenario YAML (its base
    inputs). The page shows the baseline (sites, resident cells coloured by walking
    minutes, the share table); click to add a docking point, drag a site to move it,
    click a site to close it; the gain per threshold appears at once. "Save scenario"
    downloads a scenario YAML that `accessibility scenario` reproduces exactly; "Report"
    downloads its report.html; "Best next sites" ranks OSM shopfronts.

    HTTP API: GET /api/baseline, POST /api/scenario (see README). Local by default; with
    --host beyond localhost an access token is generated and printed, and requests
    without it get 401.

    \b
    Examples:
      accessibility app outputs/kaiserslautern
      accessibility app scenarios/kaiserslautern_new_office.yaml --no-browser --port 9000
      accessibility app outputs/kaiserslautern --host 0.0.0.0   # team access, token printed

    \f
    Parameters
    ----------
    **options
        The command-line options, documented by ``accessibility app --help``.
    """
    import uvicorn

    from ..app.server import LOCAL_HOSTS, create_app, token_for_host
    from ..app.workbench import Workbench
    from ..outputs.i18n import default_lang
    from ..pipeline import load_inputs

    t0 = time.perf_counter()
    inputs_kw, params, min_component, name, changes = baseline_of(source)
    with console.status("loading inputs…"):
        inputs = load_inputs(minutes=params.minutes, speed_kmh=params.speed_kmh,
                             use_cache=not no_cache, progress=True, min_component=min_component,
                             **inputs_kw)  # fmt: skip
    with console.status("baseline and every site's walking distances…"):
        bench = Workbench(inputs, params, inputs_kw, name=name,
                          lang=lang or default_lang(inputs.record, inputs.network.crs))  # fmt: skip
    for line in bench.preload(changes):
        console.print(f"[yellow]{line}[/]")
    local = host in LOCAL_HOSTS
    token = token_for_host(host)
    url_host = "127.0.0.1" if local or host in ("0.0.0.0", "::") else host
    url = f"http://{url_host}:{port}/" + (f"?token={token}" if token else "")
    console.print(
        f"Workbench for {name}: {len(bench.used_ids):,} sites, {len(bench.pop):,} resident "
        f"points, ready in {time.perf_counter() - t0:.1f} s"
    )
    if token:
        import socket

        team = f"http://{socket.gethostname()}:{port}/?token={token}"
        console.print(
            f"Listening on {host}:{port}; every request needs the access token. Open\n  {url}\n"
            f"or, from another machine,\n  {team}\n(or send the header X-Access-Token: {token})",
            soft_wrap=True,
        )
    else:
        console.print(f"Open {url}  (Ctrl+C stops)", soft_wrap=True)
    if not no_browser:
        threading.Timer(1.0, lambda: webbrowser.open(url)).start()
    # a local server answers only requests addressed to localhost (no DNS rebinding)
    hosts = LOCAL_HOSTS if local else None
    uvicorn.run(create_app(bench, token, hosts), host=host, port=port, log_level="warning")

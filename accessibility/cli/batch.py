"""``accessibility batch``: every area of a region (municipalities) in one run, on Dask."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from ..config import ATTRIBUTION_BKG
from ..record import attributions
from .options import console, csv_list, friendly, walk_options, walk_params

#: Exit code when some areas failed (the others' results are written).
EXIT_SOME_FAILED = 3
#: Key columns of official German boundaries (BKG VG250/VG5000: Regionalschlüssel,
#: Gemeindeschlüssel): their polygons get the BKG attribution by default.
OFFICIAL_KEYS = {"ARS", "AGS", "ARS_0", "AGS_0", "RS", "RS_0"}


def write_area(a: Any, folder: str, record: dict) -> object:
    """The full ``analyze`` folder of one area (``--per-area-outputs``; runs on a worker)."""
    from ..outputs.i18n import default_lang, default_title
    from ..pipeline import write_outputs

    lang = record.get("lang") or default_lang(record, a.network.crs)
    name = record.get("area", {}).get("name", "")
    need = None
    ref = record.get("need_reference_shares")
    if ref:  # the region's shares: need 1 = the region's average in every area
        from ..planning.priority import load_need, with_reference

        need = with_reference(load_need(), ref)
    return write_outputs(a, folder, record, map_title=default_title(name, lang), lang=lang,
                         need=need)  # fmt: skip


def load_extract_area(task: Any) -> tuple:
    """Network, sites and residents of an area that has its own extract (``--networks``; on a worker).

    The area's residents are those inside its polygon (:func:`accessibility.pipeline.load_inputs`
    with ``area``); its sites are those of the extract.
    """
    from ..pipeline import load_inputs

    kw = dict(task.load)
    inputs = load_inputs(
        network=task.network, minutes=task.params.minutes, speed_kmh=task.params.speed_kmh,
        min_component=task.params.min_component, **kw,
    )  # fmt: skip
    return inputs.network, inputs.sites, inputs.residents


def _extract_of(folder: Path, area_id: str) -> Path | None:
    from .._text import slug

    for stem in dict.fromkeys([area_id, slug(area_id)]):
        if "/" in stem or "\\" in stem or stem in (".", ".."):
            continue  # a key never names a file outside the folder
        for suffix in (".osm.pbf", ".osm", ".osm.gz", ".osm.bz2"):
            if (folder / f"{stem}{suffix}").is_file():
                return folder / f"{stem}{suffix}"
    return None


def _area_folders(ids: Any) -> dict[str, str]:
    """Folder name per area id: its slug, or, where several ids share a slug ('A.1' and
    'a-1', '..' and '/'), the slug plus a hash of the id, so no area overwrites another's
    ``area.json``, per-area outputs or polygon file."""
    import hashlib
    from collections import Counter

    from .._text import slug

    slugs = {str(a): slug(str(a)) for a in ids}
    shared = Counter(slugs.values())
    return {
        a: s if shared[s] == 1 else f"{s}-{hashlib.sha256(a.encode()).hexdigest()[:8]}"
        for a, s in slugs.items()
    }


def _load_stored(path: Path, key: str) -> Any:
    import json

    from ..planning.batch import RESULT_VERSION, AreaResult

    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if d.get("version") != RESULT_VERSION or d.get("key") != key:
        return None
    return AreaResult.from_json(d)


def _region_priority(res: Any, results: list, record: dict, minutes: tuple) -> tuple | None:
    """The region's priority per resident point and per area (need × gap with the region's
    reference shares, :func:`accessibility.planning.priority.region_priority`), or None
    without population groups. Sets ``record["priority"]``."""
    import numpy as np
    import pandas as pd

    from ..planning.priority import load_need, region_priority, resolve_need, with_reference

    ref = record.get("need_reference_shares")
    if not ref or not results:
        return None
    groups = [g for g in res.attrs.get("groups", []) if g in res.columns]
    spec = with_reference(resolve_need(load_need(), groups), ref)
    col = f"minutes_{spec.category}"
    mins = pd.concat([r.minutes.assign(area_id=r.area_id) for r in results if col in r.minutes],
                     ignore_index=True)  # fmt: skip
    pos = pd.Index(res["pid"].astype(str)).get_indexer(mins["pid"].astype(str))
    assert (pos >= 0).all(), "every area resident comes from the region's residents"
    cols = ["population", *[c for c in spec.columns if c != "population"]]
    # pid / cell_id: which cells' values are unpublished (need index treats them as unknown)
    counts = res.iloc[pos][cols + ["pid"] + (["cell_id"] if "cell_id" in res else [])]
    threshold = float(spec.minutes if spec.minutes is not None else min(minutes))
    cells, per_area = region_priority(counts.reset_index(drop=True), mins, spec, threshold)
    record["priority"] = {
        **spec.record(), "threshold_minutes": threshold, "reference": "region",
        "residents_beyond": float(np.sum(cells["residents_beyond"])),
        "priority_total": float(np.sum(cells["priority_total"])),
    }  # fmt: skip
    return cells, per_area


def run_batch(
    *,
    areas: str,
    area_id: str,
    area_name: str | None,
    out: Path,
    params: Any,
    network: str | None = None,
    networks: str | None = None,
    population: tuple = (),
    sites: str | None = None,
    sites_crs: str | None = None,
    osm_categories: list[str] | None = None,
    presets: str | None = None,
    workers: int = 2,
    scheduler: str | None = None,
    resume: bool = False,
    per_area_outputs: bool = False,
    category: str = "all",
    main_minutes: float | None = None,
    lang: str | None = None,
    title: str = "",
    areas_attribution: str | None = None,
    use_cache: bool = True,
    progress: bool = True,
    command: str = "",
) -> dict:
    """Run every area of ``areas`` and write the regional outputs into ``out``.

    The library entry of ``accessibility batch`` (options as there; ``params`` is a
    :class:`accessibility.params.WalkParams`: minutes, km/h, metres). ``lang`` None: German
    for German data (as ``analyze``); ``title`` "": one naming the region (the areas file);
    ``areas_attribution`` None: the BKG line for official German keys (ARS, AGS), "" none.

    Returns
    -------
    dict
        ``paths`` (written files), ``results`` and ``failures`` (lists), ``skipped``
        (area ids resumed from earlier results), ``record`` (``run.json``).
    """
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from .._io import write_csv, write_json, write_text
    from ..errors import InputError
    from ..outputs.i18n import default_lang
    from ..outputs.regional import region_name, write_regional
    from ..pipeline import load_inputs
    from ..planning import batch as B
    from ..record import file_record

    t_start, c_start = time.perf_counter(), time.process_time()
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}  # CPU seconds of the driver per phase
    t0, c0 = time.perf_counter(), time.process_time()
    regions = B.read_areas(areas, area_id, area_name)
    if main_minutes is not None and float(main_minutes) not in params.minutes:
        # checked before the areas run, not after hours of work
        raise InputError(f"--main-minutes {float(main_minutes):g} is not one of --minutes "
                         f"{', '.join(f'{m:g}' for m in params.minutes)}")  # fmt: skip
    folder_of = _area_folders(regions["area_id"])
    walk = {"minutes": params.minutes, "speed_kmh": params.speed_kmh,
            "max_access_m": params.max_access_m, "min_component": params.min_component}  # fmt: skip
    tasks, stored = [], []
    if networks is None:
        with console.status(
            "loading the region: network (parsed once into the cache), sites, residents…"
        ):
            inputs = load_inputs(
                network=network, population=population, sites=sites, sites_crs=sites_crs,
                osm_categories=osm_categories, presets=presets, minutes=params.minutes,
                speed_kmh=params.speed_kmh, use_cache=use_cache, progress=progress,
                min_component=params.min_component,
            )  # fmt: skip
        net = inputs.network
        timings["load_region"] = time.perf_counter() - t0
        cpu["load_region"] = time.process_time() - c0
        net_path = net._cache_file
        if net_path is None:  # no writable cache: the workers read a copy next to the outputs
            net_path = net.save(out / ".work" / "network.npz")
        regions_net = regions.to_crs(net.crs)
        t0, c0 = time.perf_counter(), time.process_time()
        owner = B.assign_areas(inputs.residents, regions_net)
        sizes = B.task_sizes(net, regions_net, params)
        timings["assign"] = time.perf_counter() - t0
        cpu["assign"] = time.process_time() - c0
        res, all_sites, categories = inputs.residents, inputs.sites, list(inputs.categories)
        record = {**inputs.record, "command": command}
        # priority areas (per area and for the region) measure need against the region
        from ..planning.priority import reference_shares

        groups = [g for g in res.attrs.get("groups", []) if g in res.columns]
        ref = reference_shares(res, groups)
        if ref:
            record["need_reference_shares"] = ref
        hashes = {k: (v or {}).get("sha256") if isinstance(v, dict) else
                  [x.get("sha256") for x in v] if isinstance(v, list) else v
                  for k, v in inputs.record["inputs"].items()}  # fmt: skip
    else:
        net_path = None
        regions_net = regions
        res, owner = None, None
        all_sites = gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
        categories = list(osm_categories or [])
        files = [sites, presets, *population]
        hashes = {str(f): file_record(f)["sha256"] for f in files if f}  # type: ignore[index]
        record = {"inputs": {"networks": str(networks), "population": [file_record(p) for p in
                  population], "sites": file_record(sites), "presets": file_record(presets)},
                  "command": command}  # fmt: skip
        work = out / ".work" / "areas"
        work.mkdir(parents=True, exist_ok=True)
    lang = lang or default_lang(record, str(regions_net.crs) if networks is None else
                                str(regions.crs))  # fmt: skip
    record["lang"] = lang
    if areas_attribution is None:
        areas_attribution = ATTRIBUTION_BKG if area_id.upper() in OFFICIAL_KEYS else ""
    record["attribution"] = [*record.get("attribution", attributions(None)),
                             *([areas_attribution] if areas_attribution else [])]  # fmt: skip
    base = {"version": B.RESULT_VERSION, "inputs": hashes, "params": walk,
            "areas_file_columns": [area_id, area_name], "categories": categories}  # fmt: skip
    for i, r in enumerate(regions_net.itertuples()):
        geometry = r.geometry.wkb_hex if r.geometry is not None else None
        folder = out / "areas" / folder_of[r.area_id]
        problem, load, extract, size = r.problem, {}, str(net_path), 0
        if networks is None:
            mine = res.iloc[(owner == i).nonzero()[0]]
            size = int(sizes[i])
        else:
            mine = gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
            found = _extract_of(Path(networks), r.area_id)
            if found is None:
                problem = problem or (f"no extract file {r.area_id}.osm.pbf (or .osm, .osm.gz, "
                                      f".osm.bz2) in {networks}")  # fmt: skip
                extract = ""
            else:
                extract, size = str(found), found.stat().st_size
                geometry = {"geometry": geometry, "extract": file_record(found)["sha256"]}  # type: ignore[index]
            poly = work / f"{folder.name}.geojson"
            if not problem:
                regions.iloc[[i]][["area_id", "geometry"]].to_crs("EPSG:4326").to_file(poly)
            load = {"area": str(poly), "population": [str(p) for p in population],
                    "sites": sites, "sites_crs": sites_crs, "osm_categories": osm_categories,
                    "presets": presets, "use_cache": use_cache}  # fmt: skip
        key = B.task_key({**base, "id": r.area_id, "name": r.area_name, "geometry": geometry,
                          "per_area_outputs": per_area_outputs and lang})  # fmt: skip
        if resume:
            old = _load_stored(folder / "area.json", key)
            if old is not None:
                stored.append(old)
                continue
        tasks.append(B.AreaTask(
            r.area_id, r.area_name, r.geometry, problem, mine, extract, params, categories, key,
            size, str(folder) if per_area_outputs else None, record, load,
        ))  # fmt: skip

    def keep(result: Any) -> None:
        folder = out / "areas" / folder_of[result.area_id]
        folder.mkdir(parents=True, exist_ok=True)
        write_text(result.to_json_text() + "\n", folder / "area.json")

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("areas"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                   disable=not progress)  # fmt: skip
    job = bar.add_task("", total=len(tasks))

    def show(done: int, running: int, failed: int, total: int) -> None:
        bar.update(job, completed=done + failed,
                   description=f"done {done} · running {running} · failed {failed}")  # fmt: skip

    if stored:
        console.print(f"resume: {len(stored)} area(s) unchanged since the last run, "
                      f"{len(tasks)} to compute")  # fmt: skip
    t0, c0 = time.perf_counter(), time.process_time()
    with bar:
        results, failures, engine = B.run_tasks(
            tasks, all_sites, workers=workers, scheduler=scheduler,
            write_area=write_area if per_area_outputs else None, on_result=keep, on_progress=show,
            load_area=None if networks is None else load_extract_area,
        )  # fmt: skip
    timings["areas"] = time.perf_counter() - t0
    cpu["areas"] = time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    everything = stored + results
    cats = B.result_categories(everything, categories)
    table = B.areas_table(everything, regions)
    wide = B.wide_table(table)
    region = B.region_summary(everything, cats, params.minutes)
    fail = pd.DataFrame(
        [(f.area_id, f.area_name, f.error, f.traceback) for f in failures],
        columns=["area_id", "area_name", "error", "traceback"],
    )
    paths: dict[str, Path] = {}
    prio = _region_priority(res, everything, record, params.minutes) if networks is None else None
    if prio is not None:  # per area: need-weighted person-minutes beyond the threshold
        cells, per_area = prio
        table["priority_total"] = table["area_id"].map(per_area["priority_total"])
        wide["priority_total"] = per_area["priority_total"].reindex(wide.index)
        paths["priority"] = write_csv(cells, out / "priority.csv")
    paths["failures"] = write_csv(fail, out / "failures.csv")
    paths["summary"] = write_csv(region, out / "summary.csv")
    if res is None:  # --networks: each area's residents are those inside it, nobody else
        res = gpd.GeoDataFrame({"pid": [], "population": []}, geometry=[], crs="EPSG:4326")
        owner = np.zeros(0, dtype=np.int64)
    assert owner is not None
    outside = res.iloc[(owner < 0).nonzero()[0]]
    pts = gpd.GeoSeries(outside.geometry.representative_point(), crs=res.crs).to_crs("EPSG:4326")
    paths["outside"] = write_csv(
        pd.DataFrame({"pid": outside["pid"].astype(str).to_numpy(),
                      "population": outside["population"].to_numpy(float),
                      "lon": pts.x.round(6).to_numpy(), "lat": pts.y.round(6).to_numpy()}),
        out / "outside_areas.csv",
    )  # fmt: skip
    rej = [] if networks else [inputs.rejects.frame().assign(area_id="")]
    rej += [r.rejects.assign(area_id=r.area_id) for r in everything if len(r.rejects)]
    rej_all = pd.concat(rej, ignore_index=True) if rej else pd.DataFrame(
        columns=["file", "row", "reason", "value", "area_id"])  # fmt: skip
    paths["rejects"] = write_csv(rej_all, out / "rejects.csv")
    main_minutes = params.minutes[-1] if main_minutes is None else float(main_minutes)
    if main_minutes not in params.minutes:
        raise InputError(f"--main-minutes {main_minutes:g} is not one of --minutes "
                         f"{', '.join(f'{m:g}' for m in params.minutes)}")  # fmt: skip
    parameters = {
        "minutes": list(params.minutes),
        "speed_kmh": params.speed_kmh,
        "max_access_m": params.max_access_m,
        "min_component": params.min_component,
    }
    if networks is None:
        record["network"] = {"nodes": net.n_nodes, "edges": net.n_edges,
                             "length_km": round(float(net.length.sum()) / 1000, 3)}  # fmt: skip
    else:  # the areas' own extracts: their networks added up
        record["network"] = {"source": str(networks), "length_km": None, **{
            k: sum(int(r.stats.get(k, 0)) for r in everything) for k in ("nodes", "edges")}}  # fmt: skip
    record["parameters"] = parameters
    record["batch"] = {"region": region_name(areas), "networks": networks,
                       "buffer_m": B.area_buffer_m(params) if not networks else None}  # fmt: skip
    paths.update(write_regional(
        out, regions, table, wide, region, fail, record, minutes=main_minutes, category=category,
        outside=float(outside["population"].sum()), lang=lang, title=title, rejects=rej_all,
    ))  # fmt: skip
    timings["outputs"] = time.perf_counter() - t0
    cpu["outputs"] = time.process_time() - c0
    timings["total"] = time.perf_counter() - t_start
    cpu["total"] = time.process_time() - c_start
    stats = {r.area_id: r.stats for r in results}
    pop_all = res["population"].to_numpy(float)
    if networks:  # the residents are known per area only
        pop_all = np.array([r.stats["residents"] + r.stats.get("residents_rejected", 0.0)
                            for r in everything])  # fmt: skip
        owner = np.arange(len(pop_all))
        regions_done = pd.Series([r.area_id for r in everything])
    else:
        regions_done = regions["area_id"]
    done_ids = {r.area_id for r in everything}
    ok_area = (owner >= 0) & regions_done.isin(done_ids).to_numpy()[owner.clip(0)]
    record.update({
        "batch": {
            "region": region_name(areas), "title": title,
            "areas_file": areas, "area_id": area_id, "area_name": area_name,
            "areas": len(regions), "computed": [r.area_id for r in results],
            "resumed": [r.area_id for r in stored], "failed": [f.area_id for f in failures],
            "engine": engine, "main_minutes": main_minutes, "main_category": category,
            "network_file": str(net_path) if net_path else None, "networks": networks,
            "buffer_m": B.area_buffer_m(params) if not networks else None,
            "per_area": stats,
            "peak_mb_per_worker": _peak_per_worker(stats),
        },
        "residents": {
            "total": float(pop_all.sum()),
            "in_areas_with_results": float(pop_all[ok_area].sum()),
            "rejected_in_areas": float(sum(r.stats.get("residents_rejected", 0.0)
                                           for r in everything)),
            "in_failed_areas": float(pop_all[(owner >= 0) & ~ok_area].sum()),
            "outside_all_areas": float(pop_all[owner < 0].sum()),
        },
        "parameters": parameters,
        "timings_s": {**record.get("timings_s", {}), **timings},
        # CPU seconds of this (driver) process per phase; the tasks' CPU is in batch.per_area
        "cpu_s": cpu,
    })  # fmt: skip
    paths["run"] = write_json(record, out / "run.json")
    return {"paths": paths, "results": results, "failures": failures,
            "skipped": [r.area_id for r in stored], "record": record, "summary": region}  # fmt: skip


def _peak_per_worker(stats: dict) -> dict:
    peaks: dict = {}
    for s in stats.values():
        peaks[str(s["pid"])] = max(peaks.get(str(s["pid"]), 0.0), s["peak_mb"])
    return peaks


@click.command()
@click.option(
    "--areas",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Areas file (GeoPackage, GeoJSON, shapefile): one polygon per area.",
)
@click.option("--area-id", required=True, help="Unique key column of --areas (e.g. ARS).")
@click.option(
    "--area-name", help="Name column of --areas; areas without a name are labelled by their key."
)
@click.option(
    "--networks",
    type=click.Path(exists=True, file_okay=False),
    help="Instead of --network: a folder with one extract per area, named by its key "
    "(<area-id>.osm.pbf, .osm, .osm.gz or .osm.bz2), each already cut with a walking buffer.",
)
@click.option(
    "--network",
    type=click.Path(exists=True, dir_okay=False),
    help="The region's OSM extract (.osm.pbf, .osm, .osm.gz); parsed once into the cache.",
)
@click.option(
    "--population",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Residents, as for analyze (Zensus 100 m or 1 km grid CSV; 1 km cells are "
    "spread along residential streets).",
)
@click.option(
    "--sites",
    type=click.Path(exists=True, dir_okay=False),
    help="Docking points: CSV name,category,lat,lon (or x,y with --sites-crs), GeoJSON or GeoPackage.",
)
@click.option("--sites-crs", help="CRS of x,y columns in --sites.")
@click.option("--osm-categories", callback=csv_list, help="OSM preset categories to use as well.")
@click.option(
    "--presets", type=click.Path(exists=True, dir_okay=False), help="YAML file of category presets."
)
@walk_options
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(min=0),
    help="Worker processes of the local Dask cluster (0: in this process, one area after the other).",
)
@click.option(
    "--scheduler",
    help="Address of an existing Dask scheduler, e.g. tcp://scheduler:8786 "
    "(its workers must read the network cache path).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Skip areas whose results exist in --out and whose "
    "inputs (hashes) and parameters are unchanged.",
)
@click.option(
    "--per-area-outputs",
    is_flag=True,
    help="Also write the full analyze folder of each area into --out/areas/<id>/.",
)
@click.option(
    "--category",
    default="all",
    show_default=True,
    help="Category of the regional map and ranking (its share within --main-minutes).",
)
@click.option(
    "--main-minutes",
    type=float,
    help="Threshold (one of --minutes) of the regional map and ranking (default: the largest).",
)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option(
    "--lang",
    type=click.Choice(["de", "en"]),
    help="Language of the regional map, report and tables.xlsx legend, and of --per-area-outputs "
    "(default: German for German data, else English, as analyze).",
)
@click.option(
    "--title",
    default="",
    help="Title of the regional map and report (default: one naming the region after the "
    "--areas file, e.g. 'Gemeinden Rhein-Neckar').",
)
@click.option(
    "--areas-attribution",
    help="Copyright line of the --areas polygons on map and report (default: "
    "'© GeoBasis-DE / BKG (VG250), dl-de/by-2-0' when --area-id is an official German key "
    "such as ARS or AGS, else none; '' for none).",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Parse the network again (the copy for the workers goes to --out/.work).",
)
@friendly
def batch(**kw: Any) -> None:
    """Every area of a region in one run, one Dask task per area (largest first).

    Each area is analysed on the network clipped to the area plus a walking buffer
    (largest --minutes × --speed plus --max-access, metres), with the residents it
    contains (each resident in exactly one area; the others go to outside_areas.csv)
    and every docking point in the buffer. Writes areas.csv (area_id, area_name, then
    the summary.csv columns per area), areas.gpkg, tables.xlsx, summary.csv (the region),
    map.html and report.html (in --lang, titled after the region, the map inlined so the
    report works alone), run.json, failures.csv, rejects.csv and outside_areas.csv into --out.
    An area that fails is retried once, then listed in failures.csv; the exit code is
    3 when some areas failed.

    \b
    Examples:
      accessibility batch --areas gemeinden_rhein-neckar.gpkg --area-id ARS --area-name name \\
          --network rnv-2016-12.osm.pbf --population zensus2011_1km_rhein-neckar.csv \\
          --sites examples/rhein-neckar_sites.csv --minutes 5,10,15 --workers 2 \\
          --out outputs/rhein-neckar
      # the same on an existing cluster (dask scheduler / dask worker):
      accessibility batch ... --scheduler tcp://scheduler:8786
      # continue a run that was killed:
      accessibility batch ... --resume
      # map and report in English, with a title of your own:
      accessibility batch ... --lang en --title "Rhein-Neckar: libraries within 15 min"
      # one extract per area (extracts/<ARS>.osm.pbf), map of the 10-minute share:
      accessibility batch --areas gemeinden.gpkg --area-id ARS --networks extracts/ \\
          --population zensus.csv --sites sites.csv --main-minutes 10 --out outputs/land
    """
    from ..errors import InputError

    if (kw["network"] is None) == (kw["networks"] is None):
        raise InputError("give the region's extract (--network FILE) or one extract per area "
                         "(--networks DIR), not both")  # fmt: skip
    if kw["workers"] == 0 and kw["scheduler"]:
        raise InputError("give either --scheduler ADDRESS or --workers N, not --workers 0 with it")
    params = walk_params(kw)
    t0 = time.perf_counter()
    r = run_batch(
        areas=kw["areas"], area_id=kw["area_id"], area_name=kw["area_name"], out=Path(kw["out"]),
        params=params, network=kw["network"], networks=kw["networks"], population=kw["population"], sites=kw["sites"],
        sites_crs=kw["sites_crs"], osm_categories=kw["osm_categories"], presets=kw["presets"],
        workers=kw["workers"], scheduler=kw["scheduler"], resume=kw["resume"],
        per_area_outputs=kw["per_area_outputs"], category=kw["category"],
        main_minutes=kw["main_minutes"], lang=kw["lang"], title=kw["title"],
        areas_attribution=kw["areas_attribution"],
        use_cache=not kw["no_cache"], command=" ".join(sys.argv),
    )  # fmt: skip
    n_ok, n_fail = len(r["results"]) + len(r["skipped"]), len(r["failures"])
    console.print(f"{n_ok} area(s) done ({len(r['skipped'])} resumed), {n_fail} failed, "
                  f"{time.perf_counter() - t0:.1f} s → {kw['out']}")  # fmt: skip
    for f in r["failures"]:
        console.print(f"[red]failed[/] {f.area_id} ({f.area_name}): {f.error}", markup=True)
    if n_fail:
        console.print(f"[yellow]{n_fail} area(s) failed: see {r['paths']['failures']}[/]")
        sys.exit(EXIT_SOME_FAILED)

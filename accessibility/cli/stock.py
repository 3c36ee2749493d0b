"""CLI commands for the housing stock check (accessibility stock)."""

from __future__ import annotations

# The library is imported inside the commands (lazily) so that `accessibility --help` and
# option errors stay fast: importing it loads geopandas, shapely, pyproj, osmium and folium.
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from .options import (
    area_options,
    console,
    csv_list,
    final_paths,
    friendly,
    geocoder_option,
    no_wait_option,
    online_options,
    print_rejects,
    servers_from,
    staged,
    walk_options,
)


@click.command()
@area_options
@online_options
@click.option(
    "--stock",
    "stock",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Buildings: CSV/XLSX with building_id, street,housenumber,postcode,city (or address, or lat,lon), optional units/residents and estate; or GeoPackage/GeoJSON footprints.",
)
@click.option("--stock-crs", help="CRS of x,y columns in --stock, e.g. EPSG:25832.")
@click.option(
    "--sites",
    type=click.Path(exists=True, dir_okay=False),
    help="Your docking points: CSV name,category with lat,lon or an address; GeoJSON or GeoPackage.",
)
@click.option("--sites-crs", help="CRS of x,y columns in --sites.")
@click.option(
    "--osm-categories",
    callback=csv_list,
    help="OSM preset categories to use too (default: all presets when --sites is not given).",
)
@click.option(
    "--presets",
    type=click.Path(exists=True, dir_okay=False),
    help="YAML file overriding/adding category presets.",
)
@geocoder_option
@walk_options
@click.option(
    "--no-cache", is_flag=True, help="Parse the network again instead of using the cache."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Output folder (default outputs/stock-<stock file name>/).",
)
@no_wait_option
@friendly
def stock(out: Any, minutes: list[float], speed: float, max_access: float, no_cache: bool, no_wait: bool, **kw: Any) -> None:  # fmt: skip
    """Housing stock check: walking minutes from each building to the nearest docking point.

    Addresses are matched offline against the OSM extract's addresses (spelling
    variants such as Str./strasse, ss for ß, ae for ä, 12 A for 12a are understood);
    addresses not found go to rejects.csv with the reason, the closest known streets and
    the row's building_id. An address whose postcode differs from OSM's is located but
    flagged (geocode_quality postcode_mismatch, both postcodes in geocode_note); one
    found by its street only (no or unmapped house number) is rejected unless
    --accept street.

    Writes stock.csv/.xlsx/.gpkg (one row per building: geocode_quality,
    matched_address, geocode_note, nearest docking point per category with metres and
    minutes_<category>, minutes_all, covered_<m>min, detour_ratio and detour_flag),
    stock_summary.csv (per estate and in total, buildings and units covered per
    threshold, uncovered building ids first), sites.gpkg, rejects.csv and run.json into
    --out (layers in the run's metric CRS, e.g. EPSG:25832).

    \b
    Examples:
      accessibility stock --stock bestand.csv --network kaiserslautern.osm.gz \\
          --sites andockstellen.csv --minutes 5,10 --out outputs/bestand
      # addresses the OSM extract lacks are looked up online (cached):
      accessibility stock --stock bestand.xlsx --network city.osm.pbf \\
          --geocoder nominatim --user-agent "wohnbau-kl (it@example.org)"
      # also place addresses known only by their street (can be far off):
      accessibility stock --stock bestand.csv --network city.osm.pbf --accept street

    \f
    Parameters
    ----------
    **options
        The command-line options, documented by ``accessibility stock --help``
        (each option's help states its unit).
    """
    from .._io import check_output_folder
    from ..outputs.files import write_stock
    from ..pipeline import run_stock, write_stock_map

    t0 = time.perf_counter()
    out = Path(out) if out else Path("outputs") / f"stock-{Path(kw['stock']).stem}"
    check_output_folder(out)
    with console.status("checking the housing stock…"):
        check, record = run_stock(
            minutes=minutes, speed_kmh=speed, max_access_m=max_access, use_cache=not no_cache,
            stock_crs=kw.pop("stock_crs"), servers=servers_from(kw), **kw,
        )  # fmt: skip
    record["command"] = " ".join(sys.argv)
    with staged(out, no_wait) as tmp:
        paths = write_stock(check, tmp, record)
        with console.status("drawing the stock map…"):
            paths["map"] = write_stock_map(check, tmp, record)
        paths = final_paths(paths, tmp, out)
    _print_stock(check, paths, time.perf_counter() - t0)


def _print_stock(check: Any, paths: dict, seconds: float) -> None:
    s = check.summary
    tot = s[(s["estate"] == s["estate"].iloc[0]) & (s["category"] == "all")]
    t = Table(title="Buildings with a docking point within walking minutes")
    t.add_column("")
    for m in tot["minutes"]:
        t.add_column(f"≤ {m:g} min", justify="right")
    t.add_row(
        "buildings",
        *[f"{r.buildings_covered:,} of {r.buildings:,}" for r in tot.itertuples()],
    )
    t.add_row("units", *[f"{r.units_covered:,.0f} of {r.units:,.0f}" for r in tot.itertuples()])
    console.print(t)
    b = check.buildings
    q = b["geocode_quality"].value_counts()
    console.print("placed by: " + ", ".join(f"{k} {v:,}" for k, v in q.items()))
    flagged = int(b["detour_flag"].sum())
    if flagged:
        console.print(
            f"[yellow]{flagged:,} buildings walk more than twice the straight line to their "
            "nearest docking point (detour_flag): a barrier or a gap in the OSM paths.[/]"
        )
    print_rejects(check.rejects, paths["rejects"])
    console.print(f"Outputs in {paths['stock'].parent}  ({seconds:.1f} s)")
    if "map" in paths:
        console.print(f"Map (buildings by walking minutes): {paths['map']}")

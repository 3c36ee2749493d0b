"""German and English labels of maps and reports, and the language choice.

One table per output part (``report``, ``map``, ``planning_maps``, ``scenario_report``):
their texts differ on shared keys, so they are kept apart; :func:`labels` returns one
part's labels in a language (English when the language is unknown).
"""

from __future__ import annotations

#: Supported languages of maps and reports.
LANGS = ("de", "en")

_REPORT = {
    "en": {
        "title": "Walking access to docking points", "headline": "Headline figures",
        "residents": "Residents", "sites": "Docking points", "within": "within {m:g} min",
        "by_cat": "Residents within walking minutes, per category",
        "curve": "Share of residents within x walking minutes of the nearest docking point",
        "x": "walking minutes (door to door)", "y": "share of residents",
        "districts": "Districts (all categories)", "groups": "Population groups (all categories)",
        "district_chart": "Share of residents within {m:g} min, per district",
        "map": "Map", "open_map": "Open the interactive map (map.html)", "method": "Method",
        "data": "Data and attribution", "category": "category", "threshold": "minutes",
        "no_site": "no docking point of this category",
        "population": "residents", "covered": "covered", "share": "share", "median": "median minutes",
        "district": "district", "group": "group", "rejects": "Rejected input rows",
        "reason": "reason", "rows": "rows", "file": "file", "none": "none",
        "all": "all categories",
        "method_text": (
            "Distances are door to door on the OpenStreetMap walking network (osmnx walk filter): "
            "each resident point and each docking point is snapped to the nearest walkable edge "
            "(straight access leg, at most {access:g} m), plus the shortest network path between "
            "the snap points (exact Dijkstra). Walking time = distance / {speed:g} km/h "
            "({mpm:.0f} m per minute). Isochrones are the reached network (including the reached "
            "parts of partly reached edges) buffered by a {corr:g} m walking corridor."
        ),
        "population_text": "Residents: {method}", "network_text": "Network: {src} ({nodes:,} nodes, {edges:,} edges, {km:,.1f} km).",
        "short_title": "Docking points – {name}", "vintage": "Data as of: {parts}.",
        "osm_as_of": "OpenStreetMap {ts} ({source})", "osm_unknown": "OpenStreetMap unknown (the file carries no timestamps)",
        "file header": "file header", "newest edit in the file": "newest edit in the file",
        "Overpass database": "Overpass database",
        "zensus_as_of": "Zensus {ed} (reference date {date})", "zensus_unknown": "Zensus edition unknown",
    },
    "de": {
        "title": "Fußläufige Erreichbarkeit von Andockstellen", "headline": "Kennzahlen",
        "residents": "Einwohner", "sites": "Andockstellen", "within": "innerhalb {m:g} min",
        "by_cat": "Einwohner innerhalb von Gehminuten, je Kategorie",
        "curve": "Anteil der Einwohner, die die nächste Andockstelle in x Gehminuten erreichen",
        "x": "Gehminuten (Tür zu Tür)", "y": "Anteil der Einwohner",
        "districts": "Stadtteile (alle Kategorien)", "groups": "Bevölkerungsgruppen (alle Kategorien)",
        "district_chart": "Anteil der Einwohner innerhalb {m:g} min je Stadtteil",
        "map": "Karte", "open_map": "Interaktive Karte öffnen (map.html)", "method": "Methode",
        "data": "Daten und Quellen", "category": "Kategorie", "threshold": "Minuten",
        "no_site": "keine Andockstelle dieser Kategorie",
        "population": "Einwohner", "covered": "versorgt", "share": "Anteil", "median": "Median Minuten",
        "district": "Stadtteil", "group": "Gruppe", "rejects": "Verworfene Eingabezeilen",
        "reason": "Grund", "rows": "Zeilen", "file": "Datei", "none": "keine",
        "all": "alle Kategorien",
        "method_text": (
            "Entfernungen von Tür zu Tür auf dem OpenStreetMap-Fußwegenetz (osmnx-Filter „walk“): "
            "jeder Wohn- und jeder Standortpunkt wird auf die nächste begehbare Kante projiziert "
            "(gerader Zugangsweg, höchstens {access:g} m), dazu der kürzeste Netzweg zwischen den "
            "Projektionspunkten (exakter Dijkstra). Gehzeit = Entfernung / {speed:g} km/h "
            "({mpm:.0f} m pro Minute). Isochronen sind das erreichte Netz (einschließlich erreichter "
            "Teilstücke von Kanten), gepuffert um einen Gehkorridor von {corr:g} m."
        ),
        "population_text": "Einwohner: {method}", "network_text": "Netz: {src} ({nodes:,} Knoten, {edges:,} Kanten, {km:,.1f} km).",
        "short_title": "Andockstellen – {name}", "vintage": "Datenstand: {parts}.",
        "osm_as_of": "OpenStreetMap {ts} ({source})", "osm_unknown": "OpenStreetMap unbekannt (die Datei enthält keine Zeitstempel)",
        "file header": "Dateikopf", "newest edit in the file": "jüngste Bearbeitung in der Datei",
        "Overpass database": "Datenstand der Overpass-Datenbank",
        "zensus_as_of": "Zensus {ed} (Stichtag {date})", "zensus_unknown": "Zensus-Ausgabe unbekannt",
    },
}  # fmt: skip

_MAP = {
    "en": {
        "sites": "Docking points: {c} ({n})", "iso": "Walking isochrones: {c}",
        "residents": "Residents by walking minutes", "gaps": "Gaps: residents beyond {m:g} min",
        "districts": "Districts: share within {m:g} min", "name": "Name", "category": "Category",
        "source": "Source", "minutes": "Walking minutes", "population": "Residents",
        "nearest": "Nearest docking point", "district": "District", "share": "Share ≤ {m:g} min",
        "near_within": "Residents for whom this is the nearest point, ≤ {m:g} min",
        "access": "Access leg (m)", "band": "≤ {m:g} min walk", "legend": "Walking minutes to the nearest docking point",
        "unreached": "more than {m:g} min or unreachable", "newly": "Scenario: newly covered residents",
        "lost": "Scenario: residents losing coverage", "ssites": "Scenario: sites ({c})",
        "change": "Change", "before": "Minutes before", "after": "Minutes after", "fullscreen": "Full screen",
        "unreachable": "unreachable", "light": "Light grey (Esri)",
        "area": "Study area (residents counted inside)",
        "islands": "Network islands (pruned: nothing snaps here)",
    },
    "de": {
        "sites": "Andockstellen: {c} ({n})", "iso": "Fußweg-Isochronen: {c}",
        "residents": "Bewohner nach Gehminuten", "gaps": "Lücken: Bewohner über {m:g} min",
        "districts": "Stadtteile: Anteil ≤ {m:g} min", "name": "Name", "category": "Kategorie",
        "source": "Quelle", "minutes": "Gehminuten", "population": "Einwohner",
        "nearest": "Nächste Andockstelle", "district": "Stadtteil", "share": "Anteil ≤ {m:g} min",
        "near_within": "Einwohner mit dieser nächsten Stelle, ≤ {m:g} min",
        "access": "Zugangsweg (m)", "band": "≤ {m:g} min Fußweg", "legend": "Gehminuten zur nächsten Andockstelle",
        "unreached": "mehr als {m:g} min oder nicht erreichbar", "newly": "Szenario: neu versorgte Bewohner",
        "lost": "Szenario: Bewohner mit Verlust", "ssites": "Szenario: Standorte ({c})",
        "change": "Änderung", "before": "Minuten vorher", "after": "Minuten nachher", "fullscreen": "Vollbild",
        "unreachable": "nicht erreichbar", "light": "Hellgrau (Esri)",
        "area": "Untersuchungsgebiet (gezählte Einwohner)",
        "islands": "Netz-Inseln (ausgeschlossen: hier wird nicht angebunden)",
    },
}  # fmt: skip

_PLANNING_MAPS = {
    "en": {
        "light": "Light grey (Esri)", "fullscreen": "Full screen", "name": "Name", "category": "Category",
        "rank_title": "Best {k} of {n} candidates ({m:g} min)",
        "pick_layer": "#{j} {name}: {gain:,.0f} newly covered", "already": "Covered by existing sites",
        "still": "Not covered within {m:g} min", "existing": "Existing docking points",
        "others": "Other candidates", "picks": "Chosen candidates (greedy order)",
        "rank": "Rank", "gain": "Newly covered", "cumulative": "Covered with #1…#{j}",
        "reach": "Residents within {m:g} min", "visibility": "Visibility (0–1)",
        "res_text": "{p:,.0f} residents", "cand_text": "{name}: {reach:,.0f} residents within {m:g} min",
        "critical_title": "Who loses coverage if a site closes ({m:g} min)",
        "only_one": "Covered by one site only (≤ {m:g} min)", "only_text": "{p:,.0f} residents, only by {name}",
        "two_plus": "Covered by 2+ sites (≤ {m:g} min)", "two_text": "{p:,.0f} residents, by {n} sites",
        "critical": "Sites by loss if closed (1 = largest)", "loss": "Residents losing coverage (≤ {m:g} min)",
    },
    "de": {
        "light": "Hellgrau (Esri)", "fullscreen": "Vollbild", "name": "Name", "category": "Kategorie",
        "rank_title": "Die besten {k} von {n} Kandidaten ({m:g} min)",
        "pick_layer": "#{j} {name}: {gain:,.0f} neu versorgt", "already": "Durch bestehende Stellen versorgt",
        "still": "Nicht versorgt innerhalb {m:g} min", "existing": "Bestehende Andockstellen",
        "others": "Weitere Kandidaten", "picks": "Gewählte Kandidaten (Reihenfolge des Greedy-Verfahrens)",
        "rank": "Rang", "gain": "Neu versorgt", "cumulative": "Versorgt mit #1…#{j}",
        "reach": "Einwohner innerhalb {m:g} min", "visibility": "Sichtbarkeit (0–1)",
        "res_text": "{p:,.0f} Einwohner", "cand_text": "{name}: {reach:,.0f} Einwohner innerhalb {m:g} min",
        "critical_title": "Wer die Versorgung verliert, wenn eine Stelle schließt ({m:g} min)",
        "only_one": "Nur von einer Stelle versorgt (≤ {m:g} min)", "only_text": "{p:,.0f} Einwohner, nur von {name}",
        "two_plus": "Von 2+ Stellen versorgt (≤ {m:g} min)", "two_text": "{p:,.0f} Einwohner, von {n} Stellen",
        "critical": "Stellen nach Verlust bei Schließung (1 = größter)", "loss": "Einwohner mit Verlust (≤ {m:g} min)",
    },
}  # fmt: skip

_SCENARIO_REPORT = {
    "en": {
        "title": "{name}: before and after", "headline": "What the changes bring",
        "kpi": "residents within {m:g} min", "by_cat": "Residents covered before and after, per category",
        "districts": "Districts (all categories)", "groups": "Population groups (all categories)",
        "curve": "Share of residents within x walking minutes, before (dashed) and after (solid)",
        "x": "walking minutes (door to door)", "y": "share of residents",
        "sites": "Changed docking points", "no_sites": "none", "map": "Map",
        "open_map": "Open the before/after map (map.html)", "plain": "plain map (scenario_map.html)",
        "after_report": "full report of the state after the changes (after/report.html)",
        "category": "category", "minutes": "minutes", "population": "residents",
        "before": "before", "after": "after", "gain": "change", "district": "district",
        "group": "group", "change": "change", "id": "id", "name": "name",
        "added": "added", "removed": "closed", "moved": "moved", "recategorised": "recategorised",
    },
    "de": {
        "title": "{name}: vorher und nachher", "headline": "Was die Änderungen bringen",
        "kpi": "Einwohner innerhalb {m:g} min", "by_cat": "Versorgte Einwohner vorher und nachher, je Kategorie",
        "districts": "Stadtteile (alle Kategorien)", "groups": "Bevölkerungsgruppen (alle Kategorien)",
        "curve": "Anteil der Einwohner innerhalb x Gehminuten, vorher (gestrichelt) und nachher",
        "x": "Gehminuten (Tür zu Tür)", "y": "Anteil der Einwohner",
        "sites": "Geänderte Andockstellen", "no_sites": "keine", "map": "Karte",
        "open_map": "Vorher-nachher-Karte öffnen (map.html)", "plain": "einfache Karte (scenario_map.html)",
        "after_report": "vollständiger Bericht des Zustands nach den Änderungen (after/report.html)",
        "category": "Kategorie", "minutes": "Minuten", "population": "Einwohner",
        "before": "vorher", "after": "nachher", "gain": "Veränderung", "district": "Stadtteil",
        "group": "Gruppe", "change": "Änderung", "id": "Kennung", "name": "Name",
        "added": "neu", "removed": "geschlossen", "moved": "verlegt", "recategorised": "umkategorisiert",
    },
}  # fmt: skip

# Priority areas (issue 15): the map layer and the report section.
_PRIORITY = {
    "en": {
        "layer": "Priority areas", "title": "Where arrival neighbourhoods lack a docking point",
        "area": "area", "district": "district", "rank": "rank", "residents": "residents",
        "beyond": "residents beyond {m:g} min", "need": "need index", "minutes": "walking minutes",
        "priority": "priority (need × min)", "priority_total": "priority × residents",
        "unreachable": "none reachable", "top_cells": "The 10 resident cells of highest priority",
        "top_districts": "Districts by priority",
        "text": (
            "Priority = need index × walking minutes to the nearest docking point ({cat}) beyond "
            "{m:g} min (at most {cap:g} min; residents who reach none count {cap:g} min). The need "
            "index is 1 for the study area's average: each indicator's share in a cell divided by "
            "its share in the whole area, weighted ({ind}); cells with few residents are pulled "
            "towards the average (prior of {prior:g} residents). Areas are ranked by priority × "
            "residents. The 10 cells shown hold {top:,.0f} residents; {beyond:,.0f} residents in "
            "all live beyond {m:g} min."
        ),
    },
    "de": {
        "layer": "Prioritätsgebiete", "title": "Wo Ankunftsquartieren eine Andockstelle fehlt",
        "area": "Gebiet", "district": "Stadtteil", "rank": "Rang", "residents": "Einwohner",
        "beyond": "Einwohner jenseits {m:g} min", "need": "Bedarfsindex", "minutes": "Gehminuten",
        "priority": "Priorität (Bedarf × min)", "priority_total": "Priorität × Einwohner",
        "unreachable": "keine erreichbar", "top_cells": "Die 10 Wohnzellen mit der höchsten Priorität",
        "top_districts": "Stadtteile nach Priorität",
        "text": (
            "Priorität = Bedarfsindex × Gehminuten zur nächsten Andockstelle ({cat}) über "
            "{m:g} min hinaus (höchstens {cap:g} min; wer keine erreicht, zählt {cap:g} min). Der "
            "Bedarfsindex ist 1 für den Durchschnitt des Untersuchungsgebiets: der Anteil jedes "
            "Indikators in einer Zelle geteilt durch seinen Anteil im ganzen Gebiet, gewichtet "
            "({ind}); Zellen mit wenigen Einwohnern werden zum Durchschnitt hin gezogen "
            "(Vorgabe von {prior:g} Einwohnern). Gebiete sind nach Priorität × Einwohner "
            "geordnet. In den 10 gezeigten Zellen leben {top:,.0f} Einwohner; insgesamt leben "
            "{beyond:,.0f} Einwohner jenseits von {m:g} min."
        ),
    },
}  # fmt: skip

# `accessibility change` (issue 15): the change map and report.
_CHANGE = {
    "en": {
        "title": "Change between two runs", "before": "before", "after": "after",
        "change": "change", "better": "Better: covered now, not before",
        "worse": "Worse: covered before, not now", "unchanged": "Unchanged",
        "sites_closed": "Docking points closed", "sites_added": "Docking points added",
        "minutes_before": "minutes before", "minutes_after": "minutes after",
        "residents": "residents", "by_cat": "Residents covered, per category and threshold",
        "districts": "Per district (all categories)", "groups": "Per population group (all categories)",
        "cause": "Cause of the change",
        "cause_text": (
            "sites = the new docking points on the old population minus the old result; "
            "population = the rest (new population on the new sites minus old population on "
            "the new sites)."
        ),
        "warnings": "The two runs differ", "map": "Map of the change",
        "cells_text": "Both runs use the same grid: the change is shown per resident cell ({n:,} cells in both).",
        "district_text": "The runs do not share their resident points: the change is given per district only.",
        "from_sites": "due to sites", "from_population": "due to population",
        "category": "category", "threshold": "minutes", "district": "district", "group": "group",
    },
    "de": {
        "title": "Veränderung zwischen zwei Läufen", "before": "vorher", "after": "nachher",
        "change": "Veränderung", "better": "Besser: jetzt versorgt, vorher nicht",
        "worse": "Schlechter: vorher versorgt, jetzt nicht", "unchanged": "Unverändert",
        "sites_closed": "Geschlossene Andockstellen", "sites_added": "Neue Andockstellen",
        "minutes_before": "Minuten vorher", "minutes_after": "Minuten nachher",
        "residents": "Einwohner", "by_cat": "Versorgte Einwohner je Kategorie und Schwelle",
        "districts": "Je Stadtteil (alle Kategorien)", "groups": "Je Bevölkerungsgruppe (alle Kategorien)",
        "cause": "Ursache der Veränderung",
        "cause_text": (
            "Standorte = die neuen Andockstellen mit der alten Bevölkerung minus altes Ergebnis; "
            "Bevölkerung = der Rest (neue Bevölkerung an den neuen Standorten minus alte "
            "Bevölkerung an den neuen Standorten)."
        ),
        "warnings": "Die beiden Läufe unterscheiden sich", "map": "Karte der Veränderung",
        "cells_text": "Beide Läufe nutzen dasselbe Raster: die Veränderung ist je Wohnzelle dargestellt ({n:,} Zellen in beiden).",
        "district_text": "Die Läufe haben keine gemeinsamen Wohnpunkte: die Veränderung wird nur je Stadtteil angegeben.",
        "from_sites": "durch Standorte", "from_population": "durch Bevölkerung",
        "category": "Kategorie", "threshold": "Minuten", "district": "Stadtteil", "group": "Gruppe",
    },
}  # fmt: skip

LABELS: dict[str, dict[str, dict[str, str]]] = {
    "report": _REPORT,
    "map": _MAP,
    "planning_maps": _PLANNING_MAPS,
    "scenario_report": _SCENARIO_REPORT,
    "priority": _PRIORITY,
    "change": _CHANGE,
}


def labels(part: str, lang: str) -> dict[str, str]:
    """The labels of ``part`` (a key of :data:`LABELS`) in ``lang``; English if unknown.

    Parameters
    ----------
    part : str
        ``report``, ``map``, ``planning_maps``, ``scenario_report``, ``priority`` or
        ``change``.
    lang : str
        Language code (``en``, ``de``).

    Returns
    -------
    dict of str to str
        Label key -> text (some are format strings).
    """
    table = LABELS[part]
    return table.get(lang, table["en"])


def default_lang(record: dict, crs: str | None = None) -> str:
    """``de`` for German data (EPSG:25832 network or Zensus population), else ``en``.

    ``crs`` is the network's CRS where the record does not hold it yet
    (``parameters.crs`` is added when the outputs are written).

    Parameters
    ----------
    record : dict
        Run record (``parameters.crs``, ``population_kind``).
    crs : str, optional
        The network CRS, e.g. ``EPSG:25832``.

    Returns
    -------
    str
        ``de`` or ``en``.
    """
    crs = str(crs or record.get("parameters", {}).get("crs", ""))
    kind = str(record.get("population_kind") or "")
    return "de" if crs == "EPSG:25832" or kind.startswith("zensus") else "en"


def default_title(name: str, lang: str) -> str:
    """Title of map and report for an output folder ``name``: "Docking points – name".

    Parameters
    ----------
    name : str
        The output folder's name.
    lang : str
        Language code (``en``, ``de``).

    Returns
    -------
    str
        The title (not escaped).
    """
    return labels("report", lang)["short_title"].format(name=name)


def category_label(record: dict, category: str, lang: str) -> str:
    """A category's label in ``lang`` (the presets' ``label_de``/``label_en``), else its id.

    Parameters
    ----------
    record : dict
        Run record with ``category_labels`` (category -> language -> label).
    category : str
        Category id; ``all`` gets the translated "all" label.
    lang : str
        Language code (``en``, ``de``); falls back to the English label.

    Returns
    -------
    str
        The label (not escaped).
    """
    if category == "all":
        return labels("report", lang)["all"]
    own = (record.get("category_labels") or {}).get(category) or {}
    return own.get(lang) or own.get("en") or category


def vintage_text(record: dict, lang: str) -> str:
    """One sentence on how current the data are (``run.json``'s ``data_vintage``); "" if absent.

    Parameters
    ----------
    record : dict
        Run record; its ``data_vintage`` holds the OSM timestamp and Zensus edition.
    lang : str
        Language code (``en``, ``de``).

    Returns
    -------
    str
        The sentence (not escaped), or ``""``.
    """
    v = record.get("data_vintage")
    if not v:
        return ""
    t = labels("report", lang)
    osm = v.get("osm") or {}
    ts = str(osm.get("timestamp") or "")
    parts = [t["osm_as_of"].format(ts=ts[:10], source=t.get(osm.get("source"), osm.get("source")))  # type: ignore[arg-type]
             if ts else t["osm_unknown"]]  # fmt: skip
    z = v.get("zensus")
    if z is not None:
        ed, date = z.get("edition"), z.get("reference_date")
        parts.append(t["zensus_as_of"].format(ed=ed, date=date) if ed else t["zensus_unknown"])
    return t["vintage"].format(parts="; ".join(parts))

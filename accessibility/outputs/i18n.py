"""German and English labels of maps and reports, and the language choice.

One table per output part (``report``, ``map``, ``planning_maps``, ``scenario_report``):
their texts differ on shared keys, so they are kept apart; :func:`labels` returns one
part's labels in a language (English when the language is unknown).
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import yaml

from . import formats as fm

#: Supported languages of maps and reports.
LANGS = ("de", "en")

_REPORT = {
    "en": {
        "title": "Walking access to docking points", "headline": "Headline figures",
        "residents": "Residents", "sites": "Docking points", "within": "within {m} min",
        "by_cat": "Residents within walking minutes, per category",
        "curve": "Share of residents within x walking minutes of the nearest docking point",
        "x": "walking minutes (door to door)", "y": "share of residents",
        "districts": "Districts (all categories)", "groups": "Population groups (all categories)",
        "district_chart": "Share of residents within {m} min, per district",
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
            "(straight access leg, at most {access} m), plus the shortest network path between "
            "the snap points (exact Dijkstra). Walking time = distance / {speed} km/h "
            "({mpm} m per minute). Isochrones are the reached network (including the reached "
            "parts of partly reached edges) buffered by a {corr} m walking corridor."
        ),
        "population_text": "Residents: {method}", "network_text": "Network: {src} ({nodes} nodes, {edges} edges, {km} km).",
        "short_title": "Docking points – {name}", "vintage": "Data as of: {parts}.",
        "osm_as_of": "OpenStreetMap {ts} ({source})", "osm_unknown": "OpenStreetMap unknown (the file carries no timestamps)",
        "file header": "file header", "newest edit in the file": "newest edit in the file",
        "Overpass database": "Overpass database",
        "zensus_as_of": "Zensus {ed} (reference date {date})", "zensus_unknown": "Zensus edition unknown",
        "sites_list": "Docking points used", "name": "name", "address": "address or OSM object",
        "residents_within": "residents within {m} min", "sites_note": (
            "Residents within x minutes of each docking point (door to door, on foot); a resident "
            "near several points counts for each of them, so the rows do not add up to the totals."),
        "born_abroad": "Born abroad", "born_abroad_kpi": "born abroad ({share} of residents)",
        "born_abroad_within": "of them within {m} min",
        "map_note": "The map is part of this page and works offline (background tiles need a network); map.html beside the report is the same map in a window of its own.",
        "unnamed": "(unnamed in OSM)", "written": "Report written on {date}.",
    },
    "de": {
        "title": "Fußläufige Erreichbarkeit von Andockstellen", "headline": "Kennzahlen",
        "residents": "Einwohner", "sites": "Andockstellen", "within": "innerhalb {m} min",
        "by_cat": "Einwohner innerhalb von Gehminuten, je Kategorie",
        "curve": "Anteil der Einwohner, die die nächste Andockstelle in x Gehminuten erreichen",
        "x": "Gehminuten (Tür zu Tür)", "y": "Anteil der Einwohner",
        "districts": "Stadtteile (alle Kategorien)", "groups": "Bevölkerungsgruppen (alle Kategorien)",
        "district_chart": "Anteil der Einwohner innerhalb {m} min je Stadtteil",
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
            "(gerader Zugangsweg, höchstens {access} m), dazu der kürzeste Netzweg zwischen den "
            "Projektionspunkten (exakter Dijkstra). Gehzeit = Entfernung / {speed} km/h "
            "({mpm} m pro Minute). Isochronen sind das erreichte Netz (einschließlich erreichter "
            "Teilstücke von Kanten), gepuffert um einen Gehkorridor von {corr} m."
        ),
        "population_text": "Einwohner: {method}", "network_text": "Netz: {src} ({nodes} Knoten, {edges} Kanten, {km} km).",
        "short_title": "Andockstellen – {name}", "vintage": "Datenstand: {parts}.",
        "osm_as_of": "OpenStreetMap {ts} ({source})", "osm_unknown": "OpenStreetMap unbekannt (die Datei enthält keine Zeitstempel)",
        "file header": "Dateikopf", "newest edit in the file": "jüngste Bearbeitung in der Datei",
        "Overpass database": "Datenstand der Overpass-Datenbank",
        "zensus_as_of": "Zensus {ed} (Stichtag {date})", "zensus_unknown": "Zensus-Ausgabe unbekannt",
        "sites_list": "Verwendete Andockstellen", "name": "Name", "address": "Adresse oder OSM-Objekt",
        "residents_within": "Einwohner innerhalb {m} min", "sites_note": (
            "Einwohner innerhalb von x Gehminuten jeder Andockstelle (Tür zu Tür); wer mehrere "
            "Stellen erreicht, zählt bei jeder, daher ergeben die Zeilen zusammen nicht die Summen."),
        "born_abroad": "Im Ausland geboren", "born_abroad_kpi": "im Ausland geboren ({share} der Einwohner)",
        "born_abroad_within": "davon innerhalb {m} min",
        "map_note": "Die Karte ist Teil dieser Seite und funktioniert offline (nur die Hintergrundkacheln brauchen ein Netz); map.html neben dem Bericht ist dieselbe Karte in einem eigenen Fenster.",
        "unnamed": "(in OSM ohne Namen)", "written": "Bericht erstellt am {date}.",
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
        "change_added": "added", "change_removed": "closed", "change_moved": "moved",
        "change_recategorised": "recategorised", "tiles": "Tiles",
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
        "change_added": "neu", "change_removed": "geschlossen", "change_moved": "verlegt",
        "change_recategorised": "umkategorisiert", "tiles": "Kacheln",
    },
}  # fmt: skip

_PLANNING_MAPS = {
    "en": {
        "light": "Light grey (Esri)", "fullscreen": "Full screen", "name": "Name", "category": "Category",
        "tiles": "Tiles",
        "rank_title": "Best {k} of {n} candidates ({m:g} min)",
        "pick_layer": "#{j} {name}: {gain} newly covered", "already": "Covered by existing sites",
        "still": "Not covered within {m:g} min", "existing": "Existing docking points",
        "others": "Other candidates", "picks": "Chosen candidates (greedy order)",
        "rank": "Rank", "gain": "Newly covered", "cumulative": "Covered with #1…#{j}",
        "reach": "Residents within {m:g} min", "visibility": "Visibility (0–1)",
        "res_text": "{p} residents", "cand_text": "{name}: {reach} residents within {m:g} min",
        "critical_title": "Who loses coverage if a site closes ({m:g} min)",
        "only_one": "Covered by one site only (≤ {m:g} min)", "only_text": "{p} residents, only by {name}",
        "two_plus": "Covered by 2+ sites (≤ {m:g} min)", "two_text": "{p} residents, by {n} sites",
        "critical": "Sites by loss if closed (1 = largest)", "loss": "Residents losing coverage (≤ {m:g} min)",
    },
    "de": {
        "light": "Hellgrau (Esri)", "fullscreen": "Vollbild", "name": "Name", "category": "Kategorie",
        "tiles": "Kacheln",
        "rank_title": "Die besten {k} von {n} Kandidaten ({m:g} min)",
        "pick_layer": "#{j} {name}: {gain} neu versorgt", "already": "Durch bestehende Stellen versorgt",
        "still": "Nicht versorgt innerhalb {m:g} min", "existing": "Bestehende Andockstellen",
        "others": "Weitere Kandidaten", "picks": "Gewählte Kandidaten (Reihenfolge des Greedy-Verfahrens)",
        "rank": "Rang", "gain": "Neu versorgt", "cumulative": "Versorgt mit #1…#{j}",
        "reach": "Einwohner innerhalb {m:g} min", "visibility": "Sichtbarkeit (0–1)",
        "res_text": "{p} Einwohner", "cand_text": "{name}: {reach} Einwohner innerhalb {m:g} min",
        "critical_title": "Wer die Versorgung verliert, wenn eine Stelle schließt ({m:g} min)",
        "only_one": "Nur von einer Stelle versorgt (≤ {m:g} min)", "only_text": "{p} Einwohner, nur von {name}",
        "two_plus": "Von 2+ Stellen versorgt (≤ {m:g} min)", "two_text": "{p} Einwohner, von {n} Stellen",
        "critical": "Stellen nach Verlust bei Schließung (1 = größter)", "loss": "Einwohner mit Verlust (≤ {m:g} min)",
    },
}  # fmt: skip

_SCENARIO_REPORT = {
    "en": {
        "title": "{name}: before and after", "headline": "What the changes bring",
        "kpi": "residents within {m} min", "by_cat": "Residents covered before and after, per category",
        "districts": "Districts (all categories)", "groups": "Population groups (all categories)",
        "curve": "Share of residents within x walking minutes, before (dashed) and after (solid)",
        "x": "walking minutes (door to door)", "y": "share of residents",
        "sites": "Changed docking points", "no_sites": "none", "map": "Map",
        "sites_after": "Docking points after the changes", "born_abroad": "Residents born abroad",
        "kpi_abroad": "born abroad within {m} min",
        "open_map": "Open the before/after map (map.html)", "plain": "plain map (scenario_map.html)",
        "after_report": "full report of the state after the changes (after/report.html)",
        "category": "category", "minutes": "minutes", "population": "residents",
        "before": "before", "after": "after", "gain": "change", "district": "district",
        "group": "group", "change": "change", "id": "id", "name": "name",
        "added": "added", "removed": "closed", "moved": "moved", "recategorised": "recategorised",
        "files": "Beside this page: map.html (the same map in a window of its own), scenario_map.html (plain before/after map) and after/report.html (full report of the state after the changes).",
    },
    "de": {
        "title": "{name}: vorher und nachher", "headline": "Was die Änderungen bringen",
        "kpi": "Einwohner innerhalb {m} min", "by_cat": "Versorgte Einwohner vorher und nachher, je Kategorie",
        "districts": "Stadtteile (alle Kategorien)", "groups": "Bevölkerungsgruppen (alle Kategorien)",
        "curve": "Anteil der Einwohner innerhalb x Gehminuten, vorher (gestrichelt) und nachher",
        "x": "Gehminuten (Tür zu Tür)", "y": "Anteil der Einwohner",
        "sites": "Geänderte Andockstellen", "no_sites": "keine", "map": "Karte",
        "sites_after": "Andockstellen nach den Änderungen", "born_abroad": "Im Ausland Geborene",
        "kpi_abroad": "im Ausland Geborene innerhalb {m} min",
        "open_map": "Vorher-nachher-Karte öffnen (map.html)", "plain": "einfache Karte (scenario_map.html)",
        "after_report": "vollständiger Bericht des Zustands nach den Änderungen (after/report.html)",
        "category": "Kategorie", "minutes": "Minuten", "population": "Einwohner",
        "before": "vorher", "after": "nachher", "gain": "Veränderung", "district": "Stadtteil",
        "group": "Gruppe", "change": "Änderung", "id": "Kennung", "name": "Name",
        "added": "neu", "removed": "geschlossen", "moved": "verlegt", "recategorised": "umkategorisiert",
        "files": "Neben dieser Seite: map.html (dieselbe Karte in einem eigenen Fenster), scenario_map.html (einfache Vorher-nachher-Karte) und after/report.html (vollständiger Bericht des Zustands nach den Änderungen).",
    },
}  # fmt: skip

# Priority areas (issue 15): the map layer and the report section.
_PRIORITY = {
    "en": {
        "layer": "Priority areas", "title": "Where arrival neighbourhoods lack a docking point",
        "area": "area", "district": "district", "rank": "rank", "residents": "residents",
        "beyond": "residents beyond {m} min", "need": "need index", "minutes": "walking minutes",
        "priority": "priority (need × min)", "priority_total": "priority × residents",
        "unreachable": "none reachable", "top_cells": "The 10 resident cells of highest priority",
        "top_districts": "Districts by priority",
        "text": (
            "Priority = need index × walking minutes to the nearest docking point ({cat}) beyond "
            "{m} min (at most {cap} min; residents who reach none count {cap} min). The need "
            "index is 1 for the study area's average: each indicator's share in a cell divided by "
            "its share in the whole area, weighted ({ind}); cells with few residents are pulled "
            "towards the average (prior of {prior} residents). Areas are ranked by priority × "
            "residents. The 10 cells shown hold {top} residents; {beyond} residents in "
            "all live beyond {m} min."
        ),
        "left_out": (
            "Not in the population tables, so left out of the need index: {ind}; the "
            "remaining weights are renormalised to add up to 1."
        ),
    },
    "de": {
        "layer": "Prioritätsgebiete", "title": "Wo Ankunftsquartieren eine Andockstelle fehlt",
        "area": "Gebiet", "district": "Stadtteil", "rank": "Rang", "residents": "Einwohner",
        "beyond": "Einwohner jenseits {m} min", "need": "Bedarfsindex", "minutes": "Gehminuten",
        "priority": "Priorität (Bedarf × min)", "priority_total": "Priorität × Einwohner",
        "unreachable": "keine erreichbar", "top_cells": "Die 10 Wohnzellen mit der höchsten Priorität",
        "top_districts": "Stadtteile nach Priorität",
        "text": (
            "Priorität = Bedarfsindex × Gehminuten zur nächsten Andockstelle ({cat}) über "
            "{m} min hinaus (höchstens {cap} min; wer keine erreicht, zählt {cap} min). Der "
            "Bedarfsindex ist 1 für den Durchschnitt des Untersuchungsgebiets: der Anteil jedes "
            "Indikators in einer Zelle geteilt durch seinen Anteil im ganzen Gebiet, gewichtet "
            "({ind}); Zellen mit wenigen Einwohnern werden zum Durchschnitt hin gezogen "
            "(Vorgabe von {prior} Einwohnern). Gebiete sind nach Priorität × Einwohner "
            "geordnet. In den 10 gezeigten Zellen leben {top} Einwohner; insgesamt leben "
            "{beyond} Einwohner jenseits von {m} min."
        ),
        "left_out": (
            "Nicht in den Bevölkerungstabellen und daher nicht im Bedarfsindex: {ind}; die "
            "übrigen Gewichte werden auf die Summe 1 umgerechnet."
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
        "cells_text": "Both runs use the same grid: the change is shown per resident cell ({n} cells in both).",
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
        "cells_text": "Beide Läufe nutzen dasselbe Raster: die Veränderung ist je Wohnzelle dargestellt ({n} Zellen in beiden).",
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
    parts = [t["osm_as_of"].format(ts=fm.date(ts[:10], lang), source=t.get(osm.get("source"), osm.get("source")))  # type: ignore[arg-type]
             if ts else t["osm_unknown"]]  # fmt: skip
    z = v.get("zensus")
    if z is not None:
        ed, date = z.get("edition"), z.get("reference_date")
        parts.append(
            t["zensus_as_of"].format(ed=ed, date=fm.date(date, lang)) if ed else t["zensus_unknown"]
        )
    return t["vintage"].format(parts="; ".join(parts))


# -- population groups ----------------------------------------------------------------------

#: The label table shipped with the package (Zensus 2011 and 2022 attribute columns).
GROUP_LABELS_FILE = Path(__file__).with_name("group_labels.yaml")
#: Environment variable naming a YAML file of further (or overriding) group labels.
LABELS_ENV = "ACCESSIBILITY_LABELS"


@functools.cache
def _read_group_labels(path: str) -> dict[str, dict]:
    """The ``groups`` mapping of a label file, keys lower-cased; InputError if malformed."""
    from ..errors import InputError

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"the label file cannot be read ({exc}); give a YAML file", path) from exc
    groups = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(groups, dict):
        raise InputError(
            "the label file has no 'groups:' mapping; write 'groups:' then one line per "
            'column, e.g. \'alter_65plus: {de: "65 Jahre und älter", en: "65 years and over"}\'',
            path,
        )
    out: dict[str, dict] = {}
    for key, entry in groups.items():
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k, ""), str) for k in LANGS):
            raise InputError(
                f"group {key!r}: give a mapping with the texts de and en, e.g. "
                '{de: "unter 18 Jahre", en: "under 18 years"}',
                path,
            )
        out[str(key).lower()] = entry
    return out


def group_labels(extra: str | Path | None = None) -> dict[str, dict]:
    """Population group labels: the shipped table, then ``$ACCESSIBILITY_LABELS``, then ``extra``.

    Parameters
    ----------
    extra : path, optional
        A YAML file of the same form as ``group_labels.yaml`` (``groups:`` → column →
        ``{de: ..., en: ..., born_abroad: bool}``); its entries override earlier ones.

    Returns
    -------
    dict
        Lower-cased group name → entry.

    Raises
    ------
    InputError
        A label file cannot be read or is malformed (naming the file).
    """
    table = dict(_read_group_labels(str(GROUP_LABELS_FILE)))
    for p in (os.environ.get(LABELS_ENV), extra):
        if p:
            table.update(_read_group_labels(str(Path(p).resolve())))
    return table


def group_label(group: str, lang: str, table: dict[str, dict] | None = None) -> str:
    """A population group's label in ``lang`` (its column name when the table has none).

    Parameters
    ----------
    group : str
        The group as in ``summary_groups.csv``.
    lang : str
        Language code (``de``, ``en``).
    table : dict, optional
        From :func:`group_labels` (default: the shipped table and ``$ACCESSIBILITY_LABELS``).

    Returns
    -------
    str
        The label (not escaped).
    """
    entry = (table if table is not None else group_labels()).get(str(group).lower()) or {}
    return str(entry.get(lang) or entry.get("en") or group)


def born_abroad(groups, table: dict[str, dict] | None = None) -> list[str]:
    """The groups (of ``groups``) the label table marks ``born_abroad: true``.

    Parameters
    ----------
    groups : iterable of str
        Group names of a run.
    table : dict, optional
        From :func:`group_labels`.

    Returns
    -------
    list of str
        Those groups, in the given order.
    """
    table = table if table is not None else group_labels()
    return [g for g in groups if (table.get(str(g).lower()) or {}).get("born_abroad") is True]


# -- titles ---------------------------------------------------------------------------------

_NETWORK_SUFFIXES = (".gz", ".bz2", ".zip", ".pbf", ".osm", ".xml", ".graphml", ".gpkg",
                     ".geojson", ".json", ".shp")  # fmt: skip


def pretty_name(text: str) -> str:
    """A place name from a file or folder name: ``kaiserslautern.osm.gz`` → ``Kaiserslautern``,
    ``rhein_neckar-2016-12`` → ``Rhein Neckar`` (extensions and trailing date parts dropped,
    ``_``/``-`` as spaces, lower-case words capitalised).

    Parameters
    ----------
    text : str
        A file name, stem or folder name.

    Returns
    -------
    str
        The prettified name ("" for an empty input).
    """
    name = Path(str(text)).name
    while name.lower().endswith(_NETWORK_SUFFIXES):
        name = name[: name.rfind(".")]
    words = [w for w in re.split(r"[_\s]+|(?<=\w)-(?=\d)|(?<=\d)-", name) if w]
    while len(words) > 1 and words[-1].isdigit():
        words.pop()
    words = [w[:1].upper() + w[1:] if w.islower() else w for w in words]
    return " ".join(words)


def place_name(record: dict, folder: str | Path | None = None) -> str:
    """The place a run is about, for titles: the study area's place (``--place``), else its
    polygon file's name (``--polygon``/``--area``), else the network file's name, else the
    output folder's name (file and folder names prettified, :func:`pretty_name`).

    Parameters
    ----------
    record : dict
        Run record (``study_area.place``, ``inputs.network.path``).
    folder : path, optional
        The output folder.

    Returns
    -------
    str
        E.g. ``Kaiserslautern``; "" when nothing names the place.
    """
    area = record.get("study_area") or {}
    place = str(area.get("place") or "")
    polygon = (
        (area.get("polygon") or {}).get("path") if isinstance(area.get("polygon"), dict) else None
    )
    if not place and polygon:
        return pretty_name(str(polygon))
    if place:
        parts = [p.strip() for p in place.split(",") if p.strip()]
        if len(parts) > 1 and parts[-1].lower() in {"germany", "deutschland", "de"}:
            parts = parts[:-1]
        return ", ".join(parts)
    net = (record.get("inputs") or {}).get("network") or {}
    path = net.get("path") if isinstance(net, dict) else net
    if path:
        return pretty_name(str(path))
    return pretty_name(Path(folder).resolve().name) if folder is not None else ""


def report_title(record: dict, folder: str | Path | None, lang: str) -> str:
    """Default title of map and report: "Andockstellen – Kaiserslautern" (see :func:`place_name`).

    Parameters
    ----------
    record : dict
        Run record.
    folder : path, optional
        The output folder (the name of last resort).
    lang : str
        Language code (``en``, ``de``).

    Returns
    -------
    str
        The title (not escaped).
    """
    name = place_name(record, folder)
    return default_title(name, lang) if name else labels("report", lang)["title"]


# -- free texts of the inputs (population method, reject reasons) ----------------------------

_NUM = r"[\d,]+(?:\.\d+)?"
#: English sentences of the input readers → German (regular expressions, applied in order).
_TEXT_DE: list[tuple[str, str]] = [
    # population method (inputs/zensus.py, spread.py, buildings.py, population.py)
    (r"Zensus (\S+ \S+) grid \(([^)]*)\): the '([^']*)' count of each cell is placed at the "
     r"cell midpoint \(EPSG:3035\)", r"Zensus-\1-Gitter (\2): die Zahl „\3“ jeder Zelle liegt "
     r"im Zellmittelpunkt (EPSG:3035)"),
    (r"Zensus (\S+ \S+) grid \(([^)]*)\): the '([^']*)' count of each cell is taken as the "
     r"cell's total \(EPSG:3035\)", r"Zensus-\1-Gitter (\2): die Zahl „\3“ jeder Zelle ist "
     r"deren Summe (EPSG:3035)"),
    (r", joined on the cell id with (\d+) attribute file\(s\) for the groups\.",
     r", über die Zellkennung verknüpft mit \1 Merkmalsdatei(en) für die Gruppen."),
    (r" Groups (.*?) are shares in % of the cell's residents \(columns (.*?)\) turned into "
     r"persons; suppressed shares \(negative, e\.g\. -9\) count as 0 persons \((" + _NUM +
     r") cell values\)\.", r" Die Gruppen \1 sind Anteile in % der Einwohner der Zelle "
     r"(Spalten \2), in Personen umgerechnet; gesperrte Anteile (negativ, z. B. -9) zählen "
     r"als 0 Personen (\3 Zellwerte)."),
    (r" Means \((.*?)\) are not counts of persons and are not used\.",
     r" Mittelwerte (\1) sind keine Personenzahlen und werden nicht verwendet."),
    (r"Each (\S+ \S+) cell's residents and groups are spread over the places people live in "
     r"it, keeping each cell's total: onto residential OSM buildings by footprint area × "
     r"storeys \((" + _NUM + r") cells\); where the cell has none, along residential streets "
     r"\(highway=(\S+)\) by length, one point on the street per (\S+) m of each way in the "
     r"cell \((" + _NUM + r") cells\); where it has none of these, along any walkable street "
     r"by length \((" + _NUM + r") cells\)\.",
     r"Die Einwohner und Gruppen jeder \1-Zelle werden auf die Wohnorte in ihr verteilt, die "
     r"Summe jeder Zelle bleibt erhalten: auf Wohngebäude aus OSM nach Grundfläche × "
     r"Geschosse (\2 Zellen); wo die Zelle keine hat, entlang Wohnstraßen (highway=\3) nach "
     r"Länge, ein Punkt je \4 m jedes Wegs in der Zelle (\5 Zellen); wo sie keine davon hat, "
     r"entlang beliebiger begehbarer Straßen nach Länge (\6 Zellen)."),
    (r" (" + _NUM + r") cells \((" + _NUM + r") residents\) have nothing to spread onto and "
     r"are rejected \(rejects\.csv\)\.", r" \1 Zellen (\2 Einwohner) haben nichts, worauf "
     r"verteilt werden kann, und werden verworfen (rejects.csv)."),
    (r"Each (\S+) m Zensus cell's residents and groups are distributed over the residential "
     r"OSM buildings whose representative point lies in the cell, in proportion to footprint "
     r"area × storeys; cells without such a building keep their midpoint\.",
     r"Die Einwohner und Gruppen jeder \1-m-Zensuszelle werden auf die Wohngebäude aus OSM "
     r"verteilt, deren repräsentativer Punkt in der Zelle liegt, im Verhältnis Grundfläche × "
     r"Geschosse; Zellen ohne solches Gebäude behalten ihren Mittelpunkt."),
    (r"Residents read from (.*?): column '([^']*)' at each point \(polygons reduced to a "
     r"representative point inside them\)\.", r"Einwohner aus \1: Spalte „\2“ je Punkt "
     r"(Flächen auf einen repräsentativen Punkt in ihnen reduziert)."),
    (r" ?Rescaled by the factor (\S+) to the official total of (" + _NUM + r") residents "
     r"\(before: (" + _NUM + r")\)", r" Mit dem Faktor \1 auf die amtliche Summe von \2 "
     r"Einwohnern skaliert (vorher: \3)"),
    (r"; only the total is official, the distribution over buildings is estimated from OSM "
     r"buildings\.", r"; nur die Summe ist amtlich, die Verteilung auf Gebäude ist aus "
     r"OSM-Gebäuden geschätzt."),
    (r"Residents estimated per residential OSM building as footprint area \(local UTM\) × "
     r"storeys \(untagged: (\S+) for houses, (\S+) for bungalows, (\S+) for building=yes, "
     r"(\S+) for apartments\) × (\S+) net/gross ÷ (\S+) m² living space per person, placed "
     r"at a point inside the footprint",
     r"Einwohner je Wohngebäude aus OSM geschätzt als Grundfläche (lokales UTM) × Geschosse "
     r"(ohne Angabe: \1 für Häuser, \2 für Bungalows, \3 für building=yes, \4 für "
     r"Mehrfamilienhäuser) × \5 netto/brutto ÷ \6 m² Wohnfläche je Person, an einem Punkt "
     r"innerhalb der Grundfläche"),
    (r"; building=yes on industrial, commercial, campus, hospital and similar ground not "
     r"counted\.", r"; building=yes auf Industrie-, Gewerbe-, Campus-, Krankenhaus- und "
     r"ähnlichen Flächen nicht gezählt."),
    # reject reasons (rejects.csv)
    (r"^cell id not in the population file (.*)$", r"Zellkennung nicht in der "
     r"Einwohnerdatei \1"),
    (r"^(.*?) lies outside the area covered by the network \(beyond the edge of the OSM "
     r"extract, or wrong coordinates/CRS\); give a larger network to include it$",
     r"\1 liegt außerhalb des vom Wegenetz abgedeckten Gebiets (jenseits des Rands des "
     r"OSM-Ausschnitts, oder falsche Koordinaten/KBS); ein größeres Netz schließt ihn ein"),
    (r"^(.*?) has no walkable edge of the connected network within (" + _NUM + r") m: its "
     r"nearest way is an island of fewer than (\d+) nodes \(not linked to the streets in "
     r"OSM\); lower --min-component or fix the OSM data$",
     r"\1 hat keine begehbare Kante des zusammenhängenden Netzes im Umkreis von \2 m: der "
     r"nächste Weg ist eine Insel mit weniger als \3 Knoten (in OSM nicht mit den Straßen "
     r"verbunden); --min-component senken oder die OSM-Daten korrigieren"),
    (r"^(.*?) has no walkable edge within (" + _NUM + r") m \(wrong or swapped coordinates, "
     r"or a gap in the OSM data\); check the coordinates or raise --max-access$",
     r"\1 hat keine begehbare Kante im Umkreis von \2 m (falsche oder vertauschte "
     r"Koordinaten, oder eine Lücke in den OSM-Daten); Koordinaten prüfen oder --max-access "
     r"erhöhen"),
    (r"^the (\S+ \S+) cell lies outside the area covered by the network \(convex hull of the "
     r"OSM extract's walkable ways\): its residents are not placed$",
     r"die \1-Zelle liegt außerhalb des vom Wegenetz abgedeckten Gebiets (konvexe Hülle der "
     r"begehbaren Wege des OSM-Ausschnitts): ihre Einwohner werden nicht verortet"),
    (r"^the (\S+ \S+) cell holds no residential building and no walkable street: its "
     r"residents are not placed$", r"die \1-Zelle enthält weder Wohngebäude noch begehbare "
     r"Straßen: ihre Einwohner werden nicht verortet"),
    (r"^duplicate cell id \(the first row with this id is used\)$",
     r"doppelte Zellkennung (die erste Zeile mit dieser Kennung wird verwendet)"),
    (r"^duplicate id: an earlier row has the same id and is kept; give every site its own "
     r"id$", r"doppelte Kennung: eine frühere Zeile hat dieselbe und wird behalten; jedem "
     r"Standort eine eigene Kennung geben"),
    (r"^duplicate building_id: an earlier row has the same id and is kept$",
     r"doppelte building_id: eine frühere Zeile hat dieselbe und wird behalten"),
    (r"^empty building_id; give every building an id$",
     r"leere building_id; jedem Gebäude eine Kennung geben"),
    (r"^empty name; give every site a name$", r"leerer Name; jedem Standort einen Namen geben"),
    (r"^empty category; give every site a category \(e\.g\. (.*)\)$",
     r"leere Kategorie; jedem Standort eine Kategorie geben (z. B. \1)"),
    (r"^duplicate: a site of the same category within (\S+) m with the same name \(or "
     r"unnamed in OSM\) is kept instead$", r"Duplikat: ein Standort derselben Kategorie "
     r"im Umkreis von \1 m mit demselben Namen (oder in OSM ohne Namen) wird stattdessen "
     r"behalten"),
    (r"^coordinates outside the valid lat/lon range; check them$",
     r"Koordinaten außerhalb des gültigen Bereichs für Breite/Länge; bitte prüfen"),
    (r"^address not found: (.*)$", r"Adresse nicht gefunden: \1"),
    (r"^resident point\b", "Wohnpunkt"),
    (r"^site\b", "Standort"),
    (r"(\d+) (m|km)-(Gitter|Zelle)", r"\1-\2-\3"),  # "100-m-Gitter"
]  # fmt: skip
_TEXT_DE_RE = [(re.compile(p), r) for p, r in _TEXT_DE]
#: English numbers (``1,234``, ``0.5``) inside a translated sentence, to write the German way.
_EN_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+)(?![\w]|\.\d)")


def translate(text: str, lang: str) -> str:
    """A sentence written by the input readers (population method, reject reason) in ``lang``.

    The readers write English; for German, the known sentences are translated (and
    their English numbers written the German way). A sentence not in the table is
    returned unchanged.

    Parameters
    ----------
    text : str
        The English text.
    lang : str
        Language code (``de``, ``en``).

    Returns
    -------
    str
        The text in ``lang`` (not escaped).
    """
    text = str(text)
    if lang != "de" or not text:
        return text
    out = text
    for pattern, repl in _TEXT_DE_RE:
        out = pattern.sub(repl, out)
    if out == text:
        return text
    return _EN_NUMBER.sub(
        lambda m: m.group(1).replace(",", "\x00").replace(".", ",").replace("\x00", "."), out
    )


# Labels of the scaled and explained maps (issue 12, "Maps"): aggregated residents, why a
# gap is one, the ranking map's legend and addresses.
_MAP["en"].update({
    "legend_agg": "Walking minutes to the nearest docking point (population-weighted median per square)",
    "agg_note": ("Residents aggregated to {size} m squares ({n} points → {k} squares) so "
                 "the map stays small: colour = population-weighted median walking minutes; the "
                 "tooltip gives the nearest point's minutes and the share within each threshold."),
    "agg_points": "Resident points", "median": "Median minutes (population-weighted)",
    "min": "Minutes of the nearest point", "beyond": "Residents beyond {m:g} min",
    "no_path": "… of them with no path at all", "on_fragment": "… of them on a separate network piece",
    "sc_agg": "{layer} (squares of {size} m)", "why": "Why",
    "why_nopath": "no path: no docking point can be reached on the walking network",
    "why_fragment_nopath": "on a separate network piece without a docking point: no path",
    "why_fragment": "on a separate network piece: only docking points on that piece count",
    "why_island": "its nearest way is a pruned network island; linked to the next street instead",
    "why_detour": "the walk on the network is longer than {m:g} min (a detour around a barrier or a missing path in OSM)",
    "in_band": "inside the ≤ {m:g} min band, but {why}",
})  # fmt: skip
_MAP["de"].update({
    "legend_agg": "Gehminuten zur nächsten Andockstelle (einwohnergewichteter Median je Quadrat)",
    "agg_note": ("Bewohner zu Quadraten von {size} m zusammengefasst ({n} Punkte → {k} "
                 "Quadrate), damit die Karte klein bleibt: Farbe = einwohnergewichteter Median der "
                 "Gehminuten; der Tooltip nennt die Minuten des nächsten Punkts und den Anteil je Schwelle."),
    "agg_points": "Wohnpunkte", "median": "Median Minuten (einwohnergewichtet)",
    "min": "Minuten des nächsten Punkts", "beyond": "Einwohner über {m:g} min",
    "no_path": "… davon ganz ohne Weg", "on_fragment": "… davon auf einem getrennten Netzstück",
    "sc_agg": "{layer} (Quadrate von {size} m)", "why": "Warum",
    "why_nopath": "kein Weg: keine Andockstelle ist über das Fußwegenetz erreichbar",
    "why_fragment_nopath": "auf einem getrennten Netzstück ohne Andockstelle: kein Weg",
    "why_fragment": "auf einem getrennten Netzstück: nur Andockstellen auf diesem Stück zählen",
    "why_island": "der nächste Weg ist eine ausgeschlossene Netz-Insel; stattdessen an die nächste Straße angebunden",
    "why_detour": "der Fußweg im Netz ist länger als {m:g} min (Umweg um eine Barriere oder fehlender Weg in OSM)",
    "in_band": "innerhalb des Bands ≤ {m:g} min, aber {why}",
})  # fmt: skip
_PLANNING_MAPS["en"].update({
    "legend": "Legend", "counted": "Counted: {group}", "residents_word": "residents",
    "group_text": "{w} {group} ({p} residents)", "address": "Address",
    "legend_pick": "newly covered by pick #j (colour of its number)", "near_street": "near {s}",
    "cand_group": "{name}: {reach} {group} within {m:g} min", "gain_group": "Newly covered {group}",
    "reach_group": "{group} within {m:g} min",
    "sc_newly": "Newly covered residents", "sc_losing": "Residents losing coverage",
    "sc_text": "{p} residents: {b} → {a} min", "sc_unreachable": "unreachable",
    "sc_sites": "Sites: {kind}", "sc_title": "{name}: before / after",
    "sc_unchanged": "unchanged", "sc_added": "added", "sc_removed": "closed", "sc_moved": "moved",
    "sc_recategorised": "recategorised",
})  # fmt: skip
_PLANNING_MAPS["de"].update({
    "legend": "Legende", "counted": "Gezählt: {group}", "residents_word": "Einwohner",
    "group_text": "{w} {group} ({p} Einwohner)", "address": "Adresse",
    "legend_pick": "neu versorgt durch Kandidat #j (Farbe seiner Nummer)", "near_street": "nahe {s}",
    "cand_group": "{name}: {reach} {group} innerhalb {m:g} min", "gain_group": "Neu versorgt: {group}",
    "reach_group": "{group} innerhalb {m:g} min",
    "sc_newly": "Neu versorgte Bewohner", "sc_losing": "Bewohner, die die Versorgung verlieren",
    "sc_text": "{p} Einwohner: {b} → {a} min", "sc_unreachable": "nicht erreichbar",
    "sc_sites": "Standorte: {kind}", "sc_title": "{name}: vorher / nachher",
    "sc_unchanged": "unverändert", "sc_added": "neu", "sc_removed": "geschlossen",
    "sc_moved": "verlegt", "sc_recategorised": "umkategorisiert",
})  # fmt: skip

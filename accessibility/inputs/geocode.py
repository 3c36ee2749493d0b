"""Turn German postal addresses into points: offline from the OSM extract, Nominatim on request.

Offline first: :class:`OfflineGeocoder` matches addresses against the
``addr:*`` tags of the loaded OSM extract (buildings and nodes) and its
``addr:interpolation`` ways. No network access, deterministic, and an address
that is not in the data is rejected with a reason (and the closest known
street names), never moved to a random street.

Spelling is normalised before matching: case, spacing and hyphens, ``ß``/``ss``,
umlauts and their ``ae``/``oe``/``ue`` forms, other accents, ``Straße``/``Str.``/
``strasse`` and ``Platz``/``Pl.``. House numbers: ``12 A`` = ``12a``; a range
``5-7`` (or list ``5;7``) in OSM is found by 5, 6 and 7, and an input range is
found by its first number.

Match quality per address (:data:`QUALITIES`):

``exact``
    Street and house number exactly as written in OSM.
``normalised``
    Found after normalising the spelling, the house-number suffix or a range;
    also a ``12a`` placed at ``12`` when only ``12`` is mapped (``note`` says so).
``interpolated``
    On an ``addr:interpolation`` way between two mapped numbers.
``postcode_mismatch``
    Street and house number found (as for the qualities above), but the postcode
    given differs from OSM's at that address: located, and flagged (``note`` names
    both postcodes; ``stock.csv`` shows quality and note) so someone checks it. The
    same code written differently (``D-67655``, ``67655.0``, ``67655 Kaiserslautern``)
    is no mismatch (:func:`postcode_key`).
``street_only``
    The street is known but not the number, and the number lies inside the
    street's mapped range: placed between the two nearest mapped numbers of the
    same parity (error typically a few dozen metres). An address without a
    house number is placed at the street's middle address point, which on a long
    street can be hundreds of metres off. Such matches are **not** used unless
    accepted (``accept=("street",)``, ``--accept street``): by default
    :meth:`OfflineGeocoder.geocode` turns them into misses whose reason says where
    they would have been placed (:data:`STREET_ONLY_REASON`).
``nominatim``
    Found online by Nominatim (only with :class:`NominatimGeocoder`).

Points are WGS 84 (EPSG:4326). A building polygon gives a point inside its
footprint (``shapely.point_on_surface``), the same point a building polygon in
a stock or sites file gives, so an address and its footprint land on the same
spot.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._io import write_json
from .._text import close_matches
from ..config import cache_dir
from ..errors import GeocodingError, InputError
from ._tables import match_columns
from .osm import OsmExtract
from .servers import Servers, nominatim_pause

#: Match qualities, best first.
QUALITIES = ("exact", "normalised", "interpolated", "postcode_mismatch", "street_only", "nominatim")

#: Weak match kinds a run may accept (``--accept``): ``street`` = :data:`QUALITIES` ``street_only``.
ACCEPTABLE = ("street",)

#: Reject reason of a street-only match that was not accepted (``{note}``: where it would be).
STREET_ONLY_REASON = (
    "only the street is known ({note}); a long street can put it hundreds of metres off: "
    "give the house number or lat/lon, or use street-level matches with --accept street"
)

#: Columns of a geocoding result (index aligned with the input).
RESULT_COLUMNS = ["lon", "lat", "quality", "matched_address", "note", "reason"]

#: Columns of an address table: canonical name -> accepted header spellings (lower case).
ADDRESS_ALIASES = {
    "street": ("street", "strasse", "straße", "str", "addr:street"),
    "housenumber": (
        "housenumber", "house_number", "hausnummer", "hnr", "nr", "number", "addr:housenumber",
    ),
    "postcode": ("postcode", "postal_code", "plz", "zip", "postleitzahl", "addr:postcode"),
    "city": ("city", "ort", "stadt", "gemeinde", "town", "addr:city"),
    "address": ("address", "adresse", "anschrift"),
}  # fmt: skip

#: Two OSM points of one address further apart than this (metres) make it ambiguous.
AMBIGUOUS_M = 150.0

#: Longest house-number range expanded (``1-200`` is more likely a typo than a building).
MAX_RANGE = 30

#: Nominatim's usage policy: at most one request per second.
NOMINATIM_MIN_DELAY_S = 1.0

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_STREET_WORDS = [
    (re.compile(r"str(?:asse|\.|\b)"), "strasse"),
    (re.compile(r"pl(?:\.|\b)"), "platz"),
]
_NUMBER = re.compile(r"^(\d+)\s*([a-z]?)$")
_RANGE = re.compile(r"^(\d+)\s*[a-z]?\s*[-–/]\s*(\d+)\s*[a-z]?$")
_ADDRESS = re.compile(
    r"^\s*(?P<street>.*?\D)\s*(?P<number>\d+\s*[a-zA-Z]?(?:\s*[-–]\s*\d+\s*[a-zA-Z]?)?)\s*"
    r"(?:,\s*(?P<postcode>\d{5})?\s*(?P<city>[^,]*?))?\s*(?:,\s*(?:deutschland|germany))?\s*$",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------- normalising


def normalise_street(name: object) -> str:
    """Comparable key of a street name: ``"Albert-Schweitzer-Str."`` -> ``"albertschweitzerstrasse"``.

    Lower case; umlauts -> ae/oe/ue, ß -> ss, other accents dropped; ``Straße``,
    ``Str.``, ``str`` -> ``strasse``; ``Pl.`` -> ``platz``; spaces, hyphens,
    dots and other punctuation removed.

    Parameters
    ----------
    name : object
        Street name; None and NaN count as empty, other values are turned to text.

    Returns
    -------
    str
        The key (``""`` for a missing name).
    """
    if isinstance(name, str):
        return _normalise_street(name)
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return ""
    return _normalise_street(str(name))


@functools.lru_cache(maxsize=65536)
def _normalise_street(name: str) -> str:
    s = unicodedata.normalize("NFC", name).lower().translate(_UMLAUTS)
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    for rx, repl in _STREET_WORDS:
        s = rx.sub(repl, s)
    return re.sub(r"[^0-9a-z]+", "", s)


def normalise_number(number: object) -> str:
    """Comparable key of a house number: ``"12 A"`` -> ``"12a"``, ``"Nr. 5"`` -> ``"5"``.

    Parameters
    ----------
    number : object
        House number as text or number (``5.0`` -> ``"5"``); None and NaN count as empty.

    Returns
    -------
    str
        The key: lower case, without ``Nr.``/``No.`` prefix and spaces (``""`` if missing).
    """
    if number is None or (isinstance(number, float) and np.isnan(number)):
        return ""
    if isinstance(number, float | np.floating) and float(number).is_integer():
        number = int(number)
    s = str(number).strip().lower()
    s = re.sub(r"^(?:nr\.?|no\.?)\s*", "", s)
    s = re.sub(r"\s+", "", s)
    return s.replace("–", "-")


def number_keys(number: object) -> list[str]:
    """All keys an OSM house number stands for: ``"5-7"`` -> ``["5-7", "5", "6", "7"]``.

    Parameters
    ----------
    number : object
        An ``addr:housenumber`` value; lists separated by ``;`` or ``,`` and short
        ranges are expanded.

    Returns
    -------
    list of str
        The normalised keys (see :func:`normalise_number`), whole value first, no
        duplicates; ``[]`` for an empty number.
    """
    s = normalise_number(number)
    if not s:
        return []
    keys = [s]
    for part in re.split(r"[;,]", s):
        part = part.strip()
        if not part:
            continue
        m = _RANGE.match(part)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            if a < b <= a + MAX_RANGE and "/" not in part:
                keys += [str(i) for i in range(a, b + 1)]
                continue
        keys.append(part)
    return list(dict.fromkeys(keys))


def _base_number(key: str) -> int | None:
    m = re.match(r"^(\d+)", key)
    return int(m.group(1)) if m else None


def split_address(text: object) -> tuple[str, str, str, str]:
    """Split one-line address ``"Blücherstr. 15a, 67655 Kaiserslautern"`` into its four parts.

    Returns ``(street, housenumber, postcode, city)``; parts not found are ``""``.
    Text without a recognisable house number is returned as the street.

    Parameters
    ----------
    text : object
        One-line address; None and NaN give four empty parts.

    Returns
    -------
    tuple of str
        ``(street, housenumber, postcode, city)``.
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return "", "", "", ""
    s = str(text).strip()
    m = _ADDRESS.match(s)
    if not m:
        street, _, rest = s.partition(",")
        m2 = re.match(r"^\s*(\d{5})?\s*(.*)$", rest)
        return (
            street.strip(),
            "",
            (m2.group(1) or "") if m2 else "",
            m2.group(2).strip() if m2 else "",
        )
    return (
        m.group("street").strip().rstrip(","),
        m.group("number").strip(),
        (m.group("postcode") or "").strip(),
        (m.group("city") or "").strip(),
    )


def address_columns(columns: Iterable[str]) -> dict[str, str] | None:
    """Find the address columns of a table (header spellings as in :data:`ADDRESS_ALIASES`).

    Parameters
    ----------
    columns : iterable of str
        The table's column names.

    Returns
    -------
    dict or None
        Canonical name -> the table's column, for those present; ``None`` if the
        table has neither a street column nor an ``address`` column.

    Raises
    ------
    InputError
        Two columns mean the same thing.
    """

    found = {k: v for k, v in match_columns(None, columns, ADDRESS_ALIASES).items() if v}
    if "street" not in found and "address" not in found:
        return None
    return found


def address_table(table: pd.DataFrame, cols: dict[str, str]) -> pd.DataFrame:
    """The four address parts of every row as text (``street, housenumber, postcode, city``).

    Separate columns win; a one-line ``address`` column fills rows whose street is empty.

    Parameters
    ----------
    table : DataFrame
        The input table.
    cols : dict of str to str
        Canonical name -> the table's column, as :func:`address_columns` returns.

    Returns
    -------
    DataFrame
        ``street, housenumber, postcode, city`` as text (``""`` when missing), index of
        ``table``.
    """
    n = len(table)

    def col(name: str) -> np.ndarray:
        if name not in cols:
            return np.full(n, "", dtype=object)
        return np.array([_cell(v) for v in table[cols[name]]], dtype=object)

    out = pd.DataFrame(
        {k: col(k) for k in ("street", "housenumber", "postcode", "city")}, index=table.index
    )
    if "address" in cols:
        for i, text in enumerate(table[cols["address"]]):
            if out.iat[i, 0] or not _cell(text):
                continue
            parts = split_address(_cell(text))
            for j, part in enumerate(parts):
                if not out.iat[i, j]:
                    out.iat[i, j] = part
    return out


def _cell(v: object) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()


def format_address(street: str, number: str, postcode: str = "", city: str = "") -> str:
    """``"Blücherstraße 15, 67655 Kaiserslautern"`` (empty parts left out).

    Parameters
    ----------
    street, number, postcode, city : str
        The address parts.

    Returns
    -------
    str
        One-line address.
    """
    head = " ".join(p for p in (street, number) if p)
    tail = " ".join(p for p in (postcode, city) if p)
    return ", ".join(p for p in (head, tail) if p)


@runtime_checkable
class Geocoder(Protocol):
    """What the readers need from a geocoder (:class:`OfflineGeocoder`,
    :class:`NominatimGeocoder`, or your own).

    Attributes
    ----------
    source : str
        What the addresses are looked up in, named in messages.
    """

    @property
    def source(self) -> str:
        """What the addresses are looked up in, named in messages."""
        ...

    def geocode(self, addresses: pd.DataFrame) -> pd.DataFrame:
        """Look up addresses.

        Parameters
        ----------
        addresses : DataFrame
            Columns ``street, housenumber, postcode, city`` (text; empty = unknown).

        Returns
        -------
        DataFrame
            Same index: ``lat, lon`` (degrees, EPSG:4326; NaN when not found),
            ``quality`` and ``reason`` (empty when found).
        """
        ...


# --------------------------------------------------------------------------- offline


class OfflineGeocoder:
    """Address lookup in the ``addr:*`` data of an OSM extract (no network access).

    Parameters
    ----------
    features : GeoDataFrame
        ``osm_type``, ``osm_id``, ``tags`` (dict) and geometry in EPSG:4326, as
        ``read_osm(path).features``.
    interpolations : GeoDataFrame, optional
        ``addr:interpolation`` ways: ``osm_id``, ``tags``, ``node_ids`` and
        LineString geometry, as ``read_osm(path).interpolations``. Their end
        nodes must be among ``features`` (tagged nodes are).
    street_names : iterable of str, optional
        Names of the network's streets (``read_osm(path).segments["name"]``),
        used only to explain rejects ("street exists but has no mapped numbers").
    source : str
        Name of the data, used in reject reasons.

    Notes
    -----
    Building the index is one pass over the features with an address
    (about 0.1 s for 11,000 addresses); a lookup is a few dictionary accesses.
    """

    def __init__(
        self,
        features: gpd.GeoDataFrame,
        interpolations: gpd.GeoDataFrame | None = None,
        street_names: Iterable[str] | None = None,
        source: str = "the OSM extract",
        accept: Iterable[str] = (),
    ):
        self.source = source
        self.accept = check_accept(accept)
        # street key -> number key -> list of (lon, lat, street, number, postcode, city, kind)
        self._index: dict[str, dict[str, list[tuple]]] = {}
        self._names: dict[str, str] = {}
        self._postcodes: set[str] = set()
        self._cities: dict[str, str] = {}
        self._network_streets: dict[str, str] = {}
        for name in () if street_names is None else street_names:
            if isinstance(name, str) and name.strip():
                self._network_streets.setdefault(normalise_street(name), name)
        self._add_points(features)
        if interpolations is not None and len(interpolations):
            self._add_interpolations(features, interpolations)

    @classmethod
    def from_extract(cls, extract, accept: Iterable[str] = ()) -> OfflineGeocoder:
        """Geocoder over an :class:`accessibility.inputs.osm.OsmExtract`.

        Parameters
        ----------
        extract : OsmExtract
            Parsed extract: its address features and interpolations (EPSG:4326) and
            the names of its street segments.
        accept : iterable of str
            Weak matches to use (:data:`ACCEPTABLE`; ``street``: street-only matches).

        Returns
        -------
        OfflineGeocoder
            Named after the extract's file in messages.
        """
        return cls(
            extract.features,
            extract.interpolations,
            street_names=extract.segments["name"].dropna().unique(),
            source=Path(extract.source).name if extract.source else "the OSM extract",
            accept=accept,
        )

    # -- index ---------------------------------------------------------------

    def _add(self, street: str, number: str, lon: float, lat: float, pc: str, city: str, kind: str):
        skey = normalise_street(street)
        if not skey or not np.isfinite(lon):
            return
        self._names.setdefault(skey, street)
        entry = (float(lon), float(lat), street, number, pc, city, kind)
        bucket = self._index.setdefault(skey, {})
        for i, key in enumerate(number_keys(number) if kind != "interpolated" else [number]):
            kind_i = kind if i == 0 else "range"
            bucket.setdefault(key, []).append((*entry[:6], kind_i))
        if pc:
            self._postcodes.add(pc)
        if city:
            self._cities.setdefault(normalise_street(city), city)

    def _add_points(self, features: gpd.GeoDataFrame) -> None:
        tags = features["tags"].to_numpy(object)
        has = np.array(
            [
                isinstance(t, dict)
                and "addr:housenumber" in t
                and ("addr:street" in t or "addr:place" in t)
                for t in tags
            ],
            dtype=bool,
        )
        geoms = np.asarray(features.geometry.values, dtype=object)[has]
        pts = shapely.point_on_surface(geoms)
        lon, lat = shapely.get_x(pts), shapely.get_y(pts)
        for t, x, y in zip(tags[has], lon, lat, strict=True):
            street = t.get("addr:street") or t["addr:place"]
            self._add(
                street, t["addr:housenumber"], x, y,
                t.get("addr:postcode", ""), t.get("addr:city", ""), "point",
            )  # fmt: skip

    def _add_interpolations(self, features: gpd.GeoDataFrame, ways: gpd.GeoDataFrame) -> None:
        nodes = features[features["osm_type"] == "node"]
        by_id = {
            int(i): (t, g)
            for i, t, g in zip(nodes["osm_id"], nodes["tags"], nodes.geometry, strict=True)
            if isinstance(t, dict) and "addr:housenumber" in t
        }
        for wtags, ids, line in zip(ways["tags"], ways["node_ids"], ways.geometry, strict=True):
            scheme = (wtags or {}).get("addr:interpolation", "all")
            step = 2 if scheme in ("odd", "even") else 1
            if scheme not in ("odd", "even", "all"):
                continue  # alphabetic and numbered schemes: not expanded
            ends = [(by_id[int(i)], int(i)) for i in ids if int(i) in by_id]
            for ((ta, ga), _), ((tb, gb), _) in zip(ends[:-1], ends[1:], strict=True):
                a, b = (
                    _base_number(normalise_number(ta["addr:housenumber"])),
                    _base_number(normalise_number(tb["addr:housenumber"])),
                )
                if a is None or b is None or a == b or abs(b - a) > 20 * MAX_RANGE:
                    continue
                street = ta.get("addr:street") or tb.get("addr:street") or wtags.get("addr:street")
                if not street:
                    continue
                # along the way in a local equal-scale plane (lon shrunk by cos(lat)),
                # so fractions are fractions of metres, not of degrees
                k = np.cos(np.radians(line.centroid.y))
                flat = shapely.transform(line, lambda c, k=k: c * [k, 1.0])
                da = flat.project(shapely.Point(ga.x * k, ga.y))
                db = flat.project(shapely.Point(gb.x * k, gb.y))
                lo, hi = (a, b) if a < b else (b, a)
                for num in range(lo + step, hi, step):
                    frac = (num - a) / (b - a)
                    q = flat.interpolate(da + frac * (db - da))
                    p = shapely.Point(q.x / k, q.y)
                    pc = ta.get("addr:postcode") or wtags.get("addr:postcode", "")
                    city = ta.get("addr:city") or wtags.get("addr:city", "")
                    self._add(street, str(num), p.x, p.y, pc, city, "interpolated")

    def __len__(self) -> int:
        return sum(len(v) for v in self._index.values())

    # -- lookup --------------------------------------------------------------

    def geocode(self, addresses: pd.DataFrame) -> pd.DataFrame:
        """Look up addresses.

        Parameters
        ----------
        addresses : DataFrame
            ``street, housenumber`` and optionally ``postcode, city`` as text.

        Returns
        -------
        DataFrame
            :data:`RESULT_COLUMNS`, index as the input. Found rows have ``lon, lat``
            (EPSG:4326), a ``quality`` from :data:`QUALITIES` and the
            ``matched_address`` as spelt in OSM; rows not found have NaN
            coordinates, empty quality and a ``reason`` saying why (with the
            closest known streets where that helps). Street-only matches are
            misses (:data:`STREET_ONLY_REASON`) unless ``street`` is accepted.
        """
        rows = [
            self.lookup(s, h, p, c)
            for s, h, p, c in zip(
                addresses["street"],
                addresses["housenumber"],
                addresses.get("postcode", pd.Series("", index=addresses.index)),
                addresses.get("city", pd.Series("", index=addresses.index)),
                strict=True,
            )
        ]
        if "street" not in self.accept:
            rows = [
                _miss(STREET_ONLY_REASON.format(note=r[4])) if r[2] == "street_only" else r
                for r in rows
            ]
        return pd.DataFrame(rows, columns=RESULT_COLUMNS, index=addresses.index)

    def lookup(
        self, street: object, housenumber: object = "", postcode: object = "", city: object = ""
    ) -> tuple:
        """One address -> ``(lon, lat, quality, matched_address, note, reason)``.

        Parameters
        ----------
        street : object
            Street, or street and house number in one (``"Blücherstraße 15"``).
        housenumber, postcode, city : object
            The other address parts (empty = unknown).

        Returns
        -------
        tuple
            ``(lon, lat, quality, matched_address, note, reason)``: lon/lat in degrees
            (EPSG:4326), NaN when not found; ``reason`` is ``""`` when found and says
            why otherwise.
        """
        street, number = _cell(street), _cell(housenumber)
        postcode, city = _cell(postcode), _cell(city)
        if not street:
            return _miss("no street given; fill in street and house number (or lat/lon)")
        if not number:  # "Blücherstraße 15" in the street column
            parts = split_address(street)
            if parts[1]:
                street, number = parts[0], parts[1]
                postcode, city = postcode or parts[2], city or parts[3]
        ckey = normalise_street(city)
        if ckey and self._cities and not any(c in ckey or ckey in c for c in self._cities):
            return _miss(
                f"city '{city}' is not in {self.source} (it holds "
                f"{', '.join(sorted(self._cities.values()))}); is the address in the study area?"
            )
        skey = normalise_street(street)
        bucket = self._index.get(skey)
        if bucket is None:
            return _miss(self._unknown_street(street, skey))
        osm_street = self._names[skey]
        nkey = normalise_number(number)
        if not nkey:
            return self._street_only(bucket, osm_street, None, postcode)
        keys = [nkey]
        m = _RANGE.match(nkey)
        if m:
            keys.append(m.group(1))
        note = ""
        for key in keys:
            if key in bucket:
                return self._pick(bucket[key], street, number, postcode, note)
        m = _NUMBER.match(nkey)
        if m and m.group(2) and m.group(1) in bucket:
            note = f"house number {number} is not mapped; placed at {m.group(1)}"
            return self._pick(bucket[m.group(1)], street, "", postcode, note)
        base = _base_number(nkey)
        if base is None:
            return _miss(f"house number '{number}' is not a number; give e.g. 12 or 12a")
        return self._street_only(bucket, osm_street, base, postcode)

    def _unknown_street(self, street: str, skey: str) -> str:
        known = list(self._names)
        close = close_matches(skey, known, n=3, cutoff=0.75)
        hint = (
            f"; closest known streets: {', '.join(self._names[c] for c in close)}" if close else ""
        )
        if skey in self._network_streets:
            return (
                f"street '{street}' is in the walking network of {self.source} but has no mapped "
                f"house numbers there; give lat/lon for this row{hint}"
            )
        return f"street '{street}' not found among the addresses of {self.source}{hint}"

    def _pick(
        self, entries: list[tuple], street: str, number: str, postcode: str, note: str
    ) -> tuple:
        mismatch = False
        if postcode:
            key = postcode_key(postcode)
            same = [e for e in entries if postcode_key(e[4]) == key]
            if same:
                entries = same
            elif any(e[4] for e in entries):
                mismatch = True
                osm_pc = next(e[4] for e in entries if e[4])
                note = "; ".join(
                    x for x in (note, f"postcode {postcode} differs from OSM's {osm_pc}") if x
                )
        # A building with exactly this number wins over a range that contains it.
        points = [e for e in entries if e[6] == "point"]
        entries = points or entries
        xy = np.array([(e[0], e[1]) for e in entries])
        if len(entries) > 1 and _spread_m(xy) > AMBIGUOUS_M:
            places = sorted({format_address("", "", e[4], e[5]) or "?" for e in entries})
            return _miss(
                f"ambiguous: {entries[0][2]} {entries[0][3]} is mapped {len(entries)} times, more "
                f"than {AMBIGUOUS_M:.0f} m apart ({'; '.join(places)}); "
                + ("give the postcode" if len(places) > 1 else "give lat/lon for this row")
            )
        e = entries[0]
        if mismatch:
            quality = "postcode_mismatch"
        elif e[6] == "interpolated":
            quality = "interpolated"
        elif e[6] == "point" and street == e[2] and number == e[3]:
            quality = "exact"
        else:
            quality = "normalised"
        matched = format_address(e[2], e[3], e[4], e[5])
        return (e[0], e[1], quality, matched, note, "")

    def _street_only(self, bucket: dict, osm_street: str, base: int | None, postcode: str) -> tuple:
        nums: dict[int, tuple] = {}
        for key, entries in bucket.items():
            b = _base_number(key)
            if b is not None and _NUMBER.match(key):
                nums.setdefault(b, entries[0])
        if not nums:
            return _miss(f"no numbered addresses on {osm_street} in {self.source}; give lat/lon")
        known = np.array(sorted(nums))
        if base is None:
            mid = known[len(known) // 2]
            e = nums[mid]
            note = f"no house number given; placed at {osm_street} {e[3]} (middle of the street)"
            return (e[0], e[1], "street_only", format_address(osm_street, "", e[4], e[5]), note, "")
        span = f"{known.min()}–{known.max()}"
        if base < known.min() or base > known.max():
            return _miss(
                f"house number {base} is outside the mapped numbers of {osm_street} ({span}) in "
                f"{self.source}; check the number or give lat/lon"
            )
        same = known[known % 2 == base % 2]
        if len(same) == 0 or base < same.min() or base > same.max():
            same = known
        lo, hi = same[same <= base].max(), same[same >= base].min()
        ea, eb = nums[int(lo)], nums[int(hi)]
        f = 0.0 if hi == lo else (base - lo) / (hi - lo)
        lon, lat = ea[0] + f * (eb[0] - ea[0]), ea[1] + f * (eb[1] - ea[1])
        note = f"{osm_street} {base} is not mapped; placed between {ea[3]} and {eb[3]}"
        matched = format_address(osm_street, str(base), ea[4], ea[5])
        return (lon, lat, "street_only", matched, note, "")


def _miss(reason: str) -> tuple:
    return (np.nan, np.nan, "", "", "", reason)


def postcode_key(postcode: object) -> str:
    """A postcode as compared with OSM's: the same code written differently is equal.

    ``"D-67655"``, ``"DE 67655"``, ``"67 655"``, ``"67655.0"`` (a spreadsheet number) and
    ``"67655 Kaiserslautern"`` (the city in the postcode column) all give ``"67655"``;
    letters of non-German codes are kept in upper case (``"vlt 1117"`` → ``"VLT1117"``).

    Parameters
    ----------
    postcode : object
        As given, or as tagged in OSM (``addr:postcode``).

    Returns
    -------
    str
        Upper-case letters and digits only; ``""`` for an empty postcode.
    """
    s = _cell(postcode).upper()
    s = re.sub(r"\.0+$", "", s)  # 67655.0
    s = re.sub(r"^(?:D|DE)\s*-?\s*(?=\d)", "", s)  # D-67655, DE 67655
    m = re.fullmatch(r"(\d[\d ]*\d)\s+[^\d\s]{3,}.*", s)  # 67655 Kaiserslautern
    if m:
        s = m.group(1)
    return re.sub(r"[^0-9A-Z]", "", s)


def check_accept(accept: Iterable[str] | None) -> tuple[str, ...]:
    """The weak match kinds to use, checked against :data:`ACCEPTABLE`.

    Parameters
    ----------
    accept : iterable of str or None
        E.g. ``("street",)``; None or empty = none.

    Returns
    -------
    tuple of str

    Raises
    ------
    InputError
        An unknown kind (the known ones are listed).
    """
    out = tuple(dict.fromkeys(str(a).strip().lower() for a in accept or () if str(a).strip()))
    bad = [a for a in out if a not in ACCEPTABLE]
    if bad:
        raise InputError(f"--accept {bad[0]!r} is not known; use one of: {', '.join(ACCEPTABLE)}")
    return out


def _spread_m(lonlat: np.ndarray) -> float:
    """Largest distance (metres, equirectangular) of points from their first point."""
    lat0 = np.radians(lonlat[0, 1])
    d = (lonlat - lonlat[0]) * np.radians(1.0) * 6_371_000.0
    d[:, 0] *= np.cos(lat0)
    return float(np.hypot(d[:, 0], d[:, 1]).max())


# --------------------------------------------------------------------------- online


class NominatimGeocoder:
    """Offline lookup first, then Nominatim (OpenStreetMap's geocoder) for what is left.

    Follows Nominatim's usage policy: an identifying user agent, at most one
    request per second (geopy's ``RateLimiter``), and an on-disk cache so the
    same address is never asked twice (also across runs). Answers outside the
    study area are rejected.

    Parameters
    ----------
    offline : OfflineGeocoder, optional
        Tried first; only its misses go online.
    bounds : tuple, optional
        ``(west, south, east, north)`` EPSG:4326; Nominatim results outside are
        rejected and the search is biased to this box.
    user_agent : str
        Sent with every request.
    domain, scheme : str
        Nominatim server (default the public ``nominatim.openstreetmap.org`` over https).
    timeout : float
        Seconds per request.
    max_retries : int
        Retries after a failed request (with ``error_wait_s`` between them).
    error_wait_s : float
        Seconds to wait before a retry.
    min_delay_s : float
        Seconds between requests (at least 1 for the public server).
    cache : path, optional
        JSON cache file; default ``cache_dir()/geocode/nominatim-<domain>.json``.

    Raises
    ------
    GeocodingError
        (from :meth:`geocode`) the server cannot be reached or answers with an
        error after all retries; the message names the server and the cause.
    """

    def __init__(
        self,
        offline: OfflineGeocoder | None = None,
        bounds: Sequence[float] | None = None,
        user_agent: str | None = None,
        domain: str = "nominatim.openstreetmap.org",
        scheme: str = "https",
        timeout: float = 10.0,
        max_retries: int = 2,
        error_wait_s: float = 5.0,
        min_delay_s: float = NOMINATIM_MIN_DELAY_S,
        cache: str | Path | None = None,
    ):
        from .. import __version__

        self.offline = offline
        self.bounds = tuple(float(b) for b in bounds) if bounds is not None else None
        self.user_agent = user_agent or f"accessibility/{__version__} (docking-point analyzer)"
        self.domain, self.scheme = domain, scheme
        self.timeout, self.max_retries = timeout, max_retries
        self.error_wait_s = error_wait_s
        self.min_delay_s = (
            max(min_delay_s, NOMINATIM_MIN_DELAY_S)
            if "openstreetmap.org" in domain
            else min_delay_s
        )
        safe = re.sub(r"[^A-Za-z0-9.]+", "_", domain)
        self.cache_path = (
            Path(cache) if cache else cache_dir() / "geocode" / f"nominatim-{safe}.json"
        )
        self._cache: dict[str, dict] | None = None
        self._geocode = None
        self.requests = 0

    @property
    def source(self) -> str:
        """The extract's addresses first, then the Nominatim server (named in messages)."""
        return f"{self.offline.source} or Nominatim ({self.scheme}://{self.domain})"

    @staticmethod
    def query(street: str, number: str, postcode: str = "", city: str = "") -> str:
        """The query text sent (and the cache key): ``"Blücherstraße 15, 67655 Kaiserslautern, Germany"``.

        Parameters
        ----------
        street, number, postcode, city : str
            The address parts.

        Returns
        -------
        str
            :func:`format_address` plus ``", Germany"``.
        """
        return format_address(street, number, postcode, city) + ", Germany"

    def _load_cache(self) -> dict:
        if self._cache is None:
            self._cache = {}
            if self.cache_path.exists():
                try:
                    self._cache = json.loads(self.cache_path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    self._cache = {}  # a damaged cache is rebuilt, not trusted
        return self._cache

    def remember(self, query: str, lon: float | None, lat: float | None, name: str = "") -> None:
        """Store an answer (``lon=None``: not found) in the cache file.

        Parameters
        ----------
        query : str
            The query text (:meth:`query`).
        lon, lat : float or None
            Degrees (EPSG:4326); None when Nominatim found nothing.
        name : str
            Nominatim's display name of the place found.
        """
        cache = self._load_cache()
        cache[query] = (
            {"lon": lon, "lat": lat, "display_name": name} if lon is not None else {"found": False}
        )
        write_json(cache, self.cache_path)

    def _client(self):
        if self._geocode is None:
            from geopy.extra.rate_limiter import RateLimiter
            from geopy.geocoders import Nominatim

            client = Nominatim(
                user_agent=self.user_agent, domain=self.domain, scheme=self.scheme,
                timeout=self.timeout,
            )  # fmt: skip
            self._geocode = RateLimiter(
                client.geocode, min_delay_seconds=self.min_delay_s, max_retries=self.max_retries,
                error_wait_seconds=max(self.error_wait_s, self.min_delay_s),
                swallow_exceptions=False,
            )  # fmt: skip
        return self._geocode

    def _ask(self, query: str) -> dict:
        cache = self._load_cache()
        if query in cache:
            return cache[query]
        from geopy.exc import GeopyError

        kw: dict = {"exactly_one": True, "country_codes": "de"}
        if self.bounds is not None:
            w, s, e, n = self.bounds
            kw["viewbox"] = [(s, w), (n, e)]
            kw["bounded"] = True

        nominatim_pause(f"{self.scheme}://{self.domain}", self.min_delay_s)  # with place searches
        try:
            self.requests += 1
            loc = self._client()(query, **kw)
        except GeopyError as exc:
            raise GeocodingError(
                f"Nominatim at {self.scheme}://{self.domain} did not answer for '{query}' after "
                f"{self.max_retries + 1} attempts ({type(exc).__name__}: {exc}). Check the "
                "internet connection, or use --geocoder offline (addresses in the OSM extract only)"
            ) from exc
        if loc is None:
            self.remember(query, None, None)
        else:
            self.remember(query, float(loc.longitude), float(loc.latitude), loc.address)
        return cache[query]

    def geocode(self, addresses: pd.DataFrame) -> pd.DataFrame:
        """As :meth:`OfflineGeocoder.geocode`; offline misses are asked online (quality ``nominatim``).

        Parameters
        ----------
        addresses : DataFrame
            Columns ``street, housenumber, postcode, city`` (text; empty = unknown).

        Returns
        -------
        DataFrame
            Same index: ``lon, lat`` (degrees, EPSG:4326; NaN when not found),
            ``quality``, ``matched_address``, ``note`` and ``reason`` (empty when
            found). Online answers outside the extract's bounds are rejected.
        """
        if self.offline is not None:
            out = self.offline.geocode(addresses)
        else:
            out = pd.DataFrame(
                {
                    "lon": np.nan, "lat": np.nan, "quality": "", "matched_address": "",
                    "note": "", "reason": "not looked up",
                },
                index=addresses.index,
            )  # fmt: skip
        todo = out.index[out["reason"] != ""]
        accept = self.offline.accept if self.offline is not None else ()
        for i in todo:
            street = _cell(addresses.at[i, "street"])
            if not street:
                continue
            number = _cell(addresses.at[i, "housenumber"]) or split_address(street)[1]
            if not number and "street" not in accept:
                continue  # Nominatim can only place it at the street too
            q = self.query(
                street, _cell(addresses.at[i, "housenumber"]),
                _cell(addresses.get("postcode", pd.Series("", index=addresses.index)).at[i]),
                _cell(addresses.get("city", pd.Series("", index=addresses.index)).at[i]),
            )  # fmt: skip
            ans = self._ask(q)
            offline_reason = out.at[i, "reason"]
            if not ans.get("found", True) or ans.get("lon") is None:
                out.at[i, "reason"] = f"{offline_reason}; Nominatim does not know it either"
                continue
            lon, lat = float(ans["lon"]), float(ans["lat"])
            if self.bounds is not None:
                w, s, e, n = self.bounds
                if not (w <= lon <= e and s <= lat <= n):
                    out.at[i, "reason"] = (
                        f"{offline_reason}; Nominatim places it at lat={lat:.5f}, lon={lon:.5f}, "
                        "outside the study area"
                    )
                    continue
            out.loc[i, ["lon", "lat"]] = [lon, lat]
            out.at[i, "quality"] = "nominatim"
            out.at[i, "matched_address"] = ans.get("display_name", "")
            out.at[i, "reason"] = ""
        return out


def make_geocoder(
    kind: str, extract: OsmExtract, accept: Iterable[str] = (), **kw: object
) -> Geocoder:
    """``"offline"`` or ``"nominatim"`` (offline first, then Nominatim) over an extract.

    Nominatim's server, timeout, rate and user agent default to
    :meth:`accessibility.inputs.servers.Servers.from_env` (``ACCESSIBILITY_NOMINATIM_URL`` ...);
    keyword arguments of :class:`NominatimGeocoder` given here win.

    Parameters
    ----------
    kind : {"offline", "nominatim"}
        Which geocoder.
    extract : OsmExtract
        The parsed OSM extract (addresses; its bounds limit Nominatim answers).
    accept : iterable of str
        Weak matches to use (:data:`ACCEPTABLE`): ``("street",)`` places addresses
        found by street only; by default they are rejected with the reason.
    **kw
        Keyword arguments of :class:`NominatimGeocoder` (None values are ignored).

    Returns
    -------
    Geocoder
        An :class:`OfflineGeocoder` or a :class:`NominatimGeocoder`.

    Raises
    ------
    InputError
        ``kind`` is neither.
    """
    offline = OfflineGeocoder.from_extract(extract, accept=accept)
    if kind == "offline":
        return offline
    if kind == "nominatim":
        kw = {**Servers.from_env().geopy_kwargs(), **{k: v for k, v in kw.items() if v is not None}}
        return NominatimGeocoder(offline, bounds=extract.bounds, **kw)  # type: ignore[arg-type]
    raise InputError(f"unknown geocoder {kind!r}; use 'offline' or 'nominatim'")

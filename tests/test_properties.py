"""Property tests (hypothesis) of the input readers (issue 11).

Random bytes, columns, encodings and values are thrown at the population, sites, stock,
districts and scenario readers. Every call must end in a result or in an
:class:`~accessibility.errors.InputError` that names the file, never in another
exception; and nothing is dropped silently: used rows + rejected rows = input rows.

Bounded to keep the suite fast: a few hundred examples in all, no deadline.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from accessibility.errors import InputError  # noqa: E402
from accessibility.rejects import Rejects  # noqa: E402

SETTINGS = settings(
    max_examples=45,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Cell values a careless or hostile user might put in a table.
VALUES = st.one_of(
    st.sampled_from(["", " ", "nan", "NaN", "inf", "-inf", "1e23", "-5", "0", "12", "12,5",
                     "3.5", "49.44", "7.76", "-", ".", "=1+1", "@SUM(A1)", "+49 631", "Ä ß ø",
                     "\"quoted\"", "a;b", "a\tb", "line\nbreak", "x" * 300, "None", "true",
                     "library", "advice_centre", "Library", "1/2", "0x1F", "1_000"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**30, 10**30).map(str),
    st.text(max_size=12),
)  # fmt: skip
#: pandas' C reader (population and Zensus files) ends a record at a carriage return even
#: inside quotes; such a cell splits its row in two (both reported, none lost). Known
#: limitation, kept out of the row-count property of those readers.
NO_CR = {"filter": lambda v: "\r" not in v}
NUMBERS = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda v: f"{v:.6f}"),
    VALUES,
)
LATS = st.one_of(st.floats(49.40, 49.48).map(lambda v: f"{v:.6f}"), VALUES)
LONS = st.one_of(st.floats(7.70, 7.82).map(lambda v: f"{v:.6f}"), VALUES)
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"])


def _no_cr(strategy):
    return strategy.filter(NO_CR["filter"])


def _csv_text(header: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


@st.composite
def tables(draw, required: list[str], extra: list[str], cells: dict):
    """(header, rows): the required columns (some maybe dropped or renamed) plus extras.

    Every row's first cell is not blank, so each generated row is one input row.
    """
    cols = [c for c in required if draw(st.booleans()) or draw(st.integers(0, 9)) > 0]
    cols += draw(st.lists(st.sampled_from(extra), max_size=3, unique=True))
    if not cols or not draw(st.booleans()) and draw(st.integers(0, 5)) == 0:
        cols = cols or ["x"]
    cols = [draw(st.sampled_from([c, c.upper(), f" {c} "])) for c in cols]
    n = draw(st.integers(1, 8))
    rows = []
    default = cells.get("*", VALUES)
    for _ in range(n):
        row = [draw(cells.get(c.strip().lower(), default)) for c in cols]
        if not row[0].strip():
            row[0] = "1"
        rows.append(row)
    return cols, rows


def _write(tmp: Path, name: str, text: str, encoding: str) -> Path | None:
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        return None
    path = tmp / name
    path.write_bytes(data)
    return path


def _rejected_rows(rejects: Rejects, path: Path) -> int:
    f = rejects.frame()
    f = f[f["file"].astype(str) == str(path)]
    return f["row"].dropna().nunique()


def _check_error(exc: InputError, path: Path) -> None:
    assert exc.file is not None and Path(exc.file).name == path.name, str(exc)
    assert "\n" not in str(exc).strip() or len(str(exc)) < 2000


def _accounted(fn, path: Path, n_rows: int, rejects: Rejects) -> None:
    """``fn()`` gives a frame whose rows + the rejected rows are the ``n_rows`` input rows."""
    try:
        got = fn()
    except InputError as exc:
        _check_error(exc, path)
        return
    used = len(got)
    assert used + _rejected_rows(rejects, path) == n_rows, (used, rejects.frame())
    if "row" in got:
        assert set(got["row"].dropna().astype(int)).isdisjoint(
            set(rejects.frame()["row"].dropna().astype(int))
        )


# --------------------------------------------------------------------------- population


@SETTINGS
@given(table=tables(["lat", "lon", "einwohner"], ["name", "id", "kinder", "x", "y"],
                    {"lat": _no_cr(LATS), "lon": _no_cr(LONS), "einwohner": _no_cr(NUMBERS),
                     "kinder": _no_cr(NUMBERS), "*": _no_cr(VALUES)}),
       encoding=ENCODINGS)  # fmt: skip
def test_population_points_reader(table, encoding):
    from accessibility.inputs.population import read_points

    header, rows = table
    with tempfile.TemporaryDirectory() as d:
        path = _write(Path(d), "pop.csv", _csv_text(header, rows), encoding)
        if path is None:
            return
        rejects = Rejects()
        _accounted(lambda: read_points(path, "einwohner", rejects), path, len(rows), rejects)


@SETTINGS
@given(table=tables(["gitter_id_100m", "x_mp_100m", "y_mp_100m", "einwohner"], ["frauen"],
                    {"gitter_id_100m": st.one_of(
                        st.integers(0, 99).map(lambda i: f"100mN2{i:04d}E4{i:04d}"), _no_cr(VALUES)),
                     "x_mp_100m": _no_cr(NUMBERS), "y_mp_100m": _no_cr(NUMBERS),
                     "einwohner": _no_cr(NUMBERS), "*": _no_cr(VALUES)}))  # fmt: skip
def test_population_zensus_reader(table):
    from accessibility.inputs.population import drop_implausible, read_zensus

    header, rows = table
    if "gitter_id_100m" not in [h.strip().lower() for h in header]:
        header = ["Gitter_ID_100m", *header]
        rows = [["100mN20000E40000", *r] for r in rows]
    with tempfile.TemporaryDirectory() as d:
        path = _write(Path(d), "zensus.csv", _csv_text(header, rows, ";"), "utf-8")
        rejects = Rejects()
        _accounted(lambda: drop_implausible(read_zensus([path], rejects), rejects), path,
                   len(rows), rejects)  # fmt: skip


@SETTINGS
@given(data=st.binary(max_size=300))
def test_population_reader_random_bytes(data):
    from accessibility.inputs.population import read_points

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "pop.csv"
        path.write_bytes(data)
        try:
            read_points(path, "einwohner", Rejects())
        except InputError as exc:
            _check_error(exc, path)


# --------------------------------------------------------------------------- sites and stock


@SETTINGS
@given(table=tables(["name", "category", "lat", "lon"], ["id", "x", "y", "address", "note"],
                    {"lat": LATS, "lon": LONS, "category": st.one_of(
                        st.sampled_from(["library", "advice_centre", "all", ""]), VALUES)}),
       encoding=ENCODINGS, delimiter=st.sampled_from([",", ";", "\t"]))  # fmt: skip
def test_sites_reader(table, encoding, delimiter):
    from accessibility.inputs.sites import read_sites

    header, rows = table
    with tempfile.TemporaryDirectory() as d:
        path = _write(Path(d), "sites.csv", _csv_text(header, rows, delimiter), encoding)
        if path is None:
            return
        rejects = Rejects()
        _accounted(lambda: read_sites(path, rejects), path, len(rows), rejects)


@SETTINGS
@given(table=tables(["building_id", "lat", "lon"], ["units", "residents", "estate", "street"],
                    {"lat": LATS, "lon": LONS, "units": NUMBERS, "residents": NUMBERS}),
       encoding=ENCODINGS)  # fmt: skip
def test_stock_reader(table, encoding):
    from accessibility.inputs.stock_file import read_stock

    header, rows = table
    with tempfile.TemporaryDirectory() as d:
        path = _write(Path(d), "stock.csv", _csv_text(header, rows), encoding)
        if path is None:
            return
        rejects = Rejects()
        _accounted(lambda: read_stock(path, rejects), path, len(rows), rejects)


@SETTINGS
@given(data=st.binary(max_size=300), kind=st.sampled_from(["sites", "stock"]))
def test_sites_and_stock_random_bytes(data, kind):
    from accessibility.inputs.sites import read_sites
    from accessibility.inputs.stock_file import read_stock

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"{kind}.csv"
        path.write_bytes(data)
        try:
            (read_sites if kind == "sites" else read_stock)(path, Rejects())
        except InputError as exc:
            _check_error(exc, path)


# --------------------------------------------------------------------------- districts

COORD = st.one_of(st.floats(7.70, 7.82), st.floats(allow_nan=True, allow_infinity=True))


@st.composite
def geojson(draw):
    feats = []
    for _ in range(draw(st.integers(0, 4))):
        x0, y0 = draw(st.floats(7.70, 7.80)), draw(st.floats(49.40, 49.47))
        w = draw(st.sampled_from([0.0, 0.001, 0.01, -0.01]))
        ring = [[x0, y0], [x0 + w, y0], [x0 + w, y0 + abs(w)], [x0, y0 + abs(w)], [x0, y0]]
        geom = draw(st.sampled_from([
            {"type": "Polygon", "coordinates": [ring]},
            {"type": "Point", "coordinates": [x0, y0]},
            None,
        ]))  # fmt: skip
        props = {
            draw(st.sampled_from(["name", "NAME", "stadtteil"])): draw(
                st.one_of(st.text(max_size=8), st.none(), st.integers())
            )
        }
        feats.append({"type": "Feature", "properties": props, "geometry": geom})
    return json.dumps({"type": "FeatureCollection", "features": feats})


@pytest.mark.filterwarnings("ignore:Could not parse column")
@SETTINGS
@given(text=st.one_of(geojson(), st.text(max_size=200)), column=st.sampled_from([None, "name"]))
def test_districts_reader(text, column):
    from accessibility.inputs.districts import read_districts

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "districts.geojson"
        path.write_text(text, encoding="utf-8")
        try:
            got = read_districts(path, column)
        except InputError as exc:
            _check_error(exc, path)
            return
        n = len(json.loads(text)["features"])
        assert len(got) == n  # a districts file is used whole or refused
        assert got["district"].is_unique


# --------------------------------------------------------------------------- scenarios

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20))  # fmt: skip
YAML_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)  # fmt: skip
CHANGE = st.fixed_dictionaries({}).flatmap(
    lambda _: st.dictionaries(
        st.sampled_from(["add", "remove", "move", "recategorise", "recategorize", "close"]),
        st.one_of(YAML_VALUES, st.fixed_dictionaries(
            {"name": SCALARS, "category": SCALARS, "lat": SCALARS, "lon": SCALARS},
            optional={"id": SCALARS, "address": SCALARS})),
        min_size=1, max_size=1,
    )
)  # fmt: skip


@SETTINGS
@given(doc=st.fixed_dictionaries(
    {"network": st.one_of(st.just("demo"), SCALARS)},
    optional={"name": YAML_VALUES, "minutes": YAML_VALUES, "speed": SCALARS,
              "max_access": SCALARS, "osm_categories": YAML_VALUES,
              "changes": st.one_of(st.lists(CHANGE, max_size=4), YAML_VALUES),
              "unknown_key": SCALARS}),
    raw=st.one_of(st.none(), st.binary(max_size=200)))  # fmt: skip
def test_scenario_reader(doc, raw):
    from accessibility.planning.scenario_file import read_scenario

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "s.yaml"
        if raw is None:
            path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        else:
            path.write_bytes(raw)
        try:
            sc = read_scenario(path)
        except InputError as exc:
            _check_error(exc, path)
            assert len(str(exc)) < 1500
            return
        assert all(0 < m < float("inf") for m in sc.minutes)
        assert 0 < sc.speed_kmh < float("inf") and 0 < sc.max_access_m < float("inf")

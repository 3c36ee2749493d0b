"""Zensus grids of any size (issue 10): 1 km tables, zipped downloads, spreading coarse cells.

Real data only: the Rhein-Neckar 1 km grid and road network, the national 1 km zip files,
and the Kaiserslautern 100 m grid and OSM extract (aggregated here into its 1 km cells).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accessibility import config
from accessibility.errors import InputError
from accessibility.pipeline import is_zensus
from accessibility.rejects import Rejects
from accessibility.zensus import read_zensus


def _data(folder: str, name: str) -> Path:
    p = config.shared_data_dir() / folder / name
    if not p.exists():
        pytest.skip(f"real data {p} not found; set ACCESSIBILITY_DATA to the shared data folder")
    return p


@pytest.fixture(scope="module")
def rn_csv() -> Path:
    return _data("rhein-neckar", "zensus2011_1km_rhein-neckar.csv")


@pytest.fixture(scope="module")
def rn_age() -> Path:
    return _data("rhein-neckar", "zensus2011_1km_rhein-neckar_alter.csv")


@pytest.fixture(scope="module")
def rn_raw(rn_csv, rn_age) -> pd.DataFrame:
    """Both Rhein-Neckar tables as plain pandas reads them, joined on the cell id."""
    a = pd.read_csv(rn_csv, sep=";")
    b = pd.read_csv(rn_age, sep=";").drop(columns=["x_mp_1km", "y_mp_1km"])
    return a.merge(b, on="Gitter_ID_1km", how="left", validate="1:1")


# --------------------------------------------------------------------------- #
# Reading
# --------------------------------------------------------------------------- #


def test_read_1km_grid_with_age_shares(rn_csv, rn_age, rn_raw):
    rejects = Rejects()
    cells = read_zensus([rn_csv, rn_age], rejects)
    assert len(rejects) == 0
    assert len(cells) == len(rn_raw) == 1571
    assert cells["population"].sum() == 1_638_599 == rn_raw["Einwohner"].sum()
    assert cells.attrs["cell_size_m"] == 1000 and cells.attrs["edition"] == "2011"
    assert cells.crs.to_epsg() == 3035
    np.testing.assert_array_equal(cells.geometry.x, rn_raw["x_mp_1km"])
    # Shares in % become persons; negative (suppressed) shares are 0 persons, counted.
    assert cells.attrs["groups"] == ["unter18", "ab65"]
    assert cells.attrs["share_columns"] == {"unter18": "unter18_A", "ab65": "ab65_A"}
    for group, col in (("unter18", "unter18_A"), ("ab65", "ab65_A")):
        share = rn_raw[col].to_numpy(float)
        assert (share < 0).any()  # the real table has suppressed values
        want = np.where(share < 0, 0.0, share / 100 * rn_raw["Einwohner"])
        np.testing.assert_allclose(cells[group], want, rtol=0, atol=1e-9)
        assert cells.attrs["suppressed_by_group"][group] == int((share < 0).sum())
    # The mean age is no count of persons: not a group, named as not used.
    assert "Alter_D" not in cells.columns
    assert cells.attrs["not_counts"] == {str(rn_age): ["Alter_D"]}
    assert "Alter_D" in cells.attrs["method"] and "1 km" in cells.attrs["method"]


def test_read_germany_zip_directly(rn_raw):
    zpath = _data("germany", "csv_Zensus2011_Bevoelkerung_1km-Gitter.zip")
    assert is_zensus(zpath)
    rejects = Rejects()
    cells = read_zensus([zpath], rejects)
    # PROVENANCE.md: all 214,633 inhabited cells of Germany, 80,212,528 residents.
    assert len(cells) == 214_633 and cells["population"].sum() == 80_212_528
    assert len(rejects) == 0 and cells.attrs["cell_size_m"] == 1000
    # The regional table is a cut-out of the national one: same cells, same counts.
    sub = cells.set_index("pid").loc[rn_raw["Gitter_ID_1km"]]
    np.testing.assert_array_equal(sub["population"], rn_raw["Einwohner"])
    np.testing.assert_array_equal(sub.geometry.y, rn_raw["y_mp_1km"])


def test_zip_must_hold_one_table(rn_csv, rn_age, tmp_path):
    z = tmp_path / "two.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(rn_csv, rn_csv.name)
        zf.write(rn_age, rn_age.name)
    with pytest.raises(InputError, match="exactly one .csv"):
        read_zensus([z], Rejects())


def test_read_1km_grid_2022_layout(rn_csv, rn_raw, tmp_path):
    """The 2022 layout: GITTER_ID_1km with ids in metres (CRS3035RES1000mN…E…)."""
    t = pd.read_csv(rn_csv, sep=";")
    n = (t["y_mp_1km"] - 500).astype(str)
    e = (t["x_mp_1km"] - 500).astype(str)
    t["Gitter_ID_1km"] = "CRS3035RES1000mN" + n + "E" + e
    t = t.rename(columns={"Gitter_ID_1km": "GITTER_ID_1km"})
    p = tmp_path / "Zensus2022_Bevoelkerungszahl_1km-Gitter.csv"
    t.to_csv(p, sep=";", index=False)
    cells = read_zensus([p], Rejects())
    assert cells.attrs["edition"] == "2022" and cells.attrs["cell_size_m"] == 1000
    assert cells["population"].sum() == rn_raw["Einwohner"].sum()


def test_grids_of_different_sizes_are_not_joined(rn_age):
    kl = _data("kaiserslautern", "zensus2011_100m_kaiserslautern.csv")
    with pytest.raises(InputError, match="different cell sizes"):
        read_zensus([kl, rn_age], Rejects())

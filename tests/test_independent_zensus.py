"""The Zensus reader on grids of any size, shares and means, checked value by value (issue 18).

Small grid tables written by hand in the layouts Destatis publishes (2011: ``Gitter_ID_1km``,
``unter18_A`` shares in %, ``Alter_D`` means; 2022: ``GITTER_ID_1km``, ``Anteil…`` and
``Durchschnitt…``), so every kept cell, group value in persons, reject, attribute and the
method text can be worked out by hand. The real Rhein-Neckar 1 km tables are checked against
plain pandas in ``tests/test_grids.py``; these cases cover what the real tables do not hold
(shares in the population file, shares above 100 %, 2022 names, other cell sizes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from accessibility.errors import InputError
from accessibility.inputs.zensus import grid_resolution, read_zensus, zensus_group_names
from accessibility.rejects import Rejects


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _rejects(rej: Rejects) -> list[tuple[str, int, str, str]]:
    f = rej.frame()
    return sorted(
        zip(f["file"], f["row"].astype(int), f["reason"], f["value"].astype(str), strict=True)
    )


def test_grid_resolution_from_the_id_column():
    """The cell size comes from the first grid id column, in any case and with blanks."""
    assert grid_resolution(["Gitter_ID_100m", "x_mp_100m"]) == ("100m", 100.0)
    assert grid_resolution(["x", " GITTER_ID_1KM "]) == ("1km", 1000.0)
    assert grid_resolution(["gitter_id_10km"]) == ("10km", 10000.0)
    assert grid_resolution(["Gitter_ID_250m", "Gitter_ID_1km"]) == ("250m", 250.0)
    assert grid_resolution(["id", "Gitter_ID", "Gitter_ID_1kmx", "Gitter_ID_km"]) is None
    assert grid_resolution([]) is None


def test_1km_grid_shares_means_and_an_attribute_file(tmp_path):
    """2011 1 km layout: shares in % become persons, means are left out, bad rows rejected."""
    pop = _write(
        tmp_path / "pop1km.csv",
        "Gitter_ID_1km;x_mp_1km;y_mp_1km;Einwohner;unter18_A;Alter_D;Kreis;kinder\n"
        "1kmN2910E4204;4204500;2910500;200;25,0;36,5;Mannheim;7\n"  # 1 kept
        "1kmN2910E4205;4205500;2910500;100;-9;40,1;Mannheim;-\n"  # 2 kept: share suppressed
        "1kmN2910E4206;4206500;2910500;50;120;41;Heidelberg;3\n"  # 3 share above 100 %
        "1kmN2910E4207;4207500;2910500;80;–;39;Heidelberg;O\n"  # 4 'kinder' not a number
        "1kmN2910E4208;4208500;2910500;40;–;38;Heidelberg;2\n"  # 5 kept: share secret
        "1kmN2910E4209;4209500;2910500;30;100;38;Heidelberg;1\n",  # 6 kept: 100 % is allowed
    )
    attr = _write(
        tmp_path / "attr1km.csv",
        "Gitter_ID_1km;ab65_A;frauen\n"
        "1kmN2910E4208;50;20\n"  # 1 kept
        "1kmN2910E4204;10;120\n"  # 2 kept
        "1kmN2910E4205;-1;-1\n"  # 3 negative 'frauen'
        "1kmN2910E4209;101;1\n"  # 4 share above 100 %
        "1kmN2910E4206;5;5\n",  # 5 the population row was rejected
    )
    rej = Rejects()
    z = read_zensus([pop, attr], rej)
    assert _rejects(rej) == sorted([
        (str(pop), 3, "share 'unter18_A' above 100 %", "120"),
        (str(pop), 4, "'kinder' is not a number", "O"),
        (str(attr), 3, "negative 'frauen'", "-1"),
        (str(attr), 4, "share 'ab65_A' above 100 %", "101"),
        (str(attr), 5, "the cell's row in the population file pop1km.csv was rejected",
         "1kmN2910E4206"),
    ])  # fmt: skip
    assert z["pid"].tolist() == ["1kmN2910E4204", "1kmN2910E4205", "1kmN2910E4208", "1kmN2910E4209"]
    assert z["row"].tolist() == [1, 2, 5, 6]
    assert list(z.columns) == ["pid", "row", "population", "unter18", "kinder", "ab65", "frauen",
                               "geometry"]  # fmt: skip
    # persons: unter18 = share/100 × Einwohner (suppressed or secret: 0); ab65 from the
    # attribute file, 0 where the cell is not in it (or its row there was rejected)
    want = [
        [200, 50, 7, 20, 120],
        [100, 0, 0, 0, 0],
        [40, 0, 2, 20, 20],
        [30, 30, 1, 0, 0],
    ]
    np.testing.assert_allclose(
        z[["population", "unter18", "kinder", "ab65", "frauen"]].to_numpy(), want, rtol=0,
        atol=1e-12,
    )  # fmt: skip
    np.testing.assert_array_equal(
        shapely.get_coordinates(z.geometry.to_numpy()),
        [[4204500, 2910500], [4205500, 2910500], [4208500, 2910500], [4209500, 2910500]],
    )
    a = z.attrs
    assert z.crs.to_epsg() == 3035
    assert a["cell_size_m"] == 1000 and isinstance(a["cell_size_m"], int)
    assert a["edition"] == "2011"
    assert a["groups"] == ["unter18", "kinder", "ab65", "frauen"]
    assert a["share_columns"] == {"unter18": "unter18_A", "ab65": "ab65_A"}
    assert list(a["share_columns"]) == ["unter18", "ab65"]
    # secret group values among the kept cells: unter18 rows 2 and 5, kinder row 2
    assert a["suppressed_by_group"] == {"unter18": 2, "kinder": 1, "ab65": 0, "frauen": 0}
    assert a["suppressed_group_values"] == 3
    assert a["not_counts"] == {str(pop): ["Alter_D"]}
    assert a["ignored_columns"] == {str(pop): ["Kreis"]}
    assert a["cells_missing_in_attribute_file"] == {str(attr): 2}
    assert a["population_file"] == str(pop) and a["population_column"] == "Einwohner"
    assert a["method"] == (
        "Zensus 1 km grid (pop1km.csv): the 'Einwohner' count of each cell is taken as the "
        "cell's total (EPSG:3035), joined on the cell id with 1 attribute file(s) for the "
        "groups. Groups unter18, ab65 are shares in % of the cell's residents (columns "
        "unter18_A, ab65_A) turned into persons; suppressed shares (negative, e.g. -9) count "
        "as 0 persons (2 cell values). Means (Alter_D) are not counts of persons and are not "
        "used."
    )
    # the attribute file first: the population file is still the one with 'Einwohner'
    swapped = read_zensus([attr, pop], Rejects())
    assert swapped.attrs["population_file"] == str(pop)
    assert swapped["pid"].tolist() == z["pid"].tolist()
    assert swapped.attrs["groups"] == ["ab65", "frauen", "unter18", "kinder"]
    np.testing.assert_allclose(swapped[a["groups"]].to_numpy(), z[a["groups"]].to_numpy())


def test_2022_names_other_cell_sizes_and_the_method_text(tmp_path):
    """2022 'Anteil…'/'Durchschnitt…' columns; 10 km and 250 m grids; 100 m cells are midpoints."""
    p = _write(
        tmp_path / "z22.csv",
        "GITTER_ID_1km;x_mp_1km;y_mp_1km;Einwohner;AnteilUeber65;anteil_unter18;"
        "DurchschnittAlter;durchschnittFlaeche;Pers_D;Frauen_a\n"
        "CRS3035RES1000mN2910000E4204000;4204500;2910500;10;30;-1;44;80;2;4\n"
        "CRS3035RES1000mN2911000E4204000;4204500;2911500;20;5,5;50;41;75;2;6\n"
        "CRS3035RES1000mN2912000E4204000;4204500;2912500;40;0;0,5;40;70;2;1\n",
    )
    z = read_zensus(p, Rejects())
    a = z.attrs
    assert a["edition"] == "2022" and a["cell_size_m"] == 1000
    # '_a' in lower case is no share (Destatis writes '_A'): a count of persons as it is
    assert a["groups"] == ["Ueber65", "unter18", "Frauen_a"]
    assert a["share_columns"] == {"Ueber65": "AnteilUeber65", "unter18": "anteil_unter18"}
    np.testing.assert_allclose(
        z[["population", "Ueber65", "unter18", "Frauen_a"]].to_numpy(),
        [[10, 3, 0, 4], [20, 1.1, 10, 6], [40, 0, 0.2, 1]], rtol=0, atol=1e-12,
    )  # fmt: skip
    # -1 is the suppressed mark; 0 % and 0.5 % are published values, not suppressed ones
    assert a["suppressed_by_group"] == {"Ueber65": 0, "unter18": 1, "Frauen_a": 0}
    assert a["not_counts"] == {str(p): ["DurchschnittAlter", "durchschnittFlaeche", "Pers_D"]}
    assert a["method"] == (
        "Zensus 1 km grid (z22.csv): the 'Einwohner' count of each cell is taken as the cell's "
        "total (EPSG:3035). Groups Ueber65, unter18 are shares in % of the cell's residents "
        "(columns AnteilUeber65, anteil_unter18) turned into persons; suppressed shares "
        "(negative, e.g. -9) count as 0 persons (1 cell values). Means (DurchschnittAlter, "
        "durchschnittFlaeche, Pers_D) are not counts of persons and are not used."
    )
    # other cell sizes: the label in the method text, the size in attrs
    ten = _write(
        tmp_path / "ten.csv",
        "Gitter_ID_10km;x_mp_10km;y_mp_10km;Einwohner\n10kmN291E420;4205000;2915000;5000\n",
    )
    zt = read_zensus(ten, Rejects())
    assert zt.attrs["cell_size_m"] == 10000 and zt.attrs["edition"] == "2011"
    assert zt.attrs["method"] == (
        "Zensus 10 km grid (ten.csv): the 'Einwohner' count of each cell is taken as the cell's "
        "total (EPSG:3035)."
    )
    odd = _write(
        tmp_path / "odd.csv",
        "Gitter_ID_250m;x_mp_250m;y_mp_250m;Einwohner\nA;4204125;2910125;12\n",
    )
    zo = read_zensus(odd, Rejects())
    assert zo.attrs["cell_size_m"] == 250 and zo.attrs["edition"] is None
    assert zo.attrs["method"].startswith("Zensus 250 m grid (odd.csv): the 'Einwohner' count ")
    assert "taken as the cell's total" in zo.attrs["method"]
    hundred = _write(
        tmp_path / "h.csv",
        "Gitter_ID_100m;x_mp_100m;y_mp_100m;Einwohner\n100mN29100E42040;4204050;2910050;3\n",
    )
    assert read_zensus(hundred, Rejects()).attrs["method"] == (
        "Zensus 100 m grid (h.csv): the 'Einwohner' count of each cell is placed at the cell "
        "midpoint (EPSG:3035)."
    )


def test_grids_of_different_sizes_name_both_files(tmp_path):
    """Tables of a 1 km and a 100 m grid are not joined; the error names both sizes."""
    pop = _write(
        tmp_path / "pop.csv",
        "Gitter_ID_1km;x_mp_1km;y_mp_1km;Einwohner\n1kmN2910E4204;4204500;2910500;200\n",
    )
    fine = _write(tmp_path / "fine.csv", "Gitter_ID_100m;a\n100mN29100E42040;1\n")
    half = _write(tmp_path / "half.csv", "Gitter_ID_1500m;a\nX;1\n")
    with pytest.raises(InputError) as err:
        read_zensus([pop, fine], Rejects())
    assert str(err.value) == f"{fine}: " + (
        "the tables belong to grids of different cell sizes: pop.csv is a 1 km grid, fine.csv a "
        "100 m grid; join tables of one grid only"
    )
    assert err.value.file == str(fine)
    with pytest.raises(InputError) as err:
        read_zensus([fine, pop], Rejects())  # the population file's grid is the reference
    assert "pop.csv is a 1 km grid, fine.csv a 100 m grid" in str(err.value)
    assert err.value.file == str(fine)
    with pytest.raises(InputError, match=r"pop.csv is a 1 km grid, half.csv a 1.5 km grid"):
        read_zensus([pop, half], Rejects())
    # a 1 km attribute table whose id column is missing: the 1 km layout is asked for
    bad = _write(tmp_path / "bad.csv", "id;a\n1kmN2910E4204;1\n")
    with pytest.raises(InputError, match="missing column.*'Gitter_ID_1km'") as err:
        read_zensus([pop, bad], Rejects())
    assert err.value.file == str(bad)
    assert "Gitter_ID_1km;x_mp_1km;y_mp_1km;Einwohner (2011)" in str(err.value)


def test_no_population_column_lists_every_file(tmp_path):
    """Without 'Einwohner' the error lists each file's columns, one after the other."""
    a = _write(tmp_path / "a.csv", "Gitter_ID_100m;Einwohnr\nX;1\n")
    b = _write(tmp_path / "b.csv", "Gitter_ID_100m;frauen\nX;1\n")
    with pytest.raises(InputError) as err:
        read_zensus([], Rejects())
    assert (
        str(err.value) == "no Zensus file given; pass at least one CSV with an 'Einwohner' column"
    )
    with pytest.raises(InputError) as err:
        read_zensus([a, b], Rejects())
    msg = str(err.value)
    assert msg.endswith(
        f"{a} has columns: Gitter_ID_100m, Einwohnr ('Einwohnr' looks like a misspelling of "
        f"'Einwohner'); {b} has columns: Gitter_ID_100m, frauen"
    )
    assert err.value.file is None


def test_group_names_are_numbered_until_free():
    """A clashing name gets the file stem, then _2, _3, ... until it is unused."""
    paths = [Path("p.csv"), Path("q.csv")]
    names = zensus_group_names(paths, {0: ["a"]}, taken={"a", "p_a", "p_a_2"})
    assert names == {0: ["p_a_3"]}
    names = zensus_group_names(
        paths, {0: ["v", "w"], 1: ["V", "pid"]}, taken={"einwohner"}
    )  # 'v'/'V' clash across files; 'pid' is reserved
    assert names == {0: ["p_v", "w"], 1: ["q_V", "q_pid"]}
    # a prefixed name that is itself reserved ('cell' + 'id' = 'cell_id') is numbered too
    cell = [Path("cell.csv"), Path("other.csv")]
    assert zensus_group_names(cell, {0: ["id"], 1: ["id"]}, taken=set()) == {
        0: ["cell_id_2"],
        1: ["other_id"],
    }

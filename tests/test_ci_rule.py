"""The CI rule of tests/conftest.py: with CI=true a skipped test fails the run; locally not."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

SUITE = """
import pytest


def test_runs():
    assert 1 + 1 == 2


def test_needs_something():
    pytest.skip("the thing is not installed here")
"""


def _run(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess:
    d = tmp_path / "suite"
    d.mkdir(exist_ok=True)
    shutil.copy2(HERE / "conftest.py", d / "conftest.py")
    (d / "test_x.py").write_text(SUITE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["ACCESSIBILITY_DATA"] = str(tmp_path / "no-data")
    env["ACCESSIBILITY_CACHE"] = str(tmp_path / "cache")
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(d)],
        cwd=d, env=env, capture_output=True, text=True,
    )  # fmt: skip


def test_skip_fails_the_run_in_ci_and_names_what_is_missing(tmp_path):
    p = _run(tmp_path, "true")
    assert p.returncode == 1, p.stdout
    assert "CI=true: skipped tests fail the run" in p.stdout
    assert "1 test(s) skipped: the thing is not installed here" in p.stdout
    assert "missing: shared data file" in p.stdout and "no-data" in p.stdout


def test_skip_is_allowed_and_listed_locally(tmp_path):
    p = _run(tmp_path, None)
    assert p.returncode == 0, p.stdout
    assert "SKIPPED" in p.stdout and "the thing is not installed here" in p.stdout
    assert "CI=true" not in p.stdout
    assert _run(tmp_path, "false").returncode == 0

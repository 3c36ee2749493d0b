"""A killed `analyze --out X` over an existing X leaves X as it was or complete and new (issue 11).

Runs the real command as a subprocess on a small street grid and kills it (SIGKILL, once
SIGTERM) before it writes, as soon as its staging folder appears, and at several moments
while it writes there. After every kill X must be byte for byte the previous folder, or
the complete new one; never a mix.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests import _small


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _start(args: list[str], out: Path, env: dict) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "accessibility.cli", *args, "--out", str(out)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for(pred, proc: subprocess.Popen, timeout: float = 60.0) -> bool:
    """Poll every 2 ms until ``pred()`` or the process ends; True if ``pred()`` became true."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if pred():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.002)
    return False


def test_kill_during_analyze_leaves_old_or_new_folder(tmp_path):
    env = {**os.environ, "ACCESSIBILITY_CACHE": str(tmp_path / "cache")}
    args = _small.analyze_args(tmp_path)
    out = tmp_path / "X"
    old_run = _start(args, out, env)
    assert old_run.wait(120) == 0
    old = _snapshot(out)
    assert "run.json" in old and len(old) > 10

    new_args = [*args[:-1], "3"]  # --minutes 3 instead of 2,4: every table differs

    def staging() -> list[Path]:
        return list(tmp_path.glob(".X.staging-*/X"))

    def written(name: str):
        return lambda: any((s / name).exists() for s in staging())

    # kill points: while loading (before any output), when staging appears, after some
    # files, after run.json inside staging, and delays after staging appears
    points = [
        ("loading", lambda: True, 0.3, signal.SIGKILL),
        ("staging appears", lambda: bool(staging()), 0.0, signal.SIGKILL),
        ("residents written", written("residents.gpkg"), 0.0, signal.SIGKILL),
        ("isochrones written", written("isochrones.csv"), 0.0, signal.SIGTERM),
        ("run.json written", written("run.json"), 0.0, signal.SIGKILL),
        ("map written", written("map.html"), 0.0, signal.SIGKILL),
        ("staging + 0.2 s", lambda: bool(staging()), 0.2, signal.SIGKILL),
    ]
    states = []
    for label, pred, delay, sig in points:
        proc = _start(new_args, out, env)
        hit = _wait_for(pred, proc)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(sig)
        proc.wait(60)
        now = _snapshot(out)
        if now == old:
            states.append((label, "old", hit))
            continue
        rec = json.loads(now["run.json"])
        assert rec.get("complete") is True, label
        assert rec["parameters"]["minutes"] == [3.0], label
        assert set(now) == set(old), label  # the same complete set of files
        states.append((label, "new", hit))
        old = now  # the next run replaces this one
    # the kills hit the write phase (staging existed) and left the old folder there
    assert sum(1 for _, s, hit in states if s == "old" and hit) >= 3, states
    # a good run afterwards completes and removes the leftovers of the killed ones
    final = _start(new_args, out, env)
    assert final.wait(120) == 0
    assert staging() == [] and list(tmp_path.glob(".X.staging-*")) == []
    rec = json.loads((out / "run.json").read_text())
    assert rec["complete"] is True and rec["parameters"]["minutes"] == [3.0]

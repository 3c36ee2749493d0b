"""The package's layers stay one-way (issue 16): no import cycles, no upward imports,
no private names imported across modules. Measured by ``bench/code_metrics.py``."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _report() -> str:
    spec = importlib.util.spec_from_file_location(
        "code_metrics", ROOT / "bench" / "code_metrics.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.analyse(ROOT / "accessibility", flat=False)


def test_layers_have_no_cycles_no_upward_imports_no_private_names_across():
    text = _report()
    cycles = re.findall(r"^### Cycles \(strongly connected components\), [^:]+: (\d+)$", text, re.M)
    assert cycles == ["0", "0"], text
    upward = re.search(r"^### Upward imports: (\d+) module pairs", text, re.M)
    assert upward is not None and upward.group(1) == "0", text
    private = re.search(r"^## Private names used across modules: (\d+) distinct names", text, re.M)
    assert private is not None and private.group(1) == "0", text

"""``sealing`` imports only the standard library: checked in a fresh interpreter, where nothing else was
imported before it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_imports_only_the_standard_library() -> None:
    layer = str(ROOT / "layers" / "sealing")
    script = f"""
import json, sys, sysconfig
sys.path.insert(0, {layer!r})
before = set(sys.modules)
import sealing, sealing._cli
allowed = (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"], {layer!r})
outside = []
for name in sorted(set(sys.modules) - before):
    where = getattr(sys.modules[name], "__file__", None)
    if where and not where.startswith(allowed):
        outside.append(name)
print(json.dumps(outside))
"""
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-I", "-c", script], capture_output=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == []

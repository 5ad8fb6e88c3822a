"""The floors stay apart: core (the engine, a library) never imports the studio or Streamlit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import importlib, pkgutil, sys
import tape_studio.core
for module in pkgutil.walk_packages(tape_studio.core.__path__, "tape_studio.core."):
    importlib.import_module(module.name)
bad = sorted(name for name in sys.modules
             if name.split(".")[0] == "streamlit" or name.startswith(("tape_studio.studio", "tape_studio.pages")))
print("\\n".join(bad))
"""


def test_importing_every_core_module_loads_no_streamlit_studio_or_pages() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"core pulled in: {result.stdout.split()}"

"""A 10 MB step and a 100,000-step tape import from files and load from the store in bounded memory,
measured as the peak RSS of fresh processes (so nothing else in the test session counts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from reliability_helpers import ROOT, check_store

RUNNER = Path(__file__).with_name("big_runner.py")
# Generous: what is measured here is about 370 MiB to import and 360 MiB to load (the interpreter and
# imports alone about 175), against files of 10 and 27 MB.
IMPORT_LIMIT_MIB = 1500
LOAD_LIMIT_MIB = 1000


def big_runner(command: str, folder: Path) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(RUNNER), command, str(folder)], env=env, capture_output=True, check=False,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_huge_steps_and_long_tapes_import_and_load_in_bounded_memory(tmp_path: Path) -> None:
    imported = big_runner("import", tmp_path)
    assert imported["imported"] == ["big", "long"]
    assert imported["peak_mib"] < IMPORT_LIMIT_MIB  # type: ignore[operator]
    loaded = big_runner("load", tmp_path)
    assert loaded["big_chars"] >= 10 * 1024 * 1024 - 6 and loaded["long_steps"] == 100_000
    assert loaded["window_first"] == "thought 54321"
    assert loaded["peak_mib"] < LOAD_LIMIT_MIB  # type: ignore[operator]
    check_store(tmp_path / "store.sqlite")
    print(f"peak RSS: import {imported['peak_mib']:.0f} MiB, load {loaded['peak_mib']:.0f} MiB")

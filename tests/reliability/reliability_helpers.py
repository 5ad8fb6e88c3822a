"""Checks shared by the reliability tests: a store file read with plain sqlite3, as a stranger would."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

RUNNER = Path(__file__).with_name("crash_runner.py")
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Snapshot:
    """Everything committed in a store: step rows by (tape, index), tape statuses, training rows."""

    steps: dict[tuple[str, int], str] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    training_rows: dict[tuple[str, str, int, int], str] = field(default_factory=dict)


def check_store(path: Path) -> Snapshot:
    """Reads the store and asserts it is whole: no corruption, no gaps, no dangling links, no half records."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        snap = Snapshot()
        calls = {row[0] for row in conn.execute("SELECT prompt_id FROM llm_calls")}
        for (data,) in conn.execute("SELECT data FROM llm_calls"):
            json.loads(data)
        counts: dict[str, int] = dict(conn.execute("SELECT id, n_steps FROM tapes").fetchall())
        snap.status = dict(conn.execute("SELECT id, status FROM tapes").fetchall())
        for tape_id, idx, prompt_id, data in conn.execute(
                "SELECT tape_id, idx, prompt_id, data FROM steps ORDER BY tape_id, idx"):
            assert isinstance(json.loads(data), dict), f"step {idx} of {tape_id} is not a JSON object"
            assert not prompt_id or prompt_id in calls, f"step {idx} of {tape_id} links to a missing call"
            snap.steps[(tape_id, idx)] = data
        for tape_id, n_steps in counts.items():
            indices = sorted(idx for (tid, idx) in snap.steps if tid == tape_id)
            assert indices == list(range(len(indices))), f"tape {tape_id} has gaps: {indices}"
            assert n_steps == len(indices), f"tape {tape_id} says {n_steps} steps, holds {len(indices)}"
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "training_steps" in tables:
            for run_id, kind, epoch, step, data in conn.execute(
                    "SELECT run_id, kind, epoch, step, data FROM training_steps"):
                json.loads(data)
                snap.training_rows[(run_id, kind, epoch, step)] = data
        return snap
    finally:
        conn.close()


def runner(*args: str, home: Path) -> subprocess.Popen[str]:
    """Starts the crash runner; it prints `ready` once its imports are done, then works."""
    env = {**os.environ, "TAPE_STUDIO_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(RUNNER), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)

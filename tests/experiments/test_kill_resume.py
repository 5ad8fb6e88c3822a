"""kill -9 in the middle of an experiment, then resume: no fork made twice, no answered call asked again."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tape_studio.core.experiments import build_report
from tape_studio.core.store import Store

RUNNER = Path(__file__).with_name("experiment_runner.py")
WORKERS = 2


def _runner(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(RUNNER), *args], stdout=subprocess.PIPE, text=True)


def _done_rows(store: Path) -> int:
    with sqlite3.connect(store) as conn:
        return conn.execute("SELECT COUNT(*) FROM experiment_tapes WHERE state = 'done'").fetchone()[0]


def test_kill_nine_mid_experiment_then_resume(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    setup = _runner("setup", str(store))
    experiment_id = setup.communicate(timeout=120)[0].strip().splitlines()[-1]
    assert setup.returncode == 0 and experiment_id.startswith("exp-")

    first = _runner("run", str(store), experiment_id)
    assert first.stdout is not None and first.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 60
    while _done_rows(store) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    done_at_kill = _done_rows(store)
    assert 2 <= done_at_kill < 6, "the kill must land mid-experiment"

    second = _runner("run", str(store), experiment_id)
    out = second.communicate(timeout=120)[0]
    assert second.returncode == 0 and out.strip().endswith("completed")

    report = build_report(Store(store), experiment_id)
    assert report.aggregate.scored == 6 and report.aggregate.fixed == 6
    s = Store(store)
    forks = s.query("SELECT id, n_steps, status FROM tapes WHERE author = 'experiment'")
    assert sorted(r["id"] for r in forks) == sorted(row.fork_id for row in report.rows)  # one fork per tape
    for row in report.rows:  # each fork is the plan turn, tool, answer once: nothing appended twice
        kinds = [step.kind for step in s.load_tape(row.fork_id).steps]
        assert kinds == ["task", "thought", "tool_call", "tool_result", "final_answer"]
    asked = Counter((tmp_path / "store.sqlite.calls").read_text().split())
    assert sum(asked.values()) >= 12
    # A call answered but not yet cached when the process died can be asked once more, one per worker at most;
    # redoing a finished fork would ask its two calls again.
    assert sum(n - 1 for n in asked.values()) <= WORKERS

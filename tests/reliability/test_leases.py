"""One runner per tape and per training run: a second `resume` or `train --resume` is told which
process runs it (no IntegrityError, nothing written), a delete waits for the run, the lease of a
killed process is taken over, and its tape shows `interrupted` until it is resumed. In the CLI
(real processes) and in the studio."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_helpers import ROOT, RUNNER, check_store, runner

from tape_studio.core.catalog import agent_spec
from tape_studio.core.learning.fake_roles import register_learning_fake
from tape_studio.core.leases import LeaseHeld, holding, run_subject, take, tape_subject
from tape_studio.core.processes import start_mark
from tape_studio.core.store import Store
from tape_studio.core.tape import Tape
from tape_studio.core.workspace import Workspace
from tape_studio.studio.cli import main


def wait_for_lease(store: Path, subject: str, process: subprocess.Popen[str], timeout: float = 60) -> int:
    """The pid holding `subject`, once its runner has taken it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr and process.stderr.read()
        if store.exists():
            conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=30)
            try:
                row = conn.execute("SELECT pid FROM leases WHERE subject = ?", (subject,)).fetchone()
            except sqlite3.OperationalError:
                row = None  # the leases table is not made yet
            finally:
                conn.close()
            if row:
                return int(row[0])
        time.sleep(0.05)
    raise AssertionError(f"no lease on {subject}")


def second_runner(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TAPE_STUDIO_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(RUNNER), *args], env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def new_tape(store: Path) -> Tape:
    ws = Workspace(store, mode="live")
    tape = ws.new_tape(agent_spec("qa"), "What is the capital of France?")
    ws.store.save_tape(tape)
    return tape


def one_line(done: subprocess.CompletedProcess[str], *words: str) -> None:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr and len(lines) == 1, done.stderr
    assert all(word in lines[0] for word in words), lines[0]


def test_a_second_resume_is_told_which_process_runs_the_tape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store.sqlite"
    tape = new_tape(store)
    monkeypatch.setenv("CRASH_RUNNER_LATENCY_S", "30")  # the first run is still at its first call
    first = runner("cli", str(store), "resume", tape.id, "--model", "fake/crash", home=tmp_path)
    pid = wait_for_lease(store, tape_subject(tape.id), first)
    second = second_runner("cli", str(store), "resume", tape.id, "--model", "fake/crash", home=tmp_path)
    alive = first.poll() is None
    first.kill()
    first.wait()
    assert pid == first.pid and alive
    assert second.returncode == 2
    one_line(second, f"tape {tape.id} is already running in process {first.pid}")
    assert Store(store).load_tape(tape.id).steps == tape.steps  # the second wrote nothing
    check_store(store)


def test_a_killed_runs_tape_is_interrupted_and_its_lease_taken_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store.sqlite"
    tape = new_tape(store)
    monkeypatch.setenv("CRASH_RUNNER_LATENCY_S", "30")
    first = runner("cli", str(store), "resume", tape.id, "--model", "fake/crash", home=tmp_path)
    wait_for_lease(store, tape_subject(tape.id), first)
    first.kill()
    first.wait()
    assert Store(store).summary(tape.id).status == "running"  # what a killed process leaves
    assert main(["list", "--status", "interrupted", "--store", str(store)]) == 0
    assert tape.id in capsys.readouterr().out
    # Resuming takes the dead process's lease over and finishes the tape.
    assert main(["resume", tape.id, "--model", register_learning_fake("crash"), "--store", str(store)]) == 0
    assert Store(store).load_tape(tape.id).metadata.status == "completed"
    check_store(store)


def test_a_stale_lease_is_taken_over(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with store.transaction() as conn:
        conn.execute("INSERT INTO leases VALUES ('tape:x', 'gone', ?, '', ?, '2020-01-01')",
                     (int(dead.stdout), os.uname().nodename))
    lease = take(store, tape_subject("x"))
    assert lease.pid == os.getpid()
    with pytest.raises(LeaseHeld, match=f"already running in process {os.getpid()}"):
        take(store, tape_subject("x"))


def test_a_second_train_resume_is_told_which_process_runs_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store.sqlite"
    monkeypatch.setenv("CRASH_RUNNER_LATENCY_S", "30")
    first = runner("train", str(store), home=tmp_path)
    assert first.stdout is not None and first.stdout.readline().strip() == "ready"
    run_id = first.stdout.readline().strip()
    pid = wait_for_lease(store, run_subject(run_id), first)
    second = second_runner("cli", str(store), "train", "--resume", run_id, home=tmp_path)
    first.kill()
    first.wait()
    assert second.returncode == 2 and pid == first.pid
    one_line(second, f"training run {run_id} is already running in process {first.pid}")
    check_store(store)


def test_a_running_tape_is_not_deleted(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite")
    tape = new_tape(store.path)
    with holding(store, tape_subject(tape.id)):
        with pytest.raises(LeaseHeld, match=f"cannot delete: tape {tape.id} is already running in process {os.getpid()}"):
            store.delete_tapes([tape.id])
    store.delete_tapes([tape.id])
    assert not store.has_tape(tape.id)


def lease_elsewhere(store: Store, tape_id: str) -> int:
    """A lease held by another live process (this one's parent), as a terminal's `resume` would hold it."""
    other = os.getppid()
    with store.transaction() as conn:
        conn.execute("INSERT INTO leases VALUES (?, 'elsewhere', ?, ?, ?, '2020-01-01T00:00:00')",
                     (tape_subject(tape_id), other, start_mark(other), os.uname().nodename))
    return other


def test_the_studio_says_which_process_runs_a_tape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import streamlit
    from streamlit.testing.v1 import AppTest

    store_path = tmp_path / "store.sqlite"
    monkeypatch.setenv("TAPE_STUDIO_STORE", str(store_path))
    streamlit.cache_resource.clear()
    tape = new_tape(store_path)
    other = lease_elsewhere(Store(store_path), tape.id)
    at = AppTest.from_file(str(ROOT / "pages" / "tape.py"), default_timeout=30)
    at.query_params["tape"] = tape.id
    at.run()
    next(b for b in at.button if b.label.startswith("⏯ Step once")).click().run()
    assert not at.exception
    assert any(f"already running in process {other}" in e.value for e in at.error), [e.value for e in at.error]
    assert Store(store_path).load_tape(tape.id).steps == tape.steps  # nothing was written
    streamlit.cache_resource.clear()


def test_a_paused_tape_stays_paused_and_a_cut_off_one_shows_interrupted_in_the_studio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamlit
    from streamlit.testing.v1 import AppTest

    store_path = tmp_path / "store.sqlite"
    ws = Workspace(store_path, model=register_learning_fake("crash"), mode="live")
    paused = [event for event in ws.run("qa", "What is 2 plus 2?", max_iterations=1)][-1].tape  # type: ignore[union-attr]
    cut_off = new_tape(store_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    ws.store.set_status(cut_off.id, "running")  # what a process killed mid-run leaves: its status and lease
    with ws.store.transaction() as conn:
        conn.execute("INSERT INTO leases VALUES (?, 'gone', ?, '', ?, '2020-01-01')",
                     (tape_subject(cut_off.id), int(dead.stdout), os.uname().nodename))
    monkeypatch.setenv("TAPE_STUDIO_STORE", str(store_path))
    streamlit.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "pages" / "tape.py"), default_timeout=30)
    at.query_params["tape"] = cut_off.id
    at.run()
    assert not at.exception and any(text.value.startswith("interrupted") for text in at.text)
    assert ws.store.summary(cut_off.id).status == "interrupted"
    assert ws.store.summary(paused.id).status == "paused"
    streamlit.cache_resource.clear()

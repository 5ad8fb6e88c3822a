"""`export --out` writes only a regular file (or a new path, or what a link points at): a FIFO,
a folder, a path under a file are refused in one line and left as they were; a killed export
leaves no temporary file behind for long."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_helpers import ROOT

from tape_studio.core.store import Store
from tape_studio.core.tape import Tape, TapeMetadata, Task
from tape_studio.studio.cli import main

TAPE = Tape(metadata=TapeMetadata(agent="qa", title="exported", status="completed"), steps=(Task(text="2+2?"),))


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store.sqlite"
    Store(path).save_tape(TAPE)
    return path


def export(store: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["export", "--out", str(out), "--store", str(store)])
    return code, capsys.readouterr().err


def test_a_fifo_a_folder_and_a_path_under_a_file_are_refused(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo, folder, plain = tmp_path / "fifo", tmp_path / "folder", tmp_path / "plain.txt"
    os.mkfifo(fifo)
    folder.mkdir()
    plain.write_text("keep me")
    for out, words in ((fifo, "a FIFO"), (folder, "a folder"), (plain / "x.json", "a file, not a folder")):
        code, err = export(store, out, capsys)
        assert code == 2 and err.count("\n") == 1 and words in err and "Traceback" not in err, err
    assert fifo.is_fifo() and folder.is_dir() and not any(folder.iterdir()) and plain.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def test_a_link_is_followed_to_the_file_it_names(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target, link = tmp_path / "real.json", tmp_path / "link.json"
    target.write_text("old")
    link.symlink_to(target)
    code, err = export(store, link, capsys)
    assert code == 0, err
    assert link.is_symlink() and TAPE.id in target.read_text()
    fifo_link = tmp_path / "fifo-link.json"
    os.mkfifo(tmp_path / "fifo")
    fifo_link.symlink_to(tmp_path / "fifo")
    code, err = export(store, fifo_link, capsys)
    assert code == 2 and "a FIFO" in err and fifo_link.is_symlink()


def test_the_temporary_file_of_a_killed_export_is_removed_by_the_next(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.json"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".out.json.{dead.stdout.strip()}.k1ll3d.tmp"  # what a SIGKILLed writer leaves
    stale.write_text("half a file")
    live = tmp_path / f".out.json.{os.getpid()}.w0rk1ng.tmp"  # a writer still at work: not ours to remove
    live.write_text("being written")
    assert export(store, out, capsys)[0] == 0
    assert not stale.exists() and live.exists() and TAPE.id in out.read_text()


CHILD = """
import os, sys, time
os.replace = lambda *args: time.sleep(60)  # hold the export between writing and renaming
from tape_studio.studio.cli import main
sys.exit(main(["export", "--out", sys.argv[1], "--store", sys.argv[2]]))
"""


def test_a_terminated_export_removes_its_temporary_file(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(out), str(store)], env=env, stderr=subprocess.PIPE,
                             text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.json.*.tmp")):
        assert child.poll() is None and time.monotonic() < deadline, child.stderr and child.stderr.read()
        time.sleep(0.05)
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=30) == 128 + signal.SIGTERM
    assert list(tmp_path.glob(".out.json.*.tmp")) == [] and not out.exists()

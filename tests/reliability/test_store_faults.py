"""Every fault of the store file is one line naming the store and what to do, never a traceback,
and leaves the file as it was: a folder, random bytes or JSON in its place, a read-only file or
folder, a damaged page, a full disk, a store from a newer tape-studio. Run as real `tape-studio`
processes, the full disk made real by a file-size limit on the process (writes beyond it fail as
they do on a full disk), the read-only cases by dropping root's power to ignore permissions."""

from __future__ import annotations

import ctypes
import hashlib
import os
import resource
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from reliability_helpers import ROOT, check_store

from tape_studio.core.interop.tape_files import dump_bundle
from tape_studio.core.migrations import MIGRATIONS
from tape_studio.core.workspace import Workspace
from tape_studio.core.tape import Tape, TapeMetadata, Task, Thought

CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, PR_CAPBSET_DROP = 1, 2, 24


def tapes(n: int, size: int = 100) -> list[Tape]:
    return [Tape(metadata=TapeMetadata(agent="qa", title=f"tape {i}", status="completed"),
                 steps=(Task(text=f"question {i}"), Thought(text="x" * size))) for i in range(n)]


def tape_studio(*args: str, store: Path, preexec: Callable[[], None] | None = None,
                flag: bool = True) -> subprocess.CompletedProcess[str]:
    """The CLI on `store`: named with --store, or (flag=False) as the default store of its folder."""
    env = {**os.environ, "TAPE_STUDIO_HOME": str(store.parent), "PYTHONPATH": str(ROOT)}
    named = ["--store", str(store)] if flag else []
    return subprocess.run([sys.executable, "-m", "tape_studio.studio.cli", *args, *named], env=env,
                          capture_output=True, text=True, check=False, timeout=60, preexec_fn=preexec)


def one_line(done: subprocess.CompletedProcess[str], store: Path, *words: str) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode != 0 and "Traceback" not in done.stderr and len(lines) == 1, done.stderr
    assert str(store) in lines[0] and all(word in lines[0] for word in words), lines[0]
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    path = tmp_path / "bundle.json"
    path.write_text(dump_bundle(tapes(3), []))
    return path


def sql(path: Path, statement: str) -> None:
    """Runs `statement` on the store as a stranger would, then moves the WAL into the main file,
    so that the file's bytes are its whole content (as after a clean exit)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute(statement)
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def filled_store(path: Path, n: int = 60) -> Path:
    """A store with `n` tapes, and the LLM cache beside it that a user of it would have."""
    ws = Workspace(path)
    ws.store.save_tapes(tapes(n))
    ws.store.close()
    ws.cache.close()
    sql(path, "SELECT 1")
    return path


@pytest.mark.parametrize("make, words", [
    (lambda p: p.mkdir(), ("is a folder", "move it away")),
    (lambda p: p.write_bytes(os.urandom(10_000)), ("not a Tape Studio store",)),
    (lambda p: p.write_text('{"tapes": []}'), ("holds JSON", "tape-studio import")),
], ids=["folder", "random-bytes", "json"])
def test_a_file_that_is_not_a_store_is_one_line(make: Callable[[Path], None], words: tuple[str, ...],
                                                tmp_path: Path, bundle: Path) -> None:
    store = tmp_path / "store.sqlite"
    make(store)
    before = digest(store) if store.is_file() else None
    for command in (["list"], ["import", str(bundle)]):
        # A folder given as --store holds the store; as the default store's path, it is a fault.
        one_line(tape_studio(*command, store=store, flag=store.is_file()), store, *words)
    assert (digest(store) if store.is_file() else None) == before


def _without_root_override() -> None:
    """As root, permissions bind only without these capabilities; the child drops them for good."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
            if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "cannot drop a capability")


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_store_or_folder_is_one_line(what: str, tmp_path: Path, bundle: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    store = filled_store(folder / "store.sqlite")
    before = digest(store)
    (store if what == "file" else folder).chmod(0o444 if what == "file" else 0o555)
    try:
        done = tape_studio("import", str(bundle), store=store, preexec=_without_root_override)
        if "cannot drop a capability" in done.stderr:
            pytest.skip("running as root without the power to drop capabilities")
        one_line(done, store, "read-only", "folder" if what == "folder" else "chmod")
    finally:
        store.chmod(0o644), folder.chmod(0o755)
    assert digest(store) == before


def test_a_damaged_page_is_one_line_and_nothing_changes(tmp_path: Path) -> None:
    store = filled_store(tmp_path / "store.sqlite")
    with sqlite3.connect(store) as conn:
        root, page_size = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'tapes'").fetchone()[0], 4096
    with store.open("r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(os.urandom(page_size))
    before = digest(store)
    one_line(tape_studio("list", store=store), store, "damaged", ".recover")
    assert digest(store) == before


@pytest.mark.parametrize("headroom", [8 * 1024, 100 * 1024])
def test_a_full_disk_is_one_line_and_the_store_stays_whole(headroom: int, tmp_path: Path) -> None:
    store = filled_store(tmp_path / "store.sqlite", n=5)
    big = tmp_path / "big.json"
    big.write_text(dump_bundle(tapes(200, size=5_000), []))
    limit = store.stat().st_size + headroom

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    one_line(tape_studio("import", str(big), store=store, preexec=small_disk), store, "full", "free")
    snapshot = check_store(store)
    assert len(snapshot.status) == 5, "the import is whole or absent, and what was there stays"


def test_a_store_from_a_newer_version_is_read_but_not_written(tmp_path: Path, bundle: Path) -> None:
    store = filled_store(tmp_path / "store.sqlite", n=2)
    sql(store, "INSERT INTO schema_migrations VALUES (99, '2099-01-01')")
    before = digest(store)
    listed = tape_studio("list", store=store)
    assert listed.returncode == 0 and listed.stdout.count("tape ") == 2, listed.stderr
    line = one_line(tape_studio("import", str(bundle), store=store), store)
    assert f"store schema 99 is newer than this tape-studio ({max(MIGRATIONS)})" in line
    assert digest(store) == before


def test_a_store_with_a_column_this_version_does_not_know_is_not_written(tmp_path: Path, bundle: Path) -> None:
    store = filled_store(tmp_path / "store.sqlite", n=2)
    sql(store, "ALTER TABLE steps ADD COLUMN from_the_future TEXT")
    one_line(tape_studio("import", str(bundle), store=store), store, "steps.from_the_future", "newer")
    assert len(check_store(store).status) == 2


def test_a_broken_llm_cache_is_one_line(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    (tmp_path / "llm_cache").write_text("not a folder")
    one_line(tape_studio("list", store=store), tmp_path / "llm_cache", "cache", "nothing is lost")

"""A commit does not copy the write-ahead log into the database file itself (what made a long
tape's save slow); the store's checkpoint thread does, shortly after."""

from __future__ import annotations

import time
from pathlib import Path

from tape_studio.core.store import Store
from tape_studio.core.tape import Tape, Task, Thought


def test_a_long_save_leaves_its_pages_in_the_log_and_the_thread_copies_them(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    store = Store(path)
    empty = path.stat().st_size
    tape = Tape(steps=(Task(text="long"),) + tuple(Thought(text=f"thought {n} " * 20) for n in range(5000)))
    store.save_tape(tape)
    # 5,000 steps are well past SQLite's own 1,000-page checkpoint: the commit alone left the file as it was.
    assert path.stat().st_size == empty
    deadline = time.monotonic() + 30
    while path.stat().st_size == empty and time.monotonic() < deadline:
        time.sleep(0.1)
    assert path.stat().st_size > 5 * 2**20
    assert len(Store(path).load_tape(tape.id).steps) == 5001

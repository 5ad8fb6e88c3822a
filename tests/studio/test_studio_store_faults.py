"""A store the studio cannot use is one line on the page, never a traceback."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from streamlit.testing.v1 import AppTest
from studio_helpers import APP

from tape_studio.core.store import Store
from tape_studio.core.tape import Tape, TapeMetadata, Task


def app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=30).run()


def test_a_json_file_as_the_store_is_one_line(studio_store: Path) -> None:
    studio_store.write_text('{"tapes": []}')
    at = app()
    assert not at.exception
    assert [e.value for e in at.error] and "holds JSON" in at.error[0].value and str(studio_store) in at.error[0].value


def test_a_damaged_store_is_one_line(studio_store: Path) -> None:
    store = Store(studio_store)
    store.save_tapes([Tape(metadata=TapeMetadata(title=f"t{n}"), steps=(Task(text="q" * 200),)) for n in range(60)])
    store.close()
    conn = sqlite3.connect(studio_store)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'tapes'").fetchone()[0]
    conn.close()
    with studio_store.open("r+b") as handle:
        handle.seek((root - 1) * 4096)
        handle.write(os.urandom(4096))
    at = app()
    assert not at.exception
    assert at.error and "is damaged" in at.error[0].value

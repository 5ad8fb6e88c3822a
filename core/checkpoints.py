"""Copying a store's write-ahead log into its database file, off the writers' path.

On its own, SQLite checkpoints a WAL database inside the commit that takes the log past 1,000
pages: that commit copies every page and syncs the file, which was half of what saving a
10,000-step tape cost. Here a commit only wakes a thread of the Store's own, which waits
DELAY_S for the burst of commits to end (a run commits every step), then checkpoints PASSIVE
(never waiting for a reader or writer). Writers still checkpoint themselves past BACKSTOP_PAGES,
for a log that grows faster than the thread copies it. A checkpoint is crash-safe at any point,
so a process that dies before or during one loses nothing: the log is replayed on the next open.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import urllib.parse
from pathlib import Path

BACKSTOP_PAGES = 16_384  # 64 MiB of 4 KiB pages
DELAY_S = 0.5
IDLE_S = 10.0
"""A thread with nothing to do for this long ends; the next commit starts another."""


class Checkpointer:
    """One store file's background checkpoints; `wake` after every commit."""

    def __init__(self, path: Path) -> None:
        # mode=rw: a store deleted meanwhile is not made again, empty, by the checkpoint.
        self._uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=rw"
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        self._wake.set()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="tape-studio-checkpoint", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            if not self._wake.wait(IDLE_S):
                with self._lock:  # ends only if no commit woke it meanwhile (wake checks under the lock)
                    if not self._wake.is_set():
                        self._thread = None
                        return
                continue
            time.sleep(DELAY_S)
            self._wake.clear()
            checkpoint(self._uri)


def checkpoint(uri: str) -> None:
    """One PASSIVE checkpoint; a store that is gone, full or locked just keeps its log for later."""
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=0.0, isolation_level=None)
    except sqlite3.Error:
        return
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error:
        pass
    finally:
        conn.close()

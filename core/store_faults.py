"""What went wrong with a store (or the cache beside it), in one line that names it and says what to do.

SQLite's own messages ("unable to open database file", "disk I/O error") name neither the file
nor a remedy. `describe` looks at the error and at the file to tell the cases apart; `guarded`
turns any SQLite or OS error inside it into a StoreError with that line. The data is never
touched on the way: every write is a transaction that SQLite rolls back by itself.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tape_studio.core.errors import TapeStudioError


class StoreError(TapeStudioError):
    """The store cannot be opened, read or written; the message names it and says what to do."""


_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def describe(path: Path, exc: BaseException) -> str:
    """One line for a fault of the store at `path`."""
    message = str(exc)
    lowered = message.lower()
    if path.is_dir():
        return f"store {path} is a folder, not a store file: move it away, or pass --store {path} to keep the store in it"
    if "not a database" in lowered:
        if _looks_like_json(path):
            return (f"store {path} holds JSON, not a store: to load its tapes, run `tape-studio import {path}` "
                    "with another --store")
        return f"store {path} is not a Tape Studio store (not an SQLite file): move it away or pass another --store"
    if "malformed" in lowered or "corrupt" in lowered:
        return (f"store {path} is damaged ({message}); nothing was changed: recover what it holds with "
                f"`sqlite3 {path} .recover | sqlite3 recovered.sqlite` and pass --store recovered.sqlite, or restore a backup")
    if "full" in lowered or "disk i/o" in lowered or getattr(exc, "errno", None) in _FULL:
        return (f"store {path}: the disk is full or refused a write ({message}); nothing was half-written: "
                "free some space and run the command again")
    if "readonly" in lowered or "read-only" in lowered or isinstance(exc, PermissionError) or "unable to open" in lowered:
        return _read_only(path, message)
    if "locked" in lowered or "busy" in lowered:
        return f"store {path} is locked by another process ({message}): run the command again when that one is done"
    return f"store {path}: {message}"


def _read_only(path: Path, message: str) -> str:
    folder = path.parent
    if folder.exists() and not os.access(folder, os.W_OK | os.X_OK):
        return (f"store {path}: its folder {folder} is read-only, and SQLite needs to create files beside the "
                f"store: make the folder writable (chmod u+w {folder}) or copy the store elsewhere")
    if path.exists() and not os.access(path, os.W_OK):
        return f"store {path} is read-only: make it writable (chmod u+w {path}) or copy it elsewhere"
    if not folder.exists():
        return f"store {path}: its folder {folder} does not exist and cannot be made ({message})"
    return f"store {path} cannot be opened for writing ({message}): check its permissions and those of {folder}"


def _looks_like_json(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(64).lstrip()
    except OSError:
        return False
    return head[:1] in (b"{", b"[")


def describe_cache(directory: Path, exc: BaseException) -> str:
    """One line for a fault of the LLM cache folder."""
    where = f"LLM cache {directory}"
    if directory.exists() and not directory.is_dir():
        return f"{where} is a file, not a folder: move it away (it is only a cache; nothing is lost)"
    if isinstance(exc, PermissionError) or not os.access(directory.parent, os.W_OK):
        return f"{where} cannot be written ({exc}): make {directory.parent} writable"
    if getattr(exc, "errno", None) in _FULL or "full" in str(exc).lower() or "disk i/o" in str(exc).lower():
        return f"{where}: the disk is full or refused a write ({exc}): free some space and run the command again"
    return f"{where} cannot be used ({exc}): move it away (it is only a cache; nothing is lost)"


@contextmanager
def guarded(path: Path) -> Iterator[None]:
    """Runs the block; an SQLite or OS error in it becomes a StoreError describing the store."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(describe(path, exc)) from exc

"""Leases: which process is running a tape or a training run right now.

Two processes continuing one tape would collide on its step indexes; two resuming one training
run would both commit its next step. Whoever runs one first takes its lease (a row in `leases`,
written in the same kind of transaction as everything else), and a second runner is told
"already running in process N" instead of failing half-way. A lease whose process has died (on
this machine) is stale: the next runner takes it over. A `running` tape whose lease is stale was
cut off by a dead process; `mark_interrupted` says so.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tape_studio.core.errors import TapeStudioError
from tape_studio.core.processes import alive, start_mark
from tape_studio.core.tape import utc_now

if TYPE_CHECKING:
    from tape_studio.core.store import Store

_HOST = socket.gethostname()
_COLUMNS = "subject, holder, pid, pid_started, host, taken_at"


class LeaseHeld(TapeStudioError):
    """Another live process (or thread) is running this tape or training run."""


@dataclass(frozen=True)
class Lease:
    """A held lease: `holder` tells this taking of it from any other, even in the same process."""

    subject: str
    holder: str
    pid: int
    host: str
    taken_at: str


def tape_subject(tape_id: str) -> str:
    return f"tape:{tape_id}"


def run_subject(run_id: str) -> str:
    return f"training_run:{run_id}"


def _label(subject: str) -> str:
    kind, _, name = subject.partition(":")
    return f"{kind.replace('_', ' ')} {name}"


def _live(row: sqlite3.Row | tuple) -> bool:  # type: ignore[type-arg]
    _, _, pid, started, host, _ = row
    return host != _HOST or alive(int(pid), str(started))  # another machine's processes cannot be checked


def _describe(row: sqlite3.Row | tuple) -> str:  # type: ignore[type-arg]
    subject, _, pid, _, host, taken_at = row
    where = "" if host == _HOST else f" on {host}"
    return (f"{_label(subject)} is already running in process {pid}{where} (since {taken_at[:19]} UTC); "
            "wait for it to end or stop it first")


def held_by_other(conn: sqlite3.Connection, subject: str) -> str:
    """Why `subject` may not be touched now (a live process holds it), or ""."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM leases WHERE subject = ?", (subject,)).fetchone()
    return _reason(tuple(row) if row else None)


def _reason(row: tuple | None) -> str:  # type: ignore[type-arg]
    return _describe(row) if row is not None and _live(row) else ""


def take(store: Store, subject: str) -> Lease:
    """Takes the lease on `subject` (taking over a stale one) or raises LeaseHeld."""
    lease = Lease(subject=subject, holder=uuid.uuid4().hex, pid=os.getpid(), host=_HOST, taken_at=utc_now().isoformat())
    with store.transaction() as conn:
        reason = held_by_other(conn, subject)
        if reason:
            raise LeaseHeld(reason)
        conn.execute("INSERT OR REPLACE INTO leases VALUES (?, ?, ?, ?, ?, ?)",
                     (subject, lease.holder, lease.pid, start_mark(lease.pid), lease.host, lease.taken_at))
    return lease


def release(store: Store, lease: Lease) -> None:
    with store.transaction() as conn:
        conn.execute("DELETE FROM leases WHERE subject = ? AND holder = ?", (lease.subject, lease.holder))


@contextmanager
def holding(store: Store, subject: str) -> Iterator[Lease]:
    """The lease on `subject` for the duration of the block."""
    lease = take(store, subject)
    try:
        yield lease
    finally:
        release(store, lease)


def check_free(store: Store, subject: str) -> None:
    """Raises LeaseHeld when a live process holds `subject` (a check before starting work elsewhere)."""
    rows = store.query(f"SELECT {_COLUMNS} FROM leases WHERE subject = ?", (subject,))
    reason = _reason(tuple(rows[0]) if rows else None)
    if reason:
        raise LeaseHeld(reason)


def mark_interrupted(store: Store) -> list[str]:
    """Marks `interrupted` every `running` tape whose lease is held by a dead process: that process
    was killed mid-run. (A paused run leaves no lease, so it stays as it is.) Reads only the small
    leases table unless there is something to mark, so it may run on every page of the studio."""
    if store.refusal:
        return []
    rows = [tuple(row) for row in store.query(f"SELECT {_COLUMNS} FROM leases")]
    dead = [row for row in rows if not _live(row)]
    if not dead:
        return []
    marked: list[str] = []
    with store.transaction() as conn:
        for subject, holder, *_ in dead:
            # Deleted only if still the dead holder's: a new runner may have just taken it over.
            if not conn.execute("DELETE FROM leases WHERE subject = ? AND holder = ?", (subject, holder)).rowcount:
                continue
            kind, _, tape_id = subject.partition(":")
            if kind == "tape" and conn.execute(
                    "UPDATE tapes SET status = 'interrupted', updated_at = ? WHERE id = ? AND status = 'running'",
                    (utc_now().isoformat(), tape_id)).rowcount:
                marked.append(tape_id)
    return marked

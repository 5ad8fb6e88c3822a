"""The SQLite store: tapes, steps, LLM calls, agent specs, annotations.

WAL mode lets the studio read while a run writes. Every write is one transaction, so a process
killed at any point leaves either the whole record or none of it. Steps are append-only: a
tape's stored steps never change, which is what makes resume and forks safe.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, JsonValue

from tape_studio.core.checkpoints import BACKSTOP_PAGES, Checkpointer
from tape_studio.core.errors import NotFoundError
from tape_studio.core.leases import LeaseHeld, held_by_other, tape_subject
from tape_studio.core.llm import LLMCall
from tape_studio.core.migrations import MIGRATIONS, newer_than_this_version, statements
from tape_studio.core.search_index import forget_steps, index_written, snippet, stored_run, text_match
from tape_studio.core.spec import AgentSpec
from tape_studio.core.store_faults import StoreError, guarded
from tape_studio.core.tape import (
    Step,
    StepBase,
    Tape,
    TapeMetadata,
    TapeStatus,
    parse_steps_json,
    utc_now,
)


class TapeSummary(BaseModel):
    """A tape's row in lists: everything but its steps."""

    id: str
    parent_id: str | None
    root_id: str | None
    fork_step: int | None
    author: str
    agent: str
    spec_id: str
    title: str
    status: TapeStatus
    error: str
    score: float | None
    n_steps: int
    n_llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost: float
    created_at: datetime
    updated_at: datetime


class TapeFilter(BaseModel):
    """What `list_tapes` selects; all filtering happens in SQL."""

    text: str = ""
    """Substring of the title or of any step's summary."""
    agent: str | None = None
    status: TapeStatus | None = None
    has_error: bool | None = None
    min_score: float | None = None
    max_score: float | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    root_id: str | None = None
    without_tag: str | None = None
    """Leave out tapes with this tag (Browse hides `training-record` tapes unless asked)."""
    limit: int = 100
    offset: int = 0


class Annotation(BaseModel):
    """A note a person left on a tape or one of its steps."""

    id: int
    tape_id: str
    step_index: int | None
    author: str
    text: str
    created_at: datetime


_SUMMARY_COLUMNS = ", ".join(TapeSummary.model_fields)


class Store:
    """One SQLite file; each thread gets its own connection (sqlite3 objects are not shareable)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self.refusal = ""
        """Why this version must not write the store (a newer one made it); reads still work."""
        self._checkpointer = Checkpointer(self.path)
        with guarded(self.path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._migrate()
        # From migration 9 on, the store indexes for search what it writes; before it (only tests
        # of upgrades write such a store) triggers did.
        self._indexes_writes = not self.refusal and self.schema_version() >= 9

    # --- connection and schema ---------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process (not a power cut) and keeps appends fast.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")  # the Checkpointer's thread copies the log
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: all of it commits or none of it does. A fault of the store (a full
        disk, a read-only file) is a StoreError saying so in one line."""
        if self.refusal:
            raise StoreError(self.refusal)
        with guarded(self.path):
            conn = self._connection()
            changes = conn.total_changes
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:  # SQLite has already rolled back after some errors (a full disk)
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        if conn.total_changes != changes:  # not for the no-op migration check of every open
            self._checkpointer.wake()

    def _migrate(self) -> None:
        with self.transaction() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
            applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            self.refusal = newer_than_this_version(conn, self.path)
            if self.refusal:
                return
            for version in sorted(MIGRATIONS):
                if version not in applied:
                    for statement in statements(MIGRATIONS[version]):
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, utc_now().isoformat()))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Rows of a read query, for core modules that own tables here (training runs)."""
        return self._connection().execute(sql, params).fetchall()

    def schema_version(self) -> int:
        row = self._connection().execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- tapes -------------------------------------------------------------------------------

    def save_tape(self, tape: Tape, calls: Iterable[LLMCall] = ()) -> None:
        """Writes the tape's metadata and any steps not stored yet, with the calls they link to."""
        self.save_tapes([tape], calls)

    def save_tapes(
        self, tapes: Iterable[Tape], calls: Iterable[LLMCall] = (), specs: Iterable[AgentSpec] = ()
    ) -> None:
        """Like save_tape for many tapes, all in one transaction (an import is whole or absent)."""
        tapes = list(tapes)
        with self.transaction() as conn:
            for spec in specs:
                _insert_spec(conn, spec)
            conn.executemany("INSERT OR IGNORE INTO llm_calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (_call_row(call) for call in calls))
            # Stored steps never change, so only those past the stored length need writing:
            # resuming a long tape costs what it adds, not what it already has.
            stored = _stored_lengths(conn, [tape.id for tape in tapes])
            now = utc_now().isoformat()
            conn.executemany(_UPSERT_TAPE, (_tape_row(tape, now) for tape in tapes))
            grown = {tape.id: (tape, stored.get(tape.id, 0)) for tape in tapes if stored.get(tape.id, 0) < len(tape.steps)}
            runs = []
            for tape, start in grown.values():
                tape_id, steps = tape.id, tape.steps
                rows = [_step_row(tape_id, index, steps[index]) for index in range(start, len(steps))]
                conn.executemany("INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                runs.append((tape.id, start, [row[8] for row in rows]))
            _refresh_totals(conn, (tape for tape, _ in grown.values()))
            if self._indexes_writes:
                index_written(conn, (tape.id for tape in tapes if tape.id not in stored), runs)

    def append_step(self, tape_id: str, index: int, step: StepBase, call: LLMCall | None = None) -> None:
        """Durably adds one step (and the call that made it) in a single transaction."""
        with self.transaction() as conn:
            new_call = False
            if call is not None:
                _insert_call(conn, call)
                # Count a call once per tape, even when another tape (a fork's parent) stored it first.
                new_call = conn.execute(  # `prompt_id != ''` lets SQLite use the partial index
                    "SELECT 1 FROM steps WHERE prompt_id = ? AND tape_id = ? AND prompt_id != ''",
                    (call.prompt_id, tape_id),
                ).fetchone() is None
            row = _step_row(tape_id, index, step)
            conn.execute("INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            if self._indexes_writes:
                index_written(conn, (), [(tape_id, index, [row[8]])])
            conn.execute(
                """UPDATE tapes SET n_steps = ?, updated_at = ?,
                   n_llm_calls = n_llm_calls + ?, prompt_tokens = prompt_tokens + ?,
                   completion_tokens = completion_tokens + ?, cost = cost + ? WHERE id = ?""",
                (
                    index + 1, utc_now().isoformat(), int(new_call),
                    call.prompt_tokens if new_call and call else 0,
                    call.completion_tokens if new_call and call else 0,
                    call.cost if new_call and call else 0.0,
                    tape_id,
                ),
            )

    def sync_tape(self, tape: Tape, calls: Iterable[LLMCall] = ()) -> int:
        """Makes the stored tape equal `tape` in one transaction and returns the first index rewritten.

        For tapes derived from something that arrives in pieces (OTLP spans): the stored steps that
        equal the new ones stay, the rest is replaced. Ordinary tapes never use this: their steps
        are append-only."""
        with self.transaction() as conn:
            for call in calls:
                _insert_call(conn, call)
            new_tape = not self.has_tape(tape.id)
            _upsert_tape(conn, tape)
            if new_tape and self._indexes_writes:
                index_written(conn, [tape.id], ())
            # A derived tape's context and start change as pieces arrive (an ordinary upsert keeps them).
            conn.execute("UPDATE tapes SET context = ?, created_at = ? WHERE id = ?",
                         (None if tape.context is None else json.dumps(tape.context), tape.metadata.created_at.isoformat(),
                          tape.id))
            stored = [row[0] for row in conn.execute("SELECT data FROM steps WHERE tape_id = ? ORDER BY idx", (tape.id,))]
            new = [step.model_dump_json() for step in tape.steps]
            keep = next((n for n, (a, b) in enumerate(zip(stored, new, strict=False)) if a != b), min(len(stored), len(new)))
            if keep == len(stored) == len(new):
                return keep
            unindexed = forget_steps(conn, tape.id, keep)
            conn.execute("DELETE FROM steps WHERE tape_id = ? AND idx >= ?", (tape.id, keep))
            conn.executemany("INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (_step_row(tape.id, n, tape.steps[n]) for n in range(keep, len(tape.steps))))
            if self._indexes_writes:
                index_written(conn, (), [stored_run(conn, tape.id, unindexed)])
            _refresh_totals(conn, [tape])
            return keep

    def set_status(self, tape_id: str, status: TapeStatus, error: str = "", result: JsonValue = None) -> None:
        with self.transaction() as conn:
            updated = conn.execute(
                "UPDATE tapes SET status = ?, error = ?, result = ?, updated_at = ? WHERE id = ?",
                (status, error, json.dumps(result), utc_now().isoformat(), tape_id),
            ).rowcount
        if not updated:
            raise NotFoundError(f"no tape with id {tape_id!r}")

    def set_score(self, tape_id: str, score: float | None) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE tapes SET score = ? WHERE id = ?", (score, tape_id))

    def has_tape(self, tape_id: str) -> bool:
        return self._connection().execute("SELECT 1 FROM tapes WHERE id = ?", (tape_id,)).fetchone() is not None

    def load_tape(self, tape_id: str) -> Tape:
        conn = self._connection()
        row = conn.execute("SELECT * FROM tapes WHERE id = ?", (tape_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no tape with id {tape_id!r}")
        metadata = TapeMetadata.model_validate({
            **json.loads(row["metadata"]),
            "status": row["status"], "error": row["error"], "result": json.loads(row["result"] or "null"),
        })
        steps = self.load_steps(tape_id)
        context = json.loads(row["context"]) if row["context"] is not None else None
        # Every part is validated already (the steps just now, in one pass): constructing the tape
        # skips a second, per-step pass over the steps.
        return Tape.model_construct(metadata=metadata, context=context, steps=tuple(steps))

    def load_steps(self, tape_id: str, start: int = 0, stop: int | None = None) -> list[Step]:
        """Steps [start, stop) of a tape, for windowed views of long tapes."""
        cursor = self._connection().cursor()
        cursor.row_factory = None  # plain tuples: a Row object per step costs more than the SQL
        rows = cursor.execute(
            "SELECT kind, data FROM steps WHERE tape_id = ? AND idx >= ? AND idx < ? ORDER BY idx",
            (tape_id, start, stop if stop is not None else 2**62),
        ).fetchall()
        return parse_steps_json([row[1] for row in rows], kinds={row[0] for row in rows})

    def first_step_index(self, tape_id: str, family: str, start: int = 0) -> int | None:
        """Index of the first step of `family` at or after `start` (e.g. the first error)."""
        row = self._connection().execute(
            "SELECT MIN(idx) FROM steps WHERE tape_id = ? AND family = ? AND idx >= ?", (tape_id, family, start)
        ).fetchone()
        return None if row[0] is None else int(row[0])

    def agents(self) -> list[str]:
        """Names of the agents that made stored tapes, for filters."""
        rows = self._connection().execute("SELECT DISTINCT agent FROM tapes WHERE agent != '' ORDER BY agent")
        return [row[0] for row in rows]

    def summary(self, tape_id: str) -> TapeSummary:
        row = self._connection().execute(f"SELECT {_SUMMARY_COLUMNS} FROM tapes WHERE id = ?", (tape_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no tape with id {tape_id!r}")
        return TapeSummary.model_validate(dict(row))

    def list_tapes(self, where: TapeFilter | None = None) -> list[TapeSummary]:
        where = where or TapeFilter()
        clause, params = _filter_sql(where)
        rows = self._connection().execute(
            f"SELECT {_SUMMARY_COLUMNS} FROM tapes {clause} ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
            (*params, where.limit, where.offset),
        )
        return [TapeSummary.model_validate(dict(row)) for row in rows]

    def search_snippets(self, tape_ids: list[str], text: str, around: int = 40) -> dict[str, str]:
        """Per tape, the first of its indexed texts (title, then step summaries) holding `text`,
        cut to a window of `around` characters each side of the match: what a search shows."""
        if not tape_ids or not text:
            return {}
        clause, param = text_match(text)
        marks = ",".join("?" * len(tape_ids))
        rows = self._connection().execute(
            f"SELECT d.tape_id, f.text FROM search_fts f JOIN search_docs d ON d.id = f.rowid "
            f"WHERE {clause} AND d.tape_id IN ({marks}) ORDER BY d.id", (param, *tape_ids))
        found: dict[str, str] = {}
        for tape_id, doc in rows:
            if tape_id not in found:
                found[tape_id] = snippet(doc, text, around)
        return found

    def count_tapes(self, where: TapeFilter | None = None) -> int:
        clause, params = _filter_sql(where or TapeFilter())
        return int(self._connection().execute(f"SELECT COUNT(*) FROM tapes {clause}", params).fetchone()[0])

    def children(self, tape_id: str) -> list[TapeSummary]:
        rows = self._connection().execute(
            f"SELECT {_SUMMARY_COLUMNS} FROM tapes WHERE parent_id = ? ORDER BY created_at, id", (tape_id,))
        return [TapeSummary.model_validate(dict(row)) for row in rows]

    def family(self, tape_id: str) -> list[TapeSummary]:
        """Every tape sharing this tape's root (the root first, then forks by creation time)."""
        root = self.summary(tape_id).root_id or tape_id
        rows = self._connection().execute(
            f"SELECT {_SUMMARY_COLUMNS} FROM tapes WHERE id = ? OR root_id = ? ORDER BY (id != ?), created_at, id",
            (root, root, root),
        )
        return [TapeSummary.model_validate(dict(row)) for row in rows]

    def delete_tape(self, tape_id: str) -> None:
        """Removes a tape; its forks keep their own copies of the shared prefix and stay whole."""
        self.delete_tapes([tape_id])

    def delete_tapes(self, tape_ids: Iterable[str]) -> None:
        """Removes tapes (all or none) with their steps and annotations; LLM calls stay, since
        other tapes may link to them. Forks of a deleted tape keep a valid lineage: each is
        re-pointed to the deleted tape's parent, forked at the shorter of the two shared prefixes;
        forks of a deleted root become roots of their own families."""
        with self.transaction() as conn:
            for tape_id in tape_ids:
                _delete_keeping_lineage(conn, tape_id)

    def step_trail(self, tape_id: str) -> list[tuple[str, str, str]]:
        """(agent, node, family) of every step in order: what the agent's graph counts visits from."""
        rows = self._connection().execute(
            "SELECT agent, node, family FROM steps WHERE tape_id = ? ORDER BY idx", (tape_id,))
        return [(row[0], row[1], row[2]) for row in rows]

    def step_nodes(self, tape_id: str) -> list[str]:
        """Names of the nodes that made the tape's steps, for jumping to a node."""
        rows = self._connection().execute(
            "SELECT DISTINCT node FROM steps WHERE tape_id = ? AND node != '' ORDER BY node", (tape_id,))
        return [row[0] for row in rows]

    def first_node_index(self, tape_id: str, node: str, start: int = 0) -> int | None:
        """Index of the first step made by `node` at or after `start`."""
        row = self._connection().execute(
            "SELECT MIN(idx) FROM steps WHERE tape_id = ? AND node = ? AND idx >= ?", (tape_id, node, start)
        ).fetchone()
        return None if row[0] is None else int(row[0])

    # --- LLM calls ---------------------------------------------------------------------------

    def save_llm_call(self, call: LLMCall) -> None:
        with self.transaction() as conn:
            _insert_call(conn, call)

    def load_llm_call(self, prompt_id: str) -> LLMCall:
        row = self._connection().execute("SELECT data FROM llm_calls WHERE prompt_id = ?", (prompt_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no LLM call with prompt_id {prompt_id!r}")
        return LLMCall.model_validate_json(row[0])

    def calls_for_tape(self, tape_id: str) -> list[LLMCall]:
        rows = self._connection().execute(
            """SELECT c.data FROM llm_calls c WHERE c.prompt_id IN
               (SELECT DISTINCT prompt_id FROM steps WHERE tape_id = ? AND prompt_id != '')
               ORDER BY c.created_at""",
            (tape_id,),
        )
        return [LLMCall.model_validate_json(row[0]) for row in rows]

    # --- specs -------------------------------------------------------------------------------

    def save_spec(self, spec: AgentSpec) -> None:
        """Specs are immutable and content-addressed: saving an existing id changes nothing."""
        with self.transaction() as conn:
            _insert_spec(conn, spec)

    def load_spec(self, spec_id: str) -> AgentSpec:
        row = self._connection().execute("SELECT data FROM specs WHERE id = ?", (spec_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no agent spec with id {spec_id!r}")
        data = json.loads(row[0])
        data.pop("id", None)
        return AgentSpec.model_validate(data)

    def list_specs(self, name: str | None = None) -> list[AgentSpec]:
        query, params = "SELECT data FROM specs", ()
        if name:
            query, params = query + " WHERE name = ?", (name,)
        rows = self._connection().execute(query + " ORDER BY created_at", params)
        return [AgentSpec.model_validate({k: v for k, v in json.loads(r[0]).items() if k != "id"}) for r in rows]

    # --- annotations -------------------------------------------------------------------------

    def add_annotation(self, tape_id: str, step_index: int | None, author: str, text: str) -> Annotation:
        created = utc_now()
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM tapes WHERE id = ?", (tape_id,)).fetchone() is None:
                raise NotFoundError(f"no tape with id {tape_id!r}")
            cursor = conn.execute(
                "INSERT INTO annotations (tape_id, step_index, author, text, created_at) VALUES (?, ?, ?, ?, ?)",
                (tape_id, step_index, author, text, created.isoformat()),
            )
        return Annotation(id=int(cursor.lastrowid or 0), tape_id=tape_id, step_index=step_index,
                          author=author, text=text, created_at=created)

    def annotations(self, tape_id: str) -> list[Annotation]:
        rows = self._connection().execute(
            "SELECT * FROM annotations WHERE tape_id = ? ORDER BY step_index, id", (tape_id,))
        return [Annotation.model_validate(dict(row)) for row in rows]

    # --- small settings (e.g. whether the demo tapes were loaded) ------------------------------

    def get_setting(self, key: str) -> str | None:
        row = self._connection().execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_setting(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, value))


# --- row helpers ---------------------------------------------------------------------------------


def _step_row(tape_id: str, index: int, step: StepBase) -> tuple[Any, ...]:
    meta = step.metadata
    # The serializer itself, not model_dump_json: the same JSON without a wrapper that costs as
    # much again as the serializing, 10,000 times over for a long tape.
    return (tape_id, index, meta.id, step.kind, step.family, meta.node, meta.agent, meta.prompt_id,
            step.summary()[:2000], step.__pydantic_serializer__.to_json(step).decode())


def _insert_spec(conn: sqlite3.Connection, spec: AgentSpec) -> None:
    conn.execute("INSERT OR IGNORE INTO specs VALUES (?, ?, ?, ?, ?)",
                 (spec.id, spec.name, spec.parent_id, utc_now().isoformat(), spec.model_dump_json()))


def _insert_call(conn: sqlite3.Connection, call: LLMCall) -> bool:
    cursor = conn.execute("INSERT OR IGNORE INTO llm_calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", _call_row(call))
    return cursor.rowcount == 1


def _call_row(call: LLMCall) -> tuple[Any, ...]:
    return (call.prompt_id, call.model, call.prompt_tokens, call.completion_tokens, call.cost, call.latency_s,
            int(call.cached), call.error, call.created_at.isoformat(), call.model_dump_json())


_UPSERT_TAPE = """INSERT INTO tapes (id, parent_id, root_id, fork_step, author, agent, spec_id, title, status, error,
                      result, created_at, updated_at, metadata, context)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                  ON CONFLICT(id) DO UPDATE SET status = excluded.status, error = excluded.error,
                      result = excluded.result, title = excluded.title, agent = excluded.agent,
                      spec_id = excluded.spec_id, updated_at = excluded.updated_at, metadata = excluded.metadata"""


def _upsert_tape(conn: sqlite3.Connection, tape: Tape) -> None:
    conn.execute(_UPSERT_TAPE, _tape_row(tape, utc_now().isoformat()))


def _tape_row(tape: Tape, now: str) -> tuple[Any, ...]:
    meta = tape.metadata
    return (meta.id, meta.parent_id, meta.root_id, meta.fork_step, meta.author, meta.agent, meta.spec_id, meta.title,
            meta.status, meta.error, json.dumps(meta.result), meta.created_at.isoformat(), now,
            meta.model_dump_json(exclude={"status", "error", "result"}),
            None if tape.context is None else json.dumps(tape.context))


def _stored_lengths(conn: sqlite3.Connection, tape_ids: list[str]) -> dict[str, int]:
    """How many steps each of these tapes has stored, for those that are stored at all."""
    rows = conn.execute(
        """SELECT t.id, (SELECT COUNT(*) FROM steps s WHERE s.tape_id = t.id) FROM json_each(?) j
           JOIN tapes t ON t.id = j.value""", (json.dumps(tape_ids),))
    return {row[0]: row[1] for row in rows}


def _delete_keeping_lineage(conn: sqlite3.Connection, tape_id: str) -> None:
    gone = conn.execute("SELECT parent_id, root_id, fork_step FROM tapes WHERE id = ?", (tape_id,)).fetchone()
    if gone is None:
        raise NotFoundError(f"no tape with id {tape_id!r}")
    running = held_by_other(conn, tape_subject(tape_id))  # a run would fail on its next step
    if running:
        raise LeaseHeld(f"cannot delete: {running}")
    for child in conn.execute("SELECT id, fork_step FROM tapes WHERE parent_id = ?", (tape_id,)).fetchall():
        if gone["parent_id"] is not None:
            # The child shares with its grandparent only what both links shared.
            steps = [n for n in (child["fork_step"], gone["fork_step"]) if n is not None]
            _set_lineage(conn, child["id"], gone["parent_id"], min(steps) if steps else None, gone["root_id"])
            continue
        _set_lineage(conn, child["id"], None, None, None)
        conn.execute(
            """WITH RECURSIVE below(id) AS (
                   SELECT id FROM tapes WHERE parent_id = :child
                   UNION SELECT t.id FROM tapes t JOIN below ON t.parent_id = below.id)
               UPDATE tapes SET root_id = :child, metadata = json_set(metadata, '$.root_id', :child)
               WHERE id IN below""",
            {"child": child["id"]},
        )
    conn.execute("DELETE FROM tapes WHERE id = ?", (tape_id,))


def _set_lineage(
    conn: sqlite3.Connection, tape_id: str, parent_id: str | None, fork_step: int | None, root_id: str | None
) -> None:
    # Lineage lives in its columns (for queries) and in the metadata JSON (what load_tape returns).
    conn.execute(
        """UPDATE tapes SET parent_id = ?, fork_step = ?, root_id = ?,
               metadata = json_set(metadata, '$.parent_id', ?, '$.fork_step', ?, '$.root_id', ?)
           WHERE id = ?""",
        (parent_id, fork_step, root_id, parent_id, fork_step, root_id, tape_id),
    )


def _refresh_totals(conn: sqlite3.Connection, tapes: Iterable[Tape]) -> None:
    """Sets the stored copies' step count and call totals from whole tapes just written (their
    stored steps are theirs, since stored steps never change): no scan of the steps table."""
    conn.executemany(
        """UPDATE tapes SET n_steps = ?, (n_llm_calls, prompt_tokens, completion_tokens, cost) = (
               SELECT COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0),
                      COALESCE(SUM(cost), 0)
               FROM llm_calls WHERE prompt_id IN (SELECT value FROM json_each(?)))
           WHERE id = ?""",
        ((len(tape.steps), json.dumps(sorted({s.metadata.prompt_id for s in tape.steps if s.metadata.prompt_id})), tape.id)
         for tape in tapes),
    )


def _filter_sql(where: TapeFilter) -> tuple[str, tuple[Any, ...]]:
    clauses: list[str] = []
    params: list[Any] = []
    if where.text:
        clause, param = text_match(where.text)
        clauses.append(f"id IN (SELECT d.tape_id FROM search_fts f JOIN search_docs d ON d.id = f.rowid WHERE {clause})")
        params.append(param)
    for column, value in (("agent", where.agent), ("status", where.status), ("root_id", where.root_id)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if where.without_tag is not None:
        clauses.append("NOT EXISTS (SELECT 1 FROM json_each(metadata, '$.tags') WHERE value = ?)")
        params.append(where.without_tag)
    if where.has_error is not None:
        clauses.append("(error != '' OR status = 'failed')" if where.has_error else "(error = '' AND status != 'failed')")
    if where.min_score is not None:
        clauses.append("score >= ?")
        params.append(where.min_score)
    if where.max_score is not None:
        clauses.append("score <= ?")
        params.append(where.max_score)
    if where.created_after is not None:
        clauses.append("created_at >= ?")
        params.append(where.created_after.isoformat())
    if where.created_before is not None:
        clauses.append("created_at < ?")
        params.append(where.created_before.isoformat())
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)

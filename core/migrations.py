"""The store's schema as numbered migrations, applied once each and recorded in the store.

A migration is never edited once released: a change to the schema is a new number, so a store
made by any earlier version upgrades itself on open.
"""

from __future__ import annotations

import functools
import sqlite3

MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE tapes (
        id TEXT PRIMARY KEY,
        parent_id TEXT,
        root_id TEXT,
        fork_step INTEGER,
        author TEXT NOT NULL DEFAULT '',
        agent TEXT NOT NULL DEFAULT '',
        spec_id TEXT NOT NULL DEFAULT '',
        title TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        error TEXT NOT NULL DEFAULT '',
        result TEXT,
        score REAL,
        n_steps INTEGER NOT NULL DEFAULT 0,
        n_llm_calls INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        cost REAL NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        metadata TEXT NOT NULL,
        context TEXT
    );
    CREATE INDEX tapes_created ON tapes(created_at);
    CREATE INDEX tapes_parent ON tapes(parent_id);
    CREATE INDEX tapes_root ON tapes(root_id);
    CREATE INDEX tapes_agent_status ON tapes(agent, status);
    CREATE TABLE steps (
        tape_id TEXT NOT NULL REFERENCES tapes(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        step_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        family TEXT NOT NULL,
        node TEXT NOT NULL DEFAULT '',
        agent TEXT NOT NULL DEFAULT '',
        prompt_id TEXT NOT NULL DEFAULT '',
        summary TEXT NOT NULL DEFAULT '',
        data TEXT NOT NULL,
        PRIMARY KEY (tape_id, idx)
    );
    CREATE INDEX steps_prompt ON steps(prompt_id, tape_id) WHERE prompt_id != '';
    CREATE TABLE llm_calls (
        prompt_id TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        cost REAL NOT NULL,
        latency_s REAL NOT NULL,
        cached INTEGER NOT NULL,
        error TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE TABLE specs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        parent_id TEXT,
        created_at TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE TABLE annotations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tape_id TEXT NOT NULL REFERENCES tapes(id) ON DELETE CASCADE,
        step_index INTEGER,
        author TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX annotations_tape ON annotations(tape_id, step_index);
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
}

# Full-text search over tape titles and step summaries. The trigram tokenizer keeps the meaning
# `TapeFilter.text` always had (a case-insensitive substring) while letting SQLite use an index.
# `search_docs` gives every indexed text a stable integer id (FTS rows are addressed by rowid),
# so that deleting a tape removes its rows through an index instead of scanning the FTS table.
MIGRATIONS[2] = """
    CREATE TABLE search_docs (
        id INTEGER PRIMARY KEY,
        tape_id TEXT NOT NULL,
        idx INTEGER NOT NULL
    );
    CREATE INDEX search_docs_tape ON search_docs(tape_id, idx);
    CREATE VIRTUAL TABLE search_fts USING fts5(text, tokenize = 'trigram');
    INSERT INTO search_docs (tape_id, idx) SELECT id, -1 FROM tapes;
    INSERT INTO search_docs (tape_id, idx) SELECT tape_id, idx FROM steps;
    INSERT INTO search_fts (rowid, text)
        SELECT d.id, t.title FROM search_docs d JOIN tapes t ON t.id = d.tape_id WHERE d.idx = -1;
    INSERT INTO search_fts (rowid, text)
        SELECT d.id, s.summary FROM search_docs d JOIN steps s ON s.tape_id = d.tape_id AND s.idx = d.idx;
    CREATE TRIGGER search_tape_added AFTER INSERT ON tapes BEGIN
        INSERT INTO search_docs (tape_id, idx) VALUES (new.id, -1);
        INSERT INTO search_fts (rowid, text) VALUES (last_insert_rowid(), new.title);
    END;
    CREATE TRIGGER search_step_added AFTER INSERT ON steps BEGIN
        INSERT INTO search_docs (tape_id, idx) VALUES (new.tape_id, new.idx);
        INSERT INTO search_fts (rowid, text) VALUES (last_insert_rowid(), new.summary);
    END;
    CREATE TRIGGER search_title_changed AFTER UPDATE OF title ON tapes WHEN old.title IS NOT new.title BEGIN
        UPDATE search_fts SET text = new.title
            WHERE rowid = (SELECT id FROM search_docs WHERE tape_id = new.id AND idx = -1);
    END;
    CREATE TRIGGER search_tape_deleted AFTER DELETE ON tapes BEGIN
        DELETE FROM search_fts WHERE rowid IN (SELECT id FROM search_docs WHERE tape_id = old.id);
        DELETE FROM search_docs WHERE tape_id = old.id;
    END;
"""

# Training runs (core/learning): one row per run, and one per committed update step or epoch.
# A step row is the commit point of a run: resume continues after the last one.
MIGRATIONS[3] = """
    CREATE TABLE training_runs (
        id TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        dataset TEXT NOT NULL,
        status TEXT NOT NULL,
        spec_id TEXT NOT NULL,
        current_spec_id TEXT NOT NULL,
        best_spec_id TEXT NOT NULL,
        phase TEXT NOT NULL DEFAULT '',
        error TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX training_runs_created ON training_runs(created_at);
    CREATE TABLE training_steps (
        run_id TEXT NOT NULL REFERENCES training_runs(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        step INTEGER NOT NULL,
        spec_id TEXT NOT NULL,
        accepted INTEGER,
        train_score REAL,
        val_score REAL,
        tape_id TEXT,
        created_at TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (run_id, kind, epoch, step)
    );
"""

# Leases (core/leases.py): which process runs a tape or a training run now, so that a second
# runner is told so instead of colliding, and a tape cut off by a dead process shows `interrupted`.
MIGRATIONS[4] = """
    CREATE TABLE leases (
        subject TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        pid INTEGER NOT NULL,
        pid_started TEXT NOT NULL DEFAULT '',
        host TEXT NOT NULL,
        taken_at TEXT NOT NULL
    );
"""

# Spans and log records received over OTLP or imported from trace files (core/interop/traces/ingest.py),
# kept so that pieces of a trace arriving later rebuild its tape whole.
MIGRATIONS[5] = """
    CREATE TABLE otel_spans (
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        tape_id TEXT NOT NULL,
        data TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (trace_id, span_id)
    );
    CREATE INDEX otel_spans_tape ON otel_spans(tape_id);
    CREATE TABLE otel_logs (
        key TEXT PRIMARY KEY,
        trace_id TEXT NOT NULL,
        data TEXT NOT NULL,
        received_at TEXT NOT NULL
    );
    CREATE INDEX otel_logs_trace ON otel_logs(trace_id);
"""

# Migration 8 (debugger): a run paused for a person's approval, one row per tape, kept apart from the
# tape's own rows because it is a decision pending about the tape, not part of it.
MIGRATIONS[8] = """
CREATE TABLE pauses (
    tape_id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""


# Bulk indexing: a full-text row added by a trigger costs SQLite a flush of the index per statement
# (about ten times what one INSERT ... SELECT over many rows costs per row). While `search_bulk` holds
# a row, which only ever happens inside one write transaction (core/store.py `_bulk_indexed`), the
# triggers stand aside and the store indexes everything that transaction added in two statements.
MIGRATIONS[7] = """
    CREATE TABLE search_bulk (id INTEGER PRIMARY KEY);
    DROP TRIGGER search_tape_added;
    CREATE TRIGGER search_tape_added AFTER INSERT ON tapes WHEN NOT EXISTS (SELECT 1 FROM search_bulk) BEGIN
        INSERT INTO search_docs (tape_id, idx) VALUES (new.id, -1);
        INSERT INTO search_fts (rowid, text) VALUES (last_insert_rowid(), new.title);
    END;
    DROP TRIGGER search_step_added;
    CREATE TRIGGER search_step_added AFTER INSERT ON steps WHEN NOT EXISTS (SELECT 1 FROM search_bulk) BEGIN
        INSERT INTO search_docs (tape_id, idx) VALUES (new.tape_id, new.idx);
        INSERT INTO search_fts (rowid, text) VALUES (last_insert_rowid(), new.summary);
    END;
"""


# Experiments (core/experiments): one edit rule over many tapes; a row per selected tape with its fork and scores.
MIGRATIONS[6] = """
    CREATE TABLE experiments (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX experiments_created ON experiments(created_at);
    CREATE TABLE experiment_tapes (
        experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
        tape_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        state TEXT NOT NULL,
        fork_id TEXT,
        data TEXT NOT NULL,
        PRIMARY KEY (experiment_id, tape_id)
    );
    CREATE INDEX experiment_tapes_fork ON experiment_tapes(fork_id);
"""

# Search blocks (core/search_index.py): a full-text document may stand for a run of consecutive
# steps (`idx` to `last_idx`), their summaries joined by the record separator (char 30, kept out of
# the texts themselves), so that a bulk write indexes a few hundred documents where it had ten
# thousand. The store now indexes what it inserts itself, so the insert triggers and migration 7's
# switch for them go: their per-row check cost a quarter of a long tape's inserts.
MIGRATIONS[9] = """
    ALTER TABLE search_docs ADD COLUMN last_idx INTEGER;
    UPDATE search_docs SET last_idx = idx;
    UPDATE search_fts SET text = replace(text, char(30), ' ') WHERE instr(text, char(30)) > 0;
    DROP TRIGGER search_tape_added;
    DROP TRIGGER search_step_added;
    DROP TABLE search_bulk;
    DROP TRIGGER search_title_changed;
    CREATE TRIGGER search_title_changed AFTER UPDATE OF title ON tapes WHEN old.title IS NOT new.title BEGIN
        UPDATE search_fts SET text = replace(new.title, char(30), ' ')
            WHERE rowid = (SELECT id FROM search_docs WHERE tape_id = new.id AND idx = -1);
    END;
"""


def statements(script: str) -> list[str]:
    """The statements of a migration script; a `;` inside a trigger body does not end its statement."""
    statements: list[str] = []
    pending = ""
    for part in script.split(";"):
        pending += part + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                statements.append(pending.strip())
            pending = ""
    if pending.strip(" \n;"):
        statements.append(pending.strip())
    return statements


@functools.cache
def expected_columns() -> dict[str, tuple[str, ...]]:
    """The columns of every table the migrations make, read from a blank in-memory store."""
    conn = sqlite3.connect(":memory:")
    try:
        for version in sorted(MIGRATIONS):
            for statement in statements(MIGRATIONS[version]):
                conn.execute(statement)
        return _columns(conn)
    finally:
        conn.close()


def _columns(conn: sqlite3.Connection) -> dict[str, tuple[str, ...]]:
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {table: tuple(row[1] for row in conn.execute(f"PRAGMA table_info({table!r})")) for table in tables}


def newer_than_this_version(conn: sqlite3.Connection, path: object) -> str:
    """Why this version must not write the store (it was written by a newer one), or ""."""
    newest = max(MIGRATIONS)
    applied = max((row[0] for row in conn.execute("SELECT version FROM schema_migrations")), default=0)
    if applied > newest:
        return (f"store schema {applied} is newer than this tape-studio ({newest}): {path} was written by a newer "
                "version; upgrade tape-studio to change it (reading it works)")
    found = _columns(conn)
    unknown = [f"{table}.{column}" for table, columns in expected_columns().items()
               for column in found.get(table, ()) if column not in columns]
    if unknown:
        return (f"store {path} has columns this tape-studio does not know ({', '.join(unknown)}): it was written by "
                "a newer version; upgrade tape-studio to change it (reading it works)")
    return ""

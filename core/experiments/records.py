"""Experiments in the store (tables of migration 6): save, load, list, and one row per tape.

Each write is one transaction, so a killed process leaves a row either pending or done, never
half-written; a resumed experiment redoes only what is pending.
"""

from __future__ import annotations

from collections.abc import Iterable

from tape_studio.core.errors import NotFoundError
from tape_studio.core.experiments.model import Experiment, TapeRun
from tape_studio.core.store import Store


def save_experiment(store: Store, experiment: Experiment, rows: Iterable[TapeRun] = ()) -> None:
    """Writes the experiment (and the given rows) in one transaction; rows already stored are replaced."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO experiments (id, created_at, status, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET status = excluded.status, data = excluded.data",
            (experiment.id, experiment.created_at.isoformat(), experiment.status, experiment.model_dump_json()),
        )
        for row in rows:
            _put_row(conn, row)


def save_row(store: Store, row: TapeRun) -> None:
    with store.transaction() as conn:
        _put_row(conn, row)


def load_experiment(store: Store, experiment_id: str) -> Experiment:
    found = store.query("SELECT data FROM experiments WHERE id = ?", (experiment_id,))
    if not found:
        raise NotFoundError(f"no experiment {experiment_id!r}; `tape-studio experiment list` shows them")
    return Experiment.model_validate_json(found[0]["data"])


def load_rows(store: Store, experiment_id: str) -> list[TapeRun]:
    rows = store.query("SELECT data FROM experiment_tapes WHERE experiment_id = ? ORDER BY position", (experiment_id,))
    return [TapeRun.model_validate_json(row["data"]) for row in rows]


def list_experiments(store: Store, limit: int = 100) -> list[Experiment]:
    rows = store.query("SELECT data FROM experiments ORDER BY created_at DESC LIMIT ?", (limit,))
    return [Experiment.model_validate_json(row["data"]) for row in rows]


def experiment_of_fork(store: Store, fork_id: str) -> str | None:
    found = store.query("SELECT experiment_id FROM experiment_tapes WHERE fork_id = ?", (fork_id,))
    return found[0]["experiment_id"] if found else None


def _put_row(conn: object, row: TapeRun) -> None:
    conn.execute(  # type: ignore[attr-defined]
        "INSERT INTO experiment_tapes (experiment_id, tape_id, position, state, fork_id, data) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(experiment_id, tape_id) DO UPDATE SET state = excluded.state, fork_id = excluded.fork_id, "
        "data = excluded.data",
        (row.experiment_id, row.tape_id, row.position, row.state, row.fork_id, row.model_dump_json()),
    )


def has_experiment(store: Store, experiment_id: str) -> bool:
    """True when an experiment with this id is stored."""
    return bool(store.query("SELECT 1 FROM experiments WHERE id = ?", (experiment_id,)))

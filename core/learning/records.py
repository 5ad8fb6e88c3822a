"""Run records: the tape each update step writes, and the run and step rows in the store.

A step's records (losses, gradients, proposals, gate result, decision) are steps on one tape,
with the LLM calls they came from, so the studio shows each with its prompt. The step row that
follows is the commit point: a run resumes after the last committed row.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from tape_studio.core.errors import NotFoundError
from tape_studio.core.learning.meter import Usage
from tape_studio.core.learning.train_config import TrainConfig
from tape_studio.core.llm import LLMCall
from tape_studio.core.store import Store
from tape_studio.core.tape import StepBase, Tape, TapeMetadata, utc_now

RunStatus = Literal["running", "completed", "failed", "stopped"]


class TrainingRun(BaseModel):
    """One run: its settings, where it stands, and (once done) its summary."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = 1
    id: str
    agent: str
    dataset: str
    status: RunStatus = "running"
    config: TrainConfig
    spec_id: str
    """The version training started from (v0)."""
    current_spec_id: str
    best_spec_id: str
    phase: str = ""
    error: str = ""
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    summary: dict[str, JsonValue] | None = None


class StepRow(BaseModel):
    """Metrics of one committed update step (kind "step") or epoch (kind "epoch"; epoch 0 is the baseline)."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = 1
    kind: Literal["step", "epoch"]
    epoch: int
    step: int = 0
    spec_id: str
    """The current spec after this step or epoch."""
    spec_before: str = ""
    candidate_spec_id: str = ""
    decision: Literal["accepted", "rejected", "no_candidate", "solved", ""] = ""
    changed_by: tuple[str, ...] = ()
    """The optimizers whose valid proposals made the candidate (for an accepted step: the change)."""
    reason: str = ""
    accepted: int = 0
    """Steps accepted (1 or 0 for a step; the count over the epoch for an epoch row)."""
    rejected: int = 0
    """Candidates rejected (a step that had no candidate counts here too: nothing was adopted)."""
    train_score: float | None = None
    """The current spec's mean score on the minibatch (for an epoch: over the epoch's minibatches)."""
    candidate_score: float | None = None
    val_score: float | None = None
    """Validation score of `spec_id`, when known."""
    val_candidate: float | None = None
    example_ids: tuple[str, ...] = ()
    tape_id: str = ""
    """The tape holding this step's records."""
    forward_tape_ids: tuple[str, ...] = ()
    usage: dict[str, Usage] = Field(default_factory=dict)
    """LLM calls, tokens and cost of this step (or of the epoch's own evaluation) per role."""
    created_at: datetime = Field(default_factory=utc_now)


RECORD_TAG = "training-record"
"""The tag of every tape a training run makes (records and forward passes); Browse hides them unless asked."""


class RecordTape:
    """Collects one update step's records in order, with the calls behind them."""

    def __init__(self, tape_id: str, run_id: str, title: str, context: dict[str, JsonValue]) -> None:
        self.metadata = TapeMetadata(id=tape_id, author="trainer", title=title, status="completed",
                                     tags=(RECORD_TAG,))
        self.context = {"run_id": run_id, **context}
        self.steps: list[StepBase] = []
        self.calls: list[LLMCall] = []

    def add(self, records: list[tuple[Any, LLMCall | None]]) -> None:
        for step, call in records:
            self.steps.append(step)
            if call is not None:
                self.calls.append(call)

    def tape(self) -> Tape:
        return Tape(metadata=self.metadata, context=self.context, steps=tuple(self.steps))  # type: ignore[arg-type]


def record_tape_id(run_id: str, epoch: int, step: int) -> str:
    return hashlib.sha256(f"{run_id}\x1frecords\x1f{epoch}\x1f{step}".encode()).hexdigest()[:32]


# --- store -----------------------------------------------------------------------------------


def save_run(store: Store, run: TrainingRun) -> None:
    with store.transaction() as conn:
        _upsert_run(conn, run)


def _upsert_run(conn: Any, run: TrainingRun) -> None:
    conn.execute(
        """INSERT INTO training_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET status = excluded.status, current_spec_id = excluded.current_spec_id,
               best_spec_id = excluded.best_spec_id, phase = excluded.phase, error = excluded.error,
               updated_at = excluded.updated_at, data = excluded.data""",
        (run.id, run.agent, run.dataset, run.status, run.spec_id, run.current_spec_id, run.best_spec_id,
         run.phase, run.error, run.created_at.isoformat(), utc_now().isoformat(), run.model_dump_json()),
    )


def load_run(store: Store, run_id: str) -> TrainingRun:
    rows = store.query("SELECT data, phase, updated_at FROM training_runs WHERE id = ?", (run_id,))
    if not rows:
        raise NotFoundError(f"no training run with id {run_id!r}")
    return _run_from(rows[0])


def _run_from(row: Any) -> TrainingRun:
    # Phase and heartbeat are updated alone (cheap writes while a step runs), so they win over `data`.
    return TrainingRun.model_validate({**json.loads(row["data"]), "phase": row["phase"],
                                       "updated_at": row["updated_at"]})


def list_runs(store: Store, limit: int = 100) -> list[TrainingRun]:
    rows = store.query("SELECT data, phase, updated_at FROM training_runs ORDER BY created_at DESC LIMIT ?", (limit,))
    return [_run_from(row) for row in rows]


def set_phase(store: Store, run_id: str, phase: str) -> None:
    with store.transaction() as conn:
        conn.execute("UPDATE training_runs SET phase = ?, updated_at = ? WHERE id = ?",
                     (phase, utc_now().isoformat(), run_id))


def commit_row(store: Store, run: TrainingRun, row: StepRow) -> None:
    """Writes the row and the run's new state in one transaction: the run's commit point."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO training_steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run.id, row.kind, row.epoch, row.step, row.spec_id,
             int(row.decision == "accepted") if row.kind == "step" else None,
             row.train_score, row.val_score, row.tape_id, row.created_at.isoformat(), row.model_dump_json()),
        )
        _upsert_run(conn, run)


def load_rows(store: Store, run_id: str, kind: str | None = None) -> list[StepRow]:
    query = "SELECT data FROM training_steps WHERE run_id = ?" + (" AND kind = ?" if kind else "")
    rows = store.query(query + " ORDER BY epoch, kind = 'epoch', step", (run_id, kind) if kind else (run_id,))
    return [StepRow.model_validate_json(row["data"]) for row in rows]

"""The experiment record: which tapes, which rule, which scorer, and one row per selected tape.

These models are the schema of what the store keeps (migration 6) and what bundles carry.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tape_studio.core.experiments.rules import EditRule
from tape_studio.core.store import TapeFilter
from tape_studio.core.tape import new_id, utc_now

SCHEMA_VERSION = 1
ExperimentStatus = Literal["planned", "running", "stopped", "completed"]
RowState = Literal["pending", "skipped", "done", "failed"]
AUTHOR = "experiment"
"""The author of every fork an experiment makes (lineage says who changed the tape)."""


class Selection(BaseModel):
    """Which tapes an experiment edits: explicit ids, an evaluation run's tapes, or Browse filters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ids: tuple[str, ...] = ()
    eval_run: str | None = None
    """The run id an evaluation (`tape-studio eval`) or training run wrote into its tapes' context."""
    filter: TapeFilter | None = None
    """The Browse page's filters (text, agent, status, score, dates, family)."""

    def describe(self) -> str:
        parts = []
        if self.ids:
            parts.append(f"{len(self.ids)} tapes by id")
        if self.eval_run:
            parts.append(f"the tapes of run {self.eval_run}")
        if self.filter is not None:
            given = self.filter.model_dump(exclude_defaults=True, exclude={"limit", "offset"})
            parts.append("tapes where " + ", ".join(f"{k}={v}" for k, v in given.items()) if given else "all tapes")
        return "; ".join(parts) or "no tapes"


class Budget(BaseModel):
    """Limits on new model calls and money; None: no limit. Calls the cache answers are free."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_llm_calls: int | None = Field(default=None, ge=1)
    max_cost: float | None = Field(default=None, gt=0)


class Experiment(BaseModel):
    """One edit rule applied across a selection of tapes, each fork scored against its original."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    id: str = Field(default_factory=lambda: f"exp-{new_id()[:10]}")
    title: str = ""
    created_at: datetime = Field(default_factory=utc_now)
    selection: Selection
    rule: EditRule
    scorer: str = "auto"
    """A registered scorer, a metric name (needs targets), or auto: the dataset's metric, else the judge."""
    dataset: str | None = None
    """Where targets come from: a dataset whose example ids the tapes' context names."""
    budget: Budget = Budget()
    workers: int = Field(default=2, ge=1, le=64)
    status: ExperimentStatus = "planned"
    stop_reason: str = ""


class TapeRun(BaseModel):
    """One selected tape in an experiment: skipped (and why), or its fork and both scores."""

    model_config = ConfigDict(frozen=True)

    experiment_id: str
    tape_id: str
    position: int
    """Order in the selection, so reports list tapes as selected."""
    state: RowState = "pending"
    reason: str = ""
    """Why the tape was skipped or failed, in one line."""
    fork_id: str | None = None
    fork_at: int | None = None
    matched: tuple[int, ...] = ()
    original_score: float | None = None
    fork_score: float | None = None
    original_feedback: str = ""
    fork_feedback: str = ""
    llm_calls: int = 0
    """Model calls the rerun and the scoring made; `new_llm_calls` of them not answered by the cache."""
    new_llm_calls: int = 0
    cost: float = 0.0
    """What the rerun and scoring spent: the experiment's extra cost for this tape."""
    first_divergence: int | None = None
    """Index of the first differing step of the fork (None: the fork ended up identical)."""

    @property
    def delta(self) -> float | None:
        if self.original_score is None or self.fork_score is None:
            return None
        return round(self.fork_score - self.original_score, 6)


def fork_id_for(experiment_id: str, tape_id: str) -> str:
    """A fork's id follows from experiment and tape, so a resumed experiment finds the forks it made."""
    return hashlib.sha256(f"{AUTHOR}\x1f{experiment_id}\x1f{tape_id}".encode()).hexdigest()[:32]

"""Planning an experiment: the rule applied to each selected tape gives its fork point (or the
reason it is skipped), and the plan is stored before any fork is made."""

from __future__ import annotations

from tape_studio.core.errors import InputError, TapeStudioError
from tape_studio.core.experiments import records
from tape_studio.core.experiments.model import AUTHOR, Experiment, TapeRun, fork_id_for
from tape_studio.core.experiments.rules import Applied, SpecPatch, apply_rule
from tape_studio.core.experiments.scoring import AUTO, resolve_scorer
from tape_studio.core.experiments.selection import select_tape_ids
from tape_studio.core.spec import AgentSpec
from tape_studio.core.tape import Tape, fork_tape
from tape_studio.core.workspace import Workspace

MAX_TAPES = 5_000
"""An experiment's selection is bounded: more tapes than this is refused, not silently cut."""


def create_experiment(ws: Workspace, experiment: Experiment) -> tuple[Experiment, list[TapeRun]]:
    """Checks and stores the experiment with one row per selected tape: pending with its fork point,
    or skipped with the reason (no step matches the rule, its agent is not loaded)."""
    ids = select_tape_ids(ws.store, experiment.selection, MAX_TAPES)
    if not ids:
        raise InputError(f"the selection ({experiment.selection.describe()}) matches no stored tape")
    scorer_of(experiment)  # an unknown scorer is refused before anything is stored
    rows = [_plan_row(ws, experiment, position, tape_id) for position, tape_id in enumerate(ids)]
    records.save_experiment(ws.store, experiment, rows)
    return experiment, rows


def _plan_row(ws: Workspace, experiment: Experiment, position: int, tape_id: str) -> TapeRun:
    row = TapeRun(experiment_id=experiment.id, tape_id=tape_id, position=position)
    tape = ws.store.load_tape(tape_id)
    try:
        applied = apply_to(ws, experiment, tape)
    except TapeStudioError as exc:
        return row.model_copy(update={"state": "skipped", "reason": str(exc).splitlines()[0]})
    if applied is None:
        return row.model_copy(update={"state": "skipped", "reason": "no step matches the rule"})
    return row.model_copy(update={"fork_id": fork_id_for(experiment.id, tape_id), "fork_at": applied.at,
                                  "matched": applied.matched})


def apply_to(ws: Workspace, experiment: Experiment, tape: Tape) -> Applied | None:
    """What the rule makes of `tape` (None: nothing matches); a spec patch is applied to the tape's spec."""
    spec = ws.spec_of(tape) if isinstance(experiment.rule, SpecPatch) else None
    return apply_rule(experiment.rule, tape, spec)


def make_fork(ws: Workspace, experiment: Experiment, original: Tape) -> tuple[Tape, AgentSpec]:
    """The experiment's fork of `original` (not saved) and the spec that reruns it."""
    applied = apply_to(ws, experiment, original)
    if applied is None:
        raise InputError(f"tape {original.id!r}: no step matches the rule")
    spec = applied.spec or ws.spec_of(original)
    fork = fork_tape(original, applied.at, applied.replacement, author=AUTHOR)
    fork = fork.with_metadata(id=fork_id_for(experiment.id, original.id), spec_id=spec.id,
                              tags=(*original.metadata.tags, f"experiment:{experiment.id}"), experiment_id=experiment.id)
    return fork, spec


def scorer_of(experiment: Experiment) -> tuple[str, object]:
    """The scorer's name and function (auto: the dataset's metric, else the judge)."""
    metric = None
    if experiment.scorer == AUTO and experiment.dataset:
        from tape_studio.core.learning.datasets import load_dataset

        metric = load_dataset(experiment.dataset).metric
    return resolve_scorer(experiment.scorer, metric)

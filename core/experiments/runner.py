"""Running an experiment: fork and rerun each planned tape on the batch executor, score both
sides, and record each row as it ends.

Everything is resumable: the plan is stored before any fork is made, a fork's id follows from the
experiment and its tape, and a row is marked done only after its fork finished and both sides were
scored. A killed experiment resumes with the rows still pending: a fork already made is continued
(the store holds its steps, the cache the calls already answered), never made twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tape_studio.core.errors import TapeStudioError
from tape_studio.core.executor import ExecutorChoice, open_executor
from tape_studio.core.experiments import records
from tape_studio.core.experiments.batch_preview import BatchPreview, MatchPreview, preview_experiment, preview_matches
from tape_studio.core.experiments.model import Budget, Experiment, TapeRun
from tape_studio.core.experiments.plan import MAX_TAPES, create_experiment, make_fork, scorer_of
from tape_studio.core.experiments.recorded import seed_cache
from tape_studio.core.experiments.remote import Rerun, remote_reruns
from tape_studio.core.experiments.rerun_edits import for_rerun
from tape_studio.core.experiments.scoring import Scoring, answer_of, run_scorer, task_of
from tape_studio.core.experiments.selection import targets_for
from tape_studio.core.learning.meter import Budget as MeterBudget
from tape_studio.core.learning.meter import BudgetExceeded, Meter, MeteredLLM, Usage, total
from tape_studio.core.llm import LLM, LLMCall, Prompt
from tape_studio.core.loop import run_to_end
from tape_studio.core.redact import redact
from tape_studio.core.spec import AgentSpec
from tape_studio.core.tape import Tape
from tape_studio.core.workspace import Workspace


@dataclass(frozen=True)
class Progress:
    """How far a running experiment is, for a progress bar."""

    done: int
    total: int
    tape_id: str = ""
    state: str = ""


class _Tally(MeteredLLM):
    """A metered client that also counts one tape's calls, so each row reports its own cost."""

    def __init__(self, base: LLM, meter: Meter, role: str, tally: Meter) -> None:
        super().__init__(base, meter, role)
        self.tally = tally

    def complete(self, prompt: Prompt, model: str | None = None, params: dict | None = None) -> LLMCall:  # type: ignore[type-arg]
        call = super().complete(prompt, model=model, params=params)
        self.tally.record(self.role, call)
        return call


def run_experiment(
    ws: Workspace,
    experiment_id: str,
    llm: LLM | None = None,
    executor: ExecutorChoice | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    budget: Budget | None = None,
) -> Experiment:
    """Runs (or resumes) every pending row; returns the experiment with its final status.

    The budget (the stored one, or `budget`, which replaces it) counts the new model calls and
    cost of this run; past it the experiment stops (status `stopped`) and a later call resumes
    the rows left."""
    experiment = records.load_experiment(ws.store, experiment_id)
    if budget is not None:
        experiment = experiment.model_copy(update={"budget": budget})
    rows = records.load_rows(ws.store, experiment_id)
    name, scorer = scorer_of(experiment)
    targets = targets_for(ws.store, experiment, [row.tape_id for row in rows])
    meter = Meter(MeterBudget(max_llm_calls=experiment.budget.max_llm_calls, max_cost=experiment.budget.max_cost))
    base = llm or ws.llm
    experiment = experiment.model_copy(update={"status": "running", "stop_reason": ""})
    records.save_experiment(ws.store, experiment)
    pending = [row for row in rows if row.state == "pending"]
    done = len(rows) - len(pending)
    stop = threading.Event()
    reasons: list[str] = []

    def halted() -> bool:
        if should_stop is not None and should_stop():
            stop.set()
        return stop.is_set()

    def finish(row: TapeRun, tally: Meter, step: Callable[[], TapeRun]) -> TapeRun:
        """Runs one row's `step` and saves the row with what it spent; a budget stop leaves it pending."""
        try:
            result = step()
        except BudgetExceeded as exc:
            stop.set()
            reasons.append(str(exc))
            _pause(ws, row)
            return row
        except TapeStudioError as exc:
            result = row.model_copy(update={"state": "failed", "reason": redact(str(exc)).splitlines()[0][:300]})
        spent = total(tally.snapshot())
        result = result.model_copy(update={"llm_calls": row.llm_calls + spent.calls,
                                           "new_llm_calls": row.new_llm_calls + spent.new_calls,
                                           "cost": round(row.cost + spent.cost, 6)})
        records.save_row(ws.store, result)
        return result

    def work(row: TapeRun) -> TapeRun:
        if halted():
            return row
        tally = Meter()
        judge = _Tally(base, meter, "judge", tally)
        return finish(row, tally, lambda: _run_row(ws, experiment, row, _Tally(base, meter, "forward", tally), judge,
                                                   name, scorer, targets.get(row.tape_id)))

    def scored(rerun: Rerun) -> TapeRun:
        """A rerun that came back from a task, scored here (the judge's calls are the driver's)."""
        tally = Meter(start=rerun.usage)
        if rerun.fork is None or rerun.original is None:
            return finish(rerun.row, tally, lambda: _fail(rerun.error))
        original, fork, judge = rerun.original, rerun.fork, _Tally(base, meter, "judge", tally)
        return finish(rerun.row, tally, lambda: _score_row(ws, rerun.row, original, fork, judge, name, scorer,
                                                           targets.get(rerun.row.tape_id)))

    def over_budget() -> bool:
        try:
            meter.check()
        except BudgetExceeded as exc:
            stop.set()
            reasons.append(str(exc))
        return stop.is_set()

    pool = open_executor(executor or ExecutorChoice(), experiment.workers)
    try:
        if pool.distributed:
            reruns = remote_reruns(ws, pending, pool, base, meter, lambda row: _prepare(ws, experiment, row, base),
                                   lambda: halted() or over_budget(), experiment.rule)
            finished: Iterator[TapeRun] = (scored(rerun) for rerun in reruns)
        else:
            finished = (row for _, row in pool.imap(work, pending))
        for row in finished:
            if row.state != "pending":
                done += 1
            if on_progress is not None:
                on_progress(Progress(done=done, total=len(rows), tape_id=row.tape_id, state=row.state))
    finally:
        pool.close()
    left = sum(row.state == "pending" for row in records.load_rows(ws.store, experiment_id))
    status = "completed" if not left else "stopped"
    reason = reasons[0] if reasons else ("stopped on request" if left else "")
    experiment = experiment.model_copy(update={"status": status, "stop_reason": reason})
    records.save_experiment(ws.store, experiment)
    return experiment


def _run_row(ws: Workspace, experiment: Experiment, row: TapeRun, agent_llm: LLM, judge_llm: LLM, scorer_name: str,
             scorer: object, target: str | None) -> TapeRun:
    original, fork, spec = _prepare(ws, experiment, row, agent_llm)
    if not _finished(fork):
        agent = ws.agent_for(fork, spec, agent_llm)
        agent, env = for_rerun(experiment.rule, agent, ws.environment(agent))
        fork = run_to_end(agent, env, fork, ws.store).tape
    return _score_row(ws, row, original, fork, judge_llm, scorer_name, scorer, target)


def _prepare(ws: Workspace, experiment: Experiment, row: TapeRun, llm: LLM) -> tuple[Tape, Tape, AgentSpec]:
    """The row's original, its fork (made and saved now, or as a kill or a budget stop left it) and
    the spec that reruns it; the original's recorded answers are put in the rerun's cache."""
    original = ws.store.load_tape(row.tape_id)
    assert row.fork_id is not None
    if ws.store.has_tape(row.fork_id):  # made before a kill or a budget stop: continue it
        fork = ws.store.load_tape(row.fork_id)
        spec = ws.spec_of(fork)
    else:
        fork, spec = make_fork(ws, experiment, original)
        ws.store.save_spec(spec)
        ws.store.save_tape(fork)
    if not _finished(fork) and llm.mode != "live":
        seed_cache(llm.cache, ws.store.calls_for_tape(original.id))
    return original, fork, spec


def _fail(reason: str) -> TapeRun:
    raise TapeStudioError(reason)


def _finished(tape: Tape) -> bool:
    return tape.metadata.status in ("completed", "failed")


def _score_row(ws: Workspace, row: TapeRun, original: Tape, fork: Tape, judge_llm: LLM, scorer_name: str,
               scorer: object, target: str | None) -> TapeRun:
    """Both sides scored the same way; the row is done."""
    sides = []
    for tape in (original, fork):
        item = Scoring(tape=tape, task=task_of(tape), answer=answer_of(tape), target=target, llm=judge_llm)
        sides.append(run_scorer(scorer, item, scorer_name))  # type: ignore[arg-type]
    ws.store.set_score(fork.id, sides[1].score)
    if ws.store.summary(original.id).score is None:  # an original's own score (from an evaluation) is kept
        ws.store.set_score(original.id, sides[0].score)
    from tape_studio.core.diff import diff_tapes

    divergence = diff_tapes(original, fork)
    first = divergence.pairs[divergence.first_divergence].b if divergence.first_divergence is not None else None
    return row.model_copy(update={
        "state": "done", "reason": fork.metadata.error[:300] if fork.metadata.status == "failed" else "",
        "original_score": sides[0].score, "fork_score": sides[1].score, "original_feedback": sides[0].feedback[:500],
        "fork_feedback": sides[1].feedback[:500], "first_divergence": first if first is not None else row.fork_at})


def _pause(ws: Workspace, row: TapeRun) -> None:
    """A fork cut off by the budget shows as interrupted (it resumes like any other).

    The loop settles a run that raised as `failed`; the budget is not the fork's fault, so it is
    turned back into `interrupted` here."""
    if row.fork_id and ws.store.has_tape(row.fork_id):
        tape = ws.store.summary(row.fork_id)
        if tape.status in ("running", "failed"):
            ws.store.set_status(row.fork_id, "interrupted")


__all__ = ["MAX_TAPES", "BatchPreview", "MatchPreview", "Progress", "Usage", "create_experiment", "make_fork",
           "preview_experiment", "preview_matches", "run_experiment"]

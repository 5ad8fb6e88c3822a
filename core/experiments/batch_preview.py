"""Before an experiment runs: the batch's cost preview, and a preview of what the rule matches."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tape_studio.core.errors import TapeStudioError
from tape_studio.core.experiments import records
from tape_studio.core.experiments.judge_preview import JudgeCalls, judge_calls
from tape_studio.core.experiments.model import Experiment
from tape_studio.core.experiments.plan import MAX_TAPES, apply_to, make_fork, scorer_of
from tape_studio.core.experiments.recorded import WithRecorded
from tape_studio.core.experiments.rerun_edits import for_rerun
from tape_studio.core.experiments.rules import StepEdit, edit_step
from tape_studio.core.experiments.selection import select_tape_ids
from tape_studio.core.llm import LLM
from tape_studio.core.preview import preview_rerun
from tape_studio.core.workspace import Workspace


class BatchPreview(BaseModel):
    """What an experiment is expected to cost before it starts, summed over its pending forks."""

    model_config = ConfigDict(frozen=True)

    tapes: int
    skipped: int
    calls: int
    cached_calls: int
    """Calls the cache answers (free)."""
    new_calls: int
    cost: float
    """Expected cost of the new agent calls, sized from the originals' records (new judge calls are counted, not priced)."""
    exact: bool
    """True when every rerun is answered from the cache to its end."""
    unknown: int = 0
    """Tapes whose rerun could not be previewed (their agent is not loaded here, say)."""
    judge_calls: int = 0
    """Of `calls`, those the LLM judge makes to score both sides (when it is the scorer)."""
    judge_cached: int = 0
    """Of `cached_calls`, the judge's."""

    @property
    def cached_share(self) -> float:
        return self.cached_calls / self.calls if self.calls else 0.0


def preview_experiment(ws: Workspace, experiment_id: str, llm: LLM | None = None) -> BatchPreview:
    """Simulates every pending fork's rerun against the cache (see core/preview.py); nothing is
    called or written. Forks already made are previewed from where they stand."""
    experiment = records.load_experiment(ws.store, experiment_id)
    rows = records.load_rows(ws.store, experiment_id)
    judged = scorer_of(experiment)[0] == "judge"
    client = llm or ws.llm
    calls = cached = unknown = judge_total = judge_cached = 0
    cost_total, exact = 0.0, True
    pending = [row for row in rows if row.state == "pending"]
    for row in pending:
        try:
            original = ws.store.load_tape(row.tape_id)
            if row.fork_id and ws.store.has_tape(row.fork_id):
                fork, spec = ws.store.load_tape(row.fork_id), ws.spec_of(ws.store.load_tape(row.fork_id))
            else:
                fork, spec = make_fork(ws, experiment, original)
            agent = ws.agent_for(fork, spec, client)
            agent, env = for_rerun(experiment.rule, agent, ws.environment(agent))
            recorded = {call.prompt_id: call for call in ws.store.calls_for_tape(original.id)}
            # The run seeds the cache with the original's calls (see recorded.py); the preview reads them alongside.
            cache = WithRecorded(ws.cache, recorded.values())
            preview = preview_rerun(agent, fork, cache, env, reference=original, calls=recorded)
            judge = (judge_calls(ws, client, cache, original, fork, spec, experiment.rule, preview.exact) if judged
                     else JudgeCalls())
        except TapeStudioError:
            unknown += 1
            continue
        calls += len(preview.calls) + judge.calls
        cached += preview.cached_calls + judge.cached
        judge_total, judge_cached = judge_total + judge.calls, judge_cached + judge.cached
        cost_total += preview.cost
        exact = exact and preview.exact and judge.exact
    return BatchPreview(tapes=len(pending), skipped=sum(row.state == "skipped" for row in rows), calls=calls,
                        cached_calls=cached, new_calls=calls - cached, cost=round(cost_total, 6),
                        exact=exact and not unknown, unknown=unknown, judge_calls=judge_total,
                        judge_cached=judge_cached)


class MatchPreview(BaseModel):
    """A tape's first step the rule edits, before and after, for checking a rule before planning it."""

    model_config = ConfigDict(frozen=True)

    tape_id: str
    title: str
    at: int | None
    """The fork point; None when nothing in the tape matches."""
    before: str = ""
    after: str = ""


def preview_matches(ws: Workspace, experiment: Experiment, tapes: int = 3, scan: int = 50) -> list[MatchPreview]:
    """Up to `tapes` matching tapes among the first `scan` selected (and the unmatched ones seen on the way)."""
    found: list[MatchPreview] = []
    for tape_id in select_tape_ids(ws.store, experiment.selection, MAX_TAPES)[:scan]:
        tape = ws.store.load_tape(tape_id)
        try:
            applied = apply_to(ws, experiment, tape)
        except TapeStudioError as exc:
            found.append(MatchPreview(tape_id=tape_id, title=tape.metadata.title, at=None, before=str(exc)))
            continue
        if applied is None:
            found.append(MatchPreview(tape_id=tape_id, title=tape.metadata.title, at=None))
            continue
        step = tape.steps[applied.at]
        if isinstance(experiment.rule, StepEdit):
            after = " · ".join(f"[{s.kind}] {s.summary()}" for s in edit_step(experiment.rule, step)) or "(deleted)"
        else:
            after = f"rerun with spec {applied.spec.id if applied.spec else '?'}"
        found.append(MatchPreview(tape_id=tape_id, title=tape.metadata.title, at=applied.at,
                                  before=f"[{step.kind}] {step.summary()}", after=after))
        if sum(p.at is not None for p in found) >= tapes:
            break
    return found

"""One update step: forward → loss → backward → aggregate → optimizers → candidate → gate → decision.

Returns the spec to continue with, the step's metrics row and its record tape; committing them is
the trainer's job. The current spec is only read: a candidate is always a new version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tape_studio.core.learning.aggregate import aggregate
from tape_studio.core.learning.backward import backward
from tape_studio.core.learning.candidate import build_candidate
from tape_studio.core.learning.context import Context
from tape_studio.core.learning.datasets import Example
from tape_studio.core.learning.evaluate import Evaluation, Scored, evaluate
from tape_studio.core.learning.gate import GatePolicy, decide, minibatch_verdict
from tape_studio.core.learning.optimize import optimize
from tape_studio.core.learning.records import RecordTape, StepRow
from tape_studio.core.spec import AgentSpec
from tape_studio.core.tape import StepMetadata
from tape_studio.core.learning.steps import Decision, GateResult

ValScore = Callable[[AgentSpec], float | None]
"""The validation mean of a spec (memoised by the trainer); None when there is no validation split."""


@dataclass(frozen=True)
class StepResult:
    spec: AgentSpec
    row: StepRow
    records: RecordTape


def update_step(
    ctx: Context, spec: AgentSpec, batch: Sequence[Example], optimizers: Sequence[str], policy: GatePolicy,
    val_score: ValScore, records: RecordTape, row: StepRow,
) -> StepResult:
    """Runs the step; `row` arrives with its position filled and leaves with the metrics."""
    where = f"epoch {row.epoch} · step {row.step + 1}"
    ctx.checkpoint(f"{where} · forward")
    current, scored = evaluate(ctx, spec, batch, "train", "forward")
    records.add([(s.loss, s.call) for s in scored])
    row = row.model_copy(update={"train_score": current.mean, "example_ids": tuple(e.id for e in batch),
                                 "forward_tape_ids": tuple(s.tape.id for s in scored)})
    if ctx.skip_solved and all(s.loss.score >= 1.0 for s in scored):
        return _decide(spec, None, "solved", "every example of the minibatch is solved", records, row)
    candidate, changed_by = _propose(ctx, spec, scored, optimizers, records, where)
    row = row.model_copy(update={"changed_by": changed_by})
    if candidate is None:
        return _decide(spec, None, "no_candidate", "no valid proposal changed the spec", records, row)
    ctx.store.save_spec(candidate)  # rejected candidates are kept too: the studio diffs them
    ctx.checkpoint(f"{where} · gate")
    gate = run_gate(ctx, policy, spec, candidate, batch, current, val_score)
    records.add([(gate, None)])
    row = row.model_copy(update={"candidate_score": _mean(gate.candidate_scores), "val_candidate": gate.val_candidate})
    verdict = "accepted" if gate.passed else "rejected"
    return _decide(spec, candidate, verdict, gate.reason, records, row)


def _propose(
    ctx: Context, spec: AgentSpec, scored: list[Scored], optimizers: Sequence[str], records: RecordTape, where: str
) -> tuple[AgentSpec | None, tuple[str, ...]]:
    """The candidate and the optimizers whose valid proposals made it, in the order they ran."""
    ctx.checkpoint(f"{where} · backward")
    gradients = backward(ctx, spec, [s.tape for s in scored], [s.loss for s in scored])
    records.add(list(gradients))
    aggregated = aggregate(ctx, spec, [g for g, _ in gradients])
    records.add(list(aggregated))
    ctx.checkpoint(f"{where} · optimizers")
    failed = [s for s in scored if s.loss.score < 1.0]
    proposals = optimize(ctx, spec, optimizers, [a for a, _ in aggregated], [s.tape for s in failed],
                         [s.loss for s in failed], [s.example.id for s in scored])
    records.add(list(proposals))
    candidate = build_candidate(spec, [p for p, _ in proposals])
    changed_by = tuple(dict.fromkeys(p.optimizer for p, _ in proposals if p.valid)) if candidate else ()
    return candidate, changed_by


def run_gate(
    ctx: Context, policy: GatePolicy, spec: AgentSpec, candidate: AgentSpec, batch: Sequence[Example],
    current: Evaluation, val_score: ValScore,
) -> GateResult:
    """The paired rerun of the candidate on the same minibatch, then validation if it is needed."""
    rerun: Evaluation | None = None
    val_current = val_candidate = None
    if policy != "none":
        rerun, _ = evaluate(ctx, candidate, batch, "train", "gate")
        if policy == "minibatch+val" and minibatch_verdict(current.scores, rerun.scores).passed:
            ctx.checkpoint("validation")
            val_current, val_candidate = val_score(spec), val_score(candidate)
    outcome = decide(policy, current.scores, rerun.scores if rerun else None, val_current, val_candidate)
    return GateResult(
        metadata=StepMetadata(node="gate", agent="trainer"), policy=policy, current_spec_id=spec.id,
        candidate_spec_id=candidate.id, current_scores=current.scores,
        candidate_scores=rerun.scores if rerun else {}, val_current=val_current, val_candidate=val_candidate,
        passed=outcome.passed, reason=outcome.reason,
        candidate_tape_ids=tuple(rerun.tape_ids.values()) if rerun else ())


def _decide(
    spec: AgentSpec, candidate: AgentSpec | None, verdict: str, reason: str, records: RecordTape, row: StepRow
) -> StepResult:
    accepted = verdict == "accepted" and candidate is not None
    after = candidate if accepted and candidate is not None else spec
    decision = Decision(metadata=StepMetadata(node="trainer", agent="trainer"), accepted=accepted,
                        spec_before=spec.id, spec_after=after.id,
                        candidate_spec_id=candidate.id if candidate else "", reason=reason)
    records.add([(decision, None)])
    row = row.model_copy(update={
        "spec_id": after.id, "spec_before": spec.id, "candidate_spec_id": candidate.id if candidate else "",
        "decision": verdict, "reason": reason, "accepted": int(accepted),
        "rejected": int(verdict in ("rejected", "no_candidate")), "tape_id": records.metadata.id})
    return StepResult(spec=after, row=row, records=records)


def _mean(scores: dict[str, float]) -> float | None:
    return round(sum(scores.values()) / len(scores), 4) if scores else None

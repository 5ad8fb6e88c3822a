"""A run's summary as plain JSON: what `tape-studio train --json` prints and the studio shows."""

from __future__ import annotations

from pydantic import JsonValue

from tape_studio.core.learning.compare import Comparison
from tape_studio.core.learning.meter import Usage, total
from tape_studio.core.learning.records import StepRow, TrainingRun


def epoch_rows(rows: list[StepRow]) -> list[dict[str, JsonValue]]:
    return [{"epoch": r.epoch, "train": r.train_score, "val": r.val_score, "accepted": r.accepted,
             "rejected": r.rejected, "spec_id": r.spec_id}
            for r in rows if r.kind == "epoch" and r.epoch > 0]


def summarize(
    run: TrainingRun, rows: list[StepRow], test: dict[str, float] | None, usage: dict[str, Usage],
    comparisons: list[Comparison] | None = None,
) -> dict[str, JsonValue]:
    """`comparisons`: v0 against the best version, per split (delta, 90% paired-bootstrap interval, flips)."""
    baseline = next((r for r in rows if r.kind == "epoch" and r.epoch == 0), None)
    best_val = next((r.val_score for r in rows if r.spec_id == run.best_spec_id and r.val_score is not None), None)
    spent = total(usage)
    return {
        "run_id": run.id, "status": run.status, "error": run.error, "agent": run.agent, "dataset": run.dataset,
        "v0": {"spec_id": run.spec_id, "val": baseline.val_score if baseline else None},
        "epochs": epoch_rows(rows),  # type: ignore[dict-item]
        "best_spec_id": run.best_spec_id, "best_val": best_val,
        "test": test,  # type: ignore[dict-item]
        "v0_vs_best": {c.split: c.model_dump(mode="json") for c in comparisons or ()},  # type: ignore[dict-item]
        "accepted_changes": [{"epoch": r.epoch, "step": r.step + 1, "spec_id": r.spec_id, "by": list(r.changed_by)}
                             for r in rows if r.kind == "step" and r.decision == "accepted"],  # type: ignore[dict-item]
        "steps": sum(r.kind == "step" for r in rows),
        "llm_calls": spent.calls, "new_llm_calls": spent.new_calls,
        "tokens": spent.prompt_tokens + spent.completion_tokens, "cost": round(spent.cost, 6),
        "usage": {role: part.model_dump() for role, part in sorted(usage.items())},  # type: ignore[dict-item]
    }

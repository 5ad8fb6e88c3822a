"""The Train page's data: a run's rows, records and versions shaped into tables (no drawing here)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from tape_studio.core.learning.compare import Comparison, Flip
from tape_studio.core.learning.guards import prompt_length
from tape_studio.core.learning.meter import Usage, combine, total
from tape_studio.core.learning.prompt_diff import ComponentDiff, spec_diff
from tape_studio.core.learning.records import StepRow, TrainingRun
from tape_studio.core.learning.versions import Version
from tape_studio.core.spec import AgentSpec
from tape_studio.core.tape import Tape
from tape_studio.core.learning.steps import AggregatedGradient, Gradient, Loss, Proposal
from tape_studio.studio.words import plural


def step_frame(rows: list[StepRow]) -> pd.DataFrame:
    """One row per update step, placed on the epoch axis (epoch 1's steps lie between 0 and 1)."""
    per_epoch: dict[int, int] = {}
    for row in rows:
        if row.kind == "step":
            per_epoch[row.epoch] = max(per_epoch.get(row.epoch, 0), row.step + 1)
    records, calls, cost = [], 0, 0.0
    for row in rows:
        spent = total(row.usage)
        calls, cost = calls + spent.calls, cost + spent.cost
        if row.kind != "step":
            continue
        records.append({
            "epoch": row.epoch, "step": row.step + 1, "x": row.epoch - 1 + (row.step + 1) / per_epoch[row.epoch],
            "decision": row.decision, "train": row.train_score, "candidate": row.candidate_score,
            "val_candidate": row.val_candidate, "reason": row.reason, "calls": spent.calls,
            "tokens": spent.prompt_tokens + spent.completion_tokens, "cost": spent.cost,
            "total_calls": calls, "total_cost": cost, "spec_id": row.spec_id,
            "candidate_spec_id": row.candidate_spec_id, "tape_id": row.tape_id})
    return pd.DataFrame(records, columns=["epoch", "step", "x", "decision", "train", "candidate", "val_candidate",
                                          "reason", "calls", "tokens", "cost", "total_calls", "total_cost",
                                          "spec_id", "candidate_spec_id", "tape_id"])


def epoch_frame(rows: list[StepRow]) -> pd.DataFrame:
    """One row per epoch (0 is the starting version), with the run's spend up to its end."""
    records, calls, cost = [], 0, 0.0
    for row in rows:
        spent = total(row.usage)
        calls, cost = calls + spent.calls, cost + spent.cost
        if row.kind == "epoch":
            records.append({"epoch": row.epoch, "train": row.train_score, "val": row.val_score,
                            "accepted": row.accepted, "rejected": row.rejected, "spec_id": row.spec_id,
                            "total_calls": calls, "total_cost": cost})
    return pd.DataFrame(records, columns=["epoch", "train", "val", "accepted", "rejected", "spec_id",
                                          "total_calls", "total_cost"])


def run_usage(run: TrainingRun, rows: list[StepRow]) -> dict[str, Usage]:
    """Usage per role: the summary's once the run ended (it includes the final test report), else the rows'."""
    summary = (run.summary or {}).get("usage")
    if isinstance(summary, dict):
        return {role: Usage.model_validate(part) for role, part in summary.items()}
    return combine(*(row.usage for row in rows))


def usage_frame(usage: dict[str, Usage]) -> pd.DataFrame:
    """LLM calls, tokens and cost per role over the whole run."""
    records = [{"role": role, "calls": u.calls, "new_calls": u.new_calls, "prompt_tokens": u.prompt_tokens,
                "completion_tokens": u.completion_tokens, "tokens": u.prompt_tokens + u.completion_tokens,
                "cost": u.cost} for role, u in sorted(usage.items())]
    return pd.DataFrame(records, columns=["role", "calls", "new_calls", "prompt_tokens", "completion_tokens",
                                          "tokens", "cost"])


def length_frame(versions: list[Version], specs: dict[str, AgentSpec]) -> pd.DataFrame:
    """Prompt length (characters) per node for every version, rejected candidates included."""
    records = [{"version": v.label, "order": n, "adopted": v.adopted, "node": node.name,
                "chars": prompt_length(node.prompt)}
               for n, v in enumerate(versions) for node in specs[v.spec_id].nodes if not node.prompt.is_empty()]
    return pd.DataFrame(records, columns=["version", "order", "adopted", "node", "chars"])


@dataclass
class GradientGrid:
    """One step's records arranged as nodes × examples, each cell with its record's index on the tape."""

    losses: list[tuple[int, Loss]] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    cells: dict[tuple[str, str], list[tuple[int, Gradient]]] = field(default_factory=dict)
    aggregated: dict[str, tuple[int, AggregatedGradient]] = field(default_factory=dict)
    proposals: list[tuple[int, Proposal]] = field(default_factory=list)


def gradient_grid(tape: Tape, node_order: list[str]) -> GradientGrid:
    grid = GradientGrid()
    for index, step in enumerate(tape.steps):
        if isinstance(step, Loss):
            grid.losses.append((index, step))
        elif isinstance(step, Gradient):
            grid.cells.setdefault((step.node, step.example_id), []).append((index, step))
        elif isinstance(step, AggregatedGradient):
            grid.aggregated[step.node] = (index, step)
        elif isinstance(step, Proposal):
            grid.proposals.append((index, step))
    seen = {node for node, _ in grid.cells}
    grid.nodes = [name for name in node_order if name in seen] + sorted(seen - set(node_order))
    return grid


# --- links, progress and the story of a run ------------------------------------------------------


def tape_link(tape_id: str, step: int | None = None) -> str:
    """A relative address of the Tape page, so it works wherever the studio is served."""
    return f"tape?tape={tape_id}" + (f"&step={step}" if step is not None else "")


def compare_link(a: str, b: str) -> str:
    return f"compare?a={a}&b={b}"


def progress(run: TrainingRun, rows: list[StepRow], steps_total: int | None) -> tuple[float, str]:
    """How far the run is, as a fraction and in words ("3 of 6 update steps done · 1 of 2 epochs finished")."""
    steps = sum(row.kind == "step" for row in rows)
    epochs = sum(row.kind == "epoch" and row.epoch > 0 for row in rows)
    if steps_total is None:  # the dataset is gone, so the plan is unknown
        return 0.0, f"{plural(steps, 'update step')} done · {epochs} of {plural(run.config.epochs, 'epoch')} finished"
    units = 1 + steps_total + run.config.epochs  # the baseline, the steps, one validation per epoch
    return (min(len(rows) / units, 1.0),
            f"{steps} of {plural(steps_total, 'update step')} done · {epochs} of "
            f"{plural(run.config.epochs, 'epoch')} finished")


def status_sentence(run: TrainingRun, here: bool, idle_s: float | None) -> str:
    """The run's state in plain words; `idle_s` is set when a running run has stopped moving."""
    if run.status == "completed":
        return "Finished: every epoch ran and the test split was scored." if run.config.evaluate_test else \
            "Finished: every epoch ran."
    if run.status == "running" and idle_s is not None:
        return (f"Not moving: no progress for {idle_s:.0f} s, so the process running it may have died. "
                "Resume continues from the last finished step.")
    if run.status == "running":
        return "Training" + (" in this studio" if here else " in another process") + (
            f", now at {run.phase}." if run.phase else ".")
    if run.status == "stopped":
        return "Stopped before the end. Resume continues from the last finished step."
    return "Failed (the error is below). Resume retries from the last finished step."


@dataclass
class AcceptedChange:
    """One accepted update step: the version it made, what made it, and the prompt components it changed."""

    label: str
    row: StepRow
    diffs: list[ComponentDiff]


def accepted_changes(versions: list[Version], rows: list[StepRow], specs: dict[str, AgentSpec]) -> list[AcceptedChange]:
    labels = {v.spec_id: v.label for v in versions if v.adopted}
    changes = []
    for row in rows:
        if row.kind == "step" and row.decision == "accepted" and row.spec_before in specs:
            diffs = [d for d in spec_diff(specs[row.spec_before], specs[row.candidate_spec_id]) if d.changed]
            changes.append(AcceptedChange(label=labels.get(row.candidate_spec_id, "?"), row=row, diffs=diffs))
    return changes


def optimizer_words(row: StepRow) -> str:
    names = {"demos": "demonstrations", "prompt": "prompt", "tool": "tool docs", "pipeline": "pipeline"}
    return " + ".join(names.get(name, name) for name in row.changed_by) or "(not recorded)"


def gradient_frame(grid: GradientGrid, record_tape: str) -> pd.DataFrame:
    """Every parameter gradient of one step, node by node, with links to the visit and to the record."""
    order = {node: n for n, node in enumerate(grid.nodes)}
    records = [{"node": node, "example": example, "gradient": gradient.error or gradient.parameter,
                "needed from upstream": gradient.input_gradient or "",
                "forward tape": tape_link(gradient.tape_id, gradient.step_index),
                "record": tape_link(record_tape, index)}
               for (node, example), cells in sorted(grid.cells.items(), key=lambda item: order[item[0][0]])
               for index, gradient in cells]
    return pd.DataFrame(records, columns=["node", "example", "gradient", "needed from upstream", "forward tape",
                                          "record"])


def flip_frame(flips: list[Flip]) -> pd.DataFrame:
    """Flipped examples as rows: what changed, the question, both scores and the links to both tapes."""
    records = [{"change": flip.change, "example": flip.example_id, "question": flip.question,
                "A score": flip.a_score, "B score": flip.b_score, "A tape": tape_link(flip.a_tape),
                "B tape": tape_link(flip.b_tape), "compare": compare_link(flip.a_tape, flip.b_tape)}
               for flip in flips]
    return pd.DataFrame(records, columns=["change", "example", "question", "A score", "B score", "A tape", "B tape",
                                          "compare"])


def comparison_sentence(comparison: Comparison, a: str, b: str) -> str:
    """'validation: v0 0.50 → v2 0.67, +0.17 (90% interval −0.05 to +0.39) · 2 fixed, 1 broken of 6'."""
    return (f"{SPLIT_NAMES.get(comparison.split, comparison.split)}: {a} {comparison.a_score:.2f} → {b} "
            f"{comparison.b_score:.2f}, {comparison.delta:+.2f} (90% interval {comparison.low:+.2f} to "
            f"{comparison.high:+.2f}) · {len(comparison.fixed)} fixed, {len(comparison.broken)} broken of "
            f"{plural(comparison.n, 'example')}")


SPLIT_NAMES = {"val": "validation", "test": "test", "train": "train"}


def recorded_scores(run: TrainingRun, split: str) -> tuple[float, float] | None:
    """(v0, best) on `split` as the run's summary gives them, without per-example detail."""
    summary = run.summary or {}
    v0, test = summary.get("v0"), summary.get("test")
    if split == "val" and isinstance(v0, dict):
        pair = (v0.get("val"), summary.get("best_val"))
    elif split == "test" and isinstance(test, dict):
        pair = (test.get("v0"), test.get("best"))
    else:
        return None
    return (float(pair[0]), float(pair[1])) if all(isinstance(x, int | float) for x in pair) else None


def verdict(comparison: Comparison) -> str:
    """Whether the delta is more than noise, read off its interval."""
    if comparison.low > 0:
        return "better beyond noise: the whole 90% interval is above zero"
    if comparison.high < 0:
        return "worse beyond noise: the whole 90% interval is below zero"
    return "not told apart from noise: the 90% interval includes zero"

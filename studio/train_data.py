"""The Train page's data: a run's rows, records and versions shaped into tables (no drawing here)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from tape_studio.core.learning.guards import prompt_length
from tape_studio.core.learning.meter import Usage, combine, total
from tape_studio.core.learning.records import StepRow, TrainingRun
from tape_studio.core.learning.versions import Version
from tape_studio.core.spec import AgentSpec
from tape_studio.core.tape import Tape
from tape_studio.core.learning.steps import AggregatedGradient, Gradient, Loss, Proposal


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

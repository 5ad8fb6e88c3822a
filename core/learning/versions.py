"""A run's spec versions: which were adopted, which were rejected candidates, and what each changed."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from tape_studio.core.learning.records import StepRow, TrainingRun
from tape_studio.core.spec import AgentSpec, Edge
from tape_studio.core.store import Store

NodeChange = Literal["same", "changed", "added"]


class Version(BaseModel):
    """One spec the run produced, labelled for people (v0, v1, … and candidates)."""

    model_config = ConfigDict(frozen=True)

    label: str
    spec_id: str
    parent_id: str | None
    adopted: bool
    epoch: int = 0
    step: int = 0


def run_versions(run: TrainingRun, rows: list[StepRow]) -> list[Version]:
    """v0, then each step's candidate: adopted ones numbered v1, v2…, rejected ones named by their step."""
    versions = [Version(label="v0", spec_id=run.spec_id, parent_id=None, adopted=True)]
    number = 0
    for row in rows:
        if row.kind != "step" or not row.candidate_spec_id:
            continue
        adopted = row.decision == "accepted"
        number += adopted
        label = f"v{number}" if adopted else f"rejected e{row.epoch}s{row.step + 1}"
        versions.append(Version(label=label, spec_id=row.candidate_spec_id, parent_id=row.spec_before,
                                adopted=adopted, epoch=row.epoch, step=row.step))
    return versions


def load_versions(store: Store, versions: list[Version]) -> dict[str, AgentSpec]:
    return {v.spec_id: store.load_spec(v.spec_id) for v in versions}


def node_changes(parent: AgentSpec | None, child: AgentSpec) -> dict[str, NodeChange]:
    """How each node of `child` differs from `parent` (all "same" without a parent)."""
    before = {node.name: node for node in parent.nodes} if parent else None
    changes: dict[str, NodeChange] = {}
    for node in child.nodes:
        if before is None or before.get(node.name) == node:
            changes[node.name] = "same"
        else:
            changes[node.name] = "changed" if node.name in before else "added"
    return changes


def edge_changes(parent: AgentSpec | None, child: AgentSpec) -> tuple[set[Edge], set[Edge]]:
    """(edges new in `child`, edges of `parent` that `child` dropped)."""
    if parent is None:
        return set(), set()
    return set(child.edges) - set(parent.edges), set(parent.edges) - set(child.edges)

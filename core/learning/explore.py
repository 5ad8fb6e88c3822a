"""Exploration for the demonstration optimizer: a node that chose one of its tools tries the others.

A small model that always picks the same tool never writes the successful turn a demonstration
needs (v0 of qa sends every arithmetic question to lookup, so no training tape shows the
calculator). So, for failed training examples outside the minibatch that the evidence pins on
such a node, the example is run again with the node's tools narrowed to each other one in turn;
the rest of the pipeline runs as usual and the metric scores the result. A try that scores 1 is
an ordinary successful training tape of the run, so its turns join the demonstration pool.
"""

from __future__ import annotations

from collections.abc import Sequence

from tape_studio.core.learning.context import Context
from tape_studio.core.learning.datasets import Example
from tape_studio.core.learning.evaluate import score_example
from tape_studio.core.learning.forward import forward_tape_id
from tape_studio.core.learning.guards import words
from tape_studio.core.learning.metrics import normalize
from tape_studio.core.learning.visits import NodeVisit, node_visits
from tape_studio.core.spec import AgentSpec, NodeSpec
from tape_studio.core.tape import ToolCall

EXAMPLES_PER_STEP = 2
"""Failed training examples one proposal explores, at most (each costs a forward pass per other tool)."""


def explore(ctx: Context, spec: AgentSpec, node: NodeSpec, failed_inputs: Sequence[str],
            batch_ids: Sequence[str]) -> list[str]:
    """Ids of the successful tries: tapes of `node` offered another tool, on the failed training
    examples (outside the minibatch) most like `failed_inputs`."""
    if len(node.tools) < 2:
        return []
    found: list[str] = []
    for example, chosen in _failed_here(ctx, spec, node, failed_inputs, set(batch_ids)):
        for tool in node.tools:
            if tool == chosen:
                continue
            variant = narrowed(spec, node, tool)
            ctx.store.save_spec(variant)
            scored = score_example(ctx, variant, example, "train", "explore")
            if scored.loss.score >= 1.0:
                found.append(scored.tape.id)
                break
    return found


def narrowed(spec: AgentSpec, node: NodeSpec, tool: str) -> AgentSpec:
    """`spec` with `node` offered only `tool`; saved, so that the studio can show the tries."""
    nodes = [(n.model_copy(update={"tools": (tool,)}) if n.name == node.name else n).model_dump() for n in spec.nodes]
    return spec.derive(nodes=nodes)


def _failed_here(ctx: Context, spec: AgentSpec, node: NodeSpec, failed_inputs: Sequence[str],
                 exclude: set[str]) -> list[tuple[Example, str]]:
    """Up to EXAMPLES_PER_STEP (example, tool the node chose) pairs of `spec`'s failed training
    tapes outside `exclude` where `node` called a tool whose result did not hold the answer."""
    examples = {e.id: e for e in ctx.train_examples if e.id not in exclude}
    rows = ctx.store.query(
        "SELECT id, json_extract(context, '$.example_id') AS example FROM tapes "
        "WHERE json_extract(context, '$.run_id') = ? AND json_extract(context, '$.split') = 'train' "
        "AND json_extract(context, '$.role') = 'forward' AND spec_id = ? AND score < 1.0 ORDER BY example, id",
        (ctx.run_id, spec.id))
    candidates: list[tuple[Example, str]] = []
    for row in rows:
        example = examples.get(str(row["example"]))
        if example is None:
            continue
        visit = next((v for v in node_visits(ctx.store.load_tape(row["id"]), spec.name) if v.node == node.name), None)
        chosen = _tool_of(visit) if visit is not None else None
        if chosen and not _held_answer(visit, example) and not _tried_before(ctx, spec, node, example, chosen):  # type: ignore[arg-type]
            candidates.append((example, chosen))
    wanted = [set(words(text)) for text in failed_inputs if text]

    def likeness(item: tuple[Example, str]) -> float:
        mine = set(words(item[0].input))
        return max((len(mine & other) / len(mine | other) for other in wanted if mine | other), default=0.0)

    ranked = sorted(enumerate(candidates), key=lambda pair: (-likeness(pair[1]), pair[0]))
    return [item for _, item in ranked[:EXAMPLES_PER_STEP]]


def _tried_before(ctx: Context, spec: AgentSpec, node: NodeSpec, example: Example, chosen: str) -> bool:
    """Whether an earlier step already tried every other tool on `example`.

    Only tapes made before the run's last committed row was begun count (so the last step's own
    tries are offered again, free from their stored tapes): a step redone after a crash finds
    its earlier tries by id (no call twice) but chooses exactly as it did the first time."""
    ids = [forward_tape_id(ctx.run_id, narrowed(spec, node, tool).id, "train", example.id)
           for tool in node.tools if tool != chosen]
    rows = ctx.store.query(
        f"SELECT COUNT(*) AS n FROM tapes WHERE id IN ({','.join('?' * len(ids))}) AND created_at < "
        "(SELECT MAX(created_at) FROM training_steps WHERE run_id = ?)", (*ids, ctx.run_id))
    return rows[0]["n"] == len(ids)


def _tool_of(visit: NodeVisit) -> str | None:
    return next((step.tool for step in visit.steps if isinstance(step, ToolCall)), None)


def _held_answer(visit: NodeVisit, example: Example) -> bool:
    target = normalize(example.target or "")
    return bool(target) and f" {target} " in f" {normalize(visit.observation)} "

"""Demonstration optimizer: a node's few-shot examples are weights too (bootstrapped demonstrations).

Where the step's evidence says a node failed, it offers that node worked examples taken from its
own turns in this run's successful training tapes: the exact input the node was given and the
output it wrote when the whole example then scored 1. A small model copies what its prompt shows
it, so a demonstration of the right move on a similar input is the change it can use best.

The pool is seeded by the first version's forward pass over the whole train split (trainer.py),
and, for a node that chooses among tools, by exploration (explore.py): failed training examples
rerun with the node offered another tool. Those reruns are the only model calls made here. The
demonstrations come only from the train split and never from the minibatch being gated, so the
gate's paired rerun is not judged on examples the candidate was shown.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from tape_studio.core.errors import NotFoundError
from tape_studio.core.learning.context import Context
from tape_studio.core.learning.explore import explore
from tape_studio.core.learning.guards import words
from tape_studio.core.learning.metrics import normalize
from tape_studio.core.learning.steps import AggregatedGradient, Loss, Proposal
from tape_studio.core.learning.visits import NodeVisit, node_visits
from tape_studio.core.spec import AgentSpec, Example, NodeSpec
from tape_studio.core.tape import StepMetadata, Tape

DEMOS_PER_STEP = 2
"""New demonstrations one proposal adds to a node."""
MAX_EXAMPLES = 6
"""Worked examples a node may hold; past it the oldest added ones make room (the first one stays)."""
MAX_DEMO_CHARS = 600
"""A longer turn (input plus output) is no demonstration a small model can read."""
POOL_LIMIT = 400
"""Successful tapes read per proposal, at most."""


@dataclass(frozen=True)
class Demo:
    """One node turn of a successful tape: what the node was given and what it wrote."""

    example: Example
    example_id: str
    tape_id: str


def blamed_nodes(spec: AgentSpec, failing: Sequence[tuple[Tape, Loss]]) -> dict[str, list[NodeVisit]]:
    """The visits the evidence blames, per node, over the failing tapes.

    If a tool result already held the reference answer, the nodes up to that turn did their job
    and the later ones failed (an answer node that named the country instead of its currency);
    if none did, the turns that chose the tool calls failed (arithmetic sent to lookup). Without
    a reference answer every visit shares the blame."""
    blamed: dict[str, list[NodeVisit]] = {}
    for tape, loss in failing:
        visits = node_visits(tape, spec.name)
        target = normalize(loss.target or "")
        found = next((i for i, v in enumerate(visits) if target and f" {target} " in f" {normalize(v.observation)} "), None)
        if not target:
            chosen = visits
        elif found is not None:
            chosen = visits[found + 1:]
        else:
            chosen = [v for v in visits if v.observation] or visits
        for visit in chosen:
            blamed.setdefault(visit.node, []).append(visit)
    return blamed


def propose_demos(
    ctx: Context, spec: AgentSpec, node: NodeSpec, gradient: AggregatedGradient | None, failed: Sequence[NodeVisit],
    batch_ids: Sequence[str],
) -> tuple[Proposal, None]:
    """A proposal that adds demonstrations to `node`, chosen to resemble the inputs it failed on."""
    meta = StepMetadata(node="demo_optimizer", agent="trainer")
    current = {(e.input, e.output) for e in node.prompt.examples}
    failed_inputs = [_given(ctx, visit) for visit in failed]
    explored = explore(ctx, spec, node, failed_inputs, batch_ids)
    pool = [d for d in successful_demos(ctx, spec, node.name, set(batch_ids))
            if (d.example.input, d.example.output) not in current]
    chosen = pick_demos(pool, failed_inputs, DEMOS_PER_STEP)
    reasons: list[str] = []
    if not chosen:
        reasons.append("no successful training turn of this node to learn from yet")
    examples = _with_demos(node.prompt.examples, [d.example for d in chosen])
    changes = {"examples": [e.model_dump() for e in examples]}
    why = f"aggregated gradient: {gradient.text}" if gradient is not None else "the node's turns failed"
    proposal = Proposal(metadata=meta, optimizer="demos", target=node.name, changes=changes,  # type: ignore[arg-type]
                        valid=not reasons, reasons=tuple(reasons), sources=tuple(d.tape_id for d in chosen),
                        raw=json.dumps({"why": why, "from_examples": [d.example_id for d in chosen],
                                        "explored_tapes": explored}))
    return proposal, None


def successful_demos(ctx: Context, spec: AgentSpec, node_name: str, exclude: set[str]) -> list[Demo]:
    """The node's turns in this run's training tapes that scored 1, minus the examples in `exclude`.

    A turn that called a tool counts only if the tool's result held the reference answer: a lucky
    guess after a lookup that found nothing teaches nothing. (Measured on qa: also offering tool
    turns of failed tapes, and final answers corrected to the label, made validation worse.)
    Ordered by example id, then by when the tape was made (v0's first): a resumed step sees the
    very same pool, and so does a run of the same configuration under another run id (tape ids
    are hashes that include the run id, so ordering by them made such runs pick other demos)."""
    rows = ctx.store.query(
        "SELECT id, json_extract(context, '$.example_id') AS example FROM tapes "
        "WHERE json_extract(context, '$.run_id') = ? AND json_extract(context, '$.split') = 'train' "
        "AND status = 'completed' AND score >= 1.0 ORDER BY example, created_at, id LIMIT ?", (ctx.run_id, POOL_LIMIT))
    targets = {e.id: e.target or "" for e in ctx.train_examples}
    demos: list[Demo] = []
    seen: set[str] = set()
    for row in rows:
        target = targets.get(str(row["example"]), "")
        if row["example"] in exclude:
            continue
        for visit in node_visits(ctx.store.load_tape(row["id"]), spec.name):
            if visit.node != node_name or (visit.observation and target and not _holds(visit.observation, target)):
                continue
            demo = _demo(ctx, visit)
            if demo is not None and demo.input not in seen:
                seen.add(demo.input)
                demos.append(Demo(demo, str(row["example"]), row["id"]))
    return demos


def _holds(observation: str, target: str) -> bool:
    wanted = normalize(target)
    return bool(wanted) and f" {wanted} " in f" {normalize(observation)} "


def pick_demos(pool: Sequence[Demo], failed_inputs: Sequence[str], count: int) -> list[Demo]:
    """Up to `count` demos, one per source example: each failed input in turn takes the demo
    whose input shares most words with it, so that different failures get different lessons."""
    wanted = [set(words(text)) for text in dict.fromkeys(failed_inputs) if text] or [set()]
    chosen: list[Demo] = []
    while True:
        for target in wanted:
            free = [d for d in pool if all(d.example_id != other.example_id for other in chosen)]
            if len(chosen) == count or not free:
                return chosen
            chosen.append(max(free, key=lambda demo: (_likeness(demo, target), -pool.index(demo))))


def _likeness(demo: Demo, wanted: set[str]) -> float:
    mine = set(words(demo.example.input))
    return len(mine & wanted) / len(mine | wanted) if mine | wanted else 0.0


def _with_demos(examples: Sequence[Example], new: Sequence[Example]) -> tuple[Example, ...]:
    combined = [*examples, *new]
    while len(combined) > MAX_EXAMPLES:
        del combined[1]
    return tuple(combined)


def _demo(ctx: Context, visit: NodeVisit) -> Example | None:
    if visit.error or not visit.prompt_id:
        return None
    try:
        call = ctx.store.load_llm_call(visit.prompt_id)
    except NotFoundError:
        return None
    given, wrote = _last_user(call.messages), (call.output or "").strip()
    if call.error or not given or not wrote or len(given) + len(wrote) > MAX_DEMO_CHARS:
        return None
    return Example(input=given, output=wrote)


def _given(ctx: Context, visit: NodeVisit) -> str:
    try:
        return _last_user(ctx.store.load_llm_call(visit.prompt_id).messages) if visit.prompt_id else ""
    except NotFoundError:
        return ""


def _last_user(messages: Sequence[dict[str, object]]) -> str:
    return next((str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), "")

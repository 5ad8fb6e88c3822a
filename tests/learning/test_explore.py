"""Where the demonstration pool comes from: the bootstrap forward pass and a node's exploration of its other tools."""

from __future__ import annotations

import re
from typing import Any

from learning_helpers import MakeWorkspace, make_context

from tape_studio.core.learning import records as rec
from tape_studio.core.learning.datasets import Example
from tape_studio.core.learning.demo_optimizer import blamed_nodes, propose_demos, successful_demos
from tape_studio.core.learning.evaluate import evaluate
from tape_studio.core.learning.explore import explore
from tape_studio.core.learning.fake_roles import ROLE_ANSWERS
from tape_studio.core.learning.steps import Proposal
from tape_studio.core.learning.train_config import TrainConfig
from tape_studio.core.learning.trainer import Trainer
from tape_studio.core.tape import ToolCall

ARITHMETIC = [Example(id="m1", input="What is 6 times 7?", target="42"),
              Example(id="m2", input="What is 12 times 9?", target="108"),
              Example(id="m3", input="What is 144 divided by 6?", target="24")]


def plan_that_calculates_only_when_it_must(messages: list[dict[str, Any]]) -> str:
    """The fake's plan (lookup for everything), but a plan offered only the calculator uses it."""
    if "lookup(" in str(messages[0]["content"]):
        return ROLE_ANSWERS["plan"](messages)
    left, op, right = re.search(r"(\d+) (times|divided by) (\d+)", str(messages[-1]["content"])).groups()  # type: ignore[union-attr]
    return '{"thought": "Arithmetic.", "tool": "calculator", "input": "%s%s%s"}' % (left, "*" if op == "times" else "/", right)


OVERRIDES = {"plan": plan_that_calculates_only_when_it_must}


def test_a_node_tries_its_other_tools_on_failed_examples_outside_the_minibatch(make_ws: MakeWorkspace) -> None:
    ws = make_ws(OVERRIDES)
    ctx = make_context(ws, train_examples=ARITHMETIC)
    spec = ws.spec("qa")
    current, _ = evaluate(ctx, spec, ARITHMETIC, "train", "forward")
    assert current.mean == 0.0  # every question was sent to lookup
    found = explore(ctx, spec, spec.node("plan"), ["Question: What is 6 times 7?"], batch_ids=["m1"])
    tapes = [ws.store.load_tape(tape_id) for tape_id in found]
    assert sorted(t.context["example_id"] for t in tapes) == ["m2", "m3"]  # m1 is in the minibatch
    assert all(t.context["split"] == "train" for t in tapes)
    assert {r["score"] for r in ws.store.query(f"SELECT score FROM tapes WHERE id IN ({','.join('?' * len(found))})",
                                               tuple(found))} == {1.0}
    assert all(s.tool == "calculator" for t in tapes for s in t.steps if isinstance(s, ToolCall))
    calls = ws.store.query("SELECT COUNT(*) AS n FROM llm_calls")[0]["n"]
    assert explore(ctx, spec, spec.node("plan"), ["Question: What is 6 times 7?"], batch_ids=["m1"]) == found
    assert ws.store.query("SELECT COUNT(*) AS n FROM llm_calls")[0]["n"] == calls  # the tries' tapes are reused
    assert explore(ctx, spec, spec.node("answer"), ["Text: x"], batch_ids=[]) == []  # no tools to try


def test_explored_successes_become_the_failing_nodes_demonstrations(make_ws: MakeWorkspace) -> None:
    ws = make_ws(OVERRIDES)
    ctx = make_context(ws, train_examples=ARITHMETIC)
    spec = ws.spec("qa")
    _, scored = evaluate(ctx, spec, ARITHMETIC, "train", "forward")
    blamed = blamed_nodes(spec, [(s.tape, s.loss) for s in scored if s.example.id == "m1"])
    assert list(blamed) == ["plan"]  # the lookup result never held 42
    proposal, _ = propose_demos(ctx, spec, spec.node("plan"), None, blamed["plan"], batch_ids=["m1"])
    added = proposal.changes["examples"][len(spec.node("plan").prompt.examples):]  # type: ignore[index]
    assert proposal.valid and len(added) == 2
    assert all('"calculator"' in demo["output"] for demo in added)  # type: ignore[index]
    assert "6 times 7" not in " ".join(demo["input"] for demo in added)  # type: ignore[index]


def test_the_first_version_runs_over_the_train_split_before_the_first_step(make_ws: MakeWorkspace) -> None:
    ws = make_ws(OVERRIDES)
    trainer = Trainer(ws)
    config = TrainConfig(agent="qa", dataset="qa-mini", epochs=1, batch_size=2, optimizers=("demos",))
    run = trainer.run(trainer.start(config).id)
    baseline = rec.load_rows(ws.store, run.id, "epoch")[0]
    forward = ws.store.query("SELECT json_extract(context, '$.example_id') AS example FROM tapes WHERE "
                             "spec_id = ? AND json_extract(context, '$.role') = 'forward'", (run.spec_id,))
    assert baseline.train_score is not None and len(forward) == len({r["example"] for r in forward}) == 6
    first = next(r for r in rec.load_rows(ws.store, run.id, "step") if r.decision != "solved")
    proposals = [s for s in ws.store.load_tape(first.tape_id).steps if isinstance(s, Proposal)]
    assert any(p.optimizer == "demos" and p.valid for p in proposals)  # the bootstrap gave it turns to show


def test_a_tool_turn_counts_only_if_its_result_held_the_answer(make_ws: MakeWorkspace) -> None:
    # The answer node guesses right even when the plan's lookup found nothing: that plan turn is no lesson.
    ws = make_ws({"answer": lambda messages: '{"answer": "42"}'})
    ctx = make_context(ws, train_examples=ARITHMETIC)
    spec = ws.spec("qa")
    _, scored = evaluate(ctx, spec, ARITHMETIC[:1], "train", "forward")
    assert scored[0].loss.score == 1.0
    assert successful_demos(ctx, spec, "plan", exclude=set()) == []
    assert [d.example_id for d in successful_demos(ctx, spec, "answer", exclude=set())] == ["m1"]

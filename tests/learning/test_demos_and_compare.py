"""The demonstration optimizer (bootstrapped few-shot examples) and the paired comparison of versions."""

from __future__ import annotations

import pytest
from learning_helpers import MakeWorkspace, make_context

from tape_studio.core.learning.candidate import build_candidate
from tape_studio.core.learning.compare import compare_scores, compare_versions, paired_bootstrap
from tape_studio.core.learning.datasets import Example
from tape_studio.core.learning.demo_optimizer import blamed_nodes, propose_demos
from tape_studio.core.learning.evaluate import evaluate
from tape_studio.core.learning.steps import AggregatedGradient

CAPITALS = [Example(id=f"c{i}", input=f"What is the capital of {c}?", target=t)
            for i, (c, t) in enumerate([("France", "Paris"), ("Italy", "Rome"), ("Spain", "Madrid")])]
CURRENCY = Example(id="x1", input="What currency is used in Japan?", target="yen")  # the fake answers "unknown"
GRADIENT = AggregatedGradient(node="answer", text="- Answer with the currency, not the country.")


def test_blame_falls_on_the_node_after_the_tool_result_that_held_the_answer(make_ws: MakeWorkspace) -> None:
    ws = make_ws()
    ctx = make_context(ws)
    spec = ws.spec("qa")
    _, scored = evaluate(ctx, spec, [CURRENCY], "train", "forward")
    blamed = blamed_nodes(spec, [(s.tape, s.loss) for s in scored])
    assert list(blamed) == ["answer"]  # lookup found "yen"; the answer node did not say it
    missing = scored[0].loss.model_copy(update={"target": "krona"})  # no tool result holds it: the plan chose badly
    assert list(blamed_nodes(spec, [(scored[0].tape, missing)])) == ["plan"]


def test_demos_come_from_successful_training_turns_outside_the_minibatch(make_ws: MakeWorkspace) -> None:
    ws = make_ws()
    ctx = make_context(ws, train_examples=[*CAPITALS, CURRENCY])
    spec = ws.spec("qa")
    _, scored = evaluate(ctx, spec, [*CAPITALS, CURRENCY], "train", "forward")
    failed = blamed_nodes(spec, [(s.tape, s.loss) for s in scored if s.loss.score < 1.0])["answer"]
    proposal, call = propose_demos(ctx, spec, spec.node("answer"), GRADIENT, failed, batch_ids=["c0", "x1"])
    assert call is None and proposal.valid and proposal.optimizer == "demos"
    added = proposal.changes["examples"][len(spec.node("answer").prompt.examples):]  # type: ignore[index]
    assert len(added) == 2 and all('"answer"' in demo["output"] for demo in added)  # type: ignore[index]
    shown = " ".join(demo["input"] for demo in added)  # type: ignore[index]
    assert "Italy" in shown and "Spain" in shown and "France" not in shown  # c0 is in the minibatch
    assert set(proposal.sources) == {s.tape.id for s in scored if s.example.id in ("c1", "c2")}
    candidate = build_candidate(spec, [proposal])
    assert candidate is not None and len(candidate.node("answer").prompt.examples) == 3
    assert candidate.node("plan") == spec.node("plan")


def test_without_a_successful_turn_there_is_no_demo_proposal(make_ws: MakeWorkspace) -> None:
    ws = make_ws()
    ctx = make_context(ws)
    spec = ws.spec("qa")
    _, scored = evaluate(ctx, spec, [CURRENCY], "train", "forward")
    proposal, _ = propose_demos(ctx, spec, spec.node("answer"), GRADIENT, [], batch_ids=["x1"])
    assert not proposal.valid and "no successful training turn" in proposal.reasons[0]


def test_paired_bootstrap_interval_brackets_the_delta_and_is_seeded() -> None:
    a, b = [0.0] * 10 + [1.0] * 10, [1.0] * 15 + [0.0] * 5
    delta, low, high = paired_bootstrap(a, b)
    assert low <= delta <= high and paired_bootstrap(a, b) == (delta, low, high)
    assert paired_bootstrap([1.0] * 8, [1.0] * 8) == (0.0, 0.0, 0.0)
    assert paired_bootstrap([0.0] * 40, [1.0] * 40)[1] == 1.0
    with pytest.raises(ValueError):
        paired_bootstrap([1.0], [])


def test_a_comparison_lists_the_examples_that_flipped() -> None:
    a = {"q1": 1.0, "q2": 0.0, "q3": 0.0, "q4": 0.5}
    b = {"q1": 0.0, "q2": 1.0, "q3": 1.0, "q4": 0.0}
    found = compare_scores("val", "v0", "v1", a, b)
    assert (found.fixed, found.broken, found.changed) == (("q2", "q3"), ("q1",), ("q4",))
    assert found.delta == pytest.approx(0.125) and found.n == 4
    assert "val 0.38 → 0.50 (+0.12" in found.sentence() and "2 fixed, 1 broken" in found.sentence()


def test_versions_compare_from_their_stored_tapes_only_when_both_cover_the_split(make_ws: MakeWorkspace) -> None:
    ws = make_ws()
    ctx = make_context(ws)
    spec = ws.spec("qa")
    evaluate(ctx, spec, CAPITALS, "val", "eval")
    ids = [e.id for e in CAPITALS]
    same = compare_versions(ws.store, ctx.run_id, spec.id, spec.id, "val", ids)
    assert same is not None and same.delta == 0.0 and same.a_score == 1.0
    assert compare_versions(ws.store, ctx.run_id, spec.id, "other", "val", ids) is None
    assert compare_versions(ws.store, ctx.run_id, spec.id, spec.id, "val", [*ids, "unscored"]) is None

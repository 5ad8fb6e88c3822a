"""Whole runs on the learning fake: improvement, records, immutability, resume, budget, policies."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from learning_helpers import MakeWorkspace

from tape_studio.core.learning import records as rec
from tape_studio.core.learning.datasets import named_dataset
from tape_studio.core.learning.fake_roles import ROLE_ANSWERS, TRAINED_RULE, Answer
from tape_studio.core.learning.meter import Budget
from tape_studio.core.learning.train_config import TrainConfig
from tape_studio.core.learning.trainer import Trainer, minibatches
from tape_studio.core.workspace import Workspace

CONFIG = TrainConfig(agent="qa", dataset="qa-mini", epochs=2, batch_size=4, workers=2)


def train(ws: Workspace, config: TrainConfig = CONFIG) -> rec.TrainingRun:
    trainer = Trainer(ws)
    return trainer.run(trainer.start(config).id)


def test_a_run_adopts_the_improvement_and_reports_every_epoch(make_ws: MakeWorkspace) -> None:
    ws = make_ws()
    run = train(ws)
    summary = run.summary or {}
    assert run.status == "completed"
    assert summary["v0"] == {"spec_id": ws.spec("qa").id, "val": pytest.approx(0.3333)}  # type: ignore[index]
    assert [e["epoch"] for e in summary["epochs"]] == [1, 2]  # type: ignore[union-attr, index]
    assert summary["best_val"] == 0.5 and run.best_spec_id != run.spec_id
    best = ws.store.load_spec(run.best_spec_id)
    assert TRAINED_RULE in best.node("plan").prompt.rules and best.parent_id == run.spec_id
    assert summary["test"] == {"v0": 0.25, "best": 0.5}
    compared = summary["v0_vs_best"]
    assert set(compared) == {"val", "test"}  # type: ignore[arg-type]
    test = compared["test"]  # type: ignore[index]
    assert test["delta"] == 0.25 and test["low"] <= 0.25 <= test["high"] and test["fixed"] and not test["broken"]
    assert summary["accepted_changes"] and all(c["by"] for c in summary["accepted_changes"])  # type: ignore[union-attr, index]


def test_every_record_is_on_a_tape_linked_to_its_call_and_forward_tapes(make_ws: MakeWorkspace) -> None:
    ws = make_ws()
    run = train(ws)
    steps = rec.load_rows(ws.store, run.id, "step")
    accepted = next(row for row in steps if row.decision == "accepted")
    tape = ws.store.load_tape(accepted.tape_id)
    kinds = [step.kind for step in tape.steps]
    assert kinds[:4] == ["loss"] * 4 and kinds[-2:] == ["gate_result", "decision"]
    assert {"gradient", "aggregated_gradient", "proposal"} <= set(kinds)
    stored = {call.prompt_id for call in ws.store.calls_for_tape(tape.id)}
    assert {s.metadata.prompt_id for s in tape.steps if s.metadata.prompt_id} == stored and stored
    for step in tape.steps:
        if step.kind in ("loss", "gradient"):
            assert step.tape_id in accepted.forward_tape_ids  # type: ignore[attr-defined]
            assert ws.store.has_tape(step.tape_id)  # type: ignore[attr-defined]
    assert tape.context["forward_tape_ids"] == list(accepted.forward_tape_ids)  # type: ignore[index]
    gate = tape.steps[-2]
    assert gate.candidate_spec_id != gate.current_spec_id  # type: ignore[attr-defined]
    assert set(gate.candidate_scores) == set(gate.current_scores)  # type: ignore[attr-defined]


def test_an_update_step_leaves_the_current_spec_byte_identical(make_ws: MakeWorkspace) -> None:
    ws = make_ws()
    v0 = ws.spec("qa")
    in_memory = v0.model_dump_json()
    ws.store.save_spec(v0)
    stored = ws.store.query("SELECT data FROM specs WHERE id = ?", (v0.id,))[0]["data"]
    run = train(ws)
    assert run.best_spec_id != v0.id
    assert v0.model_dump_json() == in_memory
    assert ws.store.query("SELECT data FROM specs WHERE id = ?", (v0.id,))[0]["data"] == stored
    assert ws.store.load_spec(v0.id) == v0


def test_a_run_killed_mid_step_resumes_to_the_same_final_spec(make_ws: MakeWorkspace) -> None:
    reference = train(make_ws(folder="a"))
    ws = make_ws(folder="b", crash_at_call=40)  # inside epoch 1's first update step
    trainer = Trainer(ws)
    run_id = trainer.start(CONFIG).id
    with pytest.raises(KeyboardInterrupt):
        trainer.run(run_id)
    cut = rec.load_rows(ws.store, run_id)
    assert 0 < len(cut) < 7 and rec.load_run(ws.store, run_id).status == "stopped"
    resumed = Trainer(ws).run(run_id)
    assert resumed.status == "completed"
    assert resumed.best_spec_id == reference.best_spec_id and resumed.current_spec_id == reference.current_spec_id
    rows = [(r.kind, r.epoch, r.step, r.decision, r.spec_id) for r in rec.load_rows(ws.store, run_id)]
    assert rows == [(r.kind, r.epoch, r.step, r.decision, r.spec_id)
                    for r in rec.load_rows(make_ws(folder="a").store, reference.id)]
    assert rec.load_rows(ws.store, run_id)[: len(cut)] == cut  # committed rows are never rewritten


def test_the_budget_stops_a_run_cleanly_and_a_larger_one_resumes_it(make_ws: MakeWorkspace) -> None:
    ws = make_ws()
    trainer = Trainer(ws)
    run = trainer.run(trainer.start(CONFIG.model_copy(update={"max_llm_calls": 30})).id)
    assert run.status == "stopped" and "budget reached" in run.error
    assert (run.summary or {})["new_llm_calls"] <= 30
    finished = trainer.run(run.id, Budget(max_llm_calls=10_000))
    assert finished.status == "completed"


def test_a_stop_request_ends_between_stages(make_ws: MakeWorkspace) -> None:
    ws = make_ws()
    trainer = Trainer(ws, should_stop=lambda: True)
    run = trainer.run(trainer.start(CONFIG).id)
    assert run.status == "stopped" and run.error == "stopped on request"
    assert Trainer(ws).run(run.id).status == "completed"


def test_policy_none_accepts_every_valid_candidate_without_reruns(make_ws: MakeWorkspace) -> None:
    ws = make_ws()
    run = train(ws, CONFIG.model_copy(update={"policy": "none", "epochs": 1}))
    rows = rec.load_rows(ws.store, run.id, "step")
    assert any(r.decision == "accepted" for r in rows)
    assert "gate" not in (run.summary or {})["usage"]  # type: ignore[operator]


def test_a_tie_on_the_minibatch_rejects_the_candidate(make_ws: MakeWorkspace) -> None:
    # The optimizer's rule is harmless but useless: the rerun scores the same, so the tie keeps v0.
    ws = make_ws({"prompt_optimizer": lambda m: '{"instruction": "Choose one tool.", "rules": []}',
                  "tool_optimizer": lambda m: "no"})
    run = train(ws, CONFIG.model_copy(update={"epochs": 1}))
    decisions = {(r.decision, r.reason.split(" (")[0]) for r in rec.load_rows(ws.store, run.id, "step")}
    assert ("rejected", "tie on the minibatch") in decisions and run.best_spec_id == run.spec_id


def test_garbage_from_every_learning_role_is_recorded_and_the_run_completes(make_ws: MakeWorkspace) -> None:
    garbage = {role: (lambda m: "lol") for role in ("backward", "prompt_optimizer", "tool_optimizer",
                                                   "pipeline_optimizer", "summary")}
    ws = make_ws(garbage)
    run = train(ws, CONFIG.model_copy(update={"epochs": 1, "optimizers": ("prompt", "tool", "pipeline")}))
    assert run.status == "completed" and run.best_spec_id == run.spec_id
    rows = rec.load_rows(ws.store, run.id, "step")
    assert {r.decision for r in rows} <= {"no_candidate", "solved"}


def test_the_writer_trains_with_the_judge(make_ws: MakeWorkspace) -> None:
    ws = make_ws()
    run = train(ws, TrainConfig(agent="writer", dataset="writer", epochs=1, batch_size=2))
    assert run.status == "completed" and (run.summary or {})["usage"]["judge"]["calls"] > 0  # type: ignore[index]


def test_test_scores_are_reported_but_never_choose_the_best_version(make_ws: MakeWorkspace) -> None:
    with_test = train(make_ws(folder="a"))
    without = train(make_ws(folder="b"), CONFIG.model_copy(update={"evaluate_test": False}))
    assert with_test.best_spec_id == without.best_spec_id
    assert (with_test.summary or {})["epochs"] == (without.summary or {})["epochs"]
    assert (without.summary or {})["test"] is None


def test_minibatches_are_a_seeded_shuffle() -> None:
    train_set = named_dataset("qa-mini").split("train")
    assert minibatches(train_set, 3, 0, 1) == minibatches(train_set, 3, 0, 1)
    assert minibatches(train_set, 3, 0, 1) != minibatches(train_set, 3, 0, 2)
    assert [len(b) for b in minibatches(train_set, 4, 0, 1)] == [4, 2]
    assert sorted(e.id for b in minibatches(train_set, 3, 5, 1) for e in b) == sorted(e.id for e in train_set)


def test_a_completed_run_is_not_run_again(make_ws: MakeWorkspace) -> None:
    ws = make_ws()
    run = train(ws)
    again = Trainer(ws).run(run.id)
    assert (again.status, again.summary) == (run.status, run.summary)


LOOKS_UP_NOTHING = {"plan": lambda messages: '{"thought": "Look.", "tool": "lookup", "input": "nothing"}'}
"""A plan whose lookups never find the answer: the plan node is the one blamed, so it explores the calculator."""


def counting(seen: list[str], overrides: dict[str, Answer] | None = None) -> dict[str, Answer]:
    """The fake's answers, each call's messages noted in `seen`: what reached the model (cache hits never do)."""
    def noted(answer: Answer) -> Answer:
        return lambda messages: seen.append(json.dumps(messages)) or answer(messages)  # type: ignore[func-returns-value]
    return {role: noted(answer) for role, answer in {**ROLE_ANSWERS, **(overrides or {})}.items()}


@pytest.mark.parametrize("crash_at_call", [165, 180, 182])  # in step 1: backward, then the demos' exploration
def test_a_run_with_demonstrations_killed_mid_step_repeats_no_model_call(
    make_ws: MakeWorkspace, crash_at_call: int
) -> None:
    # qa (not qa-mini): enough failed examples outside the minibatch for the plan node to explore.
    config = TrainConfig(agent="qa", dataset="qa", epochs=1, batch_size=8, optimizers=("demos", "prompt", "tool"),
                         evaluate_test=False)
    expected: list[str] = []
    train(make_ws(counting(expected, LOOKS_UP_NOTHING), folder="a"), config)
    made: list[str] = []
    ws = make_ws(counting(made, LOOKS_UP_NOTHING), folder="b", crash_at_call=crash_at_call)
    trainer = Trainer(ws)
    run_id = trainer.start(config).id
    with pytest.raises(KeyboardInterrupt):
        trainer.run(run_id)
    assert 0 < len(made) < len(expected)
    assert Trainer(ws).run(run_id).status == "completed"
    assert Counter(made) == Counter(expected)  # the cut-off step redone: every call made once, as without the kill
    roles = {role for row in rec.load_rows(ws.store, run_id) for role in row.usage}
    assert "explore" in roles

"""Experiments end to end on the learning fake: plan, preview, run, score, report, resume, budget."""

from __future__ import annotations

from pathlib import Path

import pytest
from experiment_helpers import LYON, fake_workspace, run_tapes

from tape_studio.core.diff import diff_tapes
from tape_studio.core.errors import InputError
from tape_studio.core.experiments import (
    Budget, Experiment, Selection, build_report, create_experiment, parse_rule, preview_experiment, run_experiment,
)
from tape_studio.core.experiments.records import load_rows
from tape_studio.core.store import TapeFilter

OVERRIDE = {"match": {"kind": "tool_result", "tool": "lookup", "text": "France"}, "action": "override_result",
            "result": LYON}


def start(ws, tapes, rule=OVERRIDE, **fields) -> str:  # type: ignore[no-untyped-def]
    experiment = Experiment(selection=Selection(ids=tuple(t.id for t in tapes)), rule=parse_rule(rule),
                            scorer=fields.pop("scorer", "answer"), **fields)
    return create_experiment(ws, experiment)[0].id


def test_tapes_without_a_match_are_counted_and_listed_as_skipped(tmp_path: Path) -> None:
    ws = fake_workspace(tmp_path)
    tapes = run_tapes(ws)
    experiment_id = start(ws, tapes)
    rows = load_rows(ws.store, experiment_id)
    assert [r.state for r in rows] == ["pending", "skipped", "skipped"]
    assert rows[1].reason == "no step matches the rule" and rows[1].fork_id is None
    run_experiment(ws, experiment_id)
    report = build_report(ws.store, experiment_id)
    assert (report.aggregate.selected, report.aggregate.scored, report.aggregate.skipped) == (3, 1, 2)
    assert report.experiment.status == "completed"


def test_each_fork_has_lineage_the_edit_and_both_scores(tmp_path: Path) -> None:
    ws = fake_workspace(tmp_path)
    france = run_tapes(ws)[0]
    experiment_id = start(ws, [france])
    run_experiment(ws, experiment_id)
    row = build_report(ws.store, experiment_id).rows[0]
    fork = ws.store.load_tape(row.fork_id)
    meta = fork.metadata
    assert (meta.parent_id, meta.fork_step, meta.author) == (france.id, 3, "experiment")
    assert meta.model_extra["experiment_id"] == experiment_id and f"experiment:{experiment_id}" in meta.tags
    assert fork.steps[:3] == france.steps[:3] and fork.steps[3].content == LYON
    assert meta.status == "completed" and meta.result == "Lyon"
    assert (row.original_score, row.fork_score, row.delta) == (1.0, 0.0, -1.0)
    assert row.first_divergence == diff_tapes(france, fork).pairs[diff_tapes(france, fork).first_divergence].b
    assert ws.store.summary(fork.id).score == 0.0  # so `export --format dpo` can pick the better side


def test_the_batch_preview_counts_what_the_cache_answers(tmp_path: Path) -> None:
    ws = fake_workspace(tmp_path)
    tapes = run_tapes(ws)
    first = start(ws, tapes)
    before = preview_experiment(ws, first)
    assert (before.tapes, before.skipped, before.calls, before.cached_calls) == (1, 2, 1, 0)
    run_experiment(ws, first)
    again = preview_experiment(ws, start(ws, tapes))
    assert (again.calls, again.cached_calls, again.exact) == (1, 1, True)


def test_a_spec_patch_reruns_with_the_patched_version(tmp_path: Path) -> None:
    ws = fake_workspace(tmp_path)
    arithmetic = run_tapes(ws, ("What is 12 times 7?",))
    experiment_id = start(ws, arithmetic, rule={"node": "plan", "rules": ["Always calculate arithmetic with the calculator."]})
    run_experiment(ws, experiment_id)
    row = build_report(ws.store, experiment_id).rows[0]
    fork = ws.store.load_tape(row.fork_id)
    assert fork.metadata.spec_id != arithmetic[0].metadata.spec_id
    assert ws.store.load_spec(fork.metadata.spec_id).parent_id == arithmetic[0].metadata.spec_id
    assert fork.metadata.result == "84" and (row.original_score, row.fork_score) == (0.0, 1.0)
    assert build_report(ws.store, experiment_id).aggregate.fixed == 1


def test_the_budget_stops_the_experiment_and_a_resume_finishes_it(tmp_path: Path) -> None:
    ws = fake_workspace(tmp_path)
    tapes = run_tapes(ws, ("What is the capital of France?",) * 1 + ("What is 12 times 7?", "What is 9 plus 4?"))
    rule = {"node": "plan", "rules": ["Always calculate arithmetic with the calculator."]}
    experiment = Experiment(selection=Selection(ids=tuple(t.id for t in tapes)), rule=parse_rule(rule), scorer="exact",
                            workers=1, budget=Budget(max_llm_calls=2))
    experiment_id = create_experiment(ws, experiment)[0].id
    stopped = run_experiment(ws, experiment_id)
    assert stopped.status == "stopped" and "budget" in stopped.stop_reason
    assert build_report(ws.store, experiment_id).aggregate.pending >= 1
    finished = run_experiment(ws, experiment_id, budget=Budget())
    report = build_report(ws.store, experiment_id)
    assert finished.status == "completed" and report.aggregate.scored == 3
    forks = [r.fork_id for r in report.rows]
    assert len(set(forks)) == 3 and all(ws.store.load_tape(f).metadata.status == "completed" for f in forks)


def test_a_filter_selection_leaves_experiment_forks_out(tmp_path: Path) -> None:
    ws = fake_workspace(tmp_path)
    tapes = run_tapes(ws)
    run_experiment(ws, start(ws, tapes))
    experiment = Experiment(selection=Selection(filter=TapeFilter(agent="qa")), rule=parse_rule(OVERRIDE), scorer="answer")
    _, rows = create_experiment(ws, experiment)
    assert [r.tape_id for r in rows] == [t.id for t in tapes]


def test_an_unknown_scorer_or_empty_selection_is_refused_before_anything_is_stored(tmp_path: Path) -> None:
    ws = fake_workspace(tmp_path)
    tapes = run_tapes(ws, ("What is the capital of France?",))
    with pytest.raises(InputError, match="no scorer or metric 'vibes'"):
        start(ws, tapes, scorer="vibes")
    with pytest.raises(InputError, match="matches no stored tape"):
        create_experiment(ws, Experiment(selection=Selection(filter=TapeFilter(agent="nobody")), rule=parse_rule(OVERRIDE)))
    assert not ws.store.query("SELECT * FROM experiments")


def test_a_user_scorer_registers_and_scores_both_sides_the_same_way(tmp_path: Path) -> None:
    from tape_studio.core.experiments import Scoring, register_scorer

    @register_scorer(name="test_short_answers")
    def short(item: Scoring) -> float:
        return 1.0 if item.answer and len(item.answer) <= 5 else 0.0

    ws = fake_workspace(tmp_path)
    france = run_tapes(ws, ("What is the capital of France?",))
    experiment_id = start(ws, france, scorer="test_short_answers")
    run_experiment(ws, experiment_id)
    row = build_report(ws.store, experiment_id).rows[0]
    assert (row.original_score, row.fork_score) == (1.0, 1.0)  # "Paris" and "Lyon" are both short


def test_a_rerun_is_answered_by_the_originals_recorded_calls_when_the_cache_lacks_them(tmp_path: Path) -> None:
    """Tapes whose calls are in the store only (a training run's, imported ones) rerun an unchanged prompt
    from the record: replay mode proves no model is asked."""
    made = fake_workspace(tmp_path / "made", name="recorded")
    tapes = run_tapes(made)
    calls = [call for tape in tapes for call in made.store.calls_for_tape(tape.id)]
    ws = fake_workspace(tmp_path / "elsewhere", mode="replay", name="recorded")  # the same model, another cache
    ws.store.save_tapes(tapes, calls, [made.spec("qa")])
    experiment_id = start(ws, tapes, rule={"match": {"kind": "final_answer"}, "action": "delete"})
    preview = preview_experiment(ws, experiment_id)
    assert (preview.tapes, preview.calls, preview.cached_calls, preview.exact) == (3, 3, 3, True)
    run_experiment(ws, experiment_id)
    rows = build_report(ws.store, experiment_id).rows
    assert [(r.state, r.llm_calls, r.new_llm_calls, r.delta) for r in rows] == [("done", 1, 0, 0.0)] * 3


def test_the_batch_preview_counts_the_judges_calls_and_which_the_cache_answers(tmp_path: Path) -> None:
    ws = fake_workspace(tmp_path)
    tapes = run_tapes(ws)
    first = start(ws, tapes, scorer="judge")
    before = preview_experiment(ws, first)
    # One rerun call, then the judge on both sides; the fork's answer is not known yet, so not exact.
    assert (before.calls, before.cached_calls, before.judge_calls, before.judge_cached, before.exact) == (3, 0, 2, 0, False)
    run_experiment(ws, first)
    (row,) = [r for r in load_rows(ws.store, first) if r.state == "done"]
    assert row.llm_calls == before.calls
    again = preview_experiment(ws, start(ws, tapes, scorer="judge"))
    # The rerun is answered by the cache, so its answer is known and so is the judge's request for it.
    assert (again.calls, again.cached_calls, again.judge_calls, again.judge_cached, again.exact) == (3, 3, 2, 2, True)


def test_every_also_edits_the_matching_steps_the_rerun_makes(tmp_path: Path) -> None:
    """Both fork at the first match (the lookup call); `every` also edits the lookup's result the rerun gets."""
    ws = fake_workspace(tmp_path)
    france = run_tapes(ws, ("What is the capital of France?",))
    for which, answer in (("first", "Paris"), ("every", "Lyon")):
        rule = {"match": {"tool": "lookup", "which": which}, "action": "substitute", "pattern": "Paris",
                "replacement": "Lyon"}
        experiment_id = start(ws, france, rule=rule)
        run_experiment(ws, experiment_id)
        row = build_report(ws.store, experiment_id).rows[0]
        fork = ws.store.load_tape(row.fork_id)
        assert (row.state, row.fork_at, fork.metadata.result) == ("done", 2, answer)
        assert [s.kind for s in fork.steps[2:4]] == ["tool_call", "tool_result"]
        assert ("Lyon" in fork.steps[3].content) == (which == "every")

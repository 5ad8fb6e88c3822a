"""An experiment reproduced exactly from its recorded calls (replay mode), carried by its file,
fed to the DPO export, selected from an evaluation run, and driven through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from experiment_helpers import LYON, fake_workspace, run_tapes

from tape_studio.core.experiments import Experiment, Selection, build_report, create_experiment, parse_rule, run_experiment
from tape_studio.core.experiments.bundle import export_experiments, import_experiments
from tape_studio.core.interop.exporting import TapeSelection
from tape_studio.core.learning.report import evaluate_agent
from tape_studio.core.llm import record_calls
from tape_studio.core.workspace import Workspace
from tape_studio.studio.cli import main

PATCH = {"node": "plan", "rules": ["Always calculate arithmetic with the calculator."]}
QUESTIONS = ("What is 12 times 7?", "What is the capital of France?", "What is 9 plus 4?")


def _experiment(tape_ids: list[str], rule: dict) -> Experiment:
    return Experiment(selection=Selection(ids=tuple(tape_ids)), rule=parse_rule(rule), scorer="exact")


def test_replay_of_the_recorded_calls_reproduces_the_experiment_exactly(tmp_path: Path) -> None:
    ws = fake_workspace(tmp_path / "a")
    tapes = run_tapes(ws, QUESTIONS)
    first = create_experiment(ws, _experiment([t.id for t in tapes], PATCH))[0].id
    run_experiment(ws, first)
    export_experiments(ws, [first], tmp_path / "exp.json")

    # Another store, a model that does not exist there: only the recorded calls can answer.
    replay = Workspace(tmp_path / "b" / "store.sqlite", model=ws.llm.model, mode="replay")
    report, added = import_experiments(replay, tmp_path / "exp.json")
    assert added == [first] and len(report.imported) == 6
    record_calls(replay.cache, [c for t in report.imported for c in replay.store.calls_for_tape(t)])
    again = create_experiment(replay, _experiment([t.id for t in tapes], PATCH))[0].id
    run_experiment(replay, again)
    original, reproduced = build_report(ws.store, first), build_report(replay.store, again)
    assert reproduced.experiment.status == "completed" and reproduced.aggregate.new_llm_calls == 0
    assert reproduced.aggregate.delta == original.aggregate.delta
    assert (reproduced.aggregate.fixed, reproduced.aggregate.broken) == (original.aggregate.fixed, original.aggregate.broken) == (2, 0)
    for mine, theirs in zip(original.rows, reproduced.rows, strict=True):
        assert (mine.original_score, mine.fork_score) == (theirs.original_score, theirs.fork_score)
        a, b = ws.store.load_tape(mine.fork_id), replay.store.load_tape(theirs.fork_id)
        assert [s.body() for s in a.steps] == [s.body() for s in b.steps]
    # The imported experiment itself came back whole.
    assert build_report(replay.store, first).rows == original.rows


def test_pairs_feed_the_dpo_export_with_the_better_side_chosen(tmp_path: Path) -> None:
    ws = fake_workspace(tmp_path)
    tapes = run_tapes(ws, QUESTIONS[:1])
    # An edit of what the model wrote (not of what it saw) makes a pair: same prompt, two completions.
    rule = {"match": {"kind": "tool_call", "tool": "lookup"}, "action": "replace_fields",
            "fields": {"tool": "calculator", "arguments": {"expression": "12*7"}}}
    experiment_id = create_experiment(ws, _experiment([tapes[0].id], rule))[0].id
    run_experiment(ws, experiment_id)
    assert build_report(ws.store, experiment_id).rows[0].delta == 1.0
    report = ws.export_data(TapeSelection(tags=[f"experiment:{experiment_id}"]), "dpo", tmp_path / "pairs.jsonl")
    pairs = [json.loads(line) for line in (tmp_path / "pairs.jsonl").read_text().splitlines()]
    assert report.records == 1 and len(pairs) == 1
    assert "calculator" in json.dumps(pairs[0]["chosen"]) and "lookup" in json.dumps(pairs[0]["rejected"])


def test_the_tapes_of_an_evaluation_run_are_scored_with_their_dataset_targets(tmp_path: Path) -> None:
    ws = fake_workspace(tmp_path)
    data = tmp_path / "set.jsonl"
    data.write_text('{"id": "a", "input": "What is 12 times 7?", "target": "84"}\n'
                    '{"id": "b", "input": "What is the capital of France?", "target": "Paris"}\n')
    evaluation = evaluate_agent(ws, "qa", str(data), split="train", run_id="eval-small")
    assert [e.score for e in evaluation.examples] == [0.0, 1.0]
    experiment = Experiment(selection=Selection(eval_run="eval-small"), rule=parse_rule(PATCH), dataset=str(data))
    experiment_id = create_experiment(ws, experiment)[0].id
    run_experiment(ws, experiment_id)
    report = build_report(ws.store, experiment_id)
    scores = {r.tape_id: (r.original_score, r.fork_score) for r in report.rows}
    assert scores == {evaluation.examples[0].tape_id: (0.0, 1.0), evaluation.examples[1].tape_id: (1.0, 1.0)}
    assert (report.aggregate.fixed, report.aggregate.unchanged) == (1, 1)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_run_show_and_list_with_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = fake_workspace(tmp_path)
    tapes = run_tapes(ws)
    store, model = str(ws.store.path), ws.llm.model
    rule = json.dumps({"match": {"kind": "tool_result", "text": "France"}, "action": "override_result", "result": LYON})
    code, out, _ = run_cli(capsys, "experiment", "run", "--store", store, "--model", model, "--select", "agent=qa",
                           "--rule", rule, "--scorer", "answer", "--preview", "--json")
    preview = json.loads(out)
    assert code == 0 and (preview["tapes"], preview["skipped"], preview["new_calls"]) == (1, 2, 1)
    code, out, err = run_cli(capsys, "experiment", "run", "--store", store, "--model", model, "--resume",
                             preview["experiment_id"])
    assert code == 0 and "mean delta -1.000" in out and "skipped" in out and "[3/3]" in err
    code, out, _ = run_cli(capsys, "experiment", "show", preview["experiment_id"], "--store", store, "--json")
    shown = json.loads(out)
    assert [r["state"] for r in shown["rows"]] == ["done", "skipped", "skipped"] and shown["rows"][0]["delta"] == -1.0
    code, out, _ = run_cli(capsys, "experiment", "list", "--store", store, "--json")
    assert [e["id"] for e in json.loads(out)] == [preview["experiment_id"]]
    assert len(tapes) == 3


@pytest.mark.parametrize(("args", "says"), [
    (["--select", "agent=qa", "--rule", "{not json"], "--rule: invalid JSON"),
    (["--select", "colour=red", "--rule", '{"match": {"kind": "thought"}, "action": "delete"}'], "--select 'colour'"),
    (["--select", "agent=qa", "--rule", '{"match": {"kind": "thought"}, "action": "zap"}'], "rule: action"),
    (["--resume", "exp-nothing"], "no experiment 'exp-nothing'"),
    (["--select", "agent=qa", "--rule", '{"match": {"kind": "thought"}, "action": "delete"}', "--ray-address", "auto"],
     "--ray-address needs --executor ray"),
])
def test_cli_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], says: str) -> None:
    code, _, err = run_cli(capsys, "experiment", "run", "--store", str(tmp_path / "s.sqlite"), *args)
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1


def test_cli_preview_says_how_many_calls_the_judge_makes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = fake_workspace(tmp_path)
    run_tapes(ws)
    rule = json.dumps({"match": {"kind": "tool_result", "text": "France"}, "action": "override_result", "result": LYON})
    code, out, _ = run_cli(capsys, "experiment", "run", "--store", str(ws.store.path), "--model", ws.llm.model,
                           "--select", "agent=qa", "--rule", rule, "--scorer", "judge", "--preview")
    assert code == 0 and "3 LLM calls expected" in out and "of these 2 by the judge (0 from the cache)" in out

"""`tape-studio train` and `eval` through the CLI's main(), on the learning fake (a named fake model)."""

from __future__ import annotations

import json

import pytest

from tape_studio.core.learning.fake_roles import register_learning_fake
from tape_studio.studio.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_train_json_has_the_documented_shape(capsys: pytest.CaptureFixture[str]) -> None:
    model = register_learning_fake("cli-train")
    code, out, _ = run_cli(capsys, "train", "--agent", "qa", "--dataset", "qa-mini", "--epochs", "2", "--batch", "4",
                           "--model", model, "--json")
    result = json.loads(out)
    assert code == 0
    assert {"run_id", "epochs", "best_spec_id"} <= set(result)
    assert [set(e) for e in result["epochs"]] == [{"epoch", "train", "val", "accepted", "rejected", "spec_id"}] * 2
    assert result["status"] == "completed" and result["best_spec_id"].startswith("qa-")
    test = result["v0_vs_best"]["test"]
    assert {"delta", "low", "high", "fixed", "broken", "n"} <= set(test) and test["low"] <= test["delta"] <= test["high"]


def test_train_resume_of_a_finished_run_prints_its_summary(capsys: pytest.CaptureFixture[str]) -> None:
    model = register_learning_fake("cli-resume")
    _, out, _ = run_cli(capsys, "train", "--agent", "qa", "--dataset", "qa-mini", "--epochs", "1", "--batch", "8",
                        "--model", model, "--json", "--no-test")
    run_id = json.loads(out)["run_id"]
    code, again, _ = run_cli(capsys, "train", "--resume", run_id, "--json")
    assert code == 0 and json.loads(again)["run_id"] == run_id


def test_train_readable_output_and_progress(capsys: pytest.CaptureFixture[str]) -> None:
    model = register_learning_fake("cli-text")
    code, out, err = run_cli(capsys, "train", "--agent", "qa", "--dataset", "qa-mini", "--epochs", "1", "--batch", "8",
                             "--model", model)
    assert code == 0 and "epoch 1: train" in out and "test (reported only)" in out
    assert "[1/" in err  # one progress line per finished unit when stderr is not a terminal


def test_a_budget_stop_exits_non_zero_and_says_how_to_resume(capsys: pytest.CaptureFixture[str]) -> None:
    model = register_learning_fake("cli-budget")
    code, out, _ = run_cli(capsys, "train", "--agent", "qa", "--dataset", "qa-mini", "--model", model,
                           "--max-llm-calls", "5")
    assert code == 1 and "budget reached" in out and "tape-studio train --resume" in out


@pytest.mark.parametrize(("args", "message"), [
    (["train", "--agent", "qa"], "train needs --agent and --dataset"),
    (["train", "--agent", "qa", "--dataset", "nope"], "no dataset 'nope'"),
    (["train", "--agent", "qa", "--dataset", "qa-mini", "--batch", "0"], "--batch: Input should be greater"),
    (["train", "--agent", "qa", "--dataset", "qa-mini", "--optimizers", "prompt,magic"], "'magic' is not one of"),
    (["train", "--resume", "nope"], "no training run with id 'nope'"),
    (["eval", "--agent", "qa", "--dataset", "qa-mini", "--split", "test", "--agent", "zz"], "no agent or spec 'zz'"),
])
def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_eval_scores_a_spec_on_a_split(capsys: pytest.CaptureFixture[str]) -> None:
    model = register_learning_fake("cli-eval")
    code, out, _ = run_cli(capsys, "eval", "--agent", "qa", "--dataset", "qa-mini", "--split", "val", "--model", model,
                           "--json")
    report = json.loads(out)
    assert code == 0 and report["split"] == "val" and len(report["examples"]) == 6
    assert report["score"] == pytest.approx(0.3333) and report["examples"][0]["tape_id"]


def test_eval_shows_examples_done_running_score_and_calls(capsys: pytest.CaptureFixture[str]) -> None:
    model = register_learning_fake("cli-eval-progress")
    code, out, err = run_cli(capsys, "eval", "--agent", "qa", "--dataset", "qa-mini", "--split", "val", "--model", model)
    lines = [line for line in err.splitlines() if line.startswith("[")]
    assert code == 0 and len(lines) == 6 and lines[-1].startswith("[6/6] score 0.33 ·")
    assert lines[-1].endswith(" calls") and int(lines[-1].split("·")[1].split()[0]) >= 12  # plan + answer each
def test_eval_gives_the_same_scores_with_an_explicit_thread_executor(capsys: pytest.CaptureFixture[str]) -> None:
    model = register_learning_fake("cli-eval-threads")
    args = ("eval", "--agent", "qa", "--dataset", "qa-mini", "--split", "val", "--model", model, "--json")
    default = json.loads(run_cli(capsys, *args)[1])
    threads = json.loads(run_cli(capsys, *args, "--executor", "threads")[1])
    assert [e["score"] for e in threads["examples"]] == [e["score"] for e in default["examples"]]
    assert threads["score"] == default["score"]


def test_an_unknown_executor_is_rejected_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(capsys, "eval", "--agent", "qa", "--dataset", "qa-mini", "--executor", "dask")
    assert exit_info.value.code == 2 and "dask" in capsys.readouterr().err

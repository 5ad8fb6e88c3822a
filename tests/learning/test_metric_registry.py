"""User metrics as plain callables and datasets registered by name, through the same registries
the built-in ones use."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tape_studio.core.errors import ConfigError, NotFoundError
from tape_studio.core.learning.datasets import DATASETS, load_dataset, register_dataset
from tape_studio.core.learning.metrics import METRICS, MetricResult, metric_names, register_metric, score
from tape_studio.core.plugins import load_agents
from tape_studio.core.registry import BUILTIN

TRAVEL = Path(__file__).resolve().parents[2] / "examples" / "travel" / "agent.py"


def test_built_in_metrics_are_registered_like_any_other() -> None:
    assert {"exact", "f1", "numeric", "answer"} <= set(METRICS.in_order())
    assert all(METRICS.source(name) == BUILTIN for name in ("exact", "f1", "numeric", "answer"))
    assert metric_names()[-1] == "judge"


def test_a_plain_callable_scores_and_gets_feedback() -> None:
    @register_metric(name="fake_starts_with")
    def starts_with(prediction: str, target: str) -> bool:
        return prediction.lower().startswith(target.lower())

    assert score("fake_starts_with", "Paris, France", "paris").score == 1.0
    missed = score("fake_starts_with", "Lyon", "paris")
    assert missed.score == 0.0 and "'paris'" in missed.feedback


def test_a_metric_may_write_its_own_feedback() -> None:
    @register_metric
    def fake_graded(prediction: str, target: str) -> MetricResult:
        return MetricResult(score=0.5, feedback=f"half marks for {prediction}")

    assert score("fake_graded", "x", "y") == MetricResult(score=0.5, feedback="half marks for x")


@pytest.mark.parametrize("returned, message", [(1.5, "must lie in [0, 1]"), ("yes", "returns a number"),
                                                (float("nan"), "returns a number")])
def test_a_metric_returning_nonsense_is_one_clear_error(returned: object, message: str) -> None:
    register_metric(lambda prediction, target: returned, name=f"fake_bad_{message[:4]}_{type(returned).__name__}")
    with pytest.raises(ConfigError, match=re.escape(message)):
        score(f"fake_bad_{message[:4]}_{type(returned).__name__}", "a", "b")


def test_a_metric_that_raises_names_itself() -> None:
    @register_metric
    def fake_crashing(prediction: str, target: str) -> float:
        raise KeyError("oops")

    with pytest.raises(ConfigError, match=r"metric 'fake_crashing' failed on prediction 'a': KeyError"):
        score("fake_crashing", "a", "b")


def test_judge_is_reserved() -> None:
    with pytest.raises(ConfigError, match="reserved"):
        register_metric(lambda p, t: 1.0, name="judge")


def test_an_unknown_metric_stops_before_any_run(tmp_path: Path) -> None:
    (tmp_path / "train.jsonl").write_text(json.dumps({"id": "1", "input": "q", "target": "a"}) + "\n")
    with pytest.raises(NotFoundError, match=r"no metric named 'exakt' \(known: exact"):
        load_dataset(str(tmp_path), metric="exakt")


def test_a_registered_dataset_loads_by_name_with_its_metric(tmp_path: Path) -> None:
    for split in ("train", "test"):
        (tmp_path / f"{split}.jsonl").write_text(json.dumps({"id": split, "input": "q?", "target": "a"}) + "\n")
    register_dataset("fake_small", tmp_path, metric="exact", agent="someone")
    data = load_dataset("fake_small")
    assert (data.name, data.metric, data.agent, sorted(data.splits)) == ("fake_small", "exact", "someone", ["test", "train"])
    assert load_dataset("fake_small", metric="f1").metric == "f1"


def test_the_builtin_sets_register_through_the_same_call() -> None:
    assert DATASETS.source("qa") == BUILTIN and load_dataset("qa").metric == "answer"


def test_a_user_file_brings_its_metric_and_dataset() -> None:
    load_agents(str(TRAVEL))
    assert METRICS.source("travel_answer") == DATASETS.source("travel") == str(TRAVEL)
    data = load_dataset("travel")
    assert data.metric == "travel_answer" and len(data.split("train")) >= 6
    assert score("travel_answer", "about 108.7 USD", "108.70").score == 1.0
    assert score("travel_answer", "It is 108.70 " + "and more words " * 5, "108.70").score == 0.0


def test_a_registered_name_wins_over_a_folder_of_the_same_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "fake_capitals"
    folder.mkdir()
    (folder / "test.jsonl").write_text(json.dumps({"id": "1", "input": "Capital of France?", "target": "Paris"}) + "\n")
    register_dataset("fake_capitals", folder, metric="exact")
    monkeypatch.chdir(tmp_path)  # `fake_capitals` is now also a folder in the working directory
    assert load_dataset("fake_capitals").metric == "exact"
    assert load_dataset("./fake_capitals").metric == "answer"  # a path stays a path, with the default metric

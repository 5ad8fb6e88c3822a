"""The Train page's story of a run, with AppTest on a run made by the learning fake (a named fake
model): the score plot's axes, v0 against the best version on validation and test, the flipped
examples and accepted changes linked to their tapes, plain words, an unknown `?run=`, and caching."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
import streamlit
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest
from studio_helpers import unescaped

from tape_studio.core.learning import records as rec
from tape_studio.core.learning.bundle import export_run, import_run, read_run_bundle
from tape_studio.core.learning.datasets import load_dataset
from tape_studio.core.learning.fake_roles import register_learning_fake
from tape_studio.core.learning.forward import forward_tape_id
from tape_studio.core.learning.steps import Gradient
from tape_studio.core.learning.train_config import TrainConfig
from tape_studio.core.learning.trainer import Trainer
from tape_studio.core.store import Store
from tape_studio.core.workspace import Workspace
from tape_studio.studio import train_cache, train_charts, train_data
from tape_studio.studio.state import TRAIN_TAB
from tape_studio.studio.train_story import TEST_LABEL

ROOT = Path(__file__).resolve().parents[2]
TRAIN_PAGE = str(ROOT / "pages" / "train.py")
_names = itertools.count()


@pytest.fixture
def ws(studio_store: Path) -> Workspace:
    return Workspace(studio_store, model=register_learning_fake(f"story-{next(_names)}", {}), mode="cached")


@pytest.fixture
def run(ws: Workspace) -> rec.TrainingRun:
    trainer = Trainer(ws)
    return trainer.run(trainer.start(TrainConfig(agent="qa", dataset="qa-mini", epochs=2, batch_size=4)).id)


def train_page(tab: str = "Scores", **query: str) -> AppTest:
    """The page with `tab` open (only the open tab is drawn)."""
    at = AppTest.from_file(TRAIN_PAGE, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.session_state[TRAIN_TAB] = tab
    return at.run()


def open_tab(at: AppTest, tab: str) -> AppTest:
    at.session_state[TRAIN_TAB] = tab
    return at.run()


def link(url: str) -> tuple[str, dict[str, str]]:
    """A relative studio link as (page, query)."""
    parts = urlsplit(url)
    return parts.path, {key: values[0] for key, values in parse_qs(parts.query).items()}


def chart(at: AppTest, nth: int = 0) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """The nth Vega-Lite chart on the page: its spec, and its datasets by name (sent as Arrow)."""
    proto = at.get("vega_lite_chart")[nth].proto
    return json.loads(proto.spec), {d.name: convert_arrow_bytes_to_pandas_df(d.data.data) for d in proto.datasets}


def table(at: AppTest, column: str, nth: int = 0) -> pd.DataFrame:
    """The nth dataframe on the page that has this column (plain dataframes carry no key in AppTest)."""
    return [d.value for d in at.dataframe if column in d.value.columns][nth]


def shown(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.text, *at.code, *at.caption, *at.markdown, *at.info))


def test_the_score_plot_has_whole_epoch_ticks_and_a_call_axis_in_whole_numbers(run: rec.TrainingRun) -> None:
    at = train_page()
    assert not at.exception
    spec, datasets = chart(at)
    scores, spend = spec["layer"][0]["layer"][0], spec["layer"][1]
    assert scores["encoding"]["x"]["axis"] == {"values": [0, 1, 2], "format": "d"}
    assert spend["encoding"]["y"]["title"] == "LLM calls (cumulative)"  # the fake model is free
    assert spend["encoding"]["y"]["axis"]["format"] == ",d" and spend["encoding"]["y"]["type"] == "quantitative"
    lines = datasets[scores["data"]["name"]]
    validation = lines[lines["series"] == "validation"]
    assert validation["x"].tolist() == [0, 1, 2]
    val_rows = [r.val_score for r in rec.load_rows(train_cache.get_workspace().store, run.id, "epoch")]
    assert validation["score"].tolist() == val_rows


def test_the_headline_gives_v0_against_the_best_on_validation_and_test(run: rec.TrainingRun) -> None:
    at = train_page()
    assert not at.exception
    metrics = {m.label: m for m in at.metric}
    test, summary = metrics[TEST_LABEL], run.summary or {}
    assert "never used to choose" in TEST_LABEL
    assert test.value == f"{summary['test']['best']:.2f}"  # type: ignore[index]
    assert f"vs v0 ({summary['test']['v0']:.2f})" in test.proto.delta  # type: ignore[index]
    compared = summary["v0_vs_best"]["test"]  # type: ignore[index]
    assert f"90% interval {compared['low']:+.2f} to {compared['high']:+.2f}" in shown(at)  # type: ignore[index]
    assert "validation (chooses the best)" in metrics
    assert open_tab(at, "Prompts").selectbox(key="train_diff_new").value == "v1"  # the best
    assert open_tab(at, "Compare versions").selectbox(key="train_cmp_b").value == "v1"
    assert rec.load_rows(train_cache.get_workspace().store, run.id)[1].candidate_spec_id == run.best_spec_id


def test_flipped_examples_link_to_both_forward_tapes_and_their_comparison(ws: Workspace, run: rec.TrainingRun) -> None:
    at = train_page("Compare versions")
    flips = table(at, "change", 1)  # validation's, then test's
    expected = (run.summary or {})["v0_vs_best"]["test"]  # type: ignore[index]
    assert set(flips[flips["change"] == "fixed"]["example"]) == set(expected["fixed"]) != set()  # type: ignore[index]
    for row in flips.itertuples():
        page, query = link(row[6])  # "A tape"
        assert page == "tape" and query["tape"] == forward_tape_id(run.id, run.spec_id, "test", row.example)
        b_page, b_query = link(row[7])
        assert b_query["tape"] == forward_tape_id(run.id, run.best_spec_id, "test", row.example)
        a, b = ws.store.summary(query["tape"]), ws.store.summary(b_query["tape"])
        assert (a.score, b.score) == (row[4], row[5]) and a.title == row.question
        assert link(row.compare) == ("compare", {"a": query["tape"], "b": b_query["tape"]})


def test_any_two_versions_can_be_compared_and_unscored_ones_say_so(run: rec.TrainingRun) -> None:
    at = train_page("Compare versions")
    at.selectbox(key="train_cmp_a").set_value("v1")
    at.selectbox(key="train_cmp_b").set_value("v0").run()
    assert not at.exception
    swapped = table(at, "change")
    assert set(swapped["change"]) == {"broken"}  # what v1 fixed, v0 breaks
    assert "validation: v1 " in shown(at) and " → v0 " in shown(at)
    rejected = next(label for label in at.selectbox(key="train_cmp_b").options if label.startswith("rejected"))
    at.selectbox(key="train_cmp_b").set_value(rejected).run()
    assert not at.exception
    assert sum("Not every example of this split was scored" in i.value for i in at.info) == 2


def test_an_accepted_change_shows_its_diff_its_optimizers_and_the_gradients_behind_it(
        ws: Workspace, run: rec.TrainingRun) -> None:
    at = train_page("Accepted changes")
    assert not at.exception
    row = next(r for r in rec.load_rows(ws.store, run.id, "step") if r.decision == "accepted")
    assert row.changed_by == ("prompt", "tool")
    assert "made by the prompt + tool docs optimizers" in shown(at)
    assert "[-" not in shown(at) and "{+" not in shown(at)  # the old uncoloured markers are gone
    diffs = [c.value for c in at.code if c.language == "diff"]
    assert diffs and all(line[:1] in "+- " for d in diffs for line in d.splitlines())
    gradients = table(at, "forward tape")
    assert len(gradients) > 0
    record = ws.store.load_tape(row.tape_id)
    for item in gradients.itertuples():
        _, forward = link(item[5])
        visit = ws.store.load_tape(forward["tape"]).steps[int(forward["step"])]
        assert forward["tape"] in row.forward_tape_ids and visit.metadata.node == item.node
        _, where = link(item.record)
        gradient = record.steps[int(where["step"])]
        assert where["tape"] == row.tape_id and isinstance(gradient, Gradient) and gradient.node == item.node


def test_progress_and_status_are_plain_words(run: rec.TrainingRun) -> None:
    at = train_page()
    n_train = len(load_dataset("qa-mini").split("train"))
    steps = 2 * math.ceil(n_train / 4)
    progress = at.get("progress")[0].proto
    assert progress.text == f"{steps} of {steps} update steps done · 2 of 2 epochs finished" and progress.value == 100
    text = shown(at)
    assert "units" not in text and "status:" not in text and "· done" not in text
    assert "finished" in next(s for s in at.selectbox if s.label == "Run").format_func(run.id)


def test_an_unknown_run_in_an_empty_store_is_said_to_be_unknown(ws: Workspace) -> None:
    at = train_page(run="no-such-run")
    assert not at.exception
    assert "No training run with id 'no-such-run'" in unescaped(at.error[0].value)
    assert "tape-studio train --agent qa" in at.info[0].value


def test_an_unknown_run_in_the_address_is_said_to_be_unknown(run: rec.TrainingRun) -> None:
    at = train_page(run="no-such-run")
    assert not at.exception
    assert "No training run with id 'no-such-run'" in unescaped(at.error[0].value)
    picker = next(s for s in at.selectbox if s.label == "Run")
    assert picker.value is None and not at.metric  # no other run is shown as if it were that one
    picker.set_value(run.id).run()
    assert not at.exception and not at.error
    assert at.query_params["run"] == run.id and at.metric


def test_reruns_reuse_the_figure_the_comparisons_and_the_record_grids(
        run: rec.TrainingRun, monkeypatch: pytest.MonkeyPatch) -> None:
    counts = {"figure": 0, "compare": 0, "grid": 0}

    def counted(name: str, function):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            counts[name] += 1
            return function(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(train_charts, "score_chart", counted("figure", train_charts.score_chart))
    monkeypatch.setattr(train_cache, "compare_on_splits", counted("compare", train_cache.compare_on_splits))
    monkeypatch.setattr(train_data, "gradient_grid", counted("grid", train_data.gradient_grid))
    at = train_page()
    assert counts == {"figure": 1, "compare": 1, "grid": 0}  # the headline's v0 → best; no grid on Scores
    at.run()
    open_tab(at, "Compare versions")  # the picker shows v0 → best too: the headline's comparison
    open_tab(at, "Gradients")
    first = dict(counts)
    assert first == {"figure": 1, "compare": 1, "grid": 1}
    at.run()
    open_tab(at, "Scores")
    open_tab(at, "Gradients")
    assert not at.exception and counts == first


def test_an_imported_run_shows_v0_against_the_best_with_its_scores(
        ws: Workspace, run: rec.TrainingRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run file carries its tapes with their scores: the imported run compares as on its own store."""
    export_run(ws.store, run.id, tmp_path / "run.json")
    monkeypatch.setenv("TAPE_STUDIO_STORE", str(tmp_path / "imported.sqlite"))
    streamlit.cache_resource.clear()
    streamlit.cache_data.clear()
    imported = Store(tmp_path / "imported.sqlite")
    import_run(imported, read_run_bundle(tmp_path / "run.json"), "run.json")
    at = train_page("Compare versions", run=run.id)
    assert not at.exception
    compared = (run.summary or {})["v0_vs_best"]["test"]  # type: ignore[index]
    assert at.metric[1].value == f"{compared['b_score']:.2f}"  # type: ignore[index]
    assert f"90% interval {compared['low']:+.2f} to {compared['high']:+.2f}" in shown(at)  # type: ignore[index]
    flips = table(at, "change", 1)
    assert list(flips["example"]) == list(compared["fixed"]) + list(compared["broken"])  # type: ignore[index]
    assert flips["A score"].notna().all() and flips["B score"].notna().all()  # the file keeps each tape's score
    assert all(imported.has_tape(link(url)[1]["tape"]) for url in flips["B tape"])
    streamlit.cache_resource.clear()

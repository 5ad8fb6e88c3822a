"""The Train page with AppTest, on runs made by the learning fake (a named fake model)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tape_studio.core.learning import records as rec
from tape_studio.core.learning.fake_roles import register_learning_fake
from tape_studio.core.learning.train_config import TrainConfig
from tape_studio.core.learning.trainer import Trainer
from tape_studio.core.settings import ModelSettings, save_settings
from tape_studio.core.workspace import Workspace
from tape_studio.studio import train_runner
from tape_studio.studio.state import TRAIN_TAB

ROOT = Path(__file__).resolve().parents[2]
TRAIN_PAGE = str(ROOT / "pages" / "train.py")
APP = str(ROOT / "studio" / "app.py")
HOSTILE = "<script>alert(1)</script>**bold**"
_names = itertools.count()


@pytest.fixture
def ws(studio_store: Path) -> Workspace:
    return Workspace(studio_store, model=register_learning_fake(f"page-{next(_names)}", {
        "backward": lambda m: json.dumps({"change": f"Use the calculator. {HOSTILE}", "needed": "numbers"})}),
        mode="cached")


def trained(ws: Workspace) -> rec.TrainingRun:
    trainer = Trainer(ws)
    return trainer.run(trainer.start(TrainConfig(agent="qa", dataset="qa-mini", epochs=2, batch_size=4)).id)


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.text, *at.code))


TABS = ("Scores", "Compare versions", "Accepted changes", "Gradients", "Prompts", "Graph", "Cost per role")


def each_tab(at: AppTest) -> Iterator[AppTest]:
    """The page with each tab open in turn, as a person clicks through them (only the open one is drawn)."""
    for name in TABS:
        at.session_state[TRAIN_TAB] = name
        yield at.run()


def test_without_runs_the_page_offers_the_form_and_the_command(ws: Workspace) -> None:
    at = AppTest.from_file(TRAIN_PAGE, default_timeout=30).run()
    assert not at.exception
    assert "tape-studio train --agent qa" in at.info[0].value
    assert at.button[0].label == "Start training"


def test_a_run_shows_scores_gradients_prompt_diff_and_cost(ws: Workspace) -> None:
    run = trained(ws)
    at = AppTest.from_file(TRAIN_PAGE, default_timeout=60).run()
    assert not at.exception
    assert at.query_params["run"] == run.id
    assert "Finished: every epoch ran and the test split was scored." in texts(at)
    epochs = next(frame.value for frame in at.dataframe if "val" in frame.value.columns)
    assert list(epochs["epoch"]) == [0, 1, 2] and list(epochs["version"]) == ["v0", "v1", "v1"]
    assert not [frame for frame in at.dataframe if "role" in frame.value.columns]  # only the open tab is drawn
    shown, tables = "", []
    for tab in each_tab(at):
        assert not tab.exception
        shown += texts(tab)
        tables += [frame.value for frame in tab.dataframe]
        if tab.session_state[TRAIN_TAB] == "Prompts":  # v0 → v1, coloured, sentence by sentence
            diffs = [c.value for c in tab.code if c.language == "diff"]
            assert any("+Always calculate arithmetic with the calculator." in d.splitlines() for d in diffs)
    assert "qa-train-" in shown and "score 0.00" in shown  # the minibatch's losses head the grid
    assert "aggregated (what the optimizer read)" in shown
    usage = next(table for table in tables if "role" in table.columns)
    assert set(usage["role"]) >= {"forward", "backward", "prompt_optimizer"}


def test_model_text_is_drawn_as_text_only(ws: Workspace) -> None:
    trained(ws)
    at = AppTest.from_file(TRAIN_PAGE, default_timeout=60).run()
    shown = ""
    for tab in each_tab(at):
        shown += texts(tab)
        assert all(HOSTILE not in str(m.value) for m in tab.markdown)
    assert HOSTILE in shown


def test_the_run_in_the_url_is_the_one_shown(ws: Workspace) -> None:
    first, second = trained(ws), trained(ws)
    at = AppTest.from_file(TRAIN_PAGE, default_timeout=60)
    at.query_params["run"] = first.id
    at.run()
    assert not at.exception
    assert next(s for s in at.selectbox if s.label == "Run").value == first.id != second.id and at.query_params["run"] == first.id


def test_the_form_launches_a_background_run_with_the_saved_model(ws: Workspace) -> None:
    save_settings(ws.store, ModelSettings(model=ws.llm.model, llm_mode="cached"))
    at = AppTest.from_file(TRAIN_PAGE, default_timeout=30).run()
    at.number_input(key="train_epochs").set_value(1)
    at.number_input(key="train_batch").set_value(8)
    at.button[0].click().run()
    assert not at.exception
    run_id = at.query_params["run"]
    train_runner.wait(run_id, 60)
    run = rec.load_run(ws.store, run_id)
    assert run.status == "completed" and run.config.model == ws.llm.model


def test_a_gradient_opens_its_forward_tape_step_on_the_tape_page(ws: Workspace) -> None:
    run = trained(ws)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("../pages/train.py").run()
    at.session_state[TRAIN_TAB] = "Gradients"
    next(b for b in at.run().button if b.label == "Forward step").click().run()
    assert not at.exception
    forward = at.query_params["tape"]
    assert forward in rec.load_rows(ws.store, run.id, "step")[0].forward_tape_ids

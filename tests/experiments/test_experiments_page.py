"""The Experiments page with Streamlit's AppTest: define a rule, check it, plan, launch, read the report."""

from __future__ import annotations

import json
from pathlib import Path

from experiment_helpers import fake_workspace, run_tapes
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from tape_studio.core.experiments.records import list_experiments
from tape_studio.core.settings import ModelSettings, save_settings
from tape_studio.core.store import Store
from tape_studio.studio.experiments_runs import RUNS

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "experiments.py")


def test_empty_store_says_what_to_do_first(studio_store: Path) -> None:
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception and "No tapes yet" in at.info[0].value


def test_define_check_plan_launch_and_report(studio_store: Path) -> None:
    ws = fake_workspace(studio_store.parent, name="page-fake")
    run_tapes(ws)
    save_settings(ws.store, ModelSettings(model=ws.llm.model, llm_mode="cached"))
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception and "No experiments yet" in at.info[0].value
    at.selectbox(key="exp_scorer").select("answer")
    at.button(key="exp_check").click().run()
    assert not at.exception
    matches = at.dataframe[-1].value
    assert list(matches["fork at"]) == [3, 3, 3] and matches["becomes"][0].startswith("[tool_result]")

    at.button(key="exp_plan").click().run()
    assert not at.exception and not at.error
    (experiment,) = list_experiments(Store(studio_store))
    assert experiment.status == "planned"
    labels = {m.label: m.value for m in at.metric}
    assert labels["Tapes to rerun"] == "3" and labels["LLM calls expected"].startswith("3")

    at.button(key="exp_launch").click().run()
    RUNS.wait(30)
    at.run()
    assert not at.exception
    labels = {m.label: m.value for m in at.metric}
    assert labels["Fixed / broken / same"] == "0 / 2 / 1" and labels["Scored / skipped"] == "3 / 0"
    rows = at.dataframe[-1].value
    assert list(rows["state"]) == ["done"] * 3 and list(rows["delta"]) == [-1.0, -1.0, 0.0]
    chart = at.get("vega_lite_chart")[0].proto  # the per-tape delta plot, drawn with Vega-Lite
    bars = {d.name: convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.datasets}[
        json.loads(chart.spec)["layer"][1]["data"]["name"]]
    assert list(bars["delta"]) == [-1.0, -1.0, 0.0] and list(bars["sign"]) == ["broken", "broken", "same"]
    assert list(bars["tape"]) == [tape[:8] for tape in rows["tape"]]


def test_a_bad_rule_is_one_line_on_the_page(studio_store: Path) -> None:
    ws = fake_workspace(studio_store.parent, name="page-bad")
    run_tapes(ws, ("What is the capital of France?",))
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    at.text_area(key="exp_rule_Override a tool result").set_value('{"match": {}, "action": "delete"}')
    at.button(key="exp_plan").click().run()
    assert not at.exception and "give at least one of kind" in at.error[0].value
    assert not list_experiments(Store(studio_store))


def test_a_link_to_an_unknown_experiment_says_so(studio_store: Path) -> None:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.query_params["experiment"] = "exp-missing"
    at.run()
    assert not at.exception and "no experiment 'exp-missing'" in at.error[0].value


def test_the_cost_preview_counts_the_judges_calls(studio_store: Path) -> None:
    ws = fake_workspace(studio_store.parent, name="page-judge")
    run_tapes(ws)
    save_settings(ws.store, ModelSettings(model=ws.llm.model, llm_mode="cached"))
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    at.selectbox(key="exp_scorer").select("judge")
    at.button(key="exp_plan").click().run()
    assert not at.exception and not at.error
    labels = {m.label: m.value for m in at.metric}
    # Three reruns (one call each), and the judge grades both sides of each: nine calls.
    assert labels["LLM calls expected"] == "9+" and labels["From the cache"] == "0 (0%)"
    assert any("6 are the judge's" in c.value for c in at.caption)
    at.button(key="exp_launch").click().run()
    RUNS.wait(30)
    at.button(key="exp_back").click().run()
    at.button(key="exp_plan").click().run()  # the same experiment again: the Settings model's cache answers all
    labels = {m.label: m.value for m in at.metric}
    assert not at.exception and labels["LLM calls expected"] == "9" and labels["From the cache"] == "9 (100%)"

"""The Train page's shaping and drawing helpers as plain functions: the shared coloured diff, the
score chart's axes, progress and status words, and the verdict read off an interval."""

from __future__ import annotations

import pandas as pd

from tape_studio.core.learning.compare import Comparison
from tape_studio.core.learning.records import StepRow, TrainingRun
from tape_studio.core.learning.train_config import TrainConfig
from tape_studio.core.spec import AgentSpec, Edge, NodeSpec
from tape_studio.studio import train_charts, train_data
from tape_studio.studio.diff_view import diff_lines, text_lines

HOSTILE = "<script>alert(1)</script> **bold** :red[x]"


def a_run(status: str = "completed", phase: str = "") -> TrainingRun:
    return TrainingRun(id="r1", agent="qa", dataset="qa", status=status, phase=phase,  # type: ignore[arg-type]
                       config=TrainConfig(agent="qa", dataset="qa", epochs=2, batch_size=2),
                       spec_id="s0", current_spec_id="s0", best_spec_id="s0")


def test_a_changed_sentence_is_its_own_removed_and_added_line() -> None:
    old = "Answer the question. Use the calculator for sums.\nBe brief."
    new = "Answer the question. Always use the calculator.\nBe brief."
    assert diff_lines(old, new) == [" Answer the question.", "-Use the calculator for sums.",
                                    "+Always use the calculator.", " Be brief."]


def test_a_diff_keeps_model_text_verbatim_and_marks_every_line() -> None:
    lines = diff_lines("", HOSTILE)
    assert lines == [f"+{HOSTILE}"]
    assert diff_lines("same", "same") == [" same"] and diff_lines("", "") == []
    assert text_lines("One. Two!  Three?\n\nFour") == ["One.", "Two!", "Three?", "Four"]


def layers(spec: dict) -> list[dict]:  # type: ignore[type-arg]
    """The marks of a Vega-Lite spec, nested layers flattened."""
    return [leaf for layer in spec.get("layer", [spec]) for leaf in (layers(layer) if "layer" in layer else [layer])]


def test_score_chart_ticks_whole_epochs_and_formats_cost_as_money() -> None:
    epochs = pd.DataFrame({"epoch": [0, 1, 2], "train": [None, 0.5, 0.75], "val": [0.3, 0.5, 0.6],
                           "accepted": [0, 1, 0], "rejected": [0, 0, 1], "spec_id": ["a", "b", "b"],
                           "total_calls": [10, 30, 55], "total_cost": [0.0139, 0.0245, 0.0884]})
    steps = pd.DataFrame({"epoch": [1, 2], "step": [1, 1], "x": [1.0, 2.0], "decision": ["accepted", "rejected"],
                          "train": [0.5, 0.75], "candidate": [0.75, 0.75], "reason": [HOSTILE, "r"],
                          "total_calls": [25, 50], "total_cost": [0.02, 0.08]})
    spec = train_charts.score_chart(epochs, steps).to_dict()
    scores, markers, spend = layers(spec)
    assert all(layer["encoding"]["x"]["axis"] == {"values": [0, 1, 2], "format": "d"} for layer in (scores, markers, spend))
    assert spec["resolve"] == {"scale": {"y": "independent"}} and "resolve" not in spec["layer"][0]  # one score axis
    assert spend["encoding"]["y"]["title"] == "cost ($, cumulative)"
    assert spend["encoding"]["y"]["axis"]["format"] == "$,.3~f" and spend["encoding"]["y"]["axis"]["orient"] == "right"
    assert spend["encoding"]["y"]["scale"]["zero"] is True
    reasons = [row["reason"] for row in spec["datasets"][markers["data"]["name"]]]
    assert reasons == [HOSTILE, "r"]  # as written: Vega's tooltip escapes it, so it shows as text
    color = scores["encoding"]["color"]["scale"]
    assert dict(zip(color["domain"], color["range"], strict=True))["step: rejected"] == "#c62828"


def test_a_free_model_gets_a_call_axis_in_whole_numbers() -> None:
    epochs = pd.DataFrame({"epoch": [0, 1], "train": [None, 0.5], "val": [0.3, 0.5], "total_calls": [3, 7],
                           "total_cost": [0.0, 0.0]})
    steps = pd.DataFrame({"x": [0.5], "decision": ["accepted"], "train": [0.5], "candidate": [0.75], "reason": ["r"],
                          "total_calls": [5], "total_cost": [0.0]})
    spend = layers(train_charts.score_chart(epochs, steps).to_dict())[-1]
    assert spend["encoding"]["y"]["title"] == "LLM calls (cumulative)"
    assert spend["encoding"]["y"]["axis"]["format"] == ",d" and spend["encoding"]["y"]["axis"]["tickMinStep"] == 1


def test_the_graph_colours_what_changed_and_points_each_edge_at_its_target() -> None:
    back = Edge(source="check", target="plan", when="error")
    spec = AgentSpec(name="g", entry="plan", nodes=(NodeSpec(name="plan", type="choose_tool", description=HOSTILE),
                                                   NodeSpec(name="check", type="answer")),
                     edges=(Edge(source="plan", target="check"), back))
    chart = train_charts.graph_chart(spec, {"plan": "same", "check": "added"}, {back}).to_dict()
    lines, arrows, _, dots, _ = layers(chart)
    heads = chart["datasets"][arrows["data"]["name"]]
    assert [(h["edge"], h["angle"]) for h in heads] == [("kept", 0.0), ("added", 180.0)]  # right, then back left
    assert [h["when"] for h in heads] == ["", "error"]
    nodes = {n["name"]: n for n in chart["datasets"][dots["data"]["name"]]}
    assert nodes["check"]["change"] == "added" and nodes["plan"]["about"] == f"choose_tool: {HOSTILE}"
    assert chart["resolve"] == {"scale": {"color": "independent"}}  # node colours keep their own legend
    scale = dots["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == train_charts.CHANGE_COLORS


def test_progress_counts_update_steps_and_epochs_in_words() -> None:
    rows = [StepRow(kind="epoch", epoch=0, spec_id="s0"), StepRow(kind="step", epoch=1, step=0, spec_id="s0")]
    fraction, words = train_data.progress(a_run("running"), rows, 6)
    assert (fraction, words) == (2 / 9, "1 of 6 update steps done · 0 of 2 epochs finished")  # 2 of 9 units
    assert train_data.progress(a_run("running"), rows, None)[1] == "1 update step done · 0 of 2 epochs finished"


def test_status_says_what_happens_in_plain_words() -> None:
    assert train_data.status_sentence(a_run(), False, None).startswith("Finished")
    assert train_data.status_sentence(a_run("running", "epoch 1 step 2 · forward"), True, None) == \
        "Training in this studio, now at epoch 1 step 2 · forward."
    assert "may have died" in train_data.status_sentence(a_run("running"), False, 200.0)
    assert "Resume continues" in train_data.status_sentence(a_run("stopped"), False, None)
    assert train_data.status_sentence(a_run("failed"), False, None).startswith("Failed")


def test_the_verdict_is_read_off_the_interval() -> None:
    def compared(low: float, high: float) -> Comparison:
        return Comparison(split="test", a="a", b="b", n=80, a_score=0.5, b_score=0.6, delta=0.1, low=low, high=high)

    assert train_data.verdict(compared(0.02, 0.2)).startswith("better beyond noise")
    assert train_data.verdict(compared(-0.2, -0.01)).startswith("worse beyond noise")
    assert train_data.verdict(compared(-0.05, 0.2)).startswith("not told apart from noise")

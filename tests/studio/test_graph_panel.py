"""The agent's graph on the Tape and Run pages: drawn from the spec with the tape's visits and
errors, the current node highlighted, a click on a node jumping to its next visit, labels escaped."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest
from studio_helpers import APP, PAGES, Demo, page

from tape_studio.core.tape import ErrorStep, FinalAnswer, StepMetadata, Tape, TapeMetadata, Task, Thought, ToolCall, ToolResult
from tape_studio.studio.graph import COLORS, ERROR_RING, PICKS
from tape_studio.studio.runs import REGISTRY, LiveRun
from tape_studio.studio.state import CURSOR, GRAPH_OPEN, RUN_PAGE_TAPE, SESSION_ID


def by(node: str) -> StepMetadata:
    return StepMetadata(node=node, agent="qa")


# plan visits twice (the second turn fails), then answer.
TAPE = Tape(metadata=TapeMetadata(agent="qa", title="two visits of plan", status="completed"), steps=(
    Task(text="What is 2+2?"),
    Thought(text="I should add.", metadata=by("plan")),
    ToolCall(tool="calculator", arguments={"expression": "2+2"}, metadata=by("plan")),
    ToolResult(tool="calculator", content="4"),
    ErrorStep(source="parse", message="no tool call", metadata=by("plan")),
    FinalAnswer(text="4", metadata=by("answer")),
))


def tape_page(**query: str) -> AppTest:
    """The Tape page with its graph open (it is folded until a person opens it)."""
    at = AppTest.from_file(str(PAGES / "tape.py"), default_timeout=30)
    for key, value in query.items():
        at.query_params[key] = value
    at.session_state[GRAPH_OPEN] = True
    return at.run()


def chart(at: AppTest) -> dict:  # type: ignore[type-arg]
    (element,) = at.get("plotly_chart")
    return json.loads(element.proto.spec)["data"][0]


def nodes(at: AppTest) -> dict[str, dict]:  # type: ignore[type-arg]
    data = chart(at)
    return {key: {"text": data["text"][i], "color": data["marker"]["color"][i],
                  "ring": data["marker"]["line"]["color"][i]} for i, key in enumerate(data["customdata"])}


def click(at: AppTest, tape_id: str, node: str) -> AppTest:
    picks = at.session_state[PICKS] if PICKS in at.session_state else 0
    index = chart(at)["customdata"].index(node)
    at.session_state[f"graph_{tape_id}_{picks}"] = {
        "selection": {"points": [{"point_index": index}], "point_indices": [index], "box": [], "lasso": []}}
    return at.run()


def test_the_tape_page_draws_the_spec_with_each_nodes_visits_and_errors(demo: Demo) -> None:
    demo.ws.store.save_tape(TAPE)
    at = tape_page(tape=TAPE.id, step="5")
    assert not at.exception
    shown = nodes(at)
    assert shown["qa/plan"]["text"] == "plan<br>2 visits · 1 error" and shown["qa/plan"]["ring"] == ERROR_RING
    assert shown["qa/answer"]["text"] == "answer<br>1 visit"
    assert shown["qa/answer"]["color"] == COLORS["current"]  # the node of the step at the cursor
    assert shown["qa/plan"]["color"] == COLORS["visited"]


def test_clicking_a_node_jumps_to_its_next_visit_and_wraps_round(demo: Demo) -> None:
    demo.ws.store.save_tape(TAPE)
    at = tape_page(tape=TAPE.id, step="0")
    at = click(at, TAPE.id, "qa/plan")
    assert not at.exception and at.session_state[CURSOR] == 1 and at.query_params["step"] == "1"
    at = click(at, TAPE.id, "qa/plan")  # the same node again: its second turn
    assert at.session_state[CURSOR] == 4
    at = click(at, TAPE.id, "qa/plan")  # and back to its first
    assert at.session_state[CURSOR] == 1
    assert nodes(at)["qa/plan"]["color"] == COLORS["current"]


def test_clicking_another_node_jumps_to_its_visit(demo: Demo) -> None:
    demo.ws.store.save_tape(TAPE)
    at = click(tape_page(tape=TAPE.id, step="2"), TAPE.id, "qa/answer")
    assert at.session_state[CURSOR] == 5


def test_a_node_without_visits_says_so_and_keeps_the_cursor(demo: Demo) -> None:
    unfinished = Tape(metadata=TapeMetadata(agent="qa", title="not answered yet"), steps=TAPE.steps[:4])
    demo.ws.store.save_tape(unfinished)
    at = click(tape_page(tape=unfinished.id, step="2"), unfinished.id, "qa/answer")
    assert not at.exception and at.session_state[CURSOR] == 2
    assert nodes(at)["qa/answer"]["color"] == COLORS["idle"]
    assert "answer has made no step on this tape yet." in [t.value for t in at.toast]


def test_node_names_from_a_users_tape_are_escaped(demo: Demo) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    tape = Tape(metadata=TapeMetadata(agent="", title="foreign"), steps=(
        Task(text="t"), Thought(text="x", metadata=StepMetadata(node=hostile)),
        Thought(text="y", metadata=StepMetadata(node="<b>bold</b>"))))
    demo.ws.store.save_tape(tape)
    at = tape_page(tape=tape.id)
    assert not at.exception
    texts = chart(at)["text"]
    assert texts[0].startswith("&lt;img src=x onerror=alert(1)&gt;<br>") and "<img" not in "".join(texts)
    assert texts[1].startswith("&lt;b&gt;bold&lt;/b&gt;")


def test_during_a_run_the_node_in_flight_is_highlighted(demo: Demo) -> None:
    demo.ws.store.save_tape(TAPE)
    live = LiveRun(session="s1", tape_id=TAPE.id, start_index=1, max_iterations=None, at_node=("qa", "plan"))
    REGISTRY._runs.setdefault("s1", {})[TAPE.id] = live  # a run in flight, without a thread behind it
    at = AppTest.from_file(str(PAGES / "run.py"), default_timeout=30)
    at.session_state[SESSION_ID], at.session_state[RUN_PAGE_TAPE] = "s1", TAPE.id
    at.run()
    assert not at.exception
    shown = nodes(at)
    assert shown["qa/plan"]["color"] == COLORS["current"] and shown["qa/answer"]["color"] == COLORS["visited"]
    live.reason = "completed"
    at.run()
    assert all(node["color"] != COLORS["current"] for node in nodes(at).values())  # the run is over


def test_clicking_a_node_on_the_run_page_opens_the_tape_page_at_its_visit(demo: Demo) -> None:
    demo.ws.store.save_tape(TAPE)
    at = AppTest.from_file(APP, default_timeout=30)  # the whole app: the Run page switches to the Tape page
    at.session_state[SESSION_ID], at.session_state[RUN_PAGE_TAPE] = "s1", TAPE.id
    at = click(at.switch_page("../pages/run.py").run(), TAPE.id, "qa/answer")
    assert not at.exception
    assert at.title[0].value == "Tape" and at.session_state[CURSOR] == 5 and at.query_params["step"] == "5"

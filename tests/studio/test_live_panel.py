"""The live panel of a run and the words around it: what is in flight during a long model call,
counts that agree with the store, and "1 LLM call", never "1 LLM calls"."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest
from studio_helpers import PAGES, Demo, page

from tape_studio.core.llm import LLMCall

from tape_studio.core.tape import FinalAnswer, StepMetadata, Tape, TapeMetadata, Task, Thought
from tape_studio.studio.runs import REGISTRY, LiveRun
from tape_studio.studio.state import SESSION_ID
from tape_studio.studio.words import plural

TAPE = Tape(metadata=TapeMetadata(agent="qa", title="a run in flight"), steps=(
    Task(text="What is 2+2?"), Thought(text="I should add.", metadata=StepMetadata(node="plan", agent="qa"))))


def tape_page_of(demo: Demo, live: LiveRun):  # type: ignore[no-untyped-def]
    demo.ws.store.save_tape(TAPE)
    REGISTRY._runs.setdefault(live.session, {})[TAPE.id] = live  # a run without a thread behind it
    at = AppTest.from_file(str(PAGES / "tape.py"), default_timeout=30)
    at.query_params["tape"], at.session_state[SESSION_ID] = TAPE.id, live.session
    return at.run()


def test_a_long_model_call_shows_which_node_is_in_flight_and_for_how_long(demo: Demo) -> None:
    live = LiveRun(session="s1", tape_id=TAPE.id, start_index=1, max_iterations=None,
                   in_flight="node plan of qa", in_flight_since=time.monotonic() - 57)
    at = tape_page_of(demo, live)
    assert not at.exception
    running = next(m.value for m in at.markdown if m.value.startswith("**⏺ Running**"))
    assert running.startswith("**⏺ Running** · 1 new step · ")
    (flight,) = [t.value for t in at.text if t.value.startswith("in flight: ")]
    assert flight.startswith("in flight: node plan of qa · ") and int(flight.rsplit(" · ", 1)[1].split()[0]) >= 57


def test_the_running_count_is_the_stores_count_of_new_steps(demo: Demo) -> None:
    live = LiveRun(session="s2", tape_id=TAPE.id, start_index=0, max_iterations=None, steps_added=1)
    at = tape_page_of(demo, live)  # the store has 2 steps since the start: the panel says 2, whatever the thread counted
    assert any(m.value.startswith("**⏺ Running** · 2 new steps") for m in at.markdown)


def test_one_is_singular_in_the_run_summary(demo: Demo) -> None:
    live = LiveRun(session="s3", tape_id=TAPE.id, start_index=1, max_iterations=None, steps_added=1, new_calls=1,
                   reason="completed", acknowledged=True)
    at = tape_page_of(demo, live)
    assert "Run finished with an answer · 1 new step · 1 new LLM call" in [s.value for s in at.success]


def test_plural_counts_things_the_same_way_everywhere() -> None:
    assert [plural(n, "LLM call") for n in (0, 1, 2)] == ["0 LLM calls", "1 LLM call", "2 LLM calls"]
    assert plural(1, "entry", "entries") == "1 entry" and plural(3, "entry", "entries") == "3 entries"


def test_a_tape_with_one_llm_call_says_so_in_its_header(demo: Demo) -> None:
    call = LLMCall(model="fake/one", messages=[{"role": "user", "content": "q"}], output="a",
                   prompt_tokens=3, completion_tokens=1)
    answered = Tape(metadata=TapeMetadata(agent="qa", title="one call", status="completed"), steps=(
        Task(text="q"), FinalAnswer(text="a", metadata=StepMetadata(node="answer", agent="qa", prompt_id=call.prompt_id))))
    demo.ws.store.save_tape(answered, [call])
    at = page("tape", tape=answered.id)
    header = next(t.value for t in at.text if t.value.startswith("completed · "))
    assert " · 1 LLM call · " in header and " · 2 steps · " in header

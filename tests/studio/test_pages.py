"""The studio's pages, run headless with Streamlit's AppTest on a throwaway store."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tape_studio.core.llm import LLMCall
from tape_studio.core.store import Store
from tape_studio.core.tape import (
    ErrorStep,
    FinalAnswer,
    StepMetadata,
    Tape,
    TapeMetadata,
    Task,
    Thought,
    ToolCall,
    ToolResult,
)
from tape_studio.studio.state import ANNOTATION_TEXT, BROWSE_PAGE_NO, CURSOR, TAPE_ID

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "studio" / "app.py")
TAPE_PAGE = str(ROOT / "pages" / "tape.py")
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture
def store(studio_store: Path) -> Store:
    return Store(studio_store)


def qa_tape(title: str = "What is the capital of France?") -> tuple[Tape, LLMCall]:
    call = LLMCall(model="local/smollm2", messages=[{"role": "user", "content": "plan the lookup"}],
                   output='{"tool": "lookup", "query": "France"}', prompt_tokens=10, completion_tokens=5,
                   latency_s=0.1)
    steps = (
        Task(text=title),
        Thought(text="I need facts about France."),
        ToolCall(tool="lookup", arguments={"query": "France"},
                 metadata=StepMetadata(prompt_id=call.prompt_id, node="plan", agent="qa")),
        ToolResult(tool="lookup", content="France: Its capital is Paris."),
        ErrorStep(source="parse", message="the answer was not JSON"),
        FinalAnswer(text="Paris"),
    )
    return Tape(metadata=TapeMetadata(agent="qa", title=title, status="completed"), steps=steps), call


def open_tape(tape_id: str) -> AppTest:
    at = AppTest.from_file(TAPE_PAGE, default_timeout=30)
    at.query_params["tape"] = tape_id
    return at.run()


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.text, *at.code))


def listed(at: AppTest) -> str:
    """What the page shows as text plus the lines of the step list (each a button)."""
    return texts(at) + "\n" + "\n".join(b.label for b in at.button)


def test_browse_lists_tapes(store: Store) -> None:
    for title in ("What is the capital of France?", "Write a haiku about rain", "Explain photosynthesis"):
        store.save_tape(qa_tape(title)[0])
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    table = at.dataframe(key="browse_table").value
    assert len(table) == 3 and set(table["title"]) >= {"Write a haiku about rain"}


def test_browse_search_filters(store: Store) -> None:
    store.save_tape(qa_tape("What is the capital of France?")[0])
    store.save_tape(qa_tape("Write a haiku about rain")[0])
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input(key="browse_text").input("haiku").run()
    assert not at.exception
    assert list(at.dataframe(key="browse_table").value["title"]) == ["Write a haiku about rain"]


def test_browse_empty_store_says_how_to_start(store: Store) -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert "tape-studio run --agent qa" in at.info[0].value
    assert not at.dataframe


def test_browse_open_tape_goes_to_the_tape_page(store: Store) -> None:
    tape, _ = qa_tape()
    store.save_tape(tape)
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.session_state["browse_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    next(b for b in at.button if b.label == "Open tape").click().run()
    assert not at.exception
    assert at.query_params["tape"] == tape.id
    assert any("I need facts about France." in b.label for b in at.button)  # its line in the step list


def test_tape_page_shows_steps_and_provenance(store: Store) -> None:
    tape, call = qa_tape()
    store.save_tape(tape, calls=[call])
    at = open_tape(tape.id)
    assert not at.exception
    shown = listed(at)
    for expected in ("I need facts about France.", "France: Its capital is Paris.", "Paris"):
        assert expected in shown
    assert "no LLM call" in at.info[0].value  # step 0, the task, was not made by a model
    at.session_state[CURSOR] = 2
    at.run()
    assert not at.exception
    assert call.output in [c.value for c in at.code]
    assert "plan the lookup" in texts(at)


def test_jump_to_first_error_moves_the_cursor(store: Store) -> None:
    tape, _ = qa_tape()
    store.save_tape(tape)
    at = open_tape(tape.id)
    next(b for b in at.button if b.label == "Next error").click().run()
    assert not at.exception
    assert at.session_state[CURSOR] == 4
    assert at.number_input(key=CURSOR).value == 4


def test_prev_next_buttons_move_the_cursor(store: Store) -> None:
    tape, _ = qa_tape()
    store.save_tape(tape)
    at = open_tape(tape.id)
    next(b for b in at.button if b.label == "Next ▶").click().run()
    next(b for b in at.button if b.label == "Next ▶").click().run()
    next(b for b in at.button if b.label == "◀ Prev").click().run()
    assert not at.exception
    assert at.session_state[CURSOR] == 1


def test_unknown_tape_id_is_an_error_message(store: Store) -> None:
    at = open_tape("no-such-tape")
    assert not at.exception
    assert "No tape with id" in at.error[0].value
    assert "no-such-tape" in texts(at)


def test_no_tape_id_offers_recent_tapes(store: Store) -> None:
    tape, _ = qa_tape()
    store.save_tape(tape)
    at = AppTest.from_file(TAPE_PAGE, default_timeout=30).run()
    assert not at.exception
    at.selectbox[0].select(tape.id).run()
    assert not at.exception
    assert at.session_state[TAPE_ID] == tape.id
    assert "I need facts about France." in listed(at)


def test_hostile_text_is_drawn_as_text_only(store: Store) -> None:
    tape = Tape(metadata=TapeMetadata(agent="qa", title=HOSTILE),
                steps=(Task(text=HOSTILE), Thought(text=HOSTILE, metadata=StepMetadata(node=HOSTILE, agent=HOSTILE))))
    store.save_tape(tape)
    at = open_tape(tape.id)
    assert not at.exception
    assert HOSTILE in texts(at)
    for element in (*at.markdown, *at.caption, *at.info, *at.error, *at.title, *at.subheader):
        assert "<script>" not in str(element.value) and "onerror" not in str(element.value)
    browse = AppTest.from_file(APP, default_timeout=30).run()
    assert not browse.exception
    assert all("<script>" not in str(e.value) for e in browse.markdown)


def test_adding_an_annotation_stores_it(store: Store) -> None:
    tape, _ = qa_tape()
    store.save_tape(tape)
    at = open_tape(tape.id)
    at.session_state[CURSOR] = 3
    at.run()
    at.text_area(key=ANNOTATION_TEXT).input("the lookup found it")
    next(b for b in at.button if b.label == "Add note").click().run()
    assert not at.exception
    notes = store.annotations(tape.id)
    assert [(n.step_index, n.author, n.text) for n in notes] == [(3, "user", "the lookup found it")]
    assert "the lookup found it" in texts(at)
    assert at.text_area(key=ANNOTATION_TEXT).value == ""


def test_lineage_links_parent_and_forks(store: Store) -> None:
    from tape_studio.core.tape import fork_tape

    tape, _ = qa_tape()
    fork = fork_tape(tape, 3, [ToolResult(tool="lookup", content="France: Its capital is Lyon.")])
    store.save_tape(tape)
    store.save_tape(fork)
    at = open_tape(fork.id)
    assert not at.exception
    assert f"fork of {tape.metadata.title} · {tape.id[:8]} at step 3" in texts(at)  # a title and a short id
    assert tape.id not in texts(at)
    next(b for b in at.button if b.label == "Open parent").click().run()
    assert not at.exception
    assert at.session_state[TAPE_ID] == tape.id
    assert any(line.endswith(fork.id[:8]) and "fork at step 3" in line for line in texts(at).splitlines())


def test_browse_pages_through_many_tapes(store: Store) -> None:
    store.save_tapes([qa_tape(f"question {n}")[0] for n in range(53)])
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert len(at.dataframe(key="browse_table").value) == 50
    at.pagination(key=BROWSE_PAGE_NO).select(2).run()
    assert not at.exception
    assert len(at.dataframe(key="browse_table").value) == 3


def test_jump_to_first_error_without_errors_says_so(store: Store) -> None:
    tape = Tape(metadata=TapeMetadata(agent="qa", title="fine"), steps=(Task(text="fine"), FinalAnswer(text="ok")))
    store.save_tape(tape)
    at = open_tape(tape.id)
    next(b for b in at.button if b.label == "Next error").click().run()
    assert not at.exception
    assert at.session_state[CURSOR] == 0
    assert "no error step" in at.toast[0].value


def test_launch_prepares_the_store_and_runs_streamlit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    import subprocess

    from tape_studio.studio import launch

    started: dict = {}

    class FakeServer:
        def __init__(self, command: list[str], env: dict[str, str]) -> None:
            started.update(command=command, env=env)

        def wait(self, timeout: float | None = None) -> int:
            return 3

    monkeypatch.setattr(subprocess, "Popen", FakeServer)
    store_path = tmp_path / "sub" / "store.sqlite"
    assert launch.launch(str(store_path), 8123) == 3
    assert store_path.exists()
    assert started["env"]["TAPE_STUDIO_STORE"] == str(store_path.resolve())
    command = started["command"]
    assert command[1:4] == ["-m", "streamlit", "run"] and Path(command[4]) == ROOT / "studio" / "app.py"
    assert command[command.index("--server.port") + 1] == "8123"
    assert "http://127.0.0.1:8123" in capsys.readouterr().out

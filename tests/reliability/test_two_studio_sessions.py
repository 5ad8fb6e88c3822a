"""Two studio sessions on one store fork different steps of the same tape at the same time: each
ends up on its own fork, with its own cursor, and neither sees the other's edit in its page."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from tape_studio.core.store import Store
from tape_studio.core.tape import StepMetadata, Tape, TapeMetadata, Task, Thought
from tape_studio.studio.state import CURSOR, SESSION_ID

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "tape.py")
TAPE = Tape(metadata=TapeMetadata(agent="qa", title="shared", status="completed"), steps=(
    Task(text="the shared task"),
    *(Thought(text=f"original thought {n}", metadata=StepMetadata(node="plan", agent="qa")) for n in (1, 2, 3)),
))


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    path = tmp_path / "store.sqlite"
    monkeypatch.setenv("TAPE_STUDIO_STORE", str(path))
    streamlit.cache_resource.clear()
    streamlit.cache_data.clear()
    shared = Store(path)
    shared.save_tape(TAPE)
    return shared


def session_at(index: int) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.query_params["tape"] = TAPE.id
    at.run()  # the first draw opens the tape at step 0; then the cursor moves, as a click would
    at.session_state[CURSOR] = index
    return at.run()


def edit(at: AppTest, index: int, text: str) -> None:
    at.text_area(key=f"edit_{TAPE.id}_{index}_text").input(text)
    next(b for b in at.button if b.label.startswith("Save as fork")).click().run()
    assert not at.exception


def test_each_session_sees_only_its_own_fork(store: Store) -> None:
    first, second = session_at(1), session_at(3)
    edit(first, 1, "first session's edit")
    second.run()  # the other session redraws after the first one saved: it must not have moved
    assert second.query_params["tape"] == TAPE.id and second.session_state[CURSOR] == 3
    edit(second, 3, "second session's edit")
    first.run()

    first_fork = store.load_tape(first.query_params["tape"])
    second_fork = store.load_tape(second.query_params["tape"])
    assert first.session_state[SESSION_ID] != second.session_state[SESSION_ID]
    assert (first_fork.metadata.parent_id, first_fork.metadata.fork_step) == (TAPE.id, 1)
    assert (second_fork.metadata.parent_id, second_fork.metadata.fork_step) == (TAPE.id, 3)
    assert first_fork.steps[1].text == "first session's edit"  # type: ignore[attr-defined]
    assert second_fork.steps[3].text == "second session's edit"  # type: ignore[attr-defined]
    assert "second session's edit" not in page_text(first) and "first session's edit" not in page_text(second)
    assert first.session_state[CURSOR] == 1 and second.session_state[CURSOR] == 3
    assert store.load_tape(TAPE.id).steps == TAPE.steps  # the shared original is untouched


def page_text(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.text, *at.code, *at.markdown, *at.text_area))

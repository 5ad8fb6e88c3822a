"""Store: the snippet a search shows for each tape, a window around the first match."""

from pathlib import Path

import pytest

from tape_studio.core.store import Store
from tape_studio.core.tape import StepMetadata, Tape, TapeMetadata, Task, Thought

LONG = "Once upon a time " * 5 + "the river Seine\nflows through Paris" + " and on to the sea" * 5


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store.sqlite")


def tape(title: str, *texts: str) -> Tape:
    steps = (Task(text="a task"),) + tuple(Thought(text=t, metadata=StepMetadata(node="plan")) for t in texts)
    return Tape(metadata=TapeMetadata(title=title, agent="qa"), steps=steps)


def test_a_snippet_is_a_window_around_the_match_on_one_line(store: Store) -> None:
    story = tape("story", "nothing here", LONG)
    store.save_tape(story)
    snippet = store.search_snippets([story.id], "SEINE", around=20)[story.id]
    assert snippet == "…on a time the river Seine flows through Paris…"  # 20 characters each side


def test_the_title_comes_before_the_steps(store: Store) -> None:
    capital = tape("Paris facts", "Paris is the capital")
    store.save_tape(capital)
    assert store.search_snippets([capital.id], "paris") == {capital.id: "Paris facts"}


def test_only_the_asked_tapes_that_match_have_a_snippet(store: Store) -> None:
    a, b, c = tape("a", "rivers run"), tape("b", "rivers too"), tape("c", "mountains")
    store.save_tapes([a, b, c])
    assert set(store.search_snippets([a.id, c.id], "river")) == {a.id}


def test_one_or_two_characters_still_find_a_snippet(store: Store) -> None:
    t = tape("t", "x = 42")
    store.save_tape(t)
    assert store.search_snippets([t.id], "42") == {t.id: "x = 42"}

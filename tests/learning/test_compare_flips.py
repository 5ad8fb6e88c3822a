"""Flipped examples of a comparison, found with their two forward tapes, on a real store."""

from __future__ import annotations

from pathlib import Path

from tape_studio.core.learning.compare import compare_on_splits, flips, scored_examples
from tape_studio.core.learning.forward import forward_tape_id
from tape_studio.core.store import Store
from tape_studio.core.tape import Tape, TapeMetadata, Task

SCORES = {"e1": (0.0, 1.0), "e2": (1.0, 0.0), "e3": (1.0, 1.0), "e4": (0.2, 0.6)}
"""example → (score of version a, score of version b) on validation."""


def scored_store(path: Path) -> Store:
    store = Store(path / "store.sqlite")
    for example, pair in SCORES.items():
        for spec, score in zip(("a", "b"), pair, strict=True):
            tape_id = forward_tape_id("run", spec, "val", example)
            store.save_tape(Tape(metadata=TapeMetadata(id=tape_id, title=f"question {example}", status="completed",
                                                       spec_id=spec),
                                 context={"run_id": "run", "example_id": example, "split": "val"},
                                 steps=(Task(text=f"question {example}"),)))
            store.set_score(tape_id, score)
    return store


def test_flips_list_fixed_then_broken_then_changed_with_both_tapes(tmp_path: Path) -> None:
    store = scored_store(tmp_path)
    found = compare_on_splits(store, "run", "a", "b", {"val": list(SCORES), "test": ["e1"]})
    assert found["test"] is None  # nothing was scored on test
    comparison = found["val"]
    assert comparison is not None
    moved = flips(store, "run", comparison)
    assert [(f.example_id, f.change, f.a_score, f.b_score) for f in moved] == [
        ("e1", "fixed", 0.0, 1.0), ("e2", "broken", 1.0, 0.0), ("e4", "changed", 0.2, 0.6)]
    assert moved[0].a_tape == forward_tape_id("run", "a", "val", "e1") != moved[0].b_tape
    assert moved[0].question == "question e1"
    unchanged = compare_on_splits(store, "run", "a", "a", {"val": list(SCORES)})["val"]
    assert unchanged is not None and flips(store, "run", unchanged) == []


def test_the_examples_compared_are_those_the_run_scored_not_a_fork_of_one(tmp_path: Path) -> None:
    store = scored_store(tmp_path)
    fork = Tape(metadata=TapeMetadata(title="a user's fork", status="completed", spec_id="a"),
                context={"run_id": "run", "example_id": "e9", "split": "val"}, steps=(Task(text="forked"),))
    store.save_tape(fork)
    store.set_score(fork.id, 1.0)
    assert scored_examples(store, "run", "a", "val") == sorted(SCORES)
    assert scored_examples(store, "run", "a", "test") == [] and scored_examples(store, "other", "a", "val") == []

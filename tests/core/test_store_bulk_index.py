"""Bulk writes (save_tapes, imports, sync_tape) index for search in blocks of steps (migration 9),
appends one document per step: either way each step's text is indexed once, under its tape and
index, and every search finds the same tapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tape_studio.core.search_index import BLOCK_STEPS, SEPARATOR
from tape_studio.core.store import Store, TapeFilter
from tape_studio.core.tape import Tape, TapeMetadata, Task, Thought, ToolCall, ToolResult

QUERIES = ["capital", "Paris", "pa", "é", "echo(", "input='x'", "nothing like it", '"quoted"', "step 7", "tape 2"]


def tapes() -> list[Tape]:
    made = []
    for n in range(4):
        steps = [Task(text=f"What is the capital of country {n}?")]
        for i in range(10):
            steps += [Thought(text=f"step {i} of tape {n}: café \"quoted\""),
                      ToolCall(tool="echo", arguments={"input": "x" if i % 2 else "Paris"}),
                      ToolResult(tool="echo", content=f"result {i * n}")]
        made.append(Tape(metadata=TapeMetadata(title=f"tape {n} about Pa"), steps=tuple(steps)))
    return made


def indexed(store: Store) -> list[tuple[str, int, str]]:
    """Every indexed text with the tape and step it stands for (a block's texts one by one)."""
    rows = store.query("SELECT d.tape_id, d.idx, d.last_idx, f.text FROM search_fts f JOIN search_docs d ON d.id = f.rowid")
    texts = []
    for tape_id, first, last, text in rows:
        pieces = text.split(SEPARATOR)
        assert len(pieces) == last - first + 1, (tape_id, first, last)
        texts += [(tape_id, first + n, piece) for n, piece in enumerate(pieces)]
    return sorted(texts)


def documents(store: Store) -> int:
    return int(store.query("SELECT COUNT(*) FROM search_fts")[0][0])


def found(store: Store) -> dict[str, list[str]]:
    return {q: sorted(s.id for s in store.list_tapes(TapeFilter(text=q))) for q in QUERIES}


def appended_one_by_one(path: Path, made: list[Tape]) -> Store:
    """The per-row path: each step goes in alone, with a document of its own."""
    store = Store(path)
    for tape in made:
        store.save_tape(tape.model_copy(update={"steps": ()}))
        for index, step in enumerate(tape.steps):
            store.append_step(tape.id, index, step)
    return store


@pytest.fixture
def made() -> list[Tape]:
    return tapes()


def test_a_bulk_save_indexes_exactly_what_the_triggers_index(tmp_path: Path, made: list[Tape]) -> None:
    bulk = Store(tmp_path / "bulk.sqlite")
    bulk.save_tapes(made)
    one_by_one = appended_one_by_one(tmp_path / "rows.sqlite", made)
    assert indexed(bulk) == indexed(one_by_one)
    assert len(indexed(bulk)) == sum(len(t.steps) + 1 for t in made)
    assert found(bulk) == found(one_by_one)
    assert found(bulk)["capital"] == sorted(t.id for t in made) and found(bulk)["nothing like it"] == []


def test_saving_a_longer_tape_again_indexes_only_its_new_steps(tmp_path: Path, made: list[Tape]) -> None:
    store = Store(tmp_path / "store.sqlite")
    tape = made[0]
    store.save_tape(tape.model_copy(update={"steps": tape.steps[:5]}))
    store.save_tape(tape)
    store.save_tape(tape)
    assert indexed(store) == indexed(appended_one_by_one(tmp_path / "rows.sqlite", [tape]))


def test_a_failed_bulk_save_leaves_no_documents_and_appends_are_indexed_after_it(tmp_path: Path, made: list[Tape]) -> None:
    store = Store(tmp_path / "store.sqlite")
    store.save_tapes(made[:1])
    before = indexed(store)
    broken = made[1].model_copy(update={"metadata": made[1].metadata.model_copy(update={"title": None})})
    with pytest.raises(Exception):
        store.save_tapes([made[2], broken])  # NOT NULL title: the whole transaction rolls back
    assert indexed(store) == before
    assert not store.has_tape(made[2].id)
    store.save_tape(made[3].model_copy(update={"steps": ()}))
    store.append_step(made[3].id, 0, Thought(text="a lonely appended step"))
    assert [s.id for s in store.list_tapes(TapeFilter(text="lonely appended"))] == [made[3].id]


def test_a_synced_tape_is_indexed_as_its_steps_change(tmp_path: Path, made: list[Tape]) -> None:
    store = Store(tmp_path / "store.sqlite")
    tape = made[0]
    store.sync_tape(tape.model_copy(update={"steps": tape.steps[:4]}))
    changed = tape.model_copy(update={"steps": tape.steps[:3] + (Thought(text="a revised span"),) + tape.steps[4:]})
    store.sync_tape(changed)
    assert indexed(store) == indexed(appended_one_by_one(tmp_path / "rows.sqlite", [changed]))


def test_an_imported_tapeagents_file_is_found_by_the_searches_a_step_by_step_save_finds(tmp_path: Path) -> None:
    import json

    from tape_studio.core.workspace import Workspace

    raw = [{"metadata": {"id": f"ta-{n}", "author": "agent"}, "context": None, "steps": [
        {"kind": "user", "content": f"What is the capital of country {n}?", "metadata": {"id": f"u{n}"}},
        {"kind": "reasoning_thought", "reasoning": f"step 7 of tape {n}: café \"quoted\"", "metadata": {}},
        {"kind": "search_action", "query": "Paris" if n % 2 else "input='x'", "metadata": {}},
        {"kind": "tool", "content": f"echo( result {n}", "metadata": {}},
    ]} for n in range(6)]
    path = tmp_path / "tapes.json"
    path.write_text(json.dumps(raw))
    imported = Workspace(tmp_path / "imported.sqlite").import_file(path)
    store = Store(tmp_path / "imported.sqlite")
    made = [store.load_tape(tape_id) for tape_id in imported.imported]
    one_by_one = appended_one_by_one(tmp_path / "rows.sqlite", made)
    assert indexed(store) == indexed(one_by_one)
    assert found(store) == found(one_by_one)
    assert found(store)["capital"] == sorted(imported.imported) and found(store)["Paris"] != []


def long_tape(n: int) -> Tape:
    return Tape(steps=(Task(text="count along"),) + tuple(Thought(text=f"number {i} end") for i in range(1, n)))


def test_a_long_bulk_save_indexes_blocks_of_steps_and_finds_each_step(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite")
    tape = long_tape(1000)
    store.save_tape(tape)
    assert documents(store) == 1 + -(-1000 // BLOCK_STEPS)  # the title, then blocks
    assert indexed(store) == indexed(appended_one_by_one(tmp_path / "rows.sqlite", [tape]))
    assert [s.id for s in store.list_tapes(TapeFilter(text="number 777 end"))] == [tape.id]
    # The snippet is cut from the one step's text, never from its neighbours in the block.
    assert store.search_snippets([tape.id], "number 777", around=3) == {tape.id: "number 777 en…"}
    assert store.search_snippets([tape.id], "777 end", around=3) == {tape.id: "…er 777 end"}


def test_a_search_never_matches_across_two_steps(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite")
    store.save_tape(Tape(steps=(Task(text="alpha"), Thought(text="beta"), Thought(text="one\x1etwo"))))
    assert store.list_tapes(TapeFilter(text="alphabeta")) == []
    assert store.list_tapes(TapeFilter(text="alpha beta")) == []
    assert store.list_tapes(TapeFilter(text="ha\x1ebe")) == []
    assert len(store.list_tapes(TapeFilter(text="one two"))) == 1  # the separator in a text reads as a space
    assert len(store.list_tapes(TapeFilter(text="one\x1etwo"))) == 1


def test_syncing_a_tape_cut_inside_a_block_indexes_the_rest_of_that_block_again(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite")
    tape = long_tape(200)
    store.sync_tape(tape)
    changed = tape.model_copy(update={"steps": tape.steps[:100] + (Thought(text="a revised span"),) + tape.steps[101:150]})
    store.sync_tape(changed)
    assert indexed(store) == indexed(appended_one_by_one(tmp_path / "rows.sqlite", [changed]))
    assert store.list_tapes(TapeFilter(text="number 100 end")) == []
    assert len(store.list_tapes(TapeFilter(text="number 99 end"))) == 1
    assert len(store.list_tapes(TapeFilter(text="number 101 end"))) == 1
    assert store.list_tapes(TapeFilter(text="number 150 end")) == []

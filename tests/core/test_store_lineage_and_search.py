"""Store: full-text search kept in sync by triggers (migration 2), deletion that keeps forks'
lineage valid, and the step look-ups the debugger jumps with."""

import sqlite3
from pathlib import Path

import pytest

from tape_studio.core import migrations
from tape_studio.core import store as store_module
from tape_studio.core.errors import NotFoundError
from tape_studio.core.migrations import MIGRATIONS
from tape_studio.core.store import Store, TapeFilter
from tape_studio.core.tape import (
    FinalAnswer,
    StepMetadata,
    Tape,
    TapeMetadata,
    Task,
    Thought,
    ToolCall,
    fork_tape,
)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store.sqlite")


def tape(title: str, *texts: str) -> Tape:
    steps = (Task(text=title),) + tuple(Thought(text=text, metadata=StepMetadata(node="plan")) for text in texts)
    return Tape(metadata=TapeMetadata(title=title, agent="qa"), steps=steps)


def found(store: Store, text: str) -> set[str]:
    return {row.title for row in store.list_tapes(TapeFilter(text=text))}


# --- search ---------------------------------------------------------------------------------


def test_search_finds_a_substring_of_any_step(store: Store) -> None:
    store.save_tapes([tape("capital", "Paris is the capital"), tape("poem", "rivers run")])
    assert found(store, "apita") == {"capital"}
    assert found(store, "RIVERS") == {"poem"}


def test_search_sees_steps_appended_after_saving(store: Store) -> None:
    saved = tape("capital")
    store.save_tape(saved)
    store.append_step(saved.id, 1, Thought(text="Look up Lyon"))
    assert found(store, "Lyon") == {"capital"}


def test_search_follows_a_changed_title(store: Store) -> None:
    saved = Tape(metadata=TapeMetadata(title="old title"), steps=(Task(text="the task"),))
    store.save_tape(saved)
    store.save_tape(saved.with_metadata(title="new heading"))
    assert found(store, "heading") == {"new heading"}
    assert found(store, "old title") == set()


def test_search_forgets_deleted_tapes(store: Store) -> None:
    doomed = tape("doomed", "unique words here")
    store.save_tape(doomed)
    store.delete_tape(doomed.id)
    assert found(store, "unique words") == set()
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT COUNT(*) FROM search_docs").fetchone()[0] == 0


def test_search_with_one_or_two_characters_still_matches_substrings(store: Store) -> None:
    store.save_tapes([tape("a", "x7 marks"), tape("b", "nothing")])
    assert found(store, "x7") == {"a"}


def test_search_treats_quotes_and_operators_as_text(store: Store) -> None:
    store.save_tapes([tape("q", 'he said "NEAR" AND left'), tape("r", "plain")])
    assert found(store, '"NEAR" AND') == {"q"}
    assert found(store, "50%") == set()


def test_search_is_answered_by_the_fts_index(store: Store) -> None:
    clause, params = store_module._filter_sql(TapeFilter(text="capital"))
    plan = store._connection().execute(f"EXPLAIN QUERY PLAN SELECT id FROM tapes {clause}", params).fetchall()
    assert any("VIRTUAL TABLE INDEX" in row[3] and ":M" in row[3] for row in plan)  # an FTS MATCH lookup


def test_upgrading_a_version_1_store_indexes_its_existing_tapes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.sqlite"
    with monkeypatch.context() as patch:
        patch.setattr(store_module, "MIGRATIONS", {1: MIGRATIONS[1]})
        old = Store(path)
        old.save_tape(tape("from before", "an old step"))
        assert old.schema_version() == 1
        old.close()
    upgraded = Store(path)
    assert upgraded.schema_version() == max(MIGRATIONS)
    assert found(upgraded, "old step") == {"from before"}
    assert found(upgraded, "from bef") == {"from before"}



def test_upgrading_a_version_8_store_keeps_its_one_step_documents_and_deletes_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.sqlite"
    with monkeypatch.context() as patch:
        patch.setattr(store_module, "MIGRATIONS", {k: v for k, v in MIGRATIONS.items() if k <= 8})
        old = Store(path)
        before = tape("from before", "an old step", "its neighbour")
        old.save_tape(before)
        old.close()
    upgraded = Store(path)
    assert upgraded.query("SELECT COUNT(*) FROM search_docs WHERE last_idx IS NOT idx")[0][0] == 0
    assert found(upgraded, "old step") == {"from before"} and found(upgraded, "stepits") == set()
    after = tape("after", *[f"new step {n}" for n in range(100)])
    upgraded.save_tape(after)
    assert found(upgraded, "new step 42") == {"after"}
    upgraded.delete_tapes([before.id, after.id])
    assert upgraded.query("SELECT COUNT(*) FROM search_fts")[0][0] == 0

def test_migration_scripts_split_around_trigger_bodies() -> None:
    statements = migrations.statements(MIGRATIONS[2])
    triggers = [s for s in statements if s.startswith("CREATE TRIGGER")]
    assert len(triggers) == 4 and all(s.endswith("END;") for s in triggers)


# --- deletion keeps lineage valid ------------------------------------------------------------


@pytest.fixture
def family(store: Store) -> dict[str, Tape]:
    """root ← child (fork at 3) ← grandchild (fork at 4); root ← sibling (fork at 1)."""
    root = tape("root", "one", "two", "three", "four")
    child = fork_tape(root, 3, [Thought(text="edited")])
    grandchild = fork_tape(child, 4, [FinalAnswer(text="done")])
    sibling = fork_tape(root, 1, [Thought(text="other way")])
    store.save_tapes([root, child, grandchild, sibling])
    return {"root": root, "child": child, "grandchild": grandchild, "sibling": sibling}


def lineage(store: Store, tape_id: str) -> tuple[str | None, int | None, str | None]:
    meta = store.load_tape(tape_id).metadata
    summary = store.summary(tape_id)
    assert (summary.parent_id, summary.fork_step, summary.root_id) == (meta.parent_id, meta.fork_step, meta.root_id)
    return meta.parent_id, meta.fork_step, meta.root_id


def test_deleting_a_middle_tape_points_its_forks_at_its_parent(store: Store, family: dict[str, Tape]) -> None:
    root, child, grandchild = family["root"], family["child"], family["grandchild"]
    store.delete_tape(child.id)
    # The grandchild shared 4 steps with the child, which shared only 3 with the root.
    assert lineage(store, grandchild.id) == (root.id, 3, root.id)
    assert store.load_tape(grandchild.id).steps == grandchild.steps
    assert {s.id for s in store.children(root.id)} == {family["sibling"].id, grandchild.id}


def test_deleting_a_root_makes_each_fork_the_root_of_its_own_family(store: Store, family: dict[str, Tape]) -> None:
    child, grandchild, sibling = family["child"], family["grandchild"], family["sibling"]
    store.delete_tape(family["root"].id)
    assert lineage(store, child.id) == (None, None, None)
    assert lineage(store, sibling.id) == (None, None, None)
    assert lineage(store, grandchild.id) == (child.id, 4, child.id)
    assert {s.id for s in store.family(grandchild.id)} == {child.id, grandchild.id}


def test_deleting_several_tapes_is_one_transaction(store: Store, family: dict[str, Tape]) -> None:
    with pytest.raises(NotFoundError):
        store.delete_tapes([family["sibling"].id, "missing"])
    assert store.has_tape(family["sibling"].id)
    store.delete_tapes([family["child"].id, family["root"].id])
    assert lineage(store, family["grandchild"].id) == (None, None, None)
    assert store.count_tapes() == 2


def test_deleting_a_tape_removes_its_annotations(store: Store, family: dict[str, Tape]) -> None:
    store.add_annotation(family["sibling"].id, 0, "me", "note")
    store.delete_tape(family["sibling"].id)
    assert store.annotations(family["sibling"].id) == []


# --- jumping to a node -----------------------------------------------------------------------


def test_step_nodes_and_first_node_index(store: Store) -> None:
    steps = (Task(text="t"), Thought(text="a", metadata=StepMetadata(node="plan")),
             ToolCall(tool="lookup", metadata=StepMetadata(node="plan")),
             FinalAnswer(text="x", metadata=StepMetadata(node="answer")))
    saved = Tape(steps=steps)
    store.save_tape(saved)
    assert store.step_nodes(saved.id) == ["answer", "plan"]
    assert store.first_node_index(saved.id, "plan") == 1
    assert store.first_node_index(saved.id, "plan", start=2) == 2
    assert store.first_node_index(saved.id, "plan", start=3) is None

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tape_studio.core.errors import NotFoundError
from tape_studio.core.llm import LLMCall
from tape_studio.core.migrations import MIGRATIONS
from tape_studio.core.spec import AgentSpec, NodeSpec
from tape_studio.core.store import Store, TapeFilter
from tape_studio.core.tape import (
    FinalAnswer,
    StepMetadata,
    Tape,
    TapeMetadata,
    Task,
    Thought,
    ToolCall,
    ToolResult,
    fork_tape,
)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store.sqlite")


def call(prompt_id: str, prompt_tokens: int = 10, completion_tokens: int = 5, cost: float = 0.25) -> LLMCall:
    return LLMCall(prompt_id=prompt_id, model="fake/qa", messages=[{"role": "user", "content": "q"}], output="o",
                   prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, cost=cost)


def from_call(step_cls: type, prompt_id: str, **fields: object):  # type: ignore[no-untyped-def]
    return step_cls(metadata=StepMetadata(prompt_id=prompt_id, node="act", agent="qa"), **fields)


def make_tape(title: str = "capital", agent: str = "qa", task: str = "capital of France?", **meta: object) -> Tape:
    metadata = TapeMetadata(title=title, agent=agent, **meta)  # type: ignore[arg-type]
    return Tape(metadata=metadata, steps=(Task(text=task),))


def qa_tape() -> Tape:
    return make_tape().append(
        from_call(Thought, "p1", text="Look it up."),
        from_call(ToolCall, "p1", tool="lookup", arguments={"query": "France"}),
        ToolResult(tool="lookup", content="France: capital Paris."),
        from_call(FinalAnswer, "p2", text="Paris"),
    )


def ids(summaries: list) -> list[str]:  # type: ignore[type-arg]
    return [summary.id for summary in summaries]


# --- schema -------------------------------------------------------------------------------


def test_fresh_store_records_the_latest_schema_version(store: Store) -> None:
    assert store.schema_version() == max(MIGRATIONS)


def test_reopening_a_store_does_not_rerun_migrations(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    Store(path).close()
    with sqlite3.connect(path) as conn:
        before = conn.execute("SELECT version, applied_at FROM schema_migrations").fetchall()
    Store(path).close()
    with sqlite3.connect(path) as conn:
        after = conn.execute("SELECT version, applied_at FROM schema_migrations").fetchall()
    assert after == before
    assert [version for version, _ in after] == sorted(MIGRATIONS)


# --- tapes --------------------------------------------------------------------------------


def test_save_then_load_gives_the_same_tape(store: Store) -> None:
    tape = qa_tape().with_metadata(status="failed", error="tool crashed", result={"answer": "Paris"}, tags=("geo",))
    store.save_tape(tape, [call("p1"), call("p2")])
    assert store.load_tape(tape.id) == tape


def test_load_keeps_context(store: Store) -> None:
    tape = qa_tape().model_copy(update={"context": {"dataset": "demo", "row": 3}})
    store.save_tape(tape)
    assert store.load_tape(tape.id).context == {"dataset": "demo", "row": 3}


def test_loading_an_unknown_tape_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="'nope'"):
        store.load_tape("nope")


def test_saving_a_tape_twice_stores_its_steps_once(store: Store) -> None:
    tape = qa_tape()
    store.save_tape(tape)
    store.save_tape(tape)
    assert len(store.load_steps(tape.id)) == len(tape.steps)
    assert store.summary(tape.id).n_steps == len(tape.steps)


def test_saving_a_longer_version_adds_only_the_new_steps(store: Store) -> None:
    tape = make_tape()
    store.save_tape(tape)
    longer = tape.append(Thought(text="more"))
    store.save_tape(longer)
    assert store.load_tape(tape.id).steps == longer.steps


def test_set_status_is_loaded_back(store: Store) -> None:
    tape = qa_tape()
    store.save_tape(tape)
    store.set_status(tape.id, "completed", result="Paris")
    meta = store.load_tape(tape.id).metadata
    assert (meta.status, meta.error, meta.result) == ("completed", "", "Paris")


def test_set_status_of_an_unknown_tape_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.set_status("nope", "completed")


def test_save_counts_each_linked_call_once(store: Store) -> None:
    tape = qa_tape()
    store.save_tape(tape, [call("p1"), call("p2", prompt_tokens=7, completion_tokens=3, cost=0.5)])
    summary = store.summary(tape.id)
    assert (summary.n_llm_calls, summary.prompt_tokens, summary.completion_tokens) == (2, 17, 8)
    assert summary.cost == pytest.approx(0.75)


# --- appending ----------------------------------------------------------------------------


def test_appended_step_survives_reopening_the_store(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    first = Store(path)
    tape = make_tape()
    first.save_tape(tape)
    step = Thought(text="durable")
    first.append_step(tape.id, 1, step)
    first.close()
    assert Store(path).load_tape(tape.id).steps == (*tape.steps, step)


def test_append_step_updates_n_steps(store: Store) -> None:
    tape = make_tape()
    store.save_tape(tape)
    store.append_step(tape.id, 1, Thought(text="a"))
    store.append_step(tape.id, 2, Thought(text="b"))
    assert store.summary(tape.id).n_steps == 3


def test_append_step_counts_a_call_shared_by_two_steps_once(store: Store) -> None:
    tape = make_tape()
    store.save_tape(tape)
    shared = call("p1", prompt_tokens=10, completion_tokens=5, cost=0.25)
    store.append_step(tape.id, 1, from_call(Thought, "p1", text="think"), shared)
    store.append_step(tape.id, 2, from_call(ToolCall, "p1", tool="lookup", arguments={"query": "x"}), shared)
    summary = store.summary(tape.id)
    assert (summary.n_llm_calls, summary.prompt_tokens, summary.completion_tokens) == (1, 10, 5)
    assert summary.cost == pytest.approx(0.25)


def test_append_step_stores_the_call(store: Store) -> None:
    tape = make_tape()
    store.save_tape(tape)
    made = call("p1")
    store.append_step(tape.id, 1, from_call(Thought, "p1", text="think"), made)
    assert store.load_llm_call("p1") == made


def test_append_step_totals_agree_with_a_resave_when_the_call_was_stored_before(store: Store) -> None:
    shared = call("p1")
    other, tape = make_tape(title="other"), make_tape()
    store.save_tape(other.append(from_call(Thought, "p1", text="a")), [shared])
    store.save_tape(tape)
    store.append_step(tape.id, 1, from_call(Thought, "p1", text="a"), shared)
    assert store.summary(tape.id).n_llm_calls == 1


def test_concurrent_appends_from_two_stores_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    tapes = [make_tape(title=f"t{n}") for n in range(2)]
    Store(path).save_tapes(tapes)
    errors: list[BaseException] = []

    def append_many(tape: Tape) -> None:
        worker = Store(path)
        try:
            for index in range(1, 201):
                worker.append_step(tape.id, index, Thought(text=f"{tape.metadata.title}-{index}"))
        except BaseException as exc:  # surfaced by the assert below
            errors.append(exc)
        finally:
            worker.close()

    threads = [threading.Thread(target=append_many, args=(tape,)) for tape in tapes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reader = Store(path)
    assert errors == []
    for tape in tapes:
        steps = reader.load_steps(tape.id)
        assert [step.summary() for step in steps[1:]] == [f"{tape.metadata.title}-{i}" for i in range(1, 201)]
        assert reader.summary(tape.id).n_steps == 201


# --- reading ------------------------------------------------------------------------------


def test_load_steps_returns_the_requested_window(store: Store) -> None:
    tape = qa_tape()
    store.save_tape(tape)
    assert store.load_steps(tape.id, 1, 3) == list(tape.steps[1:3])


def test_load_steps_from_start_to_the_end(store: Store) -> None:
    tape = qa_tape()
    store.save_tape(tape)
    assert store.load_steps(tape.id, 3) == list(tape.steps[3:])


def test_calls_for_tape_returns_the_linked_calls_only(store: Store) -> None:
    tape = qa_tape()
    store.save_tape(tape, [call("p1"), call("p2")])
    store.save_llm_call(call("unrelated"))
    assert sorted(c.prompt_id for c in store.calls_for_tape(tape.id)) == ["p1", "p2"]


# --- listing ------------------------------------------------------------------------------


@pytest.fixture
def listed(store: Store) -> dict[str, Tape]:
    tapes = {
        "paris": make_tape(title="capital", task="capital of France?",
                           created_at=datetime(2024, 1, 1, tzinfo=UTC)),
        "failed": make_tape(title="sum", task="2+2", agent="calc", status="failed",
                            created_at=datetime(2024, 2, 1, tzinfo=UTC)),
        "erred": make_tape(title="poem", task="a haiku", agent="writer", status="completed", error="too long",
                           created_at=datetime(2024, 3, 1, tzinfo=UTC)),
        "done": make_tape(title="mile", task="km in a mile", status="completed",
                          created_at=datetime(2024, 4, 1, tzinfo=UTC)),
    }
    store.save_tapes(tapes.values())
    for name, score in (("paris", 0.2), ("failed", 0.5), ("done", 0.9)):
        store.set_score(tapes[name].id, score)
    return tapes


def listed_ids(store: Store, tapes: dict[str, Tape], **where: object) -> set[str]:
    by_id = {tape.id: name for name, tape in tapes.items()}
    return {by_id[summary.id] for summary in store.list_tapes(TapeFilter(**where))}  # type: ignore[arg-type]


def test_list_tapes_newest_first(store: Store, listed: dict[str, Tape]) -> None:
    assert ids(store.list_tapes()) == [listed[n].id for n in ("done", "erred", "failed", "paris")]


def test_list_filters_by_title_text(store: Store, listed: dict[str, Tape]) -> None:
    assert listed_ids(store, listed, text="poe") == {"erred"}


def test_list_filters_by_step_summary_text(store: Store, listed: dict[str, Tape]) -> None:
    assert listed_ids(store, listed, text="France") == {"paris"}


def test_list_filters_by_agent(store: Store, listed: dict[str, Tape]) -> None:
    assert listed_ids(store, listed, agent="qa") == {"paris", "done"}


def test_list_filters_by_status(store: Store, listed: dict[str, Tape]) -> None:
    assert listed_ids(store, listed, status="completed") == {"erred", "done"}


def test_has_error_selects_failed_tapes_and_tapes_with_an_error(store: Store, listed: dict[str, Tape]) -> None:
    assert listed_ids(store, listed, has_error=True) == {"failed", "erred"}


def test_has_error_false_selects_the_clean_tapes(store: Store, listed: dict[str, Tape]) -> None:
    assert listed_ids(store, listed, has_error=False) == {"paris", "done"}


def test_list_filters_by_score_range(store: Store, listed: dict[str, Tape]) -> None:
    assert listed_ids(store, listed, min_score=0.3, max_score=0.9) == {"failed", "done"}


def test_list_filters_by_creation_time(store: Store, listed: dict[str, Tape]) -> None:
    assert listed_ids(store, listed, created_after=datetime(2024, 2, 15, tzinfo=UTC)) == {"erred", "done"}


def test_list_pages_with_limit_and_offset(store: Store, listed: dict[str, Tape]) -> None:
    page = store.list_tapes(TapeFilter(limit=2, offset=1))
    assert ids(page) == [listed["erred"].id, listed["failed"].id]


def test_count_tapes_counts_every_match_regardless_of_paging(store: Store, listed: dict[str, Tape]) -> None:
    assert store.count_tapes(TapeFilter(agent="qa", limit=1)) == 2


# --- lineage ------------------------------------------------------------------------------


@pytest.fixture
def lineage(store: Store) -> tuple[Tape, Tape, Tape]:
    root = qa_tape().with_metadata(created_at=datetime(2030, 1, 1, tzinfo=UTC))  # newer than its forks
    child = fork_tape(root, 2, [Thought(text="edited")])
    grandchild = fork_tape(child, 3, [FinalAnswer(text="Lyon")])
    store.save_tapes([grandchild, root, child])
    return root, child, grandchild


def test_children_are_the_direct_forks(store: Store, lineage: tuple[Tape, Tape, Tape]) -> None:
    root, child, _ = lineage
    assert ids(store.children(root.id)) == [child.id]


def test_family_lists_the_root_first_then_every_fork(store: Store, lineage: tuple[Tape, Tape, Tape]) -> None:
    root, child, grandchild = lineage
    family = ids(store.family(grandchild.id))
    assert family[0] == root.id
    assert set(family) == {root.id, child.id, grandchild.id}


def test_deleting_a_parent_keeps_its_forks_loadable(store: Store, lineage: tuple[Tape, Tape, Tape]) -> None:
    root, child, _ = lineage
    store.delete_tape(root.id)
    assert store.load_tape(child.id).steps == child.steps
    assert not store.has_tape(root.id)


# --- specs and annotations ----------------------------------------------------------------


def spec(parent_id: str | None = None) -> AgentSpec:
    return AgentSpec(name="qa", nodes=(NodeSpec(name="answer", type="answer"),), entry="answer", parent_id=parent_id)


def test_spec_save_then_load_keeps_its_id(store: Store) -> None:
    store.save_spec(spec())
    assert store.load_spec(spec().id) == spec()


def test_saving_a_spec_id_again_keeps_the_first_record(store: Store) -> None:
    store.save_spec(spec())
    store.save_spec(spec(parent_id="qa-elsewhere"))  # same content, so the same id
    assert store.load_spec(spec().id).parent_id is None
    assert len(store.list_specs("qa")) == 1


def test_annotations_are_listed_in_step_order(store: Store) -> None:
    tape = qa_tape()
    store.save_tape(tape)
    store.add_annotation(tape.id, 3, "bob", "wrong tool")
    store.add_annotation(tape.id, 1, "alice", "good thought")
    assert [(a.step_index, a.author, a.text) for a in store.annotations(tape.id)] == [
        (1, "alice", "good thought"), (3, "bob", "wrong tool")]


def test_annotating_an_unknown_tape_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.add_annotation("nope", None, "alice", "hello")

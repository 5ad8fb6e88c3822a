"""Training runs as files: export/import round trip, and the recorded demo run in demo_tapes/training/."""

from __future__ import annotations

from pathlib import Path

from learning_helpers import MakeWorkspace

from tape_studio.core.catalog import agent_spec, build_agent, build_environment
from tape_studio.core.cache import LLMCache
from tape_studio.core.demo import load_demo_tapes, training_files
from tape_studio.core.learning import records as rec
from tape_studio.core.learning.bundle import export_run, import_run, read_run_bundle, run_tape_ids
from tape_studio.core.learning.train_config import TrainConfig
from tape_studio.core.learning.trainer import Trainer
from tape_studio.core.llm import LLM, record_calls
from tape_studio.core.loop import RunEnded, run_to_end
from tape_studio.core.store import Store
from tape_studio.core.tape import Tape, TapeMetadata
from tape_studio.core.workspace import Workspace


def test_a_run_survives_export_and_import(make_ws: MakeWorkspace, tmp_path: Path) -> None:
    ws = make_ws()
    trainer = Trainer(ws)
    run = trainer.run(trainer.start(TrainConfig(agent="qa", dataset="qa-mini", epochs=1, batch_size=4)).id)
    path = tmp_path / "run.json"
    count = export_run(ws.store, run.id, path)
    other = Store(tmp_path / "other.sqlite")
    assert import_run(other, read_run_bundle(path), path) == [run.id]
    assert rec.load_rows(other, run.id) == rec.load_rows(ws.store, run.id)
    assert rec.load_run(other, run.id).summary == run.summary
    assert other.load_spec(run.best_spec_id) == ws.store.load_spec(run.best_spec_id)
    assert other.count_tapes() == count
    scored = {t.id: t.score for t in ws.store.list_tapes() if t.score is not None}
    assert scored and {i: other.summary(i).score for i in scored} == scored  # any two versions compare after import
    assert import_run(other, read_run_bundle(path), path) == []  # a second import changes nothing


def test_the_demo_run_loads_on_a_fresh_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite")
    load_demo_tapes(store)
    runs = rec.list_runs(store)
    assert len(runs) == len(training_files()) == 1
    run = runs[0]
    assert run.status == "completed" and run.spec_id == agent_spec("qa").id, "re-record: scripts/make_demo_training.py"
    rows = rec.load_rows(store, run.id)
    kinds = {s.kind for row in rows if row.tape_id for s in store.load_tape(row.tape_id).steps}
    assert {"loss", "gradient", "aggregated_gradient", "proposal", "gate_result", "decision"} <= kinds


def test_the_demo_runs_forward_tapes_replay_from_their_recorded_calls(tmp_path: Path) -> None:
    bundle = read_run_bundle(training_files()[0])
    cache = LLMCache(tmp_path / "cache")
    record_calls(cache, bundle.llm_calls)
    recorded = next(t for t in bundle.tapes if t.metadata.agent == "qa" and t.metadata.spec_id == agent_spec("qa").id
                    and t.metadata.status == "completed")
    agent = build_agent(agent_spec("qa"), LLM(model="local/smollm2", mode="replay", cache=cache))
    replayed = run_to_end(agent, build_environment(agent), Tape(metadata=TapeMetadata(agent="qa"),
                                                                steps=recorded.steps[:1])).tape
    assert [s.body() for s in replayed.steps] == [s.body() for s in recorded.steps]


def test_rerunning_a_demo_training_tape_is_answered_from_the_cache(tmp_path: Path) -> None:
    # Replay mode: a call the cache cannot answer is an error, so a completed rerun made no model call.
    ws = Workspace(tmp_path / "store.sqlite", model="local/smollm2", mode="replay")
    load_demo_tapes(ws.store, ws.cache)
    run = rec.list_runs(ws.store)[0]
    tapes = [t for t in (ws.store.load_tape(i) for i in run_tape_ids(ws.store, run.id))
             if t.metadata.agent == "qa" and t.metadata.status == "completed"]
    learned = next((t for t in tapes if t.metadata.spec_id == run.best_spec_id), tapes[0])
    fork = ws.fork(learned.id, 1)
    ended = [e for e in ws.resume(fork.id) if isinstance(e, RunEnded)][-1]
    assert ended.tape.metadata.status == "completed", ended.tape.metadata.error
    assert ended.new_llm_calls == 0
    assert [s.body() for s in ended.tape.steps] == [s.body() for s in learned.steps]

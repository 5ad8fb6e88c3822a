"""Evaluation and training on a local Ray instance give the same scores and tapes as on threads."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tape_studio.core.executor import ExecutorChoice
from tape_studio.core.learning import records as rec
from tape_studio.core.learning.fake_roles import register_learning_fake
from tape_studio.core.learning.report import EvalReport, evaluate_agent
from tape_studio.core.learning.train_config import TrainConfig
from tape_studio.core.learning.trainer import Trainer
from tape_studio.core.workspace import Workspace

ray = pytest.importorskip("ray", reason="the Ray executor is optional: pip install 'tape-studio[ray]'")

FAKE = "reliability-ray"
# Ray tasks run in fresh processes, which must register the fake there too.
SETUP = functools.partial(register_learning_fake, FAKE)
CONFIG = TrainConfig(agent="qa", dataset="qa-mini", epochs=1, batch_size=3, workers=2)


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    """One local instance for the module: its worker processes (and their imports) are reused."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield
    ray.shutdown()


def workspace(folder: Path) -> Workspace:
    return Workspace(folder / "store.sqlite", model=register_learning_fake(FAKE), mode="live")


def choice(kind: str) -> ExecutorChoice:
    return ExecutorChoice(kind=kind, setup=SETUP)  # type: ignore[arg-type]


def evaluate_on(kind: str, folder: Path) -> tuple[EvalReport, Workspace]:
    ws = workspace(folder)
    report = evaluate_agent(ws, "qa", "qa", split="val", workers=2, executor=choice(kind), run_id="eval-same")
    return report, ws


def contents(ws: Workspace, tape_id: str) -> list[dict[str, object]]:
    """A tape's steps without what differs by construction (fresh ids and clocks)."""
    steps = [step.model_dump(mode="json") for step in ws.store.load_tape(tape_id).steps]
    for step in steps:
        step["metadata"] = {k: v for k, v in step["metadata"].items()  # type: ignore[union-attr]
                            if k not in ("id", "created_at", "prompt_id")}
    return steps


def test_an_evaluation_on_ray_matches_threads_score_for_score_and_step_for_step(tmp_path: Path) -> None:
    on_threads, ws_threads = evaluate_on("threads", tmp_path / "threads")
    on_ray, ws_ray = evaluate_on("ray", tmp_path / "ray")
    assert on_ray.score == on_threads.score and on_ray.examples == on_threads.examples
    assert on_ray.usage == on_threads.usage and on_ray.usage.new_calls > 0
    for example in on_threads.examples:
        assert contents(ws_ray, example.tape_id) == contents(ws_threads, example.tape_id)
        # The driver wrote the tape and the calls behind it, as the Ray task returned them.
        assert ws_ray.store.calls_for_tape(example.tape_id)


def test_training_with_forward_passes_on_ray_matches_threads(tmp_path: Path) -> None:
    runs = {}
    for kind in ("threads", "ray"):
        ws = workspace(tmp_path / kind)
        trainer = Trainer(ws, executor=choice(kind))
        run = trainer.run(trainer.start(CONFIG).id)
        rows = [(r.kind, r.epoch, r.step, r.spec_id, r.train_score, r.val_score, r.decision)
                for r in rec.load_rows(ws.store, run.id)]
        runs[kind] = (run.status, run.best_spec_id, rows, run.summary and run.summary.get("best_val"))
    assert runs["ray"] == runs["threads"] and runs["ray"][0] == "completed"

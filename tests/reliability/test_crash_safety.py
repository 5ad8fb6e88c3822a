"""SIGKILL a session and a training run at seeded random moments, again while they resume, then resume
to the end: everything committed before each kill is still there, byte for byte, nothing is half
written, and the work completes. Each launch takes seconds to import litellm, so two chains run at once."""

from __future__ import annotations

import random
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from crash_runner import CONFIG, QUESTIONS, workspace
from reliability_helpers import Snapshot, check_store, runner

from tape_studio.core.learning import records as rec
from tape_studio.core.learning.trainer import Trainer

KILLS_PER_CHAIN = 2
SEEDS = (1, 2)


@dataclass
class Chain:
    """One store killed again and again: how many kills landed mid-work, and the last snapshot."""

    kills: int = 0
    landed: int = 0
    snapshot: Snapshot | None = None
    run_id: str = ""


def kill_at_random(args: list[str], home: Path, rng: random.Random, chain: Chain, store: Path) -> None:
    process = runner(*args, home=home)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready", process.stderr.read() if process.stderr else ""
    if args[0] == "train" and len(args) == 2:
        chain.run_id = process.stdout.readline().strip()
    time.sleep(rng.uniform(0.05, 1.2))
    chain.kills += 1
    chain.landed += process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    after = check_store(store)
    if chain.snapshot is not None:
        assert_kept(chain.snapshot, after)
    chain.snapshot = after


def assert_kept(before: Snapshot, after: Snapshot) -> None:
    """Nothing committed is lost or rewritten."""
    assert {key: after.steps.get(key) for key in before.steps} == before.steps
    assert {key: after.training_rows.get(key) for key in before.training_rows} == before.training_rows


def session_chain(folder: Path, seed: int) -> Chain:
    rng, chain, store = random.Random(seed), Chain(), folder / "store.sqlite"
    kill_at_random(["run", str(store), str(len(QUESTIONS))], folder, rng, chain, store)
    for _ in range(KILLS_PER_CHAIN - 1):
        kill_at_random(["resume", str(store)], folder, rng, chain, store)
    return chain


def training_chain(folder: Path, seed: int) -> Chain:
    rng, chain, store = random.Random(seed), Chain(), folder / "store.sqlite"
    kill_at_random(["train", str(store)], folder, rng, chain, store)
    assert chain.run_id, "the runner was killed before it recorded its run"
    for _ in range(KILLS_PER_CHAIN - 1):
        kill_at_random(["train", str(store), chain.run_id], folder, rng, chain, store)
    return chain


def chains(tmp_path: Path, make: object) -> list[tuple[Path, Chain]]:
    folders = [tmp_path / f"seed{seed}" for seed in SEEDS]
    with ThreadPoolExecutor(max_workers=len(SEEDS)) as pool:
        done = list(pool.map(make, folders, SEEDS))  # type: ignore[arg-type]
    return list(zip(folders, done))


def test_killed_sessions_keep_every_committed_step_and_resume_to_completion(
    tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    results = chains(tmp_path, session_chain)
    for folder, chain in results:
        assert chain.landed >= 1, "no kill landed mid-run: the fake is too fast for the kill window"
        ws = workspace(str(folder / "store.sqlite"))
        for tape in ws.store.list_tapes():
            for _ in ws.resume(tape.id):
                pass
        final = check_store(folder / "store.sqlite")
        assert chain.snapshot is not None
        assert_kept(chain.snapshot, final)
        assert final.status and set(final.status.values()) == {"completed"}
    kills = sum(chain.kills for _, chain in results)
    record_property("kill_points", kills)
    print(f"session kill points: {kills} tried, {sum(c.landed for _, c in results)} landed mid-run")


def test_killed_training_keeps_every_committed_record_and_resumes_to_the_same_result(
    tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    reference_ws = workspace(str(tmp_path / "reference" / "store.sqlite"))
    reference_trainer = Trainer(reference_ws)
    reference = reference_trainer.run(reference_trainer.start(CONFIG).id)
    results = chains(tmp_path, training_chain)
    for folder, chain in results:
        assert chain.landed >= 1, "no kill landed mid-run: the fake is too fast for the kill window"
        ws = workspace(str(folder / "store.sqlite"))
        resumed = Trainer(ws).run(chain.run_id)
        final = check_store(folder / "store.sqlite")
        assert chain.snapshot is not None
        assert_kept(chain.snapshot, final)
        assert resumed.status == "completed"
        assert resumed.best_spec_id == reference.best_spec_id
        assert [row.train_score for row in rec.load_rows(ws.store, chain.run_id)] == \
            [row.train_score for row in rec.load_rows(reference_ws.store, reference.id)]
    kills = sum(chain.kills for _, chain in results)
    record_property("kill_points", kills)
    print(f"training kill points: {kills} tried, {sum(c.landed for _, c in results)} landed mid-run")

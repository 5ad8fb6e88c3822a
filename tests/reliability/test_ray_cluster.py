"""Evaluation and training on a real multi-node Ray cluster (several raylets on this machine, the
driver's node taking no tasks): tasks write nothing, the driver commits what they return, a worker
node killed mid-evaluation has its tasks rerun elsewhere without a duplicate tape, and a driver
killed mid-training is resumed to the same result as an uninterrupted run."""

from __future__ import annotations

import functools
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray_helpers
from reliability_helpers import check_store, runner

from tape_studio.core.executor import ExecutorChoice
from tape_studio.core.learning import records as rec
from tape_studio.core.learning.fake_roles import register_learning_fake
from tape_studio.core.learning.report import EvalReport, evaluate_agent
from tape_studio.core.learning.train_config import TrainConfig
from tape_studio.core.learning.trainer import Trainer
from tape_studio.core.workspace import Workspace

ray = pytest.importorskip("ray", reason="the Ray executor is optional: pip install 'tape-studio[ray]'")
from ray.cluster_utils import Cluster  # noqa: E402

FAKE = "ray-cluster"
FAST_FAILURE_DETECTION = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 500,
                          "health_check_failure_threshold": 2}
NODE = {"object_store_memory": 80 * 2**20}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A head node for the driver (no CPUs: no task runs beside the data folder) and two worker nodes."""
    ray.cloudpickle.register_pickle_by_value(ray_helpers)
    head = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "include_dashboard": False, "_system_config": FAST_FAILURE_DETECTION, **NODE})
    for _ in range(2):
        head.add_node(num_cpus=1, wait=False, **NODE)
    head.wait_for_nodes()
    ray.init(address=head.address, logging_level="ERROR", log_to_driver=False)
    yield head
    ray.shutdown()
    head.shutdown()


def on_cluster(cluster: Cluster, setup: functools.partial[None] | None = None) -> ExecutorChoice:
    return ExecutorChoice(kind="ray", address=cluster.address, setup=setup or functools.partial(register_learning_fake, FAKE))


def evaluation(folder: Path, executor: ExecutorChoice | None, mode: str = "live", run_id: str = "eval",
               workers: int = 2) -> tuple[EvalReport, Workspace]:
    ws = Workspace(folder / "store.sqlite", model=register_learning_fake(FAKE), mode=mode)  # type: ignore[arg-type]
    return evaluate_agent(ws, "qa", "qa", split="val", workers=workers, executor=executor, run_id=run_id), ws


def steps_of(ws: Workspace, tape_id: str) -> list[dict[str, object]]:
    steps = [step.model_dump(mode="json") for step in ws.store.load_tape(tape_id).steps]
    for step in steps:
        step["metadata"] = {k: v for k, v in step["metadata"].items() if k not in ("id", "created_at", "prompt_id")}  # type: ignore[union-attr]
    return steps


def test_tasks_on_other_nodes_return_what_the_driver_commits(cluster: Cluster, tmp_path: Path) -> None:
    on_threads, ws_threads = evaluation(tmp_path / "threads", None)
    reports = tmp_path / "open-files"
    reports.mkdir()
    watch = functools.partial(ray_helpers.report_open_files_then_register, str(tmp_path / "ray"), str(reports), FAKE)
    on_ray, ws_ray = evaluation(tmp_path / "ray", on_cluster(cluster, watch), mode="cached")
    assert [p.read_text() for p in reports.iterdir()] == [], "a task opened the data folder"
    assert on_ray.examples == on_threads.examples and on_ray.usage.new_calls == on_threads.usage.new_calls > 0
    for example in on_ray.examples:
        assert steps_of(ws_ray, example.tape_id) == steps_of(ws_threads, example.tape_id)
        assert ws_ray.store.calls_for_tape(example.tape_id)  # each step's call came back with it
    check_store(tmp_path / "ray" / "store.sqlite")
    # The tasks' answers reached the driver's cache: another evaluation is answered by it (through
    # the cache reader on the driver's node), with no new call.
    again, _ = evaluation(tmp_path / "ray", on_cluster(cluster), mode="cached", run_id="eval-again")
    assert again.score == on_ray.score and again.usage.new_calls == 0 and again.usage.calls > 0


def test_a_worker_node_killed_mid_evaluation_has_its_tasks_rerun_without_duplicates(
    cluster: Cluster, tmp_path: Path
) -> None:
    doomed = cluster.add_node(num_cpus=1, **NODE)
    markers = tmp_path / "markers"
    markers.mkdir()
    setup = functools.partial(ray_helpers.mark_then_register, str(markers), FAKE, 0.5)
    outcome: dict[str, object] = {}

    def evaluate() -> None:
        try:
            # Three tasks in flight on three one-CPU nodes: one of them runs on the doomed node.
            outcome["report"] = evaluation(tmp_path / "ray", on_cluster(cluster, setup), workers=3)[0]
        except BaseException as exc:  # noqa: BLE001 -- reported by the assertion below
            outcome["error"] = exc

    worker = threading.Thread(target=evaluate)
    worker.start()
    deadline = time.monotonic() + 120
    while not any(marker.name.startswith(doomed.node_id) for marker in markers.iterdir()):
        assert worker.is_alive() and time.monotonic() < deadline, outcome
        time.sleep(0.05)
    cluster.remove_node(doomed)  # mid-task: its raylet and workers die at once
    worker.join(timeout=180)
    assert "error" not in outcome, outcome.get("error")
    report = outcome["report"]
    assert isinstance(report, EvalReport)
    reference, _ = evaluation(tmp_path / "threads", None)
    assert report.examples == reference.examples  # every example scored, each once, as on threads
    snapshot = check_store(tmp_path / "ray" / "store.sqlite")
    assert len(snapshot.status) == len(report.examples) and set(snapshot.status.values()) == {"completed"}


def committed_rows(store: Path) -> int:
    if not store.exists():
        return 0
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=30)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM training_steps").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # not made yet
    finally:
        conn.close()


def test_a_driver_killed_mid_training_resumes_to_the_uninterrupted_result(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store.sqlite"
    monkeypatch.setenv("CRASH_RUNNER_LATENCY_S", "0.05")
    driver = runner("train-ray", str(store), cluster.address, home=tmp_path)
    assert driver.stdout is not None and driver.stdout.readline().strip() == "ready"
    run_id = driver.stdout.readline().strip()
    deadline = time.monotonic() + 180
    while committed_rows(store) < 1:  # the baseline is committed: the driver is inside the first step
        assert driver.poll() is None and time.monotonic() < deadline, driver.stderr and driver.stderr.read()
        time.sleep(0.1)
    driver.kill()
    driver.wait()
    rows_at_kill = committed_rows(store)
    resumed = runner("train-ray", str(store), cluster.address, run_id, home=tmp_path)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0 and out.splitlines()[-1] == "completed", err
    ws = Workspace(store)
    rows = [(r.kind, r.epoch, r.step, r.spec_id, r.train_score, r.val_score, r.decision)
            for r in rec.load_rows(ws.store, run_id)]
    assert 1 <= rows_at_kill < len(rows)
    # The same run on threads, never interrupted, commits the very same rows.
    from crash_runner import CONFIG

    reference = Workspace(tmp_path / "reference" / "store.sqlite", model=register_learning_fake("crash"), mode="live")
    trainer = Trainer(reference)
    done = trainer.run(trainer.start(CONFIG).id)
    assert rows == [(r.kind, r.epoch, r.step, r.spec_id, r.train_score, r.val_score, r.decision)
                    for r in rec.load_rows(reference.store, done.id)]
    check_store(store)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))

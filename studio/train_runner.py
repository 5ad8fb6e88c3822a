"""Training runs launched from the studio, each in a background thread of the studio's process.

Runs live in the store, so every browser session sees them; this registry only knows which of
them this process is running now, and lets a page ask one to stop (between stages).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from tape_studio.core.learning.meter import Budget
from tape_studio.core.learning.train_config import TrainConfig
from tape_studio.core.learning.trainer import Trainer
from tape_studio.core.redact import redact
from tape_studio.core.settings import build_llm, load_settings
from tape_studio.core.workspace import Workspace


@dataclass
class _Job:
    thread: threading.Thread
    stop: threading.Event = field(default_factory=threading.Event)
    error: str = ""


_jobs: dict[str, _Job] = {}
_lock = threading.Lock()


def start_run(ws: Workspace, config: TrainConfig) -> str:
    """Records a new run and trains it in the background; returns its id at once."""
    run = _trainer(ws).start(config)
    _launch(ws, run.id, None)
    return run.id


def resume_run(ws: Workspace, run_id: str, budget: Budget | None = None) -> None:
    if not is_running(run_id):
        _launch(ws, run_id, budget)


def _launch(ws: Workspace, run_id: str, budget: Budget | None) -> None:
    stop = threading.Event()

    def work() -> None:
        try:
            _trainer(ws, stop.is_set).run(run_id, budget)
        except Exception as exc:  # noqa: BLE001 -- a thread's last stop; the trainer recorded it on the run too
            _jobs[run_id].error = redact(f"{type(exc).__name__}: {exc}")

    thread = threading.Thread(target=work, name=f"train-{run_id[:8]}", daemon=True)
    with _lock:
        _jobs[run_id] = _Job(thread=thread, stop=stop)
    thread.start()


def _trainer(ws: Workspace, should_stop: Callable[[], bool] | None = None) -> Trainer:
    """A trainer with the model and LLM mode saved on the Settings page."""
    return Trainer(ws, should_stop=should_stop, llm=build_llm(load_settings(ws.store), ws.cache))


def is_running(run_id: str) -> bool:
    job = _jobs.get(run_id)
    return job is not None and job.thread.is_alive()


def request_stop(run_id: str) -> None:
    job = _jobs.get(run_id)
    if job is not None:
        job.stop.set()


def last_error(run_id: str) -> str:
    job = _jobs.get(run_id)
    return job.error if job else ""


def wait(run_id: str, timeout_s: float | None = None) -> None:
    """Blocks until the run's thread ends (for tests and scripts)."""
    job = _jobs.get(run_id)
    if job is not None:
        job.thread.join(timeout_s)

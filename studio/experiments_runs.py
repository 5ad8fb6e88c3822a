"""Experiments launched from the studio: one background thread each, stoppable, progress kept here
and read by the page (the rows themselves are in the store, so a restart loses only the thread)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from tape_studio.core.experiments import run_experiment
from tape_studio.core.experiments.runner import Progress
from tape_studio.core.redact import redact
from tape_studio.core.settings import build_llm, load_settings
from tape_studio.core.workspace import Workspace


@dataclass
class LiveExperiment:
    """One launched experiment's thread and the last progress it reported."""

    experiment_id: str
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    progress: Progress | None = None
    error: str = ""

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


class ExperimentRuns:
    """Every experiment this server process is running, by id (one thread per experiment)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: dict[str, LiveExperiment] = {}

    def start(self, ws: Workspace, experiment_id: str) -> LiveExperiment:
        with self._lock:
            live = self._live.get(experiment_id)
            if live is not None and live.running:
                return live
            live = self._live[experiment_id] = LiveExperiment(experiment_id)
        live.thread = threading.Thread(target=_work, args=(ws, live), daemon=True, name=f"experiment-{experiment_id}")
        live.thread.start()
        return live

    def get(self, experiment_id: str) -> LiveExperiment | None:
        with self._lock:
            return self._live.get(experiment_id)

    def wait(self, timeout: float = 60.0) -> None:
        """Blocks until every experiment thread ended (tests use it)."""
        with self._lock:
            threads = [live.thread for live in self._live.values() if live.thread]
        for thread in threads:
            thread.join(timeout)


def _work(ws: Workspace, live: LiveExperiment) -> None:
    def report(progress: Progress) -> None:
        live.progress = progress

    try:
        llm = build_llm(load_settings(ws.store), ws.cache)  # the model and mode chosen on the Settings page
        run_experiment(ws, live.experiment_id, llm=llm, on_progress=report, should_stop=live.stop.is_set)
    except Exception as exc:  # noqa: BLE001 -- shown on the page, not lost in a thread
        live.error = redact(str(exc)).splitlines()[0] if str(exc) else type(exc).__name__


RUNS = ExperimentRuns()
"""One per server process."""

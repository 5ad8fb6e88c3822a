"""Background runs started from the studio: a thread per run, writing each step to the store,
stoppable, and kept per browser session so that two tabs never see each other's runs.

The thread touches only core (loop, store, LLM); the page polls the store to draw new steps.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field

from tape_studio.core.agent import Agent
from tape_studio.core.approvals import Breakpoints, resume_point
from tape_studio.core.environment import Environment
from tape_studio.core.errors import InputError, NotFoundError
from tape_studio.core.leases import LeaseHeld, check_free, tape_subject
from tape_studio.core.loop import MoveStarted, RunEnded, StepAdded, run
from tape_studio.core.preview import RerunPreview, preview_rerun
from tape_studio.core.redact import redact
from tape_studio.core.settings import build_llm, configured_agent, load_settings
from tape_studio.core.store import Store
from tape_studio.core.tape import Tape
from tape_studio.core.workspace import Workspace

_KEPT_PER_SESSION = 20
"""Finished runs a session remembers (for their final status line); older ones are forgotten."""


@dataclass
class LiveRun:
    """One run's progress, written by its thread and read by the page."""

    session: str
    tape_id: str
    start_index: int
    """Steps the tape had when the run started; the new ones stream from here."""
    max_iterations: int | None
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    steps_added: int = 0
    new_calls: int = 0
    reason: str = ""
    """Empty while running; then completed, failed, paused, stopped, or error."""
    error: str = ""
    acknowledged: bool = False
    """The page has redrawn itself once after the end (so it does not redraw again)."""
    started_at: float = field(default_factory=time.monotonic)
    breakpoints: Breakpoints | None = None
    approved: int | None = None
    in_flight: str = ""
    """The move being made now (a node's LLM call, a tool), shown while it lasts."""
    in_flight_since: float = 0.0
    at_node: tuple[str, str] | None = None
    """(agent, node) of the move being made now, for the graph; None while tools run or between moves."""

    @property
    def done(self) -> bool:
        return bool(self.reason)


class RunRegistry:
    """Every live run of this server process, by session and tape."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, dict[str, LiveRun]] = {}

    def start(self, session: str, agent: Agent, env: Environment, tape: Tape, store: Store,
              max_iterations: int | None = None, breakpoints: Breakpoints | None = None) -> LiveRun:
        """Starts continuing `tape` in a thread. One run per tape at a time, across all sessions:
        two runs appending to one tape would collide on step indexes."""
        check_free(store, tape_subject(tape.id))  # another process (a terminal's resume) may be running it
        with self._lock:
            if self._running_on(tape.id):
                raise InputError("this tape is already running; stop that run first")
            points, approved = resume_point(store, tape.id, breakpoints)
            live = LiveRun(session=session, tape_id=tape.id, start_index=len(tape.steps), max_iterations=max_iterations,
                           breakpoints=points, approved=approved)
            runs = self._runs.setdefault(session, {})
            runs.pop(tape.id, None)
            runs[tape.id] = live
            while len(runs) > _KEPT_PER_SESSION:
                oldest = next((key for key, item in runs.items() if item.done), None)
                if oldest is None:
                    break
                del runs[oldest]
        live.thread = threading.Thread(target=_work, args=(live, agent, env, tape, store), daemon=True,
                                       name=f"tape-run-{tape.id[:8]}")
        live.thread.start()
        return live

    def get(self, session: str, tape_id: str) -> LiveRun | None:
        with self._lock:
            return self._runs.get(session, {}).get(tape_id)

    def of_session(self, session: str) -> list[LiveRun]:
        with self._lock:
            return list(self._runs.get(session, {}).values())

    def running_on(self, tape_id: str) -> bool:
        with self._lock:
            return self._running_on(tape_id)

    def _running_on(self, tape_id: str) -> bool:
        return any(tape_id in runs and not runs[tape_id].done for runs in self._runs.values())

    def forget(self, session: str, tape_id: str) -> None:
        with self._lock:
            live = self._runs.get(session, {}).get(tape_id)
            if live is not None and live.done:
                del self._runs[session][tape_id]

    def wait(self, timeout: float = 30.0) -> None:
        """Blocks until every run has ended (tests and benchmarks use it)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = [live.thread for runs in self._runs.values() for live in runs.values() if live.thread]
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def _work(live: LiveRun, agent: Agent, env: Environment, tape: Tape, store: Store) -> None:
    try:
        for event in run(agent, env, tape, store, max_iterations=live.max_iterations, should_stop=live.stop.is_set,
                         breakpoints=live.breakpoints, approved=live.approved):
            if isinstance(event, MoveStarted):
                live.in_flight, live.in_flight_since = event.describe(), time.monotonic()
                live.at_node = (event.agent, event.node) if event.node else None
            elif isinstance(event, StepAdded):
                live.steps_added += 1
                live.in_flight = ""
            elif isinstance(event, RunEnded):
                live.new_calls = event.new_llm_calls
                live.reason = event.reason
    except LeaseHeld as exc:  # another process took the tape first: its run, not ours, decides the status
        live.error, live.reason = str(exc), "error"
    except Exception as exc:  # noqa: BLE001  (a replay miss, a misconfigured agent: any failure is shown, not lost in a thread)
        live.error = redact(str(exc)) or type(exc).__name__
        with contextlib.suppress(NotFoundError):  # the tape was deleted meanwhile; the page still shows why
            store.set_status(tape.id, "failed", error=live.error.splitlines()[0][:500])
        live.reason = "error"


def prepare(ws: Workspace, tape: Tape, model: str | None = None) -> tuple[Agent, Environment]:
    """The agent that continues `tape` (its own spec, the store's model settings) and its tools."""
    settings = load_settings(ws.store)
    agent = ws.agent_for(tape, ws.spec_of(tape), build_llm(settings, ws.cache, model))
    agent = configured_agent(agent, settings)
    return agent, ws.environment(agent)


def start(ws: Workspace, session: str, tape: Tape, model: str | None = None,
          max_iterations: int | None = None, breakpoints: Breakpoints | None = None) -> LiveRun:
    agent, env = prepare(ws, tape, model)
    return REGISTRY.start(session, agent, env, tape, ws.store, max_iterations, breakpoints)


def preview(ws: Workspace, tape: Tape, reference: Tape | None) -> RerunPreview:
    """What continuing `tape` will cost; `reference` (the tape it was forked from) sizes unknown calls.
    The built-in tools are pure functions, so the simulation may run them."""
    agent, env = prepare(ws, tape)
    calls = {call.prompt_id: call for call in ws.store.calls_for_tape(reference.id)} if reference else {}
    return preview_rerun(agent, tape, ws.cache, env, reference=reference, calls=calls)


REGISTRY = RunRegistry()
"""One per server process; entries are keyed by session id, so sessions stay apart."""

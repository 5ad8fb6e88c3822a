"""Recording any Python agent as a tape, live: `with record("support-bot", task=...) as session:`.

Inside the block every chat call made through litellm or the official `openai` client (sync,
async, streaming; see core/record_clients.py) becomes an `LLMCall` and the steps its answer made,
and every traced tool (`@session.tool`, or `@traced_tool` anywhere) its call and result. Each step
is committed to the store as it happens, with `append_step`, the durability `run` has: a process
killed mid-session keeps every step it committed, and its tape shows `interrupted` (the session
holds the tape's lease, as `run` does). A `record` block inside another (or a traced
sub-agent function) is a frame on the same tape: `call_agent`, its steps, its `final_answer`.

`record` is also a decorator: the function's first text argument is the task (unless one is
given) and its text return value the answer. The tape names the agent, so where an agent of that
name is loaded, the studio's "Rerun from here" continues it; anywhere, a model-made step can be
re-asked (core/reask.py). Keys never reach the tape: only sampling parameters of a request are kept.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from tape_studio.core import config
from tape_studio.core.chat_steps import ChatAnswer, answer_steps
from tape_studio.core.leases import Lease, release, take, tape_subject
from tape_studio.core.llm import LLMCall
from tape_studio.core.store import Store
from tape_studio.core.tape import (
    CallAgent,
    ErrorStep,
    FinalAnswer,
    StepBase,
    StepMetadata,
    Tape,
    TapeMetadata,
    Task,
    ToolCall,
    ToolResult,
)

F = TypeVar("F", bound=Callable[..., Any])
SOURCE = "record"
_FRAME: contextvars.ContextVar[Frame | None] = contextvars.ContextVar("tape_studio_record_frame", default=None)
_OPEN: list[Frame] = []
"""Root frames open in this process: a call from a thread that did not inherit the context goes to
the only one, if there is exactly one."""
_STORES: dict[Path, Store] = {}
_STORES_LOCK = threading.Lock()


class _Recording:
    """The tape being written: its id, the store, and the next index (one writer at a time)."""

    def __init__(self, store: Store, tape: Tape) -> None:
        self.store = store
        self.tape_id = tape.id
        self.length = len(tape.steps)
        self.lock = threading.Lock()
        self.lease: Lease | None = None

    def append(self, step: StepBase, call: LLMCall | None = None) -> int:
        with self.lock:
            index = self.length
            self.store.append_step(self.tape_id, index, step, call)
            self.length += 1
            return index


class Frame:
    """One agent's stretch of a recorded tape; what `with record(...)` gives you."""

    def __init__(self, recording: _Recording, agent: str, parent: Frame | None) -> None:
        self.recording = recording
        self.agent = agent
        self.parent = parent
        self.answer: str | None = None
        self.last_text: tuple[str, str] | None = None
        """The last text a model wrote in this frame, and its prompt id (the default answer)."""
        self.pending: list[tuple[str, str]] = []
        """(tool name, tool call id) the model asked for and no traced tool answered yet."""

    @property
    def tape_id(self) -> str:
        return self.recording.tape_id

    @property
    def store(self) -> Store:
        return self.recording.store

    def set_answer(self, text: str) -> None:
        """The answer this agent gives (by default its model's last text)."""
        self.answer = str(text)

    def tool(self, fn: F) -> F:
        """Decorator: calls of `fn` record a tool call (unless the model asked for it) and its result."""
        return _traced(fn, lambda: self)

    def litellm_callback(self) -> Any:
        """A litellm callback that records into this frame (for code that configures litellm callbacks)."""
        from tape_studio.core.record_clients import litellm_callback

        return litellm_callback(self.agent, frame=self)

    # --- what the client hooks call ----------------------------------------------------------

    def model_call(self, call: LLMCall, answer: ChatAnswer) -> None:
        meta = StepMetadata(prompt_id=call.prompt_id, agent=self.agent, other={"recorded": True})
        if call.error:
            steps: list[StepBase] = [ErrorStep(source="llm", message=call.error, metadata=meta)]
        else:
            steps = answer_steps(answer, final=False, metadata=meta)
        for n, step in enumerate(steps):
            self.recording.append(step, call if n == 0 else None)
            if isinstance(step, ToolCall):
                self.pending.append((step.tool, str(step.metadata.other.get("tool_call_id", ""))))
        if answer.content and not call.error:
            self.last_text = (answer.content, call.prompt_id)
        if not steps:  # an empty answer still records its call
            self.recording.store.save_llm_call(call)

    def tool_result(self, name: str, arguments: dict[str, Any], result: str, is_error: bool) -> None:
        asked = next((p for p in self.pending if p[0] == name), None)
        other: dict[str, Any] = {"recorded": True}
        if asked is not None:
            self.pending.remove(asked)
            if asked[1]:
                other["tool_call_id"] = asked[1]
        else:
            self.recording.append(ToolCall(tool=name, arguments=arguments,
                                           metadata=StepMetadata(agent=self.agent, other={"recorded": True})))
        self.recording.append(ToolResult(tool=name, content=result, is_error=is_error,
                                         metadata=StepMetadata(agent=self.agent, other=other)))


def current_frame() -> Frame | None:
    """The frame calls made here record into: this context's, else the only open session's."""
    frame = _FRAME.get()
    if frame is not None:
        return frame
    return _OPEN[0] if len(_OPEN) == 1 else None


class record:  # noqa: N801  (used like a function: `with record(...)`, `@record(...)`)
    """Records what runs inside as a tape (or, nested, as a sub-agent frame of the tape outside)."""

    def __init__(self, agent: str, task: str | None = None, store: Store | str | os.PathLike[str] | None = None,
                 tags: Sequence[str] = (), clients: Sequence[str] | None = None) -> None:
        if not agent or not isinstance(agent, str):
            raise ValueError("record needs an agent name, e.g. record('support-bot')")
        self.agent, self.task, self.store_ref, self.tags, self.clients = agent, task, store, tuple(tags), clients
        self._frames: list[tuple[Frame, contextvars.Token[Frame | None]]] = []

    def __enter__(self) -> Frame:
        frame = self.start()
        self._frames.append((frame, _FRAME.set(frame)))
        return frame

    def start(self, detached: bool = False) -> Frame:
        """Opens the session (or frame) without making it this context's; `finish` ends it. A detached
        session is not offered to other threads either (the litellm callback form uses one)."""
        from tape_studio.core.record_clients import install

        install(self.clients)
        parent = None if detached else current_frame()
        task = (self.task or "").strip()
        if parent is not None:
            frame = Frame(parent.recording, self.agent, parent)
            frame.recording.append(CallAgent(agent=self.agent, task=task or self.agent,
                                             metadata=StepMetadata(agent=parent.agent, other={"recorded": True})))
        else:
            frame = Frame(self._open(task), self.agent, None)
            if not detached:
                _OPEN.append(frame)
        return frame

    def _open(self, task: str) -> _Recording:
        store = _store(self.store_ref)
        metadata = TapeMetadata(agent=self.agent, author=self.agent, title=task[:120] or self.agent, status="running",
                                tags=tuple(sorted({"recorded", *self.tags})), source=SOURCE)
        tape = Tape(metadata=metadata)
        store.save_tape(tape)
        recording = _Recording(store, tape)
        # Like a run, a recording holds its tape's lease: if the process dies, the tape shows interrupted.
        recording.lease = take(store, tape_subject(tape.id))
        if task:
            recording.append(Task(text=task, metadata=StepMetadata(agent=self.agent)))
        return recording

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        frame, token = self._frames.pop()
        _FRAME.reset(token)
        self.finish(frame, error)

    def finish(self, frame: Frame, error: BaseException | None = None) -> None:
        """Closes a frame: its answer (or the error), and for the root the tape's status."""
        try:
            self._close(frame, error)
        finally:
            if frame.parent is None and frame.recording.lease is not None:
                release(frame.store, frame.recording.lease)
                frame.recording.lease = None

    def _close(self, frame: Frame, error: BaseException | None) -> None:
        if frame.parent is None and frame in _OPEN:
            _OPEN.remove(frame)
        meta = StepMetadata(agent=frame.agent, other={"recorded": True})
        if error is not None:
            message = f"{type(error).__name__}: {error}"[:2000]
            frame.recording.append(ErrorStep(source="agent", message=message, metadata=meta))
            if frame.parent is None:
                frame.store.set_status(frame.tape_id, "failed", message)
            return
        answer = frame.answer if frame.answer is not None else frame.last_text[0] if frame.last_text else None
        if answer is not None or frame.parent is not None:
            from_model = frame.answer is None and frame.last_text is not None
            prompt_id = frame.last_text[1] if from_model and frame.last_text else ""
            frame.recording.append(FinalAnswer(text=answer or "", metadata=meta.model_copy(update={"prompt_id": prompt_id})))
        if frame.parent is None:
            frame.store.set_status(frame.tape_id, "completed", result=answer)

    def __call__(self, fn: F) -> F:
        """As a decorator: each call of `fn` is a recorded session (or a frame inside the current one)."""
        def task_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
            if self.task is not None:
                return self.task
            text = next((a for a in [*args, *kwargs.values()] if isinstance(a, str)), None)
            return text if text is not None else f"{fn.__name__}({', '.join(map(repr, args))})"[:500]

        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with record(self.agent, task_of(args, kwargs), self.store_ref, self.tags, self.clients) as frame:
                    result = await fn(*args, **kwargs)
                    if isinstance(result, str):
                        frame.set_answer(result)
                    return result
            return run_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def run_sync(*args: Any, **kwargs: Any) -> Any:
            with record(self.agent, task_of(args, kwargs), self.store_ref, self.tags, self.clients) as frame:
                result = fn(*args, **kwargs)
                if isinstance(result, str):
                    frame.set_answer(result)
                return result
        return run_sync  # type: ignore[return-value]


def traced_tool(fn: F) -> F:
    """Decorator: calls of `fn` inside a recorded session are recorded as tool steps; outside, it just runs."""
    return _traced(fn, current_frame)


def _traced(fn: F, frame_of: Callable[[], Frame | None]) -> F:
    signature = inspect.signature(fn)
    name = fn.__name__

    def arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return {"args": [repr(a) for a in args], **{k: repr(v) for k, v in kwargs.items()}}
        return {k: _jsonable(v) for k, v in bound.arguments.items()}

    def done(frame: Frame | None, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any, error: BaseException | None) -> None:
        if frame is None:
            return
        text = f"{type(error).__name__}: {error}" if error is not None else result if isinstance(result, str) else repr(result)
        frame.tool_result(name, arguments(args, kwargs), text, is_error=error is not None)

    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            frame = frame_of()
            try:
                result = await fn(*args, **kwargs)
            except Exception as exc:
                done(frame, args, kwargs, None, exc)
                raise
            done(frame, args, kwargs, result, None)
            return result
        return run_async  # type: ignore[return-value]

    @functools.wraps(fn)
    def run_sync(*args: Any, **kwargs: Any) -> Any:
        frame = frame_of()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            done(frame, args, kwargs, None, exc)
            raise
        done(frame, args, kwargs, result, None)
        return result
    return run_sync  # type: ignore[return-value]


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


def _store(ref: Store | str | os.PathLike[str] | None) -> Store:
    """One Store per file for the process (its connections are per thread)."""
    if isinstance(ref, Store):
        return ref
    path = config.store_path(ref).resolve()
    with _STORES_LOCK:
        if path not in _STORES:
            _STORES[path] = Store(path)
        return _STORES[path]

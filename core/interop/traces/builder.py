"""Spans (and the log records tied to them) of one group of traces into one tape with its LLM calls.

Spans are walked as a tree, children in start order. A model call becomes its `LLMCall` plus the
steps its answer made (see core/chat_steps.py); its text is the `final_answer` when it is the last
work of its agent, else a `thought`. A tool span is the `tool_result` of the call that asked for it
(matched by call id, else by name), or a `tool_call` and its result when no model call asked. A tool
result that only shows in the next model call's input (the app ran the tool without a span) is
taken from there. An agent span inside another agent opens a frame: `call_agent` ... `final_answer`
of that agent, as core/agent.py frames work; an agent span that only wraps one other agent is
transparent. Spans that map to no step are kept whole in the tape's context, and attributes no
reader mapped are kept in their step's `metadata.other["otel.attributes"]`: nothing is dropped.

Step ids and prompt ids derive from span ids, so rebuilding a tape from more spans gives the same
ids to the same steps (which is how the receiver merges pieces idempotently).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tape_studio.core.chat_steps import answer_steps
from tape_studio.core.interop.traces import genai, openinference, records  # noqa: F401  (register the built-in readers)
from tape_studio.core.interop.traces.readers import AgentRun, ModelCall, Reading, ToolRun, read_span, session_of
from tape_studio.core.interop.traces.spans import LogEvent, Span
from tape_studio.core.llm import LLMCall
from tape_studio.core.tape import (
    CallAgent,
    ErrorStep,
    FinalAnswer,
    GenericStep,
    StepBase,
    StepMetadata,
    Tape,
    TapeMetadata,
    Task,
    ToolCall,
    ToolResult,
)

STATUS_ERROR = 2
TAG = "otel"
NO_CONTENT = "llm_output_not_captured"
NO_CONTENT_NOTE = ("the trace holds no content for this model call (its producer did not capture it: set "
                   "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true, or send its log records too)")


@dataclass
class Built:
    """A tape rebuilt from spans, with what the build read and kept."""

    tape: Tape
    calls: list[LLMCall]
    spans: int = 0
    conventions: Counter[str] = field(default_factory=Counter)
    spans_in_context: int = 0
    """Spans that map to no step (chains, turns, HTTP): kept whole in the tape's context."""
    attributes_kept: int = 0
    """Attributes no reader mapped, kept in their step's metadata."""


def group_key(spans: list[Span]) -> str:
    """Which tape a trace's spans belong to: its session or conversation when one is named, else the trace."""
    sessions = sorted({s for s in (session_of(span) for span in spans) if s})
    return f"session:{sessions[0]}" if sessions else f"trace:{spans[0].trace_id}" if spans else ""


def tape_id_for(group: str) -> str:
    return "otel-" + hashlib.sha256(group.encode()).hexdigest()[:24]


Readings = dict[tuple[str, str, int], Reading]
"""Readings of spans by (trace id, span id, how many log records the span had): a span never changes,
so a caller that rebuilds a tape often (the receiver) reads each span once."""


def build_tape(tape_id: str, spans: list[Span], logs: list[LogEvent], source: str = TAG,
               readings: Readings | None = None) -> Built:
    """The tape of these spans; `source` names where they came from (tag and `metadata.source`)."""
    return _Build(tape_id, spans, logs, source, {} if readings is None else readings).run()


class _Build:
    def __init__(self, tape_id: str, spans: list[Span], logs: list[LogEvent], source: str, known: Readings) -> None:
        self.tape_id = tape_id
        self.source = source
        self.by_id = {s.span_id: s for s in spans}
        self.logs: dict[str, list[LogEvent]] = {}
        for log in sorted(logs, key=lambda e: (e.time_ns, e.key())):
            self.logs.setdefault(log.span_id, []).append(log)
        self.readings: dict[str, Reading] = {}
        for span in spans:
            mine = self.logs.get(span.span_id, [])
            key = (span.trace_id, span.span_id, len(mine))
            if key not in known:
                known[key] = read_span(span, mine)
            self.readings[span.span_id] = known[key]
        self.children: dict[str, list[Span]] = {}
        for span in spans:
            parent = span.parent_id if span.parent_id in self.by_id else ""
            self.children.setdefault(parent, []).append(span)
        for kids in self.children.values():
            kids.sort(key=lambda s: (s.start_ns, s.span_id))
        self.steps: list[StepBase] = []
        self.calls: list[LLMCall] = []
        self.pending: dict[str, str] = {}
        """Tool call id -> tool name, for calls not answered yet."""
        self.context_spans: list[dict[str, Any]] = []
        self.kept = 0
        self.last_work: dict[str, str] = {}
        self.task = ""

    def run(self) -> Built:
        roots = self.children.get("", [])
        for root in roots:
            self._mark_last_work(root, self._frame_root(root).span_id)
        for root in roots:
            self._root(root)
        top = self._frame_root(roots[0]) if roots else None
        self.agent = self._meaning(top).name if top is not None and isinstance(self._meaning(top), AgentRun) else ""
        return Built(tape=self._tape(roots), calls=self.calls, spans=len(self.by_id), spans_in_context=len(self.context_spans),
                     conventions=Counter(r.convention for r in self.readings.values() if r.convention),
                     attributes_kept=self.kept)

    # --- pass 1: the last piece of work of each frame (its text is the frame's answer) ---------

    def _meaning(self, span: Span) -> Any:
        return self.readings[span.span_id].meaning

    def _is_frame(self, span: Span) -> bool:
        return isinstance(self._meaning(span), AgentRun) and not self._transparent(span)

    def _transparent(self, span: Span) -> bool:
        """An agent span that only wraps one other agent (and does no work itself) is not a frame."""
        agents, work = self._frame_contents(span)
        return not work and len(agents) == 1

    def _frame_root(self, span: Span) -> Span:
        """The span whose agent owns the top frame: through any agent spans that only wrap one other."""
        if isinstance(self._meaning(span), AgentRun) and self._transparent(span):
            return self._frame_root(self._frame_contents(span)[0][0])
        return span

    def _frame_contents(self, span: Span) -> tuple[list[Span], bool]:
        agents: list[Span] = []
        work = False
        for child in self.children.get(span.span_id, []):
            meaning = self._meaning(child)
            if isinstance(meaning, AgentRun):
                agents.append(child)
                continue
            work = work or isinstance(meaning, (ModelCall, ToolRun))
            inner, inner_work = self._frame_contents(child)
            agents += inner
            work = work or inner_work
        return agents, work

    def _mark_last_work(self, span: Span, frame: str) -> None:
        if isinstance(self._meaning(span), (ModelCall, ToolRun)):
            self.last_work[frame] = span.span_id
        inner = span.span_id if self._is_frame(span) and frame != span.span_id else frame
        for child in self.children.get(span.span_id, []):
            self._mark_last_work(child, inner)

    # --- pass 2: steps -------------------------------------------------------------------------

    def _root(self, root: Span) -> None:
        task = self._task_of(root)
        if task and task != self.task or not self.steps:
            self.task = task or self.task
            self._add(Task(text=task or root.name or "trace"), root, "-task", agent="")
        top = self._frame_root(root)
        agent = self._meaning(top).name if isinstance(self._meaning(top), AgentRun) else ""
        self._walk(root, top.span_id, agent or self._agent_name())

    def _walk(self, span: Span, frame: str, agent: str) -> None:
        meaning, reading = self._meaning(span), self.readings[span.span_id]
        if isinstance(meaning, AgentRun) and self._is_frame(span) and frame != span.span_id:
            self._sub_agent(span, meaning, agent)
            return
        if isinstance(meaning, ModelCall):
            self._model_call(span, meaning, reading, agent, final=self.last_work.get(frame) == span.span_id)
        elif isinstance(meaning, ToolRun):
            self._tool(span, meaning, reading, agent)
        elif meaning is None:
            self.context_spans.append({"span_id": span.span_id, "parent_id": span.parent_id, "name": span.name,
                                       "start_ns": span.start_ns, "end_ns": span.end_ns, "attributes": span.attributes})
        for child in self.children.get(span.span_id, []):
            self._walk(child, frame, agent)

    def _sub_agent(self, span: Span, run: AgentRun, caller: str) -> None:
        self._add(CallAgent(agent=run.name, task=run.input or self._task_of(span) or run.name), span, "-call",
                  agent=caller, start=True)
        for child in self.children.get(span.span_id, []):
            self._walk(child, span.span_id, run.name)
        last = self.steps[-1]
        if not (isinstance(last, FinalAnswer) and last.metadata.agent == run.name):
            self._add(FinalAnswer(text=run.output or self._last_text(run.name)), span, "-answer", agent=run.name)

    def _model_call(self, span: Span, call: ModelCall, reading: Reading, agent: str, final: bool) -> None:
        for n, message in enumerate(call.messages):
            call_id = str(message.get("tool_call_id") or "")
            if message.get("role") == "tool" and call_id in self.pending:
                content = message.get("content")
                result = ToolResult(tool=self.pending.pop(call_id), content=content if isinstance(content, str) else "",
                                    metadata=StepMetadata(other={"tool_call_id": call_id, "from": "next model input"}))
                self._add(result, span, f"-result{n}", agent=agent, start=True)
        error = span.status_message or "error" if span.status_code == STATUS_ERROR else ""
        record = LLMCall(prompt_id=f"{self.source}-" + hashlib.sha256(f"{span.trace_id}:{span.span_id}".encode()).hexdigest()[:24],
                         model=call.model or "unknown", messages=call.messages, tools=call.tools, params=call.params,
                         output=call.answer.output(), prompt_tokens=call.prompt_tokens,
                         completion_tokens=call.completion_tokens, cost=call.cost,
                         latency_s=max(0, span.end_ns - span.start_ns) / 1e9, error=error, created_at=_time(span.end_ns))
        self.calls.append(record)
        meta = self._meta(span, "", agent, reading, prompt_id=record.prompt_id)
        if error:
            self.steps.append(ErrorStep(source="llm", message=error, metadata=meta))
            return
        empty = not call.answer.content and not call.answer.tool_calls
        steps = [] if empty else answer_steps(call.answer, final=final, metadata=meta)
        for step in steps:
            if isinstance(step, ToolCall) and "tool_call_id" in step.metadata.other:
                self.pending[str(step.metadata.other["tool_call_id"])] = step.tool
        self.steps += steps or [GenericStep(kind=NO_CONTENT, note=NO_CONTENT_NOTE, metadata=meta)]

    def _tool(self, span: Span, run: ToolRun, reading: Reading, agent: str) -> None:
        call_id = run.call_id if run.call_id in self.pending else next(
            (cid for cid, name in self.pending.items() if name == run.name), "")
        if call_id:
            del self.pending[call_id]
        else:
            self._add(ToolCall(tool=run.name, arguments=run.arguments), span, "-call", agent=agent, start=True)
        failed = span.status_code == STATUS_ERROR
        result = ToolResult(tool=run.name, content=run.result or (span.status_message if failed else ""), is_error=failed,
                            metadata=StepMetadata(other={"tool_call_id": call_id} if call_id else {}))
        self._add(result, span, "", agent=agent, reading=reading)

    # --- helpers -----------------------------------------------------------------------------

    def _add(self, step: StepBase, span: Span, suffix: str, agent: str, reading: Reading | None = None,
             start: bool = False) -> None:
        meta = self._meta(span, suffix, agent, reading, other=step.metadata.other, start=start)
        self.steps.append(step.model_copy(update={"metadata": meta}))

    def _meta(self, span: Span, suffix: str, agent: str, reading: Reading | None, prompt_id: str = "",
              other: dict[str, Any] | None = None, start: bool = False) -> StepMetadata:
        extra: dict[str, Any] = {**(other or {}), "otel.span_id": span.span_id}
        if reading is not None:
            unmapped = {k: v for k, v in span.attributes.items() if k not in reading.used}
            if unmapped:
                extra["otel.attributes"] = unmapped
                self.kept += len(unmapped)
        return StepMetadata(id=f"{span.span_id}{suffix}", prompt_id=prompt_id, agent=agent, other=extra,
                            created_at=_time(span.start_ns if start else span.end_ns))

    def _task_of(self, span: Span) -> str:
        reading = self.readings[span.span_id]
        meaning = reading.meaning
        if isinstance(meaning, AgentRun) and meaning.input:
            return meaning.input
        if reading.task:
            return reading.task
        if isinstance(meaning, ModelCall):
            users = [m for m in meaning.messages if m.get("role") == "user" and isinstance(m.get("content"), str)]
            return str(users[-1]["content"]) if users else ""
        for child in self.children.get(span.span_id, []):
            found = self._task_of(child)
            if found:
                return found
        return ""

    def _last_text(self, agent: str) -> str:
        for step in reversed(self.steps):
            if step.metadata.agent == agent and step.kind == "thought":
                return str(getattr(step, "text", ""))
        return ""

    def _agent_name(self) -> str:
        for reading in self.readings.values():
            if isinstance(reading.meaning, AgentRun):
                return reading.meaning.name
        resource = next(iter(self.by_id.values())).resource if self.by_id else {}
        name = resource.get("service.name")
        return name if isinstance(name, str) and name and not name.startswith("unknown_service") else self.source

    def _tape(self, roots: list[Span]) -> Tape:
        spans = list(self.by_id.values())
        failed = [r for r in roots if r.status_code == STATUS_ERROR and not r.parent_id]
        finished = any(not r.parent_id for r in roots)
        status = "failed" if failed else "completed" if finished else "running"
        agent = self.agent or self._agent_name()
        traces = sorted({s.trace_id for s in spans})
        metadata = TapeMetadata(
            id=self.tape_id, agent=agent, author=agent, status=status,
            error=(failed[0].status_message or "the root span failed") if failed else "",
            title=(self.task or (roots[0].name if roots else ""))[:120],
            created_at=_time(min((s.start_ns for s in spans), default=0)),
            tags=tuple(sorted({self.source, *(r.convention for r in self.readings.values() if r.convention not in ("", "record"))})),
            source=self.source, trace_ids=traces, session_id=next((session_of(s) for s in spans if session_of(s)), ""),
        )
        resource = spans[0].resource if spans else {}
        context = {self.source: {"trace_ids": traces, "resource": resource, "spans_without_steps": self.context_spans}}
        return Tape(metadata=metadata, context=context, steps=tuple(self.steps))  # type: ignore[arg-type]


def _time(nanos: int) -> datetime:
    return datetime.fromtimestamp(nanos / 1e9, tz=UTC) if nanos else datetime.fromtimestamp(0, tz=UTC)

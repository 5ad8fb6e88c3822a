"""Steps and tapes: the session log that is also the session's resumable state.

A tape is an immutable value. Every operation here returns a new tape; none touches a store
or a clock except to stamp ids and creation times on new objects.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, Protocol, TypeVar, Union, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    PlainValidator,
    PydanticUserError,
    SerializeAsAny,
    Tag,
    TypeAdapter,
)

from tape_studio.core.collector import collector_paused
from tape_studio.core.errors import ConfigError
from tape_studio.core.registry import Registry, source_of_module

Family = Literal["thought", "action", "observation", "error", "stop"]
FAMILIES: tuple[str, ...] = get_args(Family)
S = TypeVar("S", bound="StepBase")
TapeStatus = Literal["new", "running", "paused", "awaiting_approval", "completed", "failed", "interrupted"]
"""A tape's run state; core/run_state.py holds the transitions between them and their meaning."""


ONE_LINE: dict[str, Any] = {"editor": "line"}
"""Marks a text field as a short one-liner (a name, a message), so the step editor draws a line."""


def new_id() -> str:
    return uuid.uuid4().hex


def utc_now() -> datetime:
    return datetime.now(UTC)


class StepMetadata(BaseModel):
    """Provenance of one step."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str = Field(default_factory=new_id)
    prompt_id: str = ""
    """Links to the LLMCall that produced this step; empty for steps made by rules, tools or people."""
    node: str = ""
    agent: str = ""
    created_at: datetime = Field(default_factory=utc_now)
    other: dict[str, JsonValue] = Field(default_factory=dict)


class Canvas(Protocol):
    """Where a step draws itself (the studio passes one). It has text-only elements on purpose:
    steps carry untrusted text, so no renderer, built-in or user-written, can emit markup."""

    def text(self, text: str) -> None: ...

    def code(self, text: str) -> None: ...

    def json(self, value: Any) -> None: ...


class StepBase(BaseModel):
    """Fields every step has; subclasses add a `kind` literal and their own content."""

    model_config = ConfigDict(frozen=True)

    family: ClassVar[Family]
    metadata: StepMetadata = Field(default_factory=StepMetadata)

    def summary(self) -> str:
        """A one-line human summary, used for search, lists and the CLI."""
        raise NotImplementedError

    def body(self) -> dict[str, Any]:
        """The step without its metadata: what diffs, alignment and continuation compare."""
        return self.model_dump(mode="json", exclude={"metadata"})

    def render(self, canvas: Canvas) -> None:
        """How the studio shows the step's content: by default every field; override to choose."""
        fields = self.body()
        fields.pop("kind", None)
        canvas.json(fields)


_STEP_KINDS: Registry[type[StepBase]] = Registry("step kind")


def register_step(cls: type[S]) -> type[S]:
    """Class decorator: makes `cls` a step kind that tapes, the store, bundles and exports know.

    `cls` subclasses StepBase with `kind: Literal["my_kind"] = "my_kind"` and a `family`. Kinds
    nobody registered still load, as GenericStep, so foreign tapes never lose a step."""
    if not (isinstance(cls, type) and issubclass(cls, StepBase)):
        raise ConfigError(f"register_step needs a StepBase subclass, got {cls!r}")
    field = cls.model_fields.get("kind")
    kind = field.default if field is not None else None
    if not isinstance(kind, str) or not kind or kind == "generic":
        raise ConfigError(f"step class {cls.__name__}: declare kind: Literal[\"my_kind\"] = \"my_kind\"")
    family = getattr(cls, "family", None)
    if family not in FAMILIES:
        raise ConfigError(f"step class {cls.__name__}: family must be one of {', '.join(FAMILIES)}, got {family!r}")
    _STEP_KINDS.add(kind, cls, source_of_module(cls.__module__))
    return cls


def step_class(kind: str) -> type[StepBase] | None:
    """The registered class of `kind`, or None (such steps load as GenericStep)."""
    return _STEP_KINDS.find(kind)


def step_kinds() -> list[str]:
    return _STEP_KINDS.names()


def step_kind_source(kind: str) -> str:
    return _STEP_KINDS.source(kind)



# --- observations -------------------------------------------------------------------------


@register_step
class Task(StepBase):
    """What the user asked; the first step of most tapes."""

    kind: Literal["task"] = "task"
    family: ClassVar[Family] = "observation"
    text: str

    def summary(self) -> str:
        return self.text

    def render(self, canvas: Canvas) -> None:
        canvas.text(self.text)


@register_step
class ToolResult(StepBase):
    """What a tool returned for the tool call just before it."""

    kind: Literal["tool_result"] = "tool_result"
    family: ClassVar[Family] = "observation"
    tool: str = Field(json_schema_extra=ONE_LINE)
    content: str
    is_error: bool = False
    """A tool failure is data the agent can read, not a crash."""


    def summary(self) -> str:
        return f"{self.tool} → {self.content}"

    def render(self, canvas: Canvas) -> None:
        canvas.text(f"{self.tool} returned" + (" an error" if self.is_error else ""))
        canvas.code(self.content)


# --- thoughts -----------------------------------------------------------------------------


@register_step
class Thought(StepBase):
    """Free text the agent wrote for itself (reasoning, a draft)."""

    kind: Literal["thought"] = "thought"
    family: ClassVar[Family] = "thought"
    text: str

    def summary(self) -> str:
        return self.text

    def render(self, canvas: Canvas) -> None:
        canvas.text(self.text)


# --- actions ------------------------------------------------------------------------------


@register_step
class ToolCall(StepBase):
    """A request for the environment to run one tool."""

    kind: Literal["tool_call"] = "tool_call"
    family: ClassVar[Family] = "action"
    tool: str = Field(json_schema_extra=ONE_LINE)
    arguments: dict[str, JsonValue] = Field(default_factory=dict)
    """Argument name -> JSON value, checked against the tool's schema when it runs."""

    def summary(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.arguments.items())
        return f"{self.tool}({args})"

    def render(self, canvas: Canvas) -> None:
        canvas.text(f"tool: {self.tool}")
        canvas.json(self.arguments)


@register_step
class CallAgent(StepBase):
    """Hands the tape to a sub-agent; its steps follow on the same tape until it answers."""

    kind: Literal["call_agent"] = "call_agent"
    family: ClassVar[Family] = "action"
    agent: str = Field(json_schema_extra=ONE_LINE)
    task: str

    def summary(self) -> str:
        return f"call {self.agent}: {self.task}"

    def render(self, canvas: Canvas) -> None:
        canvas.text(self.summary())


# --- markers ------------------------------------------------------------------------------


@register_step
class FinalAnswer(StepBase):
    """The agent's answer; ends the tape (or returns from a sub-agent)."""

    kind: Literal["final_answer"] = "final_answer"
    family: ClassVar[Family] = "stop"
    text: str

    def summary(self) -> str:
        return self.text

    def render(self, canvas: Canvas) -> None:
        canvas.text(self.text)


@register_step
class ErrorStep(StepBase):
    """Something went wrong while making the next step; the reason stays on the tape."""

    kind: Literal["error"] = "error"
    family: ClassVar[Family] = "error"
    source: Literal["llm", "parse", "tool", "loop", "agent"]
    message: str = Field(json_schema_extra=ONE_LINE)
    detail: str = ""

    def summary(self) -> str:
        return f"{self.source} error: {self.message}"

    def render(self, canvas: Canvas) -> None:
        canvas.text(self.summary())
        if self.detail:
            canvas.code(self.detail)


# --- foreign steps ------------------------------------------------------------------------

_AGENT_KINDS = {"assistant", "assistant_thought", "call", "respond", "set_next_node", "final_step"}
_OBSERVATION_KINDS = {"user", "system", "tool"}


@functools.lru_cache(maxsize=1024)
def guess_family(kind: str) -> Family:
    """Family of a step kind we have no class for, from naming conventions of other frameworks."""
    if kind.endswith("_thought") or kind in {"assistant_thought", "set_next_node"}:
        return "thought"
    if kind.endswith("_observation") or kind in _OBSERVATION_KINDS:
        return "observation"
    if kind in {"final_step", "final_answer_action"} or kind.startswith("stop"):
        return "stop"
    if "error" in kind:
        return "error"
    return "action" if kind.endswith("_action") or kind in _AGENT_KINDS else "thought"


_TEXT_FIELDS = ("content", "text", "reasoning", "answer", "message")
"""Fields that hold a foreign step's words, in the order they are looked for."""


class GenericStep(StepBase):
    """A step of a kind we have no class for; keeps every field so nothing is lost on round trip."""

    model_config = ConfigDict(frozen=True, extra="allow")

    kind: str

    @property
    def family(self) -> Family:  # type: ignore[override]
        return guess_family(self.kind)

    def summary(self) -> str:
        # The text fields are read where they are kept (dumping the step for them is what importing
        # thousands of foreign steps spent most on); a text field dumps as the same text.
        extra = self.__pydantic_extra__ or {}
        for name in _TEXT_FIELDS:
            if isinstance(extra.get(name), str):
                return extra[name]
        fields = self.body()
        fields.pop("kind", None)
        return ", ".join(f"{k}={v}" for k, v in fields.items())

    def render(self, canvas: Canvas) -> None:
        # Other frameworks keep a step's words in a field of their own (TapeAgents: `content` of a
        # user step, `reasoning` of a thought, `text` of a final answer): show it as text, then the rest.
        fields = self.body()
        fields.pop("kind", None)
        name = self._text_field(fields)
        if name is not None:
            canvas.text(fields.pop(name))
        if fields:
            canvas.json(fields)

    @staticmethod
    def _text_field(fields: dict[str, Any]) -> str | None:
        return next((name for name in _TEXT_FIELDS if isinstance(fields.get(name), str)), None)


def _validate_step(value: Any) -> StepBase:
    if isinstance(value, StepBase):
        return value
    if not isinstance(value, dict):
        raise ValueError("a step must be a JSON object with a 'kind'")
    kind = value.get("kind")
    cls = _STEP_KINDS.find(kind) if isinstance(kind, str) else None
    return (cls or GenericStep).model_validate(value)


Step = SerializeAsAny[Annotated[StepBase, PlainValidator(_validate_step, json_schema_input_type=dict[str, Any])]]
"""Any step: validated by its kind's registered class; serialised with all of its own fields."""
STEP_ADAPTER: TypeAdapter[StepBase] = TypeAdapter(Step)


@functools.lru_cache(maxsize=8)
def _steps_adapter(kinds: tuple[tuple[str, type[StepBase]], ...]) -> TypeAdapter[list[StepBase]]:
    """A list of steps as one tagged union of the registered kinds (GenericStep for the rest):
    pydantic validates a whole JSON array in one call instead of one Python call per step."""
    known = {kind for kind, _ in kinds}

    def tag(value: Any) -> str:
        kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
        return kind if isinstance(kind, str) and kind in known else _GENERIC_TAG

    members = tuple(Annotated[cls, Tag(kind)] for kind, cls in kinds) + (Annotated[GenericStep, Tag(_GENERIC_TAG)],)
    return TypeAdapter(list[Annotated[Union[members], Discriminator(tag)]])  # type: ignore[valid-type]


@functools.lru_cache(maxsize=8)
def _known_steps_adapter(kinds: tuple[tuple[str, type[StepBase]], ...]) -> TypeAdapter[list[StepBase]] | None:
    """The same union tagged by the `kind` field itself, for arrays of registered kinds only: the
    tag is then read inside pydantic, without building a Python dict of each step to call `tag`
    on (a third of a long tape's load). None where a registered class's `kind` is no Literal."""
    members = tuple(cls for _, cls in kinds)
    try:
        return TypeAdapter(list[Annotated[Union[members], Field(discriminator="kind")]])  # type: ignore[valid-type]
    except PydanticUserError:
        return None


_GENERIC_TAG = "\x00generic"
"""The union's tag for kinds nobody registered (no registered kind can be named so)."""


def parse_steps_json(texts: Sequence[str], kinds: Iterable[str] | None = None) -> list[StepBase]:
    """Steps from their JSON forms (as `model_dump_json` wrote them), validated like `parse_step`
    does each one, but in one pass: what loading a 10,000-step tape costs. `kinds`, where the
    caller knows them (the store keeps a column), lets steps all of registered kinds take the
    faster union."""
    if not texts:
        return []
    registered = tuple((kind, _STEP_KINDS.get(kind)) for kind in _STEP_KINDS.names())
    known = _known_steps_adapter(registered) if kinds is not None and set(kinds) <= set(_STEP_KINDS.names()) else None
    with collector_paused():
        return (known or _steps_adapter(registered)).validate_json("[" + ",".join(texts) + "]")


def parse_step(data: dict[str, Any] | str | bytes) -> StepBase:
    """One step from its JSON form (a dict or a JSON string); unknown kinds become GenericStep."""
    if isinstance(data, (str, bytes)):
        return STEP_ADAPTER.validate_json(data)
    return STEP_ADAPTER.validate_python(data)


def dump_step(step: StepBase) -> dict[str, Any]:
    return step.model_dump(mode="json")


# --- tapes --------------------------------------------------------------------------------


class TapeMetadata(BaseModel):
    """Identity, lineage and outcome of a tape."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str = Field(default_factory=new_id)
    parent_id: str | None = None
    """The tape this one was forked from."""
    fork_step: int | None = None
    """Index of the first step that may differ from the parent (the prefix before it is shared)."""
    root_id: str | None = None
    """The first ancestor of the fork family; None for a tape that is its own root."""
    author: str = ""
    """The agent that made the tape, or "user" for hand edits and forks."""
    author_tape_id: str | None = None
    agent: str = ""
    spec_id: str = ""
    """Content hash of the AgentSpec that produced the tape's agent steps."""
    agent_source: str = ""
    """Where the agent's code was loaded from (`builtin`, a file, a module): what rebuilds it elsewhere."""
    created_at: datetime = Field(default_factory=utc_now)
    status: TapeStatus = "new"
    error: str = ""
    result: JsonValue = None
    title: str = ""
    tags: tuple[str, ...] = ()

    @property
    def family_id(self) -> str:
        return self.root_id or self.id


class Tape(BaseModel):
    """Metadata, context and the ordered steps of one agent session."""

    model_config = ConfigDict(frozen=True)

    metadata: TapeMetadata = Field(default_factory=TapeMetadata)
    context: JsonValue = None
    """Whatever the session started from besides its steps (a dict, a string, another tape's JSON)."""
    steps: tuple[Step, ...] = ()

    @property
    def id(self) -> str:
        return self.metadata.id

    def append(self, *steps: StepBase) -> Tape:
        """The same session with more steps; identity and lineage are unchanged."""
        return self.model_copy(update={"steps": self.steps + tuple(steps)})  # type: ignore[arg-type]

    def with_metadata(self, **changes: Any) -> Tape:
        metadata = self.metadata.model_copy(update=changes)
        return self.model_copy(update={"metadata": metadata})

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> Tape:
        return cls.model_validate_json(text)


def fork_tape(
    tape: Tape, at: int, replacement: tuple[StepBase, ...] | list[StepBase] = (), author: str = "user"
) -> Tape:
    """A new tape with the first `at` steps of `tape`, then `replacement`; lineage points back.

    The prefix keeps its step ids (so the same id means the same step across a fork family);
    replacement steps are marked `other["edited_by"] = author` and lose their prompt_id, since no
    model call produced them.
    """
    if not 0 <= at <= len(tape.steps):
        raise IndexError(f"fork point {at} is outside the tape (0..{len(tape.steps)})")
    marked = tuple(_mark_author(step, author) for step in replacement)
    parent = tape.metadata
    metadata = TapeMetadata(
        parent_id=parent.id,
        fork_step=at,
        root_id=parent.root_id or parent.id,
        author=author,
        author_tape_id=parent.id,
        agent=parent.agent,
        spec_id=parent.spec_id,
        agent_source=parent.agent_source,
        status="new",
        title=parent.title,
        tags=parent.tags,
    )
    return Tape(metadata=metadata, context=tape.context, steps=tape.steps[:at] + marked)  # type: ignore[arg-type]


def prefix(tape: Tape, length: int) -> Tape:
    """The first `length` steps as a fork of `tape` (a prefix is a fork with nothing replaced)."""
    return fork_tape(tape, length)


def _mark_author(step: StepBase, author: str) -> StepBase:
    meta = step.metadata
    other = dict(meta.other)
    other.setdefault("edited_by", author)
    return step.model_copy(update={"metadata": meta.model_copy(update={"other": other, "prompt_id": ""})})

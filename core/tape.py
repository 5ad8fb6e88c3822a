"""Steps and tapes: the session log that is also the session's resumable state.

A tape is an immutable value. Every operation here returns a new tape; none touches a store
or a clock except to stamp ids and creation times on new objects.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, JsonValue, Tag, TypeAdapter

Family = Literal["thought", "action", "observation", "error", "stop"]
TapeStatus = Literal["new", "running", "completed", "failed"]


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


# --- observations -------------------------------------------------------------------------


class Task(StepBase):
    """What the user asked; the first step of most tapes."""

    kind: Literal["task"] = "task"
    family: ClassVar[Family] = "observation"
    text: str

    def summary(self) -> str:
        return self.text


class ToolResult(StepBase):
    """What a tool returned for the tool call just before it."""

    kind: Literal["tool_result"] = "tool_result"
    family: ClassVar[Family] = "observation"
    tool: str
    content: str
    is_error: bool = False
    """A tool failure is data the agent can read, not a crash."""


    def summary(self) -> str:
        return f"{self.tool} → {self.content}"


# --- thoughts -----------------------------------------------------------------------------


class Thought(StepBase):
    """Free text the agent wrote for itself (reasoning, a draft)."""

    kind: Literal["thought"] = "thought"
    family: ClassVar[Family] = "thought"
    text: str

    def summary(self) -> str:
        return self.text


# --- actions ------------------------------------------------------------------------------


class ToolCall(StepBase):
    """A request for the environment to run one tool."""

    kind: Literal["tool_call"] = "tool_call"
    family: ClassVar[Family] = "action"
    tool: str
    arguments: dict[str, str] = Field(default_factory=dict)

    def summary(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.arguments.items())
        return f"{self.tool}({args})"


class CallAgent(StepBase):
    """Hands the tape to a sub-agent; its steps follow on the same tape until it answers."""

    kind: Literal["call_agent"] = "call_agent"
    family: ClassVar[Family] = "action"
    agent: str
    task: str

    def summary(self) -> str:
        return f"call {self.agent}: {self.task}"


# --- markers ------------------------------------------------------------------------------


class FinalAnswer(StepBase):
    """The agent's answer; ends the tape (or returns from a sub-agent)."""

    kind: Literal["final_answer"] = "final_answer"
    family: ClassVar[Family] = "stop"
    text: str

    def summary(self) -> str:
        return self.text


class ErrorStep(StepBase):
    """Something went wrong while making the next step; the reason stays on the tape."""

    kind: Literal["error"] = "error"
    family: ClassVar[Family] = "error"
    source: Literal["llm", "parse", "tool", "loop", "agent"]
    message: str
    detail: str = ""

    def summary(self) -> str:
        return f"{self.source} error: {self.message}"


# --- training records (written by core/learning; each links the forward tapes it read) -----


class Loss(StepBase):
    """How one forward tape scored on its dataset example, with the feedback the backward pass reads."""

    kind: Literal["loss"] = "loss"
    family: ClassVar[Family] = "observation"
    example_id: str
    tape_id: str
    """The forward tape that was scored."""
    score: float
    feedback: str
    prediction: str = ""
    target: str | None = None
    metric: str = ""

    def summary(self) -> str:
        return f"{self.example_id}: {self.score:.2f} · {self.feedback}"


class Gradient(StepBase):
    """A textual gradient for one node visit of a forward tape, written from the last visit to the first."""

    kind: Literal["gradient"] = "gradient"
    family: ClassVar[Family] = "thought"
    example_id: str
    tape_id: str
    node: str
    step_index: int
    """Index of the visit's first step in the forward tape, so the studio can open it there."""
    parameter: str
    """How this node's prompt or tools should change."""
    input_gradient: str
    """What this node needed from the node before it; the upstream visit's requirement."""
    requirement: str = ""
    """What the downstream visit (or the loss, for the last visit) asked of this one."""
    error: str = ""
    """Why no gradient could be read from the model's output, if it could not."""

    def summary(self) -> str:
        return f"{self.node} @ {self.example_id}: {self.error or self.parameter}"


class AggregatedGradient(StepBase):
    """The gradients one node received over a minibatch, merged (and summarised above a size cap)."""

    kind: Literal["aggregated_gradient"] = "aggregated_gradient"
    family: ClassVar[Family] = "thought"
    node: str
    text: str
    sources: tuple[str, ...] = ()
    """Step ids of the gradients merged here."""
    summarized: bool = False

    def summary(self) -> str:
        return f"{self.node}: {self.text}"


class Proposal(StepBase):
    """A change an optimizer proposed, and whether it passed the checks (guards) before any gate."""

    kind: Literal["proposal"] = "proposal"
    family: ClassVar[Family] = "action"
    optimizer: Literal["prompt", "tool", "pipeline"]
    target: str
    """The node, tool or graph the change is for."""
    changes: dict[str, JsonValue] = Field(default_factory=dict)
    valid: bool
    reasons: tuple[str, ...] = ()
    """Why the proposal was rejected (empty when valid)."""
    raw: str = ""
    """The optimizer's raw output, kept so a rejected proposal can be audited."""

    def summary(self) -> str:
        verdict = "valid" if self.valid else "rejected: " + "; ".join(self.reasons)
        return f"{self.optimizer} proposal for {self.target}: {verdict}"


class GateResult(StepBase):
    """The paired comparison of a candidate spec with the current one, under a gate policy."""

    kind: Literal["gate_result"] = "gate_result"
    family: ClassVar[Family] = "observation"
    policy: str
    current_spec_id: str
    candidate_spec_id: str
    current_scores: dict[str, float] = Field(default_factory=dict)
    """Minibatch score per example id for the current spec (from the forward pass)."""
    candidate_scores: dict[str, float] = Field(default_factory=dict)
    """Minibatch score per example id for the candidate (paired rerun on the same examples)."""
    val_current: float | None = None
    val_candidate: float | None = None
    passed: bool
    reason: str
    candidate_tape_ids: tuple[str, ...] = ()

    def summary(self) -> str:
        return f"{'passed' if self.passed else 'failed'} ({self.policy}): {self.reason}"


class Decision(StepBase):
    """What a training step did: adopt the candidate spec or keep the current one."""

    kind: Literal["decision"] = "decision"
    family: ClassVar[Family] = "stop"
    accepted: bool
    spec_before: str
    spec_after: str
    candidate_spec_id: str = ""
    reason: str

    def summary(self) -> str:
        return f"{'accepted' if self.accepted else 'kept current'}: {self.reason}"


# --- foreign steps ------------------------------------------------------------------------

_AGENT_KINDS = {"assistant", "assistant_thought", "call", "respond", "set_next_node", "final_step"}
_OBSERVATION_KINDS = {"user", "system", "tool"}


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


class GenericStep(StepBase):
    """A step of a kind we have no class for; keeps every field so nothing is lost on round trip."""

    model_config = ConfigDict(frozen=True, extra="allow")

    kind: str

    @property
    def family(self) -> Family:  # type: ignore[override]
        return guess_family(self.kind)

    def summary(self) -> str:
        fields = self.body()
        fields.pop("kind", None)
        for name in ("content", "text", "reasoning", "answer", "message"):
            if isinstance(fields.get(name), str):
                return fields[name]
        return ", ".join(f"{k}={v}" for k, v in fields.items())


KNOWN_STEPS: dict[str, type[StepBase]] = {
    cls.model_fields["kind"].default: cls
    for cls in (Task, ToolResult, Thought, ToolCall, CallAgent, FinalAnswer, ErrorStep,
                Loss, Gradient, AggregatedGradient, Proposal, GateResult, Decision)
}


def _step_tag(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return kind if kind in KNOWN_STEPS else "generic"


Step = Annotated[
    Union[
        Annotated[Task, Tag("task")],
        Annotated[ToolResult, Tag("tool_result")],
        Annotated[Thought, Tag("thought")],
        Annotated[ToolCall, Tag("tool_call")],
        Annotated[CallAgent, Tag("call_agent")],
        Annotated[FinalAnswer, Tag("final_answer")],
        Annotated[ErrorStep, Tag("error")],
        Annotated[Loss, Tag("loss")],
        Annotated[Gradient, Tag("gradient")],
        Annotated[AggregatedGradient, Tag("aggregated_gradient")],
        Annotated[Proposal, Tag("proposal")],
        Annotated[GateResult, Tag("gate_result")],
        Annotated[Decision, Tag("decision")],
        Annotated[GenericStep, Tag("generic")],
    ],
    Discriminator(_step_tag),
]
STEP_ADAPTER: TypeAdapter[Step] = TypeAdapter(Step)


def parse_step(data: dict[str, Any] | str | bytes) -> Step:
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

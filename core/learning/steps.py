"""The step kinds of training records, written by core/learning; each links the forward tapes it read.

They register like any user step kind, so a record tape round-trips through the store, bundles
and exports with its classes wherever core.learning is imported (importing it registers them).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, JsonValue

from tape_studio.core.tape import Family, StepBase, register_step

@register_step
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


@register_step
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


@register_step
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


@register_step
class Proposal(StepBase):
    """A change an optimizer proposed, and whether it passed the checks (guards) before any gate."""

    kind: Literal["proposal"] = "proposal"
    family: ClassVar[Family] = "action"
    optimizer: Literal["prompt", "tool", "pipeline", "demos"]
    target: str
    """The node, tool or graph the change is for."""
    changes: dict[str, JsonValue] = Field(default_factory=dict)
    valid: bool
    reasons: tuple[str, ...] = ()
    """Why the proposal was rejected (empty when valid)."""
    raw: str = ""
    """The optimizer's raw output, kept so a rejected proposal can be audited."""
    sources: tuple[str, ...] = ()
    """Tapes the change was taken from (the demonstration optimizer's successful forward tapes)."""

    def summary(self) -> str:
        verdict = "valid" if self.valid else "rejected: " + "; ".join(self.reasons)
        return f"{self.optimizer} proposal for {self.target}: {verdict}"


@register_step
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


@register_step
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

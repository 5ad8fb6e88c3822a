"""Edit rules of an experiment: what to change in each selected tape, and where its fork starts.

A rule is data (a pydantic model, so it arrives as JSON from the CLI or the studio) and is checked
whole before anything runs. Applying it is a pure function of a tape and its spec: it returns the
fork point, the steps that replace the rest of the tape there, and (for a spec patch) the spec
the rerun uses, or None when the tape has no step the rule matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from tape_studio.core.errors import InputError
from tape_studio.core.spec import AgentSpec, Example, ToolDoc
from tape_studio.core.tape import StepBase, Tape, parse_step

Action = Literal["replace_fields", "substitute", "override_result", "delete", "insert_before"]
ACTIONS: tuple[str, ...] = ("replace_fields", "substitute", "override_result", "delete", "insert_before")
_MAX_PATTERN = 500
"""Regexes come from users and run on every step of many tapes: long ones are refused."""


class StepMatch(BaseModel):
    """Which steps a rule edits: every given condition must hold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str | None = None
    node: str | None = None
    """The node that made the step (its metadata)."""
    tool: str | None = None
    """The tool a tool call names or a tool result came from."""
    text: str | None = None
    """A regular expression searched in the step's one-line summary."""
    which: Literal["first", "every"] = "first"
    """first: edit the first matching step, then rerun; every: also edit each matching step the
    rerun makes, as it is made (see rerun_edits.py). Both fork at the first match."""

    @model_validator(mode="after")
    def _check(self) -> StepMatch:
        if not (self.kind or self.node or self.tool or self.text):
            raise ValueError("give at least one of kind, node, tool, text")
        if self.text is not None:
            _compile(self.text, "match.text")
        return self

    def matches(self, step: StepBase) -> bool:
        if self.kind and step.kind != self.kind:
            return False
        if self.node and step.metadata.node != self.node:
            return False
        if self.tool and getattr(step, "tool", None) != self.tool:
            return False
        return not self.text or re.search(self.text, step.summary()) is not None


class StepEdit(BaseModel):
    """At the matching step(s): replace fields, substitute text, override a tool result, delete, or insert before."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["step_edit"] = "step_edit"
    match: StepMatch
    action: Action
    fields: dict[str, JsonValue] = Field(default_factory=dict)
    """replace_fields: field name -> new value (the step must still validate)."""
    pattern: str = ""
    """substitute: a regular expression replaced in every text field of the step."""
    replacement: str = ""
    """substitute: what replaces it (`\\1` refers to a group)."""
    result: str = ""
    """override_result: the tool result's new content (the match must hit tool results)."""
    step: dict[str, JsonValue] | None = None
    """insert_before: the step (JSON with a `kind`) put before the matching one."""

    @model_validator(mode="after")
    def _check(self) -> StepEdit:
        if self.action == "replace_fields" and not self.fields:
            raise ValueError("replace_fields needs 'fields': {name: value}")
        if self.action == "replace_fields" and {"kind", "metadata"} & set(self.fields):
            raise ValueError("replace_fields cannot change 'kind' or 'metadata'")
        if self.action == "substitute":
            if not self.pattern:
                raise ValueError("substitute needs a 'pattern'")
            _compile(self.pattern, "pattern")
        if self.action == "override_result" and self.match.kind not in (None, "tool_result"):
            raise ValueError("override_result edits tool results: match kind 'tool_result' (or leave kind out)")
        if self.action == "insert_before":
            if not self.step or "kind" not in self.step:
                raise ValueError("insert_before needs 'step': a step as JSON with a 'kind'")
            try:
                parse_step(dict(self.step))
            except Exception as exc:  # noqa: BLE001 -- reported as the rule's fault, in one line
                raise ValueError(f"insert_before: the step does not validate: {_first_line(exc)}") from None
        return self


class SpecPatch(BaseModel):
    """The rerun uses a changed spec: a node's instruction, rules or examples, or a tool's description."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["spec_patch"] = "spec_patch"
    node: str | None = None
    instruction: str | None = None
    rules: tuple[str, ...] | None = None
    examples: tuple[Example, ...] | None = None
    tool: str | None = None
    tool_description: str | None = None

    @model_validator(mode="after")
    def _check(self) -> SpecPatch:
        node_change = self.instruction is not None or self.rules is not None or self.examples is not None
        if node_change and not self.node:
            raise ValueError("a patch of instruction, rules or examples names the 'node'")
        if self.tool_description is not None and not self.tool:
            raise ValueError("a tool_description patch names the 'tool'")
        if not node_change and self.tool_description is None:
            raise ValueError("a spec patch changes instruction, rules, examples or tool_description")
        return self


EditRule = Annotated[StepEdit | SpecPatch, Field(discriminator="type")]


class RuleHolder(BaseModel):
    """Wraps a rule so that one TypeAdapter-free `model_validate` reads either kind."""

    rule: EditRule


def parse_rule(data: Any) -> StepEdit | SpecPatch:
    """A rule from its JSON form; a missing `type` is inferred (`match` means a step edit).
    A bad rule is one InputError line naming the field."""
    if isinstance(data, dict) and "type" not in data:
        data = {**data, "type": "step_edit" if "match" in data else "spec_patch"}
    try:
        rule = RuleHolder.model_validate({"rule": data}).rule
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"rule: {_describe(exc)}") from None
    if isinstance(rule, StepEdit) and rule.action == "delete" and rule.match.which == "every":
        # Refused where rules come in (not in the model, so an experiment stored earlier still loads):
        # the agent or the environment would make a deleted step again at once, and again.
        raise InputError("rule: delete edits the first match only: the rerun would make a deleted step again "
                         "(use which 'first', or replace_fields / substitute with 'every')")
    return rule


@dataclass(frozen=True)
class Applied:
    """What a rule makes of one tape: a fork at `at` with `replacement`, rerun with `spec`."""

    at: int
    replacement: tuple[StepBase, ...]
    matched: tuple[int, ...]
    """Indexes of the original steps the rule matched."""
    spec: AgentSpec | None = None
    """The patched spec (spec patches only); None: the tape's own spec."""


def apply_rule(rule: StepEdit | SpecPatch, tape: Tape, spec: AgentSpec | None = None) -> Applied | None:
    """The fork `rule` makes of `tape` (None when nothing in it matches). A spec patch needs `spec`,
    the tape's own; an InputError says when the patch names something the spec lacks."""
    if isinstance(rule, SpecPatch):
        return _apply_patch(rule, tape, spec)
    # Both `first` and `every` fork at the first match: the original's later steps were made from the
    # unedited history, so the rerun makes them again (and with `every`, edits its own matches).
    first = next((n for n, step in enumerate(tape.steps) if rule.match.matches(step)), None)
    if first is None:
        return None
    return Applied(at=first, replacement=tuple(edit_step(rule, tape.steps[first])), matched=(first,))


def edit_step(rule: StepEdit, step: StepBase) -> list[StepBase]:
    """The steps that stand where `step` stood (none for delete, two for insert_before)."""
    if rule.action == "delete":
        return []
    if rule.action == "insert_before":
        assert rule.step is not None
        inserted = parse_step(dict(rule.step))
        meta = inserted.metadata.model_copy(update={"node": step.metadata.node, "agent": step.metadata.agent})
        return [inserted.model_copy(update={"metadata": meta}), step]
    data = step.model_dump(mode="json")
    if rule.action == "replace_fields":
        data.update(rule.fields)
    elif rule.action == "override_result":
        if "content" not in data:
            raise InputError(f"override_result: a {step.kind!r} step has no content to override")
        data["content"] = rule.result
    else:  # substitute: every text field of the body
        for name, value in list(data.items()):
            if name not in ("kind", "metadata") and isinstance(value, str):
                data[name] = re.sub(rule.pattern, rule.replacement, value)
    try:
        return [parse_step(data)]
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"rule {rule.action}: the edited {step.kind!r} step does not validate: {_first_line(exc)}") from None


def patch_spec(rule: SpecPatch, spec: AgentSpec) -> AgentSpec:
    """`spec` with the patch applied, as a new version whose parent is `spec`."""
    changes: dict[str, Any] = {}
    if rule.node:
        node = spec.node(rule.node) if any(n.name == rule.node for n in spec.nodes) else None
        if node is None:
            raise InputError(f"rule: agent {spec.name!r} has no node {rule.node!r} "
                             f"(it has {', '.join(n.name for n in spec.nodes)})")
        prompt = node.prompt.model_copy(update={k: v for k, v in (("instruction", rule.instruction), ("rules", rule.rules),
                                                                  ("examples", rule.examples)) if v is not None})
        nodes = tuple(n.model_copy(update={"prompt": prompt}) if n.name == rule.node else n for n in spec.nodes)
        changes["nodes"] = nodes
    if rule.tool:
        if not any(rule.tool in n.tools for n in spec.nodes):
            raise InputError(f"rule: agent {spec.name!r} uses no tool {rule.tool!r}")
        docs = dict(spec.tool_docs)
        docs[rule.tool] = docs.get(rule.tool, ToolDoc()).model_copy(update={"description": rule.tool_description or ""})
        changes["tool_docs"] = docs
    return spec.derive(**changes)


def _apply_patch(rule: SpecPatch, tape: Tape, spec: AgentSpec | None) -> Applied | None:
    if spec is None:
        raise InputError("a spec patch needs the tape's spec")
    patched = patch_spec(rule, spec)
    # The fork starts at the first step made by a node whose prompt the patch changes.
    nodes = {rule.node} if rule.node else set()
    if rule.tool:
        nodes |= {n.name for n in spec.nodes if rule.tool in n.tools}
    matched = tuple(n for n, step in enumerate(tape.steps) if step.metadata.node in nodes)
    if not matched:
        return None
    return Applied(at=matched[0], replacement=(), matched=matched[:1], spec=patched)


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    if len(pattern) > _MAX_PATTERN:
        raise ValueError(f"{where}: the regular expression is longer than {_MAX_PATTERN} characters")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{where}: not a regular expression: {exc}") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _describe(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        loc = ".".join(str(part) for part in first.get("loc", ()) if part not in ("rule", "step_edit", "spec_patch"))
        message = str(first.get("msg", "")).removeprefix("Value error, ")
        return f"{loc}: {message}" if loc else message
    return _first_line(exc)

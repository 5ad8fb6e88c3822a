"""Diff of two tapes: steps aligned on kind and content (not on index), the first divergence,
field-level differences of changed steps and, for aligned model-made steps, the prompt diff.

Pure functions: the caller loads the tapes and the LLM calls their steps link to.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, JsonValue

from tape_studio.core.llm import LLMCall
from tape_studio.core.tape import StepBase, Tape

PairStatus = Literal["same", "changed", "removed", "added"]


class FieldDiff(BaseModel):
    """One field (a dotted path into the step body) whose value differs between the two steps."""

    model_config = ConfigDict(frozen=True)

    path: str
    a: JsonValue = None
    b: JsonValue = None


class PromptDiff(BaseModel):
    """How the prompts behind two aligned model-made steps differ."""

    model_config = ConfigDict(frozen=True)

    a_prompt_id: str
    b_prompt_id: str
    same: bool
    """True when the model saw exactly the same request (model, messages, params, format)."""
    lines: tuple[str, ...] = ()
    """A unified diff of the readable prompts (`[role] content` lines), empty when `same`."""


class StepPair(BaseModel):
    """One row of the alignment: a step of `a`, of `b`, or of both."""

    model_config = ConfigDict(frozen=True)

    status: PairStatus
    a: int | None = None
    """Index of the step in tape a; None when the step exists only in b."""
    b: int | None = None
    kind: str
    fields: tuple[FieldDiff, ...] = ()
    """For changed pairs: the body fields (and node/agent) that differ."""
    prompt: PromptDiff | None = None
    """For aligned steps that both came from a model call, when both calls were given."""


class TapeDiff(BaseModel):
    """Two tapes aligned step by step."""

    model_config = ConfigDict(frozen=True)

    a_id: str
    b_id: str
    pairs: tuple[StepPair, ...]
    first_divergence: int | None
    """Index into `pairs` of the first pair that is not the same; None when the steps are equal."""

    @property
    def identical(self) -> bool:
        return self.first_divergence is None

    def counts(self) -> dict[str, int]:
        totals = {"same": 0, "changed": 0, "removed": 0, "added": 0}
        for pair in self.pairs:
            totals[pair.status] += 1
        return totals


def diff_tapes(a: Tape, b: Tape, calls: Mapping[str, LLMCall] | None = None) -> TapeDiff:
    """Aligns `a` and `b`; `calls` (prompt_id → call) adds prompt diffs where both calls are known."""
    pairs = tuple(_with_prompt(pair, a, b, calls or {}) for pair in align(a.steps, b.steps))
    first = next((n for n, pair in enumerate(pairs) if pair.status != "same"), None)
    return TapeDiff(a_id=a.id, b_id=b.id, pairs=pairs, first_divergence=first)


def align(a: Sequence[StepBase], b: Sequence[StepBase]) -> list[StepPair]:
    """Longest-common-subsequence alignment on step bodies; inside each differing stretch, steps
    are paired again on kind alone, so an edited step shows as changed, not as removed + added."""
    keys_a, keys_b = [_key(step) for step in a], [_key(step) for step in b]
    # autojunk would treat frequent steps (a loop's repeated tool calls) as noise and misalign them.
    matcher = difflib.SequenceMatcher(None, keys_a, keys_b, autojunk=False)
    pairs: list[StepPair] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs += [StepPair(status="same", a=i, b=j, kind=a[i].kind) for i, j in zip(range(i1, i2), range(j1, j2))]
        else:
            pairs += _pair_by_kind(a, b, range(i1, i2), range(j1, j2))
    return pairs


def _pair_by_kind(a: Sequence[StepBase], b: Sequence[StepBase], rows_a: range, rows_b: range) -> list[StepPair]:
    kinds = difflib.SequenceMatcher(None, [a[i].kind for i in rows_a], [b[j].kind for j in rows_b], autojunk=False)
    pairs: list[StepPair] = []
    for tag, i1, i2, j1, j2 in kinds.get_opcodes():
        if tag == "equal":
            for i, j in zip(rows_a[i1:i2], rows_b[j1:j2]):
                pairs.append(StepPair(status="changed", a=i, b=j, kind=a[i].kind, fields=field_diffs(a[i], b[j])))
            continue
        pairs += [StepPair(status="removed", a=i, kind=a[i].kind) for i in rows_a[i1:i2]]
        pairs += [StepPair(status="added", b=j, kind=b[j].kind) for j in rows_b[j1:j2]]
    return pairs


def field_diffs(a: StepBase, b: StepBase) -> tuple[FieldDiff, ...]:
    """The body fields that differ, as dotted paths (`arguments.query`), then node and agent."""
    flat_a, flat_b = _flatten(a.body()), _flatten(b.body())
    diffs = [FieldDiff(path=path, a=flat_a.get(path), b=flat_b.get(path))
             for path in sorted(flat_a.keys() | flat_b.keys()) if flat_a.get(path) != flat_b.get(path)]
    for name in ("node", "agent"):
        value_a, value_b = getattr(a.metadata, name), getattr(b.metadata, name)
        if value_a != value_b:
            diffs.append(FieldDiff(path=f"metadata.{name}", a=value_a, b=value_b))
    return tuple(diffs)


def prompt_diff(a: LLMCall, b: LLMCall) -> PromptDiff:
    """The unified diff of what the model was shown for each call."""
    same = a.request().key() == b.request().key()
    lines: tuple[str, ...] = ()
    if not same:
        lines = tuple(difflib.unified_diff(
            readable_prompt(a).splitlines(), readable_prompt(b).splitlines(), "a", "b", lineterm="", n=2))
    return PromptDiff(a_prompt_id=a.prompt_id, b_prompt_id=b.prompt_id, same=same, lines=lines)


def readable_prompt(call: LLMCall) -> str:
    """Model, parameters and messages as lines a person can diff."""
    lines = [f"model: {call.model}", f"params: {json.dumps(call.params, sort_keys=True)}"]
    if call.response_format is not None:
        lines.append(f"response_format: {json.dumps(call.response_format, sort_keys=True)}")
    for message in call.messages:
        content = message.get("content")
        text = content if isinstance(content, str) else json.dumps(content, sort_keys=True)
        lines.append(f"[{message.get('role', '?')}]")
        lines += text.splitlines() or [""]
    return "\n".join(lines)


def _with_prompt(pair: StepPair, a: Tape, b: Tape, calls: Mapping[str, LLMCall]) -> StepPair:
    if pair.a is None or pair.b is None:
        return pair
    id_a, id_b = a.steps[pair.a].metadata.prompt_id, b.steps[pair.b].metadata.prompt_id
    if not id_a or not id_b:
        return pair
    if id_a == id_b:  # one call shared by both tapes (a fork's copied prefix): the same prompt
        return pair.model_copy(update={"prompt": PromptDiff(a_prompt_id=id_a, b_prompt_id=id_b, same=True)})
    if id_a in calls and id_b in calls:
        return pair.model_copy(update={"prompt": prompt_diff(calls[id_a], calls[id_b])})
    return pair


def _key(step: StepBase) -> str:
    return json.dumps(step.body(), sort_keys=True, separators=(",", ":"))


def _flatten(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for name, item in value.items():
            flat.update(_flatten(item, f"{path}.{name}" if path else str(name)))
        return flat
    return {path or "(value)": value}

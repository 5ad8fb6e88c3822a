"""Tape Studio's own file format: tapes with the LLM calls their steps link to, as one JSON file.

Reading is strict and all-or-nothing per file: a file with bad JSON, a missing field or a step
kind nobody declared is rejected with the place named, and nothing of it is written. Kinds that
came from foreign tapes travel as generic steps, declared in the bundle's `generic_kinds`; kinds
of a user's source are declared in `step_kinds` with that source. A bundle carries the specs of
its tapes' agents, so they can be rerun in any store where the agents' sources are loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from tape_studio.core.collector import collector_paused
from tape_studio.core.errors import InputError
from tape_studio.core.files import read_json, write_atomic
from tape_studio.core.interop.fidelity import FidelityReport
from tape_studio.core.llm import LLMCall
from tape_studio.core.registry import BUILTIN
from tape_studio.core.spec import AgentSpec
from tape_studio.core.store import Store
from tape_studio.core.tape import GenericStep, Tape, step_class, step_kind_source, step_kinds

FORMAT = "tape-studio"
FORMAT_VERSION = 1


class Bundle(BaseModel):
    """The exchange file: tapes and the LLM calls their steps link to."""

    format: str = FORMAT
    version: int = FORMAT_VERSION
    generic_kinds: list[str] = Field(default_factory=list)
    """Step kinds without a class here, kept whole as generic steps (from foreign tapes)."""
    step_kinds: dict[str, str] = Field(default_factory=dict)
    """Step kinds of a user's source -> that source; where it is not loaded they stay generic steps."""
    tapes: list[Tape] = Field(default_factory=list)
    llm_calls: list[LLMCall] = Field(default_factory=list)
    specs: list[AgentSpec] = Field(default_factory=list)
    """The agent specs that made the tapes (and their sub-agents'), so a store without them can rerun."""


class ImportReport(BaseModel):
    """What an import added and what it left alone."""

    source: str
    imported: list[str] = Field(default_factory=list)
    skipped_existing: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    """Tapes already here that the file added to (more spans or log records of their traces)."""
    steps: int = 0
    llm_calls: int = 0
    specs: int = 0
    format: str = FORMAT
    fidelity: FidelityReport | None = None
    """What the file held and how faithfully it came in (see core/interop/fidelity.py)."""


def make_bundle(tapes: list[Tape], calls: list[LLMCall], specs: Sequence[AgentSpec] = ()) -> Bundle:
    """The exchange file for these tapes, calls and specs (each call and spec once)."""
    kinds = {step.kind for tape in tapes for step in tape.steps}
    generic = sorted({step.kind for tape in tapes for step in tape.steps if isinstance(step, GenericStep)})
    sources = {kind: step_kind_source(kind) for kind in sorted(kinds - set(generic))}
    return Bundle(
        tapes=tapes, generic_kinds=generic,
        step_kinds={kind: source for kind, source in sources.items() if source not in ("", BUILTIN)},
        llm_calls=list({call.prompt_id: call for call in calls}.values()),
        specs=list({spec.id: spec for spec in specs}.values()),
    )


def dump_bundle(tapes: list[Tape], calls: list[LLMCall], specs: Sequence[AgentSpec] = ()) -> str:
    return make_bundle(tapes, calls, specs).model_dump_json(indent=1)


def write_bundle(path: Path, tapes: list[Tape], calls: list[LLMCall], specs: Sequence[AgentSpec] = ()) -> None:
    """Writes atomically: a reader never sees half a file, even if we are killed mid-write."""
    write_atomic(Path(path), dump_bundle(tapes, calls, specs))


def read_bundle(path: Path, data: Any = None) -> Bundle:
    """Parses and validates a whole file; errors name the file and the JSON path at fault.
    `data` is the file's parsed JSON when the caller has read it already (format detection does)."""
    path = Path(path)
    if data is None:
        data = read_json(path)
    if isinstance(data, dict) and "steps" in data and "tapes" not in data:
        data = {"tapes": [data]}  # a single bare tape
    elif isinstance(data, list):
        data = {"tapes": data}
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object with 'tapes' (or one tape), got {type(data).__name__}")
    if data.get("format", FORMAT) != FORMAT:
        raise InputError(f"{path}: format {data.get('format')!r} is not {FORMAT!r}")
    _check_kinds(path, data)
    try:
        return Bundle.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{path}: {describe_validation_error(exc)}") from None


def _check_kinds(path: Path, data: dict[str, Any]) -> None:
    # Only lists are walked: any other shape is left for the model's validation to name clearly.
    generic, tapes, sourced = data.get("generic_kinds"), data.get("tapes"), data.get("step_kinds")
    declared = {kind for kind in generic if isinstance(kind, str)} if isinstance(generic, list) else set()
    declared |= {kind for kind in sourced if isinstance(kind, str)} if isinstance(sourced, dict) else set()
    for t, tape in enumerate(tapes if isinstance(tapes, list) else []):
        steps = tape.get("steps") if isinstance(tape, dict) else None
        for s, step in enumerate(steps if isinstance(steps, list) else []):
            kind = step.get("kind") if isinstance(step, dict) else None
            if not isinstance(kind, str):
                raise InputError(f"{path}: tapes[{t}].steps[{s}]: missing field 'kind'")
            if step_class(kind) is None and kind not in declared:
                raise InputError(
                    f"{path}: tapes[{t}].steps[{s}]: unknown step kind {kind!r} "
                    f"(known: {', '.join(step_kinds())}; list it in 'generic_kinds' to keep it as is)"
                )


def describe_validation_error(exc: Exception) -> str:
    """The first problem of a pydantic error as `field.path: message`, on one line."""
    if not isinstance(exc, ValidationError):
        return str(exc).splitlines()[0]
    first = exc.errors()[0]
    location = _json_path(list(first["loc"]))
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{location}: {first['msg']}{more}"


def _json_path(parts: list[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def save_bundle(store: Store, bundle: Bundle, source: Path | str) -> ImportReport:
    """Writes a validated bundle in one transaction; tapes whose id exists already are skipped."""
    report = ImportReport(source=str(source))
    _refuse_repeated_ids(bundle, source)
    present = {tape.id for tape in bundle.tapes if store.has_tape(tape.id)}
    new_tapes = [tape for tape in bundle.tapes if tape.id not in present]
    report.skipped_existing = [tape.id for tape in bundle.tapes if tape.id in present]
    linked = {prompt_id for tape in new_tapes for prompt_id in _linked_prompt_ids(tape.steps, tape.context)}
    calls = [call for call in bundle.llm_calls if call.prompt_id in linked]
    with collector_paused():  # a row per step and call: many objects, none in a cycle
        store.save_tapes(new_tapes, calls, bundle.specs)
    report.imported = [tape.id for tape in new_tapes]
    report.specs = len(bundle.specs)
    report.steps = sum(len(tape.steps) for tape in new_tapes)
    report.llm_calls = len(calls)
    return report


def _refuse_repeated_ids(bundle: Bundle, source: Path | str) -> None:
    # Two tapes with one id would merge into one that never existed (one's metadata, both's steps).
    first: dict[str, int] = {}
    for n, tape in enumerate(bundle.tapes):
        if tape.id in first:
            raise InputError(f"{source}: tapes[{first[tape.id]}] and tapes[{n}] share the id {tape.id!r}; "
                             "nothing was imported")
        first[tape.id] = n


def _linked_prompt_ids(steps: Any, context: Any) -> set[str]:
    """Prompt ids of a tape's steps and of any tape nested as its context (annotator tapes)."""
    ids = {step.metadata.prompt_id for step in steps if step.metadata.prompt_id}
    if isinstance(context, dict) and isinstance(context.get("steps"), list):
        nested = [s.get("metadata") or {} for s in context["steps"] if isinstance(s, dict)]
        ids |= {m["prompt_id"] for m in nested if isinstance(m, dict) and m.get("prompt_id")}
        ids |= _linked_prompt_ids((), context.get("context"))
    return ids

"""Hostile and malformed input, generated: importing a file and validating an edited step either
succeed with a valid tape or fail with our own clear error, never with a crash."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tape_studio.core.errors import TapeStudioError
from tape_studio.core.interop.tape_files import dump_bundle
from tape_studio.core.store import Store
from tape_studio.core.tape import StepMetadata, Tape, TapeMetadata, Task, Thought, ToolCall
from tape_studio.core.workspace import Workspace

SETTINGS = settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "80")), deadline=None, derandomize=os.environ.get("HYPOTHESIS_RANDOM") != "1", database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
SCALARS = st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=True) | TEXT
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=20)
KEYS = st.sampled_from(["kind", "text", "metadata", "steps", "tapes", "format", "id", "status", "created_at",
                        "tool", "arguments", "content", "node", "prompt_id", "llm_calls", "context", "parent_id"])
# Dicts with the keys our readers look for, holding anything: the shapes most likely to get past a first check.
SHAPED = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6),
                      max_leaves=25)
TAPE = Tape(metadata=TapeMetadata(agent="qa", title="valid", status="completed"), steps=(
    Task(text="What is 2 plus 2?"),
    Thought(text="Calculate.", metadata=StepMetadata(node="plan", agent="qa")),
    ToolCall(tool="calculator", arguments={"expression": "2+2"}, metadata=StepMetadata(node="plan", agent="qa")),
))

_folder = Path(tempfile.mkdtemp(prefix="hostile-"))
_ws = Workspace(_folder / "store.sqlite", mode="replay")
_ws.store.save_tape(TAPE)


def import_text(text: str, suffix: str) -> None:
    """Imports `text` as a file: the report's tapes must load back, or the error must be ours."""
    path = _folder / f"input{suffix}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        report = _ws.import_file(path)
    except TapeStudioError as exc:
        assert str(exc).strip(), "an error without a reason"
        return
    for tape_id in report.imported:
        assert _ws.store.load_tape(tape_id).steps is not None


def mutate(data: Any, path: list[Any], value: Any) -> Any:
    """`data` with the value at `path` (as far as it exists) replaced."""
    if not path or not isinstance(data, (dict, list)) or not data:
        return value
    key = path[0] if isinstance(data, dict) and path[0] in data else next(iter(data)) if isinstance(data, dict) \
        else path[0] % len(data) if isinstance(path[0], int) else 0
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[key] = mutate(copy[key], path[1:], value)
    return copy


@SETTINGS
@given(st.text(max_size=200))
def test_any_text_as_json_imports_or_fails_clearly(text: str) -> None:
    import_text(text, ".json")


@SETTINGS
@given(SHAPED)
def test_any_json_value_imports_or_fails_clearly(data: Any) -> None:
    import_text(json.dumps(data), ".json")


@SETTINGS
@given(SHAPED)
def test_any_yaml_value_imports_or_fails_clearly(data: Any) -> None:
    import_text(yaml.safe_dump(data, allow_unicode=True), ".yaml")


@SETTINGS
@given(st.text(max_size=200))
def test_any_text_as_yaml_imports_or_fails_clearly(text: str) -> None:
    import_text(text, ".yaml")


@SETTINGS
@given(st.lists(st.integers(0, 5) | KEYS, max_size=6), JSON)
def test_a_valid_bundle_with_one_value_replaced_imports_or_fails_clearly(path: list[Any], value: Any) -> None:
    bundle = json.loads(dump_bundle([TAPE.model_copy(update={"metadata": TAPE.metadata.model_copy(
        update={"id": "mutated"})})], []))
    _ws.store.delete_tape("mutated") if _ws.store.has_tape("mutated") else None
    import_text(json.dumps(mutate(bundle, path, value)), ".json")


@SETTINGS
@given(st.integers(-3, 6), st.dictionaries(KEYS, JSON, max_size=5) | JSON)
def test_an_edited_step_forks_or_fails_clearly(at: int, step: Any) -> None:
    try:
        fork = _ws.fork(TAPE.id, at, [step])
    except TapeStudioError as exc:
        assert str(exc).strip()
        return
    assert _ws.store.load_tape(fork.id).steps[at] == fork.steps[at]


@SETTINGS
@given(st.text(max_size=120))
def test_the_step_editor_json_box_rejects_bad_json_clearly(text: str) -> None:
    from tape_studio.studio.edit import _parse_json

    try:
        _parse_json(text, "step")
    except TapeStudioError as exc:
        assert str(exc).startswith("step: invalid JSON")


def test_the_store_behind_the_generated_cases_is_whole() -> None:
    from reliability_helpers import check_store

    Store(_folder / "store.sqlite").close()
    check_store(_folder / "store.sqlite")

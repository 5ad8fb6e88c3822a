"""TapeAgents tapes in, without TapeAgents' classes: JSON (one tape or a list) or a YAML stream.

What we keep, and how:
- Tape metadata keeps every field (`n_added_steps`, `task`, ... stay as extra fields). `author`
  becomes our `author` and `agent`; a tape with an `error` is `failed`, any other `completed`.
  The tape is tagged "tapeagents" and has no spec, so it is viewed, compared and forked, and its
  fine-tuning data comes from its recorded calls rather than from one of our nodes.
- A step becomes one of our classes only if its `kind` is one of ours *and* its fields validate
  against that class with none left over; everything else is a GenericStep that keeps every field
  verbatim and guesses its family from the kind. The one exception: a kind named like one of ours
  whose fields do not fit our class is kept whole as `tapeagents_<kind>` (a tape cannot hold a
  generic step under our kind names), with the original kind in `metadata.other["original_kind"]`.
- Legacy gaps are filled deterministically (re-importing a file gives the same ids, so it is
  skipped): a missing tape id is derived from the tape's content, a missing step id is
  `<tape id>-<index>`, a repeated step id gets `-<index>` appended and the original goes to
  `metadata.other["original_step_id"]`. Each repair is listed in the fidelity report.
- `context` that is itself a tape is converted the same way and kept as that tape's JSON.
- LLM calls come from `tapedata.sqlite` beside the file or from `metadata.other["llm_call"]`
  (moved out of the step into the call record the step links to).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tape_studio.core.errors import InputError
from tape_studio.core.files import MAX_DEPTH, MAX_INPUT_BYTES, check_text, parse_json, read_input, require_regular
from tape_studio.core.interop.fidelity import FidelityReport, measure
from tape_studio.core.interop.tape_files import Bundle, describe_validation_error
from tape_studio.core.interop.tapeagents_calls import SQLITE_NAME, convert_call, read_sqlite_calls
from tape_studio.core.llm import LLMCall
from tape_studio.core.tape import GenericStep, StepBase, Tape, TapeMetadata, parse_step, step_class, utc_now

FORMAT = "tapeagents"
TAG = "tapeagents"
FOREIGN_PREFIX = "tapeagents_"
"""Put before a foreign kind that collides with one of ours but does not fit our class."""


@dataclass
class _Import:
    """What one file's conversion accumulates before anything is written."""

    path: Path
    created_at: datetime = field(default_factory=utc_now)
    embedded_calls: dict[str, LLMCall] = field(default_factory=dict)
    context_tapes: list[Tape] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)

    def fail(self, where: str, message: str) -> InputError:
        return InputError(": ".join(part for part in (str(self.path), where, message) if part))


def read_tapeagents(path: Path, data: Any = None, max_bytes: int = MAX_INPUT_BYTES) -> tuple[Bundle, FidelityReport]:
    """Converts a whole file (and the calls its steps link to) or raises InputError naming the place.

    `data` is the file's parsed JSON when the caller has read it already (format detection does)."""
    path = Path(path)
    job = _Import(path)
    raws = _raw_tapes(path, max_bytes) if data is None else _json_tapes(data)
    tapes = _unique_tape_ids(job, [_convert_tape(job, raw, where) for raw, where in raws])
    calls = dict(job.embedded_calls)
    wanted = {s.metadata.prompt_id for t in [*tapes, *job.context_tapes] for s in t.steps if s.metadata.prompt_id}
    offered = len(calls)
    sqlite = path.parent / SQLITE_NAME
    if sqlite.exists():
        require_regular(sqlite)
        found, total = read_sqlite_calls(sqlite, wanted - set(calls))
        calls.update(found)
        offered += total
    bundle = Bundle(tapes=tapes, llm_calls=list(calls.values()),
                    generic_kinds=sorted({s.kind for t in tapes for s in t.steps if isinstance(s, GenericStep)}))
    report = measure(str(path), FORMAT, tapes, list(calls.values()), job.context_tapes, job.repairs, offered)
    return bundle, report


def _unique_tape_ids(job: _Import, tapes: list[Tape]) -> list[Tape]:
    """A repeated tape id (copied files, retried attempts) gets `-<position>`; the first keeps it."""
    seen: set[str] = set()
    for n, tape in enumerate(tapes):
        if tape.id in seen:
            new = f"{tape.id}-{n}"
            tapes[n] = tape.with_metadata(id=new, original_id=tape.id)
            job.repairs.append(f"tape {n}: id {tape.id!r} repeats an earlier tape; renamed {new!r}")
        seen.add(tapes[n].id)
    return tapes


# --- reading the file ----------------------------------------------------------------------------


def _raw_tapes(path: Path, max_bytes: int) -> list[tuple[Any, str]]:
    """Every tape in the file with the place that names it in errors: `[3]`, `document 2`, or ``."""
    text = read_input(path, max_bytes)
    if path.suffix.lower() in (".yaml", ".yml"):
        return _yaml_tapes(path, text)
    return _json_tapes(parse_json(path, text))


def _json_tapes(data: Any) -> list[tuple[Any, str]]:
    if isinstance(data, list):
        return [(item, f"[{n}]") for n, item in enumerate(data)]
    return [(data, "")]


def _yaml_tapes(path: Path, text: str) -> list[tuple[Any, str]]:
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{path}: invalid YAML{place}: {problem}") from None
    except RecursionError:
        raise InputError(f"{path}: nested deeper than {MAX_DEPTH} levels; no tape is") from None
    # YAML aliases share one value however often they are used, and converting copies each use:
    # nine levels of nine aliases are 1 KB of text and 387 million values. Without aliases a
    # document cannot hold more values than it has characters, so that is the budget.
    budget = _Budget(path, len(text) + 10_000)
    found: list[tuple[Any, str]] = []
    for number, doc in enumerate(documents, start=1):
        where = f"document {number}"
        if doc is None:
            continue  # an empty document, e.g. after a trailing `---`
        if isinstance(doc, list):
            found += [(budget.plain(item, f"{where}[{n}]"), f"{where}[{n}]") for n, item in enumerate(doc)]
        else:
            found.append((budget.plain(doc, where), where))
    return found


class _Budget:
    """Converts YAML values to JSON values (dates become ISO text, keys text) within a budget of
    values, refusing an alias that contains itself and nesting deeper than any tape."""

    def __init__(self, path: Path, values: int) -> None:
        self.path, self.left, self.limit = path, values, values

    def plain(self, value: Any, where: str) -> Any:
        return self._plain(value, where, 0, set())

    def _plain(self, value: Any, where: str, depth: int, open_ids: set[int]) -> Any:
        self.left -= 1
        if self.left < 0:
            raise InputError(f"{self.path}: {where}: YAML aliases expand to more than {self.limit:,} values "
                             "(an alias bomb?); refused")
        if isinstance(value, str):
            check_text(f"{self.path}: {where}", value)  # a `"\\ud800"` escape decodes to a lone surrogate
        if not isinstance(value, (dict, list)):
            return value.isoformat() if isinstance(value, (datetime, date)) else value
        if depth >= MAX_DEPTH:
            raise InputError(f"{self.path}: {where}: nested deeper than {MAX_DEPTH} levels; no tape is")
        if id(value) in open_ids:
            raise InputError(f"{self.path}: {where}: a YAML alias refers to itself (a tape cannot contain itself)")
        open_ids.add(id(value))
        try:
            if isinstance(value, dict):
                return {str(k): self._plain(v, where, depth + 1, open_ids) for k, v in value.items()}
            return [self._plain(v, where, depth + 1, open_ids) for v in value]
        finally:
            open_ids.discard(id(value))


# --- tapes and steps -----------------------------------------------------------------------------


def _is_tape(value: Any) -> bool:
    steps = value.get("steps") if isinstance(value, dict) else None
    return isinstance(steps, list) and all(isinstance(s, dict) and "kind" in s for s in steps)


def _convert_tape(job: _Import, raw: Any, where: str) -> Tape:
    if not isinstance(raw, dict) or not isinstance(raw.get("steps"), list):
        raise job.fail(where, f"expected a tape (an object with a 'steps' list), got {type(raw).__name__}")
    meta = raw.get("metadata")
    if not isinstance(meta, dict | None):
        raise job.fail(_at(where, "metadata"), "expected an object")
    meta = meta or {}
    tape_id = meta.get("id")
    if not isinstance(tape_id, str) or not tape_id:
        digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
        tape_id = f"ta-{digest[:24]}"
        job.repairs.append(f"{where or 'tape'}: no tape id; derived {tape_id!r} from its content")
    steps = [_convert_step(job, s, n, tape_id, _at(where, f"steps[{n}]")) for n, s in enumerate(raw["steps"])]
    generated = sum(1 for n, s in enumerate(steps) if s.metadata.id == f"{tape_id}-{n}" and not _raw_step_id(raw["steps"][n]))
    if generated:
        job.repairs.append(f"{where or 'tape'}: {generated} steps had no id; gave them '<tape id>-<index>'")
    _dedupe_step_ids(job, steps, where)
    context = raw.get("context")
    if _is_tape(context):
        nested = _convert_tape(job, context, _at(where, "context"))
        job.context_tapes.append(nested)
        context = nested.model_dump(mode="json")
    try:
        metadata = _metadata(job, meta, tape_id, steps, where)
    except ValidationError as exc:
        raise job.fail(_at(where, f"metadata.{describe_validation_error(exc)}"), "") from None
    try:
        return Tape(metadata=metadata, context=context, steps=tuple(steps))  # type: ignore[arg-type]
    except ValidationError as exc:
        raise job.fail(where, describe_validation_error(exc)) from None


def _at(where: str, part: str) -> str:
    return f"{where}.{part}" if where else part


def _metadata(job: _Import, meta: dict[str, Any], tape_id: str, steps: list[StepBase], where: str) -> TapeMetadata:
    error = meta.get("error")
    if error is not None and not isinstance(error, str):
        job.repairs.append(f"{where or 'tape'}: non-text error kept as its JSON text")
        error = json.dumps(error, ensure_ascii=False)
    author = meta.get("author") or ""
    tags = [str(tag) for tag in meta.get("tags") or []]
    first_text = next((s.summary() for s in steps), "")
    data = {
        **{k: v for k, v in meta.items() if v is not None},
        "id": tape_id, "author": author, "agent": meta.get("agent") or author, "error": error or "",
        "status": "failed" if error else "completed", "source": FORMAT,
        "tags": tags if TAG in tags else [*tags, TAG],
        "title": meta.get("title") or first_text.strip()[:120],
        "created_at": meta.get("created_at") or job.created_at,
    }
    if data.get("parent_id"):
        data.setdefault("root_id", data["parent_id"])  # the parent may not be here; it is the nearest root we know
    return TapeMetadata.model_validate(data)


def _raw_step_id(raw: dict[str, Any]) -> Any:
    meta = raw.get("metadata")
    return meta.get("id") if isinstance(meta, dict) else None


def _convert_step(job: _Import, raw: Any, index: int, tape_id: str, where: str) -> StepBase:
    if not isinstance(raw, dict) or not isinstance(raw.get("kind"), str) or not raw["kind"]:
        raise job.fail(where, "missing field 'kind'")
    meta = raw.get("metadata")
    if not isinstance(meta, dict | None):
        raise job.fail(f"{where}.metadata", "expected an object")
    meta = dict(meta or {})
    other = meta.get("other") or {}
    if not isinstance(other, dict):
        raise job.fail(f"{where}.metadata.other", "expected an object")
    other = dict(other)
    for name in ("prompt_id", "node", "agent"):
        meta[name] = meta.get(name) or ""
    if not meta.get("id"):
        meta["id"] = f"{tape_id}-{index}"
    embedded = other.pop("llm_call", None)
    if isinstance(embedded, dict):
        prompt = embedded.get("prompt") if isinstance(embedded.get("prompt"), dict) else {}
        prompt_id = meta["prompt_id"] or str(prompt.get("id") or f"{tape_id}-call-{index}")
        meta["prompt_id"] = prompt_id
        if prompt_id not in job.embedded_calls:
            job.embedded_calls[prompt_id] = convert_call(embedded, prompt_id, f"{where}.metadata.other.llm_call")
    elif embedded is not None:
        other["llm_call"] = embedded  # not a call record we understand: kept where it was
    meta["other"] = other
    meta["created_at"] = meta.get("created_at") or job.created_at
    fields = {k: v for k, v in raw.items() if k != "metadata"}
    try:
        return _typed_step(job, fields, meta, where)
    except ValidationError as exc:
        raise job.fail(where, describe_validation_error(exc)) from None


def _typed_step(job: _Import, fields: dict[str, Any], meta: dict[str, Any], where: str) -> StepBase:
    """Our class when the kind is ours and the fields fit it exactly, else a generic step."""
    kind = fields["kind"]
    cls = step_class(kind)
    if cls is None:
        return GenericStep.model_validate({**fields, "metadata": meta})
    if set(fields) <= set(cls.model_fields):
        try:
            return parse_step({**fields, "metadata": meta})
        except ValidationError:
            pass
    # Our kind name on another framework's class: a tape may not hold a generic step under one of
    # our kinds (it would not load back), so this one kind is prefixed and the original recorded.
    meta = {**meta, "other": {**meta["other"], "original_kind": kind}}
    job.repairs.append(f"{where}: kind {kind!r} has fields ours lacks; kept whole as {FOREIGN_PREFIX + kind!r}")
    return GenericStep.model_validate({**fields, "kind": FOREIGN_PREFIX + kind, "metadata": meta})


def _dedupe_step_ids(job: _Import, steps: list[StepBase], where: str) -> None:
    seen: set[str] = set()
    renamed = 0
    for index, step in enumerate(steps):
        original = step.metadata.id
        new = original
        while new in seen:
            new = f"{new}-{index}"
        seen.add(new)
        if new != original:
            other = {**step.metadata.other, "original_step_id": original}
            steps[index] = step.model_copy(update={"metadata": step.metadata.model_copy(update={"id": new, "other": other})})
            renamed += 1
    if renamed:
        job.repairs.append(f"{where or 'tape'}: {renamed} repeated step ids made unique (originals in metadata.other)")

"""Inspect AI eval logs in: one tape per sample (and epoch), from a JSON log or an `.eval` archive.

A sample's `model` events are model calls (their input is the `input` given, or `input_refs`
ranges over the sample's shared `events_data.messages`), its `tool` events are tool runs; a
sample without events is read from its messages (each assistant message answers the ones before).
The sample's input is the task, its target, scores and metadata go to the tape's metadata.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from tape_studio.core.errors import InputError
from tape_studio.core.interop.fidelity import FidelityReport
from tape_studio.core.interop.importers import Importer, register_importer
from tape_studio.core.interop.tape_files import Bundle
from tape_studio.core.interop.traces.files import bundle_of
from tape_studio.core.interop.traces.readers import content_text
from tape_studio.core.interop.traces.records import agent_span, model_span, tool_span
from tape_studio.core.interop.traces.spans import Span

FORMAT = "inspect"
MAX_ARCHIVE_BYTES = 512 * 1024 * 1024


def sniff(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("eval"), dict) and "task" in data["eval"] \
        and isinstance(data.get("samples", []), list)


def load_archive(path: Path, max_bytes: int = MAX_ARCHIVE_BYTES) -> dict[str, Any]:
    """An `.eval` file (a zip of header.json and samples/*.json) as the JSON log it stands for; the
    archive may be at most `max_bytes`, and what it inflates to at most MAX_ARCHIVE_BYTES."""
    if path.stat().st_size > max_bytes:
        raise InputError(f"{path}: {path.stat().st_size:,} bytes is over the import limit of {max_bytes:,}")
    try:
        import zipfile_zstd  # noqa: F401  (Inspect compresses with zstd; this package, its dependency, teaches zipfile it)
    except ImportError:
        pass
    try:
        with zipfile.ZipFile(path) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_ARCHIVE_BYTES:
                raise InputError(f"{path}: the archive inflates past {MAX_ARCHIVE_BYTES} bytes")
            names = archive.namelist()
            log = json.loads(archive.read("header.json")) if "header.json" in names else {}
            log["samples"] = [json.loads(archive.read(n)) for n in sorted(names) if n.startswith("samples/")]
    except NotImplementedError:
        raise InputError(f"{path}: this .eval archive is zstd-compressed; install inspect-ai (or zipfile-zstd), or "
                         "convert it with `inspect log convert --to json`") from None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InputError(f"{path}: not a readable Inspect .eval archive: {exc}") from None
    return log


def read(path: Path, data: Any) -> tuple[Bundle, FidelityReport]:
    run = str(data["eval"].get("run_id") or data["eval"].get("eval_id") or path.name)
    task = str(data["eval"].get("task") or "inspect")
    groups = []
    for n, sample in enumerate(data.get("samples") or []):
        if not isinstance(sample, dict):
            raise InputError(f"{path}: samples[{n}]: expected an object")
        key = f"{run}:{sample.get('id')}:{sample.get('epoch', 1)}"
        trace = hashlib.sha256(key.encode()).hexdigest()[:32]
        try:
            groups.append((f"inspect-{trace[:24]}", _spans(trace, task, data["eval"], sample)))
        except (TypeError, ValueError, KeyError) as exc:
            raise InputError(f"{path}: samples[{n}]: {exc}") from None
    if not groups:
        raise InputError(f"{path}: the log has no samples (was it written with --no-log-samples?)")
    bundle, report = bundle_of(path, FORMAT, groups)
    bundle.tapes = [_with_sample(tape, sample) for tape, sample in zip(bundle.tapes, data["samples"], strict=True)]
    return bundle, report


def _with_sample(tape: Any, sample: dict[str, Any]) -> Any:
    tags = tuple(sorted({*tape.metadata.tags, FORMAT}))
    return tape.with_metadata(tags=tags, target=sample.get("target"), scores=sample.get("scores") or {},
                              sample_id=sample.get("id"), epoch=sample.get("epoch"))


def _spans(trace: str, task: str, header: dict[str, Any], sample: dict[str, Any]) -> list[Span]:
    root = f"{0:016x}"
    start = _nanos(sample.get("started_at")) or _nanos(header.get("created"))
    question = sample.get("input")
    text = question if isinstance(question, str) else content_text((question or [{}])[-1].get("content"))
    output = (sample.get("output") or {}).get("completion") or ""
    error = (sample.get("error") or {}).get("message", "") if isinstance(sample.get("error"), dict) else ""
    spans = [agent_span(trace, root, start, task, text, str(output), end_ns=_nanos(sample.get("completed_at")), error=error)]
    events = [e for e in sample.get("events") or [] if isinstance(e, dict) and e.get("event") in ("model", "tool")]
    pool = (sample.get("events_data") or {}).get("messages") or []
    for n, event in enumerate(events, start=1):
        span_id, at = f"{n:016x}", _nanos(event.get("timestamp")) or start + n
        if event["event"] == "model":
            spans.append(_model(trace, span_id, at, root, event, pool, header))
        else:
            spans.append(tool_span(trace, span_id, at, str(event.get("function") or "tool"), event.get("arguments") or {},
                                   content_text(event.get("result")), str(event.get("id") or ""), root,
                                   error=_error_text(event.get("error"))))
    if not events:
        spans += _from_messages(trace, root, start, sample.get("messages") or [], header)
    return spans


def _model(trace: str, span_id: str, at: int, root: str, event: dict[str, Any], pool: list[Any],
           header: dict[str, Any]) -> Span:
    given = event.get("input") or [m for a, b in event.get("input_refs") or [] for m in pool[a:b]]
    output = event.get("output") or {}
    choices = output.get("choices") or [{}]
    request = {**{k: v for k, v in (event.get("config") or {}).items() if v is not None},
               "model": str(event.get("model") or header.get("model") or ""), "messages": [_message(m) for m in given],
               "tools": [{"type": "function", "function": t} for t in event.get("tools") or []]}
    usage = output.get("usage") or {}
    return model_span(trace, span_id, at, request, _message(choices[0].get("message") or {}),
                      {"prompt_tokens": usage.get("input_tokens", 0), "completion_tokens": usage.get("output_tokens", 0)},
                      root, error=_error_text(event.get("error")))


def _from_messages(trace: str, root: str, start: int, messages: list[Any], header: dict[str, Any]) -> list[Span]:
    spans = []
    for n, message in enumerate(messages):
        if isinstance(message, dict) and message.get("role") == "assistant":
            request = {"model": str(message.get("model") or header.get("model") or ""),
                       "messages": [_message(m) for m in messages[:n]]}
            spans.append(model_span(trace, f"{n + 1:016x}", start + n + 1, request, _message(message), None, root))
    return spans


def _message(message: dict[str, Any]) -> dict[str, Any]:
    """An Inspect chat message in the OpenAI chat format (Inspect names a tool call's function by a string)."""
    out: dict[str, Any] = {"role": message.get("role") or "user", "content": content_text(message.get("content"))}
    calls = [{"id": str(c.get("id") or ""), "type": "function",
              "function": {"name": str(c.get("function")), "arguments": json.dumps(c.get("arguments") or {})}}
             for c in message.get("tool_calls") or [] if isinstance(c, dict)]
    if calls:
        out["tool_calls"] = calls
    if message.get("tool_call_id"):
        out["tool_call_id"] = str(message["tool_call_id"])
    return out


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error.get("type") or "error")
    return str(error or "")


def _nanos(value: Any) -> int:
    if not value:
        return 0
    return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1e9)


register_importer(Importer(name=FORMAT, describes="Inspect AI eval logs (.json or .eval)", sniff=sniff, read=read))

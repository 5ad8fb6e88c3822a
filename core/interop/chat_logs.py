"""OpenAI chat-completions logs in: JSON Lines (or a JSON list) of request/response pairs.

A record is `{"request": {...}, "response": {...}}` (a response may be wrapped as `{"body": ...}`,
as the Batch API writes it), or `{"messages": [...]}` whose last message is the assistant's answer
(fine-tuning data, our SFT export). Records whose messages continue an earlier record's messages
and answer are one conversation, so an agent loop logged call by call comes in as one tape.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tape_studio.core.errors import InputError
from tape_studio.core.interop.fidelity import FidelityReport
from tape_studio.core.interop.importers import Importer, register_importer
from tape_studio.core.interop.tape_files import Bundle
from tape_studio.core.interop.traces.files import bundle_of
from tape_studio.core.interop.traces.readers import content_text
from tape_studio.core.interop.traces.records import model_span
from tape_studio.core.interop.traces.spans import Span

FORMAT = "openai-chat"


@dataclass(frozen=True)
class _Record:
    request: dict[str, Any]
    message: dict[str, Any]
    usage: dict[str, Any]
    created: int


def _record(item: Any) -> _Record | None:
    if not isinstance(item, dict):
        return None
    request, response = item.get("request"), item.get("response")
    if isinstance(request, dict) and isinstance(request.get("body"), dict):
        request = request["body"]
    if isinstance(response, dict) and isinstance(response.get("body"), dict):
        response = response["body"]
    if isinstance(request, dict) and isinstance(request.get("messages"), list) and isinstance(response, dict):
        choices = response.get("choices")
        message = choices[0].get("message") if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None
        if isinstance(message, dict):
            model = request.get("model") or response.get("model") or ""
            return _Record({**request, "model": model}, message, response.get("usage") or {}, int(response.get("created") or 0))
    messages = item.get("messages")
    if isinstance(messages, list) and len(messages) > 1 and all(isinstance(m, dict) and "role" in m for m in messages) \
            and messages[-1].get("role") == "assistant":
        request = {k: v for k, v in item.items() if k not in ("messages", "response")}
        return _Record({**request, "messages": messages[:-1]}, messages[-1], {}, 0)
    return None


def sniff(data: Any) -> bool:
    items = data if isinstance(data, list) else [data]
    return bool(items) and all(_record(item) is not None for item in items)


def read(path: Path, data: Any) -> tuple[Bundle, FidelityReport]:
    items = data if isinstance(data, list) else [data]
    records = []
    for n, item in enumerate(items):
        record = _record(item)
        if record is None:
            raise InputError(f"{path}: record {n + 1}: expected {{'request', 'response'}} or {{'messages'}}")
        records.append(record)
    base = int(path.stat().st_mtime) if path.exists() else 0
    groups = [(f"openai-{tape}", spans) for tape, spans in _conversations(records, base)]
    return bundle_of(path, FORMAT, groups)


def _conversations(records: list[_Record], base_s: int) -> list[tuple[str, list[Span]]]:
    """Records grouped into conversations: a record continues the one whose messages and answer it starts with."""
    open_ends: dict[tuple[Any, ...], int] = {}
    groups: list[list[tuple[int, _Record]]] = []
    for n, record in enumerate(records):
        messages = [_key(m) for m in record.request["messages"]]
        found = next((open_ends.pop(tuple(messages[:size])) for size in range(len(messages), 0, -1)
                      if tuple(messages[:size]) in open_ends), None)
        if found is None:
            found = len(groups)
            groups.append([])
        groups[found].append((n, record))
        open_ends[tuple([*messages, _key(record.message)])] = found
    out = []
    for group in groups:
        first = json.dumps([group[0][1].request, group[0][1].message], sort_keys=True, default=str)
        trace = hashlib.sha256(first.encode()).hexdigest()[:32]
        spans = [model_span(trace, f"{n:016x}", _at(record, base_s, n), record.request, record.message, record.usage)
                 for n, record in group]
        out.append((trace[:24], spans))
    return out


def _key(message: dict[str, Any]) -> tuple[Any, ...]:
    calls = tuple(str(c.get("id") or "") for c in message.get("tool_calls") or [] if isinstance(c, dict))
    return (message.get("role"), content_text(message.get("content")), calls, str(message.get("tool_call_id") or ""))


def _at(record: _Record, base_s: int, n: int) -> int:
    """A time for ordering and display: the response's own, else the file's, one microsecond per record."""
    return (record.created or base_s) * 1_000_000_000 + n * 1000


register_importer(Importer(name=FORMAT, describes="OpenAI chat-completions logs (JSONL of request/response pairs)",
                           sniff=sniff, read=read))

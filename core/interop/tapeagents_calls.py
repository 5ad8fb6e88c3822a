"""TapeAgents LLM calls (from a `tapedata.sqlite` beside the tapes, or embedded in a step) as our LLMCall.

TapeAgents records a call as `{timestamp, prompt: {id, tools, messages}, output: {role, content, ...},
prompt_length_tokens, output_length_tokens, cached, llm_info, cost}`. Our LLMCall has a place for
all of it but `tools` and the parts of `llm_info` beyond model and parameters; those go into
`params` (under "tools" and "llm_info") so nothing is dropped. An output message with more than a
role and text (tool calls) is kept whole as its JSON in `output`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import JsonValue, ValidationError

from tape_studio.core.errors import InputError
from tape_studio.core.interop.tape_files import describe_validation_error
from tape_studio.core.llm import LLMCall

SQLITE_NAME = "tapedata.sqlite"
_CHUNK = 500
"""prompt_ids per query: SQLite limits bound parameters per statement."""


def convert_call(raw: dict[str, Any], prompt_id: str, where: str) -> LLMCall:
    """One TapeAgents call record as our LLMCall; `where` names it in error messages."""
    prompt = raw.get("prompt") or {}
    output = raw.get("output", raw.get("completion")) or {}  # old releases named it `completion`
    if not isinstance(prompt, dict) or not isinstance(output, dict):
        raise InputError(f"{where}: 'prompt' and 'output' must be objects")
    info = raw.get("llm_info") or {}
    info = dict(info) if isinstance(info, dict) else {"value": info}
    model = str(info.pop("model_name", None) or info.pop("model", None) or "unknown")
    params: dict[str, JsonValue] = dict(info.pop("parameters", None) or {})
    if prompt.get("tools"):
        params["tools"] = prompt["tools"]
    if info:
        params["llm_info"] = info
    content = output.get("content")
    plain = set(output) <= {"role", "content"} and (content is None or isinstance(content, str))
    data = {
        "prompt_id": prompt_id,
        "model": model,
        "messages": prompt.get("messages") or [],
        "params": params,
        "output": (content or "") if plain else json.dumps(output, ensure_ascii=False),
        "prompt_tokens": max(0, int(raw.get("prompt_length_tokens") or 0)),  # -1 means "not counted"
        "completion_tokens": max(0, int(raw.get("output_length_tokens") or 0)),
        "cost": float(raw.get("cost") or 0.0),
        "cached": bool(raw.get("cached")),
    }
    stamp = _timestamp(raw.get("timestamp"))
    if stamp is not None:
        data["created_at"] = stamp
    try:
        return LLMCall.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{where}: {describe_validation_error(exc)}") from None


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def read_sqlite_calls(path: Path, prompt_ids: Iterable[str]) -> tuple[dict[str, LLMCall], int]:
    """The calls of `prompt_ids` found in a TapeAgents sqlite, and how many rows it holds in all."""
    wanted = sorted(set(prompt_ids))
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InputError(f"{path}: cannot open: {exc}") from None
    try:
        conn.row_factory = sqlite3.Row
        total = int(conn.execute("SELECT COUNT(*) FROM LLMCalls").fetchone()[0])
        calls: dict[str, LLMCall] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            rows = conn.execute(
                f"SELECT * FROM LLMCalls WHERE prompt_id IN ({','.join('?' * len(chunk))})", chunk)
            for row in rows:
                calls[row["prompt_id"]] = convert_call(_row_record(path, dict(row)), row["prompt_id"],
                                                       f"{path}: LLMCalls[{row['prompt_id']!r}]")
        return calls, total
    except sqlite3.Error as exc:
        raise InputError(f"{path}: not a TapeAgents tapedata.sqlite ({exc})") from None
    finally:
        conn.close()


def _row_record(path: Path, row: dict[str, Any]) -> dict[str, Any]:
    """A sqlite row with its JSON columns decoded; old databases lack `llm_info` and `cost`."""
    record = dict(row)
    for column in ("prompt", "output", "completion", "llm_info"):
        text = record.get(column)
        if isinstance(text, (str, bytes)):
            try:
                record[column] = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}: LLMCalls[{row['prompt_id']!r}].{column}: invalid JSON "
                                 f"at column {exc.colno}: {exc.msg}") from None
    return record

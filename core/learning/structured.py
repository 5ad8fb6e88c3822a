"""JSON-schema response formats and tolerant reading of what a small model returns for them.

The learning roles ask for short JSON objects with `maxLength` on every string: constrained
decoding keeps a 135M model on format and the caps stop it from looping. Output that still cannot
be read comes back as None; the caller records it as a rejected or empty result, never a crash.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import JsonValue

from tape_studio.core.nodes import ParseError, read_json_object

_TRAILING_COMMA = re.compile(r",\s*([\]}])")


def text(max_length: int) -> dict[str, JsonValue]:
    return {"type": "string", "maxLength": max_length}


def text_list(max_length: int, max_items: int) -> dict[str, JsonValue]:
    return {"type": "array", "items": text(max_length), "maxItems": max_items}


def schema(name: str, properties: dict[str, JsonValue], required: list[str] | None = None) -> dict[str, JsonValue]:
    """An OpenAI-style `response_format` for an object with these properties (all required by default)."""
    body: dict[str, JsonValue] = {"type": "object", "properties": properties,
                                  "required": list(properties) if required is None else required}  # type: ignore[dict-item]
    return {"type": "json_schema", "json_schema": {"name": name, "schema": body}}


def read_object(output: str) -> dict[str, Any] | None:
    """The JSON object in `output`, repairing trailing commas and cut-off endings; None if hopeless."""
    start = output.find("{")
    if start < 0:
        return None
    candidate = _TRAILING_COMMA.sub(r"\1", output[start:])
    try:
        value = json.loads(candidate)
        return value if isinstance(value, dict) else None
    except json.JSONDecodeError:
        pass
    try:
        return read_json_object(candidate)
    except ParseError:
        return None


def field_text(data: dict[str, Any], name: str, limit: int) -> str:
    """A string field, stripped and capped; "" when absent or not text."""
    value = data.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return value.strip()[:limit] if isinstance(value, str) else ""


def field_texts(data: dict[str, Any], name: str, limit: int, max_items: int) -> list[str]:
    """A list of strings (a lone string counts as one item), blanks and repeats dropped."""
    value = data.get(name)
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    seen: list[str] = []
    for item in items:
        if isinstance(item, str) and item.strip() and item.strip()[:limit] not in seen:
            seen.append(item.strip()[:limit])
    return seen[:max_items]


def clip(value: str, limit: int) -> str:
    """At most `limit` characters, marked when cut, so long tool results cannot flood a prompt."""
    value = value.strip()
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"

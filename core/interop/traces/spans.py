"""Spans and log records as plain values, whatever wire or file they came from.

Ids are lowercase hex (as OTLP/JSON writes them), times are nanoseconds since the epoch, and
attribute values are JSON values (OTLP's AnyValue: text, numbers, booleans, lists, maps).
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict, Field, JsonValue


class SpanEvent(BaseModel):
    """An event inside a span (older GenAI instrumentations put message contents here)."""

    model_config = ConfigDict(frozen=True)

    name: str
    time_ns: int = 0
    attributes: dict[str, JsonValue] = Field(default_factory=dict)


class Span(BaseModel):
    """One finished span."""

    model_config = ConfigDict(frozen=True)

    trace_id: str
    span_id: str
    parent_id: str = ""
    name: str = ""
    kind: int = 0
    start_ns: int = 0
    end_ns: int = 0
    attributes: dict[str, JsonValue] = Field(default_factory=dict)
    events: tuple[SpanEvent, ...] = ()
    status_code: int = 0
    """OTLP status: 0 unset, 1 ok, 2 error."""
    status_message: str = ""
    resource: dict[str, JsonValue] = Field(default_factory=dict)
    scope: str = ""


class LogEvent(BaseModel):
    """One OTLP log record; GenAI instrumentations emit message events as these, tied to a span."""

    model_config = ConfigDict(frozen=True)

    trace_id: str = ""
    span_id: str = ""
    time_ns: int = 0
    event_name: str = ""
    body: JsonValue = None
    attributes: dict[str, JsonValue] = Field(default_factory=dict)

    def key(self) -> str:
        """Identity for deduplication: log records have no id, so a re-sent record is known by content."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    @property
    def name(self) -> str:
        """The event's name: the record's own field, or the older `event.name` attribute."""
        return self.event_name or str(self.attributes.get("event.name") or "")


class TraceBatch(BaseModel):
    """Spans and log records that arrived together (one request, one file)."""

    spans: list[Span] = Field(default_factory=list)
    logs: list[LogEvent] = Field(default_factory=list)

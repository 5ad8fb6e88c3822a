"""Spans and log records into the store, and the tapes they make rebuilt, idempotently.

Every span and log record is kept (table `otel_spans`, `otel_logs`), keyed by its ids (a log record
by its content), so a re-sent piece changes nothing. After each batch the tape of every group it
touched is rebuilt from all of that group's pieces and synced into the store: steps that did not
change stay, the rest is rewritten in one transaction. So spans may arrive in any order, in any
number of requests or files, and log records before or after their spans.

A trace goes to the tape of its session (`session.id`, `gen_ai.conversation.id`) once one of its
spans names one, else to a tape of its own; a trace that learns its session later moves there.
"""

from __future__ import annotations

import threading

from pydantic import BaseModel, Field, PrivateAttr

from tape_studio.core.interop.traces.builder import Built, Readings, build_tape, group_key, tape_id_for
from tape_studio.core.interop.traces.spans import LogEvent, Span, TraceBatch
from tape_studio.core.store import Store
from tape_studio.core.tape import utc_now

_LOCK = threading.Lock()
"""One batch at a time per process: a rebuild must see every piece written before it."""
_READINGS: Readings = {}
_READINGS_KEPT = 200_000


class IngestReport(BaseModel):
    """What one batch added and which tapes it changed."""

    spans: int = 0
    new_spans: int = 0
    logs: int = 0
    new_logs: int = 0
    tapes: list[str] = Field(default_factory=list)
    """Tapes created or changed by this batch."""
    waiting_logs: int = 0
    """Log records whose trace has no span here yet; they join its tape when the spans come."""
    _built: dict[str, Built] = PrivateAttr(default_factory=dict)

    def built(self) -> dict[str, Built]:
        """The tapes this batch rebuilt, with what each build read and kept (for fidelity reports)."""
        return self._built


def ingest(store: Store, batch: TraceBatch) -> IngestReport:
    """Stores a batch and rebuilds the tapes it touched; returns what changed."""
    with _LOCK:
        report = IngestReport(spans=len(batch.spans), logs=len(batch.logs))
        touched = _store_pieces(store, batch, report)
        for tape_id in sorted(touched):
            built = rebuild(store, tape_id)
            if built is not None:
                report.tapes.append(tape_id)
                report._built[tape_id] = built
        return report


def rebuild(store: Store, tape_id: str) -> Built | None:
    """The tape of one group, rebuilt from every stored piece and synced; None when it has no spans."""
    spans = [Span.model_validate_json(row[0]) for row in
             store.query("SELECT data FROM otel_spans WHERE tape_id = ? ORDER BY trace_id, span_id", (tape_id,))]
    if not spans:
        if store.has_tape(tape_id):
            store.delete_tape(tape_id)  # its traces moved to their session's tape
        return None
    traces = sorted({span.trace_id for span in spans})
    marks = ",".join("?" * len(traces))
    logs = [LogEvent.model_validate_json(row[0]) for row in
            store.query(f"SELECT data FROM otel_logs WHERE trace_id IN ({marks}) ORDER BY key", traces)]
    if len(_READINGS) > _READINGS_KEPT:
        _READINGS.clear()
    built = build_tape(tape_id, spans, logs, readings=_READINGS)
    store.sync_tape(built.tape, built.calls)
    return built


def _store_pieces(store: Store, batch: TraceBatch, report: IngestReport) -> set[str]:
    now = utc_now().isoformat()
    touched: set[str] = set()
    by_trace: dict[str, list[Span]] = {}
    for span in batch.spans:
        by_trace.setdefault(span.trace_id, []).append(span)
    with store.transaction() as conn:
        for trace_id, spans in by_trace.items():
            stored = [row[0] for row in conn.execute("SELECT DISTINCT tape_id FROM otel_spans WHERE trace_id = ?", (trace_id,))]
            group = group_key(spans)
            tape_id = tape_id_for(group) if group.startswith("session:") or not stored else stored[0]
            for old in stored:
                if old != tape_id:
                    conn.execute("UPDATE otel_spans SET tape_id = ? WHERE trace_id = ?", (tape_id, trace_id))
                    touched.add(old)
            added = conn.executemany(
                "INSERT OR IGNORE INTO otel_spans VALUES (?, ?, ?, ?, ?)",
                [(s.trace_id, s.span_id, tape_id, s.model_dump_json(), now) for s in spans]).rowcount
            report.new_spans += added
            if added or tape_id not in stored:
                touched.add(tape_id)
        for log in batch.logs:
            if conn.execute("INSERT OR IGNORE INTO otel_logs VALUES (?, ?, ?, ?)",
                            (log.key(), log.trace_id, log.model_dump_json(), now)).rowcount:
                report.new_logs += 1
                owners = [row[0] for row in conn.execute(
                    "SELECT DISTINCT tape_id FROM otel_spans WHERE trace_id = ?", (log.trace_id,))]
                touched.update(owners)
                report.waiting_logs += not owners
    return touched


def tapes_of_traces(store: Store, trace_ids: list[str]) -> list[str]:
    """The tapes that hold these traces now."""
    marks = ",".join("?" * len(trace_ids))
    rows = store.query(f"SELECT DISTINCT tape_id FROM otel_spans WHERE trace_id IN ({marks}) ORDER BY tape_id", trace_ids)
    return [row[0] for row in rows]


"""Trace files in: OTLP/JSON (one document, or JSON Lines of them as the Collector's file exporter
writes) of spans and log records, and the tapes of foreign logs our importers turn into spans.

OTLP pieces are ingested like the receiver's (core/interop/traces/ingest.py), so log records in
one file join the tape their spans made from another file, or from `tape-studio collect`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tape_studio.core.interop.fidelity import FidelityReport, measure
from tape_studio.core.interop.tape_files import Bundle, ImportReport
from tape_studio.core.interop.traces.builder import Built, build_tape
from tape_studio.core.interop.traces.ingest import ingest, tapes_of_traces
from tape_studio.core.interop.traces.otlp_decode import decode_json, is_otlp_json
from tape_studio.core.interop.traces.spans import Span, TraceBatch
from tape_studio.core.store import Store
from tape_studio.core.tape import GenericStep

FORMAT = "otlp"


def is_trace_file(data: Any) -> bool:
    """One OTLP/JSON document, or a list of them (a JSON Lines file)."""
    return is_otlp_json(data) or (isinstance(data, list) and bool(data) and all(is_otlp_json(d) for d in data))


def read_trace_file(path: Path, data: Any) -> TraceBatch:
    documents = data if isinstance(data, list) else [data]
    batch = TraceBatch()
    for n, document in enumerate(documents):
        where = f"{path}: line {n + 1}: " if isinstance(data, list) else f"{path}: "
        piece = decode_json(document, where=where)
        batch.spans += piece.spans
        batch.logs += piece.logs
    return batch


def import_traces(store: Store, path: Path | str, batch: TraceBatch) -> ImportReport:
    """Ingests a file's spans and log records; tapes that gained nothing count as already present."""
    traces = sorted({s.trace_id for s in batch.spans} | {log.trace_id for log in batch.logs})
    existed = {tape_id for tape_id in tapes_of_traces(store, traces)} if traces else set()
    ingested = ingest(store, batch)
    changed = set(ingested.tapes)
    ours = tapes_of_traces(store, traces) if traces else []
    tapes = [store.load_tape(tape_id) for tape_id in ours]
    calls = [call for tape_id in ours for call in store.calls_for_tape(tape_id)]
    fidelity = measure(str(path), _conventions(ingested.built().values()), tapes, calls)
    fidelity.kept = _kept(list(ingested.built().values()))
    if ingested.waiting_logs:
        fidelity.kept.append(f"{ingested.waiting_logs} log records of traces with no span here yet (they join "
                             "their tape when its spans are imported or received)")
    return ImportReport(
        source=str(path), format=FORMAT, fidelity=fidelity,
        imported=[t for t in ours if t in changed and t not in existed],
        skipped_existing=[t for t in ours if t not in changed],
        updated=[t for t in ours if t in changed and t in existed],
        steps=sum(len(t.steps) for t in tapes if t.id in changed), llm_calls=len(calls),
    )


def bundle_of(path: Path | str, fmt: str, groups: Sequence[tuple[str, list[Span]]]) -> tuple[Bundle, FidelityReport]:
    """Tapes built from spans our importers made (one group of spans per tape), and the report."""
    builds = [build_tape(tape_id, spans, [], source=fmt) for tape_id, spans in groups]
    tapes = [b.tape for b in builds]
    calls = [call for b in builds for call in b.calls]
    generic = sorted({s.kind for t in tapes for s in t.steps if isinstance(s, GenericStep)})
    report = measure(str(path), fmt, tapes, calls)
    report.kept = _kept(builds)
    return Bundle(tapes=tapes, llm_calls=calls, generic_kinds=generic), report


def _conventions(builds: Any) -> str:
    names = sorted({name for b in builds for name in b.conventions})
    return f"{FORMAT} ({', '.join(names)})" if names else FORMAT


def _kept(builds: list[Built]) -> list[str]:
    lines = []
    in_context = sum(b.spans_in_context for b in builds)
    if in_context:
        lines.append(f"{in_context} spans (or runs) that map to no step, whole, in the tape context")
    attributes = sum(b.attributes_kept for b in builds)
    if attributes:
        lines.append(f"{attributes} span attributes no convention maps, in their step's metadata.other")
    return lines

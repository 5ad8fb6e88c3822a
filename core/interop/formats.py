"""Which format a file is in, and reading any of them into one validated bundle plus its fidelity report.

Detection looks at content, not names (except YAML, which only TapeAgents writes):
- an object with `resourceSpans` or `resourceLogs` (or JSON Lines of them) is OTLP: our own export
  comes back exactly, any other trace is read by convention (core/interop/traces/);
- an object with `tapes` or `"format": "tape-studio"` is our bundle;
- a bare tape or list of tapes is ours when every tape's metadata has `created_at` and `status`
  (fields TapeAgents never writes), otherwise TapeAgents';
- then each registered importer (core/interop/importers.py) is asked;
- anything else is refused with one line: a file is never imported as empty tapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tape_studio.core.collector import collector_paused
from tape_studio.core.errors import InputError
from tape_studio.core.files import MAX_INPUT_BYTES, parse_json, read_input, require_regular
from tape_studio.core.interop import tape_files
from tape_studio.core.interop.fidelity import FidelityReport, measure
from tape_studio.core.interop.importers import described, find_importer
from tape_studio.core.interop.otel_import import is_our_export, read_otlp
from tape_studio.core.interop.tapeagents import read_tapeagents
from tape_studio.core.interop.traces.files import is_trace_file, read_trace_file
from tape_studio.core.interop.traces.spans import TraceBatch

Format = str
""""tape-studio", "tapeagents", "otlp", or the name of a registered importer."""


@dataclass(frozen=True)
class LoadedFile:
    """A whole file, converted and validated, not yet written anywhere."""

    format: Format
    bundle: tape_files.Bundle
    fidelity: FidelityReport
    traces: TraceBatch | None = None
    """Foreign OTLP pieces: stored and merged with their traces' other pieces, not saved as a bundle."""


def read_file(path: Path, max_bytes: int = MAX_INPUT_BYTES) -> LoadedFile:
    """Reads and converts one file; raises InputError (file and place named) if any of it is bad.
    Only regular files of at most `max_bytes` are read."""
    with collector_paused():  # a file of many tapes is hundreds of thousands of new, acyclic objects
        return _read_file(Path(path), max_bytes)


def _read_file(path: Path, max_bytes: int) -> LoadedFile:
    if path.suffix.lower() in (".yaml", ".yml"):
        return _loaded("tapeagents", *read_tapeagents(path, max_bytes=max_bytes))
    data = _json(path, max_bytes)
    fmt = detect(data)
    if fmt is None:
        raise InputError(f"{path}: not a format Tape Studio imports; expected {_expected()}")
    if fmt == "tapeagents":
        return _loaded(fmt, *read_tapeagents(path, data))
    if fmt == "otlp" and not is_our_export(data):
        batch = read_trace_file(path, data)
        if not batch.spans and not batch.logs:
            raise InputError(f"{path}: no spans or log records to import")
        return LoadedFile(format=fmt, bundle=tape_files.Bundle(), fidelity=measure(str(path), fmt, [], []), traces=batch)
    if fmt not in ("otlp", "tape-studio"):
        importer = find_importer(data)
        assert importer is not None
        return _loaded(fmt, *importer.read(path, data))
    bundle = read_otlp(path, data) if fmt == "otlp" else tape_files.read_bundle(path, data)
    return _loaded(fmt, bundle, measure(str(path), fmt, bundle.tapes, bundle.llm_calls))


def detect(data: Any) -> Format | None:
    """The format of parsed file content, or None when no reader knows it."""
    if is_trace_file(data):
        return "otlp"
    if isinstance(data, dict) and ("tapes" in data or data.get("format") == tape_files.FORMAT):
        return "tape-studio"
    tapes = data if isinstance(data, list) else [data]
    if tapes and all(isinstance(t, dict) and isinstance(t.get("steps"), list) for t in tapes):
        ours = all(isinstance(t.get("metadata"), dict) and {"created_at", "status"} <= set(t["metadata"]) for t in tapes)
        return "tape-studio" if ours else "tapeagents"
    importer = find_importer(data)
    return importer.name if importer is not None else None


def _expected() -> str:
    return ", ".join(["a Tape Studio bundle (tape-studio export)", "TapeAgents tapes (JSON or YAML)",
                      "OTLP JSON or JSON Lines traces or logs (OpenTelemetry GenAI, OpenInference)", *described()])


def _json(path: Path, max_bytes: int) -> Any:
    """The file's JSON value, read within the import bounds; a JSON Lines file (`.jsonl`, or several
    values one per line) is the list of its values, an Inspect `.eval` archive the log it holds."""
    if path.suffix.lower() == ".eval":
        from tape_studio.core.interop.inspect_logs import load_archive

        require_regular(path)
        return load_archive(path, max_bytes)
    text = read_input(path, max_bytes)
    if path.suffix.lower() != ".jsonl":
        try:
            return parse_json(path, text)
        except InputError as exc:
            if "Extra data" not in str(exc):
                raise
    values = [parse_json(Path(f"{path}: line {n}"), line) for n, line in enumerate(text.splitlines(), start=1)
              if line.strip()]
    if not values:
        raise InputError(f"{path}: the file has no JSON lines")
    return values


def _loaded(fmt: Format, bundle: tape_files.Bundle, fidelity: FidelityReport) -> LoadedFile:
    return LoadedFile(format=fmt, bundle=bundle, fidelity=fidelity)

"""Which format a file is in, and reading any of them into one validated bundle plus its fidelity report.

Detection looks at content, not names (except YAML, which only TapeAgents writes):
- an object with `resourceSpans` is OTLP JSON;
- an object with `tapes` or `"format": "tape-studio"` is our bundle;
- a bare tape or list of tapes is ours when every tape's metadata has `created_at` and `status`
  (fields TapeAgents never writes), otherwise TapeAgents'.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tape_studio.core.files import MAX_INPUT_BYTES, read_json
from tape_studio.core.interop import tape_files
from tape_studio.core.interop.fidelity import FidelityReport, measure
from tape_studio.core.interop.otel_import import is_otlp, read_otlp
from tape_studio.core.interop.tapeagents import read_tapeagents

Format = Literal["tape-studio", "tapeagents", "otlp"]


@dataclass(frozen=True)
class LoadedFile:
    """A whole file, converted and validated, not yet written anywhere."""

    format: Format
    bundle: tape_files.Bundle
    fidelity: FidelityReport


def read_file(path: Path, max_bytes: int = MAX_INPUT_BYTES) -> LoadedFile:
    """Reads and converts one file; raises InputError (file and place named) if any of it is bad.
    Only regular files of at most `max_bytes` are read."""
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        return _loaded("tapeagents", *read_tapeagents(path, max_bytes=max_bytes))
    data = read_json(path, max_bytes)
    fmt = detect(data)
    if fmt == "tapeagents":
        return _loaded(fmt, *read_tapeagents(path, data))
    bundle = read_otlp(path, data) if fmt == "otlp" else tape_files.read_bundle(path, data)
    return _loaded(fmt, bundle, measure(str(path), fmt, bundle.tapes, bundle.llm_calls))


def detect(data: Any) -> Format:
    if is_otlp(data):
        return "otlp"
    if isinstance(data, dict) and ("tapes" in data or data.get("format") == tape_files.FORMAT):
        return "tape-studio"
    tapes = data if isinstance(data, list) else [data]
    if tapes and all(isinstance(t, dict) and isinstance(t.get("steps"), list) for t in tapes):
        ours = all(isinstance(t.get("metadata"), dict) and {"created_at", "status"} <= set(t["metadata"]) for t in tapes)
        return "tape-studio" if ours else "tapeagents"
    return "tape-studio"  # let the strict reader say what is wrong


def _loaded(fmt: Format, bundle: tape_files.Bundle, fidelity: FidelityReport) -> LoadedFile:
    return LoadedFile(format=fmt, bundle=bundle, fidelity=fidelity)

"""Helpers of the Data page: uploads through the import path, exports as downloads.

Plain functions (no widgets), so the page stays a thin script and these stay testable.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from tape_studio.core.errors import TapeStudioError
from tape_studio.core.interop.exporting import ExportFormat, ExportReport, TapeSelection, render_export
from tape_studio.core.interop.tape_files import ImportReport
from tape_studio.core.interop.tapeagents_calls import SQLITE_NAME
from tape_studio.core.workspace import Workspace

FILE_NAMES: dict[ExportFormat, tuple[str, str]] = {
    "bundle": ("tapes.json", "application/json"),
    "sft": ("sft.jsonl", "application/jsonl"),
    "dpo": ("dpo.jsonl", "application/jsonl"),
    "otel": ("traces.otlp.json", "application/json"),
    "openinference": ("traces.openinference.json", "application/json"),
}
"""Download name and MIME type per export format."""


class Upload(Protocol):
    """What the page needs of an uploaded file (Streamlit's UploadedFile has it)."""

    name: str

    def getvalue(self) -> bytes: ...


def import_uploads(ws: Workspace, uploads: Sequence[Upload]) -> list[ImportReport | str]:
    """Imports uploaded files the way `tape-studio import` does, each whole or not at all.

    The files are written side by side to a temporary folder first, so a `tapedata.sqlite`
    uploaded with TapeAgents tapes lies beside them as it would on disk. An error is returned
    as its one-line message in place of that file's report."""
    results: list[ImportReport | str] = []
    with tempfile.TemporaryDirectory(prefix="tape-studio-upload-") as folder:
        paths = [_save(Path(folder), upload) for upload in uploads]
        for path in paths:
            if path.name == SQLITE_NAME:
                continue
            try:
                report = ws.import_file(path)
                fidelity = report.fidelity and report.fidelity.model_copy(update={"source": path.name})
                results.append(report.model_copy(update={"source": path.name, "fidelity": fidelity}))
            except TapeStudioError as exc:
                results.append(str(exc).replace(folder + "/", ""))  # the temporary folder means nothing to the user
    return results


def _save(folder: Path, upload: Upload) -> Path:
    # Only the last part of the name, and only ordinary characters: the name comes from the browser.
    name = re.sub(r"[^\w.\-]", "_", Path(upload.name).name) or "upload.json"
    path = folder / name
    path.write_bytes(upload.getvalue())
    return path


def export_download(ws: Workspace, selection: TapeSelection, fmt: ExportFormat) -> tuple[bytes, ExportReport]:
    """The export file's bytes (for a download button) and its report."""
    text, report = render_export(ws, selection, fmt)
    return text.encode("utf-8"), report


def skipped_rows(report: ExportReport) -> list[dict[str, str]]:
    return [skipped.model_dump() for skipped in report.skipped]

"""Exports of stored tapes in every format: which tapes (a selection), what comes out, what was skipped.

`render_export` builds the file's text in memory (the studio hands it to a download button);
`export_to_file` writes it atomically (the CLI). Both return the same report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from tape_studio.core.agent import Agent
from tape_studio.core.errors import InputError, TapeStudioError
from tape_studio.core.files import write_atomic
from tape_studio.core.interop import tape_files
from tape_studio.core.interop.finetune import Record, Skipped, StepGroup, step_groups
from tape_studio.core.interop.openinference_export import to_openinference
from tape_studio.core.interop.otel import to_otlp
from tape_studio.core.interop.preferences import (
    Evidence,
    divergent_group,
    preference_record,
    preferred,
)
from tape_studio.core.llm import LLMCall
from tape_studio.core.store import TapeFilter
from tape_studio.core.tape import Tape

if TYPE_CHECKING:
    from tape_studio.core.workspace import Workspace

ExportFormat = Literal["bundle", "sft", "dpo", "otel", "openinference"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("bundle", "sft", "dpo", "otel", "openinference")
_PAGE = 500


class TapeSelection(BaseModel):
    """Which stored tapes to export: named ones, or every tape that passes the filters."""

    ids: list[str] = Field(default_factory=list)
    agent: str | None = None
    successful: bool = False
    """Only completed tapes without an error."""
    min_score: float | None = None
    tags: list[str] = Field(default_factory=list)
    """A tape must carry every one of these tags."""


class ExportReport(BaseModel):
    """What an export wrote and what it left out, with reasons."""

    format: ExportFormat
    out: str = ""
    tapes: int = 0
    records: int = 0
    """Tapes (bundle, otel) or lines (sft, dpo) written."""
    llm_calls: int = 0
    ties: int = 0
    """Preference pairs skipped because nothing said which side was better."""
    skipped: list[Skipped] = Field(default_factory=list)

    def summary(self) -> str:
        """One line for the CLI and the studio."""
        if self.format in ("bundle", "otel", "openinference"):
            return f"{self.format}: {self.tapes} tapes, {self.llm_calls} LLM calls"
        unit, left_out = ("records", "step groups not exported") if self.format == "sft" else ("pairs", "pairs not made")
        parts = [f"{self.format}: {self.records} {unit} from {self.tapes} tapes"]
        if self.format == "dpo":
            parts.append(f"{self.ties} ties skipped")
        if self.skipped:
            parts.append(f"{len(self.skipped)} {left_out}")
        return "; ".join(parts)


def select_tapes(ws: Workspace, selection: TapeSelection) -> list[Tape]:
    """The selected tapes, oldest first, each loaded whole."""
    if selection.ids:
        tapes = [ws.store.load_tape(tape_id) for tape_id in selection.ids]
        scores = {t.id: ws.store.summary(t.id).score for t in tapes}
    else:
        where = TapeFilter(agent=selection.agent, status="completed" if selection.successful else None,
                           min_score=selection.min_score, limit=_PAGE)
        rows, offset = [], 0
        while page := ws.store.list_tapes(where.model_copy(update={"offset": offset})):
            rows += page
            offset += _PAGE
        rows.reverse()
        scores = {row.id: row.score for row in rows}
        tapes = [ws.store.load_tape(row.id) for row in rows]
    return [t for t in tapes if _passes(t, scores.get(t.id), selection)]


def _passes(tape: Tape, score: float | None, selection: TapeSelection) -> bool:
    meta = tape.metadata
    if selection.agent and meta.agent != selection.agent:
        return False
    if selection.successful and (meta.status != "completed" or meta.error):
        return False
    if selection.min_score is not None and (score is None or score < selection.min_score):
        return False
    return set(selection.tags) <= set(meta.tags)


def render_export(ws: Workspace, selection: TapeSelection, fmt: ExportFormat) -> tuple[str, ExportReport]:
    """The export file's text and its report; raises InputError when nothing is selected."""
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    tapes = select_tapes(ws, selection)
    if not tapes:
        raise InputError("no stored tape matches the selection")
    report = ExportReport(format=fmt, tapes=len(tapes))
    if fmt in ("bundle", "otel", "openinference"):
        calls = _calls(ws, tapes)
        report.records, report.llm_calls = len(tapes), len(calls)
        if fmt in ("otel", "openinference"):
            traces = to_otlp(tapes, calls) if fmt == "otel" else to_openinference(tapes, calls)
            return json.dumps(traces, ensure_ascii=False, indent=1), report
        return tape_files.dump_bundle(tapes, calls, ws.specs_of(tapes)), report
    lines = _sft_lines(ws, tapes, report) if fmt == "sft" else _dpo_lines(ws, tapes, report)
    report.records = len(lines)
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), report


def export_to_file(ws: Workspace, selection: TapeSelection, fmt: ExportFormat, out: Path) -> ExportReport:
    text, report = render_export(ws, selection, fmt)
    write_atomic(Path(out), text)
    report.out = str(out)
    return report


# --- formats ------------------------------------------------------------------------------------


def _calls(ws: Workspace, tapes: list[Tape]) -> list[LLMCall]:
    calls = {c.prompt_id: c for t in tapes for c in ws.store.calls_for_tape(t.id)}
    return list(calls.values())


def _groups(ws: Workspace, tape: Tape, agents: dict[str, Agent | None]) -> tuple[list[StepGroup], list[Skipped]]:
    calls = {c.prompt_id: c for c in ws.store.calls_for_tape(tape.id)}
    return step_groups(tape, agent_for(ws, tape, agents), calls)


def _sft_lines(ws: Workspace, tapes: list[Tape], report: ExportReport) -> list[Record]:
    agents: dict[str, Agent | None] = {}
    lines: list[Record] = []
    for tape in tapes:
        groups, skipped = _groups(ws, tape, agents)
        lines += [group.record() for group in groups]
        report.skipped += skipped
    return lines


def _dpo_lines(ws: Workspace, tapes: list[Tape], report: ExportReport) -> list[Record]:
    agents: dict[str, Agent | None] = {}
    lines: list[Record] = []
    for fork in tapes:
        meta = fork.metadata
        if meta.parent_id is None or meta.fork_step is None or not ws.store.has_tape(meta.parent_id):
            continue  # only forks whose original is here make pairs
        original = ws.store.load_tape(meta.parent_id)
        where = f"fork point {meta.fork_step}"
        mine = divergent_group(_groups(ws, fork, agents)[0], meta.fork_step)
        theirs = divergent_group(_groups(ws, original, agents)[0], meta.fork_step)
        reason = _pair_problem(mine, theirs)
        if reason:
            report.skipped.append(Skipped(tape_id=fork.id, steps=where, reason=reason))
            continue
        assert mine is not None and theirs is not None
        winner = preferred(_evidence(ws, original.id), _evidence(ws, fork.id))
        if winner is None:
            report.ties += 1
            continue
        chosen, rejected = (mine, theirs) if winner == "fork" else (theirs, mine)
        lines.append(preference_record(mine.prompt, chosen.completion, rejected.completion))
    return lines


def _pair_problem(mine: StepGroup | None, theirs: StepGroup | None) -> str:
    if mine is None or theirs is None:
        return "no LLM-made step group at or after the fork point in both tapes"
    if mine.start != theirs.start or mine.prompt != theirs.prompt:
        return "the prompts differ at the fork point (the fork changed what the node sees, not what it wrote)"
    if mine.completion == theirs.completion:
        return "both tapes continue the same way at the fork point"
    return ""


def _evidence(ws: Workspace, tape_id: str) -> Evidence:
    notes = tuple(a.text for a in ws.store.annotations(tape_id))
    return Evidence(score=ws.store.summary(tape_id).score, annotations=notes)


def agent_for(ws: Workspace, tape: Tape, cache: dict[str, Agent | None]) -> Agent | None:
    """The agent whose nodes rebuild this tape's prompts, or None for a tape with no spec here
    (foreign tapes: their fine-tuning data comes from their recorded calls)."""
    meta = tape.metadata
    if (meta.model_extra or {}).get("source") and not meta.spec_id:
        return None
    key = meta.spec_id or meta.agent
    if key not in cache:
        try:
            cache[key] = ws.agent(ws.spec_of(tape))
        except TapeStudioError:
            cache[key] = None
    return cache[key]

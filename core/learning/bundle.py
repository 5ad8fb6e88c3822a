"""A training run as one file: the tape bundle (forward and record tapes with their LLM calls)
plus the run's specs and rows. Any tape importer reads the tapes; `import_run` adds the rest, so
the studio's Train page can show a recorded run (demo_tapes/training/) on a fresh store."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field, FiniteFloat

from tape_studio.core.errors import InputError
from tape_studio.core.files import write_atomic
from tape_studio.core.interop import tape_files
from tape_studio.core.learning import records as rec
from tape_studio.core.learning.records import StepRow, TrainingRun
from tape_studio.core.spec import AgentSpec
from tape_studio.core.store import Store


class RunRecord(BaseModel):
    """A run and its committed rows, as stored."""

    run: TrainingRun
    rows: list[StepRow]


class RunBundle(tape_files.Bundle):
    """A tape bundle that also carries training runs and every spec version they name."""

    specs: list[AgentSpec] = Field(default_factory=list)
    training_runs: list[RunRecord] = Field(default_factory=list)
    # Each forward tape's metric score, so the Train page can compare any two versions of an
    # imported run (and list its flips with scores) just as on the store that trained it.
    scores: dict[str, FiniteFloat] = Field(default_factory=dict)


def run_tape_ids(store: Store, run_id: str) -> list[str]:
    """Every tape the run made: forward tapes (all splits, gate reruns) and record tapes."""
    rows = store.query("SELECT id FROM tapes WHERE json_extract(context, '$.run_id') = ? ORDER BY created_at, id",
                       (run_id,))
    return [row["id"] for row in rows]


def _spec_ids(run: TrainingRun, rows: list[StepRow]) -> list[str]:
    ids = [run.spec_id] + [i for r in rows for i in (r.spec_before, r.spec_id, r.candidate_spec_id) if i]
    return list(dict.fromkeys(ids))


def export_run(store: Store, run_id: str, path: Path) -> int:
    """Writes the run to `path` atomically; returns how many tapes went with it."""
    run, rows = rec.load_run(store, run_id), rec.load_rows(store, run_id)
    tape_ids = run_tape_ids(store, run_id)
    tapes = [store.load_tape(tape_id) for tape_id in tape_ids]
    calls = list({c.prompt_id: c for tape_id in tape_ids for c in store.calls_for_tape(tape_id)}.values())
    scores = {tape_id: score for tape_id in tape_ids if (score := store.summary(tape_id).score) is not None}
    bundle = RunBundle(tapes=tapes, llm_calls=calls, specs=[store.load_spec(i) for i in _spec_ids(run, rows)],
                       training_runs=[RunRecord(run=run, rows=rows)], scores=scores)
    write_atomic(path, bundle.model_dump_json(exclude={"specs": {"__all__": {"id"}}}))
    return len(tapes)


def read_run_bundle(path: Path) -> RunBundle:
    bundle = tape_files.read_bundle(path)  # validates the tapes, with errors that name the place
    try:
        extra = json.loads(Path(path).read_text(encoding="utf-8"))
        return RunBundle.model_validate({**bundle.model_dump(), "specs": extra.get("specs", []),
                                         "training_runs": extra.get("training_runs", []),
                                         "scores": extra.get("scores", {})})
    except ValueError as exc:
        raise InputError(f"{path}: not a training run bundle: {str(exc).splitlines()[0]}") from None


def import_run(store: Store, bundle: RunBundle, source: Path | str) -> list[str]:
    """Saves the bundle's tapes, specs and runs; runs already in the store are left alone."""
    tape_files.save_bundle(store, bundle, source=source)
    for spec in bundle.specs:
        store.save_spec(spec)
    known = {tape.id for tape in bundle.tapes}
    for tape_id, score in bundle.scores.items():
        if tape_id in known:  # a score for a tape the file does not carry is ignored, not stored
            store.set_score(tape_id, score)
    imported = []
    for record in bundle.training_runs:
        if store.query("SELECT 1 FROM training_runs WHERE id = ?", (record.run.id,)):
            continue
        rec.save_run(store, record.run)
        for row in record.rows:
            rec.commit_row(store, record.run, row)
        imported.append(record.run.id)
    return imported

"""Experiments travel with their forks: an experiment file is an ordinary bundle (any import reads
its tapes) with an `experiments` list beside the tapes, which `experiment import` restores."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from tape_studio.core.errors import InputError
from tape_studio.core.experiments import records
from tape_studio.core.experiments.model import Experiment, TapeRun
from tape_studio.core.files import MAX_INPUT_BYTES, read_json, write_atomic
from tape_studio.core.interop import tape_files
from tape_studio.core.interop.tape_files import ImportReport
from tape_studio.core.workspace import Workspace


class ExperimentRecord(BaseModel):
    """One experiment and its rows, as a bundle carries them."""

    experiment: Experiment
    rows: list[TapeRun] = Field(default_factory=list)


def experiment_bundle(ws: Workspace, experiment_ids: list[str]) -> str:
    """The originals and forks of the experiments, their calls and specs, and the experiments themselves."""
    entries, tape_ids = [], []
    for experiment_id in experiment_ids:
        experiment = records.load_experiment(ws.store, experiment_id)
        rows = records.load_rows(ws.store, experiment_id)
        entries.append(ExperimentRecord(experiment=experiment, rows=rows))
        for row in rows:
            tape_ids += [tape_id for tape_id in (row.tape_id, row.fork_id) if tape_id and ws.store.has_tape(tape_id)]
    tape_ids = list(dict.fromkeys(tape_ids))
    tapes = [ws.store.load_tape(tape_id) for tape_id in tape_ids]
    calls = list({c.prompt_id: c for tape_id in tape_ids for c in ws.store.calls_for_tape(tape_id)}.values())
    data = tape_files.make_bundle(tapes, calls, ws.specs_of(tapes)).model_dump(mode="json")
    data["experiments"] = [entry.model_dump(mode="json") for entry in entries]
    return json.dumps(data, ensure_ascii=False)


def export_experiments(ws: Workspace, experiment_ids: list[str], out: Path) -> None:
    write_atomic(Path(out), experiment_bundle(ws, experiment_ids))


def import_experiments(ws: Workspace, path: Path, max_bytes: int = MAX_INPUT_BYTES) -> tuple[ImportReport, list[str]]:
    """Imports the file's tapes (as any bundle) and then its experiments; experiments already here
    are left as they are. The experiments are checked before anything is written."""
    path = Path(path)
    data = read_json(path, max_bytes)
    if not isinstance(data, dict) or not isinstance(data.get("experiments"), list):
        raise InputError(f"{path}: holds no experiments (import plain bundles with `tape-studio import`)")
    try:
        entries = [ExperimentRecord.model_validate(item) for item in data["experiments"]]
    except ValidationError as exc:
        raise InputError(f"{path}: experiments: {tape_files.describe_validation_error(exc)}") from None
    if not entries:
        raise InputError(f"{path}: holds no experiments (import plain bundles with `tape-studio import`)")
    report = ws.import_file(path, max_bytes)
    added = []
    for entry in entries:
        if records.has_experiment(ws.store, entry.experiment.id):
            continue
        records.save_experiment(ws.store, entry.experiment, entry.rows)
        added.append(entry.experiment.id)
    return report, added

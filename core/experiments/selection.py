"""Which stored tapes an experiment edits, and the targets that score them when they are known."""

from __future__ import annotations

from collections.abc import Sequence

from tape_studio.core.errors import InputError, NotFoundError
from tape_studio.core.experiments.model import Experiment, Selection
from tape_studio.core.store import Store

_PAGE = 500


def select_tape_ids(store: Store, selection: Selection, limit: int) -> list[str]:
    """Ids in selection order (explicit ids as given, then run and filter matches oldest first),
    each once. Forks an experiment made are never selected by run or filter: an experiment edits
    sessions, not other experiments' what-ifs."""
    ids: list[str] = []
    for tape_id in selection.ids:
        if not store.has_tape(tape_id):
            raise NotFoundError(f"selection: no tape {tape_id!r}")
        ids.append(tape_id)
    if selection.eval_run:
        rows = store.query("SELECT id FROM tapes WHERE json_extract(context, '$.run_id') = ? AND author != 'experiment' "
                           "ORDER BY created_at, id LIMIT ?", (selection.eval_run, limit + 1))
        if not rows:
            raise NotFoundError(f"selection: no tapes of run {selection.eval_run!r}")
        ids += [row["id"] for row in rows]
    if selection.filter is not None:
        where, found, offset = selection.filter, [], selection.filter.offset
        cap = min(where.limit, limit + 1) if "limit" in where.model_fields_set else limit + 1
        while len(found) < cap:
            page = store.list_tapes(where.model_copy(update={"offset": offset, "limit": min(_PAGE, cap - len(found))}))
            if not page:
                break
            found += [row.id for row in page if row.author != "experiment"]
            offset += len(page)
        ids += reversed(found)
    unique = list(dict.fromkeys(ids))
    if len(unique) > limit:
        raise InputError(f"selection: more than {limit} tapes; narrow the filters")
    return unique


def targets_for(store: Store, experiment: Experiment, tape_ids: Sequence[str]) -> dict[str, str]:
    """tape id -> reference answer: from the dataset, by the example id in each tape's context,
    or a `target` the context carries itself. Tapes with neither have no target."""
    by_example: dict[str, str] = {}
    if experiment.dataset:
        from tape_studio.core.learning.datasets import load_dataset

        data = load_dataset(experiment.dataset)
        by_example = {e.id: e.target for split in data.splits.values() for e in split if e.target is not None}
    found: dict[str, str] = {}
    for tape_id in tape_ids:
        context = store.load_tape(tape_id).context
        if not isinstance(context, dict):
            continue
        if isinstance(context.get("target"), str):
            found[tape_id] = context["target"]  # type: ignore[assignment]
        elif str(context.get("example_id")) in by_example:
            found[tape_id] = by_example[str(context["example_id"])]
    return found

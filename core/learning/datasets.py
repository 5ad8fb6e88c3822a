"""Datasets: examples `{"id", "input", "target"?}` in JSONL files, one file per split.

A named set is registered with `register_dataset` (the built-in ones ship beside this module as
`data/<name>/<split>.jsonl` and register the same way); any folder with those files, or a single
JSONL file (its only split), loads by path. Reading is strict: a malformed row
stops the load with `file:line: what is wrong`, since a silently skipped row skews every score.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tape_studio.core.errors import InputError, NotFoundError
from tape_studio.core.learning.metrics import metric_names
from tape_studio.core.registry import Registry, source_of_module

Split = Literal["train", "val", "test"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")
MetricName = str
"""A registered metric (core/learning/metrics.py `register_metric`) or `judge`."""
_FIELDS = {"id", "input", "target"}


class Example(BaseModel):
    """One dataset row: what the agent is asked and, when known, the reference answer."""

    model_config = ConfigDict(frozen=True)

    id: str
    input: str
    target: str | None = None


class Dataset(BaseModel):
    """Named splits of examples and the metric that scores them."""

    model_config = ConfigDict(frozen=True)

    name: str
    splits: dict[str, tuple[Example, ...]]
    metric: MetricName
    agent: str = ""
    """The built-in agent this set was written for (empty for users' sets)."""

    def split(self, name: str) -> tuple[Example, ...]:
        if name not in self.splits:
            raise InputError(f"dataset {self.name!r} has no {name!r} split (it has {', '.join(self.splits)})")
        return self.splits[name]


class DatasetSource(BaseModel):
    """Where a named dataset's `<split>.jsonl` files are, and how it is scored by default."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    folder: Traversable | Path
    metric: MetricName
    agent: str = ""


DATASETS: Registry[DatasetSource] = Registry("dataset")


def register_dataset(name: str, folder: Traversable | Path | str, metric: MetricName = "answer", agent: str = "") -> DatasetSource:
    """Makes `--dataset NAME` (and the Train and Data pages) find the splits in `folder`.

    A relative `folder` is taken from the calling file's directory, so a plugin file can say
    `register_dataset("travel", "data", agent="travel")`."""
    caller = sys._getframe(1)
    if isinstance(folder, str):
        folder = Path(folder)
    if isinstance(folder, Path) and not folder.is_absolute():
        folder = Path(caller.f_code.co_filename).resolve().parent / folder
    source = DatasetSource(name=name, folder=folder, metric=metric, agent=agent)
    return DATASETS.add(name, source, source_of_module(caller.f_globals.get("__name__", "")))


_BUNDLED = resources.files(__package__ or "tape_studio.core.learning").joinpath("data")
register_dataset("qa", _BUNDLED.joinpath("qa"), metric="answer", agent="qa")  # answers from the bundled knowledge base
# The first qa set (6 / 6 / 8): fast runs for tests and examples, too small to measure learning on.
register_dataset("qa-mini", _BUNDLED.joinpath("qa_mini"), metric="answer", agent="qa")
register_dataset("writer", _BUNDLED.joinpath("writer"), metric="judge", agent="writer")


def load_jsonl(path: Path | str, text: str | None = None) -> tuple[Example, ...]:
    """The examples of one JSONL file; `text` stands in for the file's content when given."""
    path = Path(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read: {exc}") from None
    examples: list[Example] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            example = _row(path, number, line)
            if example.id in first_line:
                raise InputError(f"{path}:{number}: id {example.id!r} repeats line {first_line[example.id]}")
            first_line[example.id] = number
            examples.append(example)
    if not examples:
        raise InputError(f"{path}: no examples")
    return tuple(examples)


def _row(path: Path, number: int, line: str) -> Example:
    where = f"{path}:{number}"
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: invalid JSON at column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise InputError(f"{where}: unknown field {unknown[0]!r} (a row has id, input and optionally target)")
    if not isinstance(data.get("id"), (str, int)) or isinstance(data.get("id"), bool) or str(data["id"]) == "":
        raise InputError(f"{where}: 'id' must be a non-empty string or an integer")
    if not isinstance(data.get("input"), str) or not data["input"].strip():
        raise InputError(f"{where}: 'input' must be a non-empty string")
    target = data.get("target")
    if isinstance(target, bool) or not isinstance(target, (str, int, float, type(None))):
        raise InputError(f"{where}: 'target' must be a string or a number")
    return Example(id=str(data["id"]), input=data["input"].strip(), target=None if target is None else str(target))


def check_metric(name: str) -> None:
    """Stops before any model call when `name` is no metric: a misspelt name would cost a whole run."""
    if name not in metric_names():
        raise NotFoundError(f"no metric named {name!r} (known: {', '.join(metric_names())}); "
                            "a metric of your own registers with @register_metric in a loaded source")


def named_dataset(name: str) -> Dataset:
    """The registered set `name` with every split its folder holds."""
    source = DATASETS.get(name)
    splits = {}
    for split in SPLITS:
        file = source.folder.joinpath(f"{split}.jsonl")
        if file.is_file():
            splits[split] = load_jsonl(f"{name}/{split}.jsonl", file.read_text("utf-8"))
    if not splits:
        raise InputError(f"dataset {name!r}: no train.jsonl, val.jsonl or test.jsonl in {source.folder}")
    return Dataset(name=name, splits=splits, metric=source.metric, agent=source.agent)


def load_dataset(ref: str, metric: MetricName | None = None) -> Dataset:
    """A registered set by name, a folder of `<split>.jsonl` files, or one JSONL file (its `train` split)."""
    if metric is not None:
        check_metric(metric)
    # A registered name wins over a folder that happens to share it (`register_dataset("set", "set")`
    # next to the caller); `./set` or any path with a separator is always read as a path.
    if ref in DATASETS and not any(sep in ref for sep in ("/", "\\")):
        dataset = named_dataset(ref)
        check_metric(dataset.metric)
        return dataset.model_copy(update={"metric": metric}) if metric else dataset
    path = Path(ref).expanduser()
    if path.is_dir():
        splits = {s: load_jsonl(path / f"{s}.jsonl") for s in SPLITS if (path / f"{s}.jsonl").exists()}
        if not splits:
            raise InputError(f"{path}: no train.jsonl, val.jsonl or test.jsonl in this folder")
    elif path.is_file():
        splits = {"train": load_jsonl(path)}
    else:
        raise NotFoundError(f"no dataset {ref!r}: not a registered set ({', '.join(DATASETS.in_order())}), file or folder")
    examples = [e for split in splits.values() for e in split]
    default: MetricName = "answer" if all(e.target is not None for e in examples) else "judge"
    return Dataset(name=path.stem, splits=splits, metric=metric or default)

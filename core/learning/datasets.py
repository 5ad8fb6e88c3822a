"""Datasets: examples `{"id", "input", "target"?}` in JSONL files, one file per split.

Built-in sets ship beside this module (`data/<name>/<split>.jsonl`); a user's set is a folder
with the same files, or a single JSONL file (its only split). Reading is strict: a malformed row
stops the load with `file:line: what is wrong`, since a silently skipped row skews every score.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tape_studio.core.errors import InputError, NotFoundError

Split = Literal["train", "val", "test"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")
MetricName = Literal["exact", "f1", "numeric", "answer", "judge"]
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


BUILTIN: dict[str, tuple[str, MetricName]] = {"qa": ("qa", "answer"), "writer": ("writer", "judge")}
"""Built-in set -> (agent it was written for, metric); qa's answers come from the bundled knowledge base."""


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


def builtin_dataset(name: str) -> Dataset:
    if name not in BUILTIN:
        raise NotFoundError(f"no dataset named {name!r}; built-in datasets: {', '.join(sorted(BUILTIN))}")
    agent, metric = BUILTIN[name]
    folder = resources.files(__package__ or "tape_studio.core.learning").joinpath("data", name)
    splits = {split: load_jsonl(f"{name}/{split}.jsonl", folder.joinpath(f"{split}.jsonl").read_text("utf-8"))
              for split in SPLITS}
    return Dataset(name=name, splits=splits, metric=metric, agent=agent)


def load_dataset(ref: str, metric: MetricName | None = None) -> Dataset:
    """A built-in set by name, a folder of `<split>.jsonl` files, or one JSONL file (its `train` split)."""
    if ref in BUILTIN and not Path(ref).exists():
        dataset = builtin_dataset(ref)
        return dataset.model_copy(update={"metric": metric}) if metric else dataset
    path = Path(ref).expanduser()
    if path.is_dir():
        splits = {s: load_jsonl(path / f"{s}.jsonl") for s in SPLITS if (path / f"{s}.jsonl").exists()}
        if not splits:
            raise InputError(f"{path}: no train.jsonl, val.jsonl or test.jsonl in this folder")
    elif path.is_file():
        splits = {"train": load_jsonl(path)}
    else:
        raise NotFoundError(f"no dataset {ref!r}: not a built-in set ({', '.join(sorted(BUILTIN))}), file or folder")
    examples = [e for split in splits.values() for e in split]
    default: MetricName = "answer" if all(e.target is not None for e in examples) else "judge"
    return Dataset(name=path.stem, splits=splits, metric=metric or default)

import json
import re
from importlib import resources
from pathlib import Path

import pytest

from tape_studio.core.agents.tools import calculate, lookup
from tape_studio.core.errors import InputError, NotFoundError
from tape_studio.core.learning.datasets import named_dataset, load_dataset, load_jsonl
from tape_studio.core.learning.metrics import normalize

ARITHMETIC = re.compile(r"What is (\d+) (times|divided by) (\d+)\?")


def test_qa_has_three_disjoint_splits() -> None:
    qa = named_dataset("qa")
    ids = [e.id for split in qa.splits.values() for e in split]
    inputs = [e.input for split in qa.splits.values() for e in split]
    assert set(qa.splits) == {"train", "val", "test"} and all(qa.splits.values())
    assert len(set(ids)) == len(ids) and len(set(inputs)) == len(inputs)
    assert qa.metric == "answer" and qa.agent == "qa"


def test_every_qa_target_is_a_fact_in_the_knowledge_base_or_the_calculators_result() -> None:
    entries = json.loads(resources.files("tape_studio.core.agents").joinpath("data/kb.json").read_text("utf-8"))
    kb = normalize(" ".join(entry["text"] for entry in entries))
    for split in named_dataset("qa").splits.values():
        for example in split:
            arithmetic = ARITHMETIC.fullmatch(example.input)
            if arithmetic:
                left, op, right = arithmetic.groups()
                assert calculate(f"{left}{'*' if op == 'times' else '/'}{right}") == example.target
            else:
                assert f" {normalize(example.target or '')} " in f" {kb} ", example.id


def test_a_qa_question_finds_its_fact_with_lookup_on_its_key_words() -> None:
    example = named_dataset("qa").split("train")[0]  # "What is the capital of Germany?"
    assert "Berlin" in lookup(example.input)


def test_writer_prompts_have_no_targets_and_use_the_judge() -> None:
    writer = named_dataset("writer")
    assert writer.metric == "judge"
    assert all(e.target is None for split in writer.splits.values() for e in split)


@pytest.mark.parametrize(("line", "message"), [
    ('{"id": 1, "input": "q"', "invalid JSON at column"),
    ('["q"]', "expected a JSON object, got list"),
    ('{"id": "a"}', "'input' must be a non-empty string"),
    ('{"id": "a", "input": "  "}', "'input' must be a non-empty string"),
    ('{"input": "q"}', "'id' must be"),
    ('{"id": "a", "input": "q", "targte": "x"}', "unknown field 'targte'"),
    ('{"id": "a", "input": "q", "target": ["x"]}', "'target' must be a string or a number"),
])
def test_a_malformed_row_names_the_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"id": "ok", "input": "fine"}\n\n' + line + "\n")
    with pytest.raises(InputError, match=re.escape(f"{path}:3: ") + ".*" + re.escape(message)):
        load_jsonl(path)


def test_repeated_ids_are_an_error_naming_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"id": "a", "input": "q"}\n{"id": "a", "input": "r"}\n')
    with pytest.raises(InputError, match=r"set.jsonl:2: id 'a' repeats line 1"):
        load_jsonl(path)


def test_numbers_become_strings_and_targets_are_optional(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"id": 7, "input": "q", "target": 42}\n{"id": "b", "input": "r"}\n')
    first, second = load_jsonl(path)
    assert (first.id, first.target, second.target) == ("7", "42", None)


def test_a_folder_gives_its_splits_and_a_file_its_train_split(tmp_path: Path) -> None:
    (tmp_path / "train.jsonl").write_text('{"id": "a", "input": "q", "target": "x"}\n')
    (tmp_path / "val.jsonl").write_text('{"id": "b", "input": "r", "target": "y"}\n')
    folder = load_dataset(str(tmp_path))
    assert set(folder.splits) == {"train", "val"} and folder.metric == "answer"
    single = load_dataset(str(tmp_path / "train.jsonl"), metric="exact")
    assert set(single.splits) == {"train"} and single.metric == "exact"


def test_a_set_without_targets_defaults_to_the_judge(tmp_path: Path) -> None:
    (tmp_path / "p.jsonl").write_text('{"id": "a", "input": "write"}\n')
    assert load_dataset(str(tmp_path / "p.jsonl")).metric == "judge"


def test_unknown_dataset_and_split_say_what_exists() -> None:
    with pytest.raises(NotFoundError, match=r"not a registered set \(qa, writer"):
        load_dataset("nope")
    with pytest.raises(InputError, match="no 'dev' split"):
        named_dataset("qa").split("dev")

import json
import re
from importlib import resources
from pathlib import Path

import pytest

from tape_studio.core.agents.tools import calculate, lookup
from tape_studio.core.errors import InputError, NotFoundError
from tape_studio.core.learning.datasets import named_dataset, load_dataset, load_jsonl
from tape_studio.core.learning.metrics import normalize

SOURCES = json.loads(resources.files("tape_studio.core.learning").joinpath("data/qa/sources.json").read_text("utf-8"))
KB = {entry["title"]: entry["text"] for entry in
      json.loads(resources.files("tape_studio.core.agents").joinpath("data/kb.json").read_text("utf-8"))}
QA_EXAMPLES = [e for split in named_dataset("qa").splits.values() for e in split]


def test_qa_has_three_disjoint_splits_big_enough_to_measure() -> None:
    qa = named_dataset("qa")
    ids = [e.id for e in QA_EXAMPLES]
    inputs = [normalize(e.input) for e in QA_EXAMPLES]
    assert set(qa.splits) == {"train", "val", "test"}
    assert len(qa.split("train")) >= 40 and len(qa.split("val")) >= 40 and len(qa.split("test")) >= 80
    assert len(set(ids)) == len(ids) and len(set(inputs)) == len(inputs)
    assert qa.metric == "answer" and qa.agent == "qa"


def test_no_fact_is_asked_in_two_splits() -> None:
    """Splits are cut by fact, so a test question is never a rephrased training question."""
    split_of: dict[str, str] = {}
    for split, examples in named_dataset("qa").splits.items():
        for example in examples:
            source = SOURCES[example.id]
            fact = source.get("calculator") or f"{source['lookup']}|{source['fact']}"
            assert split_of.setdefault(fact, split) == split, (fact, example.id)


def test_every_qa_target_is_a_fact_in_the_knowledge_base_or_the_calculators_result() -> None:
    assert set(SOURCES) == {e.id for e in QA_EXAMPLES}
    for example in QA_EXAMPLES:
        source = SOURCES[example.id]
        if "calculator" in source:
            expression = source["calculator"]
            assert calculate(expression) == example.target, example.id
            assert sorted(re.findall(r"\d+", expression)) == sorted(re.findall(r"\d+", example.input)), example.id
        else:
            text, subject = KB[source["lookup"]], source["lookup"].split(" (")[0]
            assert source["fact"] == example.target
            assert re.search(rf"\b{re.escape(example.target or '')}\b", text), example.id
            assert subject.lower() in example.input.lower(), example.id


def test_questions_of_one_kind_come_in_many_phrasings() -> None:
    openings = {" ".join(e.input.split()[:3]) for e in QA_EXAMPLES if "capital" in e.input}
    assert len(openings) >= 4
    sums = {" ".join(e.input.split()[:2]) for e in QA_EXAMPLES if "calculator" in SOURCES[e.id]}
    assert len(sums) >= 5


def test_a_qa_question_finds_its_fact_with_lookup_on_its_key_words() -> None:
    found = [e for e in QA_EXAMPLES if "lookup" in SOURCES[e.id] and (e.target or "") in lookup(e.input)]
    assert len(found) >= 0.7 * sum("lookup" in s for s in SOURCES.values())


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
    with pytest.raises(NotFoundError, match=r"not a registered set \(qa, qa-mini, writer"):
        load_dataset("nope")
    with pytest.raises(InputError, match="no 'dev' split"):
        named_dataset("qa").split("dev")

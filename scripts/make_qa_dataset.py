"""Writes the bundled `qa` set (core/learning/data/qa/): questions over the knowledge base and the calculator.

Facts, not questions, are split: a fact asked in train is never asked (in other words) in
validation or test, so a score on test measures what carries over, not what was memorised.
Each question type has several phrasings, picked per question. `sources.json` says where each
target comes from (a KB entry or a calculator expression); tests/learning/test_datasets.py checks
every target against it. Deterministic: rerunning it writes the same files.
Usage: python scripts/make_qa_dataset.py
"""

from __future__ import annotations

import json
import random
import re
from importlib import resources
from pathlib import Path

from tape_studio.core.agents.tools import calculate

OUT = Path(__file__).resolve().parent.parent / "core" / "learning" / "data" / "qa"
SIZES = {"train": 40, "val": 40, "test": 80}

PHRASINGS = {
    "capital": ["What is the capital of {x}?", "Which city is the capital of {x}?", "Name the capital city of {x}.",
                "What city is {x}'s capital?", "The capital of {x} is which city?"],
    "currency": ["What currency is used in {x}?", "Which currency does {x} use?", "What is the currency of {x}?",
                 "What money do people pay with in {x}?", "Name the currency of {x}."],
    "language": ["What is the official language of {x}?", "Which language is official in {x}?",
                 "What language do people officially speak in {x}?"],
    "symbol": ["What is the chemical symbol of {x}?", "Which symbol stands for the element {x}?",
               "Give the chemical symbol for {x}.", "What is the symbol of the element {x}?"],
    "number": ["What is the atomic number of {x}?", "Which atomic number does {x} have?",
               "How many protons does an atom of {x} have?", "Give the atomic number of {x}."],
    "born": ["In which year was {x} born?", "When was {x} born?", "What year was {x} born in?",
             "Give the birth year of {x}."],
}
ARITHMETIC = [
    ("What is {a} times {b}?", "*"), ("What is {a} multiplied by {b}?", "*"), ("Compute {a} * {b}.", "*"),
    ("What is {a} plus {b}?", "+"), ("What is the sum of {a} and {b}?", "+"), ("Add {a} and {b}.", "+"),
    ("What is {a} minus {b}?", "-"), ("Subtract {b} from {a}.", "-b"), ("What is {a} divided by {b}?", "/"),
    ("How much is {a} divided by {b}?", "/"),
]
SINGLE = re.compile(r"Its official language is (\w+)[,.]")


def facts() -> dict[str, list[tuple[str, str, str]]]:
    """(subject, target, KB title) per question type, read from the KB itself."""
    kb = json.loads(resources.files("tape_studio.core.agents").joinpath("data/kb.json").read_text("utf-8"))
    found: dict[str, list[tuple[str, str, str]]] = {kind: [] for kind in PHRASINGS}
    for entry in kb:
        title, text = entry["title"], entry["text"]
        if " is a country" in text:
            capital = re.search(r"Its capital is ([A-Z][\w ]+?)[,.]", text)
            currency = re.search(r"currency is the ([\w ]+?)[,.]", text)
            if capital and "Washington" not in text:
                found["capital"].append((title, capital.group(1), title))
            if currency:
                found["currency"].append((title, currency.group(1), title))
            if (language := SINGLE.search(text)) and "languages" not in text:
                found["language"].append((title, language.group(1), title))
        elif "chemical element" in text:
            name = text.split(" is a chemical element")[0]
            symbol = re.search(r"the symbol (\w+) and atomic number (\d+)", text)
            assert symbol, title
            found["symbol"].append((name, symbol.group(1), title))
            found["number"].append((name, symbol.group(2), title))
        elif (born := re.search(r" born in (\d{4})", text)):
            found["born"].append((title, born.group(1), title))
    return found


def _named(subject: str, kind: str) -> str:
    """How the subject reads inside a sentence: 'the Netherlands', 'sodium'."""
    if kind in ("symbol", "number"):
        return subject.lower()
    return f"the {subject}" if subject in ("United Kingdom", "Netherlands", "United States") else subject


def arithmetic(rng: random.Random, count: int) -> list[tuple[str, str, str]]:
    questions, seen = [], set()
    while len(questions) < count:
        phrasing, op = ARITHMETIC[len(questions) % len(ARITHMETIC)]
        a, b = rng.randint(3, 99), rng.randint(2, 40)
        if op == "/":
            a = a * b  # whole results: "What is 84 divided by 7?" has one right answer
        if op in ("-", "-b") and b > a:
            a, b = b, a
        expression = f"{a}{op[0]}{b}"
        if expression in seen:
            continue
        seen.add(expression)
        questions.append((phrasing.format(a=a, b=b), calculate(expression), expression))
    return questions


def main() -> None:
    rng = random.Random(11)
    pools = facts()
    rows: dict[str, list[dict[str, str]]] = {split: [] for split in SIZES}
    sources: dict[str, dict[str, str]] = {}
    # Each fact type is cut 1:1:2 into train, val and test, so every split has every type.
    questions: list[tuple[str, str, dict[str, str], str]] = []
    for kind, items in pools.items():
        items = sorted(items)
        rng.shuffle(items)
        for index, (subject, target, title) in enumerate(items):
            phrasing = PHRASINGS[kind][index % len(PHRASINGS[kind])]
            questions.append((kind, phrasing.format(x=_named(subject, kind)), {"lookup": title, "fact": target}, target))
    for text, target, expression in arithmetic(rng, 44):
        questions.append(("arithmetic", text, {"calculator": expression}, target))
    by_kind: dict[str, list[tuple[str, str, dict[str, str], str]]] = {}
    for question in questions:
        by_kind.setdefault(question[0], []).append(question)
    order = ["train", "val", "test", "test"]
    for kind_questions in by_kind.values():
        for index, question in enumerate(kind_questions):
            rows[order[index % 4]].append({"input": question[1], "target": question[3], "_source": question[2]})  # type: ignore[dict-item]
    for split, size in SIZES.items():
        chosen = rows[split]
        rng.shuffle(chosen)
        chosen = chosen[:size]
        assert len(chosen) == size, (split, len(chosen))
        with (OUT / f"{split}.jsonl").open("w", encoding="utf-8") as file:
            for number, row in enumerate(chosen, 1):
                example_id = f"qa-{split}-{number}"
                sources[example_id] = row.pop("_source")  # type: ignore[arg-type]
                file.write(json.dumps({"id": example_id, **row}) + "\n")
    (OUT / "sources.json").write_text(json.dumps(sources, indent=1) + "\n", encoding="utf-8")
    print({split: len(r) for split, r in rows.items()}, {kind: len(q) for kind, q in by_kind.items()})


if __name__ == "__main__":
    main()

"""Metrics that score a prediction against a reference answer, each with feedback text.

The feedback is what the backward pass reads, so it says what was expected and what was wrong,
not only a number. Real metrics come first; the LLM judge (judge.py) is for sets with no targets.
"""

from __future__ import annotations

import re
import string
from collections import Counter

from pydantic import BaseModel, ConfigDict

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


class MetricResult(BaseModel):
    """A score in [0, 1] and why."""

    model_config = ConfigDict(frozen=True)

    score: float
    feedback: str


def normalize(text: str) -> str:
    """Lowercase, no punctuation, no articles, single spaces: 'The Euro.' and 'euro' compare equal."""
    text = text.lower()
    text = "".join(" " if char in string.punctuation else char for char in text)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, target: str) -> float:
    return float(normalize(prediction) == normalize(target))


def token_f1(prediction: str, target: str) -> float:
    """Harmonic mean of token precision and recall after normalisation (SQuAD-style)."""
    predicted, wanted = normalize(prediction).split(), normalize(target).split()
    common = sum((Counter(predicted) & Counter(wanted)).values())
    if not predicted or not wanted or not common:
        return float(predicted == wanted)
    precision, recall = common / len(predicted), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


def numbers_in(text: str) -> list[float]:
    values = []
    for match in _NUMBER.findall(text):
        try:
            values.append(float(match.replace(",", "")))
        except ValueError:
            continue
    return values


def numeric_match(prediction: str, target: str) -> float:
    """1 when the target is a number and the prediction states it (e.g. '108' in 'It is 108.')."""
    wanted = numbers_in(target)
    if len(wanted) != 1 or normalize(target) != normalize(_NUMBER.findall(target)[0]):
        return 0.0
    return float(any(abs(value - wanted[0]) <= 1e-6 * max(1.0, abs(wanted[0])) for value in numbers_in(prediction)))


def score(metric: str, prediction: str, target: str) -> MetricResult:
    """Scores with `metric`: exact, f1, numeric, or answer (the best of the three)."""
    values = {"exact": exact_match(prediction, target), "f1": token_f1(prediction, target),
              "numeric": numeric_match(prediction, target)}
    if metric == "answer":
        value = max(values.values())
    elif metric in values:
        value = values[metric]
    else:
        raise ValueError(f"unknown metric {metric!r}; expected exact, f1, numeric or answer")
    return MetricResult(score=round(value, 4), feedback=_feedback(prediction, target, value))


def _feedback(prediction: str, target: str, value: float) -> str:
    if value >= 1.0:
        return f"Correct: the answer {prediction!r} matches {target!r}."
    if not prediction.strip():
        return f"No answer was given; expected {target!r}."
    missing = [w for w in normalize(target).split() if w not in normalize(prediction).split()]
    extra = len(normalize(prediction).split()) - len(normalize(target).split())
    parts = [f"Expected {target!r} but the answer was {prediction!r} (score {value:.2f})."]
    if missing:
        parts.append(f"Missing: {' '.join(missing)}.")
    if extra > 2:
        parts.append("The answer has extra words; it should be only the answer.")
    return " ".join(parts)

"""Metrics that score a prediction against a reference answer, each with feedback text.

The feedback is what the backward pass reads, so it says what was expected and what was wrong,
not only a number. Real metrics come first; the LLM judge (judge.py) is for sets with no targets.

A metric is a plain callable `(prediction, target) -> score in [0, 1]` (or a `MetricResult` with
feedback of its own) registered with `@register_metric`; the built-in ones register the same way.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Callable
from typing import overload

from pydantic import BaseModel, ConfigDict

from tape_studio.core.errors import ConfigError
from tape_studio.core.registry import Registry, source_of_module

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


class MetricResult(BaseModel):
    """A score in [0, 1] and why."""

    model_config = ConfigDict(frozen=True)

    score: float
    feedback: str


MetricFunction = Callable[[str, str], "float | MetricResult"]

METRICS: Registry[MetricFunction] = Registry("metric")
"""Metric name -> `(prediction, target) -> score`. The judge is not here: it needs a model, not a target."""

JUDGE = "judge"
"""The metric name that scores with the LLM judge (judge.py) instead of a registered function."""


@overload
def register_metric(function: MetricFunction, /) -> MetricFunction: ...
@overload
def register_metric(*, name: str) -> Callable[[MetricFunction], MetricFunction]: ...
def register_metric(function: MetricFunction | None = None, /, *, name: str | None = None):  # type: ignore[no-untyped-def]
    """Registers `function(prediction, target) -> float in [0, 1] | MetricResult` under its own
    name (or `name=`), so `--metric NAME`, datasets and the Train page can use it."""

    def add(fn: MetricFunction) -> MetricFunction:
        metric_name = name or getattr(fn, "__name__", "")
        if metric_name == JUDGE:
            raise ConfigError("the metric name 'judge' is reserved for the LLM judge")
        return METRICS.add(metric_name, fn, source_of_module(getattr(fn, "__module__", "") or ""))

    return add(function) if function is not None else add


def metric_names() -> list[str]:
    """Every metric a dataset or `--metric` may name, the judge included."""
    return [*METRICS.in_order(), JUDGE]


def normalize(text: str) -> str:
    """Lowercase, no punctuation, no articles, single spaces: 'The Euro.' and 'euro' compare equal."""
    text = text.lower()
    text = "".join(" " if char in string.punctuation else char for char in text)
    return " ".join(_ARTICLES.sub(" ", text).split())


@register_metric(name="exact")
def exact_match(prediction: str, target: str) -> float:
    return float(normalize(prediction) == normalize(target))


@register_metric(name="f1")
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


SHORT_ANSWER_WORDS = 6
"""An answer of more words than this is no longer "the number": it may name it among others."""


def is_short(prediction: str) -> bool:
    """One line of at most SHORT_ANSWER_WORDS words: the shape of an answer, not of a ramble."""
    return len(prediction.strip().splitlines()) <= 1 and len(normalize(prediction).split()) <= SHORT_ANSWER_WORDS


@register_metric(name="numeric")
def numeric_match(prediction: str, target: str) -> float:
    """1 when the target is a number and a short answer states it and no other number ('It is 108.').

    Containing the number is not enough: "); carbon has 6 protons.} Question: How many electrons
    does carbon have?" names 6 among other text, and so scores 0, as do "6 or 8" and "12*9 = 108"."""
    if not _is_number(target):
        return 0.0
    wanted = numbers_in(target)
    stated = {value for value in numbers_in(prediction)}
    if len(stated) != 1 or not is_short(prediction):
        return 0.0
    return float(abs(stated.pop() - wanted[0]) <= 1e-6 * max(1.0, abs(wanted[0])))


@register_metric(name="answer")
def best_answer_match(prediction: str, target: str) -> float:
    """The best of exact, f1 and numeric: the default for short reference answers.

    Only an answer that is the reference (exact, or the same words) or a short answer stating the
    one reference number scores 1; a longer output that merely contains it gets F1's partial credit
    (low, since most of its words are not the answer). A number has no partial credit: "6 or 8"
    for 6 scores 0, not F1's 0.5."""
    if _is_number(target):
        return max(exact_match(prediction, target), numeric_match(prediction, target))
    return max(exact_match(prediction, target), token_f1(prediction, target))


def _is_number(target: str) -> bool:
    found = _NUMBER.findall(target)
    return len(found) == 1 and normalize(target) == normalize(found[0])


def score(metric: str, prediction: str, target: str) -> MetricResult:
    """Scores with the registered metric named `metric`; a plain number gets feedback written here."""
    function = METRICS.get(metric)
    try:
        value = function(prediction, target)
    except Exception as exc:  # a user's metric: its failure is one line that names it, not a traceback
        raise ConfigError(f"metric {metric!r} failed on prediction {prediction[:60]!r}: {type(exc).__name__}: {exc}") from None
    if isinstance(value, MetricResult):
        result = value
    elif isinstance(value, (int, float)) and math.isfinite(value):  # True/False count as 1/0
        result = MetricResult(score=float(value), feedback=_feedback(prediction, target, float(value)))
    else:
        raise ConfigError(f"metric {metric!r} returned {value!r}; a metric returns a number in [0, 1] or a MetricResult")
    if not 0.0 <= result.score <= 1.0:
        raise ConfigError(f"metric {metric!r} returned {result.score}; scores must lie in [0, 1]")
    return result.model_copy(update={"score": round(result.score, 4)})


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
    if not missing and (extra > 0 or not is_short(prediction)):
        parts.append("The answer holds the right words among others; it should be only the answer.")
    elif extra > 2:
        parts.append("The answer has extra words; it should be only the answer.")
    return " ".join(parts)

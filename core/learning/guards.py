"""Checks a proposed change must pass before any gate: the failure modes of prompt optimizers.

Broken template fields crash a node; prompt bloat creeps in a little per step; and an optimizer
that copies training answers or questions into a prompt "improves" by memorising. Each check
returns the reason it fails, or None.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence

from tape_studio.core.learning.datasets import Example
from tape_studio.core.nodes import VARIABLES
from tape_studio.core.spec import PromptComponents

INPUT_SPAN = 5
"""Words in a row shared with a training question that count as copying it."""
TARGET_SPAN = 4
"""Longest span of a training answer checked; shorter answers are checked whole."""
MIN_GROWTH_CHARS = 120
"""A short prompt may always grow this much, however small the ratio allows."""


def prompt_length(prompt: PromptComponents) -> int:
    """Characters the model reads for this prompt, besides the current input."""
    parts = [prompt.instruction, *prompt.rules, prompt.output_format, prompt.input_template]
    parts += [text for example in prompt.examples for text in (example.input, example.output)]
    return sum(len(part) for part in parts)


def text_length(prompt: PromptComponents) -> int:
    """Characters of the written prompt (worked examples aside): what the bloat cap measures.

    Worked examples are bounded by count and size instead (demo_optimizer.py): a small model gains
    most from them, and a cap shared with the text would let none in."""
    return sum(len(part) for part in (prompt.instruction, *prompt.rules, prompt.output_format, prompt.input_template))


def length_cap(first_length: int, growth: float) -> int:
    """The most a prompt may reach: a ratio of the run's first version, never the last one."""
    return max(int(first_length * growth), first_length + MIN_GROWTH_CHARS)


def length_problem(prompt: PromptComponents, cap: int) -> str | None:
    length = text_length(prompt)
    return f"too long: {length} characters, the cap is {cap}" if length > cap else None


def template_problem(old: str, new: str) -> str | None:
    """A template must stay well formed, use only known fields, and keep the fields it had."""
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(new) if name is not None}
    except ValueError as exc:
        return f"input template is malformed: {exc}"
    unknown = sorted(fields - set(VARIABLES))
    if unknown:
        return f"input template uses unknown field {{{unknown[0]}}}; known: {', '.join(sorted(VARIABLES))}"
    old_fields = {name for _, name, _, _ in string.Formatter().parse(old) if name}
    lost = sorted(old_fields - fields)
    return f"input template drops field {{{lost[0]}}}" if lost else None


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _spans(tokens: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


def copy_problem(new_text: str, old_text: str, examples: Iterable[Example]) -> str | None:
    """A span of a training question or answer that the change brings into the prompt.

    Question spans count only if they hold a word specific to that question ("germany" in
    "is the capital of germany"): the wording all questions share is fair game for a prompt."""
    examples = list(examples)
    new, old = words(new_text), words(old_text)
    frequency = Counter(word for example in examples for word in set(words(example.input)))
    for example in examples:
        specific = {word for word in words(example.input) if frequency[word] == 1}
        spans = {span for span in _new_spans(new, old, words(example.input), INPUT_SPAN) if specific & set(span)}
        if spans:
            return f"copies {' '.join(min(spans))!r} from training question {example.id!r}"
        answer = words(example.target or "")
        if len("".join(answer[:TARGET_SPAN])) < 3:
            continue  # one- or two-character answers ("8", "Fe") are too common to call a copy
        spans = _new_spans(new, old, answer, TARGET_SPAN)
        if spans:
            return f"copies {' '.join(min(spans))!r} from training answer {example.id!r}"
    return None


def _new_spans(new: list[str], old: list[str], source: list[str], n: int) -> set[tuple[str, ...]]:
    """Spans of `source` (n words, or all of it if shorter) in `new` but not in `old`."""
    size = min(n, len(source))
    if not size:
        return set()
    return (_spans(new, size) - _spans(old, size)) & _spans(source, size)

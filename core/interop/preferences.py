"""Preference pairs from fork families: at a fork point, the original and the edited continuation.

A fork shares its parent's steps before `fork_step`, so the node turn that contains the fork point
has the same prompt in both tapes and two different completions. Which one is preferred comes
from the tapes' scores, else from people's annotations; a tie (or no signal) yields no pair and
is counted. Records follow TRL's conversational preference format: `prompt`, `chosen`, `rejected`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from tape_studio.core.interop.finetune import Message, Record, StepGroup

GOOD_WORDS = frozenset({"good", "chosen", "preferred", "better", "correct", "+1", "👍"})
BAD_WORDS = frozenset({"bad", "rejected", "worse", "wrong", "incorrect", "-1", "👎"})
"""An annotation votes for its tape when its first word is one of these (case ignored)."""


@dataclass(frozen=True)
class Evidence:
    """What says how good a tape is: its score (from evaluation) and people's annotations."""

    score: float | None
    annotations: tuple[str, ...] = ()

    def votes(self) -> int:
        total = 0
        for text in self.annotations:
            words = re.findall(r"[+-]1|\S+", text.strip().lower())
            first = words[0].strip(".,:;!") if words else ""
            total += (first in GOOD_WORDS) - (first in BAD_WORDS)
        return total


def preferred(original: Evidence, fork: Evidence) -> str | None:
    """"original", "fork", or None for a tie: scores decide when both tapes have one, else votes."""
    if original.score is not None and fork.score is not None and original.score != fork.score:
        return "original" if original.score > fork.score else "fork"
    if original.votes() != fork.votes():
        return "original" if original.votes() > fork.votes() else "fork"
    return None


def divergent_group(groups: Iterable[StepGroup], fork_step: int) -> StepGroup | None:
    """The node turn that holds the fork point (the first one at or after it when it falls between turns)."""
    return next((g for g in groups if g.stop > fork_step), None)


def preference_record(prompt: list[Message], chosen: str, rejected: str) -> Record:
    return {"prompt": prompt, "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}]}

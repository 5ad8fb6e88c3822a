"""Small wording helpers shared by the CLI and the studio, so both count things the same way."""

from __future__ import annotations


def plural(count: int, noun: str, many: str = "") -> str:
    """`1 LLM call`, `3 LLM calls` (`many` for nouns whose plural is not noun + s)."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"

"""One coloured diff for the whole studio: lines marked `-` (only in the old text), `+` (only in the
new) and ` ` (both), drawn as a `diff` code block, which the browser colours (red / green) and
which shows its text as text, never as markup. The Compare page's prompt diffs and the Train
page's prompt changes both go through `render_diff`."""

from __future__ import annotations

import difflib
import re

import streamlit as st

# A long instruction is one line; cut it after each sentence so a changed sentence shows as its own
# `-`/`+` pair instead of the whole paragraph.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def text_lines(text: str) -> list[str]:
    """`text` as diffable lines: its own lines, each cut after every sentence."""
    return [part for line in text.splitlines() for part in _SENTENCE_END.split(line.strip()) if part]


def diff_lines(old: str, new: str) -> list[str]:
    """Every line of both texts, marked `-`, `+` or ` ` (no hunk headers: prompts are short)."""
    a, b = text_lines(old), text_lines(new)
    lines: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            lines += [f" {line}" for line in a[i1:i2]]
            continue
        lines += [f"-{line}" for line in a[i1:i2]]
        lines += [f"+{line}" for line in b[j1:j2]]
    return lines


def render_diff(lines: list[str], empty: str = "(no difference)") -> None:
    st.code("\n".join(lines) or empty, language="diff", wrap_lines=True)

"""Drawing tape content: tape summaries and lineage, steps, LLM calls, annotations, the tape table.

Tapes carry untrusted text (model output, tool results, imported files), so everything that comes
from a tape is drawn with text-only elements (st.text, st.code, st.json). Markdown is used only
for our own fixed labels, which never contain tape content.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from tape_studio.core.llm import LLMCall
from tape_studio.core.store import Annotation, TapeSummary
from tape_studio.core.run_state import label
from tape_studio.core.tape import StepBase
from tape_studio.studio.words import plural

FAMILY_LABELS = {
    "thought": "💭 thought",
    "action": "🛠️ action",
    "observation": "👁️ observation",
    "error": "⛔ :red[error]",
    "stop": "🏁 stop",
}


# Emphasis, code, links and images, headings, HTML, tables, strikethrough, math, and the
# brackets of Streamlit's `:color[...]` directives.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#!|<>~$])")


def plain(text: str) -> str:
    """`text` with every Markdown character escaped, for messages (st.error, captions) that must
    show a value that may come from a tape or a link, without it ever being read as markup."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def render_step(index: int, step: StepBase, selected: bool = False) -> None:
    """One step in a bordered box: a fixed label line, its kind/node/agent, then its content."""
    meta = step.metadata
    with st.container(border=True):
        marker = "▶ " if selected else ""
        st.markdown(f"{marker}**{index}** · {FAMILY_LABELS.get(step.family, 'step')}")
        st.text(f"{step.kind} · node {meta.node or '-'} · agent {meta.agent or '-'}")
        render_body(step)


class StreamlitCanvas:
    """What a step draws itself on (`StepBase.render`): text-only elements, so tape content never
    becomes markup, whichever step class (built-in, a user's, a foreign generic one) draws."""

    def text(self, text: str) -> None:
        st.text(text)

    def code(self, text: str) -> None:
        st.code(text, language=None, wrap_lines=True)

    def json(self, value: Any) -> None:
        st.json(value, expanded=True)


def render_body(step: StepBase) -> None:
    """The step's own content, drawn by the step class on text-only elements."""
    try:
        step.render(StreamlitCanvas())
    except Exception as exc:  # noqa: BLE001  (a user's renderer must not take the page down)
        st.text(f"(this step's renderer failed: {type(exc).__name__}: {exc}; its fields follow)")
        st.json(step.body(), expanded=False)


def render_summary(summary: TapeSummary) -> None:
    """A tape's title, outcome and totals."""
    st.text(summary.title or "(untitled)")
    st.text(f"{label(summary.status)} · agent {summary.agent or '-'} · spec {summary.spec_id or '-'} · "
            f"{plural(summary.n_steps, 'step')} · {plural(summary.n_llm_calls, 'LLM call')} · "
            f"{summary.prompt_tokens + summary.completion_tokens} tokens · ${summary.cost:.4f}")
    if summary.error:
        st.code(summary.error, language=None, wrap_lines=True)


def render_lineage(summary: TapeSummary, children: list[TapeSummary], on_open: Callable[[str], None],
                   parent: TapeSummary | None = None) -> None:
    """Where the tape was forked from (its parent's title and short id) and the forks made from it,
    each with a button to open it."""
    if summary.parent_id:
        named = f"{parent.title or '(untitled)'} · {parent.id[:8]}" if parent else f"{summary.parent_id[:8]} (deleted)"
        st.text(f"fork of {named} at step {summary.fork_step} (steps 0–{(summary.fork_step or 1) - 1} "
                "are the parent's)")
        st.button("Open parent", on_click=on_open, args=(summary.parent_id,))
    if children:
        with st.expander(f"Forks of this tape ({len(children)})"):
            for child in children:
                st.text(f"{child.title} · fork at step {child.fork_step} · {label(child.status)} · "
                        f"{plural(child.n_steps, 'step')} · {child.id[:8]}")
                st.button("Open fork", key=f"open_{child.id}", on_click=on_open, args=(child.id,))


def render_llm_call(call: LLMCall) -> None:
    """The provenance of an LLM-made step: numbers, the prompt messages and the raw output."""
    st.text(f"model: {call.model}" + (" (answered from the cache)" if call.cached else ""))
    # Two by two: the panel beside the steps is narrow, and four columns would cut the figures off.
    for pair in ((("Prompt tokens", call.prompt_tokens), ("Completion tokens", call.completion_tokens)),
                 (("Cost ($)", f"{call.cost:.6f}"), ("Latency (s)", f"{call.latency_s:.3f}"))):
        for column, (label, value) in zip(st.columns(2), pair):
            column.metric(label, value)
    if call.error:
        st.markdown("**Call error**")
        st.code(call.error, language=None, wrap_lines=True)
    st.markdown("**Prompt messages**")
    for message in call.messages:
        st.text(str(message.get("role", "?")))
        _text_block(message.get("content", ""))
    st.markdown("**Raw output**")
    st.code(call.output, language=None, wrap_lines=True)


def render_annotation(note: Annotation) -> None:
    st.text(f"{note.author} · {note.created_at:%Y-%m-%d %H:%M}")
    st.code(note.text, language=None, wrap_lines=True)


def _text_block(value: Any) -> None:
    if isinstance(value, str):
        st.code(value, language=None, wrap_lines=True)
    else:
        st.json(value, expanded=False)


TAPE_COLUMNS = ["title", "match", "agent", "status", "steps", "score", "tokens", "cost", "created", "parent", "spec", "id"]
TAPE_COLUMN_CONFIG = {
    "title": st.column_config.TextColumn("Title", width="large"),
    "match": st.column_config.TextColumn("Match", width="medium", help="The searched text where it occurs"),
    "score": st.column_config.TextColumn("Score"),
    "cost": st.column_config.NumberColumn("Cost", format="$%.4f"),
    "created": st.column_config.DatetimeColumn("Created", format="YYYY-MM-DD HH:mm"),
}


def tape_table(rows: list[TapeSummary], snippets: dict[str, str] | None = None) -> pd.DataFrame:
    """Tape summaries as the Browse table (a dataframe draws cells as text, never as markup);
    `snippets` (a search's match per tape) fill the Match column, shown only while searching."""
    table = pd.DataFrame(
        [{
            "title": row.title,
            "match": (snippets or {}).get(row.id, ""),
            "agent": row.agent,
            "status": row.status,
            "steps": row.n_steps,
            "score": "–" if row.score is None else f"{row.score:.2f}",  # a dataframe draws a missing number as "None"
            "tokens": row.prompt_tokens + row.completion_tokens,
            "cost": row.cost,
            "created": row.created_at,
            "parent": f"{row.parent_id[:8]} @ step {row.fork_step}" if row.parent_id else "",
            "spec": row.spec_id[:12],
            "id": row.id,
        } for row in rows],
        columns=TAPE_COLUMNS,
    )
    return table if snippets is not None else table.drop(columns="match")

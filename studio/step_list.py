"""The dense step list: one line per step (number, kind icon, node, short text, tokens, a latency
bar like a trace waterfall, an error badge), in a pane of fixed height beside the inspector, so the
selected step and its inspector are on screen together whatever the tape's length.

Only the window of STEP_WINDOW steps around the cursor is loaded. Labels are tape text, escaped
with `plain` (a button label is Markdown) and stripped of control characters. The one script on the
page is ours and holds nothing but the cursor number: it scrolls the selected row into view.
"""

from __future__ import annotations

import re

import streamlit as st

from tape_studio.core.store import Store, TapeSummary
from tape_studio.core.tape import Step, StepBase
from tape_studio.studio.render import plain
from tape_studio.studio.state import CURSOR, STEP_WINDOW, get_workspace, window_start

PANE_HEIGHT = 560
"""Pixels of the list and the inspector beside it: both fit a laptop screen below the controls."""
ICONS = {"thought": "💭", "action": "🛠️", "observation": "👁️", "error": "⛔", "stop": "🏁"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_BAR = 8


def call_figures(store: Store, prompt_ids: set[str]) -> dict[str, tuple[int, float, bool]]:
    """Tokens, latency and whether it failed, per LLM call, for the calls of one window (one query)."""
    if not prompt_ids:
        return {}
    marks = ",".join("?" * len(prompt_ids))
    rows = store.query(f"SELECT prompt_id, prompt_tokens + completion_tokens, latency_s, error != '' FROM llm_calls "
                       f"WHERE prompt_id IN ({marks})", tuple(prompt_ids))
    return {row[0]: (int(row[1]), float(row[2]), bool(row[3])) for row in rows}


def row_label(index: int, step: StepBase, figures: tuple[int, float, bool] | None, longest: float) -> str:
    """One line for `step`; `figures` only on the first step of its LLM call (the call is counted once)."""
    meta = step.metadata
    try:
        text = step.summary()
    except Exception:  # noqa: BLE001  (a user's summary() must not take the list down)
        text = step.kind
    text = _CONTROL.sub(" ", text).strip()
    parts = [f"{index}", ICONS.get(step.family, "•"), meta.node or "-", text[:90] + ("…" if len(text) > 90 else "")]
    if figures is not None:
        tokens, latency, failed = figures
        filled = max(1, round(_BAR * latency / longest)) if longest > 0 else 1
        parts.append(f"{tokens} tok {'█' * filled}{'░' * (_BAR - filled)} {latency:.1f} s" + (" ⛔" if failed else ""))
    if step.family == "error":
        parts.append("⛔ error")
    if "edited_by" in meta.other:
        parts.append("✏️ edited")
    return plain(" · ".join(parts))


def step_list(summary: TapeSummary, cursor: int) -> Step:
    """Draws the window holding the cursor as one line per step; returns the cursor's step."""
    ws = get_workspace()
    start = window_start(cursor)
    steps = ws.store.load_steps(summary.id, start, start + STEP_WINDOW)
    figures = call_figures(ws.store, {s.metadata.prompt_id for s in steps if s.metadata.prompt_id})
    longest = max((latency for _, latency, _ in figures.values()), default=0.0)
    st.caption(f"Steps {start}–{start + len(steps) - 1} of {summary.n_steps} · j/k: next/previous · e: next error")

    def select(index: int) -> None:
        st.session_state[CURSOR] = index

    seen: set[str] = set()
    with st.container(height=PANE_HEIGHT, key="step_list", gap=None):
        for offset, step in enumerate(steps):
            index, prompt_id = start + offset, step.metadata.prompt_id
            first_of_call = bool(prompt_id) and prompt_id not in seen
            seen.add(prompt_id)
            st.button(row_label(index, step, figures.get(prompt_id) if first_of_call else None, longest),
                      key=f"select_{index}", on_click=select, args=(index,), width="stretch",
                      type="primary" if index == cursor else "tertiary")
    _scroll_to(cursor)
    return steps[cursor - start]


def _scroll_to(cursor: int) -> None:
    # Rows keep the page's own look but read left to right; the script scrolls the page to the pane
    # and the pane to the row. It is redrawn (and so runs) whenever the cursor changes. It must hold
    # no "<" before a letter or digit: the browser's sanitizer drops a script that does, silently.
    st.html(
        "<style>.st-key-step_list button,.st-key-step_list button>div{justify-content:flex-start!important}"
        ".st-key-step_list button{text-align:left;min-height:1.9rem;"
        "padding-top:0.1rem;padding-bottom:0.1rem}.st-key-step_list button p{white-space:nowrap;overflow:hidden;"
        "text-overflow:ellipsis;font-family:monospace;font-size:0.82rem}</style>"
        f"<script>(function(){{var n=0;function go(){{var row=document.querySelector('.st-key-select_{int(cursor)}');"
        "var pane=document.querySelector('.st-key-step_list');if(!row||!pane){if(60>n++)setTimeout(go,50);return;}"
        "pane.scrollIntoView({block:'nearest'});var box=pane.getBoundingClientRect(),r=row.getBoundingClientRect();"
        "pane.scrollTop+=r.top-box.top-(box.height-r.height)/2;}go();})();</script>",
        unsafe_allow_javascript=True)

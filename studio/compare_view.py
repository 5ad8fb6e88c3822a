"""Drawing a TapeDiff: the aligned steps as a table, and one aligned pair in detail."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from tape_studio.core.diff import StepPair, TapeDiff, diff_tapes
from tape_studio.core.store import TapeFilter
from tape_studio.core.tape import Tape
from tape_studio.studio.diff_view import render_diff
from tape_studio.studio.render import render_step
from tape_studio.studio.state import get_workspace

MARKS = {"same": "", "changed": "≠ changed", "removed": "− only in A", "added": "+ only in B"}


def load_diff(a_id: str, b_id: str, a_len: int, b_len: int) -> tuple[Tape, Tape, TapeDiff]:
    """Both tapes and their diff, computed once per pair and lengths (a tape that grew is diffed again)."""
    return _load_diff(str(get_workspace().store.path), a_id, b_id, a_len, b_len)


@st.cache_data(max_entries=16, show_spinner=False)
def _load_diff(store_path: str, a_id: str, b_id: str, a_len: int, b_len: int) -> tuple[Tape, Tape, TapeDiff]:
    store = get_workspace().store
    a, b = store.load_tape(a_id), store.load_tape(b_id)
    calls = {call.prompt_id: call for tape_id in (a_id, b_id) for call in store.calls_for_tape(tape_id)}
    return a, b, diff_tapes(a, b, calls)


def pick_pair(a_default: str | None) -> tuple[str | None, str | None]:
    """Two pickers for when the address names no pair: B offers A's family first."""
    store = get_workspace().store
    # A training run's hundreds of tapes are the Train page's; they would crowd out everything else.
    recent = {row.id: f"{row.title or '(untitled)'} · {row.status} · {row.id[:8]}"
              for row in store.list_tapes(TapeFilter(limit=200, without_tag="training-record"))}
    left, right = st.columns(2)
    a = left.selectbox("Tape A", list(recent), format_func=recent.get, index=None, key="compare_a",
                       placeholder="choose a tape")
    if not a:
        return None, None
    family = {row.id: f"{row.title or '(untitled)'} · fork at {row.fork_step} · {row.id[:8]}"
              for row in store.family(a) if row.id != a}
    options = {**family, **{k: v for k, v in recent.items() if k != a}}
    b = right.selectbox("Tape B (its forks first)", list(options), format_func=options.get, index=None,
                        key="compare_b", placeholder="choose another tape")
    return a, b


def pairs_table(diff: TapeDiff, a: Tape, b: Tape, only_differences: bool) -> tuple[list[int], pd.DataFrame]:
    """The aligned steps as rows, with the indexes (into diff.pairs) of the rows, for selection."""
    shown = [n for n, pair in enumerate(diff.pairs) if not only_differences or pair.status != "same"]
    frame = pd.DataFrame([{
        "": "▶ first divergence" if n == diff.first_divergence else MARKS[diff.pairs[n].status],
        "A #": diff.pairs[n].a,
        "A step": _cell(a, diff.pairs[n].a),
        "B #": diff.pairs[n].b,
        "B step": _cell(b, diff.pairs[n].b),
    } for n in shown], columns=["", "A #", "A step", "B #", "B step"])
    return shown, frame


def pair_detail(pair: StepPair, a: Tape, b: Tape) -> None:
    left, right = st.columns(2)
    with left:
        st.caption("A")
        if pair.a is not None:
            render_step(pair.a, a.steps[pair.a])
        else:
            st.text("(no step in A)")
    with right:
        st.caption("B")
        if pair.b is not None:
            render_step(pair.b, b.steps[pair.b])
        else:
            st.text("(no step in B)")
    if pair.fields:
        st.markdown("**Changed fields**")
        st.dataframe(pd.DataFrame([{"field": f.path, "A": _json(f.a), "B": _json(f.b)} for f in pair.fields]),
                     hide_index=True, key="compare_fields")
    if pair.prompt is not None:
        st.markdown("**Prompt**")
        if pair.prompt.same:
            st.text("Both steps came from the same prompt.")
        else:
            render_diff(list(pair.prompt.lines))
    elif pair.a is not None and pair.b is not None and (a.steps[pair.a].metadata.prompt_id or b.steps[pair.b].metadata.prompt_id):
        st.caption("Only one of the two steps came from a model call (or a call is missing): no prompt diff.")


def _cell(tape: Tape, index: int | None) -> str:
    if index is None:
        return ""
    step = tape.steps[index]
    return f"{step.kind}: {step.summary()}"[:300]


def _json(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)

"""The family tree of forks: a root and every tape forked from it, drawn as an indented table."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tape_studio.core.run_state import label
from tape_studio.core.store import Store, TapeSummary
from tape_studio.core.workspace import change_of_fork
from tape_studio.studio.state import get_workspace


def tree_order(family: list[TapeSummary]) -> list[tuple[int, TapeSummary]]:
    """Depth-first order with depths; a tape whose parent is not in the family hangs off the top."""
    ids = {tape.id for tape in family}
    children: dict[str | None, list[TapeSummary]] = {}
    for tape in family:
        parent = tape.parent_id if tape.parent_id in ids else None
        children.setdefault(parent, []).append(tape)
    ordered: list[tuple[int, TapeSummary]] = []
    stack = [(0, tape) for tape in reversed(children.get(None, []))]
    while stack:
        depth, tape = stack.pop()
        ordered.append((depth, tape))
        stack += [(depth + 1, child) for child in reversed(children.get(tape.id, []))]
    return ordered


def what_changed(store: Store, tape: TapeSummary) -> str:
    """The change a fork made, read from its first own step (one small read per fork)."""
    if tape.parent_id is None or tape.fork_step is None:
        return "(the original)"
    first = store.load_steps(tape.id, tape.fork_step, tape.fork_step + 1)
    edited = [step for step in first if "edited_by" in step.metadata.other]
    return change_of_fork(tape.fork_step, edited)


def family_table(tape_id: str, key: str) -> str | None:
    """The family of `tape_id` as a table; returns the id of another tape selected in it."""
    family = get_workspace().store.family(tape_id)
    if len(family) < 2:
        st.caption("No forks: this tape is alone in its family.")
        return None
    rows = tree_order(family)
    store = get_workspace().store
    frame = pd.DataFrame([{
        "tree": "    " * depth + ("└─ " if depth else "") + (tape.title.split(" · ", 1)[0] or "(untitled)"),
        "what changed": what_changed(store, tape),
        "outcome": label(tape.status) + (f": {tape.error[:60]}" if tape.error else ""),
        "steps": tape.n_steps,
        "this": "◀" if tape.id == tape_id else "",
        "parent": next((p.title.split(" · ", 1)[0] + " · " + p.id[:8] for p in family if p.id == tape.parent_id), ""),
        "id": tape.id,
    } for depth, tape in rows])
    event = st.dataframe(frame, hide_index=True, on_select="rerun", selection_mode="single-row", key=key,
                         column_config={"tree": st.column_config.TextColumn("Family tree", width="large")})
    chosen = [rows[i][1].id for i in event.selection.rows if i < len(rows)]
    return chosen[0] if chosen and chosen[0] != tape_id else None

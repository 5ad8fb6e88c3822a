"""The live panel of a background run: new steps stream in as the run's thread stores them.

A fragment polls the store every half second while the run lasts, redrawing only itself. When new
steps are stored it reruns the whole page (at most every REFRESH_S), so the header, the step list
and the graph follow the run; when the run ends it reruns the page once more, so the buttons catch up.
"""

from __future__ import annotations

import time

import streamlit as st

from tape_studio.studio.render import render_step
from tape_studio.studio.runs import REGISTRY, LiveRun
from tape_studio.studio.state import CURSOR_NEXT, get_workspace
from tape_studio.studio.words import plural

POLL_S = 0.5
REFRESH_S = 2.0
"""Seconds between two redraws of the whole page while a run adds steps: often enough to follow it,
rarely enough that a form being filled in beside it is not redrawn under the typing."""
SHOWN = 12
"""Newest steps drawn in the panel; the whole tape is in the step list once the run ends."""

REASONS = {
    "completed": "finished with an answer",
    "failed": "failed: the last step says why",
    "paused": "paused after one move (step once): continue or step again",
    "stopped": "stopped at your request: the tape is paused, continue it when you like",
    "awaiting approval": "paused for your approval: decide below",
    "error": "could not go on",
}


def live_panel(session: str, tape_id: str) -> None:
    """Draws this session's run of `tape_id`, if there is one."""
    live = REGISTRY.get(session, tape_id)
    if live is None:
        return
    if live.done and live.acknowledged:
        _ended(live, session)
        return
    st.fragment(run_every=None if live.done else POLL_S)(_stream)(session, tape_id)


def _stream(session: str, tape_id: str) -> None:
    live = REGISTRY.get(session, tape_id)
    if live is None:
        return
    if live.done:
        live.acknowledged = True
        st.session_state[CURSOR_NEXT] = live.start_index + max(live.steps_added - 1, 0)
        st.rerun(scope="app")
    ws = get_workspace()
    new = max(ws.store.summary(tape_id).n_steps - live.start_index, 0) if ws.store.has_tape(tape_id) else live.steps_added
    _follow(live, new)
    with st.container(border=True):
        head, stop = st.columns([4, 1], vertical_alignment="center")
        elapsed = f"{time.monotonic() - live.started_at:.0f} s"
        head.markdown(f"**⏺ Running** · {plural(new, 'new step')} · {elapsed}")
        if live.in_flight:  # our own words around names of nodes and tools: shown as text
            head.text(f"in flight: {live.in_flight} · {time.monotonic() - live.in_flight_since:.0f} s")
        stop.button("⏹ Stop", key=f"stop_{tape_id}", on_click=live.stop.set, disabled=live.stop.is_set(),
                    width="stretch")
        _newest_steps(live)


def _follow(live: LiveRun, new: int) -> None:
    """Reruns the page when the run stored steps the page has not drawn yet (not more often than REFRESH_S)."""
    key, now = f"live_drawn_{live.tape_id}", time.monotonic()
    run, drawn, at = st.session_state.get(key, (None, 0, 0.0))
    if run != live.started_at:  # this run's first draw: the page being drawn shows its steps so far
        st.session_state[key] = (live.started_at, new, now)
    elif drawn != new and now - at >= REFRESH_S:
        st.session_state[key] = (live.started_at, new, now)
        st.rerun(scope="app")


def _newest_steps(live: LiveRun) -> None:
    ws = get_workspace()
    if not ws.store.has_tape(live.tape_id):
        st.warning("This tape was deleted while it ran.")
        return
    total = ws.store.summary(live.tape_id).n_steps
    first = max(live.start_index, total - SHOWN)
    if first > live.start_index:
        st.caption(f"… {first - live.start_index} earlier new steps")
    for offset, step in enumerate(ws.store.load_steps(live.tape_id, first, total)):
        render_step(first + offset, step)


def _ended(live: LiveRun, session: str) -> None:
    line = (f"Run {REASONS.get(live.reason, live.reason)} · {plural(live.steps_added, 'new step')} · "
            f"{plural(live.new_calls, 'new LLM call')}")
    box = st.error if live.reason in ("failed", "error") else st.success
    box(line)
    if live.error:
        st.code(live.error, language=None, wrap_lines=True)
    st.button("Dismiss", key=f"dismiss_{live.tape_id}", on_click=REGISTRY.forget, args=(session, live.tape_id))

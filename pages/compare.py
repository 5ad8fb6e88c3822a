"""Compare: two tapes aligned step by step on kind and content, the first divergence marked, and
for a chosen pair the changed fields and the diff of the prompts behind them. `?a=ID&b=ID`."""

import streamlit as st

from tape_studio.core.errors import NotFoundError
from tape_studio.studio.compare_view import load_diff, pair_detail, pairs_table, pick_pair
from tape_studio.studio.render import plain, render_summary
from tape_studio.studio.state import TAPE_PAGE, get_workspace, open_tape

ws = get_workspace()
st.title("Compare")

a_id, b_id = st.query_params.get("a"), st.query_params.get("b")
if not (a_id and b_id):
    if ws.store.count_tapes() < 2:
        st.info("Comparing needs two tapes. Fork a tape on the Tape page (edit a step, or rerun from a step), "
                "then compare the fork with its parent here.")
        st.stop()
    st.caption("Pick two tapes, or select two rows on the Browse page and press Compare.")
    a_id, b_id = pick_pair(a_id)
    if not (a_id and b_id):
        st.stop()
    st.query_params.update({"a": a_id, "b": b_id})  # the address names the pair, so it can be shared
try:
    summaries = ws.store.summary(a_id), ws.store.summary(b_id)
except NotFoundError as exc:
    st.error(plain(f"Cannot compare: {exc}. The tape was deleted, or the link is wrong."))
    st.stop()
a, b, diff = load_diff(a_id, b_id, summaries[0].n_steps, summaries[1].n_steps)


def _swap() -> None:
    st.query_params.update({"a": b_id, "b": a_id})


for column, label, summary in zip(st.columns(2), "AB", summaries):
    with column:
        st.subheader(f"Tape {label}")
        render_summary(summary)
        if st.button(f"Open {label} in the debugger", key=f"open_{label}"):
            open_tape(summary.id)
            st.switch_page(TAPE_PAGE, query_params={"tape": summary.id})
st.button("⇄ Swap A and B", on_click=_swap)

counts = diff.counts()
if diff.first_divergence is None:
    st.success(f"Same steps: all {counts['same']} steps align and match.")
else:
    first = diff.pairs[diff.first_divergence]
    st.warning(plain(f"First divergence: step {first.a if first.a is not None else '–'} of A, "
                     f"step {first.b if first.b is not None else '–'} of B ({first.status} {first.kind})."))
cols = st.columns(4)
for col, name in zip(cols, ("same", "changed", "removed", "added")):
    col.metric({"removed": "Only in A", "added": "Only in B"}.get(name, name.capitalize()), counts[name])

only_differences = st.toggle("Only differences", key="compare_only_diff")
shown, frame = pairs_table(diff, a, b, only_differences)
event = st.dataframe(frame, hide_index=True, on_select="rerun", selection_mode="single-row", key="compare_pairs")
picked = [shown[i] for i in event.selection.rows if i < len(shown)]
chosen = picked[0] if picked else diff.first_divergence
if chosen is not None:
    st.subheader("Selected pair" if picked else "First divergence")
    pair_detail(diff.pairs[chosen], a, b)

"""Train: launch or resume a symbolic-learning run and watch it: scores per epoch, v0 against the
best version on validation and test, the examples that flipped, each accepted change with the
gradients behind it, how prompts and the graph changed, and what each role cost. `?run=ID`."""

import streamlit as st

from tape_studio.core.errors import NotFoundError
from tape_studio.core.learning import records as rec
from tape_studio.core.learning.versions import load_versions, run_versions
from tape_studio.studio import train_cache as cache
from tape_studio.studio import train_data as data
from tape_studio.studio import train_panels as panels
from tape_studio.studio import train_story as story
from tape_studio.studio.state import TRAIN_TAB, get_workspace

ws = get_workspace()
st.title("Train")
runs = rec.list_runs(ws.store)
with st.expander("New training run", expanded=not runs):
    panels.launch_form(ws)
runs = rec.list_runs(ws.store)  # the form may just have added one
if not runs:
    panels.no_runs()
    st.stop()

run_id = panels.pick_run(runs)
if run_id is None:
    st.stop()
panels.live_status(ws, run_id)
try:
    run = rec.load_run(ws.store, run_id)
except NotFoundError:
    st.error("This run was deleted.")
    st.stop()
rows = rec.load_rows(ws.store, run_id)
versions = run_versions(run, rows)
specs = load_versions(ws.store, versions)
node_order = tuple(node.name for node in specs[run.spec_id].nodes)
stamp = cache.stamp(run, rows)

story.headline(run, versions, stamp)
# Only the open tab is drawn (a tab switch reruns the page): the browser drew every tab's tables
# and code blocks before the first one showed, over a second of the Train page's first paint.
panes = {
    "Scores": lambda: panels.scores_panel(run, rows, versions),
    "Compare versions": lambda: story.compare_panel(run, versions, stamp),
    "Accepted changes": lambda: story.changes_panel(data.accepted_changes(versions, rows, specs), node_order),
    "Gradients": lambda: panels.gradients_panel(ws, rows, list(node_order)),
    "Prompts": lambda: panels.prompts_panel(versions, specs, story.best_label(run, versions)),
    "Graph": lambda: panels.graph_panel(versions, specs),
    "Cost per role": lambda: panels.usage_panel(run, rows),
}
for tab, draw in zip(st.tabs(list(panes), key=TRAIN_TAB, on_change="rerun"), panes.values()):
    if tab.open:
        with tab:
            draw()

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
from tape_studio.studio.state import get_workspace

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
tabs = st.tabs(["Scores", "Compare versions", "Accepted changes", "Gradients", "Prompts", "Graph", "Cost per role"])
with tabs[0]:
    panels.scores_panel(run, rows, versions)
with tabs[1]:
    story.compare_panel(run, versions, stamp)
with tabs[2]:
    story.changes_panel(data.accepted_changes(versions, rows, specs), node_order)
with tabs[3]:
    panels.gradients_panel(ws, rows, list(node_order))
with tabs[4]:
    panels.prompts_panel(versions, specs, story.best_label(run, versions))
with tabs[5]:
    panels.graph_panel(versions, specs)
with tabs[6]:
    panels.usage_panel(run, rows)

"""Train: launch or resume a symbolic-learning run and watch it: scores per epoch, the gradients
each node received, how prompts and the graph changed, and what each role cost."""

import streamlit as st

from tape_studio.core.errors import NotFoundError
from tape_studio.core.learning import records as rec
from tape_studio.core.learning.versions import load_versions, run_versions
from tape_studio.studio import train_panels as panels
from tape_studio.studio.state import TRAIN_RUN, get_workspace

ws = get_workspace()
st.title("Train")
runs = rec.list_runs(ws.store)
with st.expander("New training run", expanded=not runs):
    panels.launch_form(ws)
runs = rec.list_runs(ws.store)  # the form may just have added one
if not runs:
    st.info("No training runs yet. Start one above, or from a terminal:\n\n"
            "`tape-studio train --agent qa --dataset qa --epochs 2 --batch 2`")
    st.stop()

labels = {run.id: panels.run_label(run) for run in runs}
wanted = st.query_params.get("run") or st.session_state.get(TRAIN_RUN)
if wanted not in labels:
    wanted = runs[0].id
run_id = st.selectbox("Run", list(labels), index=list(labels).index(wanted), format_func=labels.get)
st.session_state[TRAIN_RUN] = run_id
st.query_params["run"] = run_id

panels.live_status(ws, run_id)
try:
    run = rec.load_run(ws.store, run_id)
except NotFoundError:
    st.error("This run was deleted.")
    st.stop()
rows = rec.load_rows(ws.store, run_id)
versions = run_versions(run, rows)
specs = load_versions(ws.store, versions)
node_order = [node.name for node in specs[run.spec_id].nodes]

scores, gradients, prompts, graph, cost = st.tabs(["Scores", "Gradients", "Prompts", "Graph", "Cost per role"])
with scores:
    panels.scores_panel(rows)
with gradients:
    panels.gradients_panel(ws, rows, node_order)
with prompts:
    panels.prompts_panel(versions, specs)
with graph:
    panels.graph_panel(versions, specs)
with cost:
    panels.usage_panel(run, rows)

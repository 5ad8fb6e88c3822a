"""Experiments: one edit rule across many tapes, previewed, launched with a cost preview, watched,
and reported per tape and in aggregate. `?experiment=ID` opens one."""

import streamlit as st

from tape_studio.core.errors import NotFoundError
from tape_studio.core.experiments.records import load_experiment
from tape_studio.studio import experiments_view as view
from tape_studio.studio.render import plain
from tape_studio.studio.state import get_workspace

ws = get_workspace()
st.title("Experiments")
st.caption("What if: apply one edit at the matching step of many tapes, rerun each fork, and see the effect "
           "on the score with its uncertainty.")

chosen = st.query_params.get("experiment") or st.session_state.get(view.EXPERIMENT)
if chosen:
    try:
        experiment = load_experiment(ws.store, chosen)
    except NotFoundError as exc:
        st.error(plain(str(exc)))
        st.stop()
    st.button("← All experiments", key="exp_back", on_click=lambda: (st.session_state.pop(view.EXPERIMENT, None),
                                                                    st.query_params.pop("experiment", None)))
    st.subheader(experiment.title or experiment.id)
    st.text(f"{experiment.id} · {experiment.selection.describe()} · scorer {experiment.scorer}")
    st.json(experiment.rule.model_dump(mode="json", exclude_defaults=True), expanded=False)
    view.plan_panel(chosen)
    view.report_panel(chosen)
else:
    if ws.store.count_tapes() == 0:
        st.info("No tapes yet. Run an agent on the Run page, evaluate one on the Data page, or import tapes; "
                "then edit them in bulk here.")
        st.stop()
    view.experiment_list()
    view.define_form()
